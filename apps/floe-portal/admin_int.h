/* Inside the admin CLI: the parsed command line and the helpers admin*.c share. */
#ifndef FLOE_PORTAL_ADMIN_INT_H
#define FLOE_PORTAL_ADMIN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "admin.h"
#include "store.h"

#define ADMIN_POS_MAX 4

struct admin {
    FILE *out, *err;
    bool json;
    const char *url;
    struct floe_store *store;
    const char *entity; /* "sites", ... */
    const char *verb;   /* "add", "list", "remove", ... */
    /* Options of the command (NULL when absent) and its positional arguments. */
    const char *site, *user, *group, *resource, *name, *address, *secret, *secret_file;
    const char *filters[FLOE_STORE_FILTERS_MAX + 1];
    size_t n_filters;
    const char *pos[ADMIN_POS_MAX];
    size_t n_pos;
    bool all;
};

/* One entity of the CLI: its name, help text and the function that runs its verbs. */
struct admin_entity {
    const char *name;
    const char *summary;
    const char *help;
    const char *options; /* the options its verbs take, e.g. "site,name" */
    int (*run)(struct admin *a);
    bool list_only; /* the verb may be left out: it is "list" */
};

extern const struct admin_entity floe__admin_entities[];
extern const size_t floe__admin_n_entities;

/* Report a usage error (exit 2): "floe-portal admin ENTITY: message". */
int floe__admin_usage(struct admin *a, const char *fmt, ...) FLOE_PRINTF(2, 3);
/* Open the store if not yet open; its error is reported. Returns an exit code (0 = open). */
int floe__admin_open(struct admin *a);
/* The exit code of a store error rc, reported with the store's message. */
int floe__admin_store_error(struct admin *a, int rc);
/* Parse option value v of option opt as an id (usage error otherwise). */
int floe__admin_id(struct admin *a, const char *opt, const char *v, int64_t *out);
/* The single positional argument of the verb as an id ("ID"). */
int floe__admin_pos_id(struct admin *a, int64_t *out);
/* Print a created id (and a secret line when secret is not NULL). */
int floe__admin_created(struct admin *a, int64_t id, const char *secret);
/* List entity as a table or JSON. */
int floe__admin_list(struct admin *a, enum floe_store_entity entity);

#endif
