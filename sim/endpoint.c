/*
 * Endpoints: attaching sans-IO objects to host ports and driving them the
 * way a daemon does (DESIGN section 2): after every delivery, timeout, roam
 * or command, drain poll_transmit, then re-arm the timer from poll_timeout.
 */
#include <string.h>

#include "sim_int.h"

static bool ep_bind_clash(const struct floe_sim *sim, uint32_t host, const struct floe_addr *b)
{
    uint32_t i;

    for (i = 0; i < sim->n_eps; i++) {
        const struct sim_ep *e = &sim->eps[i];

        if (!e->active || e->host != host || e->bind.port != b->port)
            continue;
        if (e->bind.family == FLOE_AF_NONE || b->family == FLOE_AF_NONE ||
            floe_addr_ip_eq(&e->bind, b))
            return true;
    }
    return false;
}

static bool ep_host_has_ip(const struct sim_host *h, const struct floe_addr *ip)
{
    uint32_t i;

    for (i = 0; i < h->n_ifaces; i++) {
        if (floe_addr_ip_eq(&h->ifaces[i].ip, ip))
            return true;
    }
    return false;
}

int floe_sim_attach(struct floe_sim *sim, uint32_t host, const struct floe_addr *bind,
                    const char *name, const struct floe_sim_endpoint_ops *ops, void *obj,
                    uint32_t *out_ep)
{
    struct sim_ep *e;

    if (!sim || host >= sim->n_hosts || !bind || !bind->port || !ops || !ops->handle_input ||
        !ops->poll_transmit || !out_ep)
        return FLOE_ERR_INVALID_ARG;
    if (bind->family != FLOE_AF_NONE && !ep_host_has_ip(&sim->hosts[host], bind))
        return FLOE_ERR_INVALID_ARG;
    if (ep_bind_clash(sim, host, bind))
        return FLOE_ERR_INVALID_ARG;
    if (sim->n_eps == sim->cfg.max_endpoints)
        return FLOE_ERR_NOMEM;
    e = &sim->eps[sim->n_eps];
    memset(e, 0, sizeof(*e));
    floe__sim_name(e->name, name);
    e->ops = ops;
    e->obj = obj;
    e->host = host;
    e->bind = *bind;
    e->active = true;
    e->timer_at = FLOE_TIME_NEVER;
    e->heap_pos = SIM_NONE;
    *out_ep = sim->n_eps++;
    return floe__sim_drive(sim, *out_ep);
}

int floe_sim_detach(struct floe_sim *sim, uint32_t ep)
{
    if (!sim || ep >= sim->n_eps || !sim->eps[ep].active)
        return FLOE_ERR_INVALID_ARG;
    floe__sim_ep_arm(sim, ep, FLOE_TIME_NEVER);
    sim->eps[ep].active = false;
    return 0;
}

int floe_sim_endpoint_drive(struct floe_sim *sim, uint32_t ep)
{
    if (!sim || ep >= sim->n_eps || !sim->eps[ep].active)
        return FLOE_ERR_INVALID_ARG;
    return floe__sim_drive(sim, ep);
}

/* ------------------------------------------------------------- sending */

/* The address an endpoint sends from by default towards a family. */
static struct floe_addr ep_default_from(const struct floe_sim *sim, const struct sim_ep *e,
                                        uint8_t family)
{
    const struct sim_host *h = &sim->hosts[e->host];
    struct floe_addr a = e->bind;
    uint32_t i;

    if (a.family != FLOE_AF_NONE)
        return a;
    for (i = 0; i < h->n_ifaces; i++) {
        if (h->ifaces[i].ip.family == family) {
            a = h->ifaces[i].ip;
            a.port = e->bind.port;
            return a;
        }
    }
    return a;
}

/* The interface of host owning ip, or SIM_NONE. */
static uint32_t ep_iface_of(const struct sim_host *h, const struct floe_addr *ip)
{
    uint32_t i;

    for (i = 0; i < h->n_ifaces; i++) {
        if (floe_addr_ip_eq(&h->ifaces[i].ip, ip))
            return i;
    }
    return SIM_NONE;
}

/* Every packet slot is in use: a queue drop of a datagram that never got an id. */
static void ep_drop_unqueued(struct floe_sim *sim, const struct sim_ep *e,
                             const struct floe_addr *from, const struct floe_addr *to, size_t len)
{
    struct sim_line l;

    sim->counters.dropped[FLOE_SIM_DROP_QUEUE]++;
    if (!floe__sim_line_begin(sim, &l, "dropped"))
        return;
    floe__sim_line_str(&l, "reason", floe_sim_drop_name(FLOE_SIM_DROP_QUEUE));
    floe__sim_line_str(&l, "ep", e->name);
    floe__sim_line_addr(&l, "from", from);
    floe__sim_line_addr(&l, "to", to);
    floe__sim_line_u64(&l, "len", len);
    floe__sim_line_end(sim, &l);
}

static void ep_emit(struct floe_sim *sim, const struct sim_ep *e, const struct floe_addr *from,
                    const struct floe_addr *to, size_t len)
{
    const struct sim_host *h = &sim->hosts[e->host];
    uint32_t iface = ep_iface_of(h, from);
    struct sim_pkt *pkt = floe__sim_pkt_alloc(sim);

    sim->counters.sent++;
    if (!pkt) {
        ep_drop_unqueued(sim, e, from, to, len);
        return;
    }
    memcpy(pkt->data, sim->txbuf, len);
    pkt->len = (uint32_t)len;
    pkt->src = *from;
    if (!pkt->src.port)
        pkt->src.port = e->bind.port;
    pkt->dst = *to;
    floe__sim_log_pkt(sim, "sent", pkt, "ep", e->name);
    if (iface == SIM_NONE || to->family != from->family)
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_BAD_SOURCE);
    else if (h->ifaces[iface].dead)
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_ROAM_DEAD);
    else if (floe_addr_ip_eq(to, &h->ifaces[iface].ip))
        floe__sim_send_local(sim, pkt, h->ifaces[iface].net, e->host, iface);
    else
        floe__sim_send(sim, pkt, h->ifaces[iface].net);
}

static void ep_rearm(struct floe_sim *sim, uint32_t ep)
{
    struct sim_ep *e = &sim->eps[ep];
    floe_time at = FLOE_TIME_NEVER;

    if (e->ops->poll_timeout)
        at = e->ops->poll_timeout(e->obj);
    floe__sim_ep_arm(sim, ep, at);
}

int floe__sim_drive(struct floe_sim *sim, uint32_t ep)
{
    struct sim_ep *e = &sim->eps[ep];
    uint32_t i;

    for (i = 0; i < sim->cfg.max_transmits_per_drive && e->active; i++) {
        struct floe_addr from, to;
        size_t len = 0;

        memset(&to, 0, sizeof(to));
        memset(&from, 0, sizeof(from));
        if (e->ops->poll_transmit(e->obj, sim->now, sim->txbuf, sim->cfg.max_datagram, &len, &from,
                                  &to) <= 0)
            break;
        if (len > sim->cfg.max_datagram)
            len = sim->cfg.max_datagram;
        if (from.family == FLOE_AF_NONE)
            from = ep_default_from(sim, e, to.family);
        ep_emit(sim, e, &from, &to, len);
    }
    if (e->active)
        ep_rearm(sim, ep);
    return 0;
}

/* ------------------------------------------------------------ receiving */

static uint32_t ep_lookup(const struct floe_sim *sim, uint32_t host, const struct floe_addr *dst)
{
    uint32_t i;

    for (i = 0; i < sim->n_eps; i++) {
        const struct sim_ep *e = &sim->eps[i];

        if (!e->active || e->host != host || e->bind.port != dst->port)
            continue;
        if (e->bind.family == FLOE_AF_NONE || floe_addr_ip_eq(&e->bind, dst))
            return i;
    }
    return SIM_NONE;
}

/*
 * End of a hop at a host: the interface must still be up with the address
 * and network the packet was routed to (a roam may have moved it meanwhile).
 */
void floe__sim_deliver(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t host)
{
    const struct sim_iface *f = &sim->hosts[host].ifaces[pkt->to_iface];
    uint32_t ep;
    struct sim_ep *e;

    if (f->dead) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_ROAM_DEAD);
        return;
    }
    if (f->net != pkt->net || !floe_addr_ip_eq(&f->ip, &pkt->dst)) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ROUTE);
        return;
    }
    ep = ep_lookup(sim, host, &pkt->dst);
    if (ep == SIM_NONE) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ENDPOINT);
        return;
    }
    e = &sim->eps[ep];
    sim->counters.delivered++;
    floe__sim_log_pkt(sim, "delivered", pkt, "ep", e->name);
    e->ops->handle_input(e->obj, sim->now, &pkt->src, &pkt->dst, pkt->data, pkt->len);
    floe__sim_pkt_free(sim, pkt);
    floe__sim_drive(sim, ep);
}

int floe__sim_timer_fire(struct floe_sim *sim, uint32_t ep)
{
    struct sim_ep *e = &sim->eps[ep];

    if (!e->active)
        return 0;
    if (e->fires_time != sim->now) {
        e->fires_time = sim->now;
        e->fires_count = 0;
    }
    if (++e->fires_count > SIM_MAX_FIRES_AT_ONCE)
        return FLOE_ERR_STATE;
    e->timer_at = FLOE_TIME_NEVER;
    sim->counters.timeouts++;
    if (e->ops->handle_timeout)
        e->ops->handle_timeout(e->obj, sim->now);
    return floe__sim_drive(sim, ep);
}

/* Tell every endpoint of host bound to old_ip (or to every interface) about a roam. */
void floe__sim_host_roamed(struct floe_sim *sim, uint32_t host, const struct floe_addr *old_ip,
                           const struct floe_addr *new_ip)
{
    uint32_t i;

    for (i = 0; i < sim->n_eps; i++) {
        struct sim_ep *e = &sim->eps[i];
        struct floe_addr old_a = *old_ip, new_a = *new_ip;
        uint16_t port = e->bind.port;

        if (!e->active || e->host != host)
            continue;
        if (e->bind.family != FLOE_AF_NONE && !floe_addr_ip_eq(&e->bind, old_ip))
            continue;
        if (e->bind.family != FLOE_AF_NONE)
            e->bind = *new_ip;
        e->bind.port = old_a.port = new_a.port = port;
        if (e->ops->on_roam)
            e->ops->on_roam(e->obj, sim->now, &old_a, &new_a);
        floe__sim_drive(sim, i);
    }
}
