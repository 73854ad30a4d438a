/* Broadcasting Add; semantics: core/sim/ops/add.ts. */
#include "broadcast.h"
#include "simd.h"

static inline int32_t add_one(const qm_op *op, const uint8_t *ad, uint32_t ia, const uint8_t *bd, uint32_t ib) {
  const qm_tensor *a = &op->in[0], *b = &op->in[1];
  const int64_t acc = (int64_t)(qm_get(a, ad, ia) - a->zp) * op->multiplier_a +
                      (int64_t)(qm_get(b, bd, ib) - b->zp) * op->multiplier_b;
  return qm_clamp(op->out.zp + qm_rounding_shift(acc, op->shift1), op->act_min, op->act_max);
}

void qm_op_add(const qm_op *op) {
  const qm_tensor *a = &op->in[0], *b = &op->in[1], *y = &op->out;
  const uint8_t *ad = qm_bytes(a), *bd = qm_bytes(b);
  qm_broadcast it;
  uint32_t o = 0;
  if (a->count == y->count && b->count == y->count) { /* no broadcast: one element order for all three */
#if QM_SIMD_ADD
    o = qm_add_same_shape(y->data, ad, a->dtype == QM_DTYPE_INT8, a->zp, op->multiplier_a, bd,
                          b->dtype == QM_DTYPE_INT8, b->zp, op->multiplier_b, op->shift1, y->zp, op->act_min,
                          op->act_max, y->dtype == QM_DTYPE_INT8, y->count);
#endif
    for (; o < y->count; o++) qm_put(y->data, o, add_one(op, ad, o, bd, o));
    return;
  }
  qm_broadcast_init(&it, op);
  for (; o < y->count; o++) {
    qm_put(y->data, o, add_one(op, ad, (uint32_t)it.ia, bd, (uint32_t)it.ib));
    qm_broadcast_next(&it, y);
  }
}
