/* Internals of weir_chunk_text: the splitters that turn one document into
 * chunk spans (chunk_split.c), shared by the operator (chunk.c) and
 * weir_chunk_spans. */
#ifndef WEIR_TEXT_CHUNK_H
#define WEIR_TEXT_CHUNK_H

#include <stddef.h>

#include "weir/text.h"

/* The splitting parameters, defaults resolved. */
typedef struct weir__chunk_params {
  int method;                 /* WEIR_CHUNK_* */
  size_t size;                /* code points (tokens for TOKENS), > 0 */
  size_t overlap;             /* < size */
  const weir_tokenizer *tok;  /* TOKENS */
} weir__chunk_params;

/* A growing list of spans and the heading paths they point into. */
typedef struct weir__chunk_out {
  weir_chunk_span *v;
  size_t n, cap;
  char *paths;
  size_t paths_len, paths_cap;
} weir__chunk_out;

/* Resolves and checks `o` (NULL = defaults) into `cp`; on a bad option
 * returns WEIR_EINVAL with its reason in why[0..cap). */
int weir__chunk_params_from(const weir_chunk_options *o, weir__chunk_params *cp, char *why,
                            size_t cap);

/* Appends the chunks of s[0..len) (valid UTF-8) to `out` (reset first);
 * `cache` is the caller's cache of cp->tok (TOKENS only, else NULL).
 * WEIR_ENOMEM, or an error of the tokenizer (its message in
 * weir_last_errmsg()). */
int weir__chunk_split(const weir__chunk_params *cp, weir_tokenizer_cache *cache, const char *s,
                      size_t len, weir__chunk_out *out);

/* TOKENS (chunk_tokens.c). */
int weir__chunk_tokens(const weir__chunk_params *cp, weir_tokenizer_cache *cache, const char *s,
                       size_t len, weir__chunk_out *out);

/* Pushes one span (chunk_split.c). */
int weir__chunk_push(weir__chunk_out *o, size_t start, size_t end);

void weir__chunk_out_free(weir__chunk_out *out);

#endif /* WEIR_TEXT_CHUNK_H */
