/*
 * Write everything a protocol client has to send to its blocking-enough socket fd (the test
 * driver and bench/portal_load share it): EAGAIN waits up to 100 ms for room, another error
 * stops (the caller sees the connection fail on its next read).
 */
#ifndef FLOE_TESTS_PORTAL_FLUSH_H
#define FLOE_TESTS_PORTAL_FLUSH_H

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "floe/portal.h"
#include "floe_io.h"

static inline void portal_flush_fd(struct floe_portal_client *pc, int fd)
{
    uint8_t buf[16384];
    long n;

    while (pc && fd >= 0 &&
           (n = floe_portal_client_poll_transmit(pc, floe_io_now(), buf, sizeof(buf))) > 0) {
        size_t off = 0;

        while (off < (size_t)n) {
            ssize_t w = send(fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);

            if (w < 0 && errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                (void)poll(&p, 1, 100);
                continue;
            }
            if (w < 0)
                return;
            off += (size_t)w;
        }
    }
}

#endif
