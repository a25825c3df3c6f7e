/*
 * Segmentation offload for the TUN device. With IFF_VNET_HDR and TUN_F_TSO4/TSO6 the kernel
 * hands over TCP super-packets up to 64 KiB with a virtio-net header (gso_size = MSS) and
 * leaves checksums to us (TUN_F_CSUM). WireGuard encrypts IP packets that fit the MTU, so a
 * super-packet is cut here into MSS-sized TCP segments, each with its own IP header (length,
 * ID, checksum) and TCP header (sequence number, flags, checksum), as the kernel's GSO does.
 * The other way, decrypted TCP segments of one flow that follow each other are written to
 * TUN as one super-packet (receive offload, as the kernel's GRO does): one write and one
 * pass through the receiving stack instead of one per segment.
 */
#include <string.h>

#include "wgd.h"

/* include/uapi/linux/virtio_net.h */
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4
#define VNET_GSO_ECN 0x80

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_CWR 0x80

void wgd_vnet_hdr_load(struct wgd_vnet_hdr *h, const uint8_t *p)
{
    h->flags = p[0];
    h->gso_type = p[1];
    h->hdr_len = floe_load_le16(p + 2);
    h->gso_size = floe_load_le16(p + 4);
    h->csum_start = floe_load_le16(p + 6);
    h->csum_offset = floe_load_le16(p + 8);
}

/* One's complement sum of p[0..len) added to sum (not folded). */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
    uint32_t w;

    while (len >= 4) {
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;

        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = {p[0], 0};
        uint16_t h;

        memcpy(&h, last, 2);
        sum += h;
    }
    return sum;
}

/* Fold and complement; the result is in the byte order of the summed data. */
static uint16_t csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Store a checksum computed over network-order data. */
static void csum_store(uint8_t *p, uint16_t c)
{
    memcpy(p, &c, 2);
}

/* Pseudo-header sum for an L4 segment of l4_len bytes of protocol proto. */
static uint64_t csum_pseudo(const uint8_t *ip, bool v6, size_t l4_len, uint8_t proto)
{
    uint8_t tail[8] = {0};
    uint64_t sum = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);

    floe_store_be32(tail, (uint32_t)l4_len);
    tail[7] = proto;
    return csum_add(sum, tail, 8);
}

/* Complete a partial checksum the kernel left (NEEDS_CSUM without GSO). */
static int gso_complete_csum(const struct wgd_vnet_hdr *h, uint8_t *pkt, size_t len)
{
    size_t at = (size_t)h->csum_start + h->csum_offset;

    if (h->csum_start >= len || at + 2 > len)
        return -1;
    csum_store(pkt + at, csum_fold(csum_add(0, pkt + h->csum_start, len - h->csum_start)));
    return 0;
}

/* Fix the IP header of one segment of total length len, the index-th of its packet. */
static void gso_fix_ip(uint8_t *seg, bool v6, size_t len, unsigned index)
{
    if (v6) {
        floe_store_be16(seg + 4, (uint16_t)(len - 40));
        return;
    }
    floe_store_be16(seg + 2, (uint16_t)len);
    floe_store_be16(seg + 4, (uint16_t)(floe_load_be16(seg + 4) + index));
    seg[10] = seg[11] = 0;
    csum_store(seg + 10, csum_fold(csum_add(0, seg, (size_t)(seg[0] & 0x0f) * 4)));
}

/* Fix the TCP header of one segment: sequence, flags, checksum. */
static void gso_fix_tcp(uint8_t *seg, bool v6, size_t l4, size_t len, uint32_t seq_add, bool first,
                        bool last)
{
    uint8_t *tcp = seg + l4;

    floe_store_be32(tcp + 4, floe_load_be32(tcp + 4) + seq_add);
    if (!last)
        tcp[13] &= (uint8_t) ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
    if (!first)
        tcp[13] &= (uint8_t)~TCP_FLAG_CWR;
    tcp[16] = tcp[17] = 0;
    csum_store(tcp + 16, csum_fold(csum_add(csum_pseudo(seg, v6, len - l4, 6), tcp, len - l4)));
}

/* Check the headers of a TCP super-packet; *hdr gets the IP + TCP header length. */
static int gso_check_tcp(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len, bool v6,
                         size_t *hdr)
{
    size_t l4 = h->csum_start;

    if (len < 20 || (pkt[0] >> 4) != (v6 ? 6 : 4) || h->gso_size == 0)
        return -1;
    if (v6 ? (l4 != 40 || pkt[6] != 6) : (l4 != (size_t)(pkt[0] & 0x0f) * 4 || pkt[9] != 6))
        return -1;
    if (l4 + 20 > len)
        return -1;
    *hdr = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
    if (*hdr < l4 + 20 || *hdr > len || *hdr + h->gso_size > WGD_SEG_MAX)
        return -1;
    return 0;
}

/* A packet without segmentation: copied, its partial checksum completed when asked. */
static int gso_single(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len,
                      uint8_t (*segs)[WGD_SEG_MAX], size_t *seg_len)
{
    if (len > WGD_SEG_MAX)
        return -1;
    memcpy(segs[0], pkt, len);
    seg_len[0] = len;
    if ((h->flags & VNET_F_NEEDS_CSUM) && gso_complete_csum(h, segs[0], len) != 0)
        return -1;
    return 1;
}

int wgd_gso_count(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len)
{
    uint8_t type = (uint8_t)(h->gso_type & ~VNET_GSO_ECN);
    bool v6 = type == VNET_GSO_TCPV6;
    size_t hdr;

    if (type == VNET_GSO_NONE)
        return len <= WGD_SEG_MAX ? 1 : -1;
    if ((type != VNET_GSO_TCPV4 && !v6) || gso_check_tcp(h, pkt, len, v6, &hdr) != 0 || hdr >= len)
        return -1;
    return (int)((len - hdr + h->gso_size - 1) / h->gso_size);
}

int wgd_gso_split_from(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len, unsigned first,
                       uint8_t (*segs)[WGD_SEG_MAX], size_t *seg_len, int max_segs)
{
    uint8_t type = (uint8_t)(h->gso_type & ~VNET_GSO_ECN);
    bool v6 = type == VNET_GSO_TCPV6;
    size_t hdr, off, chunk;
    int n;

    if (type == VNET_GSO_NONE)
        return first == 0 && max_segs > 0 ? gso_single(h, pkt, len, segs, seg_len) : -1;
    if ((type != VNET_GSO_TCPV4 && !v6) || gso_check_tcp(h, pkt, len, v6, &hdr) != 0 ||
        (size_t)first * h->gso_size >= len - hdr)
        return -1;
    off = hdr + (size_t)first * h->gso_size;
    for (n = 0; off < len && n < max_segs; n++, off += chunk) {
        unsigned index = first + (unsigned)n;

        chunk = len - off < h->gso_size ? len - off : h->gso_size;
        memcpy(segs[n], pkt, hdr);
        memcpy(segs[n] + hdr, pkt + off, chunk);
        seg_len[n] = hdr + chunk;
        gso_fix_ip(segs[n], v6, seg_len[n], index);
        gso_fix_tcp(segs[n], v6, h->csum_start, seg_len[n], (uint32_t)(off - hdr), index == 0,
                    off + chunk >= len);
    }
    return n > 0 ? n : -1;
}

int wgd_gso_split(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len,
                  uint8_t (*segs)[WGD_SEG_MAX], size_t *seg_len, int max_segs)
{
    return wgd_gso_split_from(h, pkt, len, 0, segs, seg_len, max_segs);
}

/* ------------------------------------------------------------ receive offload */

#define TCP_FLAG_ACK 0x10

/* A TCP segment that may be coalesced: its IP and TCP header lengths. */
struct gro_seg {
    bool v6;
    size_t l4, hdr;
};

/*
 * Whether pkt[0..len) can join a coalesced packet: IPv4 without options or fragments, or
 * IPv6 without extension headers; TCP with a payload and only ACK (and PSH) set; valid
 * checksums, which the CHECKSUM_PARTIAL packet written to TUN will not be checked for again.
 */
static bool gro_candidate(const uint8_t *pkt, size_t len, struct gro_seg *s)
{
    uint8_t flags;

    if (len >= 40 && pkt[0] == 0x45) {
        if (pkt[9] != 6 || (floe_load_be16(pkt + 6) & 0x3fff) != 0 ||
            floe_load_be16(pkt + 2) != len || csum_fold(csum_add(0, pkt, 20)) != 0)
            return false;
        s->v6 = false;
        s->l4 = 20;
    } else if (len >= 60 && pkt[0] >> 4 == 6) {
        if (pkt[6] != 6 || (size_t)floe_load_be16(pkt + 4) + 40 != len)
            return false;
        s->v6 = true;
        s->l4 = 40;
    } else {
        return false;
    }
    s->hdr = s->l4 + (size_t)(pkt[s->l4 + 12] >> 4) * 4;
    flags = pkt[s->l4 + 13];
    if (s->hdr < s->l4 + 20 || s->hdr >= len || (flags & ~TCP_FLAG_PSH) != TCP_FLAG_ACK)
        return false;
    return csum_fold(csum_add(csum_pseudo(pkt, s->v6, len - s->l4, 6), pkt + s->l4, len - s->l4)) ==
           0;
}

/*
 * IPv4 ID continuity, as the kernel's GRO asks: the segment's ID is the head's plus its
 * place in the packet (the IDs GSO will give when TUN cuts it again), or, with DF set, the
 * head's own ID for every segment (a sender that keeps the ID fixed).
 */
static bool gro_id_continues(const struct wgd_gro *g, const uint8_t *pkt)
{
    uint16_t head = floe_load_be16(g->head + 4), id = floe_load_be16(pkt + 4);

    if (id == (uint16_t)(head + g->n))
        return g->n == 1 || !g->id_fixed;
    return (pkt[6] & 0x40) && id == head && (g->n == 1 || g->id_fixed);
}

/* Whether segment pkt (candidate s) continues g's packet exactly. */
static bool gro_continues(const struct wgd_gro *g, const uint8_t *pkt, size_t len,
                          const struct gro_seg *s)
{
    const uint8_t *h = g->head, *th = h + g->l4, *tp = pkt + s->l4;
    size_t payload = len - s->hdr;

    if (g->closed || s->v6 != g->v6 || s->hdr != g->hdr || payload > g->gso_size ||
        g->total + payload > 65535 || g->n == WGD_GRO_MAX_SEGS)
        return false;
    if (g->v6 ? memcmp(h, pkt, 4) != 0 || h[7] != pkt[7] || memcmp(h + 8, pkt + 8, 32) != 0
              : h[1] != pkt[1] || (h[6] & 0x40) != (pkt[6] & 0x40) || h[8] != pkt[8] ||
                    memcmp(h + 12, pkt + 12, 8) != 0 || !gro_id_continues(g, pkt))
        return false; /* class/TOS, flow label, DF, TTL/hop limit, addresses, IPv4 ID */
    if (memcmp(th, tp, 4) != 0 || floe_load_be32(tp + 4) != g->next_seq ||
        memcmp(th + 8, tp + 8, 4) != 0 || th[12] != tp[12] || memcmp(th + 14, tp + 14, 2) != 0)
        return false; /* ports, sequence, ack, header length, window */
    return memcmp(th + 20, tp + 20, g->hdr - g->l4 - 20) == 0; /* options */
}

bool wgd_gro_add(struct wgd_gro *g, uint8_t *pkt, size_t len)
{
    struct gro_seg s;
    size_t payload;

    if (!gro_candidate(pkt, len, &s) || (g->n && !gro_continues(g, pkt, len, &s)))
        return false;
    payload = len - s.hdr;
    if (g->n == 0) {
        g->head = pkt;
        g->v6 = s.v6;
        g->l4 = s.l4;
        g->hdr = s.hdr;
        g->total = len;
        g->gso_size = (uint16_t)payload;
        g->iov[1] = (struct iovec){.iov_base = pkt, .iov_len = len};
    } else {
        g->total += payload;
        g->iov[g->n + 1] = (struct iovec){.iov_base = pkt + s.hdr, .iov_len = payload};
        g->head[g->l4 + 13] |= pkt[s.l4 + 13] & TCP_FLAG_PSH;
        if (g->n == 1 && !g->v6)
            g->id_fixed = floe_load_be16(pkt + 4) == floe_load_be16(g->head + 4);
    }
    g->n++;
    g->next_seq = floe_load_be32(pkt + s.l4 + 4) + (uint32_t)payload;
    /* A short segment or a push ends the packet, as the kernel's GRO does. */
    g->closed = payload < g->gso_size || (pkt[s.l4 + 13] & TCP_FLAG_PSH);
    return true;
}

int wgd_gro_finish(struct wgd_gro *g)
{
    uint8_t *h = g->head, *th;
    int n = (int)g->n;

    memset(g->vnet, 0, sizeof(g->vnet));
    g->iov[0] = (struct iovec){.iov_base = g->vnet, .iov_len = sizeof(g->vnet)};
    g->n = 0;
    if (n <= 1)
        return n ? 2 : 0; /* one segment: as it came, "nothing to do" */
    th = h + g->l4;
    if (g->v6) {
        floe_store_be16(h + 4, (uint16_t)(g->total - 40));
    } else {
        floe_store_be16(h + 2, (uint16_t)g->total);
        h[10] = h[11] = 0;
        csum_store(h + 10, csum_fold(csum_add(0, h, 20)));
    }
    /* CHECKSUM_PARTIAL: the pseudo-header sum, folded, not complemented. */
    th[16] = th[17] = 0;
    csum_store(th + 16, (uint16_t)~csum_fold(csum_pseudo(h, g->v6, g->total - g->l4, 6)));
    g->vnet[0] = VNET_F_NEEDS_CSUM;
    g->vnet[1] = g->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
    floe_store_le16(g->vnet + 2, (uint16_t)g->hdr);
    floe_store_le16(g->vnet + 4, g->gso_size);
    floe_store_le16(g->vnet + 6, (uint16_t)g->l4);
    floe_store_le16(g->vnet + 8, 16);
    return n + 1;
}
