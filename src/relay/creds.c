/*
 * Credentials replaced while the relay runs (floe_relay_set_credentials): the REST secret
 * and the static users copied into the core, and the previous secret accepted for a grace
 * window after a rotation.
 */
#include <string.h>

#include "relay_int.h"

/* Check everything before anything changes. */
static int creds_check(const char *secret, const struct floe_relay_user *users, size_t n)
{
    size_t i;

    if ((!secret && !n) || n > FLOE_RELAY_MAX_USERS || (n && !users))
        return FLOE_ERR_INVALID_ARG;
    if (secret && (!*secret || strlen(secret) >= FLOE_RELAY_SECRET_MAX))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        if (!users[i].name || !users[i].password || !*users[i].name ||
            strlen(users[i].name) >= RELAY_USERNAME_MAX)
            return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}

/* The users' keys into a scratch table first, so a failure changes nothing. */
static int creds_user_keys(const struct floe_relay *r, const struct floe_relay_user *users,
                           size_t n, uint8_t keys[][FLOE_MD5_LEN])
{
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        rc = floe_stun_long_term_key_md5(
            keys[i], floe_span_make(users[i].name, strlen(users[i].name)),
            floe_span_make(r->cfg.realm, strlen(r->cfg.realm)),
            floe_span_make(users[i].password, strlen(users[i].password)));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Keep the secret being replaced, accepted until now + grace. */
static void creds_keep_previous(struct floe_relay *r, floe_time now, const char *next,
                                floe_time grace)
{
    const char *cur = r->cfg.auth_secret;

    if (!cur || (next && strcmp(cur, next) == 0))
        return; /* unchanged: nothing to keep (a previous one stays as it was) */
    if (!grace || strlen(cur) >= sizeof(r->prev_secret)) {
        floe_wipe(r->prev_secret, sizeof(r->prev_secret));
        r->prev_until = 0;
        return;
    }
    memmove(r->prev_secret, cur, strlen(cur) + 1);
    r->prev_until = floe_time_add(now, grace);
}

int floe_relay_set_credentials(struct floe_relay *r, floe_time now, const char *auth_secret,
                               const struct floe_relay_user *users, size_t n_users, floe_time grace)
{
    uint8_t keys[FLOE_RELAY_MAX_USERS][FLOE_MD5_LEN];
    size_t i;
    int rc;

    if (!r || creds_check(auth_secret, users, n_users) < 0)
        return FLOE_ERR_INVALID_ARG;
    rc = creds_user_keys(r, users, n_users, keys);
    if (rc < 0) {
        floe_wipe(keys, sizeof(keys));
        return rc;
    }
    creds_keep_previous(r, now, auth_secret, grace);
    floe_wipe(r->secret, sizeof(r->secret));
    if (auth_secret)
        memcpy(r->secret, auth_secret, strlen(auth_secret) + 1);
    r->cfg.auth_secret = auth_secret ? r->secret : NULL;
    for (i = 0; i < n_users; i++) {
        memcpy(r->user_names[i], users[i].name, strlen(users[i].name) + 1);
        r->cfg.users[i].name = r->user_names[i];
        r->cfg.users[i].password = NULL; /* only the key is kept */
        memcpy(r->user_keys[i], keys[i], FLOE_MD5_LEN);
    }
    r->cfg.n_users = n_users;
    floe_wipe(keys, sizeof(keys));
    return 0;
}

/*
 * After the current credentials failed for q: whether q's REST username is good under the
 * previous secret, still inside its grace window (key then holds its key).
 */
bool floe__relay_previous_secret_ok(struct floe_relay *r, floe_time now, const struct relay_req *q,
                                    uint8_t key[FLOE_MD5_LEN])
{
    if (!r->prev_until || now >= r->prev_until)
        return false;
    if (floe__relay_rest_key(r, r->prev_secret, q->username, key) < 0)
        return false;
    return floe_stun_verify_integrity_key(q->msg, key, FLOE_MD5_LEN) == 0;
}
