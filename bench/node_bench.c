/*
 * The node's cost over bare WireGuard, and what a connection costs:
 * - floe_node_encapsulate / floe_node_decapsulate of 1420-byte IP packets on an established
 *   direct connection against floe_wg_encapsulate / floe_wg_decapsulate on a bare pair of
 *   devices, with the overhead in percent (issue #11 asks for at most 5 %): the two run in
 *   interleaved repetitions timed in thread CPU time, and the median overhead is printed with
 *   its range over the repetitions;
 * - the batch forms (floe_node_encapsulate_batch / floe_node_decapsulate_batch, 64 at a time,
 *   no workers) against the bare batch verbs;
 * - bytes allocated per connection and the CPU time to set up N connections (default 10,000);
 * - the CPU cost of one wakeup of an idle gateway node at 100, 1,000 and 10,000 connections
 *   (poll_timeout, handle_timeout, drain): it must not grow with the connections.
 * Next to the time of a wakeup it prints the work: user-space instructions per wakeup, and
 * cache and dTLB load misses per wakeup, from the CPU's counters (perf_event_open, around the
 * wakeups only); where the counters are not available (a VM without a PMU, a paranoid
 * perf_event_paranoid) it says so instead of printing a number.
 * Run by hand on a Release build:
 *   <build>/bench/node_bench [seconds per comparison] [connections] [repetitions, default 21]
 *   <build>/bench/node_bench wakeup [connections ...]   only the idle wakeups (default 100,
 *                                                       1000, 10000), e.g. under perf stat
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "floe/node.h"

#include "../tests/unit/count_alloc.h" /* shared with node_scale_test */

#define PKT 1420
#define BATCH 64
#define DGRAM (PKT + FLOE_NODE_OVERHEAD)

/* This thread's CPU time: a repetition preempted by another process is not charged for it. */
static double thread_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, long rc)
{
    fprintf(stderr, "node_bench: %s: %s\n", what, floe_strerror((int)rc));
    exit(1);
}

/* ------------------------------------------------------------ hardware counters */

/*
 * Instructions, cache misses and dTLB load misses in user space, counted only while the
 * measured wakeups run (one group, enabled before the first and disabled after the last).
 */
enum { CTR_INSN, CTR_CACHE, CTR_DTLB, CTR_N };

static const char *const ctr_name[CTR_N] = {"instructions", "cache misses", "dTLB load misses"};

struct counters {
    int fd[CTR_N];  /* -1: not available */
    int err[CTR_N]; /* why not (errno of perf_event_open) */
};

#ifdef __linux__
static int ctr_open_one(int type, uint64_t config, int group)
{
    struct perf_event_attr at;

    memset(&at, 0, sizeof(at));
    at.size = sizeof(at);
    at.type = (uint32_t)type;
    at.config = config;
    at.disabled = group < 0;
    at.exclude_kernel = 1;
    at.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &at, 0, -1, group, 0);
}

static void ctr_open(struct counters *k)
{
    const uint64_t dtlb = PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
                          (PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
    int i;

    k->fd[CTR_INSN] = ctr_open_one(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, -1);
    k->err[CTR_INSN] = errno;
    for (i = CTR_CACHE; i < CTR_N; i++) {
        k->fd[i] = k->fd[CTR_INSN] < 0 ? -1
                   : i == CTR_CACHE ? ctr_open_one(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES,
                                                   k->fd[CTR_INSN])
                                    : ctr_open_one(PERF_TYPE_HW_CACHE, dtlb, k->fd[CTR_INSN]);
        k->err[i] = k->fd[CTR_INSN] < 0 ? k->err[CTR_INSN] : errno;
    }
}

static void ctr_enable(const struct counters *k, bool on)
{
    if (k->fd[CTR_INSN] >= 0)
        (void)ioctl(k->fd[CTR_INSN], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE,
                    PERF_IOC_FLAG_GROUP);
}

/* The count of counter i since it was opened; false when it is not available. */
static bool ctr_read(const struct counters *k, int i, uint64_t *v)
{
    return k->fd[i] >= 0 && read(k->fd[i], v, sizeof(*v)) == (ssize_t)sizeof(*v);
}

static void ctr_close(struct counters *k)
{
    int i;

    for (i = CTR_N - 1; i >= 0; i--)
        if (k->fd[i] >= 0)
            close(k->fd[i]);
}
#else
static void ctr_open(struct counters *k)
{
    int i;

    for (i = 0; i < CTR_N; i++) {
        k->fd[i] = -1;
        k->err[i] = ENOSYS;
    }
}

static void ctr_enable(const struct counters *k, bool on)
{
    (void)k;
    (void)on;
}

static bool ctr_read(const struct counters *k, int i, uint64_t *v)
{
    (void)k;
    (void)i;
    (void)v;
    return false;
}

static void ctr_close(struct counters *k)
{
    (void)k;
}
#endif

/* ------------------------------------------------------------ counting allocator */

static size_t g_bytes; /* what the node under measure holds (floe_count_alloc) */

/* ------------------------------------------------------------------ a node pair */

struct pair {
    struct floe_node *n[2];
    struct floe_xoshiro x[2];
    struct floe_addr host[2];
};

static void pair_pump(struct pair *p, int rounds)
{
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX], out[FLOE_NODE_TRANSMIT_MAX];
    struct floe_node_transmit tr;
    struct floe_node_event ev;
    floe_time now = 0;
    uint64_t cid;
    size_t olen;
    int r, i;

    for (r = 0; r < rounds; r++, now += FLOE_MS(10)) {
        for (i = 0; i < 2; i++) {
            floe_node_handle_timeout(p->n[i], now);
            while (floe_node_poll_event(p->n[i], &ev) == 1) {
                if (ev.type == FLOE_NODE_EV_CANDIDATE_NEW)
                    (void)floe_node_conn_add_remote_candidate(p->n[1 - i], now, 1, ev.u.candidate);
            }
            while (floe_node_poll_transmit(p->n[i], now, buf, sizeof(buf), &tr) == 1)
                if (floe_node_decapsulate(p->n[1 - i], now, &tr.to, &tr.local, buf, tr.len, out,
                                          sizeof(out), &cid, &olen) < 0)
                    die("decapsulate", FLOE_ERR_INVALID_ARG);
        }
    }
}

static void pair_setup(struct pair *p)
{
    struct floe_node_conn_config cc[2];
    const char *uf, *pw;
    int i, k;

    for (i = 0; i < 2; i++) {
        struct floe_node_config cfg;

        floe_node_config_default(&cfg);
        floe_xoshiro_seed(&p->x[i], (uint64_t)i + 1);
        cfg.rng = floe_xoshiro_rng(&p->x[i]);
        cfg.role = i ? FLOE_NODE_GATEWAY : FLOE_NODE_CLIENT;
        memset(cfg.private_key, 0x31 + i, sizeof(cfg.private_key));
        p->host[i] = floe_addr_v4(10, 0, 0, (uint8_t)(i + 1), 5000);
        if (floe_node_new(&p->n[i], &cfg, 0) || floe_node_add_host(p->n[i], 0, &p->host[i]))
            die("node", FLOE_ERR_INTERNAL);
    }
    memset(cc, 0, sizeof(cc));
    for (i = 0; i < 2; i++)
        floe_node_public_key(p->n[1 - i], cc[i].public_key);
    strcpy(cc[0].remote_ufrag, "none");
    strcpy(cc[0].remote_pwd, "none-yet-000000000000000");
    for (k = 0; k < 3; k++) {
        i = k == 1;
        if (floe_node_conn_upsert(p->n[i], 0, 1, &cc[i]) ||
            floe_node_conn_local_credentials(p->n[i], 1, &uf, &pw))
            die("upsert", FLOE_ERR_INTERNAL);
        strcpy(cc[1 - i].remote_ufrag, uf);
        strcpy(cc[1 - i].remote_pwd, pw);
    }
    pair_pump(p, 100);
}

/* ------------------------------------------------------------- a bare wg pair */

struct bare {
    struct floe_wg *d[2];
    struct floe_wg_peer *peer[2];
    struct floe_xoshiro x[2];
    struct floe_addr addr[2];
};

static void bare_setup(struct bare *b)
{
    uint8_t pub[2][FLOE_WG_KEY_LEN], buf[2048], out[2048];
    struct floe_wg_result res;
    struct floe_addr dst;
    int i, r;

    for (i = 0; i < 2; i++) {
        struct floe_wg_config cfg;

        floe_wg_config_default(&cfg);
        floe_xoshiro_seed(&b->x[i], (uint64_t)i + 7);
        cfg.rng = floe_xoshiro_rng(&b->x[i]);
        memset(cfg.private_key, 0x41 + i, sizeof(cfg.private_key));
        b->addr[i] = floe_addr_v4(10, 0, 1, (uint8_t)(i + 1), 5000);
        if (floe_wg_new(&b->d[i], &cfg))
            die("wg", FLOE_ERR_INTERNAL);
        floe_wg_public_key(b->d[i], pub[i]);
    }
    for (i = 0; i < 2; i++) {
        struct floe_wg_peer_config pc;

        memset(&pc, 0, sizeof(pc));
        memcpy(pc.public_key, pub[1 - i], FLOE_WG_KEY_LEN);
        pc.endpoint = b->addr[1 - i];
        if (floe_wg_peer_add(b->d[i], &pc, &b->peer[i]))
            die("peer", FLOE_ERR_INTERNAL);
    }
    if (floe_wg_encapsulate(b->d[0], 0, b->peer[0], NULL, 0, out, sizeof(out), &dst) < 0)
        die("keepalive", FLOE_ERR_INTERNAL);
    for (r = 0; r < 4; r++) {
        for (i = 0; i < 2; i++) {
            long n;

            while ((n = floe_wg_poll_transmit(b->d[i], 0, buf, sizeof(buf), &dst, NULL)) > 0)
                if (floe_wg_decapsulate(b->d[1 - i], 0, &b->addr[i], buf, (size_t)n, out,
                                        sizeof(out), &res) < 0)
                    die("wg decapsulate", FLOE_ERR_INVALID_ARG);
        }
    }
    if (!floe_wg_peer_has_session(b->peer[0], 0) || !floe_wg_peer_has_session(b->peer[1], 0))
        die("bare handshake", FLOE_ERR_STATE);
}

/* ---------------------------------------------------------------------- timing */

static uint8_t g_pkt[PKT], g_dg[BATCH][DGRAM], g_plain[BATCH][DGRAM];
static size_t g_len[BATCH];

static void make_pkt(void)
{
    memset(g_pkt, 0xab, sizeof(g_pkt));
    g_pkt[0] = 0x45;
    floe_store_be16(g_pkt + 2, PKT);
}

/*
 * The comparison: each runner does `batches` batches of BATCH packets and adds the time its
 * encapsulations (enc) and decapsulations (dec) took. The node and the bare verbs run in
 * short interleaved repetitions (which one goes first alternates), so a change of the machine's
 * load hits both alike; the overhead is the median over the repetitions, and its range is
 * printed next to it.
 */
struct cost {
    double enc, dec;
};

typedef void (*runner_fn)(void *ctx, int batches, struct cost *c);

static void run_node(void *ctx, int batches, struct cost *c)
{
    struct pair *p = ctx;
    struct floe_node_transmit tr;
    uint64_t cid;
    size_t olen;
    double t;
    int b, i;

    for (b = 0; b < batches; b++) {
        t = thread_s();
        for (i = 0; i < BATCH; i++) {
            long r =
                floe_node_encapsulate(p->n[0], FLOE_SEC(2), 1, g_pkt, PKT, g_dg[i], DGRAM, &tr);

            if (r <= 0)
                die("node encapsulate", r);
            g_len[i] = (size_t)r;
        }
        c->enc += thread_s() - t;
        t = thread_s();
        for (i = 0; i < BATCH; i++) {
            if (floe_node_decapsulate(p->n[1], FLOE_SEC(2), &p->host[1], &p->host[0], g_dg[i],
                                      g_len[i], g_plain[i], DGRAM, &cid,
                                      &olen) != FLOE_NODE_INPUT_DATA)
                die("node decapsulate", FLOE_ERR_STATE);
        }
        c->dec += thread_s() - t;
    }
}

static void run_bare(void *ctx, int batches, struct cost *c)
{
    struct bare *bw = ctx;
    struct floe_wg_result res;
    struct floe_addr dst;
    double t;
    int b, i;

    for (b = 0; b < batches; b++) {
        t = thread_s();
        for (i = 0; i < BATCH; i++) {
            long r = floe_wg_encapsulate(bw->d[0], FLOE_SEC(2), bw->peer[0], g_pkt, PKT, g_dg[i],
                                         DGRAM, &dst);

            if (r <= 0)
                die("wg encapsulate", r);
            g_len[i] = (size_t)r;
        }
        c->enc += thread_s() - t;
        t = thread_s();
        for (i = 0; i < BATCH; i++) {
            if (floe_wg_decapsulate(bw->d[1], FLOE_SEC(2), &bw->addr[0], g_dg[i], g_len[i],
                                    g_plain[i], DGRAM, &res) != FLOE_WG_RESULT_DATA)
                die("wg decapsulate", FLOE_ERR_STATE);
        }
        c->dec += thread_s() - t;
    }
}

static void run_node_batch(void *ctx, int batches, struct cost *c)
{
    static struct floe_node_encap e[BATCH];
    static struct floe_node_decap d[BATCH];
    struct pair *p = ctx;
    double t;
    int b, i;

    for (b = 0; b < batches; b++) {
        for (i = 0; i < BATCH; i++)
            e[i] = (struct floe_node_encap){
                .cid = 1, .pkt = g_pkt, .len = PKT, .out = g_dg[i], .cap = DGRAM};
        t = thread_s();
        if (floe_node_encapsulate_batch(p->n[0], FLOE_SEC(2), e, BATCH))
            die("node batch", FLOE_ERR_INTERNAL);
        c->enc += thread_s() - t;
        for (i = 0; i < BATCH; i++)
            d[i] = (struct floe_node_decap){.local = p->host[1],
                                            .from = p->host[0],
                                            .dgram = g_dg[i],
                                            .len = (size_t)e[i].n,
                                            .out = g_plain[i],
                                            .cap = DGRAM};
        t = thread_s();
        if (floe_node_decapsulate_batch(p->n[1], FLOE_SEC(2), d, BATCH))
            die("node batch", FLOE_ERR_INTERNAL);
        c->dec += thread_s() - t;
        if (d[BATCH - 1].rc != FLOE_NODE_INPUT_DATA)
            die("node batch decapsulate", FLOE_ERR_STATE);
    }
}

static void run_bare_batch(void *ctx, int batches, struct cost *c)
{
    static struct floe_wg_encap e[BATCH];
    static struct floe_wg_decap d[BATCH];
    struct bare *bw = ctx;
    double t;
    int b, i;

    for (b = 0; b < batches; b++) {
        for (i = 0; i < BATCH; i++)
            e[i] = (struct floe_wg_encap){
                .peer = bw->peer[0], .pkt = g_pkt, .len = PKT, .out = g_dg[i], .cap = DGRAM};
        t = thread_s();
        if (floe_wg_encapsulate_batch(bw->d[0], FLOE_SEC(2), e, BATCH))
            die("wg batch", FLOE_ERR_INTERNAL);
        c->enc += thread_s() - t;
        for (i = 0; i < BATCH; i++)
            d[i] = (struct floe_wg_decap){.from = bw->addr[0],
                                          .dgram = g_dg[i],
                                          .len = (size_t)e[i].n,
                                          .out = g_plain[i],
                                          .cap = DGRAM};
        t = thread_s();
        if (floe_wg_decapsulate_batch(bw->d[1], FLOE_SEC(2), d, BATCH))
            die("wg batch", FLOE_ERR_INTERNAL);
        c->dec += thread_s() - t;
    }
}

#define MAX_REPS 101

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One line: the median rates of node and bare, and the median overhead with its range. */
static void line(const char *what, int reps, int batches, const double *node, const double *bare)
{
    double ov[MAX_REPS], rn[MAX_REPS], rb[MAX_REPS], pkts = (double)batches * BATCH, lo, hi;
    int r;

    for (r = 0; r < reps; r++) {
        ov[r] = (node[r] / bare[r] - 1.0) * 100.0;
        rn[r] = pkts / node[r];
        rb[r] = pkts / bare[r];
    }
    qsort(ov, (size_t)reps, sizeof(*ov), cmp_double);
    lo = ov[0];
    hi = ov[reps - 1];
    printf("%-24s node %9.0f pkt/s  bare wg %9.0f pkt/s  overhead %+6.2f %% (%+.2f .. %+.2f)\n",
           what, median(rn, reps), median(rb, reps), median(ov, reps), lo, hi);
}

/* node against bare in reps interleaved repetitions of about secs / reps each (both sides). */
static void compare(const char *name, runner_fn node_fn, void *node_ctx, runner_fn bare_fn,
                    void *bare_ctx, double secs, int reps)
{
    double ne[MAX_REPS], nd[MAX_REPS], be[MAX_REPS], bd[MAX_REPS];
    struct cost warm = {0, 0};
    char what[64];
    int batches, r;

    node_fn(node_ctx, 16, &warm); /* warm up, and size one repetition */
    bare_fn(bare_ctx, 16, &warm);
    batches = (int)(secs / reps / ((warm.enc + warm.dec) / 32));
    batches = batches < 1 ? 1 : batches;
    for (r = 0; r < reps; r++) {
        struct cost n = {0, 0}, b = {0, 0};

        if (r % 2) {
            bare_fn(bare_ctx, batches, &b);
            node_fn(node_ctx, batches, &n);
        } else {
            node_fn(node_ctx, batches, &n);
            bare_fn(bare_ctx, batches, &b);
        }
        ne[r] = n.enc;
        nd[r] = n.dec;
        be[r] = b.enc;
        bd[r] = b.dec;
    }
    snprintf(what, sizeof(what), "encapsulate%s", name);
    line(what, reps, batches, ne, be);
    snprintf(what, sizeof(what), "decapsulate%s", name);
    line(what, reps, batches, nd, bd);
}

/* Bytes and CPU time for n connections on one gateway node (counting allocator). */
static void setup_cost(uint32_t n)
{
    struct floe_node_conn_config cc;
    struct floe_node_config cfg;
    struct floe_node *node;
    struct floe_xoshiro x;
    struct floe_addr h = floe_addr_v4(10, 0, 0, 1, 5000);
    size_t base;
    double t;
    uint32_t i;

    floe_node_config_default(&cfg);
    floe_xoshiro_seed(&x, 5);
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.role = FLOE_NODE_GATEWAY;
    cfg.max_connections = n;
    cfg.max_events = FLOE_NODE_MAX_EVENTS_LIMIT;
    cfg.alloc = floe_count_alloc(&g_bytes);
    memset(cfg.private_key, 0x51, sizeof(cfg.private_key));
    if (floe_node_new(&node, &cfg, 0) || floe_node_add_host(node, 0, &h))
        die("node", FLOE_ERR_INTERNAL);
    base = g_bytes;
    memset(&cc, 0, sizeof(cc));
    strcpy(cc.remote_ufrag, "peer");
    strcpy(cc.remote_pwd, "peer-password-0000000000");
    t = cpu_s();
    for (i = 0; i < n; i++) {
        struct floe_node_event ev;

        floe_store_be32(cc.public_key, i + 1);
        cc.public_key[31] = 0x40;
        if (floe_node_conn_upsert(node, 0, i + 1, &cc))
            die("upsert", FLOE_ERR_INTERNAL);
        while (floe_node_poll_event(node, &ev) == 1)
            ;
    }
    t = cpu_s() - t;
    printf("%u connections: %.1f ms CPU to set up (%.1f us each), %zu bytes each on top of "
           "the node's %zu preallocated\n",
           n, t * 1e3, t * 1e6 / n, (g_bytes - base) / n, base);
    floe_node_free(node);
}

/*
 * The cost of one wakeup of an idle gateway node holding n connections: each connection has a
 * remote candidate nobody answers, so its ICE checks retransmit (its first check is sent, and
 * its events taken, when it is made, as a caller does after every call); the connections are
 * made over 10 s, so their timers fire apart, about one connection per wakeup. One wakeup is
 * poll_timeout, handle_timeout at that deadline and the drain of its datagrams and events,
 * measured from 12 s to 60 s; the timers are in heaps (node and WireGuard), so its work must not
 * grow with n (the counters show it), and its time only by the cache lines and pages of the
 * connection it wakes, cold among n. (Before, the setup left every connection's first check
 * and events queued: the first measured wakeup sent n checks, and the checks of all n
 * connections then fell due together every 2 s; six wakeups visited every connection, and
 * the average over all of them hid it.)
 */
struct wakeups {
    double t;         /* CPU seconds in the wakeups */
    unsigned n;       /* wakeups */
    unsigned long tx; /* datagrams they sent (the mix of wakeups: a check costs most) */
    size_t conn_sz;   /* bytes allocated per connection */
    struct counters k;
};

/* What the caller does after every call into the node: send its datagrams, take its events. */
static unsigned wakeup_drain(struct floe_node *node, floe_time now)
{
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
    struct floe_node_transmit tr;
    struct floe_node_event ev;
    unsigned k = 0;

    while (floe_node_poll_transmit(node, now, buf, sizeof(buf), &tr) == 1)
        k++;
    while (floe_node_poll_event(node, &ev) == 1)
        ;
    return k;
}

/* Not inlined: valgrind --tool=callgrind --toggle-collect=wakeup_one measures it alone. */
__attribute__((noinline)) static unsigned wakeup_one(struct floe_node *node, floe_time now)
{
    floe_node_handle_timeout(node, now);
    return wakeup_drain(node, now);
}

/*
 * The wakeups due until then; when measured, the clock and the counters are read around the
 * whole run (not per wakeup: a clock read is a system call here, as long as a wakeup).
 */
static void wakeup_run(struct floe_node *node, floe_time until, struct wakeups *w)
{
    floe_time now;
    double t0 = 0;

    if (w) {
        ctr_enable(&w->k, true);
        t0 = cpu_s();
    }
    while ((now = floe_node_poll_timeout(node)) <= until) {
        unsigned k = wakeup_one(node, now);

        if (w) {
            w->n++;
            w->tx += k;
        }
    }
    if (w) {
        w->t += cpu_s() - t0;
        ctr_enable(&w->k, false);
    }
}

static struct floe_node *wakeup_node(uint32_t n, size_t *conn_sz)
{
    struct floe_node_conn_config cc;
    struct floe_node_config cfg;
    struct floe_node *node;
    static struct floe_xoshiro x;
    struct floe_addr h = floe_addr_v4(10, 0, 0, 1, 5000);
    char cand[96];
    size_t base;
    uint32_t i;

    floe_node_config_default(&cfg);
    floe_xoshiro_seed(&x, 6);
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.role = FLOE_NODE_GATEWAY;
    cfg.max_connections = n;
    cfg.alloc = floe_count_alloc(&g_bytes);
    memset(cfg.private_key, 0x52, sizeof(cfg.private_key));
    g_bytes = 0;
    if (floe_node_new(&node, &cfg, 0) || floe_node_add_host(node, 0, &h))
        die("node", FLOE_ERR_INTERNAL);
    base = g_bytes;
    memset(&cc, 0, sizeof(cc));
    strcpy(cc.remote_ufrag, "peer");
    strcpy(cc.remote_pwd, "peer-password-0000000000");
    for (i = 0; i < n; i++) {
        floe_time at = FLOE_SEC(10) * i / n;

        wakeup_run(node, at, NULL);
        floe_store_be32(cc.public_key, i + 1);
        cc.public_key[31] = 0x40;
        snprintf(cand, sizeof(cand), "candidate:1 1 UDP 2130706431 10.%u.%u.%u 4000 typ host",
                 (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (floe_node_conn_upsert(node, at, i + 1, &cc) ||
            floe_node_conn_add_remote_candidate(node, at, i + 1, cand))
            die("upsert", FLOE_ERR_INTERNAL);
        wakeup_drain(node, at); /* its first check now, not in a measured wakeup */
    }
    *conn_sz = (g_bytes - base) / n;
    return node;
}

static void wakeup_cost(uint32_t n, struct wakeups *w)
{
    struct floe_node *node = wakeup_node(n, &w->conn_sz);

    wakeup_run(node, FLOE_SEC(12), NULL);
    ctr_open(&w->k);
    wakeup_run(node, FLOE_SEC(60), w);
    floe_node_free(node);
}

/* One line per size: the time, then the work and the misses per wakeup, or why not. */
static void wakeup_print(uint32_t n)
{
    struct wakeups w;
    uint64_t v;
    int i;

    memset(&w, 0, sizeof(w));
    wakeup_cost(n, &w);
    printf("idle gateway, %5u connections (%zu bytes each): %.2f us CPU per wakeup (%u wakeups, "
           "%.2f datagrams each)",
           n, w.conn_sz, w.n ? w.t / w.n * 1e6 : 0, w.n, w.n ? (double)w.tx / w.n : 0);
    if (w.k.fd[CTR_INSN] < 0)
        printf(", no hardware counters (perf_event_open: %s)", strerror(w.k.err[CTR_INSN]));
    for (i = 0; w.k.fd[CTR_INSN] >= 0 && i < CTR_N; i++) {
        if (ctr_read(&w.k, i, &v))
            printf(", %.1f %s", w.n ? (double)v / w.n : 0, ctr_name[i]);
        else
            printf(", %s: no counter (%s)", ctr_name[i], strerror(w.k.err[i]));
    }
    printf("\n");
    ctr_close(&w.k);
}

/* node_bench wakeup [connections ...]: only the idle wakeups (for perf stat, perf record). */
static int wakeup_main(int argc, char **argv)
{
    static const uint32_t sizes[] = {100, 1000, 10000};
    int i;

    for (i = 2; i < argc; i++) {
        long n = atol(argv[i]);

        if (n < 1 || n > FLOE_NODE_MAX_CONNECTIONS_LIMIT) {
            fprintf(stderr, "usage: node_bench wakeup [connections 1..%d ...]\n",
                    FLOE_NODE_MAX_CONNECTIONS_LIMIT);
            return 2;
        }
    }
    for (i = 2; i < argc; i++)
        wakeup_print((uint32_t)atol(argv[i]));
    for (i = 0; argc <= 2 && i < 3; i++)
        wakeup_print(sizes[i]);
    return 0;
}

int main(int argc, char **argv)
{
    double secs;
    long conns;
    int reps, j;
    struct pair p;
    struct bare b;

    if (argc > 1 && strcmp(argv[1], "wakeup") == 0)
        return wakeup_main(argc, argv);
    secs = argc > 1 ? atof(argv[1]) : 1.0;
    conns = argc > 2 ? atol(argv[2]) : 10000;
    reps = argc > 3 ? atoi(argv[3]) : 21;
    if (secs <= 0 || conns < 1 || conns > FLOE_NODE_MAX_CONNECTIONS_LIMIT || reps < 1 ||
        reps > MAX_REPS) {
        fprintf(stderr,
                "usage: node_bench [seconds per comparison > 0] [connections 1..%d] "
                "[repetitions 1..%d]\n"
                "       node_bench wakeup [connections 1..%d ...]   only the idle wakeups "
                "(default 100 1000 10000)\n",
                FLOE_NODE_MAX_CONNECTIONS_LIMIT, MAX_REPS, FLOE_NODE_MAX_CONNECTIONS_LIMIT);
        return 2;
    }
    make_pkt();
    pair_setup(&p);
    bare_setup(&b);
    printf("%d-byte packets, one core, %.2f s per comparison in %d interleaved repetitions; "
           "overhead: median (range)\n",
           PKT, secs, reps);
    compare("", run_node, &p, run_bare, &b, secs, reps);
    compare(" batch (64)", run_node_batch, &p, run_bare_batch, &b, secs, reps);
    setup_cost((uint32_t)conns);
    for (j = 0; j < 3; j++)
        wakeup_print(j == 0 ? 100 : j == 1 ? 1000 : 10000);
    floe_node_free(p.n[0]);
    floe_node_free(p.n[1]);
    floe_wg_free(b.d[0]);
    floe_wg_free(b.d[1]);
    return 0;
}
