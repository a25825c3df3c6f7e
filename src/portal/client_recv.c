/*
 * Portal protocol client, receiving: the connection's events (open, error, closed) and its
 * messages, decoded and dispatched: replies to the join and to heartbeats are handled here,
 * init and the portal's other messages become events, everything else is dropped and counted.
 */
#include <stdio.h>
#include <string.h>

#include "client_int.h"

static const char *const pc_target = "portal";

static void pc_drop(struct floe_portal_client *c, enum floe_portal_drop d, const char *why)
{
    c->stats.drops[d]++;
    if (floe_log_enabled(&c->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[] = {FLOE_LF_S("drop", floe_portal_drop_name(d)),
                                     FLOE_LF_S("reason", why)};
        floe_log_emit(&c->cfg.log, FLOE_LOG_DEBUG, pc_target, "portal message dropped", f, 2);
    }
}

static void pc_on_join_reply(struct floe_portal_client *c, floe_time now,
                             const struct floe_portal_msg *m)
{
    if (!m->u.reply.ok) {
        char reason[FLOE_PORTAL_REASON_MAX + 16];
        snprintf(reason, sizeof(reason), "join refused: %s",
                 m->u.reply.reason[0] ? m->u.reply.reason : "error");
        bool unauthorized = strcmp(m->u.reply.reason, "unauthorized") == 0;
        floe__pc_lost(c, now, FLOE_ERR_PROTOCOL, unauthorized ? 401 : 0, reason);
        return;
    }
    c->state = FLOE_PORTAL_CLIENT_JOINED;
    c->attempt = 0;
    c->hb_missed = 0;
    c->stats.joins++;
    floe_log_emit(&c->cfg.log, FLOE_LOG_INFO, pc_target, "portal channel joined", NULL, 0);
    floe__pc_flush_held(c, now);
}

/* A phx_reply: 1 when it was the join's or a heartbeat's (consumed), 0 otherwise. */
static int pc_on_reply(struct floe_portal_client *c, floe_time now, const struct floe_portal_msg *m)
{
    if (m->has_ref)
        floe__pc_confirmed(c, m->ref); /* TCP is in order: what was sent before arrived */
    if (m->topic == FLOE_PORTAL_TOPIC_PHOENIX) {
        if (m->has_ref && c->hb_outstanding && strcmp(m->ref, c->hb_ref) == 0) {
            c->hb_outstanding = false;
            c->hb_missed = 0;
        }
        return 1; /* a late heartbeat reply is harmless */
    }
    if (c->state == FLOE_PORTAL_CLIENT_JOINING && m->has_ref && strcmp(m->ref, c->join_ref) == 0) {
        pc_on_join_reply(c, now, m);
        return 1;
    }
    return 0;
}

static bool pc_from_portal(enum floe_portal_msg_type t)
{
    switch (t) {
    case FLOE_PORTAL_MSG_JOIN:
    case FLOE_PORTAL_MSG_HEARTBEAT:
    case FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION:
    case FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED:
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
    case FLOE_PORTAL_MSG_GATEWAY_CANDIDATES:
        return false;
    default:
        return true;
    }
}

/* Dispatch a decoded message; takes m (given to an event or freed). */
static void pc_dispatch(struct floe_portal_client *c, floe_time now, struct floe_portal_msg *m)
{
    struct floe_portal_client_event ev = {0};
    if (m->topic != floe__pc_topic(c) && m->topic != FLOE_PORTAL_TOPIC_PHOENIX) {
        pc_drop(c, FLOE_PORTAL_DROP_UNEXPECTED, "another role's topic");
    } else if (m->type == FLOE_PORTAL_MSG_REPLY && pc_on_reply(c, now, m)) {
        /* consumed */
    } else if (m->type == FLOE_PORTAL_MSG_CHANNEL_ERROR ||
               m->type == FLOE_PORTAL_MSG_CHANNEL_CLOSE) {
        floe__pc_lost(c, now, FLOE_ERR_PROTOCOL, 0,
                      m->type == FLOE_PORTAL_MSG_CHANNEL_ERROR ? "portal channel failed (phx_error)"
                                                               : "portal closed the channel");
    } else if (!pc_from_portal(m->type) || c->state != FLOE_PORTAL_CLIENT_JOINED) {
        pc_drop(c, FLOE_PORTAL_DROP_UNEXPECTED, floe_portal_msg_event(m->type));
    } else {
        ev.kind = m->type == FLOE_PORTAL_MSG_INIT ? FLOE_PORTAL_EV_JOINED : FLOE_PORTAL_EV_MESSAGE;
        floe__pc_emit(c, &ev, m);
        return;
    }
    floe_mem_free(&c->cfg.alloc, m);
}

static void pc_on_text(struct floe_portal_client *c, floe_time now, struct floe_span text)
{
    char reason[FLOE_PORTAL_REASON_MAX];
    struct floe_portal_msg *m = floe_mem_malloc(&c->cfg.alloc, sizeof(*m));
    if (!m) {
        pc_drop(c, FLOE_PORTAL_DROP_EVENTS, "out of memory");
        return;
    }
    int rc = floe_portal_msg_decode(m, (const char *)text.ptr, text.len, reason, sizeof(reason));
    if (rc) {
        pc_drop(c,
                rc == FLOE_ERR_UNSUPPORTED ? FLOE_PORTAL_DROP_UNKNOWN : FLOE_PORTAL_DROP_MALFORMED,
                reason);
        floe_mem_free(&c->cfg.alloc, m);
        return;
    }
    c->stats.messages_in++;
    pc_dispatch(c, now, m);
}

static bool pc_connected(const struct floe_portal_client *c)
{
    return c->state == FLOE_PORTAL_CLIENT_CONNECTING || c->state == FLOE_PORTAL_CLIENT_JOINING ||
           c->state == FLOE_PORTAL_CLIENT_JOINED;
}

/* What ended the connection, from its ERROR and CLOSED events. */
struct pc_end {
    bool closed;
    int err, status;
    char text[FLOE_WSCONN_TEXT_MAX + 48];
};

static void pc_on_wire_event(struct floe_portal_client *c, floe_time now,
                             const struct floe_wsconn_event *wev, struct pc_end *end)
{
    switch (wev->kind) {
    case FLOE_WSCONN_EV_OPEN:
        if (c->state == FLOE_PORTAL_CLIENT_CONNECTING)
            floe__pc_join(c, now);
        break;
    case FLOE_WSCONN_EV_ERROR:
        end->closed = true; /* CLOSED follows; the connection is over either way */
        if (end->err == 0) {
            end->err = wev->err ? wev->err : FLOE_ERR_PROTOCOL;
            end->status = wev->http_status;
            snprintf(end->text, sizeof(end->text), "%s", wev->text);
        }
        break;
    case FLOE_WSCONN_EV_CLOSED:
        end->closed = true;
        if (end->err == 0) {
            end->err = wev->err ? wev->err : FLOE_ERR_IO;
            end->status = wev->http_status;
            snprintf(end->text, sizeof(end->text), "%s closed the connection (code %u%s%s)",
                     wev->by == FLOE_WSCONN_BY_PEER ? "portal" : "client", (unsigned)wev->code,
                     wev->text[0] ? ": " : "", wev->text);
        }
        break;
    case FLOE_WSCONN_EV_REQUEST:
        break; /* server role only */
    }
}

void floe__pc_pump(struct floe_portal_client *c, floe_time now)
{
    struct floe_wsconn_event wev;
    struct pc_end end = {0};
    struct floe_span text;
    while (c->ws && floe_wsconn_poll_event(c->ws, &wev) == 1)
        pc_on_wire_event(c, now, &wev, &end);
    while (c->ws && pc_connected(c) && floe_wsconn_poll_message(c->ws, &text) == 1)
        pc_on_text(c, now, text);
    if (end.closed && pc_connected(c))
        floe__pc_lost(c, now, end.err, end.status, end.text);
}

int floe_portal_client_handle_input(struct floe_portal_client *c, floe_time now,
                                    const uint8_t *data, size_t len)
{
    if (!c || (!data && len))
        return FLOE_ERR_INVALID_ARG;
    floe__pc_reclaim(c);
    if (!pc_connected(c))
        return FLOE_ERR_STATE;
    (void)floe_wsconn_handle_input(c->ws, now, data, len); /* failures arrive as events */
    floe__pc_pump(c, now);
    return 0;
}
