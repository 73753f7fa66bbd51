/* Writer streams to HTTP(S) and S3: bytes go to an unlinked temporary file,
 * and commit uploads them in one PUT (retried from the start of the file),
 * or, for S3 objects above the part size, as a multipart upload whose parts
 * go up at once; nothing partial is ever visible at the destination. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

struct weir__net_writer {
  weir__net_req rq;            /* the single PUT */
  weir__wstream base;
  FILE *tmp;
  int is_s3;
  weir__s3_target t;           /* for multipart control calls */
  weir__net_options o;         /* copied; strings borrowed */
  uint64_t part_size;
};

static void writer_destroy(weir__net_req *rq) {
  weir__net_writer *w = (weir__net_writer *)rq;
  weir__net_req_clear(rq);
  weir__s3_target_clear(&w->t);
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
  if (o) w->o = *o;
  w->part_size = o && o->part_size > 0 ? o->part_size : (uint64_t)64 << 20;
  w->is_s3 = strncmp(uri, "s3://", 5) == 0;
  int rc = weir__net_req_for_uri(&w->rq, uri, o, err, errlen);
  if (rc == WEIR_OK && w->is_s3)
    rc = weir__s3_target_parse(&w->t, uri, o, err, errlen);
  if (rc == WEIR_OK) {
    /* A redirect must not silently re-send an upload elsewhere. */
    w->rq.follow = 0;
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

/* ---- Multipart upload ------------------------------------------------- */

typedef struct batch {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int left;
} batch;

typedef struct part_req {
  weir__net_req rq;
  batch *b;
} part_req;

static void part_done(weir__net_req *rq) {
  batch *b = ((part_req *)rq)->b;
  pthread_mutex_lock(&b->mu);
  b->left--;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

static void part_destroy(weir__net_req *rq) {
  weir__net_req_clear(rq);
  free(rq);
}

/* POST or DELETE on the object URL plus `query`; the answer body in *out
 * (malloc'd) when wanted. */
static int control_call(weir__net_writer *w, int method, const char *query,
                        char *body, char **out, char *err, size_t errlen) {
  weir__net_membuf *m = weir__net_membuf_new(method, &w->o);
  char *url = NULL;
  int rc = weir__net_appendf(&url, "%s%s", w->rq.url, query);
  if (!m || rc != WEIR_OK) {
    free(url);
    free(body);
    if (m) weir__net_req_release(&m->rq);
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  m->rq.post_body = body;
  m->rq.post_len = body ? strlen(body) : 0;
  rc = weir__s3_req_setup(&m->rq, &w->t, url, w->rq.shown);
  if (rc == WEIR_OK && body) {
    struct curl_slist *l =
        curl_slist_append(m->rq.headers, "Content-Type: application/xml");
    if (l) m->rq.headers = l;
  }
  if (rc == WEIR_OK) {
    rc = weir__net_perform(&m->rq);
    if (rc != WEIR_OK) weir__net_copy_err(&m->rq, err, errlen);
  } else {
    snprintf(err, errlen, "out of memory");
  }
  if (rc == WEIR_OK && m->oom) {
    snprintf(err, errlen, "out of memory");
    rc = WEIR_ENOMEM;
  }
  /* CompleteMultipartUpload may answer 200 and still fail, in the body. */
  if (rc == WEIR_OK && m->data && strstr(m->data, "<Error>")) {
    char *code = weir__xml_find_text(m->data, m->len, "Code");
    char *msg = weir__xml_find_text(m->data, m->len, "Message");
    snprintf(err, errlen, "%s %s: %s%s%s", method == WEIR__NET_POST ? "POST"
             : "DELETE", w->rq.shown, code ? code : "error", msg ? ": " : "",
             msg ? msg : "");
    free(code);
    free(msg);
    rc = WEIR_EIO;
  }
  if (out) {
    *out = rc == WEIR_OK ? m->data : NULL;
    if (rc == WEIR_OK) m->data = NULL;
  }
  weir__net_req_release(&m->rq);
  return rc;
}

/* CreateMultipartUpload: the upload id, percent-encoded for queries, in
 * `*id_enc` (malloc'd). */
static int start_upload(weir__net_writer *w, char **id_enc, char *err,
                        size_t errlen) {
  *id_enc = NULL;
  char *answer = NULL;
  int rc = control_call(w, WEIR__NET_POST, "?uploads=", NULL, &answer, err,
                        errlen);
  if (rc != WEIR_OK) return rc;
  char *id = weir__xml_find_text(answer, strlen(answer), "UploadId");
  free(answer);
  if (!id || !*id) {
    free(id);
    snprintf(err, errlen, "POST %s: no UploadId in the answer", w->rq.shown);
    return WEIR_EFORMAT;
  }
  rc = weir__net_append_encoded(id_enc, id, 0);
  free(id);
  if (rc != WEIR_OK) {
    free(*id_enc);
    *id_enc = NULL;
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

/* Queues part `i` (bytes [i * ps, ...) of the temporary file) of the
 * upload into `parts[i]`, counted in `b` while it is in flight. */
static int submit_part(weir__net_writer *w, batch *b, const char *id_enc,
                       int i, uint64_t ps, uint64_t size, part_req **parts) {
  part_req *p = calloc(1, sizeof *p);
  char *url = NULL;
  if (!p || weir__net_appendf(&url, "%s?partNumber=%d&uploadId=%s",
                              w->rq.url, i + 1, id_enc) != WEIR_OK) {
    free(p);
    free(url);
    return WEIR_ENOMEM;
  }
  weir__net_req_init(&p->rq, WEIR__NET_PUT, &w->o);
  p->rq.destroy = part_destroy;
  p->rq.on_done = part_done;
  p->b = b;
  p->rq.upload_fd = fileno(w->tmp);
  p->rq.upload_off = (uint64_t)i * ps;
  p->rq.upload_size = size - p->rq.upload_off < ps ? size - p->rq.upload_off
                                                   : ps;
  parts[i] = p;
  int rc = weir__s3_req_setup(&p->rq, &w->t, url, w->rq.shown);
  if (rc != WEIR_OK) return rc;
  pthread_mutex_lock(&b->mu);
  b->left++;
  pthread_mutex_unlock(&b->mu);
  rc = weir__net_submit(&p->rq);
  if (rc != WEIR_OK) {
    pthread_mutex_lock(&b->mu);
    b->left--;
    pthread_mutex_unlock(&b->mu);
  }
  return rc;
}

/* Uploads the `size` bytes of the temporary file in parts of `ps` bytes
 * and, when all went up, appends the CompleteMultipartUpload body listing
 * their ETags to `*body`. */
static int upload_parts(weir__net_writer *w, const char *id_enc, uint64_t ps,
                        uint64_t size, char **body, char *err, size_t errlen) {
  int nparts = (int)((size + ps - 1) / ps);
  /* Every part is queued at once; the engine's bound decides how many
   * move at a time. */
  batch b;
  pthread_mutex_init(&b.mu, NULL);
  pthread_cond_init(&b.cv, NULL);
  b.left = 0;
  part_req **parts = calloc((size_t)nparts, sizeof *parts);
  int rc = parts ? WEIR_OK : WEIR_ENOMEM;
  for (int i = 0; i < nparts && rc == WEIR_OK; i++)
    rc = submit_part(w, &b, id_enc, i, ps, size, parts);
  if (rc != WEIR_OK) {
    snprintf(err, errlen, "%s: out of memory", w->rq.shown);
    for (int i = 0; i < nparts && parts; i++)
      if (parts[i]) weir__net_cancel(&parts[i]->rq);
  }
  pthread_mutex_lock(&b.mu);
  while (b.left > 0) pthread_cond_wait(&b.cv, &b.mu);
  pthread_mutex_unlock(&b.mu);

  if (rc == WEIR_OK) rc = weir__net_appendf(body, "<CompleteMultipartUpload>");
  for (int i = 0; i < nparts && rc == WEIR_OK; i++) {
    weir__net_req *rq = &parts[i]->rq;
    if (rq->rc != WEIR_OK) {
      snprintf(err, errlen, "%s (part %d of %d)", rq->errmsg, i + 1, nparts);
      rc = rq->rc;
    } else if (!rq->etag[0]) {
      snprintf(err, errlen, "PUT %s: part %d answered without an ETag",
               w->rq.shown, i + 1);
      rc = WEIR_EFORMAT;
    } else {
      rc = weir__net_appendf(body, "<Part><PartNumber>%d</PartNumber>"
                             "<ETag>%s</ETag></Part>", i + 1, rq->etag);
    }
  }
  for (int i = 0; i < nparts && parts; i++)
    if (parts[i]) weir__net_req_release(&parts[i]->rq);
  free(parts);
  pthread_cond_destroy(&b.cv);
  pthread_mutex_destroy(&b.mu);
  if (rc == WEIR_OK)
    rc = weir__net_appendf(body, "</CompleteMultipartUpload>");
  return rc;
}

static int multipart(weir__net_writer *w, uint64_t size, char *err,
                     size_t errlen) {
  uint64_t ps = w->part_size;
  if ((size + ps - 1) / ps > 10000) ps = (size + 9999) / 10000; /* S3 cap */
  char *id_enc;
  int rc = start_upload(w, &id_enc, err, errlen);
  if (rc != WEIR_OK) return rc;
  char *body = NULL;
  rc = upload_parts(w, id_enc, ps, size, &body, err, errlen);

  char *query = NULL;
  if (weir__net_appendf(&query, "?uploadId=%s", id_enc) != WEIR_OK) {
    free(body);
    free(id_enc);
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  if (rc == WEIR_OK) {
    rc = control_call(w, WEIR__NET_POST, query, body, NULL, err, errlen);
  } else {
    free(body);
  }
  if (rc != WEIR_OK) {
    /* Best effort: do not leave the parts stored (and billed). */
    char ignore[256];
    control_call(w, WEIR__NET_DELETE, query, NULL, NULL, ignore,
                 sizeof ignore);
  }
  free(query);
  free(id_enc);
  return rc;
}

int weir__net_writer_commit(weir__net_writer *w, char *err, size_t errlen) {
  int rc = WEIR_OK;
  if (fflush(w->tmp) != 0 || fseeko(w->tmp, 0, SEEK_END) != 0) {
    snprintf(err, errlen, "%s: cannot write the temporary file: %s",
             w->rq.shown, strerror(errno));
    rc = WEIR_EIO;
  }
  if (rc == WEIR_OK) {
    off_t end = ftello(w->tmp);
    uint64_t size = end > 0 ? (uint64_t)end : 0;
    if (w->is_s3 && size > w->part_size) {
      rc = multipart(w, size, err, errlen);
    } else {
      w->rq.upload_fd = fileno(w->tmp);
      w->rq.upload_off = 0;
      w->rq.upload_size = size;
      rc = weir__net_perform(&w->rq);
      if (rc != WEIR_OK) weir__net_copy_err(&w->rq, err, errlen);
    }
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
