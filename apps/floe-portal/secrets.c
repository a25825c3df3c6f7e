/* What the portal makes for devices: TURN REST credentials, preshared keys, ICE credentials. */
#include <stdio.h>
#include <string.h>

#include "floe/crypto.h"
#include "floe/relay.h"
#include "portald.h"

int portald_rest_cred_make(struct portald_rest_cred *out, const char *secret, const char *id,
                           uint64_t expires_at)
{
    int n;

    if (!out || !secret || !*secret || !id || !*id || strchr(id, ':'))
        return FLOE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    n = snprintf(out->username, sizeof(out->username), "%llu:%s", (unsigned long long)expires_at,
                 id);
    if (n < 0 || (size_t)n >= sizeof(out->username))
        return FLOE_ERR_INVALID_ARG;
    n = floe_turn_rest_password(out->password, sizeof(out->password), secret, out->username);
    if (n < 0)
        return n;
    out->expires_at = expires_at;
    return 0;
}

/* RFC 8445 section 5.3 (ice-char = ALPHA / DIGIT / "+" / "/"): 64 characters, no bias. */
static const char portald_ice_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int portald_ice_string(char *out, size_t len, const struct floe_rng *rng)
{
    uint8_t raw[64];
    int rc;

    if (len > sizeof(raw))
        return FLOE_ERR_INVALID_ARG;
    rc = floe_rng_fill(rng, raw, len);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i++)
        out[i] = portald_ice_chars[raw[i] & 63];
    out[len] = '\0';
    floe_wipe(raw, sizeof(raw));
    return 0;
}

static int portald_ice_cred_make(struct portald_ice_cred *c, const struct floe_rng *rng)
{
    int rc = portald_ice_string(c->username, PORTALD_UFRAG_LEN, rng);

    return rc < 0 ? rc : portald_ice_string(c->password, PORTALD_ICE_PWD_LEN, rng);
}

int portald_authz_secrets_make(struct portald_authz_secrets *s, const struct floe_rng *rng)
{
    uint8_t psk[32];
    int rc;

    if (!s || !rng || !rng->fill)
        return FLOE_ERR_INVALID_ARG;
    memset(s, 0, sizeof(*s));
    rc = floe_rng_fill(rng, psk, sizeof(psk));
    if (rc < 0)
        return rc;
    rc = floe_base64_encode(s->preshared_key, sizeof(s->preshared_key), psk, sizeof(psk));
    floe_wipe(psk, sizeof(psk));
    if (rc < 0)
        return rc;
    rc = portald_ice_cred_make(&s->client, rng);
    if (rc < 0)
        return rc;
    do {
        rc = portald_ice_cred_make(&s->gateway, rng);
    } while (rc == 0 && strcmp(s->client.username, s->gateway.username) == 0);
    return rc;
}
