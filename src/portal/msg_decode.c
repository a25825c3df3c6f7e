/*
 * Portal message decoder: JSON text -> struct floe_portal_msg, with jansson. Every field is
 * checked for presence, type and limits; a failure names the field in the reason. Unknown
 * fields are ignored; candidate strings that do not parse are skipped and counted.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "floe/crypto.h"
#include "floe/ice_sdp.h"
#include "msg_int.h"

struct dec {
    char *reason;
    size_t cap;
};

static int dec_fail(struct dec *d, const char *ctx, const char *key, const char *what)
{
    if (d->reason && d->cap)
        snprintf(d->reason, d->cap, "%s%s%s: %s", ctx, key ? "." : "", key ? key : "", what);
    return FLOE_ERR_MALFORMED;
}

static json_t *dec_get(json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static int dec_str(struct dec *d, json_t *obj, const char *ctx, const char *key,
                   enum floe__pm_str kind, char *out)
{
    json_t *v = dec_get(obj, key);
    if (!v)
        return dec_fail(d, ctx, key, "missing");
    if (!json_is_string(v))
        return dec_fail(d, ctx, key, "not a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (!floe__pm_str_ok(kind, s, n))
        return dec_fail(d, ctx, key, "invalid characters or length");
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A string no longer than cap - 1 into buf (for values parsed further). */
static int dec_raw(struct dec *d, json_t *obj, const char *ctx, const char *key, char *buf,
                   size_t cap)
{
    json_t *v = dec_get(obj, key);
    if (!v)
        return dec_fail(d, ctx, key, "missing");
    if (!json_is_string(v))
        return dec_fail(d, ctx, key, "not a string");
    size_t n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n))
        return dec_fail(d, ctx, key, "too long");
    memcpy(buf, json_string_value(v), n);
    buf[n] = '\0';
    return 0;
}

static int dec_ip(struct dec *d, json_t *obj, const char *ctx, const char *key, uint8_t family,
                  struct floe_addr *out)
{
    char buf[FLOE_ADDR_STRLEN];
    int rc = dec_raw(d, obj, ctx, key, buf, sizeof(buf));
    if (rc)
        return rc;
    if (floe_addr_parse_ip(buf, out) != 0 || out->family != family)
        return dec_fail(d, ctx, key,
                        family == FLOE_AF_INET ? "not an IPv4 address" : "not an IPv6 address");
    return 0;
}

static int dec_key(struct dec *d, json_t *obj, const char *ctx, const char *key, uint8_t *out)
{
    char buf[64];
    int rc = dec_raw(d, obj, ctx, key, buf, sizeof(buf));
    if (rc)
        return rc;
    uint8_t tmp[48];
    int n = floe_base64_decode(tmp, sizeof(tmp), buf, strlen(buf));
    if (n != FLOE_PORTAL_KEY_LEN)
        return dec_fail(d, ctx, key, "not a base64 32-byte key");
    memcpy(out, tmp, FLOE_PORTAL_KEY_LEN);
    floe_wipe(tmp, sizeof(tmp));
    return 0;
}

static int dec_u64(struct dec *d, json_t *obj, const char *ctx, const char *key, bool required,
                   uint64_t *out)
{
    json_t *v = dec_get(obj, key);
    *out = 0;
    if (!v || json_is_null(v))
        return required ? dec_fail(d, ctx, key, "missing") : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return dec_fail(d, ctx, key, "not a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static bool dec_host_bits_zero(const struct floe_addr *a, unsigned prefix)
{
    unsigned bits = a->family == FLOE_AF_INET ? 32 : 128;
    for (unsigned i = prefix; i < bits; i++) {
        if (a->ip[i / 8] & (0x80u >> (i % 8)))
            return false;
    }
    return true;
}

static int dec_cidr(struct dec *d, json_t *obj, const char *ctx, const char *key,
                    struct floe_portal_cidr *out)
{
    char buf[FLOE_ADDR_STRLEN + 4];
    int rc = dec_raw(d, obj, ctx, key, buf, sizeof(buf));
    if (rc)
        return rc;
    char *slash = strchr(buf, '/');
    if (!slash || slash[1] == '\0' || strlen(slash + 1) > 3)
        return dec_fail(d, ctx, key, "not a CIDR");
    *slash = '\0';
    unsigned prefix = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return dec_fail(d, ctx, key, "not a CIDR");
        prefix = prefix * 10 + (unsigned)(*p - '0');
    }
    if (floe_addr_parse_ip(buf, &out->addr) != 0)
        return dec_fail(d, ctx, key, "not a CIDR");
    if (prefix > (out->addr.family == FLOE_AF_INET ? 32u : 128u))
        return dec_fail(d, ctx, key, "prefix length out of range");
    if (!dec_host_bits_zero(&out->addr, prefix))
        return dec_fail(d, ctx, key, "host bits set");
    out->prefix = (uint8_t)prefix;
    return 0;
}

static int dec_array(struct dec *d, json_t *obj, const char *ctx, const char *key, bool required,
                     size_t max, json_t **out)
{
    json_t *v = dec_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? dec_fail(d, ctx, key, "missing") : 0;
    if (!json_is_array(v))
        return dec_fail(d, ctx, key, "not an array");
    if (json_array_size(v) > max)
        return dec_fail(d, ctx, key, "too many elements");
    *out = v;
    return 0;
}

static int dec_ids(struct dec *d, json_t *obj, const char *ctx, const char *key, bool required,
                   char (*ids)[FLOE_PORTAL_ID_MAX], uint32_t *n)
{
    json_t *arr;
    int rc = dec_array(d, obj, ctx, key, required, FLOE_PORTAL_PEERS_MAX, &arr);
    *n = 0;
    for (size_t i = 0; rc == 0 && arr && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) ||
            !floe__pm_str_ok(FLOE__PM_ID, json_string_value(v), json_string_length(v)))
            return dec_fail(d, ctx, key, "element not an id");
        memcpy(ids[i], json_string_value(v), json_string_length(v) + 1);
        (*n)++;
    }
    return rc;
}

static int dec_ice(struct dec *d, json_t *obj, const char *ctx, const char *key,
                   struct floe_portal_ice_creds *out)
{
    json_t *v = dec_get(obj, key);
    if (!json_is_object(v))
        return dec_fail(d, ctx, key, "missing or not an object");
    int rc = dec_str(d, v, key, "username", FLOE__PM_UFRAG, out->username);
    return rc ? rc : dec_str(d, v, key, "password", FLOE__PM_ICE_PWD, out->password);
}

static int dec_interface(struct dec *d, json_t *obj, const char *ctx,
                         struct floe_portal_interface *out)
{
    json_t *v = dec_get(obj, "interface");
    if (!json_is_object(v))
        return dec_fail(d, ctx, "interface", "missing or not an object");
    int rc = dec_ip(d, v, "interface", "ipv4", FLOE_AF_INET, &out->ipv4);
    return rc ? rc : dec_ip(d, v, "interface", "ipv6", FLOE_AF_INET6, &out->ipv6);
}

static int dec_filter(struct dec *d, json_t *f, struct floe_portal_filter *out)
{
    char proto[8];
    int rc = dec_raw(d, f, "filter", "protocol", proto, sizeof(proto));
    if (rc)
        return rc;
    if (strcmp(proto, "tcp") == 0)
        out->protocol = FLOE_PORTAL_PROTO_TCP;
    else if (strcmp(proto, "udp") == 0)
        out->protocol = FLOE_PORTAL_PROTO_UDP;
    else if (strcmp(proto, "icmp") == 0)
        out->protocol = FLOE_PORTAL_PROTO_ICMP;
    else
        return dec_fail(d, "filter", "protocol", "not tcp, udp or icmp");
    uint64_t start = 0, end = 65535;
    json_t *s = dec_get(f, "port_range_start"), *e = dec_get(f, "port_range_end");
    if (out->protocol == FLOE_PORTAL_PROTO_ICMP)
        return (s || e) ? dec_fail(d, "filter", "port_range_start", "ports on icmp") : 0;
    if ((s && (rc = dec_u64(d, f, "filter", "port_range_start", true, &start))) ||
        (e && (rc = dec_u64(d, f, "filter", "port_range_end", true, &end))))
        return rc;
    if (start > 65535 || end > 65535 || start > end)
        return dec_fail(d, "filter", "port_range_end", "not a port range");
    out->port_start = (uint16_t)start;
    out->port_end = (uint16_t)end;
    return 0;
}

static int dec_resource(struct dec *d, json_t *r, const char *ctx, struct floe_portal_resource *out)
{
    char type[16];
    if (!json_is_object(r))
        return dec_fail(d, ctx, NULL, "not an object");
    int rc = dec_raw(d, r, ctx, "type", type, sizeof(type));
    if (rc)
        return rc;
    if (strcmp(type, "cidr") != 0)
        return dec_fail(d, ctx, "type", "not \"cidr\"");
    if ((rc = dec_str(d, r, ctx, "id", FLOE__PM_ID, out->id)) ||
        (rc = dec_str(d, r, ctx, "name", FLOE__PM_NAME, out->name)) ||
        (rc = dec_cidr(d, r, ctx, "address", &out->address)))
        return rc;
    json_t *arr;
    if ((rc = dec_array(d, r, ctx, "filters", false, FLOE_PORTAL_FILTERS_MAX, &arr)))
        return rc;
    for (size_t i = 0; arr && i < json_array_size(arr); i++) {
        if ((rc = dec_filter(d, json_array_get(arr, i), &out->filters[i])))
            return rc;
        out->n_filters++;
    }
    return 0;
}

static int dec_relay(struct dec *d, json_t *r, struct floe_portal_relay *out)
{
    char buf[FLOE_ADDR_STRLEN];
    if (!json_is_object(r))
        return dec_fail(d, "relay", NULL, "not an object");
    int rc = dec_raw(d, r, "relay", "type", buf, sizeof(buf));
    if (rc == 0 && strcmp(buf, "turn") != 0)
        return dec_fail(d, "relay", "type", "not \"turn\"");
    if (rc || (rc = dec_str(d, r, "relay", "id", FLOE__PM_ID, out->id)) ||
        (rc = dec_raw(d, r, "relay", "addr", buf, sizeof(buf))))
        return rc;
    if (floe_addr_parse(buf, &out->addr) != 0 || out->addr.port == 0)
        return dec_fail(d, "relay", "addr", "not an address with a port");
    if ((rc = dec_str(d, r, "relay", "username", FLOE__PM_TURN_CRED, out->username)) ||
        (rc = dec_str(d, r, "relay", "password", FLOE__PM_TURN_CRED, out->password)))
        return rc;
    return dec_u64(d, r, "relay", "expires_at", true, &out->expires_at);
}

static int dec_relays(struct dec *d, json_t *p, const char *key, struct floe_portal_relay *out,
                      uint32_t *n)
{
    json_t *arr;
    int rc = dec_array(d, p, "payload", key, false, FLOE_PORTAL_RELAYS_MAX, &arr);
    for (size_t i = 0; rc == 0 && arr && i < json_array_size(arr); i++) {
        rc = dec_relay(d, json_array_get(arr, i), &out[i]);
        *n += rc == 0;
    }
    return rc;
}

static int dec_init(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_init *in = &m->u.init;
    json_t *arr;
    int rc = dec_interface(d, p, "payload", &in->interface);
    if (rc ||
        (rc = dec_array(d, p, "payload", "resources", false, FLOE_PORTAL_RESOURCES_MAX, &arr)))
        return rc;
    for (size_t i = 0; arr && i < json_array_size(arr); i++) {
        if ((rc = dec_resource(d, json_array_get(arr, i), "resource", &in->resources[i])))
            return rc;
        in->n_resources++;
    }
    return dec_relays(d, p, "relays", in->relays, &in->n_relays);
}

static int dec_relays_presence(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_relays_presence *r = &m->u.relays;
    int rc = dec_ids(d, p, "payload", "disconnected_ids", false, r->disconnected_ids,
                     &r->n_disconnected);
    return rc ? rc : dec_relays(d, p, "connected", r->connected, &r->n_connected);
}

static int dec_resource_updated(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    return dec_resource(d, p, "payload", &m->u.resource);
}

static int dec_config_changed(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    return dec_interface(d, p, "payload", &m->u.interface);
}

static int dec_request(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_request_authorization *r = &m->u.request;
    int rc = dec_str(d, p, "payload", "resource_id", FLOE__PM_ID, r->resource_id);
    return rc ? rc
              : dec_ids(d, p, "payload", "connected_gateway_ids", false, r->gateway_ids,
                        &r->n_gateways);
}

static int dec_peer_client(struct dec *d, json_t *p, struct floe_portal_peer_client *c)
{
    json_t *v = dec_get(p, "client");
    int rc;
    if (!json_is_object(v))
        return dec_fail(d, "payload", "client", "missing or not an object");
    if ((rc = dec_str(d, v, "client", "id", FLOE__PM_ID, c->id)) ||
        (rc = dec_key(d, v, "client", "public_key", c->public_key)) ||
        (rc = dec_key(d, v, "client", "preshared_key", c->preshared_key)) ||
        (rc = dec_ip(d, v, "client", "ipv4", FLOE_AF_INET, &c->ipv4)))
        return rc;
    return dec_ip(d, v, "client", "ipv6", FLOE_AF_INET6, &c->ipv6);
}

static int dec_create(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_create_authorization *c = &m->u.create;
    int rc;
    if ((rc = dec_str(d, p, "payload", "ref", FLOE__PM_ID, c->ref)) ||
        (rc = dec_resource(d, dec_get(p, "resource"), "resource", &c->resource)) ||
        (rc = dec_peer_client(d, p, &c->client)) ||
        (rc = dec_ice(d, p, "payload", "client_ice_credentials", &c->client_ice)) ||
        (rc = dec_ice(d, p, "payload", "gateway_ice_credentials", &c->gateway_ice)))
        return rc;
    return dec_u64(d, p, "payload", "expires_at", false, &c->expires_at);
}

static int dec_gateway_authorized(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    return dec_str(d, p, "payload", "ref", FLOE__PM_ID, m->u.authorized.ref);
}

static int dec_created(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_authorization_created *c = &m->u.created;
    int rc;
    if ((rc = dec_str(d, p, "payload", "resource_id", FLOE__PM_ID, c->resource_id)) ||
        (rc = dec_str(d, p, "payload", "gateway_id", FLOE__PM_ID, c->gateway_id)) ||
        (rc = dec_key(d, p, "payload", "gateway_public_key", c->gateway_public_key)) ||
        (rc = dec_ip(d, p, "payload", "gateway_ipv4", FLOE_AF_INET, &c->gateway_ipv4)) ||
        (rc = dec_ip(d, p, "payload", "gateway_ipv6", FLOE_AF_INET6, &c->gateway_ipv6)) ||
        (rc = dec_key(d, p, "payload", "preshared_key", c->preshared_key)) ||
        (rc = dec_ice(d, p, "payload", "client_ice_credentials", &c->client_ice)))
        return rc;
    return dec_ice(d, p, "payload", "gateway_ice_credentials", &c->gateway_ice);
}

static int dec_failed(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_authorization_failed *f = &m->u.failed;
    int rc = dec_str(d, p, "payload", "resource_id", FLOE__PM_ID, f->resource_id);
    return rc ? rc : dec_str(d, p, "payload", "reason", FLOE__PM_REASON, f->reason);
}

static int dec_access(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_access *a = &m->u.access;
    bool expiry = m->type == FLOE_PORTAL_MSG_EXPIRY_UPDATED;
    int rc;
    if ((rc = dec_str(d, p, "payload", "client_id", FLOE__PM_ID, a->client_id)) ||
        (rc = dec_str(d, p, "payload", "resource_id", FLOE__PM_ID, a->resource_id)))
        return rc;
    return expiry ? dec_u64(d, p, "payload", "expires_at", true, &a->expires_at) : 0;
}

static void dec_candidate(json_t *v, struct floe_portal_candidates *c)
{
    struct floe_ice_candidate cand;
    size_t n = json_is_string(v) ? json_string_length(v) : FLOE_PORTAL_CANDIDATE_MAX;
    if (n >= FLOE_PORTAL_CANDIDATE_MAX || memchr(json_string_value(v), '\0', n) ||
        floe_ice_candidate_parse(json_string_value(v), &cand) != 0) {
        c->n_skipped++;
        return;
    }
    memcpy(c->candidates[c->n_candidates++], json_string_value(v), n + 1);
}

static int dec_candidates(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    struct floe_portal_candidates *c = &m->u.cands;
    enum floe__pm_ids ids = floe__pm_ids_of(m->type, m->topic);
    const char *key = floe__pm_ids_key(ids);
    int rc;
    if (ids == FLOE__PM_IDS_NONE) {
        c->n_ids = 0;
        rc = 0;
    } else if (ids == FLOE__PM_IDS_CLIENT_IDS) {
        rc = dec_ids(d, p, "payload", key, true, c->ids, &c->n_ids);
        if (rc == 0 && c->n_ids == 0)
            rc = dec_fail(d, "payload", key, "empty");
    } else {
        rc = dec_str(d, p, "payload", key, FLOE__PM_ID, c->ids[0]);
        c->n_ids = rc == 0;
    }
    json_t *arr;
    if (rc ||
        (rc = dec_array(d, p, "payload", "candidates", true, FLOE_PORTAL_CANDIDATES_MAX, &arr)))
        return rc;
    for (size_t i = 0; i < json_array_size(arr); i++)
        dec_candidate(json_array_get(arr, i), c);
    return 0;
}

static int dec_reply(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    char status[8];
    int rc = dec_raw(d, p, "payload", "status", status, sizeof(status));
    if (rc)
        return rc;
    if (strcmp(status, "ok") != 0 && strcmp(status, "error") != 0)
        return dec_fail(d, "payload", "status", "not \"ok\" or \"error\"");
    m->u.reply.ok = strcmp(status, "ok") == 0;
    json_t *r = dec_get(dec_get(p, "response"), "reason");
    if (json_is_string(r) &&
        floe__pm_str_ok(FLOE__PM_REASON, json_string_value(r), json_string_length(r)))
        memcpy(m->u.reply.reason, json_string_value(r), json_string_length(r) + 1);
    return 0;
}

static int dec_empty(struct dec *d, json_t *p, struct floe_portal_msg *m)
{
    (void)d, (void)p, (void)m;
    return 0;
}

typedef int (*dec_fn)(struct dec *d, json_t *payload, struct floe_portal_msg *m);

static const dec_fn dec_payload[FLOE_PORTAL_MSG_COUNT] = {
    [FLOE_PORTAL_MSG_JOIN] = dec_empty,
    [FLOE_PORTAL_MSG_REPLY] = dec_reply,
    [FLOE_PORTAL_MSG_HEARTBEAT] = dec_empty,
    [FLOE_PORTAL_MSG_CHANNEL_ERROR] = dec_empty,
    [FLOE_PORTAL_MSG_CHANNEL_CLOSE] = dec_empty,
    [FLOE_PORTAL_MSG_INIT] = dec_init,
    [FLOE_PORTAL_MSG_RELAYS_PRESENCE] = dec_relays_presence,
    [FLOE_PORTAL_MSG_RESOURCE_UPDATED] = dec_resource_updated,
    [FLOE_PORTAL_MSG_RESOURCE_DELETED] = NULL, /* a bare string: dec_envelope */
    [FLOE_PORTAL_MSG_CONFIG_CHANGED] = dec_config_changed,
    [FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION] = dec_request,
    [FLOE_PORTAL_MSG_CREATE_AUTHORIZATION] = dec_create,
    [FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED] = dec_gateway_authorized,
    [FLOE_PORTAL_MSG_AUTHORIZATION_CREATED] = dec_created,
    [FLOE_PORTAL_MSG_AUTHORIZATION_FAILED] = dec_failed,
    [FLOE_PORTAL_MSG_REJECT_ACCESS] = dec_access,
    [FLOE_PORTAL_MSG_EXPIRY_UPDATED] = dec_access,
    [FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES] = dec_candidates,
    [FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES] = dec_candidates,
    [FLOE_PORTAL_MSG_BROADCAST_CANDIDATES] = dec_candidates,
    [FLOE_PORTAL_MSG_BROADCAST_INVALIDATED] = dec_candidates,
    [FLOE_PORTAL_MSG_ICE_CANDIDATES] = dec_candidates,
    [FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES] = dec_candidates,
    [FLOE_PORTAL_MSG_GATEWAY_CANDIDATES] = dec_candidates,
};

static int dec_unsupported(struct dec *d, const char *what, json_t *v)
{
    if (d->reason && d->cap)
        snprintf(d->reason, d->cap, "unknown %s '%.40s'", what, json_string_value(v));
    return FLOE_ERR_UNSUPPORTED;
}

static int dec_ref(struct dec *d, json_t *root, struct floe_portal_msg *m)
{
    json_t *ref = json_object_get(root, "ref");
    if (!ref || json_is_null(ref))
        return 0;
    m->has_ref = true;
    return dec_str(d, root, "envelope", "ref", FLOE__PM_REF, m->ref);
}

static int dec_envelope(struct dec *d, json_t *root, struct floe_portal_msg *m)
{
    json_t *topic = json_object_get(root, "topic"), *event = json_object_get(root, "event");
    json_t *payload = json_object_get(root, "payload");
    if (!json_is_object(root))
        return dec_fail(d, "envelope", NULL, "not an object");
    if (!json_is_string(topic) || !json_is_string(event))
        return dec_fail(d, "envelope", json_is_string(topic) ? "event" : "topic",
                        "missing or not a string");
    m->topic = floe__pm_topic_parse(json_string_value(topic), json_string_length(topic));
    if (m->topic == 0)
        return dec_unsupported(d, "topic", topic);
    m->type = floe__pm_type_parse(json_string_value(event), json_string_length(event), m->topic);
    if (m->type == FLOE_PORTAL_MSG_NONE)
        return dec_unsupported(d, "event", event);
    int rc = dec_ref(d, root, m);
    if (rc)
        return rc;
    if (m->type == FLOE_PORTAL_MSG_RESOURCE_DELETED) {
        if (!json_is_string(payload) ||
            !floe__pm_str_ok(FLOE__PM_ID, json_string_value(payload), json_string_length(payload)))
            return dec_fail(d, "envelope", "payload", "not a resource id");
        memcpy(m->u.id, json_string_value(payload), json_string_length(payload) + 1);
        return 0;
    }
    if (!json_is_object(payload))
        return dec_fail(d, "envelope", "payload", "missing or not an object");
    return dec_payload[m->type](d, payload, m);
}

/* Nesting depth of JSON text, counted outside strings; stops early past the limit. */
static bool dec_depth_ok(const char *s, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > FLOE_PORTAL_DEPTH_MAX)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

int floe_portal_msg_decode(struct floe_portal_msg *out, const char *json, size_t len, char *reason,
                           size_t reason_cap)
{
    struct dec d = {reason, reason_cap};
    if (reason && reason_cap)
        reason[0] = '\0';
    if (!out || !json)
        return FLOE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (len > FLOE_PORTAL_JSON_MAX || !dec_depth_ok(json, len))
        return dec_fail(&d, "json", NULL, "too long or too deeply nested");
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return FLOE_ERR_NOMEM;
        if (reason && reason_cap)
            snprintf(reason, reason_cap, "json: %s at %d", err.text, err.position);
        return FLOE_ERR_MALFORMED;
    }
    int rc = dec_envelope(&d, root, out);
    json_decref(root);
    return rc;
}
