/* Loading a tiktoken rank file (`<base64 token> <rank>` per line): the
 * ranks become the BPE merge table (a pair's rank is the rank of the
 * token it makes, which is tiktoken's merge order), with the split regex
 * and special tokens of the named encoding or of the options. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "weir/error.h"

int weir__read_file(const char *path, char **data, size_t *len);

static int b64(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes base64 s[0..len) into out; returns the byte count or -1. */
static long unb64(const char *s, size_t len, unsigned char *out) {
  uint32_t acc = 0;
  int bits = 0;
  long n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '=')
      break;
    int v = b64((unsigned char)s[i]);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (unsigned char)(acc >> bits);
    }
  }
  return n;
}

typedef struct {
  const char *name;
  const char *pattern;
  const char *specials[6];
  int32_t ids[6];
} known_enc;

static const known_enc KNOWN[] = {
    {"o200k_base", weir__re_o200k, {"<|endoftext|>", "<|endofprompt|>"}, {199999, 200018}},
    {"cl100k_base", weir__re_cl100k,
     {"<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>"},
     {100257, 100258, 100259, 100260, 100276}},
    {"p50k_edit", weir__re_p50k, {"<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"},
     {50256, 50281, 50282, 50283}},
    {"p50k_base", weir__re_p50k, {"<|endoftext|>"}, {50256}},
    {"r50k_base", weir__re_p50k, {"<|endoftext|>"}, {50256}},
    {"gpt2", weir__re_p50k, {"<|endoftext|>"}, {50256}},
};

static const known_enc *known_by_name(const char *name, int prefix) {
  for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) {
    size_t l = strlen(KNOWN[i].name);
    if (prefix ? strncmp(name, KNOWN[i].name, l) == 0 : strcmp(name, KNOWN[i].name) == 0)
      return &KNOWN[i];
  }
  return NULL;
}

static int add_special(weir_tokenizer *t, const char *s, int32_t id) {
  tok_added *n = realloc(t->added, (t->nadded + 1) * sizeof *n);
  if (!n)
    return WEIR_ENOMEM;
  t->added = n;
  size_t len = strlen(s);
  int rc = weir__tok_set_token(t, id, s, len);
  if (rc)
    return rc;
  t->added[t->nadded++] = (tok_added){t->spell[id], len, id, 1, 0, 0, 0, 0};
  t->flags[id] |= TF_ADDED | TF_SPECIAL;
  return WEIR_OK;
}

int weir__tok_load_tiktoken(weir_tokenizer *t, const char *path, const weir_tokenizer_options *o) {
  char *data;
  size_t len;
  int rc = weir__read_file(path, &data, &len);
  if (rc)
    return rc;
  t->kind = TOK_TIKTOKEN;
  t->model = MODEL_BPE;
  t->byte_level = 1;
  t->ignore_merges = 1; /* tiktoken takes a piece that is a token as it is */
  t->unk = -1;
  unsigned char *tmp = malloc(len + 1);
  if (!tmp) {
    free(data);
    return WEIR_ENOMEM;
  }
  size_t line = 0;
  for (char *p = data, *end = data + len; p < end && !rc;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *le = nl ? nl : end;
    line++;
    if (le > p && le[-1] == '\r')
      le--;
    if (le == p) {
      p = nl ? nl + 1 : end;
      continue;
    }
    char *sp = memchr(p, ' ', (size_t)(le - p));
    long n = sp ? unb64(p, (size_t)(sp - p), tmp) : -1;
    char *rend = NULL;
    long rank = sp ? strtol(sp + 1, &rend, 10) : -1;
    if (n <= 0 || rank < 0 || rank > INT32_MAX - 1 || rend != le) {
      rc = weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_load: %s:%zu: not `<base64 token> <rank>`", path, line);
      break;
    }
    if (weir__tok_map_get(&t->spell_map, (const char *)tmp, (size_t)n) >= 0) {
      rc = weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_load: %s:%zu: token listed twice", path, line);
      break;
    }
    if ((rc = weir__tok_set_token(t, (int32_t)rank, (const char *)tmp, (size_t)n)))
      break;
    rc = weir__tok_map_put(&t->model_map, t->spell[rank], (size_t)n, (int32_t)rank);
    p = nl ? nl + 1 : end;
  }
  free(tmp);
  free(data);
  if (rc)
    return rc;
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    t->byte_id[b] = weir__tok_map_get(&t->model_map, &c, 1);
  }
  /* Every split of a token into two tokens is a merge of that token's
   * rank. */
  for (size_t id = 0; id < t->size; id++) {
    const char *s = t->spell[id];
    size_t l = t->spell_len[id];
    if (!s || l < 2)
      continue;
    for (size_t k = 1; k < l; k++) {
      int32_t a = weir__tok_map_get(&t->model_map, s, k), b = weir__tok_map_get(&t->model_map, s + k, l - k);
      if (a >= 0 && b >= 0 && (rc = weir__tok_pairs_put(&t->merges, a, b, (uint32_t)id, (int32_t)id)))
        return rc;
    }
  }
  /* The split pattern and special tokens. */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const known_enc *k = o && o->pattern ? known_by_name(o->pattern, 0) : NULL;
  const char *pattern = o && o->pattern && !k ? o->pattern : NULL;
  if (!k && !pattern)
    k = known_by_name(base, 1);
  if (!pattern)
    pattern = k ? k->pattern : weir__re_cl100k;
  int re = weir__tok_regex_add(t, pattern, strlen(pattern), "tiktoken pattern", 0);
  if (re < 0)
    return re;
  tok_pretok pt = {0};
  pt.kind = PT_SPLIT;
  pt.behavior = SPLIT_ISOLATED;
  pt.re = re;
  t->pretoks = malloc(sizeof *t->pretoks);
  if (!t->pretoks)
    return WEIR_ENOMEM;
  t->pretoks[0] = pt;
  t->npretoks = 1;
  if (o && o->special_tokens) {
    for (size_t i = 0; i < o->num_special; i++)
      if (!o->special_tokens[i] || !o->special_ids || o->special_ids[i] < 0)
        return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_load: special token %zu has no text or id", i);
      else if ((rc = add_special(t, o->special_tokens[i], o->special_ids[i])))
        return rc;
  } else if (k) {
    for (size_t i = 0; i < 6 && k->specials[i]; i++)
      if ((rc = add_special(t, k->specials[i], k->ids[i])))
        return rc;
  }
  weir__tok_added_finish(t);
  weir__tok_pretok_finish(t);
  t->word = weir__bpe_word;
  t->eos = weir__tok_map_get(&t->spell_map, "<|endoftext|>", 13);
  return WEIR_OK;
}
