/* Allocator, log and RNG hooks, and the deterministic xoshiro256** PRNG. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "floe/core.h"

void *floe_mem_malloc(const struct floe_allocator *a, size_t size)
{
    if (a && a->malloc_fn)
        return a->malloc_fn(size, a->user);
    return malloc(size);
}

void *floe_mem_calloc(const struct floe_allocator *a, size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = floe_mem_malloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *floe_mem_realloc(const struct floe_allocator *a, void *ptr, size_t size)
{
    if (a && a->realloc_fn)
        return a->realloc_fn(ptr, size, a->user);
    return realloc(ptr, size);
}

void floe_mem_free(const struct floe_allocator *a, void *ptr)
{
    if (!ptr)
        return;
    if (a && a->free_fn)
        a->free_fn(ptr, a->user);
    else
        free(ptr);
}

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

const char *floe_log_level_name(enum floe_log_level level)
{
    if ((unsigned)level > FLOE_LOG_OFF)
        return "OFF";
    return level_names[level];
}

int floe_log_level_parse(const char *s, enum floe_log_level *out)
{
    unsigned i;

    if (!s || !out)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i <= FLOE_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum floe_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = FLOE_LOG_WARN;
        return 0;
    }
    return FLOE_ERR_INVALID_ARG;
}

void floe_log_emit(const struct floe_log *log, enum floe_log_level level, const char *target,
                   const char *message, const struct floe_log_field *fields, size_t n_fields)
{
    if (!floe_log_enabled(log, level))
        return;
    log->fn(log->user, level, target, message, fields, n_fields);
}

int floe_rng_fill(const struct floe_rng *rng, uint8_t *out, size_t len)
{
    if (!rng || !rng->fill)
        return FLOE_ERR_INVALID_ARG;
    rng->fill(rng->user, out, len);
    return 0;
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64 expands the seed into the four state words. */
void floe_xoshiro_seed(struct floe_xoshiro *x, uint64_t seed)
{
    int i;

    for (i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        x->s[i] = z ^ (z >> 31);
    }
}

uint64_t floe_xoshiro_next(struct floe_xoshiro *x)
{
    uint64_t *s = x->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

static void xoshiro_fill(void *user, uint8_t *out, size_t len)
{
    struct floe_xoshiro *x = user;

    while (len) {
        uint64_t v = floe_xoshiro_next(x);
        size_t n = len < 8 ? len : 8;

        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
}

struct floe_rng floe_xoshiro_rng(struct floe_xoshiro *x)
{
    struct floe_rng r = {xoshiro_fill, x};

    return r;
}
