/* JSON Lines logger: lines written to a file are parsed back and checked. */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "json.h"
#include "jsonlog.h"
#include "test.h"

#define MAX_KEYS 32
#define MAX_LINES 16

/* One parsed line: a flat object of string, number, bool or null values. */
struct obj {
    int n;
    char key[MAX_KEYS][64];
    char val[MAX_KEYS][8192]; /* strings unescaped to UTF-8; other values as text */
    bool is_str[MAX_KEYS];
};

static void put_utf8(char **o, unsigned cp)
{
    if (cp < 0x80) {
        *(*o)++ = (char)cp;
    } else if (cp < 0x800) {
        *(*o)++ = (char)(0xC0 | cp >> 6);
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *(*o)++ = (char)(0xE0 | cp >> 12);
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* Parse a JSON string at *p into out; rejects raw control characters. */
static bool parse_str(const char **p, char *out, size_t cap)
{
    char *o = out, *end = out + cap - 4;
    unsigned cp;

    if (**p != '"')
        return false;
    for ((*p)++; **p != '"'; (*p)++) {
        if (!**p || (unsigned char)**p < 0x20 || o >= end)
            return false;
        if (**p != '\\') {
            *o++ = **p;
            continue;
        }
        (*p)++;
        switch (**p) {
        case 'n':
            *o++ = '\n';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case '"':
        case '\\':
        case '/':
            *o++ = **p;
            break;
        case 'u':
            if (sscanf(*p + 1, "%4x", &cp) != 1)
                return false;
            put_utf8(&o, cp);
            *p += 4;
            break;
        default:
            return false;
        }
    }
    (*p)++;
    *o = '\0';
    return true;
}

static bool parse_scalar(const char **p, char *out, size_t cap)
{
    size_t n = strcspn(*p, ",}");

    if (n == 0 || n >= cap)
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return true;
}

/* Parse one line "{...}\n" into o. */
static bool parse_line(const char *p, struct obj *o)
{
    memset(o, 0, sizeof(*o));
    if (*p++ != '{')
        return false;
    while (*p != '}') {
        if (o->n == MAX_KEYS || !parse_str(&p, o->key[o->n], sizeof(o->key[0])) || *p++ != ':')
            return false;
        o->is_str[o->n] = *p == '"';
        if (o->is_str[o->n] ? !parse_str(&p, o->val[o->n], sizeof(o->val[0]))
                            : !parse_scalar(&p, o->val[o->n], sizeof(o->val[0])))
            return false;
        o->n++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return false;
    }
    return strcmp(p, "}\n") == 0;
}

static const char *get(const struct obj *o, const char *key)
{
    int i;

    for (i = 0; i < o->n; i++) {
        if (strcmp(o->key[i], key) == 0)
            return o->val[i];
    }
    return NULL;
}

static int key_index(const struct obj *o, const char *key)
{
    int i;

    for (i = 0; i < o->n; i++) {
        if (strcmp(o->key[i], key) == 0)
            return i;
    }
    return -1;
}

/* Read the file's lines into a static array; returns the count. */
static int read_lines(const char *path, char lines[][40000], int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;

    if (!f)
        return -1;
    while (n < max && fgets(lines[n], sizeof(lines[0]), f))
        n++;
    fclose(f);
    return n;
}

static char lines[MAX_LINES][40000];
static struct obj parsed;

static void make_temp(char *path, size_t cap)
{
    int fd;

    snprintf(path, cap, "/tmp/floe_jsonlog_test_XXXXXX");
    fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
}

static bool is_rfc3339_nanos(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
    size_t i;

    if (!s || strlen(s) != sizeof(pat) - 1)
        return false;
    for (i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return false;
    }
    return true;
}

static void test_fields_and_levels(void)
{
    struct floe_addr a6, a4 = floe_addr_v4(192, 0, 2, 1, 3478);
    struct floe_log_field f[] = {
        FLOE_LF_S("peer", "gw-1"),
        FLOE_LF_I("delta", -42),
        FLOE_LF_U("bytes", 18446744073709551615ull),
        FLOE_LF_A("addr", &a4),
        FLOE_LF_A("addr6", &a6),
        FLOE_LF_B("relayed", true),
        FLOE_LF_B("direct", false),
        FLOE_LF_S("message", "clash"),
    };
    struct floe_jsonlog lg;
    struct floe_log hook;
    char path[64];

    REQUIRE(floe_addr_parse("[2001:db8::1]:443", &a6) == 0);
    make_temp(path, sizeof(path));
    REQUIRE(floe_jsonlog_open(&lg, path, FLOE_LOG_INFO) == 0);
    hook = floe_jsonlog_hook(&lg);
    floe_log_emit(&hook, FLOE_LOG_DEBUG, "ice", "hidden", NULL, 0);
    floe_log_emit(&hook, FLOE_LOG_WARN, "ice", "pair failed", f, sizeof(f) / sizeof(f[0]));
    floe_jsonlog_debug(&lg, "stun", "also hidden %d", 1);
    floe_jsonlog_info(&lg, "stun", "sent %d bytes to %s", 20, "x");
    floe_jsonlog_close(&lg);
    REQUIRE(read_lines(path, lines, MAX_LINES) == 2);
    unlink(path);

    REQUIRE(parse_line(lines[0], &parsed));
    CHECK_EQ(key_index(&parsed, "time"), 0);
    CHECK_EQ(key_index(&parsed, "severity"), 1);
    CHECK_EQ(key_index(&parsed, "message"), 2);
    CHECK_EQ(key_index(&parsed, "target"), 3);
    CHECK(is_rfc3339_nanos(get(&parsed, "time")));
    CHECK_STR(get(&parsed, "severity"), "WARN");
    CHECK_STR(get(&parsed, "message"), "pair failed");
    CHECK_STR(get(&parsed, "target"), "ice");
    CHECK_STR(get(&parsed, "peer"), "gw-1");
    CHECK_STR(get(&parsed, "delta"), "-42");
    CHECK_STR(get(&parsed, "bytes"), "18446744073709551615");
    CHECK_STR(get(&parsed, "addr"), "192.0.2.1:3478");
    CHECK_STR(get(&parsed, "addr6"), "[2001:db8::1]:443");
    CHECK_STR(get(&parsed, "relayed"), "true");
    CHECK_STR(get(&parsed, "direct"), "false");
    CHECK_STR(get(&parsed, "field.message"), "clash");
    CHECK(!parsed.is_str[key_index(&parsed, "delta")]);

    REQUIRE(parse_line(lines[1], &parsed));
    CHECK_STR(get(&parsed, "severity"), "INFO");
    CHECK_STR(get(&parsed, "message"), "sent 20 bytes to x");
    CHECK_STR(get(&parsed, "target"), "stun");
}

static void format_one(const char *message, const struct floe_log_field *f, size_t n)
{
    static char buf[FLOE_JSONLOG_LINE_MAX];
    struct timespec ts = {.tv_sec = 1795608000, .tv_nsec = 123456789};
    long len = floe_jsonlog_format(buf, sizeof(buf), &ts, FLOE_LOG_ERROR, "t", message, f, n);

    memset(&parsed, 0, sizeof(parsed));
    CHECK(len > 0);
    if (len <= 0)
        return;
    CHECK_EQ(strlen(buf), len);
    CHECK(parse_line(buf, &parsed));
}

static void test_time_format(void)
{
    format_one("m", NULL, 0);
    CHECK_STR(get(&parsed, "time"), "2026-11-25T12:00:00.123456789Z");
    CHECK_STR(get(&parsed, "severity"), "ERROR");
}

static void test_escaping(void)
{
    struct floe_log_field f[] = {
        FLOE_LF_S("ctl", "a\x01\x1f\x7f"
                         "b"),
        FLOE_LF_S("bad", "\xff\xc0\x80x\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82"),
        FLOE_LF_S("utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
        FLOE_LF_S(NULL, "no key"),
        FLOE_LF_S("null", NULL),
    };

    format_one("q\"uote\\ back\nnl\ttab\r\b\f", f, sizeof(f) / sizeof(f[0]));
    CHECK_STR(get(&parsed, "message"), "q\"uote\\ back\nnl\ttab\r\b\f");
    CHECK_STR(get(&parsed, "ctl"), "a\x01\x1f\x7f"
                                   "b");
    /* Each invalid byte becomes U+FFFD (EF BF BD). */
    CHECK_STR(get(&parsed, "bad"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"
                                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                   "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(get(&parsed, "utf8"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK_STR(get(&parsed, "null"), "null");
    CHECK(!parsed.is_str[key_index(&parsed, "null")]);
    CHECK_EQ(parsed.n, 8); /* the field without a key is left out */
}

static void test_utf8_seq(void)
{
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xc2\x80", 2), 2);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xc2", 1), 0);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xe0\x9f\x80", 3), 0);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xef\xbf\xbf", 3), 3);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xf0\x8f\x80\x80", 4), 0);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
    CHECK_EQ(floe_json_utf8_seq((const uint8_t *)"\xf5\x80\x80\x80", 4), 0);
}

static void test_truncation_stays_valid(void)
{
    static char big[3 * FLOE_JSONLOG_MESSAGE_MAX];
    static char val[FLOE_JSONLOG_LINE_MAX];
    struct floe_log_field f[12];
    size_t i;

    memset(big, '\x01', sizeof(big) - 1);
    memset(val, '"', sizeof(val) - 1);
    for (i = 0; i < 12; i++) {
        struct floe_log_field one = FLOE_LF_S("v", val);

        f[i] = one;
    }
    format_one(big, f, 12);
    CHECK_EQ(strlen(get(&parsed, "message") ? get(&parsed, "message") : ""),
             FLOE_JSONLOG_MESSAGE_MAX);
    CHECK_STR(get(&parsed, "truncated"), "true");
    CHECK_STR(get(&parsed, "target"), "t");
}

/*
 * Rotation renames the open log file: Windows refuses that for a file the CRT opened (no
 * FILE_SHARE_DELETE), and the programs that reopen on SIGHUP are Linux daemons.
 */
#ifndef _WIN32
static void test_reopen_after_rotation(void)
{
    struct floe_jsonlog lg;
    char path[64], rotated[80];

    make_temp(path, sizeof(path));
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    REQUIRE(floe_jsonlog_open(&lg, path, FLOE_LOG_TRACE) == 0);
    floe_jsonlog_trace(&lg, "app", "before");
    REQUIRE(rename(path, rotated) == 0);
    CHECK_EQ(floe_jsonlog_reopen(&lg), 0);
    floe_jsonlog_error(&lg, "app", "after");
    floe_jsonlog_close(&lg);
    CHECK_EQ(read_lines(rotated, lines, MAX_LINES), 1);
    CHECK(parse_line(lines[0], &parsed) && strcmp(get(&parsed, "message"), "before") == 0);
    CHECK_EQ(read_lines(path, lines, MAX_LINES), 1);
    CHECK(parse_line(lines[0], &parsed) && strcmp(get(&parsed, "message"), "after") == 0);
    unlink(path);
    unlink(rotated);
}
#endif

static void test_open_errors(void)
{
    struct floe_jsonlog lg;

    CHECK_EQ(floe_jsonlog_open(&lg, "/nonexistent-dir/x.log", FLOE_LOG_INFO), FLOE_ERR_IO);
    CHECK_EQ(floe_jsonlog_open(NULL, NULL, FLOE_LOG_INFO), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_jsonlog_open(&lg, "-", FLOE_LOG_INFO), 0);
    CHECK_EQ(lg.fd, 2);
    CHECK_EQ(floe_jsonlog_reopen(&lg), 0);
    CHECK_EQ(floe_jsonlog_hook(&lg).min_level, FLOE_LOG_INFO);
}

int main(void)
{
    FLOE_RUN(test_fields_and_levels);
    FLOE_RUN(test_time_format);
    FLOE_RUN(test_escaping);
    FLOE_RUN(test_utf8_seq);
    FLOE_RUN(test_truncation_stays_valid);
#ifndef _WIN32
    FLOE_RUN(test_reopen_after_rotation);
#endif
    FLOE_RUN(test_open_errors);
    return floe_test_summary();
}
