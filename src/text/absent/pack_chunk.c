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
int weir_chunk_stream_create(const weir_chunk_options *o, weir_chunk_stream **out) {
  (void)o;
  if (out)
    *out = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_chunk_stream_create: %s", MISSING);
}
void weir_chunk_stream_destroy(weir_chunk_stream *cs) { (void)cs; }
int weir_chunk_stream_feed(weir_chunk_stream *cs, const char *data, size_t len, int last,
                           const weir_chunk_span **spans, size_t *n) {
  (void)cs, (void)data, (void)len, (void)last, (void)spans, (void)n;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_chunk_stream_feed: %s", MISSING);
}
const char *weir_chunk_stream_text(const weir_chunk_stream *cs, const weir_chunk_span *sp) {
  (void)cs, (void)sp;
  return NULL;
}
const char *weir_chunk_stream_paths(const weir_chunk_stream *cs) {
  (void)cs;
  return "";
}
size_t weir_chunk_stream_max_held(const weir_chunk_stream *cs) {
  (void)cs;
  return 0;
}
weir_op *weir_chunk_files(weir_pipeline *p, const char *uri, const weir_read_options *ro,
                          const weir_chunk_options *o) {
  (void)uri, (void)ro, (void)o;
  return p ? weir__op_fail(p, WEIR_ENOTSUP, "weir_chunk_files: %s", MISSING) : NULL;
}
