/*
 * floe iptrie: prefix parsing, longest prefix match, moves, removal (by prefix and by
 * value), walk order, a failing allocator, and a property test: random prefixes of both
 * families inserted, moved and removed, every lookup checked against a brute-force scan of
 * the same prefixes (the seed is printed for replay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/iptrie.h"
#include "test.h"

static int val_a, val_b, val_c;

static void add(struct floe_iptrie *t, const char *cidr, void *v)
{
    struct floe_prefix pfx;

    if (floe_prefix_parse(cidr, &pfx) != 0 || floe_iptrie_insert(t, &pfx, v) != 0)
        abort();
}

static void *look(const struct floe_iptrie *t, const char *ip)
{
    struct floe_addr a;

    if (floe_addr_parse_ip(ip, &a) != 0)
        abort();
    return floe_iptrie_lookup(t, a.family, a.ip);
}

static void test_prefix_parse_and_format(void)
{
    struct floe_prefix p;
    char buf[64];

    CHECK_EQ(floe_prefix_parse("10.1.2.3/8", &p), 0);
    CHECK_EQ(p.len, 8);
    CHECK_EQ(p.ip[0], 10);
    CHECK_EQ(p.ip[1], 0); /* host bits cleared */
    CHECK_EQ(floe_prefix_format(&p, buf, sizeof(buf)), 10);
    CHECK_STR(buf, "10.0.0.0/8");
    CHECK_EQ(floe_prefix_format(&p, buf, 5), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_prefix_parse("fd00::1/128", &p), 0);
    CHECK_EQ(p.family, FLOE_AF_INET6);
    CHECK_EQ(floe_prefix_parse("10.0.0.1", &p), 0);
    CHECK_EQ(p.len, 32);
    CHECK(floe_prefix_contains(&p, (const uint8_t[]){10, 0, 0, 1}));
    CHECK(!floe_prefix_contains(&p, (const uint8_t[]){10, 0, 0, 2}));
    CHECK_EQ(floe_prefix_parse("10.0.0.0/33", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("::/129", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("10.0.0.0/", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("10.0.0.0/-1", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("10.0.0.0/8x", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("10.0.0.0/99999999999", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("/8", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse("bogus/8", &p), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_prefix_parse(NULL, &p), FLOE_ERR_INVALID_ARG);
}

static void test_longest_prefix_wins(void)
{
    struct floe_iptrie t;
    static const uint8_t v4pkt[20] = {0x45, [12] = 10, 1, 2, 3, [16] = 192, 168, 1, 1};

    floe_iptrie_init(&t, NULL);
    add(&t, "0.0.0.0/0", &val_a);
    add(&t, "10.0.0.0/8", &val_b);
    add(&t, "10.1.0.0/16", &val_c);
    add(&t, "10.1.2.3/32", &val_a);
    CHECK(look(&t, "192.168.1.1") == &val_a);
    CHECK(look(&t, "10.9.9.9") == &val_b);
    CHECK(look(&t, "10.1.9.9") == &val_c);
    CHECK(look(&t, "10.1.2.3") == &val_a);
    CHECK(look(&t, "10.1.2.4") == &val_c);
    CHECK(look(&t, "::1") == NULL); /* families are separate */
    CHECK(floe_iptrie_lookup_packet(&t, v4pkt, sizeof(v4pkt), true) == &val_a);  /* 10.1.2.3 */
    CHECK(floe_iptrie_lookup_packet(&t, v4pkt, sizeof(v4pkt), false) == &val_a); /* default */
    CHECK(floe_iptrie_lookup_packet(&t, v4pkt, 19, false) == NULL);              /* truncated */
    add(&t, "fd00::/8", &val_b);
    add(&t, "fd00:1::/32", &val_c);
    CHECK(look(&t, "fd00:1::5") == &val_c);
    CHECK(look(&t, "fd99::5") == &val_b);
    CHECK(look(&t, "fe80::1") == NULL);
    CHECK_EQ(t.count, 6u);
    floe_iptrie_deinit(&t);
    CHECK(t.root[0] == NULL && t.root[1] == NULL && t.count == 0);
}

static void test_prefix_moves_and_removal(void)
{
    struct floe_iptrie t;
    struct floe_prefix p;

    floe_iptrie_init(&t, NULL);
    add(&t, "10.0.0.0/24", &val_a);
    add(&t, "10.0.0.0/24", &val_b); /* moves to b */
    CHECK(look(&t, "10.0.0.1") == &val_b);
    CHECK_EQ(t.count, 1u);
    REQUIRE(floe_prefix_parse("10.0.0.0/24", &p) == 0);
    CHECK(floe_iptrie_get(&t, &p) == &val_b);
    CHECK_EQ(floe_iptrie_remove(&t, &p, &val_a), FLOE_ERR_NOT_FOUND); /* not a's any more */
    CHECK_EQ(floe_iptrie_remove(&t, &p, &val_b), 0);
    CHECK_EQ(floe_iptrie_remove(&t, &p, NULL), FLOE_ERR_NOT_FOUND);
    CHECK(look(&t, "10.0.0.1") == NULL);
    CHECK(t.root[0] == NULL); /* pruned */
    add(&t, "10.0.0.0/8", &val_a);
    add(&t, "10.2.0.0/16", &val_b);
    add(&t, "fd00::/16", &val_a);
    CHECK_EQ(floe_iptrie_remove_value(&t, &val_a), 2u);
    CHECK(look(&t, "10.9.0.1") == NULL);
    CHECK(look(&t, "10.2.0.1") == &val_b);
    CHECK(t.root[1] == NULL);
    CHECK_EQ(t.count, 1u);
    REQUIRE(floe_prefix_parse("10.2.0.0/16", &p) == 0);
    CHECK_EQ(floe_iptrie_remove(&t, &p, NULL), 0); /* any value */
    CHECK(t.root[0] == NULL && t.count == 0);
    p.len = 33;
    CHECK_EQ(floe_iptrie_insert(&t, &p, &val_a), FLOE_ERR_INVALID_ARG);
    p.len = 8;
    CHECK_EQ(floe_iptrie_insert(&t, &p, NULL), FLOE_ERR_INVALID_ARG);
    floe_iptrie_deinit(&t);
}

struct walk_out {
    char text[512];
};

static void walk_fn(void *user, const struct floe_prefix *p, void *value)
{
    struct walk_out *w = user;
    char buf[64];
    size_t n = strlen(w->text);

    if (floe_prefix_format(p, buf, sizeof(buf)) > 0)
        snprintf(w->text + n, sizeof(w->text) - n, "%s%s ", buf, value == &val_a ? "" : "(b)");
}

static void test_walk_in_order(void)
{
    struct floe_iptrie t;
    struct walk_out w = {{0}}, all = {{0}};

    floe_iptrie_init(&t, NULL);
    add(&t, "fd00::/64", &val_a);
    add(&t, "10.79.1.0/24", &val_a);
    add(&t, "10.79.0.0/16", &val_a);
    add(&t, "10.80.0.1/32", &val_b);
    add(&t, "0.0.0.0/0", &val_a);
    floe_iptrie_walk(&t, &val_a, walk_fn, &w);
    CHECK_STR(w.text, "0.0.0.0/0 10.79.0.0/16 10.79.1.0/24 fd00::/64 ");
    floe_iptrie_walk(&t, NULL, walk_fn, &all);
    CHECK_STR(all.text, "0.0.0.0/0 10.79.0.0/16 10.79.1.0/24 10.80.0.1/32(b) fd00::/64 ");
    floe_iptrie_deinit(&t);
}

/* An allocator that fails every call from the Nth on. */
struct fail_alloc {
    int left;
};

static void *fail_malloc(size_t size, void *user)
{
    struct fail_alloc *f = user;

    if (f->left <= 0)
        return NULL;
    f->left--;
    return malloc(size);
}

static void fail_free(void *p, void *user)
{
    (void)user;
    free(p);
}

/* Out of memory midway: NOMEM, nothing mapped, the partial path freed by the next removal. */
static void test_failing_allocator(void)
{
    struct fail_alloc f = {.left = 5};
    struct floe_allocator a = {.malloc_fn = fail_malloc, .free_fn = fail_free, .user = &f};
    struct floe_iptrie t;
    struct floe_prefix p;

    floe_iptrie_init(&t, &a);
    REQUIRE(floe_prefix_parse("10.0.0.0/8", &p) == 0);
    CHECK_EQ(floe_iptrie_insert(&t, &p, &val_a), FLOE_ERR_NOMEM);
    CHECK(look(&t, "10.1.1.1") == NULL);
    CHECK_EQ(t.count, 0u);
    CHECK_EQ(floe_iptrie_remove(&t, &p, NULL), FLOE_ERR_NOT_FOUND);
    CHECK(t.root[0] == NULL); /* the partial path is gone (ASan: no leak) */
    f.left = 100;
    CHECK_EQ(floe_iptrie_insert(&t, &p, &val_a), 0);
    CHECK(look(&t, "10.1.1.1") == &val_a);
    floe_iptrie_deinit(&t);
}

/* ------------------------------------------------------------ property test */

#define PROP_PREFIXES 300
#define PROP_ROUNDS 20
#define PROP_LOOKUPS 2000

static int prop_vals[8];

struct ref_entry {
    struct floe_prefix p;
    void *v; /* NULL: removed */
};

static uint64_t rng_state;

static uint64_t rng(void)
{
    return floe_test_next(&rng_state);
}

/* A random prefix clustered in a few ranges so that prefixes nest and overlap. */
static void rand_prefix(struct floe_prefix *p)
{
    unsigned bits, i;

    memset(p, 0, sizeof(*p));
    p->family = rng() % 3 ? FLOE_AF_INET : FLOE_AF_INET6;
    bits = p->family == FLOE_AF_INET ? 32 : 128;
    p->len = (uint8_t)(rng() % (bits + 1));
    p->ip[0] = (uint8_t)(0x0a + rng() % 2);
    for (i = 1; i < bits / 8; i++)
        p->ip[i] = (uint8_t)(i < 3 ? rng() % 4 : rng());
    for (i = p->len; i < bits; i++)
        p->ip[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

/* The brute-force answer: the value of the longest live prefix containing ip. */
static void *ref_lookup(const struct ref_entry *r, size_t n, uint8_t family, const uint8_t *ip)
{
    void *best = NULL;
    int best_len = -1;
    size_t i;

    for (i = 0; i < n; i++) {
        if (r[i].v && r[i].p.family == family && (int)r[i].p.len > best_len &&
            floe_prefix_contains(&r[i].p, ip)) {
            best = r[i].v;
            best_len = r[i].p.len;
        }
    }
    return best;
}

/* Insert (or move) r's prefixes, keeping only the last entry of each distinct prefix live. */
static void prop_insert(struct floe_iptrie *t, struct ref_entry *r, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        rand_prefix(&r[i].p);
        r[i].v = &prop_vals[rng() % 8];
        REQUIRE(floe_iptrie_insert(t, &r[i].p, r[i].v) == 0);
        for (j = 0; j < i; j++) {
            if (r[j].v && memcmp(&r[j].p, &r[i].p, sizeof(r[i].p)) == 0)
                r[j].v = NULL; /* moved */
        }
    }
}

static void prop_check(const struct floe_iptrie *t, const struct ref_entry *r, size_t n)
{
    struct floe_prefix q;
    size_t i, live = 0;

    for (i = 0; i < PROP_LOOKUPS; i++) {
        rand_prefix(&q);
        q.ip[15] ^= (uint8_t)rng(); /* host bits too */
        q.ip[3] ^= (uint8_t)(rng() & 0x0f);
        if (floe_iptrie_lookup(t, q.family, q.ip) != ref_lookup(r, n, q.family, q.ip)) {
            CHECK(!"lookup differs from the brute-force reference");
            return;
        }
    }
    for (i = 0; i < n; i++)
        live += r[i].v != NULL;
    CHECK_EQ(t->count, live);
}

static void test_random_prefixes_against_brute_force(void)
{
    static struct ref_entry r[PROP_PREFIXES];
    struct floe_iptrie t;
    int round;
    size_t i;

    rng_state = floe_test_seed() | 1;
    for (round = 0; round < PROP_ROUNDS; round++) {
        floe_iptrie_init(&t, NULL);
        prop_insert(&t, r, PROP_PREFIXES);
        prop_check(&t, r, PROP_PREFIXES);
        for (i = 0; i < PROP_PREFIXES; i += 1 + rng() % 3) { /* remove about half */
            if (r[i].v) {
                CHECK_EQ(floe_iptrie_remove(&t, &r[i].p, r[i].v), 0);
                r[i].v = NULL;
            }
        }
        prop_check(&t, r, PROP_PREFIXES);
        (void)floe_iptrie_remove_value(&t, &prop_vals[round % 8]);
        for (i = 0; i < PROP_PREFIXES; i++)
            r[i].v = r[i].v == &prop_vals[round % 8] ? NULL : r[i].v;
        prop_check(&t, r, PROP_PREFIXES);
        floe_iptrie_deinit(&t);
    }
}

int main(void)
{
    FLOE_RUN(test_prefix_parse_and_format);
    FLOE_RUN(test_longest_prefix_wins);
    FLOE_RUN(test_prefix_moves_and_removal);
    FLOE_RUN(test_walk_in_order);
    FLOE_RUN(test_failing_allocator);
    FLOE_RUN(test_random_prefixes_against_brute_force);
    return floe_test_summary();
}
