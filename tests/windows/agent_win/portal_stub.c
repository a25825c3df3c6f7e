/*
 * A stand-in for the agent's portal session (apps/agent/portal.c and the floe_portal calls the
 * agent makes) for agent_win_test: the agent's loop, data path, status and Windows platform
 * files run under Wine without a portal, no session is ever opened. floe-client.exe with the
 * real session against a real floe-portal is client_wine_test.sh's.
 */
#include "agent_int.h"

int floe__agent_portal_init(struct floe_agent *a)
{
    a->portal.fd = -1;
    a->portal.reconnect = FLOE_TIME_NEVER;
    return 0;
}

void floe__agent_portal_free(struct floe_agent *a)
{
    (void)a;
}

void floe__agent_portal_tick(struct floe_agent *a, floe_time now)
{
    (void)a;
    (void)now;
}

void floe__agent_portal_renew(struct floe_agent *a, floe_time now)
{
    (void)a;
    (void)now;
}

void floe__agent_portal_io(struct floe_agent *a, floe_time now, bool writable)
{
    (void)a;
    (void)now;
    (void)writable;
}

void floe__agent_portal_drain(struct floe_agent *a, floe_time now)
{
    (void)a;
    (void)now;
}

floe_time floe__agent_portal_deadline(const struct floe_agent *a)
{
    (void)a;
    return FLOE_TIME_NEVER;
}

void floe__agent_early_apply(struct floe_agent *a, floe_time now, uint64_t cid, const char *peer)
{
    (void)a;
    (void)now;
    (void)cid;
    (void)peer;
}

int floe_portal_client_send_candidates(struct floe_portal_client *c, floe_time now, bool invalidate,
                                       const char *const *ids, size_t n_ids,
                                       const char *const *cands, size_t n)
{
    (void)c;
    (void)now;
    (void)invalidate;
    (void)ids;
    (void)n_ids;
    (void)cands;
    (void)n;
    return FLOE_ERR_STATE;
}

enum floe_portal_client_state floe_portal_client_get_state(const struct floe_portal_client *c)
{
    (void)c;
    return FLOE_PORTAL_CLIENT_IDLE;
}

const char *floe_portal_client_state_name(enum floe_portal_client_state s)
{
    return s == FLOE_PORTAL_CLIENT_IDLE ? "idle" : "unknown";
}
