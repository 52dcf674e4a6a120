/* The example core's API: a UART to print on, idling, and ending the
 * emulator run. */
#ifndef CORTEXM_H
#define CORTEXM_H

void uart_putc(char c);
void uart_puts(const char *s);

/* Sleeps until an interrupt (the idle loop of a firmware). */
static inline void wait_for_interrupt(void) {
    __asm__ volatile("wfi");
}

/* Ends the program: under qemu (semihosting) the emulator exits with
 * `code`; returning from main() does the same. */
void exit_emulator(int code);

#endif
