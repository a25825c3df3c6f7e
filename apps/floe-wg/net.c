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

#define NET_SOCKBUF (8 << 20)
#define NET_MAX_ROUNDS 8 /* recvmmsg batches per wakeup */
#define NET_WAIT_MS 100  /* the longest one flush waits for room before dropping the rest */

/* A socket bound to port on the wildcard address; *v6 says which family it is. */
static int net_socket(uint16_t port, uint32_t mark, bool *v6)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0;

    *v6 = fd >= 0;
    if (fd < 0)
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (*v6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    (void)floe_io_udp_set_buffers(fd, NET_SOCKBUF);
    if ((mark && floe_io_udp_set_mark(fd, mark) != 0) ||
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
    int seg = 0;
    socklen_t len = sizeof(seg);

    if (!d->opts.no_offload)
        (void)floe_io_udp_set_gro(fd); /* an older kernel: one datagram per read */
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

    /* The same port: the mark changes in place, 0 too (`fwmark off` must clear the old one). */
    if (d->udp_fd >= 0 && port == d->listen_port && port != 0)
        return floe_io_udp_set_mark(d->udp_fd, d->fwmark) == 0 ? 0 : -1;
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

/* Send the pending datagrams in order (floe_io_txq_flush: GSO runs, waits, counters). */
void wgd_udp_flush(struct wgd *d)
{
    uint64_t refused = d->udp_tx.stats.gso_refused;

    floe_io_txq_flush(&d->txq, &d->udp_tx, d->udp_fd);
    if (d->udp_tx.stats.gso_refused != refused)
        floe_jsonlog_warn(&d->log, "udp", "UDP GSO refused; sending one by one");
}

/* ---------------------------------------------------------------- receive */

void wgd_udp_input(struct wgd *d, floe_time now)
{
    struct floe_io_receiver *r = &d->udp_rx;
    int round, n;
    size_t i;

    for (round = 0; round < NET_MAX_ROUNDS; round++) {
        n = floe_io_udp_recv_batch(r, d->udp_fd);
        for (i = 0; i < r->n_dg; i++)
            wgd_recv_datagram(d, &r->dg[i].from, r->dg[i].buf, r->dg[i].len, now);
        wgd_recv_flush(d, now); /* before the buffers are read into again */
        if (n < (int)r->batch)
            break;
    }
    if (d->dev)
        wgd_dev_drain(d, now);
    wgd_udp_flush(d);
}
