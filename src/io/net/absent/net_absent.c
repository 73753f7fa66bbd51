/* The network back ends in builds without libcurl: every entry point says
 * which scheme is unsupported, so a pipeline fails with a clear message. */
#include <stdio.h>
#include <string.h>

#include "weir/error.h"
#include "exec/net_backend.h"
#include "io/net/net.h"

/* "http", "https" or "s3": the part of `uri` before "://", for messages. */
static int scheme_len(const char *uri) {
  const char *p = uri ? strstr(uri, "://") : NULL;
  return p ? (int)(p - uri) : 0;
}

static int unsupported(const char *uri, char *err, size_t errlen) {
  int n = scheme_len(uri);
  if (err && errlen && n > 0)
    snprintf(err, errlen, "%.*s:// URIs are not supported: weir was built "
             "without libcurl", n, uri);
  else if (err && errlen)
    snprintf(err, errlen, "network URIs are not supported: weir was built "
             "without libcurl");
  return WEIR_ENOTSUP;
}

int weir__net_list_opts(const char *uri, const weir__net_options *o,
                        weir__object **objs, size_t *n, char *err,
                        size_t errlen) {
  (void)o;
  *objs = NULL;
  *n = 0;
  return unsupported(uri, err, errlen);
}

int weir__net_list(const char *uri, const weir__io_config *cfg,
                   weir__object **objs, size_t *n, char *err, size_t errlen) {
  (void)cfg;
  *objs = NULL;
  *n = 0;
  return unsupported(uri, err, errlen);
}

int weir__net_rstream_open(const char *uri, const weir__io_config *cfg,
                           uint64_t offset, uint64_t length,
                           weir__rstream **out, char *err, size_t errlen) {
  (void)cfg;
  (void)offset;
  (void)length;
  *out = NULL;
  return unsupported(uri, err, errlen);
}

int weir__net_wstream_open(const char *uri, const weir__io_config *cfg,
                           weir__wstream **out, char *err, size_t errlen) {
  (void)cfg;
  *out = NULL;
  return unsupported(uri, err, errlen);
}

int weir__net_exists(const char *uri, const weir__io_config *cfg, char *err,
                     size_t errlen) {
  (void)cfg;
  return unsupported(uri, err, errlen);
}

int weir__net_stat(const char *uri, const weir__net_options *o,
                   uint64_t *size, char *err, size_t errlen) {
  (void)o;
  *size = 0;
  return unsupported(uri, err, errlen);
}

int weir__net_reader_open(const char *uri, const weir__net_options *o,
                          uint64_t offset, uint64_t length,
                          weir__net_reader **out, char *err, size_t errlen) {
  (void)o;
  (void)offset;
  (void)length;
  *out = NULL;
  return unsupported(uri, err, errlen);
}

long weir__net_reader_read(weir__net_reader *r, void *buf, size_t len) {
  (void)r;
  (void)buf;
  (void)len;
  return WEIR_ENOTSUP;
}

const char *weir__net_reader_errmsg(const weir__net_reader *r) {
  (void)r;
  return "network URIs are not supported: weir was built without libcurl";
}

const char *weir__net_reader_etag(weir__net_reader *r) {
  (void)r;
  return "";
}

void weir__net_reader_close(weir__net_reader *r) { (void)r; }

int weir__net_writer_open(const char *uri, const weir__net_options *o,
                          weir__net_writer **out, char *err, size_t errlen) {
  (void)o;
  *out = NULL;
  return unsupported(uri, err, errlen);
}

int weir__net_writer_write(weir__net_writer *w, const void *buf, size_t len,
                           char *err, size_t errlen) {
  (void)w;
  (void)buf;
  (void)len;
  return unsupported(NULL, err, errlen);
}

int weir__net_writer_commit(weir__net_writer *w, char *err, size_t errlen) {
  (void)w;
  return unsupported(NULL, err, errlen);
}

void weir__net_writer_abort(weir__net_writer *w) { (void)w; }

void weir__net_get_counters(weir__net_counters *c) {
  memset(c, 0, sizeof *c);
}

void weir__net_shutdown(void) {}

/* No engine to attach: a pipeline's network calls get the answers above. */
static void *backend_attach(uv_loop_t *loop) {
  (void)loop;
  return NULL;
}

static void backend_nothing(void *engine) { (void)engine; }

static const weir__net_backend backend = {
  backend_attach, backend_nothing, backend_nothing, backend_nothing
};

const weir__net_backend *weir__net_backend_get(void) { return &backend; }
