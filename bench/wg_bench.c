/*
 * WireGuard datapath throughput on one core: floe_wg_encapsulate and floe_wg_decapsulate
 * of 1420-byte IP packets over an established session, next to the raw ChaCha20-Poly1305
 * rate of the same per-key context (floe_aead_encrypt_ctr / floe_aead_decrypt_ctr) on the
 * same machine, with the ratio: what the protocol (header, padding, counters, replay window,
 * timers, lookups) costs over the cipher.
 * Then the batch verbs (floe_wg_encapsulate_batch / floe_wg_decapsulate_batch) on a
 * floe_io_pool of 1 lane and of one lane per online CPU, and how the second scales over
 * the first: what floe-wg's crypto workers give one device.
 * Run by hand on a Release build: <build>/bench/wg_bench [seconds per line].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto_wg.h"
#include "floe/wg.h"
#include "floe_io.h"

#define PKT 1420
#define BATCH 256
#define DGRAM (((PKT + 15) & ~15) + FLOE_WG_DATA_OVERHEAD) /* padded to 16 */

struct bench {
    struct floe_wg *a, *b;
    struct floe_wg_peer *pa, *pb;
    struct floe_xoshiro xa, xb;
    struct floe_addr addr_a, addr_b;
    struct floe_aead *aead;
    struct floe_io_pool *pool; /* the batch verbs' workers; NULL: none */
    struct floe_wg_encap encap[BATCH];
    struct floe_wg_decap decap[BATCH];
    uint8_t pkt[PKT];
    uint8_t dgrams[BATCH][DGRAM];
    size_t lens[BATCH];
    uint8_t out[DGRAM];
    uint64_t counter;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct floe_wg *bench_dev(uint8_t seed, struct floe_xoshiro *x, struct floe_io_pool *pool)
{
    struct floe_wg_config cfg;
    struct floe_wg *dev = NULL;
    int i;

    floe_xoshiro_seed(x, seed);
    floe_wg_config_default(&cfg);
    for (i = 0; i < 32; i++)
        cfg.private_key[i] = (uint8_t)(seed + i);
    cfg.rng = floe_xoshiro_rng(x);
    if (pool) {
        cfg.parallel.run = floe_io_pool_run;
        cfg.parallel.user = pool;
        cfg.parallel.lanes = floe_io_pool_lanes(pool);
    }
    if (floe_wg_new(&dev, &cfg) != 0)
        exit(1);
    return dev;
}

static struct floe_wg_peer *bench_peer(struct floe_wg *dev, struct floe_wg *other,
                                       const struct floe_addr *ep)
{
    struct floe_wg_peer_config pc;
    struct floe_wg_peer *peer = NULL;

    memset(&pc, 0, sizeof(pc));
    floe_wg_public_key(other, pc.public_key);
    pc.endpoint = *ep;
    if (floe_wg_peer_add(dev, &pc, &peer) != 0)
        exit(1);
    return peer;
}

static void bench_flush(struct floe_wg *from, struct floe_wg *to, const struct floe_addr *src)
{
    static uint8_t buf[DGRAM + 64], out[DGRAM + 64];
    struct floe_wg_result res;
    struct floe_addr dst;
    long n;

    while ((n = floe_wg_poll_transmit(from, 1, buf, sizeof(buf), &dst, NULL)) > 0) {
        if (floe_wg_decapsulate(to, 1, src, buf, (size_t)n, out, sizeof(out), &res) < 0)
            exit(1);
    }
}

static void bench_setup(struct bench *b)
{
    struct floe_addr dst;
    uint8_t key[32];
    size_t i;

    b->addr_a = floe_addr_v4(10, 0, 0, 1, 1000);
    b->addr_b = floe_addr_v4(10, 0, 0, 2, 2000);
    b->a = bench_dev(0x10, &b->xa, b->pool);
    b->b = bench_dev(0x40, &b->xb, b->pool);
    b->pa = bench_peer(b->a, b->b, &b->addr_b);
    b->pb = bench_peer(b->b, b->a, &b->addr_a);
    for (i = 0; i < PKT; i++)
        b->pkt[i] = (uint8_t)i;
    b->pkt[0] = 0x45;
    floe_store_be16(b->pkt + 2, PKT);
    if (floe_wg_encapsulate(b->a, 1, b->pa, b->pkt, PKT, b->out, sizeof(b->out), &dst) != 0)
        exit(1);
    bench_flush(b->a, b->b, &b->addr_a);
    bench_flush(b->b, b->a, &b->addr_b);
    bench_flush(b->a, b->b, &b->addr_a);
    if (!floe_wg_peer_has_session(b->pa, 1) || !floe_wg_peer_has_session(b->pb, 1))
        exit(1);
    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    if (floe_aead_new(&b->aead, NULL, key, sizeof(key)) != 0)
        exit(1);
}

/* Encapsulate one batch into b->dgrams; returns 0 or -1. */
static int bench_encap_batch(struct bench *b)
{
    struct floe_addr dst;
    long n;
    int i;

    for (i = 0; i < BATCH; i++) {
        n = floe_wg_encapsulate(b->a, 1, b->pa, b->pkt, PKT, b->dgrams[i], DGRAM, &dst);
        if (n != DGRAM)
            return -1;
        b->lens[i] = (size_t)n;
    }
    return 0;
}

/* Packets per second of batch (one verb or the other) run for secs. */
static double bench_encap(struct bench *b, double secs, int (*batch)(struct bench *b))
{
    double start = now_s(), el;
    unsigned long n = 0;

    do {
        if (batch(b) != 0)
            return 0;
        n += BATCH;
        el = now_s() - start;
    } while (el < secs);
    return (double)n / el;
}

/* floe_wg_encapsulate_batch of one batch into b->dgrams; returns 0 or -1. */
static int bench_encap_batch_par(struct bench *b)
{
    int i;

    for (i = 0; i < BATCH; i++) {
        b->encap[i].peer = b->pa;
        b->encap[i].pkt = b->pkt;
        b->encap[i].len = PKT;
        b->encap[i].out = b->dgrams[i];
        b->encap[i].cap = DGRAM;
    }
    if (floe_wg_encapsulate_batch(b->a, 1, b->encap, BATCH) != 0)
        return -1;
    for (i = 0; i < BATCH; i++) {
        if (b->encap[i].n != DGRAM)
            return -1;
        b->lens[i] = DGRAM;
    }
    return 0;
}

/* floe_wg_decapsulate of one batch from b->dgrams; returns 0 or -1. */
static int bench_decap_one_by_one(struct bench *b)
{
    struct floe_wg_result res;
    int i;

    for (i = 0; i < BATCH; i++) {
        if (floe_wg_decapsulate(b->b, 1, &b->addr_a, b->dgrams[i], b->lens[i], b->out,
                                sizeof(b->out), &res) != FLOE_WG_RESULT_DATA ||
            res.len != PKT)
            return -1;
    }
    return 0;
}

/* floe_wg_decapsulate_batch of one batch, in place in b->dgrams; returns 0 or -1. */
static int bench_decap_batch_par(struct bench *b)
{
    int i;

    for (i = 0; i < BATCH; i++) {
        b->decap[i].from = b->addr_a;
        b->decap[i].dgram = b->dgrams[i];
        b->decap[i].len = b->lens[i];
        b->decap[i].out = b->dgrams[i] + FLOE_WG_DATA_HEADER_LEN;
        b->decap[i].cap = b->lens[i] - FLOE_WG_DATA_HEADER_LEN;
    }
    if (floe_wg_decapsulate_batch(b->b, 1, b->decap, BATCH) != 0)
        return -1;
    for (i = 0; i < BATCH; i++) {
        if (b->decap[i].rc != FLOE_WG_RESULT_DATA || b->decap[i].res.len != PKT)
            return -1;
    }
    return 0;
}

/* Decapsulations per second; only decap is timed, each batch encrypted fresh by encap. */
static double bench_decap(struct bench *b, double secs, int (*encap)(struct bench *b),
                          int (*decap)(struct bench *b))
{
    double busy = 0, t;
    unsigned long n = 0;

    do {
        if (encap(b) != 0)
            return 0;
        t = now_s();
        if (decap(b) != 0)
            return 0;
        busy += now_s() - t;
        n += BATCH;
    } while (busy < secs);
    return (double)n / busy;
}

static double bench_raw(struct bench *b, double secs, bool enc)
{
    double start = now_s(), el;
    unsigned long n = 0;
    int i, rc = 0;

    if (floe_aead_encrypt_ctr(b->aead, b->dgrams[0], b->pkt, PKT, NULL, 0, 0) != 0)
        return 0;
    do {
        for (i = 0; i < BATCH; i++) {
            if (enc)
                rc |= floe_aead_encrypt_ctr(b->aead, b->out, b->pkt, PKT, NULL, 0, b->counter++);
            else
                rc |= floe_aead_decrypt_ctr(b->aead, b->out, b->dgrams[0], PKT + 16, NULL, 0, 0);
        }
        n += BATCH;
        el = now_s() - start;
    } while (el < secs);
    return rc ? 0 : (double)n / el;
}

static void report(const char *name, double pps)
{
    printf("%-36s %10.0f pkt/s  %7.2f Gbit/s\n", name, pps, pps * PKT * 8 / 1e9);
}

static void bench_free(struct bench *b)
{
    floe_aead_free(b->aead);
    floe_wg_free(b->a);
    floe_wg_free(b->b);
}

/* The batch verbs on a pool of `lanes`; *enc and *dec get pkt/s. Returns 0 or -1. */
static int bench_lanes(unsigned lanes, double secs, double *enc, double *dec)
{
    static struct bench b;
    char name[64];

    memset(&b, 0, sizeof(b));
    if (floe_io_pool_new(&b.pool, lanes) != 0)
        return -1;
    bench_setup(&b);
    *enc = bench_encap(&b, secs, bench_encap_batch_par);
    snprintf(name, sizeof(name), "encapsulate_batch, %u lane%s", lanes, lanes > 1 ? "s" : "");
    report(name, *enc);
    *dec = bench_decap(&b, secs, bench_encap_batch_par, bench_decap_batch_par);
    snprintf(name, sizeof(name), "decapsulate_batch, %u lane%s", lanes, lanes > 1 ? "s" : "");
    report(name, *dec);
    bench_free(&b);
    floe_io_pool_free(b.pool);
    return *enc > 0 && *dec > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct bench b;
    double secs = argc > 1 ? atof(argv[1]) : 1.0, raw_e, raw_d, enc, dec, enc1, dec1, encn, decn;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned lanes = cpus < 1 ? 1 : cpus > FLOE_WG_MAX_LANES ? FLOE_WG_MAX_LANES : (unsigned)cpus;
    int rc = 0;

    if (secs <= 0)
        secs = 1.0;
    bench_setup(&b);
    printf("one core, %d-byte IP packets (%d-byte datagrams), %.1f s per line\n", PKT, DGRAM, secs);
    raw_e = bench_raw(&b, secs, true);
    report("chacha20poly1305 encrypt (context)", raw_e);
    enc = bench_encap(&b, secs, bench_encap_batch);
    report("floe_wg_encapsulate", enc);
    raw_d = bench_raw(&b, secs, false);
    report("chacha20poly1305 decrypt (context)", raw_d);
    dec = bench_decap(&b, secs, bench_encap_batch, bench_decap_one_by_one);
    report("floe_wg_decapsulate", dec);
    if (raw_e > 0 && raw_d > 0)
        printf("%-36s encapsulate x%.3f, decapsulate x%.3f\n", "wg / raw aead", enc / raw_e,
               dec / raw_d);
    bench_free(&b);
    printf("\nbatches of %d on a worker pool (floe-wg --threads), %ld online CPUs\n", BATCH, cpus);
    rc |= bench_lanes(1, secs, &enc1, &dec1);
    if (lanes > 1) {
        rc |= bench_lanes(lanes, secs, &encn, &decn);
        if (!rc)
            printf("%-36s encapsulate x%.2f, decapsulate x%.2f\n", "scaling over 1 lane",
                   encn / enc1, decn / dec1);
    }
    return enc > 0 && dec > 0 && !rc ? 0 : 1;
}
