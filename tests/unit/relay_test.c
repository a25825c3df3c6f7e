/* The TURN relay core (RFC 8656) driven by a scripted client, in virtual time. */
#include "floe/relay.h"
#include "test.h"

static struct floe_xoshiro test_rng;
static const struct floe_addr *LISTEN;
static struct floe_addr listen_addr, client_addr, relay_ip;

struct tclient {
    struct floe_relay *r;
    struct floe_addr from;
    const char *user, *pass, *realm;
    char nonce[64];
    uint8_t key[16];
    uint8_t out[1600];
    long out_len;
    struct floe_relay_tx tx;
    struct floe_stun_msg ans;
    uint8_t txid[12];
};

static void new_txid(struct tclient *c)
{
    struct floe_rng rng = floe_xoshiro_rng(&test_rng);

    (void)floe_rng_fill(&rng, c->txid, sizeof(c->txid));
}

static void setup_key(struct tclient *c)
{
    int rc = floe_stun_long_term_key_md5(c->key, floe_span_make(c->user, strlen(c->user)),
                                         floe_span_make(c->realm, strlen(c->realm)),
                                         floe_span_make(c->pass, strlen(c->pass)));

    CHECK_EQ(rc, 0);
}

static struct floe_relay *make_relay(struct floe_relay_config *cfg)
{
    struct floe_relay *r = NULL;

    cfg->rng = floe_xoshiro_rng(&test_rng);
    cfg->relay_v4 = relay_ip;
    if (!cfg->n_users && !cfg->auth_secret) {
        cfg->users[0].name = "alice";
        cfg->users[0].password = "secret";
        cfg->n_users = 1;
    }
    CHECK_EQ(floe_relay_new(&r, cfg), 0);
    return r;
}

/* Feed the client's datagram; decode the answer when there is one. */
static long feed(struct tclient *c, floe_time now, const uint8_t *buf, size_t len)
{
    c->out_len = floe_relay_handle_client(c->r, now, LISTEN, &c->from, buf, len, c->out,
                                          sizeof(c->out), &c->tx);
    if (c->out_len > 0 && floe_packet_classify(c->out, (size_t)c->out_len) == FLOE_PACKET_STUN)
        CHECK_EQ(floe_stun_decode(&c->ans, c->out, (size_t)c->out_len), 0);
    return c->out_len;
}

/* Build a request of method with the attributes of add(), authenticated when nonce is known. */
static long request(struct tclient *c, floe_time now, uint16_t method,
                    void (*add)(struct floe_stun_builder *, void *), void *arg)
{
    uint8_t buf[1500];
    struct floe_stun_builder b;
    long n;

    new_txid(c);
    floe_stun_build_init(&b, buf, sizeof(buf), method, FLOE_STUN_REQUEST, c->txid);
    if (add)
        add(&b, arg);
    if (c->nonce[0]) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, c->user, strlen(c->user));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, c->realm, strlen(c->realm));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, c->nonce, strlen(c->nonce));
        floe_stun_add_integrity_key(&b, c->key, sizeof(c->key));
    }
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    CHECK(n > 0);
    if (n <= 0)
        return -1;
    return feed(c, now, buf, (size_t)n);
}

static int answer_code(const struct tclient *c)
{
    int code;
    struct floe_span reason;

    if (c->out_len <= 0)
        return -1;
    if (c->ans.cls == FLOE_STUN_SUCCESS)
        return 0;
    return floe_stun_get_error(&c->ans, &code, &reason) == 0 ? code : -2;
}

static void learn_nonce(struct tclient *c)
{
    struct floe_span nonce;

    REQUIRE(floe_stun_get_span(&c->ans, FLOE_STUN_ATTR_NONCE, &nonce) == 0);
    REQUIRE(nonce.len < sizeof(c->nonce));
    memcpy(c->nonce, nonce.ptr, nonce.len);
    c->nonce[nonce.len] = '\0';
}

static void add_udp(struct floe_stun_builder *b, void *arg)
{
    (void)arg;
    floe_stun_add_requested_transport(b, 17);
}

static void add_peer(struct floe_stun_builder *b, void *arg)
{
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, arg);
}

struct chan_arg {
    uint16_t number;
    struct floe_addr peer;
};

static void add_chan(struct floe_stun_builder *b, void *arg)
{
    struct chan_arg *ca = arg;
    uint8_t raw[4] = {(uint8_t)(ca->number >> 8), (uint8_t)ca->number, 0, 0};

    /* Raw bytes, so out-of-range numbers reach the relay. */
    floe_stun_add_bytes(b, FLOE_STUN_ATTR_CHANNEL_NUMBER, raw, sizeof(raw));
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &ca->peer);
}

static void add_lifetime(struct floe_stun_builder *b, void *arg)
{
    floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, *(uint32_t *)arg);
}

/*
 * Allocate with the attributes of add() through the 401 dance; returns the
 * relayed address, family 0 on failure (c->ans then holds an error answer).
 */
static struct floe_addr allocate_with(struct tclient *c, floe_time now,
                                      void (*add)(struct floe_stun_builder *, void *), void *arg)
{
    struct floe_relay_event ev;
    struct floe_addr relayed;

    memset(&relayed, 0, sizeof(relayed));
    c->nonce[0] = '\0';
    request(c, now, FLOE_STUN_ALLOCATE, add, arg);
    if (answer_code(c) != 401)
        return relayed;
    learn_nonce(c);
    request(c, now, FLOE_STUN_ALLOCATE, add, arg);
    if (c->out_len != 0 || floe_relay_poll_event(c->r, &ev) != 1 ||
        ev.kind != FLOE_RELAY_EV_BIND_PORT)
        return relayed;
    /* a dual allocation binds two ports: the answer comes with the last */
    while ((c->out_len = floe_relay_port_bound(c->r, now, ev.alloc_id, 0, c->out, sizeof(c->out),
                                               &c->tx)) == 0 &&
           floe_relay_poll_event(c->r, &ev) == 1 && ev.kind == FLOE_RELAY_EV_BIND_PORT)
        ;
    if (c->out_len <= 0 || floe_stun_decode(&c->ans, c->out, (size_t)c->out_len) != 0)
        return relayed;
    if (answer_code(c) == 0)
        (void)floe_stun_get_xor_addr(&c->ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
    while (floe_relay_poll_event(c->r, &ev))
        ;
    return relayed;
}

static struct floe_addr allocate(struct tclient *c, floe_time now)
{
    return allocate_with(c, now, add_udp, NULL);
}

static void tclient_init(struct tclient *c, struct floe_relay *r)
{
    memset(c, 0, sizeof(*c));
    c->r = r;
    c->from = client_addr;
    c->user = "alice";
    c->pass = "secret";
    c->realm = "floe";
    setup_key(c);
}

static void test_binding(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_addr mapped;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    REQUIRE(c.r);
    request(&c, 0, FLOE_STUN_BINDING, NULL, NULL);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(floe_stun_get_xor_addr(&c.ans, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    CHECK(floe_addr_eq(&mapped, &client_addr));
    CHECK(floe_addr_eq(&c.tx.to, &client_addr));
    CHECK(floe_addr_eq(&c.tx.from, &listen_addr));
    CHECK_EQ(floe_stun_verify_fingerprint(&c.ans), 0);
    floe_relay_free(c.r);
}

static void test_allocate_dance(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_addr relayed, mapped;
    struct floe_relay_stats st;
    uint32_t lifetime;
    uint8_t first_txid[12];

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    relayed = allocate(&c, FLOE_SEC(1));
    REQUIRE(relayed.family == FLOE_AF_INET);
    CHECK(floe_addr_ip_eq(&relayed, &relay_ip));
    CHECK(relayed.port >= 49152);
    CHECK_EQ(floe_stun_verify_integrity_key(&c.ans, c.key, 16), 0);
    CHECK_EQ(floe_stun_get_u32(&c.ans, FLOE_STUN_ATTR_LIFETIME, &lifetime), 0);
    CHECK_EQ(lifetime, 600);
    CHECK_EQ(floe_stun_get_xor_addr(&c.ans, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    CHECK(floe_addr_eq(&mapped, &client_addr));
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 1);

    /* A retransmission of the same Allocate gets the same answer... */
    memcpy(first_txid, c.txid, 12);
    {
        uint8_t buf[1500];
        struct floe_stun_builder b;
        long n;

        floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST,
                             first_txid);
        floe_stun_add_requested_transport(&b, 17);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "alice", 5);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, "floe", 4);
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, c.nonce, strlen(c.nonce));
        floe_stun_add_integrity_key(&b, c.key, 16);
        n = floe_stun_build_finish(&b);
        REQUIRE(n > 0);
        feed(&c, FLOE_SEC(2), buf, (size_t)n);
        CHECK_EQ(answer_code(&c), 0);
    }
    /* ...a new Allocate on the same 5-tuple is a mismatch. */
    request(&c, FLOE_SEC(2), FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 437);
    CHECK_EQ(floe_stun_verify_integrity_key(&c.ans, c.key, 16), 0);
    floe_relay_free(c.r);
}

static void test_auth_failures(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct tclient c;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 401);
    learn_nonce(&c);
    c.pass = "wrong";
    setup_key(&c);
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 401);
    c.pass = "secret";
    setup_key(&c);
    /* The nonce expires after its lifetime: 438 with a fresh one. */
    request(&c, FLOE_SEC(601), FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 438);
    /* A nonce forged by changing one digit is stale too. */
    c.nonce[20] = c.nonce[20] == 'a' ? 'b' : 'a';
    request(&c, FLOE_SEC(601), FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 438);
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.auth_failures, 1);
    CHECK_EQ(st.allocations, 0);
    /* No REQUESTED-TRANSPORT: 400; TCP: 442. */
    learn_nonce(&c);
    request(&c, FLOE_SEC(601), FLOE_STUN_ALLOCATE, NULL, NULL);
    CHECK_EQ(answer_code(&c), 400);
    floe_relay_free(c.r);
}

/*
 * A client that roamed keeps its credentials and its nonce: the Allocate from the new address
 * is accepted at once (no 438 round trip after a roam; the nonce was bound to the address).
 */
static void test_nonce_after_roam(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_event ev;
    struct floe_addr relayed;
    struct tclient c;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    memset(&ev, 0, sizeof(ev));
    relayed = allocate_with(&c, 0, add_udp, NULL);
    REQUIRE(relayed.family == FLOE_AF_INET);
    c.from = floe_addr_v4(198, 51, 100, 77, 40000);
    request(&c, FLOE_SEC(3), FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(c.out_len, 0); /* authenticated: the relay asks for a port first */
    CHECK_EQ(floe_relay_poll_event(c.r, &ev), 1);
    CHECK_EQ(ev.kind, FLOE_RELAY_EV_BIND_PORT);
    floe_relay_free(c.r);
}

static void test_rest_credentials(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    char user[64], pass[64];
    struct floe_relay_event ev;

    floe_relay_config_default(&cfg);
    cfg.auth_secret = "north";
    tclient_init(&c, make_relay(&cfg));
    floe_relay_set_unix_time(c.r, 1700000000);
    snprintf(user, sizeof(user), "%d:bob", 1700000100);
    CHECK(floe_turn_rest_password(pass, sizeof(pass), "north", user) > 0);
    c.user = user;
    c.pass = pass;
    setup_key(&c);
    CHECK(allocate(&c, 0).family == FLOE_AF_INET);
    /* The same credentials after their expiry are refused. */
    floe_relay_set_unix_time(c.r, 1700000101);
    c.from.port++;
    c.nonce[0] = '\0';
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    learn_nonce(&c);
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 401);
    CHECK_EQ(floe_relay_poll_event(c.r, &ev), 0);
    floe_relay_free(c.r);
}

/* Known answer for coturn's REST password (HMAC-SHA1 then base64). */
static void test_rest_password_vector(void)
{
    char out[64];

    CHECK_EQ(floe_turn_rest_password(out, sizeof(out), "key",
                                     "The quick brown fox jumps over "
                                     "the lazy dog"),
             28);
    CHECK_STR(out, "3nybhbi3iqa8ino29wqQcBydtNk=");
}

static void test_permissions_and_data(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_addr relayed, peer = floe_addr_v4(198, 51, 100, 7, 4000), from, lo;
    struct floe_span data;
    uint8_t out[1600];
    struct floe_relay_tx tx;
    long n;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    relayed = allocate(&c, 0);
    REQUIRE(relayed.family);
    /* No permission: the peer's datagram is dropped. */
    n = floe_relay_handle_peer(c.r, 0, &relayed, &peer, (const uint8_t *)"hi", 2, out, sizeof(out),
                               &tx);
    CHECK_EQ(n, 0);
    lo = floe_addr_v4(127, 0, 0, 1, 9);
    request(&c, FLOE_SEC(1), FLOE_STUN_CREATE_PERMISSION, add_peer, &lo);
    CHECK_EQ(answer_code(&c), 403);
    request(&c, FLOE_SEC(1), FLOE_STUN_CREATE_PERMISSION, add_peer, &peer);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(floe_stun_verify_integrity_key(&c.ans, c.key, 16), 0);
    /* Peer -> client as a Data indication with the peer's address. */
    n = floe_relay_handle_peer(c.r, FLOE_SEC(2), &relayed, &peer, (const uint8_t *)"hi", 2, out,
                               sizeof(out), &tx);
    REQUIRE(n > 0);
    CHECK(floe_addr_eq(&tx.to, &client_addr));
    CHECK(floe_addr_eq(&tx.from, &listen_addr));
    REQUIRE(floe_stun_decode(&c.ans, out, (size_t)n) == 0);
    CHECK_EQ(c.ans.method, FLOE_STUN_DATA);
    CHECK_EQ(c.ans.cls, FLOE_STUN_INDICATION);
    CHECK_EQ(floe_stun_get_xor_addr(&c.ans, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &from), 0);
    CHECK(floe_addr_eq(&from, &peer));
    CHECK_EQ(floe_stun_get_span(&c.ans, FLOE_STUN_ATTR_DATA, &data), 0);
    CHECK(data.len == 2 && memcmp(data.ptr, "hi", 2) == 0);
    /* The permission lapses after 300 s. */
    floe_relay_handle_timeout(c.r, FLOE_SEC(302));
    n = floe_relay_handle_peer(c.r, FLOE_SEC(302), &relayed, &peer, (const uint8_t *)"hi", 2, out,
                               sizeof(out), &tx);
    CHECK_EQ(n, 0);
    floe_relay_free(c.r);
}

static void send_indication(struct tclient *c, floe_time now, const struct floe_addr *peer)
{
    uint8_t buf[200];
    struct floe_stun_builder b;
    long n;

    new_txid(c);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_SEND, FLOE_STUN_INDICATION, c->txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, "ping", 4);
    n = floe_stun_build_finish(&b);
    REQUIRE(n > 0);
    feed(c, now, buf, (size_t)n);
}

static void test_send_indication_and_channels(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_addr relayed, peer = floe_addr_v4(203, 0, 113, 5, 7000);
    struct chan_arg ca = {0x4001, peer};
    uint8_t frame[64], out[1600];
    struct floe_span data;
    struct floe_relay_tx tx;
    uint16_t number;
    long n;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    relayed = allocate(&c, 0);
    REQUIRE(relayed.family);
    send_indication(&c, 0, &peer); /* no permission yet */
    CHECK_EQ(c.out_len, 0);
    request(&c, 0, FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 0);
    send_indication(&c, 0, &peer); /* ChannelBind installed the permission */
    CHECK_EQ(c.out_len, 4);
    CHECK(memcmp(c.out, "ping", 4) == 0);
    CHECK(floe_addr_eq(&c.tx.to, &peer));
    CHECK(floe_addr_eq(&c.tx.from, &relayed));
    /* ChannelData both ways. */
    n = floe_channeldata_encode(frame, sizeof(frame), 0x4001, (const uint8_t *)"abc", 3);
    REQUIRE(n == 7);
    feed(&c, FLOE_SEC(1), frame, (size_t)n);
    CHECK_EQ(c.out_len, 3);
    CHECK(floe_addr_eq(&c.tx.to, &peer));
    n = floe_relay_handle_peer(c.r, FLOE_SEC(1), &relayed, &peer, (const uint8_t *)"xyz", 3, out,
                               sizeof(out), &tx);
    REQUIRE(n == 7);
    CHECK_EQ(floe_channeldata_decode(out, (size_t)n, &number, &data), 0);
    CHECK_EQ(number, 0x4001);
    CHECK(data.len == 3 && memcmp(data.ptr, "xyz", 3) == 0);
    /* Binding the number to another peer, or the peer to another number: 400. */
    ca.peer.port++;
    request(&c, FLOE_SEC(1), FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 400);
    ca.peer = peer;
    ca.number = 0x4002;
    request(&c, FLOE_SEC(1), FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 400);
    ca.number = 0x8000;
    request(&c, FLOE_SEC(1), FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 400);
    ca.number = 0x3fff;
    request(&c, FLOE_SEC(1), FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 400);
    /* An unbound channel number is dropped. */
    n = floe_channeldata_encode(frame, sizeof(frame), 0x4005, (const uint8_t *)"abc", 3);
    feed(&c, FLOE_SEC(1), frame, (size_t)n);
    CHECK_EQ(c.out_len, 0);
    floe_relay_free(c.r);
}

static void test_refresh_and_expiry(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_event ev;
    struct floe_relay_stats st;
    struct tclient c;
    uint32_t lifetime = 0, got;
    int released = 0, expired = 0;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    REQUIRE(allocate(&c, 0).family);
    lifetime = 7200; /* capped at the maximum */
    request(&c, FLOE_SEC(10), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(floe_stun_get_u32(&c.ans, FLOE_STUN_ATTR_LIFETIME, &got), 0);
    CHECK_EQ(got, 3600);
    lifetime = 0;
    request(&c, FLOE_SEC(11), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    CHECK_EQ(answer_code(&c), 0);
    while (floe_relay_poll_event(c.r, &ev)) {
        released += ev.kind == FLOE_RELAY_EV_RELEASE_PORT;
        expired += ev.kind == FLOE_RELAY_EV_EXPIRED;
    }
    CHECK_EQ(released, 1);
    CHECK_EQ(expired, 1);
    request(&c, FLOE_SEC(12), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    CHECK_EQ(answer_code(&c), 437);
    /* A new allocation expires by itself after the default lifetime. */
    REQUIRE(allocate(&c, FLOE_SEC(20)).family);
    CHECK(floe_relay_poll_timeout(c.r) <= FLOE_SEC(21));
    floe_relay_handle_timeout(c.r, FLOE_SEC(619));
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 1);
    floe_relay_handle_timeout(c.r, FLOE_SEC(621));
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 0);
    CHECK_EQ(floe_relay_poll_timeout(c.r), FLOE_TIME_NEVER);
    floe_relay_free(c.r);
}

static void test_quota_and_bind_failure(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_event ev;
    struct tclient c;
    unsigned tried = 0, n;

    floe_relay_config_default(&cfg);
    cfg.max_allocations_per_user = 1;
    tclient_init(&c, make_relay(&cfg));
    REQUIRE(allocate(&c, 0).family);
    c.from.port++;
    c.nonce[0] = '\0';
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    learn_nonce(&c);
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 486);
    floe_relay_free(c.r);

    /* Binds that fail on every port of the range: 508 after the last one. */
    floe_relay_config_default(&cfg);
    cfg.port_min = 50000;
    cfg.port_max = 50003;
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    learn_nonce(&c);
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    REQUIRE(floe_relay_poll_event(c.r, &ev) == 1);
    c.out_len = 0;
    for (n = 0; n < 4 && c.out_len == 0; n++) {
        CHECK_EQ(ev.kind, FLOE_RELAY_EV_BIND_PORT);
        CHECK(!(tried & 1u << (ev.addr.port - 50000)));
        tried |= 1u << (ev.addr.port - 50000);
        c.out_len =
            floe_relay_port_bound(c.r, 0, ev.alloc_id, FLOE_ERR_IO, c.out, sizeof(c.out), &c.tx);
        if (c.out_len == 0)
            REQUIRE(floe_relay_poll_event(c.r, &ev) == 1);
    }
    CHECK_EQ(n, 4);
    CHECK_EQ(tried, 0xf);
    REQUIRE(c.out_len > 0);
    REQUIRE(floe_stun_decode(&c.ans, c.out, (size_t)c.out_len) == 0);
    CHECK_EQ(answer_code(&c), 508);
    CHECK_EQ(floe_relay_port_bound(c.r, 0, ev.alloc_id, 0, c.out, sizeof(c.out), &c.tx),
             FLOE_ERR_STATE);
    floe_relay_free(c.r);
}

static void add_unknown(struct floe_stun_builder *b, void *arg)
{
    (void)arg;
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_bytes(b, 0x7777, "zz", 2);
}

static void test_unknown_attribute(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    uint16_t types[4];
    size_t n = 0;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    learn_nonce(&c);
    request(&c, 0, FLOE_STUN_ALLOCATE, add_unknown, NULL);
    CHECK_EQ(answer_code(&c), 420);
    CHECK_EQ(floe_stun_get_unknown_attrs(&c.ans, types, 4, &n), 0);
    CHECK(n == 1 && types[0] == 0x7777);
    floe_relay_free(c.r);
}

static void test_garbage(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct floe_addr relayed = relay_ip;
    struct tclient c;
    uint8_t buf[600];
    int i;
    size_t j;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    relayed.port = 50000;
    floe_test_seed();
    for (i = 0; i < 20000; i++) {
        size_t len = (size_t)(floe_xoshiro_next(&test_rng) % sizeof(buf));

        for (j = 0; j < len; j++)
            buf[j] = (uint8_t)floe_xoshiro_next(&test_rng);
        if (len > 0 && (i & 3) == 0)
            buf[0] = (uint8_t)(0x40 + (i & 0xf)); /* ChannelData-shaped */
        if (len >= 20 && (i & 3) == 1) {
            buf[0] = 0; /* STUN-shaped with a good cookie and length */
            floe_store_be16(buf + 2, (uint16_t)((len - 20) & ~3u));
            floe_store_be32(buf + 4, FLOE_STUN_MAGIC_COOKIE);
            len = 20 + ((len - 20) & ~3u);
        }
        feed(&c, 0, buf, len);
        (void)floe_relay_handle_peer(c.r, 0, &relayed, &client_addr, buf, len, c.out, sizeof(c.out),
                                     &c.tx);
    }
    floe_relay_get_stats(c.r, &st);
    CHECK(st.drops[FLOE_RELAY_DROP_MALFORMED] > 0);
    CHECK(st.drops[FLOE_RELAY_DROP_NO_ALLOCATION] > 0);
    CHECK_EQ(st.allocations, 0);
    CHECK_EQ(floe_relay_handle_client(c.r, 0, NULL, &client_addr, buf, 1, c.out, 10, &c.tx),
             FLOE_ERR_INVALID_ARG);
    floe_relay_free(c.r);
}

static void test_config_and_failmalloc(void)
{
    struct floe_relay_config cfg;
    struct floe_relay *r = NULL;
    struct floe_test_failmalloc fm = {-1, 0, 0};
    long i;
    int rc;

    floe_relay_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&test_rng);
    CHECK_EQ(floe_relay_new(&r, &cfg), FLOE_ERR_INVALID_ARG); /* no relay address, no users */
    cfg.relay_v4 = relay_ip;
    CHECK_EQ(floe_relay_new(&r, &cfg), FLOE_ERR_INVALID_ARG); /* no credentials */
    cfg.auth_secret = "s";
    cfg.port_min = 6000;
    cfg.port_max = 5000;
    CHECK_EQ(floe_relay_new(&r, &cfg), FLOE_ERR_INVALID_ARG);
    floe_relay_config_default(&cfg);
    cfg.alloc.malloc_fn = floe_test_failmalloc_malloc;
    cfg.alloc.realloc_fn = floe_test_failmalloc_realloc;
    cfg.alloc.free_fn = floe_test_failmalloc_free;
    cfg.alloc.user = &fm;
    cfg.rng = floe_xoshiro_rng(&test_rng);
    cfg.relay_v4 = relay_ip;
    cfg.auth_secret = "s";
    for (i = 0; i < 50; i++) {
        fm.fail_at = i;
        fm.count = 0;
        r = NULL;
        rc = floe_relay_new(&r, &cfg);
        if (fm.count <= i) { /* every allocation succeeded */
            CHECK_EQ(rc, 0);
            floe_relay_free(r);
            break;
        }
        CHECK_EQ(rc, FLOE_ERR_NOMEM);
    }
    CHECK(i < 50);
}

static void test_cidr(void)
{
    struct floe_cidr c;
    struct floe_addr a;

    CHECK_EQ(floe_cidr_parse("10.1.0.0/16", &c), 0);
    CHECK_EQ(floe_addr_parse("10.1.200.3:1", &a), 0);
    CHECK(floe_cidr_contains(&c, &a));
    CHECK_EQ(floe_addr_parse("10.2.0.3:1", &a), 0);
    CHECK(!floe_cidr_contains(&c, &a));
    CHECK_EQ(floe_cidr_parse("fd00::/8", &c), 0);
    CHECK_EQ(floe_addr_parse("[fdab::1]:1", &a), 0);
    CHECK(floe_cidr_contains(&c, &a));
    CHECK_EQ(floe_cidr_parse("192.0.2.9", &c), 0);
    CHECK_EQ(c.prefix, 32);
    CHECK_EQ(floe_cidr_parse("10.0.0.0/33", &c), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_cidr_parse("10.0.0.0/", &c), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_cidr_parse("/8", &c), FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_cidr_parse("10.0.0.0/8x", &c), FLOE_ERR_ADDR_PARSE);
}

/* ------------------------------------------ EVEN-PORT reservations (RFC 8656 section 7.2) */

static void add_even_port(struct floe_stun_builder *b, void *arg)
{
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_even_port(b, *(bool *)arg);
}

static void add_token(struct floe_stun_builder *b, void *arg)
{
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_u64(b, FLOE_STUN_ATTR_RESERVATION_TOKEN, *(uint64_t *)arg);
}

/* A new client 5-tuple on the same core allocates as add() asks. */
static struct floe_addr allocate_next(struct tclient *c, floe_time now,
                                      void (*add)(struct floe_stun_builder *, void *), void *arg)
{
    c->from.port++;
    return allocate_with(c, now, add, arg);
}

/* An EVEN-PORT R=1 allocation: its even port; *token from RESERVATION-TOKEN. */
static struct floe_addr allocate_pair(struct tclient *c, floe_time now, uint64_t *token)
{
    bool reserve = true;
    struct floe_addr relayed = allocate_next(c, now, add_even_port, &reserve);

    *token = 0;
    CHECK(relayed.family == FLOE_AF_INET && relayed.port % 2 == 0);
    CHECK_EQ(floe_stun_get_u64(&c->ans, FLOE_STUN_ATTR_RESERVATION_TOKEN, token), 0);
    return relayed;
}

static struct floe_relay *make_relay_range(uint16_t min, uint16_t max,
                                           const struct floe_relay_resv_hooks *hooks)
{
    struct floe_relay_config cfg;

    floe_relay_config_default(&cfg);
    cfg.port_min = min;
    cfg.port_max = max;
    if (hooks)
        cfg.reservations = *hooks;
    return make_relay(&cfg);
}

/* One core on its own: the token gets port+1 once, within 30 s; then the port is free again. */
static void test_even_port_reservation(void)
{
    struct tclient c;
    struct floe_addr even, odd, a;
    uint64_t token, bad;
    uint32_t lifetime = 0;

    tclient_init(&c, make_relay_range(50000, 50003, NULL));
    REQUIRE(c.r);
    even = allocate_pair(&c, 0, &token);
    bad = token ^ 1;
    CHECK_EQ(allocate_next(&c, FLOE_SEC(1), add_token, &bad).family, 0);
    CHECK_EQ(answer_code(&c), 508); /* unknown token */
    odd = allocate_next(&c, FLOE_SEC(1), add_token, &token);
    CHECK(odd.family == FLOE_AF_INET && odd.port == even.port + 1);
    CHECK(!floe_stun_has(&c.ans, FLOE_STUN_ATTR_RESERVATION_TOKEN));
    CHECK_EQ(allocate_next(&c, FLOE_SEC(1), add_token, &token).family, 0);
    CHECK_EQ(answer_code(&c), 508); /* used twice */

    /* The last two ports: a new pair, whose reserved port nobody else gets. */
    floe_relay_free(c.r);
    tclient_init(&c, make_relay_range(50000, 50003, NULL));
    even = allocate_pair(&c, 0, &token);
    CHECK(allocate_next(&c, 0, add_udp, NULL).family);
    CHECK(allocate_next(&c, 0, add_udp, NULL).family);
    CHECK_EQ(allocate_next(&c, 0, add_udp, NULL).family, 0);
    CHECK_EQ(answer_code(&c), 508);
    /* Expired at 30 s, even before the sweep. */
    CHECK_EQ(allocate_next(&c, FLOE_SEC(30), add_token, &token).family, 0);
    CHECK_EQ(answer_code(&c), 508);
    /* The reserved port is released when the reservation expires. */
    floe_relay_handle_timeout(c.r, FLOE_SEC(31));
    a = allocate_next(&c, FLOE_SEC(31), add_udp, NULL);
    CHECK(a.family && a.port == even.port + 1);
    floe_relay_free(c.r);

    /* The reservation outlives the allocation that made it, and keeps the timer armed. */
    tclient_init(&c, make_relay_range(50000, 50003, NULL));
    even = allocate_pair(&c, 0, &token);
    request(&c, FLOE_SEC(1), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    CHECK_EQ(answer_code(&c), 0);
    floe_relay_handle_timeout(c.r, FLOE_SEC(2));
    CHECK(floe_relay_poll_timeout(c.r) <= FLOE_SEC(3));
    floe_relay_handle_timeout(c.r, FLOE_SEC(31));
    CHECK_EQ(floe_relay_poll_timeout(c.r), FLOE_TIME_NEVER);
    floe_relay_free(c.r);
}

/* The registry hooks of one test core: the table called directly (one thread). */
struct tmember {
    struct floe_relay_resv_table *t;
    uint32_t id;
};

static int tm_reserve(void *ctx, uint64_t token, const struct floe_addr *relayed, floe_time expires)
{
    struct tmember *m = ctx;

    return floe_relay_resv_table_reserve(m->t, m->id, token, relayed, expires);
}

static int tm_claim(void *ctx, uint64_t token, floe_time now, struct floe_addr *relayed)
{
    struct tmember *m = ctx;

    return floe_relay_resv_table_claim(m->t, m->id, token, now, relayed, NULL);
}

static void tm_release(void *ctx, uint64_t token)
{
    floe_relay_resv_table_release(((struct tmember *)ctx)->t, token);
}

static bool tm_settle(void *ctx, uint64_t token)
{
    return floe_relay_resv_table_settle(((struct tmember *)ctx)->t, token);
}

static struct floe_relay_resv_hooks tm_hooks(struct tmember *m)
{
    struct floe_relay_resv_hooks h = {tm_reserve, tm_claim, tm_release, tm_settle, m};

    return h;
}

/* Two cores (two daemon workers) with split port ranges sharing one registry. */
struct tpair {
    struct floe_relay_resv_table *t;
    struct tmember m[2];
    struct tclient a, b; /* a client of each core */
};

static void tpair_init(struct tpair *p)
{
    struct floe_relay_resv_hooks h;
    struct floe_allocator plain = {0};

    memset(p, 0, sizeof(*p));
    CHECK_EQ(floe_relay_resv_table_new(&p->t, &plain, 8), 0);
    p->m[0] = (struct tmember){p->t, 0};
    p->m[1] = (struct tmember){p->t, 1};
    h = tm_hooks(&p->m[0]);
    tclient_init(&p->a, make_relay_range(50000, 50003, &h));
    h = tm_hooks(&p->m[1]);
    tclient_init(&p->b, make_relay_range(50004, 50007, &h));
    p->b.from.port = 45000;
}

static void tpair_free(struct tpair *p)
{
    floe_relay_free(p->b.r);
    floe_relay_free(p->a.r);
    CHECK_EQ(floe_relay_resv_table_count(p->t), 0);
    floe_relay_resv_table_free(p->t);
}

/* The token reaches the other core: it gets the port, which its owner reuses only once freed. */
static void test_reservation_across_cores(void)
{
    struct floe_addr even, odd, a;
    struct tpair p;
    uint64_t token, bad;
    uint32_t lifetime = 0;

    tpair_init(&p);
    REQUIRE(p.a.r && p.b.r);
    even = allocate_pair(&p.a, 0, &token);
    CHECK_EQ(floe_relay_resv_table_count(p.t), 1);
    odd = allocate_next(&p.b, FLOE_SEC(1), add_token, &token);
    CHECK(odd.family == FLOE_AF_INET && odd.port == even.port + 1);
    /* Twice, on either core: 508. An unknown token: 508. */
    CHECK_EQ(allocate_next(&p.b, FLOE_SEC(1), add_token, &token).family, 0);
    CHECK_EQ(answer_code(&p.b), 508);
    CHECK_EQ(allocate_next(&p.a, FLOE_SEC(1), add_token, &token).family, 0);
    CHECK_EQ(answer_code(&p.a), 508);
    bad = token + 1;
    CHECK_EQ(allocate_next(&p.b, FLOE_SEC(1), add_token, &bad).family, 0);
    CHECK_EQ(answer_code(&p.b), 508);

    /* The owner's two other ports go; the lent one does not, before or after expiry. */
    CHECK(allocate_next(&p.a, FLOE_SEC(2), add_udp, NULL).family);
    CHECK(allocate_next(&p.a, FLOE_SEC(2), add_udp, NULL).family);
    CHECK_EQ(allocate_next(&p.a, FLOE_SEC(2), add_udp, NULL).family, 0);
    floe_relay_handle_timeout(p.a.r, FLOE_SEC(31));
    CHECK_EQ(allocate_next(&p.a, FLOE_SEC(31), add_udp, NULL).family, 0);
    CHECK_EQ(answer_code(&p.a), 508);
    CHECK(floe_relay_poll_timeout(p.a.r) != FLOE_TIME_NEVER);

    /* The borrower's allocation ends (the client deletes it): the owner gets the port back. */
    p.b.from.port = 45001; /* the client that claimed the token */
    p.b.nonce[0] = '\0';
    request(&p.b, FLOE_SEC(32), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    learn_nonce(&p.b);
    request(&p.b, FLOE_SEC(32), FLOE_STUN_REFRESH, add_lifetime, &lifetime);
    CHECK_EQ(answer_code(&p.b), 0);
    floe_relay_handle_timeout(p.a.r, FLOE_SEC(33));
    CHECK_EQ(allocate_next(&p.a, FLOE_SEC(33), add_udp, NULL).family, 0); /* not asked yet */
    floe_relay_handle_timeout(p.a.r, FLOE_SEC(37));
    CHECK_EQ(floe_relay_resv_table_count(p.t), 0);
    a = allocate_next(&p.a, FLOE_SEC(37), add_udp, NULL);
    CHECK(a.family && a.port == even.port + 1);
    tpair_free(&p);
}

/* With shared reservations the owner still claims its own token, and expiry holds across cores. */
static void test_reservation_shared_own_and_expired(void)
{
    struct floe_addr even, odd;
    struct tpair p;
    uint64_t token;
    int bound = 0;

    tpair_init(&p);
    REQUIRE(p.a.r && p.b.r);
    even = allocate_pair(&p.a, 0, &token);
    odd = allocate_next(&p.a, FLOE_SEC(1), add_token, &token);
    CHECK(odd.family && odd.port == even.port + 1);
    CHECK_EQ(floe_relay_resv_table_count(p.t), 0); /* the owner's claim forgets it */

    /* A pair from the other core: expired at 30 s on this one too. */
    even = allocate_pair(&p.b, FLOE_SEC(10), &token);
    CHECK_EQ(allocate_next(&p.a, FLOE_SEC(40), add_token, &token).family, 0);
    CHECK_EQ(answer_code(&p.a), 508);
    floe_relay_handle_timeout(p.b.r, FLOE_SEC(41));
    CHECK_EQ(floe_relay_resv_table_count(p.t), 0);

    /* A claimed port that cannot be bound goes back to its owner at once. */
    even = allocate_pair(&p.b, FLOE_SEC(50), &token);
    p.a.from.port++;
    p.a.nonce[0] = '\0';
    request(&p.a, FLOE_SEC(50), FLOE_STUN_ALLOCATE, add_token, &token);
    learn_nonce(&p.a);
    request(&p.a, FLOE_SEC(50), FLOE_STUN_ALLOCATE, add_token, &token);
    {
        struct floe_relay_event ev;

        while (floe_relay_poll_event(p.a.r, &ev)) {
            if (ev.kind != FLOE_RELAY_EV_BIND_PORT)
                continue;
            CHECK_EQ(ev.addr.port, even.port + 1);
            p.a.out_len = floe_relay_port_bound(p.a.r, FLOE_SEC(50), ev.alloc_id, FLOE_ERR_IO,
                                                p.a.out, sizeof(p.a.out), &p.a.tx);
            bound++;
        }
    }
    CHECK_EQ(bound, 1);
    floe_relay_handle_timeout(p.b.r, FLOE_SEC(81));
    CHECK_EQ(floe_relay_resv_table_count(p.t), 0);
    tpair_free(&p);
}

/* The registry against a model: reserve, claim, release, settle on a small, crowded table. */
struct tmodel_entry {
    uint8_t state; /* 0 none, 1 reserved, 2 claimed, 3 released */
    uint32_t owner;
    floe_time expires;
};

static void model_reserve(struct floe_relay_resv_table *t, struct tmodel_entry *m, uint32_t *n,
                          const uint64_t *tokens, unsigned k, uint32_t who, floe_time exp)
{
    struct floe_addr a = floe_addr_v4(192, 0, 2, 1, (uint16_t)(1000 + k));
    int want = *n >= 8 ? FLOE_ERR_NOMEM : m[k].state ? FLOE_ERR_STATE : 0;

    CHECK_EQ(floe_relay_resv_table_reserve(t, who, tokens[k], &a, exp), want);
    if (want == 0) {
        m[k] = (struct tmodel_entry){1, who, exp};
        (*n)++;
    }
}

static void model_claim(struct floe_relay_resv_table *t, struct tmodel_entry *m, uint32_t *n,
                        const uint64_t *tokens, unsigned k, uint32_t who, floe_time now)
{
    struct floe_addr a;
    uint32_t owner = 99;
    bool ok = m[k].state == 1 && m[k].expires > now;

    CHECK_EQ(floe_relay_resv_table_claim(t, who, tokens[k], now, &a, &owner),
             ok ? 0 : FLOE_ERR_NOT_FOUND);
    if (!ok)
        return;
    CHECK_EQ(a.port, 1000 + k);
    CHECK_EQ(owner, m[k].owner);
    m[k].state = m[k].owner == who ? 0 : 2;
    *n -= m[k].state == 0;
}

static void test_reservation_table_model(void)
{
    struct floe_relay_resv_table *t = NULL;
    struct floe_allocator plain = {0};
    struct tmodel_entry m[24];
    uint64_t tokens[24];
    uint32_t n = 0;
    unsigned i, k;

    CHECK_EQ(floe_relay_resv_table_new(&t, &plain, 0), FLOE_ERR_INVALID_ARG);
    REQUIRE(floe_relay_resv_table_new(&t, &plain, 8) == 0);
    memset(m, 0, sizeof(m));
    for (k = 0; k < 24; k++)
        tokens[k] = floe_xoshiro_next(&test_rng);
    for (i = 0; i < 50000; i++) {
        uint64_t x = floe_xoshiro_next(&test_rng);
        floe_time now = (floe_time)(i / 8);
        uint32_t who = (uint32_t)(x >> 8) % 3;
        bool was_claimed;

        k = (unsigned)((x >> 16) % 24);
        switch (x % 4) {
        case 0:
            model_reserve(t, m, &n, tokens, k, who, now + (x >> 40) % 64);
            break;
        case 1:
            model_claim(t, m, &n, tokens, k, who, now);
            break;
        case 2:
            floe_relay_resv_table_release(t, tokens[k]);
            m[k].state = m[k].state == 2 ? 3 : m[k].state;
            break;
        default:
            was_claimed = m[k].state == 2;
            CHECK_EQ(floe_relay_resv_table_settle(t, tokens[k]), !was_claimed);
            if (!was_claimed && m[k].state) {
                m[k].state = 0;
                n--;
            }
        }
        CHECK_EQ(floe_relay_resv_table_count(t), n);
        if (floe_test_failures_in_current)
            break;
    }
    floe_relay_resv_table_free(t);
}

static void test_reservation_config(void)
{
    struct floe_relay_config cfg;
    struct floe_relay *r = NULL;
    struct floe_relay_resv_table *t = NULL;
    struct floe_test_failmalloc fm = {-1, 0, 0};
    struct floe_allocator failing = {floe_test_failmalloc_malloc, floe_test_failmalloc_realloc,
                                     floe_test_failmalloc_free, &fm};
    struct tmember mb = {NULL, 0};
    long i;
    int rc;

    floe_relay_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&test_rng);
    cfg.relay_v4 = relay_ip;
    cfg.auth_secret = "s";
    cfg.reservations = tm_hooks(&mb);
    cfg.reservations.settle = NULL; /* all four or none */
    CHECK_EQ(floe_relay_new(&r, &cfg), FLOE_ERR_INVALID_ARG);
    for (i = 0; i < 10; i++) {
        fm.fail_at = i;
        fm.count = 0;
        rc = floe_relay_resv_table_new(&t, &failing, 100);
        if (fm.count <= i) {
            CHECK_EQ(rc, 0);
            floe_relay_resv_table_free(t);
            break;
        }
        CHECK_EQ(rc, FLOE_ERR_NOMEM);
    }
    CHECK(i < 10);
}

/* ------------------------------------------ RFC 8656 details (issue 9, item 5) */

static void add_dual(struct floe_stun_builder *b, void *arg)
{
    (void)arg;
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_family(b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, FLOE_STUN_FAMILY_IPV6);
}

static void add_udp_lifetime(struct floe_stun_builder *b, void *arg)
{
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, *(uint32_t *)arg);
}

static void add_udp_df(struct floe_stun_builder *b, void *arg)
{
    (void)arg;
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_flag(b, FLOE_STUN_ATTR_DONT_FRAGMENT);
}

static void add_token_family(struct floe_stun_builder *b, void *arg)
{
    add_token(b, arg);
    floe_stun_add_family(b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, FLOE_STUN_FAMILY_IPV4);
}

static void add_family_v6(struct floe_stun_builder *b, void *arg)
{
    (void)arg;
    floe_stun_add_family(b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, FLOE_STUN_FAMILY_IPV6);
}

/* A dual allocation on an IPv4-only relay: IPv4 with ADDRESS-ERROR-CODE 440 for IPv6. */
static void test_dual_on_v4_only(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_addr relayed[2];
    struct floe_span reason;
    uint8_t fam = 0;
    int code = 0;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    relayed[0] = allocate_with(&c, 0, add_dual, NULL);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(relayed[0].family, FLOE_AF_INET);
    CHECK_EQ(floe_stun_get_xor_addrs(&c.ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, relayed, 2), 1);
    CHECK_EQ(floe_stun_get_address_error(&c.ans, &fam, &code, &reason), 0);
    CHECK_EQ(fam, FLOE_STUN_FAMILY_IPV6);
    CHECK_EQ(code, 440);
    /* Asking for IPv6 alone still fails whole. */
    c.from.port++;
    request(&c, 0, FLOE_STUN_ALLOCATE, add_family_v6, NULL);
    CHECK_EQ(answer_code(&c), 400); /* no REQUESTED-TRANSPORT */
    floe_relay_free(c.r);
}

/* LIFETIME on Allocate and Refresh: max(default, min(requested, max)); 0 on Allocate too. */
static void test_allocate_lifetime(void)
{
    static const uint32_t asked[] = {0, 30, 1200, 7200};
    static const uint32_t given[] = {600, 600, 1200, 3600};
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct tclient c;
    uint32_t got = 0, thirty = 30;
    size_t i;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    for (i = 0; i < 4; i++) {
        c.from.port++;
        CHECK(allocate_with(&c, 0, add_udp_lifetime, (void *)&asked[i]).family);
        CHECK_EQ(floe_stun_get_u32(&c.ans, FLOE_STUN_ATTR_LIFETIME, &got), 0);
        CHECK_EQ(got, given[i]);
    }
    /* LIFETIME 0 did not make an allocation that is gone at the next sweep. */
    floe_relay_handle_timeout(c.r, FLOE_SEC(2));
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 4);
    request(&c, FLOE_SEC(3), FLOE_STUN_REFRESH, add_lifetime, &thirty);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(floe_stun_get_u32(&c.ans, FLOE_STUN_ATTR_LIFETIME, &got), 0);
    CHECK_EQ(got, 600);
    floe_relay_free(c.r);
}

/* Through the 401 dance up to the BIND_PORT event of an Allocate (not answered yet). */
static int allocate_event(struct tclient *c, floe_time now,
                          void (*add)(struct floe_stun_builder *, void *),
                          struct floe_relay_event *ev)
{
    c->nonce[0] = '\0';
    request(c, now, FLOE_STUN_ALLOCATE, add, NULL);
    if (answer_code(c) != 401)
        return -1;
    learn_nonce(c);
    request(c, now, FLOE_STUN_ALLOCATE, add, NULL);
    if (c->out_len != 0 || floe_relay_poll_event(c->r, ev) != 1 ||
        ev->kind != FLOE_RELAY_EV_BIND_PORT)
        return -1;
    return 0;
}

/* DONT-FRAGMENT reaches the caller that binds the socket. */
static void test_dont_fragment(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_event ev;
    struct tclient c;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    REQUIRE(allocate_event(&c, 0, add_udp_df, &ev) == 0);
    CHECK(ev.dont_fragment);
    c.out_len = floe_relay_port_bound(c.r, 0, ev.alloc_id, 0, c.out, sizeof(c.out), &c.tx);
    REQUIRE(c.out_len > 0 && floe_stun_decode(&c.ans, c.out, (size_t)c.out_len) == 0);
    CHECK_EQ(answer_code(&c), 0);
    while (floe_relay_poll_event(c.r, &ev))
        ;
    c.from.port++;
    REQUIRE(allocate_event(&c, 0, add_udp, &ev) == 0);
    CHECK(!ev.dont_fragment);
    floe_relay_free(c.r);
}

static void send_indication_unknown(struct tclient *c, floe_time now, const struct floe_addr *peer)
{
    uint8_t buf[200];
    struct floe_stun_builder b;
    long n;

    new_txid(c);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_SEND, FLOE_STUN_INDICATION, c->txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_DATA, "ping", 4);
    floe_stun_add_bytes(&b, 0x7777, "zz", 2);
    n = floe_stun_build_finish(&b);
    REQUIRE(n > 0);
    feed(c, now, buf, (size_t)n);
}

/* Unknown comprehension-required attributes: 420 for Binding, a dropped Send indication. */
static void test_unknown_attribute_everywhere(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct floe_addr peer = floe_addr_v4(198, 51, 100, 7, 4000);
    struct tclient c;
    uint16_t types[4];
    size_t n = 0;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_BINDING, add_unknown, NULL);
    CHECK_EQ(answer_code(&c), 420);
    CHECK_EQ(floe_stun_get_unknown_attrs(&c.ans, types, 4, &n), 0);
    CHECK(n == 1 && types[0] == 0x7777);
    REQUIRE(allocate(&c, 0).family);
    request(&c, 0, FLOE_STUN_CREATE_PERMISSION, add_peer, &peer);
    CHECK_EQ(answer_code(&c), 0);
    send_indication(&c, 0, &peer);
    CHECK_EQ(c.out_len, 4); /* the same indication without the unknown attribute goes */
    send_indication_unknown(&c, 0, &peer);
    CHECK_EQ(c.out_len, 0);
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.drops[FLOE_RELAY_DROP_UNKNOWN_ATTRIBUTE], 1);
    CHECK_EQ(st.packets_to_peers, 1);
    floe_relay_free(c.r);
}

/* RESERVATION-TOKEN with REQUESTED-ADDRESS-FAMILY: 400; Refresh of another family: 443. */
static void test_token_family_and_refresh_family(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    uint64_t token;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    (void)allocate_pair(&c, 0, &token);
    REQUIRE(token != 0);
    CHECK_EQ(allocate_next(&c, FLOE_SEC(1), add_token_family, &token).family, 0);
    CHECK_EQ(answer_code(&c), 400);
    /* The token is still good without the family. */
    CHECK(allocate_next(&c, FLOE_SEC(1), add_token, &token).family);
    request(&c, FLOE_SEC(2), FLOE_STUN_REFRESH, add_family_v6, NULL);
    CHECK_EQ(answer_code(&c), 443);
    request(&c, FLOE_SEC(2), FLOE_STUN_REFRESH, NULL, NULL);
    CHECK_EQ(answer_code(&c), 0);
    floe_relay_free(c.r);
}

/* ------------------------------------------ unauthenticated answers (issue 9, items 1, 6) */

struct flood {
    struct tclient f;
    uint8_t msg[64];
    size_t len;
    uint64_t answered;
};

/* A source sending 28-byte Allocates (REQUESTED-TRANSPORT, no credentials). */
static void flood_init(struct flood *fl, struct floe_relay *r)
{
    struct floe_stun_builder b;
    uint8_t txid[12] = {0x46, 0x4c};

    tclient_init(&fl->f, r);
    fl->f.from = floe_addr_v4(203, 0, 113, 66, 5000);
    floe_stun_build_init(&b, fl->msg, sizeof(fl->msg), FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST, txid);
    floe_stun_add_requested_transport(&b, 17);
    fl->len = (size_t)floe_stun_build_finish(&b);
    fl->answered = 0;
}

/* Flood every 100 us (10,000 per second) from *t until until. */
static void flood_until(struct flood *fl, floe_time *t, floe_time until)
{
    for (; *t < until; *t += FLOE_MS(1) / 10)
        fl->answered += feed(&fl->f, *t, fl->msg, fl->len) > 0;
}

/* One ChannelData each way between c (channel 0x4001) and peer; true when both arrive. */
static bool exchange(struct tclient *c, floe_time now, const struct floe_addr *relayed,
                     const struct floe_addr *peer)
{
    uint8_t frame[64], out[256];
    struct floe_relay_tx tx;
    long n = floe_channeldata_encode(frame, sizeof(frame), 0x4001, (const uint8_t *)"abc", 3);

    if (n != 7 || feed(c, now, frame, (size_t)n) != 3 || !floe_addr_eq(&c->tx.to, peer))
        return false;
    n = floe_relay_handle_peer(c->r, now, relayed, peer, (const uint8_t *)"xyz", 3, out,
                               sizeof(out), &tx);
    return n == 7 && floe_addr_eq(&tx.to, &c->from);
}

/*
 * One source floods Allocates at 10x the relay's overall limit of unauthenticated answers
 * while a second client allocates, binds a channel, refreshes across a nonce expiry (438,
 * then success) and relays data both ways every half second: nothing of it is lost.
 */
static void test_flood_one_source(void)
{
    struct floe_relay_config cfg;
    struct floe_addr relayed, peer = floe_addr_v4(198, 51, 100, 7, 4000);
    struct chan_arg ca = {0x4001, peer};
    struct floe_relay_stats st;
    struct flood fl;
    struct tclient c;
    floe_time t = 0;
    uint32_t lifetime = 600;
    int sent = 0, ok = 0;

    floe_relay_config_default(&cfg);
    cfg.unauth_rate = 1000;
    cfg.nonce_lifetime = FLOE_SEC(30);
    tclient_init(&c, make_relay(&cfg));
    flood_init(&fl, c.r);
    flood_until(&fl, &t, FLOE_MS(500));
    relayed = allocate(&c, t);
    REQUIRE(relayed.family == FLOE_AF_INET);
    flood_until(&fl, &t, FLOE_MS(700));
    request(&c, t, FLOE_STUN_CHANNEL_BIND, add_chan, &ca);
    CHECK_EQ(answer_code(&c), 0);
    while (t < FLOE_SEC(40)) {
        flood_until(&fl, &t, t + FLOE_MS(500));
        if (t >= FLOE_SEC(35) && t < FLOE_SEC(35) + FLOE_MS(500)) {
            request(&c, t, FLOE_STUN_REFRESH, add_lifetime, &lifetime);
            CHECK_EQ(answer_code(&c), 438);
            learn_nonce(&c);
            request(&c, t, FLOE_STUN_REFRESH, add_lifetime, &lifetime);
            CHECK_EQ(answer_code(&c), 0);
        }
        floe_relay_handle_timeout(c.r, t);
        sent++;
        ok += exchange(&c, t, &relayed, &peer);
    }
    CHECK_EQ(ok, sent);
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 1);
    /* The flooder got at most its own share: 100 answers a second. */
    CHECK(fl.answered > 0 && fl.answered <= 100u * 41u);
    CHECK(st.drops[FLOE_RELAY_DROP_RATE_LIMITED] >= 390000u - 100u * 41u);
    floe_relay_free(c.r);
}

/* Up to n Bindings from c at now; the number answered. */
static int bindings(struct tclient *c, floe_time now, int n)
{
    int i, answered = 0;

    for (i = 0; i < n; i++) {
        request(c, now, FLOE_STUN_BINDING, NULL, NULL);
        answered += c->out_len > 0;
    }
    return answered;
}

/* 400 before authentication: MESSAGE-INTEGRITY without USERNAME. */
static void add_integrity_only(struct floe_stun_builder *b, void *arg)
{
    uint8_t key[16] = {0};

    (void)arg;
    floe_stun_add_requested_transport(b, 17);
    floe_stun_add_integrity_key(b, key, sizeof(key));
}

/* Binding, 400 and 401 answers to one source share its limit; an IPv6 /64 is one source. */
static void test_unauth_answers_limited(void)
{
    struct floe_relay_config cfg;
    struct tclient c, other;
    int i, answered = 0;

    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    CHECK_EQ(bindings(&c, 0, 1000), 100);
    tclient_init(&other, c.r);
    other.from = floe_addr_v4(203, 0, 113, 9, 1);
    CHECK_EQ(bindings(&other, 0, 1), 1); /* another source is answered */
    for (i = 0; i < 1000; i++) {
        request(&c, FLOE_SEC(1), FLOE_STUN_ALLOCATE, add_integrity_only, NULL);
        answered += c.out_len > 0 && answer_code(&c) == 400;
        request(&c, FLOE_SEC(1), 0x0b, NULL, NULL); /* an unknown method: 400 */
        answered += c.out_len > 0 && answer_code(&c) == 400;
    }
    CHECK_EQ(answered, 100);
    CHECK_EQ(bindings(&c, FLOE_SEC(2), 1), 1); /* a new second */
    CHECK_EQ(floe_addr_parse("[2001:db8:1:2::1]:5000", &c.from), 0);
    CHECK_EQ(floe_addr_parse("[2001:db8:1:2:ffff::9]:6000", &other.from), 0);
    CHECK_EQ(bindings(&c, FLOE_SEC(3), 60) + bindings(&other, FLOE_SEC(3), 60), 100);
    CHECK_EQ(floe_addr_parse("[2001:db8:1:3::1]:5000", &other.from), 0);
    CHECK_EQ(bindings(&other, FLOE_SEC(3), 1), 1); /* the next /64 is another source */
    floe_relay_free(c.r);
}

/* Answers carry SOFTWARE only when the config names one. */
static void test_software(void)
{
    struct floe_relay_config cfg;
    struct tclient c;
    struct floe_span sw;

    floe_relay_config_default(&cfg);
    cfg.software = "floe-relay test";
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_BINDING, NULL, NULL);
    CHECK_EQ(floe_stun_get_span(&c.ans, FLOE_STUN_ATTR_SOFTWARE, &sw), 0);
    floe_relay_free(c.r);
    floe_relay_config_default(&cfg);
    tclient_init(&c, make_relay(&cfg));
    request(&c, 0, FLOE_STUN_ALLOCATE, add_udp, NULL);
    CHECK_EQ(answer_code(&c), 401);
    CHECK(!floe_stun_has(&c.ans, FLOE_STUN_ATTR_SOFTWARE));
    floe_relay_free(c.r);
}

/* ------------------------------------------ peer policy (issue 9, item 2) */

/* CreatePermission for text answers want; prints the peer when it does not. */
static void expect_peer(struct tclient *c, const char *text, int want)
{
    struct floe_addr peer;

    REQUIRE(floe_addr_parse(text, &peer) == 0);
    request(c, 0, FLOE_STUN_CREATE_PERMISSION, add_peer, &peer);
    if (answer_code(c) != want)
        fprintf(stderr, "  %s: %d, expected %d\n", text, answer_code(c), want);
    CHECK_EQ(answer_code(c), want);
}

/*
 * A dual-stack relay (192.0.2.1 and 2001:db8::1, listening on 192.0.2.1:3478) with a dual
 * allocation, so that every row reaches the policy (an IPv4-only relay answers 443 to IPv6
 * peers before the policy runs).
 */
static struct tclient policy_client(struct floe_relay_config *cfg)
{
    struct tclient c;
    struct floe_addr relayed[2];

    CHECK_EQ(floe_addr_parse_ip("2001:db8::1", &cfg->relay_v6), 0);
    cfg->listen[0] = listen_addr;
    cfg->n_listen = 1;
    tclient_init(&c, make_relay(cfg));
    CHECK(allocate_with(&c, 0, add_dual, NULL).family);
    CHECK_EQ(floe_stun_get_xor_addrs(&c.ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, relayed, 2), 2);
    return c;
}

static void test_peer_policy(void)
{
    static const char *const refused[] = {
        "127.0.0.1:1",
        "10.0.0.1:1",
        "192.168.1.1:1",
        "172.16.0.1:1",
        "169.254.0.1:1",
        "0.0.0.0:1",
        "224.0.0.1:1",
        "255.255.255.255:1",
        "100.64.0.1:1",
        "192.0.2.1:1",
        "192.0.2.1:3478",
        "[::1]:1",
        "[::]:1",
        "[fe80::1]:1",
        "[fc00::1]:1",
        "[ff02::1]:1",
        "[::ffff:10.0.0.1]:1",
        "[::ffff:127.0.0.1]:1",
        "[64:ff9b::7f00:1]:1",
        "[64:ff9b::a00:1]:1",
        "[2002:7f00:1::1]:1",
        "[2002:a00:1::1]:1",
        "[::7f00:1]:1",
        "[::ffff:0:7f00:1]:1",
        "[2001::1]:1",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:1",
        "[2001:db8::1]:1",
        "[64:ff9b::c000:201]:1",
        "[2001:db8::1]:3478",
    };
    static const char *const allowed[] = {
        "198.51.100.7:4000",         "[2001:db8:5::7]:4000", "[64:ff9b::c633:6407]:4000",
        "[2002:c633:6407::1]:1",     "192.0.2.1:50000",      "[2001:db8::1]:50000",
        "[64:ff9b::c000:201]:50000",
    };
    struct floe_relay_config cfg;
    struct tclient c;
    size_t i;

    floe_relay_config_default(&cfg);
    c = policy_client(&cfg);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect_peer(&c, refused[i], 403);
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        expect_peer(&c, allowed[i], 0);
    floe_relay_free(c.r);
}

/* Allow entries: everything re-opens private ranges, not loopback nor the relay's own. */
static void test_peer_policy_allow(void)
{
    struct floe_relay_config cfg;
    struct tclient c;

    floe_relay_config_default(&cfg);
    CHECK_EQ(floe_cidr_parse("0.0.0.0/0", &cfg.allow[0]), 0);
    CHECK_EQ(floe_cidr_parse("::/0", &cfg.allow[1]), 0);
    CHECK_EQ(floe_cidr_parse("192.0.2.0/24", &cfg.allow[2]), 0);
    cfg.n_allow = 3;
    c = policy_client(&cfg);
    expect_peer(&c, "10.0.0.1:1", 0);
    expect_peer(&c, "[fc00::1]:1", 0);
    expect_peer(&c, "127.0.0.1:1", 403);
    expect_peer(&c, "[::1]:1", 403);
    expect_peer(&c, "[64:ff9b::7f00:1]:1", 403);
    expect_peer(&c, "192.0.2.1:1", 403);
    expect_peer(&c, "[2001:db8::1]:1", 403);
    floe_relay_free(c.r);

    /* Named alone they are open, but never the listening port. */
    floe_relay_config_default(&cfg);
    CHECK_EQ(floe_cidr_parse("127.0.0.1/32", &cfg.allow[0]), 0);
    CHECK_EQ(floe_cidr_parse("192.0.2.1", &cfg.allow[1]), 0);
    cfg.n_allow = 2;
    c = policy_client(&cfg);
    expect_peer(&c, "127.0.0.1:1", 0);
    expect_peer(&c, "[::ffff:127.0.0.1]:1", 0);
    expect_peer(&c, "127.0.0.2:1", 403);
    expect_peer(&c, "192.0.2.1:1", 0);
    expect_peer(&c, "192.0.2.1:3478", 403);
    floe_relay_free(c.r);

    floe_relay_config_default(&cfg);
    cfg.allow_loopback_peers = true;
    CHECK_EQ(floe_cidr_parse("10.9.0.0/16", &cfg.allow[0]), 0);
    cfg.n_allow = 1;
    CHECK_EQ(floe_cidr_parse("203.0.113.0/24", &cfg.deny[0]), 0);
    CHECK_EQ(floe_cidr_parse("64:ff9b::/96", &cfg.deny[1]), 0);
    cfg.n_deny = 2;
    c = policy_client(&cfg);
    expect_peer(&c, "127.0.0.1:5", 0);
    expect_peer(&c, "[::1]:5", 0);
    expect_peer(&c, "10.9.3.3:5", 0);
    expect_peer(&c, "10.10.3.3:5", 403);
    expect_peer(&c, "203.0.113.3:5", 403);
    expect_peer(&c, "[2002:cb00:7103::1]:5", 403); /* 6to4 of 203.0.113.3 */
    expect_peer(&c, "[64:ff9b::c633:6407]:5", 403);
    floe_relay_free(c.r);
}

/*
 * Relay to relay: the relay's own relayed address on the relayed range of the whole relay
 * (every core's share), never its listening port, also for a Send indication under a
 * permission made with a good port.
 */
static void test_relay_to_relay(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct floe_addr r2r, loop;
    struct tclient c;

    floe_relay_config_default(&cfg);
    cfg.port_min = 50000;
    cfg.port_max = 50099;
    cfg.relay_range_min = 50000;
    cfg.relay_range_max = 50999;
    c = policy_client(&cfg);
    expect_peer(&c, "192.0.2.1:50500", 0);
    expect_peer(&c, "192.0.2.1:51000", 403);
    expect_peer(&c, "192.0.2.1:49999", 403);
    r2r = floe_addr_v4(192, 0, 2, 1, 50500);
    loop = listen_addr;
    send_indication(&c, 0, &r2r);
    CHECK_EQ(c.out_len, 4);
    send_indication(&c, 0, &loop);
    CHECK_EQ(c.out_len, 0);
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.drops[FLOE_RELAY_DROP_FORBIDDEN_PEER], 1);
    floe_relay_free(c.r);

    /* The host's other addresses (behind a wildcard listen address) are the relay's too. */
    floe_relay_config_default(&cfg);
    cfg.own[0] = floe_addr_v4(198, 51, 100, 50, 0);
    cfg.n_own = 1;
    c = policy_client(&cfg);
    expect_peer(&c, "198.51.100.50:4000", 403);
    expect_peer(&c, "198.51.100.51:4000", 0);
    floe_relay_free(c.r);

    /* Without the whole range a core knows only its own share. */
    floe_relay_config_default(&cfg);
    cfg.port_min = 50000;
    cfg.port_max = 50099;
    c = policy_client(&cfg);
    expect_peer(&c, "192.0.2.1:50050", 0);
    expect_peer(&c, "192.0.2.1:50500", 403);
    floe_relay_free(c.r);
}

/* ------------------------------------------ relayed ports held by others (issue 9, item 9) */

/* Answer the pending BIND_PORT events: fail those on a port in busy (a bit per port from
 * base), bind the others; the ports bound in *bound; the answer in c. */
static void bind_all(struct tclient *c, floe_time now, uint16_t base, uint64_t busy,
                     struct floe_addr *bound, int *n_bound)
{
    struct floe_relay_event ev;

    *n_bound = 0;
    c->out_len = 0;
    while (floe_relay_poll_event(c->r, &ev)) {
        bool fail;

        if (ev.kind != FLOE_RELAY_EV_BIND_PORT)
            continue;
        fail = ev.addr.port >= base && ev.addr.port < base + 64 &&
               ((busy >> (ev.addr.port - base)) & 1u);
        if (!fail && *n_bound < 2)
            bound[(*n_bound)++] = ev.addr;
        c->out_len = floe_relay_port_bound(c->r, now, ev.alloc_id, fail ? FLOE_ERR_IO : 0, c->out,
                                           sizeof(c->out), &c->tx);
    }
    if (c->out_len > 0)
        CHECK_EQ(floe_stun_decode(&c->ans, c->out, (size_t)c->out_len), 0);
}

/* Allocate with add() while the ports in busy are held by another process. */
static struct floe_addr allocate_busy(struct tclient *c, floe_time now,
                                      void (*add)(struct floe_stun_builder *, void *), void *arg,
                                      uint64_t busy, int *n_bound)
{
    struct floe_addr bound[2], relayed;

    memset(&relayed, 0, sizeof(relayed));
    c->from.port++;
    c->nonce[0] = '\0';
    request(c, now, FLOE_STUN_ALLOCATE, add, arg);
    learn_nonce(c);
    request(c, now, FLOE_STUN_ALLOCATE, add, arg);
    bind_all(c, now, 50000, busy, bound, n_bound);
    if (answer_code(c) == 0)
        CHECK_EQ(floe_stun_get_xor_addr(&c->ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed), 0);
    if (answer_code(c) == 0 && *n_bound) /* the address answered is one bound */
        CHECK(floe_addr_eq(&relayed, &bound[0]) ||
              (*n_bound == 2 && floe_addr_eq(&relayed, &bound[1])));
    return relayed;
}

/*
 * A relayed port another process holds: the relay binds another free port of the range
 * (coturn does the same), also an even one for EVEN-PORT and for the second family of a
 * dual allocation; 508 only when every port is taken, or at once for a reserved port.
 */
static void test_bind_retry(void)
{
    struct floe_relay_config cfg;
    struct floe_relay_stats st;
    struct floe_addr a;
    struct tclient c;
    bool even = false;
    int n, i;

    floe_relay_config_default(&cfg);
    cfg.port_min = 50000;
    cfg.port_max = 50015;
    CHECK_EQ(floe_addr_parse_ip("2001:db8::1", &cfg.relay_v6), 0);
    tclient_init(&c, make_relay(&cfg));
    for (i = 0; i < 5; i++) { /* one port of sixteen is free: found wherever the pick starts */
        a = allocate_busy(&c, 0, add_udp, NULL, 0xffffu & ~(1u << 9), &n);
        CHECK_EQ(answer_code(&c), 0);
        CHECK_EQ(a.port, 50009);
        request(&c, 0, FLOE_STUN_REFRESH, add_lifetime, &(uint32_t){0});
        CHECK_EQ(answer_code(&c), 0);
    }
    a = allocate_busy(&c, 0, add_even_port, &even, 0xffffu & ~(1u << 9 | 1u << 12), &n);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(a.port, 50012);
    /* Dual: both families move off the busy ports (the same numbers in each family here). */
    a = allocate_busy(&c, 0, add_dual, NULL, 0xffffu & ~(1u << 3), &n);
    CHECK_EQ(answer_code(&c), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(floe_stun_get_xor_addrs(&c.ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                     (struct floe_addr[2]){0}, 2),
             2);
    /* Every port held: 508. */
    a = allocate_busy(&c, 0, add_udp, NULL, 0xffffu, &n);
    CHECK_EQ(answer_code(&c), 508);
    floe_relay_get_stats(c.r, &st);
    CHECK_EQ(st.allocations, 2);
    floe_relay_free(c.r);
}

/* EVEN-PORT R: the reservation follows the even port off a held one, in one core or shared. */
static void test_bind_retry_reservation(void)
{
    struct floe_relay_resv_table *t = NULL;
    struct floe_allocator plain = {0};
    struct tmember m = {NULL, 0};
    struct floe_relay_resv_hooks h = tm_hooks(&m);
    struct floe_addr a, odd;
    struct tclient c;
    uint64_t token = 0;
    bool reserve = true;
    int n, shared;

    REQUIRE(floe_relay_resv_table_new(&t, &plain, 16) == 0);
    m.t = t;
    for (shared = 0; shared < 2; shared++) {
        tclient_init(&c, make_relay_range(50000, 50015, shared ? &h : NULL));
        a = allocate_busy(&c, 0, add_even_port, &reserve, 0xffffu & ~(3u << 10), &n);
        CHECK_EQ(answer_code(&c), 0);
        CHECK_EQ(a.port, 50010);
        CHECK_EQ(floe_stun_get_u64(&c.ans, FLOE_STUN_ATTR_RESERVATION_TOKEN, &token), 0);
        odd = allocate_busy(&c, 0, add_token, &token, 0, &n);
        CHECK_EQ(answer_code(&c), 0);
        CHECK_EQ(odd.port, 50011);
        /* A token whose port is held: 508 (the token names the port). */
        a = allocate_busy(&c, 0, add_even_port, &reserve, 0xffffu & ~(1u << 12), &n);
        CHECK_EQ(a.port, 50012);
        CHECK_EQ(floe_stun_get_u64(&c.ans, FLOE_STUN_ATTR_RESERVATION_TOKEN, &token), 0);
        odd = allocate_busy(&c, 0, add_token, &token, 1u << 13, &n);
        CHECK_EQ(answer_code(&c), 508);
        /* No even port free: 508. */
        a = allocate_busy(&c, 0, add_even_port, &reserve, 0xffffu, &n);
        CHECK_EQ(answer_code(&c), 508);
        floe_relay_free(c.r);
    }
    CHECK_EQ(floe_relay_resv_table_count(t), 0);
    floe_relay_resv_table_free(t);
}

int main(void)
{
    floe_xoshiro_seed(&test_rng, floe_test_seed());
    CHECK_EQ(floe_addr_parse("192.0.2.1:3478", &listen_addr), 0);
    CHECK_EQ(floe_addr_parse("198.51.100.20:40000", &client_addr), 0);
    CHECK_EQ(floe_addr_parse_ip("192.0.2.1", &relay_ip), 0);
    LISTEN = &listen_addr;
    FLOE_RUN(test_binding);
    FLOE_RUN(test_allocate_dance);
    FLOE_RUN(test_auth_failures);
    FLOE_RUN(test_nonce_after_roam);
    FLOE_RUN(test_rest_credentials);
    FLOE_RUN(test_rest_password_vector);
    FLOE_RUN(test_permissions_and_data);
    FLOE_RUN(test_send_indication_and_channels);
    FLOE_RUN(test_refresh_and_expiry);
    FLOE_RUN(test_quota_and_bind_failure);
    FLOE_RUN(test_unknown_attribute);
    FLOE_RUN(test_garbage);
    FLOE_RUN(test_config_and_failmalloc);
    FLOE_RUN(test_cidr);
    FLOE_RUN(test_peer_policy);
    FLOE_RUN(test_peer_policy_allow);
    FLOE_RUN(test_relay_to_relay);
    FLOE_RUN(test_even_port_reservation);
    FLOE_RUN(test_reservation_across_cores);
    FLOE_RUN(test_reservation_shared_own_and_expired);
    FLOE_RUN(test_reservation_table_model);
    FLOE_RUN(test_reservation_config);
    FLOE_RUN(test_dual_on_v4_only);
    FLOE_RUN(test_allocate_lifetime);
    FLOE_RUN(test_dont_fragment);
    FLOE_RUN(test_unknown_attribute_everywhere);
    FLOE_RUN(test_token_family_and_refresh_family);
    FLOE_RUN(test_flood_one_source);
    FLOE_RUN(test_unauth_answers_limited);
    FLOE_RUN(test_software);
    FLOE_RUN(test_bind_retry);
    FLOE_RUN(test_bind_retry_reservation);
    return floe_test_summary();
}
