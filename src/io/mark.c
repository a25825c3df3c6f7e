/* Socket marks for policy routing: Linux SO_MARK; no such thing elsewhere. */
#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#endif

#include "floe_io.h"

int floe_io_udp_set_mark(int fd, uint32_t mark)
{
#ifdef __linux__
    if (fd < 0)
        return FLOE_ERR_INVALID_ARG;
    return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0 ? 0 : FLOE_ERR_IO;
#else
    (void)fd;
    (void)mark;
    return FLOE_ERR_UNSUPPORTED;
#endif
}
