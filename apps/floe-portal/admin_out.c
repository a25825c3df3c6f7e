/* The admin CLI's output: created ids, store errors, listings as tables or JSON. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_int.h"
#include "json.h"
#include "model.h"

int floe__admin_open(struct admin *a)
{
    char msg[512];
    int rc;

    if (a->store)
        return 0;
    rc = floe_store_open(a->url, &a->store, msg, sizeof(msg));
    if (rc == FLOE_ERR_INVALID_ARG)
        return floe__admin_usage(a, "%s", msg);
    if (rc < 0) {
        fprintf(a->err, "floe-portal admin: cannot open the database: %s\n", msg);
        return FLOE_ADMIN_EXIT_RUNTIME;
    }
    return 0;
}

int floe__admin_store_error(struct admin *a, int rc)
{
    const char *msg = floe_store_errmsg(a->store);

    if (rc == FLOE_ERR_INVALID_ARG || rc == FLOE_ERR_NOT_FOUND || rc == FLOE_ERR_STATE)
        return floe__admin_usage(a, "%s", msg[0] ? msg : floe_strerror(rc));
    fprintf(a->err, "floe-portal admin %s: %s\n", a->entity, msg[0] ? msg : floe_strerror(rc));
    return FLOE_ADMIN_EXIT_RUNTIME;
}

int floe__admin_id(struct admin *a, const char *opt, const char *v, int64_t *out)
{
    if (!v)
        return floe__admin_usage(a, "%s %s needs %s ID", a->verb, opt, opt);
    if (floe_model_id_parse(v, out) < 0)
        return floe__admin_usage(a, "%s '%s' is not an id (a positive integer)", opt, v);
    return 0;
}

int floe__admin_pos_id(struct admin *a, int64_t *out)
{
    if (a->n_pos != 1)
        return floe__admin_usage(a, "%s takes one ID", a->verb);
    if (floe_model_id_parse(a->pos[0], out) < 0)
        return floe__admin_usage(a, "'%s' is not an id (a positive integer)", a->pos[0]);
    return 0;
}

int floe__admin_created(struct admin *a, int64_t id, const char *secret)
{
    fprintf(a->out, "%lld\n", (long long)id);
    if (secret)
        fprintf(a->out, "%s\n", secret);
    return fflush(a->out) == 0 ? FLOE_ADMIN_EXIT_OK : FLOE_ADMIN_EXIT_RUNTIME;
}

/* A cell for people: times in RFC 3339 UTC, NULL as "-". */
static const char *admin_cell_text(const char *name, const char *cell, char buf[32])
{
    size_t len = strlen(name);
    time_t t;
    struct tm tm;

    if (!cell)
        return "-";
    if (len < 3 || strcmp(name + len - 3, "_at") != 0)
        return cell;
    t = (time_t)strtoll(cell, NULL, 10);
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return cell;
    return buf;
}

/* One cell padded to width, the last of a row unpadded with the newline. */
static void admin_cell_print(FILE *f, const char *text, size_t width, bool last)
{
    if (last)
        fprintf(f, "%s\n", text);
    else
        fprintf(f, "%-*s  ", (int)width, text);
}

static void admin_table(struct admin *a, const struct floe_store_table *t)
{
    size_t *width = calloc(t->cols ? t->cols : 1, sizeof(size_t)), r, c;
    char buf[32];

    if (!width)
        return;
    for (c = 0; c < t->cols; c++)
        width[c] = strlen(t->names[c]);
    for (r = 0; r < t->rows; r++)
        for (c = 0; c < t->cols; c++) {
            size_t w = strlen(admin_cell_text(t->names[c], t->cells[r * t->cols + c], buf));

            width[c] = w > width[c] ? w : width[c];
        }
    for (c = 0; c < t->cols; c++)
        admin_cell_print(a->out, t->names[c], width[c], c + 1 == t->cols);
    for (r = 0; r < t->rows; r++)
        for (c = 0; c < t->cols; c++)
            admin_cell_print(a->out, admin_cell_text(t->names[c], t->cells[r * t->cols + c], buf),
                             width[c], c + 1 == t->cols);
    free(width);
}

/* One JSON string, escaped. */
static void admin_json_str(FILE *f, const char *s)
{
    size_t cap = 6 * strlen(s) + 3;
    char *buf = malloc(cap + 1);
    struct floe_json_buf j;

    if (!buf)
        return;
    floe_json_init(&j, buf, cap + 1);
    floe_json_cstr_value(&j, s);
    fputs(floe_json_cstr(&j) ? buf : "null", f);
    free(buf);
}

static void admin_json(struct admin *a, const struct floe_store_table *t)
{
    size_t r, c;

    fputc('[', a->out);
    for (r = 0; r < t->rows; r++) {
        fputs(r ? ",{" : "{", a->out);
        for (c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * t->cols + c];

            if (c)
                fputc(',', a->out);
            admin_json_str(a->out, t->names[c]);
            fputc(':', a->out);
            if (!cell)
                fputs("null", a->out);
            else if (t->numeric[c])
                fprintf(a->out, "%lld", strtoll(cell, NULL, 10));
            else
                admin_json_str(a->out, cell);
        }
        fputc('}', a->out);
    }
    fputs("]\n", a->out);
}

int floe__admin_list(struct admin *a, enum floe_store_entity entity)
{
    struct floe_store_table t;
    int rc = a->n_pos ? floe__admin_usage(a, "%s takes no arguments", a->verb) : 0;

    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = floe_store_list(a->store, entity, (int64_t)time(NULL), &t);
    if (rc < 0)
        return floe__admin_store_error(a, rc);
    if (a->json)
        admin_json(a, &t);
    else
        admin_table(a, &t);
    floe_store_table_free(&t);
    return fflush(a->out) == 0 ? FLOE_ADMIN_EXIT_OK : FLOE_ADMIN_EXIT_RUNTIME;
}
