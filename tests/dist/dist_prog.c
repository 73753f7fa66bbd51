/* The program test_dist_mpi.c starts under mpirun (and alone, for the
 * one-process answer): one real pipeline per mode, unchanged whether it
 * runs on one process or on N ranks (WEIR_DIST=mpi). It prints one line
 * "dist rank=R size=S tasks=T rows=N" per rank on stdout.
 *
 *   dist_prog jsonl IN OUT       read_jsonl -> map (id2 = 2 id) -> write_jsonl
 *   dist_prog parquet IN OUT     read_parquet -> map -> write_jsonl
 *   dist_prog text IN OUT        read_text -> write_jsonl
 *   dist_prog mkparquet IN OUT   read_jsonl -> write_parquet (inputs)
 *   dist_prog exchange IN OUT    read_jsonl -> repartition_by_key("key")
 *                                -> map (counts) -> write_jsonl
 *   dist_prog limit IN OUT       read_jsonl -> limit(1234) -> write_jsonl
 *   dist_prog slow MARK OUT      a source of 40 tasks whose rank 1 holds
 *                                its first task until rank 0 has done 35
 *   dist_prog die HOW OUT        rank 1 kills (HOW=kill) or stops
 *                                (HOW=stop) itself in its third task
 *   dist_prog stall MARK OUT     rank 1 holds its first task until its
 *                                stall detector (1 s) has reported; rank
 *                                0 waits for that task to start
 *   dist_prog progress - OUT     progress every 0.2 s through a log_fn
 *                                that prints it; rank 0 holds its first
 *                                task until its progress shows 100 rows
 *                                that other ranks made */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

static atomic_ulong tasks_done, rows_seen;

static int doubled(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  int idx = weir_block_column_index(in, "id");
  if (idx < 0) return WEIR_ENOTFOUND;
  weir_column c;
  weir_block_column(in, (size_t)idx, &c);
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id2", WEIR_TYPE_INT64);
  for (size_t r = 0; r < c.length; r++)
    weir_builder_append_int64(b, 0, 2 * ((const int64_t *)c.data)[r]);
  weir_block *extra = NULL, *res = NULL;
  int rc = weir_builder_finish(b, &extra);
  weir_builder_destroy(b);
  if (rc == WEIR_OK) rc = weir_block_add_columns(in, extra, &res);
  weir_block_unref(&extra);
  if (rc != WEIR_OK) return rc;
  atomic_fetch_add(&rows_seen, weir_block_num_rows(in));
  atomic_fetch_add(&tasks_done, 1);
  return weir_emit_block(out, res);
}

static int counted(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  atomic_fetch_add(&rows_seen, weir_block_num_rows(in));
  atomic_fetch_add(&tasks_done, 1);
  return weir_emit_block(out, weir_block_ref(in));
}

/* 10 rows of task t: ids t*10.. */
static int emit_rows(size_t task, weir_emit *out) {
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  for (int i = 0; i < 10; i++) weir_builder_append_int64(b, 0, (int64_t)task * 10 + i);
  weir_block *blk = NULL;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

static const char *mark;

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int slow_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (weir_dist_rank() == 1 && atomic_load(&tasks_done) == 0) {
    /* Held until rank 0 has done 35 of the 40 tasks: a slow rank. */
    for (int i = 0; i < 1200 && !exists(mark); i++) usleep(50000);
    if (!exists(mark)) {
      weir_ctx_set_errmsg(weir_emit_ctx(out), "rank 1 waited 60 s for rank 0 to do 35 tasks");
      return WEIR_ESTALL;
    }
  }
  int rc = emit_rows(task, out);
  if (rc == WEIR_OK && atomic_fetch_add(&tasks_done, 1) + 1 >= 35 && weir_dist_rank() == 0) {
    FILE *f = fopen(mark, "w");
    if (f) fclose(f);
  }
  atomic_fetch_add(&rows_seen, 10);
  return rc;
}

static const char *how;
static weir_pipeline *pipeline; /* the run stalling_task watches */

static int stalling_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (weir_dist_rank() == 0 && !exists(mark)) {
    /* Rank 0 waits for rank 1 to hold a task, or it would do them all. */
    for (int i = 0; i < 1200 && !exists(mark); i++) usleep(50000);
    if (!exists(mark)) {
      weir_ctx_set_errmsg(weir_emit_ctx(out), "rank 0 waited 60 s for rank 1 to take a task");
      return WEIR_ESTALL;
    }
  }
  if (weir_dist_rank() == 1 && atomic_fetch_add(&tasks_done, 1) == 0) {
    FILE *f = fopen(mark, "w");
    if (f) fclose(f);
    /* Held, making no progress, until the stall detector has said so. */
    weir_pipeline_stats st = {0};
    for (int i = 0; i < 1200; i++) {
      if (weir_pipeline_get_stats(pipeline, &st) == WEIR_OK && st.stalls > 0) break;
      usleep(50000);
    }
    if (st.stalls == 0) {
      weir_ctx_set_errmsg(weir_emit_ctx(out), "rank 1 held 60 s and no stall was reported");
      return WEIR_ESTALL;
    }
  }
  return emit_rows(task, out);
}

static int dying_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (weir_dist_rank() == 1 && atomic_fetch_add(&tasks_done, 1) == 2) {
    fprintf(stderr, "dist_prog: rank 1 %s itself\n", strcmp(how, "kill") ? "stops" : "kills");
    fflush(stderr);
    raise(strcmp(how, "kill") ? SIGSTOP : SIGKILL);
  }
  usleep(20000); /* the others keep running meanwhile */
  return emit_rows(task, out);
}

/* Progress lines, printed; rank 0 notes the most rows its progress has
 * shown from the source "tasks" while it made none itself. */
static atomic_ulong progress_rows;

static void print_log(void *user, int level, const char *msg) {
  (void)user, (void)level;
  fprintf(stderr, "log: %s\n", msg);
  const char *q = strstr(msg, " tasks ");
  unsigned long rows;
  if (strncmp(msg, "weir progress", 13) == 0 && q && sscanf(q, " tasks %lu rows", &rows) == 1 &&
      rows > atomic_load(&progress_rows))
    atomic_store(&progress_rows, rows);
}

static int progress_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (weir_dist_rank() == 0 && atomic_fetch_add(&tasks_done, 1) == 0) {
    /* Held, having made nothing, until progress counts others' rows. */
    for (int i = 0; i < 1200 && atomic_load(&progress_rows) < 100; i++) usleep(50000);
    if (atomic_load(&progress_rows) < 100) {
      weir_ctx_set_errmsg(weir_emit_ctx(out), "rank 0's progress never showed the others' rows");
      return WEIR_ESTALL;
    }
  } else if (weir_dist_rank() != 0) {
    usleep(20000); /* so the run lasts a few heartbeats */
  }
  return emit_rows(task, out);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dist_prog MODE IN OUT\n");
    return 2;
  }
  const char *mode = argv[1], *in = argv[2], *outp = argv[3];
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  po.summary = getenv("DIST_SUMMARY") != NULL; /* the statistics table at the end */
  if (!strcmp(mode, "stall")) po.stall_seconds = 1.0;
  if (!strcmp(mode, "progress")) {
    po.progress = 1;
    po.progress_interval = 0.2;
    po.log_fn = print_log;
  }
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) {
    fprintf(stderr, "dist_prog: %s\n", weir_last_errmsg());
    return 1;
  }
  weir_op *src = NULL, *last = NULL, *sink = NULL;
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  if (!strcmp(mode, "jsonl") || !strcmp(mode, "mkparquet") || !strcmp(mode, "exchange") ||
      !strcmp(mode, "limit")) {
    src = weir_read_jsonl(p, in, NULL);
  } else if (!strcmp(mode, "parquet")) {
    src = weir_read_parquet(p, in, NULL);
  } else if (!strcmp(mode, "text")) {
    weir_read_options ro = WEIR_READ_OPTIONS_INIT;
    ro.range_bytes = 4096; /* byte ranges: many tasks from few files */
    src = weir_read_text(p, in, &ro);
  } else if (!strcmp(mode, "slow")) {
    mark = in;
    weir_op_options so = WEIR_OP_OPTIONS_INIT;
    so.max_workers = 1; /* rank 1 holds one grant while it is slow */
    src = weir_source(p, "slow", 40, slow_task, NULL, &so);
  } else if (!strcmp(mode, "die")) {
    how = in;
    weir_op_options so = WEIR_OP_OPTIONS_INIT;
    so.max_workers = 1;
    src = weir_source(p, "dying", 1500, dying_task, NULL, &so);
  } else if (!strcmp(mode, "progress")) {
    weir_op_options so = WEIR_OP_OPTIONS_INIT;
    so.max_workers = 1;
    src = weir_source(p, "tasks", 400, progress_task, NULL, &so);
  } else if (!strcmp(mode, "stall")) {
    mark = in;
    pipeline = p;
    weir_op_options so = WEIR_OP_OPTIONS_INIT;
    so.max_workers = 1;
    src = weir_source(p, "stalling", 20, stalling_task, NULL, &so);
  } else {
    fprintf(stderr, "dist_prog: unknown mode %s\n", mode);
    return 2;
  }
  if (!strcmp(mode, "jsonl") || !strcmp(mode, "parquet"))
    last = weir_map_batches(p, src, "double", doubled, NULL, NULL);
  else if (!strcmp(mode, "text"))
    last = weir_map_batches(p, src, "count", counted, NULL, NULL);
  else if (!strcmp(mode, "limit"))
    last = weir_limit(p, src, 1234);
  else if (!strcmp(mode, "exchange")) {
    weir_op *rp = weir_repartition_by_key(p, src, "key", 0);
    last = rp ? weir_map_batches(p, rp, "count", counted, NULL, NULL) : NULL;
  }
  else
    last = src;
  if (!strcmp(mode, "mkparquet")) {
    weir_parquet_write_options pw = WEIR_PARQUET_WRITE_OPTIONS_INIT;
    pw.shard_rows = 2000;
    pw.row_group_rows = 250;
    sink = weir_write_parquet(p, last, outp, &pw);
  } else {
    sink = weir_write_jsonl(p, last, outp, &wo);
  }
  if (!sink) {
    fprintf(stderr, "dist_prog: building: %s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  int rc = weir_pipeline_run(p, sink);
  printf("dist rank=%d size=%d tasks=%lu rows=%lu\n", weir_dist_rank(), weir_dist_size(),
         (unsigned long)atomic_load(&tasks_done), (unsigned long)atomic_load(&rows_seen));
  fflush(stdout);
  if (rc != WEIR_OK) {
    fprintf(stderr, "dist_prog: rank %d: %s\n", weir_dist_rank(), weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  weir_pipeline_destroy(p);
  return 0;
}
