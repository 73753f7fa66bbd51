/* The BPE model: a piece's bytes (byte level) or characters as symbols,
 * then the lowest-ranked adjacent pair merged first, leftmost on ties —
 * the order of both `tokenizers` and tiktoken. Short words keep the rank
 * of each adjacent pair and scan for the best (fewer than 48 symbols:
 * faster than a heap); longer ones use
 * a binary heap of candidate pairs, O(n log n). */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

int weir__tok_tmp_reserve(weir_tokenizer_cache *c, size_t n) {
  if (n <= c->tmp_cap && c->tmp_ids)
    return WEIR_OK;
  size_t cap = c->tmp_cap ? c->tmp_cap : 256;
  while (cap < n)
    cap *= 2;
  int32_t *ids = realloc(c->tmp_ids, cap * sizeof *ids);
  if (!ids)
    return WEIR_ENOMEM;
  c->tmp_ids = ids;
  uint32_t *lens = realloc(c->tmp_lens, cap * sizeof *lens);
  if (!lens)
    return WEIR_ENOMEM;
  c->tmp_lens = lens;
  c->tmp_cap = cap;
  return WEIR_OK;
}

static int sym_reserve(weir_tokenizer_cache *c, size_t n) {
  if (n <= c->sym_cap)
    return WEIR_OK;
  size_t cap = c->sym_cap ? c->sym_cap : 256;
  while (cap < n)
    cap *= 2;
  int32_t *s = realloc(c->sym, cap * sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  c->sym = s;
  uint32_t *l = realloc(c->sym_len, cap * sizeof *l);
  if (!l)
    return WEIR_ENOMEM;
  c->sym_len = l;
  c->sym_cap = cap;
  return WEIR_OK;
}

typedef struct { uint32_t rank, pos; int32_t a, b; } hent;

static int hless(const hent *x, const hent *y) { return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos); }

static void hpush(hent *h, size_t *n, hent e) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!hless(&e, &h[p]))
      break;
    h[i] = h[p];
    i = p;
  }
  h[i] = e;
}

static hent hpop(hent *h, size_t *n) {
  hent top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const hent *best = &last;
    if (l < *n && hless(&h[l], best)) { m = l; best = &h[l]; }
    if (r < *n && hless(&h[r], best)) { m = r; }
    if (m == i)
      break;
    h[i] = h[m];
    i = m;
  }
  if (*n)
    h[i] = last;
  return top;
}

/* Merges the symbols sym[0..n) (ids, byte lengths) in place; returns the
 * count left. */
static size_t merge_all(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t n) {
  int32_t *id = c->sym;
  uint32_t *ln = c->sym_len;
  if (n < 48) {
    /* The rank of each adjacent pair, kept up to date: a merge looks up
     * only the two pairs it changes (tiktoken's loop). */
    uint32_t rk[48];
    int32_t nid[48];
    for (size_t i = 0; i + 1 < n; i++) {
      const struct tok_pent *e = weir__tok_pairs_get(&t->merges, id[i], id[i + 1]);
      rk[i] = e ? e->rank : UINT32_MAX;
      nid[i] = e ? e->id : -1;
    }
    while (n > 1) {
      uint32_t best = UINT32_MAX;
      size_t at = 0;
      for (size_t i = 0; i + 1 < n; i++)
        if (rk[i] < best) {
          best = rk[i];
          at = i;
        }
      if (best == UINT32_MAX)
        break;
      id[at] = nid[at];
      ln[at] += ln[at + 1];
      size_t tail = n - at - 2;
      memmove(id + at + 1, id + at + 2, tail * sizeof *id);
      memmove(ln + at + 1, ln + at + 2, tail * sizeof *ln);
      if (tail) {
        memmove(rk + at + 1, rk + at + 2, (tail - 1) * sizeof *rk);
        memmove(nid + at + 1, nid + at + 2, (tail - 1) * sizeof *nid);
      }
      n--;
      for (size_t j = at > 0 ? at - 1 : 0; j <= at && j + 1 < n; j++) {
        const struct tok_pent *e = weir__tok_pairs_get(&t->merges, id[j], id[j + 1]);
        rk[j] = e ? e->rank : UINT32_MAX;
        nid[j] = e ? e->id : -1;
      }
    }
    return n;
  }
  /* Linked list over the symbols; a merged-away symbol has length 0. */
  size_t need = n * sizeof(hent) + 2 * n * sizeof(int32_t);
  if (need > c->heap_cap) {
    void *h = realloc(c->heap, need);
    if (!h)
      return (size_t)-1;
    c->heap = h;
    c->heap_cap = need;
  }
  hent *h = c->heap;
  int32_t *prv = (int32_t *)(h + n), *nxt = prv + n;
  size_t hn = 0;
  for (size_t i = 0; i < n; i++) {
    prv[i] = (int32_t)i - 1;
    nxt[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    if (i + 1 < n) {
      const struct tok_pent *e = weir__tok_pairs_get(&t->merges, id[i], id[i + 1]);
      if (e)
        hpush(h, &hn, (hent){e->rank, (uint32_t)i, id[i], id[i + 1]});
    }
  }
  while (hn) {
    hent top = hpop(h, &hn);
    size_t p = top.pos;
    if (!ln[p] || nxt[p] < 0 || id[p] != top.a || id[nxt[p]] != top.b)
      continue; /* stale: one of the two changed since it was pushed */
    const struct tok_pent *e = weir__tok_pairs_get(&t->merges, top.a, top.b);
    size_t q = (size_t)nxt[p];
    id[p] = e->id;
    ln[p] += ln[q];
    ln[q] = 0;
    nxt[p] = nxt[q];
    if (nxt[q] >= 0)
      prv[nxt[q]] = (int32_t)p;
    if (prv[p] >= 0) {
      size_t a = (size_t)prv[p];
      const struct tok_pent *x = weir__tok_pairs_get(&t->merges, id[a], id[p]);
      if (x)
        hpush(h, &hn, (hent){x->rank, (uint32_t)a, id[a], id[p]});
    }
    if (nxt[p] >= 0) {
      size_t b = (size_t)nxt[p];
      const struct tok_pent *x = weir__tok_pairs_get(&t->merges, id[p], id[b]);
      if (x)
        hpush(h, &hn, (hent){x->rank, (uint32_t)p, id[p], id[b]});
    }
  }
  size_t k = 0;
  for (int32_t i = 0; i >= 0; i = nxt[i]) {
    id[k] = id[i];
    ln[k] = ln[i];
    k++;
  }
  return k;
}

/* The initial symbols of a character-level BPE (not byte level): each
 * character with the continuing-subword prefix and end-of-word suffix,
 * unknown ones by byte fallback, the unk token (fused when fuse_unk), or
 * dropped, as tokenizers' BPE::merge_word. */
static int char_symbols(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *n) {
  char key[4 + 256];
  size_t k = 0, i = 0;
  if (sym_reserve(c, len + 1))
    return WEIR_ENOMEM;
  int last_unk = 0;
  while (i < len) {
    size_t st = i;
    i += weir__tok_u8len((unsigned char)s[i]);
    if (i > len)
      i = len;
    size_t kl = 0;
    if (st > 0 && t->cont_prefix_len && t->cont_prefix_len < 128) {
      memcpy(key, t->cont_prefix, t->cont_prefix_len);
      kl = t->cont_prefix_len;
    }
    memcpy(key + kl, s + st, i - st);
    kl += i - st;
    if (i == len && t->eow_suffix_len && t->eow_suffix_len < 128) {
      memcpy(key + kl, t->eow_suffix, t->eow_suffix_len);
      kl += t->eow_suffix_len;
    }
    int32_t id = weir__tok_map_get(&t->model_map, key, kl);
    if (id >= 0) {
      c->sym[k] = id;
      c->sym_len[k++] = (uint32_t)(i - st);
      last_unk = 0;
      continue;
    }
    if (t->byte_fallback) {
      int ok = 1;
      for (size_t b = st; b < i; b++)
        ok &= t->byte_fallback_id[(unsigned char)s[b]] >= 0;
      if (ok) {
        if (sym_reserve(c, k + (i - st) + (len - i) + 1))
          return WEIR_ENOMEM;
        for (size_t b = st; b < i; b++) {
          c->sym[k] = t->byte_fallback_id[(unsigned char)s[b]];
          c->sym_len[k++] = 1;
        }
        last_unk = 0;
        continue;
      }
    }
    if (t->unk < 0)
      continue;
    if (t->fuse_unk && last_unk) {
      c->sym_len[k - 1] += (uint32_t)(i - st);
      continue;
    }
    c->sym[k] = t->unk;
    c->sym_len[k++] = (uint32_t)(i - st);
    last_unk = 1;
  }
  *n = k;
  return WEIR_OK;
}

int weir__bpe_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout) {
  size_t base = *nout, n = 0;
  if (t->ignore_merges) {
    int32_t id = weir__tok_map_get(&t->model_map, s, len);
    if (id >= 0) {
      if (weir__tok_tmp_reserve(c, base + 1))
        return WEIR_ENOMEM;
      c->tmp_ids[base] = id;
      c->tmp_lens[base] = (uint32_t)len;
      *nout = base + 1;
      return WEIR_OK;
    }
  }
  if (t->byte_level) {
    if (sym_reserve(c, len))
      return WEIR_ENOMEM;
    for (size_t i = 0; i < len; i++) {
      int32_t id = t->byte_id[(unsigned char)s[i]];
      if (id < 0) {
        /* A byte missing from the alphabet: the unk token, else dropped
         * (tokenizers does the same). */
        if (t->unk < 0)
          continue;
        id = t->unk;
      }
      c->sym[n] = id;
      c->sym_len[n++] = 1;
    }
  } else {
    int rc = char_symbols(t, c, s, len, &n);
    if (rc)
      return rc;
  }
  n = merge_all(t, c, n);
  if (n == (size_t)-1 || weir__tok_tmp_reserve(c, base + n))
    return WEIR_ENOMEM;
  memcpy(c->tmp_ids + base, c->sym, n * sizeof *c->sym);
  memcpy(c->tmp_lens + base, c->sym_len, n * sizeof *c->sym_len);
  *nout = base + n;
  return WEIR_OK;
}
