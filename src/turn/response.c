/*
 * Responses to the client's requests: matching, authentication, the 401/438
 * nonce dance, and what each method's success or error means for the
 * allocation and its peers (RFC 8656 sections 7-11, RFC 8489 section 9.2).
 */
#include <string.h>

#include "turn_int.h"

/* The active request msg answers, or NULL. */
static struct turn_req *resp_match(struct floe_turn *t, const struct floe_stun_msg *msg)
{
    size_t i;

    for (i = 0; i < floe__turn_req_count(t); i++) {
        struct turn_req *q = floe__turn_req_at(t, i);

        if (q->active && q->txn.state == FLOE_STUN_TXN_WAITING && q->txn.sends > 0 &&
            memcmp(q->txn.txid, msg->txid, FLOE_STUN_TXID_LEN) == 0)
            return q;
    }
    return NULL;
}

/*
 * Whether msg may be believed: MESSAGE-INTEGRITY, when present and the key is
 * known, must verify; a success to an authenticated request must carry it.
 * Error responses without it are accepted (401 and 438 never carry it, and
 * servers leave it off others).
 */
static bool resp_authentic(const struct floe_turn *t, const struct turn_req *q,
                           const struct floe_stun_msg *msg)
{
    if (msg->integrity_idx >= 0 && t->have_key)
        return floe_stun_verify_integrity_key(msg, q->prev ? t->prev_key : t->key,
                                              sizeof(t->key)) == 0;
    return !(q->authed && msg->cls == FLOE_STUN_SUCCESS);
}

static struct turn_peer *resp_peer(struct floe_turn *t, const struct turn_req *q)
{
    return q->peer >= 0 && (uint32_t)q->peer < t->n_peers ? &t->peers[q->peer] : NULL;
}

/*
 * A 437 to Allocate: the server holds an allocation of this 5-tuple, one this client lost
 * track of (a reset back on a network whose NAT gives the old mapping). A Refresh with
 * LIFETIME 0 deletes it (RFC 8656 section 7.3) and the Allocate goes right behind it, in
 * the same flight: the server handles them in order, so the Allocate finds the 5-tuple
 * free. The deletion is sent once, never retransmitted: a retransmission reaching the
 * server after the new Allocate would delete the new allocation. If it was lost (or the two
 * were reordered) the Allocate meets a second 437, and the deletion is then made alone,
 * retransmitted, with the Allocate after its answer. coturn (4.6) answers the deletion at once
 * but frees the 5-tuple only when its timer reaps the allocation, within about a second: there
 * the Allocate behind it meets 437 again and the client retries with the backoff
 * (tests/interop/turn_return_test.sh).
 */
static void resp_delete_then_allocate(struct floe_turn *t, floe_time now)
{
    t->delete_pipelined = true;
    t->refresh_req.lifetime = 0;
    floe__turn_req_start(t, &t->refresh_req, FLOE_STUN_REFRESH, -1, now);
    t->refresh_req.prev = t->has_prev; /* only the credentials that made it may delete it */
    t->refresh_req.txn.cfg.max_sends = 1;
    t->refresh_req.txn.cfg.last_wait = 0;
    t->refresh_req.txn.cfg.give_up_after = 0;
    floe__turn_req_start(t, &t->alloc_req, FLOE_STUN_ALLOCATE, -1, now);
}

static void resp_allocate_failed(struct floe_turn *t, floe_time now, int code)
{
    if (code == FLOE_TURN_ERR_ADDRESS_FAMILY && t->cfg.want_ipv6 && !t->v6_refused) {
        t->v6_refused = true; /* ask again at once, for IPv4 only */
        floe__turn_start_allocate(t, now);
        return;
    }
    if (code == FLOE_TURN_ERR_ALLOCATION_MISMATCH && !t->delete_pipelined) {
        resp_delete_then_allocate(t, now);
        return;
    }
    floe__turn_backoff(t, now);
    if (code == FLOE_TURN_ERR_ALLOCATION_MISMATCH) {
        /* The server holds an allocation of this 5-tuple this client lost: delete it. */
        t->refresh_req.lifetime = 0;
        floe__turn_req_start(t, &t->refresh_req, FLOE_STUN_REFRESH, -1, now);
        t->refresh_req.prev = t->has_prev; /* every send of it, even once Allocate goes again */
    }
}

/* Refresh answers outside ALLOCATED: a close, or the deletion of a stale allocation. */
static bool resp_refresh_other(struct floe_turn *t)
{
    if (t->state == FLOE_TURN_CLOSING)
        t->state = FLOE_TURN_IDLE;
    return t->state != FLOE_TURN_ALLOCATED;
}

/*
 * A successful Refresh outside ALLOCATED. The deletion of a stale allocation (after a 437 to
 * Allocate: a client back on a 5-tuple the server still holds) frees the 5-tuple: allocate
 * again at once rather than after the backoff, a roam's recovery waits on it. Only after the
 * first 437 since the backoff was reset: a server that keeps refusing is retried with backoff.
 */
static bool resp_refresh_done_other(struct floe_turn *t, floe_time now)
{
    if (t->state == FLOE_TURN_BACKOFF && t->wanted && t->backoff <= 2 * t->cfg.backoff_min) {
        floe__turn_start_allocate(t, now);
        return true;
    }
    return resp_refresh_other(t);
}

static void resp_refresh_failed(struct floe_turn *t, floe_time now, const struct turn_req *q,
                                int code, const char *reason)
{
    /* A 437 to the deletion of a stale allocation: none holds the 5-tuple now either (the
     * deletion sent ahead of an Allocate that then succeeded came first: nothing to do). */
    if (code == FLOE_TURN_ERR_ALLOCATION_MISMATCH && q->lifetime == 0 &&
        (t->state == FLOE_TURN_ALLOCATED || resp_refresh_done_other(t, now)))
        return;
    if (resp_refresh_other(t))
        return;
    floe__turn_event_error(t, q->method, code, 0, reason, NULL);
    if (code == FLOE_TURN_ERR_ALLOCATION_MISMATCH)
        floe__turn_lose(t, now, code, 0);
    else
        t->refresh_at = floe_time_add(now, t->cfg.backoff_max);
}

/* An error response other than the nonce dance (code 0: no usable ERROR-CODE). */
static void resp_failed(struct floe_turn *t, floe_time now, const struct turn_req *q, int code,
                        const char *reason)
{
    struct turn_peer *p = resp_peer(t, q);
    int err = code ? 0 : FLOE_ERR_PROTOCOL;

    if (q->method == FLOE_STUN_BINDING)
        return; /* a keepalive's error says nothing about the allocation */
    if (q->method == FLOE_STUN_REFRESH && resp_refresh_other(t))
        return; /* a close or a stale deletion refused: nothing of ours stands on it */
    if (code == FLOE_TURN_ERR_UNAUTHORIZED || code == FLOE_TURN_ERR_WRONG_CREDENTIALS) {
        floe__turn_event_error(t, q->method, code, err, reason, NULL);
        if (t->has_next && t->state == FLOE_TURN_ALLOCATED)
            floe__turn_lose(t, now, code, 0); /* the old ones expired: allocate with the new */
        else if (t->has_next)
            floe__turn_start_allocate(t, now); /* refused in flight: the new ones at once */
        else
            floe__turn_fail(t, code); /* no retry: the caller must act */
        return;
    }
    if (q->method == FLOE_STUN_REFRESH) {
        resp_refresh_failed(t, now, q, code, reason);
        return;
    }
    floe__turn_event_error(t, q->method, code, err, reason, p ? &p->addr : NULL);
    if (q->method == FLOE_STUN_ALLOCATE)
        resp_allocate_failed(t, now, code);
    else if (code == FLOE_TURN_ERR_ALLOCATION_MISMATCH)
        floe__turn_lose(t, now, code, 0);
    else if (p)
        floe__turn_peer_failed(t, p, q->method);
}

/* 401 to an unauthenticated request or 438: learn realm and nonce, send again. */
static bool resp_challenge(struct floe_turn *t, floe_time now, struct turn_req *q,
                           const struct floe_stun_msg *msg, int code)
{
    uint8_t stale = q->stale;
    bool prev = q->prev;

    if (!(code == FLOE_TURN_ERR_UNAUTHORIZED && !q->authed) && code != FLOE_TURN_ERR_STALE_NONCE)
        return false;
    if (stale >= TURN_MAX_STALE || floe__turn_set_realm_nonce(t, msg) < 0)
        return false;
    floe__turn_req_start(t, q, q->method, q->peer, now);
    q->stale = (uint8_t)(stale + 1);
    q->prev = prev;
    return true;
}

static void resp_error(struct floe_turn *t, floe_time now, struct turn_req *q,
                       const struct floe_stun_msg *msg)
{
    char reason[128] = "error response without a valid ERROR-CODE";
    struct floe_span phrase;
    int code = 0;

    if (floe_stun_get_error(msg, &code, &phrase) == 0) {
        size_t n = phrase.len < sizeof(reason) - 1 ? phrase.len : sizeof(reason) - 1;

        memcpy(reason, phrase.ptr, n);
        reason[n] = '\0';
        if (resp_challenge(t, now, q, msg, code))
            return;
    }
    floe__turn_req_stop(q);
    resp_failed(t, now, q, code, reason);
}

/* ADDRESS-ERROR-CODE: the second family asked for was refused; the allocation stands. */
static void resp_address_error(struct floe_turn *t, const struct floe_stun_msg *msg)
{
    char reason[128] = "relayed address family refused";
    struct floe_span phrase;
    uint8_t family;
    int code;

    if (floe_stun_get_address_error(msg, &family, &code, &phrase) < 0)
        return;
    if (phrase.len && phrase.len < sizeof(reason)) {
        memcpy(reason, phrase.ptr, phrase.len);
        reason[phrase.len] = '\0';
    }
    floe__turn_event_error(t, FLOE_STUN_ALLOCATE, code, 0, reason, NULL);
}

static void resp_allocate(struct floe_turn *t, floe_time now, const struct floe_stun_msg *msg)
{
    struct floe_addr relayed[2], mapped;
    uint32_t lifetime = t->cfg.lifetime_s;
    int n = floe_stun_get_xor_addrs(msg, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, relayed, 2);

    if (n <= 0) {
        floe__turn_event_error(t, FLOE_STUN_ALLOCATE, 0, FLOE_ERR_PROTOCOL,
                               "Allocate success without XOR-RELAYED-ADDRESS", NULL);
        floe__turn_backoff(t, now);
        return;
    }
    if (floe_stun_get_xor_addr(msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) < 0)
        memset(&mapped, 0, sizeof(mapped));
    (void)floe_stun_get_u32(msg, FLOE_STUN_ATTR_LIFETIME, &lifetime);
    t->lifetime = FLOE_SEC(lifetime);
    resp_address_error(t, msg);
    floe__turn_allocated(t, now, relayed, (uint8_t)n, &mapped);
}

static void resp_refresh(struct floe_turn *t, floe_time now, const struct turn_req *q,
                         const struct floe_stun_msg *msg)
{
    uint32_t lifetime = t->cfg.lifetime_s;

    if (resp_refresh_done_other(t, now))
        return;
    if (q->lifetime == 0) {
        /* The deletion sent ahead of the Allocate is answered after the allocation: in
         * order at the server it deleted the old one, out of order the new one. Ask. */
        t->refresh_at = now;
        return;
    }
    (void)floe_stun_get_u32(msg, FLOE_STUN_ATTR_LIFETIME, &lifetime);
    t->lifetime = FLOE_SEC(lifetime);
    t->refresh_at = floe_time_add(now, t->lifetime / 2);
}

static void resp_success(struct floe_turn *t, floe_time now, struct turn_req *q,
                         const struct floe_stun_msg *msg)
{
    struct turn_peer *p = resp_peer(t, q);

    floe__turn_req_stop(q);
    switch (q->method) {
    case FLOE_STUN_ALLOCATE:
        resp_allocate(t, now, msg);
        break;
    case FLOE_STUN_REFRESH:
        resp_refresh(t, now, q, msg);
        break;
    case FLOE_STUN_CREATE_PERMISSION:
        if (p)
            floe__turn_peer_perm_ok(t, p, now);
        break;
    case FLOE_STUN_CHANNEL_BIND:
        if (p)
            floe__turn_peer_chan_ok(t, p, now);
        break;
    default:
        break; /* keepalive answered */
    }
}

/* A STUN response from the server: IGNORED when it answers none of our requests. */
int floe__turn_response(struct floe_turn *t, floe_time now, const struct floe_stun_msg *msg)
{
    struct turn_req *q = resp_match(t, msg);

    if (!q) {
        t->stats.ignored++;
        return FLOE_TURN_INPUT_IGNORED;
    }
    if (msg->method != q->method) {
        floe__turn_drop(t, FLOE_TURN_DROP_UNEXPECTED, "response of another method");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    if (!resp_authentic(t, q, msg)) {
        floe__turn_drop(t, FLOE_TURN_DROP_INTEGRITY, "response integrity check failed");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    (void)floe_stun_txn_handle_response(&q->txn, now, msg);
    if (q->txn.rtt != FLOE_TIME_NEVER)
        floe__turn_rtt_sample(t, now, q->txn.rtt);
    t->stats.responses++;
    if (msg->cls == FLOE_STUN_SUCCESS)
        resp_success(t, now, q, msg);
    else
        resp_error(t, now, q, msg);
    if (resp_peer(t, q)) /* its timers moved (a loss cleared the peers: none) */
        floe__turn_peer_touch(t, resp_peer(t, q));
    return FLOE_TURN_INPUT_CONSUMED;
}
