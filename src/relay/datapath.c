/*
 * The relayed data path: ChannelData and Send indications from clients to
 * peers, and peer datagrams back to clients as ChannelData or Data indications
 * (RFC 8656 sections 10-12).
 */
#include <string.h>

#include "relay_int.h"

static long datapath_to_peer(struct floe_relay *r, const struct relay_alloc *a,
                             const struct floe_addr *peer, struct floe_span data, uint8_t *out,
                             size_t cap, struct floe_relay_tx *tx)
{
    uint8_t i;

    if (data.len > cap) {
        r->stats.drops[FLOE_RELAY_DROP_TOO_BIG]++;
        return 0;
    }
    for (i = 0; i < a->n_relayed; i++) {
        if (a->relayed[i].family == peer->family)
            break;
    }
    if (i == a->n_relayed) {
        r->stats.drops[FLOE_RELAY_DROP_NO_PERMISSION]++;
        return 0;
    }
    memcpy(out, data.ptr, data.len);
    tx->from = a->relayed[i];
    tx->to = *peer;
    r->stats.packets_to_peers++;
    r->stats.bytes_to_peers += data.len;
    return (long)data.len;
}

long floe__relay_channeldata_in(struct floe_relay *r, floe_time now, const struct floe_addr *local,
                                const struct floe_addr *from, const uint8_t *buf, size_t len,
                                uint8_t *out, size_t cap, struct floe_relay_tx *tx)
{
    struct relay_alloc *a;
    struct relay_chan *c;
    struct floe_span data;
    uint16_t number;

    if (floe_channeldata_decode(buf, len, &number, &data) < 0) {
        r->stats.drops[FLOE_RELAY_DROP_MALFORMED]++;
        return 0;
    }
    a = floe__relay_find_client(r, from, local);
    if (!a || a->state != RELAY_ALLOC_LIVE) {
        r->stats.drops[FLOE_RELAY_DROP_NO_ALLOCATION]++;
        return 0;
    }
    c = floe__relay_chan_by_number(a, now, number);
    if (!c) {
        r->stats.drops[FLOE_RELAY_DROP_NO_CHANNEL]++;
        return 0;
    }
    if (!floe__relay_has_permission(a, now, &c->peer)) {
        r->stats.drops[FLOE_RELAY_DROP_NO_PERMISSION]++;
        return 0;
    }
    return datapath_to_peer(r, a, &c->peer, data, out, cap, tx);
}

/* Send indication: no answer; the data goes to the peer if a permission exists. */
long floe__relay_send_indication(struct floe_relay *r, floe_time now, const struct relay_req *q)
{
    struct relay_alloc *a = floe__relay_find_client(r, q->from, q->local);
    struct floe_addr peer;
    struct floe_span data;

    if (!a || a->state != RELAY_ALLOC_LIVE) {
        r->stats.drops[FLOE_RELAY_DROP_NO_ALLOCATION]++;
        return 0;
    }
    if (q->msg->n_unknown) { /* an indication has no error answer (RFC 8489 section 6.3.2) */
        r->stats.drops[FLOE_RELAY_DROP_UNKNOWN_ATTRIBUTE]++;
        return 0;
    }
    if (floe_stun_get_xor_addr(q->msg, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) < 0 ||
        floe_stun_get_span(q->msg, FLOE_STUN_ATTR_DATA, &data) < 0) {
        r->stats.drops[FLOE_RELAY_DROP_MALFORMED]++;
        return 0;
    }
    if (!floe__relay_has_permission(a, now, &peer)) {
        r->stats.drops[FLOE_RELAY_DROP_NO_PERMISSION]++;
        return 0;
    }
    /* The permission is for the IP; the port matters too (the relay's own listening ports). */
    if (!floe__relay_peer_allowed(r, &peer)) {
        r->stats.drops[FLOE_RELAY_DROP_FORBIDDEN_PEER]++;
        return 0;
    }
    return datapath_to_peer(r, a, &peer, data, q->out, q->cap, q->tx);
}

static long datapath_data_indication(struct floe_relay *r, const struct relay_alloc *a,
                                     const struct floe_addr *peer, const uint8_t *buf, size_t len,
                                     uint8_t *out, size_t cap)
{
    struct floe_stun_builder b;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    long n;

    (void)a;
    if (floe_rng_fill(&r->cfg.rng, txid, sizeof(txid)) < 0)
        return 0;
    floe_stun_build_init(&b, out, cap, FLOE_STUN_DATA, FLOE_STUN_INDICATION, txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, buf, len);
    n = floe_stun_build_finish(&b);
    if (n < 0) {
        r->stats.drops[FLOE_RELAY_DROP_TOO_BIG]++;
        return 0;
    }
    return n;
}

long floe_relay_handle_peer(struct floe_relay *r, floe_time now, const struct floe_addr *relayed,
                            const struct floe_addr *from, const uint8_t *buf, size_t len,
                            uint8_t *out, size_t cap, struct floe_relay_tx *tx)
{
    struct relay_alloc *a;
    struct relay_chan *c;
    long n;

    if (!r || !relayed || !from || (!buf && len) || !out || !tx)
        return FLOE_ERR_INVALID_ARG;
    a = floe__relay_find_port(r, relayed);
    if (!a) {
        r->stats.drops[FLOE_RELAY_DROP_NO_ALLOCATION]++;
        return 0;
    }
    if (!floe__relay_has_permission(a, now, from)) {
        r->stats.drops[FLOE_RELAY_DROP_NO_PERMISSION]++;
        return 0;
    }
    c = floe__relay_chan_by_peer(a, now, from);
    if (c)
        n = floe_channeldata_encode(out, cap, c->number, buf, len);
    else
        n = datapath_data_indication(r, a, from, buf, len, out, cap);
    if (n <= 0) {
        r->stats.drops[FLOE_RELAY_DROP_TOO_BIG] += n < 0;
        return 0;
    }
    tx->from = a->local;
    tx->to = a->client;
    r->stats.packets_to_clients++;
    r->stats.bytes_to_clients += len;
    return n;
}
