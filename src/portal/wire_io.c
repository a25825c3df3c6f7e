/* Plaintext in: the HTTP head while upgrading, WebSocket frames once open. */
#include "wire_int.h"

void floe__wire_plain_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n)
{
    switch (c->state) {
    case FLOE_WSCONN_HANDSHAKE:
        floe__wire_http_input(c, now, p, n);
        return;
    case FLOE_WSCONN_REQUEST:
        if (floe__wire_buf_pending(&c->wsin) + n > WIRE_EARLY_MAX) {
            c->stats.drops[FLOE_WSCONN_DROP_WS_PROTOCOL]++;
            floe__wire_fail(c, FLOE_ERR_PROTOCOL, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                            "WebSocket: data before the upgrade was answered");
            return;
        }
        /* fall through */
    case FLOE_WSCONN_OPEN:
    case FLOE_WSCONN_CLOSING:
        /* In REQUEST the bytes wait for floe_wsconn_accept (frames right behind the request). */
        if (floe__wire_buf_append(c, &c->wsin, p, n) < 0) {
            floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                            "out of memory");
            return;
        }
        floe__wire_ws_pump(c);
        return;
    case FLOE_WSCONN_IDLE:
    case FLOE_WSCONN_CLOSED:
    default:
        c->stats.drops[FLOE_WSCONN_DROP_AFTER_CLOSE]++;
        return;
    }
}
