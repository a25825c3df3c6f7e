/* floe-client's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static const char client_usage[] =
    "usage: floe-client --portal URL --token-file PATH [OPTIONS]\n"
    "       floe-client status [--json] [--control-socket PATH]\n"
    "\n"
    "Reaches the resources the portal allows through floe gateways, and keeps reaching them\n"
    "while the machine changes networks. Creates the TUN interface "
    "(default " CLIENT_DEFAULT_INTERFACE ")\n"
    "with the tunnel addresses from the portal, routes every resource through it in a table\n"
    "of its own, and connects to a resource's gateway on the first packet to it.\n"
    "\n"
    "Options:\n"
    "  --portal URL              the portal: wss://HOST[:PORT][/PATH] (ws:// only for a\n"
    "                            portal started with --insecure, tests)\n"
    "  --token-file PATH         file holding this user's client token (one line)\n"
    "  --interface NAME          the TUN interface (default " CLIENT_DEFAULT_INTERFACE ")\n"
    "  --ca-file PATH            PEM CA bundle the portal's certificate is checked against\n"
    "                            (default: the system store)\n"
    "  -f, --foreground          stay in the foreground (default: detach once started)\n"
    "  --log-file PATH           append JSON Lines logs to PATH (SIGHUP reopens it);\n"
    "                            default stderr, which is /dev/null once detached\n"
    "  --log-level LEVEL         trace, debug, info (default), warn, error, off\n"
    "  --control-socket PATH     the status socket (default " CLIENT_DEFAULT_CONTROL ");\n"
    "                            Windows: a loopback IP:PORT it listens on (TCP)\n"
    "  --name NAME               this device's name at the portal (default: none)\n"
    "  --fwmark N                fwmark of floe's own sockets (default 0x464c)\n"
    "  --table N                 routing table of the resources (default 0x464c)\n"
    "  --no-offload              plain TUN and UDP: no TSO, UDP GSO/GRO\n"
    "  -h, --help                this text\n"
    "  --version                 the version\n"
    "\n"
    "status: prints the portal state, the relays, the resources with their gateways, and\n"
    "each connection's path kind (direct, local-relay, remote-relay, relay-relay), RTT and\n"
    "bytes; --json prints the daemon's JSON object as it is.\n"
    "\n"
    "Signals: SIGTERM or SIGINT remove the interface, routes and rules and exit; SIGHUP\n"
    "reopens the log file and resets the connections' paths (as a network change does).\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 could not start (TUN, sockets, log file, rules)\n"
    "or failed, 2 bad command line or the portal refused the token (HTTP 401);\n"
    "status: 0 printed, 1 no daemon answered, 2 bad command line.\n";

enum client_opt {
    OPT_PORTAL = 256,
    OPT_TOKEN_FILE,
    OPT_INTERFACE,
    OPT_CA_FILE,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_CONTROL,
    OPT_NAME,
    OPT_FWMARK,
    OPT_TABLE,
    OPT_NO_OFFLOAD,
    OPT_JSON,
    OPT_VERSION,
};

static const struct option client_options[] = {
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
    {"table", required_argument, NULL, OPT_TABLE},
    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int args_u32(const char *s, uint32_t *out)
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

static bool args_ifname_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 16 && strcmp(s, ".") && strcmp(s, "..") && !strpbrk(s, "/: \t\n");
}

static int args_bad(const char *what, const char *arg)
{
    fprintf(stderr, "floe-client: %s: '%s'\n", what, arg);
    fprintf(stderr, "Try 'floe-client --help'.\n");
    return 2;
}

/* One option. Returns -1 (go on), or an args result. */
static int args_one(int c, struct client_opts *o)
{
    switch (c) {
    case OPT_PORTAL:
        o->portal = optarg;
        break;
    case OPT_TOKEN_FILE:
        o->token_file = optarg;
        break;
    case OPT_INTERFACE:
        if (!args_ifname_ok(optarg))
            return args_bad("bad interface name", optarg);
        o->interface = optarg;
        break;
    case OPT_CA_FILE:
        o->ca_file = optarg;
        break;
    case 'f':
        o->foreground = true;
        break;
    case OPT_LOG_FILE:
        o->log_file = optarg;
        break;
    case OPT_LOG_LEVEL:
        if (floe_log_level_parse(optarg, &o->log_level) != 0)
            return args_bad("bad log level", optarg);
        break;
    case OPT_CONTROL:
        o->control = optarg;
        break;
    case OPT_NAME:
        o->name = optarg;
        break;
    case OPT_FWMARK:
        if (args_u32(optarg, &o->mark) != 0)
            return args_bad("bad --fwmark", optarg);
        break;
    case OPT_TABLE:
        if (args_u32(optarg, &o->table) != 0 || o->table == 254 || o->table == 255)
            return args_bad("bad --table", optarg);
        break;
    case OPT_NO_OFFLOAD:
        o->no_offload = true;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case 'h':
        fputs(client_usage, stdout);
        return 1;
    case OPT_VERSION:
        printf("floe-client %s\n", FLOE_VERSION_STRING);
        return 1;
    default:
        fprintf(stderr, "Try 'floe-client --help'.\n");
        return 2;
    }
    return -1;
}

static int args_check(struct client_opts *o)
{
    char host[256], path[512];
    uint16_t port;
    bool tls;

    if (o->status)
        return 0;
    if (o->json) {
        fprintf(stderr, "floe-client: --json belongs to 'floe-client status'\n");
        return 2;
    }
    if (!o->portal || !o->token_file) {
        fprintf(stderr, "floe-client: --portal and --token-file are required\n"
                        "Try 'floe-client --help'.\n");
        return 2;
    }
    if (floe_agent_parse_url(o->portal, FLOE_PORTAL_ROLE_CLIENT, host, sizeof(host), &port, path,
                             sizeof(path), &tls) != 0)
        return args_bad("bad portal URL (ws://HOST:PORT or wss://HOST[:PORT])", o->portal);
    return 0;
}

int client_args(int argc, char **argv, struct client_opts *o)
{
    int c, r;

    *o = (struct client_opts){.interface = CLIENT_DEFAULT_INTERFACE,
                              .control = CLIENT_DEFAULT_CONTROL,
                              .log_level = FLOE_LOG_INFO,
                              .mark = FLOE_AGENT_DEFAULT_MARK,
                              .table = FLOE_AGENT_DEFAULT_TABLE};
    if (argc > 1 && strcmp(argv[1], "status") == 0) {
        o->status = true;
        argc--;
        argv++;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "fh", client_options, NULL)) != -1)
        if ((r = args_one(c, o)) >= 0)
            return r;
    if (optind < argc)
        return args_bad("unexpected argument", argv[optind]);
    return args_check(o);
}
