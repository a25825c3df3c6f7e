/*
 * RFC 8839 section 5.1 candidate attributes: parse and format (include/floe/ice_sdp.h).
 */
#include <stdio.h>
#include <string.h>

#include "floe/ice_sdp.h"

/* Tokens of one candidate line: 8 fixed, raddr/rport, then extension pairs. */
#define SDP_MAX_TOKENS 64

struct sdp_tokens {
    char buf[FLOE_ICE_CANDIDATE_INPUT_MAX + 1];
    const char *tok[SDP_MAX_TOKENS];
    size_t n;
};

/* strnlen without POSIX (this file builds with mingw too). */
static size_t sdp_strnlen(const char *s, size_t max)
{
    const char *z = memchr(s, '\0', max);

    return z ? (size_t)(z - s) : max;
}

static bool sdp_is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Split on single or repeated spaces; trailing CR/LF is dropped. */
static int sdp_split(struct sdp_tokens *t, const char *s)
{
    size_t len = strlen(s), i;
    char *p;

    while (len && (s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (len > FLOE_ICE_CANDIDATE_INPUT_MAX)
        return FLOE_ERR_MALFORMED;
    memcpy(t->buf, s, len);
    t->buf[len] = '\0';
    t->n = 0;
    p = t->buf;
    for (i = 0; i <= len; i++) {
        if (t->buf[i] != ' ' && t->buf[i] != '\0')
            continue;
        t->buf[i] = '\0';
        if (*p) {
            if (t->n == SDP_MAX_TOKENS)
                return FLOE_ERR_MALFORMED;
            t->tok[t->n++] = p;
        }
        p = &t->buf[i + 1];
    }
    return 0;
}

/* Decimal digits only, 1..max_digits of them, value <= max. */
static bool sdp_number(const char *s, size_t max_digits, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n == max_digits)
            return false;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (n == 0 || v > max)
        return false;
    *out = v;
    return true;
}

static bool sdp_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;

        if (x != y)
            return false;
    }
    return *a == *b;
}

/* A literal address; a name that is not one is a host name (RFC 8839 allows FQDN). */
static int sdp_address(const char *ip, const char *port, struct floe_addr *out)
{
    uint64_t p;
    size_t i;

    if (floe_addr_parse_ip(ip, out) != 0) {
        for (i = 0; ip[i]; i++) {
            char c = ip[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.'))
                return FLOE_ERR_ADDR_PARSE;
        }
        return FLOE_ERR_UNSUPPORTED;
    }
    if (!sdp_number(port, 5, 65535, &p))
        return FLOE_ERR_MALFORMED;
    out->port = (uint16_t)p;
    return 0;
}

static int sdp_type(const char *s, enum floe_ice_cand_type *out)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum floe_ice_cand_type)i;
            return 0;
        }
    }
    return FLOE_ERR_MALFORMED;
}

/* "candidate:<foundation>", with an optional "a=" in front. */
static int sdp_foundation(const char *tok, struct floe_ice_candidate *out)
{
    size_t n;

    if (strncmp(tok, "a=", 2) == 0)
        tok += 2;
    if (strncmp(tok, "candidate:", 10) != 0)
        return FLOE_ERR_MALFORMED;
    tok += 10;
    n = strlen(tok);
    if (n == 0 || n > FLOE_ICE_FOUNDATION_MAX)
        return FLOE_ERR_MALFORMED;
    while (n--) {
        if (!sdp_is_ice_char(tok[n]))
            return FLOE_ERR_MALFORMED;
    }
    memcpy(out->foundation, tok, strlen(tok) + 1);
    return 0;
}

/* Fields 0..7: foundation, component, transport, priority, address, port, "typ", type. */
static int sdp_fixed(const struct sdp_tokens *t, struct floe_ice_candidate *out)
{
    uint64_t comp, prio;
    int rc;

    if (t->n < 8)
        return FLOE_ERR_MALFORMED;
    rc = sdp_foundation(t->tok[0], out);
    if (rc)
        return rc;
    if (!sdp_number(t->tok[1], 3, 256, &comp) || comp == 0)
        return FLOE_ERR_MALFORMED;
    if (comp == 256)
        return FLOE_ERR_UNSUPPORTED; /* legal, but floe_ice_candidate keeps 1..255 */
    if (!sdp_number(t->tok[3], 10, UINT32_MAX, &prio) || prio == 0)
        return FLOE_ERR_MALFORMED;
    if (strcmp(t->tok[6], "typ") != 0 || sdp_type(t->tok[7], &out->type) != 0)
        return FLOE_ERR_MALFORMED;
    rc = sdp_address(t->tok[4], t->tok[5], &out->addr);
    if (rc)
        return rc;
    if (!sdp_ieq(t->tok[2], "UDP"))
        return FLOE_ERR_UNSUPPORTED;
    out->component = (uint8_t)comp;
    out->priority = (uint32_t)prio;
    return 0;
}

/* After the type: optional raddr/rport, then name-value extension pairs. */
static int sdp_tail(const struct sdp_tokens *t, struct floe_ice_candidate *out)
{
    size_t i = 8;
    int rc;

    if (i + 1 < t->n && strcmp(t->tok[i], "raddr") == 0) {
        if (i + 3 >= t->n || strcmp(t->tok[i + 2], "rport") != 0)
            return FLOE_ERR_MALFORMED;
        rc = sdp_address(t->tok[i + 1], t->tok[i + 3], &out->base);
        if (rc)
            return rc == FLOE_ERR_UNSUPPORTED ? FLOE_ERR_MALFORMED : rc;
        i += 4;
    }
    if ((t->n - i) % 2 != 0)
        return FLOE_ERR_MALFORMED;
    return 0;
}

int floe_ice_candidate_parse(const char *s, struct floe_ice_candidate *out)
{
    struct sdp_tokens t;
    int rc;

    if (!s || !out)
        return FLOE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = sdp_split(&t, s);
    if (rc == 0)
        rc = sdp_fixed(&t, out);
    if (rc == 0)
        rc = sdp_tail(&t, out);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* The related address to print: the base, or the unspecified address of addr's family. */
static struct floe_addr sdp_related(const struct floe_ice_candidate *cand)
{
    struct floe_addr rel;

    if (cand->base.family != FLOE_AF_NONE)
        return cand->base;
    memset(&rel, 0, sizeof(rel));
    rel.family = cand->addr.family;
    return rel;
}

int floe_ice_candidate_format(const struct floe_ice_candidate *cand, char *buf, size_t cap)
{
    char ip[FLOE_ADDR_STRLEN], rip[FLOE_ADDR_STRLEN];
    size_t flen;
    uint32_t prio;
    int n;

    if (!cand || !buf || cand->type > FLOE_ICE_RELAY)
        return FLOE_ERR_INVALID_ARG;
    flen = sdp_strnlen(cand->foundation, sizeof(cand->foundation));
    if (flen == 0 || flen > FLOE_ICE_FOUNDATION_MAX ||
        floe_addr_format_ip(&cand->addr, ip, sizeof(ip)) < 0)
        return FLOE_ERR_INVALID_ARG;
    prio = cand->priority;
    if (prio == 0)
        prio = floe_ice_candidate_priority(
            cand->type, cand->local_pref ? cand->local_pref : FLOE_ICE_LOCAL_PREF_DEFAULT,
            cand->component ? cand->component : 1);
    n = snprintf(buf, cap, "candidate:%s %u UDP %u %s %u typ %s", cand->foundation,
                 cand->component ? cand->component : 1u, prio, ip, cand->addr.port,
                 floe_ice_cand_type_name(cand->type));
    if (n > 0 && cand->type != FLOE_ICE_HOST && (size_t)n < cap) {
        struct floe_addr rel = sdp_related(cand);

        if (floe_addr_format_ip(&rel, rip, sizeof(rip)) < 0)
            return FLOE_ERR_INVALID_ARG;
        n += snprintf(buf + n, cap - (size_t)n, " raddr %s rport %u", rip, rel.port);
    }
    if (n < 0 || (size_t)n >= cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    return n;
}
