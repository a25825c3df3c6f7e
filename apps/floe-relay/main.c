/* floe-relay: a TURN relay daemon. See relayd.h for the threading model. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "relayd.h"

static void relayd_log_start(struct relayd *d)
{
    char relay[FLOE_ADDR_STRLEN] = "", listen[FLOE_ADDR_STRLEN] = "";
    struct floe_log_field f[6];

    (void)floe_addr_format(&d->opts.listen[0], listen, sizeof(listen));
    if (d->opts.relay_ip.family)
        (void)floe_addr_format_ip(&d->opts.relay_ip, relay, sizeof(relay));
    f[0] = (struct floe_log_field)FLOE_LF_S("listen", listen);
    f[1] = (struct floe_log_field)FLOE_LF_S("relay_ip", relay);
    f[2] = (struct floe_log_field)FLOE_LF_U("threads", d->n_workers);
    f[3] = (struct floe_log_field)FLOE_LF_U("port_min", d->opts.port_min);
    f[4] = (struct floe_log_field)FLOE_LF_U("port_max", d->opts.port_max);
    f[5] =
        (struct floe_log_field)FLOE_LF_S("io", d->opts.io == RELAYD_IO_URING ? "uring" : "epoll");
    floe_jsonlog_write(&d->log, FLOE_LOG_INFO, "relay", "floe-relay started", f, 6);
}

static int relayd_start_workers(struct relayd *d)
{
    bool automatic = d->opts.io == RELAYD_IO_AUTO;
    unsigned i;
    int rc;

    rc = relayd_resolve_io(&d->opts);
    if (rc < 0) {
        fprintf(stderr, "floe-relay: --io uring: io_uring unavailable: %s\n",
                rc == FLOE_ERR_IO ? strerror(errno) : floe_strerror(rc));
        return rc;
    }
    if (automatic && d->opts.io == RELAYD_IO_EPOLL)
        floe_jsonlog_info(&d->log, "relay", "io_uring unavailable, using epoll");
    if (relayd_add_host_addresses(&d->opts) < 0) /* the peer policy still has the rest */
        floe_jsonlog_write(&d->log, FLOE_LOG_WARN, "relay",
                           "cannot list the host's addresses for the peer policy", NULL, 0);
    d->n_workers = d->opts.threads;
    rc = relayd_resv_init(&d->resv, &d->log, &d->opts, d->n_workers);
    if (rc < 0) {
        fprintf(stderr, "floe-relay: cannot make the reservation registry: %s\n",
                floe_strerror(rc));
        return rc;
    }
    for (i = 0; i < d->n_workers; i++) {
        rc = relayd_worker_new(d, i, &d->workers[i]);
        if (rc < 0) {
            char a[FLOE_ADDR_STRLEN];

            (void)floe_addr_format(&d->opts.listen[0], a, sizeof(a));
            fprintf(stderr, "floe-relay: cannot start worker %u (listen %s): %s\n", i, a,
                    rc == FLOE_ERR_IO ? strerror(errno) : floe_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Wait for signals: SIGHUP reopens the log, SIGTERM/SIGINT stop. */
static void relayd_signals(struct relayd *d, const sigset_t *set)
{
    int sig;

    while (sigwait(set, &sig) == 0) {
        if (sig == SIGHUP) {
            if (floe_jsonlog_reopen(&d->log) < 0)
                fprintf(stderr, "floe-relay: cannot reopen log file: %s\n", strerror(errno));
            floe_jsonlog_info(&d->log, "relay", "log file reopened");
            continue;
        }
        floe_jsonlog_info(&d->log, "relay", "stopping on signal %d", sig);
        return;
    }
}

static int relayd_run(struct relayd *d, const sigset_t *set)
{
    pthread_t threads[RELAYD_MAX_THREADS], metrics;
    unsigned i, started = 0;
    bool have_metrics = false;

    if (d->opts.have_metrics) {
        if (relayd_metrics_open(d) < 0) {
            fprintf(stderr, "floe-relay: cannot serve metrics: %s\n", strerror(errno));
            return 1;
        }
        have_metrics = pthread_create(&metrics, NULL, relayd_metrics_run, d) == 0;
    }
    for (i = 0; i < d->n_workers; i++) {
        if (pthread_create(&threads[i], NULL, relayd_worker_run, d->workers[i]) == 0)
            started++;
    }
    relayd_log_start(d);
    (void)relayd_warn_ephemeral(&d->log, &d->opts, RELAYD_LOCAL_RANGE_PATH);
    if (started == d->n_workers)
        relayd_signals(d, set);
    atomic_store(&d->stop, true);
    for (i = 0; i < started; i++) {
        relayd_worker_wake(d->workers[i]);
        pthread_join(threads[i], NULL);
    }
    if (have_metrics)
        pthread_join(metrics, NULL);
    floe_jsonlog_info(&d->log, "relay", "floe-relay stopped");
    return started == d->n_workers ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct relayd d;
    char err[256];
    sigset_t set;
    unsigned i;
    int rc;

    rc = relayd_parse_args(argc, argv, &d.opts, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "floe-relay: %s (see floe-relay --help)\n", err);
        return rc < 0 ? 2 : 0;
    }
    if (floe_jsonlog_open(&d.log, d.opts.log_file, d.opts.log_level) < 0) {
        fprintf(stderr, "floe-relay: cannot open log file %s: %s\n", d.opts.log_file,
                strerror(errno));
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&d.stats_lock, NULL);
    rc = relayd_start_workers(&d) < 0 ? 1 : relayd_run(&d, &set);
    for (i = 0; i < d.n_workers; i++)
        relayd_worker_free(d.workers[i]);
    relayd_resv_deinit(&d.resv); /* after the cores that call it */
    floe_jsonlog_close(&d.log);
    return rc;
}
