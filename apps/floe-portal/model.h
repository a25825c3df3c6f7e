/*
 * The portal model's validation and formats, shared by the store and the admin CLI. Pure
 * functions: no database, no I/O. Each parser returns 0 or FLOE_ERR_INVALID_ARG and, where it
 * takes msg, writes the reason there (for the admin's error message).
 */
#ifndef FLOE_PORTAL_MODEL_H
#define FLOE_PORTAL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Tunnel address pools: 100.64.0.0/11 and fd00:2021:1111::/107, both 2^21 addresses. */
#define FLOE_MODEL_POOL_BITS 21
/* Usable indexes: 1..2^21-2 (the first and last of the range are not handed out). */
#define FLOE_MODEL_POOL_MAX ((int64_t)((1 << FLOE_MODEL_POOL_BITS) - 2))

/* A name: 1..FLOE_STORE_NAME_MAX bytes, no control characters, not only spaces. */
bool floe_model_name_ok(const char *name);
/* A decimal id 1..2^53 with nothing else. */
int floe_model_id_parse(const char *s, int64_t *out);
/* A port 1..65535. */
int floe_model_port_parse(const char *s, uint16_t *out);
/*
 * "A.B.C.D/N" or "V6/N" (N optional: /32 or /128) into out, normalised: host bits cleared,
 * canonical text. cap at least FLOE_STORE_CIDR_STRLEN.
 */
int floe_model_cidr_normalize(const char *in, char *out, size_t cap, char *msg, size_t msg_cap);
/* One filter: "tcp", "udp", "icmp", "tcp:PORT", "udp:LO-HI" (1 <= LO <= HI <= 65535). */
int floe_model_filter_parse(const char *s, struct floe_store_filter *out, char *msg,
                            size_t msg_cap);
/* A comma-separated list of filters ("" for none) into out[0..*n), at most FLOE_STORE_FILTERS_MAX.
 */
int floe_model_filters_parse(const char *s, struct floe_store_filter *out, size_t *n, char *msg,
                             size_t msg_cap);
/* Filters back to their canonical list ("tcp:80-443,udp:53,icmp"); "" for none. */
int floe_model_filters_format(const struct floe_store_filter *f, size_t n, char *out, size_t cap);
/* "tcp", "udp", "icmp". */
const char *floe_model_proto_name(enum floe_store_proto p);
/* A relay address: "IPv4:PORT", "[IPv6]:PORT" or "hostname:PORT", port 1..65535. */
int floe_model_relay_address_ok(const char *s, char *msg, size_t msg_cap);
/* A relay REST secret: 1..FLOE_STORE_SECRET_MAX-1 printable bytes, no spaces. */
bool floe_model_secret_ok(const char *s);
/* A WireGuard public key: base64 of 32 bytes (44 characters). */
bool floe_model_public_key_ok(const char *s);
/* A NOTIFY channel: 1..FLOE_STORE_CHANNEL_MAX-1 of [A-Za-z0-9_], not starting with a digit. */
bool floe_model_channel_ok(const char *s);
/* The addresses of pool index idx (1..FLOE_MODEL_POOL_MAX) as text. */
int floe_model_pool_address(int64_t idx, char ipv4[16], char ipv6[48]);
/*
 * A token "ID.HEX" into its id and secret bytes. INVALID_ARG for anything else (the caller
 * answers NOT_FOUND so that a malformed token says no more than a wrong one).
 */
int floe_model_token_parse(const char *token, int64_t *id, uint8_t secret[FLOE_STORE_TOKEN_BYTES]);
/* Format a token from id and secret into out (cap >= FLOE_STORE_TOKEN_STRLEN). */
int floe_model_token_format(int64_t id, const uint8_t secret[FLOE_STORE_TOKEN_BYTES], char *out,
                            size_t cap);
/* Lower-case hex of SHA-256(secret) into out[65]. Returns 0 or FLOE_ERR_CRYPTO. */
int floe_model_token_hash(const uint8_t secret[FLOE_STORE_TOKEN_BYTES], char out[65]);

#endif
