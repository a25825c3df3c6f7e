/* Standard padded base64 (RFC 4648 section 4). */
#include "floe/crypto.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int floe_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
    size_t need = (len + 2) / 3 * 4, i, o = 0;

    if (need + 1 > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int floe_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
    size_t i, o = 0;

    if (len % 4)
        return FLOE_ERR_MALFORMED;
    for (i = 0; i < len; i += 4) {
        int v[4], k, pad = 0;
        uint32_t w;

        for (k = 0; k < 4; k++) {
            v[k] = b64_val(in[i + (size_t)k]);
            if (in[i + (size_t)k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (v[k] < 0 || pad) {
                return FLOE_ERR_MALFORMED;
            }
        }
        w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (o + (size_t)(3 - pad) > cap)
            return FLOE_ERR_BUFFER_TOO_SMALL;
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    return (int)o;
}
