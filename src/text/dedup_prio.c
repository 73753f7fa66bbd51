/* The best row per key of weir_dedup_exact's priority mode, within a
 * memory limit. An open-addressing table keeps, per 128-bit key, the best
 * (priority, ordinal) seen so far; a later row with a higher priority
 * replaces it. When the table is three quarters full at its largest size
 * it is sorted by key and appended to an unlinked spill file as a run, and
 * starts empty: a key may then have an entry in several runs. At the end
 * the table (sorted) and the runs are merged key by key, and the best
 * entry of each key sets its ordinal's bit in a bitmap of the rows kept.
 * String priorities (weir__prio_strings) compare bytewise: an entry holds
 * the first 8 bytes big-endian, and a longer string lives whole in an
 * arena beside the table (written to the spill file ahead of a run's
 * entries when the table spills), read only when two prefixes tie.
 * The table, the merge's buffers and the bitmap count in the pipeline's
 * memory budget (text/table_mem.h): the table doubles only while the
 * budget has room, and shrinks after a spill while the budget is over. */
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
#define MINCAP 1024        /* the smallest table, whatever the limit and budget */

typedef struct entry {
  uint64_t lo, hi;
  uint64_t prio;           /* encoded: higher wins; strings: the first 8
                              bytes big-endian, zero-padded */
  uint64_t ordf;           /* ordinal | HAS */
  uint64_t tail;           /* strings: low 4 bits T_* or the length of a
                              string of at most 8 bytes; the rest the
                              offset of the whole string (u32 length, then
                              its bytes) in the arena or the file */
} entry;

#define T_CAND 13          /* the string being offered (cand_p, cand_len) */
#define T_FILE 14          /* whole string in the spill file */
#define T_MEM 15           /* whole string in the arena */
#define STAGE (64 << 10)   /* bytes of strings written to the file at once */

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
  weir__tabmem *mem;       /* where its bytes are counted; NULL = nowhere */
  size_t counted;          /* bytes it counted there */
  /* String priorities. */
  int strings, lowest;
  char *arena;             /* whole strings of more than 8 bytes */
  size_t arena_used, arena_cap;
  const char *cand_p;      /* the string being offered */
  size_t cand_len;
  char *sbuf[2];           /* strings read back from the file */
  size_t sbuf_cap[2];
  char err[512];
};

/* Counts n bytes in the budget (see weir__tabmem_take): 1 when done. */
static int take(weir__prio *t, size_t n, int force) {
  if (!weir__tabmem_take(t->mem, n, force))
    return 0;
  t->counted += n;
  return 1;
}

static void give(weir__prio *t, size_t n) {
  weir__tabmem_give(t->mem, n);
  t->counted -= n;
}

static int key_cmp(const entry *a, const entry *b) {
  if (a->hi != b->hi)
    return a->hi < b->hi ? -1 : 1;
  if (a->lo != b->lo)
    return a->lo < b->lo ? -1 : 1;
  return 0;
}

static int entry_cmp(const void *x, const void *y) { return key_cmp(x, y); }

static int io_all(weir__prio *t, int writing, void *buf, size_t len, uint64_t off);

/* The whole string of entry e into *p, *len (slot: which read buffer a
 * string in the file goes to; sb: room for a short one). */
static int str_of(weir__prio *t, const entry *e, int slot, char sb[8], const char **p,
                  size_t *len) {
  unsigned code = (unsigned)(e->tail & 15);
  uint64_t off = e->tail >> 4;
  if (code <= 8) {
    for (unsigned k = 0; k < code; k++)
      sb[k] = (char)(e->prio >> (56 - 8 * k));
    *p = sb;
    *len = code;
    return WEIR_OK;
  }
  if (code == T_CAND) {
    *p = t->cand_p;
    *len = t->cand_len;
    return WEIR_OK;
  }
  uint32_t n;
  if (code == T_MEM) {
    memcpy(&n, t->arena + off, 4);
    *p = t->arena + off + 4;
    *len = n;
    return WEIR_OK;
  }
  int rc = io_all(t, 0, &n, 4, off);
  if (rc)
    return rc;
  if (n > t->sbuf_cap[slot]) {
    char *nb = realloc(t->sbuf[slot], n);
    if (!nb)
      return WEIR_ENOMEM;
    t->sbuf[slot] = nb;
    t->sbuf_cap[slot] = n;
  }
  if (n && (rc = io_all(t, 0, t->sbuf[slot], n, off + 4)))
    return rc;
  *p = t->sbuf[slot];
  *len = n;
  return WEIR_OK;
}

/* 1 when (a) beats (b), 0 when not, < 0 on a read error: a value beats a
 * null, a higher priority a lower one (strings: bytewise, the lower with
 * `lowest`), and on a tie the earlier row (the first seen) wins. */
static int beats(weir__prio *t, const entry *a, const entry *b) {
  if ((a->ordf & HAS) != (b->ordf & HAS))
    return (a->ordf & HAS) != 0;
  if (a->ordf & HAS) {
    int c = 0;
    if (a->prio != b->prio) {
      c = a->prio > b->prio ? 1 : -1;
    } else if (t->strings) {
      unsigned ca = (unsigned)(a->tail & 15), cb = (unsigned)(b->tail & 15);
      if (ca <= 8 && cb <= 8) {
        c = ca > cb ? 1 : ca < cb ? -1 : 0;
      } else {
        char sa[8], sb[8];
        const char *pa, *pb;
        size_t la, lb;
        int rc = str_of(t, a, 0, sa, &pa, &la);
        if (!rc)
          rc = str_of(t, b, 1, sb, &pb, &lb);
        if (rc)
          return rc;
        c = memcmp(pa, pb, la < lb ? la : lb);
        if (!c)
          c = la > lb ? 1 : la < lb ? -1 : 0;
      }
    }
    if (c && t->strings && t->lowest)
      c = -c;
    if (c)
      return c > 0;
  }
  return (a->ordf & ~HAS) < (b->ordf & ~HAS);
}

static size_t slot_of(uint64_t lo, uint64_t hi, size_t mask) {
  return (size_t)(lo ^ (hi >> 7)) & mask;
}

int weir__prio_create(size_t limit, const char *spill_dir, weir__tabmem *mem,
                      weir__prio **out) {
  weir__prio *t = calloc(1, sizeof *t);
  if (!t)
    return WEIR_ENOMEM;
  t->mem = mem;
  size_t maxcap = MINCAP;
  while (maxcap * 2 * sizeof(entry) <= limit)
    maxcap *= 2;
  t->maxcap = maxcap;
  t->cap = maxcap < 65536 ? maxcap : 65536;
  if (!take(t, t->cap * sizeof(entry), 0)) {
    t->cap = MINCAP; /* the budget is short already: start at the least */
    take(t, t->cap * sizeof(entry), 1);
  }
  t->max_fill = t->cap - t->cap / 4;
  t->limit = limit;
  t->fd = -1;
  t->dir = spill_dir;
  t->tab = malloc(t->cap * sizeof *t->tab);
  if (!t->tab) {
    weir__prio_destroy(t);
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
  free(t->arena);
  free(t->sbuf[0]);
  free(t->sbuf[1]);
  weir__seen_destroy(t->winners);
  if (t->fd >= 0)
    close(t->fd);
  give(t, t->counted);
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

/* Writes the whole strings the first n entries hold in the arena to the
 * file, ahead of the run, and points the entries at them there; empties
 * the arena. */
static int spill_strings(weir__prio *t, size_t n) {
  char *stage = malloc(STAGE);
  if (!stage)
    return WEIR_ENOMEM;
  take(t, STAGE, 1);
  size_t used = 0;
  int rc = WEIR_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    entry *e = &t->tab[i];
    if ((e->tail & 15) != T_MEM)
      continue;
    uint64_t off = e->tail >> 4;
    uint32_t len;
    memcpy(&len, t->arena + off, 4);
    size_t rec = 4 + (size_t)len;
    if (used + rec > STAGE && used) {
      rc = io_all(t, 1, stage, used, t->file_end);
      t->file_end += used;
      used = 0;
    }
    if (rc)
      break;
    e->tail = (t->file_end + used) << 4 | T_FILE;
    if (rec > STAGE) {
      rc = io_all(t, 1, t->arena + off, rec, t->file_end);
      t->file_end += rec;
    } else {
      memcpy(stage + used, t->arena + off, rec);
      used += rec;
    }
  }
  if (!rc && used) {
    rc = io_all(t, 1, stage, used, t->file_end);
    t->file_end += used;
  }
  free(stage);
  give(t, STAGE);
  t->arena_used = 0;
  return rc;
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
  int rc = t->strings ? spill_strings(t, n) : WEIR_OK;
  if (!rc)
    rc = io_all(t, 1, t->tab, n * sizeof *t->tab, t->file_end);
  if (rc)
    return rc;
  t->runs[t->nruns++] = (run){t->file_end, n};
  t->file_end += n * sizeof *t->tab;
  t->count = 0;
  /* Empty now: while the budget is over, give half of it back. */
  size_t cap = t->cap;
  while (cap > MINCAP && weir__tabmem_over(t->mem)) {
    give(t, cap / 2 * sizeof(entry));
    cap /= 2;
  }
  if (cap < t->cap) {
    entry *nt = malloc(cap * sizeof *nt);
    if (!nt) {
      snprintf(t->err, sizeof t->err, "out of memory shrinking the table of priority keys");
      return WEIR_ENOMEM;
    }
    free(t->tab);
    t->tab = nt;
    t->cap = cap;
    t->max_fill = cap - cap / 4;
  }
  memset(t->tab, 0xff, t->cap * sizeof *t->tab);
  return WEIR_OK;
}

/* Doubles the table when the budget has room for the new one beside the
 * old; 1 when it has not. */
static int grow(weir__prio *t) {
  size_t nc = t->cap * 2, mask = nc - 1;
  if (!take(t, nc * sizeof(entry), 0))
    return 1;
  entry *nt = malloc(nc * sizeof *nt);
  if (!nt) {
    give(t, nc * sizeof(entry));
    return WEIR_ENOMEM;
  }
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
  give(t, t->cap * sizeof(entry));
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
  entry cand = {key[0], key[1], has ? prio : 0, ord | (has ? HAS : 0), 0};
  entry *e = find_slot(t, key[0], key[1]);
  if (e->ordf != EMPTY) {
    if (beats(t, &cand, e) == 1)
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

int weir__prio_strings(weir__prio *t, int lowest) {
  t->strings = 1;
  t->lowest = lowest;
  /* The arena takes up to half the limit: the table the other half. */
  if (t->maxcap > MINCAP)
    t->maxcap /= 2;
  return WEIR_OK;
}

/* Room for `need` more bytes in the arena: WEIR_OK, 1 when the arena is at
 * its share of the limit or the budget is short (spill first), or
 * WEIR_ENOMEM. With `force` it grows whatever the limit and budget. */
static int arena_room(weir__prio *t, size_t need, int force) {
  if (t->arena_used + need <= t->arena_cap)
    return WEIR_OK;
  size_t nc = t->arena_cap ? t->arena_cap * 2 : 65536;
  while (nc < t->arena_used + need)
    nc *= 2;
  if (!force && (nc > t->limit / 2 || !take(t, nc, 0)))
    return 1;
  if (force)
    take(t, nc, 1);
  char *na = realloc(t->arena, nc);
  if (!na) {
    give(t, nc);
    snprintf(t->err, sizeof t->err, "out of memory for %zu bytes of priority strings", nc);
    return WEIR_ENOMEM;
  }
  give(t, t->arena_cap);
  t->arena = na;
  t->arena_cap = nc;
  return WEIR_OK;
}

int weir__prio_offer_str(weir__prio *t, const uint64_t key[2], const char *s, size_t len,
                         uint64_t ord) {
  entry cand = {key[0], key[1], 0, ord, 0};
  if (s) {
    for (size_t k = 0; k < 8; k++)
      cand.prio = cand.prio << 8 | (k < len ? (unsigned char)s[k] : 0);
    cand.ordf |= HAS;
    cand.tail = len <= 8 ? len : T_CAND;
  }
  t->cand_p = s;
  t->cand_len = len;
  entry *e = find_slot(t, key[0], key[1]);
  int fresh = e->ordf == EMPTY;
  if (!fresh && beats(t, &cand, e) != 1)
    return WEIR_OK; /* strings in memory only: no read to fail */
  if ((cand.tail & 15) == T_CAND) {
    size_t need = 4 + len;
    int rc = arena_room(t, need, 0);
    if (rc == 1) {
      /* The arena is full: the table goes to a run (with this key's entry
       * so far, which this row beats), and the row starts a new one. */
      rc = spill(t);
      if (rc)
        return rc < 0 ? rc : WEIR_EIO;
      e = find_slot(t, key[0], key[1]);
      fresh = 1;
      rc = arena_room(t, need, 1);
    }
    if (rc)
      return rc;
    uint32_t n32 = (uint32_t)len;
    memcpy(t->arena + t->arena_used, &n32, 4);
    memcpy(t->arena + t->arena_used + 4, s, len);
    cand.tail = (uint64_t)t->arena_used << 4 | T_MEM;
    t->arena_used += need;
  }
  *e = cand;
  if (fresh && ++t->count >= t->max_fill) {
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
  /* The bitmap and the merge's buffers cannot go elsewhere: counted. */
  take(t, (words ? words : 1) * sizeof *t->bits, 1);
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
  if (lookup && weir__seen_create(t->limit, t->dir, t->mem, &t->winners)) {
    snprintf(t->err, sizeof t->err, "out of memory for the table of kept rows");
    return WEIR_ENOMEM;
  }
  size_t n = sort_table(t), nc = t->nruns + 1;
  cursor *cs = calloc(nc, sizeof *cs);
  if (!cs)
    return WEIR_ENOMEM;
  int rc = WEIR_OK;
  size_t bufs = 0;
  for (size_t r = 0; r < t->nruns && !rc; r++) {
    size_t k = t->runs[r].n < RBUF ? (size_t)t->runs[r].n : RBUF;
    bufs += (k ? k : 1) * sizeof(entry);
    cs[r].buf = malloc((k ? k : 1) * sizeof(entry));
    cs[r].off = t->runs[r].off;
    cs[r].left = t->runs[r].n;
    rc = cs[r].buf ? cursor_fill(t, &cs[r]) : WEIR_ENOMEM;
  }
  take(t, bufs, 1);
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
        int b = beats(t, cs[r].cur, &best);
        if (b < 0) {
          rc = b;
          break;
        }
        if (b)
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
  give(t, bufs);
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
