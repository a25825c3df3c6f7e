/* Random bytes from the kernel (getrandom, blocking only until the pool is initialised). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/random.h>

#include "floe_io.h"

int floe_io_random(uint8_t *out, size_t len)
{
    size_t off = 0;
    ssize_t n;

    if (!out && len)
        return FLOE_ERR_INVALID_ARG;
    while (off < len) {
        n = getrandom(out + off, len - off, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FLOE_ERR_IO;
        off += (size_t)n;
    }
    return 0;
}
