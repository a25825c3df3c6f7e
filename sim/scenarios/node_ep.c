/*
 * The node endpoint (node_ep.h): a floe_node driven by the simulator, its traffic
 * generator, the signalling channel between two nodes and the two-node topology.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_ep.h"
#include "sim_int.h"

#define NODE_EP_PORT 51820
#define NODE_EP_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))

/* ------------------------------------------------------------ signalling */

static void sig_deliver(struct floe_sim *sim, void *user)
{
    struct node_sig_msg *m = user;
    struct node_ep *to = m->to;
    floe_time now = floe_sim_now(sim);

    if (m->remove)
        (void)floe_node_conn_remove_remote_candidate(to->node, now, m->cid, m->cand);
    else
        (void)floe_node_conn_add_remote_candidate(to->node, now, m->cid, m->cand);
    m->used = false;
    floe_sim_endpoint_drive(sim, to->ep);
}

int node_sig_init(struct node_sig *s, struct floe_sim *sim, floe_time delay, uint32_t n)
{
    memset(s, 0, sizeof(*s));
    s->sim = sim;
    s->delay = delay;
    s->pool = calloc(n, sizeof(*s->pool));
    s->held = calloc(n, sizeof(*s->held));
    s->pool_n = n;
    return s->pool && s->held ? 0 : FLOE_ERR_NOMEM;
}

void node_sig_free(struct node_sig *s)
{
    free(s->pool);
    free(s->held);
    memset(s, 0, sizeof(*s));
}

/* A free message slot (round robin from the last one taken), or NULL. */
static struct node_sig_msg *sig_slot(struct node_sig *s)
{
    uint32_t i;

    for (i = 0; i < s->pool_n; i++) {
        struct node_sig_msg *m = &s->pool[(s->next + i) % s->pool_n];

        if (!m->used) {
            s->next = (s->next + i + 1) % s->pool_n;
            return m;
        }
    }
    return NULL;
}

static void sig_send(struct node_sig *s, struct node_ep *to, uint64_t cid, const char *cand,
                     bool remove)
{
    struct node_sig_msg *m = sig_slot(s);

    if (!m) {
        s->lost++;
        return;
    }
    m->used = true;
    m->to = to;
    m->cid = cid;
    m->remove = remove;
    snprintf(m->cand, sizeof(m->cand), "%s", cand);
    s->sent++;
    if (s->down) {
        s->held[s->n_held++] = m;
        return;
    }
    if (floe_sim_at(s->sim, floe_sim_now(s->sim) + s->delay, sig_deliver, m) != 0) {
        m->used = false;
        s->lost++;
    }
}

/* ------------------------------------------------------------- the endpoint */

static void ep_note(struct node_ep *e, floe_time now, const char *what)
{
    floe_sim_verdict_add(e->v, now, e->lane, e->group, "%s: %s", e->name, what);
}

static void ep_event(struct node_ep *e, floe_time now, const struct floe_node_event *ev)
{
    char line[FLOE_SIM_TL_TEXT];

    switch (ev->type) {
    case FLOE_NODE_EV_CANDIDATE_NEW:
    case FLOE_NODE_EV_CANDIDATE_INVALIDATED:
        if (e->cand_hook)
            e->cand_hook(e, now, ev->type != FLOE_NODE_EV_CANDIDATE_NEW, ev->u.candidate);
        else if (e->fanout && ev->cid >= 1 && ev->cid <= e->n_fanout)
            sig_send(e->sig, &e->fanout[ev->cid - 1], e->fanout[ev->cid - 1].cid, ev->u.candidate,
                     ev->type != FLOE_NODE_EV_CANDIDATE_NEW);
        else if (e->peer)
            sig_send(e->sig, e->peer, e->peer_cid, ev->u.candidate,
                     ev->type != FLOE_NODE_EV_CANDIDATE_NEW);
        break;
    case FLOE_NODE_EV_ESTABLISHED:
        e->established++;
        if (e->established_at == FLOE_TIME_NEVER)
            e->established_at = now;
        ep_note(e, now, "established (WireGuard session up)");
        break;
    case FLOE_NODE_EV_PATH_CHANGED:
        e->path_changes++;
        if (e->settle_at != FLOE_TIME_NEVER && now >= e->settle_at) {
            e->late_path_changes++;
            e->late_path_kind = ev->u.path.kind;
        }
        if (e->quiet_paths)
            break;
        snprintf(line, sizeof(line), "path %s", floe_node_path_kind_name(ev->u.path.kind));
        ep_note(e, now, line);
        break;
    case FLOE_NODE_EV_FAILED:
        if (e->failed_at == FLOE_TIME_NEVER) {
            e->failed_at = now;
            e->fail_reason = ev->u.reason;
        }
        ep_note(e, now, "FAILED");
        break;
    default:
        break;
    }
}

void node_ep_events(struct node_ep *e, floe_time now)
{
    struct floe_node_event ev;

    while (floe_node_poll_event(e->node, &ev) == 1)
        ep_event(e, now, &ev);
}

/* Queue one numbered packet for connection cid (sequence seq, the sender's mark). */
static void ep_send(struct node_ep *e, floe_time now, uint64_t cid, uint32_t seq)
{
    uint8_t pkt[NODE_EP_PKT];
    struct floe_node_transmit tr;
    struct node_ep_out *o;
    long n;

    memset(pkt, 0, sizeof(pkt));
    pkt[0] = 0x45;
    floe_store_be16(pkt + 2, NODE_EP_PKT);
    pkt[8] = 64;
    pkt[9] = 17;
    floe_store_be32(pkt + 20, seq);
    pkt[24] = (uint8_t)(e->name[0] == 'c' ? 1 : 2); /* side + 1 */
    if (e->q_len == NODE_EP_QUEUE)
        return;
    o = &e->q[(e->q_head + e->q_len) % NODE_EP_QUEUE];
    n = floe_node_encapsulate(e->node, now, cid, pkt, sizeof(pkt), o->buf, sizeof(o->buf), &tr);
    if (n <= 0)
        return;
    o->len = (size_t)n;
    o->from = tr.local;
    o->to = tr.to;
    e->q_len++;
}

static void ep_rx(struct node_ep *e, floe_time now, uint64_t cid, const uint8_t *pkt, size_t len)
{
    uint32_t seq;

    if (len < 24)
        return;
    seq = floe_load_be32(pkt + 20);
    e->rx_packets++;
    if (pkt[24] != (e->name[0] == 'c' ? 2 : 1)) /* the other side's mark */
        e->rx_wrong++;
    if (e->echo) {
        ep_send(e, now, cid, seq); /* sequence spaces are per client: no duplicate check */
        return;
    }
    if (seq < NODE_EP_SEQ_MAX) {
        if (e->rx_seen[seq / 8] & (1u << (seq % 8)))
            e->rx_dups++;
        e->rx_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    }
    e->last_rx_at = now;
    if (e->mark_at != FLOE_TIME_NEVER && now >= e->mark_at && seq > e->mark_seq &&
        e->recovered_at == FLOE_TIME_NEVER)
        e->recovered_at = now;
}

/* Allocate requests out, and their answers in, after the mark (node-prop's slow roams). */
static void ep_note_allocate(struct node_ep *e, floe_time now, const uint8_t *b, size_t len)
{
    struct floe_stun_msg msg;
    struct floe_span reason;
    int code;

    if (e->mark_at == FLOE_TIME_NEVER || now < e->mark_at ||
        floe_packet_classify(b, len) != FLOE_PACKET_STUN || floe_stun_decode(&msg, b, len) != 0 ||
        msg.method != FLOE_STUN_ALLOCATE)
        return;
    if (msg.cls == FLOE_STUN_REQUEST)
        e->allocs_tx++;
    else if (msg.cls == FLOE_STUN_SUCCESS && e->alloc_ok_at == FLOE_TIME_NEVER)
        e->alloc_ok_at = now;
    else if (msg.cls == FLOE_STUN_ERROR && floe_stun_get_error(&msg, &code, &reason) == 0 &&
             code == 437)
        e->allocs_437++;
}

static void ep_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                            const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct node_ep *e = obj;
    uint8_t out[FLOE_NODE_TRANSMIT_MAX];
    uint64_t cid;
    size_t olen;

    ep_note_allocate(e, now, bytes, len);
    if (len <= sizeof(out) &&
        floe_node_decapsulate(e->node, now, to, from, bytes, len, out, sizeof(out), &cid, &olen) ==
            FLOE_NODE_INPUT_DATA)
        ep_rx(e, now, cid, out, olen);
    node_ep_events(e, now);
}

static void ep_handle_timeout(void *obj, floe_time now)
{
    struct node_ep *e = obj;

    while (e->gen_next <= now && e->gen_next < e->gen_until) {
        ep_send(e, now, e->cid, ++e->seq_tx);
        e->gen_next += e->gen_every;
    }
    if (floe_node_poll_timeout(e->node) <= now)
        floe_node_handle_timeout(e->node, now);
    node_ep_events(e, now);
}

static int ep_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                            struct floe_addr *from, struct floe_addr *to)
{
    struct node_ep *e = obj;
    struct floe_node_transmit tr;

    if (e->q_len) {
        struct node_ep_out *o = &e->q[e->q_head];

        e->q_head = (e->q_head + 1) % NODE_EP_QUEUE;
        e->q_len--;
        if (o->len > cap)
            return 0;
        memcpy(buf, o->buf, o->len);
        *len = o->len;
        *from = o->from;
        *to = o->to;
        return 1;
    }
    if (floe_node_poll_transmit(e->node, now, buf, cap, &tr) != 1)
        return 0;
    ep_note_allocate(e, now, buf, tr.len);
    *len = tr.len;
    *from = tr.local;
    *to = tr.to;
    return 1;
}

static floe_time ep_poll_timeout(void *obj)
{
    struct node_ep *e = obj;
    floe_time t = floe_node_poll_timeout(e->node);

    if (e->gen_next < e->gen_until)
        t = floe_time_min(t, e->gen_next);
    return t;
}

static void ep_on_roam(void *obj, floe_time now, const struct floe_addr *old_addr,
                       const struct floe_addr *new_addr)
{
    struct node_ep *e = obj;
    char line[FLOE_SIM_TL_TEXT], a[FLOE_ADDR_STRLEN];

    (void)old_addr;
    floe_addr_format(new_addr, a, sizeof(a));
    snprintf(line, sizeof(line), "roamed to %s: reset()", a);
    ep_note(e, now, line);
    (void)floe_node_reset(e->node, now);
    (void)floe_node_add_host(e->node, now, new_addr);
    node_ep_events(e, now);
}

static const struct floe_sim_endpoint_ops node_ep_ops = {
    .handle_input = ep_handle_input,
    .handle_timeout = ep_handle_timeout,
    .poll_transmit = ep_poll_transmit,
    .poll_timeout = ep_poll_timeout,
    .on_roam = ep_on_roam,
};

int node_ep_start(struct node_ep *e, struct floe_sim *sim, struct node_sig *sig, uint32_t net,
                  const struct floe_addr *ip, const struct floe_node_config *cfg)
{
    struct floe_addr bind = *ip;
    uint32_t iface;
    int rc;

    e->sim = sim;
    e->sig = sig;
    e->established_at = e->failed_at = e->mark_at = e->recovered_at = FLOE_TIME_NEVER;
    e->settle_at = FLOE_TIME_NEVER;
    e->gen_next = e->gen_until = FLOE_TIME_NEVER;
    bind.port = NODE_EP_PORT;
    rc = floe_node_new(&e->node, cfg, floe_sim_now(sim));
    if (rc == 0)
        rc = floe_sim_host_add(sim, e->name, &e->host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(sim, e->host, net, ip, &iface);
    if (rc == 0)
        rc = floe_sim_attach(sim, e->host, &bind, e->name, &node_ep_ops, e, &e->ep);
    if (rc == 0)
        rc = floe_node_add_host(e->node, floe_sim_now(sim), &bind);
    return rc;
}

/* --------------------------------------------------------------- topology */

void node_pair_opts_default(struct node_pair_opts *o, const struct floe_sim_scenario_opts *so)
{
    memset(o, 0, sizeof(*o));
    o->seed = so ? so->seed : 1;
    o->transcript = so ? so->transcript : NULL;
    o->transcript_user = so ? so->transcript_user : NULL;
    o->nat[0] = FLOE__SCEN_EIM_APDF;
    o->nat[1] = FLOE__SCEN_EIM_ADF;
    o->roam_nat = FLOE__SCEN_EIM_APDF;
    o->gw_roam_nat = FLOE__SCEN_NAT_KINDS;
    o->latency = FLOE_MS(25);
    o->jitter = FLOE_MS(5);
    o->loss = 0.01;
    o->sig_delay = FLOE_MS(50);
    o->relay = true;
}

/*
 * A network for a host: the public one when kind is none (*ip = ext), else a LAN behind a
 * NAT of that kind with external address ext (*ip = lan_ip). The LAN adds 1 ms.
 */
static int pair_net(struct node_pair *p, const char *name, enum floe__scen_nat kind,
                    const struct floe_addr *lan_ip, const struct floe_addr *ext, uint32_t *net,
                    struct floe_addr *ip)
{
    struct floe_sim_link link = floe_sim_link_default();
    struct floe_sim_nat_config nc;
    uint32_t nat;
    int rc;

    if (kind == FLOE__SCEN_NAT_NONE) {
        *net = p->inet;
        *ip = *ext;
        return 0;
    }
    link.latency = FLOE_MS(1);
    rc = floe_sim_net_add(p->sim, name, &link, net);
    floe__scen_nat_config(kind, p->nat_timeout, &nc);
    if (rc == 0)
        rc = floe_sim_nat_add(p->sim, name, &nc, *net, p->inet, ext, &nat);
    *ip = *lan_ip;
    return rc;
}

static int pair_node(struct node_pair *p, int side, const struct node_pair_opts *o)
{
    struct node_ep *e = &p->ep[side];
    struct floe_node_config cfg;

    floe_node_config_default(&cfg);
    floe_xoshiro_seed(&e->rng, o->seed * 7 + (uint64_t)side);
    cfg.rng = floe_xoshiro_rng(&e->rng);
    cfg.role = side == 0 ? FLOE_NODE_CLIENT : FLOE_NODE_GATEWAY;
    cfg.max_connections = 16;
    floe_rng_fill(&cfg.rng, cfg.private_key, sizeof(cfg.private_key));
    e->name = side == 0 ? "client" : "gateway";
    e->sim = p->sim;
    e->cid = side == 0 ? 2 : 1; /* the peer's id */
    e->peer = &p->ep[1 - side];
    e->peer_cid = side == 0 ? 1 : 2;
    e->sig = &p->sig;
    e->established_at = e->failed_at = e->mark_at = e->recovered_at = FLOE_TIME_NEVER;
    e->settle_at = FLOE_TIME_NEVER;
    e->gen_next = e->gen_until = FLOE_TIME_NEVER;
    e->v = o->v;
    e->lane = o->lane;
    e->group = o->group;
    return floe_node_new(&e->node, &cfg, 0);
}

/* A host with one interface and a node bound to NODE_EP_PORT on it. */
static int pair_host(struct node_pair *p, int side, uint32_t net, const struct floe_addr *ip)
{
    struct node_ep *e = &p->ep[side];
    struct floe_addr bind = *ip;
    uint32_t iface;
    int rc;

    rc = floe_sim_host_add(p->sim, e->name, &e->host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(p->sim, e->host, net, ip, &iface);
    bind.port = NODE_EP_PORT;
    if (rc == 0)
        rc = floe_sim_attach(p->sim, e->host, &bind, e->name, &node_ep_ops, e, &e->ep);
    return rc;
}

int node_pair_client_hosts(struct node_pair *p)
{
    struct node_ep *e = &p->ep[0];
    floe_time now = floe_sim_now(p->sim);
    struct floe_addr a;
    int rc;

    rc = floe_sim_host_addr(p->sim, e->host, 0, &a);
    a.port = NODE_EP_PORT;
    if (rc == 0)
        rc = floe_node_add_host(e->node, now, &a);
    if (rc == 0 && p->relay)
        rc = floe_node_relay_add(e->node, now, &p->relay_addr, FLOE_SIM_RELAY_USER,
                                 FLOE_SIM_RELAY_PASSWORD);
    node_ep_events(e, now);
    floe_sim_endpoint_drive(p->sim, e->ep);
    return rc;
}

static int pair_gateway_hosts(struct node_pair *p)
{
    struct node_ep *e = &p->ep[1];
    struct floe_addr a;
    int rc;

    rc = floe_sim_host_addr(p->sim, e->host, 0, &a);
    a.port = NODE_EP_PORT;
    if (rc == 0)
        rc = floe_node_add_host(e->node, 0, &a);
    if (rc == 0 && p->relay)
        rc = floe_node_relay_add(e->node, 0, &p->relay_addr, FLOE_SIM_RELAY_USER,
                                 FLOE_SIM_RELAY_PASSWORD);
    return rc;
}

/* The portal's intent: both sides get the connection with the other's key and credentials. */
static int pair_connect(struct node_pair *p)
{
    struct floe_node_conn_config cc[2];
    const char *uf, *pw;
    int i, rc = 0;

    memset(cc, 0, sizeof(cc));
    for (i = 0; i < 2; i++)
        floe_node_public_key(p->ep[1 - i].node, cc[i].public_key);
    snprintf(cc[0].remote_ufrag, sizeof(cc[0].remote_ufrag), "none");
    snprintf(cc[0].remote_pwd, sizeof(cc[0].remote_pwd), "none-yet-0000000000000000");
    for (i = 0; i < 3 && rc == 0; i++) {
        int side = i == 1 ? 1 : 0;
        floe_time now = floe_sim_now(p->sim);

        rc = floe_node_conn_upsert(p->ep[side].node, now, p->ep[side].cid, &cc[side]);
        if (rc == 0)
            rc = floe_node_conn_local_credentials(p->ep[side].node, p->ep[side].cid, &uf, &pw);
        if (rc == 0) {
            snprintf(cc[1 - side].remote_ufrag, sizeof(cc[0].remote_ufrag), "%s", uf);
            snprintf(cc[1 - side].remote_pwd, sizeof(cc[0].remote_pwd), "%s", pw);
        }
    }
    for (i = 0; i < 2; i++) {
        node_ep_events(&p->ep[i], floe_sim_now(p->sim));
        floe_sim_endpoint_drive(p->sim, p->ep[i].ep);
    }
    return rc;
}

static int pair_sim(struct node_pair *p, const struct node_pair_opts *o)
{
    struct floe_sim_config sc;
    struct floe_sim_link link = floe_sim_link_default();
    int rc;

    floe_sim_config_default(&sc);
    sc.seed = o->seed;
    sc.transcript = o->transcript;
    sc.transcript_user = o->transcript_user;
    sc.max_actions = 8192;
    sc.max_packets = 1024; /* in flight at once: far fewer (a pool this size is zeroed every run) */
    sc.max_datagram = FLOE_NODE_TRANSMIT_MAX;
    rc = floe_sim_new(&sc, &p->sim);
    link.latency = o->latency > FLOE_MS(1) ? o->latency - FLOE_MS(1) : o->latency;
    link.jitter = o->jitter;
    link.loss = o->loss;
    link.queue_cap = 4096;
    if (rc == 0)
        rc = floe_sim_net_add(p->sim, "inet", &link, &p->inet);
    return rc;
}

static int pair_relay(struct node_pair *p)
{
    uint32_t iface;
    int rc;

    p->relay_addr = floe_addr_v4(203, 0, 113, 2, 3478);
    rc = floe_sim_host_add(p->sim, "relay", &p->relay_host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(p->sim, p->relay_host, p->inet, &p->relay_addr, &iface);
    if (rc == 0)
        rc = floe_sim_relay_server_new(p->sim, p->relay_host, &p->relay_addr, NULL, &p->relay);
    return rc;
}

int node_pair_relay_restart(struct node_pair *p)
{
    uint32_t i;

    /* Detach the server's listening and relayed ports (the simulator's endpoints on the
     * relay's host), then start a fresh core at the same address. */
    for (i = 0; i < p->sim->n_eps; i++) {
        if (p->sim->eps[i].active && p->sim->eps[i].host == p->relay_host)
            (void)floe_sim_detach(p->sim, i);
    }
    floe_sim_relay_server_free(p->relay);
    p->relay = NULL;
    floe_sim_note(p->sim, "relay-restart", "state lost, same address");
    return floe_sim_relay_server_new(p->sim, p->relay_host, &p->relay_addr, NULL, &p->relay);
}

int node_pair_setup(struct node_pair *p, const struct node_pair_opts *o)
{
    struct floe_addr ip[2], roam_ext = floe_addr_v4(198, 51, 100, 3, 0);
    uint32_t net[2];
    int rc;

    memset(p, 0, sizeof(*p));
    p->nat_timeout = o->nat_timeout;
    rc = pair_sim(p, o);
    if (rc == 0)
        rc = node_sig_init(&p->sig, p->sim, o->sig_delay, NODE_EP_SIG_POOL);
    if (rc == 0 && o->relay)
        rc = pair_relay(p);
    if (rc == 0)
        rc = pair_net(p, "lan-client", o->nat[0],
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {10, 0, 0, 2}},
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {198, 51, 100, 1}}, &net[0],
                      &ip[0]);
    if (rc == 0)
        rc = pair_net(p, "lan-gateway", o->nat[1],
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {10, 1, 0, 2}},
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {198, 51, 100, 2}}, &net[1],
                      &ip[1]);
    if (rc == 0 && o->gw_roam_nat != FLOE__SCEN_NAT_KINDS)
        rc = pair_net(p, "lan-gw-roam", o->gw_roam_nat,
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {10, 3, 0, 2}},
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {198, 51, 100, 4}},
                      &p->gw_roam_net, &p->gw_roam_ip);
    if (rc == 0 && o->roam_nat != FLOE__SCEN_NAT_KINDS)
        rc = pair_net(p, "lan-roam", o->roam_nat,
                      &(struct floe_addr){.family = FLOE_AF_INET, .ip = {10, 2, 0, 2}}, &roam_ext,
                      &p->roam_net, &p->roam_ip);
    if (rc == 0)
        rc = pair_node(p, 0, o);
    if (rc == 0)
        rc = pair_node(p, 1, o);
    p->home_net[0] = net[0];
    p->home_net[1] = net[1];
    p->home_ip[0] = ip[0];
    p->home_ip[1] = ip[1];
    if (rc == 0)
        rc = pair_host(p, 0, net[0], &ip[0]);
    if (rc == 0)
        rc = pair_host(p, 1, net[1], &ip[1]);
    if (rc == 0)
        rc = pair_gateway_hosts(p);
    if (rc == 0 && !o->late_client_hosts)
        rc = node_pair_client_hosts(p);
    if (rc == 0 && !o->no_connect)
        rc = pair_connect(p);
    return rc;
}

void node_pair_free(struct node_pair *p)
{
    floe_node_free(p->ep[0].node);
    floe_node_free(p->ep[1].node);
    floe_sim_free(p->sim);
    floe_sim_relay_server_free(p->relay);
    node_sig_free(&p->sig);
    memset(p, 0, sizeof(*p));
}

void node_pair_signal(struct node_pair *p, bool down)
{
    struct node_sig *s = &p->sig;
    uint32_t i;

    s->down = down;
    if (down)
        return;
    for (i = 0; i < s->n_held; i++) {
        if (floe_sim_at(s->sim, floe_sim_now(s->sim) + s->delay, sig_deliver, s->held[i]) != 0) {
            s->held[i]->used = false;
            s->lost++;
        }
    }
    s->n_held = 0;
}

void node_pair_traffic(struct node_pair *p, floe_time every, floe_time until)
{
    int i;

    for (i = 0; i < 2; i++) {
        p->ep[i].gen_every = every;
        p->ep[i].gen_next = floe_sim_now(p->sim);
        p->ep[i].gen_until = until;
        floe_sim_endpoint_drive(p->sim, p->ep[i].ep);
    }
}

bool node_pair_up(const struct node_pair *p)
{
    return p->ep[0].established && p->ep[1].established && p->ep[0].rx_packets &&
           p->ep[1].rx_packets;
}
