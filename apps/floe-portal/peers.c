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
#include <string.h>

#include "serve.h"

/*
 * The entries are kept sorted by peer id: a lookup, made for every recipient of every candidate
 * message, is a binary search (a gateway may hold thousands); an insertion moves the tail.
 */

/* Where peer is in c's cache, or where it would go (*found false). */
static size_t peers_pos(const struct portald_conn *c, int64_t peer, bool *found)
{
    size_t lo = 0, hi = c->n_peer_ok;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->peer_ok[mid].peer < peer)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < c->n_peer_ok && c->peer_ok[lo].peer == peer;
    return lo;
}

bool portald_peers_ok(struct portald_conn *c, int64_t peer, int64_t now)
{
    bool found;
    size_t i = peers_pos(c, peer, &found);

    return found && c->peer_ok[i].until > now;
}

/* Room for one more entry: grown, or the expired ones (else the one expiring first) removed. */
static bool peers_room(struct portald_conn *c, int64_t now)
{
    struct portald_peer_ok *grown;
    size_t i, kept = 0, oldest = 0, cap;

    if (c->n_peer_ok < c->cap_peer_ok)
        return true;
    cap = c->cap_peer_ok ? c->cap_peer_ok * 2 : 4;
    if (cap <= PORTALD_PEER_OK_MAX && (grown = realloc(c->peer_ok, cap * sizeof(*grown)))) {
        c->peer_ok = grown;
        c->cap_peer_ok = cap;
        return true;
    }
    for (i = 0; i < c->n_peer_ok; i++) {
        if (c->peer_ok[i].until <= now)
            continue;
        if (c->peer_ok[i].until < c->peer_ok[oldest].until)
            oldest = kept;
        c->peer_ok[kept++] = c->peer_ok[i];
    }
    if (kept == c->n_peer_ok && kept > oldest) { /* none expired: the one expiring first goes */
        memmove(&c->peer_ok[oldest], &c->peer_ok[oldest + 1],
                (kept - oldest - 1) * sizeof(c->peer_ok[0]));
        kept--;
    }
    c->n_peer_ok = kept;
    return c->n_peer_ok < c->cap_peer_ok;
}

void portald_peers_add(struct portald_conn *c, int64_t peer, int64_t now, int64_t until)
{
    bool found;
    size_t i;

    if (until <= now)
        return;
    i = peers_pos(c, peer, &found);
    if (!found) {
        if (!peers_room(c, now))
            return;
        i = peers_pos(c, peer, &found); /* the room may have moved entries */
        memmove(&c->peer_ok[i + 1], &c->peer_ok[i], (c->n_peer_ok - i) * sizeof(c->peer_ok[0]));
        c->n_peer_ok++;
        c->peer_ok[i].peer = peer;
    }
    c->peer_ok[i].until = until;
}

void portald_peers_clear(struct portald_conn *c)
{
    c->n_peer_ok = 0;
}

void portald_peers_forget(struct portald_conn *c, int64_t peer)
{
    bool found;
    size_t i = peers_pos(c, peer, &found);

    if (found)
        c->peer_ok[i].until = 0;
}

void portald_peers_free(struct portald_conn *c)
{
    free(c->peer_ok);
    c->peer_ok = NULL;
    c->n_peer_ok = c->cap_peer_ok = 0;
}
