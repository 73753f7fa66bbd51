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
/* Stops listening (after accepting what waits in the backlog), answers
 * the requests of the connections it has (waiting at most 2 s for those
 * still arriving), closes them, and frees the server once the loop has
 * run the closes. */
void http_stop(http_server *h);
/* Takes new snapshots of /api/stats and /metrics if a client asked for
 * one since the last refresh, or always with `force`. The command calls it
 * once per control tick of the pipeline (weir_pipeline_set_tick_fn) and at
 * the end of the run; requests in between get the latest snapshot. */
void http_refresh(http_server *h, int force);
/* Requests served so far. */
unsigned long long http_requests(const http_server *h);

/* The page (dashboard_page.c, generated from dashboard.html). */
extern const char cli_dashboard_html[];
extern const unsigned long cli_dashboard_html_len;

#endif
