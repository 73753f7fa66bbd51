/* URI dispatch of listings and byte streams to the local or network
 * backend, and the owned copies of their settings. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "weir/error.h"
#include "io/vfs.h"

static const weir__vfs_backend local_backend = {
  "local", weir__local_list, weir__local_rstream_open,
  weir__local_wstream_open, weir__local_exists
};

static const weir__vfs_backend net_backend = {
  "net", weir__net_list, weir__net_rstream_open,
  weir__net_wstream_open, weir__net_exists
};

int weir__vfs_is_remote(const char *uri) {
  return strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0 ||
         strncmp(uri, "s3://", 5) == 0;
}

/* 0 when `src` is NULL or copied into `*dst`, 1 when out of memory. */
static int copy_or_null(const char **dst, const char *src) {
  *dst = src ? strdup(src) : NULL;
  return src && !*dst;
}

int weir__io_config_copy_s3(weir__io_config *cfg, const char *endpoint,
                            const char *region, const char *access_key,
                            const char *secret_key) {
  int failed = copy_or_null(&cfg->s3_endpoint, endpoint) |
               copy_or_null(&cfg->s3_region, region) |
               copy_or_null(&cfg->s3_access_key, access_key) |
               copy_or_null(&cfg->s3_secret_key, secret_key);
  return failed ? WEIR_ENOMEM : WEIR_OK;
}

int weir__io_config_timeouts(weir__io_config *cfg, double connect, double first_byte,
                             double low_speed_seconds, uint64_t low_speed_bytes, char *err,
                             size_t errlen) {
  const char *names[] = {"connect_timeout", "first_byte_timeout", "low_speed_seconds"};
  double v[] = {connect, first_byte, low_speed_seconds};
  for (int i = 0; i < 3; i++)
    if (!(v[i] >= 0)) {
      snprintf(err, errlen, "%s %g: use seconds, or 0 for the default", names[i], v[i]);
      return WEIR_EINVAL;
    }
  cfg->connect_timeout = connect;
  cfg->first_byte_timeout = first_byte;
  cfg->low_speed_seconds = low_speed_seconds;
  cfg->low_speed_bytes = low_speed_bytes;
  return WEIR_OK;
}

void weir__io_config_free_s3(weir__io_config *cfg) {
  free((char *)cfg->s3_endpoint);
  free((char *)cfg->s3_region);
  free((char *)cfg->s3_access_key);
  free((char *)cfg->s3_secret_key);
  cfg->s3_endpoint = cfg->s3_region = NULL;
  cfg->s3_access_key = cfg->s3_secret_key = NULL;
}

static const weir__vfs_backend *backend_for(const char *uri) {
  return weir__vfs_is_remote(uri) ? &net_backend : &local_backend;
}

static void set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
}

int weir__vfs_list(const char *uri, const weir__io_config *cfg,
                   weir__object **objs, size_t *n, char *err, size_t errlen) {
  *objs = NULL;
  *n = 0;
  if (!uri || !*uri) {
    set_err(err, errlen, "empty uri");
    return WEIR_EINVAL;
  }
  if (weir__vfs_is_url_list(uri))
    return weir__vfs_list_urls(uri, cfg, objs, n, err, errlen);
  return backend_for(uri)->list(uri, cfg, objs, n, err, errlen);
}

void weir__vfs_list_free(weir__object *objs, size_t n) {
  if (!objs) return;
  for (size_t i = 0; i < n; i++) free(objs[i].uri);
  free(objs);
}

int weir__vfs_exists(const char *uri, const weir__io_config *cfg) {
  char err[256];
  if (!uri || !*uri) return WEIR_EINVAL;
  return backend_for(uri)->exists(uri, cfg, err, sizeof err);
}

int weir__rstream_open(const char *uri, const weir__io_config *cfg,
                       uint64_t offset, uint64_t length,
                       weir__rstream **out, char *err, size_t errlen) {
  *out = NULL;
  if (!uri || !*uri) {
    set_err(err, errlen, "empty uri");
    return WEIR_EINVAL;
  }
  return backend_for(uri)->rstream_open(uri, cfg, offset, length, out, err,
                                         errlen);
}

long weir__rstream_read(weir__rstream *s, void *buf, size_t len) {
  return s->vt->read(s, buf, len);
}

const char *weir__rstream_errmsg(const weir__rstream *s) {
  return s ? s->errmsg : "";
}

void weir__rstream_close(weir__rstream *s) {
  if (s) s->vt->close(s);
}

int weir__wstream_open(const char *uri, const weir__io_config *cfg,
                       weir__wstream **out, char *err, size_t errlen) {
  *out = NULL;
  if (!uri || !*uri) {
    set_err(err, errlen, "empty uri");
    return WEIR_EINVAL;
  }
  return backend_for(uri)->wstream_open(uri, cfg, out, err, errlen);
}

int weir__wstream_write(weir__wstream *s, const void *buf, size_t len) {
  return len ? s->vt->write(s, buf, len) : WEIR_OK;
}

const char *weir__wstream_errmsg(const weir__wstream *s) {
  return s ? s->errmsg : "";
}

int weir__wstream_commit(weir__wstream *s, char *err, size_t errlen) {
  return s->vt->commit(s, err, errlen);
}

void weir__wstream_abort(weir__wstream *s) {
  if (s) s->vt->abort(s);
}

char *weir__vfs_join(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  while (dl > 0 && dir[dl - 1] == '/' && !(dl == 1)) dl--;
  char *s = malloc(dl + nl + 2);
  if (!s) return NULL;
  memcpy(s, dir, dl);
  size_t k = dl;
  if (dl > 0 && dir[dl - 1] != '/') s[k++] = '/';
  memcpy(s + k, name, nl + 1);
  return s;
}
