/* Exact deduplication's priority mode: the rows kept against DuckDB's
 * ROW_NUMBER() OVER (PARTITION BY key ORDER BY priority DESC NULLS LAST,
 * i) = 1 on generated rows with many ties and nulls (ties: the first seen
 * wins), highest and lowest, int64, float64 and string priorities (strings
 * bytewise, many sharing their first 8 bytes), with the
 * priority table and the held rows spilling or not, 1 or 4 workers
 * upstream; annotate mode's dup_of; the held rows counted in the
 * pipeline's bytes in flight; malformed priorities and bad options. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-dedup-prio"); }
TestSuite(dedup_priority, .init = make_tmp, .fini = tmpdir_remove, .timeout = 600);

#define NROWS 60000
#define NKEYS 15000
#define NTASKS 6
#define PER_BLOCK 1000

typedef struct row {
  char k[16];
  int64_t p;
  double f;
  int p_null, f_null, s_null;
  const char *s;
} row;

/* String priorities: ties, prefixes of each other, strings equal in their
 * first 8 bytes and different after, bytes above 0x7f (unsigned order),
 * the empty string. */
static const char *const SPOOL[] = {
    "", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgh\xc3\xa9", "abcdefgg~", "abcdefgi",
    "2024-05-17T10:00:00", "2024-05-17T10:00:01", "2024-05-17T09:59:59", "2024-05-17T10:00",
    "2024-05-17", "\xc3\xa9t\xc3\xa9", "Z", "zz", "z", "~", "0", "00", "000000000",
    "0000000001", "abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz012345678",
    "abcdefghijklmnopqrstuvwxyz0123456788", "\xe2\x82\xac" "100", "\xe2\x82\xac" "99"};
#define NSPOOL (sizeof SPOOL / sizeof SPOOL[0])
static row R[NROWS];

static uint64_t rng;
static uint32_t rnd(uint32_t n) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rng >> 33) % n);
}

static void gen(void) {
  rng = 18;
  for (size_t i = 0; i < NROWS; i++) {
    /* Skewed keys: a third of the rows share the first 300. */
    uint32_t k = rnd(3) == 0 ? rnd(300) : rnd(NKEYS);
    snprintf(R[i].k, sizeof R[i].k, "k%u", k);
    R[i].p = (int64_t)rnd(5) - 2; /* five values: ties everywhere */
    R[i].p_null = rnd(10) == 0;
    R[i].f = ((double)rnd(2001) - 1000.0) / 8.0; /* exact in binary */
    R[i].f_null = rnd(20) == 0;
    R[i].s = SPOOL[rnd(NSPOOL)];
    R[i].s_null = rnd(15) == 0;
  }
}

static void write_jsonl(const char *path) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  for (size_t i = 0; i < NROWS; i++) {
    fprintf(f, "{\"i\": %zu, \"k\": \"%s\", \"p\": ", i, R[i].k);
    if (R[i].p_null)
      fputs("null", f);
    else
      fprintf(f, "%lld", (long long)R[i].p);
    fputs(", \"f\": ", f);
    if (R[i].f_null)
      fputs("null", f);
    else
      fprintf(f, "%.17g", R[i].f);
    fputs(", \"s\": ", f);
    if (R[i].s_null)
      fputs("null", f);
    else
      fprintf(f, "\"%s\"", R[i].s); /* no quote or backslash in SPOOL */
    fputs("}\n", f);
  }
  fclose(f);
}

/* DuckDB's kept rows into want[] (a 0/1 per row); their count. */
static size_t reference(const char *prio, const char *order, uint8_t *want) {
  char why[600];
  char *py = srv_venv_bin("python", why, sizeof why);
  if (!py)
    srv_missing(why);
  const char *in = path_of("rows.jsonl"), *out = path_of("ref.txt");
  write_jsonl(in);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/dedup_priority_ref.py' '%s' k %s %s '%s'", py,
           WEIR_TEST_SOURCE_DIR, in, prio, order, out);
  free(py);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  memset(want, 0, NROWS);
  FILE *f = fopen(out, "r");
  cr_assert_not_null(f);
  long long i;
  size_t n = 0;
  while (fscanf(f, "%lld", &i) == 1) {
    cr_assert(i >= 0 && i < NROWS);
    want[i] = 1;
    n++;
  }
  fclose(f);
  return n;
}

static int read_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  size_t per = NROWS / NTASKS, lo = task * per, hi = lo + per;
  for (size_t s = lo; s < hi; s += PER_BLOCK) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
    weir_builder_add_column(b, "k", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "p", WEIR_TYPE_INT64);
    weir_builder_add_column(b, "f", WEIR_TYPE_FLOAT64);
    weir_builder_add_column(b, "s", WEIR_TYPE_STRING);
    for (size_t i = s; i < s + PER_BLOCK; i++) {
      weir_builder_append_int64(b, 0, (int64_t)i);
      weir_builder_append_string(b, 1, R[i].k, strlen(R[i].k));
      if (R[i].p_null)
        weir_builder_append_null(b, 2);
      else
        weir_builder_append_int64(b, 2, R[i].p);
      if (R[i].f_null)
        weir_builder_append_null(b, 3);
      else
        weir_builder_append_float64(b, 3, R[i].f);
      if (R[i].s_null)
        weir_builder_append_null(b, 4);
      else
        weir_builder_append_string(b, 4, R[i].s, strlen(R[i].s));
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
  int64_t i[NROWS], dup_of[NROWS]; /* dup_of -1: null */
  size_t n;
  uint64_t dups, unique, runs, held_spilled, spilled_bytes, dropped;
  size_t flight_peak;
} result;
static result RES;

static uint64_t counter(weir_pipeline *p, int op, const char *name) {
  uint64_t v = 0;
  return weir_pipeline_op_counter(p, op, name, &v) == WEIR_OK ? v : 0;
}

static void run(int workers, size_t budget, const weir_dedup_exact_options *o) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.spill_dir = tmpdir;
  po.memory_budget = budget;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "rows", NTASKS, read_task, NULL, NULL);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = workers;
  weir_op *mid = weir_map_batches(p, src, "pass", pass, NULL, &oo);
  weir_op *dd = weir_dedup_exact(p, mid, o);
  cr_assert_not_null(dd, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, dd, NULL, &it), WEIR_OK);
  memset(&RES, 0, sizeof RES);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column ci, cd;
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ci);
    int di = weir_block_column_index(b, "dup_of");
    if (di >= 0)
      weir_block_column(b, (size_t)di, &cd);
    for (size_t k = 0; k < ci.length; k++) {
      cr_assert_lt(RES.n, NROWS);
      RES.i[RES.n] = ((const int64_t *)ci.data)[k];
      int valid = di >= 0 && (!cd.validity || ((cd.validity[k >> 3] >> (k & 7)) & 1));
      RES.dup_of[RES.n++] = valid ? ((const int64_t *)cd.data)[k] : -1;
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 2, &st), WEIR_OK);
  RES.dropped = st.dropped_rows;
  RES.spilled_bytes = st.spilled_bytes;
  RES.dups = counter(p, 2, "duplicates");
  RES.unique = counter(p, 2, "unique");
  RES.runs = counter(p, 2, "spilled_runs");
  RES.held_spilled = counter(p, 2, "held_rows_spilled");
  weir_pipeline_stats ps;
  cr_assert_eq(weir_pipeline_get_stats(p, &ps), WEIR_OK);
  RES.flight_peak = ps.bytes_in_flight_peak;
  weir_pipeline_destroy(p);
}

/* The output is exactly the rows `want` marks, in input order. */
static void check_kept(const uint8_t *want, size_t nwant, const char *what) {
  cr_assert_eq(RES.n, nwant, "%s: kept %zu rows, DuckDB keeps %zu", what, RES.n, nwant);
  size_t j = 0;
  for (size_t i = 0; i < NROWS; i++)
    if (want[i]) {
      cr_assert_eq(RES.i[j], (int64_t)i, "%s: output row %zu is row %lld, DuckDB keeps %zu",
                   what, j, (long long)RES.i[j], i);
      j++;
    }
  cr_assert_eq(RES.unique, nwant, "%s", what);
  cr_assert_eq(RES.dups, NROWS - nwant, "%s", what);
}

static uint8_t want[NROWS];

Test(dedup_priority, highest_int64_equals_duckdb) {
  gen();
  size_t nwant = reference("p", "desc", want);
  cr_assert_gt(nwant, 5000);
  const char *key[] = {"k"};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.key_columns = key;
  o.num_key_columns = 1;
  o.normalize = WEIR_DEDUP_NORM_NONE;
  o.priority_column = "p";
  /* Everything in memory: the held rows count in flight. */
  run(1, (size_t)256 << 20, &o);
  check_kept(want, nwant, "in memory");
  cr_assert_eq(RES.runs, 0);
  cr_assert_eq(RES.held_spilled, 0);
  cr_assert_eq(RES.dropped, NROWS - nwant);
  /* All 60 blocks were held at once, and counted: at least their bytes. */
  cr_assert_geq(RES.flight_peak, (size_t)NROWS * (8 + 8 + 8 + 4),
                "bytes in flight peaked at %zu: the held rows were not counted",
                RES.flight_peak);
  /* The priority table spills (64 KiB: runs of 768 keys), 4 workers
   * upstream, and a 2 MiB budget makes held rows go to disk. */
  o.memory_limit = 64 << 10;
  run(4, (size_t)2 << 20, &o);
  check_kept(want, nwant, "spilling");
  cr_assert_gt(RES.runs, 5, "only %llu runs", (unsigned long long)RES.runs);
  cr_assert_gt(RES.held_spilled, 0, "no held row went to disk");
  cr_assert_gt(RES.spilled_bytes, RES.runs * 768 * 32);
}

Test(dedup_priority, lowest_float64_equals_duckdb) {
  gen();
  size_t nwant = reference("f", "asc", want);
  const char *key[] = {"k"};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.key_columns = key;
  o.num_key_columns = 1;
  o.normalize = WEIR_DEDUP_NORM_NONE;
  o.priority_column = "f";
  o.priority_lowest = 1;
  run(2, (size_t)256 << 20, &o);
  check_kept(want, nwant, "lowest f");
  o.memory_limit = 64 << 10;
  run(1, (size_t)2 << 20, &o);
  check_kept(want, nwant, "lowest f, spilling");
}

/* String priorities compare bytewise, like DuckDB's VARCHAR: highest and
 * lowest, in memory and with the table spilling (a 64 KiB limit: whole
 * strings go to the file with the runs and are read back when the merge
 * finds two entries of a key that tie on their first 8 bytes). */
Test(dedup_priority, string_priority_equals_duckdb) {
  gen();
  const char *key[] = {"k"};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.key_columns = key;
  o.num_key_columns = 1;
  o.normalize = WEIR_DEDUP_NORM_NONE;
  o.priority_column = "s";
  for (int lowest = 0; lowest < 2; lowest++) {
    size_t nwant = reference("s", lowest ? "asc" : "desc", want);
    cr_assert_gt(nwant, 5000);
    o.priority_lowest = lowest;
    o.memory_limit = 0;
    run(2, (size_t)256 << 20, &o);
    check_kept(want, nwant, lowest ? "lowest string" : "highest string");
    cr_assert_eq(RES.runs, 0);
    o.memory_limit = 64 << 10;
    run(4, (size_t)2 << 20, &o);
    check_kept(want, nwant, lowest ? "lowest string, spilling" : "highest string, spilling");
    cr_assert_gt(RES.runs, 5, "only %llu runs", (unsigned long long)RES.runs);
  }
}

Test(dedup_priority, annotate_names_the_row_kept) {
  gen();
  size_t nwant = reference("p", "desc", want);
  /* The row each key keeps. */
  int64_t *winner = malloc(NKEYS * sizeof *winner);
  for (size_t i = 0; i < NROWS; i++)
    if (want[i])
      winner[atoi(R[i].k + 1)] = (int64_t)i;
  const char *key[] = {"k"};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.key_columns = key;
  o.num_key_columns = 1;
  o.normalize = WEIR_DEDUP_NORM_NONE;
  o.priority_column = "p";
  o.common.mode = WEIR_TEXT_ANNOTATE;
  for (int spill = 0; spill < 2; spill++) {
    o.memory_limit = spill ? 64 << 10 : 0;
    run(2, spill ? (size_t)2 << 20 : (size_t)256 << 20, &o);
    cr_assert_eq(RES.n, NROWS);
    cr_assert_eq(RES.dropped, 0);
    if (spill)
      cr_assert_gt(RES.runs, 0);
    for (size_t i = 0; i < NROWS; i++) {
      cr_assert_eq(RES.i[i], (int64_t)i, "annotate reordered rows at %zu", i);
      int64_t w = winner[atoi(R[i].k + 1)];
      int64_t exp = w == (int64_t)i ? -1 : w;
      cr_assert_eq(RES.dup_of[i], exp, "row %zu (spill %d): dup_of %lld, expected %lld", i,
                   spill, (long long)RES.dup_of[i], (long long)exp);
    }
  }
  cr_assert_eq(RES.unique, nwant);
  free(winner);
}

/* ---- Small inputs: the tie rule, nulls, -0.0, NaN, bad options ------------- */

typedef struct small {
  const char *k[8];
  double f[8];
  int null[8];
  size_t n;
} small;
static small S;

static int read_small(void *user, size_t task, weir_emit *out) {
  (void)user, (void)task;
  weir_builder *b;
  cr_assert_eq(weir_builder_create(&b), WEIR_OK);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "score", WEIR_TYPE_FLOAT64);
  weir_builder_add_column(b, "name", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "flag", WEIR_TYPE_BOOL);
  for (size_t i = 0; i < S.n; i++) {
    weir_builder_append_string(b, 0, S.k[i], strlen(S.k[i]));
    if (S.null[i])
      weir_builder_append_null(b, 1);
    else
      weir_builder_append_float64(b, 1, S.f[i]);
    char id[2] = {(char)('0' + i), 0};
    weir_builder_append_string(b, 2, id, 1); /* tells rows apart */
    weir_builder_append_bool(b, 3, (int)(i & 1));
  }
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

/* Runs the small input; the kept rows' positions into kept[], their count,
 * or -1 with rc and the message. */
static int run_small(const weir_dedup_exact_options *o, int *kept, int *rc_out, char *msg,
                     uint64_t *skipped) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "small", 1, read_small, NULL, NULL);
  weir_op *dd = weir_dedup_exact(p, src, o);
  cr_assert_not_null(dd, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, dd, NULL, &it), WEIR_OK);
  int n = 0, rc;
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column c;
    weir_block_column(b, 2, &c);
    for (size_t k = 0; k < c.length; k++)
      kept[n++] = ((const char *)c.data)[c.offsets[k]] - '0';
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  *rc_out = rc;
  snprintf(msg, 1024, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  *skipped = st.skipped_rows;
  weir_pipeline_destroy(p);
  return n;
}

Test(dedup_priority, ties_nulls_and_negative_zero) {
  /* Keys normalised as DPK's: "A b" and "ab" are one key. */
  S = (small){{"A b", "ab", "ab", "c", "c", "d", "d", "d"},
              {1.0, 3.0, 3.0, 0, -0.0, 0, 0, 0},
              {0, 0, 0, 1, 0, 1, 1, 1},
              8};
  S.f[2] = 3.0; /* a tie with row 1: the first seen (row 1) wins */
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.priority_column = "score";
  int kept[8], rc;
  char msg[1024];
  uint64_t skipped;
  int n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EOF, "%s", msg);
  /* "ab": row 1 (3.0, first of the tie); "c": row 4 (-0.0 beats a null);
   * "d": all null, the first (row 5). */
  cr_assert_eq(n, 3);
  cr_assert_eq(kept[0], 1);
  cr_assert_eq(kept[1], 4);
  cr_assert_eq(kept[2], 5);
  /* -0.0 ties with 0.0: the first seen wins. */
  S = (small){{"z", "z"}, {-0.0, 0.0}, {0, 0}, 2};
  n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(n, 1);
  cr_assert_eq(kept[0], 0, "0.0 beat an earlier -0.0");
  /* The lowest: -0.0 is not below 0.0 either. */
  o.priority_lowest = 1;
  S = (small){{"z", "z", "z"}, {0.0, -0.0, 5}, {0, 0, 0}, 3};
  n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(n, 1);
  cr_assert_eq(kept[0], 0);
}

Test(dedup_priority, malformed_priorities) {
  S = (small){{"a", "a", "b"}, {1.0, NAN, 2.0}, {0, 0, 0}, 3};
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.priority_column = "score";
  int kept[8], rc;
  char msg[1024];
  uint64_t skipped;
  run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EFORMAT);
  cr_assert(strstr(msg, "dedup_exact") && strstr(msg, "'score'") && strstr(msg, "row 1") &&
                strstr(msg, "NaN"),
            "%s", msg);
  o.common.on_error = WEIR_ON_ERROR_SKIP;
  int n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EOF, "%s", msg);
  cr_assert_eq(n, 2);
  cr_assert_eq(skipped, 1);
  /* A string priority ranks bytewise: "1" beats "0" for key "a". */
  o.common.on_error = WEIR_ON_ERROR_FAIL;
  o.priority_column = "name";
  n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EOF, "%s", msg);
  cr_assert_eq(n, 2);
  cr_assert_eq(kept[0], 1);
  cr_assert_eq(kept[1], 2);
  /* A priority of another type, and a missing one, end the run naming
   * the column. */
  o.priority_column = "flag";
  run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EINVAL);
  cr_assert(strstr(msg, "priority column 'flag'") && strstr(msg, "bool"), "%s", msg);
  o.priority_column = "nope";
  run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_ENOTFOUND);
  cr_assert(strstr(msg, "'nope'"), "%s", msg);
}

Test(dedup_priority, options) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  S = (small){{"a", "a"}, {1.0, 2.0}, {0, 0}, 2};
  weir_op *src = weir_source(p, "small", 1, read_small, NULL, NULL);
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  o.priority_column = "";
  cr_assert_null(weir_dedup_exact(p, src, &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "priority_column"), "%s", weir_pipeline_errmsg(p));
  o.priority_column = "score";
  o.priority_lowest = 2;
  cr_assert_null(weir_dedup_exact(p, src, &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "priority_lowest"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  /* A version 1 struct: its caller never set the priority fields, which
   * are not read (garbage there is ignored): keep-first. */
  o.version = 1;
  o.priority_column = (const char *)(uintptr_t)0x1;
  o.priority_lowest = 77;
  int kept[8], rc;
  char msg[1024];
  uint64_t skipped;
  int n = run_small(&o, kept, &rc, msg, &skipped);
  cr_assert_eq(rc, WEIR_EOF, "%s", msg);
  cr_assert_eq(n, 1);
  cr_assert_eq(kept[0], 0);
}

/* MinHash holds every row until its input ends: those rows count in the
 * pipeline's budget, so with a 2 MiB budget (and MinHash's own limit far
 * above it) they go to disk once they would pass three quarters of it.
 * Rows of one word have no signature and are held all the same. */
Test(dedup_priority, minhash_held_rows_count_in_the_budget) {
  gen();
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.spill_dir = tmpdir;
  po.memory_budget = (size_t)2 << 20;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op *src = weir_source(p, "rows", NTASKS, read_task, NULL, NULL);
  weir_minhash_options mo = WEIR_MINHASH_OPTIONS_INIT;
  mo.common.column = "k";
  mo.memory_limit = (size_t)256 << 20;
  weir_op *mh = weir_dedup_minhash(p, src, &mo);
  cr_assert_not_null(mh, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, mh, NULL, &it), WEIR_OK);
  size_t n = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column ci;
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ci);
    for (size_t k = 0; k < ci.length; k++, n++)
      cr_assert_eq(((const int64_t *)ci.data)[k], (int64_t)n, "rows out of order at %zu", n);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(n, NROWS);
  int last = weir_pipeline_num_ops(p) - 1;
  uint64_t held = counter(p, last, "held_rows_spilled");
  cr_assert_gt(held, 0, "no held row went to disk: MinHash's rows are outside the budget");
  weir_pipeline_destroy(p);
}
