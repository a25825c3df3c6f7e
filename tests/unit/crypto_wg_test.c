/*
 * WireGuard crypto against published vectors:
 *   X25519              RFC 7748 sections 5.2 (incl. the 1 and 1000 iteration results) and 6.1;
 *                       small-order points of the usual blocklist (cr.yp.to/ecdh.html, libsodium).
 *   ChaCha20-Poly1305   RFC 8439 section 2.8.2 and appendix A.5.
 *   HChaCha20 / XChaCha draft-irtf-cfrg-xchacha-03 sections 2.2.1 and A.3.1.
 *   BLAKE2s             RFC 7693 appendix B ("abc"), the reference blake2s-kat.txt (keyed with
 *                       000102..1f: empty and 00 input; unkeyed 64-byte 000102..3f).
 *   HMAC-BLAKE2s, KDF   values from Python 3.11 hashlib.blake2s + hmac (independent code):
 *                       python3 -c 'import hashlib,hmac; hmac.new(k, m, hashlib.blake2s)...'
 *                       with KDF_n built as in the WireGuard paper section 5.4.
 */
#include "floe/crypto_wg.h"
#include "test.h"

static size_t hex(uint8_t *out, const char *s)
{
    size_t n = 0;

    while (s[0] && s[1]) {
        unsigned v;

        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void seq(uint8_t *out, size_t n, uint8_t start)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = (uint8_t)(start + i);
}

static const char ladies[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                             "one tip for the future, sunscreen would be it.";

/* ------------------------------------------------------------------ X25519 */

static void check_x25519(const char *scalar, const char *u, const char *expect)
{
    uint8_t k[32], pu[32], out[32], e[32];

    hex(k, scalar);
    hex(pu, u);
    hex(e, expect);
    CHECK_EQ(floe_x25519_shared(out, k, pu), 0);
    CHECK_MEM(out, e, 32);
}

static void test_x25519_rfc7748_5_2(void)
{
    check_x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                 "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                 "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    /* The u of this vector has bit 255 set: it must be ignored. */
    check_x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                 "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                 "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

static void test_x25519_rfc7748_iterated(void)
{
    uint8_t k[32] = {9}, u[32] = {9}, r[32], e1[32], e1000[32];
    int i;

    hex(e1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    hex(e1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    for (i = 1; i <= 1000; i++) {
        REQUIRE(floe_x25519_shared(r, k, u) == 0);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1)
            CHECK_MEM(k, e1, 32);
    }
    CHECK_MEM(k, e1000, 32);
}

static void test_x25519_rfc7748_6_1(void)
{
    uint8_t a[32], b[32], ea[32], eb[32], ek[32], pa[32], pb[32], k1[32], k2[32];

    hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    hex(ea, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    hex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    hex(eb, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    hex(ek, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    CHECK_EQ(floe_x25519_public(pa, a), 0);
    CHECK_EQ(floe_x25519_public(pb, b), 0);
    CHECK_MEM(pa, ea, 32);
    CHECK_MEM(pb, eb, 32);
    CHECK_EQ(floe_x25519_shared(k1, a, pb), 0);
    CHECK_EQ(floe_x25519_shared(k2, b, pa), 0);
    CHECK_MEM(k1, ek, 32);
    CHECK_MEM(k2, ek, 32);
}

static void test_x25519_keypair(void)
{
    struct floe_xoshiro x;
    struct floe_rng rng, none = {NULL, NULL};
    uint8_t pa[32], sa[32], pb[32], sb[32], p2[32], k1[32], k2[32], c[32];

    floe_xoshiro_seed(&x, floe_test_seed());
    rng = floe_xoshiro_rng(&x);
    REQUIRE(floe_x25519_keypair(pa, sa, &rng) == 0);
    REQUIRE(floe_x25519_keypair(pb, sb, &rng) == 0);
    CHECK_EQ(sa[0] & 7, 0);
    CHECK_EQ(sa[31] & 0xc0, 0x40);
    memcpy(c, sa, 32);
    floe_x25519_clamp(c);
    CHECK_MEM(c, sa, 32); /* already clamped: clamping is idempotent */
    CHECK_EQ(floe_x25519_public(p2, sa), 0);
    CHECK_MEM(p2, pa, 32);
    CHECK(memcmp(pa, pb, 32) != 0);
    CHECK_EQ(floe_x25519_shared(k1, sa, pb), 0);
    CHECK_EQ(floe_x25519_shared(k2, sb, pa), 0);
    CHECK_MEM(k1, k2, 32);
    CHECK_EQ(floe_x25519_keypair(pa, sa, &none), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_keypair(pa, sa, NULL), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_shared(NULL, sa, pb), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_public(pa, NULL), FLOE_ERR_INVALID_ARG);
}

static void test_x25519_small_order_rejected(void)
{
    static const char *const points[] = {
        "0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
        "0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
    };
    static const uint8_t zero[32];
    uint8_t a[32], pub[32], out[32];
    size_t i;

    hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        hex(pub, points[i]);
        memset(out, 0xaa, sizeof(out));
        CHECK_EQ(floe_x25519_shared(out, a, pub), FLOE_ERR_WEAK_KEY);
        CHECK_MEM(out, zero, 32);
    }
}

/* A loaded key serves many DHs, survives a refused peer key, and matches the one-shot. */
static void test_x25519_key_object(void)
{
    uint8_t a[32], b[32], pb[32], pa[32], ea[32], ek[32], k[32], bad[32] = {1}, zero[32] = {0};
    struct floe_x25519_key *ka = NULL;
    int i;

    hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    hex(ea, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    hex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    hex(pb, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    hex(ek, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    REQUIRE(floe_x25519_key_new(&ka, NULL, a) == 0);
    CHECK_EQ(floe_x25519_key_public(ka, pa), 0);
    CHECK_MEM(pa, ea, 32);
    for (i = 0; i < 3; i++) {
        memset(k, 0, sizeof(k));
        CHECK_EQ(floe_x25519_key_shared(ka, k, pb), 0);
        CHECK_MEM(k, ek, 32);
        memset(k, 0xaa, sizeof(k));
        CHECK_EQ(floe_x25519_key_shared(ka, k, bad), FLOE_ERR_WEAK_KEY);
        CHECK_MEM(k, zero, 32);
    }
    CHECK_EQ(floe_x25519_shared(k, b, pa), 0); /* the other side, one-shot */
    CHECK_MEM(k, ek, 32);
    CHECK_EQ(floe_x25519_key_shared(ka, NULL, pb), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_key_shared(NULL, k, pb), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_key_public(NULL, pa), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_x25519_key_new(NULL, NULL, a), FLOE_ERR_INVALID_ARG);
    floe_x25519_key_free(ka);
    floe_x25519_key_free(NULL);
}

/* ------------------------------------------------------- ChaCha20-Poly1305 */

static void test_aead_rfc8439_2_8_2(void)
{
    uint8_t key[32], nonce[12], ad[12], expect[130], c[130], m[114];
    struct floe_aead *a;

    seq(key, 32, 0x80);
    hex(nonce, "070000004041424344454647");
    hex(ad, "50515253c0c1c2c3c4c5c6c7");
    hex(expect, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                "3ff4def08e4b7a9de576d26586cec64b6116"
                "1ae10b594f09e26a7e902ecbd0600691");
    REQUIRE(strlen(ladies) == 114);
    REQUIRE(floe_aead_new(&a, NULL, key, sizeof(key)) == 0);
    CHECK_EQ(floe_aead_encrypt(a, c, (const uint8_t *)ladies, 114, ad, 12, nonce), 0);
    CHECK_MEM(c, expect, 130);
    CHECK_EQ(floe_aead_decrypt(a, m, c, 130, ad, 12, nonce), 0);
    CHECK_MEM(m, ladies, 114);
    /* In place, both ways, on the same context. */
    memcpy(c, ladies, 114);
    CHECK_EQ(floe_aead_encrypt(a, c, c, 114, ad, 12, nonce), 0);
    CHECK_MEM(c, expect, 130);
    CHECK_EQ(floe_aead_decrypt(a, c, c, 130, ad, 12, nonce), 0);
    CHECK_MEM(c, ladies, 114);
    floe_aead_free(a);
}

static const char a5_ct[] = "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
                            "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
                            "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
                            "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
                            "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
                            "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
                            "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
                            "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
                            "a6ad5cb4022b02709b"
                            "eead9d67890cbb22392336fea1851f38";

static const char a5_pt[] =
    "Internet-Drafts are draft documents valid for a maximum of six months and may be "
    "updated, replaced, or obsoleted by other documents at any time. It is inappropriate to "
    "use Internet-Drafts as reference material or to cite them other than as "
    "/\xe2\x80\x9cwork in progress./\xe2\x80\x9d";

/* A.5's nonce 00000000 0102030405060708 is WireGuard's nonce of counter 0x0807060504030201. */
static void test_aead_rfc8439_a5_counter_nonce(void)
{
    const uint64_t counter = 0x0807060504030201ull;
    uint8_t key[32], ad[12], c[281], m[265], c2[281], nonce[12], en[12];
    struct floe_aead *a;

    hex(key, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
    hex(ad, "f33388860000000000004e91");
    REQUIRE(hex(c, a5_ct) == 281);
    REQUIRE(strlen(a5_pt) == 265);
    hex(en, "000000000102030405060708");
    floe_aead_nonce_from_counter(nonce, counter);
    CHECK_MEM(nonce, en, 12);
    REQUIRE(floe_aead_new(&a, NULL, key, 32) == 0);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), ad, 12, counter), 0);
    CHECK_MEM(m, a5_pt, 265);
    CHECK_EQ(floe_aead_encrypt_ctr(a, c2, m, 265, ad, 12, counter), 0);
    CHECK_MEM(c2, c, 281);
    floe_aead_free(a);
    memset(m, 0, sizeof(m));
    CHECK_EQ(floe_aead_decrypt_oneshot(m, c, sizeof(c), ad, 12, counter, key), 0);
    CHECK_MEM(m, a5_pt, 265);
    CHECK_EQ(floe_aead_encrypt_oneshot(c2, m, 265, ad, 12, counter, key), 0);
    CHECK_MEM(c2, c, 281);
}

/* One context, many packets, out of order; empty plaintext and empty AD included. */
static void test_aead_context_reuse(void)
{
    uint8_t key[32], pkt[5][1420 + 16], m[1420], once[1420 + 16];
    static const size_t lens[5] = {0, 1, 63, 64, 1420};
    struct floe_aead *a;
    int i;

    seq(key, 32, 7);
    seq(m, sizeof(m), 0x21);
    REQUIRE(floe_aead_new(&a, NULL, key, 32) == 0);
    for (i = 0; i < 5; i++)
        CHECK_EQ(floe_aead_encrypt_ctr(a, pkt[i], m, lens[i], NULL, 0, (uint64_t)i), 0);
    for (i = 4; i >= 0; i--) {
        uint8_t out[1420];

        CHECK_EQ(floe_aead_encrypt_oneshot(once, m, lens[i], NULL, 0, (uint64_t)i, key), 0);
        CHECK_MEM(once, pkt[i], lens[i] + 16);
        CHECK_EQ(floe_aead_decrypt_ctr(a, out, pkt[i], lens[i] + 16, NULL, 0, (uint64_t)i), 0);
        CHECK_MEM(out, m, lens[i]);
    }
    /* Same plaintext, different counters: different ciphertexts and tags. */
    CHECK(memcmp(pkt[4], pkt[3], 64 + 16) != 0);
    floe_aead_free(a);
}

static void test_aead_tampering_rejected(void)
{
    uint8_t key[32], ad[8] = "header!", c[100 + 16], bad[100 + 16], m[100], zero[100] = {0};
    struct floe_aead *a;
    size_t pos[3] = {0, 99, 100 + 15}; /* first ciphertext byte, last one, last tag byte */
    int i;

    seq(key, 32, 1);
    seq(m, sizeof(m), 0);
    REQUIRE(floe_aead_new(&a, NULL, key, 32) == 0);
    REQUIRE(floe_aead_encrypt_ctr(a, c, m, 100, ad, 8, 42) == 0);
    for (i = 0; i < 3; i++) {
        memcpy(bad, c, sizeof(c));
        bad[pos[i]] ^= 0x01;
        memset(m, 0x55, sizeof(m));
        CHECK_EQ(floe_aead_decrypt_ctr(a, m, bad, sizeof(bad), ad, 8, 42), FLOE_ERR_INTEGRITY);
        CHECK_MEM(m, zero, 100); /* nothing unauthenticated is left behind */
    }
    ad[0] ^= 1;
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), ad, 8, 42), FLOE_ERR_INTEGRITY);
    ad[0] ^= 1;
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), ad, 7, 42), FLOE_ERR_INTEGRITY);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), ad, 8, 43), FLOE_ERR_INTEGRITY);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), NULL, 0, 42), FLOE_ERR_INTEGRITY);
    /* In place: the tampered buffer is zeroed, not left half-decrypted. */
    memcpy(bad, c, sizeof(c));
    bad[3] ^= 0x80;
    CHECK_EQ(floe_aead_decrypt_ctr(a, bad, bad, sizeof(bad), ad, 8, 42), FLOE_ERR_INTEGRITY);
    CHECK_MEM(bad, zero, 100);
    /* The context still works after failures. */
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, sizeof(c), ad, 8, 42), 0);
    CHECK_EQ(m[99], 99);
    floe_aead_free(a);
}

static void test_aead_bad_arguments(void)
{
    uint8_t key[32] = {0}, c[32] = {0}, m[16];
    struct floe_aead *a = NULL;

    CHECK_EQ(floe_aead_new(&a, NULL, key, 16), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_new(&a, NULL, key, 33), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_new(&a, NULL, NULL, 32), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_new(NULL, NULL, key, 32), FLOE_ERR_INVALID_ARG);
    CHECK(a == NULL);
    REQUIRE(floe_aead_new(&a, NULL, key, 32) == 0);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, 15, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, 0, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, NULL, 16, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, 16, NULL, 4, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_encrypt_ctr(a, NULL, m, 1, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_encrypt_ctr(a, c, m, FLOE_AEAD_MAX_LEN + 1, NULL, 0, 0),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_aead_encrypt_ctr(NULL, c, m, 1, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    /* An empty message is fine: only the tag. */
    CHECK_EQ(floe_aead_encrypt_ctr(a, c, NULL, 0, NULL, 0, 0), 0);
    CHECK_EQ(floe_aead_decrypt_ctr(a, m, c, 16, NULL, 0, 0), 0);
    floe_aead_free(a);
    floe_aead_free(NULL);
}

struct counting_alloc {
    int allocs, frees, fail;
};

static void *counting_malloc(size_t size, void *user)
{
    struct counting_alloc *c = user;

    if (c->fail)
        return NULL;
    c->allocs++;
    return malloc(size);
}

static void counting_free(void *p, void *user)
{
    struct counting_alloc *c = user;

    c->frees++;
    free(p);
}

/* Contexts go through the caller's allocator, and an allocation failure is NOMEM. */
static void test_contexts_use_allocator(void)
{
    struct counting_alloc count = {0, 0, 0};
    struct floe_allocator alloc = {counting_malloc, NULL, counting_free, &count};
    struct floe_aead *a = NULL;
    struct floe_x25519_key *k = NULL;
    uint8_t key[32] = {1};

    REQUIRE(floe_aead_new(&a, &alloc, key, 32) == 0);
    REQUIRE(floe_x25519_key_new(&k, &alloc, key) == 0);
    CHECK_EQ(count.allocs, 2);
    floe_aead_free(a);
    floe_x25519_key_free(k);
    CHECK_EQ(count.frees, 2);
    count.fail = 1;
    a = NULL;
    k = NULL;
    CHECK_EQ(floe_aead_new(&a, &alloc, key, 32), FLOE_ERR_NOMEM);
    CHECK_EQ(floe_x25519_key_new(&k, &alloc, key), FLOE_ERR_NOMEM);
    CHECK(a == NULL && k == NULL);
}

/* ------------------------------------------------------ XChaCha20-Poly1305 */

static void test_hchacha20_draft_2_2_1(void)
{
    uint8_t key[32], nonce[16], out[32], expect[32];

    seq(key, 32, 0);
    hex(nonce, "000000090000004a0000000031415927");
    hex(expect, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
    floe_hchacha20(out, key, nonce);
    CHECK_MEM(out, expect, 32);
}

static void test_xaead_draft_a_3_1(void)
{
    uint8_t key[32], nonce[24], ad[12], expect[130], c[130], m[114];

    seq(key, 32, 0x80);
    seq(nonce, 24, 0x40);
    hex(ad, "50515253c0c1c2c3c4c5c6c7");
    hex(expect, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
                "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
                "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                "21f9664c97637da9768812f615c68b13b52e"
                "c0875924c1c7987947deafd8780acf49");
    CHECK_EQ(floe_xaead_encrypt(c, (const uint8_t *)ladies, 114, ad, 12, nonce, key), 0);
    CHECK_MEM(c, expect, 130);
    CHECK_EQ(floe_xaead_decrypt(m, c, 130, ad, 12, nonce, key), 0);
    CHECK_MEM(m, ladies, 114);
    nonce[23] ^= 1; /* the part of the nonce that is not hashed into the subkey */
    CHECK_EQ(floe_xaead_decrypt(m, c, 130, ad, 12, nonce, key), FLOE_ERR_INTEGRITY);
    nonce[23] ^= 1;
    nonce[0] ^= 1; /* the part that is */
    CHECK_EQ(floe_xaead_decrypt(m, c, 130, ad, 12, nonce, key), FLOE_ERR_INTEGRITY);
    nonce[0] ^= 1;
    c[129] ^= 1;
    CHECK_EQ(floe_xaead_decrypt(m, c, 130, ad, 12, nonce, key), FLOE_ERR_INTEGRITY);
    CHECK_EQ(floe_xaead_decrypt(m, c, 15, ad, 12, nonce, key), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_xaead_encrypt(c, m, 1, ad, 12, NULL, key), FLOE_ERR_INVALID_ARG);
}

/* ----------------------------------------------------------------- BLAKE2s */

static void test_blake2s_published(void)
{
    uint8_t key[32], in[64], out[32], e[32];

    seq(key, 32, 0);
    seq(in, 64, 0);
    hex(e, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    CHECK_EQ(floe_blake2s(out, 32, (const uint8_t *)"abc", 3, NULL, 0), 0); /* RFC 7693 B */
    CHECK_MEM(out, e, 32);
    hex(e, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    CHECK_EQ(floe_blake2s(out, 32, NULL, 0, NULL, 0), 0);
    CHECK_MEM(out, e, 32);
    hex(e, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
    CHECK_EQ(floe_blake2s(out, 32, NULL, 0, key, 32), 0); /* blake2s-kat keyed, in = "" */
    CHECK_MEM(out, e, 32);
    hex(e, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1");
    CHECK_EQ(floe_blake2s(out, 32, in, 1, key, 32), 0); /* keyed, in = 00 */
    CHECK_MEM(out, e, 32);
    hex(e, "56f34e8b96557e90c1f24b52d0c89d51086acf1b00f634cf1dde9233b8eaaa3e");
    CHECK_EQ(floe_blake2s(out, 32, in, 64, NULL, 0), 0); /* exactly one block */
    CHECK_MEM(out, e, 32);
}

static void test_blake2s_streaming_and_params(void)
{
    static const size_t chunks[] = {1, 5, 63, 64, 65, 200};
    uint8_t in[200], key[32], key7[7], out[32], e[32], e_keyed[32], e20[20];
    struct floe_blake2s s;
    size_t i, off;

    seq(in, sizeof(in), 0);
    seq(key, 32, 0);
    seq(key7, 7, 9);
    hex(e, "6d244e1a06ce4ef578dd0f63aff0936706735119ca9c8d22d86c801414ab9741");
    hex(e_keyed, "13c88480a5d00d6c8c7ad2110d76a82d9b70f4fa6696d4e5dd42a066dcaf9920");
    hex(e20, "2f7854666406aa0a7946700593c41bd45951c802");
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        REQUIRE(floe_blake2s_init(&s, 32, key, 32) == 0);
        for (off = 0; off < sizeof(in); off += chunks[i]) {
            size_t n = sizeof(in) - off < chunks[i] ? sizeof(in) - off : chunks[i];

            floe_blake2s_update(&s, in + off, n);
        }
        floe_blake2s_final(&s, out);
        CHECK_MEM(out, e_keyed, 32);
    }
    CHECK_EQ(floe_blake2s(out, 32, in, 200, NULL, 0), 0);
    CHECK_MEM(out, e, 32);
    CHECK_EQ(floe_blake2s(out, 20, in, 65, key7, 7), 0);
    CHECK_MEM(out, e20, 20);
    CHECK_EQ(floe_blake2s(out, 0, in, 1, NULL, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s(out, 33, in, 1, NULL, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s(out, 32, in, 1, key, 33), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s(out, 32, NULL, 1, NULL, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s_init(&s, 32, NULL, 4), FLOE_ERR_INVALID_ARG);
}

static void test_blake2s_wireguard_hash_and_mac(void)
{
    static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
    static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
    uint8_t ck[32], h[32], e[32], key[32], in[116], mac[16], emac[16];
    struct floe_span parts[2];

    parts[0] = floe_span_make(construction, strlen(construction));
    floe_blake2s_hash(ck, parts, 1);
    hex(e, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
    CHECK_MEM(ck, e, 32);
    parts[0] = floe_span_make(ck, 32);
    parts[1] = floe_span_make(identifier, strlen(identifier));
    floe_blake2s_hash(h, parts, 2);
    hex(e, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
    CHECK_MEM(h, e, 32);

    seq(key, 32, 0);
    seq(in, sizeof(in), 0);
    hex(emac, "072e94ffbfc684bd8ab2a1b9dade2fd5");
    CHECK_EQ(floe_blake2s_mac(mac, key, 32, in, sizeof(in)), 0);
    CHECK_MEM(mac, emac, 16);
    CHECK(floe_blake2s_mac_verify(emac, mac));
    mac[15] ^= 1;
    CHECK(!floe_blake2s_mac_verify(emac, mac));
    CHECK_EQ(floe_blake2s_mac(mac, key, 0, in, 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s_mac(mac, key, 33, in, 1), FLOE_ERR_INVALID_ARG);
}

static void test_hmac_blake2s(void)
{
    uint8_t key[100], in[200], out[32], e[32], hk[32], viahash[32];
    const char *msg = "WireGuard HMAC-BLAKE2s";
    struct floe_span part;

    seq(key, 32, 0);
    hex(e, "7dfc48d55f3e5c62ff6bff3e10efcc22bbe8945bbb6f92717144e209a922f74f");
    floe_blake2s_hmac(out, key, 32, (const uint8_t *)msg, strlen(msg));
    CHECK_MEM(out, e, 32);
    hex(e, "4a79a31b10a8c34b7c89735b8088e6b810b4bad4f36d671b65ca2ea0914952bf");
    floe_blake2s_hmac(out, NULL, 0, (const uint8_t *)"abc", 3);
    CHECK_MEM(out, e, 32);
    seq(key, 64, 0x40);
    hex(e, "c8c3833c13a7a183748a183befdccec80752aae4727688fcd52fe51edba84b37");
    floe_blake2s_hmac(out, key, 64, NULL, 0); /* a key of exactly one block */
    CHECK_MEM(out, e, 32);
    seq(key, 100, 0);
    seq(in, 200, 0);
    hex(e, "c4c95271905c6f69c1dd7c6fbc0cb3735457a660ccc2c4370f28825e7abef5af");
    floe_blake2s_hmac(out, key, 100, in, 200);
    CHECK_MEM(out, e, 32);
    /* RFC 2104: a key longer than the block is replaced by its hash. */
    part = floe_span_make(key, 100);
    floe_blake2s_hash(hk, &part, 1);
    floe_blake2s_hmac(viahash, hk, 32, in, 200);
    CHECK_MEM(viahash, out, 32);
}

static void test_wireguard_kdf(void)
{
    uint8_t ck[32], in[32], t1[32], t2[32], t3[32], k1[32], e1[32], e2[32], e3[32];

    hex(ck, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
    seq(in, 32, 0);
    hex(e1, "6ff66e10ab4a55ac8144a867fcd9f8ee64d4bd6239223338cb3437cf085ab031");
    hex(e2, "203b22d63d63e35cebb9e40210cf8c1d7f90879428a4c766cda9ef34bb299398");
    hex(e3, "35a7b2fc3e4f59db341dbe588e3b75897980c463d5bbb855f8ed8134ff40133a");
    CHECK_EQ(floe_blake2s_kdf(k1, NULL, NULL, ck, in, 32), 0); /* KDF1 */
    CHECK_MEM(k1, e1, 32);
    memset(t1, 0, 32);
    CHECK_EQ(floe_blake2s_kdf(t1, t2, NULL, ck, in, 32), 0); /* KDF2 */
    CHECK_MEM(t1, e1, 32);
    CHECK_MEM(t2, e2, 32);
    CHECK_EQ(floe_blake2s_kdf(t1, t2, t3, ck, in, 32), 0); /* KDF3 */
    CHECK_MEM(t1, e1, 32);
    CHECK_MEM(t2, e2, 32);
    CHECK_MEM(t3, e3, 32);
    /* The handshake writes the new chaining key over the old one. */
    memcpy(k1, ck, 32);
    CHECK_EQ(floe_blake2s_kdf(k1, t2, NULL, k1, in, 32), 0);
    CHECK_MEM(k1, e1, 32);
    CHECK_MEM(t2, e2, 32);
    hex(e1, "bd968725a9177942a8c2e4253d1dde31cf7b19ec001b4a3a3d141cd9d998d3ba");
    hex(e2, "aab5462b323780fa615bf80ffe469510239ff361575a663968e686a7ae41d693");
    hex(e3, "ae1e06e0931da10b9971bab8e282b42307522b38c0f4492cdd1bf44298126887");
    CHECK_EQ(floe_blake2s_kdf(t1, t2, t3, ck, NULL, 0), 0); /* empty input */
    CHECK_MEM(t1, e1, 32);
    CHECK_MEM(t2, e2, 32);
    CHECK_MEM(t3, e3, 32);
    CHECK_EQ(floe_blake2s_kdf(NULL, t2, NULL, ck, in, 32), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s_kdf(t1, NULL, t3, ck, in, 32), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s_kdf(t1, NULL, NULL, NULL, in, 32), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_blake2s_kdf(t1, NULL, NULL, ck, NULL, 1), FLOE_ERR_INVALID_ARG);
}

int main(void)
{
    FLOE_RUN(test_x25519_rfc7748_5_2);
    FLOE_RUN(test_x25519_rfc7748_iterated);
    FLOE_RUN(test_x25519_rfc7748_6_1);
    FLOE_RUN(test_x25519_keypair);
    FLOE_RUN(test_x25519_small_order_rejected);
    FLOE_RUN(test_x25519_key_object);
    FLOE_RUN(test_aead_rfc8439_2_8_2);
    FLOE_RUN(test_aead_rfc8439_a5_counter_nonce);
    FLOE_RUN(test_aead_context_reuse);
    FLOE_RUN(test_aead_tampering_rejected);
    FLOE_RUN(test_aead_bad_arguments);
    FLOE_RUN(test_contexts_use_allocator);
    FLOE_RUN(test_hchacha20_draft_2_2_1);
    FLOE_RUN(test_xaead_draft_a_3_1);
    FLOE_RUN(test_blake2s_published);
    FLOE_RUN(test_blake2s_streaming_and_params);
    FLOE_RUN(test_blake2s_wireguard_hash_and_mac);
    FLOE_RUN(test_hmac_blake2s);
    FLOE_RUN(test_wireguard_kdf);
    return floe_test_summary();
}
