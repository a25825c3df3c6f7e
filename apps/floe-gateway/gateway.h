/*
 * floe-gateway: the gateway role on the agent core (apps/agent): create_authorization runs
 * a node connection per client (its keys, both ICE credentials; the client id names the
 * peer) and installs the authorization in the packet filter (filter.h); reject_access,
 * access_authorization_expiry_updated and resource updates change it at once; packets are
 * forwarded only as the filter says, and the nftables table (nat.h) masquerades them toward
 * the resources. A client left with no authorization loses its connection.
 */
#ifndef FLOE_GATEWAY_H
#define FLOE_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "opts.h"
#include "filter.h"

#define GATEWAY_DEFAULT_INTERFACE "floe-gw"
#define GATEWAY_DEFAULT_CONTROL "/run/floe-gateway.sock"
/* The portal's tunnel address pools (clients' addresses), routed through the TUN. */
#define GATEWAY_POOL_V4 "100.64.0.0/11"
#define GATEWAY_POOL_V6 "fd00:2021:1111::/107"

/* floe-gateway's command line: the agent's common flags and its own. */
struct gateway_opts {
    struct floe_agent_opts agent;
    bool no_nat; /* --no-nat: leave nftables and the forwarding sysctls alone */
};

struct gateway {
    struct gateway_opts *opts;
    struct floe_gwfilter *filter;
    uint64_t next_cid;
    bool nat; /* the nftables table is ours to remove */
    uint64_t authorizations, rejected, expired;
};

/*
 * Parse argv into o. Returns 0 (run), 1 (help or version printed: exit 0) or 2 (usage
 * error, printed on stderr).
 */
int gateway_args(int argc, char **argv, struct gateway_opts *o);
/* The role hooks of g for the agent (g must outlive the agent). */
struct floe_agent_role gateway_role(struct gateway *g);
/* Free what the role holds. */
void gateway_free(struct gateway *g);

#endif
