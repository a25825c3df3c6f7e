/*
 * consent-loss: the gateway's network is blackholed mid-session. RFC 7675
 * consent freshness (at its real timings) declares the client disconnected
 * consent_timeout after its last response, at most that after the blackhole, and the grace period
 * turns that into failed exactly disconnected_grace later. In the second lane the gateway comes
 * back 0.5 s into the grace period and the same pair recovers without an ICE restart.
 *
 * role-conflict-lossy: both agents start controlling over a lossy long path
 * with 50 candidates each; RFC 8445 section 7.3.1.1 must resolve the conflict
 * and the pair must connect.
 */
#include <stdio.h>

#include "scen_int.h"

/* The agents' real timers (RFC 7675: requests every 5 s +-20 %, 30 s timeout; grace 2 s). */
#define CONSENT_INTERVAL FLOE_SEC(5)
#define CONSENT_TIMEOUT FLOE_SEC(30)
#define CONSENT_GRACE FLOE_SEC(2)
#define CONSENT_BACK_AFTER FLOE_MS(500)
#define CONSENT_IN_FLIGHT FLOE_MS(100) /* longer than a one-way transit of the path */

struct consent_run {
    struct floe__scen_pair p;
    floe_time blackholed, disconnected, failed, back;
    floe_time last_response; /* the client's last authenticated response before disconnected */
    bool recovered;
};

static void consent_back(struct floe_sim *sim, void *user)
{
    struct consent_run *r = user;

    r->back = floe_sim_now(sim);
    floe_sim_net_set_blackhole(sim, r->p.lan[FLOE__SCEN_GATEWAY], false);
}

static bool consent_client_in(struct floe_sim *sim, void *user)
{
    const struct consent_run *r = user;
    enum floe_ice_state s = floe_sim_ice_ep_stats(r->p.ep[0])->state;

    (void)sim;
    return s == FLOE_ICE_DISCONNECTED || s == FLOE_ICE_FAILED;
}

/* Connect, blackhole the gateway, wait for disconnected, then either wait or bring it back. */
static int consent_drive(struct consent_run *r, bool come_back)
{
    int rc = floe__scen_run_until_up(&r->p, FLOE_SEC(10));

    if (rc != 1)
        return rc < 0 ? rc : FLOE_ERR_TIMEOUT;
    rc = floe_sim_run_until(r->p.sim, floe_sim_now(r->p.sim) + FLOE_SEC(3));
    if (rc < 0)
        return rc;
    r->blackholed = floe_sim_now(r->p.sim);
    floe_sim_net_set_blackhole(r->p.sim, r->p.lan[FLOE__SCEN_GATEWAY], true);
    rc = floe_sim_run_until_pred(r->p.sim, consent_client_in, r, r->blackholed + FLOE_SEC(60));
    if (rc != 1)
        return rc < 0 ? rc : FLOE_ERR_TIMEOUT;
    rc = 0;
    r->disconnected = floe_sim_ice_ep_stats(r->p.ep[0])->disconnected_at;
    r->last_response = floe_sim_ice_ep_stats(r->p.ep[0])->response_last_at;
    if (come_back)
        rc = floe_sim_at(r->p.sim, r->disconnected + CONSENT_BACK_AFTER, consent_back, r);
    if (rc == 0)
        rc = floe_sim_run_until(r->p.sim, r->disconnected + FLOE_SEC(8));
    r->failed = floe_sim_ice_ep_stats(r->p.ep[0])->failed_at;
    r->recovered = floe_sim_ice_ep_is_up(r->p.ep[0]) &&
                   floe_sim_ice_ep_stats(r->p.ep[0])->data_last_at > r->back;
    return rc;
}

static int consent_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                       struct consent_run *r, bool come_back)
{
    struct floe__scen_opts o;
    int rc, i;

    floe__scen_opts_default(&o, so);
    o.nat[FLOE__SCEN_CLIENT] = FLOE__SCEN_EIM_APDF;
    o.nat[FLOE__SCEN_GATEWAY] = FLOE__SCEN_EIM_ADF;
    for (i = 0; i < 2; i++) {
        o.ep[i].ice.consent_interval = CONSENT_INTERVAL;
        o.ep[i].ice.consent_timeout = CONSENT_TIMEOUT;
        o.ep[i].ice.disconnected_grace = CONSENT_GRACE;
    }
    /* The same pair comes back only if the binding outlives the 30 s blackhole. */
    o.nat_timeout[FLOE__SCEN_GATEWAY] = CONSENT_TIMEOUT + FLOE_SEC(60);
    floe__scen_opts_timeline(&o, v, come_back ? 1 : 0, 0);
    r->back = FLOE_TIME_NEVER;
    rc = floe__scen_pair_setup(&r->p, &o);
    if (rc == 0)
        rc = consent_drive(r, come_back);
    if (rc == 0)
        floe_sim_verdict_add(v, r->blackholed, come_back ? 1 : 0, 0, "gateway LAN blackholed");
    if (rc == 0 && come_back)
        floe_sim_verdict_add(v, r->back, 1, 0, "gateway LAN back");
    return rc;
}

static const char *consent_judge_lost(const struct consent_run *r)
{
    if (r->disconnected == FLOE_TIME_NEVER || r->disconnected < r->blackholed)
        return "no disconnected after the blackhole";
    /* A response already past the blackholed LAN still arrives: allow one path transit. */
    if (r->disconnected - r->blackholed > CONSENT_TIMEOUT + CONSENT_IN_FLIGHT)
        return "disconnected later than the consent timeout";
    /*
     * Consent on the selected pair runs out exactly the timeout after its last
     * response; the last response of any pair is at most one request
     * interval (+20 %) later than that one.
     */
    if (r->last_response == FLOE_TIME_NEVER ||
        r->disconnected - r->last_response > CONSENT_TIMEOUT ||
        r->disconnected - r->last_response < CONSENT_TIMEOUT - CONSENT_INTERVAL * 6 / 5)
        return "disconnected not the consent timeout after the last response";
    if (r->failed == FLOE_TIME_NEVER || r->failed - r->disconnected != CONSENT_GRACE)
        return "failed not exactly the grace period after disconnected";
    return NULL;
}

static const char *consent_judge_back(struct consent_run *r)
{
    struct floe_ice_stats st;

    floe_ice_get_stats(floe_sim_ice_ep_agent(r->p.ep[0]), &st);
    if (r->failed != FLOE_TIME_NEVER)
        return "the returning peer still failed";
    if (!r->recovered)
        return "the returning peer did not recover";
    if (st.restarts != 0)
        return "recovery needed an ICE restart";
    return NULL;
}

int floe__scen_consent_loss(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct consent_run lost, back;
    const char *bad;
    int rc;

    v->n_lanes = 2;
    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "gateway gone for good");
    snprintf(v->lanes[1], FLOE_SIM_LANE_NAME, "gateway back 0.5 s into the grace");
    rc = consent_run(so, v, &lost, false);
    bad = rc == 0 ? consent_judge_lost(&lost) : NULL;
    floe__scen_pair_free(&lost.p);
    if (rc != 0)
        return floe__scen_setup_failed(v, "consent run", rc);
    rc = consent_run(so, v, &back, true);
    if (!bad && rc == 0)
        bad = consent_judge_back(&back);
    floe__scen_pair_free(&back.p);
    if (rc != 0)
        return floe__scen_setup_failed(v, "consent run", rc);
    if (bad)
        floe_sim_verdict_set(v, false, "%s", bad);
    else
        floe_sim_verdict_set(v, true,
                             "disconnected %llu ms after the blackhole, failed exactly %llu ms "
                             "later; back within the grace: recovered, no restart",
                             (unsigned long long)((lost.disconnected - lost.blackholed) / 1000000),
                             (unsigned long long)((lost.failed - lost.disconnected) / 1000000));
    return 0;
}

/* ---------------------------------------------------- role-conflict-lossy */

#define ROLE_DECOYS 48 /* plus the host and server-reflexive candidates: 50 per side */

static const char *role_judge(struct floe__scen_pair *p, int up)
{
    struct floe_ice_stats a, b;

    floe_ice_get_stats(floe_sim_ice_ep_agent(p->ep[0]), &a);
    floe_ice_get_stats(floe_sim_ice_ep_agent(p->ep[1]), &b);
    if (up != 1)
        return "did not connect within 60 s";
    if (a.n_local != 50 || b.n_local != 50)
        return "not 50 local candidates per side";
    if (a.role_conflicts + b.role_conflicts == 0)
        return "no role conflict was seen";
    if (floe_ice_get_role(floe_sim_ice_ep_agent(p->ep[0])) ==
        floe_ice_get_role(floe_sim_ice_ep_agent(p->ep[1])))
        return "both agents ended in the same role";
    if (floe_sim_ice_ep_stats(p->ep[0])->failed_at != FLOE_TIME_NEVER ||
        floe_sim_ice_ep_stats(p->ep[1])->failed_at != FLOE_TIME_NEVER)
        return "an agent reported failed";
    return NULL;
}

int floe__scen_role_conflict(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    const char *bad;
    int rc, i;

    floe__scen_opts_default(&o, so);
    o.nat[FLOE__SCEN_CLIENT] = FLOE__SCEN_EIM_ADF;
    o.nat[FLOE__SCEN_GATEWAY] = FLOE__SCEN_EIM_APDF;
    o.latency = FLOE_MS(50); /* three networks each way: 300 ms round trip */
    o.loss = 0.10;
    for (i = 0; i < 2; i++) {
        o.ep[i].ice.role = FLOE_ICE_CONTROLLING;
        o.ep[i].ice.max_local_candidates = 64;
        o.ep[i].ice.max_remote_candidates = 128;
        o.ep[i].ice.max_pairs = 4096;
        o.ep[i].decoys = ROLE_DECOYS;
    }
    floe__scen_opts_timeline(&o, v, 0, 0);
    rc = floe__scen_pair_setup(&p, &o);
    if (rc == 0)
        rc = floe__scen_run_until_up(&p, FLOE_SEC(60));
    if (rc < 0) {
        floe__scen_pair_free(&p);
        return floe__scen_setup_failed(v, "role-conflict run", rc);
    }
    bad = role_judge(&p, rc);
    if (bad)
        floe_sim_verdict_set(v, false, "%s", bad);
    else
        floe_sim_verdict_set(v, true, "both started controlling; resolved and connected in %llu ms",
                             (unsigned long long)(floe_sim_now(p.sim) / FLOE_MS(1)));
    floe__scen_pair_free(&p);
    return 0;
}
