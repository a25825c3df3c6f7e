/*
 * libFuzzer target for the relay core. The input is a script of records:
 * one op byte, then a length byte and that many bytes. Ops: a raw datagram
 * from one of two clients; a raw datagram from a peer to a live relayed
 * address; an authenticated request (method from the next byte, the rest as
 * raw attributes) using the nonce the relay last handed out; time passing;
 * a failed or successful port bind. Invariants: no crash, no leak, counters
 * consistent with the allocations the events announced.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/relay.h"

struct fz {
    struct floe_relay *r;
    struct floe_xoshiro x;
    floe_time now;
    struct floe_addr listen, clients[2], relayed, peer;
    char nonce[64];
    uint8_t key[16];
    uint8_t out[2048];
    long live; /* allocations announced live minus ended */
};

static void fz_learn(struct fz *f, long n)
{
    struct floe_stun_msg msg;
    struct floe_span nonce;
    struct floe_addr a;

    if (n <= 0 || floe_stun_decode(&msg, f->out, (size_t)n) != 0)
        return;
    if (floe_stun_get_span(&msg, FLOE_STUN_ATTR_NONCE, &nonce) == 0 && nonce.len < 64) {
        memcpy(f->nonce, nonce.ptr, nonce.len);
        f->nonce[nonce.len] = '\0';
    }
    if (floe_stun_get_xor_addr(&msg, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &a) == 0)
        f->relayed = a;
}

static void fz_events(struct fz *f, bool fail_binds)
{
    struct floe_relay_event ev;
    struct floe_relay_tx tx;

    while (floe_relay_poll_event(f->r, &ev)) {
        if (ev.kind == FLOE_RELAY_EV_BIND_PORT)
            fz_learn(f,
                     floe_relay_port_bound(f->r, f->now, ev.alloc_id, fail_binds ? FLOE_ERR_IO : 0,
                                           f->out, sizeof(f->out), &tx));
        f->live += ev.kind == FLOE_RELAY_EV_ALLOCATED;
        f->live -= ev.kind == FLOE_RELAY_EV_EXPIRED;
    }
}

static void fz_request(struct fz *f, const struct floe_addr *from, uint8_t method,
                       const uint8_t *attrs, size_t len)
{
    static const uint16_t methods[] = {FLOE_STUN_ALLOCATE, FLOE_STUN_REFRESH,
                                       FLOE_STUN_CREATE_PERMISSION, FLOE_STUN_CHANNEL_BIND};
    struct floe_stun_builder b;
    struct floe_relay_tx tx;
    uint8_t buf[1024], txid[12];
    struct floe_rng rng = floe_xoshiro_rng(&f->x);
    long n;

    (void)floe_rng_fill(&rng, txid, sizeof(txid));
    floe_stun_build_init(&b, buf, sizeof(buf), methods[method % 4], FLOE_STUN_REQUEST, txid);
    floe_stun_add_requested_transport(&b, 17);
    if (len >= 4) /* the rest as raw attributes: the builder keeps it well formed */
        floe_stun_add_bytes(&b, floe_load_be16(attrs), attrs + 4,
                            floe_load_be16(attrs + 2) % (len - 3));
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &f->peer);
    floe_stun_add_channel(&b, (uint16_t)(FLOE_CHANNEL_MIN + (method >> 2)));
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "alice", 5);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, "floe", 4);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, f->nonce, strlen(f->nonce));
    floe_stun_add_integrity_key(&b, f->key, sizeof(f->key));
    n = floe_stun_build_finish(&b);
    if (n > 0)
        fz_learn(f, floe_relay_handle_client(f->r, f->now, &f->listen, from, buf, (size_t)n, f->out,
                                             sizeof(f->out), &tx));
}

static void fz_op(struct fz *f, uint8_t op, const uint8_t *p, size_t len)
{
    struct floe_relay_tx tx;

    switch (op % 6) {
    case 0:
    case 1:
        fz_learn(f, floe_relay_handle_client(f->r, f->now, &f->listen, &f->clients[op % 2], p, len,
                                             f->out, sizeof(f->out), &tx));
        break;
    case 2:
        (void)floe_relay_handle_peer(f->r, f->now, &f->relayed, &f->peer, p, len, f->out,
                                     sizeof(f->out), &tx);
        break;
    case 3:
        if (len)
            fz_request(f, &f->clients[p[0] & 1], p[0] >> 1, p + 1, len - 1);
        break;
    case 4:
        f->now += FLOE_SEC(len ? p[0] : 1) * 10;
        floe_relay_handle_timeout(f->r, f->now);
        break;
    default:
        break;
    }
    fz_events(f, op % 6 == 5);
}

static int fz_setup(struct fz *f)
{
    struct floe_relay_config cfg;

    memset(f, 0, sizeof(*f));
    floe_xoshiro_seed(&f->x, 7);
    floe_relay_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&f->x);
    cfg.relay_v4 = floe_addr_v4(192, 0, 2, 1, 0);
    cfg.users[0].name = "alice";
    cfg.users[0].password = "secret";
    cfg.n_users = 1;
    cfg.max_allocations = 8;
    cfg.port_min = 50000; /* a failed bind tries every port of the range before 508 */
    cfg.port_max = 50031;
    cfg.max_permissions = 4;
    cfg.max_channels = 4;
    cfg.allow_loopback_peers = true;
    f->listen = floe_addr_v4(192, 0, 2, 1, 3478);
    f->clients[0] = floe_addr_v4(198, 51, 100, 1, 1000);
    f->clients[1] = floe_addr_v4(198, 51, 100, 2, 2000);
    f->peer = floe_addr_v4(203, 0, 113, 9, 9000);
    f->relayed = cfg.relay_v4;
    if (floe_stun_long_term_key_md5(f->key, floe_span_make("alice", 5), floe_span_make("floe", 4),
                                    floe_span_make("secret", 6)) < 0)
        return -1;
    return floe_relay_new(&f->r, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct floe_relay_stats st;
    struct fz f;
    size_t i = 0;

    if (fz_setup(&f) != 0)
        abort();
    while (i + 2 <= size) {
        uint8_t op = data[i], n = data[i + 1];
        size_t len = n < size - i - 2 ? n : size - i - 2;

        fz_op(&f, op, data + i + 2, len);
        i += 2 + len;
    }
    floe_relay_get_stats(f.r, &st);
    if ((long)st.allocations != f.live)
        abort(); /* the counters and the events disagree */
    floe_relay_free(f.r);
    return 0;
}
