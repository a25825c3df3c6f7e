/*
 * floe-portal's store on both engines: the same tests run on SQLite (a temporary file, the
 * default) and on PostgreSQL when the first argument is a postgresql:// URL (the script
 * tests/portal/store_pg_test.sh starts a server and passes it). Also the model's validation.
 */
#define _GNU_SOURCE /* memmem */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "model.h"
#include "store.h"
#include "store_int.h" /* floe__store_exec: the reconnect test ends a backend */
#include "test.h"

static char g_url[1024];
static char g_path[256]; /* SQLite file, "" on PostgreSQL */
static int64_t g_now = 1800000000;

static struct floe_store *open_store(void)
{
    struct floe_store *s = NULL;
    char err[512];
    int rc = floe_store_open(g_url, &s, err, sizeof(err));

    if (rc < 0)
        fprintf(stderr, "  cannot open %s: %s\n", g_url, err);
    return s;
}

static bool is_pg(void)
{
    return g_path[0] == 0;
}

/* A random WireGuard public key in base64. */
static void make_key(char out[FLOE_STORE_KEY_STRLEN])
{
    uint8_t raw[32];

    if (floe_crypto_random(raw, sizeof(raw)) < 0 ||
        floe_base64_encode(out, FLOE_STORE_KEY_STRLEN, raw, sizeof(raw)) != 44)
        abort();
}

/* ------------------------------------------------------------------ model */

static void test_model_names_ids_ports(void)
{
    char long_name[FLOE_STORE_NAME_MAX + 2];
    int64_t id;
    uint16_t port;

    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = 0;
    CHECK(floe_model_name_ok("HQ site"));
    CHECK(!floe_model_name_ok(""));
    CHECK(!floe_model_name_ok("   "));
    CHECK(!floe_model_name_ok("a\nb"));
    CHECK(!floe_model_name_ok(long_name));
    long_name[FLOE_STORE_NAME_MAX] = 0;
    CHECK(floe_model_name_ok(long_name));
    CHECK_EQ(floe_model_id_parse("42", &id), 0);
    CHECK_EQ(id, 42);
    CHECK(floe_model_id_parse("0", &id) < 0);
    CHECK(floe_model_id_parse("-1", &id) < 0);
    CHECK(floe_model_id_parse("4x", &id) < 0);
    CHECK(floe_model_id_parse("", &id) < 0);
    CHECK_EQ(floe_model_port_parse("65535", &port), 0);
    CHECK_EQ(port, 65535);
    CHECK(floe_model_port_parse("0", &port) < 0);
    CHECK(floe_model_port_parse("65536", &port) < 0);
}

static void test_model_cidr(void)
{
    char out[FLOE_STORE_CIDR_STRLEN], msg[128];

    CHECK_EQ(floe_model_cidr_normalize("10.1.2.3/24", out, sizeof(out), msg, sizeof(msg)), 0);
    CHECK_STR(out, "10.1.2.0/24");
    CHECK_EQ(floe_model_cidr_normalize("10.1.2.3", out, sizeof(out), msg, sizeof(msg)), 0);
    CHECK_STR(out, "10.1.2.3/32");
    CHECK_EQ(floe_model_cidr_normalize("10.255.255.255/9", out, sizeof(out), NULL, 0), 0);
    CHECK_STR(out, "10.128.0.0/9");
    CHECK_EQ(floe_model_cidr_normalize("FD00::1:2/64", out, sizeof(out), NULL, 0), 0);
    CHECK_STR(out, "fd00::/64");
    CHECK_EQ(floe_model_cidr_normalize("::/0", out, sizeof(out), NULL, 0), 0);
    CHECK_STR(out, "::/0");
    CHECK(floe_model_cidr_normalize("10.0.0.256/24", out, sizeof(out), msg, sizeof(msg)) < 0);
    CHECK(strstr(msg, "10.0.0.256/24") != NULL);
    CHECK(floe_model_cidr_normalize("10.0.0.0/33", out, sizeof(out), NULL, 0) < 0);
    CHECK(floe_model_cidr_normalize("fd00::/129", out, sizeof(out), NULL, 0) < 0);
    CHECK(floe_model_cidr_normalize("10.0.0.0/", out, sizeof(out), NULL, 0) < 0);
    CHECK(floe_model_cidr_normalize("example.com/8", out, sizeof(out), NULL, 0) < 0);
    CHECK(floe_model_cidr_normalize("", out, sizeof(out), NULL, 0) < 0);
}

static void test_model_filters(void)
{
    struct floe_store_filter f[FLOE_STORE_FILTERS_MAX];
    char out[256];
    size_t n;

    CHECK_EQ(floe_model_filters_parse("tcp:80-443,udp:53,icmp,tcp", f, &n, NULL, 0), 0);
    CHECK_EQ(n, 4);
    CHECK_EQ(f[0].proto, FLOE_STORE_PROTO_TCP);
    CHECK_EQ(f[0].port_lo, 80);
    CHECK_EQ(f[0].port_hi, 443);
    CHECK_EQ(f[1].port_lo, 53);
    CHECK_EQ(f[1].port_hi, 53);
    CHECK_EQ(f[2].proto, FLOE_STORE_PROTO_ICMP);
    CHECK_EQ(f[3].port_lo, 0);
    CHECK_EQ(floe_model_filters_format(f, n, out, sizeof(out)), 0);
    CHECK_STR(out, "tcp:80-443,udp:53,icmp,tcp");
    CHECK_EQ(floe_model_filters_parse("", f, &n, NULL, 0), 0);
    CHECK_EQ(n, 0);
    CHECK(floe_model_filter_parse("sctp", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("icmp:8", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("tcp:0", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("tcp:65536", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("udp:443-80", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("tcp:", f, NULL, 0) < 0);
    CHECK(floe_model_filter_parse("TCP", f, NULL, 0) < 0);
}

static void test_model_relay_key_token_pool(void)
{
    uint8_t secret[FLOE_STORE_TOKEN_BYTES], back[FLOE_STORE_TOKEN_BYTES];
    char token[FLOE_STORE_TOKEN_STRLEN], key[FLOE_STORE_KEY_STRLEN], v4[16], v6[48];
    int64_t id;

    CHECK_EQ(floe_model_relay_address_ok("127.0.0.1:3478", NULL, 0), 0);
    CHECK_EQ(floe_model_relay_address_ok("[::1]:3478", NULL, 0), 0);
    CHECK_EQ(floe_model_relay_address_ok("relay.example.com:3478", NULL, 0), 0);
    CHECK(floe_model_relay_address_ok("relay.example.com", NULL, 0) < 0);
    CHECK(floe_model_relay_address_ok("127.0.0.1:0", NULL, 0) < 0);
    CHECK(floe_model_relay_address_ok("bad host:1", NULL, 0) < 0);
    make_key(key);
    CHECK(floe_model_public_key_ok(key));
    CHECK(!floe_model_public_key_ok("abc"));
    key[43] = '!';
    CHECK(!floe_model_public_key_ok(key));
    memset(secret, 0xa5, sizeof(secret));
    CHECK_EQ(floe_model_token_format(17, secret, token, sizeof(token)), 0);
    CHECK_EQ(floe_model_token_parse(token, &id, back), 0);
    CHECK_EQ(id, 17);
    CHECK_MEM(back, secret, sizeof(secret));
    CHECK(floe_model_token_parse("17", &id, back) < 0);
    CHECK(floe_model_token_parse("x.00", &id, back) < 0);
    token[strlen(token) - 1] = 'g';
    CHECK(floe_model_token_parse(token, &id, back) < 0);
    CHECK_EQ(floe_model_pool_address(1, v4, v6), 0);
    CHECK_STR(v4, "100.64.0.1");
    CHECK_STR(v6, "fd00:2021:1111::1");
    CHECK_EQ(floe_model_pool_address(FLOE_MODEL_POOL_MAX, v4, v6), 0);
    CHECK_STR(v4, "100.95.255.254");
    CHECK_STR(v6, "fd00:2021:1111::1f:fffe");
    CHECK(floe_model_pool_address(0, v4, v6) < 0);
    CHECK(floe_model_pool_address(FLOE_MODEL_POOL_MAX + 1, v4, v6) < 0);
}

/* ------------------------------------------------------------------ store */

static void test_store_open_migrates(void)
{
    struct floe_store *s = open_store(), *bad = NULL;
    char err[256] = "";

    REQUIRE(s);
    CHECK_EQ(floe_store_schema_version(s), FLOE_STORE_SCHEMA_VERSION);
    CHECK_EQ(floe_store_engine_of(s), is_pg() ? FLOE_STORE_POSTGRES : FLOE_STORE_SQLITE);
    floe_store_close(s);
    s = open_store(); /* opening again finds the schema and keeps it */
    REQUIRE(s);
    CHECK_EQ(floe_store_schema_version(s), FLOE_STORE_SCHEMA_VERSION);
    floe_store_close(s);
    CHECK_EQ(floe_store_open("mysql://x", &bad, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
    CHECK(bad == NULL);
    CHECK(strstr(err, "sqlite:") != NULL);
    CHECK_EQ(floe_store_open("sqlite:/nonexistent-dir/x.db", &bad, err, sizeof(err)), FLOE_ERR_IO);
    CHECK_EQ(floe_store_open("sqlite:", &bad, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
}

/* A database from a newer program is refused (never half understood), and left as it was. */
static void test_store_newer_schema_refused(void)
{
    struct floe_store *s = open_store(), *again = NULL;
    char err[256] = "", version[24];
    const char *p[1] = {"99"};

    REQUIRE(s);
    REQUIRE(floe__store_exec(s, "UPDATE floe_meta SET value = $1 WHERE name = 'schema_version'", p,
                             1, NULL) == 0);
    CHECK_EQ(floe_store_open(g_url, &again, err, sizeof(err)), FLOE_ERR_STATE);
    CHECK(strstr(err, "newer") != NULL);
    CHECK(again == NULL);
    CHECK_EQ(floe_store_schema_version(s), 99);
    snprintf(version, sizeof(version), "%d", FLOE_STORE_SCHEMA_VERSION);
    p[0] = version;
    CHECK_EQ(floe__store_exec(s, "UPDATE floe_meta SET value = $1 WHERE name = 'schema_version'", p,
                              1, NULL),
             0);
    floe_store_close(s);
}

/* A new SQLite file holds secrets: only its owner may read it. */
static void test_store_sqlite_file_private(void)
{
    char url[300], path[280];
    struct floe_store *s = NULL;
    struct stat st;

    if (is_pg())
        return;
    snprintf(path, sizeof(path), "%s.mode", g_path);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    unlink(path);
    REQUIRE(floe_store_open(url, &s, NULL, 0) == 0);
    REQUIRE(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 077, 0);
    floe_store_close(s);
    unlink(path);
}

/*
 * SQLite runs in WAL mode with synchronous NORMAL: a device's join (enrolment, presence) costs no
 * fsync; with the default rollback journal 200 joins took 12.6 s (bench/portal_load.sh). The
 * log file is as private as the database.
 */
static void test_store_sqlite_wal(void)
{
    char url[300], path[280], wal[300];
    struct floe_store *s = NULL;
    struct store_res res;
    struct stat st;
    int64_t site;

    if (is_pg())
        return;
    snprintf(path, sizeof(path), "%s.wal-test", g_path);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    unlink(path);
    REQUIRE(floe_store_open(url, &s, NULL, 0) == 0);
    REQUIRE(floe__store_exec(s, "PRAGMA journal_mode", NULL, 0, &res) == 0);
    CHECK_STR(floe__store_cell(&res, 0, 0), "wal");
    floe__store_res_free(&res);
    REQUIRE(floe__store_exec(s, "PRAGMA synchronous", NULL, 0, &res) == 0);
    CHECK_STR(floe__store_cell(&res, 0, 0), "1"); /* NORMAL */
    floe__store_res_free(&res);
    CHECK_EQ(floe_store_site_add(s, "wal-site", &site), 0);
    REQUIRE(stat(wal, &st) == 0);
    CHECK_EQ(st.st_mode & 077, 0);
    floe_store_close(s);
    unlink(path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
}

/* Garbage into every parser and into authentication: refused, never a crash (ASan run). */
static void test_model_garbage(void)
{
    struct floe_store *s = open_store();
    struct floe_xoshiro x;
    struct floe_store_filter f[FLOE_STORE_FILTERS_MAX];
    struct floe_store_token_info info;
    uint8_t secret[FLOE_STORE_TOKEN_BYTES];
    char in[96], out[FLOE_STORE_CIDR_STRLEN], msg[160];
    const char alphabet[] = "0123456789abcdef.:/-,[]tcpudpicmTCP \x01\xff";
    int64_t id;
    size_t n, i, len;
    int round, accepted = 0;

    REQUIRE(s);
    floe_xoshiro_seed(&x, floe_test_seed());
    for (round = 0; round < 3000; round++) {
        len = floe_xoshiro_next(&x) % (sizeof(in) - 1);
        for (i = 0; i < len; i++)
            in[i] = alphabet[floe_xoshiro_next(&x) % (sizeof(alphabet) - 1)];
        in[len] = 0;
        accepted += floe_model_cidr_normalize(in, out, sizeof(out), msg, sizeof(msg)) == 0;
        accepted += floe_model_filters_parse(in, f, &n, msg, sizeof(msg)) == 0;
        accepted += floe_model_relay_address_ok(in, msg, sizeof(msg)) == 0;
        accepted += floe_model_token_parse(in, &id, secret) == 0;
        accepted += floe_model_id_parse(in, &id) == 0;
        if (round % 30 == 0)
            CHECK_EQ(floe_store_token_authenticate(s, in, &info), FLOE_ERR_NOT_FOUND);
    }
    printf("  3000 garbage inputs, %d accepted by some parser\n", accepted);
    floe_store_close(s);
}

/* Rows of a listing. */
static size_t list_rows(struct floe_store *s, enum floe_store_entity e)
{
    struct floe_store_table t;
    size_t n;

    if (floe_store_list(s, e, g_now, &t) < 0)
        return (size_t)-1;
    n = t.rows;
    floe_store_table_free(&t);
    return n;
}

static void test_store_sites_users_groups(void)
{
    struct floe_store *s = open_store();
    int64_t site, site2, user, group, id;

    REQUIRE(s);
    CHECK_EQ(floe_store_site_add(s, "sites-a", &site), 0);
    CHECK_EQ(floe_store_site_add(s, "sites-b", &site2), 0);
    CHECK(site2 > site);
    CHECK_EQ(floe_store_site_add(s, "sites-a", &id), FLOE_ERR_STATE);
    CHECK(strstr(floe_store_errmsg(s), "already exists") != NULL);
    CHECK_EQ(floe_store_site_add(s, "", &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_site_add(s, "bad\x01name", &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_site_remove(s, site2), 0);
    CHECK_EQ(floe_store_site_remove(s, site2), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_user_add(s, "sites-alice", &user), 0);
    CHECK_EQ(floe_store_user_add(s, "sites-alice", &id), FLOE_ERR_STATE);
    CHECK_EQ(floe_store_group_add(s, "sites-eng", &group), 0);
    CHECK_EQ(floe_store_member_add(s, group, user), 0);
    CHECK_EQ(floe_store_member_add(s, group, user), FLOE_ERR_STATE);
    CHECK_EQ(floe_store_member_add(s, group, 999999), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_member_add(s, 999999, user), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(list_rows(s, FLOE_STORE_MEMBERS), 1);
    CHECK_EQ(floe_store_member_remove(s, group, user), 0);
    CHECK_EQ(floe_store_member_remove(s, group, user), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(list_rows(s, FLOE_STORE_MEMBERS), 0);
    CHECK_EQ(floe_store_group_remove(s, group), 0);
    CHECK_EQ(floe_store_group_remove(s, group), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_user_remove(s, user), 0);
    CHECK_EQ(list_rows(s, FLOE_STORE_SITES), 1);
    CHECK_EQ(floe_store_site_remove(s, site), 0);
    floe_store_close(s);
}

static void test_store_resources_relays(void)
{
    struct floe_store *s = open_store();
    struct floe_store_resource r = {0}, got;
    struct floe_store_relay *relays = NULL;
    struct floe_store_table t;
    int64_t site, id, relay;
    size_t n;

    REQUIRE(s);
    REQUIRE(floe_store_site_add(s, "res-site", &site) == 0);
    r.site_id = site;
    snprintf(r.name, sizeof(r.name), "web");
    snprintf(r.cidr, sizeof(r.cidr), "10.9.8.7/16");
    r.filters[0] = (struct floe_store_filter){FLOE_STORE_PROTO_TCP, 80, 443};
    r.filters[1] = (struct floe_store_filter){FLOE_STORE_PROTO_ICMP, 0, 0};
    r.n_filters = 2;
    CHECK_EQ(floe_store_resource_add(s, &r, &id), 0);
    CHECK_STR(r.cidr, "10.9.0.0/16");
    CHECK_EQ(floe_store_resource_get(s, id, &got), 0);
    CHECK_STR(got.cidr, "10.9.0.0/16");
    CHECK_STR(got.name, "web");
    CHECK_EQ(got.n_filters, 2);
    CHECK_EQ(got.filters[0].port_hi, 443);
    CHECK_EQ(got.filters[1].proto, FLOE_STORE_PROTO_ICMP);
    CHECK_EQ(floe_store_resource_add(s, &r, &id), FLOE_ERR_STATE); /* same name in the site */
    snprintf(r.cidr, sizeof(r.cidr), "10.9.8.7/40");
    CHECK_EQ(floe_store_resource_add(s, &r, &id), FLOE_ERR_INVALID_ARG);
    snprintf(r.cidr, sizeof(r.cidr), "fd00::/64");
    r.filters[0].port_lo = 500; /* above port_hi */
    CHECK_EQ(floe_store_resource_add(s, &r, &id), FLOE_ERR_INVALID_ARG);
    r.n_filters = 0;
    r.site_id = 999999;
    CHECK_EQ(floe_store_resource_add(s, &r, &id), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_relay_add(s, "127.0.0.1:3478", "s3cret", &relay), 0);
    CHECK_EQ(floe_store_relay_add(s, "127.0.0.1:3478", "other", &id), FLOE_ERR_STATE);
    CHECK_EQ(floe_store_relay_add(s, "127.0.0.1:0", "x", &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_relay_add(s, "127.0.0.1:1", "has space", &id), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_relays(s, &relays, &n), 0);
    REQUIRE(n == 1);
    CHECK_STR(relays[0].secret, "s3cret"); /* the secret lives in the database */
    free(relays);
    REQUIRE(floe_store_list(s, FLOE_STORE_RELAYS, g_now, &t) == 0);
    CHECK_EQ(t.rows, 1);
    for (n = 0; n < t.cols; n++)
        CHECK(strcmp(t.names[n], "secret") != 0); /* listings never show it */
    floe_store_table_free(&t);
    CHECK_EQ(floe_store_relay_remove(s, relay), 0);
    CHECK_EQ(floe_store_site_remove(s, site), 0);
    CHECK_EQ(floe_store_resource_get(s, got.id, &got), FLOE_ERR_NOT_FOUND); /* cascaded */
    floe_store_close(s);
}

/* Whether the SQLite file holds needle (the plain token must not be there; its hash must). */
static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    size_t len = strlen(needle), n;
    char *buf;
    bool found;

    if (!f)
        return false;
    buf = malloc(64 << 20);
    n = buf ? fread(buf, 1, (64 << 20) - 1, f) : 0;
    fclose(f);
    found = buf && len <= n && memmem(buf, n, needle, len) != NULL;
    free(buf);
    return found;
}

/* Whether the SQLite database (its file or its write-ahead log) holds needle. */
static bool db_has(const char *needle)
{
    char wal[300];

    snprintf(wal, sizeof(wal), "%s-wal", g_path);
    return file_has(g_path, needle) || file_has(wal, needle);
}

static void test_store_tokens(void)
{
    struct floe_store *s = open_store();
    struct floe_store_token_info info;
    char token[FLOE_STORE_TOKEN_STRLEN], ctoken[FLOE_STORE_TOKEN_STRLEN],
        bad[FLOE_STORE_TOKEN_STRLEN];
    uint8_t secret[FLOE_STORE_TOKEN_BYTES];
    char hash[65];
    int64_t site, user, tid, cid;

    REQUIRE(s);
    REQUIRE(floe_store_site_add(s, "tok-site", &site) == 0);
    REQUIRE(floe_store_user_add(s, "tok-user", &user) == 0);
    CHECK_EQ(floe_store_site_token_add(s, site, &tid, token, sizeof(token)), 0);
    CHECK_EQ(floe_store_client_token_add(s, user, &cid, ctoken, sizeof(ctoken)), 0);
    CHECK_EQ(floe_store_site_token_add(s, 999999, &tid, bad, sizeof(bad)), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_site_token_add(s, site, &tid, bad, 10), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_token_authenticate(s, token, &info), 0);
    CHECK_EQ(info.kind, FLOE_STORE_GATEWAY);
    CHECK_EQ(info.site_id, site);
    CHECK_EQ(floe_store_token_authenticate(s, ctoken, &info), 0);
    CHECK_EQ(info.kind, FLOE_STORE_CLIENT);
    CHECK_EQ(info.user_id, user);
    CHECK_EQ(info.token_id, cid);
    memcpy(bad, token, sizeof(bad));
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0'; /* one digit wrong */
    CHECK_EQ(floe_store_token_authenticate(s, bad, &info), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_token_authenticate(s, "garbage", &info), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_token_authenticate(s, "", &info), FLOE_ERR_NOT_FOUND);
    if (!is_pg()) {
        REQUIRE(floe_model_token_parse(token, &tid, secret) == 0);
        REQUIRE(floe_model_token_hash(secret, hash) == 0);
        CHECK(db_has(hash));                    /* the grep finds what is stored */
        CHECK(!db_has(strchr(token, '.') + 1)); /* and not the plain token */
        CHECK(!db_has(strchr(ctoken, '.') + 1));
    }
    CHECK_EQ(floe_store_token_remove(s, cid), 0);
    CHECK_EQ(floe_store_token_authenticate(s, ctoken, &info), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_site_remove(s, site), 0);
    CHECK_EQ(floe_store_token_authenticate(s, token, &info), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_user_remove(s, user), 0);
    floe_store_close(s);
}

/* A user with a client token and a site with a site token: the two owners of devices. */
struct owners {
    int64_t site, user;
    struct floe_store_token_info gw, client;
};

static int make_owners(struct floe_store *s, const char *tag, struct owners *o)
{
    char name[64], token[FLOE_STORE_TOKEN_STRLEN];
    int64_t id;

    snprintf(name, sizeof(name), "%s-site", tag);
    if (floe_store_site_add(s, name, &o->site) < 0)
        return -1;
    snprintf(name, sizeof(name), "%s-user", tag);
    if (floe_store_user_add(s, name, &o->user) < 0)
        return -1;
    if (floe_store_site_token_add(s, o->site, &id, token, sizeof(token)) < 0 ||
        floe_store_token_authenticate(s, token, &o->gw) < 0)
        return -1;
    if (floe_store_client_token_add(s, o->user, &id, token, sizeof(token)) < 0 ||
        floe_store_token_authenticate(s, token, &o->client) < 0)
        return -1;
    return 0;
}

static void test_store_devices_addresses(void)
{
    struct floe_store *s = open_store();
    struct floe_store_device d1, d1b, d2, gw, got;
    char k1[FLOE_STORE_KEY_STRLEN], k2[FLOE_STORE_KEY_STRLEN], kg[FLOE_STORE_KEY_STRLEN];
    struct owners o;

    REQUIRE(s);
    REQUIRE(make_owners(s, "dev", &o) == 0);
    make_key(k1);
    make_key(k2);
    make_key(kg);
    CHECK_EQ(floe_store_device_upsert(s, &o.client, k1, "laptop", &d1), 0);
    CHECK_EQ(d1.kind, FLOE_STORE_CLIENT);
    CHECK_EQ(d1.user_id, o.user);
    CHECK(strncmp(d1.ipv4, "100.", 4) == 0);
    CHECK(strncmp(d1.ipv6, "fd00:2021:1111::", 16) == 0);
    /* Reconnecting with the same key: the same device and the same addresses. */
    CHECK_EQ(floe_store_device_upsert(s, &o.client, k1, NULL, &d1b), 0);
    CHECK_EQ(d1b.id, d1.id);
    CHECK_STR(d1b.ipv4, d1.ipv4);
    CHECK_STR(d1b.ipv6, d1.ipv6);
    CHECK_STR(d1b.name, "laptop");
    CHECK_EQ(floe_store_device_upsert(s, &o.client, k2, "phone", &d2), 0);
    CHECK(d2.id != d1.id);
    CHECK(strcmp(d2.ipv4, d1.ipv4) != 0);
    CHECK(strcmp(d2.ipv6, d1.ipv6) != 0);
    CHECK_EQ(floe_store_device_upsert(s, &o.gw, kg, "gw-1", &gw), 0);
    CHECK_EQ(gw.kind, FLOE_STORE_GATEWAY);
    CHECK_EQ(gw.site_id, o.site);
    /* A key already enrolled by another owner is refused; so is a bad key. */
    CHECK_EQ(floe_store_device_upsert(s, &o.gw, k1, "thief", &got), FLOE_ERR_STATE);
    CHECK_EQ(floe_store_device_upsert(s, &o.client, "not-a-key", "x", &got), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_device_get(s, d2.id, &got), 0);
    CHECK_STR(got.ipv4, d2.ipv4);
    CHECK_EQ(floe_store_device_get(s, 999999, &got), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(list_rows(s, FLOE_STORE_DEVICES), 3);
    /* A removed device is forgotten: its key enrols again as a new device. */
    CHECK_EQ(floe_store_device_remove(s, d2.id), 0);
    CHECK_EQ(floe_store_device_remove(s, d2.id), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_device_get(s, d2.id, &got), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_device_upsert(s, &o.client, k2, "phone", &got), 0);
    CHECK(got.id != d2.id);
    CHECK(strcmp(got.ipv4, d1.ipv4) != 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0); /* its devices go with it */
    CHECK_EQ(floe_store_device_get(s, d1.id, &got), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    floe_store_close(s);
}

static void test_store_access_presence(void)
{
    struct floe_store *s = open_store();
    struct floe_store_resource r = {0}, *res = NULL;
    struct floe_store_device client, gw, *gws = NULL;
    char k[FLOE_STORE_KEY_STRLEN], inst[FLOE_STORE_INSTANCE_MAX];
    int64_t group, res1, res2, policy, removed;
    struct owners o;
    size_t n;

    REQUIRE(s);
    REQUIRE(make_owners(s, "acc", &o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.client, k, "c", &client) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g", &gw) == 0);
    r.site_id = o.site;
    snprintf(r.name, sizeof(r.name), "db");
    snprintf(r.cidr, sizeof(r.cidr), "10.0.0.1");
    REQUIRE(floe_store_resource_add(s, &r, &res1) == 0);
    snprintf(r.name, sizeof(r.name), "other");
    REQUIRE(floe_store_resource_add(s, &r, &res2) == 0);
    REQUIRE(floe_store_group_add(s, "acc-group", &group) == 0);
    CHECK_EQ(floe_store_client_allowed(s, client.id, res1), 0);
    CHECK_EQ(floe_store_policy_add(s, group, res1, &policy), 0);
    CHECK_EQ(floe_store_policy_add(s, group, res1, &policy), FLOE_ERR_STATE);
    CHECK_EQ(floe_store_policy_add(s, group, 999999, &policy), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_client_allowed(s, client.id, res1), 0); /* not a member yet */
    CHECK_EQ(floe_store_member_add(s, group, o.user), 0);
    CHECK_EQ(floe_store_client_allowed(s, client.id, res1), 1);
    CHECK_EQ(floe_store_client_allowed(s, client.id, res2), 0);
    CHECK_EQ(floe_store_client_allowed(s, gw.id, res1), 0); /* gateways are not clients */
    CHECK_EQ(floe_store_client_resources(s, client.id, &res, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(res[0].id, res1);
    CHECK_STR(res[0].cidr, "10.0.0.1/32");
    free(res);
    /* Presence: online while the heartbeat is fresh, at the instance that set it. */
    CHECK_EQ(floe_store_presence_set(s, gw.id, "portal-a", g_now), 0);
    CHECK_EQ(floe_store_gateways_online(s, o.site, g_now + 10, 30, &gws, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(gws[0].id, gw.id);
    CHECK_STR(gws[0].public_key, gw.public_key);
    free(gws);
    CHECK_EQ(floe_store_gateways_online(s, o.site, g_now + 31, 30, &gws, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(floe_store_presence_instance(s, gw.id, g_now, 30, inst), 0);
    CHECK_STR(inst, "portal-a");
    CHECK_EQ(floe_store_presence_set(s, gw.id, "portal-b", g_now + 40), 0);
    CHECK_EQ(floe_store_presence_clear(s, gw.id, "portal-a"), 0); /* not there: kept */
    CHECK_EQ(floe_store_presence_instance(s, gw.id, g_now + 40, 30, inst), 0);
    CHECK_STR(inst, "portal-b");
    CHECK_EQ(floe_store_presence_clear(s, gw.id, "portal-b"), 0);
    CHECK_EQ(floe_store_presence_instance(s, gw.id, g_now + 40, 30, inst), FLOE_ERR_NOT_FOUND);
    /* An instance that died leaves rows behind: they expire. */
    CHECK_EQ(floe_store_presence_set(s, gw.id, "portal-dead", g_now), 0);
    CHECK_EQ(floe_store_presence_set(s, client.id, "portal-live", g_now + 100), 0);
    CHECK_EQ(floe_store_presence_expire(s, g_now + 100, 30, &removed), 0);
    CHECK_EQ(removed, 1);
    CHECK_EQ(floe_store_presence_instance(s, client.id, g_now + 100, 30, inst), 0);
    CHECK_STR(inst, "portal-live");
    CHECK_EQ(floe_store_policy_remove(s, policy), 0);
    CHECK_EQ(floe_store_client_allowed(s, client.id, res1), 0);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    CHECK_EQ(floe_store_group_remove(s, group), 0);
    floe_store_close(s);
}

/*
 * The periodic presence refresh of 10,000 devices: one transaction with one statement per 500
 * ids, not one write per device (which stalled the loop thread); ids of devices removed
 * meanwhile are skipped, the others refreshed.
 */
static void test_store_presence_refresh_batched(void)
{
    struct floe_store *s = open_store();
    struct floe_store_device gw, client;
    char k[FLOE_STORE_KEY_STRLEN], inst[FLOE_STORE_INSTANCE_MAX];
    static int64_t ids[1001];
    struct owners o;
    uint64_t before;

    REQUIRE(s);
    REQUIRE(make_owners(s, "pres", &o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g", &gw) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.client, k, "c", &client) == 0);
    for (size_t i = 0; i < 1001; i++)
        ids[i] = 900000000 + (int64_t)i; /* no such devices */
    ids[7] = gw.id;
    ids[1000] = client.id;
    CHECK_EQ(floe_store_presence_set(s, gw.id, "portal-old", g_now - 100), 0);
    before = floe_store_statements(s);
    CHECK_EQ(floe_store_presence_refresh(s, ids, 1001, "portal-a", g_now), 0);
    /* BEGIN, three chunks, COMMIT. */
    CHECK(floe_store_statements(s) - before <= 5);
    CHECK_EQ(floe_store_presence_instance(s, gw.id, g_now, 30, inst), 0);
    CHECK_STR(inst, "portal-a");
    CHECK_EQ(floe_store_presence_instance(s, client.id, g_now, 30, inst), 0);
    CHECK_STR(inst, "portal-a");
    CHECK_EQ(floe_store_presence_instance(s, 900000000, g_now, 30, inst), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_presence_refresh(s, ids, 0, "portal-a", g_now), 0);
    CHECK_EQ(floe_store_presence_refresh(s, ids, 1, "", g_now), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_presence_refresh(s, NULL, 1, "portal-a", g_now), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
}

#define PICK_GWS 200

/* Is id one of gws[from..to)? */
static bool pick_in(const struct floe_store_device *gws, size_t from, size_t to, int64_t id)
{
    for (size_t i = from; i < to; i++)
        if (gws[i].id == id)
            return true;
    return false;
}

/*
 * The gateway of a new authorization: an online one of the resource's site, found by index
 * (a bounded number of one-row lookups whatever the number of gateways, where listing the
 * online gateways read all of them), the client's current gateway when it is online, another
 * one when it died; spread over the site's gateways.
 */
static void test_store_gateway_pick(void)
{
    struct floe_store *s = open_store();
    static struct floe_store_device gws[PICK_GWS];
    static int64_t ids[PICK_GWS];
    struct floe_store_device other, got;
    struct owners o, o2;
    char k[FLOE_STORE_KEY_STRLEN], seen[PICK_GWS] = {0};
    size_t distinct = 0;

    REQUIRE(s);
    REQUIRE(make_owners(s, "pick", &o) == 0 && make_owners(s, "pick2", &o2) == 0);
    for (size_t i = 0; i < PICK_GWS; i++) {
        make_key(k);
        REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g", &gws[i]) == 0);
        ids[i] = gws[i].id;
    }
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o2.gw, k, "elsewhere", &other) == 0);
    /* the first half died long ago, the second half is online; so is the other site's */
    REQUIRE(floe_store_presence_refresh(s, ids, PICK_GWS / 2, "portal-a", g_now - 1000) == 0);
    REQUIRE(floe_store_presence_refresh(s, ids + PICK_GWS / 2, PICK_GWS / 2, "portal-a", g_now) ==
            0);
    REQUIRE(floe_store_presence_set(s, other.id, "portal-a", g_now) == 0);
    for (uint64_t r = 0; r < 64; r++) {
        uint64_t rows = floe_store_rows_read(s), stmts = floe_store_statements(s);
        size_t at;

        CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now, 30, NULL, 0, r * 7919u, &got), 0);
        CHECK(floe_store_rows_read(s) - rows <= 2);
        CHECK(floe_store_statements(s) - stmts <= 3);
        CHECK(pick_in(gws, PICK_GWS / 2, PICK_GWS, got.id));
        for (at = 0; at < PICK_GWS && gws[at].id != got.id; at++)
            ;
        if (at < PICK_GWS && !seen[at]++)
            distinct++;
    }
    CHECK(distinct >= 10);
    /* The client's gateway, online: that one, in one lookup. */
    {
        uint64_t stmts = floe_store_statements(s);

        CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now, 30, &ids[150], 1, 0, &got), 0);
        CHECK_EQ(got.id, ids[150]);
        CHECK_EQ(floe_store_statements(s) - stmts, 1);
        CHECK(got.ipv4[0] != 0);
    }
    /* Its gateway died (and one of another site named): another online one of the site. */
    {
        int64_t prefer[2] = {ids[5], other.id};

        CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now, 30, prefer, 2, 12345, &got), 0);
        CHECK(pick_in(gws, PICK_GWS / 2, PICK_GWS, got.id));
    }
    /* Nobody online (all heartbeats older than the ttl): NOT_FOUND; bad arguments refused. */
    CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now + 100, 30, NULL, 0, 1, &got),
             FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now, 30, NULL, 1, 1, &got), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_gateway_pick(s, o.site, g_now, 30, NULL, 0, 1, &got), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_site_remove(s, o2.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    CHECK_EQ(floe_store_user_remove(s, o2.user), 0);
    floe_store_close(s);
}

static void test_store_authorizations(void)
{
    struct floe_store *s = open_store(), *other = open_store();
    struct floe_store_authorization a = {0}, got;
    struct floe_store_resource r = {0};
    struct floe_store_device client, gw;
    char k[FLOE_STORE_KEY_STRLEN];
    struct owners o;
    int64_t id, removed;

    REQUIRE(s && other);
    REQUIRE(make_owners(s, "authz", &o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.client, k, "c", &client) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g", &gw) == 0);
    r.site_id = o.site;
    snprintf(r.name, sizeof(r.name), "r");
    snprintf(r.cidr, sizeof(r.cidr), "192.168.1.0/24");
    REQUIRE(floe_store_resource_add(s, &r, &a.resource_id) == 0);
    a.client_id = client.id;
    a.gateway_id = gw.id;
    a.expires_at = g_now + 60;
    make_key(a.preshared_key);
    CHECK_EQ(floe_store_authorization_add(s, &a, &id), 0);
    CHECK_EQ(floe_store_authorization_get(other, id, &got), 0); /* another connection sees it */
    CHECK_EQ(got.gateway_id, gw.id);
    CHECK_EQ(got.expires_at, g_now + 60);
    CHECK_STR(got.preshared_key, a.preshared_key); /* any instance can hand it out again */
    a.preshared_key[0] = 0;
    CHECK_EQ(list_rows(other, FLOE_STORE_AUTHORIZATIONS), 1);
    CHECK_EQ(floe_store_authorization_add(s, &a, &removed), 0);
    CHECK_EQ(floe_store_authorization_get(other, removed, &got), 0);
    CHECK_STR(got.preshared_key, ""); /* none given */
    CHECK_EQ(floe_store_authorization_remove(other, removed), 0);
    CHECK_EQ(floe_store_authorization_remove(other, removed), FLOE_ERR_NOT_FOUND);
    snprintf(a.preshared_key, sizeof(a.preshared_key), "short");
    CHECK_EQ(floe_store_authorization_add(s, &a, &id), FLOE_ERR_INVALID_ARG);
    a.preshared_key[0] = 0;
    a.client_id = 999999;
    CHECK_EQ(floe_store_authorization_add(s, &a, &id), FLOE_ERR_NOT_FOUND);
    g_now += 61;
    CHECK_EQ(list_rows(other, FLOE_STORE_AUTHORIZATIONS), 0);
    CHECK_EQ(floe_store_authorizations_expire(s, g_now, &removed), 0);
    CHECK_EQ(removed, 1);
    CHECK_EQ(floe_store_authorization_get(s, id, &got), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
    floe_store_close(other);
}

/* 1 when client shares a live authorization with gateway at now, 0 when not, or the error. */
static int live_one(struct floe_store *s, int64_t gateway, int64_t client, int64_t now)
{
    bool live = false;
    int rc = floe_store_authorizations_live(s, gateway, &client, 1, now, &live);

    return rc < 0 ? rc : live;
}

/* Candidates go between two devices only while they share a live authorization. */
static void test_store_authorization_live(void)
{
    struct floe_store *s = open_store();
    struct floe_store_authorization a = {0};
    struct floe_store_resource r = {0};
    struct floe_store_device client, gw, gw2;
    char k[FLOE_STORE_KEY_STRLEN];
    struct owners o;
    int64_t group, policy, id, many[FLOE_STORE_LIVE_MAX + 1] = {0};
    bool live[FLOE_STORE_LIVE_MAX + 1];

    REQUIRE(s);
    REQUIRE(make_owners(s, "live", &o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.client, k, "c", &client) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g", &gw) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g2", &gw2) == 0);
    r.site_id = o.site;
    snprintf(r.name, sizeof(r.name), "r");
    snprintf(r.cidr, sizeof(r.cidr), "192.168.2.0/24");
    REQUIRE(floe_store_resource_add(s, &r, &a.resource_id) == 0);
    REQUIRE(floe_store_group_add(s, "live-group", &group) == 0);
    REQUIRE(floe_store_member_add(s, group, o.user) == 0);
    REQUIRE(floe_store_policy_add(s, group, a.resource_id, &policy) == 0);
    many[0] = 999999;
    many[1] = client.id;
    many[2] = gw2.id;
    CHECK_EQ(live_one(s, gw.id, client.id, g_now), 0); /* none yet */
    a.client_id = client.id;
    a.gateway_id = gw.id;
    a.expires_at = g_now + 60;
    REQUIRE(floe_store_authorization_add(s, &a, &id) == 0);
    CHECK_EQ(live_one(s, gw.id, client.id, g_now), 1);
    CHECK_EQ(live_one(s, gw2.id, client.id, g_now), 0);                          /* another pair */
    CHECK_EQ(live_one(s, client.id, gw.id, g_now), 0);                           /* roles swapped */
    CHECK_EQ(live_one(s, gw.id, client.id, g_now + 60), 0);                      /* expired */
    CHECK_EQ(floe_store_authorizations_live(s, gw.id, many, 3, g_now, live), 0); /* a broadcast */
    CHECK(!live[0] && live[1] && !live[2]);
    CHECK_EQ(floe_store_authorizations_live(s, gw.id, many, FLOE_STORE_LIVE_MAX + 1, g_now, live),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_policy_remove(s, policy), 0);
    CHECK_EQ(live_one(s, gw.id, client.id, g_now), 0); /* revoked */
    CHECK_EQ(floe_store_group_remove(s, group), 0);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
}

/* Client c and gateway g of o, resource *r of o's site allowed to o's user by *policy. */
static void authz_setup(struct floe_store *s, const char *tag, struct owners *o,
                        struct floe_store_device *c, struct floe_store_device *g, int64_t *r,
                        int64_t *policy, int64_t *group)
{
    struct floe_store_resource res = {0};
    char k[FLOE_STORE_KEY_STRLEN], name[64];

    REQUIRE(make_owners(s, tag, o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o->client, k, "c", c) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o->gw, k, "g", g) == 0);
    res.site_id = o->site;
    snprintf(res.name, sizeof(res.name), "r");
    snprintf(res.cidr, sizeof(res.cidr), "192.168.7.0/24");
    REQUIRE(floe_store_resource_add(s, &res, r) == 0);
    snprintf(name, sizeof(name), "%s-group", tag);
    REQUIRE(floe_store_group_add(s, name, group) == 0);
    REQUIRE(floe_store_member_add(s, *group, o->user) == 0);
    REQUIRE(floe_store_policy_add(s, *group, *r, policy) == 0);
}

static int64_t authz_add(struct floe_store *s, int64_t c, int64_t g, int64_t r, int64_t expires)
{
    struct floe_store_authorization a = {
        .client_id = c, .gateway_id = g, .resource_id = r, .expires_at = expires};
    int64_t id = 0;

    CHECK_EQ(floe_store_authorization_add(s, &a, &id), 0);
    return id;
}

/* Rows of floe_store_gateway_access for g at now: *revoked of them revocations. */
static size_t gateway_access(struct floe_store *s, int64_t g, size_t *revoked, int64_t *expires)
{
    struct floe_store_access *as = NULL;
    size_t n = 0;

    *revoked = 0;
    CHECK_EQ(floe_store_gateway_access(s, g, g_now, &as, &n), 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(!i || as[i - 1].revoked >= as[i].revoked); /* revocations first */
        *revoked += as[i].revoked;
        if (expires)
            *expires = as[i].expires_at;
    }
    free(as);
    return n;
}

/* Renewal: online clients, allowed, the newest per client and resource, within ttl / 2. */
static void test_store_authz_renew(void)
{
    struct floe_store *s = open_store(), *other = open_store();
    struct floe_store_device c, g, g2;
    struct floe_store_access *as = NULL;
    char k[FLOE_STORE_KEY_STRLEN];
    struct owners o;
    int64_t r, policy, group, id, exp = 0;
    size_t n = 9, nr;

    REQUIRE(s && other);
    authz_setup(s, "renew", &o, &c, &g, &r, &policy, &group);
    (void)authz_add(s, c.id, g.id, r, g_now + 100); /* superseded by the next */
    id = authz_add(s, c.id, g.id, r, g_now + 100);
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 100, g_now - 60, &as, &n), 0);
    CHECK_EQ(n, 0); /* the client is offline */
    CHECK(as == NULL);
    REQUIRE(floe_store_presence_set(s, c.id, "i1", g_now) == 0);
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 100, g_now - 60, &as, &n), 0);
    CHECK_EQ(n, 0); /* 100 s left of 100: not yet */
    free(as);
    g_now += 51;
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 100, g_now - 60, &as, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(as[0].gateway_id, g.id);
    CHECK_EQ(as[0].client_id, c.id);
    CHECK_EQ(as[0].resource_id, r);
    CHECK_EQ(as[0].expires_at, g_now + 100);
    free(as);
    CHECK_EQ(floe_store_authorizations_renew(other, g_now, 100, g_now - 60, &as, &n), 0);
    CHECK_EQ(n, 0); /* renewed once: another instance finds nothing to do */
    free(as);
    CHECK_EQ(gateway_access(other, g.id, &nr, &exp), 1); /* the newest only */
    CHECK_EQ(nr, 0);
    CHECK_EQ(exp, g_now + 100);
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 0, g_now, &as, &n), FLOE_ERR_INVALID_ARG);
    /* the client went to another gateway for r: that one is renewed, the first runs out */
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g2", &g2) == 0);
    (void)authz_add(s, c.id, g2.id, r, g_now + 40);
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 100, g_now - 60, &as, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(as[0].gateway_id, g2.id);
    free(as);
    CHECK_EQ(gateway_access(s, g.id, &nr, NULL), 0);
    /* no policy, no renewal */
    REQUIRE(floe_store_policy_remove(s, policy) == 0);
    g_now += 60;
    CHECK_EQ(floe_store_authorizations_renew(s, g_now, 100, g_now - 60, &as, &n), 0);
    CHECK_EQ(n, 0);
    free(as);
    CHECK_EQ(gateway_access(s, g2.id, &nr, NULL), 0);
    (void)id;
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
    floe_store_close(other);
}

/* Revocation: policy gone, claimed once, told again on the gateway's join, until expiry. */
static void test_store_authz_revoke(void)
{
    struct floe_store *s = open_store(), *other = open_store();
    struct floe_store_device c, g;
    struct floe_store_access *as = NULL;
    struct owners o;
    int64_t r, policy, group, old, removed;
    size_t n = 9, nr;

    REQUIRE(s && other);
    authz_setup(s, "revoke", &o, &c, &g, &r, &policy, &group);
    old = authz_add(s, c.id, g.id, r, g_now + 100);
    CHECK_EQ(floe_store_authorizations_revoke(s, g_now), 0);
    CHECK_EQ(floe_store_revocations_claim(s, g_now, &as, &n), 0);
    CHECK_EQ(n, 0); /* allowed: nothing revoked */
    free(as);
    REQUIRE(floe_store_policy_remove(s, policy) == 0);
    CHECK_EQ(floe_store_authorizations_revoke(s, g_now), 0);
    CHECK_EQ(floe_store_authorizations_revoke(other, g_now), 0); /* twice: once */
    CHECK_EQ(floe_store_authorization_get(s, old, &(struct floe_store_authorization){0}),
             FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_revocations_claim(other, g_now, &as, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(as[0].gateway_id, g.id);
    CHECK_EQ(as[0].client_id, c.id);
    CHECK_EQ(as[0].resource_id, r);
    free(as);
    CHECK_EQ(floe_store_revocations_claim(s, g_now, &as, &n), 0);
    CHECK_EQ(n, 0); /* claimed by the other */
    free(as);
    CHECK_EQ(gateway_access(s, g.id, &nr, NULL), 1); /* told again on the gateway's join */
    CHECK_EQ(nr, 1);
    /* allowed again and authorized anew: the old revocation no longer applies */
    REQUIRE(floe_store_policy_add(s, group, r, &policy) == 0);
    (void)authz_add(s, c.id, g.id, r, g_now + 100);
    CHECK_EQ(gateway_access(s, g.id, &nr, NULL), 1); /* the new one, live */
    CHECK_EQ(nr, 0);
    /* the resource's removal revokes what it takes with it */
    REQUIRE(floe_store_resource_remove(s, r) == 0);
    CHECK_EQ(floe_store_revocations_claim(s, g_now, &as, &n), 0);
    REQUIRE(n == 1);
    CHECK_EQ(as[0].resource_id, r);
    free(as);
    CHECK_EQ(gateway_access(s, g.id, &nr, NULL), 2);
    CHECK_EQ(nr, 2);
    g_now += 101;
    CHECK_EQ(gateway_access(s, g.id, &nr, NULL), 0); /* the gateway's expiry did it by now */
    CHECK_EQ(floe_store_revocations_expire(s, g_now, &removed), 0);
    CHECK_EQ(removed, 2);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
    floe_store_close(other);
}

static void test_store_changes(void)
{
    struct floe_store *s = open_store(), *other = open_store();
    struct floe_store_change *ch = NULL;
    int64_t last, site, group, pruned;
    size_t n;

    REQUIRE(s && other);
    REQUIRE(floe_store_changes_last(other, &last) == 0);
    REQUIRE(floe_store_site_add(s, "chg-site", &site) == 0);
    REQUIRE(floe_store_group_add(s, "chg-group", &group) == 0);
    REQUIRE(floe_store_site_remove(s, site) == 0);
    CHECK_EQ(floe_store_site_add(s, "chg-group-dup", &site), 0);
    CHECK_EQ(floe_store_site_add(s, "chg-group-dup", &site), FLOE_ERR_STATE); /* no row */
    /* Another connection (another instance) catches up from the table. */
    CHECK_EQ(floe_store_changes_since(other, last, &ch, &n, 100), 0);
    REQUIRE(n == 4);
    CHECK_STR(ch[0].kind, "site_created");
    CHECK(strstr(ch[0].payload, "\"site_id\":") != NULL);
    CHECK_STR(ch[1].kind, "group_created");
    CHECK_STR(ch[2].kind, "site_deleted");
    CHECK_STR(ch[3].kind, "site_created");
    CHECK(ch[0].id < ch[1].id && ch[1].id < ch[2].id && ch[2].id < ch[3].id);
    last = ch[1].id;
    free(ch);
    CHECK_EQ(floe_store_changes_since(other, last, &ch, &n, 1), 0); /* max respected */
    CHECK_EQ(n, 1);
    free(ch);
    CHECK_EQ(floe_store_changes_prune(other, g_now + 1000000000, &pruned), 0); /* all older */
    CHECK(pruned >= 4);
    CHECK_EQ(floe_store_changes_since(other, 0, &ch, &n, 100), 0);
    CHECK_EQ(n, 0);
    free(ch);
    CHECK_EQ(floe_store_group_remove(s, group), 0);
    CHECK_EQ(floe_store_site_remove(s, site), 0);
    floe_store_close(s);
    floe_store_close(other);
}

static void *site_add_thread(void *arg)
{
    int64_t id;

    return floe_store_site_add(arg, "order-site", &id) == 0 ? arg : NULL;
}

/*
 * Change ids become visible in their order: while one transaction holding a change is open, a
 * second writer's change is not visible before it (a reader that saw the later id first would
 * never see the earlier one).
 */
static void test_store_changes_in_commit_order(void)
{
    struct floe_store *a = open_store(), *b = open_store(), *reader = open_store();
    struct floe_store_change *ch = NULL;
    pthread_t th;
    void *ok = NULL;
    int64_t last, site = 0;
    size_t n;

    REQUIRE(a && b && reader);
    REQUIRE(floe_store_changes_last(reader, &last) == 0);
    REQUIRE(floe__store_begin(a) == 0);
    REQUIRE(floe__store_change(a, "order_first", "{}") == 0);
    REQUIRE(pthread_create(&th, NULL, site_add_thread, b) == 0);
    usleep(300 * 1000); /* b is writing its change meanwhile */
    CHECK_EQ(floe_store_changes_since(reader, last, &ch, &n, 10), 0);
    CHECK_EQ(n, 0); /* neither a's (open) nor b's (after a's) */
    free(ch);
    CHECK_EQ(floe__store_commit(a), 0);
    pthread_join(th, &ok);
    CHECK(ok == b);
    CHECK_EQ(floe_store_changes_since(reader, last, &ch, &n, 10), 0);
    REQUIRE(n == 2);
    CHECK_STR(ch[0].kind, "order_first");
    CHECK_STR(ch[1].kind, "site_created");
    site = strtoll(strchr(ch[1].payload, ':') + 1, NULL, 10);
    free(ch);
    CHECK_EQ(floe_store_site_remove(reader, site), 0);
    floe_store_close(a);
    floe_store_close(b);
    floe_store_close(reader);
}

/* Wait up to 5 s for a notification on s (polling its descriptor on PostgreSQL). */
static int wait_notify(struct floe_store *s, struct floe_store_notification *n)
{
    int i, rc = floe_store_poll_notify(s, n);

    for (i = 0; rc == 0 && i < 50 && floe_store_notify_fd(s) >= 0; i++) {
        struct pollfd p = {.fd = floe_store_notify_fd(s), .events = POLLIN};

        (void)poll(&p, 1, 100);
        rc = floe_store_poll_notify(s, n);
    }
    return rc;
}

static void test_store_notify(void)
{
    struct floe_store *a = open_store(), *b = open_store();
    struct floe_store_notification n;
    struct floe_store_change *ch = NULL;
    int64_t site;
    size_t count;

    REQUIRE(a && b);
    CHECK_EQ(floe_store_listen(a, "device_7"), 0);
    CHECK_EQ(floe_store_listen(a, FLOE_STORE_CHANGES_CHANNEL), 0);
    CHECK_EQ(floe_store_listen(a, "bad channel"), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_notify(b, "bad-channel", "x"), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_poll_notify(a, &n), 0);
    /* PostgreSQL carries b's message to a; SQLite is one process: a's own message. */
    CHECK_EQ(floe_store_notify(is_pg() ? b : a, "device_7", "{\"event\":\"ice_candidates\"}"), 0);
    CHECK_EQ(floe_store_notify(is_pg() ? b : a, "device_8", "not listened"), 0);
    REQUIRE(wait_notify(a, &n) == 1);
    CHECK_STR(n.channel, "device_7");
    CHECK_STR(n.payload, "{\"event\":\"ice_candidates\"}");
    /* A configuration change is notified with its id; the table has the row. */
    CHECK_EQ(floe_store_site_add(is_pg() ? b : a, "notify-site", &site), 0);
    REQUIRE(wait_notify(a, &n) == 1);
    CHECK_STR(n.channel, FLOE_STORE_CHANGES_CHANNEL);
    CHECK(strstr(n.payload, "\"kind\":\"site_created\"") != NULL);
    CHECK_EQ(floe_store_changes_since(a, strtoll(strstr(n.payload, "\"id\":") + 5, NULL, 10) - 1,
                                      &ch, &count, 10),
             0);
    REQUIRE(count >= 1);
    CHECK_STR(ch[0].kind, "site_created");
    free(ch);
    CHECK_EQ(floe_store_poll_notify(a, &n), 0); /* nothing for device_8 */
    if (is_pg())
        CHECK(floe_store_notify_fd(a) >= 0);
    else
        CHECK_EQ(floe_store_notify_fd(a), -1);
    CHECK_EQ(floe_store_site_remove(b, site), 0);
    floe_store_close(a);
    floe_store_close(b);
}

/*
 * Messages for devices on other instances, in one statement (PostgreSQL): each goes to the
 * instance its device's presence names, in order and byte for byte; a device offline or on
 * the sending instance is skipped. SQLite has one instance: refused.
 */
static void test_store_notify_devices(void)
{
    struct floe_store *a = open_store(), *b = open_store();
    struct floe_store_device here, there, gone;
    struct floe_store_notification n;
    char k[FLOE_STORE_KEY_STRLEN], big[FLOE_STORE_PAYLOAD_MAX + 1];
    struct owners o;
    size_t sent = 99;

    REQUIRE(a && b);
    REQUIRE(make_owners(a, "outq", &o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(a, &o.gw, k, "there", &there) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(a, &o.gw, k, "here", &here) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(a, &o.gw, k, "gone", &gone) == 0);
    REQUIRE(floe_store_presence_set(a, there.id, "inst_a", g_now) == 0);
    REQUIRE(floe_store_presence_set(a, here.id, "inst_b", g_now) == 0);
    REQUIRE(floe_store_presence_set(a, gone.id, "inst_a", g_now - 1000) == 0);
    {
        int64_t to[4] = {there.id, gone.id, here.id, there.id};
        bool done[4];
        const char *p[4] = {"{\"to\":1, \"msg\":{\"c\":\"a,b]'\"}}", "{\"gone\":1}", "{\"here\":1}",
                            "[2]"};

        if (!is_pg()) {
            CHECK_EQ(
                floe_store_notify_devices(b, to, p, 4, "dev_", "inst_b", g_now, 30, &sent, NULL),
                FLOE_ERR_INVALID_ARG);
            CHECK_EQ(sent, 0);
            goto out;
        }
        CHECK_EQ(floe_store_listen(a, "dev_inst_a"), 0);
        CHECK_EQ(floe_store_notify_devices(b, to, p, 4, "dev_", "inst_b", g_now, 30, &sent, done),
                 0);
        CHECK_EQ(sent, 2);
        CHECK(done[0] && !done[1] && !done[2] && done[3]); /* gone: offline; here: self */
        REQUIRE(wait_notify(a, &n) == 1);
        CHECK_STR(n.channel, "dev_inst_a");
        CHECK_STR(n.payload, p[0]);
        REQUIRE(wait_notify(a, &n) == 1);
        CHECK_STR(n.payload, "[2]");
        CHECK_EQ(floe_store_poll_notify(a, &n), 0);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        p[0] = big;
        CHECK_EQ(floe_store_notify_devices(b, to, p, 1, "dev_", "inst_b", g_now, 30, &sent, NULL),
                 FLOE_ERR_INVALID_ARG);
        CHECK_EQ(floe_store_notify_devices(b, to, p, 0, "dev_", "inst_b", g_now, 30, &sent, NULL),
                 0);
        CHECK_EQ(sent, 0);
    }
out:
    CHECK_EQ(floe_store_site_remove(a, o.site), 0);
    CHECK_EQ(floe_store_user_remove(a, o.user), 0);
    floe_store_close(a);
    floe_store_close(b);
}

/*
 * PostgreSQL: a connection the server ends (a restart, a failover) is made again on the next
 * call, listens again, and says so in floe_store_reconnects. On SQLite: nothing to lose.
 */
static void test_store_reconnect(void)
{
    struct floe_store *a = open_store(), *b = open_store();
    struct floe_store_notification n;
    int64_t last;

    REQUIRE(a && b);
    CHECK_EQ(floe_store_listen(a, "reconn"), 0);
    CHECK_EQ(floe_store_reconnects(a), 0);
    if (is_pg()) {
        REQUIRE(floe__store_exec(b,
                                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                                 NULL, 0, NULL) == 0);
        usleep(200 * 1000);
    }
    CHECK_EQ(floe_store_changes_last(a, &last), 0);
    CHECK_EQ(floe_store_reconnects(a), is_pg() ? 1 : 0);
    CHECK_EQ(floe_store_notify(is_pg() ? b : a, "reconn", "after"), 0);
    REQUIRE(wait_notify(a, &n) == 1);
    CHECK_STR(n.channel, "reconn");
    CHECK_STR(n.payload, "after");
    floe_store_close(a);
    floe_store_close(b);
}

/* ------------------------------------------------------- concurrent allocation */

#define ALLOC_THREADS 2
#define ALLOC_PER_THREAD 40

struct alloc_job {
    struct floe_store *s;
    struct floe_store_token_info owner;
    char ipv4[ALLOC_PER_THREAD][16];
    int failures;
};

static void *alloc_thread(void *arg)
{
    struct alloc_job *j = arg;
    struct floe_store_device d;
    char key[FLOE_STORE_KEY_STRLEN];
    int i;

    for (i = 0; i < ALLOC_PER_THREAD; i++) {
        make_key(key);
        if (floe_store_device_upsert(j->s, &j->owner, key, NULL, &d) < 0) {
            fprintf(stderr, "  upsert: %s\n", floe_store_errmsg(j->s));
            j->failures++;
        }
        snprintf(j->ipv4[i], sizeof(j->ipv4[i]), "%s", d.ipv4);
    }
    return NULL;
}

static void test_store_concurrent_allocation(void)
{
    static struct alloc_job jobs[ALLOC_THREADS];
    pthread_t th[ALLOC_THREADS];
    struct floe_store *s = open_store();
    struct owners o;
    uint64_t retries = 0;
    int t, i, u, v, dup = 0;

    REQUIRE(s);
    REQUIRE(make_owners(s, "conc", &o) == 0);
    for (t = 0; t < ALLOC_THREADS; t++) {
        jobs[t].s = open_store(); /* one connection each, as two portal instances */
        jobs[t].owner = o.client;
        REQUIRE(jobs[t].s);
    }
    for (t = 0; t < ALLOC_THREADS; t++)
        REQUIRE(pthread_create(&th[t], NULL, alloc_thread, &jobs[t]) == 0);
    for (t = 0; t < ALLOC_THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ(jobs[t].failures, 0);
        retries += floe_store_alloc_retries(jobs[t].s);
        floe_store_close(jobs[t].s);
    }
    for (t = 0; t < ALLOC_THREADS; t++)
        for (i = 0; i < ALLOC_PER_THREAD; i++)
            for (u = t; u < ALLOC_THREADS; u++)
                for (v = (u == t ? i + 1 : 0); v < ALLOC_PER_THREAD; v++)
                    dup += strcmp(jobs[t].ipv4[i], jobs[u].ipv4[v]) == 0;
    CHECK_EQ(dup, 0);
    printf("  %d devices from %d connections at once: distinct, %llu allocation retries\n",
           ALLOC_THREADS * ALLOC_PER_THREAD, ALLOC_THREADS, (unsigned long long)retries);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    floe_store_close(s);
}

/* --------------------------------------------------------- held candidates */

/* A client and a gateway of fresh owners tagged tag. */
static void make_pair(struct floe_store *s, const char *tag, struct owners *o,
                      struct floe_store_device *client, struct floe_store_device *gw)
{
    char k[FLOE_STORE_KEY_STRLEN];

    REQUIRE(make_owners(s, tag, o) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o->client, k, "c", client) == 0);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o->gw, k, "g", gw) == 0);
}

static const struct floe_store_hold_limits held_lim = {.ttl = 120, .per_peer = 3, .per_device = 5};

/* "candidate:N ..." with N = i. */
static const char *held_cand(int i)
{
    static char buf[8][64];

    snprintf(buf[i % 8], sizeof(buf[0]), "candidate:%d 1 UDP 1 192.0.2.%d 5000 typ host", i, i);
    return buf[i % 8];
}

/* Order, cancellation by an invalidation, duplicates, one taker across two connections. */
static void test_store_held_order(void)
{
    struct floe_store *s = open_store(), *other = open_store();
    struct floe_store_device client, gw;
    struct floe_store_hold_limits lim = {.ttl = 120, .per_peer = 64, .per_device = 1024};
    struct floe_store_hold_result r;
    struct floe_store_held *h;
    struct owners o;
    int64_t expired;
    size_t n;

    REQUIRE(s && other);
    make_pair(s, "held", &o, &client, &gw);
    CHECK_EQ(floe_store_held_add(s, gw.id, client.id, true, held_cand(0), g_now, &lim, &r), 0);
    CHECK(r.held && !r.cancelled);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(floe_store_held_add(s, gw.id, client.id, false, held_cand(i), g_now, &lim, &r), 0);
    CHECK_EQ(floe_store_held_add(s, gw.id, client.id, false, held_cand(3), g_now, &lim, &r), 0);
    CHECK(r.duplicate && !r.held);
    CHECK_EQ(floe_store_held_add(s, gw.id, client.id, true, held_cand(2), g_now, &lim, &r), 0);
    CHECK(r.cancelled && r.held && r.dropped == 0); /* held in place of the announcement */
    CHECK_EQ(floe_store_held_add(s, gw.id, client.id, true, held_cand(2), g_now, &lim, &r), 0);
    CHECK(r.duplicate && !r.held && !r.cancelled);
    CHECK_EQ(floe_store_held_add(s, gw.id, client.id, false, "", g_now, &lim, &r),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_store_held_add(s, 999999, client.id, false, held_cand(4), g_now, &lim, &r),
             FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_store_held_take(other, gw.id, g_now, &h, &n, &expired), 0); /* other instance */
    CHECK_EQ(n, 4);
    CHECK_EQ(expired, 0);
    if (n == 4) {
        CHECK(h[0].invalidate && strcmp(h[0].candidate, held_cand(0)) == 0);
        CHECK(!h[1].invalidate && strcmp(h[1].candidate, held_cand(1)) == 0);
        CHECK(!h[2].invalidate && strcmp(h[2].candidate, held_cand(3)) == 0);
        CHECK(h[3].invalidate && strcmp(h[3].candidate, held_cand(2)) == 0);
        CHECK_EQ(h[2].peer_id, client.id);
    }
    free(h);
    CHECK_EQ(floe_store_held_take(s, gw.id, g_now, &h, &n, &expired), 0); /* taken once only */
    CHECK_EQ(n, 0);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
    floe_store_close(other);
}

/* Hold candidates first..last from peer for device; the rows dropped by the bounds. */
static int64_t held_fill(struct floe_store *s, int64_t device, int64_t peer, int first, int last)
{
    struct floe_store_hold_result r;
    int64_t dropped = 0;

    for (int i = first; i <= last; i++) {
        CHECK_EQ(floe_store_held_add(s, device, peer, false, held_cand(i), g_now, &held_lim, &r),
                 0);
        dropped += r.dropped;
    }
    return dropped;
}

/* Bounds per pair (the newest 3) and per device (the newest 5), oldest dropped first. */
static void test_store_held_bounds(void)
{
    struct floe_store *s = open_store();
    struct floe_store_device client, gw, gw2;
    char k[FLOE_STORE_KEY_STRLEN];
    struct floe_store_held *h;
    struct owners o;
    int64_t expired;
    size_t n;

    REQUIRE(s);
    make_pair(s, "heldb", &o, &client, &gw);
    make_key(k);
    REQUIRE(floe_store_device_upsert(s, &o.gw, k, "g2", &gw2) == 0);
    CHECK_EQ(held_fill(s, client.id, gw.id, 1, 5), 2); /* 1 and 2 dropped */
    CHECK_EQ(floe_store_held_take(s, client.id, g_now, &h, &n, &expired), 0);
    CHECK_EQ(n, 3);
    CHECK(n == 3 && strcmp(h[0].candidate, held_cand(3)) == 0);
    free(h);
    CHECK_EQ(held_fill(s, client.id, gw.id, 1, 3), 0);
    CHECK_EQ(held_fill(s, client.id, gw2.id, 4, 6), 1); /* six for the device: 1 dropped */
    CHECK_EQ(floe_store_held_take(s, client.id, g_now, &h, &n, &expired), 0);
    CHECK_EQ(n, 5);
    CHECK(n == 5 && strcmp(h[0].candidate, held_cand(2)) == 0 && h[4].peer_id == gw2.id);
    free(h);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
}

/* Expiry after the ttl, with the pair's authorization, and when it is removed. */
static void test_store_held_expiry(void)
{
    struct floe_store *s = open_store();
    struct floe_store_device client, gw;
    struct floe_store_authorization a = {0};
    struct floe_store_resource res = {0};
    struct floe_store_held *h;
    struct owners o;
    int64_t expired;
    size_t n;

    REQUIRE(s);
    make_pair(s, "helde", &o, &client, &gw);
    held_fill(s, client.id, gw.id, 1, 1);
    CHECK_EQ(floe_store_held_expire(s, g_now + 119, &expired), 0);
    CHECK_EQ(expired, 0);
    CHECK_EQ(floe_store_held_expire(s, g_now + 120, &expired), 0);
    CHECK_EQ(expired, 1);
    /* An authorization ending in 30 s ends what is held for the pair then, not after 120 s. */
    res.site_id = o.site;
    snprintf(res.name, sizeof(res.name), "r");
    snprintf(res.cidr, sizeof(res.cidr), "192.168.9.0/24");
    REQUIRE(floe_store_resource_add(s, &res, &a.resource_id) == 0);
    a.client_id = client.id;
    a.gateway_id = gw.id;
    a.expires_at = g_now + 30;
    REQUIRE(floe_store_authorization_add(s, &a, &a.id) == 0);
    held_fill(s, gw.id, client.id, 2, 2);
    CHECK_EQ(floe_store_held_take(s, gw.id, g_now + 30, &h, &n, &expired), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(expired, 1);
    free(h);
    held_fill(s, gw.id, client.id, 3, 3);
    CHECK_EQ(floe_store_authorization_remove(s, a.id), 0); /* the rows go with it */
    CHECK_EQ(floe_store_held_take(s, gw.id, g_now, &h, &n, &expired), 0);
    CHECK_EQ(n + (size_t)expired, 0);
    free(h);
    CHECK_EQ(floe_store_site_remove(s, o.site), 0);
    CHECK_EQ(floe_store_user_remove(s, o.user), 0);
    floe_store_close(s);
}

int main(int argc, char **argv)
{
    int fd = -1;

    if (argc > 1) {
        snprintf(g_url, sizeof(g_url), "%s", argv[1]);
    } else {
        snprintf(g_path, sizeof(g_path), "/tmp/floe-portal-store-XXXXXX");
        fd = mkstemp(g_path);
        if (fd < 0) {
            perror("mkstemp");
            return 1;
        }
        close(fd);
        snprintf(g_url, sizeof(g_url), "sqlite:%s", g_path);
    }
    printf("engine: %s\n", argc > 1 ? "postgresql" : "sqlite");
    FLOE_RUN(test_model_names_ids_ports);
    FLOE_RUN(test_model_cidr);
    FLOE_RUN(test_model_filters);
    FLOE_RUN(test_model_relay_key_token_pool);
    FLOE_RUN(test_model_garbage);
    FLOE_RUN(test_store_open_migrates);
    FLOE_RUN(test_store_sqlite_file_private);
    FLOE_RUN(test_store_sqlite_wal);
    FLOE_RUN(test_store_newer_schema_refused);
    FLOE_RUN(test_store_sites_users_groups);
    FLOE_RUN(test_store_resources_relays);
    FLOE_RUN(test_store_tokens);
    FLOE_RUN(test_store_devices_addresses);
    FLOE_RUN(test_store_access_presence);
    FLOE_RUN(test_store_presence_refresh_batched);
    FLOE_RUN(test_store_gateway_pick);
    FLOE_RUN(test_store_authorizations);
    FLOE_RUN(test_store_authorization_live);
    FLOE_RUN(test_store_authz_renew);
    FLOE_RUN(test_store_authz_revoke);
    FLOE_RUN(test_store_changes);
    FLOE_RUN(test_store_changes_in_commit_order);
    FLOE_RUN(test_store_notify);
    FLOE_RUN(test_store_notify_devices);
    FLOE_RUN(test_store_reconnect);
    FLOE_RUN(test_store_concurrent_allocation);
    FLOE_RUN(test_store_held_order);
    FLOE_RUN(test_store_held_bounds);
    FLOE_RUN(test_store_held_expiry);
    if (g_path[0]) {
        char side[300];

        unlink(g_path);
        snprintf(side, sizeof(side), "%s-wal", g_path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", g_path);
        unlink(side);
    }
    return floe_test_summary();
}
