/*
 * WireGuard datapath throughput on one core: floe_wg_encapsulate and floe_wg_decapsulate
 * of 1420-byte IP packets over an established session, next to the raw ChaCha20-Poly1305
 * rate of the same per-key context (floe_aead_encrypt_ctr / floe_aead_decrypt_ctr) on the
 * same machine, with the ratio: what the protocol (header, padding, counters, replay window,
 * timers, lookups) costs over the cipher.
 * Run by hand on a Release build: <build>/bench/wg_bench [seconds per line].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/crypto_wg.h"
#include "floe/wg.h"

#define PKT 1420
#define BATCH 256
#define DGRAM (((PKT + 15) & ~15) + FLOE_WG_DATA_OVERHEAD) /* padded to 16 */

struct bench {
    struct floe_wg *a, *b;
    struct floe_wg_peer *pa, *pb;
    struct floe_xoshiro xa, xb;
    struct floe_addr addr_a, addr_b;
    struct floe_aead *aead;
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

static struct floe_wg *bench_dev(uint8_t seed, struct floe_xoshiro *x)
{
    struct floe_wg_config cfg;
    struct floe_wg *dev = NULL;
    int i;

    floe_xoshiro_seed(x, seed);
    floe_wg_config_default(&cfg);
    for (i = 0; i < 32; i++)
        cfg.private_key[i] = (uint8_t)(seed + i);
    cfg.rng = floe_xoshiro_rng(x);
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
    b->a = bench_dev(0x10, &b->xa);
    b->b = bench_dev(0x40, &b->xb);
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

static double bench_encap(struct bench *b, double secs)
{
    double start = now_s(), el;
    unsigned long n = 0;

    do {
        if (bench_encap_batch(b) != 0)
            return 0;
        n += BATCH;
        el = now_s() - start;
    } while (el < secs);
    return (double)n / el;
}

/* Only the decapsulation is timed; each batch is encrypted fresh (new counters). */
static double bench_decap(struct bench *b, double secs)
{
    struct floe_wg_result res;
    double busy = 0, t;
    unsigned long n = 0;
    int i;

    do {
        if (bench_encap_batch(b) != 0)
            return 0;
        t = now_s();
        for (i = 0; i < BATCH; i++) {
            if (floe_wg_decapsulate(b->b, 1, &b->addr_a, b->dgrams[i], b->lens[i], b->out,
                                    sizeof(b->out), &res) != FLOE_WG_RESULT_DATA ||
                res.len != PKT)
                return 0;
        }
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

int main(int argc, char **argv)
{
    static struct bench b;
    double secs = argc > 1 ? atof(argv[1]) : 1.0, raw_e, raw_d, enc, dec;

    if (secs <= 0)
        secs = 1.0;
    bench_setup(&b);
    printf("one core, %d-byte IP packets (%d-byte datagrams), %.1f s per line\n", PKT, DGRAM, secs);
    raw_e = bench_raw(&b, secs, true);
    report("chacha20poly1305 encrypt (context)", raw_e);
    enc = bench_encap(&b, secs);
    report("floe_wg_encapsulate", enc);
    raw_d = bench_raw(&b, secs, false);
    report("chacha20poly1305 decrypt (context)", raw_d);
    dec = bench_decap(&b, secs);
    report("floe_wg_decapsulate", dec);
    if (raw_e > 0 && raw_d > 0)
        printf("%-36s encapsulate x%.3f, decapsulate x%.3f\n", "wg / raw aead", enc / raw_e,
               dec / raw_d);
    floe_aead_free(b.aead);
    floe_wg_free(b.a);
    floe_wg_free(b.b);
    return enc > 0 && dec > 0 ? 0 : 1;
}
