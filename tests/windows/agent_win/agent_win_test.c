/*
 * The agent (apps/agent) on Windows under Wine: its portable files and its Windows pair
 * (loop_win.c, sys_win.c) against the wintun.dll double (beside this program) and the recording
 * double of the network calls, with the portal session stood in for (portal_stub.c;
 * client_wine_test.sh runs floe-client.exe against a real portal). The agent opens the Wintun
 * adapter, offers the double's host addresses, watches network changes outside the tunnel;
 * its loop, run on a thread, wakes for
 * a packet in the Wintun ring (routed by the role's hook), answers `status` on its loopback TCP
 * listener, resets the node after a network change (debounced; the tunnel's own changes
 * ignored) and stops when woken. Tunnel addresses and resource routes go to the netcfg double
 * on the adapter's LUID; floe's own sockets are bound to the best interface other than the
 * tunnel (at the start, again at the reset, the portal's at its connect); the log is JSON Lines
 * in a file.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "agent_win.h"
#include "floe_io_win.h"
#include "netcfg_double.h"
#include "test.h"
#include "wintun_double.h"

#define TUN_LUID 0x0047000000000123ull /* the double's adapter */
#define WIFI_LUID 0x0047000000000007ull
#define ETH_LUID 0x0006000000000003ull
#define TUN_IFINDEX 41
#define WIFI_IFINDEX 7
#define ETH_IFINDEX 3

static struct netcfg_double nd;
static volatile LONG routed; /* packets the role's route hook saw */
static char status_at[64];

static uint64_t test_route(void *user, struct floe_agent *a, const uint8_t *pkt, size_t len)
{
    (void)user;
    (void)a;
    if (len >= 20 && pkt[0] == 0x45)
        InterlockedIncrement(&routed);
    return 0; /* no connection: counted as no_route */
}

/* A free loopback TCP port (bound and released: the agent binds it next). */
static unsigned test_free_port(void)
{
    struct floe_addr lo = {.family = FLOE_AF_INET, .ip = {127, 0, 0, 1}}, at;
    int fd = floe_io_udp_open(&lo);
    unsigned port = 0;

    if (fd >= 0 && floe_io_udp_local(fd, &at) == 0)
        port = at.port;
    floe_io_close(fd);
    return port;
}

/* The agent's status over its listener into buf; its length, 0 when none answered. */
static size_t test_status(char *buf, size_t cap)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    unsigned port = 0;
    size_t len = 0;
    int r;

    sscanf(status_at, "127.0.0.1:%u", &port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((u_short)port);
    if (s == INVALID_SOCKET || connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        send(s, "status\n", 7, 0) != 7) {
        closesocket(s);
        return 0;
    }
    while (len + 1 < cap && (r = recv(s, buf + len, (int)(cap - 1 - len), 0)) > 0)
        len += (size_t)r;
    closesocket(s);
    buf[len] = '\0';
    return len;
}

/* Ask for the status until it contains want (up to 5 s). */
static bool test_status_has(const char *want)
{
    static char buf[65536];

    for (int i = 0; i < 100; i++) {
        if (test_status(buf, sizeof(buf)) > 0 && strstr(buf, want))
            return true;
        Sleep(50);
    }
    fprintf(stderr, "  status without %s: %s\n", want, buf);
    return false;
}

static DWORD WINAPI test_run(LPVOID p)
{
    return (DWORD)floe_agent_run(p);
}

/* The index of the first record of call at or after from, or SIZE_MAX. */
static size_t test_rec(enum netcfg_call call, size_t from)
{
    for (size_t i = from; i < nd.n; i++)
        if (nd.rec[i].call == call)
            return i;
    return SIZE_MAX;
}

static struct floe_agent *test_agent(struct floe_jsonlog *log)
{
    struct floe_agent_config cfg = {
        .portal_url = "ws://127.0.0.1:9/",
        .token = "token",
        .interface = "floe-agent",
        .control_path = status_at,
        .no_offload = true,
        .lanes = 1,
        .log = log,
        .netcfg = &nd.ops,
        .role = {.name = "client",
                 .portal_role = FLOE_PORTAL_ROLE_CLIENT,
                 .node_role = FLOE_NODE_CLIENT,
                 .route = test_route},
    };
    struct floe_agent *a = NULL;

    snprintf(status_at, sizeof(status_at), "127.0.0.1:%u", test_free_port());
    netcfg_double_init(&nd);
    nd.hosts[0] = (struct floe_addr){.family = FLOE_AF_INET, .ip = {192, 0, 2, 10}};
    nd.n_hosts = 1;
    /* A 0.0.0.0/0 resource made the tunnel the best route: floe's own sockets must not take it. */
    nd.routes[0] = (struct floe_io_win_route){.luid = TUN_LUID, .ifindex = TUN_IFINDEX};
    nd.routes[1] = (struct floe_io_win_route){.luid = WIFI_LUID, .ifindex = WIFI_IFINDEX};
    nd.routes[1].metric = 35;
    nd.n_routes = 2;
    if (floe_agent_new(&a, &cfg) != 0)
        return NULL;
    return a;
}

static FLOE_WINTUN_DOUBLE_INJECT_FUNC *test_inject(void)
{
    HMODULE m = GetModuleHandleW(L"wintun.dll");

    return m ? (FLOE_WINTUN_DOUBLE_INJECT_FUNC *)(void (*)(void))GetProcAddress(
                   m, "FloeWintunDoubleInject")
             : NULL;
}

/* The loop on a thread: a packet, the status, a network change, then woken. */
static void test_loop(struct floe_agent *a)
{
    FLOE_WINTUN_DOUBLE_INJECT_FUNC *inject = test_inject();
    uint8_t pkt[60] = {0x45};
    HANDLE th;
    DWORD code = 99;

    REQUIRE(inject != NULL);
    th = CreateThread(NULL, 0, test_run, a, 0, NULL);
    REQUIRE(th != NULL);
    CHECK(test_status_has("\"interface\":\"floe-agent\""));
    CHECK(test_status_has("\"resets\":0"));
    CHECK_EQ(inject(pkt, sizeof(pkt)), ERROR_SUCCESS);
    CHECK(test_status_has("\"no_route\":1"));
    CHECK_EQ(routed, 1);
    netcfg_double_fire(&nd, TUN_LUID); /* the tunnel's own: ignored */
    Sleep(700);                        /* past the debounce */
    CHECK(test_status_has("\"resets\":0"));
    /* Wi-Fi gone, Ethernet up (no reset can read the routes before the change is fired). */
    nd.routes[1] = (struct floe_io_win_route){.luid = ETH_LUID, .ifindex = ETH_IFINDEX};
    netcfg_double_fire(&nd, WIFI_LUID);
    netcfg_double_fire(&nd, WIFI_LUID); /* within the debounce: one reset */
    CHECK(test_status_has("\"resets\":1"));
    floe_agent_wake(a);
    CHECK_EQ(WaitForSingleObject(th, 5000), WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(th, &code));
    CHECK_EQ(code, FLOE_AGENT_EXIT_OK);
    CloseHandle(th);
}

/* The interfaces socket fd was bound to (sock_iface records), in order, into idx[0..cap). */
static size_t test_sock_ifaces(int fd, uint8_t family, uint32_t *idx, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < nd.n; i++)
        if (nd.rec[i].call == NETCFG_SOCK_IFACE && nd.rec[i].fd == fd &&
            nd.rec[i].family == family && n < cap)
            idx[n++] = nd.rec[i].ifindex;
    return n;
}

/* The portal's connection is bound out of the tunnel before its connect. */
static void test_portal_bound(struct floe_agent *a)
{
    struct floe_addr to = {.family = FLOE_AF_INET, .ip = {127, 0, 0, 1}, .port = 9};
    uint32_t idx[4];
    int fd = floe__agent_sys_tcp_connect(a, &to);

    REQUIRE(fd >= 0);
    CHECK_EQ(test_sock_ifaces(fd, FLOE_AF_INET, idx, 4), 1);
    CHECK_EQ(idx[0], ETH_IFINDEX);
    (void)floe_io_win_wait_remove(floe__agent_win_wait(a), AGENT_TAG_PORTAL);
    closesocket((SOCKET)fd);
}

/* With the loop stopped: tunnel addresses and resource routes on the adapter's LUID. */
static void test_netcfg(struct floe_agent *a)
{
    struct floe_portal_interface ifc;
    struct floe_prefix res = {.family = FLOE_AF_INET, .ip = {10, 1}, .len = 16};
    size_t i, from = nd.n;

    memset(&ifc, 0, sizeof(ifc));
    ifc.ipv4 = (struct floe_addr){.family = FLOE_AF_INET, .ip = {100, 64, 0, 2}};
    CHECK_EQ(floe__agent_sys_iface(a, &ifc), 0);
    ifc.ipv4.ip[3] = 3;
    CHECK_EQ(floe__agent_sys_iface(a, &ifc), 0); /* a new address replaces the old one */
    CHECK_EQ(floe_agent_route(a, &res, 0, true), 0);
    CHECK_EQ(floe_agent_route(a, &res, 0, false), 0);
    i = test_rec(NETCFG_ADDR, from);
    REQUIRE(i != SIZE_MAX && i + 4 < nd.n);
    CHECK_EQ(nd.rec[i].luid, TUN_LUID);
    CHECK_EQ(nd.rec[i].addr.ip.ip[3], 2);
    CHECK_EQ(nd.rec[i].addr.prefix_len, 32);
    CHECK_EQ(nd.rec[i + 1].call, NETCFG_ADDR_DEL);
    CHECK_EQ(nd.rec[i + 1].addr.ip.ip[3], 2);
    CHECK_EQ(nd.rec[i + 2].call, NETCFG_ADDR);
    CHECK_EQ(nd.rec[i + 2].addr.ip.ip[3], 3);
    CHECK_EQ(nd.rec[i + 3].call, NETCFG_ROUTE);
    CHECK_EQ(nd.rec[i + 3].luid, TUN_LUID);
    CHECK_EQ(nd.rec[i + 3].prefix.len, 16);
    CHECK_EQ(nd.rec[i + 4].call, NETCFG_ROUTE_DEL);
    nd.fail_at = nd.n; /* the OS refuses the next call */
    nd.fail_code = ERROR_ACCESS_DENIED;
    CHECK_EQ(floe_agent_route(a, &res, 0, true), FLOE_ERR_IO);
}

/* The log file: JSON Lines with the reset in it. */
static void test_log_file(const char *path)
{
    char line[2048];
    FILE *f = fopen(path, "r");
    int lines = 0, resets = 0;

    REQUIRE(f != NULL);
    while (fgets(line, sizeof(line), f)) {
        lines++;
        CHECK(line[0] == '{' && strstr(line, "\"severity\":") && strstr(line, "\"time\":"));
        resets += strstr(line, "network changed: node reset") != NULL;
    }
    fclose(f);
    CHECK(lines > 2);
    CHECK_EQ(resets, 1);
}

static void test_agent_windows(void)
{
    char path[MAX_PATH];
    struct floe_jsonlog log;
    struct floe_agent *a;
    struct floe_wintun_double_state st;
    FLOE_WINTUN_DOUBLE_STATE_FUNC *state;
    HMODULE dll;
    uint32_t idx[4];

    snprintf(path, sizeof(path), "agent_win_test_%lu.log", (unsigned long)GetCurrentProcessId());
    REQUIRE(floe_jsonlog_open(&log, path, FLOE_LOG_DEBUG) == 0);
    a = test_agent(&log);
    REQUIRE(a != NULL);
    /* The tunnel's MTU through the table given, not IP Helper's (which aborts under Wine). */
    REQUIRE(nd.n >= 2 && nd.rec[0].call == NETCFG_MTU && nd.rec[1].call == NETCFG_MTU);
    CHECK_EQ(nd.rec[0].mtu, FLOE_AGENT_TUN_MTU);
    CHECK_EQ(nd.rec[0].luid, TUN_LUID);
    CHECK_EQ(nd.rec[0].family + nd.rec[1].family, FLOE_AF_INET + FLOE_AF_INET6);
    CHECK_EQ(test_rec(NETCFG_WATCH, 0) != SIZE_MAX, 1);
    CHECK_EQ(nd.rec[test_rec(NETCFG_WATCH, 0)].luid, TUN_LUID); /* its own changes ignored */
    CHECK_EQ(a->host[AGENT_V4].ip[3], 10);                      /* the double's host address */
    CHECK(a->host[AGENT_V4].port != 0);                         /* with the socket's port */
    /* The UDP socket bound to Wi-Fi, not to the tunnel that a 0.0.0.0/0 resource made best. */
    REQUIRE(test_sock_ifaces(a->udp[AGENT_V4], FLOE_AF_INET, idx, 4) == 1);
    CHECK_EQ(idx[0], WIFI_IFINDEX);
    test_loop(a);
    /* Chosen again at the reset the network change made: Ethernet now. */
    REQUIRE(test_sock_ifaces(a->udp[AGENT_V4], FLOE_AF_INET, idx, 4) == 2);
    CHECK_EQ(idx[1], ETH_IFINDEX);
    test_portal_bound(a);
    test_netcfg(a);
    /* A reference of the test's own keeps the double loaded after the agent lets it go. */
    REQUIRE(GetModuleHandleExW(0, L"wintun.dll", &dll));
    state = (FLOE_WINTUN_DOUBLE_STATE_FUNC *)(void (*)(void))GetProcAddress(
        dll, "FloeWintunDoubleState");
    REQUIRE(state != NULL);
    floe_agent_free(a);
    CHECK(test_rec(NETCFG_UNWATCH, 0) != SIZE_MAX);
    state(&st);
    CHECK_EQ(st.sessions_live, 0);
    CHECK_EQ(st.adapters_live, 0);
    FreeLibrary(dll);
    floe_jsonlog_close(&log);
    test_log_file(path);
    DeleteFileA(path);
}

int main(void)
{
    FLOE_RUN(test_agent_windows);
    return floe_test_summary();
}
