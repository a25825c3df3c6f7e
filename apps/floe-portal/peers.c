/*
 * The peers a connection may exchange candidates with, cached (docs/protocol.md section 5):
 * a device's candidates go only to a device it shares a live authorization with, and asking
 * the database for every candidate message was the limit of the portal's throughput
 * (bench/portal_load.sh: 28,469 of 49,998 messages delivered at 10,000 devices on two
 * PostgreSQL instances). An authorization made or acknowledged on this instance puts its
 * peer in both connections' caches; a miss asks the database once and caches a yes. An entry
 * lasts --candidate-cache seconds (30; 0: no cache) and never past its authorization's expiry
 * when that is known; a revocation made here drops it at once, and every change of resources
 * or policies this instance applies (its own or another instance's) empties all caches.
 */
#include <stdlib.h>

#include "serve.h"

/* The entry of peer in c's cache, or NULL. */
static struct portald_peer_ok *peers_find(struct portald_conn *c, int64_t peer)
{
    for (size_t i = 0; i < c->n_peer_ok; i++)
        if (c->peer_ok[i].peer == peer)
            return &c->peer_ok[i];
    return NULL;
}

bool portald_peers_ok(struct portald_conn *c, int64_t peer, int64_t now)
{
    const struct portald_peer_ok *p = peers_find(c, peer);

    return p && p->until > now;
}

/* A slot for a new entry: a free or an expired one, else the one that expires first. */
static struct portald_peer_ok *peers_slot(struct portald_conn *c, int64_t now)
{
    struct portald_peer_ok *oldest = NULL, *grown;
    size_t cap;

    for (size_t i = 0; i < c->n_peer_ok; i++) {
        if (c->peer_ok[i].until <= now)
            return &c->peer_ok[i];
        if (!oldest || c->peer_ok[i].until < oldest->until)
            oldest = &c->peer_ok[i];
    }
    if (c->n_peer_ok < c->cap_peer_ok)
        return &c->peer_ok[c->n_peer_ok++];
    cap = c->cap_peer_ok ? c->cap_peer_ok * 2 : 4;
    if (cap > PORTALD_PEER_OK_MAX || !(grown = realloc(c->peer_ok, cap * sizeof(*grown))))
        return oldest;
    c->peer_ok = grown;
    c->cap_peer_ok = cap;
    return &c->peer_ok[c->n_peer_ok++];
}

void portald_peers_add(struct portald_conn *c, int64_t peer, int64_t now, int64_t until)
{
    struct portald_peer_ok *p = peers_find(c, peer);

    if (until <= now || (!p && !(p = peers_slot(c, now))))
        return;
    p->peer = peer;
    p->until = until;
}

void portald_peers_clear(struct portald_conn *c)
{
    c->n_peer_ok = 0;
}

void portald_peers_forget(struct portald_conn *c, int64_t peer)
{
    struct portald_peer_ok *p = peers_find(c, peer);

    if (p)
        p->until = 0;
}

void portald_peers_free(struct portald_conn *c)
{
    free(c->peer_ok);
    c->peer_ok = NULL;
    c->n_peer_ok = c->cap_peer_ok = 0;
}
