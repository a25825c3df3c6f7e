/*
 * Networks, hosts and the packet path: a packet crosses one network per hop
 * (blackhole, queue bound, loss, then rate, latency, jitter and reordering),
 * and at the end of the hop lands on a host, a NAT side or the core between
 * root networks, which decides the next hop.
 */
#include <string.h>

#include "sim_int.h"

struct floe_sim_link floe_sim_link_default(void)
{
    struct floe_sim_link l;

    memset(&l, 0, sizeof(l));
    l.latency = FLOE_MS(5);
    l.queue_cap = 256;
    return l;
}

static bool net_link_ok(const struct floe_sim_link *l)
{
    return l->loss >= 0.0 && l->loss <= 1.0 && l->reorder >= 0.0 && l->reorder <= 1.0 &&
           l->queue_cap > 0;
}

int floe_sim_net_add(struct floe_sim *sim, const char *name, const struct floe_sim_link *link,
                     uint32_t *out_net)
{
    struct floe_sim_link def = floe_sim_link_default();
    struct sim_net *n;

    if (!sim || !out_net || (link && !net_link_ok(link)))
        return FLOE_ERR_INVALID_ARG;
    if (sim->n_nets == sim->cfg.max_networks)
        return FLOE_ERR_NOMEM;
    n = &sim->nets[sim->n_nets];
    memset(n, 0, sizeof(*n));
    floe__sim_name(n->name, name);
    n->link = link ? *link : def;
    n->nat = SIM_NONE;
    *out_net = sim->n_nets++;
    return 0;
}

int floe_sim_net_set_link(struct floe_sim *sim, uint32_t net, const struct floe_sim_link *link)
{
    if (!sim || net >= sim->n_nets || !link || !net_link_ok(link))
        return FLOE_ERR_INVALID_ARG;
    sim->nets[net].link = *link;
    return 0;
}

int floe_sim_net_set_blackhole(struct floe_sim *sim, uint32_t net, bool on)
{
    struct sim_line l;

    if (!sim || net >= sim->n_nets)
        return FLOE_ERR_INVALID_ARG;
    sim->nets[net].blackhole = on;
    if (floe__sim_line_begin(sim, &l, "blackhole")) {
        floe__sim_line_str(&l, "net", sim->nets[net].name);
        floe__sim_line_bool(&l, "on", on);
        floe__sim_line_end(sim, &l);
    }
    return 0;
}

static bool net_same_ip(const struct floe_addr *x, const struct floe_addr *y)
{
    return x->family == y->family && memcmp(x->ip, y->ip, sizeof(x->ip)) == 0;
}

static int net_find_block(const struct floe_sim *sim, const struct floe_addr *a,
                          const struct floe_addr *b)
{
    uint32_t i;

    for (i = 0; i < sim->n_blocks; i++) {
        const struct floe_addr *x = sim->blocks[i];

        if ((net_same_ip(&x[0], a) && net_same_ip(&x[1], b)) ||
            (net_same_ip(&x[0], b) && net_same_ip(&x[1], a)))
            return (int)i;
    }
    return -1;
}

static int net_block_set(struct floe_sim *sim, const struct floe_addr *a, const struct floe_addr *b,
                         bool on)
{
    int i = net_find_block(sim, a, b);

    if (on && i < 0) {
        if (sim->n_blocks == FLOE_SIM_BLOCKS)
            return FLOE_ERR_NOMEM;
        sim->blocks[sim->n_blocks][0] = *a;
        sim->blocks[sim->n_blocks][1] = *b;
        sim->blocks[sim->n_blocks][0].port = sim->blocks[sim->n_blocks][1].port = 0;
        sim->n_blocks++;
    } else if (!on && i >= 0) {
        sim->blocks[i][0] = sim->blocks[sim->n_blocks - 1][0];
        sim->blocks[i][1] = sim->blocks[sim->n_blocks - 1][1];
        sim->n_blocks--;
    }
    return 0;
}

int floe_sim_block(struct floe_sim *sim, const struct floe_addr *a, const struct floe_addr *b,
                   bool on)
{
    struct sim_line l;
    int rc;

    if (!sim || !a || !b || a->family == FLOE_AF_NONE || b->family == FLOE_AF_NONE)
        return FLOE_ERR_INVALID_ARG;
    rc = net_block_set(sim, a, b, on);
    if (rc == 0 && floe__sim_line_begin(sim, &l, "block")) {
        floe__sim_line_ip(&l, "a", a);
        floe__sim_line_ip(&l, "b", b);
        floe__sim_line_bool(&l, "on", on);
        floe__sim_line_end(sim, &l);
    }
    return rc;
}

/* ---------------------------------------------------------------- hosts */

int floe_sim_host_add(struct floe_sim *sim, const char *name, uint32_t *out_host)
{
    struct sim_host *h;

    if (!sim || !out_host)
        return FLOE_ERR_INVALID_ARG;
    if (sim->n_hosts == sim->cfg.max_hosts)
        return FLOE_ERR_NOMEM;
    h = &sim->hosts[sim->n_hosts];
    memset(h, 0, sizeof(*h));
    floe__sim_name(h->name, name);
    *out_host = sim->n_hosts++;
    return 0;
}

static bool ip_valid(const struct floe_addr *ip)
{
    return ip && (ip->family == FLOE_AF_INET || ip->family == FLOE_AF_INET6);
}

/* Whether ip is a host interface (dead or not) or a NAT's external IP on net. */
bool floe__sim_ip_in_use(const struct floe_sim *sim, uint32_t net, const struct floe_addr *ip)
{
    uint32_t h, i;

    for (h = 0; h < sim->n_hosts; h++) {
        for (i = 0; i < sim->hosts[h].n_ifaces; i++) {
            const struct sim_iface *f = &sim->hosts[h].ifaces[i];

            if (f->net == net && floe_addr_ip_eq(&f->ip, ip))
                return true;
        }
    }
    for (i = 0; i < sim->n_nats; i++) {
        if (sim->nats[i].outside == net && floe_addr_ip_eq(&sim->nats[i].ext_ip, ip))
            return true;
    }
    return false;
}

int floe_sim_host_add_addr(struct floe_sim *sim, uint32_t host, uint32_t net,
                           const struct floe_addr *ip, uint32_t *out_iface)
{
    struct sim_host *h;
    struct sim_iface *f;

    if (!sim || host >= sim->n_hosts || net >= sim->n_nets || !ip_valid(ip) || !out_iface)
        return FLOE_ERR_INVALID_ARG;
    if (floe__sim_ip_in_use(sim, net, ip))
        return FLOE_ERR_INVALID_ARG;
    h = &sim->hosts[host];
    if (h->n_ifaces == FLOE_SIM_HOST_IFACES)
        return FLOE_ERR_NOMEM;
    f = &h->ifaces[h->n_ifaces];
    f->ip = *ip;
    f->ip.port = 0;
    f->net = net;
    f->dead = false;
    *out_iface = h->n_ifaces++;
    return 0;
}

int floe_sim_host_addr(const struct floe_sim *sim, uint32_t host, uint32_t iface,
                       struct floe_addr *out)
{
    if (!sim || host >= sim->n_hosts || iface >= sim->hosts[host].n_ifaces || !out)
        return FLOE_ERR_INVALID_ARG;
    *out = sim->hosts[host].ifaces[iface].ip;
    return 0;
}

/* -------------------------------------------------------------- packets */

struct sim_pkt *floe__sim_pkt_alloc(struct floe_sim *sim)
{
    struct sim_pkt *pkt;

    if (!sim->n_pkt_free)
        return NULL;
    pkt = &sim->pkts[sim->pkt_free[--sim->n_pkt_free]];
    pkt->id = sim->next_pkt_id++;
    pkt->hops = 0;
    pkt->net = SIM_NONE;
    return pkt;
}

void floe__sim_pkt_free(struct floe_sim *sim, struct sim_pkt *pkt)
{
    sim->pkt_free[sim->n_pkt_free++] = (uint32_t)(pkt - sim->pkts);
}

void floe__sim_drop(struct floe_sim *sim, struct sim_pkt *pkt, enum floe_sim_drop reason)
{
    struct sim_line l;

    sim->counters.dropped[reason]++;
    if (floe__sim_line_begin(sim, &l, "dropped")) {
        floe__sim_line_u64(&l, "pkt", pkt->id);
        floe__sim_line_str(&l, "reason", floe_sim_drop_name(reason));
        if (pkt->net != SIM_NONE)
            floe__sim_line_str(&l, "net", sim->nets[pkt->net].name);
        floe__sim_line_addr(&l, "from", &pkt->src);
        floe__sim_line_addr(&l, "to", &pkt->dst);
        floe__sim_line_u64(&l, "len", pkt->len);
        floe__sim_line_end(sim, &l);
    }
    floe__sim_pkt_free(sim, pkt);
}

/* -------------------------------------------------------------- routing */

static bool route_local(const struct floe_sim *sim, uint32_t net, struct sim_pkt *pkt)
{
    uint32_t h, i;

    for (h = 0; h < sim->n_hosts; h++) {
        for (i = 0; i < sim->hosts[h].n_ifaces; i++) {
            const struct sim_iface *f = &sim->hosts[h].ifaces[i];

            if (f->net != net || !floe_addr_ip_eq(&f->ip, &pkt->dst))
                continue;
            pkt->to_kind = SIM_TO_HOST;
            pkt->to_idx = h;
            pkt->to_iface = i;
            return true;
        }
    }
    for (i = 0; i < sim->n_nats; i++) {
        if (sim->nats[i].outside != net || !floe_addr_ip_eq(&sim->nats[i].ext_ip, &pkt->dst))
            continue;
        pkt->to_kind = SIM_TO_NAT_OUT;
        pkt->to_idx = i;
        return true;
    }
    return false;
}

/* A root network other than net where pkt->dst lives, or SIM_NONE. */
static uint32_t route_other_root(const struct floe_sim *sim, uint32_t net, struct sim_pkt *pkt)
{
    uint32_t r;

    for (r = 0; r < sim->n_nets; r++) {
        struct sim_pkt probe = *pkt;

        if (r == net || sim->nets[r].nat != SIM_NONE)
            continue;
        if (route_local(sim, r, &probe))
            return r;
    }
    return SIM_NONE;
}

/*
 * Choose where pkt, sent on net, ends this hop: a host or NAT outside on
 * net itself, else up through net's NAT (which also takes packets for its
 * own external IP, for hairpinning), else across the core to another root.
 */
static bool route(const struct floe_sim *sim, uint32_t net, struct sim_pkt *pkt)
{
    uint32_t nat = sim->nets[net].nat;
    uint32_t root;

    if (route_local(sim, net, pkt))
        return true;
    if (nat != SIM_NONE) {
        pkt->to_kind = SIM_TO_NAT_IN;
        pkt->to_idx = nat;
        return true;
    }
    root = route_other_root(sim, net, pkt);
    if (root == SIM_NONE)
        return false;
    pkt->to_kind = SIM_TO_CORE;
    pkt->to_idx = root;
    return true;
}

/* ----------------------------------------------------------------- link */

/* Arrival time of a packet entering net now, advancing the link's state. */
static floe_time link_arrival(struct floe_sim *sim, struct sim_net *n, uint32_t len)
{
    const struct floe_sim_link *l = &n->link;
    floe_time start = sim->now, at;

    if (l->rate_bps) {
        if (n->busy_until > start)
            start = n->busy_until;
        start += (floe_time)len * 8u * 1000000000u / l->rate_bps;
        n->busy_until = start;
    }
    at = floe_time_add(start, l->latency);
    if (l->jitter)
        at = floe_time_add(at, floe__sim_rand_below(sim, l->jitter + 1));
    if (floe__sim_chance(sim, l->reorder))
        return floe_time_add(at, 1 + floe__sim_rand_below(sim, l->latency + l->jitter + 1));
    if (at < n->fifo_tail)
        at = n->fifo_tail;
    n->fifo_tail = at;
    return at;
}

void floe__sim_send(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t net)
{
    struct sim_net *n = &sim->nets[net];

    pkt->net = net;
    if (++pkt->hops > SIM_MAX_HOPS || !route(sim, net, pkt)) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ROUTE);
        return;
    }
    if (n->blackhole || (sim->n_blocks && net_find_block(sim, &pkt->src, &pkt->dst) >= 0)) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_BLACKHOLE);
        return;
    }
    if (n->in_flight >= n->link.queue_cap) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_QUEUE);
        return;
    }
    if (floe__sim_chance(sim, n->link.loss)) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_LOSS);
        return;
    }
    n->in_flight++;
    sim->counters.hops++;
    /* Cannot fail: the heap holds one entry per packet slot, endpoint and action. */
    floe__sim_push(sim, link_arrival(sim, n, pkt->len), SIM_EV_ARRIVE, (uint32_t)(pkt - sim->pkts));
}

/*
 * A packet a host sends to its own address on iface (a relay relaying to another of its
 * allocations): the kernel loops it back, it never crosses net's link, so it arrives at once
 * (no latency, no loss). It is still an event of its own, after the send.
 */
void floe__sim_send_local(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t net, uint32_t host,
                          uint32_t iface)
{
    pkt->net = net;
    pkt->to_kind = SIM_TO_HOST;
    pkt->to_idx = host;
    pkt->to_iface = iface;
    sim->nets[net].in_flight++;
    floe__sim_push(sim, sim->now, SIM_EV_ARRIVE, (uint32_t)(pkt - sim->pkts));
}

/* End of a hop: the packet leaves its network and lands where route() said. */
int floe__sim_arrive(struct floe_sim *sim, uint32_t slot)
{
    struct sim_pkt *pkt = &sim->pkts[slot];
    struct sim_net *n = &sim->nets[pkt->net];

    n->in_flight--;
    if (n->blackhole) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_BLACKHOLE);
        return 0;
    }
    switch (pkt->to_kind) {
    case SIM_TO_HOST:
        floe__sim_deliver(sim, pkt, pkt->to_idx);
        break;
    case SIM_TO_NAT_IN:
        floe__sim_nat_from_inside(sim, pkt);
        break;
    case SIM_TO_NAT_OUT:
        floe__sim_nat_from_outside(sim, pkt);
        break;
    default:
        floe__sim_send(sim, pkt, pkt->to_idx);
        break;
    }
    return 0;
}

/* -------------------------------------------------------------- roaming */

int floe_sim_host_roam(struct floe_sim *sim, uint32_t host, uint32_t iface, uint32_t new_net,
                       const struct floe_addr *new_ip, floe_time dead)
{
    struct sim_iface *f;
    struct sim_action *act = NULL;
    struct sim_line l;
    uint32_t i;

    if (!sim || host >= sim->n_hosts || iface >= sim->hosts[host].n_ifaces ||
        new_net >= sim->n_nets || !ip_valid(new_ip))
        return FLOE_ERR_INVALID_ARG;
    f = &sim->hosts[host].ifaces[iface];
    if (f->dead || floe__sim_ip_in_use(sim, new_net, new_ip))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < sim->cfg.max_actions && !act; i++) {
        if (sim->actions[i].kind == SIM_ACT_FREE)
            act = &sim->actions[i];
    }
    if (!act)
        return FLOE_ERR_NOMEM;
    *act = (struct sim_action){
        .kind = SIM_ACT_ROAM, .host = host, .iface = iface, .net = new_net, .ip = *new_ip};
    act->ip.port = 0;
    f->dead = true;
    if (floe__sim_line_begin(sim, &l, "roam-start")) {
        floe__sim_line_str(&l, "host", sim->hosts[host].name);
        floe__sim_line_ip(&l, "old", &f->ip);
        floe__sim_line_u64(&l, "dead_ns", dead);
        floe__sim_line_end(sim, &l);
    }
    return floe__sim_push(sim, floe_time_add(sim->now, dead), SIM_EV_ACTION,
                          (uint32_t)(act - sim->actions));
}

int floe__sim_roam_finish(struct floe_sim *sim, struct sim_action *act)
{
    struct sim_iface *f = &sim->hosts[act->host].ifaces[act->iface];
    struct floe_addr old_ip = f->ip;
    struct sim_line l;

    f->ip = act->ip;
    f->net = act->net;
    f->dead = false;
    if (floe__sim_line_begin(sim, &l, "roam-end")) {
        floe__sim_line_str(&l, "host", sim->hosts[act->host].name);
        floe__sim_line_ip(&l, "old", &old_ip);
        floe__sim_line_ip(&l, "new", &f->ip);
        floe__sim_line_str(&l, "net", sim->nets[f->net].name);
        floe__sim_line_end(sim, &l);
    }
    floe__sim_host_roamed(sim, act->host, &old_ip, &f->ip);
    return 0;
}
