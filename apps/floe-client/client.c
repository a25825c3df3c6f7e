/*
 * The client role: resources in a floe_iptrie with routes in a table of their own (policy
 * rule "not fwmark MARK lookup TABLE", so floe's own marked sockets never loop into the
 * tunnel, even for 0.0.0.0/0), the first packet to a resource asks the portal for an
 * authorization (at most once per resource every 2 s) and waits in a bounded buffer until
 * the gateway's connection is up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "floe_io.h"

static void client_log(struct floe_agent *a, enum floe_log_level lv, const char *res,
                       const char *fmt, ...) FLOE_PRINTF(4, 5);

static void client_log(struct floe_agent *a, enum floe_log_level lv, const char *res,
                       const char *fmt, ...)
{
    struct floe_log_field f[1] = {FLOE_LF_S("resource", res)};
    va_list ap;

    va_start(ap, fmt);
    floe_jsonlog_vlogf(floe_agent_log(a), lv, "client", f, 1, fmt, ap);
    va_end(ap);
}

/* --------------------------------------------------------------- resources */

static void res_drop_pending(struct client_resource *r)
{
    for (unsigned i = 0; i < r->n_pending; i++)
        free(r->pending[i]);
    r->dropped += r->n_pending;
    r->n_pending = 0;
}

static void res_route(struct client *c, struct floe_agent *a, struct client_resource *r, bool add)
{
    if (r->routed == add)
        return;
    if (floe_agent_route(a, &r->prefix, c->opts->table, add) != 0 && add) {
        client_log(a, FLOE_LOG_ERROR, r->r.id, "route to resource %s not added", r->r.name);
        return;
    }
    r->routed = add;
}

static void res_remove(struct client *c, struct floe_agent *a, struct client_resource *r)
{
    client_log(a, FLOE_LOG_INFO, r->r.id, "resource %s removed", r->r.name);
    res_route(c, a, r, false);
    (void)floe_iptrie_remove(&c->trie, &r->prefix, r);
    res_drop_pending(r);
    memset(r, 0, sizeof(*r));
}

static struct client_resource *res_find(struct client *c, const char *id)
{
    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++)
        if (c->res[i].used && strcmp(c->res[i].r.id, id) == 0)
            return &c->res[i];
    return NULL;
}

static void res_upsert(struct client *c, struct floe_agent *a,
                       const struct floe_portal_resource *pr)
{
    struct client_resource *r = res_find(c, pr->id);
    struct floe_prefix p = {.family = pr->address.addr.family, .len = pr->address.prefix};

    memcpy(p.ip, pr->address.addr.ip, sizeof(p.ip));
    if (r && memcmp(&r->prefix, &p, sizeof(p)) != 0) {
        res_route(c, a, r, false);
        (void)floe_iptrie_remove(&c->trie, &r->prefix, r);
    }
    for (size_t i = 0; !r && i < CLIENT_RESOURCES_MAX; i++)
        if (!c->res[i].used)
            r = &c->res[i];
    if (!r || floe_iptrie_insert(&c->trie, &p, r) != 0) {
        client_log(a, FLOE_LOG_WARN, pr->id, "resource %s not kept: no room", pr->name);
        return;
    }
    if (!r->used)
        client_log(a, FLOE_LOG_INFO, pr->id, "resource %s", pr->name);
    r->used = true;
    r->r = *pr;
    r->prefix = p;
    res_route(c, a, r, true);
}

static bool res_listed(const struct floe_portal_init *init, const char *id)
{
    for (uint32_t i = 0; i < init->n_resources; i++)
        if (strcmp(init->resources[i].id, id) == 0)
            return true;
    return false;
}

/* --------------------------------------------------------------- gateways */

static struct client_gateway *gw_by_cid(struct client *c, uint64_t cid)
{
    for (size_t i = 0; i < CLIENT_GATEWAYS_MAX; i++)
        if (c->gw[i].used && c->gw[i].cid == cid)
            return &c->gw[i];
    return NULL;
}

static struct client_gateway *gw_get(struct client *c, const char *id)
{
    struct client_gateway *g = NULL;

    for (size_t i = 0; i < CLIENT_GATEWAYS_MAX; i++) {
        if (c->gw[i].used && strcmp(c->gw[i].id, id) == 0)
            return &c->gw[i];
        if (!g && !c->gw[i].used)
            g = &c->gw[i];
    }
    if (g) {
        *g = (struct client_gateway){.used = true, .cid = ++c->next_cid};
        memcpy(g->id, id, sizeof(g->id));
    }
    return g;
}

/* Send the packets of every resource waiting for cid. */
static void gw_flush(struct client *c, struct floe_agent *a, uint64_t cid)
{
    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++) {
        struct client_resource *r = &c->res[i];

        if (!r->used || r->cid != cid)
            continue;
        for (unsigned k = 0; k < r->n_pending; k++) {
            if (floe_agent_send(a, cid, r->pending[k], r->pending_len[k]) != 1)
                r->dropped++;
            free(r->pending[k]);
        }
        r->n_pending = 0;
    }
}

static void gw_down(struct client *c, uint64_t cid)
{
    struct client_gateway *g = gw_by_cid(c, cid);

    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++)
        if (c->res[i].used && c->res[i].cid == cid) {
            c->res[i].cid = 0;
            c->res[i].requested = false;
        }
    if (g)
        memset(g, 0, sizeof(*g));
}

/* --------------------------------------------------------------- portal messages */

static void on_authorized(struct client *c, struct floe_agent *a,
                          const struct floe_portal_authorization_created *ac)
{
    struct client_resource *r = res_find(c, ac->resource_id);
    struct client_gateway *g = gw_get(c, ac->gateway_id);
    struct floe_node_conn_config cc;

    if (!r || !g) {
        client_log(a, FLOE_LOG_WARN, ac->resource_id, "authorization for %s dropped",
                   r ? "no room" : "an unknown resource");
        return;
    }
    memset(&cc, 0, sizeof(cc));
    memcpy(cc.public_key, ac->gateway_public_key, sizeof(cc.public_key));
    memcpy(cc.psk, ac->preshared_key, sizeof(cc.psk));
    cc.has_psk = true;
    memcpy(cc.remote_ufrag, ac->gateway_ice.username, sizeof(cc.remote_ufrag));
    memcpy(cc.remote_pwd, ac->gateway_ice.password, sizeof(cc.remote_pwd));
    memcpy(cc.local_ufrag, ac->client_ice.username, sizeof(cc.local_ufrag));
    memcpy(cc.local_pwd, ac->client_ice.password, sizeof(cc.local_pwd));
    cc.remote_ufrag[sizeof(cc.remote_ufrag) - 1] = cc.local_ufrag[sizeof(cc.local_ufrag) - 1] = 0;
    cc.remote_pwd[sizeof(cc.remote_pwd) - 1] = cc.local_pwd[sizeof(cc.local_pwd) - 1] = 0;
    client_log(a, FLOE_LOG_INFO, r->r.id, "authorized through gateway %s", g->id);
    if (floe_agent_conn_upsert(a, g->cid, g->id, &cc) != 0) {
        memset(g, 0, sizeof(*g));
        res_drop_pending(r);
        return;
    }
    r->cid = g->cid;
    if (g->up)
        gw_flush(c, a, g->cid);
    floe_wipe(&cc, sizeof(cc));
}

/*
 * authorization_creation_failed: the resource's held packets go. After an early answer
 * (docs/protocol.md) the resource already has a connection to the gateway that did not
 * acknowledge ("timeout"): while that connection is not up it is dropped, closed when no
 * other resource uses it, so the next packet asks again, perhaps for another gateway.
 */
static void on_refused(struct client *c, struct floe_agent *a,
                       const struct floe_portal_authorization_failed *f)
{
    struct client_resource *r = res_find(c, f->resource_id);
    struct client_gateway *g;
    uint64_t cid;

    client_log(a, FLOE_LOG_WARN, f->resource_id, "authorization refused: %s", f->reason);
    if (!r)
        return;
    res_drop_pending(r);
    g = r->cid ? gw_by_cid(c, r->cid) : NULL;
    if (!g || g->up)
        return;
    cid = r->cid;
    r->cid = 0;
    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++)
        if (c->res[i].used && c->res[i].cid == cid)
            return; /* another resource's authorization may still come */
    client_log(a, FLOE_LOG_INFO, f->resource_id, "connection to gateway %s dropped", g->id);
    gw_down(c, cid);
    (void)floe_agent_conn_close(a, cid);
}

static void client_message(void *user, struct floe_agent *a, const struct floe_portal_msg *m)
{
    struct client *c = user;
    struct client_resource *r;

    switch (m->type) {
    case FLOE_PORTAL_MSG_AUTHORIZATION_CREATED:
        on_authorized(c, a, &m->u.created);
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_FAILED:
        on_refused(c, a, &m->u.failed);
        break;
    case FLOE_PORTAL_MSG_RESOURCE_UPDATED:
        res_upsert(c, a, &m->u.resource);
        break;
    case FLOE_PORTAL_MSG_RESOURCE_DELETED:
        if ((r = res_find(c, m->u.id)))
            res_remove(c, a, r);
        break;
    default:
        break;
    }
}

static void client_init(void *user, struct floe_agent *a, const struct floe_portal_init *init)
{
    struct client *c = user;

    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++)
        if (c->res[i].used && !res_listed(init, c->res[i].r.id))
            res_remove(c, a, &c->res[i]);
    for (uint32_t i = 0; i < init->n_resources; i++)
        res_upsert(c, a, &init->resources[i]);
}

/* --------------------------------------------------------------- data path */

static void res_hold(struct client_resource *r, const uint8_t *pkt, size_t len)
{
    uint8_t *copy;

    if (r->n_pending == CLIENT_PENDING_MAX || len > UINT16_MAX || !(copy = malloc(len))) {
        r->dropped++;
        return;
    }
    memcpy(copy, pkt, len);
    r->pending[r->n_pending] = copy;
    r->pending_len[r->n_pending++] = (uint16_t)len;
}

static uint64_t client_route(void *user, struct floe_agent *a, const uint8_t *pkt, size_t len)
{
    struct client *c = user;
    struct client_resource *r = floe_iptrie_lookup_packet(&c->trie, pkt, len, false);
    struct client_gateway *g;
    floe_time now = floe_agent_now(a);

    if (!r) {
        c->unknown_dst++;
        return 0;
    }
    g = r->cid ? gw_by_cid(c, r->cid) : NULL;
    if (g && g->up)
        return r->cid;
    res_hold(r, pkt, len);
    if (!r->cid && (!r->requested || now - r->last_request >= CLIENT_REQUEST_INTERVAL)) {
        r->requested = true;
        r->last_request = now;
        r->requests++;
        if (floe_portal_client_request_authorization(floe_agent_portal(a), now, r->r.id, NULL))
            client_log(a, FLOE_LOG_DEBUG, r->r.id, "intent not sent: portal not joined");
        else
            client_log(a, FLOE_LOG_INFO, r->r.id, "intent for %s", r->r.name);
    }
    return 0;
}

static bool client_accept(void *user, struct floe_agent *a, uint64_t cid, uint8_t *pkt, size_t len)
{
    struct client *c = user;
    struct client_resource *r = floe_iptrie_lookup_packet(&c->trie, pkt, len, true);

    (void)a;
    return r && r->cid == cid;
}

static void client_conn_event(void *user, struct floe_agent *a, const struct floe_node_event *ev)
{
    struct client *c = user;
    struct client_gateway *g = gw_by_cid(c, ev->cid);

    if (ev->type == FLOE_NODE_EV_ESTABLISHED && g) {
        g->up = true;
        gw_flush(c, a, ev->cid);
    } else if (ev->type == FLOE_NODE_EV_FAILED || ev->type == FLOE_NODE_EV_CLOSED) {
        gw_down(c, ev->cid);
    }
}

void client__hooks(struct floe_agent_role *r);

void client__hooks(struct floe_agent_role *r)
{
    r->init = client_init;
    r->message = client_message;
    r->route = client_route;
    r->accept = client_accept;
    r->conn_event = client_conn_event;
}
