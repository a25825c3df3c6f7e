/* Constant-time comparison and secret wiping. */
#include <string.h>

#include "floe/core.h"

bool floe_ct_eq(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc == 0;
}

void floe_wipe(void *p, size_t n)
{
    if (!p || !n)
        return;
    memset(p, 0, n);
    /* The barrier tells the compiler the zeros are read, so the memset stays. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
