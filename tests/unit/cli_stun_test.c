/* `floe stun` without I/O: the request it builds and how it judges what comes back. */
#include "cli.h"
#include "test.h"

static const uint8_t txid[FLOE_STUN_TXID_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12};

struct reply {
    uint8_t buf[512];
    size_t len;
};

/* A Binding response of cls for id; mapped: XOR-MAPPED-ADDRESS (1), MAPPED-ADDRESS (2), none. */
static void make_reply(struct reply *r, uint8_t cls, const uint8_t *id, int mapped, bool fp)
{
    struct floe_addr a = floe_addr_v4(198, 51, 100, 7, 40123);
    struct floe_stun_builder b;
    long n;

    floe_stun_build_init(&b, r->buf, sizeof(r->buf), FLOE_STUN_BINDING, cls, id);
    if (mapped == 1)
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
    if (mapped == 2)
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_MAPPED_ADDRESS, &a);
    if (cls == FLOE_STUN_ERROR)
        floe_stun_add_error(&b, 420, "Unknown Attribute");
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_SOFTWARE, "test\x1b[31m", 9);
    if (fp)
        floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    r->len = n > 0 ? (size_t)n : 0;
}

static void start(struct floe_stun_txn *t, struct floe_cli_stun_result *r)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();

    memset(r, 0, sizeof(*r));
    floe_stun_txn_start(t, &cfg, txid, 1000);
    floe_stun_txn_poll_transmit(t, 1000);
}

static void test_request(void)
{
    uint8_t buf[128];
    struct floe_stun_msg m;
    struct floe_span sw;
    long n = floe_cli_stun_build_request(buf, sizeof(buf), txid);

    REQUIRE(n > 0);
    REQUIRE(floe_stun_decode(&m, buf, (size_t)n) == 0);
    CHECK_EQ(m.method, FLOE_STUN_BINDING);
    CHECK_EQ(m.cls, FLOE_STUN_REQUEST);
    CHECK_MEM(m.txid, txid, sizeof(txid));
    CHECK_EQ(floe_stun_verify_fingerprint(&m), 0);
    REQUIRE(floe_stun_get_span(&m, FLOE_STUN_ATTR_SOFTWARE, &sw) == 0);
    CHECK_EQ(sw.len, strlen("floe 0.1.0"));
    CHECK_MEM(sw.ptr, "floe 0.1.0", sw.len);
    CHECK_EQ(floe_cli_stun_build_request(buf, 20, txid), FLOE_ERR_BUFFER_TOO_SMALL);
}

static void test_success(void)
{
    struct floe_addr expect = floe_addr_v4(198, 51, 100, 7, 40123);
    struct floe_cli_stun_result r;
    struct floe_stun_txn t;
    const char *why = NULL;
    struct reply rep;

    start(&t, &r);
    make_reply(&rep, FLOE_STUN_SUCCESS, txid, 1, true);
    REQUIRE(rep.len > 0);
    CHECK_EQ(floe_cli_stun_offer(&t, 1000 + FLOE_MS(3), rep.buf, rep.len, &r, &why), 1);
    CHECK(floe_addr_eq(&r.reflexive, &expect));
    CHECK_EQ(r.rtt, FLOE_MS(3));
    CHECK_EQ(r.sends, 1);
    CHECK(r.has_software);
    CHECK_STR(r.software, "test\x1b[31m");
    CHECK(r.problem == NULL);
    CHECK_EQ(r.error_code, 0);
    CHECK(floe_stun_txn_is_done(&t));
}

static void test_mapped_address_fallback(void)
{
    struct floe_addr expect = floe_addr_v4(198, 51, 100, 7, 40123);
    struct floe_cli_stun_result r;
    struct floe_stun_txn t;
    const char *why = NULL;
    struct reply rep;

    start(&t, &r);
    make_reply(&rep, FLOE_STUN_SUCCESS, txid, 2, false);
    CHECK_EQ(floe_cli_stun_offer(&t, 2000, rep.buf, rep.len, &r, &why), 1);
    CHECK(floe_addr_eq(&r.reflexive, &expect));
    CHECK(r.problem == NULL);
}

static void test_success_without_address(void)
{
    struct floe_cli_stun_result r;
    struct floe_stun_txn t;
    const char *why = NULL;
    struct reply rep;

    start(&t, &r);
    make_reply(&rep, FLOE_STUN_SUCCESS, txid, 0, true);
    CHECK_EQ(floe_cli_stun_offer(&t, 2000, rep.buf, rep.len, &r, &why), 1);
    CHECK(r.problem != NULL);
    CHECK_EQ(r.reflexive.family, FLOE_AF_NONE);
}

static void test_error_response(void)
{
    struct floe_cli_stun_result r;
    struct floe_stun_txn t;
    const char *why = NULL;
    struct reply rep;

    start(&t, &r);
    make_reply(&rep, FLOE_STUN_ERROR, txid, 0, true);
    CHECK_EQ(floe_cli_stun_offer(&t, 2000, rep.buf, rep.len, &r, &why), 1);
    CHECK_EQ(r.error_code, 420);
    CHECK_STR(r.reason, "Unknown Attribute");
}

static void expect_drop(struct reply *rep, const char *reason)
{
    struct floe_cli_stun_result r;
    struct floe_stun_txn t;
    const char *why = NULL;

    start(&t, &r);
    CHECK_EQ(floe_cli_stun_offer(&t, 2000, rep->buf, rep->len, &r, &why), 0);
    CHECK(why != NULL);
    if (why && reason && strcmp(why, reason) != 0)
        fprintf(stderr, "  dropped for \"%s\", expected \"%s\"\n", why, reason);
    if (reason)
        CHECK_STR(why, reason);
    CHECK_EQ(t.state, FLOE_STUN_TXN_WAITING);
}

static void test_drops(void)
{
    uint8_t other[FLOE_STUN_TXID_LEN];
    struct reply rep;

    memcpy(other, txid, sizeof(other));
    other[0] ^= 1;
    make_reply(&rep, FLOE_STUN_SUCCESS, other, 1, true);
    expect_drop(&rep, "transaction id does not match");
    make_reply(&rep, FLOE_STUN_REQUEST, txid, 1, true);
    expect_drop(&rep, "not a response");
    make_reply(&rep, FLOE_STUN_SUCCESS, txid, 1, true);
    rep.buf[rep.len - 9] ^= 0x01; /* a padding byte of SOFTWARE, covered by the CRC */
    expect_drop(&rep, "fingerprint check failed");
    make_reply(&rep, FLOE_STUN_SUCCESS, txid, 1, true);
    rep.buf[0] = 0x80;
    expect_drop(&rep, NULL);
    expect_drop(&(struct reply){.buf = "garbage", .len = 7}, NULL);
}

int main(void)
{
    FLOE_RUN(test_request);
    FLOE_RUN(test_success);
    FLOE_RUN(test_mapped_address_fallback);
    FLOE_RUN(test_success_without_address);
    FLOE_RUN(test_error_response);
    FLOE_RUN(test_drops);
    return floe_test_summary();
}
