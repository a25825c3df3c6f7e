/* Bounds-checked reader and sticky-overflow writer. */
#include <string.h>

#include "floe/core.h"

void floe_reader_init(struct floe_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = buf ? len : 0;
    r->off = 0;
    r->failed = false;
}

size_t floe_reader_left(const struct floe_reader *r)
{
    return r->len - r->off;
}

/* Claim n bytes; on success return a pointer to them, else fail stickily. */
static const uint8_t *reader_take(struct floe_reader *r, size_t n)
{
    const uint8_t *p;

    if (r->failed || n > r->len - r->off) {
        r->failed = true;
        return NULL;
    }
    p = r->buf + r->off;
    r->off += n;
    return p;
}

bool floe_reader_u8(struct floe_reader *r, uint8_t *out)
{
    const uint8_t *p = reader_take(r, 1);

    if (!p)
        return false;
    *out = p[0];
    return true;
}

bool floe_reader_be16(struct floe_reader *r, uint16_t *out)
{
    const uint8_t *p = reader_take(r, 2);

    if (!p)
        return false;
    *out = floe_load_be16(p);
    return true;
}

bool floe_reader_be32(struct floe_reader *r, uint32_t *out)
{
    const uint8_t *p = reader_take(r, 4);

    if (!p)
        return false;
    *out = floe_load_be32(p);
    return true;
}

bool floe_reader_be64(struct floe_reader *r, uint64_t *out)
{
    const uint8_t *p = reader_take(r, 8);

    if (!p)
        return false;
    *out = floe_load_be64(p);
    return true;
}

bool floe_reader_bytes(struct floe_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = reader_take(r, n);

    if (!p)
        return false;
    if (n)
        memcpy(out, p, n);
    return true;
}

bool floe_reader_span(struct floe_reader *r, size_t n, struct floe_span *out)
{
    const uint8_t *p = reader_take(r, n);

    if (!p)
        return false;
    out->ptr = p;
    out->len = n;
    return true;
}

bool floe_reader_skip(struct floe_reader *r, size_t n)
{
    return reader_take(r, n) != NULL;
}

void floe_writer_init(struct floe_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->overflow = false;
}

uint8_t *floe_writer_reserve(struct floe_writer *w, size_t n)
{
    uint8_t *p;

    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

void floe_writer_u8(struct floe_writer *w, uint8_t v)
{
    uint8_t *p = floe_writer_reserve(w, 1);

    if (p)
        p[0] = v;
}

void floe_writer_be16(struct floe_writer *w, uint16_t v)
{
    uint8_t *p = floe_writer_reserve(w, 2);

    if (p)
        floe_store_be16(p, v);
}

void floe_writer_be32(struct floe_writer *w, uint32_t v)
{
    uint8_t *p = floe_writer_reserve(w, 4);

    if (p)
        floe_store_be32(p, v);
}

void floe_writer_be64(struct floe_writer *w, uint64_t v)
{
    uint8_t *p = floe_writer_reserve(w, 8);

    if (p)
        floe_store_be64(p, v);
}

void floe_writer_bytes(struct floe_writer *w, const void *src, size_t n)
{
    uint8_t *p = floe_writer_reserve(w, n);

    if (p && n)
        memcpy(p, src, n);
}

void floe_writer_zeros(struct floe_writer *w, size_t n)
{
    uint8_t *p = floe_writer_reserve(w, n);

    if (p && n)
        memset(p, 0, n);
}

long floe_writer_finish(const struct floe_writer *w)
{
    if (w->overflow)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    return (long)w->len;
}
