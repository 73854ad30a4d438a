/* SIMD building blocks of the Conv, FullyConnected and Add kernels (and their requantization), chosen at compile
 * time from the target flags (scripts/native/build.sh; qm_kernels() / `qm_run --kernels` says which):
 *   avx2    x86-64 built with AVX2 (-mavx2, -march=haswell or newer, -march=native): _mm256_madd_epi16
 *   sse4.1  x86-64 built with SSE4.1 but not AVX2: _mm_madd_epi16
 *   neon    aarch64 (NEON is baseline) or armv7 built with -mfpu=neon: vmlal_lane_s16 / vmlal_s16
 *   portable  everything else (Cortex-M, armv7 without NEON) and any build with -DQM_PORTABLE: the plain C
 *           kernels of conv.c and fully_connected.c, which never include the intrinsics headers.
 * Every path computes the integer sums core/sim defines: the operands are x - zx and w - zw widened to int16
 * (|.| <= 255), so every product (<= 65025) and every pair sum of _mm*_madd_epi16 (<= 130050) is exact in
 * int32; no saturating instruction (pmaddubsw, vqdmulh, ...) is used. Sums of at most 32767 such products
 * (the loader's bound) fit int32 in any order. Requantization (qm_requantize_row) and Add form their 64-bit
 * products exactly and round half away from zero like qm_fixed.h. */
#ifndef QM_SIMD_H
#define QM_SIMD_H

#include <string.h>

#include "../qm_internal.h"

#if !defined(QM_PORTABLE) && defined(__AVX2__)
#define QM_SIMD_AVX2 1
#define QM_KERNELS "avx2"
#include <immintrin.h>
#elif !defined(QM_PORTABLE) && defined(__SSE4_1__)
#define QM_SIMD_SSE41 1
#define QM_KERNELS "sse4.1"
#include <smmintrin.h>
#elif !defined(QM_PORTABLE) && defined(__ARM_NEON)
#define QM_SIMD_NEON 1
#define QM_KERNELS "neon"
#include <arm_neon.h>
#else
#define QM_KERNELS "portable"
#endif

#if defined(QM_SIMD_AVX2) || defined(QM_SIMD_SSE41) || defined(QM_SIMD_NEON)
#define QM_SIMD 1

/* Pixels per panel row: one output tile of the packed GEMM. */
#define QM_TILE 16
/* Output channels per micro-kernel call. */
#define QM_OC_BLOCK 4

/* Copies n < 16 int16 (or n < 16 bytes with qm_copy_bytes) in fixed-size pieces, which compilers inline (a loop
 * or a memcpy of variable size becomes a library call). */
static inline void qm_copy_i16(int16_t *dst, const int16_t *src, int32_t n) {
  if (n & 8) memcpy(dst, src, 16), dst += 8, src += 8;
  if (n & 4) memcpy(dst, src, 8), dst += 4, src += 4;
  if (n & 2) memcpy(dst, src, 4), dst += 2, src += 2;
  if (n & 1) *dst = *src;
}

static inline void qm_copy_bytes(uint8_t *dst, const uint8_t *src, int32_t n) {
  if (n & 8) memcpy(dst, src, 8), dst += 8, src += 8;
  if (n & 4) memcpy(dst, src, 4), dst += 4, src += 4;
  if (n & 2) memcpy(dst, src, 2), dst += 2, src += 2;
  if (n & 1) *dst = *src;
}

static inline int32_t qm_load_i32(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The packed weights of QM_OC_BLOCK output channels for `kc` reduction steps, zero-padded to `kc_pad` (even):
 * w - zw as int16, channel-major (x86: each 32-bit pair w[k], w[k+1] is one _mm*_madd_epi16 operand) or
 * step-major (NEON: the block's 4 weights of step k are one int16x4 for vmlal_lane_s16). */
static inline void qm_pack_weights(int16_t *restrict dst, const int8_t *const src[QM_OC_BLOCK],
                                   const int32_t zw[QM_OC_BLOCK], int32_t kc, int32_t kc_pad) {
  int32_t o, k = 0;
#if defined(QM_SIMD_NEON)
  const int16x8_t z0 = vdupq_n_s16((int16_t)zw[0]), z1 = vdupq_n_s16((int16_t)zw[1]);
  const int16x8_t z2 = vdupq_n_s16((int16_t)zw[2]), z3 = vdupq_n_s16((int16_t)zw[3]);
  for (; k + 8 <= kc; k += 8) { /* vst4q interleaves the 4 channels: the block's weights of step k side by side */
    int16x8x4_t v;
    v.val[0] = vsubq_s16(vmovl_s8(vld1_s8(src[0] + k)), z0);
    v.val[1] = vsubq_s16(vmovl_s8(vld1_s8(src[1] + k)), z1);
    v.val[2] = vsubq_s16(vmovl_s8(vld1_s8(src[2] + k)), z2);
    v.val[3] = vsubq_s16(vmovl_s8(vld1_s8(src[3] + k)), z3);
    vst4q_s16(dst + (size_t)k * QM_OC_BLOCK, v);
  }
  for (o = 0; o < QM_OC_BLOCK; o++) {
    int32_t j;
    for (j = k; j < kc; j++) dst[j * QM_OC_BLOCK + o] = (int16_t)(src[o][j] - zw[o]);
    for (; j < kc_pad; j++) dst[j * QM_OC_BLOCK + o] = 0;
  }
#else
  for (o = 0; o < QM_OC_BLOCK; o++) {
    const int8_t *restrict s = src[o];
    int16_t *restrict d = dst + (size_t)o * kc_pad;
    for (k = 0; k + 16 <= kc; k += 16) {
      const __m128i lo = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(s + k)));
      const __m128i hi = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(s + k + 8)));
      const __m128i z = _mm_set1_epi16((int16_t)zw[o]);
      _mm_storeu_si128((__m128i *)(d + k), _mm_sub_epi16(lo, z));
      _mm_storeu_si128((__m128i *)(d + k + 8), _mm_sub_epi16(hi, z));
    }
    for (; k < kc; k++) d[k] = (int16_t)(s[k] - zw[o]);
    for (; k < kc_pad; k++) d[k] = 0;
  }
#endif
}

/* dst[i] = src[i] - zx as int16 for i < count <= 16, reading 16 bytes at src (the caller checks they exist). */
static inline void qm_widen16(int16_t *restrict dst, const uint8_t *restrict src, int32_t count, int32_t zx,
                              int is_signed) {
  int16_t tmp[16];
  int16_t *d = count == 16 ? dst : tmp;
#if defined(QM_SIMD_NEON)
  const uint8x16_t v = vld1q_u8(src);
  const int16x8_t z = vdupq_n_s16((int16_t)zx);
  if (is_signed) {
    const int8x16_t sv = vreinterpretq_s8_u8(v);
    vst1q_s16(d, vsubq_s16(vmovl_s8(vget_low_s8(sv)), z));
    vst1q_s16(d + 8, vsubq_s16(vmovl_s8(vget_high_s8(sv)), z));
  } else {
    vst1q_s16(d, vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v))), z));
    vst1q_s16(d + 8, vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(v))), z));
  }
#else
  const __m128i v = _mm_loadu_si128((const __m128i *)src), z = _mm_set1_epi16((int16_t)zx);
  const __m128i h = _mm_srli_si128(v, 8);
  const __m128i lo = is_signed ? _mm_cvtepi8_epi16(v) : _mm_cvtepu8_epi16(v);
  const __m128i hi = is_signed ? _mm_cvtepi8_epi16(h) : _mm_cvtepu8_epi16(h);
  _mm_storeu_si128((__m128i *)d, _mm_sub_epi16(lo, z));
  _mm_storeu_si128((__m128i *)(d + 8), _mm_sub_epi16(hi, z));
#endif
  if (d == tmp) qm_copy_i16(dst, tmp, count);
}

/* out[i] = clamp(zy + round_half_away(sat32(acc[i] + bias) * m / 2^shift), lo, hi) as int8/uint8 bytes: the
 * requantization of qm_fixed.h, 8 (AVX2) or 4 (NEON) lanes at a time; |acc * m| is formed exactly in 64 bits
 * and a magnitude above 1024 is clamped first (it saturates to lo or hi either way). `acc` must be readable up
 * to n rounded up to 8 (the last block is computed whole and only its first bytes stored). */
static inline void qm_requantize_row(uint8_t *restrict out, const int32_t *restrict acc, int32_t n, int32_t bias,
                                     int32_t m, int32_t shift, int32_t zy, int32_t lo, int32_t hi, int out_signed) {
  int32_t i = 0;
  uint8_t last[8];
#if defined(QM_SIMD_AVX2)
  const __m256i b = _mm256_set1_epi32(bias), mv = _mm256_set1_epi32(m), big = _mm256_set1_epi64x(1024);
  const __m256i half = _mm256_set1_epi64x((int64_t)1 << (shift - 1)), zyv = _mm256_set1_epi32(zy);
  const __m256i lov = _mm256_set1_epi32(lo), hiv = _mm256_set1_epi32(hi), imax = _mm256_set1_epi32(INT32_MAX);
  const __m128i count = _mm_cvtsi32_si128(shift);
  for (; i < n; i += 8) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)(acc + i)), sum = _mm256_add_epi32(a, b);
    /* sat32(a + bias): overflow when a and bias have one sign and the sum the other */
    const __m256i ovf = _mm256_andnot_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(a, sum));
    const __m256i sat = _mm256_xor_si256(_mm256_srai_epi32(a, 31), imax);
    const __m256i v = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(sum), _mm256_castsi256_ps(sat), _mm256_castsi256_ps(ovf)));
    const __m256i neg = _mm256_srai_epi32(v, 31), mag = _mm256_abs_epi32(v); /* |INT32_MIN| = 2^31 as unsigned */
    __m256i even = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(mag, mv), half), count);
    __m256i odd = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(mag, 32), mv), half), count);
    __m256i r;
    even = _mm256_blendv_epi8(even, big, _mm256_cmpgt_epi64(even, big));
    odd = _mm256_blendv_epi8(odd, big, _mm256_cmpgt_epi64(odd, big));
    r = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xaa);
    r = _mm256_sub_epi32(_mm256_xor_si256(r, neg), neg);
    r = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, zyv), lov), hiv);
    {
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      const __m128i bytes = out_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
      if (i + 8 <= n) {
        _mm_storel_epi64((__m128i *)(out + i), bytes);
      } else {
        _mm_storel_epi64((__m128i *)last, bytes);
        qm_copy_bytes(out + i, last, n - i);
      }
    }
  }
  (void)last;
  return;
#elif defined(QM_SIMD_NEON)
  const int32x4_t b = vdupq_n_s32(bias), zyv = vdupq_n_s32(zy), lov = vdupq_n_s32(lo), hiv = vdupq_n_s32(hi);
  const uint32x2_t mv = vdup_n_u32((uint32_t)m);
  const uint64x2_t half = vdupq_n_u64((uint64_t)1 << (shift - 1));
  const int64x2_t right = vdupq_n_s64(-shift);
  const uint32x4_t big = vdupq_n_u32(1024);
  for (; i < n; i += 4) {
    const int32x4_t v = vqaddq_s32(vld1q_s32(acc + i), b); /* saturating: sat32(acc + bias) */
    const uint32x4_t mag = vreinterpretq_u32_s32(vabsq_s32(v)); /* |INT32_MIN| = 2^31 as unsigned */
    const int32x4_t neg = vshrq_n_s32(v, 31);
    const uint64x2_t p0 = vshlq_u64(vaddq_u64(vmull_u32(vget_low_u32(mag), mv), half), right);
    const uint64x2_t p1 = vshlq_u64(vaddq_u64(vmull_u32(vget_high_u32(mag), mv), half), right);
    const uint32x4_t r = vminq_u32(vcombine_u32(vqmovn_u64(p0), vqmovn_u64(p1)), big);
    int32x4_t y = vsubq_s32(veorq_s32(vreinterpretq_s32_u32(r), neg), neg);
    int16x4_t y16;
    y = vminq_s32(vmaxq_s32(vaddq_s32(y, zyv), lov), hiv);
    y16 = vmovn_s32(y);
    if (out_signed) {
      vst1_s8((int8_t *)last, vmovn_s16(vcombine_s16(y16, y16)));
    } else {
      vst1_u8(last, vmovn_u16(vreinterpretq_u16_s16(vcombine_s16(y16, y16))));
    }
    qm_copy_bytes(out + i, last, n - i < 4 ? n - i : 4);
  }
  return;
#endif
  (void)last, (void)out_signed;
  for (; i < n; i++) {
    qm_put(out, (uint32_t)i, qm_clamp(zy + qm_requantize(qm_saturate_i32((int64_t)acc[i] + bias), m, shift), lo, hi));
  }
}

#if defined(QM_SIMD_AVX2) || defined(QM_SIMD_NEON)
#define QM_SIMD_ADD 1
/* Add of two tensors of the output's shape (no broadcast): out[i] = clamp(zy + round_half_away(((a[i] - za) * ma +
 * (b[i] - zb) * mb) / 2^shift), lo, hi), the sum formed exactly in 64 bits (|.| < 2^41) as in add.c. Returns how
 * many leading elements it wrote (a multiple of 8); the caller does the rest. */
static inline uint32_t qm_add_same_shape(uint8_t *restrict out, const uint8_t *a, int a_signed, int32_t za, int32_t ma,
                                         const uint8_t *b, int b_signed, int32_t zb, int32_t mb, int32_t shift,
                                         int32_t zy, int32_t lo, int32_t hi, int out_signed, uint32_t n) {
  uint32_t i = 0;
#if defined(QM_SIMD_AVX2)
  const __m256i zav = _mm256_set1_epi32(za), zbv = _mm256_set1_epi32(zb), mav = _mm256_set1_epi32(ma);
  const __m256i mbv = _mm256_set1_epi32(mb), zero = _mm256_setzero_si256(), big = _mm256_set1_epi64x(1024);
  const __m256i half = _mm256_set1_epi64x((int64_t)1 << (shift - 1)), zyv = _mm256_set1_epi32(zy);
  const __m256i lov = _mm256_set1_epi32(lo), hiv = _mm256_set1_epi32(hi);
  const __m128i count = _mm_cvtsi32_si128(shift);
  for (; i + 8 <= n; i += 8) {
    const __m128i ra = _mm_loadl_epi64((const __m128i *)(a + i)), rb = _mm_loadl_epi64((const __m128i *)(b + i));
    const __m256i va = _mm256_sub_epi32(a_signed ? _mm256_cvtepi8_epi32(ra) : _mm256_cvtepu8_epi32(ra), zav);
    const __m256i vb = _mm256_sub_epi32(b_signed ? _mm256_cvtepi8_epi32(rb) : _mm256_cvtepu8_epi32(rb), zbv);
    __m256i p[2], r;
    int k;
    /* 64-bit products of the even lanes, then of the odd lanes moved down */
    p[0] = _mm256_add_epi64(_mm256_mul_epi32(va, mav), _mm256_mul_epi32(vb, mbv));
    p[1] = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(va, 32), mav),
                            _mm256_mul_epi32(_mm256_srli_epi64(vb, 32), mbv));
    for (k = 0; k < 2; k++) {
      const __m256i neg = _mm256_cmpgt_epi64(zero, p[k]);
      __m256i mag = _mm256_sub_epi64(_mm256_xor_si256(p[k], neg), neg);
      mag = _mm256_srl_epi64(_mm256_add_epi64(mag, half), count);
      mag = _mm256_blendv_epi8(mag, big, _mm256_cmpgt_epi64(mag, big));
      p[k] = _mm256_sub_epi64(_mm256_xor_si256(mag, neg), neg); /* |.| <= 1024: the low 32 bits are the value */
    }
    r = _mm256_blend_epi32(p[0], _mm256_slli_epi64(p[1], 32), 0xaa);
    r = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, zyv), lov), hiv);
    {
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      _mm_storel_epi64((__m128i *)(out + i), out_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
    }
  }
#else /* QM_SIMD_NEON */
  const int16x8_t zav = vdupq_n_s16((int16_t)za), zbv = vdupq_n_s16((int16_t)zb);
  const int32x2_t mav = vdup_n_s32(ma), mbv = vdup_n_s32(mb);
  const uint64x2_t half = vdupq_n_u64((uint64_t)1 << (shift - 1));
  const int64x2_t right = vdupq_n_s64(-shift);
  const uint32x4_t big = vdupq_n_u32(1024);
  const int32x4_t zyv = vdupq_n_s32(zy), lov = vdupq_n_s32(lo), hiv = vdupq_n_s32(hi);
  for (; i + 8 <= n; i += 8) {
    const uint8x8_t ra = vld1_u8(a + i), rb = vld1_u8(b + i);
    const int16x8_t va = vsubq_s16(a_signed ? vmovl_s8(vreinterpret_s8_u8(ra)) : vreinterpretq_s16_u16(vmovl_u8(ra)), zav);
    const int16x8_t vb = vsubq_s16(b_signed ? vmovl_s8(vreinterpret_s8_u8(rb)) : vreinterpretq_s16_u16(vmovl_u8(rb)), zbv);
    const int32x4_t a32[2] = {vmovl_s16(vget_low_s16(va)), vmovl_s16(vget_high_s16(va))};
    const int32x4_t b32[2] = {vmovl_s16(vget_low_s16(vb)), vmovl_s16(vget_high_s16(vb))};
    int32x4_t y[2];
    int k;
    for (k = 0; k < 2; k++) {
      const int64x2_t p0 = vmlal_s32(vmull_s32(vget_low_s32(a32[k]), mav), vget_low_s32(b32[k]), mbv);
      const int64x2_t p1 = vmlal_s32(vmull_s32(vget_high_s32(a32[k]), mav), vget_high_s32(b32[k]), mbv);
      const int64x2_t n0 = vshrq_n_s64(p0, 63), n1 = vshrq_n_s64(p1, 63);
      const uint64x2_t m0 = vreinterpretq_u64_s64(vsubq_s64(veorq_s64(p0, n0), n0));
      const uint64x2_t m1 = vreinterpretq_u64_s64(vsubq_s64(veorq_s64(p1, n1), n1));
      const uint32x4_t r = vminq_u32(vcombine_u32(vqmovn_u64(vshlq_u64(vaddq_u64(m0, half), right)),
                                                  vqmovn_u64(vshlq_u64(vaddq_u64(m1, half), right))),
                                     big);
      const int32x4_t neg = vcombine_s32(vmovn_s64(n0), vmovn_s64(n1));
      y[k] = vsubq_s32(veorq_s32(vreinterpretq_s32_u32(r), neg), neg);
      y[k] = vminq_s32(vmaxq_s32(vaddq_s32(y[k], zyv), lov), hiv);
    }
    {
      const int16x8_t y16 = vcombine_s16(vmovn_s32(y[0]), vmovn_s32(y[1]));
      if (out_signed) {
        vst1_s8((int8_t *)(out + i), vmovn_s16(y16));
      } else {
        vst1_u8(out + i, vmovn_u16(vreinterpretq_u16_s16(y16)));
      }
    }
  }
#endif
  return i;
}
#endif

/* acc[i] = sum over t < pairs of base[off0[t] + i] * w0[t] + base[off1[t] + i] * w1[t] for i < n (a multiple of 16):
 * the taps of a depthwise run, two at a time, summed in registers. AVX2 leaves each block of 16 in the order of
 * _mm256_unpack*_epi16 (pixels 0-3, 8-11, 4-7, 12-15); qm_dw_finish puts them back. */
static inline void qm_dw_taps(int32_t *restrict acc, const int16_t *base, const size_t *off0, const size_t *off1,
                              const int16_t *w0, const int16_t *w1, int32_t pairs, int32_t n) {
  int32_t i, t;
#if defined(QM_SIMD_AVX2)
  for (i = 0; i < n; i += 16) {
    __m256i lo = _mm256_setzero_si256(), hi = lo;
    for (t = 0; t < pairs; t++) {
      const __m256i wv = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)w1[t] << 16) | (uint16_t)w0[t]));
      const __m256i a = _mm256_loadu_si256((const __m256i *)(base + off0[t] + i));
      const __m256i c = _mm256_loadu_si256((const __m256i *)(base + off1[t] + i));
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, c), wv));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, c), wv));
    }
    _mm256_storeu_si256((__m256i *)(acc + i), lo);
    _mm256_storeu_si256((__m256i *)(acc + i + 8), hi);
  }
#elif defined(QM_SIMD_SSE41)
  for (i = 0; i < n; i += 8) {
    __m128i lo = _mm_setzero_si128(), hi = lo;
    for (t = 0; t < pairs; t++) {
      const __m128i wv = _mm_set1_epi32((int32_t)(((uint32_t)(uint16_t)w1[t] << 16) | (uint16_t)w0[t]));
      const __m128i a = _mm_loadu_si128((const __m128i *)(base + off0[t] + i));
      const __m128i c = _mm_loadu_si128((const __m128i *)(base + off1[t] + i));
      lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(a, c), wv));
      hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(a, c), wv));
    }
    _mm_storeu_si128((__m128i *)(acc + i), lo);
    _mm_storeu_si128((__m128i *)(acc + i + 4), hi);
  }
#else
  for (i = 0; i < n; i += 8) {
    int32x4_t r0 = vdupq_n_s32(0), r1 = r0;
    for (t = 0; t < pairs; t++) {
      const int16x8_t a = vld1q_s16(base + off0[t] + i), c = vld1q_s16(base + off1[t] + i);
      r0 = vmlal_n_s16(vmlal_n_s16(r0, vget_low_s16(a), w0[t]), vget_low_s16(c), w1[t]);
      r1 = vmlal_n_s16(vmlal_n_s16(r1, vget_high_s16(a), w0[t]), vget_high_s16(c), w1[t]);
    }
    vst1q_s32(acc + i, r0);
    vst1q_s32(acc + i + 4, r1);
  }
#endif
}

/* acc[i] += x0[i] * w0[i] + x1[i] * w1[i] for i < n (a multiple of 16), lane by lane: two taps of a depthwise
 * conv over a vector of channels. AVX2 keeps the order of qm_dw_taps (qm_dw_finish). */
static inline void qm_madd_pairs(int32_t *restrict acc, const int16_t *x0, const int16_t *x1, const int16_t *w0,
                                 const int16_t *w1, int32_t n) {
  int32_t i;
#if defined(QM_SIMD_AVX2)
  for (i = 0; i < n; i += 16) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)(x0 + i)), c = _mm256_loadu_si256((const __m256i *)(x1 + i));
    const __m256i u = _mm256_loadu_si256((const __m256i *)(w0 + i)), v = _mm256_loadu_si256((const __m256i *)(w1 + i));
    __m256i *r = (__m256i *)(acc + i);
    _mm256_storeu_si256(r, _mm256_add_epi32(_mm256_loadu_si256(r), _mm256_madd_epi16(_mm256_unpacklo_epi16(a, c),
                                                                                     _mm256_unpacklo_epi16(u, v))));
    _mm256_storeu_si256(r + 1, _mm256_add_epi32(_mm256_loadu_si256(r + 1),
                                                _mm256_madd_epi16(_mm256_unpackhi_epi16(a, c), _mm256_unpackhi_epi16(u, v))));
  }
#elif defined(QM_SIMD_SSE41)
  for (i = 0; i < n; i += 8) {
    const __m128i a = _mm_loadu_si128((const __m128i *)(x0 + i)), c = _mm_loadu_si128((const __m128i *)(x1 + i));
    const __m128i u = _mm_loadu_si128((const __m128i *)(w0 + i)), v = _mm_loadu_si128((const __m128i *)(w1 + i));
    __m128i *r = (__m128i *)(acc + i);
    _mm_storeu_si128(r, _mm_add_epi32(_mm_loadu_si128(r), _mm_madd_epi16(_mm_unpacklo_epi16(a, c), _mm_unpacklo_epi16(u, v))));
    _mm_storeu_si128(r + 1, _mm_add_epi32(_mm_loadu_si128(r + 1),
                                          _mm_madd_epi16(_mm_unpackhi_epi16(a, c), _mm_unpackhi_epi16(u, v))));
  }
#else
  for (i = 0; i < n; i += 8) {
    const int16x8_t a = vld1q_s16(x0 + i), c = vld1q_s16(x1 + i), u = vld1q_s16(w0 + i), v = vld1q_s16(w1 + i);
    int32x4_t r0 = vld1q_s32(acc + i), r1 = vld1q_s32(acc + i + 4);
    r0 = vmlal_s16(vmlal_s16(r0, vget_low_s16(a), vget_low_s16(u)), vget_low_s16(c), vget_low_s16(v));
    r1 = vmlal_s16(vmlal_s16(r1, vget_high_s16(a), vget_high_s16(u)), vget_high_s16(c), vget_high_s16(v));
    vst1q_s32(acc + i, r0);
    vst1q_s32(acc + i + 4, r1);
  }
#endif
}

static inline void qm_dw_finish(int32_t *acc, int32_t n) {
#if defined(QM_SIMD_AVX2)
  int32_t i;
  for (i = 0; i < n; i += 16) {
    __m256i *r = (__m256i *)(acc + i);
    const __m256i lo = _mm256_loadu_si256(r), hi = _mm256_loadu_si256(r + 1);
    _mm256_storeu_si256(r, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(r + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
#else
  (void)acc, (void)n;
#endif
}

/* acc[o][p] (+)= sum over k < kc_pad of w[o][k] * x[k][p], for the QM_OC_BLOCK channels of `w`
 * (qm_pack_weights) and the QM_TILE pixels of the panel `x` (kc_pad rows of QM_TILE int16; kc_pad even):
 * stored when `accumulate` is 0, added otherwise. */
static inline void qm_gemm_block(const int16_t *restrict w, int32_t kc_pad, const int16_t *restrict x,
                                 int32_t (*restrict acc)[QM_TILE], int accumulate) {
  int32_t k, o;
#if defined(QM_SIMD_AVX2)
  /* unpacklo/hi of two panel rows interleave them within 128-bit lanes: `lo` holds the pairs of pixels 0-3 and
   * 8-11, `hi` those of 4-7 and 12-15; the lanes are put back in order when the block is stored. */
  __m256i lo0 = _mm256_setzero_si256(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0, lo3 = lo0, hi3 = lo0;
  for (k = 0; k < kc_pad; k += 2) {
    const __m256i xa = _mm256_loadu_si256((const __m256i *)(x + (size_t)k * QM_TILE));
    const __m256i xb = _mm256_loadu_si256((const __m256i *)(x + (size_t)(k + 1) * QM_TILE));
    const __m256i lo = _mm256_unpacklo_epi16(xa, xb), hi = _mm256_unpackhi_epi16(xa, xb);
    __m256i wv = _mm256_set1_epi32(qm_load_i32(w + k));
    lo0 = _mm256_add_epi32(lo0, _mm256_madd_epi16(lo, wv));
    hi0 = _mm256_add_epi32(hi0, _mm256_madd_epi16(hi, wv));
    wv = _mm256_set1_epi32(qm_load_i32(w + kc_pad + k));
    lo1 = _mm256_add_epi32(lo1, _mm256_madd_epi16(lo, wv));
    hi1 = _mm256_add_epi32(hi1, _mm256_madd_epi16(hi, wv));
    wv = _mm256_set1_epi32(qm_load_i32(w + 2 * (size_t)kc_pad + k));
    lo2 = _mm256_add_epi32(lo2, _mm256_madd_epi16(lo, wv));
    hi2 = _mm256_add_epi32(hi2, _mm256_madd_epi16(hi, wv));
    wv = _mm256_set1_epi32(qm_load_i32(w + 3 * (size_t)kc_pad + k));
    lo3 = _mm256_add_epi32(lo3, _mm256_madd_epi16(lo, wv));
    hi3 = _mm256_add_epi32(hi3, _mm256_madd_epi16(hi, wv));
  }
  {
    const __m256i los[4] = {lo0, lo1, lo2, lo3}, his[4] = {hi0, hi1, hi2, hi3};
    for (o = 0; o < QM_OC_BLOCK; o++) {
      __m256i *a = (__m256i *)acc[o];
      __m256i first = _mm256_permute2x128_si256(los[o], his[o], 0x20); /* pixels 0-7 */
      __m256i second = _mm256_permute2x128_si256(los[o], his[o], 0x31); /* pixels 8-15 */
      if (accumulate) {
        first = _mm256_add_epi32(_mm256_loadu_si256(a), first);
        second = _mm256_add_epi32(_mm256_loadu_si256(a + 1), second);
      }
      _mm256_storeu_si256(a, first);
      _mm256_storeu_si256(a + 1, second);
    }
  }
#elif defined(QM_SIMD_SSE41)
  /* Two channels at a time: 8 accumulators of 4 pixels (SSE has 16 registers). */
  for (o = 0; o < QM_OC_BLOCK; o += 2) {
    const int16_t *w0 = w + (size_t)o * kc_pad, *w1 = w0 + kc_pad;
    __m128i a00 = _mm_setzero_si128(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (k = 0; k < kc_pad; k += 2) {
      const int16_t *xr = x + (size_t)k * QM_TILE;
      const __m128i xa0 = _mm_loadu_si128((const __m128i *)xr), xa1 = _mm_loadu_si128((const __m128i *)(xr + 8));
      const __m128i xb0 = _mm_loadu_si128((const __m128i *)(xr + QM_TILE));
      const __m128i xb1 = _mm_loadu_si128((const __m128i *)(xr + QM_TILE + 8));
      const __m128i p0 = _mm_unpacklo_epi16(xa0, xb0), p1 = _mm_unpackhi_epi16(xa0, xb0);
      const __m128i p2 = _mm_unpacklo_epi16(xa1, xb1), p3 = _mm_unpackhi_epi16(xa1, xb1);
      const __m128i v0 = _mm_set1_epi32(qm_load_i32(w0 + k)), v1 = _mm_set1_epi32(qm_load_i32(w1 + k));
      a00 = _mm_add_epi32(a00, _mm_madd_epi16(p0, v0));
      a01 = _mm_add_epi32(a01, _mm_madd_epi16(p1, v0));
      a02 = _mm_add_epi32(a02, _mm_madd_epi16(p2, v0));
      a03 = _mm_add_epi32(a03, _mm_madd_epi16(p3, v0));
      a10 = _mm_add_epi32(a10, _mm_madd_epi16(p0, v1));
      a11 = _mm_add_epi32(a11, _mm_madd_epi16(p1, v1));
      a12 = _mm_add_epi32(a12, _mm_madd_epi16(p2, v1));
      a13 = _mm_add_epi32(a13, _mm_madd_epi16(p3, v1));
    }
    {
      __m128i *r0 = (__m128i *)acc[o], *r1 = (__m128i *)acc[o + 1];
      if (accumulate) {
        a00 = _mm_add_epi32(_mm_loadu_si128(r0), a00), a01 = _mm_add_epi32(_mm_loadu_si128(r0 + 1), a01);
        a02 = _mm_add_epi32(_mm_loadu_si128(r0 + 2), a02), a03 = _mm_add_epi32(_mm_loadu_si128(r0 + 3), a03);
        a10 = _mm_add_epi32(_mm_loadu_si128(r1), a10), a11 = _mm_add_epi32(_mm_loadu_si128(r1 + 1), a11);
        a12 = _mm_add_epi32(_mm_loadu_si128(r1 + 2), a12), a13 = _mm_add_epi32(_mm_loadu_si128(r1 + 3), a13);
      }
      _mm_storeu_si128(r0, a00), _mm_storeu_si128(r0 + 1, a01), _mm_storeu_si128(r0 + 2, a02);
      _mm_storeu_si128(r0 + 3, a03), _mm_storeu_si128(r1, a10), _mm_storeu_si128(r1 + 1, a11);
      _mm_storeu_si128(r1 + 2, a12), _mm_storeu_si128(r1 + 3, a13);
    }
  }
#else /* QM_SIMD_NEON */
#define QM_NEON_LANE(o)                                    \
  a##o##0 = vmlal_lane_s16(a##o##0, x0, wv, o);            \
  a##o##1 = vmlal_lane_s16(a##o##1, x1, wv, o);            \
  a##o##2 = vmlal_lane_s16(a##o##2, x2, wv, o);            \
  a##o##3 = vmlal_lane_s16(a##o##3, x3, wv, o)
#define QM_NEON_STORE(o)                                                                 \
  if (accumulate) {                                                                      \
    a##o##0 = vaddq_s32(vld1q_s32(acc[o]), a##o##0);                                     \
    a##o##1 = vaddq_s32(vld1q_s32(acc[o] + 4), a##o##1);                                 \
    a##o##2 = vaddq_s32(vld1q_s32(acc[o] + 8), a##o##2);                                 \
    a##o##3 = vaddq_s32(vld1q_s32(acc[o] + 12), a##o##3);                                \
  }                                                                                      \
  vst1q_s32(acc[o], a##o##0);                                                            \
  vst1q_s32(acc[o] + 4, a##o##1);                                                        \
  vst1q_s32(acc[o] + 8, a##o##2);                                                        \
  vst1q_s32(acc[o] + 12, a##o##3)
  int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  int32x4_t a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  (void)o;
  for (k = 0; k < kc_pad; k++) {
    const int16_t *xr = x + (size_t)k * QM_TILE;
    const int16x8_t xa = vld1q_s16(xr), xb = vld1q_s16(xr + 8);
    const int16x4_t x0 = vget_low_s16(xa), x1 = vget_high_s16(xa), x2 = vget_low_s16(xb), x3 = vget_high_s16(xb);
    const int16x4_t wv = vld1_s16(w + (size_t)k * QM_OC_BLOCK);
    QM_NEON_LANE(0);
    QM_NEON_LANE(1);
    QM_NEON_LANE(2);
    QM_NEON_LANE(3);
  }
  QM_NEON_STORE(0);
  QM_NEON_STORE(1);
  QM_NEON_STORE(2);
  QM_NEON_STORE(3);
#undef QM_NEON_LANE
#undef QM_NEON_STORE
#endif
}

/* sum over i < n of xs[i] * (w[i] - zw): xs already x - zx as int16. */
static inline int32_t qm_dot(const int16_t *restrict xs, const int8_t *restrict w, int32_t zw, int32_t n) {
  int32_t i = 0, sum;
#if defined(QM_SIMD_AVX2)
  const __m256i z = _mm256_set1_epi16((int16_t)zw);
  __m256i a = _mm256_setzero_si256();
  for (; i + 16 <= n; i += 16) {
    const __m256i wv = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i))), z);
    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(xs + i)), wv));
  }
  {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    sum = _mm_cvtsi128_si32(s);
  }
#elif defined(QM_SIMD_SSE41)
  const __m128i z = _mm_set1_epi16((int16_t)zw);
  __m128i a = _mm_setzero_si128();
  for (; i + 8 <= n; i += 8) {
    __m128i wb;
    int64_t w8;
    memcpy(&w8, w + i, sizeof w8);
    wb = _mm_sub_epi16(_mm_cvtepi8_epi16(_mm_cvtsi64_si128(w8)), z);
    a = _mm_add_epi32(a, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(xs + i)), wb));
  }
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
  sum = _mm_cvtsi128_si32(a);
#else /* QM_SIMD_NEON */
  const int16x8_t z = vdupq_n_s16((int16_t)zw);
  int32x4_t a = vdupq_n_s32(0);
  for (; i + 8 <= n; i += 8) {
    const int16x8_t wv = vsubq_s16(vmovl_s8(vld1_s8(w + i)), z), xv = vld1q_s16(xs + i);
    a = vmlal_s16(a, vget_low_s16(xv), vget_low_s16(wv));
    a = vmlal_s16(a, vget_high_s16(xv), vget_high_s16(wv));
  }
  {
    const int32x2_t s = vadd_s32(vget_low_s32(a), vget_high_s32(a));
    sum = vget_lane_s32(vpadd_s32(s, s), 0);
  }
#endif
  for (; i < n; i++) sum += (int32_t)xs[i] * ((int32_t)w[i] - zw);
  return sum;
}

#endif /* QM_SIMD */
#endif
