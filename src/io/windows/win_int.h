/* floe_io internals of the Windows drivers (Winsock 2). */
#ifndef FLOE_IO_WIN_INT_H
#define FLOE_IO_WIN_INT_H

#include <winsock2.h>
#include <ws2tcpip.h>

#include <mswsock.h>

#include "floe_io_win.h"
#include "io_int.h"

/* UDP send and receive offload (USO/URO, Windows 10 2004+); mingw's headers lack them. */
#ifndef UDP_SEND_MSG_SIZE
#define UDP_SEND_MSG_SIZE 2
#endif
#ifndef UDP_RECV_MAX_COALESCED_SIZE
#define UDP_RECV_MAX_COALESCED_SIZE 3
#endif
#ifndef UDP_COALESCED_INFO
#define UDP_COALESCED_INFO 3
#endif
/* The largest coalesced message asked of URO: one UDP datagram's payload at most. */
#define FLOE__WIN_URO_MAX 65527u
/* Control bytes per received message: IPV6_PKTINFO and UDP_COALESCED_INFO fit in 64. */
#define FLOE__WIN_RX_CTRL 128

/*
 * Control-message layout (mingw's WSA_CMSG_* macros mix signed and unsigned arithmetic,
 * which the warning set refuses): headers and data aligned to 8 bytes.
 */
#define FLOE__WIN_CMSG_ALIGN(n) (((size_t)(n) + 7u) & ~(size_t)7u)
#define FLOE__WIN_CMSG_HDR FLOE__WIN_CMSG_ALIGN(sizeof(WSACMSGHDR))
#define FLOE__WIN_CMSG_LEN(n) (FLOE__WIN_CMSG_HDR + (size_t)(n))
#define FLOE__WIN_CMSG_SPACE(n) (FLOE__WIN_CMSG_HDR + FLOE__WIN_CMSG_ALIGN(n))
#define FLOE__WIN_CMSG_DATA(c) ((unsigned char *)(c) + FLOE__WIN_CMSG_HDR)

/*
 * Start Winsock 2.2 once per process and find WSARecvMsg (an extension function reached
 * through WSAIoctl). Returns 0 or FLOE_ERR_IO.
 */
int floe__win_init(void);
/* WSARecvMsg, valid after floe__win_init returned 0. */
extern LPFN_WSARECVMSG floe__win_recvmsg;

/*
 * One WSASendMsg of bufs[0..n) to ss as one datagram or, with seg > 0, as a USO message
 * of seg-sized datagrams (UDP_SEND_MSG_SIZE). Returns the bytes sent or SOCKET_ERROR.
 */
int floe__win_sendmsg(SOCKET s, const struct sockaddr_storage *ss, int sslen, WSABUF *bufs, DWORD n,
                      DWORD seg);

/*
 * Read what one received WSAMSG's control data says: the local address the datagram came
 * to (IP_PKTINFO/IPV6_PKTINFO; family NONE without one) and the URO segment size (0: one
 * datagram).
 */
void floe__win_rx_cmsgs(WSAMSG *m, struct floe_addr *local, size_t *seg);

/*
 * The setsockopt floe_io_win_sock_unicast_if calls: Winsock's; a test puts a recorder in its
 * place to see the option's bytes (Wine cannot show them for IPv6: it hands the host-order
 * index to Linux's IPV6_UNICAST_IF, which reads it in network byte order).
 */
typedef int(WSAAPI *floe__win_setsockopt_fn)(SOCKET s, int level, int name, const char *val,
                                             int len);
extern floe__win_setsockopt_fn floe__win_setsockopt;

/* The netcfg table's route_best and sock_iface through IP Helper and Winsock (route.c). */
int floe__win_route_best(void *ctx, uint64_t skip_luid, const struct floe_addr *dst,
                         struct floe_io_win_route *out);
int floe__win_sock_iface(void *ctx, int fd, uint8_t family, uint32_t ifindex);

#endif
