/* Benchmark of spilling in the executor: an ordered pipeline whose second
 * read task is slow, so the outputs of the tasks after it wait for it.
 * weir with a small memory budget (it spills them to disk) against the
 * peer, the same run with an unlimited budget (it holds them in memory),
 * and, for reference, the small budget with spilling off. Each run is a
 * child process, so its peak RSS is its own.
 * Peak RSS also holds what glibc keeps of freed multi-MiB blocks in its
 * per-thread arenas; MALLOC_MMAP_THRESHOLD_=1048576 shows the data alone.
 * Usage: bench_exec_spill [block_MiB=4] [tasks=128] [budget_MiB=64]
 *                         [slow_ms=1000] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

#define MIB ((size_t)1 << 20)

static size_t block_bytes = 4 * MIB;
static long slow_us = 1000000;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One block of `block_bytes` pseudo-random bytes (incompressible: the
 * worst case for a spill that compresses); task 1 is slow. */
static int read_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (task == 1) {
    struct timespec ts = {slow_us / 1000000, (slow_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
  weir_builder *b;
  if (weir_builder_create(&b) != WEIR_OK)
    return WEIR_ENOMEM;
  int64_t shape[1] = {(int64_t)block_bytes};
  weir_builder_add_tensor_column(b, "data", WEIR_DTYPE_UINT8, 1, shape);
  void *slot = NULL;
  weir_builder_append_tensor_slot(b, 0, &slot);
  uint64_t x = 0x9e3779b97f4a7c15ull * (task + 1);
  uint64_t *w = slot;
  for (size_t i = 0; i < block_bytes / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w[i] = x;
  }
  w[0] = task; /* the sink checks the order */
  weir_block *blk = NULL;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

typedef struct sink {
  uint64_t next, bad;
} sink;

static int check(void *user, weir_block *in, weir_emit *out) {
  (void)out;
  sink *s = user;
  weir_column c;
  weir_block_column(in, 0, &c);
  if (((const uint64_t *)c.data)[0] != s->next)
    s->bad++;
  s->next++;
  return WEIR_OK;
}

enum { R_TIME, R_RSS, R_PEAK, R_SPILLED, R_BAD, R_RC, R_N };

static void child(size_t tasks, size_t budget, int no_spill, int fd) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget;
  po.no_spill = no_spill;
  po.fixed_pools = 1;
  weir_pipeline_create(&p, &po);
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.min_workers = so.max_workers = 8;
  so.num_cpus = 0;
  weir_op *s = weir_source(p, "read", tasks, read_task, NULL, &so);
  weir_op_options ko = WEIR_OP_OPTIONS_INIT;
  ko.min_workers = ko.max_workers = 1;
  ko.preserve_order = 1;
  sink sk = {0, 0};
  weir_op *k = weir_map_batches(p, s, "check", check, &sk, &ko);
  double t0 = now();
  int rc = weir_pipeline_run(p, k);
  double dt = now() - t0;
  weir_pipeline_stats ps;
  weir_op_stats os;
  weir_pipeline_get_stats(p, &ps);
  weir_pipeline_op_stats(p, weir_op_index(s), &os);
  weir_pipeline_destroy(p);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double res[R_N] = {dt,
                     (double)ru.ru_maxrss * 1024,
                     (double)ps.bytes_in_flight_peak,
                     (double)os.spilled_bytes,
                     (double)(sk.bad + (tasks - sk.next)),
                     rc};
  if (write(fd, res, sizeof res) != (ssize_t)sizeof res)
    _exit(1);
  _exit(0);
}

static int run(size_t tasks, size_t budget, int no_spill, double res[R_N]) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(tasks, budget, no_spill, fds[1]);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], res, R_N * sizeof *res);
  close(fds[0]);
  int st;
  waitpid(pid, &st, 0);
  return n == (ssize_t)(R_N * sizeof *res) && res[R_RC] == 0 ? 0 : -1;
}

static void show(const char *what, const double r[R_N]) {
  printf("  %-34s %6.2f s, peak RSS %5.0f MiB, peak in flight %5.0f MiB, spilled %5.0f MiB, "
         "rows wrong %.0f\n",
         what, r[R_TIME], r[R_RSS] / MIB, r[R_PEAK] / MIB, r[R_SPILLED] / MIB, r[R_BAD]);
}

int main(int argc, char **argv) {
  if (argc > 1)
    block_bytes = (size_t)atol(argv[1]) * MIB;
  size_t tasks = argc > 2 ? (size_t)atol(argv[2]) : 128;
  size_t budget = (argc > 3 ? (size_t)atol(argv[3]) : 64) * MIB;
  if (argc > 4)
    slow_us = atol(argv[4]) * 1000;
  double sp[R_N], peer[R_N], hold[R_N];
  printf("spill: %zu read tasks of %zu MiB (random bytes), task 1 sleeps %ld ms, 8 readers, "
         "ordered sink; budget %zu MiB\n",
         tasks, block_bytes / MIB, slow_us / 1000, budget / MIB);
  if (run(tasks, budget, 0, sp) || run(tasks, (size_t)1 << 40, 0, peer) ||
      run(tasks, budget, 1, hold)) {
    printf("spill: a child run failed\n");
    return 1;
  }
  show("weir, budget, spilling:", sp);
  show("peer (unlimited budget, in memory):", peer);
  show("weir, budget, no_spill:", hold);
  printf("  time ratio spill/peer %.3f; peak RSS ratio spill/peer %.3f; peak in flight / budget "
         "%.2f\n",
         sp[R_TIME] / peer[R_TIME], sp[R_RSS] / peer[R_RSS], sp[R_PEAK] / (double)budget);
  return 0;
}
