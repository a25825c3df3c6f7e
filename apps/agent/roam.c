/*
 * When a network change resets the node (portable). The platform reduces the machine's
 * network to a fingerprint (floe__agent_sys_net_fp: the usable host addresses and the source
 * address of the default route; 0 when no default route is usable or the platform cannot
 * tell). A change that makes a new network usable resets at once, not after a quiet period:
 * the roam's outage starts when the new network is usable, so every millisecond waited is
 * outage. Only repeated resets are spaced (FLOE_AGENT_ROAM_DEBOUNCE apart); a network that is
 * not usable (between the old link going down and the new default route) is re-checked after
 * the debounce, as before; a change that leaves the fingerprint as the node last saw it
 * (IPv6 duplicate address detection ending on a link-local address, routes of other tables)
 * resets nothing, since a reset withdraws every candidate and allocation.
 */
#include "agent_int.h"

enum agent_roam_act floe__agent_roam_decide(struct agent_roam *r, floe_time now, uint64_t fp,
                                            floe_time *at)
{
    if (fp == 0) {
        r->lost = true;
        *at = now + FLOE_AGENT_ROAM_DEBOUNCE;
        return AGENT_ROAM_LATER;
    }
    if (fp == r->fp && !r->lost)
        return AGENT_ROAM_NONE;
    if (r->reset_once && now < r->last_reset + FLOE_AGENT_ROAM_DEBOUNCE) {
        *at = r->last_reset + FLOE_AGENT_ROAM_DEBOUNCE;
        return AGENT_ROAM_LATER;
    }
    return AGENT_ROAM_NOW;
}

void floe__agent_roam_done(struct agent_roam *r, floe_time now, uint64_t fp)
{
    r->fp = fp;
    r->lost = fp == 0;
    r->last_reset = now;
    r->reset_once = true;
}
