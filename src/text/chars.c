/* Character classes the text operators share, as Python and DataTrove
 * define them (str.isspace, str.isalpha, str.splitlines, PUNCTUATION). */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <wctype.h>

#include "text/tables.h"
#include "text/text_internal.h"

size_t weir__u8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

int weir__py_isspace(uint32_t c) {
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* glibc's C.UTF-8 knows Unicode's letters; made once for the process. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static void utf8_make(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

int weir__py_isalpha(uint32_t c) {
  if (c < 0x80)
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  pthread_once(&utf8_once, utf8_make);
  if (!utf8_locale)
    return 0;
  return iswalpha_l((wint_t)c, utf8_locale) && !iswdigit_l((wint_t)c, utf8_locale);
}

int weir__uni_is_punct(uint32_t c) {
  if (c < 0x80) {
    /* Unicode puts $ + < = > ^ ` | ~ in the symbol categories, not P. */
    static const char p[] = "!\"#%&'()*,-./:;?@[\\]_{}";
    for (const char *q = p; *q; q++)
      if ((uint32_t)(unsigned char)*q == c)
        return 1;
    return 0;
  }
  pthread_once(&utf8_once, utf8_make);
  if (!utf8_locale)
    return 0;
  /* glibc's punct class also holds symbols; the common Unicode punctuation
   * blocks are told apart here. */
  if ((c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) || (c >= 0x3001 && c <= 0x3003) ||
      (c >= 0x3008 && c <= 0x3011) || (c >= 0xFF01 && c <= 0xFF0F && c != 0xFF04 && c != 0xFF0B) ||
      c == 0xA1 || c == 0xA7 || c == 0xAB || c == 0xB6 || c == 0xB7 || c == 0xBB || c == 0xBF ||
      c == 0x37E || c == 0x387 || c == 0x60C || c == 0x61F || c == 0x6D4 || c == 0x964 ||
      c == 0x965 || c == 0x3002)
    return !(c == 0x2044 || c == 0x2052); /* fraction slash, commercial minus: Sm */
  return 0;
}

int weir__py_linebreak_at(const char *s, size_t len, size_t i, size_t *blen) {
  unsigned char c = (unsigned char)s[i];
  if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E)) {
    *blen = 1;
    return 1;
  }
  if (c == '\r') {
    *blen = i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
    return 1;
  }
  if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85) {
    *blen = 2;
    return 1;
  }
  if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
      ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
    *blen = 3;
    return 1;
  }
  return 0;
}

static int in_sorted(const uint32_t *t, size_t n, uint32_t c) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (t[mid] == c)
      return 1;
    if (t[mid] < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

int weir__dt_is_punct(uint32_t c) { return in_sorted(weir__dt_punctuation, weir__dt_num_punctuation, c); }
int weir__dt_is_terminal(uint32_t c) {
  return in_sorted(weir__dt_terminal_punctuation, weir__dt_num_terminal_punctuation, c);
}

/* Python's str.strip(): [*a, *b) is s without the whitespace at both ends. */
void weir__py_strip(const char *s, size_t len, size_t *a, size_t *b) {
  size_t i = 0;
  while (i < len) {
    size_t k = i;
    if (!weir__py_isspace(weir__u8_next(s, len, &k)))
      break;
    i = k;
  }
  size_t e = len;
  while (e > i) {
    size_t k = e - 1;
    while (k > i && ((unsigned char)s[k] & 0xC0) == 0x80)
      k--;
    size_t kk = k;
    if (!weir__py_isspace(weir__u8_next(s, e, &kk)))
      break;
    e = k;
  }
  *a = i;
  *b = e;
}
