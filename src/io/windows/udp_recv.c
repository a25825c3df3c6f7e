/*
 * UDP receives on Windows: WSARecvMsg (with the datagram's local address from IP_PKTINFO /
 * IPV6_PKTINFO), one datagram under a deadline or a batch without waiting. With URO on the
 * socket (floe_io_udp_set_gro) a message may carry several datagrams of one flow; the
 * UDP_COALESCED_INFO cmsg gives the segment size and the datagrams are split again, so
 * callers see them exactly as they were sent. Wine refuses URO: nothing changes then.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define RECV_STRIDE (FLOE_IO_RX_BUF + 320)
#define RECV_MAX_SEGS 64

/* Point m at buf[0..cap), addr and ctrl for one WSARecvMsg. */
static void recv_msg_init(WSAMSG *m, WSABUF *b, struct sockaddr_storage *addr, uint8_t *buf,
                          size_t cap, uint8_t *ctrl)
{
    memset(m, 0, sizeof(*m));
    b->buf = (char *)buf;
    b->len = cap > ULONG_MAX ? ULONG_MAX : (ULONG)cap;
    m->name = (LPSOCKADDR)addr;
    m->namelen = sizeof(*addr);
    m->lpBuffers = b;
    m->dwBufferCount = 1;
    m->Control.buf = (char *)ctrl;
    m->Control.len = FLOE__WIN_RX_CTRL;
}

/* Milliseconds from now to deadline for WSAPoll, rounded up; -1 when past. */
static int recv_poll_ms(floe_time deadline)
{
    floe_time now = floe_io_now(), ms;

    if (now >= deadline)
        return -1;
    ms = (deadline - now + FLOE_MS(1) - 1) / FLOE_MS(1);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* A receive error that concerns one datagram or an earlier send, not the socket. */
static bool recv_err_passing(int err)
{
    return err == WSAEWOULDBLOCK || err == WSAECONNRESET || err == WSAENETRESET || err == WSAEINTR;
}

long floe_io_udp_recv(int fd, uint8_t *buf, size_t cap, struct floe_addr *from, floe_time deadline)
{
    struct sockaddr_storage ss;
    uint8_t ctrl[FLOE__WIN_RX_CTRL];
    WSAPOLLFD pfd = {.fd = (SOCKET)fd, .events = POLLRDNORM};
    WSAMSG m;
    WSABUF b;
    DWORD n;
    int ms;

    if (!buf || !from)
        return FLOE_ERR_INVALID_ARG;
    if (floe__win_init() < 0)
        return FLOE_ERR_IO;
    while ((ms = recv_poll_ms(deadline)) >= 0) {
        if (WSAPoll(&pfd, 1, ms) < 0)
            return FLOE_ERR_IO;
        recv_msg_init(&m, &b, &ss, buf, cap, ctrl);
        n = 0;
        if (floe__win_recvmsg((SOCKET)fd, &m, &n, NULL, NULL) != 0) {
            if (WSAGetLastError() == WSAEMSGSIZE)
                n = b.len; /* cut to cap, as on Linux */
            else if (recv_err_passing(WSAGetLastError()))
                continue;
            else
                return FLOE_ERR_IO;
        }
        if (floe_io_addr_from_sockaddr(from, (struct sockaddr *)&ss, m.namelen) < 0)
            continue;
        return (long)n;
    }
    return FLOE_ERR_TIMEOUT;
}

int floe_io_receiver_init(struct floe_io_receiver *r, size_t batch)
{
    if (!r || batch == 0 || batch > 1024)
        return FLOE_ERR_INVALID_ARG;
    memset(r, 0, sizeof(*r));
    r->batch = batch;
    r->cap_dg = batch * RECV_MAX_SEGS;
    r->msg = calloc(batch, sizeof(WSAMSG));
    r->iov = calloc(batch, sizeof(WSABUF));
    r->n_rx = calloc(batch, sizeof(*r->n_rx));
    r->addr = calloc(batch, sizeof(*r->addr));
    r->ctrl = calloc(batch, FLOE__WIN_RX_CTRL);
    r->buf = malloc(batch * RECV_STRIDE);
    r->dg = calloc(r->cap_dg, sizeof(*r->dg));
    if (!r->msg || !r->iov || !r->n_rx || !r->addr || !r->ctrl || !r->buf || !r->dg) {
        floe_io_receiver_deinit(r);
        return FLOE_ERR_NOMEM;
    }
    return 0;
}

void floe_io_receiver_deinit(struct floe_io_receiver *r)
{
    if (!r)
        return;
    free(r->msg);
    free(r->iov);
    free(r->n_rx);
    free(r->addr);
    free(r->ctrl);
    free(r->buf);
    free(r->dg);
    memset(r, 0, sizeof(*r));
}

int floe_io_udp_set_gro(int fd)
{
    DWORD max = FLOE__WIN_URO_MAX;

    if (floe__win_init() < 0)
        return FLOE_ERR_IO;
    return setsockopt((SOCKET)fd, IPPROTO_UDP, UDP_RECV_MAX_COALESCED_SIZE, (const char *)&max,
                      sizeof(max)) != 0
               ? FLOE_ERR_IO
               : 0;
}

/* Hand out message i (n bytes): truncated and unknown sources dropped, URO split. */
static void recv_take(struct floe_io_receiver *r, size_t i, DWORD n)
{
    WSAMSG *m = (WSAMSG *)r->msg + i;
    struct floe_addr from, local;
    size_t seg, first = r->n_dg, k;

    if (m->dwFlags & MSG_TRUNC) {
        r->stats.truncated++;
        return;
    }
    if (floe_io_addr_from_sockaddr(&from, (struct sockaddr *)&r->addr[i], m->namelen) < 0) {
        r->stats.bad_source++;
        return;
    }
    floe__win_rx_cmsgs(m, &local, &seg);
    floe__io_split(&r->stats, r->dg, &r->n_dg, r->cap_dg, r->buf + i * RECV_STRIDE, n, seg, &from);
    for (k = first; k < r->n_dg; k++)
        r->dg[k].local = local;
}

int floe_io_udp_recv_batch(struct floe_io_receiver *r, int fd)
{
    WSAMSG *msg = r->msg;
    WSABUF *iov = r->iov;
    size_t i;
    DWORD n;
    int err;

    r->n_dg = 0;
    if (floe__win_init() < 0)
        return FLOE_ERR_IO;
    for (i = 0; i < r->batch; i++) {
        recv_msg_init(&msg[i], &iov[i], &r->addr[i], r->buf + i * RECV_STRIDE, FLOE_IO_RX_BUF,
                      r->ctrl + i * FLOE__WIN_RX_CTRL);
        n = 0;
        if (floe__win_recvmsg((SOCKET)fd, &msg[i], &n, NULL, NULL) != 0) {
            err = WSAGetLastError();
            if (err == WSAEMSGSIZE) {
                r->stats.truncated++;
                continue;
            }
            if (err == WSAECONNRESET || err == WSAENETRESET)
                continue;
            if (err == WSAEWOULDBLOCK)
                break;
            return i > 0 ? (int)i : FLOE_ERR_IO;
        }
        r->n_rx[i] = n;
        recv_take(r, i, n);
    }
    r->stats.calls += i > 0;
    return (int)i;
}
