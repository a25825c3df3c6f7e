/*
 * The portal session: the URL, the TCP connection (non-blocking, marked) under the protocol
 * client, and the messages the agent handles itself (addresses, relays, candidates).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"

static int url_port(const char *s, size_t n, uint16_t *port)
{
    unsigned v = 0;

    if (n == 0 || n > 5)
        return FLOE_ERR_ADDR_PARSE;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FLOE_ERR_ADDR_PARSE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return FLOE_ERR_ADDR_PARSE;
    *port = (uint16_t)v;
    return 0;
}

/* host[:port] or [v6][:port] of authority s[0..n). */
static int url_authority(const char *s, size_t n, char *host, size_t cap, uint16_t *port)
{
    const char *end = s + n, *colon, *h = s;
    size_t hl;

    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return FLOE_ERR_ADDR_PARSE;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1 < end ? rb + 1 : NULL;
        if (colon && *colon != ':')
            return FLOE_ERR_ADDR_PARSE;
    } else {
        colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
    }
    if (hl == 0 || hl >= cap || memchr(h, '@', hl) || memchr(h, ' ', hl))
        return FLOE_ERR_ADDR_PARSE;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon)
        return url_port(colon + 1, (size_t)(end - colon - 1), port);
    return 0;
}

int floe_agent_parse_url(const char *url, enum floe_portal_role role, char *host, size_t host_cap,
                         uint16_t *port, char *path, size_t path_cap, bool *tls)
{
    const char *rest, *slash;
    const char *def = role == FLOE_PORTAL_ROLE_GATEWAY ? "/gateway/websocket" : "/client/websocket";

    if (!url || !host || !port || !path || !tls || host_cap == 0 || path_cap == 0)
        return FLOE_ERR_INVALID_ARG;
    if (strncmp(url, "wss://", 6) == 0) {
        *tls = true;
        *port = 443;
        rest = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        *tls = false;
        *port = 80;
        rest = url + 5;
    } else {
        return FLOE_ERR_ADDR_PARSE;
    }
    slash = strchr(rest, '/');
    if (url_authority(rest, slash ? (size_t)(slash - rest) : strlen(rest), host, host_cap, port))
        return FLOE_ERR_ADDR_PARSE;
    if (!slash || strcmp(slash, "/") == 0)
        slash = def;
    if (strlen(slash) >= path_cap)
        return FLOE_ERR_ADDR_PARSE;
    snprintf(path, path_cap, "%s", slash);
    return 0;
}

int floe__agent_portal_init(struct floe_agent *a)
{
    struct agent_portal *p = &a->portal;
    struct floe_portal_client_config pc;
    uint8_t pub[FLOE_WG_KEY_LEN];
    int rc;

    rc = floe_agent_parse_url(a->cfg.portal_url, a->role.portal_role, p->host, sizeof(p->host),
                              &p->port, p->path, sizeof(p->path), &p->tls);
    if (rc != 0)
        return rc;
    floe_node_public_key(a->node, pub);
    floe_portal_client_config_default(&pc);
    pc.log = floe_jsonlog_hook(a->log);
    pc.role = a->role.portal_role;
    pc.host = p->host;
    pc.path = p->path;
    pc.token = a->token;
    pc.public_key = pub;
    pc.name = a->cfg.device_name;
    pc.tls = p->tls;
    pc.ca_file = a->cfg.ca_file;
    pc.rng = floe__agent_rng();
    rc = floe_portal_client_new(&p->pc, &pc);
    p->fd = -1;
    p->reconnect = 0; /* at once */
    return rc;
}

void floe__agent_portal_free(struct floe_agent *a)
{
    if (a->portal.fd >= 0)
        floe_io_close(a->portal.fd);
    a->portal.fd = -1;
    floe_portal_client_free(a->portal.pc);
    a->portal.pc = NULL;
    free(a->portal.msg);
    a->portal.msg = NULL;
}

static void portal_close_fd(struct floe_agent *a)
{
    if (a->portal.fd < 0)
        return;
    floe__agent_loop_portal_fd_del(a, a->portal.fd);
    floe_io_close(a->portal.fd);
    a->portal.fd = -1;
    a->portal.connecting = false;
    a->portal.out_len = a->portal.out_off = 0;
}

/* The TCP connection failed or closed: the protocol client schedules the next one. */
static void portal_lost(struct floe_agent *a, floe_time now)
{
    portal_close_fd(a);
    if (floe_portal_client_get_state(a->portal.pc) != FLOE_PORTAL_CLIENT_WAITING)
        (void)floe_portal_client_disconnected(a->portal.pc, now);
    floe__agent_portal_drain(a, now);
}

/*
 * After a network change the portal's TCP connection may be bound to an address that is gone:
 * what goes out on it (the candidates of the roam) vanishes, and the portal keeps the device
 * online on a dead connection until its heartbeats time out, so that a gateway that roamed and
 * then stops is still handed to clients. A new connection, at once, replaces it (the portal
 * closes the old one when the device joins again).
 */
void floe__agent_portal_renew(struct floe_agent *a, floe_time now)
{
    if (a->portal.fd >= 0) {
        floe__agent_log(a, FLOE_LOG_INFO, "portal: connecting again after the network change");
        portal_lost(a, now);
    }
    if (floe_portal_client_get_state(a->portal.pc) == FLOE_PORTAL_CLIENT_WAITING)
        a->portal.reconnect = now;
    floe__agent_portal_tick(a, now);
}

void floe__agent_portal_tick(struct floe_agent *a, floe_time now)
{
    struct agent_portal *p = &a->portal;
    char hp[300];
    struct floe_addr to;
    int fd;

    if (p->fd >= 0 && p->connecting && now >= p->deadline) {
        floe__agent_log(a, FLOE_LOG_WARN, "portal %s:%u: connect timed out", p->host, p->port);
        portal_lost(a, now);
        return;
    }
    /* Heartbeats and the WebSocket's timers: without them the portal closes us as idle. */
    if (p->fd >= 0)
        floe_portal_client_handle_timeout(p->pc, now);
    if (p->fd >= 0 || now < p->reconnect || a->stop)
        return;
    p->reconnect = FLOE_TIME_NEVER;
    snprintf(hp, sizeof(hp), strchr(p->host, ':') ? "[%s]:%u" : "%s:%u", p->host, p->port);
    if (floe_io_resolve(hp, FLOE_AF_NONE, &to) != 0 ||
        (fd = floe__agent_sys_tcp_connect(a, &to)) < 0) {
        floe__agent_log(a, FLOE_LOG_WARN, "portal %s: cannot connect", hp);
        p->reconnect = now + FLOE_SEC(2);
        return;
    }
    p->fd = fd;
    p->connecting = true;
    p->deadline = now + FLOE_AGENT_CONNECT_TIMEOUT;
    floe__agent_loop_portal_fd(a, fd, true);
    if (floe_portal_client_connect(p->pc, now) != 0)
        portal_lost(a, now);
}

static void portal_read(struct floe_agent *a, floe_time now)
{
    uint8_t buf[16384];

    for (int i = 0; i < 64 && a->portal.fd >= 0; i++) {
        long r = floe__agent_sys_recv(a->portal.fd, buf, sizeof(buf));

        if (r > 0) {
            (void)floe_portal_client_handle_input(a->portal.pc, now, buf, (size_t)r);
            floe__agent_portal_drain(a, now);
            continue;
        }
        if (r == AGENT_WOULD_BLOCK)
            return;
        portal_lost(a, now);
        return;
    }
}

void floe__agent_portal_io(struct floe_agent *a, floe_time now, bool writable)
{
    struct agent_portal *p = &a->portal;
    const char *why;

    if (p->connecting && writable) {
        if ((why = floe__agent_sys_connect_error(p->fd)) != NULL) {
            floe__agent_log(a, FLOE_LOG_WARN, "portal %s:%u: %s", p->host, p->port, why);
            portal_lost(a, now);
            return;
        }
        p->connecting = false;
        floe__agent_loop_portal_fd(a, p->fd, false);
    }
    if (!p->connecting)
        portal_read(a, now);
    floe__agent_portal_drain(a, now);
}

/* Write pending bytes; false when the socket is full or failed. */
static bool portal_write(struct floe_agent *a, floe_time now)
{
    while (a->portal.out_off < a->portal.out_len) {
        long w = floe__agent_sys_send(a->portal.fd, a->portal.out + a->portal.out_off,
                                      a->portal.out_len - a->portal.out_off);
        if (w == AGENT_WOULD_BLOCK) {
            floe__agent_loop_portal_fd(a, a->portal.fd, true);
            return false;
        }
        if (w < 0) {
            portal_lost(a, now);
            return false;
        }
        a->portal.out_off += (size_t)w;
    }
    a->portal.out_len = a->portal.out_off = 0;
    return true;
}

static void portal_send(struct floe_agent *a, floe_time now)
{
    long n;

    while (a->portal.fd >= 0 && !a->portal.connecting && portal_write(a, now)) {
        n = floe_portal_client_poll_transmit(a->portal.pc, now, a->portal.out,
                                             sizeof(a->portal.out));
        if (n <= 0)
            return;
        a->portal.out_len = (size_t)n;
        a->portal.out_off = 0;
    }
}

/*
 * The event's message is the protocol client's until the next call on it, and the handlers
 * send (candidates, acknowledgements): they get a copy of their own.
 */
static void portal_dispatch(struct floe_agent *a, floe_time now, const struct floe_portal_msg *m,
                            bool joined)
{
    if (!m)
        return;
    if (!a->portal.msg && !(a->portal.msg = malloc(sizeof(*a->portal.msg)))) {
        floe__agent_log(a, FLOE_LOG_ERROR, "portal message dropped: out of memory");
        return;
    }
    *a->portal.msg = *m;
    floe__agent_portal_message(a, now, a->portal.msg, joined);
}

static void portal_event(struct floe_agent *a, floe_time now,
                         const struct floe_portal_client_event *ev)
{
    switch (ev->kind) {
    case FLOE_PORTAL_EV_JOINED:
        floe__agent_log(a, FLOE_LOG_INFO, "portal: joined");
        a->portal.announced = false;
        portal_dispatch(a, now, ev->msg, true);
        break;
    case FLOE_PORTAL_EV_MESSAGE:
        portal_dispatch(a, now, ev->msg, false);
        break;
    case FLOE_PORTAL_EV_DISCONNECTED:
        floe__agent_log(a, FLOE_LOG_WARN, "portal: disconnected: %s (HTTP %d, %s)", ev->reason,
                        ev->status, floe_strerror(ev->err));
        portal_send(a, now); /* a close frame */
        portal_close_fd(a);
        break;
    case FLOE_PORTAL_EV_RECONNECT_AT:
        a->portal.reconnect = ev->at;
        floe__agent_log(a, FLOE_LOG_INFO, "portal: reconnect in %llu ms (attempt %u)",
                        (unsigned long long)((ev->at > now ? ev->at - now : 0) / 1000000u),
                        ev->attempt);
        break;
    case FLOE_PORTAL_EV_FATAL:
        floe__agent_log(a, FLOE_LOG_ERROR, "portal refused the token (HTTP %d): %s; exiting",
                        ev->status, ev->reason);
        portal_close_fd(a);
        floe_agent_stop(a, FLOE_AGENT_EXIT_USAGE);
        break;
    }
}

/*
 * A gateway tells the portal its own candidates after each join and whenever they change
 * (gateway_ice_candidates): the portal answers a client's request with them at once, so the
 * client's handshake does not wait for the candidates of the gateway's new connection.
 */
static void portal_announce(struct floe_agent *a, floe_time now)
{
    char(*cands)[FLOE_ICE_CANDIDATE_STR_MAX] = a->portal.cands;
    uint64_t v = floe_node_local_candidates_version(a->node);
    struct floe_portal_msg *m = a->portal.msg;
    size_t n;

    if (a->role.portal_role != FLOE_PORTAL_ROLE_GATEWAY || !m ||
        (a->portal.announced && a->portal.announced_version == v) ||
        floe_portal_client_get_state(a->portal.pc) != FLOE_PORTAL_CLIENT_JOINED)
        return;
    n = floe_node_local_candidates(a->node, cands, FLOE_PORTAL_CANDIDATES_MAX);
    memset(m, 0, sizeof(*m));
    m->type = FLOE_PORTAL_MSG_GATEWAY_CANDIDATES;
    m->u.cands.n_candidates = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        memcpy(m->u.cands.candidates[i], cands[i], sizeof(cands[i]));
    if (floe_portal_client_send(a->portal.pc, now, m, NULL) != 0)
        return;
    a->portal.announced = true;
    a->portal.announced_version = v;
    floe__agent_log(a, FLOE_LOG_DEBUG, "portal: announced %llu candidates", (unsigned long long)n);
}

void floe__agent_portal_drain(struct floe_agent *a, floe_time now)
{
    struct floe_portal_client_event ev;

    portal_send(a, now);
    while (floe_portal_client_poll_event(a->portal.pc, &ev) == 1)
        portal_event(a, now, &ev);
    portal_announce(a, now);
    portal_send(a, now);
}

floe_time floe__agent_portal_deadline(const struct floe_agent *a)
{
    floe_time t = floe_portal_client_poll_timeout(a->portal.pc);

    if (a->portal.fd < 0 && a->portal.reconnect < t)
        t = a->portal.reconnect;
    if (a->portal.fd >= 0 && a->portal.connecting && a->portal.deadline < t)
        t = a->portal.deadline;
    return t;
}

/* ------------------------------------------------------------ messages */

static void portal_relay_add(struct floe_agent *a, floe_time now, const struct floe_portal_relay *r)
{
    struct agent_relay *slot = NULL;
    int rc;

    for (int i = 0; i < AGENT_RELAYS_MAX; i++) {
        struct agent_relay *x = &a->relays[i];
        if (x->used && strcmp(x->id, r->id) == 0)
            slot = x;
        if (!slot && !x->used)
            slot = x;
    }
    rc = floe_node_relay_add(a->node, now, &r->addr, r->username, r->password);
    if (rc != 0 || !slot) {
        floe__agent_log(a, FLOE_LOG_WARN, "relay %s: %s", r->id, floe_strerror(rc));
        return;
    }
    slot->used = true;
    snprintf(slot->id, sizeof(slot->id), "%s", r->id);
    slot->addr = r->addr;
    floe__agent_log(a, FLOE_LOG_INFO, "relay %s added", r->id);
}

static void portal_relay_remove(struct floe_agent *a, floe_time now, const char *id)
{
    for (int i = 0; i < AGENT_RELAYS_MAX; i++) {
        struct agent_relay *x = &a->relays[i];
        if (!x->used || (id && strcmp(x->id, id) != 0))
            continue;
        (void)floe_node_relay_remove(a->node, now, &x->addr);
        floe__agent_log(a, FLOE_LOG_INFO, "relay %s removed", x->id);
        memset(x, 0, sizeof(*x));
    }
}

static bool portal_relay_listed(const struct floe_portal_init *init, const char *id)
{
    for (uint32_t i = 0; i < init->n_relays; i++)
        if (strcmp(init->relays[i].id, id) == 0)
            return true;
    return false;
}

static void portal_init(struct floe_agent *a, floe_time now, const struct floe_portal_init *init)
{
    for (int i = 0; i < AGENT_RELAYS_MAX; i++)
        if (a->relays[i].used && !portal_relay_listed(init, a->relays[i].id))
            portal_relay_remove(a, now, a->relays[i].id);
    for (uint32_t i = 0; i < init->n_relays; i++)
        portal_relay_add(a, now, &init->relays[i]);
    (void)floe__agent_sys_iface(a, &init->interface);
    a->joined_once = true;
    if (a->role.init)
        a->role.init(a->role.user, a, init);
}

static void early_keep(struct floe_agent *a, floe_time now, const struct floe_portal_candidates *c)
{
    struct agent_early *e = &a->early[0];

    for (int i = 0; i < AGENT_EARLY_PEERS; i++) {
        if (strcmp(a->early[i].peer, c->ids[0]) == 0) {
            e = &a->early[i];
            break;
        }
        if (a->early[i].at < e->at)
            e = &a->early[i];
    }
    if (strcmp(e->peer, c->ids[0]) != 0) {
        memset(e, 0, sizeof(*e));
        snprintf(e->peer, sizeof(e->peer), "%s", c->ids[0]);
    }
    e->at = now;
    for (uint32_t i = 0; i < c->n_candidates && e->n < FLOE_PORTAL_CANDIDATES_MAX; i++)
        memcpy(e->cands[e->n++], c->candidates[i], FLOE_PORTAL_CANDIDATE_MAX);
}

void floe__agent_early_apply(struct floe_agent *a, floe_time now, uint64_t cid, const char *peer)
{
    for (int i = 0; i < AGENT_EARLY_PEERS; i++) {
        struct agent_early *e = &a->early[i];

        if (e->n == 0 || strcmp(e->peer, peer) != 0)
            continue;
        for (uint32_t k = 0; k < e->n; k++)
            (void)floe_node_conn_add_remote_candidate(a->node, now, cid, e->cands[k]);
        memset(e, 0, sizeof(*e));
    }
}

static void portal_candidates(struct floe_agent *a, floe_time now,
                              const struct floe_portal_candidates *c, bool remove)
{
    uint64_t cid = c->n_ids ? floe_agent_conn_by_peer(a, c->ids[0]) : 0;

    if (!cid) {
        if (c->n_ids && !remove)
            early_keep(a, now, c);
        return;
    }
    for (uint32_t i = 0; i < c->n_candidates; i++) {
        if (remove)
            (void)floe_node_conn_remove_remote_candidate(a->node, now, cid, c->candidates[i]);
        else
            (void)floe_node_conn_add_remote_candidate(a->node, now, cid, c->candidates[i]);
    }
}

void floe__agent_portal_message(struct floe_agent *a, floe_time now,
                                const struct floe_portal_msg *m, bool joined)
{
    if (!m)
        return;
    floe__agent_log(a, FLOE_LOG_DEBUG, "portal message %s", floe_portal_msg_event(m->type));
    switch (m->type) {
    case FLOE_PORTAL_MSG_INIT:
        portal_init(a, now, &m->u.init);
        break;
    case FLOE_PORTAL_MSG_RELAYS_PRESENCE:
        for (uint32_t i = 0; i < m->u.relays.n_disconnected; i++)
            portal_relay_remove(a, now, m->u.relays.disconnected_ids[i]);
        for (uint32_t i = 0; i < m->u.relays.n_connected; i++)
            portal_relay_add(a, now, &m->u.relays.connected[i]);
        break;
    case FLOE_PORTAL_MSG_CONFIG_CHANGED:
        (void)floe__agent_sys_iface(a, &m->u.interface);
        break;
    case FLOE_PORTAL_MSG_ICE_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES:
        portal_candidates(a, now, &m->u.cands, m->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES);
        break;
    default:
        if (a->role.message)
            a->role.message(a->role.user, a, m);
    }
    (void)joined;
}
