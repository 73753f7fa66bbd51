/* Network back ends of weir's byte streams: HTTP(S) and S3 through a
 * libcurl multi handle driven by a libuv loop. While a pipeline runs, the
 * requests of its worker threads go to an engine on that pipeline's
 * scheduler loop, which cancels what is still open when the run ends
 * (WEIR_ECANCELED); requests from any other thread (building a pipeline,
 * tests, benchmarks, applications using the vfs) go to one process-wide
 * engine on a loop thread of its own, started on first use.
 *
 * src/io/vfs.c dispatches "http://", "https://" and "s3://" URIs to the
 * functions vfs.h declares (weir__net_list, weir__net_rstream_open,
 * weir__net_wstream_open, weir__net_exists); they are thin wrappers over
 * the finer-grained calls below, which tests and benchmarks also use. Every
 * function is callable from any thread; readers and writers are used by one
 * thread at a time. Builds without libcurl compile src/io/net/absent/, where
 * each function answers WEIR_ENOTSUP naming the URI's scheme.
 *
 * Error messages (the `err` buffers and weir__net_reader_errmsg) carry the
 * method, the URL with its userinfo and query string removed, and the HTTP
 * status or the transport failure; never a credential. */
#ifndef WEIR_IO_NET_NET_H
#define WEIR_IO_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "io/vfs.h"

/* The settings of one request, resolved from a weir__io_config and the
 * AWS_* environment (see weir__net_options_from_config). Strings are
 * borrowed. */
typedef struct weir__net_options {
  const char *s3_endpoint;    /* NULL = $AWS_ENDPOINT_URL_S3, then
                                 $AWS_ENDPOINT_URL (path-style addressing),
                                 else AWS (virtual-hosted) */
  const char *s3_region;      /* NULL = $AWS_REGION, $AWS_DEFAULT_REGION,
                                 else us-east-1 */
  const char *s3_access_key;  /* NULL = $AWS_ACCESS_KEY_ID */
  const char *s3_secret_key;  /* NULL = $AWS_SECRET_ACCESS_KEY */
  const char *s3_session_token; /* NULL = $AWS_SESSION_TOKEN */
  int max_requests;           /* transfers moving data at once; 0 = 16.
                                 The bound is the engine's (a running
                                 pipeline's, or the process-wide one),
                                 set by the latest request it took.
                                 One paused because its reader is behind
                                 gives its slot back, so a thread reading
                                 many readers in turn cannot deadlock. */
  int max_retries;            /* attempts of one request after its first,
                                 whatever they are (a retry after an
                                 error, or a Range resume after a cut that
                                 kept bytes): at most max_retries + 1 in
                                 all; 0 = 5, < 0 = none. Retried: resets,
                                 timeouts, refused connections, 5xx but
                                 501 and 505, 408 and 429 (Retry-After
                                 honoured up to 30 s); other 4xx, 501 and
                                 505 fail at once. */
  int list_page_size;         /* S3 max-keys per ListObjectsV2 page;
                                 0 = the server's default (1000). Tests
                                 set it small to exercise paging. */
  double retry_base_delay;    /* seconds before the first retry; 0 = 0.1 */
  uint64_t part_size;         /* S3 uploads bigger than this go up as a
                                 multipart upload in parts of this size,
                                 several at once; 0 = 64 MiB. AWS wants
                                 at least 5 MiB. */
  const char *ca_file;        /* PEM bundle of CAs trusted for https;
                                 NULL = $CURL_CA_BUNDLE, for S3 also
                                 $AWS_CA_BUNDLE, else the system's */
  double stall_seconds;       /* a transfer that receives less than
                                 low_speed_bytes a second for this long
                                 (while not paused) is a timeout, and
                                 retried; 0 = 30 */
  uint64_t low_speed_bytes;   /* 0 = 100 */
  double connect_timeout;     /* seconds to connect; 0 = 10 */
  double first_byte_timeout;  /* seconds from the request to the first
                                 byte of the answer; 0 = 30 */
} weir__net_options;

/* Fills `o` from `cfg` (may be NULL: all defaults). Only the libcurl back
 * end calls it: builds without libcurl have no definition. */
void weir__net_options_from_config(weir__net_options *o,
                                   const weir__io_config *cfg);

/* Lists the objects under `uri`. An http(s) URL is one object, sized by a
 * HEAD request (UINT64_MAX when the server does not say). s3://bucket/key
 * gives that object when it exists, otherwise every object under "key/" (a
 * folder: never "keyboard.txt"), following ListObjectsV2 pages; s3://bucket
 * and s3://bucket/ list the whole bucket. Zero-byte "folder/" markers are
 * left out. A key with wildcards is a glob, as for local paths: '*', '?'
 * and [...] match within one '/'-separated part; a part that is "**"
 * matches any number of parts, none included. `*objs` is malloc'd, with
 * malloc'd uris, sorted by uri; free with weir__vfs_list_free. A missing http(s) object is
 * WEIR_ENOTFOUND; an S3 prefix with no object gives zero objects. */
int weir__net_list_opts(const char *uri, const weir__net_options *o,
                        weir__object **objs, size_t *n, char *err,
                        size_t errlen);

/* The size of one object (HEAD), or UINT64_MAX when unknown. */
int weir__net_stat(const char *uri, const weir__net_options *o,
                   uint64_t *size, char *err, size_t errlen);

/* A sequential reader over bytes [offset, offset + length) of an object;
 * length UINT64_MAX reads to the end. The transfer starts at once and runs
 * on the engine's loop thread into a bounded buffer; it pauses while the buffer
 * is full, and after a reset mid-body it resumes with a Range request from
 * the first byte not yet received. Open returns once the transfer has been
 * queued; an HTTP error shows up on the first read. */
typedef struct weir__net_reader weir__net_reader;
int  weir__net_reader_open(const char *uri, const weir__net_options *o,
                           uint64_t offset, uint64_t length,
                           weir__net_reader **out, char *err, size_t errlen);
/* Blocks until bytes are there: > 0 bytes read, 0 at the end, < 0 a
 * WEIR_E* code (the message is in weir__net_reader_errmsg). */
long weir__net_reader_read(weir__net_reader *r, void *buf, size_t len);
const char *weir__net_reader_errmsg(const weir__net_reader *r);
/* The object's strong ETag (with its quotes) once the answer has begun,
 * else "". Resumes after a reset ask for this version (If-Match). */
const char *weir__net_reader_etag(weir__net_reader *r);
/* Stops the transfer if it still runs and frees the reader. Accepts NULL. */
void weir__net_reader_close(weir__net_reader *r);

/* A writer that uploads on commit: bytes go to an unlinked temporary file,
 * commit PUTs it (with retries) to an http(s) URL or an S3 key (as a
 * multipart upload above `part_size`), so a failed run never leaves a
 * partial object. Abort discards everything. */
typedef struct weir__net_writer weir__net_writer;
int  weir__net_writer_open(const char *uri, const weir__net_options *o,
                           weir__net_writer **out, char *err, size_t errlen);
int  weir__net_writer_write(weir__net_writer *w, const void *buf, size_t len,
                            char *err, size_t errlen);
/* Uploads and frees the writer, also on error. */
int  weir__net_writer_commit(weir__net_writer *w, char *err, size_t errlen);
/* Frees the writer without uploading. Accepts NULL. */
void weir__net_writer_abort(weir__net_writer *w);

/* Totals since the process started, for statistics and tests. */
typedef struct weir__net_counters {
  uint64_t attempts;     /* transfer attempts started */
  uint64_t retries;      /* attempts that were retries or resumes */
  uint64_t pauses;       /* transfers paused because a reader was behind */
  uint64_t bytes_in;     /* body bytes received */
  uint64_t loop_requests;   /* requests taken by engines on pipelines'
                               scheduler loops */
  uint64_t thread_requests; /* requests taken by the process-wide engine */
} weir__net_counters;
void weir__net_get_counters(weir__net_counters *c);

/* A malloc'd copy of `url` without userinfo and with any query replaced by
 * "?...", fit for messages; NULL when out of memory. */
char *weir__net_redact(const char *url);

/* Stops the process-wide engine's thread; the next call from outside a
 * running pipeline starts a fresh one. Its transfers still under way end
 * with WEIR_ECANCELED (their readers must still be closed). For tests and
 * leak checkers. */
void weir__net_shutdown(void);

#endif /* WEIR_IO_NET_NET_H */
