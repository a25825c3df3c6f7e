/* The floe program's top level: global options and verb dispatch. */
#include <string.h>

#include "cli.h"

static int dispatch_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "floe: %s '%s' (see 'floe --help')\n", what, arg);
    return FLOE_CLI_EXIT_USAGE;
}

static int dispatch_help(int argc, char **argv)
{
    if (argc < 3) {
        floe_cli_usage(stdout);
        return FLOE_CLI_EXIT_OK;
    }
    if (argc > 3)
        return dispatch_usage_error("unexpected argument", argv[3]);
    if (!floe_cli_help_verb(stdout, argv[2]))
        return dispatch_usage_error("no help for unknown command", argv[2]);
    return FLOE_CLI_EXIT_OK;
}

static int dispatch_stun(int argc, char **argv)
{
    struct floe_cli_stun_opts o;
    char err[256];

    if (floe_cli_stun_parse(argc, argv, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "floe stun: %s (see 'floe help stun')\n", err);
        return FLOE_CLI_EXIT_USAGE;
    }
    if (o.help) {
        floe_cli_help_verb(stdout, "stun");
        return FLOE_CLI_EXIT_OK;
    }
    return floe_cli_stun_run(&o);
}

static int dispatch_turn(int argc, char **argv)
{
    struct floe_cli_turn_opts o;
    char err[256];

    if (floe_cli_turn_parse(argc, argv, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "floe turn: %s (see 'floe help turn')\n", err);
        return FLOE_CLI_EXIT_USAGE;
    }
    if (o.help) {
        floe_cli_help_verb(stdout, "turn");
        return FLOE_CLI_EXIT_OK;
    }
    return floe_cli_turn_run(&o);
}

static int dispatch_sim(int argc, char **argv)
{
    struct floe_cli_sim_opts o;
    char err[256];

    if (floe_cli_sim_parse(argc, argv, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "floe sim: %s (see 'floe help sim')\n", err);
        return FLOE_CLI_EXIT_USAGE;
    }
    if (o.help) {
        floe_cli_help_verb(stdout, "sim");
        return FLOE_CLI_EXIT_OK;
    }
    return floe_cli_sim_run(&o);
}

int floe_cli_main(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : NULL;

    if (!verb) {
        floe_cli_usage(stderr);
        return FLOE_CLI_EXIT_USAGE;
    }
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0)
        return dispatch_help(argc, argv);
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        if (argc > 2)
            return dispatch_usage_error("unexpected argument", argv[2]);
        puts("floe " FLOE_VERSION_STRING);
        return FLOE_CLI_EXIT_OK;
    }
    if (strcmp(verb, "stun") == 0)
        return dispatch_stun(argc - 1, argv + 1);
    if (strcmp(verb, "turn") == 0)
        return dispatch_turn(argc - 1, argv + 1);
    if (strcmp(verb, "genkey") == 0 || strcmp(verb, "pubkey") == 0 || strcmp(verb, "genpsk") == 0)
        return floe_cli_keys_run(argc - 1, argv + 1);
    if (strcmp(verb, "sim") == 0)
        return dispatch_sim(argc - 1, argv + 1);
    if (verb[0] == '-')
        return dispatch_usage_error("unknown option", verb);
    return dispatch_usage_error("unknown command", verb);
}
