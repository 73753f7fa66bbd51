/* Pool control on the scheduler's tick: keeps each pool's threads at its
 * target size, and (unless pools are fixed) measures every operator over a
 * window and lets the adaptive policy (autoscale_policy.c) move targets step
 * by step within the CPU, GPU and named-resource budgets. Also the
 * named-resource API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/autoscale_policy.h"
#include "exec/exec_internal.h"
#include "exec/gpu_backend.h"
#include "exec/tick_clocks.h"
#include "weir/error.h"

/* Seconds between two decisions: long enough to measure a few tasks, short
 * enough to converge in seconds. */
#define CONTROL_PERIOD 0.05
/* Workers of a pool with no max_workers, at most. */
#define POOL_CAP 64

int weir__initial_workers(weir_pipeline *p, weir_op *op) {
  (void)p;
  return op->workers_min;
}

static int pinned(const weir_pipeline *p, const weir_op *op) {
  return p->opts.fixed_pools || op->index < 0 ||
         (op->opts.max_workers > 0 && op->workers_min >= op->opts.max_workers);
}

static void keep_pool(weir_pipeline *p, weir_op *op) {
  pthread_mutex_lock(&p->mu);
  int grow = !atomic_load(&p->ending) && !op->closed && !op->eof && !op->finished &&
             op->kind != WEIR__OP_ITERSINK;
  while (grow && op->live - op->retiring < op->target) {
    if (weir__pool_spawn(op) != WEIR_OK)
      break;
  }
  pthread_mutex_unlock(&p->mu);
  weir__pool_join(op, 0);
}

/* Only a run with a GPU operator asks how many devices there are: asking
 * initialises the CUDA driver, after which a child this process forks
 * cannot use CUDA (see exec/gpu_backend.h). */
static double gpu_budget(const weir_pipeline *p) {
  if (p->opts.num_gpus > 0)
    return p->opts.num_gpus;
  int wants = 0;
  for (size_t i = 0; i < p->nops && !wants; i++)
    wants = p->ops[i]->active && p->ops[i]->gpu;
  if (!wants)
    return 0;
  const weir__gpu_backend *g = weir__gpu();
  return g ? g->device_count() : 0;
}

/* A total measured without the lock can dip below the last one for a
 * tick (a worker that exited between the copy and the read counts in
 * neither); the mark stays where it was and the next window sees the
 * whole difference. */
static double since_mark(double total, double *mark) {
  if (total <= *mark)
    return 0;
  double d = total - *mark;
  *mark = total;
  return d;
}

/* One decision over the window since the last one, for every operator
 * (the arrays are sized by the operator count, so none is left out), from
 * the workers' clocks read just before. */
static void decide(weir_pipeline *p, double now, const weir__tick_clocks *clocks) {
  size_t cap = p->nops ? p->nops : 1;
  weir__policy_op *pol = calloc(cap, sizeof *pol);
  weir_op **who = calloc(cap, sizeof *who);
  weir__policy_decision *d = calloc(cap, sizeof *d);
  if (!pol || !who || !d) {
    /* Pools keep their sizes this tick; the next one tries again. */
    free(pol);
    free(who);
    free(d);
    return;
  }
  int n = 0;
  double window = now - p->ctl_last;
  p->ctl_last = now;
  for (size_t i = 0; i < p->nops; i++) {
    weir_op *op = p->ops[i];
    if (!op->active || op->finished)
      continue;
    double busy = op->st.busy_seconds + (op->busy * now - op->busy_start_sum);
    double blocked = op->st.blocked_seconds + (op->emit_waiting * now - op->wait_start_sum);
    weir__policy_op *q = &pol[n];
    memset(q, 0, sizeof *q);
    q->name = op->name;
    q->min_workers = op->workers_min;
    q->max_workers = op->opts.max_workers > 0 ? op->opts.max_workers : POOL_CAP;
    q->cpus_per_worker = op->opts.num_cpus;
    q->gpus_per_worker = op->opts.num_gpus;
    for (int r = 0; r < p->nres; r++)
      q->resources_per_worker[r] = op->res[r];
    q->is_source = op->kind == WEIR__OP_SOURCE;
    q->pinned = pinned(p, op);
    q->workers = op->target;
    q->busy_seconds = busy - op->ctl_busy;
    q->blocked_seconds = blocked - op->ctl_blocked;
    /* An op added to the graph since the copy has no clocks yet. */
    q->cpu_seconds = i < clocks->nops ? since_mark(clocks->cpu[i], &op->ctl_cpu) : 0;
    q->runq_seconds = i < clocks->nops ? since_mark(clocks->runq[i], &op->ctl_runq) : 0;
    if (q->blocked_seconds > q->busy_seconds)
      q->blocked_seconds = q->busy_seconds;
    double fb = op->q.max_blocks ? (double)op->q.blocks / (double)op->q.max_blocks : 0;
    double fy = op->q.max_bytes ? (double)op->q.bytes / (double)op->q.max_bytes : 0;
    q->queue_fill = fb > fy ? fb : fy;
    if (op->nacc || op->acc_spilled)
      q->queue_fill = q->queue_fill > 0.5 ? q->queue_fill : 0.5; /* rows gathered wait */
    q->queued_per_worker = op->target > 0 ? (double)op->q.blocks / op->target : 0;
    q->input_done = op->eof || op->closed || op->input_stopped;
    if (op->kind == WEIR__OP_SOURCE && op->read_fn) {
      /* More workers than tasks left to start or running would only idle. */
      size_t left = op->num_tasks - op->next_task + (size_t)op->busy;
      if (left < (size_t)q->max_workers)
        q->max_workers = left > (size_t)op->workers_min ? (int)left : op->workers_min;
    }
    for (size_t j = 0; j < op->nouts; j++) {
      const weir_op *c = op->outs[j];
      if (!c->active)
        continue;
      double cb = c->q.max_blocks ? (double)c->q.blocks / (double)c->q.max_blocks : 0;
      double cy = c->q.max_bytes ? (double)c->q.bytes / (double)c->q.max_bytes : 0;
      double f = cb > cy ? cb : cy;
      if (f > q->output_fill)
        q->output_fill = f;
    }
    q->streak = op->ctl_streak;
    q->cooldown = op->ctl_cooldown;
    q->last_delta = op->ctl_last_delta;
    q->since_move = op->ctl_since_move;
    op->ctl_busy = busy;
    op->ctl_blocked = blocked;
    who[n++] = op;
  }
  if (n == 0 || window <= 0) {
    free(pol);
    free(who);
    free(d);
    return;
  }
  weir__policy_budget b;
  memset(&b, 0, sizeof b);
  b.window_seconds = window;
  b.cpus = p->num_cpus;
  b.gpus = p->gpus;
  b.num_resources = p->nres;
  for (int r = 0; r < p->nres; r++)
    b.resources[r] = p->res_amounts[r];
  b.memory_fill = p->budget ? (double)p->in_flight / (double)p->budget : 0;
  /* The shipped tuning, as the unit tests check it. */
  weir__policy_decide(pol, n, &b, NULL, d);
  for (int i = 0; i < n; i++) {
    weir_op *op = who[i];
    op->ctl_streak = pol[i].streak;
    op->ctl_cooldown = pol[i].cooldown;
    op->ctl_last_delta = pol[i].last_delta;
    op->ctl_since_move = pol[i].since_move;
    if (d[i].delta == 0)
      continue;
    int from = op->target, to = from + d[i].delta;
    if (to < op->workers_min || to > pol[i].max_workers)
      continue;
    op->target = to;
    op->st.resizes++;
    p->resizes++;
    weir__log(p, WEIR_LOG_DEBUG, "operator '%s': workers %d -> %d (%s)", op->name, from, to,
              d[i].reason);
    if (to < from) {
      /* A waiting worker must wake to see it should leave. */
      pthread_cond_broadcast(&op->cv_work);
      pthread_cond_broadcast(&p->cv_budget);
    }
  }
  free(pol);
  free(who);
  free(d);
}

static int decision_due(const weir_pipeline *p, double now) {
  if (p->opts.fixed_pools || atomic_load(&p->ending) || p->done)
    return 0;
  double last = p->ctl_last ? p->ctl_last : p->t_start;
  return now - last >= CONTROL_PERIOD;
}

void weir__control_tick(weir_pipeline *p) {
  double now = weir__now();
  weir__tick_clocks clocks = {0};
  pthread_mutex_lock(&p->mu);
  /* A safety net under memory pressure: waiters on the budget re-check
   * their condition at least every tick. */
  if (p->budget_waiters)
    pthread_cond_broadcast(&p->cv_budget);
  int due = decision_due(p, now) && weir__tick_clocks_copy(p, &clocks) == WEIR_OK;
  pthread_mutex_unlock(&p->mu);
  if (due) {
    weir__tick_clocks_read(&clocks);
    pthread_mutex_lock(&p->mu);
    if (decision_due(p, now)) {
      if (p->ctl_last == 0)
        p->ctl_last = p->t_start;
      decide(p, now, &clocks);
    }
    pthread_mutex_unlock(&p->mu);
    weir__tick_clocks_free(&clocks);
  }
  for (size_t i = 0; i < p->nops; i++)
    if (p->ops[i]->active)
      keep_pool(p, p->ops[i]);
}

/* ---- Named resources ------------------------------------------------------ */

static int find_res(const weir_pipeline *p, const char *name) {
  for (int r = 0; r < p->nres; r++)
    if (!strcmp(p->res_names[r], name))
      return r;
  return -1;
}

int weir_pipeline_set_resource(weir_pipeline *p, const char *name, double amount) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_set_resource: NULL pipeline");
  if (!name || !name[0])
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_set_resource: no name");
  if (!(amount >= 0))
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_set_resource: '%s': amount %g is "
                           "negative", name, amount);
  if (p->started)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_set_resource: '%s': the pipeline "
                           "has already run", name);
  int r = find_res(p, name);
  if (r < 0) {
    if (p->nres >= WEIR__POLICY_MAX_RESOURCES) {
      weir__op_fail(p, WEIR_EINVAL, "resource '%s': at most %d named resources", name,
                    WEIR__POLICY_MAX_RESOURCES);
      return WEIR_EINVAL;
    }
    char *copy = strdup(name);
    if (!copy)
      return WEIR_ENOMEM;
    r = p->nres++;
    p->res_names[r] = copy;
  }
  p->res_amounts[r] = amount;
  return WEIR_OK;
}

int weir_op_set_resource(weir_op *op, const char *name, double amount) {
  if (!op)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_op_set_resource: NULL op");
  if (!name || !name[0])
    return weir__call_fail(op->p, WEIR_EINVAL, "weir_op_set_resource: '%s': no name", op->name);
  if (!(amount >= 0))
    return weir__call_fail(op->p, WEIR_EINVAL, "weir_op_set_resource: '%s': amount %g for '%s' "
                           "is negative", op->name, amount, name);
  if (op->p->started)
    return weir__call_fail(op->p, WEIR_EINVAL, "weir_op_set_resource: '%s': the pipeline has "
                           "already run", op->name);
  for (int i = 0; i < op->nres; i++)
    if (!strcmp(op->res_names[i], name)) {
      op->res_amounts[i] = amount;
      return WEIR_OK;
    }
  if (op->nres >= WEIR__POLICY_MAX_RESOURCES)
    return weir__call_fail(op->p, WEIR_EINVAL, "weir_op_set_resource: '%s': at most %d named "
                           "resources", op->name, WEIR__POLICY_MAX_RESOURCES);
  char *copy = strdup(name);
  if (!copy)
    return WEIR_ENOMEM;
  op->res_names[op->nres] = copy;
  op->res_amounts[op->nres++] = amount;
  return WEIR_OK;
}

int weir__resources_resolve(weir_pipeline *p) {
  p->gpus = gpu_budget(p);
  double held[WEIR__POLICY_MAX_RESOURCES] = {0}, gpus = 0;
  for (size_t i = 0; i < p->nops; i++) {
    weir_op *op = p->ops[i];
    memset(op->res, 0, sizeof op->res);
    if (!op->active)
      continue;
    for (int k = 0; k < op->nres; k++) {
      int r = find_res(p, op->res_names[k]);
      if (r < 0) {
        weir__op_fail(p, WEIR_EINVAL,
                      "operator '%s' asks for resource '%s', which the pipeline does not "
                      "declare (weir_pipeline_set_resource)",
                      op->name, op->res_names[k]);
        return WEIR_EINVAL;
      }
      op->res[r] = op->res_amounts[k];
    }
    for (int r = 0; r < p->nres; r++)
      held[r] += op->target * op->res[r];
    gpus += op->target * op->opts.num_gpus;
  }
  for (int r = 0; r < p->nres; r++)
    if (held[r] > p->res_amounts[r] + 1e-9) {
      weir__op_fail(p, WEIR_EINVAL,
                    "the operators' starting workers hold %.2f of resource '%s', more than "
                    "the %.2f the pipeline declares",
                    held[r], p->res_names[r], p->res_amounts[r]);
      return WEIR_EINVAL;
    }
  if (gpus > p->gpus + 1e-9) {
    weir__op_fail(p, WEIR_EINVAL,
                  "the GPU operators' starting workers hold %.2f GPUs, more than the %.2f "
                  "available (operators run at the same time: give each a share, e.g. "
                  "num_gpus = 0.5 for two on one GPU)",
                  gpus, p->gpus);
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

void weir__resources_free(weir_pipeline *p) {
  for (int r = 0; r < p->nres; r++)
    free(p->res_names[r]);
  p->nres = 0;
}

void weir__op_resources_free(weir_op *op) {
  for (int r = 0; r < op->nres; r++)
    free(op->res_names[r]);
  op->nres = 0;
}
