/* Per-token and per-address token buckets in a fixed table (no allocation per key). */
#include <string.h>

#include "portald.h"

/* FNV-1a over the key, mixed with the per-process key so that collisions cannot be aimed. */
static uint64_t portald_rate_hash(uint64_t hash_key, const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ULL ^ hash_key;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

void portald_rate_init(struct portald_rate *r, uint32_t rate, uint32_t burst, uint64_t hash_key)
{
    memset(r, 0, sizeof(*r));
    r->rate = rate;
    r->burst = burst ? burst : rate;
    r->hash_key = hash_key;
}

/* The slot of h: its own, a free one, or the one refilled longest ago among the probed. */
static struct portald_rate_slot *portald_rate_find(struct portald_rate *r, uint64_t h)
{
    struct portald_rate_slot *oldest = NULL;

    for (size_t i = 0; i < PORTALD_RATE_PROBE; i++) {
        struct portald_rate_slot *s = &r->slot[(h + i) % PORTALD_RATE_SLOTS];

        if (s->key == h)
            return s;
        if (s->key == 0) {
            s->key = h;
            s->tokens = r->burst;
            return s;
        }
        if (!oldest || s->last < oldest->last)
            oldest = s;
    }
    r->evicted++;
    oldest->key = h;
    oldest->tokens = r->burst;
    return oldest;
}

bool portald_rate_allow(struct portald_rate *r, const void *key, size_t len, floe_time now)
{
    struct portald_rate_slot *s;

    if (r->rate == 0)
        return true;
    s = portald_rate_find(r, portald_rate_hash(r->hash_key, key, len));
    if (now > s->last && s->last != 0) {
        s->tokens += (double)(now - s->last) * r->rate / 1e9;
        if (s->tokens > r->burst)
            s->tokens = r->burst;
    }
    s->last = now ? now : 1;
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}
