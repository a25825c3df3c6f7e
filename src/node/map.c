/*
 * The node's hashed indexes: a 64-bit key to a slot index, open addressing with linear
 * probing and tombstones, sized once (no rehash on the data path).
 */
#include <string.h>

#include "node/node_int.h"

#define MAP_EMPTY NODE_NONE
#define MAP_DELETED (NODE_NONE - 1)

/* FNV-1a 64 then a final mix (keys are ids, ufrags and addresses, not attacker-chosen
 * beyond what a peer can pick for its own entries). */
uint64_t floe__node_hash(const void *p, size_t n)
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

static uint32_t map_mix(uint64_t key, uint32_t mask)
{
    key ^= key >> 31;
    key *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(key >> 32) & mask;
}

int floe__node_map_init(struct node_map *m, const struct floe_allocator *a, uint32_t entries)
{
    uint32_t cap = 16, i;

    while (cap < entries * 2u)
        cap <<= 1;
    m->keys = floe_mem_calloc(a, cap, sizeof(*m->keys));
    m->vals = floe_mem_calloc(a, cap, sizeof(*m->vals));
    if (!m->keys || !m->vals)
        return FLOE_ERR_NOMEM;
    for (i = 0; i < cap; i++)
        m->vals[i] = MAP_EMPTY;
    m->cap = cap;
    return 0;
}

void floe__node_map_free(struct node_map *m, const struct floe_allocator *a)
{
    floe_mem_free(a, m->keys);
    floe_mem_free(a, m->vals);
    memset(m, 0, sizeof(*m));
}

/* The position of key, or NODE_NONE. */
static uint32_t map_find(const struct node_map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1, i = map_mix(key, mask), n;

    for (n = 0; n < m->cap; n++, i = (i + 1) & mask) {
        if (m->vals[i] == MAP_EMPTY)
            return NODE_NONE;
        if (m->vals[i] != MAP_DELETED && m->keys[i] == key)
            return i;
    }
    return NODE_NONE;
}

uint32_t floe__node_map_get(const struct node_map *m, uint64_t key)
{
    uint32_t i = map_find(m, key);

    return i == NODE_NONE ? NODE_NONE : m->vals[i];
}

/* Insert or replace; the map never fills (cap >= 2 x entries, tombstones reused). */
void floe__node_map_put(struct node_map *m, uint64_t key, uint32_t val)
{
    uint32_t mask = m->cap - 1, i = map_find(m, key), n;

    if (i != NODE_NONE) {
        m->vals[i] = val;
        return;
    }
    i = map_mix(key, mask);
    for (n = 0; n < m->cap; n++, i = (i + 1) & mask) {
        if (m->vals[i] == MAP_EMPTY || m->vals[i] == MAP_DELETED) {
            m->keys[i] = key;
            m->vals[i] = val;
            return;
        }
    }
}

/*
 * Delete key. A tombstone followed by an empty slot ends no probe sequence that reaches
 * further, so it becomes empty, and so do the tombstones before it: churn (connections made
 * and removed) does not fill the table with tombstones that make every miss a full scan.
 */
void floe__node_map_del(struct node_map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1, i = map_find(m, key);

    if (i == NODE_NONE)
        return;
    m->vals[i] = MAP_DELETED;
    while (m->vals[i] == MAP_DELETED && m->vals[(i + 1) & mask] == MAP_EMPTY) {
        m->vals[i] = MAP_EMPTY;
        i = (i - 1) & mask;
    }
}
