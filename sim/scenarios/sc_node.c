/*
 * The node scenarios: the seed's race and a client roam, through the real node on both
 * sides with a real relay core and the signalling channel (issue #11).
 */
#include <stdio.h>

#include "node_ep.h"

#define NODE_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))

static const floe_time node_race_delays_ms[] = {50, 200, 500, 1000, 1900};

static bool node_up_pred(struct floe_sim *sim, void *user)
{
    (void)sim;
    return node_pair_up(user);
}

static void node_race_hosts(struct floe_sim *sim, void *user)
{
    (void)sim;
    (void)node_pair_client_hosts(user);
}

/*
 * node-roam-race: the client has just roamed, its connection is made before it has any
 * address or relay (no local candidates), the gateway's candidates arrive first; the local
 * ones follow `delay` later. The node must connect and never report a failure.
 */
static int node_race_one(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                         uint8_t group, const char **bad)
{
    floe_time delay = FLOE_MS(node_race_delays_ms[group]);
    struct node_pair_opts o;
    struct node_pair p;
    int rc;

    node_pair_opts_default(&o, so);
    o.seed = so->seed * 100 + group;
    o.late_client_hosts = true;
    o.v = v;
    o.group = group;
    rc = node_pair_setup(&p, &o);
    if (rc == 0)
        rc = floe_sim_at(p.sim, delay, node_race_hosts, &p);
    if (rc == 0) {
        node_pair_traffic(&p, FLOE_MS(50), FLOE_TIME_NEVER);
        rc = floe_sim_run_until_pred(p.sim, node_up_pred, &p, delay + FLOE_SEC(15));
    }
    if (rc >= 0) {
        floe_sim_run_until(p.sim, floe_sim_now(p.sim) + FLOE_SEC(1));
        if (rc == 0)
            *bad = "no connection";
        else if (p.ep[0].failed_at != FLOE_TIME_NEVER || p.ep[1].failed_at != FLOE_TIME_NEVER)
            *bad = "a side reported failed";
        floe_sim_verdict_add(v, floe_sim_now(p.sim), 0, group, "=> %s",
                             *bad ? *bad : "connected, data both ways, never failed");
        rc = 0;
    }
    node_pair_free(&p);
    return rc < 0 ? floe__scen_setup_failed(v, "node-roam-race run", rc) : 0;
}

int floe__scen_node_roam_race(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    uint8_t i, count = sizeof(node_race_delays_ms) / sizeof(node_race_delays_ms[0]);
    const char *bad = NULL;
    int rc;

    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: WireGuard decides, ICE chooses the path");
    for (i = 0; i < count && !bad; i++) {
        floe_sim_verdict_add(v, 0, 0, i, "client's addresses and relays at %llu ms",
                             (unsigned long long)node_race_delays_ms[i]);
        rc = node_race_one(so, v, i, &bad);
        if (rc)
            return rc;
    }
    if (bad)
        floe_sim_verdict_set(v, false, "local candidates %llu ms late: %s",
                             (unsigned long long)node_race_delays_ms[i - 1], bad);
    else
        floe_sim_verdict_set(v, true,
                             "%u delays 50..1900 ms: the node connects every time and "
                             "never reports a failure",
                             count);
    return 0;
}

/* ------------------------------------------------------------------ node-roam */

struct node_roam_cell {
    enum floe__scen_nat client, gateway;
};

static const struct node_roam_cell node_roam_cells[] = {
    {FLOE__SCEN_NAT_NONE, FLOE__SCEN_NAT_NONE},   {FLOE__SCEN_EIM_EIF, FLOE__SCEN_EIM_ADF},
    {FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF},    {FLOE__SCEN_ADM_APDF, FLOE__SCEN_EIM_APDF},
    {FLOE__SCEN_APDM_APDF, FLOE__SCEN_EIM_ADF},   {FLOE__SCEN_EIM_APDF, FLOE__SCEN_APDM_APDF},
    {FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF},
};

#define NODE_ROAM_AT FLOE_SEC(5)
#define NODE_ROAM_DEAD FLOE_MS(500)
#define NODE_ROAM_BUDGET FLOE_SEC(2)

/* Client roams mid-transfer; returns the recovery time or FLOE_TIME_NEVER; *bad on failure. */
static int node_roam_one(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                         uint8_t group, floe_time *recovery, const char **bad)
{
    const struct node_roam_cell *cell = &node_roam_cells[group];
    struct node_pair_opts o;
    struct node_pair p;
    floe_time back;
    int rc;

    node_pair_opts_default(&o, so);
    o.seed = so->seed * 100 + group;
    o.nat[0] = cell->client;
    o.nat[1] = cell->gateway;
    o.v = v;
    o.group = group;
    rc = node_pair_setup(&p, &o);
    if (rc == 0) {
        node_pair_traffic(&p, FLOE_MS(20), FLOE_TIME_NEVER);
        rc = floe_sim_run_until(p.sim, NODE_ROAM_AT);
    }
    if (rc == 0 && !node_pair_up(&p))
        *bad = "not up before the roam";
    if (rc == 0)
        rc = floe_sim_host_roam(p.sim, p.ep[0].host, 0, p.roam_net, &p.roam_ip, NODE_ROAM_DEAD);
    back = NODE_ROAM_AT + NODE_ROAM_DEAD;
    p.ep[0].mark_at = p.ep[1].mark_at = back;
    if (rc == 0)
        rc = floe_sim_run_until(p.sim, back + FLOE_SEC(10));
    if (rc == 0) {
        floe_time a = p.ep[0].recovered_at, b = p.ep[1].recovered_at;

        *recovery =
            a == FLOE_TIME_NEVER || b == FLOE_TIME_NEVER ? FLOE_TIME_NEVER : (a > b ? a : b) - back;
        if (p.ep[0].failed_at != FLOE_TIME_NEVER || p.ep[1].failed_at != FLOE_TIME_NEVER)
            *bad = "a side reported failed";
        else if (*recovery == FLOE_TIME_NEVER)
            *bad = "no data after the roam";
        else if (*recovery > NODE_ROAM_BUDGET)
            *bad = "recovery over the 2 s budget";
        floe_sim_verdict_add(v, floe_sim_now(p.sim), 0, group,
                             "client %s, gateway %s: data both ways %lld ms after the new "
                             "network was usable%s%s",
                             floe__scen_nat_name(cell->client), floe__scen_nat_name(cell->gateway),
                             *recovery == FLOE_TIME_NEVER ? -1LL : (long long)NODE_MS(*recovery),
                             *bad ? ": " : "", *bad ? *bad : "");
    }
    node_pair_free(&p);
    return rc < 0 ? floe__scen_setup_failed(v, "node-roam run", rc) : 0;
}

int floe__scen_node_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    uint8_t i, count = sizeof(node_roam_cells) / sizeof(node_roam_cells[0]);
    floe_time rec, worst = 0;
    const char *bad = NULL;
    int rc;

    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: client roams at 5 s, 0.5 s dead");
    for (i = 0; i < count && !bad; i++) {
        rc = node_roam_one(so, v, i, &rec, &bad);
        if (rc)
            return rc;
        if (!bad && rec > worst)
            worst = rec;
    }
    if (bad)
        floe_sim_verdict_set(v, false, "cell %u: %s", (unsigned)(i - 1), bad);
    else
        floe_sim_verdict_set(v, true,
                             "%u NAT cells, 50 ms RTT, 1 %% loss: session kept, data both ways "
                             "again within %llu ms of the new network (budget 2 s)",
                             count, NODE_MS(worst));
    return 0;
}
