#include "Blinker.h"
#include <Wire.h>

void Blinker::begin() {
  pinMode(pin_, OUTPUT);
  Wire.begin();
}

void Blinker::blink() {
  digitalWrite(pin_, !digitalRead(pin_));
  count_++;
  Wire.beginTransmission(0x42);
  Wire.write(static_cast<uint8_t>(count_ & 0xff));
  Wire.endTransmission();
}
