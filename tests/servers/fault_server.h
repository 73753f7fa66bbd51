/* A small HTTP/1.1 server for the network tests that misbehaves on purpose:
 * it resets connections in the middle of a body, answers 500 or 429, or
 * always fails, while serving one object (with Range support) from memory.
 * One thread accepts; each connection gets its own thread and one answer. */
#ifndef WEIR_TESTS_FAULT_SERVER_H
#define WEIR_TESTS_FAULT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  FAULT_RANDOM = 0,    /* resets, 500 and 429 at the rates below */
  FAULT_ALWAYS_500,
  FAULT_ALWAYS_RESET,  /* headers, then a reset before any body byte */
  FAULT_ALWAYS_403,
  FAULT_IGNORE_RANGE,  /* always 200 with the whole object */
  FAULT_STALL_ONCE,    /* first answer: part of the body, then silence
                          until the server stops; later answers whole */
  FAULT_RESET_ONCE,    /* first answer reset mid-body, later ones whole */
  FAULT_429_ONCE,      /* first answer 429 with Retry-After: 1 */
  FAULT_STALL_ALWAYS,  /* every answer with a body: part of it, then
                          silence until the server stops */
  FAULT_CUT_EVERY,     /* every answer honours Range and is reset after
                          cut_at bytes: each attempt makes progress */
  FAULT_ALWAYS_501,    /* every request: 501 Not Implemented */
  FAULT_GET_500_FIRST, /* the first get_500 GETs answer 500, the rest
                          (and every HEAD) whole */
  FAULT_NO_ANSWER,     /* reads the request, never answers */
  FAULT_TRICKLE        /* HEAD whole; a GET's headers, then one byte of
                          the body every 50 ms */
};

typedef struct fault_server {
  int lfd, port;
  char url[64];                 /* "http://127.0.0.1:<port>" */
  const unsigned char *data;    /* the object served at every path */
  size_t size;
  int mode;
  double p_reset, p_500, p_429; /* FAULT_RANDOM rates */
  const char *etag;             /* sent as ETag and checked against
                                   If-Match (412 when it differs) */
  long range_shift;             /* a Range answer starts this many bytes
                                   off what was asked (and says so in its
                                   Content-Range) */
  size_t cut_at;                /* FAULT_IGNORE_RANGE: when set, every
                                   answer is reset after this many bytes */
  const char *etag_later;       /* the ETag from the second request on:
                                   the object "changed" */
  int get_500;                  /* FAULT_GET_500_FIRST: GETs that fail */
  atomic_int gets;
  pthread_t acceptor;
  pthread_mutex_t mu;
  uint64_t rng;
  atomic_int stopping, live;
  atomic_int requests, resets, s500, s429, ok;
  atomic_int inflight, peak;    /* answers being sent now, and the most
                                   at once */
} fault_server;

typedef struct fault_conn {
  fault_server *s;
  int fd;
} fault_conn;

static inline double fault_rand(fault_server *s) {
  pthread_mutex_lock(&s->mu);
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  double r = (double)(s->rng >> 11) / 9007199254740992.0;
  pthread_mutex_unlock(&s->mu);
  return r;
}

static inline int fault_send(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static inline void fault_reset(int fd) {
  struct linger l = { 1, 0 };      /* close with RST, not FIN */
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

static inline void fault_simple(int fd, const char *status, const char *body,
                                const char *extra) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s"
                   "Connection: close\r\n\r\n", status, strlen(body), extra);
  fault_send(fd, head, (size_t)n);
  fault_send(fd, body, strlen(body));
}

static inline void *fault_handle(void *arg) {
  fault_conn *c = arg;
  fault_server *s = c->s;
  int fd = c->fd;
  free(c);
  char req[8192];
  size_t len = 0;
  while (len < sizeof req - 1) {
    ssize_t k = recv(fd, req + len, sizeof req - 1 - len, 0);
    if (k <= 0) break;
    len += (size_t)k;
    req[len] = 0;
    if (strstr(req, "\r\n\r\n")) break;
  }
  req[len] = 0;
  if (!strstr(req, "\r\n\r\n")) {
    close(fd);
    atomic_fetch_sub(&s->live, 1);
    return NULL;
  }
  int nth = atomic_fetch_add(&s->requests, 1);
  int now_in = atomic_fetch_add(&s->inflight, 1) + 1;
  for (int p = atomic_load(&s->peak);
       now_in > p && !atomic_compare_exchange_weak(&s->peak, &p, now_in);)
    ;
  const char *etag = nth > 0 && s->etag_later ? s->etag_later : s->etag;
  int head_only = strncmp(req, "HEAD ", 5) == 0;
  uint64_t a = 0, b = s->size ? s->size - 1 : 0;
  int ranged = 0;
  for (char *line = strstr(req, "\r\n"); line && line[2];
       line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "Range: bytes=", 13) == 0) {
      char *p = line + 15, *end;
      a = strtoull(p, &end, 10);
      if (*end == '-' && end[1] >= '0' && end[1] <= '9')
        b = strtoull(end + 1, NULL, 10);
      ranged = 1;
    }
    if (etag && strncasecmp(line + 2, "If-Match: ", 10) == 0 &&
        (strncmp(line + 12, "\"", 1) != 0 ||
         strncmp(line + 13, etag, strlen(etag)) != 0 ||
         line[13 + strlen(etag)] != '"')) {
      fault_simple(fd, "412 Precondition Failed", "", "");
      close(fd);
      atomic_fetch_sub(&s->inflight, 1);
      atomic_fetch_sub(&s->live, 1);
      return NULL;
    }
  }
  char etag_hdr[160] = "";
  if (etag) snprintf(etag_hdr, sizeof etag_hdr, "ETag: \"%s\"\r\n", etag);
  int mode = s->mode;
  double r = mode == FAULT_RANDOM ? fault_rand(s) : 1.0;
  if (mode == FAULT_429_ONCE && nth == 0) {
    atomic_fetch_add(&s->s429, 1);
    fault_simple(fd, "429 Too Many Requests", "slow down",
                 "Retry-After: 1\r\n");
    close(fd);
  } else if (mode == FAULT_ALWAYS_500 || (mode == FAULT_RANDOM && r < s->p_500)) {
    atomic_fetch_add(&s->s500, 1);
    fault_simple(fd, "500 Internal Server Error", "try again", "");
    close(fd);
  } else if (mode == FAULT_RANDOM && r < s->p_500 + s->p_429) {
    atomic_fetch_add(&s->s429, 1);
    fault_simple(fd, "429 Too Many Requests", "slow down", "");
    close(fd);
  } else if (mode == FAULT_GET_500_FIRST && !head_only &&
             atomic_fetch_add(&s->gets, 1) < s->get_500) {
    atomic_fetch_add(&s->s500, 1);
    fault_simple(fd, "500 Internal Server Error", "try again", "");
    close(fd);
  } else if (mode == FAULT_NO_ANSWER) {
    while (!atomic_load(&s->stopping)) {
      struct timespec ts = { 0, 20 * 1000 * 1000 };
      nanosleep(&ts, NULL);
    }
    close(fd);
  } else if (mode == FAULT_TRICKLE && !head_only) {
    char head[256];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n", s->size);
    int ok = fault_send(fd, head, (size_t)hl) == 0;
    for (size_t i = 0; ok && i < s->size && !atomic_load(&s->stopping); i++) {
      ok = fault_send(fd, s->data + i, 1) == 0;
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep(&ts, NULL);
    }
    close(fd);
  } else if (mode == FAULT_ALWAYS_501) {
    /* Read what a PUT sends first, so the client sees the answer and not
     * a reset of a connection with unread bytes. */
    const char *cl = strcasestr(req, "\r\nContent-Length: ");
    const char *body = strstr(req, "\r\n\r\n") + 4;
    if (cl) {
      size_t want = (size_t)strtoull(cl + 18, NULL, 10);
      size_t have = len - (size_t)(body - req);
      char sink[4096];
      while (have < want) {
        ssize_t k = recv(fd, sink, sizeof sink, 0);
        if (k <= 0) break;
        have += (size_t)k;
      }
    }
    fault_simple(fd, "501 Not Implemented", "no such method", "");
    close(fd);
  } else if (mode == FAULT_ALWAYS_403) {
    fault_simple(fd, "403 Forbidden",
                 "<Error><Code>AccessDenied</Code><Message>Access "
                 "Denied</Message></Error>", "Content-Type: application/xml\r\n");
    close(fd);
  } else {
    if (mode == FAULT_IGNORE_RANGE) ranged = 0;
    if (ranged && s->range_shift) a = (uint64_t)((long)a + s->range_shift);
    if (!ranged) {
      a = 0;
      b = s->size ? s->size - 1 : 0;
    }
    if (ranged && (a >= s->size || b < a)) {
      fault_simple(fd, "416 Range Not Satisfiable", "", "");
      close(fd);
      atomic_fetch_sub(&s->inflight, 1);
      atomic_fetch_sub(&s->live, 1);
      return NULL;
    }
    if (b >= s->size) b = s->size - 1;
    size_t n = s->size ? (size_t)(b - a + 1) : 0;
    char head[512];
    int hl;
    if (ranged)
      hl = snprintf(head, sizeof head,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\n"
                    "Content-Range: bytes %llu-%llu/%zu\r\n%s"
                    "Connection: close\r\n\r\n", n, (unsigned long long)a,
                    (unsigned long long)b, s->size, etag_hdr);
    else
      hl = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                    "Accept-Ranges: bytes\r\n%sConnection: close\r\n\r\n",
                    n, etag_hdr);
    int stall = mode == FAULT_STALL_ALWAYS ||
                (nth == 0 && mode == FAULT_STALL_ONCE);
    int once = stall || (nth == 0 && mode == FAULT_RESET_ONCE) ||
               (mode == FAULT_IGNORE_RANGE && s->cut_at && s->cut_at < n) ||
               (mode == FAULT_CUT_EVERY && s->cut_at && s->cut_at < n);
    int reset = !head_only && n > 1 &&
                (mode == FAULT_ALWAYS_RESET || once ||
                 (mode == FAULT_RANDOM &&
                  r < s->p_500 + s->p_429 + s->p_reset));
    fault_send(fd, head, (size_t)hl);
    if (head_only) {
      close(fd);
    } else if (reset) {
      /* Cut somewhere inside the body, after at least one byte when the
       * body is long enough that progress is possible. */
      size_t cut = mode == FAULT_ALWAYS_RESET ? 0
                   : mode == FAULT_IGNORE_RANGE || mode == FAULT_CUT_EVERY ? s->cut_at
                   : 1 + (size_t)(fault_rand(s) * (double)(n - 1));
      fault_send(fd, s->data + a, cut);
      if (once) {
        /* Let the client read what was sent: a reset throws away what
         * still sits unread in its socket buffer. */
        struct timespec ts = { 0, 150 * 1000 * 1000 };
        nanosleep(&ts, NULL);
      }
      while (stall && !atomic_load(&s->stopping)) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
      }
      atomic_fetch_add(&s->resets, 1);
      fault_reset(fd);
    } else {
      if (fault_send(fd, s->data + a, n) == 0) atomic_fetch_add(&s->ok, 1);
      close(fd);
    }
  }
  atomic_fetch_sub(&s->inflight, 1);
  atomic_fetch_sub(&s->live, 1);
  return NULL;
}

static inline void *fault_accept(void *arg) {
  fault_server *s = arg;
  while (!atomic_load(&s->stopping)) {
    struct pollfd p = { s->lfd, POLLIN, 0 };
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) continue;
    fault_conn *c = malloc(sizeof *c);
    c->s = s;
    c->fd = fd;
    atomic_fetch_add(&s->live, 1);
    pthread_t t;
    if (pthread_create(&t, NULL, fault_handle, c) == 0) {
      pthread_detach(t);
    } else {
      close(fd);
      free(c);
      atomic_fetch_sub(&s->live, 1);
    }
  }
  return NULL;
}

/* Starts serving `data` (borrowed) at every path; 0 on success. */
static inline int fault_start(fault_server *s, const unsigned char *data,
                              size_t size, int mode, uint64_t seed) {
  memset(s, 0, sizeof *s);
  setenv("no_proxy", "127.0.0.1,localhost", 1);   /* it is local */
  setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  s->data = data;
  s->size = size;
  s->mode = mode;
  s->p_reset = 0.3;
  s->p_500 = 0.15;
  s->p_429 = 0.1;
  s->rng = seed * 0x9E3779B97F4A7C15ull + 7;
  pthread_mutex_init(&s->mu, NULL);
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(s->lfd, 128) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&a, &len) != 0) {
    close(s->lfd);
    return -1;
  }
  s->port = ntohs(a.sin_port);
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  return pthread_create(&s->acceptor, NULL, fault_accept, s) == 0 ? 0 : -1;
}

static inline void fault_stop(fault_server *s) {
  atomic_store(&s->stopping, 1);
  pthread_join(s->acceptor, NULL);
  for (int i = 0; i < 500 && atomic_load(&s->live) > 0; i++) {
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  close(s->lfd);
  pthread_mutex_destroy(&s->mu);
}

#endif /* WEIR_TESTS_FAULT_SERVER_H */
