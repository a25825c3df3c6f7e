/* The SQLite engine: one file, foreign keys on, writers serialised by BEGIN IMMEDIATE. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define SQLITE_BUSY_MS 10000

static sqlite3 *sq_db(const struct floe_store *s)
{
    return (sqlite3 *)s->db;
}

static int sq_error(struct floe_store *s, int rc)
{
    int ext = sqlite3_extended_errcode(sq_db(s));
    int code = FLOE_ERR_IO;

    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = FLOE_ERR_STATE;
    else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        code = FLOE_ERR_NOT_FOUND;
    else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = FLOE_ERR_INVALID_ARG;
    return floe__store_fail(s, code, "sqlite: %s", sqlite3_errmsg(sq_db(s)));
}

/* Copy sql with $N parameters as ?N (outside quoted strings) into a new string. */
static char *sq_rewrite(const char *sql)
{
    char *out = malloc(strlen(sql) + 1), *w = out;
    char quote = 0;

    if (!out)
        return NULL;
    for (; *sql; sql++) {
        if (quote && *sql == quote)
            quote = 0;
        else if (!quote && (*sql == '\'' || *sql == '"'))
            quote = *sql;
        *w++ = (!quote && *sql == '$' && sql[1] >= '0' && sql[1] <= '9') ? '?' : *sql;
    }
    *w = 0;
    return out;
}

static char *sq_dup(const char *t)
{
    return t ? strdup(t) : NULL;
}

/* Name res's columns after st's. */
static int sq_names(sqlite3_stmt *st, struct store_res *res)
{
    size_t i, cols = (size_t)sqlite3_column_count(st);

    res->cols = cols;
    res->names = calloc(cols ? cols : 1, sizeof(char *));
    if (!res->names)
        return FLOE_ERR_NOMEM;
    for (i = 0; i < cols; i++)
        res->names[i] = sq_dup(sqlite3_column_name(st, (int)i));
    return 0;
}

/* Append the current row of st to res. */
static int sq_row(sqlite3_stmt *st, struct store_res *res)
{
    size_t i, cols = res->cols;
    char **cells = realloc(res->cells, (res->rows + 1) * (cols ? cols : 1) * sizeof(char *));

    if (!cells)
        return FLOE_ERR_NOMEM;
    res->cells = cells;
    for (i = 0; i < cols; i++)
        cells[res->rows * cols + i] = sq_dup((const char *)sqlite3_column_text(st, (int)i));
    res->rows++;
    return 0;
}

static int sq_bind(struct floe_store *s, sqlite3_stmt *st, const char *const *params, int n)
{
    int i, rc;

    for (i = 0; i < n; i++) {
        if (params[i])
            rc = sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
        else
            rc = sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK)
            return sq_error(s, rc);
    }
    return 0;
}

static int sq_exec(struct floe_store *s, const char *sql, const char *const *params, int n,
                   struct store_res *res)
{
    char *text = sq_rewrite(sql);
    sqlite3_stmt *st = NULL;
    int rc;

    if (!text)
        return floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
    rc = sqlite3_prepare_v2(sq_db(s), text, -1, &st, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return sq_error(s, rc);
    rc = sq_bind(s, st, params, n);
    if (rc == 0 && res)
        rc = sq_names(st, res);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = res ? sq_row(st, res) : 0;
    if (rc == FLOE_ERR_NOMEM)
        rc = floe__store_fail(s, rc, "out of memory");
    rc = (rc == SQLITE_DONE || rc == 0) ? 0 : (rc < 0 ? rc : sq_error(s, rc));
    sqlite3_finalize(st);
    if (rc < 0 && res)
        floe__store_res_free(res);
    return rc;
}

static int sq_script(struct floe_store *s, const char *sql)
{
    int rc = sqlite3_exec(sq_db(s), sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sq_error(s, rc);
}

/* One process holds every device: floe_store_listen's bookkeeping is all there is. */
static int sq_listen(struct floe_store *s, const char *channel)
{
    (void)s;
    (void)channel;
    return 0;
}

static int sq_notify(struct floe_store *s, const char *channel, const char *payload)
{
    floe__store_queue(s, channel, payload);
    return 0;
}

static int sq_poll(struct floe_store *s, struct floe_store_notification *out)
{
    if (s->q_len == 0)
        return 0;
    *out = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % STORE_QUEUE_MAX;
    s->q_len--;
    return 1;
}

static int sq_fd(const struct floe_store *s)
{
    (void)s;
    return -1;
}

static void sq_close(struct floe_store *s)
{
    sqlite3_close(sq_db(s));
    s->db = NULL;
}

const struct store_ops floe__store_sqlite_ops = {
    .exec = sq_exec,
    .script = sq_script,
    .listen = sq_listen,
    .notify = sq_notify,
    .poll = sq_poll,
    .fd = sq_fd,
    .close = sq_close,
    .begin_sql = "BEGIN IMMEDIATE",
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
};

/* The default database's directory is made on first use (zero setup on one machine). */
static void sq_make_default_dir(const char *path)
{
    static const char dflt[] = FLOE_STORE_DEFAULT_URL;
    const char *dir_end = strrchr(path, '/');
    char dir[256];

    if (strcmp(path, dflt + 7) != 0 || !dir_end)
        return;
    snprintf(dir, sizeof(dir), "%.*s", (int)(dir_end - path), path);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return;
}

/* The file holds secrets (relay REST secrets, token hashes): made readable by its owner only. */
static int sq_create_private(struct floe_store *s, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return floe__store_fail(s, FLOE_ERR_IO, "sqlite: cannot open %s: %s", path,
                                strerror(errno));
    close(fd);
    return 0;
}

int floe__store_sqlite_open(struct floe_store *s, const char *path)
{
    sqlite3 *db = NULL;
    int rc;

    if (!path[0])
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "sqlite: URL has no path (sqlite:PATH)");
    sq_make_default_dir(path);
    if (strcmp(path, ":memory:") != 0 && sq_create_private(s, path) < 0)
        return FLOE_ERR_IO;
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        floe__store_fail(s, FLOE_ERR_IO, "sqlite: cannot open %s: %s", path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return FLOE_ERR_IO;
    }
    s->db = db;
    sqlite3_busy_timeout(db, SQLITE_BUSY_MS);
    /* WAL with synchronous NORMAL: a commit is one append to the log, no fsync (checkpoints
     * sync); the default rollback journal with FULL made every device's join wait for
     * several fsyncs (63 ms each on the loaded development VM). The database stays consistent
     * after a power loss; the last commits may be lost. */
    return sq_script(s, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;"
                        " PRAGMA synchronous = NORMAL;");
}
