// A suite written as PlatformIO's docs write them: Unity's API, setUp and
// tearDown, runUnityTests() from setup() on a board and main() on a host.
#include <Ring.h>
#include <unity.h>

#ifdef ARDUINO
#include <Arduino.h>
#endif

static Ring *ring;
static Ring storage;

void setUp(void) {
  storage = Ring();
  ring = &storage;
}

void tearDown(void) {}

void test_starts_empty(void) {
  TEST_ASSERT_TRUE(ring->empty());
  TEST_ASSERT_EQUAL(0, ring->size());
}

void test_pops_in_order(void) {
  ring->push(1);
  ring->push(2);
  uint8_t v = 0;
  TEST_ASSERT_TRUE(ring->pop(&v));
  TEST_ASSERT_EQUAL_UINT8(1, v);
  TEST_ASSERT_TRUE(ring->pop(&v));
  TEST_ASSERT_EQUAL_UINT8(2, v);
  TEST_ASSERT_FALSE(ring->pop(&v));
}

void test_refuses_when_full(void) {
  for (uint8_t i = 0; i < Ring::kCapacity; i++) TEST_ASSERT_TRUE(ring->push(i));
  TEST_ASSERT_FALSE_MESSAGE(ring->push(99), "a full ring must refuse");
  TEST_ASSERT_EQUAL(Ring::kCapacity, ring->size());
}

void test_wraps_around(void) {
  uint8_t v;
  for (int round = 0; round < 3; round++) {
    for (uint8_t i = 0; i < 5; i++) ring->push(i);
    for (uint8_t i = 0; i < 5; i++) {
      ring->pop(&v);
      TEST_ASSERT_EQUAL_HEX8(i, v);
    }
  }
  TEST_ASSERT_TRUE(ring->empty());
}

int runUnityTests(void) {
  UNITY_BEGIN();
  RUN_TEST(test_starts_empty);
  RUN_TEST(test_pops_in_order);
  RUN_TEST(test_refuses_when_full);
  RUN_TEST(test_wraps_around);
  return UNITY_END();
}

#ifdef ARDUINO
void setup() {
  // Boards reset when the serial port opens; PlatformIO's examples wait.
  delay(100);
  runUnityTests();
}
void loop() {}
#else
int main(void) { return runUnityTests(); }
#endif
