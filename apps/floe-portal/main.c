/*
 * floe-portal: the control plane. `floe-portal admin ...` manages the database (admin.h);
 * anything else is the serving side (its flags parsed here; the loop lands with the
 * transport).
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "portald.h"

int main(int argc, char **argv)
{
    struct portald_opts o;
    char err[256];
    int rc;

    if (argc >= 2 && strcmp(argv[1], "admin") == 0)
        return floe_admin_main(argc - 1, argv + 1, stdout, stderr);
    rc = portald_parse_args(argc, argv, &o, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "floe-portal: %s (see floe-portal --help)\n", err);
        return rc < 0 ? PORTALD_EXIT_USAGE : PORTALD_EXIT_OK;
    }
    fprintf(stderr, "floe-portal: serving is not built yet\n");
    return PORTALD_EXIT_START;
}
