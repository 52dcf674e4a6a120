#include <Blinker.h>

Blinker led(LED_BUILTIN);

void setup() { led.begin(); }

void loop() {
  led.blink();
  delay(250);
}
