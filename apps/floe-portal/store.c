/* The store's engine-independent part: opening by URL, statements, transactions, changes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "store_int.h"

int floe__store_fail(struct floe_store *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return code;
}

static int store_open_engine(struct floe_store *s, const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        s->engine = FLOE_STORE_SQLITE;
        s->ops = &floe__store_sqlite_ops;
        return floe__store_sqlite_open(s, url + 7);
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        s->engine = FLOE_STORE_POSTGRES;
        s->ops = &floe__store_pg_ops;
        return floe__store_pg_open(s, url);
    }
    return floe__store_fail(s, FLOE_ERR_INVALID_ARG,
                            "database URL must start with sqlite:, postgresql:// or postgres://");
}

int floe_store_open(const char *url, struct floe_store **out, char *err, size_t err_cap)
{
    struct floe_store *s = calloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    if (!s) {
        if (err && err_cap)
            snprintf(err, err_cap, "out of memory");
        return FLOE_ERR_NOMEM;
    }
    rc = store_open_engine(s, url ? url : FLOE_STORE_DEFAULT_URL);
    if (rc == 0)
        rc = floe__store_migrate(s);
    if (rc < 0) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s", s->err);
        floe_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void floe_store_close(struct floe_store *s)
{
    if (!s)
        return;
    if (s->ops && s->db)
        s->ops->close(s);
    free(s->queue);
    free(s);
}

enum floe_store_engine floe_store_engine_of(const struct floe_store *s)
{
    return s->engine;
}

const char *floe_store_errmsg(const struct floe_store *s)
{
    return s->err;
}

uint64_t floe_store_alloc_retries(const struct floe_store *s)
{
    return s->alloc_retries;
}

uint64_t floe_store_statements(const struct floe_store *s)
{
    return s->statements;
}

uint64_t floe_store_rows_read(const struct floe_store *s)
{
    return s->rows_read;
}

int floe__store_exec(struct floe_store *s, const char *sql, const char *const *params, int n,
                     struct store_res *res)
{
    int rc;

    s->statements++;
    if (res)
        memset(res, 0, sizeof(*res));
    rc = s->ops->exec(s, sql, params, n, res);
    if (rc == 0 && res)
        s->rows_read += res->rows;
    return rc;
}

int floe__store_exec_int(struct floe_store *s, const char *sql, const char *const *params, int n,
                         int64_t *out)
{
    struct store_res res;
    int rc = floe__store_exec(s, sql, params, n, &res);

    if (rc == 0 && res.rows == 0)
        rc = floe__store_fail(s, FLOE_ERR_NOT_FOUND, "no row");
    if (rc == 0)
        *out = floe__store_cell_int(&res, 0, 0);
    floe__store_res_free(&res);
    return rc;
}

void floe__store_res_free(struct store_res *res)
{
    size_t i;

    if (!res)
        return;
    for (i = 0; res->cells && i < res->rows * res->cols; i++)
        free(res->cells[i]);
    for (i = 0; res->names && i < res->cols; i++)
        free(res->names[i]);
    free(res->cells);
    free(res->names);
    memset(res, 0, sizeof(*res));
}

void *floe__store_rows_alloc(struct floe_store *s, struct store_res *res, size_t size, int *rc)
{
    void *p = res->rows ? calloc(res->rows, size) : NULL;

    *rc = 0;
    if (res->rows && !p) {
        floe__store_res_free(res);
        *rc = floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
    }
    return p;
}

const char *floe__store_cell(const struct store_res *res, size_t row, size_t col)
{
    if (row >= res->rows || col >= res->cols)
        return NULL;
    return res->cells[row * res->cols + col];
}

int64_t floe__store_cell_int(const struct store_res *res, size_t row, size_t col)
{
    const char *c = floe__store_cell(res, row, col);

    return c ? strtoll(c, NULL, 10) : 0;
}

const char *floe__store_int_text(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

void floe__store_copy(char *dst, size_t cap, const char *cell)
{
    snprintf(dst, cap, "%s", cell ? cell : "");
}

int floe__store_begin(struct floe_store *s)
{
    int rc = floe__store_exec(s, s->ops->begin_sql, NULL, 0, NULL);

    s->in_txn = rc == 0;
    return rc;
}

int floe__store_commit(struct floe_store *s)
{
    int rc = floe__store_exec(s, "COMMIT", NULL, 0, NULL);

    s->in_txn = false;
    return rc;
}

void floe__store_rollback(struct floe_store *s)
{
    char keep[STORE_ERR_MAX];

    memcpy(keep, s->err, sizeof(keep));
    s->in_txn = false;
    (void)floe__store_exec(s, "ROLLBACK", NULL, 0, NULL);
    memcpy(s->err, keep, sizeof(keep));
}

int floe__store_change(struct floe_store *s, const char *kind, const char *payload)
{
    char now[24], note[320];
    const char *p[3] = {kind, payload, floe__store_int_text(now, (int64_t)time(NULL))};
    int64_t id;
    int rc = 0;

    /*
     * Ids must become visible in their order, or a reader that saw id 11 before 10 committed
     * skips 10 for good: on PostgreSQL, writers of changes take turns until they commit
     * (SQLite's writers always do).
     */
    if (s->engine == FLOE_STORE_POSTGRES)
        rc = floe__store_exec(s, "SELECT pg_advisory_xact_lock(" STORE_CHANGES_LOCK ")", NULL, 0,
                              NULL);
    if (rc == 0)
        rc = floe__store_exec_int(
            s, "INSERT INTO changes(kind, payload, created_at) VALUES($1, $2, $3) RETURNING id", p,
            3, &id);
    if (rc < 0)
        return rc;
    snprintf(note, sizeof(note), "{\"id\":%lld,\"kind\":\"%s\"}", (long long)id, kind);
    return floe_store_notify(s, FLOE_STORE_CHANGES_CHANNEL, note);
}

bool floe__store_listens(const struct floe_store *s, const char *channel)
{
    size_t i;

    for (i = 0; i < s->n_listening; i++)
        if (strcmp(s->listening[i], channel) == 0)
            return true;
    return false;
}

void floe__store_queue(struct floe_store *s, const char *channel, const char *payload)
{
    struct floe_store_notification *n;

    if (!floe__store_listens(s, channel))
        return;
    if (!s->queue && !(s->queue = calloc(STORE_QUEUE_MAX, sizeof(*s->queue))))
        return;
    if (s->q_len == STORE_QUEUE_MAX) {
        s->q_head = (s->q_head + 1) % STORE_QUEUE_MAX;
        s->q_len--;
        s->q_dropped++;
    }
    n = &s->queue[(s->q_head + s->q_len) % STORE_QUEUE_MAX];
    snprintf(n->channel, sizeof(n->channel), "%s", channel);
    snprintf(n->payload, sizeof(n->payload), "%s", payload);
    s->q_len++;
}

int floe_store_listen(struct floe_store *s, const char *channel)
{
    int rc;

    if (!floe_model_channel_ok(channel))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad channel name");
    if (floe__store_listens(s, channel))
        return 0;
    if (s->n_listening == STORE_LISTEN_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "too many channels (at most %d)",
                                STORE_LISTEN_MAX);
    rc = s->ops->listen(s, channel);
    if (rc == 0)
        snprintf(s->listening[s->n_listening++], FLOE_STORE_CHANNEL_MAX, "%s", channel);
    return rc;
}

uint64_t floe_store_reconnects(const struct floe_store *s)
{
    return s->reconnects;
}

int floe_store_notify_fd(const struct floe_store *s)
{
    return s->ops->fd(s);
}

int floe_store_poll_notify(struct floe_store *s, struct floe_store_notification *out)
{
    return s->ops->poll(s, out);
}

int floe_store_notify(struct floe_store *s, const char *channel, const char *payload)
{
    if (!floe_model_channel_ok(channel) || !payload || strlen(payload) > FLOE_STORE_PAYLOAD_MAX)
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "bad channel name or payload");
    return s->ops->notify(s, channel, payload);
}
