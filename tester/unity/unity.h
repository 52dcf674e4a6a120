/* fbuild's Unity-compatible unit test API (written for fbuild, not Unity's
 * code): the macros PlatformIO test suites use, with Unity's output format
 *   <file>:<line>:<test>:PASS | FAIL: <why> | IGNORE[: <why>]
 * and the summary "N Tests F Failures I Ignored" then OK or FAIL, which
 * `fbuild test` parses. A failed assertion ends its test (longjmp), as in
 * Unity; setUp/tearDown are optional (weak defaults). */
#ifndef FBUILD_UNITY_H
#define FBUILD_UNITY_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*UnityTestFunction)(void);

struct UnityState {
    const char *TestFile;
    const char *CurrentTestName;
    unsigned long CurrentTestLineNumber;
    unsigned int NumberOfTests;
    unsigned int TestFailures;
    unsigned int TestIgnores;
    unsigned char CurrentTestFailed;
    unsigned char CurrentTestIgnored;
    jmp_buf AbortFrame;
};
extern struct UnityState Unity;

void setUp(void);
void tearDown(void);
void suiteSetUp(void);
int suiteTearDown(int num_failures);

void UnityBegin(const char *file);
int UnityEnd(void);
void UnityDefaultTestRun(UnityTestFunction fn, const char *name, int line);
void UnityFail(const char *message, unsigned long line);
void UnityIgnore(const char *message, unsigned long line);
void UnityPass(void);
void UnityMessage(const char *message, unsigned long line);
void UnityAssertTrue(int condition, const char *why, const char *message, unsigned long line);
void UnityAssertInt(long long expected, long long actual, char op, const char *message, unsigned long line);
void UnityAssertUInt(unsigned long long expected, unsigned long long actual, int hex_digits, const char *message, unsigned long line);
void UnityAssertIntWithin(long long delta, long long expected, long long actual, const char *message, unsigned long line);
void UnityAssertFloatWithin(double delta, double expected, double actual, const char *message, unsigned long line);
void UnityAssertString(const char *expected, const char *actual, const char *message, unsigned long line);
void UnityAssertMemory(const void *expected, const void *actual, size_t len, const char *message, unsigned long line);
void UnityAssertIntArray(const void *expected, const void *actual, size_t count, int size, const char *message, unsigned long line);
void UnityAssertPtr(const void *expected, const void *actual, const char *message, unsigned long line);
void UnityAssertNull(const void *pointer, int want_null, const char *message, unsigned long line);

/* Output, per platform (unity_output.c: stdout; unity_output_arduino.cpp:
 * Serial at FBUILD_TEST_SPEED). */
void unityOutputStart(void);
void unityOutputChar(int c);
void unityOutputFlush(void);
void unityOutputComplete(void);

#ifdef __cplusplus
}
#endif

#define UNITY_BEGIN() UnityBegin(__FILE__)
#define UNITY_END() UnityEnd()
#define RUN_TEST(func) UnityDefaultTestRun(func, #func, __LINE__)
#define TEST_PROTECT() (setjmp(Unity.AbortFrame) == 0)
#define TEST_LINE_NUM ((unsigned long)__LINE__)

#define TEST_FAIL_MESSAGE(msg) UnityFail((msg), TEST_LINE_NUM)
#define TEST_FAIL() UnityFail(NULL, TEST_LINE_NUM)
#define TEST_IGNORE_MESSAGE(msg) UnityIgnore((msg), TEST_LINE_NUM)
#define TEST_IGNORE() UnityIgnore(NULL, TEST_LINE_NUM)
#define TEST_PASS() UnityPass()
#define TEST_PASS_MESSAGE(msg) do { UnityMessage((msg), TEST_LINE_NUM); UnityPass(); } while (0)
#define TEST_MESSAGE(msg) UnityMessage((msg), TEST_LINE_NUM)

#define TEST_ASSERT_MESSAGE(c, msg) UnityAssertTrue(!!(c), " Expression Evaluated To FALSE", (msg), TEST_LINE_NUM)
#define TEST_ASSERT(c) TEST_ASSERT_MESSAGE(c, NULL)
#define TEST_ASSERT_TRUE_MESSAGE(c, msg) UnityAssertTrue(!!(c), " Expected TRUE Was FALSE", (msg), TEST_LINE_NUM)
#define TEST_ASSERT_TRUE(c) TEST_ASSERT_TRUE_MESSAGE(c, NULL)
#define TEST_ASSERT_UNLESS_MESSAGE(c, msg) UnityAssertTrue(!(c), " Expression Evaluated To TRUE", (msg), TEST_LINE_NUM)
#define TEST_ASSERT_UNLESS(c) TEST_ASSERT_UNLESS_MESSAGE(c, NULL)
#define TEST_ASSERT_FALSE_MESSAGE(c, msg) UnityAssertTrue(!(c), " Expected FALSE Was TRUE", (msg), TEST_LINE_NUM)
#define TEST_ASSERT_FALSE(c) TEST_ASSERT_FALSE_MESSAGE(c, NULL)
#define TEST_ASSERT_NULL_MESSAGE(p, msg) UnityAssertNull((const void *)(p), 1, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_NULL(p) TEST_ASSERT_NULL_MESSAGE(p, NULL)
#define TEST_ASSERT_NOT_NULL_MESSAGE(p, msg) UnityAssertNull((const void *)(p), 0, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_NOT_NULL(p) TEST_ASSERT_NOT_NULL_MESSAGE(p, NULL)

#define TEST_ASSERT_EQUAL_INT_MESSAGE(e, a, msg) UnityAssertInt((long long)(e), (long long)(a), '=', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_INT(e, a) TEST_ASSERT_EQUAL_INT_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE(e, a, msg)
#define TEST_ASSERT_EQUAL(e, a) TEST_ASSERT_EQUAL_INT(e, a)
#define TEST_ASSERT_NOT_EQUAL_MESSAGE(e, a, msg) UnityAssertInt((long long)(e), (long long)(a), '!', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_NOT_EQUAL(e, a) TEST_ASSERT_NOT_EQUAL_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_INT8_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE((int8_t)(e), (int8_t)(a), msg)
#define TEST_ASSERT_EQUAL_INT8(e, a) TEST_ASSERT_EQUAL_INT8_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_INT16_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE((int16_t)(e), (int16_t)(a), msg)
#define TEST_ASSERT_EQUAL_INT16(e, a) TEST_ASSERT_EQUAL_INT16_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_INT32_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE((int32_t)(e), (int32_t)(a), msg)
#define TEST_ASSERT_EQUAL_INT32(e, a) TEST_ASSERT_EQUAL_INT32_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_INT64_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE((int64_t)(e), (int64_t)(a), msg)
#define TEST_ASSERT_EQUAL_INT64(e, a) TEST_ASSERT_EQUAL_INT64_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_UINT_MESSAGE(e, a, msg) UnityAssertUInt((unsigned long long)(e), (unsigned long long)(a), 0, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_UINT(e, a) TEST_ASSERT_EQUAL_UINT_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_UINT8_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_UINT_MESSAGE((uint8_t)(e), (uint8_t)(a), msg)
#define TEST_ASSERT_EQUAL_UINT8(e, a) TEST_ASSERT_EQUAL_UINT8_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_UINT16_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_UINT_MESSAGE((uint16_t)(e), (uint16_t)(a), msg)
#define TEST_ASSERT_EQUAL_UINT16(e, a) TEST_ASSERT_EQUAL_UINT16_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_UINT32_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_UINT_MESSAGE((uint32_t)(e), (uint32_t)(a), msg)
#define TEST_ASSERT_EQUAL_UINT32(e, a) TEST_ASSERT_EQUAL_UINT32_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_HEX_MESSAGE(e, a, msg) UnityAssertUInt((uint32_t)(e), (uint32_t)(a), 8, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_HEX(e, a) TEST_ASSERT_EQUAL_HEX_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_HEX8_MESSAGE(e, a, msg) UnityAssertUInt((uint8_t)(e), (uint8_t)(a), 2, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_HEX8(e, a) TEST_ASSERT_EQUAL_HEX8_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_HEX16_MESSAGE(e, a, msg) UnityAssertUInt((uint16_t)(e), (uint16_t)(a), 4, (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_HEX16(e, a) TEST_ASSERT_EQUAL_HEX16_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_HEX32_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_HEX_MESSAGE(e, a, msg)
#define TEST_ASSERT_EQUAL_HEX32(e, a) TEST_ASSERT_EQUAL_HEX(e, a)
#define TEST_ASSERT_EQUAL_CHAR_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_INT_MESSAGE((char)(e), (char)(a), msg)
#define TEST_ASSERT_EQUAL_CHAR(e, a) TEST_ASSERT_EQUAL_CHAR_MESSAGE(e, a, NULL)
#define TEST_ASSERT_GREATER_THAN_MESSAGE(t, a, msg) UnityAssertInt((long long)(t), (long long)(a), '>', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_GREATER_THAN(t, a) TEST_ASSERT_GREATER_THAN_MESSAGE(t, a, NULL)
#define TEST_ASSERT_GREATER_THAN_INT(t, a) TEST_ASSERT_GREATER_THAN(t, a)
#define TEST_ASSERT_LESS_THAN_MESSAGE(t, a, msg) UnityAssertInt((long long)(t), (long long)(a), '<', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_LESS_THAN(t, a) TEST_ASSERT_LESS_THAN_MESSAGE(t, a, NULL)
#define TEST_ASSERT_LESS_THAN_INT(t, a) TEST_ASSERT_LESS_THAN(t, a)
#define TEST_ASSERT_GREATER_OR_EQUAL_MESSAGE(t, a, msg) UnityAssertInt((long long)(t), (long long)(a), 'g', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_GREATER_OR_EQUAL(t, a) TEST_ASSERT_GREATER_OR_EQUAL_MESSAGE(t, a, NULL)
#define TEST_ASSERT_LESS_OR_EQUAL_MESSAGE(t, a, msg) UnityAssertInt((long long)(t), (long long)(a), 'l', (msg), TEST_LINE_NUM)
#define TEST_ASSERT_LESS_OR_EQUAL(t, a) TEST_ASSERT_LESS_OR_EQUAL_MESSAGE(t, a, NULL)
#define TEST_ASSERT_INT_WITHIN_MESSAGE(d, e, a, msg) UnityAssertIntWithin((long long)(d), (long long)(e), (long long)(a), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_INT_WITHIN(d, e, a) TEST_ASSERT_INT_WITHIN_MESSAGE(d, e, a, NULL)
#define TEST_ASSERT_UINT_WITHIN(d, e, a) TEST_ASSERT_INT_WITHIN_MESSAGE(d, e, a, NULL)
#define TEST_ASSERT_FLOAT_WITHIN_MESSAGE(d, e, a, msg) UnityAssertFloatWithin((double)(d), (double)(e), (double)(a), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_FLOAT_WITHIN(d, e, a) TEST_ASSERT_FLOAT_WITHIN_MESSAGE(d, e, a, NULL)
#define TEST_ASSERT_EQUAL_FLOAT_MESSAGE(e, a, msg) UnityAssertFloatWithin(0.0, (double)(e), (double)(a), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_FLOAT(e, a) TEST_ASSERT_EQUAL_FLOAT_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_DOUBLE_MESSAGE(e, a, msg) TEST_ASSERT_EQUAL_FLOAT_MESSAGE(e, a, msg)
#define TEST_ASSERT_EQUAL_DOUBLE(e, a) TEST_ASSERT_EQUAL_FLOAT(e, a)
#define TEST_ASSERT_EQUAL_STRING_MESSAGE(e, a, msg) UnityAssertString((e), (a), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_STRING(e, a) TEST_ASSERT_EQUAL_STRING_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_MEMORY_MESSAGE(e, a, len, msg) UnityAssertMemory((e), (a), (len), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_MEMORY(e, a, len) TEST_ASSERT_EQUAL_MEMORY_MESSAGE(e, a, len, NULL)
#define TEST_ASSERT_EQUAL_PTR_MESSAGE(e, a, msg) UnityAssertPtr((const void *)(e), (const void *)(a), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_PTR(e, a) TEST_ASSERT_EQUAL_PTR_MESSAGE(e, a, NULL)
#define TEST_ASSERT_EQUAL_INT_ARRAY_MESSAGE(e, a, n, msg) UnityAssertIntArray((e), (a), (n), (int)sizeof(*(e)), (msg), TEST_LINE_NUM)
#define TEST_ASSERT_EQUAL_INT_ARRAY(e, a, n) TEST_ASSERT_EQUAL_INT_ARRAY_MESSAGE(e, a, n, NULL)
#define TEST_ASSERT_EQUAL_UINT8_ARRAY(e, a, n) TEST_ASSERT_EQUAL_MEMORY(e, a, n)
#define TEST_ASSERT_EQUAL_INT32_ARRAY(e, a, n) TEST_ASSERT_EQUAL_INT_ARRAY(e, a, n)

#endif
