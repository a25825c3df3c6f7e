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
    } else if ((rc = sim_cmd_value(argc, argv, i, "--seeds", &val)) != 0) {
        uint64_t n = 0;

        if (rc < 0 || sim_cmd_parse_u64(val, &n) != 0 || n == 0 || n > 10000000)
            return sim_cmd_bad(err, cap, "invalid --seeds (expected 1..10000000)", val ? val : "");
        o->seeds = (uint32_t)n;
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

static int sim_cmd_unknown(const char *name)
{
    fprintf(stderr, "floe sim: unknown scenario '%s' (see 'floe sim --list')\n", name);
    return FLOE_CLI_EXIT_USAGE;
}

int floe_cli_sim_run(const struct floe_cli_sim_opts *o)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find(o->scenario);
    struct floe_sim_scenario_opts so = {.seed = o->seed, .runs = o->seeds};
    struct floe_sim_verdict *v;
    FILE *tf = NULL;
    int rc;

    if (o->list) {
        sim_cmd_list(stdout);
        return FLOE_CLI_EXIT_OK;
    }
    if (!sc)
        return sim_cmd_unknown(o->scenario);
    if (o->transcript) {
        tf = fopen(o->transcript, "w");
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
