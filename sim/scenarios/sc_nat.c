/*
 * nat-matrix: the client and the gateway each behind every NAT kind (or none).
 * Each cell must connect directly exactly where RFC 4787 behaviour allows a
 * direct path, and must not where it does not (those cells need a relay).
 */
#include <stdio.h>

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

static bool nat_eim(enum floe__scen_nat k)
{
    return k <= FLOE__SCEN_EIM_APDF;
}

static bool nat_apdf(enum floe__scen_nat k)
{
    return k == FLOE__SCEN_EIM_APDF || k == FLOE__SCEN_ADM_APDF || k == FLOE__SCEN_APDM_APDF;
}

/*
 * A peer without NAT is reachable at its host address. Two endpoint-independent
 * mappings make both server-reflexive addresses stable: checks from each side
 * open the other's filter. When only one side (D) maps per destination, its
 * checks arrive from a port the other side (E) never sent to: E's filter lets
 * them in unless it is port-dependent (RFC 4787 section 5), and E's answers
 * come back from E's stable address, which D did send to. When both map per
 * destination, each learns the other's new port only from a request that got
 * through; with address-dependent mapping the port towards one peer address
 * stays the same, so triggered checks succeed if neither filter is
 * port-dependent; with address-and-port-dependent mapping every new
 * destination port is a new mapping, and nothing gets through.
 */
bool floe__scen_direct_possible(enum floe__scen_nat a, enum floe__scen_nat b)
{
    if (a == FLOE__SCEN_NAT_NONE || b == FLOE__SCEN_NAT_NONE)
        return true;
    if (nat_eim(a) && nat_eim(b))
        return true;
    if (nat_eim(a) != nat_eim(b))
        return !nat_apdf(nat_eim(a) ? a : b);
    return a == FLOE__SCEN_ADM_ADF && b == FLOE__SCEN_ADM_ADF;
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
