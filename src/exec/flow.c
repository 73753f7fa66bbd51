/* The flow of blocks between operators: bounded queues, the memory budget,
 * emits with backpressure, ordered release of outputs, and the end of a
 * run. Everything here runs under the pipeline's mutex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "exec/budget.h"
#include "exec/exec_internal.h"
#include "weir/error.h"

/* The block size distribution of weir_op_stats: bins of powers of four
 * from 64 KiB. */
static void count_block_size(weir_op_stats *st, size_t nb) {
  int bin = 0;
  if (nb >= ((size_t)64 << 10)) {
    int log2 = 63 - __builtin_clzll((unsigned long long)nb);
    bin = (log2 - 16) / 2 + 1;
    if (bin >= WEIR_BLOCK_BYTES_BINS)
      bin = WEIR_BLOCK_BYTES_BINS - 1;
  }
  st->block_bytes_hist[bin]++;
  if (st->blocks_out == 1 || nb < st->block_bytes_min)
    st->block_bytes_min = nb;
  if (nb > st->block_bytes_max)
    st->block_bytes_max = nb;
}

void weir__flight_add(weir_pipeline *p, size_t n) {
  WEIR_LOCK_HELD(&p->mu);
  p->in_flight += n;
  if (p->in_flight > p->in_flight_peak)
    p->in_flight_peak = p->in_flight;
}

size_t weir__live_bytes(const weir_pipeline *p) {
  /* Parked and working bytes are shares of those in flight. */
  size_t idle = p->parked + p->working;
  WEIR_INVARIANT(idle <= p->in_flight, "parked %zu and working %zu bytes of only %zu in flight",
                 p->parked, p->working, p->in_flight);
  return p->in_flight > idle ? p->in_flight - idle : 0;
}

void weir__flight_sub(weir_pipeline *p, size_t n) {
  WEIR_LOCK_HELD(&p->mu);
  WEIR_SUB(p->in_flight, n, "bytes in flight");
  /* Waiters re-check their own condition (room under the budget, or no
   * nearer operator ready any more): wake them on any drop. */
  if (p->budget_waiters && n)
    pthread_cond_broadcast(&p->cv_budget);
}

void weir__park(weir_pipeline *p, size_t add, size_t sub) {
  WEIR_LOCK_HELD(&p->mu);
  p->parked += add;
  WEIR_SUB(p->parked, sub, "parked bytes");
  if (add && p->budget_waiters && weir__live_bytes(p) == 0)
    pthread_cond_broadcast(&p->cv_budget);
}

size_t weir__output_estimate(const weir_op *op, size_t in_bytes) {
  double ratio = 1.0;
  if (op->st.bytes_in > 0) {
    ratio = (double)op->new_bytes_out / (double)op->st.bytes_in;
    if (ratio > 2.0)
      ratio = 2.0;
  }
  return (size_t)(ratio * (double)in_bytes);
}

/* Room a source leaves free in the budget when it emits a block of `nb`
 * bytes: while a call runs, its input and the new blocks it emits are both
 * in flight, so each worker of each operator downstream may add one
 * output's worth of new memory before its input goes (sized from the
 * blocks it has queued or has taken, else from this block). At most
 * weir__budget_reserve_cap (exec/budget.h). */
static size_t reserve_room(const weir_pipeline *p, size_t nb) {
  double room = 0;
  for (size_t i = 0; i < p->nops; i++) {
    const weir_op *op = p->ops[i];
    /* Sources are checked at their emits; the iterator's consumer takes
     * blocks out, it adds none. */
    if (!op->active || op->kind == WEIR__OP_SOURCE || op->kind == WEIR__OP_ITERSINK)
      continue;
    size_t block = op->q.blocks          ? op->q.bytes / op->q.blocks
                   : op->st.blocks_in   ? op->st.bytes_in / op->st.blocks_in
                                        : nb;
    int workers = op->target > 0 ? op->target : 1;
    room += (double)workers * (double)weir__output_estimate(op, block);
  }
  /* Output running calls already hold as working bytes is in flight: the
   * room it stands for is taken. */
  room = room > (double)p->working_out ? room - (double)p->working_out : 0;
  double cap = (double)weir__budget_reserve_cap(p->budget);
  return (size_t)(room < cap ? room : cap);
}

/* Sources wait while the blocks in flight plus the room downstream
 * calls need (reserve_room) would pass the budget. Bytes
 * parked in a stage that needs more input to let them go (rows gathered
 * for an exact batch, a shuffle buffer, outputs held for order) count
 * too, but cannot hold a source back on their own: when nothing else is
 * in flight a source may go on, or the pipeline could never finish. */
int weir__over_budget(const weir_pipeline *p, size_t nb) {
  return weir__live_bytes(p) > 0 && p->in_flight + reserve_room(p, nb) + nb > p->budget;
}

/* As weir__over_budget, for a block whose memory `carry` bytes in flight
 * already count. */
static int over_budget_carry(const weir_pipeline *p, size_t nb, size_t carry) {
  return weir__live_bytes(p) > 0 && p->in_flight - carry + reserve_room(p, nb) + nb > p->budget;
}

void weir__enqueue(weir_op *c, weir_block *b, uint64_t origin) {
  WEIR_LOCK_HELD(&c->p->mu);
  weir__qnode *n = malloc(sizeof *n);
  size_t nb = weir_block_nbytes(b);
  if (!n) {
    /* Nothing may be dropped silently: end the run instead. */
    weir_block_unref(&b);
    weir__run_fail(c->p, WEIR_ENOMEM, "operator '%s': out of memory queueing a block", c->name);
    return;
  }
  n->next = NULL;
  n->b = b;
  n->spill = NULL;
  n->origin = origin;
  if (c->q.tail)
    c->q.tail->next = n;
  else
    c->q.head = n;
  c->q.tail = n;
  c->q.blocks++;
  c->q.bytes += nb;
  weir__queue_check(&c->q, c->name);
  if (c->q.bytes > c->st.queue_bytes_peak)
    c->st.queue_bytes_peak = c->q.bytes;
  if (c->q.blocks > c->st.queue_blocks_peak)
    c->st.queue_blocks_peak = c->q.blocks;
  weir__flight_add(c->p, nb);
  c->p->progress_count++;
  if (c->work_waiters)
    pthread_cond_signal(&c->cv_work);
}

/* Takes the head of the queue; the bytes stay in flight (now held by the
 * taker), so the caller subtracts them when it is done with the block. */
weir_block *weir__dequeue(weir_op *c) { return weir__dequeue_origin(c, NULL); }

weir_block *weir__dequeue_origin(weir_op *c, uint64_t *origin) {
  WEIR_LOCK_HELD(&c->p->mu);
  weir__qnode *n = c->q.head;
  weir__queue_check(&c->q, c->name);
  if (!n)
    return NULL;
  c->q.head = n->next;
  if (!c->q.head)
    c->q.tail = NULL;
  weir_block *b = n->b;
  if (origin)
    *origin = n->origin;
  free(n);
  size_t nb = weir_block_nbytes(b);
  c->q.blocks--;
  WEIR_SUB(c->q.bytes, nb, "queued bytes");
  weir__queue_check(&c->q, c->name);
  if (c->q.space_waiters)
    pthread_cond_broadcast(&c->q.cv_space);
  return b;
}

static int queue_full(const weir_op *c, size_t nb) {
  /* Invariant 3 of exec/queue.h. */
  WEIR_INVARIANT(c->q.max_blocks > 0, "operator '%s': a queue bound of no blocks", c->name);
  if (c->q.blocks == 0)
    return 0; /* an empty queue takes any block, so a big one cannot hang */
  return c->q.blocks >= c->q.max_blocks || c->q.bytes + nb > c->q.max_bytes;
}


/* A worker waits for room downstream: counted as blocked time, also while
 * it lasts (the scheduler measures windows). */
static double wait_begin(weir_op *op) {
  double ws = weir__now();
  op->emit_waiting++;
  op->wait_start_sum += ws;
  return ws;
}

static void wait_end(weir_op *op, double ws) {
  WEIR_INVARIANT(op->emit_waiting > 0, "operator '%s': a wait ends that did not begin", op->name);
  op->emit_waiting--;
  op->wait_start_sum -= ws;
  op->st.blocked_seconds += weir__now() - ws;
}

static void unhold_locked(weir_op *op, size_t *held, size_t n);
static void hold_locked(weir_op *op, size_t *held, size_t n);

int weir__push_out(weir_op *op, weir_block *b, uint64_t origin) {
  return weir__push_out_carry(op, b, origin, 0, NULL);
}

int weir__push_out_carry(weir_op *op, weir_block *b, uint64_t origin, size_t carry,
                         size_t *held) {
  weir_pipeline *p = op->p;
  WEIR_LOCK_HELD(&p->mu);
  size_t nb = weir_block_nbytes(b), rows = weir_block_num_rows(b);
  int rc = WEIR_OK;
  for (;;) {
    if (atomic_load(&p->ending) || op->closed) {
      rc = WEIR_ECANCELED;
      break;
    }
    weir_op *full = NULL;
    for (size_t i = 0; i < op->nouts && !full; i++) {
      weir_op *c = op->outs[i];
      if (c->active && !c->input_stopped && queue_full(c, nb))
        full = c;
    }
    if (full) {
      double ws = wait_begin(op);
      full->q.space_waiters++;
      pthread_cond_wait(&full->q.cv_space, &p->mu);
      full->q.space_waiters--;
      wait_end(op, ws);
      continue;
    }
    if (op->kind == WEIR__OP_SOURCE && over_budget_carry(p, nb, carry)) {
      double ws = wait_begin(op);
      p->budget_waiters++;
      pthread_cond_wait(&p->cv_budget, &p->mu);
      p->budget_waiters--;
      wait_end(op, ws);
      continue;
    }
    break;
  }
  /* Down before up: the block's own count replaces the working bytes
   * that stood for it, also when it is dropped. */
  if (carry)
    unhold_locked(op, held, carry);
  if (rc != WEIR_OK) {
    weir_block_unref(&b);
    return rc;
  }
  op->st.rows_out += rows;
  op->st.blocks_out++;
  op->st.bytes_out += nb;
  count_block_size(&op->st, nb);
  p->progress_count++;
  weir_op *first = NULL;
  for (size_t i = 0; i < op->nouts; i++) {
    weir_op *c = op->outs[i];
    if (!c->active || c->input_stopped)
      continue;
    if (first)
      weir__enqueue(c, weir_block_ref(b), origin);
    else
      first = c;
  }
  if (first)
    weir__enqueue(first, b, origin); /* the last reference moves in */
  else
    weir_block_unref(&b); /* a sink: the run drops its output */
  return WEIR_OK;
}

/* ---- Calls and ordered release ---------------------------------------- */

weir__call *weir__call_begin(weir_op *op, uint64_t seq, int hold_all) {
  weir__call *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->seq = seq;
  c->hold_all = hold_all;
  weir__call **pp = &op->calls;
  while (*pp && (*pp)->seq < seq)
    pp = &(*pp)->next;
  c->next = *pp;
  *pp = c;
  return c;
}

static void drop_held(weir_op *op, weir__call *c) {
  while (c->held_head) {
    weir__qnode *n = c->held_head;
    c->held_head = n->next;
    /* A spilled one stays in its store: its own goes below; a shared one
     * is only dropped when the run ends or the op closed, and then nothing
     * popped from it is sent on. */
    if (!n->b && op->held_spilled)
      op->held_spilled--;
    weir_block_unref(&n->b);
    free(n);
  }
  c->held_tail = NULL;
  weir__spill_free(&c->spill);
  weir__park(op->p, 0, c->held_bytes);
  weir__flight_sub(op->p, c->held_bytes);
  c->held_bytes = 0;
}

/* Sends what `c` held back, in order. May wait for room. */
static int flush_held(weir_op *op, weir__call *c) {
  int rc = WEIR_OK;
  while (c->held_head) {
    weir__qnode *n = c->held_head;
    c->held_head = n->next;
    if (!c->held_head)
      c->held_tail = NULL;
    weir_block *b = n->b;
    void *store = n->spill;
    uint64_t origin = n->origin;
    free(n);
    if (!b) {
      /* Spilled: it comes back from disk, not counted in flight until the
       * consumer's queue takes it. After an error the store is dropped. */
      if (op->held_spilled)
        op->held_spilled--;
      if (rc == WEIR_OK)
        rc = weir__spill_get(op, store, &b, 1);
      if (rc == WEIR_OK) {
        /* Back in memory while it may wait for room: counted from now
         * (working bytes the queue's count takes over). */
        size_t held = 0;
        hold_locked(op, &held, weir_block_nbytes(b));
        rc = weir__push_out_carry(op, b, origin, held, &held);
      }
      continue;
    }
    size_t nb = weir_block_nbytes(b);
    WEIR_SUB(c->held_bytes, nb, "held bytes of a call");
    weir__park(op->p, 0, nb);
    weir__flight_sub(op->p, nb);
    if (rc == WEIR_OK)
      rc = weir__push_out(op, b, origin);
    else
      weir_block_unref(&b);
  }
  weir__spill_free(&c->spill);
  return rc;
}

static void unlink_call(weir_op *op, weir__call *c) {
  weir__call **pp = &op->calls;
  while (*pp && *pp != c)
    pp = &(*pp)->next;
  if (*pp)
    *pp = c->next;
}

/* Sends the held outputs of every finished call at the head, in order.
 * Only one thread does it at a time: others leave their finished call for
 * it to find. */
static void release_ready(weir_op *op) {
  if (op->flushing)
    return;
  op->flushing = 1;
  while (op->calls && op->calls->done) {
    weir__call *h = op->calls;
    flush_held(op, h);
    unlink_call(op, h);
    free(h);
    op->release_seq++;
    if (op->work_waiters)
      pthread_cond_broadcast(&op->cv_work);
  }
  op->flushing = 0;
}

void weir__call_end(weir_op *op, weir__call *c, int ok) {
  if (!c)
    return;
  if (!ok)
    drop_held(op, c);
  c->hold_all = 0;
  c->done = 1;
  if (!op->ordered) {
    flush_held(op, c);
    unlink_call(op, c);
    free(c);
    return;
  }
  release_ready(op);
}

/* Discards what a failed attempt emitted, before a retry. */
void weir__call_reset(weir_op *op, weir__call *c) {
  if (c)
    drop_held(op, c);
}

/* A row larger than the whole budget is legal (one long document, one huge
 * frame), but memory then passes the budget while it is held: say so once
 * per run, naming the operator, the row and its size. */
static void check_big_row(weir_op *op, const weir_block *b, size_t total) {
  weir_pipeline *p = op->p;
  if (total <= p->budget || op->index < 0)
    return;
  size_t row, big = weir__largest_row(b, &row);
  if (big <= p->budget)
    return;
  pthread_mutex_lock(&p->mu);
  int first = !p->big_row_warned;
  p->big_row_warned = 1;
  uint64_t before = op->st.rows_out;
  pthread_mutex_unlock(&p->mu);
  if (first)
    weir__log(p, WEIR_LOG_WARN,
              "%s: row %zu of a block of %zu rows (about row %llu of its "
              "output) is %.1f MiB, larger than the memory budget of %.1f "
              "MiB; the run goes on, but memory passes the budget while the "
              "row is held (said once per run)",
              op->name, row, weir_block_num_rows(b),
              (unsigned long long)(before + row), (double)big / 1048576.0,
              (double)p->budget / 1048576.0);
}

int weir_emit_block(weir_emit *e, weir_block *b) {
  if (!b)
    return WEIR_EINVAL;
  if (!e || !e->op) {
    weir_block_unref(&b);
    return WEIR_EINVAL;
  }
  weir_op *op = e->op;
  weir_pipeline *p = op->p;
  int rc;
  /* Memory the input already holds moves with the output instead of being
   * counted twice (a pass-through, a slice, added columns). */
  size_t shared = e->in_left && *e->in_left ? weir__shared_bytes(b, e->in) : 0;
  size_t total = weir_block_nbytes(b);
  check_big_row(op, b, total);
  pthread_mutex_lock(&p->mu);
  if (shared) {
    if (shared > *e->in_left)
      shared = *e->in_left;
    *e->in_left -= shared;
    weir__flight_sub(p, shared);
  }
  /* Measured for weir__output_estimate. */
  size_t fresh = total > shared ? total - shared : 0;
  op->new_bytes_out += fresh;
  /* Working bytes the call held for this block's memory pass to it. */
  size_t carry = e->held < fresh ? e->held : fresh;
  weir__call *c = e->call;
  if (atomic_load(&p->ending) || op->closed) {
    weir_block_unref(&b);
    rc = WEIR_ECANCELED;
  } else if (c && (c->hold_all || (op->ordered && (op->calls != c || op->flushing)))) {
    weir__qnode *n = malloc(sizeof *n);
    size_t nb = weir_block_nbytes(b);
    if (!n) {
      weir_block_unref(&b);
      rc = WEIR_ENOMEM;
    } else if (weir__spill_due(p, nb, 0)) {
      /* Held past the budget: to disk, in its place in the held list. */
      rc = weir__spill_hold(op, c, b, &n->spill);
      weir_block_unref(&b);
      unhold_locked(op, &e->held, carry);
      n->next = NULL;
      n->b = NULL;
      n->origin = e->origin;
      if (rc != WEIR_OK)
        free(n);
    } else {
      n->next = NULL;
      n->b = b;
      n->spill = NULL;
      n->origin = e->origin;
      c->held_bytes += nb;
      unhold_locked(op, &e->held, carry);
      weir__flight_add(p, nb);
      weir__park(p, nb, 0);
      rc = WEIR_OK;
    }
    if (rc == WEIR_OK) {
      if (c->held_tail)
        c->held_tail->next = n;
      else
        c->held_head = n;
      c->held_tail = n;
    }
  } else {
    rc = WEIR_OK;
    if (c && c->held_head) {
      op->flushing = 1;
      rc = flush_held(op, c);
      op->flushing = 0;
    }
    if (rc == WEIR_OK)
      rc = weir__push_out_carry(op, b, e->origin, carry, &e->held);
    else
      weir_block_unref(&b);
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

/* ---- Working bytes ------------------------------------------------------ */

static void unhold_locked(weir_op *op, size_t *held, size_t n) {
  weir_pipeline *p = op->p;
  WEIR_LOCK_HELD(&p->mu);
  if (!held || n == 0)
    return;
  WEIR_SUB(*held, n, "working bytes of a call");
  WEIR_SUB(p->working, n, "working bytes");
  if (op->kind != WEIR__OP_SOURCE)
    WEIR_SUB(p->working_out, n, "working bytes of operators");
  weir__flight_sub(p, n);
}

static void hold_locked(weir_op *op, size_t *held, size_t n) {
  weir_pipeline *p = op->p;
  WEIR_LOCK_HELD(&p->mu);
  *held += n;
  p->working += n;
  if (op->kind != WEIR__OP_SOURCE)
    p->working_out += n;
  weir__flight_add(p, n);
}

int weir__emit_hold(weir_emit *e, size_t n, int wait) {
  if (!e || !e->op || n == 0)
    return WEIR_OK;
  weir_op *op = e->op;
  weir_pipeline *p = op->p;
  int rc = WEIR_OK;
  pthread_mutex_lock(&p->mu);
  /* Only a source may wait: it holds no input that others wait for. */
  while (wait && op->kind == WEIR__OP_SOURCE) {
    if (atomic_load(&p->ending) || op->closed) {
      rc = WEIR_ECANCELED;
      break;
    }
    if (!weir__over_budget(p, n))
      break;
    double ws = wait_begin(op);
    p->budget_waiters++;
    pthread_cond_wait(&p->cv_budget, &p->mu);
    p->budget_waiters--;
    wait_end(op, ws);
  }
  if (rc == WEIR_OK)
    hold_locked(op, &e->held, n);
  pthread_mutex_unlock(&p->mu);
  return rc;
}

void weir__emit_unhold(weir_emit *e, size_t n) {
  if (!e || !e->op)
    return;
  if (n > e->held)
    n = e->held;
  if (n == 0)
    return;
  weir_pipeline *p = e->op->p;
  pthread_mutex_lock(&p->mu);
  unhold_locked(e->op, &e->held, n);
  pthread_mutex_unlock(&p->mu);
}

int weir__emit_hold_to(weir_emit *e, size_t want, int wait) {
  if (!e)
    return WEIR_OK;
  if (e->held > want) {
    weir__emit_unhold(e, e->held - want);
    return WEIR_OK;
  }
  return weir__emit_hold(e, want - e->held, wait);
}

/* ---- Closing, finishing, ending --------------------------------------- */

static void drop_input(weir_op *op) {
  while (op->q.head) {
    weir_block *b = weir__dequeue(op);
    weir__flight_sub(op->p, weir_block_nbytes(b));
    weir_block_unref(&b);
  }
  for (size_t i = 0; i < op->nacc; i++) {
    size_t nb = weir_block_nbytes(op->acc[i]);
    weir__park(op->p, 0, nb);
    weir__flight_sub(op->p, nb);
    weir_block_unref(&op->acc[i]);
  }
  op->nacc = 0;
  op->acc_rows = op->acc_bytes = 0;
  weir__spill_free(&op->acc_spill);
  op->acc_spilled = op->acc_spilled_rows = 0;
}

static void check_producers(weir_op *op) {
  for (size_t i = 0; i < op->nins; i++) {
    weir_op *pr = op->ins[i];
    if (!pr->active || pr->closed)
      continue;
    int all = 1;
    for (size_t j = 0; j < pr->nouts; j++)
      if (pr->outs[j]->active && !pr->outs[j]->input_stopped)
        all = 0;
    if (all)
      weir__op_close(pr);
  }
}

void weir__op_stop_input(weir_op *op) {
  if (op->input_stopped)
    return;
  op->input_stopped = 1;
  drop_input(op);
  pthread_cond_broadcast(&op->cv_work);
  pthread_cond_broadcast(&op->q.cv_space);
  check_producers(op);
}

void weir__op_close(weir_op *op) {
  if (op->closed)
    return;
  op->closed = 1;
  atomic_store(&op->stop_flag, 1);
  weir__log(op->p, WEIR_LOG_DEBUG, "operator '%s': no consumer needs more output; stopping it",
            op->name);
  weir__op_stop_input(op);
  pthread_cond_broadcast(&op->cv_work);
  pthread_cond_broadcast(&op->p->cv_budget);
  /* Producers of consumers may wait on a queue this op will never fill. */
  for (size_t i = 0; i < op->nouts; i++)
    pthread_cond_broadcast(&op->outs[i]->q.cv_space);
}

int weir__source_exhausted(const weir_op *op) {
  if (op->dist_shard)
    return op->dist_done && op->next_task >= op->grant_end;
  return op->next_task >= op->num_tasks;
}

int weir__op_input_ended(const weir_op *op) {
  if (op->input_stopped)
    return 1;
  if (op->kind == WEIR__OP_SOURCE)
    return weir__source_exhausted(op);
  return op->producers_open == 0 && op->q.blocks == 0 && op->nacc == 0 && op->acc_spilled == 0;
}

static void op_finished(weir_op *op);

static void consumer_producer_done(weir_op *c) {
  if (!c->active)
    return;
  /* Each active producer finishes once (op_finished), and producers_open
   * counted them when the run started. */
  WEIR_INVARIANT(c->producers_open > 0, "operator '%s': a producer finished that was not open",
                 c->name);
  c->producers_open--;
  pthread_cond_broadcast(&c->cv_work);
  if (c->kind == WEIR__OP_ITERSINK && c->producers_open == 0)
    op_finished(c);
}

static void op_finished(weir_op *op) {
  if (op->finished)
    return;
  /* finished is the last state of an operator in a run: no worker of it
   * is alive or starting. */
  WEIR_INVARIANT(op->live == 0 && op->spawning == 0,
                 "operator '%s' finishes with %d workers alive and %d starting", op->name,
                 op->live, op->spawning);
  op->finished = 1;
  weir_pipeline *p = op->p;
  if (op->finished_fn)
    op->finished_fn(op->finished_arg, op);
  for (size_t i = 0; i < op->nouts; i++)
    consumer_producer_done(op->outs[i]);
  WEIR_INVARIANT(p->unfinished > 0 || !op->active,
                 "operator '%s' finishes but the run counts no unfinished operator", op->name);
  if (p->unfinished > 0 && --p->unfinished == 0) {
    p->done = 1;
    weir__wake_scheduler(p);
  }
}

void weir__op_maybe_finish(weir_op *op) {
  if (op->finished || op->live > 0 || op->spawning > 0)
    return;
  if (op->closed || op->eof || atomic_load(&op->p->ending))
    op_finished(op);
}

void weir__wake_all(weir_pipeline *p) {
  pthread_cond_broadcast(&p->cv_budget);
  for (size_t i = 0; i < p->nops; i++) {
    pthread_cond_broadcast(&p->ops[i]->cv_work);
    pthread_cond_broadcast(&p->ops[i]->q.cv_space);
  }
  weir_op *hidden[2] = {p->collect, p->itersink};
  for (int i = 0; i < 2; i++)
    if (hidden[i]) {
      pthread_cond_broadcast(&hidden[i]->cv_work);
      pthread_cond_broadcast(&hidden[i]->q.cv_space);
    }
}

void weir__wake_scheduler(weir_pipeline *p) {
  atomic_fetch_add(&p->async_users, 1);
  if (atomic_load(&p->async_live))
    uv_async_send(&p->async);
  atomic_fetch_sub(&p->async_users, 1);
}
