/* Blocking reader streams over HTTP(S) and S3 objects: the network thread
 * fills a bounded ring buffer, pausing the transfer while it is full, and
 * resumes a broken transfer with a Range request from the first missing
 * byte; the consumer thread drains the ring. */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

#define RING_CAP ((size_t)4 << 20)

struct weir__net_reader {
  weir__net_req rq;            /* first: the engine's handle on us */
  weir__rstream base;          /* what vfs.c sees */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char *ring;
  size_t cap, head, len;       /* bytes [head, head+len) mod cap */
  int paused;                  /* the transfer waits for room */
  int done;                    /* on_done ran */
  uint64_t offset;             /* first byte wanted */
  uint64_t length;             /* bytes wanted; UINT64_MAX = to the end */
  uint64_t got;                /* bytes accepted into the ring so far */
  uint64_t pos;                /* object offset of the next byte the
                                  current attempt delivers */
  int first_chunk;             /* the current attempt has sent nothing */
  struct curl_slist *resume_headers;  /* rq->headers + If-Match */
  char *direct;                /* a consumer waits on an empty ring with
                                  this buffer: fill it without the ring */
  size_t direct_cap, direct_len;
  char errmsg[512];
};

static int reader_prepare(weir__net_req *rq, CURL *easy) {
  weir__net_reader *r = (weir__net_reader *)rq;
  pthread_mutex_lock(&r->mu);
  uint64_t got = r->got;
  pthread_mutex_unlock(&r->mu);
  if (r->length != UINT64_MAX && got >= r->length) return 1;
  uint64_t start = r->offset + got;
  if (got > 0) {
    rq->resumed = 1;
    /* Splicing two versions of an object would be silent corruption:
     * resume only from the version already partly read. */
    if (rq->etag[0] && !r->resume_headers) {
      char h[160];
      snprintf(h, sizeof h, "If-Match: %s", rq->etag);
      struct curl_slist *l = NULL, *x;
      for (struct curl_slist *i = rq->headers; i; i = i->next) {
        x = curl_slist_append(l, i->data);
        if (!x) break;
        l = x;
      }
      x = curl_slist_append(l, h);
      if (x) r->resume_headers = x;
      else curl_slist_free_all(l);
    }
    if (r->resume_headers)
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->resume_headers);
  }
  r->pos = start;
  r->first_chunk = 1;
  if (start > 0 || r->length != UINT64_MAX) {
    char range[64];
    if (r->length == UINT64_MAX)
      snprintf(range, sizeof range, "%llu-", (unsigned long long)start);
    else
      snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)start,
               (unsigned long long)(r->offset + r->length - 1));
    curl_easy_setopt(easy, CURLOPT_RANGE, range);
  }
  return 0;
}

static size_t reader_data(weir__net_req *rq, const char *p, size_t n) {
  weir__net_reader *r = (weir__net_reader *)rq;
  if (r->first_chunk) {
    /* A server that ignores Range answers 200 with the whole object:
     * count from its first byte and drop what we already have. A 206
     * says where it starts, which may be before what was asked. */
    if (rq->status == 200) r->pos = 0;
    else if (rq->status == 206 && rq->range_start >= 0)
      r->pos = (uint64_t)rq->range_start;
    r->first_chunk = 0;
  }
  pthread_mutex_lock(&r->mu);
  uint64_t want = r->offset + r->got;      /* next byte the ring needs */
  if (r->pos > want) {
    /* A partial answer that starts past the first missing byte would
     * leave a hole: refuse it. */
    snprintf(rq->errmsg, sizeof rq->errmsg, "GET %s: the server sent bytes "
             "from %llu when %llu was asked for", rq->shown,
             (unsigned long long)r->pos, (unsigned long long)want);
    rq->fatal = 1;
    pthread_mutex_unlock(&r->mu);
    return 0;
  }
  uint64_t skip = want - r->pos;
  if (skip >= n) {
    r->pos += n;
    pthread_mutex_unlock(&r->mu);
    return n;
  }
  const char *src = p + skip;
  size_t k = n - (size_t)skip;
  if (r->length != UINT64_MAX && r->got + k > r->length)
    k = (size_t)(r->length - r->got);
  if (r->direct && r->len == 0) {
    /* The consumer is waiting with its own buffer: copy straight into it,
     * saving a copy through the ring. The rest of the chunk fits in the
     * (empty) ring, so the chunk is taken whole, as libcurl requires. */
    size_t d = k < r->direct_cap ? k : r->direct_cap;
    if (k - d <= r->cap) {
      memcpy(r->direct, src, d);
      r->direct_len = d;
      r->direct = NULL;
      src += d;
      k -= d;
      r->got += d;
      rq->progress = r->got;
      if (k == 0) {
        r->pos += n;
        if (r->length != UINT64_MAX && r->got >= r->length)
          rq->satisfied = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        return rq->satisfied && d < n - (size_t)skip ? 0 : n;
      }
    }
  }
  if (!r->ring && k > 0) {
    r->ring = malloc(r->cap > k ? r->cap : k);
    if (!r->ring) {
      snprintf(rq->errmsg, sizeof rq->errmsg, "GET %s: out of memory",
               rq->shown);
      rq->fatal = 1;
      pthread_mutex_unlock(&r->mu);
      return 0;
    }
    if (k > r->cap) r->cap = k;
  }
  if (r->cap - r->len < k) {
    if (k > r->cap && r->len == 0) {
      /* A chunk larger than the ring cannot wait for room: grow. */
      char *nr = malloc(k);
      if (!nr) {
        snprintf(rq->errmsg, sizeof rq->errmsg, "GET %s: out of memory",
                 rq->shown);
        rq->fatal = 1;
        pthread_mutex_unlock(&r->mu);
        return 0;
      }
      free(r->ring);
      r->ring = nr;
      r->cap = k;
      r->head = 0;
    } else {
      r->paused = 1;
      pthread_mutex_unlock(&r->mu);
      return CURL_WRITEFUNC_PAUSE;
    }
  }
  if (k > 0) { /* nothing left after clamping: the ring may not exist */
    size_t tail = (r->head + r->len) % r->cap;
    size_t first = r->cap - tail < k ? r->cap - tail : k;
    memcpy(r->ring + tail, src, first);
    memcpy(r->ring, src + first, k - first);
  }
  r->len += k;
  r->got += k;
  rq->progress = r->got;
  r->pos += n;
  if (r->length != UINT64_MAX && r->got >= r->length) rq->satisfied = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  /* Everything wanted is in: stop the transfer rather than read on. */
  return rq->satisfied && (size_t)(src + k - p) < n ? 0 : n;
}

static void reader_done(weir__net_req *rq) {
  weir__net_reader *r = (weir__net_reader *)rq;
  pthread_mutex_lock(&r->mu);
  r->done = 1;
  if (rq->rc != WEIR_OK) snprintf(r->errmsg, sizeof r->errmsg, "%s",
                                  rq->errmsg);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void reader_destroy(weir__net_req *rq) {
  weir__net_reader *r = (weir__net_reader *)rq;
  weir__net_req_clear(rq);
  curl_slist_free_all(r->resume_headers);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r->ring);
  free(r);
}

int weir__net_reader_open(const char *uri, const weir__net_options *o,
                          uint64_t offset, uint64_t length,
                          weir__net_reader **out, char *err, size_t errlen) {
  *out = NULL;
  weir__net_reader *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  weir__net_req_init(&r->rq, WEIR__NET_GET, o);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->rq.destroy = reader_destroy;
  r->rq.prepare = reader_prepare;
  r->rq.on_data = reader_data;
  r->rq.on_done = reader_done;
  r->offset = offset;
  r->length = length;
  int rc = weir__net_req_for_uri(&r->rq, uri, o, err, errlen);
  if (rc == WEIR_OK && length == 0) {
    r->done = 1;             /* nothing to fetch */
    *out = r;
    return WEIR_OK;
  }
  /* The ring is allocated by the first chunk that needs it: a reader
   * still queued behind the request bound, or one whose consumer always
   * waits (direct hand-off), holds no buffer. */
  r->cap = RING_CAP;
  if (rc == WEIR_OK) {
    rc = weir__net_submit(&r->rq);
    if (rc != WEIR_OK) weir__net_copy_err(&r->rq, err, errlen);
  }
  if (rc != WEIR_OK) {
    weir__net_req_release(&r->rq);
    return rc;
  }
  *out = r;
  return WEIR_OK;
}

long weir__net_reader_read(weir__net_reader *r, void *buf, size_t len) {
  if (len == 0) return 0;
  if (len > (size_t)LONG_MAX) len = (size_t)LONG_MAX;
  pthread_mutex_lock(&r->mu);
  if (r->len == 0 && !r->done) {
    r->direct = buf;
    r->direct_cap = len;
    r->direct_len = 0;
    while (r->direct_len == 0 && r->len == 0 && !r->done)
      pthread_cond_wait(&r->cv, &r->mu);
    r->direct = NULL;
    if (r->direct_len > 0) {
      size_t k = r->direct_len;
      r->direct_len = 0;
      pthread_mutex_unlock(&r->mu);
      return (long)k;
    }
  }
  if (r->len == 0) {
    int rc = r->rq.rc;
    pthread_mutex_unlock(&r->mu);
    return rc == WEIR_OK ? 0 : rc;
  }
  size_t k = len < r->len ? len : r->len;
  size_t first = r->cap - r->head < k ? r->cap - r->head : k;
  memcpy(buf, r->ring + r->head, first);
  memcpy((char *)buf + first, r->ring, k - first);
  r->head = (r->head + k) % r->cap;
  r->len -= k;
  /* Wake the transfer once half the ring is free, not at every byte, so
   * each unpause moves a large run of data. */
  int wake = r->paused && r->cap - r->len >= r->cap / 2;
  if (wake) r->paused = 0;
  pthread_mutex_unlock(&r->mu);
  if (wake) weir__net_unpause(&r->rq);
  return (long)k;
}

const char *weir__net_reader_errmsg(const weir__net_reader *r) {
  return r->errmsg;
}

const char *weir__net_reader_etag(weir__net_reader *r) {
  /* The network thread writes the ETag before the first body byte, and
   * the ring's lock orders that before anything read returned. */
  pthread_mutex_lock(&r->mu);
  const char *e = r->rq.etag;
  pthread_mutex_unlock(&r->mu);
  return e;
}

void weir__net_reader_close(weir__net_reader *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  int done = r->done;
  pthread_mutex_unlock(&r->mu);
  /* The engine keeps its own reference until the transfer is gone, so the
   * reader outlives any callback already under way. */
  if (!done) weir__net_cancel(&r->rq);
  weir__net_req_release(&r->rq);
}

/* ---- As a vfs.h stream ------------------------------------------------- */

#define FROM_BASE(s) \
  ((weir__net_reader *)((char *)(s) - offsetof(weir__net_reader, base)))

static long rs_read(weir__rstream *s, void *buf, size_t len) {
  weir__net_reader *r = FROM_BASE(s);
  long n = weir__net_reader_read(r, buf, len);
  if (n < 0) snprintf(s->errmsg, sizeof s->errmsg, "%s", r->errmsg);
  return n;
}

static void rs_close(weir__rstream *s) { weir__net_reader_close(FROM_BASE(s)); }

static const weir__rstream_vtable rs_vt = { rs_read, rs_close };

int weir__net_rstream_open(const char *uri, const weir__io_config *cfg,
                           uint64_t offset, uint64_t length,
                           weir__rstream **out, char *err, size_t errlen) {
  weir__net_options o;
  weir__net_options_from_config(&o, cfg);
  weir__net_reader *r;
  *out = NULL;
  int rc = weir__net_reader_open(uri, &o, offset, length, &r, err, errlen);
  if (rc != WEIR_OK) return rc;
  r->base.vt = &rs_vt;
  r->base.errmsg[0] = 0;
  *out = &r->base;
  return WEIR_OK;
}
