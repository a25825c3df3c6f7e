/*
 * Paths of a connection: the one ICE nominated, or the one the latest authenticated
 * WireGuard packet came on (the peer follows the sender); framing a datagram for the path;
 * WireGuard events; ICE transaction ids for routing responses.
 */
#include <string.h>

#include "node/node_int.h"

static bool path_eq(const struct floe_node_path *a, const struct floe_node_path *b)
{
    return a->kind == b->kind && floe_addr_eq(&a->local, &b->local) &&
           floe_addr_eq(&a->remote, &b->remote) && floe_addr_eq(&a->relay, &b->relay);
}

void floe__node_path_set(struct floe_node *n, struct node_conn *c, floe_time now,
                         const struct floe_node_path *p)
{
    struct floe_node_event *ev;

    if (path_eq(&c->st.path, p))
        return;
    c->hold_until = 0;
    c->st.path = *p;
    c->st.path_changes++;
    (void)floe_wg_peer_set_endpoint(n->wg, c->peer, &p->remote);
    ev = floe__node_event_push(n, FLOE_NODE_EV_PATH_CHANGED, c->id);
    if (ev)
        ev->u.path = *p;
    /* The client starts the handshake as soon as it has somewhere to send it; an initiation
     * still waiting for its answer went on the old path: a fresh one goes on the new one now,
     * not REKEY_TIMEOUT (5 s) after it. */
    if (n->cfg.role == FLOE_NODE_CLIENT && !floe_wg_peer_has_session(c->peer, now)) {
        (void)floe_wg_peer_resend_initiation(n->wg, c->peer, now);
        floe__node_conn_keepalive(n, c);
    }
}

/*
 * ICE's selected pair p becomes the path by this node's choice: held for the peer to follow
 * (NODE_PATH_HOLD) when it is a move.
 */
void floe__node_path_choose(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_node_path *p)
{
    uint64_t changes = c->st.path_changes;

    floe__node_path_set(n, c, now, p);
    if (c->st.path_changes != changes)
        c->hold_until = floe_time_add(now, NODE_PATH_HOLD);
}

/*
 * After a reset the socket has a new address: a direct path whose local address is gone
 * sends from the new one at once (the peer follows the authenticated packets: WireGuard
 * roaming), before ICE has found anything.
 */
void floe__node_path_rebind(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_addr *local)
{
    struct floe_node_path p = c->st.path;
    uint32_t i;

    if (p.kind == FLOE_NODE_PATH_NONE || p.relay.family != FLOE_AF_NONE ||
        p.local.family != local->family)
        return;
    for (i = 0; i < n->n_hosts; i++) {
        if (floe_addr_eq(&n->hosts[i], &p.local))
            return;
    }
    p.local = *local;
    floe__node_path_set(n, c, now, &p);
    floe__node_conn_keepalive(n, c); /* tell the peer where we are now */
}

/* One WireGuard keepalive to the peer at `to` through r (framed now, or queued by r until
 * its permission is confirmed). */
static void path_probe(struct floe_node *n, struct node_conn *c, floe_time now,
                       const struct node_relay *r, const struct floe_addr *to)
{
    struct node_out *o;
    struct floe_addr dst;
    long len, out;

    if (n->out_len == NODE_OUT_SLOTS)
        return;
    o = &n->out[(n->out_head + n->out_len) % NODE_OUT_SLOTS];
    len = floe_wg_encapsulate(n->wg, now, c->peer, NULL, 0, o->buf,
                              NODE_OUT_MAX - FLOE_TURN_SEND_OVERHEAD, &dst);
    if (len <= 0)
        return;
    out = floe_turn_encapsulate(r->turn, now, to, o->buf, (size_t)len, o->buf, NODE_OUT_MAX);
    if (out <= 0)
        return;
    o->tr = (struct floe_node_transmit){.local = r->local, .to = r->server, .len = (size_t)out};
    n->out_len++;
}

/*
 * After a reset the first allocation that comes back probes every candidate of the peer
 * with a WireGuard keepalive through it, at once, without waiting for ICE to check and
 * nominate a pair: the peer follows the first authenticated packet (WireGuard roaming)
 * and answers on that path, and this side follows the answer. Only for a relayed path
 * (its allocation is gone, or the peer's relay has no permission for our new address; a
 * direct path is rebound instead), while nothing authenticated arrived since the reset
 * and ICE has chosen nothing since. Once per reset.
 */
void floe__node_path_relay_first(struct floe_node *n, struct node_conn *c, floe_time now,
                                 const struct node_relay *r)
{
    struct floe_ice_candidate rc[NODE_REMOTE_MAX];
    size_t i, k;

    if (!c->relay_first || c->last_auth >= c->reset_at || r->relayed.family == FLOE_AF_NONE ||
        !floe_wg_peer_has_session(c->peer, now))
        return;
    c->relay_first = false;
    k = floe_ice_get_remote_candidates(c->ice, rc, NODE_REMOTE_MAX);
    for (i = 0; i < k; i++) {
        if (rc[i].addr.family == r->relayed.family)
            path_probe(n, c, now, r, &rc[i].addr);
    }
    c->last_tx = now;
}

/*
 * The peer withdrew a candidate (it reset: roamed, or lost its relay) and nothing
 * authenticated came from it since: each candidate it announces now gets a WireGuard
 * keepalive straight from the socket, at once, instead of waiting for ICE to pace, check and
 * nominate a pair. A peer's new relayed address passes it to the peer (its relay holds a
 * permission for our reflexive IP: the peer asked for one per candidate of ours); the peer
 * follows the authenticated packet and answers on that path, and this side follows the answer.
 */
void floe__node_path_probe_remote(struct floe_node *n, struct node_conn *c, floe_time now,
                                  const struct floe_ice_candidate *cand)
{
    struct node_out *o;
    struct floe_addr dst;
    uint32_t h;
    long len;

    if (!c->peer_moved || c->last_auth >= c->peer_moved || n->out_len == NODE_OUT_SLOTS ||
        !floe_wg_peer_has_session(c->peer, now))
        return;
    for (h = 0; h < n->n_hosts && n->hosts[h].family != cand->addr.family; h++)
        ;
    if (h == n->n_hosts)
        return;
    o = &n->out[(n->out_head + n->out_len) % NODE_OUT_SLOTS];
    len = floe_wg_encapsulate(n->wg, now, c->peer, NULL, 0, o->buf, NODE_OUT_MAX, &dst);
    if (len <= 0)
        return;
    o->tr = (struct floe_node_transmit){.local = n->hosts[h], .to = cand->addr, .len = (size_t)len};
    n->out_len++;
    c->last_tx = now;
}

/*
 * A new connection's first path, before ICE has checked anything: the Client has no path and
 * no session, and the peer announces a relayed address on a relay this connection uses (the
 * same relayed IP as ours). Both sides hold a permission for their relay's own relayed IP from
 * the allocation on (relay.c, floe_turn_permit), so the handshake initiation goes through our
 * relay to the peer's relayed address at once and arrives: one round trip to the answer, where
 * waiting for ICE to check and nominate a pair costs several. ICE's selected pair replaces this
 * path when it comes (a direct one is an upgrade; node.h). Until the handshake is answered,
 * a newer relayed address of the peer on the same relay replaces the first one (the first came
 * from the portal's copy of the peer's candidates, made before the peer allocated again).
 */
void floe__node_path_same_relay(struct floe_node *n, struct node_conn *c, floe_time now,
                                const struct floe_ice_candidate *cand)
{
    struct floe_node_path p;
    uint32_t i;

    if (n->cfg.role != FLOE_NODE_CLIENT || cand->type != FLOE_ICE_RELAY ||
        floe_wg_peer_has_session(c->peer, now))
        return;
    /* A path already: kept, but for a new allocation of the peer on the same relay (the
     * portal's copy of the peer's candidates was older: its allocation there is gone). */
    if (c->st.path.kind != FLOE_NODE_PATH_NONE &&
        (c->st.path.kind != FLOE_NODE_PATH_RELAY_RELAY ||
         !floe_addr_ip_eq(&c->st.path.remote, &cand->addr)))
        return;
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        const struct node_relay *r = &n->relays[i];

        /* A relay that refused the permission for its own relayed IP does not relay between
         * its allocations: that is left to ICE. Until the relay answered, the data goes right
         * behind a CreatePermission (optimistic_send): no round trip waited for. */
        if (!r->used || !(c->relay_mask & (1u << i)) || r->relayed.family != cand->addr.family ||
            !floe_addr_ip_eq(&r->relayed, &cand->addr) || r->self_refused)
            continue;
        memset(&p, 0, sizeof(p));
        p.kind = FLOE_NODE_PATH_RELAY_RELAY;
        p.local = r->relayed;
        p.remote = cand->addr;
        p.relay = r->server;
        floe__node_path_set(n, c, now, &p);
        return;
    }
}

/* A relay of c's became usable: the peer's relayed candidates that came before it. */
void floe__node_path_same_relay_any(struct floe_node *n, struct node_conn *c, floe_time now)
{
    struct floe_ice_candidate rc[NODE_REMOTE_MAX];
    size_t i, k;

    if (n->cfg.role != FLOE_NODE_CLIENT || c->st.path.kind != FLOE_NODE_PATH_NONE)
        return;
    k = floe_ice_get_remote_candidates(c->ice, rc, NODE_REMOTE_MAX);
    for (i = 0; i < k && c->st.path.kind == FLOE_NODE_PATH_NONE; i++)
        floe__node_path_same_relay(n, c, now, &rc[i]);
}

/* Is from one of the peer's relayed candidates? Only asked when the path changes. */
static bool path_remote_is_relay(const struct node_conn *c, const struct floe_addr *from)
{
    struct floe_ice_candidate rc[NODE_REMOTE_MAX];
    size_t i, k = floe_ice_get_remote_candidates(c->ice, rc, NODE_REMOTE_MAX);

    for (i = 0; i < k; i++) {
        if (rc[i].type == FLOE_ICE_RELAY && floe_addr_eq(&rc[i].addr, from))
            return true;
    }
    return false;
}

/* The path a datagram from `from` that arrived over ip leads back on. */
static void path_of_input(const struct node_conn *c, const struct floe_ice_path *ip,
                          const struct floe_addr *from, struct floe_node_path *p)
{
    bool remote_relay = path_remote_is_relay(c, from);

    memset(p, 0, sizeof(*p));
    p->local = ip->local;
    p->remote = *from;
    if (ip->via_relay) {
        p->relay = ip->relay;
        p->kind = remote_relay ? FLOE_NODE_PATH_RELAY_RELAY : FLOE_NODE_PATH_LOCAL_RELAY;
    } else {
        p->kind = remote_relay ? FLOE_NODE_PATH_REMOTE_RELAY : FLOE_NODE_PATH_DIRECT;
    }
}

/*
 * Is the authenticated WireGuard datagram dgram the newest the peer sent? A data message
 * (keepalives too) is when its counter is above every counter received under the same
 * receiver index (a new index is a new session); handshake messages always are. Two paths
 * carry data at once around a path change, the relayed one slower: a message sent before the
 * peer moved arrives after the ones it sent since, and following it would move this side back
 * to the path the peer just left, the peer after it, and so on (the path flapped).
 */
static bool path_newest(struct node_conn *c, const uint8_t *dgram, size_t len)
{
    uint32_t index;
    uint64_t counter;

    if (len < 16 || dgram[0] != FLOE_WG_MSG_DATA)
        return true;
    index = floe_load_le32(dgram + 4);
    counter = floe_load_le64(dgram + 8);
    if (index == c->rx_index && counter <= c->rx_newest)
        return false;
    c->rx_index = index;
    c->rx_newest = counter;
    return true;
}

/*
 * Is the path this node chose held against dgram (floe__node_path_choose)? Not against a
 * handshake message (the peer roamed or restarted), nor after a reset of this node (its own
 * roam: the peer's packets lead it to whatever works now).
 */
static bool path_held(const struct node_conn *c, floe_time now, const uint8_t *dgram, size_t len)
{
    return now < c->hold_until && c->reset_at < c->hold_until - NODE_PATH_HOLD && len >= 16 &&
           dgram[0] == FLOE_WG_MSG_DATA;
}

void floe__node_path_follow(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_ice_path *ip, const struct floe_addr *from,
                            const uint8_t *dgram, size_t len)
{
    struct floe_node_path p;

    if (!path_newest(c, dgram, len))
        return;
    if (floe__node_addr_eq(&c->st.path.remote, from) &&
        floe__node_addr_eq(&c->st.path.local, &ip->local) &&
        (ip->via_relay ? floe__node_addr_eq(&c->st.path.relay, &ip->relay)
                       : c->st.path.relay.family == FLOE_AF_NONE)) {
        c->hold_until = 0; /* the peer is on our path: from now on its newest packets lead */
        return;
    }
    if (path_held(c, now, dgram, len))
        return;
    path_of_input(c, ip, from, &p);
    floe__node_path_set(n, c, now, &p);
}

/*
 * The peer's authenticated ICE check arrived over ip from `from` while the Client has no path
 * and no session yet (no relay in common, floe__node_path_same_relay did not apply): the way
 * back works (the peer's NAT let its check out towards us, ours let it in), so the handshake
 * initiation goes there at once instead of after this side's own check of the pair, its
 * retransmission if the peer's NAT dropped the first one, and the nomination. ICE's selected
 * pair replaces this path when it comes.
 */
void floe__node_path_checked(struct floe_node *n, struct node_conn *c, floe_time now,
                             const struct floe_ice_path *ip, const struct floe_addr *from)
{
    struct floe_node_path p;

    if (n->cfg.role != FLOE_NODE_CLIENT || c->st.path.kind != FLOE_NODE_PATH_NONE ||
        floe_wg_peer_has_session(c->peer, now))
        return;
    path_of_input(c, ip, from, &p);
    floe__node_path_set(n, c, now, &p);
}

void floe__node_wg_events(struct floe_node *n, floe_time now)
{
    struct floe_wg_event ev;

    while (floe_wg_poll_event(n->wg, &ev) == 1) {
        struct node_conn *c = ev.peer ? floe_wg_peer_user(ev.peer) : NULL;

        if (!c || !c->used || ev.type != FLOE_WG_EV_HANDSHAKE_COMPLETE)
            continue;
        if (c->hs_at) {
            c->st.rtt = now - c->hs_at;
            c->hs_at = 0;
        }
        if (!c->st.established && c->st.path.kind != FLOE_NODE_PATH_NONE) {
            c->st.established = true;
            floe__node_event(n, FLOE_NODE_EV_ESTABLISHED, c->id);
        }
    }
}

/*
 * Send buf[0..len) (a WireGuard datagram) on c's path: directly, or framed in place for
 * the relay. Returns the datagram length, 0 (queued by the relay, or dropped and counted).
 */
long floe__node_frame(struct floe_node *n, struct node_conn *c, floe_time now, uint8_t *buf,
                      size_t len, size_t cap, struct floe_node_transmit *tr)
{
    const struct floe_node_path *p = &c->st.path;
    struct node_relay *r;
    long out;

    if (p->kind == FLOE_NODE_PATH_NONE) {
        n->st.dropped_no_path++;
        return 0;
    }
    c->last_tx = now;
    if (p->relay.family == FLOE_AF_NONE) {
        tr->local = p->local;
        tr->to = p->remote;
        tr->len = len;
        return (long)len;
    }
    r = floe__node_relay_by_server(n, &p->relay);
    out = r ? floe_turn_encapsulate(r->turn, now, &p->remote, buf, len, buf, cap) : -1;
    if (out <= 0) {
        if (out < 0)
            n->st.dropped_no_path++;
        return 0;
    }
    tr->local = r->local;
    tr->to = r->server;
    tr->len = (size_t)out;
    return out;
}

static uint32_t txid_slot(const struct floe_node *n, const uint8_t *txid)
{
    return (uint32_t)floe__map_hash(txid, FLOE_STUN_TXID_LEN) & n->txid_mask;
}

/* Remember the transaction id of an outgoing ICE check so its response finds c. */
void floe__node_txid_remember(struct floe_node *n, const uint8_t *dgram, size_t len, uint64_t cid)
{
    struct node_txid *t;

    if (len < FLOE_STUN_HEADER_LEN || (floe_load_be16(dgram) & 0x0110) != 0)
        return; /* not a request */
    t = &n->txids[txid_slot(n, dgram + 8)];
    memcpy(t->txid, dgram + 8, FLOE_STUN_TXID_LEN);
    t->cid = cid;
    t->used = true;
}

/* The connection that sent the check txid answers, or NULL. */
struct node_conn *floe__node_txid_find(const struct floe_node *n, const uint8_t *txid)
{
    const struct node_txid *t = &n->txids[txid_slot(n, txid)];

    if (!t->used || memcmp(t->txid, txid, FLOE_STUN_TXID_LEN) != 0)
        return NULL;
    return floe__node_conn_find(n, t->cid);
}
