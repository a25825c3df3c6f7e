/*
 * ChaCha20-Poly1305 (RFC 8439) over OpenSSL EVP. Each context holds one encryption and one
 * decryption EVP_CIPHER_CTX keyed at creation; a packet only sets the nonce.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "floe/crypto_wg.h"

struct floe_aead {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    const struct floe_allocator *alloc;
};

static int aead_keyed_ctx(EVP_CIPHER_CTX **out, const EVP_CIPHER *cipher, const uint8_t *key,
                          int enc)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (!ctx)
        return FLOE_ERR_NOMEM;
    if (EVP_CipherInit_ex2(ctx, cipher, key, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return FLOE_ERR_CRYPTO;
    }
    *out = ctx;
    return 0;
}

int floe_aead_new(struct floe_aead **out, const struct floe_allocator *alloc, const uint8_t *key,
                  size_t key_len)
{
    struct floe_aead *a;
    int rc = FLOE_ERR_CRYPTO;

    if (!out || !key || key_len != FLOE_AEAD_KEY_LEN)
        return FLOE_ERR_INVALID_ARG;
    a = floe_mem_calloc(alloc, 1, sizeof(*a));
    if (!a)
        return FLOE_ERR_NOMEM;
    a->alloc = alloc;
    a->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    if (!a->cipher)
        goto err;
    rc = aead_keyed_ctx(&a->enc, a->cipher, key, 1);
    if (rc < 0)
        goto err;
    rc = aead_keyed_ctx(&a->dec, a->cipher, key, 0);
    if (rc < 0)
        goto err;
    *out = a;
    return 0;
err:
    floe_aead_free(a);
    ERR_clear_error();
    return rc;
}

void floe_aead_free(struct floe_aead *a)
{
    if (!a)
        return;
    EVP_CIPHER_CTX_free(a->dec);
    EVP_CIPHER_CTX_free(a->enc);
    EVP_CIPHER_free(a->cipher);
    floe_mem_free(a->alloc, a);
}

/* Set the nonce and absorb the associated data. */
static bool aead_start(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *ad, size_t ad_len)
{
    int n;

    if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, -1, NULL) != 1)
        return false;
    return !ad_len || EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) == 1;
}

static bool aead_args_ok(const struct floe_aead *a, const void *out, const void *in, size_t in_len,
                         const uint8_t *ad, size_t ad_len, const uint8_t *nonce)
{
    return a && out && nonce && (in || !in_len) && (ad || !ad_len) && ad_len <= (size_t)INT_MAX &&
           in_len <= FLOE_AEAD_MAX_LEN + FLOE_AEAD_TAG_LEN;
}

int floe_aead_encrypt(struct floe_aead *a, uint8_t *c, const uint8_t *m, size_t m_len,
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[FLOE_AEAD_NONCE_LEN])
{
    int n = 0, fin = 0;

    if (!aead_args_ok(a, c, m, m_len, ad, ad_len, nonce) || m_len > FLOE_AEAD_MAX_LEN)
        return FLOE_ERR_INVALID_ARG;
    if (!aead_start(a->enc, nonce, ad, ad_len))
        goto err;
    if (m_len && EVP_EncryptUpdate(a->enc, c, &n, m, (int)m_len) != 1)
        goto err;
    if (EVP_EncryptFinal_ex(a->enc, c + n, &fin) != 1 || (size_t)n + (size_t)fin != m_len)
        goto err;
    if (EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, FLOE_AEAD_TAG_LEN, c + m_len) != 1)
        goto err;
    return 0;
err:
    ERR_clear_error();
    return FLOE_ERR_CRYPTO;
}

int floe_aead_decrypt(struct floe_aead *a, uint8_t *m, const uint8_t *c, size_t c_len,
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[FLOE_AEAD_NONCE_LEN])
{
    size_t m_len = c_len - FLOE_AEAD_TAG_LEN;
    int n = 0, fin = 0, rc = FLOE_ERR_CRYPTO;

    if (!aead_args_ok(a, m, c, c_len, ad, ad_len, nonce) || c_len < FLOE_AEAD_TAG_LEN)
        return FLOE_ERR_INVALID_ARG;
    if (!aead_start(a->dec, nonce, ad, ad_len))
        goto err;
    if (m_len && EVP_DecryptUpdate(a->dec, m, &n, c, (int)m_len) != 1)
        goto err;
    /* The tag sits after the ciphertext, out of reach of an in-place m[0..m_len). */
    if (EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, FLOE_AEAD_TAG_LEN,
                            (void *)(c + m_len)) != 1)
        goto err;
    rc = FLOE_ERR_INTEGRITY;
    if (EVP_DecryptFinal_ex(a->dec, m + n, &fin) != 1 || (size_t)n + (size_t)fin != m_len)
        goto err;
    return 0;
err:
    floe_wipe(m, m_len);
    ERR_clear_error();
    return rc;
}

void floe_aead_nonce_from_counter(uint8_t out[FLOE_AEAD_NONCE_LEN], uint64_t counter)
{
    floe_store_le32(out, 0);
    floe_store_le64(out + 4, counter);
}

int floe_aead_encrypt_ctr(struct floe_aead *a, uint8_t *c, const uint8_t *m, size_t m_len,
                          const uint8_t *ad, size_t ad_len, uint64_t counter)
{
    uint8_t nonce[FLOE_AEAD_NONCE_LEN];

    floe_aead_nonce_from_counter(nonce, counter);
    return floe_aead_encrypt(a, c, m, m_len, ad, ad_len, nonce);
}

int floe_aead_decrypt_ctr(struct floe_aead *a, uint8_t *m, const uint8_t *c, size_t c_len,
                          const uint8_t *ad, size_t ad_len, uint64_t counter)
{
    uint8_t nonce[FLOE_AEAD_NONCE_LEN];

    floe_aead_nonce_from_counter(nonce, counter);
    return floe_aead_decrypt(a, m, c, c_len, ad, ad_len, nonce);
}

int floe_aead_encrypt_oneshot(uint8_t *c, const uint8_t *m, size_t m_len, const uint8_t *ad,
                              size_t ad_len, uint64_t counter, const uint8_t key[FLOE_AEAD_KEY_LEN])
{
    struct floe_aead *a;
    int rc = floe_aead_new(&a, NULL, key, FLOE_AEAD_KEY_LEN);

    if (rc < 0)
        return rc;
    rc = floe_aead_encrypt_ctr(a, c, m, m_len, ad, ad_len, counter);
    floe_aead_free(a);
    return rc;
}

int floe_aead_decrypt_oneshot(uint8_t *m, const uint8_t *c, size_t c_len, const uint8_t *ad,
                              size_t ad_len, uint64_t counter, const uint8_t key[FLOE_AEAD_KEY_LEN])
{
    struct floe_aead *a;
    int rc = floe_aead_new(&a, NULL, key, FLOE_AEAD_KEY_LEN);

    if (rc < 0)
        return rc;
    rc = floe_aead_decrypt_ctr(a, m, c, c_len, ad, ad_len, counter);
    floe_aead_free(a);
    return rc;
}
