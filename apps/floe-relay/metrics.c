/*
 * Prometheus text metrics over a minimal HTTP/1.0 endpoint, served by an event loop of its
 * own thread: non-blocking sockets in one epoll set, at most METRICS_MAX_CONNS connections
 * (a new one evicts the oldest when full, so idle clients cannot lock scrapes out),
 * requests of at most METRICS_MAX_REQUEST bytes (431 beyond), METRICS_TIMEOUT for a whole
 * exchange. One slow client never delays another.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe_io.h"
#include "relayd.h"

#define METRICS_BODY 32768
#define METRICS_TAG_LISTEN UINT32_MAX

struct metrics_conn {
    int fd; /* -1: free */
    floe_time deadline;
    size_t in_len;
    char in[RELAYD_METRICS_MAX_REQUEST + 1];
    char *out; /* the answer once the request is complete, NULL before */
    size_t out_len, out_off;
};

struct relayd_metrics {
    int listen_fd, epfd;
    struct metrics_conn conns[RELAYD_METRICS_MAX_CONNS];
};

struct metrics_out {
    char *buf;
    size_t cap, len;
};

static void metrics_printf(struct metrics_out *m, const char *fmt, ...) FLOE_PRINTF(2, 3);
static void metrics_printf(struct metrics_out *m, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (m->len >= m->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len = (size_t)n < m->cap - m->len ? m->len + (size_t)n : m->cap;
}

static void metrics_one(struct metrics_out *m, const char *name, const char *type, const char *help,
                        uint64_t v)
{
    metrics_printf(m, "# HELP floe_relay_%s %s\n# TYPE floe_relay_%s %s\nfloe_relay_%s %llu\n",
                   name, help, name, type, name, (unsigned long long)v);
}

size_t relayd_metrics_render(struct relayd *d, char *buf, size_t cap)
{
    struct metrics_out m = {buf, cap, 0};
    struct floe_relay_stats s;
    struct floe_io_send_stats tx;
    struct floe_io_recv_stats rx;
    unsigned i;

    memset(&s, 0, sizeof(s));
    memset(&tx, 0, sizeof(tx));
    memset(&rx, 0, sizeof(rx));
    pthread_mutex_lock(&d->stats_lock);
    for (i = 0; i < d->n_workers; i++) {
        relayd_worker_add_stats(d->workers[i], &s);
        relayd_worker_add_send_stats(d->workers[i], &tx);
        relayd_worker_add_recv_stats(d->workers[i], &rx);
    }
    pthread_mutex_unlock(&d->stats_lock);
    metrics_one(&m, "allocations", "gauge", "Live allocations.", s.allocations);
    metrics_one(&m, "allocations_total", "counter", "Allocations created.", s.allocations_total);
    metrics_one(&m, "permissions", "gauge", "Live permissions.", s.permissions);
    metrics_one(&m, "channels", "gauge", "Live channel bindings.", s.channels);
    metrics_one(&m, "requests_total", "counter", "STUN requests handled.", s.requests);
    metrics_one(&m, "auth_failures_total", "counter", "Requests with wrong credentials.",
                s.auth_failures);
    metrics_one(&m, "error_responses_total", "counter", "Error responses sent.", s.error_responses);
    metrics_one(&m, "packets_to_peers_total", "counter", "Datagrams relayed to peers.",
                s.packets_to_peers);
    metrics_one(&m, "bytes_to_peers_total", "counter", "Payload bytes relayed to peers.",
                s.bytes_to_peers);
    metrics_one(&m, "packets_to_clients_total", "counter", "Datagrams relayed to clients.",
                s.packets_to_clients);
    metrics_one(&m, "bytes_to_clients_total", "counter", "Payload bytes relayed to clients.",
                s.bytes_to_clients);
    metrics_printf(&m, "# HELP floe_relay_drops_total Datagrams dropped, by reason.\n"
                       "# TYPE floe_relay_drops_total counter\n");
    for (i = 0; i < FLOE_RELAY_DROP_COUNT; i++)
        metrics_printf(&m, "floe_relay_drops_total{reason=\"%s\"} %llu\n",
                       floe_relay_drop_name((enum floe_relay_drop)i),
                       (unsigned long long)s.drops[i]);
    metrics_printf(&m,
                   "floe_relay_drops_total{reason=\"send_full\"} %llu\n"
                   "floe_relay_drops_total{reason=\"send_refused\"} %llu\n"
                   "floe_relay_drops_total{reason=\"recv_truncated\"} %llu\n"
                   "floe_relay_drops_total{reason=\"recv_bad_source\"} %llu\n"
                   "floe_relay_drops_total{reason=\"recv_stale\"} %llu\n",
                   (unsigned long long)tx.full, (unsigned long long)tx.errors,
                   (unsigned long long)rx.truncated, (unsigned long long)rx.bad_source,
                   (unsigned long long)rx.stale);
    metrics_one(&m, "datagrams_sent_total", "counter", "Datagrams the kernel took.", tx.sent);
    metrics_one(&m, "datagrams_received_total", "counter",
                "Datagrams read (a UDP GRO message counts each datagram it carried).", rx.received);
    metrics_one(&m, "gro_coalesced_total", "counter",
                "Messages the kernel coalesced with UDP GRO (split again before relaying).",
                rx.coalesced);
    return m.len;
}

int relayd_metrics_open(struct relayd *d)
{
    struct sockaddr_storage ss;
    struct relayd_metrics *m;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = METRICS_TAG_LISTEN};
    socklen_t len;
    int one = 1, e;
    size_t i;

    if (floe_io_addr_to_sockaddr(&d->opts.metrics, &ss, &len) < 0)
        return FLOE_ERR_ADDR_FAMILY;
    m = calloc(1, sizeof(*m));
    if (!m)
        return FLOE_ERR_NOMEM;
    for (i = 0; i < RELAYD_METRICS_MAX_CONNS; i++)
        m->conns[i].fd = -1;
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    m->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->listen_fd >= 0)
        (void)setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (m->epfd < 0 || m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(m->listen_fd, 64) < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev) < 0) {
        e = errno;
        if (m->listen_fd >= 0)
            close(m->listen_fd);
        if (m->epfd >= 0)
            close(m->epfd);
        free(m);
        errno = e;
        return FLOE_ERR_IO;
    }
    d->metrics = m;
    return 0;
}

static void metrics_close(struct metrics_conn *c)
{
    close(c->fd); /* also leaves the epoll set */
    free(c->out);
    c->out = NULL;
    c->fd = -1;
}

/* A free slot, evicting the connection nearest its deadline when every slot is taken. */
static struct metrics_conn *metrics_slot(struct relayd_metrics *m)
{
    struct metrics_conn *oldest = &m->conns[0];
    size_t i;

    for (i = 0; i < RELAYD_METRICS_MAX_CONNS; i++) {
        if (m->conns[i].fd < 0)
            return &m->conns[i];
        if (m->conns[i].deadline < oldest->deadline)
            oldest = &m->conns[i];
    }
    metrics_close(oldest);
    return oldest;
}

static void metrics_accept(struct relayd_metrics *m, floe_time now)
{
    int fd;

    while ((fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct metrics_conn *c = metrics_slot(m);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};

        ev.data.u32 = (uint32_t)(c - m->conns);
        if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->deadline = now + RELAYD_METRICS_TIMEOUT;
        c->in_len = 0;
        c->out_len = c->out_off = 0;
    }
}

/* Make the answer to a complete request (or to one too long) and switch c to writing. */
static void metrics_answer(struct relayd *d, struct relayd_metrics *m, struct metrics_conn *c,
                           const char *status)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - m->conns)};
    size_t body = 0, cap = METRICS_BODY + 256;
    int h;

    c->out = malloc(cap);
    if (!c->out) {
        metrics_close(c);
        return;
    }
    if (!status)
        body = relayd_metrics_render(d, c->out + 256, METRICS_BODY);
    h = snprintf(c->out, 256,
                 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                 status ? status : "200 OK", body);
    memmove(c->out + h, c->out + 256, body);
    c->out_len = (size_t)h + body;
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        metrics_close(c);
}

/* Read what the client sent; answer once the request head is complete. */
static void metrics_read(struct relayd *d, struct relayd_metrics *m, struct metrics_conn *c)
{
    ssize_t n;

    for (;;) {
        if (c->in_len == RELAYD_METRICS_MAX_REQUEST) {
            metrics_answer(d, m, c, "431 Request Header Fields Too Large");
            return;
        }
        n = read(c->fd, c->in + c->in_len, RELAYD_METRICS_MAX_REQUEST - c->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            metrics_close(c); /* gone before asking */
            return;
        }
        if (n < 0)
            return;
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
            metrics_answer(d, m, c, strncmp(c->in, "GET ", 4) == 0 ? NULL : "400 Bad Request");
            return;
        }
    }
}

/*
 * Send the answer; then half-close and read what the client still sends until it closes
 * (or the deadline): closing with unread input would reset the connection and could
 * destroy the answer before the client reads it (a refused, oversized request).
 */
static void metrics_write(struct relayd_metrics *m, struct metrics_conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)(c - m->conns)};

    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            metrics_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (shutdown(c->fd, SHUT_WR) < 0 || epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        metrics_close(c);
}

/* After the answer: discard input until the client closes. */
static void metrics_drain(struct metrics_conn *c)
{
    char sink[4096];
    ssize_t n;

    while ((n = read(c->fd, sink, sizeof(sink))) > 0)
        ;
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
        metrics_close(c);
}

static void metrics_event(struct relayd *d, struct relayd_metrics *m, const struct epoll_event *e,
                          floe_time now)
{
    struct metrics_conn *c;

    if (e->data.u32 == METRICS_TAG_LISTEN) {
        metrics_accept(m, now);
        return;
    }
    if (e->data.u32 >= RELAYD_METRICS_MAX_CONNS)
        return;
    c = &m->conns[e->data.u32];
    if (c->fd < 0)
        return;
    if (c->out && c->out_off < c->out_len)
        metrics_write(m, c);
    else if (c->out)
        metrics_drain(c);
    else
        metrics_read(d, m, c);
}

/* Close what is past its deadline; returns the wait until the next one, in ms (at most 100). */
static int metrics_expire(struct relayd_metrics *m, floe_time now)
{
    floe_time next = now + FLOE_MS(100);
    size_t i;

    for (i = 0; i < RELAYD_METRICS_MAX_CONNS; i++) {
        struct metrics_conn *c = &m->conns[i];

        if (c->fd >= 0 && c->deadline <= now)
            metrics_close(c);
        else if (c->fd >= 0 && c->deadline < next)
            next = c->deadline;
    }
    return (int)((next - now + FLOE_MS(1) - 1) / FLOE_MS(1));
}

void *relayd_metrics_run(void *arg)
{
    struct relayd *d = arg;
    struct relayd_metrics *m = d->metrics;
    struct epoll_event evs[RELAYD_METRICS_MAX_CONNS + 1];
    size_t i;

    while (!atomic_load(&d->stop)) {
        int n = epoll_wait(m->epfd, evs, RELAYD_METRICS_MAX_CONNS + 1,
                           metrics_expire(m, floe_io_now())),
            k;
        floe_time now = floe_io_now();

        for (k = 0; k < n; k++)
            metrics_event(d, m, &evs[k], now);
    }
    for (i = 0; i < RELAYD_METRICS_MAX_CONNS; i++) {
        if (m->conns[i].fd >= 0)
            metrics_close(&m->conns[i]);
    }
    close(m->listen_fd);
    close(m->epfd);
    free(m);
    d->metrics = NULL;
    return NULL;
}
