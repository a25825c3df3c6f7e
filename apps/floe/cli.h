/*
 * The floe command-line program: verbs, their options and their help. Parsing
 * and response checking are plain functions so unit tests can call them; only
 * the *_run functions touch the network.
 */
#ifndef FLOE_CLI_H
#define FLOE_CLI_H

#include <stdio.h>

#include "floe/core.h"
#include "floe/stun.h"

/* Exit codes: success, runtime failure (network, timeout, bad response), usage error. */
#define FLOE_CLI_EXIT_OK 0
#define FLOE_CLI_EXIT_FAIL 1
#define FLOE_CLI_EXIT_USAGE 2

/* Default bound on a whole `floe stun` exchange. */
#define FLOE_CLI_STUN_TIMEOUT FLOE_SEC(5)
/* Longest --timeout accepted. */
#define FLOE_CLI_MAX_TIMEOUT FLOE_SEC(3600)
#define FLOE_CLI_SOFTWARE "floe " FLOE_VERSION_STRING

/* Options of `floe stun`; strings borrow argv. */
struct floe_cli_stun_opts {
    bool help;                     /* --help: print the verb's help and exit 0 */
    bool json;                     /* --json: one JSON object on stdout */
    enum floe_af family;           /* -4 / -6; FLOE_AF_NONE: as resolved */
    floe_time timeout;             /* --timeout S */
    enum floe_log_level log_level; /* --log-level L (default warn) */
    const char *log_file;          /* --log-file PATH; NULL: stderr */
    const char *source;            /* --source ADDR:PORT; NULL: any */
    const char *server;            /* HOST:PORT */
};

/*
 * Parse seconds as a decimal ("5", "0.25", "1.5"; at most 9 fraction digits)
 * into *out, strictly above 0 and at most FLOE_CLI_MAX_TIMEOUT.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_cli_parse_seconds(const char *s, floe_time *out);

/*
 * Parse `floe stun` arguments; argv[0] is the verb itself. On error fills
 * err[0..err_cap) with a one-line reason (no program prefix).
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_cli_stun_parse(int argc, char **argv, struct floe_cli_stun_opts *o, char *err,
                        size_t err_cap);

/* What a `floe stun` exchange found. */
struct floe_cli_stun_result {
    struct floe_addr server;
    struct floe_addr local;
    struct floe_addr reflexive; /* family FLOE_AF_NONE when the response had none */
    floe_time rtt;              /* FLOE_TIME_NEVER when retransmitted (Karn's rule) */
    uint32_t sends;
    int error_code;     /* 300..699 for an error response, 0 otherwise */
    char reason[256];   /* error reason phrase, NUL-terminated */
    char software[256]; /* SOFTWARE of the response, "" if absent */
    bool has_software;
    const char *problem; /* set when a matching response is unusable */
};

/*
 * Build the Binding request of txid (SOFTWARE FLOE_CLI_SOFTWARE, FINGERPRINT)
 * into buf. Returns its length or a negative FLOE_ERR_* from the builder.
 */
long floe_cli_stun_build_request(uint8_t *buf, size_t cap, const uint8_t *txid);

/*
 * Offer one datagram from the server to the transaction t. Returns 1 when it is
 * the answer (t is now done and r filled: reflexive address or error code,
 * software, rtt; r->problem names what made a matching response unusable), or
 * 0 when it is dropped, with *why the reason (not STUN, another transaction,
 * not a Binding response, fingerprint check failed).
 */
int floe_cli_stun_offer(struct floe_stun_txn *t, floe_time now, const uint8_t *buf, size_t len,
                        struct floe_cli_stun_result *r, const char **why);

/* Run `floe stun` with parsed options; returns the process exit code. */
int floe_cli_stun_run(const struct floe_cli_stun_opts *o);

/* Default bound on a whole `floe turn` probe. */
#define FLOE_CLI_TURN_TIMEOUT FLOE_SEC(10)
/* Lifetime of --auth-secret (coturn REST) credentials. */
#define FLOE_CLI_TURN_REST_TTL 3600

/* Options of `floe turn`; strings borrow argv. */
struct floe_cli_turn_opts {
    bool help;                     /* --help */
    bool json;                     /* --json */
    floe_time timeout;             /* --timeout S (default 10) */
    enum floe_log_level log_level; /* --log-level L (default warn) */
    const char *log_file;          /* --log-file PATH; NULL: stderr */
    const char *server;            /* --server ADDR:PORT */
    const char *peer;              /* --peer ADDR:PORT */
    const char *user;              /* --user: the username, or the REST id with --auth-secret */
    const char *password;          /* --password */
    const char *auth_secret;       /* --auth-secret: coturn's static-auth-secret */
};

/*
 * Parse `floe turn` arguments; argv[0] is the verb. Exactly one of --password
 * (with --user) and --auth-secret is required, and --server and --peer. On
 * error fills err with a one-line reason. Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_cli_turn_parse(int argc, char **argv, struct floe_cli_turn_opts *o, char *err,
                        size_t err_cap);

/*
 * coturn REST credentials for --auth-secret: the username "<expiry>:<id>" with
 * expiry = unix_now + FLOE_CLI_TURN_REST_TTL (id "floe" when NULL) into user,
 * and base64(HMAC-SHA1(secret, username)) into pass.
 * Returns 0, FLOE_ERR_BUFFER_TOO_SMALL or FLOE_ERR_CRYPTO.
 */
int floe_cli_turn_rest_credentials(char *user, size_t user_cap, char *pass, size_t pass_cap,
                                   const char *secret, const char *id, int64_t unix_now);

/* Run `floe turn` with parsed options; returns the process exit code. */
int floe_cli_turn_run(const struct floe_cli_turn_opts *o);

/* Length of a WireGuard key in base64 (as `wg genkey` prints it). */
#define FLOE_CLI_KEY_B64_LEN 44

/*
 * Parse a base64 WireGuard key text[0..len) (surrounding white space ignored) into key.
 * Returns 0 or FLOE_ERR_MALFORMED (not 44 base64 characters of 32 bytes).
 */
int floe_cli_key_parse(const char *text, size_t len, uint8_t key[32]);

/*
 * Run `floe genkey` (a clamped random private key), `floe genpsk` (a random preshared
 * key) or `floe pubkey` (the public key of the private key on stdin); argv[0] is the verb.
 * Prints one base64 key and a newline. Returns the process exit code.
 */
int floe_cli_keys_run(int argc, char **argv);

/* Options of `floe sim`; strings borrow argv. */
struct floe_cli_sim_opts {
    bool help;              /* --help */
    bool list;              /* --list: print the scenarios and exit 0 */
    bool json;              /* --json: one JSON object with the verdict and the timeline */
    uint64_t seed;          /* --seed N (default 1) */
    uint32_t seeds;         /* --seeds N: runs of a property scenario (0: its default) */
    const char *transcript; /* --transcript FILE: the simulator's JSON Lines transcript */
    const char *scenario;   /* SCENARIO */
};

/*
 * Parse `floe sim` arguments; argv[0] is the verb. A scenario is required
 * unless --list or --help is given; whether it exists is checked by
 * floe_cli_sim_run. On error fills err with a one-line reason.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_cli_sim_parse(int argc, char **argv, struct floe_cli_sim_opts *o, char *err,
                       size_t err_cap);

/*
 * Run `floe sim`: 0 when the scenario's verdict holds (or for --list), 1 when
 * it does not or the transcript cannot be written, 2 for an unknown scenario.
 */
int floe_cli_sim_run(const struct floe_cli_sim_opts *o);

/* Print the program's usage (all verbs). */
void floe_cli_usage(FILE *out);
/* Print help for verb; returns false when there is no such verb. */
bool floe_cli_help_verb(FILE *out, const char *verb);
/* Run the program: argv as given to main. Returns the exit code. */
int floe_cli_main(int argc, char **argv);

#endif
