/*
 * Portal message codec: the tables shared by the decoder and the encoder (event names, which
 * topic carries which event, string kinds and their limits).
 */
#include <string.h>

#include "msg_int.h"

#define TOPIC_BIT(t) (1u << (t))
#define ON_DEVICE (TOPIC_BIT(FLOE_PORTAL_TOPIC_CLIENT) | TOPIC_BIT(FLOE_PORTAL_TOPIC_GATEWAY))
#define ON_CLIENT TOPIC_BIT(FLOE_PORTAL_TOPIC_CLIENT)
#define ON_GATEWAY TOPIC_BIT(FLOE_PORTAL_TOPIC_GATEWAY)
#define ON_ANY (ON_DEVICE | TOPIC_BIT(FLOE_PORTAL_TOPIC_PHOENIX))

static const char *const pm_events[FLOE_PORTAL_MSG_COUNT] = {
#define PM_EVENT(name, event) [FLOE_PORTAL_MSG_##name] = event,
    FLOE_PORTAL_MSG_TABLE(PM_EVENT)
#undef PM_EVENT
};

/* The topics each type may travel on (docs/protocol.md, "Who sends what"). */
static const unsigned pm_topics[FLOE_PORTAL_MSG_COUNT] = {
    [FLOE_PORTAL_MSG_JOIN] = ON_DEVICE,
    [FLOE_PORTAL_MSG_REPLY] = ON_ANY,
    [FLOE_PORTAL_MSG_HEARTBEAT] = TOPIC_BIT(FLOE_PORTAL_TOPIC_PHOENIX),
    [FLOE_PORTAL_MSG_CHANNEL_ERROR] = ON_DEVICE,
    [FLOE_PORTAL_MSG_CHANNEL_CLOSE] = ON_DEVICE,
    [FLOE_PORTAL_MSG_INIT] = ON_DEVICE,
    [FLOE_PORTAL_MSG_RELAYS_PRESENCE] = ON_DEVICE,
    [FLOE_PORTAL_MSG_RESOURCE_UPDATED] = ON_DEVICE,
    [FLOE_PORTAL_MSG_RESOURCE_DELETED] = ON_DEVICE,
    [FLOE_PORTAL_MSG_CONFIG_CHANGED] = ON_DEVICE,
    [FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION] = ON_CLIENT,
    [FLOE_PORTAL_MSG_CREATE_AUTHORIZATION] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_AUTHORIZATION_CREATED] = ON_CLIENT,
    [FLOE_PORTAL_MSG_AUTHORIZATION_FAILED] = ON_CLIENT,
    [FLOE_PORTAL_MSG_REJECT_ACCESS] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_EXPIRY_UPDATED] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES] = ON_CLIENT,
    [FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES] = ON_CLIENT,
    [FLOE_PORTAL_MSG_BROADCAST_CANDIDATES] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_BROADCAST_INVALIDATED] = ON_GATEWAY,
    [FLOE_PORTAL_MSG_ICE_CANDIDATES] = ON_DEVICE,
    [FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES] = ON_DEVICE,
    [FLOE_PORTAL_MSG_GATEWAY_CANDIDATES] = ON_GATEWAY,
};

const char *floe_portal_msg_event(enum floe_portal_msg_type type)
{
    if (type <= FLOE_PORTAL_MSG_NONE || type >= FLOE_PORTAL_MSG_COUNT)
        return "unknown";
    return pm_events[type];
}

const char *floe_portal_topic_name(enum floe_portal_topic topic)
{
    switch (topic) {
    case FLOE_PORTAL_TOPIC_CLIENT:
        return "client";
    case FLOE_PORTAL_TOPIC_GATEWAY:
        return "gateway";
    case FLOE_PORTAL_TOPIC_PHOENIX:
        return "phoenix";
    }
    return "unknown";
}

bool floe_portal_msg_is_valid_on(enum floe_portal_msg_type type, enum floe_portal_topic topic)
{
    if (type <= FLOE_PORTAL_MSG_NONE || type >= FLOE_PORTAL_MSG_COUNT)
        return false;
    if (topic < FLOE_PORTAL_TOPIC_CLIENT || topic > FLOE_PORTAL_TOPIC_PHOENIX)
        return false;
    return (pm_topics[type] & TOPIC_BIT(topic)) != 0;
}

enum floe_portal_topic floe__pm_topic_parse(const char *name, size_t len)
{
    for (int t = FLOE_PORTAL_TOPIC_CLIENT; t <= FLOE_PORTAL_TOPIC_PHOENIX; t++) {
        const char *n = floe_portal_topic_name((enum floe_portal_topic)t);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return (enum floe_portal_topic)t;
    }
    return (enum floe_portal_topic)0;
}

enum floe_portal_msg_type floe__pm_type_parse(const char *event, size_t len,
                                              enum floe_portal_topic topic)
{
    for (int t = FLOE_PORTAL_MSG_NONE + 1; t < FLOE_PORTAL_MSG_COUNT; t++) {
        const char *n = pm_events[t];
        if (strlen(n) != len || memcmp(n, event, len) != 0)
            continue;
        if (floe_portal_msg_is_valid_on((enum floe_portal_msg_type)t, topic))
            return (enum floe_portal_msg_type)t;
    }
    return FLOE_PORTAL_MSG_NONE;
}

enum floe__pm_ids floe__pm_ids_of(enum floe_portal_msg_type type, enum floe_portal_topic topic)
{
    switch (type) {
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
        return FLOE__PM_IDS_GATEWAY_ID;
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
        return FLOE__PM_IDS_CLIENT_IDS;
    case FLOE_PORTAL_MSG_ICE_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES:
        return topic == FLOE_PORTAL_TOPIC_CLIENT ? FLOE__PM_IDS_GATEWAY_ID : FLOE__PM_IDS_CLIENT_ID;
    default:
        return FLOE__PM_IDS_NONE;
    }
}

const char *floe__pm_ids_key(enum floe__pm_ids ids)
{
    switch (ids) {
    case FLOE__PM_IDS_GATEWAY_ID:
        return "gateway_id";
    case FLOE__PM_IDS_CLIENT_ID:
        return "client_id";
    case FLOE__PM_IDS_CLIENT_IDS:
        return "client_ids";
    case FLOE__PM_IDS_NONE:
        break;
    }
    return NULL;
}

const char *floe__pm_proto_name(uint8_t proto)
{
    switch (proto) {
    case FLOE_PORTAL_PROTO_TCP:
        return "tcp";
    case FLOE_PORTAL_PROTO_UDP:
        return "udp";
    case FLOE_PORTAL_PROTO_ICMP:
        return "icmp";
    }
    return NULL;
}

static bool pm_id_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

static bool pm_ice_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static bool pm_printable(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static bool pm_text_char(unsigned char c)
{
    return c >= 0x20 && c != 0x7f; /* UTF-8 continuation bytes pass; jansson checked UTF-8 */
}

struct pm_kind {
    size_t min, max; /* length range; max + 1 is the buffer size */
    bool (*ok)(unsigned char c);
};

static const struct pm_kind pm_kinds[] = {
    [FLOE__PM_ID] = {1, FLOE_PORTAL_ID_MAX - 1, pm_id_char},
    [FLOE__PM_REF] = {1, FLOE_PORTAL_REF_MAX - 1, pm_printable},
    [FLOE__PM_NAME] = {1, FLOE_PORTAL_NAME_MAX - 1, pm_text_char},
    [FLOE__PM_REASON] = {0, FLOE_PORTAL_REASON_MAX - 1, pm_text_char},
    [FLOE__PM_UFRAG] = {4, FLOE_PORTAL_UFRAG_MAX - 1, pm_ice_char},
    [FLOE__PM_ICE_PWD] = {22, FLOE_PORTAL_ICE_PWD_MAX - 1, pm_ice_char},
    [FLOE__PM_TURN_CRED] = {1, FLOE_PORTAL_TURN_USER_MAX - 1, pm_printable},
};

bool floe__pm_str_ok(enum floe__pm_str kind, const char *s, size_t len)
{
    const struct pm_kind *k = &pm_kinds[kind];
    if (!s || len < k->min || len > k->max)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!k->ok((unsigned char)s[i]))
            return false;
    }
    return true;
}
