/* The tokenizer in a build without the text component or without
 * utf8proc: every call answers WEIR_ENOTSUP saying what to install. */
#include <stddef.h>

#include "weir/error.h"
#include "weir/text.h"

#define MISSING "this build has no tokenizers (install libpcre2-dev and libutf8proc-dev and rebuild)"

int weir_tokenizer_load_ex(const char *path, const weir_tokenizer_options *o, weir_tokenizer **out) {
  (void)path, (void)o;
  if (out)
    *out = NULL;
  weir_set_last_errmsg("weir_tokenizer_load: %s", MISSING);
  return WEIR_ENOTSUP;
}
int weir_tokenizer_load(const char *path, weir_tokenizer **out) { return weir_tokenizer_load_ex(path, NULL, out); }
void weir_tokenizer_free(weir_tokenizer *t) { (void)t; }
int weir_tokenizer_encode(const weir_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n) {
  (void)t, (void)text, (void)len;
  if (ids)
    *ids = NULL;
  if (n)
    *n = 0;
  weir_set_last_errmsg("weir_tokenizer_encode: %s", MISSING);
  return WEIR_ENOTSUP;
}
int weir_tokenizer_cache_create(const weir_tokenizer *t, weir_tokenizer_cache **out) {
  (void)t;
  if (out)
    *out = NULL;
  weir_set_last_errmsg("weir_tokenizer_cache_create: %s", MISSING);
  return WEIR_ENOTSUP;
}
void weir_tokenizer_cache_destroy(weir_tokenizer_cache *c) { (void)c; }
int weir_tokenizer_encode_cached(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len,
                                 unsigned flags, const int32_t **ids, const size_t **offsets, size_t *n) {
  (void)t, (void)c, (void)text, (void)len, (void)flags, (void)ids, (void)offsets, (void)n;
  weir_set_last_errmsg("weir_tokenizer_encode: %s", MISSING);
  return WEIR_ENOTSUP;
}
int weir_tokenizer_encode_into(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len,
                               unsigned flags, int32_t *ids, size_t cap, size_t *n) {
  (void)t, (void)c, (void)text, (void)len, (void)flags, (void)ids, (void)cap, (void)n;
  weir_set_last_errmsg("weir_tokenizer_encode: %s", MISSING);
  return WEIR_ENOTSUP;
}
int weir_tokenizer_decode(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                          size_t *len) {
  (void)t, (void)ids, (void)n, (void)skip_special, (void)len;
  if (text)
    *text = NULL;
  weir_set_last_errmsg("weir_tokenizer_decode: %s", MISSING);
  return WEIR_ENOTSUP;
}
size_t weir_tokenizer_vocab_size(const weir_tokenizer *t) { (void)t; return 0; }
int32_t weir_tokenizer_token_to_id(const weir_tokenizer *t, const char *token, size_t len) {
  (void)t, (void)token, (void)len;
  return WEIR_ENOTSUP;
}
const char *weir_tokenizer_id_to_token(const weir_tokenizer *t, int32_t id, size_t *len) {
  (void)t, (void)id, (void)len;
  return NULL;
}
int weir_tokenizer_is_special(const weir_tokenizer *t, int32_t id) { (void)t, (void)id; return 0; }
int32_t weir_tokenizer_bos_id(const weir_tokenizer *t) { (void)t; return -1; }
int32_t weir_tokenizer_eos_id(const weir_tokenizer *t) { (void)t; return -1; }
int32_t weir_tokenizer_pad_id(const weir_tokenizer *t) { (void)t; return -1; }
int32_t weir_tokenizer_unk_id(const weir_tokenizer *t) { (void)t; return -1; }
