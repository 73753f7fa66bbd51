/* SentencePiece in a build without libsentencepiece: loading a .model
 * answers WEIR_ENOTSUP saying what to install. */
#include "text/tokenizer/tok.h"
#include "weir/error.h"

int weir__tok_load_spm(weir_tokenizer *t, const char *path) {
  (void)t;
  return weir__tok_err(WEIR_ENOTSUP, "weir_tokenizer_load: %s: SentencePiece models need libsentencepiece "
                       "(install libsentencepiece-dev and rebuild)", path);
}
void weir__spm_free(struct weir__spm *s) { (void)s; }
int weir__spm_encode(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len, unsigned flags) {
  (void)t, (void)c, (void)text, (void)len, (void)flags;
  return WEIR_ENOTSUP;
}
int weir__spm_decode(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out, size_t *len) {
  (void)t, (void)ids, (void)n, (void)skip_special, (void)out, (void)len;
  return WEIR_ENOTSUP;
}
