/*
 * The TURN client object: configuration, events, the allocation's life
 * (allocate, refresh, keepalive, loss and re-allocation with backoff), the
 * caller's commands and the driving verbs.
 */
#include <string.h>

#include "turn_int.h"

#define TURN_DEFAULT_LIFETIME_S 600u
#define TURN_DEFAULT_MAX_PEERS 64u
#define TURN_DEFAULT_QUEUE_BYTES 1500u

void floe_turn_config_default(struct floe_turn_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->auto_channel = true;
    cfg->optimistic_send = true;
    cfg->lifetime_s = TURN_DEFAULT_LIFETIME_S;
    cfg->max_peers = TURN_DEFAULT_MAX_PEERS;
    cfg->queue_bytes = TURN_DEFAULT_QUEUE_BYTES;
    cfg->permission_refresh = FLOE_SEC(240);
    cfg->permission_lifetime = FLOE_SEC(300);
    cfg->channel_rebind = FLOE_SEC(300);
    cfg->channel_lifetime = FLOE_SEC(600);
    cfg->keepalive = FLOE_SEC(25);
    cfg->backoff_min = FLOE_SEC(1);
    cfg->backoff_max = FLOE_SEC(60);
    cfg->txn = floe_stun_txn_config_turn();
}

static bool turn_str_ok(const char *s, size_t max)
{
    return s && strlen(s) <= max;
}

static int turn_check_config(const struct floe_turn_config *cfg)
{
    if (!cfg->rng.fill || !cfg->server.family || !cfg->server.port)
        return FLOE_ERR_INVALID_ARG;
    if (!turn_str_ok(cfg->username, FLOE_TURN_USERNAME_MAX) ||
        !turn_str_ok(cfg->password, FLOE_TURN_PASSWORD_MAX) ||
        (cfg->software && strlen(cfg->software) >= 128))
        return FLOE_ERR_INVALID_ARG;
    if (!cfg->max_peers || cfg->max_peers > TURN_MAX_PEERS_LIMIT || !cfg->backoff_min ||
        cfg->backoff_max < cfg->backoff_min || !cfg->keepalive || !cfg->lifetime_s)
        return FLOE_ERR_INVALID_ARG;
    return 0;
}

int floe_turn_new(struct floe_turn **out, const struct floe_turn_config *cfg)
{
    struct floe_turn *t;

    if (!out || !cfg || turn_check_config(cfg) < 0)
        return FLOE_ERR_INVALID_ARG;
    t = floe_mem_calloc(&cfg->alloc, 1, sizeof(*t));
    if (!t)
        return FLOE_ERR_NOMEM;
    t->cfg = *cfg;
    if (floe__turn_peers_init(t) < 0) {
        floe_mem_free(&cfg->alloc, t);
        return FLOE_ERR_NOMEM;
    }
    (void)floe_turn_set_credentials(t, cfg->username, cfg->password);
    if (cfg->software)
        memcpy(t->software, cfg->software, strlen(cfg->software) + 1);
    t->cfg.username = t->username;
    t->cfg.password = NULL;
    t->cfg.software = NULL;
    t->backoff = cfg->backoff_min;
    *out = t;
    return 0;
}

void floe_turn_free(struct floe_turn *t)
{
    struct floe_allocator al;

    if (!t)
        return;
    al = t->cfg.alloc;
    floe__turn_peers_deinit(t);
    floe_wipe(t, sizeof(*t));
    floe_mem_free(&al, t);
}

/* The credentials now in use become username and password (the key again from the realm). */
static int turn_use_credentials(struct floe_turn *t, const char *username, const char *password)
{
    if (t->cur_allocated && t->have_key) {
        memcpy(t->prev_username, t->username, sizeof(t->prev_username));
        memcpy(t->prev_key, t->key, sizeof(t->prev_key));
        t->has_prev = true;
        /* A stale allocation's deletion in flight goes on (and is answered) with them. */
        if (t->refresh_req.active && t->refresh_req.lifetime == 0)
            t->refresh_req.prev = true;
    }
    t->cur_allocated = false;
    floe_wipe(t->password, sizeof(t->password));
    memmove(t->username, username, strlen(username) + 1);
    memmove(t->password, password, strlen(password) + 1);
    t->have_key = false;
    return t->realm_len ? floe__turn_derive_key(t) : 0;
}

/*
 * An allocation stands on the server under the current username (or is being deleted), or an
 * Allocate or a deletion signed with it is in flight: its answer is checked with that key.
 */
static bool turn_is_bound(const struct floe_turn *t)
{
    return t->state == FLOE_TURN_ALLOCATED || t->state == FLOE_TURN_CLOSING ||
           (t->alloc_req.active && t->alloc_req.authed) ||
           (t->refresh_req.active && t->refresh_req.authed);
}

int floe_turn_set_credentials(struct floe_turn *t, const char *username, const char *password)
{
    if (!t || !turn_str_ok(username, FLOE_TURN_USERNAME_MAX) ||
        !turn_str_ok(password, FLOE_TURN_PASSWORD_MAX))
        return FLOE_ERR_INVALID_ARG;
    floe_wipe(t->next_password, sizeof(t->next_password));
    t->has_next = false;
    if (strcmp(username, t->username) == 0 && strcmp(password, t->password) == 0)
        return 0;
    if (!turn_is_bound(t) || strcmp(username, t->username) == 0)
        return turn_use_credentials(t, username, password);
    memcpy(t->next_username, username, strlen(username) + 1);
    memcpy(t->next_password, password, strlen(password) + 1);
    t->has_next = true;
    return 0;
}

/* ----------------------------------------------------------------- events */

void floe__turn_event(struct floe_turn *t, const struct floe_turn_event *ev)
{
    struct floe_turn_event *slot;

    if (t->ev_len == FLOE_TURN_EVENT_QUEUE) {
        t->ev_head = (t->ev_head + 1) % FLOE_TURN_EVENT_QUEUE;
        t->ev_len--;
        t->stats.drops[FLOE_TURN_DROP_EVENTS]++;
    }
    slot = &t->events[(t->ev_head + t->ev_len) % FLOE_TURN_EVENT_QUEUE];
    *slot = *ev;
    slot->server = t->cfg.server;
    t->ev_len++;
}

static void turn_copy_reason(char *out, size_t cap, const char *reason)
{
    size_t i;

    for (i = 0; reason && reason[i] && i + 1 < cap; i++)
        out[i] = (reason[i] >= 0x20 && reason[i] < 0x7F) ? reason[i] : '?';
    out[i] = '\0';
}

void floe__turn_event_error(struct floe_turn *t, uint16_t method, int code, int err,
                            const char *reason, const struct floe_addr *peer)
{
    struct floe_turn_event ev;
    struct floe_log_field f[] = {
        FLOE_LF_A("relay", &t->cfg.server),
        FLOE_LF_U("method", method),
        FLOE_LF_I("code", code),
        FLOE_LF_S("reason", reason ? reason : ""),
        FLOE_LF_A("peer", peer),
    };
    /* A relay's policy refusing a peer (RFC 8656 403: e.g. the peer's private addresses, which
     * ICE tries through every relay) is expected: not worth an info line per check. */
    enum floe_log_level lv =
        method == FLOE_STUN_CREATE_PERMISSION && code == FLOE_TURN_ERR_FORBIDDEN ? FLOE_LOG_DEBUG
                                                                                 : FLOE_LOG_INFO;

    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_TURN_EV_ERROR;
    ev.method = method;
    ev.code = code;
    ev.err = err;
    if (peer)
        ev.addr = *peer;
    turn_copy_reason(ev.reason, sizeof(ev.reason), reason);
    floe__turn_event(t, &ev);
    floe_log_emit(&t->cfg.log, lv, TURN_TARGET, "turn request failed", f, peer ? 5 : 4);
}

static void turn_event_cand(struct floe_turn *t, enum floe_turn_event_kind kind,
                            enum floe_turn_cand_kind cand, const struct floe_addr *addr)
{
    struct floe_turn_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.cand = cand;
    ev.addr = *addr;
    floe__turn_event(t, &ev);
}

void floe__turn_drop(struct floe_turn *t, enum floe_turn_drop why, const char *detail)
{
    struct floe_log_field f[] = {
        FLOE_LF_A("relay", &t->cfg.server),
        FLOE_LF_S("reason", floe_turn_drop_name(why)),
        FLOE_LF_S("detail", detail ? detail : ""),
    };

    t->stats.drops[why]++;
    floe_log_emit(&t->cfg.log, FLOE_LOG_DEBUG, TURN_TARGET, "dropped datagram", f, 3);
}

int floe_turn_poll_event(struct floe_turn *t, struct floe_turn_event *ev)
{
    if (!t || !ev)
        return FLOE_ERR_INVALID_ARG;
    if (!t->ev_len)
        return 0;
    *ev = t->events[t->ev_head];
    t->ev_head = (t->ev_head + 1) % FLOE_TURN_EVENT_QUEUE;
    t->ev_len--;
    return 1;
}

/* ------------------------------------------------------------- allocation */

/* Invalidate the relayed candidates, and the reflexive one when with_reflexive. */
static void turn_invalidate(struct floe_turn *t, bool with_reflexive)
{
    uint8_t i;

    for (i = 0; i < t->n_relayed; i++)
        turn_event_cand(t, FLOE_TURN_EV_CANDIDATE_INVALIDATED, FLOE_TURN_CAND_RELAYED,
                        &t->relayed[i]);
    t->n_relayed = 0;
    if (with_reflexive && t->reflexive.family) {
        turn_event_cand(t, FLOE_TURN_EV_CANDIDATE_INVALIDATED, FLOE_TURN_CAND_SERVER_REFLEXIVE,
                        &t->reflexive);
        memset(&t->reflexive, 0, sizeof(t->reflexive));
    }
}

/* Drop everything tied to the current allocation: candidates, peers, requests. */
static void turn_forget(struct floe_turn *t, bool with_reflexive)
{
    turn_invalidate(t, with_reflexive);
    floe__turn_peers_clear(t);
    floe__turn_req_stop(&t->alloc_req);
    floe__turn_req_stop(&t->refresh_req);
    floe__turn_req_stop(&t->bind_req);
}

void floe__turn_start_allocate(struct floe_turn *t, floe_time now)
{
    if (t->has_next) { /* a new allocation: the credentials given while the last one stood */
        t->has_next = false;
        (void)turn_use_credentials(t, t->next_username, t->next_password);
        floe_wipe(t->next_password, sizeof(t->next_password));
    }
    t->state = FLOE_TURN_ALLOCATING;
    t->alloc_req.stale = 0;
    floe__turn_req_start(t, &t->alloc_req, FLOE_STUN_ALLOCATE, -1, now);
}

void floe__turn_backoff(struct floe_turn *t, floe_time now)
{
    t->state = FLOE_TURN_BACKOFF;
    t->retry_at = floe_time_add(now, t->backoff);
    t->backoff = t->backoff > t->cfg.backoff_max / 2 ? t->cfg.backoff_max : t->backoff * 2;
}

static void turn_event_lost(struct floe_turn *t, int code, int err)
{
    struct floe_turn_event ev;
    struct floe_log_field f[] = {FLOE_LF_A("relay", &t->cfg.server), FLOE_LF_I("code", code)};

    memset(&ev, 0, sizeof(ev));
    ev.kind = FLOE_TURN_EV_ALLOCATION_LOST;
    ev.addr = t->relayed[0];
    ev.code = code;
    ev.err = err;
    turn_copy_reason(ev.reason, sizeof(ev.reason),
                     err == FLOE_ERR_TIMEOUT ? "server stopped answering"
                     : code == FLOE_TURN_ERR_ALLOCATION_MISMATCH
                         ? "allocation unknown to the server"
                         : "credentials refused");
    floe__turn_event(t, &ev);
    floe_log_emit(&t->cfg.log, FLOE_LOG_WARN, TURN_TARGET, "turn allocation lost", f, 2);
    t->stats.losses++;
}

void floe__turn_lose(struct floe_turn *t, floe_time now, int code, int err)
{
    turn_event_lost(t, code, err);
    turn_forget(t, err == FLOE_ERR_TIMEOUT);
    floe__turn_start_allocate(t, now); /* at once; later failures back off */
}

void floe__turn_fail(struct floe_turn *t, int code)
{
    if (t->state == FLOE_TURN_ALLOCATED)
        turn_event_lost(t, code, 0);
    turn_forget(t, true);
    t->state = FLOE_TURN_FAILED;
}

/* The server granted the allocation: new candidates, timers armed. */
void floe__turn_allocated(struct floe_turn *t, floe_time now, const struct floe_addr *relayed,
                          uint8_t n_relayed, const struct floe_addr *reflexive)
{
    uint8_t i;

    t->state = FLOE_TURN_ALLOCATED;
    t->cur_allocated = true;
    t->has_prev = false; /* an allocation of the 5-tuple under older credentials is gone */
    t->backoff = t->cfg.backoff_min;
    t->delete_pipelined = false;
    t->refresh_at = floe_time_add(now, t->lifetime / 2);
    t->keepalive_at = floe_time_add(now, t->cfg.keepalive);
    t->stats.allocations++;
    for (i = 0; i < n_relayed; i++) {
        t->relayed[i] = relayed[i];
        turn_event_cand(t, FLOE_TURN_EV_CANDIDATE_NEW, FLOE_TURN_CAND_RELAYED, &relayed[i]);
    }
    t->n_relayed = n_relayed;
    if (!reflexive->family || floe_addr_eq(reflexive, &t->reflexive))
        return;
    if (t->reflexive.family)
        turn_event_cand(t, FLOE_TURN_EV_CANDIDATE_INVALIDATED, FLOE_TURN_CAND_SERVER_REFLEXIVE,
                        &t->reflexive);
    t->reflexive = *reflexive;
    turn_event_cand(t, FLOE_TURN_EV_CANDIDATE_NEW, FLOE_TURN_CAND_SERVER_REFLEXIVE, reflexive);
}

/* --------------------------------------------------------------- commands */

int floe_turn_allocate(struct floe_turn *t, floe_time now)
{
    if (!t)
        return FLOE_ERR_INVALID_ARG;
    if (t->state == FLOE_TURN_ALLOCATING || t->state == FLOE_TURN_ALLOCATED ||
        t->state == FLOE_TURN_CLOSING)
        return FLOE_ERR_STATE;
    t->wanted = true;
    floe__turn_start_allocate(t, now);
    return 0;
}

int floe_turn_refresh(struct floe_turn *t, floe_time now)
{
    if (!t)
        return FLOE_ERR_INVALID_ARG;
    if (t->state != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_STATE;
    t->refresh_at = now;
    floe_turn_handle_timeout(t, now);
    return 0;
}

int floe_turn_close(struct floe_turn *t, floe_time now)
{
    if (!t)
        return FLOE_ERR_INVALID_ARG;
    if (t->state == FLOE_TURN_IDLE || t->state == FLOE_TURN_CLOSING)
        return FLOE_ERR_STATE;
    t->wanted = false;
    if (t->state != FLOE_TURN_ALLOCATED) {
        turn_forget(t, true);
        t->state = FLOE_TURN_IDLE;
        return 0;
    }
    turn_forget(t, true);
    t->state = FLOE_TURN_CLOSING;
    t->refresh_req.lifetime = 0;
    floe__turn_req_start(t, &t->refresh_req, FLOE_STUN_REFRESH, -1, now);
    return 0;
}

int floe_turn_reset(struct floe_turn *t, floe_time now)
{
    if (!t)
        return FLOE_ERR_INVALID_ARG;
    turn_forget(t, true);
    t->backoff = t->cfg.backoff_min;
    t->v6_refused = false;
    t->delete_pipelined = false;
    t->state = FLOE_TURN_IDLE;
    if (t->wanted)
        floe__turn_start_allocate(t, now);
    return 0;
}

/* ---------------------------------------------------------------- driving */

static void turn_timers(struct floe_turn *t, floe_time now)
{
    if (t->state == FLOE_TURN_BACKOFF && now >= t->retry_at) {
        floe__turn_start_allocate(t, now);
        return;
    }
    if (t->state != FLOE_TURN_ALLOCATED)
        return;
    if (now >= t->refresh_at && !t->refresh_req.active) {
        t->refresh_req.lifetime = t->cfg.lifetime_s;
        floe__turn_req_start(t, &t->refresh_req, FLOE_STUN_REFRESH, -1, now);
    }
    if (now >= t->keepalive_at) {
        t->keepalive_at = floe_time_add(now, t->cfg.keepalive);
        if (!t->bind_req.active)
            floe__turn_req_start(t, &t->bind_req, FLOE_STUN_BINDING, -1, now);
    }
}

void floe_turn_handle_timeout(struct floe_turn *t, floe_time now)
{
    if (!t)
        return;
    floe__turn_req_timeouts(t, now);
    turn_timers(t, now);
    if (t->state == FLOE_TURN_ALLOCATED)
        floe__turn_peers_timeout(t, now);
}

floe_time floe_turn_poll_timeout(const struct floe_turn *t)
{
    floe_time next;

    if (!t)
        return FLOE_TIME_NEVER;
    next = floe__turn_req_deadline(t);
    if (t->state == FLOE_TURN_BACKOFF)
        next = floe_time_min(next, t->retry_at);
    if (t->state != FLOE_TURN_ALLOCATED)
        return next;
    if (!t->refresh_req.active)
        next = floe_time_min(next, t->refresh_at);
    next = floe_time_min(next, t->keepalive_at);
    return floe_time_min(next, floe__turn_peers_deadline(t));
}

long floe_turn_poll_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap,
                             struct floe_addr *to)
{
    long n;

    if (!t || !buf || !to)
        return FLOE_ERR_INVALID_ARG;
    /* Queued payloads first: they waited for a permission that is now confirmed. */
    n = t->state == FLOE_TURN_ALLOCATED ? floe__turn_peers_flush(t, buf, cap) : 0;
    if (n == 0)
        n = floe__turn_req_transmit(t, now, buf, cap);
    if (n == 0 && t->state == FLOE_TURN_ALLOCATED)
        n = floe__turn_peers_transmit(t, now, buf, cap);
    if (n > 0)
        *to = t->cfg.server;
    return n < 0 ? FLOE_ERR_BUFFER_TOO_SMALL : n;
}

/* A STUN message from the server. */
static int turn_stun_in(struct floe_turn *t, floe_time now, const uint8_t *buf, size_t len,
                        struct floe_addr *peer, struct floe_span *data)
{
    struct floe_stun_msg msg;
    int rc = floe_stun_decode(&msg, buf, len);

    if (rc < 0) {
        floe__turn_drop(t, FLOE_TURN_DROP_MALFORMED, floe_strerror(rc));
        return FLOE_TURN_INPUT_CONSUMED;
    }
    if (msg.fingerprint_idx >= 0 && floe_stun_verify_fingerprint(&msg) != 0) {
        floe__turn_drop(t, FLOE_TURN_DROP_MALFORMED, "fingerprint check failed");
        return FLOE_TURN_INPUT_CONSUMED;
    }
    if (msg.cls == FLOE_STUN_SUCCESS || msg.cls == FLOE_STUN_ERROR)
        return floe__turn_response(t, now, &msg);
    if (msg.cls == FLOE_STUN_INDICATION && msg.method == FLOE_STUN_DATA)
        return floe__turn_data_indication(t, now, &msg, peer, data);
    floe__turn_drop(t, FLOE_TURN_DROP_UNEXPECTED, "not a response or Data indication");
    return FLOE_TURN_INPUT_CONSUMED;
}

int floe_turn_handle_input(struct floe_turn *t, floe_time now, const struct floe_addr *from,
                           const uint8_t *buf, size_t len, struct floe_addr *peer,
                           struct floe_span *data)
{
    if (!t || !from || (!buf && len) || !peer || !data)
        return FLOE_ERR_INVALID_ARG;
    if (!floe_addr_eq(from, &t->cfg.server)) {
        t->stats.ignored++;
        return FLOE_TURN_INPUT_IGNORED;
    }
    switch (floe_packet_classify(buf, len)) {
    case FLOE_PACKET_STUN:
        return turn_stun_in(t, now, buf, len, peer, data);
    case FLOE_PACKET_CHANNELDATA:
        return floe__turn_data_in(t, now, buf, len, peer, data);
    default:
        floe__turn_drop(t, FLOE_TURN_DROP_MALFORMED, "neither STUN nor ChannelData");
        return FLOE_TURN_INPUT_CONSUMED;
    }
}

/* ---------------------------------------------------------------- getters */

enum floe_turn_state floe_turn_get_state(const struct floe_turn *t)
{
    return t ? t->state : FLOE_TURN_IDLE;
}

int floe_turn_get_relayed(const struct floe_turn *t, enum floe_af family, struct floe_addr *out)
{
    uint8_t i;

    if (!t || !out || t->state != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_NOT_FOUND;
    for (i = 0; i < t->n_relayed; i++) {
        if (t->relayed[i].family == family) {
            *out = t->relayed[i];
            return 0;
        }
    }
    return FLOE_ERR_NOT_FOUND;
}

int floe_turn_get_reflexive(const struct floe_turn *t, struct floe_addr *out)
{
    if (!t || !out || t->state != FLOE_TURN_ALLOCATED || !t->reflexive.family)
        return FLOE_ERR_NOT_FOUND;
    *out = t->reflexive;
    return 0;
}

void floe_turn_get_stats(const struct floe_turn *t, struct floe_turn_stats *out)
{
    *out = t->stats;
}

const char *floe_turn_drop_name(enum floe_turn_drop d)
{
    static const char *const names[] = {
#define FLOE__TURN_DROP_STR(name, str) str,
        FLOE_TURN_DROP_TABLE(FLOE__TURN_DROP_STR)
#undef FLOE__TURN_DROP_STR
    };

    return (unsigned)d < FLOE_TURN_DROP_COUNT ? names[d] : "unknown";
}

const char *floe_turn_event_name(enum floe_turn_event_kind kind)
{
    static const char *const names[] = {
        "candidate_new", "candidate_invalidated",  "allocation_lost",
        "error",         "permission_established", "channel_established",
    };

    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

const char *floe_turn_state_name(enum floe_turn_state s)
{
    static const char *const names[] = {"idle",    "allocating", "allocated",
                                        "backoff", "closing",    "failed"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
