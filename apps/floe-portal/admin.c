/* The admin CLI's entry point (admin.h). */
#include <string.h>

#include "admin.h"

int floe_admin_main(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fprintf(out, "usage: floe-portal admin [--database URL] [--json] COMMAND ...\n");
        return FLOE_ADMIN_EXIT_OK;
    }
    fprintf(err, "floe-portal admin: not built yet\n");
    return FLOE_ADMIN_EXIT_USAGE;
}
