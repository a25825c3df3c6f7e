/*
 * A small JSON writer for floe's programs: appends to a caller's buffer with a
 * sticky overflow flag, escapes strings so that any bytes become valid JSON
 * (control characters as \uXXXX, invalid UTF-8 bytes as U+FFFD).
 */
#ifndef FLOE_APPS_JSON_H
#define FLOE_APPS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"

/* Output cursor. A write that does not fit writes nothing and sets overflow. */
struct floe_json_buf {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

/* Start writing into buf[0..cap). buf is not NUL-terminated until floe_json_cstr. */
void floe_json_init(struct floe_json_buf *j, char *buf, size_t cap);
/* Append n raw bytes (already JSON). */
void floe_json_raw(struct floe_json_buf *j, const char *s, size_t n);
/* Append a NUL-terminated raw string (already JSON). */
void floe_json_lit(struct floe_json_buf *j, const char *s);
/*
 * Append s[0..n) as a quoted JSON string: '"' and '\' escaped, control
 * characters and DEL as \b \f \n \r \t or \u00XX, valid UTF-8 copied, each byte
 * of invalid UTF-8 (overlong, surrogate, above U+10FFFF, truncated) as \ufffd.
 * NULL s writes null.
 */
void floe_json_str(struct floe_json_buf *j, const char *s, size_t n);
/* floe_json_str for a NUL-terminated string (NULL writes null). */
void floe_json_cstr_value(struct floe_json_buf *j, const char *s);
/* Append a signed or unsigned decimal integer. */
void floe_json_int(struct floe_json_buf *j, int64_t v);
void floe_json_uint(struct floe_json_buf *j, uint64_t v);
void floe_json_bool(struct floe_json_buf *j, bool v);
/* Append a as a string via floe_addr_format; null when a is NULL or unformattable. */
void floe_json_addr(struct floe_json_buf *j, const struct floe_addr *a);
/*
 * NUL-terminate and return the text, or NULL after an overflow (the NUL needs
 * one byte of cap beyond the text).
 */
const char *floe_json_cstr(struct floe_json_buf *j);

/*
 * Length of the longest valid UTF-8 sequence at s[0..n): 1..4, or 0 when s[0]
 * does not start one (the caller replaces that one byte).
 */
size_t floe_json_utf8_seq(const uint8_t *s, size_t n);

#endif
