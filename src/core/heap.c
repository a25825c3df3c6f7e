/*
 * The shared deadline heap (heap_int.h): a binary min-heap of (deadline, index) with each
 * index's position kept in pos[], updated on every move.
 */
#include <string.h>

#include "core/heap_int.h"

static void heap_place(struct floe__heap *h, uint32_t at, struct floe__heap_ent e)
{
    h->ent[at] = e;
    h->pos[e.idx] = at;
}

static void heap_up(struct floe__heap *h, uint32_t at)
{
    struct floe__heap_ent e = h->ent[at];

    while (at > 0 && h->ent[(at - 1) / 2].at > e.at) {
        heap_place(h, at, h->ent[(at - 1) / 2]);
        at = (at - 1) / 2;
    }
    heap_place(h, at, e);
}

static void heap_down(struct floe__heap *h, uint32_t at)
{
    struct floe__heap_ent e = h->ent[at];
    uint32_t child;

    for (;;) {
        child = 2 * at + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->ent[child + 1].at < h->ent[child].at)
            child++;
        if (h->ent[child].at >= e.at)
            break;
        heap_place(h, at, h->ent[child]);
        at = child;
    }
    heap_place(h, at, e);
}

int floe__heap_init(struct floe__heap *h, const struct floe_allocator *a, uint32_t cap)
{
    memset(h, 0, sizeof(*h));
    if (cap == 0 || cap == UINT32_MAX)
        return FLOE_ERR_INVALID_ARG;
    h->ent = floe_mem_calloc(a, cap, sizeof(*h->ent));
    h->pos = floe_mem_calloc(a, cap, sizeof(*h->pos));
    if (!h->ent || !h->pos) {
        floe__heap_free(h, a);
        return FLOE_ERR_NOMEM;
    }
    memset(h->pos, 0xff, (size_t)cap * sizeof(*h->pos));
    h->cap = cap;
    return 0;
}

void floe__heap_free(struct floe__heap *h, const struct floe_allocator *a)
{
    floe_mem_free(a, h->ent);
    floe_mem_free(a, h->pos);
    memset(h, 0, sizeof(*h));
}

void floe__heap_clear(struct floe__heap *h)
{
    uint32_t i;

    for (i = 0; i < h->len; i++)
        h->pos[h->ent[i].idx] = FLOE__HEAP_NONE;
    h->len = 0;
}

void floe__heap_set(struct floe__heap *h, uint32_t idx, floe_time at)
{
    uint32_t p = h->pos[idx];
    floe_time old;

    if (p == FLOE__HEAP_NONE) {
        heap_place(h, h->len, (struct floe__heap_ent){at, idx});
        heap_up(h, h->len++);
        return;
    }
    old = h->ent[p].at;
    h->ent[p].at = at;
    if (at < old)
        heap_up(h, p);
    else if (at > old)
        heap_down(h, p);
}

void floe__heap_remove(struct floe__heap *h, uint32_t idx)
{
    uint32_t p = h->pos[idx];
    struct floe__heap_ent last;

    if (p == FLOE__HEAP_NONE)
        return;
    h->pos[idx] = FLOE__HEAP_NONE;
    last = h->ent[--h->len];
    if (p == h->len)
        return;
    heap_place(h, p, last);
    heap_up(h, p);
    heap_down(h, h->pos[last.idx]);
}

uint32_t floe__heap_pop(struct floe__heap *h)
{
    uint32_t idx = floe__heap_top(h);

    if (idx != FLOE__HEAP_NONE)
        floe__heap_remove(h, idx);
    return idx;
}
