/*
 * Starting and stopping a whole floe-relay in one process: the shared registries, the
 * workers and their threads. main.c adds arguments, signals and the metrics loop; the
 * tests start a daemon the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relayd.h"

static int daemon_fail(const char *what, int rc)
{
    fprintf(stderr, "floe-relay: %s: %s\n", what,
            rc == FLOE_ERR_IO ? strerror(errno) : floe_strerror(rc));
    return rc;
}

/* The registries and the workers (sockets bound, cores made), no thread yet. */
static int daemon_make(struct relayd *d)
{
    bool automatic = d->opts.io == RELAYD_IO_AUTO;
    unsigned i;
    int rc;

    rc = relayd_resolve_io(&d->opts);
    if (rc < 0)
        return daemon_fail("--io uring: io_uring unavailable", rc);
    if (automatic && d->opts.io == RELAYD_IO_EPOLL)
        floe_jsonlog_info(&d->log, "relay", "io_uring unavailable, using epoll");
    if (relayd_add_host_addresses(&d->opts) < 0) /* the peer policy still has the rest */
        floe_jsonlog_write(&d->log, FLOE_LOG_WARN, "relay",
                           "cannot list the host's addresses for the peer policy", NULL, 0);
    d->n_workers = d->opts.threads;
    rc = relayd_quota_init(&d->quota);
    if (rc < 0)
        return daemon_fail("cannot make the quota counters", rc);
    rc = relayd_resv_init(&d->resv, &d->log, &d->opts, d->n_workers);
    if (rc < 0)
        return daemon_fail("cannot make the reservation registry", rc);
    for (i = 0; i < d->n_workers; i++) {
        rc = relayd_worker_new(d, i, &d->workers[i]);
        if (rc < 0) {
            char a[FLOE_ADDR_STRLEN], what[96];

            (void)floe_addr_format(&d->opts.listen[0], a, sizeof(a));
            snprintf(what, sizeof(what), "cannot start worker %u (listen %s)", i, a);
            return daemon_fail(what, rc);
        }
    }
    return 0;
}

int relayd_start(struct relayd *d)
{
    unsigned i;
    int rc;

    pthread_mutex_init(&d->stats_lock, NULL);
    pthread_mutex_init(&d->creds_lock, NULL);
    rc = daemon_make(d);
    for (i = 0; rc == 0 && i < d->n_workers; i++) {
        if (pthread_create(&d->threads[i], NULL, relayd_worker_run, d->workers[i]) != 0)
            rc = daemon_fail("cannot start a worker thread", FLOE_ERR_NOMEM);
        else
            d->n_started++;
    }
    return rc;
}

void relayd_stop(struct relayd *d)
{
    unsigned i;

    atomic_store(&d->stop, true);
    for (i = 0; i < d->n_started; i++) {
        relayd_worker_wake(d->workers[i]);
        pthread_join(d->threads[i], NULL);
    }
    d->n_started = 0;
    for (i = 0; i < d->n_workers; i++) {
        relayd_worker_free(d->workers[i]);
        d->workers[i] = NULL;
    }
    relayd_resv_deinit(&d->resv); /* after the cores that call it */
    relayd_quota_deinit(&d->quota);
    pthread_mutex_destroy(&d->stats_lock);
    pthread_mutex_destroy(&d->creds_lock);
    floe_wipe(&d->creds, sizeof(d->creds));
}
