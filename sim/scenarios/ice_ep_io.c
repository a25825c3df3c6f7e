/*
 * The ICE endpoint adapter's simulator verbs: datagrams in (the relay server's
 * to the TURN client, application data, STUN answers to the gatherer,
 * everything else to the agent), datagrams out (TURN requests, Binding
 * requests, the agent's checks, application data on the selected pair, the
 * relayed ones framed by the TURN client), timers and roams.
 */
#include <string.h>

#include "ice_ep_int.h"

void floe__iceep_data_in(struct floe_sim_ice_ep *ep, floe_time now, const uint8_t *bytes)
{
    if (bytes[ICEEP_MAGIC_LEN + 1] != ep->cfg.id) {
        ep->st.data_misdelivered++;
        return;
    }
    ep->st.data_received++;
    if (ep->st.data_first_at == FLOE_TIME_NEVER)
        ep->st.data_first_at = now;
    else if (now - ep->st.data_last_at > ep->st.data_gap_max)
        ep->st.data_gap_max = now - ep->st.data_last_at;
    ep->st.data_last_at = now;
}

/* A Binding success answering one of our gathering transactions: a server-reflexive candidate. */
static bool iceep_stun_in(struct floe_sim_ice_ep *ep, const uint8_t *bytes, size_t len)
{
    struct floe_stun_msg msg;
    struct floe_ice_candidate c;
    struct iceep_gather *g = NULL;
    size_t i;

    if (floe_stun_decode(&msg, bytes, len) != 0 || msg.cls != FLOE_STUN_SUCCESS)
        return false;
    for (i = 0; i < FLOE_SIM_HOST_IFACES && !g; i++) {
        if (ep->g[i].active && memcmp(ep->g[i].txid, msg.txid, FLOE_STUN_TXID_LEN) == 0)
            g = &ep->g[i];
    }
    if (!g)
        return false;
    g->active = false;
    memset(&c, 0, sizeof(c));
    if (floe_stun_get_xor_addr(&msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &c.addr) != 0)
        return true;
    if (ep->st.stun_answers++ == 0)
        ep->st.stun_first_at = floe_sim_now(ep->sim);
    if (floe_addr_eq(&c.addr, &g->base))
        return true; /* no NAT: the host candidate says it all */
    c.type = FLOE_ICE_SRFLX;
    c.base = g->base;
    c.server = ep->cfg.stun;
    floe__iceep_add_local(ep, &c);
    return true;
}

void floe__iceep_agent_input(struct floe_sim_ice_ep *ep, floe_time now,
                             const struct floe_ice_path *path, const struct floe_addr *from,
                             const uint8_t *bytes, size_t len)
{
    struct floe_ice_stats before, after;

    floe_ice_get_stats(ep->agent, &before);
    floe_ice_handle_input(ep->agent, now, path, from, bytes, len);
    floe_ice_get_stats(ep->agent, &after);
    if (after.responses_received > before.responses_received)
        ep->st.response_last_at = now;
}

static void iceep_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                               const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct floe_sim_ice_ep *ep = obj;
    struct floe_ice_path path;

    if (floe__iceep_turn_in(ep, now, from, bytes, len))
        return;
    if (len == ICEEP_DATA_LEN && memcmp(bytes, ICEEP_MAGIC, ICEEP_MAGIC_LEN) == 0) {
        floe__iceep_data_in(ep, now, bytes);
        return;
    }
    if (iceep_stun_in(ep, bytes, len))
        return;
    memset(&path, 0, sizeof(path));
    path.local = *to;
    floe__iceep_agent_input(ep, now, &path, from, bytes, len);
    floe__iceep_events(ep);
}

/* Retransmission schedule of the gathering transactions (RTO doubling, bounded sends). */
static void iceep_gather_timers(struct floe_sim_ice_ep *ep, floe_time now)
{
    size_t i;

    for (i = 0; i < FLOE_SIM_HOST_IFACES; i++) {
        struct iceep_gather *g = &ep->g[i];

        if (!g->active || g->send_due || now < g->next)
            continue;
        if (g->sends >= ep->cfg.stun_max_sends)
            g->active = false;
        else
            g->send_due = true;
    }
}

static void iceep_handle_timeout(void *obj, floe_time now)
{
    struct floe_sim_ice_ep *ep = obj;

    if (now >= ep->gather_at)
        floe__iceep_gather_all(ep);
    iceep_gather_timers(ep, now);
    if (ep->turn)
        floe_turn_handle_timeout(ep->turn, now);
    floe__iceep_turn_events(ep);
    floe_ice_handle_timeout(ep->agent, now);
    floe__iceep_events(ep);
}

static int iceep_stun_out(struct iceep_gather *g, floe_time now, uint8_t *buf, size_t cap,
                          size_t *len)
{
    struct floe_stun_builder b;
    long n;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, g->txid);
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    g->send_due = false;
    g->sends++;
    g->next = floe_time_add(now, g->rto);
    g->rto *= 2;
    if (n < 0)
        return 0;
    *len = (size_t)n;
    return 1;
}

static int iceep_data_out(struct floe_sim_ice_ep *ep, floe_time now, uint8_t *buf, size_t cap,
                          size_t *len, struct floe_addr *from, struct floe_addr *to)
{
    const struct floe_ice_pair_info *p = &ep->st.selected;

    if (!ep->cfg.data_interval || !ep->st.has_selected || now < ep->data_next ||
        cap < ICEEP_DATA_LEN)
        return 0;
    memset(buf, 0, ICEEP_DATA_LEN);
    memcpy(buf, ICEEP_MAGIC, ICEEP_MAGIC_LEN);
    buf[ICEEP_MAGIC_LEN] = ep->cfg.id;
    buf[ICEEP_MAGIC_LEN + 1] = (uint8_t)(ep->cfg.id ^ 3u); /* ids 1 and 2 are peers */
    floe_store_be64(buf + ICEEP_MAGIC_LEN + 2, ep->data_seq++);
    *len = ICEEP_DATA_LEN;
    *from = p->path.local;
    *to = p->remote.addr;
    ep->data_next = floe_time_add(now, ep->cfg.data_interval);
    ep->st.data_sent++;
    if (p->path.via_relay)
        return floe__iceep_turn_wrap(ep, now, &p->path, &p->remote.addr, buf, cap, len, from, to);
    return 1;
}

static int iceep_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                               struct floe_addr *from, struct floe_addr *to)
{
    struct floe_sim_ice_ep *ep = obj;
    struct floe_ice_transmit tx;
    size_t i;

    if (floe__iceep_turn_out(ep, now, buf, cap, len, from, to))
        return 1;
    for (i = 0; i < FLOE_SIM_HOST_IFACES; i++) {
        struct iceep_gather *g = &ep->g[i];

        if (g->active && g->send_due && iceep_stun_out(g, now, buf, cap, len)) {
            *from = g->base;
            *to = ep->cfg.stun;
            return 1;
        }
    }
    while (floe_ice_poll_transmit(ep->agent, now, buf, cap, &tx) == 1) {
        *len = tx.len;
        if (tx.path.via_relay) {
            if (floe__iceep_turn_wrap(ep, now, &tx.path, &tx.remote, buf, cap, len, from, to))
                return 1;
            continue;
        }
        *from = tx.path.local;
        *to = tx.remote;
        return 1;
    }
    return iceep_data_out(ep, now, buf, cap, len, from, to);
}

static floe_time iceep_poll_timeout(void *obj)
{
    struct floe_sim_ice_ep *ep = obj;
    floe_time t = floe_time_min(floe_ice_poll_timeout(ep->agent), ep->gather_at);
    size_t i;

    if (ep->turn)
        t = floe_time_min(t, floe_turn_poll_timeout(ep->turn));
    for (i = 0; i < FLOE_SIM_HOST_IFACES; i++) {
        if (ep->g[i].active && !ep->g[i].send_due)
            t = floe_time_min(t, ep->g[i].next);
    }
    if (ep->cfg.data_interval && ep->st.has_selected)
        t = floe_time_min(t, ep->data_next);
    return t;
}

/*
 * The connection's agent is replaced by a new one (new credentials, no
 * candidate, no pair): nothing of the old network survives, whatever a
 * restart would keep.
 */
static void iceep_new_agent(struct floe_sim_ice_ep *ep, floe_time now)
{
    struct floe_ice_config ic = ep->cfg.ice;
    struct floe_ice_agent *agent = NULL;
    int rc;

    ic.rng = floe_sim_rng(ep->sim);
    rc = floe_ice_new(&agent, &ic, now);
    if (rc != 0) {
        floe__iceep_note(ep, "new agent refused: %s; ICE restart instead", floe_strerror(rc));
        floe_ice_restart(ep->agent, now, false);
        return;
    }
    floe_ice_free(ep->agent);
    ep->agent = agent;
    if (ep->st.has_selected)
        floe__iceep_note(ep, "selected pair cleared");
    ep->st.has_selected = false;
    floe__iceep_note(ep, "%s -> new (reset: new agent)", floe_ice_state_name(ep->st.state));
    ep->st.state = FLOE_ICE_NEW;
    ep->st.state_changes++;
}

/*
 * A reset on a network change (Firezone's reset): the connection gets a new
 * agent without any local candidate and its credentials go to the peer as a
 * new offer; the candidates come back when the owner calls
 * floe_sim_ice_ep_gather.
 */
static void iceep_reset(struct floe_sim_ice_ep *ep, floe_time now)
{
    size_t i;

    ep->st.resets++;
    for (i = 0; i < FLOE_SIM_HOST_IFACES; i++)
        ep->g[i].active = false;
    iceep_new_agent(ep, now);
    ep->remote_ufrag[0] = '\0';
    floe__iceep_events(ep);
    if (ep->turn) {
        floe_turn_reset(ep->turn, now);
        floe__iceep_turn_events(ep);
    }
    floe__iceep_send_creds(ep, FLOE__SIM_SIG_OFFER);
}

/* What the Client will do on a network change: invalidate, gather again, trickle (or reset). */
static void iceep_on_roam(void *obj, floe_time now, const struct floe_addr *old_addr,
                          const struct floe_addr *new_addr)
{
    struct floe_sim_ice_ep *ep = obj;
    char o[FLOE_ADDR_STRLEN] = "?", n[FLOE_ADDR_STRLEN] = "?";

    ep->st.roams++;
    floe_addr_format_ip(old_addr, o, sizeof(o));
    floe_addr_format_ip(new_addr, n, sizeof(n));
    if (ep->cfg.reset_on_roam) {
        floe__iceep_note(ep, "roamed %s -> %s: reset, new offer", o, n);
        iceep_reset(ep, now);
        return;
    }
    floe__iceep_note(ep, "roamed %s -> %s: invalidate, gather again", o, n);
    floe__iceep_invalidate(ep, old_addr);
    if (ep->turn) {
        floe_turn_reset(ep->turn, now);
        floe__iceep_turn_events(ep);
    }
    if (ep->gather_at == FLOE_TIME_NEVER)
        floe__iceep_gather_ip(ep, new_addr);
}

const struct floe_sim_endpoint_ops floe__iceep_ops = {
    .handle_input = iceep_handle_input,
    .handle_timeout = iceep_handle_timeout,
    .poll_transmit = iceep_poll_transmit,
    .poll_timeout = iceep_poll_timeout,
    .on_roam = iceep_on_roam,
};
