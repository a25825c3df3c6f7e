/* Usage and per-verb help of the floe program. */
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: floe <command> [options]\n"
    "\n"
    "floe is a NAT-traversing, WireGuard-encrypted data plane; this program probes and\n"
    "operates it.\n"
    "\n"
    "commands:\n"
    "  stun       ask a STUN server for this host's server-reflexive address\n"
    "  sim        run an ICE scenario in the deterministic network simulator\n"
    "  help       show help for a command: floe help <command>\n"
    "  version    print the version\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help\n"
    "  --version      print the version\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

static const char stun_text[] =
    "usage: floe stun [options] HOST:PORT\n"
    "\n"
    "Send a STUN Binding request (RFC 8489) over UDP to HOST:PORT and print the\n"
    "server-reflexive address it reports. HOST is a name, an IPv4 address or a\n"
    "bracketed IPv6 address ([2001:db8::1]:3478). The request is retransmitted on the\n"
    "RFC 8489 schedule (500 ms, doubling) until an answer or the timeout.\n"
    "\n"
    "options:\n"
    "  --json              print one JSON object: server, reflexive, local, rtt_ms,\n"
    "                      sends, software\n"
    "  --timeout S         give up after S seconds (default 5, e.g. 0.5)\n"
    "  --source ADDR:PORT  bind the local socket to ADDR:PORT (port 0: any)\n"
    "  -4, -6              resolve HOST to IPv4 / IPv6 only\n"
    "  --log-level L       trace, debug, info, warn (default), error or off\n"
    "  --log-file PATH     write JSON Lines logs to PATH (default: stderr)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Output (without --json):\n"
    "  server 192.0.2.1:3478\n"
    "  reflexive 198.51.100.7:40123\n"
    "  local 10.0.0.2:40123\n"
    "  rtt 12.345 ms\n"
    "  software <the server's SOFTWARE, if sent>\n"
    "\n"
    "rtt is unknown when the request had to be retransmitted (Karn's rule).\n"
    "Exit status: 0 answered, 1 no answer, error response or network failure,\n"
    "2 usage error (bad option, bad address).\n";

static const char sim_text[] =
    "usage: floe sim SCENARIO [--seed N] [--json] [--transcript FILE]\n"
    "       floe sim --list\n"
    "\n"
    "Run an ICE scenario in floe's deterministic network simulator (virtual time:\n"
    "NATs, loss, roaming, signalling) and print its timeline and verdict. The same\n"
    "seed gives the same run, byte for byte.\n"
    "\n"
    "options:\n"
    "  --list             list the scenarios with a one-line description\n"
    "  --seed N           simulator seed (default 1)\n"
    "  --json             print one JSON object: scenario, seed, pass, reason, lanes,\n"
    "                     timeline [{t_ms, run, lane, event}]\n"
    "  --transcript FILE  write the simulator's JSON Lines transcript (every packet,\n"
    "                     NAT translation, drop and ICE event) to FILE\n"
    "  -h, --help         show this help\n"
    "\n"
    "Output (without --json): one line per event, \"<virtual time> <event>\", then\n"
    "\"verdict: PASS: ...\" or \"verdict: FAIL: ...\". Scenarios comparing two\n"
    "settings (roam-race: with the grace period and with the naive settings) print\n"
    "the two timelines side by side.\n"
    "Exit status: 0 the verdict holds, 1 it does not, 2 usage error (unknown\n"
    "scenario or option).\n";

static const char help_text[] = "usage: floe help [COMMAND]\n"
                                "\n"
                                "Show the usage of floe, or the help of COMMAND.\n";

static const char version_text[] = "usage: floe version\n"
                                   "\n"
                                   "Print \"floe " FLOE_VERSION_STRING "\".\n";

void floe_cli_usage(FILE *out)
{
    fputs(usage_text, out);
}

bool floe_cli_help_verb(FILE *out, const char *verb)
{
    if (strcmp(verb, "stun") == 0)
        fputs(stun_text, out);
    else if (strcmp(verb, "sim") == 0)
        fputs(sim_text, out);
    else if (strcmp(verb, "help") == 0)
        fputs(help_text, out);
    else if (strcmp(verb, "version") == 0)
        fputs(version_text, out);
    else
        return false;
    return true;
}
