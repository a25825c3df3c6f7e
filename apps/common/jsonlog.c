/* JSON Lines logger for floe's programs (see jsonlog.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "jsonlog.h"

#ifdef _WIN32
/* The Windows CRT's names for the POSIX calls used here. */
#define O_CLOEXEC _O_NOINHERIT
#define dup3(from, to, flags) dup2(from, to)
static struct tm *gmtime_r(const time_t *t, struct tm *tm)
{
    return gmtime_s(tm, t) == 0 ? tm : NULL;
}
#endif

/* Tail kept free for ',"truncated":true}' and the newline. */
#define JSONLOG_RESERVE 32

static const char *const jsonlog_reserved[] = {"time", "severity", "message", "target",
                                               "truncated"};

int floe_jsonlog_open(struct floe_jsonlog *lg, const char *path, enum floe_log_level min_level)
{
    int fd;

    if (!lg)
        return FLOE_ERR_INVALID_ARG;
    memset(lg, 0, sizeof(*lg));
    lg->fd = STDERR_FILENO;
    lg->min_level = min_level;
    if (!path || strcmp(path, "-") == 0)
        return 0;
    if (strlen(path) >= sizeof(lg->path) || !*path)
        return FLOE_ERR_INVALID_ARG;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return FLOE_ERR_IO;
    memcpy(lg->path, path, strlen(path) + 1);
    lg->fd = fd;
    return 0;
}

int floe_jsonlog_reopen(struct floe_jsonlog *lg)
{
    int fd, rc = 0;

    if (!lg || !lg->path[0])
        return 0;
    fd = open(lg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return FLOE_ERR_IO;
    if (dup3(fd, lg->fd, O_CLOEXEC) < 0)
        rc = FLOE_ERR_IO;
    close(fd);
    return rc;
}

void floe_jsonlog_close(struct floe_jsonlog *lg)
{
    if (!lg)
        return;
    if (lg->path[0] && lg->fd >= 0)
        close(lg->fd);
    lg->fd = -1;
    lg->path[0] = '\0';
}

struct floe_log floe_jsonlog_hook(struct floe_jsonlog *lg)
{
    struct floe_log log = {.fn = floe_jsonlog_write, .user = lg, .min_level = FLOE_LOG_OFF};

    if (lg)
        log.min_level = lg->min_level;
    return log;
}

static size_t jsonlog_cut(const char *s, size_t max, bool *truncated)
{
    size_t n = strnlen(s, max + 1);

    if (n > max) {
        *truncated = true;
        return max;
    }
    return n;
}

static void jsonlog_time(struct floe_json_buf *j, const struct timespec *ts)
{
    struct tm tm;
    char tmp[64];
    int n;

    if (!gmtime_r(&ts->tv_sec, &tm)) {
        floe_json_lit(j, "null");
        return;
    }
    n = snprintf(tmp, sizeof(tmp), "\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec);
    floe_json_raw(j, tmp, (size_t)n);
}

static bool jsonlog_is_reserved(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(jsonlog_reserved) / sizeof(jsonlog_reserved[0]); i++) {
        if (strcmp(key, jsonlog_reserved[i]) == 0)
            return true;
    }
    return false;
}

static void jsonlog_value(struct floe_json_buf *j, const struct floe_log_field *f, bool *cut)
{
    switch (f->type) {
    case FLOE_LF_STR:
        if (f->v.s)
            floe_json_str(j, f->v.s, jsonlog_cut(f->v.s, FLOE_JSONLOG_VALUE_MAX, cut));
        else
            floe_json_lit(j, "null");
        break;
    case FLOE_LF_INT:
        floe_json_int(j, f->v.i);
        break;
    case FLOE_LF_UINT:
        floe_json_uint(j, f->v.u);
        break;
    case FLOE_LF_ADDR:
        floe_json_addr(j, f->v.addr);
        break;
    case FLOE_LF_BOOL:
        floe_json_bool(j, f->v.b);
        break;
    default:
        floe_json_lit(j, "null");
        break;
    }
}

/* One ',"key":value'; rolled back whole when it does not fit. */
static void jsonlog_field(struct floe_json_buf *j, const struct floe_log_field *f, bool *cut)
{
    size_t mark = j->len;
    char key[128];

    if (!f->key)
        return;
    snprintf(key, sizeof(key), "%s%s", jsonlog_is_reserved(f->key) ? "field." : "", f->key);
    floe_json_lit(j, ",");
    floe_json_str(j, key, strlen(key));
    floe_json_lit(j, ":");
    jsonlog_value(j, f, cut);
    if (j->overflow) {
        j->len = mark;
        j->overflow = false;
        *cut = true;
    }
}

long floe_jsonlog_format(char *buf, size_t cap, const struct timespec *ts,
                         enum floe_log_level level, const char *target, const char *message,
                         const struct floe_log_field *fields, size_t n_fields)
{
    struct floe_json_buf j;
    bool cut = false;
    size_t i;

    if (!buf || cap < FLOE_JSONLOG_LINE_MAX || !ts)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    floe_json_init(&j, buf, FLOE_JSONLOG_LINE_MAX - JSONLOG_RESERVE);
    floe_json_lit(&j, "{\"time\":");
    jsonlog_time(&j, ts);
    floe_json_lit(&j, ",\"severity\":");
    floe_json_cstr_value(&j, floe_log_level_name(level));
    floe_json_lit(&j, ",\"message\":");
    message = message ? message : "";
    floe_json_str(&j, message, jsonlog_cut(message, FLOE_JSONLOG_MESSAGE_MAX, &cut));
    floe_json_lit(&j, ",\"target\":");
    target = target ? target : "";
    floe_json_str(&j, target, jsonlog_cut(target, FLOE_JSONLOG_VALUE_MAX, &cut));
    for (i = 0; i < n_fields && fields && !j.overflow; i++)
        jsonlog_field(&j, &fields[i], &cut);
    j.cap = FLOE_JSONLOG_LINE_MAX - 1;
    if (cut)
        floe_json_lit(&j, ",\"truncated\":true");
    floe_json_lit(&j, "}\n");
    if (j.overflow)
        return FLOE_ERR_INTERNAL;
    buf[j.len] = '\0';
    return (long)j.len;
}

static void jsonlog_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, (unsigned)(len > 1u << 30 ? 1u << 30 : len));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void floe_jsonlog_write(void *user, enum floe_log_level level, const char *target,
                        const char *message, const struct floe_log_field *fields, size_t n_fields)
{
    struct floe_jsonlog *lg = user;
    char line[FLOE_JSONLOG_LINE_MAX];
    struct timespec ts;
    long n;

    if (!lg || lg->fd < 0 || level < lg->min_level || level >= FLOE_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    n = floe_jsonlog_format(line, sizeof(line), &ts, level, target, message, fields, n_fields);
    if (n > 0)
        jsonlog_write_all(lg->fd, line, (size_t)n);
}

void floe_jsonlog_vlogf(struct floe_jsonlog *lg, enum floe_log_level level, const char *target,
                        const struct floe_log_field *fields, size_t n_fields, const char *fmt,
                        va_list ap)
{
    /* One byte over the kept length so the formatter sees and marks the cut. */
    char msg[FLOE_JSONLOG_MESSAGE_MAX + 2];

    if (!lg || level < lg->min_level || !fmt)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    floe_jsonlog_write(lg, level, target, msg, fields, n_fields);
}

void floe_jsonlog_logf(struct floe_jsonlog *lg, enum floe_log_level level, const char *target,
                       const struct floe_log_field *fields, size_t n_fields, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    floe_jsonlog_vlogf(lg, level, target, fields, n_fields, fmt, ap);
    va_end(ap);
}
