/* The `weir` command, driven as a user drives it: spec loading and its
 * errors, `weir ops` against the loader, exit codes (0, 1, 2, 130), --set
 * and variables, fan-out and union, plugins, inspect and head, and the
 * dashboard (through tests/cli/dashboard_check.py: /metrics through
 * prometheus_client's parser, the page in headless Chromium). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("cli"); }
/* 900 s a test: the dashboard check starts Chromium six times, and where
 * each start is slow (the CI machine's first took over a minute) that
 * needs more than 300 s. A per-test timeout here leaked inside Criterion
 * under LeakSanitizer. */
TestSuite(cli, .init = make_tmp, .fini = tmpdir_remove, .timeout = 900);

static const char *weir_exe(void) {
  const char *w = getenv("WEIR_CLI");
  cr_assert_not_null(w, "WEIR_CLI is not set (ctest sets it to the built weir program)");
  return w;
}

static const char *plugin_path(void) {
  const char *p = getenv("WEIR_TEST_PLUGIN");
  cr_assert_not_null(p, "WEIR_TEST_PLUGIN is not set (ctest sets it)");
  return p;
}

/* Reads a whole file into a new string ("" when it is missing). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return strdup("");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert_not_null(s);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

typedef struct result {
  int code;       /* exit status, or 128 + signal */
  char *out, *err;
} result;

static void result_free(result *r) {
  free(r->out);
  free(r->err);
}

/* Runs `weir ARGS` (a shell-quoted string) in the test folder. */
static result weir(const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s/stdout.txt' 2> '%s/stderr.txt'", tmpdir,
           weir_exe(), args, tmpdir, tmpdir);
  int st = system(cmd);
  result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = slurp(path_of("stdout.txt"));
  r.err = slurp(path_of("stderr.txt"));
  return r;
}

static void write_jsonl_rows(const char *name, int n) {
  FILE *f = fopen(path_of(name), "w");
  cr_assert_not_null(f);
  for (int i = 0; i < n; i++) fprintf(f, "{\"id\": %d, \"text\": \"row %d\"}\n", i, i);
  fclose(f);
}

/* Lines in every file of `dir` (output shards). */
static long count_lines(const char *dir) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cat '%s'/* 2>/dev/null | wc -l", dir);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  long n = -1;
  cr_assert_eq(fscanf(p, "%ld", &n), 1);
  pclose(p);
  return n;
}

#define assert_has(hay, needle)                                                   \
  cr_assert(strstr((hay), (needle)) != NULL, "expected %s in:\n%s", #needle, (hay))

/* ---- run: success, variables, overrides ------------------------------ */

Test(cli, run_copies_rows_with_variables_and_overrides) {
  write_jsonl_rows("in.jsonl", 5000);
  write_str(path_of("spec.yaml"),
            "pipeline:\n  memory_budget: 16MiB\n  progress: false\n  summary: false\n"
            "vars:\n  OUT: out_default\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: ${INPUT}\n"
            "  - name: cut\n    op: limit\n    input: src\n    rows: 100\n"
            "  - name: out\n    op: write_jsonl\n    input: cut\n    uri: ${OUT}/\n");
  /* The variable from --set, the output from vars:, the limit overridden. */
  result r = weir("run spec.yaml --set INPUT=in.jsonl --set cut.rows=1234");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out_default")), 1234);
  result_free(&r);
  /* From the environment. */
  r = weir("run spec.yaml --set OUT=out_env"); /* INPUT unset: an error naming it */
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "spec.yaml:10:10: variable ${INPUT} is not set");
  result_free(&r);
  setenv("INPUT", "in.jsonl", 1);
  r = weir("run spec.yaml --set OUT=out_env");
  unsetenv("INPUT");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out_env")), 100);
  result_free(&r);
  /* An override of something that does not exist is an error, not silence. */
  r = weir("run spec.yaml --set INPUT=in.jsonl --set cut.rowz=3 --set nope.rows=1");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "--set cut.rowz=3: 'cut' has no option 'rowz'");
  assert_has(r.err, "--set nope.rows=1: no operator named 'nope'");
  result_free(&r);
  /* A bad override value names where it came from. */
  r = weir("validate spec.yaml --set INPUT=x --set cut.rows=many");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "option 'rows' (int) (from --set cut.rows): 'many' is not an integer");
  result_free(&r);
}

Test(cli, json_spec_runs_like_yaml) {
  write_jsonl_rows("in.jsonl", 300);
  write_str(path_of("spec.json"),
            "{\"pipeline\": {\"progress\": false, \"summary\": false},\n"
            " \"ops\": [{\"name\": \"src\", \"op\": \"read_jsonl\", \"uri\": \"in.jsonl\", \"rows_per_block\": 7},\n"
            "         {\"name\": \"out\", \"op\": \"write_csv\", \"input\": \"src\", \"uri\": \"out/\"}]}\n");
  result r = weir("run spec.json");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out")), 301); /* header + rows */
  result_free(&r);
}

/* ---- fan-out and union --------------------------------------------------- */

Test(cli, fan_out_and_union) {
  write_jsonl_rows("a.jsonl", 1000);
  write_jsonl_rows("b.jsonl", 700);
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - {name: a, op: read_jsonl, uri: a.jsonl}\n"
            "  - {name: b, op: read_jsonl, uri: b.jsonl}\n"
            "  - {name: both, op: union, inputs: [a, b]}\n"
            "  - {name: first, op: limit, input: both, rows: 50}\n"
            "  - {name: all_out, op: write_jsonl, input: both, uri: all/}\n"
            "  - {name: few_out, op: write_jsonl, input: first, uri: few/}\n"
            "  - {name: a_copy, op: write_csv, input: a, uri: acopy/}\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  /* No output: named, so every writer runs: both fan-outs are complete. */
  cr_assert_eq(count_lines(path_of("all")), 1700);
  cr_assert_eq(count_lines(path_of("few")), 50);
  cr_assert_eq(count_lines(path_of("acopy")), 1001);
  result_free(&r);
}

/* ---- validate: every error, with file:line:column ------------------------ */

Test(cli, validate_reports_every_error_with_position) {
  write_str(path_of("bad.yaml"),
            "pipeline:\n"
            "  memory_budget: 64 parsecs\n"
            "  num_cpu: 2\n"
            "ops:\n"
            "  - name: src\n"
            "    op: read_jsonll\n"
            "    uri: x\n"
            "  - name: f\n"
            "    op: limit\n"
            "    input: srcc\n"
            "    rows: ten\n"
            "  - name: a\n"
            "    op: repartition\n"
            "    input: b\n"
            "    rows_per_block: 10\n"
            "  - name: b\n"
            "    op: repartition\n"
            "    input: a\n"
            "    rows_per_blok: 5\n"
            "  - name: out\n"
            "    op: write_jsonl\n"
            "    input: f\n"
            "  - name: dup\n"
            "    op: read_text\n"
            "    uri: t.txt\n"
            "    include_path: \"true\"\n"
            "  - name: dup\n"
            "    op: write_csv\n"
            "    inputs: [out]\n"
            "    uri: o/\n");
  result r = weir("validate bad.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "bad.yaml:2:18: pipeline: option 'memory_budget' (size): '64 parsecs' is not a size");
  assert_has(r.err, "bad.yaml:3:3: pipeline: unknown option 'num_cpu' (did you mean 'num_cpus'");
  assert_has(r.err, "bad.yaml:6:9: operator 'src': unknown operator kind 'read_jsonll' (closest: 'read_jsonl'");
  assert_has(r.err, "bad.yaml:10:12: dangling edge: no operator named 'srcc' in this spec (did you mean 'src'?)");
  assert_has(r.err, "bad.yaml:11:11: operator 'f': option 'rows' (int): 'ten' is not an integer");
  assert_has(r.err, "cycle: a -> b -> a");
  assert_has(r.err, "bad.yaml:19:5: operator 'b': unknown option 'rows_per_blok' (did you mean 'rows_per_block'?)");
  assert_has(r.err, "bad.yaml:16:5: operator 'b': option 'rows_per_block' (int) is required");
  assert_has(r.err, "bad.yaml:20:5: operator 'out': option 'uri' (string) is required");
  assert_has(r.err, "bad.yaml:26:19: operator 'dup': option 'include_path' is a boolean");
  assert_has(r.err, "bad.yaml:27:11: operator name 'dup' is used twice (first at line 23)");
  assert_has(r.err, "bad.yaml:29:14: operator 'dup' cannot read from 'out': it is a writer");
  result_free(&r);
}

Test(cli, malformed_and_hostile_files) {
  write_str(path_of("m.yaml"), "ops:\n  - name: a\n    op: [x\n");
  result r = weir("validate m.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "m.yaml:4:1: did not find expected ',' or ']'");
  result_free(&r);

  write_str(path_of("m.json"), "{\"ops\": [{\"name\": \"a\", \"op\": \"read_text\",, }]}\n");
  r = weir("validate m.json");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "m.json:1:");
  result_free(&r);

  write_str(path_of("types.json"),
            "{\"ops\": [{\"name\": \"a\", \"op\": \"read_text\", \"uri\": \"t\"},\n"
            "  {\"name\": \"b\", \"op\": \"limit\", \"input\": \"a\", \"rows\": [1]}]}\n");
  r = weir("validate types.json");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "types.json:2:54: operator 'b': option 'rows' takes a single value, not a list");
  result_free(&r);

  /* Deep nesting stops at a limit instead of exhausting anything. */
  FILE *f = fopen(path_of("deep.yaml"), "w");
  fputs("ops: ", f);
  for (int i = 0; i < 10000; i++) fputc('[', f);
  for (int i = 0; i < 10000; i++) fputc(']', f);
  fputc('\n', f);
  fclose(f);
  r = weir("validate deep.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "nesting deeper than 64 levels");
  result_free(&r);

  /* A huge file is refused by size, not read into memory. */
  f = fopen(path_of("huge.yaml"), "w");
  fputs("ops:\n", f);
  for (int i = 0; i < 600000; i++) fprintf(f, "  - {name: op%d, op: limit, rows: 1}\n", i);
  fclose(f);
  r = weir("validate huge.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "larger than a spec may be");
  result_free(&r);

  /* Aliases (the billion-laughs expansion) are refused. */
  write_str(path_of("alias.yaml"), "vars: &a {X: 1}\nops: *a\n");
  r = weir("validate alias.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "alias.yaml:1:7: YAML anchors (&name) are not allowed");
  result_free(&r);

  r = weir("validate missing.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "missing.yaml: cannot open");
  result_free(&r);

  write_str(path_of("empty.yaml"), "");
  r = weir("validate empty.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "empty.yaml:1:1: the file is empty");
  result_free(&r);
}

/* ---- usage and exit codes -------------------------------------------------- */

Test(cli, usage_errors_exit_2_and_help_exits_0) {
  result r = weir("frobnicate");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "unknown command 'frobnicate'");
  result_free(&r);
  r = weir("run");
  cr_assert_eq(r.code, 2);
  result_free(&r);
  r = weir("run x.yaml --bogus");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "unknown option '--bogus'");
  result_free(&r);
  r = weir("run x.yaml --set novalue");
  cr_assert_eq(r.code, 2);
  result_free(&r);
  const char *cmds[] = {"run", "validate", "ops", "inspect", "head"};
  for (size_t i = 0; i < 5; i++) {
    char args[64];
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    r = weir(args);
    cr_assert_eq(r.code, 0);
    char want[64];
    snprintf(want, sizeof want, "weir %s - ", cmds[i]);
    assert_has(r.out, want);
    assert_has(r.out, "EXIT STATUS");
    result_free(&r);
  }
  r = weir("--help");
  cr_assert_eq(r.code, 0);
  assert_has(r.out, "130 cancelled by SIGINT");
  result_free(&r);
}

Test(cli, failed_run_exits_1_with_the_operator_named) {
  write_str(path_of("in.jsonl"), "{\"a\": 1}\n{\"a\": 2}\n{\"a\": oops}\n");
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n  - {name: src, op: read_jsonl, uri: in.jsonl}\n"
            "  - {name: out, op: write_jsonl, input: src, uri: out/}\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 1, "stderr: %s", r.err);
  assert_has(r.err, "weir: run failed:");
  assert_has(r.err, "in.jsonl:3");
  result_free(&r);
  /* The error policy from the spec skips the line instead. */
  r = weir("run spec.yaml --set src.on_error=skip");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out")), 2);
  result_free(&r);
  /* An input that does not exist fails the run (1), naming the operator. */
  r = weir("run spec.yaml --set src.uri=nothing-here.jsonl");
  cr_assert_eq(r.code, 1, "stderr: %s", r.err);
  assert_has(r.err, "spec.yaml:3:5: operator 'src' (read_jsonl):");
  result_free(&r);
}

/* Starts `weir ARGS` in the background; returns its pid. */
static pid_t weir_bg(const char *args) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    if (chdir(tmpdir) != 0) _exit(99);
    int out = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec '%s' %s", getenv("WEIR_CLI"), args);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(98);
  }
  return pid;
}

static int wait_code(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 20; i++) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(50000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_fail("weir did not exit within %d s", seconds);
  return -1;
}

/* Waits until the run has made output rows (the sink saw blocks). */
static void wait_running(void) {
  for (int i = 0; i < 400; i++) {
    char *err = slurp(path_of("stderr.txt"));
    int started = strstr(err, "weir progress") != NULL;
    free(err);
    if (started) return;
    usleep(50000);
  }
  cr_assert_fail("the run never reported progress");
}

static void slow_spec(const char *name) {
  char text[1024];
  snprintf(text, sizeof text,
           "plugin: %s\n"
           "pipeline: {progress: true, progress_interval: 0.2, summary: false}\n"
           "ops:\n"
           "  - {name: gen, op: test_counter, num_rows: 10000000, rows_per_block: 1000}\n"
           "  - {name: slow, op: test_sleep, input: gen, ms_per_block: 50, max_workers: 1}\n"
           "  - {name: out, op: write_jsonl, input: slow, uri: out/}\n",
           plugin_path());
  write_str(path_of(name), text);
}

Test(cli, sigint_cancels_cleanly_with_130) {
  slow_spec("slow.yaml");
  pid_t pid = weir_bg("run slow.yaml");
  wait_running();
  kill(pid, SIGINT);
  int code = wait_code(pid, 60);
  char *err = slurp(path_of("stderr.txt"));
  cr_assert_eq(code, 130, "stderr: %s", err);
  assert_has(err, "cancelling (Ctrl-C again to exit at once)");
  assert_has(err, "weir: cancelled");
  free(err);
  /* Cancelled writers leave no file that looks whole: only hidden
   * temporaries may remain, never a part-* shard of the cut run. */
  cr_assert_eq(count_lines(path_of("out")), 0);
}

Test(cli, second_sigint_exits_at_once) {
  /* A stage that sleeps long per block keeps the cancel waiting, so the
   * second Ctrl-C is what ends the process. */
  char text[1024];
  snprintf(text, sizeof text,
           "plugin: %s\n"
           "pipeline: {progress: true, progress_interval: 0.2, summary: false}\n"
           "ops:\n"
           "  - {name: gen, op: test_counter, num_rows: 100000, rows_per_block: 10}\n"
           "  - {name: slow, op: test_sleep, input: gen, ms_per_block: 20000, max_workers: 1}\n",
           plugin_path());
  write_str(path_of("stuck.yaml"), text);
  pid_t pid = weir_bg("run stuck.yaml");
  wait_running();
  kill(pid, SIGINT);
  usleep(300000);
  kill(pid, SIGINT);
  int code = wait_code(pid, 10);
  char *err = slurp(path_of("stderr.txt"));
  cr_assert_eq(code, 130, "stderr: %s", err);
  assert_has(err, "exiting at once");
  free(err);
}

/* ---- plugins --------------------------------------------------------------- */

Test(cli, plugin_kinds_run_and_are_listed) {
  char text[1024];
  snprintf(text, sizeof text,
           "plugin: %s\n"
           "pipeline: {progress: false, summary: false}\n"
           "ops:\n"
           "  - {name: gen, op: test_counter, num_rows: 2500, rows_per_block: 100}\n"
           "  - {name: out, op: write_jsonl, input: gen, uri: out/}\n",
           plugin_path());
  write_str(path_of("p.yaml"), text);
  result r = weir("run p.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out")), 2500);
  result_free(&r);
  char args[1024];
  snprintf(args, sizeof args, "ops test_counter --plugin '%s'", plugin_path());
  r = weir(args);
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "num_rows");
  assert_has(r.out, "(required)");
  result_free(&r);
  /* A spec cannot load anything that is not a weir plugin. */
  write_str(path_of("notplugin.yaml"),
            "plugin: /lib/x86_64-linux-gnu/libc.so.6\nops:\n  - {name: a, op: read_text, uri: x}\n");
  r = weir("validate notplugin.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "notplugin.yaml:1:9: plugin '/lib/x86_64-linux-gnu/libc.so.6' has no weir_plugin_init function");
  result_free(&r);
  write_str(path_of("noplugin.yaml"),
            "plugin: ./libnothing.so\nops:\n  - {name: a, op: read_text, uri: x}\n");
  r = weir("validate noplugin.yaml");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "noplugin.yaml:1:9: plugin '");
  assert_has(r.err, "libnothing.so");
  result_free(&r);
}

/* ---- ops round trip --------------------------------------------------------- */

/* The tests' Python; missing, the test fails (srv_missing). */
static const char *python(void) {
  static char py[1024];
  char why[1024];
  char *p = srv_venv_bin("python", why, sizeof why);
  if (!p) srv_missing(why);
  snprintf(py, sizeof py, "%s", p);
  free(p);
  return py;
}

static int run_script(const char *script, const char *extra) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/cli/%s' --weir '%s' --plugin '%s' --workdir '%s' %s",
           python(), WEIR_TEST_SOURCE_DIR, script, weir_exe(), plugin_path(), tmpdir, extra);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(cli, every_option_round_trips_through_ops_and_the_loader) {
  cr_assert_eq(run_script("ops_roundtrip.py", ""), 0);
}

/* ---- inspect and head -------------------------------------------------------- */

Test(cli, inspect_and_head) {
  write_jsonl_rows("in.jsonl", 1234);
  write_str(path_of("in.csv"), "x,y\n1,a\n2,b\n3,\n");
  result r = weir("inspect in.jsonl in.csv");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "format: jsonl  compression: none");
  assert_has(r.out, "rows: 1234");
  assert_has(r.out, "rows: 3");
  assert_has(r.out, "id                       int64");
  assert_has(r.out, "text                     string");
  result_free(&r);
  r = weir("head in.jsonl -n 2");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, "{\"id\": 0, \"text\": \"row 0\"}\n{\"id\": 1, \"text\": \"row 1\"}\n");
  result_free(&r);
  r = weir("head in.csv");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, "{\"x\": 1, \"y\": \"a\"}\n{\"x\": 2, \"y\": \"b\"}\n{\"x\": 3, \"y\": null}\n");
  result_free(&r);
  r = weir("head nothing.jsonl");
  cr_assert_eq(r.code, 1);
  result_free(&r);
  r = weir("head in.parquet2");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "unknown format");
  result_free(&r);
}

/* The text and Parquet operators run from a spec: duplicates (by DPK's
 * normalisation: case and punctuation) dropped in input order, an
 * annotation column added, the result written as Parquet and read back. */
Test(cli, text_and_parquet_kinds_run) {
  FILE *f = fopen(path_of("docs.jsonl"), "w");
  cr_assert_not_null(f);
  for (int i = 0; i < 600; i++)
    fprintf(f, "{\"id\": %d, \"text\": \"%s document number %d.\"}\n", i,
            i % 2 ? "A" : "a", i % 150);
  fclose(f);
  write_str(path_of("spec.yaml"),
            "pipeline:\n  memory_budget: 32MiB\n  progress: false\n  summary: false\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: docs.jsonl\n"
            "  - name: dedup\n    op: dedup_exact\n    input: src\n"
            "  - name: gopher\n    op: text_quality_gopher\n    input: dedup\n"
            "    mode: annotate\n    min_doc_words: 2\n"
            "  - name: out\n    op: write_parquet\n    input: gopher\n    uri: out/\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  r = weir("inspect out/part-00000.parquet");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "format: parquet");
  assert_has(r.out, "rows: 150 ");
  result_free(&r);
  r = weir("head out/part-00000.parquet -n 2");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "{\"id\": 0, \"text\": \"a document number 0.\"");
  assert_has(r.out, "{\"id\": 1, \"text\": \"A document number 1.\"");
  cr_assert(strstr(r.out, "\"id\": 150") == NULL, "%s", r.out);
  result_free(&r);
}

/* inspect shows a Parquet file's own layout: row groups, their rows, the
 * codec and each column chunk's statistics, checked against what the test
 * computed from the data pyarrow wrote (tests/parquet/pq_tool.py groups). */
Test(cli, inspect_shows_parquet_row_groups_and_statistics) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/parquet/pq_tool.py' groups '%s'", python(),
           WEIR_TEST_SOURCE_DIR, path_of("g.parquet"));
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  long long rows[2], lo[2], hi[2], nulls[2];
  char smin[2][64], smax[2][64];
  for (int g = 0; g < 2; g++)
    cr_assert_eq(fscanf(p, "%lld %lld %lld %lld %63s %63s", &rows[g], &lo[g], &hi[g], &nulls[g],
                        smin[g], smax[g]), 6, "pq_tool.py groups printed too little");
  cr_assert_eq(pclose(p), 0, "pq_tool.py groups failed");
  result r = weir("inspect g.parquet");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "format: parquet");
  assert_has(r.out, "rows: 1000 ");
  assert_has(r.out, "created_by: parquet-cpp-arrow");
  assert_has(r.out, "row groups: 2 ");
  for (int g = 0; g < 2; g++) {
    char want[512];
    snprintf(want, sizeof want, "row group %d: rows: %lld ", g, rows[g]);
    assert_has(r.out, want);
    /* This group's part of the output: up to the next group. */
    char *at = strstr(r.out, want);
    char *next = strstr(at + 1, "row group ");
    char part[4096];
    snprintf(part, sizeof part, "%.*s", next ? (int)(next - at) : (int)strlen(at), at);
    assert_has(part, "id: INT64");
    assert_has(part, "s: BYTE_ARRAY STRING");
    assert_has(part, "codec: ZSTD");
    snprintf(want, sizeof want, "nulls: 0  min: %lld  max: %lld\n", lo[g], hi[g]);
    assert_has(part, want);
    snprintf(want, sizeof want, "nulls: %lld  min: \"%s\"  max: \"%s\"\n", nulls[g], smin[g],
             smax[g]);
    assert_has(part, want);
  }
  result_free(&r);
  /* Not Parquet under a .parquet name: exit 1, the file named. */
  write_str(path_of("bad.parquet"), "this is not a parquet file at all\n");
  r = weir("inspect bad.parquet");
  cr_assert_eq(r.code, 1, "stdout: %s", r.out);
  assert_has(r.err, "bad.parquet");
  result_free(&r);
}

/* dedup_minhash from a spec: documents equal after DataTrove's
 * normalisation (case, punctuation) collapse to their first occurrence. */
Test(cli, dedup_minhash_kind_runs) {
  FILE *f = fopen(path_of("docs.jsonl"), "w");
  cr_assert_not_null(f);
  for (int i = 0; i < 200; i++) {
    int k = i % 100;
    fprintf(f, "{\"id\": %d, \"text\": \"%s river w%c%c stone light%c field%c, end.\"}\n", i,
            i < 100 ? "The" : "THE", 'a' + k / 26, 'a' + k % 26, 'a' + k % 7, 'a' + k % 3);
  }
  fclose(f);
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: docs.jsonl\n"
            "  - name: mh\n    op: dedup_minhash\n    input: src\n    memory_limit: 1MiB\n"
            "  - name: out\n    op: write_jsonl\n    input: mh\n    uri: out/\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  r = weir("inspect out/part-00000.jsonl");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  assert_has(r.out, "rows: 100");
  result_free(&r);
  r = weir("head out/part-00000.jsonl -n 1");
  assert_has(r.out, "{\"id\": 0, ");
  result_free(&r);
}

/* chunk_text from a spec: Markdown sections of each document, their byte
 * ranges and heading paths, the document's id kept. */
Test(cli, chunk_text_kind_runs) {
  write_str(path_of("docs.jsonl"),
            "{\"id\": 7, \"text\": \"# A\\nalpha.\\n## B\\nbeta.\"}\n"
            "{\"id\": 8, \"text\": \"\"}\n");
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: docs.jsonl\n"
            "  - name: chunks\n    op: chunk_text\n    input: src\n    method: markdown\n"
            "    doc_id_column: id\n"
            "  - name: out\n    op: write_jsonl\n    input: chunks\n    uri: out/\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  char *out = slurp(path_of("out/part-00000.jsonl"));
  assert_has(out, "{\"chunk\":\"# A\\nalpha.\",\"chunk_index\":0,\"doc_id\":7,"
                  "\"start\":0,\"end\":10,\"heading_path\":\"A\"}\n");
  assert_has(out, "{\"chunk\":\"## B\\nbeta.\",\"chunk_index\":1,\"doc_id\":7,"
                  "\"start\":11,\"end\":21,\"heading_path\":\"A > B\"}\n");
  cr_assert(strstr(out, "\"doc_id\":8") == NULL, "%s", out);
  free(out);
  /* chunk_files: each file one document, read in pieces; doc_id is its path. */
  cr_assert_eq(mkdir(path_of("md"), 0777), 0);
  write_str(path_of("md/a.md"), "# A\nalpha.\n## B\nbeta.");
  write_str(path_of("files.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - name: chunks\n    op: chunk_files\n    uri: md/\n    method: markdown\n"
            "  - name: out\n    op: write_jsonl\n    input: chunks\n    uri: files/\n");
  r = weir("run files.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  out = slurp(path_of("files/part-00000.jsonl"));
  assert_has(out, "{\"chunk\":\"## B\\nbeta.\",\"chunk_index\":1,\"doc_id\":\"md/a.md\","
                  "\"start\":11,\"end\":21,\"heading_path\":\"A > B\"}\n");
  free(out);
}

/* ---- tokenize, pack_sequences and chunk_text by tokens ----------------------- */

/* Numbers of one line of a reference file (tests/text/tokenize_reference.py). */
static size_t ref_line(FILE *f, long long **v) {
  char *line = NULL;
  size_t lc = 0, n = 0, cap = 0;
  cr_assert_geq(getline(&line, &lc, f), 0, "reference file short");
  *v = NULL;
  for (char *p = line, *end;; p = end) {
    long long x = strtoll(p, &end, 10);
    if (end == p) break;
    if (n == cap) *v = realloc(*v, (cap = cap ? cap * 2 : 64) * sizeof **v);
    (*v)[n++] = x;
  }
  free(line);
  return n;
}

/* The integers of the JSON array after `"key":[` in `line`, into v[0..cap). */
static size_t json_ints(const char *line, const char *key, long long *v, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char *p = strstr(line, pat);
  cr_assert_not_null(p, "no %s in %s", key, line);
  p += strlen(pat);
  size_t n = 0;
  while (*p && *p != ']') {
    char *end;
    long long x = strtoll(p, &end, 10);
    cr_assert(end != p, "not a number in %s", line);
    cr_assert_lt(n, cap);
    v[n++] = x;
    p = *end == ',' ? end + 1 : end;
  }
  return n;
}

static long long json_int(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  cr_assert_not_null(p, "no %s in %s", key, line);
  return strtoll(p + strlen(pat), NULL, 10);
}

/* tokenize, pack_sequences and chunk_text (method tokens) from specs, against
 * the `tokenizers` package: a byte-level BPE that
 * tests/text/tokenize_reference.py trains, its corpus of hard cases (emoji,
 * CJK, combining marks, \r\n, an added token inside a word, empty
 * documents), each document's ids, the ids packed with EOS into rows cut
 * by hand, and the byte ranges of windows of 16 tokens with 5 of overlap
 * computed from the package's offsets. */
Test(cli, tokenize_pack_and_token_chunks_run) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/tokenize_reference.py' '%s' 16", python(),
           WEIR_TEST_SOURCE_DIR, tmpdir);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  enum { DOCS = 700 };
  long long *ids[DOCS], *c16[DOCS], *skip;
  size_t nids[DOCS], nc16[DOCS];
  FILE *f = fopen(path_of("ref.txt"), "r");
  cr_assert_not_null(f);
  for (int d = 0; d < DOCS; d++) {
    nids[d] = ref_line(f, &ids[d]);
    nc16[d] = ref_line(f, &c16[d]);
    ref_line(f, &skip);
    free(skip);
  }
  fclose(f);
  f = fopen(path_of("replace.txt"), "r");
  cr_assert_not_null(f);
  free((ref_line(f, &skip), skip));
  cr_assert_eq(ref_line(f, &skip), 1);
  long long eot = skip[0];
  free(skip);
  fclose(f);

  /* tokenize: every document's ids, the text column dropped. */
  write_str(path_of("tok.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: corpus.jsonl\n"
            "  - name: tok\n    op: tokenize\n    input: src\n    tokenizer: tokenizer.json\n"
            "    keep_text: false\n    max_workers: 2\n"
            "  - name: out\n    op: write_jsonl\n    input: tok\n    uri: tok/\n");
  result r = weir("run tok.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  static long long got[1 << 16];
  f = fopen(path_of("tok/part-00000.jsonl"), "r");
  cr_assert_not_null(f);
  char *line = NULL;
  size_t lc = 0;
  int d = 0;
  for (; getline(&line, &lc, f) > 0; d++) {
    cr_assert_lt(d, DOCS);
    cr_assert_eq(json_int(line, "i"), d, "documents out of order: %s", line);
    cr_assert(strstr(line, "\"text\"") == NULL, "keep_text: false kept it: %s", line);
    size_t n = json_ints(line, "tokens", got, sizeof got / sizeof got[0]);
    cr_assert_eq(n, nids[d], "document %d: %zu ids, the package %zu", d, n, nids[d]);
    cr_assert_eq(json_int(line, "token_count"), (long long)n);
    for (size_t k = 0; k < n; k++)
      cr_assert_eq(got[k], ids[d][k], "document %d id %zu", d, k);
  }
  fclose(f);
  cr_assert_eq(d, DOCS);

  /* tokenize then pack_sequences: rows of 64 ids, EOS after each non-empty
   * document, the last partial row padded with 0. */
  size_t total = 0;
  for (d = 0; d < DOCS; d++) total += nids[d] + 1;
  long long *stream = malloc((total + 64) * sizeof *stream);
  size_t ns = 0;
  for (d = 0; d < DOCS; d++) {
    if (!nids[d]) continue;
    memcpy(stream + ns, ids[d], nids[d] * sizeof *stream);
    ns += nids[d];
    stream[ns++] = eot;
  }
  size_t rows = (ns + 63) / 64;
  for (size_t k = ns; k < rows * 64; k++) stream[k] = 0;
  char spec[2048];
  snprintf(spec, sizeof spec,
           "pipeline: {progress: false, summary: false}\n"
           "ops:\n"
           "  - name: src\n    op: read_jsonl\n    uri: corpus.jsonl\n"
           "  - name: tok\n    op: tokenize\n    input: src\n    tokenizer: tokenizer.json\n"
           "  - name: pack\n    op: pack_sequences\n    input: tok\n    seq_len: 64\n"
           "    eos_id: %lld\n    num_tokens: true\n"
           "  - name: out\n    op: write_jsonl\n    input: pack\n    uri: pack/\n",
           eot);
  write_str(path_of("pack.yaml"), spec);
  r = weir("run pack.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  f = fopen(path_of("pack/part-00000.jsonl"), "r");
  cr_assert_not_null(f);
  size_t row = 0;
  for (; getline(&line, &lc, f) > 0; row++) {
    cr_assert_lt(row, rows);
    cr_assert_eq(json_ints(line, "tokens", got, 64), 64, "row %zu: %s", row, line);
    for (size_t k = 0; k < 64; k++)
      cr_assert_eq(got[k], stream[row * 64 + k], "row %zu token %zu", row, k);
    cr_assert_eq(json_int(line, "num_tokens"), row + 1 < rows ? 64 : (long long)(ns - row * 64));
  }
  fclose(f);
  cr_assert_eq(row, rows);
  free(stream);

  /* chunk_text by tokens: windows of 16 tokens, 5 shared, as byte ranges. */
  write_str(path_of("chunk.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: corpus.jsonl\n"
            "  - name: chunks\n    op: chunk_text\n    input: src\n    method: tokens\n"
            "    tokenizer: tokenizer.json\n    chunk_size: 16\n    overlap: 5\n"
            "    doc_id_column: i\n    keep_columns: false\n"
            "  - name: out\n    op: write_jsonl\n    input: chunks\n    uri: chunks/\n");
  r = weir("run chunk.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  f = fopen(path_of("chunks/part-00000.jsonl"), "r");
  cr_assert_not_null(f);
  size_t seen[DOCS] = {0};
  int last = -1;
  while (getline(&line, &lc, f) > 0) {
    d = (int)json_int(line, "doc_id");
    cr_assert(d >= last && d < DOCS, "chunks out of document order: %s", line);
    last = d;
    size_t k = seen[d]++;
    cr_assert_eq(json_int(line, "chunk_index"), (long long)k, "%s", line);
    cr_assert_lt(2 * k + 1, nc16[d], "document %d: more chunks than the package's windows", d);
    cr_assert_eq(json_int(line, "start"), c16[d][2 * k], "document %d chunk %zu", d, k);
    cr_assert_eq(json_int(line, "end"), c16[d][2 * k + 1], "document %d chunk %zu", d, k);
  }
  fclose(f);
  free(line);
  for (d = 0; d < DOCS; d++) {
    cr_assert_eq(2 * seen[d], nc16[d], "document %d: %zu chunks, the package's windows %zu", d,
                 seen[d], nc16[d] / 2);
    free(ids[d]);
    free(c16[d]);
  }

  /* A tokenizer file that is not there: a bad spec (exit 2), the file and
   * the operator named; the method without a tokenizer likewise. */
  write_str(path_of("bad.yaml"),
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: corpus.jsonl\n"
            "  - name: tok\n    op: tokenize\n    input: src\n    tokenizer: nothing.json\n");
  r = weir("run bad.yaml");
  cr_assert_eq(r.code, 2, "stderr: %s", r.err);
  assert_has(r.err, "nothing.json");
  assert_has(r.err, "operator 'tok' (tokenize)");
  result_free(&r);
  write_str(path_of("bad2.yaml"),
            "ops:\n"
            "  - name: src\n    op: read_jsonl\n    uri: corpus.jsonl\n"
            "  - name: ch\n    op: chunk_text\n    input: src\n    method: tokens\n");
  r = weir("run bad2.yaml");
  cr_assert_eq(r.code, 2, "stderr: %s", r.err);
  assert_has(r.err, "method tokens needs the option tokenizer");
  result_free(&r);
}

Test(cli, resume_keeps_complete_shards) {
  write_jsonl_rows("in.jsonl", 1000);
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n  - {name: src, op: read_jsonl, uri: in.jsonl}\n"
            "  - {name: out, op: write_jsonl, input: src, uri: out/, shard_rows: 100}\n");
  result r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  result_free(&r);
  /* Mark a complete shard; with --resume it is kept as it is. */
  FILE *f = fopen(path_of("out/part-00003.jsonl"), "a");
  cr_assert_not_null(f);
  fputs("{\"marker\": 1}\n", f);
  fclose(f);
  r = weir("run spec.yaml --resume");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out")), 1001);
  result_free(&r);
  r = weir("run spec.yaml");
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_eq(count_lines(path_of("out")), 1000);
  result_free(&r);
}

/* ---- the dashboard ------------------------------------------------------------- */

Test(cli, dashboard_in_chromium_and_metrics_parsed_by_prometheus_client) {
  const char *art = getenv("WEIR_TEST_ARTIFACTS");
  char extra[1024];
  snprintf(extra, sizeof extra, "--artifacts '%s'", art ? art : tmpdir);
  cr_assert_eq(run_script("dashboard_check.py", extra), 0);
}

Test(cli, dashboard_bad_address_is_a_usage_error) {
  write_jsonl_rows("in.jsonl", 10);
  write_str(path_of("spec.yaml"),
            "pipeline: {progress: false, summary: false}\n"
            "ops:\n  - {name: src, op: read_jsonl, uri: in.jsonl}\n");
  result r = weir("run spec.yaml --dashboard nowhere:80");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "'nowhere' is not an IP address");
  result_free(&r);
  r = weir("run spec.yaml --dashboard 127.0.0.1:99999");
  cr_assert_eq(r.code, 2);
  result_free(&r);
  r = weir("run spec.yaml --dashboard-linger 3");
  cr_assert_eq(r.code, 2);
  assert_has(r.err, "--dashboard-linger needs --dashboard");
  result_free(&r);
}

/* ---- examples/specs ---------------------------------------------------------------- */

Test(cli, example_specs_validate_and_run) {
  const char *plugins = getenv("WEIR_EXAMPLE_PLUGINS");
  cr_assert_not_null(plugins, "WEIR_EXAMPLE_PLUGINS is not set (ctest sets it)");
  const char *specs[] = {"arrow_interop", "cuda_custom_op", "demo", "jsonl_pipeline",
                         "pipeline_basics", "video_frames"};
  char args[4096];
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    snprintf(args, sizeof args,
             "validate '%s/examples/specs/%s.yaml' --set PLUGINS='%s' --set INPUT=x --set VIDEOS=x "
             "--set IMAGES=x --set OUTPUT=out/",
             WEIR_TEST_SOURCE_DIR, specs[i], plugins);
    result r = weir(args);
    cr_assert_eq(r.code, 0, "%s: %s", specs[i], r.err);
    result_free(&r);
  }
  snprintf(args, sizeof args, "run '%s/examples/specs/pipeline_basics.yaml' --set PLUGINS='%s' --set OUTPUT=basics/",
           WEIR_TEST_SOURCE_DIR, plugins);
  result r = weir(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert_eq(count_lines(path_of("basics")), 50000);
  assert_has(r.err, "add_square"); /* the summary table */
  result_free(&r);
  /* jsonl_pipeline keeps the documents of at least MIN_CHARS bytes. */
  FILE *f = fopen(path_of("docs.jsonl"), "w");
  for (int i = 0; i < 1000; i++) fprintf(f, "{\"text\": \"%.*s\"}\n", i % 40, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
  fclose(f);
  snprintf(args, sizeof args,
           "run '%s/examples/specs/jsonl_pipeline.yaml' --set PLUGINS='%s' --set INPUT=docs.jsonl "
           "--set OUTPUT=long/ --set MIN_CHARS=30",
           WEIR_TEST_SOURCE_DIR, plugins);
  r = weir(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  result_free(&r);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "zstd -dc '%s'/long/*.zst | wc -l", tmpdir);
  FILE *p = popen(cmd, "r");
  long n = -1;
  cr_assert_eq(fscanf(p, "%ld", &n), 1);
  pclose(p);
  cr_assert_eq(n, 250); /* lengths 30..39 of every 40 */
}
