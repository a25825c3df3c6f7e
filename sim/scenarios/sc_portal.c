/*
 * node-portal-outage (issue #12): the real portal protocol client on both devices, the
 * simulated portal between them (portal_sim.h), and the portal going down shortly before a
 * client roam. No candidate may be lost: what the client's node emitted while its protocol
 * client was not joined reaches the gateway after the reconnect, in order, invalidations
 * too; the session is kept and data flows again after the roam.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal_sim.h"

#define PSC_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))

/* One run: when the portal goes down and comes back around a roam at roam_at. */
struct psc_spec {
    const char *what;
    floe_time down_at, roam_at, dead, up_at;
    bool long_outage; /* data again before the portal is back (over the relay) */
    bool silent;      /* the portal's host vanishes: no resets, connections die unread */
};

struct psc_run {
    struct node_pair pair;
    struct portal_sim portal;
    struct portal_sim_dev dev[2];
    const struct psc_spec *sp;
    floe_time recovered_before_up; /* the client's recovery as seen just before up_at */
    enum floe_node_path_kind path_before_up;
};

static void psc_down(struct floe_sim *sim, void *user)
{
    struct psc_run *r = user;

    (void)sim;
    r->dev[0].outage_at = r->dev[1].outage_at = floe_sim_now(sim);
    r->portal.silent = r->sp->silent;
    portal_sim_set_down(&r->portal, true);
}

static void psc_up(struct floe_sim *sim, void *user)
{
    struct psc_run *r = user;
    struct floe_node_conn_stats st;

    (void)sim;
    r->recovered_before_up = floe_time_min(r->pair.ep[0].recovered_at, r->pair.ep[1].recovered_at);
    if (r->pair.ep[0].recovered_at == FLOE_TIME_NEVER ||
        r->pair.ep[1].recovered_at == FLOE_TIME_NEVER)
        r->recovered_before_up = FLOE_TIME_NEVER;
    if (floe_node_conn_stats(r->pair.ep[0].node, r->pair.ep[0].cid, &st) == 0)
        r->path_before_up = st.path.kind;
    portal_sim_set_down(&r->portal, false);
}

static int psc_setup(struct psc_run *r, const struct floe_sim_scenario_opts *so,
                     struct floe_sim_verdict *v, uint8_t group)
{
    struct floe_addr addr = floe_addr_v4(203, 0, 113, 10, 0);
    struct node_pair_opts o;
    uint32_t host, iface;
    int rc;

    node_pair_opts_default(&o, so);
    o.seed = so->seed * 100 + 50 + group;
    o.no_connect = true; /* the portal's authorization makes the connection */
    o.v = v;
    o.group = group;
    rc = node_pair_setup(&r->pair, &o);
    if (rc == 0)
        rc = floe_sim_host_add(r->pair.sim, "portal", &host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(r->pair.sim, host, r->pair.inet, &addr, &iface);
    r->portal.v = v;
    r->portal.hold_offline = true;
    r->portal.group = group;
    if (rc == 0)
        rc = portal_sim_start(&r->portal, r->pair.sim, host, &addr, o.seed * 3 + 1);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = portal_sim_dev_start(&r->dev[i], &r->pair, &r->portal, i, o.seed * 5 + (uint64_t)i);
    return rc;
}

static void psc_free(struct psc_run *r)
{
    portal_sim_dev_free(&r->dev[0]);
    portal_sim_dev_free(&r->dev[1]);
    node_pair_free(&r->pair);
    portal_sim_free(&r->portal);
}

/* Whether cand is announced (true) or withdrawn at the end of log[0..n). */
static bool psc_alive(const struct portal_sim_rec *log, uint32_t n, const char *cand)
{
    bool alive = false;

    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(log[i].cand, cand) == 0)
            alive = !log[i].invalidate;
    }
    return alive;
}

/* The end states agree: every candidate alive at the sender is alive at the receiver and
 * the other way round. */
static bool psc_same_view(const struct portal_sim_dev *from, const struct portal_sim_dev *to)
{
    for (uint32_t i = 0; i < from->n_sent; i++) {
        if (psc_alive(from->sent, from->n_sent, from->sent[i].cand) !=
            psc_alive(to->recv, to->n_recv, from->sent[i].cand))
            return false;
    }
    for (uint32_t i = 0; i < to->n_recv; i++) {
        if (psc_alive(to->recv, to->n_recv, to->recv[i].cand) &&
            !psc_alive(from->sent, from->n_sent, to->recv[i].cand))
            return false;
    }
    return true;
}

/* Whether record s of `from` falls in the outage: from its start to the first join after. */
static bool psc_in_outage(const struct portal_sim_dev *from, const struct portal_sim_rec *s)
{
    return s->at >= from->outage_at && s->at < from->rejoined_at;
}

/*
 * Every record `from` made during the outage (held, or written on a connection that was
 * already dead) must arrive at `to` after it was made, in order per kind. An announcement
 * withdrawn later in the outage is exempt (docs/protocol.md section 6: the hold removes it,
 * the invalidation is still sent), and so is an invalidation of a candidate announced again
 * later. Returns the number that had to arrive, or -1 when one is missing.
 */
static int psc_outage_arrived(const struct portal_sim_dev *from, const struct portal_sim_dev *to,
                              bool invalidate)
{
    uint32_t j = 0;
    int n = 0;

    for (uint32_t i = 0; i < from->n_sent; i++) {
        const struct portal_sim_rec *s = &from->sent[i];
        bool superseded = false;

        if (!psc_in_outage(from, s) || s->invalidate != invalidate)
            continue;
        for (uint32_t k = i + 1; k < from->n_sent && !superseded; k++)
            superseded = psc_in_outage(from, &from->sent[k]) &&
                         from->sent[k].invalidate != invalidate &&
                         strcmp(from->sent[k].cand, s->cand) == 0;
        if (superseded)
            continue;
        n++;
        while (j < to->n_recv && (to->recv[j].invalidate != invalidate || to->recv[j].at < s->at ||
                                  strcmp(to->recv[j].cand, s->cand)))
            j++;
        if (j == to->n_recv)
            return -1;
        j++;
    }
    return n;
}

static const char *psc_judge(struct psc_run *r, floe_time back, int *held_new, int *held_inv)
{
    const struct node_pair *p = &r->pair;
    struct floe_node_conn_stats st;
    struct floe_portal_client_stats cs;

    floe_portal_client_get_stats(r->dev[0].pc, &cs);
    *held_new = psc_outage_arrived(&r->dev[0], &r->dev[1], false);
    *held_inv = psc_outage_arrived(&r->dev[0], &r->dev[1], true);
    if (p->ep[0].failed_at != FLOE_TIME_NEVER || p->ep[1].failed_at != FLOE_TIME_NEVER)
        return "a side reported failed";
    if (p->ep[0].established != 1 || p->ep[1].established != 1)
        return "the session was not kept (established again)";
    for (int i = 0; i < 2; i++) {
        if (floe_node_conn_stats(p->ep[i].node, p->ep[i].cid, &st) != 0 || st.handshakes != 1)
            return "the session was not kept (a new WireGuard handshake)";
    }
    if (p->ep[0].rx_dups || p->ep[1].rx_dups || p->ep[0].rx_wrong || p->ep[1].rx_wrong)
        return "a packet arrived twice or at the wrong peer";
    if (cs.disconnects < 1 || (r->dev[0].max_attempt < 2 && r->dev[1].max_attempt < 2))
        return "the protocol client's backoff was not exercised";
    if (r->sp->long_outage && !r->sp->silent && r->dev[0].refused + r->dev[1].refused < 1)
        return "no reconnect was refused";
    if (*held_new < 0)
        return "a candidate emitted while the portal was down never reached the gateway";
    if (*held_inv < 0)
        return "an invalidation emitted while the portal was down never reached the gateway";
    if (*held_new == 0 || *held_inv == 0)
        return "no candidate and no invalidation in the outage (it missed the roam)";
    if (!psc_same_view(&r->dev[0], &r->dev[1]) || !psc_same_view(&r->dev[1], &r->dev[0]))
        return "the candidates the peers hold differ from what was announced";
    if (p->ep[0].recovered_at == FLOE_TIME_NEVER || p->ep[1].recovered_at == FLOE_TIME_NEVER)
        return "no data both ways after the roam";
    if (r->sp->long_outage && r->recovered_before_up == FLOE_TIME_NEVER)
        return "no data both ways while the portal was down";
    (void)back;
    return NULL;
}

static int psc_schedule(struct psc_run *r)
{
    const struct psc_spec *sp = r->sp;
    struct node_pair *p = &r->pair;
    int rc = floe_sim_run_until(p->sim, sp->down_at);

    if (rc == 0)
        psc_down(p->sim, r);
    if (rc == 0)
        rc = floe_sim_at(p->sim, sp->up_at, psc_up, r);
    if (rc == 0)
        rc = floe_sim_run_until(p->sim, sp->roam_at);
    if (rc == 0)
        rc = floe_sim_host_roam(p->sim, p->ep[0].host, 0, p->roam_net, &p->roam_ip, sp->dead);
    p->ep[0].mark_at = p->ep[1].mark_at = sp->roam_at + sp->dead;
    p->ep[0].mark_seq = p->ep[1].seq_tx;
    p->ep[1].mark_seq = p->ep[0].seq_tx;
    return rc;
}

static int psc_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v,
                   uint8_t group, const struct psc_spec *sp, const char **bad)
{
    struct psc_run *r = calloc(1, sizeof(*r));
    floe_time back = sp->roam_at + sp->dead,
              end = (back > sp->up_at ? back : sp->up_at) + FLOE_SEC(15);
    int rc, held_new = 0, held_inv = 0;

    if (!r)
        return floe__scen_setup_failed(v, "node-portal-outage run", FLOE_ERR_NOMEM);
    r->sp = sp;
    r->recovered_before_up = FLOE_TIME_NEVER;
    rc = psc_setup(r, so, v, group);
    if (rc == 0)
        node_pair_traffic(&r->pair, FLOE_MS(20), FLOE_TIME_NEVER);
    if (rc == 0 && (rc = floe_sim_run_until(r->pair.sim, sp->down_at)) == 0 &&
        !(r->pair.ep[0].established && r->pair.ep[1].established))
        *bad = "not up through the portal before the outage";
    if (rc == 0)
        rc = psc_schedule(r);
    if (rc == 0)
        rc = floe_sim_run_until(r->pair.sim, end);
    if (rc == 0 && !*bad)
        *bad = psc_judge(r, back, &held_new, &held_inv);
    if (rc == 0 && r->pair.ep[0].recovered_at != FLOE_TIME_NEVER &&
        r->pair.ep[1].recovered_at != FLOE_TIME_NEVER)
        floe_sim_verdict_outage(v, (r->pair.ep[0].recovered_at > r->pair.ep[1].recovered_at
                                        ? r->pair.ep[0].recovered_at
                                        : r->pair.ep[1].recovered_at) -
                                       back);
    if (rc == 0)
        floe_sim_verdict_add(
            v, floe_sim_now(r->pair.sim), 0, group,
            "=> %d candidates, %d invalidations delivered; data again %lld ms after the network "
            "came back (%s)%s%s",
            held_new, held_inv,
            r->pair.ep[0].recovered_at == FLOE_TIME_NEVER
                ? -1LL
                : (long long)PSC_MS(r->pair.ep[0].recovered_at - back),
            r->recovered_before_up == FLOE_TIME_NEVER ? "portal first"
                                                      : floe_node_path_kind_name(r->path_before_up),
            *bad ? ": " : "", *bad ? *bad : "");
    psc_free(r);
    free(r);
    return rc < 0 ? floe__scen_setup_failed(v, "node-portal-outage run", rc) : 0;
}

int floe__scen_node_portal_outage(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v)
{
    static const struct psc_spec specs[] = {
        {"portal down 11.5-13 s, client roams at 12 s, 2 s dead: back before the network",
         FLOE_MS(11500), FLOE_SEC(12), FLOE_SEC(2), FLOE_SEC(13), false, false},
        {"portal down 11.5-19 s across the whole roam at 12 s (0.5 s dead) and its invalidations",
         FLOE_MS(11500), FLOE_SEC(12), FLOE_MS(500), FLOE_SEC(19), true, false},
        {"portal host gone 11.5-16 s, no resets: the roam's candidates go into a dead connection",
         FLOE_MS(11500), FLOE_SEC(12), FLOE_MS(500), FLOE_SEC(16), true, true},
    };
    const char *bad = NULL;
    uint8_t i, n = sizeof(specs) / sizeof(specs[0]);
    int rc;

    snprintf(v->lanes[0], FLOE_SIM_LANE_NAME, "portal protocol client on both nodes");
    for (i = 0; i < n && !bad; i++) {
        floe_sim_verdict_add(v, 0, 0, i, "%s", specs[i].what);
        rc = psc_run(so, v, i, &specs[i], &bad);
        if (rc)
            return rc;
    }
    if (bad)
        floe_sim_verdict_set(v, false, "run %u: %s", (unsigned)(i - 1), bad);
    else
        floe_sim_verdict_set(v, true,
                             "%u runs: every candidate and invalidation of the outage "
                             "reached the gateway in order, session kept, data again",
                             (unsigned)n);
    return 0;
}
