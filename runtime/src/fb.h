/* A minimal FlatBuffers reader that never reads outside its buffer: every table, vector and field is
 * bounds-checked when it is opened, and scalars are assembled from little-endian bytes (no alignment
 * or endianness assumptions). Field ids come from the generated qm_schema.h. */
#ifndef QM_FB_H
#define QM_FB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *data;
  uint32_t size;
} fb_buf;

/* An opened table: its position, its vtable's, and their sizes. pos == 0 means absent. */
typedef struct {
  const fb_buf *buf;
  uint32_t pos;
  uint32_t vpos;
  uint32_t vsize;
  uint32_t tsize;
} fb_table;

/* An opened vector: position of the first element and element count. */
typedef struct {
  const fb_buf *buf;
  uint32_t pos;
  uint32_t len;
} fb_vec;

uint32_t fb_u32_at(const uint8_t *p);
int32_t fb_i32_at(const uint8_t *p);
uint16_t fb_u16_at(const uint8_t *p);

/* 0 on success, -1 on a malformed buffer. */
int fb_root(const fb_buf *buf, const char identifier[4], fb_table *root);
int fb_open_table(const fb_buf *buf, uint32_t pos, fb_table *t);

/* Scalar fields with their schema default when absent; -1 in *err (if not yet set) when malformed. */
uint32_t fb_field_u32(const fb_table *t, unsigned id, uint32_t dflt, int *err);
int32_t fb_field_i32(const fb_table *t, unsigned id, int32_t dflt, int *err);
uint8_t fb_field_u8(const fb_table *t, unsigned id, uint8_t dflt, int *err);
int8_t fb_field_i8(const fb_table *t, unsigned id, int8_t dflt, int *err);

/* Sub-table / vector / string fields: 0 when absent (t->pos = 0 / v->len = 0), -1 when malformed. */
int fb_field_table(const fb_table *t, unsigned id, fb_table *out);
int fb_field_vec(const fb_table *t, unsigned id, uint32_t elem_size, fb_vec *out);
int fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out);

static inline int32_t fb_vec_i32(const fb_vec *v, uint32_t i) { return fb_i32_at(v->buf->data + v->pos + 4u * i); }
static inline uint8_t fb_vec_u8(const fb_vec *v, uint32_t i) { return v->buf->data[v->pos + i]; }
static inline float fb_vec_f32(const fb_vec *v, uint32_t i) {
  uint32_t bits = fb_u32_at(v->buf->data + v->pos + 4u * i);
  float f;
  unsigned char *d = (unsigned char *)&f;
  const unsigned char *s = (const unsigned char *)&bits;
  size_t k;
  for (k = 0; k < sizeof f; k++) d[k] = s[k];
  return f;
}

#endif
