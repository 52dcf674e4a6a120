/* Unity output on an Arduino board: Serial at FBUILD_TEST_SPEED
 * (`test_speed`, default 115200), lines ended CR LF as println does (what
 * serial monitors and simavr's UART dump expect). */
#ifdef ARDUINO
#include <Arduino.h>

#include "unity.h"

#ifndef FBUILD_TEST_SPEED
#define FBUILD_TEST_SPEED 115200
#endif

extern "C" {
void unityOutputStart(void) { Serial.begin(FBUILD_TEST_SPEED); }
void unityOutputChar(int c) {
  if (c == '\n') Serial.write('\r');
  Serial.write((uint8_t)c);
}
void unityOutputFlush(void) { Serial.flush(); }
void unityOutputComplete(void) { Serial.flush(); }
}
#endif
