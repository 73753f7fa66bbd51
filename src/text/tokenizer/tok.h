/* The tokenizer core's internals: the loaded tokenizer (vocabulary, merges,
 * added tokens and the component chains of tokenizer.json), the per-thread
 * cache, and the functions each component file implements. */
#ifndef WEIR_TEXT_TOKENIZER_TOK_H
#define WEIR_TEXT_TOKENIZER_TOK_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/text.h"

/* ---- Memory ------------------------------------------------------------- */

/* Bump allocator for strings that live as long as the tokenizer. */
typedef struct tok_arena {
  struct tok_arena_blk *blk;
} tok_arena;
void *weir__tok_alloc(tok_arena *a, size_t n);
char *weir__tok_strdup(tok_arena *a, const char *s, size_t len);   /* NUL-terminated */
void  weir__tok_arena_free(tok_arena *a);

/* bytes -> int32 (open addressing; keys borrowed). */
struct tok_ment { uint64_t hash; const char *s; uint32_t len; int32_t id; };
typedef struct tok_map {
  struct tok_ment *e;
  size_t mask, n;
} tok_map;
uint64_t weir__tok_hash(const char *s, size_t len);
int      weir__tok_map_put(tok_map *m, const char *s, size_t len, int32_t id); /* replaces */
int32_t  weir__tok_map_get(const tok_map *m, const char *s, size_t len);       /* -1 */
void     weir__tok_map_free(tok_map *m);

/* (id, id) -> (rank, merged id), the BPE merge table. */
struct tok_pent { uint64_t key; uint32_t rank; int32_t id; };
typedef struct tok_pairs {
  struct tok_pent *e;
  size_t mask, n;
} tok_pairs;
int  weir__tok_pairs_put(tok_pairs *m, int32_t a, int32_t b, uint32_t rank, int32_t id); /* keeps the first */
static inline const struct tok_pent *weir__tok_pairs_get(const tok_pairs *m, int32_t a, int32_t b) {
  if (!m->e)
    return NULL;
  uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  for (size_t i = (size_t)(h >> 20) & m->mask;; i = (i + 1) & m->mask) {
    if (m->e[i].key == key)
      return &m->e[i];
    if (m->e[i].key == UINT64_MAX)
      return NULL;
  }
}
void weir__tok_pairs_free(tok_pairs *m);

/* ---- Components ------------------------------------------------------------ */

enum { TOK_HF = 1, TOK_TIKTOKEN, TOK_SPM };
enum { MODEL_BPE = 1, MODEL_WORDPIECE, MODEL_UNIGRAM, MODEL_WORDLEVEL };

/* Pre-tokenizers, a Sequence flattened. */
enum {
  PT_BYTELEVEL = 1, PT_SPLIT, PT_WHITESPACE, PT_WHITESPACE_SPLIT, PT_PUNCT, PT_METASPACE,
  PT_DIGITS, PT_BERT, PT_CHAR_DELIM
};
/* tokenizers' SplitDelimiterBehavior. */
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
/* Metaspace prepend_scheme. */
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct tok_pretok {
  int kind;
  int behavior, invert;      /* SPLIT, PUNCT, CHAR_DELIM */
  int re;                    /* SPLIT with a regex, BYTELEVEL with use_regex: index in t->re; -1 */
  const char *lit;           /* SPLIT on a string; CHAR_DELIM's char; METASPACE's replacement */
  size_t lit_len;
  int add_prefix_space;      /* BYTELEVEL */
  int prepend, split;        /* METASPACE */
  int individual;            /* DIGITS */
} tok_pretok;

enum { NM_NFC = 1, NM_NFD, NM_NFKC, NM_NFKD, NM_LOWER, NM_STRIP_ACCENTS, NM_REPLACE, NM_BERT,
       NM_STRIP, NM_PREPEND, NM_PRECOMPILED };
typedef struct tok_norm {
  int kind;
  int re;                     /* REPLACE with a regex: index in t->re, else -1 */
  const char *pat, *with;     /* REPLACE: string pattern and content; PREPEND: text */
  size_t pat_len, with_len;
  int clean_text, chinese, strip_accents, lowercase;  /* BERT (strip_accents: -1 = follow lowercase) */
  int left, right;            /* STRIP */
} tok_norm;

enum { DEC_BYTELEVEL = 1, DEC_WORDPIECE, DEC_METASPACE, DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_FUSE,
       DEC_STRIP, DEC_BPE };
typedef struct tok_dec {
  int kind;
  const char *a, *b;          /* REPLACE: pattern, content; WORDPIECE: prefix; METASPACE: replacement; BPE: suffix */
  size_t a_len, b_len;
  int cleanup, prepend;       /* WORDPIECE cleanup; METASPACE prepend scheme */
  int start, stop;            /* STRIP */
} tok_dec;

/* TemplateProcessing (also Bert/Roberta processors, written as templates). */
typedef struct tok_post {
  int present;
  int32_t *single;            /* ids, with -1 where the sequence goes */
  size_t nsingle;
} tok_post;

typedef struct tok_added {
  const char *content;
  size_t len;
  int32_t id;
  int special, single_word, lstrip, rstrip, normalized;
} tok_added;

enum { TF_SPECIAL = 1, TF_ADDED = 2 };

struct weir_tokenizer {
  int kind, model;
  char *path;
  size_t size;               /* ids are [0, size) */
  const char **spell;        /* per id: the vocabulary's spelling (NUL-terminated) or NULL */
  uint32_t *spell_len;
  const char **raw;          /* per id: the bytes the model produces for it (byte level: unmapped) */
  uint32_t *raw_len;
  uint8_t *flags;            /* per id: TF_* */
  tok_map spell_map;         /* spelling -> id, added tokens included */
  tok_map model_map;         /* the model's key (raw bytes) -> id, model vocabulary only */
  tok_pairs merges;
  int byte_level;            /* BPE runs on raw bytes (ByteLevel pre-tokenizer / tiktoken) */
  int32_t byte_id[256];      /* byte level: the id of each single byte, -1 */
  /* BPE */
  int32_t unk;               /* the model's unk token id, -1 */
  const char *cont_prefix, *eow_suffix;
  size_t cont_prefix_len, eow_suffix_len;
  int fuse_unk, byte_fallback, ignore_merges;
  int32_t byte_fallback_id[256];
  /* WordPiece: max_input_chars_per_word; Unigram: the longest piece's bytes */
  size_t max_chars;
  /* Unigram */
  double *scores;
  double min_score;
  int unigram_byte_fallback;
  /* added tokens */
  tok_added *added;
  size_t nadded;
  uint8_t added_first[256];  /* bytes that start an added token */
  size_t added_max_len;
  int any_normalized_added;
  /* chains */
  tok_norm *norms;
  size_t nnorms;
  tok_pretok *pretoks;
  size_t npretoks;
  tok_post post;
  tok_dec *decs;
  size_t ndecs;
  int has_decoder;
  pcre2_code **re;
  size_t nre;
  uint64_t re_space_cut;     /* bit i: t->re[i] is a split regex known to cut before " x" (stream_cut.c) */
  int simple_re;             /* the pre-tokenizer chain is this one regex, isolated; -1 */
  int32_t bos, eos, pad, unk_tok;
  struct weir__spm *spm;     /* SentencePiece (spm.cc) */
  /* the model's encoder of one piece, and the normalizer chain's runner
   * (NULL: no normalizer), set by the loader */
  int (*word)(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout);
  int (*normalize)(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len);
  tok_arena arena;
};

/* ---- The per-thread cache -------------------------------------------------- */

/* A piece of text being pre-tokenized: bytes [off, off+len) of the work
 * buffer, with `pre` bytes of a prefix (a space added by ByteLevel) that
 * has no source in the input. */
typedef struct tok_piece {
  size_t off, len;
  int pre;
} tok_piece;

struct tok_went { uint64_t hash; uint32_t key, klen, ids, nids; };
struct tok_seg { size_t s, e; int m; };

struct weir_tokenizer_cache {
  const weir_tokenizer *t;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  pcre2_jit_stack *jit;
  /* the word cache: piece bytes -> ids and token byte lengths */
  struct tok_went *wc;
  size_t wc_mask, wc_n;
  char *wc_keys;
  size_t wc_keys_len, wc_keys_cap;
  int32_t *wc_ids;
  uint32_t *wc_lens;
  size_t wc_ids_len, wc_ids_cap, wc_lens_cap;
  /* output */
  int32_t *ids;
  size_t *offs;
  size_t n, cap;
  /* scratch */
  char *work;                /* the normalized text */
  size_t work_len, work_cap;
  size_t *align;             /* per work byte: its source [start, end) in the input (2 values), or NULL = identity */
  size_t align_cap;
  int use_align;
  char *work2;
  size_t work2_cap;
  size_t *align2;
  size_t align2_cap;
  tok_piece *pieces, *pieces2;
  size_t npieces, pieces_cap, pieces2_cap;
  struct tok_seg *segs;      /* a piece's matches and gaps */
  size_t segs_cap;
  char *pbuf;                /* a piece with its prefix, contiguous */
  size_t pbuf_cap;
  char *fixed;               /* input with invalid UTF-8 replaced */
  size_t fixed_cap;
  size_t *fixed_map;         /* per fixed byte: its input offset */
  size_t fixed_map_cap;
  /* model scratch */
  int32_t *sym;              /* BPE symbols */
  uint32_t *sym_len;
  size_t sym_cap;
  void *heap;
  size_t heap_cap;
  double *dbl;
  size_t dbl_cap;
  int32_t *tmp_ids;
  uint32_t *tmp_lens;
  size_t tmp_cap;
};

/* ---- Functions by file ----------------------------------------------------- */

/* errors (tokenizer.c) */
int weir__tok_err(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* hf_load.c: tokenizer.json */
int weir__tok_load_hf(weir_tokenizer *t, const char *path);
/* tiktoken.c */
int weir__tok_load_tiktoken(weir_tokenizer *t, const char *path, const weir_tokenizer_options *o);
/* spm.cc / spm_absent.c */
int  weir__tok_load_spm(weir_tokenizer *t, const char *path);
void weir__spm_free(struct weir__spm *s);
int  weir__spm_encode(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len, unsigned flags);
int  weir__spm_decode(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out, size_t *len);

/* vocab.c: ids, spellings, byte-level mapping */
int  weir__tok_set_size(weir_tokenizer *t, size_t size);
int  weir__tok_set_token(weir_tokenizer *t, int32_t id, const char *s, size_t len);
/* GPT-2's bytes_to_unicode: the code point standing for byte b. */
uint32_t weir__bytelevel_char(unsigned b);
/* Undoes bytes_to_unicode on s (UTF-8); returns the byte count written to
 * out (room for len bytes), or -1 when a character is not in the map. */
long weir__bytelevel_unmap(const char *s, size_t len, char *out);
size_t weir__utf8_put(char *o, uint32_t c);

/* regex.c */
/* Compiles a split regex (onig: written for Oniguruma, as tokenizer.json's
 * are; else for tiktoken's fancy-regex); returns its index or < 0. */
int weir__tok_regex_add(weir_tokenizer *t, const char *pat, size_t len, const char *who, int onig);
extern const char weir__re_gpt2[], weir__re_cl100k[], weir__re_o200k[], weir__re_p50k[];

/* added.c: splitting the text on added tokens */
int weir__tok_added_finish(weir_tokenizer *t);
/* Drops pre-tokenizers that split nothing and notes a chain that is one
 * isolating regex (pretok.c). */
void weir__tok_pretok_finish(weir_tokenizer *t);
/* Finds the next added token in s[from..len) usable for `pass` (0 = not
 * normalized ones, 1 = normalized ones): returns 1 and its extent
 * [*ms, *me) (lstrip/rstrip applied) and index, or 0. */
int weir__tok_added_next(const weir_tokenizer *t, const char *s, size_t len, size_t from, int pass,
                         size_t *ms, size_t *me, size_t *which);

/* pretok.c */
/* Splits c->work[start..end) into c->pieces. */
int weir__tok_pretokenize(const weir_tokenizer *t, weir_tokenizer_cache *c, size_t start, size_t end, int first);
const char *weir__tok_piece_bytes(weir_tokenizer_cache *c, size_t i, size_t *len);
/* normalize.c */
/* Normalizes s[0..len) into c->work with c->align (source ranges
 * relative to s), c->use_align = 1. */
int weir__tok_normalize(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len);
int weir__tok_norm_check(const tok_norm *n);

/* models: append a piece's tokens to c->tmp_ids / tmp_lens (lengths in piece bytes). */
int weir__bpe_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout);
int weir__wordpiece_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout);
int weir__wordlevel_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout);
int weir__unigram_word(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *s, size_t len, size_t *nout);
int weir__tok_tmp_reserve(weir_tokenizer_cache *c, size_t n);

/* decode.c */
int weir__tok_decode_hf(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                        char **out, size_t *len);

/* stream_cut.c: where a text may be cut so that its pieces encode to
 * the ids of the whole (weir_chunk_stream by tokens). */
/* 1 when the pattern (as written in tokenizer.json or for tiktoken) is one
 * of the split regexes whose cut before " x" stream_cut.c proves. */
int weir__tok_regex_space_cut(const char *pat, size_t len);

/* output (encode.c) */
int weir__tok_out_push(weir_tokenizer_cache *c, int32_t id, size_t s, size_t e);

#endif
