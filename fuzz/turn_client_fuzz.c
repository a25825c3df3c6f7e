/*
 * libFuzzer target for the TURN client, wired to the real relay core so the
 * fuzzer reaches every state (allocated, permissions, channels). The input is
 * a script of records: an op byte, a length byte and that many bytes. Ops:
 * deliver the client's pending datagrams to the relay and the answers back;
 * deliver raw bytes to the client as if from the server; deliver raw bytes
 * from a peer through the relay; send a payload to a peer; let time pass;
 * reset or close the client. Invariants: no crash, no leak, and a DATA result
 * always lies inside the datagram given.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/relay.h"
#include "floe/turn.h"

struct tf {
    struct floe_turn *t;
    struct floe_relay *r;
    struct floe_xoshiro x;
    floe_time now;
    struct floe_addr server, client, peer, relayed;
};

static void tf_check_data(const uint8_t *buf, size_t len, int rc, const struct floe_span *d)
{
    if (rc == FLOE_TURN_INPUT_DATA && (d->ptr < buf || d->ptr + d->len > buf + len))
        abort(); /* zero-copy data must point into the datagram */
}

static void tf_to_client(struct tf *f, const uint8_t *buf, size_t len)
{
    struct floe_addr peer;
    struct floe_span data;
    int rc = floe_turn_handle_input(f->t, f->now, &f->server, buf, len, &peer, &data);

    tf_check_data(buf, len, rc, &data);
}

static void tf_relay_events(struct tf *f)
{
    struct floe_relay_event ev;
    struct floe_relay_tx tx;
    uint8_t out[2048];
    long n;

    while (floe_relay_poll_event(f->r, &ev)) {
        if (ev.kind != FLOE_RELAY_EV_BIND_PORT)
            continue;
        f->relayed = ev.addr;
        n = floe_relay_port_bound(f->r, f->now, ev.alloc_id, 0, out, sizeof(out), &tx);
        if (n > 0)
            tf_to_client(f, out, (size_t)n);
    }
}

/* Client -> relay -> client, until the client has nothing more to send. */
static void tf_pump(struct tf *f)
{
    uint8_t buf[2048], out[2048];
    struct floe_relay_tx tx;
    struct floe_addr to;
    long n, m;
    int rounds = 0;

    while (rounds++ < 32 &&
           (n = floe_turn_poll_transmit(f->t, f->now, buf, sizeof(buf), &to)) > 0) {
        m = floe_relay_handle_client(f->r, f->now, &f->server, &f->client, buf, (size_t)n, out,
                                     sizeof(out), &tx);
        tf_relay_events(f);
        if (m > 0 && floe_addr_eq(&tx.to, &f->client))
            tf_to_client(f, out, (size_t)m);
    }
    {
        struct floe_turn_event ev;

        while (floe_turn_poll_event(f->t, &ev))
            ;
    }
}

static void tf_from_peer(struct tf *f, const uint8_t *p, size_t len)
{
    struct floe_relay_tx tx;
    uint8_t out[2048];
    long n =
        floe_relay_handle_peer(f->r, f->now, &f->relayed, &f->peer, p, len, out, sizeof(out), &tx);

    if (n > 0)
        tf_to_client(f, out, (size_t)n);
}

static void tf_op(struct tf *f, uint8_t op, const uint8_t *p, size_t len)
{
    uint8_t out[2048];

    switch (op % 8) {
    case 0:
    case 1:
        tf_pump(f);
        break;
    case 2:
        tf_to_client(f, p, len);
        break;
    case 3:
        tf_from_peer(f, p, len);
        break;
    case 4:
        (void)floe_turn_encapsulate(f->t, f->now, &f->peer, p, len, out, sizeof(out));
        break;
    case 5:
        f->now += FLOE_MS(len ? p[0] : 1) * 500;
        floe_turn_handle_timeout(f->t, f->now);
        floe_relay_handle_timeout(f->r, f->now);
        break;
    case 6:
        (void)floe_turn_reset(f->t, f->now);
        break;
    default:
        (void)floe_turn_close(f->t, f->now);
        break;
    }
}

static int tf_setup(struct tf *f)
{
    struct floe_relay_config rc;
    struct floe_turn_config tc;

    memset(f, 0, sizeof(*f));
    floe_xoshiro_seed(&f->x, 11);
    f->server = floe_addr_v4(192, 0, 2, 1, 3478);
    f->client = floe_addr_v4(198, 51, 100, 1, 4000);
    f->peer = floe_addr_v4(203, 0, 113, 9, 9000);
    floe_relay_config_default(&rc);
    rc.rng = floe_xoshiro_rng(&f->x);
    rc.relay_v4 = floe_addr_v4(192, 0, 2, 1, 0);
    rc.users[0].name = "alice";
    rc.users[0].password = "secret";
    rc.n_users = 1;
    rc.max_allocations = 4;
    floe_turn_config_default(&tc);
    tc.rng = floe_xoshiro_rng(&f->x);
    tc.server = f->server;
    tc.username = "alice";
    tc.password = "secret";
    tc.max_peers = 4;
    if (floe_relay_new(&f->r, &rc) < 0 || floe_turn_new(&f->t, &tc) < 0)
        return -1;
    return floe_turn_allocate(f->t, f->now) < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tf f;
    size_t i = 0;

    if (tf_setup(&f) != 0)
        abort();
    while (i + 2 <= size) {
        uint8_t op = data[i], n = data[i + 1];
        size_t len = n < size - i - 2 ? n : size - i - 2;

        tf_op(&f, op, data + i + 2, len);
        i += 2 + len;
    }
    floe_turn_free(f.t);
    floe_relay_free(f.r);
    return 0;
}
