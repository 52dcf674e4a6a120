#pragma once
#include <Arduino.h>

// Blinks a pin and reports the blink count to an I2C peer.
class Blinker {
 public:
  explicit Blinker(uint8_t pin) : pin_(pin) {}
  void begin();
  void blink();
  uint16_t count() const { return count_; }

 private:
  uint8_t pin_;
  uint16_t count_ = 0;
};
