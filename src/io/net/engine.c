/* The network engine: a libcurl multi handle driven by a libuv loop,
 * running many transfers at once under a bound, with retries (exponential
 * backoff and jitter) for resets, timeouts, 5xx and 429. A running
 * pipeline attaches one engine to its scheduler's loop (through
 * exec/net_backend.h) and its worker threads send their requests there;
 * every other thread uses one process-wide engine on a loop thread of its
 * own, started on first use. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>
#include <uv.h>

#include "weir/error.h"
#include "exec/net_backend.h"
#include "io/net/net_internal.h"

enum { ST_NEW = 0, ST_PENDING, ST_ACTIVE, ST_DELAYED, ST_DONE };
enum { CMD_SUBMIT = 0, CMD_UNPAUSE, CMD_CANCEL };

typedef struct cmd {
  int op;
  weir__net_req *rq;
  struct cmd *next;
} cmd;

typedef struct sockctx sockctx;

typedef struct engine {
  uv_loop_t *loop;           /* the loop driving it */
  uv_loop_t own_loop;        /* the process-wide engine's, run by `thread` */
  uv_thread_t thread;
  int on_pipeline;           /* attached to a pipeline's scheduler loop */
  unsigned fork_gen;         /* g_fork_gen when made */
  /* The loop's hold, and one per request submitted here: a request can
   * still be cancelled or released after its pipeline's loop has gone. */
  atomic_int refs;
  uv_async_t wake;
  uv_timer_t curl_timer;     /* curl's own timeouts */
  uv_timer_t retry_timer;    /* the earliest delayed retry */
  pthread_mutex_t lock;      /* guards cmds, stop_asked and stopped */
  cmd *cmds, *cmds_tail;
  int stop_asked;            /* weir__net_shutdown ends the loop thread */
  int stopped;               /* no more commands are taken */
  /* Loop thread only: */
  CURLM *multi;              /* made for the first request */
  sockctx *socks;            /* poll handles open */
  weir__net_req *pending, *pending_tail;  /* waiting for a slot */
  weir__net_req *delayed;                 /* waiting to retry */
  weir__net_req *all;                     /* every request held */
  int active;
  int max_active;
  uint64_t rng;
} engine;

struct sockctx {
  uv_poll_t poll;
  curl_socket_t fd;
  engine *e;
  sockctx *prev, *next;      /* in e->socks */
};

static atomic_ullong g_attempts, g_retries, g_pauses, g_bytes_in;
static atomic_ullong g_loop_requests, g_thread_requests;

void weir__net_get_counters(weir__net_counters *c) {
  c->attempts = atomic_load(&g_attempts);
  c->retries = atomic_load(&g_retries);
  c->pauses = atomic_load(&g_pauses);
  c->bytes_in = atomic_load(&g_bytes_in);
  c->loop_requests = atomic_load(&g_loop_requests);
  c->thread_requests = atomic_load(&g_thread_requests);
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static engine *g_engine;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_curl_ok;
/* Bumped in a child of fork(): engines made before belong to the parent,
 * whose loop threads the child does not have. */
static atomic_uint g_fork_gen;
/* The engine of the running pipeline whose worker this thread is. */
static _Thread_local engine *t_engine;

/* ---- Requests ----------------------------------------------------------- */

void weir__net_req_init(weir__net_req *rq, int method,
                        const weir__net_options *o) {
  memset(rq, 0, sizeof *rq);
  rq->method = method;
  rq->max_requests = o && o->max_requests > 0 ? o->max_requests : 16;
  rq->max_retries = !o || o->max_retries == 0 ? 5
                  : o->max_retries < 0 ? 0 : o->max_retries;
  rq->base_delay = o && o->retry_base_delay > 0 ? o->retry_base_delay : 0.1;
  /* curl counts the low-speed time in whole seconds. */
  rq->stall_seconds = o && o->stall_seconds > 0 ? (long)ceil(o->stall_seconds) : 30;
  rq->low_speed_bytes = o && o->low_speed_bytes > 0 ? (long)o->low_speed_bytes : 100;
  rq->connect_ms = o && o->connect_timeout > 0 ? (long)(o->connect_timeout * 1000) : 10000;
  rq->first_byte_s = o && o->first_byte_timeout > 0 ? o->first_byte_timeout : 30;
  rq->content_length = -1;
  rq->op = weir__net_current_op();
  const char *ca = o && o->ca_file ? o->ca_file : getenv("CURL_CA_BUNDLE");
  if (ca && *ca) rq->cainfo = strdup(ca);
  atomic_init(&rq->refs, 1);
}

void weir__net_req_clear(weir__net_req *rq) {
  free(rq->url);
  free(rq->shown);
  curl_slist_free_all(rq->headers);
  free(rq->sigv4);
  free(rq->cainfo);
  rq->cainfo = NULL;
  free(rq->post_body);
  rq->post_body = NULL;
  if (rq->pass) memset(rq->pass, 0, strlen(rq->pass));
  free(rq->user);
  free(rq->pass);
  rq->url = rq->shown = rq->sigv4 = rq->user = rq->pass = NULL;
  rq->headers = NULL;
}

static void engine_unref(engine *e);

void weir__net_req_release(weir__net_req *rq) {
  if (!rq || atomic_fetch_sub(&rq->refs, 1) != 1) return;
  engine *e = rq->engine;
  if (rq->destroy) rq->destroy(rq);
  engine_unref(e);
}

/* ---- Completion ----------------------------------------------------------- */

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} waiter;

static void finish(engine *e, weir__net_req *rq, int rc) {
  if (rq->all_prev) rq->all_prev->all_next = rq->all_next;
  else if (e->all == rq) e->all = rq->all_next;
  if (rq->all_next) rq->all_next->all_prev = rq->all_prev;
  rq->all_prev = rq->all_next = NULL;
  rq->state = ST_DONE;
  rq->rc = rc;
  if (rq->on_done) rq->on_done(rq);
  waiter *w = rq->waiter;
  if (w) {
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
  }
  weir__net_req_release(rq);    /* the engine's reference */
}

static const char *method_name(int m) {
  static const char *names[] = { "GET", "HEAD", "PUT", "POST", "DELETE" };
  return m >= 0 && m <= WEIR__NET_DELETE ? names[m] : "GET";
}

static void status_message(weir__net_req *rq) {
  size_t len = rq->errbody_len < sizeof rq->errbody ? rq->errbody_len
                                                    : sizeof rq->errbody - 1;
  rq->errbody[len] = 0;
  /* <Code> and <Message> of an S3 error body, so a 403 says
   * "SignatureDoesNotMatch" rather than only the number. */
  char *code = weir__xml_find_text(rq->errbody, len, "Code");
  char *msg = weir__xml_find_text(rq->errbody, len, "Message");
  int n = snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: HTTP %ld",
                   method_name(rq->method), rq->shown, rq->status);
  if (n > 0 && (size_t)n < sizeof rq->errmsg && code && code[0])
    n += snprintf(rq->errmsg + n, sizeof rq->errmsg - (size_t)n, " %s%s%s",
                  code, msg && msg[0] ? ": " : "", msg ? msg : "");
  if (n > 0 && (size_t)n < sizeof rq->errmsg && rq->attempts > 1)
    snprintf(rq->errmsg + n, sizeof rq->errmsg - (size_t)n,
             " (after %d attempts)", rq->attempts);
  free(code);
  free(msg);
}

static int retryable_curl(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_COULDNT_RESOLVE_HOST:
    return 1;
  default:
    return 0;
  }
}

/* 5xx is a server's passing trouble, except 501 (it does not implement
 * the method: a PUT refused that way is refused every time) and 505 (nor
 * the HTTP version); 408 and 429 ask to come back later. */
static int retryable_status(long s) {
  return (s >= 500 && s != 501 && s != 505) || s == 429 || s == 408;
}

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

/* xorshift: jitter needs no quality, only to differ between requests. */
static double rnd01(engine *e) {
  e->rng ^= e->rng << 13;
  e->rng ^= e->rng >> 7;
  e->rng ^= e->rng << 17;
  return (double)(e->rng >> 11) / 9007199254740992.0;
}

static void arm_retry_timer(engine *e);
static void pump(engine *e);

static void schedule_retry(engine *e, weir__net_req *rq, long retry_after) {
  /* Exponential backoff capped at 10 s, with "equal jitter": half fixed,
   * half random, so retries of many failed requests spread out. */
  double d = rq->base_delay;
  for (int i = 1; i < rq->failures && d < 10.0; i++) d *= 2;
  if (d > 10.0) d = 10.0;
  d = d / 2 + rnd01(e) * d / 2;
  if (retry_after > 0) {
    double ra = retry_after > 30 ? 30.0 : (double)retry_after;
    if (ra > d) d = ra;
  }
  rq->due = now_s() + d;
  rq->state = ST_DELAYED;
  rq->next = e->delayed;
  e->delayed = rq;
  arm_retry_timer(e);
}

/* A transfer attempt ended: succeed, retry, or fail with a message. */
static void attempt_done(engine *e, weir__net_req *rq, CURLcode res) {
  long status = 0;
  curl_off_t cl = -1, retry_after = 0;
  curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(rq->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  curl_easy_getinfo(rq->easy, CURLINFO_RETRY_AFTER, &retry_after);
  curl_multi_remove_handle(e->multi, rq->easy);
  curl_easy_cleanup(rq->easy);
  rq->easy = NULL;
  if (!rq->paused) e->active--;
  rq->paused = 0;
  rq->status = status;
  rq->content_length = cl;

  if (rq->fatal) {
    finish(e, rq, WEIR_EIO);
    return;
  }
  if (rq->satisfied) {
    finish(e, rq, WEIR_OK);
    return;
  }
  if (res == CURLE_OK && status < 300) {
    finish(e, rq, WEIR_OK);
    return;
  }
  /* A resume asked for bytes past the end: the object ended exactly where
   * the earlier attempt was cut off. */
  if (res == CURLE_OK && status == 416 && rq->resumed) {
    finish(e, rq, WEIR_OK);
    return;
  }
  if (res == CURLE_ABORTED_BY_CALLBACK && rq->first_byte_timed_out)
    snprintf(rq->curlerr, sizeof rq->curlerr,
             "no answer within %g s of the request (first_byte_timeout)", rq->first_byte_s);
  int again = res != CURLE_OK ? retryable_curl(res) || rq->first_byte_timed_out
                              : retryable_status(status);
  /* The backoff starts over after an attempt that kept new bytes; the
   * number of attempts does not: max_retries caps the attempts of one
   * request at max_retries + 1, resumes after a cut included, so a
   * server that truncates every answer cannot keep it going. */
  if (rq->progress > rq->progress_mark) rq->failures = 0;
  rq->failures++;
  if (again && rq->attempts <= rq->max_retries) {
    char what[768];
    if (res != CURLE_OK)
      snprintf(what, sizeof what, "%s %s: attempt %d of %d: %s", method_name(rq->method),
               rq->shown ? rq->shown : "?", rq->attempts, rq->max_retries + 1,
               rq->curlerr[0] ? rq->curlerr : curl_easy_strerror(res));
    else
      snprintf(what, sizeof what, "%s %s: attempt %d of %d: HTTP %ld", method_name(rq->method),
               rq->shown ? rq->shown : "?", rq->attempts, rq->max_retries + 1, status);
    weir__net_count_retry(rq->op, what);
    schedule_retry(e, rq, (long)retry_after);
    return;
  }
  if (res != CURLE_OK) {
    snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: %s (after %d attempt%s)",
             method_name(rq->method), rq->shown,
             rq->curlerr[0] ? rq->curlerr : curl_easy_strerror(res),
             rq->attempts, rq->attempts == 1 ? "" : "s");
    finish(e, rq, WEIR_EIO);
    return;
  }
  status_message(rq);
  if (status == 412 && rq->resumed) {
    size_t l = strlen(rq->errmsg);
    snprintf(rq->errmsg + l, sizeof rq->errmsg - l,
             ": the object changed while it was being read");
  }
  finish(e, rq, status == 404 || status == 410 ? WEIR_ENOTFOUND : WEIR_EIO);
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
  weir__net_req *rq = ud;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
  rq->status = status;
  if (status >= 300) {
    /* Keep the start of an error answer for its message; never pass it on
     * as data. */
    size_t room = sizeof rq->errbody - 1 - rq->errbody_len;
    size_t k = n < room ? n : room;
    memcpy(rq->errbody + rq->errbody_len, p, k);
    rq->errbody_len += k;
    return n;
  }
  if (!rq->on_data) return n;
  size_t r = rq->on_data(rq, p, n);
  if (r == n) atomic_fetch_add(&g_bytes_in, n);
  if (r == CURL_WRITEFUNC_PAUSE && !rq->paused) {
    atomic_fetch_add(&g_pauses, 1);
    /* A paused transfer gives its slot back: it waits for its consumer,
     * and a consumer may be waiting for a transfer still queued behind
     * it. The bound is on transfers moving data. */
    rq->paused = 1;
    ((engine *)rq->engine)->active--;
  }
  return r;
}

/* Remembers the first strong ETag of a successful answer, so that a resume
 * can insist on the same version of the object (If-Match). */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  weir__net_req *rq = ud;
  if (rq->got_header || now_s() - rq->attempt_t0 < rq->first_byte_s)
    return 0;
  rq->first_byte_timed_out = 1;
  return 1; /* CURLE_ABORTED_BY_CALLBACK */
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  weir__net_req *rq = ud;
  size_t n = size * nmemb;
  rq->got_header = 1;
  if (n > 20 && strncasecmp(p, "content-range:", 14) == 0) {
    /* Where a partial answer really starts; headers are not
     * NUL-terminated, so parse a bounded copy. */
    char tmp[96];
    size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
    memcpy(tmp, p, k);
    tmp[k] = 0;
    unsigned long long a;
    if (sscanf(tmp + 14, " bytes %llu-", &a) == 1) rq->range_start = (int64_t)a;
    return n;
  }
  if (rq->etag[0] || n < 6 || strncasecmp(p, "etag:", 5) != 0) return n;
  long status = 0;
  curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return n;
  const char *v = p + 5, *end = p + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t len = (size_t)(end - v);
  if (len >= 2 && v[0] == '"' && len < sizeof rq->etag) {
    memcpy(rq->etag, v, len);
    rq->etag[len] = 0;
  }
  return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud) {
  weir__net_req *rq = ud;
  uint64_t left = rq->upload_size - rq->upload_pos;
  size_t want = size * nmemb < left ? size * nmemb : (size_t)left;
  if (want == 0) return 0;
  ssize_t n = pread(rq->upload_fd, p, want,
                    (off_t)(rq->upload_off + rq->upload_pos));
  if (n <= 0) return CURL_READFUNC_ABORT;   /* the file shrank or failed */
  rq->upload_pos += (uint64_t)n;
  return (size_t)n;
}

static int on_seek(void *ud, curl_off_t off, int origin) {
  weir__net_req *rq = ud;
  if (origin != SEEK_SET || off < 0 || (uint64_t)off > rq->upload_size)
    return CURL_SEEKFUNC_CANTSEEK;
  rq->upload_pos = (uint64_t)off;
  return CURL_SEEKFUNC_OK;
}

static void check_done(engine *e) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(e->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    weir__net_req *rq = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
    attempt_done(e, rq, m->data.result);
  }
  pump(e);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sockctx *c = h->data;
  int flags = 0, running;
  /* On a socket error (a reset) let libcurl read the socket, so the
   * message says what happened rather than "select/poll returned error". */
  if (status < 0) flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  curl_multi_socket_action(c->e->multi, c->fd, flags, &running);
  check_done(c->e);
}

static void free_sockctx(uv_handle_t *h) { free(h->data); }

static void close_sock(sockctx *c) {
  engine *e = c->e;
  if (c->prev) c->prev->next = c->next;
  else e->socks = c->next;
  if (c->next) c->next->prev = c->prev;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, free_sockctx);
}

static sockctx *open_sock(engine *e, curl_socket_t s) {
  sockctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = s;
  c->e = e;
  if (uv_poll_init_socket(e->loop, &c->poll, s) != 0) {
    free(c);
    return NULL;
  }
  c->poll.data = c;
  c->next = e->socks;
  if (e->socks) e->socks->prev = c;
  e->socks = c;
  return c;
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp) {
  (void)easy;
  engine *e = userp;
  sockctx *c = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (c) {
      close_sock(c);
      curl_multi_assign(e->multi, s, NULL);
    }
    return 0;
  }
  if (!c) {
    c = open_sock(e, s);
    if (!c) return -1;
    curl_multi_assign(e->multi, s, c);
  }
  int ev = 0;
  if (what & CURL_POLL_IN) ev |= UV_READABLE;
  if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
  uv_poll_start(&c->poll, ev, on_poll);
  return 0;
}

static void on_curl_timer(uv_timer_t *t) {
  engine *e = t->data;
  int running;
  curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(e);
}

static int on_timer_change(CURLM *multi, long ms, void *userp) {
  (void)multi;
  engine *e = userp;
  if (ms < 0)
    uv_timer_stop(&e->curl_timer);
  else
    uv_timer_start(&e->curl_timer, on_curl_timer, (uint64_t)ms, 0);
  return 0;
}

/* ---- Scheduling ------------------------------------------------------------ */

static void push_pending(engine *e, weir__net_req *rq, int front) {
  rq->state = ST_PENDING;
  rq->next = NULL;
  if (front) {
    rq->next = e->pending;
    e->pending = rq;
    if (!e->pending_tail) e->pending_tail = rq;
  } else {
    if (e->pending_tail) e->pending_tail->next = rq;
    else e->pending = rq;
    e->pending_tail = rq;
  }
}

static int unlink_req(weir__net_req **head, weir__net_req **tail,
                      weir__net_req *rq) {
  weir__net_req *prev = NULL;
  for (weir__net_req *x = *head; x; prev = x, x = x->next) {
    if (x != rq) continue;
    if (prev) prev->next = x->next;
    else *head = x->next;
    if (tail && *tail == x) *tail = prev;
    x->next = NULL;
    return 1;
  }
  return 0;
}

static void start_attempt(engine *e, weir__net_req *rq) {
  rq->attempts++;
  rq->progress_mark = rq->progress;
  rq->range_start = -1;
  atomic_fetch_add(&g_attempts, 1);
  if (rq->attempts > 1) atomic_fetch_add(&g_retries, 1);
  rq->errbody_len = 0;
  rq->curlerr[0] = 0;
  rq->status = 0;
  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: out of memory",
             method_name(rq->method), rq->shown);
    finish(e, rq, WEIR_ENOMEM);
    return;
  }
  rq->easy = h;
  curl_easy_setopt(h, CURLOPT_URL, rq->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)rq);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, rq->curlerr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, rq);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms);
  /* A stalled or trickling server (under low_speed_bytes a second for
   * stall_seconds) is a timeout to retry; paused transfers are exempt from
   * this check in libcurl. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, rq->low_speed_bytes);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, rq->stall_seconds);
  /* The first byte of the answer: curl has no option for it; its progress
   * callback (at least once a second, and on every transfer event) checks
   * the clock until the header arrives. */
  rq->attempt_t0 = now_s();
  rq->got_header = 0;
  rq->first_byte_timed_out = 0;
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, rq);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, rq);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "weir/0.1");
  /* One transfer per connection: pausing a transfer whose reader is
   * behind must not hold back others that share its connection, as
   * HTTP/2 streams would; separate connections also spread the load. */
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  if (rq->follow) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  if (rq->headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, rq->headers);
  if (rq->cainfo) curl_easy_setopt(h, CURLOPT_CAINFO, rq->cainfo);
  if (rq->sigv4) {
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, rq->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, rq->pass);
  }
  if (rq->method == WEIR__NET_HEAD) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (rq->method == WEIR__NET_PUT) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    /* "Expect: 100-continue" only adds a round trip on most servers, so
     * the body follows at once. An empty "Expect:" header would drop it,
     * but libcurl's SigV4 then signs an "expect" header it never sends,
     * and S3 (moto, AWS) refuses every signed upload. */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, rq);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, rq);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t)rq->upload_size);
    rq->upload_pos = 0;
  } else if (rq->method == WEIR__NET_POST) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)rq->post_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     rq->post_body ? rq->post_body : "");
  } else if (rq->method == WEIR__NET_DELETE) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  if (rq->prepare && rq->prepare(rq, h)) {
    curl_easy_cleanup(h);
    rq->easy = NULL;
    finish(e, rq, WEIR_OK);
    return;
  }
  if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
    curl_easy_cleanup(h);
    rq->easy = NULL;
    snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: cannot start transfer",
             method_name(rq->method), rq->shown);
    finish(e, rq, WEIR_EIO);
    return;
  }
  rq->state = ST_ACTIVE;
  e->active++;
}

/* Starts queued requests while there are free slots. */
static void pump(engine *e) {
  while (e->pending && e->active < e->max_active) {
    weir__net_req *rq = e->pending;
    e->pending = rq->next;
    if (!e->pending) e->pending_tail = NULL;
    rq->next = NULL;
    start_attempt(e, rq);
  }
}

static void on_retry_timer(uv_timer_t *t) {
  engine *e = t->data;
  double now = now_s();
  weir__net_req **pp = &e->delayed;
  while (*pp) {
    weir__net_req *rq = *pp;
    if (rq->due <= now) {
      *pp = rq->next;
      push_pending(e, rq, 1);
    } else {
      pp = &rq->next;
    }
  }
  arm_retry_timer(e);
  pump(e);
}

static void arm_retry_timer(engine *e) {
  if (!e->delayed) {
    uv_timer_stop(&e->retry_timer);
    return;
  }
  double first = e->delayed->due;
  for (weir__net_req *x = e->delayed; x; x = x->next)
    if (x->due < first) first = x->due;
  double ms = (first - now_s()) * 1000.0;
  uv_timer_start(&e->retry_timer, on_retry_timer,
                 ms > 0 ? (uint64_t)ms + 1 : 0, 0);
}

static void cancel_req(engine *e, weir__net_req *rq) {
  switch (rq->state) {
  case ST_ACTIVE:
    curl_multi_remove_handle(e->multi, rq->easy);
    curl_easy_cleanup(rq->easy);
    rq->easy = NULL;
    if (!rq->paused) e->active--;
    rq->paused = 0;
    break;
  case ST_PENDING:
    unlink_req(&e->pending, &e->pending_tail, rq);
    break;
  case ST_DELAYED:
    unlink_req(&e->delayed, NULL, rq);
    arm_retry_timer(e);
    break;
  default:
    return;     /* done already, or never submitted */
  }
  snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: cancelled",
           method_name(rq->method), rq->shown);
  finish(e, rq, WEIR_ECANCELED);
}

/* Idle multi handles of stopped engines, kept with their caches of open
 * connections: the next engine takes one, so back-to-back pipeline runs
 * reuse warm connections (grown TCP windows, done TLS handshakes) as a
 * single process-wide engine did. Under g_lock. */
enum { PARKED_MAX = 4 };
static CURLM *g_parked[PARKED_MAX];
static int g_nparked;

static CURLM *unpark(void) {
  pthread_mutex_lock(&g_lock);
  CURLM *m = g_nparked > 0 ? g_parked[--g_nparked] : NULL;
  pthread_mutex_unlock(&g_lock);
  return m;
}

/* Keeps `m`, which no transfer uses, for a later engine; 0 when full. Its
 * callbacks name the engine, which will be gone: they are unset first, so
 * that a later cleanup calls nothing. */
static int park(CURLM *m) {
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, NULL);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, NULL);
  pthread_mutex_lock(&g_lock);
  int kept = g_nparked < PARKED_MAX;
  if (kept) g_parked[g_nparked++] = m;
  pthread_mutex_unlock(&g_lock);
  return kept;
}

/* The multi handle is taken or made for the first request, so a pipeline
 * that never touches the network never initialises libcurl. */
static int ensure_multi(engine *e) {
  if (e->multi) return 1;
  e->multi = unpark();
  if (!e->multi) e->multi = curl_multi_init();
  if (!e->multi) return 0;
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 256L);
  curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
  return 1;
}

static void take_request(engine *e, weir__net_req *rq) {
  atomic_fetch_add(e->on_pipeline ? &g_loop_requests : &g_thread_requests, 1);
  rq->all_prev = NULL;
  rq->all_next = e->all;
  if (e->all) e->all->all_prev = rq;
  e->all = rq;
  if (!ensure_multi(e)) {
    snprintf(rq->errmsg, sizeof rq->errmsg,
             "%s %s: cannot start the network engine",
             method_name(rq->method), rq->shown);
    finish(e, rq, WEIR_EIO);
    return;
  }
  if (rq->max_requests > 0) e->max_active = rq->max_requests;
  push_pending(e, rq, 0);
}

static void run_cmds(engine *e, cmd *c) {
  while (c) {
    cmd *next = c->next;
    weir__net_req *rq = c->rq;
    switch (c->op) {
    case CMD_SUBMIT:
      take_request(e, rq);
      break;
    case CMD_UNPAUSE:
      if (rq->state == ST_ACTIVE && rq->paused) {
        rq->paused = 0;
        e->active++;
        curl_easy_pause(rq->easy, CURLPAUSE_CONT);
      }
      weir__net_req_release(rq);
      break;
    case CMD_CANCEL:
      cancel_req(e, rq);
      weir__net_req_release(rq);
      break;
    }
    free(c);
    c = next;
  }
}

/* On the loop thread: the engine takes no more commands, ends what it
 * holds, and closes its handles; the loop runs their close callbacks and
 * ends once nothing else keeps it alive. */
static void engine_stop(engine *e) {
  pthread_mutex_lock(&e->lock);
  int was = e->stopped;
  e->stopped = 1;
  cmd *c = e->cmds;
  e->cmds = e->cmds_tail = NULL;
  pthread_mutex_unlock(&e->lock);
  if (was) return;
  run_cmds(e, c);
  /* Readers still open get WEIR_ECANCELED rather than wait for ever. */
  for (weir__net_req *rq = e->all, *next; rq; rq = next) {
    next = rq->all_next;
    cancel_req(e, rq);
  }
  /* With no socket left to watch, every connection is idle in the
   * cache, and the handle can serve another engine. */
  if (e->multi && (e->socks || !park(e->multi)))
    curl_multi_cleanup(e->multi);
  e->multi = NULL;
  /* Sockets of connections curl closed without removing them. */
  while (e->socks) close_sock(e->socks);
  uv_close((uv_handle_t *)&e->wake, NULL);
  uv_close((uv_handle_t *)&e->curl_timer, NULL);
  uv_close((uv_handle_t *)&e->retry_timer, NULL);
}

static void on_wake(uv_async_t *a) {
  engine *e = a->data;
  pthread_mutex_lock(&e->lock);
  cmd *c = e->cmds;
  e->cmds = e->cmds_tail = NULL;
  int stop = e->stop_asked;
  pthread_mutex_unlock(&e->lock);
  run_cmds(e, c);
  if (stop)
    engine_stop(e);
  else if (e->multi)
    check_done(e);    /* unpausing can finish transfers; look first */
}

/* WEIR_ECANCELED once the engine has stopped, or when it belongs to the
 * parent of this forked process. */
static int post(engine *e, int op, weir__net_req *rq) {
  if (e->fork_gen != atomic_load(&g_fork_gen)) return WEIR_ECANCELED;
  cmd *c = malloc(sizeof *c);
  if (!c) return WEIR_ENOMEM;
  c->op = op;
  c->rq = rq;
  c->next = NULL;
  pthread_mutex_lock(&e->lock);
  if (e->stopped) {
    pthread_mutex_unlock(&e->lock);
    free(c);
    return WEIR_ECANCELED;
  }
  if (e->cmds_tail) e->cmds_tail->next = c;
  else e->cmds = c;
  e->cmds_tail = c;
  /* Under the lock, so engine_stop cannot close the handle meanwhile. */
  uv_async_send(&e->wake);
  pthread_mutex_unlock(&e->lock);
  return WEIR_OK;
}

/* ---- Engines ---------------------------------------------------------- */

/* An engine on `loop`, or on a loop of its own when `loop` is NULL; it
 * holds one reference, the loop's. */
static engine *engine_new(uv_loop_t *loop) {
  engine *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  if (!loop && uv_loop_init(&e->own_loop) != 0) {
    free(e);
    return NULL;
  }
  e->loop = loop ? loop : &e->own_loop;
  if (uv_async_init(e->loop, &e->wake, on_wake) != 0) {
    if (!loop) uv_loop_close(&e->own_loop);
    free(e);
    return NULL;
  }
  e->wake.data = e;
  uv_timer_init(e->loop, &e->curl_timer);
  e->curl_timer.data = e;
  uv_timer_init(e->loop, &e->retry_timer);
  e->retry_timer.data = e;
  pthread_mutex_init(&e->lock, NULL);
  atomic_init(&e->refs, 1);
  e->fork_gen = atomic_load(&g_fork_gen);
  e->max_active = 16;
  e->rng = uv_hrtime() | 1;
  return e;
}

/* Frees the engine with its last reference; its handles are closed and
 * its loop has run their callbacks by then. */
static void engine_unref(engine *e) {
  if (!e || atomic_fetch_sub(&e->refs, 1) != 1) return;
  pthread_mutex_destroy(&e->lock);
  free(e);
}

static void loop_main(void *arg) {
  engine *e = arg;
  uv_run(e->loop, UV_RUN_DEFAULT);
}

static engine *engine_start_thread(void) {
  engine *e = engine_new(NULL);
  if (e && uv_thread_create(&e->thread, loop_main, e) != 0) {
    engine_stop(e);
    uv_run(e->loop, UV_RUN_DEFAULT);
    uv_loop_close(e->loop);
    engine_unref(e);
    e = NULL;
  }
  return e;
}

/* A child of fork() has no loop threads: forget the parent's engine (its
 * memory is the parent's to free) and start afresh on demand. */
static engine *g_parents_engine;   /* kept reachable, never used */

static void after_fork_child(void) {
  atomic_fetch_add(&g_fork_gen, 1);
  t_engine = NULL;
  g_parents_engine = g_engine;
  g_engine = NULL;
  /* Parked handles hold the parent's connections: never reuse them. */
  g_nparked = 0;
  pthread_mutex_init(&g_lock, NULL);
}

static void global_init(void) {
  g_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  pthread_atfork(NULL, NULL, after_fork_child);
}

static int curl_ready(void) {
  pthread_once(&g_once, global_init);
  return g_curl_ok;
}

/* The engine for a request of this thread, with a reference for the
 * request: the pipeline's whose worker this thread is, else the
 * process-wide one, started on first use. */
static engine *engine_acquire(void) {
  engine *e = t_engine;
  if (e) {
    atomic_fetch_add(&e->refs, 1);
    return e;
  }
  pthread_mutex_lock(&g_lock);
  if (!g_engine) g_engine = engine_start_thread();
  e = g_engine;
  if (e) atomic_fetch_add(&e->refs, 1);
  pthread_mutex_unlock(&g_lock);
  return e;
}

static void stop_process_engine(void) {
  pthread_mutex_lock(&g_lock);
  engine *e = g_engine;
  g_engine = NULL;
  pthread_mutex_unlock(&g_lock);
  if (!e) return;
  pthread_mutex_lock(&e->lock);
  e->stop_asked = 1;
  uv_async_send(&e->wake);
  pthread_mutex_unlock(&e->lock);
  uv_thread_join(&e->thread);
  uv_loop_close(e->loop);
  engine_unref(e);
}

void weir__net_shutdown(void) {
  stop_process_engine();
  for (CURLM *m; (m = unpark());) curl_multi_cleanup(m);
}

/* ---- The scheduler's side (exec/net_backend.h) ------------------------ */

static void *backend_attach(uv_loop_t *loop) {
  engine *e = engine_new(loop);
  if (e) e->on_pipeline = 1;
  return e;
}

static void backend_set_current(void *e) { t_engine = e; }

static void backend_stop(void *e) {
  if (e) engine_stop(e);
}

static void backend_release(void *e) { engine_unref(e); }

static const weir__net_backend backend = {
  backend_attach, backend_set_current, backend_stop, backend_release
};

const weir__net_backend *weir__net_backend_get(void) { return &backend; }

/* ---- Submitting -------------------------------------------------------- */

int weir__net_submit(weir__net_req *rq) {
  engine *e = curl_ready() ? engine_acquire() : NULL;
  if (!e) {
    snprintf(rq->errmsg, sizeof rq->errmsg,
             "%s %s: cannot start the network engine",
             method_name(rq->method), rq->shown ? rq->shown : "");
    return rq->rc = WEIR_EIO;
  }
  rq->engine = e;          /* the request now holds e's reference */
  atomic_fetch_add(&rq->refs, 1);
  int rc = post(e, CMD_SUBMIT, rq);
  if (rc != WEIR_OK) {
    atomic_fetch_sub(&rq->refs, 1);
    rq->engine = NULL;
    engine_unref(e);
    snprintf(rq->errmsg, sizeof rq->errmsg, "%s %s: %s",
             method_name(rq->method), rq->shown ? rq->shown : "",
             rc == WEIR_ENOMEM ? "out of memory"
                               : "cancelled: the network engine has stopped");
    rq->rc = rc;
  }
  return rc;
}

/* Unpause and cancel go to the engine the request was submitted to; once
 * that engine has stopped the request has ended, and there is nothing to
 * do. */
static void post_ref(int op, weir__net_req *rq) {
  engine *e = rq->engine;
  if (!e) return;          /* never submitted */
  atomic_fetch_add(&rq->refs, 1);
  if (post(e, op, rq) != WEIR_OK) atomic_fetch_sub(&rq->refs, 1);
}

void weir__net_unpause(weir__net_req *rq) { post_ref(CMD_UNPAUSE, rq); }
void weir__net_cancel(weir__net_req *rq) { post_ref(CMD_CANCEL, rq); }

int weir__net_perform(weir__net_req *rq) {
  waiter w;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  w.done = 0;
  rq->waiter = &w;
  int rc = weir__net_submit(rq);
  if (rc == WEIR_OK) {
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    rc = rq->rc;
  }
  rq->waiter = NULL;
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  return rc;
}

void weir__net_copy_err(const weir__net_req *rq, char *err, size_t errlen) {
  if (err && errlen) snprintf(err, errlen, "%s", rq->errmsg);
}
