/*
 * HChaCha20 and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03). OpenSSL has no HChaCha20,
 * so the block function is here: the ChaCha20 rounds of RFC 8439 section 2.3 without the
 * final addition, keeping state words 0-3 and 12-15.
 */
#include "floe/crypto_wg.h"

#define ROTL32(v, n) ((uint32_t)(((v) << (n)) | ((v) >> (32 - (n)))))

#define QUARTER_ROUND(a, b, c, d)                                                                  \
    do {                                                                                           \
        a += b;                                                                                    \
        d = ROTL32(d ^ a, 16);                                                                     \
        c += d;                                                                                    \
        b = ROTL32(b ^ c, 12);                                                                     \
        a += b;                                                                                    \
        d = ROTL32(d ^ a, 8);                                                                      \
        c += d;                                                                                    \
        b = ROTL32(b ^ c, 7);                                                                      \
    } while (0)

static void chacha_double_round(uint32_t x[16])
{
    QUARTER_ROUND(x[0], x[4], x[8], x[12]);
    QUARTER_ROUND(x[1], x[5], x[9], x[13]);
    QUARTER_ROUND(x[2], x[6], x[10], x[14]);
    QUARTER_ROUND(x[3], x[7], x[11], x[15]);
    QUARTER_ROUND(x[0], x[5], x[10], x[15]);
    QUARTER_ROUND(x[1], x[6], x[11], x[12]);
    QUARTER_ROUND(x[2], x[7], x[8], x[13]);
    QUARTER_ROUND(x[3], x[4], x[9], x[14]);
}

void floe_hchacha20(uint8_t out[FLOE_AEAD_KEY_LEN], const uint8_t key[FLOE_AEAD_KEY_LEN],
                    const uint8_t nonce[FLOE_HCHACHA20_NONCE_LEN])
{
    /* "expand 32-byte k" */
    static const uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    uint32_t x[16];
    int i;

    for (i = 0; i < 4; i++)
        x[i] = sigma[i];
    for (i = 0; i < 8; i++)
        x[4 + i] = floe_load_le32(key + 4 * i);
    for (i = 0; i < 4; i++)
        x[12 + i] = floe_load_le32(nonce + 4 * i);
    for (i = 0; i < 10; i++)
        chacha_double_round(x);
    for (i = 0; i < 4; i++) {
        floe_store_le32(out + 4 * i, x[i]);
        floe_store_le32(out + 16 + 4 * i, x[12 + i]);
    }
    floe_wipe(x, sizeof(x));
}

int floe_xaead_encrypt(uint8_t *c, const uint8_t *m, size_t m_len, const uint8_t *ad, size_t ad_len,
                       const uint8_t nonce[FLOE_XAEAD_NONCE_LEN],
                       const uint8_t key[FLOE_AEAD_KEY_LEN])
{
    uint8_t subkey[FLOE_AEAD_KEY_LEN];
    int rc;

    if (!nonce || !key)
        return FLOE_ERR_INVALID_ARG;
    floe_hchacha20(subkey, key, nonce);
    /* 4 zero bytes || nonce[16..24) is exactly the WireGuard nonce of this counter. */
    rc = floe_aead_encrypt_oneshot(c, m, m_len, ad, ad_len, floe_load_le64(nonce + 16), subkey);
    floe_wipe(subkey, sizeof(subkey));
    return rc;
}

int floe_xaead_decrypt(uint8_t *m, const uint8_t *c, size_t c_len, const uint8_t *ad, size_t ad_len,
                       const uint8_t nonce[FLOE_XAEAD_NONCE_LEN],
                       const uint8_t key[FLOE_AEAD_KEY_LEN])
{
    uint8_t subkey[FLOE_AEAD_KEY_LEN];
    int rc;

    if (!nonce || !key)
        return FLOE_ERR_INVALID_ARG;
    floe_hchacha20(subkey, key, nonce);
    rc = floe_aead_decrypt_oneshot(m, c, c_len, ad, ad_len, floe_load_le64(nonce + 16), subkey);
    floe_wipe(subkey, sizeof(subkey));
    return rc;
}
