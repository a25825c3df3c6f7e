/*
 * The longest-prefix trie: one binary trie per family, one level per address bit. A node
 * holds the value of the prefix that ends there; a lookup keeps the last value seen on its
 * way down, which is the longest matching prefix. Nodes left without a value or children
 * are freed.
 */
#include <string.h>

#include "floe/iptrie.h"

struct floe_iptrie_node {
    struct floe_iptrie_node *child[2];
    void *value; /* the prefix ending here; NULL: none */
};

static int trie_fam(uint8_t family)
{
    return family == FLOE_AF_INET6 ? 1 : 0;
}

static unsigned trie_bits(uint8_t family)
{
    return family == FLOE_AF_INET6 ? 128 : 32;
}

static int trie_bit(const uint8_t *ip, unsigned i)
{
    return (ip[i / 8] >> (7 - i % 8)) & 1;
}

static bool trie_prefix_ok(const struct floe_prefix *p)
{
    return p && (p->family == FLOE_AF_INET || p->family == FLOE_AF_INET6) &&
           p->len <= trie_bits(p->family);
}

void floe_iptrie_init(struct floe_iptrie *t, const struct floe_allocator *alloc)
{
    memset(t, 0, sizeof(*t));
    if (alloc)
        t->alloc = *alloc;
}

int floe_iptrie_insert(struct floe_iptrie *t, const struct floe_prefix *p, void *value)
{
    struct floe_iptrie_node **n;
    unsigned i;

    if (!t || !trie_prefix_ok(p) || !value)
        return FLOE_ERR_INVALID_ARG;
    n = &t->root[trie_fam(p->family)];
    for (i = 0;; i++) {
        if (!*n) {
            *n = floe_mem_calloc(&t->alloc, 1, sizeof(**n));
            if (!*n)
                return FLOE_ERR_NOMEM;
        }
        if (i == p->len)
            break;
        n = &(*n)->child[trie_bit(p->ip, i)];
    }
    if (!(*n)->value)
        t->count++;
    (*n)->value = value;
    return 0;
}

static bool trie_node_empty(const struct floe_iptrie_node *n)
{
    return !n->value && !n->child[0] && !n->child[1];
}

/* Unmap p under *n at depth i when it holds value (NULL: any); prune on the way up. */
static bool trie_remove_at(struct floe_iptrie *t, struct floe_iptrie_node **n,
                           const struct floe_prefix *p, unsigned i, const void *value)
{
    bool removed = false;

    if (!*n)
        return false;
    if (i == p->len) {
        removed = (*n)->value && (!value || (*n)->value == value);
        if (removed)
            (*n)->value = NULL;
    } else {
        removed = trie_remove_at(t, &(*n)->child[trie_bit(p->ip, i)], p, i + 1, value);
    }
    if (trie_node_empty(*n)) {
        floe_mem_free(&t->alloc, *n);
        *n = NULL;
    }
    return removed;
}

int floe_iptrie_remove(struct floe_iptrie *t, const struct floe_prefix *p, const void *value)
{
    if (!t || !trie_prefix_ok(p))
        return FLOE_ERR_INVALID_ARG;
    if (!trie_remove_at(t, &t->root[trie_fam(p->family)], p, 0, value))
        return FLOE_ERR_NOT_FOUND;
    t->count--;
    return 0;
}

/* Unmap value everywhere under *n (prune_all: free everything); counts what it unmapped. */
static size_t trie_prune(struct floe_iptrie *t, struct floe_iptrie_node **n, const void *value,
                         bool prune_all)
{
    size_t removed;

    if (!*n)
        return 0;
    removed = trie_prune(t, &(*n)->child[0], value, prune_all);
    removed += trie_prune(t, &(*n)->child[1], value, prune_all);
    if ((*n)->value && (prune_all || (*n)->value == value)) {
        (*n)->value = NULL;
        removed++;
    }
    if (trie_node_empty(*n)) {
        floe_mem_free(&t->alloc, *n);
        *n = NULL;
    }
    return removed;
}

size_t floe_iptrie_remove_value(struct floe_iptrie *t, const void *value)
{
    size_t removed;

    if (!t || !value)
        return 0;
    removed = trie_prune(t, &t->root[0], value, false) + trie_prune(t, &t->root[1], value, false);
    t->count -= removed;
    return removed;
}

void floe_iptrie_deinit(struct floe_iptrie *t)
{
    if (!t)
        return;
    (void)trie_prune(t, &t->root[0], NULL, true);
    (void)trie_prune(t, &t->root[1], NULL, true);
    t->count = 0;
}

void *floe_iptrie_get(const struct floe_iptrie *t, const struct floe_prefix *p)
{
    const struct floe_iptrie_node *n;
    unsigned i;

    if (!t || !trie_prefix_ok(p))
        return NULL;
    n = t->root[trie_fam(p->family)];
    for (i = 0; n && i < p->len; i++)
        n = n->child[trie_bit(p->ip, i)];
    return n ? n->value : NULL;
}

void *floe_iptrie_lookup(const struct floe_iptrie *t, uint8_t family, const uint8_t *ip)
{
    const struct floe_iptrie_node *n;
    void *best = NULL;
    unsigned i, bits = trie_bits(family);

    if (family != FLOE_AF_INET && family != FLOE_AF_INET6)
        return NULL;
    n = t->root[trie_fam(family)];
    for (i = 0; n; i++) {
        if (n->value)
            best = n->value;
        if (i == bits)
            break;
        n = n->child[trie_bit(ip, i)];
    }
    return best;
}

void *floe_iptrie_lookup_packet(const struct floe_iptrie *t, const uint8_t *pkt, size_t len,
                                bool src)
{
    if (len >= 20 && pkt[0] >> 4 == 4)
        return floe_iptrie_lookup(t, FLOE_AF_INET, pkt + (src ? 12 : 16));
    if (len >= 40 && pkt[0] >> 4 == 6)
        return floe_iptrie_lookup(t, FLOE_AF_INET6, pkt + (src ? 8 : 24));
    return NULL;
}

struct trie_walk {
    const void *value;
    void (*fn)(void *user, const struct floe_prefix *p, void *value);
    void *user;
    struct floe_prefix cur;
};

static void trie_walk_at(const struct floe_iptrie_node *n, struct trie_walk *w, unsigned depth)
{
    uint8_t mask = (uint8_t)(0x80 >> (depth % 8));
    int b;

    if (!n)
        return;
    if (n->value && (!w->value || n->value == w->value)) {
        w->cur.len = (uint8_t)depth;
        w->fn(w->user, &w->cur, n->value);
    }
    for (b = 0; b < 2 && depth < trie_bits(w->cur.family); b++) {
        if (b)
            w->cur.ip[depth / 8] |= mask;
        trie_walk_at(n->child[b], w, depth + 1);
        w->cur.ip[depth / 8] &= (uint8_t)~mask;
    }
}

void floe_iptrie_walk(const struct floe_iptrie *t, const void *value,
                      void (*fn)(void *user, const struct floe_prefix *p, void *value), void *user)
{
    struct trie_walk w = {.value = value, .fn = fn, .user = user};
    int f;

    for (f = 0; f < 2; f++) {
        memset(&w.cur, 0, sizeof(w.cur));
        w.cur.family = f ? FLOE_AF_INET6 : FLOE_AF_INET;
        trie_walk_at(t->root[f], &w, 0);
    }
}
