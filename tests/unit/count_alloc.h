/*
 * A counting allocator for the tests and benchmarks that measure memory (node_scale_test,
 * bench/node_bench.c): each block carries its size in a header, and the size_t that
 * floe_count_alloc was given holds the bytes in use.
 */
#ifndef FLOE_TEST_COUNT_ALLOC_H
#define FLOE_TEST_COUNT_ALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/core.h"

static inline void *floe_count_malloc(size_t size, void *user)
{
    size_t *p = malloc(size + 16);

    if (!p)
        return NULL;
    p[0] = size;
    *(size_t *)user += size;
    return (uint8_t *)p + 16;
}

static inline void floe_count_free(void *ptr, void *user)
{
    if (!ptr)
        return;
    ptr = (uint8_t *)ptr - 16;
    *(size_t *)user -= *(size_t *)ptr;
    free(ptr);
}

static inline void *floe_count_realloc(void *ptr, size_t size, void *user)
{
    void *n = floe_count_malloc(size, user);

    if (n && ptr) {
        size_t old = *(size_t *)((uint8_t *)ptr - 16);

        memcpy(n, ptr, old < size ? old : size);
        floe_count_free(ptr, user);
    }
    return n;
}

/* An allocator that counts the bytes it holds in *bytes. */
static inline struct floe_allocator floe_count_alloc(size_t *bytes)
{
    return (struct floe_allocator){floe_count_malloc, floe_count_realloc, floe_count_free, bytes};
}

#endif
