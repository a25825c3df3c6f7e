/*
 * roam-mid-session: with data flowing, the client's interface moves to
 * another network behind another kind of NAT (a 300 ms dead period, as when
 * Wi-Fi hands over to cellular). The client invalidates its old candidates
 * and gathers again; the new candidates must move both ends to the new path
 * quickly. Reported: the time from the new address being usable to the new
 * selected pair on each side and to data arriving over it.
 */
#include <stdio.h>

#include "scen_int.h"

#define ROAM_DEAD FLOE_MS(300)
/*
 * DESIGN.md's roam budget: data flowing again within 0.5 s of the new network
 * being usable. Every network loses 1 %, and each datagram lost meanwhile may
 * cost the next retransmission timeout of one check (250 ms, doubling): n
 * losses add at most 250 ms x (2^n - 1).
 */
#define ROAM_BOUND FLOE_MS(500)
#define ROAM_RTO FLOE_MS(250)
#define ROAM_LOSSES_MAX 6

struct roam_run {
    struct floe__scen_pair p;
    floe_time usable;
    uint64_t lost_before;     /* datagrams the networks had lost when the address was usable */
    struct floe_addr new_ext; /* the roam NAT's external IP */
};

/* Whether ep's selected pair uses ip on the side given by local. */
static bool roam_on(const struct floe_sim_ice_ep *ep, const struct floe_addr *ip, bool local)
{
    const struct floe_sim_ice_ep_stats *s = floe_sim_ice_ep_stats(ep);

    if (!s->has_selected || s->state != FLOE_ICE_CONNECTED)
        return false;
    return floe_addr_ip_eq(local ? &s->selected.path.local : &s->selected.remote.addr, ip);
}

static bool roam_moved(struct floe_sim *sim, void *user)
{
    const struct roam_run *r = user;
    const struct floe_sim_ice_ep *c = r->p.ep[0], *g = r->p.ep[1];

    (void)sim;
    return roam_on(c, &r->p.roam_ip, true) && roam_on(g, &r->new_ext, false) &&
           floe_sim_ice_ep_stats(c)->data_last_at > r->usable &&
           floe_sim_ice_ep_stats(g)->data_last_at > r->usable;
}

static int roam_drive(struct roam_run *r)
{
    struct floe_sim *sim = r->p.sim;
    int rc = floe__scen_run_until_up(&r->p, FLOE_SEC(10));

    if (rc == 1)
        rc = floe_sim_run_until(sim, floe_sim_now(sim) + FLOE_SEC(2));
    if (rc != 0)
        return rc < 0 ? rc : FLOE_ERR_TIMEOUT;
    r->usable = floe_sim_now(sim) + ROAM_DEAD;
    r->lost_before = floe_sim_counters(sim)->dropped[FLOE_SIM_DROP_LOSS];
    rc = floe_sim_host_roam(sim, r->p.host[FLOE__SCEN_CLIENT], 0, r->p.roam_net, &r->p.roam_ip,
                            ROAM_DEAD);
    if (rc == 0)
        rc = floe_sim_run_until_pred(sim, roam_moved, r, r->usable + FLOE_SEC(10));
    return rc < 0 ? rc : 0;
}

static void roam_report(struct floe_sim_verdict *v, const struct roam_run *r)
{
    const struct floe_sim_ice_ep_stats *c = floe_sim_ice_ep_stats(r->p.ep[0]);
    const struct floe_sim_ice_ep_stats *g = floe_sim_ice_ep_stats(r->p.ep[1]);
    bool moved = roam_moved(r->p.sim, (void *)r);
    floe_time cs = c->selected_at - r->usable, gs = g->selected_at - r->usable;
    floe_time outage = floe_sim_ice_ep_outage(r->p.ep[0]), bound;
    uint64_t lost;

    if (floe_sim_ice_ep_outage(r->p.ep[1]) > outage)
        outage = floe_sim_ice_ep_outage(r->p.ep[1]);
    floe_sim_verdict_outage(v, outage);
    floe_sim_verdict_add(v, r->usable, 0, 0, "new address usable");
    if (!moved) {
        floe_sim_verdict_set(v, false, "the pair did not move to the new path within 10 s");
        return;
    }
    floe_sim_verdict_add(v, c->selected_at, 0, 0, "client on the new path after %.1f ms",
                         (double)cs / 1e6);
    floe_sim_verdict_add(v, g->selected_at, 0, 0, "gateway on the new path after %.1f ms",
                         (double)gs / 1e6);
    floe_sim_verdict_add(v, floe_sim_now(r->p.sim), 0, 0,
                         "data both ways on the new path after %.1f ms",
                         (double)(floe_sim_now(r->p.sim) - r->usable) / 1e6);
    lost = floe_sim_counters(r->p.sim)->dropped[FLOE_SIM_DROP_LOSS] - r->lost_before;
    bound =
        ROAM_BOUND + ROAM_RTO * ((1ull << (lost < ROAM_LOSSES_MAX ? lost : ROAM_LOSSES_MAX)) - 1);
    floe_sim_verdict_set(
        v,
        floe_sim_now(r->p.sim) - r->usable <= bound && !c->data_misdelivered &&
            !g->data_misdelivered && c->failed_at == FLOE_TIME_NEVER,
        "new selected pair %.1f ms (client) / %.1f ms (gateway) after the new "
        "address was usable; data both ways after %.1f ms (bound %.0f ms: %llu lost)",
        (double)cs / 1e6, (double)gs / 1e6, (double)(floe_sim_now(r->p.sim) - r->usable) / 1e6,
        (double)bound / 1e6, (unsigned long long)lost);
}

int floe__scen_roam_mid_session(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    struct floe__scen_opts o;
    struct roam_run r;
    int rc;

    floe__scen_opts_default(&o, so);
    o.nat[FLOE__SCEN_CLIENT] = FLOE__SCEN_EIM_APDF;
    o.nat[FLOE__SCEN_GATEWAY] = FLOE__SCEN_EIM_APDF;
    o.roam_nat = FLOE__SCEN_EIM_ADF;
    floe__scen_opts_timeline(&o, v, 0, 0);
    r.new_ext = floe_addr_v4(198, 51, 100, 30, 0);
    rc = floe__scen_pair_setup(&r.p, &o);
    if (rc == 0)
        rc = roam_drive(&r);
    if (rc != 0) {
        floe__scen_pair_free(&r.p);
        return floe__scen_setup_failed(v, "roam run", rc);
    }
    roam_report(v, &r);
    floe__scen_pair_free(&r.p);
    return 0;
}
