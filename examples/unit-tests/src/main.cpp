// The application: echoes serial bytes through the ring buffer (on the
// host: stdin to stdout). Tests do not build it (test_build_src = no).
#include <Ring.h>

#ifdef ARDUINO
#include <Arduino.h>
Ring ring;
void setup() { Serial.begin(9600); }
void loop() {
  while (Serial.available() && ring.push((uint8_t)Serial.read())) {}
  uint8_t b;
  while (ring.pop(&b)) Serial.write(b);
}
#else
#include <stdio.h>
int main(void) {
  Ring ring;
  int c;
  while ((c = getchar()) != EOF) {
    ring.push((uint8_t)c);
    uint8_t b;
    while (ring.pop(&b)) putchar(b);
  }
  return 0;
}
#endif
