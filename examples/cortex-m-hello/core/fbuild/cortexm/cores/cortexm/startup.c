/* Reset and vectors for a Cortex-M3: copy .data, zero .bss, run main();
 * a main() that returns tells the host (semihosting, as qemu runs it)
 * that the program is done, so the emulator exits by itself. */
#include <stdint.h>

#include "cortexm.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void Reset_Handler(void);

static void Default_Handler(void) {
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) void (*const vectors[])(void) = {
    (void (*)(void))&_estack,
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
};

void exit_emulator(int code) {
    /* SYS_EXIT with ADP_Stopped_ApplicationExit (the code is not passed
     * by this 32-bit call). */
    register uint32_t op __asm__("r0") = 0x18;
    register uint32_t arg __asm__("r1") = 0x20026;
    (void)code;
    __asm__ volatile("bkpt 0xAB" : : "r"(op), "r"(arg) : "memory");
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    exit_emulator(main());
    for (;;) {
    }
}
