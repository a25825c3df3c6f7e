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

struct floe_x25519_key {
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *derive; /* derive-initialised once; per DH only the peer changes */
    const struct floe_allocator *alloc;
};

int floe_x25519_key_new(struct floe_x25519_key **out, const struct floe_allocator *alloc,
                        const uint8_t priv[FLOE_X25519_KEY_LEN])
{
    struct floe_x25519_key *k;

    if (!out || !priv)
        return FLOE_ERR_INVALID_ARG;
    k = floe_mem_calloc(alloc, 1, sizeof(*k));
    if (!k)
        return FLOE_ERR_NOMEM;
    k->alloc = alloc;
    k->pkey = x25519_private_pkey(priv);
    if (k->pkey)
        k->derive = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!k->derive || EVP_PKEY_derive_init(k->derive) != 1) {
        floe_x25519_key_free(k);
        ERR_clear_error();
        return FLOE_ERR_CRYPTO;
    }
    *out = k;
    return 0;
}

void floe_x25519_key_free(struct floe_x25519_key *k)
{
    if (!k)
        return;
    EVP_PKEY_CTX_free(k->derive);
    EVP_PKEY_free(k->pkey);
    floe_mem_free(k->alloc, k);
}

int floe_x25519_key_public(const struct floe_x25519_key *k, uint8_t pub[FLOE_X25519_KEY_LEN])
{
    size_t len = FLOE_X25519_KEY_LEN;

    if (!k || !pub)
        return FLOE_ERR_INVALID_ARG;
    if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) != 1 || len != FLOE_X25519_KEY_LEN) {
        ERR_clear_error();
        return FLOE_ERR_CRYPTO;
    }
    return 0;
}

static int x25519_derive(struct floe_x25519_key *k, uint8_t shared[FLOE_X25519_KEY_LEN],
                         const uint8_t peer_pub[FLOE_X25519_KEY_LEN])
{
    EVP_PKEY *peer;
    size_t len = FLOE_X25519_KEY_LEN;
    int rc = FLOE_ERR_CRYPTO;

    peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, FLOE_X25519_KEY_LEN);
    if (!peer || EVP_PKEY_derive_set_peer_ex(k->derive, peer, 0) != 1)
        goto out;
    if (EVP_PKEY_derive(k->derive, shared, &len) != 1)
        rc = x25519_derive_error();
    else if (len == FLOE_X25519_KEY_LEN)
        rc = 0;
out:
    EVP_PKEY_free(peer);
    return rc;
}

int floe_x25519_key_shared(struct floe_x25519_key *k, uint8_t shared[FLOE_X25519_KEY_LEN],
                           const uint8_t peer_pub[FLOE_X25519_KEY_LEN])
{
    static const uint8_t zero[FLOE_X25519_KEY_LEN];
    int rc;

    if (!k || !shared || !peer_pub)
        return FLOE_ERR_INVALID_ARG;
    rc = x25519_derive(k, shared, peer_pub);
    /* Belt and braces: never hand out the all-zero secret, whatever the library did. */
    if (rc == 0 && floe_ct_eq(shared, zero, FLOE_X25519_KEY_LEN))
        rc = FLOE_ERR_WEAK_KEY;
    if (rc < 0) {
        floe_wipe(shared, FLOE_X25519_KEY_LEN);
        ERR_clear_error();
    }
    return rc;
}

int floe_x25519_shared(uint8_t shared[FLOE_X25519_KEY_LEN], const uint8_t priv[FLOE_X25519_KEY_LEN],
                       const uint8_t peer_pub[FLOE_X25519_KEY_LEN])
{
    struct floe_x25519_key *k;
    int rc;

    if (!shared || !priv || !peer_pub)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_x25519_key_new(&k, NULL, priv);
    if (rc < 0) {
        floe_wipe(shared, FLOE_X25519_KEY_LEN);
        return rc;
    }
    rc = floe_x25519_key_shared(k, shared, peer_pub);
    floe_x25519_key_free(k);
    return rc;
}
