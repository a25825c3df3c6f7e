/*
 * floe-portal: the control plane. This main only dispatches `admin ...` to the admin CLI
 * (admin.h); serving (--listen) is the daemon's part and is not built yet.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "floe/core.h"

static void portal_usage(FILE *f)
{
    fprintf(f, "usage: floe-portal admin [--database URL] [--json] COMMAND ...\n"
               "       floe-portal --help | --version\n"
               "\n"
               "  admin   manage sites, gateways, users, resources, groups, policies and relays\n"
               "          in the portal's database ('floe-portal admin --help')\n"
               "\n"
               "Exit codes: 0 success, 1 runtime error (database), 2 usage or invalid input.\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "admin") == 0)
        return floe_admin_main(argc - 1, argv + 1, stdout, stderr);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        portal_usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("floe-portal %s\n", FLOE_VERSION_STRING);
        return 0;
    }
    if (argc >= 2 && argv[1][0] == '-') {
        fprintf(stderr, "floe-portal: serving is not built yet (try 'floe-portal --help')\n");
        return 2;
    }
    portal_usage(stderr);
    return 2;
}
