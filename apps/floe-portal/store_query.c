/* The daemon's queries: tokens, devices and their addresses, resources, presence, changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/crypto.h"
#include "model.h"
#include "store_int.h"

#define STORE_ALLOC_TRIES 64

int floe_store_token_authenticate(struct floe_store *s, const char *token,
                                  struct floe_store_token_info *out)
{
    uint8_t secret[FLOE_STORE_TOKEN_BYTES];
    char hash[65], idt[24];
    const char *p[1];
    const char *stored;
    struct store_res res;
    int64_t id;
    int rc;

    if (floe_model_token_parse(token, &id, secret) < 0)
        return floe__store_fail(s, FLOE_ERR_NOT_FOUND, "token refused");
    rc = floe_model_token_hash(secret, hash);
    floe_wipe(secret, sizeof(secret));
    if (rc < 0)
        return floe__store_fail(s, rc, "cannot hash token");
    p[0] = floe__store_int_text(idt, id);
    rc = floe__store_exec(s, "SELECT kind, site_id, user_id, hash FROM tokens WHERE id = $1", p, 1,
                          &res);
    if (rc < 0)
        return rc;
    stored = floe__store_cell(&res, 0, 3);
    if (!stored || strlen(stored) != 64 || !floe_ct_eq(stored, hash, 64)) {
        floe__store_res_free(&res);
        return floe__store_fail(s, FLOE_ERR_NOT_FOUND, "token refused");
    }
    out->token_id = id;
    out->kind = (enum floe_store_device_kind)floe__store_cell_int(&res, 0, 0);
    out->site_id = floe__store_cell_int(&res, 0, 1);
    out->user_id = floe__store_cell_int(&res, 0, 2);
    floe__store_res_free(&res);
    return 0;
}

void floe__store_device_row(const struct store_res *res, size_t i, struct floe_store_device *d)
{
    memset(d, 0, sizeof(*d));
    d->id = floe__store_cell_int(res, i, 0);
    d->kind = (enum floe_store_device_kind)floe__store_cell_int(res, i, 1);
    d->site_id = floe__store_cell_int(res, i, 2);
    d->user_id = floe__store_cell_int(res, i, 3);
    floe__store_copy(d->name, sizeof(d->name), floe__store_cell(res, i, 4));
    floe__store_copy(d->public_key, sizeof(d->public_key), floe__store_cell(res, i, 5));
    floe__store_copy(d->ipv4, sizeof(d->ipv4), floe__store_cell(res, i, 6));
    floe__store_copy(d->ipv6, sizeof(d->ipv6), floe__store_cell(res, i, 7));
}

int floe_store_device_get(struct floe_store *s, int64_t id, struct floe_store_device *out)
{
    char idt[24];
    const char *p[1] = {floe__store_int_text(idt, id)};
    struct store_res res;
    int rc = floe__store_exec(s,
                              "SELECT " STORE_DEVICE_COLS " FROM devices d"
                              " LEFT JOIN addresses a ON a.device_id = d.id WHERE d.id = $1",
                              p, 1, &res);

    if (rc < 0)
        return rc;
    if (res.rows == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no device %lld", (long long)id);
    else
        floe__store_device_row(&res, 0, out);
    floe__store_res_free(&res);
    return rc;
}

/* The next candidate index: after the highest in use, or at random once the pool's end is hit. */
static int store_alloc_candidate(struct floe_store *s, int64_t *idx)
{
    uint8_t r[4];
    int64_t top = 0;
    int rc = floe__store_exec_int(s, "SELECT COALESCE(MAX(idx), 0) FROM addresses", NULL, 0, &top);

    if (rc < 0)
        return rc;
    if (top < FLOE_MODEL_POOL_MAX) {
        *idx = top + 1;
        return 0;
    }
    if (floe_crypto_random(r, sizeof(r)) < 0)
        return floe__store_fail(s, FLOE_ERR_CRYPTO, "no random bytes");
    *idx = 1 + (int64_t)(floe_load_be32(r) % (uint32_t)FLOE_MODEL_POOL_MAX);
    return 0;
}

/*
 * Give device_id its addresses unless it has them. Each try inserts a candidate with ON
 * CONFLICT DO NOTHING: an address another instance took in between (or the device's own row
 * made by another instance) inserts nothing, and the loop looks again.
 */
static int store_alloc(struct floe_store *s, int64_t device_id)
{
    char idt[24], idxt[24], v4[16], v6[48];
    const char *p[4] = {floe__store_int_text(idt, device_id), idxt, v4, v6};
    int64_t idx = 0, got;
    int tries, rc;

    for (tries = 0; tries < STORE_ALLOC_TRIES; tries++) {
        rc = floe__store_exec_int(s, "SELECT idx FROM addresses WHERE device_id = $1", p, 1, &got);
        if (rc != FLOE_ERR_NOT_FOUND)
            return rc;
        rc = store_alloc_candidate(s, &idx);
        if (rc == 0)
            rc = floe_model_pool_address(idx, v4, v6);
        if (rc < 0)
            return rc;
        floe__store_int_text(idxt, idx);
        rc = floe__store_exec_int(s,
                                  "INSERT INTO addresses(device_id, idx, ipv4, ipv6)"
                                  " VALUES($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING idx",
                                  p, 4, &got);
        if (rc != FLOE_ERR_NOT_FOUND)
            return rc;
        s->alloc_retries++;
    }
    return floe__store_fail(s, FLOE_ERR_STATE, "no free tunnel address after %d tries", tries);
}

/* Insert the device (nothing if its key exists) and load the row of that key. */
static int store_device_row_of_key(struct floe_store *s, const struct floe_store_token_info *o,
                                   const char *key, const char *name, struct floe_store_device *out)
{
    char kind[24], owner[24], now[24];
    const char *p[5] = {floe__store_int_text(kind, o->kind), owner, name, key,
                        floe__store_int_text(now, (int64_t)time(NULL))};
    const char *sql = o->kind == FLOE_STORE_GATEWAY
                          ? "INSERT INTO devices(kind, site_id, name, public_key, created_at)"
                            " VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                          : "INSERT INTO devices(kind, user_id, name, public_key, created_at)"
                            " VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    struct store_res res;
    int rc;

    floe__store_int_text(owner, o->kind == FLOE_STORE_GATEWAY ? o->site_id : o->user_id);
    rc = floe__store_exec(s, sql, p, 5, NULL);
    if (rc == 0)
        rc = floe__store_exec(s,
                              "SELECT " STORE_DEVICE_COLS " FROM devices d LEFT JOIN addresses a"
                              " ON a.device_id = d.id WHERE d.public_key = $1",
                              &p[3], 1, &res);
    if (rc < 0)
        return rc;
    if (res.rows == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "device removed meanwhile");
    else
        floe__store_device_row(&res, 0, out);
    floe__store_res_free(&res);
    return rc;
}

int floe_store_device_upsert(struct floe_store *s, const struct floe_store_token_info *owner,
                             const char *public_key, const char *name,
                             struct floe_store_device *out)
{
    bool same;
    int rc;

    if (!floe_model_public_key_ok(public_key))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "public key is not base64 of 32 bytes");
    if (!name || !name[0])
        name = public_key;
    if (!floe_model_name_ok(name))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad device name");
    if (owner->kind != FLOE_STORE_CLIENT && owner->kind != FLOE_STORE_GATEWAY)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad owner kind");
    rc = store_device_row_of_key(s, owner, public_key, name, out);
    if (rc < 0)
        return rc;
    same = out->kind == owner->kind &&
           (owner->kind == FLOE_STORE_GATEWAY ? out->site_id == owner->site_id
                                              : out->user_id == owner->user_id);
    if (!same)
        return floe__store_fail(s, FLOE_ERR_STATE, "public key belongs to another device");
    if (out->ipv4[0])
        return 0;
    rc = store_alloc(s, out->id);
    return rc < 0 ? rc : floe_store_device_get(s, out->id, out);
}
