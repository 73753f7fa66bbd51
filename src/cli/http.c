/* A small HTTP/1.1 server for the dashboard: every connection is a libuv
 * stream on the same loop; a request is read whole (8 KiB at most), one
 * response is written, and the connection closes. /api/stats and
 * /metrics are served from snapshots made by http_refresh, which the
 * command calls once per control tick of the pipeline (and at the end of
 * the run), and only when a client asked since the last one: a request
 * never takes the pipeline's lock, however many clients poll, and
 * responses share the snapshot's bytes rather than copy them. Stopping
 * is graceful: the connections already accepted (and those waiting in the
 * listen backlog) get their answer before they close. */
#include "cli/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192
/* How long a stopping server waits for requests that are still arriving. */
#define STOP_GRACE_MS 2000
/* Connections held at once; more are accepted and closed at once, so that
 * clients that never finish a request cannot pile up without bound. */
#define MAX_CONNS 512

struct http_server {
  uv_tcp_t   tcp;
  uv_loop_t *loop;
  monitor   *m;
  int        port;
  int        closing;
  unsigned   live;            /* open connections */
  unsigned long long requests;
  struct conn *conns;         /* every open connection, to close on stop */
  struct snap *json, *metrics;/* the latest snapshots, or NULL */
  int        wanted;          /* a request since the last refresh */
  uv_timer_t grace;           /* a stopping server's deadline */
  int        grace_live;      /* `grace` is initialised and not closed */
};

/* A snapshot's text, shared by the responses that send it (all on the
 * loop's thread, so a plain count). */
typedef struct snap {
  int    refs;
  size_t len;
  char  *text;
} snap;

static snap *snap_new(char *text) {
  if (!text) return NULL;
  snap *x = malloc(sizeof *x);
  if (!x) {
    free(text);
    return NULL;
  }
  x->refs = 1;
  x->len = strlen(text);
  x->text = text;
  return x;
}

static void snap_unref(snap *x) {
  if (x && --x->refs == 0) {
    free(x->text);
    free(x);
  }
}

typedef struct conn {
  uv_tcp_t     tcp;
  http_server *h;
  char         req[REQ_MAX];
  size_t       len;
  int          done;          /* a response is on its way */
  struct conn *next, *prev;
} conn;

typedef struct wreq {
  uv_write_t w;
  conn      *c;
  char      *head;
  snap      *body;            /* a shared snapshot, or NULL */
} wreq;

static void maybe_free_server(http_server *h) {
  if (h->closing && h->live == 0 && h->tcp.data == NULL && !h->grace_live) {
    snap_unref(h->json);
    snap_unref(h->metrics);
    free(h);
  }
}

static void on_grace_closed(uv_handle_t *hd) {
  http_server *h = hd->data;
  h->grace_live = 0;
  maybe_free_server(h);
}

/* The last connection of a stopping server is gone: the grace timer goes. */
static void grace_done(http_server *h) {
  if (h->closing && h->live == 0 && h->grace_live && !uv_is_closing((uv_handle_t *)&h->grace))
    uv_close((uv_handle_t *)&h->grace, on_grace_closed);
}

static void on_conn_closed(uv_handle_t *hd) {
  conn *c = hd->data;
  http_server *h = c->h;
  if (c->prev) c->prev->next = c->next;
  else h->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  h->live--;
  free(c);
  grace_done(h);
  maybe_free_server(h);
}

static void conn_close(conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  wreq *r = (wreq *)w;
  conn *c = r->c;
  free(r->head);
  snap_unref(r->body);
  free(r);
  conn_close(c);
}

/* Writes the response; `shared` (may be NULL) is the snapshot `body` lies
 * in, referenced until the write ends. */
static void respond(conn *c, int code, const char *reason, const char *type, const char *body,
                    size_t blen, snap *shared, int head_only) {
  wreq *r = calloc(1, sizeof *r);
  char *hdr = malloc(512);
  if (!r || !hdr) {
    free(r);
    free(hdr);
    conn_close(c);
    return;
  }
  if (shared) shared->refs++;
  int hl = snprintf(hdr, 512,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                    "Content-Security-Policy: default-src 'self'; script-src 'unsafe-inline'; "
                    "style-src 'unsafe-inline'; connect-src 'self'\r\n"
                    "Connection: close\r\n\r\n",
                    code, reason, type, blen);
  r->c = c;
  r->head = hdr;
  r->body = shared;
  uv_buf_t bufs[2] = {uv_buf_init(hdr, (unsigned)hl), uv_buf_init((char *)body, (unsigned)blen)};
  c->done = 1;
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, bufs, head_only || !blen ? 1 : 2, on_written) != 0) {
    free(hdr);
    snap_unref(shared);
    free(r);
    conn_close(c);
  }
}

static void text_reply(conn *c, int code, const char *reason, const char *msg) {
  respond(c, code, reason, "text/plain; charset=utf-8", msg, strlen(msg), NULL, 0);
}

void http_refresh(http_server *h, int force) {
  if (!h || (!h->wanted && !force)) return;
  h->wanted = 0;
  snap *j = snap_new(monitor_stats_json(h->m));
  snap *m = snap_new(monitor_metrics(h->m));
  /* On failure the previous snapshot stays: a little old beats none. */
  if (j) {
    snap_unref(h->json);
    h->json = j;
  }
  if (m) {
    snap_unref(h->metrics);
    h->metrics = m;
  }
}

/* The latest snapshot; the first request of a run makes one itself. */
static snap *current(http_server *h, int metrics) {
  h->wanted = 1;
  if (!(metrics ? h->metrics : h->json)) http_refresh(h, 1);
  return metrics ? h->metrics : h->json;
}

static void handle(conn *c) {
  http_server *h = c->h;
  h->requests++;
  char *end = strstr(c->req, "\r\n");
  if (!end) {
    text_reply(c, 400, "Bad Request", "bad request\n");
    return;
  }
  *end = '\0';
  char method[8], path[1024], version[16];
  if (sscanf(c->req, "%7s %1023s %15s", method, path, version) != 3 ||
      strncmp(version, "HTTP/1.", 7) != 0) {
    text_reply(c, 400, "Bad Request", "bad request\n");
    return;
  }
  int head = strcmp(method, "HEAD") == 0;
  if (!head && strcmp(method, "GET") != 0) {
    text_reply(c, 405, "Method Not Allowed", "the dashboard is read-only: GET and HEAD only\n");
    return;
  }
  char *q = strchr(path, '?');
  if (q) *q = '\0';
  if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
    respond(c, 200, "OK", "text/html; charset=utf-8", cli_dashboard_html, cli_dashboard_html_len,
            NULL, head);
  } else if (strcmp(path, "/api/stats") == 0 || strcmp(path, "/metrics") == 0) {
    int metrics = path[1] == 'm';
    snap *x = current(h, metrics);
    if (!x) {
      text_reply(c, 503, "Service Unavailable", "out of memory\n");
      return;
    }
    respond(c, 200, "OK", metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
            x->text, x->len, x, head);
  } else if (strcmp(path, "/api/history") == 0) {
    /* Asked once per page load: not worth a snapshot. */
    snap *x = snap_new(monitor_history_json(h->m));
    if (!x) {
      text_reply(c, 503, "Service Unavailable", "out of memory\n");
      return;
    }
    respond(c, 200, "OK", "application/json", x->text, x->len, x, head);
    snap_unref(x);
  } else {
    text_reply(c, 404, "Not Found", "not found: the routes are /, /api/stats, /api/history and /metrics\n");
  }
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn *c = hd->data;
  size_t room = REQ_MAX - 1 - c->len;
  *buf = uv_buf_init(c->req + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  conn *c = s->data;
  if (c->done) return;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->len += (size_t)n;
  c->req[c->len] = '\0';
  if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
    uv_read_stop(s);
    handle(c);
  } else if (c->len >= REQ_MAX - 1) {
    uv_read_stop(s);
    text_reply(c, 431, "Request Header Fields Too Large", "request too large\n");
  }
}

static conn *conn_new(http_server *h) {
  conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->h = h;
  uv_tcp_init(h->loop, &c->tcp);
  c->tcp.data = c;
  c->next = h->conns;
  if (h->conns) h->conns->prev = c;
  h->conns = c;
  h->live++;
  return c;
}

static void on_connection(uv_stream_t *server, int status) {
  http_server *h = server->data;
  if (status < 0 || h->closing) return;
  conn *c = conn_new(h);
  if (!c) return;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || h->live > MAX_CONNS ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    conn_close(c);
}

/* Accepts what waits in the listen backlog, so that closing the listener
 * does not reset connections the kernel already completed. */
static void drain_backlog(http_server *h) {
  uv_os_fd_t lfd;
  if (uv_fileno((uv_handle_t *)&h->tcp, &lfd) != 0) return;
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: empty */
    }
    conn *c = conn_new(h);
    if (!c) {
      close(fd);
      continue;
    }
    if (uv_tcp_open(&c->tcp, fd) != 0) {
      close(fd);
      conn_close(c);
    } else if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
    }
  }
}

static void on_grace_end(uv_timer_t *t) {
  http_server *h = t->data;
  for (conn *c = h->conns; c; c = c->next) conn_close(c);
  grace_done(h);
}

static void on_failed_closed(uv_handle_t *hd) { free(hd->data); }

http_server *http_start(uv_loop_t *loop, const char *addr, monitor *m, char *err, size_t errlen) {
  char host[256] = "127.0.0.1";
  int port = -1;
  const char *colon = strrchr(addr, ':');
  char *endp;
  if (!colon) {
    port = (int)strtol(addr, &endp, 10);
    if (endp == addr || *endp) port = -1;
  } else {
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) hl = sizeof host - 1;
    if (hl) {
      memcpy(host, addr, hl);
      host[hl] = '\0';
    }
    if (host[0] == '[') { /* [::1]:8080 */
      size_t l = strlen(host);
      if (l >= 2 && host[l - 1] == ']') {
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
      }
    }
    port = (int)strtol(colon + 1, &endp, 10);
    if (endp == colon + 1 || *endp) port = -1;
  }
  if (port < 0 || port > 65535) {
    snprintf(err, errlen, "--dashboard %s: expected ADDR:PORT (a port 0-65535)", addr);
    return NULL;
  }
  struct sockaddr_storage sa;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
    snprintf(err, errlen, "--dashboard %s: '%s' is not an IP address", addr, host);
    return NULL;
  }
  http_server *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->loop = loop;
  h->m = m;
  uv_tcp_init(loop, &h->tcp);
  h->tcp.data = h;
  int rc = uv_tcp_bind(&h->tcp, (const struct sockaddr *)&sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&h->tcp, 128, on_connection);
  if (rc != 0) {
    snprintf(err, errlen, "--dashboard %s: cannot listen: %s", addr, uv_strerror(rc));
    /* The handle lives in h: h is freed by the close callback, when the
     * caller next runs the loop. */
    uv_close((uv_handle_t *)&h->tcp, on_failed_closed);
    return NULL;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&h->tcp, (struct sockaddr *)&bound, &blen);
  h->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  return h;
}

int http_port(const http_server *h) { return h->port; }
unsigned long long http_requests(const http_server *h) { return h->requests; }

static void on_server_closed(uv_handle_t *hd) {
  http_server *h = hd->data;
  h->tcp.data = NULL;
  maybe_free_server(h);
}

void http_stop(http_server *h) {
  if (!h) return;
  drain_backlog(h);
  h->closing = 1;
  uv_close((uv_handle_t *)&h->tcp, on_server_closed);
  /* Connections with an answer on its way close when it is written; those
   * still sending their request get until the grace timer ends. */
  if (h->live && uv_timer_init(h->loop, &h->grace) == 0) {
    h->grace_live = 1;
    h->grace.data = h;
    uv_timer_start(&h->grace, on_grace_end, STOP_GRACE_MS, 0);
  } else {
    for (conn *c = h->conns; c; c = c->next)
      if (!c->done) conn_close(c);
  }
}
