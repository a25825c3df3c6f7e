/*
 * A hashed index shared by the modules: a 64-bit key to a 32-bit value (an index into the
 * caller's table), open addressing with linear probing and tombstones, sized once at init (no
 * rehash on the data path), so a lookup costs O(1) whatever the table holds.
 *
 * Keys are the caller's: an id as it is, or a hash of a longer key (floe__map_hash_addr for an
 * address). A caller hashing longer keys compares the entry the value names with what it looked
 * for, as two keys may share a hash.
 */
#ifndef FLOE_CORE_MAP_INT_H
#define FLOE_CORE_MAP_INT_H

#include "floe/core.h"

/* The value floe__map_get returns for a key that is not there; never stored. */
#define FLOE__MAP_NONE UINT32_MAX

struct floe__map {
    uint64_t *keys;
    uint32_t *vals; /* FLOE__MAP_NONE empty, FLOE__MAP_NONE - 1 deleted */
    uint32_t cap;   /* a power of two, at least twice the entries */
};

/*
 * Allocate a map for up to `entries` keys (at most 2^30) from a. 0, FLOE_ERR_INVALID_ARG for
 * too many entries, FLOE_ERR_NOMEM (the map is then empty and floe__map_free is still safe).
 */
int floe__map_init(struct floe__map *m, const struct floe_allocator *a, uint32_t entries);
/* Release what floe__map_init allocated with the same allocator; m becomes empty. */
void floe__map_free(struct floe__map *m, const struct floe_allocator *a);
/* Remove every key, keeping the storage. */
void floe__map_clear(struct floe__map *m);
/* The value of key, or FLOE__MAP_NONE. */
uint32_t floe__map_get(const struct floe__map *m, uint64_t key);
/* Insert key or replace its value; val must not be FLOE__MAP_NONE or FLOE__MAP_NONE - 1. The
 * caller keeps at most `entries` keys in the map (it never fills then). */
void floe__map_put(struct floe__map *m, uint64_t key, uint32_t val);
/* Remove key when present. */
void floe__map_del(struct floe__map *m, uint64_t key);

/* FNV-1a 64 of n bytes then a final mix. */
uint64_t floe__map_hash(const void *p, size_t n);
/* A hash of an address's family and IP, with its port unless ip_only. */
uint64_t floe__map_hash_addr(const struct floe_addr *a, bool ip_only);

#endif
