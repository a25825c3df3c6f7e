/*
 * Segmentation: a TCP super-packet read from a device with offloads is cut into segments of
 * seg_size payload bytes, each a whole IP packet with its IP header (length, ID, checksum)
 * and TCP header (sequence number, flags, checksum) fixed, as the kernel's GSO does; a plain
 * packet whose checksum the device left partial gets it completed.
 */
#include "offload_int.h"

/* Complete a partial checksum the device left (needs_csum without segmentation). */
static int split_complete_csum(const struct floe_offload *o, uint8_t *pkt, size_t len)
{
    size_t at = (size_t)o->csum_start + o->csum_offset;

    if (o->csum_start >= len || at + 2 > len)
        return -1;
    floe__csum_store(pkt + at,
                     floe__csum_fold(floe__csum_add(0, pkt + o->csum_start, len - o->csum_start)));
    return 0;
}

/* Fix the IP header of one segment of total length len, the index-th of its packet. */
static void split_fix_ip(uint8_t *seg, bool v6, size_t len, unsigned index)
{
    if (v6) {
        floe_store_be16(seg + 4, (uint16_t)(len - 40));
        return;
    }
    floe_store_be16(seg + 2, (uint16_t)len);
    floe_store_be16(seg + 4, (uint16_t)(floe_load_be16(seg + 4) + index));
    seg[10] = seg[11] = 0;
    floe__csum_store(seg + 10,
                     floe__csum_fold(floe__csum_add(0, seg, (size_t)(seg[0] & 0x0f) * 4)));
}

/* Fix the TCP header of one segment: sequence, flags, checksum. */
static void split_fix_tcp(uint8_t *seg, bool v6, size_t l4, size_t len, uint32_t seq_add,
                          bool first, bool last)
{
    uint8_t *tcp = seg + l4;
    uint64_t sum;

    floe_store_be32(tcp + 4, floe_load_be32(tcp + 4) + seq_add);
    if (!last)
        tcp[13] &= (uint8_t) ~(FLOE__TCP_FIN | FLOE__TCP_PSH);
    if (!first)
        tcp[13] &= (uint8_t)~FLOE__TCP_CWR;
    tcp[16] = tcp[17] = 0;
    sum = floe__csum_pseudo(seg, v6, len - l4, FLOE__IPPROTO_TCP);
    floe__csum_store(tcp + 16, floe__csum_fold(floe__csum_add(sum, tcp, len - l4)));
}

/* Check the headers of a TCP super-packet; *hdr gets the IP + TCP header length. */
static int split_check_tcp(const struct floe_offload *o, const uint8_t *pkt, size_t len, bool v6,
                           size_t *hdr)
{
    size_t l4 = o->csum_start;

    if (len < 20 || (pkt[0] >> 4) != (v6 ? 6 : 4) || o->seg_size == 0)
        return -1;
    if (v6 ? (l4 != 40 || pkt[6] != FLOE__IPPROTO_TCP)
           : (l4 != (size_t)(pkt[0] & 0x0f) * 4 || pkt[9] != FLOE__IPPROTO_TCP))
        return -1;
    if (l4 + 20 > len)
        return -1;
    *hdr = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
    if (*hdr < l4 + 20 || *hdr > len || *hdr + o->seg_size > FLOE_OFFLOAD_SEG_MAX)
        return -1;
    return 0;
}

/* A packet without segmentation: copied, its partial checksum completed when asked. */
static int split_single(const struct floe_offload *o, const uint8_t *pkt, size_t len,
                        uint8_t (*segs)[FLOE_OFFLOAD_SEG_MAX], size_t *seg_len)
{
    if (len > FLOE_OFFLOAD_SEG_MAX)
        return -1;
    memcpy(segs[0], pkt, len);
    seg_len[0] = len;
    if (o->needs_csum && split_complete_csum(o, segs[0], len) != 0)
        return -1;
    return 1;
}

int floe_offload_count(const struct floe_offload *o, const uint8_t *pkt, size_t len)
{
    bool v6 = o->kind == FLOE_OFFLOAD_TCPV6;
    size_t hdr;

    if (o->kind == FLOE_OFFLOAD_NONE)
        return len <= FLOE_OFFLOAD_SEG_MAX ? 1 : -1;
    if ((o->kind != FLOE_OFFLOAD_TCPV4 && !v6) || split_check_tcp(o, pkt, len, v6, &hdr) != 0 ||
        hdr >= len)
        return -1;
    return (int)((len - hdr + o->seg_size - 1) / o->seg_size);
}

int floe_offload_split(const struct floe_offload *o, const uint8_t *pkt, size_t len, unsigned first,
                       uint8_t (*segs)[FLOE_OFFLOAD_SEG_MAX], size_t *seg_len, int max_segs)
{
    bool v6 = o->kind == FLOE_OFFLOAD_TCPV6;
    size_t hdr, off, chunk;
    int n;

    if (o->kind == FLOE_OFFLOAD_NONE)
        return first == 0 && max_segs > 0 ? split_single(o, pkt, len, segs, seg_len) : -1;
    if ((o->kind != FLOE_OFFLOAD_TCPV4 && !v6) || split_check_tcp(o, pkt, len, v6, &hdr) != 0 ||
        (size_t)first * o->seg_size >= len - hdr)
        return -1;
    off = hdr + (size_t)first * o->seg_size;
    for (n = 0; off < len && n < max_segs; n++, off += chunk) {
        unsigned index = first + (unsigned)n;

        chunk = len - off < o->seg_size ? len - off : o->seg_size;
        memcpy(segs[n], pkt, hdr);
        memcpy(segs[n] + hdr, pkt + off, chunk);
        seg_len[n] = hdr + chunk;
        split_fix_ip(segs[n], v6, seg_len[n], index);
        split_fix_tcp(segs[n], v6, o->csum_start, seg_len[n], (uint32_t)(off - hdr), index == 0,
                      off + chunk >= len);
    }
    return n > 0 ? n : -1;
}
