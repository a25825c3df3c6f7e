/*
 * floe_agent: the shared core of floe-client and floe-gateway (issue 13). One thread runs
 * one event loop that owns everything: the portal session (TCP to the portal, TLS and the
 * protocol in struct floe_portal_client), one node (floe/node.h) in the role's mode, one UDP
 * socket per family (SO_MARK set, GSO/GRO through floe_io), the TUN device with the tunnel
 * addresses from init, a timer from the node's and the portal client's poll_timeout, signals
 * (SIGTERM/SIGINT: clean exit; SIGHUP: log reopened and the node reset) and, on Linux, the
 * network watcher (a change outside the tunnel, quiet for FLOE_AGENT_ROAM_DEBOUNCE, resets
 * the node). Time is floe_io_now (CLOCK_BOOTTIME: counts suspend).
 *
 * The agent does what both roles do:
 *   portal init / relays_presence      -> node relay set (relay ids kept to remove them)
 *   portal ice_candidates / invalidate -> node remote candidates of the peer's connection
 *   node candidate events              -> portal candidate messages to the connection's peer
 *                                         (held by the portal client while it is down)
 *   TUN packets                        -> role.route -> node encapsulate (batch) -> UDP
 *   UDP datagrams                      -> node decapsulate (batch) -> role.accept -> TUN
 * and calls the role's hooks for what differs: the client's resources, routes and intents;
 * the gateway's authorizations, filters and NAT. A connection is the role's: it picks the id
 * (cid, never 0) and names the peer (the portal id candidates are addressed to).
 *
 * The OS-specific parts live in small files (loop_linux.c: epoll, timerfd, signalfd,
 * netwatch; sys_linux.c: host addresses, TUN addresses, routes and rules); a Windows port
 * adds its own pair behind the same internal header (agent_int.h).
 */
#ifndef FLOE_AGENT_H
#define FLOE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"
#include "floe/iptrie.h"
#include "floe/node.h"
#include "floe/portal.h"
#include "json.h"
#include "jsonlog.h"

/* Exit codes of the programs built on the agent (floe-client, floe-gateway). */
enum floe_agent_exit {
    FLOE_AGENT_EXIT_OK = 0,      /* stopped by SIGTERM/SIGINT */
    FLOE_AGENT_EXIT_FAILURE = 1, /* could not start (TUN, sockets, log file) or failed */
    FLOE_AGENT_EXIT_USAGE = 2,   /* bad command line, or the portal refused the token (401) */
};

/* Network changes are acted on after this long without another one. */
#define FLOE_AGENT_ROAM_DEBOUNCE FLOE_MS(500)
/* A TCP connect to the portal that has not completed after this long is given up. */
#define FLOE_AGENT_CONNECT_TIMEOUT FLOE_SEC(10)
/* Defaults: the fwmark of floe's own sockets, the routing table of the resources. */
#define FLOE_AGENT_DEFAULT_MARK 0x464c
#define FLOE_AGENT_DEFAULT_TABLE 0x464c
/* Priority of the policy rule "not fwmark MARK lookup TABLE". */
#define FLOE_AGENT_RULE_PRIORITY 31000
/* MTU of the tunnel interface (Firezone's 1280: fits inside any path with our overhead). */
#define FLOE_AGENT_TUN_MTU 1280
/* Connections the node holds. */
#define FLOE_AGENT_MAX_CONNS 1024

struct floe_agent;

/*
 * What differs between a client and a gateway. Every hook gets the role's user pointer and
 * may be NULL (then nothing happens / nothing is routed / everything is accepted).
 */
struct floe_agent_role {
    const char *name; /* "client", "gateway": the log target and the status's "role" */
    enum floe_portal_role portal_role;
    enum floe_node_role node_role;
    void *user;
    /* The TUN device is open and up: set up routing (rules). Non-zero fails the start. */
    int (*start)(void *user, struct floe_agent *a);
    /* The agent stops: undo what start and later hooks made (routes, rules, nft tables). */
    void (*stop)(void *user, struct floe_agent *a);
    /* init arrived (after every join): resources, addresses (already on the TUN). */
    void (*init)(void *user, struct floe_agent *a, const struct floe_portal_init *init);
    /* Any other portal message not handled by the agent (authorizations, resources). */
    void (*message)(void *user, struct floe_agent *a, const struct floe_portal_msg *m);
    /*
     * An IP packet read from the TUN (all the segments of one read go the same way): the
     * connection to encrypt it for, or 0 when the role took care of it (buffered, dropped).
     */
    uint64_t (*route)(void *user, struct floe_agent *a, const uint8_t *pkt, size_t len);
    /* A decrypted packet from cid: true to write it to the TUN (may rewrite it in place). */
    bool (*accept)(void *user, struct floe_agent *a, uint64_t cid, uint8_t *pkt, size_t len);
    /* A node event of one of the role's connections (established, failed, closed, path). */
    void (*conn_event)(void *user, struct floe_agent *a, const struct floe_node_event *ev);
    /* Append the role's part of the status as JSON members ("key":value,...) to j. */
    void (*status)(void *user, struct floe_agent *a, struct floe_json_buf *j);
};

struct floe_agent_config {
    const char *portal_url;   /* ws://HOST:PORT[/PATH] or wss://HOST[:PORT][/PATH] */
    const char *token;        /* the bearer token (copied, wiped at free) */
    const char *ca_file;      /* PEM CA bundle for wss://; NULL: the system store */
    const char *interface;    /* TUN name */
    const char *device_name;  /* sent to the portal as the device's name; NULL: none */
    const char *control_path; /* status: Unix socket path (Windows: loopback IP:PORT); NULL none */
    uint32_t mark;            /* SO_MARK of floe's sockets; 0: none */
    bool no_offload;          /* plain TUN and UDP (no TSO, GSO/GRO) */
    unsigned lanes;           /* crypto lanes, 1..64; 0: one per CPU (at most 8) */
    struct floe_jsonlog *log; /* borrowed; outlives the agent */
    /* Windows: the network calls (const struct floe_io_win_netcfg *, floe_io_win.h; a test's
     * double), NULL: IP Helper's. Unused on Linux. Borrowed; outlives the agent. */
    const void *netcfg;
    struct floe_agent_role role;
};

/*
 * Parse a portal URL into host (NUL-terminated, brackets removed), port, path (default
 * "/client/websocket" or "/gateway/websocket" by role; the caller's buffers) and tls.
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_ADDR_PARSE (a bad scheme, host or port).
 */
int floe_agent_parse_url(const char *url, enum floe_portal_role role, char *host, size_t host_cap,
                         uint16_t *port, char *path, size_t path_cap, bool *tls);

/*
 * The bearer token from the file at path: its first line, trailing whitespace cut, into
 * out[0..cap). Returns 0, or -1 after saying why on stderr, prefixed with prog (no such
 * file, unreadable, empty).
 */
int floe_agent_read_token(const char *prog, const char *path, char *out, size_t cap);

/*
 * Create the agent: TUN, sockets, node, portal client, loop. Logs what failed.
 * Returns 0 and sets *out, or a negative FLOE_ERR_*.
 */
int floe_agent_new(struct floe_agent **out, const struct floe_agent_config *cfg);
/* Run until a signal stops it or the portal refuses the token. Returns an exit code. */
int floe_agent_run(struct floe_agent *a);
/* Stop the role, free everything (NULL allowed). */
void floe_agent_free(struct floe_agent *a);
/* Ask the loop to stop with exit code code after the current iteration. */
void floe_agent_stop(struct floe_agent *a, int code);
#ifdef _WIN32
/* From another thread (a service's stop request, a test): stop the loop, exit code 0. */
void floe_agent_wake(struct floe_agent *a);
#endif

/* ---------------------------------------------------------- for the role hooks */

/* The agent's clock (floe_io_now: CLOCK_BOOTTIME on Linux). */
floe_time floe_agent_now(const struct floe_agent *a);
/* The logger. */
struct floe_jsonlog *floe_agent_log(struct floe_agent *a);
/* The portal protocol client (to send request_authorization, authorization_created, ...). */
struct floe_portal_client *floe_agent_portal(struct floe_agent *a);
/* The node (for its counters). */
struct floe_node *floe_agent_node(struct floe_agent *a);
/* The TUN interface's index. */
unsigned floe_agent_ifindex(const struct floe_agent *a);
/* The fwmark of floe's own sockets. */
uint32_t floe_agent_mark(const struct floe_agent *a);
/*
 * Add (add true) or delete the route to dst through the tunnel: Linux in routing table
 * `table` (rtnetlink), Windows on the Wintun interface (IP Helper; table unused). A route
 * already there (add) or not there (delete) counts as done. Returns 0 or FLOE_ERR_IO (logged
 * with the OS's reason).
 */
int floe_agent_route(struct floe_agent *a, const struct floe_prefix *dst, uint32_t table, bool add);

/*
 * Create or update the connection cid (not 0) to the peer called peer_id at the portal, with
 * cfg (node conn_upsert). Returns 0 or the node's error (logged).
 */
int floe_agent_conn_upsert(struct floe_agent *a, uint64_t cid, const char *peer_id,
                           const struct floe_node_conn_config *cfg);
/* Close cid with a goodbye and forget it. Returns 0 or FLOE_ERR_NOT_FOUND. */
int floe_agent_conn_close(struct floe_agent *a, uint64_t cid);
/* The connection of peer_id, 0 when none. */
uint64_t floe_agent_conn_by_peer(const struct floe_agent *a, const char *peer_id);
/* The peer id of cid, NULL when none. */
const char *floe_agent_conn_peer(const struct floe_agent *a, uint64_t cid);

/*
 * Encrypt one IP packet for cid and queue the datagram (sent at the end of the loop's turn).
 * Returns 1 queued, 0 held by the node (handshake) or no path yet, or a negative error.
 */
int floe_agent_send(struct floe_agent *a, uint64_t cid, const uint8_t *pkt, size_t len);

#endif
