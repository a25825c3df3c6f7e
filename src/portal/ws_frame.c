/*
 * RFC 6455 section 5 frame codec: headers, masking, UTF-8, and the bounded
 * receiver that reassembles messages (ws_frame.h).
 */
#include <string.h>

#include "ws_frame.h"

#define WS_FIN 0x80u
#define WS_RSV 0x70u
#define WS_MASK_BIT 0x80u
#define WS_LEN16 126u      /* section 5.2: a 16-bit length follows */
#define WS_LEN64 127u      /* a 64-bit length follows */
#define WS_MSG_KEEP 65536u /* a message buffer larger than this is given back after use */

/* ------------------------------------------------------------------ header */

/* Header size announced by its first two bytes (2 while fewer are known). */
static size_t ws_header_size(const uint8_t *p, size_t n)
{
    size_t len7, size = 2;

    if (n < 2)
        return 2;
    len7 = p[1] & 0x7Fu;
    if (len7 == WS_LEN16)
        size += 2;
    else if (len7 == WS_LEN64)
        size += 8;
    if (p[1] & WS_MASK_BIT)
        size += 4;
    return size;
}

int floe__ws_header_decode(struct floe__ws_header *h, const uint8_t *p, size_t n)
{
    size_t size = ws_header_size(p, n), at = 2, len7;

    if (n < 2 || n < size)
        return 0;
    h->fin = (p[0] & WS_FIN) != 0;
    h->rsv = (uint8_t)((p[0] & WS_RSV) >> 4);
    h->opcode = (uint8_t)(p[0] & 0x0Fu);
    h->masked = (p[1] & WS_MASK_BIT) != 0;
    len7 = p[1] & 0x7Fu;
    if (len7 == WS_LEN16) {
        h->len = floe_load_be16(p + 2);
        at += 2;
    } else if (len7 == WS_LEN64) {
        h->len = floe_load_be64(p + 2);
        at += 8;
        if (h->len >> 63)
            return FLOE_ERR_PROTOCOL;
    } else {
        h->len = len7;
    }
    memset(h->mask, 0, sizeof(h->mask));
    if (h->masked)
        memcpy(h->mask, p + at, 4);
    return (int)size;
}

size_t floe__ws_header_encode(uint8_t out[FLOE_WS_HEADER_MAX], bool fin, uint8_t op,
                              const uint8_t *mask, uint64_t len)
{
    size_t at = 2;
    uint8_t mbit = mask ? (uint8_t)WS_MASK_BIT : 0;

    out[0] = (uint8_t)((fin ? WS_FIN : 0u) | (op & 0x0Fu));
    if (len < WS_LEN16) {
        out[1] = (uint8_t)(mbit | len);
    } else if (len <= UINT16_MAX) {
        out[1] = (uint8_t)(mbit | WS_LEN16);
        floe_store_be16(out + 2, (uint16_t)len);
        at += 2;
    } else {
        out[1] = (uint8_t)(mbit | WS_LEN64);
        floe_store_be64(out + 2, len);
        at += 8;
    }
    if (mask) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

void floe__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] ^= mask[(offset + i) & 3u];
}

/* ------------------------------------------------------------------- UTF-8 */

/* Length of the UTF-8 sequence at p[0..n), or 0 when it is not valid (RFC 3629). */
static size_t ws_utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xBF;
    size_t len, i;

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

bool floe__ws_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = ws_utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

bool floe__ws_close_code_valid(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

/* ---------------------------------------------------------------- receiver */

void floe__ws_rx_init(struct floe__ws_rx *rx, const struct floe_allocator *alloc,
                      size_t max_message, bool masked)
{
    memset(rx, 0, sizeof(*rx));
    rx->alloc = *alloc;
    rx->max_message = max_message;
    rx->masked = masked;
}

void floe__ws_rx_deinit(struct floe__ws_rx *rx)
{
    floe_mem_free(&rx->alloc, rx->msg);
    rx->msg = NULL;
    rx->msg_len = rx->msg_cap = 0;
}

static void ws_rx_fail(struct floe__ws_rx *rx, struct floe__ws_rx_item *out, uint16_t code, int err,
                       const char *why)
{
    memset(&rx->error, 0, sizeof(rx->error));
    rx->error.kind = FLOE__WS_RX_ERROR;
    rx->error.code = code;
    rx->error.err = err;
    rx->error.why = why;
    rx->failed = true;
    *out = rx->error;
}

static bool ws_op_is_control(uint8_t op)
{
    return (op & 0x8u) != 0;
}

/* The rules a whole header must follow (section 5.2, 5.4, 5.5); NULL when it does. */
static const char *ws_rx_header_error(const struct floe__ws_rx *rx, const struct floe__ws_header *h)
{
    uint8_t op = h->opcode;

    if (h->rsv)
        return "reserved bits set without an extension";
    if (op > FLOE_WS_OP_BINARY && op != FLOE_WS_OP_CLOSE && op != FLOE_WS_OP_PING &&
        op != FLOE_WS_OP_PONG)
        return "reserved opcode";
    if (h->masked != rx->masked)
        return rx->masked ? "unmasked frame from a client" : "masked frame from a server";
    if (ws_op_is_control(op) && (!h->fin || h->len > FLOE_WS_CONTROL_MAX))
        return "control frame fragmented or over 125 bytes";
    if (op == FLOE_WS_OP_CONT && !rx->msg_op)
        return "continuation without a message";
    if ((op == FLOE_WS_OP_TEXT || op == FLOE_WS_OP_BINARY) && rx->msg_op)
        return "new message inside a fragmented one";
    return NULL;
}

/* A whole header is in hbuf: check it; true when its payload may follow. */
static bool ws_rx_header_done(struct floe__ws_rx *rx, struct floe__ws_rx_item *out)
{
    const char *why;
    int r = floe__ws_header_decode(&rx->h, rx->hbuf, rx->hlen);

    rx->frames++;
    why = r < 0 ? "frame length over 2^63" : ws_rx_header_error(rx, &rx->h);
    if (why) {
        ws_rx_fail(rx, out, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_ERR_PROTOCOL, why);
        return false;
    }
    if (!ws_op_is_control(rx->h.opcode) && rx->h.len > rx->max_message - rx->msg_len) {
        ws_rx_fail(rx, out, FLOE_WS_CLOSE_TOO_BIG, FLOE_ERR_PROTOCOL, "message too big");
        return false;
    }
    if (rx->h.opcode == FLOE_WS_OP_TEXT || rx->h.opcode == FLOE_WS_OP_BINARY)
        rx->msg_op = rx->h.opcode;
    rx->in_payload = true;
    rx->got = 0;
    return true;
}

/* Gather header bytes from p[0..n); returns the bytes used. */
static size_t ws_rx_header(struct floe__ws_rx *rx, const uint8_t *p, size_t n,
                           struct floe__ws_rx_item *out)
{
    size_t used = 0, want, k;

    for (;;) {
        want = ws_header_size(rx->hbuf, rx->hlen);
        if (rx->hlen >= want)
            break;
        k = want - rx->hlen;
        if (k > n - used)
            k = n - used;
        if (!k)
            return used;
        memcpy(rx->hbuf + rx->hlen, p + used, k);
        rx->hlen += k;
        used += k;
    }
    (void)ws_rx_header_done(rx, out);
    return used;
}

/* Room for need more message bytes (need fits the bound: checked on the header). */
static int ws_rx_reserve(struct floe__ws_rx *rx, size_t need)
{
    size_t cap = rx->msg_cap ? rx->msg_cap : 1024;
    uint8_t *m;

    if (rx->msg_len + need <= rx->msg_cap)
        return 0;
    while (cap < rx->msg_len + need)
        cap = cap > rx->max_message / 2 ? rx->max_message : cap * 2;
    m = floe_mem_realloc(&rx->alloc, rx->msg, cap);
    if (!m)
        return FLOE_ERR_NOMEM;
    rx->msg = m;
    rx->msg_cap = cap;
    return 0;
}

/* The close frame in ctl[0..len) (section 5.5.1, 7.4). */
static void ws_rx_close(struct floe__ws_rx *rx, size_t len, struct floe__ws_rx_item *out)
{
    out->kind = FLOE__WS_RX_CLOSE;
    out->code = FLOE_WS_CLOSE_NO_STATUS;
    out->data = rx->ctl;
    out->len = 0;
    if (len == 0)
        return;
    if (len == 1 || !floe__ws_close_code_valid(floe_load_be16(rx->ctl))) {
        ws_rx_fail(rx, out, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_ERR_PROTOCOL, "bad close code");
        return;
    }
    out->code = floe_load_be16(rx->ctl);
    out->data = rx->ctl + 2;
    out->len = len - 2;
    if (!floe__ws_utf8_valid(out->data, out->len))
        ws_rx_fail(rx, out, FLOE_WS_CLOSE_INVALID_PAYLOAD, FLOE_ERR_PROTOCOL,
                   "close reason not UTF-8");
}

/* The current frame's payload is whole: hand out what it completes. */
static void ws_rx_frame_done(struct floe__ws_rx *rx, struct floe__ws_rx_item *out)
{
    uint8_t op = rx->h.opcode;

    rx->in_payload = false;
    rx->hlen = 0;
    out->data = rx->ctl;
    out->len = (size_t)rx->h.len;
    if (op == FLOE_WS_OP_PING || op == FLOE_WS_OP_PONG) {
        out->kind = op == FLOE_WS_OP_PING ? FLOE__WS_RX_PING : FLOE__WS_RX_PONG;
        return;
    }
    if (op == FLOE_WS_OP_CLOSE) {
        ws_rx_close(rx, (size_t)rx->h.len, out);
        return;
    }
    if (!rx->h.fin)
        return;
    if (rx->msg_op == FLOE_WS_OP_TEXT && !floe__ws_utf8_valid(rx->msg, rx->msg_len)) {
        ws_rx_fail(rx, out, FLOE_WS_CLOSE_INVALID_PAYLOAD, FLOE_ERR_PROTOCOL, "text not UTF-8");
        return;
    }
    out->kind = rx->msg_op == FLOE_WS_OP_TEXT ? FLOE__WS_RX_TEXT : FLOE__WS_RX_BINARY;
    out->data = rx->msg;
    out->len = rx->msg_len;
    rx->msg_op = 0;
    rx->msg_done = true;
}

/* Read payload bytes from p[0..n) into the message or ctl; returns the bytes used. */
static size_t ws_rx_payload(struct floe__ws_rx *rx, const uint8_t *p, size_t n,
                            struct floe__ws_rx_item *out)
{
    uint64_t left = rx->h.len - rx->got;
    size_t k = left < n ? (size_t)left : n;
    uint8_t *dst;

    if (ws_op_is_control(rx->h.opcode)) {
        dst = rx->ctl + rx->got;
    } else {
        if (ws_rx_reserve(rx, k) < 0) {
            ws_rx_fail(rx, out, FLOE_WS_CLOSE_ABNORMAL, FLOE_ERR_NOMEM, "out of memory");
            return 0;
        }
        dst = rx->msg ? rx->msg + rx->msg_len : NULL;
        rx->msg_len += k;
    }
    if (k) {
        memcpy(dst, p, k);
        if (rx->h.masked)
            floe__ws_mask(dst, k, rx->h.mask, rx->got);
    }
    rx->got += k;
    if (rx->got == rx->h.len)
        ws_rx_frame_done(rx, out);
    return k;
}

/* A message handed out before: its bytes are no longer borrowed. */
static void ws_rx_reset_message(struct floe__ws_rx *rx)
{
    rx->msg_done = false;
    rx->msg_len = 0;
    if (rx->msg_cap > WS_MSG_KEEP)
        floe__ws_rx_deinit(rx);
}

size_t floe__ws_rx_feed(struct floe__ws_rx *rx, const uint8_t *p, size_t n,
                        struct floe__ws_rx_item *out)
{
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    if (rx->failed) {
        *out = rx->error;
        return 0;
    }
    if (rx->msg_done)
        ws_rx_reset_message(rx);
    while (out->kind == FLOE__WS_RX_NONE && !rx->failed) {
        if (!rx->in_payload) {
            used += ws_rx_header(rx, p + used, n - used, out);
            if (!rx->in_payload)
                break; /* header incomplete, or refused */
        }
        if (used == n && rx->h.len > rx->got)
            break;
        used += ws_rx_payload(rx, p + used, n - used, out);
    }
    return used;
}
