/*
 * WebSocket framing (RFC 6455 section 5) with our own codec (ws_frame.h): the
 * receiver reads frames from the plaintext buffer wsin, frames we send go
 * straight into the plaintext buffer out; no socket is touched. Messages are
 * reassembled up to max_message, pings answered, and protocol errors close
 * with 1002 (protocol errors), 1007 (bad UTF-8) or 1009 (too big).
 */
#include <stdio.h>
#include <string.h>

#include "wire_int.h"

static bool wire_mq_full(const struct floe_wsconn *c)
{
    return c->mq_bytes >= c->cfg.max_queued || c->mq_count >= WIRE_MESSAGE_COUNT;
}

/* Frame payload[0..len) as one final frame into out, masked when we are the client. */
static int wire_ws_send_frame(struct floe_wsconn *c, uint8_t op, const uint8_t *payload, size_t len)
{
    uint8_t h[FLOE_WS_HEADER_MAX], mask[4];
    bool masked = c->cfg.role == FLOE_WSCONN_CLIENT;
    size_t hl;

    if (masked && floe_rng_fill(&c->cfg.rng, mask, sizeof(mask)) < 0)
        return FLOE_ERR_CRYPTO;
    hl = floe__ws_header_encode(h, true, op, masked ? mask : NULL, len);
    if (floe__wire_buf_append(c, &c->out, h, hl) < 0 ||
        floe__wire_buf_append(c, &c->out, payload, len) < 0)
        return FLOE_ERR_NOMEM;
    if (masked && len)
        floe__ws_mask(c->out.data + c->out.len - len, len, mask, 0);
    c->stats.frames_out++;
    return 0;
}

int floe__wire_ws_new(struct floe_wsconn *c)
{
    if (c->ws_on)
        return 0;
    floe__ws_rx_init(&c->rx, &c->cfg.alloc, c->cfg.max_message, c->cfg.role == FLOE_WSCONN_SERVER);
    c->ws_on = true;
    return 0;
}

void floe__wire_ws_free(struct floe_wsconn *c)
{
    if (c->ws_on)
        floe__ws_rx_deinit(&c->rx);
    c->ws_on = false;
}

int floe__wire_ws_send_text(struct floe_wsconn *c, const char *msg, size_t len)
{
    return wire_ws_send_frame(c, FLOE_WS_OP_TEXT, (const uint8_t *)msg, len);
}

/* ----------------------------------------------------------------- closing */

/* Our close frame (once): code, and the reason cut to 123 bytes. */
void floe__wire_frame_close(struct floe_wsconn *c, uint16_t code, const char *reason)
{
    uint8_t p[FLOE_WS_CONTROL_MAX];
    size_t rl = reason ? strlen(reason) : 0;

    if (!c->ws_on || c->close_sent)
        return;
    c->close_sent = true;
    if (rl > FLOE_WS_CONTROL_MAX - 2)
        rl = FLOE_WS_CONTROL_MAX - 2;
    floe_store_be16(p, code);
    memcpy(p + 2, reason, rl);
    (void)wire_ws_send_frame(c, FLOE_WS_OP_CLOSE, p, 2 + rl);
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
    if (c->close_sent)
        return 0;
    floe__wire_frame_close(c, code, c->close_reason);
    return 0;
}

int floe__wire_ws_ping(struct floe_wsconn *c)
{
    return wire_ws_send_frame(c, FLOE_WS_OP_PING, (const uint8_t *)"floe", 4);
}

/* ----------------------------------------------------------------- receive */

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

/* The peer's close frame: the end of our close handshake, or the start of its own. */
static void wire_ws_peer_close(struct floe_wsconn *c, const struct floe__ws_rx_item *it)
{
    uint8_t echo[2];

    c->close_received = true;
    c->peer_code = it->code;
    floe__wire_copy_text(c->peer_reason, sizeof(c->peer_reason), (const char *)it->data, it->len);
    if (c->close_sent) {
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, c->close_code, c->close_reason);
        return;
    }
    c->close_sent = true; /* the answer says the code back, or nothing when it had none */
    floe_store_be16(echo, it->code);
    (void)wire_ws_send_frame(c, FLOE_WS_OP_CLOSE, echo,
                             it->code == FLOE_WS_CLOSE_NO_STATUS ? 0 : sizeof(echo));
    floe__wire_closed(c, 0, FLOE_WSCONN_BY_PEER, c->peer_code, c->peer_reason);
}

/* The codec refused the input: count why and fail with its close code. */
static void wire_ws_protocol_close(struct floe_wsconn *c, const struct floe__ws_rx_item *it)
{
    enum floe_wsconn_drop drop = FLOE_WSCONN_DROP_WS_PROTOCOL;
    char text[FLOE_WSCONN_TEXT_MAX];

    if (it->err == FLOE_ERR_NOMEM) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return;
    }
    if (it->code == FLOE_WS_CLOSE_TOO_BIG) {
        drop = FLOE_WSCONN_DROP_WS_TOO_BIG;
        snprintf(text, sizeof(text), "WebSocket: message over %llu bytes",
                 (unsigned long long)c->cfg.max_message);
    } else if (it->code == FLOE_WS_CLOSE_INVALID_PAYLOAD) {
        drop = FLOE_WSCONN_DROP_WS_UTF8;
        snprintf(text, sizeof(text), "WebSocket: text that is not UTF-8");
    } else {
        snprintf(text, sizeof(text), "WebSocket: protocol error");
    }
    c->stats.drops[drop]++;
    floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_LOCAL, it->code, text);
}

static void wire_ws_item(struct floe_wsconn *c, const struct floe__ws_rx_item *it)
{
    switch (it->kind) {
    case FLOE__WS_RX_TEXT:
        wire_ws_text(c, it->data, it->len);
        break;
    case FLOE__WS_RX_BINARY:
        c->stats.drops[FLOE_WSCONN_DROP_BINARY]++;
        break;
    case FLOE__WS_RX_PING:
        c->stats.pings_received++;
        if (!c->close_sent && wire_ws_send_frame(c, FLOE_WS_OP_PONG, it->data, it->len) < 0)
            floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                            "out of memory");
        break;
    case FLOE__WS_RX_PONG:
        c->stats.pongs_received++;
        break;
    case FLOE__WS_RX_CLOSE:
        wire_ws_peer_close(c, it);
        break;
    case FLOE__WS_RX_ERROR:
        wire_ws_protocol_close(c, it);
        break;
    case FLOE__WS_RX_NONE:
    default:
        break;
    }
}

/* Read what wsin holds (until the queue of messages is full), then flush TLS. */
void floe__wire_ws_pump(struct floe_wsconn *c)
{
    struct floe__ws_rx_item it;
    uint64_t frames;
    size_t n;

    if (!c->ws_on || c->state == FLOE_WSCONN_CLOSED || c->state == FLOE_WSCONN_REQUEST)
        return;
    while (c->state != FLOE_WSCONN_CLOSED && !c->close_received &&
           floe__wire_buf_pending(&c->wsin) && !wire_mq_full(c)) {
        frames = c->rx.frames;
        n = floe__ws_rx_feed(&c->rx, c->wsin.data + c->wsin.off, floe__wire_buf_pending(&c->wsin),
                             &it);
        floe__wire_buf_consume(c, &c->wsin, n);
        c->stats.frames_in += c->rx.frames - frames;
        wire_ws_item(c, &it);
        if (it.kind == FLOE__WS_RX_NONE)
            break;
    }
    floe__wire_tls_flush(c);
}

/* ------------------------------------------------------------------- UTF-8 */

bool floe__wire_utf8_valid(const uint8_t *p, size_t n)
{
    return floe__ws_utf8_valid(p, n);
}
