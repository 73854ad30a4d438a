/* Softmax over the last axis; semantics (the exp table, Q30 probabilities, rounding): core/sim/ops/softmax.ts.
 * The loader checks row * max(exp_table) <= 2^30 and exp_table[0] >= 1, so 1 <= sum <= 2^30, every
 * e * recip <= 2^52 and p <= 2^30. */
#include "../qm_internal.h"

void qm_op_softmax(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const uint32_t row = (uint32_t)x->shape[x->rank - 1];
  const int32_t zy = y->zp, lo = y->dtype == QM_DTYPE_INT8 ? -128 : 0, hi = y->dtype == QM_DTYPE_INT8 ? 127 : 255;
  uint32_t start, i;
  for (start = 0; start < x->count; start += row) {
    int32_t m = qm_get(x, xd, start);
    uint32_t sum = 0;
    uint64_t recip;
    for (i = 1; i < row; i++) {
      const int32_t v = qm_get(x, xd, start + i);
      if (v > m) m = v;
    }
    for (i = 0; i < row; i++) sum += (uint32_t)fb_vec_i32(&op->vec_a, (uint32_t)(m - qm_get(x, xd, start + i)));
    recip = ((uint64_t)1 << 52) / sum;
    for (i = 0; i < row; i++) {
      const uint64_t e = (uint64_t)fb_vec_i32(&op->vec_a, (uint32_t)(m - qm_get(x, xd, start + i)));
      const int32_t p = (int32_t)((e * recip) >> 22);
      qm_put(y->data, start + i, qm_clamp(zy + qm_requantize(p, op->multiplier_a, op->shift1), lo, hi));
    }
  }
}
