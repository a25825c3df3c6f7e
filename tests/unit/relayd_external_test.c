/*
 * floe-relay behind a 1:1 NAT: --external-ip PUBLIC/PRIVATE advertises PUBLIC in
 * XOR-RELAYED-ADDRESS while the relayed socket binds PRIVATE (a peer reaches it there),
 * and the option's bad forms are refused with a clear message.
 */
#include "test.h"

#include "relayd_harness.h"

static void test_external_ip_advertised_private_bound(void)
{
    static const char *const args[] = {"--threads",
                                       "1",
                                       "--user",
                                       "alice:secret",
                                       "--relay-ports",
                                       "62600-62699",
                                       "--allow-loopback-peers",
                                       "--external-ip",
                                       "203.0.113.7/127.0.0.1",
                                       NULL};
    static struct rh_daemon t;
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), bound, from;
    struct floe_stun_msg m;
    struct floe_span data;
    struct rh_client c;
    uint8_t buf[1500];
    char ip[FLOE_ADDR_STRLEN];
    int peer;
    long n;

    REQUIRE(rh_start(&t, args) == 0);
    REQUIRE(rh_client_open(&c, &t, "alice", "secret") == 0);
    REQUIRE(rh_allocate(&c) == 0);
    CHECK(floe_addr_format_ip(&c.relayed, ip, sizeof(ip)) > 0);
    CHECK_STR(ip, "203.0.113.7");
    CHECK(c.relayed.port >= 62600 && c.relayed.port <= 62699);
    /* the socket is bound on the private address: a peer there reaches the client */
    peer = floe_io_udp_open(&lo);
    REQUIRE(peer >= 0 && floe_io_udp_local(peer, &c.peer) == 0);
    REQUIRE(rh_request(&c, FLOE_STUN_CREATE_PERMISSION, 0) == 0);
    CHECK_EQ(rh_code(&c), 0);
    bound = floe_addr_v4(127, 0, 0, 1, c.relayed.port);
    REQUIRE(floe_io_udp_send(peer, &bound, (const uint8_t *)"hello", 5) == 0);
    n = floe_io_udp_recv(c.fd, buf, sizeof(buf), &from, floe_io_now() + FLOE_SEC(2));
    REQUIRE(n > 0);
    REQUIRE(floe_stun_decode(&m, buf, (size_t)n) == 0);
    CHECK_EQ(m.method, FLOE_STUN_DATA);
    CHECK_EQ(floe_stun_get_span(&m, FLOE_STUN_ATTR_DATA, &data), 0);
    CHECK(data.len == 5 && memcmp(data.ptr, "hello", 5) == 0);
    /* the public address counts as the relay's own: no permission for it */
    c.peer = floe_addr_v4(203, 0, 113, 7, 5000);
    REQUIRE(rh_request(&c, FLOE_STUN_CREATE_PERMISSION, 0) == 0);
    CHECK_EQ(rh_code(&c), 403);
    floe_io_close(peer);
    rh_client_close(&c);
    rh_stop(&t);
}

static int parse(char *err, size_t cap, struct relayd_opts *o, const char *listen, const char *a1,
                 const char *a2, const char *a3, const char *a4)
{
    const char *args[] = {"--listen", listen, "--user", "a:b", a1, a2, a3, a4};

    return rh_parse(o, err, cap, args, 8);
}

static void test_external_ip_args(void)
{
    static struct relayd_opts o;
    char err[256], a[FLOE_ADDR_STRLEN];

    /* a wildcard --listen and PUBLIC/PRIVATE: PRIVATE is the relayed address */
    REQUIRE(parse(err, sizeof(err), &o, "0.0.0.0:3478", "--external-ip", "198.51.100.1/10.0.0.5",
                  NULL, NULL) == 0);
    CHECK(floe_addr_format_ip(&o.relay_ip, a, sizeof(a)) > 0);
    CHECK_STR(a, "10.0.0.5");
    CHECK(floe_addr_format_ip(&o.core.external_v4, a, sizeof(a)) > 0);
    CHECK_STR(a, "198.51.100.1");
    /* PUBLIC alone with a specific --listen; an IPv6 pair next to it */
    REQUIRE(parse(err, sizeof(err), &o, "10.0.0.5:3478", "--external-ip", "198.51.100.1",
                  "--external-ip", "2001:db8::1/fd00::5") == 0);
    CHECK(floe_addr_format_ip(&o.relay_ip6, a, sizeof(a)) > 0);
    CHECK_STR(a, "fd00::5");
    CHECK_EQ(o.core.external_v6.family, FLOE_AF_INET6);
    /* refused: mixed families, twice one family, wildcard, PRIVATE against --relay-ip */
    CHECK(parse(err, sizeof(err), &o, "10.0.0.5:3478", "--external-ip", "198.51.100.1/fd00::5",
                NULL, NULL) < 0);
    CHECK(strstr(err, "--external-ip") != NULL);
    CHECK(parse(err, sizeof(err), &o, "10.0.0.5:3478", "--external-ip", "198.51.100.1",
                "--external-ip", "198.51.100.2") < 0);
    CHECK(parse(err, sizeof(err), &o, "10.0.0.5:3478", "--external-ip", "0.0.0.0", NULL, NULL) < 0);
    CHECK(parse(err, sizeof(err), &o, "10.0.0.5:3478", "--external-ip", "nonsense", NULL, NULL) <
          0);
    CHECK(parse(err, sizeof(err), &o, "0.0.0.0:3478", "--relay-ip", "10.0.0.6", "--external-ip",
                "198.51.100.1/10.0.0.5") < 0);
    CHECK(strstr(err, "PRIVATE") != NULL);
    /* PUBLIC alone and nothing to bind */
    CHECK(parse(err, sizeof(err), &o, "0.0.0.0:3478", "--relay-ip6", "fd00::5", "--external-ip",
                "198.51.100.1") < 0);
    CHECK(strstr(err, "--external-ip PUBLIC needs") != NULL);
}

int main(void)
{
    FLOE_RUN(test_external_ip_advertised_private_bound);
    FLOE_RUN(test_external_ip_args);
    return floe_test_summary();
}
