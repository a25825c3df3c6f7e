/* JSON writer for floe's programs (see json.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

void floe_json_init(struct floe_json_buf *j, char *buf, size_t cap)
{
    j->buf = buf;
    j->cap = cap;
    j->len = 0;
    j->overflow = false;
}

void floe_json_raw(struct floe_json_buf *j, const char *s, size_t n)
{
    if (j->overflow || n > j->cap - j->len) {
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

void floe_json_lit(struct floe_json_buf *j, const char *s)
{
    floe_json_raw(j, s, strlen(s));
}

/* Continuation byte in [lo, hi]. */
static bool json_cont(uint8_t c, uint8_t lo, uint8_t hi)
{
    return c >= lo && c <= hi;
}

size_t floe_json_utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 4;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    if (n < need || !json_cont(s[1], lo, hi))
        return 0;
    for (i = 2; i < need; i++) {
        if (!json_cont(s[i], 0x80, 0xBF))
            return 0;
    }
    return need;
}

/* The short escape for c, or NULL when c needs \u00XX or none. */
static const char *json_short_escape(uint8_t c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        return NULL;
    }
}

/* Write one character starting at s and return how many input bytes it used. */
static size_t json_char(struct floe_json_buf *j, const uint8_t *s, size_t n)
{
    const char *esc = json_short_escape(s[0]);
    size_t seq;
    char hex[8];

    if (esc) {
        floe_json_lit(j, esc);
        return 1;
    }
    if (s[0] < 0x20 || s[0] == 0x7F) {
        snprintf(hex, sizeof(hex), "\\u%04x", s[0]);
        floe_json_lit(j, hex);
        return 1;
    }
    seq = floe_json_utf8_seq(s, n);
    if (seq == 0) {
        floe_json_lit(j, "\\ufffd");
        return 1;
    }
    floe_json_raw(j, (const char *)s, seq);
    return seq;
}

void floe_json_str(struct floe_json_buf *j, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t off = 0;

    if (!s) {
        floe_json_lit(j, "null");
        return;
    }
    floe_json_raw(j, "\"", 1);
    while (off < n && !j->overflow)
        off += json_char(j, p + off, n - off);
    floe_json_raw(j, "\"", 1);
}

void floe_json_cstr_value(struct floe_json_buf *j, const char *s)
{
    floe_json_str(j, s, s ? strlen(s) : 0);
}

void floe_json_int(struct floe_json_buf *j, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

    floe_json_raw(j, tmp, (size_t)n);
}

void floe_json_uint(struct floe_json_buf *j, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

    floe_json_raw(j, tmp, (size_t)n);
}

void floe_json_bool(struct floe_json_buf *j, bool v)
{
    floe_json_lit(j, v ? "true" : "false");
}

void floe_json_addr(struct floe_json_buf *j, const struct floe_addr *a)
{
    char tmp[FLOE_ADDR_STRLEN];
    int n;

    if (!a) {
        floe_json_lit(j, "null");
        return;
    }
    n = floe_addr_format(a, tmp, sizeof(tmp));
    if (n < 0) {
        floe_json_lit(j, "null");
        return;
    }
    floe_json_str(j, tmp, (size_t)n);
}

const char *floe_json_cstr(struct floe_json_buf *j)
{
    if (j->overflow || j->len >= j->cap)
        return NULL;
    j->buf[j->len] = '\0';
    return j->buf;
}
