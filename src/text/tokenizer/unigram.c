/* The Unigram model: the segmentation of a piece with the highest total
 * score (Viterbi over character positions), unknown characters scored
 * min_score - 10 and fused, then mapped to ids with byte fallback or the
 * unk token — as tokenizers' Unigram::encode. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

typedef struct {
  double score;
  int32_t id;
  int32_t from; /* start byte of the best last token, -1 = unreached */
} node;

int weir__unigram_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout) {
  size_t base = *nout;
  if (!len)
    return WEIR_OK;
  size_t need = (len + 1) * sizeof(node);
  if (need > c->heap_cap) {
    void *h = realloc(c->heap, need);
    if (!h)
      return WEIR_ENOMEM;
    c->heap = h;
    c->heap_cap = need;
  }
  node *best = c->heap;
  for (size_t i = 0; i <= len; i++)
    best[i] = (node){0.0, 0, -1};
  const double unk_score = t->min_score - 10.0;
  for (size_t st = 0; st < len;) {
    double here = best[st].score;
    size_t mblen = weir__tok_u8len((unsigned char)s[st]);
    if (st + mblen > len)
      mblen = len - st;
    int single = 0;
    /* every vocabulary piece that starts here */
    for (size_t e = st + mblen; e <= len && e - st <= t->max_chars;) {
      int32_t id = weir__tok_map_get(&t->model_map, s + st, e - st);
      if (id >= 0) {
        double cand = t->scores[id] + here;
        if (best[e].from < 0 || cand > best[e].score)
          best[e] = (node){cand, id, (int32_t)st};
        if (e - st == mblen)
          single = 1;
      }
      if (e == len)
        break;
      e += weir__tok_u8len((unsigned char)s[e]);
      if (e > len)
        e = len;
    }
    if (!single) {
      if (t->unk < 0)
        return weir__tok_err(WEIR_EFORMAT, "tokenizer: model Unigram: a character is not in the vocabulary and "
                             "the model has no unk_id");
      double cand = unk_score + here;
      if (best[st + mblen].from < 0 || cand > best[st + mblen].score)
        best[st + mblen] = (node){cand, t->unk, (int32_t)st};
    }
    st += mblen;
  }
  /* Back from the end: tokens in reverse, consecutive unknowns fused. */
  size_t k = 0;
  if (weir__tok_tmp_reserve(c, base + len + 1))
    return WEIR_ENOMEM;
  int32_t *rid = c->tmp_ids + base;
  uint32_t *rln = c->tmp_lens + base;
  for (size_t e = len; e > 0;) {
    const node *nd = &best[e];
    size_t st = (size_t)nd->from;
    int is_unk = nd->id == t->unk;
    if (is_unk && k > 0 && rid[k - 1] == -2)
      rln[k - 1] += (uint32_t)(e - st);
    else {
      rid[k] = is_unk ? -2 : nd->id; /* -2: an unknown stretch, resolved below */
      rln[k++] = (uint32_t)(e - st);
    }
    e = st;
  }
  /* Reverse, and resolve unknown stretches (byte fallback or unk). */
  size_t n = base;
  int32_t *ids = malloc(k * sizeof *ids);
  uint32_t *lns = malloc(k * sizeof *lns);
  if ((!ids || !lns) && k) {
    free(ids);
    free(lns);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < k; i++) {
    ids[i] = rid[k - 1 - i];
    lns[i] = rln[k - 1 - i];
  }
  size_t pos = 0;
  int rc = WEIR_OK;
  for (size_t i = 0; i < k && !rc; i++) {
    int32_t known = ids[i] == -2 ? weir__tok_map_get(&t->model_map, s + pos, lns[i]) : ids[i];
    int all_bytes = t->unigram_byte_fallback;
    for (uint32_t b = 0; b < lns[i] && all_bytes; b++)
      all_bytes = t->byte_fallback_id[(unsigned char)s[pos + b]] >= 0;
    if (known >= 0) {
      c->tmp_ids[n] = known;
      c->tmp_lens[n++] = lns[i];
    } else if (all_bytes) {
      if (weir__tok_tmp_reserve(c, n + lns[i] + (k - i)))
        rc = WEIR_ENOMEM;
      for (uint32_t b = 0; b < lns[i] && !rc; b++) {
        c->tmp_ids[n] = t->byte_fallback_id[(unsigned char)s[pos + b]];
        c->tmp_lens[n++] = 1;
      }
    } else {
      c->tmp_ids[n] = t->unk;
      c->tmp_lens[n++] = lns[i];
    }
    pos += lns[i];
  }
  free(ids);
  free(lns);
  if (rc)
    return rc;
  *nout = n;
  return WEIR_OK;
}
