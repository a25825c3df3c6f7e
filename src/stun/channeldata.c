/*
 * ChannelData framing (RFC 8656 section 12.4) and the datagram classifier that
 * tells STUN, ChannelData and WireGuard apart on one UDP socket (RFC 7983
 * section 7 ranges, WireGuard message types and sizes).
 */
#include <string.h>

#include "stun/stun_int.h"

/* WireGuard message sizes (WireGuard paper section 5.4, Linux src/messages.h). */
#define CHANNEL_WG_INITIATION_LEN 148
#define CHANNEL_WG_RESPONSE_LEN 92
#define CHANNEL_WG_COOKIE_REPLY_LEN 64
/* Transport data: 16-byte header (type, reserved, receiver, counter) + 16-byte tag. */
#define CHANNEL_WG_DATA_MIN_LEN 32

long floe_channeldata_encode(uint8_t *out, size_t cap, uint16_t channel, const uint8_t *data,
                             size_t len)
{
    if (!out || (!data && len) || channel < FLOE_CHANNEL_MIN ||
        channel > FLOE_CHANNEL_MAX_RFC5766 || len > UINT16_MAX)
        return FLOE_ERR_INVALID_ARG;
    if (cap < FLOE_CHANNELDATA_HEADER_LEN || len > cap - FLOE_CHANNELDATA_HEADER_LEN)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    /* Payload first: data may start at out, where the header goes. */
    if (len)
        memmove(out + FLOE_CHANNELDATA_HEADER_LEN, data, len);
    floe_store_be16(out, channel);
    floe_store_be16(out + 2, (uint16_t)len);
    return (long)(FLOE_CHANNELDATA_HEADER_LEN + len);
}

int floe_channeldata_decode(const uint8_t *buf, size_t len, uint16_t *channel,
                            struct floe_span *data)
{
    size_t dlen;

    if (!buf || !len || buf[0] < 0x40 || buf[0] > 0x7F)
        return FLOE_ERR_NOT_CHANNELDATA;
    if (len < FLOE_CHANNELDATA_HEADER_LEN)
        return FLOE_ERR_TRUNCATED;
    dlen = floe_load_be16(buf + 2);
    if (dlen > len - FLOE_CHANNELDATA_HEADER_LEN)
        return FLOE_ERR_TRUNCATED;
    if (channel)
        *channel = floe_load_be16(buf);
    if (data)
        *data = floe_span_make(buf + FLOE_CHANNELDATA_HEADER_LEN, dlen);
    return 0;
}

/* Message type 1..4 followed by three zero reserved bytes, with that type's size. */
static bool channel_is_wireguard(const uint8_t *buf, size_t len)
{
    if (len < 4 || buf[1] || buf[2] || buf[3])
        return false;
    switch (buf[0]) {
    case 1:
        return len == CHANNEL_WG_INITIATION_LEN;
    case 2:
        return len == CHANNEL_WG_RESPONSE_LEN;
    case 3:
        return len == CHANNEL_WG_COOKIE_REPLY_LEN;
    case 4:
        /*
         * No multiple-of-16 rule: senders pad to min(MTU, 16-byte multiple), so a
         * full packet at MTU 1420 is 1452 bytes (wireguard-go, Linux).
         */
        return len >= CHANNEL_WG_DATA_MIN_LEN;
    default:
        return false;
    }
}

enum floe_packet_kind floe_packet_classify(const uint8_t *buf, size_t len)
{
    if (!buf || !len)
        return FLOE_PACKET_OTHER;
    if (floe_stun_is_message(buf, len))
        return FLOE_PACKET_STUN;
    if (floe_channeldata_decode(buf, len, NULL, NULL) == 0)
        return FLOE_PACKET_CHANNELDATA;
    if (channel_is_wireguard(buf, len))
        return FLOE_PACKET_WIREGUARD;
    return FLOE_PACKET_OTHER;
}

const char *floe_packet_kind_name(enum floe_packet_kind kind)
{
    switch (kind) {
    case FLOE_PACKET_STUN:
        return "stun";
    case FLOE_PACKET_CHANNELDATA:
        return "channeldata";
    case FLOE_PACKET_WIREGUARD:
        return "wireguard";
    case FLOE_PACKET_OTHER:
        return "other";
    }
    return "unknown";
}
