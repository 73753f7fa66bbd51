/* Normalizers of tokenizer.json: NFC, NFD, NFKC, NFKD (utf8proc),
 * Lowercase, StripAccents, Replace, BertNormalizer, Strip, Prepend, in
 * sequence. Each keeps, for every output byte, the source range it came
 * from, so token offsets point into the caller's text. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

typedef struct {
  char *b;
  size_t *al;
  size_t n, cap;
} nbuf;

static int emit(nbuf *o, const char *s, size_t len, size_t as, size_t ae) {
  if (o->n + len > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->n + len + 1)
      cap *= 2;
    char *b = realloc(o->b, cap);
    if (!b)
      return WEIR_ENOMEM;
    o->b = b;
    size_t *al = realloc(o->al, 2 * cap * sizeof *al);
    if (!al)
      return WEIR_ENOMEM;
    o->al = al;
    o->cap = cap;
  }
  memcpy(o->b + o->n, s, len);
  for (size_t i = 0; i < len; i++) {
    o->al[2 * (o->n + i)] = as;
    o->al[2 * (o->n + i) + 1] = ae;
  }
  o->n += len;
  return WEIR_OK;
}

static int emit_cp(nbuf *o, uint32_t c, size_t as, size_t ae) {
  char u[4];
  return emit(o, u, weir__utf8_put(u, c), as, ae);
}

/* The source range of input bytes [a, b). */
static void src(const nbuf *in, size_t a, size_t b, size_t *as, size_t *ae) {
  *as = in->al[2 * a];
  *ae = in->al[2 * (b - 1) + 1];
}

/* Characters before which a normal form can restart: starters that are
 * never the second half of a composition (Latin-1, Greek, Cyrillic, kana,
 * CJK ideographs, Hangul syllables). Text between two of them is
 * normalized as one unit. */
static int safe_break(uint32_t c) {
  return c < 0x300 || (c >= 0x370 && c < 0x483) || (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3);
}

static int nf(weir_tokenizer_cache *c, const nbuf *in, nbuf *out, int kind) {
  utf8proc_option_t opt = UTF8PROC_STABLE;
  if (kind == NM_NFC || kind == NM_NFKC)
    opt |= UTF8PROC_COMPOSE;
  else
    opt |= UTF8PROC_DECOMPOSE;
  if (kind == NM_NFKC || kind == NM_NFKD)
    opt |= UTF8PROC_COMPAT;
  size_t i = 0;
  while (i < in->n) {
    unsigned char b = (unsigned char)in->b[i];
    size_t nx = i + 1;
    if (b < 0x80 && (nx >= in->n || (unsigned char)in->b[nx] < 0x80)) {
      /* ASCII followed by ASCII: already in every normal form. */
      int rc = emit(out, in->b + i, 1, in->al[2 * i], in->al[2 * i + 1]);
      if (rc)
        return rc;
      i = nx;
      continue;
    }
    /* A unit: this character and those up to the next safe break. */
    size_t j = i;
    (void)weir__tok_u8(in->b, &j);
    while (j < in->n) {
      size_t k = j;
      uint32_t cp = weir__tok_u8(in->b, &k);
      if (safe_break(cp))
        break;
      j = k;
    }
    size_t need = (j - i) * 18 + 16;
    if (need * sizeof(utf8proc_int32_t) > c->dbl_cap * sizeof(double)) {
      double *d = realloc(c->dbl, need * sizeof(utf8proc_int32_t));
      if (!d)
        return WEIR_ENOMEM;
      c->dbl = d;
      c->dbl_cap = need * sizeof(utf8proc_int32_t) / sizeof(double);
    }
    utf8proc_int32_t *buf = (utf8proc_int32_t *)c->dbl;
    utf8proc_ssize_t r = utf8proc_decompose((const utf8proc_uint8_t *)in->b + i, (utf8proc_ssize_t)(j - i), buf,
                                            (utf8proc_ssize_t)need, opt);
    if (r < 0 || (size_t)r > need)
      return weir__tok_err(WEIR_EFORMAT, "tokenizer: Unicode normalization failed: %s", utf8proc_errmsg(r));
    if (opt & UTF8PROC_COMPOSE)
      r = utf8proc_normalize_utf32(buf, r, opt);
    if (r < 0)
      return weir__tok_err(WEIR_EFORMAT, "tokenizer: Unicode normalization failed: %s", utf8proc_errmsg(r));
    size_t as, ae;
    src(in, i, j, &as, &ae);
    for (utf8proc_ssize_t k = 0; k < r; k++) {
      int rc = emit_cp(out, (uint32_t)buf[k], as, ae);
      if (rc)
        return rc;
    }
    i = j;
  }
  return WEIR_OK;
}

/* Rust's char::to_lowercase, one character. */
static int lower_cp(nbuf *out, uint32_t cp, size_t as, size_t ae) {
  if (cp == 0x130) /* İ: the only unconditional multi-character lowercase */
    return emit_cp(out, 'i', as, ae) || emit_cp(out, 0x307, as, ae) ? WEIR_ENOMEM : WEIR_OK;
  return emit_cp(out, cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp),
                 as, ae);
}

static int replace(const weir_tokenizer *t, weir_tokenizer_cache *c, const tok_norm *m, const nbuf *in, nbuf *out) {
  size_t i = 0;
  while (i < in->n) {
    size_t ms, me;
    if (m->re >= 0) {
      int r = pcre2_match(t->re[m->re], (PCRE2_SPTR)in->b, in->n, i, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
      if (r == PCRE2_ERROR_NOMATCH)
        break;
      if (r < 0)
        return weir__tok_err(WEIR_EFORMAT, "tokenizer: normalizer Replace: regex failed (%d)", r);
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
      ms = ov[0];
      me = ov[1];
      if (me == ms) { /* empty match: copy one character and go on */
        size_t k = ms + weir__tok_u8len((unsigned char)in->b[ms]);
        if (k > in->n)
          k = in->n;
        for (size_t q = i; q < k; q++)
          if (emit(out, in->b + q, 1, in->al[2 * q], in->al[2 * q + 1]))
            return WEIR_ENOMEM;
        i = k;
        continue;
      }
    } else {
      const char *f = m->pat_len ? memmem(in->b + i, in->n - i, m->pat, m->pat_len) : NULL;
      if (!f)
        break;
      ms = (size_t)(f - in->b);
      me = ms + m->pat_len;
    }
    for (size_t q = i; q < ms; q++)
      if (emit(out, in->b + q, 1, in->al[2 * q], in->al[2 * q + 1]))
        return WEIR_ENOMEM;
    size_t as, ae;
    src(in, ms, me, &as, &ae);
    if (emit(out, m->with, m->with_len, as, ae))
      return WEIR_ENOMEM;
    i = me;
  }
  for (size_t q = i; q < in->n; q++)
    if (emit(out, in->b + q, 1, in->al[2 * q], in->al[2 * q + 1]))
      return WEIR_ENOMEM;
  return WEIR_OK;
}

/* Per-character normalizers: each character maps to 0..n characters. */
static int per_char(const tok_norm *m, const nbuf *in, nbuf *out, int pass) {
  size_t i = 0;
  while (i < in->n) {
    size_t st = i;
    uint32_t cp = weir__tok_u8(in->b, &i);
    size_t as, ae;
    src(in, st, i, &as, &ae);
    int rc = WEIR_OK;
    switch (m->kind) {
    case NM_LOWER:
      rc = lower_cp(out, cp, as, ae);
      break;
    case NM_STRIP_ACCENTS: /* any mark (M*), as tokenizers' is_combining_mark;
                              BERT's (left = 1 here) only Mn */
      if (!(m->left ? weir__uni_mark_nonspacing(cp) : weir__uni_mark(cp)))
        rc = emit(out, in->b + st, i - st, as, ae);
      break;
    case NM_BERT:
      if (pass == 0) { /* clean_text */
        if (cp == 0 || cp == 0xFFFD || weir__uni_control(cp) || utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_CS)
          break;
        if (cp == '\t' || cp == '\n' || cp == '\r' || weir__uni_white_space(cp))
          rc = emit(out, " ", 1, as, ae);
        else
          rc = emit(out, in->b + st, i - st, as, ae);
      } else if (pass == 1) { /* Chinese characters padded with spaces */
        if (weir__uni_cjk(cp))
          rc = emit(out, " ", 1, as, ae) || emit(out, in->b + st, i - st, as, ae) || emit(out, " ", 1, as, ae);
        else
          rc = emit(out, in->b + st, i - st, as, ae);
      }
      break;
    default:
      rc = emit(out, in->b + st, i - st, as, ae);
    }
    if (rc)
      return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

static int strip(const tok_norm *m, const nbuf *in, nbuf *out) {
  size_t a = 0, b = in->n;
  while (m->left && a < b) {
    size_t k = a;
    if (!weir__uni_white_space(weir__tok_u8(in->b, &k)))
      break;
    a = k;
  }
  while (m->right && b > a) {
    size_t p = weir__tok_u8prev(in->b, b), k = p;
    if (!weir__uni_white_space(weir__tok_u8(in->b, &k)))
      break;
    b = p;
  }
  for (size_t q = a; q < b; q++)
    if (emit(out, in->b + q, 1, in->al[2 * q], in->al[2 * q + 1]))
      return WEIR_ENOMEM;
  return WEIR_OK;
}

int weir__tok_norm_check(const tok_norm *n) {
  (void)n;
  return WEIR_OK;
}

int weir__tok_normalize(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len) {
  nbuf a = {c->work, c->align, 0, 0}, b = {c->work2, c->align2, 0, 0};
  /* align_cap counts size_t values: two per byte */
  a.cap = c->work_cap < c->align_cap / 2 ? c->work_cap : c->align_cap / 2;
  b.cap = c->work2_cap < c->align2_cap / 2 ? c->work2_cap : c->align2_cap / 2;
  int rc = WEIR_OK;
  for (size_t i = 0; i < len && !rc; i++)
    rc = emit(&a, s + i, 1, i, i + 1);
  for (size_t k = 0; k < t->nnorms && !rc; k++) {
    const tok_norm *m = &t->norms[k];
    int passes = 1;
    for (int pass = 0; pass < passes && !rc; pass++) {
      b.n = 0;
      switch (m->kind) {
      case NM_NFC: case NM_NFD: case NM_NFKC: case NM_NFKD:
        rc = nf(c, &a, &b, m->kind);
        break;
      case NM_REPLACE:
        rc = replace(t, c, m, &a, &b);
        break;
      case NM_STRIP:
        rc = strip(m, &a, &b);
        break;
      case NM_PREPEND:
        if (a.n)
          rc = emit(&b, m->with, m->with_len, a.al[0], a.al[0]);
        for (size_t q = 0; q < a.n && !rc; q++)
          rc = emit(&b, a.b + q, 1, a.al[2 * q], a.al[2 * q + 1]);
        break;
      case NM_BERT: {
        /* clean_text, Chinese characters, strip accents (NFD, then no
         * Mn), lowercase — tokenizers' order. */
        int sa = m->strip_accents < 0 ? m->lowercase : m->strip_accents;
        /* BERT strips only nonspacing marks (Mn) */
        static const tok_norm lower = {.kind = NM_LOWER}, stripm = {.kind = NM_STRIP_ACCENTS, .left = 1};
        int steps[5], ns = 0;
        if (m->clean_text) steps[ns++] = 0;
        if (m->chinese) steps[ns++] = 1;
        if (sa) { steps[ns++] = 2; steps[ns++] = 3; }
        if (m->lowercase) steps[ns++] = 4;
        for (int q = 0; q < ns && !rc; q++) {
          b.n = 0;
          if (steps[q] <= 1)
            rc = per_char(m, &a, &b, steps[q]);
          else if (steps[q] == 2)
            rc = nf(c, &a, &b, NM_NFD);
          else
            rc = per_char(steps[q] == 3 ? &stripm : &lower, &a, &b, 0);
          nbuf sw = a;
          a = b;
          b = sw;
        }
        nbuf sw = a; /* undone by the swap below */
        a = b;
        b = sw;
        break;
      }
      default:
        rc = per_char(m, &a, &b, 0);
      }
      nbuf sw = a;
      a = b;
      b = sw;
    }
  }
  c->work = a.b;
  c->align = a.al;
  c->work_cap = a.cap;
  c->align_cap = 2 * a.cap;
  c->work2 = b.b;
  c->align2 = b.al;
  c->work2_cap = b.cap;
  c->align2_cap = 2 * b.cap;
  c->work_len = a.n;
  c->use_align = 1;
  return rc;
}
