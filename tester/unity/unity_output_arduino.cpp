/* Unity output on an Arduino board: Serial at FBUILD_TEST_SPEED
 * (`test_speed`, default 115200), lines ended CR LF as println does (what
 * serial monitors and simavr's UART dump expect). Built to run in the
 * emulator (FBUILD_TEST_HALT), an AVR firmware ends at UNITY_END(): once
 * the summary is sent, interrupts off and asleep, which simavr takes as
 * the program's end (it exits 0); nothing after UNITY_END() runs. On a
 * board the firmware runs on, as with PlatformIO. */
#ifdef ARDUINO
#include <Arduino.h>
#if defined(__AVR__) && defined(FBUILD_TEST_HALT)
#include <avr/interrupt.h>
#include <avr/sleep.h>
#endif

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
void unityOutputComplete(void) {
  Serial.flush();
#if defined(__AVR__) && defined(FBUILD_TEST_HALT)
  cli();
  sleep_enable();
  for (;;) sleep_cpu();
#endif
}
}
#endif
