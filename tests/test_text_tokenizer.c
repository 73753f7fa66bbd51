/* The tokenizer core against the reference packages: tokenizers trained
 * in the test by the `tokenizers` PyPI package on generated multilingual
 * text (byte-level BPE with GPT-2's, cl100k's and o200k's split regexes,
 * added tokens), run over a corpus of hard cases (emoji, CJK, combining
 * marks, whitespace runs, \r\n, digits, added tokens inside words,
 * invalid UTF-8): every id and every decode equal to the package's. Also
 * the refusals (unsupported components named, malformed files), the
 * vocabulary lookups and the per-thread cache. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-tokenizer"); }
TestSuite(text_tokenizer, .init = make_tmp, .fini = tmpdir_remove, .timeout = 900);

static const char *venv_python(void) {
  static char buf[1024];
  const char *venv = getenv("WEIR_VENV");
  if (venv && *venv)
    snprintf(buf, sizeof buf, "%s/bin/python", venv);
  else
    snprintf(buf, sizeof buf, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  return buf;
}

/* Runs a reference script of tests/text/ into the test's folder. */
static void reference(const char *module, const char *script) {
  const char *py = venv_python();
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "'%s' -c 'import %s' 2>/dev/null", py, module);
  if (access(py, X_OK) != 0 || system(cmd) != 0)
    srv_missing("no Python environment with the tokenizer reference packages (run .ci/setup)");
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/text/%s' '%s'", py, WEIR_TEST_SOURCE_DIR, script, tmpdir);
  cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static void put_file(const char *name, const char *content) {
  FILE *f = fopen(path_of(name), "w");
  cr_assert_not_null(f);
  fputs(content, f);
  fclose(f);
}

static size_t unhex(const char *h, char *out) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (char)v;
  }
  out[n] = 0;
  return n;
}

static char *show(const char *s, size_t n) {
  static char buf[4][600];
  static int k;
  char *o = buf[k++ & 3];
  size_t j = 0;
  for (size_t i = 0; i < n && j + 8 < sizeof buf[0]; i++) {
    unsigned char c = (unsigned char)s[i];
    j += (size_t)(c < 32 || c == '\\' ? snprintf(o + j, 8, "\\x%02x", c) : snprintf(o + j, 8, "%c", c));
  }
  o[j] = 0;
  return o;
}

/* Compares every case of cases.tsv (written by a reference script) with
 * weir; returns the number of cases. */
static size_t compare_cases(const char *cases) {
  FILE *f = fopen(cases, "r");
  cr_assert_not_null(f, "%s", cases);
  size_t cap = 1 << 22, ncases = 0, same_ids = 0, same_dec = 0;
  char *line = malloc(cap), *text = malloc(cap), *want = malloc(cap), *want_all = malloc(cap);
  int32_t *ref = malloc(cap / 2 * sizeof *ref);
  char cur[64] = "";
  weir_tokenizer *tok = NULL;
  weir_tokenizer_cache *cache = NULL;
  while (fgets(line, (int)cap, f)) {
    line[strcspn(line, "\n")] = 0;
    char *save = NULL;
    char *name = strtok_r(line, "\t", &save), *flags_s = strtok_r(NULL, "\t", &save);
    char *hex = strtok_r(NULL, "\t", &save), *ids_s = strtok_r(NULL, "\t", &save);
    char *dec_h = strtok_r(NULL, "\t", &save), *dec_all_h = strtok_r(NULL, "\t", &save);
    cr_assert(name && flags_s && hex && ids_s && dec_h && dec_all_h, "malformed line %zu of %s", ncases + 1, cases);
    if (strcmp(name, cur) != 0) {
      weir_tokenizer_cache_destroy(cache);
      weir_tokenizer_free(tok);
      snprintf(cur, sizeof cur, "%s", name);
      char path[800];
      snprintf(path, sizeof path, "%s/%s", tmpdir, name);
      if (!strchr(name, '.'))
        strcat(path, ".json");
      cr_assert_eq(weir_tokenizer_load(path, &tok), WEIR_OK, "%s: %s", path, weir_last_errmsg());
      cr_assert_eq(weir_tokenizer_cache_create(tok, &cache), WEIR_OK);
    }
    unsigned flags = (unsigned)atoi(flags_s);
    size_t len = unhex(strcmp(hex, "-") ? hex : "", text);
    size_t nref = 0;
    for (char *p = strcmp(ids_s, "-") ? ids_s : "", *e; *p; p = e) {
      long v = strtol(p, &e, 10);
      if (e == p)
        break;
      ref[nref++] = (int32_t)v;
    }
    size_t wl = unhex(strcmp(dec_h, "-") ? dec_h : "", want), wal = unhex(strcmp(dec_all_h, "-") ? dec_all_h : "", want_all);
    const int32_t *ids;
    const size_t *offs;
    size_t n;
    int rc = weir_tokenizer_encode_cached(tok, cache, text, len, flags, &ids, &offs, &n);
    cr_assert_eq(rc, WEIR_OK, "%s on '%s': %s", name, show(text, len), weir_last_errmsg());
    int ok = n == nref && (n == 0 || memcmp(ids, ref, n * sizeof *ids) == 0);
    if (!ok) {
      char a[4000] = "", b[4000] = "";
      for (size_t i = 0; i < n && strlen(a) < 3900; i++)
        snprintf(a + strlen(a), sizeof a - strlen(a), " %d", ids[i]);
      for (size_t i = 0; i < nref && strlen(b) < 3900; i++)
        snprintf(b + strlen(b), sizeof b - strlen(b), " %d", ref[i]);
      cr_expect(ok, "%s on '%s':\n weir%s\n  ref%s", name, show(text, len), a, b);
    }
    same_ids += ok;
    /* Offsets: inside the text, in order. */
    for (size_t i = 0; i < n; i++) {
      cr_expect(offs[2 * i] <= offs[2 * i + 1] && offs[2 * i + 1] <= len, "%s: token %zu offsets %zu..%zu of %zu",
                name, i, offs[2 * i], offs[2 * i + 1], len);
      if (i)
        cr_expect(offs[2 * i] >= offs[2 * (i - 1)], "%s: offsets go back at token %zu", name, i);
    }
    /* Invalid UTF-8 is refused unless replacement was asked for. */
    if (flags & WEIR_TOKENIZE_REPLACE_INVALID)
      cr_expect_eq(weir_tokenizer_encode_cached(tok, cache, text, len, flags & ~4u, &ids, &offs, &n), WEIR_EFORMAT);
    char *dec;
    size_t dl;
    cr_assert_eq(weir_tokenizer_decode(tok, ref, nref, 1, &dec, &dl), WEIR_OK, "%s", weir_last_errmsg());
    int dok = dl == wl && (wl == 0 || memcmp(dec, want, wl) == 0);
    cr_expect(dok, "%s decode of '%s':\n weir '%s'\n  ref '%s'", name, show(text, len), show(dec, dl), show(want, wl));
    weir_free(dec);
    cr_assert_eq(weir_tokenizer_decode(tok, ref, nref, 0, &dec, &dl), WEIR_OK);
    int dok2 = dl == wal && (wal == 0 || memcmp(dec, want_all, wal) == 0);
    cr_expect(dok2, "%s decode (specials kept) of '%s':\n weir '%s'\n  ref '%s'", name, show(text, len),
              show(dec, dl), show(want_all, wal));
    weir_free(dec);
    same_dec += dok && dok2;
    ncases++;
  }
  fclose(f);
  fprintf(stderr, "%s: %zu cases, ids equal in %zu, decodes equal in %zu\n", cases, ncases, same_ids, same_dec);
  cr_assert_eq(same_ids, ncases);
  cr_assert_eq(same_dec, ncases);
  weir_tokenizer_cache_destroy(cache);
  weir_tokenizer_free(tok);
  free(line);
  free(text);
  free(want);
  free(want_all);
  free(ref);
  return ncases;
}

Test(text_tokenizer, byte_level_bpe_parity_with_tokenizers) {
  reference("tokenizers", "tokenizers_reference.py");
  cr_assert_gt(compare_cases(path_of("cases.tsv")), 1000);
}

Test(text_tokenizer, lookups_and_allocating_encode) {
  reference("tokenizers", "tokenizers_reference.py");
  weir_tokenizer *t;
  cr_assert_eq(weir_tokenizer_load(path_of("gpt2.json"), &t), WEIR_OK, "%s", weir_last_errmsg());
  int32_t eot = weir_tokenizer_token_to_id(t, "<|endoftext|>", 13);
  cr_assert_eq(eot, 0);
  cr_assert(weir_tokenizer_is_special(t, eot));
  cr_assert_eq(weir_tokenizer_eos_id(t), eot);
  int32_t hello = weir_tokenizer_token_to_id(t, "hello", 5);
  cr_assert_geq(hello, 0);
  cr_assert_not(weir_tokenizer_is_special(t, hello));
  cr_assert_eq(weir_tokenizer_token_to_id(t, "no such token", 13), WEIR_ENOTFOUND);
  size_t len;
  const char *sp = weir_tokenizer_id_to_token(t, hello, &len);
  cr_assert(sp && len == 5 && memcmp(sp, "hello", 5) == 0);
  /* Byte-level spellings: the space byte is Ġ. */
  int32_t space = weir_tokenizer_token_to_id(t, "\xC4\xA0", 2);
  cr_assert_geq(space, 0);
  cr_assert_gt(weir_tokenizer_vocab_size(t), (size_t)1000);
  cr_assert_null(weir_tokenizer_id_to_token(t, (int32_t)weir_tokenizer_vocab_size(t), NULL));

  const char *text = "say hello to the wörld<|endoftext|> 東京 😀";
  int32_t *ids;
  size_t n;
  cr_assert_eq(weir_tokenizer_encode(t, text, strlen(text), &ids, &n), WEIR_OK);
  cr_assert_gt(n, 5);
  weir_tokenizer_cache *c;
  cr_assert_eq(weir_tokenizer_cache_create(t, &c), WEIR_OK);
  int32_t small[4];
  size_t m;
  cr_assert_eq(weir_tokenizer_encode_into(t, c, text, strlen(text), WEIR_TOKENIZE_ADD_SPECIAL, small, 4, &m), WEIR_OK);
  cr_assert_eq(m, n, "encode_into counts every token, as snprintf");
  cr_assert_eq(memcmp(small, ids, 4 * sizeof *ids), 0);
  /* Offsets: the added token's bytes are exactly it. */
  const int32_t *cids;
  const size_t *offs;
  cr_assert_eq(weir_tokenizer_encode_cached(t, c, text, strlen(text), 0, &cids, &offs, &m), WEIR_OK);
  int found = 0;
  for (size_t i = 0; i < m; i++)
    if (cids[i] == eot) {
      cr_assert_eq(offs[2 * i + 1] - offs[2 * i], 13);
      cr_assert_eq(memcmp(text + offs[2 * i], "<|endoftext|>", 13), 0);
      found = 1;
    }
  cr_assert(found);
  /* The token ranges tile the text: a byte-level BPE has no normalizer. */
  size_t at = 0;
  for (size_t i = 0; i < m; i++) {
    cr_assert_eq(offs[2 * i], at, "token %zu starts at %zu, expected %zu", i, offs[2 * i], at);
    at = offs[2 * i + 1];
  }
  cr_assert_eq(at, strlen(text));
  /* Split-special: the added special token is ordinary text. */
  cr_assert_eq(weir_tokenizer_encode_cached(t, c, text, strlen(text), WEIR_TOKENIZE_SPLIT_SPECIAL, &cids, NULL, &m),
               WEIR_OK);
  for (size_t i = 0; i < m; i++)
    cr_assert_neq(cids[i], eot);
  weir_free(ids);
  cr_assert_eq(weir_tokenizer_encode(t, "bad \xff", 5, &ids, &n), WEIR_EFORMAT);
  cr_assert_null(ids);
  cr_assert(strstr(weir_last_errmsg(), "byte 4"), "%s", weir_last_errmsg());
  weir_tokenizer_cache_destroy(c);
  weir_tokenizer_free(t);
}

/* Every thread encodes the same texts on the shared tokenizer with its own
 * cache; all must agree with the single-threaded answer. */
typedef struct {
  const weir_tokenizer *t;
  const char **texts;
  size_t n;
  const int32_t *want;
  const size_t *want_off;
  int bad;
} thr_arg;

static void *thr(void *p) {
  thr_arg *a = p;
  weir_tokenizer_cache *c;
  if (weir_tokenizer_cache_create(a->t, &c))
    return (void *)1;
  for (int round = 0; round < 20; round++)
    for (size_t i = 0; i < a->n; i++) {
      const int32_t *ids;
      size_t n;
      if (weir_tokenizer_encode_cached(a->t, c, a->texts[i], strlen(a->texts[i]), 0, &ids, NULL, &n) ||
          n != a->want_off[i + 1] - a->want_off[i] || memcmp(ids, a->want + a->want_off[i], n * sizeof *ids))
        a->bad++;
    }
  weir_tokenizer_cache_destroy(c);
  return NULL;
}

Test(text_tokenizer, shared_tokenizer_per_thread_caches) {
  reference("tokenizers", "tokenizers_reference.py");
  weir_tokenizer *t;
  cr_assert_eq(weir_tokenizer_load(path_of("cl100k.json"), &t), WEIR_OK, "%s", weir_last_errmsg());
  const char *texts[] = {"The quick brown fox", "中文分词测试", "emoji 😀👍🏽 and digits 1234567",
                         "   whitespace\r\n\r\n runs  ", "hello wörld xyz"};
  size_t nt = sizeof texts / sizeof texts[0];
  int32_t want[512];
  size_t off[8] = {0};
  weir_tokenizer_cache *c;
  cr_assert_eq(weir_tokenizer_cache_create(t, &c), WEIR_OK);
  for (size_t i = 0; i < nt; i++) {
    const int32_t *ids;
    size_t n;
    cr_assert_eq(weir_tokenizer_encode_cached(t, c, texts[i], strlen(texts[i]), 0, &ids, NULL, &n), WEIR_OK);
    memcpy(want + off[i], ids, n * sizeof *ids);
    off[i + 1] = off[i] + n;
  }
  weir_tokenizer_cache_destroy(c);
  pthread_t th[4];
  thr_arg a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = (thr_arg){t, texts, nt, want, off, 0};
    cr_assert_eq(pthread_create(&th[i], NULL, thr, &a[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    cr_assert_null(r);
    cr_assert_eq(a[i].bad, 0, "thread %d disagreed %d times", i, a[i].bad);
  }
  weir_tokenizer_free(t);
}


Test(text_tokenizer, refusals_name_the_component) {
  weir_tokenizer *t = (weir_tokenizer *)1;
  cr_assert_eq(weir_tokenizer_load(path_of("missing.json"), &t), WEIR_ENOTFOUND);
  cr_assert_null(t);
  put_file("broken.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}}");
  cr_assert_eq(weir_tokenizer_load(path_of("broken.json"), &t), WEIR_EFORMAT, "%s", weir_last_errmsg());
  cr_assert(strstr(weir_last_errmsg(), "broken.json") && strstr(weir_last_errmsg(), "byte"), "%s", weir_last_errmsg());
  static const struct { const char *json, *named; } cases[] = {
      {"{\"model\": {\"type\": \"WordLevelX\", \"vocab\": {}}}", "model WordLevelX"},
      {"{\"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
       "pre-tokenizer UnicodeScripts"},
      {"{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"\"}, \"model\": {\"type\": \"BPE\", "
       "\"vocab\": {}, \"merges\": []}}",
       "normalizer Precompiled"},
      {"{\"decoder\": {\"type\": \"CTC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "decoder CTC"},
      {"{\"post_processor\": {\"type\": \"Funky\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
       "post-processor Funky"},
      {"{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {}, \"merges\": []}}", "dropout"},
      {"{\"truncation\": {\"max_length\": 8}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
       "truncation"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    put_file("unsup.json", cases[i].json);
    cr_assert_eq(weir_tokenizer_load(path_of("unsup.json"), &t), WEIR_ENOTSUP, "case %zu", i);
    cr_assert(strstr(weir_last_errmsg(), cases[i].named), "case %zu: '%s' does not name %s", i, weir_last_errmsg(),
              cases[i].named);
  }
  put_file("badmerge.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}");
  cr_assert_eq(weir_tokenizer_load(path_of("badmerge.json"), &t), WEIR_EFORMAT);
  cr_assert(strstr(weir_last_errmsg(), "merges[0]"), "%s", weir_last_errmsg());
  put_file("x.vocab", "hello");
  cr_assert_eq(weir_tokenizer_load(path_of("x.vocab"), &t), WEIR_ENOTSUP);
}

Test(text_tokenizer, tiktoken_parity_with_the_package) {
  reference("tiktoken", "tiktoken_reference.py");
  cr_assert_gt(compare_cases(path_of("cases.tsv")), 1000);
  /* The encoding's special tokens came from the file's name. */
  weir_tokenizer *t;
  cr_assert_eq(weir_tokenizer_load(path_of("cl100k_base_small.tiktoken"), &t), WEIR_OK);
  cr_assert_eq(weir_tokenizer_eos_id(t), 100257);
  cr_assert_eq(weir_tokenizer_token_to_id(t, "<|endofprompt|>", 15), 100276);
  cr_assert(weir_tokenizer_is_special(t, 100276));
  weir_tokenizer_free(t);
  /* Options: another pattern by name, and special tokens of the caller's. */
  const char *names[] = {"<|end|>"};
  int32_t sid[] = {5000};
  weir_tokenizer_options o = WEIR_TOKENIZER_OPTIONS_INIT;
  o.pattern = "o200k_base";
  o.special_tokens = names;
  o.special_ids = sid;
  o.num_special = 1;
  cr_assert_eq(weir_tokenizer_load_ex(path_of("plain.tiktoken"), &o, &t), WEIR_OK, "%s", weir_last_errmsg());
  int32_t *ids;
  size_t n;
  cr_assert_eq(weir_tokenizer_encode(t, "a<|end|>b", 9, &ids, &n), WEIR_OK);
  cr_assert(n == 3 && ids[1] == 5000);
  weir_free(ids);
  cr_assert_eq(weir_tokenizer_eos_id(t), -1);
  weir_tokenizer_free(t);
  o.pattern = "(unclosed";
  o.num_special = 0;
  cr_assert_eq(weir_tokenizer_load_ex(path_of("plain.tiktoken"), &o, &t), WEIR_ENOTSUP);
  cr_assert(strstr(weir_last_errmsg(), "(unclosed"), "%s", weir_last_errmsg());
  put_file("bad.tiktoken", "YQ== 0\nnot base64! 1\n");
  cr_assert_eq(weir_tokenizer_load(path_of("bad.tiktoken"), &t), WEIR_EFORMAT);
  cr_assert(strstr(weir_last_errmsg(), "bad.tiktoken:2"), "%s", weir_last_errmsg());
}

Test(text_tokenizer, sentencepiece_parity_with_the_package) {
  if (system("spm_train --help >/dev/null 2>&1") != 0)
    srv_missing("no spm_train (Debian's sentencepiece package; run .ci/setup)");
  reference("sentencepiece", "spm_reference.py");
  cr_assert_gt(compare_cases(path_of("cases.tsv")), 600);
  weir_tokenizer *t;
  cr_assert_eq(weir_tokenizer_load(path_of("unigram.model"), &t), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(weir_tokenizer_unk_id(t), 0);
  cr_assert_eq(weir_tokenizer_bos_id(t), 1);
  cr_assert_eq(weir_tokenizer_eos_id(t), 2);
  cr_assert(weir_tokenizer_is_special(t, 1));
  weir_tokenizer_free(t);
  put_file("junk.model", "this is no protobuf");
  cr_assert_eq(weir_tokenizer_load(path_of("junk.model"), &t), WEIR_EFORMAT);
}

Test(text_tokenizer, wordpiece_unigram_normalizers_pretokenizers_parity) {
  reference("tokenizers", "hf_models_reference.py");
  cr_assert_gt(compare_cases(path_of("cases.tsv")), 1000);
  weir_tokenizer *t;
  cr_assert_eq(weir_tokenizer_load(path_of("bert.json"), &t), WEIR_OK, "%s", weir_last_errmsg());
  /* The template's specials are BOS and EOS; [PAD] and [UNK] by name. */
  cr_assert_eq(weir_tokenizer_bos_id(t), weir_tokenizer_token_to_id(t, "[CLS]", 5));
  cr_assert_eq(weir_tokenizer_eos_id(t), weir_tokenizer_token_to_id(t, "[SEP]", 5));
  cr_assert_eq(weir_tokenizer_pad_id(t), 0);
  cr_assert_eq(weir_tokenizer_unk_id(t), 1);
  /* Offsets through the normalizer point into the original text. */
  weir_tokenizer_cache *c;
  cr_assert_eq(weir_tokenizer_cache_create(t, &c), WEIR_OK);
  const char *text = "Héllo WORLD 東京";
  const int32_t *ids;
  const size_t *offs;
  size_t n;
  cr_assert_eq(weir_tokenizer_encode_cached(t, c, text, strlen(text), 0, &ids, &offs, &n), WEIR_OK);
  cr_assert_geq(n, 4);
  cr_assert_eq(offs[0], 0);
  cr_assert_eq(offs[2 * (n - 1) + 1], strlen(text));
  cr_assert_eq(memcmp(text + offs[2 * (n - 1)], "\xE4\xBA\xAC", 3), 0, "the last token is 京");
  weir_tokenizer_cache_destroy(c);
  weir_tokenizer_free(t);
}
