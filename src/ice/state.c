/*
 * Agent state (DESIGN.md section 1): selection, regular nomination (RFC 8445
 * section 8.1.1), consent freshness (RFC 7675), the disconnected grace period,
 * the candidate timeout, and the timer verbs.
 */
#include <string.h>

#include "ice/ice_int.h"

bool floe__ice_consent_fresh(const struct floe_ice_agent *a, const struct ice_pair *p,
                             floe_time now)
{
    if (p->last_response == FLOE_TIME_NEVER)
        return false;
    return now < floe_time_add(p->last_response, a->cfg.consent_timeout);
}

/* RFC 7675 section 5.1: the interval randomised to 0.8..1.2 of its value. */
floe_time floe__ice_consent_interval(struct floe_ice_agent *a)
{
    uint8_t r[2];
    uint64_t permille;

    if (a->cfg.consent_interval == 0)
        return FLOE_TIME_NEVER;
    floe__ice_random(a, r, sizeof(r));
    permille = 800 + floe_load_be16(r) % 401;
    return a->cfg.consent_interval / 1000 * permille;
}

/*
 * RFC 8445 section 8.1.2: the selection ends the checks of every other pair, Waiting
 * and Frozen ones at once and In-Progress ones of lower priority; an In-Progress check
 * of a better pair (a direct pair while a relayed one is selected) runs to its end, so
 * the caller can still move to that path when it answers.
 */
static void state_cancel_others(struct floe_ice_agent *a, int idx)
{
    uint64_t selected = a->pairs[idx].priority;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];
        bool pending = p->state == FLOE_ICE_PAIR_FROZEN || p->state == FLOE_ICE_PAIR_WAITING ||
                       (p->state == FLOE_ICE_PAIR_IN_PROGRESS && p->priority < selected);

        if ((int)i != idx && !p->old_gen && pending)
            floe__ice_cancel_check(a, p);
    }
}

/* No selected pair any more: the pairs the selection cancelled are checked again. */
static void state_revive_cancelled(struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];

        if (p->cancelled && p->state == FLOE_ICE_PAIR_FAILED) {
            p->cancelled = false;
            p->state = FLOE_ICE_PAIR_WAITING;
        }
    }
}

void floe__ice_set_selected(struct floe_ice_agent *a, int idx, floe_time now)
{
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_SELECTED_PAIR};

    if (idx == a->selected)
        return;
    if (a->selected != ICE_NONE && a->pairs[a->selected].old_gen)
        floe__ice_end_old_gen(a); /* the pair itself goes at the next floe__ice_update */
    a->selected = idx;
    a->consent_due = false;
    a->consent_next = FLOE_TIME_NEVER;
    memset(a->consent_txid_used, 0, sizeof(a->consent_txid_used));
    a->stats.selected_changes++;
    ev.u.selected.has_pair = idx != ICE_NONE;
    if (idx != ICE_NONE) {
        floe__ice_pair_info(a, &a->pairs[idx], &ev.u.selected.pair);
        a->consent_lost = false;
        a->nominate_at = FLOE_TIME_NEVER;
        a->consent_next = floe_time_add(now, floe__ice_consent_interval(a));
        state_cancel_others(a, idx);
    } else {
        state_revive_cancelled(a);
    }
    floe__ice_recheck_arm(a, now);
    floe__ice_push_event(a, &ev);
}

/* A pair of the new generation may replace the selected one: none, or the previous generation's. */
static bool state_selection_open(const struct floe_ice_agent *a)
{
    return a->selected == ICE_NONE || a->pairs[a->selected].old_gen;
}

/* The best nominated pair with fresh consent becomes (or stays) the selected one. */
void floe__ice_update_selected(struct floe_ice_agent *a, floe_time now)
{
    int best = ICE_NONE;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (!p->nominated || p->old_gen || p->state != FLOE_ICE_PAIR_SUCCEEDED)
            continue;
        if (!floe__ice_consent_fresh(a, p, now))
            continue;
        if (best == ICE_NONE || p->priority > a->pairs[best].priority)
            best = (int)i;
    }
    if (best != ICE_NONE)
        floe__ice_set_selected(a, best, now);
}

static int state_best_valid(const struct floe_ice_agent *a, floe_time now)
{
    int best = ICE_NONE;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (p->old_gen || p->state != FLOE_ICE_PAIR_SUCCEEDED ||
            !floe__ice_consent_fresh(a, p, now))
            continue;
        if (best == ICE_NONE || p->priority > a->pairs[best].priority)
            best = (int)i;
    }
    return best;
}

static bool state_better_pending(const struct floe_ice_agent *a, uint64_t prio)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];
        bool pending = p->state == FLOE_ICE_PAIR_FROZEN || p->state == FLOE_ICE_PAIR_WAITING ||
                       p->state == FLOE_ICE_PAIR_IN_PROGRESS;

        if (pending && p->priority > prio)
            return true;
        if (p->nominate_pending)
            return true;
    }
    return false;
}

static bool state_nomination_in_flight(const struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        if (a->pairs[i].nominate_pending)
            return true;
    }
    return false;
}

/*
 * floe's re-selection rule (beyond RFC 8445 section 8.1.1, which nominates once): a relayed
 * selected pair gives way to a direct one whose checks succeed later (its candidates came
 * after the nomination, or its answer after the relay's). The controlling agent nominates
 * it; both sides select it once nominated, and the relayed pair carries data until then.
 */
static bool state_upgrade_open(const struct floe_ice_agent *a, int best)
{
    return a->selected != ICE_NONE && !a->pairs[a->selected].old_gen && best != ICE_NONE &&
           best != a->selected && floe__ice_pair_relayed(a, &a->pairs[a->selected]) &&
           !floe__ice_pair_relayed(a, &a->pairs[best]) && !a->pairs[best].nominated;
}

/*
 * Regular nomination (RFC 8445 section 8.1.1): the controlling agent nominates
 * the best valid pair once no better pair can still succeed, or after
 * nomination_delay, by repeating its check with USE-CANDIDATE; and a direct pair
 * that succeeds while a relayed one is selected (state_upgrade_open).
 */
static void state_maybe_nominate(struct floe_ice_agent *a, floe_time now)
{
    int best = a->role == FLOE_ICE_CONTROLLING ? state_best_valid(a, now) : ICE_NONE;

    if (a->role != FLOE_ICE_CONTROLLING ||
        !(state_selection_open(a) || state_upgrade_open(a, best)) ||
        state_nomination_in_flight(a) || !floe__ice_can_send(a)) {
        a->nominate_at = FLOE_TIME_NEVER; /* no deadline left in the past */
        return;
    }
    if (best == ICE_NONE) {
        a->nominate_at = FLOE_TIME_NEVER;
        return;
    }
    if (a->nominate_at == FLOE_TIME_NEVER)
        a->nominate_at = floe_time_add(now, a->cfg.nomination_delay);
    /* An upgrade goes at once: data already flows, on the relay, until it is nominated. */
    if (state_better_pending(a, a->pairs[best].priority) && now < a->nominate_at &&
        !state_upgrade_open(a, best))
        return;
    a->pairs[best].nominate_pending = true;
    a->nominate_at = FLOE_TIME_NEVER;
    floe__ice_trigger(a, &a->pairs[best]);
}

/*
 * The selected pair lost consent: stop using it (other stale valid pairs expire
 * in state_expire_valid) and keep probing it so a peer that comes back within the grace period
 * recovers without a restart.
 */
static void state_consent_lost(struct floe_ice_agent *a, floe_time now)
{
    struct ice_pair *sel = &a->pairs[a->selected];

    if (sel->old_gen) {
        /* The previous generation is gone: the restart's own checks decide now. */
        floe__ice_set_selected(a, ICE_NONE, now);
        return;
    }
    floe__ice_set_selected(a, ICE_NONE, now);
    a->consent_lost = true;
    sel->nominate_pending = a->role == FLOE_ICE_CONTROLLING;
    floe__ice_trigger(a, sel);
}

/* Valid pairs other than the selected one are not refreshed: they expire. */
static void state_expire_valid(struct floe_ice_agent *a, floe_time now)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];

        if ((int)i != a->selected && p->state == FLOE_ICE_PAIR_SUCCEEDED &&
            !floe__ice_consent_fresh(a, p, now))
            floe__ice_pair_failed(a, p);
    }
}

static void state_consent(struct floe_ice_agent *a, floe_time now)
{
    const struct ice_pair *sel;

    if (a->selected == ICE_NONE)
        return;
    sel = &a->pairs[a->selected];
    if (!floe__ice_consent_fresh(a, sel, now)) {
        state_consent_lost(a, now);
        return;
    }
    if (now >= a->consent_next) {
        a->consent_due = true;
        a->consent_next = floe_time_add(now, floe__ice_consent_interval(a));
    }
}

void floe__ice_set_state(struct floe_ice_agent *a, floe_time now, enum floe_ice_state to,
                         enum floe_ice_reason reason)
{
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_STATE};

    if (a->state == to)
        return;
    ev.u.state.from = a->state;
    ev.u.state.to = to;
    ev.u.state.reason = reason;
    a->state = to;
    a->stats.state_changes++;
    if (to == FLOE_ICE_DISCONNECTED)
        a->disconnected_since = now;
    if (to == FLOE_ICE_FAILED) {
        floe__ice_set_selected(a, ICE_NONE, now);
        a->n_responses = 0;
    }
    floe__ice_push_event(a, &ev);
    if (floe_log_enabled(&a->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[2] = {FLOE_LF_S("from", floe_ice_state_name(ev.u.state.from)),
                                      FLOE_LF_S("to", floe_ice_state_name(to))};

        floe_log_emit(&a->cfg.log, FLOE_LOG_DEBUG, "ice", "state changed", f, 2);
    }
}

static bool state_any_candidate(const struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->cfg.max_local_candidates; i++) {
        if (a->locals[i].used)
            return true;
    }
    for (i = 0; i < a->cfg.max_remote_candidates; i++) {
        if (a->remotes[i].used)
            return true;
    }
    return false;
}

static bool state_any_active_pair(const struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        enum floe_ice_pair_state s = a->pairs[i].state;

        if (s == FLOE_ICE_PAIR_FROZEN || s == FLOE_ICE_PAIR_WAITING ||
            s == FLOE_ICE_PAIR_IN_PROGRESS)
            return true;
    }
    return false;
}

/*
 * Still waiting for candidates (or the peer's credentials, which no
 * end-of-candidates replaces) to form working pairs.
 */
static bool state_waiting_for_candidates(const struct floe_ice_agent *a)
{
    if (!a->remote_key)
        return true;
    if (a->n_pairs > 0)
        return false;
    return !(a->local_eoc && a->remote_eoc);
}

static bool state_any_remote(const struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->cfg.max_remote_candidates; i++) {
        if (a->remotes[i].used)
            return true;
    }
    return false;
}

/*
 * When a disconnected agent fails: after the grace period, or, when every pair
 * failed its checks while either side may still trickle candidates, not before
 * the candidate timeout (RFC 8838 section 8). Sets *reason.
 */
static floe_time state_disconnected_limit(const struct floe_ice_agent *a,
                                          enum floe_ice_reason *reason)
{
    floe_time grace = floe_time_add(a->disconnected_since, a->cfg.disconnected_grace);
    floe_time wait = floe_time_add(a->disconnected_since, a->cfg.candidate_timeout);
    bool trickling = !(a->local_eoc && a->remote_eoc);

    *reason = FLOE_ICE_REASON_GRACE_EXPIRED;
    if (a->consent_lost || a->n_pairs == 0 || !trickling || a->cfg.candidate_timeout == 0 ||
        wait <= grace)
        return grace;
    *reason = FLOE_ICE_REASON_NO_CANDIDATES;
    return wait;
}

/*
 * No pair: wait for candidates up to candidate_timeout ("no pairs yet" is no
 * failure). Without that wait (candidate_timeout 0), no pair is disconnected
 * once the peer has given candidates; with local candidates only the agent is
 * still waiting for the peer, as any agent is before the answer arrives.
 */
static void state_eval_no_pairs(struct floe_ice_agent *a, floe_time now)
{
    bool any = state_any_candidate(a);

    if ((any && !state_waiting_for_candidates(a)) ||
        (a->cfg.candidate_timeout == 0 && state_any_remote(a))) {
        floe__ice_set_state(a, now, FLOE_ICE_DISCONNECTED, FLOE_ICE_REASON_CANDIDATES);
        return;
    }
    if (a->cfg.candidate_timeout &&
        now >= floe_time_add(a->waiting_since, a->cfg.candidate_timeout)) {
        floe__ice_set_state(a, now, FLOE_ICE_FAILED, FLOE_ICE_REASON_NO_CANDIDATES);
        return;
    }
    floe__ice_set_state(a, now, a->ever_paired ? FLOE_ICE_CHECKING : FLOE_ICE_NEW,
                        FLOE_ICE_REASON_CANDIDATES);
}

static void state_eval(struct floe_ice_agent *a, floe_time now)
{
    if (a->selected != ICE_NONE)
        floe__ice_set_state(a, now, FLOE_ICE_CONNECTED, FLOE_ICE_REASON_SELECTED);
    else if (a->consent_lost)
        floe__ice_set_state(a, now, FLOE_ICE_DISCONNECTED, FLOE_ICE_REASON_CONSENT_LOST);
    else if (a->n_pairs == 0 || !a->remote_key)
        state_eval_no_pairs(a, now);
    else if (state_any_active_pair(a) || state_best_valid(a, now) != ICE_NONE)
        floe__ice_set_state(a, now, FLOE_ICE_CHECKING, FLOE_ICE_REASON_CANDIDATES);
    else
        floe__ice_set_state(a, now, FLOE_ICE_DISCONNECTED, FLOE_ICE_REASON_CHECKS_FAILED);
    if (a->state == FLOE_ICE_DISCONNECTED) {
        enum floe_ice_reason why;

        if (now >= state_disconnected_limit(a, &why))
            floe__ice_set_state(a, now, FLOE_ICE_FAILED, why);
    }
}

void floe__ice_update(struct floe_ice_agent *a, floe_time now)
{
    if (a->state == FLOE_ICE_CLOSED || a->state == FLOE_ICE_FAILED)
        return;
    floe__ice_sweep_old_gen(a);
    if (a->n_pairs == 0 && a->had_pairs)
        a->waiting_since = now;
    a->had_pairs = a->n_pairs > 0;
    floe__ice_drive_checks(a, now);
    state_consent(a, now);
    state_expire_valid(a, now);
    if (now >= a->recheck_at)
        floe__ice_recheck(a, now);
    state_maybe_nominate(a, now);
    floe__ice_drive_checks(a, now);
    state_eval(a, now);
}

int floe_ice_handle_timeout(struct floe_ice_agent *agent, floe_time now)
{
    if (!agent)
        return FLOE_ERR_INVALID_ARG;
    floe__ice_update(agent, now);
    return 0;
}

/* When the next valid pair other than the selected one stops counting as valid. */
static floe_time state_valid_expiry(const struct floe_ice_agent *a)
{
    floe_time t = FLOE_TIME_NEVER;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if ((int)i != a->selected && p->state == FLOE_ICE_PAIR_SUCCEEDED)
            t = floe_time_min(t, floe_time_add(p->last_response, a->cfg.consent_timeout));
    }
    return t;
}

floe_time floe__ice_state_timeout(const struct floe_ice_agent *a)
{
    floe_time t = floe__ice_checks_timeout(a);

    if (a->state == FLOE_ICE_FAILED || a->state == FLOE_ICE_CLOSED)
        return FLOE_TIME_NEVER;
    if (a->selected != ICE_NONE) {
        const struct ice_pair *sel = &a->pairs[a->selected];

        t = floe_time_min(t, a->consent_next);
        t = floe_time_min(t, floe_time_add(sel->last_response, a->cfg.consent_timeout));
    }
    t = floe_time_min(t, state_valid_expiry(a));
    t = floe_time_min(t, a->nominate_at);
    t = floe_time_min(t, a->recheck_at);
    if (a->state == FLOE_ICE_DISCONNECTED) {
        enum floe_ice_reason why;

        t = floe_time_min(t, state_disconnected_limit(a, &why));
    }
    if ((a->state == FLOE_ICE_NEW || a->state == FLOE_ICE_CHECKING) && a->cfg.candidate_timeout &&
        (a->n_pairs == 0 || !a->remote_key))
        t = floe_time_min(t, floe_time_add(a->waiting_since, a->cfg.candidate_timeout));
    return t;
}

floe_time floe_ice_poll_timeout(const struct floe_ice_agent *agent)
{
    return agent ? floe__ice_state_timeout(agent) : FLOE_TIME_NEVER;
}
