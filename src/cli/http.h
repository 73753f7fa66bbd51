/* The dashboard's HTTP server: read-only (GET and HEAD), on a libuv loop,
 * one loop for all connections, bound to 127.0.0.1 unless told otherwise. */
#ifndef WEIR_CLI_HTTP_H
#define WEIR_CLI_HTTP_H

#include <uv.h>

#include "cli/monitor.h"

typedef struct http_server http_server;

/* Listens on `addr` ("PORT", "HOST:PORT" or "[V6]:PORT"; HOST defaults to
 * 127.0.0.1; port 0 picks a free one). On failure returns NULL and writes
 * why to err. */
http_server *http_start(uv_loop_t *loop, const char *addr, monitor *m, char *err, size_t errlen);
/* The port it listens on. */
int  http_port(const http_server *h);
/* Stops listening, closes every connection and frees the server once the
 * loop has run the closes. */
void http_stop(http_server *h);
/* Requests served so far. */
unsigned long long http_requests(const http_server *h);

/* The page (dashboard_page.c, generated from dashboard.html). */
extern const char cli_dashboard_html[];
extern const unsigned long cli_dashboard_html_len;

#endif
