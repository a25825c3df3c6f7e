/*
 * nat-matrix: the client and the gateway each behind every NAT kind (or none).
 * Each cell must connect directly exactly where RFC 4787 behaviour allows a
 * direct path, and must not where it does not (those cells need a relay).
 */
#include <stdio.h>
#include <string.h>

#include "scen_int.h"

/* Virtual time a cell may take: longer than the client's whole check schedule. */
#define NAT_CELL_LIMIT FLOE_SEC(25)

const char *floe__scen_nat_name(enum floe__scen_nat kind)
{
    static const char *const names[FLOE__SCEN_NAT_KINDS] = {
        "none", "eim-eif", "eim-adf", "eim-apdf", "adm-adf", "adm-apdf", "apdm-apdf",
    };

    return (unsigned)kind < FLOE__SCEN_NAT_KINDS ? names[kind] : "?";
}

/*
 * The expected table, derived from RFC 4787's rules by an abstract exchange of
 * connectivity checks between the two peers, independent of sim/nat.c.
 * Addresses are (ip, port): ip 0 is the STUN server, 1 and 2 the peers'
 * public addresses; port 1 is a peer's first mapping (towards the STUN
 * server: its server-reflexive port, or its host port without NAT).
 */
#define ORC_MAX 32
#define ORC_ROUNDS 8

struct orc_addr {
    uint8_t ip;
    uint16_t port;
};

struct orc_peer {
    enum floe__scen_nat kind;
    uint8_t ip;
    struct {
        uint16_t port;
        struct orc_addr to;
    } sent[ORC_MAX]; /* what each mapping (external port) has sent to */
    size_t n_sent;
    struct orc_addr targets[ORC_MAX]; /* the peer's addresses checks go to */
    size_t n_targets;
    uint16_t next_port;
};

static bool orc_eq(struct orc_addr a, struct orc_addr b)
{
    return a.ip == b.ip && a.port == b.port;
}

static enum floe_sim_nat_kind orc_mapping(enum floe__scen_nat k)
{
    if (k <= FLOE__SCEN_EIM_APDF)
        return FLOE_SIM_NAT_ENDPOINT_INDEPENDENT;
    return k == FLOE__SCEN_APDM_APDF ? FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT
                                     : FLOE_SIM_NAT_ADDRESS_DEPENDENT;
}

static enum floe_sim_nat_kind orc_filtering(enum floe__scen_nat k)
{
    if (k == FLOE__SCEN_EIM_EIF)
        return FLOE_SIM_NAT_ENDPOINT_INDEPENDENT;
    return k == FLOE__SCEN_EIM_ADF || k == FLOE__SCEN_ADM_ADF ? FLOE_SIM_NAT_ADDRESS_DEPENDENT
                                                              : FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT;
}

/* RFC 4787 section 4.1: the external port x uses towards `to`. */
static uint16_t orc_port(struct orc_peer *x, struct orc_addr to)
{
    size_t i;

    if (x->kind == FLOE__SCEN_NAT_NONE || to.ip == 0 ||
        orc_mapping(x->kind) == FLOE_SIM_NAT_ENDPOINT_INDEPENDENT)
        return 1;
    for (i = 0; i < x->n_sent; i++) {
        struct orc_addr d = x->sent[i].to;

        if (d.ip == to.ip &&
            (orc_mapping(x->kind) == FLOE_SIM_NAT_ADDRESS_DEPENDENT || d.port == to.port))
            return x->sent[i].port;
    }
    return x->next_port++;
}

static void orc_send(struct orc_peer *x, uint16_t port, struct orc_addr to)
{
    size_t i;

    for (i = 0; i < x->n_sent; i++) {
        if (x->sent[i].port == port && orc_eq(x->sent[i].to, to))
            return;
    }
    if (x->n_sent < ORC_MAX) {
        x->sent[x->n_sent].port = port;
        x->sent[x->n_sent++].to = to;
    }
}

/* RFC 4787 section 5: whether x's mapping `port` lets a packet from `from` in. */
static bool orc_filter(const struct orc_peer *x, uint16_t port, struct orc_addr from)
{
    enum floe_sim_nat_kind f = orc_filtering(x->kind);
    bool mapped = false, pass = false;
    size_t i;

    if (x->kind == FLOE__SCEN_NAT_NONE)
        return true;
    for (i = 0; i < x->n_sent; i++) {
        const struct orc_addr *d = &x->sent[i].to;

        if (x->sent[i].port != port)
            continue;
        mapped = true;
        pass = pass || f == FLOE_SIM_NAT_ENDPOINT_INDEPENDENT ||
               (d->ip == from.ip && (f == FLOE_SIM_NAT_ADDRESS_DEPENDENT || d->port == from.port));
    }
    return mapped && pass;
}

static void orc_target(struct orc_peer *x, struct orc_addr t)
{
    size_t i;

    for (i = 0; i < x->n_targets; i++) {
        if (orc_eq(x->targets[i], t))
            return;
    }
    if (x->n_targets < ORC_MAX)
        x->targets[x->n_targets++] = t;
}

/*
 * x's check to t reaches y through y's filter, y learns the source as peer
 * reflexive (a triggered check follows) and answers from its own mapping
 * towards that source; the check succeeds when the answer comes from t
 * (RFC 8445 section 7.2.5.2.1) through x's filter.
 */
static bool orc_check(struct orc_peer *x, struct orc_peer *y, struct orc_addr t)
{
    uint16_t port = orc_port(x, t), r;
    struct orc_addr src = {x->ip, port}, back;

    if (!orc_filter(y, t.port, src))
        return false;
    orc_target(y, src);
    r = orc_port(y, src);
    orc_send(y, r, src);
    back.ip = y->ip;
    back.port = r;
    return orc_eq(back, t) && orc_filter(x, port, back);
}

static void orc_init(struct orc_peer *p, enum floe__scen_nat kind, uint8_t ip, uint8_t peer_ip)
{
    struct orc_addr stun = {0, 3478}, srflx = {peer_ip, 1};

    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->ip = ip;
    p->next_port = 2;
    if (kind != FLOE__SCEN_NAT_NONE)
        orc_send(p, 1, stun);
    orc_target(p, srflx);
}

bool floe__scen_direct_possible(enum floe__scen_nat a, enum floe__scen_nat b)
{
    struct orc_peer p[2];
    size_t r, i, k;

    orc_init(&p[0], a, 1, 2);
    orc_init(&p[1], b, 2, 1);
    for (r = 0; r < ORC_ROUNDS; r++) {
        for (k = 0; k < 2; k++) {
            for (i = 0; i < p[k].n_targets; i++)
                orc_send(&p[k], orc_port(&p[k], p[k].targets[i]), p[k].targets[i]);
        }
        for (k = 0; k < 2; k++) {
            for (i = 0; i < p[k].n_targets; i++) {
                if (orc_check(&p[k], &p[k ^ 1], p[k].targets[i]))
                    return true;
            }
        }
    }
    return false;
}

struct nat_tally {
    unsigned direct, relay, wrong;
};

static void nat_cell_record(struct floe_sim_verdict *v, struct floe__scen_pair *p,
                            enum floe__scen_nat a, enum floe__scen_nat b, int up)
{
    const struct floe_sim_ice_ep_stats *c = floe_sim_ice_ep_stats(p->ep[0]);
    bool want = floe__scen_direct_possible(a, b);

    if (up == 1)
        floe_sim_verdict_add(
            v, c->connected_at, 0, 0, "client %-9s gateway %-9s: direct via %s -> %s%s",
            floe__scen_nat_name(a), floe__scen_nat_name(b),
            floe_ice_cand_type_name(c->selected.local.type),
            floe_ice_cand_type_name(c->selected.remote.type), want ? "" : "  UNEXPECTED");
    else
        floe_sim_verdict_add(v, floe_sim_now(p->sim), 0, 0,
                             "client %-9s gateway %-9s: no direct path: needs relay%s",
                             floe__scen_nat_name(a), floe__scen_nat_name(b),
                             want ? "  UNEXPECTED" : "");
}

static int nat_cell(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                    enum floe__scen_nat a, enum floe__scen_nat b, struct nat_tally *t)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    int rc, up;
    bool want = floe__scen_direct_possible(a, b), misdelivered;

    floe__scen_opts_default(&o, so);
    o.seed = so->seed * 100 + (uint64_t)a * FLOE__SCEN_NAT_KINDS + (uint64_t)b;
    o.nat[0] = a;
    o.nat[1] = b;
    rc = floe__scen_pair_setup(&p, &o);
    up = rc == 0 ? floe__scen_run_until_up(&p, NAT_CELL_LIMIT) : rc;
    if (up < 0) {
        floe__scen_pair_free(&p);
        return floe__scen_setup_failed(v, "nat cell", up);
    }
    nat_cell_record(v, &p, a, b, up);
    misdelivered = floe_sim_ice_ep_stats(p.ep[0])->data_misdelivered ||
                   floe_sim_ice_ep_stats(p.ep[1])->data_misdelivered;
    if ((up == 1) != want || misdelivered)
        t->wrong++;
    else if (up == 1)
        t->direct++;
    else
        t->relay++;
    floe__scen_pair_free(&p);
    return 0;
}

int floe__scen_nat_matrix(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct nat_tally t = {0};
    int a, b, rc;

    for (a = 0; a < FLOE__SCEN_NAT_KINDS; a++) {
        for (b = 0; b < FLOE__SCEN_NAT_KINDS; b++) {
            rc = nat_cell(so, v, (enum floe__scen_nat)a, (enum floe__scen_nat)b, &t);
            if (rc != 0)
                return rc;
        }
    }
    floe_sim_verdict_set(v, t.wrong == 0,
                         "%u cells connected directly, %u need a relay, %u differ from RFC 4787",
                         t.direct, t.relay, t.wrong);
    return 0;
}
