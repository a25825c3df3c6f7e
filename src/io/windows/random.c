/* Random bytes from the OS: BCryptGenRandom with the system-preferred generator. */
#include <windows.h>

#include <bcrypt.h>

#include "floe_io.h"

#ifndef BCRYPT_USE_SYSTEM_PREFERRED_RNG
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002
#endif

int floe_io_random(uint8_t *out, size_t len)
{
    size_t off = 0, n;

    if (!out && len)
        return FLOE_ERR_INVALID_ARG;
    while (off < len) {
        n = len - off > 0x40000000u ? 0x40000000u : len - off;
        if (BCryptGenRandom(NULL, out + off, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FLOE_ERR_IO;
        off += n;
    }
    return 0;
}
