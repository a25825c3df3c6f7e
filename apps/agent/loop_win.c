/*
 * The agent's event loop on Windows: one floe_io_win_wait over the Wintun read-wait event, the
 * UDP sockets, the portal's TCP socket, the status listener (TCP on a loopback address), the
 * timer (the wait's deadline), network changes (the netcfg watch raises the wait's "changed"
 * flag: debounced node reset) and Ctrl-C / Ctrl-Break / console close (the "wake" flag: a
 * clean exit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_win.h"

struct agent_loop {
    struct floe_io_win_wait *w;
    void *watch; /* the netcfg watch */
    SOCKET ctl;
};

/* The wait the console handler wakes (one agent per process). */
static struct floe_io_win_wait *volatile loop_console_wait;

static BOOL WINAPI loop_console(DWORD type)
{
    struct floe_io_win_wait *w = loop_console_wait;

    (void)type;
    if (!w)
        return FALSE;
    floe_io_win_wait_wake(w);
    return TRUE;
}

const struct floe_io_win_netcfg *floe__agent_win_netcfg(const struct floe_agent *a)
{
    return a->cfg.netcfg ? a->cfg.netcfg : floe_io_win_netcfg_system();
}

struct floe_io_win_wait *floe__agent_win_wait(struct floe_agent *a)
{
    return a->loop->w;
}

int floe__agent_loop_new(struct floe_agent *a)
{
    struct agent_loop *l = calloc(1, sizeof(*l));

    if (!l)
        return FLOE_ERR_NOMEM;
    l->ctl = INVALID_SOCKET;
    a->loop = l;
    return floe_io_win_wait_new(&l->w);
}

/* Whether a is 127.0.0.0/8 or ::1: the status answers this machine only. */
static bool loop_is_loopback(const struct floe_addr *a)
{
    static const uint8_t v6_lo[16] = {[15] = 1};

    if (a->family == FLOE_AF_INET)
        return a->ip[0] == 127;
    return a->family == FLOE_AF_INET6 && memcmp(a->ip, v6_lo, 16) == 0;
}

/* The status listener on control_path, a loopback "IP:PORT". */
static int loop_ctl_open(struct floe_agent *a, struct agent_loop *l)
{
    const char *path = a->cfg.control_path;
    struct sockaddr_storage ss;
    struct floe_addr at;
    socklen_t len;

    if (!path || !*path)
        return 0;
    if (floe_io_resolve(path, FLOE_AF_NONE, &at) != 0 || !loop_is_loopback(&at) ||
        floe_io_addr_to_sockaddr(&at, &ss, &len) != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "status address %s: not a loopback IP:PORT", path);
        return FLOE_ERR_INVALID_ARG;
    }
    l->ctl = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (l->ctl == INVALID_SOCKET || bind(l->ctl, (struct sockaddr *)&ss, len) != 0 ||
        listen(l->ctl, 8) != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "status address %s: Winsock error %d", path,
                        WSAGetLastError());
        return FLOE_ERR_IO;
    }
    return floe_io_win_wait_socket(l->w, (int)l->ctl, AGENT_TAG_CTL, false);
}

int floe__agent_loop_open(struct floe_agent *a)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    struct agent_loop *l = a->loop;
    int rc = floe_io_win_wait_handle(l->w, floe_io_tun_wait_handle(a->tun), AGENT_TAG_TUN);

    if (rc == 0)
        rc = loop_ctl_open(a, l);
    if (rc != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "event loop: %s", floe_strerror(rc));
        return rc;
    }
    if (nc->watch_start(nc->ctx, floe_io_tun_luid(a->tun), floe_io_win_wait_changed, l->w,
                        &l->watch) != 0) {
        l->watch = NULL;
        floe__agent_log(a, FLOE_LOG_WARN, "no network change notifications (Windows error %lu)",
                        (unsigned long)GetLastError());
    }
    loop_console_wait = l->w;
    SetConsoleCtrlHandler(loop_console, TRUE);
    return 0;
}

void floe__agent_loop_free(struct floe_agent *a)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    struct agent_loop *l = a->loop;

    if (!l)
        return;
    if (loop_console_wait == l->w) {
        SetConsoleCtrlHandler(loop_console, FALSE);
        loop_console_wait = NULL;
    }
    if (l->watch)
        nc->watch_stop(nc->ctx, l->watch); /* the callback is not running after this */
    floe_io_win_wait_free(l->w);
    if (l->ctl != INVALID_SOCKET)
        closesocket(l->ctl);
    free(l);
    a->loop = NULL;
}

void floe__agent_loop_portal_fd(struct floe_agent *a, int fd, bool out)
{
    if (floe_io_win_wait_socket(a->loop->w, fd, AGENT_TAG_PORTAL, out) != 0)
        floe__agent_log(a, FLOE_LOG_WARN, "portal socket not watched: Winsock error %d",
                        WSAGetLastError());
}

void floe__agent_loop_portal_fd_del(struct floe_agent *a, int fd)
{
    (void)fd;
    (void)floe_io_win_wait_remove(a->loop->w, AGENT_TAG_PORTAL);
}

/* Answer one status request: read its line (briefly), write the JSON, close. */
static void loop_ctl_accept(struct floe_agent *a)
{
    static char buf[262144];
    SOCKET s = accept(a->loop->ctl, NULL, NULL);
    u_long blocking = 0;
    DWORD ms = 200;
    long n;

    if (s == INVALID_SOCKET)
        return;
    /* The accepted socket inherits the listener's event selection: undo it, block briefly. */
    (void)WSAEventSelect(s, NULL, 0);
    (void)ioctlsocket(s, (long)FIONBIO, &blocking);
    (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof(ms));
    (void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&ms, sizeof(ms));
    if (recv(s, buf, 64, 0) > 0) {
        n = floe__agent_status(a, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n++] = '\n';
            for (long off = 0, w; off < n; off += w)
                if ((w = send(s, buf + off, (int)(n - off), 0)) <= 0)
                    break;
        }
    }
    closesocket(s);
}

static void loop_dispatch(struct floe_agent *a, const struct floe_io_win_ready *r, floe_time now)
{
    switch (r->tag) {
    case AGENT_TAG_TUN:
        floe__agent_tun_readable(a, now);
        break;
    case AGENT_TAG_UDP4:
    case AGENT_TAG_UDP6:
        floe__agent_udp_readable(a, r->tag == AGENT_TAG_UDP4 ? AGENT_V4 : AGENT_V6, now);
        break;
    case AGENT_TAG_PORTAL:
        floe__agent_portal_io(a, now, r->writable || r->error != 0);
        break;
    case AGENT_TAG_CTL:
        loop_ctl_accept(a);
        break;
    case FLOE_IO_WIN_WAIT_CHANGED:
        floe__agent_net_changed(a, now);
        break;
    case FLOE_IO_WIN_WAIT_WOKEN:
        floe__agent_log(a, FLOE_LOG_INFO, "console stop: stopping");
        floe_agent_stop(a, FLOE_AGENT_EXIT_OK);
        break;
    }
}

int floe__agent_loop_run(struct floe_agent *a)
{
    struct floe_io_win_ready ready[16];

    for (int s = 0; s < 2; s++)
        if (a->udp[s] >= 0 && floe_io_win_wait_socket(a->loop->w, a->udp[s],
                                                      s ? AGENT_TAG_UDP6 : AGENT_TAG_UDP4, false))
            return FLOE_AGENT_EXIT_FAILURE;
    floe__agent_timeout(a, floe_io_now());
    while (!a->stop) {
        int n = floe_io_win_wait_run(a->loop->w, floe__agent_next_deadline(a), ready, 16);

        if (n < 0)
            return FLOE_AGENT_EXIT_FAILURE;
        for (int i = 0; i < n; i++)
            loop_dispatch(a, &ready[i], floe_io_now());
        if (floe__agent_next_deadline(a) <= floe_io_now())
            floe__agent_timeout(a, floe_io_now());
    }
    return a->exit_code;
}

/* Wake the loop from another thread (a test, a service's stop request). */
void floe_agent_wake(struct floe_agent *a)
{
    floe_io_win_wait_wake(a->loop->w);
}
