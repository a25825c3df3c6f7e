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

/* Refused unless allowed: unspecified, private, shared, link-local, multicast, reserved. */
static const char *const policy_special[] = {
    "0.0.0.0/8",      "10.0.0.0/8",  "100.64.0.0/10",  "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",    "::/128",         "fc00::/7",
    "fe80::/10",      "ff00::/8",    "64:ff9b:1::/48",
};

static void policy_add_host(struct floe_relay *r, const struct floe_addr *a)
{
    struct floe_cidr *c = &r->special[r->n_special++];

    c->addr = *a;
    c->addr.port = 0;
    c->prefix = a->family == FLOE_AF_INET ? 32 : 128;
}

/* Parse the special ranges once, and add the relay's own addresses to them. */
int floe__relay_policy_init(struct floe_relay *r)
{
    size_t i;

    r->n_special = 0;
    for (i = 0; i < sizeof(policy_special) / sizeof(policy_special[0]); i++) {
        if (floe_cidr_parse(policy_special[i], &r->special[r->n_special++]) < 0)
            return FLOE_ERR_INTERNAL;
    }
    if (r->cfg.relay_v4.family)
        policy_add_host(r, &r->cfg.relay_v4);
    if (r->cfg.relay_v6.family)
        policy_add_host(r, &r->cfg.relay_v6);
    if (r->cfg.external_v4.family)
        policy_add_host(r, &r->cfg.external_v4);
    if (r->cfg.external_v6.family)
        policy_add_host(r, &r->cfg.external_v6);
    return 0;
}

static bool policy_is_loopback(const struct floe_addr *a)
{
    static const uint8_t v6_loop[16] = {[15] = 1};

    if (a->family == FLOE_AF_INET)
        return a->ip[0] == 127;
    return memcmp(a->ip, v6_loop, 16) == 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its IPv4 address. */
static struct floe_addr policy_unmap(const struct floe_addr *a)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    struct floe_addr v4 = *a;

    if (a->family == FLOE_AF_INET6 && memcmp(a->ip, mapped, 12) == 0) {
        memset(&v4, 0, sizeof(v4));
        v4.family = FLOE_AF_INET;
        v4.port = a->port;
        memcpy(v4.ip, a->ip + 12, 4);
    }
    return v4;
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

bool floe__relay_peer_allowed(const struct floe_relay *r, const struct floe_addr *peer)
{
    struct floe_addr a = policy_unmap(peer);

    if (policy_cidr_match(r->cfg.deny, r->cfg.n_deny, &a) ||
        policy_cidr_match(r->cfg.deny, r->cfg.n_deny, peer))
        return false;
    if (policy_cidr_match(r->cfg.allow, r->cfg.n_allow, &a) ||
        policy_cidr_match(r->cfg.allow, r->cfg.n_allow, peer))
        return true;
    if (policy_is_loopback(&a))
        return r->cfg.allow_loopback_peers;
    if (a.family == FLOE_AF_INET && a.ip[0] == 255 && a.ip[1] == 255 && a.ip[2] == 255 &&
        a.ip[3] == 255)
        return false;
    return !policy_cidr_match(r->special, r->n_special, &a);
}
