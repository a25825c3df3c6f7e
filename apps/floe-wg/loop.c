/*
 * The datapath and the epoll loop. Outgoing: a TUN packet's destination picks its peer in
 * the allowed-IPs trie; the device encrypts it into a pending datagram, flushed in batches.
 * Incoming: the device decrypts; the packet's source must map back to the peer it came from.
 * After every batch the device is drained (handshakes, keepalives, queued data, events) and
 * the timerfd re-armed at its next deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe_io.h"
#include "wgd.h"

int wgd_epoll_add(struct wgd *d, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

    return epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -1;
}

/* The next free datagram slot, the pending ones sent first when there is none. */
static struct floe_io_tx *loop_tx_slot(struct wgd *d)
{
    struct floe_io_tx *t = floe_io_txq_slot(&d->txq);

    if (t)
        return t;
    wgd_udp_flush(d);
    return floe_io_txq_slot(&d->txq);
}

void wgd_send_segments(struct wgd *d, unsigned n)
{
    struct floe_io_segq *q = &d->segq;
    size_t first = q->n - n, i;
    struct wgd_peer *p =
        n ? floe_iptrie_lookup_packet(&d->aip, q->seg[first], q->len[first], false) : NULL;

    if (!p || !p->wp) {
        d->stats.no_route += n;
        q->n = first;
        return;
    }
    for (i = first; i < q->n; i++)
        q->tag[i] = p;
}

void wgd_send_flush(struct wgd *d, floe_time now)
{
    struct floe_io_segq *q = &d->segq;
    size_t i, n = q->n;

    q->n = 0;
    if (!n || !d->dev)
        return;
    if (floe_io_txq_room(&d->txq) < n)
        wgd_udp_flush(d);
    for (i = 0; i < n; i++) {
        struct floe_wg_encap *e = &d->encap[i];

        e->peer = ((struct wgd_peer *)q->tag[i])->wp;
        e->pkt = q->seg[i];
        e->len = q->len[i];
        e->out = d->txq.tx[d->txq.n + i].buf;
        e->cap = sizeof(d->txq.tx[0].buf);
    }
    if (floe_wg_encapsulate_batch(d->dev, now, d->encap, n) != 0) {
        d->stats.encap_fail += n;
        return;
    }
    for (i = 0; i < n; i++) { /* packets queued behind a handshake leave gaps: close them */
        struct floe_wg_encap *e = &d->encap[i];

        if (e->n <= 0) {
            d->stats.encap_fail += e->n < 0;
            continue;
        }
        (void)floe_io_txq_push(&d->txq, e->out, (size_t)e->n, &e->dst);
    }
}

void wgd_recv_datagram(struct wgd *d, const struct floe_addr *from, uint8_t *p, size_t len,
                       floe_time now)
{
    struct floe_wg_decap *it;

    if (d->n_decap == WGD_RX_ITEMS)
        wgd_recv_flush(d, now);
    it = &d->decap[d->n_decap++];
    it->from = *from;
    it->dgram = p;
    it->len = len;
    if (len >= FLOE_WG_DATA_HEADER_LEN) { /* decrypt in place; the header is the TUN headroom */
        it->out = p + FLOE_WG_DATA_HEADER_LEN;
        it->cap = len - FLOE_WG_DATA_HEADER_LEN;
    } else {
        it->out = d->plain + FLOE_IO_TUN_HEADROOM;
        it->cap = WGD_PKT_MAX;
    }
}

void wgd_recv_flush(struct wgd *d, floe_time now)
{
    unsigned i, n = d->n_decap;

    d->n_decap = 0;
    if (!n || !d->dev || floe_wg_decapsulate_batch(d->dev, now, d->decap, n) != 0)
        return;
    for (i = 0; i < n; i++) {
        struct floe_wg_decap *it = &d->decap[i];

        if (it->rc != FLOE_WG_RESULT_DATA)
            continue;
        if (floe_iptrie_lookup_packet(&d->aip, it->out, it->res.len, true) !=
            floe_wg_peer_user(it->res.peer)) {
            d->stats.bad_source++;
            continue;
        }
        if (d->tun)
            (void)floe_io_tun_write(d->tun, it->out, it->res.len); /* failures are counted */
    }
    if (d->tun)
        (void)floe_io_tun_flush(d->tun); /* the segments live in the receive buffers */
}

/* ------------------------------------------------------------ device drain */

static void loop_event(struct wgd *d, const struct floe_wg_event *ev)
{
    static const char *const names[] = {"", "handshake complete", "session dropped",
                                        "handshake failed", "endpoint changed"};
    struct wgd_peer *p = floe_wg_peer_user(ev->peer);
    char key[64] = "";
    struct floe_addr ep = floe_wg_peer_endpoint(ev->peer);
    struct floe_log_field f[2];

    (void)floe_base64_encode(key, sizeof(key), p->pub, FLOE_WG_KEY_LEN);
    f[0] = (struct floe_log_field)FLOE_LF_S("peer", key);
    f[1] = (struct floe_log_field)FLOE_LF_A("endpoint", &ep);
    floe_jsonlog_write(&d->log, FLOE_LOG_INFO, "wg", names[ev->type], f, ep.family ? 2 : 1);
}

floe_time wgd_now(struct wgd *d)
{
    floe_time t = floe_io_now();
    floe_time rate = d->opts.clock_rate;

    if (rate <= 1)
        return t;
    if (!d->clock_base)
        d->clock_base = t;
    return d->clock_base + (t - d->clock_base) * rate;
}

/* A deadline of the device's clock on the real one (rounded up: never early). */
static floe_time loop_real_time(const struct wgd *d, floe_time at)
{
    floe_time rate = d->opts.clock_rate;

    if (rate <= 1 || at == FLOE_TIME_NEVER || at <= d->clock_base)
        return at;
    return d->clock_base + (at - d->clock_base + rate - 1) / rate;
}

static void loop_arm_timer(struct wgd *d)
{
    floe_time at = floe_wg_poll_timeout(d->dev);
    struct itimerspec its = {0};

    if (at == d->timer_at)
        return;
    d->timer_at = at;
    at = loop_real_time(d, at);
    if (at != FLOE_TIME_NEVER) {
        at = at ? at : 1; /* zero would disarm */
        its.it_value.tv_sec = (time_t)(at / 1000000000ull);
        its.it_value.tv_nsec = (long)(at % 1000000000ull);
    }
    (void)timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void wgd_dev_drain(struct wgd *d, floe_time now)
{
    struct floe_wg_event ev;
    struct floe_io_tx *t;
    long n;

    for (;;) {
        t = loop_tx_slot(d);
        n = floe_wg_poll_transmit(d->dev, now, t->buf, sizeof(t->buf), &t->dst, NULL);
        if (n <= 0)
            break;
        (void)floe_io_txq_push(&d->txq, t->buf, (size_t)n, &t->dst);
    }
    while (floe_wg_poll_event(d->dev, &ev))
        loop_event(d, &ev);
    if (d->timer_fd >= 0)
        loop_arm_timer(d);
}

static void loop_timer(struct wgd *d, floe_time now)
{
    uint64_t expirations;

    if (read(d->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        return;
    d->timer_at = 0; /* fired: re-arm whatever comes next */
    if (!d->dev)
        return;
    floe_wg_handle_timeout(d->dev, now);
    wgd_dev_drain(d, now);
    wgd_udp_flush(d);
}

/* ------------------------------------------------------------ UAPI clients */

static void loop_conn_close(struct wgd *d, unsigned slot)
{
    struct wgd_conn *c = d->conns[slot];

    close(c->fd);
    floe_wipe(c, sizeof(*c));
    free(c);
    d->conns[slot] = NULL;
}

static void loop_accept(struct wgd *d)
{
    int fd = accept4(d->uapi_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    unsigned i;

    if (fd < 0)
        return;
    for (i = 0; i < WGD_UAPI_MAX_CONNS && d->conns[i]; i++)
        ;
    if (i == WGD_UAPI_MAX_CONNS || !(d->conns[i] = calloc(1, sizeof(struct wgd_conn)))) {
        close(fd);
        return;
    }
    d->conns[i]->fd = fd;
    if (wgd_epoll_add(d, fd, WGD_TAG_CONN + i) != 0)
        loop_conn_close(d, i);
}

/* Write all of buf, waiting up to a second in total for a slow reader. */
static int loop_write_all(int fd, const char *buf, size_t len)
{
    struct timespec ts = {0, 10000000};
    int waits = 0;
    ssize_t n;

    while (len) {
        n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN && waits++ < 100) {
            nanosleep(&ts, NULL);
            continue;
        }
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Feed complete lines of c to the protocol. Returns -1 when c must be closed. */
static int loop_conn_lines(struct wgd *d, struct wgd_conn *c, FILE *out, floe_time now)
{
    char *nl;
    size_t used;

    while ((nl = memchr(c->line, '\n', c->len))) {
        *nl = '\0';
        used = (size_t)(nl - c->line) + 1;
        if (wgd_uapi_line(d, c, c->line, out, now) != 0)
            return -1;
        memmove(c->line, nl + 1, c->len - used);
        c->len -= used;
    }
    return c->len == sizeof(c->line) ? -1 : 0; /* a line too long: close */
}

static void loop_conn_input(struct wgd *d, unsigned slot, floe_time now)
{
    struct wgd_conn *c = d->conns[slot];
    char *resp = NULL;
    size_t resp_len = 0;
    FILE *out;
    ssize_t n;
    int rc = -1;

    n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len, 0);
    if (n < 0 && errno == EAGAIN)
        return;
    out = open_memstream(&resp, &resp_len);
    if (n > 0 && out) {
        c->len += (size_t)n;
        rc = loop_conn_lines(d, c, out, now);
    }
    if (out)
        fclose(out);
    if (resp_len && loop_write_all(c->fd, resp, resp_len) != 0)
        rc = -1;
    if (resp)
        floe_wipe(resp, resp_len); /* a get answer holds the private key */
    free(resp);
    if (rc != 0)
        loop_conn_close(d, slot);
    wgd_udp_flush(d);
}

/* ------------------------------------------------------------------- loop */

/* Packets each crypto lane encrypted or decrypted, "lane0/lane1/...", into buf. */
static void loop_lane_items(const struct wgd *d, char *buf, size_t cap)
{
    unsigned i, lanes = floe_io_pool_lanes(d->pool);
    size_t off = 0;
    int n;

    buf[0] = '\0';
    for (i = 0; i < lanes && off < cap; i++) {
        n = snprintf(buf + off, cap - off, "%s%llu", i ? "/" : "",
                     (unsigned long long)floe_io_pool_lane_items(d->pool, i));
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

/* The TUN device's counters (zeros without one). */
static struct floe_io_tun_stats loop_tun_stats(const struct wgd *d)
{
    struct floe_io_tun_stats t = {0};

    if (d->tun)
        floe_io_tun_stats(d->tun, &t);
    return t;
}

void wgd_stats_log(struct wgd *d)
{
    const struct wgd_stats *s = &d->stats;
    const struct floe_io_send_stats *u = &d->udp_tx.stats;
    struct floe_io_tun_stats t = loop_tun_stats(d);
    struct floe_wg_stats w = d->dev ? floe_wg_stats(d->dev) : (struct floe_wg_stats){0};
    char lanes[WGD_MAX_THREADS * 21];
    struct floe_log_field f[] = {
        FLOE_LF_U("no_route", s->no_route),
        FLOE_LF_U("too_big", t.rx_too_big),
        FLOE_LF_U("gso_bad", t.rx_bad),
        FLOE_LF_U("encap_fail", s->encap_fail),
        FLOE_LF_U("bad_source", s->bad_source),
        FLOE_LF_U("tun_errors", t.tx_errors),
        FLOE_LF_U("udp_full", u->full),
        FLOE_LF_U("udp_errors", u->errors),
        FLOE_LF_U("udp_partial", u->partial),
        FLOE_LF_U("udp_waits", u->waits),
        FLOE_LF_U("udp_rx_truncated", d->udp_rx.stats.truncated),
        FLOE_LF_U("gro_writes", t.gro_writes),
        FLOE_LF_U("gro_segs", t.gro_segs),
        FLOE_LF_S("crypto_items", lanes),
        FLOE_LF_U("cookie_replies", w.cookie_replies_sent),
        FLOE_LF_U("under_load_drops", w.drops[FLOE_WG_DROP_UNDER_LOAD]),
        FLOE_LF_U("rate_limited_drops", w.drops[FLOE_WG_DROP_RATE_LIMITED]),
        FLOE_LF_U("handshake_drops", w.drops[FLOE_WG_DROP_HANDSHAKE_DECRYPT]),
    };

    loop_lane_items(d, lanes, sizeof(lanes));
    floe_jsonlog_write(&d->log, FLOE_LOG_INFO, "floe-wg", "stats", f, sizeof(f) / sizeof(f[0]));
}

static void loop_signal(struct wgd *d)
{
    struct signalfd_siginfo si;

    if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        (void)floe_jsonlog_reopen(&d->log);
        return;
    }
    if (si.ssi_signo == SIGUSR1) {
        wgd_stats_log(d);
        return;
    }
    floe_jsonlog_info(&d->log, "floe-wg", "stopping on signal %u", si.ssi_signo);
    d->stop = true;
}

static void loop_dispatch(struct wgd *d, uint32_t tag, floe_time now)
{
    switch (tag) {
    case WGD_TAG_TUN:
        wgd_tun_input(d, now);
        break;
    case WGD_TAG_UDP:
        wgd_udp_input(d, now);
        break;
    case WGD_TAG_UAPI:
        loop_accept(d);
        break;
    case WGD_TAG_TIMER:
        loop_timer(d, now);
        break;
    case WGD_TAG_NETLINK:
        wgd_netlink_input(d);
        break;
    case WGD_TAG_SIGNAL:
        loop_signal(d);
        break;
    default:
        if (tag >= WGD_TAG_CONN && tag < WGD_TAG_CONN + WGD_UAPI_MAX_CONNS &&
            d->conns[tag - WGD_TAG_CONN])
            loop_conn_input(d, tag - WGD_TAG_CONN, now);
    }
}

int wgd_run(struct wgd *d)
{
    struct epoll_event evs[16];
    int n, i;

    while (!d->stop) {
        n = epoll_wait(d->ep_fd, evs, 16, -1);
        if (n < 0 && errno != EINTR) {
            floe_jsonlog_error(&d->log, "floe-wg", "epoll_wait: %s", strerror(errno));
            return 1;
        }
        for (i = 0; i < n && !d->stop; i++)
            loop_dispatch(d, evs[i].data.u32, wgd_now(d));
    }
    return d->exit_code;
}
