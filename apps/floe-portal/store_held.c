/*
 * Candidates held for a device that is connected nowhere (issue 12): the table
 * held_candidates (schema version 2), one row per candidate or invalidation, taken by the
 * instance the device joins next. In the store, not in one instance's memory, so that a device
 * that rejoins on another PostgreSQL instance gets them too.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static bool store_candidate_ok(const char *c)
{
    size_t n = c ? strlen(c) : 0;

    if (n == 0 || n >= FLOE_STORE_CANDIDATE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
            return false;
    return true;
}

/* Rows of a DELETE ... RETURNING (or any statement) with params: how many came back. */
static int store_count_rows(struct floe_store *s, const char *sql, const char *const *p, int n,
                            int64_t *count)
{
    struct store_res res;
    int rc = floe__store_exec(s, sql, p, n, &res);

    if (rc == 0)
        *count = (int64_t)res.rows;
    floe__store_res_free(&res);
    return rc;
}

/* The newest unexpired authorization between a and b (either way): *id and *expires, or 0. */
static int store_pair_authorization(struct floe_store *s, const char *const *pair, const char *now,
                                    int64_t *id, int64_t *expires)
{
    const char *p[3] = {pair[0], pair[1], now};
    struct store_res res;
    int rc = floe__store_exec(s,
                              "SELECT id, expires_at FROM authorizations WHERE ((client_id = $1"
                              " AND gateway_id = $2) OR (client_id = $2 AND gateway_id = $1))"
                              " AND expires_at > $3 ORDER BY expires_at DESC, id DESC LIMIT 1",
                              p, 3, &res);

    *id = *expires = 0;
    if (rc == 0 && res.rows > 0) {
        *id = floe__store_cell_int(&res, 0, 0);
        *expires = floe__store_cell_int(&res, 0, 1);
    }
    floe__store_res_free(&res);
    return rc;
}

/* The row itself: expiry from the ttl and the pair's authorization. */
static int store_held_insert(struct floe_store *s, const char *const *pair, bool invalidate,
                             const char *candidate, int64_t now, int64_t ttl)
{
    char nowt[24], exp[24], az[24];
    int64_t authz, authz_exp, expires = now + ttl;
    int rc = store_pair_authorization(s, pair, floe__store_int_text(nowt, now), &authz, &authz_exp);
    const char *p[7];

    if (rc < 0)
        return rc;
    if (authz && authz_exp < expires)
        expires = authz_exp;
    p[0] = pair[0];
    p[1] = pair[1];
    p[2] = authz ? floe__store_int_text(az, authz) : NULL;
    p[3] = invalidate ? "1" : "0";
    p[4] = candidate;
    p[5] = nowt;
    p[6] = floe__store_int_text(exp, expires);
    return floe__store_exec(s,
                            "INSERT INTO held_candidates(device_id, peer_id, authorization_id,"
                            " invalidate, candidate, created_at, expires_at)"
                            " VALUES($1, $2, $3, $4, $5, $6, $7)",
                            p, 7, NULL);
}

/* Delete the oldest rows over the limits; *dropped how many. */
static int store_held_bound(struct floe_store *s, const char *const *pair,
                            const struct floe_store_hold_limits *lim, int64_t *dropped)
{
    char per_peer[24], per_dev[24];
    const char *p[3] = {pair[0], pair[1], floe__store_int_text(per_peer, lim->per_peer)};
    const char *q[2] = {pair[0], floe__store_int_text(per_dev, lim->per_device)};
    int64_t a = 0, b = 0;
    int rc = store_count_rows(s,
                              "DELETE FROM held_candidates WHERE device_id = $1 AND peer_id = $2"
                              " AND id NOT IN (SELECT id FROM held_candidates WHERE device_id = $1"
                              " AND peer_id = $2 ORDER BY id DESC LIMIT $3) RETURNING id",
                              p, 3, &a);

    if (rc == 0)
        rc = store_count_rows(s,
                              "DELETE FROM held_candidates WHERE device_id = $1 AND id NOT IN"
                              " (SELECT id FROM held_candidates WHERE device_id = $1"
                              " ORDER BY id DESC LIMIT $2) RETURNING id",
                              q, 2, &b);
    *dropped = a + b;
    return rc;
}

/*
 * Inside the transaction: an invalidation first deletes the held announcements of its
 * candidate; a row of the same kind held already is a duplicate; else insert and bound.
 */
static int store_held_apply(struct floe_store *s, const char *const *pair, bool invalidate,
                            const char *candidate, int64_t now,
                            const struct floe_store_hold_limits *lim,
                            struct floe_store_hold_result *out)
{
    const char *p[4] = {pair[0], pair[1], candidate, "0"};
    int64_t n = 0;
    int rc = 0;

    if (invalidate) {
        rc = store_count_rows(s,
                              "DELETE FROM held_candidates WHERE device_id = $1 AND peer_id = $2"
                              " AND candidate = $3 AND invalidate = $4 RETURNING id",
                              p, 4, &n);
        out->cancelled = rc == 0 && n > 0;
        p[3] = "1";
    }
    if (rc == 0)
        rc = store_count_rows(s,
                              "SELECT id FROM held_candidates WHERE device_id = $1 AND peer_id = $2"
                              " AND candidate = $3 AND invalidate = $4 ORDER BY id DESC LIMIT 1",
                              p, 4, &n);
    out->duplicate = rc == 0 && n > 0;
    if (rc < 0 || n > 0)
        return rc;
    rc = store_held_insert(s, pair, invalidate, candidate, now, lim->ttl);
    out->held = rc == 0;
    return rc == 0 ? store_held_bound(s, pair, lim, &out->dropped) : rc;
}

int floe_store_held_add(struct floe_store *s, int64_t device_id, int64_t peer_id, bool invalidate,
                        const char *candidate, int64_t now,
                        const struct floe_store_hold_limits *lim,
                        struct floe_store_hold_result *out)
{
    char dt[24], pt[24];
    const char *pair[2] = {floe__store_int_text(dt, device_id), floe__store_int_text(pt, peer_id)};
    int rc;

    memset(out, 0, sizeof(*out));
    if (!store_candidate_ok(candidate))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad candidate to hold");
    if (!lim || lim->ttl <= 0 || lim->per_peer <= 0 || lim->per_device <= 0)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad hold limits");
    rc = floe__store_begin(s);
    if (rc < 0)
        return rc;
    rc = store_held_apply(s, pair, invalidate, candidate, now, lim, out);
    if (rc == 0)
        rc = floe__store_commit(s);
    if (rc < 0) {
        floe__store_rollback(s);
        memset(out, 0, sizeof(*out));
    }
    /* a foreign key refused the row: one of the devices is gone */
    if (rc == FLOE_ERR_IO && (strstr(floe_store_errmsg(s), "FOREIGN KEY") ||
                              strstr(floe_store_errmsg(s), "foreign key")))
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no such device");
    return rc;
}

static int store_held_cmp(const void *a, const void *b)
{
    const struct floe_store_held *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

int floe_store_held_take(struct floe_store *s, int64_t device_id, int64_t now,
                         struct floe_store_held **out, size_t *n, int64_t *expired)
{
    char dt[24], nowt[24];
    const char *p[2] = {floe__store_int_text(dt, device_id), floe__store_int_text(nowt, now)};
    struct store_res res;
    int rc = store_count_rows(
        s, "DELETE FROM held_candidates WHERE device_id = $1 AND expires_at <= $2 RETURNING id", p,
        2, expired);

    *out = NULL;
    *n = 0;
    if (rc == 0)
        rc = floe__store_exec(s,
                              "DELETE FROM held_candidates WHERE device_id = $1"
                              " RETURNING id, peer_id, invalidate, candidate",
                              p, 1, &res);
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < res.rows; i++) {
        (*out)[i].id = floe__store_cell_int(&res, i, 0);
        (*out)[i].peer_id = floe__store_cell_int(&res, i, 1);
        (*out)[i].invalidate = floe__store_cell_int(&res, i, 2) != 0;
        floe__store_copy((*out)[i].candidate, FLOE_STORE_CANDIDATE_MAX,
                         floe__store_cell(&res, i, 3));
    }
    *n = res.rows;
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), store_held_cmp);
    floe__store_res_free(&res);
    return 0;
}

int floe_store_held_expire(struct floe_store *s, int64_t now, int64_t *removed)
{
    char nowt[24];
    const char *p[1] = {floe__store_int_text(nowt, now)};
    int64_t n = 0;
    int rc = store_count_rows(s, "DELETE FROM held_candidates WHERE expires_at <= $1 RETURNING id",
                              p, 1, &n);

    if (rc == 0 && removed)
        *removed = n;
    return rc;
}
