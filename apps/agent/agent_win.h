/* floe_agent on Windows: what loop_win.c and sys_win.c share. */
#ifndef FLOE_AGENT_WIN_H
#define FLOE_AGENT_WIN_H

#include "agent_int.h"
#include "floe_io_win.h"

/* Tags of the loop's sources (floe_io_win_wait). */
enum agent_win_tag {
    AGENT_TAG_TUN = 1,
    AGENT_TAG_UDP4,
    AGENT_TAG_UDP6,
    AGENT_TAG_PORTAL,
    AGENT_TAG_CTL
};

/* The network calls the agent uses: the config's (a test's double) or IP Helper's. */
const struct floe_io_win_netcfg *floe__agent_win_netcfg(const struct floe_agent *a);
/* The loop's wait (to watch the portal socket before its connect starts). */
struct floe_io_win_wait *floe__agent_win_wait(struct floe_agent *a);

#endif
