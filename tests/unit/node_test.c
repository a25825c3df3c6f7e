/*
 * The node: candidate strings (RFC 8839 section 5.1), then the connection manager itself.
 */
#include "floe/ice_sdp.h"
#include "test.h"

/* ------------------------------------------------------------- candidate strings */

static void test_candidate_parse_browser(void)
{
    struct floe_ice_candidate c;
    char ip[FLOE_ADDR_STRLEN];

    CHECK_EQ(floe_ice_candidate_parse("candidate:842163049 1 udp 1677729535 198.51.100.7 61665 "
                                      "typ srflx raddr 10.0.0.5 rport 61665 generation 0 "
                                      "ufrag EsAw network-id 1 network-cost 10",
                                      &c),
             0);
    CHECK_STR(c.foundation, "842163049");
    CHECK_EQ(c.component, 1);
    CHECK_EQ(c.priority, 1677729535u);
    CHECK_EQ(c.type, FLOE_ICE_SRFLX);
    CHECK_EQ(c.addr.family, FLOE_AF_INET);
    CHECK_EQ(c.addr.port, 61665);
    CHECK(floe_addr_format_ip(&c.addr, ip, sizeof(ip)) > 0);
    CHECK_STR(ip, "198.51.100.7");
    CHECK(floe_addr_format_ip(&c.base, ip, sizeof(ip)) > 0);
    CHECK_STR(ip, "10.0.0.5");
    CHECK_EQ(c.base.port, 61665);

    CHECK_EQ(floe_ice_candidate_parse(
                 "a=candidate:1 2 UDP 2130706431 2001:db8::1 3478 typ host\r\n", &c),
             0);
    CHECK_EQ(c.component, 2);
    CHECK_EQ(c.type, FLOE_ICE_HOST);
    CHECK_EQ(c.addr.family, FLOE_AF_INET6);
    CHECK_EQ(c.base.family, FLOE_AF_NONE);
}

static void test_candidate_format_exact(void)
{
    struct floe_ice_candidate c;
    char s[FLOE_ICE_CANDIDATE_STR_MAX];

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_RELAY;
    c.addr = floe_addr_v4(203, 0, 113, 9, 50000);
    c.base = floe_addr_v4(198, 51, 100, 7, 40000);
    strcpy(c.foundation, "r1");
    CHECK_EQ(floe_ice_candidate_format(&c, s, sizeof(s)), (long)strlen(s));
    CHECK_STR(s, "candidate:r1 1 UDP 16777215 203.0.113.9 50000 typ relay raddr 198.51.100.7 "
                 "rport 40000");
    /* No related address known: the unspecified address of the family, port 0. */
    memset(&c.base, 0, sizeof(c.base));
    c.type = FLOE_ICE_SRFLX;
    c.priority = 7;
    CHECK(floe_ice_candidate_format(&c, s, sizeof(s)) > 0);
    CHECK_STR(s, "candidate:r1 1 UDP 7 203.0.113.9 50000 typ srflx raddr 0.0.0.0 rport 0");
    CHECK_EQ(floe_ice_candidate_format(&c, s, 20), FLOE_ERR_BUFFER_TOO_SMALL);
    c.foundation[0] = '\0';
    CHECK_EQ(floe_ice_candidate_format(&c, s, sizeof(s)), FLOE_ERR_INVALID_ARG);
}

static void test_candidate_refused(void)
{
    static const struct {
        const char *s;
        int rc;
    } cases[] = {
        {"", FLOE_ERR_MALFORMED},
        {"candidate:", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ", FLOE_ERR_MALFORMED},
        {"cand:1 1 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 0 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 257 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 256 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 0 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 4294967296 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP -1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 65536 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 type host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ bogus", FLOE_ERR_MALFORMED},
        {"candidate:1 1 TCP 1 1.2.3.4 5 typ host tcptype active", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 1 abc.local 5 typ host", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 1 1.2.3.4:5 5 typ host", FLOE_ERR_ADDR_PARSE},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ srflx raddr 1.2.3.4", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 port 5", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ host generation", FLOE_ERR_MALFORMED},
        {"candidate:a_b 1 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:123456789012345678901234567890123 1 UDP 1 1.2.3.4 5 typ host",
         FLOE_ERR_MALFORMED},
    };
    struct floe_ice_candidate c;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = floe_ice_candidate_parse(cases[i].s, &c);

        if (rc != cases[i].rc)
            fprintf(stderr, "  case %zu \"%s\": %d\n", i, cases[i].s, rc);
        CHECK_EQ(rc, cases[i].rc);
        CHECK_EQ(c.addr.family, FLOE_AF_NONE);
    }
    CHECK_EQ(floe_ice_candidate_parse(NULL, &c), FLOE_ERR_INVALID_ARG);
}

static void random_candidate(struct floe_xoshiro *x, struct floe_ice_candidate *c)
{
    static const char chars[] = "abcXYZ019+/";
    size_t n, i;

    memset(c, 0, sizeof(*c));
    c->type = (enum floe_ice_cand_type)(floe_xoshiro_next(x) % 4);
    c->addr.family = (floe_xoshiro_next(x) & 1) ? FLOE_AF_INET : FLOE_AF_INET6;
    for (i = 0; i < (c->addr.family == FLOE_AF_INET ? 4u : 16u); i++)
        c->addr.ip[i] = (uint8_t)floe_xoshiro_next(x);
    c->addr.port = (uint16_t)(1 + floe_xoshiro_next(x) % 65535);
    if (c->type != FLOE_ICE_HOST) {
        c->base = c->addr;
        c->base.ip[0] ^= 0x5a;
        c->base.port = (uint16_t)(floe_xoshiro_next(x) % 65536);
    }
    c->priority = (uint32_t)(1 + floe_xoshiro_next(x) % UINT32_MAX);
    c->component = (uint8_t)(1 + floe_xoshiro_next(x) % 255);
    n = 1 + floe_xoshiro_next(x) % FLOE_ICE_FOUNDATION_MAX;
    for (i = 0; i < n; i++)
        c->foundation[i] = chars[floe_xoshiro_next(x) % (sizeof(chars) - 1)];
}

static void test_candidate_round_trip(void)
{
    struct floe_xoshiro x;
    int i;

    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 5000; i++) {
        struct floe_ice_candidate c, d;
        char s[FLOE_ICE_CANDIDATE_STR_MAX], t[FLOE_ICE_CANDIDATE_STR_MAX];

        random_candidate(&x, &c);
        REQUIRE(floe_ice_candidate_format(&c, s, sizeof(s)) > 0);
        REQUIRE(floe_ice_candidate_parse(s, &d) == 0);
        CHECK(d.type == c.type && d.priority == c.priority && d.component == c.component);
        CHECK(floe_addr_eq(&d.addr, &c.addr));
        CHECK(floe_addr_eq(&d.base, &c.base));
        CHECK_STR(d.foundation, c.foundation);
        REQUIRE(floe_ice_candidate_format(&d, t, sizeof(t)) > 0);
        CHECK_STR(t, s);
    }
}

/* Garbage in: mutated valid lines and random bytes parse or fail cleanly, never crash. */
static void test_candidate_garbage(void)
{
    static const char alphabet[] = "candidte:0123456789 UDPtyphostrelaxsfr.:af\r\n\t-";
    struct floe_xoshiro x;
    int i, ok = 0;

    floe_xoshiro_seed(&x, floe_test_seed() ^ 0x9e37u);
    for (i = 0; i < 20000; i++) {
        struct floe_ice_candidate c, seedc;
        char s[FLOE_ICE_CANDIDATE_STR_MAX + 8], t[FLOE_ICE_CANDIDATE_STR_MAX];
        size_t len, k, flips;
        int rc;

        random_candidate(&x, &seedc);
        len = (size_t)floe_ice_candidate_format(&seedc, s, sizeof(s));
        flips = 1 + floe_xoshiro_next(&x) % 4;
        for (k = 0; k < flips; k++) {
            size_t at = floe_xoshiro_next(&x) % len;

            s[at] = (floe_xoshiro_next(&x) & 1)
                        ? alphabet[floe_xoshiro_next(&x) % (sizeof(alphabet) - 1)]
                        : (char)(1 + floe_xoshiro_next(&x) % 255);
        }
        if (floe_xoshiro_next(&x) & 1)
            s[floe_xoshiro_next(&x) % len] = '\0';
        rc = floe_ice_candidate_parse(s, &c);
        if (rc == 0) {
            ok++;
            /* Whatever parses formats back and parses to the same candidate. */
            CHECK(floe_ice_candidate_format(&c, t, sizeof(t)) > 0);
            CHECK_EQ(floe_ice_candidate_parse(t, &seedc), 0);
            CHECK(floe_addr_eq(&seedc.addr, &c.addr) && seedc.priority == c.priority);
        } else {
            CHECK(rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_ADDR_PARSE ||
                  rc == FLOE_ERR_UNSUPPORTED);
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    FLOE_RUN(test_candidate_parse_browser);
    FLOE_RUN(test_candidate_format_exact);
    FLOE_RUN(test_candidate_refused);
    FLOE_RUN(test_candidate_round_trip);
    FLOE_RUN(test_candidate_garbage);
    return floe_test_summary();
}
