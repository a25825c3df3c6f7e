/* Core vocabulary: errors, addresses, reader/writer, hooks, secrets. */
#include "floe/core.h"
#include "test.h"

static void test_error_table(void)
{
    CHECK_STR(floe_err_name(FLOE_ERR_INVALID_ARG), "INVALID_ARG");
    CHECK_STR(floe_strerror(FLOE_ERR_INTEGRITY), "message integrity check failed");
    CHECK_STR(floe_err_name(0), "OK");
    CHECK_STR(floe_err_name(-9999), "UNKNOWN");
    CHECK_STR(floe_strerror(-9999), "unknown error");
    CHECK(FLOE_ERR_CRYPTO <= FLOE_ERR_FATAL_CUTOFF);
    CHECK(FLOE_ERR_MALFORMED > FLOE_ERR_FATAL_CUTOFF);
}

static void roundtrip(const char *in, const char *expect)
{
    struct floe_addr a;
    char buf[FLOE_ADDR_STRLEN];
    int rc = floe_addr_parse(in, &a);

    CHECK_EQ(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "  parse failed for %s\n", in);
        return;
    }
    CHECK(floe_addr_format(&a, buf, sizeof(buf)) > 0);
    CHECK_STR(buf, expect);
}

static void test_addr_parse_format(void)
{
    roundtrip("1.2.3.4:5", "1.2.3.4:5");
    roundtrip("255.255.255.255:65535", "255.255.255.255:65535");
    roundtrip("0.0.0.0:0", "0.0.0.0:0");
    roundtrip("[::1]:5", "[::1]:5");
    roundtrip("[::]:80", "[::]:80");
    roundtrip("[2001:db8::1]:3478", "[2001:db8::1]:3478");
    roundtrip("[2001:0DB8:0:0:1:0:0:1]:1", "[2001:db8::1:0:0:1]:1");
    roundtrip("[2001:db8:0:1:1:1:1:1]:1", "[2001:db8:0:1:1:1:1:1]:1");
    roundtrip("[fe80::1:2]:9", "[fe80::1:2]:9");
    roundtrip("[::ffff:192.0.2.1]:7", "[::ffff:c000:201]:7");
    roundtrip("[1:2:3:4:5:6:7::]:1", "[1:2:3:4:5:6:7:0]:1");
}

static void test_addr_reject(void)
{
    static const char *const bad[] = {
        "",
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:65536",
        "1.2.3:5",
        "1.2.3.4.5:6",
        "256.1.1.1:1",
        "01.2.3.4:5",
        "a.b.c.d:1",
        "::1:5",
        "[::1]",
        "[::1]5",
        "[1.2.3.4]:5",
        "[1::2::3]:4",
        "[12345::]:1",
        "[1:2:3:4:5:6:7:8:9]:1",
        "[:1]:1",
        "[1:]:1",
        "1.2.3.4:-1",
        "1.2.3.4:1x",
        "[::1]:123456",
        " 1.2.3.4:5",
        "[1:2:3:4:5:6:7:8::]:1",
        "[g::]:1",
    };
    struct floe_addr a;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = floe_addr_parse(bad[i], &a);

        if (rc != FLOE_ERR_ADDR_PARSE)
            fprintf(stderr, "  accepted bad address \"%s\"\n", bad[i]);
        CHECK_EQ(rc, FLOE_ERR_ADDR_PARSE);
    }
    CHECK_EQ(floe_addr_parse(NULL, &a), FLOE_ERR_INVALID_ARG);
}

static void test_addr_compare(void)
{
    struct floe_addr a, b, c;
    char small[4];

    CHECK_EQ(floe_addr_parse("10.0.0.1:1", &a), 0);
    b = floe_addr_v4(10, 0, 0, 1, 1);
    CHECK(floe_addr_eq(&a, &b));
    b.port = 2;
    CHECK(!floe_addr_eq(&a, &b));
    CHECK(floe_addr_ip_eq(&a, &b));
    CHECK_EQ(floe_addr_parse("[::ffff:10.0.0.1]:1", &c), 0);
    CHECK(!floe_addr_eq(&a, &c));
    CHECK_EQ(floe_addr_format(&a, small, sizeof(small)), FLOE_ERR_BUFFER_TOO_SMALL);
    c.family = 9;
    CHECK_EQ(floe_addr_format(&c, small, sizeof(small)), FLOE_ERR_ADDR_FAMILY);
}

static void test_reader(void)
{
    static const uint8_t data[] = {1, 0, 2, 0, 0, 0, 3, 9, 9};
    struct floe_reader r;
    struct floe_span s;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    floe_reader_init(&r, data, sizeof(data));
    CHECK(floe_reader_u8(&r, &u8) && u8 == 1);
    CHECK(floe_reader_be16(&r, &u16) && u16 == 2);
    CHECK(floe_reader_be32(&r, &u32) && u32 == 3);
    CHECK_EQ(floe_reader_left(&r), 2);
    CHECK(!floe_reader_be32(&r, &u32));
    CHECK(r.failed);
    CHECK_EQ(floe_reader_left(&r), 2); /* failed read consumed nothing */
    CHECK(!floe_reader_u8(&r, &u8));   /* sticky */

    floe_reader_init(&r, data, sizeof(data));
    CHECK(floe_reader_be64(&r, &u64) && u64 == 0x0100020000000309ull);
    CHECK(floe_reader_span(&r, 1, &s) && s.ptr == data + 8 && s.len == 1);
    CHECK(!floe_reader_skip(&r, 1));
    floe_reader_init(&r, NULL, 5);
    CHECK_EQ(floe_reader_left(&r), 0);
    CHECK(!floe_reader_u8(&r, &u8));
}

static void test_writer(void)
{
    uint8_t buf[8];
    struct floe_writer w;

    floe_writer_init(&w, buf, sizeof(buf));
    floe_writer_be16(&w, 0x0102);
    floe_writer_be32(&w, 0x03040506);
    CHECK_EQ(floe_writer_finish(&w), 6);
    floe_writer_be32(&w, 7); /* does not fit */
    CHECK(w.overflow);
    CHECK_EQ(w.len, 6);
    floe_writer_u8(&w, 1); /* would fit, but overflow is sticky */
    CHECK_EQ(w.len, 6);
    CHECK_EQ(floe_writer_finish(&w), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(buf[0], 1);
    CHECK_EQ(buf[5], 6);
    floe_writer_init(&w, buf, sizeof(buf));
    floe_writer_be64(&w, 0x1122334455667788ull);
    CHECK_EQ(floe_load_be64(buf), 0x1122334455667788ull);
    CHECK(floe_writer_reserve(&w, 1) == NULL);
}

static void test_byte_order(void)
{
    uint8_t b[8];

    floe_store_le64(b, 0x0807060504030201ull);
    CHECK_EQ(b[0], 1);
    CHECK_EQ(b[7], 8);
    CHECK_EQ(floe_load_le64(b), 0x0807060504030201ull);
    CHECK_EQ(floe_load_be32(b), 0x01020304);
    CHECK_EQ(floe_time_add(FLOE_TIME_NEVER - 1, 5), FLOE_TIME_NEVER);
    CHECK_EQ(FLOE_MS(1500), FLOE_US(1500000));
}

static int fail_after;
static void *counting_malloc(size_t n, void *user)
{
    (void)user;
    if (fail_after-- <= 0)
        return NULL;
    return malloc(n);
}

static void test_hooks(void)
{
    struct floe_allocator a = {counting_malloc, NULL, NULL, NULL};
    struct floe_xoshiro x1, x2;
    struct floe_rng rng;
    enum floe_log_level lvl;
    uint8_t r1[13], r2[13];
    void *p;

    fail_after = 1;
    p = floe_mem_calloc(&a, 4, 4);
    CHECK(p != NULL);
    floe_mem_free(&a, p);
    CHECK(floe_mem_malloc(&a, 4) == NULL);
    CHECK(floe_mem_calloc(NULL, SIZE_MAX / 2, 4) == NULL);

    floe_xoshiro_seed(&x1, 42);
    floe_xoshiro_seed(&x2, 42);
    rng = floe_xoshiro_rng(&x1);
    CHECK_EQ(floe_rng_fill(&rng, r1, sizeof(r1)), 0);
    rng = floe_xoshiro_rng(&x2);
    CHECK_EQ(floe_rng_fill(&rng, r2, sizeof(r2)), 0);
    CHECK_MEM(r1, r2, sizeof(r1));
    CHECK(floe_xoshiro_next(&x1) != floe_xoshiro_next(&x1));
    CHECK_EQ(floe_rng_fill(NULL, r1, 1), FLOE_ERR_INVALID_ARG);

    CHECK_EQ(floe_log_level_parse("Debug", &lvl), 0);
    CHECK_EQ(lvl, FLOE_LOG_DEBUG);
    CHECK_EQ(floe_log_level_parse("loud", &lvl), FLOE_ERR_INVALID_ARG);
    CHECK_STR(floe_log_level_name(FLOE_LOG_WARN), "WARN");
}

static int log_calls;
static void count_log(void *user, enum floe_log_level level, const char *target,
                      const char *message, const struct floe_log_field *fields, size_t n)
{
    (void)user;
    (void)level;
    (void)target;
    (void)message;
    (void)fields;
    (void)n;
    log_calls++;
}

static void test_log_filter(void)
{
    struct floe_log log = {count_log, NULL, FLOE_LOG_INFO};

    floe_log_emit(&log, FLOE_LOG_DEBUG, "t", "dropped", NULL, 0);
    floe_log_emit(&log, FLOE_LOG_WARN, "t", "kept", NULL, 0);
    floe_log_emit(NULL, FLOE_LOG_ERROR, "t", "no hook", NULL, 0);
    CHECK_EQ(log_calls, 1);
}

static void test_secrets(void)
{
    uint8_t a[32], b[32];

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    CHECK(floe_ct_eq(a, b, sizeof(a)));
    b[31] ^= 1;
    CHECK(!floe_ct_eq(a, b, sizeof(a)));
    floe_wipe(a, sizeof(a));
    memset(b, 0, sizeof(b));
    CHECK_MEM(a, b, sizeof(a));
}

static void test_hex(void)
{
    uint8_t out[4] = {0};

    CHECK_EQ(floe_hex_digit('0'), 0);
    CHECK_EQ(floe_hex_digit('f'), 15);
    CHECK_EQ(floe_hex_digit('F'), 15);
    CHECK_EQ(floe_hex_digit('g'), -1);
    CHECK_EQ(floe_hex_decode(out, 4, "00aBcdEF", 8), 0);
    CHECK_EQ(out[1], 0xab);
    CHECK_EQ(out[3], 0xef);
    CHECK_EQ(floe_hex_decode(out, 4, "00abcde", 7), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_hex_decode(out, 4, "00abcdeg", 8), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_hex_decode(out, 4, " 0abcdef", 8), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_hex_decode(NULL, 4, "00abcdef", 8), FLOE_ERR_INVALID_ARG);
}

int main(void)
{
    FLOE_RUN(test_error_table);
    FLOE_RUN(test_hex);
    FLOE_RUN(test_addr_parse_format);
    FLOE_RUN(test_addr_reject);
    FLOE_RUN(test_addr_compare);
    FLOE_RUN(test_reader);
    FLOE_RUN(test_writer);
    FLOE_RUN(test_byte_order);
    FLOE_RUN(test_hooks);
    FLOE_RUN(test_log_filter);
    FLOE_RUN(test_secrets);
    return floe_test_summary();
}
