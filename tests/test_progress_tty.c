/* The live progress display on a real terminal: a run writes to a
 * pseudo-terminal (forkpty), and what it wrote is interpreted into the
 * screen a user sees (term_emu.h). Log lines scroll above the live block
 * and stay, the final error is the last thing on screen, lines fit the
 * terminal's width, and the block is redrawn in place (no stale copies in
 * the scrollback). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pty.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weir.h>

#include "term_emu.h"
#include "test_exec_util.h"

typedef struct child_cfg {
  const char *src_name, *op_name;
  int fail_at;          /* the op fails on this call (1-based); 0 = never */
  int warn_every;       /* the op logs a warning every this many calls */
  size_t tasks;
} child_cfg;

static atomic_int calls;
static const child_cfg *cfg;

static int embed(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  int k = atomic_fetch_add(&calls, 1) + 1;
  weir_ctx *ctx = weir_emit_ctx(out);
  eu_sleep_us(20000);
  if (cfg->warn_every && k % cfg->warn_every == 0)
    weir_ctx_log(ctx, WEIR_LOG_WARN, "embed warning %d: the model server is slow",
                 k / cfg->warn_every);
  if (cfg->fail_at && k == cfg->fail_at) {
    weir_ctx_set_errmsg(ctx, "model server went away");
    return WEIR_EIO;
  }
  return weir_emit_block(out, weir_block_ref(in));
}

/* Runs in the child, on the pty: a source, one map operator, progress and
 * the summary on; prints the run's error last, as a program would. */
static int child_main(const child_cfg *c) {
  cfg = c;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.progress = 1;
  po.summary = 1;
  po.num_cpus = 2;
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, &po) != WEIR_OK)
    return 3;
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = c->tasks;
  s.blocks_per_task = 1;
  s.rows = 10;
  s.delay_us = 40000;
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.max_workers = 1;
  weir_op *src = weir_source(p, c->src_name, s.tasks, eu_read, &s, &oo);
  weir_op *m = weir_map_batches(p, src, c->op_name, embed, NULL, &oo);
  int rc = weir_pipeline_run(p, m);
  if (rc != WEIR_OK)
    fprintf(stderr, "error: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc == WEIR_OK ? 0 : 1;
}

/* Runs child_main on a pty of `cols` columns (0: the pty reports no size)
 * with $COLUMNS set to `env_cols` (NULL: unset), and interprets its output
 * on a 40-line terminal of `screen_cols` columns. Returns the exit code. */
static int run_on_pty(const child_cfg *c, int cols, const char *env_cols, int screen_cols,
                      term_emu *t) {
  struct winsize ws = {.ws_row = 40, .ws_col = (unsigned short)cols};
  int master = -1;
  fflush(NULL);
  pid_t pid = forkpty(&master, NULL, NULL, &ws);
  cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
  if (pid == 0) {
    if (env_cols)
      setenv("COLUMNS", env_cols, 1);
    else
      unsetenv("COLUMNS");
    _exit(child_main(c));
  }
  te_init(t, 40, screen_cols);
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0)
      te_write(t, buf, (size_t)n);
    else if (n < 0 && errno == EINTR)
      continue;
    else
      break; /* EIO: the child closed the pty */
  }
  close(master);
  int st = 0;
  waitpid(pid, &st, 0);
  cr_assert(WIFEXITED(st), "the child did not exit normally (status %d)", st);
  return WEXITSTATUS(st);
}

static int count_lines(const char *text, const char *a, const char *b) {
  int n = 0;
  for (const char *l = text; *l;) {
    const char *nl = strchr(l, '\n');
    size_t len = nl ? (size_t)(nl - l) : strlen(l);
    char line[TE_MAX_COLS + 1];
    snprintf(line, sizeof line, "%.*s", (int)len, l);
    if (strstr(line, a) && (!b || strstr(line, b)))
      n++;
    l += len + (nl ? 1 : 0);
  }
  return n;
}

static const char *last_line(const char *text, char *buf, size_t n) {
  size_t len = strlen(text);
  while (len > 0 && text[len - 1] == '\n')
    len--;
  size_t start = len;
  while (start > 0 && text[start - 1] != '\n')
    start--;
  snprintf(buf, n, "%.*s", (int)(len - start), text + start);
  return buf;
}

Test(progress_tty, log_lines_scroll_above_the_block_and_the_error_is_last) {
  child_cfg c = {"reader", "embed", 25, 5, 40};
  static term_emu t;
  int code = run_on_pty(&c, 100, NULL, 100, &t);
  int nlines = 0;
  char *tx = te_transcript(&t, &nlines);
  cr_assert_eq(code, 1, "the run fails at call 25:\n%s", tx);
  cr_assert_eq(t.unknown, 0, "escape sequences a terminal would not understand:\n%s", tx);
  /* Calls 5, 10, 15 and 20 warned before call 25 failed: every warning is
   * on the screen or in its scrollback, once. */
  for (int w = 1; w <= 4; w++) {
    char want[64];
    snprintf(want, sizeof want, "embed warning %d:", w);
    cr_expect_eq(count_lines(tx, want, NULL), 1, "'%s' not shown exactly once:\n%s", want, tx);
  }
  /* One block, in place: no stale copy of it in the scrollback. */
  cr_expect_eq(count_lines(tx, "embed", "/s"), 1, "the live block was not redrawn in place:\n%s",
               tx);
  cr_expect_eq(count_lines(tx, "elapsed", NULL), 1, "%s", tx);
  /* The summary says what failed and where; the program's own message is
   * the last line on the screen. */
  cr_expect_eq(count_lines(tx, "failed: input/output error in operator 'embed'", NULL), 1, "%s",
               tx);
  char last[TE_MAX_COLS + 1];
  cr_expect(strstr(last_line(tx, last, sizeof last), "model server went away"),
            "the last line is '%s', not the error:\n%s", last, tx);
  free(tx);
  te_free(&t);
}

/* Checks a narrow terminal's transcript: nothing wrapped, every line fits,
 * and the final state is one block and the summary. */
static void check_narrow(term_emu *t, int cols) {
  int nlines = 0;
  char *tx = te_transcript(t, &nlines);
  cr_assert_eq(t->unknown, 0, "%s", tx);
  cr_expect_eq(t->wraps, 0, "%d lines wrapped at %d columns:\n%s", t->wraps, cols, tx);
  for (const char *l = tx; *l;) {
    const char *nl = strchr(l, '\n');
    size_t len = nl ? (size_t)(nl - l) : strlen(l);
    cr_expect_lt((int)len, cols, "a line of %zu characters at %d columns: %.*s", len, cols,
                 (int)len, l);
    l += len + (nl ? 1 : 0);
  }
  /* The block (two operators and the elapsed line), the table (a header,
   * two operators, the wall and status lines): nothing else is left behind. */
  cr_expect_eq(count_lines(tx, "elapsed", NULL), 1, "%s", tx);
  cr_expect_eq(count_lines(tx, "/s", NULL), 2, "%s", tx);
  cr_expect_eq(count_lines(tx, "wall ", NULL), 1, "%s", tx);
  cr_expect_eq(count_lines(tx, "success", NULL), 1, "%s", tx);
  cr_expect_eq(nlines, 8, "%d lines on a clean final state:\n%s", nlines, tx);
  free(tx);
  te_free(t);
}

Test(progress_tty, fits_the_terminal_width) {
  child_cfg c = {"a-long-reader-name-for-files", "an-operator-with-a-long-name", 0, 0, 20};
  static term_emu t;
  cr_assert_eq(run_on_pty(&c, 50, NULL, 50, &t), 0);
  check_narrow(&t, 50);
}

Test(progress_tty, fits_columns_when_the_terminal_reports_no_size) {
  child_cfg c = {"a-long-reader-name-for-files", "an-operator-with-a-long-name", 0, 0, 20};
  static term_emu t;
  cr_assert_eq(run_on_pty(&c, 0, "60", 60, &t), 0);
  check_narrow(&t, 60);
}

/* With a log_fn, progress lines go there (plain, no escape codes), and
 * nothing is written on the terminal. */
static char logged[65536];
static void log_to(void *user, int level, const char *msg) {
  (void)user, (void)level;
  size_t n = strlen(logged);
  snprintf(logged + n, sizeof logged - n, "%s\n", msg);
}

Test(progress_tty, progress_goes_through_log_fn) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.progress = 1;
  po.progress_interval = 0.05;
  po.log_fn = log_to;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  static eu_src s;
  s.tasks = 10;
  s.blocks_per_task = 1;
  s.rows = 7;
  s.delay_us = 20000;
  weir_op *src = weir_source(p, "reader", s.tasks, eu_read, &s, NULL);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_OK);
  weir_pipeline_destroy(p);
  cr_assert(strstr(logged, "progress ") && strstr(logged, "reader 70 rows"), "%s", logged);
  cr_assert(strstr(logged, "tasks 10/10"), "%s", logged);
  cr_assert_null(strstr(logged, "\x1b["), "%s", logged);
}
