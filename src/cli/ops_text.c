/* Operator kinds of weir/text.h: document ids, PII redaction, language
 * id, the quality filters, exact and MinHash dedup, filter_where,
 * tokenizing, sequence packing and chunking. Thresholds left
 * out of a spec keep the library's defaults (DataTrove's), which is why
 * they are applied only when set. */
#include "cli/ops.h"

static int given(const weir_op_args *a, const char *name) {
  const weir_opt_value *v = weir_op_args_get(a, name);
  return v && v->set;
}
#define SET_F(o, field)                                                         \
  do {                                                                          \
    if (given(a, #field)) (o).field = arg_f(a, #field);                         \
  } while (0)
#define SET_I(o, field)                                                         \
  do {                                                                          \
    if (given(a, #field)) (o).field = (int)arg_i(a, #field);                    \
  } while (0)

/* The options every text operator shares (weir_text_common). */
#define COMMON_ROWS                                                             \
  OPT("column", WEIR_OPT_STRING, "text", "the text column"),                    \
  OPT_ENUM("mode", "filter|annotate", "filter", "drop what fails, or keep every row and add measurement columns"), \
  OPT_ENUM("on_error", "fail|skip", "fail", "a null or invalid UTF-8 text: end the run, or skip the row and count it"), \
  OPT("prefix", WEIR_OPT_STRING, NULL, "prefix of the annotation columns; unset = the operator's"), \
  OPT("max_workers", WEIR_OPT_INT, "0", "most workers; 0 = the scheduler's choice")

static void common(const weir_op_args *a, weir_text_common *c) {
  c->column = arg_s(a, "column");
  c->mode = arg_i(a, "mode") ? WEIR_TEXT_ANNOTATE : WEIR_TEXT_FILTER;
  c->on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  c->prefix = arg_s(a, "prefix");
  c->name = a->name;
  c->max_workers = (int)arg_i(a, "max_workers");
}

static const weir_opt_def doc_id_opts[] = {
  COMMON_ROWS,
  OPT_ENUM("hash", "sha256|xxh64|xxh128|none", "sha256", "content hash of the raw text"),
  OPT("hash_column", WEIR_OPT_STRING, "doc_hash", "name of the hash column"),
  OPT("int_column", WEIR_OPT_STRING, "doc_id", "name of the integer id column; \"\" = none"),
  OPT("start_id", WEIR_OPT_INT, "0", "first integer id"),
};
static weir_op *build_doc_id(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_doc_id_options o = WEIR_DOC_ID_OPTIONS_INIT;
  common(a, &o.common);
  static const int hashes[] = {WEIR_DOC_HASH_SHA256, WEIR_DOC_HASH_XXH64, WEIR_DOC_HASH_XXH128,
                               WEIR_DOC_HASH_NONE};
  o.hash = hashes[arg_i(a, "hash")];
  o.hash_column = arg_s(a, "hash_column");
  o.int_column = arg_s(a, "int_column");
  o.start_id = (uint64_t)arg_i(a, "start_id");
  return weir_text_doc_id(p, arg_in(a), &o);
}

static const weir_opt_def pii_opts[] = {
  COMMON_ROWS,
  OPT("replacement", WEIR_OPT_STRING, NULL, "replace every entity with this; unset = its tag (<EMAIL>...)"),
  OPT("public_ips_only", WEIR_OPT_BOOL, "false", "leave private, loopback and link-local addresses"),
  OPT("count_columns", WEIR_OPT_BOOL, "false", "add per-type count columns"),
};
static weir_op *build_pii(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_pii_options o = WEIR_PII_OPTIONS_INIT;
  common(a, &o.common);
  o.replacement = arg_s(a, "replacement");
  o.public_ips_only = (int)arg_i(a, "public_ips_only");
  o.count_columns = (int)arg_i(a, "count_columns");
  return weir_text_pii_redact(p, arg_in(a), &o);
}

static const weir_opt_def lang_opts[] = {
  COMMON_ROWS,
  OPT_ENUM("backend", "auto|cld2|fasttext", "auto", "fastText when model_path is set, else CLD2"),
  OPT("model_path", WEIR_OPT_STRING, NULL, "fastText .bin or .ftz model"),
  OPT("languages", WEIR_OPT_STRING, NULL, "comma-separated labels to keep; unset = any"),
  OPT("threshold", WEIR_OPT_FLOAT, NULL, "least score kept; unset = 0.65 (DataTrove); < 0 = none"),
  OPT("lang_column", WEIR_OPT_STRING, "lang", "name of the language column"),
  OPT("score_column", WEIR_OPT_STRING, "lang_score", "name of the score column"),
};
static weir_op *build_lang(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_lang_id_options o = WEIR_LANG_ID_OPTIONS_INIT;
  common(a, &o.common);
  static const int backends[] = {WEIR_LANG_AUTO, WEIR_LANG_CLD2, WEIR_LANG_FASTTEXT};
  o.backend = backends[arg_i(a, "backend")];
  o.model_path = arg_s(a, "model_path");
  o.languages = arg_s(a, "languages");
  SET_F(o, threshold);
  o.lang_column = arg_s(a, "lang_column");
  o.score_column = arg_s(a, "score_column");
  return weir_text_lang_id(p, arg_in(a), &o);
}

static const weir_opt_def gopher_opts[] = {
  COMMON_ROWS,
  OPT("min_doc_words", WEIR_OPT_FLOAT, NULL, "unset = 50"),
  OPT("max_doc_words", WEIR_OPT_FLOAT, NULL, "unset = 100000"),
  OPT("min_avg_word_length", WEIR_OPT_FLOAT, NULL, "unset = 3"),
  OPT("max_avg_word_length", WEIR_OPT_FLOAT, NULL, "unset = 10"),
  OPT("max_symbol_word_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.1"),
  OPT("max_bullet_lines_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.9"),
  OPT("max_ellipsis_lines_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.3"),
  OPT("max_non_alpha_words_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.8"),
  OPT("min_stop_words", WEIR_OPT_FLOAT, NULL, "unset = 2"),
};
static weir_op *build_gopher(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_gopher_options o = WEIR_GOPHER_OPTIONS_INIT;
  common(a, &o.common);
  SET_F(o, min_doc_words);
  SET_F(o, max_doc_words);
  SET_F(o, min_avg_word_length);
  SET_F(o, max_avg_word_length);
  SET_F(o, max_symbol_word_ratio);
  SET_F(o, max_bullet_lines_ratio);
  SET_F(o, max_ellipsis_lines_ratio);
  SET_F(o, max_non_alpha_words_ratio);
  SET_F(o, min_stop_words);
  return weir_text_quality_gopher(p, arg_in(a), &o);
}

static const weir_opt_def repetition_opts[] = {
  COMMON_ROWS,
  OPT("dup_line_frac", WEIR_OPT_FLOAT, NULL, "unset = 0.3"),
  OPT("dup_para_frac", WEIR_OPT_FLOAT, NULL, "unset = 0.3"),
  OPT("dup_line_char_frac", WEIR_OPT_FLOAT, NULL, "unset = 0.2"),
  OPT("dup_para_char_frac", WEIR_OPT_FLOAT, NULL, "unset = 0.2"),
};
static weir_op *build_repetition(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_gopher_repetition_options o = WEIR_GOPHER_REPETITION_OPTIONS_INIT;
  common(a, &o.common);
  SET_F(o, dup_line_frac);
  SET_F(o, dup_para_frac);
  SET_F(o, dup_line_char_frac);
  SET_F(o, dup_para_char_frac);
  return weir_text_quality_gopher_repetition(p, arg_in(a), &o);
}

static const weir_opt_def c4_opts[] = {
  COMMON_ROWS,
  OPT("remove_citations", WEIR_OPT_BOOL, "true", "remove [1]-style citations"),
  OPT("filter_no_terminal_punct", WEIR_OPT_BOOL, "true", "drop lines without terminal punctuation"),
  OPT("min_num_sentences", WEIR_OPT_INT, "5", "least sentences in a document; < 0 = off"),
  OPT("min_words_per_line", WEIR_OPT_INT, "3", "least words in a kept line; < 0 = off"),
  OPT("max_word_length", WEIR_OPT_INT, "1000", "longest word; < 0 = off"),
  OPT("filter_lorem_ipsum", WEIR_OPT_BOOL, "true", "drop documents with lorem ipsum"),
  OPT("filter_javascript", WEIR_OPT_BOOL, "true", "drop lines that mention javascript"),
  OPT("filter_curly_bracket", WEIR_OPT_BOOL, "true", "drop documents with a curly bracket"),
  OPT("filter_policy", WEIR_OPT_BOOL, "true", "drop policy and cookie lines"),
  OPT("keep_text", WEIR_OPT_BOOL, "false", "never rewrite the text (only filter)"),
};
static weir_op *build_c4(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_c4_options o = WEIR_C4_OPTIONS_INIT;
  common(a, &o.common);
  SET_I(o, remove_citations);
  SET_I(o, filter_no_terminal_punct);
  SET_I(o, min_num_sentences);
  SET_I(o, min_words_per_line);
  SET_I(o, max_word_length);
  SET_I(o, filter_lorem_ipsum);
  SET_I(o, filter_javascript);
  SET_I(o, filter_curly_bracket);
  SET_I(o, filter_policy);
  SET_I(o, keep_text);
  return weir_text_quality_c4(p, arg_in(a), &o);
}

static const weir_opt_def fineweb_opts[] = {
  COMMON_ROWS,
  OPT("line_punct_thr", WEIR_OPT_FLOAT, NULL, "unset = 0.12"),
  OPT("line_punct_exclude_zero", WEIR_OPT_BOOL, "false", "a document with no line ending in punctuation passes"),
  OPT("short_line_thr", WEIR_OPT_FLOAT, NULL, "unset = 0.67"),
  OPT("short_line_length", WEIR_OPT_INT, NULL, "unset = 30"),
  OPT("char_duplicates_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.01"),
  OPT("new_line_ratio", WEIR_OPT_FLOAT, NULL, "unset = 0.3"),
};
static weir_op *build_fineweb(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_fineweb_options o = WEIR_FINEWEB_OPTIONS_INIT;
  common(a, &o.common);
  SET_F(o, line_punct_thr);
  SET_I(o, line_punct_exclude_zero);
  SET_F(o, short_line_thr);
  SET_I(o, short_line_length);
  SET_F(o, char_duplicates_ratio);
  SET_F(o, new_line_ratio);
  return weir_text_quality_fineweb(p, arg_in(a), &o);
}

static const weir_opt_def dedup_opts[] = {
  COMMON_ROWS,
  OPT("key_column", WEIR_OPT_STRING, NULL, "key on this column instead of the text column"),
  OPT_ENUM("normalize", "dpk|none", "dpk", "DPK ededup's normalisation of string keys, or the bytes as they are"),
  OPT("memory_limit", WEIR_OPT_SIZE, "0", "bytes of the seen-key table before it spills; 0 = a quarter of the budget"),
  OPT("dup_of_column", WEIR_OPT_STRING, "dup_of", "annotate mode: the column naming the first occurrence"),
  OPT("priority_column", WEIR_OPT_STRING, NULL, "keep the row with the highest value of this column instead of the first (holds rows to the end)"),
  OPT("priority_lowest", WEIR_OPT_BOOL, "false", "with priority_column: the lowest value wins"),
};
static weir_op *build_dedup(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_dedup_exact_options o = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  common(a, &o.common);
  const char *key = arg_s(a, "key_column");
  if (key) {
    o.key_columns = &key;
    o.num_key_columns = 1;
  }
  o.normalize = arg_i(a, "normalize") ? WEIR_DEDUP_NORM_NONE : WEIR_DEDUP_NORM_DPK;
  o.memory_limit = (size_t)arg_i(a, "memory_limit");
  o.dup_of_column = arg_s(a, "dup_of_column");
  o.priority_column = arg_s(a, "priority_column");
  o.priority_lowest = (int)arg_i(a, "priority_lowest");
  return weir_dedup_exact(p, arg_in(a), &o);
}

static const weir_opt_def minhash_opts[] = {
  COMMON_ROWS,
  OPT_ENUM("shingle", "words|chars", "words", "word n-grams (DataTrove, DPK) or character n-grams (NeMo)"),
  OPT("ngram", WEIR_OPT_INT, "0", "n-gram size; 0 = 5 words or 24 characters"),
  OPT("bands", WEIR_OPT_INT, "0", "LSH bands; 0 = 14"),
  OPT("rows", WEIR_OPT_INT, "0", "hashes per band; 0 = 8"),
  OPT("seed", WEIR_OPT_INT, "1", "seed of the permutations (DataTrove's MinhashConfig.seed)"),
  OPT_ENUM("normalize", "datatrove|none", "datatrove", "DataTrove's simplify_text, or the text as it is"),
  OPT_ENUM("keep", "first|longest|smallest_id", "first", "the row each cluster keeps"),
  OPT("id_column", WEIR_OPT_STRING, NULL, "keep smallest_id: the id column"),
  OPT("verify", WEIR_OPT_BOOL, "false", "join candidates only at true Jaccard >= threshold"),
  OPT("threshold", WEIR_OPT_FLOAT, "0.8", "verification threshold"),
  OPT("memory_limit", WEIR_OPT_SIZE, "0", "bytes of band keys and held rows before they spill; 0 = a quarter of the budget"),
  OPT("work_dir", WEIR_OPT_STRING, NULL, "keep pass 1 here and resume from it"),
};
static weir_op *build_minhash(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_minhash_options o = WEIR_MINHASH_OPTIONS_INIT;
  common(a, &o.common);
  o.shingle = arg_i(a, "shingle") ? WEIR_MINHASH_CHARS : WEIR_MINHASH_WORDS;
  o.ngram = (int)arg_i(a, "ngram");
  o.bands = (int)arg_i(a, "bands");
  o.rows = (int)arg_i(a, "rows");
  o.seed = (uint64_t)arg_i(a, "seed");
  o.normalize = arg_i(a, "normalize") ? WEIR_MINHASH_NORM_NONE : WEIR_MINHASH_NORM_DATATROVE;
  static const int keeps[] = {WEIR_MINHASH_KEEP_FIRST, WEIR_MINHASH_KEEP_LONGEST,
                              WEIR_MINHASH_KEEP_SMALLEST_ID};
  o.keep = keeps[arg_i(a, "keep")];
  o.id_column = arg_s(a, "id_column");
  o.verify = (int)arg_i(a, "verify");
  o.threshold = arg_f(a, "threshold");
  o.memory_limit = (size_t)arg_i(a, "memory_limit");
  o.work_dir = arg_s(a, "work_dir");
  return weir_dedup_minhash(p, arg_in(a), &o);
}

static const weir_opt_def where_opts[] = {
  OPT_REQ("expr", WEIR_OPT_STRING, "\"score > 0.5 and lang = 'en'\": the rows kept"),
};
static weir_op *build_where(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  return weir_filter_where(p, arg_in(a), arg_s(a, "expr"));
}

static const weir_opt_def pack_opts[] = {
  OPT("column", WEIR_OPT_STRING, "tokens", "the token lists (LIST of integers)"),
  OPT("seq_len", WEIR_OPT_INT, "2048", "tokens per row"),
  OPT("eos_id", WEIR_OPT_INT, "-1", "separator after each document; -1 = none"),
  OPT("pad_id", WEIR_OPT_INT, "0", "padding of the last row"),
  OPT_ENUM("last", "pad|drop|carry", "pad", "the last partial row: padded, dropped, or kept for the next run"),
  OPT("doc_starts", WEIR_OPT_BOOL, "false", "add doc_starts (where documents begin in each row)"),
  OPT("num_tokens", WEIR_OPT_BOOL, "false", "add num_tokens (tokens that are not padding)"),
  OPT("any_order", WEIR_OPT_BOOL, "false", "take blocks as they come (rows then depend on timing)"),
};
static weir_op *build_pack(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_pack_options o = WEIR_PACK_OPTIONS_INIT;
  o.column = arg_s(a, "column");
  o.seq_len = (size_t)arg_i(a, "seq_len");
  o.eos_id = given(a, "eos_id") ? arg_i(a, "eos_id") : -1;
  o.pad_id = arg_i(a, "pad_id");
  static const int lasts[] = {WEIR_PACK_LAST_PAD, WEIR_PACK_LAST_DROP, WEIR_PACK_LAST_CARRY};
  o.last = lasts[arg_i(a, "last")];
  o.doc_starts = (int)arg_i(a, "doc_starts");
  o.num_tokens = (int)arg_i(a, "num_tokens");
  o.any_order = (int)arg_i(a, "any_order");
  o.name = a->name;
  return weir_pack_sequences(p, arg_in(a), &o);
}

static const weir_opt_def tokenize_opts[] = {
  OPT_REQ("tokenizer", WEIR_OPT_STRING, "tokenizer.json, .tiktoken or SentencePiece .model file"),
  OPT("pattern", WEIR_OPT_STRING, NULL, ".tiktoken: split regex or encoding name (cl100k_base...); unset = from the file name"),
  OPT("column", WEIR_OPT_STRING, "text", "the text column"),
  OPT_ENUM("on_error", "fail|skip", "fail", "a null or invalid UTF-8 text: end the run, or skip the row and count it"),
  OPT("max_workers", WEIR_OPT_INT, "0", "most workers; 0 = the scheduler's choice"),
  OPT("add_special", WEIR_OPT_BOOL, "true", "run the post-processor (tokenizers' add_special_tokens)"),
  OPT("split_special", WEIR_OPT_BOOL, "false", "special tokens written in the text are ordinary text"),
  OPT("replace_invalid", WEIR_OPT_BOOL, "false", "invalid UTF-8 reads as U+FFFD instead of being malformed"),
  OPT("add_bos", WEIR_OPT_BOOL, "false", "prepend the BOS id"),
  OPT("add_eos", WEIR_OPT_BOOL, "false", "append the EOS id"),
  OPT("bos_id", WEIR_OPT_INT, "-1", "BOS id; -1 = the tokenizer's"),
  OPT("eos_id", WEIR_OPT_INT, "-1", "EOS id; -1 = the tokenizer's"),
  OPT("tokens_column", WEIR_OPT_STRING, "tokens", "the ids (list of int32)"),
  OPT("count_column", WEIR_OPT_STRING, "token_count", "the number of ids; \"\" = none"),
  OPT("keep_text", WEIR_OPT_BOOL, "true", "keep the text column"),
};
static weir_op *build_tokenize(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  const weir_tokenizer *t = cli_tokenizer(arg_s(a, "tokenizer"), arg_s(a, "pattern"));
  if (!t) return NULL;
  weir_tokenize_options o = WEIR_TOKENIZE_OPTIONS_INIT;
  o.common.column = arg_s(a, "column");
  o.common.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.common.max_workers = (int)arg_i(a, "max_workers");
  o.common.name = a->name;
  o.flags = (arg_i(a, "add_special") ? WEIR_TOKENIZE_ADD_SPECIAL : 0u) |
            (arg_i(a, "split_special") ? WEIR_TOKENIZE_SPLIT_SPECIAL : 0u) |
            (arg_i(a, "replace_invalid") ? WEIR_TOKENIZE_REPLACE_INVALID : 0u);
  o.add_bos = (int)arg_i(a, "add_bos");
  o.add_eos = (int)arg_i(a, "add_eos");
  o.bos_id = given(a, "bos_id") ? arg_i(a, "bos_id") : -1;
  o.eos_id = given(a, "eos_id") ? arg_i(a, "eos_id") : -1;
  o.tokens_column = arg_s(a, "tokens_column");
  o.count_column = arg_s(a, "count_column");
  o.keep_text = given(a, "keep_text") ? (int)arg_i(a, "keep_text") : 1;
  return weir_tokenize(p, arg_in(a), t, &o);
}

static const weir_opt_def chunk_opts[] = {
  OPT("column", WEIR_OPT_STRING, "text", "the text column"),
  OPT_ENUM("on_error", "fail|skip", "fail", "a null or invalid UTF-8 text: end the run, or skip the row and count it"),
  OPT("max_workers", WEIR_OPT_INT, "0", "most workers; 0 = the scheduler's choice"),
  OPT_ENUM("method", "paragraphs|sentences|chars|markdown|tokens", "paragraphs", "how documents are cut"),
  OPT("chunk_size", WEIR_OPT_INT, "0", "code points (tokens: tokens) per chunk at most; 0 = 1000 (tokens: 128)"),
  OPT("overlap", WEIR_OPT_INT, "-1", "chars, tokens: shared by neighbouring chunks; -1 = none (tokens: 30)"),
  OPT("tokenizer", WEIR_OPT_STRING, NULL, "method tokens: tokenizer.json, .tiktoken or .model file"),
  OPT("pattern", WEIR_OPT_STRING, NULL, "method tokens, .tiktoken: split regex or encoding name"),
  OPT("doc_id_column", WEIR_OPT_STRING, "doc_id", "the input's document id column (else ordinals)"),
  OPT("keep_columns", WEIR_OPT_BOOL, "true", "repeat the document's other columns on its chunks"),
};
static weir_op *build_chunk(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.common.column = arg_s(a, "column");
  o.common.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.common.max_workers = (int)arg_i(a, "max_workers");
  o.common.name = a->name;
  static const int methods[] = {WEIR_CHUNK_PARAGRAPHS, WEIR_CHUNK_SENTENCES, WEIR_CHUNK_CHARS,
                                WEIR_CHUNK_MARKDOWN, WEIR_CHUNK_TOKENS};
  o.method = methods[arg_i(a, "method")];
  if (o.method == WEIR_CHUNK_TOKENS) {
    if (!arg_s(a, "tokenizer")) {
      weir_set_last_errmsg("method tokens needs the option tokenizer (a tokenizer file)");
      return NULL;
    }
    if (!(o.tokenizer = cli_tokenizer(arg_s(a, "tokenizer"), arg_s(a, "pattern")))) return NULL;
  }
  o.chunk_size = (size_t)arg_i(a, "chunk_size");
  o.overlap = given(a, "overlap") ? (long)arg_i(a, "overlap") : -1;
  o.doc_id_column = arg_s(a, "doc_id_column");
  o.keep_columns = given(a, "keep_columns") ? (int)arg_i(a, "keep_columns") : 1;
  return weir_chunk_text(p, arg_in(a), &o);
}

static const weir_opt_def chunk_files_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder, glob (** recursive), http(s):// or s3:// prefix: one document a file"),
  OPT_ENUM("on_error", "fail|skip", "fail", "a file not UTF-8 or unreadable: end the run, or skip its rest and count it"),
  OPT_ENUM("method", "paragraphs|sentences|chars|markdown|tokens", "paragraphs", "how documents are cut"),
  OPT("chunk_size", WEIR_OPT_INT, "0", "code points (tokens: tokens) per chunk at most; 0 = 1000 (tokens: 128)"),
  OPT("overlap", WEIR_OPT_INT, "-1", "chars, tokens: shared by neighbouring chunks; -1 = none (tokens: 30)"),
  OPT("tokenizer", WEIR_OPT_STRING, NULL, "method tokens: tokenizer.json, .tiktoken or .model file"),
  OPT("pattern", WEIR_OPT_STRING, NULL, "method tokens, .tiktoken: split regex or encoding name"),
  OPT("max_block_bytes", WEIR_OPT_SIZE, "0", "chunk text per output block; 0 = 4 MiB (at most the pipeline's block size)"),
  OPT("max_requests", WEIR_OPT_INT, "16", "concurrent network requests"),
  OPT("max_retries", WEIR_OPT_INT, "5", "network retries; -1 = none"),
  OPT("s3_endpoint", WEIR_OPT_STRING, NULL, "S3 endpoint; unset = $AWS_ENDPOINT_URL or AWS"),
  OPT("s3_region", WEIR_OPT_STRING, NULL, "S3 region; unset = $AWS_REGION or us-east-1"),
  OPT("s3_access_key", WEIR_OPT_STRING, NULL, "unset = $AWS_ACCESS_KEY_ID"),
  OPT("s3_secret_key", WEIR_OPT_STRING, NULL, "unset = $AWS_SECRET_ACCESS_KEY"),
};
static weir_op *build_chunk_files(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_read_options r = WEIR_READ_OPTIONS_INIT;
  r.max_requests = (int)arg_i(a, "max_requests");
  r.max_retries = (int)arg_i(a, "max_retries");
  r.s3_endpoint = arg_s(a, "s3_endpoint");
  r.s3_region = arg_s(a, "s3_region");
  r.s3_access_key = arg_s(a, "s3_access_key");
  r.s3_secret_key = arg_s(a, "s3_secret_key");
  weir_chunk_options o = WEIR_CHUNK_OPTIONS_INIT;
  o.common.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.common.name = a->name;
  static const int methods[] = {WEIR_CHUNK_PARAGRAPHS, WEIR_CHUNK_SENTENCES, WEIR_CHUNK_CHARS,
                                WEIR_CHUNK_MARKDOWN, WEIR_CHUNK_TOKENS};
  o.method = methods[arg_i(a, "method")];
  if (o.method == WEIR_CHUNK_TOKENS) {
    if (!arg_s(a, "tokenizer")) {
      weir_set_last_errmsg("method tokens needs the option tokenizer (a tokenizer file)");
      return NULL;
    }
    if (!(o.tokenizer = cli_tokenizer(arg_s(a, "tokenizer"), arg_s(a, "pattern")))) return NULL;
  }
  o.chunk_size = (size_t)arg_i(a, "chunk_size");
  o.overlap = given(a, "overlap") ? (long)arg_i(a, "overlap") : -1;
  o.max_block_bytes = (size_t)arg_i(a, "max_block_bytes");
  return weir_chunk_files(p, arg_s(a, "uri"), &r, &o);
}

static const weir_op_kind kinds[] = {
  KIND("text_doc_id", "content hash and consecutive integer ids, in input order", WEIR_KIND_TRANSFORM,
       1, 1, doc_id_opts, build_doc_id),
  KIND("text_pii_redact", "replace e-mail, IP, phone, card, IBAN, SSN, credentials, cloud keys",
       WEIR_KIND_TRANSFORM, 1, 1, pii_opts, build_pii),
  KIND("text_lang_id", "language id (CLD2 or fastText), keep the wanted languages",
       WEIR_KIND_TRANSFORM, 1, 1, lang_opts, build_lang),
  KIND("text_quality_gopher", "DataTrove's Gopher quality filter", WEIR_KIND_TRANSFORM, 1, 1,
       gopher_opts, build_gopher),
  KIND("text_quality_gopher_repetition", "DataTrove's Gopher repetition filter",
       WEIR_KIND_TRANSFORM, 1, 1, repetition_opts, build_repetition),
  KIND("text_quality_c4", "DataTrove's C4 quality filter (and line rewrites)", WEIR_KIND_TRANSFORM,
       1, 1, c4_opts, build_c4),
  KIND("text_quality_fineweb", "DataTrove's FineWeb quality filter", WEIR_KIND_TRANSFORM, 1, 1,
       fineweb_opts, build_fineweb),
  KIND("dedup_exact", "drop rows whose (normalised) key was seen before; global, in input order",
       WEIR_KIND_TRANSFORM, 1, 1, dedup_opts, build_dedup),
  KIND("dedup_minhash", "drop near-duplicates (MinHash LSH, global; a barrier: rows come out when the input ends)",
       WEIR_KIND_TRANSFORM, 1, 1, minhash_opts, build_minhash),
  KIND("filter_where", "keep the rows an expression holds for", WEIR_KIND_TRANSFORM, 1, 1,
       where_opts, build_where),
  KIND("tokenize", "token ids of the text (tokenizer.json, tiktoken, SentencePiece) as `tokens` and `token_count`",
       WEIR_KIND_TRANSFORM, 1, 1, tokenize_opts, build_tokenize),
  KIND("pack_sequences", "documents' token lists, EOS between, in rows of exactly seq_len tokens",
       WEIR_KIND_TRANSFORM, 1, 1, pack_opts, build_pack),
  KIND("chunk_text", "RAG chunks (paragraphs, sentences, characters, Markdown sections) with their byte ranges",
       WEIR_KIND_TRANSFORM, 1, 1, chunk_opts, build_chunk),
  KIND("chunk_files", "RAG chunks of each file as one document, read in pieces (documents larger than memory)",
       WEIR_KIND_SOURCE, 0, 0, chunk_files_opts, build_chunk_files),
};

const cli_op_table cli_ops_text = {kinds, sizeof kinds / sizeof kinds[0]};
