/*
 * Routing between devices (issue 12): request_authorization -> an online gateway of the
 * resource's site -> create_authorization (the portal makes the preshared key and both sides'
 * ICE credentials) -> the gateway's authorization_created -> authorization_created to the
 * client, or authorization_creation_failed; candidates and invalidations both ways.
 *
 * A message for a device goes straight to its connection when it is on this instance; with
 * PostgreSQL, otherwise, to the instance its presence row names, as a NOTIFY on channel
 * floe_dev_<instance> with the payload {"to":DEVICE,"msg":PHOENIX_JSON} or, for the gateway's
 * acknowledgement of an authorization, {"to":CLIENT,"ack":AUTHORIZATION_ID}. The client's
 * authorization_created is prepared on the client's instance when the request arrives and
 * sent when the acknowledgement comes back. Candidates and invalidations for other instances
 * are queued and sent together after each round of events: one statement finds the devices'
 * instances and notifies them all (two round trips per message to the database were the
 * limit of cross-instance traffic). Candidates for a device connected nowhere, found so at
 * once or by that statement, are held in the store and sent after its next join (hold.c;
 * {"to":DEVICE,"held":1} asks the device's instance to send them now).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/crypto.h"
#include "floe_io.h"
#include "serve.h"

/* -------------------------------------------------------------------- delivery */

static int64_t portald_id_parse(const char *s);

/* The earlier of two wall times (seconds). */
static int64_t portald_until(int64_t a, int64_t b)
{
    return a < b ? a : b;
}
static void portald_relay_cands(struct portald *d, const struct portald_conn *from, int64_t to,
                                enum floe_portal_msg_type type, enum floe_portal_topic topic);

/* A queued {"to":DEVICE,"msg":CANDIDATES} whose device was connected nowhere: held (hold.c). */
static void portald_route_hold(struct portald *d, struct floe_portal_msg *m, int64_t to,
                               const char *payload)
{
    const char *json = strstr(payload, "\"msg\":");
    char reason[64];
    int64_t from;

    if (!json)
        return;
    json += 6;
    if (floe_portal_msg_decode(m, json, strlen(json) - 1, reason, sizeof(reason)) < 0 ||
        (m->type != FLOE_PORTAL_MSG_ICE_CANDIDATES &&
         m->type != FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES) ||
        m->u.cands.n_ids != 1 || !(from = portald_id_parse(m->u.cands.ids[0])))
        return;
    portald_hold_list(d, &m->u.cands, to, from, m->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES);
}

void portald_route_flush(struct portald *d)
{
    bool delivered[PORTALD_OUTQ_MAX];
    struct floe_portal_msg *m = NULL;
    size_t sent = 0;

    if (d->n_out == 0)
        return;
    if (floe_store_notify_devices(d->store, d->out_to, (const char *const *)d->out_payload,
                                  d->n_out, PORTALD_NOTIFY_PREFIX, d->opts.instance, portald_wall(),
                                  PORTALD_PRESENCE_TTL, &sent, delivered) < 0) {
        d->stats.store_errors++;
        memset(delivered, 1, sizeof(delivered)); /* unknown: not held twice */
    }
    d->stats.notifies_out += sent;
    d->stats.undeliverable += d->n_out - sent;
    for (size_t i = 0; i < d->n_out; i++) {
        if (!delivered[i] && (m || (m = malloc(sizeof(*m)))))
            portald_route_hold(d, m, d->out_to[i], d->out_payload[i]);
        free(d->out_payload[i]);
    }
    free(m);
    d->n_out = 0;
}

static int portald_notify_device(struct portald *d, int64_t device_id, const char *payload)
{
    char instance[FLOE_STORE_INSTANCE_MAX], channel[FLOE_STORE_INSTANCE_MAX + 16];

    portald_route_flush(d); /* what was queued for it goes first */
    if (floe_store_engine_of(d->store) != FLOE_STORE_POSTGRES ||
        floe_store_presence_instance(d->store, device_id, portald_wall(), PORTALD_PRESENCE_TTL,
                                     instance) < 0 ||
        strcmp(instance, d->opts.instance) == 0) {
        d->stats.undeliverable++;
        return FLOE_ERR_NOT_FOUND;
    }
    snprintf(channel, sizeof(channel), PORTALD_NOTIFY_PREFIX "%s", instance);
    if (floe_store_notify(d->store, channel, payload) < 0) {
        d->stats.store_errors++;
        return FLOE_ERR_IO;
    }
    d->stats.notifies_out++;
    return 0;
}

/*
 * Deliver json to device_id: at once to a connection here; otherwise at once through NOTIFY
 * (its outcome returned), or, later, queued for the next portald_route_flush (0: queued).
 */
static int portald_deliver_to(struct portald *d, int64_t device_id, const char *json, bool later)
{
    struct portald_conn *c = portald_device_conn(d, device_id);
    char *payload;
    int rc = 0;

    if (c && !c->dead)
        return portald_send_json(d, c, json, strlen(json));
    if (later && floe_store_engine_of(d->store) != FLOE_STORE_POSTGRES) {
        d->stats.undeliverable++;
        return FLOE_ERR_NOT_FOUND;
    }
    payload = malloc(strlen(json) + 64);
    if (!payload)
        return FLOE_ERR_NOMEM;
    sprintf(payload, "{\"to\":%lld,\"msg\":%s}", (long long)device_id, json);
    if (strlen(payload) >= FLOE_STORE_PAYLOAD_MAX) {
        rc = FLOE_ERR_BUFFER_TOO_SMALL;
    } else if (later) {
        if (d->n_out == PORTALD_OUTQ_MAX)
            portald_route_flush(d);
        d->out_to[d->n_out] = device_id;
        d->out_payload[d->n_out++] = payload;
        return 0;
    } else {
        rc = portald_notify_device(d, device_id, payload);
    }
    free(payload);
    return rc;
}

int portald_deliver(struct portald *d, int64_t device_id, const char *json)
{
    return portald_deliver_to(d, device_id, json, false);
}

int portald_deliver_later(struct portald *d, int64_t device_id, const char *json)
{
    return portald_deliver_to(d, device_id, json, true);
}

/* Encode d->msg and deliver it to device_id (later: queued for another instance). */
static int portald_deliver_msg(struct portald *d, int64_t device_id, bool later)
{
    long n = floe_portal_msg_encode(d->msg, d->out, FLOE_PORTAL_JSON_MAX);

    if (n < 0) {
        portald_log(d, FLOE_LOG_ERROR, "cannot encode %s: %s", floe_portal_msg_event(d->msg->type),
                    floe_strerror((int)n));
        return (int)n;
    }
    return portald_deliver_to(d, device_id, d->out, later);
}

/* ----------------------------------------------------------- authorizations */

static int64_t portald_id_parse(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    return (*s && !*end && v > 0) ? (int64_t)v : 0;
}

static void portald_authz_failed(struct portald *d, struct portald_conn *c, const char *resource,
                                 const char *reason)
{
    char id[FLOE_PORTAL_ID_MAX];

    snprintf(id, sizeof(id), "%s", resource);
    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_AUTHORIZATION_FAILED;
    d->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
    snprintf(d->msg->u.failed.resource_id, FLOE_PORTAL_ID_MAX, "%s", id);
    snprintf(d->msg->u.failed.reason, FLOE_PORTAL_REASON_MAX, "%s", reason);
    d->stats.authorizations_failed++;
    (void)portald_send_msg(d, c);
}

/*
 * An online gateway of site: one the client named as connected already, else one drawn at
 * random (the store's index: a few one-row lookups, not every gateway of the site).
 */
static int portald_pick_gateway(struct portald *d, int64_t site,
                                const struct floe_portal_request_authorization *req,
                                struct floe_store_device *out)
{
    int64_t prefer[FLOE_PORTAL_PEERS_MAX];
    size_t n = 0;
    uint64_t r = 0;

    for (uint32_t j = 0; j < req->n_gateways && n < FLOE_PORTAL_PEERS_MAX; j++)
        if ((prefer[n] = portald_id_parse(req->gateway_ids[j])) != 0)
            n++;
    (void)floe_rng_fill(&d->rng, (uint8_t *)&r, sizeof(r));
    return floe_store_gateway_pick(d->store, site, portald_wall(), PORTALD_PRESENCE_TTL, prefer, n,
                                   r, out);
}

static bool portald_authz_grow(struct portald_conn *c)
{
    struct portald_authz *a;
    size_t cap = c->cap_authz ? c->cap_authz * 2 : 4;

    if (c->n_authz < c->cap_authz)
        return true;
    if (c->n_authz >= PORTALD_AUTHZ_MAX)
        return false;
    a = realloc(c->authz, cap * sizeof(*a));
    if (!a)
        return false;
    c->authz = a;
    c->cap_authz = cap;
    return true;
}

/* create_authorization for the gateway into d->msg. */
static void portald_build_create(struct portald *d, const struct portald_conn *c,
                                 const struct floe_portal_resource *res,
                                 const struct portald_authz_secrets *s, int64_t authz_id,
                                 uint64_t expires)
{
    struct floe_portal_create_authorization *ca = &d->msg->u.create;

    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_CREATE_AUTHORIZATION;
    d->msg->topic = FLOE_PORTAL_TOPIC_GATEWAY;
    snprintf(ca->ref, sizeof(ca->ref), "%lld", (long long)authz_id);
    ca->resource = *res;
    snprintf(ca->client.id, sizeof(ca->client.id), "%s", c->sid);
    (void)floe_base64_decode(ca->client.public_key, sizeof(ca->client.public_key),
                             c->dev.public_key, strlen(c->dev.public_key));
    (void)floe_base64_decode(ca->client.preshared_key, sizeof(ca->client.preshared_key),
                             s->preshared_key, strlen(s->preshared_key));
    (void)floe_addr_parse_ip(c->dev.ipv4, &ca->client.ipv4);
    (void)floe_addr_parse_ip(c->dev.ipv6, &ca->client.ipv6);
    snprintf(ca->client_ice.username, FLOE_PORTAL_UFRAG_MAX, "%s", s->client.username);
    snprintf(ca->client_ice.password, FLOE_PORTAL_ICE_PWD_MAX, "%s", s->client.password);
    snprintf(ca->gateway_ice.username, FLOE_PORTAL_UFRAG_MAX, "%s", s->gateway.username);
    snprintf(ca->gateway_ice.password, FLOE_PORTAL_ICE_PWD_MAX, "%s", s->gateway.password);
    ca->expires_at = expires;
}

/* The client's authorization_created, encoded and kept until the gateway acknowledges. */
static char *portald_build_created(struct portald *d, const char *resource_id,
                                   const struct floe_store_device *gw,
                                   const struct portald_authz_secrets *s)
{
    struct floe_portal_authorization_created *ac = &d->msg->u.created;
    long n;

    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_AUTHORIZATION_CREATED;
    d->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
    snprintf(ac->resource_id, sizeof(ac->resource_id), "%s", resource_id);
    snprintf(ac->gateway_id, sizeof(ac->gateway_id), "%lld", (long long)gw->id);
    (void)floe_base64_decode(ac->gateway_public_key, sizeof(ac->gateway_public_key), gw->public_key,
                             strlen(gw->public_key));
    (void)floe_addr_parse_ip(gw->ipv4, &ac->gateway_ipv4);
    (void)floe_addr_parse_ip(gw->ipv6, &ac->gateway_ipv6);
    (void)floe_base64_decode(ac->preshared_key, sizeof(ac->preshared_key), s->preshared_key,
                             strlen(s->preshared_key));
    snprintf(ac->client_ice.username, FLOE_PORTAL_UFRAG_MAX, "%s", s->client.username);
    snprintf(ac->client_ice.password, FLOE_PORTAL_ICE_PWD_MAX, "%s", s->client.password);
    snprintf(ac->gateway_ice.username, FLOE_PORTAL_UFRAG_MAX, "%s", s->gateway.username);
    snprintf(ac->gateway_ice.password, FLOE_PORTAL_ICE_PWD_MAX, "%s", s->gateway.password);
    n = floe_portal_msg_encode(d->msg, d->out, FLOE_PORTAL_JSON_MAX);
    return n < 0 ? NULL : strdup(d->out);
}

/*
 * The client's answer at once, before the gateway's acknowledgement, when the gateway is
 * connected here and announced its candidates: authorization_created, then those candidates
 * as ice_candidates from it. The client's handshake leaves a round trip to the gateway
 * earlier (docs/protocol.md, "The early answer"); the gateway has the authorization by then
 * on any sane geometry, and keeps an initiation that overtakes it.
 */
static void portald_answer_early(struct portald *d, struct portald_conn *c,
                                 struct portald_authz *pa)
{
    struct portald_conn *g = portald_device_conn(d, pa->gateway_id);

    if (!g || g->dead || !g->gw_cands || g->n_gw_cands == 0)
        return;
    if (portald_send_json(d, c, pa->client_json, strlen(pa->client_json)) < 0)
        return;
    free(pa->client_json);
    pa->client_json = NULL;
    pa->early = true;
    d->stats.authorizations_early++;
    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->u.cands.n_candidates = g->n_gw_cands;
    memcpy(d->msg->u.cands.candidates, g->gw_cands, g->n_gw_cands * sizeof(g->gw_cands[0]));
    portald_relay_cands(d, g, c->dev.id, FLOE_PORTAL_MSG_ICE_CANDIDATES, FLOE_PORTAL_TOPIC_CLIENT);
}

/* Allowed, resource found, gateway picked: record, prepare both messages, send the gateway's. */
static void portald_authorize(struct portald *d, struct portald_conn *c,
                              const struct floe_store_resource *sr,
                              const struct floe_store_device *gw, const char *resource_id)
{
    struct floe_store_authorization a = {
        .client_id = c->dev.id, .gateway_id = gw->id, .resource_id = sr->id};
    struct floe_portal_resource res;
    struct portald_authz_secrets s;
    struct portald_authz *pa;
    struct portald_conn *g;
    int64_t until;
    char *created;

    a.expires_at = portald_wall() + d->opts.authz_ttl;
    if (portald_resource_convert(sr, &res) < 0 || !portald_authz_grow(c) ||
        portald_authz_secrets_make(&s, &d->rng) < 0) {
        portald_authz_failed(d, c, resource_id, "internal_error");
        return;
    }
    snprintf(a.preshared_key, sizeof(a.preshared_key), "%s", s.preshared_key);
    if (floe_store_authorization_add(d->store, &a, &a.id) < 0) {
        d->stats.store_errors++;
        floe_wipe(&s, sizeof(s));
        portald_authz_failed(d, c, resource_id, "internal_error");
        return;
    }
    floe_wipe(a.preshared_key, sizeof(a.preshared_key));
    created = portald_build_created(d, resource_id, gw, &s);
    portald_build_create(d, c, &res, &s, a.id, (uint64_t)a.expires_at);
    floe_wipe(&s, sizeof(s));
    if (!created || portald_deliver_msg(d, gw->id, false) < 0) {
        free(created);
        (void)floe_store_authorization_remove(d->store, a.id); /* no candidates for it */
        portald_authz_failed(d, c, resource_id, "offline");
        return;
    }
    pa = &c->authz[c->n_authz++];
    *pa = (struct portald_authz){.id = a.id,
                                 .gateway_id = gw->id,
                                 .resource_id = sr->id,
                                 .client_json = created,
                                 .asked = portald_wall()};
    until = portald_until(portald_wall() + d->opts.peer_cache, a.expires_at);
    portald_peers_add(c, gw->id, portald_wall(), until);
    if ((g = portald_device_conn(d, gw->id)) != NULL)
        portald_peers_add(g, c->dev.id, portald_wall(), until);
    portald_answer_early(d, c, pa);
}

static void portald_request_authorization(struct portald *d, struct portald_conn *c)
{
    struct floe_portal_request_authorization req = d->msg->u.request;
    int64_t rid = portald_id_parse(req.resource_id);
    struct floe_store_resource sr;
    struct floe_store_device gw;
    int allowed, rc;

    d->stats.authorizations_requested++;
    if (!rid || floe_store_resource_get(d->store, rid, &sr) < 0) {
        portald_authz_failed(d, c, req.resource_id, "not_found");
        return;
    }
    allowed = floe_store_client_allowed(d->store, c->dev.id, rid);
    if (allowed <= 0) {
        if (allowed < 0)
            d->stats.store_errors++;
        portald_authz_failed(d, c, req.resource_id, "forbidden");
        return;
    }
    rc = portald_pick_gateway(d, sr.site_id, &req, &gw);
    if (rc < 0) {
        if (rc != FLOE_ERR_NOT_FOUND)
            d->stats.store_errors++;
        portald_authz_failed(d, c, req.resource_id, "offline");
        return;
    }
    portald_authorize(d, c, &sr, &gw, req.resource_id);
}

/* The gateway acknowledged authorization id: the client gets its authorization_created. */
static void portald_ack(struct portald *d, struct portald_conn *c, int64_t id)
{
    for (size_t i = 0; i < c->n_authz; i++) {
        struct portald_authz *a = &c->authz[i];

        if (a->id != id || a->acked || (!a->client_json && !a->early))
            continue;
        if (a->client_json)
            (void)portald_send_json(d, c, a->client_json, strlen(a->client_json));
        free(a->client_json);
        a->client_json = NULL;
        a->acked = true;
        d->stats.authorizations_created++;
        return;
    }
}

static void portald_gateway_authorized(struct portald *d, struct portald_conn *gw)
{
    int64_t id = portald_id_parse(d->msg->u.authorized.ref);
    struct floe_store_authorization a;
    struct portald_conn *c;
    char payload[96];

    if (!id || floe_store_authorization_get(d->store, id, &a) < 0 || a.gateway_id != gw->dev.id) {
        d->stats.messages_bad++;
        return;
    }
    /* its candidates may go to the client */
    portald_peers_add(gw, a.client_id, portald_wall(),
                      portald_until(portald_wall() + d->opts.peer_cache, a.expires_at));
    c = portald_device_conn(d, a.client_id);
    if (c && !c->dead) {
        portald_ack(d, c, id);
        return;
    }
    snprintf(payload, sizeof(payload), "{\"to\":%lld,\"ack\":%lld}", (long long)a.client_id,
             (long long)id);
    (void)portald_notify_device(d, a.client_id, payload);
}

/* reject_access for client c's access to resource at gateway (wherever it is connected). */
static void portald_reject(struct portald *d, const struct portald_conn *c, int64_t gateway,
                           int64_t resource)
{
    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_REJECT_ACCESS;
    d->msg->topic = FLOE_PORTAL_TOPIC_GATEWAY;
    snprintf(d->msg->u.access.client_id, FLOE_PORTAL_ID_MAX, "%s", c->sid);
    snprintf(d->msg->u.access.resource_id, FLOE_PORTAL_ID_MAX, "%lld", (long long)resource);
    (void)portald_deliver_msg(d, gateway, false);
}

/*
 * Client c's authorization a was never acknowledged by its gateway (gone without the portal
 * noticing yet: no FIN, its presence not expired): the client hears "timeout" (after an early
 * answer it drops the connection it made, and its next packet asks again, perhaps for another
 * gateway), the authorization is removed (its candidates refused) and the gateway told, in
 * case it was only slow.
 */
static void portald_authz_timeout(struct portald *d, struct portald_conn *c,
                                  const struct portald_authz *a)
{
    char rid[24];
    struct portald_conn *g;

    portald_log(d, FLOE_LOG_WARN, "gateway %lld did not acknowledge authorization %lld in %d s",
                (long long)a->gateway_id, (long long)a->id, PORTALD_AUTHZ_ACK_TIMEOUT);
    if (floe_store_authorization_remove(d->store, a->id) == FLOE_ERR_IO)
        d->stats.store_errors++;
    portald_peers_forget(c, a->gateway_id);
    if ((g = portald_device_conn(d, a->gateway_id)) != NULL)
        portald_peers_forget(g, c->dev.id);
    portald_reject(d, c, a->gateway_id, a->resource_id);
    snprintf(rid, sizeof(rid), "%lld", (long long)a->resource_id);
    portald_authz_failed(d, c, rid, "timeout");
}

void portald_route_timeouts(struct portald *d)
{
    int64_t now = portald_wall();

    for (size_t i = 0; i < d->n_conns; i++) {
        struct portald_conn *c = d->conns[i];
        size_t kept = 0;

        if (c->kind != PORTALD_KIND_CLIENT || c->dead)
            continue;
        for (size_t k = 0; k < c->n_authz; k++) {
            struct portald_authz a = c->authz[k];

            if (a.acked || now - a.asked < PORTALD_AUTHZ_ACK_TIMEOUT) {
                c->authz[kept++] = a;
                continue;
            }
            portald_authz_timeout(d, c, &a);
            free(a.client_json);
        }
        c->n_authz = kept;
    }
}

void portald_route_revoke(struct portald *d, struct portald_conn *c, int64_t resource_id)
{
    struct portald_conn *g;
    size_t kept = 0;

    (void)d;

    for (size_t i = 0; i < c->n_authz; i++) {
        struct portald_authz a = c->authz[i];

        if (a.resource_id != resource_id) {
            c->authz[kept++] = a;
            continue;
        }
        free(a.client_json); /* reject_access goes from the store's revocations (authz.c) */
        portald_peers_forget(c, a.gateway_id);
        if ((g = portald_device_conn(d, a.gateway_id)) != NULL)
            portald_peers_forget(g, c->dev.id);
    }
    c->n_authz = kept;
}

void portald_route_conn_free(struct portald_conn *c)
{
    portald_peers_free(c);
    free(c->gw_cands);
    c->gw_cands = NULL;
    c->n_gw_cands = 0;
    for (size_t i = 0; i < c->n_authz; i++)
        free(c->authz[i].client_json);
    free(c->authz);
    c->authz = NULL;
    c->n_authz = c->cap_authz = 0;
}

/* ---------------------------------------------------------------- candidates */

/* The ones of clients[idx[0..m)) the database finds live with gateway: live[] and from's cache. */
static void portald_cands_lookup(struct portald *d, struct portald_conn *from, int64_t gateway,
                                 const int64_t *clients, const size_t *idx, size_t m, bool *live)
{
    int64_t miss[FLOE_PORTAL_PEERS_MAX], now = portald_wall();
    bool found[FLOE_PORTAL_PEERS_MAX];
    bool client = from->kind == PORTALD_KIND_CLIENT;

    for (size_t j = 0; j < m; j++)
        miss[j] = clients[idx[j]];
    d->stats.candidates_looked_up += m;
    if (floe_store_authorizations_live(d->store, gateway, miss, m, now, found) < 0) {
        d->stats.store_errors++;
        return;
    }
    for (size_t j = 0; j < m; j++) {
        if (!found[j])
            continue;
        live[idx[j]] = true;
        portald_peers_add(from, client ? gateway : miss[j], now, now + d->opts.peer_cache);
    }
}

/*
 * Which of clients[0..n) (n <= FLOE_PORTAL_PEERS_MAX) share a live authorization with
 * gateway (pending ones too: recorded when the client asks, before the gateway's answer),
 * into live[]: from the sender's cache (peers.c), the misses in one statement. The others,
 * and all misses on a database error, are refused: dropped and counted.
 */
static void portald_cands_live(struct portald *d, struct portald_conn *from, int64_t gateway,
                               const int64_t *clients, size_t n, bool *live)
{
    bool client = from->kind == PORTALD_KIND_CLIENT;
    int64_t now = portald_wall();
    size_t idx[FLOE_PORTAL_PEERS_MAX], m = 0;

    for (size_t i = 0; i < n; i++) {
        live[i] = portald_peers_ok(from, client ? gateway : clients[i], now);
        if (!live[i])
            idx[m++] = i;
    }
    if (m)
        portald_cands_lookup(d, from, gateway, clients, idx, m, live);
    for (size_t i = 0; i < n; i++) {
        if (live[i])
            continue;
        d->stats.candidates_refused++;
        portald_log(d, FLOE_LOG_DEBUG,
                    "%s between client %lld and gateway %lld refused: no live authorization",
                    floe_portal_msg_event(d->msg->type), (long long)clients[i], (long long)gateway);
    }
}

/* Rewrite d->msg (candidates from `from`) as type on topic and deliver it to device `to`. */
static void portald_relay_cands(struct portald *d, const struct portald_conn *from, int64_t to,
                                enum floe_portal_msg_type type, enum floe_portal_topic topic)
{
    int rc;

    d->msg->type = type;
    d->msg->topic = topic;
    d->msg->has_ref = false;
    d->msg->u.cands.n_ids = 1;
    snprintf(d->msg->u.cands.ids[0], FLOE_PORTAL_ID_MAX, "%s", from->sid);
    d->msg->u.cands.n_skipped = 0;
    rc = portald_deliver_msg(d, to, true);
    if (rc == 0) {
        if (type == FLOE_PORTAL_MSG_ICE_CANDIDATES)
            d->stats.candidates_relayed++;
        else
            d->stats.invalidations_relayed++;
    } else if (rc == FLOE_ERR_NOT_FOUND) {
        portald_hold_cands(d, to, from->dev.id, type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES);
    }
}

static void portald_client_cands(struct portald *d, struct portald_conn *c, bool invalidate)
{
    int64_t gw = d->msg->u.cands.n_ids ? portald_id_parse(d->msg->u.cands.ids[0]) : 0;
    bool live = false;

    if (!gw) {
        d->stats.messages_bad++;
        return;
    }
    portald_cands_live(d, c, gw, &c->dev.id, 1, &live);
    if (live)
        portald_relay_cands(d, c, gw,
                            invalidate ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES
                                       : FLOE_PORTAL_MSG_ICE_CANDIDATES,
                            FLOE_PORTAL_TOPIC_GATEWAY);
}

/* A broadcast: the named clients checked in one statement, relayed to those it may reach. */
static void portald_gateway_cands(struct portald *d, struct portald_conn *g, bool invalidate)
{
    int64_t clients[FLOE_PORTAL_PEERS_MAX];
    bool live[FLOE_PORTAL_PEERS_MAX];
    size_t n = 0;

    _Static_assert(FLOE_PORTAL_PEERS_MAX <= FLOE_STORE_LIVE_MAX, "one statement per broadcast");
    for (uint32_t i = 0; i < d->msg->u.cands.n_ids && i < FLOE_PORTAL_PEERS_MAX; i++) {
        if ((clients[n] = portald_id_parse(d->msg->u.cands.ids[i])) != 0)
            n++;
        else
            d->stats.messages_bad++;
    }
    portald_cands_live(d, g, g->dev.id, clients, n, live);
    for (size_t i = 0; i < n; i++)
        if (live[i])
            portald_relay_cands(d, g, clients[i],
                                invalidate ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES
                                           : FLOE_PORTAL_MSG_ICE_CANDIDATES,
                                FLOE_PORTAL_TOPIC_CLIENT);
}

/* The gateway's own candidates, all of them (gateway_ice_candidates): kept for early answers. */
static void portald_gateway_announce(struct portald *d, struct portald_conn *g)
{
    const struct floe_portal_candidates *in = &d->msg->u.cands;

    if (!g->gw_cands && !(g->gw_cands = calloc(FLOE_PORTAL_CANDIDATES_MAX, sizeof(*g->gw_cands)))) {
        g->n_gw_cands = 0;
        return;
    }
    memcpy(g->gw_cands, in->candidates, in->n_candidates * sizeof(g->gw_cands[0]));
    g->n_gw_cands = in->n_candidates;
    d->stats.gateway_announces++;
}

void portald_route_message(struct portald *d, struct portald_conn *c)
{
    bool client = c->kind == PORTALD_KIND_CLIENT;

    switch (d->msg->type) {
    case FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION:
        if (client) {
            portald_request_authorization(d, c);
            return;
        }
        break;
    case FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED:
        if (!client) {
            portald_gateway_authorized(d, c);
            return;
        }
        break;
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
        if (client) {
            portald_client_cands(d, c,
                                 d->msg->type == FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES);
            return;
        }
        break;
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
        if (!client) {
            portald_gateway_cands(d, c, d->msg->type == FLOE_PORTAL_MSG_BROADCAST_INVALIDATED);
            return;
        }
        break;
    case FLOE_PORTAL_MSG_GATEWAY_CANDIDATES:
        if (!client) {
            portald_gateway_announce(d, c);
            return;
        }
        break;
    default:
        break;
    }
    d->stats.messages_bad++;
    portald_log(d, FLOE_LOG_DEBUG, "unexpected %s from %s", floe_portal_msg_event(d->msg->type),
                c->sid);
}

/* ------------------------------------------------------------- notifications */

void portald_route_notify(struct portald *d, const char *payload)
{
    json_error_t jerr;
    json_t *root = json_loads(payload, 0, &jerr);
    json_t *to = root ? json_object_get(root, "to") : NULL;
    json_t *msg = root ? json_object_get(root, "msg") : NULL;
    json_t *ack = root ? json_object_get(root, "ack") : NULL;
    json_t *held = root ? json_object_get(root, "held") : NULL;
    struct portald_conn *c =
        json_is_integer(to) ? portald_device_conn(d, json_integer_value(to)) : NULL;
    char *text;

    if ((!c || c->dead) && json_is_integer(to) && json_is_object(msg) &&
        (text = json_dumps(msg, JSON_COMPACT)) != NULL) {
        /* the device left this instance meanwhile: candidates are held, the rest is lost */
        if (!portald_hold_notified(d, json_integer_value(to), text))
            d->stats.undeliverable++;
        free(text);
    } else if (!c || c->dead) {
        d->stats.undeliverable++;
    } else if (json_is_integer(held)) {
        portald_hold_flush(d, c);
    } else if (json_is_integer(ack)) {
        portald_ack(d, c, json_integer_value(ack));
    } else if (json_is_object(msg) && (text = json_dumps(msg, JSON_COMPACT)) != NULL) {
        (void)portald_send_json(d, c, text, strlen(text));
        free(text);
    } else {
        d->stats.messages_bad++;
    }
    json_decref(root);
}
