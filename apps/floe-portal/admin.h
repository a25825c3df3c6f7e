/*
 * floe-portal's admin CLI: `floe-portal admin [--database URL] [--json] COMMAND ...` works on the
 * portal's database through the store (store.h). Exit codes: 0 success, 1 runtime error (the
 * database failed), 2 usage or invalid input (bad syntax, an id that does not exist, a name
 * taken). A command that creates something prints its id alone on the first line of stdout and,
 * when it makes a token or secret, that on the second line (shown once).
 */
#ifndef FLOE_PORTAL_ADMIN_H
#define FLOE_PORTAL_ADMIN_H

#include <stdio.h>

#define FLOE_ADMIN_EXIT_OK 0
#define FLOE_ADMIN_EXIT_RUNTIME 1
#define FLOE_ADMIN_EXIT_USAGE 2

/*
 * Run one admin command: argv[0] is "admin", the rest its arguments. Results go to out,
 * errors to err. Returns the process exit code.
 */
int floe_admin_main(int argc, char **argv, FILE *out, FILE *err);

#endif
