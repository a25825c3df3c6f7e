/*
 * The node scenarios: the seed's race and a client roam, through the real node on both
 * sides with a real relay core and the signalling channel (issue #11).
 */
#include <stdio.h>
#include <stdlib.h>

#include "node_ep.h"

#define NODE_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))
/* A roam has settled this long after the network is back (after signalling is back in
 * node-signal-outage): ICE has nominated the new pair and both sides moved onto it. From then
 * on the path must not change (it flapped between direct and relayed every consent check). */
#define NODE_SETTLE FLOE_SEC(4)

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

/* ------------------------------------------------------------- roaming runs */

/* One roaming run: who roams, how long the network is dead, what else goes on. */
struct node_roam_spec {
    enum floe__scen_nat client, gateway;
    bool roam_client, roam_gateway;
    floe_time dead;
    double loss;
    bool idle;          /* traffic stops at 2 s and the roam comes after 5 minutes idle */
    bool signal_outage; /* signalling down from the roam until 3 s after the network is back */
    bool relay_restart; /* the relay restarts instead of a roam */
    floe_time budget;   /* data both ways again within this of the network being back */
};

struct node_roam_out {
    floe_time recovery; /* FLOE_TIME_NEVER: none */
    const char *bad;
};

static void node_roam_traffic_on(struct floe_sim *sim, void *user)
{
    (void)sim;
    node_pair_traffic(user, FLOE_MS(20), FLOE_TIME_NEVER);
}

static void node_roam_signal_up(struct floe_sim *sim, void *user)
{
    (void)sim;
    node_pair_signal(user, false);
}

static int node_roam_move(struct node_pair *p, const struct node_roam_spec *sp, floe_time at)
{
    int rc = 0;

    if (sp->signal_outage)
        node_pair_signal(p, true);
    if (sp->relay_restart)
        rc = node_pair_relay_restart(p);
    if (sp->roam_client)
        rc = floe_sim_host_roam(p->sim, p->ep[0].host, 0, p->roam_net, &p->roam_ip, sp->dead);
    if (rc == 0 && sp->roam_gateway)
        rc = floe_sim_host_roam(p->sim, p->ep[1].host, 0, p->gw_roam_net, &p->gw_roam_ip, sp->dead);
    if (rc == 0 && sp->idle)
        rc = floe_sim_at(p->sim, at + sp->dead, node_roam_traffic_on, p);
    if (rc == 0 && sp->signal_outage)
        rc = floe_sim_at(p->sim, at + sp->dead + FLOE_SEC(3), node_roam_signal_up, p);
    return rc;
}

/* Whether both sides still use the first session: one handshake each (the runs end long
 * before REKEY_AFTER_TIME, but after an idle period). */
static bool node_roam_session_kept(const struct node_pair *p, const struct node_roam_spec *sp)
{
    struct floe_node_conn_stats st;
    int i;

    for (i = 0; i < 2 && !sp->idle; i++) {
        if (floe_node_conn_stats(p->ep[i].node, p->ep[i].cid, &st) != 0 || st.handshakes != 1)
            return false;
    }
    return true;
}

/* Did e's path change after the roam settled, other than once onto the direct path (ICE's
 * relayed-to-direct upgrade, late under heavy loss)? */
static bool node_roam_flapped(const struct node_ep *e)
{
    return e->late_path_changes > 1 ||
           (e->late_path_changes == 1 && e->late_path_kind != FLOE_NODE_PATH_DIRECT);
}

static void node_roam_judge(const struct node_pair *p, const struct node_roam_spec *sp,
                            floe_time back, struct node_roam_out *out)
{
    floe_time a = p->ep[0].recovered_at, b = p->ep[1].recovered_at;

    out->recovery =
        a == FLOE_TIME_NEVER || b == FLOE_TIME_NEVER ? FLOE_TIME_NEVER : (a > b ? a : b) - back;
    if (p->ep[0].failed_at != FLOE_TIME_NEVER || p->ep[1].failed_at != FLOE_TIME_NEVER)
        out->bad = "a side reported failed";
    else if (p->ep[0].established != 1 || p->ep[1].established != 1)
        out->bad = "the session was not kept (established again)";
    else if (!node_roam_session_kept(p, sp))
        out->bad = "the session was not kept (a new WireGuard handshake)";
    else if (p->ep[0].rx_dups || p->ep[1].rx_dups)
        out->bad = "a packet arrived twice";
    else if (p->ep[0].rx_wrong || p->ep[1].rx_wrong)
        out->bad = "a packet reached the wrong peer";
    else if (sp->relay_restart && floe_sim_relay_server_ports(p->relay) < 2)
        out->bad = "the allocations were not re-made on the restarted relay";
    else if (out->recovery == FLOE_TIME_NEVER)
        out->bad = "no data both ways after the roam";
    else if (out->recovery > sp->budget)
        out->bad = "recovery over budget";
    else if (node_roam_flapped(&p->ep[0]) || node_roam_flapped(&p->ep[1]))
        out->bad = "the path changed after the roam had settled (flapping)";
}

/* From when on the path must stay put: NODE_SETTLE after the network (and signalling) is back.
 * Not after a relay restart: its allocations may take most of the run to come back. */
static floe_time node_roam_settle_at(const struct node_roam_spec *sp, floe_time back)
{
    if (sp->relay_restart)
        return FLOE_TIME_NEVER;
    return back + NODE_SETTLE + (sp->signal_outage ? FLOE_SEC(3) : 0);
}

static int node_roam_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                         uint8_t group, const struct node_roam_spec *sp, struct node_roam_out *out)
{
    /* Up first: a lost initiation costs WireGuard's REKEY_TIMEOUT (5 s), so roam at 12 s. */
    floe_time at = sp->idle ? FLOE_SEC(302) : FLOE_SEC(12), back = at + sp->dead;
    struct node_pair_opts o;
    struct node_pair *p = calloc(1, sizeof(*p));
    int rc;

    if (!p)
        return floe__scen_setup_failed(v, "node run", FLOE_ERR_NOMEM);
    out->bad = NULL;
    out->recovery = FLOE_TIME_NEVER;
    node_pair_opts_default(&o, so);
    o.seed = so->seed * 100 + group;
    o.nat[0] = sp->client;
    o.nat[1] = sp->gateway;
    o.loss = sp->loss;
    o.gw_roam_nat = sp->roam_gateway ? FLOE__SCEN_EIM_ADF : FLOE__SCEN_NAT_KINDS;
    o.v = v;
    o.group = group;
    rc = node_pair_setup(p, &o);
    if (rc == 0) {
        node_pair_traffic(p, FLOE_MS(20), sp->idle ? FLOE_SEC(2) : FLOE_TIME_NEVER);
        rc = floe_sim_run_until(p->sim, at);
    }
    if (rc == 0 && !(p->ep[0].established && p->ep[1].established))
        out->bad = "not up before the roam";
    if (rc == 0)
        rc = node_roam_move(p, sp, at);
    p->ep[0].mark_at = p->ep[1].mark_at = back;
    p->ep[0].settle_at = p->ep[1].settle_at = node_roam_settle_at(sp, back);
    p->ep[0].mark_seq = p->ep[1].seq_tx;
    p->ep[1].mark_seq = p->ep[0].seq_tx;
    if (rc == 0)
        rc = floe_sim_run_until(p->sim, back + FLOE_SEC(15));
    if (rc == 0 && !out->bad)
        node_roam_judge(p, sp, back, out);
    if (rc == 0)
        floe_sim_verdict_add(v, floe_sim_now(p->sim), 0, group,
                             "client %s, gateway %s: data both ways %lld ms after the network "
                             "was back%s%s",
                             floe__scen_nat_name(sp->client), floe__scen_nat_name(sp->gateway),
                             out->recovery == FLOE_TIME_NEVER ? -1LL
                                                              : (long long)NODE_MS(out->recovery),
                             out->bad ? ": " : "", out->bad ? out->bad : "");
    if (rc == 0 && (node_roam_flapped(&p->ep[0]) || node_roam_flapped(&p->ep[1])))
        floe_sim_verdict_add(v, floe_sim_now(p->sim), 0, group,
                             "path changes from %llu ms on: client %u, gateway %u",
                             NODE_MS(p->ep[0].settle_at), (unsigned)p->ep[0].late_path_changes,
                             (unsigned)p->ep[1].late_path_changes);
    node_pair_free(p);
    free(p);
    return rc < 0 ? floe__scen_setup_failed(v, "node run", rc) : 0;
}

/* Run every spec; the verdict names the worst recovery, or the first failing run. */
static int node_roam_all(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                         const struct node_roam_spec *specs, uint8_t count, const char *what)
{
    struct node_roam_out out = {0};
    floe_time worst = 0;
    uint8_t i;
    int rc;

    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: %s", what);
    for (i = 0; i < count; i++) {
        rc = node_roam_run(so, v, i, &specs[i], &out);
        if (rc)
            return rc;
        if (out.bad) {
            floe_sim_verdict_set(v, false, "run %u (client %s, gateway %s): %s", (unsigned)i,
                                 floe__scen_nat_name(specs[i].client),
                                 floe__scen_nat_name(specs[i].gateway), out.bad);
            return 0;
        }
        if (out.recovery > worst)
            worst = out.recovery;
    }
    floe_sim_verdict_set(v, true,
                         "%u run(s), %s: session kept, no failure, every packet at most once, "
                         "data both ways again within %llu ms (budget %llu ms)",
                         (unsigned)count, what, NODE_MS(worst), NODE_MS(specs[0].budget));
    return 0;
}

#define NODE_CELL(c, g)                                                                            \
    {                                                                                              \
        .client = (c), .gateway = (g), .roam_client = true, .dead = FLOE_MS(500), .loss = 0.01,    \
        .budget = FLOE_SEC(2)                                                                      \
    }

int floe__scen_node_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    static const struct node_roam_spec cells[] = {
        NODE_CELL(FLOE__SCEN_NAT_NONE, FLOE__SCEN_NAT_NONE),
        NODE_CELL(FLOE__SCEN_EIM_EIF, FLOE__SCEN_EIM_ADF),
        NODE_CELL(FLOE__SCEN_EIM_ADF, FLOE__SCEN_EIM_APDF),
        NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF),
        NODE_CELL(FLOE__SCEN_ADM_ADF, FLOE__SCEN_EIM_EIF),
        NODE_CELL(FLOE__SCEN_ADM_APDF, FLOE__SCEN_EIM_APDF),
        NODE_CELL(FLOE__SCEN_APDM_APDF, FLOE__SCEN_EIM_ADF),
        NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_APDM_APDF),
        NODE_CELL(FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF),
    };

    return node_roam_all(so, v, cells, sizeof(cells) / sizeof(cells[0]),
                         "client roams at 12 s, 0.5 s dead, NAT cells");
}

int floe__scen_node_gateway_roam(const struct floe_sim_scenario_opts *so,
                                 struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF);

    sp.roam_client = false;
    sp.roam_gateway = true;
    return node_roam_all(so, v, &sp, 1, "gateway roams at 12 s, 0.5 s dead");
}

int floe__scen_node_both_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF);

    sp.roam_gateway = true;
    return node_roam_all(so, v, &sp, 1, "both roam at 12 s, 0.5 s dead");
}

int floe__scen_node_relayed_symmetric(const struct floe_sim_scenario_opts *so,
                                      struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF);

    return node_roam_all(so, v, &sp, 1, "symmetric NATs both sides: relayed, client roams");
}

int floe__scen_node_loss(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF);

    sp.loss = 0.10;
    sp.budget = FLOE_SEC(5);
    return node_roam_all(so, v, &sp, 1, "10 % loss, client roams");
}

int floe__scen_node_idle_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF);

    sp.idle = true;
    return node_roam_all(so, v, &sp, 1, "idle 5 minutes, then the client roams");
}

int floe__scen_node_relay_restart(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF);

    sp.roam_client = false;
    sp.relay_restart = true;
    sp.dead = 0;
    sp.budget = FLOE_SEC(20);
    return node_roam_all(so, v, &sp, 1, "symmetric NATs, the relay in use restarts at 12 s");
}

int floe__scen_node_signal_outage(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v)
{
    struct node_roam_spec sp = NODE_CELL(FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_ADF);

    sp.signal_outage = true;
    sp.budget = FLOE_SEC(5);
    return node_roam_all(so, v, &sp, 1, "signalling down across a roam, held candidates flushed");
}

/* --------------------------------------------------------------- direct path upgrade */

/*
 * node-recheck (issue #13, case 4): UDP between the two NATs is blocked until
 * NODE_RECHECK_OPEN, so the connection comes up relayed and the direct checks fail; the NATs
 * forget a contact after 30 s (Linux conntrack's timeout for unanswered UDP), so by the end of
 * the block the client's NAT no longer lets the gateway's late checks in. The direct path must
 * carry the data within NODE_RECHECK_BUDGET of the block's end (ICE's re-checks back off to
 * 60 s, randomised up to 72 s, plus a few seconds of checks and nomination).
 */
#define NODE_RECHECK_OPEN FLOE_SEC(40)
#define NODE_RECHECK_BUDGET FLOE_SEC(75)
#define NODE_RECHECK_EVERY FLOE_MS(20)

static const struct floe_addr node_recheck_ext[2] = {
    {.family = FLOE_AF_INET, .ip = {198, 51, 100, 1}},
    {.family = FLOE_AF_INET, .ip = {198, 51, 100, 2}},
};

static void node_recheck_unblock(struct floe_sim *sim, void *user)
{
    (void)user;
    (void)floe_sim_block(sim, &node_recheck_ext[0], &node_recheck_ext[1], false);
}

static enum floe_node_path_kind node_path_kind(const struct node_ep *e)
{
    struct floe_node_conn_stats st;

    if (floe_node_conn_stats(e->node, e->cid, &st) != 0)
        return FLOE_NODE_PATH_NONE;
    return st.path.kind;
}

static bool node_direct_pred(struct floe_sim *sim, void *user)
{
    const struct node_pair *p = user;

    (void)sim;
    return node_path_kind(&p->ep[0]) == FLOE_NODE_PATH_DIRECT &&
           node_path_kind(&p->ep[1]) == FLOE_NODE_PATH_DIRECT;
}

/* Sequence numbers in (from, to] that e never received. */
static uint32_t node_missing(const struct node_ep *e, uint32_t from, uint32_t to)
{
    uint32_t seq, n = 0;

    for (seq = from + 1; seq <= to && seq < NODE_EP_SEQ_MAX; seq++) {
        if (!(e->rx_seen[seq / 8] & (1u << (seq % 8))))
            n++;
    }
    return n;
}

/* What went wrong while blocked (NULL: relayed and up, as it should be). */
static const char *node_recheck_blocked(const struct node_pair *p)
{
    int i;

    for (i = 0; i < 2; i++) {
        enum floe_node_path_kind k = node_path_kind(&p->ep[i]);

        if (!p->ep[i].established)
            return "not up while blocked";
        if (k == FLOE_NODE_PATH_NONE || k == FLOE_NODE_PATH_DIRECT)
            return "not on a relayed path while direct UDP was blocked";
    }
    return NULL;
}

/* From 10 s (up) to 1 s before the end (nothing in flight), every packet exactly once. */
static const char *node_recheck_judge(const struct node_pair *p, const uint32_t from[2],
                                      uint32_t *missing)
{
    uint32_t in_flight = (uint32_t)(FLOE_SEC(1) / NODE_RECHECK_EVERY);

    *missing = node_missing(&p->ep[0], from[0], p->ep[1].seq_tx - in_flight) +
               node_missing(&p->ep[1], from[1], p->ep[0].seq_tx - in_flight);
    if (p->ep[0].failed_at != FLOE_TIME_NEVER || p->ep[1].failed_at != FLOE_TIME_NEVER)
        return "a side reported failed";
    if (p->ep[0].established != 1 || p->ep[1].established != 1)
        return "the session was not kept";
    if (p->ep[0].rx_dups || p->ep[1].rx_dups || p->ep[0].rx_wrong || p->ep[1].rx_wrong)
        return "a packet arrived twice or at the wrong peer";
    if (*missing)
        return "packets lost";
    return NULL;
}

static int node_recheck_run(struct node_pair *p, struct floe_sim_verdict *v, floe_time *took,
                            uint32_t *missing, const char **bad)
{
    uint32_t from[2];
    int rc = floe_sim_block(p->sim, &node_recheck_ext[0], &node_recheck_ext[1], true);

    if (rc == 0)
        rc = floe_sim_at(p->sim, NODE_RECHECK_OPEN, node_recheck_unblock, NULL);
    node_pair_traffic(p, NODE_RECHECK_EVERY, FLOE_TIME_NEVER);
    if (rc == 0)
        rc = floe_sim_run_until(p->sim, FLOE_SEC(10));
    from[0] = p->ep[1].seq_tx;
    from[1] = p->ep[0].seq_tx;
    if (rc == 0)
        rc = floe_sim_run_until(p->sim, NODE_RECHECK_OPEN);
    if (rc == 0 && (*bad = node_recheck_blocked(p)) != NULL)
        return 0;
    if (rc == 0)
        rc = floe_sim_run_until_pred(p->sim, node_direct_pred, p,
                                     NODE_RECHECK_OPEN + NODE_RECHECK_BUDGET);
    if (rc < 0)
        return rc;
    *took = rc == 1 ? floe_sim_now(p->sim) - NODE_RECHECK_OPEN : FLOE_TIME_NEVER;
    if (rc == 0)
        *bad = "still relayed at the end of the budget";
    floe_sim_verdict_add(v, floe_sim_now(p->sim), 0, 0,
                         "both sides direct %lld ms after the "
                         "block ended",
                         *took == FLOE_TIME_NEVER ? -1LL : (long long)NODE_MS(*took));
    rc = floe_sim_run_until(p->sim, floe_sim_now(p->sim) + FLOE_SEC(5));
    if (rc == 0 && !*bad)
        *bad = node_recheck_judge(p, from, missing);
    return rc;
}

int floe__scen_node_recheck(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct node_pair_opts o;
    struct node_pair *p = calloc(1, sizeof(*p));
    floe_time took = FLOE_TIME_NEVER;
    uint32_t missing = 0;
    const char *bad = NULL;
    int rc;

    if (!p)
        return floe__scen_setup_failed(v, "node-recheck", FLOE_ERR_NOMEM);
    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: direct UDP blocked 40 s, then open");
    node_pair_opts_default(&o, so);
    o.loss = 0; /* every packet must arrive: the switch to direct loses none */
    o.nat_timeout = FLOE_SEC(30);
    o.v = v;
    rc = node_pair_setup(p, &o);
    if (rc == 0)
        rc = node_recheck_run(p, v, &took, &missing, &bad);
    node_pair_free(p);
    free(p);
    if (rc < 0)
        return floe__scen_setup_failed(v, "node-recheck", rc);
    if (bad)
        floe_sim_verdict_set(v, false, "%s (%u packets missing)", bad, (unsigned)missing);
    else
        floe_sim_verdict_set(v, true,
                             "relayed while blocked, both sides direct %llu ms after the block "
                             "ended (budget %llu ms), no packet lost or duplicated",
                             NODE_MS(took), NODE_MS(NODE_RECHECK_BUDGET));
    return 0;
}
