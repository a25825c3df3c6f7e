/*
 * Phoenix channels (docs/protocol.md): heartbeats on topic phoenix, phx_join on the topic of
 * the device's kind (client or gateway) answered by phx_reply and init, then the routed
 * events (route.c). Per-token rate limit on every message; malformed or unknown messages
 * are dropped and counted (answered with an error reply when they carry a ref).
 */
#include <stdio.h>
#include <string.h>

#include "floe_io.h"
#include "serve.h"

static void portald_dev_link(struct portald *d, struct portald_conn *c)
{
    struct portald_conn **head = &d->by_dev[(uint64_t)c->dev.id % PORTALD_DEVICE_BUCKETS];

    c->next_dev = *head;
    *head = c;
}

static void portald_dev_unlink(struct portald *d, struct portald_conn *c)
{
    struct portald_conn **p = &d->by_dev[(uint64_t)c->dev.id % PORTALD_DEVICE_BUCKETS];

    while (*p && *p != c)
        p = &(*p)->next_dev;
    if (*p)
        *p = c->next_dev;
    c->next_dev = NULL;
}

/* phx_reply on topic with ref: ok, or an error with reason. */
static void portald_reply(struct portald *d, struct portald_conn *c, enum floe_portal_topic topic,
                          const char *ref, const char *error)
{
    struct floe_portal_msg *m = d->msg;

    memset(m, 0, sizeof(*m));
    m->type = FLOE_PORTAL_MSG_REPLY;
    m->topic = topic;
    m->has_ref = ref && ref[0];
    if (m->has_ref)
        snprintf(m->ref, sizeof(m->ref), "%s", ref);
    m->u.reply.ok = error == NULL;
    if (error)
        snprintf(m->u.reply.reason, sizeof(m->u.reply.reason), "%s", error);
    (void)portald_send_msg(d, c);
}

static enum floe_portal_topic portald_topic_of(const struct portald_conn *c)
{
    return c->kind == PORTALD_KIND_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
}

static void portald_online_gauges(struct portald *d, const struct portald_conn *c, int delta)
{
    uint64_t *g =
        c->kind == PORTALD_KIND_CLIENT ? &d->stats.clients_online : &d->stats.gateways_online;

    *g = (uint64_t)((int64_t)*g + delta);
}

/* phx_join: the device's own topic only; a second connection of a device replaces the first. */
static void portald_join(struct portald *d, struct portald_conn *c, const char *ref)
{
    struct portald_conn *old;

    if (d->msg->topic != portald_topic_of(c)) {
        d->stats.messages_bad++;
        portald_reply(d, c, d->msg->topic, ref, "unmatched_topic");
        return;
    }
    if (!c->joined) {
        old = portald_device_conn(d, c->dev.id);
        if (old && old != c) {
            portald_dev_unlink(d, old);
            old->joined = false;
            portald_online_gauges(d, old, -1);
            portald_conn_close(d, old, FLOE_WS_CLOSE_POLICY, "replaced by a new connection");
        }
        portald_dev_link(d, c);
        c->joined = true;
        portald_online_gauges(d, c, +1);
        d->stats.joins++;
        if (floe_store_presence_set(d->store, c->dev.id, d->opts.instance, portald_wall()) < 0)
            d->stats.store_errors++;
    }
    portald_reply(d, c, portald_topic_of(c), ref, NULL);
    if (portald_push_init(d, c) == 0)
        (void)portald_send_msg(d, c);
    portald_hold_flush(d, c);
    if (c->kind == PORTALD_KIND_GATEWAY)
        portald_authz_gateway_joined(d, c);
    portald_log(d, FLOE_LOG_INFO, "%s %s joined (%s, %s)",
                c->kind == PORTALD_KIND_CLIENT ? "client" : "gateway", c->sid, c->dev.ipv4,
                c->dev.ipv6);
}

void portald_channel_message(struct portald *d, struct portald_conn *c, const char *json,
                             size_t len)
{
    char reason[160], ref[FLOE_PORTAL_REF_MAX];
    int64_t key = c->token.token_id;

    d->stats.messages_in++;
    if (c->kind == PORTALD_KIND_NONE || c->dead)
        return;
    if (!portald_rate_allow(&d->token_rate, &key, sizeof(key), floe_io_now())) {
        d->stats.messages_limited++;
        return;
    }
    if (floe_portal_msg_decode(d->msg, json, len, reason, sizeof(reason)) < 0) {
        d->stats.messages_bad++;
        portald_log(d, FLOE_LOG_DEBUG, "message from %s dropped: %s", c->sid, reason);
        return;
    }
    snprintf(ref, sizeof(ref), "%s", d->msg->has_ref ? d->msg->ref : "");
    switch (d->msg->type) {
    case FLOE_PORTAL_MSG_HEARTBEAT:
        portald_reply(d, c, FLOE_PORTAL_TOPIC_PHOENIX, ref, NULL);
        return;
    case FLOE_PORTAL_MSG_JOIN:
        portald_join(d, c, ref);
        return;
    default:
        break;
    }
    if (!c->joined || d->msg->topic != portald_topic_of(c)) {
        d->stats.messages_bad++;
        portald_reply(d, c, d->msg->topic, ref, "not_joined");
        return;
    }
    portald_route_message(d, c);
}

void portald_channel_closed(struct portald *d, struct portald_conn *c)
{
    if (!c->joined)
        return;
    portald_dev_unlink(d, c);
    c->joined = false;
    portald_online_gauges(d, c, -1);
    if (floe_store_presence_clear(d->store, c->dev.id, d->opts.instance) < 0)
        d->stats.store_errors++;
    portald_log(d, FLOE_LOG_INFO, "%s %s left",
                c->kind == PORTALD_KIND_CLIENT ? "client" : "gateway", c->sid);
}
