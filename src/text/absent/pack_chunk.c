/* Tokenizing, sequence packing and chunking in a build without the text
 * component. */
#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "weir/error.h"
#include "weir/text.h"

#define MISSING "this build has no text operators (PCRE2 was not found: install libpcre2-dev and rebuild)"

weir_op *weir_pack_sequences(weir_pipeline *p, weir_op *in, const weir_pack_options *o) {
  (void)in, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_pack_sequences: %s", MISSING) : NULL;
}
weir_op *weir_chunk_text(weir_pipeline *p, weir_op *in, const weir_chunk_options *o) {
  (void)in, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_chunk_text: %s", MISSING) : NULL;
}
int weir_chunk_spans(const weir_chunk_options *o, const char *text, size_t len,
                     weir_chunk_span **spans, size_t *n, char **path_buf) {
  (void)o, (void)text, (void)len, (void)spans, (void)n, (void)path_buf;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_chunk_spans: %s", MISSING);
}
weir_op *weir_tokenize(weir_pipeline *p, weir_op *in, const weir_tokenizer *t,
                       const weir_tokenize_options *o) {
  (void)in, (void)t, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_tokenize: %s", MISSING) : NULL;
}
