/* The splitters of weir_chunk_text: one document in, chunk byte spans out,
 * by code points, sentences, paragraphs or Markdown sections. Sizes count
 * code points; every cut falls on a character boundary. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/chunk.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* ---- Code points --------------------------------------------------------- */

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Code points in s[a..b): the bytes less the continuation bytes, counted
 * eight at a time (bit 7 set, bit 6 clear). */
static size_t cps(const char *s, size_t a, size_t b) {
  size_t cont = 0, i = a;
  for (; i + 8 <= b; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    uint64_t m = (w & 0x8080808080808080ull & ((~w & 0x4040404040404040ull) << 1)) >> 7;
    cont += (size_t)((m * 0x0101010101010101ull) >> 56); /* sum of the 8 byte flags */
  }
  for (; i < b; i++)
    cont += is_cont((unsigned char)s[i]);
  return (b - a) - cont;
}

/* The characters that start in s[i..i+8): the bytes that are not
 * continuation bytes. */
static unsigned leads8(const char *s, size_t i) {
  uint64_t w;
  memcpy(&w, s + i, 8);
  uint64_t m = (w & 0x8080808080808080ull & ((~w & 0x4040404040404040ull) << 1)) >> 7;
  return 8u - (unsigned)((m * 0x0101010101010101ull) >> 56); /* 8 less the flags' sum */
}

/* The byte position k code points after `pos` (a character's first byte),
 * at most `end`. Eight bytes at a time while they start no more than k
 * characters (ASCII or not); the continuation bytes of the last one may
 * run past the eight and are skipped after. */
static size_t cp_forward(const char *s, size_t end, size_t pos, size_t k) {
  while (k && pos < end) {
    while (pos + 8 <= end) {
      unsigned n = leads8(s, pos);
      if (n > k)
        break;
      pos += 8;
      k -= n;
      while (pos < end && is_cont((unsigned char)s[pos]))
        pos++;
      if (!k)
        return pos;
    }
    if (pos >= end)
      break;
    pos++;
    while (pos < end && is_cont((unsigned char)s[pos]))
      pos++;
    k--;
  }
  return pos;
}

/* The byte position k code points before `pos` (a character's first byte
 * or the end), at least `lo`. Eight bytes at a time while they start fewer
 * than k characters: a character cut by the word's start is counted when
 * its first byte is reached. */
static size_t cp_back(const char *s, size_t lo, size_t pos, size_t k) {
  while (k && pos > lo) {
    while (pos >= lo + 8) {
      unsigned n = leads8(s, pos - 8);
      if (n >= k)
        break;
      pos -= 8;
      k -= n;
    }
    if (pos <= lo)
      break;
    pos--;
    while (pos > lo && is_cont((unsigned char)s[pos]))
      pos--;
    k--;
  }
  return pos;
}

/* The code point that ends just before `pos` (> lo), and where it starts. */
static uint32_t cp_before(const char *s, size_t lo, size_t pos, size_t *at) {
  size_t i = cp_back(s, lo, pos, 1);
  *at = i;
  size_t j = i;
  return weir__u8_next(s, pos, &j);
}

static uint32_t cp_at(const char *s, size_t end, size_t pos, size_t *next) {
  *next = pos;
  return weir__u8_next(s, end, next);
}

/* Python's str.isspace() on ASCII: \t-\r, \x1c-\x1f and the space. */
static int ascii_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31); }

/* Narrows [*a, *b) to start and end on non-white-space (Python's
 * str.isspace()); empty when it is all white space. */
static void trim(const char *s, size_t *a, size_t *b) {
  while (*a < *b) {
    unsigned char c = (unsigned char)s[*a];
    if (c < 0x80) {
      if (!ascii_space(c))
        break;
      ++*a;
      continue;
    }
    size_t nx;
    if (!weir__py_isspace(cp_at(s, *b, *a, &nx)))
      break;
    *a = nx;
  }
  while (*b > *a) {
    unsigned char c = (unsigned char)s[*b - 1];
    if (c < 0x80) {
      if (!ascii_space(c))
        break;
      --*b;
      continue;
    }
    size_t at;
    if (!weir__py_isspace(cp_before(s, *a, *b, &at)))
      break;
    *b = at;
  }
}

/* ---- Output -------------------------------------------------------------- */

static int push(weir__chunk_out *o, size_t a, size_t b, size_t ps, size_t pl) {
  if (o->n == o->cap) {
    size_t nc = o->cap ? o->cap * 2 : 16;
    weir_chunk_span *nv = realloc(o->v, nc * sizeof *nv);
    if (!nv)
      return WEIR_ENOMEM;
    o->v = nv;
    o->cap = nc;
  }
  o->v[o->n++] = (weir_chunk_span){a, b, ps, pl};
  return WEIR_OK;
}

static int paths_put(weir__chunk_out *o, const char *p, size_t n) {
  if (o->paths_len + n + 1 > o->paths_cap) {
    size_t nc = o->paths_cap ? o->paths_cap : 256;
    while (nc < o->paths_len + n + 1)
      nc *= 2;
    char *np = realloc(o->paths, nc);
    if (!np)
      return WEIR_ENOMEM;
    o->paths = np;
    o->paths_cap = nc;
  }
  if (n)
    memcpy(o->paths + o->paths_len, p, n);
  o->paths_len += n;
  o->paths[o->paths_len] = 0;
  return WEIR_OK;
}

void weir__chunk_out_free(weir__chunk_out *out) {
  free(out->v);
  free(out->paths);
  memset(out, 0, sizeof *out);
}

/* ---- Units: sentences and paragraphs -------------------------------------- */

typedef struct span {
  size_t a, b;
  size_t n;         /* code points */
} span;

typedef struct spans {
  span *v;
  size_t n, cap;
} spans;

/* Adds s[a..b) (nothing when empty), with its length in code points. */
static int spans_add(spans *l, const char *s, size_t a, size_t b) {
  if (a >= b)
    return WEIR_OK;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 32;
    span *nv = realloc(l->v, nc * sizeof *nv);
    if (!nv)
      return WEIR_ENOMEM;
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = (span){a, b, cps(s, a, b)};
  return WEIR_OK;
}

static int spans_add_known(spans *l, span x) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 32;
    span *nv = realloc(l->v, nc * sizeof *nv);
    if (!nv)
      return WEIR_ENOMEM;
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = x;
  return WEIR_OK;
}

/* Whether a blank line starts at the '\n' at s[i]: the next line holds only
 * white space up to another '\n'. *after gets the position past the white
 * space that follows the break (at most `end`). When the text may go on
 * past `end` (final 0) and the next line reaches it, the answer is not
 * known yet: -1. */
static int blank_line(const char *s, size_t end, size_t i, int final, size_t *after) {
  size_t j = i + 1;
  while (j < end && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\f' || s[j] == '\v'))
    j++;
  if (j >= end)
    return final ? 0 : -1;
  if (s[j] != '\n')
    return 0;
  while (j < end && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\f' ||
                     s[j] == '\v' || s[j] == '\n'))
    j++;
  *after = j;
  return 1;
}

static int is_terminal(uint32_t c) { return c == '.' || c == '!' || c == '?' || c == 0x2026; }
static int is_cjk_terminal(uint32_t c) {
  return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF61;
}
static int is_closing(uint32_t c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' || c == 0x2019 ||
         c == 0x201D || c == 0x00BB || c == 0x300D || c == 0x300F || c == 0xFF09;
}

/* The bytes where a sentence may end: ASCII terminals, '\n', and the lead
 * bytes of … (E2) and of the CJK terminals (E3, EF). Others are skipped
 * without decoding. */
static const unsigned char may_end[256] = {['.'] = 1, ['!'] = 1, ['?'] = 1, ['\n'] = 1,
                                           [0xE2] = 1, [0xE3] = 1, [0xEF] = 1};

/* The first byte of s[i..b) in may_end, or b; sixteen at a time with SSE2. */
static size_t next_may_end(const char *s, size_t i, size_t b) {
#if defined(__SSE2__)
  const __m128i dot = _mm_set1_epi8('.'), exc = _mm_set1_epi8('!'), que = _mm_set1_epi8('?'),
                nl = _mm_set1_epi8('\n'), e2 = _mm_set1_epi8((char)0xE2),
                e3 = _mm_set1_epi8((char)0xE3), ef = _mm_set1_epi8((char)0xEF);
  for (; i + 16 <= b; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, dot), _mm_cmpeq_epi8(v, exc)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, que), _mm_cmpeq_epi8(v, nl)));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, e2),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, e3), _mm_cmpeq_epi8(v, ef))));
    unsigned bits = (unsigned)_mm_movemask_epi8(m);
    if (bits)
      return i + (unsigned)__builtin_ctz(bits);
  }
#endif
  while (i < b && !may_end[(unsigned char)s[i]])
    i++;
  return i;
}

static int ascii_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* Titles and Latin shorthands that a period follows inside a sentence,
 * with their lengths, so a lookup (at every candidate sentence end) is
 * mostly integer compares. */
static const struct abbr {
  unsigned char n;
  char s[7];
} abbreviations[] = {
    {2, "Mr"},  {3, "Mrs"}, {2, "Ms"},  {2, "Mx"},   {2, "Dr"},  {4, "Prof"}, {2, "Sr"},
    {2, "Jr"},  {2, "St"},  {2, "Mt"},  {3, "Rev"},  {3, "Hon"}, {3, "Gen"},  {3, "Col"},
    {4, "Capt"}, {2, "Lt"}, {3, "Sgt"}, {3, "Gov"},  {3, "Sen"}, {3, "Rep"},  {2, "vs"},
    {2, "cf"},  {6, "approx"}, {3, "Fig"}, {4, "Figs"}, {3, "Vol"}};
#define ABBR_MAX 6 /* the longest, "approx" */

static int is_listed(const char *w, size_t n) {
  for (size_t k = 0; k < sizeof abbreviations / sizeof *abbreviations; k++)
    if (abbreviations[k].n == n && abbreviations[k].s[0] == w[0] &&
        memcmp(abbreviations[k].s, w, n) == 0)
      return 1;
  return 0;
}

/* Whether the '.' at s[i] ends an abbreviation rather than a sentence: the
 * word before it (letters and dots back to a character that is neither,
 * not before `lo`, at most 8 bytes) is a single capital letter (an
 * initial: "J. Smith"), letters joined by dots ("e.g", "i.e", "U.S",
 * "a.m"), or one of `abbreviations`. Only ASCII is looked at, and never
 * more than 9 bytes back, so the decision needs no more of the text than
 * the sentence scanner already holds. */
static int abbreviation_at(const char *s, size_t lo, size_t i) {
  size_t w = i;
  while (w > lo && i - w < 9 && (ascii_alpha((unsigned char)s[w - 1]) || s[w - 1] == '.'))
    w--;
  size_t n = i - w;
  if (n == 0 || n > 8 || !ascii_alpha((unsigned char)s[w]) ||
      (w > lo && s[w - 1] >= '0' && s[w - 1] <= '9'))
    return 0; /* no word, ".x.", a dotted ellipsis, or "5Dr" */
  if (n == 1)
    return s[w] >= 'A' && s[w] <= 'Z';
  if (n % 2 == 1 && s[w + 1] == '.') {
    /* Letters joined by single dots: e.g, i.e, U.S, a.m, U.S.A */
    for (size_t k = w; k < i; k++)
      if (((k - w) % 2 == 0) ? !ascii_alpha((unsigned char)s[k]) : s[k] != '.')
        return 0;
    return 1;
  }
  return n <= ABBR_MAX && is_listed(s + w, n);
}

int weir__chunk_next_sentence(const char *s, size_t lo, size_t *pi, size_t b, int final,
                              size_t *end, size_t *next) {
  size_t i = *pi;
  while (i < b) {
    i = next_may_end(s, i, b);
    if (i >= b)
      break;
    size_t nx;
    uint32_t c = cp_at(s, b, i, &nx);
    if (c == '\n') {
      size_t after;
      int blank = blank_line(s, b, i, final, &after);
      if (blank < 0) {
        *pi = i;
        return -1;
      }
      if (blank) {
        *end = i;
        *next = *pi = after;
        return 1;
      }
      i = nx;
      continue;
    }
    int cjk = is_cjk_terminal(c);
    if (!cjk && !is_terminal(c)) {
      i = nx;
      continue;
    }
    /* The run of terminals and closing marks. */
    size_t j = nx;
    while (j < b) {
      size_t k;
      uint32_t d = cp_at(s, b, j, &k);
      if (!(is_terminal(d) || is_cjk_terminal(d) || is_closing(d)))
        break;
      j = k;
    }
    if (j >= b && !final) {
      *pi = i; /* the run, or what follows it, is not all here */
      return -1;
    }
    int boundary = 0;
    if (j >= b || cjk) {
      boundary = 1;
    } else {
      size_t k;
      uint32_t d = cp_at(s, b, j, &k);
      if (weir__py_isspace(d)) {
        /* Not before a lowercase word: "e.g. this", "approx. ten". */
        size_t m = j;
        while (m < b) {
          size_t q;
          uint32_t e = cp_at(s, b, m, &q);
          if (!weir__py_isspace(e))
            break;
          m = q;
        }
        if (m >= b && !final) {
          *pi = i;
          return -1;
        }
        boundary = m >= b || !(s[m] >= 'a' && s[m] <= 'z');
      }
    }
    /* "Mr. Smith", "e.g. The", "J. R. R. Tolkien": looked at last, as it
     * only ever turns a boundary into none. */
    if (boundary && c == '.' && j == nx && abbreviation_at(s, lo, i))
      boundary = 0;
    if (boundary) {
      *end = *next = *pi = j;
      return 1;
    }
    i = j;
  }
  *pi = b;
  return 0;
}

/* The sentences of s[a..b), trimmed, appended to `out`. */
static int sentences(const char *s, size_t a, size_t b, spans *out) {
  size_t us = a, i = a, e, nx;
  int rc = WEIR_OK;
  while (!rc && weir__chunk_next_sentence(s, a, &i, b, 1, &e, &nx) == 1) {
    size_t x = us, y = e;
    trim(s, &x, &y);
    rc = spans_add(out, s, x, y);
    us = nx;
  }
  if (!rc) {
    size_t x = us, y = b;
    trim(s, &x, &y);
    rc = spans_add(out, s, x, y);
  }
  return rc;
}

int weir__chunk_next_paragraph(const char *s, size_t *pi, size_t b, int final, size_t *end,
                               size_t *next) {
  size_t i = *pi;
  while (i < b) {
    const char *nl = memchr(s + i, '\n', b - i);
    if (!nl)
      break;
    i = (size_t)(nl - s);
    size_t after;
    int blank = blank_line(s, b, i, final, &after);
    if (blank < 0) {
      *pi = i;
      return -1;
    }
    if (blank) {
      *end = i;
      *next = *pi = after;
      return 1;
    }
    i++;
  }
  *pi = b;
  return 0;
}

/* The paragraphs of s[a..b), trimmed, appended to `out`. */
static int paragraphs(const char *s, size_t a, size_t b, spans *out) {
  size_t ps = a, i = a, e, nx;
  int rc = WEIR_OK;
  while (!rc && weir__chunk_next_paragraph(s, &i, b, 1, &e, &nx) == 1) {
    size_t x = ps, y = e;
    trim(s, &x, &y);
    rc = spans_add(out, s, x, y);
    ps = nx;
  }
  if (!rc) {
    size_t x = ps, y = b;
    trim(s, &x, &y);
    rc = spans_add(out, s, x, y);
  }
  return rc;
}

/* ---- Packing -------------------------------------------------------------- */

/* Cuts s[a..b) into trimmed runs of at most `size` code points. */
static int hard_pieces(const char *s, size_t a, size_t b, size_t size, spans *atoms) {
  int rc = WEIR_OK;
  while (a < b && !rc) {
    size_t e = cp_forward(s, b, a, size), x = a, y = e;
    trim(s, &x, &y);
    rc = spans_add(atoms, s, x, y);
    a = e;
  }
  return rc;
}

/* Atoms no longer than `size`: the units themselves, or for a longer one
 * its sentences (when `split_sentences`) and then hard pieces. */
static int atomize(const char *s, const spans *units, size_t size, int split_sentences,
                   spans *atoms) {
  int rc = WEIR_OK;
  spans sub = {0};
  for (size_t u = 0; u < units->n && !rc; u++) {
    span x = units->v[u];
    if (x.n <= size) {
      rc = spans_add_known(atoms, x);
      continue;
    }
    if (!split_sentences) {
      rc = hard_pieces(s, x.a, x.b, size, atoms);
      continue;
    }
    sub.n = 0;
    rc = sentences(s, x.a, x.b, &sub);
    for (size_t k = 0; k < sub.n && !rc; k++) {
      span y = sub.v[k];
      rc = y.n <= size ? spans_add_known(atoms, y) : hard_pieces(s, y.a, y.b, size, atoms);
    }
  }
  free(sub.v);
  return rc;
}

/* Greedily joins consecutive atoms into chunks of at most `size` code
 * points (counted from the first atom's start to the last one's end). */
static int pack(const char *s, const spans *atoms, size_t size, size_t ps, size_t pl,
                weir__chunk_out *out) {
  int rc = WEIR_OK;
  size_t i = 0;
  while (i < atoms->n && !rc) {
    size_t a = atoms->v[i].a, b = atoms->v[i].b;
    size_t n = atoms->v[i].n, j = i + 1;
    while (j < atoms->n) {
      size_t more = cps(s, b, atoms->v[j].a) + atoms->v[j].n;
      if (n + more > size)
        break;
      n += more;
      b = atoms->v[j].b;
      j++;
    }
    rc = push(out, a, b, ps, pl);
    i = j;
  }
  return rc;
}

/* PARAGRAPHS or SENTENCES over s[a..b), with one heading path. */
static int packed(const weir__chunk_params *cp, const char *s, size_t a, size_t b, int by_para,
                  size_t ps, size_t pl, weir__chunk_out *out) {
  spans units = {0}, atoms = {0};
  int rc = by_para ? paragraphs(s, a, b, &units) : sentences(s, a, b, &units);
  if (!rc)
    rc = atomize(s, &units, cp->size, by_para, &atoms);
  if (!rc)
    rc = pack(s, &atoms, cp->size, ps, pl, out);
  free(units.v);
  free(atoms.v);
  return rc;
}

/* ---- Markdown -------------------------------------------------------------- */

typedef struct md_line {
  size_t a, b;      /* the line without its '\n' */
} md_line;

/* A fence opener/closer: up to 3 spaces, then 3+ backticks or tildes. */
static int fence_of(const char *s, md_line l, char *ch, size_t *count, size_t *rest) {
  size_t i = l.a, ind = 0;
  while (i < l.b && s[i] == ' ' && ind < 4) {
    i++;
    ind++;
  }
  if (ind > 3 || i >= l.b || (s[i] != '`' && s[i] != '~'))
    return 0;
  char c = s[i];
  size_t n = 0;
  while (i < l.b && s[i] == c) {
    i++;
    n++;
  }
  if (n < 3)
    return 0;
  *ch = c;
  *count = n;
  *rest = i;
  return 1;
}

/* An ATX heading: its level (1..6) and the text range, or 0. */
static int heading_of(const char *s, md_line l, size_t *ta, size_t *tb) {
  size_t i = l.a, ind = 0;
  while (i < l.b && s[i] == ' ' && ind < 4) {
    i++;
    ind++;
  }
  if (ind > 3 || i >= l.b || s[i] != '#')
    return 0;
  int level = 0;
  while (i < l.b && s[i] == '#') {
    i++;
    level++;
  }
  if (level > 6 || (i < l.b && s[i] != ' ' && s[i] != '\t'))
    return 0;
  size_t a = i, b = l.b;
  trim(s, &a, &b);
  /* A closing sequence of '#' preceded by a space is not text. */
  size_t c = b;
  while (c > a && s[c - 1] == '#')
    c--;
  if (c == a)
    b = a;
  else if (c < b && (s[c - 1] == ' ' || s[c - 1] == '\t')) {
    b = c;
    trim(s, &a, &b);
  }
  *ta = a;
  *tb = b;
  return level;
}

static int markdown(const weir__chunk_params *cp, const char *s, size_t len,
                    weir__chunk_out *out) {
  span stack[6] = {{0, 0, 0}};
  int rc = WEIR_OK;
  int in_fence = 0;
  char fch = 0;
  size_t fcount = 0;
  size_t sec = 0;                  /* where the current section starts */
  size_t ps = 0, pl = 0;           /* its heading path in out->paths */
  rc = paths_put(out, "", 0);
  size_t pos = 0;
  while (pos <= len && !rc) {
    const char *nl = memchr(s + pos, '\n', len - pos);
    size_t e = nl ? (size_t)(nl - s) : len;
    md_line l = {pos, e};
    char ch;
    size_t count, rest, ta, tb;
    int level = 0;
    if (fence_of(s, l, &ch, &count, &rest)) {
      if (!in_fence) {
        in_fence = 1;
        fch = ch;
        fcount = count;
      } else if (ch == fch && count >= fcount) {
        size_t x = rest, y = l.b;
        trim(s, &x, &y);
        if (x == y)
          in_fence = 0;
      }
    } else if (!in_fence) {
      level = heading_of(s, l, &ta, &tb);
    }
    if (level) {
      /* The section before this heading. */
      size_t x = sec, y = l.a;
      trim(s, &x, &y);
      if (x < y)
        rc = cps(s, x, y) <= cp->size ? push(out, x, y, ps, pl)
                                      : packed(cp, s, x, y, 1, ps, pl, out);
      stack[level - 1] = (span){ta, tb, 0};
      for (int k = level; k < 6; k++)
        stack[k] = (span){0, 0, 0};
      ps = out->paths_len;
      int first = 1;
      for (int k = 0; k < level && !rc; k++) {
        if (stack[k].a == stack[k].b)
          continue;
        if (!first)
          rc = paths_put(out, " > ", 3);
        if (!rc)
          rc = paths_put(out, s + stack[k].a, stack[k].b - stack[k].a);
        first = 0;
      }
      pl = out->paths_len - ps;
      sec = l.a;
    }
    if (e >= len)
      break;
    pos = e + 1;
  }
  if (!rc) {
    size_t x = sec, y = len;
    trim(s, &x, &y);
    if (x < y)
      rc = cps(s, x, y) <= cp->size ? push(out, x, y, ps, pl)
                                    : packed(cp, s, x, y, 1, ps, pl, out);
  }
  return rc;
}

/* ---- Characters ------------------------------------------------------------ */

static int chars(const weir__chunk_params *cp, const char *s, size_t len, weir__chunk_out *out) {
  size_t a = 0;
  int rc = WEIR_OK;
  while (a < len && !rc) {
    size_t e = cp_forward(s, len, a, cp->size);
    rc = push(out, a, e, 0, 0);
    if (e >= len)
      break;
    a = cp_back(s, a, e, cp->overlap);
  }
  return rc;
}

/* ---- Entry points ------------------------------------------------------------ */

int weir__chunk_params_from(const weir_chunk_options *o, weir__chunk_params *cp, char *why,
                            size_t cap) {
  weir_chunk_options d = WEIR_CHUNK_OPTIONS_INIT;
  if (o) {
    if (o->version == 0 || o->version > WEIR_CHUNK_OPTIONS_VERSION) {
      snprintf(why, cap, "options version %u is not one this library knows (%u)", o->version,
               WEIR_CHUNK_OPTIONS_VERSION);
      return WEIR_EINVAL;
    }
    d = *o;
  }
  memset(cp, 0, sizeof *cp);
  cp->method = d.method;
  switch (d.method) {
  case WEIR_CHUNK_TOKENS:
    cp->size = d.chunk_size ? d.chunk_size : 128;
    cp->overlap = d.overlap < 0 ? 30 : (size_t)d.overlap;
    if (!d.tokenizer) {
      snprintf(why, cap, "method WEIR_CHUNK_TOKENS needs options.tokenizer");
      return WEIR_EINVAL;
    }
    cp->tok = d.tokenizer;
    break;
  case WEIR_CHUNK_CHARS:
    cp->size = d.chunk_size ? d.chunk_size : 1000;
    cp->overlap = d.overlap < 0 ? 0 : (size_t)d.overlap;
    break;
  case WEIR_CHUNK_PARAGRAPHS:
  case WEIR_CHUNK_SENTENCES:
  case WEIR_CHUNK_MARKDOWN:
    cp->size = d.chunk_size ? d.chunk_size : 1000;
    if (d.overlap > 0) {
      snprintf(why, cap, "overlap %ld: only WEIR_CHUNK_CHARS and WEIR_CHUNK_TOKENS overlap "
               "(set it to 0 or -1)", d.overlap);
      return WEIR_EINVAL;
    }
    break;
  default:
    snprintf(why, cap, "method %d is not a WEIR_CHUNK_* value", d.method);
    return WEIR_EINVAL;
  }
  if (cp->overlap >= cp->size) {
    snprintf(why, cap, "overlap %zu is not less than chunk_size %zu", cp->overlap, cp->size);
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

int weir__chunk_push(weir__chunk_out *o, size_t start, size_t end) {
  return push(o, start, end, 0, 0);
}

int weir__chunk_split(const weir__chunk_params *cp, weir_tokenizer_cache *cache, const char *s,
                      size_t len, weir__chunk_out *out) {
  out->n = 0;
  out->paths_len = 0;
  switch (cp->method) {
  case WEIR_CHUNK_CHARS:
    return chars(cp, s, len, out);
  case WEIR_CHUNK_SENTENCES:
    return packed(cp, s, 0, len, 0, 0, 0, out);
  case WEIR_CHUNK_MARKDOWN:
    return markdown(cp, s, len, out);
  case WEIR_CHUNK_TOKENS:
    return weir__chunk_tokens(cp, cache, s, len, out);
  default:
    return packed(cp, s, 0, len, 1, 0, 0, out);
  }
}

/* ---- For the streaming chunker (chunk_stream.c) ------------------------------ */

size_t weir__chunk_cps(const char *s, size_t a, size_t b) { return cps(s, a, b); }
size_t weir__chunk_cp_forward(const char *s, size_t end, size_t pos, size_t k) {
  return cp_forward(s, end, pos, k);
}
size_t weir__chunk_cp_back(const char *s, size_t lo, size_t pos, size_t k) {
  return cp_back(s, lo, pos, k);
}
void weir__chunk_trim(const char *s, size_t *a, size_t *b) { trim(s, a, b); }
int weir__chunk_md_fence(const char *s, size_t a, size_t b, char *ch, size_t *count,
                         size_t *rest) {
  return fence_of(s, (md_line){a, b}, ch, count, rest);
}
int weir__chunk_md_heading(const char *s, size_t a, size_t b, size_t *ta, size_t *tb) {
  return heading_of(s, (md_line){a, b}, ta, tb);
}
int weir__chunk_push_path(weir__chunk_out *o, size_t start, size_t end, size_t ps, size_t pl) {
  return push(o, start, end, ps, pl);
}
int weir__chunk_paths_put(weir__chunk_out *o, const char *p, size_t n) {
  return paths_put(o, p, n);
}
