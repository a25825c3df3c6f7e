/* floe: the command-line program (see `floe --help`). */
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#endif

#include "cli.h"

int main(int argc, char **argv)
{
#ifdef _WIN32
    /*
     * Binary streams and files, as on Linux: "\n" stays "\n" (no CRLF), so output, logs and
     * simulator transcripts are byte-identical across the platforms.
     */
    _fmode = _O_BINARY;
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
#endif
    return floe_cli_main(argc, argv);
}
