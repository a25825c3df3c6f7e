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
    struct floe_addr from;
    char nonce[64];
    uint8_t key[16], out[1600], txid[12];
    struct floe_stun_msg ans;
    struct floe_relay_tx tx;
    long out_len;
};

static long hrequest(struct hclient *c, floe_time now)
{
    uint8_t buf[600];
    struct floe_stun_builder b;
    long n;

    c->txid[0]++;
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST, c->txid);
    floe_stun_add_requested_transport(&b, 17);
    if (c->nonce[0]) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "alice", 5);
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
    REQUIRE(floe_stun_long_term_key_md5(c->key, floe_span_make("alice", 5),
                                        floe_span_make("floe", 4),
                                        floe_span_make("secret", 6)) == 0);
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

int main(void)
{
    listen_addr = floe_addr_v4(192, 0, 2, 1, 3478);
    LISTEN = &listen_addr;
    FLOE_RUN(test_five_tuple_hash_is_keyed);
    FLOE_RUN(test_pending_allocation_swept);
    return floe_test_summary();
}
