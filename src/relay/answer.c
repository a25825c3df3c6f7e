/* Building the relay's STUN answers: success and error responses. */
#include <string.h>

#include "relay_int.h"

void floe__relay_answer_start(struct floe_stun_builder *b, const struct relay_req *q, uint8_t cls)
{
    q->tx->from = *q->local;
    q->tx->to = *q->from;
    floe_stun_build_init(b, q->out, q->cap, q->msg->method, cls, q->msg->txid);
}

/* Seal b with SOFTWARE, MESSAGE-INTEGRITY when key is set, FINGERPRINT when asked. */
long floe__relay_answer_finish(struct floe_relay *r, struct floe_stun_builder *b,
                               const struct relay_req *q, const uint8_t *key, bool fingerprint)
{
    long n;

    (void)q;
    if (r->cfg.software)
        floe_stun_add_bytes(b, FLOE_STUN_ATTR_SOFTWARE, r->cfg.software, strlen(r->cfg.software));
    if (key)
        floe_stun_add_integrity_key(b, key, FLOE_MD5_LEN);
    if (fingerprint)
        floe_stun_add_fingerprint(b);
    n = floe_stun_build_finish(b);
    return n < 0 ? 0 : n;
}

/* An error response; authenticated (MESSAGE-INTEGRITY) when the request was. */
long floe__relay_answer_error(struct floe_relay *r, const struct relay_req *q, int code,
                              const char *reason)
{
    struct floe_stun_builder b;

    if (floe_log_enabled(&r->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[4] = {
            FLOE_LF_I("code", code),
            FLOE_LF_S("reason", reason),
            FLOE_LF_U("method", q->msg->method),
            FLOE_LF_A("client", q->from),
        };

        floe_log_emit(&r->cfg.log, FLOE_LOG_DEBUG, "relay", "error response", f, 4);
    }
    floe__relay_answer_start(&b, q, FLOE_STUN_ERROR);
    floe_stun_add_error(&b, code, reason);
    r->stats.error_responses++;
    return floe__relay_answer_finish(r, &b, q, q->key, q->msg->fingerprint_idx >= 0);
}

/* An error response to a source not authenticated (yet): within the per-source limit. */
long floe__relay_answer_unauth_error(struct floe_relay *r, floe_time now, const struct relay_req *q,
                                     int code, const char *reason)
{
    if (!floe__relay_take_unauth_token(r, now, q->from))
        return 0;
    return floe__relay_answer_error(r, q, code, reason);
}
