/*
 * What every ICE scenario shares: verdicts and their timelines, the two-peer
 * topology (a public network with a STUN server, each peer on its own LAN
 * behind a NAT of the wanted kind or directly on the public network), and
 * the table of scenarios.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node_ep.h"
#include "portal_sim.h"
#include "scen_int.h"

void floe_sim_verdict_init(struct floe_sim_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->n_lanes = 1;
    snprintf(v->reason, sizeof(v->reason), "not run");
}

void floe_sim_verdict_add(struct floe_sim_verdict *v, floe_time at, uint8_t lane, uint8_t group,
                          const char *fmt, ...)
{
    struct floe_sim_tl_entry *e;
    va_list ap;

    if (!v)
        return;
    if (v->n_tl == FLOE_SIM_TL_MAX) {
        v->tl_dropped++;
        return;
    }
    e = &v->tl[v->n_tl++];
    e->at = at;
    e->lane = lane;
    e->group = group;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
}

static bool scen_tl_before(const struct floe_sim_tl_entry *a, const struct floe_sim_tl_entry *b)
{
    return a->group < b->group || (a->group == b->group && a->at < b->at);
}

void floe_sim_verdict_sort(struct floe_sim_verdict *v)
{
    struct floe_sim_tl_entry tmp;
    size_t i, j;

    /* Insertion sort: stable, and the timelines are short and nearly sorted. */
    for (i = 1; i < v->n_tl; i++) {
        tmp = v->tl[i];
        for (j = i; j > 0 && scen_tl_before(&tmp, &v->tl[j - 1]); j--)
            v->tl[j] = v->tl[j - 1];
        v->tl[j] = tmp;
    }
}

void floe_sim_verdict_outage(struct floe_sim_verdict *v, floe_time outage)
{
    if (v && v->n_outages < FLOE_SIM_OUTAGES)
        v->outages[v->n_outages++] = outage;
}

void floe_sim_verdict_set(struct floe_sim_verdict *v, bool pass, const char *fmt, ...)
{
    va_list ap;

    v->pass = pass;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

int floe__scen_setup_failed(struct floe_sim_verdict *v, const char *what, int rc)
{
    floe_sim_verdict_set(v, false, "setup failed: %s: %s", what, floe_strerror(rc));
    return rc;
}

void floe__scen_opts_default(struct floe__scen_opts *o, const struct floe_sim_scenario_opts *so)
{
    static const char *const names[2] = {"client", "gateway"};
    int i;

    memset(o, 0, sizeof(*o));
    o->seed = so ? so->seed : 1;
    o->transcript = so ? so->transcript : NULL;
    o->transcript_user = so ? so->transcript_user : NULL;
    o->latency = FLOE_MS(10);
    o->jitter = FLOE_MS(5);
    o->reorder = 0.01;
    o->loss = 0.01;
    o->lan_loss = 0.01;
    o->sig_delay = FLOE_MS(20);
    o->sig_jitter = FLOE_MS(10);
    o->nat_timeout[FLOE__SCEN_CLIENT] = FLOE_SEC(120);
    o->nat_timeout[FLOE__SCEN_GATEWAY] = FLOE_SEC(30);
    o->roam_nat = FLOE__SCEN_NAT_KINDS;
    o->roam_nat_timeout = FLOE_SEC(30);
    for (i = 0; i < 2; i++) {
        struct floe_sim_ice_ep_config *c = &o->ep[i];

        floe_sim_ice_ep_config_default(c);
        c->name = names[i];
        c->id = (uint8_t)(i + 1);
        c->stun = floe_addr_v4(203, 0, 113, 1, 3478);
        c->ice.role = i == 0 ? FLOE_ICE_CONTROLLING : FLOE_ICE_CONTROLLED;
        floe_ice_config_profile(&c->ice,
                                i == 0 ? FLOE_ICE_PROFILE_CLIENT : FLOE_ICE_PROFILE_GATEWAY);
    }
}

void floe__scen_opts_relay(struct floe__scen_opts *o)
{
    o->relay = true;
    floe_sim_relay_config_default(&o->relay_cfg);
    o->ep[0].relay = o->ep[1].relay = floe_addr_v4(203, 0, 113, 2, 3478);
}

void floe__scen_opts_timeline(struct floe__scen_opts *o, struct floe_sim_verdict *v, uint8_t lane,
                              uint8_t group)
{
    int i;

    for (i = 0; i < 2; i++) {
        o->ep[i].timeline = v;
        o->ep[i].lane = lane;
        o->ep[i].group = group;
    }
}

void floe__scen_nat_config(enum floe__scen_nat kind, floe_time timeout,
                           struct floe_sim_nat_config *c)
{
    static const enum floe_sim_nat_kind map[FLOE__SCEN_NAT_KINDS][2] = {
        [FLOE__SCEN_EIM_EIF] = {FLOE_SIM_NAT_ENDPOINT_INDEPENDENT,
                                FLOE_SIM_NAT_ENDPOINT_INDEPENDENT},
        [FLOE__SCEN_EIM_ADF] = {FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, FLOE_SIM_NAT_ADDRESS_DEPENDENT},
        [FLOE__SCEN_EIM_APDF] = {FLOE_SIM_NAT_ENDPOINT_INDEPENDENT,
                                 FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT},
        [FLOE__SCEN_ADM_ADF] = {FLOE_SIM_NAT_ADDRESS_DEPENDENT, FLOE_SIM_NAT_ADDRESS_DEPENDENT},
        [FLOE__SCEN_ADM_APDF] = {FLOE_SIM_NAT_ADDRESS_DEPENDENT,
                                 FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT},
        [FLOE__SCEN_APDM_APDF] = {FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT,
                                  FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT},
    };

    floe_sim_nat_config_default(c);
    c->mapping = map[kind][0];
    c->filtering = map[kind][1];
    if (timeout)
        c->mapping_timeout = timeout;
}

/*
 * A new LAN named lan-<name> behind a NAT of kind (binding timeout `timeout`, 0:
 * the default) with external address ext on inet.
 */
static int scen_lan(struct floe_sim *sim, uint32_t inet, const char *name, enum floe__scen_nat kind,
                    floe_time timeout, const struct floe_sim_link *link,
                    const struct floe_addr *ext, uint32_t *lan)
{
    struct floe_sim_nat_config nc;
    char nm[FLOE_SIM_NAME_MAX];
    uint32_t nat;
    int rc;

    snprintf(nm, sizeof(nm), "lan-%s", name);
    rc = floe_sim_net_add(sim, nm, link, lan);
    floe__scen_nat_config(kind, timeout, &nc);
    snprintf(nm, sizeof(nm), "nat-%s", name);
    if (rc == 0)
        rc = floe_sim_nat_add(sim, nm, &nc, *lan, inet, ext, &nat);
    return rc;
}

/*
 * A host named name: at ext on the public network when kind is none, else at
 * lan_ip on its own LAN behind a NAT of that kind whose external address is
 * ext. *lan is the host's network.
 */
static int scen_place(struct floe_sim *sim, uint32_t inet, const char *name,
                      enum floe__scen_nat kind, floe_time timeout, const struct floe_sim_link *link,
                      const struct floe_addr *lan_ip, const struct floe_addr *ext, uint32_t *host,
                      uint32_t *lan)
{
    uint32_t iface;
    int rc = floe_sim_host_add(sim, name, host);

    if (rc != 0)
        return rc;
    if (kind == FLOE__SCEN_NAT_NONE) {
        *lan = inet;
        return floe_sim_host_add_addr(sim, *host, inet, ext, &iface);
    }
    rc = scen_lan(sim, inet, name, kind, timeout, link, ext, lan);
    if (rc == 0)
        rc = floe_sim_host_add_addr(sim, *host, *lan, lan_ip, &iface);
    return rc;
}

static int scen_make_sim(struct floe__scen_pair *p, const struct floe__scen_opts *o)
{
    struct floe_sim_config sc;

    floe_sim_config_default(&sc);
    sc.seed = o->seed;
    sc.transcript = o->transcript;
    sc.transcript_user = o->transcript_user;
    sc.check = o->check;
    sc.check_user = o->check_user;
    sc.max_actions = 8192;
    sc.max_packets = 8192;
    return floe_sim_new(&sc, &p->sim);
}

/* The relay host on the public network, when wanted. */
static int scen_relay(struct floe__scen_pair *p, const struct floe__scen_opts *o)
{
    struct floe_addr ip = o->ep[0].relay;
    uint32_t host, iface;
    int rc;

    if (!o->relay)
        return 0;
    rc = floe_sim_host_add(p->sim, "relay", &host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(p->sim, host, p->inet, &ip, &iface);
    if (rc == 0)
        rc = floe_sim_relay_server_new(p->sim, host, &ip, &o->relay_cfg, &p->relay);
    return rc;
}

/* The public network, the STUN server and relay on it, and the roam network if wanted. */
static int scen_core(struct floe__scen_pair *p, const struct floe__scen_opts *o,
                     const struct floe_sim_link *lan)
{
    struct floe_sim_link inet = *lan;
    struct floe_addr ip = floe_addr_v4(203, 0, 113, 1, 3478), ext;
    uint32_t host, iface, ep;
    int rc;

    inet.loss = o->loss;
    rc = floe_sim_net_add(p->sim, "internet", &inet, &p->inet);
    if (rc == 0)
        rc = floe_sim_host_add(p->sim, "stun", &host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(p->sim, host, p->inet, &ip, &iface);
    floe_sim_stun_server_init(&p->stun);
    if (rc == 0)
        rc = floe_sim_attach(p->sim, host, &ip, "stun", &floe_sim_stun_server_ops, &p->stun, &ep);
    if (rc == 0)
        rc = scen_relay(p, o);
    if (rc != 0 || o->roam_nat == FLOE__SCEN_NAT_KINDS)
        return rc;
    ext = floe_addr_v4(198, 51, 100, 30, 0);
    p->roam_ip = o->roam_nat == FLOE__SCEN_NAT_NONE ? ext : floe_addr_v4(10, 3, 0, 2, 0);
    if (o->roam_nat == FLOE__SCEN_NAT_NONE) {
        p->roam_net = p->inet;
        return 0;
    }
    return scen_lan(p->sim, p->inet, "roam", o->roam_nat, o->roam_nat_timeout, lan, &ext,
                    &p->roam_net);
}

int floe__scen_pair_setup(struct floe__scen_pair *p, const struct floe__scen_opts *o)
{
    struct floe_sim_link link = floe_sim_link_default();
    int rc, i;

    memset(p, 0, sizeof(*p));
    link.latency = o->latency;
    link.jitter = o->jitter;
    link.reorder = o->reorder;
    link.loss = o->lan_loss;
    rc = scen_make_sim(p, o);
    if (rc == 0)
        rc = scen_core(p, o, &link);
    for (i = 0; i < 2 && rc == 0; i++) {
        struct floe_addr lan_ip = floe_addr_v4(10, (uint8_t)(i + 1), 0, 2, 0);
        struct floe_addr ext = floe_addr_v4(198, 51, 100, (uint8_t)(10 + i), 0);

        rc = scen_place(p->sim, p->inet, o->ep[i].name, o->nat[i], o->nat_timeout[i], &link,
                        &lan_ip, &ext, &p->host[i], &p->lan[i]);
        if (rc == 0)
            rc = floe_sim_ice_ep_new(p->sim, p->host[i], &o->ep[i], &p->ep[i]);
    }
    if (rc == 0)
        rc = floe_sim_signal_new(p->sim, NULL, 512, o->sig_delay, o->sig_jitter, &p->sig);
    if (rc == 0)
        rc = floe_sim_ice_ep_pair(p->ep[0], p->ep[1], p->sig);
    for (i = 0; i < 2 && rc == 0; i++)
        rc = floe_sim_ice_ep_start(p->ep[i]);
    return rc;
}

void floe__scen_pair_free(struct floe__scen_pair *p)
{
    floe_sim_ice_ep_free(p->ep[0]);
    floe_sim_ice_ep_free(p->ep[1]);
    floe_sim_signal_free(p->sig);
    floe_sim_free(p->sim);
    floe_sim_relay_server_free(p->relay);
    memset(p, 0, sizeof(*p));
}

static bool scen_both_up(struct floe_sim *sim, void *user)
{
    struct floe__scen_pair *p = user;

    (void)sim;
    return floe_sim_ice_ep_is_up(p->ep[0]) && floe_sim_ice_ep_is_up(p->ep[1]);
}

int floe__scen_run_until_up(struct floe__scen_pair *p, floe_time limit)
{
    return floe_sim_run_until_pred(p->sim, scen_both_up, p, limit);
}

static const struct floe_sim_scenario scen_table[] = {
    {"nat-matrix",
     "both peers behind each RFC 4787 NAT kind: direct where possible, the rest need a relay",
     floe__scen_nat_matrix, false},
    {"nat-matrix-relay",
     "the NAT matrix with a TURN relay: every cell connects, direct where possible, else relayed",
     floe__scen_nat_matrix_relay, false},
    {"relay-only",
     "both peers behind symmetric NATs gather relayed candidates only: connect through the relay",
     floe__scen_relay_only, false},
    {"roam-race",
     "connected, client roams and resets, its candidates 50 ms..1.9 s after the gateway's: "
     "grace 2 s recovers, grace 0 fails falsely",
     floe__scen_roam_race, false},
    {"consent-loss",
     "peer blackholed: disconnected, failed after exactly the grace; back in time: recovers",
     floe__scen_consent_loss, false},
    {"roam-mid-session", "client moves to another network and NAT mid-transfer; time to new pair",
     floe__scen_roam_mid_session, false},
    {"role-conflict-lossy",
     "both controlling, 10 % loss, 300 ms RTT, 50 candidates per side: connects",
     floe__scen_role_conflict, false},
    {"property", "random seeded topologies, NATs, loss <= 20 %, candidate order: no false failure",
     floe__scen_property, false},
    {"node-roam-race",
     "the seed's race through the node: gateway's candidates first, none local, 50..1900 ms",
     floe__scen_node_roam_race, false},
    {"node-roam", "client roams mid-transfer through the node, NAT cells: session kept, data again",
     floe__scen_node_roam, false},
    {"node-gateway-roam", "the gateway roams mid-transfer: the client follows, session kept",
     floe__scen_node_gateway_roam, false},
    {"node-both-roam", "client and gateway roam at once: session kept, data again",
     floe__scen_node_both_roam, false},
    {"node-relayed-symmetric", "symmetric NATs on both sides: relayed through the node, roam",
     floe__scen_node_relayed_symmetric, false},
    {"node-loss", "10 % loss: the node connects, roams and carries data", floe__scen_node_loss,
     false},
    {"node-setup",
     "portal's timeline, 25 ms links: first packet -> first reply within 25 ms of the floor",
     floe__scen_node_setup, false},
    {"node-idle-roam", "5 minutes idle, then the client roams: data flows again at once",
     floe__scen_node_idle_roam, false},
    {"node-signal-outage", "signalling down across a roam: candidates held, flushed on reconnect",
     floe__scen_node_signal_outage, false},
    {"node-portal-outage",
     "the real portal protocol client: portal down across a client roam, no candidate lost",
     floe__scen_node_portal_outage, false},
    {"node-relay-restart",
     "the relay in use restarts: allocations re-made, the session kept, data again",
     floe__scen_node_relay_restart, false},
    {"node-recheck",
     "direct UDP blocked 40 s: relayed, then direct within the re-check interval, no loss",
     floe__scen_node_recheck, false},
    {"node-scale", "1,000 client nodes on one gateway node: every connection up, data both ways",
     floe__scen_node_scale, false},
    {"node-prop",
     "random topologies, roams, outages, idle: no false failure, exactly once; recovery p50/p99",
     floe__scen_node_prop, true},
    {"node-prop-links",
     "node-prop on the issue's links (25 ms one way, 5 ms jitter, 1 % loss): recovery p50/p99",
     floe__scen_node_prop_links, true},
};

const struct floe_sim_scenario *floe_sim_scenarios(size_t *n)
{
    if (n)
        *n = sizeof(scen_table) / sizeof(scen_table[0]);
    return scen_table;
}

const struct floe_sim_scenario *floe_sim_scenario_find(const char *name)
{
    size_t i, n;
    const struct floe_sim_scenario *t = floe_sim_scenarios(&n);

    for (i = 0; name && i < n; i++) {
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    }
    return NULL;
}
