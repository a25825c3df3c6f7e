/*
 * libFuzzer target for the portal wire transport's frame decoder: a client
 * and a server connection upgraded in memory, then a script of records (an op
 * byte, a length byte and that many bytes). Ops: feed the bytes to the
 * server (as the client's frames) or to the client (as the server's); send
 * them as a text message from either side; close either side with a code
 * taken from the bytes; let time pass; deliver the traffic between the two.
 * Invariants: no crash, no leak, ERROR is always followed by CLOSED, no
 * message over max_message, and a connection that reports CLOSED stays so.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/portal_wire.h"

#define WF_MAX_MESSAGE 4096

struct wf_end {
    struct floe_wsconn *c;
    bool closed, error_open;
};

struct wf {
    struct wf_end e[2]; /* 0 server, 1 client */
    struct floe_xoshiro x;
    floe_time now;
};

static void wf_events(struct wf *f, struct wf_end *e)
{
    struct floe_wsconn_event ev;
    struct floe_span m;

    while (floe_wsconn_poll_event(e->c, &ev)) {
        if (e->closed)
            abort(); /* nothing after CLOSED */
        if (ev.kind == FLOE_WSCONN_EV_REQUEST && floe_wsconn_accept(e->c, f->now) < 0)
            abort();
        e->error_open = ev.kind == FLOE_WSCONN_EV_ERROR;
        e->closed = ev.kind == FLOE_WSCONN_EV_CLOSED;
    }
    if (e->error_open)
        abort();
    if (e->closed != (floe_wsconn_state(e->c) == FLOE_WSCONN_CLOSED))
        abort();
    while (floe_wsconn_poll_message(e->c, &m))
        if (m.len > WF_MAX_MESSAGE)
            abort();
}

/* Deliver what each side has to send to the other, until neither has any. */
static void wf_deliver(struct wf *f)
{
    uint8_t buf[8192];
    long n;
    int i, rounds;

    for (rounds = 0; rounds < 64; rounds++) {
        bool moved = false;

        for (i = 0; i < 2; i++) {
            while ((n = floe_wsconn_poll_transmit(f->e[i].c, f->now, buf, sizeof(buf))) > 0) {
                moved = true;
                (void)floe_wsconn_handle_input(f->e[1 - i].c, f->now, buf, (size_t)n);
                wf_events(f, &f->e[1 - i]);
            }
            wf_events(f, &f->e[i]);
        }
        if (!moved)
            return;
    }
}

static int wf_setup(struct wf *f)
{
    struct floe_wsconn_config cfg;
    int i;

    memset(f, 0, sizeof(*f));
    floe_xoshiro_seed(&f->x, 2);
    for (i = 0; i < 2; i++) {
        floe_wsconn_config_default(&cfg);
        cfg.role = i ? FLOE_WSCONN_CLIENT : FLOE_WSCONN_SERVER;
        cfg.rng = floe_xoshiro_rng(&f->x);
        cfg.host = "portal.test";
        cfg.max_message = WF_MAX_MESSAGE;
        cfg.max_queued = WF_MAX_MESSAGE * 2;
        cfg.max_send_queue = WF_MAX_MESSAGE * 4;
        cfg.ping_interval = FLOE_SEC(5);
        if (floe_wsconn_new(&f->e[i].c, &cfg) < 0)
            return -1;
        (void)floe_wsconn_start(f->e[i].c, 1);
    }
    f->now = 1;
    wf_deliver(f);
    return floe_wsconn_state(f->e[1].c) == FLOE_WSCONN_OPEN ? 0 : -1;
}

static void wf_op(struct wf *f, uint8_t op, const uint8_t *b, size_t n)
{
    struct wf_end *e = &f->e[(op >> 4) & 1];

    switch (op % 6) {
    case 0:
    case 1:
        (void)floe_wsconn_handle_input(e->c, f->now, b, n);
        break;
    case 2:
        (void)floe_wsconn_send_text(e->c, f->now, (const char *)b, n);
        break;
    case 3:
        (void)floe_wsconn_close(e->c, f->now, n >= 2 ? floe_load_be16(b) : 1000, "fuzz");
        break;
    case 4:
        f->now += FLOE_SEC(n);
        floe_wsconn_handle_timeout(f->e[0].c, f->now);
        floe_wsconn_handle_timeout(f->e[1].c, f->now);
        break;
    default:
        wf_deliver(f);
        break;
    }
    wf_events(f, &f->e[0]);
    wf_events(f, &f->e[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wf f;
    size_t off = 0, n;

    if (size > 65536)
        return 0;
    if (wf_setup(&f) < 0)
        abort();
    while (off + 2 <= size) {
        n = data[off + 1];
        if (n > size - off - 2)
            n = size - off - 2;
        wf_op(&f, data[off], data + off + 2, n);
        off += 2 + n;
    }
    wf_deliver(&f);
    floe_wsconn_free(f.e[0].c);
    floe_wsconn_free(f.e[1].c);
    return 0;
}
