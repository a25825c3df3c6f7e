/*
 * The life of an authorization after create_authorization (issue 13): renewed while the
 * client is online and a policy still allows it, revoked when none does any more, and the
 * revocations kept (table revocations, schema version 4) until the authorization would have
 * expired, so that a gateway connected nowhere at the time hears of them on its next join.
 * Every statement here changes or reads the rows it is about in one step, so that several
 * PostgreSQL instances running them at once never send the same message twice.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store_int.h"

/* a (an authorization row) is allowed: a policy gives its client's user its resource. */
#define STORE_AUTHZ_ALLOWED                                                                        \
    "EXISTS (SELECT 1 FROM devices d JOIN memberships m ON m.user_id = d.user_id"                  \
    " JOIN policies p ON p.group_id = m.group_id WHERE d.id = a.client_id AND d.kind = 1"          \
    " AND p.resource_id = a.resource_id)"

/* a is the newest authorization of its client and resource: the gateway the client uses for
 * it now (it asks again only when it has no connection for the resource). */
#define STORE_AUTHZ_NEWEST                                                                         \
    "NOT EXISTS (SELECT 1 FROM authorizations b WHERE b.client_id = a.client_id"                   \
    " AND b.resource_id = a.resource_id AND b.id > a.id)"

/* r (a revocation row) is not superseded by a newer authorization of the same three. */
#define STORE_REVOKED_CURRENT                                                                      \
    "NOT EXISTS (SELECT 1 FROM authorizations b WHERE b.client_id = r.client_id"                   \
    " AND b.resource_id = r.resource_id AND b.gateway_id = r.gateway_id"                           \
    " AND b.id > r.authorization_id)"

/* Rows of gateway_id, client_id, resource_id, expires_at [, revoked] into a new *out of *n. */
static int store_access_rows(struct floe_store *s, const char *sql, const char *const *p, int np,
                             struct floe_store_access **out, size_t *n)
{
    struct store_res res;
    int rc = floe__store_exec(s, sql, p, np, &res);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < res.rows; i++) {
        (*out)[i].gateway_id = floe__store_cell_int(&res, i, 0);
        (*out)[i].client_id = floe__store_cell_int(&res, i, 1);
        (*out)[i].resource_id = floe__store_cell_int(&res, i, 2);
        (*out)[i].expires_at = floe__store_cell_int(&res, i, 3);
        (*out)[i].revoked = res.cols > 4 && floe__store_cell_int(&res, i, 4) != 0;
    }
    *n = res.rows;
    floe__store_res_free(&res);
    return 0;
}

int floe__store_revoke_where(struct floe_store *s, const char *where, int64_t v, int64_t now)
{
    static const char head[] =
        "INSERT INTO revocations(authorization_id, gateway_id, client_id, resource_id,"
        " expires_at, sent) SELECT a.id, a.gateway_id, a.client_id, a.resource_id, a.expires_at,"
        " 0 FROM authorizations a WHERE a.expires_at > CAST($2 AS BIGINT) AND ";
    static const char tail[] = " ON CONFLICT (authorization_id) DO NOTHING";
    char vt[24], nt[24], sql[1024];
    const char *p[2] = {floe__store_int_text(vt, v), floe__store_int_text(nt, now)};

    if (snprintf(sql, sizeof(sql), "%s%s%s", head, where, tail) >= (int)sizeof(sql))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "revoke_where: condition too long");
    return floe__store_exec(s, sql, p, 2, NULL);
}

int floe_store_authorizations_revoke(struct floe_store *s, int64_t now)
{
    int rc = floe__store_begin(s);

    /* $1 is there for the helper's shape: a condition true for every row */
    if (rc == 0)
        rc = floe__store_revoke_where(s, "CAST($1 AS BIGINT) = 0 AND NOT " STORE_AUTHZ_ALLOWED, 0,
                                      now);
    if (rc == 0)
        rc = floe__store_exec(s,
                              "DELETE FROM authorizations WHERE id IN"
                              " (SELECT authorization_id FROM revocations)",
                              NULL, 0, NULL);
    if (rc == 0)
        return floe__store_commit(s);
    floe__store_rollback(s);
    return rc;
}

int floe_store_revocations_claim(struct floe_store *s, int64_t now, struct floe_store_access **out,
                                 size_t *n)
{
    char nt[24];
    const char *p[1] = {floe__store_int_text(nt, now)};

    return store_access_rows(s,
                             "UPDATE revocations AS r SET sent = 1 WHERE r.sent = 0"
                             " AND r.expires_at > $1 AND " STORE_REVOKED_CURRENT
                             " RETURNING gateway_id, client_id, resource_id, expires_at",
                             p, 1, out, n);
}

int floe_store_gateway_access(struct floe_store *s, int64_t gateway_id, int64_t now,
                              struct floe_store_access **out, size_t *n)
{
    char gt[24], nt[24];
    const char *p[2] = {floe__store_int_text(gt, gateway_id), floe__store_int_text(nt, now)};

    /* one statement: it runs on every join of a gateway */
    return store_access_rows(
        s,
        "SELECT gateway_id, client_id, resource_id, expires_at, revoked FROM (SELECT"
        " r.gateway_id, r.client_id, r.resource_id, r.expires_at, 1 AS revoked,"
        " r.authorization_id AS k FROM revocations r WHERE r.gateway_id = $1"
        " AND r.expires_at > $2 AND " STORE_REVOKED_CURRENT
        " UNION ALL SELECT a.gateway_id, a.client_id, a.resource_id, a.expires_at, 0, a.id"
        " FROM authorizations a WHERE a.gateway_id = $1 AND a.expires_at > $2"
        " AND " STORE_AUTHZ_NEWEST " AND " STORE_AUTHZ_ALLOWED ") x ORDER BY revoked DESC, k",
        p, 2, out, n);
}

int floe_store_authorizations_renew(struct floe_store *s, int64_t now, int64_t ttl,
                                    int64_t online_since, struct floe_store_access **out, size_t *n)
{
    char nt[24], et[24], bt[24], ot[24];
    const char *p[4] = {floe__store_int_text(nt, now), floe__store_int_text(et, now + ttl),
                        floe__store_int_text(bt, now + ttl / 2),
                        floe__store_int_text(ot, online_since)};

    *out = NULL;
    *n = 0;
    if (ttl <= 0)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "renew: ttl must be positive");
    return store_access_rows(
        s,
        "UPDATE authorizations AS a SET expires_at = $2 WHERE a.expires_at > $1"
        " AND a.expires_at <= $3 AND EXISTS (SELECT 1 FROM presence pr WHERE"
        " pr.device_id = a.client_id AND pr.heartbeat_at >= $4) AND " STORE_AUTHZ_NEWEST
        " AND " STORE_AUTHZ_ALLOWED " RETURNING gateway_id, client_id, resource_id, expires_at",
        p, 4, out, n);
}

int floe_store_revocations_expire(struct floe_store *s, int64_t now, int64_t *removed)
{
    char nt[24];
    const char *p[1] = {floe__store_int_text(nt, now)};
    struct store_res res;
    int rc = floe__store_exec(
        s, "DELETE FROM revocations WHERE expires_at <= $1 RETURNING authorization_id", p, 1, &res);

    if (rc == 0 && removed)
        *removed = (int64_t)res.rows;
    floe__store_res_free(&res);
    return rc;
}
