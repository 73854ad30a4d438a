/* MaxPool 2-D; semantics: core/sim/ops/max_pool.ts. */
#include "../qm_internal.h"

void qm_op_max_pool(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int32_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
  const int32_t oh = y->shape[2], ow = y->shape[3];
  const int32_t lowest = x->dtype == QM_DTYPE_INT8 ? -128 : 0;
  int32_t p, oy, ox, ky, kx;
  for (p = 0; p < planes; p++) {
    for (oy = 0; oy < oh; oy++) {
      for (ox = 0; ox < ow; ox++) {
        int32_t best = lowest;
        for (ky = 0; ky < op->kernel[0]; ky++) {
          const int64_t iy = (int64_t)oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
          if (iy < 0 || iy >= h) continue;
          for (kx = 0; kx < op->kernel[1]; kx++) {
            const int64_t ix = (int64_t)ox * op->strides[1] - op->pads[1] + (int64_t)kx * op->dilations[1];
            int32_t v;
            if (ix < 0 || ix >= w) continue;
            v = qm_get(x, xd, (uint32_t)(((size_t)p * h + (size_t)iy) * w + (size_t)ix));
            if (v > best) best = v;
          }
        }
        qm_put(y->data, (uint32_t)(((size_t)p * oh + oy) * ow + ox), best);
      }
    }
  }
}
