/* FullyConnected: [M, K] x [N, K]^T + bias; semantics: core/sim/ops/fully_connected.ts. */
#include "../qm_internal.h"

void qm_op_fully_connected(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t m = x->shape[0], k = x->shape[1], n = w->shape[0], zx = x->zp, zy = y->zp;
  int32_t r, col, i;
  for (r = 0; r < m; r++) {
    for (col = 0; col < n; col++) {
      const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)col) : w->zp;
      const int8_t *wr = wd + (size_t)col * k;
      int32_t acc = 0;
      for (i = 0; i < k; i++) acc += (qm_get(x, xd, (uint32_t)((size_t)r * k + i)) - zx) * ((int32_t)wr[i] - zw);
      qm_put(y->data, (uint32_t)((size_t)r * n + col),
             qm_clamp(zy + qm_requantize(qm_saturate_i32((int64_t)acc + (bias ? fb_i32_at(bias + 4 * (size_t)col) : 0)),
                                         fb_vec_i32(&op->multiplier, (uint32_t)col), fb_vec_u8(&op->shift, (uint32_t)col)),
                      op->act_min, op->act_max));
    }
  }
}
