/* weir_chunk_stream: a document fed in pieces of any size is cut into the
 * chunks weir_chunk_spans() gives for the whole text, holding only the text
 * not decided yet: the chunk being packed, the unit (paragraph, sentence)
 * whose length is still unknown while it is shorter than chunk_size, and a
 * few bytes of look-back. A unit known to be longer than chunk_size is cut
 * as it arrives (its sentences, then runs of code points), exactly as the
 * in-memory splitter cuts it, because both use the same boundary scanners
 * (chunk_split.c), which answer "not known yet" instead of guessing when a
 * decision needs text that has not arrived.
 *
 * Positions in the state are relative to buf (which holds the document's
 * bytes [base, base + len)); dropping a prefix of buf shifts them all. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/utf8.h"
#include "text/chunk.h"
#include "text/chunk_stream_tokens.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* How far back of its scan position the sentence scanner may look (an
 * abbreviation is at most 8 bytes before its '.'), with room to spare. */
#define LOOK_BACK 16

/* The sentence scanner over one region (the document, or a paragraph
 * longer than chunk_size). */
typedef struct sent_state {
  size_t lo;       /* the region's start (look-back limit)               */
  size_t us;       /* the current sentence's start                       */
  size_t i;        /* where scanning resumes                             */
  int slong;       /* the current sentence is longer than chunk_size...  */
  size_t ha;       /* ...and is being cut in runs from here              */
} sent_state;

struct weir_chunk_stream {
  weir__chunk_params cp;
  char *buf;
  size_t cap, len;      /* bytes held                                     */
  uint64_t base;        /* document offset of buf[0]                      */
  size_t avail;         /* buf[0..avail) is whole characters, checked     */
  int final, failed;
  weir__chunk_out out;  /* this feed's chunks                             */
  size_t max_held;      /* most bytes held at once (for tests and stats)  */

  /* The chunk being packed. */
  int open;
  size_t oa, ob, on;

  /* CHARS: where the next chunk starts. */
  size_t ca;

  /* TOKENS (chunk_stream_tokens.c). */
  weir__tokwin *tw;

  /* PARAGRAPHS (also a Markdown section's body). */
  size_t pu, pscan;     /* the paragraph's start; where scanning resumes  */
  int plong;            /* it is longer than chunk_size: ss cuts it       */
  sent_state ss;        /* SENTENCES: the document; else a long paragraph */

  /* MARKDOWN. */
  size_t mpos;          /* start of the line not classified yet           */
  int mplain;           /* that line cannot be a heading or a fence...    */
  size_t mscan;         /* ...and its '\n' is looked for from here        */
  int in_fence;
  char fch;
  size_t fcount;
  char *head[6];        /* the enclosing headings' texts                  */
  size_t head_len[6];
  char *path;           /* "A > B > C" of the current section             */
  size_t path_len, path_cap;
  int path_out;         /* the path is in out.paths for this feed...      */
  size_t path_at;       /* ...at this offset                              */
};

/* ---- Chunks out ------------------------------------------------------------ */

static int emit(weir_chunk_stream *cs, size_t a, size_t b) {
  size_t ps = 0, pl = 0;
  if (cs->cp.method == WEIR_CHUNK_MARKDOWN) {
    if (!cs->path_out) {
      cs->path_at = cs->out.paths_len;
      int rc = weir__chunk_paths_put(&cs->out, cs->path ? cs->path : "", cs->path_len);
      if (rc)
        return rc;
      cs->path_out = 1;
    }
    ps = cs->path_at;
    pl = cs->path_len;
  }
  return weir__chunk_push_path(&cs->out, a, b, ps, pl);
}

/* Packs atoms greedily as the in-memory splitter does: an atom joins the
 * open chunk while the chunk, from its first atom's start to this atom's
 * end, stays within chunk_size code points. */
static int atom(weir_chunk_stream *cs, size_t a, size_t b, size_t n) {
  if (a >= b)
    return WEIR_OK;
  if (cs->open) {
    size_t more = weir__chunk_cps(cs->buf, cs->ob, a) + n;
    if (cs->on + more <= cs->cp.size) {
      cs->ob = b;
      cs->on += more;
      return WEIR_OK;
    }
    int rc = emit(cs, cs->oa, cs->ob);
    if (rc)
      return rc;
  }
  cs->open = 1;
  cs->oa = a;
  cs->ob = b;
  cs->on = n;
  return WEIR_OK;
}

static int pack_flush(weir_chunk_stream *cs) {
  if (!cs->open)
    return WEIR_OK;
  cs->open = 0;
  return emit(cs, cs->oa, cs->ob);
}

/* s[a..b) without its trailing white space (a when it is all white space). */
static size_t rtrim(const char *s, size_t a, size_t b) {
  if (a >= b)
    return a;
  size_t x = a, y = b;
  weir__chunk_trim(s, &x, &y);
  return x < y ? y : a;
}

/* Runs of chunk_size code points from a, each trimmed (hard pieces). */
static int hard_pieces(weir_chunk_stream *cs, size_t a, size_t b) {
  int rc = WEIR_OK;
  while (a < b && !rc) {
    size_t e = weir__chunk_cp_forward(cs->buf, b, a, cs->cp.size), x = a, y = e;
    weir__chunk_trim(cs->buf, &x, &y);
    if (x < y)
      rc = atom(cs, x, y, weir__chunk_cps(cs->buf, x, y));
    a = e;
  }
  return rc;
}

/* ---- Sentences ---------------------------------------------------------------- */

/* The sentence [ss->us, e) is complete: an atom, or runs of code points. */
static int sentence_done(weir_chunk_stream *cs, sent_state *ss, size_t e) {
  int rc = WEIR_OK;
  if (ss->slong) {
    /* Runs continue from ha; only the end is trimmed (as the in-memory
     * splitter trims the sentence before cutting it). */
    if (e > ss->ha)
      rc = hard_pieces(cs, ss->ha, rtrim(cs->buf, ss->ha, e));
  } else {
    size_t x = ss->us, y = e;
    weir__chunk_trim(cs->buf, &x, &y);
    if (x < y) {
      size_t n = weir__chunk_cps(cs->buf, x, y);
      rc = n <= cs->cp.size ? atom(cs, x, y, n) : hard_pieces(cs, x, y);
    }
  }
  ss->slong = 0;
  return rc;
}

/* Scans the region's sentences up to b (its end when `fin`). */
static int sent_advance(weir_chunk_stream *cs, sent_state *ss, size_t b, int fin) {
  const char *s = cs->buf;
  for (;;) {
    size_t e = 0, nx = 0;
    int r = weir__chunk_next_sentence(s, ss->lo, &ss->i, b, fin, &e, &nx);
    if (r == 1) {
      int rc = sentence_done(cs, ss, e);
      if (rc)
        return rc;
      ss->us = nx;
      continue;
    }
    if (fin)
      return sentence_done(cs, ss, b);
    /* The sentence goes on at least to `bound`: once it is longer than
     * chunk_size, its whole runs are final. */
    size_t bound = ss->i;
    if (!ss->slong) {
      size_t x = ss->us, y = bound;
      weir__chunk_trim(s, &x, &y);
      if (x < y && weir__chunk_cps(s, x, y) > cs->cp.size) {
        ss->slong = 1;
        ss->ha = x;
      }
    }
    if (ss->slong) {
      size_t y = rtrim(s, ss->ha, bound);
      while (ss->ha < y) {
        size_t e2 = weir__chunk_cp_forward(s, y, ss->ha, cs->cp.size);
        if (e2 >= y && weir__chunk_cps(s, ss->ha, y) < cs->cp.size)
          break; /* a partial run: it may grow */
        size_t x = ss->ha, yy = e2;
        weir__chunk_trim(s, &x, &yy);
        if (x < yy) {
          int rc = atom(cs, x, yy, weir__chunk_cps(s, x, yy));
          if (rc)
            return rc;
        }
        ss->ha = e2;
      }
    }
    return WEIR_OK;
  }
}

/* ---- Paragraphs ---------------------------------------------------------------- */

static void sent_start(sent_state *ss, size_t at) {
  *ss = (sent_state){at, at, at, 0, 0};
}

/* The paragraph [pu, pe) is complete. */
static int para_done(weir_chunk_stream *cs, size_t pe) {
  int rc;
  if (cs->plong) {
    size_t y = rtrim(cs->buf, cs->ss.slong ? cs->ss.ha : cs->ss.us, pe);
    rc = sent_advance(cs, &cs->ss, y, 1);
  } else {
    size_t x = cs->pu, y = pe;
    weir__chunk_trim(cs->buf, &x, &y);
    if (x >= y)
      return WEIR_OK;
    size_t n = weir__chunk_cps(cs->buf, x, y);
    if (n <= cs->cp.size)
      return atom(cs, x, y, n);
    sent_start(&cs->ss, x);
    rc = sent_advance(cs, &cs->ss, y, 1);
  }
  cs->plong = 0;
  return rc;
}

/* Scans paragraphs up to b (the region's end when `fin`). */
static int para_advance(weir_chunk_stream *cs, size_t b, int fin) {
  const char *s = cs->buf;
  for (;;) {
    size_t e = 0, nx = 0;
    int r = weir__chunk_next_paragraph(s, &cs->pscan, b, fin, &e, &nx);
    if (r == 1) {
      int rc = para_done(cs, e);
      if (rc)
        return rc;
      cs->pu = nx;
      continue;
    }
    if (fin)
      return para_done(cs, b);
    size_t bound = cs->pscan;
    if (!cs->plong) {
      size_t x = cs->pu, y = bound;
      weir__chunk_trim(s, &x, &y);
      if (x < y && weir__chunk_cps(s, x, y) > cs->cp.size) {
        cs->plong = 1;
        sent_start(&cs->ss, x);
      }
    }
    return cs->plong ? sent_advance(cs, &cs->ss, bound, 0) : WEIR_OK;
  }
}

/* ---- Markdown ------------------------------------------------------------------ */

static int path_set(weir_chunk_stream *cs, int level, const char *t, size_t tl) {
  char *h = malloc(tl + 1);
  if (!h)
    return WEIR_ENOMEM;
  memcpy(h, t, tl);
  h[tl] = 0;
  free(cs->head[level - 1]);
  cs->head[level - 1] = h;
  cs->head_len[level - 1] = tl;
  for (int k = level; k < 6; k++) {
    free(cs->head[k]);
    cs->head[k] = NULL;
    cs->head_len[k] = 0;
  }
  size_t need = 1;
  for (int k = 0; k < level; k++)
    need += cs->head_len[k] + 3;
  if (need > cs->path_cap) {
    char *np = realloc(cs->path, need);
    if (!np)
      return WEIR_ENOMEM;
    cs->path = np;
    cs->path_cap = need;
  }
  size_t n = 0;
  for (int k = 0; k < level; k++) {
    if (!cs->head_len[k])
      continue;
    if (n) {
      memcpy(cs->path + n, " > ", 3);
      n += 3;
    }
    memcpy(cs->path + n, cs->head[k], cs->head_len[k]);
    n += cs->head_len[k];
  }
  cs->path[n] = 0;
  cs->path_len = n;
  cs->path_out = 0;
  return WEIR_OK;
}

/* Classifies the lines that are here (a line that may be a heading or a
 * fence only once it is whole), feeding each section's body to the
 * paragraph scanner and closing the section at the next heading. */
static int md_advance(weir_chunk_stream *cs, size_t end, int fin) {
  const char *s = cs->buf;
  int rc = WEIR_OK;
  for (;;) {
    if (cs->mplain) {
      const char *nl = cs->mscan < end ? memchr(s + cs->mscan, '\n', end - cs->mscan) : NULL;
      if (!nl) {
        cs->mscan = end;
        break;
      }
      cs->mpos = (size_t)(nl - s) + 1;
      cs->mplain = 0;
      continue;
    }
    if (cs->mpos > end || (cs->mpos == end && !fin))
      break;
    size_t i = cs->mpos;
    while (i < end && s[i] == ' ' && i - cs->mpos < 4)
      i++;
    if (i >= end && !fin)
      break; /* not known yet what the line starts with */
    if (i < end && (i - cs->mpos >= 4 || (s[i] != '#' && s[i] != '`' && s[i] != '~'))) {
      cs->mplain = 1; /* neither a heading nor a fence, whatever follows */
      cs->mscan = i;
      continue;
    }
    const char *nl = memchr(s + cs->mpos, '\n', end - cs->mpos);
    if (!nl && !fin)
      break; /* a heading or a fence is classified whole */
    size_t e = nl ? (size_t)(nl - s) : end;
    char ch;
    size_t count, rest, ta, tb;
    int level = 0;
    if (weir__chunk_md_fence(s, cs->mpos, e, &ch, &count, &rest)) {
      if (!cs->in_fence) {
        cs->in_fence = 1;
        cs->fch = ch;
        cs->fcount = count;
      } else if (ch == cs->fch && count >= cs->fcount) {
        size_t x = rest, y = e;
        weir__chunk_trim(s, &x, &y);
        if (x == y)
          cs->in_fence = 0;
      }
    } else if (!cs->in_fence) {
      level = weir__chunk_md_heading(s, cs->mpos, e, &ta, &tb);
    }
    if (level) {
      /* The section before this heading ends. */
      if ((rc = para_advance(cs, cs->mpos, 1)) || (rc = pack_flush(cs)))
        return rc;
      if ((rc = path_set(cs, level, s + ta, tb - ta)))
        return rc;
      cs->pu = cs->pscan = cs->mpos;
      cs->plong = 0;
    }
    if (!nl) {
      cs->mpos = end + 1; /* the last line, at the end of the text */
      break;
    }
    cs->mpos = e + 1;
  }
  /* The body is known up to the line not classified yet. */
  size_t b = cs->mplain ? end : cs->mpos < end ? cs->mpos : end;
  if (fin)
    b = end;
  return para_advance(cs, b, fin);
}

/* ---- Characters ------------------------------------------------------------------ */

static int chars_advance(weir_chunk_stream *cs, size_t end, int fin) {
  while (cs->ca < end) {
    size_t e = weir__chunk_cp_forward(cs->buf, end, cs->ca, cs->cp.size);
    if (e >= end && !fin)
      break; /* the chunk may be longer, or be the last */
    int rc = emit(cs, cs->ca, e);
    if (rc)
      return rc;
    if (e >= end)
      break;
    cs->ca = weir__chunk_cp_back(cs->buf, cs->ca, e, cs->cp.overlap);
  }
  return WEIR_OK;
}

/* ---- The buffer ------------------------------------------------------------------- */

/* The first byte the state still needs. */
static size_t live_from(const weir_chunk_stream *cs) {
  size_t m = cs->avail;
#define LIVE(x) do { if ((x) < m) m = (x); } while (0)
  if (cs->open)
    LIVE(cs->oa);
  switch (cs->cp.method) {
  case WEIR_CHUNK_CHARS:
    LIVE(cs->ca);
    break;
  case WEIR_CHUNK_TOKENS: {
    uint64_t l = weir__tokwin_live(cs->tw);
    LIVE(l > cs->base ? (size_t)(l - cs->base) : 0);
    break;
  }
  case WEIR_CHUNK_MARKDOWN:
    LIVE(cs->mplain ? cs->mscan : cs->mpos);
    /* fall through */
  case WEIR_CHUNK_PARAGRAPHS:
    LIVE(cs->pscan);
    if (!cs->plong) {
      LIVE(cs->pu);
      break;
    }
    /* fall through */
  default: /* SENTENCES, and a long paragraph's sentences */
    LIVE(cs->ss.i);
    LIVE(cs->ss.slong ? cs->ss.ha : cs->ss.us);
    break;
  }
#undef LIVE
  return m;
}

static void shift(size_t *x, size_t d) { *x = *x > d ? *x - d : 0; }

/* Drops the bytes no state needs, keeping LOOK_BACK before them. */
static void compact(weir_chunk_stream *cs) {
  size_t m = live_from(cs);
  size_t d = m > LOOK_BACK ? m - LOOK_BACK : 0;
  /* Step back to a character's first byte, so the look-back starts on one. */
  while (d > 0 && (((unsigned char)cs->buf[d]) & 0xC0) == 0x80)
    d--;
  if (d == 0 || (d < 4096 && d * 2 < cs->len))
    return; /* nothing to drop, or not worth a move yet */
  memmove(cs->buf, cs->buf + d, cs->len - d);
  cs->len -= d;
  cs->avail -= d;
  cs->base += d;
  size_t *pos[] = {&cs->oa, &cs->ob, &cs->ca, &cs->pu, &cs->pscan, &cs->ss.lo, &cs->ss.us,
                   &cs->ss.i, &cs->ss.ha, &cs->mpos, &cs->mscan};
  for (size_t k = 0; k < sizeof pos / sizeof pos[0]; k++)
    shift(pos[k], d);
}

/* Where whole characters end in buf[0..len): before a sequence whose
 * lead byte says it is longer than what is there. */
static size_t whole_chars(const char *b, size_t len) {
  size_t k = len;
  for (size_t back = 0; back < 4 && k > 0; back++) {
    unsigned char c = (unsigned char)b[k - 1];
    if ((c & 0xC0) != 0x80) {
      size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      return c >= 0xC2 && c <= 0xF4 && need > len - (k - 1) ? k - 1 : len;
    }
    k--;
  }
  return len;
}

/* ---- Public ------------------------------------------------------------------------ */

int weir_chunk_stream_create(const weir_chunk_options *o, weir_chunk_stream **out) {
  if (!out)
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_stream_create: NULL out");
  *out = NULL;
  char why[256];
  weir__chunk_params cp;
  if (weir__chunk_params_from(o, &cp, why, sizeof why))
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_stream_create: %s", why);
  weir_chunk_stream *cs = calloc(1, sizeof *cs);
  if (!cs)
    return weir__set_last_error(WEIR_ENOMEM, "weir_chunk_stream_create: out of memory");
  cs->cp = cp;
  if (cp.method == WEIR_CHUNK_TOKENS) {
    int rc = weir__tokwin_create(&cp, &cs->tw);
    if (rc) {
      free(cs);
      return rc == WEIR_ENOMEM
                 ? weir__set_last_error(rc, "weir_chunk_stream_create: out of memory")
                 : rc;
    }
  }
  *out = cs;
  return WEIR_OK;
}

void weir_chunk_stream_destroy(weir_chunk_stream *cs) {
  if (!cs)
    return;
  free(cs->buf);
  weir__tokwin_destroy(cs->tw);
  weir__chunk_out_free(&cs->out);
  for (int k = 0; k < 6; k++)
    free(cs->head[k]);
  free(cs->path);
  free(cs);
}

int weir_chunk_stream_feed(weir_chunk_stream *cs, const char *data, size_t len, int last,
                           const weir_chunk_span **spans, size_t *n) {
  if (!cs || (!data && len) || !spans || !n)
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_stream_feed: NULL %s",
                                !cs ? "stream" : !spans ? "spans" : !n ? "n" : "data");
  *spans = NULL;
  *n = 0;
  if (cs->failed)
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_stream_feed: the stream failed "
                                "before");
  if (cs->final)
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_stream_feed: the document has "
                                "ended (last was set)");
  cs->out.n = 0;
  cs->out.paths_len = 0;
  cs->path_out = 0;
  compact(cs);
  if (cs->len + len + 1 > cs->cap) {
    size_t nc = cs->cap ? cs->cap : 4096;
    while (nc < cs->len + len + 1)
      nc *= 2;
    char *nb = realloc(cs->buf, nc);
    if (!nb) {
      cs->failed = 1;
      return weir__set_last_error(WEIR_ENOMEM, "weir_chunk_stream_feed: out of memory");
    }
    cs->buf = nb;
    cs->cap = nc;
  }
  if (len)
    memcpy(cs->buf + cs->len, data, len);
  cs->len += len;
  cs->buf[cs->len] = 0;
  if (cs->len > cs->max_held)
    cs->max_held = cs->len;
  size_t upto = last ? cs->len : whole_chars(cs->buf, cs->len);
  size_t bad = cs->avail + weir__utf8_invalid_at(cs->buf + cs->avail, upto - cs->avail);
  if (bad < upto) {
    cs->failed = 1;
    return weir__set_last_error(WEIR_EFORMAT, "the text is not valid UTF-8 (byte %llu)",
                                (unsigned long long)(cs->base + bad));
  }
  cs->avail = upto;
  cs->final = last != 0;
  int rc;
  switch (cs->cp.method) {
  case WEIR_CHUNK_CHARS:
    rc = chars_advance(cs, cs->avail, cs->final);
    break;
  case WEIR_CHUNK_SENTENCES:
    rc = sent_advance(cs, &cs->ss, cs->avail, cs->final);
    break;
  case WEIR_CHUNK_TOKENS:
    rc = weir__tokwin_advance(cs->tw, cs->buf, cs->base, cs->avail, cs->final, &cs->out);
    break;
  case WEIR_CHUNK_MARKDOWN:
    rc = md_advance(cs, cs->avail, cs->final);
    break;
  default:
    rc = para_advance(cs, cs->avail, cs->final);
    break;
  }
  if (!rc && cs->final)
    rc = pack_flush(cs);
  if (rc) {
    cs->failed = 1;
    return rc == WEIR_ENOMEM
               ? weir__set_last_error(rc, "weir_chunk_stream_feed: out of memory")
               : rc;
  }
  /* Spans leave as document offsets. */
  for (size_t k = 0; k < cs->out.n; k++) {
    cs->out.v[k].start += cs->base;
    cs->out.v[k].end += cs->base;
  }
  *spans = cs->out.v;
  *n = cs->out.n;
  return WEIR_OK;
}

const char *weir_chunk_stream_text(const weir_chunk_stream *cs, const weir_chunk_span *sp) {
  if (!cs || !sp || sp->start < cs->base || sp->end > cs->base + cs->len)
    return NULL;
  return cs->buf + (sp->start - cs->base);
}

const char *weir_chunk_stream_paths(const weir_chunk_stream *cs) {
  return cs && cs->out.paths ? cs->out.paths : "";
}

size_t weir_chunk_stream_max_held(const weir_chunk_stream *cs) {
  return cs ? cs->max_held : 0;
}
