/*
 * floe iptrie: IP prefixes to values, longest-prefix match; sans-IO and portable.
 *
 * One binary trie per family (IPv4, IPv6), one level per address bit. Each prefix holds one
 * value, a pointer the trie never looks into (floe-wg: the peer of an allowed IP; a client:
 * the gateway of a resource's CIDR). A lookup returns the value of the longest prefix
 * containing the address. Nodes come from the allocator given to floe_iptrie_init and are
 * freed when a removal leaves them without a value or children.
 *
 * One thread at a time; no global state.
 */
#ifndef FLOE_IPTRIE_H
#define FLOE_IPTRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"

/* An IP prefix: family FLOE_AF_INET or FLOE_AF_INET6, address (host bits clear), length. */
struct floe_prefix {
    uint8_t family;
    uint8_t ip[16]; /* 4 or 16 bytes by family, the rest zero */
    uint8_t len;    /* 0..32 or 0..128 */
};

/*
 * Parse "IP/LEN" or a bare IP (a host prefix: /32 or /128) into *p with the host bits
 * cleared. Returns 0, FLOE_ERR_INVALID_ARG (NULL) or FLOE_ERR_ADDR_PARSE.
 */
int floe_prefix_parse(const char *s, struct floe_prefix *p);

/* Format p as "IP/LEN" into buf[0..cap). Returns the length or FLOE_ERR_BUFFER_TOO_SMALL. */
int floe_prefix_format(const struct floe_prefix *p, char *buf, size_t cap);

/* Whether the address ip (4 or 16 bytes by p->family) is inside p. */
bool floe_prefix_contains(const struct floe_prefix *p, const uint8_t *ip);

struct floe_iptrie_node;

/* The trie; caller-allocated, floe_iptrie_init before use. */
struct floe_iptrie {
    struct floe_iptrie_node *root[2]; /* [0] IPv4, [1] IPv6 */
    struct floe_allocator alloc;
    size_t count; /* prefixes holding a value */
};

/* An empty trie whose nodes come from alloc (NULL: the C library's). */
void floe_iptrie_init(struct floe_iptrie *t, const struct floe_allocator *alloc);

/* Free every node; t is empty (and usable) afterwards. */
void floe_iptrie_deinit(struct floe_iptrie *t);

/*
 * Map p to value (not NULL). A prefix mapped before gets the new value (it moves).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, a bad family or length) or FLOE_ERR_NOMEM (t
 * unchanged apart from empty nodes that the next removal frees).
 */
int floe_iptrie_insert(struct floe_iptrie *t, const struct floe_prefix *p, void *value);

/*
 * Unmap p when it holds value (value NULL: whatever it holds). Returns 0, FLOE_ERR_NOT_FOUND
 * (not mapped, or to another value) or FLOE_ERR_INVALID_ARG.
 */
int floe_iptrie_remove(struct floe_iptrie *t, const struct floe_prefix *p, const void *value);

/* Unmap every prefix holding value. Returns how many were unmapped. */
size_t floe_iptrie_remove_value(struct floe_iptrie *t, const void *value);

/* The value of exactly p, or NULL. */
void *floe_iptrie_get(const struct floe_iptrie *t, const struct floe_prefix *p);

/*
 * The value of the longest prefix containing ip (4 or 16 bytes by family), or NULL (none,
 * or a family other than FLOE_AF_INET/FLOE_AF_INET6).
 */
void *floe_iptrie_lookup(const struct floe_iptrie *t, uint8_t family, const uint8_t *ip);

/*
 * floe_iptrie_lookup of an IP packet's destination (src false) or source (src true) read
 * from its header: the routing decision of an outgoing packet, the allowed-source check of
 * an incoming one. NULL when pkt[0..len) is not an IPv4/IPv6 header or nothing matches.
 */
void *floe_iptrie_lookup_packet(const struct floe_iptrie *t, const uint8_t *pkt, size_t len,
                                bool src);

/*
 * Call fn(user, prefix, its value) for every prefix holding value (value NULL: every
 * prefix), IPv4 first, each family in address order, shorter prefixes before longer ones
 * at the same address. fn must not change t.
 */
void floe_iptrie_walk(const struct floe_iptrie *t, const void *value,
                      void (*fn)(void *user, const struct floe_prefix *p, void *value), void *user);

#endif
