/* How weir's MPI ranks scale when the work is waiting, not computing, and
 * whether rank 0's coordinator of read tasks keeps up with many ranks.
 *
 *   bench_dist_scale scaling [MAX_NP [TASKS [WAIT_MS]]]
 *       (default 8 ranks, 4000 tasks, 5 ms): one pipeline, a source of
 *       TASKS read tasks that each wait WAIT_MS (as a remote read waits)
 *       and emit 16 rows, one worker per rank, into a counting sink; run
 *       on 1, 2, 4 ... MAX_NP ranks. Prints the run's wall time (first
 *       rank's start to last rank's end), tasks per second, and the
 *       efficiency of each doubling, T(n) / (2 T(2n)): 1.0 is perfect.
 *   bench_dist_scale coordinator [NP [TASKS_PER_RANK [WAIT_MS]]]
 *       (default 64 ranks, 2000 tasks each, 1 ms): tiny tasks, so every
 *       rank keeps asking the coordinator. Prints tasks per second, how
 *       many tasks the ranks did (fewest, most), and the share of the
 *       run's wall time rank 0's communication thread (which answers
 *       every other rank's asks and heartbeats) spent on a CPU: its busy
 *       fraction. Near 1 would make rank 0 the bottleneck.
 *
 * Started as the driver, it runs itself under `mpirun --oversubscribe`.
 * The ranks share this machine's cores with everything else on it: with
 * waiting tasks 2 cores can host 8 ranks, which is the point of the
 * scaling mode; the coordinator mode oversubscribes the cores on purpose.
 */
#include <dirent.h>
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../bench/bench_util.h"

static double wait_ms;

/* Realtime seconds: comparable between the ranks of one machine. */
static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Each task emits this many rows: the rows tell the tasks. */
static int rows_per_task(void) { return 16; }

static int waiting_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (wait_ms > 0) sleep_us((long)(wait_ms * 1000));
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "task", WEIR_TYPE_INT64);
  int rows = rows_per_task();
  for (int i = 0; i < rows; i++) weir_builder_append_int64(b, 0, (int64_t)task);
  weir_block *blk = NULL;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

static atomic_ullong rows_seen;

static int count_rows(void *user, weir_block *in, weir_emit *out) {
  (void)user, (void)out;
  atomic_fetch_add(&rows_seen, weir_block_num_rows(in));
  return WEIR_OK;
}

/* CPU seconds of this process's thread named `name`, from its schedstat
 * (nanoseconds on a CPU); -1 when there is no such thread. */
static double thread_cpu(const char *name) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  double secs = -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[512], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
    fclose(f);
    comm[strcspn(comm, "\n")] = 0;
    if (strcmp(comm, name)) continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
    f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f && fscanf(f, "%llu", &ns) == 1) secs = (double)ns * 1e-9;
    if (f) fclose(f);
  }
  closedir(d);
  return secs;
}

/* One rank's side: the pipeline, then one line for the driver. The
 * program starts MPI itself (weir joins it) so that a barrier lines the
 * ranks up before the run: mpirun starts them one after another. */
static int rank_side(size_t tasks, double wait) {
  wait_ms = wait;
  int provided = 0;
  MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.dist = WEIR_DIST_MPI;
  po.num_cpus = 1;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) {
    fprintf(stderr, "bench_dist_scale: %s\n", weir_last_errmsg());
    return 1;
  }
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.max_workers = 1; /* a rank's throughput is one task at a time */
  weir_op *src = weir_source(p, "tasks", tasks, waiting_task, NULL, &so);
  weir_op *sink = weir_map_batches(p, src, "count", count_rows, NULL, NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  double cpu0 = thread_cpu("weir-mpi");
  double t0 = wall_now();
  int rc = weir_pipeline_run(p, sink);
  double t1 = wall_now();
  double cpu1 = thread_cpu("weir-mpi");
  if (cpu0 < 0 || cpu1 < 0) {
    fprintf(stderr, "bench_dist_scale: no thread named weir-mpi in rank %d\n", weir_dist_rank());
    rc = WEIR_ENOTFOUND;
  }
  if (rc != WEIR_OK)
    fprintf(stderr, "bench_dist_scale: rank %d: %s\n", weir_dist_rank(), weir_pipeline_errmsg(p));
  printf("rank %d start %.6f end %.6f tasks %llu comm_cpu %.6f\n", weir_dist_rank(), t0, t1,
         (unsigned long long)(atomic_load(&rows_seen) / (unsigned)rows_per_task()), cpu1 - cpu0);
  fflush(stdout);
  weir_pipeline_destroy(p);
  MPI_Finalize();
  return rc != WEIR_OK;
}

typedef struct result {
  double wall;          /* first start to last end */
  unsigned long long tasks;
  double rank0_comm_cpu;
  int ranks_seen;
  unsigned long long least, most; /* tasks of the rank that did fewest, most */
} result;

/* Runs the rank side on `np` ranks and reads their lines back. */
static int launch(const char *self, int np, size_t tasks, double wait, result *r) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "mpirun --oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader "
           "--mca btl_vader_single_copy_mechanism none -np %d -x WEIR_DIST_TIMEOUT=300 "
           "%s rank %zu %g 2>&1", np, self, tasks, wait);
  FILE *f = popen(cmd, "r");
  if (!f) return 1;
  memset(r, 0, sizeof *r);
  double first = 1e300, last = 0;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    int rank;
    double a, b, c;
    unsigned long long t;
    if (sscanf(line, "rank %d start %lf end %lf tasks %llu comm_cpu %lf", &rank, &a, &b, &t,
               &c) == 5) {
      if (a < first) first = a;
      if (b > last) last = b;
      r->tasks += t;
      if (!r->ranks_seen || t < r->least) r->least = t;
      if (t > r->most) r->most = t;
      if (rank == 0) r->rank0_comm_cpu = c;
      r->ranks_seen++;
    } else {
      fputs(line, stderr); /* MPI's or weir's own messages */
    }
  }
  int st = pclose(f);
  r->wall = last - first;
  if (st != 0 || r->ranks_seen != np || r->tasks != tasks) {
    fprintf(stderr, "bench_dist_scale: %d ranks: %d reported, %llu of %zu tasks, status %d\n",
            np, r->ranks_seen, r->tasks, tasks, st);
    return 1;
  }
  return 0;
}

static int scaling(const char *self, int max_np, size_t tasks, double wait) {
  printf("bench_dist_scale scaling: %zu tasks of %.1f ms waiting each, one worker per rank "
         "(machine shared with other work)\n", tasks, wait);
  printf("  %5s %10s %12s %22s\n", "ranks", "wall s", "tasks/s", "efficiency of doubling");
  double prev = 0, first = 0;
  for (int np = 1; np <= max_np; np *= 2) {
    result r;
    if (launch(self, np, tasks, wait, &r)) return 1;
    if (np == 1) first = r.wall;
    char eff[64] = "";
    if (prev > 0) snprintf(eff, sizeof eff, "%.2f", prev / (2 * r.wall));
    printf("  %5d %10.3f %12.1f %22s\n", np, r.wall, (double)tasks / r.wall, eff);
    fflush(stdout);
    prev = r.wall;
    if (np * 2 > max_np)
      printf("  overall: %d ranks are %.2fx one rank (ideal %d); ideal wall at 1 rank %.3f s\n",
             np, first / r.wall, np, tasks * wait / 1000.0);
  }
  return 0;
}

static int coordinator(const char *self, int np, size_t per_rank, double wait) {
  size_t tasks = (size_t)np * per_rank;
  result r;
  if (launch(self, np, tasks, wait, &r)) return 1;
  printf("bench_dist_scale coordinator: %d ranks on %ld cores, %zu tasks of %.1f ms waiting "
         "(machine shared with other work)\n", np, sysconf(_SC_NPROCESSORS_ONLN), tasks, wait);
  printf("  %.3f s wall, %.0f tasks/s; a rank did %llu to %llu tasks\n", r.wall,
         (double)tasks / r.wall, r.least, r.most);
  printf("  rank 0's communication thread: %.3f s of CPU, busy %.1f%% of the run\n",
         r.rank0_comm_cpu, 100.0 * r.rank0_comm_cpu / r.wall);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "rank")) return rank_side((size_t)atol(argv[2]), atof(argv[3]));
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = 0;
  const char *mode = argc > 1 ? argv[1] : "scaling";
  if (!strcmp(mode, "scaling"))
    return scaling(self, argc > 2 ? atoi(argv[2]) : 8, argc > 3 ? (size_t)atol(argv[3]) : 4000,
                   argc > 4 ? atof(argv[4]) : 5.0);
  if (!strcmp(mode, "coordinator"))
    return coordinator(self, argc > 2 ? atoi(argv[2]) : 64,
                       argc > 3 ? (size_t)atol(argv[3]) : 2000, argc > 4 ? atof(argv[4]) : 1.0);
  fprintf(stderr, "usage: bench_dist_scale scaling [MAX_NP [TASKS [WAIT_MS]]]\n"
                  "       bench_dist_scale coordinator [NP [TASKS_PER_RANK [WAIT_MS]]]\n");
  return 2;
}
