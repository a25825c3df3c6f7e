/*
 * floe-gateway's packet filter (apps/floe-gateway/filter.h): source checks, resources and
 * their protocol/port filters, replies, expiry, revocation, resource updates and deletes,
 * malformed packets counted per reason, a failing allocator, and a property test: random
 * authorizations and random packets of both families, every verdict checked against a
 * brute-force reference written from the header's rules (the seed is printed for replay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "floe/iptrie.h"
#include "test.h"

/* ----------------------------------------------------------- packet builders */

struct tpkt {
    uint8_t b[128];
    size_t len;
};

/* An IPv4 packet src -> dst with protocol proto, dport (TCP/UDP), frag: MF set. */
static struct tpkt pkt4(const char *src, const char *dst, uint8_t proto, uint16_t dport, bool frag)
{
    struct tpkt p;
    struct floe_addr s, d;

    memset(&p, 0, sizeof(p));
    if (floe_addr_parse_ip(src, &s) != 0 || floe_addr_parse_ip(dst, &d) != 0)
        abort();
    p.len = 40;
    p.b[0] = 0x45;
    floe_store_be16(p.b + 2, (uint16_t)p.len);
    if (frag)
        p.b[6] = 0x20;
    p.b[8] = 64;
    p.b[9] = proto;
    memcpy(p.b + 12, s.ip, 4);
    memcpy(p.b + 16, d.ip, 4);
    floe_store_be16(p.b + 20, 40000);
    floe_store_be16(p.b + 22, dport);
    return p;
}

/* An IPv6 packet; frag: a fragment header before the L4 header. */
static struct tpkt pkt6(const char *src, const char *dst, uint8_t proto, uint16_t dport, bool frag)
{
    struct tpkt p;
    struct floe_addr s, d;
    size_t l4 = frag ? 48 : 40;

    memset(&p, 0, sizeof(p));
    if (floe_addr_parse_ip(src, &s) != 0 || floe_addr_parse_ip(dst, &d) != 0)
        abort();
    p.len = l4 + 20;
    p.b[0] = 0x60;
    floe_store_be16(p.b + 4, (uint16_t)(p.len - 40));
    p.b[6] = frag ? 44 : proto;
    p.b[7] = 64;
    memcpy(p.b + 8, s.ip, 16);
    memcpy(p.b + 24, d.ip, 16);
    if (frag) {
        p.b[40] = proto;
        p.b[43] = 1; /* M */
    }
    floe_store_be16(p.b + l4, 40000);
    floe_store_be16(p.b + l4 + 2, dport);
    return p;
}

static struct floe_portal_resource res(const char *id, const char *cidr)
{
    struct floe_portal_resource r;
    struct floe_prefix p;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.name, sizeof(r.name), "%s", id);
    if (floe_prefix_parse(cidr, &p) != 0)
        abort();
    r.address.addr.family = p.family;
    memcpy(r.address.addr.ip, p.ip, 16);
    r.address.prefix = p.len;
    return r;
}

static void add_filter(struct floe_portal_resource *r, uint8_t proto, uint16_t lo, uint16_t hi)
{
    r->filters[r->n_filters].protocol = proto;
    r->filters[r->n_filters].port_start = lo;
    r->filters[r->n_filters].port_end = hi;
    r->n_filters++;
}

static int authz(struct floe_gwfilter *f, const char *client, uint64_t cid, const char *v4,
                 const char *v6, const struct floe_portal_resource *r, uint64_t expires_at)
{
    struct floe_gwfilter_auth a;

    memset(&a, 0, sizeof(a));
    a.client_id = client;
    a.cid = cid;
    if (v4 && floe_addr_parse_ip(v4, &a.ipv4) != 0)
        abort();
    if (v6 && floe_addr_parse_ip(v6, &a.ipv6) != 0)
        abort();
    a.res = r;
    a.expires_at = expires_at;
    return floe_gwfilter_authorize(f, &a);
}

static struct floe_gwfilter *mk(void)
{
    struct floe_gwfilter_config cfg;
    struct floe_gwfilter *f = NULL;

    floe_gwfilter_config_default(&cfg);
    if (floe_gwfilter_new(&f, &cfg) != 0)
        abort();
    return f;
}

#define FROM(f, now, cid, p) floe_gwfilter_from_client((f), (now), (cid), (p).b, (p).len)

/* --------------------------------------------------------------- the cases */

static void test_source_and_destination(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource db = res("res-db", "10.20.0.0/16");
    struct tpkt p;

    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", "fd00:2021:1111::5", &db, 0) == 0);
    CHECK_EQ(floe_gwfilter_clients(f), 1);
    CHECK_EQ(floe_gwfilter_client_cid(f, "dev-1"), 7);
    p = pkt4("100.64.0.5", "10.20.3.4", 6, 22, false);
    CHECK_EQ(FROM(f, 100, 7, p), FLOE_GWF_PASS);
    /* another connection sending the client's address: no client there */
    CHECK_EQ(FROM(f, 100, 8, p), FLOE_GWF_DROP_NO_CLIENT);
    p = pkt4("100.64.0.6", "10.20.3.4", 6, 22, false);
    CHECK_EQ(FROM(f, 100, 7, p), FLOE_GWF_DROP_SPOOFED);
    p = pkt4("100.64.0.5", "10.21.0.1", 6, 22, false);
    CHECK_EQ(FROM(f, 100, 7, p), FLOE_GWF_DROP_NO_RESOURCE);
    /* IPv6 from the client toward an IPv4-only resource: nothing */
    p = pkt6("fd00:2021:1111::5", "fd00::1", 6, 22, false);
    CHECK_EQ(FROM(f, 100, 7, p), FLOE_GWF_DROP_NO_RESOURCE);
    CHECK_EQ(floe_gwfilter_drops(f, FLOE_GWF_DROP_NO_CLIENT), 1);
    CHECK_EQ(floe_gwfilter_drops(f, FLOE_GWF_DROP_SPOOFED), 1);
    CHECK_EQ(floe_gwfilter_drops(f, FLOE_GWF_DROP_NO_RESOURCE), 2);
    CHECK_EQ(floe_gwfilter_drops(f, FLOE_GWF_PASS), 0);
    CHECK_STR(floe_gwfilter_verdict_name(FLOE_GWF_DROP_SPOOFED), "spoofed");
    CHECK_STR(floe_gwfilter_verdict_name(FLOE_GWF_VERDICT_COUNT), "unknown");
    floe_gwfilter_free(f);
}

static void test_port_and_protocol_filters(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource db = res("res-db", "10.20.0.0/16");
    struct floe_portal_resource v6 = res("res-v6", "2001:db8::/32");
    struct tpkt p;

    add_filter(&db, FLOE_PORTAL_PROTO_TCP, 5432, 5432);
    add_filter(&db, FLOE_PORTAL_PROTO_ICMP, 0, 0);
    add_filter(&v6, FLOE_PORTAL_PROTO_UDP, 0, 65535);
    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", "fd00:2021:1111::5", &db, 0) == 0);
    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", "fd00:2021:1111::5", &v6, 0) == 0);
    CHECK_EQ(floe_gwfilter_auths(f), 2);
    p = pkt4("100.64.0.5", "10.20.0.1", 6, 5432, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_PASS);
    p = pkt4("100.64.0.5", "10.20.0.1", 6, 5433, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    p = pkt4("100.64.0.5", "10.20.0.1", 17, 5432, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    p = pkt4("100.64.0.5", "10.20.0.1", 1, 0, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_PASS);
    /* a TCP fragment has no ports: only a whole-range filter lets it through */
    p = pkt4("100.64.0.5", "10.20.0.1", 6, 5432, true);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    p = pkt6("fd00:2021:1111::5", "2001:db8::9", 17, 53, true);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_PASS);
    p = pkt6("fd00:2021:1111::5", "2001:db8::9", 6, 53, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    /* ICMPv4's number over IPv6 is not ICMPv6 */
    p = pkt6("fd00:2021:1111::5", "2001:db8::9", 1, 0, false);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    floe_gwfilter_free(f);
}

static void test_replies(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource db = res("res-db", "10.20.0.0/16");
    struct tpkt p;
    uint64_t cid = 0;

    add_filter(&db, FLOE_PORTAL_PROTO_TCP, 5432, 5432);
    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", NULL, &db, 0) == 0);
    REQUIRE(authz(f, "dev-2", 9, "100.64.0.6", NULL, &db, 0) == 0);
    p = pkt4("10.20.0.1", "100.64.0.6", 6, 40000, false);
    CHECK_EQ(floe_gwfilter_to_client(f, 1, p.b, p.len, &cid), FLOE_GWF_PASS);
    CHECK_EQ(cid, 9);
    p = pkt4("10.20.0.1", "100.64.0.7", 6, 40000, false);
    CHECK_EQ(floe_gwfilter_to_client(f, 1, p.b, p.len, &cid), FLOE_GWF_DROP_NO_CLIENT);
    p = pkt4("10.99.0.1", "100.64.0.5", 6, 40000, false);
    CHECK_EQ(floe_gwfilter_to_client(f, 1, p.b, p.len, &cid), FLOE_GWF_DROP_NO_RESOURCE);
    /* a second client may not take the first one's tunnel address */
    CHECK_EQ(authz(f, "dev-3", 11, "100.64.0.5", NULL, &db, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_gwfilter_clients(f), 2);
    floe_gwfilter_free(f);
}

static void test_expiry_and_revocation(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource a = res("res-a", "10.1.0.0/16");
    struct floe_portal_resource b = res("res-b", "10.2.0.0/16");
    struct floe_gwfilter_gone g;
    struct tpkt pa = pkt4("100.64.0.5", "10.1.0.1", 6, 80, false);
    struct tpkt pb = pkt4("100.64.0.5", "10.2.0.1", 6, 80, false);

    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", NULL, &a, 1000) == 0);
    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", NULL, &b, 0) == 0);
    CHECK_EQ(floe_gwfilter_next_expiry(f), 1000);
    CHECK_EQ(FROM(f, 999, 7, pa), FLOE_GWF_PASS);
    /* expired at once for packets, before any floe_gwfilter_expire */
    CHECK_EQ(FROM(f, 1000, 7, pa), FLOE_GWF_DROP_EXPIRED);
    CHECK_EQ(floe_gwfilter_set_expiry(f, "dev-1", "res-a", 2000), 0);
    CHECK_EQ(FROM(f, 1000, 7, pa), FLOE_GWF_PASS);
    CHECK_EQ(floe_gwfilter_expire(f, 1999), 0);
    CHECK_EQ(floe_gwfilter_expire(f, 2000), 1);
    CHECK_EQ(FROM(f, 2000, 7, pa), FLOE_GWF_DROP_NO_RESOURCE);
    CHECK_EQ(floe_gwfilter_poll_gone(f, &g), 0); /* res-b is left */
    CHECK_EQ(floe_gwfilter_next_expiry(f), UINT64_MAX);
    CHECK_EQ(FROM(f, 2000, 7, pb), FLOE_GWF_PASS);
    CHECK_EQ(floe_gwfilter_revoke(f, "dev-1", "res-a"), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_gwfilter_revoke(f, "dev-1", "res-b"), 0);
    CHECK_EQ(FROM(f, 2000, 7, pb), FLOE_GWF_DROP_NO_CLIENT);
    REQUIRE(floe_gwfilter_poll_gone(f, &g) == 1);
    CHECK_EQ(g.cid, 7);
    CHECK_STR(g.client_id, "dev-1");
    CHECK_EQ(floe_gwfilter_poll_gone(f, &g), 0);
    CHECK_EQ(floe_gwfilter_clients(f), 0);
    CHECK_EQ(floe_gwfilter_auths(f), 0);
    /* the address is free again */
    CHECK_EQ(authz(f, "dev-9", 12, "100.64.0.5", NULL, &a, 0), 0);
    floe_gwfilter_free(f);
}

static void test_resource_update_and_delete(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource a = res("res-a", "10.1.0.0/16");
    struct floe_gwfilter_gone g;
    struct tpkt p = pkt4("100.64.0.5", "10.1.0.1", 6, 80, false);
    struct tpkt q = pkt4("100.64.0.6", "10.1.0.1", 6, 80, false);

    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", NULL, &a, 0) == 0);
    REQUIRE(authz(f, "dev-2", 8, "100.64.0.6", NULL, &a, 0) == 0);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_PASS);
    add_filter(&a, FLOE_PORTAL_PROTO_TCP, 443, 443);
    CHECK_EQ(floe_gwfilter_update_resource(f, &a), 2);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_FILTERED);
    CHECK_EQ(FROM(f, 1, 8, q), FLOE_GWF_DROP_FILTERED);
    CHECK_EQ(floe_gwfilter_delete_resource(f, "res-a"), 2);
    CHECK_EQ(floe_gwfilter_clients(f), 0);
    CHECK_EQ(floe_gwfilter_poll_gone(f, &g), 1);
    CHECK_EQ(floe_gwfilter_poll_gone(f, &g), 1);
    CHECK_EQ(floe_gwfilter_poll_gone(f, &g), 0);
    CHECK_EQ(floe_gwfilter_delete_resource(f, "res-a"), 0);
    floe_gwfilter_free(f);
}

static void test_malformed_and_bad_args(void)
{
    struct floe_gwfilter *f = mk();
    struct floe_portal_resource a = res("res-a", "0.0.0.0/0");
    struct tpkt p = pkt4("100.64.0.5", "10.1.0.1", 6, 80, false);
    uint8_t junk[64] = {0x45, 0};
    uint64_t cid;
    char long_id[80];

    REQUIRE(authz(f, "dev-1", 7, "100.64.0.5", NULL, &a, 0) == 0);
    CHECK_EQ(floe_gwfilter_from_client(f, 1, 7, p.b, 23), FLOE_GWF_DROP_MALFORMED);
    CHECK_EQ(floe_gwfilter_from_client(f, 1, 7, p.b, 19), FLOE_GWF_DROP_MALFORMED);
    CHECK_EQ(floe_gwfilter_from_client(f, 1, 7, NULL, 0), FLOE_GWF_DROP_MALFORMED);
    junk[0] = 0x4f; /* IHL 60 beyond a 20-byte packet */
    CHECK_EQ(floe_gwfilter_from_client(f, 1, 7, junk, 20), FLOE_GWF_DROP_MALFORMED);
    junk[0] = 0x55;
    CHECK_EQ(floe_gwfilter_to_client(f, 1, junk, sizeof(junk), &cid), FLOE_GWF_DROP_MALFORMED);
    CHECK_EQ(floe_gwfilter_drops(f, FLOE_GWF_DROP_MALFORMED), 5);
    /* a total length shorter than the ports: malformed, the trailing bytes ignored */
    floe_store_be16(p.b + 2, 21);
    CHECK_EQ(FROM(f, 1, 7, p), FLOE_GWF_DROP_MALFORMED);
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    CHECK_EQ(authz(f, long_id, 7, "100.64.0.8", NULL, &a, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(authz(f, "", 7, "100.64.0.8", NULL, &a, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(authz(f, "dev-2", 0, "100.64.0.8", NULL, &a, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(authz(f, "dev-2", 3, NULL, NULL, &a, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(authz(f, "dev-2", 3, "fd00::1", NULL, &a, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_gwfilter_revoke(f, NULL, "x"), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_gwfilter_set_expiry(f, "nobody", "res-a", 5), FLOE_ERR_NOT_FOUND);
    floe_gwfilter_free(f);
    floe_gwfilter_free(NULL);
}

static void test_capacity_and_failmalloc(void)
{
    struct floe_gwfilter_config cfg;
    struct floe_gwfilter *f = NULL;
    struct floe_portal_resource r[3] = {res("r0", "10.0.0.0/8"), res("r1", "10.1.0.0/16"),
                                        res("r2", "10.2.0.0/16")};
    struct floe_test_failmalloc fm;

    floe_gwfilter_config_default(&cfg);
    cfg.max_clients = 1;
    cfg.max_auths = 2;
    REQUIRE(floe_gwfilter_new(&f, &cfg) == 0);
    CHECK_EQ(authz(f, "a", 1, "100.64.0.1", NULL, &r[0], 0), 0);
    CHECK_EQ(authz(f, "a", 1, "100.64.0.1", NULL, &r[1], 0), 0);
    CHECK_EQ(authz(f, "a", 1, "100.64.0.1", NULL, &r[2], 0), FLOE_ERR_NOMEM);
    CHECK_EQ(authz(f, "b", 2, "100.64.0.2", NULL, &r[0], 0), FLOE_ERR_NOMEM);
    CHECK_EQ(floe_gwfilter_auths(f), 2);
    floe_gwfilter_free(f);
    for (long n = 0;; n++) {
        int rc;

        memset(&fm, 0, sizeof(fm));
        fm.fail_at = n;
        floe_gwfilter_config_default(&cfg);
        cfg.alloc.malloc_fn = floe_test_failmalloc_malloc;
        cfg.alloc.realloc_fn = floe_test_failmalloc_realloc;
        cfg.alloc.free_fn = floe_test_failmalloc_free;
        cfg.alloc.user = &fm;
        f = NULL;
        rc = floe_gwfilter_new(&f, &cfg);
        for (int i = 0; rc == 0 && i < 3; i++)
            rc = authz(f, "a", 1, "100.64.0.1", "fd00::1", &r[i], 0);
        floe_gwfilter_free(f);
        CHECK(rc == 0 || rc == FLOE_ERR_NOMEM);
        if (fm.failed == 0) {
            CHECK_EQ(rc, 0);
            break;
        }
    }
}

/* ------------------------------------------------- property: the reference */

#define P_CLIENTS 6
#define P_RES 10

struct ref_auth {
    bool on;
    uint64_t expires_at;
};

struct ref {
    struct floe_portal_resource res[P_RES];
    char v4[P_CLIENTS][32], v6[P_CLIENTS][48];
    struct ref_auth auth[P_CLIENTS][P_RES];
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(floe_test_next(&rng_state) % n);
}

static bool ref_has_client(const struct ref *r, int c)
{
    for (int k = 0; k < P_RES; k++) {
        if (r->auth[c][k].on)
            return true;
    }
    return false;
}

static bool ref_filter_ok(const struct floe_portal_resource *res, bool v6, uint8_t proto,
                          uint16_t port, bool frag)
{
    if (res->n_filters == 0)
        return true;
    for (uint32_t i = 0; i < res->n_filters; i++) {
        const struct floe_portal_filter *fl = &res->filters[i];

        if (fl->protocol == FLOE_PORTAL_PROTO_ICMP && proto == (v6 ? 58 : 1))
            return true;
        if (fl->protocol != FLOE_PORTAL_PROTO_ICMP && fl->protocol == proto &&
            (frag ? fl->port_start == 0 && fl->port_end == 65535
                  : port >= fl->port_start && port <= fl->port_end))
            return true;
    }
    return false;
}

static bool ref_in(const struct floe_portal_resource *res, const char *ip)
{
    struct floe_addr a;
    struct floe_prefix p;

    if (floe_addr_parse_ip(ip, &a) != 0 || a.family != res->address.addr.family)
        return false;
    p.family = a.family;
    memcpy(p.ip, res->address.addr.ip, 16);
    p.len = res->address.prefix;
    return floe_prefix_contains(&p, a.ip);
}

/* The verdict the header's rules give for an address of client c (ports when ports). */
static int ref_judge(const struct ref *r, int c, uint64_t now, const char *ip, bool v6,
                     uint8_t proto, uint16_t port, bool frag, bool ports)
{
    bool any_live = false, any_dead = false;

    for (int k = 0; k < P_RES; k++) {
        const struct ref_auth *au = &r->auth[c][k];

        if (!au->on || !ref_in(&r->res[k], ip))
            continue;
        if (au->expires_at && now >= au->expires_at) {
            any_dead = true;
            continue;
        }
        if (!ports || ref_filter_ok(&r->res[k], v6, proto, port, frag))
            return FLOE_GWF_PASS;
        any_live = true;
    }
    if (any_live)
        return FLOE_GWF_DROP_FILTERED;
    return any_dead ? FLOE_GWF_DROP_EXPIRED : FLOE_GWF_DROP_NO_RESOURCE;
}

static const char *const p_cidrs[P_RES] = {
    "10.0.0.0/8", "10.1.0.0/16",   "10.1.2.0/24",     "10.1.2.3/32", "192.168.0.0/16",
    "0.0.0.0/0",  "2001:db8::/32", "2001:db8:1::/48", "::/0",        "2001:db8:1::7/128",
};
static const char *const p_ips4[] = {"10.1.2.3", "10.1.2.4", "10.9.0.1", "192.168.7.7", "8.8.8.8"};
static const char *const p_ips6[] = {"2001:db8:1::7", "2001:db8:1::8", "2001:db8:2::1",
                                     "2001:db9::1"};
static const uint8_t p_protos[] = {6, 17, 1, 58, 47};
static const uint16_t p_edges[] = {0, 99, 100, 101, 200, 201, 300, 65535}; /* ranges' ends */

static void prop_setup(struct ref *r)
{
    memset(r, 0, sizeof(*r));
    for (int k = 0; k < P_RES; k++) {
        char id[16];

        snprintf(id, sizeof(id), "res-%d", k);
        r->res[k] = res(id, p_cidrs[k]);
        for (uint32_t n = rnd(4); n > 0; n--) {
            uint8_t proto = (uint8_t[]){6, 17, 1}[rnd(3)];
            uint16_t lo = (uint16_t)rnd(3) * 100, hi = (uint16_t)(lo + rnd(3) * 100);

            if (rnd(4) == 0) {
                lo = 0;
                hi = 65535;
            }
            add_filter(&r->res[k], proto, proto == 1 ? 0 : lo, proto == 1 ? 0 : hi);
        }
    }
    for (int c = 0; c < P_CLIENTS; c++) {
        snprintf(r->v4[c], sizeof(r->v4[c]), "100.64.0.%d", c + 1);
        snprintf(r->v6[c], sizeof(r->v6[c]), "fd00:2021:1111::%d", c + 1);
    }
}

/* One random change applied to both the filter and the reference. */
static void prop_change(struct floe_gwfilter *f, struct ref *r, uint64_t now)
{
    int c = (int)rnd(P_CLIENTS), k = (int)rnd(P_RES);
    char id[16];
    uint32_t op = rnd(10);

    snprintf(id, sizeof(id), "dev-%d", c);
    if (op < 5) {
        uint64_t exp = rnd(3) == 0 ? now + rnd(20) : 0;

        CHECK_EQ(authz(f, id, (uint64_t)c + 1, r->v4[c], r->v6[c], &r->res[k], exp), 0);
        r->auth[c][k].on = true;
        r->auth[c][k].expires_at = exp;
    } else if (op < 7) {
        CHECK_EQ(floe_gwfilter_revoke(f, id, r->res[k].id),
                 r->auth[c][k].on ? 0 : FLOE_ERR_NOT_FOUND);
        r->auth[c][k].on = false;
    } else if (op < 8) {
        uint64_t exp = now + rnd(10);
        int want = r->auth[c][k].on ? 0 : FLOE_ERR_NOT_FOUND;

        CHECK_EQ(floe_gwfilter_set_expiry(f, id, r->res[k].id, exp), want);
        if (r->auth[c][k].on)
            r->auth[c][k].expires_at = exp;
    } else if (op < 9) {
        floe_gwfilter_expire(f, now);
        for (c = 0; c < P_CLIENTS; c++) {
            for (k = 0; k < P_RES; k++) {
                if (r->auth[c][k].expires_at && now >= r->auth[c][k].expires_at)
                    r->auth[c][k].on = false;
            }
        }
    } else {
        floe_gwfilter_delete_resource(f, r->res[k].id);
        for (c = 0; c < P_CLIENTS; c++)
            r->auth[c][k].on = false;
    }
}

/* One random packet each way, checked against the reference. */
static void prop_packet(struct floe_gwfilter *f, const struct ref *r, uint64_t now, int *fails)
{
    bool v6 = rnd(2) == 1, frag = rnd(5) == 0;
    int c = (int)rnd(P_CLIENTS), sender = rnd(4) == 0 ? (int)rnd(P_CLIENTS) : c;
    const char *ip = v6 ? p_ips6[rnd(4)] : p_ips4[rnd(5)];
    const char *tun = v6 ? r->v6[sender] : r->v4[sender];
    uint8_t proto = p_protos[rnd(5)];
    uint16_t port = rnd(2) ? (uint16_t)rnd(400) : p_edges[rnd(8)];
    struct tpkt p = v6 ? pkt6(tun, ip, proto, port, frag) : pkt4(tun, ip, proto, port, frag);
    int want, got;
    uint64_t cid = 0;

    if (!ref_has_client(r, c))
        want = ref_has_client(r, sender) && sender == c ? 0 : FLOE_GWF_DROP_NO_CLIENT;
    else if (sender != c)
        want = FLOE_GWF_DROP_SPOOFED;
    else
        want = ref_judge(r, c, now, ip, v6, proto, port, frag, true);
    got = (int)floe_gwfilter_from_client(f, now, (uint64_t)c + 1, p.b, p.len);
    if (got != want && (*fails)++ < 5)
        fprintf(stderr, "  from dev-%d (as dev-%d) to %s proto %u port %u frag %d: %d, want %d\n",
                c, sender, ip, proto, port, frag, got, want);
    p = v6 ? pkt6(ip, tun, proto, port, frag) : pkt4(ip, tun, proto, port, frag);
    want = ref_has_client(r, sender) ? ref_judge(r, sender, now, ip, v6, proto, port, frag, false)
                                     : FLOE_GWF_DROP_NO_CLIENT;
    got = (int)floe_gwfilter_to_client(f, now, p.b, p.len, &cid);
    if ((got != want || (got == 0 && cid != (uint64_t)sender + 1)) && (*fails)++ < 5)
        fprintf(stderr, "  reply %s to dev-%d: %d cid %llu, want %d\n", ip, sender, got,
                (unsigned long long)cid, want);
}

static void test_property_vs_reference(void)
{
    struct ref r;
    struct floe_gwfilter *f = mk();
    uint64_t now = 1000;
    int fails = 0;

    rng_state = floe_test_seed() | 1;
    prop_setup(&r);
    for (int step = 0; step < 4000; step++) {
        if (rnd(3) == 0)
            prop_change(f, &r, now);
        prop_packet(f, &r, now, &fails);
        now += rnd(2);
    }
    CHECK_EQ(fails, 0);
    floe_gwfilter_free(f);
}

int main(void)
{
    FLOE_RUN(test_source_and_destination);
    FLOE_RUN(test_port_and_protocol_filters);
    FLOE_RUN(test_replies);
    FLOE_RUN(test_expiry_and_revocation);
    FLOE_RUN(test_resource_update_and_delete);
    FLOE_RUN(test_malformed_and_bad_args);
    FLOE_RUN(test_capacity_and_failmalloc);
    FLOE_RUN(test_property_vs_reference);
    return floe_test_summary();
}
