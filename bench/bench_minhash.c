/* Benchmark: MinHash signatures (DataTrove's normalisation, word 5-grams,
 * 112 hashes, 64-bit) of ~2 KB documents, weir against DataTrove 0.10's
 * MinhashDedupSignature in the same run on the same corpus
 * (tests/text/minhash_corpus.py), in documents per second per core (CPU
 * seconds of one weir thread, and of the Python process for DataTrove's
 * stage 1); then the whole fuzzy dedup: weir_dedup_minhash in a pipeline
 * (read JSONL, signatures, barrier, emit) against DataTrove's four stages
 * (signatures, buckets, cluster; filter is left out, which favours it),
 * by CPU seconds.
 *
 *   bench_minhash [pairs, default 2000] [singles, default 2000]
 *   bench_minhash --whole PAIRS SINGLES [BUDGET MiB, default 1024] [CPUS, default 2]
 *                 [COPIES, default 1]
 *
 * --whole: the whole fuzzy dedup of a corpus of 2 x PAIRS + SINGLES
 * documents (~2 KB each), read JSONL -> weir_dedup_minhash -> write JSONL
 * in one pipeline of CPUS slots under a BUDGET memory budget (wall, CPU
 * seconds, peak RSS), against DataTrove's whole local pipeline on as many
 * worker processes (bench/minhash_datatrove_whole.py: signatures, buckets,
 * cluster, filter + JSONL writer) on the same corpus, and the share of
 * DataTrove's removals weir removes too. With COPIES > 1 the corpus is
 * COPIES copies of that one, each with its words changed by a bijection
 * (bench/minhash_corpus_copies.py: a million documents in a minute, where
 * the generator takes an hour here). WEIR_BENCH_NO_PEER=1 runs weir
 * alone (DataTrove needs about 4 CPU ms a document here).
 *
 * WEIR_DATATROVE_PYTHON (or $WEIR_VENV-datatrove) names DataTrove's Python;
 * without it only weir's figures are printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

#include "text/minhash.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_self(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_process(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static const char *dt_python(void) {
  static char buf[1024];
  const char *e = getenv("WEIR_DATATROVE_PYTHON");
  if (e && *e)
    return e;
  const char *venv = getenv("WEIR_VENV");
  snprintf(buf, sizeof buf, "%s%s", venv && *venv ? venv : getenv("HOME") ? getenv("HOME") : "",
           venv && *venv ? "-datatrove/bin/python" : "/.cache/weir-venv-datatrove/bin/python");
  return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Runs `cmd` and returns the number after `key` in its output, or -1. */
static double run_for(const char *cmd, const char *key) {
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  char line[4096];
  double v = -1;
  while (fgets(line, sizeof line, f)) {
    char *k = strstr(line, key);
    if (k)
      v = atof(k + strlen(key));
  }
  return pclose(f) == 0 ? v : -1;
}

/* The corpus's texts, parsed crudely (the generator writes "text" last). */
static char **load_texts(const char *path, size_t *n, size_t *bytes) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 1024, k = 0;
  char **t = malloc(cap * sizeof *t);
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  *bytes = 0;
  while ((len = getline(&line, &lcap, f)) > 0) {
    weir_pipeline *unused = NULL;
    (void)unused;
    char *s = strstr(line, "\"text\": \"");
    if (!s)
      continue;
    s += 9;
    char *e = strrchr(s, '"');
    if (!e)
      continue;
    /* Unescape \" \\ and \uXXXX (the generator writes UTF-8 as is). */
    char *o = malloc((size_t)(e - s) + 1), *w = o;
    for (char *p = s; p < e; p++) {
      if (*p == '\\' && p + 1 < e) {
        p++;
        *w++ = *p == 'n' ? '\n' : *p;
      } else {
        *w++ = *p;
      }
    }
    *w = 0;
    if (k == cap)
      t = realloc(t, (cap *= 2) * sizeof *t);
    t[k++] = o;
    *bytes += (size_t)(w - o);
  }
  free(line);
  fclose(f);
  *n = k;
  return t;
}

static long peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* The "id" of each row of the JSONL files under `dir` into kept[line]
 * (id = 1000000 - line, as tests/text/minhash_corpus.py writes it). */
static size_t mark_kept(const char *dir, uint8_t *kept, size_t n) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "cat '%s'/*.jsonl", dir);
  FILE *f = popen(cmd, "r");
  if (!f)
    return 0;
  char *line = NULL;
  size_t cap = 0, rows = 0;
  while (getline(&line, &cap, f) > 0) {
    char *k = strstr(line, "\"id\":");
    if (!k)
      continue;
    long long id = strtoll(k + 5, NULL, 10), at = 1000000 - id;
    if (at >= 0 && (size_t)at < n) {
      kept[at] = 1;
      rows++;
    }
  }
  free(line);
  pclose(f);
  return rows;
}

static int run_whole(int pairs, int singles, size_t budget_mib, int cpus, int copies) {
  char corpus[512], base[512], cmd[4096];
  snprintf(base, sizeof base, "/tmp/weir-bench-minhash-%d-%d.jsonl", pairs, singles);
  if (copies > 1)
    snprintf(corpus, sizeof corpus, "/tmp/weir-bench-minhash-%d-%d-x%d.jsonl", pairs, singles,
             copies);
  else
    snprintf(corpus, sizeof corpus, "%s", base);
  if (copies > 1 && access(corpus, R_OK) != 0 && access(base, R_OK) == 0) {
    snprintf(cmd, sizeof cmd, "python3 '%s/bench/minhash_corpus_copies.py' '%s' '%s' %d",
             WEIR_SOURCE_DIR, base, corpus, copies);
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_minhash: %s failed\n", cmd);
      return 1;
    }
  }
  if (access(corpus, R_OK) != 0) {
    printf("generating %s (Python; minutes for a million documents)\n", corpus);
    fflush(stdout);
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/text/minhash_corpus.py' '%s' '%s.pairs' %d %d 5",
             WEIR_SOURCE_DIR, base, base, pairs, singles);
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_minhash: %s failed\n", cmd);
      return 1;
    }
    if (copies > 1) {
      snprintf(cmd, sizeof cmd, "python3 '%s/bench/minhash_corpus_copies.py' '%s' '%s' %d",
               WEIR_SOURCE_DIR, base, corpus, copies);
      if (system(cmd) != 0) {
        fprintf(stderr, "bench_minhash: %s failed\n", cmd);
        return 1;
      }
    }
  }
  /* + the generator's 4 short texts, per copy */
  size_t n = (2 * (size_t)pairs + (size_t)singles + 4) * (size_t)(copies > 1 ? copies : 1);
  printf("corpus: %zu documents (%s)\n", n, corpus);
  printf("machine: 2 cores shared with other engineers' builds and tests: wall times depend "
         "on their load; CPU seconds less so\n");
  const char *out = "/tmp/weir-bench-minhash-whole-out";
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
  if (system(cmd) != 0)
    return 1;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = cpus;
  po.memory_budget = budget_mib << 20;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po))
    return 1;
  weir_op *src = weir_read_jsonl(p, corpus, NULL);
  weir_op *d = weir_dedup_minhash(p, src, NULL);
  weir_op *w = weir_write_jsonl(p, d, out, NULL);
  double t0 = now(), c0 = cpu_process();
  int rc = weir_pipeline_run(p, w);
  double wall = now() - t0, cpu = cpu_process() - c0;
  if (rc) {
    fprintf(stderr, "bench_minhash: %s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  uint64_t dups = 0, spilled = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    weir_pipeline_op_stats(p, i, &st);
    if (strcmp(st.name, "dedup_minhash") == 0) {
      weir_pipeline_op_counter(p, i, "duplicates", &dups);
      spilled = st.spilled_bytes;
    }
  }
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  weir_pipeline_destroy(p);
  printf("weir whole dedup, %d CPU slots, %zu MiB budget: %.2f s wall (%.0f documents/s), "
         "%.2f CPU s (%.0f documents per CPU second); peak RSS %.0f MiB, in flight peak %.0f "
         "MiB, %.0f MiB spilled; %llu removed\n",
         cpus, budget_mib, wall, (double)n / wall, cpu, (double)n / cpu,
         (double)peak_rss_kib() / 1024.0, (double)ps.bytes_in_flight_peak / 1048576.0,
         (double)spilled / 1048576.0, (unsigned long long)dups);
  fflush(stdout);
  const char *py = dt_python();
  const char *nopeer = getenv("WEIR_BENCH_NO_PEER");
  if (!py || (nopeer && *nopeer && strcmp(nopeer, "0"))) {
    printf("DataTrove: %s\n", py ? "not run (WEIR_BENCH_NO_PEER)" : "no environment (run "
           ".ci/setup or set WEIR_DATATROVE_PYTHON)");
    return 0;
  }
  snprintf(cmd, sizeof cmd, "'%s' '%s/bench/minhash_datatrove_whole.py' '%s' "
           "/tmp/weir-bench-dt-whole /tmp/weir-bench-dt-whole.removed %d 2>/dev/null",
           py, WEIR_SOURCE_DIR, corpus, cpus);
  FILE *pf = popen(cmd, "r");
  if (!pf)
    return 1;
  char lbuf[1024];
  double dt_wall = -1, dt_cpu = -1;
  while (fgets(lbuf, sizeof lbuf, pf)) {
    if (strncmp(lbuf, "datatrove_stage ", 16) == 0)
      printf("  DataTrove %s", lbuf + 16);
    sscanf(lbuf, "datatrove_whole wall %lf cpu %lf", &dt_wall, &dt_cpu);
  }
  if (pclose(pf) != 0 || dt_wall <= 0) {
    fprintf(stderr, "bench_minhash: %s failed\n", cmd);
    return 1;
  }
  printf("DataTrove whole local pipeline, %d workers: %.2f s wall (%.0f documents/s), %.2f CPU "
         "s (%.0f documents per CPU second)\n", cpus, dt_wall, (double)n / dt_wall, dt_cpu,
         (double)n / dt_cpu);
  printf("weir / DataTrove: %.1fx by wall time, %.1fx by CPU seconds\n", dt_wall / wall,
         dt_cpu / cpu);
  /* Agreement: DataTrove's removals that weir removes too. */
  uint8_t *kept = calloc(n, 1);
  mark_kept(out, kept, n);
  FILE *r = fopen("/tmp/weir-bench-dt-whole.removed", "r");
  size_t dt_removed = 0, both = 0;
  long long line;
  while (r && fscanf(r, "%lld", &line) == 1)
    if (line >= 0 && (size_t)line < n) {
      dt_removed++;
      both += !kept[line];
    }
  if (r)
    fclose(r);
  free(kept);
  printf("DataTrove removed %zu; weir removed %.2f%% of those\n", dt_removed,
         dt_removed ? 100.0 * (double)both / (double)dt_removed : 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--whole") == 0)
    return run_whole(argc > 2 ? atoi(argv[2]) : 10000, argc > 3 ? atoi(argv[3]) : 80000,
                     argc > 4 ? (size_t)atol(argv[4]) : 1024, argc > 5 ? atoi(argv[5]) : 2,
                     argc > 6 ? atoi(argv[6]) : 1);
  int pairs = argc > 1 ? atoi(argv[1]) : 2000, singles = argc > 2 ? atoi(argv[2]) : 2000;
  char corpus[512], cmd[4096];
  snprintf(corpus, sizeof corpus, "/tmp/weir-bench-minhash-%d-%d.jsonl", pairs, singles);
  if (access(corpus, R_OK) != 0) {
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/text/minhash_corpus.py' '%s' '%s.pairs' %d %d 5",
             WEIR_SOURCE_DIR, corpus, corpus, pairs, singles);
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_minhash: %s failed\n", cmd);
      return 1;
    }
  }
  size_t n = 0, bytes = 0;
  char **texts = load_texts(corpus, &n, &bytes);
  if (!texts || !n) {
    fprintf(stderr, "bench_minhash: cannot read %s\n", corpus);
    return 1;
  }
  printf("corpus: %zu documents, %.0f bytes on average (%s)\n", n, (double)bytes / (double)n,
         corpus);
  printf("machine: 2 cores shared with other engineers' builds and tests: figures are "
         "per CPU second, and noisy\n");

  /* 1. Signatures on one thread. */
  weir_minhash_options o = WEIR_MINHASH_OPTIONS_INIT;
  weir__mh_params pm;
  weir__mh_worker *w;
  if (weir__mh_params_init(&pm, &o) || weir__mh_worker_create(&pm, &w))
    return 1;
  uint64_t sig[112], keys[14], sink = 0;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double c0 = cpu_self();
    for (size_t i = 0; i < n; i++) {
      size_t ns;
      weir__mh_signature(w, texts[i], strlen(texts[i]), sig, &ns, NULL, NULL);
      weir__mh_band_keys(&pm, sig, keys);
      sink += keys[0];
    }
    double rate = (double)n / (cpu_self() - c0);
    best = rate > best ? rate : best;
  }
  printf("weir signatures: %.0f documents/s per core (best of 3; %.1f MB/s) [checksum %llx]\n",
         best, best * (double)bytes / (double)n / 1e6, (unsigned long long)(sink & 0xffff));
  weir__mh_worker_destroy(w);
  weir__mh_params_free(&pm);

  /* 2. The whole operator in a pipeline (2 CPU slots). */
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  po.memory_budget = (size_t)1 << 30;
  weir_pipeline *p;
  weir_pipeline_create(&p, &po);
  weir_op *src = weir_read_jsonl(p, corpus, NULL);
  weir_op *d = weir_dedup_minhash(p, src, NULL);
  double t0 = now(), c0 = cpu_process();
  int rc = weir_pipeline_run(p, d);
  double wall = now() - t0, cpu = cpu_process() - c0;
  if (rc) {
    fprintf(stderr, "bench_minhash: %s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  double sig_busy = 0, bar_busy = 0;
  uint64_t dups = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    weir_pipeline_op_stats(p, i, &st);
    if (strcmp(st.name, "dedup_minhash:signatures") == 0)
      sig_busy = st.busy_seconds;
    if (strcmp(st.name, "dedup_minhash") == 0) {
      bar_busy = st.busy_seconds;
      weir_pipeline_op_counter(p, i, "duplicates", &dups);
    }
  }
  weir_pipeline_destroy(p);
  printf("weir dedup pipeline: %.2f s wall, %.2f CPU s (%.0f documents per CPU second); "
         "signature stage %.2f busy s (%.0f documents/s per worker), barrier %.2f s; "
         "%llu near-duplicates\n", wall, cpu, (double)n / cpu, sig_busy,
         sig_busy > 0 ? (double)n / sig_busy : 0, bar_busy, (unsigned long long)dups);

  /* 3. DataTrove in the same run. */
  const char *py = dt_python();
  if (!py) {
    printf("DataTrove: no environment (run .ci/setup or set WEIR_DATATROVE_PYTHON)\n");
    return 0;
  }
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/minhash_datatrove.py' '%s' /tmp/weir-bench-dt "
           "/tmp/weir-bench-dt.removed stage1 2>/dev/null", py, WEIR_SOURCE_DIR, corpus);
  double dt_sig = run_for(cmd, "datatrove_signature_cpu_seconds ");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/minhash_datatrove.py' '%s' /tmp/weir-bench-dt "
           "/tmp/weir-bench-dt.removed 2>/dev/null", py, WEIR_SOURCE_DIR, corpus);
  double dt_all = run_for(cmd, "datatrove_cpu_seconds ");
  if (dt_sig > 0)
    printf("DataTrove signatures (stage 1): %.0f documents/s per core -> weir %.0fx\n",
           (double)n / dt_sig, best / ((double)n / dt_sig));
  if (dt_all > 0)
    printf("DataTrove stages 1-3: %.2f CPU s -> weir's whole pipeline %.1fx fewer CPU seconds\n",
           dt_all, dt_all / cpu);
  for (size_t i = 0; i < n; i++)
    free(texts[i]);
  free(texts);
  return 0;
}
