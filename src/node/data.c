/*
 * The node's data path: one socket's datagrams told apart (TURN from relays, ICE checks,
 * WireGuard), encapsulation onto a connection's path, the batch forms, poll_transmit.
 */
#include <string.h>

#include "node/node_int.h"

/* An ICE check or response: requests by USERNAME "<our ufrag>:<theirs>", answers by txid. */
static int data_ice(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                    const struct floe_addr *from, const uint8_t *buf, size_t len)
{
    struct floe_stun_msg msg;
    struct node_conn *c = NULL;
    struct floe_span user;

    if (floe_stun_decode(&msg, buf, len) != 0) {
        n->st.dropped_malformed++;
        return FLOE_NODE_INPUT_DROPPED;
    }
    if (msg.cls == FLOE_STUN_REQUEST || msg.cls == FLOE_STUN_INDICATION) {
        if (floe_stun_get_span(&msg, FLOE_STUN_ATTR_USERNAME, &user) == 0) {
            const uint8_t *colon = memchr(user.ptr, ':', user.len);

            if (colon)
                c = floe__node_conn_by_ufrag(n, (const char *)user.ptr, (size_t)(colon - user.ptr));
        }
    } else {
        c = floe__node_txid_find(n, msg.txid);
    }
    if (!c) {
        n->st.dropped_unknown++;
        return FLOE_NODE_INPUT_DROPPED;
    }
    if (floe__node_goodbye_input(n, c, &msg)) {
        uint64_t cid = c->id;

        floe__node_conn_destroy(n, c);
        floe__node_event(n, FLOE_NODE_EV_CLOSED, cid);
        return FLOE_NODE_INPUT_CONSUMED;
    }
    if (floe_ice_handle_input(c->ice, now, path, from, buf, len) == 0 &&
        msg.cls == FLOE_STUN_REQUEST)
        floe__node_path_checked(n, c, now, path, from);
    floe__node_conn_after_ice(n, c, now);
    if (c->used)
        floe__node_conn_back_to_selected(n, c, now, path, from);
    return FLOE_NODE_INPUT_CONSUMED;
}

/* What one WireGuard result means for its connection. */
static int data_wg_result(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                          const struct floe_addr *from, struct floe_span dgram,
                          const struct floe_wg_result *res, uint64_t *cid, size_t *out_len)
{
    struct node_conn *c = res->peer ? floe_wg_peer_user(res->peer) : NULL;

    if (res->kind == FLOE_WG_RESULT_DROP) {
        bool kept = floe__node_early_keep(n, now, path, from, dgram, res);

        n->st.dropped += kept ? 0u : 1u;
        floe__node_wg_events(n, now);
        return kept ? FLOE_NODE_INPUT_CONSUMED : FLOE_NODE_INPUT_DROPPED;
    }
    if (c && c->used) {
        c->last_auth = now;
        if (c->first_remote == FLOE_TIME_NEVER) /* reached: liveness (a) is moot */
            c->first_remote = now;
        floe__node_path_follow(n, c, now, path, from, dgram.ptr, dgram.len);
    }
    floe__node_wg_events(n, now); /* after the path: a responder's session is confirmed by data */
    if (!c || !c->used || res->kind != FLOE_WG_RESULT_DATA)
        return FLOE_NODE_INPUT_CONSUMED;
    floe__node_conn_activity(n, c, now);
    c->st.rx_packets++;
    c->st.rx_bytes += res->len;
    *cid = c->id;
    *out_len = res->len;
    return FLOE_NODE_INPUT_DATA;
}

/* The payload of a datagram: ICE or WireGuard, from `from` over path. */
int floe__node_data_inner(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                          const struct floe_addr *from, const uint8_t *buf, size_t len,
                          uint8_t *out, size_t cap, uint64_t *cid, size_t *out_len)
{
    struct floe_wg_result res;
    int rc;

    switch (floe_packet_classify(buf, len)) {
    case FLOE_PACKET_STUN:
        return data_ice(n, now, path, from, buf, len);
    case FLOE_PACKET_WIREGUARD:
        rc = floe_wg_decapsulate(n->wg, now, from, buf, len, out, cap, &res);
        if (rc < 0)
            return rc;
        return data_wg_result(n, now, path, from, (struct floe_span){buf, len}, &res, cid, out_len);
    default:
        n->st.dropped_malformed++;
        n->st.dropped++;
        return FLOE_NODE_INPUT_DROPPED;
    }
}

/* A handshake message through r from peer: a cookie reply to it goes back through r. */
static void data_cookie_route_note(struct floe_node *n, const struct node_relay *r,
                                   const struct floe_addr *peer, struct floe_span data)
{
    struct node_cookie_route *cr;
    uint32_t i;

    if (data.len == 0 ||
        (data.ptr[0] != FLOE_WG_MSG_INITIATION && data.ptr[0] != FLOE_WG_MSG_RESPONSE))
        return;
    for (i = 0; i < NODE_COOKIE_ROUTES; i++) {
        cr = &n->cookie_routes[i];
        if (cr->used && floe_addr_eq(&cr->peer, peer)) {
            cr->relay = (uint32_t)(r - n->relays);
            return;
        }
    }
    cr = &n->cookie_routes[n->cookie_next];
    n->cookie_next = (n->cookie_next + 1) % NODE_COOKIE_ROUTES;
    *cr =
        (struct node_cookie_route){.peer = *peer, .relay = (uint32_t)(r - n->relays), .used = true};
}

static int data_from_relay(struct floe_node *n, floe_time now, struct node_relay *r,
                           const uint8_t *dgram, size_t len, uint8_t *out, size_t cap,
                           uint64_t *cid, size_t *out_len)
{
    struct floe_ice_path path;
    struct floe_addr peer;
    struct floe_span data;
    int rc;

    rc = floe_turn_handle_input(r->turn, now, &r->server, dgram, len, &peer, &data);
    floe__node_relay_events(n, r, now);
    if (rc != FLOE_TURN_INPUT_DATA)
        return rc == FLOE_TURN_INPUT_CONSUMED ? FLOE_NODE_INPUT_CONSUMED : FLOE_NODE_INPUT_DROPPED;
    memset(&path, 0, sizeof(path));
    path.via_relay = true;
    path.relay = r->server;
    if (floe_turn_get_relayed(r->turn, peer.family, &path.local) != 0)
        return FLOE_NODE_INPUT_DROPPED;
    data_cookie_route_note(n, r, &peer, data);
    return floe__node_data_inner(n, now, &path, &peer, data.ptr, data.len, out, cap, cid, out_len);
}

int floe_node_decapsulate(struct floe_node *n, floe_time now, const struct floe_addr *local,
                          const struct floe_addr *from, const uint8_t *dgram, size_t len,
                          uint8_t *out, size_t cap, uint64_t *cid, size_t *out_len)
{
    struct floe_ice_path path;
    struct node_relay *r;

    if (!n || !local || !from || (!dgram && len) || !out || !cid || !out_len)
        return FLOE_ERR_INVALID_ARG;
    if (cap < len)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    r = floe__node_relay_by_server(n, from);
    if (r)
        return data_from_relay(n, now, r, dgram, len, out, cap, cid, out_len);
    memset(&path, 0, sizeof(path));
    path.local = *local;
    return floe__node_data_inner(n, now, &path, from, dgram, len, out, cap, cid, out_len);
}

/* The connection cid: the one found last when it is still cid (a flow sends in runs), else by
 * the hashed index. */
static struct node_conn *data_conn(struct floe_node *n, uint64_t cid)
{
    struct node_conn *c;

    if (n->hot_slot != NODE_NONE) {
        c = &n->conns[n->hot_slot];
        if (c->used && c->id == cid)
            return c;
    }
    c = floe__node_conn_find(n, cid);
    if (c)
        n->hot_slot = (uint32_t)(c - n->conns);
    return c;
}

long floe_node_encapsulate(struct floe_node *n, floe_time now, uint64_t cid, const uint8_t *pkt,
                           size_t len, uint8_t *out, size_t cap, struct floe_node_transmit *tr)
{
    struct floe_addr dst;
    struct node_conn *c;
    long r;

    if (!n || (!pkt && len) || !out || !tr)
        return FLOE_ERR_INVALID_ARG;
    c = data_conn(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    if (cap < len + FLOE_NODE_OVERHEAD)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    floe__node_conn_activity(n, c, now);
    if (!floe__node_conn_can_send(n, c, now))
        return 0;
    r = floe_wg_encapsulate(n->wg, now, c->peer, pkt, len, out, cap - FLOE_TURN_SEND_OVERHEAD,
                            &dst);
    if (r <= 0)
        return r;
    c->st.tx_packets++;
    c->st.tx_bytes += len;
    return floe__node_frame(n, c, now, out, (size_t)r, cap, tr);
}

/* ------------------------------------------------------------------ batches */

static void batch_encap_flush(struct floe_node *n, floe_time now, struct floe_node_encap *items,
                              const size_t *idx, size_t k)
{
    size_t i;

    if (k == 0)
        return;
    if (floe_wg_encapsulate_batch(n->wg, now, n->batch_enc, k) != 0)
        return;
    for (i = 0; i < k; i++) {
        struct floe_node_encap *it = &items[idx[i]];
        struct node_conn *c = floe_wg_peer_user(n->batch_enc[i].peer); /* no second lookup */

        it->n = n->batch_enc[i].n;
        if (it->n <= 0 || !c)
            continue;
        c->st.tx_packets++;
        c->st.tx_bytes += it->len;
        it->n = floe__node_frame(n, c, now, it->out, (size_t)it->n, it->cap, &it->tr);
    }
}

int floe_node_encapsulate_batch(struct floe_node *n, floe_time now, struct floe_node_encap *items,
                                size_t count)
{
    size_t idx[NODE_BATCH], k = 0, i;

    if (!n || (!items && count))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < count; i++) {
        struct floe_node_encap *it = &items[i];
        struct node_conn *c = data_conn(n, it->cid);

        it->n = 0;
        if (!c || !it->out || (!it->pkt && it->len) || it->cap < it->len + FLOE_NODE_OVERHEAD) {
            it->n = c ? FLOE_ERR_INVALID_ARG : FLOE_ERR_NOT_FOUND;
            continue;
        }
        floe__node_conn_activity(n, c, now);
        if (!floe__node_conn_can_send(n, c, now))
            continue;
        n->batch_enc[k] = (struct floe_wg_encap){.peer = c->peer,
                                                 .pkt = it->pkt,
                                                 .len = it->len,
                                                 .out = it->out,
                                                 .cap = it->cap - FLOE_TURN_SEND_OVERHEAD};
        idx[k++] = i;
        if (k == NODE_BATCH) {
            batch_encap_flush(n, now, items, idx, k);
            k = 0;
        }
    }
    batch_encap_flush(n, now, items, idx, k);
    return 0;
}

/* A WireGuard data message straight from a peer (not a relay): decrypted in a batch. */
static bool batch_is_direct_data(struct floe_node *n, const struct floe_node_decap *it)
{
    return it->len >= 32 && it->dgram && it->dgram[0] == FLOE_WG_MSG_DATA &&
           floe_packet_classify(it->dgram, it->len) == FLOE_PACKET_WIREGUARD &&
           !floe__node_relay_by_server(n, &it->from);
}

static void batch_decap_flush(struct floe_node *n, floe_time now, struct floe_node_decap *items,
                              struct floe_wg_decap *wd, const size_t *idx, size_t k)
{
    size_t i;

    if (k == 0 || floe_wg_decapsulate_batch(n->wg, now, wd, k) != 0)
        return;
    for (i = 0; i < k; i++) {
        struct floe_node_decap *it = &items[idx[i]];
        struct floe_ice_path path;

        memset(&path, 0, sizeof(path));
        path.local = it->local;
        it->rc = wd[i].rc < 0 ? wd[i].rc
                              : data_wg_result(n, now, &path, &it->from,
                                               (struct floe_span){it->dgram, it->len}, &wd[i].res,
                                               &it->cid, &it->out_len);
    }
}

int floe_node_decapsulate_batch(struct floe_node *n, floe_time now, struct floe_node_decap *items,
                                size_t count)
{
    struct floe_wg_decap wd[NODE_BATCH];
    size_t idx[NODE_BATCH], k = 0, i;

    if (!n || (!items && count))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < count; i++) {
        struct floe_node_decap *it = &items[i];

        if (!batch_is_direct_data(n, it) || !it->out || it->cap < it->len) {
            batch_decap_flush(n, now, items, wd, idx, k);
            k = 0;
            it->rc = floe_node_decapsulate(n, now, &it->local, &it->from, it->dgram, it->len,
                                           it->out, it->cap, &it->cid, &it->out_len);
            continue;
        }
        wd[k] = (struct floe_wg_decap){
            .from = it->from, .dgram = it->dgram, .len = it->len, .out = it->out, .cap = it->cap};
        idx[k++] = i;
        if (k == NODE_BATCH) {
            batch_decap_flush(n, now, items, wd, idx, k);
            k = 0;
        }
    }
    batch_decap_flush(n, now, items, wd, idx, k);
    return 0;
}

/* ------------------------------------------------------------ poll_transmit */

/* An ICE datagram of c in buf: 1 ready to send, 2 handed to a relay, 0 dropped. */
static int poll_ice_out(struct floe_node *n, struct node_conn *c, floe_time now, uint8_t *buf,
                        size_t cap, const struct floe_ice_transmit *it,
                        struct floe_node_transmit *tr)
{
    struct node_relay *r;
    long out;

    floe__node_txid_remember(n, buf, it->len, c->id);
    if (!it->path.via_relay) {
        *tr =
            (struct floe_node_transmit){.local = it->path.local, .to = it->remote, .len = it->len};
        return 1;
    }
    r = floe__node_relay_by_server(n, &it->path.relay);
    out = r ? floe_turn_encapsulate(r->turn, now, &it->remote, buf, it->len, buf, cap) : -1;
    if (out > 0) {
        *tr = (struct floe_node_transmit){.local = r->local, .to = r->server, .len = (size_t)out};
        return 1;
    }
    if (out == 0)
        return 2;
    n->st.dropped_no_path++;
    return 0;
}

/* 1: a datagram in buf; 2: something was handed to a relay (poll again); 0: nothing. */
static int poll_conns(struct floe_node *n, floe_time now, uint8_t *buf, size_t cap,
                      struct floe_node_transmit *tr)
{
    while (n->dirty_head != NODE_NONE) {
        struct node_conn *c = &n->conns[n->dirty_head];
        struct floe_ice_transmit it;
        int rc;

        n->conn_visits++;
        if (c->used && floe_ice_poll_transmit(c->ice, now, buf, cap, &it) == 1) {
            rc = poll_ice_out(n, c, now, buf, cap, &it, tr);
            if (rc)
                return rc;
            continue;
        }
        if (c->used) {
            rc = floe__node_conn_poll_keepalive(n, c, now, buf, cap, tr);
            if (rc)
                return rc;
        }
        n->dirty_head = c->dirty_next;
        if (n->dirty_head == NODE_NONE)
            n->dirty_tail = NODE_NONE;
        c->dirty = false;
        if (c->used)
            floe__node_schedule(n, c);
    }
    return 0;
}

static const struct floe_addr *poll_socket_for(const struct floe_node *n, uint8_t family)
{
    uint32_t i;

    for (i = 0; i < n->n_hosts; i++) {
        if (n->hosts[i].family == family)
            return &n->hosts[i];
    }
    return NULL;
}

/*
 * A datagram WireGuard sent to no peer (a cookie reply) to dst: through the relay the
 * handshake message came from. 1 framed into buf, 2 queued by the relay or dropped, 0 dst
 * did not come through a relay.
 */
static int poll_cookie_relayed(struct floe_node *n, floe_time now, uint8_t *buf, size_t len,
                               size_t cap, const struct floe_addr *dst,
                               struct floe_node_transmit *tr)
{
    const struct node_cookie_route *cr = NULL;
    struct node_relay *r;
    long out;
    uint32_t i;

    for (i = 0; i < NODE_COOKIE_ROUTES && !cr; i++) {
        if (n->cookie_routes[i].used && floe_addr_eq(&n->cookie_routes[i].peer, dst))
            cr = &n->cookie_routes[i];
    }
    if (!cr)
        return 0;
    r = &n->relays[cr->relay];
    out = r->used && r->turn ? floe_turn_encapsulate(r->turn, now, dst, buf, len, buf, cap) : -1;
    if (out <= 0) {
        if (out < 0)
            n->st.dropped_no_path++;
        return 2;
    }
    *tr = (struct floe_node_transmit){.local = r->local, .to = r->server, .len = (size_t)out};
    return 1;
}

static int poll_wg(struct floe_node *n, floe_time now, uint8_t *buf, size_t cap,
                   struct floe_node_transmit *tr)
{
    struct floe_wg_peer *peer = NULL;
    struct floe_addr dst;
    struct node_conn *c;
    const struct floe_addr *sock;
    long len;
    int rc;

    len = floe_wg_poll_transmit(n->wg, now, buf, cap - FLOE_TURN_SEND_OVERHEAD, &dst, &peer);
    if (len <= 0)
        return 0;
    c = peer ? floe_wg_peer_user(peer) : NULL;
    if (c && c->used)
        return floe__node_frame(n, c, now, buf, (size_t)len, cap, tr) > 0 ? 1 : 2;
    rc = poll_cookie_relayed(n, now, buf, (size_t)len, cap, &dst, tr);
    if (rc)
        return rc;
    sock = poll_socket_for(n, dst.family); /* a cookie reply goes back where it came from */
    if (!sock) {
        n->st.dropped_no_path++;
        return 2;
    }
    *tr = (struct floe_node_transmit){.local = *sock, .to = dst, .len = (size_t)len};
    return 1;
}

int floe_node_poll_transmit(struct floe_node *n, floe_time now, uint8_t *buf, size_t cap,
                            struct floe_node_transmit *tr)
{
    int rc;

    if (!n || !buf || !tr)
        return FLOE_ERR_INVALID_ARG;
    if (cap < FLOE_NODE_TRANSMIT_MAX)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    rc = floe__node_out_poll(n, buf, cap, tr);
    if (rc != 0)
        return rc;
    for (;;) {
        if (floe__node_relays_poll(n, now, buf, cap, tr) == 1)
            return 1;
        rc = poll_conns(n, now, buf, cap, tr);
        if (rc == 1)
            return 1;
        if (rc == 2)
            continue;
        rc = poll_wg(n, now, buf, cap, tr);
        if (rc == 1)
            return 1;
        if (rc == 0)
            return 0;
    }
}
