/*
 * floe-wg's pure parts: the allowed-IPs trie (longest prefix match, moves, removal, walk
 * order), TCP segmentation of virtio-net super-packets (lengths, sequence numbers, flags,
 * IP and TCP checksums checked by an independent summer), the command line, and the UDP
 * send path over loopback (order kept across GSO runs, a refused datagram dropped alone).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "wgd.h"

/* ----------------------------------------------------------- allowed IPs */

static struct wgd_peer peer_a, peer_b, peer_c;

static void add(struct wgd_aip *t, const char *cidr, struct wgd_peer *p)
{
    struct wgd_prefix pfx;

    if (wgd_prefix_parse(cidr, &pfx) != 0 || wgd_aip_insert(t, &pfx, p) != 0)
        abort();
}

static struct wgd_peer *look(const struct wgd_aip *t, const char *ip)
{
    struct floe_addr a;

    if (floe_addr_parse_ip(ip, &a) != 0)
        abort();
    return wgd_aip_lookup(t, a.family, a.ip);
}

static void test_prefix_parse(void)
{
    struct wgd_prefix p;

    CHECK_EQ(wgd_prefix_parse("10.1.2.3/8", &p), 0);
    CHECK_EQ(p.cidr, 8);
    CHECK_EQ(p.ip[0], 10);
    CHECK_EQ(p.ip[1], 0); /* host bits cleared */
    CHECK_EQ(wgd_prefix_parse("fd00::1/128", &p), 0);
    CHECK_EQ(p.family, FLOE_AF_INET6);
    CHECK_EQ(wgd_prefix_parse("10.0.0.1", &p), 0);
    CHECK_EQ(p.cidr, 32);
    CHECK_EQ(wgd_prefix_parse("10.0.0.0/33", &p), -1);
    CHECK_EQ(wgd_prefix_parse("::/129", &p), -1);
    CHECK_EQ(wgd_prefix_parse("10.0.0.0/", &p), -1);
    CHECK_EQ(wgd_prefix_parse("10.0.0.0/-1", &p), -1);
    CHECK_EQ(wgd_prefix_parse("10.0.0.0/8x", &p), -1);
    CHECK_EQ(wgd_prefix_parse("/8", &p), -1);
    CHECK_EQ(wgd_prefix_parse("bogus/8", &p), -1);
}

static void test_longest_prefix_wins(void)
{
    struct wgd_aip t = {0};

    add(&t, "0.0.0.0/0", &peer_a);
    add(&t, "10.0.0.0/8", &peer_b);
    add(&t, "10.1.0.0/16", &peer_c);
    add(&t, "10.1.2.3/32", &peer_a);
    CHECK(look(&t, "192.168.1.1") == &peer_a);
    CHECK(look(&t, "10.9.9.9") == &peer_b);
    CHECK(look(&t, "10.1.9.9") == &peer_c);
    CHECK(look(&t, "10.1.2.3") == &peer_a);
    CHECK(look(&t, "10.1.2.4") == &peer_c);
    CHECK(look(&t, "::1") == NULL); /* families are separate */
    add(&t, "fd00::/8", &peer_b);
    add(&t, "fd00:1::/32", &peer_c);
    CHECK(look(&t, "fd00:1::5") == &peer_c);
    CHECK(look(&t, "fd99::5") == &peer_b);
    CHECK(look(&t, "fe80::1") == NULL);
    wgd_aip_clear(&t);
    CHECK(t.root[0] == NULL && t.root[1] == NULL);
}

static void test_prefix_moves_and_removal(void)
{
    struct wgd_aip t = {0};
    struct wgd_prefix p;

    add(&t, "10.0.0.0/24", &peer_a);
    add(&t, "10.0.0.0/24", &peer_b); /* moves to b */
    CHECK(look(&t, "10.0.0.1") == &peer_b);
    REQUIRE(wgd_prefix_parse("10.0.0.0/24", &p) == 0);
    CHECK(!wgd_aip_remove(&t, &p, &peer_a)); /* not a's any more */
    CHECK(wgd_aip_remove(&t, &p, &peer_b));
    CHECK(look(&t, "10.0.0.1") == NULL);
    CHECK(t.root[0] == NULL); /* pruned */
    add(&t, "10.0.0.0/8", &peer_a);
    add(&t, "10.2.0.0/16", &peer_b);
    add(&t, "fd00::/16", &peer_a);
    wgd_aip_remove_peer(&t, &peer_a);
    CHECK(look(&t, "10.9.0.1") == NULL);
    CHECK(look(&t, "10.2.0.1") == &peer_b);
    CHECK(t.root[1] == NULL);
    wgd_aip_clear(&t);
}

struct walk_out {
    char text[512];
};

static void walk_fn(void *user, const struct wgd_prefix *p)
{
    struct walk_out *w = user;
    struct floe_addr a = {.family = p->family};
    char ip[FLOE_ADDR_STRLEN];
    size_t n = strlen(w->text);

    memcpy(a.ip, p->ip, 16);
    if (floe_addr_format_ip(&a, ip, sizeof(ip)) > 0)
        snprintf(w->text + n, sizeof(w->text) - n, "%s/%u ", ip, p->cidr);
}

static void test_walk_lists_a_peers_prefixes_in_order(void)
{
    struct wgd_aip t = {0};
    struct walk_out w = {{0}};

    add(&t, "fd00::/64", &peer_a);
    add(&t, "10.79.1.0/24", &peer_a);
    add(&t, "10.79.0.0/16", &peer_a);
    add(&t, "10.80.0.1/32", &peer_b);
    add(&t, "0.0.0.0/0", &peer_a);
    wgd_aip_walk(&t, &peer_a, walk_fn, &w);
    CHECK_STR(w.text, "0.0.0.0/0 10.79.0.0/16 10.79.1.0/24 fd00::/64 ");
    wgd_aip_clear(&t);
}

/* ------------------------------------------------------------------- GSO */

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
    static uint8_t pkt[70000], segs[WGD_MAX_SEGS][WGD_SEG_MAX];
    size_t seg_len[WGD_MAX_SEGS], l4 = v6 ? 40 : 20, payload = 10000, got = 0;
    struct wgd_vnet_hdr h = {.flags = 1, .gso_type = v6 ? 4 : 1, .gso_size = 1380};
    size_t len = make_super(pkt, v6, payload, 0x18 | 0x01); /* PSH ACK FIN */
    int n, i;

    h.csum_start = (uint16_t)l4;
    h.csum_offset = 16;
    n = wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS);
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
    static uint8_t pkt[2000], segs[1][WGD_SEG_MAX];
    size_t seg_len[1], len = make_super(pkt, false, 500, 0x10);
    struct wgd_vnet_hdr h = {.flags = 1, .csum_start = 20, .csum_offset = 16};
    uint16_t partial;

    /* The kernel leaves the folded pseudo-header sum in the checksum field. */
    partial = ref_sum((uint32_t)(6 + len - 20), pkt + 12, 8);
    floe_store_be16(pkt + 36, partial);
    REQUIRE(wgd_gso_split(&h, pkt, len, segs, seg_len, 1) == 1);
    CHECK_EQ(seg_len[0], len);
    CHECK(tcp_csum_ok(segs[0], seg_len[0], false));
}

static void test_gso_rejects_malformed(void)
{
    static uint8_t pkt[2000], segs[WGD_MAX_SEGS][WGD_SEG_MAX];
    size_t seg_len[WGD_MAX_SEGS], len = make_super(pkt, false, 1500, 0x10);
    struct wgd_vnet_hdr h = {
        .flags = 1, .gso_type = 1, .gso_size = 1000, .csum_start = 20, .csum_offset = 16};

    CHECK_EQ(wgd_gso_split(&h, pkt, 30, segs, seg_len, WGD_MAX_SEGS), -1); /* truncated */
    h.csum_start = 24; /* not where the IP header ends */
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS), -1);
    h.csum_start = 20;
    h.gso_size = 0;
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS), -1);
    h.gso_size = 1000;
    /* More segments than room: the first run, then the rest from where it stopped. */
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, 1), 1);
    CHECK_EQ(wgd_gso_count(&h, pkt, len), 2);
    CHECK_EQ(wgd_gso_split_from(&h, pkt, len, 1, segs, seg_len, 1), 1);
    CHECK_EQ(wgd_gso_split_from(&h, pkt, len, 2, segs, seg_len, 1), -1); /* past the end */
    h.gso_type = 5;                                                      /* UDP_L4: not asked for */
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS), -1);
    h.gso_type = 0;
    h.csum_offset = 2000; /* checksum field past the end */
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS), -1);
    pkt[9] = 17; /* a TCPv4 super-packet that is UDP */
    h.gso_type = 1;
    h.csum_offset = 16;
    CHECK_EQ(wgd_gso_split(&h, pkt, len, segs, seg_len, WGD_MAX_SEGS), -1);
}

/*
 * A 64 KB super-packet with a small MSS (200: 320 segments) is cut in runs of WGD_MAX_SEGS,
 * not dropped: sequence numbers, IPv4 IDs and flags continue across the runs.
 */
static void test_gso_splits_more_than_max_segments(void)
{
    static uint8_t pkt[70000], segs[WGD_MAX_SEGS][WGD_SEG_MAX];
    size_t seg_len[WGD_MAX_SEGS], payload = 64000, got = 0, len;
    struct wgd_vnet_hdr h = {
        .flags = 1, .gso_type = 1, .gso_size = 200, .csum_start = 20, .csum_offset = 16};
    unsigned first = 0, runs = 0;
    int n, i;

    len = make_super(pkt, false, payload, 0x18 | 0x01);
    REQUIRE(wgd_gso_count(&h, pkt, len) == 320);
    while (first < 320 &&
           (n = wgd_gso_split_from(&h, pkt, len, first, segs, seg_len, WGD_MAX_SEGS)) > 0) {
        CHECK_EQ(n, first + WGD_MAX_SEGS <= 320 ? WGD_MAX_SEGS : 320 - (int)first);
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

static uint8_t gro_segs[WGD_MAX_SEGS][WGD_SEG_MAX];
static size_t gro_seg_len[WGD_MAX_SEGS];

/* A super-packet of payload bytes (flags, source port) cut into 1380-byte segments. */
static int gro_split(bool v6, size_t payload, uint8_t flags, uint16_t sport)
{
    static uint8_t pkt[70000];
    struct wgd_vnet_hdr h = {.flags = 1, .gso_type = v6 ? 4 : 1, .gso_size = 1380};
    size_t len = make_super(pkt, v6, payload, flags);

    floe_store_be16(pkt + (v6 ? 40 : 20), sport);
    h.csum_start = v6 ? 40 : 20;
    h.csum_offset = 16;
    return wgd_gso_split(&h, pkt, len, gro_segs, gro_seg_len, WGD_MAX_SEGS);
}

/* Cut, coalesce, cut again: the same segments; the coalesced packet is what TUN expects. */
static void check_gro_round_trip(bool v6)
{
    static uint8_t flat[70000], again[WGD_MAX_SEGS][WGD_SEG_MAX], orig[WGD_MAX_SEGS][WGD_SEG_MAX];
    size_t again_len[WGD_MAX_SEGS], l4 = v6 ? 40 : 20, off = 0;
    struct wgd_gro g;
    struct wgd_vnet_hdr h;
    int n = gro_split(v6, 10000, 0x18, 40000), i, iovcnt;
    uint32_t pseudo;

    REQUIRE(n == 8);
    memcpy(orig, gro_segs, sizeof(orig));
    memset(&g, 0, sizeof(g));
    for (i = 0; i < n; i++)
        CHECK(wgd_gro_add(&g, gro_segs[i], gro_seg_len[i]));
    iovcnt = wgd_gro_finish(&g);
    REQUIRE(iovcnt == n + 1);
    CHECK_EQ(g.n, 0u);
    for (i = 1; i < iovcnt; i++) {
        memcpy(flat + off, g.iov[i].iov_base, g.iov[i].iov_len);
        off += g.iov[i].iov_len;
    }
    CHECK_EQ(off, l4 + 20 + 10000);
    REQUIRE(g.iov[0].iov_len == 10);
    wgd_vnet_hdr_load(&h, g.iov[0].iov_base);
    CHECK_EQ(h.flags, 1);
    CHECK_EQ(h.gso_type, v6 ? 4 : 1);
    CHECK_EQ(h.hdr_len, l4 + 20);
    CHECK_EQ(h.gso_size, 1380);
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
    REQUIRE(wgd_gso_split(&h, flat, off, again, again_len, WGD_MAX_SEGS) == n);
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
static void check_gro_ip_ids(struct wgd_gro *g)
{
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[1], 0x1234 + 5, false); /* IDs 0x1234, 0x1239: not a continuation */
    CHECK(wgd_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(!wgd_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(wgd_gro_finish(g), 2);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[0], 7, true);
    set_ip_id(gro_segs[1], 7, true);
    set_ip_id(gro_segs[2], 7, true);
    CHECK(wgd_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(wgd_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK(wgd_gro_add(g, gro_segs[2], gro_seg_len[2]));
    CHECK_EQ(wgd_gro_finish(g), 4);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    set_ip_id(gro_segs[0], 7, true);
    set_ip_id(gro_segs[1], 7, true);
    set_ip_id(gro_segs[2], 9, true); /* fixed, then incrementing: ends the packet */
    CHECK(wgd_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(wgd_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK(!wgd_gro_add(g, gro_segs[2], gro_seg_len[2]));
    CHECK_EQ(wgd_gro_finish(g), 3);
    REQUIRE(gro_split(false, 1380 * 2, 0x10, 40000) == 2);
    set_ip_id(gro_segs[0], 7, false);
    set_ip_id(gro_segs[1], 7, false); /* the same ID without DF: not joined */
    CHECK(wgd_gro_add(g, gro_segs[0], gro_seg_len[0]));
    CHECK(!wgd_gro_add(g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(wgd_gro_finish(g), 2);
}

static void test_gro_joins_only_what_continues(void)
{
    static uint8_t other[WGD_SEG_MAX], flow_a[4][WGD_SEG_MAX];
    struct wgd_gro g;
    uint8_t save;

    memset(&g, 0, sizeof(g));
    REQUIRE(gro_split(false, 1380 * 4, 0x10, 40000) == 4);
    /* Not candidates: a bad TCP checksum, a bad IP checksum, FIN, UDP, IP options, fragments. */
    gro_segs[0][40] ^= 1;
    CHECK(!wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    gro_segs[0][40] ^= 1;
    gro_segs[0][8]--;
    CHECK(!wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    gro_segs[0][8]++;
    for (save = 0; save < 4; save++) {
        static const size_t at[4] = {33, 9, 0, 6};
        static const uint8_t val[4] = {0x11, 17, 0x46, 0x20};
        uint8_t old = gro_segs[0][at[save]];

        gro_segs[0][at[save]] = val[save];
        CHECK(!wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
        gro_segs[0][at[save]] = old;
    }
    CHECK_EQ(g.n, 0u);
    /* A gap in the sequence; then another flow. */
    memcpy(flow_a, gro_segs, sizeof(flow_a));
    CHECK(wgd_gro_add(&g, flow_a[0], gro_seg_len[0]));
    CHECK(!wgd_gro_add(&g, flow_a[2], gro_seg_len[2]));
    CHECK(wgd_gro_add(&g, flow_a[1], gro_seg_len[1]));
    REQUIRE(gro_split(false, 1380 * 4, 0x10, 40001) == 4);
    CHECK(!wgd_gro_add(&g, gro_segs[2], gro_seg_len[2])); /* same sequence, other port */
    CHECK(wgd_gro_add(&g, flow_a[2], gro_seg_len[2]));
    CHECK_EQ(wgd_gro_finish(&g), 4);
    /* One segment: written as it is, under a "nothing to do" header. */
    memcpy(other, gro_segs[0], gro_seg_len[0]);
    CHECK(wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK_EQ(wgd_gro_finish(&g), 2);
    CHECK_MEM(gro_segs[0], other, gro_seg_len[0]);
    CHECK_EQ(((uint8_t *)g.iov[0].iov_base)[0] | ((uint8_t *)g.iov[0].iov_base)[1], 0);
    /* A short segment or a push ends the packet. */
    REQUIRE(gro_split(false, 1380 * 2 + 100, 0x18, 40000) == 3);
    CHECK(wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK(wgd_gro_add(&g, gro_segs[1], gro_seg_len[1]));
    CHECK(wgd_gro_add(&g, gro_segs[2], gro_seg_len[2])); /* 100 bytes, PSH */
    CHECK_EQ(wgd_gro_finish(&g), 4);
    REQUIRE(gro_split(false, 1380 * 3, 0x10, 40000) == 3);
    gro_segs[0][33] = 0x18; /* a push in the middle (checksum fixed below) */
    gro_segs[0][36] = gro_segs[0][37] = 0;
    {
        uint32_t sum = ref_sum((uint32_t)(6 + gro_seg_len[0] - 20), gro_segs[0] + 12, 8);
        uint16_t c = (uint16_t)~ref_sum(sum, gro_segs[0] + 20, gro_seg_len[0] - 20);

        floe_store_be16(gro_segs[0] + 36, c);
    }
    CHECK(wgd_gro_add(&g, gro_segs[0], gro_seg_len[0]));
    CHECK(!wgd_gro_add(&g, gro_segs[1], gro_seg_len[1]));
    CHECK_EQ(wgd_gro_finish(&g), 2);
    check_gro_ip_ids(&g);
}

/* ------------------------------------------------------------- arguments */

static int parse(struct wgd_opts *o, char *err, int argc, const char **argv)
{
    return wgd_parse_args(argc, (char **)argv, o, err, 256);
}

static void test_args(void)
{
    struct wgd_opts o;
    char err[256];
    const char *ok[] = {"floe-wg", "-f", "--log-level", "debug", "--no-offload", "wg7"};
    const char *bad_level[] = {"floe-wg", "--log-level", "loud", "wg0"};
    const char *two[] = {"floe-wg", "wg0", "wg1"};
    const char *none[] = {"floe-wg"};
    const char *long_name[] = {"floe-wg", "sixteen-chars-xx"};

    unsetenv("WG_PROCESS_FOREGROUND");
    REQUIRE(parse(&o, err, 6, ok) == 0);
    CHECK_STR(o.ifname, "wg7");
    CHECK(o.foreground && o.no_offload);
    CHECK_EQ(o.log_level, FLOE_LOG_DEBUG);
    CHECK_EQ(parse(&o, err, 4, bad_level), -1);
    CHECK(strstr(err, "loud") != NULL);
    CHECK_EQ(parse(&o, err, 3, two), -1);
    CHECK(strstr(err, "wg1") != NULL);
    CHECK_EQ(parse(&o, err, 1, none), -1);
    CHECK_EQ(parse(&o, err, 2, long_name), -1);
    setenv("WG_PROCESS_FOREGROUND", "1", 1);
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK(o.foreground);
    unsetenv("WG_PROCESS_FOREGROUND");
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK(!o.foreground);
    CHECK_EQ(o.clock_rate, 1u);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "20", 1);
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK_EQ(o.clock_rate, 20u);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "0", 1);
    CHECK_EQ(parse(&o, err, 2, two), -1);
    CHECK(strstr(err, "FLOE_WG_TEST_CLOCK_RATE") != NULL);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "5x", 1);
    CHECK_EQ(parse(&o, err, 2, two), -1);
    unsetenv("FLOE_WG_TEST_CLOCK_RATE");
}

/* ---------------------------------------------------------------- UDP send */

/* A UDP socket on 127.0.0.1; *port gets its port. */
static int udp_receiver(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), buf = 1 << 20;

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Queue a datagram of len bytes numbered seq (its first two bytes) to dst. */
static void tx_add(struct wgd *d, const char *ip, uint16_t port, uint16_t seq, size_t len)
{
    struct wgd_tx *t = &d->tx[d->n_tx++];

    if (floe_addr_parse_ip(ip, &t->dst) != 0)
        abort();
    t->dst.port = port;
    memset(t->buf, 0, len);
    floe_store_be16(t->buf, seq);
    t->len = len;
}

static void test_udp_flush_keeps_order_and_drops_only_refused(void)
{
    static struct wgd d;
    uint8_t buf[WGD_TX_MAX];
    uint16_t port, i, want = 0;
    int rx = udp_receiver(&port);
    ssize_t n;

    d.udp_fd = d.ep_fd = -1;
    REQUIRE(floe_jsonlog_open(&d.log, NULL, FLOE_LOG_OFF) == 0);
    REQUIRE((d.tx = calloc(WGD_TX_SLOTS, sizeof(*d.tx))) != NULL);
    REQUIRE(wgd_udp_open(&d, 0) == 0);
    /* GSO runs of 120-byte datagrams cut by shorter ones; #70 goes where the kernel refuses. */
    for (i = 0; i < WGD_TX_SLOTS; i++)
        tx_add(&d, i == 70 ? "255.255.255.255" : "127.0.0.1", port, i, i % 40 == 39 ? 50 : 120);
    wgd_udp_flush(&d);
    CHECK_EQ(d.n_tx, 0u);
    CHECK_EQ(d.udp_tx.stats.errors, 1u);
    CHECK_EQ(d.udp_tx.stats.full, 0u);
    while ((n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        if (want == 70)
            want++;
        CHECK_EQ(floe_load_be16(buf), want);
        CHECK_EQ((size_t)n, want % 40 == 39 ? 50u : 120u);
        want++;
    }
    CHECK_EQ(want, WGD_TX_SLOTS);
    close(rx);
    close(d.udp_fd);
    free(d.tx);
    floe_jsonlog_close(&d.log);
}

/* The socket's SO_MARK (-1 when it cannot be read). */
static long sock_mark(int fd)
{
    uint32_t mark = 0;
    socklen_t len = sizeof(mark);

    return getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) == 0 ? (long)mark : -1;
}

/* Run one UAPI request (lines separated by \n, ending in an empty line) into resp. */
static void uapi_request(struct wgd *d, const char *req, char *resp, size_t cap)
{
    struct wgd_conn c;
    char line[256];
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const char *p = req, *nl;

    REQUIRE(out != NULL);
    memset(&c, 0, sizeof(c));
    while ((nl = strchr(p, '\n'))) {
        snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
        (void)wgd_uapi_line(d, &c, line, out, FLOE_SEC(1));
        p = nl + 1;
    }
    fclose(out);
    snprintf(resp, cap, "%s", text ? text : "");
    free(text);
}

/* `wg set wg0 fwmark off` sends fwmark=0: the socket's old mark must go, and get says so. */
static void test_fwmark_off_clears_the_mark(void)
{
    static struct wgd d;
    char resp[4096];

    d.udp_fd = d.ep_fd = -1;
    REQUIRE(floe_jsonlog_open(&d.log, NULL, FLOE_LOG_OFF) == 0);
    REQUIRE(wgd_udp_open(&d, 0) == 0);
    uapi_request(&d, "set=1\nfwmark=51820\n\n", resp, sizeof(resp));
    CHECK_STR(resp, "errno=0\n\n");
    CHECK_EQ(sock_mark(d.udp_fd), 51820);
    uapi_request(&d, "get=1\n\n", resp, sizeof(resp));
    CHECK(strstr(resp, "fwmark=51820\n") != NULL);
    uapi_request(&d, "set=1\nfwmark=0\n\n", resp, sizeof(resp));
    CHECK_STR(resp, "errno=0\n\n");
    CHECK_EQ(sock_mark(d.udp_fd), 0);
    uapi_request(&d, "get=1\n\n", resp, sizeof(resp));
    CHECK(strstr(resp, "fwmark=") == NULL);
    CHECK(strstr(resp, "errno=0\n") != NULL);
    close(d.udp_fd);
    floe_jsonlog_close(&d.log);
}

int main(void)
{
    FLOE_RUN(test_prefix_parse);
    FLOE_RUN(test_longest_prefix_wins);
    FLOE_RUN(test_prefix_moves_and_removal);
    FLOE_RUN(test_walk_lists_a_peers_prefixes_in_order);
    FLOE_RUN(test_gso_tcp4_and_tcp6);
    FLOE_RUN(test_gso_completes_partial_checksum);
    FLOE_RUN(test_gso_rejects_malformed);
    FLOE_RUN(test_gso_splits_more_than_max_segments);
    FLOE_RUN(test_gro_round_trip_tcp4_and_tcp6);
    FLOE_RUN(test_gro_joins_only_what_continues);
    FLOE_RUN(test_args);
    FLOE_RUN(test_udp_flush_keeps_order_and_drops_only_refused);
    FLOE_RUN(test_fwmark_off_clears_the_mark);
    return floe_test_summary();
}
