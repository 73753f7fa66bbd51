/* The tokenizers that the text kinds of a spec load (tokenize, chunk_text
 * by tokens): a spec names a file, weir_tokenize and weir_chunk_text
 * borrow a loaded tokenizer that must outlive the pipeline, so the command
 * keeps them here and frees them after the pipeline is destroyed. Two
 * operators naming the same file (and pattern) share one load. Used on the
 * assembling thread only. */
#include <stdlib.h>
#include <string.h>

#include "cli/ops.h"

typedef struct held {
  char *path, *pattern;
  weir_tokenizer *t;
} held;

static held *list;
static size_t count, cap;

static int same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const weir_tokenizer *cli_tokenizer(const char *path, const char *pattern) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(list[i].path, path) == 0 && same(list[i].pattern, pattern))
      return list[i].t;
  if (count == cap) {
    size_t nc = cap ? cap * 2 : 4;
    held *nl = realloc(list, nc * sizeof *nl);
    if (!nl) {
      weir_set_last_errmsg("out of memory");
      return NULL;
    }
    list = nl;
    cap = nc;
  }
  weir_tokenizer_options o = WEIR_TOKENIZER_OPTIONS_INIT;
  o.pattern = pattern;
  weir_tokenizer *t = NULL;
  /* weir_tokenizer_load_ex leaves its reason (naming the file, or the
   * component it does not support) in weir_last_errmsg(), which the spec
   * builder prints with the operator's place in the spec. */
  if (weir_tokenizer_load_ex(path, &o, &t) != WEIR_OK) return NULL;
  held h = {strdup(path), pattern ? strdup(pattern) : NULL, t};
  if (!h.path || (pattern && !h.pattern)) {
    free(h.path);
    free(h.pattern);
    weir_tokenizer_free(t);
    weir_set_last_errmsg("out of memory");
    return NULL;
  }
  list[count++] = h;
  return t;
}

void cli_tokenizers_release(void) {
  for (size_t i = 0; i < count; i++) {
    weir_tokenizer_free(list[i].t);
    free(list[i].path);
    free(list[i].pattern);
  }
  free(list);
  list = NULL;
  count = cap = 0;
}
