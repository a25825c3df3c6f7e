/*
 * `floe turn`: allocate on a TURN server, bind a channel to a peer, echo one
 * message through the relay and report the addresses and the round-trip time.
 * The protocol is the sans-IO client of src/turn; this file only moves its
 * datagrams over one UDP socket and reads the clock.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "floe/crypto.h"
#include "floe/relay.h"
#include "floe/turn.h"
#include "floe_io.h"
#include "json.h"
#include "jsonlog.h"

#define TURN_CMD_TARGET "floe::turn"

/* Everything one run holds. */
struct turn_cmd {
    const struct floe_cli_turn_opts *o;
    struct floe_jsonlog log;
    int fd;
    struct floe_turn *t;
    struct floe_addr server, peer, local, relayed, reflexive;
    floe_time deadline;
    const char *phase; /* what the run waits for, for the timeout message */
    bool failed;       /* an event ended the run; reported already */
    bool quiet;        /* a timeout is not worth a message (closing) */
    uint16_t channel;
    char probe[64];
    size_t probe_len;
    floe_time sent_at, rtt; /* rtt from the latest send of the probe */
    floe_time resend_at;    /* the probe again while no echo came: UDP loses it, or the peer */
    floe_time resend_every; /* was not listening yet; FLOE_TIME_NEVER outside the echo phase */
    bool echoed;
};

/* The probe's first resend after this, doubling up to TURN_CMD_RESEND_MAX. */
#define TURN_CMD_RESEND_MIN FLOE_MS(250)
#define TURN_CMD_RESEND_MAX FLOE_SEC(2)

static int turn_cmd_fail(int code, const char *fmt, ...) FLOE_PRINTF(2, 3);
static int turn_cmd_probe_out(struct turn_cmd *c);

static int turn_cmd_fail(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("floe turn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static const char *turn_cmd_addr(const struct floe_addr *a, char *buf, size_t cap)
{
    if (floe_addr_format(a, buf, cap) < 0)
        snprintf(buf, cap, "(none)");
    return buf;
}

int floe_cli_turn_rest_credentials(char *user, size_t user_cap, char *pass, size_t pass_cap,
                                   const char *secret, const char *id, int64_t unix_now)
{
    int n = snprintf(user, user_cap, "%lld:%s", (long long)(unix_now + FLOE_CLI_TURN_REST_TTL),
                     id ? id : "floe");

    if (n < 0 || (size_t)n >= user_cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    n = floe_turn_rest_password(pass, pass_cap, secret, user);
    return n < 0 ? n : 0;
}

static int turn_cmd_resolve(struct turn_cmd *c)
{
    int rc = floe_io_resolve(c->o->server, FLOE_AF_NONE, &c->server);

    if (rc == FLOE_ERR_ADDR_PARSE || (rc == 0 && c->server.port == 0))
        return turn_cmd_fail(FLOE_CLI_EXIT_USAGE, "invalid --server '%s' (expected ADDR:PORT)",
                             c->o->server);
    if (rc < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot resolve '%s'", c->o->server);
    rc = floe_io_resolve(c->o->peer, (enum floe_af)c->server.family, &c->peer);
    if (rc == FLOE_ERR_ADDR_PARSE || (rc == 0 && c->peer.port == 0))
        return turn_cmd_fail(FLOE_CLI_EXIT_USAGE, "invalid --peer '%s' (expected ADDR:PORT)",
                             c->o->peer);
    if (rc < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot resolve '%s' in the server's family",
                             c->o->peer);
    return FLOE_CLI_EXIT_OK;
}

static int turn_cmd_open(struct turn_cmd *c)
{
    memset(&c->local, 0, sizeof(c->local));
    c->local.family = c->server.family;
    c->fd = floe_io_udp_open(&c->local);
    if (c->fd < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot open a UDP socket: %s", strerror(errno));
    if (floe_io_udp_local(c->fd, &c->local) < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "getsockname: %s", strerror(errno));
    return FLOE_CLI_EXIT_OK;
}

/* The TURN client with the credentials of the options. */
static int turn_cmd_client(struct turn_cmd *c)
{
    struct floe_turn_config cfg;
    char user[FLOE_TURN_USERNAME_MAX + 1], pass[64];
    int rc;

    floe_turn_config_default(&cfg);
    cfg.rng = floe_crypto_rng();
    cfg.log = floe_jsonlog_hook(&c->log);
    cfg.server = c->server;
    cfg.software = FLOE_CLI_SOFTWARE;
    cfg.username = c->o->user;
    cfg.password = c->o->password;
    if (c->o->auth_secret) {
        if (floe_cli_turn_rest_credentials(user, sizeof(user), pass, sizeof(pass),
                                           c->o->auth_secret, c->o->user, time(NULL)) < 0)
            return turn_cmd_fail(FLOE_CLI_EXIT_USAGE, "cannot build REST credentials");
        cfg.username = user;
        cfg.password = pass;
    }
    rc = floe_turn_new(&c->t, &cfg);
    floe_wipe(pass, sizeof(pass));
    if (rc < 0)
        return turn_cmd_fail(rc == FLOE_ERR_INVALID_ARG ? FLOE_CLI_EXIT_USAGE : FLOE_CLI_EXIT_FAIL,
                             "cannot create the TURN client: %s (username or password too long?)",
                             floe_strerror(rc));
    return FLOE_CLI_EXIT_OK;
}

static const char *turn_cmd_method(uint16_t method)
{
    switch (method) {
    case FLOE_STUN_ALLOCATE:
        return "Allocate";
    case FLOE_STUN_REFRESH:
        return "Refresh";
    case FLOE_STUN_CREATE_PERMISSION:
        return "CreatePermission";
    case FLOE_STUN_CHANNEL_BIND:
        return "ChannelBind";
    default:
        return "Binding";
    }
}

/* One line saying why an error event ends the run. */
static void turn_cmd_error(struct turn_cmd *c, const struct floe_turn_event *ev)
{
    char s[FLOE_ADDR_STRLEN], p[FLOE_ADDR_STRLEN];

    turn_cmd_addr(&c->server, s, sizeof(s));
    turn_cmd_addr(&c->peer, p, sizeof(p));
    c->failed = true;
    if (ev->err == FLOE_ERR_TIMEOUT)
        turn_cmd_fail(1, "no response from %s to %s (is a TURN server listening there?)", s,
                      turn_cmd_method(ev->method));
    else if (ev->code == FLOE_TURN_ERR_UNAUTHORIZED || ev->code == FLOE_TURN_ERR_WRONG_CREDENTIALS)
        turn_cmd_fail(1,
                      "%s refused the credentials (%d %s): check --user and --password, "
                      "or --auth-secret",
                      s, ev->code, ev->reason);
    else if (ev->code == FLOE_TURN_ERR_QUOTA)
        turn_cmd_fail(1, "%s: allocation quota reached (%d %s)", s, ev->code, ev->reason);
    else if (ev->code == FLOE_TURN_ERR_FORBIDDEN)
        turn_cmd_fail(1, "%s refused the peer %s (%d %s): its peer policy forbids it", s, p,
                      ev->code, ev->reason);
    else if (ev->code)
        turn_cmd_fail(1, "%s answered %s with error %d %s", s, turn_cmd_method(ev->method),
                      ev->code, ev->reason);
    else
        turn_cmd_fail(1, "bad %s response from %s: %s", turn_cmd_method(ev->method), s, ev->reason);
}

static void turn_cmd_event(struct turn_cmd *c, const struct floe_turn_event *ev)
{
    struct floe_log_field f[] = {FLOE_LF_S("event", floe_turn_event_name(ev->kind)),
                                 FLOE_LF_A("addr", &ev->addr), FLOE_LF_A("relay", &ev->server)};

    floe_jsonlog_logf(&c->log, FLOE_LOG_INFO, TURN_CMD_TARGET, f, 3, "turn event");
    switch (ev->kind) {
    case FLOE_TURN_EV_CANDIDATE_NEW:
        if (ev->cand == FLOE_TURN_CAND_RELAYED)
            c->relayed = ev->addr;
        else
            c->reflexive = ev->addr;
        break;
    case FLOE_TURN_EV_CHANNEL_ESTABLISHED:
        c->channel = ev->channel;
        break;
    case FLOE_TURN_EV_ERROR:
        if (!c->failed)
            turn_cmd_error(c, ev);
        break;
    case FLOE_TURN_EV_ALLOCATION_LOST:
        if (!c->failed)
            turn_cmd_fail(1, "allocation lost: %s", ev->reason);
        c->failed = true;
        break;
    default:
        break;
    }
}

/* Send what the client has to send, then take its events. 0 or an exit code. */
static int turn_cmd_flush(struct turn_cmd *c)
{
    uint8_t buf[FLOE_TURN_TRANSMIT_MAX];
    struct floe_turn_event ev;
    struct floe_addr to;
    char a[FLOE_ADDR_STRLEN];
    long n;

    while ((n = floe_turn_poll_transmit(c->t, floe_io_now(), buf, sizeof(buf), &to)) > 0) {
        if (floe_io_udp_send(c->fd, &to, buf, (size_t)n) < 0)
            return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot send to %s: %s",
                                 turn_cmd_addr(&to, a, sizeof(a)), strerror(errno));
    }
    while (floe_turn_poll_event(c->t, &ev) == 1)
        turn_cmd_event(c, &ev);
    return c->failed ? FLOE_CLI_EXIT_FAIL : FLOE_CLI_EXIT_OK;
}

static void turn_cmd_input(struct turn_cmd *c, const uint8_t *buf, size_t len,
                           const struct floe_addr *from)
{
    struct floe_log_field f[] = {FLOE_LF_A("from", from)};
    struct floe_addr peer;
    struct floe_span data;
    floe_time now = floe_io_now();
    int rc = floe_turn_handle_input(c->t, now, from, buf, len, &peer, &data);

    if (rc == FLOE_TURN_INPUT_IGNORED) {
        floe_jsonlog_logf(&c->log, FLOE_LOG_DEBUG, TURN_CMD_TARGET, f, 1,
                          "dropped datagram not from the TURN server");
        return;
    }
    if (rc != FLOE_TURN_INPUT_DATA || c->echoed || !floe_addr_eq(&peer, &c->peer) ||
        data.len != c->probe_len || memcmp(data.ptr, c->probe, data.len) != 0)
        return;
    c->echoed = true;
    c->rtt = now - c->sent_at;
    c->resend_at = FLOE_TIME_NEVER;
}

/* Drive the client until done(c), a failure or the deadline. 0 or an exit code. */
static int turn_cmd_until(struct turn_cmd *c, bool (*done)(const struct turn_cmd *))
{
    uint8_t buf[2048];
    struct floe_addr from;
    char secs[32];
    long n;

    for (;;) {
        int rc = turn_cmd_flush(c);

        if (rc != FLOE_CLI_EXIT_OK)
            return rc;
        if (done(c))
            return FLOE_CLI_EXIT_OK;
        if (floe_io_now() >= c->resend_at && (rc = turn_cmd_probe_out(c)) != FLOE_CLI_EXIT_OK)
            return rc;
        if (floe_io_now() >= c->deadline && c->quiet)
            return FLOE_CLI_EXIT_FAIL;
        if (floe_io_now() >= c->deadline) {
            snprintf(secs, sizeof(secs), "%.1f", (double)c->o->timeout / 1e9);
            return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "timed out after %s s waiting for %s", secs,
                                 c->phase);
        }
        n = floe_io_udp_recv(
            c->fd, buf, sizeof(buf), &from,
            floe_time_min(floe_time_min(floe_turn_poll_timeout(c->t), c->deadline), c->resend_at));
        if (n == FLOE_ERR_TIMEOUT)
            floe_turn_handle_timeout(c->t, floe_io_now());
        else if (n < 0)
            return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "receive: %s", strerror(errno));
        else
            turn_cmd_input(c, buf, (size_t)n, &from);
    }
}

static bool turn_cmd_allocated(const struct turn_cmd *c)
{
    return floe_turn_get_state(c->t) == FLOE_TURN_ALLOCATED;
}

static bool turn_cmd_bound(const struct turn_cmd *c)
{
    return c->channel != 0;
}

static bool turn_cmd_echoed(const struct turn_cmd *c)
{
    return c->echoed;
}

static bool turn_cmd_closed(const struct turn_cmd *c)
{
    return floe_turn_get_state(c->t) == FLOE_TURN_IDLE;
}

/* Send the probe (again) to the peer through the channel; the next resend is due later. */
static int turn_cmd_probe_out(struct turn_cmd *c)
{
    uint8_t out[256];
    long n;

    c->sent_at = floe_io_now();
    c->resend_at = floe_time_add(c->sent_at, c->resend_every);
    c->resend_every = floe_time_min(c->resend_every * 2, TURN_CMD_RESEND_MAX);
    n = floe_turn_encapsulate(c->t, c->sent_at, &c->peer, (const uint8_t *)c->probe, c->probe_len,
                              out, sizeof(out));
    if (n < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot frame the probe: %s",
                             floe_strerror((int)n));
    if (n > 0 && floe_io_udp_send(c->fd, &c->server, out, (size_t)n) < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot send: %s", strerror(errno));
    return FLOE_CLI_EXIT_OK;
}

/* Draw the probe and send it; it goes again while no echo came (turn_cmd_until). */
static int turn_cmd_send_probe(struct turn_cmd *c)
{
    uint8_t rnd[8];

    if (floe_crypto_random(rnd, sizeof(rnd)) < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot draw random bytes");
    c->probe_len = (size_t)snprintf(c->probe, sizeof(c->probe),
                                    "floe turn probe %02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
                                    rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    c->resend_every = TURN_CMD_RESEND_MIN;
    return turn_cmd_probe_out(c);
}

/* Allocate, bind, echo: the exchange proper. */
static int turn_cmd_exchange(struct turn_cmd *c)
{
    int rc;

    c->deadline = floe_io_now() + c->o->timeout;
    c->resend_at = FLOE_TIME_NEVER;
    c->phase = "the allocation";
    if (floe_turn_allocate(c->t, floe_io_now()) < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot start the allocation");
    rc = turn_cmd_until(c, turn_cmd_allocated);
    if (rc == FLOE_CLI_EXIT_OK) {
        c->phase = "the channel binding";
        rc = floe_turn_bind_channel(c->t, floe_io_now(), &c->peer);
        if (rc < 0)
            return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot bind a channel to the peer: %s",
                                 floe_strerror(rc));
        rc = turn_cmd_until(c, turn_cmd_bound);
    }
    if (rc == FLOE_CLI_EXIT_OK) {
        c->phase = "the peer's echo";
        rc = turn_cmd_send_probe(c);
    }
    if (rc == FLOE_CLI_EXIT_OK)
        rc = turn_cmd_until(c, turn_cmd_echoed);
    c->resend_at = FLOE_TIME_NEVER;
    return rc;
}

/* Delete the allocation; waits at most a second for the answer. */
static void turn_cmd_close(struct turn_cmd *c)
{
    floe_time limit = floe_io_now() + FLOE_SEC(1);

    if (floe_turn_close(c->t, floe_io_now()) < 0)
        return;
    c->quiet = true;
    c->failed = false;
    if (c->deadline > limit)
        c->deadline = limit;
    (void)turn_cmd_until(c, turn_cmd_closed);
}

static void turn_cmd_print_human(const struct turn_cmd *c)
{
    char a[FLOE_ADDR_STRLEN];

    printf("server %s\n", turn_cmd_addr(&c->server, a, sizeof(a)));
    printf("relayed %s\n", turn_cmd_addr(&c->relayed, a, sizeof(a)));
    printf("reflexive %s\n", turn_cmd_addr(&c->reflexive, a, sizeof(a)));
    printf("peer %s\n", turn_cmd_addr(&c->peer, a, sizeof(a)));
    printf("channel 0x%04x\n", c->channel);
    printf("rtt %.3f ms\n", (double)c->rtt / 1e6);
}

static void turn_cmd_print_json(const struct turn_cmd *c)
{
    char buf[1024], num[64];
    struct floe_json_buf j;

    floe_json_init(&j, buf, sizeof(buf));
    floe_json_lit(&j, "{\"server\":");
    floe_json_addr(&j, &c->server);
    floe_json_lit(&j, ",\"local\":");
    floe_json_addr(&j, &c->local);
    floe_json_lit(&j, ",\"relayed\":");
    floe_json_addr(&j, &c->relayed);
    floe_json_lit(&j, ",\"reflexive\":");
    floe_json_addr(&j, c->reflexive.family ? &c->reflexive : NULL);
    floe_json_lit(&j, ",\"peer\":");
    floe_json_addr(&j, &c->peer);
    floe_json_lit(&j, ",\"channel\":");
    floe_json_uint(&j, c->channel);
    floe_json_lit(&j, ",\"rtt_ms\":");
    snprintf(num, sizeof(num), "%.3f", (double)c->rtt / 1e6);
    floe_json_lit(&j, num);
    floe_json_lit(&j, "}\n");
    if (floe_json_cstr(&j))
        fputs(buf, stdout);
}

int floe_cli_turn_run(const struct floe_cli_turn_opts *o)
{
    struct turn_cmd c;
    int code;

    memset(&c, 0, sizeof(c));
    c.o = o;
    c.fd = -1;
    c.resend_at = FLOE_TIME_NEVER;
    if (floe_jsonlog_open(&c.log, o->log_file, o->log_level) < 0)
        return turn_cmd_fail(FLOE_CLI_EXIT_FAIL, "cannot open log file '%s': %s", o->log_file,
                             strerror(errno));
    code = turn_cmd_resolve(&c);
    if (code == FLOE_CLI_EXIT_OK)
        code = turn_cmd_open(&c);
    if (code == FLOE_CLI_EXIT_OK)
        code = turn_cmd_client(&c);
    if (code == FLOE_CLI_EXIT_OK)
        code = turn_cmd_exchange(&c);
    if (code == FLOE_CLI_EXIT_OK && o->json)
        turn_cmd_print_json(&c);
    else if (code == FLOE_CLI_EXIT_OK)
        turn_cmd_print_human(&c);
    if (c.t && floe_turn_get_state(c.t) == FLOE_TURN_ALLOCATED)
        turn_cmd_close(&c);
    floe_turn_free(c.t);
    floe_io_close(c.fd);
    floe_jsonlog_close(&c.log);
    return code;
}
