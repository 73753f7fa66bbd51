/* weir_text_quality_c4: DataTrove's C4QualityFilter, which drops lines
 * (too long a word, no terminal punctuation, too few words, javascript,
 * policy notices) and documents (lorem ipsum, a curly bracket, too few
 * sentences), and rewrites the text of the documents it keeps. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"
#include "weir/error.h"

static const weir__annot annots[] = {
    {"lines_removed", WEIR_TYPE_INT64},
    {"sentences", WEIR_TYPE_INT64},
};
#define NANNOT 2

enum { L_LONG, L_PUNCT, L_FEW, L_JS, L_POLICY, L_N };
static const char *const line_counter[L_N] = {"line:too_long_word", "line:no_terminal_punct",
                                              "line:too_few_words", "line:javascript",
                                              "line:policy"};

static const char *const policy[] = {"terms of use", "privacy policy", "cookie policy",
                                     "uses cookies", "use of cookies", "use cookies"};

/* `needle` (lowercase ASCII) in the ASCII-lowercased line `low`. */
static int contains_ci(const char *low, size_t len, const char *needle) {
  return memmem(low, len, needle, strlen(needle)) != NULL;
}

static void ascii_lower(const char *s, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
}

/* CITATION_REGEX = \[\d*]|\[edit]|\[citation needed] removed from
 * line[0..len) into out; returns the new length. \d is ASCII here (Python
 * also takes other scripts' digits: named in the agreement test). */
static size_t remove_citations(const char *s, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (s[i] == '[') {
      size_t j = i + 1;
      while (j < len && s[j] >= '0' && s[j] <= '9')
        j++;
      if (j < len && s[j] == ']') {
        i = j + 1;
        continue;
      }
      if (len - i >= 6 && memcmp(s + i, "[edit]", 6) == 0) {
        i += 6;
        continue;
      }
      if (len - i >= 17 && memcmp(s + i, "[citation needed]", 17) == 0) {
        i += 17;
        continue;
      }
    }
    out[o++] = s[i++];
  }
  return o;
}

static int c4_row(weir__text_call *c, size_t row, const char *s, size_t len,
                  weir__row_result *res) {
  const weir_c4_options *o = c->opts;
  double *m = &c->measures[row * NANNOT];
  char *out = malloc(len + 1);
  char *tmp = malloc(len + 1);
  char *low = malloc(len + 1);
  if (!out || !tmp || !low) {
    free(out);
    free(tmp);
    free(low);
    return WEIR_ENOMEM;
  }
  size_t olen = 0, sentences = 0, removed = 0;
  uint64_t counts[L_N] = {0};
  const char *reason = NULL;
  int rc = WEIR_OK;
  for (size_t i = 0; i < len && !reason;) {
    size_t e = i, bl = 0;
    while (e < len && !weir__py_linebreak_at(s, len, e, &bl))
      e++;
    size_t next = e < len ? e + bl : e;
    size_t a, b;
    weir__py_strip(s + i, e - i, &a, &b);
    const char *line = s + i + a;
    size_t ll = b - a;
    i = next;
    /* words = line.split(), before citations go */
    size_t nwords = 0, longest = 0;
    for (size_t k = 0; k < ll;) {
      size_t q = k;
      uint32_t ch = weir__u8_next(line, ll, &q);
      if (weir__py_isspace(ch)) {
        k = q;
        continue;
      }
      size_t ws = k, cps = 0;
      while (k < ll) {
        q = k;
        ch = weir__u8_next(line, ll, &q);
        if (weir__py_isspace(ch))
          break;
        cps++;
        k = q;
      }
      (void)ws;
      nwords++;
      if (cps > longest)
        longest = cps;
    }
    if (o->max_word_length >= 0 && longest > (size_t)o->max_word_length) {
      counts[L_LONG]++;
      removed++;
      continue;
    }
    const char *cl = line;
    size_t cll = ll;
    if (o->remove_citations) {
      cll = remove_citations(line, ll, tmp);
      cl = tmp;
    }
    if (o->filter_no_terminal_punct) {
      char last = cll ? cl[cll - 1] : 0;
      int ends = last == '.' || last == '?' || last == '!' || last == '"' || last == '\'';
      if (!ends || (cll >= 3 && memcmp(cl + cll - 3, "...", 3) == 0)) {
        counts[L_PUNCT]++;
        removed++;
        continue;
      }
    }
    if (o->min_words_per_line >= 0 && nwords < (size_t)o->min_words_per_line) {
      counts[L_FEW]++;
      removed++;
      continue;
    }
    ascii_lower(cl, cll, low);
    if (o->filter_lorem_ipsum && contains_ci(low, cll, "lorem ipsum")) {
      reason = "lorem_ipsum";
      break;
    }
    if (o->filter_javascript && contains_ci(low, cll, "javascript")) {
      counts[L_JS]++;
      removed++;
      continue;
    }
    if (o->filter_curly_bracket && memchr(cl, '{', cll)) {
      reason = "curly_bracket";
      break;
    }
    if (o->filter_policy) {
      int hit = 0;
      for (size_t k = 0; k < sizeof policy / sizeof *policy && !hit; k++)
        hit = contains_ci(low, cll, policy[k]);
      if (hit) {
        counts[L_POLICY]++;
        removed++;
        continue;
      }
    }
    if (o->min_num_sentences != -1) {
      size_t ns = 0;
      if ((rc = weir__count_sentences(c->tok, cl, cll, &ns)))
        break;
      sentences += ns;
    }
    if (olen)
      out[olen++] = '\n';
    memcpy(out + olen, cl, cll);
    olen += cll;
  }
  free(tmp);
  free(low);
  if (rc) {
    free(out);
    return rc;
  }
  if (!reason && o->min_num_sentences >= 0 && sentences < (size_t)o->min_num_sentences)
    reason = "too_few_sentences";
  for (int k = 0; k < L_N; k++)
    if (counts[k])
      weir_ctx_count(c->ctx, line_counter[k], counts[k]);
  m[0] = (double)removed;
  m[1] = (double)sentences;
  res->reason = reason;
  if (!reason && !o->keep_text && (olen != len || memcmp(out, s, len) != 0)) {
    /* "\n".join(kept).strip(): the lines are stripped already. */
    res->new_text = out;
    res->new_len = olen;
  } else {
    free(out);
  }
  return WEIR_OK;
}

static const weir__text_kind c4_kind = {
    .kind = "c4",
    .prefix = "c4_",
    .needs_words = 0,
    .rewrites = 1,
    .annots = annots,
    .nannot = NANNOT,
    .opts_size = sizeof(weir_c4_options),
    .row = c4_row,
};

weir_op *weir_text_quality_c4(weir_pipeline *p, weir_op *in, const weir_c4_options *o) {
  weir_c4_options d = WEIR_C4_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_quality_c4", o->version, WEIR_C4_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  return weir__text_op(p, in, &c4_kind, &d, &d.common, NULL);
}
