/*
 * node-setup: connection setup time through the node (issue 13), the portal's timeline played
 * on the simulator: the client's first packet at T (request_authorization), the gateway's
 * connection at T + 50 ms (create_authorization through the portal), the client's at T + 100 ms
 * (authorization_created, with the gateway's candidates sent at T + 50 ms), the client's
 * candidates at the gateway at T + 150 ms; links of 25 ms one way from each host to the
 * internet, the relay in it, no loss and no jitter. The first packet is held until the
 * session is up and the gateway echoes it: first packet to first reply. The floor: the
 * initiation goes out at T + 100 ms, its answer is back at T + 200 ms, the reply to the first
 * packet at T + 300 ms. Waiting for ICE to check and nominate a pair first took 750 ms.
 * Without a relay in common (here: none, the gateway on a public address, 25 ms one way from
 * the client) the client learns the way back from the gateway's first check, at T + 150 ms,
 * and the initiation goes at once: floor T + 250 ms.
 * The optimistic portal answer: the portal answers the client at once with the gateway's
 * candidates from its cache (the client's connection at T + 50 ms), while create_authorization
 * reaches the gateway later (T + 150 ms). The client's initiation reaches the gateway at
 * T + 100 ms, before the gateway has the client: the gateway keeps it and answers right after
 * its upsert (node.h, early initiations), back at T + 200 ms, the reply at T + 300 ms (not
 * after the client's retry REKEY_TIMEOUT, 5 s, later).
 */
#include <stdio.h>
#include <string.h>

#include "node_ep.h"

#define SETUP_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))
/* When the intent comes: both relays answered long before (the devices joined earlier). */
#define SETUP_T FLOE_SEC(1)
/* The margin on top of a case's floor: less than any extra wait (a Ta tick, a round trip). */
#define SETUP_MARGIN FLOE_MS(25)

/*
 * One case: the NATs, whether there is a relay, the floor of first packet -> first reply, and
 * whether the portal answers optimistically (the client first, with cached candidates).
 */
struct setup_case {
    const char *name;
    enum floe__scen_nat client, gateway;
    bool relay;
    floe_time floor;
    bool optimistic;
};

static const struct setup_case setup_cases[] = {
    {"port-restricted NATs, one relay", FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF, true,
     FLOE_MS(300), false},
    {"symmetric NATs, one relay", FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF, true, FLOE_MS(300),
     false},
    {"no relay, the gateway public", FLOE__SCEN_EIM_APDF, FLOE__SCEN_NAT_NONE, false, FLOE_MS(250),
     false},
    {"optimistic answer: the client's initiation before the gateway's connection",
     FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF, true, FLOE_MS(300), true},
};

/* The gateway's candidates as the portal cached them (optimistic answer). */
#define SETUP_CACHE 16

/* The portal's ICE credentials for both sides (ice-chars, RFC 8445 lengths). */
static const char setup_cred[2][2][32] = {
    {"clnt", "clientpassword0000000000"},
    {"gate", "gatewaypassword000000000"},
};

struct setup_run {
    struct node_pair p;
    int rc;
    char cache[SETUP_CACHE][FLOE_ICE_CANDIDATE_STR_MAX];
    uint32_t n_cache;
    bool optimistic;
};

/* The connection of side as the portal describes it: the peer's key, both credentials. */
static void setup_conn_config(struct setup_run *s, int side, struct floe_node_conn_config *cc)
{
    memset(cc, 0, sizeof(*cc));
    floe_node_public_key(s->p.ep[1 - side].node, cc->public_key);
    snprintf(cc->local_ufrag, sizeof(cc->local_ufrag), "%s", setup_cred[side][0]);
    snprintf(cc->local_pwd, sizeof(cc->local_pwd), "%s", setup_cred[side][1]);
    snprintf(cc->remote_ufrag, sizeof(cc->remote_ufrag), "%s", setup_cred[1 - side][0]);
    snprintf(cc->remote_pwd, sizeof(cc->remote_pwd), "%s", setup_cred[1 - side][1]);
}

static void setup_upsert(struct setup_run *s, int side)
{
    struct node_ep *e = &s->p.ep[side];
    floe_time now = floe_sim_now(s->p.sim);
    struct floe_node_conn_config cc;
    int rc;

    setup_conn_config(s, side, &cc);
    rc = floe_node_conn_upsert(e->node, now, e->cid, &cc);
    if (rc && !s->rc)
        s->rc = rc;
    floe_sim_verdict_add(e->v, now, 0, e->group, "%s: connection upserted (%+lld ms)", e->name,
                         (long long)(now / FLOE_MS(1)) - (long long)(SETUP_T / FLOE_MS(1)));
    node_ep_events(e, now);
    floe_sim_endpoint_drive(s->p.sim, e->ep);
}

/* The gateway's candidate events while the portal caches them. */
static void setup_cache_hook(struct node_ep *e, floe_time now, bool invalidate, const char *cand)
{
    struct setup_run *s = e->hook_user;

    (void)now;
    if (!invalidate && s->n_cache < SETUP_CACHE)
        snprintf(s->cache[s->n_cache++], FLOE_ICE_CANDIDATE_STR_MAX, "%s", cand);
}

/* Before the intent: the portal learns the gateway's candidates (an earlier connection). */
static void setup_cache(struct floe_sim *sim, void *user)
{
    struct setup_run *s = user;
    struct node_ep *g = &s->p.ep[1];

    (void)sim;
    g->cand_hook = setup_cache_hook;
    g->hook_user = s;
    setup_upsert(s, 1);
    g->cand_hook = NULL;
    if (floe_node_conn_remove(g->node, floe_sim_now(s->p.sim), g->cid) != 0 && !s->rc)
        s->rc = -1;
}

/* The optimistic answer reaches the client: its connection and the cached candidates. */
static void setup_client_cached(struct floe_sim *sim, void *user)
{
    struct setup_run *s = user;
    struct node_ep *c = &s->p.ep[0];
    floe_time now = floe_sim_now(sim);
    uint32_t i;

    setup_upsert(s, 0);
    for (i = 0; i < s->n_cache; i++)
        (void)floe_node_conn_add_remote_candidate(c->node, now, c->cid, s->cache[i]);
    node_ep_events(c, now);
    floe_sim_endpoint_drive(sim, c->ep);
}

/* create_authorization reaches the gateway. */
static void setup_gateway(struct floe_sim *sim, void *user)
{
    (void)sim;
    setup_upsert(user, 1);
}

/* authorization_created reaches the client (the gateway's candidates with it). */
static void setup_client(struct floe_sim *sim, void *user)
{
    (void)sim;
    setup_upsert(user, 0);
}

/* The client's first packet: request_authorization goes, the packets wait for the session. */
static void setup_first_packet(struct floe_sim *sim, void *user)
{
    struct setup_run *s = user;

    (void)sim;
    s->p.ep[0].gen_every = FLOE_MS(10);
    /* Held by the daemon until the connection exists: handed over right after the upsert. */
    s->p.ep[0].gen_next = SETUP_T + FLOE_MS(s->optimistic ? 51 : 101);
    s->p.ep[0].gen_until = FLOE_TIME_NEVER;
    floe_sim_endpoint_drive(s->p.sim, s->p.ep[0].ep);
}

static bool setup_replied(struct floe_sim *sim, void *user)
{
    const struct setup_run *s = user;

    (void)sim;
    return s->p.ep[0].rx_packets > 0;
}

/* The portal's timeline of case k. */
static int setup_schedule(struct setup_run *s, const struct setup_case *k)
{
    int rc = floe_sim_at(s->p.sim, SETUP_T, setup_first_packet, s);

    if (rc == 0 && k->optimistic)
        rc = floe_sim_at(s->p.sim, SETUP_T - FLOE_MS(300), setup_cache, s);
    if (rc == 0)
        rc = floe_sim_at(s->p.sim, SETUP_T + FLOE_MS(k->optimistic ? 150 : 50), setup_gateway, s);
    if (rc == 0 && k->optimistic)
        rc = floe_sim_at(s->p.sim, SETUP_T + FLOE_MS(50), setup_client_cached, s);
    else if (rc == 0)
        rc = floe_sim_at(s->p.sim, SETUP_T + FLOE_MS(100), setup_client, s);
    return rc;
}

/* One run of case k; *took is first packet -> first reply (NEVER: none). */
static int setup_one(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                     uint8_t group, const struct setup_case *k, floe_time *took)
{
    struct node_pair_opts o;
    struct setup_run s;
    int rc;

    node_pair_opts_default(&o, so);
    o.seed = so->seed * 10 + group;
    o.nat[0] = k->client;
    o.nat[1] = k->gateway;
    o.relay = k->relay;
    o.jitter = 0;
    o.loss = 0;
    o.sig_delay = FLOE_MS(50); /* device -> portal -> device: 25 ms each way */
    o.no_connect = true;
    o.v = v;
    o.group = group;
    memset(&s, 0, sizeof(s));
    s.optimistic = k->optimistic;
    rc = node_pair_setup(&s.p, &o);
    s.p.ep[1].echo = true;
    if (rc == 0) /* the gateway's relay allocates now, as a daemon's does when it starts */
        rc = floe_sim_endpoint_drive(s.p.sim, s.p.ep[1].ep);
    if (rc == 0)
        rc = setup_schedule(&s, k);
    if (rc == 0)
        rc = floe_sim_run_until_pred(s.p.sim, setup_replied, &s, SETUP_T + FLOE_SEC(10));
    *took = rc == 1 ? floe_sim_now(s.p.sim) - SETUP_T : FLOE_TIME_NEVER;
    if (rc >= 0)
        rc = s.rc;
    node_pair_free(&s.p);
    return rc < 0 ? floe__scen_setup_failed(v, "node-setup run", rc) : 0;
}

int floe__scen_node_setup(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    uint8_t i, n = sizeof(setup_cases) / sizeof(setup_cases[0]);
    floe_time took;
    int rc;

    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "node: first packet -> first reply");
    for (i = 0; i < n; i++) {
        const struct setup_case *k = &setup_cases[i];

        floe_sim_verdict_add(v, 0, 0, i, "%s", k->name);
        rc = setup_one(so, v, i, k, &took);
        if (rc)
            return rc;
        if (took == FLOE_TIME_NEVER) {
            floe_sim_verdict_set(v, false, "%s: no reply within 10 s", k->name);
            return 0;
        }
        floe_sim_verdict_add(v, SETUP_T + took, 0, i,
                             "=> first reply %llu ms after the first packet (floor %llu ms)",
                             SETUP_MS(took), SETUP_MS(k->floor));
        if (took > k->floor + SETUP_MARGIN) {
            floe_sim_verdict_set(v, false,
                                 "%s: first reply %llu ms after the first packet (floor %llu ms, "
                                 "bound %llu ms)",
                                 k->name, SETUP_MS(took), SETUP_MS(k->floor),
                                 SETUP_MS(k->floor + SETUP_MARGIN));
            return 0;
        }
    }
    floe_sim_verdict_set(v, true,
                         "%u cases: first packet -> first reply within %llu ms of each floor "
                         "(300 ms through the relay, also when the client's initiation "
                         "reaches the gateway before its connection; 250 ms direct to a "
                         "public gateway)",
                         n, SETUP_MS(SETUP_MARGIN));
    return 0;
}
