/* CRC-8 (polynomial 0x07), as sensors put on their frames; C and C++. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
uint8_t crc8(const uint8_t *data, size_t len);
#ifdef __cplusplus
}
#endif
