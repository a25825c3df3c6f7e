/*
 * libFuzzer target for the portal wire transport's HTTP/1.1 upgrade, both
 * roles. The first byte chooses the role, how the bytes are split and what a
 * server does with a request (accept or answer 401); the rest is the peer's
 * byte stream. For the client role, "@ACCEPT@" in the input is replaced by the
 * Sec-WebSocket-Accept value that matches the key the client sent, so the
 * fuzzer also reaches an open connection and its first frames. Invariants: no
 * crash, no leak, ERROR is always followed by CLOSED, a parsed request's
 * fields are strings, and nothing is sent or received past the bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/portal_wire.h"
#include "portal/wire_int.h"

struct hf {
    struct floe_wsconn *c;
    struct floe_xoshiro x;
    uint8_t flags;
    bool error_seen;
};

static void hf_check_request(const struct floe_wsconn_request *rq)
{
    if (!rq || !rq->method || !rq->path || !rq->query || !rq->token || !rq->host ||
        !rq->user_agent || rq->n_headers > FLOE_WSCONN_HEADERS_MAX)
        abort();
}

static void hf_events(struct hf *f, floe_time now)
{
    struct floe_wsconn_event ev;
    struct floe_span m;
    const uint8_t body[] = "unauthorized";

    while (floe_wsconn_poll_event(f->c, &ev)) {
        if (ev.kind == FLOE_WSCONN_EV_ERROR)
            f->error_seen = true;
        if (ev.kind == FLOE_WSCONN_EV_CLOSED)
            f->error_seen = false;
        if (ev.kind != FLOE_WSCONN_EV_REQUEST)
            continue;
        hf_check_request(floe_wsconn_request(f->c));
        if (f->flags & 0x20)
            (void)floe_wsconn_respond(f->c, now, 401, NULL, body, sizeof(body) - 1);
        else if (floe_wsconn_accept(f->c, now) == 0)
            (void)floe_wsconn_send_text(f->c, now, "{}", 2);
    }
    if (f->error_seen)
        abort(); /* an ERROR without its CLOSED */
    if (floe_wsconn_request(f->c))
        hf_check_request(floe_wsconn_request(f->c)); /* whole whenever it is given */
    while (floe_wsconn_poll_message(f->c, &m))
        if (m.len > FLOE_WSCONN_HEAD_MAX * 2)
            abort();
}

static void hf_drain(struct hf *f, floe_time now)
{
    uint8_t out[4096];
    long n;

    while ((n = floe_wsconn_poll_transmit(f->c, now, out, sizeof(out))) > 0)
        if ((size_t)n > sizeof(out))
            abort();
}

/* The client's key from its request, and the input with @ACCEPT@ replaced. */
static size_t hf_client_input(struct hf *f, const uint8_t *in, size_t len, uint8_t *out)
{
    char req[4096], accept[WIRE_ACCEPT_LEN + 1] = "", *k;
    long n = floe_wsconn_poll_transmit(f->c, 0, (uint8_t *)req, sizeof(req) - 1);
    size_t i = 0, o = 0;

    req[n > 0 ? n : 0] = '\0';
    k = strstr(req, "Sec-WebSocket-Key: ");
    if (k && strlen(k) >= 19 + WIRE_KEY_LEN) {
        k[19 + WIRE_KEY_LEN] = '\0';
        (void)floe__wire_accept_key(accept, k + 19);
    }
    while (i < len) {
        if (accept[0] && i + 8 <= len && memcmp(in + i, "@ACCEPT@", 8) == 0) {
            memcpy(out + o, accept, WIRE_ACCEPT_LEN);
            o += WIRE_ACCEPT_LEN;
            i += 8;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}

static const size_t hf_chunks[8] = {1, 2, 3, 7, 64, 500, 4096, 1 << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct floe_wsconn_config cfg;
    struct hf f;
    uint8_t *in;
    size_t len, off, k, chunk;

    if (size < 1 || size > 65536)
        return 0;
    memset(&f, 0, sizeof(f));
    f.flags = data[0];
    floe_xoshiro_seed(&f.x, 1);
    floe_wsconn_config_default(&cfg);
    cfg.role = (f.flags & 1) ? FLOE_WSCONN_CLIENT : FLOE_WSCONN_SERVER;
    cfg.rng = floe_xoshiro_rng(&f.x);
    cfg.host = "portal.test";
    cfg.token = "t";
    cfg.max_message = 4096;
    cfg.max_queued = 8192;
    if (floe_wsconn_new(&f.c, &cfg) < 0)
        abort();
    (void)floe_wsconn_start(f.c, 1);
    in = malloc(size * 4 + 1);
    if (!in)
        abort();
    if (cfg.role == FLOE_WSCONN_CLIENT) {
        len = hf_client_input(&f, data + 1, size - 1, in);
    } else {
        memcpy(in, data + 1, size - 1);
        len = size - 1;
    }
    chunk = hf_chunks[(f.flags >> 2) & 7];
    for (off = 0; off < len; off += k) {
        k = len - off < chunk ? len - off : chunk;
        (void)floe_wsconn_handle_input(f.c, 2, in + off, k);
        hf_events(&f, 2);
        hf_drain(&f, 2);
    }
    floe_wsconn_handle_timeout(f.c, FLOE_SEC(60));
    floe_wsconn_handle_eof(f.c, FLOE_SEC(61));
    hf_events(&f, FLOE_SEC(61));
    hf_drain(&f, FLOE_SEC(61));
    if (floe_wsconn_state(f.c) != FLOE_WSCONN_CLOSED)
        abort(); /* end of file closes whatever state it was in */
    floe_wsconn_free(f.c);
    free(in);
    return 0;
}
