/* Benchmarks of the streaming executor, each against a named peer in the
 * same run: per-hop overhead (vs a hand-written mutex/condvar thread chain),
 * efficiency of 1:4:2 CPU stages (vs the ideal cores/summed-cost), memory
 * under a budget (peak RSS and time vs an unlimited budget), and staged vs
 * streaming execution (vs the same operators run one stage after another).
 * Usage: bench_exec [overhead|efficiency|memory|staged]... (default: all) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

#include "bench_util.h"

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

/* ---- 1. Per-hop overhead ----------------------------------------------- */

typedef struct tiny_src {
  size_t blocks_per_task;
  weir_block *blk;
} tiny_src;

static int tiny_read(void *user, size_t task, weir_emit *out) {
  tiny_src *s = user;
  (void)task;
  for (size_t i = 0; i < s->blocks_per_task; i++) {
    int rc = weir_emit_block(out, weir_block_ref(s->blk));
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

static double weir_chain(int hops, size_t blocks) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  tiny_src s = {blocks / 16, id_block(1)};
  weir_op_options one = WEIR_OP_OPTIONS_INIT;
  one.min_workers = one.max_workers = 1;
  weir_op *op = weir_source(p, "src", 16, tiny_read, &s, &one);
  for (int i = 0; i < hops; i++)
    op = weir_map_batches(p, op, "pass", pass, NULL, &one);
  double t0 = now();
  int rc = weir_pipeline_run(p, op);
  double dt = now() - t0;
  if (rc != WEIR_OK)
    fprintf(stderr, "run failed: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  weir_block_unref(&s.blk);
  return dt;
}

/* The peer: the thread chain a C programmer writes by hand, one thread per
 * stage and a bounded mutex/condvar ring between each pair (64 slots). */
typedef struct ring {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  weir_block *slot[64];
  size_t head, count;
  int done;
} ring;

typedef struct stage {
  ring *in, *out;
  size_t blocks;
  weir_block *blk;
} stage;

static void ring_put(ring *r, weir_block *b) {
  pthread_mutex_lock(&r->mu);
  while (r->count == 64)
    pthread_cond_wait(&r->not_full, &r->mu);
  r->slot[(r->head + r->count++) % 64] = b;
  pthread_cond_signal(&r->not_empty);
  pthread_mutex_unlock(&r->mu);
}

static weir_block *ring_get(ring *r) {
  pthread_mutex_lock(&r->mu);
  while (r->count == 0 && !r->done)
    pthread_cond_wait(&r->not_empty, &r->mu);
  weir_block *b = NULL;
  if (r->count) {
    b = r->slot[r->head];
    r->head = (r->head + 1) % 64;
    r->count--;
    pthread_cond_signal(&r->not_full);
  }
  pthread_mutex_unlock(&r->mu);
  return b;
}

static void ring_close(ring *r) {
  pthread_mutex_lock(&r->mu);
  r->done = 1;
  pthread_cond_broadcast(&r->not_empty);
  pthread_mutex_unlock(&r->mu);
}

static void *stage_main(void *arg) {
  stage *s = arg;
  if (!s->in) {
    for (size_t i = 0; i < s->blocks; i++)
      ring_put(s->out, weir_block_ref(s->blk));
  } else {
    weir_block *b;
    while ((b = ring_get(s->in))) {
      if (s->out)
        ring_put(s->out, b);
      else
        weir_block_unref(&b);
    }
  }
  if (s->out)
    ring_close(s->out);
  return NULL;
}

static double peer_chain(int hops, size_t blocks) {
  ring *rings = calloc((size_t)hops, sizeof *rings);
  stage *st = calloc((size_t)hops + 1, sizeof *st);
  pthread_t *th = calloc((size_t)hops + 1, sizeof *th);
  weir_block *blk = id_block(1);
  for (int i = 0; i < hops; i++) {
    pthread_mutex_init(&rings[i].mu, NULL);
    pthread_cond_init(&rings[i].not_empty, NULL);
    pthread_cond_init(&rings[i].not_full, NULL);
  }
  for (int i = 0; i <= hops; i++) {
    st[i].in = i ? &rings[i - 1] : NULL;
    st[i].out = i < hops ? &rings[i] : NULL;
    st[i].blocks = blocks;
    st[i].blk = blk;
  }
  double t0 = now();
  for (int i = 0; i <= hops; i++)
    pthread_create(&th[i], NULL, stage_main, &st[i]);
  for (int i = 0; i <= hops; i++)
    pthread_join(th[i], NULL);
  double dt = now() - t0;
  weir_block_unref(&blk);
  free(rings);
  free(st);
  free(th);
  return dt;
}

static void bench_overhead(void) {
  const size_t blocks = 100000;
  const int hops = 8;
  double w1 = 1e9, w8 = 1e9, p1 = 1e9, p8 = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double a = weir_chain(1, blocks), b = weir_chain(hops + 1, blocks);
    double c = peer_chain(1, blocks), d = peer_chain(hops + 1, blocks);
    w1 = a < w1 ? a : w1;
    w8 = b < w8 ? b : w8;
    p1 = c < p1 ? c : p1;
    p8 = d < p8 ? d : p8;
  }
  /* The extra `hops` pass-through operators are what the difference pays. */
  double wh = (w8 - w1) / ((double)blocks * hops) * 1e6;
  double ph = (p8 - p1) / ((double)blocks * hops) * 1e6;
  double wt = w8 / ((double)blocks * (hops + 1)) * 1e6;
  printf("overhead: %zu one-row blocks through %d extra pass-through ops\n", blocks, hops);
  printf("  weir:  %.3f s total, %.2f us per block per hop (marginal), %.2f us (total/hops)\n", w8,
         wh, wt);
  printf("  peer (hand-written mutex/condvar thread chain): %.3f s, %.2f us per block per hop\n",
         p8, ph);
  printf("  ratio weir/peer per hop: %.2f; goal <= 2 us per hop: %s\n", ph > 0 ? wh / ph : 0,
         wh <= 2.0 ? "met" : "NOT met");
}

/* ---- 2. Efficiency of 1:4:2 CPU stages --------------------------------- */

static double unit_us = 300;

static int cost_fn(void *user, weir_block *in, weir_emit *out) {
  burn_us(unit_us * (double)(size_t)user);
  return weir_emit_block(out, weir_block_ref(in));
}

static int cost_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  burn_us(unit_us * (double)(size_t)user);
  return weir_emit_block(out, id_block((int64_t)task));
}

static double last_cpu_efficiency;

static double run_142(int w1, int w2, int w3, size_t blocks) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.fixed_pools = 1;
  weir_pipeline_create(&p, &po);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = w1;
  weir_op *a = weir_source(p, "cost1", blocks, cost_read, (void *)(size_t)1, &o);
  o.min_workers = o.max_workers = w2;
  weir_op *b = weir_map_batches(p, a, "cost4", cost_fn, (void *)(size_t)4, &o);
  o.min_workers = o.max_workers = w3;
  weir_op *c = weir_map_batches(p, b, "cost2", cost_fn, (void *)(size_t)2, &o);
  double t0 = now(), c0 = process_cpu();
  weir_pipeline_run(p, c);
  double dt = now() - t0, used = process_cpu() - c0;
  weir_pipeline_destroy(p);
  /* The work the stages had to do over the CPU the process used: what the
   * executor costs on top, whatever else runs on the machine. */
  last_cpu_efficiency = used > 0 ? (double)blocks * 7 * unit_us * 1e-6 / used : 0;
  return (double)blocks / dt;
}

/* The peer that measures the CPU this machine really gives us now: `cores`
 * plain threads doing the same total work (7 units a block), no pipeline. */
typedef struct par_arg {
  size_t blocks;
} par_arg;

static void *par_main(void *arg) {
  par_arg *a = arg;
  for (size_t i = 0; i < a->blocks; i++)
    burn_us(7 * unit_us);
  return NULL;
}

static double parallel_peer(long cores, size_t blocks) {
  pthread_t th[64];
  par_arg a = {blocks / (size_t)cores};
  double t0 = now();
  for (long i = 0; i < cores && i < 64; i++)
    pthread_create(&th[i], NULL, par_main, &a);
  for (long i = 0; i < cores && i < 64; i++)
    pthread_join(th[i], NULL);
  return (double)(a.blocks * (size_t)cores) / (now() - t0);
}

static void bench_efficiency(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const size_t blocks = 800;
  double ideal = (double)cores / (7 * unit_us * 1e-6);
  int alloc[][3] = {{1, 2, 1}, {1, 4, 2}, {1, 3, 2}, {2, 4, 2}, {1, 2, 2}};
  double best = 0;
  int bi = 0;
  printf("efficiency: stages costing 1:4:2 x %.0f us per block, %ld cores\n", unit_us, cores);
  for (size_t i = 0; i < sizeof alloc / sizeof alloc[0]; i++) {
    double r = run_142(alloc[i][0], alloc[i][1], alloc[i][2], blocks);
    printf("  workers %d:%d:%d  %.0f blocks/s (%.1f%% of ideal); useful CPU / CPU used %.1f%%\n",
           alloc[i][0], alloc[i][1], alloc[i][2], r, 100 * r / ideal, 100 * last_cpu_efficiency);
    if (r > best) {
      best = r;
      bi = (int)i;
    }
  }
  double par = parallel_peer(cores, blocks);
  printf("  peer (ideal: cores / summed cost): %.0f blocks/s\n", ideal);
  printf("  peer (the same work on %ld plain threads, measured now): %.0f blocks/s (%.1f%% of "
         "ideal: the machine's load)\n",
         cores, par, 100 * par / ideal);
  printf("  best fixed %d:%d:%d: ratio to ideal %.3f (goal >= 0.95: %s), to the measured "
         "parallel peer %.3f\n",
         alloc[bi][0], alloc[bi][1], alloc[bi][2], best / ideal,
         best / ideal >= 0.95 ? "met" : "NOT met", best / par);
}

/* ---- 3. Memory under a budget ------------------------------------------ */

#define MIB ((size_t)1 << 20)

static int big_read(void *user, size_t task, weir_emit *out) {
  size_t bytes = (size_t)user;
  weir_builder *b;
  weir_builder_create(&b);
  int64_t shape[1] = {(int64_t)bytes};
  weir_builder_add_tensor_column(b, "data", WEIR_DTYPE_UINT8, 1, shape);
  void *slot = NULL;
  weir_builder_append_tensor_slot(b, 0, &slot);
  memset(slot, (int)(task & 0xff), bytes); /* make it resident */
  weir_block *blk = NULL;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static int slow_touch(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  sleep_us(3000);
  return weir_emit_block(out, weir_block_ref(in));
}

static int cpu_touch(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column c;
  weir_block_column(in, 0, &c);
  volatile unsigned s = 0;
  for (size_t i = 0; i < (size_t)c.shape[0]; i += 4096)
    s += ((const uint8_t *)c.data)[i];
  return weir_emit_block(out, weir_block_ref(in));
}

/* Runs in a child so its peak RSS is its own. */
static void memory_child(size_t budget, size_t total, int fd) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget;
  weir_pipeline_create(&p, &po);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 2;
  weir_op *s = weir_source(p, "read", total / MIB, big_read, (void *)MIB, &o);
  weir_op *a = weir_map_batches(p, s, "touch", cpu_touch, NULL, &o);
  o.min_workers = o.max_workers = 4;
  weir_op *b = weir_map_batches(p, a, "slow", slow_touch, NULL, &o);
  double t0 = now();
  int rc = weir_pipeline_run(p, b);
  double dt = now() - t0;
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  weir_pipeline_destroy(p);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double res[4] = {dt, (double)ru.ru_maxrss * 1024, (double)ps.bytes_in_flight_peak, rc};
  if (write(fd, res, sizeof res) != (ssize_t)sizeof res)
    _exit(1);
  _exit(0);
}

static int memory_run(size_t budget, size_t total, double res[4]) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    memory_child(budget, total, fds[1]);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], res, 4 * sizeof *res);
  close(fds[0]);
  int st;
  waitpid(pid, &st, 0);
  return n == (ssize_t)(4 * sizeof *res) ? 0 : -1;
}

static void bench_memory(void) {
  const size_t budget = 64 * MIB, total = 16 * budget;
  double lim[4], unl[4];
  if (memory_run(budget, total, lim) || memory_run((size_t)1 << 40, total, unl)) {
    printf("memory: a child run failed\n");
    return;
  }
  double goal = 1.25 * (double)budget + 64.0 * (double)MIB;
  printf("memory: %zu MiB through read -> cpu -> slow (3 ms, 4 workers), budget %zu MiB\n",
         total / MIB, budget / MIB);
  printf("  weir, budget:    %.2f s, peak RSS %.0f MiB, peak in flight %.0f MiB\n", lim[0],
         lim[1] / MIB, lim[2] / MIB);
  printf("  peer (same run, unlimited budget): %.2f s, peak RSS %.0f MiB\n", unl[0],
         unl[1] / MIB);
  printf("  peak RSS / (1.25 x budget + 64 MiB) = %.2f (goal <= 1: %s); time ratio %.3f (goal "
         "<= 1.1: %s)\n",
         lim[1] / goal, lim[1] <= goal ? "met" : "NOT met", lim[0] / unl[0],
         lim[0] / unl[0] <= 1.1 ? "met" : "NOT met");
}

/* ---- 4. Staged vs streaming -------------------------------------------- */

static int slow_read(void *user, size_t task, weir_emit *out) {
  (void)user;
  sleep_us(2000); /* a slow source: latency, not CPU */
  return weir_emit_block(out, id_block((int64_t)task));
}

static int cpu_stage(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(1000);
  return weir_emit_block(out, weir_block_ref(in));
}

static int wait_stage(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  sleep_us(2000); /* waits on something other than the CPU */
  return weir_emit_block(out, weir_block_ref(in));
}

typedef struct list {
  weir_block **b;
  size_t n;
} list;

static int list_read(void *user, size_t task, weir_emit *out) {
  list *l = user;
  return weir_emit_block(out, weir_block_ref(l->b[task]));
}

/* Runs one stage over `in` (or the slow source when NULL), materialising
 * every output block before returning. */
static list stage_run(list *in, weir_batch_fn fn, int workers, size_t n) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = workers;
  weir_op *op;
  if (!in)
    op = weir_source(p, "read", n, slow_read, NULL, &o);
  else {
    op = weir_source(p, "materialised", in->n, list_read, in, NULL);
    op = weir_map_batches(p, op, "stage", fn, NULL, &o);
  }
  weir_iter *it;
  weir_pipeline_iter(p, op, NULL, &it);
  list out = {calloc(n, sizeof(weir_block *)), 0};
  weir_block *b;
  while (weir_iter_next(it, &b) == WEIR_OK)
    out.b[out.n++] = b;
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  return out;
}

static void list_free(list *l) {
  for (size_t i = 0; i < l->n; i++)
    weir_block_unref(&l->b[i]);
  free(l->b);
}

static void bench_staged(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const size_t n = 400;
  double t0 = now();
  list a = stage_run(NULL, NULL, 4, n);
  list b = stage_run(&a, cpu_stage, (int)cores, n);
  list c = stage_run(&b, wait_stage, 4, n);
  double staged = now() - t0;
  size_t staged_rows = c.n;
  list_free(&a);
  list_free(&b);
  list_free(&c);

  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 4;
  weir_op *s = weir_source(p, "read", n, slow_read, NULL, &o);
  o.min_workers = o.max_workers = (int)cores;
  weir_op *x = weir_map_batches(p, s, "cpu", cpu_stage, NULL, &o);
  o.min_workers = o.max_workers = 4;
  weir_op *y = weir_map_batches(p, x, "wait", wait_stage, NULL, &o);
  t0 = now();
  weir_pipeline_run(p, y);
  double streaming = now() - t0;
  weir_op_stats st;
  weir_pipeline_op_stats(p, 2, &st);
  weir_pipeline_destroy(p);
  printf("staged vs streaming: %zu blocks, source 2 ms wait x4, cpu 1 ms x%ld, wait 2 ms x4\n", n,
         cores);
  printf("  peer (staged, each stage materialised): %.3f s (%zu blocks)\n", staged, staged_rows);
  printf("  weir streaming: %.3f s (%llu blocks)\n", streaming, (unsigned long long)st.blocks_out);
  printf("  ratio staged/streaming: %.2f\n", staged / streaming);
}

int main(int argc, char **argv) {
  const char *all[] = {"overhead", "efficiency", "memory", "staged"};
  int n = argc > 1 ? argc - 1 : 4;
  for (int i = 0; i < n; i++) {
    const char *w = argc > 1 ? argv[i + 1] : all[i];
    if (!strcmp(w, "overhead"))
      bench_overhead();
    else if (!strcmp(w, "efficiency"))
      bench_efficiency();
    else if (!strcmp(w, "memory"))
      bench_memory();
    else if (!strcmp(w, "staged"))
      bench_staged();
    else {
      fprintf(stderr, "unknown benchmark '%s'\n", w);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
