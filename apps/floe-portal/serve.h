/*
 * floe-portal's serving loop (the daemon proper): one thread, one epoll set.
 *
 *   listening TCP socket -> accept (limits: --max-connections, --addr-rate) -> one struct
 *   portald_conn per TCP connection with one floe_wsconn (server role, TLS unless --insecure)
 *   -> an HTTP request: /healthz, /metrics, or a WebSocket upgrade authenticated by the
 *   bearer token (401 otherwise) -> Phoenix channel messages (channel.c) -> routing between
 *   devices (route.c): to a device on this instance directly, to one on another instance
 *   through the store's NOTIFY (PostgreSQL).
 *
 * Also in the set: a signalfd (SIGTERM/SIGINT stop, SIGHUP reopens the log), the UDP sockets
 * of the relay checks (IPv4 and IPv6) and the store's notification socket; epoll_wait sleeps
 * until the earliest deadline (connections, relay checks, presence refresh, changes poll).
 */
#ifndef FLOE_PORTALD_SERVE_H
#define FLOE_PORTALD_SERVE_H

#include "floe/portal.h"
#include "floe/portal_wire.h"
#include "jsonlog.h"
#include "portald.h"
#include "store.h"

#define PORTALD_PRESENCE_REFRESH FLOE_SEC(15) /* rewrite presence rows this often */
#define PORTALD_PRESENCE_TTL 60               /* seconds a presence row counts as online */
#define PORTALD_CHANGES_POLL FLOE_SEC(1)      /* read the changes table this often */
/* Seconds a gateway has to acknowledge create_authorization (then "timeout" to the client). */
#define PORTALD_AUTHZ_ACK_TIMEOUT 5
#define PORTALD_AUTHZ_RENEW_MAX 15 /* seconds at most between renewal sweeps */
#define PORTALD_IDLE_TIMEOUT(d) FLOE_MS((d)->opts.idle_ms) /* nothing heard this long: close */
#define PORTALD_DEVICE_BUCKETS 4096
#define PORTALD_AUTHZ_MAX 1024 /* authorizations a client connection holds at once */
#define PORTALD_READ_CHUNK 16384
#define PORTALD_FDS_RESERVED 64           /* descriptors besides connections: store, sockets, log */
#define PORTALD_NOTIFY_PREFIX "floe_dev_" /* + instance id: messages for its devices */
#define PORTALD_OUTQ_MAX 256              /* candidates for other instances sent in one statement */
/* Candidates held for a device connected nowhere (hold.c): */
#define PORTALD_HOLD_TTL 120         /* seconds at most (less when the authorization ends first) */
#define PORTALD_HOLD_PER_PEER 64     /* the newest this many per (device, peer) pair */
#define PORTALD_HOLD_PER_DEVICE 1024 /* the newest this many per device */

enum portald_kind {
    PORTALD_KIND_NONE = 0, /* before the upgrade: plain HTTP */
    PORTALD_KIND_CLIENT = FLOE_STORE_CLIENT,
    PORTALD_KIND_GATEWAY = FLOE_STORE_GATEWAY,
};

/* A resource a client was told about: its id and a hash of what it was told. */
struct portald_seen {
    int64_t id;
    uint64_t hash;
};

/* An authorization made for a client on this instance (for revocation and the ack). */
struct portald_authz {
    int64_t id;
    int64_t gateway_id, resource_id;
    bool acked;        /* the gateway answered authorization_created */
    bool early;        /* the client had its answer before the gateway's (route.c) */
    int64_t asked;     /* when the client asked (wall seconds): unacknowledged, it times out */
    char *client_json; /* the prepared authorization_created for the client, until acked */
};

/* A peer a connection may exchange candidates with, until (wall seconds): peers.c. */
struct portald_peer_ok {
    int64_t peer;
    int64_t until;
};
#define PORTALD_PEER_OK_MAX 4096 /* entries per connection (the oldest goes) */

/* One TCP connection. */
struct portald_conn {
    int fd;
    size_t slot; /* index in portald.conns */
    uint64_t serial;
    void *wbuf; /* bytes left from a short write */
    bool dead;  /* freed after this round of events */
    struct floe_addr peer;
    struct floe_wsconn *ws;
    bool writing;      /* EPOLLOUT armed */
    bool closing;      /* the socket closes once the wsconn's last bytes are out */
    bool eof;          /* the peer closed its side */
    floe_time due;     /* the wsconn's deadline or the idle timeout */
    floe_time last_in; /* when bytes last arrived */
    /* after the upgrade */
    enum portald_kind kind;
    bool joined;
    struct floe_store_token_info token;
    struct floe_store_device dev;
    char sid[24];                  /* dev.id in decimal: the protocol's id */
    struct portald_conn *next_dev; /* the device table's chain */
    struct portald_seen *seen;     /* clients: resources sent, sorted by id */
    size_t n_seen;
    struct portald_authz *authz; /* clients: authorizations made for it */
    size_t n_authz, cap_authz;
    /* peers it may exchange candidates with (peers.c), at most PORTALD_PEER_OK_MAX */
    struct portald_peer_ok *peer_ok;
    size_t n_peer_ok, cap_peer_ok;
    /* gateways: the candidates it announced last (gateway_ice_candidates), NULL: none yet */
    char (*gw_cands)[FLOE_PORTAL_CANDIDATE_MAX];
    uint32_t n_gw_cands;
};

/* The daemon. */
struct portald {
    struct portald_opts opts;
    struct floe_jsonlog log;
    struct floe_store *store;
    struct ssl_ctx_st *tls;
    struct floe_rng rng;
    int epfd, listen_fd, signal_fd, udp_fd, udp6_fd, notify_fd;
    int spare_fd;                /* held to accept-and-close when out of file descriptors */
    struct portald_conn **conns; /* by slot; fd-independent */
    size_t n_conns, cap_conns, n_dead;
    floe_time next_due; /* the earliest connection deadline */
    uint64_t next_serial;
    struct portald_conn *by_dev[PORTALD_DEVICE_BUCKETS];
    struct portald_rate token_rate, addr_rate;
    struct portald_relays relays;
    struct floe_store_relay *relay_rows; /* the relays' rows (secrets), parallel to relays.r */
    size_t n_relay_rows;
    char offered[PORTALD_MAX_RELAYS][PORTALD_ID_MAX]; /* relays up at the last push */
    size_t n_offered;
    char gone[PORTALD_MAX_RELAYS][PORTALD_ID_MAX]; /* offered then, down or removed now */
    size_t n_gone;
    int64_t last_change;
    floe_time next_presence, next_changes, next_renew;
    floe_time stop_at; /* SIGTERM: stop by then at the latest */
    bool stopping;
    struct portald_stats stats;
    /* candidates for devices on other instances, sent in one statement per loop round */
    int64_t out_to[PORTALD_OUTQ_MAX];
    char *out_payload[PORTALD_OUTQ_MAX];
    size_t n_out;
    struct floe_portal_msg *msg; /* scratch for decoding and encoding */
    char *out;                   /* scratch JSON, FLOE_PORTAL_JSON_MAX */
};

/* serve.c: allocate, listen, open the signal and UDP sockets. 0 or <0 (printed why). */
int portald_serve_start(struct portald *d);
/* serve.c: run until SIGTERM/SIGINT and the connections are closed; free what start made. */
int portald_serve(struct portald *d);
/* peers.c: is peer in c's cache of live authorizations at now (wall seconds)? */
bool portald_peers_ok(struct portald_conn *c, int64_t peer, int64_t now);
/* peers.c: c may exchange candidates with peer until then (nothing kept if until <= now). */
void portald_peers_add(struct portald_conn *c, int64_t peer, int64_t now, int64_t until);
/* peers.c: empty c's cache (resources or policies changed). */
void portald_peers_clear(struct portald_conn *c);
/* peers.c: peer leaves c's cache (a revocation made here). */
void portald_peers_forget(struct portald_conn *c, int64_t peer);
/* peers.c: free c's cache. */
void portald_peers_free(struct portald_conn *c);
/* The wall clock in Unix seconds (expiry, presence). */
int64_t portald_wall(void);
/* Queue a JSON text on c's WebSocket and flush. Counts messages_out. */
int portald_send_json(struct portald *d, struct portald_conn *c, const char *json, size_t len);
/* Encode d->msg and send it to c. */
int portald_send_msg(struct portald *d, struct portald_conn *c);
/* Close c's WebSocket with code and reason (the socket follows). */
void portald_conn_close(struct portald *d, struct portald_conn *c, uint16_t code,
                        const char *reason);
/* The joined connection of device id on this instance, or NULL. */
struct portald_conn *portald_device_conn(struct portald *d, int64_t id);

/* http.c: a complete HTTP request on c: answer it or upgrade. */
void portald_http_request(struct portald *d, struct portald_conn *c, floe_time now);

/* channel.c: one text message from a device. */
void portald_channel_message(struct portald *d, struct portald_conn *c, const char *json,
                             size_t len);
/* The connection closed: presence and the device table. */
void portald_channel_closed(struct portald *d, struct portald_conn *c);

/* route.c: deliver a Phoenix JSON text to device id, here or through NOTIFY. */
int portald_deliver(struct portald *d, int64_t device_id, const char *json);
/* route.c: the same, through the queue portald_route_flush sends in one statement (0 queued). */
int portald_deliver_later(struct portald *d, int64_t device_id, const char *json);
/*
 * route.c: send the queued candidates for devices on other instances (one statement for all;
 * PostgreSQL). The loop calls it after every round of events; a message sent at once through
 * portald_deliver flushes the queue first, so that a device gets its messages in order.
 */
void portald_route_flush(struct portald *d);
/* route.c: the routed events of a joined device (after the channel checks). */
void portald_route_message(struct portald *d, struct portald_conn *c);
/* route.c: a notification for this instance's devices. */
void portald_route_notify(struct portald *d, const char *payload);
/* route.c: client c lost resource_id: forget its authorizations of it (not acked: never). */
void portald_route_revoke(struct portald *d, struct portald_conn *c, int64_t resource_id);
/* route.c: free what a client connection holds (authorizations). */
void portald_route_conn_free(struct portald_conn *c);
/* route.c: authorizations a gateway did not acknowledge within PORTALD_AUTHZ_ACK_TIMEOUT fail. */
void portald_route_timeouts(struct portald *d);

/*
 * hold.c: d->msg holds candidates (invalidate: invalidations) from device `from` that device
 * `to` could not get (connected nowhere): keep them in the store for its next join.
 */
void portald_hold_cands(struct portald *d, int64_t to, int64_t from, bool invalidate);
/* The same for the candidates cs (not d->msg's: portald_route_flush holds what it queued). */
void portald_hold_list(struct portald *d, const struct floe_portal_candidates *cs, int64_t to,
                       int64_t from, bool invalidate);
/* hold.c: c joined: send what is held for its device, in order (after init). */
void portald_hold_flush(struct portald *d, struct portald_conn *c);
/* hold.c: delete held candidates expired at wall (the periodic sweep), counted. */
void portald_hold_expire(struct portald *d, int64_t wall);
/*
 * hold.c: a notification carried msg_json for device `to`, which is not here: hold it when it
 * is a candidate message (true), else false. Uses d->msg.
 */
bool portald_hold_notified(struct portald *d, int64_t to, const char *msg_json);

/* push.c: a store resource as the protocol shows it. 0 or FLOE_ERR_MALFORMED (its CIDR). */
int portald_resource_convert(const struct floe_store_resource *r, struct floe_portal_resource *out);
/* push.c: the init payload of c into d->msg. */
int portald_push_init(struct portald *d, struct portald_conn *c);
/* push.c: read the relays from the store and set the health table. */
int portald_push_load_relays(struct portald *d);
/* push.c: relays_presence to every joined device when the health table changed. */
void portald_push_relays(struct portald *d);
/* push.c: catch up with the changes table and push what changed to the local devices. */
void portald_push_changes(struct portald *d);
/*
 * push.c: the notifications read so far (device messages delivered; a catch-up with the
 * changes table when it was notified). Called on the notification socket's input and after
 * every round of events: a statement on the store's connection may have read notifications
 * off its socket, which epoll then no longer reports.
 */
void portald_push_notified(struct portald *d);
/* push.c: the relays part of init / relays_presence for device sid into relays[]. */
uint32_t portald_push_relay_list(struct portald *d, const char *sid,
                                 struct floe_portal_relay *relays, uint32_t cap);

/* authz.c: revoke the authorizations no policy allows any more; reject_access to gateways. */
void portald_authz_revoke(struct portald *d);
/* authz.c: renew the authorizations near their expiry; expiry_updated to their gateways. */
void portald_authz_renew(struct portald *d);
/* authz.c: how often portald_authz_renew runs (a quarter of --authz-ttl, 1 s to 15 s). */
floe_time portald_authz_renew_every(const struct portald *d);
/* authz.c: gateway c joined: reject_access for what was revoked, the expiry of the rest. */
void portald_authz_gateway_joined(struct portald *d, struct portald_conn *c);

/* Log printf-style at level from target "portal". */
#define portald_log(d, level, ...)                                                                 \
    floe_jsonlog_logf(&(d)->log, (level), "portal", NULL, 0, __VA_ARGS__)

#endif
