/* Linux helpers: clock, sockaddr conversion, host:port resolution, UDP, the worker pool. */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>
#include <poll.h>

#include "floe_io.h"
#include "test.h"

static void test_clock_monotonic(void)
{
    floe_time a = floe_io_now(), b = floe_io_now();

    CHECK(a > 0);
    CHECK(b >= a);
}

static void test_random(void)
{
    uint8_t x[32], y[32], zero[32] = {0};

    CHECK_EQ(floe_io_random(x, sizeof(x)), 0);
    CHECK_EQ(floe_io_random(y, sizeof(y)), 0);
    CHECK(memcmp(x, y, sizeof(x)) != 0);
    CHECK(memcmp(x, zero, sizeof(x)) != 0);
    CHECK_EQ(floe_io_random(NULL, 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_random(NULL, 0), 0);
}

static void test_sockaddr_roundtrip(void)
{
    static const char *const in[] = {"192.0.2.7:3478", "[2001:db8::5]:65535", "0.0.0.0:0"};
    struct sockaddr_storage ss;
    struct floe_addr a, b;
    socklen_t len;
    size_t i;

    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        REQUIRE(floe_addr_parse(in[i], &a) == 0);
        CHECK_EQ(floe_io_addr_to_sockaddr(&a, &ss, &len), 0);
        CHECK_EQ(len, a.family == FLOE_AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6));
        CHECK_EQ(floe_io_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len), 0);
        CHECK(floe_addr_eq(&a, &b));
    }
    REQUIRE(floe_addr_parse("192.0.2.7:3478", &a) == 0);
    CHECK_EQ(floe_io_addr_to_sockaddr(&a, &ss, &len), 0);
    CHECK_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 3478);
    CHECK_EQ(floe_io_addr_from_sockaddr(&b, (struct sockaddr *)&ss, 4), FLOE_ERR_ADDR_FAMILY);
    a.family = FLOE_AF_NONE;
    CHECK_EQ(floe_io_addr_to_sockaddr(&a, &ss, &len), FLOE_ERR_ADDR_FAMILY);
    /* A dual-stack socket's IPv4 peer, ::ffff:192.0.2.7, is the IPv4 address. */
    REQUIRE(floe_addr_parse("[::ffff:192.0.2.7]:3478", &a) == 0);
    CHECK_EQ(floe_io_addr_to_sockaddr(&a, &ss, &len), 0);
    CHECK_EQ(floe_io_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len), 0);
    REQUIRE(floe_addr_parse("192.0.2.7:3478", &a) == 0);
    CHECK(floe_addr_eq(&a, &b));
}

static void test_split_hostport(void)
{
    static const char *const bad[] = {
        "",        "host",   "host:", ":80",     "host:65536", "host:-1",
        "host:8x", "::1:80", "[::1]", "[::1]80", "[]:80",      "host:123456",
    };
    char host[64];
    uint16_t port = 0;
    size_t i;

    CHECK_EQ(floe_io_split_hostport("stun.example.org:3478", host, sizeof(host), &port), 0);
    CHECK_STR(host, "stun.example.org");
    CHECK_EQ(port, 3478);
    CHECK_EQ(floe_io_split_hostport("[fe80::1]:0", host, sizeof(host), &port), 0);
    CHECK_STR(host, "fe80::1");
    CHECK_EQ(port, 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = floe_io_split_hostport(bad[i], host, sizeof(host), &port);

        if (rc != FLOE_ERR_ADDR_PARSE)
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK_EQ(rc, FLOE_ERR_ADDR_PARSE);
    }
    CHECK_EQ(floe_io_split_hostport("averylonghostname:1", host, 8, &port), FLOE_ERR_ADDR_PARSE);
}

static void test_resolve(void)
{
    struct floe_addr a, expect = floe_addr_v4(127, 0, 0, 1, 3478);

    CHECK_EQ(floe_io_resolve("127.0.0.1:3478", FLOE_AF_NONE, &a), 0);
    CHECK(floe_addr_eq(&a, &expect));
    CHECK_EQ(floe_io_resolve("[::1]:9", FLOE_AF_NONE, &a), 0);
    CHECK_EQ(a.family, FLOE_AF_INET6);
    CHECK_EQ(a.port, 9);
    CHECK_EQ(floe_io_resolve("localhost:3478", FLOE_AF_INET, &a), 0);
    CHECK(floe_addr_eq(&a, &expect));
    CHECK_EQ(floe_io_resolve("256.1.1.1:80", FLOE_AF_NONE, &a), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_io_resolve("1.2.3.4:99999", FLOE_AF_NONE, &a), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_io_resolve("[zz::]:80", FLOE_AF_NONE, &a), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_io_resolve("bad host:80", FLOE_AF_NONE, &a), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_io_resolve("nonexistent.invalid:80", FLOE_AF_NONE, &a), FLOE_ERR_RESOLVE);
    CHECK_EQ(floe_io_resolve("127.0.0.1:80", FLOE_AF_INET6, &a), FLOE_ERR_RESOLVE);
    CHECK_EQ(floe_io_resolve(NULL, FLOE_AF_NONE, &a), FLOE_ERR_INVALID_ARG);
}

static void test_udp_loopback(void)
{
    struct floe_addr any = floe_addr_v4(127, 0, 0, 1, 0), la, lb, from;
    const uint8_t msg[] = "ping";
    uint8_t buf[64];
    floe_time t0;
    int a, b;

    a = floe_io_udp_open(&any);
    b = floe_io_udp_open(&any);
    REQUIRE(a >= 0 && b >= 0);
    CHECK_EQ(floe_io_udp_local(a, &la), 0);
    CHECK_EQ(floe_io_udp_local(b, &lb), 0);
    CHECK(la.port != 0);
    CHECK_EQ(floe_io_udp_send(a, &lb, msg, sizeof(msg)), 0);
    CHECK_EQ(floe_io_udp_recv(b, buf, sizeof(buf), &from, floe_io_now() + FLOE_SEC(2)),
             sizeof(msg));
    CHECK_MEM(buf, msg, sizeof(msg));
    CHECK(floe_addr_eq(&from, &la));
    t0 = floe_io_now();
    CHECK_EQ(floe_io_udp_recv(b, buf, sizeof(buf), &from, t0 + FLOE_MS(50)), FLOE_ERR_TIMEOUT);
    CHECK(floe_io_now() - t0 >= FLOE_MS(50));
    CHECK_EQ(floe_io_udp_open(&la), FLOE_ERR_IO);
    floe_io_close(a);
    floe_io_close(b);
}

/* ------------------------------------------------------------ worker pool */

#define POOL_N 300

struct pool_check {
    _Atomic uint32_t hits[POOL_N];
    _Atomic uint32_t bad_lane;
    _Atomic uint32_t lane_busy[8]; /* > 1: two calls on one lane at once */
    _Atomic uint32_t overlap;
    uint32_t lanes;
};

static void pool_fn(void *arg, uint32_t i, uint32_t lane)
{
    struct pool_check *c = arg;
    struct timespec ts = {0, 2000};

    if (lane >= c->lanes) {
        atomic_fetch_add(&c->bad_lane, 1);
        return;
    }
    if (atomic_fetch_add(&c->lane_busy[lane], 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    if (i % 17 == 0)
        nanosleep(&ts, NULL); /* uneven items */
    atomic_fetch_add(&c->hits[i], 1);
    atomic_fetch_sub(&c->lane_busy[lane], 1);
}

/* Every index exactly once per run, lanes in range and never shared, for 1 to 4 lanes. */
static void test_pool_runs_every_index_once(void)
{
    static struct pool_check c;
    struct floe_io_pool *p;
    uint32_t lanes, run, n, i, wrong = 0;
    uint64_t items;

    CHECK_EQ(floe_io_pool_new(&p, 0), -EINVAL);
    CHECK_EQ(floe_io_pool_new(&p, 65), -EINVAL);
    for (lanes = 1; lanes <= 4; lanes++) {
        REQUIRE(floe_io_pool_new(&p, lanes) == 0);
        CHECK_EQ(floe_io_pool_lanes(p), lanes);
        items = 0;
        for (run = 0; run < 200; run++) {
            memset(&c, 0, sizeof(c));
            c.lanes = lanes;
            n = (run * 37) % POOL_N; /* 0, small runs that wake nobody, large ones */
            floe_io_pool_run(p, n, pool_fn, &c);
            for (i = 0; i < POOL_N; i++)
                wrong += atomic_load(&c.hits[i]) != (i < n ? 1u : 0u);
            CHECK_EQ(atomic_load(&c.bad_lane), 0u);
            CHECK_EQ(atomic_load(&c.overlap), 0u);
            items += n;
            if (run % 50 == 49) {
                struct timespec idle = {0, 3000000}; /* let the workers fall asleep */
                nanosleep(&idle, NULL);
            }
        }
        CHECK_EQ(wrong, 0u);
        for (i = 0; i < lanes; i++)
            items -= floe_io_pool_lane_items(p, i);
        CHECK_EQ(items, 0u);
        floe_io_pool_free(p);
    }
    floe_io_pool_free(NULL);
}

/* ------------------------------------------------------------ batched receives */

/* Wait up to 2 s for fd to be readable. */
static bool io_wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 2000) == 1;
}

/*
 * A UDP GSO burst (five 100-byte datagrams and a 37-byte one, one sendmsg) and a lone
 * zero-length datagram reach a receiver with (gro) or without UDP GRO; either way
 * floe_io_udp_recv_batch hands out the seven datagrams as sent, in order.
 */
static void io_recv_burst(bool gro)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), la, lb;
    struct floe_io_sender snd = {.gso = true, .wait_ms = 100};
    struct floe_io_receiver r;
    struct floe_io_dgram d[7];
    uint8_t pay[6][100];
    size_t got = 0, i;
    int a = floe_io_udp_open(&lo), b = floe_io_udp_open(&lo), n;

    REQUIRE(a >= 0 && b >= 0);
    REQUIRE(floe_io_receiver_init(&r, 8) == 0);
    CHECK_EQ(floe_io_udp_local(a, &la), 0);
    CHECK_EQ(floe_io_udp_local(b, &lb), 0);
    if (gro)
        CHECK_EQ(floe_io_udp_set_gro(b), 0);
    for (i = 0; i < 7; i++) {
        memset(pay[i < 6 ? i : 5], (int)(0x10 + i), sizeof(pay[0]));
        d[i].buf = pay[i < 6 ? i : 5];
        d[i].len = i < 5 ? 100 : i == 5 ? 37 : 0;
        d[i].dst = lb;
    }
    floe_io_udp_send_batch(&snd, a, d, 7);
    CHECK_EQ(snd.stats.sent, 7);
    while (got < 7 && io_wait_readable(b)) {
        n = floe_io_udp_recv_batch(&r, b);
        REQUIRE(n > 0);
        for (i = 0; i < r.n_dg && got < 7; i++, got++) {
            CHECK_EQ(r.dg[i].len, d[got].len);
            CHECK(r.dg[i].len == 0 || memcmp(r.dg[i].buf, d[got].buf, r.dg[i].len) == 0);
            CHECK(floe_addr_eq(&r.dg[i].from, &la));
        }
    }
    CHECK_EQ(got, 7);
    CHECK_EQ(r.stats.received, 7);
    CHECK_EQ(r.stats.truncated + r.stats.bad_source, 0);
    /* loopback keeps a GSO send whole for a GRO socket: one message carried six */
    CHECK_EQ(r.stats.coalesced, gro ? 1 : 0);
    CHECK_EQ(floe_io_udp_recv_batch(&r, b), 0);
    floe_io_receiver_deinit(&r);
    floe_io_close(a);
    floe_io_close(b);
}

static void test_udp_recv_batch_gro(void)
{
    io_recv_burst(true);
}

static void test_udp_recv_batch_plain(void)
{
    io_recv_burst(false);
}

static void test_udp_receiver_init(void)
{
    struct floe_io_receiver r;

    CHECK_EQ(floe_io_receiver_init(&r, 0), FLOE_ERR_INVALID_ARG);
    floe_io_receiver_deinit(&r);
    CHECK_EQ(floe_io_receiver_init(&r, 2000), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_receiver_init(&r, 1), 0);
    CHECK_EQ(r.batch, 1);
    floe_io_receiver_deinit(&r);
    CHECK(r.buf == NULL);
}

int main(void)
{
    FLOE_RUN(test_clock_monotonic);
    FLOE_RUN(test_random);
    FLOE_RUN(test_sockaddr_roundtrip);
    FLOE_RUN(test_split_hostport);
    FLOE_RUN(test_resolve);
    FLOE_RUN(test_udp_loopback);
    FLOE_RUN(test_pool_runs_every_index_once);
    FLOE_RUN(test_udp_recv_batch_gro);
    FLOE_RUN(test_udp_recv_batch_plain);
    FLOE_RUN(test_udp_receiver_init);
    return floe_test_summary();
}
