/* Benchmark: weir_read_jsonl against DuckDB's read_ndjson (the peer,
 * bench_io_duckdb.py in the tests' virtual environment) in the same run,
 * on the same files and the same number of threads, each read in a child
 * process whose own wall, user and system CPU time are measured around the
 * read alone:
 *   1. a set of .jsonl.zst files (LLM-style records, MB of JSON in all);
 *   2. FILES one-line .jsonl files in one folder (many small files).
 * Both readers materialise every column (DuckDB into a table, weir into
 * blocks counted by a sink).
 *
 *   bench_io_ndjson [MB, default 200] [FILES, default 20000] [THREADS,
 *                   default 2] [folder, default $TMPDIR]
 * $WEIR_VENV names the virtual environment (default ~/.cache/weir-venv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

#include "io/codec.h"
#include "io/vfs.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec * 1e-6; }

static const char *words[] = {"data", "stream", "model", "token", "the", "of",
                              "and", "a", "pipeline", "operator", "block",
                              "column", "memory", "budget", "training", "GPU",
                              "préparation", "données", "数据"};

/* One record into `line`; returns its length. */
static int record(char *line, size_t cap, size_t id, unsigned *seed) {
  int n = snprintf(line, cap,
                   "{\"id\": %zu, \"url\": \"https://example.org/doc/%u\", "
                   "\"score\": %.4f, \"lang\": \"%s\", \"text\": \"",
                   id, *seed % 100000, (double)(*seed % 10000) / 10000.0,
                   *seed % 3 ? "en" : "fr");
  size_t nw = 40 + (*seed >> 8) % 200;
  for (size_t w = 0; w < nw; w++) {
    *seed = *seed * 1103515245u + 12345u;
    n += snprintf(line + n, cap - (size_t)n, "%s%s", w ? " " : "",
                  words[(*seed >> 16) % (sizeof words / sizeof *words)]);
  }
  n += snprintf(line + n, cap - (size_t)n, "\", \"ok\": %s}\n",
                *seed % 2 ? "true" : "false");
  return n;
}

/* `nfiles` zstd files of `mb`/nfiles MB each in `dir`. */
static size_t make_big(const char *dir, size_t mb, int nfiles) {
  mkdir(dir, 0777);
  char *line = malloc(1 << 16);
  unsigned seed = 12345;
  size_t rows = 0;
  for (int f = 0; f < nfiles; f++) {
    char path[1400], err[256];
    snprintf(path, sizeof path, "%s/part-%02d.jsonl.zst", dir, f);
    weir__wstream *ws;
    weir__cstream *cs;
    if (weir__wstream_open(path, NULL, &ws, err, sizeof err) ||
        weir__cstream_open(ws, WEIR__CODEC_ZSTD, 3, &cs)) {
      fprintf(stderr, "cannot write %s: %s\n", path, err);
      exit(1);
    }
    size_t total = 0;
    while (total < mb * 1000000 / (size_t)nfiles) {
      int n = record(line, 1 << 16, rows++, &seed);
      weir__cstream_write(cs, line, (size_t)n);
      total += (size_t)n;
    }
    if (weir__cstream_commit(cs, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      exit(1);
    }
  }
  free(line);
  return rows;
}

/* `n` one-line files in `dir`. */
static void make_small(const char *dir, int n) {
  mkdir(dir, 0777);
  char line[1 << 14];
  unsigned seed = 777;
  for (int i = 0; i < n; i++) {
    char path[1400];
    snprintf(path, sizeof path, "%s/f%05d.jsonl", dir, i);
    FILE *f = fopen(path, "w");
    if (!f) {
      perror(path);
      exit(1);
    }
    fwrite(line, 1, (size_t)record(line, sizeof line, (size_t)i, &seed), f);
    fclose(f);
  }
}

typedef struct result {
  double rows, wall, user, sys;
} result;

static int count_block(void *user, weir_block *in, weir_emit *out) {
  (void)out;
  __atomic_fetch_add((size_t *)user, weir_block_num_rows(in), __ATOMIC_RELAXED);
  return WEIR_OK;
}

/* weir reads `glob` on `threads` CPU slots in a child process. */
static result weir_child(const char *glob, int threads) {
  int fd[2];
  if (pipe(fd)) exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    weir_pipeline *p;
    weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
    po.num_cpus = threads;
    weir_pipeline_create(&p, &po);
    size_t rows = 0;
    weir_op_options oo = WEIR_OP_OPTIONS_INIT;
    oo.num_cpus = 0;
    oo.max_workers = 1;
    weir_op *sink = weir_map_batches(p, weir_read_jsonl(p, glob, NULL), "count",
                                     count_block, &rows, &oo);
    int rc = sink ? weir_pipeline_run(p, sink) : WEIR_EINVAL;
    if (rc != WEIR_OK) {
      fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
      _exit(1);
    }
    weir_pipeline_destroy(p);
    double wall = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    result r = {(double)rows, wall, tv(r1.ru_utime) - tv(r0.ru_utime),
                tv(r1.ru_stime) - tv(r0.ru_stime)};
    if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  result r = {0};
  if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.rows = -1;
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  return r;
}

static result duckdb_child(const char *glob, int threads) {
  const char *venv = getenv("WEIR_VENV");
  char def[1024], cmd[4096];
  if (!venv) {
    snprintf(def, sizeof def, "%s/.cache/weir-venv", getenv("HOME") ? getenv("HOME") : "/root");
    venv = def;
  }
  snprintf(cmd, sizeof cmd, "'%s/bin/python' '%s/bench/bench_io_duckdb.py' '%s' %d", venv,
           WEIR_SOURCE_DIR, glob, threads);
  result r = {-1, 0, 0, 0};
  FILE *f = popen(cmd, "r");
  char line[512] = "";
  if (f && fgets(line, sizeof line, f))
    sscanf(line, "{\"rows\": %lf, \"wall\": %lf, \"user\": %lf, \"sys\": %lf", &r.rows,
           &r.wall, &r.user, &r.sys);
  if (f) pclose(f);
  if (r.rows < 0) fprintf(stderr, "DuckDB peer failed: %s\n", cmd);
  return r;
}

static void row(const char *what, const char *who, result r) {
  printf("| %-28s | %-6s | %9.0f | %7.2f | %7.2f | %7.2f |\n", what, who, r.rows, r.wall,
         r.user, r.sys);
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 200;
  int files = argc > 2 ? atoi(argv[2]) : 20000;
  int threads = argc > 3 ? atoi(argv[3]) : 2;
  const char *base = argc > 4 ? argv[4] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char dir[1024], big[1100], small[1100], glob_big[1200], glob_small[1200];
  snprintf(dir, sizeof dir, "%s/weir-bench-ndjson-%d", base, (int)getpid());
  mkdir(dir, 0777);
  snprintf(big, sizeof big, "%s/big", dir);
  snprintf(small, sizeof small, "%s/small", dir);
  size_t rows = make_big(big, mb, 8);
  make_small(small, files);
  snprintf(glob_big, sizeof glob_big, "%s/*.jsonl.zst", big);
  snprintf(glob_small, sizeof glob_small, "%s/*.jsonl", small);
  printf("weir vs DuckDB read_ndjson, %d threads each (wall, user and system "
         "seconds of the read)\n", threads);
  printf("| %-28s | %-6s | %9s | %7s | %7s | %7s |\n", "input", "reader", "rows", "wall",
         "user", "sys");
  printf("|------------------------------|--------|-----------|---------|---------|---------|\n");
  char what[64];
  snprintf(what, sizeof what, "%zu MB JSONL, 8 .zst files", mb);
  /* Alternate, so a load change on the machine hits both. */
  for (int rep = 0; rep < 2; rep++) {
    row(what, "weir", weir_child(glob_big, threads));
    row(what, "duckdb", duckdb_child(glob_big, threads));
  }
  snprintf(what, sizeof what, "%d one-line files", files);
  for (int rep = 0; rep < 2; rep++) {
    row(what, "weir", weir_child(glob_small, threads));
    row(what, "duckdb", duckdb_child(glob_small, threads));
  }
  (void)rows;
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return 0;
}
