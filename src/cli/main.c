/* The `weir` command: runs pipelines described in spec files, checks them,
 * lists the operators, and looks into data files. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ops.h"

static const struct {
  const char *name, *text;
} helps[] = {
  {"weir",
   "NAME\n"
   "    weir - run streaming data pipelines described in YAML or JSON spec files\n\n"
   "SYNOPSIS\n"
   "    weir run SPEC [--set K=V]... [--dashboard ADDR:PORT [--dashboard-linger S]] [--resume]\n"
   "    weir validate SPEC [--set K=V]...\n"
   "    weir ops [NAME] [--json]\n"
   "    weir inspect FILE...\n"
   "    weir head FILE [-n N]\n"
   "    weir COMMAND --help\n\n"
   "SPEC FILES\n"
   "    pipeline:                 # pipeline options by their C field names\n"
   "      memory_budget: 64MiB    # sizes take KiB/MiB/GiB suffixes\n"
   "    vars:                     # defaults of ${NAME} variables\n"
   "      INPUT: data/\n"
   "    plugin: ./libmyops.so     # shared libraries with more operator kinds\n"
   "    ops:\n"
   "      - name: src             # unique within the spec\n"
   "        op: read_jsonl        # an operator kind as `weir ops` lists it\n"
   "        uri: ${INPUT}         # its options by name\n"
   "      - name: out\n"
   "        op: write_jsonl\n"
   "        input: src            # `inputs: [a, b]` where it takes several\n"
   "        uri: out/\n"
   "    output: out               # optional: the op the run drives\n\n"
   "    An operator may feed several others (fan-out); `union` merges several.\n"
   "    Without output:, every operator that feeds no other one is driven.\n"
   "    ${NAME} is replaced by --set NAME=..., else the environment, else vars:;\n"
   "    ${NAME:-default} gives a default, $$ is a dollar sign.\n\n"
   "EXIT STATUS\n"
   "    0 success; 1 the run failed; 2 a bad spec or usage; 130 cancelled by SIGINT\n"
   "    (Ctrl-C cancels cleanly; a second Ctrl-C exits at once).\n"},
  {"run",
   "NAME\n"
   "    weir run - build and run the pipeline of a spec file\n\n"
   "SYNOPSIS\n"
   "    weir run SPEC [--set K=V]... [--dashboard ADDR:PORT [--dashboard-linger S]] [--resume]\n\n"
   "OPTIONS\n"
   "    --set NAME=VALUE     set the variable ${NAME}\n"
   "    --set OP.OPT=VALUE   override option OPT of operator OP (pipeline.OPT for a\n"
   "                         pipeline option), e.g. --set dedup.threshold=0.9\n"
   "    --resume             writers keep the complete shards of an earlier run\n"
   "    --dashboard ADDR:PORT\n"
   "                         serve a live, read-only dashboard: / (page), /api/stats\n"
   "                         (JSON), /metrics (Prometheus). ADDR defaults to\n"
   "                         127.0.0.1 (`--dashboard 8080`); port 0 picks a free\n"
   "                         one. The address is printed on stderr.\n"
   "    --dashboard-linger S keep serving the final state S seconds after the run\n\n"
   "    Progress goes to stderr: redrawn lines on a terminal, a plain line every few\n"
   "    seconds otherwise (pipeline: progress: false turns it off).\n\n"
   "EXIT STATUS\n"
   "    0 success; 1 the run failed; 2 a bad spec or usage; 130 cancelled by SIGINT.\n"},
  {"validate",
   "NAME\n"
   "    weir validate - check a spec file without running it\n\n"
   "SYNOPSIS\n"
   "    weir validate SPEC [--set K=V]...\n\n"
   "DESCRIPTION\n"
   "    Reports every error it finds, each as FILE:LINE:COLUMN: malformed YAML or\n"
   "    JSON, unknown operator kinds (with the closest names), unknown or ill-typed\n"
   "    options, missing required options, dangling edges, wrong input counts and\n"
   "    cycles. Plugins the spec names are loaded (their kinds are needed).\n\n"
   "EXIT STATUS\n"
   "    0 the spec is valid; 2 it is not (or bad usage).\n"},
  {"ops",
   "NAME\n"
   "    weir ops - list the operator kinds a spec can use\n\n"
   "SYNOPSIS\n"
   "    weir ops [NAME] [--json] [--plugin LIB]...\n\n"
   "DESCRIPTION\n"
   "    Without NAME, one line per kind. With NAME, its options with types,\n"
   "    defaults and docs (NAME `pipeline` lists the pipeline: options). --json\n"
   "    prints the same tables as JSON. --plugin loads a plugin's kinds too.\n"
   "    The listing comes from the tables the spec loader checks against.\n\n"
   "EXIT STATUS\n"
   "    0; 2 for an unknown NAME or bad usage.\n"},
  {"inspect",
   "NAME\n"
   "    weir inspect - schema, rows, sizes, compression and row groups of data files\n\n"
   "SYNOPSIS\n"
   "    weir inspect FILE...\n\n"
   "DESCRIPTION\n"
   "    For each JSONL, CSV, text, Parquet or weir block file (.zst/.gz too; local\n"
   "    paths, globs, http(s):// or s3:// URIs): the format, compression, size on\n"
   "    disk, rows, blocks, bytes in memory, and each column's name and type. Reads\n"
   "    the whole file. For one Parquet file, also its footer: the writer, and per\n"
   "    row group its rows and sizes and per column chunk the physical and logical\n"
   "    type, codec, sizes, encodings and statistics (null count, min, max).\n\n"
   "EXIT STATUS\n"
   "    0; 1 when a file cannot be read; 2 bad usage.\n"},
  {"head",
   "NAME\n"
   "    weir head - print the first rows of a data file as JSON lines\n\n"
   "SYNOPSIS\n"
   "    weir head FILE [-n N]\n\n"
   "DESCRIPTION\n"
   "    Prints the first N rows (default 10) of a JSONL, CSV, text or weir block\n"
   "    file as one JSON object per line; reading stops once they are there.\n\n"
   "EXIT STATUS\n"
   "    0; 1 when the file cannot be read; 2 bad usage.\n"},
};

void cli_help(const char *cmd) {
  for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
    if (strcmp(helps[i].name, cmd) == 0) {
      fputs(helps[i].text, stdout);
      return;
    }
  fputs(helps[0].text, stdout);
}

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

weir_op_kinds *cli_kinds(void) {
  weir_op_kinds *k = NULL;
  if (weir_op_kinds_create(&k) != WEIR_OK || cli_ops_register_builtin(k) != WEIR_OK) {
    fprintf(stderr, "weir: internal error: operator table: %s\n", weir_last_errmsg());
    weir_op_kinds_destroy(k);
    return NULL;
  }
  return k;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    cli_help("weir");
    return EXIT_BAD_SPEC;
  }
  const char *cmd = argv[1];
  if (cli_is_help(cmd) || !strcmp(cmd, "help")) {
    cli_help(argc > 2 ? argv[2] : "weir");
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("weir %s\n", weir_version_string());
    return EXIT_OK;
  }
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } cmds[] = {{"run", cmd_run},         {"validate", cmd_validate}, {"ops", cmd_ops},
              {"inspect", cmd_inspect}, {"head", cmd_head}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(cmd, cmds[i].name)) {
      for (int a = 2; a < argc; a++)
        if (cli_is_help(argv[a])) {
          cli_help(cmd);
          return EXIT_OK;
        }
      return cmds[i].fn(argc - 2, argv + 2);
    }
  fprintf(stderr, "weir: unknown command '%s' (commands: run, validate, ops, inspect, head; "
                  "see weir --help)\n", cmd);
  return EXIT_BAD_SPEC;
}
