/* The adaptive scheduler's decision function on synthetic measurements: no
 * threads, no clocks, every answer checked. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "exec/autoscale_policy.h"

static weir__policy_tuning tuning;
static weir__policy_budget budget;

static void setup(void) {
  weir__policy_defaults(&tuning);
  memset(&budget, 0, sizeof budget);
  budget.window_seconds = 1.0;
  budget.cpus = 4;
}

TestSuite(policy, .init = setup);

/* A CPU-bound operator with `workers` workers, `computing` of them busy on
 * average, and an input queue `fill` full. */
static weir__policy_op cpu_op(const char *name, int workers, double computing, double fill) {
  weir__policy_op op;
  memset(&op, 0, sizeof op);
  op.name = name;
  op.min_workers = 1;
  op.cpus_per_worker = 1;
  op.workers = workers;
  op.busy_seconds = computing;
  op.cpu_seconds = computing;
  op.queue_fill = fill;
  return op;
}

/* Runs `ticks` ticks with the same measurements and applies the moves. */
static void run_ticks(weir__policy_op *ops, int n, int ticks, weir__policy_decision *d) {
  for (int t = 0; t < ticks; t++) {
    weir__policy_decide(ops, n, &budget, &tuning, d);
    for (int i = 0; i < n; i++) ops[i].workers += d[i].delta;
  }
}

Test(policy, grows_the_bottleneck_after_the_wish_holds) {
  /* Costs 1:4:2 with one worker each: the middle stage is saturated and
   * its queue is full; the others wait on it. */
  weir__policy_op ops[3] = {cpu_op("a", 1, 0.25, 0.0), cpu_op("b", 1, 1.0, 0.9),
                            cpu_op("c", 1, 0.5, 0.0)};
  weir__policy_decision d[3];
  weir__policy_decide(ops, 3, &budget, &tuning, d);
  cr_assert_eq(d[1].delta, 0, "one tick is not enough: hysteresis");
  weir__policy_decide(ops, 3, &budget, &tuning, d);
  cr_assert_eq(d[1].delta, +1, "%s", d[1].reason);
  cr_assert_eq(d[0].delta, 0);
  cr_assert_eq(d[2].delta, 0);
  cr_assert(strstr(d[1].reason, "limits throughput") != NULL, "%s", d[1].reason);
  cr_assert_gt(d[1].target, 1.0);
}

Test(policy, shrinks_the_idle_but_not_below_min) {
  weir__policy_op ops[2] = {cpu_op("idle", 4, 0.4, 0.0), cpu_op("busy", 2, 2.0, 0.8)};
  ops[0].min_workers = 2;
  weir__policy_decision d[2];
  run_ticks(ops, 2, 20, d);
  cr_assert_eq(ops[0].workers, 2, "shrinks to its minimum and stops there");
}

Test(policy, respects_max_workers) {
  weir__policy_op ops[1] = {cpu_op("src", 2, 2.0, 1.0)};
  ops[0].max_workers = 3;
  ops[0].is_source = 1;
  budget.cpus = 64;
  weir__policy_decision d[1];
  for (int t = 0; t < 30; t++) {
    ops[0].busy_seconds = ops[0].cpu_seconds = ops[0].workers; /* always saturated */
    weir__policy_decide(ops, 1, &budget, &tuning, d);
    ops[0].workers += d[0].delta;
    cr_assert_leq(ops[0].workers, 3);
  }
  cr_assert_eq(ops[0].workers, 3);
}

Test(policy, holds_still_inside_the_hysteresis_band) {
  /* Utilisation between the shrink and grow thresholds: no move, ever. */
  weir__policy_op ops[2] = {cpu_op("a", 2, 1.5, 0.5), cpu_op("b", 2, 1.5, 0.5)};
  weir__policy_decision d[2];
  for (int t = 0; t < 50; t++) {
    weir__policy_decide(ops, 2, &budget, &tuning, d);
    cr_assert_eq(d[0].delta, 0, "tick %d: %s", t, d[0].reason);
    cr_assert_eq(d[1].delta, 0, "tick %d: %s", t, d[1].reason);
  }
}

Test(policy, an_alternating_signal_never_moves) {
  weir__policy_op ops[1] = {cpu_op("a", 2, 2.0, 0.9)};
  weir__policy_decision d[1];
  for (int t = 0; t < 40; t++) {
    /* Saturated on even ticks, nearly idle on odd ones. */
    double computing = t % 2 ? 0.2 : 2.0;
    ops[0].busy_seconds = ops[0].cpu_seconds = computing;
    weir__policy_decide(ops, 1, &budget, &tuning, d);
    cr_assert_eq(d[0].delta, 0, "tick %d moved: %s", t, d[0].reason);
  }
}

Test(policy, waits_after_a_move_before_moving_again) {
  weir__policy_op ops[1] = {cpu_op("a", 1, 1.0, 1.0)};
  ops[0].is_source = 1;
  budget.cpus = 16;
  weir__policy_decision d[1];
  int last_move = -100;
  for (int t = 0; t < 30; t++) {
    ops[0].busy_seconds = ops[0].cpu_seconds = ops[0].workers;
    weir__policy_decide(ops, 1, &budget, &tuning, d);
    if (d[0].delta) {
      cr_assert_gt(t - last_move, tuning.cooldown_ticks, "moved at %d and %d", last_move, t);
      last_move = t;
    }
    ops[0].workers += d[0].delta;
  }
  cr_assert_gt(ops[0].workers, 3, "kept growing while saturated");
}

Test(policy, finished_input_releases_workers_at_once) {
  weir__policy_op ops[1] = {cpu_op("a", 4, 0.0, 0.0)};
  ops[0].input_done = 1;
  weir__policy_decision d[1];
  weir__policy_decide(ops, 1, &budget, &tuning, d);
  cr_assert_eq(d[0].delta, -1, "%s", d[0].reason);
  cr_assert(strstr(d[0].reason, "input finished") != NULL);
}

Test(policy, gpu_and_named_resources_are_never_exceeded) {
  budget.gpus = 1;
  budget.num_resources = 1;
  budget.resources[0] = 2; /* {"accel": 2} */
  weir__policy_op ops[3] = {cpu_op("pre", 1, 1.0, 0.9), cpu_op("accel", 1, 1.0, 0.9),
                            cpu_op("gpu", 1, 1.0, 0.9)};
  ops[1].resources_per_worker[0] = 1;
  ops[1].cpu_seconds = 0.02; /* waits on the accelerator */
  ops[2].gpus_per_worker = 1;
  ops[2].cpus_per_worker = 0;
  weir__policy_decision d[3];
  for (int t = 0; t < 40; t++) {
    for (int i = 0; i < 3; i++) ops[i].busy_seconds = ops[i].workers;
    ops[0].cpu_seconds = ops[0].workers;
    ops[1].cpu_seconds = 0.02 * ops[1].workers;
    weir__policy_decide(ops, 3, &budget, &tuning, d);
    for (int i = 0; i < 3; i++) ops[i].workers += d[i].delta;
    cr_assert_leq(ops[1].workers * ops[1].resources_per_worker[0], 2.0);
    cr_assert_leq(ops[2].workers * ops[2].gpus_per_worker, 1.0);
  }
  cr_assert_eq(ops[1].workers, 2, "the waiting operator takes both accel slots");
  cr_assert_eq(ops[2].workers, 1);
}

Test(policy, a_waiting_operator_grows_without_cpu_headroom) {
  /* CPU fully used by a compute stage; an I/O stage that mostly waits can
   * still grow, because it is charged what it uses. */
  budget.cpus = 2;
  weir__policy_op ops[2] = {cpu_op("io", 1, 1.0, 0.9), cpu_op("cpu", 2, 1.8, 0.1)};
  ops[0].is_source = 1;
  ops[0].cpu_seconds = 0.03;
  weir__policy_decision d[2];
  run_ticks(ops, 2, 2, d);
  cr_assert_eq(ops[0].workers, 2, "%s", d[0].reason);
  cr_assert_lt(weir__policy_cpu_charge(&ops[0], ops[0].workers, &tuning), 0.2);
}

Test(policy, memory_pressure_holds_sources) {
  budget.memory_fill = 0.95;
  weir__policy_op ops[1] = {cpu_op("src", 1, 1.0, 1.0)};
  ops[0].is_source = 1;
  weir__policy_decision d[1];
  run_ticks(ops, 1, 5, d);
  cr_assert_eq(ops[0].workers, 1);
  cr_assert(strstr(d[0].reason, "memory") != NULL, "%s", d[0].reason);
}

Test(policy, pinned_pools_never_move) {
  weir__policy_op ops[2] = {cpu_op("a", 3, 0.0, 0.0), cpu_op("b", 1, 1.0, 1.0)};
  ops[0].pinned = ops[1].pinned = 1;
  weir__policy_decision d[2];
  run_ticks(ops, 2, 10, d);
  cr_assert_eq(ops[0].workers, 3);
  cr_assert_eq(ops[1].workers, 1);
}

Test(policy, never_exceeds_budgets_on_random_measurements) {
  srand(7);
  for (int round = 0; round < 200; round++) {
    setup();
    budget.cpus = 1 + rand() % 8;
    budget.gpus = rand() % 3;
    budget.num_resources = 1;
    budget.resources[0] = rand() % 4;
    int n = 1 + rand() % 5;
    weir__policy_op ops[5];
    for (int i = 0; i < n; i++) {
      ops[i] = cpu_op("x", 1, 0, 0);
      ops[i].max_workers = rand() % 3 ? 0 : 1 + rand() % 6;
      ops[i].gpus_per_worker = (rand() % 4 == 0 && budget.gpus >= 1) ? 1 : 0;
      ops[i].resources_per_worker[0] = (rand() % 4 == 0 && budget.resources[0] >= 1) ? 1 : 0;
      ops[i].is_source = i == 0;
    }
    weir__policy_decision d[5];
    for (int t = 0; t < 30; t++) {
      for (int i = 0; i < n; i++) {
        double busy = ops[i].workers * (rand() % 101) / 100.0;
        ops[i].busy_seconds = busy;
        ops[i].blocked_seconds = busy * (rand() % 30) / 100.0;
        ops[i].cpu_seconds = (busy - ops[i].blocked_seconds) * (rand() % 101) / 100.0;
        ops[i].queue_fill = (rand() % 101) / 100.0;
      }
      weir__policy_decide(ops, n, &budget, &tuning, d);
      double gpus = 0, res = 0, nominal = 0;
      for (int i = 0; i < n; i++) {
        cr_assert(d[i].delta >= -1 && d[i].delta <= (ops[i].workers > 1 ? ops[i].workers : 1),
                  "a move shrinks by one or at most doubles: %d at %d", d[i].delta, ops[i].workers);
        ops[i].workers += d[i].delta;
        cr_assert_geq(ops[i].workers, ops[i].min_workers);
        if (ops[i].max_workers) cr_assert_leq(ops[i].workers, ops[i].max_workers);
        gpus += ops[i].workers * ops[i].gpus_per_worker;
        res += ops[i].workers * ops[i].resources_per_worker[0];
        nominal += ops[i].workers * ops[i].cpus_per_worker;
      }
      /* Minimums may already exceed a budget; moves never add to that. */
      double min_gpus = 0, min_res = 0, min_nominal = 0;
      for (int i = 0; i < n; i++) {
        min_gpus += ops[i].min_workers * ops[i].gpus_per_worker;
        min_res += ops[i].min_workers * ops[i].resources_per_worker[0];
        min_nominal += ops[i].min_workers * ops[i].cpus_per_worker;
      }
      cr_assert_leq(gpus, budget.gpus > min_gpus ? budget.gpus : min_gpus);
      cr_assert_leq(res, budget.resources[0] > min_res ? budget.resources[0] : min_res);
      double cap = tuning.oversubscription * budget.cpus;
      cr_assert_leq(nominal, cap > min_nominal ? cap : min_nominal);
    }
  }
}

Test(policy, a_waiting_pool_far_below_target_grows_by_up_to_doubling) {
  /* A store read that waits 8 ms per block next to a compute stage with
   * idle CPU: the model wants many readers, and each costs almost no CPU. */
  weir__policy_op ops[2] = {cpu_op("read", 2, 2.0, 0.0), cpu_op("parse", 1, 0.3, 0.0)};
  ops[0].is_source = 1;
  ops[0].cpu_seconds = 0.04;
  ops[0].max_workers = 3;
  weir__policy_decision d[2];
  weir__policy_decide(ops, 2, &budget, &tuning, d);
  weir__policy_decide(ops, 2, &budget, &tuning, d);
  cr_assert_eq(d[0].delta, 1, "capped by max_workers 3: %s", d[0].reason);

  ops[0].workers = 2;
  ops[0].max_workers = 0;
  ops[0].streak = ops[0].cooldown = 0;
  weir__policy_decide(ops, 2, &budget, &tuning, d);
  weir__policy_decide(ops, 2, &budget, &tuning, d);
  cr_assert_eq(d[0].delta, 2, "doubles: %s", d[0].reason);
  cr_assert(strstr(d[0].reason, "grows by 2") != NULL, "%s", d[0].reason);
  cr_assert_eq(d[1].delta, 0);

  /* A compute pool in the same place grows by one. */
  weir__policy_op cpu[2] = {cpu_op("map", 2, 2.0, 0.9), cpu_op("sink", 1, 0.1, 0.0)};
  weir__policy_decide(cpu, 2, &budget, &tuning, d);
  weir__policy_decide(cpu, 2, &budget, &tuning, d);
  cr_assert_eq(d[0].delta, 1, "%s", d[0].reason);
}

Test(policy, a_doubling_move_stops_at_a_named_resource) {
  budget.num_resources = 1;
  budget.resources[0] = 5; /* {"conn": 5}: 4 held, room for one more */
  weir__policy_op ops[1] = {cpu_op("fetch", 4, 4.0, 0.9)};
  ops[0].cpu_seconds = 0.1;
  ops[0].resources_per_worker[0] = 1;
  weir__policy_decision d[1];
  run_ticks(ops, 1, 6, d);
  cr_assert_eq(ops[0].workers, 5, "%s", d[0].reason);
}
