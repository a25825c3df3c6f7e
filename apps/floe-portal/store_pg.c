/* The PostgreSQL engine (libpq): statements with text parameters, LISTEN/NOTIFY. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static PGconn *pg_conn(const struct floe_store *s)
{
    return (PGconn *)s->db;
}

/* The floe error of a failed statement, from its SQLSTATE. */
static int pg_error(struct floe_store *s, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = FLOE_ERR_IO;
    char *nl;

    if (state && strcmp(state, "23505") == 0)
        code = FLOE_ERR_STATE; /* unique_violation */
    else if (state && strcmp(state, "23503") == 0)
        code = FLOE_ERR_NOT_FOUND; /* foreign_key_violation */
    else if (state && (strcmp(state, "23514") == 0 || strncmp(state, "22", 2) == 0))
        code = FLOE_ERR_INVALID_ARG; /* check_violation, data exceptions */
    floe__store_fail(s, code, "postgresql: %s", PQerrorMessage(pg_conn(s)));
    nl = strchr(s->err, '\n');
    if (nl)
        *nl = 0;
    return code;
}

static char *pg_dup(const char *t)
{
    return t ? strdup(t) : NULL;
}

static int pg_rows(PGresult *r, struct store_res *res)
{
    size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r), i, j;

    res->names = calloc(cols ? cols : 1, sizeof(char *));
    res->cells = calloc(rows * cols > 0 ? rows * cols : 1, sizeof(char *));
    if (!res->names || !res->cells)
        return FLOE_ERR_NOMEM;
    res->cols = cols;
    res->rows = rows;
    for (j = 0; j < cols; j++)
        res->names[j] = pg_dup(PQfname(r, (int)j));
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            if (!PQgetisnull(r, (int)i, (int)j))
                res->cells[i * cols + j] = pg_dup(PQgetvalue(r, (int)i, (int)j));
    return 0;
}

static int pg_listen(struct floe_store *s, const char *channel);

/* The connection was lost: make it again and listen again on the store's channels. */
static int pg_reconnect(struct floe_store *s)
{
    size_t i;
    int rc;

    PQreset(pg_conn(s));
    if (PQstatus(pg_conn(s)) != CONNECTION_OK)
        return pg_error(s, NULL);
    s->reconnects++;
    for (i = 0; i < s->n_listening; i++) {
        rc = pg_listen(s, s->listening[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool pg_ok(PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/*
 * Run sql; on a lost connection make it again and, outside a transaction, run sql once more
 * (a transaction in progress is gone with the connection: IO).
 */
static PGresult *pg_run(struct floe_store *s, const char *sql, const char *const *params, int n,
                        int *rc)
{
    PGresult *r = PQexecParams(pg_conn(s), sql, n, NULL, params, NULL, NULL, 0);
    bool in_txn = s->in_txn;

    *rc = 0;
    if (pg_ok(r) || PQstatus(pg_conn(s)) != CONNECTION_BAD)
        return r;
    PQclear(r);
    *rc = pg_reconnect(s);
    if (*rc == 0 && in_txn)
        *rc = floe__store_fail(s, FLOE_ERR_IO, "postgresql: connection lost in a transaction");
    return *rc < 0 ? NULL : PQexecParams(pg_conn(s), sql, n, NULL, params, NULL, NULL, 0);
}

static int pg_exec(struct floe_store *s, const char *sql, const char *const *params, int n,
                   struct store_res *res)
{
    int rc;
    PGresult *r = pg_run(s, sql, params, n, &rc);

    if (rc < 0)
        return rc;
    if (!pg_ok(r))
        rc = pg_error(s, r);
    else if (res && PQresultStatus(r) == PGRES_TUPLES_OK)
        rc = pg_rows(r, res);
    PQclear(r);
    if (rc < 0 && res)
        floe__store_res_free(res);
    return rc == FLOE_ERR_NOMEM ? floe__store_fail(s, rc, "out of memory") : rc;
}

static int pg_script(struct floe_store *s, const char *sql)
{
    PGresult *r = PQexec(pg_conn(s), sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : pg_error(s, r);

    PQclear(r);
    return rc;
}

static int pg_listen(struct floe_store *s, const char *channel)
{
    char sql[FLOE_STORE_CHANNEL_MAX + 16];

    snprintf(sql, sizeof(sql), "LISTEN \"%s\"", channel); /* channel checked by the caller */
    return pg_script(s, sql);
}

static int pg_notify(struct floe_store *s, const char *channel, const char *payload)
{
    const char *p[2] = {channel, payload};

    return floe__store_exec(s, "SELECT pg_notify($1, $2)", p, 2, NULL);
}

static int pg_poll(struct floe_store *s, struct floe_store_notification *out)
{
    PGnotify *n;

    if (!PQconsumeInput(pg_conn(s)))
        return PQstatus(pg_conn(s)) == CONNECTION_BAD ? pg_reconnect(s) : pg_error(s, NULL);
    n = PQnotifies(pg_conn(s));
    if (!n)
        return 0;
    snprintf(out->channel, sizeof(out->channel), "%s", n->relname);
    snprintf(out->payload, sizeof(out->payload), "%s", n->extra ? n->extra : "");
    PQfreemem(n);
    return 1;
}

static int pg_fd(const struct floe_store *s)
{
    return PQsocket(pg_conn(s));
}

static void pg_close(struct floe_store *s)
{
    PQfinish(pg_conn(s));
    s->db = NULL;
}

const struct store_ops floe__store_pg_ops = {
    .exec = pg_exec,
    .script = pg_script,
    .listen = pg_listen,
    .notify = pg_notify,
    .poll = pg_poll,
    .fd = pg_fd,
    .close = pg_close,
    .begin_sql = "BEGIN",
    .id_column = "BIGSERIAL PRIMARY KEY",
};

/* Notices (IF NOT EXISTS skipped, ...) are not errors: keep them off stderr. */
static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int floe__store_pg_open(struct floe_store *s, const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);

    if (!c)
        return floe__store_fail(s, FLOE_ERR_NOMEM, "postgresql: out of memory");
    s->db = c;
    if (PQstatus(c) != CONNECTION_OK)
        return pg_error(s, NULL);
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    return 0;
}
