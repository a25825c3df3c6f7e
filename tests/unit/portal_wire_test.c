/*
 * The portal wire transport (include/floe/portal_wire.h): a client and a
 * server connection wired to each other in memory, with and without TLS (a CA
 * and server certificates made at run time), whole messages and pieces of
 * streams, and raw bytes written by hand for what a well-behaved peer never
 * sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "floe/portal_wire.h"
#include "portal_pki.h" /* test certificates made at run time */
#include "test.h"

#define EV_MAX 32
#define BIG (2u * 1024u * 1024u)

/* One end: its connection and the events it reported. */
struct end {
    struct floe_wsconn *c;
    struct floe_wsconn_event ev[EV_MAX];
    size_t n_ev;
    size_t n_msg;
    char last_msg[256];
    size_t last_len;
    uint64_t digest; /* FNV-1a over every message received, in order, with its length */
};

struct pair {
    struct end cl, sv;
    struct floe_xoshiro x;
    floe_time now;
    size_t chunk;     /* bytes per handle_input (0: all at once) */
    int respond;      /* server: 0 accept upgrades, else answer with this status */
    bool cut_to_cl;   /* drop what the server sends */
    bool lenient;     /* failmalloc: commands may fail with FLOE_ERR_NOMEM */
    uint8_t *scratch; /* BIG bytes */
};

/* --------------------------------------------------------- certificates */

static struct pki g_pki;

/* --------------------------------------------------------------- harness */

static void cfg_client(struct floe_wsconn_config *cfg, struct pair *p, bool tls)
{
    floe_wsconn_config_default(cfg);
    cfg->rng = floe_xoshiro_rng(&p->x);
    cfg->role = FLOE_WSCONN_CLIENT;
    cfg->host = "portal.test:8443";
    cfg->path = "/client?x=1";
    cfg->token = "secret-token";
    cfg->tls = tls;
    cfg->ca_file = g_pki.ca;
}

static void cfg_server(struct floe_wsconn_config *cfg, bool tls)
{
    floe_wsconn_config_default(cfg);
    cfg->role = FLOE_WSCONN_SERVER;
    cfg->tls = tls;
    cfg->cert_file = g_pki.cert;
    cfg->key_file = g_pki.key;
}

static int pair_new_cfg(struct pair *p, const struct floe_wsconn_config *cc,
                        const struct floe_wsconn_config *sc)
{
    if (floe_wsconn_new(&p->cl.c, cc) < 0 || floe_wsconn_new(&p->sv.c, sc) < 0)
        return -1;
    p->now = FLOE_SEC(1);
    CHECK_EQ(floe_wsconn_start(p->cl.c, p->now), 0);
    CHECK_EQ(floe_wsconn_start(p->sv.c, p->now), 0);
    return 0;
}

static int pair_new(struct pair *p, bool tls)
{
    struct floe_wsconn_config cc, sc;

    memset(p, 0, sizeof(*p));
    floe_xoshiro_seed(&p->x, 7);
    cfg_client(&cc, p, tls);
    cfg_server(&sc, tls);
    return pair_new_cfg(p, &cc, &sc);
}

static void pair_free(struct pair *p)
{
    floe_wsconn_free(p->cl.c);
    floe_wsconn_free(p->sv.c);
    free(p->scratch);
    p->cl.c = p->sv.c = NULL;
}

static uint64_t digest_add(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i;

    h = (h ^ n) * 0x100000001b3ull;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void end_events(struct pair *p, struct end *e)
{
    struct floe_wsconn_event ev;
    struct floe_span m;
    const uint8_t body[] = "no";
    int rc;

    while (floe_wsconn_poll_event(e->c, &ev)) {
        if (e->n_ev < EV_MAX)
            e->ev[e->n_ev++] = ev;
        if (ev.kind != FLOE_WSCONN_EV_REQUEST)
            continue;
        if (p->respond)
            rc = floe_wsconn_respond(e->c, p->now, p->respond, NULL, body, 2);
        else
            rc = floe_wsconn_accept(e->c, p->now);
        CHECK(rc == 0 || (p->lenient && rc == FLOE_ERR_NOMEM));
    }
    while (floe_wsconn_poll_message(e->c, &m)) {
        e->n_msg++;
        e->last_len = m.len;
        e->digest = digest_add(e->digest, m.ptr, m.len);
        memcpy(e->last_msg, m.ptr, m.len < sizeof(e->last_msg) ? m.len : sizeof(e->last_msg));
    }
}

/* Move what from has to transmit into to, in pieces of p->chunk. True when bytes moved. */
static bool pair_move(struct pair *p, struct end *from, struct end *to, bool cut)
{
    uint8_t buf[65536];
    long n;
    size_t off, k;
    bool moved = false;

    while ((n = floe_wsconn_poll_transmit(from->c, p->now, buf, sizeof(buf))) > 0) {
        moved = true;
        for (off = 0; !cut && off < (size_t)n; off += k) {
            k = p->chunk && p->chunk < (size_t)n - off ? p->chunk : (size_t)n - off;
            CHECK_EQ(floe_wsconn_handle_input(to->c, p->now, buf + off, k), 0);
            end_events(p, to);
        }
    }
    end_events(p, from);
    end_events(p, to);
    return moved;
}

static void pair_run(struct pair *p)
{
    int i;

    for (i = 0; i < 10000; i++) {
        bool a = pair_move(p, &p->cl, &p->sv, false);
        bool b = pair_move(p, &p->sv, &p->cl, p->cut_to_cl);

        if (!a && !b)
            return;
    }
    CHECK(!"pair_run did not settle");
}

static const struct floe_wsconn_event *end_find(const struct end *e,
                                                enum floe_wsconn_event_kind kind)
{
    size_t i;

    for (i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == kind)
            return &e->ev[i];
    return NULL;
}

static bool end_open(const struct end *e)
{
    return end_find(e, FLOE_WSCONN_EV_OPEN) && floe_wsconn_state(e->c) == FLOE_WSCONN_OPEN;
}

/* Advance time to t, firing both ends' timers on the way. */
static void pair_advance(struct pair *p, floe_time t)
{
    floe_time next;

    for (;;) {
        next = floe_time_min(floe_wsconn_poll_timeout(p->cl.c), floe_wsconn_poll_timeout(p->sv.c));
        if (next > t)
            break;
        p->now = next > p->now ? next : p->now;
        floe_wsconn_handle_timeout(p->cl.c, p->now);
        floe_wsconn_handle_timeout(p->sv.c, p->now);
        pair_run(p);
    }
    p->now = t;
}

/* A WebSocket frame written by hand (RFC 6455 section 5.2). Returns its length. */
static size_t frame(uint8_t *out, uint8_t first, bool masked, const uint8_t *payload, size_t len)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t h = 2, i;

    out[0] = first;
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else if (len < 65536) {
        out[1] = 126;
        floe_store_be16(out + 2, (uint16_t)len);
        h = 4;
    } else {
        out[1] = 127;
        floe_store_be64(out + 2, len);
        h = 10;
    }
    if (masked) {
        out[1] |= 0x80;
        memcpy(out + h, key, 4);
        h += 4;
    }
    for (i = 0; i < len; i++)
        out[h + i] = (uint8_t)(payload[i] ^ (masked ? key[i % 4] : 0));
    return h + len;
}

/* Everything sv has to transmit (up to cap bytes) into buf. */
static size_t drain(struct floe_wsconn *c, floe_time now, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    long r;

    while (n < cap && (r = floe_wsconn_poll_transmit(c, now, buf + n, cap - n)) > 0)
        n += (size_t)r;
    return n;
}

static bool contains(const uint8_t *buf, size_t n, const char *s)
{
    size_t k = strlen(s), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(buf + i, s, k) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ tests */

static void check_exchange(struct pair *p)
{
    REQUIRE(end_open(&p->cl) && end_open(&p->sv));
    CHECK_EQ(floe_wsconn_send_text(p->cl.c, p->now, "hello server", 12), 0);
    CHECK_EQ(floe_wsconn_send_text(p->sv.c, p->now, "hello client", 12), 0);
    CHECK_EQ(floe_wsconn_send_text(p->sv.c, p->now, "", 0), 0);
    pair_run(p);
    CHECK_EQ(p->sv.n_msg, 1);
    CHECK_MEM(p->sv.last_msg, "hello server", 12);
    CHECK_EQ(p->cl.n_msg, 2);
    CHECK_EQ(p->cl.last_len, 0);
    CHECK_EQ(floe_wsconn_stats(p->sv.c)->messages_in, 1);
    CHECK_EQ(floe_wsconn_stats(p->cl.c)->messages_in, 2);
    CHECK_EQ(floe_wsconn_stats(p->cl.c)->frames_out, 1);
    CHECK_EQ(floe_wsconn_stats(p->sv.c)->frames_in, 1);
}

static void test_upgrade_and_messages(void)
{
    struct pair p;
    const struct floe_wsconn_request *rq;

    REQUIRE(pair_new(&p, false) == 0);
    pair_run(&p);
    rq = floe_wsconn_request(p.sv.c);
    REQUIRE(rq != NULL);
    CHECK_STR(rq->method, "GET");
    CHECK_STR(rq->path, "/client");
    CHECK_STR(rq->query, "x=1");
    CHECK_STR(rq->token, "secret-token");
    CHECK_STR(rq->host, "portal.test:8443");
    CHECK(rq->websocket);
    CHECK_STR(floe_wsconn_request_header(p.sv.c, "sec-websocket-version"), "13");
    CHECK(!strncmp(rq->user_agent, "floe/", 5));
    CHECK_EQ(floe_wsconn_http_status(p.cl.c), 101);
    check_exchange(&p);
    CHECK_EQ(floe_wsconn_poll_timeout(p.cl.c), FLOE_TIME_NEVER); /* no pings by default */
    pair_free(&p);
}

static void test_token_in_query(void)
{
    struct pair p;
    struct floe_wsconn_config cc, sc;

    memset(&p, 0, sizeof(p));
    cfg_client(&cc, &p, false);
    cfg_server(&sc, false);
    cc.token = NULL;
    cc.path = "/socket?a=b&token=abc%2Fdef&c";
    REQUIRE(pair_new_cfg(&p, &cc, &sc) == 0);
    pair_run(&p);
    REQUIRE(floe_wsconn_request(p.sv.c) != NULL);
    CHECK_STR(floe_wsconn_request(p.sv.c)->token, "abc/def");
    CHECK_STR(floe_wsconn_request(p.sv.c)->path, "/socket");
    CHECK(floe_wsconn_request_header(p.sv.c, "Authorization") == NULL);
    pair_free(&p);
}

static void test_refused_401(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, false) == 0);
    p.respond = 401;
    pair_run(&p);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->http_status, 401);
    CHECK_EQ(e->err, FLOE_ERR_PROTOCOL);
    CHECK_STR(e->text, "HTTP 401 Unauthorized: no");
    CHECK_EQ(floe_wsconn_http_status(p.cl.c), 401);
    e = end_find(&p.cl, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->http_status, 401);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_PEER);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_CLOSED);
    e = end_find(&p.sv, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->err, 0);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_LOCAL);
    CHECK(!end_find(&p.sv, FLOE_WSCONN_EV_ERROR));
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "x", 1), FLOE_ERR_STATE);
    pair_free(&p);
}

/* A server connection fed a raw request; returns what it answered. */
static size_t raw_request(struct floe_wsconn **sv, const char *req, uint8_t *out, size_t cap)
{
    struct floe_wsconn_config sc;

    cfg_server(&sc, false);
    if (floe_wsconn_new(sv, &sc) < 0 || floe_wsconn_start(*sv, 1) < 0)
        return 0;
    CHECK_EQ(floe_wsconn_handle_input(*sv, 2, (const uint8_t *)req, strlen(req)), 0);
    return drain(*sv, 2, out, cap);
}

static void test_plain_http_get(void)
{
    struct floe_wsconn *sv = NULL;
    struct floe_wsconn_event ev;
    uint8_t out[4096];
    const struct floe_wsconn_request *rq;
    size_t n;

    n = raw_request(&sv, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    CHECK_EQ(n, 0);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(ev.kind, FLOE_WSCONN_EV_REQUEST);
    rq = floe_wsconn_request(sv);
    REQUIRE(rq != NULL);
    CHECK(!rq->websocket);
    CHECK_STR(rq->path, "/healthz");
    CHECK_STR(rq->token, "");
    CHECK_EQ(floe_wsconn_accept(sv, 3), FLOE_ERR_STATE);
    CHECK_EQ(floe_wsconn_respond(sv, 3, 200, "text/plain", (const uint8_t *)"ok\n", 3), 0);
    n = drain(sv, 3, out, sizeof(out));
    CHECK(contains(out, n, "HTTP/1.1 200 OK\r\n"));
    CHECK(contains(out, n, "Content-Length: 3\r\n"));
    CHECK(contains(out, n, "\r\n\r\nok\n"));
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_CLOSED);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(ev.kind, FLOE_WSCONN_EV_CLOSED);
    CHECK_EQ(ev.http_status, 200);
    CHECK_EQ(floe_wsconn_respond(sv, 3, 200, NULL, NULL, 0), FLOE_ERR_STATE);
    floe_wsconn_free(sv);
}

/* A bad request: the server answers status by itself, counts drop and fails. */
static void check_bad_request(const char *req, const char *status, enum floe_wsconn_drop drop)
{
    struct floe_wsconn *sv = NULL;
    struct floe_wsconn_event ev;
    static uint8_t out[16384];
    size_t n = raw_request(&sv, req, out, sizeof(out));

    REQUIRE(sv != NULL);
    if (!contains(out, n, status))
        fprintf(stderr, "  expected %s for %.40s\n", status, req);
    CHECK(contains(out, n, status));
    CHECK(contains(out, n, "Connection: close\r\n"));
    CHECK_EQ(floe_wsconn_stats(sv)->drops[drop], 1);
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_CLOSED);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(ev.kind, FLOE_WSCONN_EV_ERROR);
    CHECK_EQ(ev.err, FLOE_ERR_PROTOCOL);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(ev.kind, FLOE_WSCONN_EV_CLOSED);
    CHECK(floe_wsconn_poll_event(sv, &ev) == 0);
    CHECK(floe_wsconn_request(sv) == NULL); /* a refused request is not half given */
    floe_wsconn_free(sv);
}

static void test_malformed_http(void)
{
    static char big[12000], many[4096];
    size_t i, n;

    check_bad_request("BLAH\r\n\r\n", "HTTP/1.1 400 ", FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET / HTTP/1.1\r\n Host: folded\r\n\r\n", "HTTP/1.1 400 ",
                      FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET / HTTP/1.1\r\nNo colon\r\n\r\n", "HTTP/1.1 400 ",
                      FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ",
                      FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 ",
                      FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request("GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 ",
                      FLOE_WSCONN_DROP_HTTP_MALFORMED);
    check_bad_request(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "HTTP/1.1 426 ", FLOE_WSCONN_DROP_HANDSHAKE);
    check_bad_request("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
                      "HTTP/1.1 400 ", FLOE_WSCONN_DROP_HANDSHAKE);
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "GET /", 5);
    check_bad_request(big, "HTTP/1.1 431 ", FLOE_WSCONN_DROP_HTTP_TOO_LARGE);
    n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (i = 0; i < FLOE_WSCONN_HEADERS_MAX + 1; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "X-%u: y\r\n", (unsigned)i);
    snprintf(many + n, sizeof(many) - n, "\r\n");
    check_bad_request(many, "HTTP/1.1 431 ", FLOE_WSCONN_DROP_HTTP_TOO_LARGE);
}

/* A client fed a raw answer to its upgrade request. */
static void check_bad_answer(const char *answer, const char *text, enum floe_wsconn_drop drop)
{
    struct pair p;
    uint8_t buf[4096];
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, false) == 0);
    (void)drain(p.cl.c, p.now, buf, sizeof(buf));
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)answer, strlen(answer)), 0);
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    if (strcmp(e->text, text) != 0)
        fprintf(stderr, "  got \"%s\"\n", e->text);
    CHECK_STR(e->text, text);
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->drops[drop], 1);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_CLOSED);
    pair_free(&p);
}

/* A refusal's body arrives after its head, or never: the error says what came. */
static void test_refusal_body(void)
{
    struct pair p;
    uint8_t buf[4096];
    const char *head = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 14\r\n\r\n{\"error\":";
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, false) == 0);
    (void)drain(p.cl.c, p.now, buf, sizeof(buf));
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)head, strlen(head)), 0);
    end_events(&p, &p.cl);
    CHECK(!end_find(&p.cl, FLOE_WSCONN_EV_ERROR)); /* the rest of the body is awaited */
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)"\"x\"}\n", 5), 0);
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_STR(e->text, "HTTP 401 Unauthorized: {\"error\":\"x\"}");
    CHECK_EQ(e->http_status, 401);
    pair_free(&p);

    REQUIRE(pair_new(&p, false) == 0);
    (void)drain(p.cl.c, p.now, buf, sizeof(buf));
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)head, strlen(head)), 0);
    floe_wsconn_handle_eof(p.cl.c, p.now);
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_STR(e->text, "HTTP 401 Unauthorized: {\"error\":");
    CHECK(end_find(&p.cl, FLOE_WSCONN_EV_CLOSED) != NULL);
    pair_free(&p);

    REQUIRE(pair_new(&p, false) == 0);
    (void)drain(p.cl.c, p.now, buf, sizeof(buf));
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)head, strlen(head)), 0);
    floe_wsconn_handle_timeout(p.cl.c, p.now + FLOE_SEC(10));
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->http_status, 401);
    CHECK_EQ(e->err, FLOE_ERR_PROTOCOL);
    pair_free(&p);
}

static void test_client_bad_answer(void)
{
    check_bad_answer(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        "WebSocket: wrong Sec-WebSocket-Accept", FLOE_WSCONN_DROP_HANDSHAKE);
    check_bad_answer("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
                     "WebSocket: the 101 answer has no Upgrade: websocket",
                     FLOE_WSCONN_DROP_HANDSHAKE);
    check_bad_answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                     "HTTP 503 Service Unavailable", FLOE_WSCONN_DROP_HANDSHAKE);
    check_bad_answer("SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP: malformed answer to the upgrade request",
                     FLOE_WSCONN_DROP_HTTP_MALFORMED);
}

static void test_accept_key_rfc_example(void)
{
    struct pair p;
    uint8_t buf[4096];
    char key[32], text[512];
    size_t n;
    const uint8_t *k;

    /* The accept value is checked against the key the client sent. RFC 6455 section 1.3:
     * key dGhlIHNhbXBsZSBub25jZQ== gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=. */
    REQUIRE(pair_new(&p, false) == 0);
    n = drain(p.cl.c, p.now, buf, sizeof(buf));
    buf[n] = 0;
    k = (const uint8_t *)strstr((const char *)buf, "Sec-WebSocket-Key: ");
    REQUIRE(k != NULL);
    memcpy(key, k + 19, 24);
    key[24] = 0;
    CHECK(contains(buf, n, "Authorization: Bearer secret-token\r\n"));
    CHECK(contains(buf, n, "GET /client?x=1 HTTP/1.1\r\nHost: portal.test:8443\r\n"));
    CHECK(contains(buf, n, "Sec-WebSocket-Version: 13\r\n"));
    {
        uint8_t d[20];
        char want[40], in[128];
        unsigned int dl;

        snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        EVP_Digest(in, strlen(in), d, &dl, EVP_sha1(), NULL);
        EVP_EncodeBlock((unsigned char *)want, d, 20);
        snprintf(text, sizeof(text),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 want);
        snprintf(in, sizeof(in), "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        EVP_Digest(in, strlen(in), d, &dl, EVP_sha1(), NULL);
        EVP_EncodeBlock((unsigned char *)want, d, 20);
        CHECK_STR(want, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, (const uint8_t *)text, strlen(text)), 0);
    end_events(&p, &p.cl);
    CHECK(end_open(&p.cl));
    pair_free(&p);
}

static void send_big(struct pair *p, size_t len)
{
    memset(p->scratch, 'z', len);
    p->scratch[0] = '{';
    CHECK_EQ(floe_wsconn_send_text(p->cl.c, p->now, (const char *)p->scratch, len), 0);
    pair_run(p);
}

static void test_one_mib_limit(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, false) == 0);
    p.scratch = malloc(BIG);
    pair_run(&p);
    REQUIRE(end_open(&p.cl) && end_open(&p.sv));
    send_big(&p, FLOE_WSCONN_MESSAGE_MAX);
    CHECK_EQ(p.sv.n_msg, 1);
    CHECK_EQ(p.sv.last_len, FLOE_WSCONN_MESSAGE_MAX);
    CHECK_EQ(p.sv.last_msg[0], '{');
    send_big(&p, FLOE_WSCONN_MESSAGE_MAX + 1);
    CHECK_EQ(p.sv.n_msg, 1);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->drops[FLOE_WSCONN_DROP_WS_TOO_BIG], 1);
    e = end_find(&p.sv, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->code, FLOE_WS_CLOSE_TOO_BIG);
    CHECK_STR(e->text, "WebSocket: message over 1048576 bytes");
    e = end_find(&p.cl, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->code, FLOE_WS_CLOSE_TOO_BIG);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_PEER);
    CHECK_EQ(floe_wsconn_state(p.sv.c), FLOE_WSCONN_CLOSED);
    pair_free(&p);
}

/* An open plain pair; raw frames then go straight into the server. */
static int open_pair(struct pair *p)
{
    if (pair_new(p, false) < 0)
        return -1;
    pair_run(p);
    return end_open(&p->cl) && end_open(&p->sv) ? 0 : -1;
}

static void feed_server(struct pair *p, const uint8_t *b, size_t n)
{
    CHECK_EQ(floe_wsconn_handle_input(p->sv.c, p->now, b, n), 0);
    end_events(p, &p->sv);
}

/* The close frame the server sent: its code, or -1. */
static int server_close_code(struct pair *p)
{
    uint8_t out[256];
    size_t n = drain(p->sv.c, p->now, out, sizeof(out));

    if (n < 4 || out[0] != 0x88 || (out[1] & 0x80))
        return -1;
    return floe_load_be16(out + 2);
}

static void test_oversized_frame_header(void)
{
    struct pair p;
    uint8_t f[16] = {0x81, 0xFF};

    REQUIRE(open_pair(&p) == 0);
    /* A 2 MiB frame: refused on its header and first payload byte, not after 2 MiB. */
    floe_store_be64(f + 2, 2u * 1024u * 1024u);
    memcpy(f + 10, "\x01\x02\x03\x04{", 5);
    feed_server(&p, f, 15);
    CHECK_EQ(server_close_code(&p), FLOE_WS_CLOSE_TOO_BIG);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->drops[FLOE_WSCONN_DROP_WS_TOO_BIG], 1);
    CHECK_EQ(floe_wsconn_state(p.sv.c), FLOE_WSCONN_CLOSED);
    pair_free(&p);
}

static void test_fragmented_message(void)
{
    struct pair p;
    uint8_t b[256];
    size_t n = 0;

    REQUIRE(open_pair(&p) == 0);
    n += frame(b + n, 0x01, true, (const uint8_t *)"Hel", 3);      /* text, not final */
    n += frame(b + n, 0x00, true, (const uint8_t *)"lo ", 3);      /* continuation */
    n += frame(b + n, 0x89, true, (const uint8_t *)"p!", 2);       /* ping in between */
    n += frame(b + n, 0x80, true, (const uint8_t *)"world", 5);    /* final continuation */
    n += frame(b + n, 0x81, true, (const uint8_t *)"\xc3\xa9", 2); /* é, alone */
    feed_server(&p, b, n);
    CHECK_EQ(p.sv.n_msg, 2);
    CHECK_EQ(p.sv.last_len, 2);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->messages_in, 2);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->frames_in, 5);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->pings_received, 1);
    n = drain(p.sv.c, p.now, b, sizeof(b));
    CHECK_EQ(n, 4);
    CHECK_MEM(b, "\x8a\x02p!", 4); /* the pong, unmasked, same payload */
    pair_free(&p);
}

static void test_fragmented_message_content(void)
{
    struct pair p;
    uint8_t b[256];
    size_t n = 0;

    REQUIRE(open_pair(&p) == 0);
    n += frame(b + n, 0x01, true, (const uint8_t *)"Hel", 3);
    n += frame(b + n, 0x00, true, (const uint8_t *)"lo ", 3);
    n += frame(b + n, 0x80, true, (const uint8_t *)"world", 5);
    p.chunk = 1;
    feed_server(&p, b, n);
    CHECK_EQ(p.sv.n_msg, 1);
    CHECK_EQ(p.sv.last_len, 11);
    CHECK_MEM(p.sv.last_msg, "Hello world", 11);
    pair_free(&p);
}

/* One raw frame breaking a rule: the server closes with code and counts drop. */
static void check_bad_frame(const uint8_t *b, size_t n, int code, enum floe_wsconn_drop drop)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(open_pair(&p) == 0);
    feed_server(&p, b, n);
    CHECK_EQ(server_close_code(&p), code);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->drops[drop], 1);
    CHECK_EQ(floe_wsconn_state(p.sv.c), FLOE_WSCONN_CLOSED);
    e = end_find(&p.sv, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->code, code);
    CHECK_EQ(e->err, FLOE_ERR_PROTOCOL);
    CHECK_EQ(p.sv.n_msg, 0);
    pair_free(&p);
}

static void test_protocol_errors(void)
{
    uint8_t b[256], big[200];
    size_t n;

    n = frame(b, 0x81, false, (const uint8_t *)"hi", 2); /* unmasked from a client */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    n = frame(b, 0x83, true, (const uint8_t *)"hi", 2); /* reserved opcode 3 */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    n = frame(b, 0xC1, true, (const uint8_t *)"hi", 2); /* RSV1 without an extension */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    n = frame(b, 0x80, true, (const uint8_t *)"hi", 2); /* continuation of nothing */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    memset(big, 'p', sizeof(big));
    n = frame(b, 0x89, true, big, 126); /* a ping over 125 bytes */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    n = frame(b, 0x09, true, big, 2); /* a fragmented ping */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
    n = frame(b, 0x81, true, (const uint8_t *)"\xc3\x28", 2); /* not UTF-8 */
    check_bad_frame(b, n, FLOE_WS_CLOSE_INVALID_PAYLOAD, FLOE_WSCONN_DROP_WS_UTF8);
    n = frame(b, 0x88, true, (const uint8_t *)"\x03\xe7", 2); /* close code 999 */
    check_bad_frame(b, n, FLOE_WS_CLOSE_PROTOCOL_ERROR, FLOE_WSCONN_DROP_WS_PROTOCOL);
}

static void test_binary_dropped(void)
{
    struct pair p;
    uint8_t b[64];
    size_t n;

    REQUIRE(open_pair(&p) == 0);
    n = frame(b, 0x82, true, (const uint8_t *)"\x00\x01", 2);
    feed_server(&p, b, n);
    CHECK_EQ(p.sv.n_msg, 0);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->drops[FLOE_WSCONN_DROP_BINARY], 1);
    CHECK_EQ(floe_wsconn_state(p.sv.c), FLOE_WSCONN_OPEN);
    pair_free(&p);
}

static void test_close_handshake(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(open_pair(&p) == 0);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "last words", 10), 0);
    CHECK_EQ(floe_wsconn_close(p.cl.c, p.now, FLOE_WS_CLOSE_NORMAL, "\xff"), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_OPEN);
    CHECK_EQ(floe_wsconn_close(p.cl.c, p.now, FLOE_WS_CLOSE_NORMAL, "bye"), 0);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_CLOSING);
    CHECK_EQ(floe_wsconn_close(p.cl.c, p.now, FLOE_WS_CLOSE_NORMAL, "bye"), FLOE_ERR_STATE);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "x", 1), FLOE_ERR_STATE);
    pair_run(&p);
    CHECK_EQ(p.sv.n_msg, 1); /* the message sent before the close arrives */
    e = end_find(&p.sv, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_PEER);
    CHECK_EQ(e->code, FLOE_WS_CLOSE_NORMAL);
    CHECK_STR(e->text, "bye");
    CHECK_EQ(e->err, 0);
    e = end_find(&p.cl, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_LOCAL);
    CHECK_EQ(e->code, FLOE_WS_CLOSE_NORMAL);
    CHECK_STR(e->text, "bye");
    CHECK(!end_find(&p.cl, FLOE_WSCONN_EV_ERROR));
    CHECK(!end_find(&p.sv, FLOE_WSCONN_EV_ERROR));
    CHECK_EQ(floe_wsconn_poll_timeout(p.cl.c), FLOE_TIME_NEVER);
    CHECK_EQ(floe_wsconn_close(p.sv.c, p.now, 1000, NULL), FLOE_ERR_STATE);
    CHECK_EQ(floe_wsconn_close(p.sv.c, p.now, 1005, NULL), FLOE_ERR_INVALID_ARG);
    pair_free(&p);
}

static void test_close_timeout(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(open_pair(&p) == 0);
    p.cut_to_cl = true; /* the server's answer never arrives */
    CHECK_EQ(floe_wsconn_close(p.cl.c, p.now, 4000, "going"), 0);
    pair_run(&p);
    CHECK(!end_find(&p.cl, FLOE_WSCONN_EV_CLOSED));
    pair_advance(&p, p.now + FLOE_SEC(6));
    e = end_find(&p.cl, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->code, 4000);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_LOCAL);
    pair_free(&p);
}

static void test_ping_pong(void)
{
    struct pair p;
    struct floe_wsconn_config cc, sc;
    const struct floe_wsconn_event *e;

    memset(&p, 0, sizeof(p));
    cfg_client(&cc, &p, false);
    cfg_server(&sc, false);
    cc.ping_interval = FLOE_SEC(5);
    REQUIRE(pair_new_cfg(&p, &cc, &sc) == 0);
    pair_run(&p);
    REQUIRE(end_open(&p.cl));
    CHECK_EQ(floe_wsconn_poll_timeout(p.cl.c), p.now + FLOE_SEC(5));
    pair_advance(&p, p.now + FLOE_SEC(12));
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->pings_sent, 2);
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->pongs_received, 2);
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->pings_received, 2);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_OPEN);
    p.cut_to_cl = true; /* the pongs stop */
    pair_advance(&p, p.now + FLOE_SEC(20));
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->err, FLOE_ERR_TIMEOUT);
    CHECK_EQ(floe_wsconn_state(p.cl.c), FLOE_WSCONN_CLOSED);
    pair_free(&p);
}

static void test_handshake_timeout(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, false) == 0);
    CHECK_EQ(floe_wsconn_poll_timeout(p.cl.c), p.now + FLOE_SEC(10));
    floe_wsconn_handle_timeout(p.cl.c, p.now + FLOE_SEC(10));
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->err, FLOE_ERR_TIMEOUT);
    CHECK(end_find(&p.cl, FLOE_WSCONN_EV_CLOSED) != NULL);
    CHECK_EQ(floe_wsconn_poll_timeout(p.cl.c), FLOE_TIME_NEVER);
    pair_free(&p);
}

static void test_eof(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;
    uint8_t junk[4] = {1, 2, 3, 4};

    REQUIRE(open_pair(&p) == 0);
    floe_wsconn_handle_eof(p.cl.c, p.now);
    end_events(&p, &p.cl);
    e = end_find(&p.cl, FLOE_WSCONN_EV_CLOSED);
    REQUIRE(e != NULL);
    CHECK_EQ(e->code, FLOE_WS_CLOSE_ABNORMAL);
    CHECK_EQ(e->err, FLOE_ERR_IO);
    CHECK_EQ(e->by, FLOE_WSCONN_BY_PEER);
    CHECK_EQ(floe_wsconn_handle_input(p.cl.c, p.now, junk, 4), 0);
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->drops[FLOE_WSCONN_DROP_AFTER_CLOSE], 1);
    pair_free(&p);
}

static void test_send_checks(void)
{
    struct pair p;

    REQUIRE(pair_new(&p, false) == 0);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "early", 5), FLOE_ERR_STATE);
    pair_run(&p);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "\xff", 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "\xed\xa0\x80", 3), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_wsconn_send_text(p.cl.c, p.now, "\xf0\x9f\x98\x80", 4), 0);
    CHECK_EQ(floe_wsconn_send_text(NULL, p.now, "x", 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_wsconn_start(p.cl.c, p.now), FLOE_ERR_STATE);
    pair_free(&p);
}

static void test_config_checks(void)
{
    struct floe_wsconn_config cfg;
    struct floe_wsconn *c = NULL;
    struct floe_xoshiro x;

    floe_xoshiro_seed(&x, 1);
    floe_wsconn_config_default(&cfg);
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG); /* client without host */
    cfg.host = "h";
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG); /* no rng */
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.token = "bad\r\ntoken";
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG);
    cfg.token = NULL;
    cfg.path = "nopath";
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG);
    cfg.path = NULL;
    cfg.max_queued = cfg.max_message - 1;
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG);
    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.tls = true;
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_INVALID_ARG); /* no certificate */
    cfg.cert_file = "/nonexistent/cert.pem";
    cfg.key_file = "/nonexistent/key.pem";
    CHECK_EQ(floe_wsconn_new(&c, &cfg), FLOE_ERR_CRYPTO);
    CHECK(c == NULL);
    CHECK_STR(floe_wsconn_drop_name(FLOE_WSCONN_DROP_WS_TOO_BIG), "ws_too_big");
    CHECK_STR(floe_wsconn_state_name(FLOE_WSCONN_OPEN), "open");
}

/* Random bytes after the upgrade, into either role: closed and counted, never a crash. */
static void test_garbage_after_upgrade(void)
{
    struct pair p;
    struct floe_xoshiro g;
    uint8_t junk[4096];
    size_t i, closed = 0, runs = 200, k;
    int role;

    floe_xoshiro_seed(&g, floe_test_seed());
    for (i = 0; i < runs; i++) {
        REQUIRE(open_pair(&p) == 0);
        role = (int)(i & 1);
        for (k = 0; k < sizeof(junk); k++)
            junk[k] = (uint8_t)floe_xoshiro_next(&g);
        CHECK_EQ(floe_wsconn_handle_input(role ? p.cl.c : p.sv.c, p.now, junk, sizeof(junk)), 0);
        pair_run(&p);
        if (floe_wsconn_state(role ? p.cl.c : p.sv.c) == FLOE_WSCONN_CLOSED) {
            const struct floe_wsconn_stats *s = floe_wsconn_stats(role ? p.cl.c : p.sv.c);

            closed++;
            CHECK(s->drops[FLOE_WSCONN_DROP_WS_PROTOCOL] + s->drops[FLOE_WSCONN_DROP_WS_TOO_BIG] +
                      s->drops[FLOE_WSCONN_DROP_WS_UTF8] ==
                  1);
            CHECK(end_find(role ? &p.cl : &p.sv, FLOE_WSCONN_EV_ERROR) != NULL);
        }
        pair_free(&p);
    }
    CHECK(closed >= runs * 9 / 10);
}

static void test_garbage_before_upgrade(void)
{
    struct floe_wsconn *sv = NULL;
    struct floe_wsconn_config sc;
    struct floe_xoshiro g;
    uint8_t junk[600], out[4096];
    size_t i, k;

    floe_xoshiro_seed(&g, floe_test_seed() + 1);
    cfg_server(&sc, false);
    for (i = 0; i < 200; i++) {
        REQUIRE(floe_wsconn_new(&sv, &sc) == 0);
        CHECK_EQ(floe_wsconn_start(sv, 1), 0);
        for (k = 0; k < sizeof(junk); k++)
            junk[k] = (uint8_t)floe_xoshiro_next(&g);
        if (i & 1)
            junk[100] = junk[101] = '\n'; /* a head ends inside */
        CHECK_EQ(floe_wsconn_handle_input(sv, 2, junk, sizeof(junk)), 0);
        (void)drain(sv, 2, out, sizeof(out));
        CHECK(floe_wsconn_state(sv) == FLOE_WSCONN_CLOSED ||
              floe_wsconn_state(sv) == FLOE_WSCONN_HANDSHAKE);
        floe_wsconn_free(sv);
    }
}

/* ----------------------------------------------------------------------- TLS */

static void test_tls_messages(void)
{
    struct pair p;

    REQUIRE(pair_new(&p, true) == 0);
    pair_run(&p);
    CHECK(end_open(&p.cl) && end_open(&p.sv));
    CHECK_STR(floe_wsconn_request(p.sv.c)->token, "secret-token");
    check_exchange(&p);
    CHECK(floe_wsconn_stats(p.sv.c)->bytes_out > 1000); /* the certificate chain */
    CHECK_EQ(floe_wsconn_close(p.cl.c, p.now, 1000, "done"), 0);
    pair_run(&p);
    CHECK(end_find(&p.sv, FLOE_WSCONN_EV_CLOSED) != NULL);
    CHECK(end_find(&p.cl, FLOE_WSCONN_EV_CLOSED) != NULL);
    pair_free(&p);
}

static void test_tls_byte_at_a_time(void)
{
    struct pair p;

    REQUIRE(pair_new(&p, true) == 0);
    p.chunk = 1;
    pair_run(&p);
    check_exchange(&p);
    pair_free(&p);
}

static void test_plain_byte_at_a_time(void)
{
    struct pair p;

    REQUIRE(pair_new(&p, false) == 0);
    p.chunk = 1;
    pair_run(&p);
    check_exchange(&p);
    pair_free(&p);
}

static void test_tls_ip_name(void)
{
    struct pair p;
    struct floe_wsconn_config cc, sc;

    memset(&p, 0, sizeof(p));
    cfg_client(&cc, &p, true);
    cfg_server(&sc, true);
    cc.host = "127.0.0.1:8443";
    REQUIRE(pair_new_cfg(&p, &cc, &sc) == 0);
    pair_run(&p);
    CHECK(end_open(&p.cl));
    pair_free(&p);
}

/* A client that must refuse the server's certificate with text starting with want. */
static void check_tls_refused(const char *ca, const char *server_name, const char *want)
{
    struct pair p;
    struct floe_wsconn_config cc, sc;
    const struct floe_wsconn_event *e;

    memset(&p, 0, sizeof(p));
    cfg_client(&cc, &p, true);
    cfg_server(&sc, true);
    cc.ca_file = ca;
    cc.server_name = server_name;
    REQUIRE(pair_new_cfg(&p, &cc, &sc) == 0);
    pair_run(&p);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    if (strcmp(e->text, want) != 0)
        fprintf(stderr, "  got \"%s\"\n", e->text);
    CHECK_STR(e->text, want);
    CHECK_EQ(e->err, FLOE_ERR_CRYPTO);
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->drops[FLOE_WSCONN_DROP_TLS], 1);
    CHECK(!end_find(&p.cl, FLOE_WSCONN_EV_OPEN));
    CHECK(floe_wsconn_request(p.sv.c) == NULL); /* the token never left the client */
    e = end_find(&p.sv, FLOE_WSCONN_EV_ERROR);  /* the server saw the alert */
    REQUIRE(e != NULL);
    CHECK(!strncmp(e->text, "TLS: ", 5));
    CHECK_EQ(floe_wsconn_stats(p.sv.c)->drops[FLOE_WSCONN_DROP_TLS], 1);
    pair_free(&p);
}

static void test_tls_wrong_name(void)
{
    check_tls_refused(g_pki.ca, "other.test", "TLS: certificate verify failed: hostname mismatch");
}

static void test_tls_wrong_ca(void)
{
    check_tls_refused(g_pki.ca2, NULL,
                      "TLS: certificate verify failed: unable to get local issuer certificate");
}

static void test_tls_plain_client(void)
{
    struct floe_wsconn *sv = NULL;
    struct floe_wsconn_config sc;
    struct floe_wsconn_event ev;
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    uint8_t out[4096];

    cfg_server(&sc, true);
    REQUIRE(floe_wsconn_new(&sv, &sc) == 0);
    CHECK_EQ(floe_wsconn_start(sv, 1), 0);
    CHECK_EQ(floe_wsconn_handle_input(sv, 2, (const uint8_t *)req, strlen(req)), 0);
    (void)drain(sv, 2, out, sizeof(out));
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(ev.kind, FLOE_WSCONN_EV_ERROR);
    CHECK_STR(ev.text, "TLS: http request");
    CHECK_EQ(floe_wsconn_stats(sv)->drops[FLOE_WSCONN_DROP_TLS], 1);
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_CLOSED);
    floe_wsconn_free(sv);
}

static void test_tls_shared_ctx(void)
{
    struct pair p;
    struct floe_wsconn_config cc, sc;
    struct ssl_ctx_st *sctx = NULL, *cctx = NULL;
    char err[256];

    memset(&p, 0, sizeof(p));
    CHECK_EQ(floe_wsconn_tls_server_ctx(&sctx, g_pki.cert, "/nonexistent.pem", err, sizeof(err)),
             FLOE_ERR_CRYPTO);
    CHECK(!strncmp(err, "TLS: cannot load the key /nonexistent.pem: ", 43));
    REQUIRE(floe_wsconn_tls_server_ctx(&sctx, g_pki.cert, g_pki.key, err, sizeof(err)) == 0);
    REQUIRE(floe_wsconn_tls_client_ctx(&cctx, g_pki.ca, err, sizeof(err)) == 0);
    cfg_client(&cc, &p, true);
    cfg_server(&sc, true);
    cc.ca_file = NULL;
    cc.tls_ctx = cctx;
    sc.cert_file = sc.key_file = NULL;
    sc.tls_ctx = sctx;
    REQUIRE(pair_new_cfg(&p, &cc, &sc) == 0);
    SSL_CTX_free(sctx); /* the connections hold their own references */
    SSL_CTX_free(cctx);
    pair_run(&p);
    check_exchange(&p);
    pair_free(&p);
}

static void test_data_before_accept(void)
{
    struct floe_wsconn *sv = NULL;
    struct floe_wsconn_event ev;
    static uint8_t junk[70000];
    uint8_t out[512];
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    (void)raw_request(&sv, req, out, sizeof(out));
    REQUIRE(sv != NULL);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_REQUEST);
    memset(junk, 'j', sizeof(junk));
    CHECK_EQ(floe_wsconn_handle_input(sv, 3, junk, 60000), 0);
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_REQUEST); /* held */
    CHECK_EQ(floe_wsconn_handle_input(sv, 3, junk, 10000), 0);
    CHECK_EQ(floe_wsconn_state(sv), FLOE_WSCONN_CLOSED);
    CHECK_EQ(floe_wsconn_stats(sv)->drops[FLOE_WSCONN_DROP_WS_PROTOCOL], 1);
    REQUIRE(floe_wsconn_poll_event(sv, &ev) == 1);
    CHECK_STR(ev.text, "WebSocket: data before the upgrade was answered");
    floe_wsconn_free(sv);
}

static void test_tls_refused_401(void)
{
    struct pair p;
    const struct floe_wsconn_event *e;

    REQUIRE(pair_new(&p, true) == 0);
    p.respond = 401;
    pair_run(&p);
    e = end_find(&p.cl, FLOE_WSCONN_EV_ERROR);
    REQUIRE(e != NULL);
    CHECK_EQ(e->http_status, 401);
    CHECK_STR(e->text, "HTTP 401 Unauthorized: no");
    CHECK_EQ(floe_wsconn_stats(p.cl.c)->drops[FLOE_WSCONN_DROP_TLS], 0);
    pair_free(&p);
}

/* Random messages both ways, over plain or TLS, fed in random pieces: all arrive, in order. */
static void run_random_splits(struct floe_xoshiro *g, bool tls)
{
    struct pair p;
    uint64_t want[2] = {0, 0};
    size_t i, k, len, sent[2] = {0, 0};
    int side;

    REQUIRE(pair_new(&p, tls) == 0);
    p.scratch = malloc(BIG);
    REQUIRE(p.scratch != NULL);
    p.chunk = 1 + (size_t)(floe_xoshiro_next(g) % 3000);
    pair_run(&p);
    REQUIRE(end_open(&p.cl) && end_open(&p.sv));
    for (i = 0; i < 40; i++) {
        side = (int)(floe_xoshiro_next(g) & 1);
        len = (size_t)(floe_xoshiro_next(g) % (i % 8 == 7 ? 300000 : 2000));
        for (k = 0; k < len; k++)
            p.scratch[k] = (uint8_t)(0x20 + floe_xoshiro_next(g) % 95);
        CHECK_EQ(floe_wsconn_send_text(side ? p.sv.c : p.cl.c, p.now, (const char *)p.scratch, len),
                 0);
        want[side] = digest_add(want[side], p.scratch, len);
        sent[side]++;
        if (floe_xoshiro_next(g) % 4 == 0)
            pair_run(&p);
    }
    pair_run(&p);
    CHECK_EQ(p.sv.n_msg, sent[0]);
    CHECK_EQ(p.cl.n_msg, sent[1]);
    CHECK(p.sv.digest == want[0]);
    CHECK(p.cl.digest == want[1]);
    pair_free(&p);
}

static void test_random_splits(void)
{
    struct floe_xoshiro g;
    int i;

    floe_xoshiro_seed(&g, floe_test_seed() + 2);
    for (i = 0; i < 12; i++)
        run_random_splits(&g, i % 3 == 2);
}

/* ---------------------------------------------------------------- failmalloc */

static void test_failmalloc(void)
{
    struct floe_test_failmalloc fm;
    struct floe_allocator al = {floe_test_failmalloc_malloc, floe_test_failmalloc_realloc,
                                floe_test_failmalloc_free, &fm};
    struct pair p;
    struct floe_wsconn_config cc, sc;
    long n;

    for (n = 0; n < 400; n++) {
        memset(&fm, 0, sizeof(fm));
        fm.fail_at = n;
        memset(&p, 0, sizeof(p));
        floe_xoshiro_seed(&p.x, 3);
        p.lenient = true;
        cfg_client(&cc, &p, n & 1);
        cfg_server(&sc, n & 1);
        cc.alloc = sc.alloc = al;
        if (pair_new_cfg(&p, &cc, &sc) == 0) {
            pair_run(&p);
            if (end_open(&p.cl) && end_open(&p.sv)) {
                (void)floe_wsconn_send_text(p.cl.c, p.now, "abc", 3);
                (void)floe_wsconn_send_text(p.sv.c, p.now, "def", 3);
                pair_run(&p);
            }
        }
        pair_free(&p);
        if (!fm.failed)
            break;
    }
    CHECK(n < 400 && n > 10);
}

int main(void)
{
    if (pki_make(&g_pki) < 0) {
        fprintf(stderr, "cannot make the test certificates\n");
        pki_remove(&g_pki);
        return 1;
    }
    FLOE_RUN(test_upgrade_and_messages);
    FLOE_RUN(test_token_in_query);
    FLOE_RUN(test_refused_401);
    FLOE_RUN(test_plain_http_get);
    FLOE_RUN(test_malformed_http);
    FLOE_RUN(test_client_bad_answer);
    FLOE_RUN(test_refusal_body);
    FLOE_RUN(test_accept_key_rfc_example);
    FLOE_RUN(test_one_mib_limit);
    FLOE_RUN(test_oversized_frame_header);
    FLOE_RUN(test_fragmented_message);
    FLOE_RUN(test_fragmented_message_content);
    FLOE_RUN(test_protocol_errors);
    FLOE_RUN(test_binary_dropped);
    FLOE_RUN(test_close_handshake);
    FLOE_RUN(test_close_timeout);
    FLOE_RUN(test_ping_pong);
    FLOE_RUN(test_handshake_timeout);
    FLOE_RUN(test_eof);
    FLOE_RUN(test_send_checks);
    FLOE_RUN(test_config_checks);
    FLOE_RUN(test_garbage_after_upgrade);
    FLOE_RUN(test_garbage_before_upgrade);
    FLOE_RUN(test_plain_byte_at_a_time);
    FLOE_RUN(test_tls_messages);
    FLOE_RUN(test_tls_byte_at_a_time);
    FLOE_RUN(test_tls_ip_name);
    FLOE_RUN(test_tls_wrong_name);
    FLOE_RUN(test_tls_wrong_ca);
    FLOE_RUN(test_tls_plain_client);
    FLOE_RUN(test_tls_shared_ctx);
    FLOE_RUN(test_tls_refused_401);
    FLOE_RUN(test_data_before_accept);
    FLOE_RUN(test_random_splits);
    FLOE_RUN(test_failmalloc);
    pki_remove(&g_pki);
    return floe_test_summary();
}
