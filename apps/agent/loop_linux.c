/*
 * The agent's event loop on Linux: one epoll over the TUN, the UDP sockets, the portal's TCP
 * socket, a timerfd (CLOCK_BOOTTIME, armed at the earliest deadline), a signalfd (SIGTERM,
 * SIGINT, SIGHUP), the rtnetlink watcher and the status socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_int.h"

enum loop_tag {
    TAG_TUN = 1,
    TAG_UDP4,
    TAG_UDP6,
    TAG_PORTAL,
    TAG_TIMER,
    TAG_SIGNAL,
    TAG_NET,
    TAG_CTL
};

struct agent_loop {
    int ep, timer, sig, ctl;
    struct floe_io_netwatch *watch;
    floe_time armed;
    sigset_t mask, old_mask;
    bool blocked;
};

static int loop_add(struct agent_loop *l, int fd, uint32_t tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = tag};

    return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : FLOE_ERR_IO;
}

static int loop_ctl_open(struct floe_agent *a, struct agent_loop *l)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const char *path = a->cfg.control_path;

    if (!path || !*path)
        return 0;
    if (strlen(path) >= sizeof(sun.sun_path))
        return FLOE_ERR_INVALID_ARG;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    l->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    (void)unlink(path);
    if (l->ctl < 0 || bind(l->ctl, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        chmod(path, 0660) != 0 || listen(l->ctl, 8) != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "status socket %s: %s", path, strerror(errno));
        return FLOE_ERR_IO;
    }
    return loop_add(l, l->ctl, TAG_CTL, EPOLLIN);
}

/* Block the signals the loop reads from its signalfd, in every thread made after this. */
static int loop_block_signals(struct agent_loop *l)
{
    sigemptyset(&l->mask);
    sigaddset(&l->mask, SIGTERM);
    sigaddset(&l->mask, SIGINT);
    sigaddset(&l->mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &l->mask, &l->old_mask) != 0)
        return FLOE_ERR_IO;
    l->blocked = true;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int loop_signals(struct agent_loop *l)
{
    l->sig = signalfd(-1, &l->mask, SFD_NONBLOCK | SFD_CLOEXEC);
    return l->sig < 0 ? FLOE_ERR_IO : loop_add(l, l->sig, TAG_SIGNAL, EPOLLIN);
}

static int loop_open(struct floe_agent *a, struct agent_loop *l)
{
    int rc;

    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->timer = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->ep < 0 || l->timer < 0)
        return FLOE_ERR_IO;
    if ((rc = loop_add(l, l->timer, TAG_TIMER, EPOLLIN)) != 0 ||
        (rc = loop_add(l, (int)floe_io_tun_wait_handle(a->tun), TAG_TUN, EPOLLIN)) != 0 ||
        (rc = loop_signals(l)) != 0 || (rc = loop_ctl_open(a, l)) != 0)
        return rc;
    if (floe_io_netwatch_open(&l->watch, floe_io_tun_ifindex(a->tun)) == 0)
        rc = loop_add(l, floe_io_netwatch_fd(l->watch), TAG_NET, EPOLLIN);
    else
        floe__agent_log(a, FLOE_LOG_WARN, "no network watcher: roaming needs SIGHUP");
    return rc;
}

int floe__agent_loop_new(struct floe_agent *a)
{
    struct agent_loop *l = calloc(1, sizeof(*l));

    if (!l)
        return FLOE_ERR_NOMEM;
    l->ep = l->timer = l->sig = l->ctl = -1;
    a->loop = l;
    return loop_block_signals(l);
}

int floe__agent_loop_open(struct floe_agent *a)
{
    int rc = loop_open(a, a->loop);

    if (rc != 0)
        floe__agent_log(a, FLOE_LOG_ERROR, "event loop: %s", floe_strerror(rc));
    return rc;
}

void floe__agent_loop_free(struct floe_agent *a)
{
    struct agent_loop *l = a->loop;

    if (!l)
        return;
    floe_io_netwatch_free(l->watch);
    floe_io_close(l->timer);
    floe_io_close(l->sig);
    floe_io_close(l->ep);
    if (l->ctl >= 0) {
        close(l->ctl);
        (void)unlink(a->cfg.control_path);
    }
    if (l->blocked)
        sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
    free(l);
    a->loop = NULL;
}

void floe__agent_loop_portal_fd(struct floe_agent *a, int fd, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.u32 = TAG_PORTAL};

    if (epoll_ctl(a->loop->ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        (void)epoll_ctl(a->loop->ep, EPOLL_CTL_ADD, fd, &ev);
}

void floe__agent_loop_portal_fd_del(struct floe_agent *a, int fd)
{
    (void)epoll_ctl(a->loop->ep, EPOLL_CTL_DEL, fd, NULL);
}

/* Answer one status request: read its line (briefly), write the JSON, close. */
static void loop_ctl_accept(struct floe_agent *a)
{
    static char buf[262144];
    int fd = accept4(a->loop->ctl, NULL, NULL, SOCK_CLOEXEC);
    struct pollfd p;
    long n;

    if (fd < 0)
        return;
    p = (struct pollfd){.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) == 1 && read(fd, buf, 64) > 0) {
        n = floe__agent_status(a, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n++] = '\n';
            for (long off = 0, w; off < n; off += w)
                if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0)
                    break;
        }
    }
    close(fd);
}

static void loop_signal(struct floe_agent *a, floe_time now)
{
    struct signalfd_siginfo si;

    while (read(a->loop->sig, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            (void)floe_jsonlog_reopen(a->log);
            floe__agent_log(a, FLOE_LOG_INFO, "SIGHUP: reset");
            floe__agent_reset(a, now);
        } else {
            floe__agent_log(a, FLOE_LOG_INFO, "signal %u: stopping", si.ssi_signo);
            floe_agent_stop(a, FLOE_AGENT_EXIT_OK);
        }
    }
}

static void loop_arm(struct floe_agent *a)
{
    struct agent_loop *l = a->loop;
    floe_time at = floe__agent_next_deadline(a);
    struct itimerspec its = {0};

    if (at == l->armed)
        return;
    l->armed = at;
    if (at != FLOE_TIME_NEVER) {
        at = at ? at : 1;
        its.it_value.tv_sec = (time_t)(at / 1000000000ull);
        its.it_value.tv_nsec = (long)(at % 1000000000ull);
    }
    (void)timerfd_settime(l->timer, TFD_TIMER_ABSTIME, &its, NULL);
}

static void loop_dispatch(struct floe_agent *a, const struct epoll_event *ev, floe_time now)
{
    uint64_t x;

    switch (ev->data.u32) {
    case TAG_TUN:
        floe__agent_tun_readable(a, now);
        break;
    case TAG_UDP4:
    case TAG_UDP6:
        floe__agent_udp_readable(a, ev->data.u32 == TAG_UDP4 ? AGENT_V4 : AGENT_V6, now);
        break;
    case TAG_PORTAL:
        floe__agent_portal_io(a, now, (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0);
        break;
    case TAG_TIMER:
        if (read(a->loop->timer, &x, sizeof(x)) < 0 && errno != EAGAIN)
            break;
        a->loop->armed = 0;
        break;
    case TAG_SIGNAL:
        loop_signal(a, now);
        break;
    case TAG_NET:
        if (floe_io_netwatch_read(a->loop->watch) == 1)
            floe__agent_net_changed(a, now);
        break;
    case TAG_CTL:
        loop_ctl_accept(a);
        break;
    }
}

int floe__agent_loop_run(struct floe_agent *a)
{
    struct epoll_event evs[16];

    for (int s = 0; s < 2; s++)
        if (a->udp[s] >= 0 && loop_add(a->loop, a->udp[s], s ? TAG_UDP6 : TAG_UDP4, EPOLLIN))
            return FLOE_AGENT_EXIT_FAILURE;
    floe__agent_timeout(a, floe_io_now());
    while (!a->stop) {
        int n;

        loop_arm(a);
        n = epoll_wait(a->loop->ep, evs, 16, -1);
        if (n < 0 && errno != EINTR)
            return FLOE_AGENT_EXIT_FAILURE;
        for (int i = 0; i < n; i++)
            loop_dispatch(a, &evs[i], floe_io_now());
        if (floe__agent_next_deadline(a) <= floe_io_now())
            floe__agent_timeout(a, floe_io_now());
    }
    return a->exit_code;
}
