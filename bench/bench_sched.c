/* Benchmarks of the adaptive scheduler, each against a peer in the same
 * run: a skewed 1:4:2 CPU pipeline started at one worker per operator (vs
 * the best fixed allocation found by trying them all, and an even split),
 * a bottleneck that moves half-way (vs the best allocation for each half),
 * and a heterogeneous pipeline with an accelerator that waits (vs the same
 * operators run staged, one after another).
 * Usage: bench_sched [skewed|moving|hetero]... (default: all) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

#include "bench_util.h"

static int64_t block_id(const weir_block *b) {
  weir_column c;
  weir_block_column(b, 0, &c);
  return ((const int64_t *)c.data)[0];
}

/* ---- A three-stage CPU pipeline whose costs may change with the id ----- */

typedef struct costs {
  double unit_us;
  int c[3][2];         /* cost of stage s before/after the switch, in units */
  int64_t switch_at;   /* block id where costs change */
} costs;

static double stage_cost(const costs *k, int s, int64_t id) {
  return k->unit_us * k->c[s][id >= k->switch_at];
}

typedef struct stage_arg {
  const costs *k;
  int s;
} stage_arg;

static int stage_read(void *user, size_t task, weir_emit *out) {
  stage_arg *a = user;
  burn_us(stage_cost(a->k, a->s, (int64_t)task));
  return weir_emit_block(out, id_block((int64_t)task));
}

static int stage_map(void *user, weir_block *in, weir_emit *out) {
  stage_arg *a = user;
  burn_us(stage_cost(a->k, a->s, block_id(in)));
  return weir_emit_block(out, weir_block_ref(in));
}

/* Records when each block leaves the pipeline. */
typedef struct timeline {
  double *t;
  size_t n, cap;
  double t0;
} timeline;

static int record(void *user, weir_block *in, weir_emit *out) {
  timeline *tl = user;
  (void)out, (void)in;
  if (tl->n < tl->cap)
    tl->t[tl->n++] = now() - tl->t0;
  return WEIR_OK;
}

/* Throughput (blocks/s) of the blocks that left in [from, to). */
static double rate_between(const timeline *tl, double from, double to) {
  size_t n = 0;
  for (size_t i = 0; i < tl->n; i++)
    if (tl->t[i] >= from && tl->t[i] < to)
      n++;
  return to > from ? (double)n / (to - from) : 0;
}

/* First time after `after` from which a `win`-second window reaches `goal`. */
static double time_to_reach(const timeline *tl, double after, double win, double goal) {
  double end = tl->n ? tl->t[tl->n - 1] : 0;
  for (double t = after; t + win <= end; t += 0.05)
    if (rate_between(tl, t, t + win) >= goal)
      return t + win - after;
  return -1;
}

/* "1.25 s", or "never in the run" for time_to_reach's -1. */
static const char *seconds_or_never(double s) {
  static char text[32];
  if (s < 0)
    return "never in the run";
  snprintf(text, sizeof text, "%.2f s", s);
  return text;
}

typedef struct result {
  double seconds, rate;
  int peak[3];
  unsigned long long resizes;
} result;

static result run3(const costs *k, size_t blocks, const int *fixed, timeline *tl) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.fixed_pools = fixed != NULL;
  if (getenv("WEIR_BENCH_DEBUG"))
    po.log_level = WEIR_LOG_DEBUG; /* shows every resize with its reason */
  weir_pipeline_create(&p, &po);
  stage_arg a[3] = {{k, 0}, {k, 1}, {k, 2}};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  if (fixed)
    o.min_workers = o.max_workers = fixed[0];
  else
    o.max_workers = 4;
  weir_op *s0 = weir_source(p, "stage1", blocks, stage_read, &a[0], &o);
  if (fixed)
    o.min_workers = o.max_workers = fixed[1];
  weir_op *s1 = weir_map_batches(p, s0, "stage4", stage_map, &a[1], &o);
  if (fixed)
    o.min_workers = o.max_workers = fixed[2];
  weir_op *s2 = weir_map_batches(p, s1, "stage2", stage_map, &a[2], &o);
  weir_op_options rec = WEIR_OP_OPTIONS_INIT;
  rec.min_workers = rec.max_workers = 1;
  rec.num_cpus = 0;
  timeline local = {NULL, 0, 0, 0};
  if (!tl)
    tl = &local;
  weir_op *r = weir_map_batches(p, s2, "record", record, tl, &rec);
  tl->t0 = now();
  int rc = weir_pipeline_run(p, r);
  result res;
  memset(&res, 0, sizeof res);
  res.seconds = now() - tl->t0;
  res.rate = (double)blocks / res.seconds;
  for (int i = 0; i < 3; i++) {
    weir_op_stats st;
    weir_pipeline_op_stats(p, i, &st);
    res.peak[i] = st.workers_peak;
    res.resizes += st.resizes;
  }
  if (rc != WEIR_OK)
    fprintf(stderr, "run failed: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return res;
}

/* Tries every allocation with 1..4 workers per stage (at most 8 in all). */
static double best_fixed(const costs *k, size_t blocks, int best[3]) {
  double br = 0;
  for (int a = 1; a <= 2; a++)
    for (int b = 1; b <= 4; b++)
      for (int c = 1; c <= 3; c++) {
        int w[3] = {a, b, c};
        result r = run3(k, blocks, w, NULL);
        if (r.rate > br) {
          br = r.rate;
          memcpy(best, w, sizeof w);
        }
      }
  return br;
}

static double median3(double a, double b, double c) {
  return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

/* Steady throughput of one run: blocks per second over its second half. */
static double steady_rate(const costs *k, size_t blocks, const int *fixed, result *out) {
  timeline tl = {calloc(blocks, sizeof(double)), 0, blocks, 0};
  result r = run3(k, blocks, fixed, &tl);
  double end = tl.n ? tl.t[tl.n - 1] : 0;
  double rate = rate_between(&tl, end / 2, end);
  if (out)
    *out = r;
  free(tl.t);
  return rate;
}

static void bench_skewed(void) {
  costs k = {250, {{1, 1}, {4, 4}, {2, 2}}, 1 << 30};
  int best[3] = {0, 0, 0};
  if (!getenv("WEIR_BENCH_ONLY_ADAPTIVE"))
    best_fixed(&k, 300, best);
  else
    best[0] = 1, best[1] = 4, best[2] = 2;
  int even[3] = {1, 1, 1};
  /* The machine may be shared: best fixed, even split and adaptive run
   * in turn, three times, and the medians are compared. */
  const size_t blocks = 1500;
  double bf[3], ev[3], ad[3];
  result last;
  for (int rep = 0; rep < 3; rep++) {
    bf[rep] = steady_rate(&k, blocks, best, NULL);
    ev[rep] = steady_rate(&k, blocks, even, NULL);
    ad[rep] = steady_rate(&k, blocks, NULL, &last);
  }
  double mbf = median3(bf[0], bf[1], bf[2]), mev = median3(ev[0], ev[1], ev[2]),
         mad = median3(ad[0], ad[1], ad[2]);
  /* Convergence: one more adaptive run, timed against the best fixed. */
  size_t cb = 3000;
  timeline tl = {calloc(cb, sizeof(double)), 0, cb, 0};
  result cr = run3(&k, cb, NULL, &tl);
  double conv = time_to_reach(&tl, 0, 0.5, 0.95 * mbf);
  free(tl.t);
  printf("skewed 1:4:2 CPU stages (%.0f us units), adaptive from 1:1:1; medians of 3 "
         "interleaved runs of %zu blocks (second-half throughput):\n",
         k.unit_us, blocks);
  printf("  peer, best fixed allocation (of 24 tried): %d:%d:%d at %.0f blocks/s\n", best[0],
         best[1], best[2], mbf);
  printf("  peer, even split 1:1:1: %.0f blocks/s\n", mev);
  printf("  weir adaptive: %.0f blocks/s, last pools peak %d:%d:%d with %llu resizes; "
         "converged (0.5 s window >= 95%% of best) after %s (%llu resizes in that run)\n",
         mad, last.peak[0], last.peak[1], last.peak[2], last.resizes, seconds_or_never(conv),
         cr.resizes);
  printf("  ratio adaptive/best fixed %.3f (goal >= 0.95), adaptive/even %.2f (goal >= 1.5)\n",
         mad / mbf, mad / mev);
}

/* One adaptive run of the moving workload: how long after the switch it
 * took to come back within 5% of `goal` (-1: never), and its rate over the
 * late second half. */
static void moving_run(const costs *k, size_t blocks, double goal, double *back,
                       double *late, unsigned long long *resizes, double *t_switch) {
  timeline tl = {calloc(blocks, sizeof(double)), 0, blocks, 0};
  result ad = run3(k, blocks, NULL, &tl);
  /* The switch happens when block blocks/2 leaves stage 1; it shows in the
   * output a little later: take the time block blocks/2 came out. */
  *t_switch = tl.n > blocks / 2 ? tl.t[blocks / 2] : 0;
  double end = tl.t[tl.n - 1];
  *back = time_to_reach(&tl, *t_switch, 0.5, 0.95 * goal);
  *late = rate_between(&tl, *t_switch + (end - *t_switch) / 2, end);
  *resizes = ad.resizes;
  free(tl.t);
}

static void bench_moving(void) {
  /* 1:4:2 for the first half of the blocks, then 2:1:4. */
  size_t blocks = 4000;
  costs k = {250, {{1, 2}, {4, 1}, {2, 4}}, (int64_t)blocks / 2};
  costs second = {250, {{2, 2}, {1, 1}, {4, 4}}, 1 << 30};
  int best[3] = {0, 0, 0};
  if (!getenv("WEIR_BENCH_ONLY_ADAPTIVE"))
    best_fixed(&second, 300, best);
  /* Three rounds, each timing the best fixed allocation's steady rate just
   * before the adaptive run it judges (the machine's load drifts), then
   * medians: one run on a shared machine can be unlucky. */
  double bf[3], back[3], late[3], t_switch = 0;
  unsigned long long resizes[3];
  for (int rep = 0; rep < 3; rep++) {
    bf[rep] = best[0] ? steady_rate(&second, 1500, best, NULL) : 1;
    moving_run(&k, blocks, bf[rep], &back[rep], &late[rep], &resizes[rep], &t_switch);
    late[rep] /= bf[rep];
    if (back[rep] < 0)
      back[rep] = 1e9; /* never: sorts last */
  }
  double bf2 = median3(bf[0], bf[1], bf[2]);
  double mback = median3(back[0], back[1], back[2]);
  double mlate = median3(late[0], late[1], late[2]);
  printf("moving bottleneck: 1:4:2 then 2:1:4 at block %zu (%.2f s in); medians of 3 rounds\n",
         blocks / 2, t_switch);
  printf("  peer, best fixed for the second half: %d:%d:%d at %.0f blocks/s (steady, timed "
         "before each round)\n",
         best[0], best[1], best[2], bf2);
  /* seconds_or_never answers in one static buffer: copy each answer. */
  char median_text[32], run_text[3][32];
  snprintf(median_text, sizeof median_text, "%s", seconds_or_never(mback < 1e9 ? mback : -1));
  for (int rep = 0; rep < 3; rep++)
    snprintf(run_text[rep], sizeof run_text[rep], "%s",
             seconds_or_never(back[rep] < 1e9 ? back[rep] : -1));
  printf("  weir adaptive: back within 5%% of it after %s (goal <= 2 s; runs %s, %s, %s); "
         "late second half at %.3f of the best (runs %.3f, %.3f, %.3f); "
         "%llu, %llu, %llu resizes\n",
         median_text, run_text[0], run_text[1], run_text[2], mlate, late[0], late[1], late[2],
         resizes[0], resizes[1], resizes[2]);
}

/* ---- Heterogeneous: an accelerator that waits ---------------------------- */

static int slow_source(void *user, size_t task, weir_emit *out) {
  (void)user;
  sleep_us(8000); /* an object store's latency: waits, no CPU */
  return weir_emit_block(out, id_block((int64_t)task));
}
static int pre(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(600);
  return weir_emit_block(out, weir_block_ref(in));
}
static int accel(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  sleep_us(2000); /* a device call: the worker waits, the CPU is free */
  return weir_emit_block(out, weir_block_ref(in));
}
static int post(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(400);
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

static list staged_stage(list *in, weir_batch_fn fn, int workers, size_t n) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.fixed_pools = 1;
  weir_pipeline_create(&p, &po);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = workers;
  weir_op *op = in ? weir_map_batches(p, weir_source(p, "materialised", in->n, list_read, in, NULL),
                                      "stage", fn, NULL, &o)
                   : weir_source(p, "read", n, slow_source, NULL, &o);
  weir_iter *it;
  weir_pipeline_iter(p, op, NULL, &it);
  list out = {calloc(n, sizeof(weir_block *)), 0};
  weir_block *b;
  while (weir_iter_next(it, &b) == WEIR_OK)
    out.b[out.n++] = b;
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  if (in) {
    for (size_t i = 0; i < in->n; i++)
      weir_block_unref(&in->b[i]);
    free(in->b);
  }
  return out;
}

/* Samples one operator's busy seconds every 50 ms while a run goes on. */
typedef struct sampler {
  weir_pipeline *p;
  int op;
  volatile int stop;
  double t[1024], busy[1024];
  int n;
} sampler;

static void *sample_main(void *arg) {
  sampler *s = arg;
  double t0 = now();
  while (!s->stop && s->n < 1024) {
    weir_op_stats st;
    if (weir_pipeline_op_stats(s->p, s->op, &st) == WEIR_OK) {
      s->t[s->n] = now() - t0;
      s->busy[s->n++] = st.busy_seconds;
    }
    sleep_us(50000);
  }
  return NULL;
}

static void bench_hetero(void) {
  const size_t n = 2000;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  /* Peer: staged, each stage materialised, 4 source tasks at a time, the
   * CPU stages on every core, both accelerator slots. */
  double t0 = now();
  list a = staged_stage(NULL, NULL, 4, n);
  list b = staged_stage(&a, pre, (int)cores, n);
  list c = staged_stage(&b, accel, 2, n);
  list d = staged_stage(&c, post, (int)cores, n);
  double staged = now() - t0;
  for (size_t i = 0; i < d.n; i++)
    weir_block_unref(&d.b[i]);
  free(d.b);

  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_pipeline_set_resource(p, "accel", 2);
  weir_op_options io = WEIR_OP_OPTIONS_INIT;
  io.num_cpus = 0; /* it waits on I/O */
  io.min_workers = 4; /* as many reads in flight as the staged run to start */
  io.max_workers = 16;
  weir_op *s = weir_source(p, "read", n, slow_source, NULL, &io);
  weir_op *x = weir_map_batches(p, s, "pre", pre, NULL, NULL);
  weir_op_options ao = WEIR_OP_OPTIONS_INIT;
  ao.num_cpus = 0;
  weir_op *y = weir_map_batches(p, x, "accel", accel, NULL, &ao);
  weir_op_set_resource(y, "accel", 1);
  weir_op *z = weir_map_batches(p, y, "post", post, NULL, NULL);
  static sampler sm;
  memset(&sm, 0, sizeof sm);
  sm.p = p;
  sm.op = 2;
  pthread_t th;
  pthread_create(&th, NULL, sample_main, &sm);
  t0 = now();
  weir_pipeline_run(p, z);
  double streaming = now() - t0;
  sm.stop = 1;
  pthread_join(th, NULL);
  /* Steady state: the second half of the run, once the pools have grown. */
  double steady = 0;
  int h = sm.n / 2, b2 = sm.n - 2;
  if (b2 > h)
    steady = (sm.busy[b2] - sm.busy[h]) / (2 * (sm.t[b2] - sm.t[h]));
  weir_op_stats st[4];
  for (int i = 0; i < 4; i++)
    weir_pipeline_op_stats(p, i, &st[i]);
  weir_pipeline_destroy(p);
  /* Accelerator slots busy: busy time over slots x the time from its first
   * call to its last. */
  double acc_busy = st[2].busy_seconds / (2 * st[2].wall_seconds);
  printf("heterogeneous: %zu blocks, read 8 ms wait, pre 600 us CPU, accel 2 ms wait holding "
         "1 of 2 'accel' slots, post 400 us CPU; %ld cores\n",
         n, cores);
  printf("  peer (staged, each stage materialised; 4 reads in flight, CPU stages on every "
         "core, both accel slots): %.3f s\n",
         staged);
  printf("  weir adaptive streaming: %.3f s; pools peak read %d, pre %d, accel %d, post %d\n",
         streaming, st[0].workers_peak, st[1].workers_peak, st[2].workers_peak,
         st[3].workers_peak);
  printf("  accel slots busy %.1f%% over the run, %.1f%% in its second half (goal >= 95%%); "
         "ideal (accel-bound) %.3f s; ratio staged/streaming %.2f (goal >= 3)\n",
         100 * acc_busy, 100 * steady, (double)n * 0.002 / 2, staged / streaming);
}

int main(int argc, char **argv) {
  const char *all[] = {"skewed", "moving", "hetero"};
  int n = argc > 1 ? argc - 1 : 3;
  for (int i = 0; i < n; i++) {
    const char *w = argc > 1 ? argv[i + 1] : all[i];
    if (!strcmp(w, "skewed"))
      bench_skewed();
    else if (!strcmp(w, "moving"))
      bench_moving();
    else if (!strcmp(w, "hetero"))
      bench_hetero();
    else {
      fprintf(stderr, "unknown benchmark '%s'\n", w);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
