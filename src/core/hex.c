/* Hex digits: the text form of WireGuard keys (UAPI) and of test vectors. */
#include "floe/core.h"

int floe_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int floe_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
    size_t i;
    int hi, lo;

    if (!out || !hex || hex_len != 2 * out_len)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < out_len; i++) {
        hi = floe_hex_digit(hex[2 * i]);
        lo = floe_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return FLOE_ERR_INVALID_ARG;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
