/* Benchmark: what weir_pack_sequences and weir_chunk_text cost next to
 * tokenization, in the same run on the same corpus (2 KB English-like
 * documents with paragraphs and Markdown headings). The target:
 * packing and chunking cost at most 10% of tokenization. Reports CPU
 * seconds of each operator (its workers' thread CPU time) and MB/s of text
 * per core; the numbering step of chunk_text is counted with it.
 *
 *   bench_pack_chunk [MB of text, default 40] [tokenizer.json]
 *
 * Without a tokenizer.json the program trains one with the `tokenizers`
 * package (tests/text/tokenize_reference.py, in $WEIR_VENV or
 * ~/.cache/weir-venv): a byte-level BPE of 1200 ids, which makes more
 * tokens per byte than GPT-2's, so packing is measured on the heavy side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weir.h>

static const char *words[] = {"data", "stream", "model", "token", "the", "of", "and", "a",
                              "pipeline", "operator", "block", "column", "memory", "budget",
                              "training", "GPU", "language", "is", "to", "in", "with", "for",
                              "préparation", "données", "naïve", "Köln", "2024", "3.5"};
#define NW (sizeof words / sizeof words[0])

static weir_block **blocks;
static size_t nblocks, total_bytes, ndocs;

static void make_corpus(size_t mb) {
  unsigned seed = 11;
  size_t per_block = 256;
  ndocs = mb * 1000 * 1000 / 2000;
  nblocks = (ndocs + per_block - 1) / per_block;
  blocks = calloc(nblocks, sizeof *blocks);
  char *d = malloc(4096);
  for (size_t b = 0; b < nblocks; b++) {
    weir_builder *bld;
    weir_builder_create(&bld);
    weir_builder_add_column(bld, "text", WEIR_TYPE_STRING);
    for (size_t i = 0; i < per_block && b * per_block + i < ndocs; i++) {
      size_t len = 0, sent = 0;
      if (rand_r(&seed) % 3 == 0)
        len += (size_t)snprintf(d, 4096, "# %s %s\n\n", words[rand_r(&seed) % NW],
                                words[rand_r(&seed) % NW]);
      while (len < 2000) {
        const char *w = words[rand_r(&seed) % NW];
        int end = ++sent % 12 == 0;
        len += (size_t)snprintf(d + len, 4096 - len, "%s%s%s", w, end ? "." : "",
                                end ? (rand_r(&seed) % 4 == 0 ? "\n\n" : " ") : " ");
        if (rand_r(&seed) % 150 == 0)
          len += (size_t)snprintf(d + len, 4096 - len, "\n## %s\n", words[rand_r(&seed) % NW]);
      }
      weir_builder_append_string(bld, 0, d, len);
      total_bytes += len;
    }
    weir_builder_finish(bld, &blocks[b]);
    weir_builder_destroy(bld);
  }
  free(d);
}

static weir_block **tok_blocks; /* tokenize's output, the input of pack */

static int read_text(void *user, size_t task, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(blocks[task]));
}
static int read_tokens(void *user, size_t task, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(tok_blocks[task]));
}

typedef struct measure {
  double cpu;     /* seconds, the measured operators together */
  uint64_t rows;
} measure;

static double op_cpu(weir_pipeline *p, int index) {
  weir_op_stats st;
  weir_pipeline_op_stats(p, index, &st);
  return st.cpu_seconds;
}

/* kind: 0 tokenize (keeps its blocks), 1 pack, 2 chunk with `co`. */
static measure run(int kind, const weir_tokenizer *t, const weir_chunk_options *co) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op *src = weir_source(p, "src", nblocks, kind == 1 ? read_tokens : read_text, NULL, NULL);
  weir_op *op;
  int first = 1, last = 1;
  if (kind == 0) {
    weir_tokenize_options o = WEIR_TOKENIZE_OPTIONS_INIT;
    o.add_eos = 1;
    o.keep_text = 0;
    op = weir_tokenize(p, src, t, &o);
  } else if (kind == 1) {
    weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
    o.seq_len = 2048;
    o.doc_starts = 1;
    op = weir_pack_sequences(p, src, &o);
  } else {
    op = weir_chunk_text(p, src, co);
    last = 2; /* the numbering step and the chunker */
  }
  if (!op) {
    fprintf(stderr, "bench_pack_chunk: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  weir_iter *it;
  weir_pipeline_iter(p, op, NULL, &it);
  weir_block *b;
  measure m = {0, 0};
  size_t k = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    m.rows += weir_block_num_rows(b);
    if (kind == 0)
      tok_blocks[k++] = b;
    else
      weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "bench_pack_chunk: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  for (int i = first; i <= last; i++)
    m.cpu += op_cpu(p, i);
  weir_pipeline_destroy(p);
  return m;
}

static const char *train_tokenizer(void) {
  static char dir[] = "/tmp/bench_pack_chunk-XXXXXX", path[600];
  if (!mkdtemp(dir))
    return NULL;
  const char *venv = getenv("WEIR_VENV");
  char py[512], cmd[2000];
  if (venv && *venv)
    snprintf(py, sizeof py, "%s/bin/python", venv);
  else
    snprintf(py, sizeof py, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  snprintf(cmd, sizeof cmd, "'%s' '%s/../tests/text/tokenize_reference.py' '%s' 1 >/dev/null",
           py, WEIR_BENCH_DIR, dir);
  if (system(cmd) != 0)
    return NULL;
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  return path;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 40;
  const char *path = argc > 2 ? argv[2] : train_tokenizer();
  if (!path) {
    fprintf(stderr, "bench_pack_chunk: no tokenizer.json given, and training one with the "
                    "tokenizers package failed (run .ci/setup)\n");
    return 1;
  }
  weir_tokenizer *t;
  if (weir_tokenizer_load(path, &t) != WEIR_OK) {
    fprintf(stderr, "bench_pack_chunk: %s: %s\n", path, weir_last_errmsg());
    return 1;
  }
  make_corpus(mb);
  tok_blocks = calloc(nblocks, sizeof *tok_blocks);
  double mbs = (double)total_bytes / 1e6;
  printf("corpus: %zu documents, %.1f MB, %zu blocks; tokenizer %s\n", ndocs, mbs, nblocks,
         path);
  measure tk = run(0, t, NULL);
  printf("%-28s %8.3f CPU s  %7.1f MB/s per core\n", "tokenize (+EOS)", tk.cpu, mbs / tk.cpu);
  measure pk = run(1, t, NULL);
  printf("%-28s %8.3f CPU s  %7.1f MB/s per core  %5.1f%% of tokenize (%llu rows of 2048)\n",
         "pack_sequences", pk.cpu, mbs / pk.cpu, 100 * pk.cpu / tk.cpu,
         (unsigned long long)pk.rows);
  static const struct {
    const char *label;
    int method;
    size_t size;
    long overlap;
  } modes[] = {{"chunk paragraphs (1000)", WEIR_CHUNK_PARAGRAPHS, 0, -1},
               {"chunk sentences (1000)", WEIR_CHUNK_SENTENCES, 0, -1},
               {"chunk chars (1000/200)", WEIR_CHUNK_CHARS, 1000, 200},
               {"chunk markdown (1000)", WEIR_CHUNK_MARKDOWN, 0, -1},
               {"chunk tokens (128/30)", WEIR_CHUNK_TOKENS, 0, -1}};
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    weir_chunk_options co = WEIR_CHUNK_OPTIONS_INIT;
    co.method = modes[m].method;
    co.chunk_size = modes[m].size;
    co.overlap = modes[m].overlap;
    co.tokenizer = t;
    measure ck = run(2, t, &co);
    printf("%-28s %8.3f CPU s  %7.1f MB/s per core  %5.1f%% of tokenize (%llu chunks)%s\n",
           modes[m].label, ck.cpu, mbs / ck.cpu, 100 * ck.cpu / tk.cpu,
           (unsigned long long)ck.rows,
           modes[m].method == WEIR_CHUNK_TOKENS ? " [tokenizes itself]" : "");
  }
  for (size_t b = 0; b < nblocks; b++) {
    weir_block_unref(&blocks[b]);
    weir_block_unref(&tok_blocks[b]);
  }
  free(blocks);
  free(tok_blocks);
  weir_tokenizer_free(t);
  return 0;
}
