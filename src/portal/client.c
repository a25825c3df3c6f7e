/*
 * Portal protocol client: the object, its config, the event queue, the connection's life
 * (connect, lost, reconnect backoff with jitter) and the heartbeat timer. Receiving is in
 * client_recv.c, sending and the hold of candidates in client_send.c.
 */
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "floe/crypto.h"

static const char *const pc_target = "portal";

void floe_portal_client_config_default(struct floe_portal_client_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls = true;
    cfg->max_message = FLOE_PORTAL_JSON_MAX;
    cfg->heartbeat_interval = FLOE_PORTAL_HEARTBEAT_INTERVAL;
    cfg->heartbeat_misses = FLOE_PORTAL_HEARTBEAT_MISSES;
    cfg->backoff_initial = FLOE_PORTAL_BACKOFF_INITIAL;
    cfg->backoff_max = FLOE_PORTAL_BACKOFF_MAX;
    cfg->hold_max = FLOE_PORTAL_HOLD_MAX;
}

static bool pc_config_ok(const struct floe_portal_client_config *cfg)
{
    if (!cfg->rng.fill || !cfg->host || !cfg->host[0] || !cfg->token || !cfg->token[0])
        return false;
    if (cfg->role != FLOE_PORTAL_ROLE_CLIENT && cfg->role != FLOE_PORTAL_ROLE_GATEWAY)
        return false;
    if (cfg->heartbeat_interval == 0 || cfg->heartbeat_misses == 0 || cfg->heartbeat_misses > 100)
        return false;
    if (cfg->backoff_initial == 0 || cfg->backoff_max < cfg->backoff_initial)
        return false;
    return cfg->hold_max >= 1 && cfg->hold_max <= 4096 && cfg->max_message >= 1024;
}

/* Copy s (NULL stays NULL) with the allocator; *ok false when it fails or is too long. */
static char *pc_strdup(struct floe_portal_client *c, const char *s, bool *ok)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = n < FLOE__PC_STR_MAX ? floe_mem_malloc(&c->cfg.alloc, n + 1) : NULL;
    if (!d) {
        *ok = false;
        return NULL;
    }
    memcpy(d, s, n + 1);
    return d;
}

/* Append key=value (value percent-encoded, RFC 3986 unreserved kept) to the query in q. */
static void pc_query_add(char *q, size_t cap, const char *key, const char *value)
{
    size_t n = strlen(q);
    n += (size_t)snprintf(q + n, cap - n, "%c%s=", strchr(q, '?') ? '&' : '?', key);
    for (const char *p = value; *p && n + 4 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            q[n++] = (char)ch;
        else
            n += (size_t)snprintf(q + n, cap - n, "%%%02X", ch);
    }
    q[n < cap ? n : cap - 1] = '\0';
}

/* The request target: the path, then the device's public key and name in the query. */
static char *pc_make_path(struct floe_portal_client *c, bool *ok)
{
    const char *path = c->cfg.path;
    if (!path)
        path = c->cfg.role == FLOE_PORTAL_ROLE_CLIENT ? "/client/websocket" : "/gateway/websocket";
    size_t cap = strlen(path) + 3 * (c->cfg.name ? strlen(c->cfg.name) : 0) + 200;
    char *q = cap < 4 * FLOE__PC_STR_MAX ? floe_mem_malloc(&c->cfg.alloc, cap) : NULL;
    if (!q) {
        *ok = false;
        return NULL;
    }
    snprintf(q, cap, "%s", path);
    char key[64];
    if (c->cfg.public_key &&
        floe_base64_encode(key, sizeof(key), c->cfg.public_key, FLOE_PORTAL_KEY_LEN) > 0)
        pc_query_add(q, cap, "public_key", key);
    if (c->cfg.name)
        pc_query_add(q, cap, "name", c->cfg.name);
    return q;
}

static bool pc_copy_strings(struct floe_portal_client *c)
{
    bool ok = true;
    c->host = pc_strdup(c, c->cfg.host, &ok);
    c->path = pc_make_path(c, &ok);
    c->token = pc_strdup(c, c->cfg.token, &ok);
    c->user_agent = pc_strdup(c, c->cfg.user_agent, &ok);
    c->ca_file = pc_strdup(c, c->cfg.ca_file, &ok);
    c->server_name = pc_strdup(c, c->cfg.server_name, &ok);
    c->cfg.host = c->host;
    c->cfg.path = c->path;
    c->cfg.token = c->token;
    c->cfg.user_agent = c->user_agent;
    c->cfg.ca_file = c->ca_file;
    c->cfg.server_name = c->server_name;
    c->cfg.public_key = NULL; /* in the path now */
    c->cfg.name = NULL;
    return ok;
}

int floe_portal_client_new(struct floe_portal_client **out,
                           const struct floe_portal_client_config *cfg)
{
    if (!out || !cfg || !pc_config_ok(cfg))
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    struct floe_portal_client *c = floe_mem_calloc(&cfg->alloc, 1, sizeof(*c));
    if (!c)
        return FLOE_ERR_NOMEM;
    c->cfg = *cfg;
    c->next_ref = 1;
    c->hb_next = FLOE_TIME_NEVER;
    c->held = floe_mem_calloc(&cfg->alloc, cfg->hold_max, sizeof(*c->held));
    c->spare = floe_mem_calloc(&cfg->alloc, cfg->hold_max, sizeof(*c->spare));
    c->unconf = floe_mem_calloc(&cfg->alloc, cfg->hold_max, sizeof(*c->unconf));
    c->scratch = floe_mem_malloc(&cfg->alloc, FLOE__PC_SCRATCH);
    if (!pc_copy_strings(c) || !c->held || !c->spare || !c->unconf || !c->scratch) {
        floe_portal_client_free(c);
        return FLOE_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

static void pc_free_str(struct floe_portal_client *c, char *s)
{
    if (s)
        floe_wipe(s, strlen(s));
    floe_mem_free(&c->cfg.alloc, s);
}

void floe_portal_client_free(struct floe_portal_client *c)
{
    if (!c)
        return;
    floe__pc_reclaim(c);
    floe_wsconn_free(c->ws);
    for (; c->ev_n; c->ev_n--, c->ev_head = (c->ev_head + 1) % FLOE_PORTAL_CLIENT_EVENTS)
        floe_mem_free(&c->cfg.alloc, c->events[c->ev_head].msg);
    if (c->held && c->unconf)
        floe__pc_clear_held(c);
    floe_mem_free(&c->cfg.alloc, c->held);
    floe_mem_free(&c->cfg.alloc, c->spare);
    floe_mem_free(&c->cfg.alloc, c->unconf);
    floe_mem_free(&c->cfg.alloc, c->scratch);
    pc_free_str(c, c->host);
    pc_free_str(c, c->path);
    pc_free_str(c, c->token);
    pc_free_str(c, c->user_agent);
    pc_free_str(c, c->ca_file);
    pc_free_str(c, c->server_name);
    floe_mem_free(&c->cfg.alloc, c);
}

enum floe_portal_topic floe__pc_topic(const struct floe_portal_client *c)
{
    return c->cfg.role == FLOE_PORTAL_ROLE_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT
                                                  : FLOE_PORTAL_TOPIC_GATEWAY;
}

void floe__pc_new_ref(struct floe_portal_client *c, char *out)
{
    snprintf(out, FLOE_PORTAL_REF_MAX, "%llu", (unsigned long long)c->next_ref++);
}

/* ---------------------------------------------------------------- events */

void floe__pc_reclaim(struct floe_portal_client *c)
{
    floe_mem_free(&c->cfg.alloc, c->lent);
    c->lent = NULL;
}

void floe__pc_emit(struct floe_portal_client *c, const struct floe_portal_client_event *ev,
                   struct floe_portal_msg *msg)
{
    if (c->ev_n == FLOE_PORTAL_CLIENT_EVENTS) {
        floe_mem_free(&c->cfg.alloc, c->events[c->ev_head].msg);
        c->ev_head = (c->ev_head + 1) % FLOE_PORTAL_CLIENT_EVENTS;
        c->ev_n--;
        c->stats.drops[FLOE_PORTAL_DROP_EVENTS]++;
    }
    struct floe__pc_event *slot = &c->events[(c->ev_head + c->ev_n) % FLOE_PORTAL_CLIENT_EVENTS];
    slot->ev = *ev;
    slot->ev.msg = msg;
    slot->msg = msg;
    c->ev_n++;
}

int floe_portal_client_poll_event(struct floe_portal_client *c, struct floe_portal_client_event *ev)
{
    if (!c || !ev)
        return FLOE_ERR_INVALID_ARG;
    floe__pc_reclaim(c);
    if (c->ev_n == 0)
        return 0;
    struct floe__pc_event *slot = &c->events[c->ev_head];
    *ev = slot->ev;
    c->lent = slot->msg;
    slot->msg = NULL;
    c->ev_head = (c->ev_head + 1) % FLOE_PORTAL_CLIENT_EVENTS;
    c->ev_n--;
    return 1;
}

const char *floe_portal_client_event_name(enum floe_portal_client_event_kind kind)
{
    switch (kind) {
    case FLOE_PORTAL_EV_JOINED:
        return "joined";
    case FLOE_PORTAL_EV_MESSAGE:
        return "message";
    case FLOE_PORTAL_EV_DISCONNECTED:
        return "disconnected";
    case FLOE_PORTAL_EV_RECONNECT_AT:
        return "reconnect_at";
    case FLOE_PORTAL_EV_FATAL:
        return "fatal";
    }
    return "unknown";
}

/* ------------------------------------------------------ connection's life */

static struct floe_wsconn_config pc_wire_config(const struct floe_portal_client *c)
{
    struct floe_wsconn_config w;
    floe_wsconn_config_default(&w);
    w.alloc = c->cfg.alloc;
    w.log = c->cfg.log;
    w.rng = c->cfg.rng;
    w.role = FLOE_WSCONN_CLIENT;
    w.tls = c->cfg.tls;
    w.host = c->host;
    w.path = c->path;
    w.token = c->token;
    if (c->user_agent)
        w.user_agent = c->user_agent;
    w.server_name = c->server_name;
    w.ca_file = c->ca_file;
    w.max_message = c->cfg.max_message;
    if (w.max_queued < w.max_message)
        w.max_queued = w.max_message;
    return w;
}

int floe_portal_client_connect(struct floe_portal_client *c, floe_time now)
{
    if (!c)
        return FLOE_ERR_INVALID_ARG;
    floe__pc_reclaim(c);
    if (c->state != FLOE_PORTAL_CLIENT_IDLE && c->state != FLOE_PORTAL_CLIENT_WAITING)
        return FLOE_ERR_STATE;
    floe_wsconn_free(c->ws);
    c->ws = NULL;
    struct floe_wsconn_config w = pc_wire_config(c);
    int rc = floe_wsconn_new(&c->ws, &w);
    if (rc == 0)
        rc = floe_wsconn_start(c->ws, now);
    if (rc) {
        floe_wsconn_free(c->ws);
        c->ws = NULL;
        return rc;
    }
    c->state = FLOE_PORTAL_CLIENT_CONNECTING;
    c->hb_outstanding = false;
    c->hb_missed = 0;
    c->join_ref[0] = c->hb_ref[0] = '\0';
    c->hb_next = floe_time_add(now, c->cfg.heartbeat_interval);
    c->stats.connects++;
    return 0;
}

static bool pc_connected(const struct floe_portal_client *c)
{
    return c->state == FLOE_PORTAL_CLIENT_CONNECTING || c->state == FLOE_PORTAL_CLIENT_JOINING ||
           c->state == FLOE_PORTAL_CLIENT_JOINED;
}

int floe_portal_client_disconnected(struct floe_portal_client *c, floe_time now)
{
    if (!c)
        return FLOE_ERR_INVALID_ARG;
    floe__pc_reclaim(c);
    if (!pc_connected(c))
        return FLOE_ERR_STATE;
    floe_wsconn_handle_eof(c->ws, now);
    floe__pc_pump(c, now); /* messages read before the end still count */
    if (pc_connected(c))
        floe__pc_lost(c, now, FLOE_ERR_IO, 0, "connection closed by the network");
    return 0;
}

/*
 * The n-th consecutive reconnect waits d = min(backoff_max, backoff_initial * 2^n), then a
 * uniformly random instant in [d/2, d] (docs/protocol.md section 4).
 */
static floe_time pc_backoff(struct floe_portal_client *c)
{
    floe_time d = c->cfg.backoff_initial;
    for (uint32_t i = 0; i < c->attempt && d < c->cfg.backoff_max; i++)
        d = d > c->cfg.backoff_max / 2 ? c->cfg.backoff_max : d * 2;
    if (d > c->cfg.backoff_max)
        d = c->cfg.backoff_max;
    uint8_t r[2] = {0};
    (void)floe_rng_fill(&c->cfg.rng, r, sizeof(r));
    floe_time frac = floe_load_be16(r); /* 0 .. 65535: [d/2, d) in 1/65536 steps */
    floe_time half = d / 2;
    return d - half + ((half * frac) >> 16);
}

static void pc_event_text(struct floe_portal_client_event *ev, const char *reason)
{
    snprintf(ev->reason, sizeof(ev->reason), "%s", reason ? reason : "");
}

void floe__pc_lost(struct floe_portal_client *c, floe_time now, int err, int status,
                   const char *reason)
{
    struct floe_portal_client_event ev = {0};
    ev.err = err;
    ev.status = status;
    pc_event_text(&ev, reason);
    c->hb_next = FLOE_TIME_NEVER;
    c->hb_outstanding = false;
    c->stats.disconnects++;
    /* A drop decided here (heartbeats, phx_error, a refused join): tell the portal with a
     * close frame, the program drains it before closing TCP. */
    if (c->ws && floe_wsconn_state(c->ws) == FLOE_WSCONN_OPEN)
        (void)floe_wsconn_close(c->ws, now, FLOE_WS_CLOSE_GOING_AWAY, "reconnecting");
    struct floe_log_field f[] = {FLOE_LF_S("reason", ev.reason), FLOE_LF_I("status", status)};
    if (status == 401) {
        c->state = FLOE_PORTAL_CLIENT_FAILED;
        ev.kind = FLOE_PORTAL_EV_FATAL;
        floe_log_emit(&c->cfg.log, FLOE_LOG_ERROR, pc_target, "portal refused the token", f, 2);
        floe__pc_emit(c, &ev, NULL);
        return;
    }
    c->state = FLOE_PORTAL_CLIENT_WAITING;
    floe__pc_hold_unconfirmed(c);
    ev.kind = FLOE_PORTAL_EV_DISCONNECTED;
    floe_log_emit(&c->cfg.log, FLOE_LOG_WARN, pc_target, "portal connection lost", f, 2);
    floe__pc_emit(c, &ev, NULL);
    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_PORTAL_EV_RECONNECT_AT;
    ev.at = floe_time_add(now, pc_backoff(c));
    if (c->attempt < UINT32_MAX)
        c->attempt++;
    ev.attempt = c->attempt;
    floe__pc_emit(c, &ev, NULL);
}

/* --------------------------------------------------------------- driving */

static void pc_heartbeat(struct floe_portal_client *c, floe_time now)
{
    /* Before the join is answered every tick counts: the handshake or the join is late. */
    if (c->hb_outstanding || c->state != FLOE_PORTAL_CLIENT_JOINED) {
        c->hb_missed++;
        c->stats.heartbeats_missed++;
    }
    if (c->hb_missed >= c->cfg.heartbeat_misses) {
        char reason[64];
        snprintf(reason, sizeof(reason), "no heartbeat reply: %u missed", (unsigned)c->hb_missed);
        floe__pc_lost(c, now, FLOE_ERR_TIMEOUT, 0, reason);
        return;
    }
    c->hb_next = floe_time_add(now, c->cfg.heartbeat_interval);
    if (c->state != FLOE_PORTAL_CLIENT_JOINED)
        return;
    struct floe_portal_msg *m = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m));
    c->hb_outstanding = true; /* counted as missed at the next tick unless answered */
    if (!m)
        return;
    m->type = FLOE_PORTAL_MSG_HEARTBEAT;
    m->topic = FLOE_PORTAL_TOPIC_PHOENIX;
    m->has_ref = true;
    floe__pc_new_ref(c, m->ref);
    c->hb_ref[0] = '\0'; /* outstanding even when not queued: a stuck connection misses */
    if (floe__pc_write(c, now, m) == 0) {
        memcpy(c->hb_ref, m->ref, sizeof(c->hb_ref));
        c->stats.heartbeats_sent++;
    }
    floe_mem_free(&c->cfg.alloc, m);
}

void floe_portal_client_handle_timeout(struct floe_portal_client *c, floe_time now)
{
    if (!c)
        return;
    floe__pc_reclaim(c);
    if (!pc_connected(c))
        return;
    floe_wsconn_handle_timeout(c->ws, now);
    floe__pc_pump(c, now);
    if (pc_connected(c) && now >= c->hb_next)
        pc_heartbeat(c, now);
}

long floe_portal_client_poll_transmit(struct floe_portal_client *c, floe_time now, uint8_t *buf,
                                      size_t cap)
{
    if (!c || !buf)
        return FLOE_ERR_INVALID_ARG;
    if (!c->ws || !floe_wsconn_want_write(c->ws))
        return 0;
    return floe_wsconn_poll_transmit(c->ws, now, buf, cap);
}

floe_time floe_portal_client_poll_timeout(const struct floe_portal_client *c)
{
    if (!c || !pc_connected(c))
        return FLOE_TIME_NEVER;
    return floe_time_min(c->hb_next, floe_wsconn_poll_timeout(c->ws));
}

/* ------------------------------------------------------------------ state */

enum floe_portal_client_state floe_portal_client_get_state(const struct floe_portal_client *c)
{
    return c ? c->state : FLOE_PORTAL_CLIENT_IDLE;
}

const char *floe_portal_client_state_name(enum floe_portal_client_state s)
{
    static const char *const names[] = {"idle",   "connecting", "joining",
                                        "joined", "waiting",    "failed"};
    if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[s];
}

const char *floe_portal_drop_name(enum floe_portal_drop d)
{
    static const char *const names[] = {
#define PC_DROP_NAME(name, str) str,
        FLOE_PORTAL_DROP_TABLE(PC_DROP_NAME)
#undef PC_DROP_NAME
    };
    if ((unsigned)d >= FLOE_PORTAL_DROP_COUNT)
        return "unknown";
    return names[d];
}

void floe_portal_client_get_stats(const struct floe_portal_client *c,
                                  struct floe_portal_client_stats *out)
{
    if (c && out)
        *out = c->stats;
}

size_t floe_portal_client_held(const struct floe_portal_client *c)
{
    return c ? c->held_n : 0;
}
