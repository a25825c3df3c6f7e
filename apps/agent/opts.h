/*
 * The command line floe-client and floe-gateway share (issue 13): one struct, one parser of the
 * common flags, one way from the parsed flags to a running agent. Each program names itself,
 * gives its --help text and its defaults, and adds only its own flags (struct option entries
 * with val >= FLOE_AGENT_OPT_OWN and a hook that takes them).
 *
 * The common flags: --portal URL, --token-file PATH, --interface NAME, --ca-file PATH,
 * -f/--foreground, --log-file PATH, --log-level LEVEL, --control-socket PATH, --name NAME,
 * --fwmark N, --no-offload, -h/--help, --version.
 */
#ifndef FLOE_AGENT_OPTS_H
#define FLOE_AGENT_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

struct option;

/* The first val a program's own flags may use (the common ones are below it). */
#define FLOE_AGENT_OPT_OWN 512
/* How many own flags a program may add. */
#define FLOE_AGENT_OPT_OWN_MAX 16

/* The parsed common flags. Strings point into argv or at the spec's defaults. */
struct floe_agent_opts {
    const char *portal;     /* --portal */
    const char *token_file; /* --token-file */
    const char *interface;  /* --interface (default: spec's defaults) */
    const char *log_file;   /* --log-file; NULL: stderr */
    const char *ca_file;    /* --ca-file; NULL: the system store */
    const char *control;    /* --control-socket (default: spec's defaults) */
    const char *name;       /* --name; NULL: none */
    enum floe_log_level log_level;
    bool foreground;
    bool no_offload;
    uint32_t mark; /* --fwmark (default FLOE_AGENT_DEFAULT_MARK) */
};

/* A program's own flags: their getopt entries and the hook that takes them. */
struct floe_agent_opts_own {
    /* val >= FLOE_AGENT_OPT_OWN, ended by a zero entry; at most FLOE_AGENT_OPT_OWN_MAX */
    const struct option *flags;
    /*
     * One of the flags (val) with its argument (NULL for a flag without one) for the program's
     * options (user). Returns 0 (taken) or 2 (refused, said on stderr, e.g. with
     * floe_agent_opts_bad).
     */
    int (*take)(void *user, int val, const char *arg);
};

/* The program's defaults of --interface and --control-socket. */
struct floe_agent_opts_defaults {
    const char *interface;
    const char *control;
};

/* What one program adds to the common parser. */
struct floe_agent_opts_spec {
    const char *prog;           /* "floe-client": the messages' prefix and --version */
    const char *usage;          /* printed by --help */
    enum floe_portal_role role; /* the portal URL is checked for this role */
    struct floe_agent_opts_defaults defaults;
    /* --interface's check; NULL: 1..15 characters, none of "/: \t\n", not "." or "..". */
    bool (*ifname_ok)(const char *name);
    struct floe_agent_opts_own own; /* zero: no flags of its own */
};

/*
 * Parse argv[1..argc) into o (defaults first); the spec's own flags go to own.take with user
 * (the program's options). The required flags are not checked here (floe_agent_opts_check). Returns
 * 0 (parsed), 1 (--help or --version printed on stdout: exit 0) or 2 (a bad flag or argument, said
 * on stderr).
 */
int floe_agent_opts_parse(struct floe_agent_opts *o, const struct floe_agent_opts_spec *s,
                          void *user, int argc, char **argv);

/*
 * Check what a daemon needs: --portal and --token-file given, the portal URL good for the
 * spec's role. Returns 0, or 2 after saying why on stderr.
 */
int floe_agent_opts_check(const struct floe_agent_opts *o, const struct floe_agent_opts_spec *s);

/* Say "PROG: WHAT: 'ARG'" and the --help hint on stderr. Returns 2. */
int floe_agent_opts_bad(const char *prog, const char *what, const char *arg);

/* A number 1..UINT32_MAX (decimal, 0x hex or 0 octal) into *out. Returns 0 or -1. */
int floe_agent_opts_u32(const char *s, uint32_t *out);

/*
 * The agent's config from o: the portal, token (borrowed), log (borrowed) and role; the
 * rest of cfg zeroed (lanes 0: one per CPU; netcfg NULL: the system's).
 */
void floe_agent_opts_config(const struct floe_agent_opts *o, const char *token,
                            struct floe_jsonlog *log, struct floe_agent_role role,
                            struct floe_agent_config *cfg);

/*
 * Run the daemon of o with role: read the token file, open the log, create the agent,
 * detach unless --foreground (not on Windows), run until stopped, free the agent. The
 * caller frees its role afterwards. Messages on stderr are prefixed with prog. Returns the
 * exit code (enum floe_agent_exit).
 */
int floe_agent_opts_run(const struct floe_agent_opts *o, const char *prog,
                        struct floe_agent_role role);

#endif
