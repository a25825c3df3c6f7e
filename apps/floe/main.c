/* floe: the command-line program (see `floe --help`). */
#include "cli.h"

int main(int argc, char **argv)
{
    return floe_cli_main(argc, argv);
}
