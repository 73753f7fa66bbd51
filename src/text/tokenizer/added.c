/* Added and special tokens: finding them in the text (leftmost-longest,
 * as the aho-corasick matcher of `tokenizers`), with single_word, lstrip
 * and rstrip. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

static int by_len_desc(const void *a, const void *b) {
  const tok_added *x = a, *y = b;
  if (x->len != y->len)
    return x->len > y->len ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders the tokens longest first, so the first one that matches at a
 * position is the longest, and notes the bytes that can start one. */
int weir__tok_added_finish(weir_tokenizer *t) {
  if (t->nadded)
    qsort(t->added, t->nadded, sizeof *t->added, by_len_desc);
  memset(t->added_first, 0, sizeof t->added_first);
  t->added_max_len = 0;
  t->any_normalized_added = 0;
  for (size_t i = 0; i < t->nadded; i++) {
    if (!t->added[i].len)
      continue;
    t->added_first[(unsigned char)t->added[i].content[0]] = 1;
    if (t->added[i].len > t->added_max_len)
      t->added_max_len = t->added[i].len;
    t->any_normalized_added |= t->added[i].normalized;
  }
  return WEIR_OK;
}

static int word_char(uint32_t c) { return c == '_' || weir__uni_alnum(c); }

int weir__tok_added_next(const weir_tokenizer *t, const char *s, size_t len, size_t from, int pass,
                         size_t *ms, size_t *me, size_t *which) {
  int skip_special = pass & 2;
  pass &= 1;
  for (size_t i = from; i < len; i++) {
    if (!t->added_first[(unsigned char)s[i]])
      continue;
    for (size_t k = 0; k < t->nadded; k++) {
      const tok_added *a = &t->added[k];
      if (a->normalized != pass || (skip_special && a->special) || !a->len || a->len > len - i ||
          a->content[0] != s[i] || memcmp(a->content, s + i, a->len) != 0)
        continue;
      /* The longest token matching at i: tokenizers takes it or nothing. */
      size_t st = i, en = i + a->len;
      if (a->single_word) {
        size_t j;
        uint32_t c;
        if (st > 0) {
          j = weir__tok_u8prev(s, st);
          c = weir__tok_u8(s, &j);
          if (word_char(c))
            goto next_match;
        }
        if (en < len) {
          j = en;
          c = weir__tok_u8(s, &j);
          if (word_char(c))
            goto next_match;
        }
      }
      if (a->lstrip) {
        while (st > from) {
          size_t p = weir__tok_u8prev(s, st), j = p;
          if (!weir__uni_white_space(weir__tok_u8(s, &j)))
            break;
          st = p;
        }
      }
      if (a->rstrip) {
        while (en < len) {
          size_t j = en;
          if (!weir__uni_white_space(weir__tok_u8(s, &j)))
            break;
          en = j;
        }
      }
      *ms = st;
      *me = en;
      *which = k;
      return 1;
    next_match:
      /* The matcher goes on after the refused match, as find_iter does. */
      i = en - 1;
      break;
    }
  }
  return 0;
}
