/* floe-wg: a userspace WireGuard interface. See wgd.h for how it is put together. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "floe_io.h"
#include "wgd.h"

static int wgd_alloc_buffers(struct wgd *d)
{
    floe_iptrie_init(&d->aip, NULL);
    if (floe_io_receiver_init(&d->udp_rx, WGD_BATCH) != 0)
        return -1;
    if (floe_io_segq_init(&d->segq, WGD_SEGS) != 0 || floe_io_txq_init(&d->txq, WGD_TX_SLOTS) != 0)
        return -1;
    d->plain = malloc(FLOE_IO_TUN_HEADROOM + WGD_PKT_MAX);
    d->encap = calloc(WGD_SEGS, sizeof(*d->encap));
    d->decap = calloc(WGD_RX_ITEMS, sizeof(*d->decap));
    return d->plain && d->encap && d->decap ? 0 : -1;
}

/* The interface, its UAPI socket, the UDP socket, the netlink watch. Prints what failed. */
static int wgd_setup(struct wgd *d)
{
    int rc;

    if (wgd_alloc_buffers(d) != 0) {
        fputs("floe-wg: out of memory\n", stderr);
        return -1;
    }
    rc = wgd_tun_open(d);
    if (rc < 0) {
        fprintf(stderr, "floe-wg: cannot create TUN device %s: %s\n", d->opts.ifname,
                strerror(-rc));
        return -1;
    }
    d->uapi_fd = wgd_uapi_listen(d->opts.ifname);
    if (d->uapi_fd < 0) {
        fprintf(stderr, "floe-wg: cannot serve %s/%s.sock: %s\n", WGD_SOCK_DIR, d->opts.ifname,
                strerror(-d->uapi_fd));
        return -1;
    }
    if (wgd_udp_open(d, 0) != 0) {
        fprintf(stderr, "floe-wg: cannot open a UDP socket: %s\n", strerror(errno));
        return -1;
    }
    d->nl_fd = wgd_netlink_open();
    if (d->nl_fd < 0) {
        fprintf(stderr, "floe-wg: cannot open rtnetlink: %s\n", strerror(-d->nl_fd));
        return -1;
    }
    return 0;
}

/* Crypto lanes: --threads, or one per online CPU. */
static unsigned wgd_lanes(const struct wgd *d)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (d->opts.threads)
        return d->opts.threads;
    if (cpus < 1)
        return 1;
    return cpus > WGD_MAX_THREADS ? WGD_MAX_THREADS : (unsigned)cpus;
}

/*
 * The crypto workers, the epoll set, the timer and the signals, in the process that runs
 * the loop (threads do not survive the fork of wgd_detach).
 */
static int wgd_start_loop(struct wgd *d, const sigset_t *set)
{
    int rc = floe_io_pool_new(&d->pool, wgd_lanes(d));

    if (rc != 0) {
        floe_jsonlog_error(&d->log, "floe-wg", "cannot start crypto workers: %s", strerror(-rc));
        return -1;
    }
    d->ep_fd = epoll_create1(EPOLL_CLOEXEC);
    d->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    d->sig_fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->ep_fd < 0 || d->timer_fd < 0 || d->sig_fd < 0)
        return -1;
    if (wgd_epoll_add(d, (int)floe_io_tun_wait_handle(d->tun), WGD_TAG_TUN) ||
        wgd_epoll_add(d, d->udp_fd, WGD_TAG_UDP) || wgd_epoll_add(d, d->uapi_fd, WGD_TAG_UAPI) ||
        wgd_epoll_add(d, d->timer_fd, WGD_TAG_TIMER) ||
        wgd_epoll_add(d, d->nl_fd, WGD_TAG_NETLINK) || wgd_epoll_add(d, d->sig_fd, WGD_TAG_SIGNAL))
        return -1;
    return 0;
}

/* Detach: the parent exits 0 once everything exists; the child runs the loop. */
static int wgd_detach(void)
{
    pid_t pid = fork();
    int null;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0 || chdir("/") != 0)
        return -1;
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return -1;
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
    return 0;
}

static void wgd_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void wgd_teardown(struct wgd *d)
{
    unsigned i;

    for (i = 0; i < WGD_UAPI_MAX_CONNS; i++) {
        if (d->conns[i]) {
            close(d->conns[i]->fd);
            free(d->conns[i]);
        }
    }
    if (d->uapi_fd >= 0)
        wgd_uapi_unlink(d->opts.ifname);
    wgd_peers_clear(d);
    floe_iptrie_deinit(&d->aip);
    floe_wg_free(d->dev);
    floe_io_pool_free(d->pool);
    floe_wipe(d->priv, sizeof(d->priv));
    wgd_close_fd(&d->uapi_fd);
    floe_io_tun_free(d->tun); /* the last reference: the kernel deletes the interface */
    d->tun = NULL;
    wgd_close_fd(&d->udp_fd);
    wgd_close_fd(&d->nl_fd);
    wgd_close_fd(&d->ep_fd);
    wgd_close_fd(&d->timer_fd);
    wgd_close_fd(&d->sig_fd);
    floe_io_receiver_deinit(&d->udp_rx);
    floe_io_segq_deinit(&d->segq);
    floe_io_txq_deinit(&d->txq);
    free(d->plain);
    free(d->encap);
    free(d->decap);
}

int main(int argc, char **argv)
{
    static struct wgd d = {
        .udp_fd = -1, .uapi_fd = -1, .ep_fd = -1, .timer_fd = -1, .nl_fd = -1, .sig_fd = -1};
    char err[256];
    sigset_t set;
    int rc;

    rc = wgd_parse_args(argc, argv, &d.opts, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "floe-wg: %s (see floe-wg --help)\n", err);
        return rc < 0 ? 2 : 0;
    }
    if (floe_jsonlog_open(&d.log, d.opts.log_file, d.opts.log_level) < 0) {
        fprintf(stderr, "floe-wg: cannot open log file %s: %s\n", d.opts.log_file, strerror(errno));
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = 1;
    if (wgd_setup(&d) == 0 && (d.opts.foreground || wgd_detach() == 0) &&
        wgd_start_loop(&d, &set) == 0) {
        floe_jsonlog_info(
            &d.log, "floe-wg", "interface %s up, UDP port %u, offloads %s, %u crypto lanes",
            d.opts.ifname, d.listen_port, d.tun && floe_io_tun_has_offload(d.tun) ? "on" : "off",
            floe_io_pool_lanes(d.pool));
        rc = wgd_run(&d);
        wgd_stats_log(&d);
    }
    wgd_teardown(&d);
    floe_jsonlog_info(&d.log, "floe-wg", "interface %s removed", d.opts.ifname);
    floe_jsonlog_close(&d.log);
    return rc;
}
