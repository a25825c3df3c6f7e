/*
 * `floe sim`: run one of the simulator's ICE scenarios in virtual time and
 * print its timeline and verdict (or list the scenarios). The run is
 * deterministic: the same --seed prints the same output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "floe/sim_ice.h"
#include "json.h"

/* Width of one lane's column when two lanes are printed side by side. */
#define SIM_CMD_COL 68
/* Largest --seeds N. */
#define SIM_CMD_SEEDS_MAX 1000000u
/* Failing seeds named in a --seeds summary. */
#define SIM_CMD_FAILED_SHOWN 10

static int sim_cmd_bad(char *err, size_t cap, const char *what, const char *arg)
{
    snprintf(err, cap, "%s '%s'", what, arg);
    return FLOE_ERR_INVALID_ARG;
}

/* Strict decimal uint64. */
static int sim_cmd_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;

    if (!s || *s < '0' || *s > '9')
        return FLOE_ERR_INVALID_ARG;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? FLOE_ERR_INVALID_ARG : 0;
}

/* "--name VALUE" or "--name=VALUE": 1 with *val, 0 another option, INVALID_ARG no value. */
static int sim_cmd_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0 || (argv[*i][n] != '\0' && argv[*i][n] != '='))
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (*i + 1 >= argc)
        return FLOE_ERR_INVALID_ARG;
    *val = argv[++*i];
    return 1;
}

/* A scenario that runs many seeded runs in one verdict (node-prop): --seeds N is its run
 * count, so --seed (the first run's seed) and --transcript combine with it. */
static bool sim_cmd_runs_many(const char *name)
{
    const struct floe_sim_scenario *sc = name ? floe_sim_scenario_find(name) : NULL;

    return sc && sc->runs_many;
}

static int sim_cmd_option(int argc, char **argv, int *i, struct floe_cli_sim_opts *o, char *err,
                          size_t cap)
{
    const char *a = argv[*i], *val = NULL;
    int rc;

    if (strcmp(a, "--json") == 0)
        o->json = true;
    else if (strcmp(a, "--list") == 0)
        o->list = true;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
        o->help = true;
    else if ((rc = sim_cmd_value(argc, argv, i, "--seed", &val)) != 0) {
        if (rc < 0 || sim_cmd_parse_u64(val, &o->seed) != 0)
            return sim_cmd_bad(err, cap, "invalid --seed (expected a decimal number)",
                               val ? val : "");
        o->seed_set = true;
    } else if ((rc = sim_cmd_value(argc, argv, i, "--seeds", &val)) != 0 ||
               (rc = sim_cmd_value(argc, argv, i, "--sweep", &val)) != 0) {
        if (rc < 0 || sim_cmd_parse_u64(val, &o->seeds) != 0 || o->seeds == 0 ||
            o->seeds > SIM_CMD_SEEDS_MAX)
            return sim_cmd_bad(err, cap, "invalid --seeds (expected 1..1000000)", val ? val : "");
    } else if ((rc = sim_cmd_value(argc, argv, i, "--transcript", &val)) != 0) {
        if (rc < 0 || !*val)
            return sim_cmd_bad(err, cap, "--transcript needs a file name", a);
        o->transcript = val;
    } else {
        return sim_cmd_bad(err, cap, "unknown option", a);
    }
    return 0;
}

int floe_cli_sim_parse(int argc, char **argv, struct floe_cli_sim_opts *o, char *err,
                       size_t err_cap)
{
    int i, rc;

    memset(o, 0, sizeof(*o));
    o->seed = 1;
    for (i = 1; i < argc; i++) {
        if (argv[i][0] != '-' && !o->scenario) {
            o->scenario = argv[i];
            continue;
        }
        if (argv[i][0] != '-')
            return sim_cmd_bad(err, err_cap, "unexpected argument", argv[i]);
        rc = sim_cmd_option(argc, argv, &i, o, err, err_cap);
        if (rc != 0)
            return rc;
    }
    if (!o->help && !o->list && !o->scenario) {
        snprintf(err, err_cap, "no scenario given; 'floe sim --list' lists them");
        return FLOE_ERR_INVALID_ARG;
    }
    if (o->seeds && (o->seed_set || o->transcript) && !sim_cmd_runs_many(o->scenario)) {
        snprintf(err, err_cap, "--seeds runs seeds 1..N: not with --seed or --transcript");
        return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}

static void sim_cmd_list(FILE *out)
{
    size_t n, i;
    const struct floe_sim_scenario *t = floe_sim_scenarios(&n);

    for (i = 0; i < n; i++)
        fprintf(out, "%-20s %s\n", t[i].name, t[i].description);
}

static void sim_cmd_file_write(void *user, const char *line, size_t len)
{
    fwrite(line, 1, len, (FILE *)user);
}

/* "  12345.678 ms" */
static void sim_cmd_time(char *buf, size_t cap, floe_time t)
{
    snprintf(buf, cap, "%11.3f ms", (double)t / 1e6);
}

static void sim_cmd_print_one_lane(const struct floe_sim_verdict *v)
{
    char t[32];
    size_t i;

    for (i = 0; i < v->n_tl; i++) {
        sim_cmd_time(t, sizeof(t), v->tl[i].at);
        printf("%s  %s\n", t, v->tl[i].text);
    }
}

/* Next entry of lane at or after *i within group, or NULL. */
static const struct floe_sim_tl_entry *sim_cmd_next(const struct floe_sim_verdict *v, size_t *i,
                                                    uint8_t group, uint8_t lane)
{
    for (; *i < v->n_tl && v->tl[*i].group == group; (*i)++) {
        if (v->tl[*i].lane == lane)
            return &v->tl[*i];
    }
    return NULL;
}

/* One run of a two-lane timeline as two columns, rows merged by time; returns the next group. */
static size_t sim_cmd_print_group(const struct floe_sim_verdict *v, size_t start)
{
    uint8_t g = v->tl[start].group;
    size_t i0 = start, i1 = start;
    const struct floe_sim_tl_entry *a, *b;
    char t[32];

    printf("--- run %u\n", g + 1);
    for (;;) {
        a = sim_cmd_next(v, &i0, g, 0);
        b = sim_cmd_next(v, &i1, g, 1);
        if (!a && !b)
            break;
        if (a && b && a->at != b->at) {
            if (a->at < b->at)
                b = NULL;
            else
                a = NULL;
        }
        sim_cmd_time(t, sizeof(t), a ? a->at : b->at);
        printf("%s  %-*.*s | %s\n", t, SIM_CMD_COL, SIM_CMD_COL, a ? a->text : "",
               b ? b->text : "");
        i0 += a != NULL;
        i1 += b != NULL;
    }
    return i0 > i1 ? i0 : i1;
}

static void sim_cmd_print_human(const struct floe_cli_sim_opts *o,
                                const struct floe_sim_scenario *sc,
                                const struct floe_sim_verdict *v)
{
    size_t i = 0;

    printf("scenario %s (seed %llu): %s\n", sc->name, (unsigned long long)o->seed, sc->description);
    if (v->n_lanes < 2) {
        sim_cmd_print_one_lane(v);
    } else {
        printf("%14s  %-*.*s | %s\n", "virtual time", SIM_CMD_COL, SIM_CMD_COL, v->lanes[0],
               v->lanes[1]);
        while (i < v->n_tl)
            i = sim_cmd_print_group(v, i);
    }
    if (v->tl_dropped)
        printf("(%llu more timeline entries not kept)\n", (unsigned long long)v->tl_dropped);
    for (i = 0; i < v->n_outages; i++)
        printf("%s%.1f ms%s", i ? ", " : "data outage: ", (double)v->outages[i] / 1e6,
               i + 1 == v->n_outages ? "\n" : "");
    printf("verdict: %s: %s\n", v->pass ? "PASS" : "FAIL", v->reason);
}

static void sim_cmd_print_json(const struct floe_cli_sim_opts *o,
                               const struct floe_sim_scenario *sc, const struct floe_sim_verdict *v)
{
    char buf[1024], num[32];
    struct floe_json_buf j;
    size_t i;

    floe_json_init(&j, buf, sizeof(buf));
    floe_json_lit(&j, "{\"scenario\":");
    floe_json_cstr_value(&j, sc->name);
    floe_json_lit(&j, ",\"seed\":");
    floe_json_uint(&j, o->seed);
    floe_json_lit(&j, ",\"pass\":");
    floe_json_bool(&j, v->pass);
    floe_json_lit(&j, ",\"reason\":");
    floe_json_cstr_value(&j, v->reason);
    floe_json_lit(&j, ",\"lanes\":[");
    for (i = 0; i < v->n_lanes; i++) {
        floe_json_lit(&j, i ? "," : "");
        floe_json_cstr_value(&j, v->lanes[i]);
    }
    floe_json_lit(&j, "],\"outage_ms\":[");
    for (i = 0; i < v->n_outages; i++) {
        snprintf(num, sizeof(num), "%s%.3f", i ? "," : "", (double)v->outages[i] / 1e6);
        floe_json_lit(&j, num);
    }
    floe_json_lit(&j, "],\"timeline_dropped\":");
    floe_json_uint(&j, v->tl_dropped);
    floe_json_lit(&j, ",\"timeline\":[");
    fputs(floe_json_cstr(&j) ? buf : "{", stdout);
    for (i = 0; i < v->n_tl; i++) {
        floe_json_init(&j, buf, sizeof(buf));
        snprintf(num, sizeof(num), "%.3f", (double)v->tl[i].at / 1e6);
        floe_json_lit(&j, i ? ",{\"t_ms\":" : "{\"t_ms\":");
        floe_json_lit(&j, num);
        floe_json_lit(&j, ",\"run\":");
        floe_json_uint(&j, v->tl[i].group + 1u);
        floe_json_lit(&j, ",\"lane\":");
        floe_json_uint(&j, v->tl[i].lane);
        floe_json_lit(&j, ",\"event\":");
        floe_json_cstr_value(&j, v->tl[i].text);
        floe_json_lit(&j, "}");
        if (floe_json_cstr(&j))
            fputs(buf, stdout);
    }
    puts("]}");
}

/* What a --seeds run gathered over its seeds. */
struct sim_cmd_sweep {
    uint64_t runs, failures;
    uint64_t failed[SIM_CMD_FAILED_SHOWN]; /* the first failing seeds */
    floe_time *outages;                    /* every roam's data outage, every seed */
    size_t n_outages, cap_outages;
    bool nomem;
};

static void sim_cmd_sweep_add(struct sim_cmd_sweep *w, uint64_t seed, bool pass,
                              const struct floe_sim_verdict *v)
{
    size_t i;

    w->runs++;
    if (!pass && w->failures < SIM_CMD_FAILED_SHOWN)
        w->failed[w->failures] = seed;
    w->failures += !pass;
    for (i = 0; i < v->n_outages; i++) {
        if (w->n_outages == w->cap_outages) {
            size_t cap = w->cap_outages ? w->cap_outages * 2 : 1024;
            floe_time *n = realloc(w->outages, cap * sizeof(*n));

            if (!n) {
                w->nomem = true;
                return;
            }
            w->outages = n;
            w->cap_outages = cap;
        }
        w->outages[w->n_outages++] = v->outages[i];
    }
}

static int sim_cmd_time_cmp(const void *a, const void *b)
{
    floe_time x = *(const floe_time *)a, y = *(const floe_time *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted outages, in ms. */
static double sim_cmd_pct(const struct sim_cmd_sweep *w, unsigned pct)
{
    size_t rank = (w->n_outages * pct + 99) / 100;

    return (double)w->outages[rank ? rank - 1 : 0] / 1e6;
}

static void sim_cmd_sweep_human(const struct floe_cli_sim_opts *o,
                                const struct floe_sim_scenario *sc, const struct sim_cmd_sweep *w,
                                FILE *out)
{
    uint64_t i;

    fprintf(out, "%s: seeds 1..%llu: %llu runs, %llu verdict failures", sc->name,
            (unsigned long long)o->seeds, (unsigned long long)w->runs,
            (unsigned long long)w->failures);
    if (w->n_outages)
        fprintf(out, "; data outage p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu roams)",
                sim_cmd_pct(w, 50), sim_cmd_pct(w, 99), sim_cmd_pct(w, 100), w->n_outages);
    for (i = 0; i < w->failures && i < SIM_CMD_FAILED_SHOWN; i++)
        fprintf(out, "%s%llu", i ? " " : "; failed seeds: ", (unsigned long long)w->failed[i]);
    fprintf(out, "%s\n", w->failures > SIM_CMD_FAILED_SHOWN ? " ..." : "");
}

static void sim_cmd_sweep_json(const struct floe_cli_sim_opts *o,
                               const struct floe_sim_scenario *sc, const struct sim_cmd_sweep *w,
                               FILE *out)
{
    char buf[1024], num[96];
    struct floe_json_buf j;
    uint64_t i;

    floe_json_init(&j, buf, sizeof(buf));
    floe_json_lit(&j, "{\"scenario\":");
    floe_json_cstr_value(&j, sc->name);
    floe_json_lit(&j, ",\"seeds\":");
    floe_json_uint(&j, o->seeds);
    floe_json_lit(&j, ",\"runs\":");
    floe_json_uint(&j, w->runs);
    floe_json_lit(&j, ",\"failures\":");
    floe_json_uint(&j, w->failures);
    floe_json_lit(&j, ",\"failed_seeds\":[");
    for (i = 0; i < w->failures && i < SIM_CMD_FAILED_SHOWN; i++) {
        floe_json_lit(&j, i ? "," : "");
        floe_json_uint(&j, w->failed[i]);
    }
    floe_json_lit(&j, "],\"outage_ms\":");
    if (w->n_outages) {
        snprintf(num, sizeof(num), "{\"roams\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
                 w->n_outages, sim_cmd_pct(w, 50), sim_cmd_pct(w, 99), sim_cmd_pct(w, 100));
        floe_json_lit(&j, num);
    } else {
        floe_json_lit(&j, "null");
    }
    floe_json_lit(&j, "}");
    fprintf(out, "%s\n", floe_json_cstr(&j) ? buf : "{}");
}

/* Run every seed 1..o->seeds into w (v is the scratch verdict). */
static void sim_cmd_sweep_run(const struct floe_cli_sim_opts *o, const struct floe_sim_scenario *sc,
                              struct floe_sim_verdict *v, struct sim_cmd_sweep *w)
{
    struct floe_sim_scenario_opts so = {0};
    uint64_t seed;
    int rc;

    for (seed = 1; seed <= o->seeds && !w->nomem; seed++) {
        so.seed = seed;
        floe_sim_verdict_init(v);
        rc = sc->run(&so, v);
        sim_cmd_sweep_add(w, seed, rc == 0 && v->pass, v);
    }
}

int floe_cli_sim_sweep(const struct floe_cli_sim_opts *o, const struct floe_sim_scenario *sc,
                       FILE *out)
{
    struct sim_cmd_sweep w = {0};
    struct floe_sim_verdict *v = malloc(sizeof(*v));

    if (v)
        sim_cmd_sweep_run(o, sc, v, &w);
    free(v);
    if (!v || w.nomem) {
        free(w.outages);
        fprintf(stderr, "floe sim: out of memory\n");
        return FLOE_CLI_EXIT_FAIL;
    }
    if (w.n_outages)
        qsort(w.outages, w.n_outages, sizeof(*w.outages), sim_cmd_time_cmp);
    if (o->json)
        sim_cmd_sweep_json(o, sc, &w, out);
    else
        sim_cmd_sweep_human(o, sc, &w, out);
    free(w.outages);
    return w.failures ? FLOE_CLI_EXIT_FAIL : FLOE_CLI_EXIT_OK;
}

static int sim_cmd_unknown(const char *name)
{
    fprintf(stderr, "floe sim: unknown scenario '%s' (see 'floe sim --list')\n", name);
    return FLOE_CLI_EXIT_USAGE;
}

int floe_cli_sim_run(const struct floe_cli_sim_opts *o)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find(o->scenario);
    struct floe_sim_scenario_opts so = {.seed = o->seed, .runs = (uint32_t)o->seeds};
    struct floe_sim_verdict *v;
    FILE *tf = NULL;
    int rc;

    if (o->list) {
        sim_cmd_list(stdout);
        return FLOE_CLI_EXIT_OK;
    }
    if (!sc)
        return sim_cmd_unknown(o->scenario);
    if (o->seeds && !sc->runs_many)
        return floe_cli_sim_sweep(o, sc, stdout);
    if (o->transcript) {
        tf = fopen(o->transcript, "wb");
        if (!tf) {
            fprintf(stderr, "floe sim: cannot open '%s': %s\n", o->transcript, strerror(errno));
            return FLOE_CLI_EXIT_FAIL;
        }
        so.transcript = sim_cmd_file_write;
        so.transcript_user = tf;
    }
    v = malloc(sizeof(*v));
    if (!v) {
        if (tf)
            fclose(tf);
        fprintf(stderr, "floe sim: out of memory\n");
        return FLOE_CLI_EXIT_FAIL;
    }
    floe_sim_verdict_init(v);
    rc = sc->run(&so, v);
    if (tf && fclose(tf) != 0)
        fprintf(stderr, "floe sim: writing '%s': %s\n", o->transcript, strerror(errno));
    floe_sim_verdict_sort(v);
    if (o->json)
        sim_cmd_print_json(o, sc, v);
    else
        sim_cmd_print_human(o, sc, v);
    rc = rc == 0 && v->pass ? FLOE_CLI_EXIT_OK : FLOE_CLI_EXIT_FAIL;
    free(v);
    return rc;
}
