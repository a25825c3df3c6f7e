/*
 * The io_uring UDP driver. Two rings: receives (multishot recvmsg into a provided buffer
 * ring, multishot poll for a wake-up eventfd, cancellations) and sends (sendmsg with
 * MSG_DONTWAIT, so a UDP send completes inside io_uring_enter: the flush submits every
 * queued send of every socket in one call and finds all their completions ready).
 * Built only with liburing (FLOE_IO_HAVE_URING); otherwise every call is unsupported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io_int.h"

#ifdef FLOE_IO_HAVE_URING
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <time.h>

#define URING_RX_ENTRIES 256
#define URING_RX_CQ 4096 /* completions: one per datagram or GRO message, many sockets */
#define URING_TX_ENTRIES 256
#define URING_TX_IOV 1024
#define URING_BGID 1
#define URING_CTRL 64
#define URING_UD_CANCEL UINT64_MAX /* user_data of cancellations: their completions are skipped */
#define URING_UD_POLL 0x80000000u  /* bit 31 of the low half: a poll request */
#define URING_MAX_FD 0x7fffffff    /* the fd fills the rest of the low half */
#define URING_MAX_SEGS 64          /* UDP_GRO_CNT_MAX */

/*
 * The request armed last on one fd: its user_data is gen << 32 | poll bit | fd, and gen
 * moves on each time a request is armed on the fd or cancelled, so a completion whose
 * generation differs belongs to a request that is gone (a released port whose fd number
 * a new port reused) and is dropped.
 */
struct uring_req {
    uint32_t gen;
    uint32_t tag;
};

/* One queued send request: whose counters, how many datagrams, GSO or not. */
struct uring_tx_rec {
    struct floe_io_sender *s;
    unsigned n;
    bool done; /* its completion was counted */
};

struct floe_io_uring {
    struct io_uring rx, tx;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    size_t buf_size, br_len;
    unsigned n_bufs;
    int held;             /* the buffer id handed out by the last event, -1 if none */
    struct msghdr rx_msg; /* the name and control sizes of every multishot receive */
    struct floe_io_rx_dgram dg[URING_MAX_SEGS];
    struct floe_io_recv_stats stats;
    struct uring_req *req; /* by fd */
    size_t n_req;
    /* queued sends; a flush's completions carry its generation in user_data's high half */
    unsigned n_tx, n_iov;
    uint32_t tx_gen;
    struct msghdr tx_msg[URING_TX_ENTRIES];
    struct sockaddr_storage tx_addr[URING_TX_ENTRIES];
    char tx_ctrl[URING_TX_ENTRIES][CMSG_SPACE(sizeof(uint16_t))];
    struct uring_tx_rec tx_rec[URING_TX_ENTRIES];
    struct iovec tx_iov[URING_TX_IOV];
};

static int uring_queue_init(unsigned entries, unsigned cq_entries, struct io_uring *ring)
{
    struct io_uring_params p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = cq_entries;
    rc = io_uring_queue_init_params(entries, ring, &p);
    if (rc == -EINVAL) { /* kernels before 6.1 */
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = cq_entries;
        rc = io_uring_queue_init_params(entries, ring, &p);
    }
    if (rc < 0)
        errno = -rc;
    return rc;
}

static void uring_buf_return(struct floe_io_uring *u, unsigned bid)
{
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * u->buf_size, (unsigned)u->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(u->n_bufs), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

static int uring_setup_bufs(struct floe_io_uring *u)
{
    struct io_uring_buf_reg reg;
    unsigned i;
    int rc;

    u->br_len = u->n_bufs * sizeof(struct io_uring_buf);
    u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (u->br == MAP_FAILED) {
        u->br = NULL;
        return FLOE_ERR_NOMEM;
    }
    u->bufs = malloc(u->n_bufs * u->buf_size);
    if (!u->bufs)
        return FLOE_ERR_NOMEM;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)u->br;
    reg.ring_entries = u->n_bufs;
    reg.bgid = URING_BGID;
    rc = io_uring_register_buf_ring(&u->rx, &reg, 0);
    if (rc < 0) {
        errno = -rc;
        return FLOE_ERR_IO;
    }
    io_uring_buf_ring_init(u->br);
    for (i = 0; i < u->n_bufs; i++)
        uring_buf_return(u, i);
    return 0;
}

int floe_io_uring_new(struct floe_io_uring **out, size_t payload, unsigned n_bufs)
{
    struct floe_io_uring *u;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    if (n_bufs < 8 || n_bufs > 4096 || (n_bufs & (n_bufs - 1)) || payload == 0 || payload > 65536)
        return FLOE_ERR_INVALID_ARG;
    u = calloc(1, sizeof(*u));
    if (!u)
        return FLOE_ERR_NOMEM;
    u->held = -1;
    u->n_bufs = n_bufs;
    u->rx_msg.msg_namelen = sizeof(struct sockaddr_storage);
    u->rx_msg.msg_controllen = URING_CTRL;
    u->buf_size = sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) +
                  URING_CTRL + payload;
    if (uring_queue_init(URING_RX_ENTRIES, URING_RX_CQ, &u->rx) < 0) {
        free(u);
        return FLOE_ERR_IO;
    }
    if (uring_queue_init(URING_TX_ENTRIES, 2 * URING_TX_ENTRIES, &u->tx) < 0) {
        rc = errno;
        io_uring_queue_exit(&u->rx);
        free(u);
        errno = rc;
        return FLOE_ERR_IO;
    }
    rc = uring_setup_bufs(u);
    if (rc < 0) {
        floe_io_uring_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

void floe_io_uring_free(struct floe_io_uring *u)
{
    if (!u)
        return;
    io_uring_queue_exit(&u->rx);
    io_uring_queue_exit(&u->tx);
    if (u->br)
        munmap(u->br, u->br_len);
    free(u->bufs);
    free(u->req);
    free(u);
}

/* A free submission entry of ring, submitting what is queued when it is full. */
static struct io_uring_sqe *uring_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

    if (!sqe) {
        (void)io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    return sqe;
}

/* The request slot of fd, growing the table; NULL when out of memory. */
static struct uring_req *uring_req_slot(struct floe_io_uring *u, int fd)
{
    size_t want = (size_t)fd + 1, n = u->n_req ? u->n_req : 64;
    struct uring_req *t;

    if (want <= u->n_req)
        return &u->req[fd];
    while (n < want)
        n *= 2;
    t = realloc(u->req, n * sizeof(*t));
    if (!t)
        return NULL;
    memset(t + u->n_req, 0, (n - u->n_req) * sizeof(*t));
    u->req = t;
    u->n_req = n;
    return &u->req[fd];
}

/*
 * A receive-ring SQE for a new request on fd into *sqe, and its user_data (the fd's next
 * generation) into *ud. Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_IO.
 */
static int uring_rx_sqe(struct floe_io_uring *u, int fd, uint32_t tag, struct io_uring_sqe **sqe,
                        uint64_t *ud)
{
    struct uring_req *r;

    if (!u || fd < 0 || fd > URING_MAX_FD)
        return FLOE_ERR_INVALID_ARG;
    r = uring_req_slot(u, fd);
    if (!r)
        return FLOE_ERR_NOMEM;
    *sqe = uring_sqe(&u->rx);
    if (!*sqe)
        return FLOE_ERR_IO;
    r->gen++;
    r->tag = tag;
    *ud = (uint64_t)r->gen << 32 | (uint32_t)fd;
    return 0;
}

int floe_io_uring_recv(struct floe_io_uring *u, int fd, uint32_t tag)
{
    struct io_uring_sqe *sqe;
    uint64_t ud;
    int rc = uring_rx_sqe(u, fd, tag, &sqe, &ud);

    if (rc != 0)
        return rc;
    io_uring_prep_recvmsg_multishot(sqe, fd, &u->rx_msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = URING_BGID;
    io_uring_sqe_set_data64(sqe, ud);
    return 0;
}

int floe_io_uring_poll(struct floe_io_uring *u, int fd, uint32_t tag)
{
    struct io_uring_sqe *sqe;
    uint64_t ud;
    int rc = uring_rx_sqe(u, fd, tag, &sqe, &ud);

    if (rc != 0)
        return rc;
    io_uring_prep_poll_multishot(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud | URING_UD_POLL);
    return 0;
}

int floe_io_uring_cancel(struct floe_io_uring *u, int fd, uint32_t tag)
{
    struct io_uring_sqe *sqe;
    struct uring_req *r;

    if (!u || fd < 0 || (size_t)fd >= u->n_req)
        return FLOE_ERR_NOT_FOUND;
    r = &u->req[fd];
    if (r->tag != tag)
        return FLOE_ERR_NOT_FOUND;
    sqe = uring_sqe(&u->rx);
    if (!sqe)
        return FLOE_ERR_IO;
    io_uring_prep_cancel64(sqe, (uint64_t)r->gen << 32 | (uint32_t)fd, 0);
    io_uring_sqe_set_data64(sqe, URING_UD_CANCEL);
    r->gen++; /* whatever the cancelled request still posts is stale */
    return io_uring_submit(&u->rx) < 0 ? FLOE_ERR_IO : 0;
}

/* Give the buffer of the last event back to the kernel. */
static void uring_release(struct floe_io_uring *u)
{
    if (u->held < 0)
        return;
    uring_buf_return(u, (unsigned)u->held);
    u->held = -1;
}

static int uring_wait_error(int rc)
{
    if (rc == -EAGAIN || rc == -EBUSY)
        return 0;
    errno = -rc;
    return FLOE_ERR_IO;
}

int floe_io_uring_wait(struct floe_io_uring *u, int timeout_ms, unsigned batch, floe_time linger)
{
    struct __kernel_timespec ts = {timeout_ms / 1000, (long long)(timeout_ms % 1000) * 1000000};
    struct __kernel_timespec lt = {(long long)(linger / 1000000000u),
                                   (long long)(linger % 1000000000u)};
    struct io_uring_cqe *cqe;
    int rc;

    uring_release(u);
    if (batch > 1 && linger > 0 && timeout_ms != 0) {
        /* one wake-up for a batch of completions, or whatever came within linger */
        rc = io_uring_submit_and_wait_timeout(&u->rx, &cqe, batch, &lt, NULL);
        if (rc != -ETIME || io_uring_cq_ready(&u->rx) > 0)
            return rc < 0 && rc != -ETIME && rc != -EINTR ? uring_wait_error(rc) : 0;
    }
    rc = io_uring_submit_and_wait_timeout(&u->rx, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return uring_wait_error(rc);
    return 0;
}

/* The datagrams of a receive completion holding buffer bid (res bytes) into ev. */
static void uring_parse(struct floe_io_uring *u, unsigned bid, int res,
                        struct floe_io_uring_event *ev)
{
    uint8_t *buf = u->bufs + (size_t)bid * u->buf_size;
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &u->rx_msg);
    struct cmsghdr *c;
    struct floe_addr from;
    size_t seg = 0;

    if (!o || (o->flags & MSG_TRUNC)) {
        u->stats.truncated++;
        return;
    }
    if (o->namelen > u->rx_msg.msg_namelen ||
        floe_io_addr_from_sockaddr(&from, io_uring_recvmsg_name(o), o->namelen) < 0) {
        u->stats.bad_source++;
        return;
    }
    for (c = io_uring_recvmsg_cmsg_firsthdr(o, &u->rx_msg); c && !seg;
         c = io_uring_recvmsg_cmsg_nexthdr(o, &u->rx_msg, c))
        seg = floe__io_gro_cmsg(c);
    u->stats.calls++;
    floe__io_split(&u->stats, u->dg, &ev->n_dg, URING_MAX_SEGS,
                   io_uring_recvmsg_payload(o, &u->rx_msg),
                   io_uring_recvmsg_payload_length(o, res, &u->rx_msg), seg, &from);
}

/* Whether a completion belongs to a request that is gone; its buffer goes back at once. */
static bool uring_stale(struct floe_io_uring *u, uint64_t ud, const struct io_uring_cqe *cqe)
{
    uint32_t fd = (uint32_t)ud & ~URING_UD_POLL;

    if (fd < u->n_req && u->req[fd].gen == (uint32_t)(ud >> 32))
        return false;
    if (cqe->flags & IORING_CQE_F_BUFFER)
        uring_buf_return(u, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    u->stats.stale++;
    return true;
}

int floe_io_uring_next(struct floe_io_uring *u, struct floe_io_uring_event *ev)
{
    struct io_uring_cqe *cqe;

    uring_release(u);
    while (io_uring_peek_cqe(&u->rx, &cqe) == 0) {
        uint64_t ud = io_uring_cqe_get_data64(cqe);

        if (ud == URING_UD_CANCEL || uring_stale(u, ud, cqe)) {
            io_uring_cqe_seen(&u->rx, cqe);
            continue;
        }
        memset(ev, 0, sizeof(*ev));
        ev->fd = (int)((uint32_t)ud & ~URING_UD_POLL);
        ev->tag = u->req[ev->fd].tag;
        ev->poll = (ud & URING_UD_POLL) != 0;
        ev->ended = !(cqe->flags & IORING_CQE_F_MORE);
        ev->err = cqe->res < 0 ? cqe->res : 0;
        ev->dg = u->dg;
        if (!ev->poll && (cqe->flags & IORING_CQE_F_BUFFER)) {
            u->held = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            uring_parse(u, (unsigned)u->held, cqe->res, ev);
        }
        io_uring_cqe_seen(&u->rx, cqe);
        return 1;
    }
    return 0;
}

/* Queue one sendmsg for d[i..i+n) (a GSO message when n > 1). */
static void uring_queue_send(struct floe_io_uring *u, struct floe_io_sender *s, int fd,
                             const struct floe_io_dgram *d, size_t i, size_t n)
{
    unsigned k = u->n_tx;
    struct msghdr *h = &u->tx_msg[k];
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->tx);
    uint16_t seg = (uint16_t)d[i].len;
    size_t j;

    if (!sqe) { /* cannot happen: every flush empties the ring, and it has room for a batch */
        s->stats.errors += n;
        return;
    }
    memset(h, 0, sizeof(*h));
    floe__io_sockaddr(s, &d[i].dst, &u->tx_addr[k], &h->msg_namelen);
    h->msg_name = &u->tx_addr[k];
    h->msg_iov = &u->tx_iov[u->n_iov];
    h->msg_iovlen = n;
    for (j = 0; j < n; j++) {
        u->tx_iov[u->n_iov + j].iov_base = (void *)d[i + j].buf;
        u->tx_iov[u->n_iov + j].iov_len = d[i + j].len;
    }
    if (n > 1) {
        struct cmsghdr *c = (struct cmsghdr *)u->tx_ctrl[k];

        h->msg_control = c;
        h->msg_controllen = CMSG_SPACE(sizeof(seg));
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(seg));
        memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    }
    io_uring_prep_sendmsg(sqe, fd, h, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, (uint64_t)u->tx_gen << 32 | k);
    u->tx_rec[k].s = s;
    u->tx_rec[k].n = (unsigned)n;
    u->tx_rec[k].done = false;
    u->n_iov += (unsigned)n;
    u->n_tx++;
}

void floe_io_uring_send_batch(struct floe_io_uring *u, struct floe_io_sender *s, int fd,
                              const struct floe_io_dgram *d, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t run = floe__io_gso_run(s, d, i, n - i);

        if (u->n_tx == URING_TX_ENTRIES || u->n_iov + run > URING_TX_IOV)
            floe_io_uring_flush(u);
        uring_queue_send(u, s, fd, d, i, run);
        i += run;
    }
}

/* Count one send completion into its sender. */
static void uring_sent(struct uring_tx_rec *rec, int res)
{
    struct floe_io_sender *s = rec->s;

    if (res >= 0)
        s->stats.sent += rec->n;
    else if (res == -EAGAIN || res == -ENOBUFS)
        s->stats.full += rec->n;
    else
        s->stats.errors += rec->n;
    if (res == -EIO && rec->n > 1 && s->gso) {
        s->gso = false; /* the kernel cannot segment: one datagram per message from now on */
        s->stats.gso_refused++;
    }
}

/* Account one send completion if it belongs to this flush; returns 1 if it did. */
static unsigned uring_tx_complete(struct floe_io_uring *u, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t k = (uint32_t)ud;
    unsigned mine = (uint32_t)(ud >> 32) == u->tx_gen && k < u->n_tx && !u->tx_rec[k].done;

    if (mine) {
        uring_sent(&u->tx_rec[k], cqe->res);
        u->tx_rec[k].done = true;
    }
    io_uring_cqe_seen(&u->tx, cqe);
    return mine;
}

void floe_io_uring_flush(struct floe_io_uring *u)
{
    struct timespec pause = {0, 100000};
    struct io_uring_cqe *cqe;
    unsigned done = 0, k;
    int rc;

    if (!u->n_tx)
        return;
    /*
     * Every queued send must reach the kernel now: an entry left in the ring would go out
     * later, pointing at buffers the caller has reused. The kernel refuses a submission only
     * for want of memory (EAGAIN) or with a full completion ring (EBUSY): reap what is
     * there, pause, and try again.
     */
    while (io_uring_sq_ready(&u->tx) > 0) {
        rc = io_uring_submit(&u->tx);
        if (rc > 0 || rc == -EINTR)
            continue;
        while (io_uring_peek_cqe(&u->tx, &cqe) == 0)
            done += uring_tx_complete(u, cqe);
        nanosleep(&pause, NULL);
    }
    while (done < u->n_tx) {
        rc = io_uring_wait_cqe(&u->tx, &cqe);
        if (rc == -EINTR)
            continue;
        if (rc < 0)
            break; /* the rest counts as errors; late completions carry an old generation */
        done += uring_tx_complete(u, cqe);
    }
    for (k = 0; k < u->n_tx; k++) {
        if (!u->tx_rec[k].done)
            u->tx_rec[k].s->stats.errors += u->tx_rec[k].n;
    }
    u->n_tx = 0;
    u->n_iov = 0;
    u->tx_gen++;
}

void floe_io_uring_recv_stats(const struct floe_io_uring *u, struct floe_io_recv_stats *out)
{
    *out = u->stats;
}

#else /* !FLOE_IO_HAVE_URING */

int floe_io_uring_new(struct floe_io_uring **out, size_t payload, unsigned n_bufs)
{
    (void)payload;
    (void)n_bufs;
    if (out)
        *out = NULL;
    return FLOE_ERR_UNSUPPORTED;
}

void floe_io_uring_free(struct floe_io_uring *u)
{
    (void)u;
}

int floe_io_uring_recv(struct floe_io_uring *u, int fd, uint32_t tag)
{
    (void)u;
    (void)fd;
    (void)tag;
    return FLOE_ERR_UNSUPPORTED;
}

int floe_io_uring_poll(struct floe_io_uring *u, int fd, uint32_t tag)
{
    return floe_io_uring_recv(u, fd, tag);
}

int floe_io_uring_cancel(struct floe_io_uring *u, int fd, uint32_t tag)
{
    return floe_io_uring_recv(u, fd, tag);
}

int floe_io_uring_wait(struct floe_io_uring *u, int timeout_ms, unsigned batch, floe_time linger)
{
    (void)u;
    (void)timeout_ms;
    (void)batch;
    (void)linger;
    return FLOE_ERR_UNSUPPORTED;
}

int floe_io_uring_next(struct floe_io_uring *u, struct floe_io_uring_event *ev)
{
    (void)u;
    (void)ev;
    return 0;
}

void floe_io_uring_send_batch(struct floe_io_uring *u, struct floe_io_sender *s, int fd,
                              const struct floe_io_dgram *d, size_t n)
{
    (void)u;
    (void)fd;
    (void)d;
    s->stats.errors += n;
}

void floe_io_uring_flush(struct floe_io_uring *u)
{
    (void)u;
}

void floe_io_uring_recv_stats(const struct floe_io_uring *u, struct floe_io_recv_stats *out)
{
    (void)u;
    memset(out, 0, sizeof(*out));
}

#endif
