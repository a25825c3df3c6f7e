/*
 * libFuzzer target for floe-wg's segmentation offload (apps/floe-wg/gso.c): the TCP
 * super-packets read from TUN (wgd_gso_split_from, wgd_gso_count) and the coalescing of
 * decrypted segments, which a peer controls (wgd_gro_add, wgd_gro_finish). The first input
 * byte picks the mode:
 *   0  bytes 1..10 a virtio-net header, the rest a packet from TUN: split in runs of
 *      1 + byte 1 % WGD_MAX_SEGS segments
 *   1  records of [2-byte big-endian length][packet] coalesced as floe-wg delivers them
 *   2  as 0, then the segments are coalesced and the result split again: the same bytes
 * Invariants abort so the fuzzer reports them: no segment over WGD_SEG_MAX, the runs cover
 * wgd_gso_count segments, a coalesced packet at most 64 KiB of at most WGD_GRO_MAX_SEGS.
 */
#include <stdlib.h>
#include <string.h>

#include "wgd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEGS 512
#define FUZZ_VNET 10

static uint8_t fuzz_segs[FUZZ_SEGS][WGD_SEG_MAX];
static size_t fuzz_len[FUZZ_SEGS];

/* Split pkt in runs of `run` segments into fuzz_segs. Returns the count or -1. */
static int fuzz_split(const struct wgd_vnet_hdr *h, const uint8_t *pkt, size_t len, int run)
{
    int total = wgd_gso_count(h, pkt, len), done = 0, n = 0, i;

    while (done < total && done < FUZZ_SEGS) {
        int room = FUZZ_SEGS - done < run ? FUZZ_SEGS - done : run;

        n = wgd_gso_split_from(h, pkt, len, (unsigned)done, fuzz_segs + done, fuzz_len + done,
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
static void fuzz_check_gro(const struct wgd_gro *g, int iovcnt, size_t *flat_len)
{
    size_t total = 0;
    int i;

    if (iovcnt < 0 || iovcnt > WGD_GRO_MAX_SEGS + 1)
        abort();
    for (i = 1; i < iovcnt; i++)
        total += g->iov[i].iov_len;
    if (iovcnt > 2 && total > 65535)
        abort();
    if (flat_len)
        *flat_len = total;
}

/* Offer each segment to g as floe-wg's receive path does; finish when one cannot join. */
static void fuzz_coalesce(struct wgd_gro *g, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (wgd_gro_add(g, fuzz_segs[i], fuzz_len[i]))
            continue;
        fuzz_check_gro(g, wgd_gro_finish(g), NULL);
        if (wgd_gro_add(g, fuzz_segs[i], fuzz_len[i]))
            continue;
    }
    fuzz_check_gro(g, wgd_gro_finish(g), NULL);
}

/* Mode 1: length-prefixed packets into the segment buffers, then coalesced. */
static void fuzz_records(const uint8_t *p, size_t len)
{
    struct wgd_gro g;
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
    struct wgd_vnet_hdr h;
    struct wgd_gro g;
    size_t lens[WGD_GRO_MAX_SEGS], flat_len = 0;
    int i, joined = 0, iovcnt;
    bool fixed;

    memset(&g, 0, sizeof(g));
    for (i = 0; i < n && i < WGD_GRO_MAX_SEGS && wgd_gro_add(&g, fuzz_segs[i], fuzz_len[i]); i++) {
        memcpy(orig[i], fuzz_segs[i], fuzz_len[i]);
        lens[i] = fuzz_len[i];
        joined++;
    }
    iovcnt = wgd_gro_finish(&g);
    fuzz_check_gro(&g, iovcnt, &flat_len);
    if (joined < 2)
        return;
    for (i = 1, flat_len = 0; i < iovcnt; flat_len += g.iov[i].iov_len, i++)
        memcpy(flat + flat_len, g.iov[i].iov_base, g.iov[i].iov_len);
    wgd_vnet_hdr_load(&h, g.iov[0].iov_base);
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
    struct wgd_vnet_hdr h;
    int n;

    if (size < 1)
        return 0;
    if (data[0] % 3 == 1) {
        fuzz_records(data + 1, size - 1);
        return 0;
    }
    if (size < 1 + FUZZ_VNET)
        return 0;
    wgd_vnet_hdr_load(&h, data + 1);
    n = fuzz_split(&h, data + 1 + FUZZ_VNET, size - 1 - FUZZ_VNET, 1 + data[1] % WGD_MAX_SEGS);
    if (data[0] % 3 == 2 && n > 0)
        fuzz_round_trip(n);
    return 0;
}
