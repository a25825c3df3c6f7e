/*
 * The suspend-aware monotonic clock on Windows: the interrupt time, which keeps counting
 * while the machine sleeps or hibernates (QueryInterruptTimePrecise, Windows 10, 100 ns
 * units; the "unbiased" variants would stop). Older systems and Wine lack it: then
 * QueryPerformanceCounter.
 */
#include <windows.h>

#include "floe_io.h"

typedef VOID(WINAPI *clock_interrupt_fn)(PULONGLONG);

static clock_interrupt_fn clock_interrupt;
static LARGE_INTEGER clock_qpc_freq;
static INIT_ONCE clock_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK clock_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    HMODULE kb = GetModuleHandleW(L"kernelbase.dll");
    FARPROC fn = kb ? GetProcAddress(kb, "QueryInterruptTimePrecise") : NULL;

    (void)once;
    (void)param;
    (void)ctx;
    /* FARPROC to the real prototype: the documented way to call an optional export. */
    clock_interrupt = (clock_interrupt_fn)(void (*)(void))fn;
    QueryPerformanceFrequency(&clock_qpc_freq);
    return TRUE;
}

floe_time floe_io_now(void)
{
    ULONGLONG t100;
    LARGE_INTEGER c;
    uint64_t f;

    InitOnceExecuteOnce(&clock_once, clock_init, NULL, NULL);
    if (clock_interrupt) {
        clock_interrupt(&t100);
        return (floe_time)t100 * 100u;
    }
    QueryPerformanceCounter(&c);
    f = (uint64_t)clock_qpc_freq.QuadPart;
    return (floe_time)((uint64_t)c.QuadPart / f * 1000000000ull +
                       (uint64_t)c.QuadPart % f * 1000000000ull / f);
}
