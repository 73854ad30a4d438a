/* Vector table and reset handler of the mps2-an385 firmware: copy .data, zero .bss, run main. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);
void systick_handler(void);
void uart0_rx_handler(void);

void reset_handler(void) {
  uint32_t *src = &_sidata, *dst;
  for (dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  main();
  for (;;) {
  }
}

static void default_handler(void) {
  for (;;) {
  }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[17])(void) = {
    (void (*)(void))(&_stack_top), /* initial stack pointer */
    reset_handler,
    default_handler, /* NMI */
    default_handler, /* HardFault */
    default_handler, /* MemManage */
    default_handler, /* BusFault */
    default_handler, /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVCall */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    systick_handler,
    uart0_rx_handler, /* IRQ 0: UART0 receive */
};
