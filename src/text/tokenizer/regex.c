/* The split regexes: the well-known patterns, and compiling a pattern of
 * tokenizer.json or tiktoken for PCRE2 (UTF, Unicode properties, JIT). */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "weir/error.h"

/* GPT-2's pattern, as the ByteLevel pre-tokenizer of `tokenizers` has it. */
const char weir__re_gpt2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* tiktoken's r50k/p50k pattern (same splits as GPT-2's). */
const char weir__re_p50k[] =
    "'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++|\\s++$|\\s+(?!\\S)|\\s";
const char weir__re_cl100k[] =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+"
    "|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
const char weir__re_o200k[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Rewrites a pattern for PCRE2 so that it means what it means to the
 * engine it was written for:
 *  - Rust's regex and Oniguruma count U+0085 (NEL) as \s (Unicode
 *    White_Space); PCRE2's \s does not, even with UCP;
 *  - Oniguruma's \\w also takes marks (and not Nl/No numbers);
 *  - Oniguruma (tokenizers' engine, Ruby syntax) reads X{n,m}+ as
 *    (X{n,m})+ — only ?+ *+ ++ are possessive there — where PCRE2 and
 *    tiktoken's fancy-regex read a possessive X{n,m}. */
static char *rewrite(const char *p, size_t len, int onig) {
  char *o = malloc(len * 12 + 16);
  size_t *stack = malloc((len + 1) * sizeof *stack);
  if (!o || !stack) {
    free(o);
    free(stack);
    return NULL;
  }
  size_t k = 0, depth = 0, atom = 0;
  int in_class = 0;
  size_t class_start = 0;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if (c == '\\' && i + 1 < len) {
      char e = p[i + 1];
      if (!in_class)
        atom = k;
      if (onig && (e == 'w' || (e == 'W' && !in_class))) {
        /* Oniguruma's \w: Alphabetic, marks, decimal digits, connector
         * punctuation, joiners (PCRE2's: letters, all numbers, underscore). */
        const char *rep = in_class ? "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
                          : e == 'w' ? "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]" : "[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
        size_t rl = strlen(rep);
        memcpy(o + k, rep, rl);
        k += rl;
        i++;
        continue;
      }
      if (e == 's' || e == 'S') {
        const char *rep = in_class ? (e == 's' ? "\\s\\x{85}" : "\\S") : (e == 's' ? "[\\s\\x{85}]" : "[^\\s\\x{85}]");
        size_t rl = strlen(rep);
        memcpy(o + k, rep, rl);
        k += rl;
        i++;
        continue;
      }
      o[k++] = c;
      o[k++] = e;
      i++;
      /* \p{..} \P{..} \x{..}: the braces belong to the escape */
      if ((e == 'p' || e == 'P' || e == 'x') && i + 1 < len && p[i + 1] == '{') {
        while (i + 1 < len && p[i] != '}')
          o[k++] = p[++i];
      }
      continue;
    }
    if (in_class) {
      o[k++] = c;
      if (c == ']') {
        in_class = 0;
        atom = class_start;
      }
      continue;
    }
    if (c == '[') {
      in_class = 1;
      class_start = k;
      o[k++] = c;
      /* a ']' right after '[' or '[^' is a literal */
      if (i + 1 < len && p[i + 1] == '^')
        o[k++] = p[++i];
      if (i + 1 < len && p[i + 1] == ']')
        o[k++] = p[++i];
      continue;
    }
    if (c == '(') {
      stack[depth++] = k;
      o[k++] = c;
      continue;
    }
    if (c == ')') {
      atom = depth ? stack[--depth] : 0;
      o[k++] = c;
      continue;
    }
    if (c == '{' && onig) {
      size_t j = i + 1;
      while (j < len && ((p[j] >= '0' && p[j] <= '9') || p[j] == ','))
        j++;
      if (j < len && p[j] == '}' && j > i + 1 && j + 1 < len && p[j + 1] == '+') {
        /* X{n,m}+ -> (?:X{n,m})+ */
        memmove(o + atom + 3, o + atom, k - atom);
        memcpy(o + atom, "(?:", 3);
        k += 3;
        memcpy(o + k, p + i, j + 1 - i);
        k += j + 1 - i;
        o[k++] = ')';
        o[k++] = '+';
        i = j + 1;
        continue;
      }
    }
    if (c != '|' && c != '*' && c != '+' && c != '?' && c != '{' && c != '}' && ((unsigned char)c & 0xC0) != 0x80)
      atom = k;
    o[k++] = c;
  }
  o[k] = 0;
  free(stack);
  return o;
}

int weir__tok_regex_add(weir_tokenizer *t, const char *pat, size_t len, const char *who, int onig) {
  char *fixed = rewrite(pat, len, onig);
  if (!fixed)
    return WEIR_ENOMEM;
  int err;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)fixed, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
  free(fixed);
  if (!re) {
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(err, msg, sizeof msg);
    return weir__tok_err(WEIR_ENOTSUP, "%s: regex /%.*s/ is not supported by PCRE2: %s (at %zu)", who,
                         (int)(len > 200 ? 200 : len), pat, (const char *)msg, (size_t)off);
  }
  /* JIT is an optimisation: a pattern JIT cannot take still matches. */
  (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
  pcre2_code **nr = realloc(t->re, (t->nre + 1) * sizeof *nr);
  if (!nr) {
    pcre2_code_free(re);
    return WEIR_ENOMEM;
  }
  t->re = nr;
  t->re[t->nre] = re;
  if (t->nre < 64 && weir__tok_regex_space_cut(pat, len))
    t->re_space_cut |= (uint64_t)1 << t->nre;
  return (int)t->nre++;
}
