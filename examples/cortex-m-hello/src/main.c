/* Says hello over the board's first UART (qemu shows it on stdio), then
 * idles like any firmware: it never returns. */
#include "cortexm.h"

int main(void) {
    uart_puts("hello from cortex-m\n");
    for (;;) {
        wait_for_interrupt();
    }
}
