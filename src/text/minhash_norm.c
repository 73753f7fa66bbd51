/* DataTrove's simplify_text (utils/text.py, TextNormConfig defaults) in one
 * pass: lowercase; digit runs to "0"; PUNCTUATION to a space; whitespace
 * runs to one space, stripped; NFD without nonspacing marks; stripped.
 * The steps compose because no later step makes input for an earlier one:
 * lowercasing makes no digit, punctuation or space; the accent step runs
 * last and its output is not looked at again. All-ASCII texts take a
 * table-driven path. */
#include <stdlib.h>
#include <string.h>

#include "text/minhash.h"
#include "weir/error.h"

enum { K_OTHER = 0, K_SPACE = 1, K_DIGIT = 2 };

/* ASCII: the lowercased byte and its class (punctuation counts as space). */
static unsigned char a_low[128], a_kind[128];
static int a_ready;

static void ascii_init(void) {
  for (int c = 0; c < 128; c++) {
    a_low[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    a_kind[c] = weir__py_isspace((uint32_t)c) || weir__dt_is_punct((uint32_t)c)
                    ? K_SPACE
                    : (c >= '0' && c <= '9' ? K_DIGIT : K_OTHER);
  }
  __atomic_store_n(&a_ready, 1, __ATOMIC_RELEASE);
}

static int is_nd(uint32_t c) {
  if (c < 128)
    return c >= '0' && c <= '9';
  size_t lo = 0, hi = weir__mh_num_nd_ranges;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < weir__mh_nd_ranges[mid][0])
      hi = mid;
    else if (c > weir__mh_nd_ranges[mid][1])
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

/* The decimal separators of DataTrove's NUMBERS_PATTERN. */
static int is_sep(uint32_t c) {
  return c == '.' || c == ',' || c == 0x60C || c == 0x66B || (c >= 0x2396 && c <= 0x2398);
}

static int kind_of(uint32_t c) {
  if (c < 128)
    return a_kind[c];
  if (weir__py_isspace(c) || weir__dt_is_punct(c))
    return K_SPACE;
  return is_nd(c) ? K_DIGIT : K_OTHER;
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

/* NFD of c without its nonspacing marks, written at o. */
static size_t put_stripped(uint32_t c, char *o) {
  if (c < 0xC0)
    return put_utf8(c, o);
  if (c >= 0xAC00 && c <= 0xD7A3) { /* Hangul syllables: L V (T) */
    uint32_t s = c - 0xAC00, t = s % 28;
    size_t n = put_utf8(0x1100 + s / 588, o);
    n += put_utf8(0x1161 + (s % 588) / 28, o + n);
    if (t)
      n += put_utf8(0x11A7 + t, o + n);
    return n;
  }
  size_t lo = 0, hi = weir__mh_num_strips;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uint32_t k = weir__mh_strips[mid].cp;
    if (c < k)
      hi = mid;
    else if (c > k)
      lo = mid + 1;
    else {
      size_t n = 0;
      for (uint32_t j = 0; j < weir__mh_strips[mid].len; j++)
        n += put_utf8(weir__mh_strip_pool[weir__mh_strips[mid].off + j], o + n);
      return n;
    }
  }
  return put_utf8(c, o);
}

static int grow(char **buf, size_t *cap, size_t need) {
  if (*cap >= need)
    return WEIR_OK;
  char *nb = realloc(*buf, need);
  if (!nb)
    return WEIR_ENOMEM;
  *buf = nb;
  *cap = need;
  return WEIR_OK;
}

static size_t simplify_ascii(const unsigned char *u, size_t len, char *o) {
  size_t n = 0, i = 0;
  int pending = 0;
  while (i < len) {
    unsigned char c = u[i];
    int k = a_kind[c];
    if (k == K_SPACE) {
      pending = n > 0;
      i++;
      continue;
    }
    if (pending) {
      o[n++] = ' ';
      pending = 0;
    }
    if (k == K_OTHER) {
      o[n++] = (char)a_low[c];
      i++;
      continue;
    }
    /* \d+([.,]\d+)? -> "0" */
    while (i < len && a_kind[u[i]] == K_DIGIT)
      i++;
    if (i + 1 < len && (u[i] == '.' || u[i] == ',') && a_kind[u[i + 1]] == K_DIGIT) {
      i++;
      while (i < len && a_kind[u[i]] == K_DIGIT)
        i++;
    }
    o[n++] = '0';
  }
  return n;
}

/* Python's str.lower() of s into code points cp (n returned): the simple
 * mapping plus U+0130 -> "i" U+0307 and the final sigma (after a cased
 * letter, not before one; case-ignorable characters are not looked
 * through here: they are rare next to a capital sigma). */
static size_t lower_cps(const char *s, size_t len, uint32_t *cp) {
  size_t n = 0, i = 0;
  while (i < len) {
    uint32_t c = weir__u8_next(s, len, &i);
    if (c < 128) {
      cp[n++] = a_low[c];
    } else if (c == 0x130) {
      cp[n++] = 'i';
      cp[n++] = 0x307;
    } else if (c == 0x3A3) {
      int before = n > 0 && weir__py_is_cased(cp[n - 1]);
      size_t k = i;
      int after = k < len && weir__py_is_cased(weir__u8_next(s, len, &k));
      cp[n++] = before && !after ? 0x3C2 : 0x3C3;
    } else {
      cp[n++] = weir__py_lower_simple(c);
    }
  }
  return n;
}

int weir__mh_simplify(const char *s, size_t len, char **buf, size_t *cap, size_t *out_len) {
  if (!__atomic_load_n(&a_ready, __ATOMIC_ACQUIRE))
    ascii_init(); /* idempotent: racing threads write the same bytes */
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, u + i, 8);
    if (w & 0x8080808080808080ull)
      break;
  }
  while (i < len && u[i] < 0x80)
    i++;
  if (i == len) {
    if (grow(buf, cap, len + 1))
      return WEIR_ENOMEM;
    size_t n = simplify_ascii(u, len, *buf);
    *out_len = n;
    return WEIR_OK;
  }
  /* General path: code points, then classes. Lowercasing adds at most one
   * code point per input byte pair; a stripped character is at most 18
   * UTF-8 bytes (its decomposition), a Hangul syllable 9. */
  uint32_t *cp = malloc((len + 1) * sizeof *cp);
  if (!cp)
    return WEIR_ENOMEM;
  size_t ncp = lower_cps(s, len, cp);
  if (grow(buf, cap, ncp * 18 + 1)) {
    free(cp);
    return WEIR_ENOMEM;
  }
  char *o = *buf;
  size_t n = 0;
  int pending = 0;
  i = 0;
  while (i < ncp) {
    uint32_t c = cp[i];
    int k = kind_of(c);
    if (k == K_SPACE) {
      pending = n > 0;
      i++;
      continue;
    }
    if (pending) {
      o[n++] = ' ';
      pending = 0;
    }
    if (k == K_OTHER) {
      n += put_stripped(c, o + n);
      i++;
      continue;
    }
    while (i < ncp && is_nd(cp[i]))
      i++;
    if (i + 1 < ncp && is_sep(cp[i]) && is_nd(cp[i + 1])) {
      i++;
      while (i < ncp && is_nd(cp[i]))
        i++;
    }
    o[n++] = '0';
  }
  /* The accent step can leave a space last (a mark after the last space). */
  while (n > 0 && o[n - 1] == ' ')
    n--;
  free(cp);
  *out_len = n;
  return WEIR_OK;
}
