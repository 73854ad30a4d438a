/* The native runtime as mps2-an385 firmware (Cortex-M3, 25 MHz): the qm-fw serial protocol 2.0
 * (runtime/firmware/serial_proto.c; spec: devices/_serial_protocol.ts) on UART0, a CMSDK APB UART.
 *
 * No heap: the RAM file store and the arena are static buffers. Cycles come from SysTick at the core
 * clock (24-bit, its overflows counted in its interrupt). While waiting for a byte the core sleeps in
 * WFI (the UART's receive interrupt wakes it), so QEMU does not burn a host core on an idle board. */
#include <stdint.h>

#include "serial_proto.h"

#define CORE_CLOCK_HZ 25000000u
#define STORE_BYTES (2560u * 1024u)
#define ARENA_BYTES (1024u * 1024u)

#define UART0 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0 + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0 + 0x04)) /* bit 0: TX full, bit 1: RX full */
#define UART_CTRL (*(volatile uint32_t *)(UART0 + 0x08))  /* bit 0: TX on, 1: RX on, 3: RX interrupt */
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0 + 0x0C))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0 + 0x10))
#define UART0_RX_IRQ 0u

#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static uint8_t store[STORE_BYTES] __attribute__((aligned(16)));
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));
static volatile uint32_t systick_overflows;

void systick_handler(void) { systick_overflows++; }

/* Only wakes the core: the byte stays in UART_DATA for qp_port_getc. */
void uart0_rx_handler(void) { UART_INTSTATUS = 2u; }

uint64_t qp_port_cycles(void) {
  uint32_t hi, lo;
  do {
    hi = systick_overflows;
    lo = SYST_CVR;
  } while (hi != systick_overflows);
  return (uint64_t)hi * (SYST_RELOAD + 1u) + (SYST_RELOAD - lo);
}

int qp_port_getc(void) { return (UART_STATE & 2u) ? (int)(UART_DATA & 0xFFu) : -1; }

void qp_port_write(const uint8_t *data, size_t n) {
  while (n--) {
    while (UART_STATE & 1u) {
    }
    UART_DATA = *data++;
  }
}

void qp_port_wait(void) {
  /* Interrupts masked between the check and WFI: a byte arriving in between still wakes it. */
  __asm volatile("cpsid i" ::: "memory");
  if (!(UART_STATE & 2u)) __asm volatile("wfi" ::: "memory");
  __asm volatile("cpsie i" ::: "memory");
}

int main(void) {
  static const qp_board board = {"cortex-m3", CORE_CLOCK_HZ, 0, 0, store, STORE_BYTES, arena, ARENA_BYTES};
  UART_BAUDDIV = 16;
  UART_CTRL = 1u | 2u | 8u;
  NVIC_ISER0 = 1u << UART0_RX_IRQ;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* core clock, interrupt, enabled */
  qp_init(&board);
  for (;;) qp_step();
}
