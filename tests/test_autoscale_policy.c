/* The adaptive scheduler's decision function (exec/autoscale_policy.c) on
 * synthetic measurements: no threads, no clocks, every answer checked,
 * with the tuning the scheduler ships (weir__policy_defaults, which
 * control.c uses as it is). */
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

/* ---- A saturated CPU ------------------------------------------------------
 * The bottleneck still grows when others have slack, shifting CPU share to
 * it, never above the oversubscription cap, and not at all when nobody has
 * slack. */

/* `cpu` is the CPU seconds it got in the window: the ops of a test add up
 * to the two CPUs of the budget, so the CPU is saturated. */
static weir__policy_op sat_op(const char *name, int workers, double util, double fill, double cpu) {
  weir__policy_op o;
  memset(&o, 0, sizeof o);
  o.name = name;
  o.min_workers = 1;
  o.cpus_per_worker = 1;
  o.workers = workers;
  /* One-second window: busy = util * workers; CPU use equal (compute). */
  o.busy_seconds = util * workers;
  o.cpu_seconds = cpu;
  o.queue_fill = fill;
  return o;
}

static weir__policy_budget saturated(void) {
  weir__policy_budget b;
  memset(&b, 0, sizeof b);
  b.window_seconds = 1;
  b.cpus = 2;
  return b;
}

Test(policy, saturated_bottleneck_takes_share_from_ops_with_slack) {
  weir__policy_budget b = saturated();
  /* 1:4:2 on two cores, one worker each: the middle one is backed up. */
  weir__policy_op ops[3] = {sat_op("a", 1, 0.5, 0, 0.3), sat_op("b", 1, 1.0, 1.0, 1.0),
                            sat_op("c", 1, 0.6, 0.2, 0.7)};
  ops[0].is_source = 1;
  weir__policy_decision d[3];
  int moved_at = -1;
  for (int tick = 0; tick < 6 && moved_at < 0; tick++) {
    weir__policy_decide(ops, 3, &b, &tuning, d);
    if (d[1].delta == 1)
      moved_at = tick;
    cr_assert_eq(d[0].delta, 0, "%s", d[0].reason);
    cr_assert_eq(d[2].delta, 0, "%s", d[2].reason);
  }
  cr_assert_geq(moved_at, 1, "the wish must hold for more than one tick");
  cr_assert(strstr(d[1].reason, "saturated"), "%s", d[1].reason);
}

Test(policy, never_above_the_oversubscription_cap) {
  weir__policy_budget b = saturated();
  weir__policy_op ops[2] = {sat_op("slack", 1, 0.3, 0, 0.3), sat_op("hot", 1, 1.0, 1.0, 1.7)};
  weir__policy_decision d[2];
  for (int tick = 0; tick < 100; tick++) {
    ops[1].busy_seconds = ops[1].workers; /* stays saturated */
    weir__policy_decide(ops, 2, &b, &tuning, d);
    for (int i = 0; i < 2; i++)
      ops[i].workers += d[i].delta;
    cr_assert_leq(ops[0].workers + ops[1].workers, tuning.oversubscription * b.cpus,
                  "nominal slots above %g x %g cpus", tuning.oversubscription, b.cpus);
  }
  cr_assert_eq(ops[1].workers, (int)(tuning.oversubscription * b.cpus) - 1,
               "grew up to the cap and stopped");
}

Test(policy, no_slack_anywhere_no_move) {
  weir__policy_budget b = saturated();
  weir__policy_op ops[2] = {sat_op("x", 1, 1.0, 1.0, 1.0), sat_op("y", 1, 1.0, 1.0, 1.0)};
  weir__policy_decision d[2];
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(ops, 2, &b, &tuning, d);
    cr_assert_eq(d[0].delta, 0, "%s", d[0].reason);
    cr_assert_eq(d[1].delta, 0, "%s", d[1].reason);
  }
}

Test(policy, pinned_and_blocked_do_not_rebalance) {
  weir__policy_budget b = saturated();
  weir__policy_op ops[3] = {sat_op("slack", 1, 0.2, 0, 0.2), sat_op("pinned", 2, 1.0, 1.0, 1.0),
                            sat_op("blocked", 1, 1.0, 1.0, 0.8)};
  ops[1].pinned = 1;
  ops[2].blocked_seconds = 0.5; /* waits on its output half the time */
  weir__policy_decision d[3];
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(ops, 3, &b, &tuning, d);
    cr_assert_eq(d[1].delta, 0, "%s", d[1].reason);
    cr_assert_leq(d[2].delta, 0, "%s", d[2].reason);
  }
}

Test(policy, a_move_back_waits_for_reverse_ticks) {
  cr_assert_gt(tuning.reverse_ticks, 0, "the shipped tuning holds a move back");
  weir__policy_budget b;
  memset(&b, 0, sizeof b);
  b.window_seconds = 1;
  b.cpus = 2;
  /* "w" is saturated for a while (grows), then nearly idle (would shrink
   * at once); "other" is pinned and uses the rest of the CPU. */
  weir__policy_op o[2];
  memset(o, 0, sizeof o);
  o[0].name = "w";
  o[0].min_workers = 1;
  o[0].cpus_per_worker = 1;
  o[0].workers = 1;
  o[1].name = "other";
  o[1].min_workers = o[1].max_workers = 1;
  o[1].pinned = 1;
  o[1].cpus_per_worker = 1;
  o[1].workers = 1;
  weir__policy_decision d[2];
  int grew_at = -1, shrank_at = -1;
  for (int tick = 0; tick < 40; tick++) {
    int busy_phase = grew_at < 0;
    o[0].busy_seconds = busy_phase ? o[0].workers : 0.1;
    o[0].cpu_seconds = busy_phase ? 0.5 : 0.1;
    o[0].queue_fill = busy_phase ? 1.0 : 0.0;
    o[1].busy_seconds = o[1].cpu_seconds = 1.0;
    weir__policy_decide(o, 2, &b, &tuning, d);
    o[0].workers += d[0].delta;
    if (d[0].delta > 0 && grew_at < 0)
      grew_at = tick;
    if (d[0].delta < 0 && shrank_at < 0)
      shrank_at = tick;
  }
  cr_assert_geq(grew_at, 0);
  cr_assert_geq(shrank_at, 0, "shrinks in the end");
  cr_assert_gt(shrank_at - grew_at, tuning.reverse_ticks, "grew at %d, shrank at %d", grew_at,
               shrank_at);
}

Test(policy, a_source_whose_output_waits_does_not_grow) {
  weir__policy_budget b;
  memset(&b, 0, sizeof b);
  b.window_seconds = 1;
  b.cpus = 4;
  weir__policy_op s;
  memset(&s, 0, sizeof s);
  s.name = "src";
  s.is_source = 1;
  s.min_workers = 1;
  s.cpus_per_worker = 1;
  s.workers = 1;
  s.busy_seconds = s.cpu_seconds = 1.0; /* busy all the time */
  s.output_fill = 0.9;                  /* but its output piles up */
  weir__policy_decision d;
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(&s, 1, &b, &tuning, &d);
    cr_assert_eq(d.delta, 0, "tick %d: %s", tick, d.reason);
  }
  s.output_fill = 0.0; /* downstream starves: now it limits throughput */
  int grew = 0;
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(&s, 1, &b, &tuning, &d);
    grew += d.delta > 0;
  }
  cr_assert_gt(grew, 0);
}

/* ---- A loaded machine --------------------------------------------------- */

/* Other CPU-bound processes share the cores: a compute worker gets a fifth
 * of the CPU and spends most of the rest of its call in the run queue. It
 * still wants the CPU, so it is charged as compute, and it does not grow
 * by doubling as a pool whose workers wait on I/O would. */
Test(policy, run_queue_waiting_counts_as_cpu_demand) {
  weir__policy_op op = cpu_op("compute", 2, 2.0, 1.0);
  op.cpu_seconds = 0.4;
  op.runq_seconds = 1.5;
  cr_assert_gt(weir__policy_cpu_charge(&op, op.workers, &tuning), 1.8,
               "charged as compute: %.2f", weir__policy_cpu_charge(&op, op.workers, &tuning));
  weir__policy_op io = op;
  io.runq_seconds = 0; /* the same CPU, the rest asleep: it waits on I/O */
  cr_assert_lt(weir__policy_cpu_charge(&io, io.workers, &tuning), 0.7);
  budget.cpus = 8;
  weir__policy_decision d[1];
  for (int t = 0; t < 8; t++) {
    weir__policy_decide(&op, 1, &budget, &tuning, d);
    cr_assert_leq(d[0].delta, 1, "tick %d: a compute pool grows one worker at a time: %s", t,
                  d[0].reason);
    op.workers += d[0].delta;
  }
}

/* Passing no tuning is the shipped tuning, which is what the scheduler
 * runs with. */
Test(policy, no_tuning_means_the_defaults) {
  weir__policy_op a[3] = {cpu_op("a", 1, 0.5, 0), cpu_op("b", 1, 1.0, 1.0), cpu_op("c", 1, 0.9, 0.5)};
  weir__policy_op b[3];
  memcpy(b, a, sizeof a);
  weir__policy_decision da[3], db[3];
  for (int t = 0; t < 12; t++) {
    weir__policy_decide(a, 3, &budget, NULL, da);
    weir__policy_decide(b, 3, &budget, &tuning, db);
    for (int i = 0; i < 3; i++) {
      cr_assert_eq(da[i].delta, db[i].delta, "tick %d op %d", t, i);
      a[i].workers += da[i].delta;
      b[i].workers += db[i].delta;
    }
  }
}
