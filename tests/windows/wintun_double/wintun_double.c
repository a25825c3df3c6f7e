/*
 * A test double of wintun.dll: the exports floe uses (io/windows/wintun.h, the same function
 * types) over in-memory rings, plus test-only exports (wintun_double.h) that inject packets
 * for the program to receive and take the packets it sent. Built as "wintun.dll" into the
 * directory of the tests that load it, so floe's loader finds it as it would find Wintun's.
 * One adapter and one session at most; a lock around everything, as Wintun's calls are
 * thread-safe.
 *
 * For a test outside the process (a program such as floe-client.exe run by a script), the
 * environment variable FLOE_WINTUN_DOUBLE_UDP=PORT bridges the rings to UDP on loopback: a
 * session binds 127.0.0.1:PORT, each datagram received there is injected as one packet, and
 * each packet the program sends goes as one datagram to the address the last datagram came
 * from (dropped, and counted in tx_dropped, before any came).
 */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <stdlib.h>
#include <string.h>

#include "wintun.h"
#include "wintun_double.h"

#define DLL_EXPORT __declspec(dllexport)

/* Declared with the loader's function types: a double that drifts from wintun.h fails here. */
DLL_EXPORT WINTUN_CREATE_ADAPTER_FUNC WintunCreateAdapter;
DLL_EXPORT WINTUN_OPEN_ADAPTER_FUNC WintunOpenAdapter;
DLL_EXPORT WINTUN_CLOSE_ADAPTER_FUNC WintunCloseAdapter;
DLL_EXPORT WINTUN_DELETE_DRIVER_FUNC WintunDeleteDriver;
DLL_EXPORT WINTUN_GET_ADAPTER_LUID_FUNC WintunGetAdapterLUID;
DLL_EXPORT WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC WintunGetRunningDriverVersion;
DLL_EXPORT WINTUN_SET_LOGGER_FUNC WintunSetLogger;
DLL_EXPORT WINTUN_START_SESSION_FUNC WintunStartSession;
DLL_EXPORT WINTUN_END_SESSION_FUNC WintunEndSession;
DLL_EXPORT WINTUN_GET_READ_WAIT_EVENT_FUNC WintunGetReadWaitEvent;
DLL_EXPORT WINTUN_RECEIVE_PACKET_FUNC WintunReceivePacket;
DLL_EXPORT WINTUN_RELEASE_RECEIVE_PACKET_FUNC WintunReleaseReceivePacket;
DLL_EXPORT WINTUN_ALLOCATE_SEND_PACKET_FUNC WintunAllocateSendPacket;
DLL_EXPORT WINTUN_SEND_PACKET_FUNC WintunSendPacket;
DLL_EXPORT FLOE_WINTUN_DOUBLE_INJECT_FUNC FloeWintunDoubleInject;
DLL_EXPORT FLOE_WINTUN_DOUBLE_TAKE_FUNC FloeWintunDoubleTake;
DLL_EXPORT FLOE_WINTUN_DOUBLE_STATE_FUNC FloeWintunDoubleState;
DLL_EXPORT FLOE_WINTUN_DOUBLE_TERMINATE_FUNC FloeWintunDoubleTerminate;

struct dbl_pkt {
    struct dbl_pkt *next;
    DWORD size, cost;
    BYTE data[];
};

struct dbl_queue {
    struct dbl_pkt *head, *tail;
    DWORD count;
};

static struct {
    SRWLOCK lock;
    struct floe_wintun_double_state st;
    BOOL adapter, session, terminated;
    HANDLE event;
    DWORD rx_used, tx_used; /* ring bytes taken, until released or taken */
    struct dbl_queue rx, tx;
    WINTUN_LOGGER_CALLBACK logger;
    SOCKET bridge;                /* the UDP bridge's socket, INVALID_SOCKET when none */
    HANDLE bridge_thread;         /* receives on it */
    volatile LONG bridge_stop;    /* set to stop the thread */
    struct sockaddr_in bridge_to; /* where sent packets go (sin_port 0: nowhere yet) */
} g = {.lock = SRWLOCK_INIT, .bridge = INVALID_SOCKET};

/* The handles are addresses inside the double; only their identity matters. */
#define DBL_ADAPTER ((WINTUN_ADAPTER_HANDLE)(void *)&g.adapter)
#define DBL_SESSION ((WINTUN_SESSION_HANDLE)(void *)&g.session)

static void dbl_push(struct dbl_queue *q, struct dbl_pkt *p)
{
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->count++;
}

static struct dbl_pkt *dbl_pop(struct dbl_queue *q)
{
    struct dbl_pkt *p = q->head;

    if (p) {
        q->head = p->next;
        if (!q->head)
            q->tail = NULL;
        q->count--;
    }
    return p;
}

/* A packet of size bytes charged to a ring with used bytes taken; NULL when it does not fit. */
static struct dbl_pkt *dbl_new(DWORD size, DWORD *used)
{
    DWORD cost = (size + 4u + 3u) & ~3u;
    struct dbl_pkt *p;

    if (*used + cost > g.st.capacity)
        return NULL;
    p = malloc(sizeof(*p) + size);
    if (p) {
        p->size = size;
        p->cost = cost;
        *used += cost;
    }
    return p;
}

static void dbl_free_queue(struct dbl_queue *q)
{
    struct dbl_pkt *p;

    while ((p = dbl_pop(q)) != NULL)
        free(p);
}

static struct dbl_pkt *dbl_of(const BYTE *data)
{
    return (struct dbl_pkt *)(void *)(data - offsetof(struct dbl_pkt, data));
}

static WINTUN_ADAPTER_HANDLE dbl_fail_adapter(DWORD code)
{
    SetLastError(code);
    return NULL;
}

/* The bridge's receiver: each datagram into the receive ring; its sender is where sent
 * packets go. Polls the stop flag every 100 ms. */
static DWORD WINAPI dbl_bridge_run(LPVOID unused)
{
    static BYTE buf[65536];
    struct sockaddr_in from;
    int n, len;

    (void)unused;
    while (!g.bridge_stop) {
        fd_set rs;
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};

        FD_ZERO(&rs);
        FD_SET(g.bridge, &rs);
        if (select(0, &rs, NULL, NULL, &tv) <= 0)
            continue;
        len = sizeof(from);
        n = recvfrom(g.bridge, (char *)buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
        if (n <= 0 || from.sin_family != AF_INET)
            continue;
        AcquireSRWLockExclusive(&g.lock);
        g.bridge_to = from;
        ReleaseSRWLockExclusive(&g.lock);
        n = FloeWintunDoubleInject(buf, (DWORD)n) == ERROR_SUCCESS;
        AcquireSRWLockExclusive(&g.lock);
        if (n)
            g.st.rx_bridged++;
        else
            g.st.rx_dropped++;
        ReleaseSRWLockExclusive(&g.lock);
    }
    return 0;
}

/* Stop the bridge's thread, close its socket (nothing when there is no bridge). */
static void dbl_bridge_stop(void)
{
    if (g.bridge_thread) {
        InterlockedExchange(&g.bridge_stop, 1);
        WaitForSingleObject(g.bridge_thread, INFINITE);
        CloseHandle(g.bridge_thread);
        g.bridge_thread = NULL;
    }
    if (g.bridge != INVALID_SOCKET) {
        closesocket(g.bridge);
        g.bridge = INVALID_SOCKET;
        WSACleanup();
    }
    memset(&g.bridge_to, 0, sizeof(g.bridge_to));
}

/* The UDP bridge of FLOE_WINTUN_DOUBLE_UDP, when it is set: ERROR_SUCCESS, or why not. */
static DWORD dbl_bridge_start(void)
{
    const char *env = getenv("FLOE_WINTUN_DOUBLE_UDP");
    struct sockaddr_in sin = {.sin_family = AF_INET};
    unsigned long port;
    char *end;
    WSADATA wsa;
    DWORD rc;

    if (!env || !*env)
        return ERROR_SUCCESS;
    port = strtoul(env, &end, 10);
    if (*end || port == 0 || port > 65535)
        return ERROR_INVALID_PARAMETER;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return ERROR_NOT_READY;
    g.bridge = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((u_short)port);
    if (g.bridge == INVALID_SOCKET || bind(g.bridge, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        rc = (DWORD)WSAGetLastError();
        if (g.bridge == INVALID_SOCKET)
            WSACleanup();
        dbl_bridge_stop();
        return rc;
    }
    g.bridge_stop = 0;
    g.bridge_thread = CreateThread(NULL, 0, dbl_bridge_run, NULL, 0, NULL);
    if (!g.bridge_thread) {
        rc = GetLastError();
        dbl_bridge_stop();
        return rc;
    }
    return ERROR_SUCCESS;
}

/* A sent packet through the bridge: one datagram to the last sender, then freed. The socket is
 * used outside the lock: a program's writes end before its session does. */
static void dbl_bridge_send(struct dbl_pkt *p)
{
    struct sockaddr_in to;
    BOOL sent = FALSE;

    AcquireSRWLockExclusive(&g.lock);
    to = g.bridge_to;
    g.tx_used -= p->cost;
    ReleaseSRWLockExclusive(&g.lock);
    if (to.sin_port != 0)
        sent = sendto(g.bridge, (const char *)p->data, (int)p->size, 0,
                      (const struct sockaddr *)&to, sizeof(to)) == (int)p->size;
    free(p);
    AcquireSRWLockExclusive(&g.lock);
    if (sent)
        g.st.tx_bridged++;
    else
        g.st.tx_dropped++;
    ReleaseSRWLockExclusive(&g.lock);
}

DLL_EXPORT WINTUN_ADAPTER_HANDLE WINAPI WintunCreateAdapter(LPCWSTR name, LPCWSTR type,
                                                            const GUID *guid)
{
    (void)guid;
    if (!name || !type || wcslen(name) >= 128 || wcslen(type) >= 128)
        return dbl_fail_adapter(ERROR_INVALID_PARAMETER);
    AcquireSRWLockExclusive(&g.lock);
    g.adapter = TRUE;
    g.terminated = FALSE;
    g.st.created++;
    g.st.adapters_live++;
    wcscpy(g.st.name, name);
    wcscpy(g.st.tunnel_type, type);
    ReleaseSRWLockExclusive(&g.lock);
    return DBL_ADAPTER;
}

DLL_EXPORT WINTUN_ADAPTER_HANDLE WINAPI WintunOpenAdapter(LPCWSTR name)
{
    BOOL found;

    AcquireSRWLockExclusive(&g.lock);
    found = g.adapter && name && wcscmp(name, g.st.name) == 0;
    if (found) {
        g.st.opened++;
        g.st.adapters_live++;
    }
    ReleaseSRWLockExclusive(&g.lock);
    return found ? DBL_ADAPTER : dbl_fail_adapter(ERROR_FILE_NOT_FOUND);
}

DLL_EXPORT VOID WINAPI WintunCloseAdapter(WINTUN_ADAPTER_HANDLE adapter)
{
    if (adapter != DBL_ADAPTER)
        return;
    AcquireSRWLockExclusive(&g.lock);
    if (g.st.adapters_live && --g.st.adapters_live == 0)
        g.adapter = FALSE;
    ReleaseSRWLockExclusive(&g.lock);
}

DLL_EXPORT BOOL WINAPI WintunDeleteDriver(VOID)
{
    return TRUE;
}

DLL_EXPORT VOID WINAPI WintunGetAdapterLUID(WINTUN_ADAPTER_HANDLE adapter, NET_LUID *luid)
{
    (void)adapter;
    luid->Value = 0x0047000000000123ull; /* IF_TYPE_PROP_VIRTUAL (53) << 48 | index 0x123 */
}

DLL_EXPORT DWORD WINAPI WintunGetRunningDriverVersion(VOID)
{
    return 0x0000000Eu; /* 0.14 */
}

DLL_EXPORT VOID WINAPI WintunSetLogger(WINTUN_LOGGER_CALLBACK logger)
{
    AcquireSRWLockExclusive(&g.lock);
    g.logger = logger;
    g.st.logger_set = logger != NULL;
    ReleaseSRWLockExclusive(&g.lock);
}

DLL_EXPORT WINTUN_SESSION_HANDLE WINAPI WintunStartSession(WINTUN_ADAPTER_HANDLE adapter,
                                                           DWORD capacity)
{
    WINTUN_LOGGER_CALLBACK logger;
    DWORD rc;

    if (adapter != DBL_ADAPTER || capacity < WINTUN_MIN_RING_CAPACITY ||
        capacity > WINTUN_MAX_RING_CAPACITY || (capacity & (capacity - 1)) != 0) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    AcquireSRWLockExclusive(&g.lock);
    logger = g.logger;
    if (g.session) {
        ReleaseSRWLockExclusive(&g.lock);
        if (logger) /* Wintun logs why a call failed, on the calling thread */
            logger(WINTUN_LOG_ERR, 0, L"wintun double: the adapter has a session already");
        SetLastError(ERROR_SHARING_VIOLATION); /* one session per adapter */
        return NULL;
    }
    g.session = TRUE;
    g.st.sessions_live++;
    g.st.capacity = capacity;
    g.event = CreateEventW(NULL, TRUE, FALSE, NULL);
    ReleaseSRWLockExclusive(&g.lock);
    rc = dbl_bridge_start();
    if (rc != ERROR_SUCCESS) {
        WintunEndSession(DBL_SESSION);
        if (logger)
            logger(WINTUN_LOG_ERR, 0, L"wintun double: FLOE_WINTUN_DOUBLE_UDP: no bridge");
        SetLastError(rc);
        return NULL;
    }
    if (logger)
        logger(WINTUN_LOG_INFO, 0, L"wintun double: session started");
    return DBL_SESSION;
}

DLL_EXPORT VOID WINAPI WintunEndSession(WINTUN_SESSION_HANDLE session)
{
    if (session != DBL_SESSION)
        return;
    dbl_bridge_stop(); /* outside the lock: its thread takes it */
    AcquireSRWLockExclusive(&g.lock);
    dbl_free_queue(&g.rx);
    dbl_free_queue(&g.tx);
    g.rx_used = g.tx_used = 0;
    g.st.rx_queued = g.st.tx_queued = 0;
    g.session = FALSE;
    g.st.sessions_live--;
    CloseHandle(g.event);
    g.event = NULL;
    ReleaseSRWLockExclusive(&g.lock);
}

DLL_EXPORT HANDLE WINAPI WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE session)
{
    return session == DBL_SESSION ? g.event : NULL;
}

static BYTE *dbl_fail_packet(DWORD code)
{
    ReleaseSRWLockExclusive(&g.lock);
    SetLastError(code);
    return NULL;
}

DLL_EXPORT BYTE *WINAPI WintunReceivePacket(WINTUN_SESSION_HANDLE session, DWORD *size)
{
    struct dbl_pkt *p;

    AcquireSRWLockExclusive(&g.lock);
    if (session != DBL_SESSION || !g.session)
        return dbl_fail_packet(ERROR_INVALID_HANDLE);
    if (g.terminated)
        return dbl_fail_packet(ERROR_HANDLE_EOF);
    p = dbl_pop(&g.rx);
    if (!p) {
        ResetEvent(g.event);
        return dbl_fail_packet(ERROR_NO_MORE_ITEMS);
    }
    g.st.rx_queued--;
    g.st.rx_held++;
    ReleaseSRWLockExclusive(&g.lock);
    *size = p->size;
    return p->data;
}

DLL_EXPORT VOID WINAPI WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE session, const BYTE *packet)
{
    struct dbl_pkt *p = dbl_of(packet);

    (void)session;
    AcquireSRWLockExclusive(&g.lock);
    g.rx_used -= p->cost;
    g.st.rx_held--;
    ReleaseSRWLockExclusive(&g.lock);
    free(p);
}

DLL_EXPORT BYTE *WINAPI WintunAllocateSendPacket(WINTUN_SESSION_HANDLE session, DWORD size)
{
    struct dbl_pkt *p;

    AcquireSRWLockExclusive(&g.lock);
    if (session != DBL_SESSION || !g.session)
        return dbl_fail_packet(ERROR_INVALID_HANDLE);
    if (g.terminated)
        return dbl_fail_packet(ERROR_HANDLE_EOF);
    if (size == 0 || size > WINTUN_MAX_IP_PACKET_SIZE)
        return dbl_fail_packet(ERROR_INVALID_PARAMETER);
    p = dbl_new(size, &g.tx_used);
    if (!p)
        return dbl_fail_packet(ERROR_BUFFER_OVERFLOW);
    g.st.tx_allocated++;
    ReleaseSRWLockExclusive(&g.lock);
    return p->data;
}

DLL_EXPORT VOID WINAPI WintunSendPacket(WINTUN_SESSION_HANDLE session, const BYTE *packet)
{
    BOOL bridged;

    (void)session;
    AcquireSRWLockExclusive(&g.lock);
    g.st.tx_allocated--;
    bridged = g.bridge != INVALID_SOCKET;
    if (!bridged) {
        dbl_push(&g.tx, dbl_of(packet));
        g.st.tx_queued++;
    }
    ReleaseSRWLockExclusive(&g.lock);
    if (bridged)
        dbl_bridge_send(dbl_of(packet));
}

DLL_EXPORT DWORD WINAPI FloeWintunDoubleInject(const BYTE *pkt, DWORD len)
{
    struct dbl_pkt *p;
    DWORD rc = ERROR_SUCCESS;

    if (!pkt || len == 0 || len > WINTUN_MAX_IP_PACKET_SIZE)
        return ERROR_INVALID_PARAMETER;
    AcquireSRWLockExclusive(&g.lock);
    if (!g.session) {
        rc = ERROR_NOT_READY;
    } else if ((p = dbl_new(len, &g.rx_used)) == NULL) {
        rc = ERROR_BUFFER_OVERFLOW;
    } else {
        memcpy(p->data, pkt, len);
        dbl_push(&g.rx, p);
        g.st.rx_queued++;
        SetEvent(g.event);
    }
    ReleaseSRWLockExclusive(&g.lock);
    return rc;
}

DLL_EXPORT DWORD WINAPI FloeWintunDoubleTake(BYTE *buf, DWORD cap, DWORD *len)
{
    struct dbl_pkt *p;
    DWORD rc = ERROR_SUCCESS;

    AcquireSRWLockExclusive(&g.lock);
    p = g.tx.head;
    if (!p) {
        rc = ERROR_NO_MORE_ITEMS;
    } else if (p->size > cap) {
        *len = p->size;
        rc = ERROR_INSUFFICIENT_BUFFER;
    } else {
        dbl_pop(&g.tx);
        g.st.tx_queued--;
        g.tx_used -= p->cost;
        memcpy(buf, p->data, p->size);
        *len = p->size;
        free(p);
    }
    ReleaseSRWLockExclusive(&g.lock);
    return rc;
}

DLL_EXPORT VOID WINAPI FloeWintunDoubleState(struct floe_wintun_double_state *out)
{
    AcquireSRWLockShared(&g.lock);
    *out = g.st;
    ReleaseSRWLockShared(&g.lock);
}

DLL_EXPORT VOID WINAPI FloeWintunDoubleTerminate(VOID)
{
    AcquireSRWLockExclusive(&g.lock);
    g.terminated = TRUE;
    ReleaseSRWLockExclusive(&g.lock);
}
