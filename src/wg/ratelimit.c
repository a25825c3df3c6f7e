/*
 * The handshake rate limiter of a device under load (the Linux module's ratelimiter.c): one
 * token bucket per source, an IPv4 address or an IPv6 /64, refilled at
 * FLOE_WG_HANDSHAKES_PER_SECOND_PER_SOURCE with room for FLOE_WG_HANDSHAKES_BURSTABLE. The
 * buckets live in a fixed table of cfg.ratelimit_entries slots chosen by a keyed hash; a
 * slot busy with another source within the last refill time is shared with it (never handed
 * over), so colliding sources cannot reset each other's buckets to full.
 */
#include <string.h>

#include "wg/wg_int.h"

#define RL_COST (FLOE_SEC(1) / FLOE_WG_HANDSHAKES_PER_SECOND_PER_SOURCE)
#define RL_MAX (RL_COST * FLOE_WG_HANDSHAKES_BURSTABLE)

/* The source's key: family and the first 4 (IPv4) or 8 (IPv6 /64) address bytes. */
static void rl_key(const struct floe_addr *from, uint8_t key[WG_RL_KEY_LEN])
{
    memset(key, 0, WG_RL_KEY_LEN);
    key[0] = from->family;
    memcpy(key + 1, from->ip, from->family == FLOE_AF_INET6 ? 8 : 4);
}

/* splitmix64's finalizer over the key's words, keyed by the device's random rl_seed. */
static uint32_t rl_slot(const struct floe_wg *dev, const uint8_t key[WG_RL_KEY_LEN])
{
    uint64_t h = dev->rl_seed ^ floe_load_le64(key + 1) ^ ((uint64_t)key[0] << 56);

    h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return (uint32_t)(h % dev->cfg.ratelimit_entries);
}

/* The source's bucket, refilled up to now (a new or taken-over one starts full). */
static struct floe__wg_bucket *rl_bucket(struct floe_wg *dev, floe_time now,
                                         const struct floe_addr *from)
{
    uint8_t key[WG_RL_KEY_LEN];
    struct floe__wg_bucket *b;
    floe_time tokens;

    if (!dev->rl_seeded) {
        dev->rl_seed = (uint64_t)floe__wg_rand32(dev) << 32 | floe__wg_rand32(dev);
        dev->rl_seeded = true;
    }
    rl_key(from, key);
    b = &dev->buckets[rl_slot(dev, key)];
    if (!b->used || (memcmp(b->key, key, WG_RL_KEY_LEN) != 0 && now - b->last >= RL_MAX)) {
        memcpy(b->key, key, WG_RL_KEY_LEN);
        b->used = true;
        b->last = now;
        b->tokens = RL_MAX;
        return b;
    }
    tokens = b->tokens + (now > b->last ? now - b->last : 0);
    b->tokens = tokens > RL_MAX ? RL_MAX : tokens;
    b->last = now > b->last ? now : b->last;
    return b;
}

bool floe__wg_ratelimit_allow(struct floe_wg *dev, floe_time now, const struct floe_addr *from)
{
    struct floe__wg_bucket *b = rl_bucket(dev, now, from);

    if (b->tokens < RL_COST)
        return false;
    b->tokens -= RL_COST;
    return true;
}

bool floe__wg_ratelimit_has_token(struct floe_wg *dev, floe_time now, const struct floe_addr *from)
{
    return rl_bucket(dev, now, from)->tokens >= RL_COST;
}
