/*
 * NAT boxes after RFC 4787.
 *
 * Mapping (section 4.1): an outbound packet from internal X:x to Y:y reuses a
 * live mapping of X:x when the destination matches the mapping's key: any
 * destination (endpoint-independent), the same Y (address-dependent), or
 * the same Y:y (address-and-port-dependent); otherwise a new external port
 * is allocated (section 4.2.1: the internal port when port preservation is
 * on and the port is free, else a port drawn from the simulator's RNG).
 *
 * Filtering (section 5): an inbound packet from Z:z to an external port
 * passes if the port has a live mapping to X:x and that mapping (not X:x
 * through any of its mappings) has sent to anything (endpoint-independent),
 * to Z (address-dependent), or to Z:z (address-and-port-dependent). The
 * contacts are kept per mapping as sessions that expire with the same
 * timeout as mappings (section 4.3).
 *
 * Refresh (section 4.3): outbound packets refresh their mapping and session;
 * inbound ones too when inbound_refresh is set. Hairpinning (section 6): a
 * packet from inside to the NAT's own external IP is translated out (source
 * becomes X's external address, REQ-9) and back in through the filter.
 */
#include <string.h>

#include "sim_int.h"

void floe_sim_nat_config_default(struct floe_sim_nat_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mapping = FLOE_SIM_NAT_ENDPOINT_INDEPENDENT;
    cfg->filtering = FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT;
    cfg->hairpin = true;
    cfg->mapping_timeout = FLOE_SEC(120);
    cfg->port_min = 1024;
    cfg->port_max = 65535;
    cfg->max_mappings = 256;
    cfg->max_sessions = 1024;
}

static bool nat_config_ok(const struct floe_sim_nat_config *c)
{
    return c->mapping <= FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT &&
           c->filtering <= FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT && c->mapping_timeout > 0 &&
           c->port_min > 0 && c->port_min <= c->port_max && c->max_mappings > 0 &&
           c->max_sessions > 0;
}

/* Whether `net` is `top` or lies below it through a chain of NATs. */
static bool nat_net_below(const struct floe_sim *sim, uint32_t net, uint32_t top)
{
    uint32_t hops;

    for (hops = 0; hops <= sim->n_nats; hops++) {
        if (net == top)
            return true;
        if (sim->nets[net].nat == SIM_NONE)
            return false;
        net = sim->nats[sim->nets[net].nat].outside;
    }
    return true;
}

static bool nat_args_ok(const struct floe_sim *sim, const struct floe_sim_nat_config *cfg,
                        uint32_t inside, uint32_t outside, const struct floe_addr *ip)
{
    if (cfg && !nat_config_ok(cfg))
        return false;
    if (inside >= sim->n_nets || outside >= sim->n_nets || !ip)
        return false;
    if (ip->family != FLOE_AF_INET && ip->family != FLOE_AF_INET6)
        return false;
    if (sim->nets[inside].nat != SIM_NONE || nat_net_below(sim, outside, inside))
        return false;
    return !floe__sim_ip_in_use(sim, outside, ip);
}

int floe_sim_nat_add(struct floe_sim *sim, const char *name, const struct floe_sim_nat_config *cfg,
                     uint32_t inside, uint32_t outside, const struct floe_addr *external_ip,
                     uint32_t *out_nat)
{
    const struct floe_allocator *a;
    struct sim_nat *n;

    if (!sim || !out_nat || !nat_args_ok(sim, cfg, inside, outside, external_ip))
        return FLOE_ERR_INVALID_ARG;
    if (sim->n_nats == sim->cfg.max_nats)
        return FLOE_ERR_NOMEM;
    a = &sim->cfg.alloc;
    n = &sim->nats[sim->n_nats];
    memset(n, 0, sizeof(*n));
    if (cfg)
        n->cfg = *cfg;
    else
        floe_sim_nat_config_default(&n->cfg);
    n->maps = floe_mem_calloc(a, n->cfg.max_mappings, sizeof(*n->maps));
    n->sessions = floe_mem_calloc(a, n->cfg.max_sessions, sizeof(*n->sessions));
    if (!n->maps || !n->sessions) {
        floe_mem_free(a, n->maps);
        floe_mem_free(a, n->sessions);
        return FLOE_ERR_NOMEM;
    }
    floe__sim_name(n->name, name);
    n->inside = inside;
    n->outside = outside;
    n->ext_ip = *external_ip;
    n->ext_ip.port = 0;
    sim->nets[inside].nat = sim->n_nats;
    *out_nat = sim->n_nats++;
    return 0;
}

uint32_t floe_sim_nat_mapping_count(const struct floe_sim *sim, uint32_t nat)
{
    uint32_t i, count = 0;

    if (!sim || nat >= sim->n_nats)
        return 0;
    for (i = 0; i < sim->nats[nat].cfg.max_mappings; i++) {
        if (sim->nats[nat].maps[i].expiry > sim->now)
            count++;
    }
    return count;
}

/* ------------------------------------------------------------- matching */

static bool nat_key_match(enum floe_sim_nat_kind kind, const struct floe_addr *a,
                          const struct floe_addr *b)
{
    if (kind == FLOE_SIM_NAT_ENDPOINT_INDEPENDENT)
        return true;
    if (kind == FLOE_SIM_NAT_ADDRESS_DEPENDENT)
        return floe_addr_ip_eq(a, b);
    return floe_addr_eq(a, b);
}

static struct sim_mapping *nat_find_outbound(struct floe_sim *sim, struct sim_nat *n,
                                             const struct floe_addr *src,
                                             const struct floe_addr *dst)
{
    uint32_t i;

    for (i = 0; i < n->cfg.max_mappings; i++) {
        struct sim_mapping *m = &n->maps[i];

        if (m->expiry > sim->now && floe_addr_eq(&m->internal, src) &&
            nat_key_match(n->cfg.mapping, &m->remote, dst))
            return m;
    }
    return NULL;
}

static struct sim_mapping *nat_find_external(struct floe_sim *sim, struct sim_nat *n, uint16_t port)
{
    uint32_t i;

    for (i = 0; i < n->cfg.max_mappings; i++) {
        if (n->maps[i].expiry > sim->now && n->maps[i].external.port == port)
            return &n->maps[i];
    }
    return NULL;
}

/* Whether mapping m (X:x at its external port) has a live contact that lets Z:z in. */
static bool nat_filter_pass(struct floe_sim *sim, struct sim_nat *n, const struct sim_mapping *m,
                            const struct floe_addr *from)
{
    uint32_t i;

    if (n->cfg.filtering == FLOE_SIM_NAT_ENDPOINT_INDEPENDENT)
        return true;
    for (i = 0; i < n->cfg.max_sessions; i++) {
        const struct sim_session *s = &n->sessions[i];

        if (s->expiry > sim->now && floe_addr_eq(&s->internal, &m->internal) &&
            floe_addr_eq(&s->external, &m->external) &&
            nat_key_match(n->cfg.filtering, &s->remote, from))
            return true;
    }
    return false;
}

/* -------------------------------------------------------------- updates */

/* Note that mapping m contacted Y:y now; evicts the stalest session when full. */
static void nat_session_touch(struct floe_sim *sim, struct sim_nat *n, const struct sim_mapping *m,
                              const struct floe_addr *remote)
{
    struct sim_session *victim = &n->sessions[0];
    uint32_t i;

    for (i = 0; i < n->cfg.max_sessions; i++) {
        struct sim_session *s = &n->sessions[i];

        if (s->expiry > sim->now && floe_addr_eq(&s->internal, &m->internal) &&
            floe_addr_eq(&s->external, &m->external) && floe_addr_eq(&s->remote, remote)) {
            victim = s;
            break;
        }
        if (s->expiry < victim->expiry)
            victim = s;
    }
    victim->internal = m->internal;
    victim->external = m->external;
    victim->remote = *remote;
    victim->expiry = floe_time_add(sim->now, n->cfg.mapping_timeout);
}

static bool nat_port_free(struct floe_sim *sim, struct sim_nat *n, uint32_t port)
{
    return port >= n->cfg.port_min && port <= n->cfg.port_max &&
           !nat_find_external(sim, n, (uint16_t)port);
}

/* An unused external port (RFC 4787 4.2.1), or 0 when the range is full. */
static uint16_t nat_port_alloc(struct floe_sim *sim, struct sim_nat *n, uint16_t internal_port)
{
    uint32_t span = (uint32_t)n->cfg.port_max - n->cfg.port_min + 1;
    uint32_t i, port;

    if (n->cfg.port_preservation && nat_port_free(sim, n, internal_port))
        return internal_port;
    for (i = 0; i < 64; i++) {
        port = n->cfg.port_min + (uint32_t)floe__sim_rand_below(sim, span);
        if (nat_port_free(sim, n, port))
            return (uint16_t)port;
    }
    for (port = n->cfg.port_min; port <= n->cfg.port_max; port++) {
        if (nat_port_free(sim, n, port))
            return (uint16_t)port;
    }
    return 0;
}

static void nat_log_map(struct floe_sim *sim, const struct sim_nat *n, const struct sim_mapping *m)
{
    struct sim_line l;

    if (!floe__sim_line_begin(sim, &l, "nat-map"))
        return;
    floe__sim_line_str(&l, "nat", n->name);
    floe__sim_line_addr(&l, "internal", &m->internal);
    floe__sim_line_addr(&l, "remote", &m->remote);
    floe__sim_line_addr(&l, "external", &m->external);
    floe__sim_line_end(sim, &l);
}

/* The mapping for src -> dst, created if needed and refreshed; NULL when full. */
static struct sim_mapping *nat_map_outbound(struct floe_sim *sim, struct sim_nat *n,
                                            const struct floe_addr *src,
                                            const struct floe_addr *dst)
{
    struct sim_mapping *m = nat_find_outbound(sim, n, src, dst);
    uint32_t i;

    for (i = 0; !m && i < n->cfg.max_mappings; i++) {
        uint16_t port;

        if (n->maps[i].expiry > sim->now)
            continue;
        port = nat_port_alloc(sim, n, src->port);
        if (!port)
            return NULL;
        m = &n->maps[i];
        m->internal = *src;
        m->remote = *dst;
        m->external = n->ext_ip;
        m->external.port = port;
        m->expiry = floe_time_add(sim->now, n->cfg.mapping_timeout);
        nat_log_map(sim, n, m);
    }
    if (!m)
        return NULL;
    m->expiry = floe_time_add(sim->now, n->cfg.mapping_timeout);
    nat_session_touch(sim, n, m, dst);
    return m;
}

/* -------------------------------------------------------------- packets */

static void nat_log(struct floe_sim *sim, const struct sim_nat *n, const struct sim_pkt *pkt,
                    const char *dir, const struct floe_addr *orig_src,
                    const struct floe_addr *orig_dst)
{
    struct sim_line l;

    if (!floe__sim_line_begin(sim, &l, "nat"))
        return;
    floe__sim_line_u64(&l, "pkt", pkt->id);
    floe__sim_line_str(&l, "nat", n->name);
    floe__sim_line_str(&l, "dir", dir);
    floe__sim_line_addr(&l, "orig_from", orig_src);
    floe__sim_line_addr(&l, "orig_to", orig_dst);
    floe__sim_line_addr(&l, "from", &pkt->src);
    floe__sim_line_addr(&l, "to", &pkt->dst);
    floe__sim_line_end(sim, &l);
}

/*
 * Inbound half: pkt->dst is an external port of n. Rewrites the destination
 * to the internal endpoint, or drops. Returns true if the packet goes on.
 */
static bool nat_inbound(struct floe_sim *sim, struct sim_nat *n, struct sim_pkt *pkt)
{
    struct sim_mapping *m = nat_find_external(sim, n, pkt->dst.port);

    if (!m) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NO_MAPPING);
        return false;
    }
    if (!nat_filter_pass(sim, n, m, &pkt->src)) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NAT_FILTER);
        return false;
    }
    if (n->cfg.inbound_refresh) {
        m->expiry = floe_time_add(sim->now, n->cfg.mapping_timeout);
        nat_session_touch(sim, n, m, &pkt->src);
    }
    pkt->dst = m->internal;
    return true;
}

static void nat_hairpin(struct floe_sim *sim, struct sim_nat *n, struct sim_pkt *pkt,
                        struct sim_mapping *m)
{
    struct floe_addr orig_src = pkt->src, orig_dst = pkt->dst;

    pkt->src = m->external;
    if (!nat_inbound(sim, n, pkt))
        return;
    sim->counters.translated++;
    nat_log(sim, n, pkt, "hairpin", &orig_src, &orig_dst);
    floe__sim_send(sim, pkt, n->inside);
}

void floe__sim_nat_from_inside(struct floe_sim *sim, struct sim_pkt *pkt)
{
    struct sim_nat *n = &sim->nats[pkt->to_idx];
    struct floe_addr orig_src = pkt->src, orig_dst = pkt->dst;
    bool hairpin = floe_addr_ip_eq(&pkt->dst, &n->ext_ip);
    struct sim_mapping *m;

    if (hairpin && !n->cfg.hairpin) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_HAIRPIN);
        return;
    }
    if (pkt->src.family != n->ext_ip.family) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ROUTE);
        return;
    }
    m = nat_map_outbound(sim, n, &pkt->src, &pkt->dst);
    if (!m) {
        floe__sim_drop(sim, pkt, FLOE_SIM_DROP_NAT_FULL);
        return;
    }
    if (hairpin) {
        nat_hairpin(sim, n, pkt, m);
        return;
    }
    pkt->src = m->external;
    sim->counters.translated++;
    nat_log(sim, n, pkt, "out", &orig_src, &orig_dst);
    floe__sim_send(sim, pkt, n->outside);
}

void floe__sim_nat_from_outside(struct floe_sim *sim, struct sim_pkt *pkt)
{
    struct sim_nat *n = &sim->nats[pkt->to_idx];
    struct floe_addr orig_src = pkt->src, orig_dst = pkt->dst;

    if (!nat_inbound(sim, n, pkt))
        return;
    sim->counters.translated++;
    nat_log(sim, n, pkt, "in", &orig_src, &orig_dst);
    floe__sim_send(sim, pkt, n->inside);
}
