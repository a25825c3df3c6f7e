/* floe-portal's serving command line (the admin verbs have their own, in admin*.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portald.h"

static const char portald_usage_text[] =
    "usage: floe-portal [OPTIONS]            serve Clients and Gateways\n"
    "       floe-portal admin COMMAND ...    manage sites, users, resources (admin --help)\n"
    "\n"
    "The control plane of floe: Clients and Gateways hold a WebSocket (Phoenix channels,\n"
    "docs/protocol.md) to it; it hands out tunnel addresses, resources, relays with TURN REST\n"
    "credentials, and carries connection intents and ICE candidates between them.\n"
    "Runs in the foreground; logs JSON Lines to stderr or --log-file.\n"
    "\n"
    "Serving:\n"
    "  --listen ADDR:PORT        accept WebSocket, /metrics and /healthz here (default\n"
    "                            " PORTALD_DEFAULT_LISTEN ")\n"
    "  --database URL            sqlite:PATH (default " PORTALD_DEFAULT_DATABASE ")\n"
    "                            or postgresql://... for several instances sharing one\n"
    "                            database (LISTEN/NOTIFY between them)\n"
    "  --tls-cert PATH           PEM certificate chain (wss:// and https://)\n"
    "  --tls-key PATH            PEM private key of --tls-cert\n"
    "  --insecure                plain ws:// and http:// without TLS; only on a loopback\n"
    "                            --listen address (tests, a local reverse proxy)\n"
    "  --instance ID             this instance's id in presence rows and messages between\n"
    "                            instances: a-z, 0-9, _ (default: HOSTNAME_PID)\n"
    "\n"
    "Limits:\n"
    "  --max-connections N       TCP connections at once (default 16384; 1-1000000)\n"
    "  --max-frame BYTES         largest WebSocket message (default 1048576; 1024-16777216)\n"
    "  --token-rate N[/BURST]    messages per second per device token (default 50/200;\n"
    "                            0 unlimited); excess messages are dropped and counted\n"
    "  --addr-rate N[/BURST]     new connections per second per source address (default\n"
    "                            20/100; 0 unlimited); excess connections are closed\n"
    "  --handshake-timeout MS    TLS and HTTP upgrade must finish within MS (default 10000)\n"
    "  --idle-timeout MS         close a connection that sent nothing for MS with 1008 \"idle\"\n"
    "                            (default 60000; 1000-3600000; agents heartbeat every 10 s)\n"
    "\n"
    "Relays and authorizations:\n"
    "  --relay-check-ms MS       STUN Binding health check of each relay every MS (default\n"
    "                            10000; 100-3600000); two unanswered checks: relay down\n"
    "  --credential-ttl SECONDS  lifetime of the TURN REST credentials handed out\n"
    "                            (default 86400; 60-2592000)\n"
    "  --authz-ttl SECONDS       lifetime of an authorization, renewed while the client is\n"
    "                            online and a policy allows it (default 28800; 4-2592000)\n"
    "  --candidate-cache SECONDS a device's candidates go only to devices it shares a live\n"
    "                            authorization with: how long one found live is taken as known\n"
    "                            (default 30; 0-300; 0: the database for every message)\n"
    "\n"
    "Operations:\n"
    "  --log-file PATH           append JSON Lines logs to PATH (SIGHUP reopens it)\n"
    "  --log-level LEVEL         trace, debug, info (default), warn, error, off\n"
    "  --help                    this text\n"
    "  --version                 the version\n"
    "\n"
    "HTTP on the same port: GET /healthz (200 \"ok\" when the database answers, else 503),\n"
    "GET /metrics (Prometheus text). WebSocket: GET /client or /gateway (also /socket/...)\n"
    "with Authorization: Bearer TOKEN or ?token=TOKEN; a wrong token gets 401.\n"
    "\n"
    "Signals: SIGTERM or SIGINT close every WebSocket with 1001 (going away) and stop;\n"
    "SIGHUP reopens the log file.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when it cannot start (listen, TLS files, database,\n"
    "log file), 2 for a usage error.\n";

enum portald_opt {
    OPT_LISTEN = 256,
    OPT_DATABASE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_INSECURE,
    OPT_INSTANCE,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_FRAME,
    OPT_TOKEN_RATE,
    OPT_ADDR_RATE,
    OPT_HANDSHAKE,
    OPT_IDLE,
    OPT_RELAY_CHECK,
    OPT_CREDENTIAL_TTL,
    OPT_AUTHZ_TTL,
    OPT_PEER_CACHE,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option portald_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"database", required_argument, NULL, OPT_DATABASE},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"instance", required_argument, NULL, OPT_INSTANCE},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"token-rate", required_argument, NULL, OPT_TOKEN_RATE},
    {"addr-rate", required_argument, NULL, OPT_ADDR_RATE},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"relay-check-ms", required_argument, NULL, OPT_RELAY_CHECK},
    {"credential-ttl", required_argument, NULL, OPT_CREDENTIAL_TTL},
    {"authz-ttl", required_argument, NULL, OPT_AUTHZ_TTL},
    {"candidate-cache", required_argument, NULL, OPT_PEER_CACHE},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

const char *portald_usage(void)
{
    return portald_usage_text;
}

static void portald_defaults(struct portald_opts *o)
{
    memset(o, 0, sizeof(*o));
    (void)floe_addr_parse(PORTALD_DEFAULT_LISTEN, &o->listen);
    snprintf(o->database, sizeof(o->database), "%s", PORTALD_DEFAULT_DATABASE);
    o->max_connections = PORTALD_DEFAULT_MAX_CONNECTIONS;
    o->max_frame = PORTALD_DEFAULT_MAX_FRAME;
    o->token_rate = PORTALD_DEFAULT_TOKEN_RATE;
    o->token_burst = PORTALD_DEFAULT_TOKEN_BURST;
    o->addr_rate = PORTALD_DEFAULT_ADDR_RATE;
    o->addr_burst = PORTALD_DEFAULT_ADDR_BURST;
    o->relay_check_ms = PORTALD_DEFAULT_RELAY_CHECK_MS;
    o->credential_ttl = PORTALD_DEFAULT_CREDENTIAL_TTL;
    o->authz_ttl = PORTALD_DEFAULT_AUTHZ_TTL;
    o->peer_cache = PORTALD_DEFAULT_PEER_CACHE;
    o->handshake_ms = PORTALD_DEFAULT_HANDSHAKE_MS;
    o->idle_ms = PORTALD_DEFAULT_IDLE_MS;
    o->log_level = FLOE_LOG_INFO;
}

/* A decimal in [lo, hi]; false on anything else. */
static bool portald_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "N" or "N/BURST": a rate and its burst (default 4 N, at least 1). */
static bool portald_parse_rate(const char *s, uint32_t *rate, uint32_t *burst)
{
    char buf[64];
    char *slash;

    if (strlen(s) >= sizeof(buf))
        return false;
    memcpy(buf, s, strlen(s) + 1);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (!portald_parse_u32(buf, 0, 1000000, rate))
        return false;
    if (slash)
        return portald_parse_u32(slash + 1, *rate ? 1 : 0, 10000000, burst);
    *burst = *rate * 4;
    return true;
}

/* "sqlite:PATH", "postgresql://..." or "postgres://...". */
static bool portald_database_ok(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return url[7] != '\0';
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

static bool portald_is_loopback(const struct floe_addr *a)
{
    static const uint8_t v6_loop[16] = {[15] = 1};

    if (a->family == FLOE_AF_INET)
        return a->ip[0] == 127;
    return a->family == FLOE_AF_INET6 && memcmp(a->ip, v6_loop, 16) == 0;
}

#define PORTALD_ERR(...) (snprintf(err, cap, __VA_ARGS__), FLOE_ERR_INVALID_ARG)

static int portald_opt_limits(struct portald_opts *o, int c, const char *v, char *err, size_t cap)
{
    switch (c) {
    case OPT_MAX_CONNECTIONS:
        if (!portald_parse_u32(v, 1, 1000000, &o->max_connections))
            return PORTALD_ERR("--max-connections: expected 1-1000000, got '%s'", v);
        return 0;
    case OPT_MAX_FRAME:
        if (!portald_parse_u32(v, 1024, 16777216, &o->max_frame))
            return PORTALD_ERR("--max-frame: expected 1024-16777216 bytes, got '%s'", v);
        return 0;
    case OPT_TOKEN_RATE:
        if (!portald_parse_rate(v, &o->token_rate, &o->token_burst))
            return PORTALD_ERR("--token-rate: expected N or N/BURST, got '%s'", v);
        return 0;
    case OPT_ADDR_RATE:
        if (!portald_parse_rate(v, &o->addr_rate, &o->addr_burst))
            return PORTALD_ERR("--addr-rate: expected N or N/BURST, got '%s'", v);
        return 0;
    case OPT_HANDSHAKE:
        if (!portald_parse_u32(v, 100, 600000, &o->handshake_ms))
            return PORTALD_ERR("--handshake-timeout: expected 100-600000 ms, got '%s'", v);
        return 0;
    case OPT_IDLE:
        if (!portald_parse_u32(v, 1000, 3600000, &o->idle_ms))
            return PORTALD_ERR("--idle-timeout: expected 1000-3600000 ms, got '%s'", v);
        return 0;
    case OPT_RELAY_CHECK:
        if (!portald_parse_u32(v, 100, 3600000, &o->relay_check_ms))
            return PORTALD_ERR("--relay-check-ms: expected 100-3600000, got '%s'", v);
        return 0;
    case OPT_CREDENTIAL_TTL:
        if (!portald_parse_u32(v, 60, 2592000, &o->credential_ttl))
            return PORTALD_ERR("--credential-ttl: expected 60-2592000 seconds, got '%s'", v);
        return 0;
    case OPT_AUTHZ_TTL:
        if (!portald_parse_u32(v, 4, 2592000, &o->authz_ttl))
            return PORTALD_ERR("--authz-ttl: expected 4-2592000 seconds, got '%s'", v);
        return 0;
    case OPT_PEER_CACHE:
        if (!portald_parse_u32(v, 0, 300, &o->peer_cache))
            return PORTALD_ERR("--candidate-cache: expected 0-300 seconds, got '%s'", v);
        return 0;
    }
    return PORTALD_ERR("unknown option");
}

static int portald_opt_serving(struct portald_opts *o, int c, const char *v, char *err, size_t cap)
{
    switch (c) {
    case OPT_LISTEN:
        if (floe_addr_parse(v, &o->listen) < 0 || o->listen.port == 0)
            return PORTALD_ERR("--listen: expected ADDR:PORT (IPv6 as [ADDR]:PORT), got '%s'", v);
        return 0;
    case OPT_DATABASE:
        if (strlen(v) >= sizeof(o->database) || !portald_database_ok(v))
            return PORTALD_ERR("--database: expected sqlite:PATH or postgresql://..., got '%s'", v);
        memcpy(o->database, v, strlen(v) + 1);
        return 0;
    case OPT_INSTANCE:
        if (!*v || strlen(v) >= sizeof(o->instance) - 16 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v))
            return PORTALD_ERR("--instance: expected 1-%d of a-z, 0-9 and _, got '%s'",
                               PORTALD_ID_MAX - 17, v);
        memcpy(o->instance, v, strlen(v) + 1);
        return 0;
    case OPT_LOG_LEVEL:
        if (floe_log_level_parse(v, &o->log_level) < 0)
            return PORTALD_ERR("--log-level: expected trace, debug, info, warn, error or off");
        return 0;
    }
    return portald_opt_limits(o, c, v, err, cap);
}

/* The combinations: TLS files together, and plain ws:// only when asked and on loopback. */
static int portald_check(const struct portald_opts *o, char *err, size_t cap)
{
    if (!o->tls_cert != !o->tls_key)
        return PORTALD_ERR("--tls-cert and --tls-key go together");
    if (o->insecure && o->tls_cert)
        return PORTALD_ERR("--insecure and --tls-cert exclude each other");
    if (!o->insecure && !o->tls_cert)
        return PORTALD_ERR("TLS needs --tls-cert and --tls-key (or --insecure on loopback)");
    if (o->insecure && !portald_is_loopback(&o->listen))
        return PORTALD_ERR("--insecure (plain ws://) is refused on a non-loopback --listen "
                           "address; use --tls-cert/--tls-key");
    return 0;
}

int portald_parse_args(int argc, char **argv, struct portald_opts *o, char *err, size_t cap)
{
    int c, rc;

    portald_defaults(o);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", portald_options, NULL)) != -1) {
        if (c == OPT_HELP) {
            fputs(portald_usage_text, stdout);
            return 1;
        }
        if (c == OPT_VERSION) {
            printf("floe-portal %s\n", FLOE_VERSION_STRING);
            return 1;
        }
        if (c == '?' || c == ':')
            return PORTALD_ERR("%s option '%s'", c == ':' ? "missing value for" : "unknown",
                               argv[optind - 1]);
        rc = 0;
        if (c == OPT_TLS_CERT)
            o->tls_cert = optarg;
        else if (c == OPT_TLS_KEY)
            o->tls_key = optarg;
        else if (c == OPT_INSECURE)
            o->insecure = true;
        else if (c == OPT_LOG_FILE)
            o->log_file = optarg;
        else
            rc = portald_opt_serving(o, c, optarg, err, cap);
        if (rc < 0)
            return rc;
    }
    if (optind < argc)
        return PORTALD_ERR("unexpected argument '%s'", argv[optind]);
    return portald_check(o, err, cap);
}
