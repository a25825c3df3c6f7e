/*
 * A min-heap of deadlines shared by the modules: entries (deadline, index), where the index
 * names an owner in the caller's table (a connection, a peer). The heap keeps each owner's
 * position beside it, so an owner's deadline can be moved or taken out in O(log n) without a
 * search, and the keys sit in the entries themselves (a compare never touches the owner).
 * Storage is allocated once at init for indexes below cap; nothing allocates afterwards.
 *
 * Ties: an owner moved up stops below an equal parent, one moved down stops above an equal
 * child, so the order of equal deadlines is that of the insertions and moves (deterministic).
 */
#ifndef FLOE_CORE_HEAP_INT_H
#define FLOE_CORE_HEAP_INT_H

#include "floe/core.h"

/* The index floe__heap_top returns for an empty heap, and the position of an owner out of it. */
#define FLOE__HEAP_NONE UINT32_MAX

struct floe__heap_ent {
    floe_time at;
    uint32_t idx;
};

struct floe__heap {
    struct floe__heap_ent *ent; /* ent[0] the earliest */
    uint32_t *pos;              /* pos[idx]: idx's place in ent, FLOE__HEAP_NONE when out */
    uint32_t len;
    uint32_t cap; /* indexes 0 .. cap - 1 */
};

/*
 * Allocate a heap for the indexes 0 .. cap - 1 from a. 0, FLOE_ERR_INVALID_ARG for a cap of
 * 0 or UINT32_MAX, FLOE_ERR_NOMEM (the heap is then empty and floe__heap_free is still safe).
 */
int floe__heap_init(struct floe__heap *h, const struct floe_allocator *a, uint32_t cap);
/* Release what floe__heap_init allocated with the same allocator; h becomes empty. */
void floe__heap_free(struct floe__heap *h, const struct floe_allocator *a);
/* Take every index out, keeping the storage (O(len)). */
void floe__heap_clear(struct floe__heap *h);
/* Queue idx (< cap) at deadline at, or move it there when it is queued already. */
void floe__heap_set(struct floe__heap *h, uint32_t idx, floe_time at);
/* Take idx out of the heap (nothing when it is not in it). */
void floe__heap_remove(struct floe__heap *h, uint32_t idx);
/* Take the earliest entry out and return its index; FLOE__HEAP_NONE when the heap is empty. */
uint32_t floe__heap_pop(struct floe__heap *h);

/* Whether idx is in the heap. */
static inline bool floe__heap_has(const struct floe__heap *h, uint32_t idx)
{
    return h->pos[idx] != FLOE__HEAP_NONE;
}

/* The index with the earliest deadline; FLOE__HEAP_NONE when the heap is empty. */
static inline uint32_t floe__heap_top(const struct floe__heap *h)
{
    return h->len ? h->ent[0].idx : FLOE__HEAP_NONE;
}

/* The earliest deadline; FLOE_TIME_NEVER when the heap is empty. */
static inline floe_time floe__heap_top_at(const struct floe__heap *h)
{
    return h->len ? h->ent[0].at : FLOE_TIME_NEVER;
}

#endif
