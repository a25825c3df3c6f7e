/*
 * The portal wire transport object: configuration, life, buffers, events,
 * the close paths and the accessors.
 */
#include <string.h>

#include "wire_int.h"

#define WIRE_DEFAULT_QUEUED (4u * 1024u * 1024u)
#define WIRE_DEFAULT_SEND_QUEUE (4u * 1024u * 1024u)

void floe_wsconn_config_default(struct floe_wsconn_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = FLOE_WSCONN_CLIENT;
    cfg->max_message = FLOE_WSCONN_MESSAGE_MAX;
    cfg->max_queued = WIRE_DEFAULT_QUEUED;
    cfg->max_send_queue = WIRE_DEFAULT_SEND_QUEUE;
    cfg->handshake_timeout = FLOE_SEC(10);
    cfg->ping_interval = 0;
    cfg->pong_timeout = FLOE_SEC(10);
    cfg->close_timeout = FLOE_SEC(5);
}

/* A string the HTTP head can carry: printable ASCII without blanks at the ends. */
static bool wire_str_ok(const char *s, bool allow_space)
{
    size_t i;

    if (!s)
        return true;
    for (i = 0; s[i]; i++) {
        if (i >= WIRE_STR_MAX || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
        if (s[i] == ' ' && !allow_space)
            return false;
    }
    return true;
}

static int wire_check_config(const struct floe_wsconn_config *cfg)
{
    if (cfg->role != FLOE_WSCONN_CLIENT && cfg->role != FLOE_WSCONN_SERVER)
        return FLOE_ERR_INVALID_ARG;
    if (!cfg->max_message || cfg->max_queued < cfg->max_message || !cfg->max_send_queue ||
        cfg->max_message > ((size_t)1 << 31))
        return FLOE_ERR_INVALID_ARG;
    if (!wire_str_ok(cfg->host, false) || !wire_str_ok(cfg->path, false) ||
        !wire_str_ok(cfg->token, false) || !wire_str_ok(cfg->user_agent, true) ||
        !wire_str_ok(cfg->server_name, false))
        return FLOE_ERR_INVALID_ARG;
    if (cfg->role == FLOE_WSCONN_CLIENT) {
        if (!cfg->host || !cfg->host[0] || !cfg->rng.fill)
            return FLOE_ERR_INVALID_ARG;
        if (cfg->path && cfg->path[0] != '/')
            return FLOE_ERR_INVALID_ARG;
    } else if (cfg->tls && !cfg->tls_ctx && (!cfg->cert_file || !cfg->key_file)) {
        return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}

static char *wire_strdup(const struct floe_allocator *a, const char *s, bool *failed)
{
    size_t n;
    char *p;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    p = floe_mem_malloc(a, n);
    if (!p)
        *failed = true;
    else
        memcpy(p, s, n);
    return p;
}

/* The default server name: host without ":port" (and without the brackets of [v6]). */
static char *wire_default_name(const struct floe_allocator *a, const char *host, bool *failed)
{
    char *name = wire_strdup(a, host, failed);
    char *colon;

    if (!name)
        return NULL;
    if (name[0] == '[') {
        colon = strchr(name, ']');
        memmove(name, name + 1, strlen(name));
        if (colon)
            colon[-1] = '\0';
        return name;
    }
    colon = strchr(name, ':');
    if (colon && !strchr(colon + 1, ':'))
        *colon = '\0';
    return name;
}

static int wire_copy_strings(struct floe_wsconn *c, const struct floe_wsconn_config *cfg)
{
    const struct floe_allocator *a = &cfg->alloc;
    bool failed = false;

    c->host = wire_strdup(a, cfg->host, &failed);
    c->path = wire_strdup(a, cfg->path ? cfg->path : "/", &failed);
    c->token = (cfg->token && cfg->token[0]) ? wire_strdup(a, cfg->token, &failed) : NULL;
    c->user_agent =
        wire_strdup(a, cfg->user_agent ? cfg->user_agent : "floe/" FLOE_VERSION_STRING, &failed);
    if (cfg->server_name)
        c->server_name = wire_strdup(a, cfg->server_name, &failed);
    else if (cfg->host)
        c->server_name = wire_default_name(a, cfg->host, &failed);
    c->cfg.host = c->host;
    c->cfg.path = c->path;
    c->cfg.token = NULL;
    c->cfg.user_agent = c->user_agent;
    c->cfg.server_name = c->server_name;
    c->cfg.ca_file = NULL;
    c->cfg.cert_file = NULL;
    c->cfg.key_file = NULL;
    c->cfg.tls_ctx = NULL;
    return failed ? FLOE_ERR_NOMEM : 0;
}

int floe_wsconn_new(struct floe_wsconn **out, const struct floe_wsconn_config *cfg)
{
    struct floe_wsconn *c;
    int rc;

    if (!out || !cfg || wire_check_config(cfg) < 0)
        return FLOE_ERR_INVALID_ARG;
    c = floe_mem_calloc(&cfg->alloc, 1, sizeof(*c));
    if (!c)
        return FLOE_ERR_NOMEM;
    c->cfg = *cfg;
    c->state = FLOE_WSCONN_IDLE;
    c->handshake_deadline = c->ping_at = FLOE_TIME_NEVER;
    c->pong_deadline = c->close_deadline = FLOE_TIME_NEVER;
    rc = wire_copy_strings(c, cfg);
    if (rc == 0 && cfg->tls)
        rc = floe__wire_tls_new(c, cfg);
    if (rc < 0) {
        floe_wsconn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void wire_free_str(const struct floe_allocator *a, char *s)
{
    if (s) {
        floe_wipe(s, strlen(s));
        floe_mem_free(a, s);
    }
}

static void wire_free_messages(struct floe_wsconn *c)
{
    struct wire_msg *m, *next;

    for (m = c->mq_head; m; m = next) {
        next = m->next;
        floe_mem_free(&c->cfg.alloc, m);
    }
    floe_mem_free(&c->cfg.alloc, c->lent);
    c->mq_head = c->mq_tail = c->lent = NULL;
}

void floe_wsconn_free(struct floe_wsconn *c)
{
    struct floe_allocator a;

    if (!c)
        return;
    a = c->cfg.alloc;
    floe__wire_tls_free(c);
    floe__wire_ws_free(c);
    floe__wire_http_free(c);
    wire_free_messages(c);
    if (c->out.data)
        floe_wipe(c->out.data, c->out.cap); /* a client's request held its token */
    if (c->head.data)
        floe_wipe(c->head.data, c->head.cap);
    floe_mem_free(&a, c->out.data);
    floe_mem_free(&a, c->head.data);
    floe_mem_free(&a, c->wsin.data);
    wire_free_str(&a, c->host);
    wire_free_str(&a, c->path);
    wire_free_str(&a, c->token);
    wire_free_str(&a, c->user_agent);
    wire_free_str(&a, c->server_name);
    floe_wipe(c, sizeof(*c));
    floe_mem_free(&a, c);
}

/* ---------------------------------------------------------------- buffers */

int floe__wire_buf_append(struct floe_wsconn *c, struct wire_buf *b, const void *p, size_t n)
{
    size_t need, cap;
    uint8_t *d;

    if (!n)
        return 0;
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    need = b->len + n;
    if (need > b->cap) {
        if (b->off) {
            memmove(b->data, b->data + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
            need = b->len + n;
        }
        for (cap = b->cap ? b->cap : 1024; cap < need; cap *= 2)
            ;
        if (cap > b->cap) {
            d = floe_mem_realloc(&c->cfg.alloc, b->data, cap);
            if (!d)
                return FLOE_ERR_NOMEM;
            b->data = d;
            b->cap = cap;
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void floe__wire_buf_consume(struct floe_wsconn *c, struct wire_buf *b, size_t n)
{
    b->off += n;
    if (b->off < b->len)
        return;
    b->off = b->len = 0;
    if (b->cap > WIRE_BUF_KEEP) {
        floe_mem_free(&c->cfg.alloc, b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

size_t floe__wire_buf_pending(const struct wire_buf *b)
{
    return b->len - b->off;
}

/* ----------------------------------------------------------------- events */

void floe__wire_copy_text(char *out, size_t cap, const char *in, size_t len)
{
    size_t i;

    for (i = 0; in && i < len && in[i] && i + 1 < cap; i++)
        out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[i] = '\0';
}

void floe__wire_event(struct floe_wsconn *c, const struct floe_wsconn_event *ev)
{
    if (c->ev_len == FLOE_WSCONN_EVENT_QUEUE) {
        c->ev_head = (c->ev_head + 1) % FLOE_WSCONN_EVENT_QUEUE;
        c->ev_len--;
        c->stats.drops[FLOE_WSCONN_DROP_EVENTS]++;
    }
    c->events[(c->ev_head + c->ev_len) % FLOE_WSCONN_EVENT_QUEUE] = *ev;
    c->ev_len++;
}

int floe_wsconn_poll_event(struct floe_wsconn *c, struct floe_wsconn_event *ev)
{
    if (!c || !ev || !c->ev_len)
        return 0;
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % FLOE_WSCONN_EVENT_QUEUE;
    c->ev_len--;
    return 1;
}

static void wire_stop_timers(struct floe_wsconn *c)
{
    c->handshake_deadline = c->ping_at = FLOE_TIME_NEVER;
    c->pong_deadline = c->close_deadline = FLOE_TIME_NEVER;
}

/* The end: state CLOSED, one CLOSED event; TLS says close_notify after the last bytes. */
void floe__wire_closed(struct floe_wsconn *c, int err, enum floe_wsconn_closer by, uint16_t code,
                       const char *reason)
{
    struct floe_wsconn_event ev;

    if (c->state == FLOE_WSCONN_CLOSED)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_WSCONN_EV_CLOSED;
    ev.err = err;
    ev.http_status = c->http_status;
    ev.code = code;
    ev.by = by;
    floe__wire_copy_text(ev.text, sizeof(ev.text), reason, SIZE_MAX);
    c->state = FLOE_WSCONN_CLOSED;
    wire_stop_timers(c);
    floe__wire_event(c, &ev);
    floe__wire_tls_flush(c);
}

/*
 * A failure: an ERROR event with text, then CLOSED with the same err. An OPEN
 * or CLOSING connection that has not sent its close frame sends one with code
 * (not for 1006, which is never sent).
 */
void floe__wire_fail(struct floe_wsconn *c, int err, enum floe_wsconn_closer by, uint16_t code,
                     const char *text)
{
    struct floe_wsconn_event ev;
    struct floe_log_field f[] = {
        FLOE_LF_S("error", text),
        FLOE_LF_I("http_status", c->http_status),
        FLOE_LF_U("code", code),
    };

    if (c->state == FLOE_WSCONN_CLOSED)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_WSCONN_EV_ERROR;
    ev.err = err;
    ev.http_status = c->http_status;
    ev.code = code;
    ev.by = by;
    floe__wire_copy_text(ev.text, sizeof(ev.text), text, SIZE_MAX);
    floe__wire_event(c, &ev);
    floe_log_emit(&c->cfg.log, FLOE_LOG_DEBUG, WIRE_TARGET, "connection failed", f, 3);
    if (c->ws_on && code != FLOE_WS_CLOSE_ABNORMAL && c->state != FLOE_WSCONN_HANDSHAKE)
        floe__wire_frame_close(c, code, text);
    floe__wire_closed(c, err, by, code, text);
}

void floe__wire_open(struct floe_wsconn *c, floe_time now)
{
    struct floe_wsconn_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_WSCONN_EV_OPEN;
    ev.http_status = c->http_status;
    c->state = FLOE_WSCONN_OPEN;
    c->handshake_deadline = FLOE_TIME_NEVER;
    c->last_rx = now;
    if (c->cfg.ping_interval)
        c->ping_at = floe_time_add(now, c->cfg.ping_interval);
    floe__wire_event(c, &ev);
}

/* --------------------------------------------------------------- commands */

int floe_wsconn_start(struct floe_wsconn *c, floe_time now)
{
    if (!c)
        return FLOE_ERR_INVALID_ARG;
    if (c->started)
        return FLOE_ERR_STATE;
    c->started = true;
    c->state = FLOE_WSCONN_HANDSHAKE;
    c->last_rx = now;
    c->handshake_deadline = floe_time_add(now, c->cfg.handshake_timeout);
    if (c->cfg.role == FLOE_WSCONN_CLIENT && floe__wire_http_client_request(c) < 0) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return 0;
    }
    floe__wire_tls_start(c);
    return 0;
}

static size_t wire_out_queued(const struct floe_wsconn *c)
{
    return floe__wire_buf_pending(&c->out) + floe__wire_tls_pending(c);
}

int floe_wsconn_send_text(struct floe_wsconn *c, floe_time now, const char *msg, size_t len)
{
    int rc;

    (void)now;
    if (!c || (!msg && len))
        return FLOE_ERR_INVALID_ARG;
    if (!floe__wire_utf8_valid((const uint8_t *)msg, len))
        return FLOE_ERR_INVALID_ARG;
    if (c->state != FLOE_WSCONN_OPEN)
        return FLOE_ERR_STATE;
    if (len > c->cfg.max_send_queue || wire_out_queued(c) > c->cfg.max_send_queue - len)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    rc = floe__wire_ws_send_text(c, msg, len);
    if (rc < 0)
        return rc;
    c->stats.messages_out++;
    floe__wire_ws_pump(c);
    return 0;
}

static bool wire_close_code_ok(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

int floe_wsconn_close(struct floe_wsconn *c, floe_time now, uint16_t code, const char *reason)
{
    if (!c || !wire_close_code_ok(code) ||
        (reason && !floe__wire_utf8_valid((const uint8_t *)reason, strlen(reason))))
        return FLOE_ERR_INVALID_ARG;
    if (c->state == FLOE_WSCONN_CLOSING || c->state == FLOE_WSCONN_CLOSED)
        return FLOE_ERR_STATE;
    if (c->state != FLOE_WSCONN_OPEN) {
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL, reason);
        return 0;
    }
    c->local_close = true;
    c->state = FLOE_WSCONN_CLOSING;
    c->ping_at = c->pong_deadline = FLOE_TIME_NEVER;
    c->close_deadline = floe_time_add(now, c->cfg.close_timeout);
    if (floe__wire_ws_close(c, code, reason) < 0) {
        floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "out of memory");
        return 0;
    }
    floe__wire_ws_pump(c);
    return 0;
}

/* ---------------------------------------------------------------- driving */

int floe_wsconn_handle_input(struct floe_wsconn *c, floe_time now, const uint8_t *buf, size_t len)
{
    if (!c || (!buf && len))
        return FLOE_ERR_INVALID_ARG;
    c->stats.bytes_in += len;
    if (!len)
        return 0;
    if (c->state == FLOE_WSCONN_CLOSED || c->state == FLOE_WSCONN_IDLE || c->eof) {
        c->stats.drops[FLOE_WSCONN_DROP_AFTER_CLOSE]++;
        return 0;
    }
    c->last_rx = now;
    c->pong_deadline = FLOE_TIME_NEVER;
    if (c->cfg.ping_interval && c->state == FLOE_WSCONN_OPEN)
        c->ping_at = floe_time_add(now, c->cfg.ping_interval);
    if (c->ssl)
        floe__wire_tls_input(c, now, buf, len);
    else
        floe__wire_plain_input(c, now, buf, len);
    return 0;
}

void floe_wsconn_handle_eof(struct floe_wsconn *c, floe_time now)
{
    (void)now;
    if (!c || c->eof)
        return;
    c->eof = true;
    if (c->state == FLOE_WSCONN_CLOSED)
        return;
    if (c->body_wait) { /* the refusal's body was cut short: say what came */
        floe__wire_refusal_done(c, c->head.data + c->head.off, floe__wire_buf_pending(&c->head));
        return;
    }
    if (c->state == FLOE_WSCONN_CLOSING && c->local_close) {
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, c->close_code, c->close_reason);
        return;
    }
    floe__wire_fail(c, FLOE_ERR_IO, FLOE_WSCONN_BY_PEER, FLOE_WS_CLOSE_ABNORMAL,
                    c->state == FLOE_WSCONN_OPEN ? "connection closed by the peer"
                                                 : "connection closed during the handshake");
}

static void wire_ping_due(struct floe_wsconn *c, floe_time now)
{
    c->ping_at = FLOE_TIME_NEVER;
    if (floe__wire_ws_ping(c) < 0)
        return;
    c->stats.pings_sent++;
    c->pong_deadline = floe_time_add(now, c->cfg.pong_timeout);
    floe__wire_ws_pump(c);
}

void floe_wsconn_handle_timeout(struct floe_wsconn *c, floe_time now)
{
    if (!c || c->state == FLOE_WSCONN_CLOSED)
        return;
    if (now >= c->handshake_deadline && c->body_wait) {
        floe__wire_refusal_done(c, c->head.data + c->head.off, floe__wire_buf_pending(&c->head));
    } else if (now >= c->handshake_deadline) {
        floe__wire_fail(c, FLOE_ERR_TIMEOUT, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                        "handshake timed out");
    } else if (now >= c->close_deadline) {
        floe__wire_closed(c, 0, FLOE_WSCONN_BY_LOCAL, c->close_code, "close handshake timed out");
    } else if (now >= c->pong_deadline) {
        floe__wire_fail(c, FLOE_ERR_TIMEOUT, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_GOING_AWAY,
                        "WebSocket: no answer to a ping");
    } else if (now >= c->ping_at && c->state == FLOE_WSCONN_OPEN) {
        wire_ping_due(c, now);
    }
}

floe_time floe_wsconn_poll_timeout(const struct floe_wsconn *c)
{
    floe_time t;

    if (!c || c->state == FLOE_WSCONN_CLOSED)
        return FLOE_TIME_NEVER;
    t = floe_time_min(c->handshake_deadline, c->close_deadline);
    t = floe_time_min(t, c->pong_deadline);
    return floe_time_min(t, c->ping_at);
}

long floe_wsconn_poll_transmit(struct floe_wsconn *c, floe_time now, uint8_t *buf, size_t cap)
{
    size_t n;
    int r;

    (void)now;
    if (!c || !buf)
        return FLOE_ERR_INVALID_ARG;
    if (c->ws_on && c->state != FLOE_WSCONN_CLOSED)
        floe__wire_ws_pump(c);
    if (c->ssl) {
        floe__wire_tls_flush(c);
        if (cap > INT32_MAX)
            cap = INT32_MAX;
        r = BIO_read(c->wbio, buf, (int)cap);
        n = r > 0 ? (size_t)r : 0;
    } else {
        n = floe__wire_buf_pending(&c->out);
        if (n > cap)
            n = cap;
        if (n) {
            memcpy(buf, c->out.data + c->out.off, n);
            floe__wire_buf_consume(c, &c->out, n);
        }
    }
    c->stats.bytes_out += n;
    return (long)n;
}

bool floe_wsconn_want_write(const struct floe_wsconn *c)
{
    if (!c)
        return false;
    if (c->ssl)
        return floe__wire_tls_pending(c) > 0 || (c->tls_up && floe__wire_buf_pending(&c->out) > 0);
    return floe__wire_buf_pending(&c->out) > 0;
}

int floe_wsconn_poll_message(struct floe_wsconn *c, struct floe_span *msg)
{
    struct wire_msg *m;

    if (!c || !msg)
        return 0;
    floe_mem_free(&c->cfg.alloc, c->lent);
    c->lent = NULL;
    m = c->mq_head;
    if (!m) {
        return 0;
    }
    c->mq_head = m->next;
    if (!c->mq_head)
        c->mq_tail = NULL;
    c->mq_bytes -= m->len;
    c->mq_count--;
    c->lent = m;
    *msg = floe_span_make(m->data, m->len);
    if (c->ws_on && c->state != FLOE_WSCONN_CLOSED && floe__wire_buf_pending(&c->wsin))
        floe__wire_ws_pump(c);
    return 1;
}

/* -------------------------------------------------------------- accessors */

enum floe_wsconn_state floe_wsconn_state(const struct floe_wsconn *c)
{
    return c ? c->state : FLOE_WSCONN_CLOSED;
}

const char *floe_wsconn_state_name(enum floe_wsconn_state s)
{
    static const char *const names[] = {"idle", "handshake", "request",
                                        "open", "closing",   "closed"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

int floe_wsconn_http_status(const struct floe_wsconn *c)
{
    return c ? c->http_status : 0;
}

const struct floe_wsconn_stats *floe_wsconn_stats(const struct floe_wsconn *c)
{
    return c ? &c->stats : NULL;
}

const char *floe_wsconn_drop_name(enum floe_wsconn_drop d)
{
    static const char *const names[FLOE_WSCONN_DROP_COUNT] = {
        "http_malformed", "http_too_large", "handshake", "tls",         "ws_protocol",
        "ws_too_big",     "ws_utf8",        "binary",    "after_close", "events",
    };

    return (unsigned)d < FLOE_WSCONN_DROP_COUNT ? names[d] : "unknown";
}
