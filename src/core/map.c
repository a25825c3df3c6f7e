/*
 * The shared hashed index (map_int.h): open addressing with linear probing and tombstones.
 */
#include <string.h>

#include "core/map_int.h"

#define MAP_EMPTY FLOE__MAP_NONE
#define MAP_DELETED (FLOE__MAP_NONE - 1)
#define MAP_MAX_ENTRIES (1u << 30)

uint64_t floe__map_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

uint64_t floe__map_hash_addr(const struct floe_addr *a, bool ip_only)
{
    uint8_t key[19];
    size_t n = a->family == FLOE_AF_INET ? 4 : 16;

    key[0] = a->family;
    memcpy(key + 1, a->ip, n);
    if (!ip_only) {
        floe_store_be16(key + 1 + n, a->port);
        n += 2;
    }
    return floe__map_hash(key, 1 + n);
}

static uint32_t map_mix(uint64_t key, uint32_t mask)
{
    key ^= key >> 31;
    key *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(key >> 32) & mask;
}

int floe__map_init(struct floe__map *m, const struct floe_allocator *a, uint32_t entries)
{
    uint32_t cap = 16;

    memset(m, 0, sizeof(*m));
    if (entries > MAP_MAX_ENTRIES)
        return FLOE_ERR_INVALID_ARG;
    while (cap < entries * 2u)
        cap <<= 1;
    m->keys = floe_mem_calloc(a, cap, sizeof(*m->keys));
    m->vals = floe_mem_calloc(a, cap, sizeof(*m->vals));
    if (!m->keys || !m->vals) {
        floe__map_free(m, a);
        return FLOE_ERR_NOMEM;
    }
    m->cap = cap;
    floe__map_clear(m);
    return 0;
}

void floe__map_free(struct floe__map *m, const struct floe_allocator *a)
{
    floe_mem_free(a, m->keys);
    floe_mem_free(a, m->vals);
    memset(m, 0, sizeof(*m));
}

void floe__map_clear(struct floe__map *m)
{
    uint32_t i;

    for (i = 0; i < m->cap; i++)
        m->vals[i] = MAP_EMPTY;
}

/* The position of key, or FLOE__MAP_NONE. */
static uint32_t map_find(const struct floe__map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1, i, n;

    if (!m->cap)
        return FLOE__MAP_NONE;
    for (n = 0, i = map_mix(key, mask); n < m->cap; n++, i = (i + 1) & mask) {
        if (m->vals[i] == MAP_EMPTY)
            return FLOE__MAP_NONE;
        if (m->vals[i] != MAP_DELETED && m->keys[i] == key)
            return i;
    }
    return FLOE__MAP_NONE;
}

uint32_t floe__map_get(const struct floe__map *m, uint64_t key)
{
    uint32_t i = map_find(m, key);

    return i == FLOE__MAP_NONE ? FLOE__MAP_NONE : m->vals[i];
}

void floe__map_put(struct floe__map *m, uint64_t key, uint32_t val)
{
    uint32_t mask = m->cap - 1, i = map_find(m, key), n;

    if (i != FLOE__MAP_NONE) {
        m->vals[i] = val;
        return;
    }
    for (n = 0, i = map_mix(key, mask); n < m->cap; n++, i = (i + 1) & mask) {
        if (m->vals[i] == MAP_EMPTY || m->vals[i] == MAP_DELETED) {
            m->keys[i] = key;
            m->vals[i] = val;
            return;
        }
    }
}

/*
 * A tombstone followed by an empty slot ends no probe sequence that reaches further, so it
 * becomes empty, and so do the tombstones before it: churn does not fill the table with
 * tombstones that make every miss a full scan.
 */
void floe__map_del(struct floe__map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1, i = map_find(m, key);

    if (i == FLOE__MAP_NONE)
        return;
    m->vals[i] = MAP_DELETED;
    while (m->vals[i] == MAP_DELETED && m->vals[(i + 1) & mask] == MAP_EMPTY) {
        m->vals[i] = MAP_EMPTY;
        i = (i - 1) & mask;
    }
}
