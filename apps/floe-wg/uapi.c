/*
 * The cross-platform userspace configuration protocol (wireguard.com/xplatform), as
 * wireguard-go serves it: "get=1" answers the configuration and counters, "set=1" applies
 * key=value lines until a blank line and answers "errno=N" (0, EINVAL for a bad key or
 * value, EADDRINUSE for a port that cannot be bound, EPROTO for a line without '='). Lines
 * are applied as they arrive; after the first error the rest of the operation is ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "floe/crypto_wg.h"
#include "wgd.h"

/* 64 hex digits -> 32 bytes. Returns 0 or -1. */
static int uapi_key_parse(const char *s, uint8_t key[FLOE_WG_KEY_LEN])
{
    return floe_hex_decode(key, FLOE_WG_KEY_LEN, s, strlen(s)) == 0 ? 0 : -1;
}

static void uapi_key_print(FILE *out, const char *name, const uint8_t key[FLOE_WG_KEY_LEN])
{
    int i;

    fprintf(out, "%s=", name);
    for (i = 0; i < FLOE_WG_KEY_LEN; i++)
        fprintf(out, "%02x", key[i]);
    fputc('\n', out);
}

/* A decimal number in [0, max]. Returns 0 or -1. */
static int uapi_uint_parse(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return (*end || errno || *out > max) ? -1 : 0;
}

static bool uapi_is_zero(const uint8_t key[FLOE_WG_KEY_LEN])
{
    static const uint8_t zero[FLOE_WG_KEY_LEN];

    return floe_ct_eq(key, zero, FLOE_WG_KEY_LEN);
}

/* ------------------------------------------------------------------- get */

static void uapi_print_prefix(void *user, const struct floe_prefix *p, void *value)
{
    char buf[64];

    (void)value;
    if (floe_prefix_format(p, buf, sizeof(buf)) > 0)
        fprintf((FILE *)user, "allowed_ip=%s\n", buf);
}

static void uapi_get_peer(struct wgd *d, const struct wgd_peer *p, FILE *out)
{
    struct floe_wg_peer_stats st = {0};
    struct floe_addr ep = wgd_peer_endpoint(p);
    char a[FLOE_ADDR_STRLEN];

    if (p->wp)
        st = floe_wg_peer_stats(p->wp);
    uapi_key_print(out, "public_key", p->pub);
    if (p->has_psk)
        uapi_key_print(out, "preshared_key", p->psk);
    fputs("protocol_version=1\n", out);
    if (ep.family && floe_addr_format(&ep, a, sizeof(a)) > 0)
        fprintf(out, "endpoint=%s\n", a);
    fprintf(out, "last_handshake_time_sec=%llu\n",
            (unsigned long long)(st.last_handshake_unix_ns / 1000000000ull));
    fprintf(out, "last_handshake_time_nsec=%llu\n",
            (unsigned long long)(st.last_handshake_unix_ns % 1000000000ull));
    fprintf(out, "tx_bytes=%llu\n", (unsigned long long)st.tx_bytes);
    fprintf(out, "rx_bytes=%llu\n", (unsigned long long)st.rx_bytes);
    fprintf(out, "persistent_keepalive_interval=%u\n", p->keepalive);
    floe_iptrie_walk(&d->aip, p, uapi_print_prefix, out);
}

static void uapi_get(struct wgd *d, FILE *out)
{
    const struct wgd_peer *p;

    if (d->has_key)
        uapi_key_print(out, "private_key", d->priv);
    fprintf(out, "listen_port=%u\n", d->listen_port);
    if (d->fwmark)
        fprintf(out, "fwmark=%u\n", d->fwmark);
    for (p = d->peers; p; p = p->next)
        uapi_get_peer(d, p, out);
    fputs("errno=0\n\n", out);
}

/* --------------------------------------------------------- set: device keys */

static int uapi_set_private_key(struct wgd *d, const char *v, floe_time now)
{
    uint8_t key[FLOE_WG_KEY_LEN];
    struct wgd_peer *self;
    int rc = 0;

    if (uapi_key_parse(v, key) != 0)
        return EINVAL;
    if (d->has_key && floe_ct_eq(key, d->priv, FLOE_WG_KEY_LEN))
        goto out; /* unchanged: keep the sessions (wg setconf sends the key every time) */
    d->has_key = !uapi_is_zero(key);
    memcpy(d->priv, key, sizeof(key));
    memset(d->pub, 0, sizeof(d->pub));
    if (d->has_key && floe_x25519_public(d->pub, d->priv) != 0)
        d->has_key = false;
    /* A peer with our own public key is removed, as wireguard-go does. */
    self = d->has_key ? wgd_peer_find(d, d->pub) : NULL;
    if (self)
        wgd_peer_remove(d, self);
    if (wgd_dev_rebuild(d, now) != 0)
        rc = EIO;
out:
    floe_wipe(key, sizeof(key));
    return rc;
}

/* Apply a firewall mark to the socket (0 clears it); a refused mark leaves the old one. */
static int uapi_set_fwmark(struct wgd *d, uint32_t mark)
{
    uint32_t old = d->fwmark;
    int err;

    d->fwmark = mark;
    errno = 0;
    if (wgd_udp_open(d, d->listen_port) == 0)
        return 0;
    err = errno ? errno : EIO;
    d->fwmark = old;
    return err;
}

static int uapi_set_device(struct wgd *d, const char *k, const char *v, floe_time now)
{
    unsigned long n;

    if (strcmp(k, "private_key") == 0)
        return uapi_set_private_key(d, v, now);
    if (strcmp(k, "listen_port") == 0) {
        if (uapi_uint_parse(v, 65535, &n) != 0)
            return EINVAL;
        return wgd_udp_open(d, (uint16_t)n) == 0 ? 0 : EADDRINUSE;
    }
    if (strcmp(k, "fwmark") == 0) {
        if (uapi_uint_parse(v, UINT32_MAX, &n) != 0)
            return EINVAL;
        return uapi_set_fwmark(d, (uint32_t)n);
    }
    if (strcmp(k, "replace_peers") == 0) {
        if (strcmp(v, "true") != 0)
            return EINVAL;
        wgd_peers_clear(d);
        return 0;
    }
    return EINVAL;
}

/* ----------------------------------------------------------- set: peer keys */

static int uapi_set_public_key(struct wgd *d, struct wgd_conn *c, const char *v, floe_time now)
{
    uint8_t pub[FLOE_WG_KEY_LEN];

    if (uapi_key_parse(v, pub) != 0)
        return EINVAL;
    c->peer_created = false;
    c->peer_skip = d->has_key && memcmp(pub, d->pub, FLOE_WG_KEY_LEN) == 0;
    c->peer = c->peer_skip ? NULL : wgd_peer_find(d, pub);
    if (c->peer || c->peer_skip)
        return 0;
    c->peer = wgd_peer_new(d, pub);
    if (!c->peer)
        return ENOMEM;
    /* Remembered so that update_only can undo the creation. */
    c->peer_created = true;
    if (wgd_dev_add_peer(d, c->peer, now) == 0)
        return 0;
    wgd_peer_remove(d, c->peer); /* a key of small order */
    c->peer = NULL;
    return EINVAL;
}

static int uapi_set_allowed_ip(struct wgd *d, struct wgd_conn *c, const char *v)
{
    struct floe_prefix pfx;
    bool add = *v != '-';

    if (floe_prefix_parse(add ? v : v + 1, &pfx) != 0)
        return EINVAL;
    if (!c->peer)
        return 0;
    if (!add) {
        (void)floe_iptrie_remove(&d->aip, &pfx, c->peer);
        return 0;
    }
    return floe_iptrie_insert(&d->aip, &pfx, c->peer) == 0 ? 0 : ENOMEM;
}

static int uapi_set_psk(struct wgd *d, struct wgd_peer *p, const char *v)
{
    uint8_t psk[FLOE_WG_KEY_LEN];

    if (uapi_key_parse(v, psk) != 0)
        return EINVAL;
    if (!p)
        return 0;
    p->has_psk = !uapi_is_zero(psk);
    memcpy(p->psk, psk, sizeof(psk));
    floe_wipe(psk, sizeof(psk));
    if (p->wp)
        (void)floe_wg_peer_set_psk(d->dev, p->wp, p->has_psk, p->psk);
    return 0;
}

static int uapi_set_endpoint(struct wgd *d, struct wgd_peer *p, const char *v)
{
    struct floe_addr ep;

    if (floe_addr_parse(v, &ep) != 0 || ep.port == 0)
        return EINVAL;
    if (!p)
        return 0;
    p->endpoint = ep;
    if (p->wp)
        (void)floe_wg_peer_set_endpoint(d->dev, p->wp, &ep);
    return 0;
}

static int uapi_set_keepalive(struct wgd *d, struct wgd_peer *p, const char *v, floe_time now)
{
    unsigned long n;

    if (uapi_uint_parse(v, 65535, &n) != 0)
        return EINVAL;
    if (!p)
        return 0;
    p->keepalive = (uint16_t)n;
    if (p->wp)
        (void)floe_wg_peer_set_keepalive(d->dev, p->wp, now, p->keepalive);
    return 0;
}

/* update_only, remove, replace_allowed_ips, protocol_version: flags and checks. */
static int uapi_set_peer_flag(struct wgd *d, struct wgd_conn *c, const char *k, const char *v)
{
    if (strcmp(k, "protocol_version") == 0)
        return strcmp(v, "1") == 0 ? 0 : EINVAL;
    if (strcmp(v, "true") != 0)
        return EINVAL;
    if (!c->peer)
        return 0;
    if (strcmp(k, "update_only") == 0) {
        if (!c->peer_created)
            return 0;
    } else if (strcmp(k, "replace_allowed_ips") == 0) {
        (void)floe_iptrie_remove_value(&d->aip, c->peer);
        return 0;
    }
    /* remove, or update_only of a peer this operation created. */
    wgd_peer_remove(d, c->peer);
    c->peer = NULL;
    return 0;
}

static int uapi_set_peer(struct wgd *d, struct wgd_conn *c, const char *k, const char *v,
                         floe_time now)
{
    if (strcmp(k, "preshared_key") == 0)
        return uapi_set_psk(d, c->peer, v);
    if (strcmp(k, "endpoint") == 0)
        return uapi_set_endpoint(d, c->peer, v);
    if (strcmp(k, "persistent_keepalive_interval") == 0)
        return uapi_set_keepalive(d, c->peer, v, now);
    if (strcmp(k, "allowed_ip") == 0)
        return uapi_set_allowed_ip(d, c, v);
    if (strcmp(k, "update_only") == 0 || strcmp(k, "remove") == 0 ||
        strcmp(k, "replace_allowed_ips") == 0 || strcmp(k, "protocol_version") == 0)
        return uapi_set_peer_flag(d, c, k, v);
    return EINVAL;
}

/* One key=value line of a set operation. Returns 0 or a positive errno. */
static int uapi_set_line(struct wgd *d, struct wgd_conn *c, char *line, floe_time now)
{
    char *eq = strchr(line, '=');
    bool in_peer = c->peer || c->peer_skip || c->peer_created;
    int rc;

    if (!eq)
        return EPROTO;
    *eq = '\0';
    if (strcmp(line, "public_key") == 0)
        rc = uapi_set_public_key(d, c, eq + 1, now);
    else if (in_peer)
        rc = uapi_set_peer(d, c, line, eq + 1, now);
    else
        rc = uapi_set_device(d, line, eq + 1, now);
    /* A removed peer's lines are parsed but apply to nothing, as in wireguard-go. */
    if (in_peer && !c->peer)
        c->peer_skip = true;
    return rc;
}

/* ------------------------------------------------------------- operations */

static void uapi_end_set(struct wgd *d, struct wgd_conn *c, FILE *out, floe_time now)
{
    fprintf(out, "errno=%d\n\n", c->err);
    if (c->err)
        floe_jsonlog_warn(&d->log, "uapi", "set failed: %s", strerror(c->err));
    c->op = 0;
    c->err = 0;
    c->peer = NULL;
    c->peer_skip = c->peer_created = false;
    if (d->dev)
        wgd_dev_drain(d, now);
}

int wgd_uapi_line(struct wgd *d, struct wgd_conn *c, const char *line, FILE *out, floe_time now)
{
    char buf[WGD_UAPI_LINE_MAX];

    if (c->op == 's') {
        if (*line == '\0') {
            uapi_end_set(d, c, out, now);
            return 0;
        }
        snprintf(buf, sizeof(buf), "%s", line);
        if (c->err == 0)
            c->err = uapi_set_line(d, c, buf, now);
        floe_wipe(buf, sizeof(buf));
        return 0;
    }
    if (c->op == 'g') {
        c->op = 0;
        if (*line != '\0') {
            fprintf(out, "errno=%d\n\n", EINVAL);
            return -1;
        }
        uapi_get(d, out);
        return 0;
    }
    if (strcmp(line, "get=1") == 0 || strcmp(line, "set=1") == 0) {
        c->op = line[0];
        return 0;
    }
    fprintf(out, "errno=%d\n\n", EINVAL);
    return -1;
}

/* ------------------------------------------------------------------ socket */

static int uapi_path(const char *ifname, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    return snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s.sock", WGD_SOCK_DIR, ifname) <
                   (int)sizeof(sun->sun_path)
               ? 0
               : -ENAMETOOLONG;
}

/* Is something listening on the socket already? */
static bool uapi_in_use(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool used;

    if (fd < 0)
        return false;
    used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
    close(fd);
    return used;
}

int wgd_uapi_listen(const char *ifname)
{
    struct sockaddr_un sun;
    mode_t old;
    int fd, rc;

    if (uapi_path(ifname, &sun) != 0)
        return -ENAMETOOLONG;
    if (mkdir(WGD_SOCK_DIR, 0755) != 0 && errno != EEXIST)
        return -errno;
    if (uapi_in_use(&sun))
        return -EADDRINUSE;
    unlink(sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    old = umask(0077);
    rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

void wgd_uapi_unlink(const char *ifname)
{
    struct sockaddr_un sun;

    if (uapi_path(ifname, &sun) == 0)
        unlink(sun.sun_path);
}
