/*
 * node-scale: one gateway node holds a connection to each of 1,000 client nodes (each on
 * its own host on the public network, 25 ms one way, 5 ms jitter, 1 % loss), every client
 * sends a packet a second and the gateway echoes it back. Every connection must come up
 * and carry data both ways, none may fail, and the gateway's connections stay in one node.
 * scale_run takes the number of clients (10,000 ran by hand: about 4 GB; every scenario of
 * the table has a ctest, so the table keeps 1,000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_ep.h"

#define SCALE_CLIENTS (s->n)
#define SCALE_RUN FLOE_SEC(30)
#define SCALE_ECHOES 5 /* replies each client must have at the end */

struct scale {
    uint32_t n; /* clients */
    struct floe_sim *sim;
    struct node_sig sig;
    struct node_ep gw;
    struct node_ep *cl;
    struct floe_xoshiro *rng;
    uint32_t inet;
};

static int scale_sim(struct scale *s, const struct floe_sim_scenario_opts *so)
{
    struct floe_sim_config sc;
    struct floe_sim_link link = floe_sim_link_default();
    int rc;

    floe_sim_config_default(&sc);
    sc.seed = so->seed;
    sc.transcript = so->transcript;
    sc.transcript_user = so->transcript_user;
    sc.max_hosts = SCALE_CLIENTS + 2;
    sc.max_endpoints = SCALE_CLIENTS + 2;
    sc.max_actions = SCALE_CLIENTS * 16;
    sc.max_packets = SCALE_CLIENTS * 16;
    sc.max_datagram = FLOE_NODE_TRANSMIT_MAX;
    rc = floe_sim_new(&sc, &s->sim);
    link.latency = FLOE_MS(25);
    link.jitter = FLOE_MS(5);
    link.loss = 0.01;
    link.queue_cap = SCALE_CLIENTS * 16;
    if (rc == 0)
        rc = floe_sim_net_add(s->sim, "inet", &link, &s->inet);
    if (rc == 0)
        rc = node_sig_init(&s->sig, s->sim, FLOE_MS(50), SCALE_CLIENTS * 16);
    return rc;
}

static void scale_cfg(const struct scale *s, struct floe_node_config *cfg, struct floe_xoshiro *x,
                      bool gateway)
{
    floe_node_config_default(cfg);
    cfg->rng = floe_xoshiro_rng(x);
    cfg->role = gateway ? FLOE_NODE_GATEWAY : FLOE_NODE_CLIENT;
    cfg->max_connections = gateway ? SCALE_CLIENTS : 1;
    cfg->max_events = gateway ? FLOE_NODE_MAX_EVENTS_LIMIT : 64;
    floe_rng_fill(&cfg->rng, cfg->private_key, sizeof(cfg->private_key));
}

static int scale_nodes(struct scale *s, uint64_t seed)
{
    struct floe_node_config cfg;
    uint32_t i;
    int rc;

    floe_xoshiro_seed(&s->rng[SCALE_CLIENTS], seed);
    scale_cfg(s, &cfg, &s->rng[SCALE_CLIENTS], true);
    s->gw.name = "gateway";
    s->gw.fanout = s->cl;
    s->gw.n_fanout = SCALE_CLIENTS;
    s->gw.echo = true;
    rc = node_ep_start(&s->gw, s->sim, &s->sig, s->inet,
                       &(struct floe_addr){.family = FLOE_AF_INET, .ip = {203, 0, 113, 10}}, &cfg);
    for (i = 0; i < SCALE_CLIENTS && rc == 0; i++) {
        struct floe_addr ip = floe_addr_v4(198, 18, (uint8_t)(i / 250), (uint8_t)(i % 250 + 1), 0);

        floe_xoshiro_seed(&s->rng[i], seed * 7919 + i);
        scale_cfg(s, &cfg, &s->rng[i], false);
        s->cl[i].name = "client";
        s->cl[i].cid = 1; /* each client's id for the gateway */
        s->cl[i].peer = &s->gw;
        s->cl[i].peer_cid = i + 1; /* the gateway's id for it */
        rc = node_ep_start(&s->cl[i], s->sim, &s->sig, s->inet, &ip, &cfg);
    }
    return rc;
}

/* The portal's intent for client i: both sides upserted, credentials crossed. */
static int scale_connect(struct scale *s, uint32_t i)
{
    struct floe_node_conn_config cg, cc;
    struct node_ep *c = &s->cl[i];
    const char *uf, *pw;
    int rc;

    memset(&cg, 0, sizeof(cg));
    memset(&cc, 0, sizeof(cc));
    floe_node_public_key(c->node, cg.public_key);
    floe_node_public_key(s->gw.node, cc.public_key);
    snprintf(cc.remote_ufrag, sizeof(cc.remote_ufrag), "none");
    snprintf(cc.remote_pwd, sizeof(cc.remote_pwd), "none-yet-0000000000000000");
    rc = floe_node_conn_upsert(c->node, 0, 1, &cc);
    if (rc == 0)
        rc = floe_node_conn_local_credentials(c->node, 1, &uf, &pw);
    snprintf(cg.remote_ufrag, sizeof(cg.remote_ufrag), "%s", rc == 0 ? uf : "x");
    snprintf(cg.remote_pwd, sizeof(cg.remote_pwd), "%s", rc == 0 ? pw : "x");
    if (rc == 0)
        rc = floe_node_conn_upsert(s->gw.node, 0, i + 1, &cg);
    if (rc == 0)
        rc = floe_node_conn_local_credentials(s->gw.node, i + 1, &uf, &pw);
    if (rc == 0) {
        snprintf(cc.remote_ufrag, sizeof(cc.remote_ufrag), "%s", uf);
        snprintf(cc.remote_pwd, sizeof(cc.remote_pwd), "%s", pw);
        rc = floe_node_conn_upsert(c->node, 0, 1, &cc);
    }
    node_ep_events(c, 0);
    node_ep_events(&s->gw, 0);
    /* A packet a second from a moment spread over the first second. */
    c->gen_every = FLOE_SEC(1);
    c->gen_next = FLOE_MS(i % 1000);
    c->gen_until = FLOE_TIME_NEVER;
    floe_sim_endpoint_drive(s->sim, c->ep);
    return rc;
}

static void scale_judge(struct scale *s, struct floe_sim_verdict *v)
{
    uint32_t i, up = 0, echoed = 0, failed = 0;
    floe_time last_up = 0;
    struct floe_node_stats ns;

    for (i = 0; i < SCALE_CLIENTS; i++) {
        const struct node_ep *c = &s->cl[i];

        up += c->established == 1;
        echoed += c->rx_packets >= SCALE_ECHOES && !c->rx_wrong && !c->rx_dups;
        failed += c->failed_at != FLOE_TIME_NEVER;
        if (c->established_at != FLOE_TIME_NEVER && c->established_at > last_up)
            last_up = c->established_at;
    }
    floe_node_stats(s->gw.node, &ns);
    floe_sim_verdict_add(v, floe_sim_now(s->sim), 0, 0,
                         "%u clients: %u up (last at %llu ms), %u with echoes, %u failed; "
                         "gateway holds %u connections, %u established",
                         SCALE_CLIENTS, up, (unsigned long long)(last_up / FLOE_MS(1)), echoed,
                         failed, ns.n_connections, s->gw.established);
    if (up == SCALE_CLIENTS && echoed == SCALE_CLIENTS && !failed &&
        s->gw.failed_at == FLOE_TIME_NEVER && ns.n_connections == SCALE_CLIENTS)
        floe_sim_verdict_set(v, true,
                             "%u clients on one gateway: every connection up by %llu ms, data "
                             "both ways on all, none failed",
                             SCALE_CLIENTS, (unsigned long long)(last_up / FLOE_MS(1)));
    else
        floe_sim_verdict_set(v, false, "%u of %u up, %u with echoes, %u failed", up, SCALE_CLIENTS,
                             echoed, failed);
}

static void scale_free(struct scale *s)
{
    uint32_t i;

    for (i = 0; s->cl && i < SCALE_CLIENTS; i++)
        floe_node_free(s->cl[i].node);
    floe_node_free(s->gw.node);
    floe_sim_free(s->sim);
    node_sig_free(&s->sig);
    free(s->cl);
    free(s->rng);
}

static int scale_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                     uint32_t clients)
{
    struct scale st, *s = &st;
    uint32_t i;
    int rc;

    memset(s, 0, sizeof(*s));
    s->n = clients;
    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: %u clients, one gateway", clients);
    s->cl = calloc(SCALE_CLIENTS, sizeof(*s->cl));
    s->rng = calloc(SCALE_CLIENTS + 1, sizeof(*s->rng));
    rc = s->cl && s->rng ? scale_sim(s, so) : FLOE_ERR_NOMEM;
    if (rc == 0)
        rc = scale_nodes(s, so->seed);
    for (i = 0; i < SCALE_CLIENTS && rc == 0; i++)
        rc = scale_connect(s, i);
    if (rc == 0)
        rc = floe_sim_run_until(s->sim, SCALE_RUN);
    if (rc == 0)
        scale_judge(s, v);
    scale_free(s);
    return rc ? floe__scen_setup_failed(v, "node-scale", rc) : 0;
}

int floe__scen_node_scale(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    return scale_run(so, v, 1000);
}
