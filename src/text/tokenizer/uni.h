/* Unicode character classes the components need, as Rust's char methods
 * (which `tokenizers` uses) define them, on utf8proc's tables. */
#ifndef WEIR_TEXT_TOKENIZER_UNI_H
#define WEIR_TEXT_TOKENIZER_UNI_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[*i] of valid UTF-8 and advances *i. */
static inline uint32_t weir__tok_u8(const char *s, size_t *i) {
  const unsigned char *u = (const unsigned char *)s + *i;
  if (u[0] < 0x80) { *i += 1; return u[0]; }
  if (u[0] < 0xE0) { *i += 2; return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); }
  if (u[0] < 0xF0) {
    *i += 3;
    return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
  }
  *i += 4;
  return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) |
         (u[3] & 0x3F);
}
/* The length of the UTF-8 sequence led by byte b. */
static inline size_t weir__tok_u8len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
/* The start of the code point that ends just before s[i]. */
static inline size_t weir__tok_u8prev(const char *s, size_t i) {
  do
    i--;
  while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80);
  return i;
}

int weir__uni_white_space(uint32_t c);   /* char::is_whitespace (White_Space) */
int weir__uni_alnum(uint32_t c);         /* char::is_alphanumeric, by category (L*, N*) */
int weir__uni_punct(uint32_t c);         /* category P* */
int weir__uni_numeric(uint32_t c);       /* category N* */
int weir__uni_mark_nonspacing(uint32_t c); /* category Mn */
int weir__uni_mark(uint32_t c);          /* category M* */
int weir__uni_control(uint32_t c);       /* category Cc, Cf, Cn, Co (BERT's _is_control, tab/LF/CR excluded) */
int weir__uni_bert_punct(uint32_t c);    /* BERT's _is_punctuation: ASCII symbols or P* */
int weir__uni_cjk(uint32_t c);           /* BERT's _is_chinese_char */
/* Validates UTF-8 as Rust's str does; returns the offset of the first
 * invalid byte, or len when all is valid. */
size_t weir__uni_invalid_at(const char *s, size_t len);
/* The length of the maximal invalid subsequence at s[i] (>= 1), for
 * U+FFFD replacement as Python and Rust's from_utf8_lossy do. */
size_t weir__uni_bad_len(const char *s, size_t len, size_t i);

#endif
