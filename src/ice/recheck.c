/*
 * Re-checks of failed direct pairs while a relayed pair is selected (floe's rule beyond
 * RFC 8445, whose checks end with the nomination; ice.h). A firewall or NAT that dropped every
 * check of a direct pair (UDP blocked between the peers for a while, a mapping made too late)
 * may let the same pair through later; without a new look the connection stays on the relay
 * until the next ICE restart. Both agents re-check, so each side's checks open its own NAT for
 * the other's; a success upgrades the selection (state.c, state_upgrade_open).
 *
 * Cost: one timer (recheck_at, in the agent's own deadline) armed only while a relayed pair is
 * selected; a round scans the pairs once per pair it re-checks, at most recheck_pairs times,
 * and the rounds back off to recheck_interval_max.
 */
#include "ice/ice_int.h"

bool floe__ice_pair_relayed(const struct floe_ice_agent *a, const struct ice_pair *p)
{
    return a->locals[p->local].c.type == FLOE_ICE_RELAY ||
           a->remotes[p->remote].c.type == FLOE_ICE_RELAY;
}

/* A re-check ends after recheck_sends sends; every other check after check_max_sends. */
uint32_t floe__ice_max_sends(const struct floe_ice_agent *a, const struct ice_pair *p)
{
    uint32_t max = a->cfg.check_max_sends;

    if (p->recheck && a->cfg.recheck_sends && a->cfg.recheck_sends < max)
        max = a->cfg.recheck_sends;
    return max;
}

/* Re-checks run while the selected pair (of this generation) is relayed. */
static bool recheck_open(const struct floe_ice_agent *a)
{
    const struct ice_pair *sel;

    if (a->cfg.recheck_interval == 0 || a->cfg.recheck_pairs == 0 || a->selected == ICE_NONE)
        return false;
    sel = &a->pairs[a->selected];
    return !sel->old_gen && floe__ice_pair_relayed(a, sel);
}

/* wait randomised to 0.8..1.2 of itself (RFC 7675's consent jitter): connections made at
 * once do not re-check in step. */
static floe_time recheck_jitter(struct floe_ice_agent *a, floe_time wait)
{
    uint8_t r[2];

    floe__ice_random(a, r, sizeof(r));
    return wait / 1000 * (800 + floe_load_be16(r) % 401);
}

void floe__ice_recheck_arm(struct floe_ice_agent *a, floe_time now)
{
    if (!recheck_open(a)) {
        a->recheck_at = FLOE_TIME_NEVER;
        return;
    }
    a->recheck_wait = a->cfg.recheck_interval;
    a->recheck_at = floe_time_add(now, recheck_jitter(a, a->recheck_wait));
}

/* A failed direct pair to re-check: the least re-checked, then the highest priority. */
static int recheck_pick(const struct floe_ice_agent *a)
{
    const struct ice_pair *best = NULL;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (p->state != FLOE_ICE_PAIR_FAILED || p->old_gen || floe__ice_pair_relayed(a, p))
            continue;
        if (!best || p->rechecks < best->rechecks ||
            (p->rechecks == best->rechecks && p->priority > best->priority))
            best = p;
    }
    return best ? (int)(best - a->pairs) : ICE_NONE;
}

/* Up to recheck_pairs failed direct pairs go back to Waiting (paced by Ta); returns how many. */
static uint32_t recheck_pairs(struct floe_ice_agent *a)
{
    uint32_t k;

    for (k = 0; k < a->cfg.recheck_pairs; k++) {
        int idx = recheck_pick(a);
        struct ice_pair *p;

        if (idx == ICE_NONE)
            break;
        p = &a->pairs[idx];
        p->state = FLOE_ICE_PAIR_WAITING;
        p->cancelled = false;
        p->recheck = true;
        if (p->rechecks < UINT8_MAX)
            p->rechecks++;
        a->stats.rechecks++;
    }
    return k;
}

/* One round, and the next one after twice the wait (up to recheck_interval_max). */
void floe__ice_recheck(struct floe_ice_agent *a, floe_time now)
{
    floe_time max = a->cfg.recheck_interval_max;
    uint32_t n;

    if (!recheck_open(a) || !floe__ice_can_send(a)) {
        a->recheck_at = FLOE_TIME_NEVER;
        return;
    }
    n = recheck_pairs(a);
    if (max < a->cfg.recheck_interval)
        max = a->cfg.recheck_interval;
    a->recheck_wait = a->recheck_wait > max / 2 ? max : a->recheck_wait * 2;
    a->recheck_at = floe_time_add(now, recheck_jitter(a, a->recheck_wait));
    if (n && floe_log_enabled(&a->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[2] = {FLOE_LF_U("pairs", n),
                                      FLOE_LF_U("next_ms", a->recheck_wait / FLOE_MS(1))};

        floe_log_emit(&a->cfg.log, FLOE_LOG_DEBUG, "ice", "re-checking failed direct pairs", f, 2);
    }
}
