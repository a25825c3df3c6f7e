/*
 * portal_wire_peer: floe's portal wire transport (floe_wsconn) over real TCP
 * sockets on loopback, for tests/interop/portal_wire_test.sh against peers no
 * one here wrote (Python's websockets, curl). Test code: it owns the sockets
 * and the clock that the sans-IO object never touches.
 *
 *   portal_wire_peer client --connect 127.0.0.1:PORT [--host H] [--path P] [--token T]
 *                           [--tls --ca FILE [--name NAME]] [--count N]
 *     sends N text messages of assorted sizes (up to 70000 bytes), expects each
 *     echoed back, pings, closes with 1000; exit 0, 3 when refused with 401, else 1.
 *   portal_wire_peer server [--tls --cert FILE --key FILE] [--token T] [--connections N]
 *     prints "port P" and serves connections one at a time on 127.0.0.1: echoes
 *     messages, answers GET /healthz with "ok", a wrong token with 401.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe/portal_wire.h"

struct opts {
    bool server, tls;
    const char *connect, *host, *path, *token, *ca, *name, *cert, *key;
    long count, connections;
};

/* What one connection's driver does with events and messages; returns the exit code or -1. */
struct peer {
    const struct opts *o;
    struct floe_wsconn *c;
    long sent, echoed;
    int result;
};

static floe_time now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (floe_time)ts.tv_sec * 1000000000ull + (floe_time)ts.tv_nsec;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    ssize_t w;

    while (n) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Message i of the client: "m<i>:" and filler, of a size that walks the length encodings. */
static size_t client_message(long i, char *buf, size_t cap)
{
    static const size_t sizes[] = {5, 125, 126, 200, 65535, 65536, 70000, 1, 0};
    size_t len = sizes[(size_t)i % (sizeof(sizes) / sizeof(sizes[0]))], k;
    int n = snprintf(buf, cap, "m%ld:", i);

    if (len < (size_t)n)
        len = (size_t)n;
    for (k = (size_t)n; k < len && k < cap; k++)
        buf[k] = (char)('a' + k % 26);
    return len;
}

static void client_send_next(struct peer *p, floe_time now)
{
    static char buf[70000];
    size_t len = client_message(p->sent, buf, sizeof(buf));

    if (floe_wsconn_send_text(p->c, now, buf, len) < 0) {
        fprintf(stderr, "error: send_text failed\n");
        p->result = 1;
        return;
    }
    p->sent++;
}

static void client_message_in(struct peer *p, floe_time now, const struct floe_span *m)
{
    static char want[70000];
    size_t len = client_message(p->echoed, want, sizeof(want));

    if (m->len != len || memcmp(m->ptr, want, len) != 0) {
        fprintf(stderr, "error: echo %ld differs (%llu bytes)\n", p->echoed,
                (unsigned long long)m->len);
        p->result = 1;
        return;
    }
    p->echoed++;
    if (p->sent < p->o->count)
        client_send_next(p, now);
    else if (floe_wsconn_close(p->c, now, FLOE_WS_CLOSE_NORMAL, "done") < 0)
        p->result = 1;
}

static void client_event(struct peer *p, floe_time now, const struct floe_wsconn_event *ev)
{
    if (ev->kind == FLOE_WSCONN_EV_OPEN) {
        printf("open\n");
        client_send_next(p, now);
    } else if (ev->kind == FLOE_WSCONN_EV_ERROR) {
        fprintf(stderr, "error: %s\n", ev->text);
        p->result = ev->http_status == 401 ? 3 : 1;
    } else if (ev->kind == FLOE_WSCONN_EV_CLOSED && p->result < 0) {
        printf("closed %u %s echoed %ld\n", (unsigned)ev->code, ev->text, p->echoed);
        p->result = (p->echoed == p->o->count && ev->code == FLOE_WS_CLOSE_NORMAL) ? 0 : 1;
    }
}

static void server_request(struct peer *p, floe_time now)
{
    const struct floe_wsconn_request *rq = floe_wsconn_request(p->c);
    const char *tok = p->o->token ? p->o->token : "";
    int rc;

    if (!strcmp(rq->path, "/healthz"))
        rc = floe_wsconn_respond(p->c, now, 200, NULL, (const uint8_t *)"ok\n", 3);
    else if (!rq->websocket)
        rc = floe_wsconn_respond(p->c, now, 404, NULL, (const uint8_t *)"not found\n", 10);
    else if (strcmp(rq->token, tok) != 0)
        rc = floe_wsconn_respond(p->c, now, 401, NULL, (const uint8_t *)"bad token\n", 10);
    else
        rc = floe_wsconn_accept(p->c, now);
    printf("request %s token-ok %d\n", rq->path, !strcmp(rq->token, tok));
    fflush(stdout);
    if (rc < 0)
        p->result = 1;
}

static void server_event(struct peer *p, floe_time now, const struct floe_wsconn_event *ev)
{
    if (ev->kind == FLOE_WSCONN_EV_REQUEST)
        server_request(p, now);
    else if (ev->kind == FLOE_WSCONN_EV_ERROR)
        printf("error %s\n", ev->text);
    else if (ev->kind == FLOE_WSCONN_EV_CLOSED)
        printf("closed %u %s\n", (unsigned)ev->code, ev->text);
    fflush(stdout);
}

static void peer_drain(struct peer *p, floe_time now)
{
    struct floe_wsconn_event ev;
    struct floe_span m;

    while (floe_wsconn_poll_event(p->c, &ev)) {
        if (p->o->server)
            server_event(p, now, &ev);
        else
            client_event(p, now, &ev);
    }
    while (floe_wsconn_poll_message(p->c, &m)) {
        if (p->o->server)
            (void)floe_wsconn_send_text(p->c, now, (const char *)m.ptr, m.len);
        else
            client_message_in(p, now, &m);
    }
}

static int peer_flush(struct peer *p, int fd)
{
    uint8_t buf[65536];
    long n;

    while ((n = floe_wsconn_poll_transmit(p->c, now_ns(), buf, sizeof(buf))) > 0)
        if (write_all(fd, buf, (size_t)n) < 0)
            return -1;
    return 0;
}

/* Drive one connection on fd until it is CLOSED and flushed (or 30 s pass). */
static void peer_run(struct peer *p, int fd)
{
    uint8_t buf[65536];
    struct pollfd pfd = {fd, POLLIN, 0};
    floe_time now = now_ns(), end = now + FLOE_SEC(30), t;
    ssize_t n;

    (void)floe_wsconn_start(p->c, now);
    while (now < end) {
        peer_drain(p, now);
        if (peer_flush(p, fd) < 0 || floe_wsconn_state(p->c) == FLOE_WSCONN_CLOSED)
            break;
        t = floe_time_min(floe_wsconn_poll_timeout(p->c), end);
        if (poll(&pfd, 1, (int)((t > now ? t - now : 0) / 1000000 + 1)) > 0) {
            n = read(fd, buf, sizeof(buf));
            if (n > 0)
                (void)floe_wsconn_handle_input(p->c, now_ns(), buf, (size_t)n);
            else if (n == 0 || errno != EINTR)
                floe_wsconn_handle_eof(p->c, now_ns());
        }
        now = now_ns();
        floe_wsconn_handle_timeout(p->c, now);
    }
    peer_drain(p, now);
    (void)peer_flush(p, fd);
}

static int run_client(const struct opts *o)
{
    struct floe_wsconn_config cfg;
    struct floe_addr a;
    struct sockaddr_in sin;
    struct peer p = {o, NULL, 0, 0, -1};
    int fd;

    if (floe_addr_parse(o->connect, &a) < 0 || a.family != FLOE_AF_INET)
        return fprintf(stderr, "error: --connect wants IPv4:PORT\n"), 1;
    floe_wsconn_config_default(&cfg);
    cfg.rng = floe_crypto_rng();
    cfg.host = o->host ? o->host : o->connect;
    cfg.path = o->path;
    cfg.token = o->token;
    cfg.tls = o->tls;
    cfg.ca_file = o->ca;
    cfg.server_name = o->name;
    if (floe_wsconn_new(&p.c, &cfg) < 0)
        return fprintf(stderr, "error: bad configuration\n"), 1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(a.port);
    memcpy(&sin.sin_addr, a.ip, 4);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        return fprintf(stderr, "error: connect: %s\n", strerror(errno)), 1;
    peer_run(&p, fd);
    close(fd);
    floe_wsconn_free(p.c);
    return p.result < 0 ? 1 : p.result;
}

static int listen_loopback(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        return -1;
    printf("port %u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);
    return fd;
}

static int run_server(const struct opts *o)
{
    struct floe_wsconn_config cfg;
    struct ssl_ctx_st *ctx = NULL;
    char err[256];
    int lfd, fd;
    long served = 0;

    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.tls = o->tls;
    if (o->tls && floe_wsconn_tls_server_ctx(&ctx, o->cert, o->key, err, sizeof(err)) < 0)
        return fprintf(stderr, "error: %s\n", err), 1;
    cfg.tls_ctx = ctx;
    lfd = listen_loopback();
    if (lfd < 0)
        return fprintf(stderr, "error: listen: %s\n", strerror(errno)), 1;
    while (o->connections <= 0 || served < o->connections) {
        struct peer p = {o, NULL, 0, 0, -1};

        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (floe_wsconn_new(&p.c, &cfg) == 0)
            peer_run(&p, fd);
        floe_wsconn_free(p.c);
        close(fd);
        served++;
    }
    close(lfd);
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->count = 20;
    if (argc < 2 || (strcmp(argv[1], "client") && strcmp(argv[1], "server")))
        return -1;
    o->server = !strcmp(argv[1], "server");
    for (i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **s = !strcmp(argv[i], "--connect") ? &o->connect
                         : !strcmp(argv[i], "--host")  ? &o->host
                         : !strcmp(argv[i], "--path")  ? &o->path
                         : !strcmp(argv[i], "--token") ? &o->token
                         : !strcmp(argv[i], "--ca")    ? &o->ca
                         : !strcmp(argv[i], "--name")  ? &o->name
                         : !strcmp(argv[i], "--cert")  ? &o->cert
                         : !strcmp(argv[i], "--key")   ? &o->key
                                                       : NULL;

        if (!strcmp(argv[i], "--tls")) {
            o->tls = true;
        } else if (s && v) {
            *s = v;
            i++;
        } else if (!strcmp(argv[i], "--count") && v) {
            o->count = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--connections") && v) {
            o->connections = atol(argv[++i]);
        } else {
            return -1;
        }
    }
    return o->server || o->connect ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o;

    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: portal_wire_peer client --connect IP:PORT [options] | "
                        "server [options] (see the source)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return o.server ? run_server(&o) : run_client(&o);
}
