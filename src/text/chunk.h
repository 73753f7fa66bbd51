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

/* ---- The pieces the streaming chunker (chunk_stream.c) shares with the
 * in-memory one, so both cut at the same places. Positions index `s`. */

/* The next sentence boundary scanning s[*pi..b) (abbreviations are looked
 * for no further back than `lo`, the region's start): 1 with the sentence
 * ending at *end (untrimmed) and the next starting at *next; 0 when there
 * is none before b; -1 when deciding needs text past b (only when
 * `final` is 0: the text goes on). *pi is where to resume (on -1: the
 * position of the undecided candidate, which a later call rescans). */
int weir__chunk_next_sentence(const char *s, size_t lo, size_t *pi, size_t b, int final,
                              size_t *end, size_t *next);
/* The same for paragraph breaks (blank lines). */
int weir__chunk_next_paragraph(const char *s, size_t *pi, size_t b, int final, size_t *end,
                               size_t *next);
size_t weir__chunk_cps(const char *s, size_t a, size_t b);
size_t weir__chunk_cp_forward(const char *s, size_t end, size_t pos, size_t k);
size_t weir__chunk_cp_back(const char *s, size_t lo, size_t pos, size_t k);
void weir__chunk_trim(const char *s, size_t *a, size_t *b);
/* Markdown lines s[a..b) without their '\n': a fence opener/closer, an
 * ATX heading (its level and text range, or 0). */
int weir__chunk_md_fence(const char *s, size_t a, size_t b, char *ch, size_t *count,
                         size_t *rest);
int weir__chunk_md_heading(const char *s, size_t a, size_t b, size_t *ta, size_t *tb);
int weir__chunk_push_path(weir__chunk_out *o, size_t start, size_t end, size_t ps, size_t pl);
int weir__chunk_paths_put(weir__chunk_out *o, const char *p, size_t n);

#endif /* WEIR_TEXT_CHUNK_H */
