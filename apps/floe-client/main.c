/* floe-client: the program (client.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

#ifdef _WIN32
/* Windows has no detaching: floe-client.exe runs in its console (or under a service host). */
static int main_detach(void)
{
    return 0;
}
#else
static int main_detach(void)
{
    return daemon(0, 0);
}
#endif

static int main_run(struct client_opts *o, struct floe_jsonlog *log, const char *token)
{
    struct client c = {.opts = o};
    struct floe_agent_config cfg = {
        .portal_url = o->portal,
        .token = token,
        .ca_file = o->ca_file,
        .interface = o->interface,
        .device_name = o->name,
        .control_path = o->control,
        .mark = o->mark,
        .no_offload = o->no_offload,
        .log = log,
        .role = client_role(&c),
    };
    struct floe_agent *a;
    int rc = floe_agent_new(&a, &cfg);

    if (rc != 0) {
        fprintf(stderr, "floe-client: cannot start: %s (see the log)\n", floe_strerror(rc));
        client_free(&c);
        return FLOE_AGENT_EXIT_FAILURE;
    }
    if (!o->foreground && main_detach() != 0) {
        floe_agent_free(a);
        client_free(&c);
        return FLOE_AGENT_EXIT_FAILURE;
    }
    rc = floe_agent_run(a);
    floe_agent_free(a);
    client_free(&c);
    return rc;
}

int main(int argc, char **argv)
{
    struct client_opts o;
    struct floe_jsonlog log;
    char token[1024];
    int rc = client_args(argc, argv, &o);

    if (rc == 1)
        return 0;
    if (rc != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (o.status)
        return client_status(&o);
    if (floe_agent_read_token("floe-client", o.token_file, token, sizeof(token)) != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (floe_jsonlog_open(&log, o.log_file, o.log_level) != 0) {
        fprintf(stderr, "floe-client: log file %s: %s\n", o.log_file, strerror(errno));
        return FLOE_AGENT_EXIT_FAILURE;
    }
    rc = main_run(&o, &log, token);
    floe_wipe(token, sizeof(token));
    floe_jsonlog_close(&log);
    return rc;
}
