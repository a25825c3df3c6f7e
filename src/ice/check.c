/*
 * Connectivity checks: the triggered queue and ordinary checks paced by Ta
 * (RFC 8445 sections 6.1.4.2, 7.3.1.4, 14.2), frozen pairs unfrozen by
 * foundation, per-check retransmission (RTO doubling to a cap, bounded sends),
 * building requests and responses, and floe_ice_poll_transmit.
 */
#include <string.h>

#include "ice/ice_int.h"

bool floe__ice_can_send(const struct floe_ice_agent *a)
{
    return a->remote_key && a->state != FLOE_ICE_FAILED && a->state != FLOE_ICE_CLOSED;
}

void floe__ice_start_check(struct floe_ice_agent *a, struct ice_pair *p, floe_time now)
{
    floe__ice_random(a, p->txid, sizeof(p->txid));
    p->state = FLOE_ICE_PAIR_IN_PROGRESS;
    p->sends = 0;
    p->rto = a->cfg.check_rto;
    p->send_due = true;
    p->next = now;
    p->sent_role = a->role;
    p->triggered = 0;
    p->cancelled = false;
    p->txn_use_cand = p->nominate_pending && a->role == FLOE_ICE_CONTROLLING;
}

void floe__ice_trigger(struct floe_ice_agent *a, struct ice_pair *p)
{
    if (p->state != FLOE_ICE_PAIR_IN_PROGRESS)
        p->state = FLOE_ICE_PAIR_WAITING;
    if (p->triggered == 0)
        p->triggered = ++a->triggered_seq;
}

/* Keep the current check's transaction id among the cancelled ones whose answers count. */
static void check_remember_txn(struct ice_pair *p)
{
    uint8_t slot = p->prev_next;

    memcpy(p->prev_txid[slot], p->txid, FLOE_STUN_TXID_LEN);
    if (p->txn_use_cand)
        p->prev_use_cand = (uint8_t)(p->prev_use_cand | (1u << slot));
    else
        p->prev_use_cand = (uint8_t)(p->prev_use_cand & ~(1u << slot));
    if (p->sent_role == FLOE_ICE_CONTROLLED)
        p->prev_controlled = (uint8_t)(p->prev_controlled | (1u << slot));
    else
        p->prev_controlled = (uint8_t)(p->prev_controlled & ~(1u << slot));
    p->prev_next = (uint8_t)((slot + 1) % ICE_PREV_TXIDS);
    if (p->n_prev < ICE_PREV_TXIDS)
        p->n_prev++;
}

/*
 * RFC 8445 section 7.3.1.4: a check arriving on a pair whose own check is In-Progress
 * cancels that transaction (no more retransmissions, its timeout no failure; a
 * response to it still counts) and queues a new check, with a new transaction
 * id, on the triggered queue: the peer's check has just opened its NAT towards us.
 */
void floe__ice_restart_check(struct floe_ice_agent *a, struct ice_pair *p)
{
    if (p->sends == 0)
        return; /* the first send is still due: it is the new check */
    check_remember_txn(p);
    p->state = FLOE_ICE_PAIR_WAITING;
    p->send_due = false;
    floe__ice_trigger(a, p);
    a->stats.checks_restarted++;
}

/*
 * RFC 8445 section 8.1.2: a nomination ends the checks of the other pairs
 * (Frozen and Waiting ones leave the checklist, In-Progress ones stop
 * retransmitting; an answer to the last send still counts). They are checked
 * again if the selection is lost.
 */
void floe__ice_cancel_check(struct floe_ice_agent *a, struct ice_pair *p)
{
    if (p->state == FLOE_ICE_PAIR_IN_PROGRESS && p->sends > 0)
        check_remember_txn(p);
    p->state = FLOE_ICE_PAIR_FAILED;
    p->cancelled = true;
    p->send_due = false;
    p->triggered = 0;
    p->nominate_pending = false;
    p->recheck = false;
    a->stats.pairs_cancelled++;
}

static bool check_foundation_busy(const struct floe_ice_agent *a, const struct ice_pair *f)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];
        bool busy = p->state == FLOE_ICE_PAIR_WAITING || p->state == FLOE_ICE_PAIR_IN_PROGRESS;

        if (p != f && busy && floe__ice_same_foundation(a, p, f))
            return true;
    }
    return false;
}

static bool check_better(const struct ice_pair *p, const struct ice_pair *best)
{
    return !best || p->priority > best->priority;
}

/* The next pair to start: the triggered queue first, then Waiting, then Frozen. */
static int check_pick(const struct floe_ice_agent *a)
{
    const struct ice_pair *trig = NULL, *wait = NULL, *frozen = NULL;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (p->triggered && p->state != FLOE_ICE_PAIR_IN_PROGRESS &&
            (!trig || p->triggered < trig->triggered))
            trig = p;
        else if (p->state == FLOE_ICE_PAIR_WAITING && check_better(p, wait))
            wait = p;
        else if (p->state == FLOE_ICE_PAIR_FROZEN && check_better(p, frozen) &&
                 !check_foundation_busy(a, p))
            frozen = p;
    }
    if (trig)
        return (int)(trig - a->pairs);
    if (wait)
        return (int)(wait - a->pairs);
    return frozen ? (int)(frozen - a->pairs) : ICE_NONE;
}

static void check_retransmits(struct floe_ice_agent *a, floe_time now)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];

        if (p->state != FLOE_ICE_PAIR_IN_PROGRESS || p->send_due || now < p->next)
            continue;
        if (p->sends >= floe__ice_max_sends(a, p))
            floe__ice_pair_failed(a, p);
        else
            p->send_due = true;
    }
}

void floe__ice_drive_checks(struct floe_ice_agent *a, floe_time now)
{
    int idx;

    check_retransmits(a, now);
    if (!floe__ice_can_send(a))
        return;
    while (now >= a->next_check) {
        idx = check_pick(a);
        if (idx == ICE_NONE)
            return;
        floe__ice_start_check(a, &a->pairs[idx], now);
        a->next_check = floe_time_add(now, a->cfg.ta);
        if (a->cfg.ta != 0)
            return;
    }
}

floe_time floe__ice_checks_timeout(const struct floe_ice_agent *a)
{
    floe_time t = FLOE_TIME_NEVER;
    size_t i;

    if (a->state == FLOE_ICE_FAILED || a->state == FLOE_ICE_CLOSED)
        return t;
    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (p->state == FLOE_ICE_PAIR_IN_PROGRESS && !p->send_due)
            t = floe_time_min(t, p->next);
    }
    if (floe__ice_can_send(a) && check_pick(a) != ICE_NONE)
        t = floe_time_min(t, a->next_check);
    return t;
}

void floe__ice_pair_succeeded(struct floe_ice_agent *a, struct ice_pair *p, floe_time now)
{
    size_t i;

    if (p->state != FLOE_ICE_PAIR_SUCCEEDED)
        a->stats.pairs_succeeded++;
    p->state = FLOE_ICE_PAIR_SUCCEEDED;
    p->send_due = false;
    p->cancelled = false;
    p->recheck = false;
    p->n_prev = 0;
    if (!p->nominate_pending && !p->nominate_on_success)
        p->triggered = 0; /* a check triggered before this answer has nothing left to learn */
    p->last_response = now;
    if (p->txn_use_cand && a->role == FLOE_ICE_CONTROLLING) {
        p->nominated = true;
        p->nominate_pending = false;
    }
    p->txn_use_cand = false;
    if (p->nominate_on_success && a->role == FLOE_ICE_CONTROLLED)
        p->nominated = true;
    p->nominate_on_success = false;
    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *o = &a->pairs[i];

        if (o->state == FLOE_ICE_PAIR_FROZEN && floe__ice_same_foundation(a, o, p))
            o->state = FLOE_ICE_PAIR_WAITING;
    }
    floe__ice_update_selected(a, now);
}

void floe__ice_pair_failed(struct floe_ice_agent *a, struct ice_pair *p)
{
    if (p->state != FLOE_ICE_PAIR_FAILED)
        a->stats.pairs_failed++;
    p->state = FLOE_ICE_PAIR_FAILED;
    p->send_due = false;
    p->recheck = false;
    p->n_prev = 0;
    p->triggered = 0;
    p->nominate_pending = false;
    p->txn_use_cand = false;
}

/* Queue an answer to a request; kind gives its error code, signing and generation. */
int floe__ice_queue_reply(struct floe_ice_agent *a, const struct floe_ice_path *path,
                          const struct floe_addr *to, const uint8_t *txid,
                          const struct ice_response *kind)
{
    struct ice_response *r;

    if (a->n_responses == ICE_RESPONSE_CAP) {
        a->stats.dropped_overflow++;
        return FLOE_ERR_NOMEM;
    }
    r = &a->responses[a->n_responses++];
    *r = *kind;
    r->path = *path;
    r->to = *to;
    memcpy(r->txid, txid, FLOE_STUN_TXID_LEN);
    return 0;
}

/* A signed answer of the current generation: success (error_code 0) or an error. */
int floe__ice_queue_response(struct floe_ice_agent *a, const struct floe_ice_path *path,
                             const struct floe_addr *to, const uint8_t *txid, int error_code)
{
    struct ice_response kind = {.error_code = error_code, .sign = true};

    return floe__ice_queue_reply(a, path, to, txid, &kind);
}

/* The credentials checks on p are made with: the previous generation's for its pair. */
static struct ice_creds check_creds(const struct floe_ice_agent *a, const struct ice_pair *p)
{
    struct ice_creds c = {a->local_ufrag, a->remote_ufrag, a->remote_key};

    if (p->old_gen) {
        c.local_ufrag = a->old.local_ufrag;
        c.remote_ufrag = a->old.remote_ufrag;
        c.remote_key = a->old.remote_key;
    }
    return c;
}

/*
 * RFC 8445 section 7.2.2: USERNAME, PRIORITY, role, USE-CANDIDATE, integrity, fingerprint.
 * A check carries the role it was started with in every send (a retransmission is the same
 * request), so a 487 always tells which role it refused (section 7.2.5.1).
 */
static long check_build_request(struct floe_ice_agent *a, const struct ice_pair *p,
                                enum floe_ice_role role, const uint8_t *txid, bool use_cand,
                                uint8_t *buf, size_t cap)
{
    const struct floe_ice_candidate *l = &a->locals[p->local].c;
    struct ice_creds cr = check_creds(a, p);
    char user[2 * FLOE_ICE_UFRAG_MAX + 2];
    size_t ru = strlen(cr.remote_ufrag), lu = strlen(cr.local_ufrag);
    struct floe_stun_builder b;
    bool ctl = role == FLOE_ICE_CONTROLLING;

    if (!cr.remote_key)
        return FLOE_ERR_STATE;
    memcpy(user, cr.remote_ufrag, ru);
    user[ru] = ':';
    memcpy(user + ru + 1, cr.local_ufrag, lu);
    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, ru + 1 + lu);
    floe_stun_add_u32(
        &b, FLOE_STUN_ATTR_PRIORITY,
        floe_ice_candidate_priority(FLOE_ICE_PRFLX, (uint16_t)(l->priority >> 8), l->component));
    floe_stun_add_u64(&b, ctl ? FLOE_STUN_ATTR_ICE_CONTROLLING : FLOE_STUN_ATTR_ICE_CONTROLLED,
                      a->tie_breaker);
    if (use_cand && ctl)
        floe_stun_add_flag(&b, FLOE_STUN_ATTR_USE_CANDIDATE);
    floe_stun_add_integrity(&b, cr.remote_key);
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

static const char *check_reason(int code)
{
    switch (code) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthenticated";
    default:
        return "Role Conflict";
    }
}

/*
 * RFC 8445 section 7.3.1: success with XOR-MAPPED-ADDRESS, 487 Role Conflict,
 * or 400/401 (RFC 8489 section 9.1.3; unsigned when the request was not
 * authenticated). Returns FLOE_ERR_STATE when the key to sign with is gone.
 */
static long check_build_response(struct floe_ice_agent *a, const struct ice_response *r,
                                 uint8_t *buf, size_t cap)
{
    struct floe_stun_builder b;
    uint8_t cls = r->error_code ? FLOE_STUN_ERROR : FLOE_STUN_SUCCESS;
    struct floe_hmac *key = r->old_gen ? a->old.local_key : a->local_key;

    if (r->sign && !key)
        return FLOE_ERR_STATE;
    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, cls, r->txid);
    if (r->error_code)
        floe_stun_add_error(&b, r->error_code, check_reason(r->error_code));
    else
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &r->to);
    if (r->sign)
        floe_stun_add_integrity(&b, key);
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

static void check_pop_response(struct floe_ice_agent *a)
{
    a->n_responses--;
    memmove(&a->responses[0], &a->responses[1], a->n_responses * sizeof(a->responses[0]));
}

/* The oldest queued answer; one whose generation ended meanwhile is dropped. */
static int check_emit_response(struct floe_ice_agent *a, uint8_t *buf, size_t cap,
                               struct floe_ice_transmit *out)
{
    while (a->n_responses > 0) {
        const struct ice_response *r = &a->responses[0];
        long n = check_build_response(a, r, buf, cap);

        if (n == FLOE_ERR_STATE) {
            check_pop_response(a);
            continue;
        }
        if (n < 0)
            return (int)n;
        out->path = r->path;
        out->remote = r->to;
        out->len = (size_t)n;
        check_pop_response(a);
        return 1;
    }
    return 0;
}

static void check_sent(struct floe_ice_agent *a, struct ice_pair *p, floe_time now)
{
    a->local_creds_used = true;
    if (p->sends == 0)
        a->stats.checks_sent++;
    else
        a->stats.checks_retransmitted++;
    p->sends++;
    p->send_due = false;
    p->next = floe_time_add(now, p->rto);
    p->rto = p->rto * 2;
    if (a->cfg.check_rto_max && p->rto > a->cfg.check_rto_max)
        p->rto = a->cfg.check_rto_max;
}

static int check_emit_pair(struct floe_ice_agent *a, struct ice_pair *p, floe_time now,
                           uint8_t *buf, size_t cap, struct floe_ice_transmit *out)
{
    long n = check_build_request(a, p, p->sent_role, p->txid, p->txn_use_cand, buf, cap);

    if (n < 0)
        return (int)n;
    floe__ice_pair_path(a, p, &out->path);
    out->remote = a->remotes[p->remote].c.addr;
    out->len = (size_t)n;
    check_sent(a, p, now);
    return 1;
}

static int check_emit_consent(struct floe_ice_agent *a, uint8_t *buf, size_t cap,
                              struct floe_ice_transmit *out)
{
    struct ice_pair *p = &a->pairs[a->selected];
    uint8_t *txid = a->consent_txids[a->consent_txid_next];
    long n;

    floe__ice_random(a, txid, FLOE_STUN_TXID_LEN);
    n = check_build_request(a, p, a->role, txid, false, buf, cap);
    if (n == FLOE_ERR_STATE)
        a->consent_due = false; /* no key for this pair's generation: nothing to send */
    if (n < 0)
        return n == FLOE_ERR_STATE ? 0 : (int)n;
    a->consent_txid_used[a->consent_txid_next] = true;
    a->consent_txid_next = (a->consent_txid_next + 1) % ICE_CONSENT_TXIDS;
    a->consent_due = false;
    a->stats.consent_sent++;
    floe__ice_pair_path(a, p, &out->path);
    out->remote = a->remotes[p->remote].c.addr;
    out->len = (size_t)n;
    return 1;
}

static struct ice_pair *check_due_pair(struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        if (a->pairs[i].send_due && a->pairs[i].state == FLOE_ICE_PAIR_IN_PROGRESS)
            return &a->pairs[i];
    }
    return NULL;
}

int floe_ice_poll_transmit(struct floe_ice_agent *agent, floe_time now, uint8_t *buf, size_t cap,
                           struct floe_ice_transmit *out)
{
    struct ice_pair *p;

    if (!agent || !buf || !out)
        return FLOE_ERR_INVALID_ARG;
    if (agent->state == FLOE_ICE_CLOSED || agent->state == FLOE_ICE_FAILED)
        return 0;
    memset(out, 0, sizeof(*out));
    if (agent->n_responses > 0) {
        int rc = check_emit_response(agent, buf, cap, out);

        if (rc != 0)
            return rc;
    }
    p = floe__ice_can_send(agent) ? check_due_pair(agent) : NULL;
    if (p)
        return check_emit_pair(agent, p, now, buf, cap, out);
    if (agent->consent_due && agent->selected != ICE_NONE)
        return check_emit_consent(agent, buf, cap, out);
    return 0;
}
