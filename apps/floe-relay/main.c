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
    char external[FLOE_ADDR_STRLEN] = "";
    struct floe_log_field f[7];

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
    if (d->opts.core.external_v4.family)
        (void)floe_addr_format_ip(&d->opts.core.external_v4, external, sizeof(external));
    f[6] = (struct floe_log_field)FLOE_LF_S("external_ip", external);
    floe_jsonlog_write(&d->log, FLOE_LOG_INFO, "relay", "floe-relay started", f, 7);
}

/* SIGHUP: re-read the credential files, if any, and say how it went. */
static void relayd_reload_log(struct relayd *d)
{
    char err[256];

    if (!d->opts.secret_file && !d->opts.users_file)
        return;
    if (relayd_reload(d, err, sizeof(err)) < 0) {
        struct floe_log_field f = FLOE_LF_S("error", err);

        floe_jsonlog_write(&d->log, FLOE_LOG_ERROR, "relay",
                           "credentials not reloaded, the previous ones stay", &f, 1);
        return;
    }
    floe_jsonlog_info(&d->log, "relay", "credentials reloaded (previous secret accepted for %u s)",
                      d->opts.secret_grace);
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
            relayd_reload_log(d);
            continue;
        }
        floe_jsonlog_info(&d->log, "relay", "stopping on signal %d", sig);
        return;
    }
}

static int relayd_run(struct relayd *d, const sigset_t *set)
{
    pthread_t metrics;
    bool have_metrics = false;
    int rc = 0;

    if (d->opts.have_metrics) {
        if (relayd_metrics_open(d) < 0) {
            fprintf(stderr, "floe-relay: cannot serve metrics: %s\n", strerror(errno));
            return 1;
        }
    }
    if (relayd_start(d) == 0) {
        have_metrics =
            d->opts.have_metrics && pthread_create(&metrics, NULL, relayd_metrics_run, d) == 0;
        relayd_log_start(d);
        (void)relayd_warn_ephemeral(&d->log, &d->opts, RELAYD_LOCAL_RANGE_PATH);
        relayd_signals(d, set);
    } else {
        rc = 1;
    }
    atomic_store(&d->stop, true);
    if (have_metrics)
        pthread_join(metrics, NULL);
    relayd_stop(d);
    floe_jsonlog_info(&d->log, "relay", "floe-relay stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static struct relayd d;
    char err[256];
    sigset_t set;
    int rc;

    rc = relayd_parse_args(argc, argv, &d.opts, err, sizeof(err));
    relayd_scrub_argv(argc, argv); /* parsed copies stay; ps shows no secret */
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
    rc = relayd_run(&d, &set);
    floe_jsonlog_close(&d.log);
    return rc;
}
