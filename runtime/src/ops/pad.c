/* Pad (constant); core/sim/ops/pad.ts. */
#include <string.h>

#include "../qm_internal.h"

void qm_op_pad(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const uint32_t rank = x->rank;
  int64_t out_strides[QM_MAX_RANK], s = 1;
  int32_t index[QM_MAX_RANK] = {0};
  int32_t a;
  uint32_t i;
  memset(y->data, op->value & 0xff, y->count);
  for (a = (int32_t)rank - 1; a >= 0; a--) {
    out_strides[a] = s;
    s *= y->shape[a];
  }
  for (i = 0; i < x->count; i++) {
    int64_t dst = 0;
    for (a = 0; a < (int32_t)rank; a++) dst += (index[a] + (int64_t)fb_vec_i32(&op->vec_a, (uint32_t)a)) * out_strides[a];
    y->data[dst] = xd[i];
    for (a = (int32_t)rank - 1; a >= 0; a--) {
      if (++index[a] < x->shape[a]) break;
      index[a] = 0;
    }
  }
}
