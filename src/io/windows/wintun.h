/*
 * The Wintun API (wintun.dll 0.14, https://www.wintun.net), declared here from its documented
 * interface: Debian ships no wintun.h, and floe loads the DLL at run time (LoadLibraryExW from
 * the program's directory, every function by GetProcAddress), so only the types and the
 * function pointer types are needed. The names are Wintun's own. The SAL annotations of the
 * original are shimmed to nothing where mingw-w64's headers lack them.
 *
 * Also the loader: struct floe__wintun holds the module and the functions floe uses.
 * tests/windows/wintun_double/ implements the same exports over in-memory rings.
 */
#ifndef FLOE_IO_WINTUN_H
#define FLOE_IO_WINTUN_H

#include <winsock2.h>
#include <windows.h>

#include <ifdef.h>
#include <stddef.h>

/* SAL annotations Wintun's header uses; mingw-w64 defines some of them in <sal.h>. */
#ifndef _In_
#define _In_
#endif
#ifndef _In_z_
#define _In_z_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Return_type_success_
#define _Return_type_success_(expr)
#endif
#ifndef _Post_maybenull_
#define _Post_maybenull_
#endif
#ifndef _Post_writable_byte_size_
#define _Post_writable_byte_size_(size)
#endif

/* Ring capacity bounds of WintunStartSession (bytes, a power of two in between). */
#define WINTUN_MIN_RING_CAPACITY 0x20000u   /* 128 KiB */
#define WINTUN_MAX_RING_CAPACITY 0x4000000u /* 64 MiB */
/* The largest packet WintunAllocateSendPacket takes and WintunReceivePacket gives. */
#define WINTUN_MAX_IP_PACKET_SIZE 0xFFFFu

/* An adapter (CreateAdapter/OpenAdapter; released by CloseAdapter). */
typedef struct _WINTUN_ADAPTER *WINTUN_ADAPTER_HANDLE;
/* A session of an adapter: its send and receive rings (StartSession/EndSession). */
typedef struct _TUN_SESSION *WINTUN_SESSION_HANDLE;

/* Level of a message given to the logger callback. */
typedef enum {
    WINTUN_LOG_INFO, /* informational */
    WINTUN_LOG_WARN, /* warning */
    WINTUN_LOG_ERR   /* error */
} WINTUN_LOGGER_LEVEL;

/* The logger: Timestamp in 100 ns units since 1601-01-01 UTC; any thread may call it. */
typedef VOID(CALLBACK *WINTUN_LOGGER_CALLBACK)(_In_ WINTUN_LOGGER_LEVEL Level,
                                               _In_ DWORD64 Timestamp, _In_z_ LPCWSTR Message);

/* Create an adapter named Name of tunnel type TunnelType; NULL on failure (GetLastError). */
typedef _Must_inspect_result_ _Return_type_success_(return != NULL) _Post_maybenull_
    WINTUN_ADAPTER_HANDLE(WINAPI WINTUN_CREATE_ADAPTER_FUNC)(_In_z_ LPCWSTR Name,
                                                             _In_z_ LPCWSTR TunnelType,
                                                             _In_opt_ const GUID *RequestedGUID);
/* Open the existing adapter Name; NULL on failure (GetLastError). */
typedef _Must_inspect_result_ _Return_type_success_(return != NULL) _Post_maybenull_
    WINTUN_ADAPTER_HANDLE(WINAPI WINTUN_OPEN_ADAPTER_FUNC)(_In_z_ LPCWSTR Name);
/* Release an adapter; one this process created is removed. */
typedef VOID(WINAPI WINTUN_CLOSE_ADAPTER_FUNC)(_In_opt_ WINTUN_ADAPTER_HANDLE Adapter);
/* Remove the driver when no adapter uses it; FALSE on failure (GetLastError). */
typedef _Return_type_success_(return != FALSE) BOOL(WINAPI WINTUN_DELETE_DRIVER_FUNC)(VOID);
/* The adapter's LUID. */
typedef VOID(WINAPI WINTUN_GET_ADAPTER_LUID_FUNC)(_In_ WINTUN_ADAPTER_HANDLE Adapter,
                                                  _Out_ NET_LUID *Luid);
/* The loaded driver's version (major << 16 | minor); 0 when none is loaded. */
typedef _Return_type_success_(return != 0)
    DWORD(WINAPI WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC)(VOID);
/* Set (NULL: clear) the process-wide logger. */
typedef VOID(WINAPI WINTUN_SET_LOGGER_FUNC)(_In_ WINTUN_LOGGER_CALLBACK NewLogger);
/* Start a session with rings of Capacity bytes; NULL on failure (GetLastError). */
typedef _Must_inspect_result_ _Return_type_success_(return != NULL) _Post_maybenull_
    WINTUN_SESSION_HANDLE(WINAPI WINTUN_START_SESSION_FUNC)(_In_ WINTUN_ADAPTER_HANDLE Adapter,
                                                            _In_ DWORD Capacity);
/* End a session (its rings and event go). */
typedef VOID(WINAPI WINTUN_END_SESSION_FUNC)(_In_ WINTUN_SESSION_HANDLE Session);
/* The event signalled when packets wait to be received (owned by the session). */
typedef HANDLE(WINAPI WINTUN_GET_READ_WAIT_EVENT_FUNC)(_In_ WINTUN_SESSION_HANDLE Session);
/*
 * The next received packet and its size; NULL with GetLastError ERROR_NO_MORE_ITEMS (ring
 * empty), ERROR_HANDLE_EOF (adapter terminating) or ERROR_INVALID_DATA (ring corrupt).
 */
typedef _Must_inspect_result_ _Return_type_success_(return != NULL) _Post_maybenull_
    _Post_writable_byte_size_(*PacketSize) BYTE *(WINAPI WINTUN_RECEIVE_PACKET_FUNC)(
        _In_ WINTUN_SESSION_HANDLE Session, _Out_ DWORD *PacketSize);
/* Give back a packet of WintunReceivePacket. */
typedef VOID(WINAPI WINTUN_RELEASE_RECEIVE_PACKET_FUNC)(_In_ WINTUN_SESSION_HANDLE Session,
                                                        _In_ const BYTE *Packet);
/*
 * Room for a packet of PacketSize bytes to send; NULL with GetLastError ERROR_BUFFER_OVERFLOW
 * (ring full) or ERROR_HANDLE_EOF (adapter terminating).
 */
typedef _Must_inspect_result_ _Return_type_success_(return != NULL) _Post_maybenull_
    _Post_writable_byte_size_(PacketSize)
BYTE *(WINAPI WINTUN_ALLOCATE_SEND_PACKET_FUNC)(_In_ WINTUN_SESSION_HANDLE Session,
                                                _In_ DWORD PacketSize);
/* Send a packet of WintunAllocateSendPacket (in allocation order). */
typedef VOID(WINAPI WINTUN_SEND_PACKET_FUNC)(_In_ WINTUN_SESSION_HANDLE Session,
                                             _In_ const BYTE *Packet);

/* The exports floe uses: member, function type, export name. */
#define FLOE__WINTUN_FUNCS(X)                                                                      \
    X(create_adapter, WINTUN_CREATE_ADAPTER_FUNC, "WintunCreateAdapter")                           \
    X(open_adapter, WINTUN_OPEN_ADAPTER_FUNC, "WintunOpenAdapter")                                 \
    X(close_adapter, WINTUN_CLOSE_ADAPTER_FUNC, "WintunCloseAdapter")                              \
    X(delete_driver, WINTUN_DELETE_DRIVER_FUNC, "WintunDeleteDriver")                              \
    X(get_adapter_luid, WINTUN_GET_ADAPTER_LUID_FUNC, "WintunGetAdapterLUID")                      \
    X(get_running_driver_version, WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC,                          \
      "WintunGetRunningDriverVersion")                                                             \
    X(set_logger, WINTUN_SET_LOGGER_FUNC, "WintunSetLogger")                                       \
    X(start_session, WINTUN_START_SESSION_FUNC, "WintunStartSession")                              \
    X(end_session, WINTUN_END_SESSION_FUNC, "WintunEndSession")                                    \
    X(get_read_wait_event, WINTUN_GET_READ_WAIT_EVENT_FUNC, "WintunGetReadWaitEvent")              \
    X(receive_packet, WINTUN_RECEIVE_PACKET_FUNC, "WintunReceivePacket")                           \
    X(release_receive_packet, WINTUN_RELEASE_RECEIVE_PACKET_FUNC, "WintunReleaseReceivePacket")    \
    X(allocate_send_packet, WINTUN_ALLOCATE_SEND_PACKET_FUNC, "WintunAllocateSendPacket")          \
    X(send_packet, WINTUN_SEND_PACKET_FUNC, "WintunSendPacket")

/* wintun.dll loaded, with every function of FLOE__WINTUN_FUNCS found. */
struct floe__wintun {
    HMODULE dll;
#define FLOE__WINTUN_MEMBER(member, type, name) type *member;
    FLOE__WINTUN_FUNCS(FLOE__WINTUN_MEMBER)
#undef FLOE__WINTUN_MEMBER
};

/*
 * Load wintun.dll from the program's directory (or System32; never the current directory or
 * PATH: LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32) and find every
 * function. Returns 0, or FLOE_ERR_UNSUPPORTED with why in err[0..cap) (no DLL: where it was
 * looked for; an export missing: its name) and GetLastError() set; w is then unloaded.
 */
int floe__wintun_load(struct floe__wintun *w, char *err, size_t cap);
/* Unload (w zeroed; safe on a zeroed or unloaded one). */
void floe__wintun_unload(struct floe__wintun *w);

#endif
