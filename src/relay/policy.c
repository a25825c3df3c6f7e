/*
 * Peer policy: which peer addresses a client may reach through the relay.
 * Refused by default: loopback, private, shared (CGNAT), link-local,
 * unspecified, multicast, broadcast and the relay's own addresses, so a relay
 * on the Internet cannot be turned against the network it stands in.
 */
#include <stdlib.h>
#include <string.h>

#include "relay_int.h"

int floe_cidr_parse(const char *s, struct floe_cidr *out)
{
    char ip[64];
    const char *slash;
    size_t n;
    int rc;

    if (!s || !out)
        return FLOE_ERR_INVALID_ARG;
    slash = strchr(s, '/');
    n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(ip))
        return FLOE_ERR_ADDR_PARSE;
    memcpy(ip, s, n);
    ip[n] = '\0';
    rc = floe_addr_parse_ip(ip, &out->addr);
    if (rc < 0)
        return FLOE_ERR_ADDR_PARSE;
    out->prefix = out->addr.family == FLOE_AF_INET ? 32 : 128;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);

        if (!slash[1] || *end || p < 0 || p > out->prefix)
            return FLOE_ERR_ADDR_PARSE;
        out->prefix = (uint8_t)p;
    }
    return 0;
}

bool floe_cidr_contains(const struct floe_cidr *c, const struct floe_addr *a)
{
    unsigned full = c->prefix / 8u, rest = c->prefix % 8u;

    if (c->addr.family != a->family)
        return false;
    if (memcmp(c->addr.ip, a->ip, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((c->addr.ip[full] ^ a->ip[full]) & (uint8_t)(0xFF00u >> rest)) == 0;
}

/* Refused unless allowed: unspecified, private, shared, link-local, multicast, reserved, Teredo. */
static const char *const policy_special[] = {
    "0.0.0.0/8",      "10.0.0.0/8",  "100.64.0.0/10",  "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",    "::/128",         "fc00::/7",
    "fe80::/10",      "ff00::/8",    "64:ff9b:1::/48", "2001::/32",
};

/* Parse the special ranges once. */
int floe__relay_policy_init(struct floe_relay *r)
{
    size_t i;

    r->n_special = 0;
    for (i = 0; i < sizeof(policy_special) / sizeof(policy_special[0]); i++) {
        if (floe_cidr_parse(policy_special[i], &r->special[r->n_special++]) < 0)
            return FLOE_ERR_INTERNAL;
    }
    r->range_min = r->cfg.relay_range_min ? r->cfg.relay_range_min : r->cfg.port_min;
    r->range_max = r->cfg.relay_range_max ? r->cfg.relay_range_max : r->cfg.port_max;
    return 0;
}

static bool policy_is_loopback(const struct floe_addr *a)
{
    static const uint8_t v6_loop[16] = {[15] = 1};

    if (a->family == FLOE_AF_INET)
        return a->ip[0] == 127;
    return memcmp(a->ip, v6_loop, 16) == 0;
}

static bool policy_is_wildcard(const struct floe_addr *a)
{
    static const uint8_t zero[16];

    return memcmp(a->ip, zero, 16) == 0;
}

static void policy_v4_at(const struct floe_addr *a, size_t off, uint8_t xor_mask,
                         struct floe_addr *v4)
{
    size_t i;

    memset(v4, 0, sizeof(*v4));
    v4->family = FLOE_AF_INET;
    v4->port = a->port;
    for (i = 0; i < 4; i++)
        v4->ip[i] = (uint8_t)(a->ip[off + i] ^ xor_mask);
}

/*
 * The IPv4 address an IPv6 address carries: IPv4-mapped ::ffff:0:0/96, IPv4-translated
 * ::ffff:0:0:0/96 (RFC 2765), IPv4-compatible ::/96 (RFC 4291), NAT64 64:ff9b::/96
 * (RFC 6052) and 6to4 2002::/16 (RFC 3056). False when a carries none.
 */
static bool policy_embedded_v4(const struct floe_addr *a, struct floe_addr *v4)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
    static const uint8_t compat[12] = {0};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};

    if (a->family != FLOE_AF_INET6 || policy_is_loopback(a) || policy_is_wildcard(a))
        return false; /* ::1 and :: are themselves, not IPv4-compatible addresses */
    if (memcmp(a->ip, mapped, 12) == 0 || memcmp(a->ip, translated, 12) == 0 ||
        memcmp(a->ip, compat, 12) == 0 || memcmp(a->ip, nat64, 12) == 0) {
        policy_v4_at(a, 12, 0, v4);
        return true;
    }
    if (a->ip[0] == 0x20 && a->ip[1] == 0x02) {
        policy_v4_at(a, 2, 0, v4);
        return true;
    }
    return false;
}

static bool policy_cidr_match(const struct floe_cidr *list, size_t n, const struct floe_addr *a)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (floe_cidr_contains(&list[i], a))
            return true;
    }
    return false;
}

/* An allow entry that contains a and lies inside loopback itself. */
static bool policy_loopback_named(const struct floe_relay *r, const struct floe_addr *a)
{
    size_t i;

    for (i = 0; i < r->cfg.n_allow; i++) {
        const struct floe_cidr *c = &r->cfg.allow[i];
        bool inside = c->addr.family == FLOE_AF_INET ? c->prefix >= 8 && c->addr.ip[0] == 127
                                                     : c->prefix == 128;

        if (inside && floe_cidr_contains(c, a))
            return true;
    }
    return r->cfg.allow_loopback_peers;
}

/* An allow entry naming a alone. */
static bool policy_host_named(const struct floe_relay *r, const struct floe_addr *a)
{
    size_t i;

    for (i = 0; i < r->cfg.n_allow; i++) {
        const struct floe_cidr *c = &r->cfg.allow[i];

        if (c->prefix == (c->addr.family == FLOE_AF_INET ? 32 : 128) && floe_cidr_contains(c, a))
            return true;
    }
    return false;
}

/* a is one of the relay's addresses: relayed, a specific listening one, or another own. */
static bool policy_is_own(const struct floe_relay *r, const struct floe_addr *a)
{
    size_t i;

    if (floe_addr_ip_eq(a, &r->cfg.relay_v4) || floe_addr_ip_eq(a, &r->cfg.relay_v6))
        return true;
    if (floe_addr_ip_eq(a, &r->cfg.external_v4) || floe_addr_ip_eq(a, &r->cfg.external_v6))
        return true; /* --external-ip: the public face of the relayed addresses */
    for (i = 0; i < r->cfg.n_listen; i++) {
        if (!policy_is_wildcard(&r->cfg.listen[i]) && floe_addr_ip_eq(a, &r->cfg.listen[i]))
            return true;
    }
    for (i = 0; i < r->cfg.n_own; i++) {
        if (floe_addr_ip_eq(a, &r->cfg.own[i]))
            return true;
    }
    return false;
}

/* a (an own address) with a's port is where the relay listens. */
static bool policy_is_listen_port(const struct floe_relay *r, const struct floe_addr *a)
{
    size_t i;

    for (i = 0; i < r->cfg.n_listen; i++) {
        const struct floe_addr *l = &r->cfg.listen[i];

        if (l->port == a->port && (policy_is_wildcard(l) || floe_addr_ip_eq(l, a)))
            return true;
    }
    return false;
}

/* One of the relay's own addresses: another allocation's relayed address, or named alone. */
static bool policy_own_allowed(const struct floe_relay *r, const struct floe_addr *a)
{
    bool relayed = floe_addr_ip_eq(a, &r->cfg.relay_v4) || floe_addr_ip_eq(a, &r->cfg.relay_v6);

    if (policy_is_listen_port(r, a))
        return false; /* a request loop through the relay's own listening socket */
    if (relayed && a->port >= r->range_min && a->port <= r->range_max)
        return true; /* relay to relay */
    if (policy_is_loopback(a))
        return policy_loopback_named(r, a);
    return policy_host_named(r, a);
}

/* Judge a (an IPv4 address, or an IPv6 one embedding none); alias is its IPv6 form or NULL. */
static bool policy_judge(const struct floe_relay *r, const struct floe_addr *a,
                         const struct floe_addr *alias)
{
    if (policy_is_own(r, a) || (alias && policy_is_own(r, alias)))
        return policy_own_allowed(r, alias && policy_is_own(r, alias) ? alias : a);
    if (policy_is_loopback(a))
        return policy_loopback_named(r, a);
    if (policy_cidr_match(r->cfg.allow, r->cfg.n_allow, a) ||
        (alias && policy_cidr_match(r->cfg.allow, r->cfg.n_allow, alias)))
        return true;
    if (a->family == FLOE_AF_INET && a->ip[0] == 255 && a->ip[1] == 255 && a->ip[2] == 255 &&
        a->ip[3] == 255)
        return false;
    return !policy_cidr_match(r->special, r->n_special, a) &&
           !(alias && policy_cidr_match(r->special, r->n_special, alias));
}

bool floe__relay_peer_allowed(const struct floe_relay *r, const struct floe_addr *peer)
{
    struct floe_addr v4;
    bool embedded = policy_embedded_v4(peer, &v4);

    if (policy_cidr_match(r->cfg.deny, r->cfg.n_deny, peer) ||
        (embedded && policy_cidr_match(r->cfg.deny, r->cfg.n_deny, &v4)))
        return false;
    return embedded ? policy_judge(r, &v4, peer) : policy_judge(r, peer, NULL);
}
