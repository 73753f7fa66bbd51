/* weir_chunk_text by tokens: overlapping windows of the document's tokens,
 * mapped back to byte ranges of the source through the tokenizer's
 * offsets. */
#include <stdint.h>

#include "text/chunk.h"
#include "weir/error.h"

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

int weir__chunk_tokens(const weir__chunk_params *cp, weir_tokenizer_cache *cache, const char *s,
                       size_t len, weir__chunk_out *out) {
  const int32_t *ids;
  const size_t *off;
  size_t n;
  /* No post-processor: a chunk holds the document's own tokens. */
  int rc = weir_tokenizer_encode_cached(cp->tok, cache, s, len, 0, &ids, &off, &n);
  if (rc)
    return rc;
  size_t step = cp->size - cp->overlap;
  for (size_t i = 0; i < n && !rc; i += step) {
    size_t j = i + cp->size < n ? i + cp->size : n;
    /* The window's bytes: the union of its tokens' ranges. */
    size_t a = SIZE_MAX, b = 0;
    for (size_t k = i; k < j; k++) {
      if (off[2 * k] == off[2 * k + 1])
        continue;
      if (off[2 * k] < a)
        a = off[2 * k];
      if (off[2 * k + 1] > b)
        b = off[2 * k + 1];
    }
    if (a < b) {
      /* A byte-level token may end inside a character: whole characters. */
      while (a > 0 && is_cont((unsigned char)s[a]))
        a--;
      while (b < len && is_cont((unsigned char)s[b]))
        b++;
      rc = weir__chunk_push(out, a, b);
    }
    if (j == n)
      break;
  }
  return rc;
}
