/* weir_text_lang_id: language identification with CLD2 or a fastText
 * model (read and evaluated by fasttext.c), annotating `lang` and
 * `lang_score` and keeping the wanted languages above a threshold, as
 * DataTrove's LanguageFilter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/cld2/cld2.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct lang_opts {
  weir_lang_id_options o;
  weir_fasttext *model;
  char **wanted;             /* NULL = any */
  size_t nwanted;
  double threshold;
  int backend;
} lang_opts;

static const weir__annot annots[] = {
    {"lang", WEIR_TYPE_STRING},
    {"lang_score", WEIR_TYPE_FLOAT64},
};

typedef struct lang_ws {
  int *labels;
  double *probs;
  char *buf;
  size_t cap;
} lang_ws;

static int lang_init(const void *opts, void **ws) {
  const lang_opts *lo = opts;
  lang_ws *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  if (lo->model) {
    int n = weir_fasttext_num_labels(lo->model);
    w->labels = malloc((size_t)n * sizeof *w->labels);
    w->probs = malloc((size_t)n * sizeof *w->probs);
    if (!w->labels || !w->probs) {
      free(w->labels);
      free(w->probs);
      free(w);
      return WEIR_ENOMEM;
    }
  }
  *ws = w;
  return WEIR_OK;
}

static void lang_free(void *p) {
  lang_ws *w = p;
  if (!w)
    return;
  free(w->labels);
  free(w->probs);
  free(w->buf);
  free(w);
}

static const char *strip_label(const char *l) {
  return strncmp(l, "__label__", 9) == 0 ? l + 9 : l;
}

static int wanted_index(const lang_opts *lo, const char *label) {
  for (size_t i = 0; i < lo->nwanted; i++)
    if (strcmp(lo->wanted[i], label) == 0)
      return (int)i;
  return -1;
}

static int lang_row(weir__text_call *c, size_t row, const char *s, size_t len,
                    weir__row_result *res) {
  const lang_opts *lo = c->opts;
  lang_ws *w = c->wstate;
  const char *names[512];
  double scores[512];
  int n = 0;
  if (lo->model) {
    /* DataTrove predicts on text.replace("\n", " "). */
    if (len + 1 > w->cap) {
      size_t nc = len + 1 + len / 2;
      char *nb = realloc(w->buf, nc);
      if (!nb)
        return WEIR_ENOMEM;
      w->buf = nb;
      w->cap = nc;
    }
    for (size_t i = 0; i < len; i++)
      w->buf[i] = s[i] == '\n' ? ' ' : s[i];
    int got = weir_fasttext_predict(lo->model, w->buf, len, 0, w->labels, w->probs);
    if (got < 0)
      return got;
    for (int i = 0; i < got && n < 512; i++, n++) {
      names[n] = strip_label(weir_fasttext_label(lo->model, w->labels[i]));
      scores[n] = w->probs[i];
    }
  } else {
    const char *codes[3];
    int percent[3];
    int rc = weir__cld2_detect(s, len, codes, percent);
    if (rc)
      return rc;
    for (int i = 0; i < 3; i++)
      if (percent[i] > 0 || i == 0) {
        names[n] = codes[i];
        scores[n++] = percent[i] / 100.0;
      }
  }
  double *m = &c->measures[row * 2];
  const char **strs = (const char **)&c->strs[row * 2];
  int pick = n ? 0 : -1;
  if (lo->nwanted) {
    pick = -1;
    for (int i = 0; i < n && pick < 0; i++)
      if (wanted_index(lo, names[i]) >= 0)
        pick = i;
  }
  if (pick >= 0) {
    strs[0] = names[pick];
    m[1] = scores[pick];
  } else {
    strs[0] = n ? names[0] : NULL;
    m[1] = n ? scores[0] : 0.0;
  }
  if (pick < 0)
    res->reason = "lang_not_wanted";
  else if (lo->threshold >= 0 && !(scores[pick] > lo->threshold))
    res->reason = "lang_below_threshold";
  return WEIR_OK;
}

static void lang_opts_free(void *p) {
  lang_opts *lo = p;
  weir_fasttext_free(lo->model);
  for (size_t i = 0; i < lo->nwanted; i++)
    free(lo->wanted[i]);
  free(lo->wanted);
}

static int lang_want(const void *opts, int mode) {
  (void)opts;
  (void)mode;
  return 1; /* lang and lang_score in both modes, as DataTrove's metadata */
}

static const weir__text_kind lang_kind = {
    .kind = "lang_id",
    .prefix = "lang_",
    .annots = annots,
    .nannot = 2,
    .annots_unprefixed = 1,
    .opts_size = sizeof(lang_opts),
    .worker_init = lang_init,
    .worker_free = lang_free,
    .row = lang_row,
    .opts_free = lang_opts_free,
    .want_annots = lang_want,
};

weir_op *weir_text_lang_id(weir_pipeline *p, weir_op *in, const weir_lang_id_options *o) {
  lang_opts lo;
  memset(&lo, 0, sizeof lo);
  lo.o = (weir_lang_id_options)WEIR_LANG_ID_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_lang_id", o->version, WEIR_LANG_ID_OPTIONS_VERSION))
      return NULL;
    lo.o = *o;
  }
  if (!p)
    return NULL;
  lo.backend = lo.o.backend == WEIR_LANG_AUTO
                   ? (lo.o.model_path ? WEIR_LANG_FASTTEXT : WEIR_LANG_CLD2)
                   : lo.o.backend;
  lo.threshold = lo.o.threshold == 0 ? 0.65 : lo.o.threshold;
  if (lo.backend == WEIR_LANG_FASTTEXT) {
    if (!lo.o.model_path)
      return weir__text_fail(p, WEIR_EINVAL, "weir_text_lang_id: the fastText backend needs "
                             "model_path");
    int rc = weir_fasttext_load(lo.o.model_path, &lo.model);
    if (rc)
      return weir__text_fail(p, rc, "weir_text_lang_id: %s", weir_last_errmsg());
  } else if (lo.backend == WEIR_LANG_CLD2) {
    if (!weir__cld2_available())
      return weir__text_fail(p, WEIR_ENOTSUP, "weir_text_lang_id: this build has no CLD2 "
                             "(install libcld2-dev and rebuild), or give a fastText model");
  } else {
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_lang_id: unknown backend %d",
                           lo.o.backend);
  }
  if (lo.o.languages) {
    const char *s = lo.o.languages;
    while (*s) {
      while (*s == ',' || *s == ' ')
        s++;
      const char *e = s;
      while (*e && *e != ',' && *e != ' ')
        e++;
      if (e > s) {
        char **nw = realloc(lo.wanted, (lo.nwanted + 1) * sizeof *nw);
        char *one = strndup(s, (size_t)(e - s));
        if (!nw || !one) {
          free(one);
          if (nw)
            lo.wanted = nw;
          lang_opts_free(&lo);
          return weir__text_fail(p, WEIR_ENOMEM, "weir_text_lang_id: out of memory");
        }
        lo.wanted = nw;
        lo.wanted[lo.nwanted++] = one;
        if (strncmp(one, "__label__", 9) == 0)
          memmove(one, one + 9, strlen(one + 9) + 1);
      }
      s = e;
    }
  }
  /* The machinery copies lo and takes its model and strings. */
  return weir__text_op(p, in, &lang_kind, &lo, &lo.o.common, NULL);
}
