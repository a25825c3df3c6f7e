/*
 * Batched UDP sends on Windows: WSASendMsg per message, in order. Runs of equal-sized
 * datagrams to one destination go as one USO message (a UDP_SEND_MSG_SIZE cmsg with the
 * segment size) when the sender asks for GSO and the OS accepts USO; when it refuses (older
 * Windows, Wine) s->gso is cleared, counted once in gso_refused, and datagrams go one per
 * message. A full socket buffer is waited for within s->wait_ms, then the rest is dropped
 * and counted; a datagram the OS refuses is dropped alone.
 */
#include <string.h>

#include "win_int.h"

/* Whether the socket takes USO at all: the option is readable where the OS knows it. */
static bool batch_uso_ok(SOCKET s)
{
    DWORD v = 0;
    int len = sizeof(v);

    return getsockopt(s, IPPROTO_UDP, UDP_SEND_MSG_SIZE, (char *)&v, &len) == 0;
}

/* Wait for room in the socket within *budget_ms; false when the budget is spent. */
static bool batch_wait_room(struct floe_io_sender *s, SOCKET fd, int *budget_ms)
{
    WSAPOLLFD pfd = {.fd = fd, .events = POLLWRNORM};
    floe_time start = floe_io_now();
    int used;

    if (*budget_ms <= 0)
        return false;
    s->stats.waits++;
    if (WSAPoll(&pfd, 1, *budget_ms) <= 0)
        return false;
    used = (int)((floe_io_now() - start) / FLOE_MS(1));
    *budget_ms -= used > 0 ? used : 1;
    return true;
}

/* Send d[i..i+n) as one message (USO when n > 1). Returns 0 or the WSA error. */
static int batch_send_run(struct floe_io_sender *s, SOCKET fd, const struct floe_io_dgram *d,
                          size_t n)
{
    WSABUF bufs[FLOE_IO_GSO_SEGS];
    struct sockaddr_storage ss;
    socklen_t len;
    size_t k;

    floe__io_sockaddr(s, &d[0].dst, &ss, &len);
    if (len == 0)
        return WSAEAFNOSUPPORT;
    for (k = 0; k < n; k++) {
        bufs[k].buf = (char *)d[k].buf;
        bufs[k].len = (ULONG)d[k].len;
    }
    if (floe__win_sendmsg(fd, &ss, len, bufs, (DWORD)n, n > 1 ? (DWORD)d[0].len : 0) ==
        SOCKET_ERROR)
        return WSAGetLastError();
    return 0;
}

void floe_io_udp_send_batch(struct floe_io_sender *s, int fd, const struct floe_io_dgram *d,
                            size_t n)
{
    int budget = s->wait_ms, err;
    size_t i = 0, run;

    if (s->gso && !s->uso_checked && !batch_uso_ok((SOCKET)fd)) {
        s->gso = false;
        s->stats.gso_refused++;
    }
    s->uso_checked = true;
    while (i < n) {
        run = floe__io_gso_run(s, d, i, n - i);
        err = batch_send_run(s, (SOCKET)fd, &d[i], run);
        if (err == WSAEWOULDBLOCK && batch_wait_room(s, (SOCKET)fd, &budget))
            continue;
        if (err == WSAEWOULDBLOCK) {
            s->stats.full += n - i;
            return;
        }
        if (err != 0 && run > 1) {
            s->gso = false; /* the OS refused this USO message: singly from now on */
            s->stats.gso_refused++;
            continue;
        }
        if (err != 0)
            s->stats.errors += run;
        else
            s->stats.sent += run;
        i += run;
    }
}
