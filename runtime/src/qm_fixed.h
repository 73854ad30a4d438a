/* The integer arithmetic every op shares; core/sim/fixed_point.ts defines it. Rounding: half away from zero. */
#ifndef QM_FIXED_H
#define QM_FIXED_H

#include <stdint.h>

/* round_half_away(acc * multiplier / 2^shift); multiplier in [0, 2^31), shift in [17, 62]. */
static inline int64_t qm_requantize(int32_t acc, int32_t multiplier, int shift) {
  int64_t p = (int64_t)acc * multiplier;
  int64_t half = (int64_t)1 << (shift - 1);
  return p >= 0 ? (p + half) >> shift : -((-p + half) >> shift);
}

/* round_half_away(value / 2^shift); |value| < 2^52, shift in [1, 62]. */
static inline int64_t qm_rounding_shift(int64_t value, int shift) {
  int64_t half;
  if (shift >= 53) return 0;
  half = (int64_t)1 << (shift - 1);
  return value >= 0 ? (value + half) >> shift : -((-value + half) >> shift);
}

static inline int32_t qm_saturate_i32(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

static inline int32_t qm_clamp(int64_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : x > hi ? hi : (int32_t)x;
}

#endif
