/*
 * A floe-relay worker: one relay core driven by one epoll loop, with recvmmsg
 * and sendmmsg batching on its listening and relayed sockets. With UDP GRO on
 * those sockets a burst of one flow arrives as one message, split back into
 * datagrams by floe_io_udp_recv_batch; replies leave as UDP GSO runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe_io.h"
#include "relayd.h"

#define WORKER_BATCH 64
#define WORKER_BUF 2048
#define WORKER_MAX_ROUNDS 8 /* recvmmsg batches per socket per wakeup, for fairness */
#define WORKER_SOCKBUF (4 * 1024 * 1024)
#define WORKER_URING_BATCH 32 /* completions a busy io_uring loop waits for (--linger-us) */

enum worker_tag {
    WORKER_TAG_WAKE = 0,
    WORKER_TAG_LISTEN = 1,
    WORKER_TAG_RELAY = 2,
};

struct worker_listen {
    int fd;
    struct floe_addr addr;
};

struct relayd_worker {
    struct relayd *d;
    unsigned idx;
    struct floe_relay *core;
    int epfd;
    int wakefd;
    struct worker_listen listen[RELAYD_MAX_LISTEN];
    size_t n_listen;
    int *port_fd[2]; /* [0] IPv4, [1] IPv6: relayed socket by port, -1 if none */
    struct floe_relay_stats published;
    struct floe_io_send_stats published_send;
    struct floe_io_recv_stats published_recv;
    pthread_t thread;
    floe_time next_publish;
    struct floe_io_receiver rx; /* recvmmsg batches, UDP GRO messages split */
    /* send batch: datagrams and the socket each leaves through */
    uint8_t tx_buf[WORKER_BATCH][WORKER_BUF];
    struct floe_io_dgram tx[WORKER_BATCH];
    int tx_fd[WORKER_BATCH];
    unsigned n_tx;
    struct floe_io_sender sender; /* UDP GSO runs, counters; never waits */
    struct floe_io_uring *ring;   /* the io_uring loop's rings, NULL in the epoll loop */
    unsigned creds_gen;           /* the generation of d->creds this core has */
};

static int worker_fam(const struct floe_addr *a)
{
    return a->family == FLOE_AF_INET6 ? 1 : 0;
}

static void worker_log_addr(struct relayd_worker *w, enum floe_log_level lvl, const char *msg,
                            const struct floe_addr *a, uint32_t id, int err)
{
    struct floe_log_field f[4] = {
        FLOE_LF_A("addr", a),
        FLOE_LF_U("alloc", id),
        FLOE_LF_U("worker", w->idx),
        FLOE_LF_S("error", err ? strerror(err) : ""),
    };

    floe_jsonlog_write(&w->d->log, lvl, "relay", msg, f, err ? 4 : 3);
}

static int worker_epoll_add(struct relayd_worker *w, int fd, uint64_t tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? FLOE_ERR_IO : 0;
}

/* A listening socket shared by every worker through SO_REUSEPORT. */
static int worker_open_listen(struct relayd_worker *w, const struct floe_addr *a)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, fd;

    if (floe_io_addr_to_sockaddr(a, &ss, &len) < 0)
        return FLOE_ERR_ADDR_FAMILY;
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FLOE_ERR_IO;
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return FLOE_ERR_IO;
    }
    (void)floe_io_udp_set_buffers(fd, WORKER_SOCKBUF);
    if (w->d->opts.gro)
        (void)floe_io_udp_set_gro(fd);
    w->listen[w->n_listen].fd = fd;
    w->listen[w->n_listen].addr = *a;
    return worker_epoll_add(w, fd, (uint64_t)WORKER_TAG_LISTEN << 32 | w->n_listen++);
}

static int worker_make_core(struct relayd_worker *w)
{
    const struct relayd_opts *o = &w->d->opts;
    struct floe_relay_config cfg = o->core;
    uint32_t span = (uint32_t)o->port_max - o->port_min + 1u;
    uint32_t share = span / w->d->n_workers;

    cfg.rng = floe_crypto_rng();
    cfg.log = floe_jsonlog_hook(&w->d->log);
    cfg.relay_v4 = o->relay_ip;
    cfg.relay_v6 = o->relay_ip6;
    cfg.reservations = relayd_resv_hooks(&w->d->resv, w->idx);
    if (w->d->quota.ready)
        cfg.quotas = relayd_quota_hooks(&w->d->quota);
    cfg.port_min = (uint16_t)(o->port_min + share * w->idx);
    cfg.port_max =
        (uint16_t)(w->idx + 1 == w->d->n_workers ? o->port_max : cfg.port_min + share - 1u);
    return floe_relay_new(&w->core, &cfg);
}

int relayd_worker_new(struct relayd *d, unsigned idx, struct relayd_worker **out)
{
    struct relayd_worker *w = calloc(1, sizeof(*w));
    size_t i;
    int rc;

    if (!w)
        return FLOE_ERR_NOMEM;
    w->d = d;
    w->idx = idx;
    w->sender.gso = true;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->port_fd[0] = malloc(65536 * sizeof(int));
    w->port_fd[1] = malloc(65536 * sizeof(int));
    *out = w;
    if (w->epfd < 0 || w->wakefd < 0 || !w->port_fd[0] || !w->port_fd[1])
        return FLOE_ERR_IO;
    rc = floe_io_receiver_init(&w->rx, WORKER_BATCH);
    if (rc < 0)
        return rc;
    memset(w->port_fd[0], 0xff, 65536 * sizeof(int));
    memset(w->port_fd[1], 0xff, 65536 * sizeof(int));
    rc = worker_epoll_add(w, w->wakefd, WORKER_TAG_WAKE);
    for (i = 0; rc == 0 && i < d->opts.n_listen; i++)
        rc = worker_open_listen(w, &d->opts.listen[i]);
    if (rc < 0)
        return rc;
    return worker_make_core(w);
}

void relayd_worker_free(struct relayd_worker *w)
{
    size_t i;
    int f, p;

    if (!w)
        return;
    floe_io_uring_free(w->ring); /* first: its requests hold the sockets */
    for (i = 0; i < w->n_listen; i++)
        close(w->listen[i].fd);
    for (f = 0; f < 2 && w->port_fd[0] && w->port_fd[1]; f++) {
        for (p = 0; p < 65536; p++) {
            if (w->port_fd[f][p] >= 0)
                close(w->port_fd[f][p]);
        }
    }
    free(w->port_fd[0]);
    free(w->port_fd[1]);
    floe_relay_free(w->core);
    floe_io_receiver_deinit(&w->rx);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->wakefd >= 0)
        close(w->wakefd);
    free(w);
}

void relayd_worker_wake(struct relayd_worker *w)
{
    uint64_t one = 1;

    if (write(w->wakefd, &one, sizeof(one)) < 0)
        return; /* the counter is already non-zero: the worker is awake anyway */
}

/* A socket's tag in the io_uring loop: the epoll tag's kind and low bits in 32 bits. */
static uint32_t worker_tag32(enum worker_tag kind, uint32_t low)
{
    return (uint32_t)kind << 24 | low;
}

/*
 * Group the batch by socket (stable, so each socket keeps its order): one
 * floe_io_udp_send_batch call then carries everything for a socket.
 */
static void worker_group_by_fd(struct relayd_worker *w)
{
    unsigned i, j;

    for (i = 1; i < w->n_tx; i++) {
        struct floe_io_dgram dg = w->tx[i];
        int fd = w->tx_fd[i];

        for (j = i; j > 0 && w->tx_fd[j - 1] > fd; j--) {
            w->tx[j] = w->tx[j - 1];
            w->tx_fd[j] = w->tx_fd[j - 1];
        }
        w->tx[j] = dg;
        w->tx_fd[j] = fd;
    }
}

static void worker_flush(struct relayd_worker *w)
{
    unsigned i = 0;

    worker_group_by_fd(w);
    while (i < w->n_tx) {
        unsigned j = i + 1;

        while (j < w->n_tx && w->tx_fd[j] == w->tx_fd[i])
            j++;
        /* UDP: what the kernel cannot take now is lost (and counted), as on the wire */
        if (w->ring)
            floe_io_uring_send_batch(w->ring, &w->sender, w->tx_fd[i], &w->tx[i], j - i);
        else
            floe_io_udp_send_batch(&w->sender, w->tx_fd[i], &w->tx[i], j - i);
        i = j;
    }
    if (w->ring)
        floe_io_uring_flush(w->ring); /* every socket's sends in one io_uring_enter */
    w->n_tx = 0;
}

/* The socket a datagram from the core leaves through. */
static int worker_fd_for(const struct relayd_worker *w, const struct floe_addr *from)
{
    size_t i;

    for (i = 0; i < w->n_listen; i++) {
        if (floe_addr_eq(&w->listen[i].addr, from))
            return w->listen[i].fd;
    }
    return w->port_fd[worker_fam(from)][from->port];
}

/* The next free send slot's buffer; flushes first when the batch is full. */
static uint8_t *worker_tx_slot(struct relayd_worker *w)
{
    if (w->n_tx == WORKER_BATCH)
        worker_flush(w);
    return w->tx_buf[w->n_tx];
}

/* Commit n bytes written into the current slot for tx. */
static void worker_tx_commit(struct relayd_worker *w, long n, const struct floe_relay_tx *tx)
{
    unsigned k = w->n_tx;
    int fd;

    if (n <= 0)
        return;
    fd = worker_fd_for(w, &tx->from);
    if (fd < 0)
        return;
    w->tx[k].buf = w->tx_buf[k];
    w->tx[k].len = (size_t)n;
    w->tx[k].dst = tx->to;
    w->tx_fd[k] = fd;
    w->n_tx++;
}

/* DONT-FRAGMENT (RFC 8656 section 7.2): the relayed socket sends with the DF bit set. */
static int worker_dont_fragment(int fd, const struct floe_addr *a)
{
    int v4 = IP_PMTUDISC_DO, one = 1;

    if (a->family == FLOE_AF_INET6)
        return setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
    return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
}

/* Bind a relayed port for the core; answer it with floe_relay_port_bound. */
static void worker_bind_port(struct relayd_worker *w, floe_time now,
                             const struct floe_relay_event *ev)
{
    struct floe_relay_tx tx;
    int fd = floe_io_udp_open(&ev->addr), err = 0;
    uint32_t low = (uint32_t)worker_fam(&ev->addr) << 16 | ev->addr.port;
    long n;

    if (fd >= 0 && ev->dont_fragment && worker_dont_fragment(fd, &ev->addr) < 0) {
        close(fd);
        fd = FLOE_ERR_IO;
    }
    if (fd >= 0 &&
        (w->ring ? floe_io_uring_recv(w->ring, fd, worker_tag32(WORKER_TAG_RELAY, low))
                 : worker_epoll_add(w, fd, (uint64_t)WORKER_TAG_RELAY << 32 | low)) < 0) {
        close(fd);
        fd = FLOE_ERR_IO;
    }
    if (fd < 0) {
        err = errno;
        worker_log_addr(w, FLOE_LOG_WARN, "cannot bind relayed port", &ev->addr, ev->alloc_id, err);
    } else {
        (void)floe_io_udp_set_buffers(fd, WORKER_SOCKBUF);
        if (w->d->opts.gro)
            (void)floe_io_udp_set_gro(fd);
        w->port_fd[worker_fam(&ev->addr)][ev->addr.port] = fd;
    }
    n = floe_relay_port_bound(w->core, now, ev->alloc_id, fd < 0 ? FLOE_ERR_IO : 0,
                              worker_tx_slot(w), WORKER_BUF, &tx);
    worker_tx_commit(w, n, &tx);
}

static void worker_release_port(struct relayd_worker *w, const struct floe_addr *a)
{
    int *slot = &w->port_fd[worker_fam(a)][a->port];

    if (*slot < 0)
        return;
    if (w->ring) /* the receive request holds the socket open until cancelled */
        (void)floe_io_uring_cancel(
            w->ring, *slot,
            worker_tag32(WORKER_TAG_RELAY, (uint32_t)worker_fam(a) << 16 | a->port));
    close(*slot); /* also leaves the epoll set */
    *slot = -1;
}

static void worker_events(struct relayd_worker *w, floe_time now)
{
    struct floe_relay_event ev;

    while (floe_relay_poll_event(w->core, &ev)) {
        switch (ev.kind) {
        case FLOE_RELAY_EV_BIND_PORT:
            worker_bind_port(w, now, &ev);
            break;
        case FLOE_RELAY_EV_RELEASE_PORT:
            worker_release_port(w, &ev.addr);
            break;
        case FLOE_RELAY_EV_ALLOCATED:
            worker_log_addr(w, FLOE_LOG_INFO, "allocation created", &ev.addr, ev.alloc_id, 0);
            break;
        case FLOE_RELAY_EV_EXPIRED:
            worker_log_addr(w, FLOE_LOG_INFO, "allocation ended", &ev.addr, ev.alloc_id, 0);
            break;
        }
    }
}

/* Feed received datagrams to the core: from clients on a listening socket, or from peers. */
static void worker_feed(struct relayd_worker *w, const struct floe_io_rx_dgram *dg, size_t n,
                        const struct floe_addr *local, bool from_client, floe_time now)
{
    struct floe_relay_tx tx;
    size_t i;

    for (i = 0; i < n; i++) {
        const struct floe_io_rx_dgram *d = &dg[i];
        long out;

        if (from_client)
            out = floe_relay_handle_client(w->core, now, local, &d->from, d->buf, d->len,
                                           worker_tx_slot(w), WORKER_BUF, &tx);
        else
            out = floe_relay_handle_peer(w->core, now, local, &d->from, d->buf, d->len,
                                         worker_tx_slot(w), WORKER_BUF, &tx);
        worker_tx_commit(w, out, &tx);
        worker_events(w, now);
    }
}

/* Read up to a batch from fd; feed each datagram to the core. Returns the messages read. */
static int worker_read_batch(struct relayd_worker *w, int fd, const struct floe_addr *local,
                             bool from_client, floe_time now)
{
    int n = floe_io_udp_recv_batch(&w->rx, fd);

    worker_feed(w, w->rx.dg, w->rx.n_dg, local, from_client, now);
    return n;
}

static void worker_drain(struct relayd_worker *w, int fd, const struct floe_addr *local,
                         bool from_client, floe_time now)
{
    int round;

    for (round = 0; round < WORKER_MAX_ROUNDS; round++) {
        if (worker_read_batch(w, fd, local, from_client, now) < WORKER_BATCH)
            break;
    }
}

static void worker_dispatch(struct relayd_worker *w, uint64_t tag, floe_time now)
{
    uint32_t kind = (uint32_t)(tag >> 32), low = (uint32_t)tag;
    struct floe_addr relayed;
    uint64_t drained;

    if (kind == WORKER_TAG_WAKE) {
        if (read(w->wakefd, &drained, sizeof(drained)) < 0)
            return;
        return;
    }
    if (kind == WORKER_TAG_LISTEN && low < w->n_listen) {
        worker_drain(w, w->listen[low].fd, &w->listen[low].addr, true, now);
        return;
    }
    relayed = (low >> 16) ? w->d->opts.relay_ip6 : w->d->opts.relay_ip;
    relayed.port = (uint16_t)low;
    if (w->port_fd[worker_fam(&relayed)][relayed.port] >= 0)
        worker_drain(w, w->port_fd[worker_fam(&relayed)][relayed.port], &relayed, false, now);
}

static int worker_wait_ms(const struct relayd_worker *w, floe_time now)
{
    floe_time next = floe_time_min(floe_relay_poll_timeout(w->core), w->next_publish);

    if (next <= now)
        return 0;
    return (int)((next - now + FLOE_MS(1) - 1) / FLOE_MS(1));
}

/* Take credentials re-read on SIGHUP (relayd_reload) into the core. */
static void worker_creds(struct relayd_worker *w, floe_time now)
{
    struct relayd *d = w->d;
    const struct relayd_creds *c = &d->creds;
    unsigned gen = atomic_load(&d->creds_gen);
    int rc;

    if (gen == w->creds_gen)
        return;
    pthread_mutex_lock(&d->creds_lock);
    rc = floe_relay_set_credentials(w->core, now, c->has_secret ? c->secret : NULL, c->users,
                                    c->n_users, FLOE_SEC(d->opts.secret_grace));
    w->creds_gen = atomic_load(&d->creds_gen);
    pthread_mutex_unlock(&d->creds_lock);
    if (rc < 0)
        worker_log_addr(w, FLOE_LOG_ERROR, "credentials not taken", &w->listen[0].addr, 0, EINVAL);
}

static void worker_tick(struct relayd_worker *w, floe_time now)
{
    worker_creds(w, now);
    floe_relay_set_unix_time(w->core, (int64_t)time(NULL));
    floe_relay_handle_timeout(w->core, now);
    worker_events(w, now);
    worker_flush(w);
    if (now >= w->next_publish) {
        pthread_mutex_lock(&w->d->stats_lock);
        floe_relay_get_stats(w->core, &w->published);
        w->published_send = w->sender.stats;
        if (w->ring)
            floe_io_uring_recv_stats(w->ring, &w->published_recv);
        else
            w->published_recv = w->rx.stats;
        pthread_mutex_unlock(&w->d->stats_lock);
        w->next_publish = now + FLOE_SEC(1);
    }
}

/*
 * Whether a multishot receive that ended with err is armed again: yes after running out
 * of buffers (-ENOBUFS) or completion-queue room (0) and other passing errors; no once
 * cancelled or when the socket is gone, so a broken socket cannot spin the loop.
 */
static bool worker_uring_rearm(int err)
{
    return err != -ECANCELED && err != -EBADF && err != -ENOTSOCK && err != -EINVAL;
}

/* One completion of the io_uring loop: datagrams to feed, a wake-up, a request to re-arm. */
static void worker_uring_event(struct relayd_worker *w, const struct floe_io_uring_event *ev,
                               floe_time now)
{
    uint32_t kind = ev->tag >> 24, low = ev->tag & 0xffffffu;
    struct floe_addr relayed;
    uint64_t drained;
    int *slot;

    if (kind == WORKER_TAG_WAKE) {
        if (read(w->wakefd, &drained, sizeof(drained)) < 0)
            drained = 0; /* already drained: nothing to do */
        if (ev->ended && worker_uring_rearm(ev->err))
            (void)floe_io_uring_poll(w->ring, w->wakefd, ev->tag);
        return;
    }
    if (kind == WORKER_TAG_LISTEN && low < w->n_listen) {
        worker_feed(w, ev->dg, ev->n_dg, &w->listen[low].addr, true, now);
        if (ev->ended && worker_uring_rearm(ev->err))
            (void)floe_io_uring_recv(w->ring, ev->fd, ev->tag);
        return;
    }
    relayed = (low >> 16) ? w->d->opts.relay_ip6 : w->d->opts.relay_ip;
    relayed.port = (uint16_t)low;
    slot = &w->port_fd[worker_fam(&relayed)][relayed.port];
    if (*slot != ev->fd)
        return; /* the port was released: the last completions of its request */
    worker_feed(w, ev->dg, ev->n_dg, &relayed, false, now);
    /* ended without a cancel: out of buffers (-ENOBUFS) or a full completion queue */
    if (ev->ended && worker_uring_rearm(ev->err) && *slot == ev->fd)
        (void)floe_io_uring_recv(w->ring, ev->fd, ev->tag);
}

/* Create the rings and arm the listening sockets and the wake-up eventfd. */
static int worker_uring_start(struct relayd_worker *w)
{
    size_t payload = w->d->opts.gro ? 65536 : WORKER_BUF, i;
    int rc = floe_io_uring_new(&w->ring, payload, w->d->opts.gro ? 256 : 1024);

    for (i = 0; rc == 0 && i < w->n_listen; i++)
        rc = floe_io_uring_recv(w->ring, w->listen[i].fd,
                                worker_tag32(WORKER_TAG_LISTEN, (uint32_t)i));
    if (rc == 0)
        rc = floe_io_uring_poll(w->ring, w->wakefd, worker_tag32(WORKER_TAG_WAKE, 0));
    if (rc < 0) {
        struct floe_log_field f[2] = {
            FLOE_LF_U("worker", w->idx),
            FLOE_LF_S("error", rc == FLOE_ERR_IO ? strerror(errno) : floe_strerror(rc)),
        };

        floe_jsonlog_write(&w->d->log, FLOE_LOG_WARN, "relay",
                           "io_uring unavailable in this worker, using epoll", f, 2);
        floe_io_uring_free(w->ring);
        w->ring = NULL;
    }
    return rc;
}

/* The io_uring loop: multishot receives on every socket, all sends in one submission. */
static void worker_uring_run(struct relayd_worker *w)
{
    struct floe_io_uring_event ev;
    floe_time linger = (floe_time)w->d->opts.linger_us * 1000u;

    while (!atomic_load(&w->d->stop)) {
        floe_time now = floe_io_now();

        /* under load: one wake-up per batch (or per linger), not one per datagram */
        if (floe_io_uring_wait(w->ring, worker_wait_ms(w, now), WORKER_URING_BATCH, linger) < 0)
            worker_log_addr(w, FLOE_LOG_ERROR, "io_uring wait failed", &w->listen[0].addr, 0,
                            errno);
        now = floe_io_now();
        while (floe_io_uring_next(w->ring, &ev))
            worker_uring_event(w, &ev, now);
        worker_flush(w);
        worker_tick(w, now);
    }
}

int relayd_resolve_io(struct relayd_opts *o)
{
    struct floe_io_uring *probe;
    int rc;

    if (o->io == RELAYD_IO_EPOLL)
        return 0;
    rc = floe_io_uring_new(&probe, WORKER_BUF, 8);
    floe_io_uring_free(probe);
    if (rc < 0 && o->io == RELAYD_IO_URING)
        return rc;
    o->io = rc < 0 ? RELAYD_IO_EPOLL : RELAYD_IO_URING;
    return 0;
}

void *relayd_worker_run(void *arg)
{
    struct relayd_worker *w = arg;
    struct epoll_event evs[64];

    floe_relay_set_unix_time(w->core, (int64_t)time(NULL));
    if (w->d->opts.io == RELAYD_IO_URING && worker_uring_start(w) == 0) {
        worker_uring_run(w);
        return NULL;
    }
    while (!atomic_load(&w->d->stop)) {
        floe_time now = floe_io_now();
        int n = epoll_wait(w->epfd, evs, 64, worker_wait_ms(w, now)), i;

        now = floe_io_now();
        for (i = 0; i < n; i++)
            worker_dispatch(w, evs[i].data.u64, now);
        worker_flush(w); /* one batch for everything these events produced */
        worker_tick(w, now);
    }
    return NULL;
}

void relayd_worker_add_send_stats(struct relayd_worker *w, struct floe_io_send_stats *sum)
{
    sum->sent += w->published_send.sent;
    sum->full += w->published_send.full;
    sum->errors += w->published_send.errors;
}

void relayd_worker_add_recv_stats(struct relayd_worker *w, struct floe_io_recv_stats *sum)
{
    sum->calls += w->published_recv.calls;
    sum->received += w->published_recv.received;
    sum->coalesced += w->published_recv.coalesced;
    sum->truncated += w->published_recv.truncated;
    sum->bad_source += w->published_recv.bad_source;
    sum->stale += w->published_recv.stale;
}

void relayd_worker_add_stats(struct relayd_worker *w, struct floe_relay_stats *sum)
{
    const struct floe_relay_stats *s = &w->published;
    int i;

    sum->allocations += s->allocations;
    sum->allocations_total += s->allocations_total;
    sum->permissions += s->permissions;
    sum->channels += s->channels;
    sum->requests += s->requests;
    sum->auth_failures += s->auth_failures;
    sum->error_responses += s->error_responses;
    sum->packets_to_peers += s->packets_to_peers;
    sum->bytes_to_peers += s->bytes_to_peers;
    sum->packets_to_clients += s->packets_to_clients;
    sum->bytes_to_clients += s->bytes_to_clients;
    for (i = 0; i < FLOE_RELAY_DROP_COUNT; i++)
        sum->drops[i] += s->drops[i];
}
