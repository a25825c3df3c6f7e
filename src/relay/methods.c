/* The relay's request handlers, one per TURN method (RFC 8656 sections 7-11). */
#include <string.h>

#include "relay_int.h"

/* 420 with UNKNOWN-ATTRIBUTES (RFC 8489 section 6.3.1), authenticated when key is set. */
static long method_unknown_attrs(struct floe_relay *r, struct relay_req *q, const uint8_t *key)
{
    struct floe_stun_builder b;

    floe__relay_answer_start(&b, q, FLOE_STUN_ERROR);
    floe_stun_add_error(&b, FLOE_TURN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute");
    floe_stun_add_unknown_attrs(&b, q->msg->unknown, q->msg->n_unknown);
    r->stats.error_responses++;
    return floe__relay_answer_finish(r, &b, q, key, q->msg->fingerprint_idx >= 0);
}

/* Binding: unauthenticated, so its answer (success or 420) goes through the source limit. */
static long method_binding(struct floe_relay *r, floe_time now, struct relay_req *q)
{
    struct floe_stun_builder b;

    if (!floe__relay_take_unauth_token(r, now, q->from))
        return 0;
    if (q->msg->n_unknown)
        return method_unknown_attrs(r, q, NULL);
    floe__relay_answer_start(&b, q, FLOE_STUN_SUCCESS);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, q->from);
    return floe__relay_answer_finish(r, &b, q, NULL, q->msg->fingerprint_idx >= 0);
}

/*
 * The desired lifetime of RFC 8656 sections 7.2 and 8: 0 when LIFETIME is 0 (a Refresh
 * deleting the allocation), else min(requested, max) but never below the default.
 */
static floe_time method_lifetime(const struct floe_relay *r, const struct floe_stun_msg *msg)
{
    uint32_t secs;
    floe_time t;

    if (floe_stun_get_u32(msg, FLOE_STUN_ATTR_LIFETIME, &secs) < 0)
        return r->cfg.default_lifetime;
    if (secs == 0)
        return 0;
    t = FLOE_SEC(secs);
    if (t > r->cfg.max_lifetime)
        t = r->cfg.max_lifetime;
    return t < r->cfg.default_lifetime ? r->cfg.default_lifetime : t;
}

/*
 * The families an Allocate asks for (RFC 8656 section 7.2) into spec->families: 0 or the
 * error code to answer with. An additional IPv6 family this relay has no address for is
 * left out and named in spec->af_error (ADDRESS-ERROR-CODE 440 in the success answer).
 */
static int method_families(const struct floe_relay *r, const struct floe_stun_msg *msg,
                           struct relay_alloc_spec *spec)
{
    bool has_req = floe_stun_has(msg, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
    bool has_add = floe_stun_has(msg, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
    uint8_t fam = FLOE_STUN_FAMILY_IPV4, extra = 0;

    if (has_req && floe_stun_get_family(msg, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) < 0)
        return FLOE_TURN_ERR_ADDRESS_FAMILY;
    if (has_add &&
        (has_req ||
         floe_stun_get_family(msg, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &extra) < 0 ||
         extra != FLOE_STUN_FAMILY_IPV6))
        return FLOE_TURN_ERR_BAD_REQUEST;
    if (fam == FLOE_STUN_FAMILY_IPV6 ? !r->cfg.relay_v6.family : !r->cfg.relay_v4.family)
        return FLOE_TURN_ERR_ADDRESS_FAMILY;
    spec->families =
        (uint8_t)(fam == FLOE_STUN_FAMILY_IPV6 ? 1u << FLOE_AF_INET6 : 1u << FLOE_AF_INET);
    if (extra && r->cfg.relay_v6.family)
        spec->families |= (uint8_t)(1u << FLOE_AF_INET6);
    else if (extra)
        spec->af_error = FLOE_STUN_FAMILY_IPV6;
    return 0;
}

/* Checks of RFC 8656 section 7.2 that need no state; 0 or an error code. */
static int method_allocate_check(const struct floe_stun_msg *msg)
{
    uint8_t proto;
    bool token = floe_stun_has(msg, FLOE_STUN_ATTR_RESERVATION_TOKEN);

    if (floe_stun_get_requested_transport(msg, &proto) < 0)
        return FLOE_TURN_ERR_BAD_REQUEST;
    if (proto != 17)
        return FLOE_TURN_ERR_UNSUPPORTED_TRANSPORT;
    if (token && (floe_stun_has(msg, FLOE_STUN_ATTR_EVEN_PORT) ||
                  floe_stun_has(msg, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY) ||
                  floe_stun_has(msg, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY)))
        return FLOE_TURN_ERR_BAD_REQUEST;
    return 0;
}

/* The success answer to an Allocate (also re-sent for a retransmitted request). */
static long method_allocate_success(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                                    struct relay_req *q)
{
    struct floe_stun_builder b;
    uint8_t i;

    floe__relay_answer_start(&b, q, FLOE_STUN_SUCCESS);
    for (i = 0; i < a->n_relayed; i++) {
        struct floe_addr shown = floe__relay_advertised(r, &a->relayed[i]);

        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &shown);
    }
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME,
                      (uint32_t)((a->expires > now ? a->expires - now : 0) / FLOE_SEC(1)));
    if (a->has_token)
        floe_stun_add_u64(&b, FLOE_STUN_ATTR_RESERVATION_TOKEN, a->token);
    if (a->af_error)
        floe_stun_add_address_error(&b, a->af_error, FLOE_TURN_ERR_ADDRESS_FAMILY,
                                    "Address Family not Supported");
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &a->client);
    return floe__relay_answer_finish(r, &b, q, a->key, a->fingerprint);
}

/* Fill spec from the request; 0 or an error code to answer with. */
static int method_allocate_spec(const struct floe_relay *r, const struct floe_stun_msg *msg,
                                struct relay_alloc_spec *spec)
{
    int err = method_allocate_check(msg);

    memset(spec, 0, sizeof(*spec));
    if (err)
        return err;
    spec->dont_fragment = floe_stun_has(msg, FLOE_STUN_ATTR_DONT_FRAGMENT);
    if (floe_stun_has(msg, FLOE_STUN_ATTR_RESERVATION_TOKEN)) {
        spec->has_token = true;
        return floe_stun_get_u64(msg, FLOE_STUN_ATTR_RESERVATION_TOKEN, &spec->token) < 0
                   ? FLOE_TURN_ERR_BAD_REQUEST
                   : 0;
    }
    err = method_families(r, msg, spec);
    if (err || !floe_stun_has(msg, FLOE_STUN_ATTR_EVEN_PORT))
        return err;
    spec->even = true;
    return floe_stun_get_even_port(msg, &spec->reserve) < 0 ? FLOE_TURN_ERR_BAD_REQUEST : 0;
}

static long method_allocate(struct floe_relay *r, floe_time now, struct relay_req *q)
{
    struct relay_alloc *a = floe__relay_find_client(r, q->from, q->local);
    struct relay_alloc_spec spec;
    int err;

    if (a) {
        if (memcmp(a->txid, q->msg->txid, FLOE_STUN_TXID_LEN) != 0)
            return floe__relay_answer_error(r, q, FLOE_TURN_ERR_ALLOCATION_MISMATCH,
                                            "Allocation Mismatch");
        /* A retransmission: answer again once the ports are bound. */
        return a->state == RELAY_ALLOC_LIVE ? method_allocate_success(r, now, a, q) : 0;
    }
    err = method_allocate_spec(r, q->msg, &spec);
    if (err)
        return floe__relay_answer_error(r, q, err, "Allocate Refused");
    err = floe__relay_alloc_create(r, now, q, &spec, &a);
    if (err)
        return floe__relay_answer_error(r, q, err,
                                        err == FLOE_TURN_ERR_QUOTA ? "Allocation Quota Reached"
                                                                   : "Insufficient Capacity");
    memcpy(a->key, q->key, FLOE_MD5_LEN);
    a->lifetime = method_lifetime(r, q->msg);
    if (a->lifetime == 0) /* LIFETIME 0 on an Allocate: the default, not an expired success */
        a->lifetime = r->cfg.default_lifetime;
    return 0; /* answered by floe_relay_port_bound */
}

/* Allocate answer once every port of a is bound (or one failed). */
long floe__relay_allocate_done(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                               struct relay_req *q)
{
    if (a->bind_failed) {
        long n = floe__relay_answer_error(r, q, FLOE_TURN_ERR_INSUFFICIENT_CAPACITY,
                                          "Insufficient Capacity");

        floe__relay_alloc_destroy(r, a);
        return n;
    }
    a->state = RELAY_ALLOC_LIVE;
    a->expires = floe_time_add(now, a->lifetime);
    r->stats.allocations++;
    floe__relay_push_event(r, FLOE_RELAY_EV_ALLOCATED, a, &a->relayed[0]);
    return method_allocate_success(r, now, a, q);
}

/* A Refresh naming a family must name one of the allocation's (RFC 8656 section 8). */
static int method_refresh_check(const struct relay_alloc *a, const struct floe_stun_msg *msg)
{
    uint8_t fam, i, want;

    if (!floe_stun_has(msg, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY))
        return 0;
    if (floe_stun_get_family(msg, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) < 0)
        return FLOE_TURN_ERR_PEER_FAMILY_MISMATCH;
    want = fam == FLOE_STUN_FAMILY_IPV6 ? FLOE_AF_INET6 : FLOE_AF_INET;
    for (i = 0; i < a->n_relayed; i++) {
        if (a->relayed[i].family == want)
            return 0;
    }
    return FLOE_TURN_ERR_PEER_FAMILY_MISMATCH;
}

static long method_refresh(struct floe_relay *r, floe_time now, struct relay_req *q,
                           struct relay_alloc *a)
{
    struct floe_stun_builder b;
    floe_time lifetime = method_lifetime(r, q->msg);

    if (method_refresh_check(a, q->msg))
        return floe__relay_answer_error(r, q, FLOE_TURN_ERR_PEER_FAMILY_MISMATCH,
                                        "Peer Address Family Mismatch");
    floe__relay_answer_start(&b, q, FLOE_STUN_SUCCESS);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, (uint32_t)(lifetime / FLOE_SEC(1)));
    if (lifetime == 0)
        floe__relay_alloc_destroy(r, a);
    else
        a->expires = floe_time_add(now, lifetime);
    return floe__relay_answer_finish(r, &b, q, q->key, q->msg->fingerprint_idx >= 0);
}

/* Validate one peer for a permission or channel: 0 or an error code. */
static int method_peer_check(struct floe_relay *r, const struct relay_alloc *a,
                             const struct floe_addr *peer)
{
    uint8_t i;

    for (i = 0; i < a->n_relayed; i++) {
        if (a->relayed[i].family == peer->family)
            break;
    }
    if (i == a->n_relayed)
        return FLOE_TURN_ERR_PEER_FAMILY_MISMATCH;
    return floe__relay_peer_allowed(r, peer) ? 0 : FLOE_TURN_ERR_FORBIDDEN;
}

static long method_create_permission(struct floe_relay *r, floe_time now, struct relay_req *q,
                                     struct relay_alloc *a)
{
    struct floe_addr peers[16];
    struct floe_stun_builder b;
    int n = floe_stun_get_xor_addrs(q->msg, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peers, 16), i, err;

    if (n <= 0)
        return floe__relay_answer_error(r, q, FLOE_TURN_ERR_BAD_REQUEST, "No Peer Address");
    for (i = 0; i < n; i++) {
        err = method_peer_check(r, a, &peers[i]);
        if (err)
            return floe__relay_answer_error(r, q, err, "Peer Refused");
    }
    for (i = 0; i < n; i++) {
        if (floe__relay_add_permission(r, a, now, &peers[i]) != 0)
            return floe__relay_answer_error(r, q, FLOE_TURN_ERR_INSUFFICIENT_CAPACITY,
                                            "Too Many Permissions");
    }
    floe__relay_answer_start(&b, q, FLOE_STUN_SUCCESS);
    return floe__relay_answer_finish(r, &b, q, q->key, q->msg->fingerprint_idx >= 0);
}

/* Checks of RFC 8656 section 11.2 for a ChannelBind; 0 or an error code. */
static int method_channel_check(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                                uint16_t number, const struct floe_addr *peer)
{
    struct relay_chan *by_num = floe__relay_chan_by_number(a, now, number);
    struct relay_chan *by_peer = floe__relay_chan_by_peer(a, now, peer);
    int err = method_peer_check(r, a, peer);

    if (err)
        return err;
    if (number < FLOE_CHANNEL_MIN || number > FLOE_CHANNEL_MAX_RFC5766)
        return FLOE_TURN_ERR_BAD_REQUEST;
    if ((by_num && !floe_addr_eq(&by_num->peer, peer)) || (by_peer && by_peer->number != number))
        return FLOE_TURN_ERR_BAD_REQUEST;
    if (!by_num && a->n_chans >= r->cfg.max_channels)
        return FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
    return 0;
}

static void method_channel_install(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                                   uint16_t number, const struct floe_addr *peer)
{
    struct relay_chan *c = floe__relay_chan_by_number(a, now, number);
    uint32_t i;

    if (!c) {
        /* An expired binding for this number or peer is reused in place. */
        for (i = 0; i < a->n_chans && !c; i++) {
            if (a->chans[i].number == number || floe_addr_eq(&a->chans[i].peer, peer))
                c = &a->chans[i];
        }
    }
    if (!c) {
        c = &a->chans[a->n_chans++];
        r->stats.channels++;
    }
    c->number = number;
    c->peer = *peer;
    c->expires = floe_time_add(now, r->cfg.channel_lifetime);
}

static long method_channel_bind(struct floe_relay *r, floe_time now, struct relay_req *q,
                                struct relay_alloc *a)
{
    struct floe_stun_builder b;
    struct floe_addr peer;
    uint16_t number;
    int err;

    if (floe_stun_get_channel(q->msg, &number) < 0 ||
        floe_stun_get_xor_addr(q->msg, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) < 0)
        return floe__relay_answer_error(r, q, FLOE_TURN_ERR_BAD_REQUEST, "Bad Request");
    err = method_channel_check(r, now, a, number, &peer);
    if (!err && floe__relay_add_permission(r, a, now, &peer) != 0)
        err = FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
    if (err)
        return floe__relay_answer_error(r, q, err,
                                        err == FLOE_TURN_ERR_FORBIDDEN ? "Peer Forbidden"
                                        : err == FLOE_TURN_ERR_BAD_REQUEST
                                            ? "Channel Or Peer Bound Otherwise"
                                            : "Channel Bind Refused");
    method_channel_install(r, now, a, number, &peer);
    floe__relay_answer_start(&b, q, FLOE_STUN_SUCCESS);
    return floe__relay_answer_finish(r, &b, q, q->key, q->msg->fingerprint_idx >= 0);
}

/* A request that needs an existing allocation owned by the same user. */
static long method_on_allocation(struct floe_relay *r, floe_time now, struct relay_req *q)
{
    struct relay_alloc *a = floe__relay_find_client(r, q->from, q->local);

    if (!a || a->state != RELAY_ALLOC_LIVE)
        return floe__relay_answer_error(r, q, FLOE_TURN_ERR_ALLOCATION_MISMATCH,
                                        "Allocation Mismatch");
    if (strcmp(a->username, q->username) != 0)
        return floe__relay_answer_error(r, q, FLOE_TURN_ERR_WRONG_CREDENTIALS, "Wrong Credentials");
    switch (q->msg->method) {
    case FLOE_STUN_REFRESH:
        return method_refresh(r, now, q, a);
    case FLOE_STUN_CREATE_PERMISSION:
        return method_create_permission(r, now, q, a);
    default:
        return method_channel_bind(r, now, q, a);
    }
}

/* Dispatch a request: Binding unauthenticated, the TURN methods after authentication. */
long floe__relay_request(struct floe_relay *r, floe_time now, struct relay_req *q)
{
    uint8_t key[FLOE_MD5_LEN];
    long n;

    r->stats.requests++;
    if (q->msg->method == FLOE_STUN_BINDING)
        return method_binding(r, now, q);
    if (q->msg->method != FLOE_STUN_ALLOCATE && q->msg->method != FLOE_STUN_REFRESH &&
        q->msg->method != FLOE_STUN_CREATE_PERMISSION && q->msg->method != FLOE_STUN_CHANNEL_BIND)
        return floe__relay_answer_unauth_error(r, now, q, FLOE_TURN_ERR_BAD_REQUEST,
                                               "Unknown Method");
    n = floe__relay_authenticate(r, now, q, key);
    if (n != 1)
        return n;
    q->key = key;
    if (q->msg->n_unknown)
        return method_unknown_attrs(r, q, key);
    if (q->msg->method == FLOE_STUN_ALLOCATE)
        return method_allocate(r, now, q);
    return method_on_allocation(r, now, q);
}
