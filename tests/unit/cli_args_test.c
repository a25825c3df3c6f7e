/* Argument parsing of the floe CLI (`floe stun`). */
#include "cli.h"
#include "test.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_seconds(void)
{
    static const char *const bad[] = {
        "", "0", "0.0", "-1", ".5", "1.", "1e3", "abc", "1s", "3600.5", "3601", "99999999999",
        "0.0000000001", " 1",
    };
    floe_time t = 0;
    size_t i;

    CHECK_EQ(floe_cli_parse_seconds("5", &t), 0);
    CHECK_EQ(t, FLOE_SEC(5));
    CHECK_EQ(floe_cli_parse_seconds("0.25", &t), 0);
    CHECK_EQ(t, FLOE_MS(250));
    CHECK_EQ(floe_cli_parse_seconds("1.000000001", &t), 0);
    CHECK_EQ(t, FLOE_SEC(1) + 1);
    CHECK_EQ(floe_cli_parse_seconds("3600", &t), 0);
    CHECK_EQ(t, FLOE_SEC(3600));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = floe_cli_parse_seconds(bad[i], &t);

        if (rc == 0)
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK_EQ(rc, FLOE_ERR_INVALID_ARG);
    }
}

static void test_stun_defaults(void)
{
    char *argv[] = {"stun", "127.0.0.1:3478"};
    struct floe_cli_stun_opts o;
    char err[128];

    REQUIRE(floe_cli_stun_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
    CHECK_STR(o.server, "127.0.0.1:3478");
    CHECK_EQ(o.timeout, FLOE_SEC(5));
    CHECK_EQ(o.log_level, FLOE_LOG_WARN);
    CHECK(!o.json);
    CHECK(!o.help);
    CHECK(o.log_file == NULL);
    CHECK(o.source == NULL);
    CHECK_EQ(o.family, FLOE_AF_NONE);
}

static void test_stun_all_options(void)
{
    char *argv[] = {"stun",        "--json",       "--timeout",  "2.5",
                    "--log-level=DEBUG", "--log-file", "/tmp/x.log", "--source",
                    "[::1]:0",     "-6",           "--",         "-host:1"};
    struct floe_cli_stun_opts o;
    char err[128];

    REQUIRE(floe_cli_stun_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
    CHECK(o.json);
    CHECK_EQ(o.timeout, FLOE_MS(2500));
    CHECK_EQ(o.log_level, FLOE_LOG_DEBUG);
    CHECK_STR(o.log_file, "/tmp/x.log");
    CHECK_STR(o.source, "[::1]:0");
    CHECK_EQ(o.family, FLOE_AF_INET6);
    CHECK_STR(o.server, "-host:1");
}

static void test_stun_help_needs_no_server(void)
{
    char *argv[] = {"stun", "--help"};
    struct floe_cli_stun_opts o;
    char err[128];

    CHECK_EQ(floe_cli_stun_parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    CHECK(o.help);
}

/* Each bad command line fails with a message naming the problem. */
static void expect_error(int argc, char **argv, const char *needle)
{
    struct floe_cli_stun_opts o;
    char err[128] = "";

    CHECK_EQ(floe_cli_stun_parse(argc, argv, &o, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
    if (!strstr(err, needle))
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err, needle);
    CHECK(strstr(err, needle) != NULL);
}

static void test_stun_errors(void)
{
    char *a1[] = {"stun"};
    char *a2[] = {"stun", "--bogus", "h:1"};
    char *a3[] = {"stun", "h:1", "h:2"};
    char *a4[] = {"stun", "h:1", "--timeout"};
    char *a5[] = {"stun", "--timeout", "0", "h:1"};
    char *a6[] = {"stun", "--log-level", "loud", "h:1"};
    char *a7[] = {"stun", "--log-file=", "h:1"};
    char *a8[] = {"stun", "--timeoutx", "1", "h:1"};

    expect_error(ARGC(a1), a1, "missing server address");
    expect_error(ARGC(a2), a2, "unknown option '--bogus'");
    expect_error(ARGC(a3), a3, "unexpected argument 'h:2'");
    expect_error(ARGC(a4), a4, "missing value for '--timeout'");
    expect_error(ARGC(a5), a5, "invalid --timeout");
    expect_error(ARGC(a6), a6, "invalid --log-level");
    expect_error(ARGC(a7), a7, "invalid --log-file");
    expect_error(ARGC(a8), a8, "unknown option '--timeoutx'");
}

int main(void)
{
    FLOE_RUN(test_seconds);
    FLOE_RUN(test_stun_defaults);
    FLOE_RUN(test_stun_all_options);
    FLOE_RUN(test_stun_help_needs_no_server);
    FLOE_RUN(test_stun_errors);
    return floe_test_summary();
}
