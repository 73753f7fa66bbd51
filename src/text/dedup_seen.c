/* The set of seen 128-bit keys of weir_dedup_exact, within a memory limit.
 * An open-addressing table holds the newest keys; when it is three
 * quarters full its entries are sorted and appended to one unlinked spill
 * file as a run. Each run keeps in memory a Bloom filter (10 bits per key,
 * 7 probes: about 1% false positives) and a sparse index (the first key of
 * every 64), so a key absent from the table costs a few bit tests per run
 * and, for the runs that may hold it, one pread of at most 64 entries.
 * The table, filters and indexes count in the pipeline's memory budget
 * (text/table_mem.h): the table doubles only while the budget has room,
 * spills a run when it has not, and shrinks after a spill while the
 * budget is over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/scratch_file.h"
#include "text/dedup.h"
#include "text/table_mem.h"
#include "weir/error.h"

typedef struct entry {
  uint64_t lo, hi;
  uint64_t first1; /* ordinal + 1; 0 = empty slot */
} entry;

#define STRIDE 64  /* keys per sparse-index step */
#define BLOOM_K 7
#define MINCAP 1024 /* the smallest table, whatever the limit and budget */

typedef struct run {
  uint64_t off, n;     /* entries at byte `off` of the file */
  uint64_t *bloom;     /* `mask + 1` bits */
  uint64_t mask;
  entry *index;        /* keys [0], [STRIDE], [2 STRIDE] ... (first1 unused) */
} run;

struct weir__seen {
  entry *tab;
  size_t cap, count, max_fill;
  size_t maxcap;       /* the capacity the limit allows */
  run *runs;
  size_t nruns, runs_cap;
  int fd;
  uint64_t file_end;
  const char *dir;
  char err[512];
  entry *scratch;      /* one sparse step read back */
  weir__tabmem *mem;   /* where its bytes are counted; NULL = nowhere */
  size_t counted;      /* bytes it counted there */
};

/* Counts n bytes in the budget (see weir__tabmem_take): 1 when done. */
static int take(weir__seen *s, size_t n, int force) {
  if (!weir__tabmem_take(s->mem, n, force))
    return 0;
  s->counted += n;
  return 1;
}

static void give(weir__seen *s, size_t n) {
  weir__tabmem_give(s->mem, n);
  s->counted -= n;
}

static int key_cmp(const entry *a, uint64_t lo, uint64_t hi) {
  if (a->hi != hi)
    return a->hi < hi ? -1 : 1;
  if (a->lo != lo)
    return a->lo < lo ? -1 : 1;
  return 0;
}

static int entry_cmp(const void *x, const void *y) {
  const entry *b = y;
  return key_cmp(x, b->lo, b->hi);
}

int weir__seen_create(size_t limit, const char *spill_dir, weir__tabmem *mem, weir__seen **out) {
  weir__seen *s = calloc(1, sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  s->mem = mem;
  /* The table starts small and doubles up to the limit, so a small
   * corpus does not touch memory it does not need. */
  size_t maxcap = MINCAP;
  while (maxcap * 2 * sizeof(entry) <= limit)
    maxcap *= 2;
  size_t cap = maxcap < 65536 ? maxcap : 65536;
  if (!take(s, cap * sizeof(entry), 0)) {
    cap = MINCAP; /* the budget is short already: start at the least */
    take(s, cap * sizeof(entry), 1);
  }
  s->maxcap = maxcap;
  s->cap = cap;
  s->max_fill = cap - cap / 4;
  s->tab = calloc(cap, sizeof *s->tab);
  s->scratch = malloc(STRIDE * sizeof(entry));
  s->fd = -1;
  s->dir = spill_dir;
  if (!s->tab || !s->scratch) {
    weir__seen_destroy(s);
    return WEIR_ENOMEM;
  }
  *out = s;
  return WEIR_OK;
}

void weir__seen_destroy(weir__seen *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nruns; i++) {
    free(s->runs[i].bloom);
    free(s->runs[i].index);
  }
  free(s->runs);
  free(s->tab);
  free(s->scratch);
  if (s->fd >= 0)
    close(s->fd);
  give(s, s->counted);
  free(s);
}

const char *weir__seen_errmsg(const weir__seen *s) { return s->err; }
uint64_t weir__seen_spilled_bytes(const weir__seen *s) { return s->file_end; }
uint64_t weir__seen_runs(const weir__seen *s) { return s->nruns; }

static int bloom_may(const run *r, uint64_t lo, uint64_t hi) {
  uint64_t h2 = hi | 1;
  for (int k = 0; k < BLOOM_K; k++) {
    uint64_t bit = (lo + (uint64_t)k * h2) & r->mask;
    if (!((r->bloom[bit >> 6] >> (bit & 63)) & 1))
      return 0;
  }
  return 1;
}

static void bloom_add(run *r, uint64_t lo, uint64_t hi) {
  uint64_t h2 = hi | 1;
  for (int k = 0; k < BLOOM_K; k++) {
    uint64_t bit = (lo + (uint64_t)k * h2) & r->mask;
    r->bloom[bit >> 6] |= 1ull << (bit & 63);
  }
}

static int open_file(weir__seen *s) {
  char path[4096];
  s->fd = weir__scratch_file(s->dir, "weir-dedup", path, sizeof path);
  if (s->fd < 0) {
    snprintf(s->err, sizeof s->err, "cannot make a spill file in %s: %s",
             weir__scratch_dir(s->dir), strerror(errno));
    return WEIR_EIO;
  }
  return WEIR_OK;
}

static int write_all(weir__seen *s, const void *buf, size_t len, uint64_t off) {
  const char *p = buf;
  while (len) {
    ssize_t w = pwrite(s->fd, p, len, (off_t)off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      snprintf(s->err, sizeof s->err, "writing %zu bytes of seen keys to the spill file: %s",
               len, w < 0 ? strerror(errno) : "no space written");
      return WEIR_EIO;
    }
    p += w;
    len -= (size_t)w;
    off += (uint64_t)w;
  }
  return WEIR_OK;
}

/* Sorts the table into a run appended to the file; empties the table. */
static int spill(weir__seen *s) {
  if (s->fd < 0) {
    int rc = open_file(s);
    if (rc)
      return rc;
  }
  if (s->nruns == s->runs_cap) {
    size_t nc = s->runs_cap ? s->runs_cap * 2 : 8;
    run *nr = realloc(s->runs, nc * sizeof *nr);
    if (!nr)
      return WEIR_ENOMEM;
    s->runs = nr;
    s->runs_cap = nc;
  }
  /* Compact the occupied slots to the front, then sort them. */
  size_t n = 0;
  for (size_t i = 0; i < s->cap; i++)
    if (s->tab[i].first1)
      s->tab[n++] = s->tab[i];
  qsort(s->tab, n, sizeof *s->tab, entry_cmp);
  run r = {s->file_end, n, NULL, 0, NULL};
  uint64_t bits = 64;
  while (bits < (uint64_t)n * 10)
    bits *= 2;
  r.mask = bits - 1;
  r.bloom = calloc(bits / 64, sizeof *r.bloom);
  size_t nidx = (n + STRIDE - 1) / STRIDE;
  r.index = malloc((nidx ? nidx : 1) * sizeof *r.index);
  if (!r.bloom || !r.index) {
    free(r.bloom);
    free(r.index);
    return WEIR_ENOMEM;
  }
  /* What stays in memory of a run: it cannot go anywhere else. */
  take(s, bits / 8 + (nidx ? nidx : 1) * sizeof *r.index, 1);
  for (size_t i = 0; i < n; i++) {
    bloom_add(&r, s->tab[i].lo, s->tab[i].hi);
    if (i % STRIDE == 0)
      r.index[i / STRIDE] = s->tab[i];
  }
  int rc = write_all(s, s->tab, n * sizeof *s->tab, s->file_end);
  if (rc) {
    free(r.bloom);
    free(r.index);
    return rc;
  }
  s->file_end += n * sizeof *s->tab;
  s->runs[s->nruns++] = r;
  s->count = 0;
  /* Empty now: while the budget is over, give half of it back. */
  size_t cap = s->cap;
  while (cap > MINCAP && weir__tabmem_over(s->mem)) {
    give(s, cap / 2 * sizeof(entry));
    cap /= 2;
  }
  if (cap < s->cap) {
    entry *nt = calloc(cap, sizeof *nt);
    if (!nt) {
      snprintf(s->err, sizeof s->err, "out of memory shrinking the table of seen keys");
      return WEIR_ENOMEM;
    }
    free(s->tab);
    s->tab = nt;
    s->cap = cap;
    s->max_fill = cap - cap / 4;
  } else {
    memset(s->tab, 0, s->cap * sizeof *s->tab);
  }
  return WEIR_OK;
}

/* Doubles the table (it is below the limit) when the budget has room for
 * the new one beside the old; 1 when it has not. */
static int grow(weir__seen *s) {
  size_t nc = s->cap * 2, mask = nc - 1;
  if (!take(s, nc * sizeof(entry), 0))
    return 1;
  entry *nt = calloc(nc, sizeof *nt);
  if (!nt) {
    give(s, nc * sizeof(entry));
    return WEIR_ENOMEM;
  }
  for (size_t k = 0; k < s->cap; k++) {
    entry *e = &s->tab[k];
    if (!e->first1)
      continue;
    size_t i = (size_t)(e->lo ^ (e->hi >> 7)) & mask;
    while (nt[i].first1)
      i = (i + 1) & mask;
    nt[i] = *e;
  }
  free(s->tab);
  give(s, s->cap * sizeof(entry));
  s->tab = nt;
  s->cap = nc;
  s->max_fill = nc - nc / 4;
  return WEIR_OK;
}

/* 1 and *first when run `r` holds the key; 0 when not; < 0 on error. */
static int run_find(weir__seen *s, const run *r, uint64_t lo, uint64_t hi, uint64_t *first) {
  if (!bloom_may(r, lo, hi))
    return 0;
  size_t nidx = (r->n + STRIDE - 1) / STRIDE;
  /* The last step whose first key is <= the key. */
  size_t a = 0, b = nidx;
  while (a < b) {
    size_t m = (a + b) / 2;
    if (key_cmp(&r->index[m], lo, hi) <= 0)
      a = m + 1;
    else
      b = m;
  }
  if (a == 0)
    return 0;
  size_t step = a - 1;
  size_t cnt = r->n - step * STRIDE < STRIDE ? r->n - step * STRIDE : STRIDE;
  size_t len = cnt * sizeof(entry);
  uint64_t off = r->off + step * STRIDE * sizeof(entry);
  char *p = (char *)s->scratch;
  size_t got = 0;
  while (got < len) {
    ssize_t k = pread(s->fd, p + got, len - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      snprintf(s->err, sizeof s->err, "reading seen keys back from the spill file: %s",
               k < 0 ? strerror(errno) : "unexpected end of file");
      return WEIR_EIO;
    }
    got += (size_t)k;
  }
  entry *e = bsearch(&(entry){lo, hi, 0}, s->scratch, cnt, sizeof(entry), entry_cmp);
  if (!e)
    return 0;
  *first = e->first1 - 1;
  return 1;
}

int weir__seen_check(weir__seen *s, const uint64_t key[2], uint64_t ord, uint64_t *first) {
  uint64_t lo = key[0], hi = key[1];
  size_t mask = s->cap - 1;
  size_t i = (size_t)(lo ^ (hi >> 7)) & mask;
  for (;;) {
    entry *e = &s->tab[i];
    if (!e->first1)
      break;
    if (e->lo == lo && e->hi == hi) {
      *first = e->first1 - 1;
      return 1;
    }
    i = (i + 1) & mask;
  }
  for (size_t r = 0; r < s->nruns; r++) {
    int rc = run_find(s, &s->runs[r], lo, hi, first);
    if (rc)
      return rc;
  }
  /* New: into the empty slot found above. */
  s->tab[i] = (entry){lo, hi, ord + 1};
  if (++s->count >= s->max_fill) {
    if (s->cap < s->maxcap && grow(s) == WEIR_OK)
      return 0;
    int rc = spill(s);
    if (rc)
      return rc < 0 ? rc : WEIR_EIO;
  }
  return 0;
}
