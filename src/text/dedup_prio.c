/* The best row per key of weir_dedup_exact's priority mode, within a
 * memory limit. An open-addressing table keeps, per 128-bit key, the best
 * (priority, ordinal) seen so far; a later row with a higher priority
 * replaces it. When the table is three quarters full at its largest size
 * it is sorted by key and appended to an unlinked spill file as a run, and
 * starts empty: a key may then have an entry in several runs. At the end
 * the table (sorted) and the runs are merged key by key, and the best
 * entry of each key sets its ordinal's bit in a bitmap of the rows kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/scratch_file.h"
#include "text/dedup.h"
#include "weir/error.h"

#define HAS (1ull << 63)   /* in `ordf`: the priority is not null */
#define EMPTY UINT64_MAX   /* `ordf` of an empty slot */
#define RBUF 2048          /* entries read at a time per run when merging */

typedef struct entry {
  uint64_t lo, hi;
  uint64_t prio;           /* encoded: higher wins */
  uint64_t ordf;           /* ordinal | HAS */
} entry;

typedef struct run {
  uint64_t off, n;         /* entries at byte `off` of the file */
} run;

struct weir__prio {
  entry *tab;
  size_t cap, count, max_fill, maxcap;
  size_t limit;
  run *runs;
  size_t nruns, runs_cap;
  int fd;
  uint64_t file_end;
  const char *dir;
  uint64_t *bits;          /* after finish: the rows kept */
  uint64_t nrows;
  weir__seen *winners;     /* after finish with lookup, when runs exist */
  char err[512];
};

/* 1 when (a) beats (b): a value beats a null, a higher priority a lower
 * one, and on a tie the earlier row (the first seen) wins. */
static int beats(const entry *a, const entry *b) {
  if ((a->ordf & HAS) != (b->ordf & HAS))
    return (a->ordf & HAS) != 0;
  if ((a->ordf & HAS) && a->prio != b->prio)
    return a->prio > b->prio;
  return (a->ordf & ~HAS) < (b->ordf & ~HAS);
}

static int key_cmp(const entry *a, const entry *b) {
  if (a->hi != b->hi)
    return a->hi < b->hi ? -1 : 1;
  if (a->lo != b->lo)
    return a->lo < b->lo ? -1 : 1;
  return 0;
}

static int entry_cmp(const void *x, const void *y) { return key_cmp(x, y); }

static size_t slot_of(uint64_t lo, uint64_t hi, size_t mask) {
  return (size_t)(lo ^ (hi >> 7)) & mask;
}

int weir__prio_create(size_t limit, const char *spill_dir, weir__prio **out) {
  weir__prio *t = calloc(1, sizeof *t);
  if (!t)
    return WEIR_ENOMEM;
  size_t maxcap = 1024; /* the smallest table, whatever the limit */
  while (maxcap * 2 * sizeof(entry) <= limit)
    maxcap *= 2;
  t->maxcap = maxcap;
  t->cap = maxcap < 65536 ? maxcap : 65536;
  t->max_fill = t->cap - t->cap / 4;
  t->limit = limit;
  t->fd = -1;
  t->dir = spill_dir;
  t->tab = malloc(t->cap * sizeof *t->tab);
  if (!t->tab) {
    free(t);
    return WEIR_ENOMEM;
  }
  memset(t->tab, 0xff, t->cap * sizeof *t->tab);
  *out = t;
  return WEIR_OK;
}

void weir__prio_destroy(weir__prio *t) {
  if (!t)
    return;
  free(t->tab);
  free(t->runs);
  free(t->bits);
  weir__seen_destroy(t->winners);
  if (t->fd >= 0)
    close(t->fd);
  free(t);
}

const char *weir__prio_errmsg(const weir__prio *t) { return t->err; }
uint64_t weir__prio_spilled_bytes(const weir__prio *t) { return t->file_end; }
uint64_t weir__prio_runs(const weir__prio *t) { return t->nruns; }

static int open_file(weir__prio *t) {
  char path[4096];
  t->fd = weir__scratch_file(t->dir, "weir-dedup-prio", path, sizeof path);
  if (t->fd < 0) {
    snprintf(t->err, sizeof t->err, "cannot make a spill file in %s: %s",
             weir__scratch_dir(t->dir), strerror(errno));
    return WEIR_EIO;
  }
  return WEIR_OK;
}

static int io_all(weir__prio *t, int writing, void *buf, size_t len, uint64_t off) {
  char *p = buf;
  while (len) {
    ssize_t k = writing ? pwrite(t->fd, p, len, (off_t)off) : pread(t->fd, p, len, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      snprintf(t->err, sizeof t->err, "%s %zu bytes of priority keys %s the spill file: %s",
               writing ? "writing" : "reading", len, writing ? "to" : "from",
               k < 0 ? strerror(errno) : writing ? "no space written" : "unexpected end of file");
      return WEIR_EIO;
    }
    p += k;
    len -= (size_t)k;
    off += (uint64_t)k;
  }
  return WEIR_OK;
}

/* Compacts the occupied slots to the front and sorts them by key; the
 * count of them. */
static size_t sort_table(weir__prio *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->tab[i].ordf != EMPTY)
      t->tab[n++] = t->tab[i];
  qsort(t->tab, n, sizeof *t->tab, entry_cmp);
  return n;
}

/* Sorts the table into a run appended to the file; empties the table. */
static int spill(weir__prio *t) {
  if (t->fd < 0) {
    int rc = open_file(t);
    if (rc)
      return rc;
  }
  if (t->nruns == t->runs_cap) {
    size_t nc = t->runs_cap ? t->runs_cap * 2 : 8;
    run *nr = realloc(t->runs, nc * sizeof *nr);
    if (!nr)
      return WEIR_ENOMEM;
    t->runs = nr;
    t->runs_cap = nc;
  }
  size_t n = sort_table(t);
  int rc = io_all(t, 1, t->tab, n * sizeof *t->tab, t->file_end);
  if (rc)
    return rc;
  t->runs[t->nruns++] = (run){t->file_end, n};
  t->file_end += n * sizeof *t->tab;
  memset(t->tab, 0xff, t->cap * sizeof *t->tab);
  t->count = 0;
  return WEIR_OK;
}

static int grow(weir__prio *t) {
  size_t nc = t->cap * 2, mask = nc - 1;
  entry *nt = malloc(nc * sizeof *nt);
  if (!nt)
    return WEIR_ENOMEM;
  memset(nt, 0xff, nc * sizeof *nt);
  for (size_t k = 0; k < t->cap; k++) {
    entry *e = &t->tab[k];
    if (e->ordf == EMPTY)
      continue;
    size_t i = slot_of(e->lo, e->hi, mask);
    while (nt[i].ordf != EMPTY)
      i = (i + 1) & mask;
    nt[i] = *e;
  }
  free(t->tab);
  t->tab = nt;
  t->cap = nc;
  t->max_fill = nc - nc / 4;
  return WEIR_OK;
}

static entry *find_slot(const weir__prio *t, uint64_t lo, uint64_t hi) {
  size_t mask = t->cap - 1, i = slot_of(lo, hi, mask);
  for (;;) {
    entry *e = &t->tab[i];
    if (e->ordf == EMPTY || (e->lo == lo && e->hi == hi))
      return e;
    i = (i + 1) & mask;
  }
}

int weir__prio_offer(weir__prio *t, const uint64_t key[2], int has, uint64_t prio, uint64_t ord) {
  entry cand = {key[0], key[1], has ? prio : 0, ord | (has ? HAS : 0)};
  entry *e = find_slot(t, key[0], key[1]);
  if (e->ordf != EMPTY) {
    if (beats(&cand, e))
      *e = cand;
    return WEIR_OK;
  }
  *e = cand;
  if (++t->count >= t->max_fill) {
    if (t->cap < t->maxcap && grow(t) == WEIR_OK)
      return WEIR_OK;
    int rc = spill(t);
    if (rc)
      return rc < 0 ? rc : WEIR_EIO;
  }
  return WEIR_OK;
}

/* A sorted source of entries for the merge: a run read RBUF at a time, or
 * the sorted table. */
typedef struct cursor {
  const entry *cur, *end;
  entry *buf;              /* NULL for the table */
  uint64_t off, left;      /* of the run, still to read */
} cursor;

static int cursor_fill(weir__prio *t, cursor *c) {
  if (c->cur < c->end || !c->buf || !c->left)
    return WEIR_OK;
  size_t k = c->left < RBUF ? (size_t)c->left : RBUF;
  int rc = io_all(t, 0, c->buf, k * sizeof(entry), c->off);
  if (rc)
    return rc;
  c->off += k * sizeof(entry);
  c->left -= k;
  c->cur = c->buf;
  c->end = c->buf + k;
  return WEIR_OK;
}

static int decide(weir__prio *t, const entry *best, int lookup) {
  uint64_t ord = best->ordf & ~HAS;
  if (ord >= t->nrows) {
    snprintf(t->err, sizeof t->err, "row %llu kept of only %llu rows (a bug in weir)",
             (unsigned long long)ord, (unsigned long long)t->nrows);
    return WEIR_EINVAL;
  }
  t->bits[ord >> 6] |= 1ull << (ord & 63);
  if (lookup && t->winners) {
    uint64_t key[2] = {best->lo, best->hi}, first;
    int rc = weir__seen_check(t->winners, key, ord, &first);
    if (rc < 0) {
      snprintf(t->err, sizeof t->err, "%s", weir__seen_errmsg(t->winners));
      return rc;
    }
  }
  return WEIR_OK;
}

int weir__prio_finish(weir__prio *t, uint64_t nrows, int lookup) {
  t->nrows = nrows;
  size_t words = (size_t)((nrows + 63) / 64);
  t->bits = calloc(words ? words : 1, sizeof *t->bits);
  if (!t->bits) {
    snprintf(t->err, sizeof t->err, "out of memory for the bitmap of %llu rows",
             (unsigned long long)nrows);
    return WEIR_ENOMEM;
  }
  if (t->nruns == 0) {
    /* Everything is in the table, which answers lookups itself. */
    for (size_t i = 0; i < t->cap; i++)
      if (t->tab[i].ordf != EMPTY) {
        int rc = decide(t, &t->tab[i], 0);
        if (rc)
          return rc;
      }
    return WEIR_OK;
  }
  if (lookup && weir__seen_create(t->limit, t->dir, &t->winners)) {
    snprintf(t->err, sizeof t->err, "out of memory for the table of kept rows");
    return WEIR_ENOMEM;
  }
  size_t n = sort_table(t), nc = t->nruns + 1;
  cursor *cs = calloc(nc, sizeof *cs);
  if (!cs)
    return WEIR_ENOMEM;
  int rc = WEIR_OK;
  for (size_t r = 0; r < t->nruns && !rc; r++) {
    cs[r].buf = malloc(RBUF * sizeof(entry));
    cs[r].off = t->runs[r].off;
    cs[r].left = t->runs[r].n;
    rc = cs[r].buf ? cursor_fill(t, &cs[r]) : WEIR_ENOMEM;
  }
  cs[t->nruns].cur = t->tab;
  cs[t->nruns].end = t->tab + n;
  /* A plain scan for the smallest key: runs are few (each is a table's
   * worth of keys), and the scan is cheap next to the reads. */
  while (!rc) {
    const entry *min = NULL;
    for (size_t r = 0; r < nc; r++)
      if (cs[r].cur < cs[r].end && (!min || key_cmp(cs[r].cur, min) < 0))
        min = cs[r].cur;
    if (!min)
      break;
    entry best = *min, key = *min;
    for (size_t r = 0; r < nc && !rc; r++)
      while (cs[r].cur < cs[r].end && key_cmp(cs[r].cur, &key) == 0) {
        if (beats(cs[r].cur, &best))
          best = *cs[r].cur;
        cs[r].cur++;
        if ((rc = cursor_fill(t, &cs[r])))
          break;
      }
    if (!rc)
      rc = decide(t, &best, lookup);
  }
  for (size_t r = 0; r < nc; r++)
    free(cs[r].buf);
  free(cs);
  if (rc == WEIR_ENOMEM && !t->err[0])
    snprintf(t->err, sizeof t->err, "out of memory merging %zu runs of priority keys",
             t->nruns);
  return rc;
}

int weir__prio_kept(const weir__prio *t, uint64_t ord) {
  return ord < t->nrows && ((t->bits[ord >> 6] >> (ord & 63)) & 1);
}

int weir__prio_winner(weir__prio *t, const uint64_t key[2], uint64_t *ord) {
  if (t->winners) {
    int rc = weir__seen_check(t->winners, key, UINT64_MAX - 1, ord);
    if (rc < 0) {
      snprintf(t->err, sizeof t->err, "%s", weir__seen_errmsg(t->winners));
      return rc;
    }
    if (rc == 1)
      return WEIR_OK;
  } else if (t->nruns == 0) {
    entry *e = find_slot(t, key[0], key[1]);
    if (e->ordf != EMPTY) {
      *ord = e->ordf & ~HAS;
      return WEIR_OK;
    }
  }
  snprintf(t->err, sizeof t->err, "a key offered has no kept row (a bug in weir)");
  return WEIR_EINVAL;
}
