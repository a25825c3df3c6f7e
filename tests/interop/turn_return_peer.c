/*
 * turn_return_peer: the TURN client back on the 5-tuple of an allocation the server still
 * holds, against a real server (tests/interop/turn_return_test.sh: coturn and floe-relay).
 * It allocates from one UDP socket, resets the client (as a roam back to a network whose
 * NAT gives the old mapping does) and allocates again from the same socket: the server
 * answers 437, the client sends the deletion and the Allocate in one flight. Then the new
 * allocation must carry a message to the echo peer and back, a second later too (no late
 * deletion undid it).
 *
 *   turn_return_peer SERVER_PORT USER PASSWORD PEER_PORT
 *
 * Prints one line: "437s N allocates N refreshes N echo ok"; exit 0 when the echo came
 * back through the new allocation, 1 otherwise (with the reason on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/crypto.h"
#include "floe/turn.h"
#include "floe_io.h"

struct peer_run {
    struct floe_turn *t;
    int fd;
    struct floe_addr peer, server;
    unsigned n437, allocates, refreshes;
    bool echoed;
};

static int run_fail(const char *why)
{
    fprintf(stderr, "turn_return_peer: %s\n", why);
    return 1;
}

/* Count what goes out, then send it. */
static void run_flush(struct peer_run *r)
{
    uint8_t buf[FLOE_TURN_TRANSMIT_MAX];
    struct floe_turn_event ev;
    struct floe_stun_msg msg;
    struct floe_addr to;
    long n;

    while ((n = floe_turn_poll_transmit(r->t, floe_io_now(), buf, sizeof(buf), &to)) > 0) {
        if (floe_stun_decode(&msg, buf, (size_t)n) == 0 && msg.cls == FLOE_STUN_REQUEST) {
            r->allocates += msg.method == FLOE_STUN_ALLOCATE;
            r->refreshes += msg.method == FLOE_STUN_REFRESH;
        }
        (void)floe_io_udp_send(r->fd, &to, buf, (size_t)n);
    }
    while (floe_turn_poll_event(r->t, &ev) == 1)
        ;
}

static void run_input(struct peer_run *r, const uint8_t *buf, size_t len,
                      const struct floe_addr *from)
{
    struct floe_stun_msg msg;
    struct floe_addr peer;
    struct floe_span data, reason;
    int code;

    if (floe_stun_decode(&msg, buf, len) == 0 && msg.cls == FLOE_STUN_ERROR &&
        floe_stun_get_error(&msg, &code, &reason) == 0 && code == 437)
        r->n437++;
    if (floe_turn_handle_input(r->t, floe_io_now(), from, buf, len, &peer, &data) ==
            FLOE_TURN_INPUT_DATA &&
        data.len == 4 && memcmp(data.ptr, "back", 4) == 0)
        r->echoed = true;
}

/* Drive the client for `d` or until allocated (want_alloc) or echoed. */
static void run_for(struct peer_run *r, floe_time d, bool want_alloc)
{
    floe_time until = floe_io_now() + d;
    uint8_t buf[2048];
    struct floe_addr from;
    long n;

    for (;;) {
        run_flush(r);
        if ((want_alloc && floe_turn_get_state(r->t) == FLOE_TURN_ALLOCATED) || r->echoed ||
            floe_io_now() >= until)
            return;
        n = floe_io_udp_recv(r->fd, buf, sizeof(buf), &from,
                             floe_time_min(floe_turn_poll_timeout(r->t), until));
        if (n == FLOE_ERR_TIMEOUT)
            floe_turn_handle_timeout(r->t, floe_io_now());
        else if (n > 0)
            run_input(r, buf, (size_t)n, &from);
    }
}

/* Send "back" to the echo peer through the allocation, up to 5 times, until it returns. */
static bool run_echo(struct peer_run *r)
{
    uint8_t out[256];
    int i;
    long n;

    r->echoed = false;
    for (i = 0; i < 5 && !r->echoed; i++) {
        n = floe_turn_encapsulate(r->t, floe_io_now(), &r->peer, (const uint8_t *)"back", 4, out,
                                  sizeof(out));
        if (n > 0)
            (void)floe_io_udp_send(r->fd, &r->server, out, (size_t)n);
        run_for(r, FLOE_MS(400), false);
    }
    return r->echoed;
}

int main(int argc, char **argv)
{
    struct floe_turn_config cfg;
    struct floe_addr local = {.family = FLOE_AF_INET};
    struct peer_run r;

    if (argc != 5)
        return run_fail("usage: turn_return_peer SERVER_PORT USER PASSWORD PEER_PORT");
    memset(&r, 0, sizeof(r));
    floe_turn_config_default(&cfg);
    cfg.rng = floe_crypto_rng();
    cfg.server = floe_addr_v4(127, 0, 0, 1, (uint16_t)atoi(argv[1]));
    cfg.username = argv[2];
    cfg.password = argv[3];
    cfg.rto_min = FLOE_MS(10);
    r.peer = floe_addr_v4(127, 0, 0, 1, (uint16_t)atoi(argv[4]));
    r.server = cfg.server;
    r.fd = floe_io_udp_open(&local);
    if (r.fd < 0 || floe_turn_new(&r.t, &cfg) != 0 || floe_turn_allocate(r.t, floe_io_now()) != 0)
        return run_fail("cannot start the client");
    run_for(&r, FLOE_SEC(5), true);
    if (floe_turn_get_state(r.t) != FLOE_TURN_ALLOCATED)
        return run_fail("no first allocation");
    r.allocates = r.refreshes = 0;
    (void)floe_turn_reset(r.t, floe_io_now()); /* back on the same 5-tuple */
    run_for(&r, FLOE_SEC(5), true);
    if (floe_turn_get_state(r.t) != FLOE_TURN_ALLOCATED)
        return run_fail("no allocation after the reset");
    run_for(&r, FLOE_SEC(1), false);
    if (floe_turn_get_state(r.t) != FLOE_TURN_ALLOCATED || !run_echo(&r))
        return run_fail("the new allocation does not carry data");
    printf("437s %u allocates %u refreshes %u echo ok\n", r.n437, r.allocates, r.refreshes);
    (void)floe_turn_close(r.t, floe_io_now());
    run_for(&r, FLOE_MS(500), false);
    floe_turn_free(r.t);
    floe_io_close(r.fd);
    return 0;
}
