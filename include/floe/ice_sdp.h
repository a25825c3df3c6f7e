/*
 * floe ICE candidate strings: the `candidate:` attribute of RFC 8839 section 5.1, as the
 * signalling layer carries it (with or without a leading "a="):
 *
 *   candidate:<foundation> <component> UDP <priority> <address> <port> typ <type>
 *             [raddr <address> rport <port>] *(<extension-name> <extension-value>)
 *
 * Parsing is strict on the fields floe uses and tolerant of the rest: the transport is
 * matched case-insensitively, extensions (generation, ufrag, network-id, network-cost, ...)
 * are skipped, raddr/rport are optional. FQDN addresses and transports other than UDP are
 * refused (FLOE_ERR_UNSUPPORTED): floe resolves nothing and speaks ICE over UDP only.
 * Pure functions: no allocation, no state.
 */
#ifndef FLOE_ICE_SDP_H
#define FLOE_ICE_SDP_H

#include "floe/ice.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest string floe_ice_candidate_format writes, NUL included (IPv6 both addresses). */
#define FLOE_ICE_CANDIDATE_STR_MAX 200
/* Longest input floe_ice_candidate_parse accepts (extensions included). */
#define FLOE_ICE_CANDIDATE_INPUT_MAX 1024

/*
 * Parse the NUL-terminated candidate string s into *out. out->addr gets the connection
 * address and port; out->base gets raddr/rport when present (the related address), zero
 * otherwise; out->server is zero; out->priority and out->component are the string's;
 * out->local_pref is 0.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL), FLOE_ERR_MALFORMED (grammar violated: missing
 * field, bad number, component outside 1..256, priority 0 or over 2^32-1, port over
 * 65535, unknown type, dangling extension name, over FLOE_ICE_CANDIDATE_INPUT_MAX bytes),
 * FLOE_ERR_ADDR_PARSE (an address that is neither IPv4 nor IPv6 nor a host name) or
 * FLOE_ERR_UNSUPPORTED (a transport other than UDP, a host name instead of an address, or
 * component 256, which struct floe_ice_candidate cannot hold).
 */
FLOE_WARN_UNUSED int floe_ice_candidate_parse(const char *s, struct floe_ice_candidate *out);

/*
 * Write cand as "candidate:..." (no "a=", no line end) into buf[0..cap), NUL-terminated.
 * The priority is cand->priority, or computed from type, local_pref and component when 0.
 * Non-host candidates carry raddr/rport: cand->base when its family is set, otherwise the
 * unspecified address of cand->addr's family and port 0 (as browsers do to hide it).
 * Returns the length written (without NUL), FLOE_ERR_INVALID_ARG (NULL, empty or over-long
 * foundation, no address family, unknown type) or FLOE_ERR_BUFFER_TOO_SMALL.
 */
int floe_ice_candidate_format(const struct floe_ice_candidate *cand, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
