/* The text operators in a build without PCRE2: each answers WEIR_ENOTSUP
 * with a message saying what to install. */
#include <stdlib.h>

#include "exec/exec_internal.h"
#include "weir/error.h"
#include "weir/text.h"

#define MISSING "this build has no text operators (PCRE2 was not found: install libpcre2-dev and rebuild)"

void weir_free(void *ptr) { free(ptr); }

static weir_op *absent(weir_pipeline *p, const char *fn) {
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "%s: %s", fn, MISSING) : NULL;
}

weir_op *weir_filter(weir_pipeline *p, weir_op *in, const char *name, weir_filter_fn fn, void *user) {
  (void)in, (void)name, (void)fn, (void)user;
  return absent(p, "weir_filter");
}
weir_op *weir_filter_where(weir_pipeline *p, weir_op *in, const char *expr) {
  (void)in, (void)expr;
  return absent(p, "weir_filter_where");
}
weir_op *weir_text_doc_id(weir_pipeline *p, weir_op *in, const weir_doc_id_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_doc_id");
}
int weir_text_hash_hex(int hash, const void *data, size_t len, char *hex) {
  (void)hash, (void)data, (void)len, (void)hex;
  weir_set_last_errmsg("weir_text_hash_hex: %s", MISSING);
  return WEIR_ENOTSUP;
}
weir_op *weir_text_quality_gopher(weir_pipeline *p, weir_op *in, const weir_gopher_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_quality_gopher");
}
weir_op *weir_text_quality_gopher_repetition(weir_pipeline *p, weir_op *in,
                                             const weir_gopher_repetition_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_quality_gopher_repetition");
}
weir_op *weir_text_quality_c4(weir_pipeline *p, weir_op *in, const weir_c4_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_quality_c4");
}
weir_op *weir_text_quality_fineweb(weir_pipeline *p, weir_op *in, const weir_fineweb_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_quality_fineweb");
}
int weir_text_words(const char *text, size_t len, size_t **starts, size_t **lens, size_t *n) {
  (void)text, (void)len, (void)starts, (void)lens, (void)n;
  weir_set_last_errmsg("weir_text_words: %s", MISSING);
  return WEIR_ENOTSUP;
}
weir_op *weir_text_pii_redact(weir_pipeline *p, weir_op *in, const weir_pii_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_pii_redact");
}
int weir_pii_scan(const weir_pii_options *o, const char *text, size_t len,
                  weir_pii_match **matches, size_t *n) {
  (void)o, (void)text, (void)len, (void)matches, (void)n;
  weir_set_last_errmsg("weir_pii_scan: %s", MISSING);
  return WEIR_ENOTSUP;
}
weir_op *weir_text_lang_id(weir_pipeline *p, weir_op *in, const weir_lang_id_options *o) {
  (void)in, (void)o;
  return absent(p, "weir_text_lang_id");
}
int weir_fasttext_load(const char *path, weir_fasttext **out) {
  (void)path;
  if (out)
    *out = NULL;
  weir_set_last_errmsg("weir_fasttext_load: %s", MISSING);
  return WEIR_ENOTSUP;
}
void weir_fasttext_free(weir_fasttext *m) { (void)m; }
int weir_fasttext_num_labels(const weir_fasttext *m) {
  (void)m;
  return WEIR_ENOTSUP;
}
const char *weir_fasttext_label(const weir_fasttext *m, int i) {
  (void)m, (void)i;
  return NULL;
}
int weir_fasttext_predict(const weir_fasttext *m, const char *text, size_t len, int k,
                          int *labels, double *probs) {
  (void)m, (void)text, (void)len, (void)k, (void)labels, (void)probs;
  return WEIR_ENOTSUP;
}
