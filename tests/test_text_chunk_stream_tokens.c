/* Streaming token windows (weir_chunk_stream with WEIR_CHUNK_TOKENS): a
 * document fed in pieces of any size (cut inside UTF-8 characters too) is
 * encoded in parts cut where the tokenizer provably merges nothing, so
 * its windows equal those weir_chunk_spans gives for the whole text, span
 * for span. Checked with tokenizers trained in the test by the
 * `tokenizers` package (byte-level BPE with GPT-2's, cl100k's and o200k's
 * regexes and added tokens inside words; BERT WordPiece; Unigram with
 * NFKC and Metaspace; character BPE) and a tiktoken rank file, on
 * generated multilingual documents with the hard cases, for three window
 * sizes and four piece sizes. Tokenizers for which no cut is proven
 * (Llama-2-style BPE with no pre-tokenizer, a regex Replace normalizer,
 * custom split regexes, SentencePiece) hold the text up to 1 MiB, so the
 * same documents give the same windows there too. A 16 MiB document in
 * 64 KiB pieces gives the whole text's windows while the stream holds at
 * most 1 MiB of it; text with no provable cut (9 MiB of CJK), or a
 * tokenizer with none, is held to about 1 MiB and no more. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-chunk-stream-tokens"); }
TestSuite(text_chunk_stream_tokens, .init = make_tmp, .fini = tmpdir_remove, .timeout = 1200);

static const char *venv_python(void) {
  static char buf[1024];
  const char *venv = getenv("WEIR_VENV");
  if (venv && *venv)
    snprintf(buf, sizeof buf, "%s/bin/python", venv);
  else
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

/* Runs a reference script of tests/text/ into the test's folder (it trains
 * the tokenizers there). */
static void reference(const char *module, const char *script) {
  const char *py = venv_python();
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "'%s' -c 'import %s' 2>/dev/null", py, module);
  if (access(py, X_OK) != 0 || system(cmd) != 0)
    srv_missing("no Python environment with the tokenizer reference packages (run .ci/setup)");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/%s' '%s' >/dev/null", py, WEIR_TEST_SOURCE_DIR,
           script, tmpdir);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static uint64_t rs;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rs >> 33) % n);
}

static const char *const words[] = {
    "river", "Stone", "light", "café", "naïve", "e\xcc\x81t\xc3\xa9", "日本語", "中文字", "😀",
    "👩‍💻", "Москва", "straße", "3.14", "e.g.", "U.S.", "it's", "DON'T", "J.", "x", "ελληνικά",
    "données", "\xc2\xa0", "word", "a", "#tag", "hello", "helloworld", "wörld", "xyz", "<|endoftext|>",
    "12345", "ﬁ", "Å", "hello-world", "I", "B2B", "the", "quick", "brown", "fox"};
static const char *const gaps[] = {" ", " ", " ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\t",
                                   "\xe3\x80\x80", " \r\n\r\n ", "     ", ", ", ". ", "-"};

typedef struct text {
  char *s;
  size_t n, cap;
} text;

static void put(text *t, const char *p, size_t len) {
  if (t->n + len + 1 > t->cap) {
    t->cap = (t->n + len + 1) * 2;
    t->s = realloc(t->s, t->cap);
    cr_assert_not_null(t->s);
  }
  memcpy(t->s + t->n, p, len);
  t->n += len;
  t->s[t->n] = 0;
}

static void gen(text *t, size_t nwords) {
  for (size_t k = 0; k < nwords; k++) {
    const char *w = words[rnd(sizeof words / sizeof *words)];
    const char *g = gaps[rnd(sizeof gaps / sizeof *gaps)];
    put(t, w, strlen(w));
    put(t, g, strlen(g));
  }
}

typedef struct collected {
  weir_chunk_span *v;
  size_t n, cap;
  size_t max_held;
} collected;

static size_t pick_max = 1;
static size_t pick_random(void) { return 1 + rnd((uint32_t)pick_max); }
static size_t pick_64k(void) { return 64 << 10; }

static int stream_all(const weir_chunk_options *o, const char *s, size_t len,
                      size_t (*pick)(void), collected *c) {
  weir_chunk_stream *cs;
  cr_assert_eq(weir_chunk_stream_create(o, &cs), WEIR_OK, "%s", weir_last_errmsg());
  size_t pos = 0;
  int rc = WEIR_OK;
  for (;;) {
    size_t k = pick();
    if (k > len - pos)
      k = len - pos;
    int last = pos + k == len;
    const weir_chunk_span *v;
    size_t n;
    rc = weir_chunk_stream_feed(cs, s + pos, k, last, &v, &n);
    if (rc)
      break;
    for (size_t i = 0; i < n; i++) {
      const char *bytes = weir_chunk_stream_text(cs, &v[i]);
      cr_assert_not_null(bytes);
      cr_assert(memcmp(bytes, s + v[i].start, v[i].end - v[i].start) == 0,
                "chunk [%zu, %zu) bytes differ from the document's", v[i].start, v[i].end);
      if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
      }
      c->v[c->n++] = v[i];
    }
    pos += k;
    if (last)
      break;
  }
  c->max_held = weir_chunk_stream_max_held(cs);
  weir_chunk_stream_destroy(cs);
  return rc;
}

/* The stream's windows equal weir_chunk_spans' on the whole text; returns
 * how many. */
static size_t check_equal(const weir_chunk_options *o, const char *s, size_t len,
                          size_t (*pick)(void), const char *what, size_t *max_held) {
  weir_chunk_span *want;
  size_t nw;
  cr_assert_eq(weir_chunk_spans(o, s, len, &want, &nw, NULL), WEIR_OK, "%s", weir_last_errmsg());
  collected c = {0};
  cr_assert_eq(stream_all(o, s, len, pick, &c), WEIR_OK, "%s: %s", what, weir_last_errmsg());
  for (size_t i = 0; i < nw && i < c.n; i++)
    cr_assert(c.v[i].start == want[i].start && c.v[i].end == want[i].end,
              "%s (size %zu, overlap %ld): window %zu is [%zu, %zu), in memory [%zu, %zu) "
              "\"%.*s\"", what, o->chunk_size, o->overlap, i, c.v[i].start, c.v[i].end,
              want[i].start, want[i].end, (int)(want[i].end - want[i].start), s + want[i].start);
  cr_assert_eq(c.n, nw, "%s (size %zu): %zu windows streamed, %zu in memory", what, o->chunk_size,
               c.n, nw);
  if (max_held)
    *max_held = c.max_held;
  free(c.v);
  weir_free(want);
  return nw;
}

/* A tiktoken rank file: the 256 bytes and a few English merges. */
static void write_tiktoken(const char *name) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char *const merges[] = {"th", "he", "the", " t", " the", "er", "ri", "riv", "river",
                                       "on", "ne", "one", "St", "Stone", "ig", "ight", "light",
                                       " w", "or", "ord", " word"};
  FILE *f = fopen(path_of(name), "w");
  cr_assert_not_null(f);
  int rank = 0;
  for (int round = 0; round < 2; round++) {
    size_t count = round ? sizeof merges / sizeof *merges : 256;
    for (size_t i = 0; i < count; i++) {
      unsigned char tokb[16];
      size_t tl;
      if (round) {
        tl = strlen(merges[i]);
        memcpy(tokb, merges[i], tl);
      } else {
        tokb[0] = (unsigned char)i;
        tl = 1;
      }
      char out[32];
      size_t o = 0;
      for (size_t k = 0; k < tl; k += 3) {
        uint32_t v = (uint32_t)tokb[k] << 16 | (k + 1 < tl ? (uint32_t)tokb[k + 1] << 8 : 0) |
                     (k + 2 < tl ? tokb[k + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = k + 1 < tl ? b64[v >> 6 & 63] : '=';
        out[o++] = k + 2 < tl ? b64[v & 63] : '=';
      }
      fprintf(f, "%.*s %d\n", (int)o, out, rank++);
    }
  }
  fclose(f);
}

static weir_tokenizer *load(const char *name) {
  weir_tokenizer *t = NULL;
  cr_assert_eq(weir_tokenizer_load(path_of(name), &t), WEIR_OK, "%s: %s", name, weir_last_errmsg());
  return t;
}

Test(text_chunk_stream_tokens, equal_to_the_whole_text_on_random_pieces) {
  reference("tokenizers", "tokenizers_reference.py");
  reference("tokenizers", "hf_models_reference.py");
  int spm = system("spm_train --help >/dev/null 2>&1") == 0;
  if (!spm)
    srv_missing("no spm_train (Debian's sentencepiece package; run .ci/setup)");
  reference("sentencepiece", "spm_reference.py");
  write_tiktoken("small.tiktoken");
  static const char *const names[] = {
      "gpt2.json", "gpt2_prefix.json", "cl100k.json", "o200k.json", "bert.json", "unigram.json",
      "charbpe.json", "small.tiktoken",
      /* no cut proven: held whole below 1 MiB */
      "llama2.json", "wordlevel.json", "splits.json", "unigram.model", "bpe.model"};
  const size_t sizes[] = {1, 7, 128};
  const long overlaps[] = {0, 2, 30};
  const size_t pieces[] = {1, 7, 300, 100000};
  size_t windows = 0;
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    weir_tokenizer *tok = load(names[k]);
    rs = 16 + k;
    for (int d = 0; d < 40; d++) {
      text t = {0};
      put(&t, "", 0);
      gen(&t, d % 20 == 0 ? 0 : rnd(d % 5 == 0 ? 2000 : 300));
      for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
        o.method = WEIR_CHUNK_TOKENS;
        o.tokenizer = tok;
        o.chunk_size = sizes[z];
        o.overlap = overlaps[z];
        pick_max = pieces[(size_t)(d + (int)z) % 4];
        char what[128];
        snprintf(what, sizeof what, "%s, document %d, pieces up to %zu", names[k], d, pick_max);
        windows += check_equal(&o, t.s, t.n, pick_random, what, NULL);
      }
      free(t.s);
    }
    weir_tokenizer_free(tok);
  }
  cr_assert_gt(windows, 100000);
}

/* A document of 16 MiB in 64 KiB pieces: the whole text's windows, the
 * stream holding at most 1 MiB. Text without a provable cut, and a
 * tokenizer with none, are held to about 1 MiB (plus a piece). */
Test(text_chunk_stream_tokens, a_large_document_is_held_in_bounded_memory) {
  reference("tokenizers", "tokenizers_reference.py");
  reference("tokenizers", "hf_models_reference.py");
  rs = 48;
  text t = {0};
  put(&t, "", 0);
  while (t.n < (16u << 20))
    gen(&t, 4000);
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_TOKENS;
  static const char *const exact[] = {"o200k.json"};
  for (size_t k = 0; k < sizeof exact / sizeof *exact; k++) {
    weir_tokenizer *tok = load(exact[k]);
    o.tokenizer = tok;
    size_t held = 0;
    size_t nw = check_equal(&o, t.s, t.n, pick_64k, exact[k], &held);
    cr_assert_gt(nw, 50000);
    cr_assert_leq(held, (size_t)1 << 20, "%s: the stream held %zu bytes", exact[k], held);
    weir_tokenizer_free(tok);
  }
  /* 9 MiB of CJK: no "a b" to cut at. */
  text cjk = {0};
  put(&cjk, "", 0);
  while (cjk.n < (9u << 20))
    put(&cjk, "日本語の中文字。", strlen("日本語の中文字。"));
  static const char *const bounded[] = {"o200k.json", "llama2.json"};
  for (size_t k = 0; k < sizeof bounded / sizeof *bounded; k++) {
    weir_tokenizer *tok = load(bounded[k]);
    o.tokenizer = tok;
    const text *doc = k == 0 ? &cjk : &t;
    collected c = {0};
    cr_assert_eq(stream_all(&o, doc->s, doc->n, pick_64k, &c), WEIR_OK, "%s", weir_last_errmsg());
    cr_assert_leq(c.max_held, ((size_t)2 << 20), "%s: the stream held %zu bytes",
                  bounded[k], c.max_held);
    cr_assert_gt(c.n, 1000);
    /* Every window is a piece of the document, in order. */
    for (size_t i = 1; i < c.n; i++)
      cr_assert(c.v[i].start >= c.v[i - 1].start && c.v[i].end <= doc->n);
    free(c.v);
    weir_tokenizer_free(tok);
  }
  free(cjk.s);
  free(t.s);
}
