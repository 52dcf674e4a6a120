/* A C suite: CRC-8 against known values, strings and memory asserts. */
#include <crc8.h>
#include <string.h>
#include <unity.h>

static void test_known_vectors(void) {
  const unsigned char check[] = "123456789";
  TEST_ASSERT_EQUAL_HEX8(0xF4, crc8(check, 9));
  TEST_ASSERT_EQUAL_HEX8(0x00, crc8(check, 0));
}

static void test_detects_a_flipped_bit(void) {
  unsigned char frame[4] = {0x10, 0x20, 0x30, 0x40};
  unsigned char before = crc8(frame, 4);
  frame[2] ^= 0x01;
  TEST_ASSERT_NOT_EQUAL(before, crc8(frame, 4));
}

static void test_strings_and_memory(void) {
  char name[8];
  strcpy(name, "ring");
  TEST_ASSERT_EQUAL_STRING("ring", name);
  TEST_ASSERT_EQUAL_MEMORY("ri", name, 2);
  TEST_ASSERT_NOT_NULL(strchr(name, 'g'));
  TEST_ASSERT_NULL(strchr(name, 'z'));
  TEST_ASSERT_FLOAT_WITHIN(0.01, 3.14, 22.0 / 7.0);
}

#ifdef ARDUINO
void setup(void) {
#else
int main(void) {
#endif
  UNITY_BEGIN();
  RUN_TEST(test_known_vectors);
  RUN_TEST(test_detects_a_flipped_bit);
  RUN_TEST(test_strings_and_memory);
#ifdef ARDUINO
  UNITY_END();
}
void loop(void) {}
#else
  return UNITY_END();
}
#endif
