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
    "  turn       allocate on a TURN server and echo a message through it to a peer\n"
    "  genkey     print a new WireGuard private key (base64, as `wg genkey`)\n"
    "  pubkey     print the public key of the private key read on stdin\n"
    "  genpsk     print a new WireGuard preshared key\n"
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

static const char turn_text[] =
    "usage: floe turn --server ADDR:PORT --peer ADDR:PORT\n"
    "                 (--user U --password P | --auth-secret S [--user ID]) [options]\n"
    "\n"
    "Allocate a relayed address on the TURN server (RFC 8656, UDP) with long-term\n"
    "credentials, bind a channel to the peer, send one message through the relay to the\n"
    "peer and wait for the peer to echo it back (e.g. coturn's turnutils_peer); the\n"
    "message goes again after 250 ms, then at doubling intervals up to 2 s, until the\n"
    "echo or --timeout. Prints the relayed and server-reflexive addresses and the\n"
    "round-trip time (from the latest send), then deletes the allocation.\n"
    "\n"
    "options:\n"
    "  --server ADDR:PORT  the TURN server (a name, IPv4 or [IPv6] address)\n"
    "  --peer ADDR:PORT    the peer that echoes datagrams\n"
    "  --user U            the username (with --password), or the id in the REST\n"
    "                      username (with --auth-secret; default \"floe\")\n"
    "  --password P        the password of --user\n"
    "  --auth-secret S     coturn's static-auth-secret: the username is\n"
    "                      \"<now + 1 h>:<ID>\", the password base64(HMAC-SHA1(S, username))\n"
    "  --json              print one JSON object: server, local, relayed, reflexive, peer,\n"
    "                      channel, rtt_ms\n"
    "  --timeout S         give up after S seconds (default 10, e.g. 2.5)\n"
    "  --log-level L       trace, debug, info, warn (default), error or off\n"
    "  --log-file PATH     write JSON Lines logs to PATH (default: stderr)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Output (without --json):\n"
    "  server 192.0.2.1:3478\n"
    "  relayed 192.0.2.1:49160\n"
    "  reflexive 198.51.100.7:40123\n"
    "  peer 203.0.113.5:7000\n"
    "  channel 0x4000\n"
    "  rtt 1.234 ms\n"
    "\n"
    "Exit status: 0 echoed, 1 failure (credentials refused, error response, no answer,\n"
    "no echo, network failure), 2 usage error.\n";

static const char genkey_text[] =
    "usage: floe genkey\n"
    "\n"
    "Print a new WireGuard private key: 32 random bytes from the operating system,\n"
    "clamped for X25519, in base64 (44 characters), as `wg genkey` does.\n"
    "Example: floe genkey | tee private.key | floe pubkey > public.key\n";

static const char pubkey_text[] =
    "usage: floe pubkey < private.key\n"
    "\n"
    "Read a base64 WireGuard private key on stdin and print its public key in base64,\n"
    "as `wg pubkey` does. Exit status 1 when stdin is not a 44-character key.\n";

static const char genpsk_text[] = "usage: floe genpsk\n"
                                  "\n"
                                  "Print a new WireGuard preshared key (32 random bytes, "
                                  "base64), as `wg genpsk` does.\n";
static const char sim_text[] =
    "usage: floe sim SCENARIO [--seed N] [--json] [--transcript FILE]\n"
    "       floe sim SCENARIO --seeds N [--json]\n"
    "       floe sim --list\n"
    "\n"
    "Run an ICE scenario in floe's deterministic network simulator (virtual time:\n"
    "NATs, loss, roaming, signalling) and print its timeline and verdict. The same\n"
    "seed gives the same run, byte for byte.\n"
    "\n"
    "options:\n"
    "  --list             list the scenarios with a one-line description\n"
    "  --seed N           simulator seed (default 1)\n"
    "  --seeds N          (or --sweep N) run seeds 1..N (N <= 1000000) and print one\n"
    "                     summary line: runs, verdict failures, the first failing\n"
    "                     seeds, and for roaming scenarios the data outage\n"
    "                     p50/p99/max; with --json one object {scenario, seeds, runs,\n"
    "                     failures, failed_seeds, outage_ms {roams, p50, p99, max}}\n"
    "                     node-prop and node-prop-links run N random topologies in\n"
    "                     one verdict instead (default 1000), drawn from --seed and\n"
    "                     with --transcript if given, and print recovery p50/p99/max\n"
    "  --json             print one JSON object: scenario, seed, pass, reason, lanes,\n"
    "                     outage_ms [..], timeline [{t_ms, run, lane, event}]\n"
    "  --transcript FILE  write the simulator's JSON Lines transcript (every packet,\n"
    "                     NAT translation, drop and ICE event) to FILE\n"
    "  -h, --help         show this help\n"
    "\n"
    "Output (without --json): one line per event, \"<virtual time> <event>\", then\n"
    "\"verdict: PASS: ...\" or \"verdict: FAIL: ...\". Scenarios comparing two\n"
    "settings (roam-race: with the grace period and with the naive settings) print\n"
    "the two timelines side by side.\n"
    "Roaming scenarios print each roam's data outage (the longest time either end\n"
    "went without application data across the roam).\n"
    "Exit status: 0 the verdict holds (with --seeds: on every seed), 1 it does not,\n"
    "2 usage error (unknown scenario or option).\n";

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
    else if (strcmp(verb, "turn") == 0)
        fputs(turn_text, out);
    else if (strcmp(verb, "genkey") == 0)
        fputs(genkey_text, out);
    else if (strcmp(verb, "pubkey") == 0)
        fputs(pubkey_text, out);
    else if (strcmp(verb, "genpsk") == 0)
        fputs(genpsk_text, out);
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
