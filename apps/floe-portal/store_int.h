/*
 * Inside the store: the engine operations (store_sqlite.c, store_pg.c) behind one small
 * driver interface, and the helpers store*.c share. SQL is written once with $1..$N
 * parameters (the SQLite engine rewrites them as ?1..?N); parameters and results are text,
 * NULL being SQL NULL.
 */
#ifndef FLOE_PORTAL_STORE_INT_H
#define FLOE_PORTAL_STORE_INT_H

#include "store.h"

#define STORE_ERR_MAX 512
#define STORE_LISTEN_MAX 16  /* channels one connection listens on (SQLite) */
#define STORE_QUEUE_MAX 1024 /* notifications queued on SQLite before the oldest is dropped */
#define STORE_PARAMS_MAX 8
/* PostgreSQL advisory locks: the schema's migration, the writers of the changes table. */
#define STORE_MIGRATE_LOCK "2021111"
#define STORE_CHANGES_LOCK "2021112"

/* The columns of a device row: id, kind, site_id, user_id, name, public_key, ipv4, ipv6. */
#define STORE_DEVICE_COLS "d.id, d.kind, d.site_id, d.user_id, d.name, d.public_key, a.ipv4, a.ipv6"

/* The rows of one statement: rows x cols text cells, row-major (NULL for SQL NULL). */
struct store_res {
    size_t rows, cols;
    char **cells;
    char **names;
};

struct store_ops {
    /* One statement with params (text, NULL = NULL); res (may be NULL) receives its rows. */
    int (*exec)(struct floe_store *s, const char *sql, const char *const *params, int n,
                struct store_res *res);
    /* Several statements, no parameters, no rows (the schema). */
    int (*script)(struct floe_store *s, const char *sql);
    int (*listen)(struct floe_store *s, const char *channel);
    int (*notify)(struct floe_store *s, const char *channel, const char *payload);
    int (*poll)(struct floe_store *s, struct floe_store_notification *out);
    int (*fd)(const struct floe_store *s);
    void (*close)(struct floe_store *s);
    const char *begin_sql; /* a write transaction */
    const char *id_column; /* the type of an autoincrementing primary key */
};

struct floe_store {
    enum floe_store_engine engine;
    const struct store_ops *ops;
    void *db; /* sqlite3 * or PGconn * */
    char err[STORE_ERR_MAX];
    uint64_t alloc_retries;
    uint64_t reconnects;
    uint64_t statements; /* floe__store_exec calls */
    uint64_t rows_read;  /* rows those statements returned */
    bool in_txn;         /* between floe__store_begin and commit/rollback */
    /* The channels listened on (PostgreSQL listens again after a reconnect) and, on SQLite,
     * the local queue of notifications. */
    char listening[STORE_LISTEN_MAX][FLOE_STORE_CHANNEL_MAX];
    size_t n_listening;
    struct floe_store_notification *queue;
    size_t q_head, q_len;
    uint64_t q_dropped;
};

extern const struct store_ops floe__store_sqlite_ops;
extern const struct store_ops floe__store_pg_ops;

/* Engine openers: connect s->db from the part of the URL after the engine. */
int floe__store_sqlite_open(struct floe_store *s, const char *path);
int floe__store_pg_open(struct floe_store *s, const char *conninfo);

/* Set s->err from a format; returns code. */
int floe__store_fail(struct floe_store *s, int code, const char *fmt, ...) FLOE_PRINTF(3, 4);
/* Run sql with params; res may be NULL. */
int floe__store_exec(struct floe_store *s, const char *sql, const char *const *params, int n,
                     struct store_res *res);
/* Run sql and take the first column of its first row as an integer (NOT_FOUND if no row). */
int floe__store_exec_int(struct floe_store *s, const char *sql, const char *const *params, int n,
                         int64_t *out);
void floe__store_res_free(struct store_res *res);
/*
 * An array of res->rows zeroed elements of size (NULL for no rows, *rc 0). Out of memory: res
 * freed, *rc NOMEM.
 */
void *floe__store_rows_alloc(struct floe_store *s, struct store_res *res, size_t size, int *rc);
/* The cell at row, col (NULL for SQL NULL or out of range). */
const char *floe__store_cell(const struct store_res *res, size_t row, size_t col);
/* The cell as an integer (0 for NULL). */
int64_t floe__store_cell_int(const struct store_res *res, size_t row, size_t col);
/* Begin a write transaction; commit; roll back (errors of rollback are ignored). */
/*
 * Inside the caller's transaction: record as revoked the authorizations a (alias a) still
 * unexpired at now for which where holds ($1 is v); store_authz.c.
 */
int floe__store_revoke_where(struct floe_store *s, const char *where, int64_t v, int64_t now);
int floe__store_begin(struct floe_store *s);
int floe__store_commit(struct floe_store *s);
void floe__store_rollback(struct floe_store *s);
/* Write a changes row (kind, payload JSON) and notify it, inside the caller's transaction. */
int floe__store_change(struct floe_store *s, const char *kind, const char *payload);
/* Queue a notification locally if s listens on channel (SQLite). */
void floe__store_queue(struct floe_store *s, const char *channel, const char *payload);
/* Whether s listens on channel (SQLite's local bookkeeping). */
bool floe__store_listens(const struct floe_store *s, const char *channel);
/* Format an id for a parameter into buf[24]. */
const char *floe__store_int_text(char buf[24], int64_t v);
/* Copy a cell into dst[cap] ("" for NULL). */
void floe__store_copy(char *dst, size_t cap, const char *cell);
/* Fill d from row i of a result whose columns are STORE_DEVICE_COLS. */
void floe__store_device_row(const struct store_res *res, size_t i, struct floe_store_device *d);
/* The schema, the same text for both engines with the id column type filled in. */
int floe__store_migrate(struct floe_store *s);

#endif
