/* Resize (nearest, precomputed source indices); core/sim/ops/resize.ts. */
#include "../qm_internal.h"

void qm_op_resize(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const size_t h = (size_t)x->shape[x->rank - 2], w = (size_t)x->shape[x->rank - 1];
  const size_t oh = op->vec_a.len, ow = op->vec_b.len, planes = x->count / (h * w);
  size_t p, i, j;
  for (p = 0; p < planes; p++) {
    for (i = 0; i < oh; i++) {
      const size_t row = (p * h + (size_t)fb_vec_i32(&op->vec_a, (uint32_t)i)) * w;
      for (j = 0; j < ow; j++) y->data[(p * oh + i) * ow + j] = xd[row + (size_t)fb_vec_i32(&op->vec_b, (uint32_t)j)];
    }
  }
}
