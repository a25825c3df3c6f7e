/*
 * floe-client's command line (apps/floe-client/args.c) and the agent's portal URL parser
 * (apps/agent/portal.c): what is accepted, and every refusal exits 2 with a message.
 */
#include "client.h"
#include "test.h"

/* client_args on a NULL-terminated list of arguments. */
static int run_args(struct client_opts *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"floe-client";
    while (*args && argc < 31)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return client_args(argc, argv, o);
}

static void test_url(void)
{
    char host[256], path[512];
    uint16_t port = 0;
    bool tls = false;

    CHECK_EQ(floe_agent_parse_url("wss://portal.example.com", FLOE_PORTAL_ROLE_CLIENT, host,
                                  sizeof(host), &port, path, sizeof(path), &tls),
             0);
    CHECK_STR(host, "portal.example.com");
    CHECK_EQ(port, 443);
    CHECK(tls);
    CHECK_STR(path, "/client/websocket");
    CHECK_EQ(floe_agent_parse_url("ws://127.0.0.1:8443/", FLOE_PORTAL_ROLE_GATEWAY, host,
                                  sizeof(host), &port, path, sizeof(path), &tls),
             0);
    CHECK_STR(host, "127.0.0.1");
    CHECK_EQ(port, 8443);
    CHECK(!tls);
    CHECK_STR(path, "/gateway/websocket");
    CHECK_EQ(floe_agent_parse_url("wss://[::1]:9/x/websocket?a=b", FLOE_PORTAL_ROLE_CLIENT, host,
                                  sizeof(host), &port, path, sizeof(path), &tls),
             0);
    CHECK_STR(host, "::1");
    CHECK_EQ(port, 9);
    CHECK_STR(path, "/x/websocket?a=b");
    static const char *const bad[] = {"http://h",      "wss://",      "wss://:443", "wss://h:0",
                                      "wss://h:65536", "wss://h:12a", "wss://[::1", "wss://[::1]x",
                                      "wss://u@h",     "portal:8443", "",           "wss://h:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(floe_agent_parse_url(bad[i], FLOE_PORTAL_ROLE_CLIENT, host, sizeof(host), &port,
                                      path, sizeof(path), &tls),
                 FLOE_ERR_ADDR_PARSE);
    CHECK_EQ(floe_agent_parse_url(NULL, FLOE_PORTAL_ROLE_CLIENT, host, sizeof(host), &port, path,
                                  sizeof(path), &tls),
             FLOE_ERR_INVALID_ARG);
}

static void test_args_ok(void)
{
    struct client_opts o;
    const char *const full[] = {"--portal",     "wss://p.example:8443",
                                "--token-file", "/t",
                                "--interface",  "floe7",
                                "--foreground", "--log-level",
                                "debug",        "--ca-file",
                                "/ca.pem",      "--fwmark",
                                "0x10",         "--table",
                                "100",          NULL};
    const char *const status[] = {"status", "--json", "--control-socket", "/s.sock", NULL};

    CHECK_EQ(run_args(&o, full), 0);
    CHECK_STR(o.agent.portal, "wss://p.example:8443");
    CHECK_STR(o.agent.token_file, "/t");
    CHECK_STR(o.agent.interface, "floe7");
    CHECK(o.agent.foreground);
    CHECK_EQ(o.agent.log_level, FLOE_LOG_DEBUG);
    CHECK_STR(o.agent.ca_file, "/ca.pem");
    CHECK_EQ(o.agent.mark, 0x10);
    CHECK_EQ(o.table, 100);
    CHECK(!o.status);
    CHECK_EQ(run_args(&o, status), 0);
    CHECK(o.status && o.json);
    CHECK_STR(o.agent.control, "/s.sock");
    const char *const defaults[] = {"--portal", "ws://127.0.0.1:1", "--token-file", "t", NULL};
    CHECK_EQ(run_args(&o, defaults), 0);
    CHECK_STR(o.agent.interface, CLIENT_DEFAULT_INTERFACE);
    CHECK_STR(o.agent.control, CLIENT_DEFAULT_CONTROL);
    CHECK_EQ(o.agent.mark, FLOE_AGENT_DEFAULT_MARK);
    CHECK(!o.agent.foreground);
    const char *const help[] = {"--help", NULL};
    CHECK_EQ(run_args(&o, help), 1);
}

static void test_args_refused(void)
{
    struct client_opts o;
#define P "--portal", "wss://h", "--token-file", "t"
    const char *const cases[][8] = {
        {NULL},
        {"--portal", "wss://h", NULL},
        {"--token-file", "t", NULL},
        {"--portal", "http://h", "--token-file", "t", NULL},
        {P, "--interface", "this-name-is-too-long", NULL},
        {P, "--interface", "a/b", NULL},
        {P, "--log-level", "loud", NULL},
        {P, "--fwmark", "0", NULL},
        {P, "--fwmark", "-1", NULL},
        {P, "--table", "254", NULL},
        {P, "--json", NULL},
        {P, "extra", NULL},
        {P, "--no-such-flag", NULL},
        {"status", "--bogus", NULL},
    };
#undef P
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = run_args(&o, cases[i]);
        if (rc != 2)
            fprintf(stderr, "  case %zu accepted (%d)\n", i, rc);
        CHECK_EQ(rc, 2);
    }
}

int main(void)
{
    FLOE_RUN(test_url);
    FLOE_RUN(test_args_ok);
    FLOE_RUN(test_args_refused);
    return floe_test_summary();
}
