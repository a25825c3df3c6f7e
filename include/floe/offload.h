/*
 * floe offload: segmentation and receive coalescing of TCP/IP packets, sans-IO and portable.
 *
 * A TUN driver with segmentation offload (Linux: IFF_VNET_HDR with TUN_F_TSO4/TSO6; Wintun
 * may offer the like later) hands over TCP super-packets of up to 64 KiB with a description
 * of how to cut them (struct floe_offload: the segment size, where the TCP header starts)
 * and leaves checksums to the reader. WireGuard encrypts IP packets that fit the MTU, so a
 * super-packet is cut here into segment-sized TCP packets, each with its own IP header
 * (length, ID, checksum) and TCP header (sequence number, flags, checksum), as the kernel's
 * GSO does. The other way, decrypted TCP segments of one flow that follow each other are
 * coalesced into one super-packet (floe_offload_gro, as the kernel's GRO does), written to
 * the device in one call with a description for its receive path.
 *
 * The drivers translate struct floe_offload from and to their own header format (the
 * virtio-net header on Linux); nothing here knows any OS or driver. Peer input (a decrypted
 * packet) and device input (a super-packet) are checked; malformed ones are refused, never
 * trusted.
 */
#ifndef FLOE_OFFLOAD_H
#define FLOE_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"

/* The largest plain segment made or coalesced (a packet of the tunnel MTU fits). */
#define FLOE_OFFLOAD_SEG_MAX 2048
/* Segments coalesced into one super-packet at most. */
#define FLOE_OFFLOAD_GRO_MAX_SEGS 64

/* What the driver asks of a packet, or says of one it is given. */
enum floe_offload_kind {
    FLOE_OFFLOAD_NONE = 0,  /* one plain packet (its checksum may still be partial) */
    FLOE_OFFLOAD_TCPV4 = 1, /* a TCP over IPv4 super-packet cut at seg_size */
    FLOE_OFFLOAD_TCPV6 = 2, /* a TCP over IPv6 super-packet cut at seg_size */
    FLOE_OFFLOAD_OTHER = 3, /* a kind floe does not take (UDP segmentation, say): refused */
};

/* The offload description of one packet (the virtio-net header's fields, by meaning). */
struct floe_offload {
    enum floe_offload_kind kind;
    bool needs_csum;      /* the L4 checksum at csum_start + csum_offset is partial */
    bool ecn;             /* the driver's ECN bit (CWR is kept on the first segment only) */
    uint16_t hdr_len;     /* IP + TCP header bytes (advisory: recomputed from the headers) */
    uint16_t seg_size;    /* payload bytes per segment (the MSS) */
    uint16_t csum_start;  /* where the L4 header starts */
    uint16_t csum_offset; /* the L4 checksum's offset in it */
};

/*
 * The number of segments floe_offload_split makes of pkt[0..len) described by o, or -1
 * when the packet is malformed (bad headers, a segment over FLOE_OFFLOAD_SEG_MAX, a kind
 * not taken).
 */
int floe_offload_count(const struct floe_offload *o, const uint8_t *pkt, size_t len);

/*
 * Cut pkt[0..len) into plain IP packets segs[i][0..seg_len[i]), i < the count returned, at
 * most max_segs of them, starting at segment `first` (a super-packet of more segments than
 * fit is cut in several calls; IP IDs and sequence numbers continue). A TCP super-packet's
 * segments get their IP and TCP headers fixed; a plain packet needing a checksum gets it.
 * Returns the count written (>= 1) or -1 (malformed, or first past the end).
 */
int floe_offload_split(const struct floe_offload *o, const uint8_t *pkt, size_t len, unsigned first,
                       uint8_t (*segs)[FLOE_OFFLOAD_SEG_MAX], size_t *seg_len, int max_segs);

/*
 * A TCP packet being coalesced from segments of one flow. The segments stay where they
 * are (their buffers must live and stay unchanged until floe_offload_gro_finish): the
 * first one's headers become the packet's, the others give their payloads. Zero it
 * before the first use; finish leaves it empty again.
 */
struct floe_offload_gro {
    uint8_t *head; /* the first segment */
    size_t l4, hdr, total;
    bool v6, closed;
    bool id_fixed; /* IPv4: every segment has the head's ID (DF set), not ID + index */
    uint16_t gso_size;
    uint32_t next_seq;
    unsigned n;                                       /* segments joined so far */
    struct floe_span part[FLOE_OFFLOAD_GRO_MAX_SEGS]; /* the head, then payloads */
};

/*
 * Add the IP packet pkt[0..len) to g: it starts g when g is empty, or continues g (same
 * flow, next sequence number, same headers, no longer than the first payload; a shorter
 * one or a push ends g). Returns false when pkt cannot join: finish g and write pkt
 * alone, or start a new g with it. Only IPv4 without options or fragments and IPv6
 * without extension headers, TCP with a payload, ACK (and PSH) only, valid checksums,
 * can join. The head's PSH flag may be set in place.
 */
bool floe_offload_gro_add(struct floe_offload_gro *g, uint8_t *pkt, size_t len);

/*
 * Close g: one segment is left as it is (*o: FLOE_OFFLOAD_NONE); more get the head's IP
 * length and checksum fixed, the TCP pseudo-header sum as a partial checksum and *o a
 * TCPV4/TCPV6 description. The packet to write is g->part[0..count) in order. Returns the
 * count (0: g was empty) and empties g; the spans stay valid until g is added to again.
 */
int floe_offload_gro_finish(struct floe_offload_gro *g, struct floe_offload *o);

#endif
