/* Exact deduplication: the DPK key normalisation against Data Prep Kit's
 * own Python function, the rows kept against `sort -u` of those keys on a
 * corpus whose seen keys are several times the table's memory limit (so
 * keys spill in sorted runs), the same output with 1 or 4 workers
 * upstream, annotate mode's dup_of, key columns, and malformed rows. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-dedup"); }
TestSuite(text_dedup, .init = make_tmp, .fini = tmpdir_remove, .timeout = 600);

/* ---- A corpus with duplicates that differ in case, spaces, newlines and
 * ASCII punctuation (same key), or in tabs and Unicode spelling (not). */

#define NDOCS 48000
#define NBASE 14000
#define NTASKS 8

static const char *const vocab[][2] = {
    {"river", "RIVER"},     {"stone", "Stone"},       {"light", "LiGhT"},
    {"café", "CAFÉ"},       {"école", "ÉCOLE"},       {"straße", "STRASSE"},
    {"οδος", "ΟΔΟΣ"},       {"σίσυφος", "ΣΊΣΥΦΟΣ"},   {"istanbul", "İSTANBUL"},
    {"naïve", "NAÏVE"},     {"москва", "МОСКВА"},     {"don't", "DON'T"},
    {"u.s.a.", "U.S.A."},   {"ΑΣ'Β", "ασ'β"},         {"ΣΑ", "σα"},
    {"x-ray", "X_RAY"},     {"data", "DATA"},         {"köln", "KÖLN"},
    {"ﬁne", "FINE"},        {"ǅemal", "ǄEMAL"},       {"42", "42"},
    {"a", "A"},             {"set", "SET"},           {"weir", "Weir"},
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])
static const char *const seps[] = {" ", "\n", "  ", ", ", "! ", " - ", "\t", "...", " \n "};
#define NSEPS (sizeof seps / sizeof seps[0])

typedef struct corpus {
  char **text;
  size_t n;
} corpus;

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rng_state >> 33) % n);
}

static corpus C;

static void gen_corpus(void) {
  if (C.text)
    return;
  rng_state = 15;
  uint16_t (*base)[12] = malloc(NBASE * sizeof *base);
  uint8_t *blen = malloc(NBASE);
  for (size_t b = 0; b < NBASE; b++) {
    blen[b] = (uint8_t)(2 + rnd(10));
    for (int k = 0; k < blen[b]; k++)
      base[b][k] = (uint16_t)rnd(NVOCAB);
  }
  C.n = NDOCS;
  C.text = calloc(NDOCS, sizeof *C.text);
  for (size_t i = 0; i < NDOCS; i++) {
    /* Skewed: low bases recur often. */
    uint32_t b = rnd(3) == 0 ? rnd(NBASE / 20) : rnd(NBASE);
    char buf[512];
    size_t n = 0;
    for (int k = 0; k < blen[b]; k++) {
      const char *w = vocab[base[b][k]][rnd(2)];
      const char *sep = k ? (rnd(4) ? " " : seps[rnd(NSEPS)]) : "";
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", sep, w);
    }
    if (rnd(5) == 0)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", rnd(2) ? "." : "?!");
    C.text[i] = strdup(buf);
  }
  free(base);
  free(blen);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* DPK's normalised keys of the corpus, by its Python function, hex, one
 * line per document; `uniq` gets `LC_ALL=C sort -u` of them. */
static char **reference_keys(const char *keys, const char *uniq) {
  const char *in = path_of("corpus.jsonl");
  FILE *f = fopen(in, "w");
  cr_assert_not_null(f);
  for (size_t i = 0; i < C.n; i++) {
    fputs("{\"text\": ", f);
    json_str(f, C.text[i]);
    fputs("}\n", f);
  }
  fclose(f);
  if (system("python3 -c 'import sys' 2>/dev/null") != 0) {
    if (getenv("WEIR_TEST_ALLOW_SKIP"))
      cr_skip_test("no python3");
    cr_assert_fail("python3 is needed to run Data Prep Kit's normalisation");
  }
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "python3 '%s/tests/text/dpk_ededup_keys.py' '%s' '%s'",
           WEIR_TEST_SOURCE_DIR, in, keys);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  snprintf(cmd, sizeof cmd, "LC_ALL=C sort -u '%s' > '%s'", keys, uniq);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  char **k = calloc(C.n, sizeof *k);
  f = fopen(keys, "r");
  cr_assert_not_null(f);
  char line[4096];
  for (size_t i = 0; i < C.n; i++) {
    cr_assert_not_null(fgets(line, sizeof line, f), "%s: short at line %zu", keys, i);
    line[strcspn(line, "\n")] = 0;
    k[i] = strdup(line);
  }
  fclose(f);
  return k;
}

static size_t count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  size_t n = 0;
  int c;
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

/* first[i]: the index of the first document with the key of document i. */
static char **g_keys;
static int by_key(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(g_keys[x], g_keys[y]);
  return c ? c : (x < y ? -1 : x > y);
}
static size_t *first_of(char **keys) {
  size_t *ix = malloc(C.n * sizeof *ix), *first = malloc(C.n * sizeof *first);
  for (size_t i = 0; i < C.n; i++)
    ix[i] = i;
  g_keys = keys;
  qsort(ix, C.n, sizeof *ix, by_key);
  for (size_t a = 0; a < C.n;) {
    size_t b = a;
    while (b < C.n && strcmp(keys[ix[a]], keys[ix[b]]) == 0)
      first[ix[b++]] = ix[a];
    a = b;
  }
  free(ix);
  return first;
}

/* ---- The pipeline --------------------------------------------------------- */

static int read_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  size_t per = C.n / NTASKS, lo = task * per, hi = task + 1 == NTASKS ? C.n : lo + per;
  for (size_t s = lo; s < hi; s += 1000) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
    weir_builder_add_column(b, "url", WEIR_TYPE_STRING);
    for (size_t i = s; i < hi && i < s + 1000; i++) {
      weir_builder_append_string(b, 0, C.text[i], strlen(C.text[i]));
      weir_builder_append_int64(b, 1, (int64_t)i);
      char url[64];
      int n = snprintf(url, sizeof url, "http://x/%zu", i % 997);
      weir_builder_append_string(b, 2, url, (size_t)n);
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

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

typedef struct result {
  int64_t *i, *dup_of; /* dup_of: -1 for null */
  size_t n;
  uint64_t dropped, dups, unique, spilled, runs, skipped;
} result;

static uint64_t counter(weir_pipeline *p, int op, const char *name) {
  uint64_t v = 0;
  return weir_pipeline_op_counter(p, op, name, &v) == WEIR_OK ? v : 0;
}

static result run(int workers, const weir_dedup_exact_options *o) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.spill_dir = tmpdir;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "corpus", NTASKS, read_task, NULL, NULL);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = workers;
  weir_op *mid = weir_map_batches(p, src, "pass", pass, NULL, &oo);
  weir_op *dd = weir_dedup_exact(p, mid, o);
  cr_assert_not_null(dd, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, dd, NULL, &it), WEIR_OK);
  result r = {0};
  r.i = malloc(C.n * sizeof *r.i);
  r.dup_of = malloc(C.n * sizeof *r.dup_of);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column ci, cd;
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ci);
    int di = weir_block_column_index(b, "dup_of");
    if (di >= 0)
      weir_block_column(b, (size_t)di, &cd);
    for (size_t k = 0; k < ci.length; k++) {
      cr_assert_lt(r.n, C.n);
      r.i[r.n] = ((const int64_t *)ci.data)[k];
      int valid = di >= 0 && (!cd.validity || ((cd.validity[k >> 3] >> (k & 7)) & 1));
      r.dup_of[r.n++] = valid ? ((const int64_t *)cd.data)[k] : -1;
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 2, &st), WEIR_OK);
  r.dropped = st.dropped_rows;
  r.spilled = st.spilled_bytes;
  r.skipped = st.skipped_rows;
  r.dups = counter(p, 2, "duplicates");
  r.unique = counter(p, 2, "unique");
  r.runs = counter(p, 2, "spilled_runs");
  weir_pipeline_destroy(p);
  return r;
}

static void result_free(result *r) {
  free(r->i);
  free(r->dup_of);
}

/* ---- Tests ------------------------------------------------------------------ */

Test(text_dedup, equals_sort_uniq_while_spilling) {
  gen_corpus();
  const char *keys = path_of("keys.hex"), *uniq = path_of("uniq.hex");
  char **k = reference_keys(keys, uniq);
  size_t *first = first_of(k);
  size_t nuniq = count_lines(uniq);
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.memory_limit = 64 << 10;
  /* The seen keys (24 bytes each) are several times the limit. */
  cr_assert_gt(nuniq * 24, 4 * o.memory_limit, "corpus too small: %zu keys", nuniq);
  result r = run(1, &o);
  cr_assert_eq(r.n, nuniq, "kept %zu rows, sort -u has %zu keys", r.n, nuniq);
  /* The first of each key, in input order. */
  size_t want = 0;
  for (size_t i = 0; i < C.n; i++) {
    if (first[i] != i)
      continue;
    cr_assert_eq(r.i[want], (int64_t)i, "output row %zu is document %lld, expected %zu", want,
                 (long long)r.i[want], i);
    want++;
  }
  /* The kept rows' keys, sorted, are sort -u's output line for line. */
  const char *outk = path_of("out.hex");
  FILE *f = fopen(outk, "w");
  for (size_t j = 0; j < r.n; j++)
    fprintf(f, "%s\n", k[r.i[j]]);
  fclose(f);
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "LC_ALL=C sort '%s' | cmp -s - '%s'", outk, uniq);
  cr_assert_eq(system(cmd), 0, "kept keys differ from sort -u");
  /* Statistics. */
  cr_assert_eq(r.unique, nuniq);
  cr_assert_eq(r.dups, C.n - nuniq);
  cr_assert_eq(r.dropped, C.n - nuniq);
  cr_assert_gt(r.runs, 3, "only %llu runs", (unsigned long long)r.runs);
  cr_assert_geq(r.spilled, r.runs * 1536 * 24);

  /* 4 workers upstream, and a table large enough not to spill: the same. */
  result r4 = run(4, &o);
  cr_assert_eq(r4.n, r.n);
  cr_assert_eq(memcmp(r4.i, r.i, r.n * sizeof *r.i), 0, "4 workers kept other rows");
  weir_dedup_exact_options big = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  big.memory_limit = 64 << 20;
  result rb = run(4, &big);
  cr_assert_eq(rb.runs, 0);
  cr_assert_eq(rb.spilled, 0);
  cr_assert_eq(rb.n, r.n);
  cr_assert_eq(memcmp(rb.i, r.i, r.n * sizeof *r.i), 0, "a table in memory kept other rows");

  /* Annotate: every row, dup_of = the first document of its key. */
  weir_dedup_exact_options an = o;
  an.common.mode = WEIR_TEXT_ANNOTATE;
  result ra = run(2, &an);
  cr_assert_eq(ra.n, C.n);
  cr_assert_eq(ra.dropped, 0);
  for (size_t j = 0; j < C.n; j++) {
    cr_assert_eq(ra.i[j], (int64_t)j, "annotate reordered rows at %zu", j);
    int64_t want_dup = first[j] == j ? -1 : (int64_t)first[j];
    cr_assert_eq(ra.dup_of[j], want_dup, "document %zu: dup_of %lld, expected %lld", j,
                 (long long)ra.dup_of[j], (long long)want_dup);
  }
  result_free(&r);
  result_free(&r4);
  result_free(&rb);
  result_free(&ra);
  for (size_t i = 0; i < C.n; i++)
    free(k[i]);
  free(k);
  free(first);
}

Test(text_dedup, normalisation_and_hash) {
  char *norm = NULL;
  size_t len = 0;
  uint64_t h[2], h2[2];
  cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_DPK, "Hello, World!\nA\tb", 17, &norm, &len, h),
               WEIR_OK);
  cr_assert_eq(len, 13);
  cr_assert_eq(memcmp(norm, "helloworlda\tb", 13), 0, "%.*s", (int)len, norm);
  weir_free(norm);
  /* The key is XXH3-128 of the normalised bytes: of "" it is XXH3-128's
   * published value for the empty input. */
  cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_DPK, " ,.\n", 4, NULL, NULL, h), WEIR_OK);
  cr_assert_eq(h[1], 0x99aa06d3014798d8ull);
  cr_assert_eq(h[0], 0x6001c324468d497full);
  cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_NONE, "", 0, NULL, NULL, h2), WEIR_OK);
  cr_assert_eq(memcmp(h, h2, sizeof h), 0);
  /* Unicode lowercasing, as Python's str.lower(). */
  cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_DPK, "ÉCOLE ΟΔΟΣ, İ", strlen("ÉCOLE ΟΔΟΣ, İ"), &norm, &len, h), WEIR_OK);
  const char want[] = "école" "οδος" "i\xcc\x87";
  cr_assert_eq(len, sizeof want - 1);
  cr_assert_eq(memcmp(norm, want, len), 0, "%.*s", (int)len, norm);
  weir_free(norm);
  cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_DPK, "a\xff", 2, NULL, NULL, h), WEIR_EFORMAT);
}

static _Atomic size_t rejected_rows;
static void on_rejected(void *user, weir_block *b) {
  (void)user;
  int ri = weir_block_column_index(b, "reason");
  cr_assert_geq(ri, 0);
  weir_column c;
  weir_block_column(b, (size_t)ri, &c);
  for (size_t k = 0; k < c.length; k++)
    cr_assert_eq(memcmp((const char *)c.data + c.offsets[k], "duplicate", 9), 0);
  rejected_rows += weir_block_num_rows(b);
  weir_block_unref(&b);
}

Test(text_dedup, key_columns) {
  gen_corpus();
  /* Keyed on url alone (997 distinct), raw bytes. */
  const char *cols[] = {"url"};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.key_columns = cols;
  o.num_key_columns = 1;
  o.normalize = WEIR_DEDUP_NORM_NONE;
  o.common.rejected = on_rejected;
  result r = run(2, &o);
  cr_assert_eq(r.n, 997);
  cr_assert_eq(rejected_rows, C.n - 997);
  for (size_t j = 0; j < r.n; j++)
    cr_assert_eq(r.i[j], (int64_t)j);
  result_free(&r);
  /* Keyed on (url, i): every row is unique. */
  const char *two[] = {"url", "i"};
  o.key_columns = two;
  o.num_key_columns = 2;
  r = run(2, &o);
  cr_assert_eq(r.n, C.n);
  cr_assert_eq(r.dups, 0);
  result_free(&r);
}

/* ---- Malformed rows ----------------------------------------------------------- */

static int read_bad(void *user, size_t task, weir_emit *out) {
  (void)user, (void)task;
  weir_builder *b;
  cr_assert_eq(weir_builder_create(&b), WEIR_OK);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  weir_builder_append_string(b, 0, "a b", 3);
  weir_builder_append_null(b, 0);
  weir_builder_append_string(b, 0, "A,B", 3);
  weir_builder_append_string(b, 0, "c", 1);
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static size_t run_bad(int on_error, int *rc_out, char *msg, size_t msgn, uint64_t *skipped) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "bad", 1, read_bad, NULL, NULL);
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.common.on_error = on_error;
  weir_op *dd = weir_dedup_exact(p, src, &o);
  cr_assert_not_null(dd);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, dd, NULL, &it), WEIR_OK);
  size_t n = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    n += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  *rc_out = rc;
  snprintf(msg, msgn, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  *skipped = st.skipped_rows;
  weir_pipeline_destroy(p);
  return n;
}

Test(text_dedup, malformed_rows) {
  int rc;
  char msg[1024];
  uint64_t skipped;
  run_bad(WEIR_ON_ERROR_FAIL, &rc, msg, sizeof msg, &skipped);
  cr_assert_eq(rc, WEIR_EFORMAT);
  cr_assert(strstr(msg, "dedup_exact") && strstr(msg, "row 1") && strstr(msg, "null"), "%s", msg);
  size_t n = run_bad(WEIR_ON_ERROR_SKIP, &rc, msg, sizeof msg, &skipped);
  cr_assert_eq(rc, WEIR_EOF, "%s", msg);
  cr_assert_eq(n, 2); /* "a b" and "c"; "A,B" is a duplicate */
  cr_assert_eq(skipped, 1, "skipped %llu", (unsigned long long)skipped);
}

Test(text_dedup, bad_options) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "bad", 1, read_bad, NULL, NULL);
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.normalize = 7;
  cr_assert_null(weir_dedup_exact(p, src, &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "normalize"), "%s", weir_pipeline_errmsg(p));
  o = (weir_dedup_exact_options)WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.version = 99;
  cr_assert_null(weir_dedup_exact(p, src, &o));
  cr_assert_not_null(weir_dedup_exact(p, src, NULL));
  weir_pipeline_destroy(p);
}

/* The normalisation's 16-bytes-at-a-time path (SSSE3) against a plain
 * reference, on random strings of every ASCII byte mixed with two- and
 * three-byte characters at every offset of a 16-byte chunk, and lengths
 * around the chunk size. */
static size_t ref_norm(const char *s, size_t len, char *o) {
  static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0xC3 && i + 1 < len && (unsigned char)s[i + 1] == 0x89) { /* É -> é */
      o[n++] = (char)0xC3, o[n++] = (char)0xA9, i++;
    } else if (c >= 0x80) {
      o[n++] = (char)c; /* é, € and their continuation bytes stay */
    } else if (c != ' ' && c != '\n' && (!c || !strchr(punct, c))) {
      o[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  return n;
}

Test(text_dedup, chunked_normalisation_matches_reference) {
  static const char *const pieces[] = {"é", "É", "€"};
  rng_state = 99;
  char s[200], want[400];
  for (int t = 0; t < 20000; t++) {
    size_t len = 0, target = rnd(t < 100 ? 40 : 120);
    while (len < target) {
      if (rnd(12) == 0) {
        const char *p = pieces[rnd(3)];
        memcpy(s + len, p, strlen(p));
        len += strlen(p);
      } else {
        s[len++] = (char)(1 + rnd(127));
      }
    }
    char *norm = NULL;
    size_t nlen = 0;
    uint64_t h[2];
    cr_assert_eq(weir_dedup_key(WEIR_DEDUP_NORM_DPK, s, len, &norm, &nlen, h), WEIR_OK);
    size_t wlen = ref_norm(s, len, want);
    cr_assert(nlen == wlen && memcmp(norm, want, wlen) == 0,
              "string %d (%zu bytes): normalised to %zu bytes, expected %zu", t, len, nlen, wlen);
    weir_free(norm);
  }
}

/* ---- The key tables in the pipeline's memory budget ----------------------- */

/* Row i has key "doc <(i * 7919) % NB_KEYS>": the first NB_KEYS rows have
 * every key once (7919 is prime to NB_KEYS), the rest repeat them. Its
 * priority is (i * 31) % 7. */
#define NB_KEYS 200000
#define NB_ROWS 260000
#define NB_TASKS 13

static int read_budget_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  size_t per = NB_ROWS / NB_TASKS;
  for (size_t s = task * per; s < (task + 1) * per; s += 5000) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
    weir_builder_add_column(b, "p", WEIR_TYPE_INT64);
    for (size_t i = s; i < s + 5000; i++) {
      char t[32];
      int n = snprintf(t, sizeof t, "doc %zu", (i * 7919) % NB_KEYS);
      weir_builder_append_string(b, 0, t, (size_t)n);
      weir_builder_append_int64(b, 1, (int64_t)i);
      weir_builder_append_int64(b, 2, (int64_t)((i * 31) % 7));
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

/* Runs dedup at `budget` with its own memory_limit far above it; checks
 * the rows kept are `want` (0/1 per row) in input order; returns the
 * spilled bytes, and the runs and peak bytes in flight through the
 * pointers. */
static uint64_t run_budget(size_t budget, const weir_dedup_exact_options *o, const uint8_t *want,
                           uint64_t *runs, size_t *flight_peak) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.spill_dir = tmpdir;
  po.memory_budget = budget;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "keys", NB_TASKS, read_budget_task, NULL, NULL);
  weir_op *dd = weir_dedup_exact(p, src, o);
  cr_assert_not_null(dd, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, dd, NULL, &it), WEIR_OK);
  size_t next = 0, n = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column ci;
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ci);
    for (size_t k = 0; k < ci.length; k++, n++) {
      while (next < NB_ROWS && !want[next])
        next++;
      cr_assert_eq(((const int64_t *)ci.data)[k], (int64_t)next,
                   "output row %zu is row %lld, the reference keeps row %zu", n,
                   (long long)((const int64_t *)ci.data)[k], next);
      next++;
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  size_t nwant = 0;
  for (size_t i = 0; i < NB_ROWS; i++)
    nwant += want[i];
  cr_assert_eq(n, nwant, "kept %zu rows, the reference %zu", n, nwant);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 1, &st), WEIR_OK);
  *runs = counter(p, 1, "spilled_runs");
  weir_pipeline_stats ps;
  cr_assert_eq(weir_pipeline_get_stats(p, &ps), WEIR_OK);
  *flight_peak = ps.bytes_in_flight_peak;
  weir_pipeline_destroy(p);
  return st.spilled_bytes;
}

/* The seen keys of 200,000 keys would take a 6 MiB table (24 bytes a key,
 * at most three quarters full) and the best rows per key 8 MiB; with a
 * 4 MiB pipeline budget and the operator's own limit at 1 GiB, the tables
 * count in the budget, stop growing when it is short and spill sorted
 * runs instead, and the rows kept are still the reference's (keep-first:
 * the first 200,000 rows; priority: the highest p per key, ties to the
 * first). Before the tables counted, nothing spilled here. */
Test(text_dedup, key_tables_count_in_the_budget) {
  static uint8_t want[NB_ROWS];
  for (size_t i = 0; i < NB_ROWS; i++)
    want[i] = i < NB_KEYS;
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.memory_limit = (size_t)1 << 30;
  uint64_t runs;
  size_t peak;
  size_t budget = (size_t)4 << 20;
  uint64_t spilled = run_budget(budget, &o, want, &runs, &peak);
  cr_assert_gt(spilled, 0, "keep-first: the seen keys never spilled under a 4 MiB budget");
  cr_assert_gt(runs, 1);
  /* The table (65,536 keys to start with) was counted in flight. */
  cr_assert_geq(peak, (size_t)65536 * 24, "bytes in flight peaked at %zu", peak);
  /* With a budget it fits in, the same rows and no spill. */
  uint64_t big = run_budget((size_t)256 << 20, &o, want, &runs, &peak);
  cr_assert_eq(big, 0);
  cr_assert_eq(runs, 0);

  /* Priority: the reference in C, by key. */
  int64_t *best = malloc(NB_KEYS * sizeof *best);
  for (size_t k = 0; k < NB_KEYS; k++)
    best[k] = -1;
  for (size_t i = 0; i < NB_ROWS; i++) {
    size_t k = (i * 7919) % NB_KEYS;
    if (best[k] < 0 || (i * 31) % 7 > ((size_t)best[k] * 31) % 7)
      best[k] = (int64_t)i;
  }
  memset(want, 0, sizeof want);
  for (size_t k = 0; k < NB_KEYS; k++)
    want[best[k]] = 1;
  free(best);
  o.priority_column = "p";
  spilled = run_budget(budget, &o, want, &runs, &peak);
  cr_assert_gt(runs, 1, "priority: the table of best rows never spilled under a 4 MiB budget");
  cr_assert_gt(spilled, 0);
  cr_assert_geq(peak, (size_t)65536 * 32, "bytes in flight peaked at %zu", peak);
}
