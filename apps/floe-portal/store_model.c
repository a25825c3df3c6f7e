/* Configuration writes (each with its changes row in the same transaction) and listings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/crypto.h"
#include "model.h"
#include "store_int.h"

static const char *store_now(char buf[24])
{
    return floe__store_int_text(buf, (int64_t)time(NULL));
}

/* The messages of a write's errors: a referenced id missing, a unique value taken. */
struct store_why {
    const char *missing, *taken;
    const char *revoke; /* NULL, or the condition on authorizations (a) a removal revokes */
    int64_t revoke_id;  /* its $1 */
};

/*
 * One configuration write: sql (RETURNING the id that goes to *id and to the payload
 * {"key":id}) and its change row, in one transaction.
 */
static int store_write(struct floe_store *s, const char *sql, const char *const *p, int n,
                       int64_t *id, const char *kind, const char *key, struct store_why why)
{
    char payload[96];
    int64_t got = 0;
    int rc = floe__store_begin(s);

    /* a removal that takes authorizations with it records them as revoked first */
    if (rc == 0 && why.revoke)
        rc = floe__store_revoke_where(s, why.revoke, why.revoke_id, (int64_t)time(NULL));
    if (rc == 0)
        rc = floe__store_exec_int(s, sql, p, n, &got);
    if (rc == 0) {
        snprintf(payload, sizeof(payload), "{\"%s\":%lld}", key, (long long)got);
        rc = floe__store_change(s, kind, payload);
    }
    if (rc == 0)
        rc = floe__store_commit(s);
    if (rc < 0) {
        floe__store_rollback(s);
        if (rc == FLOE_ERR_NOT_FOUND)
            return floe__store_fail(s, rc, "%s", why.missing ? why.missing : "not found");
        if (rc == FLOE_ERR_STATE)
            return floe__store_fail(s, rc, "%s", why.taken ? why.taken : "already exists");
        return rc;
    }
    if (id)
        *id = got;
    return 0;
}

/* Delete by id from table with its change row, revoking the authorizations revoke names. */
static int store_remove_revoking(struct floe_store *s, const char *sql, int64_t id,
                                 const char *kind, const char *key, const char *what,
                                 const char *revoke)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, id)};
    char missing[64];

    snprintf(missing, sizeof(missing), "no %s with id %s", what, idt);
    return store_write(s, sql, p, 1, NULL, kind, key,
                       (struct store_why){.missing = missing, .revoke = revoke, .revoke_id = id});
}

/* Delete by id from table with its change row; NOT_FOUND when no such row. */
static int store_remove(struct floe_store *s, const char *sql, int64_t id, const char *kind,
                        const char *key, const char *what)
{
    return store_remove_revoking(s, sql, id, kind, key, what, NULL);
}

static int store_named_add(struct floe_store *s, const char *sql, const char *name, int64_t *id,
                           const char *kind, const char *key, const char *what)
{
    char now[24], taken[128];
    const char *p[2] = {name, store_now(now)};

    if (!floe_model_name_ok(name))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG,
                                "%s name must be 1..%d characters, no control characters", what,
                                FLOE_STORE_NAME_MAX);
    snprintf(taken, sizeof(taken), "a %s named '%s' already exists", what, name);
    return store_write(s, sql, p, 2, id, kind, key,
                       (struct store_why){.missing = NULL, .taken = taken});
}

int floe_store_site_add(struct floe_store *s, const char *name, int64_t *id)
{
    return store_named_add(s, "INSERT INTO sites(name, created_at) VALUES($1, $2) RETURNING id",
                           name, id, "site_created", "site_id", "site");
}

int floe_store_site_remove(struct floe_store *s, int64_t id)
{
    return store_remove(s, "DELETE FROM sites WHERE id = $1 RETURNING id", id, "site_deleted",
                        "site_id", "site");
}

int floe_store_user_add(struct floe_store *s, const char *name, int64_t *id)
{
    return store_named_add(s, "INSERT INTO users(name, created_at) VALUES($1, $2) RETURNING id",
                           name, id, "user_created", "user_id", "user");
}

int floe_store_user_remove(struct floe_store *s, int64_t id)
{
    return store_remove_revoking(s, "DELETE FROM users WHERE id = $1 RETURNING id", id,
                                 "user_deleted", "user_id", "user",
                                 "a.client_id IN (SELECT id FROM devices WHERE user_id = $1)");
}

int floe_store_group_add(struct floe_store *s, const char *name, int64_t *id)
{
    return store_named_add(s,
                           "INSERT INTO user_groups(name, created_at) VALUES($1, $2) RETURNING id",
                           name, id, "group_created", "group_id", "group");
}

int floe_store_group_remove(struct floe_store *s, int64_t id)
{
    return store_remove(s, "DELETE FROM user_groups WHERE id = $1 RETURNING id", id,
                        "group_deleted", "group_id", "group");
}

/* A token of kind for owner (a site or a user): a random secret, its hash stored. */
static int store_token_add(struct floe_store *s, enum floe_store_device_kind kind, int64_t owner,
                           int64_t *id, char *token, size_t cap)
{
    uint8_t secret[FLOE_STORE_TOKEN_BYTES];
    char hash[65], ownt[24], now[24], missing[64];
    const char *p[3] = {hash, floe__store_int_text(ownt, owner), store_now(now)};
    const char *sql = kind == FLOE_STORE_GATEWAY
                          ? "INSERT INTO tokens(kind, site_id, hash, created_at)"
                            " VALUES(2, $2, $1, $3) RETURNING id"
                          : "INSERT INTO tokens(kind, user_id, hash, created_at)"
                            " VALUES(1, $2, $1, $3) RETURNING id";
    int rc;

    if (!token || cap < FLOE_STORE_TOKEN_STRLEN)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "token buffer too small");
    if (floe_crypto_random(secret, sizeof(secret)) < 0 || floe_model_token_hash(secret, hash) < 0)
        return floe__store_fail(s, FLOE_ERR_CRYPTO, "no random bytes for a token");
    snprintf(missing, sizeof(missing), "no %s with id %s",
             kind == FLOE_STORE_GATEWAY ? "site" : "user", ownt);
    rc = store_write(s, sql, p, 3, id, "token_created", "token_id",
                     (struct store_why){.missing = missing, .taken = NULL});
    if (rc == 0)
        rc = floe_model_token_format(*id, secret, token, cap);
    floe_wipe(secret, sizeof(secret));
    return rc;
}

int floe_store_site_token_add(struct floe_store *s, int64_t site_id, int64_t *id, char *token,
                              size_t cap)
{
    return store_token_add(s, FLOE_STORE_GATEWAY, site_id, id, token, cap);
}

int floe_store_client_token_add(struct floe_store *s, int64_t user_id, int64_t *id, char *token,
                                size_t cap)
{
    return store_token_add(s, FLOE_STORE_CLIENT, user_id, id, token, cap);
}

int floe_store_token_remove(struct floe_store *s, int64_t id)
{
    return store_remove(s, "DELETE FROM tokens WHERE id = $1 RETURNING id", id, "token_deleted",
                        "token_id", "token");
}

/* Validate r in place: name, CIDR (normalised), filters. */
static int store_resource_check(struct floe_store *s, struct floe_store_resource *r)
{
    char cidr[FLOE_STORE_CIDR_STRLEN], msg[160];
    size_t i;

    if (!floe_model_name_ok(r->name))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG,
                                "resource name must be 1..%d characters, no control characters",
                                FLOE_STORE_NAME_MAX);
    if (floe_model_cidr_normalize(r->cidr, cidr, sizeof(cidr), msg, sizeof(msg)) < 0)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "%s", msg);
    memcpy(r->cidr, cidr, sizeof(cidr));
    if (r->n_filters > FLOE_STORE_FILTERS_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "too many filters");
    for (i = 0; i < r->n_filters; i++) {
        const struct floe_store_filter *f = &r->filters[i];
        bool icmp = f->proto == FLOE_STORE_PROTO_ICMP;

        if ((f->proto != FLOE_STORE_PROTO_TCP && f->proto != FLOE_STORE_PROTO_UDP && !icmp) ||
            (icmp && f->port_lo) || f->port_lo > f->port_hi || (!f->port_lo && f->port_hi))
            return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "filter %zu is not valid", i + 1);
    }
    return 0;
}

int floe_store_resource_add(struct floe_store *s, struct floe_store_resource *r, int64_t *id)
{
    char filters[FLOE_STORE_FILTERS_MAX * 20], site[24], now[24];
    const char *p[5] = {floe__store_int_text(site, r->site_id), r->name, r->cidr, filters,
                        store_now(now)};
    int rc = store_resource_check(s, r);

    if (rc == 0 && floe_model_filters_format(r->filters, r->n_filters, filters, sizeof(filters)))
        rc = floe__store_fail(s, FLOE_ERR_INVALID_ARG, "filters too long");
    if (rc < 0)
        return rc;
    return store_write(s,
                       "INSERT INTO resources(site_id, name, cidr, filters, created_at)"
                       " VALUES($1, $2, $3, $4, $5) RETURNING id",
                       p, 5, id, "resource_created", "resource_id",
                       (struct store_why){.missing = "no site with that id",
                                          .taken = "a resource with that name exists in the site"});
}

int floe_store_resource_remove(struct floe_store *s, int64_t id)
{
    return store_remove_revoking(s, "DELETE FROM resources WHERE id = $1 RETURNING id", id,
                                 "resource_deleted", "resource_id", "resource",
                                 "a.resource_id = $1");
}

/* Membership writes: a change payload with both ids. */
static int store_member(struct floe_store *s, const char *sql, int64_t group_id, int64_t user_id,
                        const char *kind)
{
    char g[24], u[24], payload[96];
    const char *p[2] = {floe__store_int_text(g, group_id), floe__store_int_text(u, user_id)};
    int64_t got;
    int rc = floe__store_begin(s);

    if (rc == 0)
        rc = floe__store_exec_int(s, sql, p, 2, &got);
    snprintf(payload, sizeof(payload), "{\"group_id\":%s,\"user_id\":%s}", g, u);
    if (rc == 0)
        rc = floe__store_change(s, kind, payload);
    if (rc == 0)
        rc = floe__store_commit(s);
    if (rc < 0) {
        floe__store_rollback(s);
        if (rc == FLOE_ERR_NOT_FOUND)
            return floe__store_fail(s, rc, "no such group, user or membership");
        if (rc == FLOE_ERR_STATE)
            return floe__store_fail(s, rc, "user %s is already in group %s", u, g);
    }
    return rc;
}

int floe_store_member_add(struct floe_store *s, int64_t group_id, int64_t user_id)
{
    return store_member(s,
                        "INSERT INTO memberships(group_id, user_id) VALUES($1, $2)"
                        " RETURNING group_id",
                        group_id, user_id, "member_added");
}

int floe_store_member_remove(struct floe_store *s, int64_t group_id, int64_t user_id)
{
    return store_member(s,
                        "DELETE FROM memberships WHERE group_id = $1 AND user_id = $2"
                        " RETURNING group_id",
                        group_id, user_id, "member_removed");
}

int floe_store_policy_add(struct floe_store *s, int64_t group_id, int64_t resource_id, int64_t *id)
{
    char g[24], r[24], now[24];
    const char *p[3] = {floe__store_int_text(g, group_id), floe__store_int_text(r, resource_id),
                        store_now(now)};

    return store_write(
        s,
        "INSERT INTO policies(group_id, resource_id, created_at)"
        " VALUES($1, $2, $3) RETURNING id",
        p, 3, id, "policy_created", "policy_id",
        (struct store_why){.missing = "no group or no resource with that id",
                           .taken = "that group already has a policy for that resource"});
}

int floe_store_policy_remove(struct floe_store *s, int64_t id)
{
    return store_remove(s, "DELETE FROM policies WHERE id = $1 RETURNING id", id, "policy_deleted",
                        "policy_id", "policy");
}

int floe_store_relay_add(struct floe_store *s, const char *address, const char *secret, int64_t *id)
{
    char msg[160], now[24];
    const char *p[3] = {address, secret, store_now(now)};

    if (floe_model_relay_address_ok(address, msg, sizeof(msg)) < 0)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "%s", msg);
    if (!floe_model_secret_ok(secret))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG,
                                "relay secret must be 1..%d printable characters, no spaces",
                                FLOE_STORE_SECRET_MAX - 1);
    return store_write(
        s,
        "INSERT INTO relays(address, secret, created_at) VALUES($1, $2, $3)"
        " RETURNING id",
        p, 3, id, "relay_created", "relay_id",
        (struct store_why){.missing = NULL, .taken = "a relay with that address exists"});
}

int floe_store_relay_remove(struct floe_store *s, int64_t id)
{
    return store_remove(s, "DELETE FROM relays WHERE id = $1 RETURNING id", id, "relay_deleted",
                        "relay_id", "relay");
}

int floe_store_device_remove(struct floe_store *s, int64_t id)
{
    return store_remove_revoking(s, "DELETE FROM devices WHERE id = $1 RETURNING id", id,
                                 "device_deleted", "device_id", "device", "a.client_id = $1");
}

int floe_store_relays(struct floe_store *s, struct floe_store_relay **out, size_t *n)
{
    struct store_res res;
    size_t i;
    int rc =
        floe__store_exec(s, "SELECT id, address, secret FROM relays ORDER BY id", NULL, 0, &res);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    *out = floe__store_rows_alloc(s, &res, sizeof(**out), &rc);
    if (rc < 0)
        return rc;
    for (i = 0; i < res.rows; i++) {
        (*out)[i].id = floe__store_cell_int(&res, i, 0);
        floe__store_copy((*out)[i].address, sizeof((*out)[i].address),
                         floe__store_cell(&res, i, 1));
        floe__store_copy((*out)[i].secret, sizeof((*out)[i].secret), floe__store_cell(&res, i, 2));
    }
    *n = res.rows;
    floe__store_res_free(&res);
    return 0;
}
