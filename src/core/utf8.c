/* UTF-8 validation, shared by the builder, the text readers and the JSON
 * lexer. */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/utf8.h"

size_t weir__utf8_invalid_at(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    /* Skip ASCII 16 (or 8) bytes at a time: most text is mostly ASCII. */
#if defined(__SSE2__)
    while (i + 16 <= len) {
      unsigned m = (unsigned)_mm_movemask_epi8(
          _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
      if (m) {
        i += (unsigned)__builtin_ctz(m);
        break;
      }
      i += 16;
    }
#else
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
#endif
    if (i >= len) break;
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xe0) == 0xc0) { n = 2; min = 0x80; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 3; min = 0x800; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 4; min = 0x10000; cp = c & 0x07; }
    else return i;
    if (i + n > len) return i;
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n;
  }
  return len;
}
