/*
 * libFuzzer target for floe_wg_decapsulate. Each input gets two fresh devices (a
 * deterministic rng) with an established session, so data messages with a valid
 * receiver index reach decryption, the replay window and the inner packet checks. The
 * first input byte picks how the rest is used:
 *   0  a raw datagram to b (every message type, garbage)
 *   1  a datagram to b with the session's receiver index written over bytes 4..8
 *   2  a's genuine data message XORed with the input (bit flips of real ciphertext)
 *   3  an IP packet a encrypts and b decrypts (inner-header parsing, keepalives)
 * With bit 2 of the first byte set, the datagram and a copy of it go through
 * floe_wg_decapsulate_batch instead, the first decrypted in place (the copy must then be
 * a replay or fail the same way).
 * The second byte advances virtual time (seconds), reaching key expiry paths; b's timers
 * and transmit queue are then run. Invariants abort so the fuzzer reports them.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BUF 2048

struct fuzz_pair {
    struct floe_wg *a, *b;
    struct floe_wg_peer *pa, *pb;
    struct floe_xoshiro xa, xb;
    struct floe_addr addr_a, addr_b;
};

static struct floe_wg *fuzz_dev(uint8_t key_seed, struct floe_xoshiro *x)
{
    struct floe_wg_config cfg;
    struct floe_wg *dev = NULL;
    int i;

    floe_xoshiro_seed(x, key_seed);
    floe_wg_config_default(&cfg);
    for (i = 0; i < 32; i++)
        cfg.private_key[i] = (uint8_t)(key_seed + i);
    cfg.rng = floe_xoshiro_rng(x);
    cfg.max_peers = 2;
    if (floe_wg_new(&dev, &cfg) != 0)
        abort();
    return dev;
}

static struct floe_wg_peer *fuzz_peer(struct floe_wg *dev, struct floe_wg *other,
                                      const struct floe_addr *ep)
{
    struct floe_wg_peer_config pc;
    struct floe_wg_peer *peer = NULL;

    memset(&pc, 0, sizeof(pc));
    floe_wg_public_key(other, pc.public_key);
    pc.endpoint = *ep;
    if (floe_wg_peer_add(dev, &pc, &peer) != 0)
        abort();
    return peer;
}

/* Deliver everything pending from `from` to `to`. */
static void fuzz_flush(struct floe_wg *from, struct floe_wg *to, const struct floe_addr *src,
                       floe_time now)
{
    static uint8_t buf[FUZZ_BUF], out[FUZZ_BUF];
    struct floe_wg_result res;
    struct floe_addr dst;
    long n;

    while ((n = floe_wg_poll_transmit(from, now, buf, sizeof(buf), &dst, NULL)) > 0) {
        if (floe_wg_decapsulate(to, now, src, buf, (size_t)n, out, sizeof(out), &res) < 0)
            abort();
    }
}

static void fuzz_setup(struct fuzz_pair *p)
{
    uint8_t pkt[20] = {0x45, 0, 0, 20}, out[FUZZ_BUF];
    struct floe_addr dst;

    p->addr_a = floe_addr_v4(10, 0, 0, 1, 1000);
    p->addr_b = floe_addr_v4(10, 0, 0, 2, 2000);
    p->a = fuzz_dev(0x10, &p->xa);
    p->b = fuzz_dev(0x40, &p->xb);
    p->pa = fuzz_peer(p->a, p->b, &p->addr_b);
    p->pb = fuzz_peer(p->b, p->a, &p->addr_a);
    if (floe_wg_encapsulate(p->a, 1, p->pa, pkt, sizeof(pkt), out, sizeof(out), &dst) != 0)
        abort();
    fuzz_flush(p->a, p->b, &p->addr_a, 1);
    fuzz_flush(p->b, p->a, &p->addr_b, 1);
    fuzz_flush(p->a, p->b, &p->addr_a, 1);
    if (!floe_wg_peer_has_session(p->pa, 1))
        abort();
}

static void fuzz_check(const struct floe_wg_result *res, int r, size_t len, size_t out_len)
{
    if (r < 0 && r != FLOE_ERR_BUFFER_TOO_SMALL)
        abort();
    if (r == FLOE_WG_RESULT_DATA && (res->len == 0 || res->len > out_len || res->len > len))
        abort();
    if (r == FLOE_WG_RESULT_DROP && (unsigned)res->drop >= FLOE_WG_DROP_COUNT)
        abort();
    if ((r == FLOE_WG_RESULT_DATA || r == FLOE_WG_RESULT_KEEPALIVE) && !res->peer)
        abort();
}

/* Build the datagram for the input's mode into dgram; returns its length. */
static size_t fuzz_datagram(struct fuzz_pair *p, uint8_t mode, const uint8_t *in, size_t len,
                            uint8_t *dgram, floe_time now)
{
    uint8_t pkt[20] = {0x45, 0, 0, 20};
    struct floe_addr dst;
    long n;
    size_t i;

    if (len > FUZZ_BUF - 64)
        len = FUZZ_BUF - 64;
    switch (mode & 3) {
    case 1:
        n = floe_wg_encapsulate(p->a, now, p->pa, pkt, sizeof(pkt), dgram, FUZZ_BUF, &dst);
        if (n > 0 && len >= 8) {
            uint8_t index[4];

            memcpy(index, dgram + 4, 4);
            memcpy(dgram, in, len);
            memcpy(dgram + 4, index, 4);
            return len;
        }
        break;
    case 2:
        n = floe_wg_encapsulate(p->a, now, p->pa, pkt, sizeof(pkt), dgram, FUZZ_BUF, &dst);
        if (n > 0) {
            for (i = 0; i < len && i < (size_t)n; i++)
                dgram[i] ^= in[i];
            return (size_t)n;
        }
        break;
    case 3:
        n = floe_wg_encapsulate(p->a, now, p->pa, in, len, dgram, FUZZ_BUF, &dst);
        if (n > 0)
            return (size_t)n;
        break;
    }
    memcpy(dgram, in, len);
    return len;
}

/* The datagram and a copy of it as one batch, the first in place. */
static void fuzz_batch(struct fuzz_pair *p, uint8_t *dgram, size_t len, floe_time now)
{
    static uint8_t copy[FUZZ_BUF], out[FUZZ_BUF];
    struct floe_wg_decap it[2];

    memcpy(copy, dgram, len);
    memset(it, 0, sizeof(it));
    it[0].from = it[1].from = p->addr_a;
    it[0].dgram = dgram;
    it[0].len = it[1].len = len;
    it[0].out = len >= 16 ? dgram + 16 : out;
    it[0].cap = len >= 16 ? FUZZ_BUF - 16 : FUZZ_BUF;
    it[1].dgram = copy;
    it[1].out = out;
    it[1].cap = FUZZ_BUF;
    if (floe_wg_decapsulate_batch(p->b, now, it, 2) != 0)
        abort();
    fuzz_check(&it[0].res, it[0].rc, len, it[0].cap);
    fuzz_check(&it[1].res, it[1].rc, len, it[1].cap);
    if (it[1].rc == FLOE_WG_RESULT_DATA || it[1].rc == FLOE_WG_RESULT_KEEPALIVE)
        abort(); /* a data message accepted twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t dgram[FUZZ_BUF], out[FUZZ_BUF];
    struct fuzz_pair p;
    struct floe_wg_result res;
    struct floe_addr dst;
    struct floe_wg_event ev;
    floe_time now;
    size_t len;
    int r;

    if (size < 2)
        return 0;
    fuzz_setup(&p);
    now = 1 + FLOE_SEC(data[1]);
    len = fuzz_datagram(&p, data[0], data + 2, size - 2, dgram, now);
    if (data[0] & 4) {
        fuzz_batch(&p, dgram, len, now);
    } else {
        r = floe_wg_decapsulate(p.b, now, &p.addr_a, dgram, len, out, sizeof(out), &res);
        fuzz_check(&res, r, len, sizeof(out));
    }
    floe_wg_handle_timeout(p.b, floe_wg_poll_timeout(p.b));
    while (floe_wg_poll_transmit(p.b, now, dgram, sizeof(dgram), &dst, NULL) > 0)
        ;
    while (floe_wg_poll_event(p.b, &ev))
        if (ev.peer != p.pb)
            abort();
    floe_wg_free(p.a);
    floe_wg_free(p.b);
    return 0;
}
