/*
 * floe-relay's I/O path in process: one worker thread on a free loopback port, a TURN
 * client and a peer on loopback. UDP GSO bursts each way must be relayed datagram for
 * datagram, in order, by the io_uring loop and by the epoll loop, with the relay's
 * sockets in UDP GRO mode and without; a GSO burst of garbage is dropped and counted and
 * the relay still serves; a released allocation's port can be bound again (the io_uring
 * receive on it was cancelled). The counters the metrics endpoint shows must say whether
 * GRO coalesced anything.
 */
#include <pthread.h>
#include <unistd.h>

#include "floe/stun.h"
#include "floe_io.h"
#include "relayd.h"
#include "test.h"

#define RIO_N 40        /* datagrams per burst (one GSO send: at most 64) */
#define RIO_PAYLOAD 100 /* bytes of each relayed payload */
#define RIO_CHANNEL 0x4001

struct rio {
    struct relayd d;
    pthread_t thread;
    struct floe_addr server;
    int client, peer;
    struct floe_addr peer_addr, relayed;
    uint8_t key[16];
    char nonce[128], realm[64];
};

/* A free loopback UDP port (bound once, then closed). */
static uint16_t rio_free_port(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), a;
    int fd = floe_io_udp_open(&lo);

    if (fd < 0 || floe_io_udp_local(fd, &a) < 0)
        a.port = 0;
    floe_io_close(fd);
    return a.port;
}

static int rio_start(struct rio *t, bool gro, const char *io, char *ports)
{
    char listen[64], err[128];
    char *argv[20] = {"floe-relay",   "--listen",    listen, "--user",
                      "alice:secret", "--threads",   "1",    "--relay-ports",
                      "61800-61999",  "--log-level", "off",  "--allow-loopback-peers"};
    int argc = 12;

    argv[argc++] = "--io";
    argv[argc++] = (char *)io;
    if (ports)
        argv[8] = ports;
    if (!gro) { /* and the io_uring loop waking for every completion */
        argv[argc++] = "--no-gro";
        argv[argc++] = "--linger-us";
        argv[argc++] = "0";
    }
    memset(t, 0, sizeof(*t));
    t->server = floe_addr_v4(127, 0, 0, 1, rio_free_port());
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", t->server.port);
    if (relayd_parse_args(argc, argv, &t->d.opts, err, sizeof(err)) != 0 ||
        relayd_resolve_io(&t->d.opts) < 0 || floe_jsonlog_open(&t->d.log, NULL, FLOE_LOG_OFF) < 0)
        return -1;
    pthread_mutex_init(&t->d.stats_lock, NULL);
    t->d.n_workers = 1;
    if (relayd_worker_new(&t->d, 0, &t->d.workers[0]) < 0)
        return -1;
    return pthread_create(&t->thread, NULL, relayd_worker_run, t->d.workers[0]) == 0 ? 0 : -1;
}

static void rio_stop(struct rio *t)
{
    atomic_store(&t->d.stop, true);
    relayd_worker_wake(t->d.workers[0]);
    pthread_join(t->thread, NULL);
    relayd_worker_free(t->d.workers[0]);
    pthread_mutex_destroy(&t->d.stats_lock);
    floe_io_close(t->client);
    floe_io_close(t->peer);
}

/* One request from the client and its answer in *m (resp holds it). 0 or -1. */
static int rio_request(struct rio *t, uint16_t method, uint8_t *resp, size_t cap,
                       struct floe_stun_msg *m)
{
    static uint8_t txid_seq;
    struct floe_stun_builder b;
    struct floe_addr from;
    uint8_t req[512], txid[12] = {0x52, 0x49, 0x4f};
    long n;
    int tries;

    txid[11] = ++txid_seq;
    floe_stun_build_init(&b, req, sizeof(req), method, FLOE_STUN_REQUEST, txid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_requested_transport(&b, 17);
    if (method == FLOE_STUN_REFRESH)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 0); /* delete the allocation */
    if (method == FLOE_STUN_CHANNEL_BIND) {
        floe_stun_add_channel(&b, RIO_CHANNEL);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &t->peer_addr);
    }
    if (t->nonce[0]) {
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

/* Allocate (the 401 dance; 508, a relayed port taken by a parallel test, asks again). */
static int rio_allocate(struct rio *t)
{
    struct floe_stun_msg m;
    struct floe_span reason;
    uint8_t resp[1500];
    int tries, code = 0;

    if (rio_request(t, FLOE_STUN_ALLOCATE, resp, sizeof(resp), &m) < 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_NONCE, t->nonce, sizeof(t->nonce)) != 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_REALM, t->realm, sizeof(t->realm)) != 0 ||
        floe_stun_long_term_key_md5(t->key, floe_span_make("alice", 5),
                                    floe_span_make(t->realm, strlen(t->realm)),
                                    floe_span_make("secret", 6)) < 0)
        return -1;
    for (tries = 0; tries < 5; tries++) {
        if (rio_request(t, FLOE_STUN_ALLOCATE, resp, sizeof(resp), &m) < 0)
            return -1;
        if (m.cls == FLOE_STUN_SUCCESS)
            break;
        if (floe_stun_get_error(&m, &code, &reason) < 0 || code != 508)
            return -1;
    }
    if (m.cls != FLOE_STUN_SUCCESS ||
        floe_stun_get_xor_addr(&m, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &t->relayed) < 0)
        return -1;
    if (rio_request(t, FLOE_STUN_CHANNEL_BIND, resp, sizeof(resp), &m) < 0)
        return -1;
    return m.cls == FLOE_STUN_SUCCESS ? 0 : -1;
}

/* n datagrams of len bytes from bufs[i] to dst as one GSO send (equal lengths). */
static void rio_burst(int fd, const struct floe_addr *dst, uint8_t (*bufs)[128], size_t len,
                      size_t n)
{
    struct floe_io_sender s = {.gso = true, .wait_ms = 100};
    struct floe_io_dgram d[RIO_N];
    size_t i;

    for (i = 0; i < n; i++) {
        d[i].buf = bufs[i];
        d[i].len = len;
        d[i].dst = *dst;
    }
    floe_io_udp_send_batch(&s, fd, d, n);
    CHECK_EQ(s.stats.sent, n);
}

/*
 * Read from fd until want datagrams came (or 2 s passed); check each is payload i
 * (after a ChannelData header when channeldata). Returns the count.
 */
static size_t rio_collect(int fd, size_t want, bool channeldata)
{
    struct floe_io_receiver r;
    size_t got = 0, i;
    floe_time end = floe_io_now() + FLOE_SEC(2);

    if (floe_io_receiver_init(&r, 16) < 0)
        return 0;
    while (got < want && floe_io_now() < end) {
        if (floe_io_udp_recv_batch(&r, fd) <= 0)
            continue;
        for (i = 0; i < r.n_dg; i++, got++) {
            struct floe_span data = {r.dg[i].buf, r.dg[i].len};
            uint16_t ch = 0;

            if (channeldata) {
                CHECK_EQ(floe_channeldata_decode(r.dg[i].buf, r.dg[i].len, &ch, &data), 0);
                CHECK_EQ(ch, RIO_CHANNEL);
            }
            CHECK_EQ(data.len, RIO_PAYLOAD);
            CHECK(data.len > 0 && data.ptr[0] == (uint8_t)got); /* every one, in order */
        }
    }
    floe_io_receiver_deinit(&r);
    return got;
}

/* A counter's value in the metrics text, or -1. */
static long long rio_metric(const char *text, const char *name)
{
    const char *p = text;
    size_t n = strlen(name);

    while ((p = strstr(p, name)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atoll(p + n + 1);
        p += n;
    }
    return -1;
}

static void rio_run(bool gro, const char *io)
{
    static uint8_t bufs[RIO_N][128];
    static char text[16384];
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0);
    struct rio t;
    size_t i;

    REQUIRE(rio_start(&t, gro, io, NULL) == 0);
    CHECK_EQ(t.d.opts.io, strcmp(io, "uring") == 0 ? RELAYD_IO_URING : RELAYD_IO_EPOLL);
    t.client = floe_io_udp_open(&lo);
    t.peer = floe_io_udp_open(&lo);
    REQUIRE(t.client >= 0 && t.peer >= 0);
    CHECK_EQ(floe_io_udp_local(t.peer, &t.peer_addr), 0);
    REQUIRE(rio_allocate(&t) == 0);

    /* client -> peer: one GSO burst of ChannelData */
    for (i = 0; i < RIO_N; i++) {
        uint8_t pay[RIO_PAYLOAD];

        memset(pay, 0xab, sizeof(pay));
        pay[0] = (uint8_t)i;
        CHECK(floe_channeldata_encode(bufs[i], sizeof(bufs[i]), RIO_CHANNEL, pay, sizeof(pay)) ==
              FLOE_CHANNELDATA_HEADER_LEN + RIO_PAYLOAD);
    }
    rio_burst(t.client, &t.server, bufs, FLOE_CHANNELDATA_HEADER_LEN + RIO_PAYLOAD, RIO_N);
    CHECK_EQ(rio_collect(t.peer, RIO_N, false), RIO_N);

    /* peer -> client: one GSO burst of raw payloads to the relayed address */
    for (i = 0; i < RIO_N; i++) {
        memset(bufs[i], 0xcd, RIO_PAYLOAD);
        bufs[i][0] = (uint8_t)i;
    }
    rio_burst(t.peer, &t.relayed, bufs, RIO_PAYLOAD, RIO_N);
    CHECK_EQ(rio_collect(t.client, RIO_N, true), RIO_N);

    /* a GSO burst of garbage is dropped; the relay still serves */
    for (i = 0; i < 10; i++)
        memset(bufs[i], 0xff, 60);
    rio_burst(t.client, &t.server, bufs, 60, 10);
    memset(bufs[0], 0xcd, RIO_PAYLOAD);
    bufs[0][0] = 0;
    rio_burst(t.peer, &t.relayed, bufs, RIO_PAYLOAD, 1);
    CHECK_EQ(rio_collect(t.client, 1, true), 1);

    usleep(1100 * 1000); /* counters are published once a second */
    CHECK(relayd_metrics_render(&t.d, text, sizeof(text)) > 0);
    CHECK(rio_metric(text, "floe_relay_datagrams_received_total") >= 2 * RIO_N + 11);
    if (gro)
        CHECK(rio_metric(text, "floe_relay_gro_coalesced_total") >= 2);
    else
        CHECK_EQ(rio_metric(text, "floe_relay_gro_coalesced_total"), 0);
    CHECK_EQ(rio_metric(text, "floe_relay_packets_to_peers_total"), RIO_N);
    CHECK_EQ(rio_metric(text, "floe_relay_packets_to_clients_total"), RIO_N + 1);
    CHECK(rio_metric(text, "floe_relay_drops_total{reason=\"recv_truncated\"}") == 0);
    rio_stop(&t);
}

/*
 * With a one-port range, allocate, delete the allocation (Refresh, lifetime 0) and
 * allocate again from another client: the port must be free again each time, so the
 * loop must have let go of the socket (io_uring: the receive on it cancelled).
 */
static void rio_reuse_port(const char *io)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), first;
    struct floe_stun_msg m;
    char ports[32];
    uint8_t resp[1500];
    uint16_t port = rio_free_port();
    struct rio t;
    int round;

    snprintf(ports, sizeof(ports), "%u-%u", port, port);
    REQUIRE(rio_start(&t, true, io, ports) == 0);
    t.peer = floe_io_udp_open(&lo);
    REQUIRE(t.peer >= 0);
    CHECK_EQ(floe_io_udp_local(t.peer, &t.peer_addr), 0);
    for (round = 0; round < 3; round++) {
        t.client = floe_io_udp_open(&lo);
        t.nonce[0] = '\0';
        REQUIRE(t.client >= 0);
        CHECK_EQ(rio_allocate(&t), 0);
        if (round == 0)
            first = t.relayed;
        CHECK(floe_addr_eq(&t.relayed, &first));
        CHECK_EQ(t.relayed.port, port);
        CHECK_EQ(rio_request(&t, FLOE_STUN_REFRESH, resp, sizeof(resp), &m), 0);
        CHECK_EQ(m.cls, FLOE_STUN_SUCCESS);
        floe_io_close(t.client);
        t.client = -1;
    }
    rio_stop(&t);
}

static void test_uring_gro(void)
{
    rio_run(true, "uring");
}

static void test_uring_no_gro(void)
{
    rio_run(false, "uring");
}

static void test_epoll_gro(void)
{
    rio_run(true, "epoll");
}

static void test_epoll_no_gro(void)
{
    rio_run(false, "epoll");
}

static void test_uring_port_reuse(void)
{
    rio_reuse_port("uring");
}

static void test_epoll_port_reuse(void)
{
    rio_reuse_port("epoll");
}

int main(void)
{
    FLOE_RUN(test_uring_gro);
    FLOE_RUN(test_uring_no_gro);
    FLOE_RUN(test_epoll_gro);
    FLOE_RUN(test_epoll_no_gro);
    FLOE_RUN(test_uring_port_reuse);
    FLOE_RUN(test_epoll_port_reuse);
    return floe_test_summary();
}
