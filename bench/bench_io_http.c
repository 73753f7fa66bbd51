/* HTTP download throughput: weir's network engine (reader streams on N
 * threads over one libcurl multi loop) against the curl CLI fetching the
 * same files in parallel (curl -Z --parallel-max N), from a local nginx in
 * the same run. Prints MB/s for each and the ratio weir/curl, for the
 * process-wide engine (plain threads) and for the engine on a pipeline's
 * scheduler loop (the same reads as read tasks of a pipeline source).
 *
 * Then the same for 2000 objects of 16 KiB, where the cost per request
 * rather than bandwidth decides (requests per second).
 *
 *   bench_io_http [files=64] [mb_per_file=16] [concurrency=16] [rounds=3]
 *                 [engines=both|threads|pipeline] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weir.h"
#include "io/net/net.h"
#include "../tests/servers/servers.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct job {
  const char *base;
  const char *stem;            /* "f" for the big files, "s" small */
  int files, conc;
  size_t file_size;
  atomic_int next;
  atomic_llong bytes;
  atomic_int failures;
} job;

/* Reads file `i` of the job to the end into `buf`. */
static void fetch(job *j, int i, char *buf, size_t cap) {
  weir__net_options o = { 0 };
  o.max_requests = j->conc;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/%s%04d.bin", j->base, j->stem, i);
  weir__net_reader *r;
  if (weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err, sizeof err)) {
    fprintf(stderr, "open: %s\n", err);
    atomic_fetch_add(&j->failures, 1);
    return;
  }
  long k;
  long long got = 0;
  while ((k = weir__net_reader_read(r, buf, cap)) > 0) got += k;
  if (k < 0 || (size_t)got != j->file_size) {
    fprintf(stderr, "read %s: %s (%lld bytes)\n", url,
            weir__net_reader_errmsg(r), got);
    atomic_fetch_add(&j->failures, 1);
  }
  atomic_fetch_add(&j->bytes, got);
  weir__net_reader_close(r);
}

static void *weir_worker(void *arg) {
  job *j = arg;
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->files;)
    fetch(j, i, buf, cap);
  free(buf);
  return NULL;
}

/* Plain threads: requests go to the process-wide engine. */
static void run_threads(job *j) {
  pthread_t *t = malloc(sizeof *t * (size_t)j->conc);
  for (int i = 0; i < j->conc; i++)
    pthread_create(&t[i], NULL, weir_worker, j);
  for (int i = 0; i < j->conc; i++) pthread_join(t[i], NULL);
  free(t);
}

static int read_task(void *user, size_t task, weir_emit *out) {
  (void)out;
  job *j = user;
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  fetch(j, (int)task, buf, cap);
  free(buf);
  return WEIR_OK;
}

/* One read task per file on `conc` workers that hold no CPU slot: requests
 * go to the engine on the pipeline's scheduler loop. */
static void run_pipeline(job *j) {
  weir_pipeline *p;
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = j->conc;
  oo.num_cpus = 0;
  if (weir_pipeline_create(&p, NULL) != WEIR_OK ||
      !weir_source(p, "fetch", (size_t)j->files, read_task, j, &oo) ||
      weir_pipeline_run(p, NULL) != WEIR_OK) {
    fprintf(stderr, "pipeline: %s\n", p ? weir_pipeline_errmsg(p) : "");
    atomic_fetch_add(&j->failures, 1);
  }
  weir_pipeline_destroy(p);
}

/* MB/s reading the files with `in_pipeline` or plain threads; -1 when a
 * transfer failed. */
static double run_weir(const char *base, const char *stem, int files,
                       size_t size, int conc, int in_pipeline) {
  job j = { .base = base, .stem = stem, .files = files, .conc = conc,
            .file_size = size };
  atomic_init(&j.next, 0);
  atomic_init(&j.bytes, 0);
  atomic_init(&j.failures, 0);
  double t0 = now();
  if (in_pipeline)
    run_pipeline(&j);
  else
    run_threads(&j);
  double dt = now() - t0;
  if (atomic_load(&j.failures) ||
      (size_t)atomic_load(&j.bytes) != size * (size_t)files) {
    fprintf(stderr, "weir run failed\n");
    return -1;
  }
  return (double)size * files / dt / 1e6;
}

static double run_curl(const char *curl, const char *base, const char *stem,
                       int files, size_t size, int conc) {
  char **argv = calloc((size_t)files * 3 + 16, sizeof *argv);
  char par[16];
  snprintf(par, sizeof par, "%d", conc);
  int a = 0;
  argv[a++] = (char *)curl;
  argv[a++] = "-s";
  argv[a++] = "--no-progress-meter";
  argv[a++] = "-f";
  argv[a++] = "-Z";
  argv[a++] = "--parallel-max";
  argv[a++] = par;
  for (int i = 0; i < files; i++) {
    char *u = malloc(256);
    snprintf(u, 256, "%s/%s%04d.bin", base, stem, i);
    argv[a++] = "-o";
    argv[a++] = "/dev/null";
    argv[a++] = u;
  }
  argv[a] = NULL;
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    execv(curl, argv);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  double dt = now() - t0;
  for (int i = 0; i < files; i++) free(argv[7 + 3 * i + 2]);
  free(argv);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "curl failed (status %d)\n", st);
    return -1;
  }
  return (double)size * files / dt / 1e6;
}

static const char *const mode_name[2] = { "threads", "pipeline" };

/* Big files, rounds alternating which client goes first; 0 when every
 * transfer succeeded. */
static int measure_big(const char *curl, const char *url, int files,
                       size_t size, int conc, int rounds, int mode) {
  double best_w = 0, best_c = 0;
  double *ratios = calloc((size_t)rounds, sizeof *ratios);
  for (int r = 0; r < rounds; r++) {
    double c, w;
    if (r % 2) {
      w = run_weir(url, "f", files, size, conc, mode);
      c = run_curl(curl, url, "f", files, size, conc);
    } else {
      c = run_curl(curl, url, "f", files, size, conc);
      w = run_weir(url, "f", files, size, conc, mode);
    }
    if (w < 0 || c < 0) {
      free(ratios);
      return 1;
    }
    printf("  %s round %d: weir %8.1f MB/s   curl -Z %8.1f MB/s   "
           "ratio %.2f\n", mode_name[mode], r + 1, w, c, w / c);
    ratios[r] = w / c;
    for (int i = r; i > 0 && ratios[i] < ratios[i - 1]; i--) {
      double x = ratios[i];
      ratios[i] = ratios[i - 1];
      ratios[i - 1] = x;
    }
    if (w > best_w) best_w = w;
    if (c > best_c) best_c = c;
  }
  printf("%s: weir %.1f MB/s, curl -Z --parallel-max %d %.1f MB/s, "
         "ratio weir/curl %.2f (goal >= 0.80), median per-round ratio %.2f\n",
         mode_name[mode], best_w, conc, best_c, best_w / best_c,
         ratios[rounds / 2]);
  free(ratios);
  return 0;
}

enum { SMALL_FILES = 2000, SMALL_SIZE = 16 * 1024 };

/* Many small objects: what each request costs, not bandwidth. */
static int measure_small(const char *curl, const char *url, int conc,
                         int rounds, int mode) {
  double sw = 0, sc = 0;
  for (int r = 0; r < rounds; r++) {
    double w = run_weir(url, "s", SMALL_FILES, SMALL_SIZE, conc, mode);
    double c = run_curl(curl, url, "s", SMALL_FILES, SMALL_SIZE, conc);
    if (w < 0 || c < 0) return 1;
    if (w > sw) sw = w;
    if (c > sc) sc = c;
  }
  double per = (double)SMALL_SIZE / 1e6;
  printf("%s: small objects (%d x %d KiB): weir %.0f req/s, curl -Z %.0f "
         "req/s, ratio %.2f\n", mode_name[mode], SMALL_FILES,
         SMALL_SIZE / 1024, sw / per, sc / per, sw / sc);
  return 0;
}

/* The measurements, against the nginx at `url` serving `www`, for the
 * engines asked for; 0 when every transfer of both clients succeeded. */
static int measure(const char *curl, const char *url, const char *www,
                   int files, size_t size, size_t mb, int conc, int rounds,
                   const char *engines) {
  int first = strcmp(engines, "pipeline") == 0 ? 1 : 0;
  int last = strcmp(engines, "threads") == 0 ? 0 : 1;
  printf("bench_io_http: %d files x %zu MiB from nginx on 127.0.0.1, "
         "%d concurrent, best of %d rounds\n", files, mb, conc, rounds);
  /* Warm the page cache and both clients once. */
  if (run_curl(curl, url, "f", files, size, conc) < 0 ||
      run_weir(url, "f", files, size, conc, 0) < 0)
    return 1;
  for (int mode = first; mode <= last; mode++)
    if (measure_big(curl, url, files, size, conc, rounds, mode)) return 1;

  unsigned char small[SMALL_SIZE];
  srv_fill(small, sizeof small, 5);
  for (int i = 0; i < SMALL_FILES; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/s%04d.bin", www, i);
    if (srv_write_file(path, small, sizeof small) != 0) return 1;
  }
  if (run_curl(curl, url, "s", SMALL_FILES, SMALL_SIZE, conc) < 0) return 1;
  for (int mode = first; mode <= last; mode++)
    if (measure_small(curl, url, conc, rounds, mode)) return 1;
  return 0;
}

int main(int argc, char **argv) {
  int files = argc > 1 ? atoi(argv[1]) : 64;
  size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 16;
  int conc = argc > 3 ? atoi(argv[3]) : 16;
  int rounds = argc > 4 ? atoi(argv[4]) : 3;
  const char *engines = argc > 5 ? argv[5] : "both";
  size_t size = mb << 20;
  uint64_t probe_size;
  char probe_err[256];
  weir__net_options probe = { 0 };
  probe.max_retries = -1;
  if (weir__net_stat("http://127.0.0.1:1/", &probe, &probe_size, probe_err,
                     sizeof probe_err) == WEIR_ENOTSUP) {
    printf("bench_io_http: skipped: %s\n", probe_err);
    return 0;
  }
  char *curl = srv_which("curl");
  if (!curl) {
    printf("bench_io_http: skipped: the curl CLI is not installed\n");
    return 0;
  }
  char *www = srv_tmpdir("bench-www");
  unsigned char *data = malloc(size);
  for (int i = 0; i < files; i++) {
    srv_fill(data, size < 4096 ? size : 4096, (uint64_t)i);  /* distinct
                                                                  heads */
    if (i == 0) srv_fill(data + 4096, size - 4096, 99);
    char path[2048];
    snprintf(path, sizeof path, "%s/f%04d.bin", www, i);
    if (srv_write_file(path, data, size) != 0) {
      fprintf(stderr, "cannot write %s\n", path);
      srv_rm_rf(www);
      return 1;
    }
  }
  free(data);
  srv_proc ngx;
  char why[512];
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0) {
    printf("bench_io_http: skipped: %s\n", why);
    srv_rm_rf(www);
    return 0;
  }
  int status = measure(curl, ngx.url, www, files, size, mb, conc, rounds,
                       engines);
  weir__net_shutdown();
  srv_proc_stop(&ngx);
  srv_rm_rf(www);
  free(www);
  free(curl);
  return status;
}
