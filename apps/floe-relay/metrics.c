/* Prometheus text metrics over a minimal HTTP/1.0 endpoint. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe_io.h"
#include "relayd.h"

static int metrics_fd = -1;

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
    socklen_t len;
    int one = 1;

    if (floe_io_addr_to_sockaddr(&d->opts.metrics, &ss, &len) < 0)
        return FLOE_ERR_ADDR_FAMILY;
    metrics_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (metrics_fd < 0)
        return FLOE_ERR_IO;
    (void)setsockopt(metrics_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(metrics_fd, (struct sockaddr *)&ss, len) < 0 || listen(metrics_fd, 16) < 0) {
        int e = errno;

        close(metrics_fd);
        metrics_fd = -1;
        errno = e;
        return FLOE_ERR_IO;
    }
    return 0;
}

/* Answer one connection: read the request head (ignored), write the metrics. */
static void metrics_serve(struct relayd *d, int c)
{
    static char body[16384];
    char head[256], req[1024];
    struct pollfd p = {c, POLLIN, 0};
    size_t n;
    int h;

    if (poll(&p, 1, 1000) > 0 && read(c, req, sizeof(req)) < 0)
        return;
    n = relayd_metrics_render(d, body, sizeof(body));
    h = snprintf(head, sizeof(head),
                 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                 n);
    if (write(c, head, (size_t)h) == h && write(c, body, n) < 0)
        return;
}

void *relayd_metrics_run(void *arg)
{
    struct relayd *d = arg;

    while (!atomic_load(&d->stop)) {
        struct pollfd p = {metrics_fd, POLLIN, 0};
        int c;

        if (poll(&p, 1, 200) <= 0)
            continue;
        c = accept4(metrics_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        metrics_serve(d, c);
        close(c);
    }
    close(metrics_fd);
    metrics_fd = -1;
    return NULL;
}
