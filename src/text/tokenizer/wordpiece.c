/* The WordPiece model (BERT): greedy longest-match-first over a piece,
 * continuations spelled with the prefix (##); a piece with no match, or
 * longer than max_input_chars_per_word, is the unk token. Also WordLevel:
 * the whole piece, or unk. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

static int unk_only(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t len, size_t base, size_t *nout) {
  if (t->unk < 0)
    return weir__tok_err(WEIR_EFORMAT, "tokenizer: a word is not in the vocabulary and the model has no unk token");
  if (weir__tok_tmp_reserve(c, base + 1))
    return WEIR_ENOMEM;
  c->tmp_ids[base] = t->unk;
  c->tmp_lens[base] = (uint32_t)len;
  *nout = base + 1;
  return WEIR_OK;
}

int weir__wordpiece_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout) {
  size_t base = *nout, n = base;
  size_t chars = 0;
  for (size_t i = 0; i < len; i += weir__tok_u8len((unsigned char)s[i]))
    chars++;
  if (chars > t->max_chars)
    return unk_only(t, c, len, base, nout);
  size_t pl = t->cont_prefix_len;
  if (len + pl + 1 > c->pbuf_cap) {
    char *b = realloc(c->pbuf, len + pl + 1);
    if (!b)
      return WEIR_ENOMEM;
    c->pbuf = b;
    c->pbuf_cap = len + pl + 1;
  }
  size_t start = 0;
  while (start < len) {
    size_t end = len;
    int32_t id = -1;
    while (start < end) {
      const char *key = s + start;
      size_t kl = end - start;
      if (start > 0) {
        memcpy(c->pbuf, t->cont_prefix, pl);
        memcpy(c->pbuf + pl, s + start, end - start);
        key = c->pbuf;
        kl += pl;
      }
      if ((id = weir__tok_map_get(&t->model_map, key, kl)) >= 0)
        break;
      end = weir__tok_u8prev(s, end);
      if (end < start)
        end = start;
    }
    if (id < 0)
      return unk_only(t, c, len, base, nout);
    if (weir__tok_tmp_reserve(c, n + 1))
      return WEIR_ENOMEM;
    c->tmp_ids[n] = id;
    c->tmp_lens[n++] = (uint32_t)(end - start);
    start = end;
  }
  *nout = n;
  return WEIR_OK;
}

int weir__wordlevel_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout) {
  int32_t id = weir__tok_map_get(&t->model_map, s, len);
  if (id < 0)
    return unk_only(t, c, len, *nout, nout);
  if (weir__tok_tmp_reserve(c, *nout + 1))
    return WEIR_ENOMEM;
  c->tmp_ids[*nout] = id;
  c->tmp_lens[*nout] = (uint32_t)len;
  (*nout)++;
  return WEIR_OK;
}
