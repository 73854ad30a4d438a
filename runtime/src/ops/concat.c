/* Concat; core/sim/ops/concat.ts. */
#include <string.h>

#include "../qm_internal.h"

void qm_op_concat(const qm_op *op) {
  const qm_tensor *y = &op->out;
  size_t outer = 1, inner = 1, out_row, start = 0, o;
  uint32_t a, k;
  for (a = 0; a < (uint32_t)op->axis; a++) outer *= (size_t)y->shape[a];
  for (a = (uint32_t)op->axis + 1; a < y->rank; a++) inner *= (size_t)y->shape[a];
  out_row = (size_t)y->shape[op->axis] * inner;
  for (k = 0; k < op->n_in; k++) {
    const uint8_t *xd = qm_bytes(&op->in[k]);
    const size_t row = (size_t)op->in[k].shape[op->axis] * inner;
    for (o = 0; o < outer; o++) memmove(y->data + o * out_row + start, xd + o * row, row);
    start += row;
  }
}
