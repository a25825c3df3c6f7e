/*
 * Private to the portal message codec (msg.c, msg_decode.c, msg_encode.c): the string kinds
 * and their limits, shared by the decoder and the encoder so that both apply the same rules.
 */
#ifndef FLOE_PORTAL_MSG_INT_H
#define FLOE_PORTAL_MSG_INT_H

#include "floe/portal.h"

/* Kinds of strings in the protocol, each with a length range and a character set. */
enum floe__pm_str {
    FLOE__PM_ID,        /* 1..63 of [A-Za-z0-9._:-] */
    FLOE__PM_REF,       /* 1..31 printable ASCII */
    FLOE__PM_NAME,      /* 1..127 bytes, no control characters */
    FLOE__PM_REASON,    /* 0..127 bytes, no control characters */
    FLOE__PM_UFRAG,     /* 4..64 ice-chars [A-Za-z0-9+/] */
    FLOE__PM_ICE_PWD,   /* 22..128 ice-chars */
    FLOE__PM_TURN_CRED, /* 1..127 printable ASCII */
};

/* True when s[0..len) is a valid string of kind (and fits its buffer with a NUL). */
bool floe__pm_str_ok(enum floe__pm_str kind, const char *s, size_t len);

/* How the peer ids of a candidate message are spelled for (type, topic). */
enum floe__pm_ids {
    FLOE__PM_IDS_NONE,       /* not a candidate message */
    FLOE__PM_IDS_GATEWAY_ID, /* "gateway_id": one id */
    FLOE__PM_IDS_CLIENT_ID,  /* "client_id": one id */
    FLOE__PM_IDS_CLIENT_IDS, /* "client_ids": 1..FLOE_PORTAL_PEERS_MAX ids */
};

enum floe__pm_ids floe__pm_ids_of(enum floe_portal_msg_type type, enum floe_portal_topic topic);

/* The ids key ("gateway_id", "client_id", "client_ids"); NULL for NONE. */
const char *floe__pm_ids_key(enum floe__pm_ids ids);

/* Topic from its wire name[0..len); 0 when unknown. */
enum floe_portal_topic floe__pm_topic_parse(const char *name, size_t len);

/* Message type from (event name, topic): FLOE_PORTAL_MSG_NONE when none is valid. */
enum floe_portal_msg_type floe__pm_type_parse(const char *event, size_t len,
                                              enum floe_portal_topic topic);

/* Filter protocol wire names: "tcp", "udp", "icmp"; NULL outside the enum. */
const char *floe__pm_proto_name(uint8_t proto);

#endif
