/* floe_addr <-> sockaddr, and host:port resolution for the programs. */
#define _GNU_SOURCE
#include <string.h>
#ifndef _WIN32
#include <netdb.h>
#include <netinet/in.h>
#endif

#include "floe_io.h"

int floe_io_addr_to_sockaddr(const struct floe_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!a || !ss || !len)
        return FLOE_ERR_INVALID_ARG;
    memset(ss, 0, sizeof(*ss));
    if (a->family == FLOE_AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip, 4);
        *len = sizeof(*sin);
        return 0;
    }
    if (a->family == FLOE_AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        memcpy(&sin6->sin6_addr, a->ip, 16);
        *len = sizeof(*sin6);
        return 0;
    }
    return FLOE_ERR_ADDR_FAMILY;
}

int floe_io_addr_from_sockaddr(struct floe_addr *out, const struct sockaddr *sa, socklen_t len)
{
    if (!out || !sa)
        return FLOE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        out->family = FLOE_AF_INET;
        out->port = ntohs(sin->sin_port);
        memcpy(out->ip, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        out->port = ntohs(sin6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) { /* a dual-stack socket's IPv4 peer */
            out->family = FLOE_AF_INET;
            memcpy(out->ip, &sin6->sin6_addr.s6_addr[12], 4);
            return 0;
        }
        out->family = FLOE_AF_INET6;
        memcpy(out->ip, &sin6->sin6_addr, 16);
        return 0;
    }
    return FLOE_ERR_ADDR_FAMILY;
}

/* Decimal 0..65535, digits only, at most five of them. */
static int addr_parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t i, n = strlen(s);

    if (n == 0 || n > 5)
        return FLOE_ERR_ADDR_PARSE;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FLOE_ERR_ADDR_PARSE;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return FLOE_ERR_ADDR_PARSE;
    *port = (uint16_t)v;
    return 0;
}

static int addr_copy_host(char *host, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap)
        return FLOE_ERR_ADDR_PARSE;
    memcpy(host, s, n);
    host[n] = '\0';
    return 0;
}

int floe_io_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon, *close;
    int rc;

    if (!s || !host || !port || host_cap == 0)
        return FLOE_ERR_INVALID_ARG;
    if (s[0] == '[') {
        close = strchr(s, ']');
        if (!close || close[1] != ':')
            return FLOE_ERR_ADDR_PARSE;
        rc = addr_copy_host(host, host_cap, s + 1, (size_t)(close - s - 1));
        return rc ? rc : addr_parse_port(close + 2, port);
    }
    colon = strrchr(s, ':');
    if (!colon || memchr(s, ':', (size_t)(colon - s)))
        return FLOE_ERR_ADDR_PARSE;
    rc = addr_copy_host(host, host_cap, s, (size_t)(colon - s));
    return rc ? rc : addr_parse_port(colon + 1, port);
}

/* A DNS name: letters, digits, '-', '_' and '.', not all digits and dots. */
static bool addr_is_hostname(const char *h)
{
    bool alpha = false;

    for (; *h; h++) {
        char c = *h;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')
            alpha = true;
        else if (!(c >= '0' && c <= '9') && c != '.')
            return false;
    }
    return alpha;
}

static int addr_family_to_af(enum floe_af family)
{
    if (family == FLOE_AF_INET)
        return AF_INET;
    if (family == FLOE_AF_INET6)
        return AF_INET6;
    return AF_UNSPEC;
}

static int addr_lookup(const char *host, enum floe_af family, uint16_t port, struct floe_addr *out)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc = FLOE_ERR_RESOLVE;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = addr_family_to_af(family);
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return FLOE_ERR_RESOLVE;
    for (ai = res; ai; ai = ai->ai_next) {
        if (floe_io_addr_from_sockaddr(out, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0) {
            out->port = port;
            rc = 0;
            break;
        }
    }
    freeaddrinfo(res);
    return rc;
}

int floe_io_resolve(const char *hostport, enum floe_af family, struct floe_addr *out)
{
    char host[256];
    uint16_t port;
    int rc;

    if (!hostport || !out)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_io_split_hostport(hostport, host, sizeof(host), &port);
    if (rc < 0)
        return rc;
    if (floe_addr_parse(hostport, out) == 0 || floe_addr_parse_ip(host, out) == 0) {
        out->port = port;
        if (family != FLOE_AF_NONE && out->family != family)
            return FLOE_ERR_RESOLVE;
        return 0;
    }
    if (hostport[0] == '[' || !addr_is_hostname(host))
        return FLOE_ERR_ADDR_PARSE;
    return addr_lookup(host, family, port, out);
}
