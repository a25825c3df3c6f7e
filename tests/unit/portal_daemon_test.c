/*
 * floe-portal's serving side without a server: arguments, TURN REST credentials, the
 * authorization secrets, rate limits, the relays' health table and the metrics text.
 */
#include "floe/crypto.h"
#include "floe/stun.h"
#include "portald.h"
#include "serve.h"
#include "test.h"

static int parse(struct portald_opts *o, char *err, size_t cap, int argc, const char **argv)
{
    return portald_parse_args(argc, (char **)argv, o, err, cap);
}

static void test_args_defaults_and_limits(void)
{
    struct portald_opts o;
    char err[256];
    const char *ok[] = {
        "floe-portal", "--insecure",  "--listen", "127.0.0.1:9000", "--token-rate",
        "5/9",         "--max-frame", "4096",     "--database",     "sqlite:/tmp/x.db"};

    REQUIRE(parse(&o, err, sizeof(err), 10, ok) == 0);
    CHECK_EQ(o.listen.port, 9000);
    CHECK(o.insecure);
    CHECK_EQ(o.token_rate, 5);
    CHECK_EQ(o.token_burst, 9);
    CHECK_EQ(o.max_frame, 4096);
    CHECK_STR(o.database, "sqlite:/tmp/x.db");
    CHECK_EQ(o.relay_check_ms, PORTALD_DEFAULT_RELAY_CHECK_MS);
    CHECK_EQ(o.max_connections, PORTALD_DEFAULT_MAX_CONNECTIONS);
    CHECK_EQ(o.idle_ms, PORTALD_DEFAULT_IDLE_MS);
}

/* --idle-timeout: the idle close is configurable, within 1 s .. 1 h. */
static void test_args_idle_timeout(void)
{
    struct portald_opts o;
    char err[256];
    const char *ok[] = {"floe-portal", "--insecure", "--idle-timeout", "15000"};
    const char *low[] = {"floe-portal", "--insecure", "--idle-timeout", "999"};
    const char *junk[] = {"floe-portal", "--insecure", "--idle-timeout", "10s"};

    REQUIRE(parse(&o, err, sizeof(err), 4, ok) == 0);
    CHECK_EQ(o.idle_ms, 15000);
    CHECK_EQ(parse(&o, err, sizeof(err), 4, low), FLOE_ERR_INVALID_ARG);
    CHECK(strstr(err, "--idle-timeout") != NULL);
    CHECK_EQ(parse(&o, err, sizeof(err), 4, junk), FLOE_ERR_INVALID_ARG);
}

static void test_args_refused(void)
{
    struct portald_opts o;
    char err[256];
    const char *insecure_public[] = {"floe-portal", "--insecure", "--listen", "192.0.2.1:80"};
    const char *no_tls[] = {"floe-portal"};
    const char *half_tls[] = {"floe-portal", "--tls-cert", "c.pem"};
    const char *bad_db[] = {"floe-portal", "--insecure", "--database", "mysql://x"};
    const char *bad_num[] = {"floe-portal", "--insecure", "--max-connections", "0"};
    const char *unknown[] = {"floe-portal", "--insecure", "--frobnicate"};
    const char *extra[] = {"floe-portal", "--insecure", "serve"};

    CHECK_EQ(parse(&o, err, sizeof(err), 4, insecure_public), FLOE_ERR_INVALID_ARG);
    CHECK(strstr(err, "loopback") != NULL);
    CHECK_EQ(parse(&o, err, sizeof(err), 1, no_tls), FLOE_ERR_INVALID_ARG);
    CHECK(strstr(err, "--tls-cert") != NULL);
    CHECK_EQ(parse(&o, err, sizeof(err), 3, half_tls), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(parse(&o, err, sizeof(err), 4, bad_db), FLOE_ERR_INVALID_ARG);
    CHECK(strstr(err, "--database") != NULL);
    CHECK_EQ(parse(&o, err, sizeof(err), 4, bad_num), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(parse(&o, err, sizeof(err), 3, unknown), FLOE_ERR_INVALID_ARG);
    CHECK(strstr(err, "--frobnicate") != NULL);
    CHECK_EQ(parse(&o, err, sizeof(err), 3, extra), FLOE_ERR_INVALID_ARG);
}

static void test_rest_credentials(void)
{
    struct portald_rest_cred c;

    /* python3: base64(hmac.new(b"north-secret", b"1700000000:dev-1", sha1).digest()) */
    REQUIRE(portald_rest_cred_make(&c, "north-secret", "dev-1", 1700000000) == 0);
    CHECK_STR(c.username, "1700000000:dev-1");
    CHECK_STR(c.password, "5b6U2Y6WOE7OLskEDEizdY60MuM=");
    CHECK_EQ(c.expires_at, 1700000000);
    CHECK_EQ(portald_rest_cred_make(&c, "", "dev-1", 1), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(portald_rest_cred_make(&c, "s", "a:b", 1), FLOE_ERR_INVALID_ARG);
}

static bool ice_chars_only(const char *s)
{
    for (; *s; s++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *s))
            return false;
    return true;
}

static void test_authz_secrets(void)
{
    struct floe_rng rng = floe_crypto_rng();
    struct portald_authz_secrets a, b;
    uint8_t psk[64];

    REQUIRE(portald_authz_secrets_make(&a, &rng) == 0);
    REQUIRE(portald_authz_secrets_make(&b, &rng) == 0);
    CHECK_EQ(floe_base64_decode(psk, sizeof(psk), a.preshared_key, strlen(a.preshared_key)), 32);
    CHECK(strcmp(a.preshared_key, b.preshared_key) != 0);
    CHECK_EQ(strlen(a.client.username), PORTALD_UFRAG_LEN);
    CHECK_EQ(strlen(a.gateway.password), PORTALD_ICE_PWD_LEN);
    CHECK(strcmp(a.client.username, a.gateway.username) != 0);
    CHECK(strcmp(a.client.password, a.gateway.password) != 0);
    CHECK(ice_chars_only(a.client.username) && ice_chars_only(a.gateway.password));
    CHECK_EQ(portald_authz_secrets_make(&a, NULL), FLOE_ERR_INVALID_ARG);
}

static void test_rate_limit(void)
{
    static struct portald_rate r;
    int allowed = 0;

    portald_rate_init(&r, 10, 3, 42);
    for (int i = 0; i < 10; i++)
        allowed += portald_rate_allow(&r, "tok-a", 5, FLOE_SEC(1));
    CHECK_EQ(allowed, 3);
    CHECK(portald_rate_allow(&r, "tok-b", 5, FLOE_SEC(1))); /* its own bucket */
    CHECK(portald_rate_allow(&r, "tok-a", 5, FLOE_SEC(1) + FLOE_MS(100)));
    CHECK(!portald_rate_allow(&r, "tok-a", 5, FLOE_SEC(1) + FLOE_MS(100)));
    portald_rate_init(&r, 0, 0, 42);
    for (int i = 0; i < 1000; i++)
        CHECK(portald_rate_allow(&r, "x", 1, FLOE_SEC(1)));
}

/* Answer a Binding request as a relay would (XOR-MAPPED-ADDRESS of the checker). */
static long answer(const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
    struct floe_stun_msg m;
    struct floe_stun_builder b;
    struct floe_addr mapped = floe_addr_v4(127, 0, 0, 1, 5555);

    if (floe_stun_decode(&m, req, len) < 0 || m.method != FLOE_STUN_BINDING)
        return -1;
    floe_stun_build_init(&b, out, cap, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, m.txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    return floe_stun_build_finish(&b);
}

static void test_relays_health(void)
{
    static struct portald_relays rs;
    struct floe_xoshiro x;
    struct floe_rng rng;
    const char ids[2][PORTALD_ID_MAX] = {"r1", "r2"};
    struct floe_addr addrs[2] = {floe_addr_v4(127, 0, 0, 1, 3478),
                                 floe_addr_v4(127, 0, 0, 1, 3479)};
    uint8_t buf[512], ans[512];
    struct floe_addr to;
    long n, m = 0;
    floe_time t = FLOE_SEC(100);

    floe_xoshiro_seed(&x, 7);
    rng = floe_xoshiro_rng(&x);
    portald_relays_init(&rs, FLOE_SEC(10));
    REQUIRE(portald_relays_set(&rs, ids, addrs, 2) == 0);
    CHECK(rs.changed && rs.r[0].up && rs.r[1].up);
    rs.changed = false;
    for (int round = 0; round < 3; round++, t += FLOE_SEC(10)) {
        int sent = 0;

        while ((n = portald_relays_poll_transmit(&rs, t, &rng, buf, sizeof(buf), &to)) > 0) {
            sent++;
            if (!floe_addr_eq(&to, &addrs[0]))
                continue; /* r2 never answers */
            m = answer(buf, (size_t)n, ans, sizeof(ans));
            REQUIRE(m > 0);
            portald_relays_handle_input(&rs, t + FLOE_MS(3), &to, ans, (size_t)m);
        }
        CHECK_EQ(sent, 2);
        CHECK_EQ(portald_relays_poll_timeout(&rs), t + FLOE_SEC(10));
    }
    /* rounds 2 and 3 counted r2's misses: down after PORTALD_RELAY_DOWN_MISSES */
    CHECK(rs.r[0].up);
    CHECK(!rs.r[1].up);
    CHECK(rs.changed);
    CHECK_EQ(rs.r[0].rtt, FLOE_MS(3));
    CHECK_EQ(rs.answers, 3);
    /* a stray answer, and garbage, change nothing */
    portald_relays_handle_input(&rs, t, &addrs[1], ans, (size_t)m);
    CHECK_EQ(rs.stray, 1);
    portald_relays_handle_input(&rs, t, &addrs[1], (const uint8_t *)"junk", 4);
    CHECK_EQ(rs.malformed, 1);
    CHECK(!rs.r[1].up);
    /* the same set again keeps the state; a removed relay is a change */
    rs.changed = false;
    REQUIRE(portald_relays_set(&rs, ids, addrs, 2) == 0);
    CHECK(!rs.changed && !rs.r[1].up);
    REQUIRE(portald_relays_set(&rs, ids, addrs, 1) == 0);
    CHECK(rs.changed);
}

static void test_metrics(void)
{
    struct portald_stats st = {.connections_open = 3, .auth_failures = 7};
    char buf[8192], small[64];
    long n = portald_metrics_render(&st, buf, sizeof(buf));

    REQUIRE(n > 0);
    CHECK(strstr(buf, "# TYPE floe_portal_connections_open gauge\n") != NULL);
    CHECK(strstr(buf, "\nfloe_portal_connections_open 3\n") != NULL);
    CHECK(strstr(buf, "\nfloe_portal_auth_failures_total 7\n") != NULL);
    CHECK_EQ(portald_metrics_render(&st, small, sizeof(small)), FLOE_ERR_BUFFER_TOO_SMALL);
}

/*
 * The candidate check's cache (peers.c): kept sorted, so lookups are a binary search; an
 * entry ends at its time, on a forget, on a clear; past PORTALD_PEER_OK_MAX the expired ones
 * go first, else the one expiring first.
 */
static void test_peer_cache(void)
{
    struct portald_conn c;
    int64_t now = 1000, id;
    int i;

    memset(&c, 0, sizeof(c));
    for (i = 0; i < 300; i++) { /* a scattered order */
        id = (int64_t)((i * 7919) % 300) + 1;
        portald_peers_add(&c, id, now, now + 30 + id % 5);
    }
    REQUIRE(c.n_peer_ok == 300);
    for (i = 1; i < 300; i++)
        CHECK(c.peer_ok[i - 1].peer < c.peer_ok[i].peer);
    CHECK(portald_peers_ok(&c, 150, now));
    CHECK(!portald_peers_ok(&c, 301, now));
    CHECK(!portald_peers_ok(&c, 150, now + 31)); /* 150 % 5 == 0: until now + 30 */
    CHECK(portald_peers_ok(&c, 149, now + 31));
    portald_peers_add(&c, 150, now, now); /* nothing kept for a past time */
    CHECK(portald_peers_ok(&c, 150, now));
    portald_peers_forget(&c, 150);
    CHECK(!portald_peers_ok(&c, 150, now));
    portald_peers_clear(&c);
    CHECK(!portald_peers_ok(&c, 149, now));
    for (i = 0; i < PORTALD_PEER_OK_MAX; i++)
        portald_peers_add(&c, i + 1, now, now + 100 + i);
    REQUIRE(c.n_peer_ok == PORTALD_PEER_OK_MAX);
    portald_peers_add(&c, 999999, now, now + 50); /* full: the first to expire (peer 1) goes */
    CHECK_EQ(c.n_peer_ok, (size_t)PORTALD_PEER_OK_MAX);
    CHECK(!portald_peers_ok(&c, 1, now));
    CHECK(portald_peers_ok(&c, 2, now) && portald_peers_ok(&c, 999999, now));
    portald_peers_add(&c, 0, now + 150, now + 200); /* past 50 of them: those expired go */
    CHECK(portald_peers_ok(&c, 0, now + 150));
    CHECK(c.n_peer_ok < (size_t)PORTALD_PEER_OK_MAX);
    CHECK(portald_peers_ok(&c, PORTALD_PEER_OK_MAX, now + 150));
    for (i = 1; i < (int)c.n_peer_ok; i++)
        CHECK(c.peer_ok[i - 1].peer < c.peer_ok[i].peer);
    portald_peers_free(&c);
}

int main(void)
{
    FLOE_RUN(test_args_defaults_and_limits);
    FLOE_RUN(test_args_refused);
    FLOE_RUN(test_args_idle_timeout);
    FLOE_RUN(test_rest_credentials);
    FLOE_RUN(test_authz_secrets);
    FLOE_RUN(test_rate_limit);
    FLOE_RUN(test_relays_health);
    FLOE_RUN(test_metrics);
    FLOE_RUN(test_peer_cache);
    return floe_test_summary();
}
