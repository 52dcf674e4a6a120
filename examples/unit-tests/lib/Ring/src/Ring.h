// A fixed-size ring buffer of bytes (the library under test).
#pragma once
#include <stddef.h>
#include <stdint.h>

class Ring {
 public:
  static const size_t kCapacity = 8;
  bool push(uint8_t v);
  bool pop(uint8_t *out);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

 private:
  uint8_t data_[kCapacity];
  size_t head_ = 0;
  size_t count_ = 0;
};

#include "crc8.h"
