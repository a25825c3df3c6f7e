/*
 * STUN codec: RFC 5769 vectors (decode, verify, re-encode), builder rules,
 * getter validation, a round-trip property over every attribute kind and
 * garbage-in properties. Property tests print their seed (FLOE_TEST_SEED).
 */
#include "floe/stun.h"
#include "test.h"

#define VEC_PASSWORD "VOkJxbRl1RmTxUk/WvJxBt"
#define MSG_CAP 2048

static const uint8_t vec_txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9 in UTF-8 */
static const uint8_t vec_lt_user[18] = {0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa,
                                        0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9};

/* Read tests/vectors/rfc5769/<name>: hex byte pairs, '#' comments. Returns the length. */
static size_t load_vector(const char *name, uint8_t *out, size_t cap)
{
    char path[512], line[512];
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/rfc5769/%s", FLOE_VECTORS_DIR, name);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *hash = strchr(line, '#');
        unsigned v;
        int used;

        if (hash)
            *hash = '\0';
        while (n < cap && sscanf(p, " %2x%n", &v, &used) == 1) {
            out[n++] = (uint8_t)v;
            p += used;
        }
    }
    fclose(f);
    return n;
}

static struct floe_hmac *hmac_new(enum floe_hmac_alg alg, const void *key, size_t len)
{
    struct floe_hmac *h = NULL;

    if (floe_hmac_new(&h, NULL, alg, (const uint8_t *)key, len) < 0)
        return NULL;
    return h;
}

static bool span_is(struct floe_span s, const void *p, size_t len)
{
    return s.len == len && (len == 0 || memcmp(s.ptr, p, len) == 0);
}

/* Decode a heap copy of exactly len bytes so that ASan sees any over-read. */
static int decode_copy(struct floe_stun_msg *msg, uint8_t **copy, const uint8_t *buf, size_t len)
{
    *copy = malloc(len ? len : 1);
    if (len)
        memcpy(*copy, buf, len);
    return floe_stun_decode(msg, *copy, len);
}

/* ------------------------------------------------------------ RFC 5769 */

static void test_rfc5769_sample_request(void)
{
    uint8_t buf[MSG_CAP];
    size_t len = load_vector("sample_request.hex", buf, sizeof(buf));
    struct floe_hmac *h = hmac_new(FLOE_HMAC_SHA1, VEC_PASSWORD, strlen(VEC_PASSWORD));
    struct floe_stun_msg msg;
    struct floe_span s;
    uint32_t prio;
    uint64_t tie;

    REQUIRE(len == 108 && h);
    REQUIRE(floe_stun_decode(&msg, buf, len) == 0);
    CHECK_EQ(msg.method, FLOE_STUN_BINDING);
    CHECK_EQ(msg.cls, FLOE_STUN_REQUEST);
    CHECK_MEM(msg.txid, vec_txid, 12);
    CHECK_EQ(msg.n_attrs, 6);
    CHECK_EQ(msg.n_unknown, 0);
    CHECK_EQ(floe_stun_verify_integrity(&msg, h), 0);
    CHECK_EQ(floe_stun_verify_fingerprint(&msg), 0);
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_SOFTWARE, &s), 0);
    CHECK(span_is(s, "STUN test client", 16));
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_USERNAME, &s), 0);
    CHECK(span_is(s, "evtj:h6vY", 9));
    {
        char user[10] = "xxxxxxxxx";

        CHECK_EQ(floe_stun_get_string(&msg, FLOE_STUN_ATTR_USERNAME, user, 9),
                 FLOE_ERR_BUFFER_TOO_SMALL); /* no room for the NUL */
        CHECK_STR(user, "xxxxxxxxx");
        CHECK_EQ(floe_stun_get_string(&msg, FLOE_STUN_ATTR_USERNAME, user, sizeof(user)), 0);
        CHECK_STR(user, "evtj:h6vY");
        CHECK_EQ(floe_stun_get_string(&msg, FLOE_STUN_ATTR_REALM, user, sizeof(user)),
                 FLOE_ERR_NOT_FOUND);
        CHECK_EQ(floe_stun_get_string(&msg, FLOE_STUN_ATTR_REALM, NULL, 4), FLOE_ERR_INVALID_ARG);
    }
    CHECK_EQ(floe_stun_get_u32(&msg, FLOE_STUN_ATTR_PRIORITY, &prio), 0);
    CHECK_EQ(prio, 0x6e0001ffu);
    CHECK_EQ(floe_stun_get_u64(&msg, FLOE_STUN_ATTR_ICE_CONTROLLED, &tie), 0);
    CHECK(tie == 0x932ff9b151263b36ull);
    CHECK_EQ(floe_stun_verify_integrity_key(&msg, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", 22),
             FLOE_ERR_INTEGRITY);
    floe_hmac_free(h);
}

static void check_vector_response(const char *name, size_t expect_len, const char *addr)
{
    uint8_t buf[MSG_CAP];
    size_t len = load_vector(name, buf, sizeof(buf));
    struct floe_stun_msg msg;
    struct floe_addr got, want;
    struct floe_span s;

    REQUIRE(len == expect_len);
    REQUIRE(floe_addr_parse(addr, &want) == 0);
    REQUIRE(floe_stun_decode(&msg, buf, len) == 0);
    CHECK_EQ(msg.method, FLOE_STUN_BINDING);
    CHECK_EQ(msg.cls, FLOE_STUN_SUCCESS);
    CHECK_EQ(
        floe_stun_verify_integrity_key(&msg, (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD)),
        0);
    CHECK_EQ(floe_stun_verify_fingerprint(&msg), 0);
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_SOFTWARE, &s), 0);
    CHECK(span_is(s, "test vector", 11));
    CHECK_EQ(floe_stun_get_xor_addr(&msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &got), 0);
    CHECK(floe_addr_eq(&got, &want));
    CHECK_EQ(floe_stun_get_addr(&msg, FLOE_STUN_ATTR_MAPPED_ADDRESS, &got), FLOE_ERR_NOT_FOUND);
}

static void test_rfc5769_responses(void)
{
    check_vector_response("sample_ipv4_response.hex", 80, "192.0.2.1:32853");
    check_vector_response("sample_ipv6_response.hex", 92,
                          "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static int long_term_key(uint8_t key[FLOE_MD5_LEN])
{
    return floe_stun_long_term_key_md5(key, floe_span_make(vec_lt_user, sizeof(vec_lt_user)),
                                       floe_span_make("example.org", 11),
                                       floe_span_make("TheMatrIX", 9));
}

static void test_rfc5769_long_term(void)
{
    uint8_t buf[MSG_CAP], key[FLOE_MD5_LEN];
    size_t len = load_vector("long_term_request.hex", buf, sizeof(buf));
    struct floe_stun_msg msg;
    struct floe_span s;

    REQUIRE(len == 116);
    REQUIRE(long_term_key(key) == 0);
    REQUIRE(floe_stun_decode(&msg, buf, len) == 0);
    CHECK_EQ(msg.method, FLOE_STUN_BINDING);
    CHECK_EQ(msg.cls, FLOE_STUN_REQUEST);
    CHECK_EQ(floe_stun_verify_integrity_key(&msg, key, sizeof(key)), 0);
    CHECK_EQ(floe_stun_verify_fingerprint(&msg), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_USERNAME, &s), 0);
    CHECK(span_is(s, vec_lt_user, sizeof(vec_lt_user)));
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_REALM, &s), 0);
    CHECK(span_is(s, "example.org", 11));
    CHECK_EQ(floe_stun_get_span(&msg, FLOE_STUN_ATTR_NONCE, &s), 0);
    CHECK(span_is(s, "f//499k954d6OL34oL9FSTvy64sA", 28));
    key[0] ^= 1;
    CHECK_EQ(floe_stun_verify_integrity_key(&msg, key, sizeof(key)), FLOE_ERR_INTEGRITY);
}

/*
 * Every single-byte change of a vector is caught by decode, MI or FINGERPRINT.
 * A receiver that expects FINGERPRINT (ICE, RFC 8445 section 7.2.2) treats its
 * absence as a failure: a flipped FINGERPRINT type turns it into an ignored
 * attribute after MESSAGE-INTEGRITY.
 */
static void check_flips(const char *name, const uint8_t *key, size_t key_len, bool want_fp)
{
    uint8_t buf[MSG_CAP];
    size_t len = load_vector(name, buf, sizeof(buf)), i, caught = 0;
    struct floe_hmac *h = hmac_new(FLOE_HMAC_SHA1, key, key_len);

    REQUIRE(len > 20 && h);
    for (i = 0; i < len; i++) {
        struct floe_stun_msg msg;
        uint8_t *copy;
        int rc;

        buf[i] ^= 0x5a;
        rc = decode_copy(&msg, &copy, buf, len);
        if (rc < 0 || floe_stun_verify_integrity(&msg, h) != 0 ||
            (want_fp && floe_stun_verify_fingerprint(&msg) != 0))
            caught++;
        else
            fprintf(stderr, "  %s: flip at %zu not caught\n", name, i);
        free(copy);
        buf[i] ^= 0x5a;
    }
    CHECK_EQ(caught, len);
    floe_hmac_free(h);
}

static void test_rfc5769_flips(void)
{
    uint8_t key[FLOE_MD5_LEN];

    REQUIRE(long_term_key(key) == 0);
    check_flips("sample_request.hex", (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD), true);
    check_flips("sample_ipv4_response.hex", (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD),
                true);
    check_flips("sample_ipv6_response.hex", (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD),
                true);
    check_flips("long_term_request.hex", key, sizeof(key), false);
}

/*
 * The RFC pads with 0x20 where the builder writes zeros. Rewriting the last n
 * bytes written (the padding) before integrity is added reproduces the RFC's
 * bytes, so the whole message, MI and FINGERPRINT included, must match.
 */
static void pad_like_rfc(struct floe_stun_builder *b, size_t n)
{
    memset(b->w.buf + b->w.len - n, 0x20, n);
}

static void test_rfc5769_reencode_request(void)
{
    uint8_t want[MSG_CAP], got[MSG_CAP];
    size_t len = load_vector("sample_request.hex", want, sizeof(want));
    struct floe_stun_builder b;

    REQUIRE(len == 108);
    floe_stun_build_init(&b, got, sizeof(got), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, vec_txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_SOFTWARE, "STUN test client", 16);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 0x6e0001ffu);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ull);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "evtj:h6vY", 9);
    /* Identical up to the RFC's 0x20 padding; the length field is not final yet. */
    CHECK_MEM(got, want, 2);
    CHECK_MEM(got + 4, want + 4, b.w.len - 3 - 4);
    pad_like_rfc(&b, 3);
    floe_stun_add_integrity_key(&b, (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD));
    floe_stun_add_fingerprint(&b);
    REQUIRE(floe_stun_build_finish(&b) == (long)len);
    CHECK_MEM(got, want, len);
}

static void check_reencode_response(const char *name, const char *addr)
{
    uint8_t want[MSG_CAP], got[MSG_CAP];
    size_t len = load_vector(name, want, sizeof(want));
    struct floe_stun_builder b;
    struct floe_addr a;

    REQUIRE(len > 20 && floe_addr_parse(addr, &a) == 0);
    floe_stun_build_init(&b, got, sizeof(got), FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, vec_txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_SOFTWARE, "test vector", 11);
    CHECK_MEM(got, want, 2);
    CHECK_MEM(got + 4, want + 4, b.w.len - 1 - 4);
    pad_like_rfc(&b, 1);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
    floe_stun_add_integrity_key(&b, (const uint8_t *)VEC_PASSWORD, strlen(VEC_PASSWORD));
    floe_stun_add_fingerprint(&b);
    REQUIRE(floe_stun_build_finish(&b) == (long)len);
    CHECK_MEM(got, want, len);
}

static void test_rfc5769_reencode_responses(void)
{
    check_reencode_response("sample_ipv4_response.hex", "192.0.2.1:32853");
    check_reencode_response("sample_ipv6_response.hex",
                            "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

/* The long-term vector pads with zeros, so the builder reproduces it unchanged. */
static void test_rfc5769_reencode_long_term(void)
{
    static const uint8_t txid[12] = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                                     0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
    uint8_t want[MSG_CAP], got[MSG_CAP], key[FLOE_MD5_LEN];
    size_t len = load_vector("long_term_request.hex", want, sizeof(want));
    struct floe_stun_builder b;

    REQUIRE(len == 116 && long_term_key(key) == 0);
    floe_stun_build_init(&b, got, sizeof(got), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, vec_lt_user, sizeof(vec_lt_user));
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, "example.org", 11);
    floe_stun_add_integrity_key(&b, key, sizeof(key));
    REQUIRE(floe_stun_build_finish(&b) == (long)len);
    CHECK_MEM(got, want, len);
}

/* --------------------------------------------------------------- builder */

static void test_message_type_bits(void)
{
    static const struct {
        uint16_t method;
        uint8_t cls;
        uint8_t b0, b1;
    } cases[] = {
        {FLOE_STUN_BINDING, FLOE_STUN_REQUEST, 0x00, 0x01},
        {FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, 0x01, 0x01},
        {FLOE_STUN_BINDING, FLOE_STUN_ERROR, 0x01, 0x11},
        {FLOE_STUN_ALLOCATE, FLOE_STUN_ERROR, 0x01, 0x13},
        {FLOE_STUN_DATA, FLOE_STUN_INDICATION, 0x00, 0x17},
        {FLOE_STUN_SEND, FLOE_STUN_INDICATION, 0x00, 0x16},
        {FLOE_STUN_CHANNEL_BIND, FLOE_STUN_SUCCESS, 0x01, 0x09},
        {0x0FFF, FLOE_STUN_ERROR, 0x3F, 0xFF},
        {0x0F80, FLOE_STUN_REQUEST, 0x3E, 0x00},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[64];
        struct floe_stun_builder b;
        struct floe_stun_msg msg;

        floe_stun_build_init(&b, buf, sizeof(buf), cases[i].method, cases[i].cls, vec_txid);
        REQUIRE(floe_stun_build_finish(&b) == 20);
        CHECK_EQ(buf[0], cases[i].b0);
        CHECK_EQ(buf[1], cases[i].b1);
        REQUIRE(floe_stun_decode(&msg, buf, 20) == 0);
        CHECK_EQ(msg.method, cases[i].method);
        CHECK_EQ(msg.cls, cases[i].cls);
        CHECK(floe_stun_is_message(buf, 20));
        CHECK(!floe_stun_is_message(buf, 24));
    }
}

static void test_builder_sticky_overflow(void)
{
    uint8_t buf[40];
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, vec_txid);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1);                /* 28 bytes */
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, "0123456789ab", 12); /* does not fit */
    CHECK_EQ(b.w.len, 28);
    floe_stun_add_flag(&b, FLOE_STUN_ATTR_USE_CANDIDATE); /* would fit: sticky error */
    CHECK_EQ(b.w.len, 28);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_BUFFER_TOO_SMALL);
    floe_stun_build_init(&b, buf, 10, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, vec_txid);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_BUFFER_TOO_SMALL);
    floe_stun_build_init(&b, buf, sizeof(buf), 0x1000, FLOE_STUN_REQUEST, vec_txid);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, 4, vec_txid);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, NULL);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_stun_build_finish(NULL), FLOE_ERR_INVALID_ARG);
}

/* One builder step expected to fail with err. */
typedef void (*builder_step)(struct floe_stun_builder *b, struct floe_hmac *h1,
                             struct floe_hmac *h256);

static void step_attr_after_mi(struct floe_stun_builder *b, struct floe_hmac *h1,
                               struct floe_hmac *h256)
{
    (void)h256;
    floe_stun_add_integrity(b, h1);
    floe_stun_add_u32(b, FLOE_STUN_ATTR_PRIORITY, 1);
}

static void step_mi_twice(struct floe_stun_builder *b, struct floe_hmac *h1, struct floe_hmac *h256)
{
    (void)h256;
    floe_stun_add_integrity(b, h1);
    floe_stun_add_integrity(b, h1);
}

static void step_mi_after_sha256(struct floe_stun_builder *b, struct floe_hmac *h1,
                                 struct floe_hmac *h256)
{
    floe_stun_add_integrity_sha256(b, h256);
    floe_stun_add_integrity(b, h1);
}

static void step_anything_after_fp(struct floe_stun_builder *b, struct floe_hmac *h1,
                                   struct floe_hmac *h256)
{
    (void)h256;
    floe_stun_add_fingerprint(b);
    floe_stun_add_integrity(b, h1);
}

static void step_fp_twice(struct floe_stun_builder *b, struct floe_hmac *h1, struct floe_hmac *h256)
{
    (void)h1;
    (void)h256;
    floe_stun_add_fingerprint(b);
    floe_stun_add_fingerprint(b);
}

static void step_wrong_ctx(struct floe_stun_builder *b, struct floe_hmac *h1,
                           struct floe_hmac *h256)
{
    (void)h1;
    floe_stun_add_integrity(b, h256);
}

static void step_bad_values(struct floe_stun_builder *b, struct floe_hmac *h1,
                            struct floe_hmac *h256)
{
    (void)h1;
    (void)h256;
    floe_stun_add_error(b, 299, "x");
}

static void test_builder_rules(void)
{
    static const struct {
        builder_step step;
        int err;
    } cases[] = {
        {step_attr_after_mi, FLOE_ERR_STUN_ATTR_ORDER},
        {step_mi_twice, FLOE_ERR_STUN_ATTR_ORDER},
        {step_mi_after_sha256, FLOE_ERR_STUN_ATTR_ORDER},
        {step_anything_after_fp, FLOE_ERR_STUN_ATTR_ORDER},
        {step_fp_twice, FLOE_ERR_STUN_ATTR_ORDER},
        {step_wrong_ctx, FLOE_ERR_INVALID_ARG},
        {step_bad_values, FLOE_ERR_INVALID_ARG},
    };
    struct floe_hmac *h1 = hmac_new(FLOE_HMAC_SHA1, "k", 1);
    struct floe_hmac *h256 = hmac_new(FLOE_HMAC_SHA256, "k", 1);
    size_t i;

    REQUIRE(h1 && h256);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[256];
        struct floe_stun_builder b;

        floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, vec_txid);
        cases[i].step(&b, h1, h256);
        CHECK_EQ(floe_stun_build_finish(&b), cases[i].err);
    }
    floe_hmac_free(h1);
    floe_hmac_free(h256);
}

/* Invalid values each make finish fail with FLOE_ERR_INVALID_ARG. */
static void test_builder_invalid_values(void)
{
    static const struct floe_addr bad_family = {.family = 5};
    uint8_t buf[256];
    struct floe_stun_builder b;
    int i;

    for (i = 0; i < 11; i++) {
        floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_ALLOCATE, FLOE_STUN_ERROR, vec_txid);
        switch (i) {
        case 0:
            floe_stun_add_error(&b, 700, "x");
            break;
        case 1:
            floe_stun_add_error(&b, 400, NULL);
            break;
        case 2:
            floe_stun_add_address_error(&b, 3, 440, "x");
            break;
        case 3:
            floe_stun_add_family(&b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0);
            break;
        case 4:
            floe_stun_add_channel(&b, 0x3FFF);
            break;
        case 5:
            floe_stun_add_channel(&b, 0x5000);
            break;
        case 6:
            floe_stun_add_addr(&b, FLOE_STUN_ATTR_MAPPED_ADDRESS, &bad_family);
            break;
        case 7:
            floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, NULL);
            break;
        case 8:
            floe_stun_add_bytes(&b, FLOE_STUN_ATTR_FINGERPRINT, "abcd", 4);
            break;
        case 9:
            floe_stun_add_bytes(&b, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, NULL, 0);
            break;
        default:
            floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, NULL, 3);
            break;
        }
        CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
    }
}

/* 763-byte reasons are the limit; the header length tracks every attribute. */
static void test_builder_lengths(void)
{
    static uint8_t buf[70000], data[65528];
    static char reason[765];
    struct floe_stun_builder b;
    struct floe_stun_msg msg;
    struct floe_span s;
    int code;

    memset(reason, 'r', 763);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_ERROR, vec_txid);
    floe_stun_add_error(&b, 487, reason);
    CHECK_EQ(floe_load_be16(buf + 2), 4 + 4 + 764);
    REQUIRE(floe_stun_build_finish(&b) == 20 + 4 + 4 + 764);
    REQUIRE(floe_stun_decode(&msg, buf, (size_t)(20 + 4 + 4 + 764)) == 0);
    CHECK_EQ(floe_stun_get_error(&msg, &code, &s), 0);
    CHECK_EQ(code, 487);
    CHECK_EQ(s.len, 763);
    reason[763] = 'r';
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_ERROR, vec_txid);
    floe_stun_add_error(&b, 487, reason);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
    /* A body over 65532 bytes cannot be expressed in the length field. */
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_SEND, FLOE_STUN_INDICATION, vec_txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, data, sizeof(data));
    REQUIRE(floe_stun_build_finish(&b) == 20 + 65532);
    floe_stun_add_flag(&b, FLOE_STUN_ATTR_DONT_FRAGMENT);
    CHECK_EQ(floe_stun_build_finish(&b), FLOE_ERR_INVALID_ARG);
}

/* --------------------------------------------------------------- getters */

/* Getters for addresses, integers and spans. */
static int get_basic(const struct floe_stun_msg *m, uint16_t type)
{
    struct floe_addr a[2];
    struct floe_span s;
    uint32_t u32;
    uint64_t u64;

    switch (type) {
    case FLOE_STUN_ATTR_MAPPED_ADDRESS:
    case FLOE_STUN_ATTR_ALTERNATE_SERVER:
        return floe_stun_get_addr(m, type, a);
    case FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case FLOE_STUN_ATTR_XOR_PEER_ADDRESS:
    case FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS:
        return floe_stun_get_xor_addrs(m, type, a, 2) < 0 ? FLOE_ERR_STUN_BAD_ATTR
                                                          : floe_stun_get_xor_addr(m, type, a);
    case FLOE_STUN_ATTR_LIFETIME:
    case FLOE_STUN_ATTR_PRIORITY:
    case FLOE_STUN_ATTR_FINGERPRINT:
        return floe_stun_get_u32(m, type, &u32);
    case FLOE_STUN_ATTR_ICE_CONTROLLED:
    case FLOE_STUN_ATTR_ICE_CONTROLLING:
    case FLOE_STUN_ATTR_RESERVATION_TOKEN:
        return floe_stun_get_u64(m, type, &u64);
    default:
        return floe_stun_get_span(m, type, &s);
    }
}

/* Call the typed getter that belongs to type; used to probe every attribute. */
static int get_any(const struct floe_stun_msg *m, uint16_t type)
{
    struct floe_span s;
    uint16_t list[4], u16;
    uint32_t u32;
    uint8_t u8, u8b;
    size_t n;
    bool flag;
    int code;

    switch (type) {
    case FLOE_STUN_ATTR_CHANNEL_NUMBER:
        return floe_stun_get_channel(m, &u16);
    case FLOE_STUN_ATTR_ERROR_CODE:
        return floe_stun_get_error(m, &code, &s);
    case FLOE_STUN_ATTR_ADDRESS_ERROR_CODE:
        return floe_stun_get_address_error(m, &u8, &code, &s);
    case FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES:
        return floe_stun_get_unknown_attrs(m, list, 4, &n);
    case FLOE_STUN_ATTR_REQUESTED_TRANSPORT:
        return floe_stun_get_requested_transport(m, &u8);
    case FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY:
        return floe_stun_get_family(m, type, &u8);
    case FLOE_STUN_ATTR_EVEN_PORT:
        return floe_stun_get_even_port(m, &flag);
    case FLOE_STUN_ATTR_ICMP:
        return floe_stun_get_icmp(m, &u8, &u8b, &u32);
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHM:
        return floe_stun_get_password_alg(m, &u16, &s);
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHMS:
        return floe_stun_get_password_algs(m, list, 4, &n);
    default:
        return get_basic(m, type);
    }
}

static void test_getters_reject_malformed(void)
{
    static const struct {
        uint16_t type;
        uint8_t len;
        uint8_t value[24];
    } bad[] = {
        {FLOE_STUN_ATTR_MAPPED_ADDRESS, 8, {0, 3, 0, 1, 1, 2, 3, 4}},
        {FLOE_STUN_ATTR_MAPPED_ADDRESS, 8, {0, 2, 0, 1, 1, 2, 3, 4}},
        {FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, 20, {0, 1}},
        {FLOE_STUN_ATTR_XOR_PEER_ADDRESS, 12, {0, 2}},
        {FLOE_STUN_ATTR_LIFETIME, 3, {0}},
        {FLOE_STUN_ATTR_PRIORITY, 8, {0}},
        {FLOE_STUN_ATTR_ICE_CONTROLLING, 4, {0}},
        {FLOE_STUN_ATTR_CHANNEL_NUMBER, 2, {0x40, 0}},
        {FLOE_STUN_ATTR_ERROR_CODE, 4, {0, 0, 2, 0}},
        {FLOE_STUN_ATTR_ERROR_CODE, 4, {0, 0, 7, 0}},
        {FLOE_STUN_ATTR_ERROR_CODE, 4, {0, 0, 4, 100}},
        {FLOE_STUN_ATTR_ERROR_CODE, 3, {0, 0, 4}},
        {FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, 4, {3, 0, 4, 40}},
        {FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, 4, {1, 0, 1, 40}},
        {FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES, 3, {0, 1, 0}},
        {FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 1, {17}},
        {FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 4, {3}},
        {FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 1, {2}},
        {FLOE_STUN_ATTR_EVEN_PORT, 4, {0x80}},
        {FLOE_STUN_ATTR_ICMP, 4, {0}},
        {FLOE_STUN_ATTR_PASSWORD_ALGORITHM, 2, {0, 1}},
        {FLOE_STUN_ATTR_PASSWORD_ALGORITHM, 4, {0, 1, 0, 4}},
        {FLOE_STUN_ATTR_PASSWORD_ALGORITHM, 12, {0, 1, 0, 4, 1, 2, 3, 4}},
        {FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, 6, {0, 1, 0, 0, 0, 2}},
        {FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, 8, {0, 1, 0, 8, 0, 0, 0, 0}},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t buf[128];
        struct floe_stun_builder b;
        struct floe_stun_msg msg;
        long len;

        floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_ALLOCATE, FLOE_STUN_ERROR, vec_txid);
        floe_stun_add_bytes(&b, bad[i].type, bad[i].value, bad[i].len);
        len = floe_stun_build_finish(&b);
        REQUIRE(len > 0);
        REQUIRE(floe_stun_decode(&msg, buf, (size_t)len) == 0);
        CHECK_EQ(get_any(&msg, bad[i].type), FLOE_ERR_STUN_BAD_ATTR);
        CHECK_EQ(get_any(&msg, 0x8123), FLOE_ERR_NOT_FOUND);
    }
}

/* ------------------------------------------------------ round-trip property */

static const uint16_t rt_span_types[] = {
    FLOE_STUN_ATTR_USERNAME,
    FLOE_STUN_ATTR_USERHASH,
    FLOE_STUN_ATTR_REALM,
    FLOE_STUN_ATTR_NONCE,
    FLOE_STUN_ATTR_SOFTWARE,
    FLOE_STUN_ATTR_DATA,
    FLOE_STUN_ATTR_ALTERNATE_DOMAIN,
};
static const uint16_t rt_u32_types[] = {FLOE_STUN_ATTR_LIFETIME, FLOE_STUN_ATTR_PRIORITY};
static const uint16_t rt_u64_types[] = {FLOE_STUN_ATTR_ICE_CONTROLLED,
                                        FLOE_STUN_ATTR_ICE_CONTROLLING,
                                        FLOE_STUN_ATTR_RESERVATION_TOKEN};
static const uint16_t rt_addr_types[] = {FLOE_STUN_ATTR_MAPPED_ADDRESS,
                                         FLOE_STUN_ATTR_ALTERNATE_SERVER};
static const uint16_t rt_xor_types[] = {FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                        FLOE_STUN_ATTR_XOR_PEER_ADDRESS,
                                        FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS};
static const uint16_t rt_flag_types[] = {FLOE_STUN_ATTR_USE_CANDIDATE,
                                         FLOE_STUN_ATTR_DONT_FRAGMENT};
#define RT_N(a) (sizeof(a) / sizeof((a)[0]))
#define NF FLOE_ERR_NOT_FOUND

/* What one random message carries; has_* false means the attribute is absent. */
struct rt_case {
    struct floe_xoshiro *x;
    bool has_span[RT_N(rt_span_types)], has_u32[2], has_u64[3], has_addr[2], has_flag[2];
    uint8_t span[RT_N(rt_span_types)][200];
    size_t span_len[RT_N(rt_span_types)];
    uint32_t u32[2];
    uint64_t u64[3];
    struct floe_addr addr[2], xaddr[3][2];
    int n_xaddr[3];
    bool has_channel, has_error, has_aerror, has_transport, has_family[2], has_even, has_icmp;
    uint16_t channel, unknown[6], unknown_required;
    int error_code, aerror_code, n_unknown; /* n_unknown -1: no UNKNOWN-ATTRIBUTES */
    char reason[64];
    uint8_t aerror_family, transport, family[2], icmp[2];
    bool even_reserve;
    uint32_t icmp_data;
};

static uint32_t rt_below(struct floe_xoshiro *x, uint32_t n)
{
    return (uint32_t)(floe_xoshiro_next(x) % n);
}

static bool rt_coin(struct floe_xoshiro *x)
{
    return rt_below(x, 2) == 0;
}

static void rt_addr(struct floe_xoshiro *x, struct floe_addr *a)
{
    size_t i;

    memset(a, 0, sizeof(*a));
    a->family = rt_coin(x) ? FLOE_AF_INET : FLOE_AF_INET6;
    a->port = (uint16_t)rt_below(x, 65536);
    for (i = 0; i < (a->family == FLOE_AF_INET ? 4u : 16u); i++)
        a->ip[i] = (uint8_t)rt_below(x, 256);
}

static void rt_gen_plain(struct rt_case *c, struct floe_stun_builder *b)
{
    size_t i, j;

    for (i = 0; i < RT_N(rt_span_types); i++) {
        if (!(c->has_span[i] = rt_coin(c->x)))
            continue;
        c->span_len[i] = rt_below(c->x, 200);
        for (j = 0; j < c->span_len[i]; j++)
            c->span[i][j] = (uint8_t)rt_below(c->x, 256);
        floe_stun_add_bytes(b, rt_span_types[i], c->span[i], c->span_len[i]);
    }
    for (i = 0; i < 2; i++) {
        c->u32[i] = (uint32_t)floe_xoshiro_next(c->x);
        if ((c->has_u32[i] = rt_coin(c->x)))
            floe_stun_add_u32(b, rt_u32_types[i], c->u32[i]);
        rt_addr(c->x, &c->addr[i]);
        if ((c->has_addr[i] = rt_coin(c->x)))
            floe_stun_add_addr(b, rt_addr_types[i], &c->addr[i]);
        if ((c->has_flag[i] = rt_coin(c->x)))
            floe_stun_add_flag(b, rt_flag_types[i]);
    }
    for (i = 0; i < 3; i++) {
        c->u64[i] = floe_xoshiro_next(c->x);
        if ((c->has_u64[i] = rt_coin(c->x)))
            floe_stun_add_u64(b, rt_u64_types[i], c->u64[i]);
        c->n_xaddr[i] = (int)rt_below(c->x, 3);
        for (j = 0; j < (size_t)c->n_xaddr[i]; j++) {
            rt_addr(c->x, &c->xaddr[i][j]);
            floe_stun_add_xor_addr(b, rt_xor_types[i], &c->xaddr[i][j]);
        }
    }
}

static void rt_gen_turn(struct rt_case *c, struct floe_stun_builder *b)
{
    c->channel = (uint16_t)(FLOE_CHANNEL_MIN + rt_below(c->x, 0x1000));
    if ((c->has_channel = rt_coin(c->x)))
        floe_stun_add_channel(b, c->channel);
    c->transport = (uint8_t)rt_below(c->x, 256);
    if ((c->has_transport = rt_coin(c->x)))
        floe_stun_add_requested_transport(b, c->transport);
    c->family[0] = (uint8_t)(1 + rt_below(c->x, 2));
    if ((c->has_family[0] = rt_coin(c->x)))
        floe_stun_add_family(b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, c->family[0]);
    c->family[1] = (uint8_t)(1 + rt_below(c->x, 2));
    if ((c->has_family[1] = rt_coin(c->x)))
        floe_stun_add_family(b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, c->family[1]);
    c->even_reserve = rt_coin(c->x);
    if ((c->has_even = rt_coin(c->x)))
        floe_stun_add_even_port(b, c->even_reserve);
    c->icmp[0] = (uint8_t)rt_below(c->x, 256);
    c->icmp[1] = (uint8_t)rt_below(c->x, 256);
    c->icmp_data = (uint32_t)floe_xoshiro_next(c->x);
    if ((c->has_icmp = rt_coin(c->x)))
        floe_stun_add_icmp(b, c->icmp[0], c->icmp[1], c->icmp_data);
}

static void rt_gen_errors(struct rt_case *c, struct floe_stun_builder *b)
{
    size_t i, rlen = rt_below(c->x, sizeof(c->reason));
    int k;

    for (i = 0; i < rlen; i++)
        c->reason[i] = (char)(' ' + rt_below(c->x, 95));
    c->reason[rlen] = '\0';
    c->error_code = (int)(300 + rt_below(c->x, 400));
    if ((c->has_error = rt_coin(c->x)))
        floe_stun_add_error(b, c->error_code, c->reason);
    c->aerror_family = (uint8_t)(1 + rt_below(c->x, 2));
    c->aerror_code = (int)(300 + rt_below(c->x, 400));
    if ((c->has_aerror = rt_coin(c->x)))
        floe_stun_add_address_error(b, c->aerror_family, c->aerror_code, c->reason);
    c->n_unknown = rt_coin(c->x) ? -1 : (int)rt_below(c->x, 7);
    for (k = 0; k < c->n_unknown; k++)
        c->unknown[k] = (uint16_t)floe_xoshiro_next(c->x);
    if (c->n_unknown >= 0)
        floe_stun_add_unknown_attrs(b, c->unknown, (size_t)c->n_unknown);
    /* 0x0030..0x7FFF holds no attribute this codec knows. */
    c->unknown_required = rt_coin(c->x) ? (uint16_t)(0x0030 + rt_below(c->x, 0x7FD0)) : 0;
    if (c->unknown_required)
        floe_stun_add_bytes(b, c->unknown_required, "??", 2);
    if (rt_coin(c->x))
        floe_stun_add_bytes(b, (uint16_t)(0xC000 + rt_below(c->x, 0x4000)), "opt", 3);
}

static void rt_check_plain(const struct rt_case *c, const struct floe_stun_msg *m)
{
    struct floe_addr a[3];
    struct floe_span s;
    uint32_t u32;
    uint64_t u64;
    size_t i;
    int j;

    for (i = 0; i < RT_N(rt_span_types); i++) {
        CHECK_EQ(floe_stun_get_span(m, rt_span_types[i], &s), c->has_span[i] ? 0 : NF);
        CHECK(!c->has_span[i] || span_is(s, c->span[i], c->span_len[i]));
    }
    for (i = 0; i < 2; i++) {
        CHECK_EQ(floe_stun_get_u32(m, rt_u32_types[i], &u32), c->has_u32[i] ? 0 : NF);
        CHECK(!c->has_u32[i] || u32 == c->u32[i]);
        CHECK_EQ(floe_stun_get_addr(m, rt_addr_types[i], a), c->has_addr[i] ? 0 : NF);
        CHECK(!c->has_addr[i] || floe_addr_eq(a, &c->addr[i]));
        CHECK_EQ(floe_stun_has(m, rt_flag_types[i]), c->has_flag[i]);
    }
    for (i = 0; i < 3; i++) {
        CHECK_EQ(floe_stun_get_u64(m, rt_u64_types[i], &u64), c->has_u64[i] ? 0 : NF);
        CHECK(!c->has_u64[i] || u64 == c->u64[i]);
        CHECK_EQ(floe_stun_get_xor_addrs(m, rt_xor_types[i], a, 3), c->n_xaddr[i]);
        for (j = 0; j < c->n_xaddr[i]; j++)
            CHECK(floe_addr_eq(&a[j], &c->xaddr[i][j]));
        CHECK_EQ(floe_stun_get_xor_addr(m, rt_xor_types[i], a), c->n_xaddr[i] ? 0 : NF);
        CHECK(!c->n_xaddr[i] || floe_addr_eq(a, &c->xaddr[i][0]));
    }
}

static void rt_check_turn(const struct rt_case *c, const struct floe_stun_msg *m)
{
    uint8_t u8, u8b;
    uint16_t u16;
    uint32_t u32;
    bool flag;

    CHECK_EQ(floe_stun_get_channel(m, &u16), c->has_channel ? 0 : NF);
    CHECK(!c->has_channel || u16 == c->channel);
    CHECK_EQ(floe_stun_get_requested_transport(m, &u8), c->has_transport ? 0 : NF);
    CHECK(!c->has_transport || u8 == c->transport);
    CHECK_EQ(floe_stun_get_family(m, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &u8),
             c->has_family[0] ? 0 : NF);
    CHECK(!c->has_family[0] || u8 == c->family[0]);
    CHECK_EQ(floe_stun_get_family(m, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &u8),
             c->has_family[1] ? 0 : NF);
    CHECK(!c->has_family[1] || u8 == c->family[1]);
    CHECK_EQ(floe_stun_get_even_port(m, &flag), c->has_even ? 0 : NF);
    CHECK(!c->has_even || flag == c->even_reserve);
    CHECK_EQ(floe_stun_get_icmp(m, &u8, &u8b, &u32), c->has_icmp ? 0 : NF);
    CHECK(!c->has_icmp || (u8 == c->icmp[0] && u8b == c->icmp[1] && u32 == c->icmp_data));
}

static void rt_check_errors(const struct rt_case *c, const struct floe_stun_msg *m)
{
    uint16_t types[8];
    struct floe_span s;
    uint8_t fam;
    size_t n;
    int code;

    CHECK_EQ(floe_stun_get_error(m, &code, &s), c->has_error ? 0 : NF);
    CHECK(!c->has_error || (code == c->error_code && span_is(s, c->reason, strlen(c->reason))));
    CHECK_EQ(floe_stun_get_address_error(m, &fam, &code, &s), c->has_aerror ? 0 : NF);
    CHECK(!c->has_aerror || (code == c->aerror_code && fam == c->aerror_family &&
                             span_is(s, c->reason, strlen(c->reason))));
    CHECK_EQ(floe_stun_get_unknown_attrs(m, types, 8, &n), c->n_unknown >= 0 ? 0 : NF);
    CHECK(c->n_unknown < 0 || (n == (size_t)c->n_unknown && memcmp(types, c->unknown, n * 2) == 0));
    CHECK_EQ(m->n_unknown, c->unknown_required ? 1 : 0);
    CHECK(!c->unknown_required || m->unknown[0] == c->unknown_required);
}

/* Keys shared by the property tests. */
struct rt_keys {
    struct floe_hmac *sha1, *sha256, *wrong;
};

/* Build a random message into buf; returns its length or 0. mode bit 0: MI, bit 1: MI-SHA256. */
static size_t rt_build(struct rt_case *c, const struct rt_keys *k, uint8_t *buf, size_t cap,
                       unsigned mode, bool fp)
{
    struct floe_stun_builder b;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    size_t i;
    long len;

    for (i = 0; i < sizeof(txid); i++)
        txid[i] = (uint8_t)rt_below(c->x, 256);
    floe_stun_build_init(&b, buf, cap, (uint16_t)rt_below(c->x, 0x1000), (uint8_t)rt_below(c->x, 4),
                         txid);
    rt_gen_plain(c, &b);
    rt_gen_turn(c, &b);
    rt_gen_errors(c, &b);
    if (mode & 1)
        floe_stun_add_integrity(&b, k->sha1);
    if (mode & 2)
        floe_stun_add_integrity_sha256(&b, k->sha256);
    if (fp)
        floe_stun_add_fingerprint(&b);
    len = floe_stun_build_finish(&b);
    return len > 0 ? (size_t)len : 0;
}

static void rt_one(struct floe_xoshiro *x, const struct rt_keys *k)
{
    static uint8_t buf[4096];
    struct rt_case c = {.x = x};
    unsigned mode = rt_below(x, 4);
    bool fp = rt_coin(x);
    size_t len = rt_build(&c, k, buf, sizeof(buf), mode, fp);
    struct floe_stun_msg m;
    uint8_t *copy;

    REQUIRE(len > 0);
    REQUIRE(decode_copy(&m, &copy, buf, len) == 0);
    CHECK_EQ(floe_load_be16(copy) & 0xC000, 0);
    CHECK_MEM(m.txid, buf + 8, FLOE_STUN_TXID_LEN);
    rt_check_plain(&c, &m);
    rt_check_turn(&c, &m);
    rt_check_errors(&c, &m);
    CHECK_EQ(floe_stun_verify_integrity(&m, k->sha1), (mode & 1) ? 0 : NF);
    CHECK_EQ(floe_stun_verify_integrity(&m, k->wrong), (mode & 1) ? FLOE_ERR_INTEGRITY : NF);
    CHECK_EQ(floe_stun_verify_integrity_sha256(&m, k->sha256), (mode & 2) ? 0 : NF);
    CHECK_EQ(floe_stun_verify_fingerprint(&m), fp ? 0 : NF);
    CHECK_EQ(m.n_ignored, 0);
    free(copy);
}

static bool rt_keys_init(struct rt_keys *k)
{
    k->sha1 = hmac_new(FLOE_HMAC_SHA1, VEC_PASSWORD, strlen(VEC_PASSWORD));
    k->sha256 = hmac_new(FLOE_HMAC_SHA256, VEC_PASSWORD, strlen(VEC_PASSWORD));
    k->wrong = hmac_new(FLOE_HMAC_SHA1, "not the password", 16);
    return k->sha1 && k->sha256 && k->wrong;
}

static void rt_keys_free(struct rt_keys *k)
{
    floe_hmac_free(k->sha1);
    floe_hmac_free(k->sha256);
    floe_hmac_free(k->wrong);
}

static void test_roundtrip_property(void)
{
    struct floe_xoshiro x;
    struct rt_keys k;
    int i;

    REQUIRE(rt_keys_init(&k));
    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 5000 && !floe_test_failures_in_current; i++)
        rt_one(&x, &k);
    if (floe_test_failures_in_current)
        fprintf(stderr, "  round trip failed at iteration %d\n", i - 1);
    rt_keys_free(&k);
}

/* ---------------------------------------------------- garbage-in properties */

/* A decoded message must describe only bytes inside the datagram. */
static void check_consistent(const struct floe_stun_msg *m, const uint8_t *buf, size_t len)
{
    size_t i;

    CHECK(m->raw == buf && m->raw_len == len);
    CHECK(m->n_attrs <= FLOE_STUN_MAX_ATTRS && m->n_unknown <= FLOE_STUN_MAX_UNKNOWN);
    CHECK(m->method <= 0x0FFF && m->cls <= 3);
    for (i = 0; i < m->n_attrs; i++) {
        const struct floe_stun_attr *a = &m->attrs[i];
        int rc = get_any(m, a->type);

        CHECK(a->offset >= FLOE_STUN_HEADER_LEN && a->offset + 4u + a->len <= len);
        CHECK(a->value == buf + a->offset + 4);
        CHECK(rc == 0 || rc == FLOE_ERR_STUN_BAD_ATTR);
    }
    CHECK(m->integrity_idx < (int)m->n_attrs);
    CHECK(m->fingerprint_idx < 0 || m->fingerprint_idx == (int)m->n_attrs - 1);
}

/* Write a Binding request header for a body of body_len bytes followed by body. */
static size_t craft(uint8_t *buf, const void *body, size_t body_len)
{
    floe_store_be16(buf, 0x0001);
    floe_store_be16(buf + 2, (uint16_t)body_len);
    floe_store_be32(buf + 4, FLOE_STUN_MAGIC_COOKIE);
    memcpy(buf + 8, vec_txid, 12);
    memcpy(buf + 20, body, body_len);
    return 20 + body_len;
}

/* The datagram of the last decode_crafted call: m borrows it until the next call. */
static uint8_t *crafted_last;

static int decode_crafted(const void *body, size_t body_len, struct floe_stun_msg *m)
{
    uint8_t buf[MSG_CAP];
    size_t len = craft(buf, body, body_len);
    int rc;

    free(crafted_last);
    rc = decode_copy(m, &crafted_last, buf, len);
    if (rc == 0)
        check_consistent(m, crafted_last, len);
    return rc;
}

/*
 * A vector cut at an attribute boundary with its length field fixed is a valid
 * message: MESSAGE-INTEGRITY, when kept, still verifies (it covers nothing after
 * itself); when cut off it is reported missing.
 */
static bool check_cut_at_boundary(const uint8_t *buf, size_t cut, const uint8_t *key,
                                  size_t key_len)
{
    uint8_t *copy = malloc(cut);
    struct floe_stun_msg m;
    bool decoded;

    memcpy(copy, buf, cut);
    floe_store_be16(copy + 2, (uint16_t)(cut - 20));
    decoded = floe_stun_decode(&m, copy, cut) == 0;
    if (decoded) {
        check_consistent(&m, copy, cut);
        CHECK_EQ(floe_stun_verify_integrity_key(&m, key, key_len), m.integrity_idx >= 0 ? 0 : NF);
    }
    free(copy);
    return decoded;
}

static void test_garbage_truncations(void)
{
    static const char *const names[] = {"sample_request.hex", "sample_ipv4_response.hex",
                                        "sample_ipv6_response.hex", "long_term_request.hex"};
    uint8_t lt_key[FLOE_MD5_LEN];
    size_t v, cut;

    REQUIRE(long_term_key(lt_key) == 0);
    for (v = 0; v < 4; v++) {
        uint8_t buf[MSG_CAP];
        size_t len = load_vector(names[v], buf, sizeof(buf));
        const uint8_t *key = v == 3 ? lt_key : (const uint8_t *)VEC_PASSWORD;
        size_t key_len = v == 3 ? sizeof(lt_key) : strlen(VEC_PASSWORD), boundaries = 0;
        struct floe_stun_msg full;

        REQUIRE(len > 20 && floe_stun_decode(&full, buf, len) == 0);
        for (cut = 0; cut < len; cut++) {
            struct floe_stun_msg m;
            uint8_t *copy;

            CHECK(decode_copy(&m, &copy, buf, cut) < 0);
            free(copy);
            if (cut >= 20 && cut % 4 == 0)
                boundaries += check_cut_at_boundary(buf, cut, key, key_len);
        }
        CHECK_EQ(boundaries, full.n_attrs); /* the empty body and after each but the last */
    }
}

static void test_garbage_flips(void)
{
    struct floe_xoshiro x;
    struct rt_keys k;
    int i, caught = 0;

    REQUIRE(rt_keys_init(&k));
    floe_xoshiro_seed(&x, floe_test_seed() ^ 0xf11b5);
    for (i = 0; i < 3000; i++) {
        static uint8_t buf[4096];
        struct rt_case c = {.x = &x};
        size_t len = rt_build(&c, &k, buf, sizeof(buf), 1, true), n = 1 + rt_below(&x, 4);
        struct floe_stun_msg m;
        uint8_t *copy;

        REQUIRE(len > 0);
        while (n--)
            buf[rt_below(&x, (uint32_t)len)] ^= (uint8_t)(1 + rt_below(&x, 255));
        if (decode_copy(&m, &copy, buf, len) == 0) {
            check_consistent(&m, copy, len);
            caught += floe_stun_verify_integrity(&m, k.sha1) != 0 ||
                      floe_stun_verify_fingerprint(&m) != 0;
        } else {
            caught++;
        }
        free(copy);
    }
    CHECK_EQ(caught, 3000);
    rt_keys_free(&k);
}

static void test_garbage_lengths(void)
{
    uint8_t buf[MSG_CAP];
    size_t len = load_vector("sample_ipv4_response.hex", buf, sizeof(buf));
    static const uint8_t past_end[] = {0x80, 0x22, 0x00, 0x09, 't', 'e', 's', 't'};
    static const uint8_t no_pad[] = {0x80, 0x22, 0x00, 0x05, 't', 'e', 's', 't', 's'};
    struct floe_stun_msg m;
    uint32_t v, wrong = 0;

    REQUIRE(len == 80);
    for (v = 0; v <= 0xFFFF; v++) {
        floe_store_be16(buf + 2, (uint16_t)v);
        wrong += v != 60 && floe_stun_decode(&m, buf, len) == FLOE_ERR_STUN_BAD_LENGTH;
    }
    CHECK_EQ(wrong, 0xFFFF);
    CHECK_EQ(decode_crafted(past_end, sizeof(past_end), &m), FLOE_ERR_STUN_BAD_ATTR);
    CHECK_EQ(decode_crafted(no_pad, sizeof(no_pad), &m), FLOE_ERR_STUN_BAD_LENGTH);
    CHECK_EQ(decode_crafted(no_pad, 8, &m), FLOE_ERR_STUN_BAD_ATTR);
    CHECK_EQ(decode_crafted(no_pad, 2, &m), FLOE_ERR_STUN_BAD_LENGTH);
    floe_store_be16(buf + 2, 60);
    buf[0] |= 0x80;
    CHECK_EQ(floe_stun_decode(&m, buf, len), FLOE_ERR_NOT_STUN);
    buf[0] &= 0x3F;
    buf[5] ^= 1;
    CHECK_EQ(floe_stun_decode(&m, buf, len), FLOE_ERR_NOT_STUN);
    CHECK(!floe_stun_is_message(buf, len));
    CHECK_EQ(floe_stun_decode(&m, buf, 19), FLOE_ERR_NOT_STUN);
    CHECK_EQ(floe_stun_decode(&m, NULL, 20), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_stun_decode(NULL, buf, len), FLOE_ERR_INVALID_ARG);
}

/* Append attribute type with value[0..len) and its zero padding at body[*off]. */
static void put_attr(uint8_t *body, size_t *off, uint16_t type, const void *value, size_t len)
{
    floe_store_be16(body + *off, type);
    floe_store_be16(body + *off + 2, (uint16_t)len);
    memset(body + *off + 4, 0, (len + 3) & ~(size_t)3);
    if (len)
        memcpy(body + *off + 4, value, len);
    *off += 4 + ((len + 3) & ~(size_t)3);
}

static void test_garbage_integrity_rules(void)
{
    static const uint8_t mac[32];
    uint8_t body[512];
    struct floe_stun_msg m;
    size_t off;

    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, mac, 19);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_BAD_ATTR);
    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 12);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_BAD_ATTR);
    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 18);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_BAD_ATTR);
    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_FINGERPRINT, mac, 8);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_BAD_ATTR);
    /* Attributes after FINGERPRINT. */
    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_FINGERPRINT, mac, 4);
    put_attr(body, &off, FLOE_STUN_ATTR_SOFTWARE, "x", 1);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_ATTR_ORDER);
    /* Duplicated MI and others after it are ignored; MI-SHA256 (truncated) and FP count. */
    off = 0;
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, mac, 20);
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, mac, 20);
    put_attr(body, &off, FLOE_STUN_ATTR_PRIORITY, mac, 4);
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 16);
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, mac, 20);
    put_attr(body, &off, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 32);
    put_attr(body, &off, FLOE_STUN_ATTR_FINGERPRINT, mac, 4);
    REQUIRE(decode_crafted(body, off, &m) == 0);
    CHECK_EQ(m.n_attrs, 3);
    CHECK_EQ(m.n_ignored, 4);
    CHECK_EQ(m.integrity_idx, 0);
    CHECK_EQ(m.integrity_sha256_idx, 1);
    CHECK_EQ(m.fingerprint_idx, 2);
    CHECK(!floe_stun_has(&m, FLOE_STUN_ATTR_PRIORITY));
    CHECK_EQ(floe_stun_verify_fingerprint(&m), FLOE_ERR_FINGERPRINT);
    CHECK_EQ(floe_stun_verify_integrity_key(&m, (const uint8_t *)"k", 1), FLOE_ERR_INTEGRITY);
}

static void test_garbage_attr_limits(void)
{
    uint8_t body[1024];
    struct floe_stun_msg m;
    size_t off = 0;
    uint16_t t;

    for (t = 0; t < FLOE_STUN_MAX_ATTRS; t++)
        put_attr(body, &off, FLOE_STUN_ATTR_DONT_FRAGMENT, NULL, 0);
    CHECK_EQ(decode_crafted(body, off, &m), 0);
    CHECK_EQ(m.n_attrs, FLOE_STUN_MAX_ATTRS);
    put_attr(body, &off, FLOE_STUN_ATTR_DONT_FRAGMENT, NULL, 0);
    CHECK_EQ(decode_crafted(body, off, &m), FLOE_ERR_STUN_TOO_MANY_ATTRS);
    /* Unknown comprehension-required types: each once, at most FLOE_STUN_MAX_UNKNOWN. */
    off = 0;
    for (t = 0; t < 12; t++) {
        put_attr(body, &off, (uint16_t)(0x0040 + t), "u", 1);
        put_attr(body, &off, (uint16_t)(0x0040 + t), "u", 1);
        put_attr(body, &off, (uint16_t)(0xC040 + t), "o", 1);
    }
    REQUIRE(decode_crafted(body, off, &m) == 0);
    CHECK_EQ(m.n_unknown, FLOE_STUN_MAX_UNKNOWN);
    for (t = 0; t < FLOE_STUN_MAX_UNKNOWN; t++)
        CHECK_EQ(m.unknown[t], 0x0040 + t);
    off = 0;
    put_attr(body, &off, 0x0002, "r", 1); /* RESPONSE-ADDRESS, gone since RFC 5389 */
    put_attr(body, &off, FLOE_STUN_ATTR_PRIORITY, "abcd", 4);
    REQUIRE(decode_crafted(body, off, &m) == 0);
    CHECK_EQ(m.n_unknown, 1);
    CHECK_EQ(m.unknown[0], 0x0002);
}

static void test_garbage_random_bytes(void)
{
    struct floe_xoshiro x;
    int i, decoded = 0;

    floe_xoshiro_seed(&x, floe_test_seed() ^ 0x7a6b);
    for (i = 0; i < 20000; i++) {
        uint8_t body[256];
        struct floe_stun_msg m;
        size_t n = 4 * rt_below(&x, 64), j;

        for (j = 0; j < n; j++)
            body[j] = (uint8_t)(rt_below(&x, 4) ? rt_below(&x, 256) : rt_below(&x, 40));
        decoded += decode_crafted(body, n, &m) == 0;
        n = rt_below(&x, 256);
        for (j = 0; j < n; j++)
            body[j] = (uint8_t)rt_below(&x, 256);
        if (floe_stun_decode(&m, body, n) == 0)
            check_consistent(&m, body, n);
    }
    CHECK(decoded > 0);
}

int main(void)
{
    FLOE_RUN(test_rfc5769_sample_request);
    FLOE_RUN(test_rfc5769_responses);
    FLOE_RUN(test_rfc5769_long_term);
    FLOE_RUN(test_rfc5769_flips);
    FLOE_RUN(test_rfc5769_reencode_request);
    FLOE_RUN(test_rfc5769_reencode_responses);
    FLOE_RUN(test_rfc5769_reencode_long_term);
    FLOE_RUN(test_message_type_bits);
    FLOE_RUN(test_builder_sticky_overflow);
    FLOE_RUN(test_builder_rules);
    FLOE_RUN(test_builder_invalid_values);
    FLOE_RUN(test_builder_lengths);
    FLOE_RUN(test_getters_reject_malformed);
    FLOE_RUN(test_roundtrip_property);
    FLOE_RUN(test_garbage_truncations);
    FLOE_RUN(test_garbage_flips);
    FLOE_RUN(test_garbage_lengths);
    FLOE_RUN(test_garbage_integrity_rules);
    FLOE_RUN(test_garbage_attr_limits);
    FLOE_RUN(test_garbage_random_bytes);
    free(crafted_last);
    return floe_test_summary();
}
