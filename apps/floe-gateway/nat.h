/*
 * floe-gateway's NAT and forwarding: its own nftables table, `inet floe_gw_<ifname>`, that
 * masquerades what comes out of the tunnel interface and leaves by any other interface, so
 * that resources answer to the gateway's address and never need a route back to the tunnel
 * addresses. The table is created at start (a stale one from a crashed run is replaced in
 * the same transaction) and deleted at exit. The rules are loaded with the `nft` program
 * (`nft -f -`, the ruleset on its standard input; libnftables has no headers installed
 * here), and the IPv4 and IPv6 forwarding sysctls are turned on. Each step is logged: the
 * table's rules, the sysctls and what they were before.
 */
#ifndef FLOE_GATEWAY_NAT_H
#define FLOE_GATEWAY_NAT_H

#include <stdbool.h>
#include <stddef.h>

#include "jsonlog.h"

/* The longest table name: "floe_gw_" and an interface name (IFNAMSIZ - 1). */
#define FLOE_GW_NAT_TABLE_MAX 32

/* Whether name is a usable interface name: 1..15 characters of [A-Za-z0-9_.-]. */
bool floe_gw_ifname_is_valid(const char *name);

/*
 * The table's name for the tunnel interface ifname into buf[0..cap): "floe_gw_" + ifname
 * with '.' and '-' written '_'. Returns the length, FLOE_ERR_INVALID_ARG (a bad ifname) or
 * FLOE_ERR_BUFFER_TOO_SMALL.
 */
int floe_gw_nat_table(const char *ifname, char *buf, size_t cap);

/*
 * The ruleset that creates the table (replacing any old one) into buf[0..cap), as text
 * for `nft -f`. Returns the length, FLOE_ERR_INVALID_ARG or FLOE_ERR_BUFFER_TOO_SMALL.
 */
int floe_gw_nat_ruleset(const char *ifname, char *buf, size_t cap);

/*
 * Run nft (the program nft, found on PATH, or the one FLOE_NFT names) with the text on its
 * standard input. Its error output (up to err_cap - 1 bytes) goes to err. Returns 0,
 * FLOE_ERR_IO (it could not start) or FLOE_ERR_PROTOCOL (it failed).
 */
int floe_gw_nft_run(const char *text, char *err, size_t err_cap);

/*
 * Create the table for ifname and turn forwarding on, logging both to lg (target "nat").
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_IO or FLOE_ERR_PROTOCOL (logged).
 */
int floe_gw_nat_start(const char *ifname, struct floe_jsonlog *lg);

/* Delete the table of ifname (logged; a table already gone is fine). */
void floe_gw_nat_stop(const char *ifname, struct floe_jsonlog *lg);

#endif
