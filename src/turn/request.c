/*
 * The client's requests (RFC 8656 sections 7-11): building them with the
 * long-term credentials, their transactions, retransmissions and give-ups.
 * A request is rebuilt for every (re)transmission with the same transaction id,
 * so a nonce learnt meanwhile is used at once.
 */
#include <string.h>

#include "turn_int.h"

#define REQ_FIXED 3 /* Allocate, Refresh, Binding; then two per peer */

size_t floe__turn_req_count(const struct floe_turn *t)
{
    return REQ_FIXED + 2u * t->n_peers;
}

struct turn_req *floe__turn_req_at(struct floe_turn *t, size_t i)
{
    struct turn_peer *p;

    /* The Refresh first: a deletion goes out ahead of the Allocate behind it. */
    if (i == 0)
        return &t->refresh_req;
    if (i == 1)
        return &t->alloc_req;
    if (i == 2)
        return &t->bind_req;
    p = &t->peers[(i - REQ_FIXED) / 2];
    return (i - REQ_FIXED) % 2 ? &p->chan.req : &p->perm.req;
}

/* RFC 8489 section 6.2.1: the cached RTO is stale after 10 minutes without a transaction. */
#define REQ_RTT_STALE FLOE_SEC(600)

/* An answer to a request sent once came rtt after it: RFC 6298 section 2, in nanoseconds. */
void floe__turn_rtt_sample(struct floe_turn *t, floe_time now, floe_time rtt)
{
    floe_time dev;

    if (!t->cfg.rto_min)
        return;
    if (!t->srtt || now - t->rtt_at > REQ_RTT_STALE) {
        t->srtt = rtt ? rtt : 1;
        t->rttvar = rtt / 2;
    } else {
        dev = t->srtt > rtt ? t->srtt - rtt : rtt - t->srtt;
        t->rttvar = (3 * t->rttvar + dev) / 4;
        t->srtt = (7 * t->srtt + rtt) / 8;
        t->srtt = t->srtt ? t->srtt : 1;
    }
    t->rtt_at = now;
}

/* The first RTO of a request started now: SRTT + 4 RTTVAR within [rto_min, initial_rto]. */
static floe_time req_rto(const struct floe_turn *t, floe_time now)
{
    floe_time rto;

    if (!t->cfg.rto_min || !t->srtt || now - t->rtt_at > REQ_RTT_STALE)
        return t->cfg.txn.initial_rto;
    rto = t->srtt + 4 * t->rttvar;
    if (rto < t->cfg.rto_min)
        rto = t->cfg.rto_min;
    return rto < t->cfg.txn.initial_rto ? rto : t->cfg.txn.initial_rto;
}

void floe__turn_req_start(struct floe_turn *t, struct turn_req *q, uint16_t method, int32_t peer,
                          floe_time now)
{
    struct floe_stun_txn_config tc = t->cfg.txn;
    uint8_t txid[FLOE_STUN_TXID_LEN];

    if (floe_rng_fill(&t->cfg.rng, txid, sizeof(txid)) < 0)
        memset(txid, 0, sizeof(txid)); /* unreachable: floe_turn_new requires the hook */
    q->method = method;
    q->peer = peer;
    q->active = true;
    q->authed = false;
    q->prev = false;
    tc.initial_rto = req_rto(t, now);
    floe_stun_txn_start(&q->txn, &tc, txid, now);
}

void floe__turn_req_stop(struct turn_req *q)
{
    q->active = false;
    q->stale = 0;
}

static void req_add_peer(struct floe_turn *t, struct floe_stun_builder *b, const struct turn_req *q)
{
    const struct turn_peer *p = &t->peers[q->peer];

    if (q->method == FLOE_STUN_CHANNEL_BIND)
        floe_stun_add_channel(b, floe__turn_channel_of(t, p));
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p->addr);
}

static void req_add_body(struct floe_turn *t, struct floe_stun_builder *b, const struct turn_req *q)
{
    switch (q->method) {
    case FLOE_STUN_ALLOCATE:
        floe_stun_add_requested_transport(b, 17); /* UDP */
        floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, t->cfg.lifetime_s);
        if (t->cfg.want_ipv6 && !t->v6_refused)
            floe_stun_add_family(b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
                                 FLOE_STUN_FAMILY_IPV6);
        break;
    case FLOE_STUN_REFRESH:
        floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, q->lifetime);
        break;
    case FLOE_STUN_CREATE_PERMISSION:
    case FLOE_STUN_CHANNEL_BIND:
        req_add_peer(t, b, q);
        break;
    default:
        break;
    }
}

/* Build q into buf; authenticated once the realm and nonce are known (never a Binding). */
static long req_build(struct floe_turn *t, struct turn_req *q, uint8_t *buf, size_t cap)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, q->method, FLOE_STUN_REQUEST, q->txn.txid);
    req_add_body(t, &b, q);
    if (t->software[0])
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_SOFTWARE, t->software, strlen(t->software));
    q->authed = q->method != FLOE_STUN_BINDING && t->have_key;
    if (q->authed) {
        const char *user = q->prev ? t->prev_username : t->username;

        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, t->realm, t->realm_len);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, t->nonce, t->nonce_len);
        floe_stun_add_integrity_key(&b, q->prev ? t->prev_key : t->key, sizeof(t->key));
    }
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

/* Whether q's (re)send is due. */
bool floe__turn_req_send_due(const struct turn_req *q)
{
    return q->active && q->txn.state == FLOE_STUN_TXN_WAITING && q->txn.send_due;
}

/* Build q (due) into buf and record the send: its length or a builder error. */
long floe__turn_req_send(struct floe_turn *t, struct turn_req *q, floe_time now, uint8_t *buf,
                         size_t cap)
{
    long n = req_build(t, q, buf, cap);

    if (n < 0)
        return n;
    (void)floe_stun_txn_poll_transmit(&q->txn, now);
    if (q->txn.sends == 1)
        t->stats.requests++;
    else
        t->stats.retransmits++;
    return n;
}

/* The first of the allocation's own requests due (the peers' go through peer_sched.c), built
 * into buf: its length, 0 when none, or a builder error. */
long floe__turn_req_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap)
{
    size_t i;

    for (i = 0; i < REQ_FIXED; i++) {
        struct turn_req *q = floe__turn_req_at(t, i);

        if (floe__turn_req_send_due(q))
            return floe__turn_req_send(t, q, now, buf, cap);
    }
    return 0;
}

/* A request got no answer in time. */
static void req_timed_out(struct floe_turn *t, floe_time now, struct turn_req *q)
{
    static const char gone[] = "no response from the TURN server";

    floe__turn_req_stop(q);
    if (q->method == FLOE_STUN_ALLOCATE) {
        floe__turn_event_error(t, q->method, 0, FLOE_ERR_TIMEOUT, gone, NULL);
        floe__turn_backoff(t, now);
    } else if (t->state == FLOE_TURN_CLOSING && q == &t->refresh_req) {
        t->state = FLOE_TURN_IDLE;
    } else if (q == &t->refresh_req && q->lifetime == 0) {
        /* a deletion of a stale allocation sent ahead of an Allocate: nothing waits on it */
    } else if (t->state == FLOE_TURN_ALLOCATED) {
        floe__turn_event_error(t, q->method, 0, FLOE_ERR_TIMEOUT, gone, NULL);
        floe__turn_lose(t, now, 0, FLOE_ERR_TIMEOUT);
    }
}

/* Fire q's due deadline (q active): a retransmission, or its give-up. */
void floe__turn_req_timeout(struct floe_turn *t, floe_time now, struct turn_req *q)
{
    floe_stun_txn_handle_timeout(&q->txn, now);
    if (floe_stun_txn_is_timed_out(&q->txn))
        req_timed_out(t, now, q);
}

/* The allocation's own requests; the peers' are timed by peer_sched.c. */
void floe__turn_req_timeouts(struct floe_turn *t, floe_time now)
{
    size_t i;

    for (i = 0; i < REQ_FIXED; i++) {
        struct turn_req *q = floe__turn_req_at(t, i);

        if (q->active)
            floe__turn_req_timeout(t, now, q);
    }
}

floe_time floe__turn_req_deadline(const struct floe_turn *t)
{
    floe_time next = FLOE_TIME_NEVER;
    size_t i;

    for (i = 0; i < REQ_FIXED; i++) {
        const struct turn_req *q = floe__turn_req_at((struct floe_turn *)t, i);

        if (q->active)
            next = floe_time_min(next, floe_stun_txn_poll_timeout(&q->txn));
    }
    return next;
}

static bool req_span_fits(struct floe_span s, size_t max)
{
    return s.len > 0 && s.len <= max && !memchr(s.ptr, '\0', s.len);
}

/*
 * Learn REALM and NONCE from a 401 or 438 answer and derive the long-term key
 * when the realm is new. Returns 0, FLOE_ERR_PROTOCOL (missing or unusable
 * values) or a key derivation error.
 */
int floe__turn_set_realm_nonce(struct floe_turn *t, const struct floe_stun_msg *msg)
{
    struct floe_span realm, nonce;
    bool same_realm;

    if (floe_stun_get_span(msg, FLOE_STUN_ATTR_REALM, &realm) < 0 ||
        floe_stun_get_span(msg, FLOE_STUN_ATTR_NONCE, &nonce) < 0 ||
        !req_span_fits(realm, FLOE_TURN_REALM_MAX) || !req_span_fits(nonce, FLOE_TURN_NONCE_MAX))
        return FLOE_ERR_PROTOCOL;
    memcpy(t->nonce, nonce.ptr, nonce.len);
    t->nonce[nonce.len] = '\0';
    t->nonce_len = nonce.len;
    same_realm =
        t->have_key && realm.len == t->realm_len && memcmp(realm.ptr, t->realm, realm.len) == 0;
    if (same_realm)
        return 0;
    memcpy(t->realm, realm.ptr, realm.len);
    t->realm[realm.len] = '\0';
    t->realm_len = realm.len;
    return floe__turn_derive_key(t);
}

/* The long-term key MD5(username ":" realm ":" password) (RFC 8489 section 9.2.2). */
int floe__turn_derive_key(struct floe_turn *t)
{
    int rc = floe_stun_long_term_key_md5(t->key, floe_span_make(t->username, strlen(t->username)),
                                         floe_span_make(t->realm, t->realm_len),
                                         floe_span_make(t->password, strlen(t->password)));

    t->have_key = rc == 0;
    return rc;
}
