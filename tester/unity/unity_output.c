/* Unity output on a host: stdout, flushed at each line so a crash loses
 * nothing already reported. (Arduino boards: unity_output_arduino.cpp.) */
#ifndef ARDUINO
#include <stdio.h>

#include "unity.h"

void unityOutputStart(void) {}
void unityOutputChar(int c) { putchar(c); }
void unityOutputFlush(void) { fflush(stdout); }
void unityOutputComplete(void) { fflush(stdout); }
#endif
