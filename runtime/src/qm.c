/* Loader, validator and interpreter loop. Everything a kernel relies on (indices, shapes, vector
 * lengths, parameter ranges, bytes inside the blob or the arena) is checked here, when the model is
 * loaded, so kernels index without checks and a corrupted artifact is refused, never run. */
#include <string.h>

#include "ops/simd.h"
#include "qm_internal.h"
#include "sha256.h"

#define CHECK(cond)                          \
  do {                                       \
    if (!(cond)) return QM_ERR_MALFORMED;    \
  } while (0)
#define TRY(expr)                            \
  do {                                       \
    qm_status s_ = (expr);                   \
    if (s_ != QM_OK) return s_;              \
  } while (0)
#define FB(expr) CHECK((expr) == 0)

static uint32_t dtype_bytes(uint8_t dtype) {
  switch (dtype) {
    case QM_DTYPE_INT8:
    case QM_DTYPE_UINT8:
      return 1;
    case QM_DTYPE_INT16:
      return 2;
    case QM_DTYPE_INT32:
    case QM_DTYPE_FLOAT32:
      return 4;
    default:
      return 0;
  }
}

static int is_act_type(uint8_t dtype) { return dtype == QM_DTYPE_INT8 || dtype == QM_DTYPE_UINT8; }
static int32_t type_min(uint8_t dtype) { return dtype == QM_DTYPE_INT8 ? -128 : 0; }
static int32_t type_max(uint8_t dtype) { return dtype == QM_DTYPE_INT8 ? 127 : 255; }

static qm_status decode_tensor(const qm_model *m, int32_t index, qm_tensor *t, qm_tensor_info *info) {
  fb_table tt, quant;
  fb_vec shape, scale;
  int err = 0;
  uint32_t i, bytes, size;
  uint64_t count = 1;
  CHECK(index >= 0 && (uint32_t)index < m->tensors.len);
  FB(fb_vec_table(&m->tensors, (uint32_t)index, &tt));
  memset(t, 0, sizeof *t);
  t->dtype = (uint8_t)fb_field_i8(&tt, QM_TENSOR_DTYPE, 0, &err);
  bytes = dtype_bytes(t->dtype);
  if (bytes == 0) return QM_ERR_UNSUPPORTED;
  FB(fb_field_vec(&tt, QM_TENSOR_SHAPE, 4, &shape));
  CHECK(shape.len <= QM_MAX_RANK);
  t->rank = shape.len;
  for (i = 0; i < shape.len; i++) {
    t->shape[i] = fb_vec_i32(&shape, i);
    CHECK(t->shape[i] >= 1);
    count *= (uint64_t)t->shape[i];
    CHECK(count <= 0x7fffffffu);
  }
  t->count = (uint32_t)count;
  FB(fb_field_table(&tt, QM_TENSOR_QUANT, &quant));
  FB(fb_field_vec(&quant, QM_QUANTIZATION_ZERO_POINT, 4, &t->zero_points));
  FB(fb_field_vec(&quant, QM_QUANTIZATION_SCALE, 4, &scale));
  t->zp = t->zero_points.len > 0 ? fb_vec_i32(&t->zero_points, 0) : 0;
  if (t->dtype != QM_DTYPE_INT32 && t->dtype != QM_DTYPE_FLOAT32) {
    int32_t lo = t->dtype == QM_DTYPE_INT16 ? -32768 : type_min(t->dtype);
    int32_t hi = t->dtype == QM_DTYPE_INT16 ? 32767 : type_max(t->dtype);
    for (i = 0; i < t->zero_points.len; i++) {
      int32_t z = fb_vec_i32(&t->zero_points, i);
      CHECK(z >= lo && z <= hi);
    }
  }
  t->constant = fb_field_u8(&tt, QM_TENSOR_CONSTANT, 0, &err) != 0;
  t->offset = fb_field_u32(&tt, QM_TENSOR_OFFSET, 0, &err);
  size = fb_field_u32(&tt, QM_TENSOR_SIZE, 0, &err);
  CHECK(err == 0);
  CHECK((uint64_t)t->count * bytes == size);
  if (t->constant) {
    CHECK((uint64_t)t->offset + size <= m->weights.len);
    t->cdata = m->buf.data + m->weights.pos + t->offset;
  } else {
    CHECK((uint64_t)t->offset + size <= m->arena_size);
  }
  if (info) {
    fb_vec name;
    FB(fb_field_vec(&tt, QM_TENSOR_NAME, 1, &name));
    info->name = (const char *)(m->buf.data + name.pos);
    info->name_len = name.len;
    info->dtype = t->dtype;
    info->rank = t->rank;
    memcpy(info->shape, t->shape, sizeof t->shape);
    info->size = size;
    info->offset = t->offset;
    info->scale = scale.len > 0 ? fb_vec_f32(&scale, 0) : 1.0f;
    info->zero_point = t->zp;
  }
  return QM_OK;
}

static qm_status decode_activation(const qm_model *m, int32_t index, qm_tensor *t) {
  TRY(decode_tensor(m, index, t, NULL));
  if (!is_act_type(t->dtype)) return QM_ERR_UNSUPPORTED;
  return QM_OK;
}

/* An int32 vector option of exactly `len` entries. */
static qm_status int_vec(const fb_table *o, unsigned id, uint32_t len, fb_vec *v, int32_t *out, int32_t min) {
  uint32_t i;
  FB(fb_field_vec(o, id, 4, v));
  CHECK(v->len == len);
  for (i = 0; out && i < len; i++) {
    out[i] = fb_vec_i32(v, i);
    CHECK(out[i] >= min);
  }
  return QM_OK;
}

/* Per-channel requantizers: multiplier >= 0, shift in [17, 62]. */
static qm_status requantizers(qm_op *op, unsigned mid, unsigned sid, uint32_t channels) {
  uint32_t i;
  FB(fb_field_vec(&op->options, mid, 4, &op->multiplier));
  FB(fb_field_vec(&op->options, sid, 1, &op->shift));
  CHECK(op->multiplier.len == channels && op->shift.len == channels);
  for (i = 0; i < channels; i++) {
    CHECK(fb_vec_i32(&op->multiplier, i) >= 0);
    CHECK(fb_vec_u8(&op->shift, i) >= 17 && fb_vec_u8(&op->shift, i) <= 62);
  }
  return QM_OK;
}

static qm_status act_range(qm_op *op, unsigned min_id, unsigned max_id) {
  int err = 0;
  op->act_min = fb_field_i32(&op->options, min_id, 0, &err);
  op->act_max = fb_field_i32(&op->options, max_id, 0, &err);
  CHECK(err == 0);
  CHECK(op->act_min <= op->act_max && op->act_min >= type_min(op->out.dtype) && op->act_max <= type_max(op->out.dtype));
  return QM_OK;
}

static qm_status window(qm_op *op, unsigned k, unsigned s, int dil, unsigned d, unsigned p) {
  fb_vec v;
  TRY(int_vec(&op->options, k, 2, &v, op->kernel, 1));
  TRY(int_vec(&op->options, s, 2, &v, op->strides, 1));
  if (dil) {
    TRY(int_vec(&op->options, d, 2, &v, op->dilations, 1));
  } else {
    op->dilations[0] = op->dilations[1] = 1;
  }
  TRY(int_vec(&op->options, p, 4, &v, op->pads, 0));
  CHECK(op->in[0].rank == 4 && op->out.rank == 4);
  CHECK(op->kernel[0] <= 65536 && op->kernel[1] <= 65536 && op->pads[0] <= 65536 && op->pads[1] <= 65536);
  CHECK(op->out.shape[0] == op->in[0].shape[0]);
  return QM_OK;
}

static int same_quant(const qm_tensor *a, const qm_tensor *b) { return a->dtype == b->dtype && a->zp == b->zp; }

static qm_status validate_broadcast(const qm_op *op) {
  const qm_tensor *a = &op->in[0], *b = &op->in[1], *y = &op->out;
  uint32_t i;
  CHECK(op->n_in == 2 && is_act_type(a->dtype) && is_act_type(b->dtype));
  CHECK(y->rank == (a->rank > b->rank ? a->rank : b->rank));
  for (i = 0; i < y->rank; i++) {
    int32_t da = i + a->rank >= y->rank ? a->shape[i + a->rank - y->rank] : 1;
    int32_t db = i + b->rank >= y->rank ? b->shape[i + b->rank - y->rank] : 1;
    CHECK(da == db || da == 1 || db == 1);
    CHECK(y->shape[i] == (da > db ? da : db));
  }
  return QM_OK;
}

static qm_status decode_op(const qm_model *m, uint32_t index, qm_op *op) {
  fb_table ot;
  fb_vec inputs, outputs;
  uint32_t i;
  int err = 0;
  FB(fb_vec_table(&m->ops, index, &ot));
  memset(op, 0, sizeof *op);
  op->kind = fb_field_u8(&ot, QM_OP_OPTIONS_TYPE, 0, &err);
  CHECK(err == 0);
  if (op->kind == 0 || op->kind >= QM_OP_OPTIONS_COUNT) return QM_ERR_UNSUPPORTED;
  FB(fb_field_table(&ot, QM_OP_OPTIONS, &op->options));
  CHECK(op->options.pos != 0);
  FB(fb_field_vec(&ot, QM_OP_INPUTS, 4, &inputs));
  FB(fb_field_vec(&ot, QM_OP_OUTPUTS, 4, &outputs));
  CHECK(inputs.len >= 1 && outputs.len == 1);
  if (inputs.len > QM_MAX_OP_INPUTS) return QM_ERR_UNSUPPORTED;
  op->n_in = inputs.len;
  for (i = 0; i < inputs.len; i++) TRY(decode_tensor(m, fb_vec_i32(&inputs, i), &op->in[i], NULL));
  TRY(decode_activation(m, fb_vec_i32(&outputs, 0), &op->out));
  CHECK(!op->out.constant);
  /* The memory plan never lets an op's output share bytes with its inputs; kernels rely on it (Softmax indexes
   * its table with values it reads after writing others). */
  for (i = 0; i < op->n_in; i++) {
    const qm_tensor *t = &op->in[i];
    const uint64_t in_end = (uint64_t)t->offset + (uint64_t)t->count * dtype_bytes(t->dtype);
    const uint64_t out_end = (uint64_t)op->out.offset + (uint64_t)op->out.count * dtype_bytes(op->out.dtype);
    CHECK(t->constant || in_end <= op->out.offset || out_end <= t->offset);
  }
  switch (op->kind) {
    case QM_OP_OPTIONS_CONV_OPTIONS: {
      const qm_tensor *x = &op->in[0], *w = &op->in[1];
      int32_t oc, cg;
      CHECK(op->n_in == 2 || op->n_in == 3);
      CHECK(is_act_type(x->dtype) && w->dtype == QM_DTYPE_INT8 && w->constant && w->rank == 4);
      TRY(window(op, QM_CONV_OPTIONS_KERNEL, QM_CONV_OPTIONS_STRIDES, 1, QM_CONV_OPTIONS_DILATIONS,
                 QM_CONV_OPTIONS_PADS));
      op->group = fb_field_i32(&op->options, QM_CONV_OPTIONS_GROUP, QM_CONV_OPTIONS_GROUP_DEFAULT, &err);
      CHECK(err == 0 && op->group >= 1);
      oc = w->shape[0], cg = w->shape[1];
      CHECK(op->out.shape[1] == oc && oc % op->group == 0 && (int64_t)cg * op->group == x->shape[1]);
      CHECK(w->shape[2] == op->kernel[0] && w->shape[3] == op->kernel[1]);
      CHECK((int64_t)cg * op->kernel[0] * op->kernel[1] <= 32767);
      CHECK(op->dilations[0] <= 65536 && op->dilations[1] <= 65536);
      CHECK(w->zero_points.len <= 1 || w->zero_points.len == (uint32_t)oc);
      if (op->n_in == 3) CHECK(op->in[2].dtype == QM_DTYPE_INT32 && op->in[2].constant && op->in[2].count == (uint32_t)oc);
      TRY(requantizers(op, QM_CONV_OPTIONS_MULTIPLIER, QM_CONV_OPTIONS_SHIFT, (uint32_t)oc));
      return act_range(op, QM_CONV_OPTIONS_ACT_MIN, QM_CONV_OPTIONS_ACT_MAX);
    }
    case QM_OP_OPTIONS_FULLY_CONNECTED_OPTIONS: {
      const qm_tensor *x = &op->in[0], *w = &op->in[1];
      CHECK(op->n_in == 2 || op->n_in == 3);
      CHECK(is_act_type(x->dtype) && x->rank == 2 && w->dtype == QM_DTYPE_INT8 && w->constant && w->rank == 2);
      CHECK(w->shape[1] == x->shape[1] && x->shape[1] <= 32767);
      CHECK(op->out.rank == 2 && op->out.shape[0] == x->shape[0] && op->out.shape[1] == w->shape[0]);
      CHECK(w->zero_points.len <= 1 || w->zero_points.len == (uint32_t)w->shape[0]);
      if (op->n_in == 3) {
        CHECK(op->in[2].dtype == QM_DTYPE_INT32 && op->in[2].constant && op->in[2].count == (uint32_t)w->shape[0]);
      }
      TRY(requantizers(op, QM_FULLY_CONNECTED_OPTIONS_MULTIPLIER, QM_FULLY_CONNECTED_OPTIONS_SHIFT,
                       (uint32_t)w->shape[0]));
      return act_range(op, QM_FULLY_CONNECTED_OPTIONS_ACT_MIN, QM_FULLY_CONNECTED_OPTIONS_ACT_MAX);
    }
    case QM_OP_OPTIONS_ADD_OPTIONS:
      TRY(validate_broadcast(op));
      op->multiplier_a = fb_field_i32(&op->options, QM_ADD_OPTIONS_MULTIPLIER_A, 0, &err);
      op->multiplier_b = fb_field_i32(&op->options, QM_ADD_OPTIONS_MULTIPLIER_B, 0, &err);
      op->shift1 = fb_field_u8(&op->options, QM_ADD_OPTIONS_SHIFT, 0, &err);
      CHECK(err == 0 && op->multiplier_a >= 0 && op->multiplier_b >= 0 && op->shift1 >= 1 && op->shift1 <= 62);
      return act_range(op, QM_ADD_OPTIONS_ACT_MIN, QM_ADD_OPTIONS_ACT_MAX);
    case QM_OP_OPTIONS_MUL_OPTIONS:
      TRY(validate_broadcast(op));
      op->multiplier_a = fb_field_i32(&op->options, QM_MUL_OPTIONS_MULTIPLIER, 0, &err);
      op->shift1 = fb_field_u8(&op->options, QM_MUL_OPTIONS_SHIFT, 0, &err);
      CHECK(err == 0 && op->multiplier_a >= 0 && op->shift1 >= 17 && op->shift1 <= 62);
      return act_range(op, QM_MUL_OPTIONS_ACT_MIN, QM_MUL_OPTIONS_ACT_MAX);
    case QM_OP_OPTIONS_MAX_POOL_OPTIONS:
      CHECK(op->n_in == 1 && !op->in[0].constant && same_quant(&op->in[0], &op->out));
      TRY(window(op, QM_MAX_POOL_OPTIONS_KERNEL, QM_MAX_POOL_OPTIONS_STRIDES, 1, QM_MAX_POOL_OPTIONS_DILATIONS,
                 QM_MAX_POOL_OPTIONS_PADS));
      CHECK(op->out.shape[1] == op->in[0].shape[1] && op->dilations[0] <= 65536 && op->dilations[1] <= 65536);
      return QM_OK;
    case QM_OP_OPTIONS_AVERAGE_POOL_OPTIONS:
      CHECK(op->n_in == 1 && !op->in[0].constant && is_act_type(op->in[0].dtype));
      TRY(window(op, QM_AVERAGE_POOL_OPTIONS_KERNEL, QM_AVERAGE_POOL_OPTIONS_STRIDES, 0, 0,
                 QM_AVERAGE_POOL_OPTIONS_PADS));
      CHECK(op->out.shape[1] == op->in[0].shape[1]);
      CHECK((int64_t)op->kernel[0] * op->kernel[1] <= 8388607);
      op->count_include_pad = fb_field_u8(&op->options, QM_AVERAGE_POOL_OPTIONS_COUNT_INCLUDE_PAD, 0, &err) != 0;
      CHECK(err == 0);
      return requantizers(op, QM_AVERAGE_POOL_OPTIONS_MULTIPLIER, QM_AVERAGE_POOL_OPTIONS_SHIFT,
                          (uint32_t)(op->kernel[0] * op->kernel[1]));
    case QM_OP_OPTIONS_GLOBAL_AVERAGE_POOL_OPTIONS: {
      const qm_tensor *x = &op->in[0];
      CHECK(op->n_in == 1 && !x->constant && is_act_type(x->dtype) && x->rank == 4 && op->out.rank == 4);
      CHECK(op->out.shape[0] == x->shape[0] && op->out.shape[1] == x->shape[1]);
      CHECK(op->out.shape[2] == 1 && op->out.shape[3] == 1 && (int64_t)x->shape[2] * x->shape[3] <= 8388607);
      op->multiplier_a = fb_field_i32(&op->options, QM_GLOBAL_AVERAGE_POOL_OPTIONS_MULTIPLIER, 0, &err);
      op->shift1 = fb_field_u8(&op->options, QM_GLOBAL_AVERAGE_POOL_OPTIONS_SHIFT, 0, &err);
      CHECK(err == 0 && op->multiplier_a >= 0 && op->shift1 >= 17 && op->shift1 <= 62);
      return QM_OK;
    }
    case QM_OP_OPTIONS_LUT_OPTIONS:
      CHECK(op->n_in == 1 && is_act_type(op->in[0].dtype) && op->in[0].count == op->out.count);
      FB(fb_field_vec(&op->options, QM_LUT_OPTIONS_VALUES, 1, &op->vec_a));
      CHECK(op->vec_a.len == 256);
      return QM_OK;
    case QM_OP_OPTIONS_RESHAPE_OPTIONS:
      CHECK(op->n_in == 1 && op->in[0].dtype == op->out.dtype && op->in[0].count == op->out.count);
      return QM_OK;
    case QM_OP_OPTIONS_CONCAT_OPTIONS: {
      int64_t total = 0;
      op->axis = fb_field_i32(&op->options, QM_CONCAT_OPTIONS_AXIS, 0, &err);
      CHECK(err == 0 && op->axis >= 0 && (uint32_t)op->axis < op->out.rank);
      for (i = 0; i < op->n_in; i++) {
        uint32_t a;
        CHECK(op->in[i].dtype == op->out.dtype && op->in[i].rank == op->out.rank);
        for (a = 0; a < op->out.rank; a++) CHECK(a == (uint32_t)op->axis || op->in[i].shape[a] == op->out.shape[a]);
        total += op->in[i].shape[op->axis];
      }
      CHECK(total == op->out.shape[op->axis]);
      return QM_OK;
    }
    case QM_OP_OPTIONS_TRANSPOSE_OPTIONS: {
      uint32_t seen = 0;
      CHECK(op->n_in == 1 && op->in[0].dtype == op->out.dtype && op->in[0].rank == op->out.rank);
      FB(fb_field_vec(&op->options, QM_TRANSPOSE_OPTIONS_PERM, 4, &op->vec_a));
      CHECK(op->vec_a.len == op->out.rank);
      for (i = 0; i < op->vec_a.len; i++) {
        int32_t p = fb_vec_i32(&op->vec_a, i);
        CHECK(p >= 0 && (uint32_t)p < op->out.rank && !(seen & (1u << p)));
        seen |= 1u << p;
        CHECK(op->out.shape[i] == op->in[0].shape[p]);
      }
      return QM_OK;
    }
    case QM_OP_OPTIONS_PAD_OPTIONS: {
      uint32_t r = op->out.rank;
      CHECK(op->n_in == 1 && op->in[0].dtype == op->out.dtype && op->in[0].rank == r);
      FB(fb_field_vec(&op->options, QM_PAD_OPTIONS_PADS, 4, &op->vec_a));
      CHECK(op->vec_a.len == 2 * r);
      for (i = 0; i < r; i++) {
        int32_t b = fb_vec_i32(&op->vec_a, i), e = fb_vec_i32(&op->vec_a, i + r);
        CHECK(b >= 0 && e >= 0 && (int64_t)op->in[0].shape[i] + b + e == op->out.shape[i]);
      }
      op->value = fb_field_i32(&op->options, QM_PAD_OPTIONS_VALUE, 0, &err);
      CHECK(err == 0 && op->value >= type_min(op->out.dtype) && op->value <= type_max(op->out.dtype));
      return QM_OK;
    }
    case QM_OP_OPTIONS_RESIZE_OPTIONS: {
      const qm_tensor *x = &op->in[0];
      uint32_t r = x->rank;
      CHECK(op->n_in == 1 && x->dtype == op->out.dtype && r >= 2 && op->out.rank == r);
      for (i = 0; i + 2 < r; i++) CHECK(x->shape[i] == op->out.shape[i]);
      FB(fb_field_vec(&op->options, QM_RESIZE_OPTIONS_Y_INDEX, 4, &op->vec_a));
      FB(fb_field_vec(&op->options, QM_RESIZE_OPTIONS_X_INDEX, 4, &op->vec_b));
      CHECK(op->vec_a.len == (uint32_t)op->out.shape[r - 2] && op->vec_b.len == (uint32_t)op->out.shape[r - 1]);
      for (i = 0; i < op->vec_a.len; i++) CHECK(fb_vec_i32(&op->vec_a, i) >= 0 && fb_vec_i32(&op->vec_a, i) < x->shape[r - 2]);
      for (i = 0; i < op->vec_b.len; i++) CHECK(fb_vec_i32(&op->vec_b, i) >= 0 && fb_vec_i32(&op->vec_b, i) < x->shape[r - 1]);
      return QM_OK;
    }
    case QM_OP_OPTIONS_SOFTMAX_OPTIONS: {
      const qm_tensor *x = &op->in[0];
      int32_t largest = 0;
      CHECK(op->n_in == 1 && is_act_type(x->dtype) && x->rank >= 1 && op->out.rank == x->rank);
      for (i = 0; i < x->rank; i++) CHECK(op->out.shape[i] == x->shape[i]);
      FB(fb_field_vec(&op->options, QM_SOFTMAX_OPTIONS_EXP_TABLE, 4, &op->vec_a));
      CHECK(op->vec_a.len == 256 && fb_vec_i32(&op->vec_a, 0) >= 1);
      for (i = 0; i < 256; i++) {
        int32_t e = fb_vec_i32(&op->vec_a, i);
        CHECK(e >= 0 && e <= (1 << 30));
        if (e > largest) largest = e;
      }
      /* sum <= row * largest <= 2^30 */
      CHECK((uint64_t)(uint32_t)x->shape[x->rank - 1] * (uint32_t)largest <= (1u << 30));
      op->multiplier_a = fb_field_i32(&op->options, QM_SOFTMAX_OPTIONS_MULTIPLIER, 0, &err);
      op->shift1 = fb_field_u8(&op->options, QM_SOFTMAX_OPTIONS_SHIFT, 0, &err);
      CHECK(err == 0 && op->multiplier_a >= 0 && op->shift1 >= 17 && op->shift1 <= 62);
      return QM_OK;
    }
    default:
      return QM_ERR_UNSUPPORTED;
  }
}

qm_status qm_load(qm_model *m, const uint8_t *data, size_t size) {
  uint8_t digest[32];
  fb_vec sha;
  uint32_t version, i;
  int err = 0;
  memset(m, 0, sizeof *m);
  if (data == NULL || size < 8) return QM_ERR_TRUNCATED;
  if (size > 0x7fffffffu) return QM_ERR_ARGUMENT;
  if (memcmp(data + 4, QM_FILE_IDENTIFIER, 4) != 0) return QM_ERR_IDENTIFIER;
  m->buf.data = data;
  m->buf.size = (uint32_t)size;
  if (fb_u32_at(data) >= size) return QM_ERR_TRUNCATED;
  if (fb_root(&m->buf, QM_FILE_IDENTIFIER, &m->root) != 0) return QM_ERR_MALFORMED;
  version = fb_field_u32(&m->root, QM_MODEL_VERSION, 0, &err);
  if (err != 0) return QM_ERR_MALFORMED;
  if (version != QM_FORMAT_VERSION) return QM_ERR_VERSION;
  if (fb_field_vec(&m->root, QM_MODEL_WEIGHTS, 1, &m->weights) != 0) return QM_ERR_TRUNCATED;
  if (fb_field_vec(&m->root, QM_MODEL_WEIGHTS_SHA256, 1, &sha) != 0 || sha.len != 32) return QM_ERR_MALFORMED;
  qm_sha256(data + m->weights.pos, m->weights.len, digest);
  if (memcmp(digest, data + sha.pos, 32) != 0) return QM_ERR_CHECKSUM;
  m->arena_size = fb_field_u32(&m->root, QM_MODEL_ARENA_SIZE, 0, &err);
  if (err != 0 || fb_field_vec(&m->root, QM_MODEL_TENSORS, 4, &m->tensors) != 0 ||
      fb_field_vec(&m->root, QM_MODEL_OPS, 4, &m->ops) != 0 ||
      fb_field_vec(&m->root, QM_MODEL_INPUTS, 4, &m->inputs) != 0 ||
      fb_field_vec(&m->root, QM_MODEL_OUTPUTS, 4, &m->outputs) != 0) {
    return QM_ERR_MALFORMED;
  }
  for (i = 0; i < m->inputs.len + m->outputs.len; i++) {
    qm_tensor t;
    int32_t index = i < m->inputs.len ? fb_vec_i32(&m->inputs, i) : fb_vec_i32(&m->outputs, i - m->inputs.len);
    qm_status s = decode_activation(m, index, &t);
    if (s != QM_OK) return s;
    if (t.constant) return QM_ERR_MALFORMED;
  }
  for (i = 0; i < m->ops.len; i++) {
    qm_op op;
    qm_status s = decode_op(m, i, &op);
    if (s != QM_OK) return s;
  }
  return QM_OK;
}

uint32_t qm_arena_size(const qm_model *m) { return m->arena_size; }
uint32_t qm_input_count(const qm_model *m) { return m->inputs.len; }
uint32_t qm_output_count(const qm_model *m) { return m->outputs.len; }
uint32_t qm_op_count(const qm_model *m) { return m->ops.len; }

qm_status qm_input_info(const qm_model *m, uint32_t index, qm_tensor_info *info) {
  qm_tensor t;
  if (index >= m->inputs.len) return QM_ERR_ARGUMENT;
  return decode_tensor(m, fb_vec_i32(&m->inputs, index), &t, info);
}

qm_status qm_output_info(const qm_model *m, uint32_t index, qm_tensor_info *info) {
  qm_tensor t;
  if (index >= m->outputs.len) return QM_ERR_ARGUMENT;
  return decode_tensor(m, fb_vec_i32(&m->outputs, index), &t, info);
}

qm_status qm_op_output_info(const qm_model *m, uint32_t op_index, qm_tensor_info *info) {
  fb_table ot;
  fb_vec outputs;
  qm_tensor t;
  if (op_index >= m->ops.len) return QM_ERR_ARGUMENT;
  if (fb_vec_table(&m->ops, op_index, &ot) != 0 || fb_field_vec(&ot, QM_OP_OUTPUTS, 4, &outputs) != 0 ||
      outputs.len < 1) {
    return QM_ERR_MALFORMED;
  }
  return decode_tensor(m, fb_vec_i32(&outputs, 0), &t, info);
}

qm_status qm_run(const qm_model *m, uint8_t *arena, size_t arena_size, qm_observer observer, void *context) {
  uint32_t i, k;
  if (arena == NULL || arena_size < m->arena_size) return QM_ERR_ARGUMENT;
  for (i = 0; i < m->ops.len; i++) {
    qm_op op;
    qm_status s = decode_op(m, i, &op);
    if (s != QM_OK) return s;
    for (k = 0; k < op.n_in; k++) op.in[k].data = arena + op.in[k].offset;
    op.out.data = arena + op.out.offset;
    switch (op.kind) {
      case QM_OP_OPTIONS_CONV_OPTIONS: qm_op_conv(&op); break;
      case QM_OP_OPTIONS_FULLY_CONNECTED_OPTIONS: qm_op_fully_connected(&op); break;
      case QM_OP_OPTIONS_ADD_OPTIONS: qm_op_add(&op); break;
      case QM_OP_OPTIONS_MUL_OPTIONS: qm_op_mul(&op); break;
      case QM_OP_OPTIONS_MAX_POOL_OPTIONS: qm_op_max_pool(&op); break;
      case QM_OP_OPTIONS_AVERAGE_POOL_OPTIONS: qm_op_average_pool(&op); break;
      case QM_OP_OPTIONS_GLOBAL_AVERAGE_POOL_OPTIONS: qm_op_global_average_pool(&op); break;
      case QM_OP_OPTIONS_LUT_OPTIONS: qm_op_lut(&op); break;
      case QM_OP_OPTIONS_RESHAPE_OPTIONS: qm_op_reshape(&op); break;
      case QM_OP_OPTIONS_CONCAT_OPTIONS: qm_op_concat(&op); break;
      case QM_OP_OPTIONS_TRANSPOSE_OPTIONS: qm_op_transpose(&op); break;
      case QM_OP_OPTIONS_PAD_OPTIONS: qm_op_pad(&op); break;
      case QM_OP_OPTIONS_RESIZE_OPTIONS: qm_op_resize(&op); break;
      case QM_OP_OPTIONS_SOFTMAX_OPTIONS: qm_op_softmax(&op); break;
      default: return QM_ERR_UNSUPPORTED;
    }
    if (observer) observer(context, i, m, arena);
  }
  return QM_OK;
}

const char *qm_status_name(qm_status status) {
  switch (status) {
    case QM_OK: return "ok";
    case QM_ERR_TRUNCATED: return "truncated";
    case QM_ERR_IDENTIFIER: return "not a .qm artifact";
    case QM_ERR_VERSION: return "unsupported format version";
    case QM_ERR_CHECKSUM: return "weights checksum mismatch";
    case QM_ERR_MALFORMED: return "malformed artifact";
    case QM_ERR_UNSUPPORTED: return "unsupported op or type";
    case QM_ERR_ARGUMENT: return "bad argument";
  }
  return "unknown status";
}

const char *qm_kernels(void) { return QM_KERNELS; }
