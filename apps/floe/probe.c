/* `floe stun` without I/O: the request it sends and the checks on what comes back. */
#include <string.h>

#include "cli.h"

long floe_cli_stun_build_request(uint8_t *buf, size_t cap, const uint8_t *txid)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_SOFTWARE, FLOE_CLI_SOFTWARE,
                        strlen(FLOE_CLI_SOFTWARE));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

static void probe_copy_span(char *out, size_t cap, struct floe_span s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;

    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

/* Why msg is not the answer to t, or NULL when it is. */
static const char *probe_mismatch(const struct floe_stun_txn *t, const struct floe_stun_msg *msg)
{
    if (msg->cls != FLOE_STUN_SUCCESS && msg->cls != FLOE_STUN_ERROR)
        return "not a response";
    if (memcmp(msg->txid, t->txid, FLOE_STUN_TXID_LEN) != 0)
        return "transaction id does not match";
    if (msg->method != FLOE_STUN_BINDING)
        return "not a Binding response";
    if (msg->fingerprint_idx >= 0 && floe_stun_verify_fingerprint(msg) != 0)
        return "fingerprint check failed";
    return NULL;
}

static void probe_read_error(const struct floe_stun_msg *msg, struct floe_cli_stun_result *r)
{
    struct floe_span reason;

    if (floe_stun_get_error(msg, &r->error_code, &reason) != 0) {
        r->error_code = 0;
        r->problem = "error response without a valid ERROR-CODE";
        return;
    }
    probe_copy_span(r->reason, sizeof(r->reason), reason);
}

static void probe_read_success(const struct floe_stun_msg *msg, struct floe_cli_stun_result *r)
{
    int rc = floe_stun_get_xor_addr(msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &r->reflexive);

    if (rc == FLOE_ERR_NOT_FOUND)
        rc = floe_stun_get_addr(msg, FLOE_STUN_ATTR_MAPPED_ADDRESS, &r->reflexive);
    if (rc == 0)
        return;
    memset(&r->reflexive, 0, sizeof(r->reflexive));
    if (rc == FLOE_ERR_NOT_FOUND)
        r->problem = "no XOR-MAPPED-ADDRESS or MAPPED-ADDRESS in the response";
    else
        r->problem = "malformed XOR-MAPPED-ADDRESS in the response";
}

int floe_cli_stun_offer(struct floe_stun_txn *t, floe_time now, const uint8_t *buf, size_t len,
                        struct floe_cli_stun_result *r, const char **why)
{
    struct floe_stun_msg msg;
    struct floe_span sw;
    int rc = floe_stun_decode(&msg, buf, len);

    if (rc < 0) {
        *why = floe_strerror(rc);
        return 0;
    }
    *why = probe_mismatch(t, &msg);
    if (*why)
        return 0;
    if (!floe_stun_txn_handle_response(t, now, &msg)) {
        *why = "no transaction waiting";
        return 0;
    }
    r->rtt = t->rtt;
    r->sends = t->sends;
    r->has_software = floe_stun_get_span(&msg, FLOE_STUN_ATTR_SOFTWARE, &sw) == 0;
    if (r->has_software)
        probe_copy_span(r->software, sizeof(r->software), sw);
    if (msg.cls == FLOE_STUN_ERROR)
        probe_read_error(&msg, r);
    else
        probe_read_success(&msg, r);
    return 1;
}
