/*
 * floe-relay's secrets off the command line: --auth-secret-file, --users-file and
 * FLOE_RELAY_AUTH_SECRET are read (with clear errors for bad files), secrets given in argv
 * or the environment are wiped once copied, and relayd_reload (SIGHUP) rotates the secret
 * and the users of every worker without dropping allocations: the previous secret still
 * works for --secret-grace, then not.
 */
#include <stdlib.h>

#include "test.h"

#include "relayd_harness.h"

static char dir[] = "/tmp/floe-relayd-secret.XXXXXX";
static char secret_path[128], users_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int parse(struct relayd_opts *o, char *err, size_t cap, const char *a1, const char *a2,
                 const char *a3, const char *a4)
{
    const char *args[] = {"--listen", "127.0.0.1:3478", a1, a2, a3, a4};

    return rh_parse(o, err, cap, args, 6);
}

static void test_secret_and_users_files(void)
{
    static struct relayd_opts o;
    char err[256], missing[160];

    write_file(secret_path, "s3cret-from-file\n");
    write_file(users_path, "# static users\nbob:pw1\n\ncarol:pw:2\r\n");
    REQUIRE(parse(&o, err, sizeof(err), "--auth-secret-file", secret_path, "--users-file",
                  users_path) == 0);
    CHECK_STR(o.core.auth_secret, "s3cret-from-file");
    CHECK_EQ(o.core.n_users, 2);
    CHECK_STR(o.core.users[0].name, "bob");
    CHECK_STR(o.core.users[1].password, "pw:2");
    CHECK_EQ(o.secret_grace, 3600);
    /* errors name the file and say what is wrong */
    snprintf(missing, sizeof(missing), "%s/nope", dir);
    CHECK(parse(&o, err, sizeof(err), "--auth-secret-file", missing, NULL, NULL) < 0);
    CHECK(strstr(err, missing) != NULL);
    write_file(secret_path, "\n");
    CHECK(parse(&o, err, sizeof(err), "--auth-secret-file", secret_path, NULL, NULL) < 0);
    CHECK(strstr(err, "empty") != NULL);
    write_file(users_path, "bob:pw\nnocolon\n");
    CHECK(parse(&o, err, sizeof(err), "--users-file", users_path, NULL, NULL) < 0);
    CHECK(strstr(err, "line 2") != NULL);
    write_file(secret_path, "x\n");
    CHECK(parse(&o, err, sizeof(err), "--auth-secret", "a", "--auth-secret-file", secret_path) < 0);
    CHECK(parse(&o, err, sizeof(err), "--secret-grace", "-1", "--user", "a:b") < 0);
    CHECK(parse(&o, err, sizeof(err), NULL, NULL, NULL, NULL) < 0);
    CHECK(strstr(err, "no credentials") != NULL);
}

static void test_secret_from_environment(void)
{
    static struct relayd_opts o;
    char err[256];

    REQUIRE(setenv(RELAYD_SECRET_ENV, "env-secret", 1) == 0);
    REQUIRE(parse(&o, err, sizeof(err), NULL, NULL, NULL, NULL) == 0);
    CHECK_STR(o.core.auth_secret, "env-secret");
    unsetenv(RELAYD_SECRET_ENV);
}

static void test_scrub_argv(void)
{
    char a0[] = "floe-relay", a1[] = "--auth-secret", a2[] = "topsecret", a3[] = "--user",
         a4[] = "bob:hunter2", a5[] = "--user=eve:pw", a6[] = "--realm", a7[] = "floe",
         a8[] = "--relay-ip", a9[] = "192.0.2.1";
    char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, NULL};
    static struct relayd_opts o;
    char err[256];

    REQUIRE(setenv(RELAYD_SECRET_ENV, "env-secret", 1) == 0);
    REQUIRE(relayd_parse_args(10, argv, &o, err, sizeof(err)) == 0);
    relayd_scrub_argv(10, argv);
    CHECK_STR(a2, "xxxxxxxxx");
    CHECK_STR(a4, "bob:xxxxxxx");
    CHECK_STR(a5, "--user=eve:xx");
    CHECK_STR(a7, "floe");
    CHECK(getenv(RELAYD_SECRET_ENV) == NULL);
    /* the parsed copies are intact */
    CHECK_STR(o.core.auth_secret, "topsecret");
    CHECK_STR(o.core.users[0].password, "hunter2");
    CHECK_STR(o.core.users[1].password, "pw");
}

/* A client with REST credentials made with secret. */
static int rest_client(struct rh_client *c, const struct rh_daemon *t, const char *secret,
                       char *pass)
{
    if (floe_turn_rest_password(pass, 64, secret, "4000000000:dev") < 0)
        return -1;
    return rh_client_open(c, t, "4000000000:dev", pass);
}

static void rotate(struct rh_daemon *t, const char *secret, const char *users)
{
    char err[256];

    write_file(secret_path, secret);
    write_file(users_path, users);
    CHECK_EQ(relayd_reload(&t->d, err, sizeof(err)), 0);
    usleep(100 * 1000); /* the workers take it on their next wake-up */
}

static void test_rotation_keeps_allocations(void)
{
    const char *args[] = {"--threads",
                          "2",
                          "--auth-secret-file",
                          secret_path,
                          "--users-file",
                          users_path,
                          "--relay-ports",
                          "62800-62899",
                          "--secret-grace",
                          "60",
                          NULL};
    static struct rh_daemon t;
    struct rh_client old, fresh, bob, carol;
    char p_old[64], p_new[64];

    write_file(secret_path, "one\n");
    write_file(users_path, "bob:pw\n");
    REQUIRE(rh_start(&t, args) == 0);
    REQUIRE(rest_client(&old, &t, "one", p_old) == 0);
    REQUIRE(rh_client_open(&bob, &t, "bob", "pw") == 0);
    CHECK_EQ(rh_allocate(&old), 0);
    CHECK_EQ(rh_allocate(&bob), 0);
    rotate(&t, "two\n", "carol:pw2\n");
    CHECK_EQ(rh_request(&old, FLOE_STUN_REFRESH, 600), 0); /* old secret: within the grace */
    CHECK_EQ(rh_code(&old), 0);
    REQUIRE(rest_client(&fresh, &t, "two", p_new) == 0);
    CHECK_EQ(rh_allocate(&fresh), 0);
    REQUIRE(rh_client_open(&carol, &t, "carol", "pw2") == 0);
    CHECK_EQ(rh_allocate(&carol), 0);
    CHECK_EQ(rh_request(&bob, FLOE_STUN_REFRESH, 600), 0); /* bob is gone */
    CHECK_EQ(rh_code(&bob), 401);
    /* a bad file on reload changes nothing */
    write_file(secret_path, "");
    {
        char err[256];

        CHECK(relayd_reload(&t.d, err, sizeof(err)) < 0);
        CHECK(strstr(err, "empty") != NULL);
    }
    CHECK_EQ(rh_request(&fresh, FLOE_STUN_REFRESH, 600), 0);
    CHECK_EQ(rh_code(&fresh), 0);
    rh_client_close(&old);
    rh_client_close(&fresh);
    rh_client_close(&bob);
    rh_client_close(&carol);
    rh_stop(&t);
}

static void test_rotation_without_grace(void)
{
    const char *args[] = {"--threads",
                          "1",
                          "--auth-secret-file",
                          secret_path,
                          "--relay-ports",
                          "62900-62949",
                          "--secret-grace",
                          "0",
                          NULL};
    static struct rh_daemon t;
    struct rh_client old;
    char p_old[64];

    write_file(secret_path, "one\n");
    REQUIRE(rh_start(&t, args) == 0);
    REQUIRE(rest_client(&old, &t, "one", p_old) == 0);
    CHECK_EQ(rh_allocate(&old), 0);
    rotate(&t, "two\n", "");
    CHECK_EQ(rh_request(&old, FLOE_STUN_REFRESH, 600), 0);
    CHECK_EQ(rh_code(&old), 401);
    rh_client_close(&old);
    rh_stop(&t);
}

int main(void)
{
    int rc;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
    snprintf(users_path, sizeof(users_path), "%s/users", dir);
    FLOE_RUN(test_secret_and_users_files);
    FLOE_RUN(test_secret_from_environment);
    FLOE_RUN(test_scrub_argv);
    FLOE_RUN(test_rotation_keeps_allocations);
    FLOE_RUN(test_rotation_without_grace);
    rc = floe_test_summary();
    unlink(secret_path);
    unlink(users_path);
    rmdir(dir);
    return rc;
}
