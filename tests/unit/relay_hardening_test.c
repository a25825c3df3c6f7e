/*
 * Relay core hardening (issue #9): the 5-tuple index is keyed with randomness drawn at
 * creation, so two cores put the same clients in different buckets and a client cannot
 * aim at one chain; an allocation left PENDING (the caller never answered BIND_PORT) is
 * swept, releasing its port, and the client can allocate again.
 */
#include "floe/relay.h"
#include "relay/relay_int.h"
#include "test.h"

static const struct floe_addr *LISTEN;
static struct floe_addr listen_addr;

struct hclient {
    struct floe_relay *r;
    const char *user, *pass; /* NULL: alice, secret */
    uint16_t method;         /* 0: Allocate */
    struct floe_addr from;
    char nonce[64];
    uint8_t key[16], out[1600], txid[12];
    struct floe_stun_msg ans;
    struct floe_relay_tx tx;
    long out_len;
};

static long hrequest(struct hclient *c, floe_time now)
{
    uint16_t method = c->method ? c->method : FLOE_STUN_ALLOCATE;
    const char *user = c->user ? c->user : "alice";
    uint8_t buf[600];
    struct floe_stun_builder b;
    long n;

    c->txid[0]++;
    floe_stun_build_init(&b, buf, sizeof(buf), method, FLOE_STUN_REQUEST, c->txid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_requested_transport(&b, 17);
    else
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 600);
    if (c->nonce[0]) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, "floe", 4);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, c->nonce, strlen(c->nonce));
        floe_stun_add_integrity_key(&b, c->key, sizeof(c->key));
    }
    n = floe_stun_build_finish(&b);
    CHECK(n > 0);
    if (n <= 0)
        return -1;
    c->out_len = floe_relay_handle_client(c->r, now, LISTEN, &c->from, buf, (size_t)n, c->out,
                                          sizeof(c->out), &c->tx);
    if (c->out_len > 0)
        CHECK_EQ(floe_stun_decode(&c->ans, c->out, (size_t)c->out_len), 0);
    return c->out_len;
}

static void hkey(struct hclient *c)
{
    const char *user = c->user ? c->user : "alice", *pass = c->pass ? c->pass : "secret";

    CHECK_EQ(floe_stun_long_term_key_md5(c->key, floe_span_make(user, strlen(user)),
                                         floe_span_make("floe", 4),
                                         floe_span_make(pass, strlen(pass))),
             0);
}

/* The authenticated Allocate, left pending: its BIND_PORT event into *ev. */
static void hallocate_pending(struct hclient *c, floe_time now, struct floe_relay_event *ev)
{
    struct floe_span nonce;

    c->nonce[0] = '\0';
    REQUIRE(hrequest(c, now) > 0);
    REQUIRE(floe_stun_get_span(&c->ans, FLOE_STUN_ATTR_NONCE, &nonce) == 0);
    REQUIRE(nonce.len < sizeof(c->nonce));
    memcpy(c->nonce, nonce.ptr, nonce.len);
    c->nonce[nonce.len] = '\0';
    hkey(c);
    CHECK_EQ(hrequest(c, now), 0);
    REQUIRE(floe_relay_poll_event(c->r, ev) == 1);
    REQUIRE(ev->kind == FLOE_RELAY_EV_BIND_PORT);
}

static struct floe_relay *hrelay(struct floe_xoshiro *x)
{
    struct floe_relay_config cfg;
    struct floe_relay *r = NULL;

    floe_relay_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(x);
    cfg.relay_v4 = floe_addr_v4(192, 0, 2, 1, 0);
    cfg.users[0].name = "alice";
    cfg.users[0].password = "secret";
    cfg.n_users = 1;
    if (floe_relay_new(&r, &cfg) != 0) {
        fprintf(stderr, "floe_relay_new failed\n");
        exit(1);
    }
    return r;
}

/* The bucket of the allocation of client, or -1. */
static long hbucket(const struct floe_relay *r, const struct floe_addr *client)
{
    uint32_t i;

    for (i = 0; i < r->n_buckets; i++) {
        const struct relay_alloc *a;

        for (a = r->by_client[i]; a; a = a->next_client) {
            if (floe_addr_eq(&a->client, client))
                return (long)i;
        }
    }
    return -1;
}

#define H_CLIENTS 32

static void test_five_tuple_hash_is_keyed(void)
{
    struct floe_xoshiro x1, x2;
    struct floe_relay *r1, *r2;
    struct floe_relay_event ev;
    struct hclient c;
    int i, same = 0;

    floe_xoshiro_seed(&x1, 1);
    floe_xoshiro_seed(&x2, 2);
    r1 = hrelay(&x1);
    r2 = hrelay(&x2);
    CHECK(r1->hash_key[0] != r2->hash_key[0] || r1->hash_key[1] != r2->hash_key[1]);
    CHECK_EQ(r1->n_buckets, r2->n_buckets);
    for (i = 0; i < H_CLIENTS; i++) {
        memset(&c, 0, sizeof(c));
        c.from = floe_addr_v4(198, 51, 100, (uint8_t)i, (uint16_t)(40000 + i));
        c.r = r1;
        hallocate_pending(&c, 0, &ev);
        c.r = r2;
        hallocate_pending(&c, 0, &ev);
        same += hbucket(r1, &c.from) == hbucket(r2, &c.from);
        CHECK(hbucket(r1, &c.from) >= 0);
    }
    CHECK(same < H_CLIENTS / 4); /* an unkeyed hash puts every one in the same bucket */
    floe_relay_free(r1);
    floe_relay_free(r2);
}

static void test_pending_allocation_swept(void)
{
    struct floe_xoshiro x;
    struct floe_relay_event ev, ev2;
    struct hclient c;
    int released = 0, expired = 0;

    floe_xoshiro_seed(&x, 3);
    memset(&c, 0, sizeof(c));
    c.r = hrelay(&x);
    c.from = floe_addr_v4(198, 51, 100, 9, 4000);
    hallocate_pending(&c, 0, &ev); /* the caller never calls floe_relay_port_bound */
    CHECK(floe_relay_poll_timeout(c.r) <= RELAY_PENDING_TIMEOUT);
    floe_relay_handle_timeout(c.r, RELAY_PENDING_TIMEOUT - FLOE_SEC(1));
    CHECK_EQ(floe_relay_poll_event(c.r, &ev2), 0);
    floe_relay_handle_timeout(c.r, RELAY_PENDING_TIMEOUT + FLOE_SEC(1));
    while (floe_relay_poll_event(c.r, &ev2)) {
        released += ev2.kind == FLOE_RELAY_EV_RELEASE_PORT && floe_addr_eq(&ev2.addr, &ev.addr);
        expired += ev2.kind == FLOE_RELAY_EV_EXPIRED;
    }
    CHECK_EQ(released, 1);
    CHECK_EQ(expired, 0); /* it never went live */
    CHECK(floe_relay_port_bound(c.r, RELAY_PENDING_TIMEOUT + FLOE_SEC(1), ev.alloc_id, 0, c.out,
                                sizeof(c.out), &c.tx) < 0);
    /* a new Allocate (new transaction) from the same 5-tuple is not a mismatch any more */
    CHECK_EQ(hrequest(&c, RELAY_PENDING_TIMEOUT + FLOE_SEC(2)), 0);
    CHECK_EQ(floe_relay_poll_event(c.r, &ev2), 1);
    CHECK_EQ(ev2.kind, FLOE_RELAY_EV_BIND_PORT);
    floe_relay_free(c.r);
}

/* REST credentials under secret for c (username "expiry:id"). */
static void hrest(struct hclient *c, char *user, char *pass, const char *secret)
{
    CHECK(floe_turn_rest_password(pass, 64, secret, user) > 0);
    c->user = user;
    c->pass = pass;
    hkey(c);
}

/* An Allocate through the dance, answered: the success code 0, or the error code. */
static int hallocate(struct hclient *c, floe_time now)
{
    struct floe_relay_event ev;
    struct floe_span reason;
    int code = -1;

    hallocate_pending(c, now, &ev);
    c->out_len = floe_relay_port_bound(c->r, now, ev.alloc_id, 0, c->out, sizeof(c->out), &c->tx);
    if (c->out_len > 0 && floe_stun_decode(&c->ans, c->out, (size_t)c->out_len) == 0)
        code = c->ans.cls == FLOE_STUN_SUCCESS ? 0 : -1;
    if (code < 0 && floe_stun_get_error(&c->ans, &code, &reason) < 0)
        code = -1;
    while (floe_relay_poll_event(c->r, &ev))
        ;
    return code;
}

/* A Refresh (lifetime 600) with c's credentials: 0 or the error code. */
static int hrefresh(struct hclient *c, floe_time now)
{
    struct floe_span reason;
    int code = -1;

    c->method = FLOE_STUN_REFRESH;
    if (hrequest(c, now) <= 0)
        return -1;
    c->method = 0;
    if (c->ans.cls == FLOE_STUN_SUCCESS)
        return 0;
    return floe_stun_get_error(&c->ans, &code, &reason) == 0 ? code : -1;
}

static void test_secret_rotation_grace(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct floe_relay_user u = {"bob", "pw"};
    struct floe_xoshiro x;
    struct hclient old, fresh;
    char user[] = "4000000000:dev1", pass_old[64], pass_new[64];

    floe_xoshiro_seed(&x, 4);
    floe_relay_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.relay_v4 = floe_addr_v4(192, 0, 2, 1, 0);
    cfg.auth_secret = "one";
    cfg.default_lifetime = FLOE_SEC(3600);
    memset(&old, 0, sizeof(old));
    REQUIRE(floe_relay_new(&old.r, &cfg) == 0);
    floe_relay_set_unix_time(old.r, 1700000000);
    old.from = floe_addr_v4(198, 51, 100, 1, 5000);
    hrest(&old, user, pass_old, "one");
    CHECK_EQ(hallocate(&old, 0), 0);
    /* nothing at all, or a secret too long: refused, nothing changed */
    CHECK_EQ(floe_relay_set_credentials(old.r, 0, NULL, NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_relay_set_credentials(old.r, 0, "", NULL, 0, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(hrefresh(&old, FLOE_SEC(1)), 0);
    /* rotate to "two" with a 60 s grace, and a static user */
    REQUIRE(floe_relay_set_credentials(old.r, FLOE_SEC(10), "two", &u, 1, FLOE_SEC(60)) == 0);
    CHECK_EQ(hrefresh(&old, FLOE_SEC(20)), 0); /* the old credentials still refresh */
    memset(&fresh, 0, sizeof(fresh));
    fresh.r = old.r;
    fresh.from = floe_addr_v4(198, 51, 100, 2, 5000);
    hrest(&fresh, user, pass_new, "two");
    CHECK_EQ(hallocate(&fresh, FLOE_SEC(21)), 0);
    fresh.from.port++;
    fresh.user = "bob";
    fresh.pass = "pw";
    hkey(&fresh);
    CHECK_EQ(hallocate(&fresh, FLOE_SEC(22)), 0);
    /* after the grace window the old secret is refused; the allocation was not dropped */
    CHECK_EQ(hrefresh(&old, FLOE_SEC(71)), 401);
    floe_relay_get_stats(old.r, &st);
    CHECK_EQ(st.allocations, 3);
    /* rotating with no grace refuses the previous secret at once */
    REQUIRE(floe_relay_set_credentials(old.r, FLOE_SEC(80), "three", NULL, 0, 0) == 0);
    CHECK_EQ(hrefresh(&fresh, FLOE_SEC(81)), 401); /* bob is gone */
    floe_relay_free(old.r);
}

int main(void)
{
    listen_addr = floe_addr_v4(192, 0, 2, 1, 3478);
    LISTEN = &listen_addr;
    FLOE_RUN(test_five_tuple_hash_is_keyed);
    FLOE_RUN(test_pending_allocation_swept);
    FLOE_RUN(test_secret_rotation_grace);
    return floe_test_summary();
}
