/*
 * JSON Lines logger for floe's programs (DESIGN.md section 5): a floe_log hook
 * that writes one JSON object per line with "time" (RFC 3339 UTC with
 * nanoseconds, CLOCK_REALTIME), "severity" (TRACE..ERROR), "message", "target",
 * then every floe_log_field at top level. Each line is written with a single
 * write(2), so lines from several threads never interleave.
 *
 * The sink is stderr or a file opened with O_APPEND; floe_jsonlog_reopen opens
 * the path again (after a rotation, e.g. on SIGHUP) and swaps it in atomically.
 */
#ifndef FLOE_APPS_JSONLOG_H
#define FLOE_APPS_JSONLOG_H

#include <stdarg.h>
#include <time.h>

#include "floe/core.h"

/* Longest line written, newline included; longer lines are cut and marked "truncated":true. */
#define FLOE_JSONLOG_LINE_MAX 32768
/* Message bytes kept (before escaping); the rest is cut and the line marked truncated. */
#define FLOE_JSONLOG_MESSAGE_MAX 4096
/* Target and field-string bytes kept (before escaping). */
#define FLOE_JSONLOG_VALUE_MAX 2048
#define FLOE_JSONLOG_PATH_MAX 4096

struct floe_jsonlog {
    int fd;                 /* the sink: 2 (stderr) or an O_APPEND file */
    char path[FLOE_JSONLOG_PATH_MAX]; /* empty for stderr */
    enum floe_log_level min_level;
};

/*
 * Open a logger writing to path (created 0640 if missing, O_APPEND) or to
 * stderr when path is NULL or "-". Events below min_level are dropped.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL lg, path too long) or FLOE_ERR_IO
 * (open failed; errno tells why).
 */
int floe_jsonlog_open(struct floe_jsonlog *lg, const char *path, enum floe_log_level min_level);
/*
 * Open the path again and make it the sink; lines already being written go to
 * the old file or the new one, never lost in between. A stderr logger does
 * nothing. Safe to call from a signal handler. Returns 0 or FLOE_ERR_IO.
 */
int floe_jsonlog_reopen(struct floe_jsonlog *lg);
/* Close a file sink (stderr is left open). lg may be NULL. */
void floe_jsonlog_close(struct floe_jsonlog *lg);
/* A floe_log hook writing through lg with lg's min_level; lg must outlive it. */
struct floe_log floe_jsonlog_hook(struct floe_jsonlog *lg);

/*
 * The hook function: user is a struct floe_jsonlog. Formats and writes one
 * line when level >= min_level; write errors are ignored (logging never fails
 * the program).
 */
void floe_jsonlog_write(void *user, enum floe_log_level level, const char *target,
                        const char *message, const struct floe_log_field *fields,
                        size_t n_fields);

/*
 * Format one line (with its newline, then a NUL not counted) into buf for the
 * wall-clock instant ts. Returns the length, or FLOE_ERR_BUFFER_TOO_SMALL when cap is below
 * FLOE_JSONLOG_LINE_MAX. Exposed for tests.
 */
long floe_jsonlog_format(char *buf, size_t cap, const struct timespec *ts,
                         enum floe_log_level level, const char *target, const char *message,
                         const struct floe_log_field *fields, size_t n_fields);

/* Format the message printf-style and log it with fields (n_fields may be 0). */
void floe_jsonlog_logf(struct floe_jsonlog *lg, enum floe_log_level level, const char *target,
                       const struct floe_log_field *fields, size_t n_fields, const char *fmt,
                       ...) FLOE_PRINTF(6, 7);
/* va_list form of floe_jsonlog_logf. */
void floe_jsonlog_vlogf(struct floe_jsonlog *lg, enum floe_log_level level, const char *target,
                        const struct floe_log_field *fields, size_t n_fields, const char *fmt,
                        va_list ap) FLOE_PRINTF(6, 0);

/* Shorthands without fields: floe_jsonlog_info(lg, "stun", "sent %d bytes", n). */
#define floe_jsonlog_trace(lg, target, ...)                                                  \
    floe_jsonlog_logf((lg), FLOE_LOG_TRACE, (target), NULL, 0, __VA_ARGS__)
#define floe_jsonlog_debug(lg, target, ...)                                                  \
    floe_jsonlog_logf((lg), FLOE_LOG_DEBUG, (target), NULL, 0, __VA_ARGS__)
#define floe_jsonlog_info(lg, target, ...)                                                   \
    floe_jsonlog_logf((lg), FLOE_LOG_INFO, (target), NULL, 0, __VA_ARGS__)
#define floe_jsonlog_warn(lg, target, ...)                                                   \
    floe_jsonlog_logf((lg), FLOE_LOG_WARN, (target), NULL, 0, __VA_ARGS__)
#define floe_jsonlog_error(lg, target, ...)                                                  \
    floe_jsonlog_logf((lg), FLOE_LOG_ERROR, (target), NULL, 0, __VA_ARGS__)

#endif
