/*
 * Transport addresses: parse and format "1.2.3.4:5" and "[v6]:5" without any
 * OS socket API (the core stays portable and sans-IO). IPv6 text follows
 * RFC 4291 section 2.2 on input and RFC 5952 on output.
 */
#include <stdio.h>
#include <string.h>

#include "floe/core.h"

/* Parse exactly "a.b.c.d" from s[0..n). */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;

        if (part > 0) {
            if (i >= n || s[i] != '.')
                return FLOE_ERR_ADDR_PARSE;
            i++;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (digits > 0 && v == 0)
                return FLOE_ERR_ADDR_PARSE; /* no leading zeros */
            v = v * 10 + (unsigned)(s[i] - '0');
            digits++;
            i++;
            if (v > 255)
                return FLOE_ERR_ADDR_PARSE;
        }
        if (digits == 0)
            return FLOE_ERR_ADDR_PARSE;
        out[part] = (uint8_t)v;
    }
    return i == n ? 0 : FLOE_ERR_ADDR_PARSE;
}

/* Parse one group of up to 4 hex digits; returns chars consumed or -1. */
static int parse_hex_group(const char *s, size_t n, uint16_t *out)
{
    int i = 0;
    unsigned v = 0;

    while ((size_t)i < n && i < 5 && floe_hex_digit(s[i]) >= 0) {
        v = v << 4 | (unsigned)floe_hex_digit(s[i]);
        i++;
    }
    if (i == 0 || i > 4)
        return -1;
    *out = (uint16_t)v;
    return i;
}

/* Parse exactly an IPv6 literal from s[0..n) into 16 bytes. */
static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint8_t words[16];
    int nbytes = 0, gap = -1;
    size_t i = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return FLOE_ERR_ADDR_PARSE;
    }
    while (i < n) {
        uint16_t g;
        size_t j = i;
        int used;

        while (j < n && s[j] != ':')
            j++;
        if (memchr(s + i, '.', j - i)) { /* trailing dotted quad */
            if (j != n || nbytes > 12 || parse_v4(s + i, n - i, words + nbytes) < 0)
                return FLOE_ERR_ADDR_PARSE;
            nbytes += 4;
            i = n;
            break;
        }
        used = parse_hex_group(s + i, n - i, &g);
        if (used < 0 || (size_t)used != j - i || nbytes > 14)
            return FLOE_ERR_ADDR_PARSE;
        floe_store_be16(words + nbytes, g);
        nbytes += 2;
        i = j;
        if (i == n)
            break;
        i++; /* ':' */
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return FLOE_ERR_ADDR_PARSE;
            gap = nbytes;
            i++;
        } else if (i == n) {
            return FLOE_ERR_ADDR_PARSE; /* trailing single colon */
        }
    }
    if (gap < 0 && nbytes != 16)
        return FLOE_ERR_ADDR_PARSE;
    if (gap >= 0 && nbytes > 14)
        return FLOE_ERR_ADDR_PARSE;
    memset(out, 0, 16);
    if (gap < 0) {
        memcpy(out, words, 16);
    } else {
        memcpy(out, words, (size_t)gap);
        memcpy(out + 16 - (nbytes - gap), words + gap, (size_t)(nbytes - gap));
    }
    return 0;
}

static int parse_ip(const char *s, size_t n, struct floe_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (memchr(s, ':', n)) {
        out->family = FLOE_AF_INET6;
        return parse_v6(s, n, out->ip);
    }
    out->family = FLOE_AF_INET;
    return parse_v4(s, n, out->ip);
}

static int parse_port(const char *s, uint16_t *out)
{
    unsigned v = 0;
    size_t i;

    if (!*s || strlen(s) > 5)
        return FLOE_ERR_ADDR_PARSE;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FLOE_ERR_ADDR_PARSE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return FLOE_ERR_ADDR_PARSE;
    *out = (uint16_t)v;
    return 0;
}

int floe_addr_parse_ip(const char *s, struct floe_addr *out)
{
    int rc;

    if (!s || !out)
        return FLOE_ERR_INVALID_ARG;
    rc = parse_ip(s, strlen(s), out);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int floe_addr_parse(const char *s, struct floe_addr *out)
{
    const char *colon, *host;
    size_t hlen;
    uint16_t port;
    int rc;

    if (!s || !out)
        return FLOE_ERR_INVALID_ARG;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end[1] != ':')
            return FLOE_ERR_ADDR_PARSE;
        host = s + 1;
        hlen = (size_t)(end - host);
        colon = end + 1;
        if (!memchr(host, ':', hlen))
            return FLOE_ERR_ADDR_PARSE;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return FLOE_ERR_ADDR_PARSE;
        host = s;
        hlen = (size_t)(colon - s);
    }
    if (parse_port(colon + 1, &port) < 0)
        return FLOE_ERR_ADDR_PARSE;
    rc = parse_ip(host, hlen, out);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->port = port;
    return 0;
}

/* Longest run of >= 2 zero words for "::" (RFC 5952 4.2); start or -1. */
static int longest_zero_run(const uint8_t ip[16], int *run_len)
{
    int best = -1, best_len = 0, i;

    for (i = 0; i < 8;) {
        int j = i;

        while (j < 8 && floe_load_be16(ip + 2 * j) == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    *run_len = best_len;
    return best;
}

static int format_v6(const uint8_t ip[16], char *buf, size_t cap)
{
    char tmp[48];
    size_t n = 0;
    int run_len, run = longest_zero_run(ip, &run_len), i;

    for (i = 0; i < 8; i++) {
        if (i == run) {
            n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "::");
            i += run_len - 1;
            continue;
        }
        if (i > 0 && i != run + run_len)
            tmp[n++] = ':';
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%x", floe_load_be16(ip + 2 * i));
    }
    tmp[n] = '\0';
    if (n + 1 > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tmp, n + 1);
    return (int)n;
}

int floe_addr_format_ip(const struct floe_addr *a, char *buf, size_t cap)
{
    char tmp[16];
    int n;

    if (!a || !buf)
        return FLOE_ERR_INVALID_ARG;
    if (a->family == FLOE_AF_INET6)
        return format_v6(a->ip, buf, cap);
    if (a->family != FLOE_AF_INET)
        return FLOE_ERR_ADDR_FAMILY;
    n = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
    if ((size_t)n + 1 > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

int floe_addr_format(const struct floe_addr *a, char *buf, size_t cap)
{
    char ip[FLOE_ADDR_STRLEN], tmp[FLOE_ADDR_STRLEN + 8];
    int n = floe_addr_format_ip(a, ip, sizeof(ip));

    if (n < 0)
        return n;
    if (a->family == FLOE_AF_INET6)
        n = snprintf(tmp, sizeof(tmp), "[%s]:%u", ip, a->port);
    else
        n = snprintf(tmp, sizeof(tmp), "%s:%u", ip, a->port);
    if ((size_t)n + 1 > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

bool floe_addr_ip_eq(const struct floe_addr *a, const struct floe_addr *b)
{
    size_t n = a->family == FLOE_AF_INET ? 4 : 16;

    return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

bool floe_addr_eq(const struct floe_addr *a, const struct floe_addr *b)
{
    return a->port == b->port && floe_addr_ip_eq(a, b);
}

struct floe_addr floe_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct floe_addr x;

    memset(&x, 0, sizeof(x));
    x.family = FLOE_AF_INET;
    x.port = port;
    x.ip[0] = a;
    x.ip[1] = b;
    x.ip[2] = c;
    x.ip[3] = d;
    return x;
}
