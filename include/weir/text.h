/* Text preparation for LLM data: row filters, document ids, PII redaction,
 * language identification and the Gopher / C4 / FineWeb quality rules of
 * DataTrove, as pipeline operators.
 *
 * Every operator here reads a UTF-8 string column (`text` unless its
 * options name another) and works in one of two modes:
 *   - filter (the default of the quality filters and of language id): rows
 *     that fail are dropped, counted per reason in the operator's
 *     statistics (`dropped_rows` and the counters "dropped:<reason>", see
 *     weir_ctx_count_dropped) and in the summary table; a `rejected`
 *     callback, when set, receives them with their reason;
 *   - annotate: every row passes, with columns added: the measurements,
 *     `<prefix>pass` (BOOL) and `<prefix>reason` (STRING, "" on a pass).
 * A row whose text is null or not valid UTF-8 is malformed: with
 * WEIR_ON_ERROR_FAIL (the default) the run ends with a message naming the
 * operator and the row; with WEIR_ON_ERROR_SKIP it is dropped and counted
 * as skipped. Documents of 0 bytes are ordinary documents.
 *
 * The analysis of a document (its words by the English word tokenizer) is
 * computed once per block and kept with the text column's bytes, so the
 * quality operators that follow each other in a pipeline share it.
 *
 * Option structs follow weir's rules: `version` first, an _INIT macro, new
 * fields at the end; passing NULL means the documented defaults. Operators
 * are owned by the pipeline; a NULL `in` makes them return NULL with the
 * reason in weir_pipeline_errmsg(). */
#ifndef WEIR_TEXT_H
#define WEIR_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/io.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* Frees memory weir allocated for the caller (token ids, a hex digest).
 * Accepts NULL. */
WEIR_EXTERN void weir_free(void *ptr);

/* ---- Filters ------------------------------------------------------------ */

/* Fills keep[0..rows) with 1 (keep) or 0 (drop) for the rows of `b`, on a
 * worker thread (several at once: `user` must be safe to share). Returns
 * WEIR_OK or an error, which ends the run. */
typedef int (*weir_filter_fn)(void *user, const weir_block *b, uint8_t *keep);

/* Keeps the rows for which `fn` says 1. Dropped rows are counted in the
 * operator's `dropped_rows` (reason "filter"). `name` may be NULL
 * ("filter"). */
WEIR_EXTERN weir_op *weir_filter(weir_pipeline *p, weir_op *in, const char *name,
                                 weir_filter_fn fn, void *user);

/* Keeps the rows that satisfy `expr`, without code: comparisons of a
 * column with a constant joined by `and` / `or` (no parentheses; `and`
 * binds tighter), e.g. "gopher_pass == true",
 * "lang == 'en' and lang_score > 0.65", "pii_count = 0 or keep != 0".
 * Operators: == = != < <= > >=. Constants: numbers, true/false, and
 * 'quoted' or "quoted" strings (== and != only). Columns: BOOL, INT32,
 * INT64, FLOAT32, FLOAT64, STRING. A null value fails every comparison. A
 * malformed expression makes this return NULL; a column missing from a
 * block or of another type ends the run naming it. Dropped rows are
 * counted with the expression as the reason. */
WEIR_EXTERN weir_op *weir_filter_where(weir_pipeline *p, weir_op *in, const char *expr);

/* ---- What every text operator shares ------------------------------------ */

enum {
  WEIR_TEXT_FILTER = 0,      /* drop what fails (counted per reason)       */
  WEIR_TEXT_ANNOTATE = 1     /* keep every row; add measurement columns    */
};

/* Receives the rows an operator dropped, for inspection: a block with the
 * input's columns plus `reason` (STRING). Takes the block (unref it). On a
 * worker thread; several at once. */
typedef void (*weir_text_rejected_fn)(void *user, weir_block *rejected);

typedef struct weir_text_common {
  const char *column;        /* the text column; NULL = "text"            */
  int         mode;          /* WEIR_TEXT_FILTER or WEIR_TEXT_ANNOTATE     */
  int         on_error;      /* WEIR_ON_ERROR_*: null or invalid UTF-8     */
  const char *prefix;        /* of annotation columns; NULL = the
                                operator's ("gopher_", "c4_"...)           */
  const char *name;          /* the operator's name; NULL = its kind       */
  weir_text_rejected_fn rejected; /* NULL = dropped rows are only counted */
  void       *rejected_user;
  int         max_workers;   /* 0 = as many as the scheduler likes         */
} weir_text_common;
#define WEIR_TEXT_COMMON_INIT { NULL, WEIR_TEXT_FILTER, WEIR_ON_ERROR_FAIL, NULL, NULL, NULL, NULL, 0 }

/* ---- Document ids -------------------------------------------------------- */

enum {
  WEIR_DOC_HASH_SHA256 = 0,  /* 64 lowercase hex digits, as DPK's doc_id   */
  WEIR_DOC_HASH_XXH64 = 1,   /* 16 hex digits (XXH64, seed 0, big-endian
                                digits as xxhash's hexdigest)              */
  WEIR_DOC_HASH_XXH128 = 2,  /* 32 hex digits (XXH3-128, seed 0)           */
  WEIR_DOC_HASH_NONE = 3     /* no hash column                            */
};

#define WEIR_DOC_ID_OPTIONS_VERSION 1
/* Adds a content hash of the raw UTF-8 bytes of the text column (no
 * normalisation) and a 64-bit integer id. The integer ids are consecutive
 * from `start_id` in input order: the operator keeps its input in the order
 * of the read tasks (preserve_order) and numbers rows in one worker, so the
 * same input and options give the same ids, and no two rows get the same
 * id. Nulls in the text column hash as the empty string. */
typedef struct weir_doc_id_options {
  unsigned    version;
  weir_text_common common;   /* mode and rejected do not apply            */
  int         hash;          /* WEIR_DOC_HASH_*                            */
  const char *hash_column;   /* NULL = "doc_hash"                         */
  const char *int_column;    /* NULL = "doc_id"; "" = no integer column   */
  uint64_t    start_id;      /* first integer id; default 0               */
} weir_doc_id_options;
#define WEIR_DOC_ID_OPTIONS_INIT \
  { WEIR_DOC_ID_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, WEIR_DOC_HASH_SHA256, NULL, NULL, 0 }
WEIR_EXTERN weir_op *weir_text_doc_id(weir_pipeline *p, weir_op *in,
                                      const weir_doc_id_options *o);

/* The hex digest of `len` bytes with a WEIR_DOC_HASH_* function into
 * `hex` (65 bytes hold any of them). WEIR_ENOTSUP for XXH128/XXH64 in a
 * build without libxxhash. */
WEIR_EXTERN int weir_text_hash_hex(int hash, const void *data, size_t len, char *hex);

/* ---- PII ----------------------------------------------------------------- */

enum {                        /* entity types, as bits of `types`          */
  WEIR_PII_EMAIL       = 1 << 0,
  WEIR_PII_IPV4        = 1 << 1,
  WEIR_PII_IPV6        = 1 << 2,
  WEIR_PII_PHONE       = 1 << 3,  /* North American and +country numbers,
                                     with separators                      */
  WEIR_PII_CREDIT_CARD = 1 << 4,  /* 13-19 digits, Luhn-checked, known IIN */
  WEIR_PII_IBAN        = 1 << 5,  /* country length and mod-97 checked     */
  WEIR_PII_SSN         = 1 << 6,  /* US ddd-dd-dddd, never-issued areas,
                                     groups and serials left out           */
  WEIR_PII_URL_CREDENTIALS = 1 << 7, /* the user:password of scheme://user:password@host */
  WEIR_PII_CLOUD_KEY   = 1 << 8,  /* AWS access key ids, Google API keys,
                                     GitHub and Slack tokens              */
  WEIR_PII_ALL         = (1 << 9) - 1
};

#define WEIR_PII_OPTIONS_VERSION 1
/* Replaces each entity found in the text column with its tag ("<EMAIL>",
 * "<IP_ADDRESS>" for both IP versions, "<PHONE>", "<CREDIT_CARD>",
 * "<IBAN>", "<SSN>", "<URL_CREDENTIALS>" for the user:password part
 * only, "<CLOUD_KEY>"), or with `replacement` when set. Counts per type go
 * to the operator's counters ("email", "ipv4", "ipv6", "phone",
 * "credit_card", "iban", "ssn", "url_credentials", "cloud_key";
 * "docs_redacted"); with `count_columns`, also to INT32 columns
 * `<prefix><type>` ("pii_email"...). With mode WEIR_TEXT_ANNOTATE the
 * text is left as it is and only counted. Rows are never dropped.
 * Detection: PCRE2 patterns, then checks (Luhn, IBAN mod 97, address
 * parsing); a dotted quad after "version", "v" or "release", or inside a
 * longer dotted number, is a version, not an address. */
typedef struct weir_pii_options {
  unsigned    version;
  weir_text_common common;   /* prefix default "pii_"                      */
  unsigned    types;         /* WEIR_PII_* bits; 0 = WEIR_PII_ALL          */
  const char *replacement;   /* NULL = the tag of the type                 */
  int         public_ips_only; /* 1 = leave private, loopback, link-local,
                                shared, multicast, reserved and
                                documentation addresses, as DataTrove's
                                only_remove_public_ips; default 0           */
  int         count_columns; /* 1 = add the per-type count columns          */
} weir_pii_options;
#define WEIR_PII_OPTIONS_INIT \
  { WEIR_PII_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, 0, NULL, 0, 0 }
WEIR_EXTERN weir_op *weir_text_pii_redact(weir_pipeline *p, weir_op *in,
                                          const weir_pii_options *o);

/* One entity found by the PII scanner: its type bit and byte range. */
typedef struct weir_pii_match {
  unsigned type;
  size_t   start, end;
} weir_pii_match;
/* Scans text[0..len) (valid UTF-8) for the entities of `o` (NULL =
 * defaults) and returns them in text order, without overlaps, in
 * `*matches` (freed with weir_free()). Any thread. */
WEIR_EXTERN int weir_pii_scan(const weir_pii_options *o, const char *text, size_t len,
                              weir_pii_match **matches, size_t *n);

/* ---- Language id ---------------------------------------------------------- */

enum {
  WEIR_LANG_AUTO = 0,        /* fastText when model_path is set, else CLD2 */
  WEIR_LANG_CLD2 = 1,        /* libcld2 (no model file)                    */
  WEIR_LANG_FASTTEXT = 2     /* a fastText .bin or .ftz model              */
};

#define WEIR_LANG_ID_OPTIONS_VERSION 1
/* Identifies the language of each document and annotates `lang` (CLD2:
 * its ISO 639-1 code, e.g. "en"; fastText: the model's label without
 * "__label__", e.g. "en" or "eng_Latn") and `lang_score` (FLOAT64: CLD2's
 * percent of the text in that language over 100; fastText's probability).
 * As DataTrove's LanguageFilter, newlines become spaces before a fastText
 * prediction. In filter mode (the default) a row is kept when one of
 * `languages` (any, when NULL) scores strictly above `threshold`, and it
 * is then annotated with that language; reasons "lang_below_threshold"
 * (the best wanted language scores too low) and "lang_not_wanted" (none
 * of `languages` was predicted at all). The model is loaded once per
 * operator and shared by its workers. */
typedef struct weir_lang_id_options {
  unsigned    version;
  weir_text_common common;
  int         backend;       /* WEIR_LANG_*                                */
  const char *model_path;    /* fastText model                            */
  const char *languages;     /* comma-separated labels; NULL = any         */
  double      threshold;     /* 0 = 0.65 (DataTrove); < 0 = none           */
  const char *lang_column;   /* NULL = "lang"                             */
  const char *score_column;  /* NULL = "lang_score"                       */
} weir_lang_id_options;
#define WEIR_LANG_ID_OPTIONS_INIT \
  { WEIR_LANG_ID_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, WEIR_LANG_AUTO, NULL, NULL, 0, NULL, NULL }
WEIR_EXTERN weir_op *weir_text_lang_id(weir_pipeline *p, weir_op *in,
                                       const weir_lang_id_options *o);

/* A fastText model read and evaluated by weir's own code: supervised
 * models (softmax, hierarchical softmax, one-vs-all losses; word n-grams
 * and character n-grams), dense .bin and quantized .ftz. */
typedef struct weir_fasttext weir_fasttext;
/* WEIR_EFORMAT for a file that is not a fastText model (or not a
 * supervised one), naming the file. */
WEIR_EXTERN int  weir_fasttext_load(const char *path, weir_fasttext **out);
WEIR_EXTERN void weir_fasttext_free(weir_fasttext *m);
WEIR_EXTERN int  weir_fasttext_num_labels(const weir_fasttext *m);
/* Label i with its "__label__" prefix, as fastText prints it. */
WEIR_EXTERN const char *weir_fasttext_label(const weir_fasttext *m, int i);
/* Predicts as the `fasttext` Python package's predict(text, k): text is
 * one line (no '\n'), k <= 0 means every label. Writes up to k (or
 * num_labels) label indices and probabilities, most probable first, and
 * returns how many (hierarchical softmax leaves out labels below 1e-5, as
 * fastText does), or a negative error. Any thread, on a shared model. */
WEIR_EXTERN int  weir_fasttext_predict(const weir_fasttext *m, const char *text, size_t len,
                                       int k, int *labels, double *probs);

/* ---- Tokenizers (issue 16: the tokenizer core) ---------------------------- */

/* A tokenizer loaded from a Hugging Face `tokenizer.json`, a tiktoken rank
 * file (`.tiktoken`) or a SentencePiece model (`.model`), giving the same
 * ids as the `tokenizers`, `tiktoken` and `sentencepiece` packages.
 *
 * Threads: a loaded tokenizer is immutable; every function taking a
 * `const weir_tokenizer *` may be called from any number of threads at
 * once on the same tokenizer. A weir_tokenizer_cache (the word cache and
 * scratch memory of one caller) belongs to one thread at a time: give each
 * worker its own. weir_tokenizer_free() must not race with any other call
 * on the same tokenizer or with a live cache made from it.
 *
 * Components that weir does not implement are refused at load with
 * WEIR_ENOTSUP and a message (weir_last_errmsg()) naming the component,
 * never silently approximated. */
typedef struct weir_tokenizer weir_tokenizer;
typedef struct weir_tokenizer_cache weir_tokenizer_cache;

/* How a `.tiktoken` file (which holds only ranks) is completed. */
typedef struct weir_tokenizer_options {
  unsigned version;             /* WEIR_TOKENIZER_OPTIONS_VERSION */
  /* tiktoken: the split regex (PCRE2 syntax as tiktoken writes it), or one
   * of the names "gpt2", "r50k_base", "p50k_base", "cl100k_base",
   * "o200k_base". NULL: the name of the file's encoding when its base name
   * starts with one of those names (e.g. cl100k_base.tiktoken), else
   * cl100k_base's pattern. Ignored for tokenizer.json and .model files. */
  const char *pattern;
  /* tiktoken: special tokens and their ids. NULL with a known encoding
   * name (above): that encoding's special tokens (e.g. <|endoftext|>). */
  const char *const *special_tokens;
  const int32_t *special_ids;
  size_t num_special;
} weir_tokenizer_options;
#define WEIR_TOKENIZER_OPTIONS_VERSION 1
#define WEIR_TOKENIZER_OPTIONS_INIT { WEIR_TOKENIZER_OPTIONS_VERSION, NULL, NULL, NULL, 0 }

/* Loads the tokenizer at `path`, chosen by its name: `*.json` is a Hugging
 * Face tokenizer.json (a `tokenizer_config.json` beside it, when present,
 * names the BOS and EOS tokens), `*.tiktoken` a tiktoken rank file,
 * `*.model` a SentencePiece model. Returns WEIR_OK, WEIR_ENOTFOUND (no
 * file), WEIR_EFORMAT (malformed, with the place), WEIR_ENOTSUP (a
 * component weir does not implement, named), WEIR_ENOMEM; the message is
 * in weir_last_errmsg(). Any thread. */
WEIR_EXTERN int  weir_tokenizer_load(const char *path, weir_tokenizer **out);
/* The same with options (NULL = the defaults of weir_tokenizer_load). */
WEIR_EXTERN int  weir_tokenizer_load_ex(const char *path, const weir_tokenizer_options *o,
                                        weir_tokenizer **out);
/* Frees a tokenizer; accepts NULL. */
WEIR_EXTERN void weir_tokenizer_free(weir_tokenizer *t);

/* Flags of the encode calls. */
enum {
  /* Runs the post-processor, as `tokenizers`' add_special_tokens=True:
   * a template's BOS/EOS (BERT's [CLS] ... [SEP]). tiktoken and
   * SentencePiece files have no post-processor: no effect (their
   * packages add nothing either; use weir_tokenizer_bos_id/eos_id). */
  WEIR_TOKENIZE_ADD_SPECIAL = 1u << 0,
  /* Added and special tokens written in the text are ordinary text
   * (tiktoken's encode_ordinary, tokenizers' split_special_tokens). */
  WEIR_TOKENIZE_SPLIT_SPECIAL = 1u << 1,
  /* Invalid UTF-8 reads as U+FFFD per maximal bad subsequence (Python's
   * bytes.decode('utf-8', 'replace')) instead of failing with
   * WEIR_EFORMAT. */
  WEIR_TOKENIZE_REPLACE_INVALID = 1u << 2
};

/* Encodes text[0..len) (UTF-8) into token ids as `tokenizers`'
 * Tokenizer.encode(text).ids with its defaults (add_special_tokens=True),
 * tiktoken's encode(text, allowed_special="all"), or SentencePiece's
 * encode(text). *ids is allocated (freed with weir_free(); NULL when *n is
 * 0). Invalid UTF-8 fails with WEIR_EFORMAT naming the byte offset. Any
 * thread; it makes a cache for the call (use a cache for speed). */
WEIR_EXTERN int  weir_tokenizer_encode(const weir_tokenizer *t, const char *text, size_t len,
                                       int32_t **ids, size_t *n);

/* A per-thread cache: pre-token -> ids memo, scratch buffers, regex match
 * data. Made for one tokenizer; used by one thread at a time. */
WEIR_EXTERN int  weir_tokenizer_cache_create(const weir_tokenizer *t, weir_tokenizer_cache **out);
WEIR_EXTERN void weir_tokenizer_cache_destroy(weir_tokenizer_cache *c);  /* accepts NULL */

/* Encodes with `flags` (WEIR_TOKENIZE_*) using cache `c` (made for `t`),
 * allocation-free once the cache is warm. *ids (and *offsets, when
 * `offsets` is not NULL: 2 * *n values, each token's byte range
 * [start, end) in `text`) point into the cache and stay valid until its
 * next use. A token the post-processor added has the range [0, 0), or
 * [len, len) at the end. Returns WEIR_OK, WEIR_EFORMAT (invalid UTF-8,
 * message naming the offset), WEIR_ENOMEM, WEIR_EINVAL. */
WEIR_EXTERN int  weir_tokenizer_encode_cached(const weir_tokenizer *t, weir_tokenizer_cache *c,
                                              const char *text, size_t len, unsigned flags,
                                              const int32_t **ids, const size_t **offsets,
                                              size_t *n);
/* Encodes into the caller's ids[0..cap): *n is the number of tokens of the
 * whole text, as snprintf; when *n > cap only the first cap were written.
 * Otherwise as weir_tokenizer_encode_cached. */
WEIR_EXTERN int  weir_tokenizer_encode_into(const weir_tokenizer *t, weir_tokenizer_cache *c,
                                            const char *text, size_t len, unsigned flags,
                                            int32_t *ids, size_t cap, size_t *n);

/* Decodes ids back to text as `tokenizers`' decode(ids,
 * skip_special_tokens=skip_special) (the decoder of tokenizer.json: byte
 * level, WordPiece's ##, Metaspace's ▁...), tiktoken's decode (bytes that
 * are not UTF-8 read as U+FFFD) or SentencePiece's decode. *text is
 * NUL-terminated, freed with weir_free(); *len (may be NULL) its length.
 * An id outside the vocabulary is WEIR_EINVAL naming it. Any thread. */
WEIR_EXTERN int  weir_tokenizer_decode(const weir_tokenizer *t, const int32_t *ids, size_t n,
                                       int skip_special, char **text, size_t *len);

/* Number of ids, added tokens included (tokenizers' get_vocab_size(True)):
 * every id is in [0, size). */
WEIR_EXTERN size_t  weir_tokenizer_vocab_size(const weir_tokenizer *t);
/* The id of a token as the vocabulary spells it (byte-level BPE: "Ġthe"),
 * added tokens included; WEIR_ENOTFOUND when there is none. */
WEIR_EXTERN int32_t weir_tokenizer_token_to_id(const weir_tokenizer *t, const char *token, size_t len);
/* The vocabulary's spelling of `id` (not NUL-terminated: *len bytes;
 * `len` may be NULL), or NULL when no token has that id. Valid while `t`
 * lives. */
WEIR_EXTERN const char *weir_tokenizer_id_to_token(const weir_tokenizer *t, int32_t id, size_t *len);
/* 1 when `id` is a special token (skipped by decode with skip_special). */
WEIR_EXTERN int     weir_tokenizer_is_special(const weir_tokenizer *t, int32_t id);
/* The beginning- and end-of-sequence ids, and the padding and unknown
 * ones, or -1 when the tokenizer has none. Taken from, in order:
 * tokenizer_config.json beside a tokenizer.json (bos_token, eos_token,
 * pad_token, unk_token), the template post-processor (its first special
 * token before $A, its last after), the model's unk token, then
 * well-known added tokens (<s> </s>, <|begin_of_text|> <|end_of_text|>,
 * <|endoftext|> as EOS, [CLS] [SEP] [PAD] [UNK], <pad> <unk>). A
 * SentencePiece model's own ids; a tiktoken encoding's <|endoftext|>. */
WEIR_EXTERN int32_t weir_tokenizer_bos_id(const weir_tokenizer *t);
WEIR_EXTERN int32_t weir_tokenizer_eos_id(const weir_tokenizer *t);
WEIR_EXTERN int32_t weir_tokenizer_pad_id(const weir_tokenizer *t);
WEIR_EXTERN int32_t weir_tokenizer_unk_id(const weir_tokenizer *t);

/* ---- End of tokenizers ----------------------------------------------------- */

/* ---- DataTrove's quality filters ------------------------------------------ */

#define WEIR_GOPHER_OPTIONS_VERSION 1
/* GopherQualityFilter with DataTrove's defaults. Reasons: gopher_short_doc,
 * gopher_long_doc, gopher_below_avg_threshold, gopher_above_avg_threshold,
 * gopher_too_many_hashes, gopher_too_many_ellipsis,
 * gopher_too_many_bullets, gopher_too_many_end_ellipsis,
 * gopher_below_alpha_threshold, gopher_enough_stop_words. A negative
 * threshold switches its rule off. Annotations (prefix "gopher_"):
 * n_words, avg_word_length, hash_ratio, ellipsis_ratio, bullet_lines_ratio,
 * end_ellipsis_ratio, alpha_ratio, stop_words. */
typedef struct weir_gopher_options {
  unsigned version;
  weir_text_common common;
  double min_doc_words;          /* 50     */
  double max_doc_words;          /* 100000 */
  double min_avg_word_length;    /* 3      */
  double max_avg_word_length;    /* 10     */
  double max_symbol_word_ratio;  /* 0.1    */
  double max_bullet_lines_ratio; /* 0.9    */
  double max_ellipsis_lines_ratio; /* 0.3  */
  double max_non_alpha_words_ratio; /* 0.8: at least this share of words
                                       has a letter                        */
  double min_stop_words;         /* 2      */
} weir_gopher_options;
#define WEIR_GOPHER_OPTIONS_INIT \
  { WEIR_GOPHER_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, 50, 100000, 3, 10, 0.1, 0.9, 0.3, 0.8, 2 }
WEIR_EXTERN weir_op *weir_text_quality_gopher(weir_pipeline *p, weir_op *in,
                                              const weir_gopher_options *o);

#define WEIR_GOPHER_REPETITION_OPTIONS_VERSION 1
/* GopherRepetitionFilter with DataTrove's defaults (Gopher, table A1).
 * Reasons: dup_para_frac, dup_para_char_frac, dup_line_frac,
 * dup_line_char_frac, top_<n>_gram, duplicated_<n>_n_grams. n-gram thresholds for n = 2..4 (top) and
 * n = 5..10 (duplicated); a negative one switches it off. Annotations
 * (prefix "gopher_rep_"): dup_para_frac, dup_para_char_frac,
 * dup_line_frac, dup_line_char_frac, top_2_gram ... top_4_gram,
 * dup_5_gram ... dup_10_gram. */
typedef struct weir_gopher_repetition_options {
  unsigned version;
  weir_text_common common;
  double dup_line_frac;          /* 0.3 */
  double dup_para_frac;          /* 0.3 */
  double dup_line_char_frac;     /* 0.2 */
  double dup_para_char_frac;     /* 0.2 */
  double top_n_grams[3];         /* n = 2, 3, 4: 0.20, 0.18, 0.16 */
  double dup_n_grams[6];         /* n = 5..10: 0.15 .. 0.10 */
} weir_gopher_repetition_options;
#define WEIR_GOPHER_REPETITION_OPTIONS_INIT                                    \
  { WEIR_GOPHER_REPETITION_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, 0.3, 0.3, 0.2, 0.2, \
    {0.20, 0.18, 0.16}, {0.15, 0.14, 0.13, 0.12, 0.11, 0.10} }
WEIR_EXTERN weir_op *weir_text_quality_gopher_repetition(
    weir_pipeline *p, weir_op *in, const weir_gopher_repetition_options *o);

#define WEIR_C4_OPTIONS_VERSION 1
/* C4QualityFilter with DataTrove's defaults (split_paragraph: the rules
 * apply to lines). It also rewrites the text of
 * the documents it keeps: the lines that fail a line rule are removed, as
 * C4 does (in annotate mode too, unless `keep_text`). Document reasons:
 * lorem_ipsum, curly_bracket, too_few_sentences. Line removals are counted
 * per rule (counters "line:too_long_word", "line:no_terminal_punct",
 * "line:too_few_words", "line:javascript", "line:policy"). Annotations
 * (prefix "c4_"): lines_removed, sentences. */
typedef struct weir_c4_options {
  unsigned version;
  weir_text_common common;
  int    remove_citations;         /* 1 */
  int    filter_no_terminal_punct; /* 1 */
  int    min_num_sentences;        /* 5; < 0 = off */
  int    min_words_per_line;       /* 3; < 0 = off */
  int    max_word_length;          /* 1000; < 0 = off */
  int    filter_lorem_ipsum;       /* 1 */
  int    filter_javascript;        /* 1 */
  int    filter_curly_bracket;     /* 1 */
  int    filter_policy;            /* 1 */
  int    keep_text;                /* 1 = never rewrite the text          */
} weir_c4_options;
#define WEIR_C4_OPTIONS_INIT \
  { WEIR_C4_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, 1, 1, 5, 3, 1000, 1, 1, 1, 1, 0 }
WEIR_EXTERN weir_op *weir_text_quality_c4(weir_pipeline *p, weir_op *in,
                                          const weir_c4_options *o);

#define WEIR_FINEWEB_OPTIONS_VERSION 1
/* FineWebQualityFilter with DataTrove's defaults. Reasons: empty,
 * line_punct_ratio, short_line_ratio, char_dup_ratio, list_ratio.
 * Annotations (prefix "fineweb_"): line_punct_ratio, short_line_ratio,
 * char_dup_ratio, list_ratio. */
typedef struct weir_fineweb_options {
  unsigned version;
  weir_text_common common;
  double line_punct_thr;         /* 0.12 */
  int    line_punct_exclude_zero;/* 0 */
  double short_line_thr;         /* 0.67 */
  int    short_line_length;      /* 30 */
  double char_duplicates_ratio;  /* 0.01 */
  double new_line_ratio;         /* 0.3 */
} weir_fineweb_options;
#define WEIR_FINEWEB_OPTIONS_INIT \
  { WEIR_FINEWEB_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, 0.12, 0, 0.67, 30, 0.01, 0.3 }
WEIR_EXTERN weir_op *weir_text_quality_fineweb(weir_pipeline *p, weir_op *in,
                                               const weir_fineweb_options *o);

/* The words of text[0..len) by weir's English word tokenizer (equivalent to
 * DataTrove's: spaCy's blank English tokenizer, tokens stripped, empty
 * ones dropped), as byte ranges: starts[i], lens[i]. Returns the number of
 * words; *starts and *lens are freed with weir_free(). For tests and
 * tools. */
WEIR_EXTERN int weir_text_words(const char *text, size_t len, size_t **starts,
                                size_t **lens, size_t *n);

/* ---- Exact deduplication (issue 15) --------------------------------------- */

enum {
  WEIR_DEDUP_NORM_DPK = 0,   /* Data Prep Kit's ededup: spaces (U+0020) and
                                newlines removed, lowercased (Python's
                                str.lower(): Unicode simple lowercase, and
                                U+0130 to "i" U+0307), ASCII punctuation
                                (Python's string.punctuation) removed      */
  WEIR_DEDUP_NORM_NONE = 1   /* the bytes as they are                      */
};

#define WEIR_DEDUP_EXACT_OPTIONS_VERSION 2
/* Drops rows whose key was seen before, keeping the first occurrence in
 * input order. The operator keeps its input in the order of the read tasks
 * (preserve_order) and decides in one worker, so the rows kept are the
 * same whatever the number of workers upstream and their timing; it sees
 * every row of the pipeline (global).
 *
 * Key: the values of `key_columns` (STRING, BINARY, INT32, INT64, FLOAT32,
 * FLOAT64; a null is a value of its own), or by default the text column;
 * STRING values normalised by `normalize`. The key is hashed with
 * XXH3-128 (seed 0) over, per key column, a tag byte (0 null, 1 value),
 * for variable-length values their length as 8 little-endian bytes, and
 * the (normalised) bytes; with the single default text column the hash is
 * XXH3_128bits(normalised text) exactly. Two different keys collide with
 * probability about n^2 / 2^129 (1e-21 for a billion documents).
 *
 * Memory: the seen keys (24 bytes each) live in a table of at most
 * `memory_limit` bytes; when it is full they are sorted and appended to a
 * spill file (an unlinked file in the pipeline's spill folder) as a run,
 * and only a Bloom filter (10 bits per key) and a sparse index (16 bytes
 * per 64 keys) of each run stay in memory: about 1.5 bytes per spilled
 * key. A key not in the table is looked up in the runs whose Bloom filter
 * may hold it, by one read of the file. The table, filters and indexes
 * also count in the pipeline's memory budget as bytes in flight (parked,
 * like held rows): the table doubles only while in-flight bytes stay
 * within the budget and parked ones within three quarters of it, so under
 * a budget shorter than `memory_limit` it spills its runs earlier (and
 * shrinks after a spill while the budget is over), and with no_spill it
 * grows to `memory_limit` as before. The counted bytes are given back
 * when the operator finishes.
 *
 * Statistics (the operator's counters): "dropped:duplicate" (and
 * dropped_rows) in filter mode, "duplicates" in both modes, "unique",
 * "spilled_runs"; the bytes of runs written count in spilled_bytes. In
 * annotate mode every row passes with `dup_of` (INT64, named by
 * `dup_of_column`): null for a first occurrence, else the input ordinal
 * (0-based position among the rows the operator received) of the first
 * row with the same key. A null or invalid UTF-8 text (a STRING key column
 * when normalising) is malformed (common.on_error).
 *
 * Priority mode (`priority_column` set, options version 2): among the rows
 * with the same key the operator keeps the one with the highest value of
 * `priority_column` (INT32, INT64, FLOAT32, FLOAT64, or STRING or BINARY
 * compared bytewise as unsigned bytes, a shorter string that is a prefix
 * of a longer one being lower, as memcmp and SQL's binary collation; the
 * lowest with `priority_lowest` = 1) instead of the first. Ties go to the
 * first in input order; a null priority loses to any value (all-null keys
 * keep their first row); -0.0 equals 0.0; a NaN priority, or a string of
 * 4 GiB or more, is malformed (common.on_error); a priority column whose
 * type changes between blocks ends the run (WEIR_EINVAL). The result is SQL's ROW_NUMBER() OVER (PARTITION BY
 * key ORDER BY priority DESC NULLS LAST, input ordinal) = 1. A later row
 * can replace the row kept so far, so this mode is a barrier: it holds
 * its input until the input ends, then emits the rows kept in input order.
 * The held rows count in the pipeline's memory budget as bytes in flight
 * and go to a spill file once held bytes would pass three quarters of it
 * (unless no_spill); the best (priority, ordinal) per key lives in a table
 * of `memory_limit` bytes (40 bytes a key; with string priorities half the
 * limit, the other half an arena of the strings longer than 8 bytes) that
 * spills sorted runs merged at the end, plus one bit per row for the
 * decision; like the seen keys, it counts in the pipeline's budget. In annotate mode
 * `dup_of` is null for the row kept and otherwise the ordinal of the row
 * its key keeps (which may come later in the input). */
typedef struct weir_dedup_exact_options {
  unsigned version;
  weir_text_common common;   /* column: the text column (when key_columns
                                is NULL); mode; on_error; name
                                ("dedup_exact"); rejected: reason
                                "duplicate"; prefix and max_workers do
                                not apply                                  */
  const char *const *key_columns; /* NULL = the text column              */
  size_t      num_key_columns;
  int         normalize;     /* WEIR_DEDUP_NORM_*; default DPK           */
  size_t      memory_limit;  /* bytes of the seen-key table; 0 = a quarter
                                of the pipeline's memory budget           */
  const char *dup_of_column; /* NULL = "dup_of"                           */
  /* Version 2. */
  const char *priority_column; /* NULL = keep the first occurrence; else
                                  keep the row with the highest value of
                                  this column (see above)                 */
  int         priority_lowest; /* 1 = the lowest value wins instead       */
} weir_dedup_exact_options;
#define WEIR_DEDUP_EXACT_OPTIONS_INIT \
  { WEIR_DEDUP_EXACT_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, NULL, 0, WEIR_DEDUP_NORM_DPK, 0, \
    NULL, NULL, 0 }
WEIR_EXTERN weir_op *weir_dedup_exact(weir_pipeline *p, weir_op *in,
                                      const weir_dedup_exact_options *o);

/* The key weir_dedup_exact computes for one text with `normalize`:
 * the normalised bytes into *norm (malloc'd, freed with weir_free();
 * `norm` may be NULL) and *norm_len (may be NULL), their XXH3-128 into
 * hash[0] (low 64 bits) and hash[1] (high). WEIR_EFORMAT for invalid UTF-8; WEIR_ENOTSUP in a build
 * without libxxhash. For tests and tools. */
WEIR_EXTERN int weir_dedup_key(int normalize, const char *text, size_t len, char **norm,
                               size_t *norm_len, uint64_t hash[2]);

/* ---- Tokenizing, sequence packing and RAG chunking (issue 16) ------------ */

#define WEIR_TOKENIZE_OPTIONS_VERSION 1
/* Encodes the text column with `t` (borrowed: it must outlive the
 * pipeline) and adds `tokens` (LIST of int32: the ids, as
 * weir_tokenizer_encode_cached gives them with `flags`, between the BOS
 * and EOS asked for) and `token_count` (INT64: the length of that list).
 * The default flags are WEIR_TOKENIZE_ADD_SPECIAL, so with NULL options
 * the ids are those of `tokenizers`' encode(text).ids. add_bos / add_eos
 * add bos_id / eos_id (the tokenizer's own, weir_tokenizer_bos_id and
 * weir_tokenizer_eos_id, when negative) before / after the ids, on top of
 * what a post-processor adds: with a template that already adds them,
 * leave add_bos / add_eos at 0 or clear WEIR_TOKENIZE_ADD_SPECIAL. A
 * tokenizer without the token asked for is refused at construction.
 *
 * Blocks are encoded in parallel, each worker with its own tokenizer
 * cache (weir_tokenizer_cache); the output keeps each block's rows in
 * order (blocks in any order unless an operator downstream asks for
 * preserve_order). A null text, or invalid UTF-8 without
 * WEIR_TOKENIZE_REPLACE_INVALID, is malformed (common.on_error: the run
 * ends naming the column and row, or the row is skipped and counted).
 * An input that already has a column of an output name ends the run.
 * Counter: "tokens" (ids written, BOS and EOS included). */
typedef struct weir_tokenize_options {
  unsigned    version;
  weir_text_common common;  /* column ("text"), on_error, name ("tokenize"),
                               max_workers; mode, prefix and rejected do
                               not apply                                  */
  unsigned    flags;        /* WEIR_TOKENIZE_*; default ADD_SPECIAL       */
  int         add_bos;      /* 1 = prepend the BOS id                     */
  int         add_eos;      /* 1 = append the EOS id                      */
  int64_t     bos_id;       /* < 0 = the tokenizer's (default -1)         */
  int64_t     eos_id;       /* < 0 = the tokenizer's (default -1)         */
  const char *tokens_column; /* NULL = "tokens"                           */
  const char *count_column; /* NULL = "token_count"; "" = none            */
  int         keep_text;    /* 1 = keep the text column (default); 0 = drop
                               it                                          */
} weir_tokenize_options;
#define WEIR_TOKENIZE_OPTIONS_INIT                                                       \
  { WEIR_TOKENIZE_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, WEIR_TOKENIZE_ADD_SPECIAL, 0, 0, \
    -1, -1, NULL, NULL, 1 }
WEIR_EXTERN weir_op *weir_tokenize(weir_pipeline *p, weir_op *in, const weir_tokenizer *t,
                                   const weir_tokenize_options *o);

enum {                       /* what weir_pack_sequences does with the last,
                                partial row of a run                       */
  WEIR_PACK_LAST_PAD = 0,    /* pad it to seq_len with pad_id (default)    */
  WEIR_PACK_LAST_DROP = 1,   /* drop its tokens (counted)                  */
  WEIR_PACK_LAST_CARRY = 2   /* keep its tokens in the operator: the next
                                run of the same pipeline (an epoch, see
                                weir_pipeline_iter) starts with them       */
};

#define WEIR_PACK_OPTIONS_VERSION 1
/* Concatenates the token lists of the documents, each followed by `eos_id`
 * when it is >= 0, and cuts the stream into rows of exactly `seq_len`
 * tokens: the output has one column, `tokens` (TENSOR int32 [seq_len]),
 * and with `doc_starts` a second, `doc_starts` (LIST of int32): the
 * positions in the row where a segment begins, for attention masks that
 * keep documents apart. A segment is one document's tokens and its EOS;
 * the first start of every row is 0 (a row may begin inside a document),
 * and the last segment ends where the row's tokens end (num_tokens).
 * With `num_tokens`, a column `num_tokens` (INT32) gives the row's tokens
 * that are not padding (seq_len except in a padded last row). A document
 * longer than seq_len continues over as many rows as it needs.
 *
 * Input: the LIST column `column` (default "tokens", as weir_tokenize
 * makes it) of any integer dtype whose values fit int32 (others end the
 * run naming the column and row). An empty or null list is an empty
 * document: it adds nothing, not even a separator, and is counted
 * ("empty_docs").
 *
 * Order and exactness: the operator has one worker. By default it asks
 * for its input in the order of the read tasks (preserve_order), so the
 * rows are the same on every run whatever the number of workers upstream;
 * with `any_order` it takes blocks as they come (no reorder buffer
 * upstream; the rows then depend on timing). Either way every token of
 * every document appears exactly once, in document order, and no row is
 * made twice: a call is never retried. Counters: "docs", "empty_docs",
 * "tokens" (of the documents), "separators", "rows", "pad_tokens",
 * "dropped_tokens" (WEIR_PACK_LAST_DROP) and "carried_tokens" (the tokens
 * WEIR_PACK_LAST_CARRY kept at the end of the run). With NULL options:
 * seq_len 2048, no separator, the last row padded with 0, `tokens` only. */
typedef struct weir_pack_options {
  unsigned    version;
  const char *column;        /* input token lists; NULL = "tokens"         */
  size_t      seq_len;       /* tokens per row; 0 = 2048                   */
  int64_t     eos_id;        /* separator after each document; < 0 = none
                                (the default: -1)                          */
  int64_t     pad_id;        /* padding of the last row; default 0         */
  int         last;          /* WEIR_PACK_LAST_*                           */
  int         doc_starts;    /* 1 = add the `doc_starts` column            */
  int         num_tokens;    /* 1 = add the `num_tokens` column            */
  int         any_order;     /* 1 = take blocks as they come (see above)   */
  const char *name;          /* the operator's name; NULL = "pack_sequences" */
} weir_pack_options;
#define WEIR_PACK_OPTIONS_INIT \
  { WEIR_PACK_OPTIONS_VERSION, NULL, 0, -1, 0, WEIR_PACK_LAST_PAD, 0, 0, 0, NULL }
WEIR_EXTERN weir_op *weir_pack_sequences(weir_pipeline *p, weir_op *in,
                                         const weir_pack_options *o);

enum {                       /* how weir_chunk_text cuts a document        */
  WEIR_CHUNK_PARAGRAPHS = 0, /* paragraphs (split at blank lines), packed
                                (default)                                  */
  WEIR_CHUNK_SENTENCES = 1,  /* sentences, packed                          */
  WEIR_CHUNK_CHARS = 2,      /* runs of chunk_size code points, overlapping */
  WEIR_CHUNK_MARKDOWN = 3,   /* sections under ATX headings, with the
                                `heading_path` column                      */
  WEIR_CHUNK_TOKENS = 4      /* windows of chunk_size tokens of `tokenizer`,
                                overlapping (Data Prep Kit's token chunks) */
};

#define WEIR_CHUNK_OPTIONS_VERSION 1
/* Cuts each document of the text column into chunks for retrieval (RAG),
 * one output row per chunk: `chunk` (STRING: the chunk's text, exactly
 * the source bytes [start, end)), `chunk_index` (INT64: 0, 1... within
 * the document), `doc_id` (the value of the input's `doc_id_column` when
 * the block has it, INT64 for an integer column, STRING for a string one;
 * else the document's ordinal, INT64, 0-based in input order), `start`
 * and `end` (INT64: byte offsets of the chunk in the source text), and in
 * WEIR_CHUNK_MARKDOWN `heading_path` (STRING). With `keep_columns` (the
 * default), the input's other columns but the text column follow, their
 * values repeated on each chunk of the row.
 *
 * Sizes are in code points (tokens for WEIR_CHUNK_TOKENS); a chunk never
 * splits a UTF-8 character.
 *   - CHARS: chunks of chunk_size code points (the last may be shorter),
 *     each starting `overlap` code points before the previous one's end;
 *     with no overlap the chunks are an exact partition of the text.
 *   - SENTENCES: a sentence ends after . ! ? or an ellipsis (and closing
 *     quotes or brackets) followed by white space and not by a lowercase
 *     ASCII letter, after 。！？ or at a blank line. A lone '.' after an
 *     abbreviation ends nothing: a single capital letter (an initial,
 *     "J. Smith"), letters joined by dots ("e.g.", "i.e.", "U.S.",
 *     "p.m."), or a title or shorthand (Mr Mrs Ms Mx Dr Prof Sr Jr St Mt
 *     Rev Hon Gen Col Capt Lt Sgt Gov Sen Rep vs cf approx Fig Figs Vol),
 *     so "in the U.S. The" stays one sentence. PARAGRAPHS: a
 *     paragraph ends at a blank line (a line of white space only).
 *     Consecutive units are packed into a chunk while it stays within
 *     chunk_size; a unit longer than that is cut into its sentences (a
 *     paragraph), then into runs of chunk_size code points. Chunks start
 *     and end on non-white-space: between two chunks there is only white
 *     space. `overlap` must be 0.
 *   - MARKDOWN: a section runs from an ATX heading line ("#" to "######",
 *     up to 3 spaces of indent, outside fenced code blocks) to the next;
 *     the text before the first heading is a section with an empty path.
 *     A section is one chunk, heading line included, or is cut as
 *     PARAGRAPHS when longer than chunk_size; chunks never span two
 *     sections. `heading_path` joins the texts of the enclosing headings
 *     with " > " (e.g. "Guide > Install > Linux"). `overlap` must be 0.
 *   - TOKENS: the text encoded by `tokenizer` (no special tokens added);
 *     windows of chunk_size tokens, the next starting chunk_size - overlap
 *     tokens later, the last ending at the last token. A window's bytes
 *     run from its first token's first byte to its last token's last byte,
 *     widened to whole characters when a byte-level token splits one.
 * Defaults (NULL options): PARAGRAPHS of at most 1000 code points; for
 * TOKENS 128 tokens with 30 of overlap (Data Prep Kit's defaults), for
 * CHARS no overlap.
 *
 * A document of 0 bytes, or of white space only in the packed modes,
 * gives no chunk: it is counted as dropped (reason "empty_document").
 * Counters: "docs", "chunks". A null or invalid UTF-8 text is malformed
 * (common.on_error). A missing text column, or one that is not STRING,
 * ends the run naming the operator and the column; so does a doc id
 * column of another type than INT32, INT64 or STRING, or an output column
 * name the input already uses (with keep_columns).
 *
 * Chunks are emitted in blocks of about `max_block_bytes` of chunk text,
 * so a huge document does not make one huge block. Order: the output
 * follows input order (preserve_order); the ordinals are numbered by a
 * small one-worker step before the chunker (named "<name>_ids"), which
 * numbers every row. */
typedef struct weir_chunk_options {
  unsigned    version;
  weir_text_common common;   /* column, on_error, name ("chunk_text"),
                                max_workers; mode, prefix and rejected do
                                not apply                                  */
  int         method;        /* WEIR_CHUNK_*                               */
  size_t      chunk_size;    /* 0 = the method's default (above)           */
  long        overlap;       /* < 0 = the method's default (above); less
                                than chunk_size                            */
  const char *doc_id_column; /* NULL = "doc_id"                            */
  int         keep_columns;  /* 1 = carry the other input columns (default);
                                0 = only the chunk columns                 */
  size_t      max_block_bytes; /* 0 = 4 MiB                                */
  const weir_tokenizer *tokenizer; /* WEIR_CHUNK_TOKENS; borrowed: it must
                                outlive the pipeline                        */
} weir_chunk_options;
#define WEIR_CHUNK_OPTIONS_INIT \
  { WEIR_CHUNK_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, WEIR_CHUNK_PARAGRAPHS, 0, -1, NULL, 1, 0, \
    NULL }
WEIR_EXTERN weir_op *weir_chunk_text(weir_pipeline *p, weir_op *in,
                                     const weir_chunk_options *o);

/* One chunk of a document, as weir_chunk_text makes it: bytes
 * [start, end) of the text, and for WEIR_CHUNK_MARKDOWN the heading path
 * (a byte range of `path_buf`, below). */
typedef struct weir_chunk_span {
  size_t start, end;
  size_t path_start, path_len;
} weir_chunk_span;
/* The chunks of text[0..len) (valid UTF-8) with options `o` (NULL =
 * defaults; `common` is not used): *spans (freed with weir_free()) gets
 * *n of them in order; with WEIR_CHUNK_MARKDOWN, *path_buf (freed with
 * weir_free(); `path_buf` may be NULL otherwise) holds the heading paths.
 * WEIR_EINVAL for bad options, WEIR_EFORMAT for invalid UTF-8. Any
 * thread. For tests and tools. */
WEIR_EXTERN int weir_chunk_spans(const weir_chunk_options *o, const char *text, size_t len,
                                 weir_chunk_span **spans, size_t *n, char **path_buf);

/* ---- Chunking a document too long for memory ------------------------------- */

/* A streaming chunker: the bytes of one document are fed in pieces of any
 * size (a piece may end inside a UTF-8 character), and each feed returns
 * the chunks that are now final. The chunks are exactly those
 * weir_chunk_spans() gives for the whole text with the same options, but
 * the stream holds only what is not decided yet: the chunk being packed,
 * a paragraph or sentence while it is shorter than chunk_size (a longer
 * one is cut as it arrives), a Markdown heading or fence line until its
 * end, and a few bytes of look-back. So memory stays near a few times
 * chunk_size plus one piece, whatever the document's length, except for
 * one very long heading line or run of white space, which is held whole.
 * All methods. With TOKENS the text is encoded in parts, each ending
 * before a space between an ASCII letter or digit and an ASCII letter
 * ("a b"), where the tokenizer provably merges nothing: its normalizers
 * are NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, BertNormalizer,
 * right-only Strip or literal Replace patterns without ASCII letters,
 * digits or spaces; one of its pre-tokenizers cuts there (WhitespaceSplit,
 * Whitespace, Bert, Metaspace with split, Split on " ", or the split
 * regexes of GPT-2, p50k, cl100k, o200k, Llama 3 or Qwen 2, isolated) and
 * the others split by character classes; and no added token with a space
 * or lstrip/rstrip starts near the cut. Then the windows are exactly
 * those of the whole text, and the stream holds the text of the window
 * being filled and what follows the last such cut. Where no cut is
 * proven (SentencePiece models, tokenizers without a splitting
 * pre-tokenizer such as Llama 2's, Prepend, Precompiled or regex Replace
 * normalizers, other split regexes, or 1 MiB of text without an "a b"),
 * up to 1 MiB is held; past that a part is cut anyway after the last
 * space that follows a non-space (else at a character boundary), so
 * memory stays bounded and the ids equal the whole text's except where
 * the tokenizer would have merged across that cut. A document shorter
 * than 1 MiB always gives the whole text's windows. One thread at a
 * time. */
typedef struct weir_chunk_stream weir_chunk_stream;
/* `o` as for weir_chunk_spans (NULL = defaults; `common` is not used).
 * WEIR_EINVAL for bad options (reason in weir_last_errmsg()). */
WEIR_EXTERN int  weir_chunk_stream_create(const weir_chunk_options *o, weir_chunk_stream **out);
WEIR_EXTERN void weir_chunk_stream_destroy(weir_chunk_stream *cs); /* accepts NULL */
/* Feeds the next `len` bytes of the document; `last` = 1 with the final
 * piece (len may be 0), after which the stream takes nothing more.
 * *spans gets the *n chunks completed by this piece, in order, as byte
 * offsets in the whole document (and heading paths, for Markdown, as
 * ranges of weir_chunk_stream_paths()); they, and the texts below, stay
 * valid until the next feed. WEIR_EFORMAT for invalid UTF-8 (the message
 * names the document's byte offset), WEIR_ENOMEM; the stream is unusable
 * after an error. */
WEIR_EXTERN int  weir_chunk_stream_feed(weir_chunk_stream *cs, const char *data, size_t len,
                                        int last, const weir_chunk_span **spans, size_t *n);
/* The bytes of a chunk the last feed returned (end - start of them). */
WEIR_EXTERN const char *weir_chunk_stream_text(const weir_chunk_stream *cs,
                                               const weir_chunk_span *sp);
/* The heading paths of the last feed's Markdown chunks. */
WEIR_EXTERN const char *weir_chunk_stream_paths(const weir_chunk_stream *cs);
/* The most bytes of the document the stream has held at once. */
WEIR_EXTERN size_t weir_chunk_stream_max_held(const weir_chunk_stream *cs);

/* A source that chunks each file of `uri` as one document, read in pieces
 * of 1 MiB through a weir_chunk_stream, so no document is ever held whole
 * (a file far larger than the pipeline's memory budget is fine). `uri` and
 * `ro` as for weir_read_text (a file, folder, glob, URL, s3:// prefix;
 * every file is taken; .zst and .gz are decompressed as a stream); one
 * read task per file. Rows as weir_chunk_text's: `chunk`, `chunk_index`,
 * `doc_id` (STRING: the file's URI), `start` and `end` (byte offsets in
 * the file's text, decompressed), and `heading_path` for MARKDOWN; the
 * chunks are those weir_chunk_spans gives for the whole file. `o` as for
 * weir_chunk_text (NULL = defaults); common.column, doc_id_column and
 * keep_columns do not apply; WEIR_CHUNK_TOKENS windows are streamed as
 * weir_chunk_stream streams them (`tokenizer` must outlive the pipeline).
 * A file that is not UTF-8 (or cannot be read) ends the run
 * naming it and the byte offset, or with common.on_error =
 * WEIR_ON_ERROR_SKIP the rest of that file is skipped (its chunks sent
 * before stay) and counted. Counters "docs", "chunks"; an empty file is
 * counted as dropped ("empty_document"). Files are chunked in parallel;
 * with preserve_order downstream, rows come out file by file in sorted
 * order. */
WEIR_EXTERN weir_op *weir_chunk_files(weir_pipeline *p, const char *uri,
                                      const weir_read_options *ro,
                                      const weir_chunk_options *o);

/* ---- Fuzzy deduplication: MinHash LSH (issue 15) ----------------------------- */

enum {
  WEIR_MINHASH_NORM_DATATROVE = 0, /* DataTrove's simplify_text with its
                                      TextNormConfig() defaults: Python's
                                      str.lower(); runs of Unicode decimal
                                      digits (with one inner . , U+060C
                                      U+066B U+2396-U+2398 and more digits)
                                      to "0"; DataTrove's PUNCTUATION (and
                                      control characters) to a space;
                                      whitespace runs to one space, stripped;
                                      NFD with the nonspacing marks (Mn)
                                      dropped (accents stripped)            */
  WEIR_MINHASH_NORM_NONE = 1       /* the text as it is                    */
};
enum {
  WEIR_MINHASH_WORDS = 0,    /* word n-grams: the words of the simplified
                                text by weir's English tokenizer (DataTrove's
                                spaCy tokenizer), n joined by one space   */
  WEIR_MINHASH_CHARS = 1     /* character n-grams: n consecutive code
                                points of the (simplified) text (NeMo
                                Curator: 24)                              */
};
enum {
  WEIR_MINHASH_KEEP_FIRST = 0,    /* the first row of the cluster in input
                                     order                                 */
  WEIR_MINHASH_KEEP_LONGEST = 1,  /* the longest text in bytes (ties: the
                                     first), as DPK's fdedup               */
  WEIR_MINHASH_KEEP_SMALLEST_ID = 2 /* the smallest value of `id_column`
                                     (INT64 or INT32; ties and nulls: the
                                     first)                                */
};

#define WEIR_MINHASH_OPTIONS_VERSION 1
/* Near-duplicate removal with MinHash locality-sensitive hashing, over the
 * whole input (every row the operator receives), deterministic: the rows
 * kept do not depend on worker counts or timing.
 *
 * THIS OPERATOR IS A BARRIER. It emits nothing until its input has ended:
 * whether a row is kept depends on every later row. It runs in two passes:
 *   pass 1 (streaming, while input arrives): a pool of signature workers
 *     (common.max_workers; 0 = as the scheduler likes) computes each row's
 *     signature and band keys; one ordered worker numbers the rows in input
 *     order (ordinal 0, 1, ...), records (band key, ordinal) per band and
 *     holds the rows themselves;
 *   pass 2 (when the input ends): band by band, the rows with equal band
 *     keys are joined by union-find over the whole corpus (with optional
 *     Jaccard verification), one row per cluster is kept, and the held rows
 *     are emitted in input order, without the dropped ones.
 * Progress: the operator logs (info) the start and end of each pass, and
 * its counter "pass" reads 1 during pass 1 and 2 from pass 2 on; its other
 * counters: "pass1_docs", "no_signature" (too short), "band_keys",
 * "candidate_pairs", "verified_pairs" / "rejected_pairs" (verification),
 * "clusters" (of 2 rows or more), "duplicates", "unique",
 * "spilled_runs", "held_rows_spilled"; in filter mode "dropped:near_duplicate"
 * and dropped_rows; spilled_bytes counts band-key runs and held rows
 * written to disk.
 *
 * Signatures, reproducibly: each shingle (UTF-8 bytes) is hashed with
 * XXH64 (seed 0), h; hash i of bands*rows is min over the shingles of
 * ((h * a[i] + b[i]) mod 2^64) mod (2^61 - 1), where a and b are drawn as
 * numpy's RandomState(seed).randint(1, 2^61-1, uint64, bands*rows) and
 * then randint(0, 2^61-1, ...) (MT19937, masked rejection): exactly
 * DataTrove 0.10's MinhashDedupSignature with HashConfig(64, "xxhash"), so
 * with the same seed both give the same signatures. Band b is hashes
 * [b*rows, (b+1)*rows); its key is XXH3-64 of those values as
 * little-endian bytes with seed b (two different bands collide with
 * probability 2^-64 per pair of rows). A text with fewer than `ngram` words
 * (characters) has no signature and is never a duplicate (as DataTrove).
 * Rows j and k with Jaccard similarity J of their shingle sets share a
 * band with probability about 1 - (1 - J^rows)^bands.
 *
 * Memory (memory_limit, default a quarter of the pipeline's budget): half
 * for band-key records (16 bytes per row per band: 224 bytes a row with
 * 14 bands), which past it are sorted and written as one run per band
 * (band-partitioned: band b's keys only ever meet band b's, so a
 * distributed runtime can send each band's records to the rank that owns
 * it and union the resulting pairs); half for held rows, past which rows
 * go to a spill file (the pipeline's spill folder) in input order. The
 * rows held in memory also count in the pipeline's memory budget as bytes
 * in flight (weir_pipeline_stats' bytes_in_flight; "parked": they wait for
 * the end of the input), so sources slow down for them, and they go to
 * the spill file as well once held bytes would pass three quarters of the
 * budget (unless the pipeline's no_spill is set). Pass 2
 * needs 4 bytes per row for union-find (at most 2^32 - 1 rows), 8 more for
 * KEEP_LONGEST / KEEP_SMALLEST_ID, and one read buffer per run of a band.
 *
 * Verification (verify = 1): each row of a band group is compared with the
 * group's first row by the exact Jaccard similarity of their sets of
 * 64-bit shingle hashes, read back from a file pass 1 writes (8 bytes per
 * distinct shingle); pairs below `threshold` are not joined.
 *
 * Resume: with `work_dir`, pass 1 keeps its band runs (and shingle sets)
 * there and, when it completes, writes `minhash.pass1` (the parameters and
 * the row count). weir_dedup_minhash() reads it when called: a valid one
 * with the same parameters makes the run skip signatures (the input is
 * still read, for its rows, and must have the same number of rows) and
 * start pass 2 from the saved state. Delete the folder to start over.
 *
 * Annotate mode: every row passes with `cluster_id` (INT64: the input
 * ordinal of the row its cluster keeps; its own ordinal when alone),
 * `cluster_size` (INT64, 1 when alone) and `near_duplicate` (BOOL: 1 for
 * the rows filter mode would drop). A null or invalid UTF-8 text is
 * malformed (common.on_error; skipped rows are counted and not held). */
typedef struct weir_minhash_options {
  unsigned version;
  weir_text_common common;   /* column (the text), mode, on_error, name
                                ("dedup_minhash"), rejected (reason
                                "near_duplicate"), max_workers (of the
                                signature pool); prefix does not apply     */
  int         shingle;       /* WEIR_MINHASH_WORDS (default) or _CHARS     */
  int         ngram;         /* 0 = 5 for words, 24 for characters         */
  int         bands;         /* 0 = 14                                     */
  int         rows;          /* hashes per band; 0 = 8                     */
  uint64_t    seed;          /* of the permutation family; default 1       */
  int         normalize;     /* WEIR_MINHASH_NORM_*; default DataTrove     */
  int         keep;          /* WEIR_MINHASH_KEEP_*; default first         */
  const char *id_column;     /* for KEEP_SMALLEST_ID                       */
  int         verify;        /* 1 = check candidates' true Jaccard         */
  double      threshold;     /* of verification; 0 = 0.8                   */
  size_t      memory_limit;  /* bytes; 0 = a quarter of the budget         */
  const char *work_dir;      /* NULL = temporary state, no resume          */
} weir_minhash_options;
#define WEIR_MINHASH_OPTIONS_INIT                                                   \
  { WEIR_MINHASH_OPTIONS_VERSION, WEIR_TEXT_COMMON_INIT, WEIR_MINHASH_WORDS, 0, 0, 0, 1, \
    WEIR_MINHASH_NORM_DATATROVE, WEIR_MINHASH_KEEP_FIRST, NULL, 0, 0.0, 0, NULL }
WEIR_EXTERN weir_op *weir_dedup_minhash(weir_pipeline *p, weir_op *in,
                                        const weir_minhash_options *o);

/* The signature weir_dedup_minhash computes for text[0..len) with options
 * `o` (NULL = defaults): bands*rows values into sig (room for them), and
 * the number of shingles into *nshingles (0: no signature). Optionally the
 * simplified text into *simplified (freed with weir_free()). WEIR_EFORMAT
 * for invalid UTF-8, WEIR_EINVAL for bad options. For tests and tools. */
WEIR_EXTERN int weir_minhash_signature(const weir_minhash_options *o, const char *text,
                                       size_t len, uint64_t *sig, size_t *nshingles,
                                       char **simplified);

WEIR_END_DECLS

#endif /* WEIR_TEXT_H */
