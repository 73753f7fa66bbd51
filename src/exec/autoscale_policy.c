/* The adaptive scheduler's decision function: a load model per operator and
 * one-step moves toward the allocation it prefers, with hysteresis. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec/autoscale_policy.h"

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
  t->ticks_to_act = 2;
  t->cooldown_ticks = 2;
  t->cpu_floor = 0.05;
  t->memory_high = 0.85;
  t->min_headroom = 0.15;
  t->oversubscription = 2.0;
  t->reverse_ticks = 0;
  t->rebalance_utilisation = 0.95;
  t->rebalance_fill = 0.9;
  t->waiting_share = 0.25;
}

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* Average number of workers computing (not blocked) over the window. */
static double demand_of(const weir__policy_op *op, double window) {
  if (window <= 0) return 0;
  double active = op->busy_seconds - op->blocked_seconds;
  return active > 0 ? active / window : 0;
}

/* Share of a computing worker's wall time spent on the CPU: near 1 for
 * compute, near 0 for a worker that waits on I/O or a device. */
static double cpu_share(const weir__policy_op *op, const weir__policy_tuning *t) {
  double active = op->busy_seconds - op->blocked_seconds;
  if (active <= 1e-9) return 1.0; /* unmeasured: assume compute */
  double share = clamp01(op->cpu_seconds / active);
  return share < t->cpu_floor ? t->cpu_floor : share;
}

double weir__policy_cpu_charge(const weir__policy_op *op, int workers,
                               const weir__policy_tuning *t) {
  return workers * op->cpus_per_worker * cpu_share(op, t);
}

static int max_of(const weir__policy_op *op) {
  return op->max_workers > 0 ? op->max_workers : 1 << 20;
}

/* 1 when one more worker of `op` fits the GPU and named-resource budgets
 * given what is already held. */
static int fits_held_resources(const weir__policy_op *op, const double *gpus_held,
                               const double *res_held,
                               const weir__policy_budget *b) {
  if (op->gpus_per_worker > 0 && *gpus_held + op->gpus_per_worker > b->gpus + 1e-9)
    return 0;
  for (int r = 0; r < b->num_resources; r++)
    if (op->resources_per_worker[r] > 0 &&
        res_held[r] + op->resources_per_worker[r] > b->resources[r] + 1e-9)
      return 0;
  return 1;
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
  double cpu_used = 0, nominal = 0, total_demand_cost = 0;
  double gpus_held = 0, res_held[WEIR__POLICY_MAX_RESOURCES] = {0};
  for (int i = 0; i < n; i++) {
    const weir__policy_op *op = &ops[i];
    cpu_used += op->cpu_seconds / (window > 0 ? window : 1);
    nominal += op->workers * op->cpus_per_worker;
    gpus_held += op->workers * op->gpus_per_worker;
    for (int r = 0; r < b->num_resources; r++)
      res_held[r] += op->workers * op->resources_per_worker[r];
    if (!op->input_done)
      total_demand_cost += demand_of(op, window) * op->cpus_per_worker * cpu_share(op, tuning);
  }
  /* The model's scale: how far throughput could rise if CPU were shared in
   * proportion to demand. */
  double scale = total_demand_cost > 1e-9 ? b->cpus / total_demand_cost : 1.0;

  /* Pass 1: wishes, streaks and shrinks. Shrinks free budget before any
   * grow is weighed, so no intermediate state exceeds a budget. */
  for (int i = 0; i < n; i++) {
    weir__policy_op *op = &ops[i];
    weir__policy_decision *d = &out[i];
    memset(d, 0, sizeof *d);
    double demand = demand_of(op, window);
    double util = op->workers > 0 ? demand / op->workers : 0;
    double blocked = op->busy_seconds > 1e-9 ? op->blocked_seconds / op->busy_seconds : 0;
    d->demand = demand;
    d->target = op->input_done ? op->min_workers : demand * scale;
    if (d->target < op->min_workers) d->target = op->min_workers;
    if (d->target > max_of(op)) d->target = max_of(op);

    int wish = 0;
    const char *why = "balanced";
    /* On a saturated CPU the model sees no room; but an operator whose
     * input is backed up while others starve or wait can still gain: the
     * OS shares CPU by runnable thread, so one more worker here moves CPU
     * to it from the operators with slack (within the oversubscription
     * cap). */
    int rebalance = !op->pinned && !op->input_done && util > tuning->rebalance_utilisation &&
                    blocked < 0.1 && op->queue_fill >= tuning->rebalance_fill &&
                    op->workers < max_of(op) && op->cpus_per_worker > 0 &&
                    others_have_slack(ops, n, i, window, tuning);
    if (op->pinned) {
      why = "pinned";
    } else if (op->input_done) {
      if (op->workers > op->min_workers) { wish = -1; why = "input finished"; }
    } else if (util > tuning->grow_utilisation && blocked < 0.2 &&
               (op->queue_fill > 0.05 || op->queued_per_worker >= 1.0 ||
                (op->is_source && op->output_fill < 0.5)) &&
               op->workers < max_of(op) && d->target > op->workers + 0.05) {
      wish = +1;
      why = "limits throughput";
      if (op->is_source && b->memory_fill > tuning->memory_high) {
        wish = 0;
        why = "memory near budget: source held";
      }
    } else if (rebalance) {
      wish = +1;
      why = "bottleneck on a saturated CPU: shifts CPU share to it";
    } else if (op->workers > op->min_workers &&
               demand / (op->workers - 1) < tuning->shrink_utilisation &&
               d->target < op->workers - 0.5) {
      wish = -1;
      why = blocked > 0.5 ? "blocked on output" : "idle";
    }

    op->since_move++;
    if (wish != 0 && wish == -op->last_delta && op->since_move <= tuning->reverse_ticks &&
        !op->input_done) {
      why = "holding: the last move was the other way";
      wish = 0;
    }
    if (op->cooldown > 0) {
      op->cooldown--;
      op->streak = 0;
      if (wish) why = "cooling down after a move";
      wish = 0;
    } else if (wish == 0) {
      op->streak = 0;
    } else if ((wish > 0) == (op->streak > 0)) {
      op->streak += wish;
    } else {
      op->streak = wish;
    }
    int ready = op->streak >= tuning->ticks_to_act || -op->streak >= tuning->ticks_to_act ||
                (wish < 0 && op->input_done);
    if (wish < 0 && ready) {
      d->delta = -1;
      op->last_delta = -1;
      op->since_move = 0;
      op->streak = 0;
      op->cooldown = tuning->cooldown_ticks;
      cpu_used -= op->cpu_seconds / (window > 0 ? window : 1) / (op->workers > 0 ? op->workers : 1);
      nominal -= op->cpus_per_worker;
      gpus_held -= op->gpus_per_worker;
      for (int r = 0; r < b->num_resources; r++) res_held[r] -= op->resources_per_worker[r];
    } else if (wish > 0 && ready) {
      d->delta = rebalance ? +3 : +1; /* provisional: pass 2 checks the budgets */
    }
    snprintf(d->reason, sizeof d->reason,
             "%s: workers %d, computing %.2f, util %.2f, blocked %.0f%%, queue %.0f%%, cpu share %.2f, target %.1f",
             why, op->workers, demand, util, 100 * blocked, 100 * op->queue_fill,
             cpu_share(op, tuning), d->target);
  }

  /* Pass 2: grows, most utilised first, each only if it fits. A pool whose
   * workers mostly wait (I/O, a device) grows toward the model's target by
   * up to doubling in one move: each worker costs almost no CPU, and one
   * worker at a time would take seconds to reach the dozen that a slow
   * store needs. */
  int granted[n > 0 ? n : 1];
  memset(granted, 0, sizeof granted);
  for (;;) {
    int best = -1;
    double best_gap = 0;
    for (int i = 0; i < n; i++) {
      if (granted[i] || (out[i].delta != +1 && out[i].delta != +3) || ops[i].cooldown) continue;
      double gap = out[i].target - ops[i].workers;
      if (best < 0 || gap > best_gap) { best = i; best_gap = gap; }
    }
    if (best < 0) break;
    weir__policy_op *op = &ops[best];
    weir__policy_decision *d = &out[best];
    double cost = op->cpus_per_worker * cpu_share(op, tuning);
    int shift = d->delta == +3; /* takes CPU share, needs no idle CPU */
    int want = 1;
    if (!shift && cpu_share(op, tuning) < tuning->waiting_share) {
      int gap = (int)(d->target - op->workers);
      want = gap < op->workers ? gap : op->workers;
      if (want > max_of(op) - op->workers) want = max_of(op) - op->workers;
      if (want < 1) want = 1;
    }
    int added = 0;
    double idle = b->cpus - cpu_used;
    while (added < want) {
      idle = b->cpus - cpu_used;
      int fits = fits_held_resources(op, &gpus_held, res_held, b) &&
                 (shift || cost <= 1e-9 || idle >= tuning->min_headroom * op->cpus_per_worker) &&
                 nominal + op->cpus_per_worker <= tuning->oversubscription * b->cpus + 1e-9;
      if (!fits) break;
      /* The new worker can use at most what is idle: the projection stays
       * within the budget. */
      cpu_used += cost < idle ? cost : idle;
      nominal += op->cpus_per_worker;
      gpus_held += op->gpus_per_worker;
      for (int r = 0; r < b->num_resources; r++) res_held[r] += op->resources_per_worker[r];
      added++;
    }
    granted[best] = 1;
    size_t len = strlen(d->reason);
    if (added == 0) {
      d->delta = 0;
      snprintf(d->reason + len, sizeof d->reason - len, "; no budget (cpu idle %.2f)", idle);
      continue;
    }
    if (shift && idle < tuning->min_headroom * op->cpus_per_worker)
      snprintf(d->reason + len, sizeof d->reason - len,
               "; CPU saturated (idle %.2f): shifts CPU share to it", idle);
    else if (added > 1)
      snprintf(d->reason + len, sizeof d->reason - len,
               "; workers mostly wait: grows by %d", added);
    op->streak = 0;
    op->cooldown = tuning->cooldown_ticks;
    op->last_delta = +1;
    op->since_move = 0;
    d->delta = added;
  }
}
