/* ChannelData framing (RFC 8656 section 12.4) and the datagram classifier. */
#include "floe/stun.h"
#include "test.h"

static void test_channeldata_roundtrip(void)
{
    uint8_t out[64], data[40];
    struct floe_span got;
    uint16_t ch;
    size_t i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4001, data, 33), 37);
    CHECK_EQ(out[0], 0x40);
    CHECK_EQ(out[1], 0x01);
    CHECK_EQ(floe_load_be16(out + 2), 33);
    REQUIRE(floe_channeldata_decode(out, 37, &ch, &got) == 0);
    CHECK_EQ(ch, 0x4001);
    CHECK(got.ptr == out + 4 && got.len == 33);
    CHECK_MEM(got.ptr, data, 33);
    /* Trailing padding (TCP framing) is allowed; the length field says where data ends. */
    CHECK_EQ(floe_channeldata_decode(out, 40, &ch, &got), 0);
    CHECK_EQ(got.len, 33);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4FFF, NULL, 0), 4);
    REQUIRE(floe_channeldata_decode(out, 4, &ch, &got) == 0);
    CHECK_EQ(ch, 0x4FFF);
    CHECK_EQ(got.len, 0);
    /* In-place framing: the payload already sits at out + 4. */
    memcpy(out + 4, data, 20);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4100, out + 4, 20), 24);
    CHECK_MEM(out + 4, data, 20);
    /* The payload at out itself: moved behind the header, none of it overwritten. */
    memcpy(out, data, 20);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4101, out, 20), 24);
    CHECK_EQ(floe_load_be16(out), 0x4101);
    CHECK_EQ(floe_load_be16(out + 2), 20);
    CHECK_MEM(out + 4, data, 20);
}

static void test_channeldata_ranges(void)
{
    static uint8_t big[65540];
    uint8_t out[16] = {0}, bad[8] = {0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4};
    struct floe_span got;
    uint16_t ch;

    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x3FFF, out, 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x8000, out, 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x7FFF, NULL, 0), 4); /* RFC 5766 range */
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4000, NULL, 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_channeldata_encode(big, sizeof(big), 0x4000, big, 65536), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_channeldata_encode(big, sizeof(big), 0x4000, big + 4, 65535), 65539);
    CHECK_EQ(floe_channeldata_encode(out, sizeof(out), 0x4000, big, 13), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_channeldata_encode(out, 3, 0x4000, NULL, 0), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_channeldata_decode(bad, 8, &ch, &got), FLOE_ERR_TRUNCATED);
    CHECK_EQ(floe_channeldata_decode(bad, 3, &ch, &got), FLOE_ERR_TRUNCATED);
    CHECK_EQ(floe_channeldata_decode(bad, 0, &ch, &got), FLOE_ERR_NOT_CHANNELDATA);
    bad[0] = 0x3F;
    CHECK_EQ(floe_channeldata_decode(bad, 8, &ch, &got), FLOE_ERR_NOT_CHANNELDATA);
    bad[0] = 0x80;
    CHECK_EQ(floe_channeldata_decode(bad, 8, &ch, &got), FLOE_ERR_NOT_CHANNELDATA);
    CHECK_EQ(floe_channeldata_decode(NULL, 8, &ch, &got), FLOE_ERR_NOT_CHANNELDATA);
}

/* A WireGuard-shaped datagram of len bytes with message type t. */
static size_t wg_packet(uint8_t *buf, uint8_t t, size_t len)
{
    memset(buf, 0xA5, len);
    buf[0] = t;
    buf[1] = buf[2] = buf[3] = 0;
    return len;
}

static size_t stun_packet(uint8_t *buf)
{
    static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, 64, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_fingerprint(&b);
    return (size_t)floe_stun_build_finish(&b);
}

static void test_classify_table(void)
{
    static uint8_t buf[2048];
    static const struct {
        uint8_t type;
        size_t len;
        enum floe_packet_kind kind;
    } wg[] = {
        {1, 148, FLOE_PACKET_WIREGUARD},  {1, 147, FLOE_PACKET_OTHER},
        {1, 149, FLOE_PACKET_OTHER},      {2, 92, FLOE_PACKET_WIREGUARD},
        {2, 148, FLOE_PACKET_OTHER},      {3, 64, FLOE_PACKET_WIREGUARD},
        {3, 92, FLOE_PACKET_OTHER},       {4, 32, FLOE_PACKET_WIREGUARD},
        {4, 31, FLOE_PACKET_OTHER},       {4, 1452, FLOE_PACKET_WIREGUARD},
        {4, 1440, FLOE_PACKET_WIREGUARD}, {5, 148, FLOE_PACKET_OTHER},
        {0, 148, FLOE_PACKET_OTHER},
    };
    size_t i, n;

    for (i = 0; i < sizeof(wg) / sizeof(wg[0]); i++) {
        n = wg_packet(buf, wg[i].type, wg[i].len);
        CHECK_STR(floe_packet_kind_name(floe_packet_classify(buf, n)),
                  floe_packet_kind_name(wg[i].kind));
    }
    n = wg_packet(buf, 1, 148);
    buf[2] = 1; /* reserved bytes must be zero */
    CHECK_EQ(floe_packet_classify(buf, n), FLOE_PACKET_OTHER);
    n = stun_packet(buf);
    CHECK_EQ(floe_packet_classify(buf, n), FLOE_PACKET_STUN);
    CHECK_EQ(floe_packet_classify(buf, n + 4), FLOE_PACKET_OTHER); /* length inconsistent */
    buf[4] ^= 1;
    CHECK_EQ(floe_packet_classify(buf, n), FLOE_PACKET_OTHER); /* cookie */
    CHECK_EQ(floe_channeldata_encode(buf, sizeof(buf), 0x4abc, NULL, 0), 4);
    CHECK_EQ(floe_packet_classify(buf, 4), FLOE_PACKET_CHANNELDATA);
    CHECK_EQ(floe_packet_classify(buf, 3), FLOE_PACKET_OTHER);
    floe_store_be16(buf + 2, 100);
    CHECK_EQ(floe_packet_classify(buf, 50), FLOE_PACKET_OTHER);
    CHECK_EQ(floe_packet_classify(buf, 104), FLOE_PACKET_CHANNELDATA);
    CHECK_EQ(floe_packet_classify(NULL, 10), FLOE_PACKET_OTHER);
    CHECK_EQ(floe_packet_classify(buf, 0), FLOE_PACKET_OTHER);
}

/*
 * A 148-byte STUN Binding is STUN; with its length field no longer matching, the
 * same bytes with type 0x0100 (WireGuard initiation, reserved zero) are WireGuard.
 */
static void test_classify_near_misses(void)
{
    uint8_t buf[148] = {0};

    floe_store_be16(buf, 0x0001);
    floe_store_be16(buf + 2, 128);
    floe_store_be32(buf + 4, FLOE_STUN_MAGIC_COOKIE);
    CHECK_EQ(floe_packet_classify(buf, 148), FLOE_PACKET_STUN);
    buf[0] = 1;
    buf[1] = 0;
    floe_store_be16(buf + 2, 0);
    CHECK_EQ(floe_packet_classify(buf, 148), FLOE_PACKET_WIREGUARD);
    CHECK_STR(floe_packet_kind_name(FLOE_PACKET_STUN), "stun");
    CHECK_STR(floe_packet_kind_name(FLOE_PACKET_CHANNELDATA), "channeldata");
    CHECK_STR(floe_packet_kind_name(FLOE_PACKET_WIREGUARD), "wireguard");
    CHECK_STR(floe_packet_kind_name(FLOE_PACKET_OTHER), "other");
    CHECK_STR(floe_packet_kind_name((enum floe_packet_kind)42), "unknown");
}

int main(void)
{
    FLOE_RUN(test_channeldata_roundtrip);
    FLOE_RUN(test_channeldata_ranges);
    FLOE_RUN(test_classify_table);
    FLOE_RUN(test_classify_near_misses);
    return floe_test_summary();
}
