/* Benchmark: byte-level BPE (a Llama-3-style tokenizer.json trained on the
 * corpora: cl100k's split regex, then ByteLevel, 16000 tokens) on 2 KB
 * English and mixed-script documents, weir_tokenizer_encode_cached on
 * THREADS threads (a cache each, the tokenizer shared) against the
 * `tokenizers` package's encode_batch (Rust, THREADS threads) and
 * tiktoken's encode_ordinary_batch (THREADS threads) on the same files in
 * the same run, best of 3 each; and a BERT WordPiece (BertNormalizer,
 * BertPreTokenizer) against tokenizers' encode_batch. Also checks that
 * weir's token counts equal the peers'. Reports MB/s of text and the ratios.
 *
 *   bench_tokenize [threads, default 2] [documents per corpus, default 3000]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *python(void) {
  static char buf[1024];
  const char *venv = getenv("WEIR_VENV");
  snprintf(buf, sizeof buf, "%s/bin/python", venv && *venv ? venv : "");
  if (!(venv && *venv))
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

typedef struct {
  const weir_tokenizer *t;
  char **docs;
  size_t *lens;
  size_t ndocs, next_start, stride;
  size_t tokens;
  int rc;
} worker;

static void *run_worker(void *p) {
  worker *w = p;
  weir_tokenizer_cache *c;
  if ((w->rc = weir_tokenizer_cache_create(w->t, &c)))
    return NULL;
  w->tokens = 0;
  for (size_t i = w->next_start; i < w->ndocs; i += w->stride) {
    const int32_t *ids;
    size_t n;
    if ((w->rc = weir_tokenizer_encode_cached(w->t, c, w->docs[i], w->lens[i], 0, &ids, NULL, &n)))
      break;
    w->tokens += n;
  }
  weir_tokenizer_cache_destroy(c);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  int ndocs = argc > 2 ? atoi(argv[2]) : 3000;
  if (threads < 1 || threads > 64 || ndocs < 10) {
    fprintf(stderr, "usage: bench_tokenize [threads] [documents]\n");
    return 2;
  }
  char dir[] = "/tmp/bench-tokenize-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  const char *py = python();
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tokenize_peer.py' prepare '%s' %d", py, WEIR_BENCH_DIR, dir, ndocs);
  if (access(py, X_OK) != 0 || system(cmd) != 0) {
    fprintf(stderr, "bench_tokenize: the peers need the tokenizers and tiktoken packages in %s (run .ci/setup)\n", py);
    return 1;
  }
  weir_tokenizer *t;
  char path[600];
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  if (weir_tokenizer_load(path, &t)) {
    fprintf(stderr, "bench_tokenize: %s\n", weir_last_errmsg());
    return 1;
  }
  /* The peers first, so that weir's figures are not taken on a machine
   * that Python has just warmed. */
  snprintf(cmd, sizeof cmd, "'%s' '%s/tokenize_peer.py' run '%s' %d", py, WEIR_BENCH_DIR, dir, threads);
  FILE *pp = popen(cmd, "r");
  char line[256];
  double peer_mbs[2][3] = {{0}};
  size_t peer_tok[2][3] = {{0}};
  while (pp && fgets(line, sizeof line, pp)) {
    char corpus[32], peer[32];
    double mbs;
    size_t tok;
    if (sscanf(line, "%31s %31s %lf %zu", corpus, peer, &mbs, &tok) == 4) {
      int c = strcmp(corpus, "mixed") == 0, k = strcmp(peer, "tiktoken") == 0 ? 1 : strcmp(peer, "wordpiece") == 0 ? 2 : 0;
      peer_mbs[c][k] = mbs;
      peer_tok[c][k] = tok;
    }
  }
  if (pp)
    pclose(pp);
  printf("bench_tokenize: %d threads, %d documents of ~2 KB per corpus, byte-level BPE of %zu tokens\n", threads,
         ndocs, weir_tokenizer_vocab_size(t));
  weir_tokenizer *bert;
  snprintf(path, sizeof path, "%s/bert.json", dir);
  if (weir_tokenizer_load(path, &bert)) {
    fprintf(stderr, "bench_tokenize: %s\n", weir_last_errmsg());
    return 1;
  }
  printf("%-8s %12s %12s %12s %10s %10s | %12s %12s %10s\n", "corpus", "weir MB/s", "tokenizers", "tiktoken", "vs tok.",
         "vs tikt.", "WordPiece", "tokenizers", "vs tok.");
  const char *names[2] = {"english", "mixed"};
  int bad = 0;
  for (int c = 0; c < 2; c++) {
    snprintf(path, sizeof path, "%s/%s.txt", dir, names[c]);
    FILE *f = fopen(path, "rb");
    if (!f)
      return 1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *all = malloc((size_t)sz + 1);
    if (fread(all, 1, (size_t)sz, f) != (size_t)sz)
      return 1;
    fclose(f);
    all[sz] = 0;
    char **docs = malloc((size_t)ndocs * sizeof *docs);
    size_t *lens = malloc((size_t)ndocs * sizeof *lens), nd = 0;
    for (char *p = all, *e = all + sz; p <= e && nd < (size_t)ndocs;) {
      char *z = memchr(p, 0, (size_t)(e - p) + 1);
      docs[nd] = p;
      lens[nd++] = (size_t)(z - p);
      p = z + 1;
    }
    double mbs_of[2];
    size_t tokens_of[2];
    for (int which = 0; which < 2; which++) {
    double best = 1e9;
    size_t tokens = 0;
    for (int rep = 0; rep < 3; rep++) {
      pthread_t th[64];
      worker w[64];
      double t0 = now();
      for (int k = 0; k < threads; k++) {
        w[k] = (worker){which ? bert : t, docs, lens, nd, (size_t)k, (size_t)threads, 0, 0};
        pthread_create(&th[k], NULL, run_worker, &w[k]);
      }
      tokens = 0;
      for (int k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        if (w[k].rc) {
          fprintf(stderr, "bench_tokenize: %s\n", weir_last_errmsg());
          return 1;
        }
        tokens += w[k].tokens;
      }
      double dt = now() - t0;
      if (dt < best)
        best = dt;
    }
    mbs_of[which] = (double)sz / 1e6 / best;
    tokens_of[which] = tokens;
    }
    double mbs = mbs_of[0], wp = mbs_of[1];
    printf("%-8s %12.2f %12.2f %12.2f %9.2fx %9.2fx | %12.2f %12.2f %9.2fx\n", names[c], mbs, peer_mbs[c][0],
           peer_mbs[c][1], peer_mbs[c][0] > 0 ? mbs / peer_mbs[c][0] : 0, peer_mbs[c][1] > 0 ? mbs / peer_mbs[c][1] : 0,
           wp, peer_mbs[c][2], peer_mbs[c][2] > 0 ? wp / peer_mbs[c][2] : 0);
    if (tokens_of[0] != peer_tok[c][0] || tokens_of[0] != peer_tok[c][1] || tokens_of[1] != peer_tok[c][2]) {
      printf("  token counts differ: weir %zu, tokenizers %zu, tiktoken %zu; WordPiece weir %zu, tokenizers %zu\n",
             tokens_of[0], peer_tok[c][0], peer_tok[c][1], tokens_of[1], peer_tok[c][2]);
      bad = 1;
    }
    free(docs);
    free(lens);
    free(all);
  }
  weir_tokenizer_free(t);
  weir_tokenizer_free(bert);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    bad = 1;
  return bad;
}
