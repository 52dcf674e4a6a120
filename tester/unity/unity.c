/* fbuild's Unity-compatible runtime: see unity.h. Prints with
 * unityOutputChar only (no printf: AVR's has no floats or 64-bit). */
#include "unity.h"

#include <string.h>

struct UnityState Unity;

__attribute__((weak)) void setUp(void) {}
__attribute__((weak)) void tearDown(void) {}
__attribute__((weak)) void suiteSetUp(void) {}
__attribute__((weak)) int suiteTearDown(int num_failures) { return num_failures; }

static void put_str(const char *s) {
    while (s && *s) unityOutputChar(*s++);
}

static void put_uint(unsigned long long v) {
    char buf[24];
    int i = 0;
    do {
        buf[i++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (i) unityOutputChar(buf[--i]);
}

static void put_int(long long v) {
    if (v < 0) {
        unityOutputChar('-');
        put_uint((unsigned long long)(-(v + 1)) + 1);
    } else {
        put_uint((unsigned long long)v);
    }
}

static void put_hex(unsigned long long v, int digits) {
    put_str("0x");
    for (int i = digits - 1; i >= 0; i--) unityOutputChar("0123456789ABCDEF"[(v >> (4 * i)) & 0xF]);
}

/* Six significant digits, like Unity's default float printing. */
static void put_float(double f) {
    if (f != f) { put_str("nan"); return; }
    if (f < 0) { unityOutputChar('-'); f = -f; }
    if (f > 1e18) { put_str("inf"); return; }
    unsigned long long whole = (unsigned long long)f;
    double frac = f - (double)whole;
    put_uint(whole);
    int digits = 6;
    for (unsigned long long w = whole; w >= 10 && digits > 1; w /= 10) digits--;
    unsigned long scale = 1;
    for (int i = 0; i < digits; i++) scale *= 10;
    unsigned long part = (unsigned long)(frac * scale + 0.5);
    if (part >= scale) part = scale - 1;
    if (part == 0) return;
    while (part % 10 == 0) { part /= 10; scale /= 10; }
    unityOutputChar('.');
    for (unsigned long s = scale / 10; s > part && s > 1; s /= 10) unityOutputChar('0');
    put_uint(part);
}

static void begin_line(unsigned long line) {
    put_str(Unity.TestFile);
    unityOutputChar(':');
    put_uint(line);
    unityOutputChar(':');
    put_str(Unity.CurrentTestName);
    unityOutputChar(':');
}

static void end_line(void) {
    unityOutputChar('\n');
    unityOutputFlush();
}

static void add_message(const char *message) {
    if (message) {
        put_str(". ");
        put_str(message);
    }
}

/* Starts a FAIL line; the caller prints why, then fail_end. */
static void fail_begin(unsigned long line) {
    Unity.CurrentTestFailed = 1;
    begin_line(line);
    put_str("FAIL:");
}

static void fail_end(const char *message) {
    add_message(message);
    end_line();
    longjmp(Unity.AbortFrame, 1);
}

void UnityBegin(const char *file) {
    memset(&Unity, 0, sizeof Unity);
    Unity.TestFile = file;
    unityOutputStart();
}

int UnityEnd(void) {
    put_str("\n-----------------------\n");
    put_uint(Unity.NumberOfTests);
    put_str(" Tests ");
    put_uint(Unity.TestFailures);
    put_str(" Failures ");
    put_uint(Unity.TestIgnores);
    put_str(" Ignored \n");
    put_str(Unity.TestFailures ? "FAIL" : "OK");
    end_line();
    unityOutputComplete();
    return (int)Unity.TestFailures;
}

void UnityDefaultTestRun(UnityTestFunction fn, const char *name, int line) {
    Unity.CurrentTestName = name;
    Unity.CurrentTestLineNumber = (unsigned long)line;
    Unity.CurrentTestFailed = 0;
    Unity.CurrentTestIgnored = 0;
    Unity.NumberOfTests++;
    if (TEST_PROTECT()) {
        setUp();
        fn();
    }
    if (TEST_PROTECT()) {
        tearDown();
    }
    if (Unity.CurrentTestIgnored) {
        Unity.TestIgnores++;
    } else if (Unity.CurrentTestFailed) {
        Unity.TestFailures++;
    } else {
        begin_line(Unity.CurrentTestLineNumber);
        put_str("PASS");
        end_line();
    }
}

void UnityFail(const char *message, unsigned long line) {
    fail_begin(line);
    if (message) {
        unityOutputChar(' ');
        put_str(message);
    }
    end_line();
    longjmp(Unity.AbortFrame, 1);
}

void UnityIgnore(const char *message, unsigned long line) {
    Unity.CurrentTestIgnored = 1;
    begin_line(line);
    put_str("IGNORE");
    if (message) {
        put_str(": ");
        put_str(message);
    }
    end_line();
    longjmp(Unity.AbortFrame, 1);
}

void UnityPass(void) { longjmp(Unity.AbortFrame, 1); }

void UnityMessage(const char *message, unsigned long line) {
    begin_line(line);
    put_str("INFO: ");
    put_str(message);
    end_line();
}

void UnityAssertTrue(int condition, const char *why, const char *message, unsigned long line) {
    if (condition) return;
    fail_begin(line);
    put_str(why);
    fail_end(message);
}

static void expected_was_int(long long e, long long a) {
    put_str(" Expected ");
    put_int(e);
    put_str(" Was ");
    put_int(a);
}

void UnityAssertInt(long long e, long long a, char op, const char *message, unsigned long line) {
    int ok = op == '=' ? e == a : op == '!' ? e != a : op == '>' ? a > e : op == '<' ? a < e
           : op == 'g' ? a >= e : a <= e;
    if (ok) return;
    fail_begin(line);
    if (op == '=') {
        expected_was_int(e, a);
    } else {
        put_str(op == '!' ? " Expected Not-Equal To " : op == '>' ? " Expected Greater Than "
                : op == '<' ? " Expected Less Than " : op == 'g' ? " Expected Greater Or Equal "
                : " Expected Less Or Equal ");
        put_int(e);
        put_str(" Was ");
        put_int(a);
    }
    fail_end(message);
}

void UnityAssertUInt(unsigned long long e, unsigned long long a, int hex_digits, const char *message, unsigned long line) {
    if (e == a) return;
    fail_begin(line);
    put_str(" Expected ");
    if (hex_digits) put_hex(e, hex_digits); else put_uint(e);
    put_str(" Was ");
    if (hex_digits) put_hex(a, hex_digits); else put_uint(a);
    fail_end(message);
}

void UnityAssertIntWithin(long long d, long long e, long long a, const char *message, unsigned long line) {
    long long diff = a > e ? a - e : e - a;
    if (diff <= d) return;
    fail_begin(line);
    put_str(" Values Not Within Delta ");
    put_int(d);
    expected_was_int(e, a);
    fail_end(message);
}

void UnityAssertFloatWithin(double d, double e, double a, const char *message, unsigned long line) {
    double diff = a > e ? a - e : e - a;
    /* Equal floats: within a relative epsilon, as Unity does. */
    double tol = d > 0 ? d : (e < 0 ? -e : e) * 0.00001;
    if (diff <= tol || (e == a)) return;
    fail_begin(line);
    if (d > 0) {
        put_str(" Values Not Within Delta ");
        put_float(d);
    }
    put_str(" Expected ");
    put_float(e);
    put_str(" Was ");
    put_float(a);
    fail_end(message);
}

void UnityAssertString(const char *e, const char *a, const char *message, unsigned long line) {
    if (e == a || (e && a && strcmp(e, a) == 0)) return;
    fail_begin(line);
    put_str(" Expected ");
    if (e) { unityOutputChar('\''); put_str(e); unityOutputChar('\''); } else put_str("NULL");
    put_str(" Was ");
    if (a) { unityOutputChar('\''); put_str(a); unityOutputChar('\''); } else put_str("NULL");
    fail_end(message);
}

void UnityAssertMemory(const void *e, const void *a, size_t len, const char *message, unsigned long line) {
    const unsigned char *pe = (const unsigned char *)e, *pa = (const unsigned char *)a;
    for (size_t i = 0; i < len; i++) {
        if (pe[i] == pa[i]) continue;
        fail_begin(line);
        put_str(" Memory Mismatch. Byte ");
        put_uint(i);
        put_str(" Expected ");
        put_hex(pe[i], 2);
        put_str(" Was ");
        put_hex(pa[i], 2);
        fail_end(message);
    }
}

static long long element(const void *p, size_t i, int size) {
    switch (size) {
    case 1: return ((const int8_t *)p)[i];
    case 2: return ((const int16_t *)p)[i];
    case 8: return ((const int64_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

void UnityAssertIntArray(const void *e, const void *a, size_t count, int size, const char *message, unsigned long line) {
    for (size_t i = 0; i < count; i++) {
        long long x = element(e, i, size), y = element(a, i, size);
        if (x == y) continue;
        fail_begin(line);
        put_str(" Element ");
        put_uint(i);
        expected_was_int(x, y);
        fail_end(message);
    }
}

void UnityAssertPtr(const void *e, const void *a, const char *message, unsigned long line) {
    if (e == a) return;
    fail_begin(line);
    put_str(" Expected ");
    put_hex((unsigned long long)(uintptr_t)e, (int)sizeof(void *) * 2);
    put_str(" Was ");
    put_hex((unsigned long long)(uintptr_t)a, (int)sizeof(void *) * 2);
    fail_end(message);
}

void UnityAssertNull(const void *p, int want_null, const char *message, unsigned long line) {
    if ((p == NULL) == (want_null != 0)) return;
    fail_begin(line);
    put_str(want_null ? " Expected NULL" : " Expected Non-NULL");
    fail_end(message);
}
