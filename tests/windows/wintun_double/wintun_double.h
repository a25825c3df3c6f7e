/*
 * The test-only side of the wintun.dll double (wintun_double.c): what a test reaches through
 * GetProcAddress on the loaded "wintun.dll" to play the OS's part. The double keeps one
 * adapter and one session at most, with a receive ring (packets for the program, put there by
 * FloeWintunDoubleInject) and a send ring (packets the program sent, taken by
 * FloeWintunDoubleTake). Both rings account bytes as Wintun's do: each packet takes its size
 * plus a 4-byte header, rounded up to 4, out of the session's capacity. With
 * FLOE_WINTUN_DOUBLE_UDP set (wintun_double.c), the rings are bridged to UDP on loopback
 * instead, for a test outside the process.
 */
#ifndef FLOE_WINTUN_DOUBLE_H
#define FLOE_WINTUN_DOUBLE_H

#include <windows.h>

/* What the double has seen and holds. */
struct floe_wintun_double_state {
    DWORD created;       /* WintunCreateAdapter calls that made an adapter */
    DWORD opened;        /* WintunOpenAdapter calls that found one */
    DWORD adapters_live; /* adapters not closed */
    DWORD sessions_live; /* sessions not ended */
    DWORD capacity;      /* ring capacity of the last session */
    DWORD rx_queued;     /* injected packets not yet received */
    DWORD rx_held;       /* received packets not yet released */
    DWORD tx_queued;     /* sent packets not yet taken */
    DWORD tx_allocated;  /* send packets allocated and not yet sent */
    DWORD logger_set;    /* 1 while a logger is set */
    DWORD rx_bridged;    /* datagrams of the UDP bridge injected */
    DWORD rx_dropped;    /* datagrams of the UDP bridge that did not fit the ring */
    DWORD tx_bridged;    /* sent packets the UDP bridge forwarded */
    DWORD tx_dropped;    /* sent packets the UDP bridge had nowhere to forward */
    WCHAR name[128];     /* the adapter's name */
    WCHAR tunnel_type[128];
};

/* Put pkt[0..len) in the receive ring. ERROR_SUCCESS, ERROR_NOT_READY (no session),
 * ERROR_BUFFER_OVERFLOW (ring full) or ERROR_INVALID_PARAMETER (len 0 or over 0xFFFF). */
typedef DWORD(WINAPI FLOE_WINTUN_DOUBLE_INJECT_FUNC)(const BYTE *pkt, DWORD len);
/* Take the oldest sent packet into buf[0..cap), its length in *len. ERROR_SUCCESS,
 * ERROR_NO_MORE_ITEMS or ERROR_INSUFFICIENT_BUFFER (*len says how much is needed). */
typedef DWORD(WINAPI FLOE_WINTUN_DOUBLE_TAKE_FUNC)(BYTE *buf, DWORD cap, DWORD *len);
/* Copy the state into *out. */
typedef VOID(WINAPI FLOE_WINTUN_DOUBLE_STATE_FUNC)(struct floe_wintun_double_state *out);
/* The adapter goes away: every later ring call fails with ERROR_HANDLE_EOF. */
typedef VOID(WINAPI FLOE_WINTUN_DOUBLE_TERMINATE_FUNC)(VOID);

#endif
