/* Conv 2-D, NCHW; semantics: core/sim/ops/conv.ts. Every path below computes the same integer sums as the
 * textbook loop, in another order (they cannot overflow: at most 32767 terms of |255 * 255|), and requantizes
 * them the same way; tests/native_kernels_test.ts checks each against core/sim byte for byte.
 *
 * Portable (every build; the only one on Cortex-M and in -DQM_PORTABLE builds): direct convolution, no im2col
 * and no heap: for a block of up to QM_CONV_BLOCK output channels and a segment of up to QM_CONV_TILE outputs
 * of one output row, every kernel tap's valid columns are computed once, then each input channel adds tap by
 * tap into int32 accumulators (its segment widened to int16 once per tap for all the block's channels). A 1x1,
 * stride-1, unpadded conv reads each channel plane as one long row. Stack: 1 KiB of accumulators.
 *
 * SIMD builds (simd.h: AVX2, SSE4.1, NEON) choose per op, in qm_op_conv: conv_dot (at most 4 output pixels),
 * conv_gemm (packed GEMM), depthwise_channels (depthwise, < 16 outputs per plane), depthwise_simd (depthwise),
 * falling back to the portable kernels for shapes beyond their stack buffers (up to about 110 KiB of stack). */
#include "simd.h"

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

/* A 1x1, stride-1, unpadded conv reads each channel plane as one long row. */
static conv_geometry conv_geometry_of(const qm_op *op) {
  const qm_tensor *x = &op->in[0], *y = &op->out;
  const int pointwise = op->kernel[0] == 1 && op->kernel[1] == 1 && op->strides[0] == 1 && op->strides[1] == 1 &&
                        op->pads[0] == 0 && op->pads[1] == 0 && op->pads[2] == 0 && op->pads[3] == 0 &&
                        y->shape[2] == x->shape[2] && y->shape[3] == x->shape[3];
  conv_geometry g;
  g.h = pointwise ? 1 : x->shape[2];
  g.w = pointwise ? x->shape[2] * x->shape[3] : x->shape[3];
  g.oh = pointwise ? 1 : y->shape[2];
  g.ow = pointwise ? y->shape[2] * y->shape[3] : y->shape[3];
  return g;
}

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
  const size_t plane = (size_t)x->shape[2] * x->shape[3], out_plane = (size_t)y->shape[2] * y->shape[3];
  const conv_geometry g = conv_geometry_of(op);
  int32_t acc[QM_CONV_TILE][QM_CONV_BLOCK];
  int16_t xs[QM_CONV_TILE];
  conv_tap taps[QM_CONV_MAX_TAPS];
  int32_t b, grp, o0, oy, ox0, ci, t, i, j;
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

#if QM_SIMD
/* widen() with 16-wide SIMD steps for unit steps, wherever 16 bytes from src lie before `end` (the last byte of
 * the tensor + 1). */
static inline void widen_simd(int16_t *restrict xs, const uint8_t *src, int32_t count, int32_t step, int32_t zx,
                              int is_signed, const uint8_t *end) {
  if (step == 1) {
    while (count > 0 && end - src >= 16) {
      const int32_t n = count < 16 ? count : 16;
      qm_widen16(xs, src, n, zx, is_signed);
      xs += n, src += n, count -= n;
    }
  }
  if (count > 0) widen(xs, src, count, step, zx, is_signed);
}

/* Packed GEMM (x86 AVX2/SSE4.1, NEON): tiles of QM_TILE consecutive output pixels (row-major over the output
 * plane, so a tile may span rows). Per tile and chunk of input channels, the im2col panel of the tile is built
 * once (kc = channels x taps rows of QM_TILE int16 x - zx, 0 where the window reads padding), then every block of
 * QM_OC_BLOCK output channels runs the micro-kernel of simd.h on it with its weights packed as int16 w - zw
 * (packed once per conv when they fit QM_GEMM_WCACHE, else per tile). The same integer sums as the portable
 * kernel, in another order. Stack: about 57 KiB. */
#define QM_GEMM_KC 512      /* panel rows per chunk */
#define QM_GEMM_OCS 128     /* output channels whose sums a tile keeps over the chunks */
#define QM_GEMM_MAX_SPANS 512
#define QM_GEMM_WCACHE 12288 /* int16 weights packed once per conv */
#define QM_GEMM_PLANES 24576 /* int16: the group's input channels as padded polyphase planes */

typedef struct {
  int32_t p_off, count, oy, ox0; /* tile pixels [p_off, p_off + count) are output row oy, columns ox0... */
} gemm_piece;

typedef struct {
  int32_t first, last; /* valid pixels of the piece (first > last: none) */
  size_t start;        /* input offset within the channel plane of pixel `first` */
} gemm_span;

/* Upper bound of the pieces of a tile over output rows of `ow` pixels. */
static int32_t gemm_max_pieces(int32_t ow) {
  const int32_t n = ow >= QM_TILE ? 2 : (QM_TILE - 1) / ow + 2;
  return n > QM_TILE ? QM_TILE : n;
}

static int gemm_fits(const qm_op *op, const conv_geometry *g) {
  const int64_t taps = (int64_t)op->kernel[0] * op->kernel[1];
  return taps <= QM_GEMM_KC && taps * gemm_max_pieces(g->ow) <= QM_GEMM_MAX_SPANS;
}

static void conv_gemm(const qm_op *op, const conv_geometry *g, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], oc = y->shape[1], kw = op->kernel[1], sw = op->strides[1];
  const int32_t taps = op->kernel[0] * kw, cg = c / op->group, ocg = oc / op->group, zx = x->zp, zy = y->zp;
  const int32_t cpc = QM_GEMM_KC / taps, nchunks = (cg + cpc - 1) / cpc, pixels = g->oh * g->ow;
  const int32_t kc_all = cg * taps + (cg * taps & 1), ocg_pad = (ocg + QM_OC_BLOCK - 1) / QM_OC_BLOCK * QM_OC_BLOCK;
  const int cached = nchunks == 1 && (int64_t)ocg_pad * kc_all <= QM_GEMM_WCACHE;
  const size_t plane = (size_t)x->shape[2] * x->shape[3], out_plane = (size_t)y->shape[2] * y->shape[3];
  const size_t x_end = (size_t)x->count; /* widen16 reads 16 bytes: only where they are inside x */
  /* When the group's input fits, it is converted once into padded polyphase planes (as in depthwise_simd) and a
   * panel row piece is one 16-wide copy: padding is already zeros there and strides are already contiguous. */
  const int32_t sh = op->strides[0], pt = op->pads[0], pl = op->pads[1];
  const int64_t rs = ((int64_t)pl + g->w + op->pads[3] + sw - 1) / sw;
  const int64_t prows = ((int64_t)pt + g->h + op->pads[2] + sh - 1) / sh, pplane = prows * rs;
  const int64_t cplane = (int64_t)sh * sw * pplane;
  const int planar = sh <= 8 && sw <= 8 && (int64_t)cg * cplane + QM_TILE <= QM_GEMM_PLANES;
  int16_t planes[QM_GEMM_PLANES];
  size_t tap_at[QM_GEMM_KC];
  int16_t panel[(QM_GEMM_KC + 1) * QM_TILE + QM_TILE]; /* + what the last 16-wide copy writes past a row */
  int16_t wpack[QM_GEMM_WCACHE]; /* every block of the group (cached) or the current block */
  int32_t acc[QM_GEMM_OCS + QM_OC_BLOCK - 1][QM_TILE];
  gemm_piece pieces[QM_TILE];
  gemm_span spans[QM_GEMM_MAX_SPANS];
  int32_t b, grp, t0, os, ci0, o0, i, j, t;
  for (b = 0; b < n; b++) {
    for (grp = 0; grp < op->group; grp++) {
      for (o0 = grp * ocg; cached && o0 < (grp + 1) * ocg; o0 += QM_OC_BLOCK) {
        const int8_t *src[QM_OC_BLOCK];
        int32_t zw[QM_OC_BLOCK];
        for (j = 0; j < QM_OC_BLOCK; j++) { /* a short block repeats its last channel; those sums are dropped */
          const int32_t o = o0 + j < (grp + 1) * ocg ? o0 + j : (grp + 1) * ocg - 1;
          src[j] = wd + (size_t)o * cg * taps;
          zw[j] = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
        }
        qm_pack_weights(wpack + (size_t)(o0 - grp * ocg) * kc_all, src, zw, cg * taps, kc_all);
      }
      if (planar) { /* plane (rp, cp) of channel ci, row r, entry e: padded row r * sh + rp, column e * sw + cp */
        int32_t ci, iy, cp;
        for (t = 0; t < taps; t++) { /* where tap t of output (0, 0) reads, in a channel's planes */
          const int32_t dy = t / kw * op->dilations[0], dx = t % kw * op->dilations[1];
          tap_at[t] = ((size_t)(dy % sh) * sw + (size_t)(dx % sw)) * (size_t)pplane + (size_t)(dy / sh) * (size_t)rs +
                      (size_t)(dx / sw);
        }
        memset(planes, 0, ((size_t)cg * (size_t)cplane + QM_TILE) * sizeof *planes);
        for (ci = 0; ci < cg; ci++) {
          const uint8_t *xc = xd + ((size_t)b * c + (size_t)grp * cg + ci) * plane;
          for (iy = 0; iy < g->h; iy++) {
            const int32_t pr = iy + pt;
            for (cp = 0; cp < sw; cp++) {
              const int32_t first = cp >= pl ? 0 : (pl - cp + sw - 1) / sw;
              const int32_t last = (int32_t)(((int64_t)g->w - 1 + pl - cp) / sw);
              int16_t *r = planes + (size_t)ci * (size_t)cplane + ((size_t)(pr % sh) * sw + cp) * (size_t)pplane +
                           (size_t)(pr / sh) * (size_t)rs;
              if (first <= last) {
                widen_simd(r + first, xc + (size_t)iy * g->w + ((size_t)first * sw + cp - pl), last - first + 1, sw,
                           zx, is_signed, xd + x_end);
              }
            }
          }
        }
      }
      for (t0 = 0; t0 < pixels; t0 += QM_TILE) {
        const int32_t count = pixels - t0 < QM_TILE ? pixels - t0 : QM_TILE;
        int32_t np = 0;
        for (i = 0; i < count; np++) {
          const int32_t p = t0 + i, ox = p % g->ow, len = g->ow - ox < count - i ? g->ow - ox : count - i;
          pieces[np].p_off = i, pieces[np].count = len, pieces[np].oy = p / g->ow, pieces[np].ox0 = ox;
          i += len;
        }
        for (t = 0; t < taps && !planar; t++) {
          const int32_t ky = t / kw, kx = t % kw;
          for (j = 0; j < np; j++) {
            gemm_span *s = &spans[t * np + j];
            const int64_t iy = (int64_t)pieces[j].oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
            const int64_t dx = (int64_t)pieces[j].ox0 * sw - op->pads[1] + (int64_t)kx * op->dilations[1];
            int64_t first = dx >= 0 ? 0 : (-dx + sw - 1) / sw, last = dx > g->w - 1 ? -1 : (g->w - 1 - dx) / sw;
            if (last > pieces[j].count - 1) last = pieces[j].count - 1;
            if (iy < 0 || iy >= g->h) first = 1, last = 0;
            s->first = (int32_t)first, s->last = (int32_t)last;
            s->start = first <= last ? (size_t)iy * (size_t)g->w + (size_t)(dx + first * sw) : 0;
          }
        }
        for (os = grp * ocg; os < (grp + 1) * ocg; os += QM_GEMM_OCS) {
          const int32_t ne = (grp + 1) * ocg - os < QM_GEMM_OCS ? (grp + 1) * ocg - os : QM_GEMM_OCS;
          for (ci0 = 0; ci0 < cg; ci0 += cpc) {
            const int32_t ci1 = cg - ci0 < cpc ? cg : ci0 + cpc, kc = (ci1 - ci0) * taps, kc_pad = kc + (kc & 1);
            if (nchunks > 1 || os == grp * ocg) { /* one chunk: the panel stays for every channel block */
              int32_t ci;
              for (ci = ci0; planar && ci < ci1; ci++) {
                for (t = 0; t < taps; t++) {
                  const int16_t *src = planes + (size_t)ci * (size_t)cplane + tap_at[t];
                  int16_t *row = panel + ((size_t)(ci - ci0) * taps + t) * QM_TILE;
                  for (j = 0; j < np; j++) { /* 16 wide: the next piece (or row) overwrites what lies past this one */
                    memcpy(row + pieces[j].p_off, src + (size_t)pieces[j].oy * (size_t)rs + (size_t)pieces[j].ox0,
                           QM_TILE * sizeof *row);
                  }
                }
              }
              for (ci = ci0; !planar && ci < ci1; ci++) {
                const size_t xoff = ((size_t)b * c + (size_t)grp * cg + ci) * plane;
                for (t = 0; t < taps; t++) {
                  int16_t *row = panel + ((size_t)(ci - ci0) * taps + t) * QM_TILE;
                  memset(row, 0, QM_TILE * sizeof *row);
                  for (j = 0; j < np; j++) {
                    const gemm_span *s = &spans[t * np + j];
                    const int32_t len = s->last - s->first + 1;
                    if (len <= 0) continue;
                    if (sw == 1 && xoff + s->start + 16 <= x_end) {
                      qm_widen16(row + pieces[j].p_off + s->first, xd + xoff + s->start, len, zx, is_signed);
                    } else {
                      widen(row + pieces[j].p_off + s->first, xd + xoff + s->start, len, sw, zx, is_signed);
                    }
                  }
                }
              }
              if (kc & 1) memset(panel + (size_t)kc * QM_TILE, 0, QM_TILE * sizeof *panel);
            }
            for (o0 = os; o0 < os + ne; o0 += QM_OC_BLOCK) {
              const int16_t *wblock = wpack;
              if (cached) {
                wblock = wpack + (size_t)(o0 - grp * ocg) * kc_all;
              } else {
                const int32_t nb = os + ne - o0 < QM_OC_BLOCK ? os + ne - o0 : QM_OC_BLOCK;
                const int8_t *src[QM_OC_BLOCK];
                int32_t zw[QM_OC_BLOCK];
                for (j = 0; j < QM_OC_BLOCK; j++) {
                  const int32_t o = o0 + (j < nb ? j : nb - 1);
                  src[j] = wd + ((size_t)o * cg + ci0) * taps;
                  zw[j] = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
                }
                qm_pack_weights(wpack, src, zw, kc, kc_pad);
              }
              qm_gemm_block(wblock, kc_pad, panel, acc + (o0 - os), ci0 > 0);
            }
          }
          for (j = 0; j < ne; j++) {
            const int32_t o = os + j;
            qm_requantize_row(y->data + ((size_t)b * oc + o) * out_plane + t0, acc[j], count,
                              bias ? fb_i32_at(bias + 4 * (size_t)o) : 0, fb_vec_i32(&op->multiplier, (uint32_t)o),
                              fb_vec_u8(&op->shift, (uint32_t)o), zy, op->act_min, op->act_max,
                              y->dtype == QM_DTYPE_INT8);
          }
        }
      }
    }
  }
}

/* Convs with at most QM_DOT_PIXELS output pixels per plane (the 1x1 and 2x2 planes at the end of small-input
 * networks), where a tile of QM_TILE pixels would be mostly empty: the pixels' im2col rows (x - zx, 0 for
 * padding) in int16, then one qm_dot per output channel and pixel. */
#define QM_DOT_PIXELS 4
#define QM_DOT_K 4096

static int dot_fits(const qm_op *op) {
  const int64_t k = (int64_t)op->in[0].shape[1] / op->group * op->kernel[0] * op->kernel[1];
  return (int64_t)op->out.shape[2] * op->out.shape[3] <= QM_DOT_PIXELS && k <= QM_DOT_K;
}

static void conv_dot(const qm_op *op, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], h = x->shape[2], wi = x->shape[3], oc = y->shape[1];
  const int32_t ow = y->shape[3], kh = op->kernel[0], kw = op->kernel[1], cg = c / op->group, ocg = oc / op->group;
  const int32_t k = cg * kh * kw, pixels = y->shape[2] * ow, zx = x->zp;
  const size_t plane = (size_t)h * wi;
  int16_t rows[QM_DOT_PIXELS * QM_DOT_K];
  int32_t acc[QM_DOT_PIXELS + 8] = {0}; /* + the lanes qm_requantize_row computes past the pixels */
  int32_t b, grp, p, ci, ky, kx, o;
  for (b = 0; b < n; b++) {
    for (grp = 0; grp < op->group; grp++) {
      for (p = 0; p < pixels; p++) {
        const int64_t oy = p / ow, ox = p % ow;
        int16_t *r = rows + (size_t)p * k;
        for (ci = 0; ci < cg; ci++) {
          const uint8_t *xc = xd + ((size_t)b * c + (size_t)grp * cg + ci) * plane;
          for (ky = 0; ky < kh; ky++) {
            const int64_t iy = oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
            for (kx = 0; kx < kw; kx++) {
              const int64_t ix = ox * op->strides[1] - op->pads[1] + (int64_t)kx * op->dilations[1];
              const int inside = iy >= 0 && iy < h && ix >= 0 && ix < wi;
              const size_t at = inside ? (size_t)iy * wi + (size_t)ix : 0;
              *r++ = inside ? (int16_t)((is_signed ? (int32_t)(int8_t)xc[at] : (int32_t)xc[at]) - zx) : 0;
            }
          }
        }
      }
      for (o = grp * ocg; o < (grp + 1) * ocg; o++) {
        const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
        for (p = 0; p < pixels; p++) acc[p] = qm_dot(rows + (size_t)p * k, wd + (size_t)o * k, zw, k);
        qm_requantize_row(y->data + ((size_t)b * oc + o) * pixels, acc, pixels,
                          bias ? fb_i32_at(bias + 4 * (size_t)o) : 0, fb_vec_i32(&op->multiplier, (uint32_t)o),
                          fb_vec_u8(&op->shift, (uint32_t)o), y->zp, op->act_min, op->act_max,
                          y->dtype == QM_DTYPE_INT8);
      }
    }
  }
}

/* Depthwise on planes of fewer than 16 outputs (the 4x4 ... 1x1 ends of small-input networks), where a run per
 * channel would be mostly empty: the vector lanes are the channels instead. The input is transposed to one row
 * of channels per input pixel (x - zx as int16, plus a row of zeros) and the weights to one row per tap, and
 * each output pixel sums its taps two at a time with qm_madd_pairs. */
#define QM_DWC_BUF 8192 /* int16 of the transposed input, and of the transposed weights */

static int dw_channels_fit(const qm_op *op) {
  const int64_t channels = ((int64_t)op->in[0].shape[1] + 15) / 16 * 16;
  const int64_t in_plane = (int64_t)op->in[0].shape[2] * op->in[0].shape[3];
  return (int64_t)op->out.shape[2] * op->out.shape[3] < 16 && (in_plane + 1) * channels <= QM_DWC_BUF &&
         (int64_t)op->kernel[0] * op->kernel[1] * channels <= QM_DWC_BUF;
}

static void depthwise_channels(const qm_op *op, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], h = x->shape[2], wi = x->shape[3], oh = y->shape[2];
  const int32_t ow = y->shape[3], kh = op->kernel[0], kw = op->kernel[1], taps = kh * kw, c16 = (c + 15) / 16 * 16;
  const int32_t plane = h * wi, out_plane = oh * ow, zx = x->zp;
  int16_t xt[QM_DWC_BUF], wt[QM_DWC_BUF];
  int32_t acc[QM_DWC_BUF / 2 + 16];
  int32_t b, o, q, p, t, ky, kx;
  memset(wt, 0, (size_t)taps * c16 * sizeof *wt);
  for (o = 0; o < c; o++) {
    const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
    for (t = 0; t < taps; t++) wt[(size_t)t * c16 + o] = (int16_t)(wd[(size_t)o * taps + t] - zw);
  }
  for (b = 0; b < n; b++) {
    memset(xt, 0, (size_t)(plane + 1) * c16 * sizeof *xt); /* row `plane`: zeros, the partner of an odd last tap */
    for (o = 0; o < c; o++) {
      const uint8_t *xc = xd + ((size_t)b * c + o) * plane;
      for (q = 0; q < plane; q++) {
        xt[(size_t)q * c16 + o] = (int16_t)((is_signed ? (int32_t)(int8_t)xc[q] : (int32_t)xc[q]) - zx);
      }
    }
    for (p = 0; p < out_plane; p++) {
      const int64_t oy = p / ow, ox = p % ow;
      int32_t pending = -1, pending_tap = 0; /* an input pixel waiting for a partner */
      memset(acc, 0, (size_t)c16 * sizeof *acc);
      for (ky = 0; ky < kh; ky++) {
        const int64_t iy = oy * op->strides[0] - op->pads[0] + (int64_t)ky * op->dilations[0];
        if (iy < 0 || iy >= h) continue;
        for (kx = 0; kx < kw; kx++) {
          const int64_t ix = ox * op->strides[1] - op->pads[1] + (int64_t)kx * op->dilations[1];
          const int32_t at = (int32_t)(iy * wi + ix), tap = ky * kw + kx;
          if (ix < 0 || ix >= wi) continue;
          if (pending < 0) {
            pending = at, pending_tap = tap;
          } else {
            qm_madd_pairs(acc, xt + (size_t)pending * c16, xt + (size_t)at * c16, wt + (size_t)pending_tap * c16,
                          wt + (size_t)tap * c16, c16);
            pending = -1;
          }
        }
      }
      if (pending >= 0) {
        qm_madd_pairs(acc, xt + (size_t)pending * c16, xt + (size_t)plane * c16, wt + (size_t)pending_tap * c16,
                      wt + (size_t)pending_tap * c16, c16);
      }
      qm_dw_finish(acc, c16);
      for (o = 0; o < c; o++) {
        const int32_t b0 = bias ? fb_i32_at(bias + 4 * (size_t)o) : 0;
        const int64_t r = qm_requantize(qm_saturate_i32((int64_t)acc[o] + b0), fb_vec_i32(&op->multiplier, (uint32_t)o),
                                        fb_vec_u8(&op->shift, (uint32_t)o));
        qm_put(y->data, (uint32_t)(((size_t)b * c + o) * out_plane + p), qm_clamp(y->zp + r, op->act_min, op->act_max));
      }
    }
  }
}

/* Depthwise with SIMD, one channel at a time: the padded input plane once as x - zx int16 (zeros for the padding),
 * split by the strides into sh x sw polyphase planes (plane (rp, cp) holds the padded rows rp, rp + sh, ... and
 * columns cp, cp + sw, ..., each row rs long). Output (oy, ox) reads padded row sh oy + ky dh and column
 * sw ox + kx dw, i.e. plane ((ky dh) % sh, (kx dw) % sw) at row oy + (ky dh) / sh, column ox + (kx dw) / sw: so
 * with j = oy * rs + ox every tap reads one contiguous slice starting at a fixed offset, and all outputs of the
 * channel are one run of qm_dw_taps (the columns j % rs >= ow are computed and dropped). */
#define QM_DW_BUF 16384 /* int16: the polyphase planes of one channel */
#define QM_DW_ACC 4096  /* outputs of one run */

typedef struct {
  int32_t rs;    /* int16 per row of a polyphase plane */
  int32_t prows; /* rows per polyphase plane */
  int32_t run;   /* oh * rs rounded up to 16 */
  int32_t size;  /* int16 of the buffer (planes and the slack the last slices read) */
} dw_layout;

static int dw_layout_of(const qm_op *op, dw_layout *l) {
  const int64_t sh = op->strides[0], sw = op->strides[1], oh = op->out.shape[2];
  const int64_t ph = (int64_t)op->pads[0] + op->in[0].shape[2] + op->pads[2];
  const int64_t pw = (int64_t)op->pads[1] + op->in[0].shape[3] + op->pads[3];
  const int64_t rs = (pw + sw - 1) / sw, prows = (ph + sh - 1) / sh;
  const int64_t run = (oh * rs + 15) / 16 * 16;
  /* the farthest read: the last plane, from its deepest tap row and column, a run plus one vector on */
  const int64_t reach = ((int64_t)(op->kernel[0] - 1) * op->dilations[0] / sh) * rs +
                        (int64_t)(op->kernel[1] - 1) * op->dilations[1] / sw + run + 16;
  const int64_t planes = sh * sw * prows * rs, size = planes - prows * rs + (reach > prows * rs ? reach : prows * rs);
  if (sh > 8 || sw > 8 || run + 16 > QM_DW_ACC || size > QM_DW_BUF) return 0;
  l->rs = (int32_t)rs, l->prows = (int32_t)prows, l->run = (int32_t)run, l->size = (int32_t)size;
  return 1;
}

static void depthwise_simd(const qm_op *op, const dw_layout *l, int is_signed) {
  const qm_tensor *x = &op->in[0], *w = &op->in[1], *y = &op->out;
  const uint8_t *xd = qm_bytes(x);
  const int8_t *wd = (const int8_t *)w->cdata;
  const uint8_t *bias = op->n_in > 2 ? op->in[2].cdata : 0;
  const int32_t n = x->shape[0], c = x->shape[1], h = x->shape[2], wi = x->shape[3], oh = y->shape[2];
  const int32_t ow = y->shape[3], kh = op->kernel[0], kw = op->kernel[1], sh = op->strides[0], sw = op->strides[1];
  const int32_t pt = op->pads[0], pl = op->pads[1], taps = kh * kw;
  const int32_t zx = x->zp, zy = y->zp, out_signed = y->dtype == QM_DTYPE_INT8;
  const size_t plane = (size_t)h * wi, out_plane = (size_t)oh * ow, pplane = (size_t)l->prows * l->rs;
  int16_t buf[QM_DW_BUF];
  int32_t acc[QM_DW_ACC];
  size_t off0[QM_CONV_MAX_TAPS / 2 + 1], off1[QM_CONV_MAX_TAPS / 2 + 1]; /* the caller keeps taps <= 64 */
  int16_t w0[QM_CONV_MAX_TAPS / 2 + 1], w1[QM_CONV_MAX_TAPS / 2 + 1];
  int32_t first[8], last[8]; /* per column phase: the entries that hold input columns */
  int32_t b, o, iy, cp, oy, t;
  for (t = 0; t < taps; t++) { /* taps in pairs; an odd last one pairs with itself at weight 0 */
    const int32_t dy = t / kw * op->dilations[0], dx = t % kw * op->dilations[1];
    const size_t at = ((size_t)(dy % sh) * sw + (size_t)(dx % sw)) * pplane + (size_t)(dy / sh) * l->rs + (size_t)(dx / sw);
    if (t & 1) {
      off1[t / 2] = at;
    } else {
      off0[t / 2] = off1[t / 2] = at;
    }
  }
  for (cp = 0; cp < sw; cp++) { /* entry i of column phase cp: padded column i * sw + cp, input column - pl */
    first[cp] = cp >= pl ? 0 : (pl - cp + sw - 1) / sw;
    last[cp] = (int32_t)(((int64_t)wi - 1 + pl - cp) / sw);
  }
  for (b = 0; b < n; b++) {
    for (o = 0; o < c; o++) {
      const uint8_t *xc = xd + ((size_t)b * c + o) * plane;
      const int8_t *wc = wd + (size_t)o * taps;
      const int32_t zw = w->zero_points.len > 1 ? fb_vec_i32(&w->zero_points, (uint32_t)o) : w->zp;
      const int32_t m = fb_vec_i32(&op->multiplier, (uint32_t)o), s = fb_vec_u8(&op->shift, (uint32_t)o);
      const int32_t b0 = bias ? fb_i32_at(bias + 4 * (size_t)o) : 0;
      memset(buf, 0, (size_t)l->size * sizeof *buf);
      for (iy = 0; iy < h; iy++) {
        const int32_t pr = iy + pt;
        for (cp = 0; cp < sw; cp++) {
          int16_t *r = buf + ((size_t)(pr % sh) * sw + cp) * pplane + (size_t)(pr / sh) * l->rs;
          if (first[cp] <= last[cp]) {
            widen_simd(r + first[cp], xc + (size_t)iy * wi + ((size_t)first[cp] * sw + cp - pl),
                       last[cp] - first[cp] + 1, sw, zx, is_signed, xd + x->count);
          }
        }
      }
      for (t = 0; t < taps; t++) {
        const int16_t wv = (int16_t)(wc[t] - zw);
        if (t & 1) {
          w1[t / 2] = wv;
        } else {
          w0[t / 2] = wv, w1[t / 2] = 0;
        }
      }
      qm_dw_taps(acc, buf, off0, off1, w0, w1, (taps + 1) / 2, l->run);
      memset(acc + l->run, 0, 16 * sizeof *acc); /* the lanes qm_requantize_row computes past a row */
      qm_dw_finish(acc, l->run);
      for (oy = 0; oy < oh; oy++) {
        qm_requantize_row(y->data + ((size_t)b * c + o) * out_plane + (size_t)oy * ow, acc + (size_t)oy * l->rs, ow, b0,
                          m, s, zy, op->act_min, op->act_max, out_signed);
      }
    }
  }
}
#endif

#if QM_SIMD
/* Every output's window lies inside the padded input (true of every conv the compiler writes). The loader allows
 * outputs beyond that, whose windows reach further (they read padding there); only the portable kernels, which
 * bound every read, take those. */
static int windows_inside(const qm_op *op) {
  const int64_t oh = op->out.shape[2], ow = op->out.shape[3];
  const int64_t ph = (int64_t)op->pads[0] + op->in[0].shape[2] + op->pads[2];
  const int64_t pw = (int64_t)op->pads[1] + op->in[0].shape[3] + op->pads[3];
  return (oh - 1) * op->strides[0] + (int64_t)(op->kernel[0] - 1) * op->dilations[0] <= ph - 1 &&
         (ow - 1) * op->strides[1] + (int64_t)(op->kernel[1] - 1) * op->dilations[1] <= pw - 1;
}
#endif

void qm_op_conv(const qm_op *op) {
  const int depthwise = op->group == op->in[0].shape[1] && op->group == op->out.shape[1] &&
                        (int64_t)op->kernel[0] * op->kernel[1] <= QM_CONV_MAX_TAPS;
#if QM_SIMD
  const int simd = windows_inside(op);
#endif
  if (depthwise) {
#if QM_SIMD
    dw_layout l;
    if (simd && dw_channels_fit(op)) {
      depthwise_channels(op, op->in[0].dtype == QM_DTYPE_INT8);
      return;
    }
    if (simd && dw_layout_of(op, &l)) {
      depthwise_simd(op, &l, op->in[0].dtype == QM_DTYPE_INT8);
      return;
    }
#endif
    if (op->in[0].dtype == QM_DTYPE_INT8) {
      depthwise_kernel(op, 1);
    } else {
      depthwise_kernel(op, 0);
    }
    return;
  }
#if QM_SIMD
  if (simd) {
    const conv_geometry g = conv_geometry_of(op);
    if (dot_fits(op)) {
      conv_dot(op, op->in[0].dtype == QM_DTYPE_INT8);
      return;
    }
    if (gemm_fits(op, &g)) {
      conv_gemm(op, &g, op->in[0].dtype == QM_DTYPE_INT8);
      return;
    }
  }
#endif
  if (op->in[0].dtype == QM_DTYPE_INT8) {
    conv_kernel(op, 1);
  } else {
    conv_kernel(op, 0);
  }
}
