/* Tests of run control: cancellation latency from another thread, the
 * stall detector, statistics as JSON and table, progress lines, logging. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_exec_util.h"

/* A source whose tasks run until cancelled, polling every 200 us. */
static int forever(void *user, size_t task, weir_emit *out) {
  (void)user;
  int rc = weir_emit_block(out, eu_ids((int64_t)task, 1, 0));
  if (rc != WEIR_OK)
    return rc;
  while (!weir_ctx_cancelled(weir_emit_ctx(out)))
    eu_sleep_us(200);
  return WEIR_ECANCELED;
}

typedef struct canceller {
  weir_pipeline *p;
  double delay, at;
} canceller;

static void *cancel_later(void *arg) {
  canceller *c = arg;
  eu_sleep_us((long)(c->delay * 1e6));
  c->at = eu_now();
  weir_pipeline_cancel(c->p);
  return NULL;
}

static double one_cancel(int *rc_out) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 4;
  weir_op *src = weir_source(p, "forever", 100, forever, NULL, &o);
  weir_op *r = weir_repartition(p, src, 3);
  canceller c = {p, 0.15, 0};
  pthread_t t;
  pthread_create(&t, NULL, cancel_later, &c);
  int rc = weir_pipeline_run(p, r);
  double end = eu_now();
  pthread_join(t, NULL);
  *rc_out = rc;
  cr_assert(strstr(weir_pipeline_errmsg(p), "cancel"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return end - c.at;
}

Test(exec, cancel_ends_run_within_100ms) {
  /* The machine is shared: allow a few attempts, each must be < 100 ms to
   * count, and most must be. */
  int ok = 0;
  double worst = 0;
  for (int i = 0; i < 5; i++) {
    int rc;
    double dt = one_cancel(&rc);
    cr_assert_eq(rc, WEIR_ECANCELED);
    if (dt < 0.1)
      ok++;
    if (dt > worst)
      worst = dt;
  }
  cr_assert_geq(ok, 3, "only %d of 5 cancels under 100 ms (worst %.3f s)", ok, worst);
}

Test(exec, cancel_when_idle_is_harmless) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  cr_assert_eq(weir_pipeline_cancel(p), WEIR_OK);
  eu_src s = {.tasks = 3, .blocks_per_task = 1, .rows = 4};
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_OK, "a cancel before the run does not stick");
  cr_assert_eq(weir_pipeline_cancel(p), WEIR_OK);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_OK);
  weir_pipeline_destroy(p);
}

static int stuck(void *user, weir_block *in, weir_emit *out) {
  (void)user, (void)in;
  while (!weir_ctx_cancelled(weir_emit_ctx(out)))
    eu_sleep_us(1000);
  return WEIR_ECANCELED;
}

typedef struct logbuf {
  pthread_mutex_t mu;
  char text[8192];
} logbuf;

static void log_to(void *user, int level, const char *msg) {
  logbuf *l = user;
  (void)level;
  pthread_mutex_lock(&l->mu);
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
  pthread_mutex_unlock(&l->mu);
}

Test(exec, stall_is_reported_with_the_operator) {
  static logbuf lb = {PTHREAD_MUTEX_INITIALIZER, ""};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.stall_seconds = 0.3;
  po.stall_is_error = 1;
  po.log_level = WEIR_LOG_DEBUG; /* the error is returned; its trace is a debug line */
  po.log_fn = log_to;
  po.log_user = &lb;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  eu_src s = {.tasks = 5, .blocks_per_task = 1, .rows = 4};
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "hangs", stuck, NULL, NULL);
  double t0 = eu_now();
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_ESTALL);
  cr_assert_lt(eu_now() - t0, 5.0);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "'hangs'") && strstr(msg, "waiting on a worker"), "%s", msg);
  cr_assert(strstr(lb.text, "hangs"), "log: %s", lb.text);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  cr_assert_eq(ps.stalls, 1);
  weir_pipeline_destroy(p);
}

static int slow_pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  eu_sleep_us(2000);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(exec, stats_json_table_and_progress_lines) {
  char path[] = "/tmp/weir-progress-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.progress = 1;
  po.progress_interval = 0.1;
  po.summary = 1;
  po.fixed_pools = 1;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  eu_src s = {.tasks = 150, .blocks_per_task = 1, .rows = 10};
  weir_op *src = weir_source(p, "reader", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "slowish", slow_pass, NULL, NULL);
  int rc = weir_pipeline_run(p, m);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  cr_assert_eq(rc, WEIR_OK);
  FILE *f = fopen(path, "r");
  char buf[16384];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  unlink(path);
  size_t lines = 0;
  for (char *q = buf; (q = strstr(q, "weir progress")); q++)
    lines++;
  cr_assert_geq(lines, 2, "plain progress lines on a non-terminal: %s", buf);
  cr_assert(strstr(buf, "slowish") && strstr(buf, "rows out"), "summary table: %s", buf);
  cr_assert_null(strstr(buf, "\x1b["), "no escape codes when stderr is not a terminal");

  char *json = NULL;
  cr_assert_eq(weir_pipeline_stats_json(p, &json), WEIR_OK);
  cr_assert(strstr(json, "\"operators\"") && strstr(json, "\"name\": \"slowish\"") &&
                strstr(json, "\"rows_out\": 1500"),
            "%s", json);
  free(json);
  char *table = NULL;
  cr_assert_eq(weir_pipeline_stats_table(p, &table), WEIR_OK);
  cr_assert(strstr(table, "reader"));
  free(table);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.rows_in, 1500);
  cr_assert_eq(st.tasks, 150);
  cr_assert_gt(st.busy_seconds, 0.25, "150 calls of 2 ms");
  cr_assert_lt(st.cpu_seconds, st.busy_seconds, "sleeping is not CPU time");
  cr_assert_eq(st.workers_peak, 1);
  cr_assert_gt(st.wall_seconds, 0.0);
  weir_pipeline_destroy(p);
}

Test(exec, progress_is_off_by_default) {
  char path[] = "/tmp/weir-progress-XXXXXX";
  int fd = mkstemp(path);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  weir_pipeline *p = NULL;
  weir_pipeline_create(&p, NULL);
  eu_src s = {.tasks = 50, .blocks_per_task = 1, .rows = 10};
  weir_op *src = weir_source(p, "reader", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "slowish", slow_pass, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  FILE *f = fopen(path, "r");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  unlink(path);
  cr_assert_eq(size, 0, "nothing on stderr without progress or summary");
  weir_pipeline_destroy(p);
}

#include <fcntl.h>
#include <pty.h>
#include <poll.h>

Test(exec, progress_redraws_lines_on_a_terminal) {
  int master, slave;
  if (openpty(&master, &slave, NULL, NULL, NULL) != 0)
    cr_skip("no pseudo-terminal available: %s", strerror(errno));
  int saved = dup(STDERR_FILENO);
  dup2(slave, STDERR_FILENO);
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.progress = 1;
  po.fixed_pools = 1;
  weir_pipeline *p = NULL;
  weir_pipeline_create(&p, &po);
  eu_src s = {.tasks = 200, .blocks_per_task = 1, .rows = 10};
  weir_op *src = weir_source(p, "reader", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "slowish", slow_pass, NULL, NULL);
  int rc = weir_pipeline_run(p, m);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(slave);
  cr_assert_eq(rc, WEIR_OK);
  char buf[65536];
  size_t n = 0;
  fcntl(master, F_SETFL, O_NONBLOCK);
  for (;;) {
    ssize_t k = read(master, buf + n, sizeof buf - 1 - n);
    if (k <= 0)
      break;
    n += (size_t)k;
  }
  buf[n] = 0;
  close(master);
  cr_assert(strstr(buf, "slowish"), "one line per operator");
  /* Redrawn in place: up over the 3 lines drawn, erase below (what the
   * screen then shows is checked in test_progress_tty). */
  cr_assert(strstr(buf, "\x1b[3A\x1b[J"), "the lines are redrawn in place (cursor up 3)");
  cr_assert_null(strstr(buf, "weir progress"), "no plain log lines on a terminal");
  weir_pipeline_destroy(p);
}

#include <signal.h>
#include <sys/time.h>

static weir_pipeline *volatile alarm_target;

static void on_alarm(int sig) {
  (void)sig;
  weir_pipeline_cancel(alarm_target); /* async-signal-safe */
}

Test(exec, cancel_from_a_signal_handler) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 2;
  weir_op *src = weir_source(p, "forever", 100, forever, NULL, &o);
  alarm_target = p;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 150000}};
  setitimer(ITIMER_REAL, &it, NULL);
  double t0 = eu_now();
  int rc = weir_pipeline_run(p, src);
  cr_assert_eq(rc, WEIR_ECANCELED);
  cr_assert_lt(eu_now() - t0, 2.0);
  weir_pipeline_destroy(p);
}
