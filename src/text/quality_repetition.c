/* weir_text_quality_gopher_repetition: DataTrove's GopherRepetitionFilter
 * (paragraph and line duplicates, the top 2-4-gram, duplicated 5-10-grams),
 * lengths in code points as Python's len(). */
#include <stdlib.h>
#include <string.h>

#include "text/strset.h"
#include "text/text_internal.h"
#include "weir/error.h"

static const weir__annot annots[] = {
    {"dup_para_frac", WEIR_TYPE_FLOAT64}, {"dup_para_char_frac", WEIR_TYPE_FLOAT64},
    {"dup_line_frac", WEIR_TYPE_FLOAT64}, {"dup_line_char_frac", WEIR_TYPE_FLOAT64},
    {"top_2_gram", WEIR_TYPE_FLOAT64},    {"top_3_gram", WEIR_TYPE_FLOAT64},
    {"top_4_gram", WEIR_TYPE_FLOAT64},    {"dup_5_gram", WEIR_TYPE_FLOAT64},
    {"dup_6_gram", WEIR_TYPE_FLOAT64},    {"dup_7_gram", WEIR_TYPE_FLOAT64},
    {"dup_8_gram", WEIR_TYPE_FLOAT64},    {"dup_9_gram", WEIR_TYPE_FLOAT64},
    {"dup_10_gram", WEIR_TYPE_FLOAT64},
};
#define NANNOT 13

typedef struct rep_ws {
  weir__strset set;
  char *arena;
  size_t cap;
  size_t *ncp;          /* per n-gram: length in code points */
  size_t ncp_cap;
  uint64_t *ph;         /* prefix hashes of the two layouts, and powers */
  size_t ph_cap;
} rep_ws;

static int rep_init(const void *opts, void **ws) {
  (void)opts;
  *ws = calloc(1, sizeof(rep_ws));
  return *ws ? WEIR_OK : WEIR_ENOMEM;
}
static void rep_free(void *p) {
  rep_ws *w = p;
  if (!w)
    return;
  weir__strset_free(&w->set);
  free(w->arena);
  free(w->ncp);
  free(w->ph);
  free(w);
}

/* Polynomial hashes of every prefix of s[0..len) into h[0..len], so the
 * hash of any span is two multiplications (span_hash): each n-gram is then
 * hashed in constant time instead of reading its bytes, for every n. */
#define POLY 0x100000001b3ULL
static void prefix_hashes(const char *s, size_t len, uint64_t *h) {
  h[0] = 0;
  for (size_t i = 0; i < len; i++)
    h[i + 1] = h[i] * POLY + (unsigned char)s[i] + 1;
}
static uint64_t span_hash(const uint64_t *h, const uint64_t *pw, size_t a, size_t b) {
  return weir__strhash_mix((h[b] - h[a] * pw[b - a]) ^ ((uint64_t)(b - a) << 56));
}

static int reserve(rep_ws *w, size_t bytes, size_t grams) {
  if (bytes > w->cap) {
    size_t nc = w->cap ? w->cap : 4096;
    while (nc < bytes)
      nc *= 2;
    char *a = realloc(w->arena, nc);
    if (!a)
      return WEIR_ENOMEM;
    w->arena = a;
    w->cap = nc;
  }
  if (grams > w->ncp_cap) {
    size_t *c = realloc(w->ncp, grams * sizeof *c);
    if (!c)
      return WEIR_ENOMEM;
    w->ncp = c;
    w->ncp_cap = grams;
  }
  return WEIR_OK;
}

/* find_duplicates over pieces split by the regex \n{min,}: counts the 2nd
 * and later occurrences and their code points. */
static int dup_pieces(rep_ws *w, const char *s, size_t len, int min_run, size_t *pieces,
                      size_t *dups, size_t *dup_chars) {
  if (weir__strset_reset(&w->set, 64))
    return WEIR_ENOMEM;
  *pieces = *dups = *dup_chars = 0;
  size_t i = 0, start = 0;
  for (;;) {
    size_t e = start;
    int split = 0;
    size_t run_end = 0;
    for (i = start; i < len; i++) {
      if (s[i] != '\n')
        continue;
      size_t j = i;
      while (j < len && s[j] == '\n')
        j++;
      if ((int)(j - i) >= min_run) {
        e = i;
        run_end = j;
        split = 1;
        break;
      }
      i = j - 1;
    }
    if (!split)
      e = len;
    (*pieces)++;
    long before = weir__strset_add(&w->set, s + start, e - start);
    if (before < 0)
      return WEIR_ENOMEM;
    if (before > 0) {
      (*dups)++;
      *dup_chars += weir__u8_count(s + start, e - start);
    }
    if (!split)
      break;
    start = run_end;
  }
  return WEIR_OK;
}

static int rep_row(weir__text_call *c, size_t row, const char *s, size_t len,
                   weir__row_result *res) {
  const weir_gopher_repetition_options *o = c->opts;
  rep_ws *w = c->wstate;
  double *m = &c->measures[row * NANNOT];
  const weir__doc_words *dw = &c->words[row];
  double tlen = (double)weir__u8_count(s, len);
  /* DataTrove divides by len(text) and fails on an empty document; weir
   * reads 0/0 as 0. */
#define RATIO(x) (tlen > 0 ? (double)(x) / tlen : 0.0)
  size_t a, b, pieces, dups, dchars;
  weir__py_strip(s, len, &a, &b);
  int rc = dup_pieces(w, s + a, b - a, 2, &pieces, &dups, &dchars);
  if (rc)
    return rc;
  m[0] = (double)dups / (double)pieces;
  m[1] = RATIO(dchars);
  rc = dup_pieces(w, s, len, 1, &pieces, &dups, &dchars);
  if (rc)
    return rc;
  m[2] = (double)dups / (double)pieces;
  m[3] = RATIO(dchars);

  size_t nw = dw->n;
  /* The words laid out once, joined by " " (top n-grams) and by ""
   * (duplicated n-grams), as DataTrove joins them: every n-gram is then a
   * contiguous span of one of the two, counted without being copied. */
  size_t words_bytes = 0;
  for (size_t i = 0; i < nw; i++)
    words_bytes += dw->w[i].len;
  if ((rc = reserve(w, 2 * words_bytes + nw + 1, 3 * (nw + 1))))
    return rc;
  char *sp = w->arena, *cat = w->arena + words_bytes + nw;
  size_t *sp_off = w->ncp, *cat_off = w->ncp + (nw + 1), *cps = w->ncp + 2 * (nw + 1);
  size_t ps = 0, pc = 0;
  cps[0] = 0;
  for (size_t i = 0; i < nw; i++) {
    const weir__word *wd = &dw->w[i];
    sp_off[i] = ps;
    cat_off[i] = pc;
    memcpy(sp + ps, s + wd->start, wd->len);
    memcpy(cat + pc, s + wd->start, wd->len);
    ps += wd->len;
    pc += wd->len;
    sp[ps++] = ' ';
    cps[i + 1] = cps[i] + wd->cps;
  }
  sp_off[nw] = ps;
  cat_off[nw] = pc;
  /* Prefix hashes of both layouts and the powers of POLY. */
  size_t need = (ps + 1) + (pc + 1) + (ps + 1);
  if (need > w->ph_cap) {
    uint64_t *nh = realloc(w->ph, need * sizeof *nh);
    if (!nh)
      return WEIR_ENOMEM;
    w->ph = nh;
    w->ph_cap = need;
  }
  uint64_t *hsp = w->ph, *hcat = w->ph + ps + 1, *pw = w->ph + ps + 1 + pc + 1;
  prefix_hashes(sp, ps, hsp);
  prefix_hashes(cat, pc, hcat);
  pw[0] = 1;
  for (size_t i = 0; i < ps; i++)
    pw[i + 1] = pw[i] * POLY;
  for (int n = 2; n <= 10; n++) {
    double *out = &m[4 + (n - 2)];
    *out = 0;
    if (nw < (size_t)n)
      continue;
    size_t grams = nw - (size_t)n + 1;
    if (weir__strset_reset(&w->set, grams))
      return WEIR_ENOMEM;
    if (n <= 4) {
      /* the n words and the n - 1 spaces between them */
      for (size_t g = 0; g < grams; g++) {
        size_t a0 = sp_off[g], b0 = sp_off[g + (size_t)n] - 1;
        if (weir__strset_add_hashed(&w->set, sp + a0, b0 - a0, span_hash(hsp, pw, a0, b0)) < 0)
          return WEIR_ENOMEM;
      }
      /* Counter.most_common(1): the highest count, first inserted on a tie. */
      size_t best_count = 0, best_order = 0, best_cps = 0;
      for (size_t j = 0; j < w->set.cap; j++) {
        struct weir__strent *e = &w->set.slots[j];
        if (!weir__strset_live(&w->set, j))
          continue;
        if (e->count > best_count || (e->count == best_count && e->order < best_order)) {
          best_count = e->count;
          best_order = e->order;
          best_cps = weir__u8_count(e->s, e->len);
        }
      }
      *out = RATIO(best_cps * best_count);
    } else {
      size_t repeated = 0, idx = 0;
      while (idx < grams) {
        size_t a0 = cat_off[idx], b0 = cat_off[idx + (size_t)n];
        long before =
            weir__strset_add_hashed(&w->set, cat + a0, b0 - a0, span_hash(hcat, pw, a0, b0));
        if (before < 0)
          return WEIR_ENOMEM;
        if (before > 0) {
          repeated += cps[idx + (size_t)n] - cps[idx];
          idx += (size_t)n;
        } else {
          idx++;
        }
      }
      *out = RATIO(repeated);
    }
  }
#undef RATIO
  static const char *top_r[] = {"top_2_gram", "top_3_gram", "top_4_gram"};
  static const char *dup_r[] = {"duplicated_5_n_grams", "duplicated_6_n_grams",
                                "duplicated_7_n_grams", "duplicated_8_n_grams",
                                "duplicated_9_n_grams", "duplicated_10_n_grams"};
  const char *r = NULL;
  if (o->dup_para_frac > 0 && m[0] > o->dup_para_frac)
    r = "dup_para_frac";
  else if (o->dup_para_char_frac > 0 && m[1] > o->dup_para_char_frac)
    r = "dup_para_char_frac";
  else if (o->dup_line_frac > 0 && m[2] > o->dup_line_frac)
    r = "dup_line_frac";
  else if (o->dup_line_char_frac > 0 && m[3] > o->dup_line_char_frac)
    r = "dup_line_char_frac";
  for (int k = 0; k < 3 && !r; k++)
    if (o->top_n_grams[k] >= 0 && nw >= (size_t)(k + 2) && m[4 + k] > o->top_n_grams[k])
      r = top_r[k];
  for (int k = 0; k < 6 && !r; k++)
    if (o->dup_n_grams[k] >= 0 && m[7 + k] > o->dup_n_grams[k])
      r = dup_r[k];
  res->reason = r;
  return WEIR_OK;
}

static const weir__text_kind rep_kind = {
    .kind = "gopher_repetition",
    .prefix = "gopher_rep_",
    .needs_words = 1,
    .annots = annots,
    .nannot = NANNOT,
    .opts_size = sizeof(weir_gopher_repetition_options),
    .worker_init = rep_init,
    .worker_free = rep_free,
    .row = rep_row,
};

weir_op *weir_text_quality_gopher_repetition(weir_pipeline *p, weir_op *in,
                                             const weir_gopher_repetition_options *o) {
  weir_gopher_repetition_options d = WEIR_GOPHER_REPETITION_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_quality_gopher_repetition", o->version,
                                 WEIR_GOPHER_REPETITION_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  return weir__text_op(p, in, &rep_kind, &d, &d.common, NULL);
}
