/* floe-client: the client role on the agent core, its command line and its status command. */
#ifndef FLOE_CLIENT_H
#define FLOE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "opts.h"
#include "floe/iptrie.h"

/* Packets held per resource while its connection comes up; more are dropped and counted. */
#define CLIENT_PENDING_MAX 128
/* request_authorization at most once per resource in this interval. */
#define CLIENT_REQUEST_INTERVAL FLOE_SEC(2)
/* Resources and gateways known at once. */
#define CLIENT_RESOURCES_MAX FLOE_PORTAL_RESOURCES_MAX
#define CLIENT_GATEWAYS_MAX 256
#define CLIENT_DEFAULT_INTERFACE "floe0"
#ifdef _WIN32
/* Windows: the status listens on TCP on a loopback address. */
#define CLIENT_DEFAULT_CONTROL "127.0.0.1:51825"
#else
#define CLIENT_DEFAULT_CONTROL "/run/floe-client.sock"
#endif

/* floe-client's command line: the agent's common flags and its own. */
struct client_opts {
    struct floe_agent_opts agent;
    uint32_t table; /* --table: the routing table of the resources */
    /* status */
    bool status, json;
};

struct client_resource {
    bool used;
    struct floe_portal_resource r;
    struct floe_prefix prefix;
    bool routed;
    uint64_t cid; /* the gateway connection authorized for it; 0: none yet */
    floe_time last_request;
    bool requested;
    uint8_t *pending[CLIENT_PENDING_MAX];
    uint16_t pending_len[CLIENT_PENDING_MAX];
    unsigned n_pending;
    uint64_t dropped; /* packets dropped while waiting (buffer full, authorization failed) */
    uint64_t requests;
};

struct client_gateway {
    bool used;
    bool up;
    uint64_t cid;
    char id[FLOE_PORTAL_ID_MAX];
};

struct client {
    struct client_opts *opts;
    struct floe_iptrie trie;     /* resource prefixes -> struct client_resource */
    struct client_resource *res; /* CLIENT_RESOURCES_MAX */
    struct client_gateway gw[CLIENT_GATEWAYS_MAX];
    uint64_t next_cid;
    bool rules;
    uint64_t unknown_dst; /* TUN packets to no resource */
};

/*
 * Parse argv into o. Returns 0 (run), 1 (help or version printed: exit 0) or 2 (usage
 * error, printed on stderr).
 */
int client_args(int argc, char **argv, struct client_opts *o);
/* The role hooks of c for the agent (c must outlive the agent). */
struct floe_agent_role client_role(struct client *c);
/* Free what the role holds. */
void client_free(struct client *c);
/* `floe-client status`: ask the daemon at o->control, print. Returns an exit code. */
int client_status(const struct client_opts *o);

#endif
