/* The native runtime as mps2-an385 firmware, driven over UART0 (CMSDK APB UART) with a framed binary
 * protocol (little-endian; targets/native/mps2.ts is the host side):
 *
 *   host → board: 0xA5, command (1 byte), payload length (u32), payload
 *   board → host: 0x5A, reply (1 byte), payload length (u32), payload
 *
 *   'H' hello              → 'H' "qm-fw/1 model_max=<bytes> arena_max=<bytes>"
 *   'M' artifact bytes     → 'S' status (qm_status: 0 ok)          load and validate a .qm artifact
 *   'I' input bytes        → 'S' status                             every model input, in order
 *   'R' flags (bit 0: dump) → ['D' op index (u32), op output bytes]…, then
 *                            'O' status, SysTick cycles (u32), every output's bytes
 *
 * The model and the arena are static buffers: no heap. Cycles are counted with SysTick (24-bit, overflows
 * counted in its interrupt) at the core clock. */
#include <stdint.h>
#include <string.h>

#include "qm.h"

#define MODEL_MAX (1536u * 1024u)
#define ARENA_MAX (1536u * 1024u)

#define UART0 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0 + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0 + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0 + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0 + 0x10))

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static uint8_t model_buf[MODEL_MAX] __attribute__((aligned(16)));
static uint8_t arena[ARENA_MAX] __attribute__((aligned(16)));
static qm_model model;
static int model_loaded;
static volatile uint32_t systick_overflows;

void systick_handler(void) { systick_overflows++; }

static uint32_t cycles_now(void) {
  uint32_t hi, lo;
  do {
    hi = systick_overflows;
    lo = SYST_CVR;
  } while (hi != systick_overflows);
  return hi * (SYST_RELOAD + 1u) + (SYST_RELOAD - lo);
}

static void put_byte(uint8_t b) {
  while (UART_STATE & 1u) {
  }
  UART_DATA = b;
}

static uint8_t get_byte(void) {
  while (!(UART_STATE & 2u)) {
  }
  return (uint8_t)UART_DATA;
}

static uint32_t get_u32(void) {
  uint32_t v = 0;
  int i;
  for (i = 0; i < 4; i++) v |= (uint32_t)get_byte() << (8 * i);
  return v;
}

static void put_u32(uint32_t v) {
  int i;
  for (i = 0; i < 4; i++) put_byte((uint8_t)(v >> (8 * i)));
}

static void put_bytes(const uint8_t *p, uint32_t n) {
  while (n--) put_byte(*p++);
}

static void reply_header(uint8_t type, uint32_t length) {
  put_byte(0x5A);
  put_byte(type);
  put_u32(length);
}

static void reply_status(qm_status status) {
  reply_header('S', 1);
  put_byte((uint8_t)status);
}

static void dump_op(void *context, uint32_t op_index, const qm_model *m, const uint8_t *a) {
  qm_tensor_info info;
  (void)context;
  if (qm_op_output_info(m, op_index, &info) != QM_OK) return;
  reply_header('D', 4 + info.size);
  put_u32(op_index);
  put_bytes(a + info.offset, info.size);
}

static void skip(uint32_t n) {
  while (n--) (void)get_byte();
}

static void hello(void) {
  static const char text[] = "qm-fw/1 model_max=1572864 arena_max=1572864";
  reply_header('H', sizeof text - 1);
  put_bytes((const uint8_t *)text, sizeof text - 1);
}

static void load(uint32_t length) {
  qm_status status;
  model_loaded = 0;
  if (length > MODEL_MAX) {
    skip(length);
    reply_status(QM_ERR_ARGUMENT);
    return;
  }
  {
    uint32_t i;
    for (i = 0; i < length; i++) model_buf[i] = get_byte();
  }
  status = qm_load(&model, model_buf, length);
  if (status == QM_OK && qm_arena_size(&model) > ARENA_MAX) status = QM_ERR_ARGUMENT;
  model_loaded = status == QM_OK;
  reply_status(status);
}

static void input(uint32_t length) {
  uint32_t i, total = 0, k;
  qm_tensor_info t;
  if (!model_loaded) {
    skip(length);
    reply_status(QM_ERR_ARGUMENT);
    return;
  }
  for (i = 0; i < qm_input_count(&model); i++) {
    if (qm_input_info(&model, i, &t) == QM_OK) total += t.size;
  }
  if (total != length) {
    skip(length);
    reply_status(QM_ERR_ARGUMENT);
    return;
  }
  for (i = 0; i < qm_input_count(&model); i++) {
    qm_input_info(&model, i, &t);
    for (k = 0; k < t.size; k++) arena[t.offset + k] = get_byte();
  }
  reply_status(QM_OK);
}

static void run(uint32_t length) {
  uint8_t flags = 0;
  uint32_t i, total = 0, start, cycles;
  qm_status status;
  qm_tensor_info t;
  if (length >= 1) flags = get_byte();
  if (length > 1) skip(length - 1);
  if (!model_loaded) {
    reply_header('O', 5);
    put_byte(QM_ERR_ARGUMENT);
    put_u32(0);
    return;
  }
  start = cycles_now();
  status = qm_run(&model, arena, ARENA_MAX, (flags & 1u) ? dump_op : 0, 0);
  cycles = cycles_now() - start;
  for (i = 0; status == QM_OK && i < qm_output_count(&model); i++) {
    if (qm_output_info(&model, i, &t) == QM_OK) total += t.size;
  }
  reply_header('O', 5 + total);
  put_byte((uint8_t)status);
  put_u32(cycles);
  for (i = 0; status == QM_OK && i < qm_output_count(&model); i++) {
    qm_output_info(&model, i, &t);
    put_bytes(arena + t.offset, t.size);
  }
}

int main(void) {
  UART_BAUDDIV = 16;
  UART_CTRL = 3u; /* TX and RX enabled */
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* core clock, interrupt, enabled */
  hello();
  for (;;) {
    uint8_t command;
    uint32_t length;
    if (get_byte() != 0xA5) continue;
    command = get_byte();
    length = get_u32();
    switch (command) {
      case 'H': skip(length); hello(); break;
      case 'M': load(length); break;
      case 'I': input(length); break;
      case 'R': run(length); break;
      default: skip(length); reply_status(QM_ERR_ARGUMENT); break;
    }
  }
}
