/*
 * The TUN device on Windows: a Wintun adapter (wintun.dll loaded at run time, io/windows/
 * wintun.c) and one session of it. Wintun has no offloads: every read gives one plain packet
 * and every write sends one, straight from and into the session's rings; floe_io_tun_flush has
 * nothing to do. The adapter is opened by name, or created (tunnel type "floe") when there is
 * none; CloseAdapter removes an adapter this process created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2ipdef.h>
#include <iphlpapi.h>

#include "floe_io_win.h"
#include "io_int.h"
#include "wintun.h"

/* Ring capacity of a session: 8 MiB, as wireguard-go's Windows driver asks. */
#define TUN_RING_CAPACITY 0x800000u
/* Interface names: Wintun takes up to MAX_ADAPTER_NAME - 1 (127) UTF-16 units. */
#define TUN_NAME_MAX 127

struct floe_io_tun {
    struct floe__wintun api;
    WINTUN_ADAPTER_HANDLE adapter;
    WINTUN_SESSION_HANDLE session;
    HANDLE read_event;
    NET_LUID luid;
    unsigned ifindex;
    const struct floe_io_win_netcfg *nc; /* for the MTU */
    char name[TUN_NAME_MAX * 3 + 1];
    struct floe_io_tun_stats st;
};

static _Thread_local char tun_error[512];
/* Wintun's last error message on this thread (its logger), told with a failed open. */
static _Thread_local char tun_wintun_said[256];

const char *floe_io_tun_error(void)
{
    return tun_error;
}

/*
 * Wintun's logger: its errors explain a failed open better than the Win32 code (the calls
 * that fail log on the calling thread). Warnings and information are not kept.
 */
static VOID CALLBACK tun_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    (void)timestamp;
    if (level != WINTUN_LOG_ERR || !message)
        return;
    if (WideCharToMultiByte(CP_UTF8, 0, message, -1, tun_wintun_said, sizeof(tun_wintun_said), NULL,
                            NULL) == 0)
        tun_wintun_said[0] = 0;
}

/*
 * Record why the open failed, "what (Windows error code): Wintun's last error", and return
 * err; GetLastError() is code.
 */
static int tun_fail(int err, const char *what, DWORD code)
{
    snprintf(tun_error, sizeof(tun_error), "%s (Windows error %lu)%s%s", what, (unsigned long)code,
             tun_wintun_said[0] ? ": " : "", tun_wintun_said);
    SetLastError(code);
    return err;
}

static int tun_check_config(const struct floe_io_tun_config *cfg, WCHAR *wname)
{
    size_t n;

    if (!cfg || !cfg->name || !cfg->name[0])
        return FLOE_ERR_INVALID_ARG;
    if (cfg->mtu != 0 && (cfg->mtu < 576 || cfg->mtu > 65535))
        return FLOE_ERR_INVALID_ARG;
    n = strlen(cfg->name);
    if (n > TUN_NAME_MAX * 3)
        return FLOE_ERR_INVALID_ARG;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, cfg->name, -1, wname,
                            TUN_NAME_MAX + 1) == 0)
        return FLOE_ERR_INVALID_ARG; /* not UTF-8, or over 127 UTF-16 units */
    return 0;
}

/* Open the adapter wname, or create it; then start the session. */
static int tun_start(struct floe_io_tun *t, const WCHAR *wname)
{
    t->api.set_logger(tun_logger);
    t->adapter = t->api.open_adapter(wname);
    tun_wintun_said[0] = 0; /* not finding one to open is no error */
    if (!t->adapter)
        t->adapter = t->api.create_adapter(wname, L"floe", NULL);
    if (!t->adapter)
        return tun_fail(FLOE_ERR_IO,
                        "cannot open or create the Wintun adapter (creating one needs "
                        "Administrator rights)",
                        GetLastError());
    t->api.get_adapter_luid(t->adapter, &t->luid);
    if (ConvertInterfaceLuidToIndex(&t->luid, (NET_IFINDEX *)&t->ifindex) != NO_ERROR)
        t->ifindex = 0;
    t->session = t->api.start_session(t->adapter, TUN_RING_CAPACITY);
    if (!t->session)
        return tun_fail(FLOE_ERR_IO, "cannot start a Wintun session", GetLastError());
    t->read_event = t->api.get_read_wait_event(t->session);
    return 0;
}

int floe_io_tun_open(struct floe_io_tun **out, const struct floe_io_tun_config *cfg)
{
    WCHAR wname[TUN_NAME_MAX + 1];
    struct floe_io_tun *t;
    int rc;

    tun_error[0] = 0;
    tun_wintun_said[0] = 0;
    if (!out)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    if (tun_check_config(cfg, wname) < 0)
        return tun_fail(FLOE_ERR_INVALID_ARG, "bad TUN configuration: name or MTU",
                        ERROR_INVALID_PARAMETER);
    t = calloc(1, sizeof(*t));
    if (!t)
        return FLOE_ERR_NOMEM;
    if (floe__wintun_load(&t->api, tun_error, sizeof(tun_error)) < 0) {
        free(t);
        return FLOE_ERR_UNSUPPORTED;
    }
    snprintf(t->name, sizeof(t->name), "%s", cfg->name);
    t->nc = cfg->netcfg ? cfg->netcfg : floe_io_win_netcfg_system();
    rc = tun_start(t, wname);
    if (rc == 0 && cfg->mtu != 0 && floe_io_tun_set_mtu(t, cfg->mtu) < 0)
        rc = tun_fail(FLOE_ERR_IO, "cannot set the tunnel's MTU", GetLastError());
    if (rc < 0) {
        DWORD code = GetLastError();

        floe_io_tun_free(t);
        SetLastError(code);
        return rc;
    }
    *out = t;
    return 0;
}

void floe_io_tun_free(struct floe_io_tun *t)
{
    if (!t)
        return;
    if (t->session)
        t->api.end_session(t->session);
    if (t->adapter)
        t->api.close_adapter(t->adapter);
    floe__wintun_unload(&t->api);
    free(t);
}

const char *floe_io_tun_name(const struct floe_io_tun *t)
{
    return t->name;
}

unsigned floe_io_tun_ifindex(const struct floe_io_tun *t)
{
    return t->ifindex;
}

uint64_t floe_io_tun_luid(const struct floe_io_tun *t)
{
    return t->luid.Value;
}

uint32_t floe_io_tun_driver_version(const struct floe_io_tun *t)
{
    return (uint32_t)t->api.get_running_driver_version();
}

bool floe_io_tun_has_offload(const struct floe_io_tun *t)
{
    (void)t;
    return false;
}

intptr_t floe_io_tun_wait_handle(const struct floe_io_tun *t)
{
    return (intptr_t)t->read_event;
}

int floe_io_tun_set_mtu(struct floe_io_tun *t, unsigned mtu)
{
    const struct floe_io_win_netcfg *nc;
    int rc;

    if (!t || mtu < 576 || mtu > 65535)
        return FLOE_ERR_INVALID_ARG;
    nc = t->nc;
    rc = nc->mtu_set(nc->ctx, t->luid.Value, FLOE_AF_INET, mtu);
    if (rc == 0)
        rc = nc->mtu_set(nc->ctx, t->luid.Value, FLOE_AF_INET6, mtu);
    return rc;
}

/* Whether p[0..len) starts with an IPv4 or IPv6 header. */
static bool tun_is_ip(const uint8_t *p, size_t len)
{
    if (len >= 20 && (p[0] >> 4) == 4)
        return (size_t)(p[0] & 0x0f) * 4 >= 20;
    return len >= 40 && (p[0] >> 4) == 6;
}

/*
 * A failed ReceivePacket (other than an empty ring) or AllocateSendPacket: FLOE_ERR_IO with
 * GetLastError() Wintun's reason (ERROR_HANDLE_EOF: the adapter is going away;
 * ERROR_INVALID_DATA: a corrupt ring; ERROR_BUFFER_OVERFLOW: the send ring is full).
 */
static int tun_ring_error(DWORD code)
{
    SetLastError(code);
    return FLOE_ERR_IO;
}

int floe_io_tun_read(struct floe_io_tun *t, struct floe_io_segq *q)
{
    DWORD size, code;
    BYTE *p;

    if (!t || !q)
        return FLOE_ERR_INVALID_ARG;
    if (q->n >= q->cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    for (;;) {
        p = t->api.receive_packet(t->session, &size);
        if (!p) {
            code = GetLastError();
            return code == ERROR_NO_MORE_ITEMS ? 0 : tun_ring_error(code);
        }
        t->st.rx_packets++;
        if (size > FLOE_IO_SEG_MAX) {
            t->st.rx_too_big++;
        } else if (!tun_is_ip(p, size)) {
            t->st.rx_bad++;
        } else {
            memcpy(q->seg[q->n], p, size);
            q->len[q->n] = size;
            q->tag[q->n] = NULL;
            q->n++;
            t->st.rx_segs++;
            t->api.release_receive_packet(t->session, p);
            return 1;
        }
        t->api.release_receive_packet(t->session, p);
    }
}

int floe_io_tun_write(struct floe_io_tun *t, uint8_t *pkt, size_t len)
{
    BYTE *room;

    if (!t)
        return FLOE_ERR_INVALID_ARG;
    t->st.tx_segs++;
    if (!pkt || len > WINTUN_MAX_IP_PACKET_SIZE || !tun_is_ip(pkt, len)) {
        t->st.tx_bad++;
        return FLOE_ERR_INVALID_ARG;
    }
    room = t->api.allocate_send_packet(t->session, (DWORD)len);
    if (!room) {
        /* ERROR_BUFFER_OVERFLOW: the ring is full, the packet lost; ERROR_HANDLE_EOF: gone. */
        t->st.tx_errors++;
        return tun_ring_error(GetLastError());
    }
    memcpy(room, pkt, len);
    t->api.send_packet(t->session, room);
    t->st.tx_writes++;
    return 0;
}

int floe_io_tun_flush(struct floe_io_tun *t)
{
    (void)t;
    return 0;
}

void floe_io_tun_stats(const struct floe_io_tun *t, struct floe_io_tun_stats *out)
{
    *out = t->st;
}
