/* Unit tests of the policy's rule for a saturated CPU, on synthetic
 * measurements (no threads, no clocks): the bottleneck still grows when
 * others have slack, shifting CPU share to it, never above the
 * oversubscription cap, and not at all when nobody has slack. */
#include <criterion/criterion.h>
#include <string.h>

#include "exec/autoscale_policy.h"

/* `cpu` is the CPU seconds it got in the window: the ops of a test add up
 * to the two CPUs of the budget, so the CPU is saturated. */
static weir__policy_op op(const char *name, int workers, double util, double fill, double cpu) {
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

Test(sched_policy, saturated_bottleneck_takes_share_from_ops_with_slack) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
  t.oversubscription = 4;
  weir__policy_budget b = saturated();
  /* 1:4:2 on two cores, one worker each: the middle one is backed up. */
  weir__policy_op ops[3] = {op("a", 1, 0.5, 0, 0.3), op("b", 1, 1.0, 1.0, 1.0),
                            op("c", 1, 0.6, 0.2, 0.7)};
  ops[0].is_source = 1;
  weir__policy_decision d[3];
  int moved_at = -1;
  for (int tick = 0; tick < 6 && moved_at < 0; tick++) {
    weir__policy_decide(ops, 3, &b, &t, d);
    if (d[1].delta == 1)
      moved_at = tick;
    cr_assert_eq(d[0].delta, 0, "%s", d[0].reason);
    cr_assert_eq(d[2].delta, 0, "%s", d[2].reason);
  }
  cr_assert_geq(moved_at, 1, "the wish must hold for more than one tick");
  cr_assert(strstr(d[1].reason, "saturated"), "%s", d[1].reason);
}

Test(sched_policy, never_above_the_oversubscription_cap) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
  t.oversubscription = 4;
  weir__policy_budget b = saturated();
  weir__policy_op ops[2] = {op("slack", 1, 0.3, 0, 0.3), op("hot", 1, 1.0, 1.0, 1.7)};
  weir__policy_decision d[2];
  for (int tick = 0; tick < 100; tick++) {
    ops[1].busy_seconds = ops[1].workers; /* stays saturated */
    weir__policy_decide(ops, 2, &b, &t, d);
    for (int i = 0; i < 2; i++)
      ops[i].workers += d[i].delta;
    cr_assert_leq(ops[0].workers + ops[1].workers, 8, "nominal slots above 4 x 2 cpus");
  }
  cr_assert_eq(ops[1].workers, 7, "grew up to the cap and stopped");
}

Test(sched_policy, no_slack_anywhere_no_move) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
  t.oversubscription = 4;
  weir__policy_budget b = saturated();
  weir__policy_op ops[2] = {op("x", 1, 1.0, 1.0, 1.0), op("y", 1, 1.0, 1.0, 1.0)};
  weir__policy_decision d[2];
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(ops, 2, &b, &t, d);
    cr_assert_eq(d[0].delta, 0, "%s", d[0].reason);
    cr_assert_eq(d[1].delta, 0, "%s", d[1].reason);
  }
}

Test(sched_policy, pinned_and_blocked_do_not_rebalance) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
  weir__policy_budget b = saturated();
  weir__policy_op ops[3] = {op("slack", 1, 0.2, 0, 0.2), op("pinned", 2, 1.0, 1.0, 1.0),
                            op("blocked", 1, 1.0, 1.0, 0.8)};
  ops[1].pinned = 1;
  ops[2].blocked_seconds = 0.5; /* waits on its output half the time */
  weir__policy_decision d[3];
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(ops, 3, &b, &t, d);
    cr_assert_eq(d[1].delta, 0, "%s", d[1].reason);
    cr_assert_leq(d[2].delta, 0, "%s", d[2].reason);
  }
}

Test(sched_policy, a_move_back_waits_for_reverse_ticks) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
  t.reverse_ticks = 10;
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
    weir__policy_decide(o, 2, &b, &t, d);
    o[0].workers += d[0].delta;
    if (d[0].delta > 0 && grew_at < 0)
      grew_at = tick;
    if (d[0].delta < 0 && shrank_at < 0)
      shrank_at = tick;
  }
  cr_assert_geq(grew_at, 0);
  cr_assert_geq(shrank_at, 0, "shrinks in the end");
  cr_assert_gt(shrank_at - grew_at, 10, "grew at %d, shrank at %d", grew_at, shrank_at);
}

Test(sched_policy, a_source_whose_output_waits_does_not_grow) {
  weir__policy_tuning t;
  weir__policy_defaults(&t);
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
    weir__policy_decide(&s, 1, &b, &t, &d);
    cr_assert_eq(d.delta, 0, "tick %d: %s", tick, d.reason);
  }
  s.output_fill = 0.0; /* downstream starves: now it limits throughput */
  int grew = 0;
  for (int tick = 0; tick < 10; tick++) {
    weir__policy_decide(&s, 1, &b, &t, &d);
    grew += d.delta > 0;
  }
  cr_assert_gt(grew, 0);
}
