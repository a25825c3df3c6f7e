/*
 * Peers of the allocation: permissions (RFC 8656 section 9), channel bindings
 * (section 12) and their refreshes, and the data path both ways: Send
 * indications and ChannelData out, Data indications and ChannelData in.
 *
 * A peer entry lives until the allocation is lost, closed or reset; its index
 * gives its channel number, so a number is never reused for another peer
 * within one allocation (section 12: a number stays tied to its peer).
 *
 * Nothing is scanned per packet: a channel number is an index, an address is a hash lookup
 * (peers_by_addr), and the entries of one IP (permissions are per IP) hang off peers_by_ip.
 */
#include <string.h>

#include "turn_int.h"

/* The table and its indexes, for max_peers entries. 0 or FLOE_ERR_NOMEM (nothing kept). */
int floe__turn_peers_init(struct floe_turn *t)
{
    const struct floe_allocator *a = &t->cfg.alloc;

    t->peers = floe_mem_calloc(a, t->cfg.max_peers, sizeof(*t->peers));
    if (!t->peers || floe__map_init(&t->peers_by_addr, a, t->cfg.max_peers) < 0 ||
        floe__map_init(&t->peers_by_ip, a, t->cfg.max_peers) < 0 || floe__turn_sched_init(t) < 0) {
        floe__turn_peers_deinit(t);
        return FLOE_ERR_NOMEM;
    }
    return 0;
}

void floe__turn_peers_deinit(struct floe_turn *t)
{
    if (t->peers)
        floe__turn_peers_clear(t);
    floe_mem_free(&t->cfg.alloc, t->peers);
    floe__map_free(&t->peers_by_addr, &t->cfg.alloc);
    floe__map_free(&t->peers_by_ip, &t->cfg.alloc);
    floe__turn_sched_deinit(t);
    t->peers = NULL;
}

static struct turn_peer *peer_scan(struct floe_turn *t, const struct floe_addr *addr)
{
    uint32_t i;

    for (i = 0; i < t->n_peers; i++) {
        if (floe_addr_eq(&t->peers[i].addr, addr))
            return &t->peers[i];
    }
    return NULL;
}

/* The entry of addr or NULL: one hash lookup. */
struct turn_peer *floe__turn_peer_find(struct floe_turn *t, const struct floe_addr *addr)
{
    uint32_t i;

    if (t->peers_unindexed)
        return peer_scan(t, addr);
    i = floe__map_get(&t->peers_by_addr, floe__map_hash_addr(addr, false));
    if (i == FLOE__MAP_NONE || !floe_addr_eq(&t->peers[i].addr, addr))
        return NULL;
    return &t->peers[i];
}

/* Index the new entry i: by address, and at the head of its IP's list. */
static void peer_index(struct floe_turn *t, uint32_t i)
{
    struct turn_peer *p = &t->peers[i];
    uint64_t key = floe__map_hash_addr(&p->addr, false);
    uint64_t ip_key = floe__map_hash_addr(&p->addr, true);
    uint32_t head = floe__map_get(&t->peers_by_ip, ip_key);

    if (floe__map_get(&t->peers_by_addr, key) != FLOE__MAP_NONE ||
        (head != FLOE__MAP_NONE && !floe_addr_ip_eq(&t->peers[head].addr, &p->addr))) {
        t->peers_unindexed = true;
        return;
    }
    floe__map_put(&t->peers_by_addr, key, i);
    p->ip_next = head;
    floe__map_put(&t->peers_by_ip, ip_key, i);
}

/* An entry of addr's IP other than except whose permission is at least min, or NULL. */
static struct turn_peer *peer_of_ip(struct floe_turn *t, const struct floe_addr *addr,
                                    const struct turn_peer *except, enum turn_lease_state min)
{
    uint32_t i;

    if (t->peers_unindexed) {
        for (i = 0; i < t->n_peers; i++) {
            struct turn_peer *o = &t->peers[i];

            if (o != except && o->perm.state >= min && floe_addr_ip_eq(&o->addr, addr))
                return o;
        }
        return NULL;
    }
    i = floe__map_get(&t->peers_by_ip, floe__map_hash_addr(addr, true));
    for (; i != FLOE__MAP_NONE; i = t->peers[i].ip_next) {
        struct turn_peer *o = &t->peers[i];

        if (!floe_addr_ip_eq(&o->addr, addr))
            return NULL;
        if (o != except && o->perm.state >= min)
            return o;
    }
    return NULL;
}

static bool peer_family_relayed(const struct floe_turn *t, const struct floe_addr *addr)
{
    uint8_t i;

    for (i = 0; i < t->n_relayed; i++) {
        if (t->relayed[i].family == addr->family)
            return true;
    }
    return false;
}

/* The entry of addr, created when new. 0, FLOE_ERR_ADDR_FAMILY or FLOE_ERR_NOMEM. */
int floe__turn_peer_get(struct floe_turn *t, const struct floe_addr *addr, struct turn_peer **out)
{
    struct turn_peer *p = floe__turn_peer_find(t, addr);

    if (p) {
        *out = p;
        return 0;
    }
    if (!peer_family_relayed(t, addr))
        return FLOE_ERR_ADDR_FAMILY;
    if (t->n_peers >= t->cfg.max_peers)
        return FLOE_ERR_NOMEM;
    p = &t->peers[t->n_peers++];
    memset(p, 0, sizeof(*p));
    p->addr = *addr;
    p->perm.next = p->chan.next = FLOE_TIME_NEVER;
    peer_index(t, t->n_peers - 1);
    *out = p;
    return 0;
}

void floe__turn_peers_clear(struct floe_turn *t)
{
    uint32_t i;

    for (i = 0; i < t->n_peers; i++) {
        if (t->peers[i].has_queued)
            t->stats.drops[FLOE_TURN_DROP_QUEUE]++;
        floe_mem_free(&t->cfg.alloc, t->peers[i].queued);
    }
    if (t->n_peers)
        memset(t->peers, 0, t->n_peers * sizeof(*t->peers));
    t->n_peers = 0;
    floe__map_clear(&t->peers_by_addr);
    floe__map_clear(&t->peers_by_ip);
    floe__turn_sched_clear(t);
    t->peers_unindexed = false;
}

/* ------------------------------------------------------------------ leases */

static void lease_start(struct floe_turn *t, struct turn_peer *p, struct turn_lease *l,
                        uint16_t method, floe_time now)
{
    floe__turn_req_start(t, &l->req, method, (int32_t)(p - t->peers), now);
    l->used = false;
    if (l->state == TURN_LEASE_NONE)
        l->state = TURN_LEASE_PENDING;
    floe__turn_peer_touch(t, p);
}

/* Confirmed: the server installed it no earlier than the request's first send. */
static bool lease_ok(struct turn_lease *l, floe_time sent, floe_time check_after)
{
    bool first = l->state != TURN_LEASE_OK;

    if (first || sent > l->at)
        l->at = sent;
    l->state = TURN_LEASE_OK;
    l->next = floe_time_add(l->at, check_after);
    return first;
}

/* Traffic to or from the peer: a due refresh is brought forward to now. True when the
 * lease's next check moved (the peer is re-keyed). */
static bool lease_use(struct turn_lease *l, floe_time refresh_after)
{
    floe_time next = l->next;

    l->used = true;
    if (l->state == TURN_LEASE_OK)
        l->next = floe_time_min(l->next, floe_time_add(l->at, refresh_after));
    return l->next != next;
}

/* Traffic to or from p: both leases are in use. */
static void peer_use(struct floe_turn *t, struct turn_peer *p)
{
    bool moved = lease_use(&p->perm, t->cfg.permission_refresh);

    if (lease_use(&p->chan, t->cfg.channel_rebind) || moved)
        floe__turn_peer_touch(t, p);
}

/* 1 when a refresh is due; an unused lease lapses at the end of its lifetime. */
static int lease_tick(struct turn_lease *l, floe_time now, floe_time lifetime)
{
    if (l->state != TURN_LEASE_OK || l->req.active || now < l->next)
        return 0;
    if (l->used)
        return 1;
    if (now >= floe_time_add(l->at, lifetime)) {
        l->state = TURN_LEASE_NONE;
        l->next = FLOE_TIME_NEVER;
        return 0;
    }
    l->next = floe_time_add(l->at, lifetime);
    return 0;
}

static void peer_event(struct floe_turn *t, enum floe_turn_event_kind kind,
                       const struct turn_peer *p)
{
    struct floe_turn_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.addr = p->addr;
    if (kind == FLOE_TURN_EV_CHANNEL_ESTABLISHED)
        ev.channel = floe__turn_channel_of(t, p);
    floe__turn_event(t, &ev);
}

void floe__turn_peer_perm_ok(struct floe_turn *t, struct turn_peer *p, floe_time now)
{
    bool first = lease_ok(&p->perm, p->perm.req.txn.first_sent, t->cfg.permission_refresh);

    floe__turn_peer_touch(t, p);
    if (!first)
        return;
    peer_event(t, FLOE_TURN_EV_PERMISSION_ESTABLISHED, p);
    if (t->cfg.auto_channel && !p->keep && p->chan.state == TURN_LEASE_NONE)
        lease_start(t, p, &p->chan, FLOE_STUN_CHANNEL_BIND, now);
}

/* A ChannelBind also installs or refreshes the permission (RFC 8656 section 12.2). */
void floe__turn_peer_chan_ok(struct floe_turn *t, struct turn_peer *p, floe_time now)
{
    floe_time sent = p->chan.req.txn.first_sent;

    (void)now;
    if (lease_ok(&p->perm, sent, t->cfg.permission_refresh))
        peer_event(t, FLOE_TURN_EV_PERMISSION_ESTABLISHED, p);
    if (lease_ok(&p->chan, sent, t->cfg.channel_rebind))
        peer_event(t, FLOE_TURN_EV_CHANNEL_ESTABLISHED, p);
    floe__turn_peer_touch(t, p);
}

/* A CreatePermission or ChannelBind was refused: the lease is gone, queued data too. */
void floe__turn_peer_failed(struct floe_turn *t, struct turn_peer *p, uint16_t method)
{
    struct turn_lease *l = method == FLOE_STUN_CHANNEL_BIND ? &p->chan : &p->perm;

    l->state = TURN_LEASE_NONE;
    l->next = FLOE_TIME_NEVER;
    if (method == FLOE_STUN_CREATE_PERMISSION && p->has_queued) {
        p->has_queued = false;
        floe__turn_drop(t, FLOE_TURN_DROP_QUEUE, "permission refused");
    }
    floe__turn_peer_touch(t, p);
}

/* p's requests that are due: retransmitted or given up. False when that lost the allocation
 * (every peer is gone). */
static bool peer_req_timeouts(struct floe_turn *t, floe_time now, struct turn_peer *p)
{
    if (p->perm.req.active)
        floe__turn_req_timeout(t, now, &p->perm.req);
    if (t->n_peers == 0)
        return false;
    if (p->chan.req.active)
        floe__turn_req_timeout(t, now, &p->chan.req);
    return t->n_peers != 0;
}

/* The peers whose deadline came (peer_sched.c's heap), each once. */
void floe__turn_peers_timeout(struct floe_turn *t, floe_time now)
{
    uint32_t k = floe__turn_sched_take_due(t, now), i;

    for (i = 0; i < k; i++) {
        struct turn_peer *p = &t->peers[t->peer_due[i]];

        t->peer_visits++;
        if (!peer_req_timeouts(t, now, p))
            return;
        if (p->keep)
            p->perm.used = true; /* floe_turn_permit: refreshed for as long as it stands */
        if (lease_tick(&p->perm, now, t->cfg.permission_lifetime))
            lease_start(t, p, &p->perm, FLOE_STUN_CREATE_PERMISSION, now);
        if (lease_tick(&p->chan, now, t->cfg.channel_lifetime))
            lease_start(t, p, &p->chan, FLOE_STUN_CHANNEL_BIND, now);
        floe__turn_peer_touch(t, p);
    }
}

/* The peer entry a caller's request for peer works on: arguments and allocation checked. */
static int peer_for_request(struct floe_turn *t, const struct floe_addr *peer, struct turn_peer **p)
{
    if (!t || !peer)
        return FLOE_ERR_INVALID_ARG;
    if (t->state != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_STATE;
    return floe__turn_peer_get(t, peer, p);
}

int floe_turn_bind_channel(struct floe_turn *t, floe_time now, const struct floe_addr *peer)
{
    struct turn_peer *p;
    int rc = peer_for_request(t, peer, &p);

    if (rc < 0)
        return rc;
    if (!p->chan.req.active)
        lease_start(t, p, &p->chan, FLOE_STUN_CHANNEL_BIND, now);
    return 0;
}

int floe_turn_permit(struct floe_turn *t, floe_time now, const struct floe_addr *peer)
{
    struct turn_peer *p;
    int rc = peer_for_request(t, peer, &p);

    if (rc < 0)
        return rc;
    p->keep = true;
    p->perm.used = true;
    if (p->perm.state == TURN_LEASE_NONE && !p->perm.req.active)
        lease_start(t, p, &p->perm, FLOE_STUN_CREATE_PERMISSION, now);
    return 0;
}

bool floe_turn_has_channel(const struct floe_turn *t, const struct floe_addr *peer)
{
    const struct turn_peer *p;

    if (!t || !peer || t->state != FLOE_TURN_ALLOCATED)
        return false;
    p = floe__turn_peer_find((struct floe_turn *)t, peer);
    return p && p->chan.state == TURN_LEASE_OK;
}

bool floe_turn_has_permission(const struct floe_turn *t, const struct floe_addr *peer)
{
    const struct turn_peer *p;

    if (!t || !peer || t->state != FLOE_TURN_ALLOCATED)
        return false;
    p = floe__turn_peer_find((struct floe_turn *)t, peer);
    return p && p->perm.state == TURN_LEASE_OK;
}

/* ---------------------------------------------------------------- data out */

/* A Send indication (RFC 8656 section 11.1) framed around data, which may overlap out. */
static long peer_send_indication(struct floe_turn *t, const struct turn_peer *p,
                                 const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    uint8_t head[FLOE_TURN_SEND_OVERHEAD], txid[FLOE_STUN_TXID_LEN];
    struct floe_stun_builder b;
    size_t pad = (4 - len % 4) % 4, total;
    long h;

    if (floe_rng_fill(&t->cfg.rng, txid, sizeof(txid)) < 0)
        return FLOE_ERR_INVALID_ARG;
    floe_stun_build_init(&b, head, sizeof(head), FLOE_STUN_SEND, FLOE_STUN_INDICATION, txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p->addr);
    h = floe_stun_build_finish(&b);
    if (h < 0)
        return h;
    total = (size_t)h + 4 + len + pad;
    if (len > 0xFFFF || total - FLOE_STUN_HEADER_LEN > 0xFFFF)
        return FLOE_ERR_INVALID_ARG;
    if (total > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memmove(out + h + 4, data, len);
    memcpy(out, head, (size_t)h);
    floe_store_be16(out + h, FLOE_STUN_ATTR_DATA);
    floe_store_be16(out + h + 2, (uint16_t)len);
    memset(out + (size_t)h + 4 + len, 0, pad);
    floe_store_be16(out + 2, (uint16_t)(total - FLOE_STUN_HEADER_LEN));
    return (long)total;
}

/* ChannelData when the channel is bound, else a Send indication. */
static long peer_frame(struct floe_turn *t, const struct turn_peer *p, const uint8_t *data,
                       size_t len, uint8_t *out, size_t cap)
{
    long n;

    if (p->chan.state == TURN_LEASE_OK)
        n = floe_channeldata_encode(out, cap, floe__turn_channel_of(t, p), data, len);
    else
        n = peer_send_indication(t, p, data, len, out, cap);
    if (n > 0) {
        t->stats.packets_out++;
        t->stats.bytes_out += len;
    }
    return n;
}

static void peer_queue(struct floe_turn *t, struct turn_peer *p, const uint8_t *data, size_t len)
{
    if (len > t->cfg.queue_bytes) {
        floe__turn_drop(t, FLOE_TURN_DROP_QUEUE, "payload over queue_bytes");
        return;
    }
    if (!p->queued)
        p->queued = floe_mem_malloc(&t->cfg.alloc, t->cfg.queue_bytes ? t->cfg.queue_bytes : 1);
    if (!p->queued) {
        floe__turn_drop(t, FLOE_TURN_DROP_QUEUE, "out of memory");
        return;
    }
    if (p->has_queued)
        floe__turn_drop(t, FLOE_TURN_DROP_QUEUE, "replaced by a newer payload");
    if (len)
        memcpy(p->queued, data, len);
    p->queued_len = len;
    p->has_queued = true;
    floe__turn_peer_touch(t, p);
}

/*
 * Whether another peer of p's IP has a confirmed permission: the server's permissions are per
 * IP address (RFC 8656 section 9), so data to p may go before p's own lease is confirmed.
 * Asked only while p's permission is not confirmed yet.
 */
static bool peer_ip_permitted(struct floe_turn *t, const struct turn_peer *p)
{
    return peer_of_ip(t, &p->addr, p, TURN_LEASE_OK) != NULL;
}

/*
 * Whether p's CreatePermission is on the wire, unanswered: data sent now reaches the server
 * behind it on the same 5-tuple, and the server installs the permission before it relays that
 * data, so it need not wait the round trip for the answer (config.optimistic_send).
 */
static bool peer_perm_sent(const struct floe_turn *t, const struct turn_peer *p)
{
    return t->cfg.optimistic_send && p->perm.req.active &&
           p->perm.req.method == FLOE_STUN_CREATE_PERMISSION &&
           p->perm.req.txn.first_sent != FLOE_TIME_NEVER;
}

long floe_turn_encapsulate(struct floe_turn *t, floe_time now, const struct floe_addr *peer,
                           const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    struct turn_peer *p;
    int rc;

    if (!t || !peer || (!data && len) || !out)
        return FLOE_ERR_INVALID_ARG;
    if (t->state != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_STATE;
    rc = floe__turn_peer_get(t, peer, &p);
    if (rc < 0)
        return rc;
    peer_use(t, p);
    if (p->perm.state == TURN_LEASE_OK)
        return peer_frame(t, p, data, len, out, cap);
    if (!p->perm.req.active)
        lease_start(t, p, &p->perm, FLOE_STUN_CREATE_PERMISSION, now);
    if (peer_ip_permitted(t, p) || peer_perm_sent(t, p))
        return peer_frame(t, p, data, len, out, cap);
    peer_queue(t, p, data, len);
    return 0;
}

/* The first payload queued for a peer whose permission is now confirmed (or requested): the
 * queue of peers with a payload, a peer leaving it when its payload cannot go yet (a
 * confirmation or the permission's send touches it back in). */
long floe__turn_peers_flush(struct floe_turn *t, uint8_t *buf, size_t cap)
{
    struct turn_peer *p;
    long n;

    while ((p = floe__turn_ring_front(t, &t->flushq)) != NULL) {
        t->peer_visits++;
        if (p->has_queued && (p->perm.state == TURN_LEASE_OK || peer_perm_sent(t, p))) {
            n = peer_frame(t, p, p->queued, p->queued_len, buf, cap);
            if (n >= 0) {
                p->has_queued = false;
                floe__turn_ring_pop(t, &t->flushq);
            }
            return n;
        }
        floe__turn_ring_pop(t, &t->flushq);
    }
    return 0;
}

/* The first peer request due (CreatePermission before ChannelBind), built into buf: its
 * length, 0 when none, or a builder error. */
long floe__turn_peers_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap)
{
    struct turn_peer *p;
    struct turn_req *q;
    long n;

    while ((p = floe__turn_ring_front(t, &t->reqq)) != NULL) {
        t->peer_visits++;
        q = floe__turn_req_send_due(&p->perm.req)   ? &p->perm.req
            : floe__turn_req_send_due(&p->chan.req) ? &p->chan.req
                                                    : NULL;
        if (q) {
            n = floe__turn_req_send(t, q, now, buf, cap);
            if (n >= 0)
                floe__turn_peer_touch(t, p);
            return n;
        }
        floe__turn_ring_pop(t, &t->reqq);
    }
    return 0;
}

/* ----------------------------------------------------------------- data in */

static int peer_deliver(struct floe_turn *t, struct turn_peer *p, const struct floe_addr *from,
                        struct floe_span payload, struct floe_addr *peer, struct floe_span *data)
{
    peer_use(t, p);
    *peer = *from;
    *data = payload;
    t->stats.packets_in++;
    t->stats.bytes_in += payload.len;
    return FLOE_TURN_INPUT_DATA;
}

int floe__turn_data_in(struct floe_turn *t, floe_time now, const uint8_t *buf, size_t len,
                       struct floe_addr *peer, struct floe_span *data)
{
    struct floe_span payload;
    struct turn_peer *p;
    uint16_t number;

    (void)now;
    if (floe_channeldata_decode(buf, len, &number, &payload) < 0) {
        floe__turn_drop(t, FLOE_TURN_DROP_MALFORMED, "bad ChannelData");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    if ((uint32_t)(number - FLOE_CHANNEL_MIN) >= t->n_peers ||
        t->peers[number - FLOE_CHANNEL_MIN].chan.state == TURN_LEASE_NONE) {
        floe__turn_drop(t, FLOE_TURN_DROP_NO_CHANNEL, "ChannelData on an unbound channel");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    p = &t->peers[number - FLOE_CHANNEL_MIN];
    return peer_deliver(t, p, &p->addr, payload, peer, data);
}

/* The peer entry with a permission for from's IP, preferring the exact address. */
static struct turn_peer *peer_permitted(struct floe_turn *t, const struct floe_addr *from)
{
    struct turn_peer *p = floe__turn_peer_find(t, from);

    if (p && p->perm.state != TURN_LEASE_NONE)
        return p;
    return peer_of_ip(t, from, NULL, TURN_LEASE_PENDING);
}

int floe__turn_data_indication(struct floe_turn *t, floe_time now, const struct floe_stun_msg *msg,
                               struct floe_addr *peer, struct floe_span *data)
{
    struct floe_addr from;
    struct floe_span payload;
    struct turn_peer *p;

    (void)now;
    if (floe_stun_get_xor_addr(msg, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &from) < 0 ||
        floe_stun_get_span(msg, FLOE_STUN_ATTR_DATA, &payload) < 0) {
        floe__turn_drop(t, FLOE_TURN_DROP_MALFORMED, "Data indication without peer or data");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    p = t->state == FLOE_TURN_ALLOCATED ? peer_permitted(t, &from) : NULL;
    if (!p) {
        floe__turn_drop(t, FLOE_TURN_DROP_NO_PERMISSION, "Data indication from an unknown peer");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    return peer_deliver(t, p, &from, payload, peer, data);
}
