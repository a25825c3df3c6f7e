/*
 * floe offload: TCP segmentation of super-packets (lengths, sequence numbers, flags, IP and
 * TCP checksums checked by an independent summer), cutting in runs, malformed headers
 * refused, and the receive coalescing (round trip through the split, what joins and what
 * does not: checksums, flags, flows, sequence gaps, IPv4 IDs).
 */
#include <stdlib.h>
#include <string.h>

#include "floe/offload.h"
#include "test.h"

/* Segments one split makes at most here (floe-wg encrypts 128 at once). */
#define OT_MAX_SEGS 128

/* The Internet checksum over p[0..len), computed plainly 16 bits at a time. */
static uint16_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* True when the TCP checksum of an IPv4 or IPv6 segment verifies. */
static bool tcp_csum_ok(const uint8_t *pkt, size_t len, bool v6)
{
    size_t l4 = v6 ? 40 : (size_t)(pkt[0] & 15) * 4;
    uint32_t sum = v6 ? ref_sum(0, pkt + 8, 32) : ref_sum(0, pkt + 12, 8);

    sum += 6 + (uint32_t)(len - l4);
    return ref_sum(sum, pkt + l4, len - l4) == 0xffff;
}

/* A TCP super-packet: IP header, 20-byte TCP header with seq 1000 and flags, payload. */
static size_t make_super(uint8_t *pkt, bool v6, size_t payload, uint8_t flags)
{
    size_t l4 = v6 ? 40 : 20, i;

    memset(pkt, 0, l4 + 20);
    if (v6) {
        pkt[0] = 0x60;
        pkt[6] = 6;
        pkt[7] = 64;
        pkt[23] = 1;
        pkt[39] = 2;
    } else {
        pkt[0] = 0x45;
        floe_store_be16(pkt + 4, 0x1234);
        pkt[8] = 64;
        pkt[9] = 6;
        pkt[12] = 10, pkt[15] = 1;
        pkt[16] = 10, pkt[19] = 2;
    }
    floe_store_be16(pkt + l4, 40000);
    floe_store_be16(pkt + l4 + 2, 5001);
    floe_store_be32(pkt + l4 + 4, 1000);
    pkt[l4 + 12] = 5 << 4;
    pkt[l4 + 13] = flags;
    for (i = 0; i < payload; i++)
        pkt[l4 + 20 + i] = (uint8_t)(i * 7);
    return l4 + 20 + payload;
}

static void check_segments(bool v6)
{
    static uint8_t pkt[70000], segs[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX];
    size_t seg_len[OT_MAX_SEGS], l4 = v6 ? 40 : 20, payload = 10000, got = 0;
    struct floe_offload h = {
        .kind = v6 ? FLOE_OFFLOAD_TCPV6 : FLOE_OFFLOAD_TCPV4, .needs_csum = true, .seg_size = 1380};
    size_t len = make_super(pkt, v6, payload, 0x18 | 0x01); /* PSH ACK FIN */
    int n, i;

    h.csum_start = (uint16_t)l4;
    h.csum_offset = 16;
    n = floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS);
    REQUIRE(n == 8); /* 7 x 1380 + 340 */
    for (i = 0; i < n; i++) {
        size_t plen = seg_len[i] - l4 - 20;

        CHECK_EQ(plen, i < 7 ? 1380 : 340);
        CHECK_EQ(floe_load_be32(segs[i] + l4 + 4), 1000 + got);
        CHECK_MEM(segs[i] + l4 + 20, pkt + l4 + 20 + got, plen);
        CHECK_EQ(segs[i][l4 + 13] & 0x09, i == n - 1 ? 0x09 : 0); /* FIN, PSH on the last */
        CHECK(tcp_csum_ok(segs[i], seg_len[i], v6));
        if (v6) {
            CHECK_EQ(floe_load_be16(segs[i] + 4), seg_len[i] - 40);
        } else {
            CHECK_EQ(floe_load_be16(segs[i] + 2), seg_len[i]);
            CHECK_EQ(floe_load_be16(segs[i] + 4), 0x1234 + i);
            CHECK_EQ(ref_sum(0, segs[i], 20), 0xffff);
        }
        got += plen;
    }
    CHECK_EQ(got, payload);
}

static void test_gso_tcp4_and_tcp6(void)
{
    check_segments(false);
    check_segments(true);
}

static void test_gso_completes_partial_checksum(void)
{
    static uint8_t pkt[2000], segs[1][FLOE_OFFLOAD_SEG_MAX];
    size_t seg_len[1], len = make_super(pkt, false, 500, 0x10);
    struct floe_offload h = {.needs_csum = true, .csum_start = 20, .csum_offset = 16};
    uint16_t partial;

    /* The kernel leaves the folded pseudo-header sum in the checksum field. */
    partial = ref_sum((uint32_t)(6 + len - 20), pkt + 12, 8);
    floe_store_be16(pkt + 36, partial);
    REQUIRE(floe_offload_split(&h, pkt, len, 0, segs, seg_len, 1) == 1);
    CHECK_EQ(seg_len[0], len);
    CHECK(tcp_csum_ok(segs[0], seg_len[0], false));
}

static void test_gso_rejects_malformed(void)
{
    static uint8_t pkt[2000], segs[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX];
    size_t seg_len[OT_MAX_SEGS], len = make_super(pkt, false, 1500, 0x10);
    struct floe_offload h = {.kind = FLOE_OFFLOAD_TCPV4,
                             .needs_csum = true,
                             .seg_size = 1000,
                             .csum_start = 20,
                             .csum_offset = 16};

    CHECK_EQ(floe_offload_split(&h, pkt, 30, 0, segs, seg_len, OT_MAX_SEGS), -1); /* truncated */
    h.csum_start = 24; /* not where the IP header ends */
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS), -1);
    h.csum_start = 20;
    h.seg_size = 0;
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS), -1);
    h.seg_size = 1000;
    /* More segments than room: the first run, then the rest from where it stopped. */
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, 1), 1);
    CHECK_EQ(floe_offload_count(&h, pkt, len), 2);
    CHECK_EQ(floe_offload_split(&h, pkt, len, 1, segs, seg_len, 1), 1);
    CHECK_EQ(floe_offload_split(&h, pkt, len, 2, segs, seg_len, 1), -1); /* past the end */
    h.kind = FLOE_OFFLOAD_OTHER;                                         /* UDP_L4: not asked for */
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS), -1);
    h.kind = FLOE_OFFLOAD_NONE;
    h.csum_offset = 2000; /* checksum field past the end */
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS), -1);
    pkt[9] = 17; /* a TCPv4 super-packet that is UDP */
    h.kind = FLOE_OFFLOAD_TCPV4;
    h.csum_offset = 16;
    CHECK_EQ(floe_offload_split(&h, pkt, len, 0, segs, seg_len, OT_MAX_SEGS), -1);
}

/*
 * A 64 KB super-packet with a small MSS (200: 320 segments) is cut in runs of OT_MAX_SEGS,
 * not dropped: sequence numbers, IPv4 IDs and flags continue across the runs.
 */
static void test_gso_splits_more_than_max_segments(void)
{
    static uint8_t pkt[70000], segs[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX];
    size_t seg_len[OT_MAX_SEGS], payload = 64000, got = 0, len;
    struct floe_offload h = {.kind = FLOE_OFFLOAD_TCPV4,
                             .needs_csum = true,
                             .seg_size = 200,
                             .csum_start = 20,
                             .csum_offset = 16};
    unsigned first = 0, runs = 0;
    int n, i;

    len = make_super(pkt, false, payload, 0x18 | 0x01);
    REQUIRE(floe_offload_count(&h, pkt, len) == 320);
    while (first < 320 &&
           (n = floe_offload_split(&h, pkt, len, first, segs, seg_len, OT_MAX_SEGS)) > 0) {
        CHECK_EQ(n, first + OT_MAX_SEGS <= 320 ? OT_MAX_SEGS : 320 - (int)first);
        for (i = 0; i < n; i++) {
            unsigned index = first + (unsigned)i;

            CHECK_EQ(seg_len[i], 40u + 200u);
            CHECK_EQ(floe_load_be32(segs[i] + 24), 1000 + got);
            CHECK_EQ(floe_load_be16(segs[i] + 4), (uint16_t)(0x1234 + index));
            CHECK_EQ(segs[i][33] & 0x09, index == 319 ? 0x09 : 0);
            CHECK_MEM(segs[i] + 40, pkt + 40 + got, 200);
            CHECK(tcp_csum_ok(segs[i], seg_len[i], false));
            CHECK_EQ(ref_sum(0, segs[i], 20), 0xffff);
            got += 200;
        }
        first += (unsigned)n;
        runs++;
    }
    CHECK_EQ(first, 320u);
    CHECK_EQ(runs, 3u);
    CHECK_EQ(got, payload);
}

/* ------------------------------------------------------------ receive offload */

/* The description of the last gro_finish. */
static struct floe_offload last_o;

/* Finish g, keeping its description in last_o; the number of parts. */
static int gro_finish(struct floe_offload_gro *g)
{
    return floe_offload_gro_finish(g, &last_o);
}

static uint8_t gro_segs[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX];
static size_t gro_seg_len[OT_MAX_SEGS];

/* A super-packet of payload bytes (flags, source port) cut into 1380-byte segments. */
static int gro_split(bool v6, size_t payload, uint8_t flags, uint16_t sport)
{
    static uint8_t pkt[70000];
    struct floe_offload h = {
        .kind = v6 ? FLOE_OFFLOAD_TCPV6 : FLOE_OFFLOAD_TCPV4, .needs_csum = true, .seg_size = 1380};
    size_t len = make_super(pkt, v6, payload, flags);

    floe_store_be16(pkt + (v6 ? 40 : 20), sport);
    h.csum_start = v6 ? 40 : 20;
    h.csum_offset = 16;
    return floe_offload_split(&h, pkt, len, 0, gro_segs, gro_seg_len, OT_MAX_SEGS);
}

/* Cut, coalesce, cut again: the same segments; the coalesced packet is what TUN expects. */
static void check_gro_round_trip(bool v6)
{
    static uint8_t flat[70000], again[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX],
        orig[OT_MAX_SEGS][FLOE_OFFLOAD_SEG_MAX];
    size_t again_len[OT_MAX_SEGS], l4 = v6 ? 40 : 20, off = 0;
    struct floe_offload_gro g;
    struct floe_offload h;
    int n = gro_split(v6, 10000, 0x18, 40000), i, parts;
    uint32_t pseudo;

    REQUIRE(n == 8);
    memcpy(orig, gro_segs, sizeof(orig));
    memset(&g, 0, sizeof(g));
    for (i = 0; i < n; i++)
        CHECK(floe_offload_gro_add(&g, gro_segs[i], gro_seg_len[i]));
    parts = floe_offload_gro_finish(&g, &h);
    REQUIRE(parts == n);
    CHECK_EQ(g.n, 0u);
    for (i = 0; i < parts; i++) {
        memcpy(flat + off, g.part[i].ptr, g.part[i].len);
        off += g.part[i].len;
    }
    CHECK_EQ(off, l4 + 20 + 10000);
    CHECK(h.needs_csum);
    CHECK(h.kind == (v6 ? FLOE_OFFLOAD_TCPV6 : FLOE_OFFLOAD_TCPV4));
    CHECK_EQ(h.hdr_len, l4 + 20);
    CHECK_EQ(h.seg_size, 1380);
    CHECK_EQ(h.csum_start, l4);
    CHECK_EQ(h.csum_offset, 16);
    if (v6) {
        CHECK_EQ(floe_load_be16(flat + 4), off - 40);
        pseudo = ref_sum((uint32_t)(6 + off - 40), flat + 8, 32);
    } else {
        CHECK_EQ(floe_load_be16(flat + 2), off);
        CHECK_EQ(ref_sum(0, flat, 20), 0xffff);
        pseudo = ref_sum((uint32_t)(6 + off - 20), flat + 12, 8);
    }
    CHECK_EQ(floe_load_be16(flat + l4 + 16), pseudo); /* CHECKSUM_PARTIAL: the pseudo sum */
    CHECK_EQ(flat[l4 + 13], 0x18);                    /* the last segment's push */
    REQUIRE(floe_offload_split(&h, flat, off, 0, again, again_len, OT_MAX_SEGS) == n);
    for (i = 0; i < n; i++) {
        CHECK_EQ(again_len[i], gro_seg_len[i]);
        CHECK_MEM(again[i], orig[i], gro_seg_len[i]);
    }
}

static void test_gro_round_trip_tcp4_and_tcp6(void)
{
    check_gro_round_trip(false);
    check_gro_round_trip(true);
}

/* Set the IPv4 ID of seg (DF too when df) and fix its header checksum. */
static void set_ip_id(uint8_t *seg, uint16_t id, bool df)
{
    floe_store_be16(seg + 4, id);
    seg[6] = df ? 0x40 : 0;
    seg[10] = seg[11] = 0;
    floe_store_be16(seg + 10, (uint16_t)~ref_sum(0, seg, 20));
}

/* IPv4 IDs: ID + index joins; a jump does not; DF with one fixed ID joins, mixed does not. */
static void check_gro_ip_ids(struct floe_offload_gro *g)
{
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[1], 0x1234 + 5, false); /* IDs 0x1234, 0x1239: not a continuation */
    CHECK(floe_offload_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(!floe_offload_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(gro_finish(g), 1);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[0], 7, true);
    set_ip_id(gro_segs[1], 7, true);
    set_ip_id(gro_segs[2], 7, true);
    CHECK(floe_offload_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(floe_offload_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK(floe_offload_gro_add(g, gro_segs[2], gro_seg_len[2]));
    CHECK_EQ(gro_finish(g), 3);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[0], 7, true);
    set_ip_id(gro_segs[1], 7, true);
    set_ip_id(gro_segs[2], 9, true); /* fixed, then incrementing: ends the packet */
    CHECK(floe_offload_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(floe_offload_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK(!floe_offload_gro_add(g, gro_segs[2], gro_seg_len[2]));
    CHECK_EQ(gro_finish(g), 2);
    REQUIRE(gro_split(false, 1380 * 2, 0x10, 40000) == 2);
    set_ip_id(gro_segs[0], 7, false);
    set_ip_id(gro_segs[1], 7, false); /* the same ID without DF: not joined */
    CHECK(floe_offload_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(!floe_offload_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(gro_finish(g), 1);
}

static void test_gro_joins_only_what_continues(void)
{
    static uint8_t other[FLOE_OFFLOAD_SEG_MAX], flow_a[4][FLOE_OFFLOAD_SEG_MAX];
    struct floe_offload_gro g;
    uint8_t save;

    memset(&g, 0, sizeof(g));
    REQUIRE(gro_split(false, 1380 * 4, 0x10, 40000) == 4);
    /* Not candidates: a bad TCP checksum, a bad IP checksum, FIN, UDP, IP options, fragments. */
    gro_segs[0][40] ^= 1;
    CHECK(!floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    gro_segs[0][40] ^= 1;
    gro_segs[0][8]--;
    CHECK(!floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    gro_segs[0][8]++;
    for (save = 0; save < 4; save++) {
        static const size_t at[4] = {33, 9, 0, 6};
        static const uint8_t val[4] = {0x11, 17, 0x46, 0x20};
        uint8_t old = gro_segs[0][at[save]];

        gro_segs[0][at[save]] = val[save];
        CHECK(!floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
        gro_segs[0][at[save]] = old;
    }
    CHECK_EQ(g.n, 0u);
    /* A gap in the sequence; then another flow. */
    memcpy(flow_a, gro_segs, sizeof(flow_a));
    CHECK(floe_offload_gro_add(&g, flow_a[0], gro_seg_len[0]));
    CHECK(!floe_offload_gro_add(&g, flow_a[2], gro_seg_len[2]));
    CHECK(floe_offload_gro_add(&g, flow_a[1], gro_seg_len[1]));
    REQUIRE(gro_split(false, 1380 * 4, 0x10, 40001) == 4);
    CHECK(!floe_offload_gro_add(&g, gro_segs[2], gro_seg_len[2])); /* same sequence, other port */
    CHECK(floe_offload_gro_add(&g, flow_a[2], gro_seg_len[2]));
    CHECK_EQ(gro_finish(&g), 3);
    /* One segment: written as it is, under a "nothing to do" header. */
    memcpy(other, gro_segs[0], gro_seg_len[0]);
    CHECK(floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK_EQ(gro_finish(&g), 1);
    CHECK_MEM(gro_segs[0], other, gro_seg_len[0]);
    CHECK(last_o.kind == FLOE_OFFLOAD_NONE && !last_o.needs_csum);
    /* A short segment or a push ends the packet. */
    REQUIRE(gro_split(false, 1380 * 2 + 100, 0x18, 40000) == 3);
    CHECK(floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK(floe_offload_gro_add(&g, gro_segs[1], gro_seg_len[1]));
    CHECK(floe_offload_gro_add(&g, gro_segs[2], gro_seg_len[2])); /* 100 bytes, PSH */
    CHECK_EQ(gro_finish(&g), 3);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    gro_segs[0][33] = 0x18; /* a push in the middle (checksum fixed below) */
    gro_segs[0][36] = gro_segs[0][37] = 0;
    {
        uint32_t sum = ref_sum((uint32_t)(6 + gro_seg_len[0] - 20), gro_segs[0] + 12, 8);
        uint16_t c = (uint16_t)~ref_sum(sum, gro_segs[0] + 20, gro_seg_len[0] - 20);

        floe_store_be16(gro_segs[0] + 36, c);
    }
    CHECK(floe_offload_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK(!floe_offload_gro_add(&g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(gro_finish(&g), 1);
    check_gro_ip_ids(&g);
}

int main(void)
{
    FLOE_RUN(test_gso_tcp4_and_tcp6);
    FLOE_RUN(test_gso_completes_partial_checksum);
    FLOE_RUN(test_gso_rejects_malformed);
    FLOE_RUN(test_gso_splits_more_than_max_segments);
    FLOE_RUN(test_gro_round_trip_tcp4_and_tcp6);
    FLOE_RUN(test_gro_joins_only_what_continues);
    return floe_test_summary();
}
