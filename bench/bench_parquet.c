/* Benchmark: weir's Parquet reader and writer against pyarrow and DuckDB
 * in the same run, 2 threads each, on a FineWeb-like file (text, id, url,
 * score, token_ids list<int32>) that pyarrow writes with ZSTD:
 *   - read every column into blocks / pq.read_table / a DuckDB scan;
 *   - projection of 2 of 5 columns: bytes read (from /proc/self/io)
 *     against the compressed bytes of those columns;
 *   - write with ZSTD from blocks in memory / pq.write_table, and sizes.
 *
 *   bench_parquet [MB of text, default 200] [folder, default $TMPDIR]
 * With WEIR_BENCH_READ_ONLY=N it only reads the file with weir N times and
 * prints the times (for profiling the reader: perf record ...). 
 * Python: $WEIR_VENV or ~/.cache/weir-venv (pyarrow, duckdb). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char py[600], script[700];

static double run_py(const char *args, const char *key, long long *extra) {
  char cmd[4000];
  snprintf(cmd, sizeof cmd, "'%s' '%s' %s", py, script, args);
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  char line[512];
  double v = -1;
  while (fgets(line, sizeof line, f)) {
    fputs(line, stdout);
    char k[64];
    double x;
    long long e;
    if (sscanf(line, "%63s %lf %*s %lld", k, &x, &e) >= 2 && !strcmp(k, key)) {
      v = x;
      if (extra) *extra = e;
    }
  }
  pclose(f);
  return v;
}

static long long rchar(void) {
  FILE *f = fopen("/proc/self/io", "r");
  if (!f) return -1;
  char k[64];
  long long v, r = -1;
  while (fscanf(f, "%63s %lld", k, &v) == 2)
    if (!strcmp(k, "rchar:")) r = v;
  fclose(f);
  return r;
}

static weir_pipeline *pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2};
  if (weir_pipeline_create(&p, &o)) exit(1);
  return p;
}

/* Reads `file` (columns `cols`), keeping the blocks when `keep`. */
static double weir_read(const char *file, const char *cols, weir_block ***keep, size_t *nkeep,
                        size_t *rows) {
  weir_pipeline *p = pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.columns = cols;
  double t0 = now();
  weir_op *r = weir_read_parquet(p, file, &o);
  weir_iter *it;
  if (!r || weir_pipeline_iter(p, r, NULL, &it)) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  weir_block *b;
  *rows = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    *rows += weir_block_num_rows(b);
    if (keep) {
      *keep = realloc(*keep, (*nkeep + 1) * sizeof **keep);
      (*keep)[(*nkeep)++] = b;
    } else {
      weir_block_unref(&b);
    }
  }
  double t = now() - t0;
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  return t;
}

typedef struct blocks { weir_block **b; size_t n; } blocks;

static int emit_all(void *user, size_t task, weir_emit *out) {
  blocks *bs = user;
  return weir_emit_block(out, weir_block_ref(bs->b[task]));
}

int main(int argc, char **argv) {
  int mb = argc > 1 ? atoi(argv[1]) : 200;
  const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  const char *venv = getenv("WEIR_VENV");
  if (venv) snprintf(py, sizeof py, "%s/bin/python", venv);
  else snprintf(py, sizeof py, "%s/.cache/weir-venv/bin/python", getenv("HOME"));
  snprintf(script, sizeof script, "%s/bench_parquet.py", WEIR_BENCH_DIR);
  char file[600], out_w[600], out_p[600], args[2000];
  snprintf(file, sizeof file, "%s/bench_parquet_%dmb.parquet", dir, mb);
  snprintf(out_w, sizeof out_w, "%s/bench_parquet_weir.parquet", dir);
  snprintf(out_p, sizeof out_p, "%s/bench_parquet_pyarrow.parquet", dir);
  struct stat st;
  if (stat(file, &st) != 0) {
    snprintf(args, sizeof args, "gen '%s' %d", file, mb);
    run_py(args, "rows", NULL);
  }
  stat(file, &st);
  printf("file %s: %.1f MB\n", file, st.st_size / 1048576.0);

  const char *only = getenv("WEIR_BENCH_READ_ONLY");
  if (only) {
    size_t n = 0;
    for (int rep = 0; rep < atoi(only); rep++)
      printf("weir read: %.3f s\n", weir_read(file, NULL, NULL, NULL, &n));
    return 0;
  }
  /* Reading, each peer right after the other, twice; the better time. */
  double tw = 1e9, tp = 1e9, td = 1e9;
  size_t rows = 0;
  for (int rep = 0; rep < 2; rep++) {
    double t = weir_read(file, NULL, NULL, NULL, &rows);
    if (t < tw) tw = t;
    snprintf(args, sizeof args, "read '%s'", file);
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "'%s' '%s' %s", py, script, args);
    FILE *f = popen(cmd, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
      double x;
      if (sscanf(line, "pyarrow_read %lf", &x) == 1 && x < tp) tp = x;
      if (sscanf(line, "duckdb_read %lf", &x) == 1 && x < td) td = x;
    }
    if (f) pclose(f);
  }
  printf("read all columns (%zu rows): weir %.2f s, pyarrow %.2f s, duckdb %.2f s -> "
         "weir is %.2fx pyarrow, %.2fx duckdb\n", rows, tw, tp, td, tp / tw, td / tw);

  /* Projection: bytes read against the columns' compressed bytes. */
  long long cb = 0;
  snprintf(args, sizeof args, "colbytes '%s' id,score", file);
  FILE *f;
  char cmd[4000];
  snprintf(cmd, sizeof cmd, "'%s' '%s' %s", py, script, args);
  f = popen(cmd, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) sscanf(line, "colbytes %lld", &cb);
  if (f) pclose(f);
  long long r0 = rchar();
  double tproj = weir_read(file, "id,score", NULL, NULL, &rows);
  long long read_bytes = rchar() - r0;
  printf("projection id,score: %.2f s, read %lld bytes for %lld bytes of those columns "
         "(%.3fx)\n", tproj, read_bytes, cb, cb ? (double)read_bytes / (double)cb : 0);

  /* Writing from blocks in memory. */
  weir_block **keep = NULL;
  size_t nkeep = 0;
  weir_read(file, NULL, &keep, &nkeep, &rows);
  blocks bs = {keep, nkeep};
  double twr = 1e9;
  for (int rep = 0; rep < 2; rep++) {
    weir_pipeline *p = pipeline();
    weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0,
                          .preserve_order = 1};
    weir_op *s = weir_source(p, "mem", nkeep, emit_all, &bs, &so);
    double t0 = now();
    weir_op *w = weir_write_parquet(p, s, out_w, NULL);
    if (!w || weir_pipeline_run(p, w)) {
      fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
      return 1;
    }
    double t = now() - t0;
    if (t < twr) twr = t;
    weir_pipeline_destroy(p);
  }
  for (size_t i = 0; i < nkeep; i++) weir_block_unref(&keep[i]);
  free(keep);
  long long pbytes = 0;
  double tpw = 1e9;
  for (int rep = 0; rep < 2; rep++) {
    snprintf(args, sizeof args, "write '%s' '%s'", file, out_p);
    double t = run_py(args, "pyarrow_write", &pbytes);
    if (t > 0 && t < tpw) tpw = t;
  }
  stat(out_w, &st);
  printf("write ZSTD: weir %.2f s (%.1f MB), pyarrow %.2f s (%.1f MB) -> weir is %.2fx "
         "pyarrow's speed, size %.3fx\n", twr, st.st_size / 1048576.0, tpw, pbytes / 1048576.0,
         tpw / twr, pbytes ? (double)st.st_size / (double)pbytes : 0);
  printf("(2 threads each; the machine is shared with other engineers' builds, so "
         "absolute times vary)\n");
  return 0;
}
