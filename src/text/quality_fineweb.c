/* weir_text_quality_fineweb: DataTrove's FineWebQualityFilter. */
#include <stdlib.h>
#include <string.h>

#include "text/strset.h"
#include "text/text_internal.h"
#include "weir/error.h"

static const weir__annot annots[] = {
    {"line_punct_ratio", WEIR_TYPE_FLOAT64}, {"short_line_ratio", WEIR_TYPE_FLOAT64},
    {"char_dup_ratio", WEIR_TYPE_FLOAT64},   {"list_ratio", WEIR_TYPE_FLOAT64},
};
#define NANNOT 4

static int ws_only(const char *s, size_t len) {
  for (size_t i = 0; i < len;)
    if (!weir__py_isspace(weir__u8_next(s, len, &i)))
      return 0;
  return 1;
}

static int fw_init(const void *opts, void **ws) {
  (void)opts;
  *ws = calloc(1, sizeof(weir__strset));
  return *ws ? WEIR_OK : WEIR_ENOMEM;
}
static void fw_free(void *ws) {
  if (ws)
    weir__strset_free(ws);
  free(ws);
}

static int fw_row(weir__text_call *c, size_t row, const char *s, size_t len,
                  weir__row_result *res) {
  const weir_fineweb_options *o = c->opts;
  weir__strset *set = c->wstate;
  double *m = &c->measures[row * NANNOT];
  if (weir__strset_reset(set, 64))
    return WEIR_ENOMEM;
  size_t nlines = 0, punct = 0, shorts = 0, dup_chars = 0, newlines = 0;
  for (size_t i = 0; i <= len;) {
    const char *nl = i < len ? memchr(s + i, '\n', len - i) : NULL;
    size_t e = nl ? (size_t)(nl - s) : len;
    if (nl)
      newlines++;
    const char *line = s + i;
    size_t ll = e - i;
    if (!ws_only(line, ll)) {
      nlines++;
      /* the last code point, not rstripped */
      size_t k = ll;
      while (k > 0 && ((unsigned char)line[k - 1] & 0xC0) == 0x80)
        k--;
      if (k > 0) {
        size_t q = k - 1;
        if (weir__dt_is_terminal(weir__u8_next(line, ll, &q)))
          punct++;
      }
      size_t cps = weir__u8_count(line, ll);
      if ((long)cps <= o->short_line_length)
        shorts++;
      long before = weir__strset_add(set, line, ll);
      if (before < 0)
        return WEIR_ENOMEM;
      if (before > 0)
        dup_chars += cps;
    }
    if (!nl)
      break;
    i = e + 1;
  }
  size_t nwords = c->words[row].n;
  size_t chars = weir__u8_count(s, len) - newlines;
  double lp = nlines ? (double)punct / (double)nlines : 0;
  double sl = nlines ? (double)shorts / (double)nlines : 0;
  double cd = chars ? (double)dup_chars / (double)chars : 0;
  double lr = nwords ? (double)newlines / (double)nwords : (newlines ? 1e300 : 0);
  m[0] = lp;
  m[1] = sl;
  m[2] = cd;
  m[3] = lr;
  const char *r = NULL;
  if (nlines == 0)
    r = "empty";
  else if (lp < o->line_punct_thr && !(lp == 0 && o->line_punct_exclude_zero))
    r = "line_punct_ratio";
  else if (sl > o->short_line_thr)
    r = "short_line_ratio";
  else if (cd > o->char_duplicates_ratio)
    r = "char_dup_ratio";
  else if (lr > o->new_line_ratio)
    r = "list_ratio";
  res->reason = r;
  return WEIR_OK;
}

static const weir__text_kind fineweb_kind = {
    .kind = "fineweb",
    .prefix = "fineweb_",
    .needs_words = 1,
    .annots = annots,
    .nannot = NANNOT,
    .opts_size = sizeof(weir_fineweb_options),
    .worker_init = fw_init,
    .worker_free = fw_free,
    .row = fw_row,
};

weir_op *weir_text_quality_fineweb(weir_pipeline *p, weir_op *in, const weir_fineweb_options *o) {
  weir_fineweb_options d = WEIR_FINEWEB_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_quality_fineweb", o->version,
                                 WEIR_FINEWEB_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  return weir__text_op(p, in, &fineweb_kind, &d, &d.common, NULL);
}
