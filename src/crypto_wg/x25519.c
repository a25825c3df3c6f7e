/* X25519 over OpenSSL's EVP_PKEY; the all-zero shared secret is refused. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/proverr.h>

#include "floe/crypto_wg.h"

void floe_x25519_clamp(uint8_t priv[FLOE_X25519_KEY_LEN])
{
    priv[0] &= 248;
    priv[31] &= 127;
    priv[31] |= 64;
}

static EVP_PKEY *x25519_private_pkey(const uint8_t priv[FLOE_X25519_KEY_LEN])
{
    return EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, FLOE_X25519_KEY_LEN);
}

int floe_x25519_public(uint8_t pub[FLOE_X25519_KEY_LEN], const uint8_t priv[FLOE_X25519_KEY_LEN])
{
    EVP_PKEY *key;
    size_t len = FLOE_X25519_KEY_LEN;
    int rc = FLOE_ERR_CRYPTO;

    if (!pub || !priv)
        return FLOE_ERR_INVALID_ARG;
    key = x25519_private_pkey(priv);
    if (key && EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == FLOE_X25519_KEY_LEN)
        rc = 0;
    EVP_PKEY_free(key);
    if (rc < 0)
        ERR_clear_error();
    return rc;
}

int floe_x25519_keypair(uint8_t pub[FLOE_X25519_KEY_LEN], uint8_t priv[FLOE_X25519_KEY_LEN],
                        const struct floe_rng *rng)
{
    int rc;

    if (!pub || !priv || !rng || !rng->fill)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_rng_fill(rng, priv, FLOE_X25519_KEY_LEN);
    if (rc < 0)
        return rc;
    floe_x25519_clamp(priv);
    rc = floe_x25519_public(pub, priv);
    if (rc < 0) {
        floe_wipe(priv, FLOE_X25519_KEY_LEN);
        floe_wipe(pub, FLOE_X25519_KEY_LEN);
    }
    return rc;
}

/*
 * OpenSSL's X25519 itself refuses an all-zero result (RFC 7748 section 6.1 check) and
 * reports it as PROV_R_FAILED_DURING_DERIVATION; anything else is a library failure.
 */
static int x25519_derive_error(void)
{
    unsigned long e = ERR_peek_last_error();
    int rc = FLOE_ERR_CRYPTO;

    if (ERR_GET_LIB(e) == ERR_LIB_PROV && ERR_GET_REASON(e) == PROV_R_FAILED_DURING_DERIVATION)
        rc = FLOE_ERR_WEAK_KEY;
    ERR_clear_error();
    return rc;
}

static int x25519_derive(uint8_t shared[FLOE_X25519_KEY_LEN], EVP_PKEY *mine, EVP_PKEY *peer)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    size_t len = FLOE_X25519_KEY_LEN;
    int rc = FLOE_ERR_CRYPTO;

    if (!ctx)
        return FLOE_ERR_NOMEM;
    if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1)
        goto out;
    if (EVP_PKEY_derive(ctx, shared, &len) != 1) {
        rc = x25519_derive_error();
        goto out;
    }
    if (len == FLOE_X25519_KEY_LEN)
        rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int floe_x25519_shared(uint8_t shared[FLOE_X25519_KEY_LEN],
                       const uint8_t priv[FLOE_X25519_KEY_LEN],
                       const uint8_t peer_pub[FLOE_X25519_KEY_LEN])
{
    static const uint8_t zero[FLOE_X25519_KEY_LEN];
    EVP_PKEY *mine, *peer;
    int rc = FLOE_ERR_CRYPTO;

    if (!shared || !priv || !peer_pub)
        return FLOE_ERR_INVALID_ARG;
    mine = x25519_private_pkey(priv);
    peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, FLOE_X25519_KEY_LEN);
    if (mine && peer)
        rc = x25519_derive(shared, mine, peer);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
    /* Belt and braces: never hand out the all-zero secret, whatever the library did. */
    if (rc == 0 && floe_ct_eq(shared, zero, FLOE_X25519_KEY_LEN))
        rc = FLOE_ERR_WEAK_KEY;
    if (rc < 0) {
        floe_wipe(shared, FLOE_X25519_KEY_LEN);
        ERR_clear_error();
    }
    return rc;
}
