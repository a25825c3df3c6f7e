/*
 * The ICE endpoint adapter: one floe_ice agent driven as a simulator endpoint
 * the way the connection manager will drive it. It gathers host candidates
 * from its host's interfaces and server-reflexive ones from the STUN server,
 * trickles them over the signalling channel, records every agent event with
 * its virtual time, and on a roam invalidates the old address's candidates
 * and gathers again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ice_ep_int.h"

void floe_sim_ice_ep_config_default(struct floe_sim_ice_ep_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->name = "ice";
    floe_ice_config_default(&cfg->ice);
    cfg->port = 50000;
    cfg->stun_rto = FLOE_MS(250);
    cfg->stun_max_sends = 7;
    cfg->data_interval = FLOE_MS(100);
}

void floe__iceep_note(struct floe_sim_ice_ep *ep, const char *fmt, ...)
{
    char text[FLOE_SIM_TL_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    floe_sim_note(ep->sim, ep->name, text);
    floe_sim_verdict_add(ep->cfg.timeline, floe_sim_now(ep->sim), ep->cfg.lane, ep->cfg.group,
                         "%s: %s", ep->name, text);
}

static const char *iceep_reason(enum floe_ice_reason r)
{
    static const char *const names[] = {
        "",
        "candidates changed",
        "checks failed",
        "consent lost",
        "pair selected",
        "grace period over",
        "no candidates",
        "restart",
        "closed",
    };

    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void iceep_on_state(struct floe_sim_ice_ep *ep, const struct floe_ice_event *ev)
{
    floe_time now = floe_sim_now(ep->sim);
    enum floe_ice_state to = ev->u.state.to;

    ep->st.state = to;
    ep->st.state_changes++;
    if (to == FLOE_ICE_CONNECTED && ep->st.connected_at == FLOE_TIME_NEVER)
        ep->st.connected_at = now;
    if (to == FLOE_ICE_FAILED && ep->st.failed_at == FLOE_TIME_NEVER)
        ep->st.failed_at = now;
    if (to == FLOE_ICE_DISCONNECTED) {
        ep->st.disconnected_at = now;
        ep->st.disconnected_end = FLOE_TIME_NEVER;
    }
    if (ev->u.state.from == FLOE_ICE_DISCONNECTED)
        ep->st.disconnected_end = now;
    floe__iceep_note(ep, "%s -> %s (%s)", floe_ice_state_name(ev->u.state.from),
                     floe_ice_state_name(to), iceep_reason(ev->u.state.reason));
}

static void iceep_on_selected(struct floe_sim_ice_ep *ep, const struct floe_ice_event *ev)
{
    const struct floe_ice_pair_info *p = &ev->u.selected.pair;
    char l[FLOE_ADDR_STRLEN] = "?", r[FLOE_ADDR_STRLEN] = "?";

    ep->st.selected_changes++;
    ep->st.has_selected = ev->u.selected.has_pair;
    if (!ev->u.selected.has_pair) {
        floe__iceep_note(ep, "selected pair cleared");
        return;
    }
    ep->st.selected = *p;
    ep->st.selected_at = floe_sim_now(ep->sim);
    floe_addr_format(&p->path.local, l, sizeof(l));
    floe_addr_format(&p->remote.addr, r, sizeof(r));
    floe__iceep_note(ep, "selected %s %s -> %s %s", floe_ice_cand_type_name(p->local.type), l,
                     floe_ice_cand_type_name(p->remote.type), r);
}

/* Drain the agent's events into the stats, transcript and timeline. */
void floe__iceep_events(struct floe_sim_ice_ep *ep)
{
    struct floe_ice_event ev;
    char a[FLOE_ADDR_STRLEN] = "?";

    while (floe_ice_poll_event(ep->agent, &ev) == 1) {
        switch (ev.type) {
        case FLOE_ICE_EV_STATE:
            iceep_on_state(ep, &ev);
            break;
        case FLOE_ICE_EV_SELECTED_PAIR:
            iceep_on_selected(ep, &ev);
            break;
        case FLOE_ICE_EV_ROLE:
            ep->st.role_switches++;
            floe__iceep_note(ep, "role conflict: now %s",
                             ev.u.role == FLOE_ICE_CONTROLLING ? "controlling" : "controlled");
            break;
        default:
            floe_addr_format(&ev.u.candidate.addr, a, sizeof(a));
            floe__iceep_note(ep, "learned %s prflx %s",
                             ev.type == FLOE_ICE_EV_LOCAL_PRFLX ? "local" : "remote", a);
            break;
        }
    }
}

void floe__iceep_send_cand(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind,
                           const struct floe_ice_candidate *c)
{
    struct floe__sim_sig_body b;

    if (!ep->sig || !ep->trickle)
        return;
    memset(&b, 0, sizeof(b));
    b.cand = *c;
    floe__sim_signal_send(ep->sig, ep->side, kind, &b);
}

/* Send the agent's current credentials as an offer or an answer. */
void floe__iceep_send_creds(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind)
{
    struct floe__sim_sig_body b;
    const char *u, *p;

    if (!ep->sig)
        return;
    memset(&b, 0, sizeof(b));
    floe_ice_get_local_credentials(ep->agent, &u, &p);
    snprintf(b.ufrag, sizeof(b.ufrag), "%s", u);
    snprintf(b.pwd, sizeof(b.pwd), "%s", p);
    floe__sim_signal_send(ep->sig, ep->side, kind, &b);
}

/*
 * Give the agent a local candidate and trickle it to the peer. A candidate the
 * agent has already (a relay and the STUN server seeing the same mapping) is
 * not trickled twice.
 */
void floe__iceep_add_local(struct floe_sim_ice_ep *ep, const struct floe_ice_candidate *c)
{
    struct floe_ice_stats before, after;
    int rc;

    floe_ice_get_stats(ep->agent, &before);
    rc = floe_ice_add_local_candidate(ep->agent, floe_sim_now(ep->sim), c);
    floe_ice_get_stats(ep->agent, &after);
    floe__iceep_events(ep);
    if (rc != 0) {
        if (!ep->local_refusal_noted)
            floe__iceep_note(ep, "local candidate refused: %s", floe_strerror(rc));
        ep->local_refusal_noted = true;
        return;
    }
    if (after.n_local == before.n_local)
        return;
    ep->st.gathered++;
    floe__iceep_send_cand(ep, FLOE__SIM_SIG_ADD, c);
}

/* Start the server-reflexive Binding transaction of one host base. */
static void iceep_start_stun(struct floe_sim_ice_ep *ep, const struct floe_addr *base)
{
    struct iceep_gather *g = NULL;
    uint64_t r[2];
    size_t i;

    if (ep->cfg.stun.family != base->family)
        return;
    for (i = 0; i < FLOE_SIM_HOST_IFACES && !g; i++) {
        if (!ep->g[i].active)
            g = &ep->g[i];
    }
    if (!g)
        return;
    memset(g, 0, sizeof(*g));
    r[0] = floe_sim_rand(ep->sim);
    r[1] = floe_sim_rand(ep->sim);
    memcpy(g->txid, r, FLOE_STUN_TXID_LEN);
    g->active = true;
    g->send_due = true;
    g->base = *base;
    g->rto = ep->cfg.stun_rto;
    g->next = floe_sim_now(ep->sim);
}

/* Host candidate of one interface address, and its server-reflexive query. */
void floe__iceep_gather_ip(struct floe_sim_ice_ep *ep, const struct floe_addr *ip)
{
    struct floe_ice_candidate c;

    if (ep->cfg.relay_only)
        return;
    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_HOST;
    c.addr = *ip;
    c.addr.port = ep->cfg.port;
    c.base = c.addr;
    floe__iceep_add_local(ep, &c);
    iceep_start_stun(ep, &c.addr);
}

/*
 * Interfaces that lead nowhere (VPNs, containers): host candidates ranked by
 * local policy below server-reflexive ones, whose checks the simulator drops.
 */
static void iceep_add_decoys(struct floe_sim_ice_ep *ep)
{
    struct floe_ice_candidate c;
    uint32_t k;

    for (k = 0; k < ep->cfg.decoys; k++) {
        memset(&c, 0, sizeof(c));
        c.type = FLOE_ICE_HOST;
        c.addr = floe_addr_v4(100, 64 + ep->cfg.id, (uint8_t)(k / 250), (uint8_t)(1 + k % 250),
                              ep->cfg.port);
        c.priority = (uint32_t)(50u << 24 | (1000u + k) << 8 | 255u);
        floe__iceep_add_local(ep, &c);
    }
}

void floe__iceep_gather_all(struct floe_sim_ice_ep *ep)
{
    struct floe_addr ip;
    uint32_t i;

    ep->gather_at = FLOE_TIME_NEVER;
    floe__iceep_note(ep, "gathering local candidates");
    for (i = 0; floe_sim_host_addr(ep->sim, ep->host, i, &ip) == 0; i++)
        floe__iceep_gather_ip(ep, &ip);
    iceep_add_decoys(ep);
    floe__iceep_turn_start(ep);
}

/* A roam: the candidates based on the old address are gone (local and, via signalling, remote). */
void floe__iceep_invalidate(struct floe_sim_ice_ep *ep, const struct floe_addr *old_ip)
{
    struct floe_ice_candidate c[ICEEP_MAX_LOCALS];
    size_t n = floe_ice_get_local_candidates(ep->agent, c, ICEEP_MAX_LOCALS), i;
    floe_time now = floe_sim_now(ep->sim);

    for (i = 0; i < FLOE_SIM_HOST_IFACES; i++) {
        if (ep->g[i].active && floe_addr_ip_eq(&ep->g[i].base, old_ip))
            ep->g[i].active = false;
    }
    for (i = 0; i < n; i++) {
        if (!floe_addr_ip_eq(&c[i].base, old_ip))
            continue;
        if (floe_ice_remove_local_candidate(ep->agent, now, &c[i]) == 0)
            ep->st.removed++;
        floe__iceep_send_cand(ep, FLOE__SIM_SIG_REMOVE, &c[i]);
    }
    floe__iceep_events(ep);
}

/*
 * Trickle every local candidate (again, when the peer restarted and forgot
 * them); peer-reflexive ones are learned, not signalled.
 */
static void iceep_retrickle(struct floe_sim_ice_ep *ep)
{
    struct floe_ice_candidate c[ICEEP_MAX_LOCALS];
    size_t n = floe_ice_get_local_candidates(ep->agent, c, ICEEP_MAX_LOCALS), i;

    for (i = 0; i < n; i++) {
        if (c[i].type != FLOE_ICE_PRFLX)
            floe__iceep_send_cand(ep, FLOE__SIM_SIG_ADD, &c[i]);
    }
}

/*
 * The peer's credentials. An offer with credentials other than those known
 * is the peer restarting: restart too (keeping the local candidates), answer
 * with the new credentials and trickle the candidates again.
 */
static void iceep_creds_in(struct floe_sim_ice_ep *ep, floe_time now, enum floe__sim_sig_kind kind,
                           const struct floe__sim_sig_body *b)
{
    bool first = kind == FLOE__SIM_SIG_OFFER && !ep->trickle;
    bool restart = kind == FLOE__SIM_SIG_OFFER && ep->remote_ufrag[0] &&
                   strcmp(ep->remote_ufrag, b->ufrag) != 0;
    int rc;

    if (restart) {
        floe__iceep_note(ep, "peer restarted: ICE restart, candidates sent again");
        floe_ice_restart(ep->agent, now, true);
        floe__iceep_events(ep);
    }
    rc = floe_ice_set_remote_credentials(ep->agent, now, b->ufrag, b->pwd);
    if (rc != 0)
        floe__iceep_note(ep, "remote credentials refused: %s", floe_strerror(rc));
    snprintf(ep->remote_ufrag, sizeof(ep->remote_ufrag), "%s", b->ufrag);
    if (kind == FLOE__SIM_SIG_OFFER)
        floe__iceep_send_creds(ep, FLOE__SIM_SIG_ANSWER);
    ep->trickle = true;
    if (restart || first)
        iceep_retrickle(ep);
}

static void iceep_cand_in(struct floe_sim_ice_ep *ep, floe_time now,
                          const struct floe_ice_candidate *cand)
{
    int rc = floe_ice_add_remote_candidate(ep->agent, now, cand);

    if (rc == 0)
        ep->st.remote_added++;
    else
        ep->st.remote_rejected++;
    if (rc != 0 && !ep->remote_refusal_noted)
        floe__iceep_note(ep, "remote candidate refused: %s", floe_strerror(rc));
    ep->remote_refusal_noted = ep->remote_refusal_noted || rc != 0;
}

void floe__sim_ice_ep_signal_in(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind,
                                const struct floe__sim_sig_body *body)
{
    floe_time now = floe_sim_now(ep->sim);

    if (kind == FLOE__SIM_SIG_REMOVE)
        floe_ice_remove_remote_candidate(ep->agent, now, &body->cand);
    else if (kind == FLOE__SIM_SIG_ADD)
        iceep_cand_in(ep, now, &body->cand);
    else
        iceep_creds_in(ep, now, kind, body);
    floe__iceep_events(ep);
    floe_sim_endpoint_drive(ep->sim, ep->ep);
}

int floe_sim_ice_ep_new(struct floe_sim *sim, uint32_t host,
                        const struct floe_sim_ice_ep_config *cfg, struct floe_sim_ice_ep **out)
{
    struct floe_sim_ice_ep *ep;
    struct floe_ice_config ic;
    struct floe_addr bind = {.family = FLOE_AF_NONE};
    int rc;

    if (!sim || !cfg || !out || !cfg->port || (cfg->stun.family && !cfg->stun_max_sends))
        return FLOE_ERR_INVALID_ARG;
    ep = floe_mem_calloc(&cfg->ice.alloc, 1, sizeof(*ep));
    if (!ep)
        return FLOE_ERR_NOMEM;
    ep->sim = sim;
    ep->cfg = *cfg;
    ep->host = host;
    snprintf(ep->name, sizeof(ep->name), "%s", cfg->name ? cfg->name : "ice");
    ep->gather_at = FLOE_TIME_NEVER;
    ep->st.connected_at = ep->st.failed_at = ep->st.disconnected_at = FLOE_TIME_NEVER;
    ep->st.disconnected_end = ep->st.response_last_at = ep->st.stun_first_at = FLOE_TIME_NEVER;
    ep->st.selected_at = ep->st.data_first_at = ep->st.data_last_at = FLOE_TIME_NEVER;
    ep->st.relayed_at = FLOE_TIME_NEVER;
    ic = cfg->ice;
    ic.rng = floe_sim_rng(sim);
    rc = floe_ice_new(&ep->agent, &ic, floe_sim_now(sim));
    if (rc == 0)
        rc = floe__iceep_turn_new(ep);
    bind.port = cfg->port;
    if (rc == 0)
        rc = floe_sim_attach(sim, host, &bind, ep->name, &floe__iceep_ops, ep, &ep->ep);
    if (rc != 0) {
        floe_sim_ice_ep_free(ep);
        return rc;
    }
    ep->attached = true;
    *out = ep;
    return 0;
}

void floe_sim_ice_ep_free(struct floe_sim_ice_ep *ep)
{
    struct floe_allocator a;

    if (!ep)
        return;
    a = ep->cfg.ice.alloc;
    floe_ice_free(ep->agent);
    floe_turn_free(ep->turn);
    floe_mem_free(&a, ep);
}

int floe_sim_ice_ep_pair(struct floe_sim_ice_ep *a, struct floe_sim_ice_ep *b,
                         struct floe_sim_signal *sig)
{
    if (!a || !b || !sig || a == b)
        return FLOE_ERR_INVALID_ARG;
    a->sig = b->sig = sig;
    a->side = 0;
    b->side = 1;
    floe__sim_signal_attach(sig, a, b);
    floe__iceep_send_creds(a, FLOE__SIM_SIG_OFFER);
    a->trickle = true;
    iceep_retrickle(a);
    return 0;
}

int floe_sim_ice_ep_start(struct floe_sim_ice_ep *ep)
{
    if (!ep || ep->started)
        return FLOE_ERR_INVALID_ARG;
    ep->started = true;
    ep->gather_at = floe_time_add(floe_sim_now(ep->sim), ep->cfg.gather_delay);
    ep->data_next = floe_sim_now(ep->sim);
    return floe_sim_endpoint_drive(ep->sim, ep->ep);
}

int floe_sim_ice_ep_gather(struct floe_sim_ice_ep *ep)
{
    if (!ep || !ep->started)
        return FLOE_ERR_INVALID_ARG;
    floe__iceep_gather_all(ep);
    return floe_sim_endpoint_drive(ep->sim, ep->ep);
}

const struct floe_sim_ice_ep_stats *floe_sim_ice_ep_stats(const struct floe_sim_ice_ep *ep)
{
    return &ep->st;
}

struct floe_ice_agent *floe_sim_ice_ep_agent(struct floe_sim_ice_ep *ep)
{
    return ep->agent;
}

bool floe_sim_ice_ep_is_up(const struct floe_sim_ice_ep *ep)
{
    return ep->st.has_selected && ep->st.state == FLOE_ICE_CONNECTED && ep->st.data_received > 0;
}

floe_time floe_sim_ice_ep_outage(const struct floe_sim_ice_ep *ep)
{
    floe_time since;

    if (ep->st.data_last_at == FLOE_TIME_NEVER)
        return FLOE_TIME_NEVER;
    since = floe_sim_now(ep->sim) - ep->st.data_last_at;
    return since > ep->st.data_gap_max ? since : ep->st.data_gap_max;
}
