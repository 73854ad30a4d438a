/* FullyConnected: [M, K] x [N, K]^T + bias; semantics: core/sim/ops/fully_connected.ts. With SIMD (simd.h), each
 * row of x is widened to int16 x - zx once per chunk of QM_FC_CHUNK and every output is a qm_dot. */
#include "simd.h"

#define QM_FC_CHUNK 2048

void qm_op_fully_connected(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t m = x->shape[0], k = x->shape[1], n = w->shape[0], zx = x->zp, zy = y->zp;
  int32_t r, col, i;
#if QM_SIMD
  int16_t xs[QM_FC_CHUNK];
  const int is_signed = x->dtype == QM_DTYPE_INT8;
  if (k <= QM_FC_CHUNK) {
    for (r = 0; r < m; r++) {
      const uint8_t *xr = xd + (size_t)r * k;
      for (i = 0; i < k; i++) xs[i] = (int16_t)((is_signed ? (int32_t)(int8_t)xr[i] : (int32_t)xr[i]) - zx);
      for (col = 0; col < n; col++) {
        const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)col) : w->zp;
        const int32_t acc = qm_dot(xs, wd + (size_t)col * k, zw, k);
        qm_put(y->data, (uint32_t)((size_t)r * n + col),
               qm_clamp(zy + qm_requantize(qm_saturate_i32((int64_t)acc + (bias ? fb_i32_at(bias + 4 * (size_t)col) : 0)),
                                           fb_vec_i32(&op->multiplier, (uint32_t)col), fb_vec_u8(&op->shift, (uint32_t)col)),
                        op->act_min, op->act_max));
      }
    }
    return;
  }
#endif
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
