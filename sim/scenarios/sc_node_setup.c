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
 * The early answer (docs/protocol.md): the portal answers the client at once with the
 * gateway's announced candidates (floe_node_local_candidates), so the client's connection and
 * the gateway's both exist at T + 50 ms; through a relay in common the initiation goes then:
 * floor T + 250 ms. When the portal's copy is stale (the gateway allocated again since: here
 * its relayed port is off by one), the gateway's own candidates at T + 100 ms move the
 * initiation to its new relayed address: the floor without the early answer, T + 300 ms.
 * A client that starts with the intent (its addresses and relay at T) has its allocation at
 * T + 100 ms (two round trips to the relay), after the early answer: the initiation goes then
 * (floor T + 300 ms), not after the permission's round trip or the gateway's first check.
 * When create_authorization reaches the gateway after the client's initiation (here at
 * T + 150 ms, the initiation at T + 100 ms), the gateway keeps the initiation and answers it
 * right after its upsert (node.h, early initiations): floor T + 300 ms, not the client's retry
 * REKEY_TIMEOUT (5 s) later.
 */
#include <stdio.h>
#include <string.h>

#include "node_ep.h"

#define SETUP_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))
/* When the intent comes: both relays answered long before (the devices joined earlier). */
#define SETUP_T FLOE_SEC(1)
/* The margin on top of a case's floor: less than any extra wait (a Ta tick, a round trip). */
#define SETUP_MARGIN FLOE_MS(25)
/* The gateway's own candidates an early answer carries at most (the portal's bound). */
#define SETUP_CANDS_MAX 32

/* One case: the NATs, whether there is a relay, the floor of first packet -> first reply. */
struct setup_case {
    const char *name;
    enum floe__scen_nat client, gateway;
    bool relay;
    bool early; /* the portal's early answer: the client's connection at T + 50 ms */
    bool stale; /* ... with the gateway's relayed candidate of an allocation gone */
    bool fresh; /* the client starts at T: its relay is allocated at T + 100 ms */
    bool late;  /* create_authorization reaches the gateway at T + 150 ms */
    floe_time floor;
};

/* name, client NAT, gateway NAT, relay, early, stale, fresh, late, floor */
static const struct setup_case setup_cases[] = {
    {"port-restricted NATs, one relay", FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF, true, false,
     false, false, false, FLOE_MS(300)},
    {"symmetric NATs, one relay", FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF, true, false, false,
     false, false, FLOE_MS(300)},
    {"no relay, the gateway public", FLOE__SCEN_EIM_APDF, FLOE__SCEN_NAT_NONE, false, false, false,
     false, false, FLOE_MS(250)},
    {"port-restricted NATs, one relay, early answer", FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF,
     true, true, false, false, false, FLOE_MS(250)},
    {"symmetric NATs, one relay, early answer", FLOE__SCEN_APDM_APDF, FLOE__SCEN_APDM_APDF, true,
     true, false, false, false, FLOE_MS(250)},
    {"port-restricted NATs, one relay, early answer out of date", FLOE__SCEN_EIM_APDF,
     FLOE__SCEN_EIM_APDF, true, true, true, false, false, FLOE_MS(300)},
    {"port-restricted NATs, one relay, early answer, the client started with the intent",
     FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF, true, true, false, true, false, FLOE_MS(300)},
    {"port-restricted NATs, one relay, early answer, the initiation before the gateway's "
     "connection",
     FLOE__SCEN_EIM_APDF, FLOE__SCEN_EIM_APDF, true, true, false, false, true, FLOE_MS(300)},
};

/* The portal's ICE credentials for both sides (ice-chars, RFC 8445 lengths). */
static const char setup_cred[2][2][32] = {
    {"clnt", "clientpassword0000000000"},
    {"gate", "gatewaypassword000000000"},
};

struct setup_run {
    struct node_pair p;
    bool early, stale, fresh;
    int rc;
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
    floe_sim_verdict_add(e->v, now, 0, e->group, "%s: connection upserted (+%llu ms)", e->name,
                         SETUP_MS(now - SETUP_T));
    node_ep_events(e, now);
    floe_sim_endpoint_drive(s->p.sim, e->ep);
}

/* create_authorization reaches the gateway. */
static void setup_gateway(struct floe_sim *sim, void *user)
{
    (void)sim;
    setup_upsert(user, 1);
}

/* The early answer's candidates: the gateway's own, as it announced them to the portal. */
static void setup_early_candidates(struct setup_run *s)
{
    char cands[SETUP_CANDS_MAX][FLOE_ICE_CANDIDATE_STR_MAX];
    struct node_ep *e = &s->p.ep[0];
    floe_time now = floe_sim_now(s->p.sim);
    size_t n = floe_node_local_candidates(s->p.ep[1].node, cands, SETUP_CANDS_MAX);

    floe_sim_verdict_add(e->v, now, 0, e->group, "%s: %llu candidates of the gateway (early)",
                         e->name, (unsigned long long)n);
    if (n == 0 && !s->rc)
        s->rc = FLOE_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        struct floe_ice_candidate c;

        if (s->stale && floe_ice_candidate_parse(cands[i], &c) == 0 && c.type == FLOE_ICE_RELAY) {
            c.addr.port++;
            (void)floe_ice_candidate_format(&c, cands[i], sizeof(cands[i]));
        }
        (void)floe_node_conn_add_remote_candidate(e->node, now, e->cid, cands[i]);
    }
    node_ep_events(e, now);
    floe_sim_endpoint_drive(s->p.sim, e->ep);
}

/* authorization_created reaches the client (the gateway's candidates with it). */
static void setup_client(struct floe_sim *sim, void *user)
{
    struct setup_run *s = user;

    (void)sim;
    setup_upsert(s, 0);
    if (s->early)
        setup_early_candidates(s);
}

/* The client's first packet: request_authorization goes, the packets wait for the session. */
static void setup_first_packet(struct floe_sim *sim, void *user)
{
    struct setup_run *s = user;
    int rc;

    (void)sim;
    if (s->fresh && (rc = node_pair_client_hosts(&s->p)) != 0 && !s->rc)
        s->rc = rc;
    s->p.ep[0].gen_every = FLOE_MS(10);
    /* Held by the daemon until the connection exists: handed over right after the upsert. */
    s->p.ep[0].gen_next = SETUP_T + (s->early ? FLOE_MS(51) : FLOE_MS(101));
    s->p.ep[0].gen_until = FLOE_TIME_NEVER;
    floe_sim_endpoint_drive(s->p.sim, s->p.ep[0].ep);
}

static bool setup_replied(struct floe_sim *sim, void *user)
{
    const struct setup_run *s = user;

    (void)sim;
    return s->p.ep[0].rx_packets > 0;
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
    o.late_client_hosts = k->fresh;
    o.v = v;
    o.group = group;
    memset(&s, 0, sizeof(s));
    s.early = k->early;
    s.stale = k->stale;
    s.fresh = k->fresh;
    rc = node_pair_setup(&s.p, &o);
    s.p.ep[1].echo = true;
    if (rc == 0) /* the gateway's relay allocates now, as a daemon's does when it starts */
        rc = floe_sim_endpoint_drive(s.p.sim, s.p.ep[1].ep);
    if (rc == 0)
        rc = floe_sim_at(s.p.sim, SETUP_T, setup_first_packet, &s);
    if (rc == 0)
        rc = floe_sim_at(s.p.sim, SETUP_T + (k->late ? FLOE_MS(150) : FLOE_MS(50)), setup_gateway,
                         &s);
    if (rc == 0)
        rc = floe_sim_at(s.p.sim, SETUP_T + (k->early ? FLOE_MS(50) : FLOE_MS(100)), setup_client,
                         &s);
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
                         "(300 ms through the relay, 250 ms direct to a public gateway or "
                         "through the relay with the portal's early answer)",
                         n, SETUP_MS(SETUP_MARGIN));
    return 0;
}
