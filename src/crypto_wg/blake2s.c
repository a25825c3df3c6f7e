/*
 * BLAKE2s (RFC 7693) in portable C, and WireGuard's HASH, MAC, HMAC and KDF over it.
 * Portable rather than OpenSSL: see the header comment of floe/crypto_wg.h.
 */
#include <string.h>

#include "floe/crypto_wg.h"

static const uint32_t blake2s_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* RFC 7693 section 2.7: message word schedule of the ten rounds. */
static const uint8_t blake2s_sigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

#define ROTR32(v, n) ((uint32_t)(((v) >> (n)) | ((v) << (32 - (n)))))

/* RFC 7693 section 3.1, mixing function G with R1..R4 = 16, 12, 8, 7. */
#define G(v, a, b, c, d, x, y)                                                                     \
    do {                                                                                           \
        v[a] = v[a] + v[b] + (x);                                                                  \
        v[d] = ROTR32(v[d] ^ v[a], 16);                                                            \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = ROTR32(v[b] ^ v[c], 12);                                                            \
        v[a] = v[a] + v[b] + (y);                                                                  \
        v[d] = ROTR32(v[d] ^ v[a], 8);                                                             \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = ROTR32(v[b] ^ v[c], 7);                                                             \
    } while (0)

/* One round r: the sigma indices are constants once ROUND is expanded with a literal r. */
#define ROUND(r)                                                                                   \
    do {                                                                                           \
        G(v, 0, 4, 8, 12, m[blake2s_sigma[r][0]], m[blake2s_sigma[r][1]]);                         \
        G(v, 1, 5, 9, 13, m[blake2s_sigma[r][2]], m[blake2s_sigma[r][3]]);                         \
        G(v, 2, 6, 10, 14, m[blake2s_sigma[r][4]], m[blake2s_sigma[r][5]]);                        \
        G(v, 3, 7, 11, 15, m[blake2s_sigma[r][6]], m[blake2s_sigma[r][7]]);                        \
        G(v, 0, 5, 10, 15, m[blake2s_sigma[r][8]], m[blake2s_sigma[r][9]]);                        \
        G(v, 1, 6, 11, 12, m[blake2s_sigma[r][10]], m[blake2s_sigma[r][11]]);                      \
        G(v, 2, 7, 8, 13, m[blake2s_sigma[r][12]], m[blake2s_sigma[r][13]]);                       \
        G(v, 3, 4, 9, 14, m[blake2s_sigma[r][14]], m[blake2s_sigma[r][15]]);                       \
    } while (0)

static void blake2s_compress(struct floe_blake2s *s, const uint8_t block[64], bool last)
{
    uint32_t v[16], m[16];
    int i;

    for (i = 0; i < 16; i++)
        m[i] = floe_load_le32(block + 4 * i);
    for (i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = blake2s_iv[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last)
        v[14] = ~v[14];
    ROUND(0);
    ROUND(1);
    ROUND(2);
    ROUND(3);
    ROUND(4);
    ROUND(5);
    ROUND(6);
    ROUND(7);
    ROUND(8);
    ROUND(9);
    for (i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
}

/* Count n more input bytes in the 64-bit byte counter t. */
static void blake2s_count(struct floe_blake2s *s, uint32_t n)
{
    s->t[0] += n;
    if (s->t[0] < n)
        s->t[1]++;
}

/* Initialise with valid parameters (checked by the caller). */
static void blake2s_start(struct floe_blake2s *s, size_t out_len, const uint8_t *key,
                          size_t key_len)
{
    memcpy(s->h, blake2s_iv, sizeof(s->h));
    /* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
    s->h[0] ^= 0x01010000u ^ (uint32_t)(key_len << 8) ^ (uint32_t)out_len;
    s->t[0] = s->t[1] = 0;
    s->buf_len = 0;
    s->out_len = out_len;
    memset(s->buf, 0, sizeof(s->buf));
    if (key_len) {
        memcpy(s->buf, key, key_len);
        s->buf_len = FLOE_BLAKE2S_BLOCK_LEN; /* the padded key block is the first block */
    }
}

int floe_blake2s_init(struct floe_blake2s *s, size_t out_len, const uint8_t *key, size_t key_len)
{
    if (!s || out_len < 1 || out_len > FLOE_BLAKE2S_OUT_MAX || key_len > FLOE_BLAKE2S_KEY_MAX ||
        (!key && key_len))
        return FLOE_ERR_INVALID_ARG;
    blake2s_start(s, out_len, key, key_len);
    return 0;
}

void floe_blake2s_update(struct floe_blake2s *s, const uint8_t *in, size_t len)
{
    size_t fill = FLOE_BLAKE2S_BLOCK_LEN - s->buf_len;

    if (!len)
        return;
    /* The last block must go through final, so a full buffer waits for more input. */
    if (len > fill) {
        memcpy(s->buf + s->buf_len, in, fill);
        blake2s_count(s, FLOE_BLAKE2S_BLOCK_LEN);
        blake2s_compress(s, s->buf, false);
        s->buf_len = 0;
        in += fill;
        len -= fill;
        while (len > FLOE_BLAKE2S_BLOCK_LEN) {
            blake2s_count(s, FLOE_BLAKE2S_BLOCK_LEN);
            blake2s_compress(s, in, false);
            in += FLOE_BLAKE2S_BLOCK_LEN;
            len -= FLOE_BLAKE2S_BLOCK_LEN;
        }
    }
    memcpy(s->buf + s->buf_len, in, len);
    s->buf_len += len;
}

void floe_blake2s_final(struct floe_blake2s *s, uint8_t *out)
{
    uint8_t full[FLOE_BLAKE2S_OUT_MAX];
    int i;

    blake2s_count(s, (uint32_t)s->buf_len);
    memset(s->buf + s->buf_len, 0, FLOE_BLAKE2S_BLOCK_LEN - s->buf_len);
    blake2s_compress(s, s->buf, true);
    for (i = 0; i < 8; i++)
        floe_store_le32(full + 4 * i, s->h[i]);
    memcpy(out, full, s->out_len);
    floe_wipe(full, sizeof(full));
    floe_wipe(s, sizeof(*s));
}

int floe_blake2s(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len, const uint8_t *key,
                 size_t key_len)
{
    struct floe_blake2s s;
    int rc;

    if (!out || (!in && in_len))
        return FLOE_ERR_INVALID_ARG;
    rc = floe_blake2s_init(&s, out_len, key, key_len);
    if (rc < 0)
        return rc;
    floe_blake2s_update(&s, in, in_len);
    floe_blake2s_final(&s, out);
    return 0;
}

void floe_blake2s_hash(uint8_t out[FLOE_WG_HASH_LEN], const struct floe_span *parts, size_t n_parts)
{
    struct floe_blake2s s;
    size_t i;

    blake2s_start(&s, FLOE_WG_HASH_LEN, NULL, 0);
    for (i = 0; i < n_parts; i++)
        floe_blake2s_update(&s, parts[i].ptr, parts[i].len);
    floe_blake2s_final(&s, out);
}

int floe_blake2s_mac(uint8_t out[FLOE_WG_MAC_LEN], const uint8_t *key, size_t key_len,
                     const uint8_t *in, size_t in_len)
{
    if (!key || key_len < 1)
        return FLOE_ERR_INVALID_ARG;
    return floe_blake2s(out, FLOE_WG_MAC_LEN, in, in_len, key, key_len);
}

bool floe_blake2s_mac_verify(const uint8_t expected[FLOE_WG_MAC_LEN],
                             const uint8_t received[FLOE_WG_MAC_LEN])
{
    return floe_ct_eq(expected, received, FLOE_WG_MAC_LEN);
}

/* One HMAC pass: BLAKE2s-256((k ^ pad) || a || b). */
static void hmac_pass(uint8_t out[FLOE_WG_HASH_LEN], const uint8_t k[FLOE_BLAKE2S_BLOCK_LEN],
                      uint8_t pad, const uint8_t *a, size_t a_len)
{
    uint8_t block[FLOE_BLAKE2S_BLOCK_LEN];
    struct floe_blake2s s;
    int i;

    for (i = 0; i < FLOE_BLAKE2S_BLOCK_LEN; i++)
        block[i] = (uint8_t)(k[i] ^ pad);
    blake2s_start(&s, FLOE_WG_HASH_LEN, NULL, 0);
    floe_blake2s_update(&s, block, sizeof(block));
    floe_blake2s_update(&s, a, a_len);
    floe_blake2s_final(&s, out);
    floe_wipe(block, sizeof(block));
}

void floe_blake2s_hmac(uint8_t out[FLOE_WG_HASH_LEN], const uint8_t *key, size_t key_len,
                       const uint8_t *in, size_t in_len)
{
    uint8_t k[FLOE_BLAKE2S_BLOCK_LEN] = {0};
    uint8_t inner[FLOE_WG_HASH_LEN];
    struct floe_span part = {key, key_len};

    if (key_len > FLOE_BLAKE2S_BLOCK_LEN)
        floe_blake2s_hash(k, &part, 1);
    else if (key_len)
        memcpy(k, key, key_len);
    hmac_pass(inner, k, 0x36, in, in_len);
    hmac_pass(out, k, 0x5c, inner, sizeof(inner));
    floe_wipe(k, sizeof(k));
    floe_wipe(inner, sizeof(inner));
}

int floe_blake2s_kdf(uint8_t out1[FLOE_WG_HASH_LEN], uint8_t out2[FLOE_WG_HASH_LEN],
                     uint8_t out3[FLOE_WG_HASH_LEN], const uint8_t ck[FLOE_WG_HASH_LEN],
                     const uint8_t *in, size_t in_len)
{
    uint8_t t0[FLOE_WG_HASH_LEN], prev[FLOE_WG_HASH_LEN + 1], t[FLOE_WG_HASH_LEN];
    const uint8_t one = 1;

    if (!out1 || !ck || (out3 && !out2) || (!in && in_len))
        return FLOE_ERR_INVALID_ARG;
    floe_blake2s_hmac(t0, ck, FLOE_WG_HASH_LEN, in, in_len);
    floe_blake2s_hmac(prev, t0, sizeof(t0), &one, 1);
    if (out2) {
        prev[FLOE_WG_HASH_LEN] = 2;
        floe_blake2s_hmac(t, t0, sizeof(t0), prev, sizeof(prev));
        memcpy(out1, prev, FLOE_WG_HASH_LEN);
        memcpy(prev, t, FLOE_WG_HASH_LEN);
        memcpy(out2, t, FLOE_WG_HASH_LEN);
    } else {
        memcpy(out1, prev, FLOE_WG_HASH_LEN);
    }
    if (out3) {
        prev[FLOE_WG_HASH_LEN] = 3;
        floe_blake2s_hmac(out3, t0, sizeof(t0), prev, sizeof(prev));
    }
    floe_wipe(t0, sizeof(t0));
    floe_wipe(prev, sizeof(prev));
    floe_wipe(t, sizeof(t));
    return 0;
}
