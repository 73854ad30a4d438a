#include "ram_files.h"

#include <string.h>

#define RF_ALIGN 16u

static uint8_t *pool;
static uint32_t pool_bytes;
static rf_file files[RF_SLOTS];

/* Out-of-order pieces [start, end) of one file (the one being written). */
static int pieces_owner = -1;
static uint32_t piece_start[RF_RANGES], piece_end[RF_RANGES];
static uint32_t piece_count;

static uint32_t align_up(uint32_t v) { return (v + RF_ALIGN - 1u) & ~(RF_ALIGN - 1u); }

void rf_init(uint8_t *p, uint32_t bytes) {
  pool = p;
  pool_bytes = bytes;
  memset(files, 0, sizeof files);
  pieces_owner = -1;
  piece_count = 0;
}

int rf_find(const char *name, uint32_t name_len) {
  uint32_t i;
  if (name_len > QP_NAME_MAX) return -1;
  for (i = 0; i < RF_SLOTS; i++) {
    if (files[i].state != QP_FILE_NONE && strlen(files[i].name) == name_len &&
        memcmp(files[i].name, name, name_len) == 0) {
      return (int)i;
    }
  }
  return -1;
}

const rf_file *rf_get(int index) { return &files[index]; }

uint8_t *rf_data(int index) { return pool + files[index].offset; }

void rf_remove(int index) {
  files[index].state = QP_FILE_NONE;
  if (pieces_owner == index) pieces_owner = -1;
}

/* Used slots in pool order. */
static uint32_t sorted_slots(int order[RF_SLOTS]) {
  uint32_t n = 0, i, k;
  for (i = 0; i < RF_SLOTS; i++) {
    if (files[i].state == QP_FILE_NONE) continue;
    for (k = n; k > 0 && files[order[k - 1]].offset > files[i].offset; k--) order[k] = order[k - 1];
    order[k] = (int)i;
    n++;
  }
  return n;
}

/* First gap of `size` bytes, or pool_bytes + 1 when there is none. */
static uint32_t first_fit(uint32_t size) {
  int order[RF_SLOTS];
  uint32_t n = sorted_slots(order), at = 0, i;
  for (i = 0; i < n; i++) {
    const rf_file *f = &files[order[i]];
    if (f->offset >= at && f->offset - at >= size) return at;
    at = align_up(f->offset + f->size);
  }
  return at <= pool_bytes && pool_bytes - at >= size ? at : pool_bytes + 1u;
}

static void compact(void) {
  int order[RF_SLOTS];
  uint32_t n = sorted_slots(order), at = 0, i;
  for (i = 0; i < n; i++) {
    rf_file *f = &files[order[i]];
    if (f->offset != at) memmove(pool + at, pool + f->offset, f->size);
    f->offset = at;
    at = align_up(at + f->size);
  }
}

int rf_create(const char *name, uint32_t name_len, uint32_t size) {
  int existing = rf_find(name, name_len), slot = -1;
  uint32_t i, at;
  if (name_len == 0 || name_len > QP_NAME_MAX) return -1;
  if (existing >= 0) rf_remove(existing);
  for (i = 0; i < RF_SLOTS && slot < 0; i++) {
    if (files[i].state == QP_FILE_NONE) slot = (int)i;
  }
  if (slot < 0) return -1;
  at = first_fit(size);
  if (at > pool_bytes) {
    compact();
    at = first_fit(size);
    if (at > pool_bytes) return -1;
  }
  memcpy(files[slot].name, name, name_len);
  files[slot].name[name_len] = 0;
  files[slot].offset = at;
  files[slot].size = size;
  files[slot].received = 0;
  files[slot].state = QP_FILE_WRITING;
  return slot;
}

void rf_forget_pieces(int index) {
  if (pieces_owner == index) pieces_owner = -1;
}

/* Moves the received prefix over every remembered piece that now touches it. */
static void absorb_pieces(rf_file *f) {
  int merged = 1;
  while (merged) {
    uint32_t i;
    merged = 0;
    for (i = 0; i < piece_count; i++) {
      if (piece_start[i] <= f->received) {
        if (piece_end[i] > f->received) f->received = piece_end[i];
        piece_start[i] = piece_start[piece_count - 1];
        piece_end[i] = piece_end[piece_count - 1];
        piece_count--;
        merged = 1;
        break;
      }
    }
  }
}

int rf_write(int index, uint32_t offset, const uint8_t *bytes, uint32_t n) {
  rf_file *f = &files[index];
  if (f->state != QP_FILE_WRITING || offset > f->size || n > f->size - offset) return -1;
  if (pieces_owner != index) {
    pieces_owner = index;
    piece_count = 0;
  }
  if (offset > f->received) {
    uint32_t i;
    for (i = 0; i < piece_count; i++) {
      if (piece_start[i] == offset && piece_end[i] >= offset + n) break; /* a duplicate */
    }
    if (i == piece_count) {
      if (piece_count == RF_RANGES) return -2;
      piece_start[piece_count] = offset;
      piece_end[piece_count] = offset + n;
      piece_count++;
    }
  }
  memcpy(pool + f->offset + offset, bytes, n);
  if (offset <= f->received && offset + n > f->received) f->received = offset + n;
  absorb_pieces(f);
  return 0;
}

void rf_set_complete(int index, uint32_t received) {
  files[index].received = received;
  files[index].state = QP_FILE_COMPLETE;
  if (pieces_owner == index) pieces_owner = -1;
}

uint32_t rf_capacity(void) { return pool_bytes; }

uint32_t rf_free(void) {
  uint32_t used = 0, i;
  for (i = 0; i < RF_SLOTS; i++) {
    if (files[i].state != QP_FILE_NONE) used += align_up(files[i].size);
  }
  return used >= pool_bytes ? 0 : pool_bytes - used;
}
