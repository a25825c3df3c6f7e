/* floe-portal's event loop: sockets, connections, timers and signals (serve.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe_io.h"
#include "serve.h"

/* epoll tags below this are the daemon's own descriptors; others are connections. */
enum portald_tag {
    PORTALD_TAG_LISTEN = 1,
    PORTALD_TAG_SIGNAL,
    PORTALD_TAG_UDP,
    PORTALD_TAG_UDP6,
    PORTALD_TAG_NOTIFY,
    PORTALD_TAG_MAX = 16,
};

/* The connection's unsent bytes after a short write. */
struct portald_wbuf {
    size_t len, off;
    uint8_t data[];
};

static uint8_t portald_io_buf[PORTALD_READ_CHUNK];

int64_t portald_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int portald_epoll_add(struct portald *d, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};

    return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? FLOE_ERR_IO : 0;
}

static void portald_conn_arm(struct portald *d, struct portald_conn *c, bool write)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (write ? EPOLLOUT : 0u),
                             .data.ptr = c};

    if (c->writing == write)
        return;
    c->writing = write;
    (void)epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* ------------------------------------------------------------ the device table */

struct portald_conn *portald_device_conn(struct portald *d, int64_t id)
{
    struct portald_conn *c = d->by_dev[(uint64_t)id % PORTALD_DEVICE_BUCKETS];

    while (c && c->dev.id != id)
        c = c->next_dev;
    return c;
}

/* ---------------------------------------------------------------- writing */

/* The bytes left from a short write first; then the wsconn's until the socket is full. */
static int portald_conn_flush(struct portald *d, struct portald_conn *c, floe_time now)
{
    struct portald_wbuf *w = (struct portald_wbuf *)c->wbuf;
    ssize_t n;
    long len;

    while (w) {
        n = send(c->fd, w->data + w->off, w->len - w->off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            goto blocked;
        if (n < 0)
            return FLOE_ERR_IO;
        w->off += (size_t)n;
        if (w->off < w->len)
            continue;
        free(w);
        w = NULL;
        c->wbuf = NULL;
    }
    while ((len = floe_wsconn_poll_transmit(c->ws, now, portald_io_buf, sizeof(portald_io_buf))) >
           0) {
        n = send(c->fd, portald_io_buf, (size_t)len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return FLOE_ERR_IO;
        if (n == len)
            continue;
        if (n < 0)
            n = 0;
        w = malloc(sizeof(*w) + (size_t)len - (size_t)n);
        if (!w)
            return FLOE_ERR_NOMEM;
        w->len = (size_t)len - (size_t)n;
        w->off = 0;
        memcpy(w->data, portald_io_buf + n, w->len);
        c->wbuf = w;
        goto blocked;
    }
    portald_conn_arm(d, c, false);
    return 0;
blocked:
    portald_conn_arm(d, c, true);
    return 0;
}

int portald_send_json(struct portald *d, struct portald_conn *c, const char *json, size_t len)
{
    floe_time now = floe_io_now();
    int rc = floe_wsconn_send_text(c->ws, now, json, len);

    if (rc == FLOE_ERR_BUFFER_TOO_SMALL) {
        (void)portald_conn_flush(d, c, now);
        rc = floe_wsconn_send_text(c->ws, now, json, len);
    }
    if (rc < 0) {
        portald_log(d, FLOE_LOG_DEBUG, "message to %s dropped: %s", c->sid, floe_strerror(rc));
        return rc;
    }
    d->stats.messages_out++;
    if (portald_conn_flush(d, c, now) < 0) {
        c->eof = true; /* the next timer round frees it */
        c->due = 0;
        d->next_due = 0;
    }
    return 0;
}

int portald_send_msg(struct portald *d, struct portald_conn *c)
{
    long n = floe_portal_msg_encode(d->msg, d->out, FLOE_PORTAL_JSON_MAX);

    if (n < 0) {
        portald_log(d, FLOE_LOG_ERROR, "cannot encode %s: %s", floe_portal_msg_event(d->msg->type),
                    floe_strerror((int)n));
        return (int)n;
    }
    return portald_send_json(d, c, d->out, (size_t)n);
}

void portald_conn_close(struct portald *d, struct portald_conn *c, uint16_t code,
                        const char *reason)
{
    (void)floe_wsconn_close(c->ws, floe_io_now(), code, reason);
    (void)d;
}

/* ------------------------------------------------------- accept and free */

/* Mark c to be freed once the current round of events is handled. */
static void portald_conn_kill(struct portald *d, struct portald_conn *c)
{
    if (!c->dead) {
        c->dead = true;
        d->n_dead++;
    }
}

static void portald_conn_free(struct portald *d, struct portald_conn *c)
{
    struct portald_conn *last = d->conns[d->n_conns - 1];

    portald_channel_closed(d, c);
    portald_route_conn_free(c);
    last->slot = c->slot;
    d->conns[c->slot] = last;
    d->n_conns--;
    d->stats.connections_open = d->n_conns;
    close(c->fd);
    floe_wsconn_free(c->ws);
    free(c->wbuf);
    free(c->seen);
    free(c);
}

static int portald_conn_new(struct portald *d, int fd, const struct floe_addr *peer, floe_time now)
{
    struct floe_wsconn_config cfg;
    struct portald_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return FLOE_ERR_NOMEM;
    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.rng = d->rng;
    cfg.tls = d->tls != NULL;
    cfg.tls_ctx = d->tls;
    cfg.max_message = d->opts.max_frame;
    if (cfg.max_queued < cfg.max_message)
        cfg.max_queued = cfg.max_message;
    cfg.handshake_timeout = FLOE_MS(d->opts.handshake_ms);
    if (floe_wsconn_new(&c->ws, &cfg) < 0 || floe_wsconn_start(c->ws, now) < 0) {
        floe_wsconn_free(c->ws);
        free(c);
        return FLOE_ERR_NOMEM;
    }
    c->fd = fd;
    c->peer = *peer;
    c->last_in = now;
    c->serial = ++d->next_serial;
    c->slot = d->n_conns;
    d->conns[d->n_conns++] = c;
    d->stats.connections_open = d->n_conns;
    d->stats.connections_accepted++;
    if (portald_epoll_add(d, fd, EPOLLIN | EPOLLRDHUP, (uint64_t)(uintptr_t)c) < 0) {
        portald_conn_kill(d, c);
        return 0;
    }
    c->due = floe_time_min(floe_wsconn_poll_timeout(c->ws), now + PORTALD_IDLE_TIMEOUT(d));
    d->next_due = floe_time_min(d->next_due, c->due);
    return 0;
}

/*
 * Out of file descriptors (EMFILE, ENFILE): the pending connection would stay in the backlog
 * and keep the listening socket readable, a busy loop. Give up the spare descriptor, accept
 * the connection and close it at once (counted as refused at the limit), take the spare back.
 */
static bool portald_accept_shed(struct portald *d)
{
    int fd;

    if (d->spare_fd < 0)
        return false;
    close(d->spare_fd);
    fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        d->stats.connections_refused_limit++;
    }
    d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0;
}

/* Accept one connection: false when the queue is empty. */
static bool portald_accept_one(struct portald *d, floe_time now)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    struct floe_addr peer = {0};
    int one = 1,
        fd = accept4(d->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0 && (errno == EMFILE || errno == ENFILE))
        return portald_accept_shed(d);
    if (fd < 0)
        return errno == EINTR || errno == ECONNABORTED;
    (void)floe_io_addr_from_sockaddr(&peer, (struct sockaddr *)&ss, len);
    if (d->n_conns >= d->opts.max_connections || d->n_conns >= d->cap_conns) {
        d->stats.connections_refused_limit++;
        close(fd);
        return true;
    }
    if (!portald_rate_allow(&d->addr_rate, peer.ip, 16, now)) {
        d->stats.connections_refused_rate++;
        close(fd);
        return true;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (portald_conn_new(d, fd, &peer, now) < 0)
        close(fd);
    return true;
}

/* ---------------------------------------------------------------- reading */

static void portald_conn_event(struct portald *d, struct portald_conn *c,
                               const struct floe_wsconn_event *ev, floe_time now)
{
    switch (ev->kind) {
    case FLOE_WSCONN_EV_REQUEST:
        portald_http_request(d, c, now);
        break;
    case FLOE_WSCONN_EV_OPEN:
        break;
    case FLOE_WSCONN_EV_ERROR:
        if (ev->err == FLOE_ERR_CRYPTO)
            d->stats.tls_failures++;
        else if (ev->err == FLOE_ERR_TIMEOUT && c->kind == PORTALD_KIND_NONE)
            d->stats.handshake_timeouts++;
        else if (ev->err == FLOE_ERR_PROTOCOL && c->kind != PORTALD_KIND_NONE)
            d->stats.ws_errors++;
        else if (ev->err == FLOE_ERR_PROTOCOL)
            d->stats.http_bad++;
        portald_log(d, FLOE_LOG_DEBUG, "connection %llu: %s", (unsigned long long)c->serial,
                    ev->text);
        break;
    case FLOE_WSCONN_EV_CLOSED:
        c->closing = true;
        break;
    }
}

/* Drain the wsconn's events and messages, send what is due; true when c is to be freed. */
static bool portald_conn_drain(struct portald *d, struct portald_conn *c, floe_time now)
{
    struct floe_wsconn_event ev;
    struct floe_span m;

    for (;;) {
        if (floe_wsconn_poll_event(c->ws, &ev) == 1) {
            portald_conn_event(d, c, &ev, now);
            continue;
        }
        if (floe_wsconn_poll_message(c->ws, &m) == 1) {
            portald_channel_message(d, c, (const char *)m.ptr, m.len);
            continue;
        }
        break;
    }
    if (portald_conn_flush(d, c, now) < 0)
        return true;
    if (c->eof && !c->closing)
        floe_wsconn_handle_eof(c->ws, now), c->closing = true;
    c->due = floe_time_min(floe_wsconn_poll_timeout(c->ws), c->last_in + PORTALD_IDLE_TIMEOUT(d));
    d->next_due = floe_time_min(d->next_due, c->due);
    return (c->closing && !c->wbuf && !floe_wsconn_want_write(c->ws)) || c->eof;
}

static bool portald_conn_read(struct portald *d, struct portald_conn *c, floe_time now)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, portald_io_buf, sizeof(portald_io_buf), 0);

        if (n > 0) {
            c->last_in = now;
            (void)floe_wsconn_handle_input(c->ws, now, portald_io_buf, (size_t)n);
            if (portald_conn_drain(d, c, now))
                return true;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return false;
        floe_wsconn_handle_eof(c->ws, now);
        (void)portald_conn_drain(d, c, now);
        return true;
    }
    return false;
}

static void portald_conn_ready(struct portald *d, struct portald_conn *c, uint32_t events,
                               floe_time now)
{
    bool done = false;

    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        done = portald_conn_read(d, c, now);
    if (!done && (events & EPOLLOUT))
        done = portald_conn_drain(d, c, now);
    if (done)
        portald_conn_kill(d, c);
}

/* Free the connections that died this round. */
static void portald_conns_sweep(struct portald *d)
{
    for (size_t i = 0; d->n_dead > 0 && i < d->n_conns;) {
        if (d->conns[i]->dead) {
            d->n_dead--;
            portald_conn_free(d, d->conns[i]); /* the last one moved into slot i */
            continue;
        }
        i++;
    }
    d->n_dead = 0;
}

/* ---------------------------------------------------------------- timers */

static void portald_conns_timeout(struct portald *d, floe_time now)
{
    if (now < d->next_due)
        return;
    d->next_due = FLOE_TIME_NEVER;
    for (size_t i = 0; i < d->n_conns; i++) {
        struct portald_conn *c = d->conns[i];

        if (c->dead)
            continue;
        if (c->due <= now) {
            if (now >= c->last_in + PORTALD_IDLE_TIMEOUT(d) &&
                floe_wsconn_state(c->ws) == FLOE_WSCONN_OPEN) {
                portald_log(d, FLOE_LOG_INFO, "connection %llu: idle for %u ms: closing",
                            (unsigned long long)c->serial, d->opts.idle_ms);
                (void)floe_wsconn_close(c->ws, now, FLOE_WS_CLOSE_POLICY, "idle");
            }
            floe_wsconn_handle_timeout(c->ws, now);
            if (portald_conn_drain(d, c, now)) {
                portald_conn_kill(d, c);
                continue;
            }
        }
        d->next_due = floe_time_min(d->next_due, c->due);
    }
}

static void portald_relays_send(struct portald *d, floe_time now)
{
    uint8_t buf[256];
    struct floe_addr to;
    long n;

    while ((n = portald_relays_poll_transmit(&d->relays, now, &d->rng, buf, sizeof(buf), &to)) >
           0) {
        int fd = to.family == FLOE_AF_INET6 ? d->udp6_fd : d->udp_fd;

        if (fd >= 0 && floe_io_udp_send(fd, &to, buf, (size_t)n) == 0)
            d->stats.relay_checks_sent++;
    }
    portald_push_relays(d);
}

static void portald_udp_read(struct portald *d, int fd, floe_time now)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct floe_addr from;
    ssize_t n;

    for (;;) {
        len = sizeof(ss);
        n = recvfrom(fd, portald_io_buf, sizeof(portald_io_buf), 0, (struct sockaddr *)&ss, &len);
        if (n < 0)
            break;
        if (floe_io_addr_from_sockaddr(&from, (struct sockaddr *)&ss, len) < 0)
            continue;
        uint64_t before = d->relays.answers;
        portald_relays_handle_input(&d->relays, now, &from, portald_io_buf, (size_t)n);
        d->stats.relay_checks_answered += d->relays.answers - before;
    }
    portald_push_relays(d);
}

/* A PostgreSQL connection made again has a new socket: watch that one. */
static void portald_notify_fd_check(struct portald *d)
{
    int fd = floe_store_notify_fd(d->store);

    if (fd == d->notify_fd)
        return;
    if (d->notify_fd >= 0)
        (void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->notify_fd, NULL);
    d->notify_fd = fd;
    if (fd >= 0 && portald_epoll_add(d, fd, EPOLLIN, PORTALD_TAG_NOTIFY) < 0)
        portald_log(d, FLOE_LOG_ERROR, "cannot watch the database's notifications");
}

/* Every joined device's heartbeat in one store transaction (not one write per device). */
static void portald_presence_refresh(struct portald *d, int64_t wall)
{
    int64_t *ids = malloc((d->n_conns ? d->n_conns : 1) * sizeof(*ids));
    size_t n = 0;

    if (!ids) {
        d->stats.store_errors++;
        return;
    }
    for (size_t i = 0; i < d->n_conns; i++)
        if (d->conns[i]->joined)
            ids[n++] = d->conns[i]->dev.id;
    if (floe_store_presence_refresh(d->store, ids, n, d->opts.instance, wall) < 0)
        d->stats.store_errors++;
    free(ids);
}

static void portald_periodic(struct portald *d, floe_time now)
{
    if (now >= portald_relays_poll_timeout(&d->relays))
        portald_relays_send(d, now);
    if (now >= d->next_presence) {
        int64_t wall = portald_wall();

        d->next_presence = now + PORTALD_PRESENCE_REFRESH;
        portald_presence_refresh(d, wall);
        (void)floe_store_authorizations_expire(d->store, wall, NULL);
        (void)floe_store_revocations_expire(d->store, wall, NULL);
        portald_hold_expire(d, wall);
    }
    if (now >= d->next_renew) {
        if (d->next_renew == 0) /* what was revoked while no instance ran */
            portald_authz_revoke(d);
        d->next_renew = now + portald_authz_renew_every(d);
        portald_authz_renew(d);
    }
    if (now >= d->next_changes) {
        d->next_changes = now + PORTALD_CHANGES_POLL;
        portald_push_changes(d);
        portald_route_timeouts(d);
        portald_notify_fd_check(d);
    }
    portald_conns_timeout(d, now);
}

static floe_time portald_next_deadline(const struct portald *d)
{
    floe_time t = floe_time_min(d->next_due, portald_relays_poll_timeout(&d->relays));

    t = floe_time_min(t, d->next_presence);
    t = floe_time_min(t, d->next_changes);
    t = floe_time_min(t, d->next_renew);
    return d->stopping ? floe_time_min(t, d->stop_at) : t;
}

/* ---------------------------------------------------------------- signals */

static void portald_begin_stop(struct portald *d, floe_time now)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->stop_at = now + FLOE_MS(PORTALD_SHUTDOWN_GRACE_MS);
    portald_log(d, FLOE_LOG_INFO, "stopping: closing %llu connections",
                (unsigned long long)d->n_conns);
    (void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL);
    close(d->listen_fd);
    d->listen_fd = -1;
    for (size_t i = 0; i < d->n_conns; i++) {
        struct portald_conn *c = d->conns[i];

        if (floe_wsconn_state(c->ws) == FLOE_WSCONN_OPEN)
            (void)floe_wsconn_close(c->ws, now, FLOE_WS_CLOSE_GOING_AWAY, "portal shutting down");
        else
            c->eof = true;
    }
    for (size_t i = 0; i < d->n_conns; i++)
        if (!d->conns[i]->dead && portald_conn_drain(d, d->conns[i], now))
            portald_conn_kill(d, d->conns[i]);
}

static void portald_signal(struct portald *d, floe_time now)
{
    struct signalfd_siginfo si;

    while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            (void)floe_jsonlog_reopen(&d->log);
            portald_log(d, FLOE_LOG_INFO, "log file reopened");
            continue;
        }
        portald_begin_stop(d, now);
    }
}

/* ---------------------------------------------------------------- the loop */

static void portald_dispatch(struct portald *d, const struct epoll_event *ev, floe_time now)
{
    switch (ev->data.u64) {
    case PORTALD_TAG_LISTEN:
        for (int i = 0; i < 64 && d->listen_fd >= 0 && portald_accept_one(d, now); i++)
            ;
        return;
    case PORTALD_TAG_SIGNAL:
        portald_signal(d, now);
        return;
    case PORTALD_TAG_UDP:
        portald_udp_read(d, d->udp_fd, now);
        return;
    case PORTALD_TAG_UDP6:
        portald_udp_read(d, d->udp6_fd, now);
        return;
    case PORTALD_TAG_NOTIFY:
        portald_push_notified(d); /* the device messages (route.c), changes if notified */
        return;
    }
    if (ev->data.u64 >= PORTALD_TAG_MAX && !((struct portald_conn *)ev->data.ptr)->dead) {
        portald_conn_ready(d, ev->data.ptr, ev->events, now);
        portald_push_notified(d); /* what its statements read off the store's socket */
    }
}

static int portald_loop(struct portald *d)
{
    struct epoll_event evs[64];

    while (!d->stopping || (d->n_conns > 0 && floe_io_now() < d->stop_at)) {
        floe_time now = floe_io_now(), next = portald_next_deadline(d);
        int timeout = next == FLOE_TIME_NEVER ? 1000
                      : next <= now           ? 0
                                              : (int)((next - now) / 1000000 + 1);
        int n = epoll_wait(d->epfd, evs, 64, timeout > 1000 ? 1000 : timeout);

        if (n < 0 && errno != EINTR)
            return FLOE_ERR_IO;
        now = floe_io_now();
        /* connections that die here are freed after the batch (portald_conns_sweep) */
        for (int i = 0; i < n; i++)
            portald_dispatch(d, &evs[i], now);
        portald_periodic(d, now);
        portald_route_flush(d); /* this round's candidates for other instances */
        /* notifications the periodic statements and the flush read off the socket */
        portald_push_notified(d);
        portald_conns_sweep(d);
    }
    return 0;
}

static int portald_listen_open(struct portald *d)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;

    if (floe_io_addr_to_sockaddr(&d->opts.listen, &ss, &len) < 0)
        return FLOE_ERR_INVALID_ARG;
    d->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->listen_fd < 0)
        return FLOE_ERR_IO;
    (void)setsockopt(d->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(d->listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(d->listen_fd, 1024) < 0)
        return FLOE_ERR_IO;
    return portald_epoll_add(d, d->listen_fd, EPOLLIN, PORTALD_TAG_LISTEN);
}

static int portald_signals_open(struct portald *d)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->signal_fd < 0)
        return FLOE_ERR_IO;
    return portald_epoll_add(d, d->signal_fd, EPOLLIN, PORTALD_TAG_SIGNAL);
}

static int portald_sockets_open(struct portald *d)
{
    struct floe_addr any = floe_addr_v4(0, 0, 0, 0, 0), any6 = {.family = FLOE_AF_INET6};

    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0 || portald_signals_open(d) < 0)
        return FLOE_ERR_IO;
    if (portald_listen_open(d) < 0) {
        fprintf(stderr, "floe-portal: cannot listen on the --listen address: %s\n",
                strerror(errno));
        return FLOE_ERR_IO;
    }
    /* the relays' health checks: one socket per family (a host may have no IPv6) */
    d->udp_fd = floe_io_udp_open(&any);
    if (d->udp_fd >= 0 && portald_epoll_add(d, d->udp_fd, EPOLLIN, PORTALD_TAG_UDP) < 0)
        return FLOE_ERR_IO;
    d->udp6_fd = floe_io_udp_open(&any6);
    if (d->udp6_fd >= 0 && portald_epoll_add(d, d->udp6_fd, EPOLLIN, PORTALD_TAG_UDP6) < 0)
        return FLOE_ERR_IO;
    d->notify_fd = floe_store_notify_fd(d->store);
    if (d->notify_fd >= 0 && portald_epoll_add(d, d->notify_fd, EPOLLIN, PORTALD_TAG_NOTIFY) < 0)
        return FLOE_ERR_IO;
    return 0;
}

/*
 * Raise the open-files limit to what --max-connections needs (up to the hard limit); say so
 * when the hard limit is lower: the connections past it are accepted and closed.
 */
static void portald_nofile_raise(struct portald *d)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)d->opts.max_connections + PORTALD_FDS_RESERVED;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        portald_log(d, FLOE_LOG_WARN,
                    "open files limit %llu: about %llu connections at most (--max-connections "
                    "%u); raise it (LimitNOFILE, ulimit -n)",
                    (unsigned long long)rl.rlim_cur,
                    (unsigned long long)(rl.rlim_cur > PORTALD_FDS_RESERVED
                                             ? rl.rlim_cur - PORTALD_FDS_RESERVED
                                             : 0),
                    d->opts.max_connections);
}

int portald_serve_start(struct portald *d)
{
    d->listen_fd = d->signal_fd = d->udp_fd = d->udp6_fd = d->notify_fd = d->epfd = -1;
    portald_nofile_raise(d);
    d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    d->next_due = FLOE_TIME_NEVER;
    d->cap_conns = d->opts.max_connections;
    d->conns = calloc(d->cap_conns, sizeof(*d->conns));
    d->msg = calloc(1, sizeof(*d->msg));
    d->out = malloc(FLOE_PORTAL_JSON_MAX);
    if (!d->conns || !d->msg || !d->out)
        return FLOE_ERR_NOMEM;
    return portald_sockets_open(d);
}

int portald_serve(struct portald *d)
{
    int rc = d->epfd >= 0 ? portald_loop(d) : FLOE_ERR_STATE;

    portald_route_flush(d);
    while (d->n_conns > 0)
        portald_conn_free(d, d->conns[d->n_conns - 1]);
    floe_io_close(d->listen_fd);
    floe_io_close(d->signal_fd);
    floe_io_close(d->udp_fd);
    floe_io_close(d->udp6_fd);
    floe_io_close(d->epfd);
    floe_io_close(d->spare_fd);
    free(d->conns);
    free(d->msg);
    free(d->out);
    return rc;
}
