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
    "  --external-ip PUBLIC[/PRIVATE]\n"
    "                            behind a 1:1 NAT (cloud hosts): relayed addresses are\n"
    "                            advertised with PUBLIC while the sockets bind the relay\n"
    "                            address of that family (PRIVATE, which then stands for\n"
    "                            --relay-ip or --relay-ip6); once per family\n"
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
    "Authentication (at least one secret or user):\n"
    "  --realm REALM             the realm (default floe)\n"
    "  --auth-secret-file PATH   coturn-compatible time-limited credentials: username\n"
    "                            EXPIRY:ID, password base64(HMAC-SHA1(SECRET, username)),\n"
    "                            SECRET read from PATH (trailing newline dropped);\n"
    "                            re-read on SIGHUP. Also: the environment variable\n"
    "                            FLOE_RELAY_AUTH_SECRET, or --auth-secret SECRET (both\n"
    "                            wiped from the process once read; ps shows no secret)\n"
    "  --users-file PATH         static long-term users, one NAME:PASSWORD a line (#\n"
    "                            comments); re-read on SIGHUP\n"
    "  --user NAME:PASSWORD      a static long-term user (repeatable; password wiped\n"
    "                            from the process once read)\n"
    "  --secret-grace SECONDS    after SIGHUP changed the secret, the previous one is\n"
    "                            still accepted this long (default 3600; 0-604800)\n"
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
    "  --user-quota N            live allocations per user, across all threads\n"
    "                            (default 128; 0 unlimited)\n"
    "  --client-quota N          live allocations per client IP, across all threads\n"
    "                            (default 256; 0 unlimited)\n"
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
    "Signals: SIGTERM or SIGINT stop the relay cleanly; SIGHUP reopens the log file and\n"
    "re-reads --auth-secret-file and --users-file (allocations are kept).\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when it cannot start, 2 for a usage error.\n";

enum relayd_opt {
    OPT_LISTEN = 256,
    OPT_RELAY_IP,
    OPT_RELAY_IP6,
    OPT_RELAY_PORTS,
    OPT_EXTERNAL_IP,
    OPT_THREADS,
    OPT_NO_GRO,
    OPT_IO,
    OPT_LINGER,
    OPT_REALM,
    OPT_AUTH_SECRET,
    OPT_AUTH_SECRET_FILE,
    OPT_USERS_FILE,
    OPT_SECRET_GRACE,
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
    {"external-ip", required_argument, NULL, OPT_EXTERNAL_IP},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"no-gro", no_argument, NULL, OPT_NO_GRO},
    {"io", required_argument, NULL, OPT_IO},
    {"linger-us", required_argument, NULL, OPT_LINGER},
    {"realm", required_argument, NULL, OPT_REALM},
    {"auth-secret", required_argument, NULL, OPT_AUTH_SECRET},
    {"auth-secret-file", required_argument, NULL, OPT_AUTH_SECRET_FILE},
    {"users-file", required_argument, NULL, OPT_USERS_FILE},
    {"secret-grace", required_argument, NULL, OPT_SECRET_GRACE},
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

static bool args_is_wildcard(const struct floe_addr *a)
{
    static const uint8_t zero[16];

    return memcmp(a->ip, zero, 16) == 0;
}

/* --external-ip PUBLIC[/PRIVATE]: both of one family, once per family. */
static int args_external(const char *s, struct relayd_opts *o)
{
    struct floe_addr pub, priv;
    char buf[128], *slash;
    int f;

    if (strlen(s) >= sizeof(buf))
        return FLOE_ERR_INVALID_ARG;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (floe_addr_parse_ip(buf, &pub) < 0 || args_is_wildcard(&pub))
        return FLOE_ERR_INVALID_ARG;
    memset(&priv, 0, sizeof(priv));
    if (slash && (floe_addr_parse_ip(slash + 1, &priv) < 0 || priv.family != pub.family ||
                  args_is_wildcard(&priv)))
        return FLOE_ERR_INVALID_ARG;
    f = pub.family == FLOE_AF_INET6;
    if ((f ? o->core.external_v6 : o->core.external_v4).family)
        return FLOE_ERR_INVALID_ARG;
    pub.port = 0;
    priv.port = 0;
    *(f ? &o->core.external_v6 : &o->core.external_v4) = pub;
    o->external_private[f] = priv;
    return 0;
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
    case OPT_EXTERNAL_IP:
        return args_external(v, o) < 0
                   ? args_fail(err, cap,
                               "invalid --external-ip (PUBLIC[/PRIVATE], one family, once each)", v)
                   : 1;
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
        if (!*v || strlen(v) >= sizeof(o->secret_buf) || o->secret_file)
            return args_fail(err, cap, "invalid --auth-secret (or given with --auth-secret-file)",
                             "");
        strcpy(o->secret_buf, v);
        c->auth_secret = o->secret_buf;
        return 1;
    case OPT_AUTH_SECRET_FILE:
        if (!*v || c->auth_secret)
            return args_fail(err, cap, "invalid --auth-secret-file (or given with --auth-secret)",
                             v);
        o->secret_file = v;
        return 1;
    case OPT_USERS_FILE:
        o->users_file = v;
        return *v ? 1 : args_fail(err, cap, "invalid --users-file", v);
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

    if (opt == OPT_SECRET_GRACE) {
        if (args_uint(v, 604800, &o->secret_grace) < 0)
            return args_fail(err, cap, "invalid --secret-grace (0-604800 seconds)", v);
        return 1;
    }
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

/* --external-ip's PRIVATE addresses are the relayed addresses; an explicit other one is an error.
 */
static int args_external_private(struct relayd_opts *o)
{
    struct floe_addr *relay[2] = {&o->relay_ip, &o->relay_ip6};
    int f;

    for (f = 0; f < 2; f++) {
        if (!o->external_private[f].family)
            continue;
        if (relay[f]->family && !floe_addr_ip_eq(relay[f], &o->external_private[f]))
            return FLOE_ERR_INVALID_ARG;
        *relay[f] = o->external_private[f];
    }
    return 0;
}

/*
 * The secret from --auth-secret-file or FLOE_RELAY_AUTH_SECRET, users from --users-file
 * after the --user ones; at least one secret or user. 0, or <0 with err set.
 */
static int args_credentials(struct relayd_opts *o, char *err, size_t cap)
{
    static struct relayd_creds file; /* only parsed at start, one thread */
    const char *env = getenv(RELAYD_SECRET_ENV);
    size_t i;

    o->n_cli_users = o->core.n_users;
    if (o->secret_file &&
        relayd_read_secret_file(o->secret_file, o->secret_buf, sizeof(o->secret_buf), err, cap) < 0)
        return FLOE_ERR_INVALID_ARG;
    if (!o->secret_file && !o->core.auth_secret && env && *env) {
        if (strlen(env) >= sizeof(o->secret_buf))
            return args_fail(err, cap, RELAYD_SECRET_ENV " is too long", "");
        strcpy(o->secret_buf, env);
    }
    if (o->secret_buf[0])
        o->core.auth_secret = o->secret_buf;
    memset(&file, 0, sizeof(file));
    if (o->users_file && relayd_read_users_file(o->users_file, &file, err, cap) < 0)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < file.n_users; i++) {
        char line[sizeof(file.user_buf[0])];
        int rc;

        snprintf(line, sizeof(line), "%s:%s", file.users[i].name, file.users[i].password);
        rc = args_user(line, o);
        floe_wipe(line, sizeof(line));
        if (rc < 0)
            return args_fail(err, cap, "--users-file: too many users", o->users_file);
    }
    floe_wipe(&file, sizeof(file));
    if (!o->core.n_users && !o->core.auth_secret)
        return args_fail(err, cap,
                         "no credentials: give --auth-secret-file, " RELAYD_SECRET_ENV
                         ", --users-file or --user",
                         "");
    return 0;
}

/* Defaults that depend on other options, and the checks across options. */
static int args_finish(struct relayd_opts *o, char *err, size_t cap)
{
    size_t i;

    if (o->n_listen == 0)
        o->listen[o->n_listen++] = floe_addr_v4(0, 0, 0, 0, 3478);
    if (args_external_private(o) < 0)
        return args_fail(err, cap, "--external-ip PRIVATE differs from --relay-ip/--relay-ip6", "");
    for (i = 0; i < o->n_listen && !o->relay_ip.family; i++) {
        if (o->listen[i].family == FLOE_AF_INET && !args_is_wildcard(&o->listen[i]))
            o->relay_ip = o->listen[i];
    }
    if (!o->relay_ip.family && !o->relay_ip6.family)
        return args_fail(err, cap, "no relayed address: give --relay-ip or a specific --listen",
                         "");
    if ((o->core.external_v4.family && !o->relay_ip.family) ||
        (o->core.external_v6.family && !o->relay_ip6.family))
        return args_fail(err, cap,
                         "--external-ip PUBLIC needs a relayed address of its family to bind "
                         "(PUBLIC/PRIVATE, --relay-ip, --relay-ip6 or a specific --listen)",
                         "");
    if (args_credentials(o, err, cap) < 0)
        return FLOE_ERR_INVALID_ARG;
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
    o->core.max_allocations_per_user = RELAYD_DEFAULT_USER_QUOTA;
    o->core.max_allocations_per_client = RELAYD_DEFAULT_CLIENT_QUOTA;
    o->core.software = "floe-relay " FLOE_VERSION_STRING; /* --no-software clears it */
    o->port_min = o->core.port_min;
    o->port_max = o->core.port_max;
    o->log_level = FLOE_LOG_INFO;
    o->gro = true;
    o->linger_us = 50;
    o->secret_grace = RELAYD_DEFAULT_SECRET_GRACE;
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
