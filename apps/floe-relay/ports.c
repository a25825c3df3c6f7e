/*
 * floe-relay's relayed port range against the kernel's ephemeral ports: Linux hands
 * ports of net.ipv4.ip_local_port_range (32768-60999 by default) to every outgoing
 * socket of every program, so a relay range overlapping it finds some ports taken. The
 * core then binds another port of the range; the start log says so once.
 *
 * Also the host's addresses behind a wildcard --listen address, for the peer policy.
 */
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relayd.h"

int relayd_parse_local_range(const char *text, uint16_t *lo, uint16_t *hi)
{
    unsigned long a, b;
    char *end;

    a = strtoul(text, &end, 10);
    if (end == text)
        return FLOE_ERR_INVALID_ARG;
    text = end;
    b = strtoul(text, &end, 10);
    if (end == text || a == 0 || a > b || b > 65535)
        return FLOE_ERR_INVALID_ARG;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

static void ports_warn(struct floe_jsonlog *log, const struct relayd_opts *o, uint16_t lo,
                       uint16_t hi)
{
    struct floe_log_field f[4] = {
        FLOE_LF_U("port_min", o->port_min),
        FLOE_LF_U("port_max", o->port_max),
        FLOE_LF_U("ephemeral_min", lo),
        FLOE_LF_U("ephemeral_max", hi),
    };

    floe_jsonlog_write(log, FLOE_LOG_WARN, "relay",
                       "--relay-ports overlaps the kernel's ephemeral ports "
                       "(net.ipv4.ip_local_port_range): a port another program holds is "
                       "skipped for the next free one",
                       f, 4);
}

bool relayd_warn_ephemeral(struct floe_jsonlog *log, const struct relayd_opts *o, const char *path)
{
    char text[64];
    uint16_t lo, hi;
    size_t n;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (relayd_parse_local_range(text, &lo, &hi) < 0 || o->port_max < lo || o->port_min > hi)
        return false;
    ports_warn(log, o, lo, hi);
    return true;
}

/* The wildcard --listen address of family, if any. */
static bool ports_wildcard(const struct relayd_opts *o, enum floe_af family)
{
    static const uint8_t zero[16];
    size_t i;

    for (i = 0; i < o->n_listen; i++) {
        if (o->listen[i].family == family && memcmp(o->listen[i].ip, zero, 16) == 0)
            return true;
    }
    return false;
}

int relayd_add_host_addresses(struct relayd_opts *o)
{
    struct ifaddrs *all, *ifa;
    bool v4 = ports_wildcard(o, FLOE_AF_INET), v6 = ports_wildcard(o, FLOE_AF_INET6);

    if (!v4 && !v6)
        return 0;
    if (getifaddrs(&all) < 0)
        return FLOE_ERR_IO;
    for (ifa = all; ifa && o->core.n_own < FLOE_RELAY_MAX_OWN; ifa = ifa->ifa_next) {
        struct floe_addr a;

        socklen_t len;

        if (!ifa->ifa_addr ||
            (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
            continue;
        len = ifa->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                  : sizeof(struct sockaddr_in6);
        if (floe_io_addr_from_sockaddr(&a, ifa->ifa_addr, len) < 0)
            continue;
        if ((a.family == FLOE_AF_INET && v4) || (a.family == FLOE_AF_INET6 && v6))
            o->core.own[o->core.n_own++] = a;
    }
    freeifaddrs(all);
    return 0;
}
