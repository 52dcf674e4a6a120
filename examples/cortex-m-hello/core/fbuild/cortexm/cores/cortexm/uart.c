/* UART0 of the LM3S6965 (PL011-like): data register at 0x4000C000, flag
 * register at +0x18 with TXFF (transmit FIFO full) in bit 5. */
#include <stdint.h>

#include "cortexm.h"

#define UART0_DR (*(volatile uint32_t *)0x4000C000u)
#define UART0_FR (*(volatile uint32_t *)0x4000C018u)
#define UART_FR_TXFF (1u << 5)

void uart_putc(char c) {
    while (UART0_FR & UART_FR_TXFF) {
    }
    UART0_DR = (uint32_t)(unsigned char)c;
}

void uart_puts(const char *s) {
    while (*s) {
        uart_putc(*s++);
    }
}
