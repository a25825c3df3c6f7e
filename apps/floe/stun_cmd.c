/* `floe stun`: one Binding transaction against a server over UDP. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "floe/crypto.h"
#include "floe_io.h"
#include "json.h"
#include "jsonlog.h"

#define STUN_CMD_TARGET "floe::stun"

/* Everything one run holds. */
struct stun_cmd {
    const struct floe_cli_stun_opts *o;
    struct floe_jsonlog log;
    int fd;
    struct floe_stun_txn txn;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    uint8_t req[128];
    size_t req_len;
    struct floe_cli_stun_result r;
    const char *last_drop; /* why the last datagram was dropped, for the timeout message */
};

static int stun_cmd_fail(int code, const char *fmt, ...) FLOE_PRINTF(2, 3);

static int stun_cmd_fail(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("floe stun: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* Seconds for messages: "2.0", "0.25", "1.5". */
static void stun_cmd_secs(char *buf, size_t cap, floe_time t)
{
    if (t % FLOE_MS(100) == 0)
        snprintf(buf, cap, "%.1f", (double)t / 1e9);
    else
        snprintf(buf, cap, "%.3f", (double)t / 1e9);
}

static const char *stun_cmd_addr(const struct floe_addr *a, char *buf, size_t cap)
{
    if (floe_addr_format(a, buf, cap) < 0)
        snprintf(buf, cap, "(none)");
    return buf;
}

/* Resolve --source (if any) and the server, the server in the source's family. */
static int stun_cmd_resolve(struct stun_cmd *c)
{
    const struct floe_cli_stun_opts *o = c->o;
    enum floe_af family = o->family;
    int rc;

    memset(&c->r.local, 0, sizeof(c->r.local));
    if (o->source) {
        if (floe_io_resolve(o->source, family, &c->r.local) < 0)
            return stun_cmd_fail(FLOE_CLI_EXIT_USAGE,
                                 "invalid --source '%s' (expected ADDR:PORT)", o->source);
        family = (enum floe_af)c->r.local.family;
    }
    rc = floe_io_resolve(o->server, family, &c->r.server);
    if (rc == FLOE_ERR_ADDR_PARSE || (rc == 0 && c->r.server.port == 0))
        return stun_cmd_fail(FLOE_CLI_EXIT_USAGE,
                             "invalid server address '%s' (expected HOST:PORT or [IPv6]:PORT)",
                             o->server);
    if (rc < 0 && family != FLOE_AF_NONE && floe_addr_parse(o->server, &c->r.server) == 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_USAGE,
                             "server '%s' is not of the address family of -4, -6 or --source",
                             o->server);
    if (rc < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot resolve '%s'%s", o->server,
                             family != FLOE_AF_NONE ? " in the wanted address family" : "");
    if (!o->source)
        c->r.local.family = c->r.server.family;
    return FLOE_CLI_EXIT_OK;
}

static int stun_cmd_open(struct stun_cmd *c)
{
    char a[FLOE_ADDR_STRLEN];
    long n;

    c->fd = floe_io_udp_open(&c->r.local);
    if (c->fd < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot bind UDP socket to %s: %s",
                             stun_cmd_addr(&c->r.local, a, sizeof(a)), strerror(errno));
    if (floe_io_udp_local(c->fd, &c->r.local) < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "getsockname: %s", strerror(errno));
    if (floe_crypto_random(c->txid, sizeof(c->txid)) < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot draw a random transaction id");
    n = floe_cli_stun_build_request(c->req, sizeof(c->req), c->txid);
    if (n < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot build the request: %s",
                             floe_strerror((int)n));
    c->req_len = (size_t)n;
    return FLOE_CLI_EXIT_OK;
}

static int stun_cmd_send(struct stun_cmd *c)
{
    struct floe_log_field f[] = {
        FLOE_LF_A("server", &c->r.server),
        FLOE_LF_U("attempt", c->txn.sends),
        FLOE_LF_U("rto_ms", c->txn.rto / FLOE_MS(1)),
    };
    char a[FLOE_ADDR_STRLEN];

    floe_jsonlog_logf(&c->log, FLOE_LOG_DEBUG, STUN_CMD_TARGET, f, sizeof(f) / sizeof(f[0]),
                      c->txn.sends > 1 ? "retransmitting binding request"
                                       : "sending binding request");
    if (floe_io_udp_send(c->fd, &c->r.server, c->req, c->req_len) < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot send to %s: %s",
                             stun_cmd_addr(&c->r.server, a, sizeof(a)), strerror(errno));
    return FLOE_CLI_EXIT_OK;
}

static void stun_cmd_drop(struct stun_cmd *c, const struct floe_addr *from, const char *why)
{
    struct floe_log_field f[] = {FLOE_LF_A("from", from), FLOE_LF_S("reason", why)};

    c->last_drop = why;
    floe_jsonlog_logf(&c->log, FLOE_LOG_DEBUG, STUN_CMD_TARGET, f, 2, "dropped datagram");
}

/* Wait until deadline for the answer: 1 answered, 0 nothing yet, FLOE_ERR_IO (reported). */
static int stun_cmd_wait(struct stun_cmd *c, floe_time deadline)
{
    uint8_t buf[1500];
    struct floe_addr from;
    const char *why = NULL;
    long n = floe_io_udp_recv(c->fd, buf, sizeof(buf), &from, deadline);

    if (n == FLOE_ERR_TIMEOUT)
        return 0;
    if (n < 0) {
        stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "receive: %s", strerror(errno));
        return FLOE_ERR_IO;
    }
    if (!floe_addr_eq(&from, &c->r.server)) {
        stun_cmd_drop(c, &from, "not from the server");
        return 0;
    }
    if (floe_cli_stun_offer(&c->txn, floe_io_now(), buf, (size_t)n, &c->r, &why))
        return 1;
    stun_cmd_drop(c, &from, why);
    return 0;
}

static int stun_cmd_exchange(struct stun_cmd *c)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    int rc;

    /* The RFC 8489 schedule, the whole exchange bounded by --timeout. */
    cfg.give_up_after = c->o->timeout;
    floe_stun_txn_start(&c->txn, &cfg, c->txid, floe_io_now());
    for (;;) {
        floe_stun_txn_handle_timeout(&c->txn, floe_io_now());
        if (floe_stun_txn_is_timed_out(&c->txn))
            return FLOE_ERR_TIMEOUT;
        if (floe_stun_txn_poll_transmit(&c->txn, floe_io_now()) && stun_cmd_send(c) != 0)
            return FLOE_ERR_IO; /* reported by stun_cmd_send */
        rc = stun_cmd_wait(c, floe_stun_txn_poll_timeout(&c->txn));
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* SOFTWARE is peer input: keep printable ASCII and valid UTF-8 text, '?' for the rest. */
static void stun_cmd_sanitize(char *s)
{
    size_t i, n = strlen(s), seq;

    for (i = 0; i < n; i += seq) {
        uint8_t c = (uint8_t)s[i];

        seq = floe_json_utf8_seq((const uint8_t *)s + i, n - i);
        if (seq == 0 || c < 0x20 || c == 0x7F || (c == 0xC2 && (uint8_t)s[i + 1] < 0xA0)) {
            s[i] = '?';
            seq = 1;
        }
    }
}

static void stun_cmd_print_human(const struct floe_cli_stun_result *r)
{
    char a[FLOE_ADDR_STRLEN];

    printf("server %s\n", stun_cmd_addr(&r->server, a, sizeof(a)));
    printf("reflexive %s\n", stun_cmd_addr(&r->reflexive, a, sizeof(a)));
    printf("local %s\n", stun_cmd_addr(&r->local, a, sizeof(a)));
    if (r->rtt != FLOE_TIME_NEVER)
        printf("rtt %.3f ms\n", (double)r->rtt / 1e6);
    else
        printf("rtt unknown (request sent %u times)\n", r->sends);
    if (r->has_software)
        printf("software %s\n", r->software);
}

static void stun_cmd_print_json(const struct floe_cli_stun_result *r)
{
    char buf[2048], num[64];
    struct floe_json_buf j;

    floe_json_init(&j, buf, sizeof(buf));
    floe_json_lit(&j, "{\"server\":");
    floe_json_addr(&j, &r->server);
    floe_json_lit(&j, ",\"reflexive\":");
    floe_json_addr(&j, &r->reflexive);
    floe_json_lit(&j, ",\"local\":");
    floe_json_addr(&j, &r->local);
    floe_json_lit(&j, ",\"rtt_ms\":");
    snprintf(num, sizeof(num), "%.3f", (double)r->rtt / 1e6);
    floe_json_lit(&j, r->rtt != FLOE_TIME_NEVER ? num : "null");
    floe_json_lit(&j, ",\"sends\":");
    floe_json_uint(&j, r->sends);
    floe_json_lit(&j, ",\"software\":");
    floe_json_cstr_value(&j, r->has_software ? r->software : NULL);
    floe_json_lit(&j, "}\n");
    if (floe_json_cstr(&j))
        fputs(buf, stdout);
}

/* Exit code and message for how the exchange ended; prints the result on success. */
static int stun_cmd_report(struct stun_cmd *c, int rc)
{
    char a[FLOE_ADDR_STRLEN], secs[32], drop[160] = "";

    stun_cmd_addr(&c->r.server, a, sizeof(a));
    stun_cmd_secs(secs, sizeof(secs), c->o->timeout);
    if (c->last_drop)
        snprintf(drop, sizeof(drop), " (last datagram dropped: %s)", c->last_drop);
    if (rc == FLOE_ERR_TIMEOUT)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "no response from %s within %s s%s", a, secs,
                             drop);
    if (rc < 0)
        return FLOE_CLI_EXIT_FAIL; /* the failing call said why */
    stun_cmd_sanitize(c->r.software);
    stun_cmd_sanitize(c->r.reason);
    if (c->r.error_code)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "%s answered error %d %s", a,
                             c->r.error_code, c->r.reason);
    if (c->r.problem)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "bad response from %s: %s", a, c->r.problem);
    if (c->o->json)
        stun_cmd_print_json(&c->r);
    else
        stun_cmd_print_human(&c->r);
    return FLOE_CLI_EXIT_OK;
}

int floe_cli_stun_run(const struct floe_cli_stun_opts *o)
{
    struct stun_cmd c;
    int code;

    memset(&c, 0, sizeof(c));
    c.o = o;
    c.fd = -1;
    c.r.rtt = FLOE_TIME_NEVER;
    if (floe_jsonlog_open(&c.log, o->log_file, o->log_level) < 0)
        return stun_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot open log file '%s': %s",
                             o->log_file, strerror(errno));
    code = stun_cmd_resolve(&c);
    if (code == FLOE_CLI_EXIT_OK)
        code = stun_cmd_open(&c);
    if (code == FLOE_CLI_EXIT_OK)
        code = stun_cmd_report(&c, stun_cmd_exchange(&c));
    floe_io_close(c.fd);
    floe_jsonlog_close(&c.log);
    return code;
}
