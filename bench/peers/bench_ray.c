/* weir beside Ray Data, the same pipelines on the same data and cores in
 * one run, printing ratios (the Ray side is ray_bench.py, run with the
 * Python of bench/peers/setup.sh's environment):
 *   text    8 shards of .jsonl.zst of 2 KB documents -> lowercase the text
 *           and count words -> batches of 1024 rows: rows/s and the peak
 *           RSS of the whole process tree.
 *   hetero  read (8 ms wait) -> CPU (600 us) -> "accelerator" (2 ms wait
 *           holding one of 2 slots; Ray: an actor pool with a custom
 *           resource) -> CPU (400 us), one row a block, both cold:
 *           throughput and accelerator slots busy.
 *   video   decode a 720p H.264 file -> every 2nd frame -> 224x224 RGB ->
 *           iterate (Ray: PyAV in map_batches over 2 s segments).
 * Usage: bench_ray [text|hetero|video]... (default: all)
 * Environment: WEIR_PEERS_VENV (default ~/.cache/weir-peers-venv),
 * WEIR_BENCH_TEXT_MB (default 500), WEIR_BENCH_HETERO_BLOCKS (default 2000),
 * WEIR_BENCH_CORES (default 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include <weir.h>

#include "../bench_util.h"

static int cores = 2;

/* A number from the peer's JSON line ("key": value), or -1. */
static double json_num(const char *line, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\": ", key);
  const char *p = strstr(line, k);
  return p ? atof(p + strlen(k)) : -1;
}

/* Runs ray_bench.py with `args`; its JSON line in `out`. 0 on success. */
static int run_ray(const char *args, char *out, size_t cap) {
  char venv[2048], cmd[8192];
  const char *v = getenv("WEIR_PEERS_VENV");
  if (v && *v) snprintf(venv, sizeof venv, "%s", v);
  else snprintf(venv, sizeof venv, "%s/.cache/weir-peers-venv", getenv("HOME"));
  snprintf(cmd, sizeof cmd, "'%s/bin/python' '%s/ray_bench.py' %s 2>/tmp/weir-bench-ray.log",
           venv, WEIR_BENCH_PEERS_DIR, args);
  char python[2200];
  snprintf(python, sizeof python, "%s/bin/python", venv);
  if (access(python, X_OK) != 0) {
    fprintf(stderr, "bench_ray: no peers environment at %s (bash bench/peers/setup.sh)\n",
            venv);
    return -1;
  }
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  out[0] = 0;
  char line[4096];
  while (fgets(line, sizeof line, f))
    if (line[0] == '{') snprintf(out, cap, "%s", line);
  int rc = pclose(f);
  if (rc != 0 || !out[0]) {
    fprintf(stderr, "bench_ray: the Ray peer failed (see /tmp/weir-bench-ray.log)\n");
    return -1;
  }
  return 0;
}

/* Runs `fn` in a child process, so that its peak RSS is its own; the
 * child writes its results (doubles) to a pipe. Returns 0 on success. */
static int in_child(int (*fn)(void *arg, double *res), void *arg, double *res, int n) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    double r[8] = {0};
    int rc = fn(arg, r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r[n] = (double)ru.ru_maxrss * 1024.0; /* kilobytes on Linux */
    ssize_t w = write(fds[1], r, sizeof r);
    _exit(rc == 0 && w == (ssize_t)sizeof r ? 0 : 1);
  }
  close(fds[1]);
  double r[8];
  ssize_t got = read(fds[0], r, sizeof r);
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status)) return -1;
  memcpy(res, r, sizeof(double) * (size_t)(n + 1));
  return 0;
}

/* ---- text ----------------------------------------------------------------- */

static const char *words[] = {
  "The", "quick", "Brown", "fox", "JUMPS", "over", "the", "lazy", "dog", "and",
  "Data", "pipelines", "STREAM", "blocks", "of", "rows", "through", "operators",
  "Weir", "Ray", "model", "Training", "tokens", "Language", "corpus", "filter",
  "quality", "Dedup", "shard", "Memory", "budget", "Scheduler", "a", "is", "to", "in"};

/* Writes `shards` files of about `mb` MB (uncompressed) in total of 2 KB
 * documents {"id": n, "text": "..."}. */
static int make_text(const char *dir, int shards, long mb) {
  long docs = mb * 1000 * 1000 / 2048 / shards;
  unsigned x = 12345;
  size_t cap = (size_t)docs * 2200 + 4096;
  char *buf = malloc(cap);
  void *z = malloc(ZSTD_compressBound(cap));
  for (int s = 0; s < shards; s++) {
    size_t n = 0;
    for (long d = 0; d < docs; d++) {
      n += (size_t)sprintf(buf + n, "{\"id\": %ld, \"text\": \"", (long)s * docs + d);
      size_t start = n;
      while (n - start < 2000) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % (sizeof words / sizeof *words)];
        n += (size_t)sprintf(buf + n, "%s ", w);
      }
      n += (size_t)sprintf(buf + n, "end\"}\n");
    }
    size_t zn = ZSTD_compress(z, ZSTD_compressBound(cap), buf, n, 3);
    if (ZSTD_isError(zn)) return -1;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/part-%02d.jsonl.zst", dir, s);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(z, 1, zn, f) != zn || fclose(f) != 0) return -1;
    rename(tmp, path);
  }
  free(buf);
  free(z);
  return 0;
}

/* Lowercases the text (ASCII; the corpus is ASCII) and counts its words:
 * a new block of id, text and words. */
static int lower_and_count(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column id, text;
  weir_block_column(in, (size_t)weir_block_column_index(in, "id"), &id);
  weir_block_column(in, (size_t)weir_block_column_index(in, "text"), &text);
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "words", WEIR_TYPE_INT64);
  weir_builder_reserve(b, text.length);
  weir_builder_append_values(b, 0, id.data, id.length);
  char *low = NULL;
  size_t cap = 0;
  for (size_t r = 0; r < text.length; r++) {
    const char *s = (const char *)text.data + text.offsets[r];
    size_t n = (size_t)(text.offsets[r + 1] - text.offsets[r]);
    if (n > cap) low = realloc(low, cap = n * 2);
    int64_t count = 0;
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)s[i];
      low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
      int space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      count += !space && !in_word;
      in_word = !space;
    }
    weir_builder_append_string(b, 1, low, n);
    weir_builder_append_int64(b, 2, count);
  }
  free(low);
  weir_block *blk;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

static int weir_text(void *arg, double *res) {
  const char *dir = arg;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = cores;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) return -1;
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.columns = "id:int64,text:string";
  double t0 = now();
  weir_op *src = weir_read_jsonl(p, dir, &ro);
  weir_op *m = src ? weir_map_batches(p, src, "lower_and_count", lower_and_count, NULL, NULL)
                   : NULL;
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 1024;
  weir_iter *it;
  if (!m || weir_pipeline_iter(p, m, &io, &it) != WEIR_OK) {
    fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
    return -1;
  }
  weir_block *b;
  int rc;
  double rows = 0, nwords = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column w;
    weir_block_column(b, 2, &w);
    for (size_t r = 0; r < w.length; r++) nwords += (double)((const int64_t *)w.data)[r];
    rows += (double)weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  double dt = now() - t0;
  if (rc != WEIR_EOF) fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  res[0] = rows;
  res[1] = dt;
  res[2] = nwords;
  return rc == WEIR_EOF ? 0 : -1;
}

static void bench_text(void) {
  long mb = getenv("WEIR_BENCH_TEXT_MB") ? atol(getenv("WEIR_BENCH_TEXT_MB")) : 500;
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char dir[2048], stamp[2200];
  snprintf(dir, sizeof dir, "%s/weir-bench-peers-text-%ldMB", tmp, mb);
  snprintf(stamp, sizeof stamp, "%s/part-07.jsonl.zst", dir);
  mkdir(dir, 0777);
  if (access(stamp, R_OK) != 0) {
    printf("making %s (8 shards, %ld MB of 2 KB documents)...\n", dir, mb);
    fflush(stdout);
    if (make_text(dir, 8, mb) != 0) {
      fprintf(stderr, "bench_ray: cannot write %s\n", dir);
      return;
    }
  }
  double w[4];
  if (in_child(weir_text, dir, w, 3) != 0) {
    fprintf(stderr, "bench_ray text: weir failed\n");
    return;
  }
  char args[4096], line[4096];
  snprintf(args, sizeof args, "text '%s/*.jsonl.zst' %d", dir, cores);
  int ray_ok = run_ray(args, line, sizeof line) == 0;
  double rrows = ray_ok ? json_num(line, "rows") : 0;
  double rrate = ray_ok ? json_num(line, "rows_per_s") : 0;
  double rrss = ray_ok ? json_num(line, "peak_rss") : 0;
  double rwords = ray_ok ? json_num(line, "words") : 0;
  printf("text: %ld MB of 2 KB documents in 8 .jsonl.zst shards, lowercase + count words, "
         "batches of 1024 rows, %d cores\n", mb, cores);
  printf("  weir:     %.0f rows in %.2f s = %.0f rows/s, peak RSS %.0f MiB (%.0f words)\n",
         w[0], w[1], w[0] / w[1], w[3] / 1048576, w[2]);
  if (ray_ok)
    printf("  Ray Data: %.0f rows in %.2f s = %.0f rows/s, peak RSS of its process tree "
           "%.0f MiB (%.0f words)\n",
           rrows, json_num(line, "seconds"), rrate, rrss / 1048576, rwords);
  if (ray_ok)
    printf("  ratio: weir %.1fx Ray Data's throughput (goal >= 5), %.2f of its peak RSS "
           "(goal <= 0.25)%s\n",
           (w[0] / w[1]) / rrate, w[3] / rrss,
           rrows == w[0] && rwords == w[2] ? "" : "; THE ROW OR WORD COUNTS DIFFER");
}

/* ---- hetero --------------------------------------------------------------- */

static int slow_source(void *user, size_t task, weir_emit *out) {
  (void)user;
  sleep_us(8000);
  return weir_emit_block(out, id_block((int64_t)task));
}
static int pre(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(600);
  return weir_emit_block(out, weir_block_ref(in));
}
static int accel(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  sleep_us(2000);
  return weir_emit_block(out, weir_block_ref(in));
}
static int post(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(400);
  return weir_emit_block(out, weir_block_ref(in));
}

static int weir_hetero(void *arg, double *res) {
  size_t n = *(size_t *)arg;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = cores;
  weir_pipeline *p;
  weir_pipeline_create(&p, &po);
  weir_pipeline_set_resource(p, "accel", 2);
  weir_op_options io = WEIR_OP_OPTIONS_INIT;
  io.num_cpus = 0; /* it waits on I/O */
  io.max_workers = 16;
  weir_op *s = weir_source(p, "read", n, slow_source, NULL, &io);
  weir_op *x = weir_map_batches(p, s, "pre", pre, NULL, NULL);
  weir_op_options ao = WEIR_OP_OPTIONS_INIT;
  ao.num_cpus = 0;
  weir_op *y = weir_map_batches(p, x, "accel", accel, NULL, &ao);
  weir_op_set_resource(y, "accel", 1);
  weir_op *z = weir_map_batches(p, y, "post", post, NULL, NULL);
  weir_iter *it;
  double t0 = now();
  if (weir_pipeline_iter(p, z, NULL, &it) != WEIR_OK) return -1;
  weir_block *b;
  double rows = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    rows += (double)weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  double dt = now() - t0;
  weir_op_stats st;
  weir_pipeline_op_stats(p, 2, &st);
  weir_pipeline_destroy(p);
  res[0] = rows;
  res[1] = dt;
  res[2] = st.busy_seconds / (2 * st.wall_seconds);
  return rows == (double)n ? 0 : -1;
}

static void bench_hetero(void) {
  /* bench_sched's 2000 blocks by default; Ray takes about a second a
   * block on a loaded 2-core machine, so WEIR_BENCH_HETERO_BLOCKS. */
  size_t n = getenv("WEIR_BENCH_HETERO_BLOCKS") ? (size_t)atol(getenv("WEIR_BENCH_HETERO_BLOCKS"))
                                                : 2000;
  double w[4];
  if (in_child(weir_hetero, &n, w, 3) != 0) {
    fprintf(stderr, "bench_ray hetero: weir failed\n");
    return;
  }
  char args[64], line[4096];
  snprintf(args, sizeof args, "hetero %zu %d", n, cores);
  int ray_ok = run_ray(args, line, sizeof line) == 0;
  printf("hetero: %zu one-row blocks, read 8 ms wait, pre 600 us CPU, accel 2 ms wait "
         "holding 1 of 2 slots, post 400 us CPU, %d cores, both cold\n", n, cores);
  printf("  weir:     %.0f rows/s, accel slots busy %.1f%%\n", w[0] / w[1], 100 * w[2]);
  if (ray_ok) {
    printf("  Ray Data: %.0f rows/s, accel slots busy %.1f%% (actor pool of 2, "
           "resources={'accel': 1})\n",
           json_num(line, "rows_per_s"), 100 * json_num(line, "accel_busy"));
    printf("  ratio: weir %.1fx Ray Data's throughput (goal >= 2)\n",
           (w[0] / w[1]) / json_num(line, "rows_per_s"));
  }
}

/* ---- video ---------------------------------------------------------------- */

static int weir_video(void *arg, double *res) {
  const char *video = arg;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = cores;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK) return -1;
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 224;
  o.height = 224;
  o.every_k = 2;
  o.decoder_threads = 1;
  o.segment_seconds = 2;
  o.workers = cores;
  double t0 = now();
  weir_op *src = weir_read_video(p, video, &o);
  weir_iter *it;
  if (!src || weir_pipeline_iter(p, src, NULL, &it) != WEIR_OK) {
    fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
    return -1;
  }
  weir_block *b;
  int rc;
  double n = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    n += (double)weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  double dt = now() - t0;
  if (rc != WEIR_EOF) fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  res[0] = n;
  res[1] = dt;
  return rc == WEIR_EOF ? 0 : -1;
}

static void bench_video(void) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char video[2048];
  snprintf(video, sizeof video, "%s/weir-bench-media/video.mp4", tmp);
  if (access(video, R_OK) != 0) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/weir-bench-media' && ffmpeg -v error -y -f lavfi -i "
             "testsrc2=s=1280x720:r=30:d=20 -c:v libx264 -pix_fmt yuv420p '%s.tmp.mp4' && "
             "mv '%s.tmp.mp4' '%s'", tmp, video, video, video);
    printf("making %s (testsrc2 1280x720, 30 fps, 20 s)...\n", video);
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_ray video: cannot make the test video\n");
      return;
    }
  }
  double w[3];
  if (in_child(weir_video, video, w, 2) != 0) {
    fprintf(stderr, "bench_ray video: weir failed\n");
    return;
  }
  char args[4096], line[4096];
  snprintf(args, sizeof args, "video '%s' %d 2", video, cores);
  int ray_ok = run_ray(args, line, sizeof line) == 0;
  printf("video: 720p H.264 (20 s, 30 fps), decode in 2 s segments, every 2nd frame, "
         "224x224 RGB, %d cores\n", cores);
  printf("  weir:     %.0f frames, %.1f frames/s, peak RSS %.0f MiB\n", w[0], w[0] / w[1],
         w[2] / 1048576);
  if (ray_ok) {
    printf("  Ray Data: %.0f frames, %.1f frames/s (PyAV in map_batches)\n",
           json_num(line, "frames"), json_num(line, "fps"));
    printf("  ratio: weir %.1fx Ray Data's throughput (goal >= 2)\n",
           (w[0] / w[1]) / json_num(line, "fps"));
  }
}

int main(int argc, char **argv) {
  if (getenv("WEIR_BENCH_CORES")) cores = atoi(getenv("WEIR_BENCH_CORES"));
  printf("bench_ray: weir beside Ray Data on %d cores; figures from a shared machine vary\n",
         cores);
  const char *all[] = {"text", "hetero", "video"};
  int n = argc > 1 ? argc - 1 : 3;
  for (int i = 0; i < n; i++) {
    const char *w = argc > 1 ? argv[i + 1] : all[i];
    if (!strcmp(w, "text")) bench_text();
    else if (!strcmp(w, "hetero")) bench_hetero();
    else if (!strcmp(w, "video")) bench_video();
    else fprintf(stderr, "bench_ray: unknown benchmark %s\n", w);
    fflush(stdout);
  }
  return 0;
}
