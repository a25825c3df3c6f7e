/* The suspend-aware clock (CLOCK_BOOTTIME). */
#define _GNU_SOURCE
#include <time.h>

#include "floe_io.h"

floe_time floe_io_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (floe_time)ts.tv_sec * 1000000000ull + (floe_time)ts.tv_nsec;
}
