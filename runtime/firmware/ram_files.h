/* The board's RAM file store: a few named files in one static pool (no heap). A file is created with its
 * final size; bytes arrive at any offset (frames may come out of order after a retransmission) and the
 * store tracks how many leading bytes have arrived ("received"), which is what a resumed upload
 * continues from. Creating a file may move the others (the pool is compacted when it has no gap large
 * enough), so pointers from rf_data are valid only until the next rf_create. */
#ifndef QM_RAM_FILES_H
#define QM_RAM_FILES_H

#include <stdint.h>

#include "serial_proto.h"

#define RF_SLOTS 8u
#define RF_RANGES 8u /* out-of-order pieces remembered beyond the received prefix */

typedef struct {
  char name[QP_NAME_MAX + 1];
  uint32_t offset; /* in the pool */
  uint32_t size;
  uint32_t received; /* leading bytes present */
  uint8_t state;     /* QP_FILE_* */
} rf_file;

void rf_init(uint8_t *pool, uint32_t bytes);
/* Index of a file, or -1. */
int rf_find(const char *name, uint32_t name_len);
/* Creates (replacing one of the same name) a file of `size` bytes in state WRITING; -1 when no slot or
 * no room is left. */
int rf_create(const char *name, uint32_t name_len, uint32_t size);
void rf_remove(int index);
const rf_file *rf_get(int index);
uint8_t *rf_data(int index);
/* Stores bytes at an offset of a WRITING file and advances its received prefix; 0 ok, -1 out of range,
 * -2 too many out-of-order pieces (the piece is dropped: the host sends it again). */
int rf_write(int index, uint32_t offset, const uint8_t *bytes, uint32_t n);
/* Forgets out-of-order pieces (a resumed upload starts again from the received prefix). */
void rf_forget_pieces(int index);
void rf_set_complete(int index, uint32_t received);
uint32_t rf_capacity(void);
uint32_t rf_free(void);

#endif
