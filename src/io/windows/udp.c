/*
 * UDP sockets on Windows (Winsock 2): open/bind with ICMP resets off and packet info on,
 * send with WSASendMsg, receive with WSARecvMsg under a deadline (WSAPoll).
 */
#include <limits.h>
#include <string.h>

#include "win_int.h"

#ifndef SIO_UDP_CONNRESET
#define SIO_UDP_CONNRESET _WSAIOW(IOC_VENDOR, 12)
#endif

LPFN_WSARECVMSG floe__win_recvmsg;
static INIT_ONCE win_once = INIT_ONCE_STATIC_INIT;
static int win_init_rc;

static BOOL CALLBACK win_startup(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    GUID id = WSAID_WSARECVMSG;
    WSADATA wsa;
    SOCKET s;
    DWORD got = 0;

    (void)once;
    (void)param;
    (void)ctx;
    win_init_rc = FLOE_ERR_IO;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return TRUE;
    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (s == INVALID_SOCKET)
        return TRUE;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof(id), &floe__win_recvmsg,
                 sizeof(floe__win_recvmsg), &got, NULL, NULL) == 0 &&
        floe__win_recvmsg)
        win_init_rc = 0;
    closesocket(s);
    return TRUE;
}

int floe__win_init(void)
{
    InitOnceExecuteOnce(&win_once, win_startup, NULL, NULL);
    return win_init_rc;
}

/*
 * Socket options every floe UDP socket gets: non-blocking; an ICMP port unreachable for an
 * earlier send must not fail later receives (SIO_UDP_CONNRESET off); the local address of
 * each received datagram (IP_PKTINFO / IPV6_PKTINFO); IPv6 sockets dual-stack, as Linux
 * makes them by default (Windows defaults to IPV6_V6ONLY).
 */
static int udp_setup(SOCKET s, int family)
{
    u_long nonblock = 1;
    BOOL off = FALSE;
    DWORD one = 1, zero = 0, got = 0;
    int level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
    int opt = family == AF_INET6 ? IPV6_PKTINFO : IP_PKTINFO;

    if (ioctlsocket(s, (long)FIONBIO, &nonblock) != 0)
        return FLOE_ERR_IO;
    if (WSAIoctl(s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &got, NULL, NULL) != 0)
        return FLOE_ERR_IO;
    if (setsockopt(s, level, opt, (const char *)&one, sizeof(one)) != 0)
        return FLOE_ERR_IO;
    if (family != AF_INET6)
        return 0;
    if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&zero, sizeof(zero)) != 0)
        return FLOE_ERR_IO;
    /* IPv4 datagrams of the dual-stack socket report IP_PKTINFO (best effort). */
    (void)setsockopt(s, IPPROTO_IP, IP_PKTINFO, (const char *)&one, sizeof(one));
    return 0;
}

int floe_io_udp_open(const struct floe_addr *bind_addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    SOCKET s;
    int rc, saved;

    if (!bind_addr)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_io_addr_to_sockaddr(bind_addr, &ss, &len);
    if (rc < 0)
        return rc;
    if (floe__win_init() < 0)
        return FLOE_ERR_IO;
    s = WSASocketW(ss.ss_family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return FLOE_ERR_IO;
    if (s > (SOCKET)INT_MAX || udp_setup(s, ss.ss_family) < 0 ||
        bind(s, (struct sockaddr *)&ss, len) != 0) {
        saved = WSAGetLastError();
        closesocket(s);
        WSASetLastError(saved);
        return FLOE_ERR_IO;
    }
    return (int)s;
}

int floe_io_udp_local(int fd, struct floe_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    if (getsockname((SOCKET)fd, (struct sockaddr *)&ss, &len) != 0)
        return FLOE_ERR_IO;
    return floe_io_addr_from_sockaddr(out, (struct sockaddr *)&ss, len);
}

int floe_io_udp_set_buffers(int fd, int bytes)
{
    if (fd < 0 || bytes <= 0)
        return FLOE_ERR_INVALID_ARG;
    if (setsockopt((SOCKET)fd, SOL_SOCKET, SO_RCVBUF, (const char *)&bytes, sizeof(bytes)) != 0 ||
        setsockopt((SOCKET)fd, SOL_SOCKET, SO_SNDBUF, (const char *)&bytes, sizeof(bytes)) != 0)
        return FLOE_ERR_IO;
    return 0;
}

long floe_io_udp_drops(int fd)
{
    return fd < 0 ? FLOE_ERR_INVALID_ARG : FLOE_ERR_UNSUPPORTED;
}

int floe__win_sendmsg(SOCKET s, const struct sockaddr_storage *ss, int sslen, WSABUF *bufs, DWORD n,
                      DWORD seg)
{
    char ctrl[FLOE__WIN_CMSG_SPACE(sizeof(DWORD))];
    WSAMSG m;
    DWORD sent = 0;

    memset(&m, 0, sizeof(m));
    m.name = (LPSOCKADDR)ss;
    m.namelen = sslen;
    m.lpBuffers = bufs;
    m.dwBufferCount = n;
    if (seg > 0) {
        WSACMSGHDR *c = (WSACMSGHDR *)ctrl;

        memset(ctrl, 0, sizeof(ctrl));
        c->cmsg_len = FLOE__WIN_CMSG_LEN(sizeof(DWORD));
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEND_MSG_SIZE;
        memcpy(FLOE__WIN_CMSG_DATA(c), &seg, sizeof(seg));
        m.Control.buf = ctrl;
        m.Control.len = sizeof(ctrl);
    }
    if (WSASendMsg(s, &m, 0, &sent, NULL, NULL) != 0)
        return SOCKET_ERROR;
    return (int)sent;
}

int floe_io_udp_send(int fd, const struct floe_addr *to, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    WSABUF b;
    int rc;

    if ((!buf && len) || len > INT_MAX)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_io_addr_to_sockaddr(to, &ss, &sslen);
    if (rc < 0)
        return rc;
    b.buf = (char *)buf;
    b.len = (ULONG)len;
    rc = floe__win_sendmsg((SOCKET)fd, &ss, sslen, &b, 1, 0);
    if (rc == SOCKET_ERROR)
        return FLOE_ERR_IO;
    if ((size_t)rc != len) {
        WSASetLastError(WSAEMSGSIZE);
        return FLOE_ERR_IO;
    }
    return 0;
}

/* An IPV6_PKTINFO address into local; ::ffff:a.b.c.d comes out as IPv4, as sources do. */
static void udp_pktinfo6(struct floe_addr *local, const uint8_t ip[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (memcmp(ip, mapped, sizeof(mapped)) == 0) {
        local->family = FLOE_AF_INET;
        memcpy(local->ip, ip + 12, 4);
        return;
    }
    local->family = FLOE_AF_INET6;
    memcpy(local->ip, ip, 16);
}

void floe__win_rx_cmsgs(WSAMSG *m, struct floe_addr *local, size_t *seg)
{
    WSACMSGHDR *c;
    size_t off;
    DWORD v;

    memset(local, 0, sizeof(*local));
    *seg = 0;
    for (off = 0; off + FLOE__WIN_CMSG_HDR <= m->Control.len;
         off += FLOE__WIN_CMSG_ALIGN(c->cmsg_len)) {
        c = (WSACMSGHDR *)(m->Control.buf + off);
        if (c->cmsg_len < FLOE__WIN_CMSG_HDR || off + c->cmsg_len > m->Control.len)
            break;
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            IN_PKTINFO pi;

            memcpy(&pi, FLOE__WIN_CMSG_DATA(c), sizeof(pi));
            local->family = FLOE_AF_INET;
            memcpy(local->ip, &pi.ipi_addr, 4);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            IN6_PKTINFO pi;

            memcpy(&pi, FLOE__WIN_CMSG_DATA(c), sizeof(pi));
            udp_pktinfo6(local, pi.ipi6_addr.s6_addr);
        } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_COALESCED_INFO) {
            memcpy(&v, FLOE__WIN_CMSG_DATA(c), sizeof(v));
            *seg = v;
        }
    }
}

void floe_io_close(int fd)
{
    if (fd >= 0)
        closesocket((SOCKET)fd);
}
