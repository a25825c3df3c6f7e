/* floe-gateway's command line. */
#include <getopt.h>

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
    OPT_NO_NAT = FLOE_AGENT_OPT_OWN,
};

static const struct option gateway_options[] = {
    {"no-nat", no_argument, NULL, OPT_NO_NAT},
    {NULL, 0, NULL, 0},
};

/* floe-gateway's own flag (struct floe_agent_opts_own.take): --no-nat. */
static int args_own(void *user, int c, const char *arg)
{
    struct gateway_opts *o = user;

    (void)c;
    (void)arg;
    o->no_nat = true;
    return 0;
}

/* floe-gateway on the agent's parser: its name, help, portal role, defaults and own flags. */
static const struct floe_agent_opts_spec gateway_spec = {
    .prog = "floe-gateway",
    .usage = gateway_usage,
    .role = FLOE_PORTAL_ROLE_GATEWAY,
    .defaults = {GATEWAY_DEFAULT_INTERFACE, GATEWAY_DEFAULT_CONTROL},
    .ifname_ok = floe_gw_ifname_is_valid,
    .own = {gateway_options, args_own},
};

int gateway_args(int argc, char **argv, struct gateway_opts *o)
{
    int rc;

    *o = (struct gateway_opts){.no_nat = false};
    rc = floe_agent_opts_parse(&o->agent, &gateway_spec, o, argc, argv);
    if (rc != 0)
        return rc;
    return floe_agent_opts_check(&o->agent, &gateway_spec);
}
