/* Resources a client may reach, presence of devices, authorizations and the changes feed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "store_int.h"

/* Columns: id, site_id, name, cidr, filters. */
static int store_resource_row(const struct store_res *res, size_t i, struct floe_store_resource *r)
{
    const char *filters = floe__store_cell(res, i, 4);

    memset(r, 0, sizeof(*r));
    r->id = floe__store_cell_int(res, i, 0);
    r->site_id = floe__store_cell_int(res, i, 1);
    floe__store_copy(r->name, sizeof(r->name), floe__store_cell(res, i, 2));
    floe__store_copy(r->cidr, sizeof(r->cidr), floe__store_cell(res, i, 3));
    return floe_model_filters_parse(filters ? filters : "", r->filters, &r->n_filters, NULL, 0);
}

int floe_store_resource_get(struct floe_store *s, int64_t id, struct floe_store_resource *out)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, id)};
    struct store_res res;
    int rc = floe__store_exec(
        s, "SELECT id, site_id, name, cidr, filters FROM resources WHERE id = $1", p, 1, &res);

    if (rc < 0)
        return rc;
    if (res.rows == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no resource %lld", (long long)id);
    else if (store_resource_row(&res, 0, out) < 0)
        rc = floe__store_fail(s, FLOE_ERR_INTERNAL, "resource %lld: stored filters unreadable",
                              (long long)id);
    floe__store_res_free(&res);
    return rc;
}

int floe_store_client_resources(struct floe_store *s, int64_t client_id,
                                struct floe_store_resource **out, size_t *n)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, client_id)};
    struct store_res res;
    size_t i;
    int rc = floe__store_exec(s,
                              "SELECT DISTINCT r.id, r.site_id, r.name, r.cidr, r.filters"
                              " FROM devices d JOIN memberships m ON m.user_id = d.user_id"
                              " JOIN policies p ON p.group_id = m.group_id"
                              " JOIN resources r ON r.id = p.resource_id"
                              " WHERE d.id = $1 AND d.kind = 1 ORDER BY r.id",
                              p, 1, &res);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (i = 0; rc == 0 && i < res.rows; i++)
        if (store_resource_row(&res, i, &(*out)[i]) < 0)
            rc = floe__store_fail(s, FLOE_ERR_INTERNAL, "stored filters unreadable");
    *n = rc == 0 ? res.rows : 0;
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    floe__store_res_free(&res);
    return rc;
}

int floe_store_client_allowed(struct floe_store *s, int64_t client_id, int64_t resource_id)
{
    char c[24], r[24];
    const char *p[2] = {floe__store_int_text(c, client_id), floe__store_int_text(r, resource_id)};
    int64_t one;
    int rc = floe__store_exec_int(s,
                                  "SELECT 1 FROM devices d JOIN memberships m"
                                  " ON m.user_id = d.user_id JOIN policies p"
                                  " ON p.group_id = m.group_id WHERE d.id = $1 AND d.kind = 1"
                                  " AND p.resource_id = $2 LIMIT 1",
                                  p, 2, &one);

    if (rc == FLOE_ERR_NOT_FOUND)
        return 0;
    return rc < 0 ? rc : 1;
}

int floe_store_presence_set(struct floe_store *s, int64_t device_id, const char *instance,
                            int64_t now)
{
    char d[24], t[24];
    const char *p[3] = {floe__store_int_text(d, device_id), instance, floe__store_int_text(t, now)};

    if (!instance || !instance[0] || strlen(instance) >= FLOE_STORE_INSTANCE_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad instance id");
    return floe__store_exec(s,
                            "INSERT INTO presence(device_id, instance, heartbeat_at)"
                            " VALUES($1, $2, $3) ON CONFLICT (device_id) DO UPDATE SET"
                            " instance = excluded.instance, heartbeat_at = excluded.heartbeat_at",
                            p, 3, NULL);
}

/* Ids per statement of floe_store_presence_refresh (an id takes at most 21 characters). */
#define STORE_PRESENCE_CHUNK 500

/* One statement: the presence rows of those of ids[0..n) that still name a device. */
static int store_presence_chunk(struct floe_store *s, const int64_t *ids, size_t n,
                                const char *const *p)
{
    static const char head[] = "INSERT INTO presence(device_id, instance, heartbeat_at)"
                               " SELECT id, CAST($1 AS TEXT), CAST($2 AS BIGINT) FROM devices"
                               " WHERE id IN (";
    static const char tail[] =
        ") ON CONFLICT (device_id) DO UPDATE SET"
        " instance = excluded.instance, heartbeat_at = excluded.heartbeat_at";
    size_t cap = sizeof(head) + sizeof(tail) + n * 22, len;
    char *sql = malloc(cap);
    int rc;

    if (!sql)
        return floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
    memcpy(sql, head, sizeof(head) - 1);
    len = sizeof(head) - 1;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
    memcpy(sql + len, tail, sizeof(tail));
    rc = floe__store_exec(s, sql, p, 2, NULL);
    free(sql);
    return rc;
}

int floe_store_presence_refresh(struct floe_store *s, const int64_t *ids, size_t n,
                                const char *instance, int64_t now)
{
    char t[24];
    const char *p[2] = {instance, floe__store_int_text(t, now)};
    int rc;

    if (!instance || !instance[0] || strlen(instance) >= FLOE_STORE_INSTANCE_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad instance id");
    if (n == 0)
        return 0;
    if (!ids)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "no ids");
    rc = floe__store_begin(s);
    for (size_t i = 0; rc == 0 && i < n; i += STORE_PRESENCE_CHUNK)
        rc = store_presence_chunk(s, ids + i,
                                  n - i < STORE_PRESENCE_CHUNK ? n - i : STORE_PRESENCE_CHUNK, p);
    if (rc == 0)
        return floe__store_commit(s);
    floe__store_rollback(s);
    return rc;
}

int floe_store_presence_clear(struct floe_store *s, int64_t device_id, const char *instance)
{
    char d[24];
    const char *p[2] = {floe__store_int_text(d, device_id), instance};

    return floe__store_exec(s, "DELETE FROM presence WHERE device_id = $1 AND instance = $2", p, 2,
                            NULL);
}

/* DELETE ... RETURNING with one parameter: how many rows went. */
static int store_delete_count(struct floe_store *s, const char *sql, int64_t v, int64_t *removed)
{
    char t[24];
    const char *p[1] = {floe__store_int_text(t, v)};
    struct store_res res;
    int rc = floe__store_exec(s, sql, p, 1, &res);

    if (rc == 0 && removed)
        *removed = (int64_t)res.rows;
    floe__store_res_free(&res);
    return rc;
}

int floe_store_presence_expire(struct floe_store *s, int64_t now, int64_t ttl, int64_t *removed)
{
    return store_delete_count(s, "DELETE FROM presence WHERE heartbeat_at < $1 RETURNING device_id",
                              now - ttl, removed);
}

int floe_store_changes_prune(struct floe_store *s, int64_t before, int64_t *removed)
{
    return store_delete_count(s, "DELETE FROM changes WHERE created_at < $1 RETURNING id", before,
                              removed);
}

int floe_store_gateways_online(struct floe_store *s, int64_t site_id, int64_t now, int64_t ttl,
                               struct floe_store_device **out, size_t *n)
{
    char st[24], since[24];
    const char *p[2] = {floe__store_int_text(st, site_id), floe__store_int_text(since, now - ttl)};
    struct store_res res;
    size_t i;
    int rc = floe__store_exec(s,
                              "SELECT " STORE_DEVICE_COLS " FROM devices d JOIN presence pr"
                              " ON pr.device_id = d.id LEFT JOIN addresses a ON a.device_id = d.id"
                              " WHERE d.kind = 2 AND d.site_id = $1 AND pr.heartbeat_at >= $2"
                              " ORDER BY d.id",
                              p, 2, &res);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (i = 0; i < res.rows; i++)
        floe__store_device_row(&res, i, &(*out)[i]);
    *n = res.rows;
    floe__store_res_free(&res);
    return 0;
}

#define STORE_ONLINE_GATEWAY                                                                       \
    "SELECT " STORE_DEVICE_COLS " FROM devices d JOIN presence pr ON pr.device_id = d.id"          \
    " LEFT JOIN addresses a ON a.device_id = d.id WHERE d.kind = 2 AND d.site_id = $1"             \
    " AND pr.heartbeat_at >= $2"

/* One online gateway of the site by sql (parameters site, since, id): 1 found, 0 none, <0. */
static int store_gateway_one(struct floe_store *s, const char *sql, const char *const *p,
                             struct floe_store_device *out)
{
    struct store_res res;
    int rc = floe__store_exec(s, sql, p, 3, &res);

    if (rc < 0)
        return rc;
    if (res.rows > 0)
        floe__store_device_row(&res, 0, out);
    rc = res.rows > 0;
    floe__store_res_free(&res);
    return rc;
}

/* The first online gateway of the site at or after an id drawn from r in its id range. */
static int store_gateway_from(struct floe_store *s, const char *const *p, uint64_t r,
                              struct floe_store_device *out)
{
    struct store_res res;
    char start[24];
    const char *q[3] = {p[0], p[1], start};
    int64_t lo, hi;
    int rc =
        floe__store_exec(s,
                         "SELECT (SELECT min(id) FROM devices WHERE site_id = $1 AND kind = 2),"
                         " (SELECT max(id) FROM devices WHERE site_id = $1 AND kind = 2)",
                         p, 1, &res);

    if (rc < 0)
        return rc;
    lo = floe__store_cell_int(&res, 0, 0);
    hi = floe__store_cell_int(&res, 0, 1);
    floe__store_res_free(&res);
    if (lo <= 0 || hi < lo)
        return 0;
    floe__store_int_text(start, lo + (int64_t)(r % (uint64_t)(hi - lo + 1)));
    /* the bound on both sides of the join: PostgreSQL's merge join starts both index scans at
     * the point (it does not carry d.id's bound over to pr.device_id) */
    rc = store_gateway_one(s,
                           STORE_ONLINE_GATEWAY " AND d.id >= $3 AND pr.device_id >= $3"
                                                " ORDER BY d.id LIMIT 1",
                           q, out);
    if (rc != 0)
        return rc;
    return store_gateway_one(s,
                             STORE_ONLINE_GATEWAY " AND d.id < $3 AND pr.device_id < $3"
                                                  " ORDER BY d.id LIMIT 1",
                             q, out);
}

int floe_store_gateway_pick(struct floe_store *s, int64_t site_id, int64_t now, int64_t ttl,
                            const int64_t *prefer, size_t n_prefer, uint64_t r,
                            struct floe_store_device *out)
{
    char st[24], since[24], id[24];
    const char *p[3] = {floe__store_int_text(st, site_id), floe__store_int_text(since, now - ttl),
                        id};
    int rc;

    if (!out || (n_prefer && !prefer))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "gateway_pick: bad arguments");
    for (size_t i = 0; i < n_prefer; i++) {
        floe__store_int_text(id, prefer[i]);
        rc = store_gateway_one(s, STORE_ONLINE_GATEWAY " AND d.id = $3", p, out);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    rc = store_gateway_from(s, p, r, out);
    if (rc == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no gateway of site %s online", st);
    return rc < 0 ? rc : 0;
}

/* [[to,payload],...]: the messages as one JSON array (the payloads are JSON texts). */
static char *store_outbound_json(const int64_t *to, const char *const *payloads, size_t n)
{
    size_t cap = 3, len = 0;
    char *out;

    for (size_t i = 0; i < n; i++)
        cap += strlen(payloads[i]) + 32;
    out = malloc(cap);
    if (!out)
        return NULL;
    out[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s[%lld,%s]", i ? "," : "", (long long)to[i],
                                payloads[i]);
    snprintf(out + len, cap - len, "]");
    return out;
}

int floe_store_notify_devices(struct floe_store *s, const int64_t *to, const char *const *payloads,
                              size_t n, const char *prefix, const char *self, int64_t now,
                              int64_t ttl, size_t *sent, bool *delivered)
{
    char since[24], *json;
    struct store_res res;
    int rc;

    if (sent)
        *sent = 0;
    if (s->engine != FLOE_STORE_POSTGRES || !to || !payloads || !prefix || !self || !sent)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "notify_devices: bad arguments");
    for (size_t i = 0; i < n; i++)
        if (!payloads[i] || strlen(payloads[i]) >= FLOE_STORE_PAYLOAD_MAX)
            return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "notify_devices: bad payload");
    if (delivered)
        memset(delivered, 0, n * sizeof(*delivered));
    if (n == 0)
        return 0;
    json = store_outbound_json(to, payloads, n);
    if (!json)
        return floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
    /* pg_notify runs after the sort (a volatile target): in the order given */
    rc = floe__store_exec(
        s,
        "SELECT m.i, pg_notify($3 || p.instance, m.v->>1) FROM json_array_elements("
        "$1::json) WITH ORDINALITY AS m(v, i) JOIN presence p ON p.device_id ="
        " (m.v->>0)::bigint WHERE p.heartbeat_at >= $2 AND p.instance <> $4"
        " ORDER BY m.i",
        (const char *const[]){json, floe__store_int_text(since, now - ttl), prefix, self}, 4, &res);
    free(json);
    if (rc < 0)
        return rc;
    *sent = res.rows;
    for (size_t r = 0; delivered && r < res.rows; r++) {
        long long i = strtoll(floe__store_cell(&res, r, 0), NULL, 10);

        if (i >= 1 && (size_t)i <= n)
            delivered[i - 1] = true; /* WITH ORDINALITY counts from 1 */
    }
    floe__store_res_free(&res);
    return 0;
}

int floe_store_presence_instance(struct floe_store *s, int64_t device_id, int64_t now, int64_t ttl,
                                 char instance[FLOE_STORE_INSTANCE_MAX])
{
    char d[24], since[24];
    const char *p[2] = {floe__store_int_text(d, device_id), floe__store_int_text(since, now - ttl)};
    struct store_res res;
    int rc = floe__store_exec(
        s, "SELECT instance FROM presence WHERE device_id = $1 AND heartbeat_at >= $2", p, 2, &res);

    if (rc < 0)
        return rc;
    if (res.rows == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "device %s offline", d);
    else
        floe__store_copy(instance, FLOE_STORE_INSTANCE_MAX, floe__store_cell(&res, 0, 0));
    floe__store_res_free(&res);
    return rc;
}

int floe_store_authorization_add(struct floe_store *s, const struct floe_store_authorization *a,
                                 int64_t *id)
{
    char c[24], g[24], r[24], e[24];
    const char *p[5] = {
        floe__store_int_text(c, a->client_id), floe__store_int_text(g, a->gateway_id),
        floe__store_int_text(r, a->resource_id), floe__store_int_text(e, a->expires_at),
        a->preshared_key[0] ? a->preshared_key : NULL};
    int rc;

    if (a->preshared_key[0] && !floe_model_public_key_ok(a->preshared_key))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "preshared key is not base64 of 32 bytes");
    rc = floe__store_exec_int(s,
                              "INSERT INTO authorizations(client_id, gateway_id, resource_id,"
                              " expires_at, preshared_key) VALUES($1, $2, $3, $4, $5) RETURNING id",
                              p, 5, id);
    return rc == FLOE_ERR_NOT_FOUND
               ? floe__store_fail(s, rc, "authorization: no such client, gateway or resource")
               : rc;
}

int floe_store_authorization_get(struct floe_store *s, int64_t id,
                                 struct floe_store_authorization *out)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, id)};
    struct store_res res;
    int rc = floe__store_exec(s,
                              "SELECT id, client_id, gateway_id, resource_id, expires_at,"
                              " preshared_key FROM authorizations WHERE id = $1",
                              p, 1, &res);

    if (rc < 0)
        return rc;
    if (res.rows == 0) {
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no authorization %s", idt);
    } else {
        out->id = floe__store_cell_int(&res, 0, 0);
        out->client_id = floe__store_cell_int(&res, 0, 1);
        out->gateway_id = floe__store_cell_int(&res, 0, 2);
        out->resource_id = floe__store_cell_int(&res, 0, 3);
        out->expires_at = floe__store_cell_int(&res, 0, 4);
        floe__store_copy(out->preshared_key, sizeof(out->preshared_key),
                         floe__store_cell(&res, 0, 5));
    }
    floe__store_res_free(&res);
    return rc;
}

/* The live authorizations of gateway $1 at $3 to the clients of the JSON array $2. */
#define STORE_LIVE_SQL(clients)                                                                    \
    "SELECT DISTINCT a.client_id FROM authorizations a WHERE a.client_id IN (" clients ")"         \
    " AND a.gateway_id = $1 AND a.expires_at > $3 AND EXISTS (SELECT 1 FROM devices d"             \
    " JOIN memberships m ON m.user_id = d.user_id JOIN policies p ON p.group_id = m.group_id"      \
    " WHERE d.id = a.client_id AND p.resource_id = a.resource_id)"

int floe_store_authorizations_live(struct floe_store *s, int64_t gateway_id, const int64_t *clients,
                                   size_t n, int64_t now, bool *live)
{
    char g[24], t[24], json[FLOE_STORE_LIVE_MAX * 22 + 3];
    size_t len = 0;
    struct store_res res;
    int rc;

    if (!clients || !live || n > FLOE_STORE_LIVE_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "authorizations_live: bad arguments");
    memset(live, 0, n * sizeof(*live));
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, sizeof(json) - len, "%s%lld", i ? "," : "[",
                                (long long)clients[i]);
    snprintf(json + len, sizeof(json) - len, "]");
    rc = floe__store_exec(
        s,
        s->engine == FLOE_STORE_POSTGRES
            ? STORE_LIVE_SQL("SELECT CAST(value AS BIGINT) FROM json_array_elements_text($2::json)")
            : STORE_LIVE_SQL("SELECT value FROM json_each($2)"),
        (const char *const[]){floe__store_int_text(g, gateway_id), json,
                              floe__store_int_text(t, now)},
        3, &res);
    if (rc < 0)
        return rc;
    for (size_t r = 0; r < res.rows; r++)
        for (size_t i = 0; i < n; i++)
            live[i] |= clients[i] == floe__store_cell_int(&res, r, 0);
    floe__store_res_free(&res);
    return 0;
}

int floe_store_authorization_remove(struct floe_store *s, int64_t id)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, id)};
    int64_t got;
    int rc = floe__store_exec_int(s, "DELETE FROM authorizations WHERE id = $1 RETURNING id", p, 1,
                                  &got);

    return rc == FLOE_ERR_NOT_FOUND ? floe__store_fail(s, rc, "no authorization %s", idt) : rc;
}

int floe_store_authorizations_expire(struct floe_store *s, int64_t now, int64_t *removed)
{
    return store_delete_count(s, "DELETE FROM authorizations WHERE expires_at <= $1 RETURNING id",
                              now, removed);
}

int floe_store_changes_since(struct floe_store *s, int64_t after_id, struct floe_store_change **out,
                             size_t *n, size_t max)
{
    char a[24], m[24];
    const char *p[2] = {floe__store_int_text(a, after_id), floe__store_int_text(m, (int64_t)max)};
    struct store_res res;
    size_t i;
    int rc = floe__store_exec(
        s, "SELECT id, kind, payload FROM changes WHERE id > $1 ORDER BY id LIMIT $2", p, 2, &res);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (i = 0; i < res.rows; i++) {
        (*out)[i].id = floe__store_cell_int(&res, i, 0);
        floe__store_copy((*out)[i].kind, sizeof((*out)[i].kind), floe__store_cell(&res, i, 1));
        floe__store_copy((*out)[i].payload, sizeof((*out)[i].payload),
                         floe__store_cell(&res, i, 2));
    }
    *n = res.rows;
    floe__store_res_free(&res);
    return 0;
}

int floe_store_changes_last(struct floe_store *s, int64_t *id)
{
    return floe__store_exec_int(s, "SELECT COALESCE(MAX(id), 0) FROM changes", NULL, 0, id);
}
