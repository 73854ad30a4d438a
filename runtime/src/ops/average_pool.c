/* AveragePool 2-D; semantics: core/sim/ops/average_pool.ts. */
#include "../qm_internal.h"

void qm_op_average_pool(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int32_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
  const int32_t oh = y->shape[2], ow = y->shape[3], kh = op->kernel[0], kw = op->kernel[1];
  const int32_t lo = y->dtype == QM_DTYPE_INT8 ? -128 : 0, hi = y->dtype == QM_DTYPE_INT8 ? 127 : 255;
  int32_t p, oy, ox, ky, kx;
  for (p = 0; p < planes; p++) {
    for (oy = 0; oy < oh; oy++) {
      for (ox = 0; ox < ow; ox++) {
        int32_t acc = 0, count = 0;
        int64_t v = 0;
        for (ky = 0; ky < kh; ky++) {
          const int64_t iy = (int64_t)oy * op->strides[0] - op->pads[0] + ky;
          if (iy < 0 || iy >= h) continue;
          for (kx = 0; kx < kw; kx++) {
            const int64_t ix = (int64_t)ox * op->strides[1] - op->pads[1] + kx;
            if (ix < 0 || ix >= w) continue;
            acc += qm_get(x, xd, (uint32_t)(((size_t)p * h + (size_t)iy) * w + (size_t)ix)) - x->zp;
            count++;
          }
        }
        if (op->count_include_pad) count = kh * kw;
        if (count > 0) {
          v = qm_requantize(acc, fb_vec_i32(&op->multiplier, (uint32_t)(count - 1)),
                            fb_vec_u8(&op->shift, (uint32_t)(count - 1)));
        }
        qm_put(y->data, (uint32_t)(((size_t)p * oh + oy) * ow + ox), qm_clamp(y->zp + v, lo, hi));
      }
    }
  }
}
