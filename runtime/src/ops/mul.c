/* Broadcasting Mul; semantics: core/sim/ops/mul.ts. */
#include "broadcast.h"

void qm_op_mul(const qm_op *op) {
  const qm_tensor *a = &op->in[0], *b = &op->in[1], *y = &op->out;
  const uint8_t *ad = qm_bytes(a), *bd = qm_bytes(b);
  qm_broadcast it;
  uint32_t o;
  qm_broadcast_init(&it, op);
  for (o = 0; o < y->count; o++) {
    int32_t acc = (qm_get(a, ad, (uint32_t)it.ia) - a->zp) * (qm_get(b, bd, (uint32_t)it.ib) - b->zp);
    qm_put(y->data, o, qm_clamp(y->zp + qm_requantize(acc, op->multiplier_a, op->shift1), op->act_min, op->act_max));
    qm_broadcast_next(&it, y);
  }
}
