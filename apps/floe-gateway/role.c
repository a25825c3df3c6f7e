/* floe-gateway: the gateway role's hooks on the agent core (gateway.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "floe_io.h"
#include "gateway.h"
#include "nat.h"

#define GW_TARGET "gateway"

static void gw_log(struct floe_agent *a, enum floe_log_level lv, const char *client,
                   const char *res, const char *fmt, ...) FLOE_PRINTF(5, 6);

static void gw_log(struct floe_agent *a, enum floe_log_level lv, const char *client,
                   const char *res, const char *fmt, ...)
{
    struct floe_log_field f[2] = {FLOE_LF_S("client", client), FLOE_LF_S("resource", res)};
    va_list ap;

    va_start(ap, fmt);
    floe_jsonlog_vlogf(floe_agent_log(a), lv, GW_TARGET, f, res ? 2 : 1, fmt, ap);
    va_end(ap);
}

/* Wall-clock Unix seconds: the portal's expires_at are wall-clock times. */
static uint64_t gw_unix_now(void)
{
    time_t t = time(NULL);

    return t > 0 ? (uint64_t)t : 0;
}

/* Close the connections of clients the filter let go (their last authorization ended). */
static void gw_reap(struct gateway *g, struct floe_agent *a)
{
    struct floe_gwfilter_gone gone;

    while (floe_gwfilter_poll_gone(g->filter, &gone) == 1) {
        gw_log(a, FLOE_LOG_INFO, gone.client_id, NULL,
               "no authorization left: connection %llu closed", (unsigned long long)gone.cid);
        (void)floe_agent_conn_close(a, gone.cid);
    }
}

/* Enforce expires_at by itself (the packet path already refuses expired ones). */
static void gw_expire(struct gateway *g, struct floe_agent *a)
{
    uint64_t now = gw_unix_now();
    int n;

    if (floe_gwfilter_next_expiry(g->filter) > now)
        return;
    n = floe_gwfilter_expire(g->filter, now);
    if (n > 0) {
        g->expired += (uint64_t)n;
        floe_jsonlog_info(floe_agent_log(a), GW_TARGET, "%d authorization(s) expired", n);
    }
    gw_reap(g, a);
}

/* Copy the NUL-terminated src into dst[0..cap), cut to fit (the decoder bounds them). */
static void gw_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void gw_conn_config(struct floe_node_conn_config *cc,
                           const struct floe_portal_create_authorization *ca)
{
    memset(cc, 0, sizeof(*cc));
    memcpy(cc->public_key, ca->client.public_key, sizeof(cc->public_key));
    memcpy(cc->psk, ca->client.preshared_key, sizeof(cc->psk));
    cc->has_psk = true;
    gw_copy(cc->remote_ufrag, sizeof(cc->remote_ufrag), ca->client_ice.username);
    gw_copy(cc->remote_pwd, sizeof(cc->remote_pwd), ca->client_ice.password);
    gw_copy(cc->local_ufrag, sizeof(cc->local_ufrag), ca->gateway_ice.username);
    gw_copy(cc->local_pwd, sizeof(cc->local_pwd), ca->gateway_ice.password);
}

static void gw_create(struct gateway *g, struct floe_agent *a,
                      const struct floe_portal_create_authorization *ca)
{
    struct floe_node_conn_config cc;
    uint64_t cid = floe_agent_conn_by_peer(a, ca->client.id);
    struct floe_gwfilter_auth au = {.client_id = ca->client.id,
                                    .ipv4 = ca->client.ipv4,
                                    .ipv6 = ca->client.ipv6,
                                    .res = &ca->resource,
                                    .expires_at = ca->expires_at};
    int rc;

    if (!cid)
        cid = ++g->next_cid;
    gw_conn_config(&cc, ca);
    rc = floe_agent_conn_upsert(a, cid, ca->client.id, &cc);
    floe_wipe(&cc, sizeof(cc));
    au.cid = cid;
    if (rc == 0 && (rc = floe_gwfilter_authorize(g->filter, &au)) != 0)
        gw_log(a, FLOE_LOG_ERROR, ca->client.id, ca->resource.id, "authorization refused: %s",
               floe_strerror(rc));
    if (rc != 0)
        return; /* no answer: the portal tells the client the gateway timed out */
    g->authorizations++;
    gw_log(a, FLOE_LOG_INFO, ca->client.id, ca->resource.id,
           "authorized for %s (connection %llu, expires_at %llu)", ca->resource.name,
           (unsigned long long)cid, (unsigned long long)ca->expires_at);
    rc = floe_portal_client_authorization_created(floe_agent_portal(a), floe_agent_now(a), ca->ref);
    if (rc != 0)
        gw_log(a, FLOE_LOG_WARN, ca->client.id, ca->resource.id,
               "authorization_created not sent: %s", floe_strerror(rc));
}

static void gw_access(struct gateway *g, struct floe_agent *a, const struct floe_portal_msg *m)
{
    const struct floe_portal_access *ac = &m->u.access;
    int rc;

    if (m->type == FLOE_PORTAL_MSG_REJECT_ACCESS) {
        rc = floe_gwfilter_revoke(g->filter, ac->client_id, ac->resource_id);
        if (rc == 0)
            g->rejected++;
        gw_log(a, FLOE_LOG_INFO, ac->client_id, ac->resource_id, "access rejected%s",
               rc == 0 ? "" : " (had none)");
    } else {
        rc = floe_gwfilter_set_expiry(g->filter, ac->client_id, ac->resource_id, ac->expires_at);
        gw_log(a, rc == 0 ? FLOE_LOG_INFO : FLOE_LOG_DEBUG, ac->client_id, ac->resource_id,
               "expiry now %llu%s", (unsigned long long)ac->expires_at,
               rc == 0 ? "" : " (no such authorization)");
    }
    gw_reap(g, a);
}

static void gateway_message(void *user, struct floe_agent *a, const struct floe_portal_msg *m)
{
    struct gateway *g = user;
    int n;

    switch (m->type) {
    case FLOE_PORTAL_MSG_CREATE_AUTHORIZATION:
        gw_create(g, a, &m->u.create);
        break;
    case FLOE_PORTAL_MSG_REJECT_ACCESS:
    case FLOE_PORTAL_MSG_EXPIRY_UPDATED:
        gw_access(g, a, m);
        break;
    case FLOE_PORTAL_MSG_RESOURCE_UPDATED:
        n = floe_gwfilter_update_resource(g->filter, &m->u.resource);
        gw_log(a, FLOE_LOG_INFO, "*", m->u.resource.id, "resource updated (%d authorizations)", n);
        break;
    case FLOE_PORTAL_MSG_RESOURCE_DELETED:
        n = floe_gwfilter_delete_resource(g->filter, m->u.id);
        gw_log(a, FLOE_LOG_INFO, "*", m->u.id, "resource deleted (%d authorizations)", n);
        gw_reap(g, a);
        break;
    default:
        break;
    }
    gw_expire(g, a);
}

static uint64_t gateway_route(void *user, struct floe_agent *a, const uint8_t *pkt, size_t len)
{
    struct gateway *g = user;
    uint64_t cid = 0;

    gw_expire(g, a);
    if (floe_gwfilter_to_client(g->filter, gw_unix_now(), pkt, len, &cid) != FLOE_GWF_PASS)
        return 0;
    return cid;
}

static bool gateway_accept(void *user, struct floe_agent *a, uint64_t cid, uint8_t *pkt, size_t len)
{
    struct gateway *g = user;

    gw_expire(g, a);
    return floe_gwfilter_from_client(g->filter, gw_unix_now(), cid, pkt, len) == FLOE_GWF_PASS;
}

static void gateway_conn_event(void *user, struct floe_agent *a, const struct floe_node_event *ev)
{
    struct gateway *g = user;
    const char *peer = floe_agent_conn_peer(a, ev->cid);

    if (ev->type == FLOE_NODE_EV_ESTABLISHED)
        gw_log(a, FLOE_LOG_INFO, peer ? peer : "?", NULL, "connection %llu established",
               (unsigned long long)ev->cid);
    gw_expire(g, a);
}

/*
 * Route the portal's tunnel address pools through the TUN (main table), so that replies
 * from the resources to any client reach the tunnel; the routes go with the interface.
 * Returns 0 or FLOE_ERR_IO (logged).
 */
static int gw_routes(struct gateway *g, struct floe_agent *a)
{
    static const char *const pools[2] = {GATEWAY_POOL_V4, GATEWAY_POOL_V6};
    struct floe_jsonlog *lg = floe_agent_log(a);

    /* up before init gives it addresses: a route needs a running link */
    if (floe_io_nl_link_set(floe_agent_ifindex(a), true, 0) != 0) {
        floe_jsonlog_error(lg, GW_TARGET, "link up: %s", strerror(errno));
        return FLOE_ERR_IO;
    }
    for (int i = 0; i < 2; i++) {
        struct floe_prefix p;

        if (floe_prefix_parse(pools[i], &p) != 0)
            return FLOE_ERR_INTERNAL;
        if (floe_io_nl_route(floe_agent_ifindex(a), &p, 254, true) == 0 || errno == EEXIST) {
            floe_jsonlog_info(lg, GW_TARGET, "route %s dev %s", pools[i], g->opts->agent.interface);
            continue;
        }
        floe_jsonlog_logf(lg, i ? FLOE_LOG_WARN : FLOE_LOG_ERROR, GW_TARGET, NULL, 0,
                          "route %s: %s", pools[i], strerror(errno));
        if (i == 0)
            return FLOE_ERR_IO; /* a host without IPv6 still serves IPv4 */
    }
    return 0;
}

static int gateway_start(void *user, struct floe_agent *a)
{
    struct gateway *g = user;
    struct floe_gwfilter_config fc;
    int rc;

    floe_gwfilter_config_default(&fc);
    if ((rc = floe_gwfilter_new(&g->filter, &fc)) != 0)
        return rc;
    if ((rc = gw_routes(g, a)) != 0)
        return rc;
    if (g->opts->no_nat) {
        floe_jsonlog_warn(floe_agent_log(a), "nat",
                          "--no-nat: no nftables table, forwarding sysctls left as they are");
        return 0;
    }
    if ((rc = floe_gw_nat_start(g->opts->agent.interface, floe_agent_log(a))) != 0)
        return rc;
    g->nat = true;
    return 0;
}

static void gateway_stop(void *user, struct floe_agent *a)
{
    struct gateway *g = user;

    if (g->nat)
        floe_gw_nat_stop(g->opts->agent.interface, floe_agent_log(a));
    g->nat = false;
}

static void gateway_status(void *user, struct floe_agent *a, struct floe_json_buf *j)
{
    struct gateway *g = user;

    (void)a;
    floe_json_lit(j, ",\"clients\":");
    floe_json_uint(j, floe_gwfilter_clients(g->filter));
    floe_json_lit(j, ",\"authorizations\":");
    floe_json_uint(j, floe_gwfilter_auths(g->filter));
    floe_json_lit(j, ",\"authorized_total\":");
    floe_json_uint(j, g->authorizations);
    floe_json_lit(j, ",\"rejected\":");
    floe_json_uint(j, g->rejected);
    floe_json_lit(j, ",\"expired\":");
    floe_json_uint(j, g->expired);
    floe_json_lit(j, ",\"dropped\":{");
    for (int v = FLOE_GWF_DROP_MALFORMED; v < FLOE_GWF_VERDICT_COUNT; v++) {
        floe_json_lit(j, v == FLOE_GWF_DROP_MALFORMED ? "" : ",");
        floe_json_cstr_value(j, floe_gwfilter_verdict_name((enum floe_gwfilter_verdict)v));
        floe_json_lit(j, ":");
        floe_json_uint(j, floe_gwfilter_drops(g->filter, (enum floe_gwfilter_verdict)v));
    }
    floe_json_lit(j, "}");
}

struct floe_agent_role gateway_role(struct gateway *g)
{
    struct floe_agent_role r = {
        .name = "gateway",
        .portal_role = FLOE_PORTAL_ROLE_GATEWAY,
        .node_role = FLOE_NODE_GATEWAY,
        .user = g,
        .start = gateway_start,
        .stop = gateway_stop,
        .message = gateway_message,
        .route = gateway_route,
        .accept = gateway_accept,
        .conn_event = gateway_conn_event,
        .status = gateway_status,
    };

    return r;
}

void gateway_free(struct gateway *g)
{
    floe_gwfilter_free(g->filter);
    g->filter = NULL;
}
