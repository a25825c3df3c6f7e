/*
 * The event loop's wait on Windows (floe_io_win.h): one WaitForMultipleObjects over the
 * wait's own auto-reset event (the flags) and one event per source. A socket's event comes
 * from WSAEventSelect and is reset by WSAEnumNetworkEvents, which also says what happened;
 * a HANDLE source (Wintun's read-wait event) is only tested, never reset here.
 */
#include <stdlib.h>
#include <string.h>

#include "floe_io_win.h"
#include "win_int.h"

struct wait_src {
    uint32_t tag;
    SOCKET sock; /* INVALID_SOCKET: a HANDLE source */
    HANDLE ev;   /* the socket's WSAEventSelect event (owned), or the caller's HANDLE */
    long mask;   /* the socket's selected events */
};

struct floe_io_win_wait {
    HANDLE flag_ev; /* set by changed and wake */
    volatile LONG changed, woken;
    struct wait_src src[FLOE_IO_WIN_WAIT_MAX];
    size_t n;
};

int floe_io_win_wait_new(struct floe_io_win_wait **out)
{
    struct floe_io_win_wait *w;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    if (floe__win_init() != 0)
        return FLOE_ERR_IO;
    w = calloc(1, sizeof(*w));
    if (!w)
        return FLOE_ERR_NOMEM;
    w->flag_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!w->flag_ev) {
        free(w);
        return FLOE_ERR_IO;
    }
    *out = w;
    return 0;
}

/* Forget source i: a socket's selection cleared and its event closed. */
static void wait_drop(struct floe_io_win_wait *w, size_t i)
{
    struct wait_src *s = &w->src[i];

    if (s->sock != INVALID_SOCKET) {
        (void)WSAEventSelect(s->sock, NULL, 0);
        WSACloseEvent(s->ev);
    }
    w->src[i] = w->src[--w->n];
}

void floe_io_win_wait_free(struct floe_io_win_wait *w)
{
    if (!w)
        return;
    while (w->n)
        wait_drop(w, w->n - 1);
    CloseHandle(w->flag_ev);
    free(w);
}

static struct wait_src *wait_find(struct floe_io_win_wait *w, uint32_t tag)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->src[i].tag == tag)
            return &w->src[i];
    return NULL;
}

/* The source for tag: the one there, or a new one of the kind asked (NULL: full). */
static struct wait_src *wait_slot(struct floe_io_win_wait *w, uint32_t tag, bool *fresh)
{
    struct wait_src *s = wait_find(w, tag);

    *fresh = s == NULL;
    if (s || w->n == FLOE_IO_WIN_WAIT_MAX)
        return s;
    s = &w->src[w->n];
    memset(s, 0, sizeof(*s));
    s->tag = tag;
    s->sock = INVALID_SOCKET;
    return s;
}

static bool wait_tag_ok(uint32_t tag)
{
    return tag != FLOE_IO_WIN_WAIT_CHANGED && tag != FLOE_IO_WIN_WAIT_WOKEN;
}

int floe_io_win_wait_socket(struct floe_io_win_wait *w, int fd, uint32_t tag, bool out)
{
    long mask = FD_READ | FD_ACCEPT | FD_CLOSE | (out ? FD_WRITE | FD_CONNECT : 0);
    struct wait_src *s;
    bool fresh;

    if (!w || fd < 0 || !wait_tag_ok(tag))
        return FLOE_ERR_INVALID_ARG;
    s = wait_slot(w, tag, &fresh);
    if (!s)
        return FLOE_ERR_NOMEM;
    if (s->sock == INVALID_SOCKET) {
        if (!fresh)
            return FLOE_ERR_INVALID_ARG; /* a HANDLE source under that tag */
        s->ev = WSACreateEvent();
        if (s->ev == WSA_INVALID_EVENT)
            return FLOE_ERR_IO;
        s->sock = (SOCKET)fd;
        w->n++;
    } else if (s->sock != (SOCKET)fd) {
        (void)WSAEventSelect(s->sock, NULL, 0); /* another socket under that tag now */
        WSAResetEvent(s->ev);
        s->sock = (SOCKET)fd;
    } else if (s->mask == mask) {
        return 0; /* selecting again would clear what was recorded (a finished connect) */
    }
    s->mask = mask;
    if (WSAEventSelect(s->sock, s->ev, mask) != 0) {
        wait_drop(w, (size_t)(s - w->src));
        return FLOE_ERR_IO;
    }
    return 0;
}

int floe_io_win_wait_handle(struct floe_io_win_wait *w, intptr_t h, uint32_t tag)
{
    struct wait_src *s;
    bool fresh;

    if (!w || !h || !wait_tag_ok(tag))
        return FLOE_ERR_INVALID_ARG;
    s = wait_slot(w, tag, &fresh);
    if (!s)
        return FLOE_ERR_NOMEM;
    if (s->sock != INVALID_SOCKET)
        return FLOE_ERR_INVALID_ARG;
    s->ev = (HANDLE)h;
    if (fresh)
        w->n++;
    return 0;
}

int floe_io_win_wait_remove(struct floe_io_win_wait *w, uint32_t tag)
{
    struct wait_src *s = w ? wait_find(w, tag) : NULL;

    if (!s)
        return FLOE_ERR_NOT_FOUND;
    wait_drop(w, (size_t)(s - w->src));
    return 0;
}

void floe_io_win_wait_changed(void *arg)
{
    struct floe_io_win_wait *w = arg;

    InterlockedExchange(&w->changed, 1);
    SetEvent(w->flag_ev);
}

void floe_io_win_wait_wake(struct floe_io_win_wait *w)
{
    InterlockedExchange(&w->woken, 1);
    SetEvent(w->flag_ev);
}

/* The wait's timeout in milliseconds for deadline, rounded up: a timer never fires early. */
static DWORD wait_ms(floe_time deadline)
{
    floe_time now = floe_io_now(), ms;

    if (deadline == FLOE_TIME_NEVER)
        return INFINITE;
    if (deadline <= now)
        return 0;
    ms = (deadline - now + 999999u) / 1000000u;
    return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

/* Whether source s is ready now; what it is ready for into *r. */
static bool wait_check(struct wait_src *s, struct floe_io_win_ready *r)
{
    WSANETWORKEVENTS ne;
    long ev;

    memset(r, 0, sizeof(*r));
    r->tag = s->tag;
    if (WaitForSingleObject(s->ev, 0) != WAIT_OBJECT_0)
        return false;
    if (s->sock == INVALID_SOCKET) {
        r->readable = true;
        return true;
    }
    if (WSAEnumNetworkEvents(s->sock, s->ev, &ne) != 0)
        return false;
    ev = ne.lNetworkEvents;
    r->readable = (ev & (FD_READ | FD_ACCEPT | FD_CLOSE)) != 0;
    r->writable = (ev & (FD_WRITE | FD_CONNECT)) != 0;
    if (ev & FD_CONNECT)
        r->error = ne.iErrorCode[FD_CONNECT_BIT];
    if (!r->error && (ev & FD_CLOSE))
        r->error = ne.iErrorCode[FD_CLOSE_BIT];
    return r->readable || r->writable;
}

/* Report a raised flag (cleared) as tag. */
static void wait_flag(volatile LONG *flag, uint32_t tag, struct floe_io_win_ready *ready,
                      size_t cap, size_t *n)
{
    if (*n < cap && InterlockedExchange(flag, 0))
        ready[(*n)++] = (struct floe_io_win_ready){.tag = tag, .readable = true};
}

int floe_io_win_wait_run(struct floe_io_win_wait *w, floe_time deadline,
                         struct floe_io_win_ready *ready, size_t cap)
{
    HANDLE hs[FLOE_IO_WIN_WAIT_MAX + 1];
    DWORD rc;
    size_t n = 0;

    if (!w || !ready || cap == 0)
        return FLOE_ERR_INVALID_ARG;
    hs[0] = w->flag_ev;
    for (size_t i = 0; i < w->n; i++)
        hs[i + 1] = w->src[i].ev;
    rc = WaitForMultipleObjects((DWORD)w->n + 1, hs, FALSE, wait_ms(deadline));
    if (rc == WAIT_FAILED)
        return FLOE_ERR_IO;
    if (rc == WAIT_TIMEOUT)
        return 0;
    wait_flag(&w->changed, FLOE_IO_WIN_WAIT_CHANGED, ready, cap, &n);
    wait_flag(&w->woken, FLOE_IO_WIN_WAIT_WOKEN, ready, cap, &n);
    for (size_t i = 0; i < w->n && n < cap; i++)
        if (wait_check(&w->src[i], &ready[n]))
            n++;
    return (int)n;
}
