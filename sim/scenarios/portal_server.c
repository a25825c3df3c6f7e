/*
 * The simulated portal (portal_sim.h): floe_wsconn in the server role and the message codec
 * of floe/portal.h over the simulator's stream, relaying what the node-portal scenarios
 * need the way floe-portal does (apps/floe-portal/channel.c, route.c): phx_join answered by
 * phx_reply ok and init, heartbeats, request_authorization -> create_authorization ->
 * authorization_created, candidates and invalidations both ways. Like floe-portal, candidates
 * for a device that is not connected are held for its next join (hold_offline; bounded and
 * expiring as floe-portal's, docs/protocol.md section 6); other messages for it are dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal_sim.h"

#define PS_TOKEN_CLIENT "sim-client-token"
#define PS_TOKEN_GATEWAY "sim-gateway-token"

static const char *const ps_ids[2] = {"client-1", "gateway-1"};

static void ps_note(struct portal_sim *ps, const char *fmt, ...) FLOE_PRINTF(2, 3);

static void ps_note(struct portal_sim *ps, const char *fmt, ...)
{
    char line[FLOE_SIM_TL_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    floe_sim_verdict_add(ps->v, floe_sim_now(ps->sim), ps->lane, ps->group, "portal: %s", line);
}

static void ps_queue_rst(struct portal_sim *ps, uint32_t id, const struct floe_addr *to)
{
    if (ps->n_rst < PORTAL_SIM_RST_MAX) {
        ps->rst[ps->n_rst].id = id;
        ps->rst[ps->n_rst].to = *to;
        ps->n_rst++;
    }
}

static void ps_conn_free(struct portal_sim_conn *c)
{
    floe_wsconn_free(c->ws);
    c->ws = NULL;
    c->used = c->joined = false;
    c->st.state = PSTREAM_CLOSED;
}

/* The joined connection of role, or NULL. */
static struct portal_sim_conn *ps_device(struct portal_sim *ps, enum floe_portal_role role)
{
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        if (ps->conns[i].used && ps->conns[i].joined && ps->conns[i].role == role)
            return &ps->conns[i];
    }
    return NULL;
}

/* Encode ps->msg and send it on c. */
static int ps_send(struct portal_sim *ps, struct portal_sim_conn *c)
{
    long n = floe_portal_msg_encode(ps->msg, ps->json, FLOE_PORTAL_JSON_MAX);

    if (n < 0)
        return (int)n;
    return floe_wsconn_send_text(c->ws, floe_sim_now(ps->sim), ps->json, (size_t)n);
}

static void ps_reply(struct portal_sim *ps, struct portal_sim_conn *c, enum floe_portal_topic t,
                     const char *ref)
{
    memset(ps->msg, 0, sizeof(*ps->msg));
    ps->msg->type = FLOE_PORTAL_MSG_REPLY;
    ps->msg->topic = t;
    ps->msg->has_ref = true;
    snprintf(ps->msg->ref, sizeof(ps->msg->ref), "%s", ref);
    ps->msg->u.reply.ok = true;
    (void)ps_send(ps, c);
}

static enum floe_portal_topic ps_topic(enum floe_portal_role role)
{
    return role == FLOE_PORTAL_ROLE_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
}

static void ps_deliver_kept(struct portal_sim *ps, struct portal_sim_conn *c);

static void ps_join(struct portal_sim *ps, struct portal_sim_conn *c, const char *ref)
{
    struct floe_portal_init *in;
    int side = c->role == FLOE_PORTAL_ROLE_CLIENT ? 0 : 1;

    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        struct portal_sim_conn *o = &ps->conns[i];

        if (o != c && o->used && o->joined && o->role == c->role) {
            ps_queue_rst(ps, o->st.id, &o->st.peer); /* the device's older connection */
            ps_conn_free(o);
        }
    }
    ps_reply(ps, c, ps_topic(c->role), ref);
    memset(ps->msg, 0, sizeof(*ps->msg));
    ps->msg->type = FLOE_PORTAL_MSG_INIT;
    ps->msg->topic = ps_topic(c->role);
    in = &ps->msg->u.init;
    in->interface.ipv4 = floe_addr_v4(100, 64, 0, (uint8_t)(side + 1), 0);
    in->interface.ipv6.family = FLOE_AF_INET6;
    in->interface.ipv6.ip[0] = 0xfd;
    in->interface.ipv6.ip[15] = (uint8_t)(side + 1);
    c->joined = true;
    ps->joins++;
    ps_note(ps, "%s joined, init sent", ps_ids[side]);
    (void)ps_send(ps, c);
    ps_deliver_kept(ps, c);
}

/* request_authorization from the client: create_authorization to the gateway. */
static void ps_request(struct portal_sim *ps, struct portal_sim_conn *c)
{
    struct portal_sim_conn *gw = ps_device(ps, FLOE_PORTAL_ROLE_GATEWAY);
    struct floe_portal_create_authorization *ca;
    char resource[FLOE_PORTAL_ID_MAX];

    snprintf(resource, sizeof(resource), "%s", ps->msg->u.request.resource_id);
    memset(ps->msg, 0, sizeof(*ps->msg));
    if (!gw) {
        ps->msg->type = FLOE_PORTAL_MSG_AUTHORIZATION_FAILED;
        ps->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
        snprintf(ps->msg->u.failed.resource_id, FLOE_PORTAL_ID_MAX, "%s", resource);
        snprintf(ps->msg->u.failed.reason, FLOE_PORTAL_REASON_MAX, "offline");
        (void)ps_send(ps, c);
        return;
    }
    ps->msg->type = FLOE_PORTAL_MSG_CREATE_AUTHORIZATION;
    ps->msg->topic = FLOE_PORTAL_TOPIC_GATEWAY;
    ca = &ps->msg->u.create;
    snprintf(ps->create_ref, sizeof(ps->create_ref), "authz-%llu",
             (unsigned long long)(ps->joins + 1));
    snprintf(ca->ref, sizeof(ca->ref), "%s", ps->create_ref);
    snprintf(ca->resource.id, sizeof(ca->resource.id), "%s", resource);
    snprintf(ca->resource.name, sizeof(ca->resource.name), "sim resource");
    ca->resource.address.addr = floe_addr_v4(10, 9, 0, 0, 0);
    ca->resource.address.prefix = 24;
    snprintf(ca->client.id, sizeof(ca->client.id), "%s", ps_ids[0]);
    memcpy(ca->client.public_key, ps->key[0], FLOE_PORTAL_KEY_LEN);
    memcpy(ca->client.preshared_key, ps->psk, FLOE_PORTAL_KEY_LEN);
    ca->client.ipv4 = floe_addr_v4(100, 64, 0, 1, 0);
    ca->client.ipv6.family = FLOE_AF_INET6;
    ca->client.ipv6.ip[0] = 0xfd;
    ca->client.ipv6.ip[15] = 1;
    ca->client_ice = ps->ice[0];
    ca->gateway_ice = ps->ice[1];
    ps_note(ps, "create_authorization %s to the gateway", ps->create_ref);
    (void)ps_send(ps, gw);
}

/* authorization_created from the gateway: authorization_created to the client. */
static void ps_authorized(struct portal_sim *ps)
{
    struct portal_sim_conn *cl = ps_device(ps, FLOE_PORTAL_ROLE_CLIENT);
    struct floe_portal_authorization_created *ac;

    if (strcmp(ps->msg->u.authorized.ref, ps->create_ref) != 0 || !cl)
        return;
    memset(ps->msg, 0, sizeof(*ps->msg));
    ps->msg->type = FLOE_PORTAL_MSG_AUTHORIZATION_CREATED;
    ps->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
    ac = &ps->msg->u.created;
    snprintf(ac->resource_id, sizeof(ac->resource_id), "res-1");
    snprintf(ac->gateway_id, sizeof(ac->gateway_id), "%s", ps_ids[1]);
    memcpy(ac->gateway_public_key, ps->key[1], FLOE_PORTAL_KEY_LEN);
    ac->gateway_ipv4 = floe_addr_v4(100, 64, 0, 2, 0);
    ac->gateway_ipv6.family = FLOE_AF_INET6;
    ac->gateway_ipv6.ip[0] = 0xfd;
    ac->gateway_ipv6.ip[15] = 2;
    memcpy(ac->preshared_key, ps->psk, FLOE_PORTAL_KEY_LEN);
    ac->client_ice = ps->ice[0];
    ac->gateway_ice = ps->ice[1];
    ps_note(ps, "authorization_created to the client");
    (void)ps_send(ps, cl);
}

/* Drop held record i (the order of the others kept). */
static void ps_held_remove(struct portal_sim *ps, uint32_t i)
{
    memmove(&ps->held[i], &ps->held[i + 1], (ps->n_held - i - 1) * sizeof(ps->held[0]));
    ps->n_held--;
}

/* Held records expired at now go (counted). */
static void ps_held_expire(struct portal_sim *ps, floe_time now)
{
    for (uint32_t i = 0; i < ps->n_held;) {
        if (ps->held[i].expires_at <= now) {
            ps_held_remove(ps, i);
            ps->held_expired++;
        } else {
            i++;
        }
    }
}

/* The index of the held record for `to` of cand with kind invalidate, or -1. */
static int ps_held_find(const struct portal_sim *ps, enum floe_portal_role to, bool invalidate,
                        const char *cand)
{
    for (uint32_t i = 0; i < ps->n_held; i++)
        if (ps->held[i].to == to && ps->held[i].invalidate == invalidate &&
            strcmp(ps->held[i].cand, cand) == 0)
            return (int)i;
    return -1;
}

/*
 * Hold one candidate for `to`, as floe-portal does: an invalidation removes the held
 * announcement of its candidate and is held in its place; a record held already (the same
 * candidate and kind) is a duplicate; else appended, the oldest of `to` dropped past the bound.
 */
static void ps_hold_one(struct portal_sim *ps, enum floe_portal_role to, bool invalidate,
                        const char *cand, floe_time now)
{
    int i = invalidate ? ps_held_find(ps, to, false, cand) : -1;
    uint32_t mine = 0, oldest = PORTAL_SIM_HELD_MAX;
    struct portal_sim_held *h;

    if (i >= 0) {
        ps_held_remove(ps, (uint32_t)i);
        ps->held_cancelled++;
    }
    if (ps_held_find(ps, to, invalidate, cand) >= 0)
        return;
    for (uint32_t j = 0; j < ps->n_held; j++)
        if (ps->held[j].to == to && mine++ == 0)
            oldest = j;
    if (mine >= PORTAL_SIM_HOLD_PER_PEER) {
        ps_held_remove(ps, oldest);
        ps->held_dropped_bound++;
    }
    h = &ps->held[ps->n_held++];
    h->to = to;
    h->invalidate = invalidate;
    h->expires_at = now + PORTAL_SIM_HOLD_TTL;
    snprintf(h->cand, sizeof(h->cand), "%s", cand);
    ps->held_offline++;
}

void portal_sim_hold(struct portal_sim *ps, enum floe_portal_role to, bool invalidate,
                     const struct floe_portal_candidates *cs)
{
    const char *id = ps_ids[to == FLOE_PORTAL_ROLE_CLIENT ? 0 : 1];
    floe_time now = floe_sim_now(ps->sim);

    if (!ps->hold_offline) {
        ps->dropped_offline++;
        ps_note(ps, "candidates for %s dropped: not connected", id);
        return;
    }
    ps_held_expire(ps, now);
    for (uint32_t i = 0; i < cs->n_candidates; i++)
        ps_hold_one(ps, to, invalidate, cs->candidates[i], now);
    ps_note(ps, "%s for %s held until it joins (%u held)",
            invalidate ? "invalidations" : "candidates", id, ps->n_held);
}

/* Candidates (ps->msg) for a device not connected: held for its next join, or dropped. */
static void ps_keep(struct portal_sim *ps, enum floe_portal_role to, bool invalidate)
{
    portal_sim_hold(ps, to, invalidate, &ps->msg->u.cands);
}

/*
 * Deliver what is held for c's device right after its init: in order, consecutive records of
 * the same kind as one message (at most FLOE_PORTAL_CANDIDATES_MAX), as floe-portal does.
 */
static void ps_deliver_kept(struct portal_sim *ps, struct portal_sim_conn *c)
{
    bool to_client = c->role == FLOE_PORTAL_ROLE_CLIENT;
    struct floe_portal_candidates *cs = &ps->msg->u.cands;
    uint32_t i = 0;

    ps_held_expire(ps, floe_sim_now(ps->sim));
    while (i < ps->n_held) {
        bool inv = ps->held[i].invalidate;

        if (ps->held[i].to != c->role) {
            i++;
            continue;
        }
        memset(ps->msg, 0, sizeof(*ps->msg));
        ps->msg->type =
            inv ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES : FLOE_PORTAL_MSG_ICE_CANDIDATES;
        ps->msg->topic = ps_topic(c->role);
        cs->n_ids = 1; /* the sender: the other device */
        snprintf(cs->ids[0], FLOE_PORTAL_ID_MAX, "%s", ps_ids[to_client ? 1 : 0]);
        while (i < ps->n_held && ps->held[i].to == c->role && ps->held[i].invalidate == inv &&
               cs->n_candidates < FLOE_PORTAL_CANDIDATES_MAX) {
            snprintf(cs->candidates[cs->n_candidates++], FLOE_PORTAL_CANDIDATE_MAX, "%s",
                     ps->held[i].cand);
            ps_held_remove(ps, i);
        }
        if (ps_send(ps, c) == 0) {
            ps->relayed += cs->n_candidates;
            ps->held_late += cs->n_candidates;
        }
    }
}

/* Candidates from c to the other device, as ice_candidates / invalidate_ice_candidates. */
static void ps_candidates(struct portal_sim *ps, struct portal_sim_conn *c, bool invalidate)
{
    bool from_client = c->role == FLOE_PORTAL_ROLE_CLIENT;
    struct portal_sim_conn *to =
        ps_device(ps, from_client ? FLOE_PORTAL_ROLE_GATEWAY : FLOE_PORTAL_ROLE_CLIENT);

    ps->msg->u.cands.n_ids = 1; /* the sender's id */
    snprintf(ps->msg->u.cands.ids[0], FLOE_PORTAL_ID_MAX, "%s", ps_ids[from_client ? 0 : 1]);
    ps->msg->u.cands.n_skipped = 0;
    if (!to) {
        ps_keep(ps, from_client ? FLOE_PORTAL_ROLE_GATEWAY : FLOE_PORTAL_ROLE_CLIENT, invalidate);
        return;
    }
    ps->msg->type =
        invalidate ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES : FLOE_PORTAL_MSG_ICE_CANDIDATES;
    ps->msg->topic = ps_topic(to->role);
    ps->msg->has_ref = false;
    if (ps_send(ps, to) == 0)
        ps->relayed += ps->msg->u.cands.n_candidates;
}

static void ps_route(struct portal_sim *ps, struct portal_sim_conn *c)
{
    char ref[FLOE_PORTAL_REF_MAX];
    bool client = c->role == FLOE_PORTAL_ROLE_CLIENT;

    snprintf(ref, sizeof(ref), "%s", ps->msg->ref);
    switch (ps->msg->type) {
    case FLOE_PORTAL_MSG_JOIN:
        if (ps->msg->topic == ps_topic(c->role))
            ps_join(ps, c, ref);
        break;
    case FLOE_PORTAL_MSG_HEARTBEAT:
        ps_reply(ps, c, FLOE_PORTAL_TOPIC_PHOENIX, ref);
        break;
    case FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION:
        if (client && c->joined)
            ps_request(ps, c);
        break;
    case FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED:
        if (!client && c->joined)
            ps_authorized(ps);
        break;
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
        if (c->joined)
            ps_candidates(ps, c, false);
        break;
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
        if (c->joined)
            ps_candidates(ps, c, true);
        break;
    default:
        break;
    }
}

/* The upgrade request: the path names the role, the token must match it. */
static void ps_request_head(struct portal_sim *ps, struct portal_sim_conn *c, floe_time now)
{
    const struct floe_wsconn_request *rq = floe_wsconn_request(c->ws);
    bool client = rq && strcmp(rq->path, "/client/websocket") == 0;
    bool gateway = rq && strcmp(rq->path, "/gateway/websocket") == 0;

    if ((client && strcmp(rq->token, PS_TOKEN_CLIENT) == 0) ||
        (gateway && strcmp(rq->token, PS_TOKEN_GATEWAY) == 0)) {
        c->role = client ? FLOE_PORTAL_ROLE_CLIENT : FLOE_PORTAL_ROLE_GATEWAY;
        (void)floe_wsconn_accept(c->ws, now);
        return;
    }
    (void)floe_wsconn_respond(c->ws, now, 401, NULL, NULL, 0);
    (void)ps;
}

/* Events and messages of c, then its transmits into the stream. */
static void ps_pump(struct portal_sim *ps, struct portal_sim_conn *c, floe_time now)
{
    struct floe_wsconn_event ev;
    struct floe_span m;
    uint8_t buf[16384];
    long n;

    while (c->used && floe_wsconn_poll_event(c->ws, &ev) == 1) {
        if (ev.kind == FLOE_WSCONN_EV_REQUEST)
            ps_request_head(ps, c, now);
    }
    while (c->used && floe_wsconn_poll_message(c->ws, &m) == 1) {
        if (floe_portal_msg_decode(ps->msg, (const char *)m.ptr, m.len, NULL, 0) == 0)
            ps_route(ps, c);
    }
    while ((n = floe_wsconn_poll_transmit(c->ws, now, buf, sizeof(buf))) > 0)
        (void)pstream_write(&c->st, now, buf, (size_t)n);
    if (c->st.state == PSTREAM_BROKEN || floe_wsconn_state(c->ws) == FLOE_WSCONN_CLOSED) {
        if (c->st.state != PSTREAM_BROKEN && !c->st.slen)
            ps_queue_rst(ps, c->st.id, &c->st.peer);
        if (c->st.state == PSTREAM_BROKEN || !c->st.slen)
            ps_conn_free(c);
    }
}

/* Every joined device's messages may go to another: pump them all after any input. */
static void ps_pump_all(struct portal_sim *ps, floe_time now)
{
    for (int round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
            if (ps->conns[i].used)
                ps_pump(ps, &ps->conns[i], now);
        }
    }
}

/* A SYN from a new stream: a connection, or a reset while down or full. */
static struct portal_sim_conn *ps_accept(struct portal_sim *ps, uint32_t id,
                                         const struct floe_addr *from, floe_time now)
{
    struct floe_wsconn_config cfg;
    struct portal_sim_conn *c = NULL;

    for (uint32_t i = 0; i < PORTAL_SIM_CONNS && !c && !ps->down; i++) {
        if (!ps->conns[i].used)
            c = &ps->conns[i];
    }
    if (!c) {
        ps->refused++;
        ps_queue_rst(ps, id, from);
        return NULL;
    }
    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.tls = false;
    cfg.rng = floe_xoshiro_rng(&ps->rng);
    if (floe_wsconn_new(&c->ws, &cfg) != 0 || floe_wsconn_start(c->ws, now) != 0) {
        floe_wsconn_free(c->ws);
        c->ws = NULL;
        return NULL;
    }
    c->used = true;
    c->st.server = true;
    pstream_reset(&c->st);
    c->st.id = id;
    c->st.peer = *from;
    return c;
}

static struct portal_sim_conn *ps_find(struct portal_sim *ps, uint32_t id,
                                       const struct floe_addr *from)
{
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        struct portal_sim_conn *c = &ps->conns[i];

        if (c->used && c->st.id == id && floe_addr_eq(&c->st.peer, from))
            return c;
    }
    return NULL;
}

static void ps_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                            const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct portal_sim *ps = obj;
    struct portal_sim_conn *c;
    const uint8_t *data;
    uint8_t flags = 0;
    uint32_t id = pstream_seg_id(bytes, len, &flags);
    size_t n;

    (void)to;
    if (!id || (ps->down && ps->silent))
        return;
    c = ps_find(ps, id, from);
    if (!c && (flags & PSTREAM_SYN) && !(flags & PSTREAM_ACK))
        c = ps_accept(ps, id, from, now);
    else if (!c && !(flags & PSTREAM_RST))
        ps_queue_rst(ps, id, from);
    if (!c)
        return;
    pstream_input(&c->st, now, bytes, len, &data, &n);
    if (n)
        (void)floe_wsconn_handle_input(c->ws, now, data, n);
    ps_pump_all(ps, now);
}

static void ps_handle_timeout(void *obj, floe_time now)
{
    struct portal_sim *ps = obj;

    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        struct portal_sim_conn *c = &ps->conns[i];

        if (!c->used)
            continue;
        pstream_timeout(&c->st, now);
        if (floe_wsconn_poll_timeout(c->ws) <= now)
            floe_wsconn_handle_timeout(c->ws, now);
    }
    ps_pump_all(ps, now);
}

static int ps_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                            struct floe_addr *from, struct floe_addr *to)
{
    struct portal_sim *ps = obj;

    (void)now;
    (void)from;
    if (ps->n_rst && cap >= PSTREAM_HDR) {
        *len = pstream_rst(buf, ps->rst[0].id);
        *to = ps->rst[0].to;
        memmove(&ps->rst[0], &ps->rst[1], (ps->n_rst - 1) * sizeof(ps->rst[0]));
        ps->n_rst--;
        return 1;
    }
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        struct portal_sim_conn *c = &ps->conns[i];

        if (c->used && (*len = pstream_output(&c->st, buf, cap)) > 0) {
            *to = c->st.peer;
            return 1;
        }
    }
    return 0;
}

static floe_time ps_poll_timeout(void *obj)
{
    struct portal_sim *ps = obj;
    floe_time t = FLOE_TIME_NEVER;

    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        if (ps->conns[i].used)
            t = floe_time_min(t, floe_time_min(pstream_next(&ps->conns[i].st),
                                               floe_wsconn_poll_timeout(ps->conns[i].ws)));
    }
    return t;
}

static const struct floe_sim_endpoint_ops ps_ops = {
    .handle_input = ps_handle_input,
    .handle_timeout = ps_handle_timeout,
    .poll_transmit = ps_poll_transmit,
    .poll_timeout = ps_poll_timeout,
};

/* ICE credentials of one side: ufrag 8 and pwd 24 ice-chars from the portal's rng. */
static void ps_ice_creds(struct portal_sim *ps, struct floe_portal_ice_creds *c)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t i;

    for (i = 0; i < 8; i++)
        c->username[i] = chars[floe_xoshiro_next(&ps->rng) % (sizeof(chars) - 1)];
    for (i = 0; i < 24; i++)
        c->password[i] = chars[floe_xoshiro_next(&ps->rng) % (sizeof(chars) - 1)];
}

int portal_sim_start(struct portal_sim *ps, struct floe_sim *sim, uint32_t host,
                     const struct floe_addr *addr, uint64_t seed)
{
    struct floe_addr bind = *addr;

    ps->sim = sim;
    ps->host = host;
    ps->addr = *addr;
    ps->addr.port = bind.port = PORTAL_SIM_PORT;
    floe_xoshiro_seed(&ps->rng, seed);
    ps->msg = calloc(1, sizeof(*ps->msg));
    ps->json = malloc(FLOE_PORTAL_JSON_MAX);
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++)
        ps->conns[i].st.sbuf = malloc(PSTREAM_BUF);
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        if (!ps->conns[i].st.sbuf)
            return FLOE_ERR_NOMEM;
    }
    if (!ps->msg || !ps->json)
        return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < sizeof(ps->psk); i++)
        ps->psk[i] = (uint8_t)floe_xoshiro_next(&ps->rng);
    ps_ice_creds(ps, &ps->ice[0]);
    ps_ice_creds(ps, &ps->ice[1]);
    return floe_sim_attach(sim, host, &bind, "portal", &ps_ops, ps, &ps->ep);
}

void portal_sim_free(struct portal_sim *ps)
{
    for (uint32_t i = 0; i < PORTAL_SIM_CONNS; i++) {
        floe_wsconn_free(ps->conns[i].ws);
        free(ps->conns[i].st.sbuf);
    }
    free(ps->msg);
    free(ps->json);
    memset(ps, 0, sizeof(*ps));
}

void portal_sim_set_down(struct portal_sim *ps, bool down)
{
    ps->down = down;
    ps_note(ps, "%s",
            !down        ? "UP again"
            : ps->silent ? "DOWN, silently: the host is gone, nothing answers"
                         : "DOWN: connections reset, new ones refused");
    /* what is held stays: floe-portal keeps it in its database across a restart */
    for (uint32_t i = 0; down && i < PORTAL_SIM_CONNS; i++) {
        if (ps->conns[i].used) {
            if (!ps->silent)
                ps_queue_rst(ps, ps->conns[i].st.id, &ps->conns[i].st.peer);
            ps_conn_free(&ps->conns[i]);
        }
    }
    floe_sim_endpoint_drive(ps->sim, ps->ep);
}
