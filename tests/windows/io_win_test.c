/*
 * The Windows I/O layer (src/io/windows/) under Wine or Windows: the suspend-aware clock, OS
 * random numbers, UDP over WSASendMsg/WSARecvMsg with the local address from
 * IP_PKTINFO/IPV6_PKTINFO, dual-stack IPv6 sockets, ICMP port unreachable not failing the socket,
 * batched sends that fall back from USO when the OS refuses it, batched receives with or without
 * URO.
 */
#include <winsock2.h>
#include <windows.h>

#include <string.h>

#include "floe_io.h"
#include "test.h"

static struct floe_addr test_loopback(enum floe_af af)
{
    struct floe_addr a;

    memset(&a, 0, sizeof(a));
    a.family = (uint8_t)af;
    if (af == FLOE_AF_INET) {
        a.ip[0] = 127;
        a.ip[3] = 1;
    } else {
        a.ip[15] = 1;
    }
    return a;
}

/* A UDP socket on loopback of family af, its address in *addr. */
static int test_open(enum floe_af af, struct floe_addr *addr)
{
    struct floe_addr bind_addr = test_loopback(af);
    int fd = floe_io_udp_open(&bind_addr);

    if (fd >= 0 && floe_io_udp_local(fd, addr) < 0) {
        floe_io_close(fd);
        return -1;
    }
    return fd;
}

static void test_clock(void)
{
    floe_time a = floe_io_now(), b, c;

    Sleep(50);
    b = floe_io_now();
    c = floe_io_now();
    CHECK(a > 0);
    CHECK(b - a >= FLOE_MS(40));
    CHECK(b - a < FLOE_SEC(5));
    CHECK(c >= b);
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

static void udp_roundtrip(enum floe_af af)
{
    struct floe_addr a_addr, b_addr, from;
    uint8_t buf[64];
    int a = test_open(af, &a_addr), b = test_open(af, &b_addr);
    floe_time t0;
    long n;

    REQUIRE(a >= 0 && b >= 0);
    CHECK(a_addr.port != 0 && a_addr.port != b_addr.port);
    CHECK_EQ(floe_io_udp_send(a, &b_addr, (const uint8_t *)"hello", 5), 0);
    n = floe_io_udp_recv(b, buf, sizeof(buf), &from, floe_io_now() + FLOE_SEC(5));
    CHECK_EQ(n, 5);
    CHECK_MEM(buf, "hello", 5);
    CHECK(floe_addr_eq(&from, &a_addr));
    /* A longer datagram is cut to the buffer. */
    CHECK_EQ(floe_io_udp_send(a, &b_addr, (const uint8_t *)"0123456789", 10), 0);
    CHECK_EQ(floe_io_udp_recv(b, buf, 4, &from, floe_io_now() + FLOE_SEC(5)), 4);
    CHECK_MEM(buf, "0123", 4);
    t0 = floe_io_now();
    CHECK_EQ(floe_io_udp_recv(b, buf, sizeof(buf), &from, t0 + FLOE_MS(100)), FLOE_ERR_TIMEOUT);
    CHECK(floe_io_now() - t0 >= FLOE_MS(90));
    floe_io_close(a);
    floe_io_close(b);
}

static void test_udp_v4(void)
{
    udp_roundtrip(FLOE_AF_INET);
}

static void test_udp_v6(void)
{
    udp_roundtrip(FLOE_AF_INET6);
}

/* A batch receive on the dual-stack socket v6 reports an IPv4 datagram's local address. */
static void dual_stack_local(int a, int v6, const struct floe_addr *to)
{
    struct floe_io_receiver r;
    floe_time deadline = floe_io_now() + FLOE_SEC(5);
    struct floe_addr want = test_loopback(FLOE_AF_INET);

    REQUIRE(floe_io_receiver_init(&r, 4) == 0);
    CHECK_EQ(floe_io_udp_send(a, to, (const uint8_t *)"v4", 2), 0);
    while (r.n_dg == 0 && floe_io_now() < deadline)
        if (floe_io_udp_recv_batch(&r, v6) == 0)
            Sleep(5);
    CHECK_EQ(r.n_dg, 1);
    if (r.n_dg == 1) {
        printf("dual-stack local family %u\n", r.dg[0].local.family);
        CHECK_EQ(r.dg[0].local.family, FLOE_AF_INET);
        CHECK_MEM(r.dg[0].local.ip, want.ip, 4);
    }
    floe_io_receiver_deinit(&r);
}

/* An IPv6 socket on [::] is dual-stack, as on Linux: IPv4 peers reach it, unmapped. */
static void test_dual_stack(void)
{
    struct floe_addr any6, v6_addr, a_addr, from, to;
    uint8_t buf[16];
    int a = test_open(FLOE_AF_INET, &a_addr), v6;

    memset(&any6, 0, sizeof(any6));
    any6.family = FLOE_AF_INET6;
    v6 = floe_io_udp_open(&any6);
    REQUIRE(a >= 0 && v6 >= 0);
    REQUIRE(floe_io_udp_local(v6, &v6_addr) == 0);
    to = test_loopback(FLOE_AF_INET);
    to.port = v6_addr.port;
    CHECK_EQ(floe_io_udp_send(a, &to, (const uint8_t *)"v4", 2), 0);
    CHECK_EQ(floe_io_udp_recv(v6, buf, sizeof(buf), &from, floe_io_now() + FLOE_SEC(5)), 2);
    CHECK(floe_addr_eq(&from, &a_addr));
    dual_stack_local(a, v6, &to);
    floe_io_close(a);
    floe_io_close(v6);
}

/*
 * A send to a closed port draws an ICMP port unreachable; with SIO_UDP_CONNRESET left on,
 * Windows fails the next receive with WSAECONNRESET. floe's sockets keep working.
 */
static void test_icmp_unreachable(void)
{
    struct floe_addr a_addr, b_addr, dead_addr, from;
    uint8_t buf[16];
    int a = test_open(FLOE_AF_INET, &a_addr), b = test_open(FLOE_AF_INET, &b_addr);
    int dead = test_open(FLOE_AF_INET, &dead_addr);
    int i;

    REQUIRE(a >= 0 && b >= 0 && dead >= 0);
    floe_io_close(dead);
    for (i = 0; i < 3; i++)
        CHECK_EQ(floe_io_udp_send(a, &dead_addr, (const uint8_t *)"x", 1), 0);
    Sleep(50);
    CHECK(recv((SOCKET)a, (char *)buf, sizeof(buf), 0) < 0);
    CHECK_EQ(WSAGetLastError(), WSAEWOULDBLOCK);
    CHECK_EQ(floe_io_udp_send(b, &a_addr, (const uint8_t *)"alive", 5), 0);
    CHECK_EQ(floe_io_udp_recv(a, buf, sizeof(buf), &from, floe_io_now() + FLOE_SEC(5)), 5);
    CHECK(floe_addr_eq(&from, &b_addr));
    floe_io_close(a);
    floe_io_close(b);
}

#define TEST_N 21

/* Receive TEST_N datagrams on fd within 5 s: lengths 100 but the last 40, byte i everywhere. */
static void batch_expect(int fd, const struct floe_addr *src, const struct floe_addr *dst)
{
    struct floe_io_receiver r;
    floe_time deadline = floe_io_now() + FLOE_SEC(5);
    size_t got = 0, k;

    REQUIRE(floe_io_receiver_init(&r, 8) == 0);
    while (got < TEST_N && floe_io_now() < deadline) {
        int n = floe_io_udp_recv_batch(&r, fd);

        CHECK(n >= 0);
        if (n == 0)
            Sleep(5);
        for (k = 0; k < r.n_dg && got < TEST_N; k++, got++) {
            CHECK_EQ(r.dg[k].len, got == TEST_N - 1 ? 40 : 100);
            CHECK_EQ(r.dg[k].buf[0], got);
            CHECK(floe_addr_eq(&r.dg[k].from, src));
            /* IP_PKTINFO: the address the datagram came to (the port is not part of it). */
            CHECK_EQ(r.dg[k].local.family, dst->family);
            CHECK_MEM(r.dg[k].local.ip, dst->ip, 16);
        }
    }
    CHECK_EQ(got, TEST_N);
    CHECK_EQ(r.stats.received, TEST_N);
    CHECK_EQ(r.stats.truncated, 0);
    floe_io_receiver_deinit(&r);
}

static void test_batch(void)
{
    static uint8_t data[TEST_N][100];
    struct floe_io_dgram d[TEST_N];
    struct floe_io_sender s = {.gso = true, .wait_ms = 100};
    struct floe_addr a_addr, b_addr;
    int a = test_open(FLOE_AF_INET, &a_addr), b = test_open(FLOE_AF_INET, &b_addr);
    int gro, i;

    REQUIRE(a >= 0 && b >= 0);
    gro = floe_io_udp_set_gro(b); /* URO where the OS takes it; Wine refuses */
    CHECK(gro == 0 || gro == FLOE_ERR_IO);
    printf("URO %s\n", gro == 0 ? "on" : "refused");
    for (i = 0; i < TEST_N; i++) {
        memset(data[i], i, sizeof(data[i]));
        d[i] = (struct floe_io_dgram){
            .buf = data[i], .len = i == TEST_N - 1 ? 40 : 100, .dst = b_addr};
    }
    floe_io_udp_send_batch(&s, a, d, TEST_N);
    CHECK_EQ(s.stats.sent, TEST_N);
    CHECK_EQ(s.stats.errors + s.stats.full, 0);
    /* USO used, or refused once and then never asked for again. */
    CHECK(s.gso ? s.stats.gso_refused == 0 : s.stats.gso_refused == 1);
    printf("USO %s\n", s.gso ? "on" : "refused");
    batch_expect(b, &a_addr, &b_addr);
    floe_io_close(a);
    floe_io_close(b);
}

static void test_bad_args(void)
{
    struct floe_addr none;
    struct floe_io_receiver r;

    memset(&none, 0, sizeof(none));
    CHECK_EQ(floe_io_udp_open(NULL), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_udp_open(&none), FLOE_ERR_ADDR_FAMILY);
    CHECK_EQ(floe_io_receiver_init(&r, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_udp_send(-1, &none, NULL, 0), FLOE_ERR_ADDR_FAMILY);
}

int main(void)
{
    FLOE_RUN(test_clock);
    FLOE_RUN(test_random);
    FLOE_RUN(test_udp_v4);
    FLOE_RUN(test_udp_v6);
    FLOE_RUN(test_dual_stack);
    FLOE_RUN(test_icmp_unreachable);
    FLOE_RUN(test_batch);
    FLOE_RUN(test_bad_args);
    return floe_test_summary();
}
