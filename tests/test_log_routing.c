/* Everything a run reports goes through log_fn (the summary table too), and
 * an error returned to the caller is not printed as well. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "test_exec_util.h"

typedef struct logbuf {
  pthread_mutex_t mu;
  char text[65536];
  int levels[8];
} logbuf;

static void log_to(void *user, int level, const char *msg) {
  logbuf *l = user;
  pthread_mutex_lock(&l->mu);
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
  if (level >= 0 && level < 8)
    l->levels[level]++;
  pthread_mutex_unlock(&l->mu);
}

/* Runs `fn` with stderr sent to a file; returns what was written there. */
static char *capture_stderr(int (*fn)(void *), void *arg, int *rc) {
  char path[] = "/tmp/weir-logroute-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  *rc = fn(arg);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  static char buf[65536];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  buf[n > 0 ? n : 0] = 0;
  close(fd);
  unlink(path);
  return buf;
}

static int fails(void *user, weir_block *in, weir_emit *out) {
  (void)user, (void)in;
  weir_ctx_set_errmsg(weir_emit_ctx(out), "the model file is missing");
  return WEIR_EIO;
}

typedef struct runcfg {
  weir_log_fn log_fn;
  logbuf *lb;
  int fail;
  char errmsg[1024];
} runcfg;

static int run_one(void *arg) {
  runcfg *c = arg;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.summary = 1;
  po.log_fn = c->log_fn;
  po.log_user = c->lb;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = 3;
  s.blocks_per_task = 2;
  s.rows = 5;
  weir_op *src = weir_source(p, "reader", s.tasks, eu_read, &s, NULL);
  weir_op *m = c->fail ? weir_map_batches(p, src, "broken", fails, NULL, NULL) : src;
  int rc = weir_pipeline_run(p, m);
  snprintf(c->errmsg, sizeof c->errmsg, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc;
}

Test(log_routing, summary_table_goes_through_log_fn_not_stderr) {
  static logbuf lb = {PTHREAD_MUTEX_INITIALIZER, "", {0}};
  runcfg c = {log_to, &lb, 0, ""};
  int rc;
  char *err = capture_stderr(run_one, &c, &rc);
  cr_assert_eq(rc, WEIR_OK);
  cr_assert_str_empty(err, "stderr must stay empty with a log_fn: %s", err);
  cr_assert(strstr(lb.text, "rows out") && strstr(lb.text, "reader"), "log: %s", lb.text);
  cr_assert_gt(lb.levels[WEIR_LOG_INFO], 2, "one call per table line: %s", lb.text);
}

Test(log_routing, summary_without_log_fn_is_on_stderr) {
  runcfg c = {NULL, NULL, 0, ""};
  int rc;
  char *err = capture_stderr(run_one, &c, &rc);
  cr_assert_eq(rc, WEIR_OK);
  cr_assert(strstr(err, "rows out") && strstr(err, "reader"), "stderr: %s", err);
}

Test(log_routing, a_returned_error_is_not_printed_too) {
  runcfg c = {NULL, NULL, 1, ""};
  int rc;
  char *err = capture_stderr(run_one, &c, &rc);
  cr_assert_eq(rc, WEIR_EIO);
  cr_assert(strstr(c.errmsg, "the model file is missing"), "%s", c.errmsg);
  /* The summary is there (asked for); the error line is not. */
  cr_assert(strstr(err, "rows out"), "stderr: %s", err);
  cr_assert_null(strstr(err, "the model file is missing"), "printed as well: %s", err);

  static logbuf lb = {PTHREAD_MUTEX_INITIALIZER, "", {0}};
  runcfg d = {log_to, &lb, 1, ""};
  err = capture_stderr(run_one, &d, &rc);
  cr_assert_eq(rc, WEIR_EIO);
  cr_assert_str_empty(err, "%s", err);
  cr_assert_eq(lb.levels[WEIR_LOG_ERROR], 0, "log: %s", lb.text);
  cr_assert_null(strstr(lb.text, "the model file is missing"), "log: %s", lb.text);
}
