/*
 * roam-race (DESIGN section 1), the race as it happens in the field: client
 * and gateway are connected and exchanging data; the client roams to a new
 * address behind a new NAT and resets (a new agent without any local
 * candidate, new credentials offered over signalling) and re-learns its
 * candidates from its relays; the gateway restarts on the offer and answers
 * with its candidates at once, so they reach the client first: the client's
 * agent has remote candidates and no local ones, forms no pairs and goes
 * "disconnected". Its own candidates arrive 50 ms to 1.9 s later.
 *
 * Both lanes run the agent without a candidate wait (candidate timeout 0, as
 * Firezone's agent: no pair with remote candidates is "disconnected"); they
 * differ only in the grace period. With 2 s the connection recovers and is
 * never reported failed; with 0 it is reported failed before the local
 * candidates arrive (the false "ICE timeout"). A control run where the local
 * candidates arrive first connects in both lanes.
 */
#include <stdio.h>

#include "scen_int.h"

#define RACE_LANE_GRACE 0
#define RACE_LANE_NAIVE 1
/* Runs per lane: 50 ms, a delay drawn from the seed, 1.9 s, and the control run. */
#define RACE_GROUPS 4
#define RACE_CONTROL (RACE_GROUPS - 1)
#define RACE_MIN_MS 50
#define RACE_MAX_MS 1900
/* The roam's dead period (the interface moves), and how long a run may take after it. */
#define RACE_DEAD FLOE_MS(100)
#define RACE_LIMIT FLOE_SEC(10)

struct race_run {
    struct floe__scen_pair p;
    floe_time delay;     /* local candidates this long after the first remote one */
    floe_time reset_at;  /* the client's reset (the roam's end) */
    floe_time remote_at; /* the first of the gateway's fresh candidates at the client */
    floe_time local_at;  /* the client's candidates gathered again */
    uint64_t remote_before;
};

struct race_result {
    bool recovered;    /* both ends on a new pair with data both ways after the reset */
    bool disconnected; /* the client went "disconnected" after the reset */
    floe_time disconnected_at, disconnected_end, failed_at, gw_failed_at, reset_at, remote_at,
        local_at, now;
    floe_time outage;
};

/* The seeded delay of run 2: uniform in [50 ms, 1.9 s], independent of the network's draws. */
static floe_time race_drawn_delay(uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return FLOE_MS(RACE_MIN_MS + z % (RACE_MAX_MS - RACE_MIN_MS + 1));
}

static floe_time race_delay(uint64_t seed, uint8_t group)
{
    if (group == 0)
        return FLOE_MS(RACE_MIN_MS);
    if (group == 1)
        return race_drawn_delay(seed);
    return group == 2 ? FLOE_MS(RACE_MAX_MS) : 0;
}

static bool race_reset_seen(struct floe_sim *sim, void *user)
{
    const struct race_run *r = user;

    (void)sim;
    return floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_CLIENT])->resets > 0;
}

static bool race_remote_seen(struct floe_sim *sim, void *user)
{
    const struct race_run *r = user;

    (void)sim;
    return floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_CLIENT])->remote_added > r->remote_before;
}

/* Whether ep is on a pair selected after t and has had data after t. */
static bool race_up_since(const struct floe_sim_ice_ep *ep, floe_time t)
{
    const struct floe_sim_ice_ep_stats *s = floe_sim_ice_ep_stats(ep);

    return floe_sim_ice_ep_is_up(ep) && s->selected_at > t && s->data_last_at > s->selected_at;
}

static bool race_settled(struct floe_sim *sim, void *user)
{
    const struct race_run *r = user;

    (void)sim;
    if (floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_CLIENT])->failed_at != FLOE_TIME_NEVER)
        return true;
    return race_up_since(r->p.ep[0], r->reset_at) && race_up_since(r->p.ep[1], r->reset_at);
}

/* The client's relays answer: its candidates are gathered again. */
static void race_gather(struct floe_sim *sim, void *user)
{
    struct race_run *r = user;

    r->local_at = floe_sim_now(sim);
    floe_sim_ice_ep_gather(r->p.ep[FLOE__SCEN_CLIENT]);
}

/* Connected with data, roam, reset; the local candidates come back per the run's order. */
static int race_drive(struct race_run *r, bool control)
{
    struct floe_sim *sim = r->p.sim;
    int rc = floe__scen_run_until_up(&r->p, FLOE_SEC(10));

    if (rc == 1)
        rc = floe_sim_run_until(sim, floe_sim_now(sim) + FLOE_SEC(1));
    if (rc == 0)
        rc = floe_sim_host_roam(sim, r->p.host[FLOE__SCEN_CLIENT], 0, r->p.roam_net, &r->p.roam_ip,
                                RACE_DEAD);
    if (rc == 0 && floe_sim_run_until_pred(sim, race_reset_seen, r, FLOE_TIME_NEVER) != 1)
        rc = FLOE_ERR_STATE;
    if (rc != 0)
        return rc < 0 ? rc : FLOE_ERR_TIMEOUT;
    r->reset_at = floe_sim_now(sim);
    r->remote_before = floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_CLIENT])->remote_added;
    if (control)
        race_gather(sim, r);
    rc = floe_sim_run_until_pred(sim, race_remote_seen, r, r->reset_at + RACE_LIMIT);
    if (rc == 1) {
        r->remote_at = floe_sim_now(sim);
        rc = control ? 0 : floe_sim_at(sim, r->remote_at + r->delay, race_gather, r);
    } else if (rc == 0) {
        rc = FLOE_ERR_TIMEOUT;
    }
    if (rc == 0)
        rc = floe_sim_run_until_pred(sim, race_settled, r, r->reset_at + RACE_LIMIT);
    return rc < 0 ? rc : 0;
}

static void race_collect(const struct race_run *r, struct race_result *out)
{
    const struct floe_sim_ice_ep_stats *c = floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_CLIENT]);
    floe_time go = floe_sim_ice_ep_outage(r->p.ep[FLOE__SCEN_GATEWAY]);

    out->recovered = race_settled(r->p.sim, (void *)r) && c->failed_at == FLOE_TIME_NEVER;
    out->disconnected = c->disconnected_at != FLOE_TIME_NEVER && c->disconnected_at >= r->reset_at;
    out->disconnected_at = c->disconnected_at;
    out->disconnected_end = c->disconnected_end;
    out->failed_at = c->failed_at;
    out->gw_failed_at = floe_sim_ice_ep_stats(r->p.ep[FLOE__SCEN_GATEWAY])->failed_at;
    out->reset_at = r->reset_at;
    out->remote_at = r->remote_at;
    out->local_at = r->local_at;
    out->now = floe_sim_now(r->p.sim);
    out->outage = floe_sim_ice_ep_outage(r->p.ep[FLOE__SCEN_CLIENT]);
    if (go != FLOE_TIME_NEVER && (out->outage == FLOE_TIME_NEVER || go > out->outage))
        out->outage = go;
}

static double race_ms(floe_time t)
{
    return (double)t / 1e6;
}

/* The last line of a lane: what this setting came to. */
static void race_summary(struct floe_sim_verdict *v, uint8_t lane, uint8_t group,
                         const struct race_result *r)
{
    if (r->failed_at != FLOE_TIME_NEVER && r->local_at == FLOE_TIME_NEVER)
        floe_sim_verdict_add(v, r->now, lane, group,
                             "=> FALSE FAILURE %.0f ms after the reset, before any local candidate",
                             race_ms(r->failed_at - r->reset_at));
    else if (r->failed_at != FLOE_TIME_NEVER)
        floe_sim_verdict_add(v, r->now, lane, group, "=> FAILED %.0f ms after the reset",
                             race_ms(r->failed_at - r->reset_at));
    else if (r->recovered && r->disconnected)
        floe_sim_verdict_add(v, r->now, lane, group,
                             "=> disconnected for %.0f ms, recovered; data outage %.0f ms",
                             race_ms(r->disconnected_end - r->disconnected_at), race_ms(r->outage));
    else if (r->recovered)
        floe_sim_verdict_add(v, r->now, lane, group,
                             "=> recovered, never disconnected; data outage %.0f ms",
                             race_ms(r->outage));
    else
        floe_sim_verdict_add(v, r->now, lane, group, "=> no connection within 10 s");
}

static int race_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                    uint8_t group, bool naive, struct race_result *res)
{
    struct floe__scen_opts o;
    struct race_run r = {.local_at = FLOE_TIME_NEVER, .remote_at = FLOE_TIME_NEVER};
    struct floe_sim_ice_ep_config *c;
    int rc;

    floe__scen_opts_default(&o, so);
    o.seed = so->seed * 100 + group;
    o.nat[FLOE__SCEN_CLIENT] = FLOE__SCEN_EIM_APDF;
    o.nat[FLOE__SCEN_GATEWAY] = FLOE__SCEN_EIM_ADF;
    o.roam_nat = FLOE__SCEN_EIM_APDF;
    c = &o.ep[FLOE__SCEN_CLIENT];
    c->reset_on_roam = true;
    c->ice.candidate_timeout = 0;
    c->ice.disconnected_grace = naive ? 0 : FLOE_SEC(2);
    floe__scen_opts_timeline(&o, v, naive ? RACE_LANE_NAIVE : RACE_LANE_GRACE, group);
    r.delay = race_delay(so->seed, group);
    rc = floe__scen_pair_setup(&r.p, &o);
    if (rc == 0)
        rc = race_drive(&r, group == RACE_CONTROL);
    if (rc == 0) {
        race_collect(&r, res);
        race_summary(v, naive ? RACE_LANE_NAIVE : RACE_LANE_GRACE, group, res);
    }
    floe__scen_pair_free(&r.p);
    return rc < 0 ? floe__scen_setup_failed(v, "roam-race run", rc) : 0;
}

/* Both lanes of one run; returns a failure description or NULL. */
static const char *race_judge(const struct race_result *g, const struct race_result *n,
                              bool control)
{
    if (!g->recovered)
        return "with the grace period the connection did not recover";
    if (g->failed_at != FLOE_TIME_NEVER || g->gw_failed_at != FLOE_TIME_NEVER)
        return "with the grace period an agent reported failed";
    if (control)
        return n->recovered && n->gw_failed_at == FLOE_TIME_NEVER
                   ? NULL
                   : "control run: the naive lane did not connect";
    if (!g->disconnected || g->disconnected_at < g->remote_at)
        return "with the grace period the client never went disconnected on the remote "
               "candidates";
    if (n->failed_at == FLOE_TIME_NEVER)
        return "the naive lane showed no false failure";
    if (n->local_at != FLOE_TIME_NEVER && n->failed_at >= n->local_at)
        return "the naive failure came after the local candidates";
    return NULL;
}

static void race_heading(struct floe_sim_verdict *v, uint8_t group, floe_time delay)
{
    uint8_t lane;

    for (lane = 0; lane < 2; lane++) {
        if (group == RACE_CONTROL)
            floe_sim_verdict_add(v, 0, lane, group,
                                 "control: local candidates before the gateway's");
        else
            floe_sim_verdict_add(v, 0, lane, group,
                                 "local candidates %.0f ms after the gateway's first",
                                 race_ms(delay));
    }
}

int floe__scen_roam_race(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct race_result g, n;
    const char *bad = NULL;
    uint8_t i;
    int rc;

    v->n_lanes = 2;
    snprintf(v->lanes[RACE_LANE_GRACE], FLOE_SIM_LANE_NAME, "grace 2 s (candidate timeout 0)");
    snprintf(v->lanes[RACE_LANE_NAIVE], FLOE_SIM_LANE_NAME,
             "naive client: grace 0 (candidate timeout 0)");
    for (i = 0; i < RACE_GROUPS && !bad; i++) {
        race_heading(v, i, race_delay(so->seed, i));
        rc = race_run(so, v, i, false, &g);
        if (rc == 0)
            rc = race_run(so, v, i, true, &n);
        if (rc != 0)
            return rc;
        floe_sim_verdict_outage(v, g.outage);
        bad = race_judge(&g, &n, i == RACE_CONTROL);
    }
    if (bad)
        floe_sim_verdict_set(v, false, "run %u (%s): %s", i,
                             i - 1 == RACE_CONTROL ? "control" : "race", bad);
    else
        floe_sim_verdict_set(v, true,
                             "local candidates 50..1900 ms late: the grace period recovers every "
                             "time, never failed; grace 0 fails falsely before them; the control "
                             "run connects in both lanes");
    return 0;
}
