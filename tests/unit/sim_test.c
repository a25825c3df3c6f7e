/* The deterministic network simulator: links, NAT behaviours, roaming, transcripts. */
#include <inttypes.h>

#include "cli.h"
#include "floe/sim.h"
#include "floe/sim_ice.h"
#include "test.h"

/* ------------------------------------------------------------- fixtures */

/* Growing in-memory transcript. */
struct membuf {
    char *p;
    size_t len, cap;
};

static void membuf_write(void *user, const char *line, size_t len)
{
    struct membuf *m = user;

    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        char *p = realloc(m->p, cap);

        if (!p)
            abort();
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->len, line, len);
    m->len += len;
}

static size_t membuf_count(const struct membuf *m, const char *needle)
{
    size_t n = 0, nl = strlen(needle), i;

    for (i = 0; i + nl <= m->len; i++)
        n += memcmp(m->p + i, needle, nl) == 0;
    return n;
}

static struct floe_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return floe_addr_v4(a, b, c, d, 0);
}

static struct floe_addr at_port(struct floe_addr a, uint16_t port)
{
    a.port = port;
    return a;
}

static struct floe_sim *sim_make(uint64_t seed, struct membuf *transcript)
{
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;

    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    if (transcript) {
        cfg.transcript = membuf_write;
        cfg.transcript_user = transcript;
    }
    if (floe_sim_new(&cfg, &sim) < 0)
        abort();
    return sim;
}

static struct floe_sim_link link_ms(unsigned latency_ms)
{
    struct floe_sim_link l = floe_sim_link_default();

    l.latency = FLOE_MS(latency_ms);
    return l;
}

static uint32_t net_make(struct floe_sim *sim, const char *name, const struct floe_sim_link *l)
{
    uint32_t id = 0;

    if (floe_sim_net_add(sim, name, l, &id) < 0)
        abort();
    return id;
}

static uint32_t host_make(struct floe_sim *sim, const char *name, uint32_t net, struct floe_addr ip)
{
    uint32_t id = 0, iface = 0;

    if (floe_sim_host_add(sim, name, &id) < 0 || floe_sim_host_add_addr(sim, id, net, &ip, &iface))
        abort();
    return id;
}

static struct floe_sim_recorder *rec_make_sized(size_t max_out, size_t max_len)
{
    struct floe_sim_recorder *r = NULL;

    if (floe_sim_recorder_new(NULL, 20000, max_out, max_len, &r) < 0)
        abort();
    return r;
}

static struct floe_sim_recorder *rec_make(void)
{
    return rec_make_sized(10000, 64);
}

static uint32_t attach(struct floe_sim *sim, uint32_t host, uint16_t port, const char *name,
                       const struct floe_sim_endpoint_ops *ops, void *obj)
{
    struct floe_addr any = {0};
    uint32_t ep = 0;

    any.port = port;
    if (floe_sim_attach(sim, host, &any, name, ops, obj, &ep) < 0)
        abort();
    return ep;
}

/* Queue datagram `seq` (payload: seq and send time) from rec at `at`. */
static void send_seq(struct floe_sim *sim, struct floe_sim_recorder *rec, uint32_t ep, floe_time at,
                     struct floe_addr to, uint32_t seq)
{
    uint8_t payload[64] = {0};

    floe_store_be32(payload, seq);
    floe_store_be64(payload + 4, at);
    if (floe_sim_recorder_send(rec, at, NULL, &to, payload, sizeof(payload)) < 0)
        abort();
    if (floe_sim_endpoint_drive(sim, ep) < 0)
        abort();
}

static uint32_t rec_seq(const struct floe_sim_record *r)
{
    return floe_load_be32(r->head);
}

static floe_time rec_sent_at(const struct floe_sim_record *r)
{
    return floe_load_be64(r->head + 4);
}

static uint64_t dropped(struct floe_sim *sim, enum floe_sim_drop why)
{
    return floe_sim_counters(sim)->dropped[why];
}

/* ---------------------------------------------------------------- links */

static void test_echo_round_trip_takes_two_latencies(void)
{
    struct floe_sim *sim = sim_make(1, NULL);
    struct floe_sim_link l = link_ms(20);
    uint32_t net = net_make(sim, "inet", &l);
    uint32_t ha = host_make(sim, "a", net, ip4(192, 0, 2, 1));
    uint32_t hb = host_make(sim, "b", net, ip4(192, 0, 2, 2));
    struct floe_sim_recorder *rec = rec_make();
    struct floe_sim_echo echo;
    uint32_t ea;

    floe_sim_echo_init(&echo);
    ea = attach(sim, ha, 4000, "a", &floe_sim_recorder_ops, rec);
    attach(sim, hb, 7, "echo", &floe_sim_echo_ops, &echo);
    send_seq(sim, rec, ea, FLOE_MS(5), floe_addr_v4(192, 0, 2, 2, 7), 42);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(10)), 1);
    REQUIRE(rec->n_records == 1);
    CHECK_EQ(rec->records[0].at, FLOE_MS(45));
    CHECK_EQ(rec_seq(&rec->records[0]), 42);
    CHECK(floe_addr_eq(&rec->records[0].from, &(struct floe_addr){0}) == false);
    CHECK(
        floe_addr_eq(&rec->records[0].from,
                     &(struct floe_addr){.family = FLOE_AF_INET, .port = 7, .ip = {192, 0, 2, 2}}));
    CHECK_EQ(floe_sim_counters(sim)->sent, 2);
    CHECK_EQ(floe_sim_counters(sim)->delivered, 2);
    CHECK_EQ(echo.received, 1);
    floe_sim_recorder_free(rec);
    floe_sim_free(sim);
}

/* Two hosts on one network; a recorder on each, a on port 1000, b on port 2000. */
struct pair {
    struct floe_sim *sim;
    uint32_t net, ea, eb;
    struct floe_sim_recorder *a, *b;
    struct floe_addr to_b;
};

/* Build the pair in an existing simulator (which the pair then owns). */
static void pair_init(struct pair *p, struct floe_sim *sim, const struct floe_sim_link *l)
{
    p->sim = sim;
    p->net = net_make(p->sim, "wire", l);
    p->a = rec_make();
    p->b = rec_make();
    p->ea = attach(p->sim, host_make(p->sim, "a", p->net, ip4(192, 0, 2, 1)), 1000, "a",
                   &floe_sim_recorder_ops, p->a);
    p->eb = attach(p->sim, host_make(p->sim, "b", p->net, ip4(192, 0, 2, 2)), 2000, "b",
                   &floe_sim_recorder_ops, p->b);
    p->to_b = floe_addr_v4(192, 0, 2, 2, 2000);
}

static void pair_make(struct pair *p, uint64_t seed, const struct floe_sim_link *l,
                      struct membuf *transcript)
{
    pair_init(p, sim_make(seed, transcript), l);
}

static void pair_free(struct pair *p)
{
    floe_sim_recorder_free(p->a);
    floe_sim_recorder_free(p->b);
    floe_sim_free(p->sim);
}

static void test_latency_and_jitter_bounds(void)
{
    struct floe_sim_link l = link_ms(20);
    struct pair p;
    floe_time lo = FLOE_TIME_NEVER, hi = 0;
    uint32_t i;

    l.jitter = FLOE_MS(10);
    pair_make(&p, 3, &l, NULL);
    for (i = 0; i < 500; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(100) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(100)), 1);
    REQUIRE(p.b->n_records == 500);
    for (i = 0; i < 500; i++) {
        floe_time d = p.b->records[i].at - rec_sent_at(&p.b->records[i]);

        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= FLOE_MS(20));
    CHECK(hi <= FLOE_MS(30));
    /* Jitter is really drawn: the spread covers most of the 10 ms window. */
    CHECK(hi - lo > FLOE_MS(8));
    pair_free(&p);
}

static uint32_t count_inversions(const struct floe_sim_recorder *r)
{
    uint32_t n = 0;
    size_t i;

    for (i = 1; i < r->n_records; i++)
        n += rec_seq(&r->records[i]) < rec_seq(&r->records[i - 1]);
    return n;
}

static void test_fifo_unless_reordering(void)
{
    struct floe_sim_link l = link_ms(20);
    struct pair p;
    uint32_t i;

    l.jitter = FLOE_MS(10);
    pair_make(&p, 4, &l, NULL);
    for (i = 0; i < 300; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(1) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(100)), 1);
    CHECK_EQ(p.b->n_records, 300);
    CHECK_EQ(count_inversions(p.b), 0);
    pair_free(&p);

    l.reorder = 0.2;
    pair_make(&p, 4, &l, NULL);
    for (i = 0; i < 300; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(1) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(100)), 1);
    CHECK_EQ(p.b->n_records, 300);
    CHECK(count_inversions(p.b) > 10);
    pair_free(&p);
}

static void test_loss_rate_within_bounds(void)
{
    struct floe_sim_link l = link_ms(1);
    struct pair p;
    uint32_t i;

    l.loss = 0.1;
    pair_make(&p, 5, &l, NULL);
    for (i = 0; i < 10000; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(1) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(100)), 1);
    /* Binomial(10000, 0.9): sigma = 30, so +-5 sigma is [8850, 9150]. */
    CHECK(p.b->received >= 8850);
    CHECK(p.b->received <= 9150);
    CHECK_EQ(p.b->received + dropped(p.sim, FLOE_SIM_DROP_LOSS), 10000);
    pair_free(&p);
}

static void blackhole_on(struct floe_sim *sim, void *user)
{
    floe_sim_net_set_blackhole(sim, *(uint32_t *)user, true);
}

static void blackhole_off(struct floe_sim *sim, void *user)
{
    floe_sim_net_set_blackhole(sim, *(uint32_t *)user, false);
}

static void test_blackhole_drops_while_on(void)
{
    struct floe_sim_link l = link_ms(10);
    struct membuf t = {0};
    struct pair p;
    uint32_t i;
    size_t k;

    pair_make(&p, 6, &l, &t);
    for (i = 0; i < 30; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(100) * i, p.to_b, i);
    CHECK_EQ(floe_sim_at(p.sim, FLOE_MS(1005), blackhole_on, &p.net), 0);
    CHECK_EQ(floe_sim_at(p.sim, FLOE_MS(2005), blackhole_off, &p.net), 0);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(100)), 1);
    /* Sent at 1.0 s (arrives 1.01 s, after the switch) to 2.0 s are lost. */
    CHECK_EQ(dropped(p.sim, FLOE_SIM_DROP_BLACKHOLE), 11);
    CHECK_EQ(p.b->n_records, 19);
    for (k = 0; k < p.b->n_records; k++) {
        uint32_t s = rec_seq(&p.b->records[k]);

        CHECK(s < 10 || s > 20);
    }
    CHECK_EQ(membuf_count(&t, "\"reason\":\"blackhole\""), 11);
    CHECK_EQ(membuf_count(&t, "\"ev\":\"blackhole\""), 2);
    pair_free(&p);
    free(t.p);
}

static void test_bounded_queue_and_rate(void)
{
    struct floe_sim_link l = link_ms(10);
    struct pair p;
    uint8_t big[1000] = {0};
    uint32_t i;
    size_t k;

    l.rate_bps = 1000000; /* 1000 bytes take 8 ms */
    l.queue_cap = 10;
    pair_make(&p, 7, &l, NULL);
    floe_sim_detach(p.sim, p.ea);
    floe_sim_recorder_free(p.a);
    p.a = rec_make_sized(50, sizeof(big));
    REQUIRE(floe_sim_attach(p.sim, 0, &(struct floe_addr){.port = 1001}, "a",
                            &floe_sim_recorder_ops, p.a, &p.ea) == 0);
    for (i = 0; i < 50; i++) {
        floe_store_be32(big, i);
        CHECK_EQ(floe_sim_recorder_send(p.a, 0, NULL, &p.to_b, big, sizeof(big)), 0);
    }
    CHECK_EQ(floe_sim_endpoint_drive(p.sim, p.ea), 0);
    CHECK_EQ(floe_sim_in_flight(p.sim), 10);
    CHECK_EQ(floe_sim_run_until_idle(p.sim, FLOE_SEC(10)), 1);
    CHECK_EQ(p.b->n_records, 10);
    CHECK_EQ(dropped(p.sim, FLOE_SIM_DROP_QUEUE), 40);
    for (k = 0; k < p.b->n_records; k++)
        CHECK_EQ(p.b->records[k].at, FLOE_MS(8) * (k + 1) + FLOE_MS(10));
    pair_free(&p);
}

/* sent == delivered + dropped + in flight after every step. */
static int check_conservation(struct floe_sim *sim, void *user)
{
    const struct floe_sim_counters *c = floe_sim_counters(sim);
    uint64_t total = c->delivered + floe_sim_in_flight(sim);
    int i;

    (void)user;
    for (i = 0; i < FLOE_SIM_DROP_COUNT; i++)
        total += c->dropped[i];
    return c->sent == total ? 0 : FLOE_ERR_INTERNAL;
}

static void test_two_roots_cross_the_core(void)
{
    struct floe_sim *sim = sim_make(24, NULL);
    struct floe_sim_link l1 = link_ms(10), l2 = link_ms(30);
    uint32_t n1 = net_make(sim, "inet4", &l1), n2 = net_make(sim, "inet6", &l2), ea;
    struct floe_addr a6, b6;
    struct floe_sim_recorder *a = rec_make(), *b = rec_make();

    REQUIRE(floe_addr_parse("[2001:db8::a]:0", &a6) == 0);
    REQUIRE(floe_addr_parse("[2001:db8:1::b]:443", &b6) == 0);
    ea = attach(sim, host_make(sim, "a", n1, a6), 1000, "a", &floe_sim_recorder_ops, a);
    attach(sim, host_make(sim, "b", n2, b6), 443, "b", &floe_sim_recorder_ops, b);
    send_seq(sim, a, ea, 0, b6, 1);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(1)), 1);
    REQUIRE(b->n_records == 1);
    /* One hop on each root: 10 ms + 30 ms. */
    CHECK_EQ(b->records[0].at, FLOE_MS(40));
    CHECK_EQ(floe_sim_counters(sim)->hops, 2);
    floe_sim_recorder_free(a);
    floe_sim_recorder_free(b);
    floe_sim_free(sim);
}

static void test_packet_pool_bound(void)
{
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;
    struct membuf t = {0};
    struct pair p;
    uint32_t i;

    floe_sim_config_default(&cfg);
    cfg.max_packets = 4;
    cfg.transcript = membuf_write;
    cfg.transcript_user = &t;
    cfg.check = check_conservation;
    REQUIRE(floe_sim_new(&cfg, &sim) == 0);
    pair_init(&p, sim, NULL);
    for (i = 0; i < 10; i++)
        CHECK_EQ(floe_sim_recorder_send(p.a, 0, NULL, &p.to_b, "x", 1), 0);
    CHECK_EQ(floe_sim_endpoint_drive(sim, p.ea), 0);
    CHECK_EQ(floe_sim_in_flight(sim), 4);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(1)), 1);
    CHECK_EQ(p.b->received, 4);
    CHECK_EQ(dropped(sim, FLOE_SIM_DROP_QUEUE), 6);
    CHECK_EQ(membuf_count(&t, "\"reason\":\"queue\""), 6);
    pair_free(&p);
    free(t.p);
}

/* ------------------------------------------------------------------ NAT */

/*
 * X (10.0.0.2:5000) behind NAT 203.0.113.1; Y (198.51.100.1) with
 * recorders on 3478 and 3479; Z (198.51.100.2:3478).
 */
struct natw {
    struct floe_sim *sim;
    uint32_t inet, lan, nat, ex, ey1, ey2, ez;
    struct floe_sim_recorder *x, *y1, *y2, *z;
    struct floe_addr y1a, y2a, za;
};

static void natw_make(struct natw *w, const struct floe_sim_nat_config *cfg, uint64_t seed)
{
    struct floe_addr ext = ip4(203, 0, 113, 1);
    uint32_t hy;

    w->sim = sim_make(seed, NULL);
    w->inet = net_make(w->sim, "inet", NULL);
    w->lan = net_make(w->sim, "lan", NULL);
    if (floe_sim_nat_add(w->sim, "nat", cfg, w->lan, w->inet, &ext, &w->nat) < 0)
        abort();
    w->x = rec_make();
    w->y1 = rec_make();
    w->y2 = rec_make();
    w->z = rec_make();
    w->ex = attach(w->sim, host_make(w->sim, "x", w->lan, ip4(10, 0, 0, 2)), 5000, "x",
                   &floe_sim_recorder_ops, w->x);
    hy = host_make(w->sim, "y", w->inet, ip4(198, 51, 100, 1));
    w->ey1 = attach(w->sim, hy, 3478, "y1", &floe_sim_recorder_ops, w->y1);
    w->ey2 = attach(w->sim, hy, 3479, "y2", &floe_sim_recorder_ops, w->y2);
    w->ez = attach(w->sim, host_make(w->sim, "z", w->inet, ip4(198, 51, 100, 2)), 3478, "z",
                   &floe_sim_recorder_ops, w->z);
    w->y1a = floe_addr_v4(198, 51, 100, 1, 3478);
    w->y2a = floe_addr_v4(198, 51, 100, 1, 3479);
    w->za = floe_addr_v4(198, 51, 100, 2, 3478);
}

static void natw_free(struct natw *w)
{
    floe_sim_recorder_free(w->x);
    floe_sim_recorder_free(w->y1);
    floe_sim_recorder_free(w->y2);
    floe_sim_recorder_free(w->z);
    floe_sim_free(w->sim);
}

static struct floe_sim_nat_config nat_cfg(enum floe_sim_nat_kind mapping,
                                          enum floe_sim_nat_kind filtering)
{
    struct floe_sim_nat_config c;

    floe_sim_nat_config_default(&c);
    c.mapping = mapping;
    c.filtering = filtering;
    return c;
}

/* External ports Y:3478, Y:3479 and Z:3478 see for X:5000; false if any is missing. */
static bool nat_observed_ports(enum floe_sim_nat_kind kind, uint16_t ports[3])
{
    struct floe_sim_nat_config c = nat_cfg(kind, FLOE_SIM_NAT_ENDPOINT_INDEPENDENT);
    struct floe_addr ext = ip4(203, 0, 113, 1);
    struct natw w;
    bool ok;

    natw_make(&w, &c, 11);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(10), w.y1a, 1);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(20), w.y2a, 2);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(30), w.za, 3);
    floe_sim_run_until_idle(w.sim, FLOE_SEC(1));
    ok = w.y1->n_records == 1 && w.y2->n_records == 1 && w.z->n_records == 1;
    if (ok) {
        ports[0] = w.y1->records[0].from.port;
        ports[1] = w.y2->records[0].from.port;
        ports[2] = w.z->records[0].from.port;
        ok = floe_addr_ip_eq(&w.y1->records[0].from, &ext) &&
             floe_addr_ip_eq(&w.z->records[0].from, &ext);
    }
    CHECK_EQ(floe_sim_nat_mapping_count(w.sim, w.nat), kind == FLOE_SIM_NAT_ENDPOINT_INDEPENDENT ? 1
                                                       : kind == FLOE_SIM_NAT_ADDRESS_DEPENDENT
                                                           ? 2
                                                           : 3);
    natw_free(&w);
    return ok;
}

static void test_nat_mapping_endpoint_independent_reuses_port(void)
{
    uint16_t p[3];

    REQUIRE(nat_observed_ports(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, p));
    CHECK_EQ(p[0], p[1]);
    CHECK_EQ(p[0], p[2]);
}

static void test_nat_mapping_address_dependent_per_remote_ip(void)
{
    uint16_t p[3];

    REQUIRE(nat_observed_ports(FLOE_SIM_NAT_ADDRESS_DEPENDENT, p));
    CHECK_EQ(p[0], p[1]);
    CHECK(p[0] != p[2]);
}

static void test_nat_mapping_address_port_dependent_per_remote_endpoint(void)
{
    uint16_t p[3];

    REQUIRE(nat_observed_ports(FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT, p));
    CHECK(p[0] != p[1]);
    CHECK(p[0] != p[2]);
    CHECK(p[1] != p[2]);
}

/*
 * X contacts Y:3478 only; then Y:3478, Y:3479 and Z:3478 each send to X's
 * mapping. Returns a bit mask of which got through (1, 2, 4).
 */
static unsigned nat_filter_passes(enum floe_sim_nat_kind filtering)
{
    struct floe_sim_nat_config c = nat_cfg(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, filtering);
    struct natw w;
    struct floe_addr mapped;
    unsigned mask = 0;
    size_t i;

    natw_make(&w, &c, 12);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(10), w.y1a, 0);
    floe_sim_run_until(w.sim, FLOE_MS(100));
    if (w.y1->n_records != 1) {
        natw_free(&w);
        return 0xff;
    }
    mapped = w.y1->records[0].from;
    send_seq(w.sim, w.y1, w.ey1, FLOE_MS(200), mapped, 1);
    send_seq(w.sim, w.y2, w.ey2, FLOE_MS(300), mapped, 2);
    send_seq(w.sim, w.z, w.ez, FLOE_MS(400), mapped, 3);
    floe_sim_run_until_idle(w.sim, FLOE_SEC(1));
    for (i = 0; i < w.x->n_records; i++)
        mask |= 1u << (rec_seq(&w.x->records[i]) - 1);
    CHECK_EQ(w.x->n_records + dropped(w.sim, FLOE_SIM_DROP_NAT_FILTER), 3);
    natw_free(&w);
    return mask;
}

static void test_nat_filtering_endpoint_independent_passes_all(void)
{
    CHECK_EQ(nat_filter_passes(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT), 7);
}

static void test_nat_filtering_address_dependent_passes_same_ip(void)
{
    CHECK_EQ(nat_filter_passes(FLOE_SIM_NAT_ADDRESS_DEPENDENT), 3);
}

static void test_nat_filtering_address_port_dependent_passes_contacted_only(void)
{
    CHECK_EQ(nat_filter_passes(FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT), 1);
}

/*
 * Filtering is per mapping (RFC 4787 section 5): behind address-dependent
 * mapping and filtering, X:5000 reaches Y through mapping p0 and Z through
 * mapping p1. Z may come in through p1 but not through p0, which only Y's
 * address was sent to, although X:5000 itself has contacted Z.
 */
static void test_nat_filtering_per_mapping(void)
{
    struct floe_sim_nat_config c =
        nat_cfg(FLOE_SIM_NAT_ADDRESS_DEPENDENT, FLOE_SIM_NAT_ADDRESS_DEPENDENT);
    struct floe_addr p0, p1;
    struct natw w;

    natw_make(&w, &c, 14);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(10), w.y1a, 0);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(20), w.za, 0);
    floe_sim_run_until(w.sim, FLOE_MS(100));
    REQUIRE(w.y1->n_records == 1 && w.z->n_records == 1);
    p0 = w.y1->records[0].from;
    p1 = w.z->records[0].from;
    REQUIRE(p0.port != p1.port);
    send_seq(w.sim, w.z, w.ez, FLOE_MS(200), p0, 1);
    send_seq(w.sim, w.z, w.ez, FLOE_MS(300), p1, 2);
    send_seq(w.sim, w.y2, w.ey2, FLOE_MS(400), p0, 3);
    floe_sim_run_until_idle(w.sim, FLOE_SEC(1));
    CHECK_EQ(w.x->n_records, 2);
    CHECK_EQ(dropped(w.sim, FLOE_SIM_DROP_NAT_FILTER), 1);
    if (w.x->n_records == 2) {
        CHECK_EQ(rec_seq(&w.x->records[0]), 2);
        CHECK_EQ(rec_seq(&w.x->records[1]), 3);
    }
    natw_free(&w);
}

static void test_nat_port_preservation_and_collision(void)
{
    struct floe_sim_nat_config c =
        nat_cfg(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, FLOE_SIM_NAT_ENDPOINT_INDEPENDENT);
    struct floe_sim_recorder *x2 = rec_make();
    uint32_t ex2;
    struct natw w;

    c.port_preservation = true;
    natw_make(&w, &c, 13);
    /* A second inside host using the same internal port 5000. */
    ex2 = attach(w.sim, host_make(w.sim, "x2", w.lan, ip4(10, 0, 0, 3)), 5000, "x2",
                 &floe_sim_recorder_ops, x2);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(10), w.y1a, 1);
    send_seq(w.sim, x2, ex2, FLOE_MS(20), w.y1a, 2);
    floe_sim_run_until_idle(w.sim, FLOE_SEC(1));
    REQUIRE(w.y1->n_records == 2);
    CHECK_EQ(w.y1->records[0].from.port, 5000);
    CHECK(w.y1->records[1].from.port != 5000);
    CHECK(w.y1->records[1].from.port >= 1024);
    floe_sim_recorder_free(x2);
    natw_free(&w);
}

/* X contacts Y:3478 at 1 s (and again at refresh_at if non-zero); Y sends back at each time. */
static uint64_t nat_timeout_run(bool inbound_refresh, floe_time refresh_at, const floe_time *back,
                                size_t n_back, uint64_t *no_mapping)
{
    struct floe_sim_nat_config c =
        nat_cfg(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT);
    struct floe_addr mapped;
    struct natw w;
    uint64_t got;
    size_t i;

    c.mapping_timeout = FLOE_SEC(30);
    c.inbound_refresh = inbound_refresh;
    natw_make(&w, &c, 14);
    send_seq(w.sim, w.x, w.ex, FLOE_SEC(1), w.y1a, 0);
    if (refresh_at)
        send_seq(w.sim, w.x, w.ex, refresh_at, w.y1a, 0);
    floe_sim_run_until(w.sim, FLOE_SEC(1) + FLOE_MS(100));
    mapped = w.y1->n_records ? w.y1->records[0].from : w.y1a;
    for (i = 0; i < n_back; i++)
        send_seq(w.sim, w.y1, w.ey1, back[i], mapped, (uint32_t)i + 1);
    floe_sim_run_until_idle(w.sim, FLOE_SEC(200));
    CHECK_EQ(floe_sim_nat_mapping_count(w.sim, w.nat), 0);
    got = w.x->received;
    *no_mapping = dropped(w.sim, FLOE_SIM_DROP_NO_MAPPING);
    natw_free(&w);
    return got;
}

static void test_nat_binding_timeout_and_refresh(void)
{
    const floe_time plain[] = {FLOE_SEC(10), FLOE_SEC(20), FLOE_SEC(32)};
    const floe_time refreshed[] = {FLOE_SEC(50), FLOE_SEC(56)};
    const floe_time inbound[] = {FLOE_SEC(20), FLOE_SEC(45)};
    uint64_t lost;

    /* Expires 30 s after the last outbound packet; inbound does not refresh. */
    CHECK_EQ(nat_timeout_run(false, 0, plain, 3, &lost), 2);
    CHECK_EQ(lost, 1);
    /* An outbound packet at 25 s keeps it until 55 s. */
    CHECK_EQ(nat_timeout_run(false, FLOE_SEC(25), refreshed, 2, &lost), 1);
    CHECK_EQ(lost, 1);
    CHECK_EQ(nat_timeout_run(false, 0, inbound, 2, &lost), 1);
    CHECK_EQ(lost, 1);
    /* With inbound refresh the packet at 20 s keeps it until 50 s. */
    CHECK_EQ(nat_timeout_run(true, 0, inbound, 2, &lost), 2);
    CHECK_EQ(lost, 0);
}

/* A (10.0.0.2:5000) and B (10.0.0.3:6000) behind one NAT; A sends to B's mapping. */
static void hairpin_run(bool hairpin, struct floe_sim_recorder *b, struct floe_addr *a_mapped,
                        uint64_t *dropped_hairpin)
{
    struct floe_sim_nat_config c =
        nat_cfg(FLOE_SIM_NAT_ENDPOINT_INDEPENDENT, FLOE_SIM_NAT_ENDPOINT_INDEPENDENT);
    uint32_t eb;
    struct natw w;

    c.hairpin = hairpin;
    natw_make(&w, &c, 15);
    eb = attach(w.sim, host_make(w.sim, "b", w.lan, ip4(10, 0, 0, 3)), 6000, "b",
                &floe_sim_recorder_ops, b);
    send_seq(w.sim, w.x, w.ex, FLOE_MS(10), w.y1a, 1);
    send_seq(w.sim, b, eb, FLOE_MS(20), w.y1a, 2);
    floe_sim_run_until(w.sim, FLOE_MS(100));
    if (w.y1->n_records == 2) {
        *a_mapped = w.y1->records[0].from;
        send_seq(w.sim, w.x, w.ex, FLOE_MS(200), w.y1->records[1].from, 3);
    }
    floe_sim_run_until_idle(w.sim, FLOE_SEC(1));
    *dropped_hairpin = dropped(w.sim, FLOE_SIM_DROP_HAIRPIN);
    natw_free(&w);
}

static void test_nat_hairpinning_on_and_off(void)
{
    struct floe_sim_recorder *b = rec_make();
    struct floe_addr a_mapped = {0};
    uint64_t hp;

    hairpin_run(true, b, &a_mapped, &hp);
    REQUIRE(b->n_records == 1);
    /* RFC 4787 REQ-9: the source B sees is A's external mapping. */
    CHECK(floe_addr_eq(&b->records[0].from, &a_mapped));
    CHECK_EQ(rec_seq(&b->records[0]), 3);
    CHECK_EQ(hp, 0);
    floe_sim_recorder_free(b);

    b = rec_make();
    hairpin_run(false, b, &a_mapped, &hp);
    CHECK_EQ(b->n_records, 0);
    CHECK_EQ(hp, 1);
    floe_sim_recorder_free(b);
}

static void test_nat_chained_two_levels(void)
{
    struct floe_sim *sim = sim_make(16, NULL);
    struct floe_addr ext1 = ip4(100, 64, 0, 1), ext2 = ip4(203, 0, 113, 1);
    uint32_t inet = net_make(sim, "inet", NULL), mid = net_make(sim, "mid", NULL);
    uint32_t lan = net_make(sim, "lan", NULL), nat1, nat2, hs, ex;
    struct floe_sim_recorder *x = rec_make(), *s = rec_make();
    struct floe_sim_echo echo;
    struct floe_addr echo_addr = floe_addr_v4(198, 51, 100, 1, 7);
    uint32_t i;

    REQUIRE(floe_sim_nat_add(sim, "cgnat", NULL, mid, inet, &ext2, &nat2) == 0);
    REQUIRE(floe_sim_nat_add(sim, "home", NULL, lan, mid, &ext1, &nat1) == 0);
    floe_sim_echo_init(&echo);
    hs = host_make(sim, "s", inet, ip4(198, 51, 100, 1));
    attach(sim, hs, 7, "echo", &floe_sim_echo_ops, &echo);
    attach(sim, hs, 3478, "s", &floe_sim_recorder_ops, s);
    ex = attach(sim, host_make(sim, "x", lan, ip4(10, 0, 0, 2)), 5000, "x", &floe_sim_recorder_ops,
                x);
    send_seq(sim, x, ex, FLOE_MS(1), floe_addr_v4(198, 51, 100, 1, 3478), 0);
    for (i = 1; i <= 3; i++)
        send_seq(sim, x, ex, FLOE_MS(10) * i, floe_addr_v4(198, 51, 100, 1, 7), i);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(1)), 1);
    REQUIRE(s->n_records == 1);
    CHECK(floe_addr_ip_eq(&s->records[0].from, &ext2));
    CHECK_EQ(x->n_records, 3);
    for (i = 0; i < x->n_records; i++)
        CHECK(floe_addr_eq(&x->records[i].from, &echo_addr));
    /* 1 + 3 packets out through both NATs, 3 replies back through both. */
    CHECK_EQ(floe_sim_counters(sim)->translated, 14);
    CHECK_EQ(floe_sim_nat_mapping_count(sim, nat1), 1);
    CHECK_EQ(floe_sim_nat_mapping_count(sim, nat2), 1);
    floe_sim_recorder_free(x);
    floe_sim_recorder_free(s);
    floe_sim_free(sim);
}

/* ------------------------------------------------------------- roaming */

struct roam_ctx {
    uint32_t host, net;
    struct floe_addr ip;
};

static void roam_now(struct floe_sim *sim, void *user)
{
    struct roam_ctx *r = user;

    if (floe_sim_host_roam(sim, r->host, 0, r->net, &r->ip, FLOE_MS(500)) < 0)
        abort();
}

static void test_roaming_with_dead_period(void)
{
    struct floe_sim *sim = sim_make(17, NULL);
    struct floe_addr e1 = ip4(203, 0, 113, 1), e2 = ip4(203, 0, 113, 2);
    uint32_t inet = net_make(sim, "inet", NULL), lan1 = net_make(sim, "wifi", NULL);
    uint32_t lan2 = net_make(sim, "cell", NULL), nat1, nat2, eh, i;
    struct floe_sim_recorder *r = rec_make();
    struct floe_addr old_a = floe_addr_v4(10, 0, 0, 2, 5000),
                     new_a = at_port(ip4(10, 1, 0, 9), 5000);
    struct roam_ctx ctx;
    struct floe_sim_echo echo;

    REQUIRE(floe_sim_nat_add(sim, "nat-wifi", NULL, lan1, inet, &e1, &nat1) == 0);
    REQUIRE(floe_sim_nat_add(sim, "nat-cell", NULL, lan2, inet, &e2, &nat2) == 0);
    floe_sim_echo_init(&echo);
    attach(sim, host_make(sim, "s", inet, ip4(198, 51, 100, 1)), 7, "echo", &floe_sim_echo_ops,
           &echo);
    ctx.host = host_make(sim, "phone", lan1, ip4(10, 0, 0, 2));
    eh = attach(sim, ctx.host, 5000, "phone", &floe_sim_recorder_ops, r);
    ctx.net = lan2;
    ctx.ip = ip4(10, 1, 0, 9);
    for (i = 0; i < 30; i++)
        send_seq(sim, r, eh, FLOE_MS(100) * i, floe_addr_v4(198, 51, 100, 1, 7), i);
    /* Replies take 2 x (5 + 5) ms = 20 ms; the reply to seq 10 is in flight at 1.015 s. */
    REQUIRE(floe_sim_at(sim, FLOE_MS(1015), roam_now, &ctx) == 0);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(10)), 1);
    /* Seq 0-9 before; 1.1-1.5 s sent while dead; 10's reply lands while dead. */
    CHECK_EQ(r->received, 10 + 14);
    CHECK_EQ(dropped(sim, FLOE_SIM_DROP_ROAM_DEAD), 6);
    CHECK_EQ(r->roams, 1);
    CHECK(floe_addr_eq(&r->roam_old, &old_a));
    CHECK(floe_addr_eq(&r->roam_new, &new_a));
    CHECK_EQ(floe_sim_nat_mapping_count(sim, nat1), 1);
    CHECK_EQ(floe_sim_nat_mapping_count(sim, nat2), 1);
    CHECK(r->records[r->n_records - 1].at > FLOE_MS(1515));
    floe_sim_recorder_free(r);
    floe_sim_free(sim);
}

static void test_roaming_rebinds_address_bound_endpoint(void)
{
    struct floe_sim *sim = sim_make(23, NULL);
    uint32_t inet = net_make(sim, "inet", NULL), ep;
    struct floe_addr old_ip = ip4(192, 0, 2, 10), new_ip = ip4(192, 0, 2, 20);
    struct floe_addr bind = at_port(old_ip, 6000), moved = at_port(new_ip, 6000);
    struct floe_addr server = floe_addr_v4(198, 51, 100, 1, 3478);
    struct floe_sim_recorder *r = rec_make(), *s = rec_make();
    struct roam_ctx ctx = {0, inet, new_ip};
    uint32_t es;

    es = attach(sim, host_make(sim, "s", inet, ip4(198, 51, 100, 1)), 3478, "s",
                &floe_sim_recorder_ops, s);
    ctx.host = host_make(sim, "laptop", inet, old_ip);
    REQUIRE(floe_sim_attach(sim, ctx.host, &bind, "laptop", &floe_sim_recorder_ops, r, &ep) == 0);
    REQUIRE(floe_sim_at(sim, FLOE_SEC(1), roam_now, &ctx) == 0);
    send_seq(sim, r, ep, FLOE_SEC(2), server, 1);
    send_seq(sim, s, es, FLOE_SEC(3), bind, 2);
    send_seq(sim, s, es, FLOE_SEC(4), moved, 3);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(10)), 1);
    REQUIRE(s->n_records == 1);
    CHECK(floe_addr_eq(&s->records[0].from, &moved));
    CHECK(floe_addr_eq(&r->roam_new, &moved));
    /* The old address is gone: nothing routes to it any more. */
    CHECK_EQ(dropped(sim, FLOE_SIM_DROP_NO_ROUTE), 1);
    REQUIRE(r->n_records == 1);
    CHECK_EQ(rec_seq(&r->records[0]), 3);
    floe_sim_recorder_free(r);
    floe_sim_recorder_free(s);
    floe_sim_free(sim);
}

/* ---------------------------------------------------------- determinism */

/* A lossy, jittery, reordering NATed echo exchange; returns the transcript. */
static struct membuf lossy_run(uint64_t seed)
{
    struct membuf t = {0};
    struct floe_sim *sim = sim_make(seed, &t);
    struct floe_sim_link l = link_ms(15);
    struct floe_addr ext = ip4(203, 0, 113, 1);
    uint32_t inet, lan, nat, ex, i;
    struct floe_sim_recorder *x = rec_make();
    struct floe_sim_echo echo;

    l.loss = 0.2;
    l.jitter = FLOE_MS(5);
    l.reorder = 0.1;
    inet = net_make(sim, "inet", &l);
    lan = net_make(sim, "lan", &l);
    if (floe_sim_nat_add(sim, "nat", NULL, lan, inet, &ext, &nat) < 0)
        abort();
    floe_sim_echo_init(&echo);
    attach(sim, host_make(sim, "s", inet, ip4(198, 51, 100, 1)), 7, "echo", &floe_sim_echo_ops,
           &echo);
    ex = attach(sim, host_make(sim, "x", lan, ip4(10, 0, 0, 2)), 5000, "x", &floe_sim_recorder_ops,
                x);
    for (i = 0; i < 200; i++)
        send_seq(sim, x, ex, FLOE_MS(3) * i, floe_addr_v4(198, 51, 100, 1, 7), i);
    floe_sim_note(sim, "scenario", "lossy \"echo\"\n");
    if (floe_sim_run_until_idle(sim, FLOE_SEC(10)) != 1)
        abort();
    floe_sim_write_summary(sim);
    floe_sim_recorder_free(x);
    floe_sim_free(sim);
    return t;
}

static void test_same_seed_same_transcript(void)
{
    struct membuf a = lossy_run(99), b = lossy_run(99), c = lossy_run(100);

    CHECK(a.len > 10000);
    CHECK_EQ(a.len, b.len);
    CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    CHECK(a.len != c.len || memcmp(a.p, c.p, a.len) != 0);
    CHECK(membuf_count(&a, "\"reason\":\"loss\"") > 0);
    CHECK(membuf_count(&a, "\"ev\":\"nat-map\"") == 1);
    CHECK(membuf_count(&a, "\"ev\":\"summary\",\"sent\":") == 1);
    CHECK(membuf_count(&a, "\"dropped\":{\"loss\":") == 1);
    CHECK(membuf_count(&a, "lossy \\\"echo\\\"\\u000a") == 1);
    /* Every line is one object. */
    CHECK_EQ(membuf_count(&a, "{\"t_ns\":"), membuf_count(&a, "}\n"));
    free(a.p);
    free(b.p);
    free(c.p);
}

/* ------------------------------------------------- addresses and bases */

static void test_ipv6_and_multiple_bases(void)
{
    struct floe_sim *sim = sim_make(18, NULL);
    uint32_t net = net_make(sim, "inet", NULL), hm, hn, iface, em;
    struct floe_addr m6, n6, m4 = ip4(192, 0, 2, 1), bogus = floe_addr_v4(192, 0, 2, 77, 0);
    struct floe_addr to4 = floe_addr_v4(192, 0, 2, 2, 9001), to6;
    struct floe_sim_recorder *m = rec_make(), *n = rec_make();

    REQUIRE(floe_addr_parse("[2001:db8::1]:0", &m6) == 0);
    REQUIRE(floe_addr_parse("[2001:db8::2]:9001", &to6) == 0);
    n6 = to6;
    hm = host_make(sim, "m", net, m4);
    REQUIRE(floe_sim_host_add_addr(sim, hm, net, &m6, &iface) == 0);
    hn = host_make(sim, "n", net, ip4(192, 0, 2, 2));
    REQUIRE(floe_sim_host_add_addr(sim, hn, net, &n6, &iface) == 0);
    em = attach(sim, hm, 9000, "m", &floe_sim_recorder_ops, m);
    attach(sim, hn, 9001, "n", &floe_sim_recorder_ops, n);
    CHECK_EQ(floe_sim_recorder_send(m, 0, NULL, &to6, "a", 1), 0);
    CHECK_EQ(floe_sim_recorder_send(m, 0, NULL, &to4, "b", 1), 0);
    CHECK_EQ(floe_sim_recorder_send(m, 0, &m4, &to4, "c", 1), 0);
    CHECK_EQ(floe_sim_recorder_send(m, 0, &bogus, &to4, "d", 1), 0);
    CHECK_EQ(floe_sim_recorder_send(m, 0, &m6, &to4, "e", 1), 0);
    CHECK_EQ(floe_sim_endpoint_drive(sim, em), 0);
    CHECK_EQ(floe_sim_run_until_idle(sim, FLOE_SEC(1)), 1);
    REQUIRE(n->n_records == 3);
    m6.port = 9000;
    m4.port = 9000;
    CHECK(floe_addr_eq(&n->records[0].from, &m6));
    CHECK(floe_addr_eq(&n->records[1].from, &m4));
    CHECK(floe_addr_eq(&n->records[2].from, &m4));
    CHECK_EQ(n->records[0].to.family, FLOE_AF_INET6);
    CHECK_EQ(dropped(sim, FLOE_SIM_DROP_BAD_SOURCE), 2);
    floe_sim_recorder_free(m);
    floe_sim_recorder_free(n);
    floe_sim_free(sim);
}

/* ------------------------------------------------ random topologies */

#define PROP_MAX_CLIENTS 8

struct prop_world {
    struct floe_sim *sim;
    struct floe_xoshiro topo; /* the test's own draws, apart from the simulator's RNG */
    uint32_t lans[5], n_lans;
    struct floe_sim_recorder *clients[PROP_MAX_CLIENTS];
    uint32_t n_clients, expect[PROP_MAX_CLIENTS];
    struct floe_sim_echo echo;
};

static uint32_t prop_below(struct prop_world *w, uint32_t n)
{
    return (uint32_t)(floe_xoshiro_next(&w->topo) % n);
}

static struct floe_sim_link prop_link(struct prop_world *w)
{
    struct floe_sim_link l = link_ms(1 + prop_below(w, 30));

    l.jitter = FLOE_MS(prop_below(w, 6));
    l.reorder = prop_below(w, 2) ? 0.05 : 0.0;
    return l;
}

/* Up to four NATs, each translating a new LAN to the internet or to an earlier LAN. */
static void prop_nats(struct prop_world *w)
{
    uint32_t i, n = 1 + prop_below(w, 4);

    for (i = 0; i < n; i++) {
        struct floe_sim_nat_config c;
        struct floe_sim_link l = prop_link(w);
        uint32_t outside = w->lans[prop_below(w, w->n_lans)], nat;
        struct floe_addr ext = ip4(100, 64, (uint8_t)(i + 1), 1);

        floe_sim_nat_config_default(&c);
        c.mapping = (enum floe_sim_nat_kind)prop_below(w, 3);
        c.filtering = (enum floe_sim_nat_kind)prop_below(w, 3);
        c.hairpin = prop_below(w, 2);
        c.port_preservation = prop_below(w, 2);
        w->lans[w->n_lans] = net_make(w->sim, "lan", &l);
        if (floe_sim_nat_add(w->sim, "nat", &c, w->lans[w->n_lans], outside, &ext, &nat) < 0)
            abort();
        w->n_lans++;
    }
}

static void prop_clients(struct prop_world *w)
{
    struct floe_addr server = floe_addr_v4(198, 51, 100, 1, 7);
    uint32_t i, k;

    w->n_clients = 1 + prop_below(w, PROP_MAX_CLIENTS);
    for (i = 0; i < w->n_clients; i++) {
        uint32_t lan = prop_below(w, w->n_lans);
        struct floe_addr ip = ip4(10, (uint8_t)lan, 0, (uint8_t)(i + 2));
        uint16_t port = (uint16_t)(4000 + prop_below(w, 3));
        uint32_t ep;

        w->clients[i] = rec_make();
        ep = attach(w->sim, host_make(w->sim, "c", w->lans[lan], ip), port, "c",
                    &floe_sim_recorder_ops, w->clients[i]);
        w->expect[i] = 1 + prop_below(w, 20);
        for (k = 0; k < w->expect[i]; k++)
            send_seq(w->sim, w->clients[i], ep, FLOE_MS(prop_below(w, 5000)), server, k);
    }
}

/* Build and run one random world; returns its transcript. */
static struct membuf prop_run(uint64_t seed)
{
    struct membuf t = {0};
    struct floe_sim_config cfg;
    struct floe_sim_link l;
    struct prop_world w;
    uint32_t i;

    memset(&w, 0, sizeof(w));
    floe_xoshiro_seed(&w.topo, seed);
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.transcript = membuf_write;
    cfg.transcript_user = &t;
    cfg.check = check_conservation;
    if (floe_sim_new(&cfg, &w.sim) < 0)
        abort();
    l = prop_link(&w);
    w.lans[w.n_lans++] = net_make(w.sim, "inet", &l);
    prop_nats(&w);
    floe_sim_echo_init(&w.echo);
    attach(w.sim, host_make(w.sim, "s", w.lans[0], ip4(198, 51, 100, 1)), 7, "echo",
           &floe_sim_echo_ops, &w.echo);
    prop_clients(&w);
    CHECK_EQ(floe_sim_run_until_idle(w.sim, FLOE_SEC(60)), 1);
    /* No loss configured: every request gets exactly its reply, from the server. */
    for (i = 0; i < w.n_clients; i++) {
        struct floe_sim_recorder *r = w.clients[i];

        CHECK_EQ(r->received, w.expect[i]);
        CHECK(r->n_records == 0 || r->records[0].from.port == 7);
        floe_sim_recorder_free(r);
    }
    CHECK_EQ(floe_sim_counters(w.sim)->delivered, floe_sim_counters(w.sim)->sent);
    floe_sim_free(w.sim);
    return t;
}

static void test_property_random_topologies(void)
{
    uint64_t base = floe_test_seed();
    int i;

    for (i = 0; i < 40; i++) {
        int before = floe_test_failures_in_current;
        struct membuf a = prop_run(base + (uint64_t)i), b = prop_run(base + (uint64_t)i);

        CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
        if (floe_test_failures_in_current != before)
            fprintf(stderr, "  failing world: seed %" PRIu64 "\n", base + (uint64_t)i);
        free(a.p);
        free(b.p);
    }
}

/* ------------------------------------------------------------ API rules */

struct failing_alloc {
    int left; /* allocations that succeed before the first failure */
};

static void *fail_malloc(size_t size, void *user)
{
    struct failing_alloc *f = user;

    if (f->left-- <= 0)
        return NULL;
    return malloc(size);
}

static void fail_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void test_allocation_failures_are_clean(void)
{
    struct floe_sim_config cfg;
    struct failing_alloc fa;
    struct floe_sim *sim = NULL;
    struct floe_addr ext = ip4(203, 0, 113, 1);
    uint32_t a = 0, b = 0, nat = 0;
    int n, rc = FLOE_ERR_NOMEM;

    floe_sim_config_default(&cfg);
    cfg.alloc.malloc_fn = fail_malloc;
    cfg.alloc.free_fn = fail_free;
    cfg.alloc.user = &fa;
    for (n = 0; n < 64 && rc == FLOE_ERR_NOMEM; n++) {
        fa.left = n;
        rc = floe_sim_new(&cfg, &sim);
        if (rc < 0)
            continue;
        floe_sim_net_add(sim, "a", NULL, &a);
        floe_sim_net_add(sim, "b", NULL, &b);
        rc = floe_sim_nat_add(sim, "nat", NULL, b, a, &ext, &nat);
        CHECK(rc == 0 || rc == FLOE_ERR_NOMEM);
        CHECK_EQ(floe_sim_nat_mapping_count(sim, nat), 0);
        floe_sim_free(sim);
    }
    CHECK_EQ(rc, 0);
    CHECK(n > 10);
}

static void test_api_misuse_rejected(void)
{
    struct floe_sim *sim = sim_make(19, NULL);
    struct floe_sim_config cfg;
    struct floe_sim *bad = NULL;
    struct floe_addr ext = ip4(203, 0, 113, 1), dup = ip4(192, 0, 2, 1), any = {0};
    struct floe_addr lan_ip = ip4(10, 0, 0, 1), ext2 = ip4(203, 0, 113, 2);
    uint32_t inet = net_make(sim, "inet", NULL), lan = net_make(sim, "lan", NULL);
    uint32_t h = host_make(sim, "h", inet, dup), id;
    struct floe_sim_echo echo;

    floe_sim_config_default(&cfg);
    cfg.max_packets = 0;
    CHECK_EQ(floe_sim_new(&cfg, &bad), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_host_add_addr(sim, h, inet, &dup, &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_nat_add(sim, "n", NULL, lan, lan, &ext, &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_nat_add(sim, "n", NULL, lan, inet, &dup, &id), FLOE_ERR_INVALID_ARG);
    REQUIRE(floe_sim_nat_add(sim, "n", NULL, lan, inet, &ext, &id) == 0);
    /* Loops and a second NAT on one inside network are refused. */
    CHECK_EQ(floe_sim_nat_add(sim, "m", NULL, inet, lan, &lan_ip, &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_nat_add(sim, "m", NULL, lan, inet, &ext2, &id), FLOE_ERR_INVALID_ARG);
    floe_sim_echo_init(&echo);
    CHECK_EQ(floe_sim_attach(sim, h, &any, "e", &floe_sim_echo_ops, &echo, &id),
             FLOE_ERR_INVALID_ARG);
    any.port = 7;
    CHECK_EQ(floe_sim_attach(sim, h, &any, "e", &floe_sim_echo_ops, &echo, &id), 0);
    CHECK_EQ(floe_sim_attach(sim, h, &any, "e", &floe_sim_echo_ops, &echo, &id),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_host_roam(sim, h, 0, inet, &dup, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_sim_net_set_blackhole(sim, 99, true), FLOE_ERR_INVALID_ARG);
    CHECK_STR(floe_sim_drop_name(FLOE_SIM_DROP_ROAM_DEAD), "roam-dead");
    CHECK_STR(floe_sim_drop_name(FLOE_SIM_DROP_COUNT), "unknown");
    floe_sim_free(sim);
}

struct stop_after {
    int steps;
};

static int stop_at_third_step(struct floe_sim *sim, void *user)
{
    struct stop_after *s = user;

    (void)sim;
    return ++s->steps == 3 ? FLOE_ERR_PROTOCOL : 0;
}

static void test_invariant_hook_stops_the_run(void)
{
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;
    struct stop_after stop = {0};
    struct pair p;
    uint32_t i;

    floe_sim_config_default(&cfg);
    cfg.check = stop_at_third_step;
    cfg.check_user = &stop;
    REQUIRE(floe_sim_new(&cfg, &sim) == 0);
    pair_init(&p, sim, NULL);
    for (i = 0; i < 10; i++)
        send_seq(sim, p.a, p.ea, FLOE_MS(10) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until(sim, FLOE_SEC(1)), FLOE_ERR_PROTOCOL);
    CHECK_EQ(stop.steps, 3);
    CHECK_EQ(floe_sim_counters(sim)->events, 3);
    pair_free(&p);
}

/* An object whose deadline is always already due: a busy loop. */
static void spin_input(void *obj, floe_time now, const struct floe_addr *from,
                       const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    (void)obj, (void)now, (void)from, (void)to, (void)bytes, (void)len;
}

static int spin_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                         struct floe_addr *from, struct floe_addr *to)
{
    (void)obj, (void)now, (void)buf, (void)cap, (void)len, (void)from, (void)to;
    return 0;
}

static floe_time spin_timeout(void *obj)
{
    (void)obj;
    return 0;
}

static void test_busy_timer_is_reported(void)
{
    static const struct floe_sim_endpoint_ops spin = {
        .handle_input = spin_input,
        .poll_transmit = spin_transmit,
        .poll_timeout = spin_timeout,
    };
    struct floe_sim *sim = sim_make(21, NULL);
    uint32_t net = net_make(sim, "n", NULL);

    attach(sim, host_make(sim, "h", net, ip4(192, 0, 2, 1)), 1, "spin", &spin, NULL);
    CHECK_EQ(floe_sim_run_until(sim, FLOE_SEC(1)), FLOE_ERR_STATE);
    CHECK_EQ(floe_sim_now(sim), 0);
    CHECK(floe_sim_counters(sim)->timeouts > 1000);
    floe_sim_free(sim);
}

static bool got_three(struct floe_sim *sim, void *user)
{
    (void)sim;
    return ((struct floe_sim_recorder *)user)->n_records >= 3;
}

static void test_run_until_predicate(void)
{
    struct floe_sim_link l = link_ms(10);
    struct pair p;
    uint32_t i;

    pair_make(&p, 22, &l, NULL);
    for (i = 0; i < 10; i++)
        send_seq(p.sim, p.a, p.ea, FLOE_MS(100) * i, p.to_b, i);
    CHECK_EQ(floe_sim_run_until_pred(p.sim, got_three, p.b, FLOE_SEC(10)), 1);
    CHECK_EQ(floe_sim_now(p.sim), FLOE_MS(210));
    CHECK_EQ(p.b->n_records, 3);
    CHECK_EQ(floe_sim_next_time(p.sim), FLOE_MS(300));
    CHECK_EQ(floe_sim_run_until_pred(p.sim, got_three, p.b, FLOE_SEC(10)), 1);
    CHECK_EQ(floe_sim_run_until_pred(p.sim, got_three, p.a, FLOE_SEC(10)), 0);
    CHECK_EQ(p.b->n_records, 10);
    pair_free(&p);
}

/* A scenario for the --seeds summary: seeds 2 and 5 fail, seed k has an outage of k * 100 ms. */
static int sweep_fake_run(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v)
{
    v->pass = so->seed != 2 && so->seed != 5;
    floe_sim_verdict_outage(v, FLOE_MS(100) * so->seed);
    return 0;
}

/* Run floe_cli_sim_sweep over seeds 1..n into buf; returns the exit code. */
static int sweep_run(uint64_t n, bool json, char *buf, size_t cap)
{
    static const struct floe_sim_scenario sc = {"fake", "seeds 2 and 5 fail", sweep_fake_run,
                                                false};
    struct floe_cli_sim_opts o;
    FILE *f = tmpfile();
    size_t got;
    int rc;

    if (!f) {
        CHECK(f != NULL);
        return -1;
    }
    memset(&o, 0, sizeof(o));
    o.scenario = "fake";
    o.seeds = n;
    o.json = json;
    rc = floe_cli_sim_sweep(&o, &sc, f);
    rewind(f);
    got = fread(buf, 1, cap - 1, f);
    buf[got] = '\0';
    fclose(f);
    return rc;
}

/*
 * floe sim --seeds: one summary line (runs, failures, the failing seeds, outage
 * p50/p99/max by nearest rank), exit 1 when a seed fails, 0 when none does.
 */
static void test_cli_sweep_summary(void)
{
    char buf[512];

    CHECK_EQ(sweep_run(6, false, buf, sizeof(buf)), 1);
    CHECK_STR(buf, "fake: seeds 1..6: 6 runs, 2 verdict failures; data outage p50 300.0 ms, "
                   "p99 600.0 ms, max 600.0 ms (6 roams); failed seeds: 2 5\n");
    CHECK_EQ(sweep_run(6, true, buf, sizeof(buf)), 1);
    CHECK_STR(buf, "{\"scenario\":\"fake\",\"seeds\":6,\"runs\":6,\"failures\":2,"
                   "\"failed_seeds\":[2,5],\"outage_ms\":{\"roams\":6,\"p50\":300.000,"
                   "\"p99\":600.000,\"max\":600.000}}\n");
    CHECK_EQ(sweep_run(1, false, buf, sizeof(buf)), 0);
    CHECK_STR(buf, "fake: seeds 1..1: 1 runs, 0 verdict failures; data outage p50 100.0 ms, "
                   "p99 100.0 ms, max 100.0 ms (1 roams)\n");
}

int main(void)
{
    FLOE_RUN(test_echo_round_trip_takes_two_latencies);
    FLOE_RUN(test_latency_and_jitter_bounds);
    FLOE_RUN(test_fifo_unless_reordering);
    FLOE_RUN(test_loss_rate_within_bounds);
    FLOE_RUN(test_blackhole_drops_while_on);
    FLOE_RUN(test_bounded_queue_and_rate);
    FLOE_RUN(test_two_roots_cross_the_core);
    FLOE_RUN(test_packet_pool_bound);
    FLOE_RUN(test_nat_mapping_endpoint_independent_reuses_port);
    FLOE_RUN(test_nat_mapping_address_dependent_per_remote_ip);
    FLOE_RUN(test_nat_mapping_address_port_dependent_per_remote_endpoint);
    FLOE_RUN(test_nat_filtering_endpoint_independent_passes_all);
    FLOE_RUN(test_nat_filtering_address_dependent_passes_same_ip);
    FLOE_RUN(test_nat_filtering_address_port_dependent_passes_contacted_only);
    FLOE_RUN(test_nat_filtering_per_mapping);
    FLOE_RUN(test_cli_sweep_summary);
    FLOE_RUN(test_nat_port_preservation_and_collision);
    FLOE_RUN(test_nat_binding_timeout_and_refresh);
    FLOE_RUN(test_nat_hairpinning_on_and_off);
    FLOE_RUN(test_nat_chained_two_levels);
    FLOE_RUN(test_roaming_with_dead_period);
    FLOE_RUN(test_roaming_rebinds_address_bound_endpoint);
    FLOE_RUN(test_same_seed_same_transcript);
    FLOE_RUN(test_ipv6_and_multiple_bases);
    FLOE_RUN(test_property_random_topologies);
    FLOE_RUN(test_allocation_failures_are_clean);
    FLOE_RUN(test_api_misuse_rejected);
    FLOE_RUN(test_invariant_hook_stops_the_run);
    FLOE_RUN(test_busy_timer_is_reported);
    FLOE_RUN(test_run_until_predicate);
    return floe_test_summary();
}
