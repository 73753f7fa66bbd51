/* The executor's GPU paths on a stand-in backend (fake_gpu.h: devices made
 * of host memory, streams run by threads, copies with a delay), so that
 * they run in CI without a GPU: resource accounting for num_gpus, device
 * blocks through operators, re-blocking of device blocks, the iterator's
 * batches from a GPU operator, device-to-host moves, two devices, calls in
 * flight, and errors from a GPU operator's process and finish (ordinary
 * and sticky). */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_gpu.h"
#include "test_exec_util.h"

#define ROWS 16

/* A block with "id" (int64) and a float32 TENSOR column "x" [2] holding
 * {id, 1}. */
static int tensor_read(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  int64_t shape[1] = {2};
  weir_builder_add_tensor_column(b, "x", WEIR_DTYPE_FLOAT32, 1, shape);
  for (int i = 0; i < ROWS; i++) {
    int64_t id = (int64_t)task * ROWS + i;
    float v[2] = {(float)id, 1};
    weir_builder_append_int64(b, 0, id);
    weir_builder_append_tensor(b, 1, v);
  }
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

typedef struct gpu_seen {
  atomic_int calls, on_device, with_stream, devices_mask, finishes;
  float factor;
  /* Error injection, by call number (1-based; 0 = never). */
  int fail_return_at, fail_kernel_at, fail_sticky_at;
  int finish_return_error, finish_kernel_error;
} gpu_seen;

/* A GPU operator: checks that its input is on its device, then queues a
 * "kernel" that scales x by `factor` into a new device block. */
static int gpu_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  gpu_seen *s = state;
  int call = atomic_fetch_add(&s->calls, 1) + 1;
  void *stream = weir_ctx_cuda_stream(ctx);
  int dev = weir_ctx_device(ctx);
  int xi = weir_block_column_index(in, "x");
  weir_column c;
  weir_block_column(in, (size_t)xi, &c);
  if (c.device == WEIR_DEVICE_CUDA && c.device_id == dev)
    atomic_fetch_add(&s->on_device, 1);
  if (stream && dev >= 0) {
    atomic_fetch_add(&s->with_stream, 1);
    atomic_fetch_or(&s->devices_mask, 1 << dev);
  }
  if (call == s->fail_return_at) {
    weir_ctx_set_errmsg(ctx, "call %d refused", call);
    return WEIR_EINVAL;
  }
  if (call == s->fail_kernel_at)
    fg_fail(stream, 0, "a kernel ran out of bounds (not sticky)");
  if (call == s->fail_sticky_at)
    fg_fail(stream, 1, "illegal address (sticky)");
  return weir_emit_block(out, fg_scale_block(stream, in, (size_t)xi, s->factor));
}

static int gpu_init(void *user, int worker, void **state) {
  (void)worker;
  *state = user;
  return WEIR_OK;
}

static int gpu_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  (void)out;
  gpu_seen *s = state;
  atomic_fetch_add(&s->finishes, 1);
  if (s->finish_return_error) {
    weir_ctx_set_errmsg(ctx, "finish refused");
    return WEIR_EINVAL;
  }
  if (s->finish_kernel_error)
    fg_fail(weir_ctx_cuda_stream(ctx), 0, "the flush kernel of finish failed");
  return WEIR_OK;
}

static weir_op *gpu_op(weir_pipeline *p, weir_op *in, const char *name, gpu_seen *s,
                       double gpus, int min_workers) {
  static const weir_op_def def = {WEIR_OP_DEF_VERSION, "gpu", gpu_init, gpu_process,
                                  gpu_finish, NULL};
  weir_op_def d = def;
  d.name = name;
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = gpus;
  o.min_workers = min_workers;
  o.max_workers = min_workers;
  return weir_add_op(p, in, &d, s, &o);
}

/* Pulls every batch: checks they are host blocks with x = {id * f, f},
 * each id once; returns the rows. */
static size_t drain_and_check(weir_pipeline *p, weir_iter *it, size_t tasks, float f,
                              size_t batch) {
  size_t n = tasks * ROWS, rows = 0;
  char *seen = calloc(n, 1);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    size_t r = weir_block_num_rows(b);
    if (batch) cr_assert(r == batch || rows + r == n, "batch of %zu rows", r);
    weir_column id, x;
    cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "id"), &id), WEIR_OK);
    cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "x"), &x), WEIR_OK);
    cr_assert_eq(x.device, WEIR_DEVICE_CPU, "the iterator hands back host blocks");
    const int64_t *ids = id.data;
    const float *xs = x.data;
    for (size_t i = 0; i < r; i++) {
      cr_assert(ids[i] >= 0 && (size_t)ids[i] < n);
      cr_assert_eq(seen[ids[i]], 0, "id %lld twice", (long long)ids[i]);
      seen[ids[i]] = 1;
      cr_assert_eq(xs[2 * i], (float)ids[i] * f, "row %lld: %g", (long long)ids[i], xs[2 * i]);
      cr_assert_eq(xs[2 * i + 1], f);
    }
    rows += r;
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  free(seen);
  return rows;
}

static void no_device_memory_left(void) {
  cr_assert_eq(atomic_load(&fg.workers_live), 0, "every GPU worker was destroyed");
  cr_assert_eq(fg_bytes_in_use(), 0, "%ld fake device bytes still held", fg_bytes_in_use());
}

/* ---- Resource accounting ----------------------------------------------- */

Test(exec_gpu_fake, two_whole_gpu_operators_on_one_gpu_are_refused_at_start) {
  fg_install(1, 0);
  static gpu_seen a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.factor = b.factor = 1;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 2, tensor_read, NULL, NULL);
  weir_op *g2 = gpu_op(p, gpu_op(p, src, "first", &a, 1, 1), "second", &b, 1, 1);
  cr_assert_not_null(g2, "%s", weir_pipeline_errmsg(p));
  /* Both run at once in a streaming pipeline: 2 GPUs held, 1 there. */
  cr_assert_eq(weir_pipeline_run(p, g2), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "hold 2.00 GPUs, more than the 1.00"), "%s",
            weir_pipeline_errmsg(p));
  cr_assert_eq(atomic_load(&a.calls), 0);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, gpu_shares_within_the_budget_run) {
  fg_install(1, 0);
  static gpu_seen a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.factor = 2;
  b.factor = 3;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 6, tensor_read, NULL, NULL);
  weir_op *g2 = gpu_op(p, gpu_op(p, src, "first", &a, 0.5, 1), "second", &b, 0.5, 1);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, g2, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(drain_and_check(p, it, 6, 6, 0), 6u * ROWS);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, the_pipeline_gpu_budget_limits_workers) {
  fg_install(2, 0);
  static gpu_seen a;
  memset(&a, 0, sizeof a);
  a.factor = 1;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_gpus = 1;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 2, tensor_read, NULL, NULL);
  weir_op *g = gpu_op(p, src, "pair", &a, 1, 2);
  cr_assert_eq(weir_pipeline_run(p, g), WEIR_EINVAL, "2 workers of 1 GPU with a budget of 1");
  weir_pipeline_destroy(p);
  fg_uninstall();
}

/* A run without GPU operators never asks for devices: asking initialises
 * the CUDA driver, which breaks CUDA in children the process forks. */
static int cpu_pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(exec_gpu_fake, cpu_only_runs_do_not_touch_the_gpu_backend) {
  fg_install(1, 0);
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 3, tensor_read, NULL, NULL);
  weir_op *m = weir_map_batches(p, src, "cpu", cpu_pass, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_eq(atomic_load(&fg.device_count_calls), 0, "device_count was asked");
  fg_uninstall();
}

/* ---- Device blocks through operators -------------------------------------- */

typedef struct cpu_seen {
  atomic_int calls, on_host;
} cpu_seen;

static int cpu_check(void *user, weir_block *in, weir_emit *out) {
  cpu_seen *s = user;
  atomic_fetch_add(&s->calls, 1);
  weir_column c;
  weir_block_column(in, (size_t)weir_block_column_index(in, "x"), &c);
  if (c.device == WEIR_DEVICE_CPU)
    atomic_fetch_add(&s->on_host, 1);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(exec_gpu_fake, device_blocks_flow_through_gpu_and_cpu_operators) {
  /* The delay makes a reader that does not wait for a copy or a kernel
   * read stale bytes. */
  fg_install(1, 200);
  static gpu_seen a, b;
  static cpu_seen c;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&c, 0, sizeof c);
  a.factor = 2;
  b.factor = 5;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 8, tensor_read, NULL, NULL);
  weir_op *g1 = gpu_op(p, src, "first", &a, 0.5, 1);
  weir_op *g2 = gpu_op(p, g1, "second", &b, 0.5, 1);
  weir_op *cpu = weir_map_batches(p, g2, "cpu", cpu_check, &c, NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, cpu, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(drain_and_check(p, it, 8, 10, 0), 8u * ROWS);
  weir_iter_destroy(it);
  cr_assert_eq(atomic_load(&a.on_device), 8, "host input copied to the device");
  cr_assert_eq(atomic_load(&b.on_device), 8, "device input stays on the device");
  cr_assert_eq(atomic_load(&a.with_stream), 8);
  cr_assert_eq(atomic_load(&c.on_host), 8, "a CPU operator gets host blocks");
  cr_assert_eq(atomic_load(&fg.h2d), 8, "one upload per block: the second GPU op shares it");
  cr_assert_eq(atomic_load(&fg.d2h), 8, "one download per block, before the CPU op");
  cr_assert_eq(atomic_load(&a.finishes), 1);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

/* ---- Re-blocking device blocks --------------------------------------------- */

Test(exec_gpu_fake, iterator_batch_rows_after_a_gpu_operator) {
  fg_install(1, 50);
  static gpu_seen a;
  memset(&a, 0, sizeof a);
  a.factor = 3;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 5, tensor_read, NULL, NULL);
  weir_op *g = gpu_op(p, src, "gpu", &a, 1, 1);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 7; /* not a divisor of 16: pieces of several blocks */
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, g, &io, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(drain_and_check(p, it, 5, 3, 7), 5u * ROWS);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, gpu_operator_batch_rows_over_device_input) {
  fg_install(1, 50);
  static gpu_seen a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.factor = 2;
  b.factor = 2;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 4, tensor_read, NULL, NULL);
  weir_op *g1 = gpu_op(p, src, "first", &a, 0.5, 1);
  static const weir_op_def def = {WEIR_OP_DEF_VERSION, "batched", gpu_init, gpu_process,
                                  NULL, NULL};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 0.5;
  o.batch_rows = 24;
  weir_op *g2 = weir_add_op(p, g1, &def, &b, &o);
  cr_assert_not_null(g2, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, g2, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(drain_and_check(p, it, 4, 4, 0), 4u * ROWS);
  weir_iter_destroy(it);
  cr_assert_eq(atomic_load(&b.calls), 3, "64 rows in batches of 24: 3 calls");
  cr_assert_eq(atomic_load(&b.on_device), 3, "joined input is on the device again");
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

/* ---- Two devices ----------------------------------------------------------- */

Test(exec_gpu_fake, two_devices_keep_blocks_where_they_are) {
  fg_install(2, 100);
  static gpu_seen a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.factor = 2;
  b.factor = 7;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 24, tensor_read, NULL, NULL);
  weir_op *g1 = gpu_op(p, src, "first", &a, 0.5, 2);
  weir_op *g2 = gpu_op(p, g1, "second", &b, 0.5, 2);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, g2, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(drain_and_check(p, it, 24, 14, 0), 24u * ROWS);
  weir_iter_destroy(it);
  cr_assert_eq(atomic_load(&a.devices_mask), 3, "the first op ran on both devices");
  cr_assert_eq(atomic_load(&b.devices_mask), 3, "the second op ran on both devices");
  cr_assert_eq(atomic_load(&b.on_device), 24, "every input reached the worker's device");
  /* Each block went to the second op's worker on its device, or was copied
   * there (a peer copy that held its source until done); never lost. */
  cr_assert_leq(atomic_load(&fg.peer), 24);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

/* ---- Calls in flight ----------------------------------------------------- */

/* A kernel that holds the stream until the next call of the operator has
 * been made: only a worker that does not wait for each call's work gets
 * there. It gives up after 20 s so a regression fails instead of hanging. */
typedef struct gate {
  atomic_int open, timed_out;
} gate;

static void gate_run(void *arg) {
  gate *g = arg;
  for (int i = 0; i < 20000 && !atomic_load(&g->open); i++) eu_sleep_us(1000);
  if (!atomic_load(&g->open))
    atomic_store(&g->timed_out, 1);
}

static gate the_gate;

static int gated(void *user, weir_block *in, weir_emit *out) {
  atomic_int *calls = user;
  (void)in;
  int call = atomic_fetch_add(calls, 1) + 1;
  /* The map_batches fn has no ctx argument: the emit's has. */
  void *stream = weir_ctx_cuda_stream(weir_emit_ctx(out));
  if (call == 1)
    fg_launch(stream, gate_run, &the_gate);
  else
    atomic_store(&the_gate.open, 1);
  return WEIR_OK;
}

Test(exec_gpu_fake, a_worker_keeps_calls_in_flight) {
  fg_install(1, 0);
  memset(&the_gate, 0, sizeof the_gate);
  static atomic_int calls;
  atomic_store(&calls, 0);
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 3, tensor_read, NULL, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 1;
  o.max_workers = 1;
  weir_op *g = weir_map_batches(p, src, "gated", gated, &calls, &o);
  cr_assert_eq(weir_pipeline_run(p, g), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(atomic_load(&calls), 3);
  cr_assert_eq(atomic_load(&the_gate.timed_out), 0,
               "the second call waited for the first call's kernel");
  weir_pipeline_destroy(p);
  cr_assert_geq(atomic_load(&fg.max_in_flight), 2);
  no_device_memory_left();
  fg_uninstall();
}

/* ---- Errors ---------------------------------------------------------------- */

static int run_gpu(gpu_seen *s, int tasks, int retries, uint64_t skips, weir_pipeline **pp) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.max_errored_blocks = skips;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", (size_t)tasks, tensor_read, NULL, NULL);
  static const weir_op_def def = {WEIR_OP_DEF_VERSION, "kern", gpu_init, gpu_process,
                                  gpu_finish, NULL};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 1;
  o.max_workers = 1;
  o.max_retries = retries;
  weir_op *g = weir_add_op(p, src, &def, s, &o);
  cr_assert_not_null(g, "%s", weir_pipeline_errmsg(p));
  *pp = p;
  return weir_pipeline_run(p, g);
}

Test(exec_gpu_fake, process_error_names_the_operator) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 1;
  s.fail_return_at = 2;
  weir_pipeline *p;
  cr_assert_eq(run_gpu(&s, 4, 0, 0, &p), WEIR_EINVAL);
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "operator 'kern'") && strstr(m, "call 2 refused"), "%s", m);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, a_failed_kernel_fails_the_run_with_its_message) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 1;
  s.fail_kernel_at = 2;
  weir_pipeline *p;
  cr_assert_neq(run_gpu(&s, 4, 0, 0, &p), WEIR_OK);
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "operator 'kern'") && strstr(m, "out of bounds"), "%s", m);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, a_failed_kernel_is_retried) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 2;
  s.fail_kernel_at = 2;
  weir_pipeline *p;
  cr_assert_eq(run_gpu(&s, 4, 1, 0, &p), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(atomic_load(&s.calls), 5, "4 blocks, one retried");
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, a_sticky_error_ends_the_run_without_retry_or_skip) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 1;
  s.fail_sticky_at = 2;
  weir_pipeline *p;
  int rc = run_gpu(&s, 6, 3, 10, &p);
  cr_assert_eq(rc, WEIR_ENODEV, "%s", weir_pipeline_errmsg(p));
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "device 0 is lost") && strstr(m, "illegal address"), "%s", m);
  cr_assert_eq(atomic_load(&s.calls), 2, "no retry after a sticky error");
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, finish_returning_an_error_fails_the_run) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 1;
  s.finish_return_error = 1;
  weir_pipeline *p;
  cr_assert_neq(run_gpu(&s, 2, 0, 0, &p), WEIR_OK);
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "finish: ") && strstr(m, "finish refused"), "%s", m);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}

Test(exec_gpu_fake, work_finish_queued_that_fails_fails_the_run) {
  fg_install(1, 0);
  static gpu_seen s;
  memset(&s, 0, sizeof s);
  s.factor = 1;
  s.finish_kernel_error = 1;
  weir_pipeline *p;
  cr_assert_neq(run_gpu(&s, 2, 0, 0, &p), WEIR_OK, "the failed flush went unreported");
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "finish: ") && strstr(m, "flush kernel of finish failed"), "%s", m);
  cr_assert_eq(atomic_load(&s.finishes), 1);
  weir_pipeline_destroy(p);
  no_device_memory_left();
  fg_uninstall();
}
