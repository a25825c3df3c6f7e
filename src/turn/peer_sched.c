/*
 * The per-peer work of the TURN client without a scan of the peers: a binary min-heap of the
 * peers with a pending timer (a lease to refresh or a request's retransmission or give-up),
 * keyed by the earliest of them, and two FIFOs of the peers with something to send (a queued
 * payload, a request whose send is due). Every change of a peer's leases or requests ends in
 * floe__turn_peer_touch, which re-keys it and queues it, so poll_timeout reads the top,
 * handle_timeout visits only the due peers and poll_transmit only the ready ones: a gateway's
 * relay holding thousands of peers costs a wakeup the same as one holding ten.
 */
#include "turn_int.h"

static int ring_init(struct floe_turn *t, struct turn_ring *r)
{
    r->slot = floe_mem_calloc(&t->cfg.alloc, t->cfg.max_peers, sizeof(*r->slot));
    r->head = r->len = 0;
    return r->slot ? 0 : FLOE_ERR_NOMEM;
}

static void ring_push(struct floe_turn *t, struct turn_ring *r, struct turn_peer *p, bool *in)
{
    if (*in)
        return;
    *in = true;
    r->slot[(r->head + r->len) % t->cfg.max_peers] = (uint32_t)(p - t->peers);
    r->len++;
}

/* The peer at the front of r, or NULL when r is empty. */
struct turn_peer *floe__turn_ring_front(struct floe_turn *t, struct turn_ring *r)
{
    return r->len ? &t->peers[r->slot[r->head]] : NULL;
}

/* Take the front peer off r (r non-empty). */
void floe__turn_ring_pop(struct floe_turn *t, struct turn_ring *r)
{
    struct turn_peer *p = &t->peers[r->slot[r->head]];

    if (r == &t->flushq)
        p->in_flushq = false;
    else
        p->in_reqq = false;
    r->head = (r->head + 1) % t->cfg.max_peers;
    r->len--;
}

int floe__turn_sched_init(struct floe_turn *t)
{
    const struct floe_allocator *a = &t->cfg.alloc;

    t->peer_due = floe_mem_calloc(a, t->cfg.max_peers, sizeof(*t->peer_due));
    if (floe__heap_init(&t->peer_timers, a, t->cfg.max_peers) || !t->peer_due ||
        ring_init(t, &t->flushq) || ring_init(t, &t->reqq))
        return FLOE_ERR_NOMEM;
    return 0;
}

void floe__turn_sched_deinit(struct floe_turn *t)
{
    floe__heap_free(&t->peer_timers, &t->cfg.alloc);
    floe_mem_free(&t->cfg.alloc, t->peer_due);
    floe_mem_free(&t->cfg.alloc, t->flushq.slot);
    floe_mem_free(&t->cfg.alloc, t->reqq.slot);
    t->peer_due = t->flushq.slot = t->reqq.slot = NULL;
}

/* Every peer is gone (the table was cleared): empty heap and queues. */
void floe__turn_sched_clear(struct floe_turn *t)
{
    floe__heap_clear(&t->peer_timers);
    t->flushq.head = t->flushq.len = 0;
    t->reqq.head = t->reqq.len = 0;
}

/* ------------------------------------------------------------------ peers */

/* A lease's next deadline: its request's (retransmission, give-up) or its refresh. */
static floe_time sched_lease_at(const struct turn_lease *l)
{
    if (l->req.active)
        return floe_stun_txn_poll_timeout(&l->req.txn);
    return l->state == TURN_LEASE_OK ? l->next : FLOE_TIME_NEVER;
}

/* Re-key p after a change of its leases, requests or queued payload, and queue it. */
void floe__turn_peer_touch(struct floe_turn *t, struct turn_peer *p)
{
    floe_time at = floe_time_min(sched_lease_at(&p->perm), sched_lease_at(&p->chan));
    uint32_t idx = (uint32_t)(p - t->peers);

    if (at == FLOE_TIME_NEVER)
        floe__heap_remove(&t->peer_timers, idx);
    else
        floe__heap_set(&t->peer_timers, idx, at);
    if (floe__turn_req_send_due(&p->perm.req) || floe__turn_req_send_due(&p->chan.req))
        ring_push(t, &t->reqq, p, &p->in_reqq);
    if (p->has_queued)
        ring_push(t, &t->flushq, p, &p->in_flushq);
}

/*
 * Take the peers due at now out of the heap into peer_due and return how many: the caller
 * handles each once and touches it (which puts it back), so a peer whose deadline stays at
 * now (a request waiting for poll_transmit) is not visited again in the same wakeup.
 */
uint32_t floe__turn_sched_take_due(struct floe_turn *t, floe_time now)
{
    uint32_t k = 0;

    while (t->peer_timers.len && floe__heap_top_at(&t->peer_timers) <= now)
        t->peer_due[k++] = floe__heap_pop(&t->peer_timers);
    return k;
}

/* The earliest peer deadline: the top of the heap. */
floe_time floe__turn_peers_deadline(const struct floe_turn *t)
{
    return floe__heap_top_at(&t->peer_timers);
}
