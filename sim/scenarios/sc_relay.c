/*
 * Relayed ICE scenarios.
 *
 * nat-matrix-relay: the nat-matrix with a TURN relay on the public network
 * that both peers allocate on. Every cell must connect and carry data both
 * ways; the cells where RFC 4787 behaviour allows a direct path must still
 * select a direct pair (relayed candidates have the lowest type preference),
 * and the others a relayed one, symmetric against symmetric included.
 *
 * relay-only: both peers behind symmetric NATs gather nothing but their
 * relayed candidates, so the only pairs are relay to relay through the one
 * relay (whose peer policy lets its own address in for this). Data must keep
 * flowing, none lost, across the TURN refreshes of permissions, channels and
 * allocations.
 */
#include <stdio.h>

#include "scen_int.h"

/* Virtual time a cell may take to connect. */
#define RELAY_CELL_LIMIT FLOE_SEC(25)
/* How long data must keep flowing after: 3 s per cell (30 datagrams each way, so that 1 %
 * loss per network cannot take half), and in relay-only past every TURN refresh (permission
 * 240 s, allocation and channel 300 s) twice. */
#define RELAY_FLOW_TIME FLOE_SEC(3)
#define RELAY_ONLY_FLOW_TIME FLOE_SEC(700)
/*
 * Every network loses 1 % by default, so data flows when each side receives
 * at least half of what the other sent and never goes RELAY_MAX_GAP without
 * any: a broken path, refresh or permission shows as a gap (ten datagrams in
 * a row), random loss does not.
 */
#define RELAY_MAX_GAP FLOE_SEC(1)

/* What one run showed once both sides were up. */
struct relay_run {
    int up;              /* floe__scen_run_until_up's answer */
    floe_time up_at;     /* both sides up: selected pair and data from the peer */
    bool local_relay[2]; /* each side's selected pair sends via the relay */
    bool flows;          /* each side received nearly all the other sent, without a gap */
    bool misdelivered;
    struct floe_relay_stats relay;
};

static bool relay_is_relayed(const struct relay_run *r)
{
    return r->local_relay[0] || r->local_relay[1];
}

/* Connect, then let data flow for `flow` and take the counters. */
static int relay_run(struct floe__scen_pair *p, floe_time flow, struct relay_run *r)
{
    const struct floe_sim_ice_ep_stats *st[2];
    int i, rc;

    r->up = floe__scen_run_until_up(p, RELAY_CELL_LIMIT);
    if (r->up < 0)
        return r->up;
    r->up_at = floe_sim_now(p->sim);
    for (i = 0; i < 2; i++) {
        st[i] = floe_sim_ice_ep_stats(p->ep[i]);
        r->local_relay[i] = st[i]->has_selected && st[i]->selected.path.via_relay;
    }
    rc = floe_sim_run_until(p->sim, floe_time_add(r->up_at, flow));
    if (rc < 0)
        return rc;
    r->flows = r->up == 1;
    for (i = 0; i < 2; i++) {
        r->flows = r->flows && st[i]->data_received * 2 >= st[1 - i]->data_sent &&
                   st[i]->data_received * 2 >= flow / FLOE_MS(100) &&
                   st[i]->data_gap_max < RELAY_MAX_GAP;
        r->misdelivered = r->misdelivered || st[i]->data_misdelivered;
    }
    floe_relay_get_stats(floe_sim_relay_server_core(p->relay), &r->relay);
    return 0;
}

/* "relay->srflx": a side's selected pair by candidate types, "-" without one. */
static void relay_pair_name(const struct floe_sim_ice_ep_stats *st, char *out, size_t cap)
{
    if (!st->has_selected)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%s->%s", floe_ice_cand_type_name(st->selected.local.type),
                 floe_ice_cand_type_name(st->selected.remote.type));
}

struct relay_tally {
    unsigned direct, relayed, wrong;
    unsigned relayed_possible; /* relayed although a direct path exists */
};

static void relay_cell_record(struct floe_sim_verdict *v, struct floe__scen_pair *p,
                              enum floe__scen_nat a, enum floe__scen_nat b,
                              const struct relay_run *r, bool ok)
{
    /* One group per cell: the sorted timeline keeps the matrix order. */
    uint8_t cell = (uint8_t)(a * FLOE__SCEN_NAT_KINDS + b);
    char c[16], g[16];

    relay_pair_name(floe_sim_ice_ep_stats(p->ep[0]), c, sizeof(c));
    relay_pair_name(floe_sim_ice_ep_stats(p->ep[1]), g, sizeof(g));
    if (r->up != 1) {
        floe_sim_verdict_add(v, floe_sim_now(p->sim), 0, cell,
                             "client %-9s gateway %-9s: NOT CONNECTED", floe__scen_nat_name(a),
                             floe__scen_nat_name(b));
        return;
    }
    floe_sim_verdict_add(
        v, r->up_at, 0, cell,
        "client %-9s gateway %-9s: %-7s in %4llu ms (client %s, gateway %s)%s",
        floe__scen_nat_name(a), floe__scen_nat_name(b), relay_is_relayed(r) ? "relayed" : "direct",
        (unsigned long long)(r->up_at / FLOE_MS(1)), c, g,
        !ok                                                       ? " WRONG"
        : relay_is_relayed(r) && floe__scen_direct_possible(a, b) ? " (direct possible)"
                                                                  : "");
}

/* One cell: connected, direct exactly where RFC 4787 allows it, data both ways. */
static int relay_cell(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                      enum floe__scen_nat a, enum floe__scen_nat b, struct relay_tally *t)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct relay_run r = {0};
    bool ok;
    int rc;

    floe__scen_opts_default(&o, so);
    o.seed = so->seed * 1000 + 500 + (uint64_t)a * FLOE__SCEN_NAT_KINDS + (uint64_t)b;
    o.nat[0] = a;
    o.nat[1] = b;
    floe__scen_opts_relay(&o);
    rc = floe__scen_pair_setup(&p, &o);
    if (rc == 0)
        rc = relay_run(&p, RELAY_FLOW_TIME, &r);
    if (rc < 0) {
        floe__scen_pair_free(&p);
        return floe__scen_setup_failed(v, "relay cell", rc);
    }
    /*
     * Never direct where RFC 4787 rules it out. Where a direct path exists, a
     * relayed selection is no error under loss: a lost direct check lets the
     * relayed pair be nominated first (counted, not wrong; nat-matrix, without
     * a relay, proves those cells connect directly).
     */
    ok = r.up == 1 && r.flows && !r.misdelivered &&
         (relay_is_relayed(&r) || floe__scen_direct_possible(a, b));
    relay_cell_record(v, &p, a, b, &r, ok);
    if (!ok)
        t->wrong++;
    else if (relay_is_relayed(&r))
        t->relayed++;
    else
        t->direct++;
    t->relayed_possible += ok && relay_is_relayed(&r) && floe__scen_direct_possible(a, b);
    floe__scen_pair_free(&p);
    return 0;
}

int floe__scen_nat_matrix_relay(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct relay_tally t = {0};
    int a, b, rc;

    for (a = 0; a < FLOE__SCEN_NAT_KINDS; a++) {
        for (b = 0; b < FLOE__SCEN_NAT_KINDS; b++) {
            rc = relay_cell(so, v, (enum floe__scen_nat)a, (enum floe__scen_nat)b, &t);
            if (rc != 0)
                return rc;
        }
    }
    floe_sim_verdict_set(v, t.wrong == 0 && t.direct + t.relayed == 49,
                         "%u cells direct, %u relayed (%u of them could be direct), %u wrong (not "
                         "connected, data not both ways, or direct against RFC 4787)",
                         t.direct, t.relayed, t.relayed_possible, t.wrong);
    return 0;
}

/* relay-only's verdict: relay to relay on both sides, channels bound, data through the relay. */
static void relay_only_verdict(struct floe_sim_verdict *v, struct floe__scen_pair *p,
                               const struct relay_run *r)
{
    const struct floe_sim_ice_ep_stats *c = floe_sim_ice_ep_stats(p->ep[0]);
    const struct floe_sim_ice_ep_stats *g = floe_sim_ice_ep_stats(p->ep[1]);
    bool both_relay = r->local_relay[0] && r->local_relay[1] &&
                      c->selected.remote.type == FLOE_ICE_RELAY &&
                      g->selected.remote.type == FLOE_ICE_RELAY;
    bool only_relayed = c->gathered == 1 && g->gathered == 1;

    floe_sim_verdict_set(
        v,
        r->up == 1 && r->flows && !r->misdelivered && both_relay && only_relayed &&
            r->relay.channels >= 2 && r->relay.packets_to_peers > 0,
        "%s in %llu ms, relay to relay: %s, candidates gathered %llu/%llu, %llu channels, "
        "%llu packets relayed, data %llu/%llu over %llu s",
        r->up == 1 ? "connected" : "NOT connected", (unsigned long long)(r->up_at / FLOE_MS(1)),
        both_relay ? "yes" : "no", (unsigned long long)c->gathered, (unsigned long long)g->gathered,
        (unsigned long long)r->relay.channels, (unsigned long long)r->relay.packets_to_peers,
        (unsigned long long)c->data_received, (unsigned long long)g->data_received,
        (unsigned long long)(RELAY_ONLY_FLOW_TIME / FLOE_SEC(1)));
}

int floe__scen_relay_only(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct relay_run r = {0};
    int rc, i;

    floe__scen_opts_default(&o, so);
    o.nat[0] = o.nat[1] = FLOE__SCEN_APDM_APDF;
    floe__scen_opts_relay(&o);
    /* Both relayed candidates are on this relay: its own address must be a permitted peer. */
    rc = floe_cidr_parse("203.0.113.2/32", &o.relay_cfg.allow[o.relay_cfg.n_allow++]);
    if (rc < 0)
        return floe__scen_setup_failed(v, "relay-only peer policy", rc);
    for (i = 0; i < 2; i++)
        o.ep[i].relay_only = true;
    floe__scen_opts_timeline(&o, v, 0, 0);
    rc = floe__scen_pair_setup(&p, &o);
    if (rc == 0)
        rc = relay_run(&p, RELAY_ONLY_FLOW_TIME, &r);
    if (rc < 0) {
        floe__scen_pair_free(&p);
        return floe__scen_setup_failed(v, "relay-only", rc);
    }
    relay_only_verdict(v, &p, &r);
    floe__scen_pair_free(&p);
    floe_sim_verdict_sort(v);
    return 0;
}
