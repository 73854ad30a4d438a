/* Numpy broadcasting of two inputs to the output shape (core/sim/ops/_broadcast.ts). */
#ifndef QM_BROADCAST_H
#define QM_BROADCAST_H

#include "../qm_internal.h"

typedef struct {
  uint32_t rank;
  int64_t sa[QM_MAX_RANK], sb[QM_MAX_RANK];
  int32_t index[QM_MAX_RANK];
  int64_t ia, ib;
} qm_broadcast;

static inline void qm_broadcast_strides(const qm_tensor *t, const qm_tensor *y, int64_t *out) {
  int64_t s = 1;
  int32_t axis;
  for (axis = (int32_t)y->rank - 1; axis >= 0; axis--) {
    int32_t i = axis - (int32_t)(y->rank - t->rank);
    if (i < 0 || t->shape[i] == 1) {
      out[axis] = 0;
    } else {
      out[axis] = s;
    }
    if (i >= 0) s *= t->shape[i];
  }
}

static inline void qm_broadcast_init(qm_broadcast *it, const qm_op *op) {
  uint32_t a;
  it->rank = op->out.rank;
  qm_broadcast_strides(&op->in[0], &op->out, it->sa);
  qm_broadcast_strides(&op->in[1], &op->out, it->sb);
  for (a = 0; a < QM_MAX_RANK; a++) it->index[a] = 0;
  it->ia = it->ib = 0;
}

static inline void qm_broadcast_next(qm_broadcast *it, const qm_tensor *y) {
  int32_t axis;
  for (axis = (int32_t)it->rank - 1; axis >= 0; axis--) {
    it->index[axis]++;
    it->ia += it->sa[axis];
    it->ib += it->sb[axis];
    if (it->index[axis] < y->shape[axis]) return;
    it->ia -= it->sa[axis] * y->shape[axis];
    it->ib -= it->sb[axis] * y->shape[axis];
    it->index[axis] = 0;
  }
}

#endif
