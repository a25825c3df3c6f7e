/*
 * The TURN client's per-packet peer lookup at 10 and at 1,000 peers of one allocation: a
 * payload framed to a peer (floe_turn_encapsulate finds the peer by address) and a Data
 * indication from a peer taken in (floe_turn_handle_input finds it by address too). The client
 * allocates on the relay core in-process; every peer has its permission and channel.
 * Run on a Release build: build/bench/turn_peers_bench [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/relay.h"
#include "floe/turn.h"

#define BENCH_NOW FLOE_SEC(1000)

struct bench {
    struct floe_relay *r;
    struct floe_turn *t;
    struct floe_xoshiro rng;
    struct floe_addr server, client, relayed;
};

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct floe_addr bench_peer(uint32_t i)
{
    return floe_addr_v4(203, 0, (uint8_t)(i >> 8), (uint8_t)i, (uint16_t)(1000 + i));
}

/* A datagram from the relay core: to the client (handed in), to a peer (dropped). */
static void bench_from_relay(struct bench *b, const struct floe_relay_tx *tx, const uint8_t *buf,
                             long len)
{
    struct floe_addr peer;
    struct floe_span data;

    if (len > 0 && floe_addr_eq(&tx->to, &b->client))
        (void)floe_turn_handle_input(b->t, BENCH_NOW, &tx->from, buf, (size_t)len, &peer, &data);
}

/* Move the client's requests to the relay and the answers back until quiet. */
static void bench_pump(struct bench *b)
{
    uint8_t buf[FLOE_TURN_TRANSMIT_MAX], out[2048];
    struct floe_relay_event ev;
    struct floe_relay_tx tx;
    struct floe_addr to;
    long len, r;

    while ((len = floe_turn_poll_transmit(b->t, BENCH_NOW, buf, sizeof(buf), &to)) > 0) {
        r = floe_relay_handle_client(b->r, BENCH_NOW, &b->server, &b->client, buf, (size_t)len, out,
                                     sizeof(out), &tx);
        bench_from_relay(b, &tx, out, r);
        while (floe_relay_poll_event(b->r, &ev)) {
            if (ev.kind != FLOE_RELAY_EV_BIND_PORT)
                continue;
            b->relayed = ev.addr;
            r = floe_relay_port_bound(b->r, BENCH_NOW, ev.alloc_id, 0, out, sizeof(out), &tx);
            bench_from_relay(b, &tx, out, r);
        }
    }
}

static int bench_setup(struct bench *b, uint32_t peers)
{
    struct floe_relay_config rc;
    struct floe_turn_config tc;
    uint32_t i;

    memset(b, 0, sizeof(*b));
    floe_xoshiro_seed(&b->rng, 7);
    b->server = floe_addr_v4(192, 0, 2, 1, 3478);
    b->client = floe_addr_v4(198, 51, 100, 7, 40000);
    floe_relay_config_default(&rc);
    rc.relay_v4 = floe_addr_v4(192, 0, 2, 1, 0);
    rc.users[0].name = "alice";
    rc.users[0].password = "secret";
    rc.n_users = 1;
    rc.max_permissions = rc.max_channels = peers;
    rc.rng = floe_xoshiro_rng(&b->rng);
    floe_turn_config_default(&tc);
    tc.rng = floe_xoshiro_rng(&b->rng);
    tc.server = b->server;
    tc.username = "alice";
    tc.password = "secret";
    tc.max_peers = peers;
    if (floe_relay_new(&b->r, &rc) < 0 || floe_turn_new(&b->t, &tc) < 0 ||
        floe_turn_allocate(b->t, BENCH_NOW) < 0)
        return -1;
    floe_relay_set_unix_time(b->r, 1700000000);
    bench_pump(b);
    for (i = 0; i < peers; i++) {
        struct floe_addr p = bench_peer(i);

        if (floe_turn_bind_channel(b->t, BENCH_NOW, &p) < 0)
            return -1;
        bench_pump(b);
        if (!floe_turn_has_channel(b->t, &p))
            return -1;
    }
    return 0;
}

/* A Data indication from peer i, as the relay would send it. */
static long bench_data_ind(uint32_t i, uint8_t *buf, size_t cap)
{
    static const uint8_t txid[FLOE_STUN_TXID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct floe_stun_builder sb;
    struct floe_addr p = bench_peer(i);

    floe_stun_build_init(&sb, buf, cap, FLOE_STUN_DATA, FLOE_STUN_INDICATION, txid);
    floe_stun_add_xor_addr(&sb, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
    floe_stun_add_bytes(&sb, FLOE_STUN_ATTR_DATA, "0123456789abcdef", 16);
    return floe_stun_build_finish(&sb);
}

/* ns per packet out (encapsulate) and in (Data indication), over iters packets each. */
static int bench_run(uint32_t peers, long iters, double *out_ns, double *in_ns)
{
    static uint8_t ind[64][128];
    size_t ind_len[64];
    uint8_t buf[256];
    struct floe_addr peer;
    struct floe_span data;
    struct bench b;
    long k, ok = 0;
    double t0;

    if (bench_setup(&b, peers) < 0)
        return -1;
    for (k = 0; k < 64; k++) {
        long n = bench_data_ind((uint32_t)k * 7919u % peers, ind[k], sizeof(ind[k]));

        ind_len[k] = n > 0 ? (size_t)n : 0;
    }
    t0 = bench_now();
    for (k = 0; k < iters; k++) {
        struct floe_addr p = bench_peer((uint32_t)(k * 7919 % (long)peers));

        ok += floe_turn_encapsulate(b.t, BENCH_NOW, &p, buf, 64, buf, sizeof(buf)) > 0;
    }
    *out_ns = (bench_now() - t0) / (double)iters;
    t0 = bench_now();
    for (k = 0; k < iters; k++)
        ok += floe_turn_handle_input(b.t, BENCH_NOW, &b.server, ind[k % 64], ind_len[k % 64], &peer,
                                     &data) == FLOE_TURN_INPUT_DATA;
    *in_ns = (bench_now() - t0) / (double)iters;
    floe_turn_free(b.t);
    floe_relay_free(b.r);
    return ok == 2 * iters ? 0 : -1;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    double out10, in10, out1k, in1k;

    if (iters <= 0) {
        fprintf(stderr, "usage: turn_peers_bench [iterations > 0]\n");
        return 2;
    }
    if (bench_run(10, iters, &out10, &in10) < 0 || bench_run(1000, iters, &out1k, &in1k) < 0) {
        fprintf(stderr, "turn_peers_bench: a packet was not framed or taken in\n");
        return 1;
    }
    printf("encapsulate: %6.1f ns/packet at 10 peers, %6.1f at 1000 (x%.2f)\n", out10, out1k,
           out1k / out10);
    printf("data in:     %6.1f ns/packet at 10 peers, %6.1f at 1000 (x%.2f)\n", in10, in1k,
           in1k / in10);
    return 0;
}
