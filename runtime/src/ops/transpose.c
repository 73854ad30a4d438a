/* Transpose; core/sim/ops/transpose.ts. */
#include "../qm_internal.h"

void qm_op_transpose(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  int64_t in_strides[QM_MAX_RANK], stride[QM_MAX_RANK], s = 1, src = 0;
  int32_t index[QM_MAX_RANK] = {0};
  int32_t axis;
  uint32_t o;
  for (axis = (int32_t)x->rank - 1; axis >= 0; axis--) {
    in_strides[axis] = s;
    s *= x->shape[axis];
  }
  for (axis = 0; axis < (int32_t)y->rank; axis++) stride[axis] = in_strides[fb_vec_i32(&op->vec_a, (uint32_t)axis)];
  for (o = 0; o < y->count; o++) {
    y->data[o] = xd[src];
    for (axis = (int32_t)y->rank - 1; axis >= 0; axis--) {
      index[axis]++;
      src += stride[axis];
      if (index[axis] < y->shape[axis]) break;
      src -= stride[axis] * y->shape[axis];
      index[axis] = 0;
    }
  }
}
