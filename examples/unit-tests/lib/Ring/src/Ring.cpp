#include "Ring.h"

bool Ring::push(uint8_t v) {
  if (count_ == kCapacity) return false;
  data_[(head_ + count_) % kCapacity] = v;
  count_++;
  return true;
}

bool Ring::pop(uint8_t *out) {
  if (count_ == 0) return false;
  *out = data_[head_];
  head_ = (head_ + 1) % kCapacity;
  count_--;
  return true;
}

uint8_t crc8(const uint8_t *data, size_t len) {
  uint8_t crc = 0;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int b = 0; b < 8; b++) crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x07) : (uint8_t)(crc << 1);
  }
  return crc;
}
