/*
 * delayline: a userspace stand-in for `tc netem delay` (kernels without sch_netem) for the
 * end-to-end topology (tests/e2e/topo.sh). It bridges two interfaces of its namespace with
 * AF_PACKET sockets and holds every frame for a fixed one-way delay plus a uniform jitter;
 * frames leave in the order they came (a frame's due time is never before the one ahead of
 * it, so jitter never reorders), optional random loss. Both sockets carry the virtio-net
 * header (PACKET_VNET_HDR), so GSO/TSO super-frames cross whole with their offload metadata
 * (no ethtool needed on the veths). Each direction queues at most --limit bytes (beyond:
 * dropped and counted, as netem's limit does).
 *
 * Usage: delayline --a IF --b IF --delay MS [--jitter MS] [--loss PCT] [--limit BYTES]
 *        [--seed N]
 * Prints "ready" on stdout once both sockets are bound; on SIGTERM or SIGINT prints one line
 * of counters per direction (frames, bytes, dropped) and exits 0. Exit 2: bad arguments;
 * exit 1: a socket or interface error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DL_FRAME_MAX (65536 + 256) /* a GSO super-frame with its headers */
#define DL_REC_HDR 16u             /* due time (8), length (4), padding (4) */
#define DL_WRAP UINT32_MAX         /* a record filling the ring's end: skip to the start */
#define DL_DEFAULT_LIMIT (16u << 20)
#define DL_BATCH 64 /* frames read per socket per wakeup */

struct dl_dir {
    const char *name;
    int in, out;       /* receive on in, send on out */
    uint8_t *ring;     /* records: [due, len] then the frame, 16-byte aligned */
    uint64_t head;     /* oldest record's offset (monotonic) */
    uint64_t tail;     /* next record's offset (monotonic) */
    uint64_t last_due; /* the newest record's due time: no reordering */
    uint64_t frames, bytes, dropped;
};

struct dl_opts {
    const char *a, *b;
    double delay_ms, jitter_ms, loss_pct;
    uint64_t limit, seed;
};

static volatile sig_atomic_t dl_stop;
static uint64_t dl_rng_state;
static uint8_t dl_buf[DL_FRAME_MAX];

static void dl_on_signal(int sig)
{
    (void)sig;
    dl_stop = 1;
}

static uint64_t dl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a uniform double in [0, 1). */
static double dl_rand(void)
{
    dl_rng_state ^= dl_rng_state >> 12;
    dl_rng_state ^= dl_rng_state << 25;
    dl_rng_state ^= dl_rng_state >> 27;
    return (double)((dl_rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void dl_usage(FILE *f)
{
    fprintf(f, "usage: delayline --a IF --b IF --delay MS [--jitter MS] [--loss PCT]\n"
               "                 [--limit BYTES] [--seed N]\n"
               "Bridges interfaces IF and IF (AF_PACKET) and holds every frame for MS ms\n"
               "(+- a uniform jitter, never reordered), dropping PCT %% at random and what\n"
               "exceeds BYTES queued per direction (default 16 MiB). Prints \"ready\" when\n"
               "bound; on SIGTERM/SIGINT prints frames, bytes and dropped per direction\n"
               "and exits 0. Exit 2: bad arguments, 1: socket or interface error.\n");
}

static int dl_num(const char *flag, const char *s, double max, double *out)
{
    char *end;

    errno = 0;
    *out = s ? strtod(s, &end) : -1;
    if (!s || errno || end == s || *end || !(*out >= 0) || *out > max) {
        fprintf(stderr, "delayline: %s needs a number in [0, %g]\n", flag, max);
        return -1;
    }
    return 0;
}

/* One flag and its value (argv[i + 1]). Returns the arguments used, or -1. */
static int dl_flag(struct dl_opts *o, const char *f, const char *v)
{
    double d;

    if (strcmp(f, "--a") == 0 || strcmp(f, "--b") == 0) {
        if (!v || !*v || strlen(v) >= IF_NAMESIZE) {
            fprintf(stderr, "delayline: %s needs an interface name\n", f);
            return -1;
        }
        *(f[2] == 'a' ? &o->a : &o->b) = v;
        return 2;
    }
    if (strcmp(f, "--delay") == 0)
        return dl_num(f, v, 10000, &o->delay_ms) ? -1 : 2;
    if (strcmp(f, "--jitter") == 0)
        return dl_num(f, v, 10000, &o->jitter_ms) ? -1 : 2;
    if (strcmp(f, "--loss") == 0)
        return dl_num(f, v, 100, &o->loss_pct) ? -1 : 2;
    if (strcmp(f, "--limit") == 0 || strcmp(f, "--seed") == 0) {
        if (dl_num(f, v, 1e18, &d) != 0)
            return -1;
        *(f[2] == 'l' ? &o->limit : &o->seed) = (uint64_t)d;
        return 2;
    }
    fprintf(stderr, "delayline: unknown option %s (see --help)\n", f);
    return -1;
}

/* Returns 0, 1 when --help was printed, -1 on a bad argument (message on stderr). */
static int dl_args(int argc, char **argv, struct dl_opts *o)
{
    int i = 1, n;

    *o = (struct dl_opts){.delay_ms = -1, .limit = DL_DEFAULT_LIMIT};
    while (i < argc) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            dl_usage(stdout);
            return 1;
        }
        if ((n = dl_flag(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) < 0)
            return -1;
        i += n;
    }
    if (!o->a || !o->b || o->delay_ms < 0 || strcmp(o->a, o->b) == 0) {
        fprintf(stderr, "delayline: --a, --b (two interfaces) and --delay are required\n");
        return -1;
    }
    if (o->jitter_ms > o->delay_ms || o->limit < 2 * (DL_FRAME_MAX + DL_REC_HDR)) {
        fprintf(stderr, "delayline: --jitter must not exceed --delay; --limit >= %u\n",
                2 * (DL_FRAME_MAX + DL_REC_HDR));
        return -1;
    }
    o->limit &= ~(uint64_t)15u; /* records are 16-byte aligned: so is the ring's end */
    return 0;
}

/* An AF_PACKET socket bound to ifname, with the virtio-net header, outgoing frames ignored. */
static int dl_socket(const char *ifname)
{
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    int on = 1, sz = 8 << 20;

    if (fd < 0)
        return -1;
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    if (sll.sll_ifindex == 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        fprintf(stderr, "delayline: interface %s: %s\n", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof(on));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    return fd;
}

static uint64_t dl_round16(uint64_t n)
{
    return (n + 15u) & ~(uint64_t)15u;
}

/* Queue frame[0..len) due at `due`: false when the ring has no room (the frame is dropped). */
static bool dl_push(struct dl_dir *d, uint64_t cap, uint64_t due, const uint8_t *frame,
                    uint32_t len)
{
    uint64_t need = DL_REC_HDR + dl_round16(len), off = d->tail % cap, pad = 0;

    if (off + need > cap)
        pad = cap - off; /* a wrap record, then the frame at the ring's start */
    if (d->tail + pad + need - d->head > cap)
        return false;
    if (pad) {
        memcpy(d->ring + off + 8, &(uint32_t){DL_WRAP}, 4);
        d->tail += pad;
        off = 0;
    }
    memcpy(d->ring + off, &due, 8);
    memcpy(d->ring + off + 8, &len, 4);
    memcpy(d->ring + off + DL_REC_HDR, frame, len);
    d->tail += need;
    return true;
}

/* The oldest record (wrap records skipped): its offset in the ring, or false when empty. */
static bool dl_peek(struct dl_dir *d, uint64_t cap, uint64_t *due, uint32_t *len, uint8_t **frame)
{
    uint64_t off;

    while (d->head < d->tail) {
        off = d->head % cap;
        memcpy(len, d->ring + off + 8, 4);
        if (*len == DL_WRAP) {
            d->head += cap - off;
            continue;
        }
        memcpy(due, d->ring + off, 8);
        *frame = d->ring + off + DL_REC_HDR;
        return true;
    }
    return false;
}

/* Read up to DL_BATCH frames from d->in into the ring (or drop them: loss, no room). */
static void dl_read(struct dl_dir *d, const struct dl_opts *o, uint64_t cap)
{
    struct sockaddr_ll from;
    socklen_t flen;
    uint64_t now, due;
    ssize_t n;

    for (int i = 0; i < DL_BATCH; i++) {
        flen = sizeof(from);
        n = recvfrom(d->in, dl_buf, sizeof(dl_buf), MSG_TRUNC, (struct sockaddr *)&from, &flen);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 || from.sll_pkttype == PACKET_OUTGOING)
            continue; /* ENETDOWN and the like: the interface came back or will */
        now = dl_now();
        due = now + (uint64_t)((o->delay_ms + o->jitter_ms * (2 * dl_rand() - 1)) * 1e6);
        due = due < d->last_due ? d->last_due : due;
        if ((size_t)n > sizeof(dl_buf) || (o->loss_pct > 0 && dl_rand() * 100 < o->loss_pct) ||
            !dl_push(d, cap, due, dl_buf, (uint32_t)n)) {
            d->dropped++;
            continue;
        }
        d->last_due = due;
    }
}

/* Send what is due from d; returns the next due time (UINT64_MAX: empty). */
static uint64_t dl_write(struct dl_dir *d, uint64_t cap, uint64_t now)
{
    uint64_t due;
    uint32_t len;
    uint8_t *frame;

    while (dl_peek(d, cap, &due, &len, &frame)) {
        if (due > now)
            return due;
        if (send(d->out, frame, len, 0) < 0) {
            if (errno == EAGAIN || errno == ENOBUFS)
                return now + 200000; /* the device queue is full: retry in 0.2 ms */
            d->dropped++;            /* the link is down: the frame is lost */
        } else {
            d->frames++;
            d->bytes +=
                len > sizeof(struct virtio_net_hdr) ? len - sizeof(struct virtio_net_hdr) : 0;
        }
        d->head += DL_REC_HDR + dl_round16(len);
    }
    return UINT64_MAX;
}

static void dl_report(const struct dl_dir *d)
{
    printf("%s frames=%llu bytes=%llu dropped=%llu\n", d->name, (unsigned long long)d->frames,
           (unsigned long long)d->bytes, (unsigned long long)d->dropped);
}

/* Until SIGTERM/SIGINT: read both sockets, send what is due, sleep until the next due. */
static void dl_run(struct dl_dir *dir, const struct dl_opts *o, uint64_t cap, sigset_t *open)
{
    struct pollfd p[2] = {{.fd = dir[0].in, .events = POLLIN}, {.fd = dir[1].in, .events = POLLIN}};
    uint64_t next = UINT64_MAX, now, t;
    struct timespec ts;

    while (!dl_stop) {
        now = dl_now();
        t = next <= now ? 0 : next - now;
        ts.tv_sec = (time_t)(t / 1000000000ull);
        ts.tv_nsec = (long)(t % 1000000000ull);
        if (ppoll(p, 2, next == UINT64_MAX ? NULL : &ts, open) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (p[i].revents)
                dl_read(&dir[i], o, cap);
        now = dl_now();
        next = dl_write(&dir[0], cap, now);
        t = dl_write(&dir[1], cap, now);
        next = t < next ? t : next;
    }
}

int main(int argc, char **argv)
{
    struct dl_opts o;
    struct dl_dir dir[2] = {{.name = "a->b"}, {.name = "b->a"}};
    struct sigaction sa = {.sa_handler = dl_on_signal};
    sigset_t block, open;
    int rc = dl_args(argc, argv, &o), fa, fb;

    if (rc != 0)
        return rc < 0 ? 2 : 0;
    dl_rng_state = o.seed ? o.seed : (dl_now() ^ ((uint64_t)getpid() << 32)) | 1;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &open);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fa = dl_socket(o.a);
    fb = fa < 0 ? -1 : dl_socket(o.b);
    dir[0].ring = malloc(o.limit);
    dir[1].ring = malloc(o.limit);
    if (fa < 0 || fb < 0 || !dir[0].ring || !dir[1].ring)
        return 1;
    dir[0].in = dir[1].out = fa;
    dir[1].in = dir[0].out = fb;
    printf("ready\n");
    fflush(stdout);
    dl_run(dir, &o, o.limit, &open);
    dl_report(&dir[0]);
    dl_report(&dir[1]);
    free(dir[0].ring);
    free(dir[1].ring);
    close(fa);
    close(fb);
    return 0;
}
