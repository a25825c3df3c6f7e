/*
 * node-prop: the whole system under random topologies and transitions, checked against a
 * reference model (Firezone's tunnel-proto idea). The seed draws, per run, both NAT kinds,
 * the roam networks' kinds, latency, jitter and loss; then a sequence of transitions with
 * traffic both ways between them: client roams (dead 0.1..10 s), gateway roams, signalling
 * outages, idle periods. The model: a relay is always reachable outside dead windows, so a
 * path exists all the time but during them.
 * Invariants: no connection reported failed (every dead window is far below the liveness
 * limit); every packet arrives at most once; no packet reaches the wrong peer; after each
 * roam data flows both ways again within NODE_PROP_RECOVERY. The recovery times (from the
 * moment the new network is usable to data both ways) are printed as p50/p99/max.
 * node-prop-links is the same with every link as the issue states it (25 ms one way host to
 * core, 5 ms jitter, 1 % loss) instead of drawn ones (5..50 ms, 0..10 ms, 0..5 %).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/sim_node.h"
#include "node_ep.h"

#define NODE_PROP_RUNS 1000 /* default; --seeds N */
#define NODE_PROP_STEPS 4
#define NODE_PROP_SLOW_SHOWN 10 /* the slowest roams above p99 named in the timeline */

/* One roam's recovery and where it waited (times from the mark; NEVER: did not happen). */
struct prop_rec {
    floe_time rec;
    unsigned run;
    size_t seq; /* the order roams happened in: ties are sorted the same on every platform */
    int side;   /* 0 the client roamed, 1 the gateway */
    floe_time alloc_ok, rx[2];
    uint32_t allocs_tx, allocs_437;
};
#define NODE_PROP_RECOVERY FLOE_SEC(10)
/* Up first: each lost handshake message costs WireGuard's REKEY_TIMEOUT (5 s). */
#define NODE_PROP_UP FLOE_SEC(60)

struct node_prop {
    struct floe_xoshiro x;
    const uint8_t *bytes; /* when set, choices come from here (the fuzz target) */
    size_t n_bytes;
    struct prop_rec *rec; /* recoveries, runs * NODE_PROP_STEPS at most */
    size_t n_rec, max_rec;
    const char *bad;
    unsigned bad_run;
    bool issue_links; /* the issue's links (25 ms, 5 ms jitter, 1 % loss), not drawn ones */
    unsigned run;     /* the run going on */
};

static uint64_t prop_draw(struct node_prop *np, uint64_t n)
{
    uint64_t v = 0;
    int i;

    if (!np->bytes)
        return floe_xoshiro_next(&np->x) % n;
    for (i = 0; i < 2; i++) {
        v = v << 8 | (np->n_bytes ? *np->bytes : 0);
        if (np->n_bytes) {
            np->bytes++;
            np->n_bytes--;
        }
    }
    return v % n;
}

static void prop_traffic_on(struct floe_sim *sim, void *user)
{
    (void)sim;
    node_pair_traffic(user, FLOE_MS(50), FLOE_TIME_NEVER);
}

/* Roam side to the other of its two networks. */
static int prop_roam(struct node_pair *p, int side, floe_time dead)
{
    struct floe_addr cur;
    uint32_t net;
    const struct floe_addr *ip;

    if (floe_sim_host_addr(p->sim, p->ep[side].host, 0, &cur) != 0)
        return FLOE_ERR_INVALID_ARG;
    if (floe_addr_ip_eq(&cur, &p->home_ip[side])) {
        net = side ? p->gw_roam_net : p->roam_net;
        ip = side ? &p->gw_roam_ip : &p->roam_ip;
    } else {
        net = p->home_net[side];
        ip = &p->home_ip[side];
    }
    return floe_sim_host_roam(p->sim, p->ep[side].host, 0, net, ip, dead);
}

/* One transition at now; *mark when the network is usable again after a roam of *side. */
static int prop_step(struct node_prop *np, struct node_pair *p, floe_time *mark, int *side)
{
    floe_time now = floe_sim_now(p->sim), dead;
    int kind = (int)prop_draw(np, 4), rc = 0;

    *mark = 0;
    *side = kind;
    switch (kind) {
    case 0: /* client roams */
    case 1: /* gateway roams */
        dead = FLOE_MS(100) + FLOE_MS(prop_draw(np, 9901));
        rc = prop_roam(p, kind, dead);
        *mark = now + dead;
        break;
    case 2: /* signalling outage */
        node_pair_signal(p, true);
        rc = floe_sim_run_until(p->sim, now + FLOE_MS(prop_draw(np, 10000)));
        node_pair_signal(p, false);
        break;
    default: /* idle, then traffic again */
        node_pair_traffic(p, FLOE_MS(50), now);
        rc = floe_sim_at(p->sim, now + FLOE_SEC(30 + prop_draw(np, 270)), prop_traffic_on, p);
        break;
    }
    return rc;
}

static const char *prop_violation(const struct node_pair *p)
{
    if (p->ep[0].failed_at != FLOE_TIME_NEVER || p->ep[1].failed_at != FLOE_TIME_NEVER)
        return "a side reported failed while a path existed";
    if (p->ep[0].rx_dups || p->ep[1].rx_dups)
        return "a packet arrived twice";
    if (p->ep[0].rx_wrong || p->ep[1].rx_wrong)
        return "a packet reached the wrong peer";
    return NULL;
}

static floe_time prop_since(floe_time at, floe_time mark)
{
    return at == FLOE_TIME_NEVER ? FLOE_TIME_NEVER : at - mark;
}

/* Keep the recovery of side's roam and where it waited. */
static void prop_keep(struct node_prop *np, const struct node_pair *p, floe_time mark, int side)
{
    const struct node_ep *e = &p->ep[side];
    struct prop_rec *r;
    floe_time a = p->ep[0].recovered_at, b = p->ep[1].recovered_at;

    if (np->n_rec == np->max_rec)
        return;
    r = &np->rec[np->n_rec];
    r->seq = np->n_rec++;
    r->rec = (a > b ? a : b) - mark;
    r->run = np->run;
    r->side = side;
    r->alloc_ok = prop_since(e->alloc_ok_at, mark);
    r->rx[0] = a - mark;
    r->rx[1] = b - mark;
    r->allocs_tx = e->allocs_tx;
    r->allocs_437 = e->allocs_437;
}

/* After a roam of side: run until data went both ways after mark, or the recovery limit. */
static int prop_recover(struct node_prop *np, struct node_pair *p, floe_time mark, int side)
{
    int rc, i;

    for (i = 0; i < 2; i++) {
        p->ep[i].mark_at = mark;
        p->ep[i].mark_seq = p->ep[1 - i].seq_tx;
        p->ep[i].recovered_at = p->ep[i].alloc_ok_at = FLOE_TIME_NEVER;
        p->ep[i].allocs_tx = p->ep[i].allocs_437 = 0;
    }
    node_pair_traffic(p, FLOE_MS(50), FLOE_TIME_NEVER);
    rc = floe_sim_run_until(p->sim, mark + NODE_PROP_RECOVERY);
    if (rc == 0 &&
        (p->ep[0].recovered_at == FLOE_TIME_NEVER || p->ep[1].recovered_at == FLOE_TIME_NEVER))
        np->bad = "no data both ways within 10 s of a roam";
    else if (rc == 0)
        prop_keep(np, p, mark, side);
    return rc;
}

static void prop_opts(struct node_prop *np, struct node_pair_opts *o)
{
    o->nat[0] = (enum floe__scen_nat)prop_draw(np, FLOE__SCEN_NAT_KINDS);
    o->nat[1] = (enum floe__scen_nat)prop_draw(np, FLOE__SCEN_NAT_KINDS);
    o->roam_nat = (enum floe__scen_nat)(1 + prop_draw(np, FLOE__SCEN_NAT_KINDS - 1));
    o->gw_roam_nat = (enum floe__scen_nat)(1 + prop_draw(np, FLOE__SCEN_NAT_KINDS - 1));
    if (np->issue_links) {
        o->latency = FLOE_MS(25);
        o->jitter = FLOE_MS(5);
        o->loss = 0.01;
        return;
    }
    o->latency = FLOE_MS(5 + prop_draw(np, 46));
    o->jitter = FLOE_MS(prop_draw(np, 11));
    o->loss = (double)prop_draw(np, 6) / 100.0;
}

static bool prop_up(struct floe_sim *sim, void *user)
{
    (void)sim;
    return node_pair_up(user);
}

static int prop_run(const struct floe_sim_scenario_opts *so, struct node_prop *np, unsigned run)
{
    struct node_pair_opts o;
    struct node_pair *p = calloc(1, sizeof(*p));
    floe_time mark;
    int rc, step, side;

    if (!p)
        return FLOE_ERR_NOMEM;
    np->run = run;
    node_pair_opts_default(&o, so);
    o.seed = so->seed * 1000 + run;
    prop_opts(np, &o);
    rc = node_pair_setup(p, &o);
    if (rc == 0) {
        node_pair_traffic(p, FLOE_MS(50), FLOE_TIME_NEVER);
        rc = floe_sim_run_until_pred(p->sim, prop_up, p, NODE_PROP_UP);
        rc = rc == 1 ? 0 : rc;
    }
    if (rc == 0 && !node_pair_up(p))
        np->bad = "not up within 60 s";
    for (step = 0; rc == 0 && !np->bad && step < NODE_PROP_STEPS; step++) {
        rc = prop_step(np, p, &mark, &side);
        if (rc == 0 && mark)
            rc = prop_recover(np, p, mark, side);
        if (rc == 0)
            rc = floe_sim_run_until(p->sim, floe_sim_now(p->sim) + FLOE_SEC(5));
        if (rc == 0 && !np->bad)
            np->bad = prop_violation(p);
    }
    if (np->bad && !np->bad_run)
        np->bad_run = run + 1;
    node_pair_free(p);
    free(p);
    return rc;
}

/* By recovery time, then in the order the roams happened: the same on every platform. */
static int prop_cmp(const void *a, const void *b)
{
    const struct prop_rec *x = a, *y = b;

    if (x->rec != y->rec)
        return x->rec < y->rec ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static unsigned long long prop_ms(floe_time t)
{
    return (unsigned long long)(t / FLOE_MS(1));
}

/*
 * Where the slowest roams (above p99, NODE_PROP_SLOW_SHOWN at most) waited: the roaming
 * side's relay (when its Allocate was answered, after how many 437s and Allocates sent) and
 * when data arrived at each side, in ms from the moment the new network was usable.
 */
static void prop_slow(const struct node_prop *np, struct floe_sim_verdict *v, size_t from)
{
    size_t i = np->n_rec > from + NODE_PROP_SLOW_SHOWN ? np->n_rec - NODE_PROP_SLOW_SHOWN : from;
    char ok[24];

    for (; i < np->n_rec; i++) {
        const struct prop_rec *r = &np->rec[i];

        if (r->alloc_ok == FLOE_TIME_NEVER)
            snprintf(ok, sizeof(ok), "none");
        else
            snprintf(ok, sizeof(ok), "%llu ms", prop_ms(r->alloc_ok));
        floe_sim_verdict_add(v, 0, 0, 0,
                             "slow: run %u, %s roamed: %llu ms; Allocate ok %s (%u sent, %u 437); "
                             "data at client %llu, gateway %llu",
                             r->run, r->side ? "gateway" : "client", prop_ms(r->rec), ok,
                             (unsigned)r->allocs_tx, (unsigned)r->allocs_437, prop_ms(r->rx[0]),
                             prop_ms(r->rx[1]));
    }
}

static void prop_verdict(struct node_prop *np, struct floe_sim_verdict *v, unsigned runs)
{
    unsigned long long p50, p99, max;

    qsort(np->rec, np->n_rec, sizeof(np->rec[0]), prop_cmp);
    if (np->bad) {
        floe_sim_verdict_set(v, false, "run %u: %s", np->bad_run - 1, np->bad);
        return;
    }
    if (np->n_rec == 0) {
        floe_sim_verdict_set(v, false, "no roam was drawn");
        return;
    }
    p50 = prop_ms(np->rec[np->n_rec / 2].rec);
    p99 = prop_ms(np->rec[(np->n_rec * 99) / 100].rec);
    max = prop_ms(np->rec[np->n_rec - 1].rec);
    prop_slow(np, v, (np->n_rec * 99) / 100);
    floe_sim_verdict_add(v, 0, 0, 0,
                         "%u runs, %llu roams: recovery p50 %llu ms, p99 %llu ms, "
                         "max %llu ms",
                         runs, (unsigned long long)np->n_rec, p50, p99, max);
    floe_sim_verdict_set(v, true,
                         "%u runs, %llu roams: no false failure, no duplicate, no misdelivery; "
                         "recovery p50 %llu ms, p99 %llu ms, max %llu ms",
                         runs, (unsigned long long)np->n_rec, p50, p99, max);
}

/* node-prop (drawn links) or node-prop-links (the issue's links) over so->runs runs. */
static int prop_scenario(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                         bool issue_links)
{
    unsigned runs = so->runs ? so->runs : NODE_PROP_RUNS, run;
    struct node_prop *np = calloc(1, sizeof(*np));
    int rc = 0;

    if (np)
        np->rec = calloc((size_t)runs * NODE_PROP_STEPS, sizeof(*np->rec));
    if (!np || !np->rec) {
        free(np);
        return floe__scen_setup_failed(v, "node-prop", FLOE_ERR_NOMEM);
    }
    np->max_rec = (size_t)runs * NODE_PROP_STEPS;
    np->issue_links = issue_links;
    floe_xoshiro_seed(&np->x, so->seed);
    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "%s",
             issue_links ? "node: random topologies, links 25 ms, 5 ms jitter, 1 % loss"
                         : "node: random topologies and transitions");
    for (run = 0; run < runs && rc == 0 && !np->bad; run++)
        rc = prop_run(so, np, run);
    if (rc == 0)
        prop_verdict(np, v, runs);
    free(np->rec);
    free(np);
    return rc != 0 ? floe__scen_setup_failed(v, "node-prop run", rc) : 0;
}

int floe__scen_node_prop(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    return prop_scenario(so, v, false);
}

int floe__scen_node_prop_links(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    return prop_scenario(so, v, true);
}

int floe_sim_node_prop_bytes(const uint8_t *data, size_t len, char *why, size_t cap)
{
    struct floe_sim_scenario_opts so = {.seed = 1};
    struct node_prop np;
    struct prop_rec rec[NODE_PROP_STEPS];
    int rc;

    memset(&np, 0, sizeof(np));
    np.bytes = data ? data : (const uint8_t *)"";
    np.n_bytes = data ? len : 0;
    np.rec = rec;
    np.max_rec = NODE_PROP_STEPS;
    so.seed = prop_draw(&np, 65536) + 1;
    rc = prop_run(&so, &np, 0);
    if (rc < 0)
        return rc;
    if (why && cap)
        snprintf(why, cap, "%s", np.bad ? np.bad : "");
    return np.bad ? 1 : 0;
}
