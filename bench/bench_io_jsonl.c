/* Benchmark: read-and-parse of a large .jsonl.zst through a weir pipeline
 * against `zstd -d` of the same file to /dev/null, in the same run; and the
 * cost of spilling the parsed blocks to disk and reading them back against
 * keeping them in memory.
 *
 *   bench_io_jsonl [uncompressed MB, default 200] [folder, default $TMPDIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

#include "io/chunker.h"
#include "io/codec.h"
#include "io/jsonl_parse.h"
#include "io/spill.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_self(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_children(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static const char *words[] = {
    "data", "stream", "model", "token", "the", "of", "and", "a", "pipeline",
    "operator", "block", "column", "memory", "budget", "training", "GPU",
    "language", "préparation", "données", "étape", "texte", "日本語", "数据"};

/* Writes ~`mb` MB of LLM-style JSONL records through weir's zstd writer. */
static size_t make_input(const char *path, size_t mb) {
  weir__wstream *ws;
  char err[256];
  if (weir__wstream_open(path, NULL, &ws, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  weir__cstream *cs;
  weir__cstream_open(ws, WEIR__CODEC_ZSTD, 3, &cs);
  char *line = malloc(1 << 16);
  size_t total = 0, rows = 0;
  unsigned seed = 12345;
  while (total < mb * 1000000) {
    int n = snprintf(line, 1 << 16, "{\"id\": %zu, \"url\": \"https://example.org/doc/%u\", "
                     "\"score\": %.4f, \"lang\": \"%s\", \"text\": \"",
                     rows, seed % 100000, (double)(seed % 10000) / 10000.0,
                     seed % 3 ? "en" : "fr");
    size_t nw = 40 + (seed >> 8) % 200;
    for (size_t w = 0; w < nw; w++) {
      seed = seed * 1103515245u + 12345u;
      const char *wd = words[(seed >> 16) % (sizeof words / sizeof *words)];
      n += snprintf(line + n, (size_t)(1 << 16) - (size_t)n, "%s%s", w ? " " : "", wd);
      if ((seed >> 20) % 50 == 0) n += snprintf(line + n, (size_t)(1 << 16) - (size_t)n, "\\n");
      if ((seed >> 20) % 97 == 1) n += snprintf(line + n, (size_t)(1 << 16) - (size_t)n, " \\\"quoted\\\" \\u00e9");
    }
    n += snprintf(line + n, (size_t)(1 << 16) - (size_t)n,
                  "\", \"meta\": {\"tokens\": %zu, \"tags\": [\"a\", \"b\"]}, \"ok\": %s}\n",
                  nw, seed % 2 ? "true" : "false");
    weir__cstream_write(cs, line, (size_t)n);
    total += (size_t)n;
    rows++;
  }
  if (weir__cstream_commit(cs, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  free(line);
  return rows;
}

typedef struct keep {
  weir_block **b;
  size_t n, cap;
  size_t rows, bytes;
} keep;

static int keep_block(void *user, weir_block *in, weir_emit *out) {
  (void)out;
  keep *k = user;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 256;
    k->b = realloc(k->b, k->cap * sizeof *k->b);
  }
  k->b[k->n++] = weir_block_ref(in);
  k->rows += weir_block_num_rows(in);
  k->bytes += weir_block_nbytes(in);
  return WEIR_OK;
}

static int count_block(void *user, weir_block *in, weir_emit *out) {
  (void)out;
  __atomic_fetch_add((size_t *)user, weir_block_num_rows(in), __ATOMIC_RELAXED);
  return WEIR_OK;
}

static double weir_read(const char *path, size_t *rows, keep *k) {
  weir_pipeline *p;
  weir_pipeline_options po = {.version = WEIR_PIPELINE_OPTIONS_VERSION};
  weir_pipeline_create(&p, &po);
  double t0 = now();
  weir_op *r = weir_read_jsonl(p, path, NULL);
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 0.0,
                        .max_workers = 1};
  weir_op *sink = k ? weir_map_batches(p, r, "keep", keep_block, k, &oo)
                    : weir_map_batches(p, r, "count", count_block, rows, &oo);
  int rc = sink ? weir_pipeline_run(p, sink) : WEIR_EINVAL;
  double t = now() - t0;
  if (rc != WEIR_OK) {
    fprintf(stderr, "weir run failed: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  char *table = NULL;
  if (!k && weir_pipeline_stats_table(p, &table) == WEIR_OK) {
    fprintf(stderr, "%s\n", table);
    free(table);
  }
  weir_pipeline_destroy(p);
  return t;
}

static double stage_read, stage_parse;

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One thread: in-process zstd decompression alone, then parsing alone of
 * the decompressed bytes, in CPU seconds (robust on a busy machine). */
static void components(const char *path, size_t mb) {
  weir__dstream *d;
  char err[256];
  weir__dstream_open(path, NULL, WEIR__CODEC_ZSTD, 0, UINT64_MAX, &d, err, sizeof err);
  size_t cap = mb * 1000000 + (64u << 20), len = 0;
  char *buf = malloc(cap + 64);
  double c0 = thread_cpu();
  for (;;) {
    long r = weir__dstream_read(d, buf + len, cap - len > (1u << 20) ? (1u << 20) : cap - len);
    if (r <= 0) break;
    len += (size_t)r;
  }
  double cz = thread_cpu() - c0;
  weir__dstream_close(d);
  /* The reading stage as the pipeline runs it: decompress into chunks of
   * whole lines, buffers recycled through the pool. */
  weir__bufpool *pool = weir__bufpool_create(4);
  weir__chunker *ch;
  weir__chunker_open(path, NULL, WEIR__CODEC_ZSTD, 0, UINT64_MAX, 8192, 8u << 20, 0,
                     pool, &ch, err, sizeof err);
  weir__chunk c;
  c0 = thread_cpu();
  while (weir__chunker_next(ch, &c) == 1) weir__buffer_unref(c.buf);
  double cc = thread_cpu() - c0;
  weir__chunker_close(ch);
  weir__bufpool_release(pool);
  memset(buf + len, 0, 64);
  weir__jsonl_infer in;
  weir__jsonl_infer_init(&in);
  const char *p = buf, *end = buf + len;
  for (int i = 0; i < 1000 && p < end; i++) {
    weir__jsonl_infer_line(&in, p);
    p = memchr(p, '\n', (size_t)(end - p)) + 1;
  }
  weir__schema s;
  weir__jsonl_infer_finish(&in, &s);
  weir__jsonl_infer_free(&in);
  weir__jsonl_parser ps;
  weir__jsonl_parser_init(&ps, &s, s.n, 1, 1000);
  c0 = thread_cpu();
  size_t rows = 0;
  for (p = buf; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (weir__jsonl_parse_line(&ps, p) == 1) rows++;
    p = nl + 1;
    if (weir__jsonl_parser_rows(&ps) == 8192) {
      weir_block *b;
      weir__jsonl_parser_block(&ps, &b);
      weir_block_unref(&b);
    }
  }
  double cp = thread_cpu() - c0;
  weir__jsonl_parser_free(&ps);
  weir__schema_free(&s);
  free(buf);
  printf("one thread, CPU: zstd decompression into one fresh buffer %.0f MB/s; "
         "the reading stage (decompress + cut chunks, recycled buffers) %.0f MB/s; "
         "the parsing stage %.0f MB/s (%zu rows)\n",
         (double)len / 1e6 / cz, (double)len / 1e6 / cc, (double)len / 1e6 / cp, rows);
  stage_read = (double)len / 1e6 / cc;
  stage_parse = (double)len / 1e6 / cp;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 200;
  const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
  if (!dir) dir = "/tmp";
  if (system("command -v zstd >/dev/null 2>&1") != 0) {
    fprintf(stderr, "the zstd CLI is needed as the peer\n");
    return 1;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/bench_io_jsonl-%ld.jsonl.zst", dir, (long)getpid());
  double t0 = now();
  size_t rows = make_input(path, mb);
  struct stat st;
  stat(path, &st);
  printf("input: %zu rows, ~%zu MB of JSONL, %.1f MB compressed (made in %.1f s)\n",
         rows, mb, (double)st.st_size / 1e6, now() - t0);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  double load[1] = {0};
  getloadavg(load, 1);
  printf("cores: %ld, load average %.1f\n", cpus, load[0]);
  components(path, mb);

  double best_z = 1e9, best_w = 1e9, cpu_z = 1e9, cpu_w = 1e9;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "zstd -q -d -f '%s' -o /dev/null", path);
  for (int rep = 0; rep < 3; rep++) {
    double c0 = cpu_children(), t = now();
    if (system(cmd) != 0) return 1;
    t = now() - t;
    c0 = cpu_children() - c0;
    if (t < best_z) best_z = t;
    if (c0 < cpu_z) cpu_z = c0;
    size_t got = 0;
    double c1 = cpu_self();
    t = weir_read(path, &got, NULL);
    c1 = cpu_self() - c1;
    if (c1 < cpu_w) cpu_w = c1;
    if (got != rows) {
      fprintf(stderr, "weir read %zu rows, expected %zu\n", got, rows);
      return 1;
    }
    if (t < best_w) best_w = t;
  }
  double mbs = (double)mb;
  printf("zstd -d to /dev/null:        %.3f s  %.0f MB/s\n", best_z, mbs / best_z);
  printf("weir read_jsonl (parse all): %.3f s  %.0f MB/s\n", best_w, mbs / best_w);
  printf("ratio weir/zstd throughput:  %.2fx (goal >= 0.5x)\n", best_z / best_w);
  printf("CPU seconds: zstd -d %.3f, weir %.3f (all threads); weir does the "
         "decompression plus the parse in %.2fx zstd's CPU time\n",
         cpu_z, cpu_w, cpu_w / cpu_z);
  /* The two stages run on different cores; with cores free for both, the
   * slower stage sets the pace. */
  double zstd_cpu_rate = mbs / cpu_z;
  double one = stage_read < stage_parse ? stage_read : stage_parse;
  double two = stage_read < 2 * stage_parse ? stage_read : 2 * stage_parse;
  printf("with free cores (from CPU rates): zstd -d %.0f MB/s; weir %.0f MB/s with one "
         "parse worker (%.2fx), %.0f MB/s with two (%.2fx)\n",
         zstd_cpu_rate, one, one / zstd_cpu_rate, two, two / zstd_cpu_rate);

  /* Spill: the parsed blocks written to disk and read back in order,
   * against keeping them in memory (a reference each). */
  keep k = {0};
  weir_read(path, &rows, &k);
  weir__spill *sp;
  char err[256];
  if (weir__spill_create(&sp, dir, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  double ts = now(), cw = cpu_self();
  for (size_t i = 0; i < k.n; i++) weir__spill_push(sp, k.b[i]);
  double tw = now() - ts;
  cw = cpu_self() - cw;
  uint64_t disk = weir__spill_disk_bytes(sp);
  size_t back_rows = 0;
  weir_block *b;
  double tr0 = now(), cr = cpu_self();
  while (weir__spill_pop(sp, &b) == WEIR_OK) {
    back_rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  double tr = now() - tr0;
  cr = cpu_self() - cr;
  weir__spill_destroy(sp);
  double tm = now();
  for (size_t i = 0; i < k.n; i++) {
    weir_block *x = weir_block_ref(k.b[i]);
    weir_block_unref(&x);
  }
  tm = now() - tm;
  printf("spill: %zu blocks, %.0f MB in memory -> %.0f MB on disk; write %.3f s (%.0f MB/s), "
         "read back %.3f s (%.0f MB/s); in memory %.6f s; rows back %s\n",
         k.n, (double)k.bytes / 1e6, (double)disk / 1e6, tw, (double)k.bytes / 1e6 / tw, tr,
         (double)k.bytes / 1e6 / tr, tm, back_rows == k.rows ? "all" : "MISSING");
  printf("spill CPU: write %.3f s (%.0f MB/s), read %.3f s (%.0f MB/s)\n", cw,
         (double)k.bytes / 1e6 / cw, cr, (double)k.bytes / 1e6 / cr);
  printf("spill overhead: write+read = %.2fx the wall time, %.2fx the CPU time, "
         "of reading and parsing the data\n", (tw + tr) / best_w, (cw + cr) / cpu_w);
  for (size_t i = 0; i < k.n; i++) weir_block_unref(&k.b[i]);
  free(k.b);

  /* The same rows cached as a block file and read back. */
  char bdir[600];
  snprintf(bdir, sizeof bdir, "%s/bench_io_jsonl-%ld.blocks", dir, (long)getpid());
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op *w = weir_write_blocks(p, weir_read_jsonl(p, path, NULL), bdir, NULL);
  double tb = now();
  if (!w || weir_pipeline_run(p, w) != WEIR_OK) {
    fprintf(stderr, "write_blocks: %s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  tb = now() - tb;
  weir_pipeline_destroy(p);
  double best_b = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    weir_pipeline_create(&p, NULL);
    size_t got = 0;
    weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 0.0, .max_workers = 1};
    weir_op *c = weir_map_batches(p, weir_read_blocks(p, bdir, NULL), "count", count_block, &got, &oo);
    double t = now();
    if (!c || weir_pipeline_run(p, c) != WEIR_OK || got != rows) {
      fprintf(stderr, "read_blocks: %s (%zu rows)\n", weir_pipeline_errmsg(p), got);
      return 1;
    }
    t = now() - t;
    if (t < best_b) best_b = t;
    weir_pipeline_destroy(p);
  }
  printf("block files: read_jsonl -> write_blocks %.3f s; read_blocks %.3f s "
         "(%.0f MB/s of JSONL equivalent, %.1fx faster than read_jsonl)\n",
         tb, best_b, mbs / best_b, best_w / best_b);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", bdir);
  if (system(cmd) != 0) return 1;
  unlink(path);
  return back_rows == k.rows ? 0 : 1;
}
