/* The spill store: blocks queued on local disk as block file frames, read
 * back in order. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "core/scratch_file.h"
#include "weir/error.h"
#include "io/blockfile.h"
#include "io/spill.h"

/* Spilled data is read back soon and once: the fastest level wins. */
#define SPILL_LEVEL 1

typedef struct spilled {
  uint64_t off, comp, raw, rows, nbytes;
} spilled;

/* Three locks, so that one thread can compress and write while another
 * reads and decompresses: `push_mu` orders the pushes (and owns the
 * compressor), `pop_mu` orders the pops (and owns the decompressor), and
 * `mu` guards the queue and the file's end for the short moments they
 * change. */
struct weir__spill {
  pthread_mutex_t push_mu, pop_mu;
  pthread_mutex_t mu;
  int writing;           /* a push has reserved file space not yet queued */
  int fd;
  char *path;
  uint64_t end;          /* bytes written */
  spilled *q;            /* ring of queued frames */
  size_t head, count, cap;
  uint64_t mem_bytes;
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  weir__bytes wbuf;
  unsigned char *rbuf;
  size_t rcap;
  char errmsg[512];
};

int weir__spill_create(weir__spill **out, const char *dir, char *err,
                       size_t errlen) {
  *out = NULL;
  dir = weir__scratch_dir(dir);
  weir__spill *s = calloc(1, sizeof *s);
  if (!s) return WEIR_ENOMEM;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->push_mu, NULL);
  pthread_mutex_init(&s->pop_mu, NULL);
  s->fd = -1;
  size_t pl = strlen(dir) + 32;
  s->path = malloc(pl);
  s->cctx = ZSTD_createCCtx();
  s->dctx = ZSTD_createDCtx();
  if (!s->path || !s->cctx || !s->dctx) {
    weir__spill_destroy(s);
    return WEIR_ENOMEM;
  }
  snprintf(s->path, pl, "%s/weir-spill-XXXXXX", dir);
  s->fd = mkostemp(s->path, O_CLOEXEC);
  if (s->fd < 0) {
    snprintf(err, errlen, "cannot create a spill file in %s: %s", dir,
             strerror(errno));
    weir__spill_destroy(s);
    return WEIR_EIO;
  }
  unlink(s->path);
  *out = s;
  return WEIR_OK;
}

void weir__spill_destroy(weir__spill *s) {
  if (!s) return;
  if (s->fd >= 0) close(s->fd);
  ZSTD_freeCCtx(s->cctx);
  ZSTD_freeDCtx(s->dctx);
  weir__bytes_free(&s->wbuf);
  free(s->rbuf);
  free(s->q);
  free(s->path);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->push_mu);
  pthread_mutex_destroy(&s->pop_mu);
  free(s);
}

const char *weir__spill_errmsg(const weir__spill *s) { return s->errmsg; }

/* Messages are written under `mu`: a push and a pop may fail together. */
static void set_err(weir__spill *s, const char *fmt, const char *a,
                    const char *b) {
  pthread_mutex_lock(&s->mu);
  snprintf(s->errmsg, sizeof s->errmsg, fmt, a, b);
  pthread_mutex_unlock(&s->mu);
}

size_t weir__spill_count(const weir__spill *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  size_t n = s->count;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return n;
}

uint64_t weir__spill_disk_bytes(const weir__spill *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  uint64_t n = s->end;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return n;
}

uint64_t weir__spill_mem_bytes(const weir__spill *s) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  uint64_t n = s->mem_bytes;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
  return n;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off) {
  const unsigned char *c = p;
  while (n) {
    ssize_t w = pwrite(fd, c, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n, uint64_t off) {
  unsigned char *c = p;
  while (n) {
    ssize_t r = pread(fd, c, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    c += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return 0;
}

int weir__spill_push(weir__spill *s, const weir_block *b) {
  pthread_mutex_lock(&s->push_mu);
  s->wbuf.len = 0;
  uint64_t raw;
  int rc = weir__bf_frame(b, s->cctx, SPILL_LEVEL, &s->wbuf, &raw);
  if (rc != WEIR_OK) {
    set_err(s, "spill: cannot encode a block: %s%s", weir_strerror(rc), "");
    pthread_mutex_unlock(&s->push_mu);
    return rc;
  }
  /* Reserve the file range, write it unlocked, then queue the frame. */
  pthread_mutex_lock(&s->mu);
  uint64_t off = s->end;
  s->end += s->wbuf.len;
  s->writing = 1;
  pthread_mutex_unlock(&s->mu);
  int werr = write_all(s->fd, s->wbuf.p, s->wbuf.len, off);
  int e = errno;
  pthread_mutex_lock(&s->mu);
  s->writing = 0;
  if (werr != 0) {
    snprintf(s->errmsg, sizeof s->errmsg, "spill: write to %s failed: %s",
             s->path, strerror(e));
    rc = WEIR_EIO;
  } else if (s->count == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    spilled *q = malloc(cap * sizeof *q);
    if (!q) {
      rc = WEIR_ENOMEM;
    } else {
      for (size_t i = 0; i < s->count; i++) q[i] = s->q[(s->head + i) % s->cap];
      free(s->q);
      s->q = q;
      s->head = 0;
      s->cap = cap;
    }
  }
  if (rc == WEIR_OK) {
    spilled *en = &s->q[(s->head + s->count) % s->cap];
    en->off = off;
    en->comp = s->wbuf.len - WEIR__BF_FRAME_HEADER;
    en->raw = raw;
    en->rows = weir_block_num_rows(b);
    en->nbytes = weir_block_nbytes(b);
    s->count++;
    s->mem_bytes += en->nbytes;
  }
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->push_mu);
  return rc;
}

int weir__spill_pop(weir__spill *s, weir_block **out) {
  *out = NULL;
  pthread_mutex_lock(&s->pop_mu);
  int rc = WEIR_OK;
  pthread_mutex_lock(&s->mu);
  if (s->count == 0) {
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->pop_mu);
    return WEIR_EOF;
  }
  spilled e = s->q[s->head]; /* only pops remove entries: it stays valid */
  pthread_mutex_unlock(&s->mu);
  size_t need = (size_t)(e.comp + WEIR__BF_FRAME_HEADER);
  if (need > s->rcap) {
    unsigned char *nb = realloc(s->rbuf, need);
    if (!nb) {
      pthread_mutex_unlock(&s->pop_mu);
      return WEIR_ENOMEM;
    }
    s->rbuf = nb;
    s->rcap = need;
  }
  if (read_all(s->fd, s->rbuf, need, e.off) != 0) {
    set_err(s, "spill: read from %s failed: %s", s->path, strerror(errno));
    pthread_mutex_unlock(&s->pop_mu);
    return WEIR_EIO;
  }
  char err[256];
  rc = weir__bf_decode(s->rbuf + WEIR__BF_FRAME_HEADER, (size_t)e.comp, e.raw,
                       e.rows, s->dctx, out, err, sizeof err);
  if (rc != WEIR_OK) {
    set_err(s, "spill file %s: %s", s->path, err);
    pthread_mutex_unlock(&s->pop_mu);
    return rc;
  }
  pthread_mutex_lock(&s->mu);
  s->head = (s->head + 1) % s->cap;
  s->count--;
  s->mem_bytes -= e.nbytes;
  if (s->count == 0 && !s->writing) {
    /* Empty again, with no write in flight: give the disk space back. */
    if (ftruncate(s->fd, 0) == 0) s->end = 0;
    s->head = 0;
  }
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->pop_mu);
  return WEIR_OK;
}
