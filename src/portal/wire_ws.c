/*
 * WebSocket framing (RFC 6455 section 5) with wslay's event API: wslay reads
 * frames from the plaintext buffer wsin and writes them into the plaintext
 * buffer out through the callbacks below, never touching a socket. It
 * reassembles fragmented messages up to max_message, answers pings, and
 * closes with 1002 (protocol errors), 1007 (bad UTF-8) or 1009 (too big).
 */
#include <stdio.h>
#include <string.h>

#include "wire_int.h"

static bool wire_mq_full(const struct floe_wsconn *c)
{
    return c->mq_bytes >= c->cfg.max_queued || c->mq_count >= WIRE_MESSAGE_COUNT;
}

static ssize_t wire_ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                            void *user)
{
    struct floe_wsconn *c = user;
    size_t n = floe__wire_buf_pending(&c->wsin);

    (void)flags;
    if (!n || wire_mq_full(c) || c->state == FLOE_WSCONN_CLOSED) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, c->wsin.data + c->wsin.off, n);
    floe__wire_buf_consume(c, &c->wsin, n);
    return (ssize_t)n;
}

static ssize_t wire_ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                            void *user)
{
    struct floe_wsconn *c = user;

    (void)flags;
    if (floe__wire_buf_append(c, &c->out, data, len) < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int wire_ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    struct floe_wsconn *c = user;

    (void)ctx;
    return floe_rng_fill(&c->cfg.rng, buf, len) < 0 ? -1 : 0;
}

static void wire_ws_frame_start(wslay_event_context_ptr ctx,
                                const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    struct floe_wsconn *c = user;

    (void)ctx;
    (void)arg;
    c->stats.frames_in++;
}

static void wire_ws_text(struct floe_wsconn *c, const uint8_t *msg, size_t len)
{
    struct wire_msg *m = floe_mem_malloc(&c->cfg.alloc, sizeof(*m) + len);

    if (!m) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->data, msg, len);
    if (c->mq_tail)
        c->mq_tail->next = m;
    else
        c->mq_head = m;
    c->mq_tail = m;
    c->mq_bytes += len;
    c->mq_count++;
    c->stats.messages_in++;
}

static void wire_ws_peer_close(struct floe_wsconn *c, const struct wslay_event_on_msg_recv_arg *arg)
{
    c->peer_code = arg->status_code ? arg->status_code : FLOE_WS_CLOSE_NO_STATUS;
    c->peer_reason[0] = '\0';
    if (arg->msg_length > 2)
        floe__wire_copy_text(c->peer_reason, sizeof(c->peer_reason), (const char *)arg->msg + 2,
                             arg->msg_length - 2);
}

static void wire_ws_message(wslay_event_context_ptr ctx,
                            const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    struct floe_wsconn *c = user;

    (void)ctx;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
        wire_ws_text(c, arg->msg, arg->msg_length);
        break;
    case WSLAY_BINARY_FRAME:
        c->stats.drops[FLOE_WSCONN_DROP_BINARY]++;
        break;
    case WSLAY_PING:
        c->stats.pings_received++;
        break;
    case WSLAY_PONG:
        c->stats.pongs_received++;
        break;
    case WSLAY_CONNECTION_CLOSE:
        wire_ws_peer_close(c, arg);
        break;
    default:
        break;
    }
}

int floe__wire_ws_new(struct floe_wsconn *c)
{
    struct wslay_event_callbacks cb = {
        wire_ws_recv, wire_ws_send, wire_ws_genmask, wire_ws_frame_start,
        NULL,         NULL,         wire_ws_message,
    };
    int r;

    if (c->ws)
        return 0;
    if (c->cfg.role == FLOE_WSCONN_SERVER)
        r = wslay_event_context_server_init(&c->ws, &cb, c);
    else
        r = wslay_event_context_client_init(&c->ws, &cb, c);
    if (r != 0) {
        c->ws = NULL;
        return FLOE_ERR_NOMEM;
    }
    wslay_event_config_set_max_recv_msg_length(c->ws, c->cfg.max_message);
    return 0;
}

void floe__wire_ws_free(struct floe_wsconn *c)
{
    if (c->ws)
        wslay_event_context_free(c->ws);
    c->ws = NULL;
}

/* ----------------------------------------------------------------- closing */

/* wslay closed by itself (it read a frame breaking the rules): count why and fail. */
static void wire_ws_protocol_close(struct floe_wsconn *c)
{
    uint16_t code = wslay_event_get_status_code_sent(c->ws);
    enum floe_wsconn_drop drop = FLOE_WSCONN_DROP_WS_PROTOCOL;
    char text[FLOE_WSCONN_TEXT_MAX];

    if (code == FLOE_WS_CLOSE_TOO_BIG) {
        drop = FLOE_WSCONN_DROP_WS_TOO_BIG;
        snprintf(text, sizeof(text), "WebSocket: message over %llu bytes",
                 (unsigned long long)c->cfg.max_message);
    } else if (code == FLOE_WS_CLOSE_INVALID_PAYLOAD) {
        drop = FLOE_WSCONN_DROP_WS_UTF8;
        snprintf(text, sizeof(text), "WebSocket: text that is not UTF-8");
    } else {
        code = FLOE_WS_CLOSE_PROTOCOL_ERROR;
        snprintf(text, sizeof(text), "WebSocket: protocol error");
    }
    c->stats.drops[drop]++;
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_LOCAL, code, text);
}

/* After a send: has a close frame gone out, and what does it end? True when CLOSED. */
static bool wire_ws_check_close(struct floe_wsconn *c)
{
    if (!wslay_event_get_close_sent(c->ws))
        return false;
    if (c->local_close) {
        if (!wslay_event_get_close_received(c->ws))
            return false;
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, c->close_code, c->close_reason);
        return true;
    }
    if (wslay_event_get_close_received(c->ws)) {
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_PEER, c->peer_code, c->peer_reason);
        return true;
    }
    wire_ws_protocol_close(c);
    return true;
}

/* Write a close frame of our own (wslay's writer is shut first): failures, frame errors. */
void floe__wire_frame_close(struct floe_wsconn *c, uint16_t code, const char *reason)
{
    uint8_t f[2 + 4 + 125], mask[4];
    size_t rl = reason ? strlen(reason) : 0, hl, i;
    bool masked = c->cfg.role == FLOE_WSCONN_CLIENT;

    if (!c->ws || wslay_event_get_close_sent(c->ws))
        return;
    wslay_event_shutdown_write(c->ws);
    if (rl > 123)
        rl = 123;
    hl = masked ? 6 : 2;
    f[0] = 0x88; /* FIN, opcode close */
    f[1] = (uint8_t)((masked ? 0x80 : 0) | (2 + rl));
    memset(mask, 0, sizeof(mask));
    if (masked && floe_rng_fill(&c->cfg.rng, mask, sizeof(mask)) < 0)
        return;
    memcpy(f + 2, mask, masked ? 4 : 0);
    floe_store_be16(f + hl, code);
    memcpy(f + hl + 2, reason, rl);
    for (i = 0; masked && i < 2 + rl; i++)
        f[hl + i] ^= mask[i % 4];
    if (floe__wire_buf_append(c, &c->out, f, hl + 2 + rl) == 0)
        c->stats.frames_out++;
}

/* Longest prefix of s (at most max bytes) that ends on a UTF-8 character boundary. */
static size_t wire_utf8_prefix(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n <= max)
        return n;
    n = max;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int floe__wire_ws_close(struct floe_wsconn *c, uint16_t code, const char *reason)
{
    size_t rl = wire_utf8_prefix(reason, FLOE_WSCONN_REASON_MAX - 1);

    c->close_code = code;
    memcpy(c->close_reason, reason ? reason : "", rl);
    c->close_reason[rl] = '\0';
    if (!floe__wire_utf8_valid((const uint8_t *)c->close_reason, rl))
        return FLOE_ERR_INVALID_ARG;
    if (wslay_event_queue_close(c->ws, code, (const uint8_t *)c->close_reason, rl) != 0)
        return FLOE_ERR_NOMEM;
    return 0;
}

int floe__wire_ws_ping(struct floe_wsconn *c)
{
    struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"floe", 4};

    return wslay_event_queue_msg(c->ws, &m) == 0 ? 0 : FLOE_ERR_NOMEM;
}

/* ------------------------------------------------------------------- pump */

static void wire_ws_recv_failed(struct floe_wsconn *c, int r)
{
    if (r == WSLAY_ERR_NOMEM) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    /* A frame the frame layer refused (control frame too long or fragmented, bad length):
     * wslay queued a close without a code; ours says 1002. */
    c->stats.drops[FLOE_WSCONN_DROP_WS_PROTOCOL]++;
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_PROTOCOL_ERROR,
                    "WebSocket: protocol error");
}

/* Read what wsin holds, frame what is queued, and see whether that closed the connection. */
void floe__wire_ws_pump(struct floe_wsconn *c)
{
    size_t before;
    int r;

    if (!c->ws || c->state == FLOE_WSCONN_CLOSED || c->state == FLOE_WSCONN_REQUEST)
        return;
    if (wslay_event_want_read(c->ws) && floe__wire_buf_pending(&c->wsin) && !wire_mq_full(c)) {
        r = wslay_event_recv(c->ws);
        if (r != 0) {
            wire_ws_recv_failed(c, r);
            return;
        }
    }
    if (c->state != FLOE_WSCONN_CLOSED && wslay_event_want_write(c->ws)) {
        before = wslay_event_get_queued_msg_count(c->ws);
        r = wslay_event_send(c->ws);
        c->stats.frames_out += before - wslay_event_get_queued_msg_count(c->ws);
        if (r != 0) {
            floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                            "out of memory");
            return;
        }
    }
    if (c->state != FLOE_WSCONN_CLOSED)
        (void)wire_ws_check_close(c);
    floe__wire_tls_flush(c);
}

/* ------------------------------------------------------------------- UTF-8 */

/* Length of the UTF-8 sequence at p[0..n), or 0 when it is not valid (RFC 3629). */
static size_t wire_utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    size_t len, i;
    uint8_t lo = 0x80, hi = 0xBF;

    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        len = 3;
    else if (b >= 0xF0 && b <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    if (b == 0xE0)
        lo = 0xA0; /* overlong */
    else if (b == 0xED)
        hi = 0x9F; /* surrogates */
    else if (b == 0xF0)
        lo = 0x90; /* overlong */
    else if (b == 0xF4)
        hi = 0x8F; /* over U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

bool floe__wire_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = wire_utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}
