/* Worker threads of operator pools: taking the next task (a read task or
 * an input batch re-blocked to batch_rows), running the operator's call
 * with retries and skips, per-worker state, and leaving the pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/redact.h"
#include "core/block_internal.h"
#include "core/check.h"
#include "exec/budget.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "exec/gpu_backend.h"
#include "exec/net_backend.h"
#include "weir/error.h"

double weir__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double weir__thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of every worker the op has had. Reading the workers' thread
 * clocks from outside costs nothing on their hot path. Under p->mu, which
 * keeps a worker from exiting while its clock is read. */
double weir__op_cpu(const weir_op *op) {
  double cpu = op->cpu_exited;
  for (const weir__worker *w = op->workers; w; w = w->next) {
    struct timespec ts;
    if (!w->exited && w->has_clock && clock_gettime(w->clock, &ts) == 0)
      cpu += (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  }
  return cpu;
}

enum { T_EXIT = 0, T_EXIT_FINISH, T_SOURCE, T_BLOCK };

typedef struct task {
  int type;
  int retire;
  double start;              /* when the worker took it */
  size_t task_index;
  weir_block *b;
  weir_block **pieces;
  size_t npieces;
  size_t in_bytes;
  uint64_t origin;           /* of its input (WEIR__ORIGIN_MIXED) */
  weir__call *call;
} task;

static int needs_call(const weir_op *op) {
  return op->ordered || op->opts.max_retries > 0 || op->p->opts.max_errored_blocks > 0;
}
static int hold_all(const weir_op *op) {
  return op->opts.max_retries > 0 || op->p->opts.max_errored_blocks > 0;
}


static void acc_remove_front(weir_op *op) {
  memmove(op->acc, op->acc + 1, (op->nacc - 1) * sizeof *op->acc);
  op->nacc--;
}

static int acc_push(weir_op *op, weir_block *b) {
  if (op->nacc == op->acc_cap) {
    size_t cap = op->acc_cap ? op->acc_cap * 2 : 16;
    weir_block **n = realloc(op->acc, cap * sizeof *n);
    if (!n)
      return WEIR_ENOMEM;
    op->acc = n;
    op->acc_cap = cap;
  }
  op->acc[op->nacc++] = b;
  return WEIR_OK;
}

/* The device of the first device column of `b`, or -1. */
static int block_device(const weir_block *b) {
  size_t n = weir_block_num_columns(b);
  for (size_t i = 0; i < n; i++) {
    weir_column c;
    if (weir_block_column(b, i, &c) == WEIR_OK && c.device == WEIR_DEVICE_CUDA)
      return c.device_id;
  }
  return -1;
}

/* A GPU worker takes, from the first few blocks queued, one already on its
 * device when there is one (moving it to the head): consecutive GPU
 * operators then keep blocks where they are instead of copying them
 * between devices. Only where output order does not follow input order. */
static void prefer_device(weir_op *op, int device) {
  weir__qnode *prev = NULL, *n = op->q.head;
  for (int k = 0; n && k < 8; k++, prev = n, n = n->next) {
    int d = block_device(n->b);
    if (d < 0 || d == device) {
      if (!prev)
        return;
      prev->next = n->next;
      if (op->q.tail == n)
        op->q.tail = prev;
      n->next = op->q.head;
      op->q.head = n;
      return;
    }
  }
}

/* Moves input into `t`: the head block, or exactly batch_rows rows
 * gathered across blocks (the last batch of the input may be shorter).
 * Returns 1 when `t` has input, 0 when there is not enough yet, < 0 on
 * out-of-memory. */
static int form_input(weir_op *op, weir__worker *w, task *t) {
  weir_pipeline *p = op->p;
  size_t br = op->opts.batch_rows;
  if (br == 0) {
    if (!op->q.head)
      return 0;
    if (op->gpu && !op->ordered)
      prefer_device(op, w->device);
    t->b = weir__dequeue_origin(op, &t->origin);
    t->in_bytes = weir_block_nbytes(t->b);
    return 1;
  }
  while (op->acc_rows < br && op->q.head) {
    weir_block *b = weir__dequeue(op);
    size_t nb = weir_block_nbytes(b), rows = weir_block_num_rows(b);
    if (rows == 0) {
      weir__flight_sub(p, nb);
      weir_block_unref(&b);
      continue;
    }
    if (op->acc_spilled > 0 || weir__spill_due(p, nb, 1)) {
      /* Gathering more than the budget holds: to disk, after acc[] (and
       * after what is spilled already) so the rows keep their order. */
      /* Under the lock: the accumulator is shared by the pool's workers. */
      int rc = weir__spill_put(op, &op->acc_spill, b, 0);
      weir__flight_sub(p, nb);
      weir_block_unref(&b);
      if (rc != WEIR_OK)
        return rc;
      op->acc_spilled++;
      op->acc_spilled_rows += rows;
      op->acc_rows += rows;
      continue;
    }
    if (acc_push(op, b) != WEIR_OK) {
      weir__flight_sub(p, nb);
      weir_block_unref(&b);
      return WEIR_ENOMEM;
    }
    weir__park(p, nb, 0);
    op->acc_rows += rows;
    op->acc_bytes += nb;
  }
  int last = op->producers_open == 0 && op->q.blocks == 0;
  if (op->acc_rows < br && !(last && op->acc_rows > 0))
    return 0;
  size_t need = op->acc_rows < br ? op->acc_rows : br;
  t->pieces = malloc((op->nacc + op->acc_spilled) * sizeof *t->pieces);
  if (!t->pieces)
    return WEIR_ENOMEM;
  t->npieces = 0;
  t->in_bytes = 0;
  int rc = WEIR_OK;
  while (need > 0) {
    if (op->nacc == 0 && op->acc_spilled > 0) {
      /* The rows in memory are used up: the next spilled block comes back. */
      weir_block *sb = NULL;
      rc = weir__spill_get(op, op->acc_spill, &sb, 0);
      if (rc == WEIR_OK && acc_push(op, sb) != WEIR_OK) {
        weir_block_unref(&sb);
        rc = WEIR_ENOMEM;
      }
      if (rc != WEIR_OK)
        break;
      size_t nb = weir_block_nbytes(sb);
      op->acc_spilled--;
      op->acc_spilled_rows -= weir_block_num_rows(sb);
      weir__flight_add(p, nb);
      weir__park(p, nb, 0);
      op->acc_bytes += nb;
    }
    if (op->nacc == 0)
      break;
    weir_block *h = op->acc[0];
    size_t rows = weir_block_num_rows(h), nb = weir_block_nbytes(h);
    if (rows <= need) {
      acc_remove_front(op);
      weir__park(p, 0, nb);
      op->acc_rows -= rows;
      op->acc_bytes -= nb;
      t->pieces[t->npieces++] = h;
      t->in_bytes += nb;
      need -= rows;
    } else {
      weir_block *a = weir__block_slice(h, 0, need);
      weir_block *r = weir__block_slice(h, need, rows - need);
      if (!a || !r) {
        weir_block_unref(&a);
        weir_block_unref(&r);
        break;
      }
      size_t na = weir_block_nbytes(a), nr = weir_block_nbytes(r);
      op->acc[0] = r;
      weir_block_unref(&h);
      weir__park(p, nr, nb);
      op->acc_bytes = op->acc_bytes - nb + nr;
      op->acc_rows -= need;
      /* Down before up: the peak must not see the block twice. */
      weir__flight_sub(p, nb);
      weir__flight_add(p, na + nr);
      t->pieces[t->npieces++] = a;
      t->in_bytes += na;
      need = 0;
    }
  }
  if (need > 0) {
    for (size_t i = 0; i < t->npieces; i++) {
      weir__flight_sub(p, weir_block_nbytes(t->pieces[i]));
      weir_block_unref(&t->pieces[i]);
    }
    free(t->pieces);
    t->pieces = NULL;
    t->npieces = 0;
    return rc != WEIR_OK ? rc : WEIR_ENOMEM;
  }
  t->origin = WEIR__ORIGIN_MIXED; /* rows gathered across blocks */
  if (p->budget_waiters)
    pthread_cond_broadcast(&p->cv_budget);
  return 1;
}

/* Before a callback: a message left on the thread by a weir call that
 * failed inside it (weir_block_column with a bad index...) or by
 * weir_set_last_errmsg() is then known to be about this call. */
static void clear_thread_error(void) { weir__set_last_error(WEIR_OK, "%s", ""); }

/* The callback did not set a detail with weir_ctx_set_errmsg(): take the
 * one the failing weir call, or the callback itself, left on the thread. */
static void take_thread_error(weir_ctx *ctx) {
  if (ctx && !ctx->has_errmsg && weir_last_errmsg()[0]) {
    snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", weir_last_errmsg());
    ctx->has_errmsg = 1;
  }
}

static void fail_locked(weir_op *op, weir_ctx *ctx, int rc, const char *what) {
  weir_pipeline *p = op->p;
  /* A code of the error list is reported as itself; anything else a
   * callback returns (a positive number, EOF, its own code) is an
   * operator's failure. */
  int code = weir__err_is_failure(rc) ? rc : WEIR_EOPERATOR;
  if (ctx && ctx->has_errmsg)
    weir__run_fail(p, code, "operator '%.64s': %.64s%.850s (%s)", op->name, what, ctx->errmsg,
                   weir_err_name(code));
  else if (code == WEIR_EOPERATOR && rc != WEIR_EOPERATOR)
    weir__run_fail(p, code, "operator '%s': %sreturned %d (%s)", op->name, what, rc,
                   weir_err_name(code));
  else
    weir__run_fail(p, code, "operator '%s': %sfailed: %s (%s)", op->name, what,
                   weir_strerror(code), weir_err_name(code));
}

/* 1 when an operator nearer the output has input waiting and an idle
 * worker to take it. */
static int nearer_ready(const weir_op *op) {
  const weir_pipeline *p = op->p;
  for (size_t i = 0; i < p->nops; i++) {
    const weir_op *o = p->ops[i];
    if (o->active && o->depth < op->depth && o->q.head && o->live - o->busy > 0 &&
        !o->closed)
      return 1;
  }
  return 0;
}

/* On MPI ranks: the next grant of read tasks for source `op` from the
 * coordinator on rank 0, asked without the lock (one round trip). Under
 * p->mu; releases it meanwhile. */
static int ask_coordinator(weir_op *op) {
  weir_pipeline *p = op->p;
  op->dist_asking = 1;
  pthread_mutex_unlock(&p->mu);
  uint64_t first = 0, count = 0;
  char err[768] = "";
  int rc = weir__dist_tasks(op, &first, &count, err, sizeof err);
  pthread_mutex_lock(&p->mu);
  op->dist_asking = 0;
  pthread_cond_broadcast(&op->cv_work);
  if (rc != WEIR_OK) {
    weir__run_fail(p, rc, "operator '%s': read tasks from the coordinator: %s", op->name, err);
    return rc;
  }
  if (count == 0 || first + count > op->num_tasks) {
    op->dist_done = 1;
  } else {
    op->next_task = first;
    op->grant_end = first + count;
  }
  return WEIR_OK;
}

/* Decides what the worker does next; waits (releasing mu) until there is
 * something. */
static void take(weir_op *op, weir__worker *w, task *t) {
  weir_pipeline *p = op->p;
  memset(t, 0, sizeof *t);
  for (;;) {
    if (atomic_load(&p->ending) || op->closed) {
      t->type = T_EXIT;
      return;
    }
    if (op->live - op->retiring > op->target) {
      op->retiring++;
      t->retire = 1;
      t->type = T_EXIT_FINISH;
      return;
    }
    uint64_t ahead = (uint64_t)(op->target > 2 ? 4 * op->target : 8);
    int ordered_full = op->ordered && op->next_seq - op->release_seq >= ahead;
    if (op->kind == WEIR__OP_SOURCE) {
      if (op->dist_shard && !op->dist_done && op->next_task >= op->grant_end) {
        if (op->dist_asking) { /* another worker asks for all */
          op->work_waiters++;
          pthread_cond_wait(&op->cv_work, &p->mu);
          op->work_waiters--;
          continue;
        }
        if (ask_coordinator(op) != WEIR_OK) {
          t->type = T_EXIT;
          return;
        }
        continue;
      }
      /* Tasks a resumed writer has in complete shards already. */
      while (op->skip_tasks && op->next_task < op->num_tasks && op->skip_tasks[op->next_task] &&
             (!op->dist_shard || op->next_task < op->grant_end))
        op->next_task++;
      if (op->dist_shard && !op->dist_done && op->next_task >= op->grant_end)
        continue;
      if (weir__source_exhausted(op)) {
        op->eof = 1;
        t->type = T_EXIT;
        return;
      }
      if (ordered_full) {
        op->work_waiters++;
        pthread_cond_wait(&op->cv_work, &p->mu);
        op->work_waiters--;
        continue;
      }
      /* A new read task starts only while a share of the budget stays
       * free (exec/budget.h), so the ones running can still emit and
       * memory drains before queues fill. */
      /* While outputs wait on disk for order and other blocks are moving,
       * the consumers are what is slow, not one call: reading further
       * ahead would only spill more. With nothing moving (a slow call
       * holds the rest back), reading on is what spilling is for. */
      if (weir__over_budget(p, weir__budget_task_headroom(p->budget)) ||
          (op->held_spilled > 0 && weir__live_bytes(p) > 0)) {
        p->budget_waiters++;
        pthread_cond_wait(&p->cv_budget, &p->mu);
        p->budget_waiters--;
        continue;
      }
      t->type = T_SOURCE;
      t->task_index = op->next_task++;
      t->origin = t->task_index;
      break;
    }
    if (op->kind == WEIR__OP_LIMIT && op->limit_seen >= op->limit_rows)
      weir__op_stop_input(op);
    if (op->q.head && p->in_flight >= weir__budget_drain_mark(p->budget) && nearer_ready(op)) {
      /* Memory is near the budget: an operator nearer the output, with
       * input waiting and a worker free, goes first so memory drains. */
      p->budget_waiters++;
      op->work_waiters++;
      pthread_cond_wait(&p->cv_budget, &p->mu);
      op->work_waiters--;
      p->budget_waiters--;
      continue;
    }
    if (!ordered_full && !op->input_stopped) {
      int rc = form_input(op, w, t);
      if (rc < 0) {
        fail_locked(op, NULL, rc, "re-blocking input: ");
        t->type = T_EXIT;
        return;
      }
      if (rc == 1) {
        t->type = T_BLOCK;
        break;
      }
    }
    if (weir__op_input_ended(op)) {
      op->eof = 1;
      t->type = T_EXIT_FINISH;
      return;
    }
    op->work_waiters++;
    pthread_cond_wait(&op->cv_work, &p->mu);
    op->work_waiters--;
  }
  uint64_t seq = op->next_seq++;
  if (needs_call(op)) {
    t->call = weir__call_begin(op, seq, hold_all(op));
    if (!t->call) {
      fail_locked(op, NULL, WEIR_ENOMEM, "");
      t->type = T_EXIT;
      return;
    }
  }
  op->busy++;
  t->start = weir__now();
  op->busy_start_sum += t->start;
  if (op->first_start == 0)
    op->first_start = t->start;
}

static int on_device(const weir_block *b) {
  size_t n = weir_block_num_columns(b);
  for (size_t i = 0; i < n; i++) {
    weir_column c;
    if (weir_block_column(b, i, &c) == WEIR_OK && c.device == WEIR_DEVICE_CUDA)
      return 1;
  }
  return 0;
}

static int limit_process(weir_op *op, weir_block *b, weir_emit *e) {
  weir_pipeline *p = op->p;
  size_t rows = weir_block_num_rows(b);
  uint64_t left;
  size_t take_rows;
  if (p->dist) {
    /* On MPI ranks the limit is global: rank 0's coordinator holds the
     * count, and this rank takes its block's share of what is left. */
    uint64_t got = 0;
    char err[768] = "";
    int rc = rows ? weir__dist_take(op, rows, &got, err, sizeof err) : WEIR_OK;
    if (rc != WEIR_OK) {
      weir_ctx_set_errmsg(weir_emit_ctx(e), "the global count: %s", err);
      return rc;
    }
    take_rows = (size_t)got;
    left = got < rows ? got : UINT64_MAX; /* fewer than asked: used up */
    pthread_mutex_lock(&p->mu);
    op->limit_seen += take_rows;
    pthread_mutex_unlock(&p->mu);
  } else {
    pthread_mutex_lock(&p->mu);
    left = op->limit_rows > op->limit_seen ? op->limit_rows - op->limit_seen : 0;
    take_rows = rows < left ? rows : (size_t)left;
    op->limit_seen += take_rows;
    pthread_mutex_unlock(&p->mu);
  }
  int rc = WEIR_OK;
  if (take_rows == rows)
    rc = weir_emit_block(e, weir_block_ref(b));
  else if (take_rows > 0) {
    weir_block *s = weir__block_slice(b, 0, take_rows);
    rc = s ? weir_emit_block(e, s) : WEIR_ENOMEM;
  }
  if (take_rows == left) {
    /* Satisfied: nothing upstream is needed any more. */
    pthread_mutex_lock(&p->mu);
    weir__log(p, WEIR_LOG_DEBUG, "limit: %llu rows reached; stopping upstream",
              (unsigned long long)op->limit_rows);
    weir__op_stop_input(op);
    pthread_mutex_unlock(&p->mu);
  }
  return rc;
}

static int run_call(weir_op *op, weir__worker *w, task *t, weir_emit *e) {
  switch (op->kind) {
  case WEIR__OP_SOURCE:
    return op->read_fn(op->user, t->task_index, e);
  case WEIR__OP_MAP:
    return op->map_fn(op->user, t->b, e);
  case WEIR__OP_DEF:
    return op->def.process(w->state, t->b, e, e->ctx);
  case WEIR__OP_LIMIT:
    return limit_process(op, t->b, e);
  case WEIR__OP_COLLECT:
    return weir__collect_process(op, w->state, t->b, e);
  default: /* REPART, UNION: pass the (re-blocked) input on */
    return weir_emit_block(e, weir_block_ref(t->b));
  }
}

/* Calls of one GPU worker whose device work may still be queued while the
 * worker runs the next: enough to overlap one call's copies and kernels
 * with the host side of the next, few enough that an error surfaces soon
 * after the call that caused it. */
#define GPU_CALLS_IN_FLIGHT 2

/* Re-blocked input: pieces on a device are moved to the host first, since
 * joining works on host columns; a GPU operator's worker then copies the
 * joined block to its device like any host input. */
/* The first row's `path` of block `b`, when it has that column: its bytes
 * (not NUL-terminated: a string column's values lie end to end) and, in
 * *len, their count, at most 200. */
static const char *path_of(const weir_block *b, int *len) {
  int k = weir_block_column_index(b, "path");
  if (k < 0 || b->cols[k].type != WEIR_TYPE_STRING || b->num_rows == 0 || !b->cols[k].offsets)
    return NULL;
  int64_t n = b->cols[k].offsets[1] - b->cols[k].offsets[0];
  *len = n > 200 ? 200 : (int)n;
  return (const char *)b->cols[k].data + b->cols[k].offsets[0];
}

/* Why the rows gathered for a batch cannot be one block, beyond what
 * concat said: where the two kinds of rows come from (their `path`, when
 * they have one) and, for tensors of two shapes, what to do about it. */
static void reblock_why(const weir_op *op, const task *t, char *buf, size_t n) {
  size_t col = 0;
  size_t i = weir__blocks_first_mismatch((const weir_block *const *)t->pieces, t->npieces, &col);
  if (i == 0)
    return;
  const weir_block *a = t->pieces[0], *b = t->pieces[i];
  int la = 0, lb = 0;
  const char *pa = path_of(a, &la), *pb = path_of(b, &lb);
  int k = 0;
  if (pa && pb)
    k = snprintf(buf, n, "; the rows come from %.*s and %.*s", la, pa, lb, pb);
  int tensors = col < a->num_columns && col < b->num_columns &&
                a->cols[col].type == WEIR_TYPE_TENSOR && b->cols[col].type == WEIR_TYPE_TENSOR;
  if (tensors && k >= 0 && (size_t)k < n)
    snprintf(buf + k, n - (size_t)k, "; a batch of %zu rows needs one shape: resize to one "
             "size first (the reader's width and height options, or weir_image_resize), or "
             "leave batch_rows 0 to get blocks as they come", op->opts.batch_rows);
}

static int join_pieces(const weir_op *op, task *t, char *why, size_t whylen) {
  int rc = WEIR_OK;
  for (size_t i = 0; i < t->npieces && rc == WEIR_OK; i++) {
    if (!weir__block_on_device(t->pieces[i]))
      continue;
    weir_block *h = NULL;
    rc = weir__gpu()->to_host(t->pieces[i], &h);
    if (rc == WEIR_OK) {
      weir_block_unref(&t->pieces[i]);
      t->pieces[i] = h;
    }
  }
  if (rc == WEIR_OK) {
    rc = weir_block_concat(t->pieces, t->npieces, &t->b);
    if (rc != WEIR_OK)
      reblock_why(op, t, why, whylen);
  }
  for (size_t i = 0; i < t->npieces; i++)
    weir_block_unref(&t->pieces[i]);
  free(t->pieces);
  t->pieces = NULL;
  return rc;
}

/* After a failed GPU call: 1 (and `*rc` WEIR_ENODEV, the message saying so)
 * when the worker's device hit a sticky error. Its context is unusable, so
 * the run ends at once instead of retrying or skipping the call. */
static int device_lost(weir_op *op, weir__worker *w, weir_ctx *ctx, int *rc) {
  if (!op->gpu || !w->gpu || !weir__gpu()->lost(w->gpu))
    return 0;
  char detail[sizeof ctx->errmsg];
  snprintf(detail, sizeof detail, "%s", ctx->has_errmsg ? ctx->errmsg : weir_strerror(*rc));
  snprintf(ctx->errmsg, sizeof ctx->errmsg,
           "CUDA device %d is lost (a sticky error leaves its context unusable; "
           "the run cannot go on): %.380s", w->device, detail);
  ctx->has_errmsg = 1;
  w->lost = 1;
  *rc = WEIR_ENODEV;
  return 1;
}

/* Runs one task: gathers its input, calls the operator (again, up to
 * max_retries), and accounts for it. */
static void run_task(weir_op *op, weir__worker *w, weir_ctx *ctx, task *t) {
  weir_pipeline *p = op->p;
  const weir__gpu_backend *g = NULL;
  int rc = WEIR_OK;
  const char *what = "";
  if (t->npieces > 0) {
    char why[600] = "";
    rc = join_pieces(op, t, why, sizeof why);
    if (rc != WEIR_OK) {
      snprintf(ctx->errmsg, sizeof ctx->errmsg, "re-blocking input to %zu rows: %s%s",
               op->opts.batch_rows, weir_last_errmsg(), why);
      ctx->has_errmsg = 1;
    }
  }
  size_t rows_in = t->b ? weir_block_num_rows(t->b) : 0;
  if (rc == WEIR_OK && t->b && (op->gpu || on_device(t->b))) {
    g = weir__gpu();
    weir_block *moved = NULL;
    rc = op->gpu ? g->to_device(w->gpu, t->b, &moved) : g->to_host(t->b, &moved);
    if (rc == WEIR_OK) {
      weir_block_unref(&t->b);
      t->b = moved;
    } else {
      what = op->gpu ? "copying input to the device: " : "copying input to the host: ";
      take_thread_error(ctx);
    }
  }
  size_t in_left = t->in_bytes;
  for (int attempt = 0; rc == WEIR_OK; attempt++) {
    weir_emit e = {op, t->call, ctx, t->b, &in_left, 0, t->origin};
    ctx->origin = t->origin;
    ctx->has_errmsg = 0;
    clear_thread_error();
    rc = run_call(op, w, t, &e);
    /* Working bytes no block took (an error, a buffer kept for reuse)
     * end with the call. */
    weir__emit_unhold(&e, e.held);
    if (rc != WEIR_OK)
      take_thread_error(ctx);
    if (rc == WEIR_OK && op->gpu) {
      /* With retries or skips the call's own work must be done before its
       * errors can be told from the next call's; otherwise a few calls stay
       * in flight and readers wait on their events, not the host. */
      clear_thread_error();
      g = weir__gpu();
      rc = hold_all(op) ? g->sync(w->gpu) : g->mark(w->gpu, GPU_CALLS_IN_FLIGHT);
      if (rc != WEIR_OK) {
        what = hold_all(op) ? "" : "a GPU call in flight: ";
        take_thread_error(ctx);
      }
    }
    if (rc != WEIR_OK && device_lost(op, w, ctx, &rc))
      break;
    if (rc == WEIR_OK || atomic_load(&p->ending) || op->closed ||
        attempt >= op->opts.max_retries)
      break;
    pthread_mutex_lock(&p->mu);
    op->st.retries++;
    weir__call_reset(op, t->call);
    weir__flight_add(p, t->in_bytes - in_left); /* the input is whole again */
    in_left = t->in_bytes;
    weir__log(p, WEIR_LOG_DEBUG, "operator '%s': retry %d of %d after %s", op->name,
              attempt + 1, op->opts.max_retries, weir_err_name(rc));
    pthread_mutex_unlock(&p->mu);
    rc = WEIR_OK;
  }
  double t1 = weir__now();
  pthread_mutex_lock(&p->mu);
  op->st.tasks++;
  op->st.busy_seconds += t1 - t->start;
  op->busy_start_sum -= t->start;
  op->last_end = t1;
  if (t->type == T_BLOCK) {
    op->st.rows_in += rows_in;
    op->st.blocks_in++;
    op->st.bytes_in += t->in_bytes;
  }
  int ignore = atomic_load(&p->ending) || op->closed;
  if (rc != WEIR_OK && !ignore) {
    op->st.errors++;
    if (p->skipped_total < p->opts.max_errored_blocks && !w->lost) {
      p->skipped_total++;
      op->st.skipped_blocks++;
      op->st.skipped_rows += rows_in;
      weir__log(p, WEIR_LOG_WARN, "operator '%s': skipping a failed %s (%s%s%s); %llu of %llu allowed",
                op->name, t->type == T_SOURCE ? "read task" : "block", weir_err_name(rc),
                ctx->has_errmsg ? ": " : "", ctx->has_errmsg ? ctx->errmsg : "",
                (unsigned long long)p->skipped_total,
                (unsigned long long)p->opts.max_errored_blocks);
      weir__call_end(op, t->call, 0);
    } else {
      weir__call_end(op, t->call, 0);
      char where[96];
      if (t->type == T_SOURCE)
        snprintf(where, sizeof where, "read task %zu: %s", t->task_index, what);
      else
        snprintf(where, sizeof where, "%s", what);
      fail_locked(op, ctx, rc, where);
    }
  } else {
    weir__call_end(op, t->call, rc == WEIR_OK);
  }
  weir__flight_sub(p, in_left);
  op->busy--;
  p->progress_count++;
  pthread_mutex_unlock(&p->mu);
  weir_block_unref(&t->b);
}

/* The work a GPU worker still has queued (calls in flight, what finish
 * queued) is waited for before the worker goes, and its errors end the run
 * like a failed call's: destroying the worker would lose them. */
static void gpu_drain(weir_op *op, weir__worker *w, weir_ctx *ctx, const char *what) {
  weir_pipeline *p = op->p;
  if (!op->gpu || !w->gpu)
    return;
  ctx->has_errmsg = 0;
  clear_thread_error();
  int rc = weir__gpu()->sync(w->gpu);
  if (rc == WEIR_OK)
    return;
  take_thread_error(ctx);
  device_lost(op, w, ctx, &rc);
  pthread_mutex_lock(&p->mu);
  if (!atomic_load(&p->ending) && !op->closed) {
    op->st.errors++;
    fail_locked(op, ctx, rc, what);
  }
  pthread_mutex_unlock(&p->mu);
}

static void run_finish(weir_op *op, weir__worker *w, weir_ctx *ctx) {
  weir_pipeline *p = op->p;
  int has_finish = (op->kind == WEIR__OP_DEF && op->def.finish) || op->kind == WEIR__OP_COLLECT;
  if (!has_finish || !w->inited) {
    gpu_drain(op, w, ctx, "a GPU call in flight: ");
    return;
  }
  pthread_mutex_lock(&p->mu);
  weir__call *c = NULL;
  if (op->ordered) {
    c = weir__call_begin(op, op->next_seq++, 0);
    if (!c) {
      fail_locked(op, NULL, WEIR_ENOMEM, "finish: ");
      pthread_mutex_unlock(&p->mu);
      return;
    }
  }
  op->busy++;
  double t0 = weir__now();
  op->busy_start_sum += t0;
  pthread_mutex_unlock(&p->mu);
  weir_emit e = {op, c, ctx, NULL, NULL, 0, WEIR__ORIGIN_MIXED};
  ctx->origin = WEIR__ORIGIN_MIXED;
  ctx->has_errmsg = 0;
  clear_thread_error();
  int rc = op->kind == WEIR__OP_COLLECT ? weir__collect_finish(op, w->state, &e)
                                        : op->def.finish(w->state, &e, ctx);
  weir__emit_unhold(&e, e.held);
  if (rc != WEIR_OK)
    take_thread_error(ctx);
  else if (op->gpu && w->gpu) {
    /* What finish queued on the stream fails here, not in destroy. */
    clear_thread_error();
    rc = weir__gpu()->sync(w->gpu);
    if (rc != WEIR_OK) {
      take_thread_error(ctx);
      device_lost(op, w, ctx, &rc);
    }
  }
  double t1 = weir__now();
  pthread_mutex_lock(&p->mu);
  op->st.busy_seconds += t1 - t0;
  op->busy_start_sum -= t0;
  op->busy--;
  weir__call_end(op, c, rc == WEIR_OK);
  if (rc != WEIR_OK && !atomic_load(&p->ending) && !op->closed) {
    op->st.errors++;
    fail_locked(op, ctx, rc, "finish: ");
  }
  pthread_mutex_unlock(&p->mu);
}

static int worker_init(weir_op *op, weir__worker *w, weir_ctx *ctx) {
  int rc = WEIR_OK;
  if (op->gpu) {
    const weir__gpu_backend *g = weir__gpu();
    int n = g->device_count();
    w->device = n > 0 ? w->index % n : 0;
    rc = g->worker_init(w->device, &w->gpu);
    if (rc != WEIR_OK) {
      w->gpu = NULL;
      snprintf(ctx->errmsg, sizeof ctx->errmsg, "starting a CUDA stream worker");
      ctx->has_errmsg = 1;
      return rc;
    }
  }
  clear_thread_error();
  if (op->kind == WEIR__OP_DEF && op->def.init)
    rc = op->def.init(op->user, w->index, &w->state);
  else if (op->kind == WEIR__OP_COLLECT)
    rc = weir__collect_init(op, &w->state);
  if (rc == WEIR_OK)
    w->inited = 1;
  else
    take_thread_error(ctx); /* init has no ctx: weir_set_last_errmsg() */
  return rc;
}

static void worker_destroy(weir_op *op, weir__worker *w) {
  if (w->inited) {
    if (op->kind == WEIR__OP_DEF && op->def.destroy)
      op->def.destroy(w->state);
    else if (op->kind == WEIR__OP_COLLECT)
      weir__collect_destroy(w->state);
    w->inited = 0;
  }
  if (w->gpu) {
    weir__gpu()->worker_destroy(w->gpu);
    w->gpu = NULL;
  }
}

static void *worker_main(void *arg) {
  weir__worker *w = arg;
  weir_op *op = w->op;
  weir_pipeline *p = op->p;
  weir_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.op = op;
  ctx.w = w;
  atomic_store(&w->tid, weir__thread_id());
  /* Network requests of this thread, the operator's init included, go to
   * the engine on the pipeline's loop until the worker is gone. */
  const weir__net_backend *net = weir__net_backend_get();
  net->set_current(p->net);
  weir__exec_set_thread_op(op);
  int rc = worker_init(op, w, &ctx);
  pthread_mutex_lock(&p->mu);
  op->spawning--;
  if (rc != WEIR_OK)
    fail_locked(op, &ctx, rc, "init: ");
  task t;
  memset(&t, 0, sizeof t);
  for (;;) {
    if (rc != WEIR_OK) {
      t.type = T_EXIT;
      break;
    }
    take(op, w, &t);
    if (t.type == T_EXIT || t.type == T_EXIT_FINISH)
      break;
    pthread_mutex_unlock(&p->mu);
    run_task(op, w, &ctx, &t);
    pthread_mutex_lock(&p->mu);
  }
  int eof = op->eof;
  pthread_mutex_unlock(&p->mu);
  if (t.type == T_EXIT_FINISH)
    run_finish(op, w, &ctx);
  else if (eof)
    gpu_drain(op, w, &ctx, "a GPU call in flight: ");
  worker_destroy(op, w);
  net->set_current(NULL);
  /* The thread's own clocks, read before the lock (system calls); the
   * tick counts a worker either live or exited, never both, as both
   * change together under the lock below. */
  double cpu_used = weir__thread_cpu(), runq_waited = weir__thread_runq(0);
  pthread_mutex_lock(&p->mu);
  /* The pool's counts: every worker that leaves was counted live (and,
   * when it retires, retiring) when it came; none is busy as it leaves. */
  WEIR_INVARIANT(op->live > 0 && p->live_workers > 0 && (!t.retire || op->retiring > 0),
                 "operator '%s': a worker leaves a pool of %d live (%d retiring, %d in the run)",
                 op->name, op->live, op->retiring, p->live_workers);
  if (t.retire)
    op->retiring--;
  op->cpu_exited += cpu_used;
  op->runq_exited += runq_waited;
  op->live--;
  p->live_workers--;
  WEIR_INVARIANT(op->busy <= op->live, "operator '%s': %d busy workers of %d live", op->name,
                 op->busy, op->live);
  w->exited = 1;
  weir__op_maybe_finish(op);
  if (p->live_workers == 0 || op->live == 0)
    weir__wake_scheduler(p);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int weir__pool_spawn(weir_op *op) {
  weir_pipeline *p = op->p;
  WEIR_LOCK_HELD(&p->mu);
  weir__worker *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  w->op = op;
  /* The smallest index no live worker has: indices stay below the pool's
   * size as it grows and shrinks, so per-worker tables can be sized by
   * max_workers. */
  for (int idx = 0;; idx++) {
    int used = 0;
    for (weir__worker *o = op->workers; o && !used; o = o->next)
      used = !o->exited && o->index == idx;
    if (!used) {
      w->index = idx;
      break;
    }
  }
  op->next_worker_index++;
  op->live++;
  op->spawning++;
  p->live_workers++;
  if (op->live > op->st.workers_peak)
    op->st.workers_peak = op->live;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)1 << 20);
  int err = pthread_create(&w->thread, &attr, worker_main, w);
  pthread_attr_destroy(&attr);
  if (err) {
    op->live--;
    op->spawning--;
    p->live_workers--;
    free(w);
    return WEIR_ENOMEM;
  }
  w->started = 1;
  /* Read under the lock by the scheduler; set here, under it too. */
  w->has_clock = pthread_getcpuclockid(w->thread, &w->clock) == 0;
  w->next = op->workers;
  op->workers = w;
  return WEIR_OK;
}

void weir__pool_join(weir_op *op, int all) {
  weir_pipeline *p = op->p;
  for (;;) {
    weir__worker *pick = NULL;
    pthread_mutex_lock(&p->mu);
    for (weir__worker **pp = &op->workers; *pp; pp = &(*pp)->next)
      if (all || (*pp)->exited) {
        pick = *pp;
        *pp = pick->next;
        break;
      }
    pthread_mutex_unlock(&p->mu);
    if (!pick)
      return;
    pthread_join(pick->thread, NULL);
    free(pick);
  }
}
