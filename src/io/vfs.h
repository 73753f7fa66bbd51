/* One URI scheme for every reader and writer: local paths, folders and
 * globs, http(s):// URLs and s3:// prefixes, behind one byte-stream
 * interface. Readers and writers only ever see weir__rstream and
 * weir__wstream; where the bytes live is decided here, by scheme. */
#ifndef WEIR_IO_VFS_H
#define WEIR_IO_VFS_H

#include <stddef.h>
#include <stdint.h>

/* Where to reach remote storage, taken from weir_read_options or
 * weir_write_options (NULL fields mean: the usual AWS_* environment
 * variables, then the defaults). Borrowed by every call; the strings must
 * outlive the streams opened with it. */
typedef struct weir__io_config {
  const char *s3_endpoint, *s3_region, *s3_access_key, *s3_secret_key;
  int max_requests;   /* concurrent network requests; 0 = 16 */
  int max_retries;    /* network retries; 0 = 5, < 0 = none */
  /* Network timeouts (weir_read_options); 0 = the defaults. */
  double connect_timeout, first_byte_timeout, low_speed_seconds;
  uint64_t low_speed_bytes;
} weir__io_config;

/* Points the S3 settings of `cfg` at malloc'ed copies of the given strings
 * (each may be NULL), so that a reader or writer outlives its caller's
 * options; free them with weir__io_config_free_s3. WEIR_ENOMEM leaves the
 * copies made so far in `cfg`, to be freed the same way. */
int weir__io_config_copy_s3(weir__io_config *cfg, const char *endpoint,
                            const char *region, const char *access_key,
                            const char *secret_key);
void weir__io_config_free_s3(weir__io_config *cfg);

/* Copies the network timeouts of read or write options into `cfg`; a
 * negative or NaN one is WEIR_EINVAL with `err` naming it. */
int weir__io_config_timeouts(weir__io_config *cfg, double connect, double first_byte,
                             double low_speed_seconds, uint64_t low_speed_bytes, char *err,
                             size_t errlen);

/* One object found by a listing. `uri` is malloc'ed and usable as is with
 * weir__rstream_open(). */
typedef struct weir__object {
  char *uri;
  uint64_t size;
} weir__object;

/* Expands a path, folder (recursive), glob (`*`, `?`, `[...]` within one
 * path component, `**` for any number of folders), http(s) URL, or s3://
 * prefix into the objects it names, sorted by uri. A plain path that does
 * not exist is WEIR_ENOTFOUND; a glob or folder that matches nothing gives
 * zero objects and WEIR_OK. On success the caller frees with
 * weir__vfs_list_free(). `err` receives a message naming the uri. */
int weir__vfs_list(const char *uri, const weir__io_config *cfg,
                   weir__object **objs, size_t *n, char *err, size_t errlen);
void weir__vfs_list_free(weir__object *objs, size_t n);

/* 1 when `uri`'s path ends in ".urls": a list of inputs, one a line
 * (urllist.c), which weir__vfs_list() expands, in its order, resolving
 * the entries concurrently. */
int weir__vfs_is_url_list(const char *uri);
int weir__vfs_list_urls(const char *uri, const weir__io_config *cfg, weir__object **objs,
                        size_t *n, char *err, size_t errlen);

/* 1 when `uri` names an existing object, 0 when not, < 0 on error. */
int weir__vfs_exists(const char *uri, const weir__io_config *cfg);

/* ---- Streams ------------------------------------------------------------
 * A stream belongs to one thread at a time. Each backend embeds the base
 * struct as its first member and points `vt` at its functions; callers only
 * use the weir__rstream_* / weir__wstream_* functions below. */

typedef struct weir__rstream weir__rstream;
typedef struct weir__wstream weir__wstream;

typedef struct weir__rstream_vtable {
  long (*read)(weir__rstream *s, void *buf, size_t len);
  void (*close)(weir__rstream *s);     /* frees s */
} weir__rstream_vtable;

typedef struct weir__wstream_vtable {
  int (*write)(weir__wstream *s, const void *buf, size_t len);
  /* Publishes, then frees s (also on failure, after copying the detail
   * into err). */
  int (*commit)(weir__wstream *s, char *err, size_t errlen);
  void (*abort)(weir__wstream *s);     /* discards, then frees s */
} weir__wstream_vtable;

#define WEIR__STREAM_ERRLEN 512

struct weir__rstream {
  const weir__rstream_vtable *vt;
  char errmsg[WEIR__STREAM_ERRLEN];  /* detail of the last failure; "" */
};

struct weir__wstream {
  const weir__wstream_vtable *vt;
  char errmsg[WEIR__STREAM_ERRLEN];
};

/* Opens a sequential reader of bytes [offset, offset + length) of `uri`;
 * `length` UINT64_MAX reads to the end. */
int weir__rstream_open(const char *uri, const weir__io_config *cfg,
                       uint64_t offset, uint64_t length,
                       weir__rstream **out, char *err, size_t errlen);
/* > 0 bytes read, 0 at the end, < 0 a WEIR_E* code with the detail in
 * weir__rstream_errmsg(). May return fewer bytes than asked. */
long weir__rstream_read(weir__rstream *s, void *buf, size_t len);
const char *weir__rstream_errmsg(const weir__rstream *s);
/* Accepts NULL. */
void weir__rstream_close(weir__rstream *s);

/* Opens a writer of a whole object. Nothing is visible at `uri` until
 * weir__wstream_commit() succeeds: local files are written under a
 * temporary name in the same folder and renamed; uploads complete only at
 * commit. */
int weir__wstream_open(const char *uri, const weir__io_config *cfg,
                       weir__wstream **out, char *err, size_t errlen);
int weir__wstream_write(weir__wstream *s, const void *buf, size_t len);
const char *weir__wstream_errmsg(const weir__wstream *s);
/* Makes the object visible atomically, then frees `s`, also on failure,
 * when the detail is copied into `err`. */
int weir__wstream_commit(weir__wstream *s, char *err, size_t errlen);
/* Discards what was written, then frees `s`. Accepts NULL. */
void weir__wstream_abort(weir__wstream *s);

/* 1 for http://, https:// and s3:// URIs (the network backend). */
int weir__vfs_is_remote(const char *uri);
/* Joins a folder or prefix and a name with one '/'; malloc'ed. */
char *weir__vfs_join(const char *dir, const char *name);

/* ---- Backends ----------------------------------------------------------
 * A backend is a small table; vfs.c dispatches by scheme. The local one is
 * in src/io/local.c. The network one (http, https, s3) is in src/io/net/
 * when libcurl is present, and src/io/net/absent/ otherwise, where each
 * function answers WEIR_ENOTSUP with a message. The network component
 * defines exactly these functions: */
typedef struct weir__vfs_backend {
  const char *name;
  int (*list)(const char *uri, const weir__io_config *cfg,
              weir__object **objs, size_t *n, char *err, size_t errlen);
  int (*rstream_open)(const char *uri, const weir__io_config *cfg,
                      uint64_t offset, uint64_t length, weir__rstream **out,
                      char *err, size_t errlen);
  int (*wstream_open)(const char *uri, const weir__io_config *cfg,
                      weir__wstream **out, char *err, size_t errlen);
  int (*exists)(const char *uri, const weir__io_config *cfg, char *err,
                size_t errlen);
} weir__vfs_backend;

int weir__net_list(const char *uri, const weir__io_config *cfg,
                   weir__object **objs, size_t *n, char *err, size_t errlen);
int weir__net_rstream_open(const char *uri, const weir__io_config *cfg,
                           uint64_t offset, uint64_t length,
                           weir__rstream **out, char *err, size_t errlen);
int weir__net_wstream_open(const char *uri, const weir__io_config *cfg,
                           weir__wstream **out, char *err, size_t errlen);
int weir__net_exists(const char *uri, const weir__io_config *cfg, char *err,
                     size_t errlen);

/* The local backend's functions (src/io/local.c). */
int weir__local_list(const char *uri, const weir__io_config *cfg,
                     weir__object **objs, size_t *n, char *err,
                     size_t errlen);
int weir__local_rstream_open(const char *uri, const weir__io_config *cfg,
                             uint64_t offset, uint64_t length,
                             weir__rstream **out, char *err, size_t errlen);
int weir__local_wstream_open(const char *uri, const weir__io_config *cfg,
                             weir__wstream **out, char *err, size_t errlen);
int weir__local_exists(const char *uri, const weir__io_config *cfg,
                       char *err, size_t errlen);

#endif /* WEIR_IO_VFS_H */
