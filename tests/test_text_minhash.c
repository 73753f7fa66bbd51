/* MinHash near-duplicate removal: signatures equal to DataTrove's golden
 * values; on a generated corpus with planted near-duplicates of known
 * Jaccard similarity (tests/text/minhash_corpus.py), recall and false
 * positives against the LSH S-curve 1 - (1 - J^r)^b; agreement with
 * DataTrove's own four-stage pipeline; the same rows with 1 or 4 workers
 * upstream, with band keys and held rows spilling, and when resuming from
 * a saved pass 1; verification, keep policies, annotate mode, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-minhash"); }
TestSuite(text_minhash, .init = make_tmp, .fini = tmpdir_remove, .timeout = 1200);

/* ---- The corpus ------------------------------------------------------------ */
typedef struct corpus {
  char path[600];
  size_t ndocs, npairs;
  size_t (*pair)[2];
  double *j;
  int64_t *len;           /* text bytes per line */
} corpus;

/* Generated once per (pairs, singles, seed) and kept in the test base
 * folder, since every test runs in its own process. */
static corpus load_corpus(size_t npairs, size_t nsingles, int seed) {
  corpus c = {0};
  const char *base = getenv("WEIR_TEST_TMP");
  if (!base)
    base = "/tmp";
  struct stat st;
  char gen[600];
  snprintf(gen, sizeof gen, "%s/tests/text/minhash_corpus.py", WEIR_TEST_SOURCE_DIR);
  cr_assert_eq(stat(gen, &st), 0);
  char pairs[700];
  snprintf(c.path, sizeof c.path, "%s/weir-minhash-corpus-%zu-%zu-%d-%lld.jsonl", base, npairs,
           nsingles, seed, (long long)st.st_size);
  snprintf(pairs, sizeof pairs, "%s.pairs", c.path);
  if (access(pairs, R_OK) != 0) {
    if (system("python3 -c 'import sys' 2>/dev/null") != 0)
      srv_missing("python3 is needed to generate the MinHash test corpus");
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s.%d' '%s.%d' %zu %zu %d && mv '%s.%d' '%s' && "
             "mv '%s.%d' '%s'", gen, c.path, (int)getpid(), pairs, (int)getpid(), npairs,
             nsingles, seed, c.path, (int)getpid(), c.path, pairs, (int)getpid(), pairs);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  }
  FILE *f = fopen(pairs, "r");
  cr_assert_not_null(f);
  c.pair = calloc(npairs, sizeof *c.pair);
  c.j = calloc(npairs, sizeof *c.j);
  size_t a, b;
  double j;
  while (c.npairs < npairs && fscanf(f, "%zu %zu %lf", &a, &b, &j) == 3) {
    c.pair[c.npairs][0] = a;
    c.pair[c.npairs][1] = b;
    c.j[c.npairs++] = j;
  }
  fclose(f);
  cr_assert_eq(c.npairs, npairs);
  c.ndocs = 2 * npairs + nsingles + 4;
  return c;
}

static void corpus_free(corpus *c) {
  free(c->pair);
  free(c->j);
  free(c->len);
}

/* ---- Running weir ------------------------------------------------------------ */
typedef struct result {
  size_t nrows;
  int64_t *line;          /* output row -> corpus line */
  int64_t *cluster;       /* annotate: per corpus line, the kept line */
  int64_t *size;
  uint8_t *dup;
  uint8_t *present;       /* per corpus line: came out */
  int64_t *len;           /* per corpus line: text bytes */
  uint64_t spilled_bytes, spilled_runs, held_spilled, band_keys, pass, dups, pairs,
      rejected_pairs;
  int rc;
  char err[1024];
} result;

typedef struct run_opts {
  int annotate, workers, verify, keep, chars, bands, rows, ngram;
  size_t limit, batch;
  const char *work_dir;
} run_opts;

static weir_op *find_op(weir_pipeline *p, const char *name, int *index) {
  (void)p;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    if (weir_pipeline_op_stats(p, i, &st) == WEIR_OK && strcmp(st.name, name) == 0) {
      *index = i;
      return NULL;
    }
  }
  *index = -1;
  return NULL;
}

static uint64_t counter(weir_pipeline *p, int op, const char *name) {
  uint64_t v = 0;
  return weir_pipeline_op_counter(p, op, name, &v) == WEIR_OK ? v : 0;
}

static int identity(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

static result run_weir(const corpus *c, const run_opts *ro) {
  result r = {0};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 4;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_read_jsonl(p, c->path, NULL);
  if (ro->batch)
    src = weir_repartition(p, src, ro->batch);
  if (ro->workers) {
    weir_op_options oo = WEIR_OP_OPTIONS_INIT;
    oo.min_workers = oo.max_workers = ro->workers;
    oo.preserve_order = 1;
    src = weir_map_batches(p, src, "upstream", identity, NULL, &oo);
  }
  weir_minhash_options mo = WEIR_MINHASH_OPTIONS_INIT;
  mo.common.mode = ro->annotate ? WEIR_TEXT_ANNOTATE : WEIR_TEXT_FILTER;
  mo.common.max_workers = ro->workers ? ro->workers : 0;
  mo.verify = ro->verify;
  mo.keep = ro->keep;
  mo.id_column = "id";
  mo.memory_limit = ro->limit;
  mo.work_dir = ro->work_dir;
  mo.bands = ro->bands;
  mo.rows = ro->rows;
  mo.ngram = ro->ngram;
  if (ro->chars)
    mo.shingle = WEIR_MINHASH_CHARS;
  weir_op *d = weir_dedup_minhash(p, src, &mo);
  if (!d) {
    r.rc = -1;
    snprintf(r.err, sizeof r.err, "%s", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return r;
  }
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, d, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  size_t cap = c->ndocs + 16;
  r.line = calloc(cap, sizeof *r.line);
  r.cluster = calloc(cap, sizeof *r.cluster);
  r.size = calloc(cap, sizeof *r.size);
  r.dup = calloc(cap, 1);
  r.present = calloc(cap, 1);
  r.len = calloc(cap, sizeof *r.len);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    int ii = weir_block_column_index(b, "id"), ti = weir_block_column_index(b, "text");
    cr_assert_geq(ii, 0);
    weir_column id, tx, cl = {0}, sz = {0}, du = {0};
    weir_block_column(b, (size_t)ii, &id);
    weir_block_column(b, (size_t)ti, &tx);
    if (ro->annotate) {
      cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "cluster_id"), &cl),
                   WEIR_OK);
      weir_block_column(b, (size_t)weir_block_column_index(b, "cluster_size"), &sz);
      weir_block_column(b, (size_t)weir_block_column_index(b, "near_duplicate"), &du);
      cr_assert_eq(cl.type, WEIR_TYPE_INT64);
      cr_assert_eq(du.type, WEIR_TYPE_BOOL);
    }
    cr_assert_eq(weir_block_column_index(b, "\x01weir_minhash_keys"), WEIR_ENOTFOUND,
                 "internal columns leak");
    for (size_t i = 0; i < id.length; i++) {
      int64_t line = 1000000 - ((const int64_t *)id.data)[i];
      cr_assert(line >= 0 && (size_t)line < c->ndocs);
      cr_assert_lt(r.nrows, cap);
      r.line[r.nrows++] = line;
      r.present[line] = 1;
      r.len[line] = tx.offsets[i + 1] - tx.offsets[i];
      if (ro->annotate) {
        r.cluster[line] = ((const int64_t *)cl.data)[i];
        r.size[line] = ((const int64_t *)sz.data)[i];
        r.dup[line] = (((const uint8_t *)du.data)[i / 8] >> (i % 8)) & 1;
      }
    }
    weir_block_unref(&b);
  }
  r.rc = rc == WEIR_EOF ? WEIR_OK : rc;
  if (r.rc)
    snprintf(r.err, sizeof r.err, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  int oi;
  find_op(p, "dedup_minhash", &oi);
  cr_assert_geq(oi, 0);
  weir_op_stats st;
  weir_pipeline_op_stats(p, oi, &st);
  r.spilled_bytes = st.spilled_bytes;
  r.spilled_runs = counter(p, oi, "spilled_runs");
  r.held_spilled = counter(p, oi, "held_rows_spilled");
  r.band_keys = counter(p, oi, "band_keys");
  r.pass = counter(p, oi, "pass");
  r.dups = counter(p, oi, "duplicates");
  r.pairs = counter(p, oi, "candidate_pairs");
  r.rejected_pairs = counter(p, oi, "rejected_pairs");
  weir_pipeline_destroy(p);
  return r;
}

static void result_free(result *r) {
  free(r->line);
  free(r->cluster);
  free(r->size);
  free(r->dup);
  free(r->present);
  free(r->len);
}

/* Annotated cluster ids are input ordinals, which are corpus lines here. */
static int same_cluster(const result *r, size_t a, size_t b) { return r->cluster[a] == r->cluster[b]; }

/* ---- Signatures -------------------------------------------------------------- */

Test(text_minhash, datatrove_golden_values) {
  /* TEXT_PREP.md 1.6: simplify_text and the first three hashes of the
   * signature DataTrove 0.10 computes (seed 1, xxhash, 64 bits). */
  const char *t = "Hello, World! The café costs 3.50 euros — don't you think it's 2024?";
  uint64_t sig[112];
  size_t ns = 0;
  char *simple = NULL;
  cr_assert_eq(weir_minhash_signature(NULL, t, strlen(t), sig, &ns, &simple), WEIR_OK);
  cr_assert_str_eq(simple, "hello world the cafe costs 0 euros don t you think it s 0");
  cr_assert_eq(ns, 10);
  cr_assert_eq(sig[0], 22036450351124560ull);
  cr_assert_eq(sig[1], 662501847382373288ull);
  cr_assert_eq(sig[2], 297792276443571086ull);
  weir_free(simple);
  /* Fewer than five words: no signature. */
  cr_assert_eq(weir_minhash_signature(NULL, "a b c d", 7, sig, &ns, NULL), WEIR_OK);
  cr_assert_eq(ns, 0);
  /* Another seed, other permutations. */
  weir_minhash_options o = WEIR_MINHASH_OPTIONS_INIT;
  o.seed = 2;
  uint64_t sig2[112];
  cr_assert_eq(weir_minhash_signature(&o, t, strlen(t), sig2, &ns, NULL), WEIR_OK);
  cr_assert_neq(sig2[0], sig[0]);
  cr_assert_eq(weir_minhash_signature(NULL, "\xff\xfe", 2, sig, &ns, NULL), WEIR_EFORMAT);
}

Test(text_minhash, simplify_unicode_rules) {
  /* Digits of other scripts, decimal separators, Hangul, Greek final sigma,
   * Turkish dotted I, marks after a space, control characters. */
  static const char *const cases[][2] = {
      {"٣٤٥ and ४२.५ or 1,5,6", "0 and 0 or 0 0"},
      {"ÀÉÎÕÜ ñ ç", "aeiou n c"},
      {"한국", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab\xe1\x84\x80\xe1\x85\xae\xe1\x86\xa8"},
      {"ΟΔΟΣ ΣΑ", "οδος σα"},
      {"İstanbul", "istanbul"},
      {"  a\t\x01" "b\r\n  c  ", "a b c"},
      {"x \xcc\x81", "x"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t sig[112];
    size_t ns;
    char *s = NULL;
    cr_assert_eq(weir_minhash_signature(NULL, cases[i][0], strlen(cases[i][0]), sig, &ns, &s),
                 WEIR_OK);
    cr_expect_str_eq(s, cases[i][1], "case %zu", i);
    weir_free(s);
  }
}

/* ---- Recall, false positives and the S-curve ------------------------------------ */

#define NPAIRS 2800
#define NSINGLES 1000

Test(text_minhash, planted_pairs_follow_the_s_curve) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts ro = {.annotate = 1};
  result r = run_weir(&c, &ro);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.nrows, c.ndocs);
  cr_assert_eq(r.pass, 2, "the barrier's pass counter");
  /* Bins of J: measured detection against 1 - (1 - J^8)^14. */
  enum { NB = 15 };
  size_t n[NB] = {0}, hit[NB] = {0};
  double theo[NB] = {0};
  size_t hi_n = 0, hi_hit = 0;
  uint8_t *planted_hi = calloc(c.ndocs, 1);
  for (size_t k = 0; k < c.npairs; k++) {
    double j = c.j[k];
    int det = same_cluster(&r, c.pair[k][0], c.pair[k][1]);
    int bin = j >= 1.0 ? NB - 1 : (int)((j - 0.3) / 0.05);
    if (bin < 0)
      bin = 0;
    if (bin > NB - 1)
      bin = NB - 1;
    n[bin]++;
    hit[bin] += (size_t)det;
    theo[bin] += 1 - pow(1 - pow(j, 8), 14);
    if (j >= 0.85) {
      hi_n++;
      hi_hit += (size_t)det;
    }
    if (j > 0.5)
      planted_hi[c.pair[k][0]] = planted_hi[c.pair[k][1]] = 1;
  }
  FILE *note = fopen(path_of("scurve.txt"), "w");
  fprintf(stderr, "MinHash S-curve (14 bands x 8 rows, word 5-grams), planted pairs:\n"
                  "  J bin      pairs  detected  theory\n");
  for (int b = 0; b < NB; b++) {
    if (!n[b])
      continue;
    double m = (double)hit[b] / (double)n[b], t = theo[b] / (double)n[b];
    fprintf(stderr, "  %.2f-%.2f  %5zu   %.3f    %.3f\n", b == NB - 1 ? 1.0 : 0.3 + 0.05 * b,
            b == NB - 1 ? 1.0 : 0.35 + 0.05 * b, n[b], m, t);
    /* Within four binomial standard deviations (plus 0.03 for the
     * spread of J inside a bin and hash-family effects). */
    double sd = sqrt(t * (1 - t) / (double)n[b]);
    cr_expect(fabs(m - t) <= 4 * sd + 0.03, "bin %d: measured %.3f, theory %.3f (n %zu)", b, m,
              t, n[b]);
  }
  if (note)
    fclose(note);
  double recall = (double)hi_hit / (double)hi_n;
  fprintf(stderr, "recall at J >= 0.85: %.4f (%zu pairs)\n", recall, hi_n);
  cr_assert_geq(recall, 0.95);
  /* False positives: pairs of documents in one cluster that are not a
   * planted pair with J > 0.5, over all pairs with J <= 0.5 (every pair of
   * documents not planted above 0.5). */
  uint64_t fp = 0;
  uint64_t *members = calloc(c.ndocs, sizeof *members);
  for (size_t i = 0; i < c.ndocs; i++)
    members[r.cluster[i]]++;
  for (size_t i = 0; i < c.ndocs; i++)
    fp += members[i] * (members[i] - (members[i] > 0)) / 2;
  size_t planted_in = 0, low_det = 0, low_n = 0;
  for (size_t k = 0; k < c.npairs; k++) {
    int det = same_cluster(&r, c.pair[k][0], c.pair[k][1]);
    if (c.j[k] > 0.5)
      planted_in += (size_t)det;
    else {
      low_n++;
      low_det += (size_t)det;
    }
  }
  fp -= planted_in;
  double all_low = (double)c.ndocs * (double)(c.ndocs - 1) / 2 - (double)(c.npairs - low_n);
  fprintf(stderr, "false positives: %llu of %.0f pairs with J <= 0.5 (%.5f%%); planted pairs "
          "0.3 <= J <= 0.5: %zu of %zu detected\n", (unsigned long long)fp, all_low,
          100.0 * (double)fp / all_low, low_det, low_n);
  cr_assert_leq((double)fp / all_low, 0.005);
  /* Unrelated documents never cluster with each other. */
  cr_assert_leq(fp - low_det, 2, "%llu unrelated pairs clustered",
                (unsigned long long)(fp - low_det));
  /* Keep-first: in each cluster the kept row is the smallest line, and
   * the counts agree. */
  size_t dups = 0;
  for (size_t i = 0; i < c.ndocs; i++) {
    cr_assert_leq(r.cluster[i], (int64_t)i);
    cr_assert_eq(r.dup[i], r.cluster[i] != (int64_t)i);
    cr_assert_eq((uint64_t)r.size[i], members[r.cluster[i]]);
    dups += r.dup[i];
  }
  cr_assert_eq(dups, r.dups);
  free(members);
  free(planted_hi);
  result_free(&r);
  corpus_free(&c);
}

/* ---- Same rows whatever runs upstream, spills or resumes --------------------------- */

static void expect_same_rows(const result *a, const result *b, const char *what) {
  cr_assert_eq(a->nrows, b->nrows, "%s: %zu rows vs %zu", what, a->nrows, b->nrows);
  for (size_t i = 0; i < a->nrows; i++)
    cr_assert_eq(a->line[i], b->line[i], "%s: row %zu", what, i);
}

Test(text_minhash, drop_mode_keeps_what_annotate_marks) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts ra = {.annotate = 1}, rd = {0};
  result a = run_weir(&c, &ra), d = run_weir(&c, &rd);
  cr_assert_eq(a.rc, 0, "%s", a.err);
  cr_assert_eq(d.rc, 0, "%s", d.err);
  size_t k = 0;
  for (size_t i = 0; i < c.ndocs; i++) {
    if (a.dup[i])
      continue;
    cr_assert_lt(k, d.nrows);
    cr_assert_eq(d.line[k], (int64_t)i, "kept row %zu", k);
    k++;
  }
  cr_assert_eq(k, d.nrows);
  cr_assert_eq(d.dups, c.ndocs - d.nrows);
  cr_assert_gt(d.dups, c.npairs / 2);
  result_free(&a);
  result_free(&d);
  corpus_free(&c);
}

Test(text_minhash, same_rows_with_1_or_4_workers_upstream) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts r1 = {.workers = 1, .batch = 97}, r4 = {.workers = 4, .batch = 97};
  result a = run_weir(&c, &r1), b = run_weir(&c, &r4);
  cr_assert_eq(a.rc, 0, "%s", a.err);
  cr_assert_eq(b.rc, 0, "%s", b.err);
  cr_assert_gt(a.dups, 0);
  expect_same_rows(&a, &b, "1 vs 4 workers");
  result_free(&a);
  result_free(&b);
  corpus_free(&c);
}

Test(text_minhash, spilling_band_keys_and_rows_changes_nothing) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts big = {.limit = (size_t)1 << 30}, small = {.limit = 512 * 1024, .batch = 200};
  result a = run_weir(&c, &big), b = run_weir(&c, &small);
  cr_assert_eq(a.rc, 0, "%s", a.err);
  cr_assert_eq(b.rc, 0, "%s", b.err);
  cr_assert_eq(a.spilled_bytes, 0);
  /* 6,604 rows x 14 bands x 16 bytes = 1.5 MB of band keys in 256 KB. */
  cr_assert_geq(b.spilled_runs, 5 * 14, "runs: %llu", (unsigned long long)b.spilled_runs);
  cr_assert_gt(b.held_spilled, c.ndocs / 2, "rows held on disk: %llu",
               (unsigned long long)b.held_spilled);
  cr_assert_gt(b.spilled_bytes, 1u << 20); /* compressed */
  expect_same_rows(&a, &b, "spilling vs not");
  result_free(&a);
  result_free(&b);
  corpus_free(&c);
}

Test(text_minhash, resumes_from_a_saved_pass_1) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  const char *wd = path_of("work");
  run_opts r1 = {.work_dir = wd, .limit = 1 << 20};
  result a = run_weir(&c, &r1);
  cr_assert_eq(a.rc, 0, "%s", a.err);
  cr_assert_gt(a.band_keys, 0);
  char m[800];
  snprintf(m, sizeof m, "%s/minhash.pass1", wd);
  cr_assert_eq(access(m, R_OK), 0, "no manifest after pass 1");
  /* A second pipeline computes no signature and keeps the same rows. */
  result b = run_weir(&c, &r1);
  cr_assert_eq(b.rc, 0, "%s", b.err);
  cr_assert_eq(b.band_keys, 0, "signatures computed again");
  cr_assert_eq(b.pass, 2);
  expect_same_rows(&a, &b, "resumed");
  /* Other parameters: refused, naming the folder. */
  run_opts r2 = {.work_dir = wd, .bands = 20, .rows = 13};
  result e = run_weir(&c, &r2);
  cr_assert_eq(e.rc, -1);
  cr_assert(strstr(e.err, "other parameters") && strstr(e.err, wd), "%s", e.err);
  /* Another input (fewer rows): the run fails instead of misnumbering. */
  corpus small = load_corpus(50, 10, 3);
  result f = run_weir(&small, &r1);
  cr_assert_eq(f.rc, WEIR_EINVAL, "%d %s", f.rc, f.err);
  cr_assert(strstr(f.err, "another input"), "%s", f.err);
  result_free(&a);
  result_free(&b);
  result_free(&e);
  result_free(&f);
  corpus_free(&c);
  corpus_free(&small);
}

/* ---- Options ----------------------------------------------------------------- */

Test(text_minhash, verification_removes_pairs_below_the_threshold) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts ro = {.annotate = 1, .verify = 1, .bands = 20, .rows = 5};
  result r = run_weir(&c, &ro);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  cr_assert_gt(r.rejected_pairs, 0, "20 x 5 bands should propose pairs under 0.8");
  size_t hi = 0, hi_det = 0;
  for (size_t k = 0; k < c.npairs; k++) {
    int det = same_cluster(&r, c.pair[k][0], c.pair[k][1]);
    /* The true Jaccard of the shingle sets is the generator's J. */
    if (c.j[k] < 0.8)
      cr_assert(!det, "pair %zu with J %.3f joined despite verification", k, c.j[k]);
    if (c.j[k] >= 0.85) {
      hi++;
      hi_det += (size_t)det;
    }
  }
  cr_assert_geq((double)hi_det / (double)hi, 0.95);
  result_free(&r);
  corpus_free(&c);
}

Test(text_minhash, keep_longest_and_smallest_id) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts rl = {.annotate = 1, .keep = WEIR_MINHASH_KEEP_LONGEST};
  run_opts ri = {.annotate = 1, .keep = WEIR_MINHASH_KEEP_SMALLEST_ID};
  result l = run_weir(&c, &rl), s = run_weir(&c, &ri);
  cr_assert_eq(l.rc, 0, "%s", l.err);
  cr_assert_eq(s.rc, 0, "%s", s.err);
  size_t checked = 0;
  for (size_t k = 0; k < c.npairs; k++) {
    size_t a = c.pair[k][0], b = c.pair[k][1];
    if (!same_cluster(&l, a, b) || l.size[a] != 2)
      continue;
    checked++;
    size_t kl = l.len[a] > l.len[b] || (l.len[a] == l.len[b] && a < b) ? a : b;
    cr_assert_eq(l.cluster[a], (int64_t)kl, "longest of %zu (%lld) and %zu (%lld)", a,
                 (long long)l.len[a], b, (long long)l.len[b]);
    /* id = 1000000 - line: the smallest id is the later line. */
    cr_assert_eq(s.cluster[a], (int64_t)(a > b ? a : b));
    cr_assert_eq(s.dup[a > b ? b : a], 1);
  }
  cr_assert_gt(checked, c.npairs / 2);
  result_free(&l);
  result_free(&s);
  corpus_free(&c);
}

Test(text_minhash, character_ngrams_find_copies) {
  corpus c = load_corpus(NPAIRS, NSINGLES, 7);
  run_opts ro = {.annotate = 1, .chars = 1, .bands = 20, .rows = 13};
  result r = run_weir(&c, &ro);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  size_t exact = 0, hi = 0, hi_det = 0;
  for (size_t k = 0; k < c.npairs; k++) {
    int det = same_cluster(&r, c.pair[k][0], c.pair[k][1]);
    if (c.j[k] >= 1.0) {
      exact++;
      cr_assert(det, "exact copy pair %zu missed", k);
    }
    if (c.j[k] >= 0.9) {
      hi++;
      hi_det += (size_t)det;
    }
  }
  cr_assert_gt(exact, 100);
  /* Character 24-grams change less than word 5-grams under word edits. */
  cr_assert_geq((double)hi_det / (double)hi, 0.95);
  result_free(&r);
  corpus_free(&c);
}

/* ---- DataTrove's own pipeline ------------------------------------------------- */

static const char *datatrove_python(void) {
  static char buf[1024];
  const char *e = getenv("WEIR_DATATROVE_PYTHON");
  if (e && *e)
    return e;
  const char *venv = getenv("WEIR_VENV");
  if (venv && *venv)
    snprintf(buf, sizeof buf, "%s-datatrove/bin/python", venv);
  else
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv-datatrove/bin/python",
             getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

Test(text_minhash, agrees_with_datatrove_four_stages) {
  corpus c = load_corpus(600, 200, 11);
  const char *py = datatrove_python();
  if (access(py, X_OK) != 0) {
    char why[1200];
    snprintf(why, sizeof why, "no DataTrove environment at %s: run .ci/setup (or set "
             "WEIR_DATATROVE_PYTHON)", py);
    srv_missing(why);
  }
  char cmd[4000];
  const char *removed = path_of("dt_removed.txt");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/minhash_datatrove.py' '%s' '%s' '%s' "
           ">'%s' 2>&1", py, WEIR_TEST_SOURCE_DIR, c.path, path_of("dt"), removed,
           path_of("dt.log"));
  cr_assert_eq(system(cmd), 0, "%s failed (see %s)", cmd, path_of("dt.log"));
  run_opts ro = {0};
  result r = run_weir(&c, &ro);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  FILE *f = fopen(removed, "r");
  cr_assert_not_null(f);
  size_t line, dt = 0, both = 0;
  uint8_t *dt_rm = calloc(c.ndocs, 1);
  while (fscanf(f, "%zu", &line) == 1) {
    cr_assert_lt(line, c.ndocs);
    dt_rm[line] = 1;
    dt++;
    both += !r.present[line];
  }
  fclose(f);
  size_t weir_only = 0;
  for (size_t i = 0; i < c.ndocs; i++)
    weir_only += !r.present[i] && !dt_rm[i];
  fprintf(stderr, "DataTrove removed %zu documents, weir %zu; weir removed %zu of DataTrove's "
          "(%.2f%%) and %zu others\n", dt, c.ndocs - r.nrows, both,
          dt ? 100.0 * (double)both / (double)dt : 0, weir_only);
  cr_assert_gt(dt, 200, "DataTrove found too few duplicates to compare");
  cr_assert_geq((double)both / (double)dt, 0.98);
  free(dt_rm);
  result_free(&r);
  corpus_free(&c);
}

/* ---- Errors -------------------------------------------------------------------- */

static int one_block(void *user, size_t task, weir_emit *out) {
  (void)task;
  int with_null = *(int *)user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  const char *t = "one two three four five six";
  for (int i = 0; i < 3; i++)
    weir_builder_append_string(b, 0, t, strlen(t));
  if (with_null)
    weir_builder_append_null(b, 0);
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static atomic_int rejected_rows;
static void on_rejected(void *user, weir_block *b) {
  (void)user;
  int ri = weir_block_column_index(b, "reason");
  cr_assert_geq(ri, 0);
  weir_column c;
  weir_block_column(b, (size_t)ri, &c);
  cr_assert_eq(memcmp((const char *)c.data + c.offsets[0], "near_duplicate", 14), 0);
  atomic_fetch_add(&rejected_rows, (int)weir_block_num_rows(b));
  weir_block_unref(&b);
}

Test(text_minhash, malformed_rows_options_and_rejects) {
  int with_null = 1;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *s = weir_source(p, "src", 1, one_block, &with_null, NULL);
  weir_op *d = weir_dedup_minhash(p, s, NULL);
  cr_assert_not_null(d);
  cr_assert_eq(weir_pipeline_run(p, d), WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "null") && strstr(weir_pipeline_errmsg(p), "text"),
            "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  /* Skipped, counted; the three equal rows become one; rejects reported. */
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  s = weir_source(p, "src", 1, one_block, &with_null, NULL);
  weir_minhash_options o = WEIR_MINHASH_OPTIONS_INIT;
  o.common.on_error = WEIR_ON_ERROR_SKIP;
  o.common.rejected = on_rejected;
  d = weir_dedup_minhash(p, s, &o);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, d, NULL, &it), WEIR_OK);
  weir_block *b;
  size_t rows = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rows, 1);
  cr_assert_eq(atomic_load(&rejected_rows), 2);
  weir_op_stats st;
  int found = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_pipeline_op_stats(p, i, &st);
    if (strcmp(st.name, "dedup_minhash") == 0) {
      found = 1;
      cr_assert_eq(st.dropped_rows, 2);
      cr_assert_eq(counter(p, i, "pass"), 2);
    }
    if (strcmp(st.name, "dedup_minhash:signatures") == 0)
      cr_assert_eq(st.skipped_rows, 1);
  }
  cr_assert(found);
  weir_pipeline_destroy(p);

  /* Bad options name themselves. */
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  s = weir_source(p, "src", 1, one_block, &with_null, NULL);
  weir_minhash_options bad = WEIR_MINHASH_OPTIONS_INIT;
  bad.keep = WEIR_MINHASH_KEEP_SMALLEST_ID;
  cr_assert_null(weir_dedup_minhash(p, s, &bad));
  cr_assert(strstr(weir_pipeline_errmsg(p), "id_column"), "%s", weir_pipeline_errmsg(p));
  bad = (weir_minhash_options)WEIR_MINHASH_OPTIONS_INIT;
  bad.rows = 100;
  cr_assert_null(weir_dedup_minhash(p, s, &bad));
  cr_assert(strstr(weir_pipeline_errmsg(p), "rows"), "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_dedup_minhash(p, NULL, NULL));
  weir_pipeline_destroy(p);
}
