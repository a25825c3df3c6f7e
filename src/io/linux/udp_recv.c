/*
 * Batched UDP receives shared by the daemons: one recvmmsg fills a batch of 64 KiB
 * buffers; a message the kernel coalesced with UDP GRO (a UDP_GRO cmsg carrying the
 * segment size) is split back into its datagrams, so the caller always sees datagrams
 * exactly as they were sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include "io_int.h"

#define RECV_MAX_SEGS 64 /* UDP_GRO_CNT_MAX: the most datagrams one GRO message carries */
/* Buffers a little more than 64 KiB apart, so that their starts do not share cache sets. */
#define RECV_STRIDE (FLOE_IO_RX_BUF + 320)

int floe_io_receiver_init(struct floe_io_receiver *r, size_t batch)
{
    memset(r, 0, sizeof(*r));
    if (batch == 0 || batch > 1024)
        return FLOE_ERR_INVALID_ARG;
    r->batch = batch;
    r->cap_dg = batch * RECV_MAX_SEGS;
    r->msg = calloc(batch, sizeof(*r->msg));
    r->iov = calloc(batch, sizeof(*r->iov));
    r->addr = calloc(batch, sizeof(*r->addr));
    r->ctrl = calloc(batch, FLOE_IO_RX_CTRL);
    r->buf = malloc(batch * RECV_STRIDE);
    r->dg = calloc(r->cap_dg, sizeof(*r->dg));
    if (!r->msg || !r->iov || !r->addr || !r->ctrl || !r->buf || !r->dg) {
        floe_io_receiver_deinit(r);
        return FLOE_ERR_NOMEM;
    }
    return 0;
}

void floe_io_receiver_deinit(struct floe_io_receiver *r)
{
    free(r->msg);
    free(r->iov);
    free(r->addr);
    free(r->ctrl);
    free(r->buf);
    free(r->dg);
    memset(r, 0, sizeof(*r));
}

int floe_io_udp_set_gro(int fd)
{
    int one = 1;

    return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? FLOE_ERR_IO : 0;
}

size_t floe__io_gro_cmsg(const struct cmsghdr *c)
{
    int seg;

    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(seg)))
        return 0;
    memcpy(&seg, CMSG_DATA(c), sizeof(seg));
    return seg > 0 ? (size_t)seg : 0;
}

/* The GRO segment size of a received message, 0 when it carries one datagram. */
static size_t recv_gro_size(struct msghdr *h)
{
    struct cmsghdr *c;
    size_t seg;

    for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        seg = floe__io_gro_cmsg(c);
        if (seg)
            return seg;
    }
    return 0;
}

static void recv_prepare(struct floe_io_receiver *r)
{
    size_t i;

    for (i = 0; i < r->batch; i++) {
        struct msghdr *h = &r->msg[i].msg_hdr;

        r->iov[i].iov_base = r->buf + i * RECV_STRIDE;
        r->iov[i].iov_len = FLOE_IO_RX_BUF;
        h->msg_name = &r->addr[i];
        h->msg_namelen = sizeof(r->addr[i]);
        h->msg_iov = &r->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = r->ctrl + i * FLOE_IO_RX_CTRL;
        h->msg_controllen = FLOE_IO_RX_CTRL;
        h->msg_flags = 0;
    }
}

int floe_io_udp_recv_batch(struct floe_io_receiver *r, int fd)
{
    struct floe_addr from;
    int n, i;

    r->n_dg = 0;
    recv_prepare(r);
    do {
        n = recvmmsg(fd, r->msg, (unsigned)r->batch, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : FLOE_ERR_IO;
    r->stats.calls += n > 0;
    for (i = 0; i < n; i++) {
        struct msghdr *h = &r->msg[i].msg_hdr;

        if (h->msg_flags & MSG_TRUNC) {
            r->stats.truncated++;
            continue;
        }
        if (floe_io_addr_from_sockaddr(&from, (struct sockaddr *)&r->addr[i], h->msg_namelen) < 0) {
            r->stats.bad_source++;
            continue;
        }
        floe__io_split(&r->stats, r->dg, &r->n_dg, r->cap_dg, r->buf + (size_t)i * RECV_STRIDE,
                       r->msg[i].msg_len, recv_gro_size(h), &from);
    }
    return n;
}
