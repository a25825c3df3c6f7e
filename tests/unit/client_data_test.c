/*
 * The agent's UDP sockets (apps/agent/sys_linux.c) for the data path: each gets receive and send
 * buffers of AGENT_UDP_SOCKBUF. With the kernel's default (about 200 KiB) the gateway's socket
 * overflowed under one iperf3 flow through floe-client -> floe-gateway (nstat UdpRcvbufErrors,
 * thousands of TCP retransmits in 2 s); floe_io_udp_set_buffers checks its arguments;
 * floe_io_udp_drops counts what a full socket lost (the agent's status shows it).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_int.h"
#include "test.h"

/* The most an unprivileged socket gets: net.core.rmem_max or wmem_max. */
static long sysctl_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = 0;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

/* The buffer (SO_RCVBUF or SO_SNDBUF) the kernel gave fd: it books twice what was asked. */
static long sock_buffer(int fd, int opt)
{
    int v = 0;
    socklen_t len = sizeof(v);

    return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 ? v : -1;
}

/* As root (CAP_NET_ADMIN) the whole AGENT_UDP_SOCKBUF, else what rmem_max/wmem_max allow. */
static long expected(const char *max_path)
{
    long max = sysctl_long(max_path);

    if (geteuid() == 0 || max >= AGENT_UDP_SOCKBUF)
        return AGENT_UDP_SOCKBUF;
    return max;
}

static void test_agent_udp_buffers(void)
{
    static struct floe_agent a;

    a.udp[AGENT_V4] = a.udp[AGENT_V6] = -1;
    REQUIRE(floe__agent_sys_udp(&a, AGENT_V4) == 0);
    REQUIRE(a.udp[AGENT_V4] >= 0);
    CHECK(sock_buffer(a.udp[AGENT_V4], SO_RCVBUF) >= expected("/proc/sys/net/core/rmem_max"));
    CHECK(sock_buffer(a.udp[AGENT_V4], SO_SNDBUF) >= expected("/proc/sys/net/core/wmem_max"));
    close(a.udp[AGENT_V4]);
}

static void test_set_buffers_args(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    REQUIRE(fd >= 0);
    CHECK_EQ(floe_io_udp_set_buffers(-1, 1 << 20), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_udp_set_buffers(fd, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_udp_set_buffers(fd, 1 << 20), 0);
    close(fd);
}

/* A socket on 127.0.0.1 with the smallest receive buffer; its port in *port. */
static int small_socket(uint16_t *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* 100 datagrams into a socket nobody reads: the ones that did not fit are counted, exactly. */
static void test_udp_drops_counted(void)
{
    struct floe_addr to = {.family = FLOE_AF_INET, .ip = {127, 0, 0, 1}};
    uint8_t dgram[1000], got[1000];
    uint16_t port = 0;
    int fd = small_socket(&port), tx = socket(AF_INET, SOCK_DGRAM, 0);
    long queued = 0;

    REQUIRE(fd >= 0 && tx >= 0);
    memset(dgram, 0x5a, sizeof(dgram));
    to.port = port;
    CHECK_EQ(floe_io_udp_drops(fd), 0);
    CHECK_EQ(floe_io_udp_drops(-1), FLOE_ERR_INVALID_ARG);
    for (int i = 0; i < 100; i++)
        REQUIRE(floe_io_udp_send(tx, &to, dgram, sizeof(dgram)) == 0);
    while (recv(fd, got, sizeof(got), MSG_DONTWAIT) == (ssize_t)sizeof(got))
        queued++;
    CHECK(queued > 0 && queued < 100);
    CHECK_EQ(floe_io_udp_drops(fd), 100 - queued);
    close(fd);
    close(tx);
}

int main(void)
{
    FLOE_RUN(test_agent_udp_buffers);
    FLOE_RUN(test_set_buffers_args);
    FLOE_RUN(test_udp_drops_counted);
    return floe_test_summary();
}
