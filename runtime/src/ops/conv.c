/* Conv 2-D, NCHW; semantics: core/sim/ops/conv.ts.
 *
 * Direct convolution, no im2col and no heap: for a block of up to QM_CONV_BLOCK output channels and a
 * segment of up to QM_CONV_TILE outputs of one output row, every kernel tap's valid columns are computed
 * once, then each input channel adds tap by tap into int32 accumulators (its segment widened to int16 once per
 * tap for all the block's channels) (the same integer sums as the
 * textbook loop, in another order; they cannot overflow: at most 32767 terms of |255·255|). A 1×1,
 * stride-1, unpadded conv reads each channel plane as one long row. Stack: 1 KiB of accumulators. */
#include "../qm_internal.h"

#define QM_CONV_TILE 64
#define QM_CONV_BLOCK 8
#define QM_CONV_MAX_TAPS 64

typedef struct {
  int32_t tap;   /* ky * kw + kx */
  size_t row;    /* input row offset within a channel plane */
  int32_t first; /* first and last valid output index in the segment */
  int32_t last;
  size_t start;  /* input column of the first valid output */
} conv_tap;

typedef struct {
  int32_t h, w, oh, ow; /* effective geometry (a flattened 1x1 conv has one row) */
} conv_geometry;

/* The valid taps of output row oy, segment [ox0, ox0 + len); 0 when there are more than QM_CONV_MAX_TAPS. */
static int32_t conv_taps(const qm_op *op, const conv_geometry *g, int32_t oy, int32_t ox0, int32_t len,
                         conv_tap *taps) {
  const int32_t kh = op->kernel[0], kw = op->kernel[1], sw = op->strides[1];
  int32_t ky, kx, n = 0;
  for (ky = 0; ky < kh; ky++) {
    const int64_t iy = (int64_t)oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
    if (iy < 0 || iy >= g->h) continue;
    for (kx = 0; kx < kw; kx++) {
      const int64_t dx = (int64_t)ox0 * sw - op->pads[1] + (int64_t)kx * op->dilations[1];
      const int64_t first = dx >= 0 ? 0 : (-dx + sw - 1) / sw;
      int64_t last = dx > g->w - 1 ? -1 : (g->w - 1 - dx) / sw;
      if (last > len - 1) last = len - 1;
      if (first > last) continue;
      if (n == QM_CONV_MAX_TAPS) return -1;
      taps[n].tap = ky * kw + kx;
      taps[n].row = (size_t)iy * (size_t)g->w;
      taps[n].first = (int32_t)first;
      taps[n].last = (int32_t)last;
      taps[n].start = (size_t)(dx + first * sw);
      n++;
    }
  }
  return n;
}

/* xs[i] = x[i * step] - zx as int16 (|x - zx| <= 255). */
static inline void widen(int16_t *restrict xs, const uint8_t *restrict src, int32_t count, int32_t step, int32_t zx,
                         int is_signed) {
  int32_t i;
  if (step == 1) {
    if (is_signed) {
      for (i = 0; i < count; i++) xs[i] = (int16_t)((int8_t)src[i] - zx);
    } else {
      for (i = 0; i < count; i++) xs[i] = (int16_t)(src[i] - zx);
    }
  } else {
    size_t p = 0;
    for (i = 0; i < count; i++, p += (size_t)step) xs[i] = (int16_t)((is_signed ? (int32_t)(int8_t)src[p] : src[p]) - zx);
  }
}

/* acc[i][j] += xs[i] * wv[j] for the block's QM_CONV_BLOCK channels: the loop every conv spends its time in;
 * the fixed-length inner loop becomes one or two vector multiply-adds (SSE4.1/AVX2/NEON). */
static inline void mac(int32_t (*restrict acc)[QM_CONV_BLOCK], const int16_t *restrict xs, int32_t count,
                       const int32_t *restrict wv) {
  int32_t i, j;
  for (i = 0; i < count; i++) {
    const int32_t xv = xs[i];
    for (j = 0; j < QM_CONV_BLOCK; j++) acc[i][j] += xv * wv[j];
  }
}

static inline void conv_kernel(const qm_op *op, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], oc = y->shape[1];
  const int32_t kh = op->kernel[0], kw = op->kernel[1], sw = op->strides[1];
  const int32_t cg = c / op->group, ocg = oc / op->group, zx = x->zp, zy = y->zp;
  const int pointwise = kh == 1 && kw == 1 && op->strides[0] == 1 && sw == 1 && op->pads[0] == 0 &&
                        op->pads[1] == 0 && op->pads[2] == 0 && op->pads[3] == 0 &&
                        y->shape[2] == x->shape[2] && y->shape[3] == x->shape[3];
  const size_t plane = (size_t)x->shape[2] * x->shape[3], out_plane = (size_t)y->shape[2] * y->shape[3];
  conv_geometry g;
  int32_t acc[QM_CONV_TILE][QM_CONV_BLOCK];
  int16_t xs[QM_CONV_TILE];
  conv_tap taps[QM_CONV_MAX_TAPS];
  int32_t b, grp, o0, oy, ox0, ci, t, i, j;
  g.h = pointwise ? 1 : x->shape[2];
  g.w = pointwise ? (int32_t)plane : x->shape[3];
  g.oh = pointwise ? 1 : y->shape[2];
  g.ow = pointwise ? (int32_t)out_plane : y->shape[3];
  for (b = 0; b < n; b++) {
    for (grp = 0; grp < op->group; grp++) {
      for (o0 = grp * ocg; o0 < (grp + 1) * ocg; o0 += QM_CONV_BLOCK) {
        const int32_t nb = (grp + 1) * ocg - o0 < QM_CONV_BLOCK ? (grp + 1) * ocg - o0 : QM_CONV_BLOCK;
        int32_t zw[QM_CONV_BLOCK];
        for (j = 0; j < nb; j++) zw[j] = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)(o0 + j)) : w->zp;
        for (oy = 0; oy < g.oh; oy++) {
          for (ox0 = 0; ox0 < g.ow; ox0 += QM_CONV_TILE) {
            const int32_t len = g.ow - ox0 < QM_CONV_TILE ? g.ow - ox0 : QM_CONV_TILE;
            const int32_t ntaps = conv_taps(op, &g, oy, ox0, len, taps);
            for (i = 0; i < len; i++) {
              for (j = 0; j < QM_CONV_BLOCK; j++) acc[i][j] = 0;
            }
            for (ci = 0; ci < cg; ci++) {
              const uint8_t *xc = xd + ((size_t)b * c + (size_t)grp * cg + ci) * plane;
              const int8_t *wc = wd + ((size_t)o0 * cg + ci) * kh * kw;
              if (ntaps < 0) { /* more taps than the table holds: one tap at a time */
                int32_t ky, kx;
                for (ky = 0; ky < kh; ky++) {
                  for (kx = 0; kx < kw; kx++) {
                    conv_tap one;
                    const int64_t iy = (int64_t)oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
                    const int64_t dx = (int64_t)ox0 * sw - op->pads[1] + (int64_t)kx * op->dilations[1];
                    int64_t first = dx >= 0 ? 0 : (-dx + sw - 1) / sw, last = dx > g.w - 1 ? -1 : (g.w - 1 - dx) / sw;
                    size_t p;
                    if (iy < 0 || iy >= g.h) continue;
                    if (last > len - 1) last = len - 1;
                    one.row = (size_t)iy * (size_t)g.w;
                    for (j = 0; j < nb; j++) {
                      const int32_t wv = (int32_t)wc[(size_t)j * cg * kh * kw + ky * kw + kx] - zw[j];
                      for (i = (int32_t)first, p = (size_t)(dx + first * sw); i <= (int32_t)last; i++, p += (size_t)sw) {
                        const int32_t xv = is_signed ? (int32_t)(int8_t)xc[one.row + p] : (int32_t)xc[one.row + p];
                        acc[i][j] += (xv - zx) * wv;
                      }
                    }
                  }
                }
                continue;
              }
              for (t = 0; t < ntaps; t++) {
                const conv_tap *tp = &taps[t];
                const int32_t count = tp->last - tp->first + 1;
                int32_t wv[QM_CONV_BLOCK];
                for (j = 0; j < QM_CONV_BLOCK; j++) {
                  wv[j] = j < nb ? (int32_t)wc[(size_t)j * cg * kh * kw + tp->tap] - zw[j] : 0;
                }
                widen(xs, xc + tp->row + tp->start, count, sw, zx, is_signed);
                mac(acc + tp->first, xs, count, wv);
              }
            }
            for (j = 0; j < nb; j++) {
              const int32_t o = o0 + j;
              const int32_t m = fb_vec_i32(&op->multiplier, (uint32_t)o), s = fb_vec_u8(&op->shift, (uint32_t)o);
              const int32_t b0 = bias ? fb_i32_at(bias + 4 * (size_t)o) : 0;
              uint8_t *yo = y->data + ((size_t)b * oc + o) * out_plane + (size_t)oy * g.ow + ox0;
              for (i = 0; i < len; i++) {
                qm_put(yo, (uint32_t)i,
                       qm_clamp(zy + qm_requantize(qm_saturate_i32((int64_t)acc[i][j] + b0), m, s), op->act_min,
                                op->act_max));
              }
            }
          }
        }
      }
    }
  }
}

/* Depthwise (one input and one output channel per group): each channel's row segment accumulates tap by
 * tap, the segment's pixels being the vector lanes. */
static inline void depthwise_kernel(const qm_op *op, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], kk = op->kernel[0] * op->kernel[1], zx = x->zp, zy = y->zp;
  const size_t plane = (size_t)x->shape[2] * x->shape[3], out_plane = (size_t)y->shape[2] * y->shape[3];
  conv_geometry g;
  int32_t acc[QM_CONV_TILE];
  int16_t xs[QM_CONV_TILE];
  conv_tap taps[QM_CONV_MAX_TAPS];
  int32_t b, o, oy, ox0, t, i;
  g.h = x->shape[2], g.w = x->shape[3], g.oh = y->shape[2], g.ow = y->shape[3];
  for (b = 0; b < n; b++) {
    for (oy = 0; oy < g.oh; oy++) {
      for (ox0 = 0; ox0 < g.ow; ox0 += QM_CONV_TILE) {
        const int32_t len = g.ow - ox0 < QM_CONV_TILE ? g.ow - ox0 : QM_CONV_TILE;
        const int32_t ntaps = conv_taps(op, &g, oy, ox0, len, taps); /* the same for every channel */
        for (o = 0; o < c; o++) {
          const uint8_t *xc = xd + ((size_t)b * c + o) * plane;
          const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
          const int32_t m = fb_vec_i32(&op->multiplier, (uint32_t)o), s = fb_vec_u8(&op->shift, (uint32_t)o);
          const int32_t b0 = bias ? fb_i32_at(bias + 4 * (size_t)o) : 0;
          uint8_t *yo = y->data + ((size_t)b * c + o) * out_plane + (size_t)oy * g.ow + ox0;
          for (i = 0; i < len; i++) acc[i] = 0;
          for (t = 0; t < ntaps; t++) {
            const conv_tap *tp = &taps[t];
            const int32_t count = tp->last - tp->first + 1;
            const int32_t wv = (int32_t)wd[(size_t)o * kk + tp->tap] - zw;
            int32_t *restrict a = acc + tp->first;
            widen(xs, xc + tp->row + tp->start, count, op->strides[1], zx, is_signed);
            for (i = 0; i < count; i++) a[i] += (int32_t)xs[i] * wv;
          }
          for (i = 0; i < len; i++) {
            qm_put(yo, (uint32_t)i,
                   qm_clamp(zy + qm_requantize(qm_saturate_i32((int64_t)acc[i] + b0), m, s), op->act_min, op->act_max));
          }
        }
      }
    }
  }
}

void qm_op_conv(const qm_op *op) {
  const int depthwise = op->group == op->in[0].shape[1] && op->group == op->out.shape[1] &&
                        (int64_t)op->kernel[0] * op->kernel[1] <= QM_CONV_MAX_TAPS;
  if (depthwise) {
    if (op->in[0].dtype == QM_DTYPE_INT8) {
      depthwise_kernel(op, 1);
    } else {
      depthwise_kernel(op, 0);
    }
    return;
  }
  if (op->in[0].dtype == QM_DTYPE_INT8) {
    conv_kernel(op, 1);
  } else {
    conv_kernel(op, 0);
  }
}
