/*
 * A device of the node-portal scenarios (portal_sim.h): the real protocol client of
 * floe/portal.h driven the way apps/agent/portal.c drives it, over the simulator's stream,
 * carrying its node's candidates and applying what the portal sends (authorization,
 * the peer's candidates and invalidations) to the node.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal_sim.h"

#define DEV_MS(t) ((unsigned long long)((t) / FLOE_MS(1)))

static const char *const dev_ids[2] = {"client-1", "gateway-1"};

static void dev_note(struct portal_sim_dev *d, const char *fmt, ...) FLOE_PRINTF(2, 3);

static void dev_note(struct portal_sim_dev *d, const char *fmt, ...)
{
    char line[FLOE_SIM_TL_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    floe_sim_verdict_add(d->ne->v, floe_sim_now(d->pair->sim), d->ne->lane, d->ne->group,
                         "%s portal: %s", d->ne->name, line);
}

static void dev_record(struct portal_sim_rec *log, uint32_t *n, floe_time now, bool invalidate,
                       bool held, const char *cand)
{
    if (*n >= PORTAL_SIM_LOG)
        return;
    log[*n].at = now;
    log[*n].invalidate = invalidate;
    log[*n].held = held;
    snprintf(log[*n].cand, sizeof(log[*n].cand), "%s", cand);
    (*n)++;
}

/* The node emitted a candidate or an invalidation: to the portal (held when not joined). */
static void dev_cand_hook(struct node_ep *e, floe_time now, bool invalidate, const char *cand)
{
    struct portal_sim_dev *d = e->hook_user;
    const char *peer = dev_ids[1 - d->side];
    bool held = floe_portal_client_get_state(d->pc) != FLOE_PORTAL_CLIENT_JOINED;

    dev_record(d->sent, &d->n_sent, now, invalidate, held, cand);
    (void)floe_portal_client_send_candidates(d->pc, now, invalidate, &peer, 1, &cand, 1);
}

/* Copy src into dst[0..cap), cut and NUL-terminated. */
static void dev_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The portal's authorization: the connection on the node, with the portal's keys and
 * credentials (client: gateway's key; gateway: client's key). */
static void dev_upsert(struct portal_sim_dev *d, floe_time now, const uint8_t *key,
                       const uint8_t *psk, const struct floe_portal_ice_creds *local,
                       const struct floe_portal_ice_creds *remote)
{
    struct floe_node_conn_config cc;

    memset(&cc, 0, sizeof(cc));
    memcpy(cc.public_key, key, sizeof(cc.public_key));
    cc.has_psk = true;
    memcpy(cc.psk, psk, sizeof(cc.psk));
    dev_copy(cc.local_ufrag, sizeof(cc.local_ufrag), local->username);
    dev_copy(cc.local_pwd, sizeof(cc.local_pwd), local->password);
    dev_copy(cc.remote_ufrag, sizeof(cc.remote_ufrag), remote->username);
    dev_copy(cc.remote_pwd, sizeof(cc.remote_pwd), remote->password);
    if (floe_node_conn_upsert(d->ne->node, now, d->ne->cid, &cc) == 0)
        d->authorized = true;
    dev_note(d, "authorized: connection %llu upserted", (unsigned long long)d->ne->cid);
}

static void dev_candidates(struct portal_sim_dev *d, floe_time now, const struct floe_portal_msg *m)
{
    bool inv = m->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES;

    for (uint32_t i = 0; i < m->u.cands.n_candidates; i++) {
        const char *c = m->u.cands.candidates[i];

        dev_record(d->recv, &d->n_recv, now, inv, false, c);
        if (inv)
            (void)floe_node_conn_remove_remote_candidate(d->ne->node, now, d->ne->cid, c);
        else
            (void)floe_node_conn_add_remote_candidate(d->ne->node, now, d->ne->cid, c);
    }
}

static void dev_message(struct portal_sim_dev *d, floe_time now, const struct floe_portal_msg *m)
{
    switch (m->type) {
    case FLOE_PORTAL_MSG_CREATE_AUTHORIZATION:
        dev_upsert(d, now, m->u.create.client.public_key, m->u.create.client.preshared_key,
                   &m->u.create.gateway_ice, &m->u.create.client_ice);
        (void)floe_portal_client_authorization_created(d->pc, now, m->u.create.ref);
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_FAILED:
        dev_note(d, "authorization failed: %s, again in 1 s", m->u.failed.reason);
        d->authorize_at = now + FLOE_SEC(1);
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_CREATED:
        dev_upsert(d, now, m->u.created.gateway_public_key, m->u.created.preshared_key,
                   &m->u.created.client_ice, &m->u.created.gateway_ice);
        break;
    case FLOE_PORTAL_MSG_ICE_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES:
        dev_candidates(d, now, m);
        break;
    default:
        break;
    }
}

static void dev_event(struct portal_sim_dev *d, floe_time now,
                      const struct floe_portal_client_event *ev)
{
    switch (ev->kind) {
    case FLOE_PORTAL_EV_JOINED:
        dev_note(d, "joined, init received");
        if (d->rejoined_at == FLOE_TIME_NEVER && now >= d->outage_at)
            d->rejoined_at = now;
        if (d->side == 0 && !d->authorized)
            d->authorize_at = now;
        break;
    case FLOE_PORTAL_EV_MESSAGE:
        dev_message(d, now, ev->msg);
        break;
    case FLOE_PORTAL_EV_DISCONNECTED:
        dev_note(d, "disconnected: %s (HTTP %d)", ev->reason, ev->status);
        d->connected = false;
        break;
    case FLOE_PORTAL_EV_RECONNECT_AT:
        d->reconnect_at = ev->at;
        if (ev->attempt > d->max_attempt)
            d->max_attempt = ev->attempt;
        dev_note(d, "reconnect in %llu ms (attempt %u)", DEV_MS(ev->at > now ? ev->at - now : 0),
                 (unsigned)ev->attempt);
        break;
    case FLOE_PORTAL_EV_FATAL:
        dev_note(d, "FATAL: %s", ev->reason);
        break;
    }
}

/* Drain the client into the stream, its events, and report a broken stream. */
static void dev_pump(struct portal_sim_dev *d, floe_time now)
{
    struct floe_portal_client_event ev;
    uint8_t buf[16384];
    long n;
    bool more = true;

    for (int round = 0; round < 8 && more; round++) {
        if (d->st.state == PSTREAM_BROKEN) {
            dev_note(d, "stream %u %s", (unsigned)d->st.id, d->st.why);
            if (!strcmp(d->st.why, "refused"))
                d->refused++;
            d->st.state = PSTREAM_CLOSED;
            if (d->connected && floe_portal_client_get_state(d->pc) != FLOE_PORTAL_CLIENT_WAITING)
                (void)floe_portal_client_disconnected(d->pc, now);
            d->connected = false;
        }
        while ((n = floe_portal_client_poll_transmit(d->pc, now, buf, sizeof(buf))) > 0)
            (void)pstream_write(&d->st, now, buf, (size_t)n);
        more = false;
        while (floe_portal_client_poll_event(d->pc, &ev) == 1) {
            dev_event(d, now, &ev);
            more = true;
        }
    }
    if (!d->connected && d->st.state == PSTREAM_OPEN && !d->st.slen)
        d->st.state = PSTREAM_CLOSED; /* the close frame went out: close the stream */
}

static void dev_connect(struct portal_sim_dev *d, floe_time now)
{
    d->reconnect_at = FLOE_TIME_NEVER;
    if (pstream_open(&d->st, ++d->next_id + (uint32_t)d->side * 1000u, &d->portal->addr, now) != 0)
        return;
    d->connected = floe_portal_client_connect(d->pc, now) == 0;
}

static void dev_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                             const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct portal_sim_dev *d = obj;
    const uint8_t *data;
    size_t n;

    (void)to;
    if (!floe_addr_eq(from, &d->portal->addr))
        return;
    pstream_input(&d->st, now, bytes, len, &data, &n);
    if (n && d->connected)
        (void)floe_portal_client_handle_input(d->pc, now, data, n);
    dev_pump(d, now);
    node_ep_events(d->ne, now);
    floe_sim_endpoint_drive(d->pair->sim, d->ne->ep);
}

static void dev_handle_timeout(void *obj, floe_time now)
{
    struct portal_sim_dev *d = obj;

    if (d->reconnect_at <= now)
        dev_connect(d, now);
    if (d->authorize_at <= now && !d->authorized &&
        floe_portal_client_get_state(d->pc) == FLOE_PORTAL_CLIENT_JOINED) {
        d->authorize_at = FLOE_TIME_NEVER;
        (void)floe_portal_client_request_authorization(d->pc, now, "res-1", NULL);
    }
    pstream_timeout(&d->st, now);
    if (floe_portal_client_poll_timeout(d->pc) <= now)
        floe_portal_client_handle_timeout(d->pc, now);
    dev_pump(d, now);
}

static int dev_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                             struct floe_addr *from, struct floe_addr *to)
{
    struct portal_sim_dev *d = obj;

    (void)now;
    (void)from;
    *len = pstream_output(&d->st, buf, cap);
    *to = d->st.peer;
    return *len > 0;
}

static floe_time dev_poll_timeout(void *obj)
{
    struct portal_sim_dev *d = obj;

    floe_time t = floe_time_min(d->reconnect_at, pstream_next(&d->st));

    if (!d->authorized && floe_portal_client_get_state(d->pc) == FLOE_PORTAL_CLIENT_JOINED)
        t = floe_time_min(t, d->authorize_at);
    return floe_time_min(t, floe_portal_client_poll_timeout(d->pc));
}

/* The host moved: the stream bound to the old address is gone. */
static void dev_on_roam(void *obj, floe_time now, const struct floe_addr *old_addr,
                        const struct floe_addr *new_addr)
{
    struct portal_sim_dev *d = obj;

    (void)old_addr;
    (void)new_addr;
    if (d->st.state == PSTREAM_SYN_SENT || d->st.state == PSTREAM_OPEN) {
        d->st.state = PSTREAM_BROKEN;
        d->st.why = "gone with the old address";
    }
    dev_pump(d, now);
}

static const struct floe_sim_endpoint_ops dev_ops = {
    .handle_input = dev_handle_input,
    .handle_timeout = dev_handle_timeout,
    .poll_transmit = dev_poll_transmit,
    .poll_timeout = dev_poll_timeout,
    .on_roam = dev_on_roam,
};

static int dev_client(struct portal_sim_dev *d, uint64_t seed)
{
    struct floe_portal_client_config cfg;
    uint8_t key[FLOE_PORTAL_KEY_LEN];

    floe_xoshiro_seed(&d->rng, seed);
    floe_node_public_key(d->ne->node, key);
    memcpy(d->portal->key[d->side], key, sizeof(key));
    floe_portal_client_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&d->rng);
    cfg.role = d->side == 0 ? FLOE_PORTAL_ROLE_CLIENT : FLOE_PORTAL_ROLE_GATEWAY;
    cfg.host = "portal.sim:8080";
    cfg.token = d->side == 0 ? "sim-client-token" : "sim-gateway-token";
    cfg.public_key = key;
    cfg.name = dev_ids[d->side];
    cfg.user_agent = "floe-sim";
    cfg.tls = false;
    return floe_portal_client_new(&d->pc, &cfg);
}

int portal_sim_dev_start(struct portal_sim_dev *d, struct node_pair *p, struct portal_sim *portal,
                         int side, uint64_t seed)
{
    struct floe_addr bind;
    int rc;

    memset(d, 0, sizeof(*d));
    d->pair = p;
    d->portal = portal;
    d->side = side;
    d->ne = &p->ep[side];
    d->ne->cand_hook = dev_cand_hook;
    d->ne->hook_user = d;
    d->reconnect_at = 0;
    d->authorize_at = d->outage_at = d->rejoined_at = FLOE_TIME_NEVER;
    d->ne->quiet_paths = true;
    d->st.sbuf = malloc(PSTREAM_BUF);
    pstream_reset(&d->st);
    if (!d->st.sbuf)
        return FLOE_ERR_NOMEM;
    rc = dev_client(d, seed);
    if (rc == 0)
        rc = floe_sim_host_addr(p->sim, d->ne->host, 0, &bind);
    bind.port = PORTAL_SIM_DEV_PORT;
    if (rc == 0)
        rc = floe_sim_attach(p->sim, d->ne->host, &bind, side == 0 ? "client-portal" : "gw-portal",
                             &dev_ops, d, &d->ep);
    return rc;
}

void portal_sim_dev_free(struct portal_sim_dev *d)
{
    floe_portal_client_free(d->pc);
    free(d->st.sbuf);
    d->pc = NULL;
    d->st.sbuf = NULL;
}
