/* floe offload internals: the Internet checksum (RFC 1071) shared by split.c and gro.c. */
#ifndef FLOE_OFFLOAD_INT_H
#define FLOE_OFFLOAD_INT_H

#include <string.h>

#include "floe/offload.h"

#define FLOE__TCP_FIN 0x01
#define FLOE__TCP_PSH 0x08
#define FLOE__TCP_ACK 0x10
#define FLOE__TCP_CWR 0x80
#define FLOE__IPPROTO_TCP 6

/* One's complement sum of p[0..len) added to sum (not folded), in the data's byte order. */
static inline uint64_t floe__csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
    uint32_t w;
    uint16_t h;

    while (len >= 4) {
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = {p[0], 0};

        memcpy(&h, last, 2);
        sum += h;
    }
    return sum;
}

/* Fold and complement; the result is in the byte order of the summed data. */
static inline uint16_t floe__csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Store a checksum computed over network-order data. */
static inline void floe__csum_store(uint8_t *p, uint16_t c)
{
    memcpy(p, &c, 2);
}

/* Pseudo-header sum for an L4 segment of l4_len bytes of protocol proto. */
static inline uint64_t floe__csum_pseudo(const uint8_t *ip, bool v6, size_t l4_len, uint8_t proto)
{
    uint8_t tail[8] = {0};
    uint64_t sum = v6 ? floe__csum_add(0, ip + 8, 32) : floe__csum_add(0, ip + 12, 8);

    floe_store_be32(tail, (uint32_t)l4_len);
    tail[7] = proto;
    return floe__csum_add(sum, tail, 8);
}

#endif
