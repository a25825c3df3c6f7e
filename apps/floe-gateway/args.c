/* floe-gateway's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "nat.h"

static const char gateway_usage[] =
    "usage: floe-gateway --portal URL --token-file PATH [OPTIONS]\n"
    "\n"
    "Gives the clients the portal authorizes access to this site's resources. Joins the\n"
    "portal as a gateway of its site, creates the TUN interface "
    "(default " GATEWAY_DEFAULT_INTERFACE ")\n"
    "with the tunnel addresses from the portal, turns IPv4/IPv6 forwarding on and masquerades\n"
    "tunnel traffic toward the resources in an nftables table of its own (inet\n"
    "floe_gw_<interface>, removed at exit). Each create_authorization runs a connection to\n"
    "that client; only what the client is authorized for (the resource's CIDR, protocols and\n"
    "ports) is forwarded, everything else is dropped and counted. Authorizations end when the\n"
    "portal revokes them (reject_access) or when they expire.\n"
    "\n"
    "Options:\n"
    "  --portal URL              the portal: wss://HOST[:PORT][/PATH] (ws:// only for a\n"
    "                            portal started with --insecure, tests)\n"
    "  --token-file PATH         file holding the site's gateway token (one line)\n"
    "  --interface NAME          the TUN interface (default " GATEWAY_DEFAULT_INTERFACE "; up to\n"
    "                            15 characters of A-Z a-z 0-9 _ . -)\n"
    "  --ca-file PATH            PEM CA bundle the portal's certificate is checked against\n"
    "                            (default: the system store)\n"
    "  -f, --foreground          stay in the foreground (default: detach once started)\n"
    "  --log-file PATH           append JSON Lines logs to PATH (SIGHUP reopens it);\n"
    "                            default stderr, which is /dev/null once detached\n"
    "  --log-level LEVEL         trace, debug, info (default), warn, error, off\n"
    "  --control-socket PATH     the status socket (default " GATEWAY_DEFAULT_CONTROL ")\n"
    "  --name NAME               this gateway's name at the portal (default: none)\n"
    "  --fwmark N                fwmark of floe's own sockets (default 0x464c)\n"
    "  --no-nat                  no nftables table and no sysctls: forwarding and NAT are\n"
    "                            set up by someone else\n"
    "  --no-offload              plain TUN and UDP: no TSO, UDP GSO/GRO\n"
    "  -h, --help                this text\n"
    "  --version                 the version\n"
    "\n"
    "Needs CAP_NET_ADMIN (TUN, nftables, sysctls) and the nft program (nftables).\n"
    "\n"
    "Signals: SIGTERM or SIGINT remove the interface and the nftables table and exit; SIGHUP\n"
    "reopens the log file and resets the connections' paths.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 could not start (TUN, sockets, log file, nftables)\n"
    "or failed, 2 bad command line or the portal refused the token (HTTP 401).\n";

enum gateway_opt {
    OPT_PORTAL = 256,
    OPT_TOKEN_FILE,
    OPT_INTERFACE,
    OPT_CA_FILE,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_CONTROL,
    OPT_NAME,
    OPT_FWMARK,
    OPT_NO_NAT,
    OPT_NO_OFFLOAD,
    OPT_VERSION,
};

static const struct option gateway_options[] = {
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
    {"no-nat", no_argument, NULL, OPT_NO_NAT},
    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int args_bad(const char *what, const char *arg)
{
    fprintf(stderr, "floe-gateway: %s: '%s'\n", what, arg);
    fprintf(stderr, "Try 'floe-gateway --help'.\n");
    return 2;
}

static int args_mark(const char *s, uint32_t *out)
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

/* The options that only store their argument. Returns true when c was one. */
static bool args_plain(int c, struct gateway_opts *o)
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
    case OPT_NO_NAT:
        o->no_nat = true;
        return true;
    case OPT_NO_OFFLOAD:
        o->no_offload = true;
        return true;
    default:
        return false;
    }
}

/* One option. Returns -1 (go on), or an args result. */
static int args_one(int c, struct gateway_opts *o)
{
    if (args_plain(c, o))
        return -1;
    switch (c) {
    case OPT_INTERFACE:
        if (!floe_gw_ifname_is_valid(optarg))
            return args_bad("bad interface name", optarg);
        o->interface = optarg;
        return -1;
    case OPT_LOG_LEVEL:
        if (floe_log_level_parse(optarg, &o->log_level) != 0)
            return args_bad("bad log level", optarg);
        return -1;
    case OPT_FWMARK:
        if (args_mark(optarg, &o->mark) != 0)
            return args_bad("bad --fwmark", optarg);
        return -1;
    case 'h':
        fputs(gateway_usage, stdout);
        return 1;
    case OPT_VERSION:
        printf("floe-gateway %s\n", FLOE_VERSION_STRING);
        return 1;
    default:
        fprintf(stderr, "Try 'floe-gateway --help'.\n");
        return 2;
    }
}

int gateway_args(int argc, char **argv, struct gateway_opts *o)
{
    char host[256], path[512];
    uint16_t port;
    bool tls;
    int c, r;

    *o = (struct gateway_opts){.interface = GATEWAY_DEFAULT_INTERFACE,
                               .control = GATEWAY_DEFAULT_CONTROL,
                               .log_level = FLOE_LOG_INFO,
                               .mark = FLOE_AGENT_DEFAULT_MARK};
    optind = 1;
    while ((c = getopt_long(argc, argv, "fh", gateway_options, NULL)) != -1)
        if ((r = args_one(c, o)) >= 0)
            return r;
    if (optind < argc)
        return args_bad("unexpected argument", argv[optind]);
    if (!o->portal || !o->token_file) {
        fprintf(stderr, "floe-gateway: --portal and --token-file are required\n"
                        "Try 'floe-gateway --help'.\n");
        return 2;
    }
    if (floe_agent_parse_url(o->portal, FLOE_PORTAL_ROLE_GATEWAY, host, sizeof(host), &port, path,
                             sizeof(path), &tls) != 0)
        return args_bad("bad portal URL (ws://HOST:PORT or wss://HOST[:PORT])", o->portal);
    return 0;
}
