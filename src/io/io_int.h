/* floe_io internals shared by the platforms' drivers (io/dgram.c) and Linux's recvmmsg/sendmmsg
 * and io_uring drivers. */
#ifndef FLOE_IO_INT_H
#define FLOE_IO_INT_H

#include "floe_io.h"

#define FLOE_IO_GSO_SEGS 64     /* UDP_MAX_SEGMENTS in the kernel */
#define FLOE_IO_GSO_BYTES 65000 /* below the 64 KiB limit of one UDP datagram */

/* floe_addr -> sockaddr for s's socket (IPv4 as ::ffff:a.b.c.d when s->v4mapped); *len 0 if bad. */
void floe__io_sockaddr(const struct floe_io_sender *s, const struct floe_addr *a,
                       struct sockaddr_storage *ss, socklen_t *len);
/* How many datagrams from d[i] on can go as one GSO send (at most left; 1 without GSO). */
size_t floe__io_gso_run(const struct floe_io_sender *s, const struct floe_io_dgram *d, size_t i,
                        size_t left);
#ifndef _WIN32
/* The UDP_GRO segment size in a cmsg, 0 if c is not one. */
size_t floe__io_gro_cmsg(const struct cmsghdr *c);
#endif
/*
 * Append the datagrams of one received message (p[0..len), GRO segment size seg, 0 for
 * one datagram) to dg[*n..cap), counting them in st.
 */
void floe__io_split(struct floe_io_recv_stats *st, struct floe_io_rx_dgram *dg, size_t *n,
                    size_t cap, uint8_t *p, size_t len, size_t seg, const struct floe_addr *from);

#endif
