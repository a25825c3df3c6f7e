/*
 * The portal protocol client (struct floe_portal_client) against a scripted portal built from
 * the transport's server role (floe/portal_wire.h) and the message codec, in memory, in
 * virtual time: join and init, heartbeats and the missed-heartbeat reconnect, the backoff
 * sequence (bounded, jittered, capped at 60 s, reset by a join), 401 as final, candidates
 * sent while disconnected (or on a connection that died unread) delivered after the next
 * join, malformed messages counted, the gateway role's authorization flow.
 */
#include "floe/portal.h"
#include "floe/portal_wire.h"
#include "portal_pki.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX 64
#define RECV_MAX 64

/* The scripted portal's behaviour. */
struct script {
    bool refuse_401;        /* answer the upgrade 401 */
    bool mute_heartbeats;   /* stop answering heartbeats */
    bool no_init;           /* answer the join but send no init */
    bool mute_join;         /* never answer the join */
    const char *join_error; /* answer the join with this error reason */
};

struct rig {
    struct floe_portal_client *pc;
    struct floe_wsconn *srv;
    struct floe_xoshiro x;
    struct floe_xoshiro srv_x;
    floe_time now;
    struct script script;
    enum floe_portal_role role;
    bool tls; /* the portal speaks TLS with g_pki's server certificate */
    /* What the client reported. */
    struct floe_portal_client_event ev[EVENTS_MAX];
    enum floe_portal_msg_type ev_type[EVENTS_MAX];
    struct floe_portal_msg *last_init;
    struct floe_portal_msg *last_msg;
    size_t n_ev;
    /* What the portal received (decoded), heartbeats and joins apart. */
    struct floe_portal_msg *recv[RECV_MAX];
    size_t n_recv;
    unsigned joins, heartbeats;
    uint16_t srv_close_code; /* the code of the portal's last CLOSED event */
};

static struct floe_portal_msg *msg_new(void)
{
    struct floe_portal_msg *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    return m;
}

static struct pki g_pki;

/* A rig; with tls, the client trusts ca_file and verifies server_name (NULL: the host). */
static void rig_init_tls(struct rig *r, enum floe_portal_role role, const char *ca_file,
                         const char *server_name)
{
    memset(r, 0, sizeof(*r));
    floe_xoshiro_seed(&r->x, floe_test_seed());
    floe_xoshiro_seed(&r->srv_x, floe_test_seed() ^ 0x5e4);
    r->role = role;
    r->now = FLOE_SEC(1000);
    struct floe_portal_client_config cfg;
    floe_portal_client_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&r->x);
    cfg.role = role;
    cfg.host = "portal.test";
    cfg.token = role == FLOE_PORTAL_ROLE_CLIENT ? "client-token" : "gateway-token";
    static const uint8_t key[FLOE_PORTAL_KEY_LEN] = {0xfb, 0xff, 0x01, 0x3e}; /* "+/8B..." */
    cfg.public_key = key;
    cfg.name = "laptop of Zoë";
    cfg.tls = ca_file != NULL;
    cfg.ca_file = ca_file;
    cfg.server_name = server_name;
    r->tls = cfg.tls;
    if (floe_portal_client_new(&r->pc, &cfg) != 0)
        abort();
    r->last_init = msg_new();
    r->last_msg = msg_new();
}

static void rig_init(struct rig *r, enum floe_portal_role role)
{
    rig_init_tls(r, role, NULL, NULL);
}

static void rig_free(struct rig *r)
{
    floe_portal_client_free(r->pc);
    floe_wsconn_free(r->srv);
    free(r->last_init);
    free(r->last_msg);
    for (size_t i = 0; i < r->n_recv; i++)
        free(r->recv[i]);
}

static void srv_send(struct rig *r, const struct floe_portal_msg *m)
{
    static char buf[FLOE_PORTAL_JSON_MAX];
    long n = floe_portal_msg_encode(m, buf, sizeof(buf));
    if (n <= 0 || floe_wsconn_send_text(r->srv, r->now, buf, (size_t)n) != 0)
        abort();
}

static void srv_send_raw(struct rig *r, const char *text)
{
    if (floe_wsconn_send_text(r->srv, r->now, text, strlen(text)) != 0)
        abort();
}

static void srv_reply(struct rig *r, const struct floe_portal_msg *req, const char *error)
{
    struct floe_portal_msg *m = msg_new();
    m->type = FLOE_PORTAL_MSG_REPLY;
    m->topic = req->topic;
    m->has_ref = req->has_ref;
    memcpy(m->ref, req->ref, sizeof(m->ref));
    m->u.reply.ok = error == NULL;
    if (error)
        strcpy(m->u.reply.reason, error);
    srv_send(r, m);
    free(m);
}

static void srv_init(struct rig *r)
{
    struct floe_portal_msg *m = msg_new();
    m->type = FLOE_PORTAL_MSG_INIT;
    m->topic =
        r->role == FLOE_PORTAL_ROLE_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
    floe_addr_parse_ip("100.64.0.5", &m->u.init.interface.ipv4);
    floe_addr_parse_ip("fd00:2021:1111::5", &m->u.init.interface.ipv6);
    if (r->role == FLOE_PORTAL_ROLE_CLIENT) {
        struct floe_portal_resource *res = &m->u.init.resources[0];
        m->u.init.n_resources = 1;
        strcpy(res->id, "res-db");
        strcpy(res->name, "Database");
        floe_addr_parse_ip("10.20.0.0", &res->address.addr);
        res->address.prefix = 16;
    }
    m->u.init.n_relays = 1;
    strcpy(m->u.init.relays[0].id, "relay-1");
    floe_addr_parse("198.51.100.7:3478", &m->u.init.relays[0].addr);
    strcpy(m->u.init.relays[0].username, "1764979200:dev");
    strcpy(m->u.init.relays[0].password, "secret");
    m->u.init.relays[0].expires_at = 1764979200;
    srv_send(r, m);
    free(m);
}

static void srv_on_message(struct rig *r, struct floe_span text)
{
    struct floe_portal_msg *m = msg_new();
    char reason[128];
    if (floe_portal_msg_decode(m, (const char *)text.ptr, text.len, reason, 128) != 0) {
        fprintf(stderr, "  portal could not decode: %s\n", reason);
        abort();
    }
    if (m->type == FLOE_PORTAL_MSG_HEARTBEAT) {
        r->heartbeats++;
        if (!r->script.mute_heartbeats)
            srv_reply(r, m, NULL);
        free(m);
    } else if (m->type == FLOE_PORTAL_MSG_JOIN) {
        r->joins++;
        if (!r->script.mute_join)
            srv_reply(r, m, r->script.join_error);
        if (!r->script.join_error && !r->script.no_init && !r->script.mute_join)
            srv_init(r);
        free(m);
    } else if (r->n_recv < RECV_MAX) {
        r->recv[r->n_recv++] = m;
    } else {
        free(m);
    }
}

static void srv_on_event(struct rig *r, const struct floe_wsconn_event *ev)
{
    if (ev->kind == FLOE_WSCONN_EV_CLOSED)
        r->srv_close_code = ev->code;
    if (ev->kind != FLOE_WSCONN_EV_REQUEST)
        return;
    const struct floe_wsconn_request *req = floe_wsconn_request(r->srv);
    if (r->script.refuse_401) {
        if (floe_wsconn_respond(r->srv, r->now, 401, NULL, (const uint8_t *)"no", 2) != 0)
            abort();
        return;
    }
    CHECK(req->websocket);
    CHECK_STR(req->token, r->role == FLOE_PORTAL_ROLE_CLIENT ? "client-token" : "gateway-token");
    CHECK_STR(req->path,
              r->role == FLOE_PORTAL_ROLE_CLIENT ? "/client/websocket" : "/gateway/websocket");
    CHECK_STR(req->query, "public_key=%2B%2F8BPgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
                          "&name=laptop%20of%20Zo%C3%AB");
    if (floe_wsconn_accept(r->srv, r->now) != 0)
        abort();
}

static void rig_collect(struct rig *r)
{
    struct floe_portal_client_event ev;
    while (floe_portal_client_poll_event(r->pc, &ev) == 1) {
        REQUIRE(r->n_ev < EVENTS_MAX);
        r->ev[r->n_ev] = ev;
        r->ev_type[r->n_ev] = ev.msg ? ev.msg->type : FLOE_PORTAL_MSG_NONE;
        if (ev.kind == FLOE_PORTAL_EV_JOINED)
            *r->last_init = *ev.msg;
        else if (ev.kind == FLOE_PORTAL_EV_MESSAGE)
            *r->last_msg = *ev.msg;
        r->n_ev++;
    }
}

/* Move bytes both ways until nothing moves; then collect the client's events. */
static void rig_pump(struct rig *r)
{
    static uint8_t buf[65536];
    for (int round = 0; round < 1000; round++) {
        bool moved = false;
        long n;
        while ((n = floe_portal_client_poll_transmit(r->pc, r->now, buf, sizeof(buf))) > 0) {
            moved = true;
            if (r->srv)
                floe_wsconn_handle_input(r->srv, r->now, buf, (size_t)n);
        }
        struct floe_wsconn_event wev;
        struct floe_span text;
        while (r->srv && floe_wsconn_poll_event(r->srv, &wev) == 1)
            srv_on_event(r, &wev);
        while (r->srv && floe_wsconn_poll_message(r->srv, &text) == 1)
            srv_on_message(r, text);
        while (r->srv && floe_wsconn_want_write(r->srv) &&
               (n = floe_wsconn_poll_transmit(r->srv, r->now, buf, sizeof(buf))) > 0) {
            moved = true;
            if (floe_portal_client_get_state(r->pc) == FLOE_PORTAL_CLIENT_CONNECTING ||
                floe_portal_client_get_state(r->pc) == FLOE_PORTAL_CLIENT_JOINING ||
                floe_portal_client_get_state(r->pc) == FLOE_PORTAL_CLIENT_JOINED)
                floe_portal_client_handle_input(r->pc, r->now, buf, (size_t)n);
        }
        rig_collect(r);
        if (!moved)
            return;
    }
    abort();
}

/* A new TCP connection: a fresh server connection and the client's connect. */
static int rig_connect(struct rig *r)
{
    struct floe_wsconn_config cfg;
    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.tls = r->tls;
    cfg.cert_file = g_pki.cert;
    cfg.key_file = g_pki.key;
    cfg.rng = floe_xoshiro_rng(&r->srv_x);
    floe_wsconn_free(r->srv);
    r->srv = NULL;
    if (floe_wsconn_new(&r->srv, &cfg) != 0 || floe_wsconn_start(r->srv, r->now) != 0)
        abort();
    int rc = floe_portal_client_connect(r->pc, r->now);
    rig_pump(r);
    return rc;
}

/* The TCP connection dropped under both sides. */
static void rig_drop_tcp(struct rig *r)
{
    floe_wsconn_free(r->srv);
    r->srv = NULL;
    CHECK_EQ(floe_portal_client_disconnected(r->pc, r->now), 0);
    rig_pump(r);
}

/* Advance virtual time to t, firing the client's timer on the way. */
static void rig_advance(struct rig *r, floe_time t)
{
    while (r->now < t) {
        floe_time due = floe_portal_client_poll_timeout(r->pc);
        if (r->srv)
            due = floe_time_min(due, floe_wsconn_poll_timeout(r->srv));
        r->now = due < t ? (due > r->now ? due : r->now) : t;
        floe_portal_client_handle_timeout(r->pc, r->now);
        if (r->srv)
            floe_wsconn_handle_timeout(r->srv, r->now);
        rig_pump(r);
        if (due >= t)
            r->now = t;
    }
}

static size_t count_ev(const struct rig *r, enum floe_portal_client_event_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_ev; i++)
        n += r->ev[i].kind == kind;
    return n;
}

static const struct floe_portal_client_event *last_ev(const struct rig *r,
                                                      enum floe_portal_client_event_kind kind)
{
    for (size_t i = r->n_ev; i-- > 0;) {
        if (r->ev[i].kind == kind)
            return &r->ev[i];
    }
    return NULL;
}

static void test_join_and_init(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_IDLE);
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    CHECK_EQ(r.joins, 1);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_JOINED), 1);
    CHECK_EQ(r.last_init->type, FLOE_PORTAL_MSG_INIT);
    CHECK_EQ(r.last_init->u.init.n_resources, 1);
    CHECK_STR(r.last_init->u.init.resources[0].id, "res-db");
    CHECK_EQ(r.last_init->u.init.resources[0].address.prefix, 16);
    CHECK_EQ(r.last_init->u.init.n_relays, 1);
    CHECK_EQ(r.last_init->u.init.relays[0].addr.port, 3478);
    CHECK_EQ(r.last_init->u.init.interface.ipv4.family, FLOE_AF_INET);
    /* Connecting again while connected is refused. */
    CHECK_EQ(floe_portal_client_connect(r.pc, r.now), FLOE_ERR_STATE);
    rig_free(&r);
}

static void test_heartbeats_and_missed_reconnect(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    floe_time joined_at = r.now;
    CHECK_EQ(floe_portal_client_poll_timeout(r.pc), joined_at + FLOE_SEC(10));
    /* Five answered heartbeats: nothing happens. */
    rig_advance(&r, joined_at + FLOE_SEC(55));
    CHECK_EQ(r.heartbeats, 5);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_DISCONNECTED), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    /* The portal stops answering: heartbeats at 60, 70, 80 s; the one due at 90 s finds three
     * unanswered: the connection is given up. */
    r.script.mute_heartbeats = true;
    rig_advance(&r, joined_at + FLOE_SEC(85));
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_DISCONNECTED), 0);
    rig_advance(&r, joined_at + FLOE_SEC(95));
    CHECK_EQ(r.heartbeats, 8);
    const struct floe_portal_client_event *d = last_ev(&r, FLOE_PORTAL_EV_DISCONNECTED);
    REQUIRE(d != NULL);
    CHECK_EQ(d->err, FLOE_ERR_TIMEOUT);
    CHECK(strstr(d->reason, "3 missed") != NULL);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_WAITING);
    const struct floe_portal_client_event *at = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT);
    REQUIRE(at != NULL);
    CHECK_EQ(at->attempt, 1);
    floe_time lost_at = joined_at + FLOE_SEC(90);
    CHECK(at->at >= lost_at + FLOE_MS(500) && at->at <= lost_at + FLOE_SEC(1));
    struct floe_portal_client_stats st;
    floe_portal_client_get_stats(r.pc, &st);
    CHECK_EQ(st.heartbeats_missed, 3);
    /* The client said goodbye with a close frame (1001) before the program closes TCP. */
    CHECK_EQ(r.srv_close_code, FLOE_WS_CLOSE_GOING_AWAY);
    /* Nothing is due while waiting: the program owns the reconnect timer. */
    CHECK_EQ(floe_portal_client_poll_timeout(r.pc), FLOE_TIME_NEVER);
    /* Reconnect at the announced time: joined again, a new init. */
    r.script.mute_heartbeats = false;
    rig_advance(&r, at->at);
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_JOINED), 2);
    rig_free(&r);
}

/* A join that is never answered ends like missed heartbeats; a refused one at once. */
static void test_join_unanswered_or_refused(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_GATEWAY);
    r.script.mute_join = true;
    CHECK_EQ(rig_connect(&r), 0);
    floe_time start = r.now;
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINING);
    rig_advance(&r, start + FLOE_SEC(25));
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_DISCONNECTED), 0);
    rig_advance(&r, start + FLOE_SEC(31));
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_DISCONNECTED), 1);
    CHECK_EQ(last_ev(&r, FLOE_PORTAL_EV_DISCONNECTED)->err, FLOE_ERR_TIMEOUT);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_JOINED), 0);

    r.script.mute_join = false;
    r.script.join_error = "unmatched_topic";
    r.now = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT)->at;
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_DISCONNECTED), 2);
    CHECK(strstr(last_ev(&r, FLOE_PORTAL_EV_DISCONNECTED)->reason, "unmatched_topic") != NULL);
    CHECK_EQ(last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT)->attempt, 2);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_WAITING);
    rig_free(&r);
}

static void test_backoff_sequence(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    floe_time prev_cap = 0;
    for (uint32_t attempt = 1; attempt <= 12; attempt++) {
        r.now += FLOE_SEC(1);
        floe_time lost_at = r.now;
        rig_drop_tcp(&r);
        const struct floe_portal_client_event *at = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT);
        REQUIRE(at != NULL);
        CHECK_EQ(at->attempt, attempt);
        floe_time cap = FLOE_SEC(1) << (attempt - 1);
        if (cap > FLOE_SEC(60))
            cap = FLOE_SEC(60);
        floe_time delay = at->at - lost_at;
        if (delay < cap / 2 || delay > cap)
            fprintf(stderr, "  attempt %u: delay %llu ms, cap %llu ms\n", (unsigned)attempt,
                    (unsigned long long)(delay / 1000000), (unsigned long long)(cap / 1000000));
        CHECK(delay >= cap / 2 && delay <= cap);
        CHECK(delay <= FLOE_SEC(60));
        CHECK(cap >= prev_cap);
        prev_cap = cap;
        /* The next attempt fails before the WebSocket opens: the TCP connection drops. */
        r.now = at->at;
        CHECK_EQ(floe_portal_client_connect(r.pc, r.now), 0);
    }
    /* A successful join resets the sequence. */
    floe_wsconn_free(r.srv);
    r.srv = NULL;
    CHECK_EQ(floe_portal_client_disconnected(r.pc, r.now), 0);
    rig_pump(&r);
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    floe_time lost_at = r.now;
    rig_drop_tcp(&r);
    const struct floe_portal_client_event *at = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT);
    CHECK_EQ(at->attempt, 1);
    CHECK(at->at - lost_at <= FLOE_SEC(1));
    rig_free(&r);
}

static void test_401_is_final(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    r.script.refuse_401 = true;
    CHECK_EQ(rig_connect(&r), 0);
    const struct floe_portal_client_event *f = last_ev(&r, FLOE_PORTAL_EV_FATAL);
    REQUIRE(f != NULL);
    CHECK_EQ(f->status, 401);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_FAILED);
    CHECK_EQ(floe_portal_client_connect(r.pc, r.now), FLOE_ERR_STATE);
    CHECK_EQ(floe_portal_client_request_authorization(r.pc, r.now, "res-db", NULL), FLOE_ERR_STATE);
    CHECK_EQ(floe_portal_client_poll_timeout(r.pc), FLOE_TIME_NEVER);
    rig_free(&r);

    /* A join answered "unauthorized" (token revoked after the upgrade) is final too. */
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    r.script.join_error = "unauthorized";
    CHECK_EQ(rig_connect(&r), 0);
    CHECK(last_ev(&r, FLOE_PORTAL_EV_FATAL) != NULL);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT), 0);
    rig_free(&r);
}

static const char *const C1 = "candidate:1 1 UDP 2130706431 192.168.1.20 51820 typ host";
static const char *const C2 = "candidate:2 1 UDP 1694498815 203.0.113.9 40001 typ srflx raddr "
                              "192.168.1.20 rport 51820";
static const char *const C3 = "candidate:3 1 UDP 16777215 198.51.100.7 50000 typ relay raddr "
                              "203.0.113.9 rport 40001";

/* Firezone #14300: candidates produced while the portal is unreachable must not be lost. */
static void test_candidates_held_while_disconnected(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    rig_drop_tcp(&r);
    REQUIRE(floe_portal_client_get_state(r.pc) == FLOE_PORTAL_CLIENT_WAITING);
    const char *gw1[] = {"gw-1"}, *gw2[] = {"gw-2"};
    const char *c12[] = {C1, C2}, *c23[] = {C2, C3}, *c1[] = {C1};
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c12, 2), 0);
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw2, 1, c1, 1), 0);
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c23, 2), 0);
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, true, gw2, 1, c1, 1), 0);
    CHECK_EQ(floe_portal_client_held(r.pc), 2); /* gw-1's merged; gw-2's new one cancelled */
    uint8_t buf[256];
    CHECK_EQ(floe_portal_client_poll_transmit(r.pc, r.now, buf, sizeof(buf)), 0);
    /* Requests that need an answer are not held. */
    CHECK_EQ(floe_portal_client_request_authorization(r.pc, r.now, "res-db", NULL), FLOE_ERR_STATE);

    r.now = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT)->at;
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    CHECK_EQ(floe_portal_client_held(r.pc), 0);
    REQUIRE(r.n_recv == 2);
    const struct floe_portal_msg *a = r.recv[0], *b = r.recv[1];
    CHECK_EQ(a->type, FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES);
    CHECK_STR(a->u.cands.ids[0], "gw-1");
    CHECK_EQ(a->u.cands.n_candidates, 3);
    CHECK_STR(a->u.cands.candidates[0], C1);
    CHECK_STR(a->u.cands.candidates[1], C2);
    CHECK_STR(a->u.cands.candidates[2], C3);
    CHECK_EQ(b->type, FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES);
    CHECK_STR(b->u.cands.ids[0], "gw-2");
    CHECK_EQ(b->u.cands.n_candidates, 1);
    struct floe_portal_client_stats st;
    floe_portal_client_get_stats(r.pc, &st);
    CHECK_EQ(st.held, 4);
    CHECK_EQ(st.held_merged, 1);
    CHECK_EQ(st.held_flushed, 2);

    /* Joined: sent at once. */
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw2, 1, c1, 1), 0);
    CHECK_EQ(floe_portal_client_held(r.pc), 0);
    rig_pump(&r);
    CHECK_EQ(r.n_recv, 3);
    rig_free(&r);
}

/* Invalidated, then announced again while disconnected: the peer gets the announcement only. */
static void test_held_order_never_reversed(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    const char *gw1[] = {"gw-1"}, *c1[] = {C1}, *c12[] = {C1, C2};
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c12, 2), 0);
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, true, gw1, 1, c12, 2), 0);
    CHECK_EQ(floe_portal_client_held(r.pc), 1); /* the invalidation only */
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c1, 1), 0);
    CHECK_EQ(floe_portal_client_held(r.pc), 2); /* invalidation of C2, then C1 again */
    CHECK_EQ(rig_connect(&r), 0);
    REQUIRE(r.n_recv == 2);
    CHECK_EQ(r.recv[0]->type, FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES);
    CHECK_EQ(r.recv[0]->u.cands.n_candidates, 1);
    CHECK_STR(r.recv[0]->u.cands.candidates[0], C2);
    CHECK_EQ(r.recv[1]->type, FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES);
    CHECK_EQ(r.recv[1]->u.cands.n_candidates, 1);
    CHECK_STR(r.recv[1]->u.cands.candidates[0], C1);
    rig_free(&r);
}

/*
 * Candidates written on a connection that dies before the portal read them (the client roamed
 * away from the socket's address, the portal's host vanished: TCP took the bytes, nobody got
 * them) are held again and sent after the next join; once a heartbeat's reply confirms them
 * they are not sent again.
 */
static void test_sent_on_dead_connection_held_again(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    const char *gw1[] = {"gw-1"}, *c1[] = {C1}, *c2[] = {C2}, *c3[] = {C3};
    floe_wsconn_free(r.srv); /* the connection is dead; the client does not know yet */
    r.srv = NULL;
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c1, 1), 0);
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, true, gw1, 1, c2, 1), 0);
    CHECK_EQ(floe_portal_client_held(r.pc), 0); /* joined: written at once */
    rig_pump(&r);                               /* into the void */
    CHECK_EQ(floe_portal_client_disconnected(r.pc, r.now), 0);
    rig_pump(&r);
    CHECK_EQ(floe_portal_client_held(r.pc), 2);
    r.now = last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT)->at;
    CHECK_EQ(rig_connect(&r), 0);
    REQUIRE(r.n_recv == 2);
    CHECK_EQ(r.recv[0]->type, FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES);
    CHECK_STR(r.recv[0]->u.cands.candidates[0], C1);
    CHECK_EQ(r.recv[1]->type, FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES);
    CHECK_STR(r.recv[1]->u.cands.candidates[0], C2);
    /* A heartbeat answered after C3: everything before it was read, nothing is sent again. */
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, gw1, 1, c3, 1), 0);
    rig_advance(&r, r.now + FLOE_PORTAL_HEARTBEAT_INTERVAL + FLOE_SEC(1));
    CHECK(r.heartbeats >= 1);
    rig_drop_tcp(&r);
    CHECK_EQ(floe_portal_client_held(r.pc), 0);
    struct floe_portal_client_stats st;
    floe_portal_client_get_stats(r.pc, &st);
    CHECK_EQ(st.held_resent, 2);
    CHECK_EQ(r.n_recv, 3);
    rig_free(&r);
}

/* The hold is bounded: the oldest held message goes and is counted. */
static void test_hold_bounded(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_GATEWAY);
    const char *c1[] = {C1};
    for (int i = 0; i < FLOE_PORTAL_HOLD_MAX + 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "dev-%d", i);
        const char *ids[] = {id};
        CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, ids, 1, c1, 1), 0);
    }
    CHECK_EQ(floe_portal_client_held(r.pc), FLOE_PORTAL_HOLD_MAX);
    struct floe_portal_client_stats st;
    floe_portal_client_get_stats(r.pc, &st);
    CHECK_EQ(st.drops[FLOE_PORTAL_DROP_HELD], 5);
    CHECK_EQ(rig_connect(&r), 0);
    REQUIRE(r.n_recv == RECV_MAX);
    CHECK_EQ(r.recv[0]->type, FLOE_PORTAL_MSG_BROADCAST_CANDIDATES);
    CHECK_STR(r.recv[0]->u.cands.ids[0], "dev-5"); /* dev-0..4 were the oldest */
    rig_free(&r);
}

static void test_malformed_messages_counted(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    size_t events = r.n_ev;
    srv_send_raw(&r, "not json");
    srv_send_raw(&r, "{\"topic\":\"client\",\"event\":\"init\",\"payload\":{},\"ref\":null}");
    srv_send_raw(&r, "{\"topic\":\"client\",\"event\":\"take_over\",\"payload\":{}}");
    srv_send_raw(&r, "{\"topic\":\"client\",\"event\":\"create_authorization\",\"payload\":{}}");
    srv_send_raw(&r, "{\"topic\":\"gateway\",\"event\":\"resource_deleted\",\"payload\":\"r\"}");
    srv_send_raw(&r, "{\"topic\":\"client\",\"event\":\"request_authorization\","
                     "\"payload\":{\"resource_id\":\"r\"}}");
    srv_send_raw(&r,
                 "{\"topic\":\"client\",\"event\":\"resource_deleted\",\"payload\":\"res-db\"}");
    rig_pump(&r);
    struct floe_portal_client_stats st;
    floe_portal_client_get_stats(r.pc, &st);
    CHECK_EQ(st.drops[FLOE_PORTAL_DROP_MALFORMED], 2);
    CHECK_EQ(st.drops[FLOE_PORTAL_DROP_UNKNOWN], 2);
    CHECK_EQ(st.drops[FLOE_PORTAL_DROP_UNEXPECTED], 2);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    CHECK_EQ(r.n_ev, events + 1);
    CHECK_EQ(r.ev[r.n_ev - 1].kind, FLOE_PORTAL_EV_MESSAGE);
    CHECK_EQ(r.last_msg->type, FLOE_PORTAL_MSG_RESOURCE_DELETED);
    CHECK_STR(r.last_msg->u.id, "res-db");
    rig_free(&r);
}

static void test_request_authorization_and_reply(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_CLIENT);
    CHECK_EQ(rig_connect(&r), 0);
    char ref[FLOE_PORTAL_REF_MAX];
    CHECK_EQ(floe_portal_client_request_authorization(r.pc, r.now, "res-db", ref), 0);
    rig_pump(&r);
    REQUIRE(r.n_recv == 1);
    CHECK_EQ(r.recv[0]->type, FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION);
    CHECK_STR(r.recv[0]->u.request.resource_id, "res-db");
    CHECK_STR(r.recv[0]->ref, ref);
    srv_reply(&r, r.recv[0], "forbidden");
    rig_pump(&r);
    CHECK_EQ(r.last_msg->type, FLOE_PORTAL_MSG_REPLY);
    CHECK_STR(r.last_msg->ref, ref);
    CHECK(!r.last_msg->u.reply.ok);
    /* A type the client role does not send. */
    CHECK_EQ(floe_portal_client_authorization_created(r.pc, r.now, "auth-1"), FLOE_ERR_INVALID_ARG);
    /* phx_error: the channel failed, reconnect. */
    srv_send_raw(&r, "{\"topic\":\"client\",\"event\":\"phx_error\",\"payload\":{}}");
    rig_pump(&r);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_WAITING);
    CHECK(last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT) != NULL);
    rig_free(&r);
}

static void test_gateway_authorization_flow(void)
{
    struct rig r;
    rig_init(&r, FLOE_PORTAL_ROLE_GATEWAY);
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(r.last_init->topic, FLOE_PORTAL_TOPIC_GATEWAY);
    CHECK_EQ(r.last_init->u.init.n_resources, 0);
    struct floe_portal_msg *m = msg_new();
    m->type = FLOE_PORTAL_MSG_CREATE_AUTHORIZATION;
    m->topic = FLOE_PORTAL_TOPIC_GATEWAY;
    struct floe_portal_create_authorization *c = &m->u.create;
    strcpy(c->ref, "auth-4f1c");
    strcpy(c->resource.id, "res-db");
    strcpy(c->resource.name, "Database");
    floe_addr_parse_ip("10.20.0.0", &c->resource.address.addr);
    c->resource.address.prefix = 16;
    strcpy(c->client.id, "dev-42");
    memset(c->client.public_key, 7, FLOE_PORTAL_KEY_LEN);
    memset(c->client.preshared_key, 9, FLOE_PORTAL_KEY_LEN);
    floe_addr_parse_ip("100.64.0.5", &c->client.ipv4);
    floe_addr_parse_ip("fd00:2021:1111::5", &c->client.ipv6);
    strcpy(c->client_ice.username, "hgwh");
    strcpy(c->client_ice.password, "j2fqufatn7xlrrvv6fsvea");
    strcpy(c->gateway_ice.username, "ejqt");
    strcpy(c->gateway_ice.password, "zfjrrjdkbci42t2axyd45a");
    srv_send(&r, m);
    rig_pump(&r);
    CHECK_EQ(r.last_msg->type, FLOE_PORTAL_MSG_CREATE_AUTHORIZATION);
    CHECK_STR(r.last_msg->u.create.client.id, "dev-42");
    CHECK_EQ(r.last_msg->u.create.client.preshared_key[31], 9);
    CHECK_EQ(floe_portal_client_authorization_created(r.pc, r.now, r.last_msg->u.create.ref), 0);
    const char *ids[] = {"dev-42", "dev-43"}, *c1[] = {C1};
    CHECK_EQ(floe_portal_client_send_candidates(r.pc, r.now, false, ids, 2, c1, 1), 0);
    rig_pump(&r);
    REQUIRE(r.n_recv == 2);
    CHECK_EQ(r.recv[0]->type, FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED);
    CHECK_STR(r.recv[0]->u.authorized.ref, "auth-4f1c");
    CHECK_EQ(r.recv[1]->type, FLOE_PORTAL_MSG_BROADCAST_CANDIDATES);
    CHECK_EQ(r.recv[1]->u.cands.n_ids, 2);
    /* A client's message type is refused for the gateway role. */
    CHECK_EQ(floe_portal_client_request_authorization(r.pc, r.now, "res-db", NULL),
             FLOE_ERR_INVALID_ARG);
    free(m);
    rig_free(&r);
}

/* TLS: the client verifies the portal's certificate and name; a refusal is not final. */
static void test_tls_verified(void)
{
    struct rig r;
    rig_init_tls(&r, FLOE_PORTAL_ROLE_CLIENT, g_pki.ca, NULL);
    CHECK_EQ(rig_connect(&r), 0);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_JOINED);
    CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_JOINED), 1);
    rig_free(&r);

    /* A CA file that cannot be loaded: connect says so, nothing starts. */
    rig_init_tls(&r, FLOE_PORTAL_ROLE_CLIENT, "/nonexistent/ca.pem", NULL);
    CHECK_EQ(floe_portal_client_connect(r.pc, r.now), FLOE_ERR_CRYPTO);
    CHECK_EQ(floe_portal_client_get_state(r.pc), FLOE_PORTAL_CLIENT_IDLE);
    uint8_t buf[64];
    CHECK_EQ(floe_portal_client_poll_transmit(r.pc, r.now, buf, sizeof(buf)), 0);
    rig_free(&r);

    const char *wrong[][2] = {{g_pki.ca, "other.test"}, {g_pki.ca2, NULL}};
    for (int i = 0; i < 2; i++) {
        rig_init_tls(&r, FLOE_PORTAL_ROLE_CLIENT, wrong[i][0], wrong[i][1]);
        CHECK_EQ(rig_connect(&r), 0);
        const struct floe_portal_client_event *d = last_ev(&r, FLOE_PORTAL_EV_DISCONNECTED);
        REQUIRE(d != NULL);
        if (!strstr(d->reason, "certificate"))
            fprintf(stderr, "  reason: %s\n", d->reason);
        CHECK(strstr(d->reason, "certificate") != NULL);
        CHECK_EQ(d->err, FLOE_ERR_CRYPTO);
        CHECK_EQ(r.joins, 0);
        CHECK_EQ(count_ev(&r, FLOE_PORTAL_EV_FATAL), 0);
        CHECK(last_ev(&r, FLOE_PORTAL_EV_RECONNECT_AT) != NULL);
        rig_free(&r);
    }
}

static void test_config_checked(void)
{
    struct floe_portal_client_config cfg;
    struct floe_portal_client *pc = NULL;
    struct floe_xoshiro x;
    floe_xoshiro_seed(&x, 1);
    floe_portal_client_config_default(&cfg);
    CHECK_EQ(cfg.heartbeat_interval, FLOE_SEC(10));
    CHECK_EQ(cfg.heartbeat_misses, 3);
    CHECK_EQ(cfg.backoff_max, FLOE_SEC(60));
    CHECK_EQ(floe_portal_client_new(&pc, &cfg), FLOE_ERR_INVALID_ARG); /* no rng, role, ... */
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.role = FLOE_PORTAL_ROLE_CLIENT;
    cfg.host = "portal.test";
    CHECK_EQ(floe_portal_client_new(&pc, &cfg), FLOE_ERR_INVALID_ARG); /* no token */
    cfg.token = "t";
    cfg.backoff_max = FLOE_MS(10); /* under backoff_initial */
    CHECK_EQ(floe_portal_client_new(&pc, &cfg), FLOE_ERR_INVALID_ARG);
    cfg.backoff_max = FLOE_SEC(60);
    CHECK_EQ(floe_portal_client_new(&pc, &cfg), 0);
    CHECK_EQ(floe_portal_client_disconnected(pc, 0), FLOE_ERR_STATE);
    CHECK_EQ(floe_portal_client_handle_input(pc, 0, (const uint8_t *)"x", 1), FLOE_ERR_STATE);
    floe_portal_client_free(pc);
    floe_portal_client_free(NULL);
}

/* Every allocation failing in turn: errors, no crash, no leak (ASan). */
static void test_failmalloc(void)
{
    long completed = -1;
    for (long fail_at = 0; fail_at < 400 && completed < 0; fail_at++) {
        struct floe_test_failmalloc fm = {fail_at, 0, 0};
        struct floe_portal_client_config cfg;
        struct floe_xoshiro x;
        floe_xoshiro_seed(&x, 3);
        floe_portal_client_config_default(&cfg);
        cfg.alloc.malloc_fn = floe_test_failmalloc_malloc;
        cfg.alloc.realloc_fn = floe_test_failmalloc_realloc;
        cfg.alloc.free_fn = floe_test_failmalloc_free;
        cfg.alloc.user = &fm;
        cfg.rng = floe_xoshiro_rng(&x);
        cfg.role = FLOE_PORTAL_ROLE_CLIENT;
        cfg.host = "portal.test";
        cfg.token = "t";
        cfg.tls = false;
        struct floe_portal_client *pc = NULL;
        int rc = floe_portal_client_new(&pc, &cfg);
        if (rc == 0) {
            const char *ids[] = {"gw-1"}, *c1[] = {C1};
            rc = floe_portal_client_send_candidates(pc, 0, false, ids, 1, c1, 1);
            if (rc == 0)
                rc = floe_portal_client_connect(pc, 0);
            uint8_t buf[4096];
            while (rc == 0 && floe_portal_client_poll_transmit(pc, 0, buf, sizeof(buf)) > 0)
                ;
            if (rc == 0)
                rc = floe_portal_client_disconnected(pc, 1);
        }
        CHECK(rc == 0 || rc == FLOE_ERR_NOMEM);
        floe_portal_client_free(pc);
        if (fm.failed == 0)
            completed = fail_at;
    }
    CHECK(completed > 0);
}

int main(void)
{
    if (pki_make(&g_pki) != 0) {
        fprintf(stderr, "cannot make the test certificates\n");
        return 1;
    }
    FLOE_RUN(test_join_and_init);
    FLOE_RUN(test_heartbeats_and_missed_reconnect);
    FLOE_RUN(test_join_unanswered_or_refused);
    FLOE_RUN(test_backoff_sequence);
    FLOE_RUN(test_401_is_final);
    FLOE_RUN(test_candidates_held_while_disconnected);
    FLOE_RUN(test_held_order_never_reversed);
    FLOE_RUN(test_sent_on_dead_connection_held_again);
    FLOE_RUN(test_hold_bounded);
    FLOE_RUN(test_malformed_messages_counted);
    FLOE_RUN(test_request_authorization_and_reply);
    FLOE_RUN(test_gateway_authorization_flow);
    FLOE_RUN(test_config_checked);
    FLOE_RUN(test_tls_verified);
    FLOE_RUN(test_failmalloc);
    pki_remove(&g_pki);
    return floe_test_summary();
}
