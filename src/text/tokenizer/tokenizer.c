/* The tokenizer's public face: loading by file kind, freeing, decoding,
 * and the vocabulary and special-token lookups. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "text/tokenizer/tok.h"
#include "text/tokenizer/uni.h"
#include "weir/error.h"

int weir__tok_err(int rc, const char *fmt, ...) {
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return weir__set_last_error(rc, "%s", buf);
}

/* Reads a whole file (NUL-terminated); WEIR_ENOTFOUND when it is not
 * there, WEIR_EIO when it cannot be read. */
int weir__read_file(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return weir__tok_err(errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "weir_tokenizer_load: cannot open %s: %s", path,
                         strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) {
      fclose(f);
      return WEIR_ENOMEM;
    }
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1)
      break;
    cap *= 2;
    char *nb = realloc(buf, cap);
    if (!nb)
      free(buf);
    buf = nb;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return weir__tok_err(WEIR_EIO, "weir_tokenizer_load: cannot read %s", path);
  }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return WEIR_OK;
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

int weir_tokenizer_load_ex(const char *path, const weir_tokenizer_options *o, weir_tokenizer **out) {
  if (!path || !out)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_load: NULL %s", path ? "out" : "path");
  *out = NULL;
  if (o && o->version != WEIR_TOKENIZER_OPTIONS_VERSION)
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_load: options version %u, expected %u", o->version,
                         WEIR_TOKENIZER_OPTIONS_VERSION);
  weir_tokenizer *t = calloc(1, sizeof *t);
  if (!t)
    return WEIR_ENOMEM;
  t->unk = t->bos = t->eos = t->pad = t->unk_tok = t->simple_re = -1;
  for (int b = 0; b < 256; b++)
    t->byte_id[b] = t->byte_fallback_id[b] = -1;
  t->path = strdup(path);
  int rc;
  if (!t->path)
    rc = WEIR_ENOMEM;
  else if (ends_with(path, ".tiktoken"))
    rc = weir__tok_load_tiktoken(t, path, o);
  else if (ends_with(path, ".model"))
    rc = weir__tok_load_spm(t, path);
  else if (ends_with(path, ".json"))
    rc = weir__tok_load_hf(t, path);
  else
    rc = weir__tok_err(WEIR_ENOTSUP, "weir_tokenizer_load: %s: unknown kind (expected tokenizer.json, .tiktoken or "
                       ".model)", path);
  if (rc) {
    weir_tokenizer_free(t);
    return rc;
  }
  *out = t;
  return WEIR_OK;
}

int weir_tokenizer_load(const char *path, weir_tokenizer **out) { return weir_tokenizer_load_ex(path, NULL, out); }

void weir_tokenizer_free(weir_tokenizer *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->nre; i++)
    pcre2_code_free(t->re[i]);
  free(t->re);
  if (t->spm)
    weir__spm_free(t->spm);
  weir__tok_map_free(&t->spell_map);
  weir__tok_map_free(&t->model_map);
  weir__tok_pairs_free(&t->merges);
  free(t->spell);
  free(t->spell_len);
  free(t->raw);
  free(t->raw_len);
  free(t->flags);
  free(t->scores);
  free(t->added);
  free(t->norms);
  free(t->pretoks);
  free(t->post.single);
  free(t->decs);
  free(t->path);
  weir__tok_arena_free(&t->arena);
  free(t);
}

int weir_tokenizer_decode(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                          size_t *len) {
  if (!t || !text || (!ids && n))
    return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_decode: NULL argument");
  *text = NULL;
  if (len)
    *len = 0;
  if (t->kind == TOK_SPM)
    return weir__spm_decode(t, ids, n, skip_special, text, len);
  if (t->kind == TOK_TIKTOKEN) {
    /* tiktoken: the tokens' bytes, read as UTF-8 with U+FFFD
     * (decode(errors="replace")). */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      if (ids[i] < 0 || (size_t)ids[i] >= t->size || !t->raw[ids[i]])
        return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_decode: id %d (at %zu) is not in the vocabulary", ids[i], i);
      if (!(skip_special && (t->flags[ids[i]] & TF_SPECIAL)))
        total += t->raw_len[ids[i]];
    }
    char *raw = malloc(total + 1), *o = malloc(total * 3 + 1);
    if (!raw || !o) {
      free(raw);
      free(o);
      return WEIR_ENOMEM;
    }
    size_t k = 0, m = 0;
    for (size_t i = 0; i < n; i++)
      if (!(skip_special && (t->flags[ids[i]] & TF_SPECIAL))) {
        memcpy(raw + k, t->raw[ids[i]], t->raw_len[ids[i]]);
        k += t->raw_len[ids[i]];
      }
    for (size_t i = 0; i < k;) {
      size_t bad = weir__uni_invalid_at(raw + i, k - i) + i;
      memcpy(o + m, raw + i, bad - i);
      m += bad - i;
      i = bad;
      if (i < k) {
        memcpy(o + m, "\xEF\xBF\xBD", 3);
        m += 3;
        i += weir__uni_bad_len(raw, k, i);
      }
    }
    o[m] = 0;
    free(raw);
    *text = o;
    if (len)
      *len = m;
    return WEIR_OK;
  }
  return weir__tok_decode_hf(t, ids, n, skip_special, text, len);
}

size_t weir_tokenizer_vocab_size(const weir_tokenizer *t) { return t ? t->size : 0; }

int32_t weir_tokenizer_token_to_id(const weir_tokenizer *t, const char *token, size_t len) {
  if (!t || (!token && len))
    return WEIR_EINVAL;
  int32_t id = weir__tok_map_get(&t->spell_map, token ? token : "", len);
  return id >= 0 ? id : WEIR_ENOTFOUND;
}

const char *weir_tokenizer_id_to_token(const weir_tokenizer *t, int32_t id, size_t *len) {
  if (!t || id < 0 || (size_t)id >= t->size || !t->spell[id])
    return NULL;
  if (len)
    *len = t->spell_len[id];
  return t->spell[id];
}

int weir_tokenizer_is_special(const weir_tokenizer *t, int32_t id) {
  return t && id >= 0 && (size_t)id < t->size && (t->flags[id] & TF_SPECIAL) != 0;
}

int32_t weir_tokenizer_bos_id(const weir_tokenizer *t) { return t ? t->bos : -1; }
int32_t weir_tokenizer_eos_id(const weir_tokenizer *t) { return t ? t->eos : -1; }
int32_t weir_tokenizer_pad_id(const weir_tokenizer *t) { return t ? t->pad : -1; }
int32_t weir_tokenizer_unk_id(const weir_tokenizer *t) { return t ? t->unk_tok : -1; }
