/* Language identification: weir's fastText evaluator against the
 * `fasttext` package (models trained in the test on generated
 * multilingual text: softmax with word and character n-grams,
 * hierarchical softmax, one-vs-all, quantized .ftz; same top label and
 * every probability within 1e-5), and weir_text_lang_id with fastText and
 * CLD2 (annotations, filter by language and threshold). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-langid"); }
TestSuite(text_langid, .init = make_tmp, .fini = tmpdir_remove, .timeout = 900);

static const char *venv_python(void) {
  static char buf[1024];
  const char *venv = getenv("WEIR_VENV");
  if (venv && *venv)
    snprintf(buf, sizeof buf, "%s/bin/python", venv);
  else
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

/* Trains the reference models into the test's folder; returns the folder. */
static const char *reference(void) {
  const char *py = venv_python();
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "'%s' -c 'import fasttext' 2>/dev/null", py);
  if (access(py, X_OK) != 0 || system(cmd) != 0)
    srv_missing("no Python environment with the fasttext package (run .ci/setup)");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/fasttext_reference.py' '%s' 14", py,
           WEIR_TEST_SOURCE_DIR, tmpdir);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
  return tmpdir;
}

static weir_block *read_all(const char *uri) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_read_jsonl(p, uri, NULL);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_block *parts[256], *b;
  size_t np = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK)
    parts[np++] = b;
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_block *all;
  cr_assert_eq(weir_block_concat(parts, np, &all), WEIR_OK);
  for (size_t i = 0; i < np; i++)
    weir_block_unref(&parts[i]);
  weir_pipeline_destroy(p);
  return all;
}

static char *cell(const weir_block *b, const char *col, size_t i) {
  weir_column c;
  int ci = weir_block_column_index(b, col);
  cr_assert_geq(ci, 0, "no column %s", col);
  weir_block_column(b, (size_t)ci, &c);
  return strndup((const char *)c.data + c.offsets[i], (size_t)(c.offsets[i + 1] - c.offsets[i]));
}

Test(text_langid, fasttext_parity_with_the_package) {
  const char *dir = reference();
  char path[800];
  snprintf(path, sizeof path, "%s/predictions.jsonl", dir);
  weir_block *all = read_all(path);
  size_t n = weir_block_num_rows(all), compared = 0, top_same = 0;
  double worst = 0;
  weir_fasttext *model = NULL;
  char *model_name = NULL;
  for (size_t i = 0; i < n; i++) {
    char *name = cell(all, "model", i), *text = cell(all, "text", i);
    char *labels = cell(all, "labels", i), *probs = cell(all, "probs", i);
    if (!model_name || strcmp(name, model_name) != 0) {
      weir_fasttext_free(model);
      free(model_name);
      model_name = strdup(name);
      snprintf(path, sizeof path, "%s/%s", dir, name);
      cr_assert_eq(weir_fasttext_load(path, &model), WEIR_OK, "%s: %s", path, weir_last_errmsg());
    }
    int nl = weir_fasttext_num_labels(model);
    int got_l[64];
    double got_p[64];
    cr_assert_leq(nl, 64);
    int got = weir_fasttext_predict(model, text, strlen(text), 0, got_l, got_p);
    cr_assert_geq(got, 0);
    /* The package's answer: labels and probabilities, most probable first. */
    int k = 0;
    char *save = NULL, *psave = NULL;
    char *lab = strtok_r(labels, " ", &save), *pr = strtok_r(probs, " ", &psave);
    for (; lab && pr; lab = strtok_r(NULL, " ", &save), pr = strtok_r(NULL, " ", &psave), k++) {
      double want = strtod(pr, NULL), have = 0;
      for (int j = 0; j < got; j++)
        if (strcmp(weir_fasttext_label(model, got_l[j]), lab) == 0)
          have = got_p[j];
      double d = want > have ? want - have : have - want;
      if (d > worst)
        worst = d;
      cr_expect_leq(d, 1e-5, "%s on '%s': %s %.8f, weir %.8f", name, text, lab, want, have);
      if (k == 0) {
        cr_expect(got > 0 && strcmp(weir_fasttext_label(model, got_l[0]), lab) == 0,
                  "%s on '%s': top label %s, weir %s", name, text, lab,
                  got > 0 ? weir_fasttext_label(model, got_l[0]) : "(none)");
        top_same += got > 0 && strcmp(weir_fasttext_label(model, got_l[0]), lab) == 0;
      }
    }
    cr_expect_eq(k, got, "%s on '%s': %d labels, weir %d", name, text, k, got);
    compared++;
    free(name);
    free(text);
    free(labels);
    free(probs);
  }
  fprintf(stderr, "fastText parity: %zu predictions over 4 models, top label equal in %zu, "
          "largest probability difference %.2e\n", compared, top_same, worst);
  cr_assert_eq(top_same, compared);
  weir_fasttext_free(model);
  free(model_name);
  weir_block_unref(&all);
}

Test(text_langid, fasttext_load_errors) {
  weir_fasttext *m;
  cr_assert_eq(weir_fasttext_load("/nonexistent/model.bin", &m), WEIR_ENOTFOUND);
  char *p = path_of("junk.bin");
  FILE *f = fopen(p, "wb");
  fputs("this is not a model", f);
  fclose(f);
  cr_assert_eq(weir_fasttext_load(p, &m), WEIR_EFORMAT);
  cr_assert(strstr(weir_last_errmsg(), "junk.bin"), "%s", weir_last_errmsg());
}

/* ---- The operator ------------------------------------------------------- */

static int read_texts(void *user, size_t task, weir_emit *out) {
  (void)task;
  const char *const *texts = user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  for (int i = 0; texts[i]; i++)
    weir_builder_append_string(b, 0, texts[i], strlen(texts[i]));
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static weir_block *run_lang(const char *const *texts, const weir_lang_id_options *o,
                            weir_pipeline **pp) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_texts, (void *)texts, NULL);
  weir_op *op = weir_text_lang_id(p, src, o);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block *b = NULL, *x;
  int rc = weir_iter_next(it, &b);
  cr_assert(rc == WEIR_OK || rc == WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  if (rc == WEIR_OK)
    cr_assert_eq(weir_iter_next(it, &x), WEIR_EOF);
  weir_iter_destroy(it);
  *pp = p;
  return b;
}

static const char *const prose[] = {
    "The committee met on Tuesday to discuss the budget for next year, and most members "
    "agreed that the schools and the hospitals should receive more money than before.",
    "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine, et la plupart "
    "des membres ont convenu que les écoles et les hôpitaux devraient recevoir plus d'argent.",
    "Der Ausschuss traf sich am Dienstag, um den Haushalt für das nächste Jahr zu besprechen, "
    "und die meisten Mitglieder waren sich einig, dass die Schulen mehr Geld erhalten sollten.",
    NULL};

Test(text_langid, cld2_annotates_and_filters) {
  weir_lang_id_options o = WEIR_LANG_ID_OPTIONS_INIT;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  weir_pipeline *p;
  weir_block *b = run_lang(prose, &o, &p);
  const char *want[] = {"en", "fr", "de"};
  for (int i = 0; i < 3; i++) {
    char *l = cell(b, "lang", (size_t)i);
    cr_assert_str_eq(l, want[i]);
    free(l);
  }
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "lang_score"), &c);
  cr_assert_gt(((const double *)c.data)[0], 0.65);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  o = (weir_lang_id_options)WEIR_LANG_ID_OPTIONS_INIT;
  o.languages = "fr,de";
  b = run_lang(prose, &o, &p);
  cr_assert_eq(weir_block_num_rows(b), 2);
  uint64_t v;
  cr_assert_eq(weir_pipeline_op_counter(p, 1, "dropped:lang_not_wanted", &v), WEIR_OK);
  cr_assert_eq(v, 1);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(text_langid, fasttext_backend_in_a_pipeline) {
  const char *dir = reference();
  char model[800];
  snprintf(model, sizeof model, "%s/softmax.bin", dir);
  weir_fasttext *m;
  cr_assert_eq(weir_fasttext_load(model, &m), WEIR_OK);
  /* Documents of the training languages, from the same generator's syllables. */
  const char *texts[] = {"der die und schein ich cht den ung\ngen ber auf mit",
                         "the and ing ion ent her tha for was you", NULL};
  int l[16];
  double pr[16];
  const char *flat = "der die und schein ich cht den ung gen ber auf mit";
  int got = weir_fasttext_predict(m, flat, strlen(flat), 1, l, pr);
  cr_assert_eq(got, 1);
  weir_lang_id_options o = WEIR_LANG_ID_OPTIONS_INIT;
  o.model_path = model;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  weir_pipeline *p;
  weir_block *b = run_lang(texts, &o, &p);
  char *lang = cell(b, "lang", 0);
  /* newline read as a space, as DataTrove does */
  cr_assert_str_eq(lang, weir_fasttext_label(m, l[0]) + 9);
  free(lang);
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "lang_score"), &c);
  cr_assert_float_eq(((const double *)c.data)[0], pr[0], 1e-9);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  o = (weir_lang_id_options)WEIR_LANG_ID_OPTIONS_INIT;
  o.model_path = "/nonexistent.bin";
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_texts, (void *)texts, NULL);
  cr_assert_null(weir_text_lang_id(p, src, &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "nonexistent"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  weir_fasttext_free(m);
}
