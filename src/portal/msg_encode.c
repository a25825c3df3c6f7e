/*
 * Portal message encoder: struct floe_portal_msg -> compact JSON, with jansson. Every value is
 * checked against the limits the decoder applies (msg_int.h), so that what is written decodes
 * to the same struct. Errors are sticky in struct enc: one check at the end.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "floe/crypto.h"
#include "msg_int.h"

struct enc {
    int err;
};

static json_t *enc_bad(struct enc *e)
{
    if (e->err == 0)
        e->err = FLOE_ERR_INVALID_ARG;
    return NULL;
}

/* Take a new value into obj[key]; a NULL value (or a NULL obj) leaves the error set. */
static void enc_set(struct enc *e, json_t *obj, const char *key, json_t *v)
{
    if (!v && e->err == 0)
        e->err = FLOE_ERR_NOMEM;
    if (!obj || !v) {
        json_decref(v);
        return;
    }
    if (json_object_set_new(obj, key, v) != 0 && e->err == 0)
        e->err = FLOE_ERR_NOMEM;
}

static void enc_append(struct enc *e, json_t *arr, json_t *v)
{
    if (!v && e->err == 0)
        e->err = FLOE_ERR_NOMEM;
    if (!arr || !v) {
        json_decref(v);
        return;
    }
    if (json_array_append_new(arr, v) != 0 && e->err == 0)
        e->err = FLOE_ERR_NOMEM;
}

/* Length of the NUL-terminated s within cap bytes; cap when there is no NUL. */
static size_t enc_len(const char *s, size_t cap)
{
    size_t n = 0;
    while (s && n < cap && s[n] != '\0')
        n++;
    return s ? n : cap;
}

static json_t *enc_str(struct enc *e, enum floe__pm_str kind, const char *s, size_t cap)
{
    size_t n = enc_len(s, cap);
    if (n >= cap || !floe__pm_str_ok(kind, s, n))
        return enc_bad(e);
    return json_stringn(s, n);
}

#define ENC_STR(e, kind, field) enc_str((e), (kind), (field), sizeof(field))

static json_t *enc_ip(struct enc *e, const struct floe_addr *a, uint8_t family)
{
    char buf[FLOE_ADDR_STRLEN];
    if (a->family != family || floe_addr_format_ip(a, buf, sizeof(buf)) < 0)
        return enc_bad(e);
    return json_string(buf);
}

static json_t *enc_key(struct enc *e, const uint8_t *key)
{
    char buf[64];
    if (floe_base64_encode(buf, sizeof(buf), key, FLOE_PORTAL_KEY_LEN) < 0)
        return enc_bad(e);
    return json_string(buf);
}

static json_t *enc_cidr(struct enc *e, const struct floe_portal_cidr *c)
{
    char buf[FLOE_ADDR_STRLEN + 8];
    unsigned max = c->addr.family == FLOE_AF_INET ? 32u : 128u;
    int n = floe_addr_format_ip(&c->addr, buf, sizeof(buf) - 5);
    if (n < 0 || c->prefix > max)
        return enc_bad(e);
    snprintf(buf + n, sizeof(buf) - (size_t)n, "/%u", (unsigned)c->prefix);
    return json_string(buf);
}

static json_t *enc_ids(struct enc *e, const char (*ids)[FLOE_PORTAL_ID_MAX], uint32_t n)
{
    if (n > FLOE_PORTAL_PEERS_MAX)
        return enc_bad(e);
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n; i++)
        enc_append(e, arr, ENC_STR(e, FLOE__PM_ID, ids[i]));
    return arr;
}

static json_t *enc_ice(struct enc *e, const struct floe_portal_ice_creds *c)
{
    json_t *o = json_object();
    enc_set(e, o, "username", ENC_STR(e, FLOE__PM_UFRAG, c->username));
    enc_set(e, o, "password", ENC_STR(e, FLOE__PM_ICE_PWD, c->password));
    return o;
}

static json_t *enc_interface(struct enc *e, const struct floe_portal_interface *i)
{
    json_t *o = json_object();
    enc_set(e, o, "ipv4", enc_ip(e, &i->ipv4, FLOE_AF_INET));
    enc_set(e, o, "ipv6", enc_ip(e, &i->ipv6, FLOE_AF_INET6));
    return o;
}

static json_t *enc_filter(struct enc *e, const struct floe_portal_filter *f)
{
    const char *proto = floe__pm_proto_name(f->protocol);
    if (!proto || f->port_start > f->port_end)
        return enc_bad(e);
    json_t *o = json_object();
    enc_set(e, o, "protocol", json_string(proto));
    if (f->protocol != FLOE_PORTAL_PROTO_ICMP) {
        enc_set(e, o, "port_range_start", json_integer(f->port_start));
        enc_set(e, o, "port_range_end", json_integer(f->port_end));
    }
    return o;
}

static json_t *enc_resource(struct enc *e, const struct floe_portal_resource *r)
{
    if (r->n_filters > FLOE_PORTAL_FILTERS_MAX)
        return enc_bad(e);
    json_t *o = json_object(), *filters = json_array();
    enc_set(e, o, "id", ENC_STR(e, FLOE__PM_ID, r->id));
    enc_set(e, o, "type", json_string("cidr"));
    enc_set(e, o, "name", ENC_STR(e, FLOE__PM_NAME, r->name));
    enc_set(e, o, "address", enc_cidr(e, &r->address));
    for (uint32_t i = 0; i < r->n_filters; i++)
        enc_append(e, filters, enc_filter(e, &r->filters[i]));
    enc_set(e, o, "filters", filters);
    return o;
}

static json_t *enc_relay(struct enc *e, const struct floe_portal_relay *r)
{
    char buf[FLOE_ADDR_STRLEN];
    if (r->addr.port == 0 || floe_addr_format(&r->addr, buf, sizeof(buf)) < 0)
        return enc_bad(e);
    json_t *o = json_object();
    enc_set(e, o, "id", ENC_STR(e, FLOE__PM_ID, r->id));
    enc_set(e, o, "type", json_string("turn"));
    enc_set(e, o, "addr", json_string(buf));
    enc_set(e, o, "username", ENC_STR(e, FLOE__PM_TURN_CRED, r->username));
    enc_set(e, o, "password", ENC_STR(e, FLOE__PM_TURN_CRED, r->password));
    if (r->expires_at > INT64_MAX)
        enc_bad(e);
    enc_set(e, o, "expires_at", json_integer((json_int_t)r->expires_at));
    return o;
}

static json_t *enc_relays(struct enc *e, const struct floe_portal_relay *r, uint32_t n)
{
    if (n > FLOE_PORTAL_RELAYS_MAX)
        return enc_bad(e);
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n; i++)
        enc_append(e, arr, enc_relay(e, &r[i]));
    return arr;
}

static void enc_init(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_init *in = &m->u.init;
    if (in->n_resources > FLOE_PORTAL_RESOURCES_MAX) {
        enc_bad(e);
        return;
    }
    json_t *res = json_array();
    enc_set(e, p, "interface", enc_interface(e, &in->interface));
    for (uint32_t i = 0; i < in->n_resources; i++)
        enc_append(e, res, enc_resource(e, &in->resources[i]));
    enc_set(e, p, "resources", res);
    enc_set(e, p, "relays", enc_relays(e, in->relays, in->n_relays));
}

static void enc_relays_presence(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_relays_presence *r = &m->u.relays;
    enc_set(e, p, "disconnected_ids", enc_ids(e, r->disconnected_ids, r->n_disconnected));
    enc_set(e, p, "connected", enc_relays(e, r->connected, r->n_connected));
}

static void enc_request(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_request_authorization *r = &m->u.request;
    enc_set(e, p, "resource_id", ENC_STR(e, FLOE__PM_ID, r->resource_id));
    enc_set(e, p, "connected_gateway_ids", enc_ids(e, r->gateway_ids, r->n_gateways));
}

static json_t *enc_peer_client(struct enc *e, const struct floe_portal_peer_client *c)
{
    json_t *o = json_object();
    enc_set(e, o, "id", ENC_STR(e, FLOE__PM_ID, c->id));
    enc_set(e, o, "public_key", enc_key(e, c->public_key));
    enc_set(e, o, "preshared_key", enc_key(e, c->preshared_key));
    enc_set(e, o, "ipv4", enc_ip(e, &c->ipv4, FLOE_AF_INET));
    enc_set(e, o, "ipv6", enc_ip(e, &c->ipv6, FLOE_AF_INET6));
    return o;
}

static void enc_create(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_create_authorization *c = &m->u.create;
    enc_set(e, p, "ref", ENC_STR(e, FLOE__PM_ID, c->ref));
    enc_set(e, p, "resource", enc_resource(e, &c->resource));
    enc_set(e, p, "client", enc_peer_client(e, &c->client));
    enc_set(e, p, "client_ice_credentials", enc_ice(e, &c->client_ice));
    enc_set(e, p, "gateway_ice_credentials", enc_ice(e, &c->gateway_ice));
    if (c->expires_at > INT64_MAX)
        enc_bad(e);
    else if (c->expires_at)
        enc_set(e, p, "expires_at", json_integer((json_int_t)c->expires_at));
}

static void enc_created(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_authorization_created *c = &m->u.created;
    enc_set(e, p, "resource_id", ENC_STR(e, FLOE__PM_ID, c->resource_id));
    enc_set(e, p, "gateway_id", ENC_STR(e, FLOE__PM_ID, c->gateway_id));
    enc_set(e, p, "gateway_public_key", enc_key(e, c->gateway_public_key));
    enc_set(e, p, "gateway_ipv4", enc_ip(e, &c->gateway_ipv4, FLOE_AF_INET));
    enc_set(e, p, "gateway_ipv6", enc_ip(e, &c->gateway_ipv6, FLOE_AF_INET6));
    enc_set(e, p, "preshared_key", enc_key(e, c->preshared_key));
    enc_set(e, p, "client_ice_credentials", enc_ice(e, &c->client_ice));
    enc_set(e, p, "gateway_ice_credentials", enc_ice(e, &c->gateway_ice));
}

static void enc_access(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_access *a = &m->u.access;
    enc_set(e, p, "client_id", ENC_STR(e, FLOE__PM_ID, a->client_id));
    enc_set(e, p, "resource_id", ENC_STR(e, FLOE__PM_ID, a->resource_id));
    if (m->type != FLOE_PORTAL_MSG_EXPIRY_UPDATED)
        return;
    if (a->expires_at > INT64_MAX)
        enc_bad(e);
    else
        enc_set(e, p, "expires_at", json_integer((json_int_t)a->expires_at));
}

static void enc_candidates(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    const struct floe_portal_candidates *c = &m->u.cands;
    enum floe__pm_ids ids = floe__pm_ids_of(m->type, m->topic);
    if (c->n_candidates > FLOE_PORTAL_CANDIDATES_MAX ||
        (ids == FLOE__PM_IDS_CLIENT_IDS ? c->n_ids == 0 : c->n_ids != (ids != FLOE__PM_IDS_NONE))) {
        enc_bad(e);
        return;
    }
    if (ids == FLOE__PM_IDS_NONE)
        ; /* the gateway's own candidates: for no one in particular */
    else if (ids == FLOE__PM_IDS_CLIENT_IDS)
        enc_set(e, p, "client_ids", enc_ids(e, c->ids, c->n_ids));
    else
        enc_set(e, p, floe__pm_ids_key(ids), ENC_STR(e, FLOE__PM_ID, c->ids[0]));
    json_t *arr = json_array();
    for (uint32_t i = 0; i < c->n_candidates; i++) {
        size_t n = enc_len(c->candidates[i], FLOE_PORTAL_CANDIDATE_MAX);
        if (n == 0 || n >= FLOE_PORTAL_CANDIDATE_MAX)
            enc_bad(e);
        else
            enc_append(e, arr, json_stringn(c->candidates[i], n));
    }
    enc_set(e, p, "candidates", arr);
}

static void enc_reply(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    json_t *resp = json_object();
    enc_set(e, p, "status", json_string(m->u.reply.ok ? "ok" : "error"));
    if (m->u.reply.reason[0])
        enc_set(e, resp, "reason", ENC_STR(e, FLOE__PM_REASON, m->u.reply.reason));
    enc_set(e, p, "response", resp);
}

static void enc_payload(struct enc *e, json_t *p, const struct floe_portal_msg *m)
{
    switch (m->type) {
    case FLOE_PORTAL_MSG_REPLY:
        return enc_reply(e, p, m);
    case FLOE_PORTAL_MSG_INIT:
        return enc_init(e, p, m);
    case FLOE_PORTAL_MSG_RELAYS_PRESENCE:
        return enc_relays_presence(e, p, m);
    case FLOE_PORTAL_MSG_CONFIG_CHANGED:
        return enc_set(e, p, "interface", enc_interface(e, &m->u.interface));
    case FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION:
        return enc_request(e, p, m);
    case FLOE_PORTAL_MSG_CREATE_AUTHORIZATION:
        return enc_create(e, p, m);
    case FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED:
        return enc_set(e, p, "ref", ENC_STR(e, FLOE__PM_ID, m->u.authorized.ref));
    case FLOE_PORTAL_MSG_AUTHORIZATION_CREATED:
        return enc_created(e, p, m);
    case FLOE_PORTAL_MSG_AUTHORIZATION_FAILED:
        enc_set(e, p, "resource_id", ENC_STR(e, FLOE__PM_ID, m->u.failed.resource_id));
        return enc_set(e, p, "reason", ENC_STR(e, FLOE__PM_REASON, m->u.failed.reason));
    case FLOE_PORTAL_MSG_REJECT_ACCESS:
    case FLOE_PORTAL_MSG_EXPIRY_UPDATED:
        return enc_access(e, p, m);
    default:
        if (floe__pm_ids_of(m->type, m->topic) != FLOE__PM_IDS_NONE ||
            m->type == FLOE_PORTAL_MSG_GATEWAY_CANDIDATES)
            enc_candidates(e, p, m);
        return; /* join, heartbeat, phx_error, phx_close: {} */
    }
}

static json_t *enc_message(struct enc *e, const struct floe_portal_msg *m)
{
    json_t *root = json_object();
    enc_set(e, root, "topic", json_string(floe_portal_topic_name(m->topic)));
    enc_set(e, root, "event", json_string(floe_portal_msg_event(m->type)));
    if (m->type == FLOE_PORTAL_MSG_RESOURCE_DELETED) {
        enc_set(e, root, "payload", ENC_STR(e, FLOE__PM_ID, m->u.id));
    } else if (m->type == FLOE_PORTAL_MSG_RESOURCE_UPDATED) {
        enc_set(e, root, "payload", enc_resource(e, &m->u.resource));
    } else {
        json_t *p = json_object();
        enc_payload(e, p, m);
        enc_set(e, root, "payload", p);
    }
    enc_set(e, root, "ref", m->has_ref ? ENC_STR(e, FLOE__PM_REF, m->ref) : json_null());
    return root;
}

long floe_portal_msg_encode(const struct floe_portal_msg *m, char *out, size_t cap)
{
    if (!m || !out || cap == 0 || !floe_portal_msg_is_valid_on(m->type, m->topic))
        return FLOE_ERR_INVALID_ARG;
    struct enc e = {0};
    json_t *root = enc_message(&e, m);
    if (!root)
        return FLOE_ERR_NOMEM;
    size_t n = e.err ? 0 : json_dumpb(root, out, cap, JSON_COMPACT);
    json_decref(root);
    if (e.err)
        return e.err;
    if (n == 0 || n >= cap || n > FLOE_PORTAL_JSON_MAX)
        return n == 0 ? FLOE_ERR_NOMEM : FLOE_ERR_BUFFER_TOO_SMALL;
    out[n] = '\0';
    return (long)n;
}
