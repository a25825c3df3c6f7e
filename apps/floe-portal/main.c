/*
 * floe-portal: the control plane. `floe-portal admin ...` manages the database (admin.h);
 * anything else serves Clients and Gateways (serve.h). Exit codes: portald.h's enum.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "admin.h"
#include "floe/crypto.h"
#include "serve.h"

/* The default instance id: the host name's [a-z0-9] and the pid. */
static void portald_default_instance(struct portald_opts *o)
{
    char host[64] = "portal";
    size_t n = 0;

    (void)gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    for (size_t i = 0; host[i] && n < 24; i++) {
        char ch = (char)tolower((unsigned char)host[i]);

        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            o->instance[n++] = ch;
    }
    snprintf(o->instance + n, sizeof(o->instance) - n, "_%ld", (long)getpid());
}

static int portald_open_store(struct portald *d)
{
    char err[256] = "", channel[FLOE_STORE_INSTANCE_MAX + 16];
    const char *url = d->opts.database;

    if (floe_store_open(url, &d->store, err, sizeof(err)) < 0) {
        fprintf(stderr, "floe-portal: cannot open the database %s: %s\n", url, err);
        return FLOE_ERR_IO;
    }
    snprintf(channel, sizeof(channel), PORTALD_NOTIFY_PREFIX "%s", d->opts.instance);
    if (floe_store_listen(d->store, FLOE_STORE_CHANGES_CHANNEL) < 0 ||
        floe_store_listen(d->store, channel) < 0 ||
        floe_store_changes_last(d->store, &d->last_change) < 0) {
        fprintf(stderr, "floe-portal: database: %s\n", floe_store_errmsg(d->store));
        return FLOE_ERR_IO;
    }
    return 0;
}

static int portald_setup(struct portald *d)
{
    uint8_t key[16];
    char err[256] = "";

    if (d->opts.tls_cert && floe_wsconn_tls_server_ctx(&d->tls, d->opts.tls_cert, d->opts.tls_key,
                                                       err, sizeof(err)) < 0) {
        fprintf(stderr, "floe-portal: TLS: %s\n", err);
        return FLOE_ERR_CRYPTO;
    }
    if (floe_crypto_random(key, sizeof(key)) < 0)
        return FLOE_ERR_CRYPTO;
    d->rng = floe_crypto_rng();
    portald_rate_init(&d->token_rate, d->opts.token_rate, d->opts.token_burst, floe_load_le64(key));
    portald_rate_init(&d->addr_rate, d->opts.addr_rate, d->opts.addr_burst,
                      floe_load_le64(key + 8));
    portald_relays_init(&d->relays, FLOE_MS(d->opts.relay_check_ms));
    if (portald_open_store(d) < 0)
        return FLOE_ERR_IO;
    if (portald_push_load_relays(d) < 0)
        portald_log(d, FLOE_LOG_WARN, "cannot read the relays: %s", floe_store_errmsg(d->store));
    return 0;
}

static void portald_log_start(struct portald *d)
{
    char listen[FLOE_ADDR_STRLEN] = "";
    struct floe_log_field f[5];

    (void)floe_addr_format(&d->opts.listen, listen, sizeof(listen));
    f[0] = (struct floe_log_field)FLOE_LF_S("listen", listen);
    f[1] = (struct floe_log_field)FLOE_LF_S("instance", d->opts.instance);
    f[2] = (struct floe_log_field)FLOE_LF_B("tls", d->tls != NULL);
    f[3] = (struct floe_log_field)FLOE_LF_S(
        "engine", floe_store_engine_of(d->store) == FLOE_STORE_POSTGRES ? "postgresql" : "sqlite");
    f[4] = (struct floe_log_field)FLOE_LF_U("relays", d->relays.n);
    floe_jsonlog_write(&d->log, FLOE_LOG_INFO, "portal", "floe-portal started", f, 5);
}

static int portald_main(int argc, char **argv)
{
    static struct portald d;
    char err[256];
    int rc = portald_parse_args(argc, argv, &d.opts, err, sizeof(err));

    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "floe-portal: %s (see floe-portal --help)\n", err);
        return rc < 0 ? PORTALD_EXIT_USAGE : PORTALD_EXIT_OK;
    }
    if (!d.opts.instance[0])
        portald_default_instance(&d.opts);
    if (floe_jsonlog_open(&d.log, d.opts.log_file, d.opts.log_level) < 0) {
        fprintf(stderr, "floe-portal: cannot open log file %s: %s\n", d.opts.log_file,
                strerror(errno));
        return PORTALD_EXIT_START;
    }
    rc = portald_setup(&d);
    if (rc == 0) {
        rc = portald_serve_start(&d);
        if (rc == 0) {
            portald_log_start(&d);
            rc = portald_serve(&d);
        }
    }
    if (rc == 0)
        portald_log(&d, FLOE_LOG_INFO, "floe-portal stopped");
    floe_store_close(d.store);
    SSL_CTX_free(d.tls);
    free(d.relay_rows);
    floe_jsonlog_close(&d.log);
    return rc == 0 ? PORTALD_EXIT_OK : PORTALD_EXIT_START;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "admin") == 0)
        return floe_admin_main(argc - 1, argv + 1, stdout, stderr);
    return portald_main(argc, argv);
}
