/* HMAC, digests and randomness over OpenSSL libcrypto 3. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <zlib.h>

#include "floe/crypto.h"

struct floe_hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    const struct floe_allocator *alloc;
    size_t out_len;
};

static const char *hmac_digest_name(enum floe_hmac_alg alg)
{
    return alg == FLOE_HMAC_SHA256 ? "SHA256" : "SHA1";
}

int floe_hmac_new(struct floe_hmac **out, const struct floe_allocator *alloc,
                  enum floe_hmac_alg alg, const uint8_t *key, size_t key_len)
{
    OSSL_PARAM params[2];
    struct floe_hmac *h;

    if (!out || (alg != FLOE_HMAC_SHA1 && alg != FLOE_HMAC_SHA256) || (!key && key_len))
        return FLOE_ERR_INVALID_ARG;
    h = floe_mem_calloc(alloc, 1, sizeof(*h));
    if (!h)
        return FLOE_ERR_NOMEM;
    h->alloc = alloc;
    h->out_len = alg == FLOE_HMAC_SHA256 ? FLOE_SHA256_LEN : FLOE_SHA1_LEN;
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!h->mac)
        goto err_free;
    h->ctx = EVP_MAC_CTX_new(h->mac);
    if (!h->ctx)
        goto err_mac;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)hmac_digest_name(alg), 0);
    params[1] = OSSL_PARAM_construct_end();
    /* OpenSSL refuses an empty key pointer; HMAC with an empty key is all-zero pad. */
    if (!EVP_MAC_init(h->ctx, key_len ? key : (const uint8_t *)"", key_len, params))
        goto err_ctx;
    *out = h;
    return 0;
err_ctx:
    EVP_MAC_CTX_free(h->ctx);
err_mac:
    EVP_MAC_free(h->mac);
err_free:
    floe_mem_free(alloc, h);
    return FLOE_ERR_CRYPTO;
}

void floe_hmac_free(struct floe_hmac *h)
{
    if (!h)
        return;
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    floe_mem_free(h->alloc, h);
}

size_t floe_hmac_len(const struct floe_hmac *h)
{
    return h->out_len;
}

int floe_hmac_compute(struct floe_hmac *h, uint8_t *out, const struct floe_span *parts,
                      size_t n_parts)
{
    size_t i, out_len = 0;

    if (!h || !out)
        return FLOE_ERR_INVALID_ARG;
    /* A NULL key re-initialises with the key already set: no per-message setup. */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL))
        return FLOE_ERR_CRYPTO;
    for (i = 0; i < n_parts; i++) {
        if (parts[i].len && !EVP_MAC_update(h->ctx, parts[i].ptr, parts[i].len))
            return FLOE_ERR_CRYPTO;
    }
    if (!EVP_MAC_final(h->ctx, out, &out_len, h->out_len) || out_len != h->out_len)
        return FLOE_ERR_CRYPTO;
    return 0;
}

int floe_hmac_oneshot(enum floe_hmac_alg alg, uint8_t *out, const uint8_t *key, size_t key_len,
                      const uint8_t *msg, size_t msg_len)
{
    struct floe_hmac *h;
    struct floe_span part = {msg, msg_len};
    int rc = floe_hmac_new(&h, NULL, alg, key, key_len);

    if (rc < 0)
        return rc;
    rc = floe_hmac_compute(h, out, &part, 1);
    floe_hmac_free(h);
    return rc;
}

static int digest_parts(const EVP_MD *md, uint8_t *out, const struct floe_span *parts,
                        size_t n_parts)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = FLOE_ERR_CRYPTO;
    size_t i;

    if (!ctx)
        return FLOE_ERR_NOMEM;
    if (!EVP_DigestInit_ex(ctx, md, NULL))
        goto out;
    for (i = 0; i < n_parts; i++) {
        if (parts[i].len && !EVP_DigestUpdate(ctx, parts[i].ptr, parts[i].len))
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL))
        rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int floe_md5(uint8_t out[FLOE_MD5_LEN], const struct floe_span *parts, size_t n_parts)
{
    return digest_parts(EVP_md5(), out, parts, n_parts);
}

int floe_sha256(uint8_t out[FLOE_SHA256_LEN], const struct floe_span *parts, size_t n_parts)
{
    return digest_parts(EVP_sha256(), out, parts, n_parts);
}

uint32_t floe_crc32(const uint8_t *buf, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    while (len) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;

        crc = crc32(crc, buf, n);
        buf += n;
        len -= n;
    }
    return (uint32_t)crc;
}

int floe_crypto_random(uint8_t *out, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return FLOE_ERR_INVALID_ARG;
    return RAND_bytes(out, (int)len) == 1 ? 0 : FLOE_ERR_CRYPTO;
}

static void crypto_rng_fill(void *user, uint8_t *out, size_t len)
{
    (void)user;
    if (floe_crypto_random(out, len) < 0)
        abort(); /* no safe way to continue without randomness */
}

struct floe_rng floe_crypto_rng(void)
{
    struct floe_rng r = {crypto_rng_fill, NULL};

    return r;
}
