/*
 * floe_ice_handle_input: Binding requests (RFC 8445 section 7.3: role
 * conflicts 7.3.1.1, peer-reflexive remote candidates 7.3.1.3, triggered
 * checks 7.3.1.4, USE-CANDIDATE 7.3.1.5) and responses (7.2.5: 487, symmetric
 * addresses, peer-reflexive local candidates 7.2.5.3.1, consent refresh).
 * Every datagram the agent cannot use is dropped and counted, never asserted.
 */
#include <string.h>

#include "ice/ice_int.h"

#define INPUT_BAD_REQUEST 400
#define INPUT_UNAUTHENTICATED 401
#define INPUT_ROLE_CONFLICT 487

static int input_drop(struct floe_ice_agent *a, uint64_t *counter, const char *why,
                      const struct floe_addr *from, int rc)
{
    if (counter)
        (*counter)++;
    floe__ice_drop(a, why, from);
    return rc;
}

/*
 * RFC 8489 section 9.1.3: 400 when USERNAME or MESSAGE-INTEGRITY is missing,
 * 401 when either is wrong, both unsigned; a signed 400 for an authenticated
 * request without the ICE attributes (RFC 8445 section 7.3). Counted and dropped.
 */
static int input_reject(struct floe_ice_agent *a, const struct floe_ice_path *path,
                        const struct floe_addr *from, const struct floe_stun_msg *msg, int code)
{
    struct ice_response kind = {.error_code = code, .sign = false};
    bool authenticated = code == INPUT_BAD_REQUEST && floe_stun_has(msg, FLOE_STUN_ATTR_USERNAME) &&
                         floe_stun_has(msg, FLOE_STUN_ATTR_MESSAGE_INTEGRITY);

    kind.sign = authenticated;
    if (floe__ice_queue_reply(a, path, from, msg->txid, &kind) == 0)
        a->stats.requests_rejected++;
    if (authenticated)
        return input_drop(a, &a->stats.dropped_malformed, "request attributes", from,
                          FLOE_ERR_MALFORMED);
    return input_drop(a, &a->stats.dropped_unauthenticated, "request not authenticated", from,
                      FLOE_ERR_INTEGRITY);
}

/* USERNAME must be "<our ufrag>:<their ufrag>" (RFC 8445 section 7.2.2). */
static bool input_username_ok(const struct floe_ice_agent *a, const struct floe_stun_msg *msg)
{
    struct floe_span user;
    size_t lu = strlen(a->local_ufrag);

    if (floe_stun_get_span(msg, FLOE_STUN_ATTR_USERNAME, &user) != 0)
        return false;
    return user.len > lu && memcmp(user.ptr, a->local_ufrag, lu) == 0 && user.ptr[lu] == ':';
}

/*
 * RFC 8445 section 7.3.1.1. Returns 1 when the request was answered with 487,
 * 0 when it may be processed (possibly after switching role).
 */
static int input_role_conflict(struct floe_ice_agent *a, const struct floe_ice_path *path,
                               const struct floe_addr *from, const struct floe_stun_msg *msg)
{
    uint64_t theirs;
    bool we_ctl = a->role == FLOE_ICE_CONTROLLING;
    uint16_t attr = we_ctl ? FLOE_STUN_ATTR_ICE_CONTROLLING : FLOE_STUN_ATTR_ICE_CONTROLLED;

    if (floe_stun_get_u64(msg, attr, &theirs) != 0)
        return 0;
    a->stats.role_conflicts++;
    if (we_ctl == (a->tie_breaker >= theirs)) {
        floe__ice_queue_response(a, path, from, msg->txid, INPUT_ROLE_CONFLICT);
        return 1;
    }
    floe__ice_set_role(a, we_ctl ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING);
    return 0;
}

static bool input_request_attrs_ok(const struct floe_stun_msg *msg, uint32_t *prio)
{
    bool ctl = floe_stun_has(msg, FLOE_STUN_ATTR_ICE_CONTROLLING);
    bool ctd = floe_stun_has(msg, FLOE_STUN_ATTR_ICE_CONTROLLED);
    uint64_t tb;

    if (floe_stun_get_u32(msg, FLOE_STUN_ATTR_PRIORITY, prio) != 0 || *prio == 0 || ctl == ctd)
        return false;
    return floe_stun_get_u64(
               msg, ctl ? FLOE_STUN_ATTR_ICE_CONTROLLING : FLOE_STUN_ATTR_ICE_CONTROLLED, &tb) == 0;
}

/* Triggered check and USE-CANDIDATE for the pair an authenticated request arrived on. */
static void input_request_pair(struct floe_ice_agent *a, floe_time now, struct ice_pair *p,
                               bool use_cand)
{
    if (p->state == FLOE_ICE_PAIR_IN_PROGRESS)
        floe__ice_restart_check(a, p);
    else if (p->state != FLOE_ICE_PAIR_SUCCEEDED)
        floe__ice_trigger(a, p);
    if (!use_cand || a->role != FLOE_ICE_CONTROLLED)
        return;
    if (p->state == FLOE_ICE_PAIR_SUCCEEDED && floe__ice_consent_fresh(a, p, now)) {
        p->nominated = true;
        floe__ice_update_selected(a, now);
    } else {
        p->nominate_on_success = true;
        if (p->state == FLOE_ICE_PAIR_SUCCEEDED)
            floe__ice_trigger(a, p);
    }
}

/* The request is a consent check of the previous generation (exact USERNAME and its key). */
static bool input_is_old_gen(const struct floe_ice_agent *a, const struct floe_stun_msg *msg)
{
    struct floe_span user;
    size_t lu = strlen(a->old.local_ufrag), ru = strlen(a->old.remote_ufrag);

    if (!a->old.active || floe_stun_get_span(msg, FLOE_STUN_ATTR_USERNAME, &user) != 0)
        return false;
    if (user.len != lu + 1 + ru || memcmp(user.ptr, a->old.local_ufrag, lu) != 0 ||
        user.ptr[lu] != ':' || memcmp(user.ptr + lu + 1, a->old.remote_ufrag, ru) != 0)
        return false;
    return floe_stun_verify_integrity(msg, a->old.local_key) == 0;
}

/* A consent check on the previous generation's pair: answered on that pair only. */
static int input_old_gen_request(struct floe_ice_agent *a, const struct floe_ice_path *path,
                                 const struct floe_addr *from, const struct floe_stun_msg *msg)
{
    const struct ice_pair *sel = &a->pairs[a->selected];
    struct ice_response kind = {.sign = true, .old_gen = true};
    struct floe_ice_path want;

    floe__ice_pair_path(a, sel, &want);
    if (!floe__ice_path_matches(&want, path) ||
        !floe_addr_eq(from, &a->remotes[sel->remote].c.addr))
        return input_drop(a, &a->stats.dropped_unmatched, "old generation, other path", from,
                          FLOE_ERR_NOT_FOUND);
    a->stats.checks_received++;
    if (floe__ice_queue_reply(a, path, from, msg->txid, &kind) == 0) {
        a->stats.checks_answered++;
        a->local_creds_used = true;
    }
    return 0;
}

/* The current generation's pair of (local, remote): the one there is, or a new one. */
static int input_pair(struct floe_ice_agent *a, floe_time now, int local, int remote)
{
    int idx = floe__ice_find_pair(a, local, remote);

    return idx != ICE_NONE ? idx : floe__ice_pair_for(a, now, local, remote);
}

static int input_request(struct floe_ice_agent *a, floe_time now, const struct floe_ice_path *path,
                         const struct floe_addr *from, const struct floe_stun_msg *msg)
{
    uint32_t prio;
    int local, remote, idx;

    if (input_is_old_gen(a, msg))
        return input_old_gen_request(a, path, from, msg);
    if (!floe_stun_has(msg, FLOE_STUN_ATTR_USERNAME) ||
        !floe_stun_has(msg, FLOE_STUN_ATTR_MESSAGE_INTEGRITY))
        return input_reject(a, path, from, msg, INPUT_BAD_REQUEST);
    if (!input_username_ok(a, msg) || floe_stun_verify_integrity(msg, a->local_key) != 0)
        return input_reject(a, path, from, msg, INPUT_UNAUTHENTICATED);
    if (!input_request_attrs_ok(msg, &prio))
        return input_reject(a, path, from, msg, INPUT_BAD_REQUEST);
    a->stats.checks_received++;
    if (input_role_conflict(a, path, from, msg))
        return 0;
    local = floe__ice_find_local_by_path(a, path);
    if (local == ICE_NONE)
        return input_drop(a, &a->stats.dropped_unmatched, "unknown local path", from,
                          FLOE_ERR_NOT_FOUND);
    remote = floe__ice_find_remote(a, from);
    if (remote == ICE_NONE)
        remote = floe__ice_add_remote_prflx(a, from, prio);
    if (remote == ICE_NONE)
        return input_drop(a, NULL, "remote candidates full", from, FLOE_ERR_NOMEM);
    if (floe__ice_queue_response(a, path, from, msg->txid, 0) == 0) {
        a->stats.checks_answered++;
        a->local_creds_used = true;
    }
    idx = input_pair(a, now, local, remote);
    if (idx != ICE_NONE)
        input_request_pair(a, now, &a->pairs[idx],
                           floe_stun_has(msg, FLOE_STUN_ATTR_USE_CANDIDATE));
    return 0;
}

/*
 * The pair whose check (or cancelled check, RFC 8445 section 7.3.1.4) has this
 * transaction id. An answer to a cancelled check nominates only if that check
 * carried USE-CANDIDATE.
 */
static struct ice_pair *input_find_txn(struct floe_ice_agent *a, const uint8_t *txid,
                                       int *cancelled)
{
    size_t i;
    uint8_t k;

    *cancelled = -1;
    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];

        if (p->state == FLOE_ICE_PAIR_IN_PROGRESS && p->sends > 0 &&
            memcmp(p->txid, txid, FLOE_STUN_TXID_LEN) == 0)
            return p;
        if (p->state == FLOE_ICE_PAIR_SUCCEEDED)
            continue;
        for (k = 0; k < p->n_prev; k++) {
            if (memcmp(p->prev_txid[k], txid, FLOE_STUN_TXID_LEN) == 0) {
                *cancelled = k;
                return p;
            }
        }
    }
    return NULL;
}

/* A consent request sent on the pair selected now (the ids are forgotten when it changes). */
static bool input_is_consent_txn(const struct floe_ice_agent *a, const uint8_t *txid)
{
    size_t i;

    if (a->selected == ICE_NONE)
        return false;
    for (i = 0; i < ICE_CONSENT_TXIDS; i++) {
        if (a->consent_txid_used[i] && memcmp(a->consent_txids[i], txid, FLOE_STUN_TXID_LEN) == 0)
            return true;
    }
    return false;
}

/* RFC 7675 section 5.1: a consent response counts when it comes back over the selected pair. */
static bool input_on_selected_pair(const struct floe_ice_agent *a, const struct floe_ice_path *path,
                                   const struct floe_addr *from)
{
    const struct ice_pair *sel = &a->pairs[a->selected];
    struct floe_ice_path want;

    floe__ice_pair_path(a, sel, &want);
    return floe__ice_path_matches(&want, path) &&
           floe_addr_eq(from, &a->remotes[sel->remote].c.addr);
}

static bool input_symmetric(const struct floe_ice_agent *a, const struct ice_pair *p,
                            const struct floe_ice_path *path, const struct floe_addr *from)
{
    int local = floe__ice_find_local_by_path(a, path);
    struct ice_pair probe;
    struct floe_ice_path want, got;

    if (local == ICE_NONE || !floe_addr_eq(from, &a->remotes[p->remote].c.addr))
        return false;
    probe = *p;
    probe.local = local;
    floe__ice_pair_path(a, p, &want);
    floe__ice_pair_path(a, &probe, &got);
    return floe_addr_eq(&want.local, &got.local) && want.via_relay == got.via_relay;
}

/* RFC 8445 section 7.2.5.3.1: a mapped address no local candidate has is peer-reflexive. */
static void input_learn_local(struct floe_ice_agent *a, const struct ice_pair *p,
                              const struct floe_stun_msg *msg)
{
    struct floe_addr mapped;
    size_t i;

    if (a->locals[p->local].c.type == FLOE_ICE_RELAY)
        return;
    if (floe_stun_get_xor_addr(msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) != 0)
        return;
    for (i = 0; i < a->cfg.max_local_candidates; i++) {
        if (a->locals[i].used && floe_addr_eq(&a->locals[i].c.addr, &mapped))
            return;
    }
    floe__ice_add_local_prflx(a, p->local, &mapped);
}

/*
 * RFC 8445 section 7.2.5.1: a 487 switches the role only when the refused check carried the
 * role the agent still has (sent_role: the role of the answered transaction, which may be a
 * cancelled one); a 487 to a check sent before a switch is stale. Either way the pair is
 * checked again with the current role.
 */
static void input_error_response(struct floe_ice_agent *a, struct ice_pair *p,
                                 enum floe_ice_role sent_role, const struct floe_stun_msg *msg)
{
    int code = 0;
    struct floe_span reason;

    if (p->cancelled)
        return; /* the answer to a check a nomination cancelled: nothing to retry */
    if (floe_stun_get_error(msg, &code, &reason) == 0 && code == INPUT_ROLE_CONFLICT) {
        a->stats.role_conflicts++;
        if (sent_role == a->role)
            floe__ice_set_role(a, a->role == FLOE_ICE_CONTROLLING ? FLOE_ICE_CONTROLLED
                                                                  : FLOE_ICE_CONTROLLING);
        p->state = FLOE_ICE_PAIR_WAITING;
        p->send_due = false;
        floe__ice_trigger(a, p);
        return;
    }
    floe__ice_pair_failed(a, p);
}

static int input_response(struct floe_ice_agent *a, floe_time now, const struct floe_ice_path *path,
                          const struct floe_addr *from, const struct floe_stun_msg *msg)
{
    int cancelled;
    struct ice_pair *p = input_find_txn(a, msg->txid, &cancelled);
    bool consent = !p && input_is_consent_txn(a, msg->txid);
    struct floe_hmac *key = a->remote_key;
    enum floe_ice_role sent_role = p ? p->sent_role : a->role;

    if (!p && (!consent || !input_on_selected_pair(a, path, from)))
        return input_drop(a, &a->stats.dropped_unmatched, "unmatched response", from,
                          FLOE_ERR_NOT_FOUND);
    if (consent && a->pairs[a->selected].old_gen)
        key = a->old.remote_key;
    if (msg->cls == FLOE_STUN_ERROR && !floe_stun_has(msg, FLOE_STUN_ATTR_MESSAGE_INTEGRITY))
        return input_drop(a, &a->stats.dropped_unsigned_errors, "unsigned error response", from,
                          FLOE_ERR_INTEGRITY);
    if (!key || floe_stun_verify_integrity(msg, key) != 0)
        return input_drop(a, &a->stats.dropped_unauthenticated, "response not authenticated", from,
                          FLOE_ERR_INTEGRITY);
    a->stats.responses_received++;
    if (cancelled >= 0) {
        p->txn_use_cand = ((unsigned)p->prev_use_cand >> (unsigned)cancelled) & 1u;
        sent_role = (((unsigned)p->prev_controlled >> (unsigned)cancelled) & 1u)
                        ? FLOE_ICE_CONTROLLED
                        : FLOE_ICE_CONTROLLING;
    }
    if (consent) {
        if (msg->cls == FLOE_STUN_SUCCESS)
            a->pairs[a->selected].last_response = now;
        return 0;
    }
    if (msg->cls == FLOE_STUN_ERROR) {
        input_error_response(a, p, sent_role, msg);
        return 0;
    }
    if (!input_symmetric(a, p, path, from)) {
        floe__ice_pair_failed(a, p);
        return 0;
    }
    input_learn_local(a, p, msg);
    floe__ice_pair_succeeded(a, p, now);
    return 0;
}

static int input_dispatch(struct floe_ice_agent *a, floe_time now, const struct floe_ice_path *path,
                          const struct floe_addr *from, const struct floe_stun_msg *msg)
{
    switch (msg->cls) {
    case FLOE_STUN_REQUEST:
        return input_request(a, now, path, from, msg);
    case FLOE_STUN_SUCCESS:
    case FLOE_STUN_ERROR:
        return input_response(a, now, path, from, msg);
    default:
        return 0; /* Binding indication: a keepalive (RFC 8445 section 11) */
    }
}

int floe_ice_handle_input(struct floe_ice_agent *agent, floe_time now,
                          const struct floe_ice_path *path, const struct floe_addr *from,
                          const uint8_t *buf, size_t len)
{
    uint64_t *bad;
    struct floe_stun_msg msg;
    int rc;

    if (!agent || !path || !from || (!buf && len))
        return FLOE_ERR_INVALID_ARG;
    bad = &agent->stats.dropped_malformed;
    if (agent->state == FLOE_ICE_CLOSED || agent->state == FLOE_ICE_FAILED)
        return input_drop(agent, NULL, "agent closed or failed", from, FLOE_ERR_STATE);
    if (!buf || floe_stun_decode(&msg, buf, len) != 0)
        return input_drop(agent, bad, "not STUN", from, FLOE_ERR_NOT_STUN);
    if (msg.method != FLOE_STUN_BINDING)
        return input_drop(agent, bad, "not a Binding", from, FLOE_ERR_MALFORMED);
    if (floe_stun_verify_fingerprint(&msg) != 0)
        return input_drop(agent, bad, "fingerprint", from, FLOE_ERR_FINGERPRINT);
    rc = input_dispatch(agent, now, path, from, &msg);
    floe__ice_update(agent, now);
    return rc;
}
