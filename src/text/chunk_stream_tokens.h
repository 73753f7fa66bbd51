/* The token-window part of weir_chunk_stream (chunk_stream_tokens.c). */
#ifndef WEIR_TEXT_CHUNK_STREAM_TOKENS_H
#define WEIR_TEXT_CHUNK_STREAM_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "text/chunk.h"

/* Text held with no proven cut before one is made anyway (documented in
 * weir/text.h). */
#define WEIR__TOKWIN_HOLD_MAX ((uint64_t)1 << 20)

typedef struct weir__tokwin weir__tokwin;

int  weir__tokwin_create(const weir__chunk_params *cp, weir__tokwin **out);
void weir__tokwin_destroy(weir__tokwin *w);
/* Takes buf[0..avail) (whole characters; buf[0] is document offset
 * `base`; `fin`: the document ends at avail) and appends the windows now
 * final to `out` as spans relative to buf. */
int  weir__tokwin_advance(weir__tokwin *w, const char *buf, uint64_t base, size_t avail, int fin,
                          weir__chunk_out *out);
/* The first document offset still needed. */
uint64_t weir__tokwin_live(const weir__tokwin *w);
/* 1 when the tokenizer's cuts are proven exact; cuts made without proof. */
int    weir__tokwin_exact(const weir__tokwin *w);
size_t weir__tokwin_forced(const weir__tokwin *w);

#endif
