/*
 * libFuzzer target for the portal message codec (include/floe/portal.h): any bytes are
 * decoded; what decodes is encoded again and must decode to the same struct (the round-trip
 * property of one codec for both ends). Invariant violations abort.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct floe_portal_msg fuzz_a, fuzz_b;
static char fuzz_json[FLOE_PORTAL_JSON_MAX + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[FLOE_PORTAL_REASON_MAX];
    int rc = floe_portal_msg_decode(&fuzz_a, (const char *)data, size, reason, sizeof(reason));
    if (rc != 0) {
        if (rc != FLOE_ERR_MALFORMED && rc != FLOE_ERR_UNSUPPORTED && rc != FLOE_ERR_NOMEM)
            abort();
        if (memchr(reason, '\0', sizeof(reason)) == NULL || reason[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    fuzz_a.u.cands.n_skipped = 0; /* skipped candidates are not encoded again */
    if (floe_portal_msg_decode(&fuzz_b, (const char *)data, size, NULL, 0) != 0)
        abort();
    long n = floe_portal_msg_encode(&fuzz_a, fuzz_json, sizeof(fuzz_json));
    if (n <= 0)
        abort();
    if (floe_portal_msg_decode(&fuzz_b, fuzz_json, (size_t)n, reason, sizeof(reason)) != 0)
        abort();
    if (memcmp(&fuzz_a, &fuzz_b, sizeof(fuzz_a)) != 0)
        abort();
    return 0;
}
