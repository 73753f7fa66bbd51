/* weir_chunk_stream by tokens: the document is encoded in parts, each
 * ending at a cut that tokenizer/stream_cut.c proves the tokenizer never
 * merges across, so the token ids and offsets are those of the whole text;
 * windows of chunk_size tokens (every chunk_size - overlap) are emitted as
 * soon as a later token exists, exactly as weir__chunk_tokens emits them.
 *
 * Held: the text from the next window's first token (fewer than
 * chunk_size tokens back) to the end, and the offsets of those tokens.
 * When no cut is proven for WEIR__TOKWIN_HOLD_MAX (1 MiB) bytes (a
 * tokenizer without a splitting pre-tokenizer, or text with no "a b" in
 * it), the part is cut anyway after the last space that follows a
 * non-space (else at a character boundary): memory stays bounded, and the
 * ids equal the whole text's except where the tokenizer would have merged
 * across that cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/chunk.h"
#include "text/chunk_stream_tokens.h"
#include "text/tokenizer/stream.h"
#include "weir/error.h"

struct weir__tokwin {
  const weir_tokenizer *tok;
  weir_tokenizer_cache *cache;
  weir__tok_cut_plan plan;
  size_t size, step;
  uint64_t cut;       /* document offset: the text before it is encoded   */
  uint64_t scan;      /* cut candidates before this offset were judged   */
  uint64_t best;      /* the last proven cut (> cut), else 0              */
  uint64_t *off;      /* [start, end) of the tokens not emitted past      */
  size_t i0, n, cap;  /* the next window starts at token i0 of n          */
  size_t forced;      /* cuts made past HOLD_MAX without a proof          */
};

int weir__tokwin_create(const weir__chunk_params *cp, weir__tokwin **out) {
  *out = NULL;
  weir__tokwin *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  int rc = weir_tokenizer_cache_create(cp->tok, &w->cache);
  if (rc) {
    free(w);
    return rc;
  }
  w->tok = cp->tok;
  w->size = cp->size;
  w->step = cp->size - cp->overlap;
  weir__tok_stream_plan(cp->tok, &w->plan);
  *out = w;
  return WEIR_OK;
}

void weir__tokwin_destroy(weir__tokwin *w) {
  if (!w)
    return;
  weir_tokenizer_cache_destroy(w->cache);
  free(w->off);
  free(w);
}

int weir__tokwin_exact(const weir__tokwin *w) { return w->plan.exact; }
size_t weir__tokwin_forced(const weir__tokwin *w) { return w->forced; }

uint64_t weir__tokwin_live(const weir__tokwin *w) {
  /* The cut judge looks back up to plan.window bytes. */
  uint64_t back = w->plan.window + 4;
  uint64_t m = w->cut > back ? w->cut - back : 0;
  if (w->i0 < w->n && w->off[2 * w->i0] < m)
    m = w->off[2 * w->i0];
  return m;
}

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Encodes the document's bytes [w->cut, to) (held at buf + (cut - base)). */
static int encode_part(weir__tokwin *w, const char *buf, uint64_t base, uint64_t to) {
  const int32_t *ids;
  const size_t *offs;
  size_t n;
  unsigned flags = w->cut ? WEIR__TOKENIZE_CONTINUES : 0;
  int rc = weir_tokenizer_encode_cached(w->tok, w->cache, buf + (w->cut - base), (size_t)(to - w->cut),
                                       flags, &ids, &offs, &n);
  if (rc)
    return rc;
  if (w->i0) {
    /* Drop the tokens emitted past (once per part: no quadratic moves). */
    memmove(w->off, w->off + 2 * w->i0, 2 * (w->n - w->i0) * sizeof *w->off);
    w->n -= w->i0;
    w->i0 = 0;
  }
  if (w->n + n > w->cap) {
    size_t nc = w->cap ? w->cap : 256;
    while (nc < w->n + n)
      nc *= 2;
    uint64_t *no = realloc(w->off, 2 * nc * sizeof *no);
    if (!no)
      return WEIR_ENOMEM;
    w->off = no;
    w->cap = nc;
  }
  for (size_t k = 0; k < 2 * n; k++)
    w->off[2 * w->n + k] = w->cut + offs[k];
  w->n += n;
  w->cut = to;
  return WEIR_OK;
}

/* Where to cut when nothing was proven for HOLD_MAX bytes. */
static uint64_t forced_cut(const weir__tokwin *w, const char *buf, uint64_t base, size_t avail) {
  for (size_t c = avail; c > (size_t)(w->cut - base) + 1; c--)
    if (buf[c - 1] == ' ' && buf[c - 2] != ' ' && buf[c - 2] != '\n' && buf[c - 2] != '\t' &&
        buf[c - 2] != '\r')
      return base + c - 1;
  return base + avail; /* whole characters end there */
}

int weir__tokwin_advance(weir__tokwin *w, const char *buf, uint64_t base, size_t avail, int fin,
                         weir__chunk_out *out) {
  uint64_t end = base + avail;
  uint64_t to = w->cut;
  if (fin) {
    to = end;
  } else {
    size_t need = weir__tok_stream_need_after(&w->plan);
    if (w->plan.exact && avail >= need) {
      uint64_t c = w->scan > w->cut + 1 ? w->scan : w->cut + 1;
      uint64_t lim = end - need; /* candidates c <= lim can be judged */
      for (; c <= lim; c++)
        if (weir__tok_stream_cut_ok(w->tok, &w->plan, buf, 0, (size_t)(c - base), avail, base == 0))
          w->best = c;
      if (lim + 1 > w->scan)
        w->scan = lim + 1;
    }
    if (w->best > w->cut)
      to = w->best;
    else if (end - w->cut > WEIR__TOKWIN_HOLD_MAX) {
      to = forced_cut(w, buf, base, avail);
      w->forced++;
    }
  }
  if (to > w->cut) {
    int rc = encode_part(w, buf, base, to);
    if (rc)
      return rc;
  }
  /* Windows, as weir__chunk_tokens cuts them: [i, i + size) every step,
   * the last one the first that reaches the end. */
  while (w->n - w->i0 > w->size || (fin && w->n > w->i0)) {
    const uint64_t *o = w->off + 2 * w->i0;
    size_t left = w->n - w->i0, j = left < w->size ? left : w->size;
    uint64_t a = UINT64_MAX, b = 0;
    for (size_t k = 0; k < j; k++) {
      if (o[2 * k] == o[2 * k + 1])
        continue;
      if (o[2 * k] < a)
        a = o[2 * k];
      if (o[2 * k + 1] > b)
        b = o[2 * k + 1];
    }
    if (a < b) {
      size_t x = (size_t)(a - base), y = (size_t)(b - base);
      while (x > 0 && is_cont((unsigned char)buf[x]))
        x--;
      while (y < avail && is_cont((unsigned char)buf[y]))
        y++;
      int rc = weir__chunk_push(out, x, y);
      if (rc)
        return rc;
    }
    if (j == left) {
      w->i0 = w->n = 0;
      break;
    }
    w->i0 += w->step;
  }
  return WEIR_OK;
}
