/* UDP sockets for the programs: open/bind, send, receive with a deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "floe_io.h"

int floe_io_udp_open(const struct floe_addr *bind_addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, rc, saved;

    if (!bind_addr)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_io_addr_to_sockaddr(bind_addr, &ss, &len);
    if (rc < 0)
        return rc;
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FLOE_ERR_IO;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return FLOE_ERR_IO;
    }
    return fd;
}

/* One buffer: the FORCE option (beyond rmem_max/wmem_max, CAP_NET_ADMIN), else the plain one. */
static int udp_set_buffer(int fd, int force, int plain, int bytes)
{
    if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(bytes)) == 0)
        return 0;
    return setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof(bytes)) == 0 ? 0 : FLOE_ERR_IO;
}

int floe_io_udp_set_buffers(int fd, int bytes)
{
    int rc;

    if (fd < 0 || bytes <= 0)
        return FLOE_ERR_INVALID_ARG;
    rc = udp_set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
    if (udp_set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes) != 0)
        rc = FLOE_ERR_IO;
    return rc;
}

long floe_io_udp_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);

    if (fd < 0)
        return FLOE_ERR_INVALID_ARG;
    memset(mem, 0, sizeof(mem));
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
        return FLOE_ERR_IO;
    return (long)mem[SK_MEMINFO_DROPS];
}

int floe_io_udp_local(int fd, struct floe_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return FLOE_ERR_IO;
    return floe_io_addr_from_sockaddr(out, (struct sockaddr *)&ss, len);
}

int floe_io_udp_send(int fd, const struct floe_addr *to, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    ssize_t n;
    int rc;

    if (!buf && len)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_io_addr_to_sockaddr(to, &ss, &sslen);
    if (rc < 0)
        return rc;
    do {
        n = sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sslen);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return FLOE_ERR_IO;
    if ((size_t)n != len) {
        errno = EMSGSIZE;
        return FLOE_ERR_IO;
    }
    return 0;
}

/* Milliseconds from now to deadline for poll(), rounded up; -1 when past. */
static int udp_poll_ms(floe_time deadline)
{
    floe_time now = floe_io_now(), ms;

    if (now >= deadline)
        return -1;
    ms = (deadline - now + FLOE_MS(1) - 1) / FLOE_MS(1);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

long floe_io_udp_recv(int fd, uint8_t *buf, size_t cap, struct floe_addr *from, floe_time deadline)
{
    struct sockaddr_storage ss;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    socklen_t len;
    ssize_t n;
    int ms;

    if (!buf || !from)
        return FLOE_ERR_INVALID_ARG;
    while ((ms = udp_poll_ms(deadline)) >= 0) {
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
            return FLOE_ERR_IO;
        len = sizeof(ss);
        n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (n < 0)
            return FLOE_ERR_IO;
        if (floe_io_addr_from_sockaddr(from, (struct sockaddr *)&ss, len) < 0)
            continue;
        return (long)n;
    }
    return FLOE_ERR_TIMEOUT;
}

void floe_io_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
