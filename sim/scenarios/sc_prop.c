/*
 * property: random topologies from the seed. Each run draws both NAT kinds,
 * loss up to 20 % on the public network, latencies, gathering delays and a
 * signalling jitter that reorders trickled candidates. Whenever the NATs
 * allow a direct path, the pair must connect within PROP_CONNECT_TIMEOUT;
 * the invariant hook checks after every simulator step that no agent reports
 * failed while a direct path exists (the NATs allow it and the peers have
 * their server-reflexive candidates) and that no application datagram
 * reaches the wrong peer.
 */
#include <stdio.h>
#include <string.h>

#include "scen_int.h"

#define PROP_RUNS 100
#define PROP_CONNECT_TIMEOUT FLOE_SEC(20)
#define PROP_STEADY FLOE_SEC(5) /* keep running after connecting, under loss */
/* The client's checks: 250 ms doubling to 1.5 s, 12 sends, then one last RTO. */
#define PROP_CHECK_SPAN FLOE_MS(16750)

struct prop_ctx {
    struct floe__scen_pair *p;
    enum floe__scen_nat nat[2];
    bool possible; /* the NAT kinds allow a direct path */
    const char *violation;
};

/*
 * A direct path exists at `now` when the NAT kinds allow one and every peer
 * behind a NAT has had its server-reflexive candidate for the client's whole
 * check schedule: under heavy loss a gatherer may lose its Binding requests
 * for seconds, and a candidate that comes after the checks have run out
 * forms no new pair (only new candidates restart checks).
 */
static bool prop_path_exists(const struct prop_ctx *c, floe_time now)
{
    floe_time t;
    int i;

    for (i = 0; i < 2; i++) {
        if (c->nat[i] == FLOE__SCEN_NAT_NONE)
            continue;
        t = c->p->ep[i] ? floe_sim_ice_ep_stats(c->p->ep[i])->stun_first_at : FLOE_TIME_NEVER;
        if (t == FLOE_TIME_NEVER || floe_time_add(t, PROP_CHECK_SPAN) > now)
            return false;
    }
    return c->possible;
}

static int prop_check(struct floe_sim *sim, void *user)
{
    struct prop_ctx *c = user;
    int i;

    (void)sim;
    for (i = 0; i < 2; i++) {
        const struct floe_sim_ice_ep_stats *s;

        if (!c->p->ep[i])
            continue;
        s = floe_sim_ice_ep_stats(c->p->ep[i]);
        if (s->data_misdelivered)
            c->violation = "a datagram reached the wrong peer";
        if (s->failed_at != FLOE_TIME_NEVER && prop_path_exists(c, s->failed_at))
            c->violation = "failed while a direct path exists";
    }
    return c->violation ? FLOE_ERR_STATE : 0;
}

static uint64_t prop_below(struct floe_xoshiro *x, uint64_t n)
{
    return floe_xoshiro_next(x) % n;
}

/* Draw one topology into o. */
static void prop_draw(struct floe_xoshiro *x, struct floe__scen_opts *o)
{
    o->nat[0] = (enum floe__scen_nat)prop_below(x, FLOE__SCEN_NAT_KINDS);
    o->nat[1] = (enum floe__scen_nat)prop_below(x, FLOE__SCEN_NAT_KINDS);
    o->loss = (double)prop_below(x, 201) / 1000.0;
    o->latency = FLOE_MS(1 + prop_below(x, 60));
    o->sig_delay = FLOE_MS(5 + prop_below(x, 200));
    o->sig_jitter = FLOE_MS(prop_below(x, 300));
    o->ep[0].gather_delay = FLOE_MS(prop_below(x, 1901));
    o->ep[1].gather_delay = FLOE_MS(prop_below(x, 500));
}

static void prop_record(struct floe_sim_verdict *v, int k, const struct floe__scen_opts *o,
                        const struct prop_ctx *c, int up)
{
    const struct floe_sim_ice_ep_stats *s = floe_sim_ice_ep_stats(c->p->ep[0]);
    char what[64];

    if (c->violation)
        snprintf(what, sizeof(what), "VIOLATION: %s", c->violation);
    else if (up == 1)
        snprintf(what, sizeof(what), "connected at %llu ms",
                 (unsigned long long)(s->connected_at / FLOE_MS(1)));
    else
        snprintf(what, sizeof(what), "%s", c->possible ? "NOT CONNECTED" : "needs relay");
    floe_sim_verdict_add(v, s->connected_at == FLOE_TIME_NEVER ? 0 : s->connected_at, 0, (uint8_t)k,
                         "#%02d %-9s/%-9s loss %2u%% %2llu ms: %s", k,
                         floe__scen_nat_name(o->nat[0]), floe__scen_nat_name(o->nat[1]),
                         (unsigned)(o->loss * 100 + 0.5),
                         (unsigned long long)(o->latency / FLOE_MS(1)), what);
}

/* One run: 2 connected as expected, 1 no direct path as expected, 0 broken, negative: setup. */
static int prop_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v, int k,
                    struct floe_xoshiro *x)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct prop_ctx c = {.p = &p};
    bool exists;
    int up;

    floe__scen_opts_default(&o, so);
    o.seed = so->seed * 1000 + (uint64_t)k;
    prop_draw(x, &o);
    c.possible = floe__scen_direct_possible(o.nat[0], o.nat[1]);
    c.nat[0] = o.nat[0];
    c.nat[1] = o.nat[1];
    o.check = prop_check;
    o.check_user = &c;
    memset(&p, 0, sizeof(p));
    up = floe__scen_pair_setup(&p, &o);
    if (up == 0)
        up = floe__scen_run_until_up(&p, PROP_CONNECT_TIMEOUT);
    if (up == 1)
        up = floe_sim_run_until(p.sim, floe_sim_now(p.sim) + PROP_STEADY) == 0 ? 1 : -1;
    if (up < 0 && !c.violation) {
        floe__scen_pair_free(&p);
        return floe__scen_setup_failed(v, "property run", up);
    }
    exists = prop_path_exists(&c, floe_sim_now(p.sim));
    prop_record(v, k, &o, &c, up);
    floe__scen_pair_free(&p);
    /* Connected where the kinds rule it out, or not where a path exists: broken. */
    if (c.violation || (up == 1 && !c.possible) || (up != 1 && exists))
        return 0;
    return up == 1 ? 2 : 1;
}

int floe__scen_property(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct floe_xoshiro x;
    int k, rc, bad = -1, direct = 0;

    floe_xoshiro_seed(&x, so->seed);
    for (k = 0; k < PROP_RUNS; k++) {
        rc = prop_run(so, v, k, &x);
        if (rc < 0)
            return rc;
        if (rc == 0 && bad < 0)
            bad = k;
        direct += rc == 2;
    }
    if (bad >= 0)
        floe_sim_verdict_set(v, false, "run #%02d broke the property (seed %llu)", bad,
                             (unsigned long long)so->seed);
    else
        floe_sim_verdict_set(v, true,
                             "%d random runs: %d connected directly within 20 s, the rest need "
                             "a relay; no false failure, no misdelivery",
                             PROP_RUNS, direct);
    return 0;
}
