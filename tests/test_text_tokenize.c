/* weir_tokenize and token chunking against the `tokenizers` package: a
 * byte-level BPE trained by tests/text/tokenize_reference.py on generated
 * multilingual text, a corpus with the hard cases; every document's ids
 * equal to encode(text).ids with 1 or 4 workers upstream; BOS/EOS; the
 * tokens packed by weir_pack_sequences equal to the reference ids cut by
 * hand; token chunks equal to the windows computed in Python from the
 * package's offsets; invalid UTF-8 failing, skipped or replaced as Python's
 * errors='replace'; bad input. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "core/block_internal.h"
#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-tokenize"); }
TestSuite(text_tokenize, .init = make_tmp, .fini = tmpdir_remove, .timeout = 600);

static const char *venv_python(void) {
  static char buf[1024];
  const char *venv = getenv("WEIR_VENV");
  if (venv && *venv)
    snprintf(buf, sizeof buf, "%s/bin/python", venv);
  else
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv/bin/python",
             getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

/* ---- The reference ----------------------------------------------------------- */

typedef struct nums {
  int64_t *v;
  size_t n;
} nums;

typedef struct ref {
  char **text;
  size_t *len;
  nums *ids, *c16, *c128;
  size_t n;
  nums replace;
  int32_t eot;
  weir_tokenizer *tok;
} ref;

static nums parse_line(FILE *f) {
  nums r = {0};
  size_t cap = 0;
  char *line = NULL;
  size_t lc = 0;
  cr_assert_geq(getline(&line, &lc, f), 0, "reference file short");
  char *p = line;
  for (;;) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p)
      break;
    if (r.n == cap)
      r.v = realloc(r.v, (cap = cap ? cap * 2 : 64) * sizeof *r.v);
    r.v[r.n++] = v;
    p = end;
  }
  free(line);
  return r;
}

static ref R;

static void load_reference(void) {
  const char *py = venv_python();
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "'%s' -c 'import tokenizers' 2>/dev/null", py);
  if (access(py, X_OK) != 0 || system(cmd) != 0)
    srv_missing("no Python environment with the tokenizers package (run .ci/setup)");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/tokenize_reference.py' '%s' 16", py,
           WEIR_TEST_SOURCE_DIR, tmpdir);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);

  /* The corpus, through weir's JSONL reader, placed by its "i". */
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_read_jsonl(p, path_of("corpus.jsonl"), NULL);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  R.n = 0;
  size_t cap = 1024;
  R.text = calloc(cap, sizeof *R.text);
  R.len = calloc(cap, sizeof *R.len);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column t, ic;
    weir_block_column(b, (size_t)weir_block_column_index(b, "text"), &t);
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ic);
    cr_assert_eq(ic.type, WEIR_TYPE_INT64);
    for (size_t k = 0; k < t.length; k++) {
      size_t i = (size_t)((const int64_t *)ic.data)[k];
      cr_assert_lt(i, cap);
      size_t l = (size_t)(t.offsets[k + 1] - t.offsets[k]);
      R.text[i] = malloc(l + 1);
      memcpy(R.text[i], (const char *)t.data + t.offsets[k], l);
      R.text[i][l] = 0;
      R.len[i] = l;
      if (i + 1 > R.n)
        R.n = i + 1;
    }
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  cr_assert_eq(R.n, 700);

  FILE *f = fopen(path_of("ref.txt"), "r");
  cr_assert_not_null(f);
  R.ids = calloc(R.n, sizeof *R.ids);
  R.c16 = calloc(R.n, sizeof *R.c16);
  R.c128 = calloc(R.n, sizeof *R.c128);
  for (size_t i = 0; i < R.n; i++) {
    R.ids[i] = parse_line(f);
    R.c16[i] = parse_line(f);
    R.c128[i] = parse_line(f);
  }
  fclose(f);
  f = fopen(path_of("replace.txt"), "r");
  cr_assert_not_null(f);
  R.replace = parse_line(f);
  nums e = parse_line(f);
  R.eot = (int32_t)e.v[0];
  free(e.v);
  fclose(f);
  rc = weir_tokenizer_load(path_of("tokenizer.json"), &R.tok);
  cr_assert_eq(rc, WEIR_OK, "weir_tokenizer_load: %s", weir_last_errmsg());
}

static void free_reference(void) {
  for (size_t i = 0; i < R.n; i++) {
    free(R.text[i]);
    free(R.ids[i].v);
    free(R.c16[i].v);
    free(R.c128[i].v);
  }
  free(R.text);
  free(R.len);
  free(R.ids);
  free(R.c16);
  free(R.c128);
  free(R.replace.v);
  weir_tokenizer_free(R.tok);
  memset(&R, 0, sizeof R);
}

/* ---- A source over the corpus ---------------------------------------------------- */

#define NTASKS 5

static int read_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  size_t per = R.n / NTASKS, lo = task * per, hi = task + 1 == NTASKS ? R.n : lo + per;
  for (size_t s = lo; s < hi; s += 23) {
    weir_builder *b;
    cr_assert_eq(weir_builder_create(&b), WEIR_OK);
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "i", WEIR_TYPE_INT64);
    for (size_t d = s; d < hi && d < s + 23; d++) {
      cr_assert_eq(weir_builder_append_string(b, 0, R.text[d], R.len[d]), WEIR_OK);
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

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

static weir_pipeline *source(int workers, weir_op **out) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", NTASKS, read_task, NULL, NULL);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = workers;
  *out = weir_map_batches(p, src, "pass", pass, NULL, &oo);
  return p;
}

/* ---- weir_tokenize ------------------------------------------------------------- */

/* Runs tokenize with `o` and checks each row's tokens against the
 * reference ids with `bos` before and `eos` after (when >= 0). */
static void check_tokenize(int workers, const weir_tokenize_options *o, int32_t bos,
                           int32_t eos) {
  weir_op *in;
  weir_pipeline *p = source(workers, &in);
  weir_op *tk = weir_tokenize(p, in, R.tok, o);
  cr_assert_not_null(tk, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, tk, NULL, &it), WEIR_OK);
  uint8_t *seen = calloc(R.n, 1);
  uint64_t total = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column tc, cc, ic;
    weir_block_column(b, (size_t)weir_block_column_index(b, "tokens"), &tc);
    weir_block_column(b, (size_t)weir_block_column_index(b, "token_count"), &cc);
    weir_block_column(b, (size_t)weir_block_column_index(b, "i"), &ic);
    cr_assert_eq(tc.type, WEIR_TYPE_LIST);
    cr_assert_eq(tc.dtype, WEIR_DTYPE_INT32);
    cr_assert_eq(cc.type, WEIR_TYPE_INT64);
    cr_assert_geq(weir_block_column_index(b, "text"), 0, "the text column is kept");
    for (size_t r = 0; r < tc.length; r++) {
      size_t d = (size_t)((const int64_t *)ic.data)[r];
      cr_assert_eq(seen[d], 0, "document %zu twice", d);
      seen[d] = 1;
      const int32_t *t = (const int32_t *)tc.data + tc.offsets[r];
      size_t n = (size_t)(tc.offsets[r + 1] - tc.offsets[r]);
      nums want = R.ids[d];
      size_t extra = (bos >= 0) + (eos >= 0);
      cr_assert_eq(n, want.n + extra, "document %zu: %zu ids, the package gives %zu (+%zu)", d,
                   n, want.n, extra);
      cr_assert_eq(((const int64_t *)cc.data)[r], (int64_t)n);
      size_t k = 0;
      if (bos >= 0)
        cr_assert_eq(t[k++], bos);
      for (size_t j = 0; j < want.n; j++, k++)
        cr_assert_eq(t[k], (int32_t)want.v[j], "document %zu id %zu: %d, the package gives %lld",
                     d, j, t[k], (long long)want.v[j]);
      if (eos >= 0)
        cr_assert_eq(t[k], eos);
      total += n;
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  for (size_t d = 0; d < R.n; d++)
    cr_assert(seen[d], "document %zu missing", d);
  uint64_t v = 0;
  cr_assert_eq(weir_pipeline_op_counter(p, 2, "tokens", &v), WEIR_OK);
  cr_assert_eq(v, total);
  free(seen);
  weir_pipeline_destroy(p);
}

Test(text_tokenize, ids_equal_the_package_with_1_and_4_workers) {
  load_reference();
  check_tokenize(1, NULL, -1, -1);
  weir_tokenize_options o = WEIR_TOKENIZE_OPTIONS_INIT;
  o.common.max_workers = 4;
  check_tokenize(4, &o, -1, -1);
  /* BOS and EOS: explicit ids, and the tokenizer's own EOS. */
  o.add_bos = 1;
  o.bos_id = 7;
  o.add_eos = 1;
  o.eos_id = 9;
  check_tokenize(2, &o, 7, 9);
  int32_t eos = weir_tokenizer_eos_id(R.tok);
  cr_assert_eq(eos, R.eot, "the tokenizer's EOS is <|endoftext|> (%d), not %d", R.eot, eos);
  o.add_bos = 0;
  o.eos_id = -1;
  check_tokenize(2, &o, -1, eos);
  free_reference();
}

/* tokenize (EOS added) then pack: the rows are the reference ids, each
 * document followed by EOS, cut by hand. */
Test(text_tokenize, tokenize_then_pack_equals_the_reference_stream) {
  load_reference();
  size_t cap = 0, n = 0;
  for (size_t d = 0; d < R.n; d++)
    cap += R.ids[d].n + 1;
  int32_t *stream = malloc(cap * sizeof *stream);
  for (size_t d = 0; d < R.n; d++) {
    if (!R.ids[d].n)
      continue; /* empty documents add nothing, not even EOS */
    for (size_t j = 0; j < R.ids[d].n; j++)
      stream[n++] = (int32_t)R.ids[d].v[j];
    stream[n++] = R.eot;
  }
  const size_t L = 256;
  for (int w = 1; w <= 4; w += 3) {
    weir_op *in;
    weir_pipeline *p = source(w, &in);
    weir_tokenize_options to = WEIR_TOKENIZE_OPTIONS_INIT;
    to.keep_text = 0;
    to.common.max_workers = 3;
    weir_op *tk = weir_tokenize(p, in, R.tok, &to);
    weir_pack_options po = WEIR_PACK_OPTIONS_INIT;
    po.seq_len = L;
    po.eos_id = R.eot;
    po.last = WEIR_PACK_LAST_DROP;
    weir_op *pk = weir_pack_sequences(p, tk, &po);
    cr_assert_not_null(pk, "%s", weir_pipeline_errmsg(p));
    weir_iter *it;
    cr_assert_eq(weir_pipeline_iter(p, pk, NULL, &it), WEIR_OK);
    size_t row = 0;
    weir_block *b;
    int rc;
    while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
      weir_column tc;
      weir_block_column(b, 0, &tc);
      cr_assert_eq(tc.type, WEIR_TYPE_TENSOR);
      const int32_t *t = tc.data;
      for (size_t r = 0; r < tc.length; r++, row++)
        for (size_t k = 0; k < L; k++)
          cr_assert_eq(t[r * L + k], stream[row * L + k], "workers %d row %zu token %zu", w, row,
                       k);
      weir_block_unref(&b);
    }
    weir_iter_destroy(it);
    cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
    cr_assert_eq(row, n / L);
    uint64_t v = 0;
    cr_assert_eq(weir_pipeline_op_counter(p, 3, "dropped_tokens", &v), WEIR_OK);
    cr_assert_eq(v, n % L);
    weir_pipeline_destroy(p);
  }
  free(stream);
  free_reference();
}

/* ---- Token chunks ----------------------------------------------------------------- */

static void check_spans(const weir_chunk_options *o, size_t d, const nums *want) {
  weir_chunk_span *v;
  size_t n;
  int rc = weir_chunk_spans(o, R.text[d], R.len[d], &v, &n, NULL);
  cr_assert_eq(rc, WEIR_OK, "document %zu: %s", d, weir_last_errmsg());
  cr_assert_eq(n * 2, want->n, "document %zu: %zu chunks, Python's windows %zu", d, n,
               want->n / 2);
  for (size_t k = 0; k < n; k++) {
    cr_assert_eq(v[k].start, (size_t)want->v[2 * k], "document %zu chunk %zu start", d, k);
    cr_assert_eq(v[k].end, (size_t)want->v[2 * k + 1], "document %zu chunk %zu end", d, k);
  }
  weir_free(v);
}

Test(text_tokenize, token_chunks_equal_windows_of_the_package_offsets) {
  load_reference();
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.method = WEIR_CHUNK_TOKENS;
  o.tokenizer = R.tok;
  for (size_t d = 0; d < R.n; d++)
    check_spans(&o, d, &R.c128[d]); /* DPK's defaults: 128 tokens, 30 overlap */
  o.chunk_size = 16;
  o.overlap = 5;
  for (size_t d = 0; d < R.n; d++)
    check_spans(&o, d, &R.c16[d]);

  /* The operator: the same spans, in input order, chunk = source bytes. */
  weir_op *in;
  weir_pipeline *p = source(4, &in);
  weir_op *ck = weir_chunk_text(p, in, &o);
  cr_assert_not_null(ck, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, ck, NULL, &it), WEIR_OK);
  size_t d = 0, k = 0, chunks = 0, empty = 0;
  while (d < R.n && R.c16[d].n == 0) {
    d++;
    empty++;
  }
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column cc, sc, ec, ic, xc;
    weir_block_column(b, (size_t)weir_block_column_index(b, "chunk"), &cc);
    weir_block_column(b, (size_t)weir_block_column_index(b, "start"), &sc);
    weir_block_column(b, (size_t)weir_block_column_index(b, "end"), &ec);
    weir_block_column(b, (size_t)weir_block_column_index(b, "doc_id"), &ic);
    weir_block_column(b, (size_t)weir_block_column_index(b, "chunk_index"), &xc);
    for (size_t r = 0; r < cc.length; r++) {
      cr_assert_lt(d, R.n);
      cr_assert_eq(((const int64_t *)ic.data)[r], (int64_t)d);
      cr_assert_eq(((const int64_t *)xc.data)[r], (int64_t)k);
      int64_t s = ((const int64_t *)sc.data)[r], e = ((const int64_t *)ec.data)[r];
      cr_assert_eq(s, R.c16[d].v[2 * k]);
      cr_assert_eq(e, R.c16[d].v[2 * k + 1]);
      size_t l = (size_t)(cc.offsets[r + 1] - cc.offsets[r]);
      cr_assert(l == (size_t)(e - s) &&
                memcmp((const char *)cc.data + cc.offsets[r], R.text[d] + s, l) == 0);
      chunks++;
      if (++k * 2 == R.c16[d].n) {
        k = 0;
        d++;
        while (d < R.n && R.c16[d].n == 0) {
          d++;
          empty++;
        }
      }
    }
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(d, R.n);
  cr_assert_gt(empty, 0);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 3, &st), WEIR_OK);
  cr_assert_eq(st.rows_out, chunks);
  cr_assert_eq(st.dropped_rows, empty);
  weir_pipeline_destroy(p);
  free_reference();
}

/* ---- Malformed and bad input --------------------------------------------------------- */

typedef struct bad_src {
  int kind;
} bad_src;

static const char bad_text[] = "ab \xff\xfe cd \xe6\x97 \xf0\x9f\x98\x80";

static int bad_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  bad_src *bs = user;
  weir_builder *b;
  weir_builder_create(&b);
  if (bs->kind == 1) {
    weir_builder_add_column(b, "text", WEIR_TYPE_FLOAT64);
    weir_builder_append_float64(b, 0, 1.0);
  } else if (bs->kind == 2) {
    weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
    weir_builder_add_column(b, "tokens", WEIR_TYPE_INT64);
    weir_builder_append_string(b, 0, "x", 1);
    weir_builder_append_int64(b, 1, 0);
  } else {
    weir_builder_add_column(b, "text", WEIR_TYPE_BINARY);
    weir_builder_append_string(b, 0, "fine", 4);
    weir_builder_append_string(b, 0, bad_text, sizeof bad_text - 1);
  }
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  if (bs->kind == 0)
    blk->cols[0].type = WEIR_TYPE_STRING; /* invalid UTF-8 in a string column */
  return weir_emit_block(out, blk);
}

static weir_pipeline *bad_run(int kind, const weir_tokenize_options *o, int want,
                              weir_block **first) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  bad_src bs = {kind};
  weir_op *src = weir_source(p, "src", 1, bad_read, &bs, NULL);
  weir_op *tk = weir_tokenize(p, src, R.tok, o);
  cr_assert_not_null(tk, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, tk, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  int rc = weir_iter_next(it, &b);
  if (rc == WEIR_OK) {
    weir_block *more = NULL;
    rc = weir_iter_next(it, &more);
    cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
    weir_block_unref(&more);
    rc = WEIR_OK;
  }
  weir_iter_destroy(it);
  cr_assert_eq(rc, want, "rc %d: %s", rc, weir_pipeline_errmsg(p));
  if (first)
    *first = b;
  else
    weir_block_unref(&b);
  return p;
}

Test(text_tokenize, invalid_utf8_fails_is_skipped_or_replaced) {
  load_reference();
  weir_pipeline *p = bad_run(0, NULL, WEIR_EFORMAT, NULL);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "tokenize") && strstr(msg, "'text'") && strstr(msg, "row 1"), "%s", msg);
  weir_pipeline_destroy(p);

  weir_tokenize_options o = WEIR_TOKENIZE_OPTIONS_INIT;
  o.common.on_error = WEIR_ON_ERROR_SKIP;
  weir_block *b;
  p = bad_run(0, &o, WEIR_OK, &b);
  cr_assert_eq(weir_block_num_rows(b), 1);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 1, &st);
  cr_assert_eq(st.skipped_rows, 1);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  /* Replaced as Python's bytes.decode('utf-8', 'replace'). */
  o = (weir_tokenize_options)WEIR_TOKENIZE_OPTIONS_INIT;
  o.flags |= WEIR_TOKENIZE_REPLACE_INVALID;
  p = bad_run(0, &o, WEIR_OK, &b);
  cr_assert_eq(weir_block_num_rows(b), 2);
  weir_column tc;
  weir_block_column(b, (size_t)weir_block_column_index(b, "tokens"), &tc);
  size_t n = (size_t)(tc.offsets[2] - tc.offsets[1]);
  cr_assert_eq(n, R.replace.n);
  for (size_t j = 0; j < n; j++)
    cr_assert_eq(((const int32_t *)tc.data)[tc.offsets[1] + (int64_t)j], (int32_t)R.replace.v[j],
                 "id %zu", j);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  free_reference();
}

Test(text_tokenize, bad_input_names_operator_and_column) {
  load_reference();
  weir_pipeline *p = bad_run(1, NULL, WEIR_EINVAL, NULL);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "tokenize") && strstr(msg, "'text'") && strstr(msg, "float64"), "%s", msg);
  weir_pipeline_destroy(p);
  p = bad_run(2, NULL, WEIR_EINVAL, NULL);
  msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "tokenize") && strstr(msg, "'tokens'"), "%s", msg);
  weir_pipeline_destroy(p);

  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  bad_src bs = {1};
  weir_op *src = weir_source(p, "src", 1, bad_read, &bs, NULL);
  cr_assert_null(weir_tokenize(p, src, NULL, NULL));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "NULL tokenizer"));
  weir_tokenize_options o = WEIR_TOKENIZE_OPTIONS_INIT;
  o.add_bos = 1;
  o.bos_id = 1 << 30;
  cr_assert_null(weir_tokenize(p, src, R.tok, &o));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "outside the vocabulary"), "%s",
                     weir_pipeline_errmsg(p));
  weir_chunk_options co = WEIR_CHUNK_OPTIONS_INIT;
  co.method = WEIR_CHUNK_TOKENS;
  cr_assert_null(weir_chunk_text(p, src, &co));
  cr_assert_not_null(strstr(weir_pipeline_errmsg(p), "needs options.tokenizer"));
  weir_pipeline_destroy(p);
  free_reference();
}
