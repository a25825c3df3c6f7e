/*
 * roam-race (DESIGN section 1): a client that has just roamed builds its
 * agent, the gateway answers at once, so the remote candidates arrive before
 * any local one; the local ones follow 50 ms to 1.9 s later. With the grace
 * period and the candidate timeout the agent waits and connects; with both
 * set to 0 (the old naive behaviour) it reports a false failure the moment
 * the first remote candidate arrives.
 */
#include <stdio.h>

#include "scen_int.h"

#define RACE_LANE_GRACE 0
#define RACE_LANE_NAIVE 1

static const floe_time race_delays_ms[] = {50, 200, 500, 1000, 1900};

struct race_result {
    bool up;
    floe_time client_failed, gateway_failed, connected;
};

/* The last line of a lane: what this setting came to. */
static void race_summary(struct floe_sim_verdict *v, uint8_t lane, uint8_t group,
                         const struct race_result *r, floe_time now)
{
    if (r->up && r->client_failed == FLOE_TIME_NEVER)
        floe_sim_verdict_add(v, now, lane, group, "=> connected, data both ways, never failed");
    else if (r->client_failed != FLOE_TIME_NEVER)
        floe_sim_verdict_add(v, now, lane, group, "=> FALSE FAILURE at %llu ms, no connection",
                             (unsigned long long)(r->client_failed / FLOE_MS(1)));
    else
        floe_sim_verdict_add(v, now, lane, group, "=> no connection");
}

static int race_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                    uint8_t group, bool naive, struct race_result *r)
{
    floe_time delay = FLOE_MS(race_delays_ms[group]);
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    int rc;

    floe__scen_opts_default(&o, so);
    o.seed = so->seed * 100 + group;
    o.nat[FLOE__SCEN_CLIENT] = FLOE__SCEN_EIM_APDF;
    o.nat[FLOE__SCEN_GATEWAY] = FLOE__SCEN_EIM_ADF;
    o.ep[FLOE__SCEN_CLIENT].gather_delay = delay;
    if (naive) {
        o.ep[FLOE__SCEN_CLIENT].ice.disconnected_grace = 0;
        o.ep[FLOE__SCEN_CLIENT].ice.candidate_timeout = 0;
    }
    floe__scen_opts_timeline(&o, v, naive ? RACE_LANE_NAIVE : RACE_LANE_GRACE, group);
    rc = floe__scen_pair_setup(&p, &o);
    if (rc == 0)
        rc = floe__scen_run_until_up(&p, delay + FLOE_SEC(10));
    if (rc >= 0) {
        r->up = rc == 1;
        r->client_failed = floe_sim_ice_ep_stats(p.ep[0])->failed_at;
        r->gateway_failed = floe_sim_ice_ep_stats(p.ep[1])->failed_at;
        r->connected = floe_sim_ice_ep_stats(p.ep[0])->connected_at;
        race_summary(v, o.ep[0].lane, group, r, floe_sim_now(p.sim));
    }
    floe__scen_pair_free(&p);
    return rc < 0 ? floe__scen_setup_failed(v, "roam-race run", rc) : 0;
}

/* Both lanes of one delay; returns a failure description or NULL. */
static const char *race_judge(const struct race_result *g, const struct race_result *n,
                              floe_time delay)
{
    if (!g->up)
        return "with the grace period the client did not connect";
    if (g->client_failed != FLOE_TIME_NEVER || g->gateway_failed != FLOE_TIME_NEVER)
        return "with the grace period an agent reported failed";
    if (n->client_failed == FLOE_TIME_NEVER)
        return "the naive settings showed no false failure";
    if (n->client_failed >= delay)
        return "the naive failure came after the local candidates";
    return NULL;
}

int floe__scen_roam_race(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct race_result g, n;
    const char *bad = NULL;
    uint8_t i, count = sizeof(race_delays_ms) / sizeof(race_delays_ms[0]);
    int rc;

    v->n_lanes = 2;
    snprintf(v->lanes[RACE_LANE_GRACE], FLOE_SIM_LANE_NAME, "grace 2 s, candidate timeout 10 s");
    snprintf(v->lanes[RACE_LANE_NAIVE], FLOE_SIM_LANE_NAME,
             "naive client: grace 0, candidate timeout 0");
    for (i = 0; i < count && !bad; i++) {
        floe_sim_verdict_add(v, 0, RACE_LANE_GRACE, i, "client's local candidates at %llu ms",
                             (unsigned long long)race_delays_ms[i]);
        floe_sim_verdict_add(v, 0, RACE_LANE_NAIVE, i, "client's local candidates at %llu ms",
                             (unsigned long long)race_delays_ms[i]);
        rc = race_run(so, v, i, false, &g);
        if (rc == 0)
            rc = race_run(so, v, i, true, &n);
        if (rc != 0)
            return rc;
        bad = race_judge(&g, &n, FLOE_MS(race_delays_ms[i]));
    }
    if (bad)
        floe_sim_verdict_set(v, false, "local candidates %llu ms late: %s",
                             (unsigned long long)race_delays_ms[i - 1], bad);
    else
        floe_sim_verdict_set(v, true,
                             "%u delays 50..1900 ms: grace period connects every time, never "
                             "failed; naive settings fail falsely before the local candidates",
                             count);
    return 0;
}
