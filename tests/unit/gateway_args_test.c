/*
 * floe-gateway's command line (apps/floe-gateway/args.c on the agent's shared parser,
 * apps/agent/opts.c): its own flag (--no-nat), its stricter interface names, the messages and
 * results of refusals, and the agent config made from the options.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "test.h"

/* gateway_args on a NULL-terminated list; its stderr into err[0..cap). */
static int run_args(struct gateway_opts *o, const char *const *args, char *err, size_t cap)
{
    char *argv[32];
    int argc = 0, rc, saved;
    FILE *f = tmpfile();
    size_t n = 0;

    argv[argc++] = (char *)"floe-gateway";
    while (*args && argc < 31)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    fflush(stderr);
    saved = dup(2);
    if (f)
        dup2(fileno(f), 2);
    rc = gateway_args(argc, argv, o);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if (f) {
        rewind(f);
        n = fread(err, 1, cap - 1, f);
        fclose(f);
    }
    err[n] = '\0';
    return rc;
}

static void test_ok(void)
{
    struct gateway_opts o;
    char err[512];
    const char *const full[] = {"--portal",     "ws://127.0.0.1:8443",
                                "--token-file", "/t",
                                "--interface",  "gw-1.a",
                                "-f",           "--no-nat",
                                "--fwmark",     "0x20",
                                "--name",       "gw",
                                "--no-offload", NULL};
    const char *const defaults[] = {"--portal", "wss://h", "--token-file", "t", NULL};

    CHECK_EQ(run_args(&o, full, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    CHECK_STR(o.agent.portal, "ws://127.0.0.1:8443");
    CHECK_STR(o.agent.interface, "gw-1.a");
    CHECK(o.agent.foreground && o.no_nat && o.agent.no_offload);
    CHECK_EQ(o.agent.mark, 0x20);
    CHECK_STR(o.agent.name, "gw");
    CHECK_EQ(run_args(&o, defaults, err, sizeof(err)), 0);
    CHECK_STR(o.agent.interface, GATEWAY_DEFAULT_INTERFACE);
    CHECK_STR(o.agent.control, GATEWAY_DEFAULT_CONTROL);
    CHECK_EQ(o.agent.mark, FLOE_AGENT_DEFAULT_MARK);
    CHECK_EQ(o.agent.log_level, FLOE_LOG_INFO);
    CHECK(!o.no_nat && !o.agent.foreground && !o.agent.no_offload);
    CHECK(o.agent.log_file == NULL && o.agent.ca_file == NULL && o.agent.name == NULL);
}

static void test_refused(void)
{
    struct gateway_opts o;
    char err[512];
#define P "--portal", "wss://h", "--token-file", "t"
    static const struct {
        const char *args[8];
        const char *err;
    } cases[] = {
        {{NULL}, "floe-gateway: --portal and --token-file are required\n"},
        {{"--portal", "http://h", "--token-file", "t", NULL},
         "floe-gateway: bad portal URL (ws://HOST:PORT or wss://HOST[:PORT]): 'http://h'\n"},
        {{P, "--interface", "a+b", NULL}, "floe-gateway: bad interface name: 'a+b'\n"},
        {{P, "--log-level", "loud", NULL}, "floe-gateway: bad log level: 'loud'\n"},
        {{P, "--fwmark", "0", NULL}, "floe-gateway: bad --fwmark: '0'\n"},
        {{P, "extra", NULL}, "floe-gateway: unexpected argument: 'extra'\n"},
        {{P, "--table", "100", NULL}, NULL}, /* floe-client's flag */
        {{P, "--json", NULL}, NULL},
    };
#undef P
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(run_args(&o, cases[i].args, err, sizeof(err)), 2);
        CHECK(strstr(err, "Try 'floe-gateway --help'.\n") != NULL);
        if (cases[i].err)
            CHECK(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0);
    }
}

static void test_config(void)
{
    struct gateway_opts o;
    struct floe_agent_config cfg;
    struct floe_agent_role role = {.name = "gateway"};
    char err[512];
    const char *const args[] = {"--portal", "wss://h", "--token-file", "t", "--ca-file", "/ca",
                                "--name",   "gw",      "--no-offload", NULL};

    CHECK_EQ(run_args(&o, args, err, sizeof(err)), 0);
    floe_agent_opts_config(&o.agent, "secret", NULL, role, &cfg);
    CHECK_STR(cfg.portal_url, "wss://h");
    CHECK_STR(cfg.token, "secret");
    CHECK_STR(cfg.ca_file, "/ca");
    CHECK_STR(cfg.interface, GATEWAY_DEFAULT_INTERFACE);
    CHECK_STR(cfg.device_name, "gw");
    CHECK_STR(cfg.control_path, GATEWAY_DEFAULT_CONTROL);
    CHECK_EQ(cfg.mark, FLOE_AGENT_DEFAULT_MARK);
    CHECK(cfg.no_offload);
    CHECK_STR(cfg.role.name, "gateway");
    CHECK_EQ(cfg.lanes, 0);
}

int main(void)
{
    FLOE_RUN(test_ok);
    FLOE_RUN(test_refused);
    FLOE_RUN(test_config);
    return floe_test_summary();
}
