/* Encoding: invalid UTF-8 (refused or replaced), added tokens, the
 * normalizer, the pre-tokenizers and the model per piece through the
 * per-thread word cache, the post-processor; token offsets mapped back to
 * the caller's bytes. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/stream.h"
#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

/* The word cache stays below these; past them it starts over, which keeps
 * a worker's memory bounded on any input. */
#define WC_MAX_ENTRIES (1u << 16)
#define WC_MAX_KEY 128

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 256;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * size);
  if (!q)
    return -1;
  *p = q;
  *cap = nc;
  return 0;
}

int weir__tok_out_push(weir_tokenizer_cache *c, int32_t id, size_t s, size_t e) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    int32_t *ids = realloc(c->ids, cap * sizeof *ids);
    if (!ids)
      return WEIR_ENOMEM;
    c->ids = ids;
    size_t *offs = realloc(c->offs, 2 * cap * sizeof *offs);
    if (!offs)
      return WEIR_ENOMEM;
    c->offs = offs;
    c->cap = cap;
  }
  c->ids[c->n] = id;
  c->offs[2 * c->n] = s;
  c->offs[2 * c->n + 1] = e;
  c->n++;
  return WEIR_OK;
}

int weir_tokenizer_cache_create(const weir_tokenizer *t, weir_tokenizer_cache **out) {
  if (!t || !out)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_cache_create: NULL %s", t ? "out" : "tokenizer");
  weir_tokenizer_cache *c = calloc(1, sizeof *c);
  if (!c)
    return WEIR_ENOMEM;
  c->t = t;
  /* Output arrays exist from the start: an empty text still gets valid
   * pointers. */
  c->cap = 256;
  c->ids = malloc(c->cap * sizeof *c->ids);
  c->offs = malloc(2 * c->cap * sizeof *c->offs);
  if (!c->ids || !c->offs) {
    weir_tokenizer_cache_destroy(c);
    return WEIR_ENOMEM;
  }
  if (t->nre) {
    /* One match block fits every pattern; a JIT stack of its own, as
     * long whitespace runs can outgrow PCRE2's default 32 KiB. */
    c->md = pcre2_match_data_create(16, NULL);
    c->mctx = pcre2_match_context_create(NULL);
    c->jit = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, NULL);
    if (!c->md || !c->mctx || !c->jit) {
      weir_tokenizer_cache_destroy(c);
      return WEIR_ENOMEM;
    }
    pcre2_jit_stack_assign(c->mctx, NULL, c->jit);
  }
  *out = c;
  return WEIR_OK;
}

void weir_tokenizer_cache_destroy(weir_tokenizer_cache *c) {
  if (!c)
    return;
  pcre2_match_data_free(c->md);
  pcre2_match_context_free(c->mctx);
  pcre2_jit_stack_free(c->jit);
  free(c->wc);
  free(c->wc_keys);
  free(c->wc_ids);
  free(c->wc_lens);
  free(c->ids);
  free(c->offs);
  free(c->work);
  free(c->align);
  free(c->work2);
  free(c->align2);
  free(c->pieces);
  free(c->pieces2);
  free(c->segs);
  free(c->pbuf);
  free(c->fixed);
  free(c->fixed_map);
  free(c->sym);
  free(c->sym_len);
  free(c->heap);
  free(c->dbl);
  free(c->tmp_ids);
  free(c->tmp_lens);
  free(c);
}

static void wc_reset(weir_tokenizer_cache *c) {
  if (c->wc)
    memset(c->wc, 0, (c->wc_mask + 1) * sizeof *c->wc);
  c->wc_n = c->wc_keys_len = c->wc_ids_len = 0;
}

/* The model's tokens of one piece through the word cache: *ids and *lens
 * (token byte lengths) point into the cache or into tmp_ids/tmp_lens. */
static int encode_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len,
                       const int32_t **ids, const uint32_t **lens, size_t *n) {
  *n = 0;
  *ids = c->tmp_ids;
  *lens = c->tmp_lens;
  if (len > WC_MAX_KEY) {
    int rc = t->word(t, c, s, len, n);
    *ids = c->tmp_ids; /* the model may have moved them */
    *lens = c->tmp_lens;
    return rc;
  }
  if (!c->wc || (c->wc_n + 1) * 2 > c->wc_mask + 1) {
    /* Start small and double (to 2 * WC_MAX_ENTRIES slots): a small
     * working set of words stays in the CPU's caches. */
    size_t cap = c->wc ? (c->wc_mask + 1) * 2 : 4096;
    if (cap > 2 * WC_MAX_ENTRIES) {
      wc_reset(c);
    } else {
      struct tok_went *nw = calloc(cap, sizeof *nw);
      if (!nw)
        return WEIR_ENOMEM;
      for (size_t k = 0; c->wc && k <= c->wc_mask; k++) {
        if (!c->wc[k].hash)
          continue;
        size_t j = (size_t)c->wc[k].hash & (cap - 1);
        while (nw[j].hash)
          j = (j + 1) & (cap - 1);
        nw[j] = c->wc[k];
      }
      free(c->wc);
      c->wc = nw;
      c->wc_mask = cap - 1;
    }
  }
  uint64_t h = weir__tok_hash(s, len) | 1; /* 0 marks an empty slot */
  size_t i = (size_t)h & c->wc_mask;
  for (; c->wc[i].hash; i = (i + 1) & c->wc_mask) {
    struct tok_went *e = &c->wc[i];
    if (e->hash == h && e->klen == len && memcmp(c->wc_keys + e->key, s, len) == 0) {
      *ids = c->wc_ids + e->ids;
      *lens = c->wc_lens + e->ids;
      *n = e->nids;
      return WEIR_OK;
    }
  }
  int rc = t->word(t, c, s, len, n);
  if (rc)
    return rc;
  *ids = c->tmp_ids;
  *lens = c->tmp_lens;
  if (c->wc_n >= WC_MAX_ENTRIES) {
    wc_reset(c);
    i = (size_t)h & c->wc_mask;
  }
  if (grow((void **)&c->wc_keys, &c->wc_keys_cap, c->wc_keys_len + len, 1) ||
      grow((void **)&c->wc_ids, &c->wc_ids_cap, c->wc_ids_len + *n, sizeof *c->wc_ids))
    return WEIR_ENOMEM;
  if (c->wc_lens_cap < c->wc_ids_cap) {
    uint32_t *l = realloc(c->wc_lens, c->wc_ids_cap * sizeof *l);
    if (!l)
      return WEIR_ENOMEM;
    c->wc_lens = l;
    c->wc_lens_cap = c->wc_ids_cap;
  }
  memcpy(c->wc_keys + c->wc_keys_len, s, len);
  if (*n) {
    memcpy(c->wc_ids + c->wc_ids_len, c->tmp_ids, *n * sizeof *c->wc_ids);
    memcpy(c->wc_lens + c->wc_ids_len, c->tmp_lens, *n * sizeof *c->wc_lens);
  }
  c->wc[i] = (struct tok_went){h, (uint32_t)c->wc_keys_len, (uint32_t)len, (uint32_t)c->wc_ids_len, (uint32_t)*n};
  c->wc_keys_len += len;
  c->wc_ids_len += *n;
  c->wc_n++;
  return WEIR_OK;
}

static int out_reserve(weir_tokenizer_cache *c, size_t more) {
  if (c->n + more <= c->cap)
    return WEIR_OK;
  size_t cap = c->cap ? c->cap : 256;
  while (cap < c->n + more)
    cap *= 2;
  int32_t *ids = realloc(c->ids, cap * sizeof *ids);
  if (!ids)
    return WEIR_ENOMEM;
  c->ids = ids;
  size_t *offs = realloc(c->offs, 2 * cap * sizeof *offs);
  if (!offs)
    return WEIR_ENOMEM;
  c->offs = offs;
  c->cap = cap;
  return WEIR_OK;
}

/* Source offsets (in the text being encoded) of work bytes [w0, w1). */
static void work_range(const weir_tokenizer_cache *c, size_t base, size_t w0, size_t w1, size_t *s, size_t *e) {
  if (!c->use_align) {
    *s = base + w0;
    *e = base + w1;
    return;
  }
  if (w0 >= c->work_len) {
    *s = *e = base + (c->work_len ? c->align[2 * (c->work_len - 1) + 1] : 0);
    return;
  }
  *s = base + c->align[2 * w0];
  *e = w1 > w0 ? base + c->align[2 * (w1 - 1) + 1] : *s;
}

/* Encodes one piece: work bytes [off, off + len) after `pre` prefix bytes
 * (s holds them all, contiguous). */
static int encode_piece(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t base, const char *s, size_t len,
                        size_t off, size_t pre) {
  const int32_t *ids;
  const uint32_t *lens;
  size_t n;
  int rc = encode_word(t, c, s, len, &ids, &lens, &n);
  if (rc)
    return rc;
  /* The pointers may be into tmp_* or the word cache: neither moves here. */
  if ((rc = out_reserve(c, n)))
    return rc;
  int32_t *oid = c->ids + c->n;
  size_t *oo = c->offs + 2 * c->n;
  size_t v = 0;
  for (size_t k = 0; k < n; k++) {
    size_t v1 = v + lens[k];
    size_t w0 = off + (v > pre ? v - pre : 0), w1 = off + (v1 > pre ? v1 - pre : 0);
    oid[k] = ids[k];
    if (c->use_align) {
      work_range(c, base, w0, w1, &oo[2 * k], &oo[2 * k + 1]);
    } else {
      oo[2 * k] = base + w0;
      oo[2 * k + 1] = base + w1;
    }
    v = v1;
  }
  c->n += n;
  return WEIR_OK;
}

/* The pre-tokenizers and the model over work[start..end). */
static int encode_work(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t base, size_t start, size_t end,
                       int first) {
  int rc;
  if (t->simple_re >= 0) {
    /* One regex whose matches and gaps are the pieces (tiktoken, GPT-2,
     * Llama 3): encode them as they are found. */
    const pcre2_code *re = t->re[t->simple_re];
    const char *s = c->work + start;
    size_t len = end - start, prev = 0, at = 0;
    while (at < len) {
      int r = pcre2_match(re, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
      if (r == PCRE2_ERROR_NOMATCH)
        break;
      if (r < 0)
        return weir__tok_err(WEIR_EFORMAT, "tokenizer: split regex failed (%d)", r);
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
      size_t ms = ov[0], me = ov[1];
      if (me == ms) {
        at = ms + weir__tok_u8len((unsigned char)s[ms]);
        continue;
      }
      if (ms > prev && (rc = encode_piece(t, c, base, s + prev, ms - prev, start + prev, 0)))
        return rc;
      if ((rc = encode_piece(t, c, base, s + ms, me - ms, start + ms, 0)))
        return rc;
      prev = at = me;
    }
    if (prev < len && (rc = encode_piece(t, c, base, s + prev, len - prev, start + prev, 0)))
      return rc;
    return WEIR_OK;
  }
  if ((rc = weir__tok_pretokenize(t, c, start, end, first)))
    return rc;
  for (size_t p = 0; p < c->npieces; p++) {
    size_t len;
    const char *s = weir__tok_piece_bytes(c, p, &len);
    if (!s)
      return WEIR_ENOMEM;
    if ((rc = encode_piece(t, c, base, s, len, c->pieces[p].off, (size_t)c->pieces[p].pre)))
      return rc;
  }
  return WEIR_OK;
}

/* A stretch of text between added tokens of the first pass: normalized,
 * then split on the normalized added tokens, then encoded. */
static int encode_text(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t base,
                       unsigned flags, int first) {
  int rc;
  if (t->normalize) {
    if ((rc = t->normalize(t, c, s, len)))
      return rc;
  } else {
    if (grow((void **)&c->work, &c->work_cap, len + 1, 1))
      return WEIR_ENOMEM;
    memcpy(c->work, s, len);
    c->work_len = len;
    c->use_align = 0;
  }
  size_t at = 0, ms, me, which;
  int pass = 1 | ((flags & WEIR_TOKENIZE_SPLIT_SPECIAL) ? 2 : 0);
  while (t->any_normalized_added && weir__tok_added_next(t, c->work, c->work_len, at, pass, &ms, &me, &which)) {
    if (ms > at && (rc = encode_work(t, c, base, at, ms, first && at == 0)))
      return rc;
    size_t os, oe;
    work_range(c, base, ms, me, &os, &oe);
    if ((rc = weir__tok_out_push(c, t->added[which].id, os, oe)))
      return rc;
    at = me;
  }
  if (at < c->work_len)
    return encode_work(t, c, base, at, c->work_len, first && at == 0);
  return WEIR_OK;
}

/* Replaces invalid UTF-8 by U+FFFD into c->fixed, with each byte's source
 * offset in c->fixed_map (len + 1 values). */
static int fix_utf8(weir_tokenizer_cache *c, const char *s, size_t len, size_t *flen) {
  if (grow((void **)&c->fixed, &c->fixed_cap, len * 3 + 1, 1) ||
      grow((void **)&c->fixed_map, &c->fixed_map_cap, len * 3 + 1, sizeof *c->fixed_map))
    return WEIR_ENOMEM;
  size_t i = 0, o = 0;
  while (i < len) {
    size_t bad = weir__uni_invalid_at(s + i, len - i) + i;
    for (; i < bad; i++) {
      c->fixed[o] = s[i];
      c->fixed_map[o++] = i;
    }
    if (i >= len)
      break;
    size_t k = weir__uni_bad_len(s, len, i);
    memcpy(c->fixed + o, "\xEF\xBF\xBD", 3);
    c->fixed_map[o] = c->fixed_map[o + 1] = c->fixed_map[o + 2] = i;
    o += 3;
    i += k;
  }
  c->fixed_map[o] = len;
  *flen = o;
  return WEIR_OK;
}

int weir_tokenizer_encode_cached(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len,
                                 unsigned flags, const int32_t **ids, const size_t **offsets, size_t *n) {
  if (!t || !c || (!text && len) || !ids || !n)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_encode: NULL argument");
  if (c->t != t)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_encode: the cache was made for another tokenizer");
  if (!text)
    text = "";
  c->n = 0;
  const char *src = text;
  size_t slen = len;
  int fixed = 0;
  size_t bad = weir__uni_invalid_at(text, len);
  if (bad < len) {
    if (!(flags & WEIR_TOKENIZE_REPLACE_INVALID))
      return weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_encode: invalid UTF-8 at byte %zu (0x%02x)", bad,
                           (unsigned char)text[bad]);
    int rc = fix_utf8(c, text, len, &slen);
    if (rc)
      return rc;
    src = c->fixed;
    fixed = 1;
  }
  int rc;
  if (t->kind == TOK_SPM) {
    rc = weir__spm_encode(t, c, src, slen, flags);
  } else {
    size_t at = 0, ms, me, which;
    int pass = (flags & WEIR_TOKENIZE_SPLIT_SPECIAL) ? 2 : 0;
    int cont = (flags & WEIR__TOKENIZE_CONTINUES) != 0;
    rc = WEIR_OK;
    while (!rc && t->nadded && weir__tok_added_next(t, src, slen, at, pass, &ms, &me, &which)) {
      if (ms > at)
        rc = encode_text(t, c, src + at, ms - at, at, flags, at == 0 && !cont);
      if (!rc)
        rc = weir__tok_out_push(c, t->added[which].id, ms, me);
      at = me;
    }
    if (!rc && at < slen)
      rc = encode_text(t, c, src + at, slen - at, at, flags, at == 0 && !cont);
    if (!rc && (flags & WEIR_TOKENIZE_ADD_SPECIAL) && t->post.present) {
      /* The template around the sequence: ids before $A at the front,
       * after it at the end. */
      size_t body = c->n, nb = 0;
      for (size_t k = 0; k < t->post.nsingle && t->post.single[k] >= 0; k++)
        nb++;
      size_t na = t->post.nsingle - nb - (nb < t->post.nsingle);
      for (size_t k = 0; k < nb + na && !rc; k++)
        rc = weir__tok_out_push(c, 0, 0, 0);
      if (!rc) {
        if (nb && body) {
          memmove(c->ids + nb, c->ids, body * sizeof *c->ids);
          memmove(c->offs + 2 * nb, c->offs, 2 * body * sizeof *c->offs);
        }
        for (size_t k = 0; k < nb; k++) {
          c->ids[k] = t->post.single[k];
          c->offs[2 * k] = c->offs[2 * k + 1] = 0;
        }
        for (size_t k = 0; k < na; k++) {
          c->ids[nb + body + k] = t->post.single[nb + 1 + k];
          c->offs[2 * (nb + body + k)] = c->offs[2 * (nb + body + k) + 1] = slen;
        }
      }
    }
  }
  if (rc)
    return rc;
  if (fixed)
    for (size_t k = 0; k < 2 * c->n; k++)
      c->offs[k] = c->fixed_map[c->offs[k]];
  *ids = c->ids;
  if (offsets)
    *offsets = c->offs;
  *n = c->n;
  return WEIR_OK;
}

int weir_tokenizer_encode_into(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len,
                               unsigned flags, int32_t *ids, size_t cap, size_t *n) {
  const int32_t *got;
  int rc = weir_tokenizer_encode_cached(t, c, text, len, flags, &got, NULL, n);
  if (rc)
    return rc;
  if (*n && cap)
    memcpy(ids, got, (*n < cap ? *n : cap) * sizeof *ids);
  return WEIR_OK;
}

int weir_tokenizer_encode(const weir_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n) {
  if (!ids || !n)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_encode: NULL %s", ids ? "n" : "ids");
  *ids = NULL;
  *n = 0;
  weir_tokenizer_cache *c;
  int rc = weir_tokenizer_cache_create(t, &c);
  if (rc)
    return rc;
  const int32_t *got;
  rc = weir_tokenizer_encode_cached(t, c, text, len, WEIR_TOKENIZE_ADD_SPECIAL, &got, NULL, n);
  if (!rc && *n) {
    *ids = malloc(*n * sizeof **ids);
    if (!*ids)
      rc = WEIR_ENOMEM;
    else
      memcpy(*ids, got, *n * sizeof **ids);
  }
  if (rc)
    *n = 0;
  weir_tokenizer_cache_destroy(c);
  return rc;
}
