/* The adaptive scheduler's decision function: a load model per operator and
 * one-step moves toward the allocation it prefers, with hysteresis. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec/autoscale_policy.h"
#include "exec/budget.h"

/* How the model works. An operator's demand is the number of its workers
 * that were actually computing on average over the window (busy time minus
 * time blocked on a full output queue, per second). If throughput rose by a
 * factor f, every operator's demand would rise by f, so the allocation that
 * maximises throughput gives each operator workers in proportion to its
 * demand: this is tf.data's output-time model reduced to what can be
 * measured without knowing costs in advance. An operator grows when its
 * workers are nearly all busy and input is waiting (it limits throughput)
 * and CPU is idle somewhere; it shrinks when one worker fewer would still
 * leave it comfortably below saturation (idle, or blocked downstream), or
 * when its input is finished. A wish must hold for a few ticks, and after a
 * move an operator waits while the new size is measured: this is the
 * hysteresis that stops oscillation. */

/* 1 when some other operator that still has input is not saturated: it
 * waits for input or on its output, so CPU share can move away from it. */
static int others_have_slack(const weir__policy_op *ops, int n, int self, double window,
                             const weir__policy_tuning *t) {
  for (int j = 0; j < n; j++) {
    if (j == self || ops[j].input_done || ops[j].workers == 0) continue;
    double active = ops[j].busy_seconds - ops[j].blocked_seconds;
    double util = window > 0 && active > 0 ? active / window / ops[j].workers : 0;
    if (util < t->grow_utilisation) return 1;
  }
  return 0;
}

void weir__policy_defaults(weir__policy_tuning *t) {
  t->grow_utilisation = 0.85;
  t->shrink_utilisation = 0.65;
  /* Windows of 0.05 s: a wish must hold for two of them, and one window
   * after a move is skipped while the new size settles in. */
  t->ticks_to_act = 2;
  t->cooldown_ticks = 1;
  t->cpu_floor = 0.05;
  t->memory_high = WEIR__POLICY_MEMORY_HIGH;
  t->min_headroom = 0.15;
  /* Room for CPU operators' pools in proportion to their costs (1:4:2 is 7
   * workers on 2 slots) while a waiting worker costs only its stack. */
  t->oversubscription = 4.0;
  /* Half a second before a pool may move back the way it came. */
  t->reverse_ticks = 10;
  t->rebalance_utilisation = 0.95;
  t->rebalance_fill = 0.9;
  t->waiting_share = 0.25;
}

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

static double per_second(double seconds, double window) {
  return seconds / (window > 0 ? window : 1);
}

/* Average number of workers computing (not blocked) over the window. */
static double demand_of(const weir__policy_op *op, double window) {
  if (window <= 0) return 0;
  double active = op->busy_seconds - op->blocked_seconds;
  return active > 0 ? active / window : 0;
}

/* Share of a computing worker's wall time spent on the CPU or waiting for
 * one: near 1 for compute (also on a loaded machine, where part of it is
 * spent in the run queue), near 0 for a worker that waits on I/O or a
 * device. */
static double cpu_share(const weir__policy_op *op, const weir__policy_tuning *t) {
  double active = op->busy_seconds - op->blocked_seconds;
  if (active <= 1e-9) return 1.0; /* unmeasured: assume compute */
  double share = clamp01((op->cpu_seconds + op->runq_seconds) / active);
  return share < t->cpu_floor ? t->cpu_floor : share;
}

double weir__policy_cpu_charge(const weir__policy_op *op, int workers,
                               const weir__policy_tuning *t) {
  return workers * op->cpus_per_worker * cpu_share(op, t);
}

static int max_of(const weir__policy_op *op) {
  return op->max_workers > 0 ? op->max_workers : 1 << 20;
}

/* What the pools hold now, and what a tick's moves change. */
typedef struct held {
  double cpu_used;              /* CPU slots busy: obtained plus waited for */
  double nominal;               /* CPU slots the workers hold nominally */
  double gpus;
  double res[WEIR__POLICY_MAX_RESOURCES];
} held;

static void held_move(held *h, const weir__policy_op *op, const weir__policy_budget *b,
                      int sign) {
  h->nominal += sign * op->cpus_per_worker;
  h->gpus += sign * op->gpus_per_worker;
  for (int r = 0; r < b->num_resources; r++) h->res[r] += sign * op->resources_per_worker[r];
}

/* 1 when one more worker of `op` fits the GPU and named-resource budgets
 * given what is already held. */
static int fits_held_resources(const weir__policy_op *op, const held *h,
                               const weir__policy_budget *b) {
  if (op->gpus_per_worker > 0 && h->gpus + op->gpus_per_worker > b->gpus + 1e-9)
    return 0;
  for (int r = 0; r < b->num_resources; r++)
    if (op->resources_per_worker[r] > 0 &&
        h->res[r] + op->resources_per_worker[r] > b->resources[r] + 1e-9)
      return 0;
  return 1;
}

/* Pass 0: what every pool holds and uses, and the model's scale: how far
 * throughput could rise if CPU were shared in proportion to demand. */
static double measure(const weir__policy_op *ops, int n, const weir__policy_budget *b,
                      const weir__policy_tuning *t, held *h) {
  double total_demand_cost = 0;
  memset(h, 0, sizeof *h);
  for (int i = 0; i < n; i++) {
    const weir__policy_op *op = &ops[i];
    /* CPU a thread waited for is not idle either: on a loaded machine it
     * went to another process. */
    h->cpu_used += per_second(op->cpu_seconds + op->runq_seconds, b->window_seconds);
    for (int k = 0; k < op->workers; k++) held_move(h, op, b, +1);
    if (!op->input_done)
      total_demand_cost += demand_of(op, b->window_seconds) * op->cpus_per_worker * cpu_share(op, t);
  }
  return total_demand_cost > 1e-9 ? b->cpus / total_demand_cost : 1.0;
}

typedef enum { WISH_NONE = 0, WISH_GROW, WISH_SHIFT, WISH_SHRINK } wish_kind;

/* On a saturated CPU the model sees no room; but an operator whose input
 * is backed up while others starve or wait can still gain: the OS shares
 * CPU by runnable thread, so one more worker here moves CPU to it from the
 * operators with slack (within the oversubscription cap). 1 when `i` is
 * such an operator: any grow it wishes is then a shift. */
static int may_shift(const weir__policy_op *ops, int n, int i, const weir__policy_budget *b,
                     const weir__policy_tuning *t, double util, double blocked) {
  const weir__policy_op *op = &ops[i];
  return !op->pinned && !op->input_done && util > t->rebalance_utilisation && blocked < 0.1 &&
         op->queue_fill >= t->rebalance_fill && op->workers < max_of(op) &&
         op->cpus_per_worker > 0 && others_have_slack(ops, n, i, b->window_seconds, t);
}

/* Pass 1a: what one operator would like, from this window alone. */
static wish_kind wish_of(const weir__policy_op *ops, int n, int i, const weir__policy_budget *b,
                         const weir__policy_tuning *t, const weir__policy_decision *d,
                         double blocked, const char **why) {
  const weir__policy_op *op = &ops[i];
  double util = op->workers > 0 ? d->demand / op->workers : 0;
  int shift = may_shift(ops, n, i, b, t, util, blocked);
  *why = "balanced";
  if (op->pinned) {
    *why = "pinned";
    return WISH_NONE;
  }
  if (op->input_done) {
    if (op->workers <= op->min_workers) return WISH_NONE;
    *why = "input finished";
    return WISH_SHRINK;
  }
  if (util > t->grow_utilisation && blocked < 0.2 &&
      (op->queue_fill > 0.05 || op->queued_per_worker >= 1.0 ||
       (op->is_source && op->output_fill < 0.5)) &&
      op->workers < max_of(op) && d->target > op->workers + 0.05) {
    if (op->is_source && b->memory_fill > t->memory_high) {
      *why = "memory near budget: source held";
      return WISH_NONE;
    }
    *why = "limits throughput";
    return shift ? WISH_SHIFT : WISH_GROW;
  }
  if (shift) {
    *why = "bottleneck on a saturated CPU: shifts CPU share to it";
    return WISH_SHIFT;
  }
  if (op->workers > op->min_workers &&
      d->demand / (op->workers - 1) < t->shrink_utilisation && d->target < op->workers - 0.5) {
    *why = blocked > 0.5 ? "blocked on output" : "idle";
    return WISH_SHRINK;
  }
  return WISH_NONE;
}

/* Pass 1b: the hysteresis. A wish must hold `ticks_to_act` ticks (a
 * finished input's shrink need not), none is acted on while cooling down
 * after a move, and a move back waits `reverse_ticks`. Returns 1 when the
 * wish is to be acted on now. */
static int hysteresis(weir__policy_op *op, wish_kind *wish, const weir__policy_tuning *t,
                      const char **why) {
  int dir = *wish == WISH_SHRINK ? -1 : *wish == WISH_NONE ? 0 : +1;
  op->since_move++;
  if (dir != 0 && dir == -op->last_delta && op->since_move <= t->reverse_ticks &&
      !op->input_done) {
    *why = "holding: the last move was the other way";
    dir = 0;
  }
  if (op->cooldown > 0) {
    op->cooldown--;
    op->streak = 0;
    if (dir) *why = "cooling down after a move";
    dir = 0;
  } else if (dir == 0) {
    op->streak = 0;
  } else if ((dir > 0) == (op->streak > 0)) {
    op->streak += dir;
  } else {
    op->streak = dir;
  }
  if (dir == 0) *wish = WISH_NONE;
  return dir != 0 && (op->streak >= t->ticks_to_act || -op->streak >= t->ticks_to_act ||
                      (dir < 0 && op->input_done));
}

static void moved(weir__policy_op *op, int delta, const weir__policy_tuning *t) {
  op->last_delta = delta > 0 ? +1 : -1;
  op->since_move = 0;
  op->streak = 0;
  op->cooldown = t->cooldown_ticks;
}

/* Pass 2: one grow, if it fits in what is free after this tick's shrinks
 * and the grows already granted. A pool whose workers mostly wait (I/O, a
 * device) grows toward the model's target by up to doubling in one move:
 * each worker costs almost no CPU, and one worker at a time would take
 * seconds to reach the dozen that a slow store needs. */
static void grant_grow(weir__policy_op *op, weir__policy_decision *d,
                       const weir__policy_budget *b, const weir__policy_tuning *t, held *h) {
  double cost = op->cpus_per_worker * cpu_share(op, t);
  int want = 1;
  if (!d->shift && cpu_share(op, t) < t->waiting_share) {
    int gap = (int)(d->target - op->workers);
    want = gap < op->workers ? gap : op->workers;
    if (want > max_of(op) - op->workers) want = max_of(op) - op->workers;
    if (want < 1) want = 1;
  }
  int added = 0;
  double idle = b->cpus - h->cpu_used;
  while (added < want) {
    idle = b->cpus - h->cpu_used;
    int fits = fits_held_resources(op, h, b) &&
               (d->shift || cost <= 1e-9 || idle >= t->min_headroom * op->cpus_per_worker) &&
               h->nominal + op->cpus_per_worker <= t->oversubscription * b->cpus + 1e-9;
    if (!fits) break;
    /* The new worker can use at most what is idle: the projection stays
     * within the budget. */
    h->cpu_used += cost < idle ? cost : idle;
    held_move(h, op, b, +1);
    added++;
  }
  size_t len = strlen(d->reason);
  if (added == 0) {
    d->delta = 0;
    snprintf(d->reason + len, sizeof d->reason - len, "; no budget (cpu idle %.2f)", idle);
    return;
  }
  if (d->shift && idle < t->min_headroom * op->cpus_per_worker)
    snprintf(d->reason + len, sizeof d->reason - len,
             "; CPU saturated (idle %.2f): shifts CPU share to it", idle);
  else if (added > 1)
    snprintf(d->reason + len, sizeof d->reason - len, "; workers mostly wait: grows by %d",
             added);
  moved(op, +1, t);
  d->delta = added;
}

void weir__policy_decide(weir__policy_op *ops, int n,
                         const weir__policy_budget *b,
                         const weir__policy_tuning *tuning,
                         weir__policy_decision *out) {
  weir__policy_tuning defaults;
  if (!tuning) {
    weir__policy_defaults(&defaults);
    tuning = &defaults;
  }
  const double window = b->window_seconds;
  held h;
  double scale = measure(ops, n, b, tuning, &h);

  /* Pass 1: wishes, hysteresis and shrinks. Shrinks free budget before any
   * grow is weighed, so no intermediate state exceeds a budget. A grow
   * that is ready is only pending here (pending[i]): pass 2 grants it. */
  int npending = 0;
  for (int i = 0; i < n; i++) {
    weir__policy_op *op = &ops[i];
    weir__policy_decision *d = &out[i];
    memset(d, 0, sizeof *d);
    double blocked = op->busy_seconds > 1e-9 ? op->blocked_seconds / op->busy_seconds : 0;
    d->demand = demand_of(op, window);
    d->target = op->input_done ? op->min_workers : d->demand * scale;
    if (d->target < op->min_workers) d->target = op->min_workers;
    if (d->target > max_of(op)) d->target = max_of(op);

    const char *why;
    wish_kind wish = wish_of(ops, n, i, b, tuning, d, blocked, &why);
    int ready = hysteresis(op, &wish, tuning, &why);
    if (ready && wish == WISH_SHRINK) {
      d->delta = -1;
      moved(op, -1, tuning);
      h.cpu_used -= per_second(op->cpu_seconds + op->runq_seconds, window) /
                    (op->workers > 0 ? op->workers : 1);
      held_move(&h, op, b, -1);
    } else if (ready) {
      d->shift = wish == WISH_SHIFT;
      d->delta = +1; /* pending: pass 2 checks the budgets */
      npending++;
    }
    snprintf(d->reason, sizeof d->reason,
             "%s: workers %d, computing %.2f, util %.2f, blocked %.0f%%, queue %.0f%%, cpu share %.2f, target %.1f",
             why, op->workers, d->demand, op->workers > 0 ? d->demand / op->workers : 0,
             100 * blocked, 100 * op->queue_fill, cpu_share(op, tuning), d->target);
  }

  /* Pass 2: the pending grows, the one furthest below its target first,
   * each only if it fits. A pending grow has delta > 0 and has not moved
   * this tick (since_move > 0, counted up by the hysteresis); granting
   * one sets since_move to 0, refusing it sets delta to 0, so each is
   * weighed once. */
  for (; npending > 0; npending--) {
    int best = -1;
    double best_gap = 0;
    for (int i = 0; i < n; i++) {
      if (out[i].delta <= 0 || ops[i].since_move == 0) continue;
      double gap = out[i].target - ops[i].workers;
      if (best < 0 || gap > best_gap) { best = i; best_gap = gap; }
    }
    if (best < 0) break;
    grant_grow(&ops[best], &out[best], b, tuning, &h);
  }
}
