/*
 * libFuzzer target for the segmentation offload (src/offload): the TCP super-packets read
 * from TUN (floe_offload_split, floe_offload_count) and the coalescing of decrypted
 * segments, which a peer controls (floe_offload_gro_add, floe_offload_gro_finish). The
 * first input byte picks the mode:
 *   0  bytes 1..10 a virtio-net header (as the Linux TUN driver reads it), the rest a
 *      packet from TUN: split in runs of 1 + byte 1 % WGD_MAX_SEGS segments
 *   1  records of [2-byte big-endian length][packet] coalesced as the data path delivers
 *   2  as 0, then the segments are coalesced and the result split again: the same bytes
 * Invariants abort so the fuzzer reports them: no segment over WGD_SEG_MAX, the runs cover
 * floe_offload_count segments, a coalesced packet at most 64 KiB of at most
 * FLOE_OFFLOAD_GRO_MAX_SEGS.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/offload.h"

#define WGD_SEG_MAX FLOE_OFFLOAD_SEG_MAX
#define WGD_MAX_SEGS 128
#define WGD_GRO_MAX_SEGS FLOE_OFFLOAD_GRO_MAX_SEGS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEGS 512
#define FUZZ_VNET 10

static uint8_t fuzz_segs[FUZZ_SEGS][WGD_SEG_MAX];
static size_t fuzz_len[FUZZ_SEGS];

/* The 10-byte virtio-net header at p (little-endian fields) as an offload description. */
static void fuzz_vnet_load(struct floe_offload *o, const uint8_t *p)
{
    uint8_t type = p[1] & 0x7f;

    memset(o, 0, sizeof(*o));
    o->kind = type == 0   ? FLOE_OFFLOAD_NONE
              : type == 1 ? FLOE_OFFLOAD_TCPV4
              : type == 4 ? FLOE_OFFLOAD_TCPV6
                          : FLOE_OFFLOAD_OTHER;
    o->needs_csum = p[0] & 1;
    o->ecn = p[1] & 0x80;
    o->hdr_len = floe_load_le16(p + 2);
    o->seg_size = floe_load_le16(p + 4);
    o->csum_start = floe_load_le16(p + 6);
    o->csum_offset = floe_load_le16(p + 8);
}

/* Split pkt in runs of `run` segments into fuzz_segs. Returns the count or -1. */
static int fuzz_split(const struct floe_offload *h, const uint8_t *pkt, size_t len, int run)
{
    int total = floe_offload_count(h, pkt, len), done = 0, n = 0, i;

    while (done < total && done < FUZZ_SEGS) {
        int room = FUZZ_SEGS - done < run ? FUZZ_SEGS - done : run;

        n = floe_offload_split(h, pkt, len, (unsigned)done, fuzz_segs + done, fuzz_len + done,
                               room);
        if (n <= 0 && done == 0)
            return -1; /* malformed in a way only the split sees (a checksum offset) */
        if (n <= 0 || n > room)
            abort(); /* a later run of a packet whose first run was fine */
        for (i = 0; i < n; i++) {
            if (fuzz_len[done + i] > WGD_SEG_MAX)
                abort();
        }
        done += n;
    }
    if (total >= 0 && done < FUZZ_SEGS && done != total)
        abort();
    return total < 0 ? -1 : done;
}

/* Check a finished coalesced packet: bounded in segments and bytes. */
static void fuzz_check_gro(const struct floe_offload_gro *g, int parts, size_t *flat_len)
{
    size_t total = 0;
    int i;

    if (parts < 0 || parts > WGD_GRO_MAX_SEGS)
        abort();
    for (i = 0; i < parts; i++)
        total += g->part[i].len;
    if (parts > 1 && total > 65535)
        abort();
    if (flat_len)
        *flat_len = total;
}

/* Offer each segment to g as floe-wg's receive path does; finish when one cannot join. */
static void fuzz_coalesce(struct floe_offload_gro *g, int n)
{
    struct floe_offload o;
    int i;

    for (i = 0; i < n; i++) {
        if (floe_offload_gro_add(g, fuzz_segs[i], fuzz_len[i]))
            continue;
        fuzz_check_gro(g, floe_offload_gro_finish(g, &o), NULL);
        if (floe_offload_gro_add(g, fuzz_segs[i], fuzz_len[i]))
            continue;
    }
    fuzz_check_gro(g, floe_offload_gro_finish(g, &o), NULL);
}

/* Mode 1: length-prefixed packets into the segment buffers, then coalesced. */
static void fuzz_records(const uint8_t *p, size_t len)
{
    struct floe_offload_gro g;
    int n = 0;

    memset(&g, 0, sizeof(g));
    while (len >= 2 && n < FUZZ_SEGS) {
        size_t l = floe_load_be16(p);

        p += 2, len -= 2;
        if (l > len || l > WGD_SEG_MAX)
            break;
        memcpy(fuzz_segs[n], p, l);
        fuzz_len[n++] = l;
        p += l, len -= l;
    }
    fuzz_coalesce(&g, n);
}

/*
 * Whether segment a is segment b as the second split gives it back: the same bytes, except
 * for IPv4 segments that all carried one ID (DF set): GSO numbers them again, as it may.
 */
static bool fuzz_same(const uint8_t *a, const uint8_t *b, size_t len, bool fixed_id)
{
    if (!fixed_id)
        return memcmp(a, b, len) == 0;
    return memcmp(a, b, 4) == 0 && memcmp(a + 6, b + 6, 4) == 0 &&
           memcmp(a + 12, b + 12, len - 12) == 0;
}

/* Mode 2: split, coalesce one packet, split it again: the segments come back unchanged. */
static void fuzz_round_trip(int n)
{
    static uint8_t orig[WGD_GRO_MAX_SEGS][WGD_SEG_MAX], flat[70000];
    struct floe_offload h;
    struct floe_offload_gro g;
    size_t lens[WGD_GRO_MAX_SEGS], flat_len = 0;
    int i, joined = 0, parts;
    bool fixed;

    memset(&g, 0, sizeof(g));
    for (i = 0;
         i < n && i < WGD_GRO_MAX_SEGS && floe_offload_gro_add(&g, fuzz_segs[i], fuzz_len[i]);
         i++) {
        memcpy(orig[i], fuzz_segs[i], fuzz_len[i]);
        lens[i] = fuzz_len[i];
        joined++;
    }
    parts = floe_offload_gro_finish(&g, &h);
    fuzz_check_gro(&g, parts, &flat_len);
    if (joined < 2)
        return;
    for (i = 0, flat_len = 0; i < parts; flat_len += g.part[i].len, i++)
        memcpy(flat + flat_len, g.part[i].ptr, g.part[i].len);
    if (fuzz_split(&h, flat, flat_len, WGD_MAX_SEGS) != joined)
        abort();
    fixed = !g.v6 && floe_load_be16(orig[0] + 4) == floe_load_be16(orig[1] + 4);
    for (i = 0; i < joined; i++) {
        if (fuzz_len[i] != lens[i] || !fuzz_same(fuzz_segs[i], orig[i], lens[i], fixed))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct floe_offload h;
    int n;

    if (size < 1)
        return 0;
    if (data[0] % 3 == 1) {
        fuzz_records(data + 1, size - 1);
        return 0;
    }
    if (size < 1 + FUZZ_VNET)
        return 0;
    fuzz_vnet_load(&h, data + 1);
    n = fuzz_split(&h, data + 1 + FUZZ_VNET, size - 1 - FUZZ_VNET, 1 + data[1] % WGD_MAX_SEGS);
    if (data[0] % 3 == 2 && n > 0)
        fuzz_round_trip(n);
    return 0;
}
