/*
 * Receive coalescing: decrypted TCP segments of one flow that follow each other exactly are
 * joined into one super-packet, written to the device in one call and passed through the
 * receiving stack once instead of once per segment (the kernel's GRO rules).
 */
#include "offload_int.h"

/* A TCP segment that may be coalesced: its IP and TCP header lengths. */
struct gro_seg {
    bool v6;
    size_t l4, hdr;
};

/* The IP part of gro_candidate: IPv4 without options or fragments, IPv6 without extensions. */
static bool gro_candidate_ip(const uint8_t *pkt, size_t len, struct gro_seg *s)
{
    if (len >= 40 && pkt[0] == 0x45) {
        if (pkt[9] != FLOE__IPPROTO_TCP || (floe_load_be16(pkt + 6) & 0x3fff) != 0 ||
            floe_load_be16(pkt + 2) != len || floe__csum_fold(floe__csum_add(0, pkt, 20)) != 0)
            return false;
        s->v6 = false;
        s->l4 = 20;
        return true;
    }
    if (len >= 60 && pkt[0] >> 4 == 6) {
        if (pkt[6] != FLOE__IPPROTO_TCP || (size_t)floe_load_be16(pkt + 4) + 40 != len)
            return false;
        s->v6 = true;
        s->l4 = 40;
        return true;
    }
    return false;
}

/*
 * Whether pkt[0..len) can join a coalesced packet: TCP with a payload and only ACK (and
 * PSH) set; valid checksums, which the partial-checksum packet written to the device will
 * not be checked for again.
 */
static bool gro_candidate(const uint8_t *pkt, size_t len, struct gro_seg *s)
{
    uint8_t flags;
    uint64_t sum;

    if (!gro_candidate_ip(pkt, len, s))
        return false;
    s->hdr = s->l4 + (size_t)(pkt[s->l4 + 12] >> 4) * 4;
    flags = pkt[s->l4 + 13];
    if (s->hdr < s->l4 + 20 || s->hdr >= len || (flags & ~FLOE__TCP_PSH) != FLOE__TCP_ACK)
        return false;
    sum = floe__csum_pseudo(pkt, s->v6, len - s->l4, FLOE__IPPROTO_TCP);
    return floe__csum_fold(floe__csum_add(sum, pkt + s->l4, len - s->l4)) == 0;
}

/*
 * IPv4 ID continuity, as the kernel's GRO asks: the segment's ID is the head's plus its
 * place in the packet (the IDs GSO will give when the device cuts it again), or, with DF
 * set, the head's own ID for every segment (a sender that keeps the ID fixed).
 */
static bool gro_id_continues(const struct floe_offload_gro *g, const uint8_t *pkt)
{
    uint16_t head = floe_load_be16(g->head + 4), id = floe_load_be16(pkt + 4);

    if (id == (uint16_t)(head + g->n))
        return g->n == 1 || !g->id_fixed;
    return (pkt[6] & 0x40) && id == head && (g->n == 1 || g->id_fixed);
}

/* Whether the IP headers match: class/TOS, flow label, DF, TTL/hop limit, addresses, ID. */
static bool gro_same_ip(const struct floe_offload_gro *g, const uint8_t *pkt)
{
    const uint8_t *h = g->head;

    if (g->v6)
        return memcmp(h, pkt, 4) == 0 && h[7] == pkt[7] && memcmp(h + 8, pkt + 8, 32) == 0;
    return h[1] == pkt[1] && (h[6] & 0x40) == (pkt[6] & 0x40) && h[8] == pkt[8] &&
           memcmp(h + 12, pkt + 12, 8) == 0 && gro_id_continues(g, pkt);
}

/* Whether segment pkt (candidate s) continues g's packet exactly. */
static bool gro_continues(const struct floe_offload_gro *g, const uint8_t *pkt, size_t len,
                          const struct gro_seg *s)
{
    const uint8_t *th = g->head + g->l4, *tp = pkt + s->l4;
    size_t payload = len - s->hdr;

    if (g->closed || s->v6 != g->v6 || s->hdr != g->hdr || payload > g->gso_size ||
        g->total + payload > 65535 || g->n == FLOE_OFFLOAD_GRO_MAX_SEGS)
        return false;
    if (!gro_same_ip(g, pkt))
        return false;
    if (memcmp(th, tp, 4) != 0 || floe_load_be32(tp + 4) != g->next_seq ||
        memcmp(th + 8, tp + 8, 4) != 0 || th[12] != tp[12] || memcmp(th + 14, tp + 14, 2) != 0)
        return false; /* ports, sequence, ack, header length, window */
    return memcmp(th + 20, tp + 20, g->hdr - g->l4 - 20) == 0; /* options */
}

bool floe_offload_gro_add(struct floe_offload_gro *g, uint8_t *pkt, size_t len)
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
        g->part[0] = (struct floe_span){.ptr = pkt, .len = len};
    } else {
        g->total += payload;
        g->part[g->n] = (struct floe_span){.ptr = pkt + s.hdr, .len = payload};
        g->head[g->l4 + 13] |= pkt[s.l4 + 13] & FLOE__TCP_PSH;
        if (g->n == 1 && !g->v6)
            g->id_fixed = floe_load_be16(pkt + 4) == floe_load_be16(g->head + 4);
    }
    g->n++;
    g->next_seq = floe_load_be32(pkt + s.l4 + 4) + (uint32_t)payload;
    /* A short segment or a push ends the packet, as the kernel's GRO does. */
    g->closed = payload < g->gso_size || (pkt[s.l4 + 13] & FLOE__TCP_PSH);
    return true;
}

int floe_offload_gro_finish(struct floe_offload_gro *g, struct floe_offload *o)
{
    uint8_t *h = g->head, *th;
    int n = (int)g->n;

    memset(o, 0, sizeof(*o));
    g->n = 0;
    if (n <= 1)
        return n; /* one segment: as it came */
    th = h + g->l4;
    if (g->v6) {
        floe_store_be16(h + 4, (uint16_t)(g->total - 40));
    } else {
        floe_store_be16(h + 2, (uint16_t)g->total);
        h[10] = h[11] = 0;
        floe__csum_store(h + 10, floe__csum_fold(floe__csum_add(0, h, 20)));
    }
    /* A partial checksum: the pseudo-header sum, folded, not complemented. */
    th[16] = th[17] = 0;
    floe__csum_store(th + 16, (uint16_t)~floe__csum_fold(floe__csum_pseudo(
                                  h, g->v6, g->total - g->l4, FLOE__IPPROTO_TCP)));
    o->kind = g->v6 ? FLOE_OFFLOAD_TCPV6 : FLOE_OFFLOAD_TCPV4;
    o->needs_csum = true;
    o->hdr_len = (uint16_t)g->hdr;
    o->seg_size = g->gso_size;
    o->csum_start = (uint16_t)g->l4;
    o->csum_offset = 16;
    return n;
}
