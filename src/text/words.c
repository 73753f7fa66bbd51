/* The English word tokenizer: spaCy's blank English tokenizer rules
 * (prefixes, suffixes, infixes, URLs and tokenizer exceptions, taken from
 * spaCy into tables_gen.c) run with PCRE2, so that words, and the quality
 * decisions that count them, agree with DataTrove's. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "text/tables.h"
#include "text/text_internal.h"
#include "weir/error.h"

enum { RE_PREFIX, RE_SUFFIX, RE_INFIX, RE_URL, RE_COUNT };

static pcre2_code *res[RE_COUNT];
static int res_err = WEIR_OK;
static pthread_once_t res_once = PTHREAD_ONCE_INIT;

static void res_compile(void) {
  const char *src[RE_COUNT] = {weir__spacy_prefix_re, weir__spacy_suffix_re, weir__spacy_infix_re,
                               weir__spacy_url_re};
  for (int i = 0; i < RE_COUNT; i++) {
    int ec;
    PCRE2_SIZE eo;
    res[i] = pcre2_compile((PCRE2_SPTR)src[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec,
                           &eo, NULL);
    if (!res[i]) {
      res_err = WEIR_EINVAL;
      return;
    }
    /* JIT is an optimisation: without it (some sandboxes forbid executable
     * memory) the interpreter gives the same matches. */
    pcre2_jit_compile(res[i], PCRE2_JIT_COMPLETE);
  }
}

struct weir__tokenizer {
  pcre2_match_data *md;
  /* Affixes found while splitting one chunk: byte ranges. */
  uint32_t *pre, *suf;
  size_t npre, nsuf, cap;
};

static void matcher_build(void);
static pthread_once_t matcher_once;
static void special_build(void);
static pthread_once_t special_once;

int weir__tokenizer_create(weir__tokenizer **out) {
  pthread_once(&res_once, res_compile);
  if (res_err)
    return res_err;
  pthread_once(&special_once, special_build);
  /* Not for the tokenizer the matcher table is built with. */
  static _Thread_local int building;
  if (!building) {
    building = 1;
    pthread_once(&matcher_once, matcher_build);
    building = 0;
  }
  weir__tokenizer *t = calloc(1, sizeof *t);
  if (!t)
    return WEIR_ENOMEM;
  t->md = pcre2_match_data_create(4, NULL);
  if (!t->md) {
    free(t);
    return WEIR_ENOMEM;
  }
  *out = t;
  return WEIR_OK;
}

void weir__tokenizer_destroy(weir__tokenizer *t) {
  if (!t)
    return;
  pcre2_match_data_free(t->md);
  free(t->pre);
  free(t->suf);
  free(t);
}

/* Leftmost match of regex `r` in s[0..len) from `from`; 1 with [*ms, *me). */
static int re_find(weir__tokenizer *t, int r, const char *s, size_t len, size_t from, size_t *ms,
                   size_t *me) {
  int rc = pcre2_match(res[r], (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK, t->md, NULL);
  if (rc < 0)
    return 0;
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
  *ms = ov[0];
  *me = ov[1];
  return 1;
}

/* s[0..len) against a NUL-terminated key, as strcmp orders them. */
static int cmp_key(const char *s, size_t len, const char *key) {
  for (size_t i = 0; i < len; i++) {
    unsigned char a = (unsigned char)s[i], b = (unsigned char)key[i];
    if (!b)
      return 1;
    if (a != b)
      return a < b ? -1 : 1;
  }
  return key[len] ? -1 : 0;
}

/* The exceptions in a hash table (built once): most chunks are looked up
 * and most are not exceptions. */
static uint32_t *special_table;     /* index + 1; 0 = empty */
static uint32_t special_mask;
static pthread_once_t special_once = PTHREAD_ONCE_INIT;

static uint32_t key_hash(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static void special_build(void) {
  uint32_t cap = 1;
  while (cap < weir__spacy_num_specials * 4)
    cap <<= 1;
  special_table = calloc(cap, sizeof *special_table);
  if (!special_table)
    return;
  special_mask = cap - 1;
  for (size_t i = 0; i < weir__spacy_num_specials; i++) {
    const char *k = weir__spacy_specials[i].key;
    uint32_t j = key_hash(k, strlen(k)) & special_mask;
    while (special_table[j])
      j = (j + 1) & special_mask;
    special_table[j] = (uint32_t)i + 1;
  }
}

static const weir__special *special(const char *s, size_t len) {
  if (special_table) {
    uint32_t j = key_hash(s, len) & special_mask;
    while (special_table[j]) {
      const weir__special *sp = &weir__spacy_specials[special_table[j] - 1];
      if (cmp_key(s, len, sp->key) == 0)
        return sp;
      j = (j + 1) & special_mask;
    }
    return NULL;
  }
  size_t lo = 0, hi = weir__spacy_num_specials;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = cmp_key(s, len, weir__spacy_specials[mid].key);
    if (c == 0)
      return &weir__spacy_specials[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

static int push_word(weir__doc_words *out, size_t *cap, const char *base, size_t start,
                     size_t len) {
  /* DataTrove strips each token and drops empty ones; chunks hold no
   * whitespace, so only empty pieces could be dropped here. */
  if (len == 0)
    return WEIR_OK;
  if (out->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    void *w = realloc(out->w, nc * sizeof *out->w);
    if (!w)
      return WEIR_ENOMEM;
    out->w = w;
    *cap = nc;
  }
  weir__word *w = &out->w[out->n++];
  w->start = (uint32_t)start;
  w->len = (uint32_t)len;
  uint32_t cps = 0;
  int alpha = 0, allp = 1;
  const char *s = base + start;
  for (size_t i = 0; i < len;) {
    unsigned char b = (unsigned char)s[i];
    if (b < 0x80) {
      /* ASCII: DataTrove's PUNCTUATION holds the ASCII punctuation except
       * nothing else; letters are the alphabetic ones. */
      i++;
      cps++;
      if (((b | 0x20) >= 'a' && (b | 0x20) <= 'z'))
        alpha = 1, allp = 0;
      else if (allp && !weir__dt_is_punct(b))
        allp = 0;
      continue;
    }
    uint32_t c = weir__u8_next(s, len, &i);
    cps++;
    if (!alpha && weir__py_isalpha(c))
      alpha = 1;
    if (allp && !weir__dt_is_punct(c))
      allp = 0;
  }
  w->cps = cps;
  w->has_alpha = (uint8_t)alpha;
  w->all_punct = (uint8_t)allp;
  return WEIR_OK;
}

static int emit_special(weir__doc_words *out, size_t *cap, const char *base, size_t start,
                        const weir__special *sp) {
  for (int k = 0; k < sp->npieces; k++) {
    int rc = push_word(out, cap, base, start, sp->lens[k]);
    if (rc)
      return rc;
    start += sp->lens[k];
  }
  return WEIR_OK;
}

static int affix_push(weir__tokenizer *t, int suffix, size_t a, size_t b) {
  if ((suffix ? t->nsuf : t->npre) * 2 + 2 > t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 32;
    uint32_t *p = realloc(t->pre, nc * sizeof *p);
    if (!p)
      return WEIR_ENOMEM;
    t->pre = p;
    uint32_t *q = realloc(t->suf, nc * sizeof *q);
    if (!q)
      return WEIR_ENOMEM;
    t->suf = q;
    t->cap = nc;
  }
  uint32_t *arr = suffix ? t->suf : t->pre;
  size_t *n = suffix ? &t->nsuf : &t->npre;
  arr[*n * 2] = (uint32_t)a;
  arr[*n * 2 + 1] = (uint32_t)b;
  (*n)++;
  return WEIR_OK;
}

static size_t find_prefix(weir__tokenizer *t, const char *s, size_t len) {
  size_t ms, me;
  return re_find(t, RE_PREFIX, s, len, 0, &ms, &me) ? me - ms : 0;
}

static size_t find_suffix(weir__tokenizer *t, const char *s, size_t len) {
  size_t ms, me;
  return re_find(t, RE_SUFFIX, s, len, 0, &ms, &me) ? me - ms : 0;
}

/* A chunk (no whitespace) s = base[a..b), as spaCy's _split_affixes and
 * _attach_tokens. */
static int tokenize_chunk_sp(weir__tokenizer *t, const char *base, size_t a, size_t b,
                             weir__doc_words *out, size_t *cap, int with_specials);

/* Special cases whose text the affix rules split (emoticons such as "):",
 * "''"): spaCy finds them after splitting, as runs of tokens, and merges
 * them (its _apply_special_cases). Built once: per special, the token
 * boundaries its text gets without special cases, or none. */
static uint8_t *matcher_ntok;          /* tokens without specials; 0 = none */
static uint8_t matcher_max;
static pthread_once_t matcher_once = PTHREAD_ONCE_INIT;

static void matcher_build(void) {
  matcher_ntok = calloc(weir__spacy_num_specials, 1);
  weir__tokenizer *t;
  if (!matcher_ntok || weir__tokenizer_create(&t))
    return;
  weir__doc_words w = {0};
  for (size_t i = 0; i < weir__spacy_num_specials; i++) {
    const char *k = weir__spacy_specials[i].key;
    size_t cap = 0;
    int ws = 0;
    for (const char *q = k; *q; q++)
      ws |= *q == ' ' || *q == '\t' || *q == '\n';
    w.n = 0;
    free(w.w);
    w.w = NULL;
    if (ws || tokenize_chunk_sp(t, k, 0, strlen(k), &w, &cap, 0))
      continue;
    if (w.n >= 2 && w.n < 255) {
      matcher_ntok[i] = (uint8_t)w.n;
      if (w.n > matcher_max)
        matcher_max = (uint8_t)w.n;
    }
  }
  free(w.w);
  weir__tokenizer_destroy(t);
}

/* Merges runs of tokens [first, out->n) of one chunk that spell a special
 * case split by the affix rules. */
static int apply_matcher(const char *base, size_t first, weir__doc_words *out, size_t *cap) {
  if (!matcher_ntok || out->n - first < 2)
    return WEIR_OK;
  size_t n = out->n - first;
  weir__word *tok = malloc(n * sizeof *tok);
  if (!tok)
    return WEIR_ENOMEM;
  memcpy(tok, out->w + first, n * sizeof *tok);
  out->n = first;
  int rc = WEIR_OK;
  for (size_t i = 0; i < n && !rc;) {
    size_t best = 0;
    const weir__special *sp = NULL;
    for (size_t L = n - i < matcher_max ? n - i : matcher_max; L >= 2 && !sp; L--) {
      size_t a = tok[i].start, b = tok[i + L - 1].start + tok[i + L - 1].len;
      const weir__special *c = special(base + a, b - a);
      if (c && matcher_ntok[c - weir__spacy_specials] == L) {
        sp = c;
        best = L;
      }
    }
    if (sp) {
      rc = emit_special(out, cap, base, tok[i].start, sp);
      i += best;
    } else {
      if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        void *nw = realloc(out->w, nc * sizeof *out->w);
        if (!nw) {
          rc = WEIR_ENOMEM;
          break;
        }
        out->w = nw;
        *cap = nc;
      }
      out->w[out->n++] = tok[i++];
    }
  }
  free(tok);
  return rc;
}

static int tokenize_chunk(weir__tokenizer *t, const char *base, size_t a, size_t b,
                          weir__doc_words *out, size_t *cap) {
  return tokenize_chunk_sp(t, base, a, b, out, cap, 1);
}

static int tokenize_chunk_sp(weir__tokenizer *t, const char *base, size_t a, size_t b,
                             weir__doc_words *out, size_t *cap, int with_specials) {
#define special(s, l) (with_specials ? special(s, l) : NULL)
  const weir__special *sp = special(base + a, b - a);
  if (sp)
    return emit_special(out, cap, base, a, sp);
  /* Most chunks are plain words: ASCII letters only, or digits only, match
   * no affix, infix or URL rule, and need only the exception table. */
  int letters = 1, digits = 1;
  for (size_t i = a; i < b; i++) {
    unsigned char c = (unsigned char)base[i];
    letters &= ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    digits &= (c >= '0' && c <= '9');
  }
  if (letters || digits)
    return push_word(out, cap, base, a, b - a);

  int rc;
  size_t first = out->n;
  t->npre = t->nsuf = 0;
  size_t s = a, e = b, last = (size_t)-1;
  const weir__special *mid_special = NULL;
  while (e > s && e - s != last) {
    if (special(base + s, e - s))
      break;
    last = e - s;
    size_t pre = find_prefix(t, base + s, e - s);
    if (pre && e - s - pre > 0 && special(base + s + pre, e - s - pre)) {
      if ((rc = affix_push(t, 0, s, s + pre)))
        return rc;
      s += pre;
      break;
    }
    size_t suf = find_suffix(t, base + s + pre, e - s - pre);
    if (suf && e - s - suf > 0 && special(base + s, e - s - suf)) {
      if ((rc = affix_push(t, 1, e - suf, e)))
        return rc;
      e -= suf;
      break;
    }
    if (pre && suf && pre + suf <= e - s) {
      if ((rc = affix_push(t, 0, s, s + pre)) || (rc = affix_push(t, 1, e - suf, e)))
        return rc;
      s += pre;
      e -= suf;
    } else if (pre) {
      if ((rc = affix_push(t, 0, s, s + pre)))
        return rc;
      s += pre;
    } else if (suf) {
      if ((rc = affix_push(t, 1, e - suf, e)))
        return rc;
      e -= suf;
    }
    if (e > s && special(base + s, e - s))
      break;
  }
  for (size_t k = 0; k < t->npre; k++)
    if ((rc = push_word(out, cap, base, t->pre[2 * k], t->pre[2 * k + 1] - t->pre[2 * k])))
      return rc;
  if (e > s) {
    size_t ms, me;
    if ((mid_special = special(base + s, e - s))) {
      if ((rc = emit_special(out, cap, base, s, mid_special)))
        return rc;
    } else if (re_find(t, RE_URL, base + s, e - s, 0, &ms, &me)) {
      if ((rc = push_word(out, cap, base, s, e - s)))
        return rc;
    } else {
      /* Infixes: every match but one at the very start splits. */
      const char *str = base + s;
      size_t len = e - s, start = 0, from = 0;
      while (from <= len && re_find(t, RE_INFIX, str, len, from, &ms, &me)) {
        from = me > ms ? me : me + 1;
        if (ms == 0)
          continue;
        if (ms != start && (rc = push_word(out, cap, base, s + start, ms - start)))
          return rc;
        if (me != ms && (rc = push_word(out, cap, base, s + ms, me - ms)))
          return rc;
        start = me;
      }
      if (start < len && (rc = push_word(out, cap, base, s + start, len - start)))
        return rc;
    }
  }
  for (size_t k = t->nsuf; k-- > 0;)
    if ((rc = push_word(out, cap, base, t->suf[2 * k], t->suf[2 * k + 1] - t->suf[2 * k])))
      return rc;
  return with_specials ? apply_matcher(base, first, out, cap) : WEIR_OK;
#undef special
}

int weir__tokenize(weir__tokenizer *t, const char *text, size_t len, weir__doc_words *out) {
  size_t cap = out->n; /* the caller's array may have room; grow from here */
  if (out->w == NULL)
    cap = 0;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    uint32_t c = weir__u8_next(text, len, &j);
    if (weir__py_isspace(c)) {
      i = j;
      continue;
    }
    size_t start = i;
    i = j;
    while (i < len) {
      size_t k = i;
      c = weir__u8_next(text, len, &k);
      if (weir__py_isspace(c))
        break;
      i = k;
    }
    int rc = tokenize_chunk(t, text, start, i, out, &cap);
    if (rc)
      return rc;
  }
  return WEIR_OK;
}

static int in_sent_punct(const char *s, size_t len) {
  size_t lo = 0, hi = weir__spacy_num_sent_punct;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = cmp_key(s, len, weir__spacy_sent_punct[mid]);
    if (c == 0)
      return 1;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return 0;
}

static int token_is_punct(const char *s, size_t len) {
  for (size_t i = 0; i < len;)
    if (!weir__uni_is_punct(weir__u8_next(s, len, &i)))
      return 0;
  return len > 0;
}

int weir__count_sentences(weir__tokenizer *t, const char *text, size_t len, size_t *n) {
  /* spaCy keeps whitespace other than one space as tokens of their own;
   * the sentencizer sees them (a run after a period starts a sentence). */
  weir__doc_words w = {0};
  size_t cap = 0;
  size_t i = 0;
  int rc = WEIR_OK;
  while (i < len && !rc) {
    size_t j = i;
    uint32_t c = weir__u8_next(text, len, &j);
    if (weir__py_isspace(c)) {
      size_t start = i;
      /* One plain space after a token is the token's trailing space. */
      if (c == ' ' && start > 0) {
        i = j;
        if (i >= len)
          break;
        size_t k = i;
        c = weir__u8_next(text, len, &k);
        if (!weir__py_isspace(c))
          continue;
        start = i;
      }
      while (i < len) {
        size_t k = i;
        c = weir__u8_next(text, len, &k);
        if (!weir__py_isspace(c))
          break;
        i = k;
      }
      /* A whitespace token: marked by has_alpha = 2, never punctuation. */
      if (w.n == cap) {
        size_t nc = cap ? cap * 2 : 64;
        void *p = realloc(w.w, nc * sizeof *w.w);
        if (!p) {
          rc = WEIR_ENOMEM;
          break;
        }
        w.w = p;
        cap = nc;
      }
      w.w[w.n++] = (weir__word){(uint32_t)start, (uint32_t)(i - start), 0, 2, 0};
      continue;
    }
    size_t start = i;
    i = j;
    while (i < len) {
      size_t k = i;
      c = weir__u8_next(text, len, &k);
      if (weir__py_isspace(c))
        break;
      i = k;
    }
    rc = tokenize_chunk(t, text, start, i, &w, &cap);
  }
  if (rc) {
    free(w.w);
    return rc;
  }
  /* spaCy's Sentencizer: token 0 starts a sentence, and so does every
   * token after sentence punctuation that is neither punctuation nor
   * sentence punctuation; DataTrove then drops sentences that are only
   * whitespace. */
  size_t count = 0, start = 0;
  int seen_period = 0;
  for (size_t k = 0; k < w.n; k++) {
    int ws = w.w[k].has_alpha == 2;
    const char *s = text + w.w[k].start;
    size_t l = w.w[k].len;
    int insp = !ws && in_sent_punct(s, l);
    if (seen_period && !insp && (ws || !token_is_punct(s, l))) {
      int nonblank = 0;
      for (size_t q = start; q < k; q++)
        nonblank |= w.w[q].has_alpha != 2;
      count += nonblank;
      start = k;
      seen_period = 0;
    } else if (insp) {
      seen_period = 1;
    }
  }
  if (start < w.n) {
    int nonblank = 0;
    for (size_t q = start; q < w.n; q++)
      nonblank |= w.w[q].has_alpha != 2;
    count += nonblank;
  }
  free(w.w);
  *n = count;
  return WEIR_OK;
}

int weir_text_words(const char *text, size_t len, size_t **starts, size_t **lens, size_t *n) {
  if (!text && len)
    return WEIR_EINVAL;
  if (!starts || !lens || !n)
    return WEIR_EINVAL;
  weir__tokenizer *t;
  int rc = weir__tokenizer_create(&t);
  if (rc)
    return rc;
  weir__doc_words w = {0};
  rc = weir__tokenize(t, text ? text : "", len, &w);
  weir__tokenizer_destroy(t);
  if (rc) {
    free(w.w);
    return rc;
  }
  *starts = malloc((w.n ? w.n : 1) * sizeof **starts);
  *lens = malloc((w.n ? w.n : 1) * sizeof **lens);
  if (!*starts || !*lens) {
    free(*starts);
    free(*lens);
    free(w.w);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < w.n; i++) {
    (*starts)[i] = w.w[i].start;
    (*lens)[i] = w.w[i].len;
  }
  *n = w.n;
  free(w.w);
  return WEIR_OK;
}
