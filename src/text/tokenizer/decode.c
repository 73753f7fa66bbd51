/* Decoding ids of a tokenizer.json back to text: the tokens' spellings
 * through the decoder chain (ByteLevel, WordPiece, Metaspace, Replace,
 * ByteFallback, Fuse, Strip, BPEDecoder) exactly as `tokenizers` applies
 * it to the whole list, or joined by spaces without a decoder. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

/* A list of strings in one buffer. */
typedef struct {
  char *buf;
  size_t len, cap;
  size_t *st, *ln;
  size_t n, ncap;
} slist;

static int sl_reserve(slist *l, size_t more) {
  if (l->len + more > l->cap) {
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + more)
      cap *= 2;
    char *b = realloc(l->buf, cap);
    if (!b)
      return WEIR_ENOMEM;
    l->buf = b;
    l->cap = cap;
  }
  return WEIR_OK;
}

/* Starts a new string; its bytes follow with sl_add. */
static int sl_begin(slist *l) {
  if (l->n == l->ncap) {
    size_t cap = l->ncap ? l->ncap * 2 : 64;
    size_t *s = realloc(l->st, cap * sizeof *s), *q;
    if (!s)
      return WEIR_ENOMEM;
    l->st = s;
    if (!(q = realloc(l->ln, cap * sizeof *q)))
      return WEIR_ENOMEM;
    l->ln = q;
    l->ncap = cap;
  }
  l->st[l->n] = l->len;
  l->ln[l->n] = 0;
  l->n++;
  return WEIR_OK;
}

static int sl_add(slist *l, const void *s, size_t len) {
  if (!len)
    return WEIR_OK;
  if (sl_reserve(l, len))
    return WEIR_ENOMEM;
  memcpy(l->buf + l->len, s, len);
  l->len += len;
  l->ln[l->n - 1] += len;
  return WEIR_OK;
}

static void sl_free(slist *l) {
  free(l->buf);
  free(l->st);
  free(l->ln);
}

/* Appends src with every `pat` replaced by `with`. */
static int add_replaced(slist *l, const char *s, size_t len, const char *pat, size_t pl, const char *with, size_t wl) {
  size_t i = 0;
  while (pl && i + pl <= len) {
    const char *f = memmem(s + i, len - i, pat, pl);
    if (!f)
      break;
    if (sl_add(l, s + i, (size_t)(f - s) - i) || sl_add(l, with, wl))
      return WEIR_ENOMEM;
    i = (size_t)(f - s) + pl;
  }
  return sl_add(l, s + i, len - i);
}

/* WordPiece's cleanup(): the replacements of tokenizers, in its order. */
static int wp_cleanup(slist *out, const char *s, size_t len) {
  static const char *const rep[][2] = {{" .", "."},  {" ?", "?"},  {" !", "!"},  {" ,", ","},  {" ' ", "'"}, {" n't", "n't"},
                                       {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  slist a = {0}, b = {0};
  int rc = sl_begin(&a) || sl_add(&a, s, len) ? WEIR_ENOMEM : WEIR_OK;
  for (size_t r = 0; r < sizeof rep / sizeof rep[0] && !rc; r++) {
    b.len = b.n = 0;
    rc = sl_begin(&b) || add_replaced(&b, a.buf, a.len, rep[r][0], strlen(rep[r][0]), rep[r][1], strlen(rep[r][1]));
    slist t = a;
    a = b;
    b = t;
  }
  if (!rc)
    rc = sl_add(out, a.buf, a.len);
  sl_free(&a);
  sl_free(&b);
  return rc;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One decoder over the list `in`, into `out`. */
static int apply(const tok_dec *d, const slist *in, slist *out) {
  int rc = WEIR_OK;
  out->len = out->n = 0;
  switch (d->kind) {
  case DEC_BYTELEVEL: {
    /* Each token's characters back to bytes (a token with a character
     * outside the map stays as it is), all joined, then read as UTF-8
     * with U+FFFD for what is not. */
    char *tmp = malloc(in->len + 1);
    slist raw = {0};
    if (!tmp || sl_begin(&raw)) {
      free(tmp);
      sl_free(&raw);
      return WEIR_ENOMEM;
    }
    for (size_t i = 0; i < in->n && !rc; i++) {
      long r = weir__bytelevel_unmap(in->buf + in->st[i], in->ln[i], tmp);
      rc = r >= 0 ? sl_add(&raw, tmp, (size_t)r) : sl_add(&raw, in->buf + in->st[i], in->ln[i]);
    }
    free(tmp);
    if (!rc)
      rc = sl_begin(out);
    for (size_t i = 0; i < raw.len && !rc;) {
      size_t bad = weir__uni_invalid_at(raw.buf + i, raw.len - i) + i;
      rc = sl_add(out, raw.buf + i, bad - i);
      i = bad;
      if (i < raw.len && !rc) {
        rc = sl_add(out, "\xEF\xBF\xBD", 3);
        i += weir__uni_bad_len(raw.buf, raw.len, i);
      }
    }
    sl_free(&raw);
    return rc;
  }
  case DEC_WORDPIECE:
    for (size_t i = 0; i < in->n && !rc; i++) {
      const char *s = in->buf + in->st[i];
      size_t len = in->ln[i];
      slist tok = {0};
      rc = sl_begin(&tok);
      if (!rc && i != 0) {
        if (len >= d->a_len && memcmp(s, d->a, d->a_len) == 0)
          rc = sl_add(&tok, s + d->a_len, len - d->a_len);
        else
          rc = sl_add(&tok, " ", 1) || sl_add(&tok, s, len);
      } else if (!rc) {
        rc = sl_add(&tok, s, len);
      }
      if (!rc)
        rc = sl_begin(out);
      if (!rc)
        rc = d->cleanup ? wp_cleanup(out, tok.buf ? tok.buf : "", tok.len) : sl_add(out, tok.buf ? tok.buf : "", tok.len);
      sl_free(&tok);
    }
    return rc;
  case DEC_METASPACE:
    for (size_t i = 0; i < in->n && !rc; i++) {
      rc = sl_begin(out);
      const char *s = in->buf + in->st[i];
      size_t len = in->ln[i], j = 0;
      while (j < len && !rc) {
        if (len - j >= d->a_len && memcmp(s + j, d->a, d->a_len) == 0) {
          if (!(i == 0 && d->prepend != PREPEND_NEVER))
            rc = sl_add(out, " ", 1);
          j += d->a_len;
        } else {
          size_t k = weir__tok_u8len((unsigned char)s[j]);
          rc = sl_add(out, s + j, k);
          j += k;
        }
      }
    }
    return rc;
  case DEC_REPLACE:
    for (size_t i = 0; i < in->n && !rc; i++)
      rc = sl_begin(out) || add_replaced(out, in->buf + in->st[i], in->ln[i], d->a, d->a_len, d->b, d->b_len);
    return rc;
  case DEC_BYTE_FALLBACK: {
    unsigned char *bytes = malloc(in->n + 1);
    size_t nb = 0;
    if (!bytes)
      return WEIR_ENOMEM;
    for (size_t i = 0; i <= in->n && !rc; i++) {
      const char *s = i < in->n ? in->buf + in->st[i] : NULL;
      size_t len = i < in->n ? in->ln[i] : 0;
      if (s && len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
        bytes[nb++] = (unsigned char)(hexval(s[3]) * 16 + hexval(s[4]));
        continue;
      }
      if (nb) {
        if (weir__uni_invalid_at((const char *)bytes, nb) == nb)
          rc = sl_begin(out) || sl_add(out, bytes, nb);
        else
          for (size_t k = 0; k < nb && !rc; k++)
            rc = sl_begin(out) || sl_add(out, "\xEF\xBF\xBD", 3);
        nb = 0;
      }
      if (s && !rc)
        rc = sl_begin(out) || sl_add(out, s, len);
    }
    free(bytes);
    return rc;
  }
  case DEC_FUSE:
    rc = sl_begin(out);
    for (size_t i = 0; i < in->n && !rc; i++)
      rc = sl_add(out, in->buf + in->st[i], in->ln[i]);
    return rc;
  case DEC_STRIP:
    for (size_t i = 0; i < in->n && !rc; i++) {
      const char *s = in->buf + in->st[i];
      size_t a = 0, b = in->ln[i];
      for (int k = 0; k < d->start && b - a >= d->a_len && memcmp(s + a, d->a, d->a_len) == 0; k++)
        a += d->a_len;
      for (int k = 0; k < d->stop && b - a >= d->a_len && memcmp(s + b - d->a_len, d->a, d->a_len) == 0; k++)
        b -= d->a_len;
      rc = sl_begin(out) || sl_add(out, s + a, b - a);
    }
    return rc;
  case DEC_BPE:
    for (size_t i = 0; i < in->n && !rc; i++)
      rc = sl_begin(out) || add_replaced(out, in->buf + in->st[i], in->ln[i], d->a, d->a_len,
                                         i + 1 == in->n ? "" : " ", i + 1 == in->n ? 0 : 1);
    return rc;
  default:
    return WEIR_EINVAL;
  }
}

int weir__tok_decode_hf(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                        size_t *len) {
  slist a = {0}, b = {0};
  int rc = WEIR_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    int32_t id = ids[i];
    if (id < 0 || (size_t)id >= t->size || !t->spell[id]) {
      rc = weir__tok_err(WEIR_EINVAL, "weir_tokenizer_decode: id %d (at %zu) is not in the vocabulary", id, i);
      break;
    }
    if (skip_special && (t->flags[id] & TF_SPECIAL))
      continue;
    if (t->has_decoder) {
      rc = sl_begin(&a) || sl_add(&a, t->spell[id], t->spell_len[id]);
    } else {
      /* No decoder: tokenizers joins the tokens with spaces. */
      if (!a.n)
        rc = sl_begin(&a);
      else
        rc = sl_add(&a, " ", 1);
      if (!rc)
        rc = sl_add(&a, t->spell[id], t->spell_len[id]);
    }
  }
  if (!t->has_decoder && !a.n && !rc)
    rc = sl_begin(&a);
  for (size_t k = 0; k < t->ndecs && !rc; k++) {
    rc = apply(&t->decs[k], &a, &b);
    slist s = a;
    a = b;
    b = s;
  }
  if (rc > 0) /* the || chains above give 1 for a failed allocation */
    rc = WEIR_ENOMEM;
  if (!rc) {
    *out = malloc(a.len + 1);
    if (!*out)
      rc = WEIR_ENOMEM;
    else {
      if (a.len)
        memcpy(*out, a.buf, a.len);
      (*out)[a.len] = 0;
      if (len)
        *len = a.len;
    }
  }
  sl_free(&a);
  sl_free(&b);
  return rc;
}
