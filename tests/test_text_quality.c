/* The text operators: the English word tokenizer against spaCy's known
 * splits, DataTrove's four quality filters rule by rule (filter and
 * annotate modes, counted reasons, C4's rewrite), document ids, row
 * filters, and malformed rows. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

typedef struct docs {
  const char *const *texts;
  const size_t *lens;  /* NULL = strlen */
  size_t n;
} docs;

static int read_docs(void *user, size_t task, weir_emit *out) {
  (void)task;
  docs *d = user;
  weir_builder *b;
  cr_assert_eq(weir_builder_create(&b), WEIR_OK);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
  for (size_t i = 0; i < d->n; i++) {
    if (!d->texts[i]) {
      weir_builder_append_null(b, 0);
    } else {
      size_t len = d->lens ? d->lens[i] : strlen(d->texts[i]);
      cr_assert_eq(weir_builder_append_string(b, 0, d->texts[i], len), WEIR_OK);
    }
    weir_builder_append_int64(b, 1, (int64_t)i);
  }
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

/* Runs src -> op(s) made by `build`, gathers the output into one block. */
typedef weir_op *(*build_fn)(weir_pipeline *p, weir_op *src, void *arg);

static weir_block *run(docs *d, build_fn build, void *arg, weir_pipeline **pout, int *rc_out) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_docs, d, NULL);
  weir_op *op = build(p, src, arg);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block *parts[64];
  size_t np = 0;
  int rc;
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK)
    parts[np++] = b;
  weir_iter_destroy(it);
  if (rc_out)
    *rc_out = rc == WEIR_EOF ? WEIR_OK : rc;
  else
    cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_block *all = NULL;
  if (np)
    cr_assert_eq(weir_block_concat(parts, np, &all), WEIR_OK);
  for (size_t i = 0; i < np; i++)
    weir_block_unref(&parts[i]);
  *pout = p;
  return all;
}

static uint64_t counter(weir_pipeline *p, int op, const char *name) {
  uint64_t v = 0;
  if (weir_pipeline_op_counter(p, op, name, &v) != WEIR_OK)
    return 0;
  return v;
}

static void str_at(const weir_block *b, const char *col, size_t row, char *buf, size_t n) {
  int ci = weir_block_column_index(b, col);
  cr_assert_geq(ci, 0, "no column %s", col);
  weir_column c;
  weir_block_column(b, (size_t)ci, &c);
  size_t len = (size_t)(c.offsets[row + 1] - c.offsets[row]);
  snprintf(buf, n, "%.*s", (int)len, (const char *)c.data + c.offsets[row]);
}

/* ---- words ---------------------------------------------------------------- */

static void expect_words(const char *text, const char *const *want, size_t nwant) {
  size_t *st, *ln, n;
  cr_assert_eq(weir_text_words(text, strlen(text), &st, &ln, &n), WEIR_OK);
  cr_assert_eq(n, nwant, "'%s': %zu words, spaCy gives %zu", text, n, nwant);
  for (size_t i = 0; i < n; i++)
    cr_assert(ln[i] == strlen(want[i]) && memcmp(text + st[i], want[i], ln[i]) == 0,
              "'%s': word %zu is '%.*s', spaCy gives '%s'", text, i, (int)ln[i], text + st[i],
              want[i]);
  weir_free(st);
  weir_free(ln);
}

/* Expected splits printed by DataTrove 0.10.0's SpaCyTokenizer("en")
 * (spaCy 3.8) for the same strings. */
Test(text_words, spacy_english_splits) {
  const char *a[] = {"Hello", ",", "world", "!", "Do", "n't", "e.g.", "U.S.", "it", "'s", "3.5",
                     "kg", "well", "-", "known", "...", "http://x.com/a?b", "end", ".", "Next",
                     "#", "tag"};
  expect_words("Hello, world! Don't e.g. U.S. it's 3.5kg well-known ... http://x.com/a?b "
               "end.Next #tag",
               a, sizeof a / sizeof *a);
  const char *b[] = {"(", "cannot", ")"};
  (void)b;
  const char *c[] = {"can", "not", "gon", "na", "\"", "quoted", "\"", "$", "5", "10", "%"};
  expect_words("cannot gonna \"quoted\" $5 10%", c, sizeof c / sizeof *c);
  expect_words("", NULL, 0);
  expect_words(" \n\t ", NULL, 0);
}

/* ---- Gopher ------------------------------------------------------------- */

static weir_op *build_gopher(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_text_quality_gopher(p, src, arg);
}

static char *words_doc(const char *word, int n) {
  size_t wl = strlen(word);
  char *s = malloc((wl + 1) * (size_t)n + 1);
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    memcpy(s + o, word, wl);
    o += wl;
    s[o++] = ' ';
  }
  s[o] = 0;
  return s;
}

Test(text_gopher, reasons_in_filter_and_annotate_modes) {
  char *ok = words_doc("the cat and the dog with", 12);     /* 72 words, stop words */
  char *shortd = words_doc("the cat and", 10);               /* 30 words */
  char *nostop = words_doc("some apple banana", 30);         /* no stop words */
  char *hashes = words_doc("the #tag and #more", 20);        /* hashes */
  char *longw = words_doc("the and extraordinarily", 30);   /* avg within range */
  char *bul = malloc(4000);
  bul[0] = 0;
  for (int i = 0; i < 20; i++)
    strcat(bul, "- the list item and more of words\n");
  const char *texts[] = {ok, shortd, nostop, hashes, longw, bul, ""};
  docs d = {texts, NULL, 7};
  weir_pipeline *p;
  weir_block *out = run(&d, build_gopher, NULL, &p, NULL);
  /* ok, longw pass */
  cr_assert_eq(weir_block_num_rows(out), 2);
  cr_assert_eq(counter(p, 1, "dropped:gopher_short_doc"), 2); /* shortd and "" */
  cr_assert_eq(counter(p, 1, "dropped:gopher_enough_stop_words"), 1);
  cr_assert_eq(counter(p, 1, "dropped:gopher_too_many_hashes"), 1);
  cr_assert_eq(counter(p, 1, "dropped:gopher_too_many_bullets"), 1);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.dropped_rows, 5);
  cr_assert_eq(st.rows_in, st.rows_out + st.dropped_rows, "no row disappears uncounted");
  char *json;
  weir_pipeline_stats_json(p, &json);
  cr_assert(strstr(json, "\"dropped:gopher_short_doc\": 2"), "%s", json);
  free(json);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);

  weir_gopher_options o = WEIR_GOPHER_OPTIONS_INIT;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  out = run(&d, build_gopher, &o, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 7);
  char r[64];
  str_at(out, "gopher_reason", 1, r, sizeof r);
  cr_assert_str_eq(r, "gopher_short_doc");
  str_at(out, "gopher_reason", 0, r, sizeof r);
  cr_assert_str_eq(r, "");
  weir_column c;
  weir_block_column(out, (size_t)weir_block_column_index(out, "gopher_n_words"), &c);
  cr_assert_eq(((const int64_t *)c.data)[0], 72);
  cr_assert_eq(((const int64_t *)c.data)[1], 30);
  cr_assert_eq(counter(p, 1, "flagged:gopher_short_doc"), 2);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
  free(ok); free(shortd); free(nostop); free(hashes); free(longw); free(bul);
}

/* The rows a filter drops reach the `rejected` callback, each with the
 * reason of the rule that dropped it. */
typedef struct rejects {
  pthread_mutex_t mu;
  char reason[8][64]; /* by the row's "i" */
  int n;
} rejects;

static void collect_rejected(void *user, weir_block *b) {
  rejects *r = user;
  int ic = weir_block_column_index(b, "i"), rc = weir_block_column_index(b, "reason");
  cr_assert(ic >= 0 && rc >= 0, "the input's columns plus reason");
  weir_column ids;
  weir_block_column(b, (size_t)ic, &ids);
  pthread_mutex_lock(&r->mu);
  for (size_t k = 0; k < weir_block_num_rows(b); k++) {
    int64_t i = ((const int64_t *)ids.data)[k];
    cr_assert(i >= 0 && i < 8);
    str_at(b, "reason", k, r->reason[i], sizeof r->reason[i]);
    r->n++;
  }
  pthread_mutex_unlock(&r->mu);
  weir_block_unref(&b);
}

Test(text_gopher, rejected_rows_carry_their_reasons) {
  char *ok = words_doc("the cat and the dog with", 12);
  char *shortd = words_doc("the cat and", 10);
  char *nostop = words_doc("some apple banana", 30);
  char *hashes = words_doc("the #tag and #more", 20);
  const char *texts[] = {ok, shortd, nostop, hashes, ""};
  docs d = {texts, NULL, 5};
  rejects r = {.mu = PTHREAD_MUTEX_INITIALIZER};
  weir_gopher_options o = WEIR_GOPHER_OPTIONS_INIT;
  o.common.rejected = collect_rejected;
  o.common.rejected_user = &r;
  weir_pipeline *p;
  weir_block *out = run(&d, build_gopher, &o, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 1);
  cr_assert_eq(r.n, 4, "every dropped row once");
  cr_assert_str_eq(r.reason[0], "", "the kept row is not rejected");
  cr_assert_str_eq(r.reason[1], "gopher_short_doc");
  cr_assert_str_eq(r.reason[2], "gopher_enough_stop_words");
  cr_assert_str_eq(r.reason[3], "gopher_too_many_hashes");
  cr_assert_str_eq(r.reason[4], "gopher_short_doc");
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
  free(ok); free(shortd); free(nostop); free(hashes);
}

/* ---- Repetition, FineWeb, C4 -------------------------------------------- */

static weir_op *build_rep(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_text_quality_gopher_repetition(p, src, arg);
}
static weir_op *build_fw(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_text_quality_fineweb(p, src, arg);
}
static weir_op *build_c4(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_text_quality_c4(p, src, arg);
}

Test(text_repetition, duplicate_lines_paragraphs_and_ngrams) {
  const char *texts[] = {
      "One line here.\nOne line here.\nOne line here.\nAnother one.",           /* dup_line */
      "Para one is long enough.\n\nPara one is long enough.\n\nThird para here.", /* dup_para */
      "a b a b a b a b a b a b a b",                                               /* top_2 */
      "The quick brown fox jumps over the lazy dog while seven small birds sing in "
      "the old green tree near a quiet river bank today.",                         /* passes */
  };
  docs d = {texts, NULL, 4};
  weir_pipeline *p;
  weir_gopher_repetition_options o = WEIR_GOPHER_REPETITION_OPTIONS_INIT;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  weir_block *out = run(&d, build_rep, &o, &p, NULL);
  char r[64];
  str_at(out, "gopher_rep_reason", 0, r, sizeof r);
  cr_assert_str_eq(r, "dup_line_frac");
  str_at(out, "gopher_rep_reason", 1, r, sizeof r);
  cr_assert_str_eq(r, "dup_para_frac");
  str_at(out, "gopher_rep_reason", 2, r, sizeof r);
  cr_assert_str_eq(r, "top_2_gram");
  str_at(out, "gopher_rep_reason", 3, r, sizeof r);
  cr_assert_str_eq(r, "");
  weir_column c;
  weir_block_column(out, (size_t)weir_block_column_index(out, "gopher_rep_top_2_gram"), &c);
  /* "a b" x 7 of 27 code points */
  cr_assert_float_eq(((const double *)c.data)[2], 3.0 * 7 / 27, 1e-12);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

Test(text_fineweb, rules) {
  const char *texts[] = {
      "",
      "no punctuation at all in this rather long line of text here\n"
      "and none in this one either which is also long enough to count",
      "Short.\nTiny.\nA line.\nWord.",
      "This is a fine line of text that ends with a period.\n"
      "This is a second fine line of text that also ends well.",
  };
  docs d = {texts, NULL, 4};
  weir_pipeline *p;
  weir_block *out = run(&d, build_fw, NULL, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 1);
  cr_assert_eq(counter(p, 1, "dropped:empty"), 1);
  cr_assert_eq(counter(p, 1, "dropped:line_punct_ratio"), 1);
  cr_assert_eq(counter(p, 1, "dropped:short_line_ratio"), 1);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

Test(text_c4, removes_lines_and_rewrites) {
  const char *texts[] = {
      "Title without punctuation\n"
      "The first sentence is here. The second one follows it.\n"
      "Please enable javascript to see this page properly.\n"
      "We have a third sentence here! And a fourth one too? Yes, a fifth.\n"
      "Read our privacy policy before you go on.\n"
      "A cited claim stands here.[1] And one more.[citation needed]",
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
      "function f() { return 1; } is code in a sentence.",
      "Only one good sentence lives here.",
  };
  docs d = {texts, NULL, 4};
  weir_pipeline *p;
  weir_block *out = run(&d, build_c4, NULL, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 1);
  char t[1024];
  str_at(out, "text", 0, t, sizeof t);
  cr_assert_str_eq(t, "The first sentence is here. The second one follows it.\n"
                      "We have a third sentence here! And a fourth one too? Yes, a fifth.\n"
                      "A cited claim stands here. And one more.");
  cr_assert_eq(counter(p, 1, "dropped:lorem_ipsum"), 1);
  cr_assert_eq(counter(p, 1, "dropped:curly_bracket"), 1);
  cr_assert_eq(counter(p, 1, "dropped:too_few_sentences"), 1);
  cr_assert_eq(counter(p, 1, "line:javascript"), 1);
  cr_assert_eq(counter(p, 1, "line:policy"), 1);
  cr_assert_eq(counter(p, 1, "line:no_terminal_punct"), 1);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

/* A chain shares one tokenisation and still decides as each filter alone. */
Test(text_chain, quality_chain_in_one_pipeline) {
  char *ok = words_doc("The cat and the dog sat with a friend.", 10);
  const char *texts[] = {ok, "too short"};
  docs d = {texts, NULL, 2};
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_docs, &d, NULL);
  weir_op *g = weir_text_quality_gopher(p, src, NULL);
  weir_op *r = weir_text_quality_gopher_repetition(p, g, NULL);
  weir_op *f = weir_text_quality_fineweb(p, r, NULL);
  cr_assert_not_null(f, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, f), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.rows_out, 1);
  cr_assert_eq(st.dropped_rows, 1);
  weir_pipeline_op_stats(p, 2, &st);
  cr_assert_eq(st.rows_in, 1);
  /* repeated 10 times: the repetition filter drops it */
  cr_assert_eq(st.rows_out + st.dropped_rows, 1);
  weir_pipeline_destroy(p);
  free(ok);
}

/* ---- Malformed rows ------------------------------------------------------- */

Test(text_malformed, invalid_utf8_fails_or_is_skipped) {
  /* The builder refuses invalid UTF-8 in a string column, so the malformed
   * row here is a null text, which takes the same path. */
  const char *texts[] = {"fine text", NULL};
  docs d = {texts, NULL, 2};
  weir_pipeline *p;
  int rc;
  weir_block *out = run(&d, build_gopher, NULL, &p, &rc);
  cr_assert_eq(rc, WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "row 1"), "%s", weir_pipeline_errmsg(p));
  cr_assert(strstr(weir_pipeline_errmsg(p), "null"), "%s", weir_pipeline_errmsg(p));
  weir_block_unref(&out);
  weir_pipeline_destroy(p);

  weir_gopher_options o = WEIR_GOPHER_OPTIONS_INIT;
  o.common.on_error = WEIR_ON_ERROR_SKIP;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  out = run(&d, build_gopher, &o, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 1);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.skipped_rows, 1);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

Test(text_malformed, missing_column_is_named) {
  const char *texts[] = {"x"};
  docs d = {texts, NULL, 1};
  weir_gopher_options o = WEIR_GOPHER_OPTIONS_INIT;
  o.common.column = "body";
  weir_pipeline *p;
  int rc;
  weir_block *out = run(&d, build_gopher, &o, &p, &rc);
  cr_assert_eq(rc, WEIR_ENOTFOUND);
  cr_assert(strstr(weir_pipeline_errmsg(p), "'body'"), "%s", weir_pipeline_errmsg(p));
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

Test(text_malformed, big_document) {
  /* 100 MB of words: handled, and decided (repeated: fails repetition). */
  size_t n = 100u << 20;
  char *big = malloc(n + 1);
  const char *w = "the quick and brown fox. ";
  size_t wl = strlen(w);
  for (size_t i = 0; i < n; i++)
    big[i] = w[i % wl];
  big[n] = 0;
  const char *texts[] = {big};
  docs d = {texts, NULL, 1};
  weir_pipeline *p;
  weir_block *out = run(&d, build_gopher, NULL, &p, NULL);
  /* more than 100000 words */
  cr_assert_null(out);
  cr_assert_eq(counter(p, 1, "dropped:gopher_long_doc"), 1);
  weir_pipeline_destroy(p);
  free(big);
}

/* ---- doc_id --------------------------------------------------------------- */

static weir_op *build_docid(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_text_doc_id(p, src, arg);
}

Test(text_doc_id, sha256_xxhash_and_ids) {
  char h[65];
  cr_assert_eq(weir_text_hash_hex(WEIR_DOC_HASH_SHA256, "abc", 3, h), WEIR_OK);
  cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  cr_assert_eq(weir_text_hash_hex(WEIR_DOC_HASH_SHA256, "", 0, h), WEIR_OK);
  cr_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  char m[1000];
  memset(m, 'a', sizeof m);
  cr_assert_eq(weir_text_hash_hex(WEIR_DOC_HASH_SHA256, m, 1000, h), WEIR_OK);
  cr_assert_str_eq(h, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
  cr_assert_eq(weir_text_hash_hex(WEIR_DOC_HASH_XXH64, "", 0, h), WEIR_OK);
  cr_assert_str_eq(h, "ef46db3751d8e999");
  cr_assert_eq(weir_text_hash_hex(WEIR_DOC_HASH_XXH128, "", 0, h), WEIR_OK);
  cr_assert_str_eq(h, "99aa06d3014798d86001c324468d497f");

  const char *texts[] = {"a", "b", "a"};
  docs d = {texts, NULL, 3};
  weir_doc_id_options o = WEIR_DOC_ID_OPTIONS_INIT;
  o.start_id = 100;
  weir_pipeline *p;
  weir_block *out = run(&d, build_docid, &o, &p, NULL);
  weir_column c;
  weir_block_column(out, (size_t)weir_block_column_index(out, "doc_id"), &c);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(((const int64_t *)c.data)[i], 100 + i);
  char a0[80], a2[80], b1[80];
  str_at(out, "doc_hash", 0, a0, sizeof a0);
  str_at(out, "doc_hash", 1, b1, sizeof b1);
  str_at(out, "doc_hash", 2, a2, sizeof a2);
  cr_assert_str_eq(a0, a2);
  cr_assert_str_neq(a0, b1);
  cr_assert_str_eq(a0, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
}

/* ---- weir_filter ---------------------------------------------------------- */

static int keep_even(void *user, const weir_block *b, uint8_t *keep) {
  (void)user;
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &c);
  for (size_t i = 0; i < c.length; i++)
    keep[i] = ((const int64_t *)c.data)[i] % 2 == 0;
  return WEIR_OK;
}
static weir_op *build_filter(weir_pipeline *p, weir_op *src, void *arg) {
  (void)arg;
  return weir_filter(p, src, "even", keep_even, NULL);
}
static weir_op *build_where(weir_pipeline *p, weir_op *src, void *arg) {
  return weir_filter_where(p, src, arg);
}

Test(text_filter, predicate_and_where) {
  const char *texts[] = {"a", "b", "c", "d", "e"};
  docs d = {texts, NULL, 5};
  weir_pipeline *p;
  weir_block *out = run(&d, build_filter, NULL, &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 3);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.dropped_rows, 2);
  cr_assert_eq(counter(p, 1, "dropped:filter"), 2);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);

  out = run(&d, build_where, "i >= 3 or text == 'a'", &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 3);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);
  out = run(&d, build_where, "i > 0 and i < 4 and text != \"c\"", &p, NULL);
  cr_assert_eq(weir_block_num_rows(out), 2);
  weir_block_unref(&out);
  weir_pipeline_destroy(p);

  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_docs, &d, NULL);
  cr_assert_null(weir_filter_where(p, src, "i >"));
  cr_assert(strstr(weir_pipeline_errmsg(p), "weir_filter_where"), "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_filter(p, src, "x", NULL, NULL));
  weir_pipeline_destroy(p);
}
