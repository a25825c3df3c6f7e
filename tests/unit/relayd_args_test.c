/* floe-relay's command line: defaults, every option, and the errors users see. */
#include <stdarg.h>

#include "relayd.h"
#include "test.h"

static struct relayd_opts opts;
static char err[256];

/* Parse a NULL-terminated list of arguments after the program name. */
static int parse(const char *first, ...)
{
    char *argv[64];
    int argc = 1;
    va_list ap;
    const char *a;

    argv[0] = (char *)"floe-relay";
    va_start(ap, first);
    for (a = first; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return relayd_parse_args(argc, argv, &opts, err, sizeof(err));
}

static void test_defaults(void)
{
    char a[FLOE_ADDR_STRLEN];

    REQUIRE(parse("--listen", "127.0.0.1:3478", "--user", "alice:secret", NULL) == 0);
    CHECK_EQ(opts.n_listen, 1);
    CHECK(floe_addr_format_ip(&opts.relay_ip, a, sizeof(a)) > 0);
    CHECK_STR(a, "127.0.0.1"); /* the relayed address follows a specific --listen */
    CHECK_EQ(opts.port_min, 49152);
    CHECK_EQ(opts.port_max, 65535);
    CHECK(opts.threads >= 1);
    CHECK_STR(opts.core.realm, "floe");
    CHECK_EQ(opts.core.n_users, 1);
    CHECK_STR(opts.core.users[0].name, "alice");
    CHECK_STR(opts.core.users[0].password, "secret");
    CHECK(!opts.core.allow_loopback_peers);
    CHECK(!opts.have_metrics);
    CHECK_EQ(opts.log_level, FLOE_LOG_INFO);
    CHECK(opts.gro);
    CHECK_EQ(opts.io, RELAYD_IO_AUTO);
    CHECK_EQ(opts.linger_us, 50);
}

static void test_every_option(void)
{
    char a[FLOE_ADDR_STRLEN];

    REQUIRE(parse("--listen", "0.0.0.0:3478", "--listen", "[::]:3478", "--relay-ip", "192.0.2.10",
                  "--relay-ip6", "2001:db8::10", "--relay-ports", "40000-40999", "--threads", "3",
                  "--realm", "example.org", "--auth-secret", "s3cret", "--user",
                  "bob:pw:with:colons", "--allow-loopback-peers", "--allow-peer", "10.1.0.0/16",
                  "--deny-peer", "10.1.2.0/24", "--max-allocations", "50", "--user-quota", "2",
                  "--client-quota", "3", "--unauth-rate", "0", "--metrics", "127.0.0.1:9641",
                  "--log-file", "/tmp/x.log", "--log-level", "debug", "--no-gro", "--io", "epoll",
                  "--linger-us", "0", NULL) == 0);
    CHECK_EQ(opts.n_listen, 2);
    CHECK(floe_addr_format_ip(&opts.relay_ip6, a, sizeof(a)) > 0);
    CHECK_STR(a, "2001:db8::10");
    CHECK_EQ(opts.port_min, 40000);
    CHECK_EQ(opts.port_max, 40999);
    CHECK_EQ(opts.threads, 3);
    CHECK(!opts.gro);
    CHECK_EQ(opts.io, RELAYD_IO_EPOLL);
    CHECK_EQ(opts.linger_us, 0);
    CHECK_STR(opts.core.realm, "example.org");
    CHECK_STR(opts.core.auth_secret, "s3cret");
    CHECK_STR(opts.core.users[0].name, "bob");
    CHECK_STR(opts.core.users[0].password, "pw:with:colons");
    CHECK(opts.core.allow_loopback_peers);
    CHECK_EQ(opts.core.n_allow, 1);
    CHECK_EQ(opts.core.n_deny, 1);
    CHECK_EQ(opts.core.deny[0].prefix, 24);
    CHECK_EQ(opts.core.max_allocations, 50);
    CHECK_EQ(opts.core.max_allocations_per_user, 2);
    CHECK_EQ(opts.core.max_allocations_per_client, 3);
    CHECK_EQ(opts.core.unauth_rate, 0);
    CHECK(opts.have_metrics);
    CHECK_EQ(opts.metrics.port, 9641);
    CHECK_STR(opts.log_file, "/tmp/x.log");
    CHECK_EQ(opts.log_level, FLOE_LOG_DEBUG);
}

/* Each bad command line fails with FLOE_ERR_INVALID_ARG and a message naming the problem. */
static void expect_error(const char *needle, int rc)
{
    CHECK_EQ(rc, FLOE_ERR_INVALID_ARG);
    if (!strstr(err, needle)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err, needle);
        CHECK(0);
    }
}

static void test_errors(void)
{
    expect_error("invalid --listen", parse("--listen", "nowhere", "--user", "a:b", NULL));
    expect_error("no credentials", parse("--listen", "127.0.0.1:1", NULL));
    expect_error("no relayed address", parse("--user", "a:b", NULL));
    expect_error("invalid --relay-ip", parse("--relay-ip", "::1", "--user", "a:b", NULL));
    expect_error("invalid --relay-ports",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--relay-ports", "9-3", NULL));
    expect_error("invalid --relay-ports",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--relay-ports", "0-3", NULL));
    expect_error("invalid --threads",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--threads", "0", NULL));
    expect_error("invalid --threads",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--threads", "65", NULL));
    expect_error("invalid --user", parse("--listen", "127.0.0.1:1", "--user", "nopass", NULL));
    expect_error("invalid --user", parse("--listen", "127.0.0.1:1", "--user", ":pw", NULL));
    expect_error("invalid --allow-peer",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--allow-peer", "10/99", NULL));
    expect_error("invalid number",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--user-quota", "-1", NULL));
    expect_error("invalid --log-level",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--log-level", "loud", NULL));
    expect_error("invalid --linger-us",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--linger-us", "10001", NULL));
    expect_error("invalid --io",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--io", "select", NULL));
    expect_error("unknown option", parse("--listen", "127.0.0.1:1", "--bogus", NULL));
    expect_error("unexpected argument",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "stray", NULL));
    expect_error("fewer ports than --threads",
                 parse("--listen", "127.0.0.1:1", "--user", "a:b", "--relay-ports", "5000-5001",
                       "--threads", "4", NULL));
}

static void test_io_uring_flag(void)
{
    REQUIRE(parse("--listen", "127.0.0.1:1", "--user", "a:b", "--io", "uring", NULL) == 0);
    CHECK_EQ(opts.io, RELAYD_IO_URING);
}

int main(void)
{
    FLOE_RUN(test_defaults);
    FLOE_RUN(test_every_option);
    FLOE_RUN(test_errors);
    FLOE_RUN(test_io_uring_flag);
    return floe_test_summary();
}
