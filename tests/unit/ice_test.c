/*
 * ICE agent tests. Two agents talk over a tiny in-test "wire" in virtual time:
 * datagrams are delivered after a fixed latency to whichever agent owns the
 * destination address, optionally through a NAT mapping, a relay or drop rules.
 */
#include "floe/ice.h"
#include "floe/stun.h"
#include "test.h"

#define WIRE_QCAP 1024
#define WIRE_LOG 1024
#define WIRE_ROUTES 32

struct wire_pkt {
    floe_time at;
    int dst;
    struct floe_ice_path path;
    struct floe_addr from;
    uint8_t buf[600];
    size_t len;
};

/* A datagram sent to addr is delivered to agent over path. */
struct wire_route {
    struct floe_addr addr;
    int agent;
    struct floe_ice_path path;
};

/* Datagrams agent sends directly from inside appear to come from outside. */
struct wire_nat {
    int agent;
    struct floe_addr inside;
    struct floe_addr outside;
};

struct wire_rec {
    floe_time at;
    struct floe_ice_event ev;
};

struct wire {
    struct floe_ice_agent *ag[2];
    struct floe_xoshiro rng[2];
    struct floe_xoshiro loss_rng;
    floe_time now;
    floe_time latency;
    uint32_t loss_permille;
    bool down;
    bool block_direct; /* drop datagrams that neither leave nor reach an agent through a relay */
    bool forge_to[2];  /* re-sign success responses to this agent with a wrong key */
    struct wire_pkt q[WIRE_QCAP];
    size_t nq;
    struct wire_route routes[WIRE_ROUTES];
    size_t nroutes;
    struct wire_nat nats[4];
    size_t nnats;
    struct wire_rec log[2][WIRE_LOG];
    size_t nlog[2];
    floe_time last_success_rx[2]; /* last STUN success response delivered */
    floe_time first_tx[2][64];    /* first send time of each new request txid */
    uint8_t seen_txid[2][64][FLOE_STUN_TXID_LEN];
    size_t ntx[2];
    bool loop_bug;
};

static struct wire W;

static void wire_reset(void)
{
    int i;

    for (i = 0; i < 2; i++)
        floe_ice_free(W.ag[i]);
    memset(&W, 0, sizeof(W));
    W.latency = FLOE_MS(10);
    floe_xoshiro_seed(&W.loss_rng, 99);
}

static void cfg_base(struct floe_ice_config *cfg, int idx, enum floe_ice_role role)
{
    floe_ice_config_default(cfg);
    floe_xoshiro_seed(&W.rng[idx], 1000u + (uint64_t)idx);
    cfg->rng = floe_xoshiro_rng(&W.rng[idx]);
    cfg->role = role;
}

static void wire_add_agent(int idx, const struct floe_ice_config *cfg)
{
    int rc = floe_ice_new(&W.ag[idx], cfg, W.now);

    CHECK_EQ(rc, 0);
}

static void wire_creds(void)
{
    const char *u, *p;

    floe_ice_get_local_credentials(W.ag[0], &u, &p);
    CHECK_EQ(floe_ice_set_remote_credentials(W.ag[1], W.now, u, p), 0);
    floe_ice_get_local_credentials(W.ag[1], &u, &p);
    CHECK_EQ(floe_ice_set_remote_credentials(W.ag[0], W.now, u, p), 0);
}

static void wire_route(const struct floe_addr *addr, int agent, const struct floe_ice_path *path)
{
    struct wire_route *r = &W.routes[W.nroutes++];

    r->addr = *addr;
    r->agent = agent;
    r->path = *path;
}

static struct floe_ice_candidate host(uint8_t d, uint16_t port, uint16_t pref)
{
    struct floe_ice_candidate c;

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_HOST;
    c.addr = floe_addr_v4(10, 0, 0, d, port);
    c.local_pref = pref;
    return c;
}

/* A reachable host candidate: routed to agent and known to it as local. */
static struct floe_ice_candidate wire_host(int agent, uint8_t d, uint16_t port, uint16_t pref)
{
    struct floe_ice_candidate c = host(d, port, pref);
    struct floe_ice_path p = {.local = c.addr};

    wire_route(&c.addr, agent, &p);
    return c;
}

/* A relayed candidate of agent (198.51.100.9:50000 on relay 198.51.100.9:3478), routed. */
static struct floe_ice_candidate wire_relay(int agent)
{
    struct floe_ice_candidate c;
    struct floe_ice_path p = {.via_relay = true, .relay = floe_addr_v4(198, 51, 100, 9, 3478)};

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_RELAY;
    c.addr = floe_addr_v4(198, 51, 100, 9, 50000);
    c.server = p.relay;
    p.local = c.addr;
    wire_route(&c.addr, agent, &p);
    return c;
}

static void wire_record_tx(int from, const struct floe_ice_transmit *tx, const uint8_t *buf)
{
    struct floe_stun_msg m;
    size_t i;

    if (floe_stun_decode(&m, buf, tx->len) != 0 || m.cls != FLOE_STUN_REQUEST)
        return;
    for (i = 0; i < W.ntx[from]; i++) {
        if (memcmp(W.seen_txid[from][i], m.txid, FLOE_STUN_TXID_LEN) == 0)
            return;
    }
    if (W.ntx[from] == 64)
        return;
    memcpy(W.seen_txid[from][W.ntx[from]], m.txid, FLOE_STUN_TXID_LEN);
    W.first_tx[from][W.ntx[from]++] = W.now;
}

static struct floe_addr wire_source(int from, const struct floe_ice_transmit *tx)
{
    size_t i;

    for (i = 0; i < W.nnats && !tx->path.via_relay; i++) {
        if (W.nats[i].agent == from && floe_addr_eq(&W.nats[i].inside, &tx->path.local))
            return W.nats[i].outside;
    }
    return tx->path.local;
}

static bool wire_lost(void)
{
    if (W.down)
        return true;
    return W.loss_permille && floe_xoshiro_next(&W.loss_rng) % 1000 < W.loss_permille;
}

static void wire_send(int from, const struct floe_ice_transmit *tx, const uint8_t *buf)
{
    size_t i;

    wire_record_tx(from, tx, buf);
    if (wire_lost() || W.nq == WIRE_QCAP)
        return;
    for (i = 0; i < W.nroutes; i++) {
        struct wire_pkt *p = &W.q[W.nq];

        if (!floe_addr_eq(&W.routes[i].addr, &tx->remote) || W.routes[i].agent == from)
            continue;
        if (W.block_direct && !tx->path.via_relay && !W.routes[i].path.via_relay)
            return;
        p->at = W.now + W.latency;
        p->dst = W.routes[i].agent;
        p->path = W.routes[i].path;
        p->from = wire_source(from, tx);
        memcpy(p->buf, buf, tx->len);
        p->len = tx->len;
        W.nq++;
        return;
    }
}

static void wire_drain(int i)
{
    uint8_t buf[600];
    struct floe_ice_transmit tx;
    struct floe_ice_event ev;

    while (floe_ice_poll_transmit(W.ag[i], W.now, buf, sizeof(buf), &tx) == 1)
        wire_send(i, &tx, buf);
    while (floe_ice_poll_event(W.ag[i], &ev) == 1) {
        if (W.nlog[i] < WIRE_LOG) {
            W.log[i][W.nlog[i]].at = W.now;
            W.log[i][W.nlog[i]++].ev = ev;
        }
    }
}

/* Replace a success response by a well-formed one signed with the wrong password. */
static void wire_forge(struct wire_pkt *p, const struct floe_stun_msg *m)
{
    struct floe_stun_builder b;
    struct floe_addr mapped;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    long n;

    memcpy(txid, m->txid, sizeof(txid));
    CHECK_EQ(floe_stun_get_xor_addr(m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    floe_stun_build_init(&b, p->buf, sizeof(p->buf), FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    floe_stun_add_integrity_key(&b, (const uint8_t *)"not-the-password", 16);
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    CHECK(n > 0);
    p->len = n > 0 ? (size_t)n : 0;
}

static void wire_deliver(size_t k)
{
    struct wire_pkt p = W.q[k];
    struct floe_stun_msg m;

    W.q[k] = W.q[--W.nq];
    if (floe_stun_decode(&m, p.buf, p.len) == 0 && m.cls == FLOE_STUN_SUCCESS) {
        if (W.forge_to[p.dst])
            wire_forge(&p, &m);
        else
            W.last_success_rx[p.dst] = W.now;
    }
    floe_ice_handle_input(W.ag[p.dst], W.now, &p.path, &p.from, p.buf, p.len);
    wire_drain(p.dst);
}

static floe_time wire_next(void)
{
    floe_time t = FLOE_TIME_NEVER;
    size_t k;
    int i;

    for (k = 0; k < W.nq; k++)
        t = floe_time_min(t, W.q[k].at);
    for (i = 0; i < 2; i++) {
        if (W.ag[i])
            t = floe_time_min(t, floe_ice_poll_timeout(W.ag[i]));
    }
    return t;
}

/* One step: deliver what is due and fire due timers. */
static void wire_step(void)
{
    size_t k = 0;
    int i;

    while (k < W.nq) {
        if (W.q[k].at <= W.now)
            wire_deliver(k);
        else
            k++;
    }
    for (i = 0; i < 2; i++) {
        if (W.ag[i] && floe_ice_poll_timeout(W.ag[i]) <= W.now) {
            floe_ice_handle_timeout(W.ag[i], W.now);
            wire_drain(i);
        }
    }
}

/* Drain, then deliver and fire the next due things at or before until; false if none. */
static bool wire_advance(floe_time until, unsigned *same)
{
    floe_time t;

    if (W.ag[0])
        wire_drain(0);
    if (W.ag[1])
        wire_drain(1);
    t = wire_next();
    if (t > until || W.loop_bug)
        return false;
    *same = t <= W.now ? *same + 1 : 0;
    W.loop_bug = *same > 10000;
    if (t > W.now)
        W.now = t;
    wire_step();
    return true;
}

static void wire_run(floe_time until)
{
    unsigned same = 0;

    while (wire_advance(until, &same))
        ;
    CHECK(!W.loop_bug);
    if (W.now < until)
        W.now = until;
}

/* Run until agent i reaches state st (or until); returns true if it did. */
static bool wire_run_until_state(int i, enum floe_ice_state st, floe_time until)
{
    unsigned same = 0;

    while (floe_ice_get_state(W.ag[i]) != st && wire_advance(until, &same))
        ;
    CHECK(!W.loop_bug);
    if (floe_ice_get_state(W.ag[i]) == st)
        return true;
    if (W.now < until)
        W.now = until;
    return false;
}

static size_t wire_count_state(int i, enum floe_ice_state st)
{
    size_t k, n = 0;

    for (k = 0; k < W.nlog[i]; k++) {
        if (W.log[i][k].ev.type == FLOE_ICE_EV_STATE && W.log[i][k].ev.u.state.to == st)
            n++;
    }
    return n;
}

static floe_time wire_state_time(int i, enum floe_ice_state st)
{
    size_t k;

    for (k = 0; k < W.nlog[i]; k++) {
        if (W.log[i][k].ev.type == FLOE_ICE_EV_STATE && W.log[i][k].ev.u.state.to == st)
            return W.log[i][k].at;
    }
    return FLOE_TIME_NEVER;
}

static const struct floe_ice_event *wire_find_event(int i, enum floe_ice_event_type type)
{
    size_t k;

    for (k = 0; k < W.nlog[i]; k++) {
        if (W.log[i][k].ev.type == type)
            return &W.log[i][k].ev;
    }
    return NULL;
}

/* Two agents, one host candidate each, exchanged; returns after both connected. */
static void wire_pair_setup(enum floe_ice_role r0, enum floe_ice_role r1)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate h0, h1;

    wire_reset();
    cfg_base(&c0, 0, r0);
    cfg_base(&c1, 1, r1);
    c0.tie_breaker = 200;
    c1.tie_breaker = 100;
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    h0 = wire_host(0, 1, 5000, 0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
}

static void check_connected_pair(void)
{
    struct floe_ice_pair_info p0, p1;

    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &p0) == 0);
    REQUIRE(floe_ice_get_selected_pair(W.ag[1], &p1) == 0);
    CHECK(floe_addr_eq(&p0.local.addr, &p1.remote.addr));
    CHECK(floe_addr_eq(&p1.local.addr, &p0.remote.addr));
    CHECK(p0.nominated);
    CHECK(p1.nominated);
    CHECK(!p0.path.via_relay);
}

/* ------------------------------------------------------------------ tests */

static void test_priority_and_foundation(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate c[5], out[8];
    size_t n;

    CHECK_EQ(floe_ice_candidate_priority(FLOE_ICE_HOST, 65535, 1), 2130706431u);
    CHECK_EQ(floe_ice_candidate_priority(FLOE_ICE_PRFLX, 65535, 1), 1862270975u);
    CHECK_EQ(floe_ice_candidate_priority(FLOE_ICE_SRFLX, 65535, 1), 1694498815u);
    CHECK_EQ(floe_ice_candidate_priority(FLOE_ICE_RELAY, 65535, 1), 16777215u);
    CHECK_EQ(floe_ice_candidate_priority(FLOE_ICE_HOST, 65535, 2), 2130706430u);
    CHECK(floe_ice_pair_priority(2130706431u, 1694498815u) == 7277816997797167103ull);
    CHECK(floe_ice_pair_priority(1694498815u, 2130706431u) == 7277816997797167102ull);
    CHECK(floe_ice_pair_priority(5, 5) == (5ull << 32) + 10);

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    wire_add_agent(0, &cfg);
    c[0] = host(1, 1000, 0);
    c[1] = host(1, 2000, 0);
    c[2] = host(2, 1000, 100);
    memset(&c[3], 0, sizeof(c[3]));
    c[3].type = FLOE_ICE_SRFLX;
    c[3].addr = floe_addr_v4(203, 0, 113, 1, 1000);
    c[3].base = c[0].addr;
    c[3].server = floe_addr_v4(198, 51, 100, 1, 3478);
    c[4] = c[3];
    c[4].addr.port = 1001;
    c[4].server = floe_addr_v4(198, 51, 100, 2, 3478);
    for (n = 0; n < 5; n++)
        CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &c[n]), 0);
    REQUIRE(floe_ice_get_local_candidates(W.ag[0], out, 8) == 5);
    CHECK_STR(out[0].foundation, out[1].foundation);
    CHECK(strcmp(out[0].foundation, out[2].foundation) != 0);
    CHECK(strcmp(out[0].foundation, out[3].foundation) != 0);
    CHECK(strcmp(out[3].foundation, out[4].foundation) != 0);
    CHECK_EQ(out[0].priority, 2130706431u);
    CHECK_EQ(out[2].priority, (126u << 24) | (100u << 8) | 255u);
    CHECK_EQ(out[3].priority, 1694498815u);
}

static void connect_roles(enum floe_ice_role r0, enum floe_ice_role r1)
{
    struct floe_ice_stats s0, s1;

    wire_pair_setup(r0, r1);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(W.now < FLOE_MS(200));
    check_connected_pair();
    CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 0);
    CHECK_EQ(wire_count_state(1, FLOE_ICE_DISCONNECTED), 0);
    CHECK_EQ(floe_ice_get_role(W.ag[0]), r0);
    CHECK_EQ(floe_ice_get_role(W.ag[1]), r1);
    CHECK(wire_find_event(0, FLOE_ICE_EV_SELECTED_PAIR) != NULL);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_CHECKING), 1);
    floe_ice_get_stats(W.ag[0], &s0);
    floe_ice_get_stats(W.ag[1], &s1);
    CHECK(s0.checks_sent >= 1 && s1.checks_sent >= 1);
    CHECK(s0.checks_received >= 1 && s1.checks_answered >= 1);
    CHECK_EQ(s0.n_pairs, 1);
    CHECK_EQ(s0.role_conflicts, 0);
    CHECK(s0.state_changes >= 2);
    CHECK_EQ(s0.selected_changes, 1);
    wire_run(W.now + FLOE_SEC(60));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
    floe_ice_get_stats(W.ag[0], &s0);
    CHECK(s0.consent_sent >= 9 && s0.consent_sent <= 16);
}

/* Local credentials from signalling: both agents use the given ones and connect with them. */
static void test_set_local_credentials(void)
{
    const char *u, *pw;
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate h0, h1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "port", "portalGivenPassword+00"), 0);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[1], W.now, "gw01", "portalGivenPassword+01"), 0);
    floe_ice_get_local_credentials(W.ag[0], &u, &pw);
    CHECK_STR(u, "port");
    CHECK_STR(pw, "portalGivenPassword+00");
    /* too short, not ice-chars, NULL */
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "abc", "portalGivenPassword+00"),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "abcd", "short"), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "ab:d", "portalGivenPassword+00"),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, NULL, "portalGivenPassword+00"),
             FLOE_ERR_INVALID_ARG);
    wire_creds();
    h0 = wire_host(0, 1, 5000, 0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    check_connected_pair();
    /* In use now: changing them would break the checks the peer verifies. */
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "port", "portalGivenPassword+00"), 0);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "other", "portalGivenPassword+09"),
             FLOE_ERR_STATE);
    /* After a restart they may be set again. */
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, true), 0);
    CHECK_EQ(floe_ice_set_local_credentials(W.ag[0], W.now, "other", "portalGivenPassword+09"), 0);
}

/* The idle profile slows consent on a running agent; the active profile speeds it up again. */
static void test_set_profile_retimes(void)
{
    struct floe_ice_stats s0;
    uint64_t before;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(W.now + FLOE_SEC(10));
    CHECK_EQ(floe_ice_set_profile(W.ag[0], W.now, FLOE_ICE_PROFILE_IDLE), 0);
    floe_ice_get_stats(W.ag[0], &s0);
    before = s0.consent_sent;
    wire_run(W.now + FLOE_SEC(120));
    floe_ice_get_stats(W.ag[0], &s0);
    /* 15 s +-20 %: 6..10 in 120 s (the client profile's 5 s would send 20..30) */
    CHECK(s0.consent_sent - before >= 6 && s0.consent_sent - before <= 10);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_set_profile(W.ag[0], W.now, FLOE_ICE_PROFILE_CLIENT), 0);
    before = s0.consent_sent;
    wire_run(W.now + FLOE_SEC(6) + FLOE_MS(100));
    floe_ice_get_stats(W.ag[0], &s0);
    CHECK(s0.consent_sent - before >= 1); /* woken: within 6 s, not up to 18 */
    CHECK_EQ(floe_ice_set_profile(W.ag[0], W.now, (enum floe_ice_profile)7), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_ice_set_profile(NULL, W.now, FLOE_ICE_PROFILE_IDLE), FLOE_ERR_INVALID_ARG);
}

static void test_connect_controlling_first(void)
{
    connect_roles(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
}

static void test_connect_controlled_first(void)
{
    connect_roles(FLOE_ICE_CONTROLLED, FLOE_ICE_CONTROLLING);
}

static void role_conflict(enum floe_ice_role both)
{
    struct floe_ice_stats s0, s1;

    wire_pair_setup(both, both);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    check_connected_pair();
    /* Agent 0 has the larger tie-breaker and ends up controlling. */
    CHECK_EQ(floe_ice_get_role(W.ag[0]), FLOE_ICE_CONTROLLING);
    CHECK_EQ(floe_ice_get_role(W.ag[1]), FLOE_ICE_CONTROLLED);
    floe_ice_get_stats(W.ag[0], &s0);
    floe_ice_get_stats(W.ag[1], &s1);
    CHECK(s0.role_conflicts + s1.role_conflicts >= 1);
    CHECK(wire_find_event(both == FLOE_ICE_CONTROLLING ? 1 : 0, FLOE_ICE_EV_ROLE) != NULL);
}

static void test_role_conflict_both_controlling(void)
{
    role_conflict(FLOE_ICE_CONTROLLING);
}

static void test_role_conflict_both_controlled(void)
{
    role_conflict(FLOE_ICE_CONTROLLED);
}

/* A fresh wire: agent 0 controlling, agent 1 controlled (base configs), credentials known. */
static void wire_two_agents(void)
{
    struct floe_ice_config c0, c1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
}

/* Agent 0 is behind a NAT; agent 1 only knows its private host address. */
static void test_peer_reflexive_discovery(void)
{
    struct floe_ice_candidate h0 = host(1, 5000, 0), h1;
    struct floe_addr outside = floe_addr_v4(203, 0, 113, 7, 40000);
    struct floe_ice_path p0 = {.local = h0.addr};
    const struct floe_ice_event *ev;
    struct floe_ice_pair_info sel;

    wire_two_agents();
    wire_route(&outside, 0, &p0);
    W.nats[W.nnats++] = (struct wire_nat){.agent = 0, .inside = h0.addr, .outside = outside};
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    ev = wire_find_event(1, FLOE_ICE_EV_REMOTE_PRFLX);
    REQUIRE(ev != NULL);
    CHECK(floe_addr_eq(&ev->u.candidate.addr, &outside));
    CHECK_EQ(ev->u.candidate.type, FLOE_ICE_PRFLX);
    ev = wire_find_event(0, FLOE_ICE_EV_LOCAL_PRFLX);
    REQUIRE(ev != NULL);
    CHECK(floe_addr_eq(&ev->u.candidate.addr, &outside));
    CHECK(floe_addr_eq(&ev->u.candidate.base, &h0.addr));
    REQUIRE(floe_ice_get_selected_pair(W.ag[1], &sel) == 0);
    CHECK(floe_addr_eq(&sel.remote.addr, &outside));
}

/*
 * Agent 0 has only a relayed candidate (relay R). Agent 1's host candidate is
 * never signalled: agent 0 learns it as peer-reflexive from checks arriving
 * over the relay, and its checks go out "via relay R to peer P".
 */
static void test_relay_and_prflx_over_relay(void)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate r0, h1;
    const struct floe_ice_event *ev;
    struct floe_ice_pair_info sel;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLED);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLING);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    r0 = wire_relay(0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &r0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &r0), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    ev = wire_find_event(0, FLOE_ICE_EV_REMOTE_PRFLX);
    REQUIRE(ev != NULL);
    CHECK(floe_addr_eq(&ev->u.candidate.addr, &h1.addr));
    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &sel) == 0);
    CHECK(sel.path.via_relay);
    CHECK(floe_addr_eq(&sel.path.relay, &r0.server));
    CHECK(floe_addr_eq(&sel.path.local, &r0.addr));
    CHECK_EQ(sel.local.type, FLOE_ICE_RELAY);
    CHECK(wire_find_event(0, FLOE_ICE_EV_LOCAL_PRFLX) == NULL);
}

/*
 * floe's re-selection rule: a relayed pair is selected first; a direct pair whose checks
 * succeed later is nominated by the controlling agent and both sides select it.
 */
static void test_relayed_then_direct_reselected(void)
{
    struct floe_ice_candidate r0, h0, h1;
    struct floe_ice_pair_info sel;
    struct floe_ice_stats st;
    int i;

    wire_two_agents();
    r0 = wire_relay(0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &r0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &r0), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(W.now + FLOE_SEC(1));
    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &sel) == 0);
    CHECK(sel.path.via_relay);
    /* The host candidate comes later: checked, nominated, selected by both. */
    h0 = wire_host(0, 1, 5000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    wire_run(W.now + FLOE_SEC(2));
    for (i = 0; i < 2; i++) {
        REQUIRE(floe_ice_get_selected_pair(W.ag[i], &sel) == 0);
        CHECK(!sel.path.via_relay);
        CHECK_EQ(sel.local.type, FLOE_ICE_HOST);
        CHECK(sel.nominated);
        floe_ice_get_stats(W.ag[i], &st);
        CHECK_EQ(st.selected_changes, 2);
        CHECK_EQ(floe_ice_get_state(W.ag[i]), FLOE_ICE_CONNECTED);
    }
    /* Direct now: nothing more to switch to. */
    wire_run(W.now + FLOE_SEC(30));
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.selected_changes, 2);
}

/* Agent 0 (controlling) has a relayed and a host candidate, agent 1 a host one; all known. */
static void recheck_setup(void)
{
    struct floe_ice_candidate r0, h0, h1;

    wire_two_agents();
    r0 = wire_relay(0);
    h0 = wire_host(0, 1, 5000, 0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &r0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &r0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
}

/* Whether agent i's selected pair goes through a relay (false: direct; none fails the test). */
static bool recheck_relayed(int i)
{
    struct floe_ice_pair_info sel;

    if (floe_ice_get_selected_pair(W.ag[i], &sel) != 0) {
        CHECK(!"a selected pair");
        return false;
    }
    return sel.local.type == FLOE_ICE_RELAY || sel.remote.type == FLOE_ICE_RELAY;
}

/* When agent i last selected a direct pair; NEVER if it did not. */
static floe_time recheck_direct_at(int i)
{
    floe_time t = FLOE_TIME_NEVER;
    size_t k;

    for (k = 0; k < W.nlog[i]; k++) {
        const struct floe_ice_event *ev = &W.log[i][k].ev;

        if (ev->type == FLOE_ICE_EV_SELECTED_PAIR && ev->u.selected.has_pair &&
            ev->u.selected.pair.local.type != FLOE_ICE_RELAY &&
            ev->u.selected.pair.remote.type != FLOE_ICE_RELAY)
            t = W.log[i][k].at;
    }
    return t;
}

/*
 * Re-checks (ice.h): direct UDP is blocked for the first 40 s, so the relayed pair is selected
 * and the direct pair's checks all fail. Once the block ends, the re-checks find the direct
 * pair within one re-check wait (at most 1.2 x recheck_interval_max) and both sides select it,
 * staying connected throughout; without re-checks the connection stayed relayed for good.
 */
static void test_recheck_failed_direct(void)
{
    struct floe_ice_pair_info pairs[4];
    struct floe_ice_stats st;
    floe_time open_at = FLOE_SEC(40), limit = open_at + FLOE_SEC(72) + FLOE_SEC(2);
    int i;

    recheck_setup();
    W.block_direct = true;
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(open_at);
    for (i = 0; i < 2; i++) {
        CHECK(recheck_relayed(i));
        REQUIRE(floe_ice_get_pairs(W.ag[i], pairs, 4) == 2);
        CHECK(pairs[0].local.type != FLOE_ICE_RELAY && pairs[0].remote.type != FLOE_ICE_RELAY);
        CHECK(pairs[0].state == FLOE_ICE_PAIR_FAILED ||
              pairs[0].state == FLOE_ICE_PAIR_IN_PROGRESS);
        floe_ice_get_stats(W.ag[i], &st);
        CHECK(st.rechecks >= 1); /* one round ran and failed while blocked */
        CHECK(st.pairs_failed >= 1);
    }
    W.block_direct = false;
    wire_run(limit);
    for (i = 0; i < 2; i++) {
        CHECK(!recheck_relayed(i));
        CHECK(recheck_direct_at(i) > open_at && recheck_direct_at(i) <= limit);
        CHECK_EQ(wire_count_state(i, FLOE_ICE_DISCONNECTED), 0);
        CHECK_EQ(floe_ice_get_state(W.ag[i]), FLOE_ICE_CONNECTED);
        floe_ice_get_stats(W.ag[i], &st);
        CHECK_EQ(st.selected_changes, 2);
    }
    /* Direct now: no re-check any more. */
    floe_ice_get_stats(W.ag[0], &st);
    wire_run(W.now + FLOE_SEC(300));
    {
        struct floe_ice_stats after;

        floe_ice_get_stats(W.ag[0], &after);
        CHECK_EQ(after.rechecks, st.rechecks);
        CHECK_EQ(after.checks_sent, st.checks_sent);
        CHECK_EQ(after.selected_changes, 2);
    }
}

/*
 * Re-checks are bounded: blocked for 10 minutes, each side re-checks its one direct pair about
 * once a minute once backed off (5, 10, 20, 40, then 60 s waits, 0.8..1.2 each), every
 * re-check at most recheck_sends sends; consent on the relayed pair is undisturbed.
 */
static void test_recheck_backoff_bounded(void)
{
    struct floe_ice_stats st;
    int i;

    recheck_setup();
    W.block_direct = true;
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(FLOE_SEC(600));
    for (i = 0; i < 2; i++) {
        floe_ice_get_stats(W.ag[i], &st);
        /* 75 s (about) to the first minute-long wait, then 525 s / (48..72 s). */
        CHECK(st.rechecks >= 7 && st.rechecks <= 15);
        CHECK(st.checks_retransmitted <= 11 + (st.rechecks + 1) * 4 + 1);
        CHECK(recheck_relayed(i));
        CHECK_EQ(st.selected_changes, 1);
        CHECK_EQ(wire_count_state(i, FLOE_ICE_DISCONNECTED), 0);
        CHECK_EQ(floe_ice_get_state(W.ag[i]), FLOE_ICE_CONNECTED);
    }
}

static void test_pair_limit_and_pruning(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate c, srflx;
    struct floe_ice_pair_info pairs[8];
    struct floe_ice_stats st;
    size_t n;
    int i;

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.max_pairs = 4;
    wire_add_agent(0, &cfg);
    for (i = 0; i < 3; i++) {
        c = host((uint8_t)(1 + i), 5000, (uint16_t)(1000 * (i + 1)));
        CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &c), 0);
        c = host((uint8_t)(100 + i), 6000, (uint16_t)(1000 * (i + 1)));
        CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), 0);
    }
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.n_pairs, 4);
    CHECK_EQ(st.pairs_dropped, 5);
    n = floe_ice_get_pairs(W.ag[0], pairs, 8);
    REQUIRE(n == 4);
    /* The four kept are the highest: local prefs (3,3), (3,2), (2,3), (2,2) in thousands. */
    for (i = 0; i < 4; i++)
        CHECK(pairs[i].local.local_pref >= 2000 && pairs[i].remote.local_pref >= 2000);
    CHECK(pairs[0].priority > pairs[1].priority && pairs[2].priority > pairs[3].priority);

    /* Pruning: a server-reflexive candidate with the same base forms no new pair. */
    memset(&srflx, 0, sizeof(srflx));
    srflx.type = FLOE_ICE_SRFLX;
    srflx.addr = floe_addr_v4(203, 0, 113, 1, 7000);
    srflx.base = host(3, 5000, 0).addr;
    srflx.server = floe_addr_v4(198, 51, 100, 1, 3478);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &srflx), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.n_pairs, 4);
    CHECK_EQ(st.pairs_pruned, 2);
    CHECK_EQ(st.pairs_dropped, 6);
    n = floe_ice_get_pairs(W.ag[0], pairs, 8);
    for (i = 0; i < (int)n; i++)
        CHECK_EQ(pairs[i].local.type, FLOE_ICE_HOST);
}

/* Agent 0 checks four unreachable remotes; new checks are Ta apart. */
static void ta_pacing(floe_time ta)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate c;
    int i;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    c0.ta = ta;
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    for (i = 0; i < 4; i++) {
        c = host((uint8_t)(100 + i), 6000, (uint16_t)(1000 * (i + 1)));
        CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), 0);
    }
    W.now = FLOE_MS(7);
    c = wire_host(0, 1, 5000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &c), 0);
    wire_run(FLOE_SEC(1));
    REQUIRE(W.ntx[0] == 4);
    for (i = 0; i < 4; i++)
        CHECK_EQ(W.first_tx[0][i], FLOE_MS(7) + (floe_time)i * ta);
}

static void test_ta_pacing(void)
{
    ta_pacing(FLOE_MS(50));
    ta_pacing(FLOE_MS(20));
    ta_pacing(0);
}

/*
 * THE ROAMING RACE (DESIGN.md section 1): the client (agent 0) gets the
 * gateway's candidates before any of its own; its local candidate arrives
 * `delay` later. Returns true if it connected.
 */
static bool roaming_race(floe_time delay, floe_time grace, floe_time cand_timeout)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate h0, h1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    floe_ice_config_profile(&c1, FLOE_ICE_PROFILE_GATEWAY);
    c0.disconnected_grace = grace;
    c0.candidate_timeout = cand_timeout;
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_end_of_local_candidates(W.ag[1], W.now), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_end_of_remote_candidates(W.ag[0], W.now), 0);
    wire_run(delay);
    h0 = wire_host(0, 1, 5000, 0);
    if (floe_ice_add_local_candidate(W.ag[0], W.now, &h0) == 0) {
        CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
        CHECK_EQ(floe_ice_end_of_local_candidates(W.ag[0], W.now), 0);
    }
    wire_run(delay + FLOE_SEC(5));
    return floe_ice_get_state(W.ag[0]) == FLOE_ICE_CONNECTED;
}

static void test_roaming_race(void)
{
    static const floe_time delays[] = {FLOE_MS(50), FLOE_MS(300), FLOE_MS(1000), FLOE_MS(1900)};
    size_t i;

    for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        /* floe: waits for its candidates, connects, never reports failed. */
        CHECK(roaming_race(delays[i], FLOE_SEC(2), FLOE_SEC(10)));
        CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
        CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 0);
        CHECK_EQ(wire_count_state(1, FLOE_ICE_FAILED), 0);
        /* Grace 0 alone: the candidate wait still protects the connection. */
        CHECK(roaming_race(delays[i], 0, FLOE_SEC(10)));
        CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
        /* The old agent: "no pairs" is disconnected, and with grace 0 that is a failure. */
        CHECK(!roaming_race(delays[i], 0, 0));
        CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 1);
        CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 1);
        CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), 0);
        /* The same old agent with the 2 s grace period survives (Firezone's fix). */
        CHECK(roaming_race(delays[i], FLOE_SEC(2), 0));
        CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
    }
}

/*
 * Without a candidate wait (candidate_timeout 0, the old agent of the roam
 * race), local candidates alone are no disconnection: the agent waits for the
 * peer; a remote candidate without a pair is one, and grace 0 fails it.
 */
static void test_no_wait_locals_first(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate l = host(1, 5000, 0), r = host(100, 6000, 0);

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.candidate_timeout = 0;
    cfg.disconnected_grace = 0;
    wire_add_agent(0, &cfg);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l), 0);
    wire_run(FLOE_SEC(5));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_NEW);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 0);
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, false), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    wire_run(FLOE_SEC(6));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_FAILED);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 1);
}

/* No pairs is no failure until the candidate timeout, then failed exactly then. */
static void test_candidate_timeout(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate c = host(100, 6000, 0);

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    wire_add_agent(0, &cfg);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), 0);
    wire_run(FLOE_SEC(9));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_NEW);
    CHECK_EQ(floe_ice_poll_timeout(W.ag[0]), FLOE_SEC(10));
    wire_run(FLOE_SEC(20));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_FAILED);
    CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), FLOE_SEC(10));
    CHECK_EQ(W.log[0][W.nlog[0] - 1].ev.u.state.reason, FLOE_ICE_REASON_NO_CANDIDATES);
}

/* All pairs fail, then new candidates send a disconnected agent back to checking. */
static void test_disconnected_not_terminal(void)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate dead = host(200, 9, 0), h0, h1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    c0.disconnected_grace = FLOE_SEC(30);
    c1.candidate_timeout = FLOE_SEC(60);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    h0 = wire_host(0, 1, 5000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_DISCONNECTED, FLOE_SEC(30)));
    /* Client profile: 250 ms doubling to 1.5 s, 12 sends, then one last RTO of 1.5 s. */
    CHECK_EQ(wire_state_time(0, FLOE_ICE_DISCONNECTED), FLOE_MS(15250));
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CHECKING);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
}

static void test_consent_loss_fails_after_grace(void)
{
    floe_time last, disc;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(FLOE_SEC(20));
    W.down = true;
    last = W.last_success_rx[0];
    CHECK(last > FLOE_SEC(10));
    CHECK(wire_run_until_state(0, FLOE_ICE_DISCONNECTED, FLOE_SEC(100)));
    disc = wire_state_time(0, FLOE_ICE_DISCONNECTED);
    CHECK_EQ(disc, last + FLOE_SEC(30));
    CHECK(wire_run_until_state(0, FLOE_ICE_FAILED, FLOE_SEC(100)));
    CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), disc + FLOE_SEC(2));
    CHECK_EQ(W.log[0][W.nlog[0] - 1].ev.u.state.reason, FLOE_ICE_REASON_GRACE_EXPIRED);
    CHECK_EQ(floe_ice_poll_timeout(W.ag[0]), FLOE_TIME_NEVER);
}

/* RFC 7675: only authenticated responses refresh consent. */
static void test_consent_needs_authenticated_responses(void)
{
    struct floe_ice_stats st;
    floe_time last;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(FLOE_SEC(10));
    W.forge_to[0] = true;
    last = W.last_success_rx[0];
    CHECK(wire_run_until_state(0, FLOE_ICE_DISCONNECTED, FLOE_SEC(100)));
    CHECK_EQ(wire_state_time(0, FLOE_ICE_DISCONNECTED), last + FLOE_SEC(30));
    floe_ice_get_stats(W.ag[0], &st);
    CHECK(st.dropped_unauthenticated >= 4);
    /* The peer still hears agent 0 and keeps its own consent. */
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
}

static void test_consent_recovers_within_grace(void)
{
    struct floe_ice_stats st;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    W.down = true;
    CHECK(wire_run_until_state(0, FLOE_ICE_DISCONNECTED, FLOE_SEC(100)));
    wire_run(W.now + FLOE_MS(500));
    W.down = false;
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    wire_run(W.now + FLOE_SEC(60));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
    CHECK_EQ(wire_count_state(1, FLOE_ICE_FAILED), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.restarts, 0);
    CHECK(wire_count_state(0, FLOE_ICE_CONNECTED) >= 2);
}

static void test_restart(void)
{
    const char *u_old, *u_new, *p;
    char before[FLOE_ICE_UFRAG_MAX + 1];
    struct floe_ice_candidate h0, h1;
    struct floe_ice_stats st;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    floe_ice_get_local_credentials(W.ag[0], &u_old, &p);
    strcpy(before, u_old);
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, true), 0);
    floe_ice_get_local_credentials(W.ag[0], &u_new, &p);
    CHECK(strcmp(before, u_new) != 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_NEW);
    CHECK_EQ(floe_ice_get_selected_pair(W.ag[0], &(struct floe_ice_pair_info){0}),
             FLOE_ERR_NOT_FOUND);
    wire_creds();
    h0 = host(1, 5000, 0);
    h1 = host(2, 6000, 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    check_connected_pair();
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.restarts, 1);
    CHECK_EQ(st.n_local, 1);
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, false), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.n_local, 0);
    CHECK_EQ(st.n_pairs, 0);
}

static void test_restart_leaves_failed(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate c = host(100, 6000, 0);

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.candidate_timeout = FLOE_SEC(1);
    wire_add_agent(0, &cfg);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), 0);
    wire_run(FLOE_SEC(2));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_FAILED);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), FLOE_ERR_STATE);
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, true), 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_NEW);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &c), 0);
}

/* Invalidate the local candidate of the selected pair: the agent moves to the other. */
static void test_invalidation(void)
{
    struct floe_ice_candidate a1, a2, b;
    struct floe_ice_pair_info sel;
    wire_two_agents();
    a1 = wire_host(0, 1, 5000, 60000);
    a2 = wire_host(0, 3, 5000, 30000);
    b = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &a1), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &a2), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &b), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &b), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &a1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &a2), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(W.now + FLOE_SEC(1));
    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &sel) == 0);
    CHECK(floe_addr_eq(&sel.local.addr, &a1.addr));
    CHECK_EQ(floe_ice_remove_local_candidate(W.ag[0], W.now, &a1), 0);
    CHECK_EQ(floe_ice_remove_local_candidate(W.ag[0], W.now, &a1), FLOE_ERR_NOT_FOUND);
    CHECK(floe_ice_get_selected_pair(W.ag[0], &sel) != 0);
    CHECK(W.log[0][W.nlog[0] - 1].ev.type == FLOE_ICE_EV_STATE ||
          W.log[0][W.nlog[0] - 1].ev.type == FLOE_ICE_EV_SELECTED_PAIR);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &sel) == 0);
    CHECK(floe_addr_eq(&sel.local.addr, &a2.addr));
    CHECK_EQ(floe_ice_remove_remote_candidate(W.ag[0], W.now, &b), 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CHECKING);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
}

static long build_check(uint8_t *buf, size_t cap, const char *user, const char *pwd, bool prio)
{
    struct floe_stun_builder b;
    uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
    if (prio)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975u);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, 5);
    floe_stun_add_integrity_key(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

static void garbage_setup(struct floe_ice_path *path, const char **ufrag, const char **pwd)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate h = host(1, 5000, 0);

    wire_reset();
    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    wire_add_agent(0, &cfg);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h), 0);
    floe_ice_get_local_credentials(W.ag[0], ufrag, pwd);
    memset(path, 0, sizeof(*path));
    path->local = h.addr;
}

/* Random bytes, half of them with the STUN magic cookie: all dropped, never a crash. */
static void test_garbage_dropped(void)
{
    struct floe_ice_path path;
    struct floe_addr from = floe_addr_v4(10, 0, 0, 9, 9999);
    struct floe_ice_stats st;
    struct floe_xoshiro x;
    const char *ufrag, *pwd;
    uint8_t buf[600];
    int i;

    garbage_setup(&path, &ufrag, &pwd);
    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 2000; i++) {
        size_t len = floe_xoshiro_next(&x) % sizeof(buf), k;

        for (k = 0; k < len; k++)
            buf[k] = (uint8_t)floe_xoshiro_next(&x);
        if (i % 2 && len >= 8)
            floe_store_be32(buf + 4, FLOE_STUN_MAGIC_COOKIE);
        CHECK(floe_ice_handle_input(W.ag[0], W.now, &path, &from, buf, len) < 0);
    }
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &from, NULL, 0), FLOE_ERR_NOT_STUN);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.dropped, 2001);
    CHECK_EQ(st.dropped_malformed, 2001);
    CHECK_EQ(st.n_remote, 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_NEW);
}

/* Well-formed STUN that must still be refused: bad integrity, wrong user, missing PRIORITY. */
static void test_unauthenticated_dropped(void)
{
    struct floe_ice_path path;
    struct floe_addr from = floe_addr_v4(10, 0, 0, 9, 9999);
    struct floe_ice_stats st;
    const char *ufrag, *pwd;
    char user[80];
    uint8_t buf[600];
    long n;

    garbage_setup(&path, &ufrag, &pwd);
    strcpy(user, ufrag);
    strcat(user, ":peer");
    n = build_check(buf, sizeof(buf), user, "wrong-password-wrong-pw", true);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], 1, &path, &from, buf, (size_t)n), FLOE_ERR_INTEGRITY);
    n = build_check(buf, sizeof(buf), "nope:peer", pwd, true);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], 1, &path, &from, buf, (size_t)n), FLOE_ERR_INTEGRITY);
    n = build_check(buf, sizeof(buf), user, pwd, false);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], 1, &path, &from, buf, (size_t)n), FLOE_ERR_MALFORMED);
    buf[n - 1] ^= 1;
    CHECK_EQ(floe_ice_handle_input(W.ag[0], 1, &path, &from, buf, (size_t)n), FLOE_ERR_FINGERPRINT);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.dropped, 4);
    CHECK_EQ(st.dropped_unauthenticated, 2);
    CHECK_EQ(st.checks_received, 0);
    CHECK_EQ(st.n_remote, 0);
    /* A well-formed authenticated check is accepted and answered. */
    n = build_check(buf, sizeof(buf), user, pwd, true);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], 1, &path, &from, buf, (size_t)n), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.checks_answered, 1);
    CHECK_EQ(st.n_remote, 1);
    CHECK(floe_ice_poll_transmit(W.ag[0], 1, buf, sizeof(buf), &(struct floe_ice_transmit){0}) ==
          1);
}

static void test_close(void)
{
    uint8_t buf[600];
    struct floe_ice_transmit tx;
    struct floe_addr from = floe_addr_v4(10, 0, 0, 2, 6000);
    struct floe_ice_path path = {.local = floe_addr_v4(10, 0, 0, 1, 5000)};

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK_EQ(floe_ice_close(W.ag[0], W.now), 0);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CLOSED);
    CHECK_EQ(floe_ice_poll_timeout(W.ag[0]), FLOE_TIME_NEVER);
    CHECK_EQ(floe_ice_poll_transmit(W.ag[0], W.now, buf, sizeof(buf), &tx), 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &from, buf, 20), FLOE_ERR_STATE);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &(struct floe_ice_candidate){0}),
             FLOE_ERR_STATE);
    wire_drain(0);
    CHECK_EQ(W.log[0][W.nlog[0] - 1].ev.u.state.to, FLOE_ICE_CLOSED);
}

static int fail_after;

static void *failing_malloc(size_t size, void *user)
{
    (void)user;
    return fail_after-- > 0 ? malloc(size) : NULL;
}

static void failing_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

/* Every allocation of floe_ice_new failing in turn: FLOE_ERR_NOMEM, nothing leaked. */
static void test_new_out_of_memory(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_agent *a = NULL;
    int n, rc = FLOE_ERR_NOMEM;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.alloc.malloc_fn = failing_malloc;
    cfg.alloc.free_fn = failing_free;
    for (n = 0; n < 16 && rc != 0; n++) {
        fail_after = n;
        rc = floe_ice_new(&a, &cfg, 0);
        if (rc != 0) {
            CHECK_EQ(rc, FLOE_ERR_NOMEM);
            CHECK(a == NULL);
        }
    }
    CHECK_EQ(rc, 0);
    CHECK(n > 3);
    floe_ice_free(a);
}

/*
 * The pair table and the event ring start small (ICE_PAIRS_START, ICE_EVENTS_START: 8) and
 * grow up to max_pairs and max_events: 5 x 5 candidates form all 25 pairs, and 12 checks from
 * 12 unknown addresses queue 12 peer-reflexive events (the ring wrapped once before it grew),
 * all delivered in arrival order. Under an allocator that refuses the growth, the table and
 * the ring stay at 8 and the rest is dropped and counted.
 */
/* Sends check i (1-based) from an unknown address: a remote prflx event each. */
static void tables_check(struct floe_ice_agent *a, int i)
{
    struct floe_addr from = floe_addr_v4(10, 9, 0, (uint8_t)i, 7000);
    struct floe_ice_path path;
    const char *ufrag, *pwd;
    char user[80];
    uint8_t buf[600];
    long n;

    floe_ice_get_local_credentials(a, &ufrag, &pwd);
    snprintf(user, sizeof(user), "%s:peer", ufrag);
    n = build_check(buf, sizeof(buf), user, pwd, true);
    REQUIRE(n > 0);
    memset(&path, 0, sizeof(path));
    path.local = host(1, 5000, 0).addr;
    CHECK_EQ(floe_ice_handle_input(a, 1, &path, &from, buf, (size_t)n), 0);
}

/*
 * 5 x 5 host candidates, then 12 checks from unknown addresses with two of their events
 * taken after the third (the ring's head is then past its start when it fills and grows).
 * Returns the prflx events taken after those two, which must come in order (4th on).
 */
static size_t tables_fill(struct floe_ice_agent *a, bool *in_order)
{
    struct floe_ice_candidate c;
    struct floe_ice_event ev;
    size_t got = 0;
    int i;

    for (i = 0; i < 5; i++) {
        c = host((uint8_t)(1 + i), 5000, (uint16_t)(1000 * (i + 1)));
        CHECK_EQ(floe_ice_add_local_candidate(a, 0, &c), 0);
        c = host((uint8_t)(100 + i), 6000, (uint16_t)(1000 * (i + 1)));
        CHECK_EQ(floe_ice_add_remote_candidate(a, 0, &c), 0);
    }
    while (floe_ice_poll_event(a, &ev) == 1)
        ;
    for (i = 1; i <= 12; i++) {
        tables_check(a, i);
        if (i == 3)
            for (c.component = 0; c.component < 2; c.component++)
                CHECK_EQ(floe_ice_poll_event(a, &ev), 1);
    }
    *in_order = true;
    while (floe_ice_poll_event(a, &ev) == 1) {
        if (ev.type != FLOE_ICE_EV_REMOTE_PRFLX)
            continue;
        if (ev.u.candidate.addr.ip[3] != 3 + got)
            *in_order = false;
        got++;
    }
    return got;
}

static void test_tables_grow(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_agent *a;
    struct floe_ice_stats st;
    bool in_order;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    REQUIRE(cfg.max_pairs >= 40 && cfg.max_events >= 16);
    REQUIRE(floe_ice_new(&a, &cfg, 0) == 0);
    CHECK_EQ(tables_fill(a, &in_order), 10);
    CHECK(in_order);
    floe_ice_get_stats(a, &st);
    CHECK_EQ(st.n_pairs, 25 + 12); /* each prflx remote pairs with the checks' local */
    CHECK_EQ(st.pairs_dropped, 0);
    CHECK_EQ(st.dropped_overflow, 0);
    floe_ice_free(a);

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.alloc.malloc_fn = failing_malloc;
    cfg.alloc.free_fn = failing_free;
    fail_after = 1000;
    REQUIRE(floe_ice_new(&a, &cfg, 0) == 0);
    fail_after = 0; /* from now on the allocator refuses: no table grows */
    CHECK_EQ(tables_fill(a, &in_order), 8);
    CHECK(in_order);
    floe_ice_get_stats(a, &st);
    CHECK_EQ(st.n_pairs, 8);
    CHECK(st.pairs_dropped > 0);
    CHECK_EQ(st.dropped_overflow, 2);
    floe_ice_free(a);
}

static void test_config_profiles(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_agent *a = NULL;

    floe_ice_config_default(&cfg);
    CHECK_EQ(cfg.check_rto, FLOE_MS(250));
    CHECK_EQ(cfg.check_rto_max, FLOE_MS(1500));
    CHECK_EQ(cfg.check_max_sends, 12);
    CHECK_EQ(cfg.disconnected_grace, FLOE_SEC(2));
    CHECK_EQ(cfg.candidate_timeout, FLOE_SEC(10));
    CHECK_EQ(cfg.max_pairs, 100);
    floe_ice_config_profile(&cfg, FLOE_ICE_PROFILE_GATEWAY);
    CHECK_EQ(cfg.check_rto_max, FLOE_SEC(15));
    CHECK_EQ(cfg.check_max_sends, 45);
    CHECK_EQ(floe_ice_new(&a, &cfg, 0), FLOE_ERR_INVALID_ARG); /* no rng */
    CHECK(a == NULL);
    CHECK_EQ(floe_ice_state_name(FLOE_ICE_DISCONNECTED)[0], 'd');
    CHECK_STR(floe_ice_cand_type_name(FLOE_ICE_RELAY), "relay");
}

/*
 * Property: random candidate arrival orders and times on both sides, random
 * unreachable candidates, loss; both agents connect within the timeout and
 * never report failed while a working pair exists.
 */
static void property_round(struct floe_xoshiro *x)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate good0, good1, dead;
    floe_time t_local0, t_local1, t_remote0, t_remote1, t_dead;
    int role = (int)(floe_xoshiro_next(x) % 4);

    wire_reset();
    cfg_base(&c0, 0, role & 1 ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, role & 2 ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING);
    c0.ta = FLOE_MS(floe_xoshiro_next(x) % 60);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    W.loss_permille = (uint32_t)(floe_xoshiro_next(x) % 200);
    W.latency = FLOE_MS(1 + floe_xoshiro_next(x) % 80);
    wire_creds();
    good0 = wire_host(0, 1, 5000, 0);
    good1 = wire_host(1, 2, 6000, 0);
    dead = host(66, 1, 65535);
    t_local0 = FLOE_MS(floe_xoshiro_next(x) % 1900);
    t_local1 = FLOE_MS(floe_xoshiro_next(x) % 1900);
    t_remote0 = FLOE_MS(floe_xoshiro_next(x) % 1900);
    t_remote1 = FLOE_MS(floe_xoshiro_next(x) % 1900);
    t_dead = FLOE_MS(floe_xoshiro_next(x) % 1900);
    while (W.now <= FLOE_MS(1900)) {
        if (W.now == t_local0)
            CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &good0), 0);
        if (W.now == t_local1)
            CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &good1), 0);
        if (W.now == t_remote0)
            CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &good1), 0);
        if (W.now == t_remote1)
            CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &good0), 0);
        if (W.now == t_dead)
            CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead), 0);
        wire_run(W.now + FLOE_MS(1));
    }
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(10)));
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(10)));
    wire_run(FLOE_SEC(40));
    CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
    CHECK_EQ(wire_count_state(1, FLOE_ICE_FAILED), 0);
    CHECK_EQ(floe_ice_get_role(W.ag[0]) == floe_ice_get_role(W.ag[1]), 0);
}

static void test_property_arrival_orders(void)
{
    struct floe_xoshiro x;
    int i, before;

    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 60; i++) {
        before = floe_test_failures_in_current;
        property_round(&x);
        if (floe_test_failures_in_current != before) {
            printf("  property round %d failed\n", i);
            return;
        }
    }
}

/* ------------------------------------------------ issue #10: RFC gaps */

#define PEER_UFRAG "peer"
#define PEER_PWD "peerpasswordpeerpassword"

/* One agent (index 0) whose peer is played by the test with PEER_UFRAG/PEER_PWD. */
static void solo_setup(const struct floe_ice_config *cfg, bool creds)
{
    wire_reset();
    floe_xoshiro_seed(&W.rng[0], 1000u); /* cfg->rng points at it; wire_reset cleared it */
    wire_add_agent(0, cfg);
    if (creds)
        CHECK_EQ(floe_ice_set_remote_credentials(W.ag[0], W.now, PEER_UFRAG, PEER_PWD), 0);
}

/* What a test-built Binding request carries; NULL user or pwd leaves the attribute out. */
struct req_spec {
    const char *user;
    const char *pwd;
    bool prio;
};

static long build_request(uint8_t *buf, size_t cap, const uint8_t *txid, const struct req_spec *s)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    if (s->user)
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, s->user, strlen(s->user));
    if (s->prio)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975u);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, 5);
    if (s->pwd)
        floe_stun_add_integrity_key(&b, (const uint8_t *)s->pwd, strlen(s->pwd));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

/* A success response to txid signed with pwd (the answering side's own password). */
static long build_success(uint8_t *buf, size_t cap, const uint8_t *txid,
                          const struct floe_addr *mapped, const char *pwd)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
    floe_stun_add_integrity_key(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

/*
 * Drive agent i alone (its datagrams go nowhere) until it sends a Binding
 * request; its bytes stay in buf. Returns false if none before until.
 */
static bool solo_next_request(int i, floe_time until, uint8_t *buf, size_t cap,
                              struct floe_ice_transmit *tx, struct floe_stun_msg *m)
{
    floe_time t;

    for (;;) {
        while (floe_ice_poll_transmit(W.ag[i], W.now, buf, cap, tx) == 1) {
            if (floe_stun_decode(m, buf, tx->len) == 0 && m->cls == FLOE_STUN_REQUEST)
                return true;
        }
        t = floe_ice_poll_timeout(W.ag[i]);
        if (t == FLOE_TIME_NEVER || t > until)
            return false;
        if (t > W.now)
            W.now = t;
        floe_ice_handle_timeout(W.ag[i], W.now);
    }
}

static uint64_t checks_of(int i)
{
    struct floe_ice_stats st;

    floe_ice_get_stats(W.ag[i], &st);
    return st.checks_sent + st.checks_retransmitted;
}

/*
 * Item 1, RFC 8445 section 8.1.2: once a pair is nominated, the checks of the
 * other pairs stop (a gateway used to retransmit to a dead candidate for about
 * 615 s); only consent runs, and a candidate trickled later is still checked.
 */
static void test_checks_stop_after_nomination(void)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate h0, h1, dead0 = host(200, 9, 100), dead1 = host(201, 9, 100);
    struct floe_ice_candidate late = host(202, 9, 100);
    struct floe_ice_stats s1;
    uint64_t n0, n1, consent1, sent1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    floe_ice_config_profile(&c1, FLOE_ICE_PROFILE_GATEWAY);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    h0 = wire_host(0, 1, 5000, 0);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &dead0), 0);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(W.now + FLOE_MS(100));
    n0 = checks_of(0);
    n1 = checks_of(1);
    floe_ice_get_stats(W.ag[1], &s1);
    consent1 = s1.consent_sent;
    wire_run(W.now + FLOE_SEC(600));
    CHECK_EQ(checks_of(0), n0);
    CHECK_EQ(checks_of(1), n1);
    floe_ice_get_stats(W.ag[1], &s1);
    CHECK(s1.consent_sent >= consent1 + 90);
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
    sent1 = s1.checks_sent;
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &late), 0);
    wire_run(W.now + FLOE_SEC(1));
    floe_ice_get_stats(W.ag[1], &s1);
    CHECK_EQ(s1.checks_sent, sent1 + 1);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
}

/*
 * Item 2, RFC 8838 section 8: every pair failed. Without end-of-candidates the
 * agent reports disconnected and waits for candidates up to the candidate
 * timeout; with both end-of-candidates the grace period applies.
 */
static void trickle_lane(bool eoc, bool rescue)
{
    struct floe_ice_config c0, c1;
    struct floe_ice_candidate dead = host(200, 9, 0), h0, h1;

    wire_reset();
    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    cfg_base(&c1, 1, FLOE_ICE_CONTROLLED);
    c1.candidate_timeout = FLOE_SEC(60);
    wire_add_agent(0, &c0);
    wire_add_agent(1, &c1);
    wire_creds();
    h0 = wire_host(0, 1, 5000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead), 0);
    if (eoc) {
        CHECK_EQ(floe_ice_end_of_local_candidates(W.ag[0], W.now), 0);
        CHECK_EQ(floe_ice_end_of_remote_candidates(W.ag[0], W.now), 0);
    }
    CHECK(wire_run_until_state(0, FLOE_ICE_DISCONNECTED, FLOE_SEC(30)));
    CHECK_EQ(wire_state_time(0, FLOE_ICE_DISCONNECTED), FLOE_MS(15250));
    wire_run(FLOE_MS(15250) + FLOE_SEC(5));
    if (!rescue)
        return;
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_DISCONNECTED);
    h1 = wire_host(1, 2, 6000, 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
}

static void test_trickle_all_pairs_failed(void)
{
    /* A candidate 5 s after every pair failed still connects (the grace period is 2 s). */
    trickle_lane(false, true);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_FAILED), 0);
    /* Nothing comes: disconnected until the candidate timeout, then failed. */
    trickle_lane(false, false);
    wire_run(FLOE_SEC(60));
    CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), FLOE_MS(15250) + FLOE_SEC(10));
    CHECK_EQ(W.log[0][W.nlog[0] - 1].ev.u.state.reason, FLOE_ICE_REASON_NO_CANDIDATES);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 1);
    /* Both sides said end-of-candidates: failed after the grace period. */
    trickle_lane(true, false);
    CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), FLOE_MS(15250) + FLOE_SEC(2));
    CHECK_EQ(W.log[0][W.nlog[0] - 1].ev.u.state.reason, FLOE_ICE_REASON_GRACE_EXPIRED);
}

/* Selected-pair events of agent i from log index mark on: how many, and whether any cleared. */
static size_t selected_events_since(int i, size_t mark, bool *cleared)
{
    size_t k, n = 0;

    *cleared = false;
    for (k = mark; k < W.nlog[i]; k++) {
        if (W.log[i][k].ev.type != FLOE_ICE_EV_SELECTED_PAIR)
            continue;
        n++;
        if (!W.log[i][k].ev.u.selected.has_pair)
            *cleared = true;
    }
    return n;
}

/* Agent 1 learns agent 0's new credentials only (the peer side of a restart). */
static void restart_tell_peer(void)
{
    const char *u, *p;

    floe_ice_get_local_credentials(W.ag[0], &u, &p);
    CHECK_EQ(floe_ice_set_remote_credentials(W.ag[1], W.now, u, p), 0);
}

/*
 * Item 3, RFC 8445 section 9, DESIGN.md: an ICE restart is make-before-break.
 * Both agents restart (or, with peer_learns, agent 1 only learns agent 0's new
 * credentials); the old pair stays selected and keeps its consent (with the old
 * credentials) while the signalling takes longer than the consent timeout, then
 * the new generation's pair replaces it without a gap.
 */
static void restart_make_before_break(bool peer_learns)
{
    struct floe_ice_pair_info before, sel;
    struct floe_ice_candidate h0 = host(1, 5000, 0), h1 = host(2, 6000, 0);
    struct floe_ice_stats st;
    size_t mark0, mark1;
    bool cleared;
    int i;

    wire_pair_setup(FLOE_ICE_CONTROLLING, FLOE_ICE_CONTROLLED);
    CHECK(wire_run_until_state(1, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    REQUIRE(floe_ice_get_selected_pair(W.ag[0], &before) == 0);
    wire_drain(0);
    wire_drain(1);
    mark0 = W.nlog[0];
    mark1 = W.nlog[1];
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, true), 0);
    if (!peer_learns)
        CHECK_EQ(floe_ice_restart(W.ag[1], W.now, true), 0);
    else
        restart_tell_peer();
    for (i = 0; i < 2; i++) {
        CHECK_EQ(floe_ice_get_state(W.ag[i]), FLOE_ICE_CONNECTED);
        REQUIRE(floe_ice_get_selected_pair(W.ag[i], &sel) == 0);
    }
    CHECK(floe_ice_get_selected_pair(W.ag[0], &sel) == 0 &&
          floe_addr_eq(&sel.remote.addr, &before.remote.addr));
    wire_run(W.now + FLOE_SEC(45));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
    CHECK(W.last_success_rx[0] + FLOE_SEC(10) > W.now);
    CHECK_EQ(selected_events_since(0, mark0, &cleared), 0);
    wire_creds();
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    wire_run(W.now + FLOE_SEC(2));
    CHECK_EQ(selected_events_since(0, mark0, &cleared), 1);
    CHECK(!cleared);
    CHECK_EQ(selected_events_since(1, mark1, &cleared), 1);
    CHECK(!cleared);
    check_connected_pair();
    wire_run(W.now + FLOE_SEC(60));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CONNECTED);
    CHECK_EQ(floe_ice_get_state(W.ag[1]), FLOE_ICE_CONNECTED);
    CHECK_EQ(wire_count_state(0, FLOE_ICE_DISCONNECTED), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.restarts, 1);
    CHECK_EQ(st.n_pairs, 1);
}

static void test_restart_make_before_break(void)
{
    restart_make_before_break(false);
    restart_make_before_break(true);
}

/*
 * Item 4, RFC 8445 section 7.3.1.4: a check from the peer on a pair whose own check is
 * in progress cancels that transaction and sends a new one (a new transaction id); a
 * late answer to a cancelled one still counts. Under a long round trip the peer's checks
 * arrive faster than our answers come back, so each cancels the check before it; an
 * answer to any of them counts (the RFC waits a transaction timeout for each).
 * Remembering only the last cancelled transaction made both sides cancel forever and
 * no pair succeed (node-prop, relayed paths at 45-50 ms one way).
 */
static void test_triggered_checks_keep_cancelled_answers(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate h = host(1, 5000, 0), r = host(2, 6000, 0);
    struct floe_ice_path path = {.local = h.addr};
    struct floe_ice_transmit tx;
    struct floe_stun_msg m;
    struct floe_ice_stats st;
    uint8_t buf[600], req[600], first[FLOE_STUN_TXID_LEN], peer_txid[FLOE_STUN_TXID_LEN] = {7};
    const char *ufrag, *pwd;
    char user[80];
    long n;
    int i;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    solo_setup(&cfg, true);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    REQUIRE(solo_next_request(0, FLOE_SEC(1), buf, sizeof(buf), &tx, &m));
    memcpy(first, m.txid, sizeof(first));
    floe_ice_get_local_credentials(W.ag[0], &ufrag, &pwd);
    snprintf(user, sizeof(user), "%s:%s", ufrag, PEER_UFRAG);
    for (i = 0; i < 4; i++) {
        W.now += FLOE_MS(5);
        peer_txid[0] = (uint8_t)(7 + i);
        n = build_request(req, sizeof(req), peer_txid, &(struct req_spec){user, pwd, true});
        REQUIRE(n > 0);
        CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, req, (size_t)n), 0);
        REQUIRE(solo_next_request(0, W.now + FLOE_MS(200), buf, sizeof(buf), &tx, &m));
        CHECK(memcmp(m.txid, first, sizeof(first)) != 0);
        CHECK(floe_addr_eq(&tx.remote, &r.addr));
    }
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.checks_restarted, 4);
    CHECK_EQ(st.checks_sent, 5);
    n = build_success(buf, sizeof(buf), first, &h.addr, PEER_PWD);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.pairs_succeeded, 1);
    CHECK_EQ(st.n_pairs, 1);
}

/*
 * An error response without MESSAGE-INTEGRITY (libnice answers 487 unsigned) is dropped
 * and counted apart from wrong credentials: it neither flips the role nor fails the pair,
 * and interop tests can still demand that nothing failed authentication.
 */
static void test_unsigned_error_dropped_apart(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate h = host(1, 5000, 0), r = host(2, 6000, 0);
    struct floe_ice_path path = {.local = h.addr};
    struct floe_ice_transmit tx;
    struct floe_stun_builder b;
    struct floe_stun_msg m;
    struct floe_ice_stats st;
    uint8_t buf[600];
    long n;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    solo_setup(&cfg, true);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    REQUIRE(solo_next_request(0, FLOE_SEC(1), buf, sizeof(buf), &tx, &m));
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_ERROR, m.txid);
    floe_stun_add_error(&b, 487, "Role Conflict");
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    REQUIRE(n > 0);
    CHECK(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n) < 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.dropped_unsigned_errors, 1);
    CHECK_EQ(st.dropped_unauthenticated, 0);
    CHECK_EQ(floe_ice_get_role(W.ag[0]), FLOE_ICE_CONTROLLING);
    CHECK_EQ(st.pairs_failed, 0);
}

/* A peer's check as the controlling agent with tie-breaker tb, signed with pwd. */
static long build_controlling_request(uint8_t *buf, size_t cap, const uint8_t *txid,
                                      const char *user, const char *pwd, uint64_t tb)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975u);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, tb);
    floe_stun_add_integrity_key(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

/*
 * RFC 8445 section 7.2.5.1: a 487 answering a check sent before the agent switched role is
 * stale and must not switch it back. The agent (controlling, the lower tie-breaker) starts a
 * check; the peer's check (controlling, higher) switches it to controlled and restarts that
 * check; the new check goes out; then the peer's 487 to the first check arrives. It used to
 * flip the agent back to controlling (the pair's role was the new check's), and two agents
 * could flap until the nomination was missed (ice_test's property, seed 1746493252511392).
 */
static void test_stale_role_conflict_ignored(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate h = host(1, 5000, 0), r = host(2, 6000, 0);
    struct floe_ice_path path = {.local = h.addr};
    struct floe_ice_transmit tx;
    struct floe_stun_builder b;
    struct floe_stun_msg m;
    uint8_t buf[600], first[FLOE_STUN_TXID_LEN], peer_txid[FLOE_STUN_TXID_LEN] = {7};
    const char *ufrag, *pwd;
    char user[80];
    long n;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    cfg.tie_breaker = 1;
    solo_setup(&cfg, true);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    REQUIRE(solo_next_request(0, FLOE_SEC(1), buf, sizeof(buf), &tx, &m));
    CHECK(floe_stun_has(&m, FLOE_STUN_ATTR_ICE_CONTROLLING));
    memcpy(first, m.txid, sizeof(first));
    floe_ice_get_local_credentials(W.ag[0], &ufrag, &pwd);
    snprintf(user, sizeof(user), "%s:%s", ufrag, PEER_UFRAG);
    n = build_controlling_request(buf, sizeof(buf), peer_txid, user, pwd, UINT64_MAX);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n), 0);
    CHECK_EQ(floe_ice_get_role(W.ag[0]), FLOE_ICE_CONTROLLED);
    /* The restarted check goes out as controlled (the answer to the peer is no request). */
    REQUIRE(solo_next_request(0, W.now + FLOE_SEC(1), buf, sizeof(buf), &tx, &m));
    CHECK(memcmp(m.txid, first, sizeof(first)) != 0);
    CHECK(floe_stun_has(&m, FLOE_STUN_ATTR_ICE_CONTROLLED));
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_ERROR, first);
    floe_stun_add_error(&b, 487, "Role Conflict");
    floe_stun_add_integrity_key(&b, (const uint8_t *)PEER_PWD, strlen(PEER_PWD));
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n), 0);
    CHECK_EQ(floe_ice_get_role(W.ag[0]), FLOE_ICE_CONTROLLED);
}

/*
 * Item 5: a consent response refreshes the selected pair only when it arrives
 * on that pair's path from its remote address, and only for a consent request
 * sent on that pair (transaction ids are forgotten when the selection changes).
 */
static void test_consent_response_checked(void)
{
    struct floe_ice_candidate a1, a2, b;
    struct floe_ice_path p1, p2;
    struct floe_addr stranger = floe_addr_v4(10, 0, 0, 99, 6000);
    struct floe_ice_transmit tx;
    struct floe_ice_stats st;
    struct floe_stun_msg m;
    uint8_t buf[600], resp[600], txid[FLOE_STUN_TXID_LEN];
    const char *pwd1;
    uint64_t unmatched;
    long n;

    wire_two_agents();
    a1 = wire_host(0, 1, 5000, 60000);
    a2 = wire_host(0, 3, 5000, 30000);
    b = wire_host(1, 2, 6000, 0);
    p1 = (struct floe_ice_path){.local = a1.addr};
    p2 = (struct floe_ice_path){.local = a2.addr};
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &a1), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &a2), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &b), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &b), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &a1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &a2), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, FLOE_SEC(5)));
    wire_run(W.now + FLOE_SEC(1));
    W.nq = 0;
    REQUIRE(solo_next_request(0, W.now + FLOE_SEC(10), buf, sizeof(buf), &tx, &m));
    CHECK(floe_addr_eq(&tx.path.local, &a1.addr));
    memcpy(txid, m.txid, sizeof(txid));
    floe_ice_get_local_credentials(W.ag[1], NULL, &pwd1);
    n = build_success(resp, sizeof(resp), txid, &a1.addr, pwd1);
    REQUIRE(n > 0);
    floe_ice_get_stats(W.ag[0], &st);
    unmatched = st.dropped_unmatched;
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &p1, &stranger, resp, (size_t)n),
             FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &p2, &b.addr, resp, (size_t)n),
             FLOE_ERR_NOT_FOUND);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.dropped_unmatched, unmatched + 2);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &p1, &b.addr, resp, (size_t)n), 0);
    /* The selection moves to a2: the consent id of the a1 pair is no longer an answer. */
    CHECK_EQ(floe_ice_remove_local_candidate(W.ag[0], W.now, &a1), 0);
    CHECK(wire_run_until_state(0, FLOE_ICE_CONNECTED, W.now + FLOE_SEC(5)));
    n = build_success(resp, sizeof(resp), txid, &a2.addr, pwd1);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &p2, &b.addr, resp, (size_t)n),
             FLOE_ERR_NOT_FOUND);
}

/* Fire agent i's deadlines up to until; each must lie in the future once fired. */
static void check_deadlines_advance(int i, floe_time until)
{
    floe_time t;
    int n = 0;

    while ((t = floe_ice_poll_timeout(W.ag[i])) != FLOE_TIME_NEVER && t <= until && n++ < 10000) {
        if (t > W.now)
            W.now = t;
        floe_ice_handle_timeout(W.ag[i], W.now);
        wire_drain(i);
        W.nq = 0;
        t = floe_ice_poll_timeout(W.ag[i]);
        if (t <= W.now) {
            CHECK(t > W.now);
            return;
        }
    }
}

/*
 * Item 6: no deadline stays in the past. A restart while a nomination waited,
 * and an agent without remote credentials after both end-of-candidates, used
 * to return the same past deadline forever (a busy timer loop).
 */
static void test_deadlines_advance(void)
{
    struct floe_ice_config c0;
    struct floe_ice_candidate h0, h1, dead = host(200, 9, 65535);

    wire_two_agents();
    h0 = wire_host(0, 1, 5000, 0);
    h1 = wire_host(1, 2, 6000, 100);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[1], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &h1), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[1], W.now, &h0), 0);
    wire_run(FLOE_MS(120));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_CHECKING);
    CHECK_EQ(floe_ice_restart(W.ag[0], W.now, true), 0);
    check_deadlines_advance(0, FLOE_SEC(30));

    cfg_base(&c0, 0, FLOE_ICE_CONTROLLING);
    solo_setup(&c0, false);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h0), 0);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &dead), 0);
    CHECK_EQ(floe_ice_end_of_local_candidates(W.ag[0], W.now), 0);
    CHECK_EQ(floe_ice_end_of_remote_candidates(W.ag[0], W.now), 0);
    check_deadlines_advance(0, FLOE_SEC(30));
    CHECK_EQ(floe_ice_get_state(W.ag[0]), FLOE_ICE_FAILED);
    CHECK_EQ(wire_state_time(0, FLOE_ICE_FAILED), FLOE_SEC(10));
}

/* The error response agent 0 queued for a request, or 0 if it sent none. */
static int error_answer(const struct floe_ice_path *path, const struct floe_addr *from,
                        const uint8_t *txid, bool *signed_out)
{
    uint8_t buf[600];
    struct floe_ice_transmit tx;
    struct floe_stun_msg m;
    struct floe_span reason;
    int code = 0;

    if (floe_ice_poll_transmit(W.ag[0], W.now, buf, sizeof(buf), &tx) != 1)
        return 0;
    CHECK(floe_addr_eq(&tx.remote, from));
    CHECK(floe_addr_eq(&tx.path.local, &path->local));
    if (floe_stun_decode(&m, buf, tx.len) != 0) {
        CHECK(!"error response decodes");
        return -1;
    }
    CHECK_EQ(m.cls, FLOE_STUN_ERROR);
    CHECK_MEM(m.txid, txid, FLOE_STUN_TXID_LEN);
    CHECK_EQ(floe_stun_verify_fingerprint(&m), 0);
    *signed_out = floe_stun_has(&m, FLOE_STUN_ATTR_MESSAGE_INTEGRITY);
    return floe_stun_get_error(&m, &code, &reason) == 0 ? code : -1;
}

/*
 * Item 7, RFC 8489 section 9.1.3 and RFC 8445 section 7.3: a request without
 * USERNAME or MESSAGE-INTEGRITY gets 400, a wrong username or integrity 401
 * (neither signed), an authenticated one missing ICE attributes a signed 400.
 */
static void bad_request_case(const struct floe_ice_path *path, const struct floe_addr *from,
                             uint8_t idx, const struct req_spec *spec, int code, bool sig)
{
    uint8_t buf[600], txid[FLOE_STUN_TXID_LEN] = {1, 2, 3};
    bool got_sig = !sig;
    long n;

    txid[11] = idx;
    n = build_request(buf, sizeof(buf), txid, spec);
    REQUIRE(n > 0);
    CHECK(floe_ice_handle_input(W.ag[0], W.now, path, from, buf, (size_t)n) < 0);
    CHECK_EQ(error_answer(path, from, txid, &got_sig), code);
    CHECK_EQ(got_sig, sig);
}

static void test_bad_requests_answered(void)
{
    struct floe_ice_path path;
    struct floe_addr from = floe_addr_v4(10, 0, 0, 9, 9999);
    const char *ufrag, *pwd;
    char user[80];
    uint8_t buf[600], txid[FLOE_STUN_TXID_LEN] = {4};
    struct floe_ice_stats st;
    bool sig = false;
    long n;

    garbage_setup(&path, &ufrag, &pwd);
    snprintf(user, sizeof(user), "%s:%s", ufrag, PEER_UFRAG);
    bad_request_case(&path, &from, 0, &(struct req_spec){NULL, pwd, true}, 400, false);
    bad_request_case(&path, &from, 1, &(struct req_spec){user, NULL, true}, 400, false);
    bad_request_case(&path, &from, 2, &(struct req_spec){user, "wrong-password-wrong-pw", true},
                     401, false);
    bad_request_case(&path, &from, 3, &(struct req_spec){"nope:peer", pwd, true}, 401, false);
    bad_request_case(&path, &from, 4, &(struct req_spec){user, pwd, false}, 400, true);
    /* A broken fingerprint is not STUN for ICE: no answer. */
    n = build_request(buf, sizeof(buf), txid, &(struct req_spec){user, pwd, true});
    REQUIRE(n > 0);
    buf[n - 1] ^= 1;
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &from, buf, (size_t)n),
             FLOE_ERR_FINGERPRINT);
    CHECK_EQ(error_answer(&path, &from, txid, &sig), 0);
    floe_ice_get_stats(W.ag[0], &st);
    CHECK_EQ(st.dropped, 6);
    CHECK_EQ(st.dropped_unauthenticated, 4);
    CHECK_EQ(st.checks_received, 0);
    CHECK_EQ(st.n_remote, 0);
}

/*
 * Item 7, RFC 8445 section 6.1.2.6: of the pairs of one foundation, the one
 * with the highest priority is Waiting and the others Frozen, whatever order
 * the candidates came in.
 */
static void test_initial_pair_states(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate r = host(100, 6000, 0), l1 = host(1, 1000, 100);
    struct floe_ice_candidate l2 = host(1, 2000, 60000), other = host(2, 1000, 50);
    struct floe_ice_pair_info pairs[4];

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
    solo_setup(&cfg, false);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l1), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l2), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &other), 0);
    REQUIRE(floe_ice_get_pairs(W.ag[0], pairs, 4) == 3);
    CHECK(floe_addr_eq(&pairs[0].local.addr, &l2.addr));
    CHECK_EQ(pairs[0].state, FLOE_ICE_PAIR_WAITING);
    CHECK(floe_addr_eq(&pairs[1].local.addr, &l1.addr));
    CHECK_EQ(pairs[1].state, FLOE_ICE_PAIR_FROZEN);
    CHECK(floe_addr_eq(&pairs[2].local.addr, &other.addr));
    CHECK_EQ(pairs[2].state, FLOE_ICE_PAIR_WAITING);
}

/*
 * Once a pair of a foundation succeeded, new pairs of that foundation are
 * Waiting (RFC 8445 section 7.2.5.3.3, RFC 8838 section 10), even while another
 * of them waits for its turn.
 */
static void test_pair_state_after_success(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate r = host(100, 6000, 0), l1 = host(1, 1000, 60000);
    struct floe_ice_candidate l2 = host(1, 2000, 100), l3 = host(1, 3000, 50);
    struct floe_ice_path path = {.local = l1.addr};
    struct floe_ice_pair_info pairs[4];
    struct floe_ice_transmit tx;
    struct floe_stun_msg m;
    uint8_t buf[600];
    long n;

    cfg_base(&cfg, 0, FLOE_ICE_CONTROLLED);
    solo_setup(&cfg, true);
    CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l1), 0);
    REQUIRE(solo_next_request(0, W.now, buf, sizeof(buf), &tx, &m));
    n = build_success(buf, sizeof(buf), m.txid, &l1.addr, PEER_PWD);
    REQUIRE(n > 0);
    CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l2), 0);
    CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &l3), 0);
    REQUIRE(floe_ice_get_pairs(W.ag[0], pairs, 4) == 3);
    CHECK_EQ(pairs[0].state, FLOE_ICE_PAIR_SUCCEEDED);
    CHECK_EQ(pairs[1].state, FLOE_ICE_PAIR_WAITING);
    CHECK(floe_addr_eq(&pairs[2].local.addr, &l3.addr));
    CHECK_EQ(pairs[2].state, FLOE_ICE_PAIR_WAITING);
}

/*
 * Item 7, RFC 8445 section 6.1.2.4: a redundant pair counts once as pruned,
 * whether it replaced the other one or was refused, and checks arriving on an
 * existing pair prune nothing.
 */
static void test_prune_counter(void)
{
    struct floe_ice_config cfg;
    struct floe_ice_candidate r = host(100, 6000, 0), h = host(1, 5000, 0), s;
    struct floe_ice_path path = {.local = h.addr};
    struct floe_ice_pair_info pair;
    struct floe_ice_stats st;
    uint8_t buf[600], txid[FLOE_STUN_TXID_LEN] = {9};
    const char *ufrag, *pwd;
    char user[80];
    long n;
    int i, lane;

    memset(&s, 0, sizeof(s));
    s.type = FLOE_ICE_SRFLX;
    s.addr = floe_addr_v4(203, 0, 113, 1, 7000);
    s.base = h.addr;
    s.server = floe_addr_v4(198, 51, 100, 1, 3478);
    for (lane = 0; lane < 2; lane++) {
        /* Lane 0: the server-reflexive pair waits and is replaced; lane 1: it is in progress. */
        cfg_base(&cfg, 0, FLOE_ICE_CONTROLLING);
        solo_setup(&cfg, lane == 1);
        CHECK_EQ(floe_ice_add_remote_candidate(W.ag[0], W.now, &r), 0);
        CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &s), 0);
        CHECK_EQ(floe_ice_add_local_candidate(W.ag[0], W.now, &h), 0);
        floe_ice_get_local_credentials(W.ag[0], &ufrag, &pwd);
        snprintf(user, sizeof(user), "%s:%s", ufrag, PEER_UFRAG);
        for (i = 0; i < 3; i++) {
            txid[11] = (uint8_t)i;
            n = build_request(buf, sizeof(buf), txid, &(struct req_spec){user, pwd, true});
            REQUIRE(n > 0);
            CHECK_EQ(floe_ice_handle_input(W.ag[0], W.now, &path, &r.addr, buf, (size_t)n), 0);
        }
        floe_ice_get_stats(W.ag[0], &st);
        CHECK_EQ(st.pairs_formed, 1);
        CHECK_EQ(st.pairs_pruned, 1);
        CHECK_EQ(st.n_pairs, 1);
        REQUIRE(floe_ice_get_pairs(W.ag[0], &pair, 1) == 1);
        CHECK_EQ(pair.local.type, lane == 0 ? FLOE_ICE_HOST : FLOE_ICE_SRFLX);
    }
}

int main(void)
{
    FLOE_RUN(test_priority_and_foundation);
    FLOE_RUN(test_config_profiles);
    FLOE_RUN(test_new_out_of_memory);
    FLOE_RUN(test_tables_grow);
    FLOE_RUN(test_connect_controlling_first);
    FLOE_RUN(test_set_local_credentials);
    FLOE_RUN(test_set_profile_retimes);
    FLOE_RUN(test_connect_controlled_first);
    FLOE_RUN(test_role_conflict_both_controlling);
    FLOE_RUN(test_role_conflict_both_controlled);
    FLOE_RUN(test_stale_role_conflict_ignored);
    FLOE_RUN(test_peer_reflexive_discovery);
    FLOE_RUN(test_relay_and_prflx_over_relay);
    FLOE_RUN(test_relayed_then_direct_reselected);
    FLOE_RUN(test_recheck_failed_direct);
    FLOE_RUN(test_recheck_backoff_bounded);
    FLOE_RUN(test_pair_limit_and_pruning);
    FLOE_RUN(test_ta_pacing);
    FLOE_RUN(test_roaming_race);
    FLOE_RUN(test_candidate_timeout);
    FLOE_RUN(test_no_wait_locals_first);
    FLOE_RUN(test_disconnected_not_terminal);
    FLOE_RUN(test_consent_loss_fails_after_grace);
    FLOE_RUN(test_consent_needs_authenticated_responses);
    FLOE_RUN(test_consent_recovers_within_grace);
    FLOE_RUN(test_restart);
    FLOE_RUN(test_restart_leaves_failed);
    FLOE_RUN(test_invalidation);
    FLOE_RUN(test_garbage_dropped);
    FLOE_RUN(test_unauthenticated_dropped);
    FLOE_RUN(test_close);
    FLOE_RUN(test_property_arrival_orders);
    FLOE_RUN(test_checks_stop_after_nomination);
    FLOE_RUN(test_trickle_all_pairs_failed);
    FLOE_RUN(test_restart_make_before_break);
    FLOE_RUN(test_triggered_checks_keep_cancelled_answers);
    FLOE_RUN(test_unsigned_error_dropped_apart);
    FLOE_RUN(test_consent_response_checked);
    FLOE_RUN(test_deadlines_advance);
    FLOE_RUN(test_bad_requests_answered);
    FLOE_RUN(test_initial_pair_states);
    FLOE_RUN(test_pair_state_after_success);
    FLOE_RUN(test_prune_counter);
    wire_reset();
    return floe_test_summary();
}
