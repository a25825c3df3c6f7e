/* floe-relay's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relayd.h"

static const char relayd_usage[] =
    "usage: floe-relay [OPTIONS]\n"
    "\n"
    "A TURN relay (RFC 8656, UDP) interoperable with standard TURN clients.\n"
    "Runs in the foreground; logs JSON Lines to stderr or --log-file.\n"
    "\n"
    "Listening and relaying:\n"
    "  --listen ADDR:PORT        listen for clients here (repeatable, up to 8;\n"
    "                            default 0.0.0.0:3478)\n"
    "  --relay-ip IP             IPv4 address of relayed allocations (default: the\n"
    "                            IPv4 --listen address when it is not a wildcard)\n"
    "  --relay-ip6 IP            IPv6 address of relayed allocations (optional)\n"
    "  --relay-ports MIN-MAX     relayed port range (default 49152-65535)\n"
    "  --threads N               worker threads (default: the number of CPUs)\n"
    "  --io MODE                 uring: io_uring (multishot receives, every socket's sends\n"
    "                            in one submission); epoll: epoll + recvmmsg/sendmmsg\n"
    "                            (default: uring when the kernel allows it, else epoll)\n"
    "  --linger-us N             io_uring: a busy worker waits up to N microseconds for\n"
    "                            a batch of completions before it wakes (default 50;\n"
    "                            0: wake for each; 0-10000)\n"
    "  --no-gro                  do not ask the kernel for UDP GRO on the relay's sockets\n"
    "                            (default: on; coalesced datagrams are split again)\n"
    "\n"
    "Authentication (at least one of --auth-secret and --user):\n"
    "  --realm REALM             the realm (default floe)\n"
    "  --auth-secret SECRET      coturn-compatible time-limited credentials: username\n"
    "                            EXPIRY:ID, password base64(HMAC-SHA1(SECRET, username))\n"
    "  --user NAME:PASSWORD      a static long-term user (repeatable)\n"
    "\n"
    "Peer policy (loopback, private, link-local, Teredo and the relay's own addresses\n"
    "are refused by default; IPv6 forms of an IPv4 address - NAT64 64:ff9b::/96, 6to4,\n"
    "IPv4-mapped and -compatible - are judged as that address; the relayed address on\n"
    "--relay-ports is allowed, relay to relay; a --listen port never is):\n"
    "  --allow-loopback-peers    allow peers on 127.0.0.0/8 and ::1\n"
    "  --allow-peer CIDR         allow peers in CIDR (repeatable); loopback and the relay's\n"
    "                            own addresses only when CIDR lies inside them\n"
    "  --deny-peer CIDR          refuse peers in CIDR; wins over --allow-peer (repeatable)\n"
    "\n"
    "Limits:\n"
    "  --max-allocations N       allocations per worker thread (default 10000)\n"
    "  --user-quota N            allocations per user (default unlimited)\n"
    "  --client-quota N          allocations per client IP (default unlimited)\n"
    "  --unauth-rate N           answers to unauthenticated sources (Binding, 401, 438,\n"
    "                            400) per second per worker (default 10000; 0 unlimited)\n"
    "  --unauth-source-rate N    the same per source, an IPv4 address or an IPv6 /64,\n"
    "                            per worker (default 100; 0 unlimited)\n"
    "  --no-software             no SOFTWARE attribute (name and version) in answers\n"
    "\n"
    "Operations:\n"
    "  --metrics ADDR:PORT       serve Prometheus text metrics over HTTP here\n"
    "  --log-file PATH           append JSON Lines logs to PATH (SIGHUP reopens it)\n"
    "  --log-level LEVEL         trace, debug, info (default), warn, error, off\n"
    "  --help                    this text\n"
    "  --version                 the version\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop the relay cleanly; SIGHUP reopens the log file.\n";

enum relayd_opt {
    OPT_LISTEN = 256,
    OPT_RELAY_IP,
    OPT_RELAY_IP6,
    OPT_RELAY_PORTS,
    OPT_THREADS,
    OPT_NO_GRO,
    OPT_IO,
    OPT_LINGER,
    OPT_REALM,
    OPT_AUTH_SECRET,
    OPT_USER,
    OPT_ALLOW_LOOPBACK,
    OPT_ALLOW_PEER,
    OPT_DENY_PEER,
    OPT_MAX_ALLOCATIONS,
    OPT_USER_QUOTA,
    OPT_CLIENT_QUOTA,
    OPT_UNAUTH_RATE,
    OPT_UNAUTH_SOURCE_RATE,
    OPT_NO_SOFTWARE,
    OPT_METRICS,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option relayd_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"relay-ip", required_argument, NULL, OPT_RELAY_IP},
    {"relay-ip6", required_argument, NULL, OPT_RELAY_IP6},
    {"relay-ports", required_argument, NULL, OPT_RELAY_PORTS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"no-gro", no_argument, NULL, OPT_NO_GRO},
    {"io", required_argument, NULL, OPT_IO},
    {"linger-us", required_argument, NULL, OPT_LINGER},
    {"realm", required_argument, NULL, OPT_REALM},
    {"auth-secret", required_argument, NULL, OPT_AUTH_SECRET},
    {"user", required_argument, NULL, OPT_USER},
    {"allow-loopback-peers", no_argument, NULL, OPT_ALLOW_LOOPBACK},
    {"allow-peer", required_argument, NULL, OPT_ALLOW_PEER},
    {"deny-peer", required_argument, NULL, OPT_DENY_PEER},
    {"max-allocations", required_argument, NULL, OPT_MAX_ALLOCATIONS},
    {"user-quota", required_argument, NULL, OPT_USER_QUOTA},
    {"client-quota", required_argument, NULL, OPT_CLIENT_QUOTA},
    {"unauth-rate", required_argument, NULL, OPT_UNAUTH_RATE},
    {"unauth-source-rate", required_argument, NULL, OPT_UNAUTH_SOURCE_RATE},
    {"no-software", no_argument, NULL, OPT_NO_SOFTWARE},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int args_fail(char *err, size_t cap, const char *what, const char *val)
{
    snprintf(err, cap, "%s '%s'", what, val ? val : "");
    return FLOE_ERR_INVALID_ARG;
}

static int args_uint(const char *s, unsigned long max, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!s || *s < '0' || *s > '9')
        return FLOE_ERR_INVALID_ARG;
    v = strtoul(s, &end, 10);
    if (*end || v > max)
        return FLOE_ERR_INVALID_ARG;
    *out = (uint32_t)v;
    return 0;
}

static int args_ports(const char *s, struct relayd_opts *o)
{
    uint32_t lo, hi;
    char buf[32], *dash;

    if (strlen(s) >= sizeof(buf))
        return FLOE_ERR_INVALID_ARG;
    strcpy(buf, s);
    dash = strchr(buf, '-');
    if (!dash)
        return FLOE_ERR_INVALID_ARG;
    *dash = '\0';
    if (args_uint(buf, 65535, &lo) < 0 || args_uint(dash + 1, 65535, &hi) < 0 || lo == 0 || lo > hi)
        return FLOE_ERR_INVALID_ARG;
    o->port_min = (uint16_t)lo;
    o->port_max = (uint16_t)hi;
    return 0;
}

static int args_user(const char *s, struct relayd_opts *o)
{
    size_t i = o->core.n_users;
    char *colon;

    if (i >= FLOE_RELAY_MAX_USERS || strlen(s) >= sizeof(o->user_buf[0]))
        return FLOE_ERR_INVALID_ARG;
    strcpy(o->user_buf[i], s);
    colon = strchr(o->user_buf[i], ':');
    if (!colon || colon == o->user_buf[i] || !colon[1])
        return FLOE_ERR_INVALID_ARG;
    *colon = '\0';
    o->core.users[i].name = o->user_buf[i];
    o->core.users[i].password = colon + 1;
    o->core.n_users++;
    return 0;
}

static int args_cidr(const char *s, struct floe_cidr *list, size_t *n)
{
    if (*n >= FLOE_RELAY_MAX_CIDRS || floe_cidr_parse(s, &list[*n]) < 0)
        return FLOE_ERR_INVALID_ARG;
    (*n)++;
    return 0;
}

static int args_ip(const char *s, enum floe_af family, struct floe_addr *out)
{
    return floe_addr_parse_ip(s, out) == 0 && out->family == family ? 0 : FLOE_ERR_INVALID_ARG;
}

/* Options about addresses and threads. 1 when handled, 0 if not ours, <0 on error. */
static int args_net(int opt, const char *v, struct relayd_opts *o, char *err, size_t cap)
{
    uint32_t n;

    switch (opt) {
    case OPT_LISTEN:
        if (o->n_listen >= RELAYD_MAX_LISTEN || floe_addr_parse(v, &o->listen[o->n_listen]) < 0)
            return args_fail(err, cap, "invalid --listen (ADDR:PORT, up to 8)", v);
        o->n_listen++;
        return 1;
    case OPT_RELAY_IP:
        return args_ip(v, FLOE_AF_INET, &o->relay_ip) < 0
                   ? args_fail(err, cap, "invalid --relay-ip (an IPv4 address)", v)
                   : 1;
    case OPT_RELAY_IP6:
        return args_ip(v, FLOE_AF_INET6, &o->relay_ip6) < 0
                   ? args_fail(err, cap, "invalid --relay-ip6 (an IPv6 address)", v)
                   : 1;
    case OPT_RELAY_PORTS:
        return args_ports(v, o) < 0 ? args_fail(err, cap, "invalid --relay-ports (MIN-MAX)", v) : 1;
    case OPT_THREADS:
        if (args_uint(v, RELAYD_MAX_THREADS, &n) < 0 || n == 0)
            return args_fail(err, cap, "invalid --threads (1-64)", v);
        o->threads = n;
        return 1;
    case OPT_NO_GRO:
        o->gro = false;
        return 1;
    case OPT_IO:
        if (strcmp(v, "epoll") != 0 && strcmp(v, "uring") != 0)
            return args_fail(err, cap, "invalid --io (epoll or uring)", v);
        o->io = strcmp(v, "epoll") == 0 ? RELAYD_IO_EPOLL : RELAYD_IO_URING;
        return 1;
    case OPT_LINGER:
        if (args_uint(v, 10000, &n) < 0)
            return args_fail(err, cap, "invalid --linger-us (0-10000)", v);
        o->linger_us = n;
        return 1;
    case OPT_METRICS:
        if (floe_addr_parse(v, &o->metrics) < 0)
            return args_fail(err, cap, "invalid --metrics (ADDR:PORT)", v);
        o->have_metrics = true;
        return 1;
    default:
        return 0;
    }
}

/* Options about credentials, policy and limits. Same returns as args_net. */
static int args_core(int opt, const char *v, struct relayd_opts *o, char *err, size_t cap)
{
    struct floe_relay_config *c = &o->core;

    switch (opt) {
    case OPT_REALM:
        c->realm = v;
        return *v ? 1 : args_fail(err, cap, "invalid --realm", v);
    case OPT_AUTH_SECRET:
        c->auth_secret = v;
        return *v ? 1 : args_fail(err, cap, "invalid --auth-secret", v);
    case OPT_USER:
        return args_user(v, o) < 0 ? args_fail(err, cap, "invalid --user (NAME:PASSWORD)", v) : 1;
    case OPT_ALLOW_LOOPBACK:
        c->allow_loopback_peers = true;
        return 1;
    case OPT_ALLOW_PEER:
        return args_cidr(v, c->allow, &c->n_allow) < 0
                   ? args_fail(err, cap, "invalid --allow-peer (CIDR)", v)
                   : 1;
    case OPT_DENY_PEER:
        return args_cidr(v, c->deny, &c->n_deny) < 0
                   ? args_fail(err, cap, "invalid --deny-peer (CIDR)", v)
                   : 1;
    default:
        return 0;
    }
}

static int args_limits(int opt, const char *v, struct relayd_opts *o, char *err, size_t cap)
{
    struct floe_relay_config *c = &o->core;
    uint32_t n;

    if (opt == OPT_NO_SOFTWARE) {
        c->software = NULL;
        return 1;
    }
    if (opt != OPT_MAX_ALLOCATIONS && opt != OPT_USER_QUOTA && opt != OPT_CLIENT_QUOTA &&
        opt != OPT_UNAUTH_RATE && opt != OPT_UNAUTH_SOURCE_RATE)
        return 0;
    if (args_uint(v, 10000000, &n) < 0 || (opt == OPT_MAX_ALLOCATIONS && n == 0))
        return args_fail(err, cap, "invalid number", v);
    if (opt == OPT_MAX_ALLOCATIONS)
        c->max_allocations = n;
    else if (opt == OPT_USER_QUOTA)
        c->max_allocations_per_user = n;
    else if (opt == OPT_CLIENT_QUOTA)
        c->max_allocations_per_client = n;
    else if (opt == OPT_UNAUTH_SOURCE_RATE)
        c->unauth_source_rate = n;
    else
        c->unauth_rate = n;
    return 1;
}

static int args_ops(int opt, const char *v, struct relayd_opts *o, char *err, size_t cap)
{
    switch (opt) {
    case OPT_LOG_FILE:
        o->log_file = v;
        return *v ? 1 : args_fail(err, cap, "invalid --log-file", v);
    case OPT_LOG_LEVEL:
        return floe_log_level_parse(v, &o->log_level) < 0
                   ? args_fail(err, cap, "invalid --log-level (trace..error, off)", v)
                   : 1;
    case OPT_HELP:
        fputs(relayd_usage, stdout);
        return 2;
    case OPT_VERSION:
        printf("floe-relay %s\n", FLOE_VERSION_STRING);
        return 2;
    default:
        return 0;
    }
}

static int args_one(int opt, const char *v, struct relayd_opts *o, char *err, size_t cap)
{
    int rc = args_net(opt, v, o, err, cap);

    if (rc == 0)
        rc = args_core(opt, v, o, err, cap);
    if (rc == 0)
        rc = args_limits(opt, v, o, err, cap);
    if (rc == 0)
        rc = args_ops(opt, v, o, err, cap);
    return rc;
}

static bool args_is_wildcard(const struct floe_addr *a)
{
    static const uint8_t zero[16];

    return memcmp(a->ip, zero, 16) == 0;
}

/* Defaults that depend on other options, and the checks across options. */
static int args_finish(struct relayd_opts *o, char *err, size_t cap)
{
    size_t i;

    if (o->n_listen == 0)
        o->listen[o->n_listen++] = floe_addr_v4(0, 0, 0, 0, 3478);
    for (i = 0; i < o->n_listen && !o->relay_ip.family; i++) {
        if (o->listen[i].family == FLOE_AF_INET && !args_is_wildcard(&o->listen[i]))
            o->relay_ip = o->listen[i];
    }
    if (!o->relay_ip.family && !o->relay_ip6.family)
        return args_fail(err, cap, "no relayed address: give --relay-ip or a specific --listen",
                         "");
    if (!o->core.n_users && !o->core.auth_secret)
        return args_fail(err, cap, "no credentials: give --auth-secret or --user", "");
    if (o->threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        o->threads = cpus < 1                    ? 1u
                     : cpus > RELAYD_MAX_THREADS ? RELAYD_MAX_THREADS
                                                 : (unsigned)cpus;
    }
    if (o->port_max - o->port_min + 1u < o->threads)
        return args_fail(err, cap, "--relay-ports has fewer ports than --threads", "");
    o->relay_ip.port = 0;
    o->relay_ip6.port = 0;
    /* peer policy: the listening addresses are the relay's own; relay to relay on the range */
    _Static_assert(RELAYD_MAX_LISTEN == FLOE_RELAY_MAX_LISTEN, "one listen table");
    memcpy(o->core.listen, o->listen, sizeof(o->listen));
    o->core.n_listen = o->n_listen;
    o->core.relay_range_min = o->port_min;
    o->core.relay_range_max = o->port_max;
    return 0;
}

int relayd_parse_args(int argc, char **argv, struct relayd_opts *o, char *err, size_t cap)
{
    int opt, rc;

    memset(o, 0, sizeof(*o));
    floe_relay_config_default(&o->core);
    o->core.software = "floe-relay " FLOE_VERSION_STRING; /* --no-software clears it */
    o->port_min = o->core.port_min;
    o->port_max = o->core.port_max;
    o->log_level = FLOE_LOG_INFO;
    o->gro = true;
    o->linger_us = 50;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", relayd_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return args_fail(err, cap, "unknown option or missing value", argv[optind - 1]);
        rc = args_one(opt, optarg, o, err, cap);
        if (rc < 0)
            return rc;
        if (rc == 2)
            return 1;
    }
    if (optind < argc)
        return args_fail(err, cap, "unexpected argument", argv[optind]);
    return args_finish(o, err, cap);
}
