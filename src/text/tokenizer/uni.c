/* Unicode classes for the tokenizer components (utf8proc's tables) and
 * UTF-8 validation with the maximal-subpart rule of U+FFFD replacement. */
#include <utf8proc.h>

#include "text/tokenizer/uni.h"

int weir__uni_white_space(uint32_t c) {
  return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int weir__uni_alnum(uint32_t c) {
  if (c < 0x80)
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
         (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

int weir__uni_numeric(uint32_t c) {
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

int weir__uni_punct(uint32_t c) {
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int weir__uni_mark_nonspacing(uint32_t c) {
  return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN;
}

int weir__uni_mark(uint32_t c) {
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME;
}

int weir__uni_control(uint32_t c) {
  if (c == '\t' || c == '\n' || c == '\r')
    return 0;
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CN ||
         k == UTF8PROC_CATEGORY_CO;
}

int weir__uni_bert_punct(uint32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return 1;
  return weir__uni_punct(c);
}

int weir__uni_cjk(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* The length of the valid sequence at s[i], or 0. */
static size_t valid_len(const unsigned char *u, size_t len, size_t i) {
  unsigned char b = u[i];
  if (b < 0x80)
    return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b == 0xE0) { n = 3; lo = 0xA0; }
  else if (b >= 0xE1 && b <= 0xEC) n = 3;
  else if (b == 0xED) { n = 3; hi = 0x9F; }
  else if (b >= 0xEE && b <= 0xEF) n = 3;
  else if (b == 0xF0) { n = 4; lo = 0x90; }
  else if (b >= 0xF1 && b <= 0xF3) n = 4;
  else if (b == 0xF4) { n = 4; hi = 0x8F; }
  else return 0;
  if (i + n > len)
    return 0;
  if (u[i + 1] < lo || u[i + 1] > hi)
    return 0;
  for (size_t k = 2; k < n; k++)
    if ((u[i + k] & 0xC0) != 0x80)
      return 0;
  return n;
}

size_t weir__uni_invalid_at(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    /* ASCII runs 8 bytes at a time: most text is mostly ASCII. */
    while (i + 8 <= len) {
      uint64_t w;
      __builtin_memcpy(&w, u + i, 8);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i >= len)
      break;
    /* Runs of 2- and 3-byte sequences (Cyrillic, CJK...) without the
     * general checks. */
    while (i + 3 <= len) {
      unsigned char b = u[i];
      if (b >= 0xE1 && b <= 0xEC && (u[i + 1] & 0xC0) == 0x80 && (u[i + 2] & 0xC0) == 0x80)
        i += 3;
      else if (b >= 0xC2 && b <= 0xDF && (u[i + 1] & 0xC0) == 0x80)
        i += 2;
      else if (b < 0x80)
        i++;
      else
        break;
    }
    if (i >= len)
      break;
    size_t n = valid_len(u, len, i);
    if (!n)
      return i;
    i += n;
  }
  return len;
}

size_t weir__uni_bad_len(const char *s, size_t len, size_t i) {
  const unsigned char *u = (const unsigned char *)s;
  unsigned char b = u[i];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b == 0xE0) { n = 3; lo = 0xA0; }
  else if (b >= 0xE1 && b <= 0xEC) n = 3;
  else if (b == 0xED) { n = 3; hi = 0x9F; }
  else if (b >= 0xEE && b <= 0xEF) n = 3;
  else if (b == 0xF0) { n = 4; lo = 0x90; }
  else if (b >= 0xF1 && b <= 0xF3) n = 4;
  else if (b == 0xF4) { n = 4; hi = 0x8F; }
  else return 1;
  /* The longest prefix of a valid sequence, which is one replacement. */
  size_t k = 1;
  if (i + 1 < len && u[i + 1] >= lo && u[i + 1] <= hi) {
    k = 2;
    while (k < n && i + k < len && (u[i + k] & 0xC0) == 0x80)
      k++;
  }
  return k;
}
