/* Streaming chunking (weir_chunk_stream): the chunks of a document fed in
 * pieces of any size, cut anywhere (inside UTF-8 characters too), equal
 * those weir_chunk_spans gives for the whole text, span for span, heading
 * paths included, for every method the stream takes, on a generated
 * corpus with the hard cases (paragraphs and sentences longer than the
 * chunk size, abbreviations, Markdown headings and fences, white-space
 * runs, CJK); a document of 48 MiB fed in 64 KiB pieces gives the same
 * chunks while the stream never holds more than 1 MiB of it; invalid
 * UTF-8 is reported at its document offset (token windows are checked in
 * test_text_chunk_stream_tokens). The weir_chunk_files source over a
 * folder (a 24 MiB file, the same file zstd-compressed, an empty one, one
 * not UTF-8) in a pipeline whose budget is 4 MiB gives the in-memory
 * chunks of each file, by paragraphs and by token windows. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-chunk-stream"); }
TestSuite(text_chunk_stream, .init = make_tmp, .fini = tmpdir_remove, .timeout = 600);

static uint64_t rs;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rs >> 33) % n);
}

static const char *const words[] = {
    "river", "Stone", "light", "café", "naïve", "e\xcc\x81t\xc3\xa9", "日本語", "中文字", "😀",
    "👩‍💻", "Москва", "straße", "3.14", "e.g.", "U.S.", "Mr.", "Dr.", "J.", "x", "ελληνικά",
    "données", "\xc2\xa0", "word", "a", "#tag", "etc.", "p.m.", "i.e."};
static const char *const puncts[] = {".", "!", "?", "…", "。", "！", "?\"", ".)", ",", ". "};
static const char *const gaps[] = {" ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\n \n\n",
                                   "\t", "\xe3\x80\x80", " \r\n\r\n ", "     "};

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

/* One document of `nwords` pieces: words with punctuation and gaps, now and
 * then a Markdown heading or fence, a run without any sentence end, or a
 * long paragraph without blank lines (gaps from the first 5 only). */
static void gen(text *t, size_t nwords) {
  int flat = rnd(3) == 0; /* no blank lines at all */
  for (size_t k = 0; k < nwords; k++) {
    char piece[160];
    int len;
    uint32_t r = rnd(60);
    if (r == 0)
      len = snprintf(piece, sizeof piece, "\n%.*s %s\n", (int)(1 + rnd(6)), "######",
                     words[rnd(sizeof words / sizeof *words)]);
    else if (r == 1)
      len = snprintf(piece, sizeof piece, "\n```\n# code %zu\n```\n", k);
    else if (r == 2)
      len = snprintf(piece, sizeof piece, "\n~~~~\n## not a heading\n~~~\n~~~~\n");
    else
      len = snprintf(piece, sizeof piece, "%s%s%s", words[rnd(sizeof words / sizeof *words)],
                     rnd(5) == 0 ? puncts[rnd(sizeof puncts / sizeof *puncts)] : "",
                     gaps[rnd(flat ? 5 : sizeof gaps / sizeof *gaps)]);
    put(t, piece, (size_t)len);
  }
}

typedef struct collected {
  weir_chunk_span *v;
  size_t n, cap;
  text paths;          /* each chunk's path, NUL-separated */
  size_t max_held;
} collected;

/* Feeds s[0..len) in pieces (sizes from `pick`), collecting the chunks and
 * checking each chunk's bytes are the document's. */
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
      put(&c->paths, weir_chunk_stream_paths(cs) + v[i].path_start, v[i].path_len);
      put(&c->paths, "", 1);
    }
    pos += k;
    if (last)
      break;
  }
  c->max_held = weir_chunk_stream_max_held(cs);
  weir_chunk_stream_destroy(cs);
  return rc;
}

static void collected_free(collected *c) {
  free(c->v);
  free(c->paths.s);
  memset(c, 0, sizeof *c);
}

/* The stream's chunks equal weir_chunk_spans' on the whole text. */
static void check_equal(const weir_chunk_options *o, const char *s, size_t len,
                        size_t (*pick)(void), const char *what) {
  weir_chunk_span *want;
  size_t nw;
  char *paths = NULL;
  cr_assert_eq(weir_chunk_spans(o, s, len, &want, &nw, &paths), WEIR_OK, "%s",
               weir_last_errmsg());
  collected c = {0};
  cr_assert_eq(stream_all(o, s, len, pick, &c), WEIR_OK, "%s: %s", what, weir_last_errmsg());
  size_t pp = 0;
  for (size_t i = 0; i < nw && i < c.n; i++) {
    cr_assert(c.v[i].start == want[i].start && c.v[i].end == want[i].end,
              "%s (method %d, size %zu): chunk %zu is [%zu, %zu), in memory [%zu, %zu) "
              "\"%.*s\"", what, o->method, o->chunk_size, i, c.v[i].start, c.v[i].end,
              want[i].start, want[i].end, (int)(want[i].end - want[i].start),
              s + want[i].start);
    if (o->method == WEIR_CHUNK_MARKDOWN) {
      size_t pl = strlen(c.paths.s + pp);
      cr_assert(pl == want[i].path_len &&
                    memcmp(c.paths.s + pp, paths + want[i].path_start, pl) == 0,
                "%s: chunk %zu path \"%s\", in memory \"%.*s\"", what, i, c.paths.s + pp,
                (int)want[i].path_len, paths + want[i].path_start);
      pp += pl + 1;
    }
  }
  cr_assert_eq(c.n, nw, "%s (method %d, size %zu): %zu chunks streamed, %zu in memory", what,
               o->method, o->chunk_size, c.n, nw);
  collected_free(&c);
  weir_free(want);
  weir_free(paths);
}

static size_t pick_max = 1;
static size_t pick_random(void) { return 1 + rnd((uint32_t)pick_max); }
static size_t pick_64k(void) { return 64 << 10; }

Test(text_chunk_stream, equals_in_memory_chunks_on_random_pieces) {
  rs = 2026;
  const int methods[] = {WEIR_CHUNK_PARAGRAPHS, WEIR_CHUNK_SENTENCES, WEIR_CHUNK_CHARS,
                         WEIR_CHUNK_MARKDOWN};
  const size_t sizes[] = {1, 7, 64, 500};
  const size_t pieces[] = {1, 5, 300, 100000};
  for (int d = 0; d < 160; d++) {
    text t = {0};
    put(&t, "", 0);
    gen(&t, d % 40 == 0 ? 0 : rnd(d % 5 == 0 ? 3000 : 400));
    for (size_t m = 0; m < sizeof methods / sizeof *methods; m++)
      for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
        o.method = methods[m];
        o.chunk_size = sizes[z];
        o.overlap = methods[m] == WEIR_CHUNK_CHARS ? (long)(sizes[z] / 3) : 0;
        pick_max = pieces[(size_t)d % 4];
        char what[64];
        snprintf(what, sizeof what, "document %d, pieces up to %zu", d, pick_max);
        check_equal(&o, t.s, t.n, pick_random, what);
      }
    free(t.s);
  }
}

/* A document of 48 MiB (far more than the pipeline budgets of the tests,
 * and than the stream may hold) in 64 KiB pieces: the chunks of the whole
 * text, the stream holding at most 1 MiB of it. */
Test(text_chunk_stream, a_large_document_is_held_in_pieces) {
  rs = 7;
  text t = {0};
  put(&t, "", 0);
  while (t.n < (48u << 20)) {
    gen(&t, 2000);
    /* A paragraph of 200 KiB without a blank line and a sentence of 100 KiB
     * without an end: both longer than the chunk size and than a piece. */
    if (rnd(20) == 0)
      for (int k = 0; k < 20000; k++)
        put(&t, k % 7 == 6 ? "Ends here. " : "word ", k % 7 == 6 ? 11 : 5);
    if (rnd(20) == 0)
      for (int k = 0; k < 20000; k++)
        put(&t, "words ", 6);
  }
  const int methods[] = {WEIR_CHUNK_PARAGRAPHS, WEIR_CHUNK_SENTENCES, WEIR_CHUNK_CHARS,
                         WEIR_CHUNK_MARKDOWN};
  for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
    weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
    o.method = methods[m];
    o.chunk_size = 2000;
    o.overlap = methods[m] == WEIR_CHUNK_CHARS ? 200 : 0;
    check_equal(&o, t.s, t.n, pick_64k, "48 MiB document");
    collected c = {0};
    cr_assert_eq(stream_all(&o, t.s, t.n, pick_64k, &c), WEIR_OK);
    cr_assert_leq(c.max_held, (size_t)1 << 20, "method %d: the stream held %zu bytes",
                  methods[m], c.max_held);
    cr_assert_gt(c.n, 1000);
    collected_free(&c);
  }
  free(t.s);
}

Test(text_chunk_stream, invalid_utf8_and_refused_options) {
  weir_chunk_stream *cs;
  const weir_chunk_span *v;
  size_t n;
  cr_assert_eq(weir_chunk_stream_create(NULL, &cs), WEIR_OK);
  /* A character cut between two pieces is fine... */
  cr_assert_eq(weir_chunk_stream_feed(cs, "Hello. caf\xc3", 11, 0, &v, &n), WEIR_OK);
  cr_assert_eq(weir_chunk_stream_feed(cs, "\xa9 ok.\n\nNext", 11, 0, &v, &n), WEIR_OK);
  /* ...a bad byte is reported at its offset in the document. */
  cr_assert_eq(weir_chunk_stream_feed(cs, " x\xff", 3, 0, &v, &n), WEIR_EFORMAT);
  cr_assert_not_null(strstr(weir_last_errmsg(), "byte 24"), "%s", weir_last_errmsg());
  cr_assert_eq(weir_chunk_stream_feed(cs, "a", 1, 1, &v, &n), WEIR_EINVAL);
  weir_chunk_stream_destroy(cs);
  /* A text that ends inside a character. */
  cr_assert_eq(weir_chunk_stream_create(NULL, &cs), WEIR_OK);
  cr_assert_eq(weir_chunk_stream_feed(cs, "abc\xe6\x97", 5, 1, &v, &n), WEIR_EFORMAT);
  weir_chunk_stream_destroy(cs);
  /* Feeding after the last piece. */
  cr_assert_eq(weir_chunk_stream_create(NULL, &cs), WEIR_OK);
  cr_assert_eq(weir_chunk_stream_feed(cs, "One.", 4, 1, &v, &n), WEIR_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(weir_chunk_stream_feed(cs, "x", 1, 0, &v, &n), WEIR_EINVAL);
  weir_chunk_stream_destroy(cs);
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_TOKENS;
  weir_tokenizer *none = NULL;
  o.tokenizer = none;
  cr_assert_eq(weir_chunk_stream_create(&o, &cs), WEIR_EINVAL); /* no tokenizer */
  o.method = WEIR_CHUNK_SENTENCES;
  o.overlap = 3;
  cr_assert_eq(weir_chunk_stream_create(&o, &cs), WEIR_EINVAL);
  cr_assert_null(cs);
}

/* The chunks of one file as the pipeline gave them. */
typedef struct doc_rows {
  weir_chunk_span *v;
  size_t n, cap;
} doc_rows;

static void add_row(doc_rows *d, size_t idx, size_t a, size_t b) {
  if (idx >= d->cap) {
    size_t nc = d->cap ? d->cap : 1024;
    while (nc <= idx)
      nc *= 2;
    d->v = realloc(d->v, nc * sizeof *d->v);
    memset(d->v + d->cap, 0xff, (nc - d->cap) * sizeof *d->v);
    d->cap = nc;
  }
  cr_assert_eq(d->v[idx].start, (size_t)-1, "chunk_index %zu twice", idx);
  d->v[idx] = (weir_chunk_span){a, b, 0, 0};
  if (idx + 1 > d->n)
    d->n = idx + 1;
}

Test(text_chunk_stream, chunk_files_reads_each_file_in_pieces) {
  rs = 11;
  text t = {0};
  put(&t, "", 0);
  while (t.n < (24u << 20))
    gen(&t, 3000);
  cr_assert_eq(mkdir(path_of("docs"), 0777), 0);
  FILE *f = fopen(path_of("docs/big.txt"), "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(t.s, 1, t.n, f), t.n);
  fclose(f);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "zstd -q -c '%s' > '%s'", path_of("docs/big.txt"),
           path_of("docs/big.txt.zst"));
  cr_assert_eq(system(cmd), 0, "zstd failed (is it installed?)");
  f = fopen(path_of("docs/empty.txt"), "wb");
  fclose(f);

  /* A tokenizer of bytes (a tiktoken rank file of the 256 bytes, cl100k's
   * split pattern), for token windows. */
  f = fopen(path_of("bytes.tiktoken"), "w");
  cr_assert_not_null(f);
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 256; i++)
    fprintf(f, "%c%c== %d\n", b64[i >> 2], b64[(i & 3) << 4], i);
  fclose(f);
  weir_tokenizer *tok;
  cr_assert_eq(weir_tokenizer_load(path_of("bytes.tiktoken"), &tok), WEIR_OK, "%s",
               weir_last_errmsg());

  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 4u << 20;
  weir_pipeline *p;
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  weir_op *src;
  int rc;
  for (int method = 0; method < 2; method++) {
  o = (weir_chunk_options)WEIR_CHUNK_OPTIONS_INIT;
  o.chunk_size = 1500;
  if (method) {
    o.method = WEIR_CHUNK_TOKENS;
    o.tokenizer = tok;
    o.chunk_size = 0; /* 128 tokens, 30 shared */
  }
  weir_chunk_span *want;
  size_t nw;
  cr_assert_eq(weir_chunk_spans(&o, t.s, t.n, &want, &nw, NULL), WEIR_OK);
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  src = weir_chunk_files(p, path_of("docs"), NULL, &o);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  doc_rows plain = {0}, zst = {0};
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column ch, ci, id, st, en;
    weir_block_column(b, (size_t)weir_block_column_index(b, "chunk"), &ch);
    weir_block_column(b, (size_t)weir_block_column_index(b, "chunk_index"), &ci);
    weir_block_column(b, (size_t)weir_block_column_index(b, "doc_id"), &id);
    weir_block_column(b, (size_t)weir_block_column_index(b, "start"), &st);
    weir_block_column(b, (size_t)weir_block_column_index(b, "end"), &en);
    cr_assert_eq(id.type, WEIR_TYPE_STRING);
    for (size_t r = 0; r < ch.length; r++) {
      size_t a = (size_t)((const int64_t *)st.data)[r], e = (size_t)((const int64_t *)en.data)[r];
      size_t cl = (size_t)(ch.offsets[r + 1] - ch.offsets[r]);
      cr_assert(e <= t.n && cl == e - a &&
                    memcmp((const char *)ch.data + ch.offsets[r], t.s + a, cl) == 0,
                "chunk [%zu, %zu) is not the file's bytes", a, e);
      const char *path = (const char *)id.data + id.offsets[r];
      size_t pl = (size_t)(id.offsets[r + 1] - id.offsets[r]);
      int is_zst = pl > 4 && memcmp(path + pl - 4, ".zst", 4) == 0;
      cr_assert(is_zst || (pl > 7 && memcmp(path + pl - 7, "big.txt", 7) == 0), "doc_id %.*s",
                (int)pl, path);
      add_row(is_zst ? &zst : &plain, (size_t)((const int64_t *)ci.data)[r], a, e);
    }
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  doc_rows *docs[] = {&plain, &zst};
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(docs[k]->n, nw, "%s: %zu chunks, in memory %zu", k ? "zst" : "plain",
                 docs[k]->n, nw);
    for (size_t i = 0; i < nw; i++)
      cr_assert(docs[k]->v[i].start == want[i].start && docs[k]->v[i].end == want[i].end,
                "chunk %zu differs from the in-memory one", i);
    free(docs[k]->v);
  }
  uint64_t v = 0;
  cr_assert_eq(weir_pipeline_op_counter(p, 0, "docs", &v), WEIR_OK);
  cr_assert_eq(v, 3);
  cr_assert_eq(weir_pipeline_op_counter(p, 0, "dropped:empty_document", &v), WEIR_OK);
  cr_assert_eq(v, 1);
  cr_assert_eq(weir_pipeline_op_counter(p, 0, "chunks", &v), WEIR_OK);
  cr_assert_eq(v, 2 * nw);
  weir_pipeline_destroy(p);
  weir_free(want);
  }
  o = (weir_chunk_options)WEIR_CHUNK_OPTIONS_INIT;
  o.chunk_size = 1500;

  /* A file that is not UTF-8 ends the run naming it and the offset; with
   * on_error skip the rest of it is skipped and counted. */
  f = fopen(path_of("docs/bad.txt"), "wb");
  fputs("Fine text here.\n\nThen a bad byte: \xff here.", f);
  fclose(f);
  for (int skip = 0; skip < 2; skip++) {
    cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
    weir_chunk_options ob = o;
    ob.common.on_error = skip ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
    src = weir_chunk_files(p, path_of("docs/bad.txt"), NULL, &ob);
    cr_assert_not_null(src);
    rc = weir_pipeline_run(p, src);
    if (skip) {
      cr_assert_eq(rc, WEIR_OK, "%s", weir_pipeline_errmsg(p));
    } else {
      cr_assert_eq(rc, WEIR_EFORMAT);
      cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "bad.txt"), "%s", weir_pipeline_errmsg(p));
      cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "byte 34"), "%s", weir_pipeline_errmsg(p));
    }
    weir_pipeline_destroy(p);
  }
  /* Token windows need a tokenizer. */
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_chunk_options ot = WEIR_CHUNK_OPTIONS_INIT;
  ot.method = WEIR_CHUNK_TOKENS;
  cr_assert_null(weir_chunk_files(p, path_of("docs"), NULL, &ot));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);
  weir_tokenizer_free(tok);
  free(t.s);
}
