/* The band-key store of weir_dedup_minhash: (key, ordinal) records per
 * band, in memory up to a limit and then as sorted runs in one file per
 * band. Bands never mix: grouping reads one band's runs at a time, which
 * is also the unit a distributed runtime would send to the rank owning
 * that band. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/scratch_file.h"
#include "text/minhash.h"
#include "weir/error.h"

typedef struct run {
  uint64_t off, n;        /* first record's byte offset, records */
} run;

typedef struct band {
  weir__mh_rec *mem;
  size_t n, cap;
  int fd;
  uint64_t fsize;
  run *runs;
  size_t nruns, runs_cap;
} band;

struct weir__mh_store {
  int bands;
  size_t limit, mem_bytes;
  band *b;
  char *work_dir, *spill_dir;
  uint64_t spilled, runs, records;
  char err[512];
};

static int fail(weir__mh_store *s, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return rc;
}

static char *dup_or_null(const char *x) { return x ? strdup(x) : NULL; }

int weir__mh_store_create(int bands, size_t limit, const char *work_dir, const char *spill_dir,
                          weir__mh_store **out) {
  weir__mh_store *s = calloc(1, sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  s->bands = bands;
  s->limit = limit < 16u * (size_t)bands * 64 ? 16u * (size_t)bands * 64 : limit;
  s->b = calloc((size_t)bands, sizeof *s->b);
  s->work_dir = dup_or_null(work_dir);
  s->spill_dir = dup_or_null(spill_dir);
  if (!s->b || (work_dir && !s->work_dir) || (spill_dir && !s->spill_dir)) {
    weir__mh_store_destroy(s);
    return WEIR_ENOMEM;
  }
  for (int i = 0; i < bands; i++)
    s->b[i].fd = -1;
  *out = s;
  return WEIR_OK;
}

void weir__mh_store_destroy(weir__mh_store *s) {
  if (!s)
    return;
  for (int i = 0; s->b && i < s->bands; i++) {
    free(s->b[i].mem);
    free(s->b[i].runs);
    if (s->b[i].fd >= 0)
      close(s->b[i].fd);
  }
  free(s->b);
  free(s->work_dir);
  free(s->spill_dir);
  free(s);
}

const char *weir__mh_store_errmsg(const weir__mh_store *s) { return s->err; }
uint64_t weir__mh_store_spilled_bytes(const weir__mh_store *s) { return s->spilled; }
uint64_t weir__mh_store_runs(const weir__mh_store *s) { return s->runs; }
uint64_t weir__mh_store_records(const weir__mh_store *s) { return s->records; }

static int open_band(weir__mh_store *s, int i) {
  char path[4096];
  if (s->work_dir) {
    snprintf(path, sizeof path, "%s/band_%03d.keys", s->work_dir, i);
    s->b[i].fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } else {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "weir-minhash-band%03d", i);
    s->b[i].fd = weir__scratch_file(s->spill_dir, prefix, path, sizeof path);
  }
  if (s->b[i].fd < 0)
    return fail(s, WEIR_EIO, "cannot create the band-key file %s: %s", path, strerror(errno));
  return WEIR_OK;
}

static int cmp_rec(const void *x, const void *y) {
  const weir__mh_rec *a = x, *b = y;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off) {
  const char *c = p;
  while (n) {
    ssize_t k = pwrite(fd, c, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    c += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

static int spill_band(weir__mh_store *s, int i) {
  band *b = &s->b[i];
  if (b->n == 0)
    return WEIR_OK;
  int rc;
  if (b->fd < 0 && (rc = open_band(s, i)))
    return rc;
  qsort(b->mem, b->n, sizeof *b->mem, cmp_rec);
  size_t bytes = b->n * sizeof *b->mem;
  if (write_all(b->fd, b->mem, bytes, b->fsize))
    return fail(s, WEIR_EIO, "writing %zu bytes of band %d's keys: %s", bytes, i,
                strerror(errno));
  if (b->nruns == b->runs_cap) {
    size_t nc = b->runs_cap ? 2 * b->runs_cap : 8;
    run *nr = realloc(b->runs, nc * sizeof *nr);
    if (!nr)
      return WEIR_ENOMEM;
    b->runs = nr;
    b->runs_cap = nc;
  }
  b->runs[b->nruns++] = (run){b->fsize, b->n};
  b->fsize += bytes;
  s->spilled += bytes;
  s->runs++;
  s->mem_bytes -= bytes;
  b->n = 0;
  return WEIR_OK;
}

int weir__mh_store_flush(weir__mh_store *s) {
  for (int i = 0; i < s->bands; i++) {
    int rc = spill_band(s, i);
    if (rc)
      return rc;
  }
  return WEIR_OK;
}

int weir__mh_store_add(weir__mh_store *s, const uint64_t *keys, uint64_t ord) {
  for (int i = 0; i < s->bands; i++) {
    band *b = &s->b[i];
    if (b->n == b->cap) {
      size_t nc = b->cap ? 2 * b->cap : 256;
      size_t most = s->limit / sizeof(weir__mh_rec) / (size_t)s->bands + 1;
      if (nc > most && b->cap < most)
        nc = most;
      weir__mh_rec *nm = realloc(b->mem, nc * sizeof *nm);
      if (!nm)
        return WEIR_ENOMEM;
      b->mem = nm;
      b->cap = nc;
    }
    b->mem[b->n++] = (weir__mh_rec){keys[i], ord};
  }
  s->mem_bytes += (size_t)s->bands * sizeof(weir__mh_rec);
  s->records += (uint64_t)s->bands;
  if (s->mem_bytes >= s->limit)
    return weir__mh_store_flush(s);
  return WEIR_OK;
}

int weir__mh_store_save(const weir__mh_store *s, FILE *f) {
  for (int i = 0; i < s->bands; i++) {
    const band *b = &s->b[i];
    if (fprintf(f, "band %d %zu\n", i, b->nruns) < 0)
      return WEIR_EIO;
    for (size_t r = 0; r < b->nruns; r++)
      if (fprintf(f, "run %llu %llu\n", (unsigned long long)b->runs[r].off,
                  (unsigned long long)b->runs[r].n) < 0)
        return WEIR_EIO;
  }
  return WEIR_OK;
}

int weir__mh_store_load(int bands, const char *work_dir, FILE *f, weir__mh_store **out) {
  weir__mh_store *s;
  int rc = weir__mh_store_create(bands, 0, work_dir, NULL, &s);
  if (rc)
    return rc;
  for (int i = 0; i < bands; i++) {
    int bi;
    size_t nr;
    if (fscanf(f, " band %d %zu", &bi, &nr) != 2 || bi != i || nr > ((size_t)1 << 32)) {
      weir__mh_store_destroy(s);
      return WEIR_EFORMAT;
    }
    band *b = &s->b[i];
    b->runs = calloc(nr ? nr : 1, sizeof *b->runs);
    if (!b->runs) {
      weir__mh_store_destroy(s);
      return WEIR_ENOMEM;
    }
    b->runs_cap = nr ? nr : 1;
    for (size_t r = 0; r < nr; r++) {
      unsigned long long off, n;
      if (fscanf(f, " run %llu %llu", &off, &n) != 2) {
        weir__mh_store_destroy(s);
        return WEIR_EFORMAT;
      }
      b->runs[r] = (run){off, n};
      b->fsize = off + n * sizeof(weir__mh_rec);
      s->records += n;
    }
    b->nruns = nr;
    s->runs += nr;
    if (nr) {
      char path[4096];
      snprintf(path, sizeof path, "%s/band_%03d.keys", work_dir, i);
      b->fd = open(path, O_RDONLY | O_CLOEXEC);
      off_t size = b->fd >= 0 ? lseek(b->fd, 0, SEEK_END) : -1;
      if (size < 0 || (uint64_t)size < b->fsize) {
        weir__mh_store_destroy(s);
        return WEIR_EFORMAT;
      }
    }
  }
  *out = s;
  return WEIR_OK;
}

/* ---- Grouping: a k-way merge of one band's runs and its memory ------------ */
#define RBUF 4096

typedef struct src {
  weir__mh_rec *buf;      /* run buffer, or the band's sorted memory */
  size_t pos, len;
  uint64_t next_off, left;  /* run: bytes offset of what is not read, records */
} src;

static int src_fill(weir__mh_store *s, int fd, src *x, int band) {
  if (x->pos < x->len || x->left == 0)
    return WEIR_OK;
  size_t want = x->left < RBUF ? (size_t)x->left : RBUF;
  size_t bytes = want * sizeof(weir__mh_rec), got = 0;
  while (got < bytes) {
    ssize_t k = pread(fd, (char *)x->buf + got, bytes - got, (off_t)(x->next_off + got));
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return fail(s, WEIR_EIO, "reading band %d's keys: %s", band,
                  k == 0 ? "the file is shorter than its runs" : strerror(errno));
    got += (size_t)k;
  }
  x->next_off += bytes;
  x->left -= want;
  x->pos = 0;
  x->len = want;
  return WEIR_OK;
}

static int src_less(const src *a, const src *b) {
  const weir__mh_rec *x = &a->buf[a->pos], *y = &b->buf[b->pos];
  return x->key != y->key ? x->key < y->key : x->ord < y->ord;
}

static void sift(src **h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && src_less(h[l], h[m]))
      m = l;
    if (l + 1 < n && src_less(h[l + 1], h[m]))
      m = l + 1;
    if (m == i)
      return;
    src *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

int weir__mh_store_groups(weir__mh_store *s, int bi, weir__mh_group_fn fn, void *user) {
  band *b = &s->b[bi];
  size_t ns = b->nruns + 1;
  src *srcs = calloc(ns, sizeof *srcs);
  src **heap = calloc(ns, sizeof *heap);
  uint64_t *ords = NULL;
  size_t nords = 0, ords_cap = 0;
  int rc = (srcs && heap) ? WEIR_OK : WEIR_ENOMEM;
  size_t nh = 0;
  for (size_t r = 0; r < b->nruns && !rc; r++) {
    srcs[r].buf = malloc(RBUF * sizeof(weir__mh_rec));
    if (!srcs[r].buf) {
      rc = WEIR_ENOMEM;
      break;
    }
    srcs[r].next_off = b->runs[r].off;
    srcs[r].left = b->runs[r].n;
    rc = src_fill(s, b->fd, &srcs[r], bi);
    if (!rc && srcs[r].len)
      heap[nh++] = &srcs[r];
  }
  if (!rc && b->n) {
    qsort(b->mem, b->n, sizeof *b->mem, cmp_rec);
    srcs[b->nruns].buf = b->mem;
    srcs[b->nruns].len = b->n;
    heap[nh++] = &srcs[b->nruns];
  }
  for (size_t i = nh; i-- > 0;)
    sift(heap, nh, i);
  uint64_t cur = 0;
  while (!rc && nh) {
    src *x = heap[0];
    weir__mh_rec r = x->buf[x->pos++];
    if (nords && r.key != cur) {
      if (nords >= 2)
        rc = fn(user, ords, nords);
      nords = 0;
    }
    cur = r.key;
    if (!rc && nords == ords_cap) {
      size_t nc = ords_cap ? 2 * ords_cap : 64;
      uint64_t *no = realloc(ords, nc * sizeof *no);
      if (!no)
        rc = WEIR_ENOMEM;
      else {
        ords = no;
        ords_cap = nc;
      }
    }
    if (rc)
      break;
    ords[nords++] = r.ord;
    if (x->pos == x->len && x != &srcs[b->nruns])
      rc = src_fill(s, b->fd, x, bi);
    if (x->pos == x->len)
      heap[0] = heap[--nh];
    sift(heap, nh, 0);
  }
  if (!rc && nords >= 2)
    rc = fn(user, ords, nords);
  for (size_t r = 0; srcs && r < b->nruns; r++)
    free(srcs[r].buf);
  free(srcs);
  free(heap);
  free(ords);
  return rc;
}
