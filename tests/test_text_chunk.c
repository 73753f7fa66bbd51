/* RAG chunking: exact chunks of hand-made documents per method; on a
 * generated multilingual corpus (emoji, CJK, combining marks, blank-line
 * runs, \r\n), the properties every chunk must have (its bytes are the
 * source's [start, end), sizes within the limit, cuts on characters, only
 * white space between packed chunks, character chunks spaced exactly by
 * chunk_size - overlap code points, counted here); the operator against
 * weir_chunk_spans with 1 and 4 workers upstream, ordinals in input order,
 * doc ids from a column, empty documents counted, bad input. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

#include "core/block_internal.h"

TestSuite(text_chunk, .timeout = 300);

/* ---- Helpers ---------------------------------------------------------------- */

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static size_t cps(const char *s, size_t a, size_t b) {
  size_t n = 0;
  for (size_t i = a; i < b; i++)
    n += !is_cont((unsigned char)s[i]);
  return n;
}

/* White space as Python's str.isspace() for the characters the corpus
 * uses (ASCII, NBSP, ideographic space). */
static size_t space_len(const char *s, size_t i, size_t end) {
  unsigned char c = (unsigned char)s[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
    return 1;
  if (i + 1 < end && c == 0xC2 && (unsigned char)s[i + 1] == 0xA0)
    return 2;
  if (i + 2 < end && c == 0xE3 && (unsigned char)s[i + 1] == 0x80 &&
      (unsigned char)s[i + 2] == 0x80)
    return 3;
  return 0;
}
static int all_space(const char *s, size_t a, size_t b) {
  while (a < b) {
    size_t k = space_len(s, a, b);
    if (!k)
      return 0;
    a += k;
  }
  return 1;
}

typedef struct got {
  weir_chunk_span *v;
  size_t n;
  char *paths;
} got;

static got spans_of(const weir_chunk_options *o, const char *s) {
  got g = {0};
  int rc = weir_chunk_spans(o, s, strlen(s), &g.v, &g.n, &g.paths);
  cr_assert_eq(rc, WEIR_OK, "weir_chunk_spans: %d", rc);
  return g;
}
static void got_free(got *g) {
  weir_free(g->v);
  weir_free(g->paths);
}

/* Asserts the chunks of `s` are exactly want[0..] (NULL-terminated), and
 * with `paths` their heading paths. */
static void expect(const weir_chunk_options *o, const char *s, const char *const *want,
                   const char *const *paths) {
  got g = spans_of(o, s);
  size_t n = 0;
  while (want[n])
    n++;
  for (size_t i = 0; i < g.n && i < n; i++) {
    size_t len = g.v[i].end - g.v[i].start;
    cr_assert(len == strlen(want[i]) && memcmp(s + g.v[i].start, want[i], len) == 0,
              "chunk %zu is \"%.*s\", expected \"%s\"", i, (int)len, s + g.v[i].start, want[i]);
    if (paths) {
      size_t pl = g.v[i].path_len;
      cr_assert(pl == strlen(paths[i]) && memcmp(g.paths + g.v[i].path_start, paths[i], pl) == 0,
                "chunk %zu path \"%.*s\", expected \"%s\"", i, (int)pl,
                g.paths + g.v[i].path_start, paths[i]);
    }
  }
  cr_assert_eq(g.n, n, "%zu chunks, expected %zu", g.n, n);
  got_free(&g);
}

/* ---- Exact chunks of hand-made documents ------------------------------------ */

Test(text_chunk, sentences_exact) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_SENTENCES;
  o.chunk_size = 35;
  const char *s = "  Hello world. This is e.g. a test! Is it?  \"Yes,\" she said… "
                  "你好。再见！Pi is 3.14 here.\n\nNew para without end";
  const char *want[] = {"Hello world. This is e.g. a test!",
                        "Is it?  \"Yes,\" she said… 你好。再见！", "Pi is 3.14 here.",
                        "New para without end", NULL};
  expect(&o, s, want, NULL);
  /* A sentence longer than the limit is cut into runs of code points,
   * trimmed, and packed like the other pieces. */
  o.chunk_size = 6;
  const char *s2 = "Ab cdefgh ijk. Ok.";
  const char *want2[] = {"Ab cde", "fgh ij", "k. Ok.", NULL};
  expect(&o, s2, want2, NULL);
}

/* Abbreviations, initials and dotted shorthands do not end a sentence;
 * the chunk size keeps every sentence apart, so a wrong cut shows. */
Test(text_chunk, sentences_keep_abbreviations) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_SENTENCES;
  o.chunk_size = 35;
  const char *s = "It was a fine day. Mr. Smith met Dr. Jones at noon. They spoke e.g. German "
                  "and Dutch. J. R. R. Tolkien wrote the books. The U.S. Army came in the "
                  "night. (Prof. Li agreed, i.e. Ann did.) She left at 5 p.m. today.";
  const char *want[] = {"It was a fine day.", "Mr. Smith met Dr. Jones at noon.",
                        "They spoke e.g. German and Dutch.", "J. R. R. Tolkien wrote the books.",
                        "The U.S. Army came in the night.", "(Prof. Li agreed, i.e. Ann did.)",
                        "She left at 5 p.m. today.", NULL};
  expect(&o, s, want, NULL);
  /* Words that only look like them still end sentences: a lowercase
   * single letter, a long word, a number, "etc". */
  o.chunk_size = 12;
  const char *s2 = "Plan b. Next. Elsewhere. Up 3.5. Go on etc. Done.";
  const char *want2[] = {"Plan b.", "Next.", "Elsewhere.", "Up 3.5.", "Go on etc.", "Done.", NULL};
  expect(&o, s2, want2, NULL);
}

Test(text_chunk, paragraphs_exact) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.chunk_size = 30;
  const char *s = "First para,\nsecond line.\r\n \r\nTiny.\n\n\n\nAlso tiny.\n\n"
                  "A long paragraph. It has two sentences that are long.\n\nEnd.";
  const char *want[] = {"First para,\nsecond line.", "Tiny.\n\n\n\nAlso tiny.",
                        "A long paragraph.", "It has two sentences that are", "long.\n\nEnd.",
                        NULL};
  expect(&o, s, want, NULL);
  /* NULL options: paragraphs up to 1000 code points, so all of it. */
  got g = spans_of(NULL, s);
  cr_assert_eq(g.n, 1);
  cr_assert_eq(g.v[0].start, 0);
  cr_assert_eq(g.v[0].end, strlen(s));
  got_free(&g);
}

Test(text_chunk, markdown_exact) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_MARKDOWN;
  o.chunk_size = 80;
  const char *s = "Intro text.\n"
                  "# Guide #\n"
                  "Welcome.\n"
                  "## Install\n"
                  "```sh\n"
                  "# not a heading\n"
                  "```\n"
                  "### Linux\n"
                  "apt-get it.\n"
                  "    # indented code, not a heading\n"
                  "#hashtag is text\n"
                  "## Use\n"
                  "First paragraph of use.\n\nSecond paragraph of the use section, which is long.\n"
                  "# Other\n";
  const char *want[] = {"Intro text.",
                        "# Guide #\nWelcome.",
                        "## Install\n```sh\n# not a heading\n```",
                        "### Linux\napt-get it.\n    # indented code, not a heading\n#hashtag is text",
                        "## Use\nFirst paragraph of use.",
                        "Second paragraph of the use section, which is long.",
                        "# Other",
                        NULL};
  const char *paths[] = {"", "Guide", "Guide > Install", "Guide > Install > Linux",
                         "Guide > Use", "Guide > Use", "Other"};
  expect(&o, s, want, paths);
}

Test(text_chunk, chars_exact) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_CHARS;
  o.chunk_size = 4;
  o.overlap = 1;
  const char *s = "aé中😀bcd e";
  const char *want[] = {"aé中😀", "😀bcd", "d e", NULL};
  expect(&o, s, want, NULL);
  o.overlap = 0;
  const char *want0[] = {"aé中😀", "bcd ", "e", NULL};
  expect(&o, s, want0, NULL);
}

Test(text_chunk, empty_and_white_space_documents) {
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  for (int m = WEIR_CHUNK_PARAGRAPHS; m <= WEIR_CHUNK_MARKDOWN; m++) {
    o.method = m;
    got g = spans_of(&o, "");
    cr_assert_eq(g.n, 0, "method %d: %zu chunks of an empty document", m, g.n);
    got_free(&g);
    g = spans_of(&o, " \n\n \t ");
    cr_assert_eq(g.n, m == WEIR_CHUNK_CHARS ? 1 : 0, "method %d", m);
    got_free(&g);
  }
}

Test(text_chunk, bad_options_and_text) {
  weir_chunk_span *v;
  size_t n;
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_CHARS;
  o.chunk_size = 10;
  o.overlap = 10;
  cr_assert_eq(weir_chunk_spans(&o, "abc", 3, &v, &n, NULL), WEIR_EINVAL);
  cr_assert_not_null(strstr(weir_last_errmsg(), "overlap 10"), "%s", weir_last_errmsg());
  o.method = WEIR_CHUNK_SENTENCES;
  o.overlap = 2;
  cr_assert_eq(weir_chunk_spans(&o, "abc", 3, &v, &n, NULL), WEIR_EINVAL);
  o.method = 42;
  o.overlap = -1;
  cr_assert_eq(weir_chunk_spans(&o, "abc", 3, &v, &n, NULL), WEIR_EINVAL);
  cr_assert_not_null(strstr(weir_last_errmsg(), "method 42"));
  cr_assert_eq(weir_chunk_spans(NULL, "a\xff", 2, &v, &n, NULL), WEIR_EFORMAT);
}

/* ---- Properties on a generated corpus ------------------------------------------ */

static uint64_t rs;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rs >> 33) % n);
}

static const char *const words[] = {
    "river", "Stone", "light", "café", "naïve", "e\xcc\x81t\xc3\xa9", /* combining acute */
    "日本語", "中文字", "😀", "👩‍💻", "Москва", "straße", "3.14", "e.g.", "U.S.", "x",
    "ελληνικά", "עברית", "données", "\xc2\xa0", "word", "a", "#tag",
};
static const char *const puncts[] = {".", "!", "?", "…", "。", "！", "?\"", ".)", ","};
static const char *const gaps[] = {" ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\n \n\n",
                                   "\t", "\xe3\x80\x80", " \r\n\r\n "};

#define NDOCS 600

static char *gen_doc(size_t i) {
  size_t cap = 64, n = 0;
  char *s = malloc(cap);
  s[0] = 0;
  size_t nwords = i % 50 == 7 ? 0 : rnd(i % 9 == 0 ? 2500 : 300);
  for (size_t k = 0; k < nwords; k++) {
    char piece[128];
    int len = 0;
    if (rnd(25) == 0)
      len = snprintf(piece, sizeof piece, "\n%.*s %s\n", (int)(1 + rnd(4)), "####",
                     words[rnd(sizeof words / sizeof *words)]);
    else if (rnd(40) == 0)
      len = snprintf(piece, sizeof piece, "\n```\n# code %zu\n```\n", k);
    else
      len = snprintf(piece, sizeof piece, "%s%s%s", words[rnd(sizeof words / sizeof *words)],
                     rnd(6) == 0 ? puncts[rnd(sizeof puncts / sizeof *puncts)] : "",
                     gaps[rnd(sizeof gaps / sizeof *gaps)]);
    while (n + (size_t)len + 1 > cap)
      s = realloc(s, cap *= 2);
    memcpy(s + n, piece, (size_t)len);
    n += (size_t)len;
    s[n] = 0;
  }
  return s;
}

static char **corpus;
static void gen_corpus(void) {
  if (corpus)
    return;
  rs = 99;
  corpus = calloc(NDOCS, sizeof *corpus);
  for (size_t i = 0; i < NDOCS; i++)
    corpus[i] = gen_doc(i);
}

static void check_properties(const weir_chunk_options *o, const char *s) {
  size_t len = strlen(s);
  got g = spans_of(o, s);
  size_t size = o->chunk_size;
  size_t prev_end = 0;
  for (size_t i = 0; i < g.n; i++) {
    weir_chunk_span sp = g.v[i];
    cr_assert_leq(sp.start, sp.end);
    cr_assert_leq(sp.end, len);
    cr_assert_lt(sp.start, sp.end, "empty chunk %zu", i);
    cr_assert(sp.start == len || !is_cont((unsigned char)s[sp.start]), "chunk %zu cuts a char", i);
    cr_assert(sp.end == len || !is_cont((unsigned char)s[sp.end]), "chunk %zu cuts a char", i);
    size_t n = cps(s, sp.start, sp.end);
    cr_assert_leq(n, size, "chunk %zu has %zu code points (limit %zu)", i, n, size);
    if (o->method == WEIR_CHUNK_CHARS) {
      /* Chunk i starts at code point i * (size - overlap). */
      size_t want_start_cp = i * (size - (size_t)o->overlap);
      cr_assert_eq(cps(s, 0, sp.start), want_start_cp, "chunk %zu starts at code point %zu", i,
                   cps(s, 0, sp.start));
      cr_assert(n == size || sp.end == len, "chunk %zu short (%zu) before the end", i, n);
      continue;
    }
    /* Packed methods: trimmed, only white space between chunks. */
    cr_assert_eq(space_len(s, sp.start, sp.end), 0, "chunk %zu starts with white space", i);
    size_t k = sp.end - 1; /* the last character's first byte */
    while (k > sp.start && is_cont((unsigned char)s[k]))
      k--;
    cr_assert_eq(space_len(s, k, sp.end), 0, "chunk %zu ends with white space", i);
    cr_assert_geq(sp.start, prev_end, "chunk %zu overlaps the one before", i);
    cr_assert(all_space(s, prev_end, sp.start), "text between chunks %zu and %zu is lost: "
              "\"%.*s\"", i ? i - 1 : 0, i, (int)(sp.start - prev_end), s + prev_end);
    prev_end = sp.end;
  }
  if (o->method == WEIR_CHUNK_CHARS) {
    size_t total = cps(s, 0, len);
    size_t step = size - (size_t)o->overlap;
    size_t want = total == 0 ? 0 : total <= size ? 1 : 1 + (total - size + step - 1) / step;
    cr_assert_eq(g.n, want, "%zu chunks of %zu code points, expected %zu", g.n, total, want);
    if (g.n)
      cr_assert_eq(g.v[g.n - 1].end, len);
  } else {
    cr_assert(all_space(s, prev_end, len), "text after the last chunk is lost");
  }
  got_free(&g);
}

Test(text_chunk, properties_on_a_multilingual_corpus) {
  gen_corpus();
  const size_t sizes[] = {1, 7, 64, 500, 4000};
  for (int m = WEIR_CHUNK_PARAGRAPHS; m <= WEIR_CHUNK_MARKDOWN; m++)
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
      weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
      o.method = m;
      o.chunk_size = sizes[z];
      o.overlap = m == WEIR_CHUNK_CHARS ? (long)(sizes[z] / 3) : 0;
      for (size_t i = 0; i < NDOCS; i += (sizes[z] == 1 ? 7 : 1))
        check_properties(&o, corpus[i]);
    }
}

/* ---- The operator --------------------------------------------------------------- */

#define NTASKS 6

typedef struct src_cfg {
  int doc_id_kind;     /* 0 none, 1 INT32 "doc_id", 2 STRING "doc_id" */
} src_cfg;

static int read_task(void *user, size_t task, weir_emit *out) {
  src_cfg *sc = user;
  size_t per = NDOCS / NTASKS, lo = task * per, hi = task + 1 == NTASKS ? NDOCS : lo + per;
  for (size_t s = lo; s < hi; s += 17) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    weir_builder_add_column(b, "url", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
    int kind = sc ? sc->doc_id_kind : 0;
    if (kind)
      weir_builder_add_column(b, "doc_id", kind == 1 ? WEIR_TYPE_INT32 : WEIR_TYPE_STRING);
    for (size_t d = s; d < hi && d < s + 17; d++) {
      char url[64];
      int n = snprintf(url, sizeof url, "http://x/%zu", d);
      weir_builder_append_string(b, 0, url, (size_t)n);
      weir_builder_append_string(b, 1, corpus[d], strlen(corpus[d]));
      weir_builder_append_int64(b, 2, (int64_t)d);
      if (kind == 1)
        weir_builder_append_int64(b, 3, (int64_t)(d * 3 + 1));
      else if (kind == 2)
        weir_builder_append_string(b, 3, url + 7, (size_t)n - 7);
    }
    weir_block *blk;
    cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
    weir_builder_destroy(b);
    int rc = weir_emit_block(out, blk);
    if (rc)
      return rc;
  }
  return WEIR_OK;
}

static int jitter(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  unsigned seed = (unsigned)(uintptr_t)in ^ (unsigned)clock();
  struct timespec ts = {0, (long)(rand_r(&seed) % 2000) * 1000};
  nanosleep(&ts, NULL);
  return weir_emit_block(out, weir_block_ref(in));
}

static int64_t i64_at(const weir_block *b, const char *name, size_t row) {
  int ci = weir_block_column_index(b, name);
  cr_assert_geq(ci, 0, "no column %s", name);
  weir_column c;
  weir_block_column(b, (size_t)ci, &c);
  cr_assert_eq(c.type, WEIR_TYPE_INT64, "%s is %s", name, weir_type_name(c.type));
  return ((const int64_t *)c.data)[row];
}
static const char *str_at(const weir_block *b, const char *name, size_t row, size_t *len) {
  int ci = weir_block_column_index(b, name);
  cr_assert_geq(ci, 0, "no column %s", name);
  weir_column c;
  weir_block_column(b, (size_t)ci, &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING, "%s is %s", name, weir_type_name(c.type));
  *len = (size_t)(c.offsets[row + 1] - c.offsets[row]);
  return (const char *)c.data + c.offsets[row];
}

/* Runs the corpus through chunk_text and checks every output row against
 * weir_chunk_spans of its document, in input order. */
static void run_and_check(int workers, const weir_chunk_options *o, src_cfg *sc) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", NTASKS, read_task, sc, NULL);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = workers;
  weir_op *mid = weir_map_batches(p, src, "jitter", jitter, NULL, &oo);
  weir_op *ck = weir_chunk_text(p, mid, o);
  cr_assert_not_null(ck, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, ck, NULL, &it), WEIR_OK);
  int markdown = o && o->method == WEIR_CHUNK_MARKDOWN;
  int kind = sc ? sc->doc_id_kind : 0;
  size_t doc = 0, k = 0, nchunks = 0, blocks = 0, empty = 0;
  got g = {0};
  /* Advances `doc` past documents without chunks, loading the spans. */
#define NEXT_DOC()                                                                    \
  do {                                                                                \
    got_free(&g);                                                                     \
    memset(&g, 0, sizeof g);                                                          \
    if (doc < NDOCS)                                                                  \
      g = spans_of(o, corpus[doc]);                                                   \
    k = 0;                                                                            \
  } while (0)
  NEXT_DOC();
  while (doc < NDOCS && g.n == 0) {
    empty++;
    doc++;
    NEXT_DOC();
  }
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    blocks++;
    size_t n = weir_block_num_rows(b);
    cr_assert_eq(weir_block_column_index(b, "text"), WEIR_ENOTFOUND);
    cr_assert_eq(weir_block_column_index(b, "heading_path") >= 0, markdown);
    for (size_t r = 0; r < n; r++) {
      cr_assert_lt(doc, NDOCS, "more chunks than expected");
      cr_assert_eq(i64_at(b, "i", r), (int64_t)doc, "chunk row of document %lld, expected %zu",
                   (long long)i64_at(b, "i", r), doc);
      size_t ul;
      const char *url = str_at(b, "url", r, &ul);
      char want_url[64];
      snprintf(want_url, sizeof want_url, "http://x/%zu", doc);
      cr_assert(ul == strlen(want_url) && memcmp(url, want_url, ul) == 0);
      if (kind == 2) {
        size_t il;
        const char *id = str_at(b, "doc_id", r, &il);
        cr_assert(il == strlen(want_url) - 7 && memcmp(id, want_url + 7, il) == 0);
      } else {
        cr_assert_eq(i64_at(b, "doc_id", r), kind == 1 ? (int64_t)(doc * 3 + 1) : (int64_t)doc);
      }
      cr_assert_eq(i64_at(b, "chunk_index", r), (int64_t)k);
      int64_t st = i64_at(b, "start", r), en = i64_at(b, "end", r);
      cr_assert_eq((size_t)st, g.v[k].start, "doc %zu chunk %zu", doc, k);
      cr_assert_eq((size_t)en, g.v[k].end, "doc %zu chunk %zu", doc, k);
      size_t cl;
      const char *chunk = str_at(b, "chunk", r, &cl);
      cr_assert(cl == (size_t)(en - st) && memcmp(chunk, corpus[doc] + st, cl) == 0,
                "doc %zu chunk %zu is not the source's bytes [%lld, %lld)", doc, k,
                (long long)st, (long long)en);
      if (markdown) {
        size_t pl;
        const char *path = str_at(b, "heading_path", r, &pl);
        cr_assert(pl == g.v[k].path_len && memcmp(path, g.paths + g.v[k].path_start, pl) == 0);
      }
      nchunks++;
      if (++k == g.n) {
        doc++;
        NEXT_DOC();
        while (doc < NDOCS && g.n == 0) {
          empty++;
          doc++;
          NEXT_DOC();
        }
      }
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(doc, NDOCS, "chunks stopped at document %zu", doc);
  got_free(&g);
  /* Operator 3 is the chunker (after its numbering step, 2). */
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 3, &st), WEIR_OK);
  cr_assert_str_eq(st.name, "chunk_text");
  cr_assert_eq(st.rows_out, nchunks);
  cr_assert_eq(st.dropped_rows, empty);
  cr_assert_gt(empty, 0, "the corpus has empty documents");
  uint64_t v = 0;
  cr_assert_eq(weir_pipeline_op_counter(p, 3, "dropped:empty_document", &v), WEIR_OK);
  cr_assert_eq(v, empty);
  cr_assert_eq(weir_pipeline_op_counter(p, 3, "chunks", &v), WEIR_OK);
  cr_assert_eq(v, nchunks);
  cr_assert_eq(weir_pipeline_op_counter(p, 3, "docs", &v), WEIR_OK);
  cr_assert_eq(v, NDOCS);
  if (o && o->max_block_bytes)
    cr_assert_gt(blocks, NDOCS / 17 * 2, "max_block_bytes did not split blocks (%zu)", blocks);
  weir_pipeline_destroy(p);
}

Test(text_chunk, operator_matches_spans_with_1_and_4_workers) {
  gen_corpus();
  run_and_check(1, NULL, NULL);
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_MARKDOWN;
  o.chunk_size = 200;
  run_and_check(4, &o, NULL);
  o.method = WEIR_CHUNK_CHARS;
  o.chunk_size = 100;
  o.overlap = 20;
  o.max_block_bytes = 1000; /* many small blocks from one input block */
  run_and_check(4, &o, NULL);
}

Test(text_chunk, doc_id_from_a_column) {
  gen_corpus();
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_SENTENCES;
  o.chunk_size = 300;
  src_cfg sc = {1};
  run_and_check(2, &o, &sc);
  sc.doc_id_kind = 2;
  run_and_check(2, &o, &sc);
}

/* ---- Bad input --------------------------------------------------------------- */

typedef struct bad_src {
  int kind;
} bad_src;

static int bad_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  bad_src *bs = user;
  weir_builder *b;
  weir_builder_create(&b);
  switch (bs->kind) {
  case 0:
    weir_builder_add_column(b, "body", WEIR_TYPE_STRING);
    weir_builder_append_string(b, 0, "x", 1);
    break;
  case 1:
    weir_builder_add_column(b, "text", WEIR_TYPE_INT64);
    weir_builder_append_int64(b, 0, 3);
    break;
  case 2:
  case 3:
    weir_builder_add_column(b, "text", WEIR_TYPE_BINARY);
    weir_builder_append_string(b, 0, "ok", 2);
    weir_builder_append_string(b, 0, "bad \xff", 5);
    weir_builder_append_string(b, 0, "fine", 4);
    break;
  case 4:
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "start", WEIR_TYPE_INT64);
    weir_builder_append_string(b, 0, "x", 1);
    weir_builder_append_int64(b, 1, 0);
    break;
  case 5:
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "doc_id", WEIR_TYPE_FLOAT64);
    weir_builder_append_string(b, 0, "x", 1);
    weir_builder_append_float64(b, 1, 0.5);
    break;
  }
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  if (bs->kind == 2 || bs->kind == 3) {
    /* A STRING column holding invalid UTF-8, as a careless reader might
     * make (the builder refuses it): the fresh block's column retyped. */
    blk->cols[0].type = WEIR_TYPE_STRING;
  }
  return weir_emit_block(out, blk);
}

static weir_pipeline *bad_run(int kind, const weir_chunk_options *o, int want,
                              const char *const *parts) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  bad_src bs = {kind};
  weir_op *src = weir_source(p, "src", 1, bad_read, &bs, NULL);
  weir_op *ck = weir_chunk_text(p, src, o);
  cr_assert_not_null(ck);
  int rc = weir_pipeline_run(p, ck);
  cr_assert_eq(rc, want, "rc %d (%s)", rc, weir_pipeline_errmsg(p));
  for (const char *const *q = parts; q && *q; q++)
    cr_assert_not_null(strstr(weir_pipeline_errmsg(p), *q), "'%s' not in \"%s\"", *q,
                       weir_pipeline_errmsg(p));
  return p;
}

Test(text_chunk, bad_input_names_operator_and_column) {
  const char *missing[] = {"chunk_text", "'text'", NULL};
  weir_pipeline_destroy(bad_run(0, NULL, WEIR_ENOTFOUND, missing));
  const char *type[] = {"chunk_text", "'text'", "int64", "not string", NULL};
  weir_pipeline_destroy(bad_run(1, NULL, WEIR_EINVAL, type));
  const char *collide[] = {"chunk_text", "'start'", "keep_columns", NULL};
  weir_pipeline_destroy(bad_run(4, NULL, WEIR_EINVAL, collide));
  const char *idtype[] = {"chunk_text", "'doc_id'", "float64", NULL};
  weir_pipeline_destroy(bad_run(5, NULL, WEIR_EINVAL, idtype));
  /* keep_columns = 0: no collision, only the chunk columns. */
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.keep_columns = 0;
  weir_pipeline_destroy(bad_run(4, &o, WEIR_OK, NULL));
}

Test(text_chunk, invalid_utf8_fails_or_is_skipped) {
  const char *parts[] = {"chunk_text", "'text'", "row 1", "UTF-8", "byte 4", NULL};
  weir_pipeline *p = bad_run(2, NULL, WEIR_EFORMAT, parts);
  weir_pipeline_destroy(p);
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.common.on_error = WEIR_ON_ERROR_SKIP;
  p = bad_run(3, &o, WEIR_OK, NULL);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 2, &st), WEIR_OK);
  cr_assert_eq(st.skipped_rows, 1);
  cr_assert_eq(st.rows_out, 2);
  weir_pipeline_destroy(p);
}

Test(text_chunk, bad_options_refused_at_construction) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  bad_src bs = {0};
  weir_op *src = weir_source(p, "src", 1, bad_read, &bs, NULL);
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_PARAGRAPHS;
  o.overlap = 5;
  cr_assert_null(weir_chunk_text(p, src, &o));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "weir_chunk_text"));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "overlap 5"));
  o = (weir_chunk_options)WEIR_CHUNK_OPTIONS_INIT;
  o.version = 0;
  cr_assert_null(weir_chunk_text(p, src, &o));
  cr_assert_null(weir_chunk_text(p, NULL, NULL));
  weir_pipeline_destroy(p);
}
