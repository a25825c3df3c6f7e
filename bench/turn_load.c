/*
 * turn_load: relayed throughput of floe-relay against coturn on this machine.
 *
 * For each relay in turn (floe-relay, then Debian's turnserver, same thread
 * count, same load) it starts the relay on a free loopback port, opens N
 * allocations with a channel each to an in-process UDP echo peer, keeps a
 * window of ChannelData datagrams in flight per allocation for the measured
 * seconds, and reports relayed packets/s, payload Mbit/s, loss, round-trip
 * p50/p99 and the relay's own CPU time (from /proc), then the ratios.
 *
 *   build/bench/turn_load [--allocations N] [--seconds S] [--size BYTES]
 *                         [--window W] [--threads T] [--gso 0|1] [--pin 0|1]
 *                         [--floe-arg ARG]
 * --pin 1 puts the relay on the last CPU and the generator on the others, both before they
 * start.
 *
 * The generator (clients and echo peer, in this process) is the same for both relays.
 * By default it sends each client's window refill as one UDP GSO burst and reads with
 * UDP GRO, echoing a coalesced message back as one GSO send, so that it costs less than
 * the relays it drives; --gso 0 is the plain sendmmsg/recvmmsg generator. --floe-arg
 * passes one more argument to floe-relay (e.g. --no-gro).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe/stun.h"
#include "floe_io.h"

extern char **environ;

#define LOAD_MAX_ALLOCS 512
#define LOAD_HIST_US 200000 /* latency histogram: 1 us buckets up to 200 ms */

struct load_opts {
    int allocations, seconds, size, window, threads;
    bool gso; /* the generator sends UDP GSO bursts and reads with UDP GRO (--gso 0: plain) */
    bool pin; /* --pin 1: the relay on the last CPU, the generator on the others */
    char floe_relay[4096];
    const char *floe_arg; /* one extra floe-relay argument (--floe-arg), NULL if none */
};

struct load_result {
    double pps, mbps, loss_pct, p50_us, p99_us, cpu_s, secs;
    uint64_t sent, received;
};

struct load_client {
    int fd;
    uint16_t channel;
    int in_flight;
    uint64_t last_rx;
};

static uint64_t load_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void load_die(const char *what)
{
    fprintf(stderr, "turn_load: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

/* ------------------------------------------------------------ echo peer */

struct load_echo {
    int fd;
    struct sockaddr_in addr;
    atomic_bool stop;
    pthread_t thread;
};

/* The UDP GRO segment size of a received message, 0 when it carries one datagram. */
static int load_gro_size(struct msghdr *h)
{
    struct cmsghdr *c;
    int seg = 0;

    for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
            memcpy(&seg, CMSG_DATA(c), sizeof(seg));
    }
    return seg;
}

/* Point h's control buffer at ctrl with one UDP_SEGMENT cmsg of seg bytes. */
static void load_set_segment(struct msghdr *h, char *ctrl, size_t cap, uint16_t seg)
{
    struct cmsghdr *c = (struct cmsghdr *)ctrl;

    memset(ctrl, 0, cap);
    h->msg_control = ctrl;
    h->msg_controllen = CMSG_SPACE(sizeof(seg));
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(seg));
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

#define LOAD_ECHO_BATCH 64
#define LOAD_ECHO_BUF 65536
#define LOAD_CTRL 64

/* Echo each message back to its sender; a GRO message goes back as one GSO send. */
static void *load_echo_run(void *arg)
{
    struct load_echo *e = arg;
    struct mmsghdr msgs[LOAD_ECHO_BATCH];
    struct iovec iov[LOAD_ECHO_BATCH];
    struct sockaddr_in from[LOAD_ECHO_BATCH];
    static char ctrl[LOAD_ECHO_BATCH][LOAD_CTRL];
    uint8_t *bufs = malloc((size_t)LOAD_ECHO_BATCH * LOAD_ECHO_BUF);
    int i, n;

    while (bufs && !atomic_load(&e->stop)) {
        struct pollfd p = {e->fd, POLLIN, 0};

        if (poll(&p, 1, 100) <= 0)
            continue;
        for (i = 0; i < LOAD_ECHO_BATCH; i++) {
            iov[i].iov_base = bufs + (size_t)i * LOAD_ECHO_BUF;
            iov[i].iov_len = LOAD_ECHO_BUF;
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = ctrl[i];
            msgs[i].msg_hdr.msg_controllen = LOAD_CTRL;
        }
        n = recvmmsg(e->fd, msgs, LOAD_ECHO_BATCH, MSG_DONTWAIT, NULL);
        for (i = 0; i < n; i++) {
            int seg = load_gro_size(&msgs[i].msg_hdr);

            iov[i].iov_len = msgs[i].msg_len;
            msgs[i].msg_hdr.msg_control = NULL;
            msgs[i].msg_hdr.msg_controllen = 0;
            if (seg > 0 && (unsigned)seg < msgs[i].msg_len)
                load_set_segment(&msgs[i].msg_hdr, ctrl[i], LOAD_CTRL, (uint16_t)seg);
        }
        if (n > 0)
            (void)sendmmsg(e->fd, msgs, (unsigned)n, 0);
    }
    free(bufs);
    return NULL;
}

static int load_udp_socket(struct sockaddr_in *bound, bool gro)
{
    socklen_t len = sizeof(*bound);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), size = 4 << 20, one = 1;

    if (fd < 0)
        load_die("socket");
    memset(bound, 0, sizeof(*bound));
    bound->sin_family = AF_INET;
    bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)bound, sizeof(*bound)) < 0)
        load_die("bind");
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
    if (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
        load_die("UDP_GRO");
    getsockname(fd, (struct sockaddr *)bound, &len);
    return fd;
}

/* ------------------------------------------------------------ TURN setup */

static long load_transact(int fd, const uint8_t *req, size_t len, uint8_t *resp, size_t cap,
                          struct floe_stun_msg *msg)
{
    int tries;

    for (tries = 0; tries < 20; tries++) {
        struct pollfd p = {fd, POLLIN, 0};
        long n;

        if (send(fd, req, len, 0) < 0)
            return -1;
        if (poll(&p, 1, 250) <= 0)
            continue;
        n = recv(fd, resp, cap, 0);
        if (n > 0 && floe_stun_decode(msg, resp, (size_t)n) == 0 &&
            memcmp(msg->txid, req + 8, 12) == 0)
            return n;
    }
    return -1;
}

struct load_auth {
    char nonce[128], realm[64];
    uint8_t key[16];
};

static long load_request(int fd, uint16_t method, struct load_auth *au, uint16_t channel,
                         const struct floe_addr *peer, uint8_t *resp, struct floe_stun_msg *msg)
{
    struct floe_stun_builder b;
    uint8_t req[512], txid[12];
    long n;

    if (floe_crypto_random(txid, sizeof(txid)) < 0)
        return -1;
    floe_stun_build_init(&b, req, sizeof(req), method, FLOE_STUN_REQUEST, txid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_requested_transport(&b, 17);
    if (method == FLOE_STUN_CHANNEL_BIND) {
        floe_stun_add_channel(&b, channel);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    }
    if (au->nonce[0]) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "alice", 5);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, au->realm, strlen(au->realm));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, au->nonce, strlen(au->nonce));
        floe_stun_add_integrity_key(&b, au->key, 16);
    }
    n = floe_stun_build_finish(&b);
    if (n < 0)
        return -1;
    return load_transact(fd, req, (size_t)n, resp, 1500, msg);
}

/* Why a setup step failed: no answer, or the error code the relay answered. */
static int load_setup_fail(const char *step, long n, const struct floe_stun_msg *m)
{
    struct floe_span reason;
    int code = 0;

    if (n >= 0 && floe_stun_get_error(m, &code, &reason) == 0)
        fprintf(stderr, "turn_load: %s: error %d %.*s\n", step, code, (int)reason.len,
                (const char *)reason.ptr);
    else
        fprintf(stderr, "turn_load: %s: %s\n", step, n < 0 ? "no answer" : "failed");
    return -1;
}

/* Allocate (401 dance) and bind a channel to peer. 0 or -1. */
static int load_setup_client(struct load_client *c, const struct floe_addr *peer)
{
    struct load_auth au;
    struct floe_stun_msg m;
    struct floe_span reason;
    uint8_t resp[1500];
    int tries, code;
    long n;

    memset(&au, 0, sizeof(au));
    if (load_request(c->fd, FLOE_STUN_ALLOCATE, &au, 0, NULL, resp, &m) < 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_NONCE, au.nonce, sizeof(au.nonce)) != 0 ||
        floe_stun_get_string(&m, FLOE_STUN_ATTR_REALM, au.realm, sizeof(au.realm)) != 0)
        return -1;
    if (floe_stun_long_term_key_md5(au.key, floe_span_make("alice", 5),
                                    floe_span_make(au.realm, strlen(au.realm)),
                                    floe_span_make("secret", 6)) < 0)
        return -1;
    /* 508: the relayed port the relay drew is taken on this shared machine; ask again */
    for (tries = 0; tries < 5; tries++) {
        n = load_request(c->fd, FLOE_STUN_ALLOCATE, &au, 0, NULL, resp, &m);
        if (n < 0 || m.cls == FLOE_STUN_SUCCESS || floe_stun_get_error(&m, &code, &reason) < 0 ||
            code != 508)
            break;
    }
    if (n < 0 || m.cls != FLOE_STUN_SUCCESS)
        return load_setup_fail("Allocate", n, &m);
    n = load_request(c->fd, FLOE_STUN_CHANNEL_BIND, &au, c->channel, peer, resp, &m);
    if (n < 0 || m.cls != FLOE_STUN_SUCCESS)
        return load_setup_fail("ChannelBind", n, &m);
    return 0;
}

/* ------------------------------------------------------------ the load */

struct load_run {
    const struct load_opts *o;
    struct load_client clients[LOAD_MAX_ALLOCS];
    uint32_t *hist;
    uint64_t sent, received, lost, bytes;
};

#define LOAD_BATCH 32

/* Send k ChannelData datagrams stamped with now on c's socket: one UDP GSO send, or sendmmsg. */
static void load_send_n(struct load_run *r, struct load_client *c, uint64_t now, int k)
{
    static uint8_t pkt[2048];
    static char ctrl[LOAD_CTRL];
    struct mmsghdr m[LOAD_BATCH];
    struct iovec iov[LOAD_BATCH];
    uint8_t *payload = pkt + FLOE_CHANNELDATA_HEADER_LEN;
    size_t len = (size_t)r->o->size + FLOE_CHANNELDATA_HEADER_LEN;
    int i, sent;

    if (k <= 0)
        return;
    k = k > LOAD_BATCH ? LOAD_BATCH : k;
    memset(payload, 0xab, (size_t)r->o->size);
    memcpy(payload, &now, sizeof(now));
    if (floe_channeldata_encode(pkt, sizeof(pkt), c->channel, payload, (size_t)r->o->size) < 0)
        return;
    memset(m, 0, sizeof(m));
    for (i = 0; i < k; i++) {
        iov[i].iov_base = pkt;
        iov[i].iov_len = len;
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    if (r->o->gso && k > 1) {
        m[0].msg_hdr.msg_iovlen = (size_t)k; /* the k iovecs, one datagram each */
        load_set_segment(&m[0].msg_hdr, ctrl, sizeof(ctrl), (uint16_t)len);
        sent = sendmsg(c->fd, &m[0].msg_hdr, MSG_DONTWAIT) > 0 ? k : -1;
    } else {
        sent = sendmmsg(c->fd, m, (unsigned)k, MSG_DONTWAIT);
    }
    if (sent <= 0)
        return;
    c->in_flight += sent;
    r->sent += (uint64_t)sent;
}

/* Account one echoed datagram; returns 1 when it was ours. */
static int load_account(struct load_run *r, struct load_client *c, const uint8_t *pkt, size_t n,
                        uint64_t now)
{
    struct floe_span data;
    uint64_t ts, us;

    if (floe_channeldata_decode(pkt, n, NULL, &data) < 0 || data.len < 8)
        return 0;
    memcpy(&ts, data.ptr, sizeof(ts));
    us = (now - ts) / 1000;
    r->hist[us < LOAD_HIST_US ? us : LOAD_HIST_US - 1]++;
    r->received++;
    r->bytes += data.len;
    c->in_flight--;
    c->last_rx = now;
    return 1;
}

/* Account the datagrams of one received message (several when UDP GRO coalesced them). */
static int load_account_msg(struct load_run *r, struct load_client *c, const uint8_t *buf,
                            struct mmsghdr *m, uint64_t now)
{
    size_t len = m->msg_len, seg = (size_t)load_gro_size(&m->msg_hdr), off = 0;
    int got = 0;

    if (seg == 0 || seg > len)
        seg = len;
    do {
        size_t n = len - off < seg ? len - off : seg;

        got += load_account(r, c, buf + off, n, now);
        off += n;
    } while (off < len);
    return got;
}

/* Drain c's socket in recvmmsg batches; refill the window once per batch. */
static void load_receive(struct load_run *r, struct load_client *c, uint64_t now, bool refill)
{
    static uint8_t bufs[LOAD_BATCH][LOAD_ECHO_BUF];
    static char ctrl[LOAD_BATCH][LOAD_CTRL];
    struct mmsghdr m[LOAD_BATCH];
    struct iovec iov[LOAD_BATCH];
    int i, n, got;

    do {
        memset(m, 0, sizeof(m));
        for (i = 0; i < LOAD_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof(bufs[i]);
            m[i].msg_hdr.msg_iov = &iov[i];
            m[i].msg_hdr.msg_iovlen = 1;
            m[i].msg_hdr.msg_control = ctrl[i];
            m[i].msg_hdr.msg_controllen = LOAD_CTRL;
        }
        n = recvmmsg(c->fd, m, LOAD_BATCH, MSG_DONTWAIT, NULL);
        for (i = 0, got = 0; i < n; i++)
            got += load_account_msg(r, c, bufs[i], &m[i], now);
        if (refill)
            load_send_n(r, c, now, got);
    } while (n == LOAD_BATCH);
}

/* Count as lost what a quiet allocation still has in flight, and refill it. */
static void load_reap(struct load_run *r, uint64_t now, bool refill)
{
    int i;

    for (i = 0; i < r->o->allocations; i++) {
        struct load_client *c = &r->clients[i];

        if (c->in_flight <= 0 || now - c->last_rx < 200000000ull)
            continue;
        r->lost += (uint64_t)c->in_flight;
        c->in_flight = 0;
        c->last_rx = now;
        if (refill)
            load_send_n(r, c, now, r->o->window);
    }
}

static double load_percentile(const uint32_t *hist, uint64_t total, double q)
{
    uint64_t want = (uint64_t)((double)total * q), acc = 0;
    int i;

    for (i = 0; i < LOAD_HIST_US; i++) {
        acc += hist[i];
        if (acc > want)
            return i;
    }
    return LOAD_HIST_US;
}

static double load_proc_cpu(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f)) {
        if (f)
            fclose(f);
        return 0;
    }
    fclose(f);
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void load_loop(struct load_run *r, int ep, uint64_t end)
{
    struct epoll_event evs[64];
    uint64_t now = load_now_ns(), next_reap = now;
    int i, n;

    for (i = 0; i < r->o->allocations; i++) {
        r->clients[i].last_rx = now;
        load_send_n(r, &r->clients[i], now, r->o->window);
    }
    while ((now = load_now_ns()) < end) {
        n = epoll_wait(ep, evs, 64, 10);
        now = load_now_ns();
        for (i = 0; i < n; i++)
            load_receive(r, &r->clients[evs[i].data.u32], now, true);
        if (now >= next_reap) {
            load_reap(r, now, true);
            next_reap = now + 50000000ull;
        }
    }
}

static int load_measure(const struct load_opts *o, pid_t relay, const char *relay_name,
                        const struct floe_addr *server, const struct floe_addr *peer,
                        struct load_result *res)
{
    struct load_run *r = calloc(1, sizeof(*r));
    struct sockaddr_in bound, srv;
    uint64_t start;
    double cpu0;
    int i, ep = epoll_create1(EPOLL_CLOEXEC);

    if (!r || ep < 0)
        load_die("setup");
    r->o = o;
    r->hist = calloc(LOAD_HIST_US, sizeof(*r->hist));
    memset(&srv, 0, sizeof(srv));
    srv.sin_family = AF_INET;
    srv.sin_port = htons(server->port);
    memcpy(&srv.sin_addr, server->ip, 4);
    for (i = 0; i < o->allocations; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        struct load_client *c = &r->clients[i];

        c->fd = load_udp_socket(&bound, o->gso);
        c->channel = (uint16_t)(FLOE_CHANNEL_MIN + i);
        if (connect(c->fd, (struct sockaddr *)&srv, sizeof(srv)) < 0 ||
            load_setup_client(c, peer) < 0) {
            fprintf(stderr, "turn_load: allocation %d through %s failed\n", i, relay_name);
            return -1;
        }
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    cpu0 = load_proc_cpu(relay);
    start = load_now_ns();
    load_loop(r, ep, start + (uint64_t)o->seconds * (uint64_t)1000000000);
    res->secs = (double)(load_now_ns() - start) / 1e9;
    res->cpu_s = load_proc_cpu(relay) - cpu0;
    usleep(300000);
    for (i = 0; i < o->allocations; i++)
        load_receive(r, &r->clients[i], load_now_ns(), false);
    res->sent = r->sent;
    res->received = r->received;
    res->pps = 2.0 * (double)r->received / res->secs; /* each round trip is relayed twice */
    res->mbps = 2.0 * (double)r->bytes * 8 / res->secs / 1e6;
    res->loss_pct = r->sent ? 100.0 * (double)(r->sent - r->received) / (double)r->sent : 0;
    res->p50_us = load_percentile(r->hist, r->received, 0.50);
    res->p99_us = load_percentile(r->hist, r->received, 0.99);
    for (i = 0; i < o->allocations; i++)
        close(r->clients[i].fd);
    close(ep);
    free(r->hist);
    free(r);
    return 0;
}

/* ------------------------------------------------------------ relays */

static uint16_t load_free_port(void)
{
    struct sockaddr_in a;
    int fd = load_udp_socket(&a, false);
    uint16_t port = ntohs(a.sin_port);

    close(fd);
    return port;
}

/* The relay running now, stopped by load_on_signal when this process is told to stop. */
static volatile pid_t load_relay_pid;

static void load_on_signal(int sig)
{
    pid_t pid = load_relay_pid;

    if (pid > 0)
        kill(pid, SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

static pid_t load_spawn(char **argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        fprintf(stderr, "turn_load: cannot start %s\n", argv[0]);
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    load_relay_pid = pid;
    return pid;
}

/*
 * --pin: the calling thread on the relay's CPU (the last one, relay true) or on the others.
 * Threads and spawned processes inherit it, so setting it before they start leaves no race.
 */
static void load_pin_self(bool relay)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
    cpu_set_t set;

    if (cpus < 2)
        return;
    CPU_ZERO(&set);
    for (i = relay ? cpus - 1 : 0; i < (relay ? cpus : cpus - 1); i++)
        CPU_SET((size_t)i, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fprintf(stderr, "turn_load: cannot pin the %s: %s\n", relay ? "relay" : "generator",
                strerror(errno));
}

/* Wait until the relay answers a Binding request (up to 10 s). */
static int load_wait_ready(const struct floe_addr *server)
{
    struct floe_stun_builder b;
    struct floe_stun_msg m;
    struct sockaddr_in bound, srv;
    uint8_t req[64], resp[1500], txid[12] = {1};
    int fd = load_udp_socket(&bound, false), i, rc = -1;
    long n;

    memset(&srv, 0, sizeof(srv));
    srv.sin_family = AF_INET;
    srv.sin_port = htons(server->port);
    memcpy(&srv.sin_addr, server->ip, 4);
    floe_stun_build_init(&b, req, sizeof(req), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    n = floe_stun_build_finish(&b);
    for (i = 0; i < 40 && rc < 0 && n > 0; i++) {
        if (connect(fd, (struct sockaddr *)&srv, sizeof(srv)) == 0 &&
            load_transact(fd, req, (size_t)n, resp, sizeof(resp), &m) > 0)
            rc = 0;
        else
            usleep(250000); /* not listening yet: the send was refused at once */
    }
    close(fd);
    return rc;
}

static void load_stop(pid_t pid)
{
    int i;

    load_relay_pid = 0;
    kill(pid, SIGTERM);
    for (i = 0; i < 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static pid_t load_start_floe(const struct load_opts *o, uint16_t port)
{
    char listen[64], threads[16];
    char *argv[] = {(char *)o->floe_relay,
                    "--listen",
                    listen,
                    "--user",
                    "alice:secret",
                    "--realm",
                    "floe",
                    "--allow-loopback-peers",
                    "--threads",
                    threads,
                    "--relay-ports",
                    "64000-64999",  /* clear of the ranges the tests use */
                    "--user-quota", /* one user and one address for every allocation */
                    "0",
                    "--client-quota",
                    "0",
                    "--log-level",
                    "error",
                    (char *)o->floe_arg,
                    NULL};

    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    snprintf(threads, sizeof(threads), "%d", o->threads);
    return load_spawn(argv);
}

static pid_t load_start_coturn(const struct load_opts *o, uint16_t port)
{
    char lport[64], threads[64], pidfile[64], db[64];
    char *argv[] = {"turnserver",
                    "-n",
                    "--listening-ip=127.0.0.1",
                    lport,
                    "--relay-ip=127.0.0.1",
                    "--no-tls",
                    "--no-dtls",
                    "--no-tcp",
                    "--no-cli",
                    "--lt-cred-mech",
                    "--user=alice:secret",
                    "--realm=floe",
                    "--allow-loopback-peers",
                    threads,
                    "--min-port=64000",
                    "--max-port=64999",
                    "--no-stdout-log",
                    "--log-file=/dev/null",
                    pidfile,
                    db,
                    NULL};

    snprintf(lport, sizeof(lport), "--listening-port=%u", port);
    snprintf(threads, sizeof(threads), "--relay-threads=%d", o->threads);
    snprintf(pidfile, sizeof(pidfile), "--pidfile=/tmp/turn_load.%d.pid", (int)getpid());
    snprintf(db, sizeof(db), "--userdb=/tmp/turn_load.%d.db", (int)getpid());
    return load_spawn(argv);
}

static int load_one(const struct load_opts *o, bool coturn, const struct floe_addr *peer,
                    struct load_result *res)
{
    struct floe_addr server = floe_addr_v4(127, 0, 0, 1, load_free_port());
    pid_t pid;
    int rc = -1;

    if (o->pin) /* the relay starts on its CPU: no moment on the generator's */
        load_pin_self(true);
    pid = coturn ? load_start_coturn(o, server.port) : load_start_floe(o, server.port);
    if (o->pin)
        load_pin_self(false);
    if (load_wait_ready(&server) == 0)
        rc = load_measure(o, pid, coturn ? "turnserver" : "floe-relay", &server, peer, res);
    else
        fprintf(stderr, "turn_load: %s did not answer\n", coturn ? "turnserver" : "floe-relay");
    load_stop(pid);
    return rc;
}

static void load_print(const char *name, const struct load_result *r)
{
    printf("%-11s %10.0f pkt/s %8.1f Mbit/s  loss %5.2f%%  rtt p50 %6.0f us p99 %6.0f us  "
           "relay cpu %5.2f s (%3.0f%%)  %9.0f pkt per cpu-s\n",
           name, r->pps, r->mbps, r->loss_pct, r->p50_us, r->p99_us, r->cpu_s,
           100.0 * r->cpu_s / r->secs, r->cpu_s > 0 ? r->pps * r->secs / r->cpu_s : 0);
}

static void load_usage(const char *flag, const char *value)
{
    fprintf(stderr,
            "turn_load: bad option %s %s\n"
            "usage: turn_load [--allocations 1..%d] [--seconds S] [--size 16..1400] [--window W]\n"
            "                 [--threads T] [--gso 0|1] [--pin 0|1] [--floe-arg ARG]\n",
            flag, value, LOAD_MAX_ALLOCS);
    exit(2);
}

static void load_args(int argc, char **argv, struct load_opts *o)
{
    int i;

    o->allocations = 64;
    o->seconds = 5;
    o->size = 200;
    o->window = 4;
    o->threads = 1;
    o->gso = true;
    for (i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);

        if (strcmp(argv[i], "--floe-arg") == 0) {
            o->floe_arg = argv[i + 1];
            continue;
        }
        if (strcmp(argv[i], "--allocations") == 0 && v > 0 && v <= LOAD_MAX_ALLOCS)
            o->allocations = v;
        else if (strcmp(argv[i], "--seconds") == 0 && v > 0)
            o->seconds = v;
        else if (strcmp(argv[i], "--size") == 0 && v >= 16 && v <= 1400)
            o->size = v;
        else if (strcmp(argv[i], "--window") == 0 && v > 0)
            o->window = v;
        else if (strcmp(argv[i], "--threads") == 0 && v > 0)
            o->threads = v;
        else if (strcmp(argv[i], "--gso") == 0 && (v == 0 || v == 1))
            o->gso = v == 1;
        else if (strcmp(argv[i], "--pin") == 0 && (v == 0 || v == 1))
            o->pin = v == 1;
        else
            load_usage(argv[i], argv[i + 1]);
    }
    if (i < argc)
        load_usage(argv[i], "(missing)");
}

int main(int argc, char **argv)
{
    struct load_opts o;
    struct load_echo echo;
    struct load_result fr, cr;
    struct floe_addr peer;
    char *slash;

    memset(&o, 0, sizeof(o));
    load_args(argc, argv, &o);
    signal(SIGTERM, load_on_signal); /* a stopped run leaves no relay behind */
    signal(SIGINT, load_on_signal);
    snprintf(o.floe_relay, sizeof(o.floe_relay), "%s", argv[0]);
    slash = strrchr(o.floe_relay, '/');
    snprintf(slash ? slash + 1 : o.floe_relay,
             sizeof(o.floe_relay) - (size_t)(slash ? slash + 1 - o.floe_relay : 0),
             "../bin/floe-relay");
    if (o.pin) /* before any thread starts: they all inherit the generator's CPUs */
        load_pin_self(false);
    echo.fd = load_udp_socket(&echo.addr, o.gso);
    atomic_store(&echo.stop, false);
    pthread_create(&echo.thread, NULL, load_echo_run, &echo);
    peer = floe_addr_v4(127, 0, 0, 1, ntohs(echo.addr.sin_port));
    printf("turn_load: %d allocations, window %d, %d-byte payloads, %d s, %d relay thread(s), "
           "generator %s%s%s\n",
           o.allocations, o.window, o.size, o.seconds, o.threads,
           o.gso ? "UDP GSO sends + UDP GRO receives" : "sendmmsg/recvmmsg",
           o.floe_arg ? ", floe-relay " : "", o.floe_arg ? o.floe_arg : "");
    if (load_one(&o, false, &peer, &fr) < 0 || load_one(&o, true, &peer, &cr) < 0)
        return 1;
    load_print("floe-relay", &fr);
    load_print("coturn", &cr);
    printf("ratio floe/coturn: %.2fx packets/s, %.2fx packets per relay cpu-second\n",
           cr.pps > 0 ? fr.pps / cr.pps : 0,
           (cr.cpu_s > 0 && fr.cpu_s > 0)
               ? (fr.pps * fr.secs / fr.cpu_s) / (cr.pps * cr.secs / cr.cpu_s)
               : 0);
    atomic_store(&echo.stop, true);
    pthread_join(echo.thread, NULL);
    return 0;
}
