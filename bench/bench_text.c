/* Benchmark: the text-preparation chain PII redaction -> language id
 * (CLD2) -> Gopher quality -> Gopher repetition -> C4 -> FineWeb on ~2 KB
 * English documents, weir against DataTrove's Python filters on the same
 * documents in the same run (DataTrove's chain has no language id: its
 * fastText filter needs the lid.176 download).
 *
 *   bench_text [MB, default 40] [CPU slots, default 1] [DataTrove docs, default 1500]
 *
 * The peer runs with $WEIR_DATATROVE_PYTHON, else ${WEIR_VENV}-datatrove,
 * else ~/.cache/weir-venv-datatrove (made by .ci/setup); without it only
 * weir's figures are printed. */
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

static double cpu_self(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *words[] = {
    "the", "of", "and", "to", "a", "in", "that", "is", "was", "for", "with", "on", "as", "by",
    "people", "time", "year", "government", "system", "program", "question", "number", "water",
    "history", "morning", "research", "education", "community", "information", "president",
    "important", "different", "children", "students", "company", "development", "between",
    "because", "however", "several", "although", "market", "policy", "energy", "report",
    "analysis", "results", "model", "language", "training", "network", "well-known", "don't",
    "it's", "U.S.", "e.g.", "3.5%", "$20", "(see", "below)", "city's", "they're"};

static unsigned seed = 2024;
static unsigned rnd(void) { return (seed = seed * 1103515245u + 12345u) >> 8; }

/* One ~2 KB document: paragraphs of sentences, sometimes an email or an
 * address, sometimes a list; most pass the filters, some do not. */
static size_t make_doc(char *buf, size_t cap) {
  size_t n = 0;
  size_t target = 1700 + rnd() % 700;
  while (n < target && n + 300 < cap) {
    int words_in = 6 + (int)(rnd() % 18);
    for (int w = 0; w < words_in; w++) {
      const char *wd = words[rnd() % (sizeof words / sizeof *words)];
      n += (size_t)snprintf(buf + n, cap - n, "%s%c%s", w ? " " : "",
                            w ? wd[0] : (char)(wd[0] >= 'a' && wd[0] <= 'z' ? wd[0] - 32 : wd[0]),
                            wd + 1);
    }
    unsigned r = rnd() % 100;
    if (r < 3)
      n += (size_t)snprintf(buf + n, cap - n, ", write to j.doe%u@example.com", rnd() % 1000);
    else if (r < 5)
      n += (size_t)snprintf(buf + n, cap - n, " from %u.%u.%u.%u", 1 + rnd() % 220, rnd() % 256,
                            rnd() % 256, 1 + rnd() % 250);
    buf[n++] = rnd() % 9 == 0 ? '!' : '.';
    buf[n++] = rnd() % 5 == 0 ? '\n' : ' ';
  }
  while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\n'))
    n--;
  buf[n] = 0;
  return n;
}

typedef struct corpus {
  weir_block **blocks;
  size_t nblocks, docs, bytes;
} corpus;

static int read_block(void *user, size_t task, weir_emit *out) {
  corpus *c = user;
  return weir_emit_block(out, weir_block_ref(c->blocks[task]));
}

static size_t kept_rows;
static int count(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  (void)out;
  __atomic_fetch_add(&kept_rows, weir_block_num_rows(in), __ATOMIC_RELAXED);
  return WEIR_OK;
}

static void json_escape(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static double run_weir(corpus *c, int cpus, int lang, double *cpu) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = cpus;
  weir_pipeline *p;
  weir_pipeline_create(&p, &po);
  kept_rows = 0;
  weir_op *op = weir_source(p, "docs", c->nblocks, read_block, c, NULL);
  op = weir_text_pii_redact(p, op, NULL);
  if (lang)
    op = weir_text_lang_id(p, op, NULL);
  op = weir_text_quality_gopher(p, op, NULL);
  op = weir_text_quality_gopher_repetition(p, op, NULL);
  op = weir_text_quality_c4(p, op, NULL);
  op = weir_text_quality_fineweb(p, op, NULL);
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.num_cpus = 0;
  so.max_workers = 1;
  op = weir_map_batches(p, op, "count", count, NULL, &so);
  if (!op) {
    fprintf(stderr, "bench_text: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  double c0 = cpu_self(), t0 = now();
  int rc = weir_pipeline_run(p, op);
  double t = now() - t0;
  *cpu = cpu_self() - c0;
  if (rc) {
    fprintf(stderr, "bench_text: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  char *table;
  if (weir_pipeline_stats_table(p, &table) == WEIR_OK) {
    fprintf(stderr, "%s", table);
    free(table);
  }
  weir_pipeline_destroy(p);
  return t;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 40;
  int cpus = argc > 2 ? atoi(argv[2]) : 1;
  size_t peer_docs = argc > 3 ? (size_t)atol(argv[3]) : 1500;
  corpus c = {0};
  size_t cap_blocks = 1024;
  c.blocks = malloc(cap_blocks * sizeof *c.blocks);
  char *doc = malloc(8192);
  char path[512];
  snprintf(path, sizeof path, "%s/weir-bench-text-%d.jsonl", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
           (int)getpid());
  FILE *jf = fopen(path, "w");
  while (c.bytes < mb * 1000000) {
    weir_builder *b;
    weir_builder_create(&b);
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    for (int i = 0; i < 500; i++) {
      size_t n = make_doc(doc, 8192);
      weir_builder_append_string(b, 0, doc, n);
      if (c.docs < peer_docs) {
        fputs("{\"text\": ", jf);
        json_escape(jf, doc, n);
        fputs("}\n", jf);
      }
      c.docs++;
      c.bytes += n;
    }
    if (c.nblocks == cap_blocks)
      c.blocks = realloc(c.blocks, (cap_blocks *= 2) * sizeof *c.blocks);
    weir_builder_finish(b, &c.blocks[c.nblocks++]);
    weir_builder_destroy(b);
  }
  fclose(jf);
  printf("bench_text: %zu documents, %.1f MB (mean %.0f bytes), %d CPU slot(s); the machine "
         "is shared with other work, so figures vary between runs\n",
         c.docs, (double)c.bytes / 1e6, (double)c.bytes / (double)c.docs, cpus);

  double cpu, t = run_weir(&c, cpus, 1, &cpu);
  double mbs = (double)c.bytes / 1e6 / t, mbs_cpu = (double)c.bytes / 1e6 / cpu;
  printf("weir chain pii > lang_id(cld2) > gopher > gopher_rep > c4 > fineweb: %.2f s, "
         "%.1f MB/s wall, %.1f MB/s per CPU second, %.0f docs/s, kept %zu\n",
         t, mbs, mbs_cpu, (double)c.docs / t, kept_rows);
  double cpu2, t2 = run_weir(&c, cpus, 0, &cpu2);
  double docs_cpu_nolang = (double)c.docs / cpu2;
  printf("weir chain without lang_id: %.2f s, %.1f MB/s wall, %.1f MB/s per CPU second, "
         "%.0f docs per CPU second\n", t2, (double)c.bytes / 1e6 / t2,
         (double)c.bytes / 1e6 / cpu2, docs_cpu_nolang);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %.0f MiB (the corpus itself holds %.0f MiB)\n", (double)ru.ru_maxrss / 1024.0,
         (double)c.bytes / 1048576.0);

  char py[1024];
  const char *e = getenv("WEIR_DATATROVE_PYTHON");
  if (e && *e)
    snprintf(py, sizeof py, "%s", e);
  else if (getenv("WEIR_VENV"))
    snprintf(py, sizeof py, "%s-datatrove/bin/python", getenv("WEIR_VENV"));
  else
    snprintf(py, sizeof py, "%s/.cache/weir-venv-datatrove/bin/python", getenv("HOME"));
  if (access(py, X_OK) == 0) {
    char cmd[2048], line[512] = "";
    snprintf(cmd, sizeof cmd, "'%s' '%s/bench/text_datatrove_peer.py' '%s' %zu", py,
             WEIR_SOURCE_DIR, path, peer_docs);
    FILE *pp = popen(cmd, "r");
    if (pp && fgets(line, sizeof line, pp)) {
      size_t pd = 0, pb = 0, pk = 0;
      double ps = 0;
      if (sscanf(line, "docs %zu bytes %zu seconds %lf kept %zu", &pd, &pb, &ps, &pk) == 4 && ps > 0) {
        double dt_docs = (double)pd / ps;
        printf("DataTrove chain pii > gopher > gopher_rep > c4 > fineweb (one process): %zu docs "
               "in %.2f s, %.2f MB/s, %.0f docs/s, kept %zu\n", pd, ps, (double)pb / 1e6 / ps,
               dt_docs, pk);
        printf("weir per CPU second vs DataTrove per core: %.0fx the documents/s with language "
               "id, %.0fx without\n", (double)c.docs / cpu / dt_docs, docs_cpu_nolang / dt_docs);
      }
    }
    if (pp)
      pclose(pp);
  } else {
    printf("DataTrove peer skipped: no %s (run .ci/setup)\n", py);
  }
  unlink(path);
  for (size_t i = 0; i < c.nblocks; i++)
    weir_block_unref(&c.blocks[i]);
  free(c.blocks);
  free(doc);
  return 0;
}
