// SentencePiece models (.model) through libsentencepiece: loading, the
// vocabulary tables weir's lookups read, encoding with byte offsets, and
// decoding. C++ behind the C functions tok.h declares.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "text/tokenizer/tok.h"
#include "weir/error.h"
}

struct weir__spm {
  sentencepiece::SentencePieceProcessor sp;
};

extern "C" int weir__tok_load_spm(weir_tokenizer *t, const char *path) {
  weir__spm *s = new (std::nothrow) weir__spm;
  if (!s)
    return WEIR_ENOMEM;
  t->spm = s;
  t->kind = TOK_SPM;
  FILE *f = std::fopen(path, "rb");
  if (!f)
    return weir__tok_err(WEIR_ENOTFOUND, "weir_tokenizer_load: cannot open %s", path);
  std::fclose(f);
  auto st = s->sp.Load(path);
  if (!st.ok())
    return weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_load: %s: not a SentencePiece model: %s", path,
                         st.ToString().c_str());
  int n = s->sp.GetPieceSize();
  if (n <= 0)
    return weir__tok_err(WEIR_EFORMAT, "weir_tokenizer_load: %s: empty SentencePiece model", path);
  if (weir__tok_set_size(t, (size_t)n))
    return WEIR_ENOMEM;
  for (int i = 0; i < n; i++) {
    const std::string &p = s->sp.IdToPiece(i);
    if (weir__tok_set_token(t, i, p.data(), p.size()))
      return WEIR_ENOMEM;
    if (s->sp.IsControl(i))
      t->flags[i] |= TF_SPECIAL;
  }
  t->bos = s->sp.bos_id();
  t->eos = s->sp.eos_id();
  t->pad = s->sp.pad_id();
  t->unk_tok = s->sp.unk_id();
  return WEIR_OK;
}

extern "C" void weir__spm_free(struct weir__spm *s) { delete s; }

extern "C" int weir__spm_encode(const weir_tokenizer *t, weir_tokenizer_cache *c, const char *text, size_t len,
                                unsigned flags) {
  (void)flags;
  try {
    sentencepiece::ImmutableSentencePieceText spt =
        t->spm->sp.EncodeAsImmutableProto(absl::string_view(text, len));
    for (size_t i = 0; i < spt.pieces_size(); i++) {
      auto p = spt.pieces((int)i);
      int rc = weir__tok_out_push(c, (int32_t)p.id(), p.begin(), p.end());
      if (rc)
        return rc;
    }
  } catch (const std::bad_alloc &) {
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

extern "C" int weir__spm_decode(const weir_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                                size_t *len) {
  (void)skip_special; /* SentencePiece decodes control tokens to nothing */
  try {
    std::vector<int> v;
    v.reserve(n);
    for (size_t i = 0; i < n; i++) {
      if (ids[i] < 0 || (size_t)ids[i] >= t->size)
        return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_decode: id %d (at %zu) is not in the vocabulary", ids[i], i);
      v.push_back(ids[i]);
    }
    std::string s;
    auto st = t->spm->sp.Decode(v, &s);
    if (!st.ok())
      return weir__tok_err(WEIR_EINVAL, "weir_tokenizer_decode: %s", st.ToString().c_str());
    char *o = (char *)std::malloc(s.size() + 1);
    if (!o)
      return WEIR_ENOMEM;
    std::memcpy(o, s.data(), s.size());
    o[s.size()] = 0;
    *out = o;
    if (len)
      *len = s.size();
  } catch (const std::bad_alloc &) {
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}
