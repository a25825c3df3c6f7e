/*
 * A registry of EVEN-PORT reservations shared by several relay cores
 * (RFC 8656 section 7.2): an open-addressing hash table keyed by the 64-bit
 * RESERVATION-TOKEN, linear probing, deletion by backward shift. No locking:
 * the caller serialises the calls.
 */
#include "relay_int.h"

enum resv_state {
    RESV_EMPTY = 0,
    RESV_RESERVED, /* waiting for its Allocate */
    RESV_CLAIMED,  /* lent to another core's allocation */
    RESV_RELEASED, /* that allocation ended; the owner has not settled yet */
};

struct resv_entry {
    uint64_t token;
    struct floe_addr relayed;
    floe_time expires;
    uint32_t owner;
    uint8_t state; /* enum resv_state */
};

struct floe_relay_resv_table {
    struct floe_allocator alloc;
    struct resv_entry *slots;
    uint32_t mask; /* slot count - 1, a power of two at least twice the capacity */
    uint32_t capacity;
    uint32_t count;
};

/* splitmix64's finaliser: tokens are random, but lookups take any client value. */
static uint32_t resv_hash(const struct floe_relay_resv_table *t, uint64_t token)
{
    token ^= token >> 30;
    token *= 0xbf58476d1ce4e5b9u;
    token ^= token >> 27;
    token *= 0x94d049bb133111ebu;
    token ^= token >> 31;
    return (uint32_t)token & t->mask;
}

int floe_relay_resv_table_new(struct floe_relay_resv_table **out,
                              const struct floe_allocator *alloc, uint32_t capacity)
{
    struct floe_relay_resv_table *t;
    uint32_t slots = 16;

    if (!out || !alloc || capacity == 0 || capacity > (1u << 24))
        return FLOE_ERR_INVALID_ARG;
    while (slots < capacity * 2u)
        slots <<= 1;
    t = floe_mem_calloc(alloc, 1, sizeof(*t));
    if (!t)
        return FLOE_ERR_NOMEM;
    t->alloc = *alloc;
    t->slots = floe_mem_calloc(alloc, slots, sizeof(*t->slots));
    if (!t->slots) {
        floe_mem_free(alloc, t);
        return FLOE_ERR_NOMEM;
    }
    t->mask = slots - 1;
    t->capacity = capacity;
    *out = t;
    return 0;
}

void floe_relay_resv_table_free(struct floe_relay_resv_table *t)
{
    if (!t)
        return;
    floe_mem_free(&t->alloc, t->slots);
    floe_mem_free(&t->alloc, t);
}

static struct resv_entry *resv_find(const struct floe_relay_resv_table *t, uint64_t token)
{
    uint32_t i = resv_hash(t, token);

    while (t->slots[i].state != RESV_EMPTY) {
        if (t->slots[i].token == token)
            return &t->slots[i];
        i = (i + 1) & t->mask;
    }
    return NULL;
}

/* Empty slot e and shift later members of its probe run back (Knuth's algorithm R). */
static void resv_delete(struct floe_relay_resv_table *t, struct resv_entry *e)
{
    uint32_t hole = (uint32_t)(e - t->slots), i = hole, home;

    for (;;) {
        t->slots[hole].state = RESV_EMPTY;
        do {
            i = (i + 1) & t->mask;
            if (t->slots[i].state == RESV_EMPTY) {
                t->count--;
                return;
            }
            home = resv_hash(t, t->slots[i].token);
            /* stays if its home lies cyclically in (hole, i] */
        } while (hole <= i ? (hole < home && home <= i) : (hole < home || home <= i));
        t->slots[hole] = t->slots[i];
        hole = i;
    }
}

int floe_relay_resv_table_reserve(struct floe_relay_resv_table *t, uint32_t owner, uint64_t token,
                                  const struct floe_addr *relayed, floe_time expires)
{
    uint32_t i;

    if (!t || !relayed)
        return FLOE_ERR_INVALID_ARG;
    if (t->count >= t->capacity)
        return FLOE_ERR_NOMEM;
    if (resv_find(t, token))
        return FLOE_ERR_STATE;
    i = resv_hash(t, token);
    while (t->slots[i].state != RESV_EMPTY)
        i = (i + 1) & t->mask;
    t->slots[i].token = token;
    t->slots[i].relayed = *relayed;
    t->slots[i].expires = expires;
    t->slots[i].owner = owner;
    t->slots[i].state = RESV_RESERVED;
    t->count++;
    return 0;
}

int floe_relay_resv_table_claim(struct floe_relay_resv_table *t, uint32_t claimer, uint64_t token,
                                floe_time now, struct floe_addr *relayed, uint32_t *owner)
{
    struct resv_entry *e = t && relayed ? resv_find(t, token) : NULL;

    if (!e || e->state != RESV_RESERVED || e->expires <= now)
        return FLOE_ERR_NOT_FOUND;
    *relayed = e->relayed;
    if (owner)
        *owner = e->owner;
    if (e->owner == claimer)
        resv_delete(t, e); /* the owner's own port: nothing to give back */
    else
        e->state = RESV_CLAIMED;
    return 0;
}

void floe_relay_resv_table_release(struct floe_relay_resv_table *t, uint64_t token)
{
    struct resv_entry *e = t ? resv_find(t, token) : NULL;

    if (e && e->state == RESV_CLAIMED)
        e->state = RESV_RELEASED;
}

bool floe_relay_resv_table_settle(struct floe_relay_resv_table *t, uint64_t token)
{
    struct resv_entry *e = t ? resv_find(t, token) : NULL;

    if (!e)
        return true;
    if (e->state == RESV_CLAIMED)
        return false;
    resv_delete(t, e);
    return true;
}

uint32_t floe_relay_resv_table_count(const struct floe_relay_resv_table *t)
{
    return t ? t->count : 0;
}
