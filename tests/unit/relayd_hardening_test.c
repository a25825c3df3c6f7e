/*
 * floe-relay hardening (issue 9, items 1, 2, 6 and 9) in process: the daemon on a free
 * loopback port (relayd_harness.h) and a STUN/TURN client on loopback. Relayed ports
 * another socket holds are skipped for a free one of the range (508 only when all are
 * held); SOFTWARE is in answers unless --no-software; the new flags reach the core's
 * config; a --relay-ports range overlapping the kernel's ephemeral ports is logged at start.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#include "relayd_harness.h"

#define HT_SPAN 64 /* ports of the relay range in the port test */

static struct floe_xoshiro ht_rng;

/* One epoll worker relaying on ports, with one more argument when extra is not NULL. */
static int ht_start(struct rh_daemon *t, const char *ports, const char *extra)
{
    const char *args[] = {"--user", "alice:secret", "--threads", "1",   "--relay-ports",
                          ports,    "--io",         "epoll",     extra, NULL};

    return rh_start(t, args);
}

/* Allocate from a new client socket: the answer's code (0: success, c->relayed set). */
static int ht_allocate(const struct rh_daemon *t, struct rh_client *c)
{
    if (rh_client_open(c, t, "alice", "secret") < 0)
        return -1;
    return rh_allocate(c);
}

/* A socket on 127.0.0.1:port as another program would have (no SO_REUSEPORT). */
static int ht_hold(uint16_t port)
{
    struct floe_addr a = floe_addr_v4(127, 0, 0, 1, port);

    return floe_io_udp_open(&a);
}

/* Hold HT_SPAN consecutive loopback ports into fds; their first port, 0 if none found. */
/* The kernel's ephemeral port range into lo, hi (32768-60999 when it cannot be read). */
static void ht_ephemeral(uint16_t *lo, uint16_t *hi)
{
    char text[64] = "";
    FILE *f = fopen(RELAYD_LOCAL_RANGE_PATH, "re");

    if (f) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);

        text[n] = '\0';
        fclose(f);
    }
    if (relayd_parse_local_range(text, lo, hi) < 0) {
        *lo = 32768;
        *hi = 60999;
    }
}

/* Whether base..base+HT_SPAN-1 is clear of the ephemeral range lo..hi. */
static bool ht_outside(uint32_t base, uint16_t lo, uint16_t hi)
{
    return base + HT_SPAN - 1 < lo || base > hi;
}

/*
 * HT_SPAN ports held from base, none of them ephemeral: a port of the range left free must
 * stay free, and any socket bound to port 0 (this test's clients, other programs) could
 * take an ephemeral one between its close and the relay's bind (a 508 seen once under ASan).
 */
static uint16_t ht_hold_range(int *fds)
{
    uint16_t lo, hi;
    uint32_t base;
    int attempt, i;

    ht_ephemeral(&lo, &hi);
    for (attempt = 0; attempt < 200; attempt++) {
        base = 10000 + (uint32_t)(floe_xoshiro_next(&ht_rng) % 860) * 64;
        if (!ht_outside(base, lo, hi))
            continue;
        for (i = 0; i < HT_SPAN; i++) {
            fds[i] = ht_hold((uint16_t)(base + (uint32_t)i));
            if (fds[i] < 0)
                break;
        }
        if (i == HT_SPAN)
            return (uint16_t)base;
        while (i-- > 0)
            floe_io_close(fds[i]);
    }
    return 0;
}

/*
 * Every port of the range but one held by other sockets: each Allocate gets that one
 * (it used to fail with 508 whenever the random pick was a held port); all held: 508.
 */
static void test_relayed_port_taken(void)
{
    int fds[HT_SPAN], i, round;
    uint16_t base = ht_hold_range(fds), free_port, lo, hi;
    struct rh_daemon t;
    struct rh_client c;
    char ports[32];

    REQUIRE(base != 0);
    ht_ephemeral(&lo, &hi);
    CHECK(ht_outside(base, lo, hi)); /* else the free port is anyone's to take */
    free_port = (uint16_t)(base + 37);
    floe_io_close(fds[37]);
    fds[37] = -1;
    snprintf(ports, sizeof(ports), "%u-%u", base, base + HT_SPAN - 1);
    REQUIRE(ht_start(&t, ports, NULL) == 0);
    for (round = 0; round < 4; round++) {
        CHECK_EQ(ht_allocate(&t, &c), 0);
        CHECK_EQ(c.relayed.port, free_port);
        CHECK_EQ(rh_request(&c, FLOE_STUN_REFRESH, 0), 0); /* LIFETIME 0: delete */
        CHECK_EQ(c.ans.cls, FLOE_STUN_SUCCESS);
        rh_client_close(&c);
    }
    fds[37] = ht_hold(free_port);
    CHECK(fds[37] >= 0);
    CHECK_EQ(ht_allocate(&t, &c), 508);
    rh_client_close(&c);
    rh_stop(&t);
    for (i = 0; i < HT_SPAN; i++)
        floe_io_close(fds[i]);
}

/* SOFTWARE names the relay unless --no-software. */
static void test_no_software(void)
{
    uint16_t port = rh_free_port();
    struct rh_daemon t;
    struct rh_client c;
    struct floe_span sw;
    char ports[32];
    int with;

    snprintf(ports, sizeof(ports), "%u-%u", port, port);
    for (with = 1; with >= 0; with--) {
        REQUIRE(ht_start(&t, ports, with ? NULL : "--no-software") == 0);
        REQUIRE(rh_client_open(&c, &t, "alice", "secret") == 0);
        REQUIRE(rh_request(&c, FLOE_STUN_BINDING, 0) == 0);
        CHECK_EQ(c.ans.cls, FLOE_STUN_SUCCESS);
        CHECK_EQ(floe_stun_get_span(&c.ans, FLOE_STUN_ATTR_SOFTWARE, &sw) == 0, with);
        if (with)
            CHECK(sw.len > 10 && memcmp(sw.ptr, "floe-relay", 10) == 0);
        rh_client_close(&c);
        rh_stop(&t);
    }
}

/* The flags of these items reach the core: source rate, listen addresses, whole range. */
static void test_flags(void)
{
    struct relayd_opts o;
    char err[128];
    char *argv[] = {"floe-relay",
                    "--listen",
                    "203.0.113.5:3478",
                    "--listen",
                    "[2001:db8::5]:3478",
                    "--user",
                    "a:b",
                    "--relay-ports",
                    "50000-50999",
                    "--unauth-source-rate",
                    "7",
                    "--threads",
                    "4",
                    "--no-software"};
    char *bad[] = {"floe-relay",           "--listen", "127.0.0.1:1", "--user", "a:b",
                   "--unauth-source-rate", "x"};

    REQUIRE(relayd_parse_args(14, argv, &o, err, sizeof(err)) == 0);
    CHECK_EQ(o.core.unauth_source_rate, 7);
    CHECK(o.core.software == NULL);
    CHECK_EQ(o.core.n_listen, 2);
    CHECK(floe_addr_eq(&o.core.listen[1], &o.listen[1]));
    CHECK_EQ(o.core.relay_range_min, 50000);
    CHECK_EQ(o.core.relay_range_max, 50999);
    CHECK_EQ(relayd_parse_args(7, bad, &o, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
    REQUIRE(relayd_parse_args(5, bad, &o, err, sizeof(err)) == 0);
    CHECK_EQ(o.core.unauth_source_rate, 100);
    CHECK(o.core.software && strstr(o.core.software, "floe-relay"));
}

/* A wildcard listen address makes every address of the host the relay's own. */
static void test_host_addresses(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0);
    struct relayd_opts o;
    char err[128];
    char *wild[] = {"floe-relay", "--listen", "0.0.0.0:3478", "--relay-ip",
                    "192.0.2.1",  "--user",   "a:b"};
    size_t i;
    bool found = false;

    REQUIRE(relayd_parse_args(7, wild, &o, err, sizeof(err)) == 0);
    CHECK_EQ(relayd_add_host_addresses(&o), 0);
    for (i = 0; i < o.core.n_own; i++) {
        CHECK_EQ(o.core.own[i].family, FLOE_AF_INET);
        found |= floe_addr_ip_eq(&o.core.own[i], &lo);
    }
    CHECK(found);
    wild[2] = "127.0.0.1:3478";
    REQUIRE(relayd_parse_args(7, wild, &o, err, sizeof(err)) == 0);
    CHECK_EQ(relayd_add_host_addresses(&o), 0);
    CHECK_EQ(o.core.n_own, 0);
}

/* The start warning about ports the kernel hands out to every program. */
static void test_ephemeral_warning(void)
{
    char dir[] = "/tmp/floe-relayd-ht.XXXXXX", range[64], logp[64], text[4096];
    struct floe_jsonlog log;
    struct relayd_opts o;
    uint16_t lo = 0, hi = 0;
    FILE *f;
    size_t n;

    CHECK_EQ(relayd_parse_local_range("32768\t60999\n", &lo, &hi), 0);
    CHECK(lo == 32768 && hi == 60999);
    CHECK_EQ(relayd_parse_local_range("60999 32768", &lo, &hi), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(relayd_parse_local_range("", &lo, &hi), FLOE_ERR_INVALID_ARG);
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(range, sizeof(range), "%s/range", dir);
    snprintf(logp, sizeof(logp), "%s/log", dir);
    f = fopen(range, "w");
    REQUIRE(f);
    fputs("32768\t60999\n", f);
    fclose(f);
    REQUIRE(floe_jsonlog_open(&log, logp, FLOE_LOG_INFO) == 0);
    memset(&o, 0, sizeof(o));
    o.port_min = 61000;
    o.port_max = 65535;
    CHECK(!relayd_warn_ephemeral(&log, &o, range));
    o.port_min = 49152;
    CHECK(relayd_warn_ephemeral(&log, &o, range));
    CHECK(!relayd_warn_ephemeral(&log, &o, "/nonexistent/range"));
    floe_jsonlog_close(&log);
    f = fopen(logp, "r");
    REQUIRE(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    CHECK(strstr(text, "\"severity\":\"WARN\"") && strstr(text, "ip_local_port_range") &&
          strstr(text, "\"ephemeral_max\":60999"));
    unlink(range);
    unlink(logp);
    rmdir(dir);
}

int main(void)
{
    floe_xoshiro_seed(&ht_rng, floe_test_seed());
    FLOE_RUN(test_relayed_port_taken);
    FLOE_RUN(test_no_software);
    FLOE_RUN(test_flags);
    FLOE_RUN(test_host_addresses);
    FLOE_RUN(test_ephemeral_warning);
    return floe_test_summary();
}
