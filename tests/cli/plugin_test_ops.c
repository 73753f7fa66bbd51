#define _POSIX_C_SOURCE 200809L
/* A plugin for the `weir` command's tests: operator kinds defined outside
 * weir, through weir/plugin.h. `test_counter` is a source of `num_rows`
 * rows (id, text) that can pace itself; `test_sleep` passes blocks after
 * sleeping, to keep a run going while a test watches it, until the test
 * creates its release file; with `hold_after_blocks` it also holds the
 * run there until released, so a slow watcher still sees it running. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}

typedef struct counter {
  int64_t rows, per_block, sleep;
} counter;

static int count_task(void *user, size_t task, weir_emit *out) {
  counter *c = user;
  int64_t start = (int64_t)task * c->per_block, end = start + c->per_block;
  if (end > c->rows) end = c->rows;
  weir_builder *b;
  if (weir_builder_create(&b) != WEIR_OK) return WEIR_ENOMEM;
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  char text[64];
  for (int64_t i = start; i < end; i++) {
    weir_builder_append_int64(b, 0, i);
    int n = snprintf(text, sizeof text, "row %lld", (long long)i);
    weir_builder_append_string(b, 1, text, (size_t)n);
  }
  weir_block *blk;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  if (rc != WEIR_OK) return rc;
  if (c->sleep) sleep_ms(c->sleep);
  return weir_emit_block(out, blk);
}

static const weir_opt_def counter_opts[] = {
  {"num_rows", WEIR_OPT_INT, NULL, "rows to make", NULL, WEIR_OPT_REQUIRED},
  {"rows_per_block", WEIR_OPT_INT, "1000", "rows per block (one read task each)", NULL, 0},
  {"sleep_ms", WEIR_OPT_INT, "0", "milliseconds each task sleeps", NULL, 0},
};

typedef struct sleeper {
  int64_t ms;
  int64_t hold_after;        /* blocks passed before holding; 0: never hold */
  atomic_llong passed;
  char release[512];         /* once this file exists, no more sleeping */
} sleeper;

/* The operators' states live in the plugin (a test builds a few), so
 * nothing is left for a leak checker to report. */
static counter counters[64];
static sleeper sleeps[64];
static int ncounters, nsleeps;

static weir_op *build_counter(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  if (ncounters == 64) return NULL;
  counter *c = &counters[ncounters++];
  c->rows = weir_op_args_get(a, "num_rows")->i;
  c->per_block = weir_op_args_get(a, "rows_per_block")->i;
  c->sleep = weir_op_args_get(a, "sleep_ms")->i;
  if (c->per_block <= 0 || c->rows < 0) {
    weir_set_last_errmsg("%s: rows_per_block must be > 0 and num_rows >= 0", a->name);
    return NULL;
  }
  size_t tasks = (size_t)((c->rows + c->per_block - 1) / c->per_block);
  return weir_source(p, a->name, tasks, count_task, c, NULL);
}

static int released(const sleeper *s) {
  return s->release[0] && access(s->release, F_OK) == 0;
}

/* Waits for the release file, ten minutes at most: a test that never
 * creates it fails with an error, not a hang. */
static int hold_until_released(const sleeper *s) {
  for (int i = 0; i < 60000; i++) {
    if (released(s)) return WEIR_OK;
    sleep_ms(10);
  }
  weir_set_last_errmsg("test_sleep: %s never appeared", s->release);
  return WEIR_ESTALL;
}

static int sleep_fn(void *user, weir_block *in, weir_emit *out) {
  sleeper *s = user;
  long long n = atomic_fetch_add(&s->passed, 1) + 1;
  if (s->hold_after > 0 && n > s->hold_after && s->release[0]) {
    int rc = hold_until_released(s);
    if (rc != WEIR_OK) return rc;
  }
  if (!released(s)) sleep_ms(s->ms);
  return weir_emit_block(out, weir_block_ref(in));
}

static const weir_opt_def sleep_opts[] = {
  {"ms_per_block", WEIR_OPT_INT, "10", "milliseconds to sleep per block", NULL, 0},
  {"max_workers", WEIR_OPT_INT, "2", "most workers", NULL, 0},
  {"release_file", WEIR_OPT_STRING, NULL, "stop sleeping once this file exists", NULL, 0},
  {"hold_after_blocks", WEIR_OPT_INT, "0", "then wait for release_file (0: never)", NULL, 0},
};

static weir_op *build_sleep(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  if (nsleeps == 64) return NULL;
  sleeper *sl = &sleeps[nsleeps++];
  sl->ms = weir_op_args_get(a, "ms_per_block")->i;
  const weir_opt_value *rel = weir_op_args_get(a, "release_file");
  snprintf(sl->release, sizeof sl->release, "%s", rel->set ? rel->s : "");
  sl->hold_after = weir_op_args_get(a, "hold_after_blocks")->i;
  atomic_init(&sl->passed, 0);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_workers = (int)weir_op_args_get(a, "max_workers")->i;
  return weir_map_batches(p, a->inputs[0], a->name, sleep_fn, sl, &o);
}

static const weir_op_kind kinds[] = {
  {WEIR_OP_KIND_VERSION, "test_counter", "rows id, text made in memory (tests)", WEIR_KIND_SOURCE,
   0, 0, counter_opts, 3, build_counter, NULL},
  {WEIR_OP_KIND_VERSION, "test_sleep", "pass blocks after a sleep (tests)", WEIR_KIND_TRANSFORM, 1,
   1, sleep_opts, 4, build_sleep, NULL},
};

int weir_plugin_init(weir_op_kinds *k);
__attribute__((visibility("default"))) int weir_plugin_init(weir_op_kinds *k) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    int rc = weir_op_kinds_add(k, &kinds[i]);
    if (rc != WEIR_OK) return rc;
  }
  return WEIR_OK;
}
