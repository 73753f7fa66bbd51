/* Where a text may be cut so that encoding the pieces one after another
 * gives the ids of the whole text (weir_chunk_stream by tokens).
 *
 * The cut is at a space between an ASCII letter or digit and an ASCII
 * letter ("a b", cut before the space). It is exact when every component
 * of the tokenizer provably treats that position the same way in the
 * pieces as in the whole:
 *  - normalizers that work character by character or per canonical
 *    combining sequence (NFC/NFD/NFKC/NFKD, Lowercase, StripAccents,
 *    BertNormalizer; ASCII letters, digits and the space are starters that
 *    no character composes with), right-only Strip (a piece before a cut
 *    ends with a letter), and literal Replace patterns with no ASCII
 *    letter, digit or space (they can never cover the three bytes around
 *    the cut). Left Strip, Prepend, regex Replace and Precompiled are not
 *    proven;
 *  - pre-tokenizers: each one must either split only by character classes
 *    (Punctuation, Digits, CharDelimiterSplit, literal Split patterns
 *    without a space: a piece of the whole cut at the cut equals the
 *    pieces of the parts), or cut there itself: WhitespaceSplit,
 *    Whitespace, Bert, Metaspace with split, a Split on " ", and the
 *    split regexes of GPT-2, p50k, cl100k, o200k, Llama 3 and Qwen 2
 *    (isolated). Of those regexes, no alternative consumes a letter or
 *    digit and then a space, and none starting before the cut looks past
 *    the letter or digit before it; so a match ends at the cut, whether
 *    the text goes on with " x" or ends there, and the next match starts
 *    at the space with the letter alternative (they have no look-behind).
 *    At least one pre-tokenizer must cut: with none (SentencePiece-like
 *    models over the whole text) nothing is proven;
 *  - added tokens: one that contains a space, or strips white space
 *    around it, could cover or move the cut, so then no occurrence may
 *    start within its longest length of the cut (normalized ones of that
 *    kind are not proven). Others end and start where they do in the
 *    whole text: the bytes next to them are the same, and "end of text"
 *    and a space are both word boundaries for single_word.
 *  - the model runs on each piece alone (BPE, WordPiece, WordLevel,
 *    Unigram), and the piece after a cut is encoded as a continuation
 *    (no "first piece" prefix of Metaspace or ByteLevel: it starts with
 *    the space anyway). */
#include <string.h>

#include "text/tokenizer/stream.h"
#include "text/tokenizer/tok.h"

/* The split regexes proven above, as tokenizer.json, tiktoken and the
 * usual exports write them. */
static const char *const known_re[] = {
    weir__re_gpt2,
    weir__re_p50k,
    weir__re_cl100k,
    weir__re_o200k,
    /* cl100k without possessives (tokenizers' exports of it) */
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    /* cl100k with a plain {1,3} */
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+"
    "|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
    /* Llama 3 */
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    /* Qwen 2 */
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    /* the Whitespace pre-tokenizer's */
    "\\w+|[^\\w\\s]+",
};

int weir__tok_regex_space_cut(const char *pat, size_t len) {
  for (size_t i = 0; i < sizeof known_re / sizeof known_re[0]; i++)
    if (strlen(known_re[i]) == len && memcmp(known_re[i], pat, len) == 0)
      return 1;
  return 0;
}

static int is_alnum(unsigned char x) {
  return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z');
}
static int is_alpha(unsigned char x) { return (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z'); }

static int re_known(const weir_tokenizer *t, int re) {
  return re >= 0 && re < 64 && ((t->re_space_cut >> re) & 1);
}

void weir__tok_stream_plan(const weir_tokenizer *t, weir__tok_cut_plan *p) {
  memset(p, 0, sizeof *p);
  if (!t || t->kind == TOK_SPM)
    return;
  for (size_t i = 0; i < t->nnorms; i++) {
    const tok_norm *n = &t->norms[i];
    switch (n->kind) {
    case NM_NFC: case NM_NFD: case NM_NFKC: case NM_NFKD: case NM_LOWER: case NM_STRIP_ACCENTS:
    case NM_BERT:
      break;
    case NM_STRIP:
      if (n->left)
        return;
      break;
    case NM_REPLACE:
      if (n->re >= 0 || !n->pat_len)
        return;
      for (size_t k = 0; k < n->pat_len; k++)
        if (is_alnum((unsigned char)n->pat[k]) || n->pat[k] == ' ')
          return;
      break;
    default: /* Prepend, Precompiled */
      return;
    }
  }
  int cuts = 0;
  for (size_t i = 0; i < t->npretoks; i++) {
    const tok_pretok *pt = &t->pretoks[i];
    switch (pt->kind) {
    case PT_BYTELEVEL:
      if (pt->re >= 0) {
        if (!re_known(t, pt->re))
          return;
        cuts = 1;
      }
      break;
    case PT_SPLIT:
      if (pt->invert)
        return;
      if (pt->re >= 0) {
        if (!re_known(t, pt->re) || pt->behavior != SPLIT_ISOLATED)
          return;
        cuts = 1;
      } else if (pt->lit_len == 1 && pt->lit[0] == ' ') {
        if (pt->behavior != SPLIT_MERGED_PREV)
          cuts = 1;
      } else if (memchr(pt->lit, ' ', pt->lit_len)) {
        return;
      }
      break;
    case PT_WHITESPACE: case PT_WHITESPACE_SPLIT: case PT_BERT:
      cuts = 1;
      break;
    case PT_METASPACE:
      if (pt->split)
        cuts = 1;
      break;
    case PT_CHAR_DELIM:
      if (pt->lit_len == 1 && pt->lit[0] == ' ')
        cuts = 1;
      break;
    case PT_PUNCT: case PT_DIGITS:
      break;
    default:
      return;
    }
  }
  if (!cuts)
    return;
  for (size_t i = 0; i < t->nadded; i++) {
    const tok_added *a = &t->added[i];
    if (a->lstrip || a->rstrip || memchr(a->content, ' ', a->len)) {
      if (a->normalized && t->nnorms)
        return;
      p->window = t->added_max_len + 8;
    }
  }
  p->exact = 1;
}

size_t weir__tok_stream_need_after(const weir__tok_cut_plan *p) { return p->window ? p->window : 2; }

int weir__tok_stream_cut_ok(const weir_tokenizer *t, const weir__tok_cut_plan *p, const char *s,
                            size_t lo, size_t c, size_t avail, int at_doc_start) {
  if (!p->exact || c <= lo || c + weir__tok_stream_need_after(p) > avail)
    return 0;
  if (s[c] != ' ' || !is_alnum((unsigned char)s[c - 1]) || !is_alpha((unsigned char)s[c + 1]))
    return 0;
  if (p->window) {
    /* No added token may start within its longest length before the cut
     * (or just after it): the text there must be held. */
    size_t from;
    if (c - lo >= p->window)
      from = c - p->window;
    else if (at_doc_start)
      from = lo;
    else
      return 0;
    size_t ms, me, which;
    for (int pass = 0; pass < 2; pass++)
      if (weir__tok_added_next(t, s, avail, from, pass, &ms, &me, &which) && ms < c + 2)
        return 0;
  }
  return 1;
}
