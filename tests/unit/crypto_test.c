/* Crypto adapter against published vectors (RFC 2202, RFC 4231, RFC 1321, FIPS 180-2, RFC 4648). */
#include <openssl/crypto.h>
#include <stdlib.h>

#include "floe/crypto.h"
#include "test.h"

/* OpenSSL's allocations, counted (the hooks go in before OpenSSL allocates anything). */
static unsigned long ossl_allocs;

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    ossl_allocs++;
    return malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    ossl_allocs++;
    return realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static void hex(uint8_t *out, const char *s)
{
    while (*s && s[1]) {
        unsigned v;

        sscanf(s, "%2x", &v);
        *out++ = (uint8_t)v;
        s += 2;
    }
}

static void test_hmac_sha1_rfc2202(void)
{
    uint8_t key[20], mac[20], expect[20];

    memset(key, 0x0b, sizeof(key));
    hex(expect, "b617318655057264e28bc0b6fb378c8ef146be00");
    CHECK_EQ(floe_hmac_oneshot(FLOE_HMAC_SHA1, mac, key, 20, (const uint8_t *)"Hi There", 8), 0);
    CHECK_MEM(mac, expect, 20);
    hex(expect, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    CHECK_EQ(floe_hmac_oneshot(FLOE_HMAC_SHA1, mac, (const uint8_t *)"Jefe", 4,
                               (const uint8_t *)"what do ya want for nothing?", 28),
             0);
    CHECK_MEM(mac, expect, 20);
}

static void test_hmac_sha256_reuse(void)
{
    struct floe_hmac *h;
    uint8_t key[20], mac[32], expect[32];
    struct floe_span parts[2] = {{(const uint8_t *)"Hi ", 3}, {(const uint8_t *)"There", 5}};
    int i;

    memset(key, 0x0b, sizeof(key));
    hex(expect, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    REQUIRE(floe_hmac_new(&h, NULL, FLOE_HMAC_SHA256, key, sizeof(key)) == 0);
    CHECK_EQ(floe_hmac_len(h), 32);
    for (i = 0; i < 3; i++) { /* the context is reused: same key, same answer */
        memset(mac, 0, sizeof(mac));
        CHECK_EQ(floe_hmac_compute(h, mac, parts, 2), 0);
        CHECK_MEM(mac, expect, 32);
    }
    floe_hmac_free(h);
    CHECK_EQ(floe_hmac_new(&h, NULL, (enum floe_hmac_alg)7, key, 1), FLOE_ERR_INVALID_ARG);
}

/* Keys longer than the block are hashed first: RFC 2202 case 6, RFC 4231 case 6; empty key. */
static void test_hmac_long_and_empty_keys(void)
{
    static const char msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131], mac[32], expect[32];

    memset(key, 0xaa, sizeof(key));
    hex(expect, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    CHECK_EQ(floe_hmac_oneshot(FLOE_HMAC_SHA1, mac, key, 80, (const uint8_t *)msg, 54), 0);
    CHECK_MEM(mac, expect, 20);
    hex(expect, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    CHECK_EQ(floe_hmac_oneshot(FLOE_HMAC_SHA256, mac, key, 131, (const uint8_t *)msg, 54), 0);
    CHECK_MEM(mac, expect, 32);
    hex(expect, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
    CHECK_EQ(floe_hmac_oneshot(FLOE_HMAC_SHA1, mac, NULL, 0, NULL, 0), 0);
    CHECK_MEM(mac, expect, 20);
}

static void test_digests(void)
{
    uint8_t md5[16], sha[32], e_md5[16], e_sha[32];
    struct floe_span abc = {(const uint8_t *)"abc", 3};

    hex(e_md5, "900150983cd24fb0d6963f7d28e17f72");
    hex(e_sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ(floe_md5(md5, &abc, 1), 0);
    CHECK_MEM(md5, e_md5, 16);
    CHECK_EQ(floe_sha256(sha, &abc, 1), 0);
    CHECK_MEM(sha, e_sha, 32);
    CHECK_EQ(floe_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

static void test_base64(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char enc[16];
    uint8_t dec[16];
    size_t i;

    for (i = 0; i < 7; i++) {
        CHECK_EQ(floe_base64_encode(enc, sizeof(enc), (const uint8_t *)in[i], strlen(in[i])),
                 strlen(out[i]));
        CHECK_STR(enc, out[i]);
        CHECK_EQ(floe_base64_decode(dec, sizeof(dec), out[i], strlen(out[i])), strlen(in[i]));
        CHECK_MEM(dec, in[i], strlen(in[i]));
    }
    CHECK_EQ(floe_base64_decode(dec, sizeof(dec), "Zm9", 3), FLOE_ERR_MALFORMED);
    CHECK_EQ(floe_base64_decode(dec, sizeof(dec), "Z=9v", 4), FLOE_ERR_MALFORMED);
    CHECK_EQ(floe_base64_decode(dec, sizeof(dec), "Zg==Zg==", 8), FLOE_ERR_MALFORMED);
    CHECK_EQ(floe_base64_decode(dec, sizeof(dec), "Zm9!", 4), FLOE_ERR_MALFORMED);
    CHECK_EQ(floe_base64_decode(dec, 2, "Zm9v", 4), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_base64_encode(enc, 4, (const uint8_t *)"foo", 3), FLOE_ERR_BUFFER_TOO_SMALL);
}

static void test_random(void)
{
    uint8_t a[32], b[32];

    CHECK_EQ(floe_crypto_random(a, sizeof(a)), 0);
    CHECK_EQ(floe_crypto_random(b, sizeof(b)), 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
}

/*
 * A signed STUN message costs an HMAC with a kept context (ICE checks) or a key used once
 * (TURN requests): neither allocates, in floe's allocator or in OpenSSL's.
 */
static void test_hmac_no_allocation(void)
{
    const uint8_t key[16] = "0123456789abcdef", msg[100] = {1};
    struct floe_span part = {msg, sizeof(msg)};
    uint8_t mac[FLOE_SHA256_LEN], mac2[FLOE_SHA256_LEN];
    struct floe_hmac *h[2];
    unsigned long before;
    int i, k;

    REQUIRE(floe_hmac_new(&h[0], NULL, FLOE_HMAC_SHA1, key, sizeof(key)) == 0);
    REQUIRE(floe_hmac_new(&h[1], NULL, FLOE_HMAC_SHA256, key, sizeof(key)) == 0);
    before = ossl_allocs;
    for (i = 0; i < 100; i++) {
        for (k = 0; k < 2; k++) {
            enum floe_hmac_alg alg = k ? FLOE_HMAC_SHA256 : FLOE_HMAC_SHA1;

            CHECK_EQ(floe_hmac_compute(h[k], mac, &part, 1), 0);
            CHECK_EQ(floe_hmac_compute_key(alg, mac2, key, sizeof(key), &part, 1), 0);
            CHECK(memcmp(mac, mac2, floe_hmac_len(h[k])) == 0);
        }
    }
    CHECK_EQ(ossl_allocs - before, 0);
    CHECK_EQ(floe_hmac_compute_key(FLOE_HMAC_SHA1, mac, NULL, 1, &part, 1), FLOE_ERR_INVALID_ARG);
    floe_hmac_free(h[0]);
    floe_hmac_free(h[1]);
}

int main(void)
{
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL allocated already\n");
        return 1;
    }
    FLOE_RUN(test_hmac_sha1_rfc2202);
    FLOE_RUN(test_hmac_sha256_reuse);
    FLOE_RUN(test_hmac_long_and_empty_keys);
    FLOE_RUN(test_hmac_no_allocation);
    FLOE_RUN(test_digests);
    FLOE_RUN(test_base64);
    FLOE_RUN(test_random);
    return floe_test_summary();
}
