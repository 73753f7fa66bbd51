/* Resume that skips work (issue 21): a resumed write reads and computes
 * only the read tasks whose rows are not all in complete shards, and its
 * output is byte for byte a clean run's; a resume over another input
 * listing is refused naming the difference; a pipeline whose operators
 * mix read tasks reads everything again and says why. Asserted on the
 * operators' counters, never on time. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-resume-skip"); }

TestSuite(io_resume_skip, .init = make_tmp, .fini = tmpdir_remove, .timeout = 180);

#define FILES 20
#define ROWS 250 /* rows a file, and a shard's rows: shard k is file k */

/* in/f-00.jsonl ... in/f-19.jsonl: file k holds ids [k * ROWS, (k + 1) * ROWS). */
static void make_inputs(void) {
  mkdir(path_of("in"), 0777);
  for (int k = 0; k < FILES; k++) {
    char name[64];
    snprintf(name, sizeof name, "in/f-%02d.jsonl", k);
    FILE *f = fopen(path_of(name), "w");
    cr_assert_not_null(f);
    for (int r = 0; r < ROWS; r++)
      fprintf(f, "{\"id\": %d, \"s\": \"row %d of file %d\", \"x\": %g}\n", k * ROWS + r, r, k,
              (k * ROWS + r) / 7.0);
    fclose(f);
  }
}

/* Set in a child that must stop inside the last file. */
static int hang_after_first_block_of_last;

/* The user's work: adds a column computed from each row, so that every
 * row read goes through it. */
static int work(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column id;
  int k = weir_block_column_index(in, "id");
  cr_assert_geq(k, 0);
  weir_block_column(in, (size_t)k, &id);
  size_t n = weir_block_num_rows(in);
  const int64_t *ids = id.data;
  if (hang_after_first_block_of_last && n && ids[0] >= (FILES - 1) * ROWS + 100)
    for (;;) pause(); /* killed here */
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "twice", WEIR_TYPE_INT64);
  for (size_t i = 0; i < n; i++) {
    weir_builder_append_int64(b, 0, ids[i]);
    weir_builder_append_int64(b, 1, 2 * ids[i]);
  }
  weir_block *o;
  int rc = weir_builder_finish(b, &o);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, o);
}

typedef struct run_stats {
  int rc;
  char err[1024];
  uint64_t read_tasks, read_rows, work_rows, skipped_tasks;
  char log[8192];
} run_stats;

static void on_log(void *user, int level, const char *msg) {
  (void)level;
  run_stats *s = user;
  size_t l = strlen(s->log);
  snprintf(s->log + l, sizeof s->log - l, "%s\n", msg);
}

enum { PLAIN = 0, REPARTITION = 1 };

/* read_jsonl(in) -> work -> write_jsonl(out), and what each op did. */
static void run(const char *out, const weir_write_options *wo, int shape, run_stats *s) {
  memset(s, 0, sizeof *s);
  weir_pipeline_options po = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2,
                              .log_fn = on_log, .log_user = s, .log_level = WEIR_LOG_INFO};
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_read_options ro = {.version = WEIR_READ_OPTIONS_VERSION, .rows_per_block = 100};
  weir_op *r = weir_read_jsonl(p, path_of("in"), &ro);
  if (shape == REPARTITION) r = weir_repartition(p, r, 64);
  weir_op_options wk = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *w = weir_map_batches(p, r, "work", work, NULL, &wk);
  weir_op *sink = weir_write_jsonl(p, w, out, wo);
  s->rc = sink ? weir_pipeline_run(p, sink) : weir_pipeline_errcode(p);
  snprintf(s->err, sizeof s->err, "%s", weir_pipeline_errmsg(p));
  for (int i = 0; sink && i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, i, &st), WEIR_OK);
    if (strcmp(st.name, "read_jsonl") == 0) {
      s->read_tasks = st.tasks;
      s->read_rows = st.rows_out;
      uint64_t v = 0;
      if (weir_pipeline_op_counter(p, i, "resume_skipped_tasks", &v) == WEIR_OK)
        s->skipped_tasks = v;
    } else if (strcmp(st.name, "work") == 0) {
      s->work_rows = st.rows_in;
    }
  }
  weir_pipeline_destroy(p);
}

static weir_write_options opts(uint64_t shard_rows, uint64_t shard_bytes) {
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = shard_rows,
                          .shard_bytes = shard_bytes, .resume = 1,
                          .compression = WEIR_COMPRESS_ZSTD};
  return o;
}

/* The two folders hold the same files, byte for byte (hidden names aside),
 * and `b` no hidden file but its manifest. */
static void same_output(const char *a, const char *b) {
  char cmd[1800];
  snprintf(cmd, sizeof cmd, "diff -r -x '.*' '%s' '%s' >/dev/null", a, b);
  cr_assert_eq(system(cmd), 0, "%s and %s differ", a, b);
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v '^\\.weir-write-manifest$' | grep -q '^\\.'",
           b);
  cr_assert_neq(system(cmd), 0, "hidden temporaries remain in %s", b);
}

static void shard_path(char *buf, size_t n, const char *out, int k) {
  snprintf(buf, n, "%s/part-%05d.jsonl.zst", out, k);
}

/* A finished output loses shard 7 (as a crash that stopped before it
 * would leave it, with its later shards written by an earlier attempt):
 * the resume reads file 7 alone. On main before this change, all 20
 * files went through `work` again. */
Test(io_resume_skip, a_missing_shard_reads_only_its_read_task) {
  make_inputs();
  weir_write_options o = opts(ROWS, 0);
  run_stats s;
  run(path_of("clean"), &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.read_tasks, FILES);
  cr_assert_eq(s.work_rows, FILES * ROWS);

  const char *out = path_of("out");
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  char shard[1000];
  shard_path(shard, sizeof shard, out, 7);
  cr_assert_eq(unlink(shard), 0);
  struct stat before, after;
  shard_path(shard, sizeof shard, out, 8);
  cr_assert_eq(stat(shard, &before), 0);

  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.skipped_tasks, FILES - 1, "skipped %llu", (unsigned long long)s.skipped_tasks);
  cr_assert_eq(s.read_tasks, 1, "read %llu tasks", (unsigned long long)s.read_tasks);
  cr_assert_eq(s.read_rows, ROWS, "read %llu rows", (unsigned long long)s.read_rows);
  cr_assert_eq(s.work_rows, ROWS, "work saw %llu rows", (unsigned long long)s.work_rows);
  cr_assert(strstr(s.log, "19 of 20 read tasks of 'read_jsonl'"), "%s", s.log);
  cr_assert_eq(stat(shard, &after), 0);
  cr_assert_eq(before.st_ino, after.st_ino, "a complete shard is not rewritten");
  same_output(path_of("clean"), out);

  /* Nothing missing: nothing read. */
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.read_tasks, 0);
  cr_assert_eq(s.work_rows, 0);
  same_output(path_of("clean"), out);
}

/* Shards cut by bytes: the complete shards at the head of the output are
 * counted, and only the tasks whose rows lie beyond them are read. */
Test(io_resume_skip, shards_by_bytes_skip_the_tasks_of_the_complete_head) {
  make_inputs();
  weir_write_options o = opts(0, 20000);
  run_stats s;
  run(path_of("clean"), &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  const char *out = path_of("out");
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  int last = 0;
  char shard[1000];
  for (;; last++) {
    shard_path(shard, sizeof shard, out, last + 1);
    if (access(shard, F_OK) != 0) break;
  }
  cr_assert_gt(last, 3, "the output has several shards");
  shard_path(shard, sizeof shard, out, last);
  cr_assert_eq(unlink(shard), 0);

  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_gt(s.skipped_tasks, FILES / 2, "skipped %llu", (unsigned long long)s.skipped_tasks);
  cr_assert_eq(s.read_tasks, FILES - s.skipped_tasks);
  cr_assert_eq(s.work_rows, s.read_tasks * ROWS);
  same_output(path_of("clean"), out);
}

/* SIGKILLed inside the last file, with 19 shards complete: the resumed run
 * reads that file alone, and the output equals a clean run's. */
Test(io_resume_skip, killed_in_the_last_task_resumes_it_alone) {
  make_inputs();
  weir_write_options o = opts(ROWS, 0);
  run_stats s;
  run(path_of("clean"), &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);

  const char *out = path_of("crash");
  char out_copy[800], manifest[900];
  snprintf(out_copy, sizeof out_copy, "%s", out);
  snprintf(manifest, sizeof manifest, "%s/.weir-write-manifest", out_copy);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    hang_after_first_block_of_last = 1;
    run_stats cs;
    run(out_copy, &o, PLAIN, &cs);
    _exit(1); /* never reached: it stops in the last file */
  }
  /* Wait (generously, a loaded machine) until task 18 is recorded: shard
   * 18 is complete and the last task's first block reached the writer. */
  int recorded = 0;
  for (int i = 0; i < 12000 && !recorded; i++) {
    usleep(10000);
    FILE *f = fopen(manifest, "r");
    if (!f) continue;
    char line[256];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "task 18 ", 8) == 0) recorded = 1;
    fclose(f);
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(recorded, "the writer did not record task 18 within 120 s");
  cr_assert(WIFSIGNALED(status), "the writer was killed mid-run");
  char shard[1000];
  shard_path(shard, sizeof shard, out_copy, FILES - 1);
  cr_assert_neq(access(shard, F_OK), 0, "the last shard is not complete");
  shard_path(shard, sizeof shard, out_copy, FILES - 2);
  cr_assert_eq(access(shard, F_OK), 0, "19 shards are complete");

  run(out_copy, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.read_tasks, 1, "read %llu tasks", (unsigned long long)s.read_tasks);
  cr_assert_eq(s.read_rows, ROWS);
  cr_assert_eq(s.work_rows, ROWS);
  same_output(path_of("clean"), out_copy);
}

/* The input listing is part of the manifest: another file size, or
 * another file, refuses the resume and names the difference. */
Test(io_resume_skip, a_resume_over_another_listing_is_refused) {
  make_inputs();
  weir_write_options o = opts(ROWS, 0);
  run_stats s;
  const char *out = path_of("out");
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);

  FILE *f = fopen(path_of("in/f-03.jsonl"), "a");
  cr_assert_not_null(f);
  fputs("{\"id\": 100000, \"s\": \"late\", \"x\": 1}\n", f);
  fclose(f);
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_EINVAL, "%s", s.err);
  cr_assert(strstr(s.err, "resume") && strstr(s.err, "input listing") &&
                strstr(s.err, "f-03.jsonl"),
            "%s", s.err);

  /* Without resume it is written again, and then resumes cleanly. */
  o.resume = 0;
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  o.resume = 1;
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.read_tasks, 0);

  f = fopen(path_of("in/f-20.jsonl"), "w");
  cr_assert_not_null(f);
  fputs("{\"id\": 5000, \"s\": \"new\", \"x\": 2}\n", f);
  fclose(f);
  run(out, &o, PLAIN, &s);
  cr_assert_eq(s.rc, WEIR_EINVAL, "%s", s.err);
  cr_assert(strstr(s.err, "source read_jsonl tasks 20") || strstr(s.err, "f-20.jsonl"), "%s",
            s.err);
}

/* An operator that mixes read tasks (here a repartition) between the
 * reader and the writer: every task is read again, the log says why, and
 * the output is still exactly a clean run's. */
Test(io_resume_skip, operators_that_mix_read_tasks_fall_back_and_say_so) {
  make_inputs();
  weir_write_options o = opts(ROWS, 0);
  run_stats s;
  run(path_of("clean"), &o, REPARTITION, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  const char *out = path_of("out");
  run(out, &o, REPARTITION, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  char shard[1000];
  shard_path(shard, sizeof shard, out, 7);
  cr_assert_eq(unlink(shard), 0);
  run(out, &o, REPARTITION, &s);
  cr_assert_eq(s.rc, WEIR_OK, "%s", s.err);
  cr_assert_eq(s.read_tasks, FILES);
  cr_assert_eq(s.skipped_tasks, 0);
  cr_assert(strstr(s.log, "every read task is read again, because operator"), "%s", s.log);
  same_output(path_of("clean"), out);
}
