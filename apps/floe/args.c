/* Argument parsing of the floe program's verbs. */
#include <string.h>

#include "cli.h"

int floe_cli_parse_seconds(const char *s, floe_time *out)
{
    floe_time whole = 0, frac = 0, scale = FLOE_SEC(1);
    const char *p = s;

    if (!s || !out || *s < '0' || *s > '9')
        return FLOE_ERR_INVALID_ARG;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (floe_time)(*p - '0');
        if (whole > FLOE_CLI_MAX_TIMEOUT / FLOE_SEC(1))
            return FLOE_ERR_INVALID_ARG;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
            scale /= 10;
            frac += (floe_time)(*p - '0') * scale;
        }
        if (p[-1] == '.')
            return FLOE_ERR_INVALID_ARG;
    }
    if (*p != '\0')
        return FLOE_ERR_INVALID_ARG;
    *out = FLOE_SEC(whole) + frac;
    if (*out == 0 || *out > FLOE_CLI_MAX_TIMEOUT)
        return FLOE_ERR_INVALID_ARG;
    return 0;
}

static int args_fail(char *err, size_t cap, const char *what, const char *arg)
{
    if (err && cap)
        snprintf(err, cap, "%s '%s'", what, arg);
    return FLOE_ERR_INVALID_ARG;
}

/*
 * Match argv[*i] against "--name VALUE" or "--name=VALUE". Returns 1 with *val
 * set (advancing *i past a separate value), 0 when it is another option, or
 * FLOE_ERR_INVALID_ARG when the value is missing.
 */
static int args_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return FLOE_ERR_INVALID_ARG;
    *val = argv[++*i];
    return 1;
}

static int args_stun_value(struct floe_cli_stun_opts *o, const char *name, const char *val,
                           char *err, size_t cap)
{
    if (strcmp(name, "--timeout") == 0) {
        if (floe_cli_parse_seconds(val, &o->timeout) < 0)
            return args_fail(err, cap, "invalid --timeout (seconds, up to 3600)", val);
    } else if (strcmp(name, "--log-level") == 0) {
        if (floe_log_level_parse(val, &o->log_level) < 0)
            return args_fail(err, cap, "invalid --log-level (trace..error, off)", val);
    } else if (strcmp(name, "--log-file") == 0) {
        if (!*val)
            return args_fail(err, cap, "invalid --log-file", val);
        o->log_file = val;
    } else {
        o->source = val;
    }
    return 0;
}

static int args_stun_flag(struct floe_cli_stun_opts *o, const char *a)
{
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        o->help = true;
    else if (strcmp(a, "--json") == 0)
        o->json = true;
    else if (strcmp(a, "-4") == 0)
        o->family = FLOE_AF_INET;
    else if (strcmp(a, "-6") == 0)
        o->family = FLOE_AF_INET6;
    else
        return 0;
    return 1;
}

static int args_stun_option(int argc, char **argv, int *i, struct floe_cli_stun_opts *o,
                            char *err, size_t cap)
{
    static const char *const names[] = {"--timeout", "--log-level", "--log-file", "--source"};
    const char *val;
    size_t k;
    int rc;

    if (args_stun_flag(o, argv[*i]))
        return 0;
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        rc = args_value(argc, argv, i, names[k], &val);
        if (rc < 0)
            return args_fail(err, cap, "missing value for", names[k]);
        if (rc > 0)
            return args_stun_value(o, names[k], val, err, cap);
    }
    return args_fail(err, cap, "unknown option", argv[*i]);
}

int floe_cli_stun_parse(int argc, char **argv, struct floe_cli_stun_opts *o, char *err,
                        size_t err_cap)
{
    bool options_done = false;
    int i, rc;

    if (!o || !argv)
        return FLOE_ERR_INVALID_ARG;
    memset(o, 0, sizeof(*o));
    o->timeout = FLOE_CLI_STUN_TIMEOUT;
    o->log_level = FLOE_LOG_WARN;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
        } else if (!options_done && a[0] == '-' && a[1] != '\0') {
            rc = args_stun_option(argc, argv, &i, o, err, err_cap);
            if (rc < 0)
                return rc;
        } else if (o->server) {
            return args_fail(err, err_cap, "unexpected argument", a);
        } else {
            o->server = a;
        }
    }
    if (!o->help && !o->server) {
        if (err && err_cap)
            snprintf(err, err_cap, "missing server address (HOST:PORT)");
        return FLOE_ERR_INVALID_ARG;
    }
    return 0;
}
