/*
 * The portal transport's own RFC 6455 frame codec (src/portal/ws_frame.h): the
 * examples of RFC 6455 section 5.7 as vectors (encoded and decoded, whole and
 * one byte at a time), every rule the receiver enforces with the close code it
 * asks for, failing allocations, and a seeded round-trip property.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal/ws_frame.h"
#include "test.h"

#define MAX_MSG 70000u

static const uint8_t hello_unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                       0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t hello_fragments[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
static const uint8_t ping_unmasked[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                      0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A receiver of a client (server frames, unmasked) or of a server (masked). */
static void rx_new(struct floe__ws_rx *rx, bool server)
{
    struct floe_allocator a;

    memset(&a, 0, sizeof(a));
    floe__ws_rx_init(rx, &a, MAX_MSG, server);
}

/* Feed p[0..n) in pieces of step bytes (0: whole); the first item, and *used the bytes read. */
static struct floe__ws_rx_item feed(struct floe__ws_rx *rx, const uint8_t *p, size_t n, size_t step,
                                    size_t *used)
{
    struct floe__ws_rx_item it;
    size_t at = 0, k, r;

    memset(&it, 0, sizeof(it));
    while (at < n) {
        k = step && n - at > step ? step : n - at;
        r = floe__ws_rx_feed(rx, p + at, k, &it);
        at += r;
        if (it.kind != FLOE__WS_RX_NONE || r < k)
            break;
    }
    if (used)
        *used = at;
    return it;
}

static void check_item(struct floe__ws_rx *rx, const uint8_t *p, size_t n, size_t step,
                       enum floe__ws_rx_kind kind, const char *payload)
{
    size_t used;
    struct floe__ws_rx_item it = feed(rx, p, n, step, &used);

    CHECK_EQ(it.kind, kind);
    CHECK_EQ(used, n);
    CHECK_EQ(it.len, strlen(payload));
    if (it.len == strlen(payload))
        CHECK_MEM(it.data, payload, it.len);
}

static void test_rfc_hello_decode(void)
{
    struct floe__ws_rx rx;
    size_t step;

    for (step = 0; step < 3; step++) {
        rx_new(&rx, false);
        check_item(&rx, hello_unmasked, sizeof(hello_unmasked), step, FLOE__WS_RX_TEXT, "Hello");
        CHECK_EQ(rx.frames, 1);
        floe__ws_rx_deinit(&rx);
        rx_new(&rx, true);
        check_item(&rx, hello_masked, sizeof(hello_masked), step, FLOE__WS_RX_TEXT, "Hello");
        floe__ws_rx_deinit(&rx);
        rx_new(&rx, false);
        check_item(&rx, hello_fragments, sizeof(hello_fragments), step, FLOE__WS_RX_TEXT, "Hello");
        CHECK_EQ(rx.frames, 2);
        floe__ws_rx_deinit(&rx);
        rx_new(&rx, false);
        check_item(&rx, ping_unmasked, sizeof(ping_unmasked), step, FLOE__WS_RX_PING, "Hello");
        floe__ws_rx_deinit(&rx);
        rx_new(&rx, true);
        check_item(&rx, pong_masked, sizeof(pong_masked), step, FLOE__WS_RX_PONG, "Hello");
        floe__ws_rx_deinit(&rx);
    }
}

/* The first fragment alone completes nothing and reads all its bytes. */
static void test_rfc_fragment_pending(void)
{
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;

    rx_new(&rx, false);
    CHECK_EQ(floe__ws_rx_feed(&rx, hello_fragments, 5, &it), 5);
    CHECK_EQ(it.kind, FLOE__WS_RX_NONE);
    CHECK_EQ(floe__ws_rx_feed(&rx, hello_fragments + 5, 4, &it), 4);
    CHECK_EQ(it.kind, FLOE__WS_RX_TEXT);
    CHECK_MEM(it.data, "Hello", 5);
    floe__ws_rx_deinit(&rx);
}

/* Encode op/payload (one final frame, mask or not) and compare with want. */
static void check_encode(uint8_t op, const uint8_t *mask, const char *payload, const uint8_t *want,
                         size_t want_len)
{
    uint8_t buf[64];
    size_t n = strlen(payload), hl = floe__ws_header_encode(buf, true, op, mask, n);

    memcpy(buf + hl, payload, n);
    if (mask)
        floe__ws_mask(buf + hl, n, mask, 0);
    CHECK_EQ(hl + n, want_len);
    CHECK_MEM(buf, want, want_len);
}

static void test_rfc_hello_encode(void)
{
    uint8_t buf[16];
    size_t hl;

    check_encode(FLOE_WS_OP_TEXT, NULL, "Hello", hello_unmasked, sizeof(hello_unmasked));
    check_encode(FLOE_WS_OP_TEXT, rfc_mask, "Hello", hello_masked, sizeof(hello_masked));
    check_encode(FLOE_WS_OP_PING, NULL, "Hello", ping_unmasked, sizeof(ping_unmasked));
    check_encode(FLOE_WS_OP_PONG, rfc_mask, "Hello", pong_masked, sizeof(pong_masked));
    hl = floe__ws_header_encode(buf, false, FLOE_WS_OP_TEXT, NULL, 3);
    CHECK_EQ(hl, 2);
    CHECK_MEM(buf, "\x01\x03", 2);
    hl = floe__ws_header_encode(buf, true, FLOE_WS_OP_CONT, NULL, 2);
    CHECK_MEM(buf, "\x80\x02", hl);
}

/* RFC 6455 section 5.7: 256 bytes and 64 KiB binary messages in one unmasked frame. */
static void check_binary_len(size_t len, const uint8_t *want_hdr, size_t want_hl)
{
    uint8_t *f = malloc(want_hl + len);
    struct floe__ws_rx rx;
    size_t hl, i, step;
    struct floe__ws_rx_item it;

    REQUIRE(f != NULL);
    hl = floe__ws_header_encode(f, true, FLOE_WS_OP_BINARY, NULL, len);
    CHECK_EQ(hl, want_hl);
    CHECK_MEM(f, want_hdr, want_hl);
    for (i = 0; i < len; i++)
        f[hl + i] = (uint8_t)(i * 7u);
    for (step = 0; step < 1000; step += 999) {
        rx_new(&rx, false);
        it = feed(&rx, f, hl + len, step, NULL);
        CHECK_EQ(it.kind, FLOE__WS_RX_BINARY);
        CHECK_EQ(it.len, len);
        if (it.len == len)
            CHECK_MEM(it.data, f + hl, len);
        floe__ws_rx_deinit(&rx);
    }
    free(f);
}

static void test_rfc_lengths(void)
{
    check_binary_len(256, (const uint8_t *)"\x82\x7e\x01\x00", 4);
    check_binary_len(65536, (const uint8_t *)"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    check_binary_len(125, (const uint8_t *)"\x82\x7d", 2);
    check_binary_len(126, (const uint8_t *)"\x82\x7e\x00\x7e", 4);
    check_binary_len(65535, (const uint8_t *)"\x82\x7e\xff\xff", 4);
}

static void test_header_partial(void)
{
    uint8_t h[FLOE_WS_HEADER_MAX];
    struct floe__ws_header d;
    size_t hl = floe__ws_header_encode(h, true, FLOE_WS_OP_BINARY, rfc_mask, 70000), i;

    CHECK_EQ(hl, 14);
    for (i = 0; i < hl; i++)
        CHECK_EQ(floe__ws_header_decode(&d, h, i), 0);
    CHECK_EQ(floe__ws_header_decode(&d, h, hl), 14);
    CHECK(d.fin && d.masked && d.opcode == FLOE_WS_OP_BINARY && d.rsv == 0);
    CHECK_EQ(d.len, 70000);
    CHECK_MEM(d.mask, rfc_mask, 4);
    h[2] = 0x80; /* a 64-bit length with its top bit set */
    CHECK_EQ(floe__ws_header_decode(&d, h, hl), FLOE_ERR_PROTOCOL);
}

/* Frame payload with the first two bytes b0, b1 given (length in b1's low bits added). */
static size_t raw(uint8_t *out, uint8_t b0, bool masked, const char *payload, size_t n)
{
    size_t hl = floe__ws_header_encode(out, (b0 & 0x80) != 0, (uint8_t)(b0 & 0x0F),
                                       masked ? rfc_mask : NULL, n);

    out[0] = b0;
    memcpy(out + hl, payload, n);
    if (masked)
        floe__ws_mask(out + hl, n, rfc_mask, 0);
    return hl + n;
}

/* A server's receiver fed f[0..n): an ERROR with code, and nothing read after it. */
static void check_error(const uint8_t *f, size_t n, bool server, uint16_t code)
{
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;

    rx_new(&rx, server);
    it = feed(&rx, f, n, 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_ERROR);
    CHECK_EQ(it.code, code);
    CHECK_EQ(it.err, FLOE_ERR_PROTOCOL);
    CHECK(it.why != NULL);
    CHECK_EQ(floe__ws_rx_feed(&rx, hello_masked, sizeof(hello_masked), &it), 0);
    CHECK_EQ(it.kind, FLOE__WS_RX_ERROR);
    floe__ws_rx_deinit(&rx);
}

static void test_errors(void)
{
    uint8_t f[400], big[200];
    size_t n;

    memset(big, 'p', sizeof(big));
    check_error(hello_unmasked, sizeof(hello_unmasked), true, 1002); /* client must mask */
    check_error(hello_masked, sizeof(hello_masked), false, 1002);    /* server must not */
    n = raw(f, 0xC1, true, "hi", 2);                                 /* RSV1 */
    check_error(f, n, true, 1002);
    n = raw(f, 0x91, true, "hi", 2); /* RSV3 */
    check_error(f, n, true, 1002);
    n = raw(f, 0x83, true, "hi", 2); /* reserved data opcode */
    check_error(f, n, true, 1002);
    n = raw(f, 0x8B, true, "hi", 2); /* reserved control opcode */
    check_error(f, n, true, 1002);
    n = raw(f, 0x89, true, (const char *)big, 126); /* ping over 125 bytes */
    check_error(f, n, true, 1002);
    n = raw(f, 0x09, true, "hi", 2); /* fragmented ping */
    check_error(f, n, true, 1002);
    n = raw(f, 0x80, true, "hi", 2); /* continuation of nothing */
    check_error(f, n, true, 1002);
    n = raw(f, 0x01, true, "h", 1);
    n += raw(f + n, 0x81, true, "i", 1); /* a new message inside a fragmented one */
    check_error(f, n, true, 1002);
    n = raw(f, 0x81, true, "\xc3\x28", 2); /* not UTF-8 */
    check_error(f, n, true, 1007);
    n = raw(f, 0x81, true, "\xed\xa0\x80", 3); /* a surrogate */
    check_error(f, n, true, 1007);
    n = raw(f, 0x88, true, "\x03", 1); /* a close payload of one byte */
    check_error(f, n, true, 1002);
    n = raw(f, 0x88, true, "\x03\xe7", 2); /* close code 999 */
    check_error(f, n, true, 1002);
    n = raw(f, 0x88, true, "\x03\xed", 2); /* close code 1005 is never sent */
    check_error(f, n, true, 1002);
    n = raw(f, 0x88, true, "\x03\xe8\xff", 3); /* a reason that is not UTF-8 */
    check_error(f, n, true, 1007);
}

static void test_too_big(void)
{
    uint8_t f[16];
    size_t n;

    /* Refused on the header alone: nothing of the payload is awaited or held. */
    n = floe__ws_header_encode(f, true, FLOE_WS_OP_TEXT, rfc_mask, MAX_MSG + 1);
    check_error(f, n, true, 1009);
    n = floe__ws_header_encode(f, true, FLOE_WS_OP_TEXT, rfc_mask, (uint64_t)1 << 40);
    check_error(f, n, true, 1009);
}

/* Fragments add up to the bound: at the bound passes, one more byte is 1009. */
static void test_fragments_bound(void)
{
    static uint8_t f[MAX_MSG + 64];
    static char payload[MAX_MSG];
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;
    size_t n, half = MAX_MSG / 2;

    memset(payload, 'a', sizeof(payload));
    n = raw(f, 0x01, true, payload, half);
    n += raw(f + n, 0x80, true, payload, MAX_MSG - half);
    rx_new(&rx, true);
    it = feed(&rx, f, n, 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_TEXT);
    CHECK_EQ(it.len, MAX_MSG);
    floe__ws_rx_deinit(&rx);
    n = raw(f, 0x01, true, payload, half);
    n += raw(f + n, 0x80, true, payload, MAX_MSG - half + 1);
    check_error(f, n, true, 1009);
}

/* Control frames inside a fragmented message; UTF-8 split across fragments; close forms. */
static void test_interleaved_and_close(void)
{
    uint8_t f[128];
    size_t n = 0;
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;
    size_t used;

    n += raw(f + n, 0x01, false, "h\xc3", 2);
    n += raw(f + n, 0x89, false, "p", 1);
    n += raw(f + n, 0x80, false, "\xa9!", 2);
    rx_new(&rx, false);
    it = feed(&rx, f, n, 0, &used);
    CHECK_EQ(it.kind, FLOE__WS_RX_PING);
    it = feed(&rx, f + used, n - used, 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_TEXT);
    CHECK_EQ(it.len, 4);
    CHECK_MEM(it.data, "h\xc3\xa9!", 4);
    n = raw(f, 0x88, false, "", 0);
    it = feed(&rx, f, n, 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_CLOSE);
    CHECK_EQ(it.code, 1005);
    CHECK_EQ(it.len, 0);
    n = raw(f, 0x88, false,
            "\x0f\xa0"
            "bye",
            5);
    it = feed(&rx, f, n, 1, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_CLOSE);
    CHECK_EQ(it.code, 4000);
    CHECK_EQ(it.len, 3);
    CHECK_MEM(it.data, "bye", 3);
    n = raw(f, 0x81, false, "", 0); /* an empty text message */
    it = feed(&rx, f, n, 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_TEXT);
    CHECK_EQ(it.len, 0);
    floe__ws_rx_deinit(&rx);
}

static void test_failmalloc(void)
{
    struct floe_test_failmalloc fm = {0, 0, 0};
    struct floe_allocator a = {floe_test_failmalloc_malloc, floe_test_failmalloc_realloc,
                               floe_test_failmalloc_free, &fm};
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;

    floe__ws_rx_init(&rx, &a, MAX_MSG, true);
    it = feed(&rx, hello_masked, sizeof(hello_masked), 0, NULL);
    CHECK_EQ(it.kind, FLOE__WS_RX_ERROR);
    CHECK_EQ(it.err, FLOE_ERR_NOMEM);
    CHECK_EQ(it.code, 1006);
    CHECK_EQ(fm.failed, 1);
    floe__ws_rx_deinit(&rx);
}

/* One message cut into random fragments, random masks, fed in random pieces. */
static void round_trip_once(struct floe_xoshiro *x, uint8_t *msg, uint8_t *wire)
{
    size_t len = (size_t)(floe_xoshiro_next(x) % 3000), at = 0, n = 0, k, i;
    bool server = floe_xoshiro_next(x) & 1, first = true;
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;
    uint8_t mask[4];

    for (i = 0; i < len; i++)
        msg[i] = (uint8_t)('a' + floe_xoshiro_next(x) % 26);
    do {
        k = (size_t)(floe_xoshiro_next(x) % 400);
        k = k > len - at || n > 3000 ? len - at : k; /* n bounds the headers: wire fits */
        for (i = 0; i < 4; i++)
            mask[i] = (uint8_t)floe_xoshiro_next(x);
        n += floe__ws_header_encode(wire + n, at + k == len,
                                    first ? FLOE_WS_OP_TEXT : FLOE_WS_OP_CONT, server ? mask : NULL,
                                    k);
        first = false;
        memcpy(wire + n, msg + at, k);
        if (server)
            floe__ws_mask(wire + n, k, mask, 0);
        n += k;
        at += k;
    } while (at < len);
    rx_new(&rx, server);
    it = feed(&rx, wire, n, (size_t)(floe_xoshiro_next(x) % 50), &at);
    CHECK_EQ(it.kind, FLOE__WS_RX_TEXT);
    CHECK_EQ(at, n);
    CHECK_EQ(it.len, len);
    if (it.len == len && len)
        CHECK_MEM(it.data, msg, len);
    floe__ws_rx_deinit(&rx);
}

static void test_round_trip_property(void)
{
    static uint8_t msg[3000], wire[3000 * 2 + 1000];
    struct floe_xoshiro x;
    int i;

    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 500; i++)
        round_trip_once(&x, msg, wire);
}

/* Random bytes never crash the receiver, and every item it gives is well-formed. */
static void test_garbage(void)
{
    static uint8_t junk[4096];
    struct floe_xoshiro x;
    struct floe__ws_rx rx;
    struct floe__ws_rx_item it;
    size_t i, at, r;
    int round;

    floe_xoshiro_seed(&x, floe_test_seed() ^ 0x5a5a);
    for (round = 0; round < 200; round++) {
        for (i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)floe_xoshiro_next(&x);
        rx_new(&rx, round & 1);
        for (at = 0; at < sizeof(junk); at += r) {
            r = floe__ws_rx_feed(&rx, junk + at, sizeof(junk) - at, &it);
            if (it.kind == FLOE__WS_RX_ERROR)
                break;
            CHECK(it.kind != FLOE__WS_RX_TEXT || floe__ws_utf8_valid(it.data, it.len));
            CHECK(it.len <= MAX_MSG);
            if (it.kind == FLOE__WS_RX_NONE)
                CHECK_EQ(at + r, sizeof(junk));
        }
        floe__ws_rx_deinit(&rx);
    }
}

int main(void)
{
    FLOE_RUN(test_rfc_hello_decode);
    FLOE_RUN(test_rfc_fragment_pending);
    FLOE_RUN(test_rfc_hello_encode);
    FLOE_RUN(test_rfc_lengths);
    FLOE_RUN(test_header_partial);
    FLOE_RUN(test_errors);
    FLOE_RUN(test_too_big);
    FLOE_RUN(test_fragments_bound);
    FLOE_RUN(test_interleaved_and_close);
    FLOE_RUN(test_failmalloc);
    FLOE_RUN(test_round_trip_property);
    FLOE_RUN(test_garbage);
    return floe_test_summary();
}
