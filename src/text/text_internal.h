/* Internals shared by the text operators: UTF-8 helpers, the English word
 * tokenizer and its per-block cache, and the machinery every text
 * operator runs on (column access, annotate or filter, counting). */
#ifndef WEIR_TEXT_INTERNAL_H
#define WEIR_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "weir/pipeline.h"
#include "weir/text.h"

/* ---- UTF-8 and Python's character classes ------------------------------ */

/* Decodes the code point at s[*i] (valid UTF-8 assumed; a truncated
 * sequence reads as its first byte, never past `len`) and advances *i. */
static inline uint32_t weir__u8_next(const char *s, size_t len, size_t *i) {
  const unsigned char *u = (const unsigned char *)s;
  size_t k = *i;
  uint32_t c = u[k];
  if (c < 0xC0 || k + 1 >= len) {
    *i = k + 1;
    return c;
  }
  if (c < 0xE0) {
    *i = k + 2;
    return ((c & 0x1F) << 6) | (u[k + 1] & 0x3F);
  }
  if (k + 2 >= len) {
    *i = k + 1;
    return c;
  }
  if (c < 0xF0) {
    *i = k + 3;
    return ((c & 0x0F) << 12) | ((u[k + 1] & 0x3F) << 6) | (u[k + 2] & 0x3F);
  }
  if (k + 3 >= len) {
    *i = k + 1;
    return c;
  }
  *i = k + 4;
  return ((c & 0x07) << 18) | ((u[k + 1] & 0x3F) << 12) | ((u[k + 2] & 0x3F) << 6) |
         (u[k + 3] & 0x3F);
}
/* Code points in s[0..len) (Python's len()). */
size_t weir__u8_count(const char *s, size_t len);
/* Python's str.isspace(), str.isalpha(); Unicode general category P*. */
int weir__py_isspace(uint32_t c);
/* Python's str.strip() on UTF-8: the kept range is [*a, *b). */
void weir__py_strip(const char *s, size_t len, size_t *a, size_t *b);
int weir__py_isalpha(uint32_t c);
int weir__uni_is_punct(uint32_t c);
/* Python's str.splitlines() line breaks (\n \r \v \f \x1c-\x1e \x85
 * \u2028 \u2029); `*blen` gets the break's byte length (2 for \r\n). */
int weir__py_linebreak_at(const char *s, size_t len, size_t i, size_t *blen);
/* Membership in DataTrove's PUNCTUATION and TERMINAL_PUNCTUATION. */
int weir__dt_is_punct(uint32_t c);
int weir__dt_is_terminal(uint32_t c);

/* ---- Words -------------------------------------------------------------- */

/* A word: a byte range of the document, and its length in code points. */
typedef struct weir__word {
  uint32_t start, len;
  uint32_t cps;
  uint8_t  has_alpha;     /* some character isalpha()                     */
  uint8_t  all_punct;     /* every character in DataTrove's PUNCTUATION    */
} weir__word;

typedef struct weir__doc_words {
  weir__word *w;
  size_t n;
} weir__doc_words;

/* The English tokenizer (spaCy's rules through PCRE2); one per thread of
 * use: it holds match data. */
typedef struct weir__tokenizer weir__tokenizer;
int  weir__tokenizer_create(weir__tokenizer **out);
void weir__tokenizer_destroy(weir__tokenizer *t);
/* Appends the words of text[0..len) to *out (realloc'd). */
int  weir__tokenize(weir__tokenizer *t, const char *text, size_t len, weir__doc_words *out);
/* The number of sentences of a line as spaCy's sentencizer counts them
 * (the words are tokens before stripping: whitespace runs count). */
int  weir__count_sentences(weir__tokenizer *t, const char *text, size_t len, size_t *n);

/* The words of every row of a STRING column, computed once and kept with
 * the column's bytes (see weir__buffer_attach), so a second operator on
 * the same column reuses them. NULL rows and invalid rows have no words.
 * `*words` stays valid while the block lives. */
int weir__block_words(const weir_block *b, size_t col, weir__tokenizer *t,
                      const weir__doc_words **words);

/* After a filter copied the rows of `src` with keep[i] into `dst`, gives
 * `dst`'s text column the cached words of those rows. */
void weir__words_carry(const weir_block *src, const weir_block *dst, size_t col,
                       const uint8_t *keep);

/* ---- The operator machinery --------------------------------------------- */

/* One row's outcome. */
typedef struct weir__row_result {
  const char *reason;      /* NULL = passes                                */
  /* A rewritten text (C4, PII): malloc'd, taken by the machinery; NULL =
   * unchanged. */
  char *new_text;
  size_t new_len;
} weir__row_result;

/* An annotation column the operator adds in annotate mode. */
typedef struct weir__annot {
  const char *name;        /* without the prefix                           */
  int type;                /* WEIR_TYPE_FLOAT64, INT64, INT32, STRING      */
} weir__annot;

typedef struct weir__text_kind weir__text_kind;

/* What one call sees: the block, the text column, this worker's state. */
typedef struct weir__text_call {
  const weir__text_kind *kind;
  const void *opts;        /* the operator's options (copied)               */
  void *wstate;            /* the kind's per-worker state                   */
  weir__tokenizer *tok;
  weir_ctx *ctx;
  const weir_block *in;
  weir_column text;        /* the text column                              */
  size_t text_col;
  const weir__doc_words *words; /* when the kind needs words                */
  double *measures;        /* rows x nannot doubles (strings: unused)      */
  char **strs;             /* rows x nannot strings, for STRING annotations */
} weir__text_call;

struct weir__text_kind {
  const char *kind;                 /* "gopher"...                         */
  const char *prefix;               /* default annotation prefix           */
  int default_mode;
  int needs_words;
  int rewrites;                     /* may set new_text                    */
  const weir__annot *annots;
  size_t nannot;
  size_t opts_size;                 /* bytes of the options struct         */
  /* Per-worker state; may be NULL. */
  int  (*worker_init)(const void *opts, void **wstate);
  void (*worker_free)(void *wstate);
  /* Per-block hook before the rows; may be NULL. */
  int  (*block_begin)(weir__text_call *c);
  /* Judges row `row` of text s[0..len) (valid UTF-8), writing its
   * measures into c->measures[row * nannot ...]. */
  int  (*row)(weir__text_call *c, size_t row, const char *s, size_t len,
              weir__row_result *res);
  /* Per-block hook after the rows (extra columns); may be NULL. */
  int  (*block_end)(weir__text_call *c);
  void (*opts_free)(void *opts);    /* frees strings the options copy      */
  /* Whether the annotation columns are added (NULL: in annotate mode). */
  int  (*want_annots)(const void *opts, int mode);
  int no_verdict;                   /* never drops: no pass/reason columns */
  int annots_unprefixed;            /* annotation columns keep their names  */
};

/* Makes the operator of `kind` with options `opts` (its struct, already
 * defaulted and checked, copied by the machinery), reading `common`. */
weir_op *weir__text_op(weir_pipeline *p, weir_op *in, const weir__text_kind *kind,
                       const void *opts, const weir_text_common *common,
                       const weir_op_options *op_opts);

/* A copy of the common options with the defaults filled in. */
void weir__text_common_defaults(weir_text_common *c, const weir__text_kind *kind);

/* Builds `b` minus the rows where keep[i] == 0 (copying), or a new
 * reference when every row is kept. */
int weir__block_keep(const weir_block *b, const uint8_t *keep, size_t kept, weir_block **out);

/* Replaces column `col` of `b` (a STRING column) with new values: rows
 * with texts[i] != NULL get texts[i][0..lens[i]), the others keep theirs. */
int weir__block_replace_strings(const weir_block *b, size_t col, char *const *texts,
                                const size_t *lens, weir_block **out);

/* Hands the rows of `b` that `keep` drops (keep[i] == 0) to the user's
 * `rejected` callback of `common`, with a `reason` column: reasons[i] for
 * dropped row i, or `reason` for every row when `reasons` is NULL. */
int weir__text_send_rejected(const weir_text_common *common, const weir_block *b,
                             const uint8_t *keep, const char *reason,
                             const char *const *reasons);

/* Checks a struct's version field: 0 or > the current one is refused. */
int weir__text_check_version(weir_pipeline *p, const char *fn, unsigned got, unsigned want);

/* A pipeline error for a text operator's constructor (NULL return). */
weir_op *weir__text_fail(weir_pipeline *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif /* WEIR_TEXT_INTERNAL_H */
