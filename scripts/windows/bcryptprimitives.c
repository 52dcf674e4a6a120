/* bcryptprimitives.dll for wine 8, which has none: Rust's std (1.78+)
 * imports ProcessPrng from it for its random numbers (HashMap keys).
 * Forwards to RtlGenRandom (advapi32's SystemFunction036), which wine has.
 * Built by scripts/setup-windows with x86_64-w64-mingw32-gcc; only for
 * running our Windows builds under wine, never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE; /* ProcessPrng never fails, by its contract */
}
