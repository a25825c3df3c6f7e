/*
 * The limit on answers to unauthenticated sources (Binding, 401, 438, 400, 420 before
 * authentication): at most unauth_source_rate answers per second to one source (an IPv4
 * address, the /64 of an IPv6 address), so that one source's flood neither starves the
 * others of challenges nor turns the relay into an amplifier against a spoofed victim;
 * and at most unauth_rate per second in all, against floods from many sources.
 *
 * The sources live in a bounded table of sets of RELAY_LIMIT_WAYS entries chosen by a
 * keyed hash (the key is random, so a flood cannot aim at one set). An entry whose
 * count belongs to an earlier second is free for another source. When every entry of
 * a set counted this second, a new source of that set is held only to the overall limit.
 */
#include <string.h>

#include "relay_int.h"

#define RELAY_LIMIT_MAX_SOURCES (1u << 20)

int floe__relay_limit_init(struct floe_relay *r)
{
    uint32_t n = RELAY_LIMIT_WAYS;
    uint8_t seed[8];
    int rc;

    if (!r->cfg.unauth_source_rate)
        return 0;
    while (n < r->cfg.unauth_sources && n < RELAY_LIMIT_MAX_SOURCES)
        n <<= 1;
    rc = floe_rng_fill(&r->cfg.rng, seed, sizeof(seed));
    if (rc < 0)
        return rc;
    r->source_seed = floe_load_be64(seed);
    r->sources = floe_mem_calloc(&r->cfg.alloc, n, sizeof(*r->sources));
    if (!r->sources)
        return FLOE_ERR_NOMEM;
    r->n_sources = n;
    return 0;
}

/* The key of a source: an IPv4 address, or the first 64 bits of an IPv6 address. */
static void limit_key(const struct floe_addr *from, uint8_t key[16])
{
    memset(key, 0, 16);
    memcpy(key, from->ip, from->family == FLOE_AF_INET6 ? 8 : 4);
}

static uint64_t limit_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint32_t limit_hash(const struct floe_relay *r, const uint8_t key[16], uint8_t family)
{
    uint64_t h = limit_mix(r->source_seed ^ family);

    h = limit_mix(h ^ floe_load_be64(key));
    h = limit_mix(h ^ floe_load_be64(key + 8));
    return (uint32_t)h;
}

/* The entry counting from's answers this second, or NULL when its set is full. */
static struct relay_source *limit_entry(struct floe_relay *r, uint32_t second,
                                        const struct floe_addr *from)
{
    struct relay_source *set, *free_entry = NULL;
    uint8_t key[16];
    uint32_t i;

    limit_key(from, key);
    set = &r->sources[limit_hash(r, key, from->family) & (r->n_sources - RELAY_LIMIT_WAYS)];
    for (i = 0; i < RELAY_LIMIT_WAYS; i++) {
        struct relay_source *s = &set[i];

        if (s->family == from->family && memcmp(s->key, key, 16) == 0) {
            if (s->second != second)
                s->count = 0;
            s->second = second;
            return s;
        }
        if (!free_entry && (s->family == 0 || s->second != second))
            free_entry = s;
    }
    if (free_entry) {
        memcpy(free_entry->key, key, 16);
        free_entry->family = from->family;
        free_entry->second = second;
        free_entry->count = 0;
    }
    return free_entry;
}

/* The overall bucket, refilled every second. */
static bool limit_take_global(struct floe_relay *r, floe_time now)
{
    if (r->cfg.unauth_rate == 0)
        return true;
    if (now >= r->bucket_at) {
        r->bucket_at = floe_time_add(now, FLOE_SEC(1));
        r->bucket_tokens = r->cfg.unauth_rate;
    }
    if (r->bucket_tokens == 0)
        return false;
    r->bucket_tokens--;
    return true;
}

bool floe__relay_take_unauth_token(struct floe_relay *r, floe_time now,
                                   const struct floe_addr *from)
{
    struct relay_source *s = NULL;

    if (r->n_sources) {
        s = limit_entry(r, (uint32_t)(now / FLOE_SEC(1)), from);
        if (s && s->count >= r->cfg.unauth_source_rate) {
            r->stats.drops[FLOE_RELAY_DROP_RATE_LIMITED]++;
            return false;
        }
    }
    if (!limit_take_global(r, now)) {
        r->stats.drops[FLOE_RELAY_DROP_RATE_LIMITED]++;
        return false;
    }
    if (s)
        s->count++;
    return true;
}
