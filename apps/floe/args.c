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

static int args_stun_option(int argc, char **argv, int *i, struct floe_cli_stun_opts *o, char *err,
                            size_t cap)
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

/* --name VALUE options of `floe turn`, and where each value goes. */
static const char **args_turn_slot(struct floe_cli_turn_opts *o, const char *name)
{
    if (strcmp(name, "--server") == 0)
        return &o->server;
    if (strcmp(name, "--peer") == 0)
        return &o->peer;
    if (strcmp(name, "--user") == 0)
        return &o->user;
    if (strcmp(name, "--password") == 0)
        return &o->password;
    if (strcmp(name, "--auth-secret") == 0)
        return &o->auth_secret;
    return &o->log_file;
}

static int args_turn_value(struct floe_cli_turn_opts *o, const char *name, const char *val,
                           char *err, size_t cap)
{
    if (strcmp(name, "--timeout") == 0) {
        if (floe_cli_parse_seconds(val, &o->timeout) < 0)
            return args_fail(err, cap, "invalid --timeout (seconds, up to 3600)", val);
        return 0;
    }
    if (strcmp(name, "--log-level") == 0) {
        if (floe_log_level_parse(val, &o->log_level) < 0)
            return args_fail(err, cap, "invalid --log-level (trace..error, off)", val);
        return 0;
    }
    if (!*val)
        return args_fail(err, cap, "empty value for", name);
    *args_turn_slot(o, name) = val;
    return 0;
}

static int args_turn_option(int argc, char **argv, int *i, struct floe_cli_turn_opts *o, char *err,
                            size_t cap)
{
    static const char *const names[] = {"--server",      "--peer",    "--user",      "--password",
                                        "--auth-secret", "--timeout", "--log-level", "--log-file"};
    const char *a = argv[*i], *val;
    size_t k;
    int rc;

    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        o->help = true;
        return 0;
    }
    if (strcmp(a, "--json") == 0) {
        o->json = true;
        return 0;
    }
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        rc = args_value(argc, argv, i, names[k], &val);
        if (rc < 0)
            return args_fail(err, cap, "missing value for", names[k]);
        if (rc > 0)
            return args_turn_value(o, names[k], val, err, cap);
    }
    return args_fail(err, cap, a[0] == '-' ? "unknown option" : "unexpected argument", a);
}

/* The combinations of options `floe turn` needs. */
static int args_turn_check(const struct floe_cli_turn_opts *o, char *err, size_t cap)
{
    const char *why = NULL;

    if (!o->server)
        why = "missing --server ADDR:PORT";
    else if (!o->peer)
        why = "missing --peer ADDR:PORT";
    else if (o->password && o->auth_secret)
        why = "--password and --auth-secret exclude each other";
    else if (!o->password && !o->auth_secret)
        why = "missing credentials: --user U --password P, or --auth-secret S";
    else if (o->password && !o->user)
        why = "--password needs --user";
    if (!why)
        return 0;
    if (err && cap)
        snprintf(err, cap, "%s", why);
    return FLOE_ERR_INVALID_ARG;
}

int floe_cli_turn_parse(int argc, char **argv, struct floe_cli_turn_opts *o, char *err,
                        size_t err_cap)
{
    int i, rc;

    if (!o || !argv)
        return FLOE_ERR_INVALID_ARG;
    memset(o, 0, sizeof(*o));
    o->timeout = FLOE_CLI_TURN_TIMEOUT;
    o->log_level = FLOE_LOG_WARN;
    for (i = 1; i < argc; i++) {
        rc = args_turn_option(argc, argv, &i, o, err, err_cap);
        if (rc < 0)
            return rc;
    }
    return o->help ? 0 : args_turn_check(o, err, err_cap);
}
