/*
 * Allowed IPs: one binary trie per family, one level per address bit. A node holds the peer
 * of the prefix that ends there; a lookup keeps the last peer seen on its way down, which is
 * the longest matching prefix. Nodes left without a peer or children are freed.
 */
#include <stdlib.h>
#include <string.h>

#include "wgd.h"

static int aip_fam(uint8_t family)
{
    return family == FLOE_AF_INET6 ? 1 : 0;
}

static int aip_bit(const uint8_t *ip, unsigned i)
{
    return (ip[i / 8] >> (7 - i % 8)) & 1;
}

static unsigned aip_bits(uint8_t family)
{
    return family == FLOE_AF_INET6 ? 128 : 32;
}

int wgd_prefix_parse(const char *s, struct wgd_prefix *p)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    struct floe_addr a;
    unsigned long cidr;
    char *end;
    unsigned i;

    if (n == 0 || n >= sizeof(ip))
        return -1;
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (floe_addr_parse_ip(ip, &a) != 0)
        return -1;
    cidr = aip_bits(a.family);
    if (slash) {
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        cidr = strtoul(slash + 1, &end, 10);
        if (*end || cidr > aip_bits(a.family))
            return -1;
    }
    memset(p, 0, sizeof(*p));
    p->family = a.family;
    p->cidr = (uint8_t)cidr;
    for (i = 0; i < cidr; i++)
        p->ip[i / 8] |= (uint8_t)(aip_bit(a.ip, i) << (7 - i % 8));
    return 0;
}

int wgd_aip_insert(struct wgd_aip *t, const struct wgd_prefix *p, struct wgd_peer *peer)
{
    struct wgd_aip_node **n = &t->root[aip_fam(p->family)];
    unsigned i;

    for (i = 0;; i++) {
        if (!*n) {
            *n = calloc(1, sizeof(**n));
            if (!*n)
                return -1;
        }
        if (i == p->cidr)
            break;
        n = &(*n)->child[aip_bit(p->ip, i)];
    }
    (*n)->peer = peer;
    return 0;
}

static bool aip_node_empty(const struct wgd_aip_node *n)
{
    return !n->peer && !n->child[0] && !n->child[1];
}

/* Remove the prefix (ip, cidr) under *n at depth i when peer owns it; prune on the way up. */
static bool aip_remove_at(struct wgd_aip_node **n, const struct wgd_prefix *p, unsigned i,
                          const struct wgd_peer *peer)
{
    bool removed = false;

    if (!*n)
        return false;
    if (i == p->cidr) {
        removed = (*n)->peer == peer;
        if (removed)
            (*n)->peer = NULL;
    } else {
        removed = aip_remove_at(&(*n)->child[aip_bit(p->ip, i)], p, i + 1, peer);
    }
    if (aip_node_empty(*n)) {
        free(*n);
        *n = NULL;
    }
    return removed;
}

bool wgd_aip_remove(struct wgd_aip *t, const struct wgd_prefix *p, const struct wgd_peer *peer)
{
    return aip_remove_at(&t->root[aip_fam(p->family)], p, 0, peer);
}

/* Unmap peer everywhere under *n (peer NULL: free everything). */
static void aip_prune(struct wgd_aip_node **n, const struct wgd_peer *peer)
{
    if (!*n)
        return;
    aip_prune(&(*n)->child[0], peer);
    aip_prune(&(*n)->child[1], peer);
    if (!peer || (*n)->peer == peer)
        (*n)->peer = NULL;
    if (aip_node_empty(*n)) {
        free(*n);
        *n = NULL;
    }
}

void wgd_aip_remove_peer(struct wgd_aip *t, const struct wgd_peer *peer)
{
    aip_prune(&t->root[0], peer);
    aip_prune(&t->root[1], peer);
}

void wgd_aip_clear(struct wgd_aip *t)
{
    aip_prune(&t->root[0], NULL);
    aip_prune(&t->root[1], NULL);
}

struct wgd_peer *wgd_aip_lookup(const struct wgd_aip *t, uint8_t family, const uint8_t *ip)
{
    const struct wgd_aip_node *n = t->root[aip_fam(family)];
    struct wgd_peer *best = NULL;
    unsigned i, bits = aip_bits(family);

    for (i = 0; n; i++) {
        if (n->peer)
            best = n->peer;
        if (i == bits)
            break;
        n = n->child[aip_bit(ip, i)];
    }
    return best;
}

struct aip_walk {
    const struct wgd_peer *peer;
    void (*fn)(void *user, const struct wgd_prefix *p);
    void *user;
    struct wgd_prefix cur;
};

static void aip_walk_at(const struct wgd_aip_node *n, struct aip_walk *w, unsigned depth)
{
    uint8_t mask = (uint8_t)(0x80 >> (depth % 8));
    int b;

    if (!n)
        return;
    if (n->peer == w->peer) {
        w->cur.cidr = (uint8_t)depth;
        w->fn(w->user, &w->cur);
    }
    for (b = 0; b < 2 && depth < aip_bits(w->cur.family); b++) {
        if (b)
            w->cur.ip[depth / 8] |= mask;
        aip_walk_at(n->child[b], w, depth + 1);
        w->cur.ip[depth / 8] &= (uint8_t)~mask;
    }
}

void wgd_aip_walk(const struct wgd_aip *t, const struct wgd_peer *peer,
                  void (*fn)(void *user, const struct wgd_prefix *p), void *user)
{
    struct aip_walk w = {.peer = peer, .fn = fn, .user = user};
    int f;

    for (f = 0; f < 2; f++) {
        memset(&w.cur, 0, sizeof(w.cur));
        w.cur.family = f ? FLOE_AF_INET6 : FLOE_AF_INET;
        aip_walk_at(t->root[f], &w, 0);
    }
}
