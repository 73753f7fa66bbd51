/* The subcommands of the `weir` command and their shared helpers. */
#ifndef WEIR_CLI_CLI_H
#define WEIR_CLI_CLI_H

#include <weir.h>

/* Exit codes (shared/API.md 7.5). */
enum { EXIT_OK = 0, EXIT_RUN_FAILED = 1, EXIT_BAD_SPEC = 2, EXIT_CANCELLED = 130 };

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_head(int argc, char **argv);

/* The registry of every built-in operator kind; NULL (with a message on
 * stderr) when it cannot be made. */
weir_op_kinds *cli_kinds(void);
/* Prints the help of `cmd` ("weir" for the overview) to stdout. */
void cli_help(const char *cmd);
/* 1 when argv[i] is -h or --help. */
int  cli_is_help(const char *arg);

#endif
