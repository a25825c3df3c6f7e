/*
 * Long-term credentials (RFC 8489 section 9.2) for the relay: stateless nonces,
 * static users and coturn's time-limited REST credentials (use-auth-secret).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_int.h"

int floe__relay_auth_init(struct floe_relay *r)
{
    uint8_t secret[32];
    size_t i;
    int rc;

    rc = floe_rng_fill(&r->cfg.rng, secret, sizeof(secret));
    if (rc < 0)
        return rc;
    rc = floe_hmac_new(&r->nonce_mac, &r->cfg.alloc, FLOE_HMAC_SHA1, secret, sizeof(secret));
    floe_wipe(secret, sizeof(secret));
    if (rc < 0)
        return rc;
    for (i = 0; i < r->cfg.n_users; i++) {
        const struct floe_relay_user *u = &r->cfg.users[i];

        rc = floe_stun_long_term_key_md5(r->user_keys[i], floe_span_make(u->name, strlen(u->name)),
                                         floe_span_make(r->cfg.realm, strlen(r->cfg.realm)),
                                         floe_span_make(u->password, strlen(u->password)));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * MAC of a nonce's issue time. The nonce is not bound to the client's address: a client that
 * roamed (new address, same credentials) re-allocates with the nonce it holds, without a 438
 * round trip. Replaying a captured request from another address gains nothing the nonce's
 * binding would stop: MESSAGE-INTEGRITY covers the request, and an Allocate replayed from a
 * spoofed source gets an answer no larger than itself, counted in the user's quota.
 */
static int nonce_mac(struct floe_relay *r, uint32_t issued, uint8_t mac[FLOE_SHA1_LEN])
{
    uint8_t t[4];
    struct floe_span parts[1] = {{t, 4}};

    floe_store_be32(t, issued);
    return floe_hmac_compute(r->nonce_mac, mac, parts, 1);
}

static uint32_t nonce_now(floe_time now)
{
    return (uint32_t)(now / FLOE_SEC(1));
}

/* A fresh nonce: 8 hex digits of issue time, 24 of MAC. */
static int nonce_make(struct floe_relay *r, floe_time now, char out[RELAY_NONCE_LEN + 1])
{
    uint8_t mac[FLOE_SHA1_LEN];
    uint32_t issued = nonce_now(now);
    int i, rc = nonce_mac(r, issued, mac);

    if (rc < 0)
        return rc;
    snprintf(out, RELAY_NONCE_LEN + 1, "%08x", issued);
    for (i = 0; i < 12; i++)
        snprintf(out + 8 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static bool nonce_valid(struct floe_relay *r, floe_time now, struct floe_span nonce)
{
    char expect[RELAY_NONCE_LEN + 1], issued_hex[9];
    uint32_t issued;

    if (nonce.len != RELAY_NONCE_LEN)
        return false;
    memcpy(issued_hex, nonce.ptr, 8);
    issued_hex[8] = '\0';
    issued = (uint32_t)strtoul(issued_hex, NULL, 16);
    if (issued > nonce_now(now) ||
        (floe_time)(nonce_now(now) - issued) * FLOE_SEC(1) >= r->cfg.nonce_lifetime)
        return false;
    if (nonce_make(r, (floe_time)issued * FLOE_SEC(1), expect) < 0)
        return false;
    return floe_ct_eq(expect, nonce.ptr, RELAY_NONCE_LEN);
}

/* 401 or 438 with REALM and a fresh NONCE; dropped when over the rate limit. */
static long auth_challenge(struct floe_relay *r, floe_time now, struct relay_req *q, int code)
{
    struct floe_stun_builder b;
    char nonce[RELAY_NONCE_LEN + 1];

    if (!floe__relay_take_unauth_token(r, now, q->from))
        return 0;
    if (nonce_make(r, now, nonce) < 0)
        return 0;
    floe__relay_answer_start(&b, q, FLOE_STUN_ERROR);
    floe_stun_add_error(&b, code,
                        code == FLOE_TURN_ERR_STALE_NONCE ? "Stale Nonce" : "Unauthorized");
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, r->cfg.realm, strlen(r->cfg.realm));
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, nonce, RELAY_NONCE_LEN);
    r->stats.error_responses++;
    return floe__relay_answer_finish(r, &b, q, NULL, q->msg->fingerprint_idx >= 0);
}

/* REST username "expiry:id" under secret: valid while expiry (Unix seconds) is in the future. */
int floe__relay_rest_key(struct floe_relay *r, const char *secret, const char *user,
                         uint8_t key[FLOE_MD5_LEN])
{
    char password[64], *end;
    long long expiry = strtoll(user, &end, 10);
    int n;

    if (end == user || (*end != ':' && *end != '\0') || expiry < r->unix_now)
        return FLOE_ERR_NOT_FOUND;
    n = floe_turn_rest_password(password, sizeof(password), secret, user);
    if (n < 0)
        return n;
    return floe_stun_long_term_key_md5(key, floe_span_make(user, strlen(user)),
                                       floe_span_make(r->cfg.realm, strlen(r->cfg.realm)),
                                       floe_span_make(password, (size_t)n));
}

static int auth_lookup_key(struct floe_relay *r, const char *user, uint8_t key[FLOE_MD5_LEN])
{
    size_t i;

    for (i = 0; i < r->cfg.n_users; i++) {
        if (strcmp(r->cfg.users[i].name, user) == 0) {
            memcpy(key, r->user_keys[i], FLOE_MD5_LEN);
            return 0;
        }
    }
    if (r->cfg.auth_secret)
        return floe__relay_rest_key(r, r->cfg.auth_secret, user, key);
    return FLOE_ERR_NOT_FOUND;
}

static bool auth_span_to_str(struct floe_span s, char *out, size_t cap)
{
    if (s.len >= cap || memchr(s.ptr, '\0', s.len))
        return false;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return true;
}

/*
 * Authenticate q. Returns 1 with key and q->username set when the request may
 * proceed; otherwise the length of the answer written (401, 438, 400), or 0
 * when it is dropped.
 */
long floe__relay_authenticate(struct floe_relay *r, floe_time now, struct relay_req *q,
                              uint8_t key[FLOE_MD5_LEN])
{
    struct floe_span user, realm, nonce;

    if (q->msg->integrity_idx < 0)
        return auth_challenge(r, now, q, FLOE_TURN_ERR_UNAUTHORIZED);
    if (floe_stun_get_span(q->msg, FLOE_STUN_ATTR_USERNAME, &user) < 0 ||
        floe_stun_get_span(q->msg, FLOE_STUN_ATTR_REALM, &realm) < 0 ||
        floe_stun_get_span(q->msg, FLOE_STUN_ATTR_NONCE, &nonce) < 0 ||
        !auth_span_to_str(user, q->username, sizeof(q->username)))
        return floe__relay_answer_unauth_error(r, now, q, FLOE_TURN_ERR_BAD_REQUEST, "Bad Request");
    if (!nonce_valid(r, now, nonce))
        return auth_challenge(r, now, q, FLOE_TURN_ERR_STALE_NONCE);
    if (realm.len != strlen(r->cfg.realm) || memcmp(realm.ptr, r->cfg.realm, realm.len) != 0 ||
        ((auth_lookup_key(r, q->username, key) < 0 ||
          floe_stun_verify_integrity_key(q->msg, key, FLOE_MD5_LEN) != 0) &&
         !floe__relay_previous_secret_ok(r, now, q, key))) {
        r->stats.auth_failures++;
        return auth_challenge(r, now, q, FLOE_TURN_ERR_UNAUTHORIZED);
    }
    return 1;
}

int floe_turn_rest_password(char *out, size_t cap, const char *secret, const char *username)
{
    uint8_t mac[FLOE_SHA1_LEN];
    int rc;

    if (!out || !secret || !username)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_hmac_oneshot(FLOE_HMAC_SHA1, mac, (const uint8_t *)secret, strlen(secret),
                           (const uint8_t *)username, strlen(username));
    if (rc < 0)
        return rc;
    return floe_base64_encode(out, cap, mac, sizeof(mac));
}
