/* Writer streams to HTTP(S) and S3: bytes go to an unlinked temporary file,
 * and commit uploads them in one PUT (retried from the start of the file),
 * so nothing partial is ever visible at the destination. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

struct weir__net_writer {
  weir__net_req rq;
  weir__wstream base;
  FILE *tmp;
};

static void writer_destroy(weir__net_req *rq) {
  weir__net_writer *w = (weir__net_writer *)rq;
  weir__net_req_clear(rq);
  if (w->tmp) fclose(w->tmp);
  free(w);
}

int weir__net_writer_open(const char *uri, const weir__net_options *o,
                          weir__net_writer **out, char *err, size_t errlen) {
  *out = NULL;
  weir__net_writer *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  weir__net_req_init(&w->rq, WEIR__NET_PUT, o);
  w->rq.destroy = writer_destroy;
  int rc = weir__net_req_for_uri(&w->rq, uri, o, err, errlen);
  if (rc == WEIR_OK) {
    /* A redirect must not silently re-send an upload elsewhere, and
     * "Expect: 100-continue" only adds a round trip on most servers. */
    w->rq.follow = 0;
    struct curl_slist *l = curl_slist_append(w->rq.headers, "Expect:");
    if (l) w->rq.headers = l;
    w->tmp = tmpfile();
    if (!w->tmp) {
      snprintf(err, errlen, "%s: cannot create a temporary file: %s",
               w->rq.shown, strerror(errno));
      rc = WEIR_EIO;
    }
  }
  if (rc != WEIR_OK) {
    weir__net_req_release(&w->rq);
    return rc;
  }
  *out = w;
  return WEIR_OK;
}

int weir__net_writer_write(weir__net_writer *w, const void *buf, size_t len,
                           char *err, size_t errlen) {
  if (len && fwrite(buf, 1, len, w->tmp) != len) {
    snprintf(err, errlen, "%s: cannot write the temporary file: %s",
             w->rq.shown, strerror(errno));
    return WEIR_EIO;
  }
  return WEIR_OK;
}

int weir__net_writer_commit(weir__net_writer *w, char *err, size_t errlen) {
  int rc = WEIR_OK;
  if (fflush(w->tmp) != 0 || fseeko(w->tmp, 0, SEEK_END) != 0) {
    snprintf(err, errlen, "%s: cannot write the temporary file: %s",
             w->rq.shown, strerror(errno));
    rc = WEIR_EIO;
  }
  if (rc == WEIR_OK) {
    off_t size = ftello(w->tmp);
    w->rq.upload = w->tmp;
    w->rq.upload_size = size > 0 ? (uint64_t)size : 0;
    rc = weir__net_perform(&w->rq);
    if (rc != WEIR_OK) weir__net_copy_err(&w->rq, err, errlen);
  }
  weir__net_req_release(&w->rq);
  return rc;
}

void weir__net_writer_abort(weir__net_writer *w) {
  if (w) weir__net_req_release(&w->rq);
}

/* ---- As a vfs.h stream ------------------------------------------------- */

#define FROM_BASE(s) \
  ((weir__net_writer *)((char *)(s) - offsetof(weir__net_writer, base)))

static int ws_write(weir__wstream *s, const void *buf, size_t len) {
  return weir__net_writer_write(FROM_BASE(s), buf, len, s->errmsg,
                                sizeof s->errmsg);
}

static int ws_commit(weir__wstream *s, char *err, size_t errlen) {
  return weir__net_writer_commit(FROM_BASE(s), err, errlen);
}

static void ws_abort(weir__wstream *s) { weir__net_writer_abort(FROM_BASE(s)); }

static const weir__wstream_vtable ws_vt = { ws_write, ws_commit, ws_abort };

int weir__net_wstream_open(const char *uri, const weir__io_config *cfg,
                           weir__wstream **out, char *err, size_t errlen) {
  weir__net_options o;
  weir__net_options_from_config(&o, cfg);
  weir__net_writer *w;
  *out = NULL;
  int rc = weir__net_writer_open(uri, &o, &w, err, errlen);
  if (rc != WEIR_OK) return rc;
  w->base.vt = &ws_vt;
  w->base.errmsg[0] = 0;
  *out = &w->base;
  return WEIR_OK;
}
