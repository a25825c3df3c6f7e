/* floe-gateway: the program (gateway.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

static int main_run(struct gateway_opts *o, struct floe_jsonlog *log, const char *token)
{
    struct gateway g = {.opts = o};
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
        .role = gateway_role(&g),
    };
    struct floe_agent *a;
    int rc = floe_agent_new(&a, &cfg);

    if (rc != 0) {
        fprintf(stderr, "floe-gateway: cannot start: %s (see the log)\n", floe_strerror(rc));
        gateway_free(&g);
        return FLOE_AGENT_EXIT_FAILURE;
    }
    if (!o->foreground && daemon(0, 0) != 0) {
        floe_agent_free(a);
        gateway_free(&g);
        return FLOE_AGENT_EXIT_FAILURE;
    }
    rc = floe_agent_run(a);
    floe_agent_free(a);
    gateway_free(&g);
    return rc;
}

int main(int argc, char **argv)
{
    struct gateway_opts o;
    struct floe_jsonlog log;
    char token[1024];
    int rc = gateway_args(argc, argv, &o);

    if (rc == 1)
        return 0;
    if (rc != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (floe_agent_read_token("floe-gateway", o.token_file, token, sizeof(token)) != 0)
        return FLOE_AGENT_EXIT_USAGE;
    if (floe_jsonlog_open(&log, o.log_file, o.log_level) != 0) {
        fprintf(stderr, "floe-gateway: log file %s: %s\n", o.log_file, strerror(errno));
        floe_wipe(token, sizeof(token));
        return FLOE_AGENT_EXIT_FAILURE;
    }
    rc = main_run(&o, &log, token);
    floe_wipe(token, sizeof(token));
    floe_jsonlog_close(&log);
    return rc;
}
