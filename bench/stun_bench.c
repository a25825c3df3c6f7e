/*
 * STUN server hot path on one core: an ICE connectivity check (Binding request
 * with USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY under a short-term
 * password, FINGERPRINT) decoded and verified for about 2 s of wall time each:
 *   reused:  decode + MI with a keyed context kept per password + FINGERPRINT
 *   rebuilt: the same with the HMAC context created and freed for every message
 *   decode:  decode only
 * Run on a Release build: build/bench/stun_bench [seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/stun.h"

#define BENCH_PASSWORD "Ck0aVHwlwpj9nUzA6Q1ntxAh"

struct bench_ctx {
    uint8_t msg[256];
    size_t len;
    struct floe_hmac *hmac;
};

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_build(struct bench_ctx *c)
{
    static const uint8_t txid[FLOE_STUN_TXID_LEN] = {0x5e, 0x1f, 0x02, 0x33, 0x84, 0x95,
                                                     0xa6, 0xb7, 0xc8, 0xd9, 0xea, 0xfb};
    struct floe_stun_builder b;
    long len;

    floe_stun_build_init(&b, c->msg, sizeof(c->msg), FLOE_STUN_BINDING, FLOE_STUN_REQUEST,
                         txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "h6vYxKmo:evtjb8yO", 17);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 0x6e7f1eff);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, 0x932ff9b151263b36ull);
    floe_stun_add_integrity(&b, c->hmac);
    floe_stun_add_fingerprint(&b);
    len = floe_stun_build_finish(&b);
    if (len < 0)
        return (int)len;
    c->len = (size_t)len;
    return 0;
}

/* One message through the path under test; returns 0 when it verified. */
typedef int (*bench_step)(struct bench_ctx *c);

static int step_reused(struct bench_ctx *c)
{
    struct floe_stun_msg m;

    if (floe_stun_decode(&m, c->msg, c->len) < 0 || floe_stun_verify_integrity(&m, c->hmac) < 0)
        return -1;
    return floe_stun_verify_fingerprint(&m);
}

static int step_rebuilt(struct bench_ctx *c)
{
    struct floe_stun_msg m;

    if (floe_stun_decode(&m, c->msg, c->len) < 0)
        return -1;
    if (floe_stun_verify_integrity_key(&m, (const uint8_t *)BENCH_PASSWORD,
                                       strlen(BENCH_PASSWORD)) < 0)
        return -1;
    return floe_stun_verify_fingerprint(&m);
}

static int step_decode(struct bench_ctx *c)
{
    struct floe_stun_msg m;

    return floe_stun_decode(&m, c->msg, c->len);
}

/* Run step in batches until seconds of wall time have passed; messages per second. */
static double bench_run(struct bench_ctx *c, bench_step step, double seconds)
{
    double start = bench_now(), elapsed;
    unsigned long n = 0;
    int i;

    do {
        for (i = 0; i < 1024; i++) {
            if (step(c) != 0) {
                fprintf(stderr, "stun_bench: verification failed\n");
                exit(1);
            }
        }
        n += 1024;
        elapsed = bench_now() - start;
    } while (elapsed < seconds);
    return (double)n / elapsed;
}

int main(int argc, char **argv)
{
    struct bench_ctx c;
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    double reused, rebuilt, decode;

    if (floe_hmac_new(&c.hmac, NULL, FLOE_HMAC_SHA1, (const uint8_t *)BENCH_PASSWORD,
                      strlen(BENCH_PASSWORD)) < 0 ||
        bench_build(&c) < 0) {
        fprintf(stderr, "stun_bench: setup failed\n");
        return 1;
    }
    reused = bench_run(&c, step_reused, seconds);
    rebuilt = bench_run(&c, step_rebuilt, seconds);
    decode = bench_run(&c, step_decode, seconds);
    printf("ICE Binding request, %zu bytes, one core, %.1f s per row\n", c.len, seconds);
    printf("decode + MI (reused HMAC context) + FINGERPRINT  %12.0f msg/s\n", reused);
    printf("decode + MI (HMAC context per message) + FP      %12.0f msg/s  (%.2fx slower)\n",
           rebuilt, reused / rebuilt);
    printf("decode only                                      %12.0f msg/s\n", decode);
    floe_hmac_free(c.hmac);
    return 0;
}
