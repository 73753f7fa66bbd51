/* Sequence packing: the rows against the concatenation of the documents'
 * tokens and separators computed here, cut by hand; the same rows with 1 or
 * 4 workers upstream (preserve_order), every token exactly once in any
 * order; doc_starts and num_tokens; the last row padded, dropped or carried
 * to the next run; other integer dtypes; bad input. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

TestSuite(text_pack, .timeout = 300);

#define NDOCS 1500
#define NTASKS 8
#define EOS 1
#define PAD 0

/* Document d has len[d] tokens, token k being 1000 + d * 10000 + k: every
 * token of the corpus is distinct, and tells where it came from. */
static size_t doc_len[NDOCS];
static uint64_t rs;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rs >> 33) % n);
}
static void gen(void) {
  rs = 7;
  for (size_t d = 0; d < NDOCS; d++) {
    uint32_t r = rnd(20);
    /* Mostly short, some empty, some longer than a row. */
    doc_len[d] = r == 0 ? 0 : r < 15 ? 1 + rnd(300) : 400 + rnd(2500);
  }
}
static int32_t tok_of(size_t d, size_t k) { return (int32_t)(1000 + d * 10000 + k); }

typedef struct src_cfg {
  int dtype;             /* list dtype: INT32 (default), INT64, UINT16 */
  int null_empty;        /* empty documents as null lists */
} src_cfg;

static int read_task(void *user, size_t task, weir_emit *out) {
  src_cfg *sc = user;
  int dtype = sc && sc->dtype ? sc->dtype : WEIR_DTYPE_INT32;
  size_t per = NDOCS / NTASKS, lo = task * per, hi = task + 1 == NTASKS ? NDOCS : lo + per;
  for (size_t s = lo; s < hi; s += 50) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    cr_assert_eq(weir_builder_add_list_column(b, "tokens", dtype), WEIR_OK);
    weir_builder_add_column(b, "doc", WEIR_TYPE_INT64);
    for (size_t d = s; d < hi && d < s + 50; d++) {
      int64_t v64[3000];
      int32_t v32[3000];
      uint16_t v16[3000];
      for (size_t k = 0; k < doc_len[d]; k++) {
        v32[k] = tok_of(d, k);
        v64[k] = v32[k];
        v16[k] = (uint16_t)(d * 7 + k);
      }
      const void *v = dtype == WEIR_DTYPE_INT64 ? (const void *)v64
                      : dtype == WEIR_DTYPE_UINT16 ? (const void *)v16 : (const void *)v32;
      if (doc_len[d] == 0 && sc && sc->null_empty)
        cr_assert_eq(weir_builder_append_null(b, 0), WEIR_OK);
      else
        cr_assert_eq(weir_builder_append_list(b, 0, v, doc_len[d]), WEIR_OK);
      weir_builder_append_int64(b, 1, (int64_t)d);
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

/* Passes blocks on after a short random pause, to mix the timing. */
static int jitter(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  unsigned seed = (unsigned)(uintptr_t)in ^ (unsigned)clock();
  struct timespec ts = {0, (long)(rand_r(&seed) % 2000) * 1000};
  nanosleep(&ts, NULL);
  return weir_emit_block(out, weir_block_ref(in));
}

/* ---- The expected stream, computed here ----------------------------------- */

typedef struct stream {
  int32_t *tok;
  uint8_t *first;       /* 1 at a document's first token */
  size_t n;
} stream;

static stream expected_stream(int eos, size_t times) {
  stream s = {0};
  size_t cap = 0;
  for (size_t d = 0; d < NDOCS; d++)
    cap += doc_len[d] + 1;
  cap *= times;
  s.tok = malloc(cap * sizeof *s.tok);
  s.first = calloc(cap, 1);
  for (size_t t = 0; t < times; t++)
    for (size_t d = 0; d < NDOCS; d++) {
      if (!doc_len[d])
        continue;
      for (size_t k = 0; k < doc_len[d]; k++) {
        s.first[s.n] = k == 0;
        s.tok[s.n++] = tok_of(d, k);
      }
      if (eos >= 0)
        s.tok[s.n++] = eos;
    }
  return s;
}

/* ---- Running -------------------------------------------------------------- */

typedef struct packed {
  int32_t *tok;         /* rows * L */
  int32_t **starts;     /* per row, NULL when not asked */
  size_t *nstarts;
  int32_t *num;         /* per row, when asked */
  size_t rows, L;
  weir_op_stats st;
  uint64_t docs, empty, tokens, seps, crows, pad, dropped, carried;
} packed;

static uint64_t counter(weir_pipeline *p, int op, const char *name) {
  uint64_t v = 0;
  return weir_pipeline_op_counter(p, op, name, &v) == WEIR_OK ? v : UINT64_MAX;
}

static void collect(weir_pipeline *p, weir_op *op, int pack_index, packed *r) {
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column tc;
    int ti = weir_block_column_index(b, "tokens");
    cr_assert_geq(ti, 0);
    weir_block_column(b, (size_t)ti, &tc);
    cr_assert_eq(tc.type, WEIR_TYPE_TENSOR);
    cr_assert_eq(tc.dtype, WEIR_DTYPE_INT32);
    cr_assert_eq(tc.ndim, 1);
    if (!r->L)
      r->L = (size_t)tc.shape[0];
    cr_assert_eq((size_t)tc.shape[0], r->L);
    size_t n = tc.length;
    r->tok = realloc(r->tok, (r->rows + n) * r->L * sizeof *r->tok);
    memcpy(r->tok + r->rows * r->L, tc.data, n * r->L * sizeof *r->tok);
    int si = weir_block_column_index(b, "doc_starts");
    int ni = weir_block_column_index(b, "num_tokens");
    r->starts = realloc(r->starts, (r->rows + n) * sizeof *r->starts);
    r->nstarts = realloc(r->nstarts, (r->rows + n) * sizeof *r->nstarts);
    r->num = realloc(r->num, (r->rows + n) * sizeof *r->num);
    weir_column sc, nc;
    if (si >= 0) {
      weir_block_column(b, (size_t)si, &sc);
      cr_assert_eq(sc.type, WEIR_TYPE_LIST);
      cr_assert_eq(sc.dtype, WEIR_DTYPE_INT32);
    }
    if (ni >= 0) {
      weir_block_column(b, (size_t)ni, &nc);
      cr_assert_eq(nc.type, WEIR_TYPE_INT32);
    }
    for (size_t i = 0; i < n; i++) {
      size_t row = r->rows + i;
      r->starts[row] = NULL;
      r->nstarts[row] = 0;
      r->num[row] = -1;
      if (si >= 0) {
        size_t k = (size_t)(sc.offsets[i + 1] - sc.offsets[i]);
        r->starts[row] = malloc((k ? k : 1) * sizeof(int32_t));
        memcpy(r->starts[row], (const int32_t *)sc.data + sc.offsets[i], k * sizeof(int32_t));
        r->nstarts[row] = k;
      }
      if (ni >= 0)
        r->num[row] = ((const int32_t *)nc.data)[i];
    }
    r->rows += n;
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_op_stats(p, pack_index, &r->st), WEIR_OK);
  r->docs = counter(p, pack_index, "docs");
  r->empty = counter(p, pack_index, "empty_docs");
  r->tokens = counter(p, pack_index, "tokens");
  r->seps = counter(p, pack_index, "separators");
  r->crows = counter(p, pack_index, "rows");
  r->pad = counter(p, pack_index, "pad_tokens");
  r->dropped = counter(p, pack_index, "dropped_tokens");
  r->carried = counter(p, pack_index, "carried_tokens");
}

static weir_pipeline *build(int workers, const weir_pack_options *o, src_cfg *sc, weir_op **out) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", NTASKS, read_task, sc, NULL);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = workers;
  weir_op *mid = weir_map_batches(p, src, "jitter", jitter, NULL, &oo);
  *out = weir_pack_sequences(p, mid, o);
  cr_assert_not_null(*out, "%s", weir_pipeline_errmsg(p));
  return p;
}

static packed run(int workers, const weir_pack_options *o, src_cfg *sc) {
  weir_op *op;
  weir_pipeline *p = build(workers, o, sc, &op);
  packed r = {0};
  collect(p, op, 2, &r);
  weir_pipeline_destroy(p);
  return r;
}

static void packed_free(packed *r) {
  for (size_t i = 0; i < r->rows; i++)
    free(r->starts[i]);
  free(r->starts);
  free(r->nstarts);
  free(r->num);
  free(r->tok);
}

/* Checks rows [0, r->rows) against `s` from token `from`: full rows, then
 * (pad) a last one padded. */
static void check_rows(const packed *r, const stream *s, size_t L, int padded, int with_starts) {
  size_t full = s->n / L, rest = s->n % L;
  cr_assert_eq(r->rows, full + (padded && rest ? 1 : 0), "rows %zu, expected %zu (+%d)", r->rows,
               full, padded && rest);
  for (size_t row = 0; row < r->rows; row++) {
    size_t have = row < full ? L : rest;
    for (size_t k = 0; k < L; k++) {
      int32_t want = k < have ? s->tok[row * L + k] : PAD;
      cr_assert_eq(r->tok[row * L + k], want, "row %zu token %zu: %d, expected %d", row, k,
                   r->tok[row * L + k], want);
    }
    if (r->num[row] >= 0)
      cr_assert_eq((size_t)r->num[row], have, "row %zu num_tokens %d, expected %zu", row,
                   r->num[row], have);
    if (!with_starts)
      continue;
    /* Starts: 0, then every document's first token after position 0. */
    size_t j = 0;
    cr_assert_gt(r->nstarts[row], 0, "row %zu has no starts", row);
    cr_assert_eq(r->starts[row][j++], 0);
    for (size_t k = 1; k < have; k++)
      if (s->first[row * L + k]) {
        cr_assert_lt(j, r->nstarts[row], "row %zu: a document starts at %zu, not listed", row, k);
        cr_assert_eq(r->starts[row][j], (int32_t)k, "row %zu start %zu: %d, expected %zu", row,
                     j, r->starts[row][j], k);
        j++;
      }
    cr_assert_eq(j, r->nstarts[row], "row %zu: %zu starts, expected %zu", row, r->nstarts[row],
                 j);
  }
}

/* ---- Tests -------------------------------------------------------------- */

Test(text_pack, rows_equal_the_stream_cut_by_hand_with_1_and_4_workers) {
  gen();
  stream s = expected_stream(EOS, 1);
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.seq_len = 512;
  o.eos_id = EOS;
  o.pad_id = PAD;
  o.doc_starts = 1;
  o.num_tokens = 1;
  size_t ndocs = 0, ntok = 0;
  for (size_t d = 0; d < NDOCS; d++) {
    ndocs += doc_len[d] != 0;
    ntok += doc_len[d];
  }
  cr_assert_gt(s.n % 512, 0, "the corpus should leave a partial row");
  for (int w = 1; w <= 4; w += 3) {
    packed r = run(w, &o, NULL);
    check_rows(&r, &s, 512, 1, 1);
    cr_assert_eq(r.docs, ndocs);
    cr_assert_eq(r.empty, NDOCS - ndocs);
    cr_assert_eq(r.tokens, ntok);
    cr_assert_eq(r.seps, ndocs);
    cr_assert_eq(r.crows, r.rows);
    cr_assert_eq(r.pad, 512 - s.n % 512);
    cr_assert_eq(r.st.rows_in, NDOCS);
    cr_assert_eq(r.st.rows_out, r.rows);
    packed_free(&r);
  }
  free(s.tok);
  free(s.first);
}

/* Without order, rows depend on timing, but every token is in exactly one
 * row, each document's tokens in order, each followed by its EOS. */
Test(text_pack, any_order_keeps_every_token_once) {
  gen();
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.seq_len = 300;
  o.eos_id = EOS;
  o.any_order = 1;
  packed r = run(4, &o, NULL);
  size_t total = 0;
  for (size_t d = 0; d < NDOCS; d++)
    total += doc_len[d] + (doc_len[d] ? 1 : 0);
  cr_assert_eq(r.rows, (total + 299) / 300);
  uint8_t *seen = calloc(NDOCS * 10000, 1);
  size_t eos = 0, pads = 0;
  int64_t prev = -1;
  for (size_t i = 0; i < r.rows * 300; i++) {
    int32_t t = r.tok[i];
    if (i >= total) {
      cr_assert_eq(t, PAD);
      pads++;
      continue;
    }
    if (t == EOS) {
      cr_assert_geq(prev, 0, "EOS at %zu without a document before it", i);
      size_t d = (size_t)(prev - 1000) / 10000, k = (size_t)(prev - 1000) % 10000;
      cr_assert_eq(k + 1, doc_len[d], "EOS after token %zu of document %zu (of %zu)", k, d,
                   doc_len[d]);
      eos++;
      prev = -1;
      continue;
    }
    cr_assert_geq(t, 1000);
    size_t d = (size_t)(t - 1000) / 10000, k = (size_t)(t - 1000) % 10000;
    cr_assert_lt(d, NDOCS);
    cr_assert_lt(k, doc_len[d]);
    cr_assert_eq(seen[t - 1000], 0, "token %d twice", t);
    seen[t - 1000] = 1;
    cr_assert(k == 0 ? prev == -1 : prev == t - 1, "token %d follows %lld", t, (long long)prev);
    prev = t;
  }
  size_t ndocs = 0, ntok = 0;
  for (size_t d = 0; d < NDOCS; d++) {
    ndocs += doc_len[d] != 0;
    ntok += doc_len[d];
  }
  size_t nseen = 0;
  for (size_t i = 0; i < NDOCS * 10000; i++)
    nseen += seen[i];
  cr_assert_eq(nseen, ntok, "%zu tokens out, %zu in", nseen, ntok);
  cr_assert_eq(eos, ndocs);
  cr_assert_eq(pads, r.rows * 300 - total);
  free(seen);
  packed_free(&r);
}

Test(text_pack, drop_last_and_no_separator) {
  gen();
  stream s = expected_stream(-1, 1);
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.seq_len = 1000;
  o.last = WEIR_PACK_LAST_DROP;
  src_cfg sc = {0, 1}; /* empty documents as null lists */
  packed r = run(2, &o, &sc);
  check_rows(&r, &s, 1000, 0, 0);
  cr_assert_eq(r.dropped, s.n % 1000);
  cr_assert_eq(r.seps, 0);
  cr_assert_eq(r.pad, UINT64_MAX, "no pad_tokens counter when nothing is padded");
  packed_free(&r);
  free(s.tok);
  free(s.first);
}

/* The last partial row's tokens open the next run (an epoch). */
Test(text_pack, carry_to_the_next_run) {
  gen();
  stream s = expected_stream(EOS, 2);
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.seq_len = 777;
  o.eos_id = EOS;
  o.last = WEIR_PACK_LAST_CARRY;
  o.doc_starts = 1;
  weir_op *op;
  weir_pipeline *p = build(3, &o, NULL, &op);
  packed r = {0};
  collect(p, op, 2, &r);
  size_t one = s.n / 2;
  cr_assert_eq(r.rows, one / 777);
  cr_assert_eq(r.carried, one % 777);
  size_t first_rows = r.rows;
  collect(p, op, 2, &r); /* the second run appends to r */
  weir_pipeline_destroy(p);
  /* Both runs together: the stream of two passes, cut by hand, less the
   * second run's own leftover. */
  cr_assert_eq(r.rows, s.n / 777, "%zu rows over two runs (%zu in the first)", r.rows,
               first_rows);
  cr_assert_eq(r.carried, s.n % 777);
  s.n -= s.n % 777;
  check_rows(&r, &s, 777, 0, 1);
  packed_free(&r);
  free(s.tok);
  free(s.first);
}

Test(text_pack, other_integer_dtypes) {
  gen();
  stream s = expected_stream(EOS, 1);
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.seq_len = 640;
  o.eos_id = EOS;
  src_cfg sc = {WEIR_DTYPE_INT64, 0};
  packed r = run(2, &o, &sc);
  check_rows(&r, &s, 640, 1, 0);
  packed_free(&r);
  /* uint16: token k of document d is (d * 7 + k) mod 65536. */
  sc.dtype = WEIR_DTYPE_UINT16;
  r = run(1, &o, &sc);
  size_t i = 0;
  for (size_t d = 0; d < NDOCS; d++) {
    if (!doc_len[d])
      continue;
    for (size_t k = 0; k < doc_len[d]; k++, i++)
      cr_assert_eq(r.tok[i], (int32_t)(uint16_t)(d * 7 + k), "token %zu", i);
    cr_assert_eq(r.tok[i++], EOS);
  }
  packed_free(&r);
  free(s.tok);
  free(s.first);
}

/* NULL options: rows of 2048, no separator, padding 0; nothing lost. */
Test(text_pack, null_options) {
  gen();
  packed r = run(1, NULL, NULL);
  cr_assert_eq(r.L, 2048);
  size_t ntok = 0;
  for (size_t d = 0; d < NDOCS; d++)
    ntok += doc_len[d];
  cr_assert_eq(r.rows, (ntok + 2047) / 2048);
  cr_assert_eq(r.tokens, ntok);
  for (size_t i = ntok; i < r.rows * 2048; i++)
    cr_assert_eq(r.tok[i], 0);
  cr_assert_neq(r.tok[ntok - 1], 0);
  packed_free(&r);
}

/* ---- Bad input -------------------------------------------------------- */

typedef struct bad_src {
  int kind;
} bad_src;

static int bad_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  bad_src *bs = user;
  weir_builder *b;
  weir_builder_create(&b);
  if (bs->kind == 0) {
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_append_string(b, 0, "x", 1);
  } else if (bs->kind == 1) {
    weir_builder_add_column(b, "tokens", WEIR_TYPE_STRING);
    weir_builder_append_string(b, 0, "x", 1);
  } else {
    weir_builder_add_list_column(b, "tokens", WEIR_DTYPE_INT64);
    int64_t v[3] = {5, (int64_t)1 << 40, 6};
    weir_builder_append_list(b, 0, v, 1);
    weir_builder_append_list(b, 0, v, 3);
  }
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static void expect_failure(int kind, int code, const char *const *parts) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  bad_src bs = {kind};
  weir_op *src = weir_source(p, "src", 1, bad_read, &bs, NULL);
  weir_op *pk = weir_pack_sequences(p, src, NULL);
  cr_assert_not_null(pk);
  int rc = weir_pipeline_run(p, pk);
  cr_assert_eq(rc, code, "rc %d (%s)", rc, weir_pipeline_errmsg(p));
  for (const char *const *q = parts; *q; q++)
    cr_assert_not_null(strstr(weir_pipeline_errmsg(p), *q), "'%s' not in \"%s\"", *q,
                       weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(text_pack, bad_input_names_operator_and_column) {
  const char *missing[] = {"pack_sequences", "'tokens'", NULL};
  expect_failure(0, WEIR_ENOTFOUND, missing);
  const char *type[] = {"pack_sequences", "'tokens'", "string", "list of integers", NULL};
  expect_failure(1, WEIR_EINVAL, type);
  const char *range[] = {"pack_sequences", "'tokens'", "row 1", "token 1", "int32", NULL};
  expect_failure(2, WEIR_EINVAL, range);
}

Test(text_pack, bad_options) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "src", 1, bad_read, NULL, NULL);
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.last = 7;
  cr_assert_null(weir_pack_sequences(p, src, &o));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "last 7"), "%s", weir_pipeline_errmsg(p));
  o = (weir_pack_options)WEIR_PACK_OPTIONS_INIT;
  o.eos_id = (int64_t)1 << 33;
  cr_assert_null(weir_pack_sequences(p, src, &o));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "eos_id"));
  o = (weir_pack_options)WEIR_PACK_OPTIONS_INIT;
  o.version = 99;
  cr_assert_null(weir_pack_sequences(p, src, &o));
  cr_assert_null(weir_pack_sequences(p, NULL, NULL));
  weir_pipeline_destroy(p);
}
