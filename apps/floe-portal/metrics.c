/* /metrics: the daemon's counters as Prometheus text exposition format 0.0.4. */
#include <stdarg.h>
#include <stdio.h>

#include "portald.h"

/* name, type, help, field */
#define PORTALD_METRICS(X)                                                                         \
    X(connections_accepted_total, counter, "TCP connections accepted", connections_accepted)       \
    X(connections_refused_limit_total, counter,                                                    \
      "connections closed at --max-connections or the open-files limit",                           \
      connections_refused_limit)                                                                   \
    X(connections_refused_rate_total, counter, "connections closed by --addr-rate",                \
      connections_refused_rate)                                                                    \
    X(connections_open, gauge, "TCP connections open", connections_open)                           \
    X(http_requests_total, counter, "plain HTTP requests", http_requests)                          \
    X(http_bad_requests_total, counter, "malformed HTTP requests and unknown paths", http_bad)     \
    X(websocket_upgrades_total, counter, "WebSocket upgrades accepted", upgrades)                  \
    X(auth_failures_total, counter, "upgrades refused with 401 (wrong or missing token)",          \
      auth_failures)                                                                               \
    X(handshake_timeouts_total, counter, "connections closed before their upgrade finished",       \
      handshake_timeouts)                                                                          \
    X(tls_failures_total, counter, "TLS handshakes failed", tls_failures)                          \
    X(websocket_errors_total, counter, "WebSocket protocol errors and oversized frames",           \
      ws_errors)                                                                                   \
    X(messages_in_total, counter, "Phoenix messages received", messages_in)                        \
    X(messages_out_total, counter, "Phoenix messages sent", messages_out)                          \
    X(messages_bad_total, counter, "malformed or unknown messages dropped", messages_bad)          \
    X(messages_rate_limited_total, counter, "messages dropped by --token-rate", messages_limited)  \
    X(joins_total, counter, "channel joins", joins)                                                \
    X(clients_online, gauge, "Clients joined to this instance", clients_online)                    \
    X(gateways_online, gauge, "Gateways joined to this instance", gateways_online)                 \
    X(authorizations_requested_total, counter, "request_authorization received",                   \
      authorizations_requested)                                                                    \
    X(authorizations_created_total, counter, "authorizations created", authorizations_created)     \
    X(authorizations_failed_total, counter, "authorization_creation_failed sent",                  \
      authorizations_failed)                                                                       \
    X(authorizations_early_total, counter,                                                         \
      "authorization_created sent before the gateway's answer (with its announced candidates)",    \
      authorizations_early)                                                                        \
    X(gateway_announces_total, counter, "gateway_ice_candidates received", gateway_announces)      \
    X(candidates_looked_up_total, counter,                                                         \
      "candidate recipients whose authorization was looked up in the database (not cached)",       \
      candidates_looked_up)                                                                        \
    X(authorizations_renewed_total, counter, "access_authorization_expiry_updated sent",           \
      authorizations_renewed)                                                                      \
    X(authorizations_revoked_total, counter, "reject_access sent (revoked authorizations)",        \
      authorizations_revoked)                                                                      \
    X(candidates_relayed_total, counter, "ICE candidate messages delivered", candidates_relayed)   \
    X(invalidations_relayed_total, counter, "ICE invalidation messages delivered",                 \
      invalidations_relayed)                                                                       \
    X(candidates_refused_total, counter,                                                           \
      "candidate messages dropped: no live authorization between the devices", candidates_refused) \
    X(undeliverable_total, counter, "messages for a device connected nowhere", undeliverable)      \
    X(candidates_held_total, counter, "candidates held for a device connected nowhere",            \
      candidates_held)                                                                             \
    X(candidates_delivered_late_total, counter, "held candidates delivered after the join",        \
      candidates_delivered_late)                                                                   \
    X(candidates_expired_total, counter, "held candidates expired undelivered",                    \
      candidates_expired)                                                                          \
    X(candidates_dropped_bound_total, counter, "held candidates dropped by the bound",             \
      candidates_dropped_bound)                                                                    \
    X(candidates_cancelled_total, counter, "held candidates removed by their invalidation",        \
      candidates_cancelled)                                                                        \
    X(notifies_in_total, counter, "notifications received from other instances", notifies_in)      \
    X(notifies_out_total, counter, "notifications sent to other instances", notifies_out)          \
    X(changes_applied_total, counter, "configuration changes pushed", changes_applied)             \
    X(relays_up, gauge, "relays answering their health checks", relays_up)                         \
    X(relays_down, gauge, "relays not answering their health checks", relays_down)                 \
    X(relay_checks_sent_total, counter, "STUN Binding health checks sent", relay_checks_sent)      \
    X(relay_checks_answered_total, counter, "STUN Binding health checks answered",                 \
      relay_checks_answered)                                                                       \
    X(store_errors_total, counter, "database errors", store_errors)

struct portald_out {
    char *buf;
    size_t cap, len;
    bool overflow;
};

static void portald_out_printf(struct portald_out *o, const char *fmt, ...) FLOE_PRINTF(2, 3);

static void portald_out_printf(struct portald_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    o->len += (size_t)n;
}

long portald_metrics_render(const struct portald_stats *st, char *buf, size_t cap)
{
    struct portald_out o = {.buf = buf, .cap = cap};

    if (!st || !buf || cap == 0)
        return FLOE_ERR_INVALID_ARG;
#define PORTALD_METRIC_LINE(name, type, help, field)                                               \
    portald_out_printf(&o,                                                                         \
                       "# HELP floe_portal_" #name " " help "\n# TYPE floe_portal_" #name          \
                       " " #type "\nfloe_portal_" #name " %llu\n",                                 \
                       (unsigned long long)st->field);
    PORTALD_METRICS(PORTALD_METRIC_LINE)
#undef PORTALD_METRIC_LINE
    return o.overflow ? FLOE_ERR_BUFFER_TOO_SMALL : (long)o.len;
}
