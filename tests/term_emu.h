/* A small terminal emulator for tests: it interprets what a program wrote
 * on a pseudo-terminal (printable text with xterm's automatic wrap at the
 * last column, CR, LF with scrolling, and the CSI sequences weir uses:
 * cursor up/down/column, erase in line, erase below) into the screen a
 * user would see, plus the lines scrolled off the top. Any other escape
 * sequence is counted as unknown, so a test can insist there is none. */
#ifndef WEIR_TESTS_TERM_EMU_H
#define WEIR_TESTS_TERM_EMU_H

#include <stdlib.h>
#include <string.h>

#define TE_MAX_COLS 256
#define TE_MAX_ROWS 64
#define TE_MAX_SCROLL 4096

typedef struct term_emu {
  int rows, cols;
  char screen[TE_MAX_ROWS][TE_MAX_COLS + 1];
  int r, c;
  int pending_wrap;             /* xterm: the last column was just written */
  char *scrolled[TE_MAX_SCROLL];
  int nscrolled;                /* lines that left the top of the screen */
  int wraps;                    /* automatic wraps: a line was too long */
  int unknown;                  /* escape sequences not understood */
  /* Parser state across writes. */
  int esc;                      /* 0 text, 1 after ESC, 2 inside CSI */
  char csi[32];
  int ncsi;
} term_emu;

static inline void te_init(term_emu *t, int rows, int cols) {
  memset(t, 0, sizeof *t);
  t->rows = rows;
  t->cols = cols;
  for (int i = 0; i < rows; i++)
    memset(t->screen[i], ' ', (size_t)cols);
}

static inline void te_free(term_emu *t) {
  for (int i = 0; i < t->nscrolled; i++)
    free(t->scrolled[i]);
  t->nscrolled = 0;
}

/* A screen line without its trailing blanks, in `buf`. */
static inline const char *te_line(const term_emu *t, int row, char *buf) {
  int n = t->cols;
  while (n > 0 && t->screen[row][n - 1] == ' ')
    n--;
  memcpy(buf, t->screen[row], (size_t)n);
  buf[n] = '\0';
  return buf;
}

static inline void te_linefeed(term_emu *t) {
  if (t->r + 1 < t->rows) {
    t->r++;
    return;
  }
  char buf[TE_MAX_COLS + 1];
  if (t->nscrolled < TE_MAX_SCROLL)
    t->scrolled[t->nscrolled++] = strdup(te_line(t, 0, buf));
  memmove(t->screen[0], t->screen[1], sizeof t->screen[0] * (size_t)(t->rows - 1));
  memset(t->screen[t->rows - 1], ' ', (size_t)t->cols);
  t->screen[t->rows - 1][t->cols] = '\0';
}

static inline void te_erase(term_emu *t, int row, int from, int to) {
  for (int i = from; i < to; i++)
    t->screen[row][i] = ' ';
}

static inline int te_arg(const term_emu *t, int dflt) {
  if (t->ncsi == 0)
    return dflt;
  int v = atoi(t->csi);
  return v == 0 && dflt ? dflt : v;
}

static inline void te_csi(term_emu *t, char final) {
  t->csi[t->ncsi] = '\0';
  switch (final) {
  case 'A': t->r -= te_arg(t, 1); if (t->r < 0) t->r = 0; break;
  case 'B': t->r += te_arg(t, 1); if (t->r >= t->rows) t->r = t->rows - 1; break;
  case 'G': t->c = te_arg(t, 1) - 1; if (t->c < 0) t->c = 0; if (t->c >= t->cols) t->c = t->cols - 1; break;
  case 'K': {
    int m = te_arg(t, 0);
    if (m == 0) te_erase(t, t->r, t->c, t->cols);
    else if (m == 1) te_erase(t, t->r, 0, t->c + 1);
    else te_erase(t, t->r, 0, t->cols);
    break;
  }
  case 'J': {
    int m = te_arg(t, 0);
    if (m == 0) {
      te_erase(t, t->r, t->c, t->cols);
      for (int i = t->r + 1; i < t->rows; i++) te_erase(t, i, 0, t->cols);
    } else {
      t->unknown++;
    }
    break;
  }
  default: t->unknown++;
  }
  t->pending_wrap = 0;
}

static inline void te_write(term_emu *t, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (t->esc == 1) {
      if (ch == '[') {
        t->esc = 2;
        t->ncsi = 0;
      } else {
        t->unknown++;
        t->esc = 0;
      }
      continue;
    }
    if (t->esc == 2) {
      if (ch >= 0x40 && ch <= 0x7e) {
        te_csi(t, (char)ch);
        t->esc = 0;
      } else if (t->ncsi < (int)sizeof t->csi - 1) {
        t->csi[t->ncsi++] = (char)ch;
      }
      continue;
    }
    if (ch == 0x1b) {
      t->esc = 1;
    } else if (ch == '\r') {
      t->c = 0;
      t->pending_wrap = 0;
    } else if (ch == '\n') {
      te_linefeed(t);
      t->pending_wrap = 0;
    } else if (ch >= 0x20 && (ch & 0xC0) != 0x80) {
      if (t->pending_wrap) {
        t->wraps++;
        t->c = 0;
        te_linefeed(t);
        t->pending_wrap = 0;
      }
      t->screen[t->r][t->c] = ch >= 0x80 ? '?' : (char)ch;
      if (t->c + 1 == t->cols)
        t->pending_wrap = 1;
      else
        t->c++;
    }
  }
}

/* Every line the user can scroll back to, then the screen, in order, with
 * trailing empty screen lines left out; one line each, '\n'-separated. The
 * caller frees it. */
static inline char *te_transcript(const term_emu *t, int *nlines) {
  size_t cap = (size_t)(t->nscrolled + t->rows) * (TE_MAX_COLS + 2) + 1;
  char *out = malloc(cap), buf[TE_MAX_COLS + 1];
  size_t len = 0;
  int last = t->rows - 1;
  while (last >= 0 && te_line(t, last, buf)[0] == '\0')
    last--;
  for (int i = 0; i < t->nscrolled; i++)
    len += (size_t)sprintf(out + len, "%s\n", t->scrolled[i]);
  for (int i = 0; i <= last; i++)
    len += (size_t)sprintf(out + len, "%s\n", te_line(t, i, buf));
  out[len] = '\0';
  if (nlines)
    *nlines = t->nscrolled + last + 1;
  return out;
}

#endif
