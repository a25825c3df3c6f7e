/* Validation and formats of the portal model (model.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/crypto.h"
#include "model.h"

static int model_fail(char *msg, size_t cap, const char *fmt, ...) FLOE_PRINTF(3, 4);

static int model_fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (msg && cap) {
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return FLOE_ERR_INVALID_ARG;
}

bool floe_model_name_ok(const char *name)
{
    size_t len, i;
    bool visible = false;

    if (!name)
        return false;
    len = strlen(name);
    if (len == 0 || len > FLOE_STORE_NAME_MAX)
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c < 0x20 || c == 0x7f)
            return false;
        if (c != ' ')
            visible = true;
    }
    return visible;
}

/* An unsigned decimal number of at most 16 digits with nothing after it. */
static int model_uint_parse(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (!s || !s[0] || strlen(s) > 16)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FLOE_ERR_INVALID_ARG;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int floe_model_id_parse(const char *s, int64_t *out)
{
    uint64_t v;

    if (model_uint_parse(s, &v) < 0 || v == 0 || v > (1ull << 53))
        return FLOE_ERR_INVALID_ARG;
    *out = (int64_t)v;
    return 0;
}

int floe_model_port_parse(const char *s, uint16_t *out)
{
    uint64_t v;

    if (model_uint_parse(s, &v) < 0 || v == 0 || v > 65535)
        return FLOE_ERR_INVALID_ARG;
    *out = (uint16_t)v;
    return 0;
}

/* Clear the bits of a past the first plen. */
static void model_mask(struct floe_addr *a, unsigned plen)
{
    unsigned bytes = a->family == FLOE_AF_INET ? 4 : 16, i;

    for (i = 0; i < bytes; i++) {
        unsigned keep = plen >= 8 * (i + 1) ? 8 : (plen > 8 * i ? plen - 8 * i : 0);

        a->ip[i] = (uint8_t)(a->ip[i] & (uint8_t)(0xff00u >> keep));
    }
}

int floe_model_cidr_normalize(const char *in, char *out, size_t cap, char *msg, size_t msg_cap)
{
    char ip[FLOE_STORE_CIDR_STRLEN];
    const char *slash;
    struct floe_addr a;
    uint64_t plen;
    unsigned max;
    int n;

    if (!in || !in[0] || strlen(in) >= sizeof(ip))
        return model_fail(msg, msg_cap, "address '%s' is not a CIDR (A.B.C.D/N or V6/N)",
                          in ? in : "");
    slash = strchr(in, '/');
    n = snprintf(ip, sizeof(ip), "%.*s", (int)(slash ? (size_t)(slash - in) : strlen(in)), in);
    if (n <= 0 || floe_addr_parse_ip(ip, &a) < 0)
        return model_fail(msg, msg_cap, "address '%s' is not an IPv4 or IPv6 CIDR", in);
    max = a.family == FLOE_AF_INET ? 32 : 128;
    plen = max;
    if (slash && (model_uint_parse(slash + 1, &plen) < 0 || plen > max))
        return model_fail(msg, msg_cap, "prefix length of '%s' is not 0..%u", in, max);
    model_mask(&a, (unsigned)plen);
    if (floe_addr_format_ip(&a, ip, sizeof(ip)) < 0)
        return model_fail(msg, msg_cap, "address '%s' cannot be formatted", in);
    n = snprintf(out, cap, "%s/%u", ip, (unsigned)plen);
    if (n < 0 || (size_t)n >= cap)
        return model_fail(msg, msg_cap, "address '%s' too long", in);
    return 0;
}

const char *floe_model_proto_name(enum floe_store_proto p)
{
    switch (p) {
    case FLOE_STORE_PROTO_TCP:
        return "tcp";
    case FLOE_STORE_PROTO_UDP:
        return "udp";
    case FLOE_STORE_PROTO_ICMP:
        return "icmp";
    }
    return "?";
}

static int model_proto_parse(const char *s, size_t len, enum floe_store_proto *out)
{
    static const enum floe_store_proto all[] = {FLOE_STORE_PROTO_TCP, FLOE_STORE_PROTO_UDP,
                                                FLOE_STORE_PROTO_ICMP};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *name = floe_model_proto_name(all[i]);

        if (strlen(name) == len && strncmp(s, name, len) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return FLOE_ERR_INVALID_ARG;
}

/* "LO" or "LO-HI" into f's port range. */
static int model_ports_parse(const char *s, struct floe_store_filter *f)
{
    char lo[8], hi[8];
    const char *dash = strchr(s, '-');

    if (!dash)
        return floe_model_port_parse(s, &f->port_lo) < 0 ? FLOE_ERR_INVALID_ARG
                                                         : (f->port_hi = f->port_lo, 0);
    if ((size_t)(dash - s) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
        return FLOE_ERR_INVALID_ARG;
    snprintf(lo, sizeof(lo), "%.*s", (int)(dash - s), s);
    snprintf(hi, sizeof(hi), "%s", dash + 1);
    if (floe_model_port_parse(lo, &f->port_lo) < 0 || floe_model_port_parse(hi, &f->port_hi) < 0)
        return FLOE_ERR_INVALID_ARG;
    return f->port_lo <= f->port_hi ? 0 : FLOE_ERR_INVALID_ARG;
}

int floe_model_filter_parse(const char *s, struct floe_store_filter *out, char *msg, size_t msg_cap)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    size_t plen = s ? (colon ? (size_t)(colon - s) : strlen(s)) : 0;

    memset(out, 0, sizeof(*out));
    if (!s || model_proto_parse(s, plen, &out->proto) < 0)
        return model_fail(msg, msg_cap, "filter '%s': protocol must be tcp, udp or icmp",
                          s ? s : "");
    if (!colon)
        return 0;
    if (out->proto == FLOE_STORE_PROTO_ICMP)
        return model_fail(msg, msg_cap, "filter '%s': icmp takes no ports", s);
    if (model_ports_parse(colon + 1, out) < 0)
        return model_fail(msg, msg_cap, "filter '%s': ports must be PORT or LO-HI in 1..65535", s);
    return 0;
}

int floe_model_filters_parse(const char *s, struct floe_store_filter *out, size_t *n, char *msg,
                             size_t msg_cap)
{
    char one[32];
    const char *p = s;

    *n = 0;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (*n == FLOE_STORE_FILTERS_MAX)
            return model_fail(msg, msg_cap, "at most %d filters", FLOE_STORE_FILTERS_MAX);
        if (len >= sizeof(one))
            return model_fail(msg, msg_cap, "filter '%.*s' too long", (int)len, p);
        snprintf(one, sizeof(one), "%.*s", (int)len, p);
        if (floe_model_filter_parse(one, &out[*n], msg, msg_cap) < 0)
            return FLOE_ERR_INVALID_ARG;
        (*n)++;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

int floe_model_filters_format(const struct floe_store_filter *f, size_t n, char *out, size_t cap)
{
    size_t i, len = 0;

    if (cap == 0)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    out[0] = 0;
    for (i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        const char *name = floe_model_proto_name(f[i].proto);
        int w;

        if (f[i].port_lo == 0)
            w = snprintf(out + len, cap - len, "%s%s", sep, name);
        else if (f[i].port_lo == f[i].port_hi)
            w = snprintf(out + len, cap - len, "%s%s:%u", sep, name, f[i].port_lo);
        else
            w = snprintf(out + len, cap - len, "%s%s:%u-%u", sep, name, f[i].port_lo, f[i].port_hi);
        if (w < 0 || (size_t)w >= cap - len)
            return FLOE_ERR_BUFFER_TOO_SMALL;
        len += (size_t)w;
    }
    return 0;
}

static bool model_hostname_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

int floe_model_relay_address_ok(const char *s, char *msg, size_t msg_cap)
{
    struct floe_addr a;
    const char *colon;
    uint16_t port;

    if (!s || strlen(s) >= FLOE_STORE_ADDR_STRLEN)
        return model_fail(msg, msg_cap, "relay address missing or too long");
    if (floe_addr_parse(s, &a) == 0)
        return a.port ? 0 : model_fail(msg, msg_cap, "relay address '%s': port 0", s);
    colon = strrchr(s, ':');
    if (!colon || s[0] == '[' || memchr(s, ':', (size_t)(colon - s)) ||
        !model_hostname_ok(s, (size_t)(colon - s)))
        return model_fail(msg, msg_cap, "relay address '%s' is not HOST:PORT", s);
    if (floe_model_port_parse(colon + 1, &port) < 0)
        return model_fail(msg, msg_cap, "relay address '%s': port must be 1..65535", s);
    return 0;
}

bool floe_model_secret_ok(const char *s)
{
    size_t i, len = s ? strlen(s) : 0;

    if (len == 0 || len >= FLOE_STORE_SECRET_MAX)
        return false;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

bool floe_model_public_key_ok(const char *s)
{
    uint8_t key[33];

    return s && strlen(s) == 44 && floe_base64_decode(key, sizeof(key), s, 44) == 32;
}

bool floe_model_channel_ok(const char *s)
{
    size_t i, len = s ? strlen(s) : 0;

    if (len == 0 || len >= FLOE_STORE_CHANNEL_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

int floe_model_pool_address(int64_t idx, char ipv4[16], char ipv6[48])
{
    struct floe_addr a = {0};
    uint32_t v = (uint32_t)idx;

    if (idx < 1 || idx > FLOE_MODEL_POOL_MAX)
        return FLOE_ERR_INVALID_ARG;
    a = floe_addr_v4(100, (uint8_t)(64 | (v >> 16)), (uint8_t)(v >> 8), (uint8_t)v, 0);
    if (floe_addr_format_ip(&a, ipv4, 16) < 0)
        return FLOE_ERR_INTERNAL;
    memset(&a, 0, sizeof(a));
    a.family = FLOE_AF_INET6;
    a.ip[0] = 0xfd;
    a.ip[2] = 0x20;
    a.ip[3] = 0x21;
    a.ip[4] = 0x11;
    a.ip[5] = 0x11;
    floe_store_be32(&a.ip[12], v);
    return floe_addr_format_ip(&a, ipv6, 48) < 0 ? FLOE_ERR_INTERNAL : 0;
}

int floe_model_token_parse(const char *token, int64_t *id, uint8_t secret[FLOE_STORE_TOKEN_BYTES])
{
    char idtext[20];
    const char *dot = token ? strchr(token, '.') : NULL;

    if (!dot || (size_t)(dot - token) >= sizeof(idtext) ||
        strlen(dot + 1) != 2 * FLOE_STORE_TOKEN_BYTES)
        return FLOE_ERR_INVALID_ARG;
    snprintf(idtext, sizeof(idtext), "%.*s", (int)(dot - token), token);
    if (floe_model_id_parse(idtext, id) < 0)
        return FLOE_ERR_INVALID_ARG;
    return floe_hex_decode(secret, FLOE_STORE_TOKEN_BYTES, dot + 1, 2 * FLOE_STORE_TOKEN_BYTES) < 0
               ? FLOE_ERR_INVALID_ARG
               : 0;
}

static void model_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

int floe_model_token_format(int64_t id, const uint8_t secret[FLOE_STORE_TOKEN_BYTES], char *out,
                            size_t cap)
{
    char hex[2 * FLOE_STORE_TOKEN_BYTES + 1];
    int n;

    model_hex(hex, secret, FLOE_STORE_TOKEN_BYTES);
    n = snprintf(out, cap, "%lld.%s", (long long)id, hex);
    floe_wipe(hex, sizeof(hex));
    return n < 0 || (size_t)n >= cap ? FLOE_ERR_BUFFER_TOO_SMALL : 0;
}

int floe_model_token_hash(const uint8_t secret[FLOE_STORE_TOKEN_BYTES], char out[65])
{
    uint8_t digest[FLOE_SHA256_LEN];
    struct floe_span part = floe_span_make(secret, FLOE_STORE_TOKEN_BYTES);

    if (floe_sha256(digest, &part, 1) < 0)
        return FLOE_ERR_CRYPTO;
    model_hex(out, digest, sizeof(digest));
    return 0;
}
