/*
 * floe-portal's store: one interface, two engines (SQLite and PostgreSQL), chosen by URL.
 *
 *   sqlite:PATH                  SQLite file (default sqlite:/var/lib/floe-portal/portal.db)
 *   postgresql://... postgres:// PostgreSQL (libpq connection URI)
 *
 * The model (issue 12): sites; site tokens with which gateways enrol; gateway and client
 * devices (by id and WireGuard public key, each with tunnel addresses from 100.64.0.0/11 and
 * fd00:2021:1111::/107, unique by database constraint and stable across reconnects); users and
 * their client tokens; resources (an IPv4/IPv6 CIDR with optional protocol/port filters) in
 * sites; groups, memberships and policies (group -> resource); relays (address, REST secret);
 * presence (device online at a portal instance, with a heartbeat that expires); authorizations
 * (client, gateway, resource, expiry); and a changes table: every configuration change writes a
 * row there in the same transaction (and, on PostgreSQL, a NOTIFY on FLOE_STORE_CHANGES_CHANNEL)
 * so an instance that missed a notification catches up with floe_store_changes_since().
 *
 * Tokens are "ID.HEX": the row id and 32 random bytes in hex. Only SHA-256 of the random bytes
 * is stored; a token is checked by loading its row by id and comparing the hashes in constant
 * time. The plain token is returned once, when it is made. All secrets (token hashes, relay
 * REST secrets) live in the database, none only in one instance's memory.
 *
 * Times are wall-clock seconds since the Unix epoch passed in by the caller (several instances
 * compare them), so tests can drive expiry.
 *
 * Errors: 0 or a negative FLOE_ERR_*: INVALID_ARG (input fails validation), NOT_FOUND (an id or
 * token that does not exist), STATE (a name or row that already exists), IO (the database
 * failed). floe_store_errmsg() says more about the last error. A store object belongs to one
 * thread; two store objects (two connections) may be used from two threads. On PostgreSQL a
 * lost connection is made again on the next call (a statement outside a transaction is retried
 * once; a transaction in progress fails with IO).
 */
#ifndef FLOE_PORTAL_STORE_H
#define FLOE_PORTAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"

#define FLOE_STORE_DEFAULT_URL "sqlite:/var/lib/floe-portal/portal.db"
#define FLOE_STORE_SCHEMA_VERSION 5
/* The most clients floe_store_authorizations_live checks at once (a broadcast's recipients). */
#define FLOE_STORE_LIVE_MAX 32
#define FLOE_STORE_CHANGES_CHANNEL "floe_changes"
/* A device is online while its heartbeat is at most this old (seconds; 3 missed 10 s beats). */
#define FLOE_STORE_PRESENCE_TTL 30

#define FLOE_STORE_NAME_MAX 64      /* names: 1..64 bytes, printable, no control characters */
#define FLOE_STORE_TOKEN_BYTES 32   /* random bytes of a token */
#define FLOE_STORE_TOKEN_STRLEN 96  /* "ID.HEX" with NUL, enough for any id */
#define FLOE_STORE_KEY_STRLEN 45    /* a WireGuard public key in base64 (44) with NUL */
#define FLOE_STORE_CIDR_STRLEN 50   /* "ffff:...:ffff/128" with NUL */
#define FLOE_STORE_ADDR_STRLEN 64   /* relay address "host:port" with NUL */
#define FLOE_STORE_SECRET_MAX 128   /* relay REST secret, bytes with NUL */
#define FLOE_STORE_FILTERS_MAX 16   /* filters of one resource */
#define FLOE_STORE_CHANNEL_MAX 64   /* NOTIFY channel name with NUL */
#define FLOE_STORE_PAYLOAD_MAX 8000 /* NOTIFY payload (PostgreSQL's limit is 8000 bytes) */
#define FLOE_STORE_INSTANCE_MAX 64  /* portal instance id with NUL */

struct floe_store;

enum floe_store_engine {
    FLOE_STORE_SQLITE = 1,
    FLOE_STORE_POSTGRES = 2,
};

enum floe_store_device_kind {
    FLOE_STORE_CLIENT = 1,
    FLOE_STORE_GATEWAY = 2,
};

enum floe_store_proto {
    FLOE_STORE_PROTO_TCP = 6,
    FLOE_STORE_PROTO_UDP = 17,
    FLOE_STORE_PROTO_ICMP = 1,
};

/* One filter of a resource: a protocol and, for tcp/udp, ports lo..hi (0..0 = all ports). */
struct floe_store_filter {
    enum floe_store_proto proto;
    uint16_t port_lo, port_hi;
};

/* A resource: no filters means every protocol and port. */
struct floe_store_resource {
    int64_t id;
    int64_t site_id;
    char name[FLOE_STORE_NAME_MAX + 1];
    char cidr[FLOE_STORE_CIDR_STRLEN]; /* normalised: host bits zero, "10.0.0.0/24", "fd00::/64" */
    struct floe_store_filter filters[FLOE_STORE_FILTERS_MAX];
    size_t n_filters;
};

/* A device: a client (user_id set) or a gateway (site_id set), with its tunnel addresses. */
struct floe_store_device {
    int64_t id;
    enum floe_store_device_kind kind;
    int64_t site_id; /* gateways; 0 for clients */
    int64_t user_id; /* clients; 0 for gateways */
    char name[FLOE_STORE_NAME_MAX + 1];
    char public_key[FLOE_STORE_KEY_STRLEN];
    char ipv4[16]; /* in 100.64.0.0/11 */
    char ipv6[48]; /* in fd00:2021:1111::/107 */
};

/* What a token authenticates: a client token (user) or a site token (gateways of a site). */
struct floe_store_token_info {
    int64_t token_id;
    enum floe_store_device_kind kind;
    int64_t site_id; /* site tokens */
    int64_t user_id; /* client tokens */
};

struct floe_store_relay {
    int64_t id;
    char address[FLOE_STORE_ADDR_STRLEN]; /* "host:port" */
    char secret[FLOE_STORE_SECRET_MAX];   /* the TURN REST secret (coturn use-auth-secret) */
};

struct floe_store_authorization {
    int64_t id;
    int64_t client_id, gateway_id, resource_id; /* device, device, resource ids */
    int64_t expires_at;                         /* seconds since the epoch */
    /* The WireGuard preshared key the portal made for the pair (base64), "" if none: kept in
     * the database so that any instance can hand it out again. Never listed. */
    char preshared_key[FLOE_STORE_KEY_STRLEN];
};

/* What a gateway is told about one authorization: reject_access or its new expires_at. */
struct floe_store_access {
    int64_t gateway_id, client_id, resource_id;
    int64_t expires_at; /* seconds since the epoch */
    bool revoked;       /* floe_store_gateway_access: a revocation (else a live one) */
};

/* One row of the changes table. payload is JSON, e.g. {"resource_id":3}. */
struct floe_store_change {
    int64_t id;
    char
        kind[32]; /* "site_removed", "resource_created", "resource_deleted", "policy_created",... */
    char payload[256];
};

/* A notification received on a channel this connection listens on. */
struct floe_store_notification {
    char channel[FLOE_STORE_CHANNEL_MAX];
    char payload[FLOE_STORE_PAYLOAD_MAX + 1];
};

/* A table of strings for listing (the admin CLI): cols column names, rows x cols cells. */
struct floe_store_table {
    size_t cols, rows;
    char **names;  /* cols names */
    char **cells;  /* rows * cols cells, row-major; NULL for SQL NULL */
    bool *numeric; /* cols flags: the column holds integers (JSON numbers) */
};

/* The entities floe_store_list() lists. */
enum floe_store_entity {
    FLOE_STORE_SITES,
    FLOE_STORE_SITE_TOKENS,
    FLOE_STORE_USERS,
    FLOE_STORE_CLIENT_TOKENS,
    FLOE_STORE_RESOURCES,
    FLOE_STORE_GROUPS,
    FLOE_STORE_MEMBERS,
    FLOE_STORE_POLICIES,
    FLOE_STORE_RELAYS,
    FLOE_STORE_DEVICES,        /* every device with its addresses and presence */
    FLOE_STORE_ONLINE,         /* devices online now (fresh presence) */
    FLOE_STORE_AUTHORIZATIONS, /* authorizations not expired now */
};

/* ----------------------------------------------------------------- lifecycle */

/*
 * Open the database at url (NULL: FLOE_STORE_DEFAULT_URL) and migrate it to
 * FLOE_STORE_SCHEMA_VERSION (creating the schema on first open). *out is the new store.
 * Returns 0, INVALID_ARG (an URL of no known engine), IO (cannot open or migrate); err (may be
 * NULL) receives a message.
 */
int floe_store_open(const char *url, struct floe_store **out, char *err, size_t err_cap);
/* Close the connection and free the store. NULL is a no-op. */
void floe_store_close(struct floe_store *s);
/* The engine behind s. */
enum floe_store_engine floe_store_engine_of(const struct floe_store *s);
/* The schema version the database is at (FLOE_STORE_SCHEMA_VERSION after open), or IO. */
int floe_store_schema_version(struct floe_store *s);
/* The message of the last error on s ("" if none); valid until the next call on s. */
const char *floe_store_errmsg(const struct floe_store *s);
/* Allocation attempts that met an address already taken and were retried (since open). */
uint64_t floe_store_alloc_retries(const struct floe_store *s);
/*
 * Times the PostgreSQL connection was lost and made again (0 on SQLite). After a reconnect the
 * store listens again on its channels, but notifications sent meanwhile are lost: when this
 * grows, catch up with floe_store_changes_since().
 */
uint64_t floe_store_reconnects(const struct floe_store *s);
/* SQL statements run on s since open (transaction control included): what a batch costs. */
uint64_t floe_store_statements(const struct floe_store *s);
/* Rows the statements run on s returned since open: what a lookup reads. */
uint64_t floe_store_rows_read(const struct floe_store *s);

/* ------------------------------------------------------------- configuration */

/*
 * Every write below records a changes row (kind and a JSON payload naming the id) and, on
 * PostgreSQL, a NOTIFY on FLOE_STORE_CHANGES_CHANNEL, in the same transaction as the change.
 * An add returns the new row's id in *id. Errors: INVALID_ARG (validation; floe_store_errmsg
 * says which), NOT_FOUND (an id that does not exist), STATE (a unique name or pair taken), IO.
 */

/* Add a site named name (unique). */
int floe_store_site_add(struct floe_store *s, const char *name, int64_t *id);
/* Remove a site with its tokens, gateways, resources (and their policies). NOT_FOUND. */
int floe_store_site_remove(struct floe_store *s, int64_t id);
/*
 * A site token for gateways of site_id: *id is its row, token (cap FLOE_STORE_TOKEN_STRLEN) the
 * plain token, shown once. NOT_FOUND (no such site), INVALID_ARG (cap too small).
 */
int floe_store_site_token_add(struct floe_store *s, int64_t site_id, int64_t *id, char *token,
                              size_t cap);
/* Add a user named name (unique). */
int floe_store_user_add(struct floe_store *s, const char *name, int64_t *id);
/* Remove a user, their tokens, memberships and client devices. NOT_FOUND. */
int floe_store_user_remove(struct floe_store *s, int64_t id);
/* A client token of user_id (same outputs as floe_store_site_token_add). */
int floe_store_client_token_add(struct floe_store *s, int64_t user_id, int64_t *id, char *token,
                                size_t cap);
/* Revoke a token (site or client) by id. NOT_FOUND. */
int floe_store_token_remove(struct floe_store *s, int64_t id);
/*
 * Add r (id ignored) in r->site_id after validating it (name unique in the site, CIDR
 * normalised in place, filters). INVALID_ARG, NOT_FOUND (site), STATE (name taken).
 */
int floe_store_resource_add(struct floe_store *s, struct floe_store_resource *r, int64_t *id);
/* Remove a resource with its policies and authorizations. NOT_FOUND. */
int floe_store_resource_remove(struct floe_store *s, int64_t id);
/* Add a group named name (unique). */
int floe_store_group_add(struct floe_store *s, const char *name, int64_t *id);
/* Remove a group with its memberships and policies. NOT_FOUND. */
int floe_store_group_remove(struct floe_store *s, int64_t id);
/* Add user_id to group_id. NOT_FOUND (either id), STATE (already a member). */
int floe_store_member_add(struct floe_store *s, int64_t group_id, int64_t user_id);
/* Take user_id out of group_id. NOT_FOUND (not a member). */
int floe_store_member_remove(struct floe_store *s, int64_t group_id, int64_t user_id);
/* Allow group_id to reach resource_id. NOT_FOUND, STATE (the same policy exists). */
int floe_store_policy_add(struct floe_store *s, int64_t group_id, int64_t resource_id, int64_t *id);
/* Remove a policy. NOT_FOUND. */
int floe_store_policy_remove(struct floe_store *s, int64_t id);
/*
 * A relay at address ("host:port" or "[v6]:port", unique) with its REST secret (printable, no
 * spaces). INVALID_ARG, STATE.
 */
int floe_store_relay_add(struct floe_store *s, const char *address, const char *secret,
                         int64_t *id);
/* Remove a relay. NOT_FOUND. */
int floe_store_relay_remove(struct floe_store *s, int64_t id);
/*
 * Remove a device (a lost laptop, a retired gateway) with its addresses, presence and
 * authorizations; its key may enrol again as a new device. NOT_FOUND.
 */
int floe_store_device_remove(struct floe_store *s, int64_t id);
/* Delete changes rows older than before (seconds since the epoch); *removed may be NULL. */
int floe_store_changes_prune(struct floe_store *s, int64_t before, int64_t *removed);

/*
 * Every relay with its secret, by id: *out is an array of *n the caller frees with free()
 * (NULL when *n is 0). IO.
 */
int floe_store_relays(struct floe_store *s, struct floe_store_relay **out, size_t *n);
/* A resource by id, filters parsed. NOT_FOUND. */
int floe_store_resource_get(struct floe_store *s, int64_t id, struct floe_store_resource *out);

/*
 * List entity as a table (see the enum; secrets and token hashes are never listed). now is the
 * wall clock for FLOE_STORE_ONLINE and FLOE_STORE_AUTHORIZATIONS. Free *out with
 * floe_store_table_free. INVALID_ARG (no such entity), IO.
 */
int floe_store_list(struct floe_store *s, enum floe_store_entity entity, int64_t now,
                    struct floe_store_table *out);
/* Free what floe_store_list filled (t itself is the caller's). NULL is a no-op. */
void floe_store_table_free(struct floe_store_table *t);

/* ------------------------------------------------------------ the daemon's queries */

/*
 * Check a plain token: load its row by id, compare SHA-256 of its secret in constant time.
 * NOT_FOUND for any token that is malformed, unknown, revoked or wrong (no detail on purpose).
 */
int floe_store_token_authenticate(struct floe_store *s, const char *token,
                                  struct floe_store_token_info *out);
/*
 * The device of this token's owner with public_key (base64 WireGuard key): created on first
 * use with newly allocated tunnel addresses, the same device and addresses afterwards. name
 * (NULL or "": the key) names it when it is created. INVALID_ARG (bad key or name), STATE (the key
 * belongs to another owner's device), IO.
 */
int floe_store_device_upsert(struct floe_store *s, const struct floe_store_token_info *owner,
                             const char *public_key, const char *name,
                             struct floe_store_device *out);
/* A device by id. NOT_FOUND. */
int floe_store_device_get(struct floe_store *s, int64_t id, struct floe_store_device *out);
/*
 * Resources client device client_id may reach (through its user's groups and policies), by id:
 * an array the caller frees with free() (NULL when *n is 0). Not a client: none.
 */
int floe_store_client_resources(struct floe_store *s, int64_t client_id,
                                struct floe_store_resource **out, size_t *n);
/* Whether client device client_id may reach resource_id: 1 yes, 0 no, or an error. */
int floe_store_client_allowed(struct floe_store *s, int64_t client_id, int64_t resource_id);

/* Device id is online at instance since now (insert or refresh its heartbeat). */
int floe_store_presence_set(struct floe_store *s, int64_t device_id, const char *instance,
                            int64_t now);
/*
 * Devices ids[0..n) are online at instance since now: the periodic heartbeat of every device an
 * instance holds, in one transaction of one statement per 500 ids (not one write per device).
 * Ids that no longer name a device (removed meanwhile) are skipped. INVALID_ARG, NOMEM, IO.
 */
int floe_store_presence_refresh(struct floe_store *s, const int64_t *ids, size_t n,
                                const char *instance, int64_t now);
/* Device id went offline (only if its presence is at instance). */
int floe_store_presence_clear(struct floe_store *s, int64_t device_id, const char *instance);
/* Delete presence rows whose heartbeat is older than ttl at now (instances that died). */
int floe_store_presence_expire(struct floe_store *s, int64_t now, int64_t ttl, int64_t *removed);
/*
 * Gateways of site_id whose heartbeat is at most ttl seconds old at now, by id: an array the
 * caller frees with free() (NULL when *n is 0).
 */
int floe_store_gateways_online(struct floe_store *s, int64_t site_id, int64_t now, int64_t ttl,
                               struct floe_store_device **out, size_t *n);
/*
 * An online gateway of site_id (heartbeat at most ttl seconds old at now) for a new
 * authorization, into *out: the first of prefer[0..n_prefer) that is one (the gateways the
 * client is connected to already), else the first online gateway at or after a point drawn
 * from r in the range of the site's gateway ids, wrapping around (a gateway that died is not
 * online: the client gets another). Indexed lookups of one row each, whatever the number of
 * online gateways (floe_store_gateways_online reads them all; only a run of the site's
 * offline gateways after the point is walked). NOT_FOUND when none is online.
 */
int floe_store_gateway_pick(struct floe_store *s, int64_t site_id, int64_t now, int64_t ttl,
                            const int64_t *prefer, size_t n_prefer, uint64_t r,
                            struct floe_store_device *out);
/* The instance device_id is connected to (heartbeat at most ttl old). NOT_FOUND if offline. */
int floe_store_presence_instance(struct floe_store *s, int64_t device_id, int64_t now, int64_t ttl,
                                 char instance[FLOE_STORE_INSTANCE_MAX]);

/* Record an authorization (all ids must exist). *id is its id. */
int floe_store_authorization_add(struct floe_store *s, const struct floe_store_authorization *a,
                                 int64_t *id);
/* An authorization by id, expired or not. NOT_FOUND. */
int floe_store_authorization_get(struct floe_store *s, int64_t id,
                                 struct floe_store_authorization *out);
/*
 * Which of clients[0..n) (n <= FLOE_STORE_LIVE_MAX) share with gateway_id an authorization
 * that is live at now: live[i] is true for those. Live: recorded (when the client asked, so
 * also while the gateway has not acknowledged it yet), not expired, its resource still granted
 * to the client's user by a policy. One indexed statement. INVALID_ARG, IO.
 */
int floe_store_authorizations_live(struct floe_store *s, int64_t gateway_id, const int64_t *clients,
                                   size_t n, int64_t now, bool *live);
/* Delete an authorization (the client went away, the gateway refused it). NOT_FOUND. */
int floe_store_authorization_remove(struct floe_store *s, int64_t id);
/* Delete authorizations expired at now; *removed (may be NULL) how many. */
int floe_store_authorizations_expire(struct floe_store *s, int64_t now, int64_t *removed);

/*
 * Authorizations after their creation (store_authz.c). A revocation is kept (table
 * revocations) until the authorization would have expired, so that the gateway hears of it
 * even when it was connected nowhere at the time. Arrays *out are freed by the caller with
 * free(); on error *out is NULL and *n 0.
 */
/* Revoke the unexpired authorizations no policy allows any more (in one transaction). */
int floe_store_authorizations_revoke(struct floe_store *s, int64_t now);
/* The revocations not claimed yet, claimed now (each by one caller only): to tell at once. */
int floe_store_revocations_claim(struct floe_store *s, int64_t now, struct floe_store_access **out,
                                 size_t *n);
/*
 * What gateway_id is told on its join, in one statement: its unexpired revocations not
 * superseded by a newer authorization of the same client and resource there (revoked set),
 * then its unexpired authorizations a policy allows (the newest per client and resource),
 * with their expiry.
 */
int floe_store_gateway_access(struct floe_store *s, int64_t gateway_id, int64_t now,
                              struct floe_store_access **out, size_t *n);
/*
 * Renew the authorizations within ttl / 2 of their expiry whose client was online at
 * online_since or later and that a policy allows (the newest per client and resource):
 * they expire at now + ttl. *out lists them (each renewal by one caller only).
 * INVALID_ARG for ttl <= 0.
 */
int floe_store_authorizations_renew(struct floe_store *s, int64_t now, int64_t ttl,
                                    int64_t online_since, struct floe_store_access **out,
                                    size_t *n);
/* Delete revocations whose authorization would have expired at now; *removed (may be NULL). */
int floe_store_revocations_expire(struct floe_store *s, int64_t now, int64_t *removed);

/* Changes with id > after_id, oldest first, at most max: an array the caller frees with free(). */
int floe_store_changes_since(struct floe_store *s, int64_t after_id, struct floe_store_change **out,
                             size_t *n, size_t max);
/* The id of the newest change (0 if none). */
int floe_store_changes_last(struct floe_store *s, int64_t *id);

/* --------------------------------------------------------- notifications */

/*
 * Listen on channel (letters, digits, '_'; FLOE_STORE_CHANGES_CHANNEL for changes). On
 * PostgreSQL a LISTEN; on SQLite the store records the channel and delivers what this same
 * store sends (one process holds every device). Returns 0, INVALID_ARG, IO.
 */
int floe_store_listen(struct floe_store *s, const char *channel);
/* The descriptor to poll for readability on PostgreSQL (PQsocket); -1 on SQLite. */
int floe_store_notify_fd(const struct floe_store *s);
/*
 * Take one pending notification: 1 = *out filled, 0 = none now, or IO. On PostgreSQL it reads
 * what arrived on the socket (PQconsumeInput) without blocking.
 */
int floe_store_poll_notify(struct floe_store *s, struct floe_store_notification *out);
/* Send payload on channel (pg_notify); on SQLite queue it if this store listens there. */
int floe_store_notify(struct floe_store *s, const char *channel, const char *payload);
/*
 * Messages for devices connected to other instances, in one statement: payloads[i] (a JSON
 * text of at most FLOE_STORE_PAYLOAD_MAX - 1 bytes) is notified on channel prefix + instance,
 * the instance the presence row of device to[i] names (heartbeat at most ttl seconds old at
 * now), in order; devices offline or at instance self are skipped. *sent is how many went out;
 * delivered (NULL, or n flags) says which (the caller holds the rest for later: hold.c).
 * PostgreSQL only (SQLite has one instance: INVALID_ARG, as for bad arguments); NOMEM, IO.
 */
int floe_store_notify_devices(struct floe_store *s, const int64_t *to, const char *const *payloads,
                              size_t n, const char *prefix, const char *self, int64_t now,
                              int64_t ttl, size_t *sent, bool *delivered);

/* ------------------------------------------------------ held candidates */

/*
 * Candidate messages for a device that is connected nowhere (issue 12): the portal keeps them
 * in the table held_candidates, one row per candidate (or invalidated candidate) in the order
 * they came, and hands them over when the device joins next, on whichever instance.
 */
#define FLOE_STORE_CANDIDATE_MAX 256 /* an RFC 8839 candidate string with NUL */

/* The limits of holding. */
struct floe_store_hold_limits {
    int64_t ttl;        /* seconds a held candidate lasts at most */
    int64_t per_peer;   /* held rows kept per (device, peer) pair: its newest ones */
    int64_t per_device; /* held rows kept per device: its newest ones */
};

/* What one floe_store_held_add did. */
struct floe_store_hold_result {
    bool held;       /* a row was added */
    bool cancelled;  /* an invalidation removed the held announcement of its candidate */
    bool duplicate;  /* the same row (candidate and kind) was held already: nothing added */
    int64_t dropped; /* older rows deleted to keep the limits */
};

/* One held candidate. */
struct floe_store_held {
    int64_t id; /* the order they came in */
    int64_t peer_id;
    bool invalidate;
    char candidate[FLOE_STORE_CANDIDATE_MAX];
};

/*
 * Hold candidate (invalidate: its invalidation) from device peer_id for device device_id at
 * now, in one transaction. An invalidation deletes the held announcement of its candidate for
 * the same pair and is held in its place (the device may know the candidate from before it
 * left; removing one twice changes nothing); a row held already (the same candidate and kind)
 * is not held twice. A new row expires after lim->ttl or with the newest unexpired
 * authorization between the two devices (either direction), whichever comes first; then the
 * oldest rows over lim->per_peer for the pair and over lim->per_device for the device are
 * deleted. INVALID_ARG (empty or too long candidate, bad limits), NOT_FOUND (no such device),
 * IO.
 */
int floe_store_held_add(struct floe_store *s, int64_t device_id, int64_t peer_id, bool invalidate,
                        const char *candidate, int64_t now,
                        const struct floe_store_hold_limits *lim,
                        struct floe_store_hold_result *out);
/*
 * Take what is held for device_id: the rows expired at now are deleted and counted in
 * *expired; the others are deleted and returned in *out (*n of them, oldest first; an array
 * the caller frees with free(), NULL when *n is 0). A row goes to one taker only (two
 * instances may race). IO, NOMEM.
 */
int floe_store_held_take(struct floe_store *s, int64_t device_id, int64_t now,
                         struct floe_store_held **out, size_t *n, int64_t *expired);
/* Delete held rows expired at now; *removed (may be NULL) how many. */
int floe_store_held_expire(struct floe_store *s, int64_t now, int64_t *removed);

#endif
