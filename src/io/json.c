/* In-place JSON lexing, string decoding and encoding for the JSONL reader
 * and writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/utf8.h"
#include "io/c_locale.h"
#include "io/json.h"

#define MAX_DEPTH 512

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char *weir__json_string(const char *p, int *escaped, const char **why) {
  const unsigned char *start = (const unsigned char *)p + 1;
  const unsigned char *q = start;
  unsigned high = 0; /* any byte >= 0x80 seen: validate UTF-8 at the end */
  *escaped = 0;
  for (;;) {
#if defined(__SSE2__)
    /* 16 bytes at a time until a quote, a backslash or a control byte;
     * non-ASCII bytes are only noted, and checked once per string. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  c1f = _mm_set1_epi8(0x1f);
    for (;;) {
      __m128i x = _mm_loadu_si128((const __m128i *)q);
      __m128i m = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
          _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x));
      unsigned bits = (unsigned)_mm_movemask_epi8(m);
      unsigned hb = (unsigned)_mm_movemask_epi8(x);
      if (bits) {
        unsigned k = (unsigned)__builtin_ctz(bits);
        high |= hb & ((1u << k) - 1);
        q += k;
        break;
      }
      high |= hb;
      q += 16;
    }
#else
    while (*q >= 0x20 && *q != '"' && *q != '\\') high |= *q++ & 0x80;
#endif
    unsigned c = *q;
    if (c == '"') {
      size_t n = (size_t)(q - start);
      if (high && weir__utf8_invalid_at((const char *)start, n) != n) {
        *why = "invalid UTF-8 in a string";
        return NULL;
      }
      return (const char *)q + 1;
    }
    if (c == '\\') {
      *escaped = 1;
      unsigned e = q[1];
      if (e == 'u') {
        for (int k = 2; k < 6; k++)
          if (hexval(q[k]) < 0) {
            *why = "bad \\u escape in a string";
            return NULL;
          }
        q += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' ||
                 e == 'n' || e == 'r' || e == 't') {
        q += 2;
      } else {
        *why = "bad escape in a string";
        return NULL;
      }
      continue;
    }
    *why = (c == '\n' || c == 0) ? "unterminated string"
                                 : "control character in a string";
    return NULL;
  }
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                   1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                   1e18, 1e19, 1e20, 1e21, 1e22};

static const char *lex_number(const char *p, weir__jval *v, const char **why) {
  const char *q = p;
  int neg = 0;
  if (*q == '-') {
    neg = 1;
    q++;
  }
  uint64_t m = 0;
  int digits = 0;  /* significant digits accumulated into m */
  int dropped = 0; /* integer digits beyond what m holds */
  if (*q == '0') {
    q++;
  } else if (*q >= '1' && *q <= '9') {
    while (*q >= '0' && *q <= '9') {
      if (digits < 19) {
        m = m * 10 + (uint64_t)(*q - '0');
        digits++;
      } else {
        dropped++;
      }
      q++;
    }
  } else {
    *why = "bad number";
    return NULL;
  }
  int is_float = 0, exp10 = dropped;
  int int_dropped = dropped;
  if (*q == '.') {
    q++;
    if (!(*q >= '0' && *q <= '9')) {
      *why = "bad number: no digits after '.'";
      return NULL;
    }
    is_float = 1;
    while (*q >= '0' && *q <= '9') {
      if (digits < 19) {
        m = m * 10 + (uint64_t)(*q - '0');
        if (m) digits++; /* leading zeros are not significant */
        exp10--;
      } else {
        dropped++; /* beyond a double's precision: strtod rounds it */
      }
      q++;
    }
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    int eneg = 0;
    if (*q == '+' || *q == '-') eneg = *q++ == '-';
    if (!(*q >= '0' && *q <= '9')) {
      *why = "bad number: no digits in the exponent";
      return NULL;
    }
    int e = 0;
    while (*q >= '0' && *q <= '9') {
      if (e < 100000) e = e * 10 + (*q - '0');
      q++;
    }
    exp10 += eneg ? -e : e;
    is_float = 1;
  }
  v->start = p;
  v->end = q;
  if (!is_float && !int_dropped &&
      (neg ? m <= (uint64_t)INT64_MAX + 1 : m <= (uint64_t)INT64_MAX)) {
    v->kind = WEIR__J_INT;
    v->i = neg ? (int64_t)(0 - m) : (int64_t)m;
    return q;
  }
  v->kind = WEIR__J_FLOAT;
  /* Exact when the mantissa fits a double's 53 bits and the power of ten
   * is exact (Clinger's fast path); otherwise strtod rounds correctly. */
  if (m < (1ull << 53) && exp10 >= -22 && exp10 <= 22 && !dropped) {
    double d = (double)m;
    d = exp10 < 0 ? d / pow10_tab[-exp10] : d * pow10_tab[exp10];
    v->f = neg ? -d : d;
  } else {
    v->f = strtod_l(p, NULL, weir__c_locale());
  }
  return q;
}

static const char *lex(const char *p, weir__jval *v, int depth,
                       const char **why);

static const char *lex_nested(const char *p, int depth, const char **why) {
  if (depth >= MAX_DEPTH) {
    *why = "nesting too deep";
    return NULL;
  }
  char close = *p == '{' ? '}' : ']';
  int obj = *p == '{';
  p = weir__json_ws(p + 1);
  if (*p == close) return p + 1;
  weir__jval v;
  for (;;) {
    if (obj) {
      if (*p != '"') {
        *why = "expected a key string";
        return NULL;
      }
      int esc;
      p = weir__json_string(p, &esc, why);
      if (!p) return NULL;
      p = weir__json_ws(p);
      if (*p != ':') {
        *why = "expected ':' after a key";
        return NULL;
      }
      p = weir__json_ws(p + 1);
    }
    p = lex(p, &v, depth + 1, why);
    if (!p) return NULL;
    p = weir__json_ws(p);
    if (*p == ',') {
      p = weir__json_ws(p + 1);
      continue;
    }
    if (*p == close) return p + 1;
    *why = obj ? "expected ',' or '}'" : "expected ',' or ']'";
    return NULL;
  }
}

static const char *lex(const char *p, weir__jval *v, int depth,
                       const char **why) {
  v->start = p;
  switch (*p) {
  case '"':
    v->kind = WEIR__J_STRING;
    p = weir__json_string(p, &v->escaped, why);
    v->end = p;
    return p;
  case '{':
  case '[':
    v->kind = WEIR__J_NESTED;
    p = lex_nested(p, depth, why);
    v->end = p;
    return p;
  case 't':
    if (memcmp(p, "true", 4) == 0) {
      v->kind = WEIR__J_BOOL;
      v->i = 1;
      v->end = p + 4;
      return p + 4;
    }
    break;
  case 'f':
    if (memcmp(p, "false", 5) == 0) {
      v->kind = WEIR__J_BOOL;
      v->i = 0;
      v->end = p + 5;
      return p + 5;
    }
    break;
  case 'n':
    if (memcmp(p, "null", 4) == 0) {
      v->kind = WEIR__J_NULL;
      v->end = p + 4;
      return p + 4;
    }
    break;
  default:
    if (*p == '-' || (*p >= '0' && *p <= '9')) return lex_number(p, v, why);
    break;
  }
  *why = (*p == '\n' || *p == 0) ? "unexpected end of line"
                                 : "unexpected character";
  return NULL;
}

const char *weir__json_value(const char *p, weir__jval *v, const char **why) {
  return lex(p, v, 0, why);
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xc0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xe0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (char)(0xf0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  }
  return o;
}

static unsigned hex4(const char *s) {
  return (unsigned)(hexval(s[0]) << 12 | hexval(s[1]) << 8 |
                    hexval(s[2]) << 4 | hexval(s[3]));
}

size_t weir__json_unescape(const char *s, const char *e, char *out) {
  char *o = out;
  while (s < e) {
    const char *bs = memchr(s, '\\', (size_t)(e - s));
    size_t n = bs ? (size_t)(bs - s) : (size_t)(e - s);
    memcpy(o, s, n);
    o += n;
    s += n;
    if (!bs) break;
    char c = s[1];
    s += 2;
    switch (c) {
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      unsigned cp = hex4(s);
      s += 4;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        /* A high surrogate must be followed by a low one to form a pair. */
        if (s + 6 <= e && s[0] == '\\' && s[1] == 'u') {
          unsigned lo = hex4(s + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            s += 6;
          } else {
            cp = 0xfffd;
          }
        } else {
          cp = 0xfffd;
        }
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = 0xfffd;
      }
      o = put_utf8(o, cp);
      break;
    }
    default: *o++ = c; break; /* '"', '\\', '/' */
    }
  }
  return (size_t)(o - out);
}

size_t weir__json_escape(const char *s, size_t len, char *out) {
  static const char hex[] = "0123456789abcdef";
  char *o = out;
  *o++ = '"';
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\') p++;
    memcpy(o, run, (size_t)(p - run));
    o += p - run;
    if (p == end) break;
    unsigned c = *p++;
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o++ = '"';
  return (size_t)(o - out);
}

size_t weir__json_double(double v, char *out) {
  if (!isfinite(v)) {
    memcpy(out, "null", 5);
    return 4;
  }
  if (v == (double)(int64_t)v && fabs(v) < 1e15) {
    /* Integral values keep a ".0" so they read back as floats. */
    int n = snprintf(out, 32, "%.1f", v);
    out[n - 2] = '.'; /* whatever the locale's decimal point */
    return (size_t)n;
  }
  int n = snprintf(out, 32, "%.15g", v);
  if (strtod_l(out, NULL, weir__c_locale()) != v) n = snprintf(out, 32, "%.17g", v);
  for (char *c = out; *c; c++)
    if (*c == ',') *c = '.'; /* a locale's decimal comma */
  if (!strpbrk(out, ".eEn")) {
    out[n++] = '.';
    out[n++] = '0';
    out[n] = 0;
  }
  return (size_t)n;
}
