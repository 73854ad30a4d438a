/* What the loader decodes for each op and hands its kernel (runtime/src/ops/, one op per file). */
#ifndef QM_INTERNAL_H
#define QM_INTERNAL_H

#include "qm.h"
#include "qm_fixed.h"
#include "qm_schema.h"

/* A tensor ready for a kernel: shape, zero points, and where its bytes are. */
typedef struct {
  uint8_t dtype;
  uint8_t constant;
  uint32_t rank;
  int32_t shape[QM_MAX_RANK];
  uint32_t count;
  uint32_t offset;
  int32_t zp;           /* first zero point, 0 when none */
  fb_vec zero_points;   /* all of them (per-channel weights) */
  const uint8_t *cdata; /* constants: bytes in the weights blob */
  uint8_t *data;        /* activations: bytes in the arena (set at run time) */
} qm_tensor;

typedef struct {
  uint8_t kind; /* QM_OP_OPTIONS_* */
  uint32_t n_in;
  qm_tensor in[QM_MAX_OP_INPUTS];
  qm_tensor out;
  fb_table options;
  /* Decoded options (those the kind has). */
  int32_t kernel[2], strides[2], dilations[2], pads[4], group;
  int32_t act_min, act_max;
  fb_vec multiplier, shift, vec_a, vec_b; /* vec_a/b: perm, pads, y/x index, Lut values, exp table */
  int32_t multiplier_a, multiplier_b, shift1, axis, value, count_include_pad;
} qm_op;

/* Element i of an int8 or uint8 tensor. */
static inline int32_t qm_get(const qm_tensor *t, const uint8_t *base, uint32_t i) {
  return t->dtype == QM_DTYPE_INT8 ? (int32_t)(int8_t)base[i] : (int32_t)base[i];
}

static inline const uint8_t *qm_bytes(const qm_tensor *t) { return t->constant ? t->cdata : t->data; }

/* Stores v (already in the tensor's range) as int8/uint8. */
static inline void qm_put(uint8_t *base, uint32_t i, int32_t v) { base[i] = (uint8_t)(v & 0xff); }

void qm_op_conv(const qm_op *op);
void qm_op_fully_connected(const qm_op *op);
void qm_op_add(const qm_op *op);
void qm_op_mul(const qm_op *op);
void qm_op_max_pool(const qm_op *op);
void qm_op_average_pool(const qm_op *op);
void qm_op_global_average_pool(const qm_op *op);
void qm_op_lut(const qm_op *op);
void qm_op_reshape(const qm_op *op);
void qm_op_concat(const qm_op *op);
void qm_op_transpose(const qm_op *op);
void qm_op_pad(const qm_op *op);
void qm_op_resize(const qm_op *op);
void qm_op_softmax(const qm_op *op);

#endif
