/*
 * floe-gateway's per-client packet filter: sans-IO, no clock, no socket, no printf.
 *
 * The filter holds what the portal authorized: per client (its portal id, the node
 * connection cid it talks through, its tunnel addresses) a list of authorizations, each a
 * resource (CIDR and protocol/port filters from the portal) with an optional expiry. For
 * every packet it answers pass or drop-with-a-reason and counts the drops per reason:
 *
 *   from a client (decrypted, about to be written to the TUN): the source must be the
 *   tunnel address of the client behind cid; the destination must lie in a resource the
 *   client holds a live authorization for, and the protocol and destination port must be
 *   allowed by that resource's filters (no filters: everything allowed; icmp: ICMP/ICMPv6;
 *   fragments carry no ports, so a TCP/UDP fragment passes only a filter of the whole port
 *   range 0..65535).
 *
 *   to a client (read from the TUN, a resource's reply): the client is the one whose
 *   tunnel address is the destination; the source must lie in a resource it holds a live
 *   authorization for (ports are not checked: a stateless filter cannot tell a reply's
 *   ports from a new flow's, and the client side only ever starts flows).
 *
 * Time is Unix seconds given by the caller (expires_at is wall-clock time from the portal).
 * An authorization whose expires_at has passed is dead for the packet path at once;
 * floe_gwfilter_expire also removes it. A client left without authorizations (revoked,
 * expired, its resource deleted) is removed and reported once by floe_gwfilter_poll_gone, so
 * the caller can close its connection.
 *
 * Memory comes from the allocator in the config; capacities are bounded there. One thread.
 */
#ifndef FLOE_GATEWAY_FILTER_H
#define FLOE_GATEWAY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"
#include "floe/portal.h"

/* Verdicts: 0 passes; every other value is a drop reason, counted. */
enum floe_gwfilter_verdict {
    FLOE_GWF_PASS = 0,
    FLOE_GWF_DROP_MALFORMED,   /* not an IPv4/IPv6 packet, or a truncated header */
    FLOE_GWF_DROP_NO_CLIENT,   /* no client behind this cid / with this destination */
    FLOE_GWF_DROP_SPOOFED,     /* from a client: the source is not its tunnel address */
    FLOE_GWF_DROP_NO_RESOURCE, /* the address is in no resource the client holds */
    FLOE_GWF_DROP_FILTERED,    /* in a resource, but its protocol/port filters refuse it */
    FLOE_GWF_DROP_EXPIRED,     /* only an expired authorization covers the address */
    FLOE_GWF_VERDICT_COUNT,
};

/* Defaults of struct floe_gwfilter_config. */
#define FLOE_GWF_DEFAULT_MAX_CLIENTS 1024
#define FLOE_GWF_DEFAULT_MAX_AUTHS 64 /* authorizations (resources) per client */

struct floe_gwfilter_config {
    struct floe_allocator alloc; /* zeroed: the C library's */
    uint32_t max_clients;        /* 1..65536 */
    uint32_t max_auths;          /* per client, 1..4096 */
};

/* What create_authorization gives: who, through which connection, for what, until when. */
struct floe_gwfilter_auth {
    const char *client_id;                  /* the portal's client id */
    uint64_t cid;                           /* the node connection of the client, not 0 */
    struct floe_addr ipv4, ipv6;            /* its tunnel addresses (family 0: none) */
    const struct floe_portal_resource *res; /* copied */
    uint64_t expires_at;                    /* Unix seconds; 0: never */
};

/* A client removed because its last authorization ended. */
struct floe_gwfilter_gone {
    uint64_t cid;
    char client_id[FLOE_PORTAL_ID_MAX];
};

struct floe_gwfilter;

/* Fill cfg with the defaults (the C library's allocator, the FLOE_GWF_DEFAULT_* bounds). */
void floe_gwfilter_config_default(struct floe_gwfilter_config *cfg);

/*
 * A new, empty filter. Returns 0 and sets *out, FLOE_ERR_INVALID_ARG (NULL, bounds out of
 * range) or FLOE_ERR_NOMEM.
 */
int floe_gwfilter_new(struct floe_gwfilter **out, const struct floe_gwfilter_config *cfg);

/* Free f and everything it holds (NULL allowed). */
void floe_gwfilter_free(struct floe_gwfilter *f);

/*
 * Add or replace the authorization of a->client_id for a->res->id. The client's cid and
 * tunnel addresses take a's values (a client may reconnect with a new connection).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, an empty or over-long id, cid 0, no tunnel
 * address, a tunnel address of another client) or FLOE_ERR_NOMEM (max_clients or max_auths
 * reached, or the allocator failed); f is unchanged on error.
 */
int floe_gwfilter_authorize(struct floe_gwfilter *f, const struct floe_gwfilter_auth *a);

/*
 * reject_access: end client_id's access to resource_id at once. A client left with none is
 * removed (floe_gwfilter_poll_gone). Returns 0, FLOE_ERR_NOT_FOUND or FLOE_ERR_INVALID_ARG.
 */
int floe_gwfilter_revoke(struct floe_gwfilter *f, const char *client_id, const char *resource_id);

/*
 * access_authorization_expiry_updated: the new expiry (0: never). Returns 0,
 * FLOE_ERR_NOT_FOUND or FLOE_ERR_INVALID_ARG.
 */
int floe_gwfilter_set_expiry(struct floe_gwfilter *f, const char *client_id,
                             const char *resource_id, uint64_t expires_at);

/*
 * resource_created_or_updated: every authorization of res->id takes its new CIDR and
 * filters. Returns how many authorizations changed (0 when none has it), or
 * FLOE_ERR_INVALID_ARG.
 */
int floe_gwfilter_update_resource(struct floe_gwfilter *f, const struct floe_portal_resource *res);

/*
 * resource_deleted: remove every authorization of resource_id. Returns how many were
 * removed, or FLOE_ERR_INVALID_ARG.
 */
int floe_gwfilter_delete_resource(struct floe_gwfilter *f, const char *resource_id);

/* Remove every authorization expired at now (Unix seconds). Returns how many were removed. */
int floe_gwfilter_expire(struct floe_gwfilter *f, uint64_t now);

/* The earliest expires_at of any authorization (Unix seconds), UINT64_MAX when none. */
uint64_t floe_gwfilter_next_expiry(const struct floe_gwfilter *f);

/* Take the next removed client: 1 and *out filled, or 0 when none is left to report. */
int floe_gwfilter_poll_gone(struct floe_gwfilter *f, struct floe_gwfilter_gone *out);

/*
 * The verdict on pkt[0..len), decrypted from connection cid, at now (Unix seconds).
 * A drop is counted. The packet is only read.
 */
enum floe_gwfilter_verdict floe_gwfilter_from_client(struct floe_gwfilter *f, uint64_t now,
                                                     uint64_t cid, const uint8_t *pkt, size_t len);

/*
 * The verdict on pkt[0..len), read from the TUN, at now; on pass *cid is the connection of
 * the client it goes to. A drop is counted.
 */
enum floe_gwfilter_verdict floe_gwfilter_to_client(struct floe_gwfilter *f, uint64_t now,
                                                   const uint8_t *pkt, size_t len, uint64_t *cid);

/* The connection of client_id, 0 when the filter does not know it. */
uint64_t floe_gwfilter_client_cid(const struct floe_gwfilter *f, const char *client_id);

/* How many clients and authorizations the filter holds. */
size_t floe_gwfilter_clients(const struct floe_gwfilter *f);
size_t floe_gwfilter_auths(const struct floe_gwfilter *f);

/* Packets dropped for reason so far (0 for FLOE_GWF_PASS or an unknown reason). */
uint64_t floe_gwfilter_drops(const struct floe_gwfilter *f, enum floe_gwfilter_verdict reason);

/* The reason's name for logs and metrics ("spoofed", ...); "pass" for 0, "unknown" else. */
const char *floe_gwfilter_verdict_name(enum floe_gwfilter_verdict v);

#endif
