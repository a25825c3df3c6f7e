/* The command line floe-client and floe-gateway share (opts.h). */
#ifndef _WIN32
#define _GNU_SOURCE /* daemon */
#endif
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opts_common {
    OPT_PORTAL = 256,
    OPT_TOKEN_FILE,
    OPT_INTERFACE,
    OPT_CA_FILE,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_CONTROL,
    OPT_NAME,
    OPT_FWMARK,
    OPT_NO_OFFLOAD,
    OPT_VERSION,
};

static const struct option opts_common[] = {
    {"portal", required_argument, NULL, OPT_PORTAL},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"interface", required_argument, NULL, OPT_INTERFACE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"foreground", no_argument, NULL, 'f'},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"control-socket", required_argument, NULL, OPT_CONTROL},
    {"name", required_argument, NULL, OPT_NAME},
    {"fwmark", required_argument, NULL, OPT_FWMARK},
    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
};
#define OPTS_COMMON_N (sizeof(opts_common) / sizeof(opts_common[0]))

int floe_agent_opts_bad(const char *prog, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s: '%s'\n", prog, what, arg);
    fprintf(stderr, "Try '%s --help'.\n", prog);
    return 2;
}

int floe_agent_opts_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || end == s || *end || *s == '-' || v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static bool opts_ifname_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 16 && strcmp(s, ".") && strcmp(s, "..") && !strpbrk(s, "/: \t\n");
}

/* The flags that only store their argument. Returns true when c was one. */
static bool opts_plain(int c, struct floe_agent_opts *o)
{
    switch (c) {
    case OPT_PORTAL:
        o->portal = optarg;
        return true;
    case OPT_TOKEN_FILE:
        o->token_file = optarg;
        return true;
    case OPT_CA_FILE:
        o->ca_file = optarg;
        return true;
    case 'f':
        o->foreground = true;
        return true;
    case OPT_LOG_FILE:
        o->log_file = optarg;
        return true;
    case OPT_CONTROL:
        o->control = optarg;
        return true;
    case OPT_NAME:
        o->name = optarg;
        return true;
    case OPT_NO_OFFLOAD:
        o->no_offload = true;
        return true;
    default:
        return false;
    }
}

/* One flag. Returns -1 (go on), or a parse result. */
static int opts_one(int c, struct floe_agent_opts *o, const struct floe_agent_opts_spec *s,
                    void *user)
{
    bool (*ifname_ok)(const char *) = s->ifname_ok ? s->ifname_ok : opts_ifname_ok;

    if (opts_plain(c, o))
        return -1;
    if (c >= FLOE_AGENT_OPT_OWN && s->own.take)
        return s->own.take(user, c, optarg) ? 2 : -1;
    switch (c) {
    case OPT_INTERFACE:
        if (!ifname_ok(optarg))
            return floe_agent_opts_bad(s->prog, "bad interface name", optarg);
        o->interface = optarg;
        return -1;
    case OPT_LOG_LEVEL:
        if (floe_log_level_parse(optarg, &o->log_level) != 0)
            return floe_agent_opts_bad(s->prog, "bad log level", optarg);
        return -1;
    case OPT_FWMARK:
        if (floe_agent_opts_u32(optarg, &o->mark) != 0)
            return floe_agent_opts_bad(s->prog, "bad --fwmark", optarg);
        return -1;
    case 'h':
        fputs(s->usage, stdout);
        return 1;
    case OPT_VERSION:
        printf("%s %s\n", s->prog, FLOE_VERSION_STRING);
        return 1;
    default:
        fprintf(stderr, "Try '%s --help'.\n", s->prog);
        return 2;
    }
}

/* The common flags and then the spec's own into table (zero entry last). */
static void opts_table(const struct floe_agent_opts_spec *s, struct option *table)
{
    size_t n = OPTS_COMMON_N;

    memcpy(table, opts_common, sizeof(opts_common));
    for (size_t i = 0; s->own.flags && i < FLOE_AGENT_OPT_OWN_MAX && s->own.flags[i].name; i++)
        table[n++] = s->own.flags[i];
    memset(&table[n], 0, sizeof(table[n]));
}

int floe_agent_opts_parse(struct floe_agent_opts *o, const struct floe_agent_opts_spec *s,
                          void *user, int argc, char **argv)
{
    struct option table[OPTS_COMMON_N + FLOE_AGENT_OPT_OWN_MAX + 1];
    int c, r;

    *o = (struct floe_agent_opts){.interface = s->defaults.interface,
                                  .control = s->defaults.control,
                                  .log_level = FLOE_LOG_INFO,
                                  .mark = FLOE_AGENT_DEFAULT_MARK};
    opts_table(s, table);
    optind = 1;
    while ((c = getopt_long(argc, argv, "fh", table, NULL)) != -1)
        if ((r = opts_one(c, o, s, user)) >= 0)
            return r;
    if (optind < argc)
        return floe_agent_opts_bad(s->prog, "unexpected argument", argv[optind]);
    return 0;
}

int floe_agent_opts_check(const struct floe_agent_opts *o, const struct floe_agent_opts_spec *s)
{
    char host[256], path[512];
    uint16_t port;
    bool tls;

    if (!o->portal || !o->token_file) {
        fprintf(stderr, "%s: --portal and --token-file are required\nTry '%s --help'.\n", s->prog,
                s->prog);
        return 2;
    }
    if (floe_agent_parse_url(o->portal, s->role, host, sizeof(host), &port, path, sizeof(path),
                             &tls) != 0)
        return floe_agent_opts_bad(s->prog, "bad portal URL (ws://HOST:PORT or wss://HOST[:PORT])",
                                   o->portal);
    return 0;
}

void floe_agent_opts_config(const struct floe_agent_opts *o, const char *token,
                            struct floe_jsonlog *log, struct floe_agent_role role,
                            struct floe_agent_config *cfg)
{
    *cfg = (struct floe_agent_config){
        .portal_url = o->portal,
        .token = token,
        .ca_file = o->ca_file,
        .interface = o->interface,
        .device_name = o->name,
        .control_path = o->control,
        .mark = o->mark,
        .no_offload = o->no_offload,
        .log = log,
        .role = role,
    };
}

#ifdef _WIN32
/* Windows has no detaching: the program runs in its console (or under a service host). */
static int opts_detach(void)
{
    return 0;
}
#else
static int opts_detach(void)
{
    return daemon(0, 0);
}
#endif

/* Create the agent, detach, run it, free it. */
static int opts_agent(const struct floe_agent_opts *o, const char *prog,
                      const struct floe_agent_config *cfg)
{
    struct floe_agent *a;
    int rc = floe_agent_new(&a, cfg);

    if (rc != 0) {
        fprintf(stderr, "%s: cannot start: %s (see the log)\n", prog, floe_strerror(rc));
        return FLOE_AGENT_EXIT_FAILURE;
    }
    if (!o->foreground && opts_detach() != 0) {
        floe_agent_free(a);
        return FLOE_AGENT_EXIT_FAILURE;
    }
    rc = floe_agent_run(a);
    floe_agent_free(a);
    return rc;
}

int floe_agent_opts_run(const struct floe_agent_opts *o, const char *prog,
                        struct floe_agent_role role)
{
    struct floe_agent_config cfg;
    struct floe_jsonlog log;
    char token[1024];
    int rc;

    if (floe_agent_read_token(prog, o->token_file, token, sizeof(token)) != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (floe_jsonlog_open(&log, o->log_file, o->log_level) != 0) {
        fprintf(stderr, "%s: log file %s: %s\n", prog, o->log_file, strerror(errno));
        floe_wipe(token, sizeof(token));
        return FLOE_AGENT_EXIT_FAILURE;
    }
    floe_agent_opts_config(o, token, &log, role, &cfg);
    rc = opts_agent(o, prog, &cfg);
    floe_wipe(token, sizeof(token));
    floe_jsonlog_close(&log);
    return rc;
}
