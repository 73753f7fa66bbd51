/* What the files of src/io/net share: the transfer engines (a libcurl
 * multi handle on a running pipeline's scheduler loop, or on the loop
 * thread of the process-wide engine), requests, and the URL helpers.
 * Nothing outside src/io/net includes this; it includes curl. */
#ifndef WEIR_IO_NET_NET_INTERNAL_H
#define WEIR_IO_NET_NET_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>

#include "io/net/net.h"

enum { WEIR__NET_GET = 0, WEIR__NET_HEAD, WEIR__NET_PUT, WEIR__NET_POST,
       WEIR__NET_DELETE };

typedef struct weir__net_req weir__net_req;

/* One logical request: the engine may run it several times (retries,
 * resumes), each time with a fresh easy handle. The submitter fills the
 * first block, then hands it to weir__net_submit, which sends it to the
 * engine of the calling thread (its pipeline's, else the process-wide
 * one); callbacks run on that engine's loop thread, called the network
 * thread below. A request is reference counted: the submitter holds one
 * reference, the engine another while the request is queued, running or
 * waiting to retry; `destroy` runs when the last one goes, and frees the
 * object the request is embedded in. */
struct weir__net_req {
  int method;                     /* WEIR__NET_* */
  char *url;                      /* owned: the URL requested */
  char *shown;                    /* owned: the URL for messages (no
                                     userinfo, no query) or s3:// URI */
  struct curl_slist *headers;     /* owned: extra request headers */
  char *sigv4;                    /* owned: "aws:amz:<region>:s3" or NULL */
  char *user, *pass;              /* owned: signing keys or NULL */
  char *cainfo;                   /* owned: CA bundle path or NULL */
  int follow;                     /* follow redirects (plain HTTP) */
  int max_requests;               /* engine bound this request asks for */
  int max_retries;                /* retries after the first attempt */
  double base_delay;              /* seconds before the first retry */
  long stall_seconds;             /* low-speed timeout */
  long low_speed_bytes;           /* ... below this many bytes a second */
  long connect_ms;                /* connect timeout */
  double first_byte_s;            /* first-byte timeout */
  double attempt_t0;              /* when the current attempt started */
  int got_header;                 /* the current attempt has an answer */
  int first_byte_timed_out;       /* ended by first_byte_s */
  int upload_fd;                  /* PUT body: bytes [upload_off,
                                     upload_off + upload_size) of this
                                     file (borrowed), read with pread so
                                     parts of one file upload at once */
  uint64_t upload_off, upload_size, upload_pos;
  char *post_body;                /* owned: POST body, or NULL */
  size_t post_len;

  /* Before each attempt, on the network thread: set per-attempt options
   * (a Range). Returns 1 when nothing is left to fetch, so the request is
   * complete without another attempt. May be NULL. */
  int (*prepare)(weir__net_req *rq, CURL *easy);
  /* Body bytes of a successful (< 300) answer: returns n, or
   * CURL_WRITEFUNC_PAUSE to hold the transfer until weir__net_unpause.
   * NULL discards the body. */
  size_t (*on_data)(weir__net_req *rq, const char *p, size_t n);
  /* Once, when the request ends (rc, status, errmsg are set). */
  void (*on_done)(weir__net_req *rq);
  void (*destroy)(weir__net_req *rq);

  /* Results. */
  int rc;                         /* WEIR_OK or a WEIR_E* code */
  long status;                    /* HTTP status of the last attempt */
  int64_t content_length;         /* of the last answer; -1 unknown */
  int attempts;
  void *op;                       /* the operator whose worker made it, for
                                     its retry count (exec/net_backend.h) */
  int failures;                   /* failed attempts since the last one
                                     that delivered bytes: the retry bound
                                     and the backoff count these, so a long
                                     download on a flaky link goes on while
                                     it makes progress */
  int fatal;                      /* set by on_data with errmsg: the
                                     answer is wrong, stop without retry */
  int satisfied;                  /* set by on_data: all wanted bytes are
                                     in, whatever the transfer does next */
  uint64_t progress;              /* set by on_data: bytes kept for good
                                     (a resumable reader's position); an
                                     attempt that raises it resets the
                                     failure count */
  uint64_t progress_mark;         /* `progress` when the attempt began */
  int resumed;                    /* an attempt after the first asked for
                                     a range past what was received */
  int64_t range_start;            /* first byte of a 206 answer (its
                                     Content-Range), -1 when none */
  char etag[128];                 /* strong ETag of the first 2xx answer,
                                     "" if none: resumes ask If-Match */
  char errbody[2048];             /* start of an error answer's body */
  size_t errbody_len;
  char errmsg[512];

  /* Engine state; only the network thread touches these. */
  atomic_int refs;
  int state;
  int paused;
  CURL *easy;
  double due;                     /* retry time, seconds on uv_hrtime */
  weir__net_req *next;
  weir__net_req *all_prev, *all_next;   /* every request the engine holds */
  char curlerr[CURL_ERROR_SIZE];
  void *waiter;                   /* weir__net_perform's wait */
  void *engine;                   /* set by weir__net_submit: the engine
                                     it went to, which the request keeps
                                     alive until its last release, for
                                     unpause and cancel */
};

/* Fills the common fields of a fresh request (refs = 1). */
void weir__net_req_init(weir__net_req *rq, int method,
                        const weir__net_options *o);
/* Frees what weir__net_req_init and the submitter put in the fields. */
void weir__net_req_clear(weir__net_req *rq);
void weir__net_req_release(weir__net_req *rq);

/* Hands `rq` to the engine of the calling thread (which takes a
 * reference). A request is submitted once. */
int  weir__net_submit(weir__net_req *rq);
/* Resumes a transfer whose on_data returned CURL_WRITEFUNC_PAUSE. */
void weir__net_unpause(weir__net_req *rq);
/* Ends the request early; on_done runs with WEIR_ECANCELED unless it
 * already ran. */
void weir__net_cancel(weir__net_req *rq);
/* Submits and waits for the end; returns rq->rc. */
int  weir__net_perform(weir__net_req *rq);

/* ---- URLs and S3 ------------------------------------------------------- */

/* Appends `s` percent-encoded (RFC 3986 unreserved kept; '/' kept when
 * keep_slash) to the malloc'd string *dst; 0 or WEIR_ENOMEM. */
int weir__net_append_encoded(char **dst, const char *s, int keep_slash);
/* Appends formatted text to the malloc'd string *dst. */
int weir__net_appendf(char **dst, const char *fmt, ...);

/* An s3:// URI taken apart, with the resolved endpoint and credentials. */
typedef struct weir__s3_target {
  char *bucket;
  char *key;             /* may be "" */
  char *base;            /* "<endpoint>/<bucket>" or the virtual host URL,
                            no trailing slash */
  char *region;
  const char *access_key, *secret_key, *session_token;   /* borrowed */
  const char *ca_file;                                  /* borrowed */
} weir__s3_target;

int  weir__s3_target_parse(weir__s3_target *t, const char *uri,
                           const weir__net_options *o, char *err,
                           size_t errlen);
void weir__s3_target_clear(weir__s3_target *t);
/* Prepares `rq` to talk to S3: signing, session token, shown URI. `url`
 * is taken. */
int  weir__s3_req_setup(weir__net_req *rq, const weir__s3_target *t,
                        char *url, const char *shown_uri);
/* The URL of an object: base + "/" + encoded key. malloc'd. */
char *weir__s3_object_url(const weir__s3_target *t, const char *key);
/* Prepares `rq` for a plain http(s) URL. */
int  weir__http_req_setup(weir__net_req *rq, const char *url);
/* Sets up `rq` for `uri`, either scheme; `err` on a malformed s3 URI. */
int  weir__net_req_for_uri(weir__net_req *rq, const char *uri,
                           const weir__net_options *o, char *err,
                           size_t errlen);

/* A request whose answer body is collected in memory (NUL-terminated in
 * `data` once it has any byte). Release with weir__net_req_release. */
typedef struct weir__net_membuf {
  weir__net_req rq;
  char *data;
  size_t len, cap;
  int oom;
} weir__net_membuf;
weir__net_membuf *weir__net_membuf_new(int method, const weir__net_options *o);

/* The entity-decoded text of the first <tag> element in `xml` (malloc'd),
 * or NULL when there is none. */
char *weir__xml_find_text(const char *xml, size_t len, const char *tag);

/* ListObjectsV2 of every key under `prefix`, following pages. */
int weir__s3_list(const weir__s3_target *t, const char *prefix,
                  const weir__net_options *o, weir__object **objs,
                  size_t *n, char *err, size_t errlen);

/* Copies the request's message into `err`. */
void weir__net_copy_err(const weir__net_req *rq, char *err, size_t errlen);

#endif /* WEIR_IO_NET_NET_INTERNAL_H */
