/* floe-gateway: the program (gateway.h). */
#include "gateway.h"

int main(int argc, char **argv)
{
    struct gateway_opts o;
    struct gateway g = {.opts = &o};
    int rc = gateway_args(argc, argv, &o);

    if (rc == 1)
        return FLOE_AGENT_EXIT_OK;
    if (rc != 0)
        return FLOE_AGENT_EXIT_USAGE;
    rc = floe_agent_opts_run(&o.agent, "floe-gateway", gateway_role(&g));
    gateway_free(&g);
    return rc;
}
