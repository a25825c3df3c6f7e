/*
 * Batched UDP sends shared by the daemons: datagrams go out in order in sendmmsg calls,
 * runs of equal-sized datagrams to one destination as single UDP GSO sends (UDP_SEGMENT;
 * only a run's last datagram may be shorter). A partial sendmmsg resumes where it stopped;
 * a full socket or device queue is waited for within the sender's budget, then the rest is
 * dropped and counted; a datagram the kernel refuses is dropped alone; when the kernel
 * refuses GSO itself (EIO) the rest goes one datagram per message from then on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "io_int.h"

#define BATCH_CHUNK 64 /* messages per sendmmsg call */

struct batch_msgs {
    struct mmsghdr msg[BATCH_CHUNK];
    struct iovec iov[BATCH_CHUNK];
    struct sockaddr_storage addr[BATCH_CHUNK];
    char ctrl[BATCH_CHUNK][CMSG_SPACE(sizeof(uint16_t))];
    size_t first[BATCH_CHUNK]; /* index in d[] of each message's first datagram */
};

/* Message m carries d[i..i+n), its iovecs from b->iov[at]: a GSO send when n > 1. */
static void batch_fill(const struct floe_io_sender *s, struct batch_msgs *b, unsigned m, size_t at,
                       const struct floe_io_dgram *d, size_t i, size_t n)
{
    struct msghdr *h = &b->msg[m].msg_hdr;
    uint16_t seg = (uint16_t)d[i].len;
    struct cmsghdr *c;
    size_t k;

    memset(h, 0, sizeof(*h));
    b->first[m] = i;
    floe__io_sockaddr(s, &d[i].dst, &b->addr[m], &h->msg_namelen);
    h->msg_name = &b->addr[m];
    for (k = 0; k < n; k++) {
        b->iov[at + k].iov_base = (void *)d[i + k].buf;
        b->iov[at + k].iov_len = d[i + k].len;
    }
    h->msg_iov = &b->iov[at];
    h->msg_iovlen = n;
    if (n == 1)
        return;
    c = (struct cmsghdr *)b->ctrl[m];
    h->msg_control = c;
    h->msg_controllen = CMSG_SPACE(sizeof(seg));
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(seg));
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

static uint64_t batch_dgrams(const struct batch_msgs *b, unsigned from, unsigned to)
{
    uint64_t n = 0;

    for (; from < to; from++)
        n += b->msg[from].msg_hdr.msg_iovlen;
    return n;
}

/* Wait for room after EAGAIN (poll POLLOUT) or ENOBUFS (1 ms), within *budget_ms. */
static bool batch_wait_room(struct floe_io_sender *s, int fd, int err, int *budget_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    struct timespec ms = {0, 1000000};
    floe_time t0 = floe_io_now();
    int rc = 1;

    if (*budget_ms <= 0)
        return false;
    s->stats.waits++;
    if (err == EAGAIN)
        rc = poll(&pfd, 1, *budget_ms);
    else
        nanosleep(&ms, NULL);
    *budget_ms -= (int)((floe_io_now() - t0) / 1000000u) + (err == ENOBUFS);
    return rc > 0 || (rc < 0 && errno == EINTR);
}

/*
 * sendmmsg b->msg[0..n) in order. Returns the messages done (sent or dropped and
 * counted): fewer than n only when the kernel refused GSO (s->gso is then cleared).
 */
static unsigned batch_send(struct floe_io_sender *s, int fd, struct batch_msgs *b, unsigned n,
                           int *budget_ms)
{
    unsigned off = 0;
    int sent;

    while (off < n) {
        sent = sendmmsg(fd, b->msg + off, n - off, MSG_DONTWAIT);
        if (sent > 0) {
            off += (unsigned)sent;
            s->stats.sent += batch_dgrams(b, off - (unsigned)sent, off);
            s->stats.partial += off < n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EIO && s->gso) {
            s->gso = false;
            s->stats.gso_refused++;
            return off;
        }
        if (errno != EAGAIN && errno != ENOBUFS) {
            s->stats.errors += batch_dgrams(b, off, off + 1);
            off++; /* refused (unreachable, too big): dropped alone */
            continue;
        }
        if (!batch_wait_room(s, fd, errno, budget_ms)) {
            s->stats.full += batch_dgrams(b, off, n);
            return n;
        }
    }
    return n;
}

void floe_io_udp_send_batch(struct floe_io_sender *s, int fd, const struct floe_io_dgram *d,
                            size_t n)
{
    static __thread struct batch_msgs b;
    int budget_ms = s->wait_ms;
    size_t i = 0;

    while (i < n) {
        size_t start = i, run;
        unsigned m = 0, done;

        /* One chunk of at most BATCH_CHUNK datagrams; d[i]'s iovec is b.iov[i - start]. */
        while (i < n && i - start < BATCH_CHUNK) {
            size_t left = BATCH_CHUNK - (i - start);

            run = floe__io_gso_run(s, d, i, left < n - i ? left : n - i);
            batch_fill(s, &b, m++, i - start, d, i, run);
            i += run;
        }
        done = batch_send(s, fd, &b, m, &budget_ms);
        if (done < m)
            i = b.first[done]; /* GSO refused: the rest of the chunk again, one by one */
    }
}
