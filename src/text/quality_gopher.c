/* weir_text_quality_gopher: DataTrove's GopherQualityFilter, rule by rule
 * and in its order, on the shared word analysis. */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"
#include "weir/error.h"

static const weir__annot annots[] = {
    {"n_words", WEIR_TYPE_INT64},           {"avg_word_length", WEIR_TYPE_FLOAT64},
    {"hash_ratio", WEIR_TYPE_FLOAT64},      {"ellipsis_ratio", WEIR_TYPE_FLOAT64},
    {"bullet_lines_ratio", WEIR_TYPE_FLOAT64}, {"end_ellipsis_ratio", WEIR_TYPE_FLOAT64},
    {"alpha_ratio", WEIR_TYPE_FLOAT64},     {"stop_words", WEIR_TYPE_INT64},
};
#define NANNOT (sizeof annots / sizeof annots[0])

static const char *const stop_words[] = {"the", "be", "to", "of", "and", "that", "have", "with"};

/* Python's str.count of a non-empty needle: non-overlapping. */
static size_t count_sub(const char *s, size_t len, const char *needle) {
  size_t n = strlen(needle), c = 0;
  for (size_t i = 0; i + n <= len;) {
    const char *p = memmem(s + i, len - i, needle, n);
    if (!p)
      break;
    c++;
    i = (size_t)(p - s) + n;
  }
  return c;
}

static int gopher_row(weir__text_call *c, size_t row, const char *s, size_t len,
                      weir__row_result *res) {
  const weir_gopher_options *o = c->opts;
  const weir__doc_words *dw = &c->words[row];
  double *m = &c->measures[row * NANNOT];
  size_t n_words = dw->n, non_symbol = 0, cps = 0, alpha = 0;
  unsigned stop_seen = 0;
  for (size_t i = 0; i < dw->n; i++) {
    const weir__word *w = &dw->w[i];
    if (!w->all_punct) {
      non_symbol++;
      cps += w->cps;
    }
    alpha += w->has_alpha;
    for (unsigned k = 0; k < 8; k++)
      if (w->len == strlen(stop_words[k]) && memcmp(s + w->start, stop_words[k], w->len) == 0)
        stop_seen |= 1u << k;
  }
  size_t nstop = (size_t)__builtin_popcount(stop_seen);
  double avg = non_symbol ? (double)cps / (double)non_symbol : 0.0;
  double hashes = n_words ? (double)count_sub(s, len, "#") / (double)n_words : 0;
  double ell = n_words ? (double)(count_sub(s, len, "...") + count_sub(s, len, "\xe2\x80\xa6")) /
                             (double)n_words
                       : 0;
  /* Lines as str.splitlines(): no empty last line after a final break. */
  size_t nlines = 0, bullets = 0, end_ell = 0;
  for (size_t i = 0; i < len;) {
    size_t b = i, e = i, bl = 0;
    while (e < len && !weir__py_linebreak_at(s, len, e, &bl))
      e++;
    nlines++;
    size_t a = b;
    while (a < e) {
      size_t k = a;
      if (!weir__py_isspace(weir__u8_next(s, e, &k)))
        break;
      a = k;
    }
    if ((e - a >= 3 && memcmp(s + a, "\xe2\x80\xa2", 3) == 0) || (a < e && s[a] == '-'))
      bullets++;
    size_t z = e;
    while (z > b) {
      size_t k = z - 1;
      while (k > b && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
      size_t kk = k;
      if (!weir__py_isspace(weir__u8_next(s, z, &kk)))
        break;
      z = k;
    }
    if ((z - b >= 3 && memcmp(s + z - 3, "...", 3) == 0) ||
        (z - b >= 3 && memcmp(s + z - 3, "\xe2\x80\xa6", 3) == 0))
      end_ell++;
    i = e < len ? e + bl : e;
  }
  double bullet_ratio = nlines ? (double)bullets / (double)nlines : 0;
  double end_ell_ratio = nlines ? (double)end_ell / (double)nlines : 0;
  double alpha_ratio = n_words ? (double)alpha / (double)n_words : 0;
  m[0] = (double)non_symbol;
  m[1] = avg;
  m[2] = hashes;
  m[3] = ell;
  m[4] = bullet_ratio;
  m[5] = end_ell_ratio;
  m[6] = alpha_ratio;
  m[7] = (double)nstop;

  /* DataTrove skips a rule whose threshold is 0 (falsy); weir also skips
   * negative ones. */
#define ON(x) ((x) > 0)
  const char *r = NULL;
  if (ON(o->min_doc_words) && (double)non_symbol < o->min_doc_words)
    r = "gopher_short_doc";
  else if (ON(o->max_doc_words) && (double)non_symbol > o->max_doc_words)
    r = "gopher_long_doc";
  else if (ON(o->min_avg_word_length) && avg < o->min_avg_word_length)
    r = "gopher_below_avg_threshold";
  else if (ON(o->max_avg_word_length) && avg > o->max_avg_word_length)
    r = "gopher_above_avg_threshold";
  else if (ON(o->max_symbol_word_ratio) && hashes > o->max_symbol_word_ratio)
    r = "gopher_too_many_hashes";
  else if (ON(o->max_symbol_word_ratio) && ell > o->max_symbol_word_ratio)
    r = "gopher_too_many_ellipsis";
  else if (ON(o->max_bullet_lines_ratio) && bullet_ratio > o->max_bullet_lines_ratio)
    r = "gopher_too_many_bullets";
  else if (ON(o->max_ellipsis_lines_ratio) && end_ell_ratio > o->max_ellipsis_lines_ratio)
    r = "gopher_too_many_end_ellipsis";
  else if (ON(o->max_non_alpha_words_ratio) && alpha_ratio < o->max_non_alpha_words_ratio)
    r = "gopher_below_alpha_threshold";
  else if (ON(o->min_stop_words) && (double)nstop < o->min_stop_words)
    r = "gopher_enough_stop_words";
#undef ON
  res->reason = r;
  return WEIR_OK;
}

static const weir__text_kind gopher_kind = {
    .kind = "gopher",
    .prefix = "gopher_",
    .needs_words = 1,
    .annots = annots,
    .nannot = NANNOT,
    .opts_size = sizeof(weir_gopher_options),
    .row = gopher_row,
};

weir_op *weir_text_quality_gopher(weir_pipeline *p, weir_op *in, const weir_gopher_options *o) {
  weir_gopher_options d = WEIR_GOPHER_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_quality_gopher", o->version,
                                 WEIR_GOPHER_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  return weir__text_op(p, in, &gopher_kind, &d, &d.common, NULL);
}
