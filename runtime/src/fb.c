#include "fb.h"

#include <string.h>

uint32_t fb_u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int32_t fb_i32_at(const uint8_t *p) {
  uint32_t u = fb_u32_at(p);
  return u <= 0x7fffffffu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7fffffff - 1;
}

uint16_t fb_u16_at(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static int in_bounds(const fb_buf *buf, uint64_t pos, uint64_t len) { return pos + len <= (uint64_t)buf->size; }

int fb_open_table(const fb_buf *buf, uint32_t pos, fb_table *t) {
  int64_t vpos;
  t->buf = buf;
  t->pos = 0;
  if (pos == 0 || !in_bounds(buf, pos, 4)) return -1;
  vpos = (int64_t)pos - (int64_t)fb_i32_at(buf->data + pos);
  if (vpos < 0 || !in_bounds(buf, (uint64_t)vpos, 4)) return -1;
  t->vsize = fb_u16_at(buf->data + vpos);
  t->tsize = fb_u16_at(buf->data + vpos + 2);
  if (t->vsize < 4 || (t->vsize & 1) || !in_bounds(buf, (uint64_t)vpos, t->vsize)) return -1;
  if (t->tsize < 4 || !in_bounds(buf, pos, t->tsize)) return -1;
  t->pos = pos;
  t->vpos = (uint32_t)vpos;
  return 0;
}

int fb_root(const fb_buf *buf, const char identifier[4], fb_table *root) {
  root->pos = 0;
  if (buf->size < 8 || memcmp(buf->data + 4, identifier, 4) != 0) return -1;
  return fb_open_table(buf, fb_u32_at(buf->data), root);
}

/* Position of a field of `size` bytes, 0 when absent, UINT32_MAX when it does not fit the table. */
static uint32_t field_pos(const fb_table *t, unsigned id, uint32_t size) {
  uint32_t voff = 4u + 2u * id, off;
  if (t->pos == 0 || voff + 2u > t->vsize) return 0;
  off = fb_u16_at(t->buf->data + t->vpos + voff);
  if (off == 0) return 0;
  if (off < 4 || (uint64_t)off + size > t->tsize) return UINT32_MAX;
  return t->pos + off;
}

#define SCALAR_FIELD(name, type, size, read)                               \
  type name(const fb_table *t, unsigned id, type dflt, int *err) {          \
    uint32_t p = field_pos(t, id, size);                                     \
    if (p == 0) return dflt;                                                 \
    if (p == UINT32_MAX) {                                                   \
      *err = -1;                                                             \
      return dflt;                                                           \
    }                                                                        \
    return read;                                                             \
  }

SCALAR_FIELD(fb_field_u32, uint32_t, 4, fb_u32_at(t->buf->data + p))
SCALAR_FIELD(fb_field_i32, int32_t, 4, fb_i32_at(t->buf->data + p))
SCALAR_FIELD(fb_field_u8, uint8_t, 1, t->buf->data[p])
SCALAR_FIELD(fb_field_i8, int8_t, 1, (int8_t)(t->buf->data[p] <= 127 ? (int)t->buf->data[p] : (int)t->buf->data[p] - 256))

/* Follows the uoffset stored at `p`; 0 on overflow or out of bounds. */
static uint32_t follow(const fb_buf *buf, uint32_t p) {
  uint64_t target;
  if (!in_bounds(buf, p, 4)) return 0;
  target = (uint64_t)p + fb_u32_at(buf->data + p);
  return target >= buf->size ? 0 : (uint32_t)target;
}

int fb_field_table(const fb_table *t, unsigned id, fb_table *out) {
  uint32_t p = field_pos(t, id, 4), target;
  out->buf = t->buf;
  out->pos = 0;
  if (p == 0) return 0;
  if (p == UINT32_MAX || (target = follow(t->buf, p)) == 0) return -1;
  return fb_open_table(t->buf, target, out);
}

int fb_field_vec(const fb_table *t, unsigned id, uint32_t elem_size, fb_vec *out) {
  uint32_t p = field_pos(t, id, 4), vec, len;
  out->buf = t->buf;
  out->pos = 0;
  out->len = 0;
  if (p == 0) return 0;
  if (p == UINT32_MAX || (vec = follow(t->buf, p)) == 0 || !in_bounds(t->buf, vec, 4)) return -1;
  len = fb_u32_at(t->buf->data + vec);
  if (!in_bounds(t->buf, (uint64_t)vec + 4u, (uint64_t)len * elem_size)) return -1;
  out->pos = vec + 4u;
  out->len = len;
  return 0;
}

int fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out) {
  uint32_t target;
  out->buf = v->buf;
  out->pos = 0;
  if (i >= v->len || (target = follow(v->buf, v->pos + 4u * i)) == 0) return -1;
  return fb_open_table(v->buf, target, out);
}
