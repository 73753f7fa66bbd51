/* Loading a Hugging Face tokenizer.json: the model (BPE, WordPiece,
 * Unigram, WordLevel), added tokens, normalizers, pre-tokenizers, the
 * post-processor and the decoder; anything else is refused naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/json.h"
#include "text/tokenizer/tok.h"
#include "weir/error.h"

typedef struct {
  weir_tokenizer *t;
  tj_doc *d;
  const char *path;
} ld;

#define NOTSUP(L, ...) weir__tok_err(WEIR_ENOTSUP, "weir_tokenizer_load: %s: " __VA_ARGS__)
#define BAD(L, ...) weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_load: %s: " __VA_ARGS__)

static const char *type_of(const ld *L, const tj_node *n) { return weir__tj_str(L->d, n, "type", NULL); }

static const char *adup(ld *L, const char *s, size_t len) { return weir__tok_strdup(&L->t->arena, s, len); }

static int is(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

static int behavior_of(const char *s) {
  if (is(s, "Removed")) return SPLIT_REMOVED;
  if (is(s, "Isolated")) return SPLIT_ISOLATED;
  if (is(s, "MergedWithPrevious")) return SPLIT_MERGED_PREV;
  if (is(s, "MergedWithNext")) return SPLIT_MERGED_NEXT;
  if (is(s, "Contiguous")) return SPLIT_CONTIGUOUS;
  return -1;
}

static int prepend_of(const tj_doc *d, const tj_node *n) {
  const char *ps = weir__tj_str(d, n, "prepend_scheme", NULL);
  if (is(ps, "always")) return PREPEND_ALWAYS;
  if (is(ps, "first")) return PREPEND_FIRST;
  if (is(ps, "never")) return PREPEND_NEVER;
  /* Older files: add_prefix_space true means always. */
  return weir__tj_bool(d, n, "add_prefix_space", 1) ? PREPEND_ALWAYS : PREPEND_NEVER;
}

/* A `pattern` object: {"Regex": "..."} or {"String": "..."}. */
static int pattern_of(ld *L, const tj_node *pat, const char *who, int *re, const char **lit, size_t *lit_len) {
  size_t len;
  const char *s;
  *re = -1;
  if ((s = weir__tj_str(L->d, pat, "Regex", &len))) {
    int r = weir__tok_regex_add(L->t, s, len, who, 1);
    if (r < 0)
      return r;
    *re = r;
    return WEIR_OK;
  }
  if ((s = weir__tj_str(L->d, pat, "String", &len))) {
    *lit = adup(L, s, len);
    *lit_len = len;
    return *lit ? WEIR_OK : WEIR_ENOMEM;
  }
  return BAD(L, "%s: pattern is neither Regex nor String", L->path, who);
}

static int add_pretok(ld *L, tok_pretok p) {
  weir_tokenizer *t = L->t;
  tok_pretok *n = realloc(t->pretoks, (t->npretoks + 1) * sizeof *n);
  if (!n)
    return WEIR_ENOMEM;
  t->pretoks = n;
  t->pretoks[t->npretoks++] = p;
  return WEIR_OK;
}

static int load_pretok(ld *L, const tj_node *n) {
  if (weir__tj_is_null(n))
    return WEIR_OK;
  const char *ty = type_of(L, n);
  tok_pretok p = {0};
  p.re = -1;
  int rc;
  if (is(ty, "Sequence")) {
    const tj_node *arr = weir__tj_get(L->d, n, "pretokenizers");
    for (const tj_node *c = weir__tj_child(L->d, arr); c; c = weir__tj_next(L->d, c))
      if ((rc = load_pretok(L, c)))
        return rc;
    return WEIR_OK;
  }
  if (is(ty, "ByteLevel")) {
    p.kind = PT_BYTELEVEL;
    p.add_prefix_space = weir__tj_bool(L->d, n, "add_prefix_space", 1);
    if (weir__tj_bool(L->d, n, "use_regex", 1)) {
      int r = weir__tok_regex_add(L->t, weir__re_gpt2, strlen(weir__re_gpt2), "ByteLevel", 1);
      if (r < 0)
        return r;
      p.re = r;
    }
    L->t->byte_level = 1;
  } else if (is(ty, "Split")) {
    p.kind = PT_SPLIT;
    if ((rc = pattern_of(L, weir__tj_get(L->d, n, "pattern"), "pre-tokenizer Split", &p.re, &p.lit, &p.lit_len)))
      return rc;
    const char *b = weir__tj_str(L->d, n, "behavior", NULL);
    if ((p.behavior = behavior_of(b)) < 0)
      return NOTSUP(L, "pre-tokenizer Split: behavior %s is not supported", L->path, b ? b : "(none)");
    p.invert = weir__tj_bool(L->d, n, "invert", 0);
  } else if (is(ty, "Whitespace")) {
    p.kind = PT_WHITESPACE;
    static const char w[] = "\\w+|[^\\w\\s]+";
    int r = weir__tok_regex_add(L->t, w, strlen(w), "Whitespace", 1);
    if (r < 0)
      return r;
    p.re = r;
  } else if (is(ty, "WhitespaceSplit")) {
    p.kind = PT_WHITESPACE_SPLIT;
  } else if (is(ty, "Punctuation")) {
    p.kind = PT_PUNCT;
    const char *b = weir__tj_str(L->d, n, "behavior", NULL);
    p.behavior = b ? behavior_of(b) : SPLIT_ISOLATED;
    if (p.behavior < 0)
      return NOTSUP(L, "pre-tokenizer Punctuation: behavior %s is not supported", L->path, b);
  } else if (is(ty, "Digits")) {
    p.kind = PT_DIGITS;
    p.individual = weir__tj_bool(L->d, n, "individual_digits", 0);
  } else if (is(ty, "BertPreTokenizer")) {
    p.kind = PT_BERT;
  } else if (is(ty, "CharDelimiterSplit")) {
    p.kind = PT_CHAR_DELIM;
    size_t len;
    const char *dl = weir__tj_str(L->d, n, "delimiter", &len);
    if (!dl || !len)
      return BAD(L, "pre-tokenizer CharDelimiterSplit without a delimiter", L->path);
    p.lit = adup(L, dl, len);
    p.lit_len = len;
  } else if (is(ty, "Metaspace")) {
    p.kind = PT_METASPACE;
    size_t len;
    const char *r = weir__tj_str(L->d, n, "replacement", &len);
    if (!r)
      r = "\xE2\x96\x81", len = 3;
    p.lit = adup(L, r, len);
    p.lit_len = len;
    p.prepend = prepend_of(L->d, n);
    p.split = weir__tj_bool(L->d, n, "split", 1);
  } else {
    return NOTSUP(L, "pre-tokenizer %s is not supported", L->path, ty ? ty : "(without a type)");
  }
  return add_pretok(L, p);
}

static int add_norm(ld *L, tok_norm nm) {
  weir_tokenizer *t = L->t;
  tok_norm *n = realloc(t->norms, (t->nnorms + 1) * sizeof *n);
  if (!n)
    return WEIR_ENOMEM;
  t->norms = n;
  t->norms[t->nnorms++] = nm;
  return WEIR_OK;
}

static int load_norm(ld *L, const tj_node *n) {
  if (weir__tj_is_null(n))
    return WEIR_OK;
  const char *ty = type_of(L, n);
  tok_norm m = {0};
  m.re = -1;
  int rc;
  if (is(ty, "Sequence")) {
    const tj_node *arr = weir__tj_get(L->d, n, "normalizers");
    for (const tj_node *c = weir__tj_child(L->d, arr); c; c = weir__tj_next(L->d, c))
      if ((rc = load_norm(L, c)))
        return rc;
    return WEIR_OK;
  }
  if (is(ty, "NFC")) m.kind = NM_NFC;
  else if (is(ty, "NFD")) m.kind = NM_NFD;
  else if (is(ty, "NFKC")) m.kind = NM_NFKC;
  else if (is(ty, "NFKD")) m.kind = NM_NFKD;
  else if (is(ty, "Lowercase")) m.kind = NM_LOWER;
  else if (is(ty, "StripAccents")) m.kind = NM_STRIP_ACCENTS;
  else if (is(ty, "Replace")) {
    m.kind = NM_REPLACE;
    if ((rc = pattern_of(L, weir__tj_get(L->d, n, "pattern"), "normalizer Replace", &m.re, &m.pat, &m.pat_len)))
      return rc;
    size_t len;
    const char *w = weir__tj_str(L->d, n, "content", &len);
    m.with = adup(L, w ? w : "", w ? len : 0);
    m.with_len = w ? len : 0;
  } else if (is(ty, "BertNormalizer")) {
    m.kind = NM_BERT;
    m.clean_text = weir__tj_bool(L->d, n, "clean_text", 1);
    m.chinese = weir__tj_bool(L->d, n, "handle_chinese_chars", 1);
    m.lowercase = weir__tj_bool(L->d, n, "lowercase", 1);
    const tj_node *sa = weir__tj_get(L->d, n, "strip_accents");
    m.strip_accents = weir__tj_is_null(sa) ? -1 : sa->type == TJ_TRUE;
  } else if (is(ty, "Strip")) {
    m.kind = NM_STRIP;
    m.left = weir__tj_bool(L->d, n, "strip_left", 1);
    m.right = weir__tj_bool(L->d, n, "strip_right", 1);
  } else if (is(ty, "Prepend")) {
    m.kind = NM_PREPEND;
    size_t len;
    const char *w = weir__tj_str(L->d, n, "prepend", &len);
    m.with = adup(L, w ? w : "", w ? len : 0);
    m.with_len = w ? len : 0;
  } else {
    return NOTSUP(L, "normalizer %s is not supported", L->path, ty ? ty : "(without a type)");
  }
  if ((rc = weir__tok_norm_check(&m)))
    return NOTSUP(L, "normalizer %s is not supported by this build", L->path, ty);
  return add_norm(L, m);
}

static int add_dec(ld *L, tok_dec dc) {
  weir_tokenizer *t = L->t;
  tok_dec *n = realloc(t->decs, (t->ndecs + 1) * sizeof *n);
  if (!n)
    return WEIR_ENOMEM;
  t->decs = n;
  t->decs[t->ndecs++] = dc;
  return WEIR_OK;
}

static int load_dec(ld *L, const tj_node *n) {
  if (weir__tj_is_null(n))
    return WEIR_OK;
  L->t->has_decoder = 1;
  const char *ty = type_of(L, n);
  tok_dec dc = {0};
  int rc;
  size_t len;
  const char *s;
  if (is(ty, "Sequence")) {
    const tj_node *arr = weir__tj_get(L->d, n, "decoders");
    for (const tj_node *c = weir__tj_child(L->d, arr); c; c = weir__tj_next(L->d, c))
      if ((rc = load_dec(L, c)))
        return rc;
    return WEIR_OK;
  }
  if (is(ty, "ByteLevel")) {
    dc.kind = DEC_BYTELEVEL;
  } else if (is(ty, "WordPiece")) {
    dc.kind = DEC_WORDPIECE;
    s = weir__tj_str(L->d, n, "prefix", &len);
    dc.a = adup(L, s ? s : "##", s ? len : 2);
    dc.a_len = s ? len : 2;
    dc.cleanup = weir__tj_bool(L->d, n, "cleanup", 1);
  } else if (is(ty, "Metaspace")) {
    dc.kind = DEC_METASPACE;
    s = weir__tj_str(L->d, n, "replacement", &len);
    dc.a = adup(L, s ? s : "\xE2\x96\x81", s ? len : 3);
    dc.a_len = s ? len : 3;
    dc.prepend = prepend_of(L->d, n);
  } else if (is(ty, "Replace")) {
    dc.kind = DEC_REPLACE;
    const tj_node *pat = weir__tj_get(L->d, n, "pattern");
    if (!(s = weir__tj_str(L->d, pat, "String", &len)))
      return NOTSUP(L, "decoder Replace with a regex pattern is not supported", L->path);
    dc.a = adup(L, s, len);
    dc.a_len = len;
    s = weir__tj_str(L->d, n, "content", &len);
    dc.b = adup(L, s ? s : "", s ? len : 0);
    dc.b_len = s ? len : 0;
  } else if (is(ty, "ByteFallback")) {
    dc.kind = DEC_BYTE_FALLBACK;
  } else if (is(ty, "Fuse")) {
    dc.kind = DEC_FUSE;
  } else if (is(ty, "Strip")) {
    dc.kind = DEC_STRIP;
    s = weir__tj_str(L->d, n, "content", &len);
    dc.a = adup(L, s ? s : " ", s ? len : 1);
    dc.a_len = s ? len : 1;
    const tj_node *x = weir__tj_get(L->d, n, "start"), *y = weir__tj_get(L->d, n, "stop");
    dc.start = x && x->type == TJ_NUM ? (int)x->num : 0;
    dc.stop = y && y->type == TJ_NUM ? (int)y->num : 0;
  } else if (is(ty, "BPEDecoder")) {
    dc.kind = DEC_BPE;
    s = weir__tj_str(L->d, n, "suffix", &len);
    dc.a = adup(L, s ? s : "</w>", s ? len : 4);
    dc.a_len = s ? len : 4;
  } else {
    return NOTSUP(L, "decoder %s is not supported", L->path, ty ? ty : "(without a type)");
  }
  return add_dec(L, dc);
}

static int post_push(ld *L, int32_t id) {
  tok_post *p = &L->t->post;
  int32_t *n = realloc(p->single, (p->nsingle + 1) * sizeof *n);
  if (!n)
    return WEIR_ENOMEM;
  p->single = n;
  p->single[p->nsingle++] = id;
  p->present = 1;
  return WEIR_OK;
}

/* [token, id] of Bert/RobertaProcessing. */
static int32_t pair_id(ld *L, const tj_node *n) {
  const tj_node *c = weir__tj_child(L->d, n);
  if (!c || !(c = weir__tj_next(L->d, c)) || c->type != TJ_NUM)
    return -1;
  return (int32_t)c->num;
}

static int load_post(ld *L, const tj_node *n) {
  if (weir__tj_is_null(n))
    return WEIR_OK;
  const char *ty = type_of(L, n);
  int rc;
  if (is(ty, "Sequence")) {
    const tj_node *arr = weir__tj_get(L->d, n, "processors");
    for (const tj_node *c = weir__tj_child(L->d, arr); c; c = weir__tj_next(L->d, c))
      if ((rc = load_post(L, c)))
        return rc;
    return WEIR_OK;
  }
  if (is(ty, "ByteLevel"))
    return WEIR_OK; /* it only trims offsets: ids are unchanged */
  if (L->t->post.present)
    return NOTSUP(L, "post-processor: two processors that add tokens", L->path);
  if (is(ty, "BertProcessing") || is(ty, "RobertaProcessing")) {
    int32_t cls = pair_id(L, weir__tj_get(L->d, n, "cls")), sep = pair_id(L, weir__tj_get(L->d, n, "sep"));
    if (cls < 0 || sep < 0)
      return BAD(L, "post-processor %s without cls/sep ids", L->path, ty);
    if ((rc = post_push(L, cls)) || (rc = post_push(L, -1)) || (rc = post_push(L, sep)))
      return rc;
    return WEIR_OK;
  }
  if (!is(ty, "TemplateProcessing"))
    return NOTSUP(L, "post-processor %s is not supported", L->path, ty ? ty : "(without a type)");
  const tj_node *single = weir__tj_get(L->d, n, "single"), *specials = weir__tj_get(L->d, n, "special_tokens");
  int seen_a = 0;
  for (const tj_node *c = weir__tj_child(L->d, single); c; c = weir__tj_next(L->d, c)) {
    const tj_node *sp = weir__tj_get(L->d, c, "SpecialToken"), *sq = weir__tj_get(L->d, c, "Sequence");
    if (sq) {
      if (seen_a++)
        return NOTSUP(L, "post-processor TemplateProcessing: $A twice in the single template", L->path);
      if ((rc = post_push(L, -1)))
        return rc;
      continue;
    }
    const char *name = weir__tj_str(L->d, sp, "id", NULL);
    const tj_node *st = name ? weir__tj_get(L->d, specials, name) : NULL;
    const tj_node *ids = weir__tj_get(L->d, st, "ids");
    if (!ids || !ids->n)
      return BAD(L, "post-processor TemplateProcessing: special token %s has no ids", L->path, name ? name : "?");
    for (const tj_node *i = weir__tj_child(L->d, ids); i; i = weir__tj_next(L->d, i))
      if ((rc = post_push(L, (int32_t)i->num)))
        return rc;
  }
  if (!seen_a && (rc = post_push(L, -1)))
    return rc;
  return WEIR_OK;
}

static int load_added(ld *L, const tj_node *arr) {
  weir_tokenizer *t = L->t;
  size_t n = arr && arr->type == TJ_ARR ? arr->n : 0;
  if (!n)
    return WEIR_OK;
  t->added = calloc(n, sizeof *t->added);
  if (!t->added)
    return WEIR_ENOMEM;
  for (const tj_node *c = weir__tj_child(L->d, arr); c; c = weir__tj_next(L->d, c)) {
    size_t len;
    const char *s = weir__tj_str(L->d, c, "content", &len);
    const tj_node *id = weir__tj_get(L->d, c, "id");
    if (!s || !id || id->type != TJ_NUM || id->num < 0)
      return BAD(L, "added_tokens[%zu]: no content or id", L->path, t->nadded);
    tok_added *a = &t->added[t->nadded++];
    a->id = (int32_t)id->num;
    int rc = weir__tok_set_token(t, a->id, s, len);
    if (rc)
      return rc;
    a->content = t->spell[a->id];
    a->len = len;
    a->special = weir__tj_bool(L->d, c, "special", 0);
    a->single_word = weir__tj_bool(L->d, c, "single_word", 0);
    a->lstrip = weir__tj_bool(L->d, c, "lstrip", 0);
    a->rstrip = weir__tj_bool(L->d, c, "rstrip", 0);
    a->normalized = weir__tj_bool(L->d, c, "normalized", !a->special);
    t->flags[a->id] |= TF_ADDED | (a->special ? TF_SPECIAL : 0);
  }
  return weir__tok_added_finish(t);
}

/* vocab {"token": id} of BPE, WordPiece and WordLevel. */
static int load_vocab_obj(ld *L, const tj_node *vocab) {
  weir_tokenizer *t = L->t;
  if (!vocab || vocab->type != TJ_OBJ)
    return BAD(L, "model.vocab is not an object", L->path);
  int32_t maxid = -1;
  for (const tj_node *c = weir__tj_child(L->d, vocab); c; c = weir__tj_next(L->d, c))
    if (c->type == TJ_NUM && c->num > maxid)
      maxid = (int32_t)c->num;
  if (weir__tok_set_size(t, (size_t)maxid + 1))
    return WEIR_ENOMEM;
  char *tmp = malloc(4096);
  if (!tmp)
    return WEIR_ENOMEM;
  int rc = WEIR_OK;
  for (const tj_node *c = weir__tj_child(L->d, vocab); c && !rc; c = weir__tj_next(L->d, c)) {
    if (c->type != TJ_NUM || c->num < 0) {
      rc = BAD(L, "model.vocab[\"%s\"] is not an id", L->path, c->key);
      break;
    }
    int32_t id = (int32_t)c->num;
    if ((rc = weir__tok_set_token(t, id, c->key, c->key_len)))
      break;
    const char *key = t->spell[id];
    size_t klen = c->key_len;
    if (t->byte_level && klen <= 4096) {
      long r = weir__bytelevel_unmap(key, klen, tmp);
      if (r < 0)
        continue; /* not made of mapped bytes: BPE can never produce it */
      char *raw = weir__tok_strdup(&t->arena, tmp, (size_t)r);
      if (!raw) {
        rc = WEIR_ENOMEM;
        break;
      }
      t->raw[id] = raw;
      t->raw_len[id] = (uint32_t)r;
      key = raw;
      klen = (size_t)r;
    }
    rc = weir__tok_map_put(&t->model_map, key, klen, id);
  }
  free(tmp);
  return rc;
}

static int load_bpe(ld *L, const tj_node *m) {
  weir_tokenizer *t = L->t;
  const tj_node *dropout = weir__tj_get(L->d, m, "dropout");
  if (!weir__tj_is_null(dropout) && dropout->num != 0.0)
    return NOTSUP(L, "model BPE with dropout (random segmentation) is not supported", L->path);
  size_t len;
  const char *s;
  if ((s = weir__tj_str(L->d, m, "continuing_subword_prefix", &len))) {
    t->cont_prefix = adup(L, s, len);
    t->cont_prefix_len = len;
  }
  if ((s = weir__tj_str(L->d, m, "end_of_word_suffix", &len))) {
    t->eow_suffix = adup(L, s, len);
    t->eow_suffix_len = len;
  }
  t->fuse_unk = weir__tj_bool(L->d, m, "fuse_unk", 0);
  t->byte_fallback = weir__tj_bool(L->d, m, "byte_fallback", 0);
  t->ignore_merges = weir__tj_bool(L->d, m, "ignore_merges", 0);
  int rc = load_vocab_obj(L, weir__tj_get(L->d, m, "vocab"));
  if (rc)
    return rc;
  if ((s = weir__tj_str(L->d, m, "unk_token", &len)))
    t->unk = weir__tok_map_get(&t->spell_map, s, len);
  for (int b = 0; b < 256; b++) {
    char c = (char)b, fb[8];
    t->byte_id[b] = t->byte_level ? weir__tok_map_get(&t->model_map, &c, 1) : -1;
    snprintf(fb, sizeof fb, "<0x%02X>", b);
    t->byte_fallback_id[b] = weir__tok_map_get(&t->spell_map, fb, 6);
  }
  const tj_node *merges = weir__tj_get(L->d, m, "merges");
  uint32_t rank = 0;
  char *buf = NULL;
  size_t cap = 0;
  for (const tj_node *c = weir__tj_child(L->d, merges); c; c = weir__tj_next(L->d, c), rank++) {
    const char *a, *b;
    size_t al, bl;
    if (c->type == TJ_STR) { /* "a b" */
      const char *sp = memchr(c->s + 1, ' ', c->len > 0 ? c->len - 1 : 0);
      if (!sp) {
        free(buf);
        return BAD(L, "model.merges[%u] \"%s\" is not two tokens", L->path, rank, c->s);
      }
      a = c->s;
      al = (size_t)(sp - c->s);
      b = sp + 1;
      bl = c->len - al - 1;
    } else if (c->type == TJ_ARR && c->n == 2) { /* ["a", "b"] */
      const tj_node *x = weir__tj_child(L->d, c), *y = weir__tj_next(L->d, x);
      if (x->type != TJ_STR || y->type != TJ_STR) {
        free(buf);
        return BAD(L, "model.merges[%u] is not two strings", L->path, rank);
      }
      a = x->s, al = x->len, b = y->s, bl = y->len;
    } else {
      free(buf);
      return BAD(L, "model.merges[%u] is malformed", L->path, rank);
    }
    int32_t ia = weir__tok_map_get(&t->spell_map, a, al), ib = weir__tok_map_get(&t->spell_map, b, bl);
    size_t skip = t->cont_prefix_len && bl >= t->cont_prefix_len && memcmp(b, t->cont_prefix, t->cont_prefix_len) == 0
                      ? t->cont_prefix_len : 0;
    if (al + bl > cap) {
      cap = (al + bl) * 2 + 64;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        return WEIR_ENOMEM;
      }
      buf = nb;
    }
    memcpy(buf, a, al);
    memcpy(buf + al, b + skip, bl - skip);
    int32_t in = weir__tok_map_get(&t->spell_map, buf, al + bl - skip);
    if (ia < 0 || ib < 0 || in < 0) {
      int which = ia < 0 ? 0 : ib < 0 ? 1 : 2;
      rc = BAD(L, "model.merges[%u]: %s \"%.*s\" is not in the vocabulary", L->path, rank,
               which == 2 ? "the merged token" : "token",
               (int)(which == 0 ? al : which == 1 ? bl : al + bl - skip), which == 0 ? a : which == 1 ? b : buf);
      free(buf);
      return rc;
    }
    if ((rc = weir__tok_pairs_put(&t->merges, ia, ib, rank, in))) {
      free(buf);
      return rc;
    }
  }
  free(buf);
  t->word = weir__bpe_word;
  return WEIR_OK;
}

static int load_model(ld *L, const tj_node *m) {
  weir_tokenizer *t = L->t;
  const char *ty = type_of(L, m);
  if (!ty)
    ty = weir__tj_get(L->d, m, "merges") ? "BPE" : NULL;
  if (is(ty, "BPE")) {
    t->model = MODEL_BPE;
    return load_bpe(L, m);
  }
  size_t len;
  const char *s;
  if (is(ty, "WordPiece") || is(ty, "WordLevel")) {
    int wp = is(ty, "WordPiece");
    t->model = wp ? MODEL_WORDPIECE : MODEL_WORDLEVEL;
    if (wp) {
      s = weir__tj_str(L->d, m, "continuing_subword_prefix", &len);
      t->cont_prefix = adup(L, s ? s : "##", s ? len : 2);
      t->cont_prefix_len = s ? len : 2;
      const tj_node *mx = weir__tj_get(L->d, m, "max_input_chars_per_word");
      t->max_chars = mx && mx->type == TJ_NUM ? (size_t)mx->num : 100;
    }
    int rc = load_vocab_obj(L, weir__tj_get(L->d, m, "vocab"));
    if (rc)
      return rc;
    if ((s = weir__tj_str(L->d, m, "unk_token", &len)))
      t->unk = weir__tok_map_get(&t->spell_map, s, len);
    t->word = wp ? weir__wordpiece_word : weir__wordlevel_word;
    return WEIR_OK;
  }
  if (is(ty, "Unigram")) {
    t->model = MODEL_UNIGRAM;
    const tj_node *vocab = weir__tj_get(L->d, m, "vocab");
    if (!vocab || vocab->type != TJ_ARR)
      return BAD(L, "model Unigram: vocab is not a list", L->path);
    if (weir__tok_set_size(t, vocab->n) || !(t->scores = malloc((vocab->n + 1) * sizeof *t->scores)))
      return WEIR_ENOMEM;
    t->min_score = 1e300;
    int32_t id = 0;
    for (const tj_node *c = weir__tj_child(L->d, vocab); c; c = weir__tj_next(L->d, c), id++) {
      const tj_node *p = weir__tj_child(L->d, c), *sc = p ? weir__tj_next(L->d, p) : NULL;
      if (!p || p->type != TJ_STR || !sc || sc->type != TJ_NUM)
        return BAD(L, "model Unigram: vocab[%d] is not [piece, score]", L->path, id);
      int rc = weir__tok_set_token(t, id, p->s, p->len);
      if (rc)
        return rc;
      if (weir__tok_map_get(&t->model_map, p->s, p->len) < 0 &&
          (rc = weir__tok_map_put(&t->model_map, t->spell[id], p->len, id)))
        return rc;
      t->scores[id] = sc->num;
      if (sc->num < t->min_score)
        t->min_score = sc->num;
      /* Unigram's Viterbi looks ahead at most the longest piece. */
      if (p->len > t->max_chars)
        t->max_chars = p->len;
    }
    const tj_node *u = weir__tj_get(L->d, m, "unk_id");
    t->unk = u && u->type == TJ_NUM ? (int32_t)u->num : -1;
    if (t->unk >= id)
      return BAD(L, "model Unigram: unk_id %d is outside the vocabulary", L->path, t->unk);
    t->unigram_byte_fallback = weir__tj_bool(L->d, m, "byte_fallback", 0);
    for (int b = 0; b < 256; b++) {
      char fb[8];
      snprintf(fb, sizeof fb, "<0x%02X>", b);
      t->byte_fallback_id[b] = weir__tok_map_get(&t->spell_map, fb, 6);
    }
    t->word = weir__unigram_word;
    return WEIR_OK;
  }
  return NOTSUP(L, "model %s is not supported", L->path, ty ? ty : "(without a type)");
}

/* The token named by tokenizer_config.json's `key`: a string or an
 * AddedToken object. */
static int32_t config_token(weir_tokenizer *t, const tj_doc *d, const char *key) {
  const tj_node *n = weir__tj_get(d, weir__tj_root(d), key);
  size_t len = 0;
  const char *s = NULL;
  if (n && n->type == TJ_STR)
    s = n->s, len = n->len;
  else if (n && n->type == TJ_OBJ)
    s = weir__tj_str(d, n, "content", &len);
  return s ? weir__tok_map_get(&t->spell_map, s, len) : -1;
}

static int32_t named(const weir_tokenizer *t, const char *const *names) {
  for (; *names; names++) {
    int32_t id = weir__tok_map_get(&t->spell_map, *names, strlen(*names));
    if (id >= 0)
      return id;
  }
  return -1;
}

int weir__read_file(const char *path, char **data, size_t *len);

static void special_ids(weir_tokenizer *t, const char *path) {
  t->bos = t->eos = t->pad = t->unk_tok = -1;
  /* tokenizer_config.json beside it, as transformers reads it. */
  size_t pl = strlen(path);
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path + 1) : 0;
  char *cfg = malloc(dl + 32);
  if (cfg) {
    memcpy(cfg, path, dl);
    strcpy(cfg + dl, "tokenizer_config.json");
    char *data;
    size_t len;
    if (weir__read_file(cfg, &data, &len) == WEIR_OK) {
      tj_doc d;
      if (weir__tj_parse(&d, data, len) == 0) {
        t->bos = config_token(t, &d, "bos_token");
        t->eos = config_token(t, &d, "eos_token");
        t->pad = config_token(t, &d, "pad_token");
        t->unk_tok = config_token(t, &d, "unk_token");
      }
      weir__tj_free(&d);
      free(data);
    }
    free(cfg);
  }
  (void)pl;
  /* The template: its first special before $A, its last after. */
  if (t->post.present && t->post.nsingle) {
    if (t->bos < 0 && t->post.single[0] >= 0)
      t->bos = t->post.single[0];
    if (t->eos < 0 && t->post.single[t->post.nsingle - 1] >= 0)
      t->eos = t->post.single[t->post.nsingle - 1];
  }
  if (t->unk_tok < 0)
    t->unk_tok = t->unk;
  static const char *const bos[] = {"<|begin_of_text|>", "<s>", "[CLS]", "<bos>", "<|startoftext|>", NULL};
  static const char *const eos[] = {"<|end_of_text|>", "</s>", "<|endoftext|>", "[SEP]", "<eos>", NULL};
  static const char *const pad[] = {"[PAD]", "<pad>", "<|pad|>", NULL};
  static const char *const unk[] = {"[UNK]", "<unk>", "<|unk|>", NULL};
  if (t->bos < 0)
    t->bos = named(t, bos);
  if (t->eos < 0)
    t->eos = named(t, eos);
  if (t->pad < 0)
    t->pad = named(t, pad);
  if (t->unk_tok < 0)
    t->unk_tok = named(t, unk);
}

int weir__tok_load_hf(weir_tokenizer *t, const char *path) {
  char *data;
  size_t len;
  int rc = weir__read_file(path, &data, &len);
  if (rc)
    return rc;
  tj_doc d;
  rc = weir__tj_parse(&d, data, len);
  if (rc) {
    rc = rc == -2 ? WEIR_ENOMEM : BAD(L, "not JSON: %s", path, d.err);
    weir__tj_free(&d);
    free(data);
    return rc;
  }
  ld L = {t, &d, path};
  const tj_node *root = weir__tj_root(&d);
  const tj_node *model = weir__tj_get(&d, root, "model");
  t->kind = TOK_HF;
  t->unk = -1;
  if (!root || root->type != TJ_OBJ || !model || model->type != TJ_OBJ) {
    rc = BAD(L, "no \"model\" object: not a tokenizer.json", path);
    goto out;
  }
  const tj_node *trunc = weir__tj_get(&d, root, "truncation"), *pad = weir__tj_get(&d, root, "padding");
  if (!weir__tj_is_null(trunc)) {
    rc = NOTSUP(L, "truncation is set (weir encodes whole texts; remove it from the file)", path);
    goto out;
  }
  if (!weir__tj_is_null(pad)) {
    const tj_node *st = weir__tj_get(&d, pad, "strategy");
    if (!(st && st->type == TJ_STR && is(st->s, "BatchLongest"))) {
      rc = NOTSUP(L, "padding to a fixed length is not supported (remove it from the file)", path);
      goto out;
    }
  }
  /* The pre-tokenizer first: whether it is byte level decides how the
   * vocabulary is read. */
  if ((rc = load_pretok(&L, weir__tj_get(&d, root, "pre_tokenizer"))) ||
      (rc = load_norm(&L, weir__tj_get(&d, root, "normalizer"))) || (rc = load_model(&L, model)) ||
      (rc = load_added(&L, weir__tj_get(&d, root, "added_tokens"))) ||
      (rc = load_post(&L, weir__tj_get(&d, root, "post_processor"))) ||
      (rc = load_dec(&L, weir__tj_get(&d, root, "decoder"))))
    goto out;
  if (t->nnorms)
    t->normalize = weir__tok_normalize;
  for (size_t i = 0; i < t->post.nsingle; i++)
    if (t->post.single[i] >= (int32_t)t->size) {
      rc = BAD(L, "post-processor: id %d is outside the vocabulary", path, t->post.single[i]);
      goto out;
    }
  weir__tok_pretok_finish(t);
  special_ids(t, path);
out:
  weir__tj_free(&d);
  free(data);
  return rc;
}
