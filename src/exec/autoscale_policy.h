/* The adaptive scheduler's decision function: from one window of measured
 * load per operator, which pools grow or shrink, one move at a time. Pure and
 * deterministic (no clocks, no threads), so it is unit-tested on synthetic
 * measurements; the scheduler's control tick feeds it and applies its
 * answers. */
#ifndef WEIR_EXEC_AUTOSCALE_POLICY_H
#define WEIR_EXEC_AUTOSCALE_POLICY_H

#include <stddef.h>

#define WEIR__POLICY_MAX_RESOURCES 8

/* One operator as the policy sees it. The caller fills the configuration
 * and the window's measurements, and keeps `streak` and `cooldown` between
 * ticks (zero them at the start of a run). */
typedef struct weir__policy_op {
  /* Configuration. */
  const char *name;
  int min_workers, max_workers;   /* max 0 = no limit of its own */
  double cpus_per_worker;         /* CPU slots a busy worker holds */
  double gpus_per_worker;
  double resources_per_worker[WEIR__POLICY_MAX_RESOURCES];
  int is_source;
  int pinned;                     /* min == max, or adaptation off */
  /* State. */
  int workers;
  /* Measurements over the last window, summed over workers. */
  double busy_seconds;            /* inside calls, including blocked time */
  double blocked_seconds;         /* waiting on a full output queue */
  double cpu_seconds;             /* thread CPU time used */
  double runq_seconds;            /* time runnable but waiting for a CPU
                                     (the run queue): CPU it wanted and did
                                     not get, 0 where not measured */
  double queue_fill;              /* input queue level / bound, 0..1 */
  double queued_per_worker;       /* blocks waiting in the input queue per
                                     worker: with a large bound the level
                                     stays low while work still waits */
  double output_fill;             /* the fullest consumer's queue, 0..1: a
                                     source whose output already waits
                                     downstream does not limit anything */
  int input_done;                 /* no more input will come */
  /* Kept by the caller between ticks. */
  int streak;                     /* consecutive ticks wanting to move:
                                     > 0 grow, < 0 shrink */
  int cooldown;                   /* ticks before it may move again */
  int last_delta;                 /* the last move: +1, -1, or 0 */
  int since_move;                 /* ticks since that move */
} weir__policy_op;

/* CPU slots are a budget on CPU actually used: measured consumption, plus
 * for a grow the part of a busy worker that fits in what is idle, never
 * more than `cpus`; pools may hold more workers than slots (at most
 * `oversubscription` times as many), since a worker waiting for input uses
 * none. GPUs and named resources are held by each worker for its life and
 * are never oversubscribed. */
typedef struct weir__policy_budget {
  double window_seconds;          /* length of the measured window */
  double cpus;                    /* CPU slots for all pools */
  double gpus;
  double resources[WEIR__POLICY_MAX_RESOURCES];
  int num_resources;
  double memory_fill;             /* bytes in flight / memory budget */
} weir__policy_budget;

/* What the policy wants for one operator this tick. */
typedef struct weir__policy_decision {
  int delta;                      /* workers to add (> 0) or remove (-1);
                                     more than one only for a pool whose
                                     workers mostly wait */
  double demand;                  /* measured active workers (load) */
  double target;                  /* the allocation the model prefers */
  int shift;                      /* the grow takes CPU share from
                                     operators with slack on a saturated
                                     CPU, not idle CPU */
  char reason[160];               /* why, with the measured inputs */
} weir__policy_decision;

/* Tuning of the policy; weir__policy_defaults() gives the values the
 * scheduler runs with (control.c uses them as they are), tuned for its
 * windows of CONTROL_PERIOD (0.05 s). */
typedef struct weir__policy_tuning {
  double grow_utilisation;        /* grow when active/workers exceeds this */
  double shrink_utilisation;      /* shrink when (workers-1) would still be
                                     at most this busy */
  int    ticks_to_act;            /* a wish must hold this many ticks */
  int    cooldown_ticks;          /* after a move, wait this many ticks */
  double cpu_floor;               /* least CPU share charged to a worker
                                     that mostly waits */
  double memory_high;             /* memory_fill above which sources do
                                     not grow */
  double min_headroom;            /* idle CPU slots needed to grow */
  double oversubscription;        /* nominal slots / budget, at most */
  /* On a saturated CPU, an operator this busy whose input queue is at least
   * this full grows anyway (within `oversubscription`) while another
   * operator has slack, to shift CPU share to it. */
  double rebalance_utilisation;
  double rebalance_fill;
  /* A move back the other way waits at least this many ticks after a
   * move (0 = no such wait): noisy windows then cannot flip a pool
   * between two sizes. */
  int reverse_ticks;
  /* A pool whose computing workers use less than this share of a CPU
   * (they wait on I/O or a device) may grow by up to doubling per move. */
  double waiting_share;
} weir__policy_tuning;

void weir__policy_defaults(weir__policy_tuning *t);

/* CPU slots operator `op` really holds: a worker that mostly waits (I/O,
 * a device) is charged its measured CPU share, not its nominal slots. A
 * worker waiting in the run queue wants the CPU: that time counts as CPU
 * (cpu_seconds + runq_seconds), so a loaded machine does not make
 * compute look like waiting. */
double weir__policy_cpu_charge(const weir__policy_op *op, int workers,
                               const weir__policy_tuning *t);

/* Decides one tick. Updates each op's `streak` and `cooldown`, and fills
 * out[0..n). Never proposes an allocation above any budget, also midway:
 * shrinks are counted before grows, and a grow is only proposed if it
 * fits in what is free after this tick's shrinks. `tuning` NULL means the
 * defaults. */
void weir__policy_decide(weir__policy_op *ops, int n,
                         const weir__policy_budget *budget,
                         const weir__policy_tuning *tuning,
                         weir__policy_decision *out);

#endif /* WEIR_EXEC_AUTOSCALE_POLICY_H */
