/* The admin CLI's entry point (admin.h): global options, dispatch, option parsing, help. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "model.h"

static const char admin_usage_text[] =
    "usage: floe-portal admin [--database URL] [--json] COMMAND VERB [ARGS]\n"
    "\n"
    "Manage the portal's database. --database (or FLOE_PORTAL_DATABASE) is sqlite:PATH\n"
    "(default " FLOE_STORE_DEFAULT_URL ") or postgresql://...; --json prints\n"
    "listings as JSON. 'floe-portal admin COMMAND --help' tells more.\n"
    "\n"
    "commands:\n";

static const char admin_exit_text[] =
    "\nA command that creates something prints its id alone on stdout and, when it makes a\n"
    "token or secret, that on the next line (shown once).\n"
    "Exit codes: 0 success, 1 database error, 2 usage or invalid input (also an id that does\n"
    "not exist or a name already taken).\n";

static void admin_help(FILE *f)
{
    size_t i;

    fputs(admin_usage_text, f);
    for (i = 0; i < floe__admin_n_entities; i++)
        fprintf(f, "  %-16s %s\n", floe__admin_entities[i].name, floe__admin_entities[i].summary);
    fputs(admin_exit_text, f);
}

int floe__admin_usage(struct admin *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(a->err, "floe-portal admin%s%s: ", a->entity ? " " : "", a->entity ? a->entity : "");
    va_start(ap, fmt);
    vfprintf(a->err, fmt, ap);
    va_end(ap);
    fputc('\n', a->err);
    return FLOE_ADMIN_EXIT_USAGE;
}

/* Value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"); NULL when missing. */
static const char *admin_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Whether name is one of the comma-separated allowed names. */
static bool admin_allowed(const char *allowed, const char *name, size_t len)
{
    const char *p = allowed;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* Store one option's value in a. */
static int admin_set(struct admin *a, const char *name, size_t len, const char *v)
{
    const char **slot = NULL;

    if (len == 4 && !strncmp(name, "site", 4))
        slot = &a->site;
    else if (len == 4 && !strncmp(name, "user", 4))
        slot = &a->user;
    else if (len == 5 && !strncmp(name, "group", 5))
        slot = &a->group;
    else if (len == 8 && !strncmp(name, "resource", 8))
        slot = &a->resource;
    else if (len == 4 && !strncmp(name, "name", 4))
        slot = &a->name;
    else if (len == 7 && !strncmp(name, "address", 7))
        slot = &a->address;
    else if (len == 6 && !strncmp(name, "secret", 6))
        slot = &a->secret;
    else if (len == 11 && !strncmp(name, "secret-file", 11))
        slot = &a->secret_file;
    if (slot) {
        *slot = v;
        return 0;
    }
    if (a->n_filters == FLOE_STORE_FILTERS_MAX)
        return floe__admin_usage(a, "at most %d --filter", FLOE_STORE_FILTERS_MAX);
    a->filters[a->n_filters++] = v;
    return 0;
}

/* One "--name[=value]" argument at argv[*i]. */
static int admin_option(struct admin *a, const char *allowed, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '='), *v;
    size_t len = eq ? (size_t)(eq - name) : strlen(name);

    if (len == 3 && !strncmp(name, "all", 3) && !eq && admin_allowed(allowed, "all", 3)) {
        a->all = true;
        return 0;
    }
    if (!admin_allowed(allowed, name, len))
        return floe__admin_usage(a, "unknown option --%.*s (see --help)", (int)len, name);
    v = admin_value(argc, argv, i, eq);
    if (!v)
        return floe__admin_usage(a, "--%.*s needs a value", (int)len, name);
    return admin_set(a, name, len, v);
}

/* The verb's arguments: argv[0] is the verb. */
static int admin_parse(struct admin *a, const struct admin_entity *e, int argc, char **argv)
{
    int i, rc;

    a->verb = argv[0];
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
            rc = admin_option(a, e->options, argc, argv, &i);
            if (rc)
                return rc;
        } else if (a->n_pos == ADMIN_POS_MAX) {
            return floe__admin_usage(a, "too many arguments");
        } else {
            a->pos[a->n_pos++] = argv[i];
        }
    }
    return 0;
}

static bool admin_is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

/* Take --database and --json wherever they are; the rest stays in argv, in order. */
static int admin_globals(struct admin *a, int *argc, char **argv)
{
    int i, n = 0;

    for (i = 0; i < *argc; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--database") == 0) {
            if (i + 1 >= *argc)
                return floe__admin_usage(a, "--database needs a URL");
            a->url = argv[++i];
        } else if (strncmp(arg, "--database=", 11) == 0) {
            a->url = arg + 11;
        } else {
            argv[n++] = argv[i];
        }
    }
    *argc = n;
    return 0;
}

static const struct admin_entity *admin_find(const char *name)
{
    size_t i;

    for (i = 0; i < floe__admin_n_entities; i++)
        if (strcmp(floe__admin_entities[i].name, name) == 0)
            return &floe__admin_entities[i];
    return NULL;
}

/* Run entity e with args (args[0] the verb) after help and parsing. */
static int admin_entity_run(struct admin *a, const struct admin_entity *e, int argc, char **argv)
{
    int i, rc;

    for (i = 0; i < argc; i++) {
        if (admin_is_help(argv[i])) {
            fputs(e->help, a->out);
            return FLOE_ADMIN_EXIT_OK;
        }
    }
    rc = admin_parse(a, e, argc, argv);
    return rc ? rc : e->run(a);
}

int floe_admin_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct admin a = {.out = out, .err = err};
    const struct admin_entity *e;
    char **args = argv + 1;
    int n = argc - 1, rc;

    a.url = getenv("FLOE_PORTAL_DATABASE");
    rc = admin_globals(&a, &n, args);
    if (rc)
        return rc;
    if (n >= 1 && admin_is_help(args[0])) {
        admin_help(out);
        return FLOE_ADMIN_EXIT_OK;
    }
    if (n < 1) {
        admin_help(err);
        return FLOE_ADMIN_EXIT_USAGE;
    }
    e = admin_find(args[0]);
    if (!e)
        return floe__admin_usage(&a, "unknown command '%s' (see --help)", args[0]);
    a.entity = e->name;
    if (n < 2 && e->list_only) {
        static char list[] = "list";
        char *verb[1] = {list};

        rc = admin_entity_run(&a, e, 1, verb);
    } else if (n < 2) {
        fputs(e->help, err);
        return FLOE_ADMIN_EXIT_USAGE;
    } else if (e->list_only && args[1][0] == '-' && !admin_is_help(args[1])) {
        static char list[] = "list";

        args[0] = list; /* "devices --all": the verb left out */
        rc = admin_entity_run(&a, e, n, args);
    } else {
        rc = admin_entity_run(&a, e, n - 1, args + 1);
    }
    floe_store_close(a.store);
    return rc;
}
