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

    t->peer_heap = floe_mem_calloc(a, t->cfg.max_peers, sizeof(*t->peer_heap));
    t->peer_due = floe_mem_calloc(a, t->cfg.max_peers, sizeof(*t->peer_due));
    if (!t->peer_heap || !t->peer_due || ring_init(t, &t->flushq) || ring_init(t, &t->reqq))
        return FLOE_ERR_NOMEM;
    return 0;
}

void floe__turn_sched_deinit(struct floe_turn *t)
{
    floe_mem_free(&t->cfg.alloc, t->peer_heap);
    floe_mem_free(&t->cfg.alloc, t->peer_due);
    floe_mem_free(&t->cfg.alloc, t->flushq.slot);
    floe_mem_free(&t->cfg.alloc, t->reqq.slot);
    t->peer_heap = t->peer_due = t->flushq.slot = t->reqq.slot = NULL;
}

/* Every peer is gone (the table was cleared): empty heap and queues. */
void floe__turn_sched_clear(struct floe_turn *t)
{
    t->peer_heap_len = 0;
    t->flushq.head = t->flushq.len = 0;
    t->reqq.head = t->reqq.len = 0;
}

/* ------------------------------------------------------------------- heap */

static floe_time heap_at(const struct floe_turn *t, uint32_t pos)
{
    return t->peers[t->peer_heap[pos]].heap_at;
}

static void heap_place(struct floe_turn *t, uint32_t pos, uint32_t idx)
{
    t->peer_heap[pos] = idx;
    t->peers[idx].heap_pos = pos;
}

static void heap_up(struct floe_turn *t, uint32_t pos)
{
    uint32_t idx = t->peer_heap[pos];
    floe_time at = t->peers[idx].heap_at;

    while (pos > 0 && heap_at(t, (pos - 1) / 2) > at) {
        heap_place(t, pos, t->peer_heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    heap_place(t, pos, idx);
}

static void heap_down(struct floe_turn *t, uint32_t pos)
{
    uint32_t idx = t->peer_heap[pos], child;
    floe_time at = t->peers[idx].heap_at;

    for (;;) {
        child = 2 * pos + 1;
        if (child >= t->peer_heap_len)
            break;
        if (child + 1 < t->peer_heap_len && heap_at(t, child + 1) < heap_at(t, child))
            child++;
        if (heap_at(t, child) >= at)
            break;
        heap_place(t, pos, t->peer_heap[child]);
        pos = child;
    }
    heap_place(t, pos, idx);
}

static void heap_remove(struct floe_turn *t, struct turn_peer *p)
{
    uint32_t pos = p->heap_pos, last;

    if (pos == TURN_NO_POS)
        return;
    p->heap_pos = TURN_NO_POS;
    last = t->peer_heap[--t->peer_heap_len];
    if (pos == t->peer_heap_len)
        return;
    heap_place(t, pos, last);
    heap_up(t, pos);
    heap_down(t, t->peers[last].heap_pos);
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
    floe_time old = p->heap_at;

    if (at == FLOE_TIME_NEVER) {
        heap_remove(t, p);
    } else if (p->heap_pos == TURN_NO_POS) {
        p->heap_at = at;
        heap_place(t, t->peer_heap_len++, (uint32_t)(p - t->peers));
        heap_up(t, p->heap_pos);
    } else if (at != old) {
        p->heap_at = at;
        if (at < old)
            heap_up(t, p->heap_pos);
        else
            heap_down(t, p->heap_pos);
    }
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

    while (t->peer_heap_len && heap_at(t, 0) <= now) {
        struct turn_peer *p = &t->peers[t->peer_heap[0]];

        t->peer_due[k++] = (uint32_t)(p - t->peers);
        heap_remove(t, p);
    }
    return k;
}

/* The earliest peer deadline: the top of the heap. */
floe_time floe__turn_peers_deadline(const struct floe_turn *t)
{
    return t->peer_heap_len ? heap_at(t, 0) : FLOE_TIME_NEVER;
}
