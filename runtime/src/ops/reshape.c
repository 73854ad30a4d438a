/* Reshape: the same bytes; core/sim/ops/reshape.ts. */
#include <string.h>

#include "../qm_internal.h"

void qm_op_reshape(const qm_op *op) {
  const uint8_t *xd = qm_bytes(&op->in[0]);
  if (xd != op->out.data) memmove(op->out.data, xd, op->out.count);
}
