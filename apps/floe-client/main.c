/* floe-client: the program (client.h). */
#include "client.h"

int main(int argc, char **argv)
{
    struct client_opts o;
    struct client c = {.opts = &o};
    int rc = client_args(argc, argv, &o);

    if (rc == 1)
        return FLOE_AGENT_EXIT_OK;
    if (rc != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (o.status)
        return client_status(&o);
    rc = floe_agent_opts_run(&o.agent, "floe-client", client_role(&c));
    client_free(&c);
    return rc;
}
