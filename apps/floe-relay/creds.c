/*
 * floe-relay's credentials off the command line: the REST secret from --auth-secret-file
 * or FLOE_RELAY_AUTH_SECRET, static users from --users-file, re-read on SIGHUP and handed
 * to every worker's core (which keeps accepting the previous secret for --secret-grace).
 * Secrets given on the command line or in the environment are wiped from the process's
 * argv and environment once copied, so ps and /proc show none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relayd.h"

/* Trailing spaces, tabs, CR and LF off s. */
static void creds_rstrip(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

int relayd_read_secret_file(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    FILE *f = fopen(path, "re");
    size_t n;
    int c;

    if (!f) {
        snprintf(err, errcap, "cannot read --auth-secret-file %s: %s", path, strerror(errno));
        return FLOE_ERR_IO;
    }
    n = fread(out, 1, cap - 1, f);
    c = fgetc(f);
    fclose(f);
    out[n] = '\0';
    if (c != EOF || memchr(out, '\0', n)) { /* longer than cap, or a NUL inside: never cut */
        floe_wipe(out, cap);
        snprintf(err, errcap, "--auth-secret-file %s: longer than %zu bytes or binary", path,
                 cap - 1);
        return FLOE_ERR_INVALID_ARG;
    }
    creds_rstrip(out);
    if (!*out) {
        snprintf(err, errcap, "--auth-secret-file %s: empty", path);
        return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}

/* One "NAME:PASSWORD" line into c's next user. 0, or FLOE_ERR_INVALID_ARG. */
static int creds_user_line(struct relayd_creds *c, const char *line)
{
    char *slot, *colon;

    if (c->n_users >= FLOE_RELAY_MAX_USERS || strlen(line) >= sizeof(c->user_buf[0]))
        return FLOE_ERR_INVALID_ARG;
    slot = c->user_buf[c->n_users];
    strcpy(slot, line);
    colon = strchr(slot, ':');
    if (!colon || colon == slot || !colon[1])
        return FLOE_ERR_INVALID_ARG;
    *colon = '\0';
    c->users[c->n_users].name = slot;
    c->users[c->n_users].password = colon + 1;
    c->n_users++;
    return 0;
}

int relayd_read_users_file(const char *path, struct relayd_creds *c, char *err, size_t errcap)
{
    FILE *f = fopen(path, "re");
    char line[512];
    unsigned no = 0;

    if (!f) {
        snprintf(err, errcap, "cannot read --users-file %s: %s", path, strerror(errno));
        return FLOE_ERR_IO;
    }
    while (fgets(line, sizeof(line), f)) {
        no++;
        creds_rstrip(line);
        if (!line[0] || line[0] == '#')
            continue;
        if (creds_user_line(c, line) < 0) {
            fclose(f);
            floe_wipe(line, sizeof(line));
            snprintf(err, errcap, "--users-file %s line %u: not NAME:PASSWORD (or over %d users)",
                     path, no, FLOE_RELAY_MAX_USERS);
            return FLOE_ERR_INVALID_ARG;
        }
    }
    fclose(f);
    floe_wipe(line, sizeof(line));
    return 0;
}

int relayd_creds_load(const struct relayd_opts *o, struct relayd_creds *c, char *err, size_t cap)
{
    size_t i;
    int rc;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < o->n_cli_users; i++) {
        char line[sizeof(c->user_buf[0])];

        snprintf(line, sizeof(line), "%s:%s", o->core.users[i].name, o->core.users[i].password);
        rc = creds_user_line(c, line);
        floe_wipe(line, sizeof(line));
        if (rc < 0)
            return rc;
    }
    if (o->users_file) {
        rc = relayd_read_users_file(o->users_file, c, err, cap);
        if (rc < 0)
            return rc;
    }
    if (o->secret_file) {
        rc = relayd_read_secret_file(o->secret_file, c->secret, sizeof(c->secret), err, cap);
        if (rc < 0)
            return rc;
        c->has_secret = true;
    } else if (o->core.auth_secret) {
        snprintf(c->secret, sizeof(c->secret), "%s", o->core.auth_secret);
        c->has_secret = true;
    }
    if (!c->has_secret && !c->n_users) {
        snprintf(err, cap, "no credentials left: no secret and no user");
        return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}

int relayd_reload(struct relayd *d, char *err, size_t cap)
{
    struct relayd_creds *fresh = malloc(sizeof(*fresh));
    unsigned i;
    int rc;

    if (!fresh) {
        snprintf(err, cap, "out of memory");
        return FLOE_ERR_NOMEM;
    }
    rc = relayd_creds_load(&d->opts, fresh, err, cap);
    if (rc == 0) {
        pthread_mutex_lock(&d->creds_lock);
        d->creds = *fresh;
        /* the copy's pointers must point into d->creds, not into fresh */
        for (i = 0; i < d->creds.n_users; i++) {
            d->creds.users[i].name = d->creds.user_buf[i];
            d->creds.users[i].password =
                d->creds.user_buf[i] + (fresh->users[i].password - fresh->user_buf[i]);
        }
        atomic_fetch_add(&d->creds_gen, 1);
        pthread_mutex_unlock(&d->creds_lock);
        for (i = 0; i < d->n_started; i++)
            relayd_worker_wake(d->workers[i]);
    }
    floe_wipe(fresh, sizeof(*fresh));
    free(fresh);
    return rc;
}

/* Overwrite s in place (the memory ps and /proc/PID/cmdline or environ show). */
static void creds_blank(char *s)
{
    size_t n = strlen(s);

    memset(s, 'x', n);
}

void relayd_scrub_argv(int argc, char **argv)
{
    char *env = getenv(RELAYD_SECRET_ENV);
    int i;

    for (i = 1; i < argc; i++) {
        char *v = NULL, *colon;

        if (strcmp(argv[i], "--auth-secret") == 0 || strcmp(argv[i], "--user") == 0)
            v = i + 1 < argc ? argv[i + 1] : NULL;
        else if (strncmp(argv[i], "--auth-secret=", 14) == 0 || strncmp(argv[i], "--user=", 7) == 0)
            v = strchr(argv[i], '=') + 1;
        if (!v)
            continue;
        colon = strncmp(argv[i], "--user", 6) == 0 ? strchr(v, ':') : NULL;
        creds_blank(colon ? colon + 1 : v);
    }
    if (env) {
        creds_blank(env);
        unsetenv(RELAYD_SECRET_ENV);
    }
}
