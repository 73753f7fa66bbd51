/* A child process for the resident-memory tests: runs one reader (or one
 * operator over a JSONL read) under a memory budget, pulls every row
 * through an iterator, and prints the rows it saw and its own peak
 * resident memory, so the test measures RSS instead of estimating it.
 *
 *   weir_rss_probe KIND URI BUDGET_MIB [ARG]
 *
 * KIND: jsonl csv text binary blocks video audio images parquet (read URI);
 * shuffle (JSONL through an iterator with shuffle_buffer_rows ARG);
 * repartition (JSONL re-blocked to ARG rows); ordered (JSONL through a
 * map with preserve_order); dedup and dedup_priority (JSONL through
 * weir_dedup_exact keep-first, or by the highest "p", with its own
 * memory_limit ARG MiB). Prints "rows=R blocks=B max_block=M
 * peak_kib=K" on success, then for dedup " spilled=S isum=X" (the spilled
 * bytes of the dedup operator, and the sum of the kept rows' "i");
 * exits 1 with the pipeline's message otherwise. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

static weir_op *jsonl(weir_pipeline *p, const char *uri) {
  return weir_read_jsonl(p, uri, NULL);
}

/* With WEIR_RSS_PROBE_TRACE set, a thread samples resident memory and the
 * bytes the budget counts, and the probe says how much memory was not
 * counted at the peak: where to look when a budget does not hold. */
typedef struct trace {
  weir_pipeline *p;
  volatile int stop;
  long rss_kib, flight_kib;  /* at the highest RSS sample */
} trace;

static void *sample(void *arg) {
  trace *t = arg;
  long page_kib = sysconf(_SC_PAGESIZE) / 1024;
  while (!t->stop) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
      if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = 0;
      fclose(f);
    }
    weir_pipeline_stats ps;
    weir_pipeline_get_stats(t->p, &ps);
    if (res * page_kib > t->rss_kib) {
      t->rss_kib = res * page_kib;
      t->flight_kib = (long)(ps.bytes_in_flight / 1024);
    }
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s KIND URI BUDGET_MIB [ARG]\n", argv[0]);
    return 2;
  }
  const char *kind = argv[1], *uri = argv[2];
  size_t budget = (size_t)strtoull(argv[3], NULL, 10) << 20;
  size_t arg = argc > 4 ? (size_t)strtoull(argv[4], NULL, 10) : 0;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget;
  po.num_cpus = 2;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK)
    return 1;
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  weir_op *op = NULL;
  int dedup = 0;
  unsigned long long isum = 0;
  if (!strcmp(kind, "jsonl"))
    op = jsonl(p, uri);
  else if (!strcmp(kind, "csv"))
    op = weir_read_csv(p, uri, NULL);
  else if (!strcmp(kind, "text"))
    op = weir_read_text(p, uri, NULL);
  else if (!strcmp(kind, "binary"))
    op = weir_read_binary(p, uri, NULL);
  else if (!strcmp(kind, "blocks"))
    op = weir_read_blocks(p, uri, NULL);
  else if (!strcmp(kind, "video"))
    op = weir_read_video(p, uri, NULL);
  else if (!strcmp(kind, "audio")) {
    /* Long windows: rows of megabytes, like long documents. */
    weir_audio_options ao = WEIR_AUDIO_OPTIONS_INIT;
    ao.sample_rate = 48000;
    ao.channels = 2;
    ao.window_seconds = 10;
    op = weir_read_audio(p, uri, &ao);
  } else if (!strcmp(kind, "parquet"))
    op = weir_read_parquet(p, uri, NULL);
  else if (!strcmp(kind, "images"))
    op = weir_read_images(p, uri, NULL);
  else if (!strcmp(kind, "shuffle")) {
    op = jsonl(p, uri);
    io.shuffle_buffer_rows = arg;
    io.seed = 7;
  } else if (!strcmp(kind, "repartition"))
    op = weir_repartition(p, jsonl(p, uri), arg);
  else if (!strcmp(kind, "dedup") || !strcmp(kind, "dedup_priority")) {
    weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
    o.memory_limit = arg << 20;
    if (!strcmp(kind, "dedup_priority"))
      o.priority_column = "p";
    op = weir_dedup_exact(p, jsonl(p, uri), &o);
    dedup = op != NULL;
  } else if (!strcmp(kind, "ordered")) {
    weir_op_options oo = WEIR_OP_OPTIONS_INIT;
    oo.preserve_order = 1;
    oo.min_workers = 2;
    op = weir_map_batches(p, jsonl(p, uri), "pass", pass, NULL, &oo);
  } else {
    fprintf(stderr, "unknown kind %s\n", kind);
    return 2;
  }
  weir_iter *it = NULL;
  int rc = op ? weir_pipeline_iter(p, op, &io, &it) : WEIR_EINVAL;
  trace tr = {p, 0, 0, 0};
  pthread_t tid;
  int tracing = getenv("WEIR_RSS_PROBE_TRACE") && pthread_create(&tid, NULL, sample, &tr) == 0;
  unsigned long long rows = 0, blocks = 0, max_block = 0;
  weir_block *b;
  while (rc == WEIR_OK && (rc = weir_iter_next(it, &b)) == WEIR_OK) {
    rows += weir_block_num_rows(b);
    blocks++;
    if (weir_block_nbytes(b) > max_block)
      max_block = weir_block_nbytes(b);
    int ci = dedup ? weir_block_column_index(b, "i") : -1;
    if (ci >= 0) {
      weir_column c;
      weir_block_column(b, (size_t)ci, &c);
      for (size_t k = 0; k < c.length; k++)
        isum += (unsigned long long)((const int64_t *)c.data)[k];
    }
    weir_block_unref(&b);
  }
  if (tracing) {
    tr.stop = 1;
    pthread_join(tid, NULL);
    fprintf(stderr, "trace: at the RSS peak %ld KiB, %ld KiB in flight, %ld KiB not counted\n",
            tr.rss_kib, tr.flight_kib, tr.rss_kib - tr.flight_kib);
  }
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "%s: %s (%s)\n", kind, weir_pipeline_errmsg(p), weir_strerror(rc));
    weir_pipeline_destroy(p);
    return 1;
  }
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  unsigned long long spilled = 0;
  for (int i = 0; dedup && i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    if (weir_pipeline_op_stats(p, i, &st) == WEIR_OK && !strcmp(st.name, "dedup_exact"))
      spilled = st.spilled_bytes;
  }
  if (getenv("WEIR_RSS_PROBE_STATS")) {
    char *t = NULL;
    if (weir_pipeline_stats_table(p, &t) == WEIR_OK)
      fprintf(stderr, "%s", t);
    free(t);
  }
  weir_pipeline_destroy(p);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("rows=%llu blocks=%llu max_block=%llu in_flight_peak=%zu peak_kib=%ld",
         rows, blocks, max_block, ps.bytes_in_flight_peak, ru.ru_maxrss);
  if (dedup)
    printf(" spilled=%llu isum=%llu", spilled, isum);
  printf("\n");
  return 0;
}
