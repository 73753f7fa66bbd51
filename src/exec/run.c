/* The scheduler: starting a run (active operators, depths, order, queue
 * bounds, pools), the libuv loop that ends it (async wake-ups from workers
 * and cancel, a timer for stall detection, progress and pool control, and
 * the network transfers of the workers), and weir_pipeline_run /
 * weir_pipeline_cancel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/dist_internal.h"
#include "weir/dist.h"
#include "exec/exec_internal.h"
#include "exec/net_backend.h"
#include "weir/error.h"

#define TICK_MS 50

static void mark_active(weir_op *op) {
  if (op->active)
    return;
  op->active = 1;
  for (size_t i = 0; i < op->nins; i++)
    mark_active(op->ins[i]);
}

/* Every active op in creation order, then the hidden ones: a topological
 * order, since an op's inputs exist before it. */
static size_t all_ops(weir_pipeline *p, weir_op **v) {
  size_t n = 0;
  for (size_t i = 0; i < p->nops; i++)
    v[n++] = p->ops[i];
  if (p->collect)
    v[n++] = p->collect;
  if (p->itersink)
    v[n++] = p->itersink;
  return n;
}

static void on_close(uv_handle_t *h) { (void)h; }

static void check_end(weir_pipeline *p) {
  pthread_mutex_lock(&p->mu);
  int failing = atomic_load(&p->ending);
  int end = (p->done || failing) && p->live_workers == 0 && !p->closing;
  if (end)
    p->closing = 1;
  pthread_mutex_unlock(&p->mu);
  /* A failed or cancelled run stops its network engine at once: transfers
   * in flight end with WEIR_ECANCELED, so a worker blocked on a silent
   * server sees the end now. A run that completes stops it once no worker
   * is left to use it. Either way it is stopped before the loop's last
   * handles close, so the loop can end. */
  if (failing || end)
    weir__net_backend_get()->stop(p->net);
  if (end) {
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_close);
    uv_close((uv_handle_t *)&p->async, on_close);
  }
}

int weir__output_complete(const weir_pipeline *p) {
  const weir_op *o = p->itersink ? p->itersink : p->out;
  return p->done || (o && o->active && o->finished);
}

static void handle_cancel(weir_pipeline *p) {
  if (!atomic_load(&p->cancel_req))
    return;
  pthread_mutex_lock(&p->mu);
  /* Once the output has everything (a limit was reached, say), upstream
   * work still stopping is not a cancelled run: whatever the timing, the
   * run succeeded. */
  if (!p->done && !weir__output_complete(p) &&
      weir__run_fail(p, WEIR_ECANCELED, "the pipeline was cancelled"))
    weir__log(p, WEIR_LOG_INFO, "cancelled");
  pthread_mutex_unlock(&p->mu);
}

static void on_async(uv_async_t *h) {
  weir_pipeline *p = h->data;
  handle_cancel(p);
  check_end(p);
}

static void on_timer(uv_timer_t *h) {
  weir_pipeline *p = h->data;
  handle_cancel(p);
  weir__stall_tick(p);
  weir__control_tick(p);
  weir__progress_tick(p, 0);
  /* Read under the lock (the owner may set it once the run is done),
   * called without it. */
  pthread_mutex_lock(&p->mu);
  weir_tick_fn tick = p->tick_fn;
  void *tick_user = p->tick_user;
  pthread_mutex_unlock(&p->mu);
  if (tick)
    tick(tick_user);
  check_end(p);
}

int weir_pipeline_set_tick_fn(weir_pipeline *p, weir_tick_fn fn, void *user) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_set_tick_fn: NULL pipeline");
  pthread_mutex_lock(&p->mu);
  int busy = p->started && !p->done;
  if (!busy) {
    p->tick_fn = fn;
    p->tick_user = user;
  }
  pthread_mutex_unlock(&p->mu);
  if (busy)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_set_tick_fn: the pipeline is running");
  return WEIR_OK;
}

/* The scheduler's loop with its wake-up handle and its tick. On failure
 * nothing is left open and the pipeline's error says which call failed. */
static int loop_open(weir_pipeline *p) {
  const char *what = "uv_loop_init";
  int e = uv_loop_init(&p->loop);
  if (e == 0) {
    what = "uv_async_init";
    e = uv_async_init(&p->loop, &p->async, on_async);
    if (e == 0) {
      p->async.data = p;
      what = "uv_timer_init";
      e = uv_timer_init(&p->loop, &p->timer);
      if (e == 0) {
        p->timer.data = p;
        what = "uv_timer_start";
        e = uv_timer_start(&p->timer, on_timer, TICK_MS, TICK_MS);
        if (e != 0)
          uv_close((uv_handle_t *)&p->timer, on_close);
      }
      if (e != 0)
        uv_close((uv_handle_t *)&p->async, on_close);
    }
    if (e != 0) {
      uv_run(&p->loop, UV_RUN_DEFAULT); /* runs the close callbacks */
      uv_loop_close(&p->loop);
    }
  }
  if (e == 0)
    return WEIR_OK;
  int err = e == UV_ENOMEM ? WEIR_ENOMEM : WEIR_EIO;
  weir__op_fail(p, err, "cannot start the scheduler's event loop: %s: %s", what, uv_strerror(e));
  return err;
}

int weir__run_start(weir_pipeline *p, weir_op *out) {
  if (p->started)
    return weir__op_fail(p, WEIR_EINVAL, "weir_pipeline_run: the pipeline has already run "
                         "(weir_pipeline_run runs a pipeline once; a new iterator runs it "
                         "again)"), WEIR_EINVAL;
  if (out && out->p != p)
    return weir__op_fail(p, WEIR_EINVAL, "the output operator belongs to another pipeline"),
           WEIR_EINVAL;
  if (p->nops == 0)
    return weir__op_fail(p, WEIR_EINVAL, "the pipeline has no operators"), WEIR_EINVAL;
  size_t n = p->nops + 2;
  weir_op **v = calloc(n, sizeof *v);
  if (!v)
    return weir__op_fail(p, WEIR_ENOMEM, "out of memory"), WEIR_ENOMEM;
  n = all_ops(p, v);
  if (p->itersink)
    mark_active(p->itersink);
  else if (out)
    mark_active(out);
  else
    for (size_t i = 0; i < n; i++)
      v[i]->active = 1;
  p->out = out;
  p->started = 1;
  weir__error_clear(p);
  atomic_store(&p->cancel_req, 0);

  /* Depth (hops to an output) and order, from the output backwards. */
  size_t queues = 0;
  for (size_t k = n; k-- > 0;) {
    weir_op *op = v[k];
    if (!op->active)
      continue;
    int d = -1;
    for (size_t j = 0; j < op->nouts; j++)
      if (op->outs[j]->active && (d < 0 || op->outs[j]->depth + 1 < d))
        d = op->outs[j]->depth + 1;
    op->depth = d < 0 ? 0 : d;
    if (op->opts.preserve_order)
      op->ordered = 1;
    for (size_t j = 0; j < op->nouts; j++)
      if (op->outs[j]->active && op->outs[j]->ordered)
        op->ordered = 1;
    if (op->kind != WEIR__OP_SOURCE)
      queues++;
  }
  if (queues == 0)
    queues = 1;
  p->unfinished = 0;
  /* On MPI ranks, sources take their tasks from rank 0's coordinator, on
   * channels named by this run's number. */
  if (p->dist)
    p->dist_run = weir__dist_new_run();
  for (size_t k = 0; k < n; k++) {
    weir_op *op = v[k];
    if (!op->active)
      continue;
    p->unfinished++;
    op->dist_shard = p->dist && op->kind == WEIR__OP_SOURCE && !op->dist_local;
    op->q.max_blocks = op->opts.queue_max_blocks ? op->opts.queue_max_blocks
                                                : p->opts.queue_max_blocks;
    op->q.max_bytes = op->opts.queue_max_bytes ? op->opts.queue_max_bytes
                     : p->opts.queue_max_bytes ? p->opts.queue_max_bytes
                                               : p->budget / queues;
    if (op->kind == WEIR__OP_ITERSINK)
      op->q.max_bytes = (size_t)-1;
    op->producers_open = 0;
    for (size_t j = 0; j < op->nins; j++)
      if (op->ins[j]->active)
        op->producers_open++;
    int mn = op->opts.min_workers > 0 ? op->opts.min_workers : 1;
    if (op->opts.max_workers > 0 && mn > op->opts.max_workers)
      mn = op->opts.max_workers;
    op->workers_min = mn;
    op->workers_max = op->opts.max_workers;
    op->target = weir__initial_workers(p, op);
    /* One worker keeps its input order by itself (its inputs were marked
     * ordered in the pass above, which is all it needs). */
    if (op->opts.max_workers == 1 && op->kind != WEIR__OP_SOURCE)
      op->ordered = 0;
    if (op->kind == WEIR__OP_LIMIT && op->limit_rows == 0)
      op->input_stopped = 1; /* closed below, once every op is set up */
  }
  for (size_t k = 0; k < n; k++)
    if (v[k]->active && v[k]->kind == WEIR__OP_LIMIT && v[k]->limit_rows == 0) {
      v[k]->input_stopped = 0;
      weir__op_stop_input(v[k]);
    }

  /* Before any worker: a resumed writer marks the read tasks it has. */
  for (size_t k = 0; k < n; k++)
    if (v[k]->active && v[k]->run_begin) {
      char err[WEIR__ERRMSG_CAP] = "";
      int brc = v[k]->run_begin(v[k]->run_begin_arg, v[k], err, sizeof err);
      if (brc != WEIR_OK) {
        weir__op_fail(p, brc, "operator '%s': %s", v[k]->name, err);
        p->status = brc;
        free(v);
        return brc;
      }
    }

  int rrc = weir__resources_resolve(p);
  if (rrc != WEIR_OK) {
    p->status = rrc;
    free(v);
    return rrc;
  }

  int lrc = loop_open(p);
  if (lrc != WEIR_OK) {
    p->status = lrc;
    free(v);
    return lrc;
  }
  /* Before any worker starts: workers send their requests to it. */
  p->net = weir__net_backend_get()->attach(&p->loop);
  p->loop_live = 1;
  atomic_store(&p->async_live, 1);
  p->t_start = weir__now();
  p->last_progress_t = p->t_start;
  p->last_progress_line = p->t_start;
  p->stall_since = p->t_start;

  pthread_mutex_lock(&p->mu);
  int rc = WEIR_OK;
  for (size_t k = 0; k < n && rc == WEIR_OK; k++) {
    weir_op *op = v[k];
    if (!op->active || op->kind == WEIR__OP_ITERSINK)
      continue;
    for (int i = 0; i < op->target && rc == WEIR_OK; i++)
      rc = weir__pool_spawn(op);
    if (rc != WEIR_OK)
      weir__run_fail(p, rc, "operator '%s': cannot start a worker thread", op->name);
  }
  pthread_mutex_unlock(&p->mu);
  free(v);
  return WEIR_OK;
}

void weir__run_loop(weir_pipeline *p) {
  uv_run(&p->loop, UV_RUN_DEFAULT);
  /* The engine's handles are closed and their callbacks have run. */
  weir__net_backend_get()->release(p->net);
  p->net = NULL;
  atomic_store(&p->async_live, 0);
  while (atomic_load(&p->async_users) > 0)
    ; /* a cancel in another thread is inside uv_async_send: let it out */
  uv_loop_close(&p->loop);
  p->loop_live = 0;
  for (size_t i = 0; i < p->nops; i++)
    weir__pool_join(p->ops[i], 1);
  if (p->collect)
    weir__pool_join(p->collect, 1);
  pthread_mutex_lock(&p->mu);
  p->t_end = weir__now();
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->nops; i++)
    if (p->ops[i]->active && p->ops[i]->run_end)
      p->ops[i]->run_end(p->ops[i]->run_end_arg, p->ops[i]);
  weir__progress_tick(p, 1);
  /* An iterator's consumer may still be pulling prefetched batches: its
   * summary waits for weir_iter_destroy(), so the iterator's figures are
   * whole. */
  if (!p->itersink)
    weir__print_summary(p);
}

void weir__print_summary(weir_pipeline *p) {
  if (!p->opts.summary)
    return;
  char *t = NULL;
  /* On a terminal the table fits its width; a log_fn or a file gets every
   * column. */
  int cols = !p->opts.log_fn && isatty(STDERR_FILENO) ? weir__term_columns() - 1 : 0;
  if (weir__stats_table_fit(p, cols, &t) != WEIR_OK)
    return;
  if (p->dist && weir_dist_size() > 1) {
    /* On MPI ranks the tables are gathered to rank 0, which logs them all,
     * each under its rank, and one of all ranks; the other ranks log none. */
    char *payload = NULL, **all = NULL, *text = NULL;
    int rc = weir__dist_summary_payload(p, t, &payload);
    if (rc == WEIR_OK) rc = weir__dist_gather_text(p, payload, &all);
    if (rc == WEIR_OK && all) rc = weir__dist_summary_render(all, weir_dist_size(), &text);
    if (rc == WEIR_OK && text)
      weir__log_text(p, WEIR_LOG_INFO, text);
    else if (rc != WEIR_OK)
      weir__log_text(p, WEIR_LOG_INFO, t); /* a rank failed: at least this one's */
    weir__dist_free_texts(all);
    free(text);
    free(payload);
    free(t);
    return;
  }
  weir__log_text(p, WEIR_LOG_INFO, t);
  free(t);
}

static void *sched_main(void *arg) {
  weir__run_loop(arg);
  return NULL;
}

int weir__run_spawn_scheduler(weir_pipeline *p) {
  if (pthread_create(&p->sched_thread, NULL, sched_main, p) != 0) {
    /* Nothing runs the loop: stop the workers here and run it once. */
    pthread_mutex_lock(&p->mu);
    weir__run_fail(p, WEIR_ENOMEM, "cannot start the scheduler thread");
    pthread_mutex_unlock(&p->mu);
    weir__run_loop(p);
    return WEIR_ENOMEM;
  }
  p->sched_thread_started = 1;
  return WEIR_OK;
}

void weir__run_teardown(weir_pipeline *p) {
  if (p->sched_thread_started) {
    pthread_join(p->sched_thread, NULL);
    p->sched_thread_started = 0;
  }
}

int weir_pipeline_run(weir_pipeline *p, weir_op *out) {
  if (!p)
    return WEIR_EINVAL;
  /* A NULL `out` right after a constructor returned NULL is the end of a
   * broken chain (API.md: a chain of calls is checked once at the end),
   * not a request to run every operator: running the half-built graph
   * would report success. Keep the failure's code and message. */
  if (!out && p->build_failed && !p->started)
    return p->errcode != WEIR_OK ? p->errcode : WEIR_EINVAL;
  /* Only an iterator runs a pipeline again (an epoch); a run to
   * completion is once: see weir/pipeline.h. */
  int rc = weir__run_start(p, out);
  if (rc != WEIR_OK)
    return rc;
  weir__run_loop(p);
  pthread_mutex_lock(&p->mu);
  rc = p->status;
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int weir_pipeline_cancel(weir_pipeline *p) {
  if (!p)
    return WEIR_EINVAL;
  /* Only atomics and uv_async_send, which are async-signal-safe. */
  atomic_store(&p->cancel_req, 1);
  atomic_fetch_add(&p->async_users, 1);
  if (atomic_load(&p->async_live))
    uv_async_send(&p->async);
  atomic_fetch_sub(&p->async_users, 1);
  return WEIR_OK;
}
