/*
 * The ICE simulator scenarios as tests. `ice_sim_test run NAME` runs one
 * scenario (seed 1, or FLOE_TEST_SEED) and requires its verdict to hold;
 * `ice_sim_test meta` checks the scenario table against the ctest list, the
 * determinism of transcripts and the building blocks (STUN server, signalling
 * outage) directly.
 */
#include <inttypes.h>

#include "floe/sim_ice.h"
#include "floe/stun.h"
#include "floe/turn.h"
#include "portal_sim.h"
#include "scen_int.h"
#include "test.h"

static uint64_t test_seed(void)
{
    const char *s = getenv("FLOE_TEST_SEED");

    return s ? strtoull(s, NULL, 10) : 1;
}

static void print_verdict(const struct floe_sim_verdict *v)
{
    size_t i;

    for (i = 0; i < v->n_tl; i++)
        printf("  [%u/%u] %10.3f ms  %s\n", v->tl[i].group, v->tl[i].lane,
               (double)v->tl[i].at / 1e6, v->tl[i].text);
    printf("verdict: %s: %s\n", v->pass ? "PASS" : "FAIL", v->reason);
}

static int run_one(const char *name)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find(name);
    struct floe_sim_scenario_opts o = {.seed = test_seed()};
    static struct floe_sim_verdict v;
    int rc;

    if (!sc) {
        fprintf(stderr, "no scenario '%s'\n", name);
        return 1;
    }
    printf("scenario %s, seed %" PRIu64 "\n", name, o.seed);
    floe_sim_verdict_init(&v);
    rc = sc->run(&o, &v);
    print_verdict(&v);
    CHECK_EQ(rc, 0);
    CHECK(v.pass);
    CHECK(v.n_tl > 0);
    return floe_test_failures_in_current ? 1 : 0;
}

/* Every scenario of the table has a ctest (FLOE_SIM_SCENARIO_LIST from CMake), in order. */
static void test_table_matches_ctests(void)
{
    char list[] = FLOE_SIM_SCENARIO_LIST;
    size_t n, i = 0;
    const struct floe_sim_scenario *t = floe_sim_scenarios(&n);
    char *tok, *save = NULL;

    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
        REQUIRE(i < n);
        CHECK_STR(t[i].name, tok);
        CHECK(t[i].description && t[i].description[0]);
        CHECK(floe_sim_scenario_find(tok) == &t[i]);
    }
    CHECK_EQ(i, n);
    CHECK(floe_sim_scenario_find("no-such-scenario") == NULL);
    CHECK(floe_sim_scenario_find(NULL) == NULL);
}

/* FNV-1a over the transcript, and its length. */
struct digest {
    uint64_t hash, bytes, lines;
};

static void digest_write(void *user, const char *line, size_t len)
{
    struct digest *d = user;
    size_t i;

    for (i = 0; i < len; i++)
        d->hash = (d->hash ^ (uint8_t)line[i]) * 1099511628211ull;
    d->bytes += len;
    d->lines++;
}

static struct digest run_digest(const char *name, uint64_t seed)
{
    static struct floe_sim_verdict v;
    struct digest d = {.hash = 1469598103934665603ull};
    struct floe_sim_scenario_opts o = {.seed = seed, .transcript = digest_write};
    const struct floe_sim_scenario *sc = floe_sim_scenario_find(name);

    o.transcript_user = &d;
    floe_sim_verdict_init(&v);
    if (!sc || sc->run(&o, &v) != 0)
        d.lines = 0;
    return d;
}

/* The same seed writes the same transcript byte for byte; another seed does not. */
static void test_same_seed_same_transcript(void)
{
    static const char *const names[] = {"consent-loss", "property", "relay-only"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct digest a = run_digest(names[i], 7), b = run_digest(names[i], 7);
        struct digest c = run_digest(names[i], 8);

        printf("  %s: %" PRIu64 " lines, %" PRIu64 " bytes, fnv %016" PRIx64 "\n", names[i],
               a.lines, a.bytes, a.hash);
        CHECK(a.lines > 100);
        CHECK_EQ(a.lines, b.lines);
        CHECK_EQ(a.bytes, b.bytes);
        CHECK(a.hash == b.hash);
        CHECK(a.hash != c.hash);
    }
}

/* A client that sends one Binding request and one garbage datagram, and keeps the answer. */
struct prober {
    struct floe_addr server;
    int sent;
    uint8_t answer[256];
    size_t answer_len;
    uint32_t answers;
};

static void prober_input(void *obj, floe_time now, const struct floe_addr *from,
                         const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct prober *p = obj;

    (void)now, (void)from, (void)to;
    p->answers++;
    p->answer_len = len < sizeof(p->answer) ? len : sizeof(p->answer);
    memcpy(p->answer, bytes, p->answer_len);
}

static int prober_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                           struct floe_addr *from, struct floe_addr *to)
{
    static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct prober *p = obj;
    struct floe_stun_builder b;
    long n = 7;

    (void)now, (void)from;
    if (p->sent == 2)
        return 0;
    memcpy(buf, "garbage", 7);
    if (p->sent++ == 0) {
        floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
        n = floe_stun_build_finish(&b);
    }
    *len = (size_t)n;
    *to = p->server;
    return 1;
}

static const struct floe_sim_endpoint_ops prober_ops = {
    .handle_input = prober_input,
    .poll_transmit = prober_transmit,
};

/* The STUN server answers a Binding request with the source it saw; it drops other datagrams. */
static void test_stun_server(void)
{
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;
    struct floe_sim_stun_server srv;
    struct prober pr = {.server = floe_addr_v4(203, 0, 113, 1, 3478)};
    struct floe_addr cip = floe_addr_v4(192, 0, 2, 9, 4000), mapped;
    struct floe_stun_msg msg;
    uint32_t net, hs, hc, iface, ep;

    floe_sim_config_default(&cfg);
    REQUIRE(floe_sim_new(&cfg, &sim) == 0);
    floe_sim_stun_server_init(&srv);
    REQUIRE(floe_sim_net_add(sim, "inet", NULL, &net) == 0);
    REQUIRE(floe_sim_host_add(sim, "stun", &hs) == 0 && floe_sim_host_add(sim, "c", &hc) == 0);
    REQUIRE(floe_sim_host_add_addr(sim, hs, net, &pr.server, &iface) == 0);
    REQUIRE(floe_sim_host_add_addr(sim, hc, net, &cip, &iface) == 0);
    REQUIRE(floe_sim_attach(sim, hs, &pr.server, "stun", &floe_sim_stun_server_ops, &srv, &ep) ==
            0);
    REQUIRE(floe_sim_attach(sim, hc, &cip, "c", &prober_ops, &pr, &ep) == 0);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(1)), 1);
    CHECK_EQ(srv.requests, 1);
    CHECK_EQ(srv.answered, 1);
    CHECK_EQ(srv.dropped, 1);
    REQUIRE(pr.answers == 1);
    REQUIRE(floe_stun_decode(&msg, pr.answer, pr.answer_len) == 0);
    CHECK_EQ(msg.cls, FLOE_STUN_SUCCESS);
    CHECK_EQ(msg.txid[11], 12);
    CHECK_EQ(floe_stun_verify_fingerprint(&msg), 0);
    REQUIRE(floe_stun_get_xor_addr(&msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) == 0);
    CHECK(floe_addr_eq(&mapped, &cip));
    floe_sim_free(sim);
}

/* A bare TURN client endpoint: allocates, sends one payload to a peer when asked, keeps replies. */
struct turn_probe {
    struct floe_turn *t;
    struct floe_addr server, peer;
    bool send;
    uint32_t data;
    struct floe_addr data_from;
    uint8_t got[16];
    size_t got_len;
};

static void probe_input(void *obj, floe_time now, const struct floe_addr *from,
                        const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct turn_probe *p = obj;
    struct floe_addr peer;
    struct floe_span d;

    (void)to;
    if (floe_turn_handle_input(p->t, now, from, bytes, len, &peer, &d) != FLOE_TURN_INPUT_DATA)
        return;
    p->data++;
    p->data_from = peer;
    p->got_len = d.len < sizeof(p->got) ? d.len : sizeof(p->got);
    memcpy(p->got, d.ptr, p->got_len);
}

static int probe_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                          struct floe_addr *from, struct floe_addr *to)
{
    struct turn_probe *p = obj;
    long n = floe_turn_poll_transmit(p->t, now, buf, cap, to);

    (void)from;
    if (n <= 0 && p->send && floe_turn_get_state(p->t) == FLOE_TURN_ALLOCATED) {
        p->send = false;
        memcpy(buf, "hello", 5);
        n = floe_turn_encapsulate(p->t, now, &p->peer, buf, 5, buf, cap);
        if (n == 0)
            n = floe_turn_poll_transmit(p->t, now, buf, cap, to);
        else
            *to = p->server;
    }
    if (n <= 0)
        return 0;
    *len = (size_t)n;
    return 1;
}

static void probe_timeout(void *obj, floe_time now)
{
    floe_turn_handle_timeout(((struct turn_probe *)obj)->t, now);
}

static floe_time probe_poll_timeout(void *obj)
{
    return floe_turn_poll_timeout(((struct turn_probe *)obj)->t);
}

static const struct floe_sim_endpoint_ops probe_ops = {
    .handle_input = probe_input,
    .handle_timeout = probe_timeout,
    .poll_transmit = probe_transmit,
    .poll_timeout = probe_poll_timeout,
};

/* The simulator world of test_relay_server: the relay, a TURN client and a plain peer. */
struct relay_world {
    struct floe_sim *sim;
    struct floe_sim_relay_server *srv;
    struct floe_sim_recorder *rec;
    struct turn_probe probe;
    uint32_t ep_probe, ep_rec;
};

static void relay_world_new(struct relay_world *w)
{
    struct floe_sim_config cfg;
    struct floe_turn_config tc;
    struct floe_addr rip = floe_addr_v4(203, 0, 113, 2, 3478), cip = floe_addr_v4(192, 0, 2, 10, 0);
    uint32_t net, hr, hc, hp, iface;

    memset(w, 0, sizeof(*w));
    w->probe.peer = floe_addr_v4(198, 51, 100, 7, 7000);
    floe_sim_config_default(&cfg);
    REQUIRE(floe_sim_new(&cfg, &w->sim) == 0);
    REQUIRE(floe_sim_net_add(w->sim, "inet", NULL, &net) == 0);
    REQUIRE(floe_sim_host_add(w->sim, "relay", &hr) == 0 &&
            floe_sim_host_add(w->sim, "client", &hc) == 0 &&
            floe_sim_host_add(w->sim, "peer", &hp) == 0);
    REQUIRE(floe_sim_host_add_addr(w->sim, hr, net, &rip, &iface) == 0);
    REQUIRE(floe_sim_host_add_addr(w->sim, hc, net, &cip, &iface) == 0);
    REQUIRE(floe_sim_host_add_addr(w->sim, hp, net, &w->probe.peer, &iface) == 0);
    REQUIRE(floe_sim_relay_server_new(w->sim, hr, &rip, NULL, &w->srv) == 0);
    floe_turn_config_default(&tc);
    tc.rng = floe_sim_rng(w->sim);
    tc.server = w->probe.server = rip;
    tc.username = FLOE_SIM_RELAY_USER;
    tc.password = FLOE_SIM_RELAY_PASSWORD;
    REQUIRE(floe_turn_new(&w->probe.t, &tc) == 0);
    REQUIRE(floe_sim_recorder_new(NULL, 8, 8, 64, &w->rec) == 0);
    cip.port = 5000;
    REQUIRE(floe_sim_attach(w->sim, hc, &cip, "client", &probe_ops, &w->probe, &w->ep_probe) == 0);
    REQUIRE(floe_sim_attach(w->sim, hp, &w->probe.peer, "peer", &floe_sim_recorder_ops, w->rec,
                            &w->ep_rec) == 0);
}

static void relay_world_free(struct relay_world *w)
{
    floe_sim_free(w->sim);
    floe_sim_relay_server_free(w->srv);
    floe_turn_free(w->probe.t);
    floe_sim_recorder_free(w->rec);
}

/* The peer sends `what` to the relayed address; runs 1 s. */
static void relay_world_peer_send(struct relay_world *w, const struct floe_addr *relayed,
                                  const char *what)
{
    floe_time now = floe_sim_now(w->sim);

    CHECK_EQ(floe_sim_recorder_send(w->rec, now, NULL, relayed, what, strlen(what)), 0);
    CHECK_EQ(floe_sim_endpoint_drive(w->sim, w->ep_rec), 0);
    CHECK_EQ(floe_sim_run_until(w->sim, now + FLOE_SEC(1)), 0);
}

/*
 * The relay server endpoint: an Allocate binds a relayed port (an endpoint on
 * it), data goes out from the relayed address and comes back through it, and
 * deleting the allocation releases the port (datagrams to it find no endpoint).
 */
static void test_relay_server(void)
{
    struct relay_world w;
    struct floe_relay_stats rs;
    struct floe_addr relayed;
    uint64_t no_ep;

    relay_world_new(&w);
    CHECK_EQ(floe_turn_allocate(w.probe.t, 0), 0);
    CHECK_EQ(floe_sim_endpoint_drive(w.sim, w.ep_probe), 0);
    CHECK_EQ(floe_sim_run_until(w.sim, FLOE_SEC(1)), 0);
    REQUIRE(floe_turn_get_state(w.probe.t) == FLOE_TURN_ALLOCATED);
    REQUIRE(floe_turn_get_relayed(w.probe.t, FLOE_AF_INET, &relayed) == 0);
    CHECK_EQ(floe_sim_relay_server_ports(w.srv), 1);
    CHECK(relayed.port >= 49152 && relayed.port <= 49999);
    w.probe.send = true;
    CHECK_EQ(floe_sim_endpoint_drive(w.sim, w.ep_probe), 0);
    CHECK_EQ(floe_sim_run_until(w.sim, FLOE_SEC(2)), 0);
    REQUIRE(w.rec->n_records == 1);
    CHECK(floe_addr_eq(&w.rec->records[0].from, &relayed));
    CHECK_MEM(w.rec->records[0].head, "hello", 5);
    relay_world_peer_send(&w, &relayed, "world");
    CHECK_EQ(w.probe.data, 1);
    CHECK(floe_addr_eq(&w.probe.data_from, &w.probe.peer));
    CHECK(w.probe.got_len == 5 && memcmp(w.probe.got, "world", 5) == 0);
    CHECK_EQ(floe_turn_close(w.probe.t, floe_sim_now(w.sim)), 0);
    CHECK_EQ(floe_sim_endpoint_drive(w.sim, w.ep_probe), 0);
    CHECK_EQ(floe_sim_run_until(w.sim, FLOE_SEC(4)), 0);
    CHECK_EQ(floe_sim_relay_server_ports(w.srv), 0);
    floe_relay_get_stats(floe_sim_relay_server_core(w.srv), &rs);
    CHECK_EQ(rs.allocations, 0);
    CHECK_EQ(rs.allocations_total, 1);
    no_ep = floe_sim_counters(w.sim)->dropped[FLOE_SIM_DROP_NO_ENDPOINT];
    relay_world_peer_send(&w, &relayed, "late");
    CHECK_EQ(floe_sim_counters(w.sim)->dropped[FLOE_SIM_DROP_NO_ENDPOINT], no_ep + 1);
    CHECK_EQ(w.probe.data, 1);
    relay_world_free(&w);
}

/*
 * Signalling outage: the client's candidates, produced while the channel is
 * down, are held; behind port-restricted NATs nothing connects without them;
 * once the channel is back they are flushed and the pair connects.
 */
static void test_signal_outage_holds_candidates(void)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    int i;

    floe__scen_opts_default(&o, NULL);
    o.nat[0] = o.nat[1] = FLOE__SCEN_EIM_APDF;
    o.ep[0].gather_delay = FLOE_SEC(1);
    REQUIRE(floe__scen_pair_setup(&p, &o) == 0);
    floe_sim_signal_set_down(p.sig, true);
    CHECK_EQ(floe_sim_run_until(p.sim, FLOE_SEC(4)), 0);
    CHECK(floe_sim_signal_pending(p.sig) >= 2);
    CHECK_EQ(floe_sim_ice_ep_stats(p.ep[1])->remote_added, 0);
    for (i = 0; i < 2; i++)
        CHECK(floe_sim_ice_ep_stats(p.ep[i])->state != FLOE_ICE_CONNECTED);
    floe_sim_signal_set_down(p.sig, false);
    CHECK_EQ(floe__scen_run_until_up(&p, FLOE_SEC(7)), 1);
    CHECK_EQ(floe_sim_signal_pending(p.sig), 0);
    CHECK(floe_sim_ice_ep_stats(p.ep[1])->remote_added >= 2);
    CHECK(floe_sim_ice_ep_stats(p.ep[0])->failed_at == FLOE_TIME_NEVER);
    floe__scen_pair_free(&p);
}

/* Whether lane `lane` of run `group` has a timeline line containing text. */
static bool tl_has(const struct floe_sim_verdict *v, uint8_t group, uint8_t lane, const char *text)
{
    size_t i;

    for (i = 0; i < v->n_tl; i++) {
        if (v->tl[i].group == group && v->tl[i].lane == lane && strstr(v->tl[i].text, text))
            return true;
    }
    return false;
}

/*
 * roam-race is the field's race (issue 10): connected first, then a roam and a
 * reset; in each race run the grace lane goes "disconnected" on the gateway's
 * candidates and recovers without a failure, the naive lane fails before its
 * local candidates; the control run (run 4) recovers in both lanes without
 * "disconnected". Over seeds 1..20 (1..1000 by hand with floe sim --seeds).
 */
static void test_roam_race_is_the_field_race(void)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find("roam-race");
    static struct floe_sim_verdict v;
    struct floe_sim_scenario_opts o = {0};
    uint8_t g;

    REQUIRE(sc != NULL);
    for (o.seed = 1; o.seed <= 20; o.seed++) {
        floe_sim_verdict_init(&v);
        CHECK_EQ(sc->run(&o, &v), 0);
        CHECK(v.pass);
        CHECK_EQ(v.n_outages, 4);
        for (g = 0; g < 4; g++) {
            CHECK(tl_has(&v, g, 0, "client: checking -> connected"));
            CHECK(tl_has(&v, g, 0, "client: roamed 10.1.0.2 -> 10.3.0.2: reset, new offer"));
            CHECK(tl_has(&v, g, 0, "gateway: peer restarted"));
            CHECK(!tl_has(&v, g, 0, "-> failed"));
            CHECK(tl_has(&v, g, 0, g < 3 ? "=> disconnected for " : "=> recovered"));
            CHECK(tl_has(&v, g, 1, g < 3 ? "=> FALSE FAILURE" : "=> recovered"));
        }
        CHECK(tl_has(&v, 0, 0, "client: new -> disconnected (candidates changed)"));
        CHECK(tl_has(&v, 0, 0, "client: disconnected -> checking (candidates changed)"));
        CHECK(tl_has(&v, 0, 1, "client: disconnected -> failed (grace period over)"));
        CHECK(!tl_has(&v, 3, 0, "-> disconnected") && !tl_has(&v, 3, 1, "-> disconnected"));
    }
}

/*
 * Credentials travel over signalling: the gateway learns of the connection
 * from the offer (20 ms) and only then trickles its candidates, which reach
 * the client after the answer (40 ms); nothing is checked before.
 */
static void test_credentials_over_signalling(void)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct floe_ice_stats st;

    floe__scen_opts_default(&o, NULL);
    o.sig_jitter = 0;
    REQUIRE(floe__scen_pair_setup(&p, &o) == 0);
    CHECK_EQ(floe_sim_run_until(p.sim, FLOE_MS(39)), 0);
    CHECK_EQ(floe_sim_ice_ep_stats(p.ep[0])->remote_added, 0);
    floe_ice_get_stats(floe_sim_ice_ep_agent(p.ep[0]), &st);
    CHECK_EQ(st.checks_sent, 0);
    CHECK_EQ(floe_sim_run_until(p.sim, FLOE_MS(41)), 0);
    CHECK(floe_sim_ice_ep_stats(p.ep[0])->remote_added > 0);
    CHECK_EQ(floe__scen_run_until_up(&p, FLOE_SEC(5)), 1);
    floe__scen_pair_free(&p);
}

/*
 * RFC 4787 section 5 filters per mapping (issue 10, item 8): the expected
 * table (derived in sc_nat.c without sim/nat.c) has address-dependent
 * mapping and filtering to its twin as the one cell that needs a relay where
 * per-endpoint filtering connected it; the simulated cell agrees, and a
 * neighbouring cell (to an endpoint-independent mapping) still connects.
 */
static void test_nat_filtering_cells_that_change(void)
{
    static const enum floe__scen_nat cells[][2] = {
        {FLOE__SCEN_ADM_ADF, FLOE__SCEN_ADM_ADF},
        {FLOE__SCEN_ADM_ADF, FLOE__SCEN_EIM_ADF},
    };
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    unsigned a, b, direct = 0;
    size_t i;

    for (a = 0; a < FLOE__SCEN_NAT_KINDS; a++) {
        for (b = 0; b < FLOE__SCEN_NAT_KINDS; b++) {
            direct += floe__scen_direct_possible(a, b);
            CHECK_EQ(floe__scen_direct_possible(a, b), floe__scen_direct_possible(b, a));
        }
    }
    CHECK_EQ(direct, 34);
    CHECK(!floe__scen_direct_possible(FLOE__SCEN_ADM_ADF, FLOE__SCEN_ADM_ADF));
    CHECK(floe__scen_direct_possible(FLOE__SCEN_ADM_ADF, FLOE__SCEN_EIM_ADF));
    for (i = 0; i < 2; i++) {
        floe__scen_opts_default(&o, NULL);
        o.nat[0] = cells[i][0];
        o.nat[1] = cells[i][1];
        REQUIRE(floe__scen_pair_setup(&p, &o) == 0);
        CHECK_EQ(floe__scen_run_until_up(&p, FLOE_SEC(20)), i == 0 ? 0 : 1);
        floe__scen_pair_free(&p);
    }
}

/* Counts transcript drops for loss of datagrams still inside a LAN (source 10.x). */
static void lan_loss_write(void *user, const char *line, size_t len)
{
    uint64_t *n = user;

    (void)len;
    if (strstr(line, "\"reason\":\"loss\"") && strstr(line, "\"from\":\"10."))
        (*n)++;
}

/*
 * The scenarios' defaults are harsh (issue 10, item 9): jitter, reordering and
 * loss on every network, LAN loss seen in the transcript, signalling with
 * jitter, ICE at its real consent timers (5 s requests over a minute), and
 * the gateway's NAT dropping a binding after 30 s idle while the client's
 * keeps it (120 s).
 */
static void test_harsh_defaults(void)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct floe_ice_stats st;
    uint64_t lan_lost = 0;

    floe__scen_opts_default(&o, NULL);
    CHECK(o.jitter > 0 && o.reorder > 0 && o.loss > 0 && o.lan_loss > 0 && o.sig_jitter > 0);
    CHECK_EQ(o.ep[0].ice.consent_interval, FLOE_SEC(5));
    CHECK_EQ(o.ep[0].ice.consent_timeout, FLOE_SEC(30));
    o.nat[0] = o.nat[1] = FLOE__SCEN_EIM_APDF;
    o.transcript = lan_loss_write;
    o.transcript_user = &lan_lost;
    REQUIRE(floe__scen_pair_setup(&p, &o) == 0);
    REQUIRE(floe__scen_run_until_up(&p, FLOE_SEC(10)) == 1);
    CHECK_EQ(floe_sim_run_until(p.sim, floe_sim_now(p.sim) + FLOE_SEC(60)), 0);
    CHECK(lan_lost > 0);
    floe_ice_get_stats(floe_sim_ice_ep_agent(p.ep[0]), &st);
    CHECK(st.consent_sent >= 10 && st.consent_sent <= 16);
    /* NAT ids in creation order: the client's (0), then the gateway's (1). */
    floe_sim_net_set_blackhole(p.sim, p.lan[1], true);
    CHECK_EQ(floe_sim_run_until(p.sim, floe_sim_now(p.sim) + FLOE_SEC(31)), 0);
    CHECK_EQ(floe_sim_nat_mapping_count(p.sim, 1), 0);
    CHECK(floe_sim_nat_mapping_count(p.sim, 0) >= 1);
    floe__scen_pair_free(&p);
}

/* The time of the first timeline line of lane 0 containing text, or FLOE_TIME_NEVER. */
static floe_time tl_time(const struct floe_sim_verdict *v, const char *text)
{
    size_t i;

    for (i = 0; i < v->n_tl; i++) {
        if (v->tl[i].lane == 0 && strstr(v->tl[i].text, text))
            return v->tl[i].at;
    }
    return FLOE_TIME_NEVER;
}

/* consent-loss runs consent at its real timers: disconnected 24..30 s after the blackhole. */
static void test_consent_loss_real_timers(void)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find("consent-loss");
    struct floe_sim_scenario_opts o = {.seed = 1};
    static struct floe_sim_verdict v;
    floe_time hole, disc;

    REQUIRE(sc != NULL);
    floe_sim_verdict_init(&v);
    CHECK_EQ(sc->run(&o, &v), 0);
    CHECK(v.pass);
    floe_sim_verdict_sort(&v);
    hole = tl_time(&v, "gateway LAN blackholed");
    disc = tl_time(&v, "client: connected -> disconnected (consent lost)");
    REQUIRE(hole != FLOE_TIME_NEVER && disc != FLOE_TIME_NEVER && disc > hole);
    CHECK(disc - hole >= FLOE_SEC(24) && disc - hole <= FLOE_MS(30100));
}

/*
 * Signalling keeps the order per direction (a WebSocket): eight candidates
 * trickled at once over a channel with 300 ms of jitter reach the client in
 * the order they were sent.
 */
static void test_signal_in_order(void)
{
    struct floe__scen_opts o;
    struct floe__scen_pair p;
    struct floe__sim_sig_body b;
    struct floe_ice_candidate got[16];
    size_t n, i;

    floe__scen_opts_default(&o, NULL);
    o.sig_jitter = FLOE_MS(300);
    o.ep[0].gather_delay = o.ep[1].gather_delay = FLOE_SEC(100);
    REQUIRE(floe__scen_pair_setup(&p, &o) == 0);
    memset(&b, 0, sizeof(b));
    b.cand.type = FLOE_ICE_HOST;
    for (i = 0; i < 8; i++) {
        b.cand.addr = floe_addr_v4(192, 0, 2, 1, (uint16_t)(6000 + i));
        CHECK_EQ(floe__sim_signal_send(p.sig, 1, FLOE__SIM_SIG_ADD, &b), 0);
    }
    CHECK_EQ(floe_sim_run_until(p.sim, FLOE_SEC(2)), 0);
    n = floe_ice_get_remote_candidates(floe_sim_ice_ep_agent(p.ep[0]), got, 16);
    CHECK_EQ(n, 8);
    for (i = 0; i < n && i < 8; i++)
        CHECK_EQ(got[i].addr.port, 6000 + i);
    floe__scen_pair_free(&p);
}

/* cs = candidates first..last ("candidate:N ..."), one message. */
static void sim_cands(struct floe_portal_candidates *cs, int first, int last)
{
    memset(cs, 0, sizeof(*cs));
    cs->n_ids = 1;
    snprintf(cs->ids[0], FLOE_PORTAL_ID_MAX, "client-1");
    for (int i = first; i <= last; i++)
        snprintf(cs->candidates[cs->n_candidates++], FLOE_PORTAL_CANDIDATE_MAX,
                 "candidate:%d 1 UDP 1 192.0.2.1 %d typ host", i, 1000 + i);
}

/*
 * The simulated portal holds candidates for an absent device by floe-portal's policy: one
 * record per candidate, an invalidation takes the place of the held candidate, no duplicates,
 * the newest 64 per device, gone after 120 s.
 */
static void test_portal_sim_hold_policy(void)
{
    static struct portal_sim ps;
    static struct floe_portal_candidates cs;
    struct floe_addr addr = floe_addr_v4(203, 0, 113, 10, 0);
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;
    uint32_t net, host, iface;

    floe_sim_config_default(&cfg);
    REQUIRE(floe_sim_new(&cfg, &sim) == 0);
    REQUIRE(floe_sim_net_add(sim, "inet", NULL, &net) == 0);
    REQUIRE(floe_sim_host_add(sim, "portal", &host) == 0);
    REQUIRE(floe_sim_host_add_addr(sim, host, net, &addr, &iface) == 0);
    memset(&ps, 0, sizeof(ps));
    ps.hold_offline = true;
    REQUIRE(portal_sim_start(&ps, sim, host, &addr, 1) == 0);
    sim_cands(&cs, 1, 3);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, false, &cs);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, false, &cs); /* duplicates: not again */
    sim_cands(&cs, 2, 2);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, true, &cs); /* in place of the held 2 */
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, true, &cs); /* a duplicate */
    CHECK_EQ(ps.n_held, 3);
    CHECK_EQ(ps.held_cancelled, 1);
    CHECK(strncmp(ps.held[1].cand, "candidate:3 ", 12) == 0);
    CHECK(ps.held[2].invalidate && strncmp(ps.held[2].cand, "candidate:2 ", 12) == 0);
    sim_cands(&cs, 10, 41);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, false, &cs);
    sim_cands(&cs, 42, 73);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_GATEWAY, false, &cs); /* 67 for one device */
    CHECK_EQ(ps.n_held, 64);
    CHECK_EQ(ps.held_dropped_bound, 3);
    CHECK(strncmp(ps.held[0].cand, "candidate:10 ", 13) == 0);
    CHECK_EQ(floe_sim_run_until(sim, FLOE_SEC(120)), 0);
    sim_cands(&cs, 99, 99);
    portal_sim_hold(&ps, FLOE_PORTAL_ROLE_CLIENT, false, &cs); /* the others expired now */
    CHECK_EQ(ps.n_held, 1);
    CHECK_EQ(ps.held_expired, 64);
    portal_sim_free(&ps);
    floe_sim_free(sim);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return run_one(argv[2]);
    if (argc == 2 && strcmp(argv[1], "meta") == 0) {
        FLOE_RUN(test_table_matches_ctests);
        FLOE_RUN(test_same_seed_same_transcript);
        FLOE_RUN(test_stun_server);
        FLOE_RUN(test_relay_server);
        FLOE_RUN(test_signal_outage_holds_candidates);
        FLOE_RUN(test_roam_race_is_the_field_race);
        FLOE_RUN(test_credentials_over_signalling);
        FLOE_RUN(test_nat_filtering_cells_that_change);
        FLOE_RUN(test_harsh_defaults);
        FLOE_RUN(test_consent_loss_real_timers);
        FLOE_RUN(test_signal_in_order);
        FLOE_RUN(test_portal_sim_hold_policy);
        return floe_test_summary();
    }
    fprintf(stderr, "usage: ice_sim_test run NAME | meta\n");
    return 2;
}
