/*
 * What the portal pushes to devices: init on join, relays_presence when the health checks
 * change a relay, resource_created_or_updated / resource_deleted when the configuration
 * changes (the changes table, read every second and at once on a NOTIFY); after a change, the
 * authorizations no policy allows any more are revoked (authz.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_io.h"
#include "serve.h"

/* ------------------------------------------------------------- conversions */

static int portald_cidr_parse(const char *s, struct floe_portal_cidr *out)
{
    char ip[FLOE_STORE_CIDR_STRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long prefix;
    char *end;

    if (n >= sizeof(ip))
        return FLOE_ERR_MALFORMED;
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (floe_addr_parse_ip(ip, &out->addr) < 0)
        return FLOE_ERR_MALFORMED;
    prefix = slash ? strtol(slash + 1, &end, 10) : (out->addr.family == FLOE_AF_INET ? 32 : 128);
    if (slash && (*end || end == slash + 1))
        return FLOE_ERR_MALFORMED;
    if (prefix < 0 || prefix > (out->addr.family == FLOE_AF_INET ? 32 : 128))
        return FLOE_ERR_MALFORMED;
    out->prefix = (uint8_t)prefix;
    return 0;
}

int portald_resource_convert(const struct floe_store_resource *r, struct floe_portal_resource *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%lld", (long long)r->id);
    snprintf(out->name, sizeof(out->name), "%s", r->name);
    if (portald_cidr_parse(r->cidr, &out->address) < 0)
        return FLOE_ERR_MALFORMED;
    for (size_t i = 0; i < r->n_filters && i < FLOE_PORTAL_FILTERS_MAX; i++) {
        const struct floe_store_filter *f = &r->filters[i];
        bool all = f->port_lo == 0 && f->port_hi == 0;

        out->filters[i].protocol = (uint8_t)f->proto;
        out->filters[i].port_start = all ? 0 : f->port_lo;
        out->filters[i].port_end = all ? 65535 : f->port_hi;
        out->n_filters++;
    }
    return 0;
}

/* A hash of what a client is told about r (to see what changed). */
static uint64_t portald_resource_hash(const struct floe_store_resource *r)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *parts[3] = {(const uint8_t *)r->name, (const uint8_t *)r->cidr,
                               (const uint8_t *)r->filters};
    size_t lens[3] = {strlen(r->name), strlen(r->cidr), r->n_filters * sizeof(r->filters[0])};

    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < lens[p]; i++)
            h = (h ^ parts[p][i]) * 0x100000001b3ULL;
    return h ^ (uint64_t)r->site_id;
}

/* --------------------------------------------------------------------- relays */

uint32_t portald_push_relay_list(struct portald *d, const char *sid,
                                 struct floe_portal_relay *relays, uint32_t cap)
{
    uint64_t expires = (uint64_t)portald_wall() + d->opts.credential_ttl;
    struct portald_rest_cred cred;
    uint32_t n = 0;

    for (size_t i = 0; i < d->relays.n && n < cap; i++) {
        struct floe_portal_relay *r = &relays[n];

        if (!d->relays.r[i].up ||
            portald_rest_cred_make(&cred, d->relay_rows[i].secret, sid, expires) < 0)
            continue;
        memset(r, 0, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%s", d->relays.r[i].id);
        r->addr = d->relays.r[i].addr;
        snprintf(r->username, sizeof(r->username), "%s", cred.username);
        snprintf(r->password, sizeof(r->password), "%s", cred.password);
        r->expires_at = cred.expires_at;
        floe_wipe(&cred, sizeof(cred));
        n++;
    }
    return n;
}

int portald_push_load_relays(struct portald *d)
{
    char(*ids)[PORTALD_ID_MAX] = calloc(PORTALD_MAX_RELAYS, PORTALD_ID_MAX);
    struct floe_addr addrs[PORTALD_MAX_RELAYS];
    struct floe_store_relay *rows = NULL;
    size_t n = 0, kept = 0;
    int rc = ids ? floe_store_relays(d->store, &rows, &n) : FLOE_ERR_NOMEM;

    for (size_t i = 0; rc == 0 && i < n && kept < PORTALD_MAX_RELAYS; i++) {
        if (floe_addr_parse(rows[i].address, &addrs[kept]) < 0 &&
            floe_io_resolve(rows[i].address, FLOE_AF_INET, &addrs[kept]) < 0 &&
            floe_io_resolve(rows[i].address, FLOE_AF_INET6, &addrs[kept]) < 0) {
            portald_log(d, FLOE_LOG_WARN, "relay %lld: cannot resolve %s", (long long)rows[i].id,
                        rows[i].address);
            continue;
        }
        snprintf(ids[kept], PORTALD_ID_MAX, "%lld", (long long)rows[i].id);
        rows[kept++] = rows[i];
    }
    if (rc == 0)
        rc = portald_relays_set(&d->relays, (const char(*)[PORTALD_ID_MAX])ids, addrs, kept);
    if (rc == 0) {
        free(d->relay_rows);
        d->relay_rows = rows;
        d->n_relay_rows = kept;
    } else {
        free(rows);
        d->stats.store_errors++;
    }
    free(ids);
    return rc;
}

/* relays_presence for c: relays down or gone since the last push, and the relays up. */
static void portald_push_presence_to(struct portald *d, struct portald_conn *c)
{
    struct floe_portal_relays_presence *p = &d->msg->u.relays;

    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_RELAYS_PRESENCE;
    d->msg->topic =
        c->kind == PORTALD_KIND_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
    for (size_t i = 0; i < d->n_gone && p->n_disconnected < FLOE_PORTAL_PEERS_MAX; i++)
        snprintf(p->disconnected_ids[p->n_disconnected++], FLOE_PORTAL_ID_MAX, "%s", d->gone[i]);
    p->n_connected = portald_push_relay_list(d, c->sid, p->connected, FLOE_PORTAL_RELAYS_MAX);
    (void)portald_send_msg(d, c);
}

/* The relays that were offered at the last push and are down or gone now. */
static void portald_push_gone(struct portald *d)
{
    d->n_gone = 0;
    for (size_t i = 0; i < d->n_offered; i++) {
        bool up = false;

        for (size_t j = 0; j < d->relays.n; j++)
            if (strcmp(d->relays.r[j].id, d->offered[i]) == 0)
                up = d->relays.r[j].up;
        if (!up)
            memcpy(d->gone[d->n_gone++], d->offered[i], PORTALD_ID_MAX);
    }
    d->n_offered = 0;
    for (size_t j = 0; j < d->relays.n; j++)
        if (d->relays.r[j].up)
            memcpy(d->offered[d->n_offered++], d->relays.r[j].id, PORTALD_ID_MAX);
}

void portald_push_relays(struct portald *d)
{
    if (!d->relays.changed)
        return;
    d->relays.changed = false;
    d->stats.relays_up = d->stats.relays_down = 0;
    for (size_t i = 0; i < d->relays.n; i++)
        if (d->relays.r[i].up)
            d->stats.relays_up++;
        else
            d->stats.relays_down++;
    portald_push_gone(d);
    portald_log(d, FLOE_LOG_INFO, "relays: %llu up, %llu down",
                (unsigned long long)d->stats.relays_up, (unsigned long long)d->stats.relays_down);
    for (size_t i = 0; i < d->n_conns; i++)
        if (d->conns[i]->joined && !d->conns[i]->dead)
            portald_push_presence_to(d, d->conns[i]);
}

/* ---------------------------------------------------------------------- init */

static int portald_seen_cmp(const void *a, const void *b)
{
    const struct portald_seen *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* The resources client c may reach now, converted into out (cap) and as a sorted seen list. */
static int portald_client_resources(struct portald *d, struct portald_conn *c,
                                    struct floe_portal_resource *out, uint32_t cap, uint32_t *n_out,
                                    struct portald_seen **seen, size_t *n_seen)
{
    struct floe_store_resource *rs = NULL;
    size_t n = 0;
    uint32_t kept = 0;
    int rc = floe_store_client_resources(d->store, c->dev.id, &rs, &n);

    if (rc < 0) {
        d->stats.store_errors++;
        return rc;
    }
    *seen = calloc(n ? n : 1, sizeof(**seen));
    if (!*seen) {
        free(rs);
        return FLOE_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && kept < cap; i++) {
        if (portald_resource_convert(&rs[i], &out[kept]) < 0)
            continue;
        (*seen)[kept].id = rs[i].id;
        (*seen)[kept].hash = portald_resource_hash(&rs[i]);
        kept++;
    }
    qsort(*seen, kept, sizeof(**seen), portald_seen_cmp);
    *n_out = kept;
    *n_seen = kept;
    free(rs);
    return 0;
}

int portald_push_init(struct portald *d, struct portald_conn *c)
{
    struct floe_portal_init *init = &d->msg->u.init;
    struct portald_seen *seen = NULL;
    size_t n_seen = 0;

    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_INIT;
    d->msg->topic =
        c->kind == PORTALD_KIND_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
    (void)floe_addr_parse_ip(c->dev.ipv4, &init->interface.ipv4);
    (void)floe_addr_parse_ip(c->dev.ipv6, &init->interface.ipv6);
    if (c->kind == PORTALD_KIND_CLIENT) {
        if (portald_client_resources(d, c, init->resources, FLOE_PORTAL_RESOURCES_MAX,
                                     &init->n_resources, &seen, &n_seen) < 0)
            return FLOE_ERR_IO;
        free(c->seen);
        c->seen = seen;
        c->n_seen = n_seen;
    }
    init->n_relays = portald_push_relay_list(d, c->sid, init->relays, FLOE_PORTAL_RELAYS_MAX);
    return 0;
}

/* ---------------------------------------------------------------- changes */

static const struct portald_seen *portald_seen_find(const struct portald_seen *s, size_t n,
                                                    int64_t id)
{
    struct portald_seen key = {.id = id};

    return bsearch(&key, s, n, sizeof(*s), portald_seen_cmp);
}

static void portald_push_deleted(struct portald *d, struct portald_conn *c, int64_t id)
{
    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = FLOE_PORTAL_MSG_RESOURCE_DELETED;
    d->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
    snprintf(d->msg->u.id, sizeof(d->msg->u.id), "%lld", (long long)id);
    (void)portald_send_msg(d, c);
    portald_route_revoke(d, c, id);
}

/* Compare what client c may reach now with what it was told; push the difference. */
static void portald_push_resync(struct portald *d, struct portald_conn *c)
{
    static struct floe_portal_resource res[FLOE_PORTAL_RESOURCES_MAX];
    struct portald_seen *seen = NULL;
    size_t n_seen = 0;
    uint32_t n = 0;

    if (portald_client_resources(d, c, res, FLOE_PORTAL_RESOURCES_MAX, &n, &seen, &n_seen) < 0)
        return;
    for (size_t i = 0; i < c->n_seen; i++)
        if (!portald_seen_find(seen, n_seen, c->seen[i].id))
            portald_push_deleted(d, c, c->seen[i].id);
    for (uint32_t i = 0; i < n; i++) {
        int64_t id = strtoll(res[i].id, NULL, 10);
        const struct portald_seen *now = portald_seen_find(seen, n_seen, id);
        const struct portald_seen *old = portald_seen_find(c->seen, c->n_seen, id);

        if (old && now && old->hash == now->hash)
            continue;
        memset(d->msg, 0, sizeof(*d->msg));
        d->msg->type = FLOE_PORTAL_MSG_RESOURCE_UPDATED;
        d->msg->topic = FLOE_PORTAL_TOPIC_CLIENT;
        d->msg->u.resource = res[i];
        (void)portald_send_msg(d, c);
    }
    free(c->seen);
    c->seen = seen;
    c->n_seen = n_seen;
}

/* The notifications waiting on the store's connection (PostgreSQL; SQLite's own queue). */
static bool portald_push_notifications(struct portald *d)
{
    static struct floe_store_notification note;
    bool changes = false;
    int rc;

    while ((rc = floe_store_poll_notify(d->store, &note)) == 1) {
        if (strcmp(note.channel, FLOE_STORE_CHANGES_CHANNEL) == 0) {
            changes = true;
            continue;
        }
        d->stats.notifies_in++;
        portald_route_notify(d, note.payload);
    }
    if (rc < 0)
        d->stats.store_errors++;
    return changes;
}

/* Read the changes table since the last change applied and push what changed. */
static void portald_push_catch_up(struct portald *d)
{
    struct floe_store_change *ch = NULL;
    size_t n = 0;
    bool relays = false, resources = false;

    if (floe_store_changes_since(d->store, d->last_change, &ch, &n, 256) < 0) {
        d->stats.store_errors++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(ch[i].kind, "relay", 5) == 0)
            relays = true;
        else
            resources = true;
        d->last_change = ch[i].id;
        d->stats.changes_applied++;
    }
    free(ch);
    if (relays && portald_push_load_relays(d) == 0)
        portald_push_relays(d);
    for (size_t i = 0; resources && i < d->n_conns; i++) {
        portald_peers_clear(d->conns[i]); /* a policy may be gone: candidates checked again */
        if (d->conns[i]->joined && !d->conns[i]->dead && d->conns[i]->kind == PORTALD_KIND_CLIENT)
            portald_push_resync(d, d->conns[i]);
    }
    if (resources)
        portald_authz_revoke(d);
}

void portald_push_changes(struct portald *d)
{
    (void)portald_push_notifications(d);
    portald_push_catch_up(d);
    portald_push_notified(d); /* what arrived while the catch-up's statements ran */
}

void portald_push_notified(struct portald *d)
{
    /* a catch-up runs statements, during which more notifications may be read: again, up to a
     * bound (the periodic poll takes the rest) */
    for (int round = 0; round < 4 && portald_push_notifications(d); round++)
        portald_push_catch_up(d);
}
