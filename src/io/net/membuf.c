/* Requests whose answer is wanted whole in memory: S3 listings and the
 * control calls of multipart uploads. */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

static size_t mem_data(weir__net_req *rq, const char *p, size_t n) {
  weir__net_membuf *m = (weir__net_membuf *)rq;
  if (m->len + n + 1 > m->cap) {
    size_t cap = m->cap ? m->cap : 64 * 1024;
    while (cap < m->len + n + 1) cap *= 2;
    char *d = realloc(m->data, cap);
    if (!d) {
      m->oom = 1;
      return 0;
    }
    m->data = d;
    m->cap = cap;
  }
  memcpy(m->data + m->len, p, n);
  m->len += n;
  m->data[m->len] = 0;
  return n;
}

/* A retry starts the body again. */
static int mem_prepare(weir__net_req *rq, CURL *easy) {
  (void)easy;
  weir__net_membuf *m = (weir__net_membuf *)rq;
  m->len = 0;
  if (m->data) m->data[0] = 0;
  return 0;
}

static void mem_destroy(weir__net_req *rq) {
  weir__net_membuf *m = (weir__net_membuf *)rq;
  weir__net_req_clear(rq);
  free(m->data);
  free(m);
}

weir__net_membuf *weir__net_membuf_new(int method,
                                       const weir__net_options *o) {
  weir__net_membuf *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  weir__net_req_init(&m->rq, method, o);
  m->rq.destroy = mem_destroy;
  m->rq.on_data = mem_data;
  m->rq.prepare = mem_prepare;
  return m;
}
