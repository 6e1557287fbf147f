/* Test harness only, never shipped: a bcryptprimitives.dll for Wine 8, which
 * lacks ProcessPrng (Rust's std imports it for HashMap keys and the like).
 * Windows 10+ has the real one. Backed by RtlGenRandom (advapi32's
 * SystemFunction036), which Wine implements. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
