/*
 * The UDP socket: one dual-stack IPv6 socket (IPv4 peers as v4-mapped addresses), or an
 * IPv4 one where IPv6 is off. Sends go out in sendmmsg batches; runs of datagrams to one
 * peer with the same length go as one UDP GSO send (UDP_SEGMENT). Receives come in recvmmsg
 * batches, each buffer possibly holding several datagrams coalesced by UDP GRO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe_io.h"
#include "wgd.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#define NET_GSO_MAX_SEGS 64     /* UDP_MAX_SEGMENTS in the kernel */
#define NET_GSO_MAX_BYTES 65000 /* below the 64 KiB limit of one UDP datagram */
#define NET_SOCKBUF (8 << 20)
#define NET_MAX_ROUNDS 8 /* recvmmsg batches per wakeup */
#define NET_WAIT_MS 100  /* the longest one flush waits for room before dropping the rest */

static void net_addr_to(const struct wgd *d, const struct floe_addr *a, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    if (!d->udp_v6 || a->family == FLOE_AF_INET6) {
        (void)floe_io_addr_to_sockaddr(a, ss, len);
        return;
    }
    memset(s6, 0, sizeof(*s6));
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6->sin6_addr.s6_addr[12], a->ip, 4);
    *len = sizeof(*s6);
}

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
    d->udp_gso = !d->opts.no_offload && getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &len) == 0;
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

/* Datagrams from tx[i] on that can go as one GSO send. */
static unsigned net_gso_run(const struct wgd *d, unsigned i)
{
    const struct wgd_tx *t = &d->tx[i];
    size_t bytes = t->len;
    unsigned j = i + 1;

    if (!d->udp_gso)
        return 1;
    while (j < d->n_tx && j - i < NET_GSO_MAX_SEGS && bytes + d->tx[j].len <= NET_GSO_MAX_BYTES &&
           d->tx[j].len <= t->len && floe_addr_eq(&d->tx[j].dst, &t->dst)) {
        bytes += d->tx[j].len;
        j++;
        if (d->tx[j - 1].len < t->len)
            break; /* a shorter datagram ends a GSO run */
    }
    return j - i;
}

struct net_txbatch {
    struct mmsghdr msg[WGD_TX_SLOTS];
    struct iovec iov[WGD_TX_SLOTS];
    struct sockaddr_storage addr[WGD_TX_SLOTS];
    char ctrl[WGD_TX_SLOTS][CMSG_SPACE(sizeof(uint16_t))];
    unsigned first[WGD_TX_SLOTS]; /* the tx index of each message's first datagram */
};

/* Fill message m with tx[i..i+n), a GSO send when n > 1. */
static void net_fill(struct wgd *d, struct net_txbatch *b, unsigned m, unsigned i, unsigned n)
{
    struct msghdr *h = &b->msg[m].msg_hdr;
    unsigned k;

    memset(h, 0, sizeof(*h));
    for (k = 0; k < n; k++) {
        b->iov[i + k].iov_base = d->tx[i + k].buf;
        b->iov[i + k].iov_len = d->tx[i + k].len;
    }
    b->first[m] = i;
    net_addr_to(d, &d->tx[i].dst, &b->addr[m], &h->msg_namelen);
    h->msg_name = &b->addr[m];
    h->msg_iov = &b->iov[i];
    h->msg_iovlen = n;
    if (n > 1) {
        struct cmsghdr *c = (struct cmsghdr *)b->ctrl[m];
        uint16_t gso = (uint16_t)d->tx[i].len;

        h->msg_control = c;
        h->msg_controllen = CMSG_SPACE(sizeof(gso));
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(gso));
        memcpy(CMSG_DATA(c), &gso, sizeof(gso));
    }
}

/* Datagrams in messages [from, to) (a GSO message carries several). */
static uint64_t net_dgrams(const struct net_txbatch *b, unsigned from, unsigned to)
{
    uint64_t n = 0;

    for (; from < to; from++)
        n += b->msg[from].msg_hdr.msg_iovlen;
    return n;
}

/*
 * Wait for room after EAGAIN (socket buffer full: poll for POLLOUT) or ENOBUFS (device
 * queue full: a millisecond), within what is left of *budget_ms. Returns true to retry.
 */
static bool net_wait_room(struct wgd *d, int err, int *budget_ms)
{
    struct pollfd pfd = {.fd = d->udp_fd, .events = POLLOUT};
    struct timespec ms = {0, 1000000};
    floe_time t0 = floe_io_now();
    int rc = 1;

    if (*budget_ms <= 0)
        return false;
    d->stats.udp_waits++;
    if (err == EAGAIN)
        rc = poll(&pfd, 1, *budget_ms);
    else
        nanosleep(&ms, NULL);
    *budget_ms -= (int)((floe_io_now() - t0) / 1000000u) + (err == ENOBUFS);
    return rc > 0 || (rc < 0 && errno == EINTR);
}

/*
 * sendmmsg b->msg[0..n) in order: a partial send resumes at the first unsent message; a full
 * socket or device queue is waited for (NET_WAIT_MS in all) and only then is the rest
 * dropped, counted per datagram; a message the kernel refuses is dropped alone. Returns the
 * messages done (sent or dropped): fewer than n only when UDP GSO was refused (EIO).
 */
static unsigned net_sendmmsg(struct wgd *d, struct net_txbatch *b, unsigned n)
{
    unsigned off = 0;
    int sent, budget_ms = NET_WAIT_MS;

    while (off < n) {
        sent = sendmmsg(d->udp_fd, b->msg + off, n - off, 0);
        if (sent > 0) {
            off += (unsigned)sent;
            d->stats.udp_partial += off < n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EIO && d->udp_gso) {
            floe_jsonlog_warn(&d->log, "udp", "UDP GSO refused; sending one by one");
            d->udp_gso = false;
            return off;
        }
        if (errno != EAGAIN && errno != ENOBUFS) {
            d->stats.udp_errors += net_dgrams(b, off, off + 1);
            off++; /* refused (unreachable, too big): the peer's TCP or WireGuard's timers */
            continue;
        }
        if (!net_wait_room(d, errno, &budget_ms)) {
            d->stats.udp_full += net_dgrams(b, off, n);
            return n;
        }
    }
    return n;
}

/* Send tx[start..n_tx) in order; GSO runs unless the kernel refuses them. */
static void net_flush_from(struct wgd *d, unsigned start)
{
    static struct net_txbatch b;
    unsigned i, n, m = 0, done;

    for (i = start; i < d->n_tx; i += n, m++) {
        n = net_gso_run(d, i);
        net_fill(d, &b, m, i, n);
    }
    done = net_sendmmsg(d, &b, m);
    if (done < m)
        net_flush_from(d, b.first[done]); /* GSO refused: the rest, one datagram each */
}

void wgd_udp_flush(struct wgd *d)
{
    if (d->udp_fd >= 0 && d->n_tx > 0)
        net_flush_from(d, 0);
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
            const uint8_t *p = b.iov[i].iov_base;
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
        if (n < WGD_BATCH)
            break;
    }
    if (d->dev)
        wgd_dev_drain(d, now);
    wgd_udp_flush(d);
}
