/* The deduplication operators in a build without the text component. */
#include "exec/exec_internal.h"
#include "weir/error.h"
#include "weir/text.h"

#define MISSING "this build has no text operators (PCRE2 was not found: install libpcre2-dev and rebuild)"

weir_op *weir_dedup_exact(weir_pipeline *p, weir_op *in, const weir_dedup_exact_options *o) {
  (void)in, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_dedup_exact: %s", MISSING) : NULL;
}
int weir_dedup_key(int normalize, const char *text, size_t len, char **norm, size_t *norm_len,
                   uint64_t hash[2]) {
  (void)normalize, (void)text, (void)len, (void)norm, (void)norm_len, (void)hash;
  weir_set_last_errmsg("weir_dedup_key: %s", MISSING);
  return WEIR_ENOTSUP;
}
weir_op *weir_dedup_minhash(weir_pipeline *p, weir_op *in, const weir_minhash_options *o) {
  (void)in, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_dedup_minhash: %s", MISSING) : NULL;
}
int weir_minhash_signature(const weir_minhash_options *o, const char *text, size_t len,
                           uint64_t *sig, size_t *nshingles, char **simplified) {
  (void)o, (void)text, (void)len, (void)sig, (void)nshingles, (void)simplified;
  weir_set_last_errmsg("weir_minhash_signature: %s", MISSING);
  return WEIR_ENOTSUP;
}
