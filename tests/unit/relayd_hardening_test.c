/*
 * floe-relay hardening (issue 9, items 1, 2, 6 and 9) in process: one worker on a free
 * loopback port and a STUN/TURN client on loopback. Relayed ports another socket holds
 * are skipped for a free one of the range (508 only when all are held); SOFTWARE is in
 * answers unless --no-software; the new flags reach the core's config; a --relay-ports
 * range overlapping the kernel's ephemeral ports is logged at start.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "floe/stun.h"
#include "floe_io.h"
#include "relayd.h"
#include "test.h"

#define HT_SPAN 64 /* ports of the relay range in the port test */

struct ht {
    struct relayd d;
    pthread_t thread;
    struct floe_addr server;
    int client;
    uint8_t key[16];
    char nonce[128], realm[64];
};

static struct floe_xoshiro ht_rng;

/* A free loopback UDP port (bound once, then closed). */
static uint16_t ht_free_port(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), a;
    int fd = floe_io_udp_open(&lo);

    if (fd < 0 || floe_io_udp_local(fd, &a) < 0)
        a.port = 0;
    floe_io_close(fd);
    return a.port;
}

/* Start one epoll worker with the extra arguments (NULL-terminated). 0 or -1. */
static int ht_start(struct ht *t, const char *ports, const char *extra)
{
    char listen[64], err[128];
    char *argv[16] = {"floe-relay", "--listen", listen,          "--user",      "alice:secret",
                      "--threads",  "1",        "--relay-ports", (char *)ports, "--log-level",
                      "off",        "--io",     "epoll"};
    int argc = 13;

    if (extra)
        argv[argc++] = (char *)extra;
    memset(t, 0, sizeof(*t));
    t->client = -1;
    t->server = floe_addr_v4(127, 0, 0, 1, ht_free_port());
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", t->server.port);
    if (relayd_parse_args(argc, argv, &t->d.opts, err, sizeof(err)) != 0 ||
        floe_jsonlog_open(&t->d.log, NULL, FLOE_LOG_OFF) < 0)
        return -1;
    pthread_mutex_init(&t->d.stats_lock, NULL);
    t->d.n_workers = 1;
    if (relayd_worker_new(&t->d, 0, &t->d.workers[0]) < 0)
        return -1;
    return pthread_create(&t->thread, NULL, relayd_worker_run, t->d.workers[0]) == 0 ? 0 : -1;
}

static void ht_stop(struct ht *t)
{
    atomic_store(&t->d.stop, true);
    relayd_worker_wake(t->d.workers[0]);
    pthread_join(t->thread, NULL);
    relayd_worker_free(t->d.workers[0]);
    pthread_mutex_destroy(&t->d.stats_lock);
    floe_io_close(t->client);
}

/* One request of method from the client; its answer in *m (held in resp). 0 or -1. */
static int ht_request(struct ht *t, uint16_t method, uint8_t *resp, size_t cap,
                      struct floe_stun_msg *m)
{
    struct floe_rng rng = floe_xoshiro_rng(&ht_rng);
    struct floe_stun_builder b;
    struct floe_addr from;
    uint8_t req[512], txid[12];
    long n;
    int tries;

    (void)floe_rng_fill(&rng, txid, sizeof(txid));
    floe_stun_build_init(&b, req, sizeof(req), method, FLOE_STUN_REQUEST, txid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_requested_transport(&b, 17);
    if (method == FLOE_STUN_REFRESH)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 0); /* delete the allocation */
    if (t->nonce[0] && method != FLOE_STUN_BINDING) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "alice", 5);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, t->realm, strlen(t->realm));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, t->nonce, strlen(t->nonce));
        floe_stun_add_integrity_key(&b, t->key, sizeof(t->key));
    }
    n = floe_stun_build_finish(&b);
    for (tries = 0; n > 0 && tries < 10; tries++) {
        long got;

        if (floe_io_udp_send(t->client, &t->server, req, (size_t)n) < 0)
            return -1;
        got = floe_io_udp_recv(t->client, resp, cap, &from, floe_io_now() + FLOE_MS(500));
        if (got > 0 && floe_stun_decode(m, resp, (size_t)got) == 0 &&
            memcmp(m->txid, txid, sizeof(txid)) == 0)
            return 0;
    }
    return -1;
}

/* Allocate through the 401 dance from a new client socket: the error code (0: success). */
static int ht_allocate(struct ht *t, struct floe_addr *relayed)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0);
    struct floe_stun_msg m;
    struct floe_span reason;
    uint8_t resp[1500];
    int code = -1;

    floe_io_close(t->client);
    t->client = floe_io_udp_open(&lo);
    t->nonce[0] = '\0';
    if (t->client < 0 || ht_request(t, FLOE_STUN_ALLOCATE, resp, sizeof(resp), &m) < 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_NONCE, t->nonce, sizeof(t->nonce)) != 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_REALM, t->realm, sizeof(t->realm)) != 0 ||
        floe_stun_long_term_key_md5(t->key, floe_span_make("alice", 5),
                                    floe_span_make(t->realm, strlen(t->realm)),
                                    floe_span_make("secret", 6)) < 0 ||
        ht_request(t, FLOE_STUN_ALLOCATE, resp, sizeof(resp), &m) < 0)
        return -1;
    if (m.cls == FLOE_STUN_SUCCESS)
        return floe_stun_get_xor_addr(&m, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, relayed) == 0 ? 0
                                                                                            : -1;
    return floe_stun_get_error(&m, &code, &reason) == 0 ? code : -1;
}

/* A socket on 127.0.0.1:port as another program would have (no SO_REUSEPORT). */
static int ht_hold(uint16_t port)
{
    struct floe_addr a = floe_addr_v4(127, 0, 0, 1, port);

    return floe_io_udp_open(&a);
}

/* Hold HT_SPAN consecutive loopback ports into fds; their first port, 0 if none found. */
static uint16_t ht_hold_range(int *fds)
{
    int attempt, i;

    for (attempt = 0; attempt < 50; attempt++) {
        uint16_t base = (uint16_t)(20000 + (floe_xoshiro_next(&ht_rng) % 600) * 64);

        for (i = 0; i < HT_SPAN; i++) {
            fds[i] = ht_hold((uint16_t)(base + i));
            if (fds[i] < 0)
                break;
        }
        if (i == HT_SPAN)
            return base;
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
    uint16_t base = ht_hold_range(fds), free_port;
    struct floe_addr relayed;
    struct floe_stun_msg m;
    uint8_t resp[1500];
    char ports[32];
    struct ht t;

    REQUIRE(base != 0);
    free_port = (uint16_t)(base + 37);
    floe_io_close(fds[37]);
    fds[37] = -1;
    snprintf(ports, sizeof(ports), "%u-%u", base, base + HT_SPAN - 1);
    REQUIRE(ht_start(&t, ports, NULL) == 0);
    for (round = 0; round < 4; round++) {
        CHECK_EQ(ht_allocate(&t, &relayed), 0);
        CHECK_EQ(relayed.port, free_port);
        CHECK_EQ(ht_request(&t, FLOE_STUN_REFRESH, resp, sizeof(resp), &m), 0);
        CHECK_EQ(m.cls, FLOE_STUN_SUCCESS);
    }
    fds[37] = ht_hold(free_port);
    CHECK(fds[37] >= 0);
    CHECK_EQ(ht_allocate(&t, &relayed), 508);
    ht_stop(&t);
    for (i = 0; i < HT_SPAN; i++)
        floe_io_close(fds[i]);
}

/* SOFTWARE names the relay unless --no-software. */
static void test_no_software(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0);
    struct floe_stun_msg m;
    struct floe_span sw;
    uint8_t resp[1500];
    char ports[32];
    uint16_t port = ht_free_port();
    struct ht t;
    int with;

    snprintf(ports, sizeof(ports), "%u-%u", port, port);
    for (with = 1; with >= 0; with--) {
        REQUIRE(ht_start(&t, ports, with ? NULL : "--no-software") == 0);
        t.client = floe_io_udp_open(&lo);
        REQUIRE(t.client >= 0);
        REQUIRE(ht_request(&t, FLOE_STUN_BINDING, resp, sizeof(resp), &m) == 0);
        CHECK_EQ(m.cls, FLOE_STUN_SUCCESS);
        CHECK_EQ(floe_stun_get_span(&m, FLOE_STUN_ATTR_SOFTWARE, &sw) == 0, with);
        if (with)
            CHECK(sw.len > 10 && memcmp(sw.ptr, "floe-relay", 10) == 0);
        ht_stop(&t);
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
