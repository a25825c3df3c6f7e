/* IP prefixes: parsing, formatting, containment. */
#include <stdio.h>
#include <string.h>

#include "floe/iptrie.h"

static unsigned prefix_bits(uint8_t family)
{
    return family == FLOE_AF_INET6 ? 128 : 32;
}

static int prefix_bit(const uint8_t *ip, unsigned i)
{
    return (ip[i / 8] >> (7 - i % 8)) & 1;
}

/* The prefix length after the slash: decimal digits only, at most max. */
static int prefix_parse_len(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (!*s)
        return FLOE_ERR_ADDR_PARSE;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return FLOE_ERR_ADDR_PARSE;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > max)
            return FLOE_ERR_ADDR_PARSE;
    }
    *out = v;
    return 0;
}

int floe_prefix_parse(const char *s, struct floe_prefix *p)
{
    char ip[64];
    const char *slash;
    size_t n;
    struct floe_addr a;
    unsigned len, i;

    if (!s || !p)
        return FLOE_ERR_INVALID_ARG;
    slash = strchr(s, '/');
    n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(ip))
        return FLOE_ERR_ADDR_PARSE;
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (floe_addr_parse_ip(ip, &a) != 0)
        return FLOE_ERR_ADDR_PARSE;
    len = prefix_bits(a.family);
    if (slash && prefix_parse_len(slash + 1, prefix_bits(a.family), &len) != 0)
        return FLOE_ERR_ADDR_PARSE;
    memset(p, 0, sizeof(*p));
    p->family = a.family;
    p->len = (uint8_t)len;
    for (i = 0; i < len; i++)
        p->ip[i / 8] |= (uint8_t)(prefix_bit(a.ip, i) << (7 - i % 8));
    return 0;
}

int floe_prefix_format(const struct floe_prefix *p, char *buf, size_t cap)
{
    struct floe_addr a = {.family = p->family};
    char ip[64];
    int n;

    memcpy(a.ip, p->ip, sizeof(a.ip));
    if (floe_addr_format_ip(&a, ip, sizeof(ip)) < 0)
        return FLOE_ERR_ADDR_FAMILY;
    n = snprintf(buf, cap, "%s/%u", ip, (unsigned)p->len);
    return n < 0 || (size_t)n >= cap ? FLOE_ERR_BUFFER_TOO_SMALL : n;
}

bool floe_prefix_contains(const struct floe_prefix *p, const uint8_t *ip)
{
    unsigned i;

    if (p->len > prefix_bits(p->family))
        return false;
    for (i = 0; i < p->len; i++) {
        if (prefix_bit(ip, i) != prefix_bit(p->ip, i))
            return false;
    }
    return true;
}
