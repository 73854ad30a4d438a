/* GlobalAveragePool; semantics: core/sim/ops/global_average_pool.ts. */
#include "../qm_internal.h"

void qm_op_global_average_pool(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int32_t planes = x->shape[0] * x->shape[1], area = x->shape[2] * x->shape[3];
  const int32_t lo = y->dtype == QM_DTYPE_INT8 ? -128 : 0, hi = y->dtype == QM_DTYPE_INT8 ? 127 : 255;
  int32_t p, i;
  for (p = 0; p < planes; p++) {
    int32_t acc = 0;
    for (i = 0; i < area; i++) acc += qm_get(x, xd, (uint32_t)((size_t)p * area + i)) - x->zp;
    qm_put(y->data, (uint32_t)p, qm_clamp(y->zp + qm_requantize(acc, op->multiplier_a, op->shift1), lo, hi));
  }
}
