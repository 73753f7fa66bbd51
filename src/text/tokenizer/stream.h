/* Cutting a text for streamed encoding (stream_cut.c), used by the
 * streaming token-window chunker (text/chunk_stream_tokens.c). */
#ifndef WEIR_TEXT_TOKENIZER_STREAM_H
#define WEIR_TEXT_TOKENIZER_STREAM_H

#include <stddef.h>

#include "weir/text.h"

/* An encode flag beside the public WEIR_TOKENIZE_*: the text continues a
 * document (its first piece is not the document's first, for Metaspace's
 * prepend_scheme "first"). */
#define WEIR__TOKENIZE_CONTINUES (1u << 30)

/* What stream_cut.c proved about a tokenizer. */
typedef struct weir__tok_cut_plan {
  int exact;      /* cuts before " x" give the whole text's ids            */
  size_t window;  /* > 0: no added token may start this close to a cut    */
} weir__tok_cut_plan;

void weir__tok_stream_plan(const weir_tokenizer *t, weir__tok_cut_plan *p);
/* Bytes that must follow a cut candidate before it can be judged. */
size_t weir__tok_stream_need_after(const weir__tok_cut_plan *p);
/* 1 when s[0..avail) may be cut at c (lo: the first byte held; at_doc_start:
 * s[lo] is the document's first byte). */
int weir__tok_stream_cut_ok(const weir_tokenizer *t, const weir__tok_cut_plan *p, const char *s,
                            size_t lo, size_t c, size_t avail, int at_doc_start);

#endif
