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
    static const char *const names[] = {"consent-loss", "property"};
    size_t i;

    for (i = 0; i < 2; i++) {
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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return run_one(argv[2]);
    if (argc == 2 && strcmp(argv[1], "meta") == 0) {
        FLOE_RUN(test_table_matches_ctests);
        FLOE_RUN(test_same_seed_same_transcript);
        FLOE_RUN(test_stun_server);
        FLOE_RUN(test_signal_outage_holds_candidates);
        return floe_test_summary();
    }
    fprintf(stderr, "usage: ice_sim_test run NAME | meta\n");
    return 2;
}
