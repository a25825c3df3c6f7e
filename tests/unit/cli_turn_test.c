/* Argument parsing and REST credentials of `floe turn`. */
#include "cli.h"
#include "floe/relay.h"
#include "test.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_turn_static_user(void)
{
    char *argv[] = {
        "turn",   "--server",           "127.0.0.1:3478", "--user",    "alice", "--password",
        "secret", "--peer=127.0.0.1:9", "--json",         "--timeout", "2.5",   "--log-level",
        "debug"};
    struct floe_cli_turn_opts o;
    char err[128];

    REQUIRE(floe_cli_turn_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
    CHECK_STR(o.server, "127.0.0.1:3478");
    CHECK_STR(o.peer, "127.0.0.1:9");
    CHECK_STR(o.user, "alice");
    CHECK_STR(o.password, "secret");
    CHECK(o.auth_secret == NULL);
    CHECK(o.json);
    CHECK_EQ(o.timeout, FLOE_MS(2500));
    CHECK_EQ(o.log_level, FLOE_LOG_DEBUG);
}

static void test_turn_auth_secret_defaults(void)
{
    char *argv[] = {"turn",       "--auth-secret", "s3cret", "--server",
                    "[::1]:3478", "--peer",        "[::1]:9"};
    struct floe_cli_turn_opts o;
    char err[128];

    REQUIRE(floe_cli_turn_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
    CHECK_STR(o.auth_secret, "s3cret");
    CHECK(o.user == NULL);
    CHECK(!o.json);
    CHECK_EQ(o.timeout, FLOE_CLI_TURN_TIMEOUT);
    CHECK_EQ(o.log_level, FLOE_LOG_WARN);
}

static void expect_usage(int argc, char **argv, const char *why)
{
    struct floe_cli_turn_opts o;
    char err[128] = "";

    CHECK_EQ(floe_cli_turn_parse(argc, argv, &o, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
    if (!strstr(err, why))
        fprintf(stderr, "  error \"%s\" lacks \"%s\"\n", err, why);
    CHECK(strstr(err, why) != NULL);
}

static void test_turn_usage_errors(void)
{
    char *no_creds[] = {"turn", "--server", "a:1", "--peer", "b:2"};
    char *no_server[] = {"turn", "--peer", "b:2", "--auth-secret", "s"};
    char *no_peer[] = {"turn", "--server", "a:1", "--auth-secret", "s"};
    char *both[] = {"turn", "--server",   "a:1", "--peer",        "b:2", "--user",
                    "u",    "--password", "p",   "--auth-secret", "s"};
    char *no_user[] = {"turn", "--server", "a:1", "--peer", "b:2", "--password", "p"};
    char *missing[] = {"turn", "--server"};
    char *unknown[] = {"turn", "--frob"};
    char *stray[] = {"turn", "a:1"};
    char *timeout[] = {"turn", "--timeout", "0"};
    char *empty[] = {"turn", "--user="};

    expect_usage(ARGC(no_creds), no_creds, "missing credentials");
    expect_usage(ARGC(no_server), no_server, "missing --server");
    expect_usage(ARGC(no_peer), no_peer, "missing --peer");
    expect_usage(ARGC(both), both, "exclude each other");
    expect_usage(ARGC(no_user), no_user, "--password needs --user");
    expect_usage(ARGC(missing), missing, "missing value for '--server'");
    expect_usage(ARGC(unknown), unknown, "unknown option '--frob'");
    expect_usage(ARGC(stray), stray, "unexpected argument 'a:1'");
    expect_usage(ARGC(timeout), timeout, "invalid --timeout");
    expect_usage(ARGC(empty), empty, "empty value for '--user'");
}

static void test_turn_help(void)
{
    char *argv[] = {"turn", "--help"};
    struct floe_cli_turn_opts o;
    char err[128];

    CHECK_EQ(floe_cli_turn_parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    CHECK(o.help);
}

static void test_turn_rest_credentials(void)
{
    char user[64], pass[64], expect[64];

    REQUIRE(floe_cli_turn_rest_credentials(user, sizeof(user), pass, sizeof(pass), "s3cret", NULL,
                                           1700000000) == 0);
    CHECK_STR(user, "1700003600:floe");
    REQUIRE(floe_turn_rest_password(expect, sizeof(expect), "s3cret", user) == 28);
    CHECK_STR(pass, expect);
    REQUIRE(floe_cli_turn_rest_credentials(user, sizeof(user), pass, sizeof(pass), "s3cret", "bob",
                                           1700000000) == 0);
    CHECK_STR(user, "1700003600:bob");
    CHECK_EQ(
        floe_cli_turn_rest_credentials(user, 8, pass, sizeof(pass), "s3cret", "bob", 1700000000),
        FLOE_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    FLOE_RUN(test_turn_static_user);
    FLOE_RUN(test_turn_auth_secret_defaults);
    FLOE_RUN(test_turn_usage_errors);
    FLOE_RUN(test_turn_help);
    FLOE_RUN(test_turn_rest_credentials);
    return floe_test_summary();
}
