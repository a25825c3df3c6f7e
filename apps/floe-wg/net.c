/*
 * The UDP socket: one dual-stack IPv6 socket (IPv4 peers as v4-mapped addresses), or an
 * IPv4 one where IPv6 is off. Sends go through floe_io_udp_send_batch (sendmmsg batches,
 * UDP GSO runs to one peer, bounded waits for room). Receives come in recvmmsg
 * batches, each buffer possibly holding several datagrams coalesced by UDP GRO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "floe_io.h"
#include "wgd.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#define NET_SOCKBUF (8 << 20)
#define NET_MAX_ROUNDS 8 /* recvmmsg batches per wakeup */
#define NET_WAIT_MS 100  /* the longest one flush waits for room before dropping the rest */

static int net_addr_from(struct floe_addr *a, const struct sockaddr_storage *ss, socklen_t len)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

    if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        memset(a, 0, sizeof(*a));
        a->family = FLOE_AF_INET;
        a->port = ntohs(s6->sin6_port);
        memcpy(a->ip, &s6->sin6_addr.s6_addr[12], 4);
        return 0;
    }
    return floe_io_addr_from_sockaddr(a, (const struct sockaddr *)ss, len);
}

/* A socket bound to port on the wildcard address; *v6 says which family it is. */
static int net_socket(uint16_t port, uint32_t mark, bool *v6)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, buf;

    *v6 = fd >= 0;
    if (fd < 0)
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (*v6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    buf = NET_SOCKBUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    if ((mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) ||
        bind(fd, *v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
             *v6 ? sizeof(s6) : sizeof(s4)) != 0) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    return fd;
}

/* Turn on UDP GRO and probe UDP GSO unless offloads are off. */
static void net_offloads(struct wgd *d, int fd)
{
    int one = 1, seg = 0;
    socklen_t len = sizeof(seg);

    d->udp_gro = !d->opts.no_offload && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, 4) == 0;
    d->udp_tx.gso =
        !d->opts.no_offload && getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &len) == 0;
    d->udp_tx.v4mapped = d->udp_v6;
    d->udp_tx.wait_ms = NET_WAIT_MS;
}

int wgd_udp_open(struct wgd *d, uint16_t port)
{
    struct floe_addr local;
    bool v6;
    int fd;

    if (d->udp_fd >= 0 && port == d->listen_port && port != 0)
        return d->fwmark && setsockopt(d->udp_fd, SOL_SOCKET, SO_MARK, &d->fwmark, 4) != 0 ? -1 : 0;
    fd = net_socket(port, d->fwmark, &v6);
    if (fd < 0) {
        floe_jsonlog_warn(&d->log, "udp", "cannot bind UDP port %u: %s", port, strerror(-fd));
        return -1;
    }
    if (d->udp_fd >= 0)
        close(d->udp_fd); /* epoll forgets a closed descriptor by itself */
    d->udp_fd = fd;
    d->udp_v6 = v6;
    net_offloads(d, fd);
    d->listen_port = floe_io_udp_local(fd, &local) == 0 ? local.port : port;
    if (d->ep_fd >= 0)
        return wgd_epoll_add(d, fd, WGD_TAG_UDP);
    return 0;
}

/* ------------------------------------------------------------------- send */

/* Send the pending datagrams in order (floe_io_udp_send_batch: GSO runs, waits, counters). */
void wgd_udp_flush(struct wgd *d)
{
    static struct floe_io_dgram dg[WGD_TX_SLOTS];
    uint64_t refused = d->udp_tx.stats.gso_refused;
    unsigned i;

    if (d->udp_fd >= 0 && d->n_tx > 0) {
        for (i = 0; i < d->n_tx; i++) {
            dg[i].buf = d->tx[i].buf;
            dg[i].len = d->tx[i].len;
            dg[i].dst = d->tx[i].dst;
        }
        floe_io_udp_send_batch(&d->udp_tx, d->udp_fd, dg, d->n_tx);
        if (d->udp_tx.stats.gso_refused != refused)
            floe_jsonlog_warn(&d->log, "udp", "UDP GSO refused; sending one by one");
    }
    d->n_tx = 0;
}

/* ---------------------------------------------------------------- receive */

struct net_rxbatch {
    struct mmsghdr msg[WGD_BATCH];
    struct iovec iov[WGD_BATCH];
    struct sockaddr_storage addr[WGD_BATCH];
    char ctrl[WGD_BATCH][CMSG_SPACE(sizeof(int))];
};

/* The GRO segment size of a received buffer; 0 when it holds one datagram. */
static size_t net_gro_size(const struct msghdr *h)
{
    struct cmsghdr *c;
    int size;

    for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            memcpy(&size, CMSG_DATA(c), sizeof(size));
            return size > 0 ? (size_t)size : 0;
        }
    }
    return 0;
}

static int net_recv_batch(struct wgd *d, struct net_rxbatch *b)
{
    unsigned i;

    for (i = 0; i < WGD_BATCH; i++) {
        struct msghdr *h = &b->msg[i].msg_hdr;

        b->iov[i].iov_base = d->rx_bufs + i * d->rx_buf_len;
        b->iov[i].iov_len = d->rx_buf_len;
        memset(h, 0, sizeof(*h));
        h->msg_name = &b->addr[i];
        h->msg_namelen = sizeof(b->addr[i]);
        h->msg_iov = &b->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = b->ctrl[i];
        h->msg_controllen = sizeof(b->ctrl[i]);
    }
    return recvmmsg(d->udp_fd, b->msg, WGD_BATCH, MSG_DONTWAIT, NULL);
}

void wgd_udp_input(struct wgd *d, floe_time now)
{
    static struct net_rxbatch b;
    struct floe_addr from;
    int round, n, i;

    for (round = 0; round < NET_MAX_ROUNDS; round++) {
        n = net_recv_batch(d, &b);
        for (i = 0; i < n; i++) {
            uint8_t *p = b.iov[i].iov_base;
            size_t len = b.msg[i].msg_len, seg = net_gro_size(&b.msg[i].msg_hdr), off, k;

            if (net_addr_from(&from, &b.addr[i], b.msg[i].msg_hdr.msg_namelen) != 0)
                continue;
            if (seg == 0)
                seg = len;
            for (off = 0; off < len; off += k) {
                k = len - off < seg ? len - off : seg;
                wgd_recv_datagram(d, &from, p + off, k, now);
            }
        }
        wgd_recv_flush(d, now); /* before the buffers are read into again */
        if (n < WGD_BATCH)
            break;
    }
    if (d->dev)
        wgd_dev_drain(d, now);
    wgd_udp_flush(d);
}
