/* The seam between the scheduler and the network engine of the I/O
 * component: a running pipeline drives the HTTP and S3 transfers of its
 * workers from its own libuv loop through this table, without the executor
 * including a curl header. src/io/net/engine.c implements
 * weir__net_backend_get(); builds without libcurl link the one in
 * src/io/net/absent/, whose attach gives NULL. */
#ifndef WEIR_EXEC_NET_BACKEND_H
#define WEIR_EXEC_NET_BACKEND_H

#include <uv.h>

typedef struct weir__net_backend {
  /* A network engine driven by `loop`, set up on the thread that will run
   * the loop before it runs (or before the thread that runs it starts).
   * NULL when there is none: network calls then go to the process-wide
   * engine on its own thread. The engine's handles keep the loop alive
   * until `stop`. */
  void *(*attach)(uv_loop_t *loop);
  /* Sends the network requests of the calling thread to `engine` (NULL:
   * back to the process-wide engine). Never on the loop's own thread: a
   * blocking request there would wait on the loop it blocks. */
  void (*set_current)(void *engine);
  /* On the loop's thread: ends the requests still open with
   * WEIR_ECANCELED, refuses new ones, and closes the engine's handles,
   * whose close callbacks the loop then runs. Calling it again does
   * nothing. Accepts NULL. */
  void (*stop)(void *engine);
  /* Once the loop has run after `stop`: drops the loop's hold on the
   * engine, which is freed when no request refers to it. Accepts NULL. */
  void (*release)(void *engine);
} weir__net_backend;

const weir__net_backend *weir__net_backend_get(void);

/* The executor's side (exec/net_stats.c). The operator whose worker the
 * calling thread is, or NULL: a request keeps it to report its retries. */
void *weir__net_current_op(void);
/* Counts one retry of a request in `op`'s statistics (retries) and logs
 * it at WEIR_LOG_INFO with `what` (the method, the redacted URL, the
 * attempt and the reason). Any thread; `op` NULL does nothing. */
void weir__net_count_retry(void *op, const char *what);

#endif /* WEIR_EXEC_NET_BACKEND_H */
