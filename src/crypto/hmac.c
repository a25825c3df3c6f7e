/* HMAC, digests and randomness over OpenSSL libcrypto 3. */
/*
 * HMAC keeps its digest states in OpenSSL's plain SHA_CTX / SHA256_CTX structs (deprecated in
 * OpenSSL 3 but present, also in the mingw build): a struct copy per message, where the EVP
 * interface frees and allocates a provider context on every EVP_MD_CTX_copy_ex (OpenSSL 3.0).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "floe/crypto.h"

/*
 * HMAC (RFC 2104) kept as two digest states precomputed over the padded key:
 * inner = H state after (K ^ ipad), outer = H state after (K ^ opad). Each
 * message copies them (plain structs: no allocation, no provider call), so the
 * per-message cost is the message's own blocks plus one outer block.
 */
union hmac_state {
    SHA_CTX sha1;
    SHA256_CTX sha256;
};

struct hmac_key {
    enum floe_hmac_alg alg;
    union hmac_state inner, outer;
};

struct floe_hmac {
    struct hmac_key k;
    const struct floe_allocator *alloc;
};

#define HMAC_BLOCK 64 /* SHA-1 and SHA-256 block size */

static size_t hmac_out_len(enum floe_hmac_alg alg)
{
    return alg == FLOE_HMAC_SHA256 ? FLOE_SHA256_LEN : FLOE_SHA1_LEN;
}

static bool hmac_init(enum floe_hmac_alg alg, union hmac_state *st)
{
    return alg == FLOE_HMAC_SHA256 ? SHA256_Init(&st->sha256) == 1 : SHA1_Init(&st->sha1) == 1;
}

static bool hmac_update(enum floe_hmac_alg alg, union hmac_state *st, const void *p, size_t n)
{
    return alg == FLOE_HMAC_SHA256 ? SHA256_Update(&st->sha256, p, n) == 1
                                   : SHA1_Update(&st->sha1, p, n) == 1;
}

static bool hmac_final(enum floe_hmac_alg alg, union hmac_state *st, uint8_t *out)
{
    return alg == FLOE_HMAC_SHA256 ? SHA256_Final(out, &st->sha256) == 1
                                   : SHA1_Final(out, &st->sha1) == 1;
}

/* Start st with H((key padded to the block) ^ pad byte). */
static bool hmac_pad_init(enum floe_hmac_alg alg, union hmac_state *st, const uint8_t *key,
                          size_t key_len, uint8_t pad)
{
    uint8_t block[HMAC_BLOCK];
    size_t i;
    bool ok;

    for (i = 0; i < HMAC_BLOCK; i++)
        block[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ pad);
    ok = hmac_init(alg, st) && hmac_update(alg, st, block, HMAC_BLOCK);
    floe_wipe(block, sizeof(block));
    return ok;
}

/* Key longer than the block is hashed first (RFC 2104 section 2). */
static bool hmac_set_key(struct hmac_key *k, enum floe_hmac_alg alg, const uint8_t *key,
                         size_t key_len)
{
    uint8_t hashed[FLOE_SHA256_LEN];
    union hmac_state st;
    bool ok = true;

    k->alg = alg;
    if (key_len > HMAC_BLOCK) {
        ok = hmac_init(alg, &st) && hmac_update(alg, &st, key, key_len) &&
             hmac_final(alg, &st, hashed);
        key = hashed;
        key_len = hmac_out_len(alg);
    }
    ok = ok && hmac_pad_init(alg, &k->inner, key, key_len, 0x36) &&
         hmac_pad_init(alg, &k->outer, key, key_len, 0x5c);
    floe_wipe(hashed, sizeof(hashed));
    floe_wipe(&st, sizeof(st));
    return ok;
}

static int hmac_run(const struct hmac_key *k, uint8_t *out, const struct floe_span *parts,
                    size_t n_parts)
{
    uint8_t inner[FLOE_SHA256_LEN];
    union hmac_state work = k->inner;
    bool ok = true;
    size_t i;

    for (i = 0; i < n_parts && ok; i++)
        ok = !parts[i].len || hmac_update(k->alg, &work, parts[i].ptr, parts[i].len);
    ok = ok && hmac_final(k->alg, &work, inner);
    work = k->outer;
    ok = ok && hmac_update(k->alg, &work, inner, hmac_out_len(k->alg)) &&
         hmac_final(k->alg, &work, out);
    floe_wipe(&work, sizeof(work));
    floe_wipe(inner, sizeof(inner));
    return ok ? 0 : FLOE_ERR_CRYPTO;
}

static bool hmac_args_ok(enum floe_hmac_alg alg, const uint8_t *key, size_t key_len)
{
    return (alg == FLOE_HMAC_SHA1 || alg == FLOE_HMAC_SHA256) && (key || !key_len);
}

int floe_hmac_new(struct floe_hmac **out, const struct floe_allocator *alloc,
                  enum floe_hmac_alg alg, const uint8_t *key, size_t key_len)
{
    struct floe_hmac *h;

    if (!out || !hmac_args_ok(alg, key, key_len))
        return FLOE_ERR_INVALID_ARG;
    h = floe_mem_calloc(alloc, 1, sizeof(*h));
    if (!h)
        return FLOE_ERR_NOMEM;
    h->alloc = alloc;
    if (!hmac_set_key(&h->k, alg, key, key_len)) {
        floe_hmac_free(h);
        return FLOE_ERR_CRYPTO;
    }
    *out = h;
    return 0;
}

void floe_hmac_free(struct floe_hmac *h)
{
    if (!h)
        return;
    floe_wipe(&h->k, sizeof(h->k)); /* the digest states hold the padded key */
    floe_mem_free(h->alloc, h);
}

size_t floe_hmac_len(const struct floe_hmac *h)
{
    return hmac_out_len(h->k.alg);
}

int floe_hmac_compute(struct floe_hmac *h, uint8_t *out, const struct floe_span *parts,
                      size_t n_parts)
{
    if (!h || !out || (!parts && n_parts))
        return FLOE_ERR_INVALID_ARG;
    return hmac_run(&h->k, out, parts, n_parts);
}

int floe_hmac_compute_key(enum floe_hmac_alg alg, uint8_t *out, const uint8_t *key, size_t key_len,
                          const struct floe_span *parts, size_t n_parts)
{
    struct hmac_key k;
    int rc = FLOE_ERR_CRYPTO;

    if (!out || (!parts && n_parts) || !hmac_args_ok(alg, key, key_len))
        return FLOE_ERR_INVALID_ARG;
    if (hmac_set_key(&k, alg, key, key_len))
        rc = hmac_run(&k, out, parts, n_parts);
    floe_wipe(&k, sizeof(k));
    return rc;
}

int floe_hmac_oneshot(enum floe_hmac_alg alg, uint8_t *out, const uint8_t *key, size_t key_len,
                      const uint8_t *msg, size_t msg_len)
{
    struct floe_span part = {msg, msg_len};

    return floe_hmac_compute_key(alg, out, key, key_len, &part, 1);
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
