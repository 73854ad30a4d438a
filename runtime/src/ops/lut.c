/* Lut; semantics: core/sim/ops/lut.ts. */
#include "../qm_internal.h"

void qm_op_lut(const qm_op *op) {
  const qm_tensor *x = &op->in[0];
  const uint8_t *xd = qm_bytes(x);
  const uint8_t *values = op->vec_a.buf->data + op->vec_a.pos;
  const int32_t offset = x->dtype == QM_DTYPE_INT8 ? -128 : 0;
  uint32_t i;
  for (i = 0; i < op->out.count; i++) op->out.data[i] = values[qm_get(x, xd, i) - offset];
}
