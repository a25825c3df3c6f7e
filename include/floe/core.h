/*
 * floe core vocabulary: time, errors, addresses, spans, reader/writer cursors,
 * byte order, allocator/log/RNG hooks, constant-time compare and secret wiping.
 *
 * Everything here is pure: no clock, no socket, no global mutable state.
 */
#ifndef FLOE_CORE_H
#define FLOE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FLOE_WARN_UNUSED __attribute__((warn_unused_result))
#define FLOE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FLOE_WARN_UNUSED
#define FLOE_PRINTF(a, b)
#endif

#define FLOE_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ time */

/* Monotonic time in nanoseconds, passed in by the caller; never decreasing. */
typedef uint64_t floe_time;

#define FLOE_TIME_NEVER UINT64_MAX
#define FLOE_NS(x) ((floe_time)(x))
#define FLOE_US(x) ((floe_time)(x)*1000ull)
#define FLOE_MS(x) ((floe_time)(x)*1000000ull)
#define FLOE_SEC(x) ((floe_time)(x)*1000000000ull)

/* Saturating add: never wraps past FLOE_TIME_NEVER. */
static inline floe_time floe_time_add(floe_time t, floe_time d)
{
    return (t > FLOE_TIME_NEVER - d) ? FLOE_TIME_NEVER : t + d;
}

static inline floe_time floe_time_min(floe_time a, floe_time b)
{
    return a < b ? a : b;
}

/* ---------------------------------------------------------------- errors */

/*
 * The one error table: X(NAME, value, description). Values are negative;
 * those at or below FLOE_ERR_FATAL_CUTOFF mean the object cannot continue.
 */
#define FLOE_ERR_TABLE(X)                                                                          \
    X(INVALID_ARG, -1, "invalid argument")                                                         \
    X(NOMEM, -2, "out of memory")                                                                  \
    X(BUFFER_TOO_SMALL, -3, "output buffer too small")                                             \
    X(TRUNCATED, -4, "input truncated")                                                            \
    X(MALFORMED, -5, "malformed input")                                                            \
    X(NOT_STUN, -6, "not a STUN message")                                                          \
    X(STUN_BAD_LENGTH, -7, "STUN length field inconsistent with datagram")                         \
    X(STUN_BAD_ATTR, -8, "STUN attribute malformed")                                               \
    X(STUN_ATTR_ORDER, -9, "STUN attribute out of order")                                          \
    X(STUN_TOO_MANY_ATTRS, -10, "too many STUN attributes")                                        \
    X(NOT_FOUND, -11, "not found")                                                                 \
    X(INTEGRITY, -12, "message integrity check failed")                                            \
    X(FINGERPRINT, -13, "fingerprint check failed")                                                \
    X(NOT_CHANNELDATA, -14, "not a ChannelData message")                                           \
    X(ADDR_PARSE, -15, "cannot parse address")                                                     \
    X(ADDR_FAMILY, -16, "unsupported address family")                                              \
    X(TIMEOUT, -17, "timed out")                                                                   \
    X(STATE, -18, "operation not valid in this state")                                             \
    X(UNSUPPORTED, -19, "unsupported")                                                             \
    X(IO, -20, "I/O error")                                                                        \
    X(RESOLVE, -21, "cannot resolve host name")                                                    \
    X(PROTOCOL, -22, "protocol error")                                                             \
    X(WEAK_KEY, -23, "public key of small order (zero shared secret)")                             \
    X(CRYPTO, -100, "cryptographic library failure")                                               \
    X(INTERNAL, -101, "internal error")

enum floe_err {
    FLOE_OK = 0,
#define FLOE__ERR_ENUM(name, value, desc) FLOE_ERR_##name = (value),
    FLOE_ERR_TABLE(FLOE__ERR_ENUM)
#undef FLOE__ERR_ENUM
};

/* Errors at or below this value are fatal for the object that returned them. */
#define FLOE_ERR_FATAL_CUTOFF (-100)

/* Human-readable description of err; "unknown error" for values not in the table. */
const char *floe_strerror(int err);
/* Symbolic name of err without prefix ("INVALID_ARG"); "UNKNOWN" if not in the table. */
const char *floe_err_name(int err);

/* ---------------------------------------------------------------- spans */

/* Borrowed bytes: valid only as long as the owner says. */
struct floe_span {
    const uint8_t *ptr;
    size_t len;
};

static inline struct floe_span floe_span_make(const void *p, size_t len)
{
    struct floe_span s = {(const uint8_t *)p, len};
    return s;
}

/* ----------------------------------------------------------- byte order */

static inline uint16_t floe_load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t floe_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t floe_load_be64(const uint8_t *p)
{
    return (uint64_t)floe_load_be32(p) << 32 | floe_load_be32(p + 4);
}

static inline uint16_t floe_load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t floe_load_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t floe_load_le64(const uint8_t *p)
{
    return (uint64_t)floe_load_le32(p + 4) << 32 | floe_load_le32(p);
}

static inline void floe_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void floe_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void floe_store_be64(uint8_t *p, uint64_t v)
{
    floe_store_be32(p, (uint32_t)(v >> 32));
    floe_store_be32(p + 4, (uint32_t)v);
}

static inline void floe_store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void floe_store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void floe_store_le64(uint8_t *p, uint64_t v)
{
    floe_store_le32(p, (uint32_t)v);
    floe_store_le32(p + 4, (uint32_t)(v >> 32));
}

/* --------------------------------------------------------------- reader */

/*
 * Bounds-checked read cursor over borrowed bytes. Every read either succeeds
 * completely and returns true, or reads nothing, returns false and sets the
 * sticky `failed` flag so a sequence of reads can be checked once at the end.
 */
struct floe_reader {
    const uint8_t *buf;
    size_t len;
    size_t off;
    bool failed;
};

void floe_reader_init(struct floe_reader *r, const uint8_t *buf, size_t len);
/* Bytes left to read. */
size_t floe_reader_left(const struct floe_reader *r);
bool floe_reader_u8(struct floe_reader *r, uint8_t *out);
bool floe_reader_be16(struct floe_reader *r, uint16_t *out);
bool floe_reader_be32(struct floe_reader *r, uint32_t *out);
bool floe_reader_be64(struct floe_reader *r, uint64_t *out);
/* Copy n bytes into out. */
bool floe_reader_bytes(struct floe_reader *r, uint8_t *out, size_t n);
/* Borrow n bytes without copying; out->ptr points into the reader's buffer. */
bool floe_reader_span(struct floe_reader *r, size_t n, struct floe_span *out);
bool floe_reader_skip(struct floe_reader *r, size_t n);

/* --------------------------------------------------------------- writer */

/*
 * Write cursor into a caller's buffer with a sticky overflow flag: a write that
 * does not fit writes nothing and sets `overflow`; later writes are no-ops.
 */
struct floe_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

void floe_writer_init(struct floe_writer *w, uint8_t *buf, size_t cap);
void floe_writer_u8(struct floe_writer *w, uint8_t v);
void floe_writer_be16(struct floe_writer *w, uint16_t v);
void floe_writer_be32(struct floe_writer *w, uint32_t v);
void floe_writer_be64(struct floe_writer *w, uint64_t v);
void floe_writer_bytes(struct floe_writer *w, const void *p, size_t n);
void floe_writer_zeros(struct floe_writer *w, size_t n);
/* Reserve n bytes and return a pointer to them to fill in later, or NULL on overflow. */
uint8_t *floe_writer_reserve(struct floe_writer *w, size_t n);
/* Bytes written, or FLOE_ERR_BUFFER_TOO_SMALL if any write overflowed. */
long floe_writer_finish(const struct floe_writer *w);

/* ------------------------------------------------------------------- hex */

/* The value of one hex digit (either case), or -1. */
int floe_hex_digit(char c);

/*
 * Exactly 2 * out_len hex digits hex[0..hex_len) -> out[0..out_len). Returns 0, or
 * FLOE_ERR_INVALID_ARG (NULL, wrong length, a non-hex character; out may be half written).
 */
int floe_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len);

/* ------------------------------------------------------------- addresses */

enum floe_af {
    FLOE_AF_NONE = 0,
    FLOE_AF_INET = 4,
    FLOE_AF_INET6 = 6,
};

/* A transport address. IPv4 uses ip[0..3]; the rest is zero. No sockaddr in the core. */
struct floe_addr {
    uint8_t family; /* enum floe_af */
    uint16_t port;
    uint8_t ip[16];
};

/* "1.2.3.4:5" or "[::1]:5"; port 0-65535. Longest output including NUL. */
#define FLOE_ADDR_STRLEN 48

/*
 * Parse "a.b.c.d:port" or "[v6]:port" into out.
 * Returns 0, FLOE_ERR_INVALID_ARG for NULL arguments, FLOE_ERR_ADDR_PARSE otherwise.
 */
int floe_addr_parse(const char *s, struct floe_addr *out);
/*
 * Parse a bare IP literal (no port) into out with port 0.
 * Returns 0 or FLOE_ERR_ADDR_PARSE.
 */
int floe_addr_parse_ip(const char *s, struct floe_addr *out);
/*
 * Format a into buf ("1.2.3.4:5", "[::1]:5"). Returns the length written
 * (without NUL), FLOE_ERR_BUFFER_TOO_SMALL, or FLOE_ERR_ADDR_FAMILY.
 */
int floe_addr_format(const struct floe_addr *a, char *buf, size_t cap);
/* Format only the IP part ("1.2.3.4", "::1"). Same returns as floe_addr_format. */
int floe_addr_format_ip(const struct floe_addr *a, char *buf, size_t cap);
/* Same family, IP and port. */
bool floe_addr_eq(const struct floe_addr *a, const struct floe_addr *b);
/* Same family and IP, any port. */
bool floe_addr_ip_eq(const struct floe_addr *a, const struct floe_addr *b);
/* Build an IPv4 address from host-order parts. */
struct floe_addr floe_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);

/* ------------------------------------------------------------------ hooks */

/*
 * Allocator hooks; NULL members mean the C library's functions, member by member: a malloc_fn
 * whose blocks the C library's realloc and free cannot take (an arena, a pool) needs realloc_fn
 * and free_fn too (the portal client's growing buffers call realloc).
 */
struct floe_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
};

void *floe_mem_malloc(const struct floe_allocator *a, size_t size);
void *floe_mem_calloc(const struct floe_allocator *a, size_t n, size_t size);
void *floe_mem_realloc(const struct floe_allocator *a, void *ptr, size_t size);
void floe_mem_free(const struct floe_allocator *a, void *ptr);

enum floe_log_level {
    FLOE_LOG_TRACE = 0,
    FLOE_LOG_DEBUG = 1,
    FLOE_LOG_INFO = 2,
    FLOE_LOG_WARN = 3,
    FLOE_LOG_ERROR = 4,
    FLOE_LOG_OFF = 5,
};

/* "TRACE".."ERROR"; "OFF". */
const char *floe_log_level_name(enum floe_log_level level);
/* Parse "trace".."error"/"off" (any case). Returns 0 or FLOE_ERR_INVALID_ARG. */
int floe_log_level_parse(const char *s, enum floe_log_level *out);

enum floe_log_field_type {
    FLOE_LF_STR,
    FLOE_LF_INT,
    FLOE_LF_UINT,
    FLOE_LF_ADDR,
    FLOE_LF_BOOL,
};

/* One structured field of a log event; the JSON logger puts it at top level. */
struct floe_log_field {
    const char *key;
    enum floe_log_field_type type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        const struct floe_addr *addr;
        bool b;
    } v;
};

#define FLOE_LF_S(k, x)                                                                            \
    {                                                                                              \
        .key = (k), .type = FLOE_LF_STR, .v.s = (x)                                                \
    }
#define FLOE_LF_I(k, x)                                                                            \
    {                                                                                              \
        .key = (k), .type = FLOE_LF_INT, .v.i = (int64_t)(x)                                       \
    }
#define FLOE_LF_U(k, x)                                                                            \
    {                                                                                              \
        .key = (k), .type = FLOE_LF_UINT, .v.u = (uint64_t)(x)                                     \
    }
#define FLOE_LF_A(k, x)                                                                            \
    {                                                                                              \
        .key = (k), .type = FLOE_LF_ADDR, .v.addr = (x)                                            \
    }
#define FLOE_LF_B(k, x)                                                                            \
    {                                                                                              \
        .key = (k), .type = FLOE_LF_BOOL, .v.b = (x)                                               \
    }

/*
 * Log hook. `fn` is called synchronously; all pointers are valid for the call
 * only. Events below `min_level` are not formatted or passed.
 */
struct floe_log {
    void (*fn)(void *user, enum floe_log_level level, const char *target, const char *message,
               const struct floe_log_field *fields, size_t n_fields);
    void *user;
    enum floe_log_level min_level;
};

/* Emit through the hook if set and level >= min_level. */
void floe_log_emit(const struct floe_log *log, enum floe_log_level level, const char *target,
                   const char *message, const struct floe_log_field *fields, size_t n_fields);

static inline bool floe_log_enabled(const struct floe_log *log, enum floe_log_level level)
{
    return log && log->fn && level >= log->min_level;
}

/* Randomness hook: fill out with len random bytes. Must be set where an object needs it. */
struct floe_rng {
    void (*fill)(void *user, uint8_t *out, size_t len);
    void *user;
};

/* Fill out via the hook. Returns 0 or FLOE_ERR_INVALID_ARG if no hook is set. */
int floe_rng_fill(const struct floe_rng *rng, uint8_t *out, size_t len);

/*
 * A deterministic PRNG (xoshiro256**) for the simulator and tests; never for
 * keys. floe_xoshiro_rng() returns a hook that draws from x.
 */
struct floe_xoshiro {
    uint64_t s[4];
};

void floe_xoshiro_seed(struct floe_xoshiro *x, uint64_t seed);
uint64_t floe_xoshiro_next(struct floe_xoshiro *x);
struct floe_rng floe_xoshiro_rng(struct floe_xoshiro *x);

/* --------------------------------------------------------------- secrets */

/* Compare n bytes in time independent of the contents. Returns true if equal. */
FLOE_WARN_UNUSED bool floe_ct_eq(const void *a, const void *b, size_t n);
/* Overwrite n bytes with zeros in a way the compiler does not elide. */
void floe_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
