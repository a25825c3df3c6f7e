/*
 * The ICE endpoint adapter's TURN client: one floe_turn allocation on the
 * configured relay, shared with the agent's socket the way the connection
 * manager shares one UDP socket. Its candidates (relayed, and the
 * server-reflexive address the relay saw) are added and trickled like the
 * others; the agent's relayed transmits and the application data of a relayed
 * selected pair are framed by floe_turn_encapsulate; the peers' datagrams
 * come back from the relay server and go to the agent on the relayed path.
 */
#include <string.h>

#include "ice_ep_int.h"

/* The socket the TURN client talks from: the host's first interface at the bound port. */
static struct floe_addr iceep_turn_base(const struct floe_sim_ice_ep *ep)
{
    struct floe_addr base;

    memset(&base, 0, sizeof(base));
    if (floe_sim_host_addr(ep->sim, ep->host, 0, &base) == 0)
        base.port = ep->cfg.port;
    return base;
}

int floe__iceep_turn_new(struct floe_sim_ice_ep *ep)
{
    struct floe_turn_config tc;

    if (!ep->cfg.relay.family)
        return 0;
    floe_turn_config_default(&tc);
    tc.alloc = ep->cfg.ice.alloc;
    tc.rng = floe_sim_rng(ep->sim);
    tc.server = ep->cfg.relay;
    tc.username = ep->cfg.relay_user ? ep->cfg.relay_user : FLOE_SIM_RELAY_USER;
    tc.password = ep->cfg.relay_password ? ep->cfg.relay_password : FLOE_SIM_RELAY_PASSWORD;
    return floe_turn_new(&ep->turn, &tc);
}

/* Ask for the allocation (with the first gathering). */
void floe__iceep_turn_start(struct floe_sim_ice_ep *ep)
{
    int rc;

    if (!ep->turn)
        return;
    rc = floe_turn_allocate(ep->turn, floe_sim_now(ep->sim));
    if (rc != 0 && rc != FLOE_ERR_STATE)
        floe__iceep_note(ep, "TURN allocate refused: %s", floe_strerror(rc));
}

static void iceep_turn_cand_new(struct floe_sim_ice_ep *ep, const struct floe_turn_event *ev)
{
    struct floe_ice_candidate c;
    char a[FLOE_ADDR_STRLEN] = "?";

    memset(&c, 0, sizeof(c));
    c.addr = ev->addr;
    c.server = ev->server;
    if (ev->cand == FLOE_TURN_CAND_RELAYED) {
        c.type = FLOE_ICE_RELAY;
        c.base = ev->addr;
        if (ep->st.relayed_at == FLOE_TIME_NEVER)
            ep->st.relayed_at = floe_sim_now(ep->sim);
        floe_addr_format(&c.addr, a, sizeof(a));
        floe__iceep_note(ep, "relayed candidate %s", a);
    } else {
        if (ep->cfg.relay_only)
            return;
        c.type = FLOE_ICE_SRFLX;
        c.base = iceep_turn_base(ep);
    }
    floe__iceep_add_local(ep, &c);
}

/* A candidate of the allocation is gone (lost, reset): remove it here and at the peer. */
static void iceep_turn_cand_gone(struct floe_sim_ice_ep *ep, const struct floe_turn_event *ev)
{
    struct floe_ice_candidate c;

    memset(&c, 0, sizeof(c));
    c.type = ev->cand == FLOE_TURN_CAND_RELAYED ? FLOE_ICE_RELAY : FLOE_ICE_SRFLX;
    c.addr = ev->addr;
    if (floe_ice_remove_local_candidate(ep->agent, floe_sim_now(ep->sim), &c) != 0)
        return;
    ep->st.removed++;
    floe__iceep_send_cand(ep, FLOE__SIM_SIG_REMOVE, &c);
}

static void iceep_turn_error(struct floe_sim_ice_ep *ep, const struct floe_turn_event *ev)
{
    ep->st.relay_errors++;
    if (ep->turn_error_noted)
        return;
    ep->turn_error_noted = true;
    floe__iceep_note(ep, "TURN %s: %d %s", floe_turn_event_name(ev->kind), ev->code, ev->reason);
}

/* Drain the TURN client's events into candidates and notes. */
void floe__iceep_turn_events(struct floe_sim_ice_ep *ep)
{
    struct floe_turn_event ev;

    while (ep->turn && floe_turn_poll_event(ep->turn, &ev) == 1) {
        switch (ev.kind) {
        case FLOE_TURN_EV_CANDIDATE_NEW:
            iceep_turn_cand_new(ep, &ev);
            break;
        case FLOE_TURN_EV_CANDIDATE_INVALIDATED:
            iceep_turn_cand_gone(ep, &ev);
            break;
        case FLOE_TURN_EV_ALLOCATION_LOST:
        case FLOE_TURN_EV_ERROR:
            iceep_turn_error(ep, &ev);
            break;
        default:
            break;
        }
    }
    floe__iceep_events(ep);
}

/* A peer's payload through the relay: application data, or a check for the agent. */
static void iceep_turn_payload(struct floe_sim_ice_ep *ep, floe_time now,
                               const struct floe_addr *peer, struct floe_span data)
{
    struct floe_ice_path path;

    ep->st.relay_in++;
    if (data.len == ICEEP_DATA_LEN && memcmp(data.ptr, ICEEP_MAGIC, ICEEP_MAGIC_LEN) == 0) {
        floe__iceep_data_in(ep, now, data.ptr);
        return;
    }
    memset(&path, 0, sizeof(path));
    path.via_relay = true;
    path.relay = ep->cfg.relay;
    if (floe_turn_get_relayed(ep->turn, peer->family, &path.local) != 0)
        return;
    floe__iceep_agent_input(ep, now, &path, peer, data.ptr, data.len);
}

/* A datagram from the relay server: true when the TURN client took it. */
bool floe__iceep_turn_in(struct floe_sim_ice_ep *ep, floe_time now, const struct floe_addr *from,
                         const uint8_t *bytes, size_t len)
{
    struct floe_addr peer;
    struct floe_span data;
    int rc;

    if (!ep->turn)
        return false;
    rc = floe_turn_handle_input(ep->turn, now, from, bytes, len, &peer, &data);
    if (rc == FLOE_TURN_INPUT_DATA)
        iceep_turn_payload(ep, now, &peer, data);
    if (rc == FLOE_TURN_INPUT_IGNORED)
        return false;
    floe__iceep_turn_events(ep);
    return true;
}

/* The TURN client's next request or flushed payload, sent to the relay server. */
int floe__iceep_turn_out(struct floe_sim_ice_ep *ep, floe_time now, uint8_t *buf, size_t cap,
                         size_t *len, struct floe_addr *from, struct floe_addr *to)
{
    long n;

    if (!ep->turn)
        return 0;
    n = floe_turn_poll_transmit(ep->turn, now, buf, cap, to);
    if (n <= 0)
        return 0;
    *len = (size_t)n;
    *from = iceep_turn_base(ep);
    return 1;
}

/*
 * Frame the payload in buf[0..*len) for peer through the relay of path, in
 * place. Returns 1 with the datagram for the relay server in buf (*len, *from,
 * *to set), or 0 when there is nothing to send now: the payload waits for its
 * permission (then the CreatePermission may be returned instead) or was refused.
 */
int floe__iceep_turn_wrap(struct floe_sim_ice_ep *ep, floe_time now,
                          const struct floe_ice_path *path, const struct floe_addr *peer,
                          uint8_t *buf, size_t cap, size_t *len, struct floe_addr *from,
                          struct floe_addr *to)
{
    long n;

    if (!ep->turn || !floe_addr_eq(&path->relay, &ep->cfg.relay)) {
        ep->st.relay_refused++;
        return 0;
    }
    n = floe_turn_encapsulate(ep->turn, now, peer, buf, *len, buf, cap);
    if (n < 0) {
        ep->st.relay_refused++;
        return 0;
    }
    ep->st.relay_out++;
    if (n == 0)
        return floe__iceep_turn_out(ep, now, buf, cap, len, from, to);
    *len = (size_t)n;
    *from = iceep_turn_base(ep);
    *to = ep->cfg.relay;
    return 1;
}
