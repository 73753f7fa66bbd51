/* Pre-tokenizers: splitting the normalized text into pieces the model
 * encodes one by one (ByteLevel, Split, Whitespace, WhitespaceSplit,
 * Punctuation, Digits, CharDelimiterSplit, BertPreTokenizer, Metaspace),
 * with the delimiter behaviors of `tokenizers`. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 64;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * size);
  if (!q)
    return -1;
  *p = q;
  *cap = nc;
  return 0;
}

static int add_seg(weir_tokenizer_cache *c, size_t *n, size_t s, size_t e, int m) {
  if (grow((void **)&c->segs, &c->segs_cap, *n + 1, sizeof *c->segs))
    return WEIR_ENOMEM;
  c->segs[(*n)++] = (struct tok_seg){s, e, m};
  return WEIR_OK;
}

static int add_piece(weir_tokenizer_cache *c, size_t *n, const tok_piece *from, size_t a, size_t b) {
  if (a >= b)
    return WEIR_OK; /* tokenizers drops empty splits */
  if (grow((void **)&c->pieces2, &c->pieces2_cap, *n + 1, sizeof *c->pieces2))
    return WEIR_ENOMEM;
  tok_piece p;
  if ((int)a < from->pre) {
    p.pre = from->pre - (int)a;
    p.off = from->off;
    p.len = b - (size_t)from->pre;
    if (b < (size_t)from->pre) { /* only prefix bytes: cannot happen with a 1-byte prefix */
      p.pre = (int)(b - a);
      p.len = 0;
    }
  } else {
    p.pre = 0;
    p.off = from->off + a - (size_t)from->pre;
    p.len = b - a;
  }
  c->pieces2[(*n)++] = p;
  return WEIR_OK;
}

/* The bytes of a piece, prefix included, contiguous. */
static const char *piece_bytes(weir_tokenizer_cache *c, const tok_piece *p, size_t *len) {
  *len = p->len + (size_t)p->pre;
  if (!p->pre)
    return c->work + p->off;
  if (grow((void **)&c->pbuf, &c->pbuf_cap, *len + 1, 1))
    return NULL;
  memset(c->pbuf, ' ', (size_t)p->pre);
  memcpy(c->pbuf + p->pre, c->work + p->off, p->len);
  return c->pbuf;
}

/* Applies `behavior` (and `invert`) to the segments of piece `p` and
 * appends the resulting pieces. */
static int apply(weir_tokenizer_cache *c, size_t nseg, const tok_piece *p, int behavior, int invert, size_t *np) {
  struct tok_seg *sg = c->segs;
  if (invert)
    for (size_t i = 0; i < nseg; i++)
      sg[i].m = !sg[i].m;
  int rc = WEIR_OK;
  switch (behavior) {
  case SPLIT_REMOVED:
    for (size_t i = 0; i < nseg && !rc; i++)
      if (!sg[i].m)
        rc = add_piece(c, np, p, sg[i].s, sg[i].e);
    return rc;
  case SPLIT_ISOLATED:
    for (size_t i = 0; i < nseg && !rc; i++)
      rc = add_piece(c, np, p, sg[i].s, sg[i].e);
    return rc;
  default:
    break;
  }
  /* The merging behaviors fold segments into the previous (or, for
   * MergedWithNext, the following) one, exactly as tokenizers does. */
  size_t k = 0;
  int prev = 0;
  if (behavior == SPLIT_MERGED_NEXT) {
    for (size_t ii = nseg; ii-- > 0;) {
      int m = sg[ii].m;
      if (m && !prev && k > 0)
        sg[nseg - k].s = sg[ii].s; /* acc.last is the one at nseg-k */
      else {
        k++;
        sg[nseg - k] = (struct tok_seg){sg[ii].s, sg[ii].e, 0};
      }
      prev = m;
    }
    for (size_t i = nseg - k; i < nseg && !rc; i++)
      rc = add_piece(c, np, p, sg[i].s, sg[i].e);
    return rc;
  }
  for (size_t i = 0; i < nseg; i++) {
    int m = sg[i].m;
    int merge = behavior == SPLIT_MERGED_PREV ? (m && !prev) : (m == prev);
    if (merge && k > 0)
      sg[k - 1].e = sg[i].e;
    else
      sg[k++] = (struct tok_seg){sg[i].s, sg[i].e, 0};
    prev = m;
  }
  for (size_t i = 0; i < k && !rc; i++)
    rc = add_piece(c, np, p, sg[i].s, sg[i].e);
  return rc;
}

static int regex_segs(weir_tokenizer_cache *c, const pcre2_code *re, const char *s, size_t len, size_t *nseg) {
  size_t prev = 0, at = 0;
  *nseg = 0;
  while (at <= len) {
    int r = pcre2_match(re, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
    if (r == PCRE2_ERROR_NOMATCH)
      break;
    if (r < 0) {
      PCRE2_UCHAR msg[120];
      pcre2_get_error_message(r, msg, sizeof msg);
      return weir__tok_err(WEIR_EFORMAT, "tokenizer: split regex failed: %s", (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    size_t ms = ov[0], me = ov[1];
    if (me == ms) { /* an empty match splits nothing; step one character */
      if (ms >= len)
        break;
      at = ms + weir__tok_u8len((unsigned char)s[ms]);
      continue;
    }
    if (ms > prev && add_seg(c, nseg, prev, ms, 0))
      return WEIR_ENOMEM;
    if (add_seg(c, nseg, ms, me, 1))
      return WEIR_ENOMEM;
    prev = at = me;
  }
  if (prev < len && add_seg(c, nseg, prev, len, 0))
    return WEIR_ENOMEM;
  return WEIR_OK;
}

static int lit_segs(weir_tokenizer_cache *c, const char *lit, size_t ll, const char *s, size_t len, size_t *nseg) {
  size_t prev = 0;
  *nseg = 0;
  if (!ll)
    return add_seg(c, nseg, 0, len, 0);
  for (size_t at = 0; at + ll <= len;) {
    const char *f = memmem(s + at, len - at, lit, ll);
    if (!f)
      break;
    size_t ms = (size_t)(f - s);
    if (ms > prev && add_seg(c, nseg, prev, ms, 0))
      return WEIR_ENOMEM;
    if (add_seg(c, nseg, ms, ms + ll, 1))
      return WEIR_ENOMEM;
    prev = at = ms + ll;
  }
  if (prev < len && add_seg(c, nseg, prev, len, 0))
    return WEIR_ENOMEM;
  return WEIR_OK;
}

enum { CP_SPACE, CP_PUNCT, CP_DIGIT, CP_CHAR };

/* Segments by a character predicate: every matching character is a match
 * of its own. */
static int char_segs(weir_tokenizer_cache *c, int what, uint32_t ch, const char *s, size_t len, size_t *nseg) {
  size_t prev = 0, i = 0;
  *nseg = 0;
  while (i < len) {
    size_t st = i;
    uint32_t cp = weir__tok_u8(s, &i);
    int m = what == CP_SPACE ? weir__uni_white_space(cp)
          : what == CP_PUNCT ? weir__uni_bert_punct(cp)
          : what == CP_DIGIT ? weir__uni_numeric(cp)
                             : cp == ch;
    if (!m)
      continue;
    if (st > prev && add_seg(c, nseg, prev, st, 0))
      return WEIR_ENOMEM;
    if (add_seg(c, nseg, st, i, 1))
      return WEIR_ENOMEM;
    prev = i;
  }
  if (prev < len && add_seg(c, nseg, prev, len, 0))
    return WEIR_ENOMEM;
  return WEIR_OK;
}

/* Metaspace: every piece rewritten (spaces -> the replacement, which is
 * prepended by the scheme) into a new work buffer with its alignment. */
static int metaspace_rewrite(weir_tokenizer_cache *c, const tok_pretok *pt, int first) {
  size_t total = 0;
  for (size_t i = 0; i < c->npieces; i++)
    total += (c->pieces[i].len + 1) * pt->lit_len + 1;
  if (grow((void **)&c->work2, &c->work2_cap, total + 1, 1) ||
      grow((void **)&c->align2, &c->align2_cap, 2 * (total + 1), sizeof *c->align2))
    return WEIR_ENOMEM;
  size_t o = 0;
  for (size_t i = 0; i < c->npieces; i++) {
    tok_piece *p = &c->pieces[i];
    size_t start = o;
    size_t src0 = c->use_align ? c->align[2 * p->off] : p->off;
    int starts_rep = p->len >= pt->lit_len && memcmp(c->work + p->off, pt->lit, pt->lit_len) == 0;
    starts_rep |= p->len && c->work[p->off] == ' ';
    int prepend = !starts_rep && (pt->prepend == PREPEND_ALWAYS || (pt->prepend == PREPEND_FIRST && first && src0 == 0));
    if (prepend) {
      memcpy(c->work2 + o, pt->lit, pt->lit_len);
      for (size_t k = 0; k < pt->lit_len; k++)
        c->align2[2 * (o + k)] = c->align2[2 * (o + k) + 1] = src0;
      o += pt->lit_len;
    }
    for (size_t j = p->off; j < p->off + p->len; j++) {
      size_t as = c->use_align ? c->align[2 * j] : j, ae = c->use_align ? c->align[2 * j + 1] : j + 1;
      if (c->work[j] == ' ') {
        memcpy(c->work2 + o, pt->lit, pt->lit_len);
        for (size_t k = 0; k < pt->lit_len; k++) {
          c->align2[2 * (o + k)] = as;
          c->align2[2 * (o + k) + 1] = ae;
        }
        o += pt->lit_len;
      } else {
        c->work2[o] = c->work[j];
        c->align2[2 * o] = as;
        c->align2[2 * o + 1] = ae;
        o++;
      }
    }
    p->off = start;
    p->len = o - start;
    p->pre = 0;
  }
  char *w = c->work;
  size_t wc = c->work_cap;
  c->work = c->work2;
  c->work_cap = c->work2_cap;
  c->work2 = w;
  c->work2_cap = wc;
  size_t *a = c->align;
  size_t ac = c->align_cap;
  c->align = c->align2;
  c->align_cap = c->align2_cap;
  c->align2 = a;
  c->align2_cap = ac;
  c->work_len = o;
  c->use_align = 1;
  return WEIR_OK;
}

static int one_pretok(const weir_tokenizer *t, weir_tokenizer_cache *c, const tok_pretok *pt, int first) {
  size_t np = 0;
  if (pt->kind == PT_METASPACE) {
    int rc = metaspace_rewrite(c, pt, first);
    if (rc)
      return rc;
  }
  for (size_t pi = 0; pi < c->npieces; pi++) {
    tok_piece p = c->pieces[pi];
    size_t len, nseg = 0;
    int rc = WEIR_OK;
    if (pt->kind == PT_BYTELEVEL && pt->add_prefix_space && !p.pre && (p.len == 0 || c->work[p.off] != ' '))
      p.pre = 1;
    const char *s = piece_bytes(c, &p, &len);
    if (!s)
      return WEIR_ENOMEM;
    switch (pt->kind) {
    case PT_BYTELEVEL:
      if (pt->re < 0) {
        rc = add_piece(c, &np, &p, 0, len);
        break;
      }
      rc = regex_segs(c, t->re[pt->re], s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, SPLIT_ISOLATED, 0, &np);
      break;
    case PT_SPLIT:
      rc = pt->re >= 0 ? regex_segs(c, t->re[pt->re], s, len, &nseg) : lit_segs(c, pt->lit, pt->lit_len, s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, pt->behavior, pt->invert, &np);
      break;
    case PT_WHITESPACE: /* the regex \w+|[^\w\s]+, its matches kept */
      rc = regex_segs(c, t->re[pt->re], s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, SPLIT_REMOVED, 1, &np);
      break;
    case PT_WHITESPACE_SPLIT:
      rc = char_segs(c, CP_SPACE, 0, s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, SPLIT_REMOVED, 0, &np);
      break;
    case PT_PUNCT:
      rc = char_segs(c, CP_PUNCT, 0, s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, pt->behavior, 0, &np);
      break;
    case PT_DIGITS:
      rc = char_segs(c, CP_DIGIT, 0, s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, pt->individual ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS, 0, &np);
      break;
    case PT_CHAR_DELIM: {
      size_t j = 0;
      uint32_t ch = weir__tok_u8(pt->lit, &j);
      rc = char_segs(c, CP_CHAR, ch, s, len, &nseg);
      if (!rc)
        rc = apply(c, nseg, &p, SPLIT_REMOVED, 0, &np);
      break;
    }
    case PT_BERT: {
      /* Whitespace removed, then every punctuation character isolated. */
      rc = char_segs(c, CP_SPACE, 0, s, len, &nseg);
      size_t mark = np;
      if (!rc)
        rc = apply(c, nseg, &p, SPLIT_REMOVED, 0, &np);
      size_t end = np;
      for (size_t q = mark; q < end && !rc; q++) {
        tok_piece w = c->pieces2[q];
        size_t wl;
        const char *ws = piece_bytes(c, &w, &wl);
        rc = char_segs(c, CP_PUNCT, 0, ws, wl, &nseg);
        if (!rc)
          rc = apply(c, nseg, &w, SPLIT_ISOLATED, 0, &np);
      }
      /* Drop the whitespace-split pieces now split further. */
      if (!rc && end > mark) {
        memmove(c->pieces2 + mark, c->pieces2 + end, (np - end) * sizeof *c->pieces2);
        np -= end - mark;
      }
      break;
    }
    case PT_METASPACE:
      if (pt->split) {
        rc = lit_segs(c, pt->lit, pt->lit_len, s, len, &nseg);
        if (!rc)
          rc = apply(c, nseg, &p, SPLIT_MERGED_NEXT, 0, &np);
      } else {
        rc = add_piece(c, &np, &p, 0, len);
      }
      break;
    default:
      return weir__tok_err(WEIR_EINVAL, "tokenizer: unknown pre-tokenizer %d", pt->kind);
    }
    if (rc)
      return rc;
  }
  tok_piece *sw = c->pieces;
  size_t swc = c->pieces_cap;
  c->pieces = c->pieces2;
  c->pieces_cap = c->pieces2_cap;
  c->pieces2 = sw;
  c->pieces2_cap = swc;
  c->npieces = np;
  return WEIR_OK;
}

int weir__tok_pretokenize(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t start, size_t end, int first) {
  if (grow((void **)&c->pieces, &c->pieces_cap, 1, sizeof *c->pieces))
    return WEIR_ENOMEM;
  c->pieces[0] = (tok_piece){start, end - start, 0};
  c->npieces = end > start ? 1 : 0;
  for (size_t i = 0; i < t->npretoks; i++) {
    int rc = one_pretok(t, c, &t->pretoks[i], first);
    if (rc)
      return rc;
  }
  return WEIR_OK;
}

/* For the model: the bytes of piece i (prefix included). */
const char *weir__tok_piece_bytes(weir_tokenizer_cache *c, size_t i, size_t *len) {
  return piece_bytes(c, &c->pieces[i], len);
}

void weir__tok_pretok_finish(weir_tokenizer *t) {
  size_t k = 0;
  for (size_t i = 0; i < t->npretoks; i++) {
    const tok_pretok *p = &t->pretoks[i];
    if (p->kind == PT_BYTELEVEL && p->re < 0 && !p->add_prefix_space)
      continue; /* its byte mapping is the model's byte_level */
    t->pretoks[k++] = *p;
  }
  t->npretoks = k;
  t->simple_re = -1;
  if (k == 1) {
    const tok_pretok *p = &t->pretoks[0];
    if ((p->kind == PT_BYTELEVEL && p->re >= 0 && !p->add_prefix_space) ||
        (p->kind == PT_SPLIT && p->re >= 0 && p->behavior == SPLIT_ISOLATED && !p->invert))
      t->simple_re = p->re;
  }
}
