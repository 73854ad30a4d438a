/* The native int8 runtime: loads a .qm artifact (targets/native/qm.fbs) from memory, refuses anything
 * malformed with a status code, and runs it in one caller-provided arena. No heap use at all: the model
 * reads straight from the artifact's bytes; the caller owns both buffers. Integer semantics:
 * core/sim/ops/ (the TypeScript golden model this code matches bit for bit). */
#ifndef QM_H
#define QM_H

#include <stddef.h>
#include <stdint.h>

#include "fb.h"

#define QM_FORMAT_VERSION 1u
#define QM_MAX_RANK 6
#define QM_MAX_OP_INPUTS 16

typedef enum {
  QM_OK = 0,
  QM_ERR_TRUNCATED = 1,   /* shorter than a header, or an offset points past the end */
  QM_ERR_IDENTIFIER = 2,  /* not a .qm file */
  QM_ERR_VERSION = 3,     /* another format version */
  QM_ERR_CHECKSUM = 4,    /* weights do not match their SHA-256 */
  QM_ERR_MALFORMED = 5,   /* inconsistent tables, shapes or parameters */
  QM_ERR_UNSUPPORTED = 6, /* valid, but uses something this runtime does not run */
  QM_ERR_ARGUMENT = 7     /* bad call: arena too small, index out of range */
} qm_status;

typedef struct {
  fb_buf buf;
  fb_table root;
  fb_vec tensors;
  fb_vec ops;
  fb_vec inputs;
  fb_vec outputs;
  fb_vec weights;
  uint32_t arena_size;
} qm_model;

/* A tensor as the caller sees it. */
typedef struct {
  const char *name; /* not NUL-terminated: name_len bytes */
  uint32_t name_len;
  uint8_t dtype; /* QM_DTYPE_* of qm_schema.h */
  uint32_t rank;
  int32_t shape[QM_MAX_RANK];
  uint32_t size; /* bytes */
  uint32_t offset; /* in the arena (activations) */
  float scale;
  int32_t zero_point;
} qm_tensor_info;

/* Called after every op (per-layer dumps); `arena` holds every live tensor. */
typedef void (*qm_observer)(void *context, uint32_t op_index, const qm_model *model, const uint8_t *arena);

qm_status qm_load(qm_model *model, const uint8_t *data, size_t size);
uint32_t qm_arena_size(const qm_model *model);
uint32_t qm_input_count(const qm_model *model);
uint32_t qm_output_count(const qm_model *model);
uint32_t qm_op_count(const qm_model *model);
qm_status qm_input_info(const qm_model *model, uint32_t index, qm_tensor_info *info);
qm_status qm_output_info(const qm_model *model, uint32_t index, qm_tensor_info *info);
/* Outputs of op `op_index` (for dumps): its first output tensor. */
qm_status qm_op_output_info(const qm_model *model, uint32_t op_index, qm_tensor_info *info);
/* Runs every op; inputs must already be in the arena (qm_input_info gives their offsets). */
qm_status qm_run(const qm_model *model, uint8_t *arena, size_t arena_size, qm_observer observer, void *context);
const char *qm_status_name(qm_status status);
/* The kernels this build runs: "avx2", "sse4.1", "neon" or "portable" (chosen at compile time, runtime/src/ops/simd.h). */
const char *qm_kernels(void);

#endif
