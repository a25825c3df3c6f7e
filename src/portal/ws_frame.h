/*
 * RFC 6455 section 5 frame codec of the portal transport, sans-IO and bounded:
 * frame headers encoded and decoded (the decoder works on partial input),
 * masking, and a receiver that reassembles fragmented messages up to a bound
 * and checks every rule a receiver must: reserved bits without an extension,
 * reserved opcodes, masking by role (client frames masked, server frames not),
 * control frames of at most 125 bytes and never fragmented, continuation
 * rules, close codes, UTF-8 of text messages and close reasons.
 *
 * The receiver is fed bytes in any pieces and hands out one item at a time: a
 * whole message, a control frame, or an error that says which close code to
 * send (1002 protocol error, 1007 invalid payload, 1009 too big). It allocates
 * only the message being reassembled, with the allocator hooks.
 */
#ifndef FLOE_PORTAL_WS_FRAME_H
#define FLOE_PORTAL_WS_FRAME_H

#include "floe/core.h"
#include "floe/portal_wire.h" /* FLOE_WS_CLOSE_* */

/* Opcodes (RFC 6455 section 5.2). */
#define FLOE_WS_OP_CONT 0x0
#define FLOE_WS_OP_TEXT 0x1
#define FLOE_WS_OP_BINARY 0x2
#define FLOE_WS_OP_CLOSE 0x8
#define FLOE_WS_OP_PING 0x9
#define FLOE_WS_OP_PONG 0xA
/* Longest control frame payload (section 5.5). */
#define FLOE_WS_CONTROL_MAX 125
/* Longest frame header: 2 bytes, 8 of extended length, 4 of masking key (section 5.2). */
#define FLOE_WS_HEADER_MAX 14

/* One frame header, as decoded. */
struct floe__ws_header {
    bool fin;
    uint8_t rsv;    /* RSV1, RSV2, RSV3 as bits 2, 1, 0 */
    uint8_t opcode; /* 4 bits */
    bool masked;
    uint8_t mask[4]; /* the masking key when masked */
    uint64_t len;    /* payload length */
};

/*
 * Decode the frame header at p[0..n). Returns its size (2 to 14) with *h
 * filled, 0 when n does not hold the whole header yet, or FLOE_ERR_PROTOCOL
 * for a 64-bit length with its most significant bit set (section 5.2).
 */
int floe__ws_header_decode(struct floe__ws_header *h, const uint8_t *p, size_t n);

/*
 * Encode a header with FIN fin, opcode op, the masking key mask (NULL:
 * unmasked) and payload length len into out, with the shortest length form.
 * Returns its size (2 to 14).
 */
size_t floe__ws_header_encode(uint8_t out[FLOE_WS_HEADER_MAX], bool fin, uint8_t op,
                              const uint8_t *mask, uint64_t len);

/* XOR p[0..n) in place with mask, p[0] being payload byte offset (section 5.3). */
void floe__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* True when p[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
bool floe__ws_utf8_valid(const uint8_t *p, size_t n);

/* True when code may be received in a close frame (1000-1003, 1007-1011, 3000-4999). */
bool floe__ws_close_code_valid(uint16_t code);

enum floe__ws_rx_kind {
    FLOE__WS_RX_NONE,   /* the input was used up without completing an item */
    FLOE__WS_RX_TEXT,   /* a whole text message (valid UTF-8) */
    FLOE__WS_RX_BINARY, /* a whole binary message */
    FLOE__WS_RX_PING,   /* a ping and its payload */
    FLOE__WS_RX_PONG,   /* a pong and its payload */
    FLOE__WS_RX_CLOSE,  /* a close frame: code and the reason in data (valid UTF-8) */
    FLOE__WS_RX_ERROR,  /* the input broke a rule: code to close with, why; err */
};

/* One item handed out by floe__ws_rx_feed. */
struct floe__ws_rx_item {
    enum floe__ws_rx_kind kind;
    const uint8_t *data; /* payload, borrowed until the next feed or deinit */
    size_t len;
    /* CLOSE: the peer's code (1005 when the frame has none); ERROR: 1002, 1007, 1009, or
     * 1006 when memory ran out. */
    uint16_t code;
    int err;         /* ERROR: FLOE_ERR_PROTOCOL or FLOE_ERR_NOMEM */
    const char *why; /* ERROR: a static readable reason */
};

/* The receiver; fill with floe__ws_rx_init, free with floe__ws_rx_deinit. */
struct floe__ws_rx {
    struct floe_allocator alloc;
    size_t max_message;
    bool masked;                   /* frames must be masked (a server's receiver) or must not be */
    bool failed;                   /* an ERROR was handed out: nothing more is read */
    struct floe__ws_rx_item error; /* that ERROR */
    uint8_t hbuf[FLOE_WS_HEADER_MAX];
    size_t hlen;     /* header bytes gathered */
    bool in_payload; /* the header h is whole; payload bytes follow */
    struct floe__ws_header h;
    uint64_t got;   /* payload bytes of the current frame read */
    uint8_t msg_op; /* opcode of the message being reassembled; 0 when none */
    bool msg_done;  /* the message was handed out: reset on the next feed */
    uint8_t *msg;
    size_t msg_len, msg_cap;
    uint8_t ctl[FLOE_WS_CONTROL_MAX];
    uint64_t frames; /* frame headers read */
};

/*
 * Prepare rx for messages of at most max_message bytes (> 0); masked: the
 * frames must be masked (the receiver of a server) or must not be (of a client).
 */
void floe__ws_rx_init(struct floe__ws_rx *rx, const struct floe_allocator *alloc,
                      size_t max_message, bool masked);

/* Free what rx holds (the message being reassembled). */
void floe__ws_rx_deinit(struct floe__ws_rx *rx);

/*
 * Read from p[0..n) up to the end of one item. Returns the bytes used (the
 * caller drops them from its buffer and feeds the rest later) and fills *out:
 * kind NONE when all n bytes were used without completing an item, else the
 * item, whose data stay valid until the next call. After an ERROR nothing
 * more is read (0 bytes used, the same ERROR again).
 */
size_t floe__ws_rx_feed(struct floe__ws_rx *rx, const uint8_t *p, size_t n,
                        struct floe__ws_rx_item *out);

#endif
