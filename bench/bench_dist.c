/* Exchange throughput of weir_repartition_by_key on MPI ranks against a
 * raw MPI_Alltoallv of the same bytes on the same ranks.
 *
 *   bench_dist [NP [MIB_PER_RANK]]     (default 2 ranks, 64 MiB per rank)
 *
 * Started without mpirun, it is the driver: it runs itself twice under
 * `mpirun --oversubscribe -np NP`, once as the peer (one MPI_Alltoallv of
 * MIB_PER_RANK from every rank, spread evenly over the ranks, best of
 * three) and once as weir (a source of blocks of 1 KiB rows with a random
 * int64 key, repartition_by_key over the ranks, a sink), and prints the
 * bytes that crossed between ranks per second for both and their ratio.
 * weir's time includes making the rows, hashing, cutting and encoding the
 * blocks and decoding them on the receiver: the whole exchange a pipeline
 * pays. The same pipeline without the exchange is timed too, and the
 * difference quoted as the exchange's own cost. The ranks share this machine's cores with everything else on it,
 * so the figures are for comparing the two in one run. */
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bench/bench_util.h"

#define ROW_BYTES 1024
#define ROWS_PER_TASK 2048 /* 2 MiB blocks */

static int raw_peer(size_t bytes) {
  int provided;
  MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &provided);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t each = bytes / (size_t)size;
  char *sb = malloc(each * (size_t)size), *rb = malloc(each * (size_t)size);
  int *counts = malloc(sizeof(int) * (size_t)size), *displs = malloc(sizeof(int) * (size_t)size);
  memset(sb, rank + 1, each * (size_t)size);
  for (int r = 0; r < size; r++) {
    counts[r] = (int)each;
    displs[r] = (int)(each * (size_t)r);
  }
  double best = 1e30;
  for (int it = 0; it < 3; it++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    MPI_Alltoallv(sb, counts, displs, MPI_BYTE, rb, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double t = now() - t0;
    if (t < best) best = t;
  }
  /* Bytes that left each rank, all ranks. */
  double crossed = (double)each * (size - 1) * size;
  if (rank == 0)
    printf("raw %.6f s %.0f bytes\n", best, crossed);
  free(sb);
  free(rb);
  free(counts);
  free(displs);
  MPI_Finalize();
  return 0;
}

static size_t tasks_total;

static int make_rows(void *user, size_t task, weir_emit *out) {
  (void)user;
  static char pad[ROW_BYTES];
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "key", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "payload", WEIR_TYPE_BINARY);
  weir_builder_reserve(b, ROWS_PER_TASK);
  uint64_t x = task * 0x9e3779b97f4a7c15ull + 1;
  for (int i = 0; i < ROWS_PER_TASK; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    weir_builder_append_int64(b, 0, (int64_t)x);
    weir_builder_append_string(b, 1, pad, ROW_BYTES - 8);
  }
  weir_block *blk = NULL;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

static atomic_ullong rows_in;

static int count_rows(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  (void)out;
  atomic_fetch_add(&rows_in, weir_block_num_rows(in));
  return WEIR_OK;
}

/* One run of source -> [repartition_by_key] -> count on every rank; its
 * seconds on this rank. */
static int one_run(size_t bytes, int exchange, double *secs) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.dist = WEIR_DIST_MPI;
  po.num_cpus = 2;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) {
    fprintf(stderr, "bench_dist: %s\n", weir_last_errmsg());
    return 1;
  }
  int size = weir_dist_size();
  tasks_total = (size_t)size * (bytes / ((size_t)ROW_BYTES * ROWS_PER_TASK));
  weir_op *src = weir_source(p, "rows", tasks_total, make_rows, NULL, NULL);
  weir_op *rp = exchange ? weir_repartition_by_key(p, src, "key", 0) : src;
  weir_op *sink = weir_map_batches(p, rp, "count", count_rows, NULL, NULL);
  double t0 = now();
  int rc = weir_pipeline_run(p, sink);
  *secs = now() - t0;
  if (rc != WEIR_OK)
    fprintf(stderr, "bench_dist: rank %d: %s\n", weir_dist_rank(), weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc != WEIR_OK;
}

/* Best of three, with the exchange and without it (the same rows made
 * and counted where they were made: what the pipeline costs besides the
 * exchange). */
static int weir_side(size_t bytes) {
  double best[2] = {1e30, 1e30};
  unsigned long long rows = 0;
  for (int it = 0; it < 3; it++)
    for (int ex = 1; ex >= 0; ex--) {
      double t;
      atomic_store(&rows_in, 0);
      if (one_run(bytes, ex, &t)) return 1;
      if (t < best[ex]) best[ex] = t;
      if (ex) rows = atomic_load(&rows_in);
    }
  printf("weir rank %d %.6f s rows %llu local %.6f s\n", weir_dist_rank(), best[1], rows,
         best[0]);
  return 0;
}

/* Runs `cmd`, returns its output (malloc'ed). */
static char *capture(const char *cmd) {
  FILE *f = popen(cmd, "r");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0, n;
  char *buf = malloc(cap);
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) len += n;
  buf[len] = 0;
  pclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "raw") || !strcmp(argv[1], "weir"))) {
    size_t bytes = (size_t)atol(argv[2]) << 20;
    return !strcmp(argv[1], "raw") ? raw_peer(bytes) : weir_side(bytes);
  }
  int np = argc > 1 ? atoi(argv[1]) : 2;
  int mib = argc > 2 ? atoi(argv[2]) : 64;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = 0;
  const char *mpi = "mpirun --oversubscribe --allow-run-as-root --bind-to none "
                    "--mca btl self,vader --mca btl_vader_single_copy_mechanism none";
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s -np %d %s raw %d 2>&1", mpi, np, self, mib);
  char *raw = capture(cmd);
  snprintf(cmd, sizeof cmd, "%s -np %d %s weir %d 2>&1", mpi, np, self, mib);
  char *w = capture(cmd);
  double raw_t = 0, crossed = 0, weir_t = 0, local_t = 0;
  const char *l = raw ? strstr(raw, "raw ") : NULL;
  if (!l || sscanf(l, "raw %lf s %lf bytes", &raw_t, &crossed) != 2) {
    fprintf(stderr, "bench_dist: the MPI_Alltoallv peer failed:\n%s\n", raw ? raw : "");
    return 1;
  }
  /* weir's time: the slowest rank's. */
  unsigned long long rows = 0;
  int seen = 0;
  for (const char *q = w; q && (q = strstr(q, "weir rank ")) != NULL; q++) {
    int r;
    double t, tl;
    unsigned long long rr;
    if (sscanf(q, "weir rank %d %lf s rows %llu local %lf s", &r, &t, &rr, &tl) == 4) {
      if (t > weir_t) weir_t = t;
      if (tl > local_t) local_t = tl;
      rows += rr;
      seen++;
    }
  }
  if (seen != np) {
    fprintf(stderr, "bench_dist: weir's run failed:\n%s\n", w ? w : "");
    return 1;
  }
  /* The rows that crossed: those not owned by the rank that made them,
   * (np - 1) / np of them with keys spread evenly. */
  double weir_crossed = (double)rows * ROW_BYTES * (np - 1) / np;
  double raw_bw = crossed / raw_t, weir_bw = weir_crossed / weir_t;
  printf("bench_dist: %d ranks, %d MiB per rank (machine shared with other work)\n", np, mib);
  printf("  MPI_Alltoallv        %8.1f MiB/s crossed (%.3f s, best of 3)\n", raw_bw / 1048576,
         raw_t);
  printf("  repartition_by_key   %8.1f MiB/s crossed (%.3f s, whole pipeline, %llu rows, "
         "best of 3)\n", weir_bw / 1048576, weir_t, rows);
  printf("  the same pipeline without the exchange: %.3f s, so the exchange adds %.3f s: "
         "%.1f MiB/s\n", local_t, weir_t - local_t,
         weir_t > local_t ? weir_crossed / (weir_t - local_t) / 1048576 : 0.0);
  printf("  ratio weir / MPI_Alltoallv: %.2f whole pipeline, %.2f exchange alone\n",
         weir_bw / raw_bw,
         weir_t > local_t ? weir_crossed / (weir_t - local_t) / raw_bw : 0.0);
  free(raw);
  free(w);
  return 0;
}
