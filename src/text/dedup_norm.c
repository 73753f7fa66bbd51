/* The key normalisation of Data Prep Kit's ededup, byte for byte:
 * doc.replace(" ", "").replace("\n", "").lower() then the characters of
 * Python's string.punctuation removed (transform_utils.py:60-75). ASCII
 * runs through a table; other characters are lowercased with the C.UTF-8
 * locale's simple mapping plus the two rules of Python's str.lower() that
 * differ from it (U+0130 and the final sigma). */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#ifdef WEIR_HAVE_XXHASH
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86_SIMD 1
#endif

#include "core/block_internal.h"
#include "core/utf8.h"
#include "text/dedup.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* ASCII: the lowercased byte, and 1 when it is kept (0 for the space,
 * the newline and punctuation). */
static unsigned char ascii_map[128], ascii_keep[128];
/* The lowercase of the two-byte code points (U+0080-U+07FF: Latin,
 * Greek, Cyrillic, Hebrew, Arabic...), where most non-ASCII text lives:
 * a table lookup instead of a locale call per character. */
static uint16_t lower2[0x800];
#ifdef HAVE_X86_SIMD
static void init_simd(void);
#endif
static locale_t utf8_locale;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
  static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  for (int c = 0; c < 128; c++)
    ascii_map[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  ascii_map[' '] = 0;
  ascii_map['\n'] = 0;
  for (const char *p = punct; *p; p++)
    ascii_map[(unsigned char)*p] = 0;
  for (int c = 0; c < 128; c++)
    ascii_keep[c] = ascii_map[c] != 0 || c == 0; /* NUL is a kept byte */
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
#ifdef HAVE_X86_SIMD
  init_simd();
#endif
  for (uint32_t c = 0; c < 0x800; c++) {
    uint32_t l = utf8_locale ? (uint32_t)towlower_l((wint_t)c, utf8_locale) : c;
    /* Every mapping in this range stays in it; keep any that would not
     * out of the table (0 = ask the locale). */
    lower2[c] = (uint16_t)(l < 0x800 ? l : 0);
  }
}

static uint32_t lower_cp(uint32_t c) {
  if (!utf8_locale)
    return c;
  return (uint32_t)towlower_l((wint_t)c, utf8_locale);
}

static int is_cased(uint32_t c) {
  if (c < 128)
    return (c | 32) >= 'a' && (c | 32) <= 'z';
  return utf8_locale && (iswupper_l((wint_t)c, utf8_locale) || iswlower_l((wint_t)c, utf8_locale));
}

static size_t put_utf8(uint32_t c, char *o) {
  if (c < 0x80) {
    o[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (char)(0xC0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = (char)(0xE0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (c >> 18));
  o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  o[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* Case-ignorable characters (Unicode's property) that text carries often:
 * Python's Final_Sigma rule looks through them. A subset: ASCII ' . : ^ `,
 * the combining marks U+0300-U+036F, and U+00AD U+00B7 U+00B4 U+00A8
 * U+2018 U+2019 U+2024 U+2027. */
static int case_ignorable(uint32_t c) {
  switch (c) {
  case '\'': case '.': case ':': case '^': case '`':
  case 0xAD: case 0xB7: case 0xB4: case 0xA8:
  case 0x2018: case 0x2019: case 0x2024: case 0x2027:
    return 1;
  default:
    return c >= 0x300 && c <= 0x36F;
  }
}

/* Whether a cased letter follows position i, past case-ignorable
 * characters and the spaces and newlines the normalisation removed. */
static int cased_follows(const char *s, size_t len, size_t i) {
  while (i < len) {
    uint32_t x = weir__u8_next(s, len, &i);
    if (x == ' ' || x == '\n' || case_ignorable(x))
      continue;
    return is_cased(x);
  }
  return 0;
}

/* Whether a cased letter precedes byte i (the start of a character), past
 * the same characters. Only asked at a capital sigma, which is rare, so
 * the main loop keeps no state for it. */
static int cased_precedes(const char *s, size_t i) {
  const unsigned char *u = (const unsigned char *)s;
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && (u[j] & 0xC0) == 0x80)
      j--;
    size_t k = j;
    uint32_t x = weir__u8_next(s, i, &k);
    i = j;
    if (x == ' ' || x == '\n' || case_ignorable(x))
      continue;
    return is_cased(x);
  }
  return 0;
}

#ifdef HAVE_X86_SIMD
/* pshufb controls that move the kept bytes of 8 (bit k of the index: byte
 * k is kept) to the front, in order. */
static uint64_t compact8[256];
static int have_ssse3;

static void init_simd(void) {
  for (int m = 0; m < 256; m++) {
    uint64_t ctl = 0x8080808080808080ull;
    int k = 0;
    for (int b = 0; b < 8; b++)
      if (m & (1 << b)) {
        ctl &= ~(0xffull << (8 * k));
        ctl |= (uint64_t)b << (8 * k);
        k++;
      }
    compact8[m] = ctl;
  }
  __builtin_cpu_init();
  have_ssse3 = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
}

#endif

/* One non-ASCII character at s[*i] (valid UTF-8), lowercased as Python
 * does, into o; the bytes written. */
static inline __attribute__((always_inline)) size_t norm_char(const char *s, size_t len,
                                                              size_t *i, char *o) {
  size_t start = *i, n = 0;
  uint32_t c = weir__u8_next(s, len, i);
  if (c == 0x130) { /* LATIN CAPITAL I WITH DOT ABOVE -> "i\u0307" */
    o[n++] = 'i';
    n += put_utf8(0x307, o + n);
  } else if (c == 0x3A3) {
    /* Final sigma, as Python: after a cased letter and not before one
     * (looking through case-ignorables; the text is the one with spaces
     * and newlines already removed). */
    int final = cased_precedes(s, start) && !cased_follows(s, len, *i);
    n += put_utf8(final ? 0x3C2 : 0x3C3, o + n);
  } else if (c < 0x800 && lower2[c]) {
    n += put_utf8(lower2[c], o + n);
  } else {
    n += put_utf8(lower_cp(c), o + n);
  }
  return n;
}

/* The normalisation of s[i..len) a byte at a time (s[0..i) is there for
 * the final sigma's look back); the bytes written to o. */
static size_t norm_scalar(const char *s, size_t len, size_t i, char *o) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = 0;
  while (i < len) {
    unsigned char b = u[i];
    if (b < 0x80) {
      /* Branch-free: write the byte, advance only when it is kept. */
      o[n] = (char)ascii_map[b];
      n += ascii_keep[b];
      i++;
    } else {
      n += norm_char(s, len, &i, o + n);
    }
  }
  return n;
}

#ifdef HAVE_X86_SIMD
/* 1 when byte v (per lane) lies in [lo, hi] (ASCII lanes only). */
#define IN_RANGE(v, lo, hi)                                                   \
  _mm_and_si128(_mm_cmpgt_epi8((v), _mm_set1_epi8((char)((lo)-1))),          \
                _mm_cmplt_epi8((v), _mm_set1_epi8((char)((hi) + 1))))

/* The same, 16 bytes at a time with SSSE3: uppercase ASCII to lowercase,
 * and the space, the newline and the punctuation of Python's
 * string.punctuation (0x21-0x2F, 0x3A-0x40, 0x5B-0x60, 0x7B-0x7E)
 * dropped, as ascii_map/ascii_keep say; the kept bytes of each half are
 * moved together with one pshufb. The ASCII bytes before a non-ASCII one
 * go the same way; the character itself through norm_char. Each store
 * writes 8 bytes at the output's end, so the output needs 16 bytes of
 * room past its length. */
__attribute__((target("ssse3,popcnt"))) static size_t norm_ssse3(const char *s, size_t len,
                                                                 char *o) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = 0, i = 0;
  while (i + 16 <= len) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
    unsigned high = (unsigned)_mm_movemask_epi8(v);
    __m128i up = IN_RANGE(v, 'A', 'Z');
    __m128i lv = _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
    __m128i drop = _mm_or_si128(IN_RANGE(v, 0x20, 0x2F), IN_RANGE(v, 0x3A, 0x40));
    drop = _mm_or_si128(drop, IN_RANGE(v, 0x5B, 0x60));
    drop = _mm_or_si128(drop, IN_RANGE(v, 0x7B, 0x7E));
    drop = _mm_or_si128(drop, _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    unsigned keep = ~(unsigned)_mm_movemask_epi8(drop) & 0xffff;
    unsigned adv = 16;
    if (high) {
      adv = (unsigned)__builtin_ctz(high);
      keep &= (1u << adv) - 1;
    }
    __m128i lo = _mm_shuffle_epi8(lv, _mm_cvtsi64_si128((long long)compact8[keep & 0xff]));
    _mm_storel_epi64((__m128i *)(void *)(o + n), lo);
    n += (size_t)__builtin_popcount(keep & 0xff);
    __m128i hi = _mm_shuffle_epi8(_mm_srli_si128(lv, 8),
                                  _mm_cvtsi64_si128((long long)compact8[keep >> 8]));
    _mm_storel_epi64((__m128i *)(void *)(o + n), hi);
    n += (size_t)__builtin_popcount(keep >> 8);
    i += adv;
    if (high)
      n += norm_char(s, len, &i, o + n);
  }
  return n + norm_scalar(s, len, i, o + n);
}
#endif

int weir__dedup_norm_dpk(const char *s, size_t len, char **buf, size_t *cap, size_t *out_len) {
  pthread_once(&once, init_tables);
  /* Lowercasing can grow a character by one byte (U+0130 -> i + U+0307:
   * 2 bytes -> 3), never more than by half; 16 more for norm_ssse3's
   * stores. */
  size_t need = len + len / 2 + 16;
  if (*cap < need) {
    char *nb = realloc(*buf, need);
    if (!nb)
      return WEIR_ENOMEM;
    *buf = nb;
    *cap = need;
  }
#ifdef HAVE_X86_SIMD
  if (have_ssse3) {
    *out_len = norm_ssse3(s, len, *buf);
    return WEIR_OK;
  }
#endif
  *out_len = norm_scalar(s, len, 0, *buf);
  return WEIR_OK;
}

void weir__xxh128(const void *data, size_t len, uint64_t h[2]) {
#ifdef WEIR_HAVE_XXHASH
  XXH128_hash_t x = XXH3_128bits(data ? data : "", len);
  h[0] = x.low64;
  h[1] = x.high64;
#else
  (void)data, (void)len;
  h[0] = h[1] = 0;
#endif
}

int weir_dedup_key(int normalize, const char *text, size_t len, char **norm, size_t *norm_len,
                   uint64_t hash[2]) {
#ifndef WEIR_HAVE_XXHASH
  (void)normalize, (void)text, (void)len, (void)norm, (void)norm_len, (void)hash;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_dedup_key: this build has no libxxhash "
                              "(install libxxhash-dev and rebuild)");
#else
  if ((!text && len) || !hash)
    return weir__set_last_error(WEIR_EINVAL, "weir_dedup_key: NULL %s", hash ? "text" : "hash");
  if (normalize != WEIR_DEDUP_NORM_DPK && normalize != WEIR_DEDUP_NORM_NONE)
    return weir__set_last_error(WEIR_EINVAL, "weir_dedup_key: unknown normalize %d", normalize);
  if (!text)
    text = "";
  char *buf = NULL;
  size_t cap = 0, n = len;
  const char *k = text;
  if (normalize == WEIR_DEDUP_NORM_DPK) {
    size_t at = weir__utf8_invalid_at(text, len);
    if (at < len)
      return weir__set_last_error(WEIR_EFORMAT, "weir_dedup_key: invalid UTF-8 at byte %zu", at);
    if (weir__dedup_norm_dpk(text, len, &buf, &cap, &n))
      return weir__set_last_error(WEIR_ENOMEM, "weir_dedup_key: out of memory");
    k = buf;
  }
  weir__xxh128(k, n, hash);
  if (norm) {
    if (!buf) {
      buf = malloc(n ? n : 1);
      if (!buf)
        return weir__set_last_error(WEIR_ENOMEM, "weir_dedup_key: out of memory");
      memcpy(buf, text, n);
    }
    *norm = buf;
    buf = NULL;
  }
  if (norm_len)
    *norm_len = n;
  free(buf);
  return WEIR_OK;
#endif
}

/* For MinHash's simplification (minhash_norm.c), which applies the two
 * context rules itself. */
uint32_t weir__py_lower_simple(uint32_t c) {
  pthread_once(&once, init_tables);
  return lower_cp(c);
}

int weir__py_is_cased(uint32_t c) {
  pthread_once(&once, init_tables);
  return is_cased(c);
}
