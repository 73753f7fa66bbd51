/* Benchmark: exact deduplication of 2 KB documents (a quarter of them
 * duplicates up to case, spaces and punctuation) through weir_dedup_exact,
 * against Data Prep Kit's ededup per-document work in Python
 * (normalize_string + sha256 + a set, as dpk_ededup's transform does), in
 * the same run on the same corpus. Reports MB/s of text per core (CPU
 * seconds of the operator, or of the Python process), with the table in
 * memory and with a 1 MiB limit that makes it spill.
 *
 *   bench_dedup [documents, default 40000]
 *
 * The large run: documents generated on the fly by the read tasks (no
 * corpus in memory, so the peak RSS is the pipeline's), deduplicated
 * under a pipeline budget of BUDGET MiB (the seen-key table gets a
 * quarter of it), weir alone (DPK's Python work at the 16 MB/s per core
 * measured above would take minutes per GB):
 *
 *   bench_dedup --large [documents, default 1000000] [BUDGET MiB, default 1024]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_children(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static const char *words[] = {"data", "stream", "model", "token", "the", "of", "and", "a",
                              "pipeline", "operator", "Block", "column", "memory", "budget",
                              "training", "GPU", "language", "préparation", "données", "étape",
                              "texte", "naïve", "Köln", "set,", "end."};
#define NW (sizeof words / sizeof words[0])

static char **docs;
static size_t ndocs, total_bytes;
static weir_block **blocks;
static size_t nblocks;

static void make_corpus(size_t n) {
  unsigned seed = 7;
  docs = malloc(n * sizeof *docs);
  for (size_t i = 0; i < n; i++) {
    if (i > 10 && rand_r(&seed) % 4 == 0) {
      /* A duplicate: an earlier document upper-cased at its start. */
      const char *src = docs[(size_t)rand_r(&seed) % i];
      docs[i] = strdup(src);
      for (size_t k = 0; k < 40 && docs[i][k]; k++)
        if (docs[i][k] >= 'a' && docs[i][k] <= 'z')
          docs[i][k] = (char)(docs[i][k] - 32);
    } else {
      char *d = malloc(2200);
      size_t len = 0;
      while (len < 2000)
        len += (size_t)snprintf(d + len, 2200 - len, "%s%s", len ? " " : "",
                                words[rand_r(&seed) % NW]);
      docs[i] = d;
    }
    total_bytes += strlen(docs[i]);
  }
  ndocs = n;
  nblocks = (n + 999) / 1000;
  blocks = malloc(nblocks * sizeof *blocks);
  for (size_t b = 0; b < nblocks; b++) {
    weir_builder *bl;
    weir_builder_create(&bl);
    weir_builder_add_column(bl, "text", WEIR_TYPE_STRING);
    for (size_t i = b * 1000; i < n && i < b * 1000 + 1000; i++)
      weir_builder_append_string(bl, 0, docs[i], strlen(docs[i]));
    weir_builder_finish(bl, &blocks[b]);
    weir_builder_destroy(bl);
  }
}

static int read_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(blocks[task]));
}

static void run_weir(size_t limit, const char *label) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op *src = weir_source(p, "corpus", nblocks, read_task, NULL, NULL);
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.memory_limit = limit;
  weir_op *dd = weir_dedup_exact(p, src, &o);
  if (!dd) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  weir_iter *it;
  weir_pipeline_iter(p, dd, NULL, &it);
  weir_block *b;
  size_t kept = 0;
  double t0 = now();
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    kept += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  double wall = now() - t0;
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  printf("weir dedup_exact (%s): %zu of %zu kept, %.1f MB in %.2f s wall, %.2f s CPU in the "
         "operator: %.0f MB/s per core; spilled %.1f MB\n",
         label, kept, ndocs, total_bytes / 1e6, wall, st.cpu_seconds,
         total_bytes / 1e6 / st.cpu_seconds, (double)st.spilled_bytes / 1e6);
  weir_pipeline_destroy(p);
}

static void run_dpk(void) {
  char path[] = "/tmp/bench-dedup-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  for (size_t i = 0; i < ndocs; i++)
    fprintf(f, "%s\n", docs[i]); /* no newlines inside the documents */
  fclose(f);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "python3 -c '\n"
           "import hashlib, string, sys, time\n"
           "docs = open(sys.argv[1], encoding=\"utf-8\").read().split(\"\\n\")[:-1]\n"
           "table = str.maketrans(\"\", \"\", string.punctuation)\n"
           "t = time.process_time(); seen = set(); kept = 0\n"
           "for d in docs:\n"
           "    h = hashlib.sha256(d.replace(\" \", \"\").replace(\"\\n\", \"\").lower()"
           ".translate(table).encode(\"utf-8\")).hexdigest()\n"
           "    if h not in seen:\n"
           "        seen.add(h); kept += 1\n"
           "t = time.process_time() - t\n"
           "mb = sum(len(d.encode()) for d in docs) / 1e6\n"
           "print(\"DPK ededup in Python: %%d kept, %%.1f MB in %%.2f s CPU: %%.0f MB/s per core\" "
           "%% (kept, mb, t, mb / t))\n"
           "' %s",
           path);
  double c0 = cpu_children();
  if (system(cmd) != 0)
    printf("DPK peer: python3 failed\n");
  (void)c0;
  unlink(path);
}

/* Document i of the large corpus, into buf (2200 bytes): the same rule as
 * make_corpus, drawn from a seed of its own so any task can make it. */
static size_t large_doc(size_t i, char *buf) {
  unsigned seed = (unsigned)(i * 2654435761u) ^ 0x5bd1e995u;
  if (i > 10 && rand_r(&seed) % 4 == 0) {
    size_t len = large_doc((size_t)rand_r(&seed) % i, buf);
    for (size_t k = 0; k < 40 && k < len; k++)
      if (buf[k] >= 'a' && buf[k] <= 'z')
        buf[k] = (char)(buf[k] - 32);
    return len;
  }
  size_t len = 0;
  while (len < 2000)
    len += (size_t)snprintf(buf + len, 2200 - len, "%s%s", len ? " " : "",
                            words[rand_r(&seed) % NW]);
  return len;
}

#define LARGE_PER_TASK 10000
static size_t large_n;
static _Atomic unsigned long long large_bytes;

static int large_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  char buf[2200];
  size_t lo = task * LARGE_PER_TASK, hi = lo + LARGE_PER_TASK < large_n ? lo + LARGE_PER_TASK : large_n;
  for (size_t s = lo; s < hi; s += 1000) {
    weir_builder *bl;
    weir_builder_create(&bl);
    weir_builder_add_column(bl, "text", WEIR_TYPE_STRING);
    for (size_t i = s; i < hi && i < s + 1000; i++) {
      size_t len = large_doc(i, buf);
      large_bytes += len;
      weir_builder_append_string(bl, 0, buf, len);
    }
    weir_block *b;
    weir_builder_finish(bl, &b);
    weir_builder_destroy(bl);
    int rc = weir_emit_block(out, b);
    if (rc)
      return rc;
  }
  return WEIR_OK;
}

static int run_large(size_t n, size_t budget_mib) {
  large_n = n;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget_mib << 20;
  weir_pipeline *p;
  weir_pipeline_create(&p, &po);
  weir_op *src = weir_source(p, "generated", (n + LARGE_PER_TASK - 1) / LARGE_PER_TASK,
                             large_task, NULL, NULL);
  weir_op *dd = weir_dedup_exact(p, src, NULL);
  if (!dd) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  weir_iter *it;
  weir_pipeline_iter(p, dd, NULL, &it);
  weir_block *b;
  size_t kept = 0;
  double t0 = now();
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    kept += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  double wall = now() - t0;
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    return 1;
  }
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double mb = (double)large_bytes / 1e6;
  printf("weir dedup_exact, large: %zu of %zu documents kept, %.0f MB of text, budget %zu MiB "
         "(seen keys: %zu MiB): %.1f s wall (%.0f MB/s, generation included), %.1f s CPU in the "
         "operator (%.0f MB/s per core); spilled %.1f MB in %llu runs; peak in flight %.0f MiB; "
         "peak RSS %.0f MiB (machine shared with other jobs)\n",
         kept, n, mb, budget_mib, budget_mib / 4, wall, mb / wall, st.cpu_seconds,
         mb / st.cpu_seconds, (double)st.spilled_bytes / 1e6,
         (unsigned long long)st.spilled_blocks, ps.bytes_in_flight_peak / 1048576.0,
         ru.ru_maxrss / 1024.0);
  weir_pipeline_destroy(p);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--large") == 0)
    return run_large(argc > 2 ? (size_t)atol(argv[2]) : 1000000,
                     argc > 3 ? (size_t)atol(argv[3]) : 1024);
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 40000;
  make_corpus(n);
  printf("corpus: %zu documents, %.1f MB (machine shared with other jobs: figures are "
         "indicative)\n", ndocs, total_bytes / 1e6);
  run_weir(256 << 20, "table in memory");
  run_weir(1 << 20, "1 MiB limit, spilling");
  run_dpk();
  for (size_t b = 0; b < nblocks; b++)
    weir_block_unref(&blocks[b]);
  for (size_t i = 0; i < ndocs; i++)
    free(docs[i]);
  free(docs);
  free(blocks);
  return 0;
}
