/* floe-client's command line. */
#include <getopt.h>
#include <stdio.h>
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
    "                            (default: the system store: OpenSSL's default CA paths\n"
    "                            on Linux, the Windows ROOT certificate store on Windows)\n"
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
    OPT_TABLE = FLOE_AGENT_OPT_OWN,
    OPT_JSON,
};

static const struct option client_options[] = {
    {"table", required_argument, NULL, OPT_TABLE},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* floe-client's own flags (struct floe_agent_opts_own.take). */
static int args_own(void *user, int c, const char *arg)
{
    struct client_opts *o = user;

    if (c == OPT_JSON) {
        o->json = true;
        return 0;
    }
    if (floe_agent_opts_u32(arg, &o->table) != 0 || o->table == 254 || o->table == 255)
        return floe_agent_opts_bad("floe-client", "bad --table", arg);
    return 0;
}

/* floe-client on the agent's parser: its name, help, portal role, defaults and own flags. */
static const struct floe_agent_opts_spec client_spec = {
    .prog = "floe-client",
    .usage = client_usage,
    .role = FLOE_PORTAL_ROLE_CLIENT,
    .defaults = {CLIENT_DEFAULT_INTERFACE, CLIENT_DEFAULT_CONTROL},
    .own = {client_options, args_own},
};

int client_args(int argc, char **argv, struct client_opts *o)
{
    int rc;

    *o = (struct client_opts){.table = FLOE_AGENT_DEFAULT_TABLE};
    if (argc > 1 && strcmp(argv[1], "status") == 0) {
        o->status = true;
        argc--;
        argv++;
    }
    rc = floe_agent_opts_parse(&o->agent, &client_spec, o, argc, argv);
    if (rc != 0 || o->status)
        return rc;
    if (o->json) {
        fprintf(stderr, "floe-client: --json belongs to 'floe-client status'\n");
        return 2;
    }
    return floe_agent_opts_check(&o->agent, &client_spec);
}
