/* Running a pipeline again: after a run has ended (its iterator destroyed),
 * the same graph runs once more from fresh state, as each epoch of a
 * training loop asks for a new iterator. */
#include <stdlib.h>
#include <string.h>

#include "exec/exec_internal.h"
#include "weir/error.h"

/* Zeroes the run state of `op`, keeping what the graph says it is. */
static void op_reset(weir_op *op) {
  /* The named counters are the last run's: a new run starts without them
   * (under the lock the counter readers take). */
  pthread_mutex_lock(&op->p->mu);
  for (size_t i = 0; i < op->ncounters; i++)
    free(op->counters[i].name);
  free(op->counters);
  op->counters = NULL;
  op->ncounters = op->counters_cap = 0;
  pthread_mutex_unlock(&op->p->mu);
  weir_op keep = *op;
  pthread_cond_destroy(&op->cv_work);
  pthread_cond_destroy(&op->q.cv_space);
  memset(op, 0, sizeof *op);
  op->p = keep.p;
  op->index = keep.index;
  op->kind = keep.kind;
  op->name = keep.name;
  op->opts = keep.opts;
  op->gpu = keep.gpu;
  op->def = keep.def;
  op->user = keep.user;
  op->map_fn = keep.map_fn;
  op->read_fn = keep.read_fn;
  op->num_tasks = keep.num_tasks;
  op->limit_rows = keep.limit_rows;
  op->arrow = keep.arrow;
  op->iter_opts = keep.iter_opts;
  op->dist_local = keep.dist_local;
  op->per_block = keep.per_block;
  op->describe = keep.describe;
  op->describe_arg = keep.describe_arg;
  op->run_begin = keep.run_begin;
  op->run_begin_arg = keep.run_begin_arg;
  op->ins = keep.ins;
  op->nins = keep.nins;
  op->outs = keep.outs;
  op->nouts = keep.nouts;
  op->outs_cap = keep.outs_cap;
  memcpy(op->res_names, keep.res_names, sizeof op->res_names);
  memcpy(op->res_amounts, keep.res_amounts, sizeof op->res_amounts);
  op->nres = keep.nres;
  op->cleanup = keep.cleanup;
  op->cleanup_arg = keep.cleanup_arg;
  op->run_end = keep.run_end;
  op->run_end_arg = keep.run_end_arg;
  op->finished_fn = keep.finished_fn;
  op->finished_arg = keep.finished_arg;
  op->rows_of = keep.rows_of;
  op->st.name = op->name;
  pthread_cond_init(&op->cv_work, NULL);
  pthread_cond_init(&op->q.cv_space, NULL);
}

/* Takes `op` out of the consumers of its inputs. */
static void unlink_consumer(weir_op *op) {
  for (size_t i = 0; i < op->nins; i++) {
    weir_op *in = op->ins[i];
    for (size_t j = 0; j < in->nouts; j++)
      if (in->outs[j] == op) {
        memmove(in->outs + j, in->outs + j + 1, (in->nouts - j - 1) * sizeof *in->outs);
        in->nouts--;
        break;
      }
  }
}

int weir__run_prepare_again(weir_pipeline *p, const char *who) {
  if (!p->started)
    return WEIR_OK;
  if (p->iters > 0 || p->sched_thread_started || p->loop_live) {
    weir__op_fail(p, WEIR_EINVAL,
                  "%s: the previous run's iterator is still alive: weir_iter_destroy() it "
                  "before running the pipeline again", who);
    return WEIR_EINVAL;
  }
  for (size_t i = 0; i < p->nops; i++)
    if (p->ops[i]->arrow) {
      weir__op_fail(p, WEIR_EINVAL,
                    "%s: operator '%s' reads an Arrow stream, which can be read once: the "
                    "pipeline cannot run again", who, p->ops[i]->name);
      return WEIR_EINVAL;
    }
  /* The last iterator's stages go; a new iterator makes its own. */
  weir_op *hidden[2] = {p->itersink, p->collect};
  for (int k = 0; k < 2; k++)
    if (hidden[k]) {
      unlink_consumer(hidden[k]);
      weir__op_free(hidden[k]);
    }
  p->itersink = p->collect = NULL;
  for (size_t i = 0; i < p->nops; i++) {
    weir__pool_join(p->ops[i], 1);
    weir__op_drain(p->ops[i]);
    op_reset(p->ops[i]);
  }
  /* The pipeline's run state; options, operators, resources and locks
   * stay. */
  p->started = 0;
  atomic_store(&p->ending, 0);
  p->status = WEIR_OK;
  p->done = 0;
  p->unfinished = 0;
  p->live_workers = 0;
  p->out = NULL;
  atomic_store(&p->cancel_req, 0);
  p->closing = 0;
  p->net = NULL;
  p->t_start = p->t_end = 0;
  p->last_progress_t = p->last_progress_line = 0;
  p->last_progress_seen = 0;
  p->stall_reported = 0;
  p->stall_seen = 0;
  p->stall_since = 0;
  p->stalls = 0;
  p->big_row_warned = 0; /* once per run */
  p->progress_lines = 0;
  p->in_flight = p->in_flight_peak = p->parked = 0;
  p->skipped_total = 0;
  p->progress_count = 0;
  p->iter_blocked = 0;
  p->iter_batches = 0;
  p->ctl_last = 0;
  p->gpus = 0;
  p->resizes = 0;
  weir__error_clear(p);
  p->build_failed = 0;
  return WEIR_OK;
}
