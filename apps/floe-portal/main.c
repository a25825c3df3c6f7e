/* floe-portal: the control plane daemon. */
#include <stdio.h>

#include "portald.h"

int main(int argc, char **argv)
{
    struct portald_opts o;
    char err[256];
    int rc = portald_parse_args(argc, argv, &o, err, sizeof(err));

    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "floe-portal: %s (see floe-portal --help)\n", err);
        return rc < 0 ? PORTALD_EXIT_USAGE : PORTALD_EXIT_OK;
    }
    fprintf(stderr, "floe-portal: serving is not built yet\n");
    return PORTALD_EXIT_START;
}
