/* Internal state of pipelines, operators, worker pools and queues, shared by
 * the files of the executor. */
#ifndef WEIR_EXEC_INTERNAL_H
#define WEIR_EXEC_INTERNAL_H

#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "exec/queue.h"
#include "weir/pipeline.h"
#include "weir/stats.h"

/* What an operator does with its input. */
enum {
  WEIR__OP_SOURCE = 1, /* read tasks, no input queue */
  WEIR__OP_MAP,        /* weir_map_batches */
  WEIR__OP_DEF,        /* weir_add_op */
  WEIR__OP_REPART,     /* weir_repartition: pass-through with batch_rows */
  WEIR__OP_LIMIT,      /* weir_limit */
  WEIR__OP_UNION,      /* weir_union: pass-through of several inputs */
  WEIR__OP_COLLECT,    /* the iterator's batching/shuffling stage (hidden) */
  WEIR__OP_ITERSINK    /* the iterator's ready queue: a queue, no workers */
};

/* Where a block's rows come from: the index of the one read task of the
 * run's source whose rows it holds, or this when that is not one task (a
 * finish's output, re-blocked input, a merge of inputs). Kept on queued
 * and held blocks, handed to the call that takes them (weir_ctx) and to
 * what that call emits, so that a resumed writer can map its rows back to
 * read tasks (io/write.c). */
#define WEIR__ORIGIN_MIXED UINT64_MAX

/* Bytes of a pipeline's error message. */
#define WEIR__ERRMSG_CAP 1024



/* One call of an operator (a read task, a process call, a finish) while
 * its outputs may still be held back: for order, or until it succeeds when
 * a retry or a skip could discard them. */
typedef struct weir__call {
  struct weir__call *next;   /* in the op's list of calls, by seq */
  uint64_t seq;
  int done;                  /* returned successfully; outputs may flow */
  int hold_all;              /* keep every output until the call succeeds */
  weir__qnode *held_head, *held_tail;
  size_t held_bytes;
  /* A spill store of this call alone (spill.c), for calls whose outputs
   * may be dropped (retries, skips) or when the op's stores are taken. */
  void *spill;
} weir__call;

typedef struct weir__worker weir__worker;

struct weir_ctx {
  weir_op *op;
  weir__worker *w;
  char errmsg[1024];
  int has_errmsg;
  uint64_t origin;           /* of the call's input (WEIR__ORIGIN_MIXED) */
};

/* The read task the input of the current call came from, or
 * WEIR__ORIGIN_MIXED. */
static inline uint64_t weir__ctx_origin(const weir_ctx *ctx) {
  return ctx ? ctx->origin : WEIR__ORIGIN_MIXED;
}

struct weir_emit {
  weir_op *op;
  weir__call *call;
  weir_ctx *ctx;
  const weir_block *in;      /* the call's input, or NULL */
  size_t *in_left;           /* bytes of `in` still counted in flight */
  size_t held;               /* working bytes this call holds
                                (weir__emit_hold); its blocks take them */
  uint64_t origin;           /* given to what the call emits */
};

/* Bytes of `out` that live in buffers `in` holds too (accounting.c). */
size_t weir__shared_bytes(const weir_block *out, const weir_block *in);
/* The bytes of the largest row of `b` (its share of every column), and
 * its index in `*row`. */
size_t weir__largest_row(const weir_block *b, size_t *row);

struct weir__worker {
  weir_op *op;
  int index;                 /* in the pool: weir_ctx_worker() */
  pthread_t thread;
  int started, exited, joined;
  void *state;               /* from init */
  int inited;
  void *gpu;                 /* GPU worker from the backend, or NULL */
  int device;                /* its CUDA device */
  int lost;                  /* its device hit a sticky error */
  clockid_t clock;           /* its thread's CPU clock */
  int has_clock;
  atomic_int tid;            /* its thread's id (schedstat.c); 0 until it
                                runs */
  struct weir__worker *next;
};

/* An operator. The fields that say what it is (set while the graph is
 * built) are kept across runs by weir__op_reset() in rerun.c, which lists
 * them; every other field is run state and is zeroed before a pipeline
 * runs again. A new field that must survive a run goes into that list. */
struct weir_op {
  weir_pipeline *p;
  int index;                 /* creation order among user ops; -1 hidden */
  int kind;
  char *name;
  weir_op_options opts;
  int gpu;                   /* num_gpus > 0 */

  /* What it runs. */
  weir_op_def def;
  void *user;
  weir_batch_fn map_fn;
  weir_read_fn read_fn;
  size_t num_tasks;
  uint64_t limit_rows;
  struct ArrowArrayStream *arrow; /* owned by a stream source */
  weir_iter_options iter_opts;   /* COLLECT */
  int dist_local;            /* a source whose tasks every rank runs itself
                                (an exchange's receiver), not sharded */
  /* How its output relates to its input's read tasks, for a resumed
   * writer that skips complete ones (weir__op_mixes_tasks): 1 = a block's
   * output depends on that block alone, whatever its pool; -1 = it
   * depends on other blocks too (a seen-set, a running count); 0 = judged
   * from the options. */
  int per_block;
  /* Sources: a line describing read task `i` (its input and byte range),
   * for a writer's manifest (weir__op_set_describe). */
  int (*describe)(void *arg, size_t task, char *buf, size_t n);
  void *describe_arg;
  /* Runs as a run starts, before any worker (weir__op_set_run_begin). */
  int (*run_begin)(void *arg, weir_op *op, char *err, size_t errlen);
  void *run_begin_arg;

  /* Graph. */
  weir_op **ins;
  size_t nins;
  weir_op **outs;
  size_t nouts, outs_cap;
  int depth;                 /* hops to the output; nearer drains first */

  /* Run state, under p->mu. */
  int active;                /* part of this run */
  int ordered;               /* preserve_order here or downstream */
  weir__queue q;             /* its input queue (flow.c) */
  int producers_open;        /* active producers that have not finished */
  int closed;                /* its consumers need nothing more */
  atomic_int stop_flag;      /* closed, readable without the lock */
  int input_stopped;         /* takes no more input (closed, or a limit
                                that is satisfied) */
  int eof;                   /* a worker saw the end of the input */
  int finished;              /* all its work is done */
  int flushing;              /* a thread is releasing ordered outputs */
  pthread_cond_t cv_work;    /* workers wait for input or budget */
  int work_waiters;

  /* Re-blocking to batch_rows: rows moved off the queue, waiting for more. */
  weir_block **acc;
  size_t nacc, acc_cap, acc_rows, acc_bytes;

  /* Pool. */
  weir__worker *workers;
  int target, live, busy, next_worker_index;
  int spawning;              /* threads being started */
  int emit_waiting;          /* workers waiting for room downstream */
  double busy_start_sum;     /* sum of start times of calls running now */
  double wait_start_sum;     /* sum of start times of waits going on now */
  double cpu_exited;         /* CPU seconds of workers that left */
  double runq_exited;        /* their seconds waiting for a CPU */
  /* Adaptive control: the last window's readings and the policy's memory. */
  double ctl_busy, ctl_blocked, ctl_cpu, ctl_runq;
  int ctl_streak, ctl_cooldown, ctl_last_delta, ctl_since_move;
  /* Named resources one worker holds, by the pipeline's index. */
  char *res_names[8];
  double res_amounts[8];
  int nres;
  double res[8];
  int retiring;              /* workers leaving after a shrink */
  int workers_min, workers_max;

  /* Order and calls. */
  uint64_t next_task;        /* sources: next task index to start */
  unsigned char *skip_tasks; /* sources: tasks not to run (1 each), set by
                                a resumed writer's run_begin; freed by
                                weir__op_drain */
  uint64_t next_seq;         /* next call sequence number */
  uint64_t release_seq;      /* the call whose outputs may flow now */
  weir__call *calls;         /* calls not yet released, by seq */

  /* LIMIT */
  uint64_t limit_seen;

  /* Sources on MPI ranks (dist.c): tasks come from the coordinator in
   * grants; next_task runs up to grant_end, and dist_done says the
   * coordinator has no more. One worker at a time asks (dist_asking). */
  int dist_shard;            /* this run's tasks come from the coordinator */
  int dist_asking, dist_done;
  uint64_t grant_end;

  /* Statistics, under p->mu. */
  weir_op_stats st;
  /* Named counters (weir_ctx_count), in order of first use. */
  struct weir__counter { char *name; uint64_t value; } *counters;
  size_t ncounters, counters_cap;
  uint64_t new_bytes_out;    /* emitted bytes not shared with the input */
  double first_start, last_end;
  uint64_t last_progress_rows;
  double progress_rate;      /* rows/s, smoothed (progress.c) */
  int progress_rated;

  /* Runs when the op is freed: built-in readers and writers free the
   * state their `user` pointer holds (weir__op_set_cleanup). */
  void (*cleanup)(void *);
  void *cleanup_arg;
  /* Runs on the scheduler thread when a run ends, after the workers are
   * gone and before the summary (weir__op_set_run_end). */
  void (*run_end)(void *, weir_op *);
  void *run_end_arg;
  /* Runs under p->mu when the op finishes in a run, whatever ended it
   * (weir__op_set_finished): an exchange tells the other ranks it sends
   * nothing more. */
  void (*finished_fn)(void *, weir_op *);
  void *finished_arg;
  /* A reader's chunk source: its rows_out is that of the op that parses
   * its chunks into rows, so statistics count rows, not chunks
   * (weir__op_rows_of). */
  weir_op *rows_of;

  /* Re-blocking input spilled to disk (spill.c): blocks that come after
   * acc[] in order, and their rows (counted in acc_rows too). */
  void *acc_spill;
  size_t acc_spilled, acc_spilled_rows;
  /* Held outputs spilled for order, shared by calls: each store holds
   * blocks of non-decreasing call seq, so releases in seq order pop them
   * from its head. held_last[i]: seq + 1 of its last push; 0 = empty. */
  void *held_spill[8];
  uint64_t held_last[8];
  int held_busy[8];          /* a push to it runs unlocked */
  int nheld_spill;
  size_t held_spilled;       /* held outputs on disk now, all calls */
};

/* Frees what a run left in the op (queued, gathered, held and spilled
 * blocks, calls); its workers must be gone. */
void weir__op_drain(weir_op *op);
/* Joins the op's workers, drains it and frees it. */
void weir__op_free(weir_op *op);
/* Makes a pipeline whose run ended ready to run again (rerun.c): checks
 * that it can (no live iterator; no operator that reads its input once),
 * drops the last iterator's hidden stages, and zeroes every run state.
 * `who` names the calling function in the message. Nothing to do for a
 * pipeline that has not run. */
int weir__run_prepare_again(weir_pipeline *p, const char *who);
/* The memory budget of `p` in bytes (its option, or the default). */
size_t weir__pipeline_budget(const weir_pipeline *p);

/* `fn(arg, op)` runs at the end of each run the op took part in, once its
 * workers are gone: for reports that need the whole run (per-file counts
 * of skipped rows). */
void weir__op_set_run_end(weir_op *op, void (*fn)(void *, weir_op *), void *arg);
/* `fn(arg, op)` runs under p->mu when the op finishes in a run (its last
 * worker gone, or the run ending): it must not block. */
void weir__op_set_finished(weir_op *op, void (*fn)(void *, weir_op *), void *arg);
/* `src` (a reader's source of chunks) reports the rows `parser` made of
 * them as its rows_out. */
void weir__op_rows_of(weir_op *src, weir_op *parser);

/* Marks how `op`'s output relates to its input's read tasks (see
 * weir_op.per_block): 1 per block, -1 mixing. */
void weir__op_set_per_block(weir_op *op, int per_block);
/* 1 when `op`, upstream of a resumed writer, may carry rows of one read
 * task into the output of another, or cut them apart from their task
 * (stateful or barrier operators, re-blocking, limits, merges); then the
 * writer cannot skip read tasks. `why` says which. */
int weir__op_mixes_tasks(const weir_op *op, char *why, size_t n);
/* Adds `n` to `op`'s named counter `name` (weir_ctx_count without a
 * call). Takes p->mu. */
void weir__op_count(weir_op *op, const char *name, uint64_t n);
/* A source's description of its read tasks (for a writer's manifest). */
void weir__op_set_describe(weir_op *op, int (*fn)(void *, size_t, char *, size_t), void *arg);
/* `fn(arg, op, err, errlen)` runs on the thread that starts a run, before
 * any worker starts and without p->mu; a failure (its code, `err` its
 * message) ends the run before it starts. */
void weir__op_set_run_begin(weir_op *op, int (*fn)(void *, weir_op *, char *, size_t),
                            void *arg);

/* Ties `arg` to the op's lifetime: `fn(arg)` runs when the pipeline frees
 * the op, after its workers are gone. */
void weir__op_set_cleanup(weir_op *op, void (*fn)(void *), void *arg);

struct weir_pipeline {
  weir_pipeline_options opts;
  int num_cpus;
  size_t budget;
  size_t block_bytes;        /* weir_pipeline_block_bytes() */
  int big_row_warned;        /* the one warning of a row over the budget
                                was logged (under mu) */

  weir_op **ops;             /* user operators, creation order */
  size_t nops, ops_cap;
  weir_op *collect, *itersink; /* the iterator's hidden stages */

  pthread_mutex_t mu;
  pthread_cond_t cv_budget;  /* sources waiting for the memory budget */
  int budget_waiters;

  int started;               /* a run began (a pipeline runs once) */
  atomic_int ending;         /* the run is ending: error, cancel, done */
  int status;                /* result of the run, first one wins */
  int done;                  /* every active op finished */
  int unfinished;            /* active ops not finished yet */
  int live_workers;          /* worker threads not exited, all ops */
  weir_op *out;              /* the op the run drains */
  atomic_int cancel_req;
  atomic_int async_live;     /* the async handle may be sent to */
  atomic_int async_users;

  size_t in_flight, in_flight_peak, parked; /* parked: acc bytes */
  /* Working bytes: memory running calls hold outside any block (a read
   * task's buffer being filled, a parser's output being built, a decoded
   * frame), counted in flight by weir__emit_hold. Like parked bytes they
   * cannot hold a source back on their own. working_out: the share held
   * by calls of operators other than sources, which the reserve for
   * running calls' output (flow.c) already stands for. */
  size_t working, working_out;
  uint64_t skipped_total;    /* failed blocks skipped, all ops */
  uint64_t progress_count;   /* bumps on every block moved */

  /* Scheduler. */
  uv_loop_t loop;
  uv_async_t async;
  uv_timer_t timer;
  pthread_t sched_thread;    /* for iterators */
  int sched_thread_started;
  int closing;               /* the loop's handles are being closed */
  int loop_live;
  void *net;                 /* the network engine on `loop`, or NULL
                                (exec/net_backend.h) */
  double t_start, t_end;
  double last_progress_t, last_progress_line;
  uint64_t last_progress_seen;
  int stall_reported;
  uint64_t stall_seen;
  double stall_since;
  int progress_init;
  int stalls;
  int progress_tty;
  /* The live block on the terminal (progress.c): its text, its lines, and
   * how many of them are on screen now; under progress.c's lock. */
  char *progress_block;
  int progress_block_lines, progress_lines;
  /* On MPI ranks, the other ranks' progress (progress_ranks.c). */
  struct weir__rank_progress *rank_progress;

  /* Iterator statistics. */
  double iter_blocked;
  uint64_t iter_batches;

  /* Adaptive control and budgets. */
  double ctl_last;           /* time of the last decision */
  double gpus;               /* GPU budget of this run */
  uint64_t resizes;
  char *res_names[8];
  double res_amounts[8];
  int nres;

  /* The pipeline's error: written only by errors.c, code and message
   * together, under mu. */
  char errmsg[WEIR__ERRMSG_CAP];
  int errcode;
  weir_tick_fn tick_fn;      /* weir_pipeline_set_tick_fn: set before a
                                run, read by the scheduler's thread */
  void *tick_user;
  int build_failed;   /* the last operator constructor call returned NULL */

  /* Iterators not yet destroyed. An iterator may outlive its pipeline:
   * weir_pipeline_destroy() then stops the run and frees the operators,
   * and leaves this struct (`destroyed`) for the last iterator to free. */
  int iters;
  int destroyed;

  /* On MPI ranks (dist.c): `dist` is kept across runs; dist_run numbers
   * the current run alike on every rank. */
  int dist;
  uint64_t dist_run;
};

/* 1 when the run's output has received everything it will get: after
 * that, stopping what is left upstream is not a cancel. Under p->mu. */
int weir__output_complete(const weir_pipeline *p);
/* Frees what is left of a destroyed pipeline (pipeline.c). */
void weir__pipeline_free_shell(weir_pipeline *p);

/* Time. */
double weir__now(void);
double weir__thread_cpu(void);
double weir__op_cpu(const weir_op *op);
/* From schedstat.c: the calling thread's id, and the seconds thread `tid`
 * (0: the caller) has waited in the run queue, 0 where the kernel does
 * not say. The control tick reads them without p->mu (tick_clocks.h). */
int weir__thread_id(void);
double weir__thread_runq(int tid);

/* Logging (ctx.c). */
void weir__log(weir_pipeline *p, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void weir__vlog(weir_pipeline *p, int level, const char *fmt, va_list ap);
/* Sends each line of `text` to the logger, whatever the log level: for
 * output an option asked for (the summary table). The default logger
 * writes the lines to stderr as they are. */
void weir__log_text(weir_pipeline *p, int level, const char *text);
/* The pipeline's error (errors.c): the only writer of its code and
 * message, which it always sets together under p->mu. */
/* Ends the run with failure `err` and the message (printf-style): the first
 * failure of a run wins, and a later one, or one once the run is ending
 * (cancel, done), changes neither code nor message. Either way the run
 * ends and every waiter wakes. Under p->mu. Returns 1 when this failure
 * is the run's. */
int weir__run_fail(weir_pipeline *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* No error: before a run. Takes p->mu. */
void weir__error_clear(weir_pipeline *p);
/* Records a creation failure on `p` and returns NULL. Takes p->mu. */
weir_op *weir__op_fail(weir_pipeline *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 1 when source `op` has no read task left to start (its own count in
 * one process, the coordinator's answer on MPI ranks). Under p->mu. */
int weir__source_exhausted(const weir_op *op);
/* A public call failed for a bad argument: records `err` and the message
 * (which names the function and the argument) as the thread's last error
 * and, unless a run's error is there to keep, as the pipeline's. Returns
 * `err`. Takes p->mu. */
int weir__call_fail(const weir_pipeline *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Graph (pipeline.c). */
weir_op *weir__op_new(weir_pipeline *p, int kind, const char *name,
                      weir_op *const *ins, size_t nins,
                      const weir_op_options *opts, int hidden);

/* Queues and flow (flow.c); all under p->mu unless said. */
void weir__flight_add(weir_pipeline *p, size_t n);
void weir__flight_sub(weir_pipeline *p, size_t n);
/* Bytes in flight that are not parked. */
size_t weir__live_bytes(const weir_pipeline *p);
/* Moves bytes into (add) or out of (sub) the parked share of in_flight. */
void weir__park(weir_pipeline *p, size_t add, size_t sub);
/* 1 when a source must wait before adding `nb` bytes. */
/* The new memory a call of `op` on `in_bytes` of input is expected to
 * emit: the input's size times what the operator has emitted as new bytes
 * per input byte so far (at most 2; the input's size until measured). A
 * pass-through or a slice comes to nothing once measured. */
size_t weir__output_estimate(const weir_op *op, size_t in_bytes);
int weir__over_budget(const weir_pipeline *p, size_t nb);
/* Puts `b` into every active consumer of `op` (or drops it at a sink),
 * waiting for room. Takes `b`. Returns WEIR_ECANCELED when the run ends or
 * op's consumers closed. Called with mu held; may wait on it. */
int weir__push_out(weir_op *op, weir_block *b, uint64_t origin);
/* The same for a block whose memory `*held` working bytes already count
 * (up to `carry` of them): they are given back as the block is counted,
 * and while it waits for room the block is not counted twice. */
int weir__push_out_carry(weir_op *op, weir_block *b, uint64_t origin, size_t carry,
                         size_t *held);
/* Working bytes (see weir_pipeline.working): a running call counts `n`
 * bytes it is about to hold outside any block, so the budget sees the
 * memory before a block carries it. With `wait`, the call first waits
 * for room as a source's emit does (only sources may: a waiting operator
 * holds its input, and its input may be what has to drain); without, it
 * only counts. Never waits while nothing else is in flight, so it cannot
 * deadlock. The blocks the call emits take the bytes over (a block of n
 * new bytes gives back up to n); what is left goes when the call ends, or
 * with weir__emit_unhold. Returns WEIR_ECANCELED when the run ends. Not
 * under mu. */
int weir__emit_hold(weir_emit *e, size_t n, int wait);
void weir__emit_unhold(weir_emit *e, size_t n);
/* Holds `want` in all: more, or gives back what is over (not under mu). */
int weir__emit_hold_to(weir_emit *e, size_t want, int wait);
void weir__enqueue(weir_op *c, weir_block *b, uint64_t origin);
weir_block *weir__dequeue(weir_op *c);
/* weir__dequeue, with the block's origin in `*origin`. */
weir_block *weir__dequeue_origin(weir_op *c, uint64_t *origin);
/* Closes `op`: its consumers need nothing more; stops producers whose
 * consumers are all closed. */
void weir__op_close(weir_op *op);
/* `op` takes no more input (a satisfied limit): drops its queue and stops
 * producers nobody else needs. */
void weir__op_stop_input(weir_op *op);
void weir__wake_all(weir_pipeline *p);
void weir__wake_scheduler(weir_pipeline *p);
int weir__op_input_ended(const weir_op *op);
/* Called when an op's last worker left: propagates end of input. */
void weir__op_maybe_finish(weir_op *op);

/* Calls (flow.c). */
weir__call *weir__call_begin(weir_op *op, uint64_t seq, int hold_all);
/* The call returned: OK releases its outputs in order, an error drops
 * them. Frees the call when released. */
void weir__call_end(weir_op *op, weir__call *c, int ok);
/* Discards what a failed attempt emitted, before a retry. */
void weir__call_reset(weir_op *op, weir__call *c);

/* Marks the calling thread as a worker of `op` (NULL: none), for the
 * network requests it makes (net_stats.c). */
void weir__exec_set_thread_op(weir_op *op);

/* Workers (worker.c). */
int weir__pool_spawn(weir_op *op);     /* one more worker thread */
void weir__pool_join(weir_op *op, int all);

/* Scheduler (run.c). */
int weir__run_start(weir_pipeline *p, weir_op *out);
void weir__run_loop(weir_pipeline *p);
void weir__run_teardown(weir_pipeline *p);
/* Sends the end-of-run table to the logger when the `summary` option is on. */
void weir__print_summary(weir_pipeline *p);

int weir__run_spawn_scheduler(weir_pipeline *p);

/* Pool control (control.c): the initial pool size, and the tick that
 * resizes pools and starts or joins their threads. */
int weir__initial_workers(weir_pipeline *p, weir_op *op);
void weir__control_tick(weir_pipeline *p);
/* Matches the operators' named resources with the pipeline's, and checks
 * the starting pools fit every budget. */
int weir__resources_resolve(weir_pipeline *p);
void weir__resources_free(weir_pipeline *p);
void weir__op_resources_free(weir_op *op);

/* Progress (progress.c). */
void weir__progress_tick(weir_pipeline *p, int final);
void weir__progress_free(weir_pipeline *p);
/* Progress on MPI ranks (progress_ranks.c). Under p->mu, each tick: a rank
 * other than 0 reports its counts and gets 1 (it shows no progress); rank
 * 0 takes in the others' latest and gets 0, as does a single process. */
typedef struct weir__rank_progress weir__rank_progress;
int weir__progress_ranks_tick(weir_pipeline *p);
/* Operator p->ops[i]'s counts, the other ranks' latest added on rank 0. */
void weir__progress_ranks_counts(const weir_pipeline *p, size_t i, uint64_t *rows_in,
                                 uint64_t *rows_out, uint64_t *tasks);
/* How many other ranks reported, and (*ranks) how many ranks there are. */
int weir__progress_ranks_heard(const weir_pipeline *p, int *ranks);
void weir__rank_progress_free(weir_pipeline *p);
/* Writes one line on stderr above the live progress block, if one is
 * drawn (`p` may be NULL). */
void weir__term_write_line(weir_pipeline *p, const char *line);
/* Columns of the terminal on stderr, or $COLUMNS, or 80. */
int weir__term_columns(void);
/* Statistics (stats.c). */
/* The end-of-run table, dropping its least useful columns until its lines
 * fit `cols` characters (0 = all of them). */
int weir__stats_table_fit(const weir_pipeline *p, int cols, char **text);
void weir__stall_tick(weir_pipeline *p);
void weir__op_snapshot(const weir_op *op, weir_op_stats *out);

/* Spilling (spill.c), under p->mu. */
/* 1 when an operator about to hold `nb` more bytes (`counted`: already in
 * flight) should put them on disk instead. */
int weir__spill_due(const weir_pipeline *p, size_t nb, int counted);
/* Writes `b` (borrowed) to `*store`, created on first use, and counts it in
 * op's statistics. On failure ends the run naming op and the folder. With
 * `unlock`, p->mu is released during the write. */
int weir__spill_put(weir_op *op, void **store, const weir_block *b, int unlock);
/* Spills a held output of call `c`; `*store` tells where it went.
 * Releases p->mu during the write. */
int weir__spill_hold(weir_op *op, weir__call *c, const weir_block *b, void **store);
/* The oldest block of `store` back; on failure ends the run. With
 * `unlock`, p->mu is released during the read. */
int weir__spill_get(weir_op *op, void *store, weir_block **out, int unlock);
void weir__spill_free(void **store);

/* Iterator stage (iter.c). */
int weir__collect_process(weir_op *op, void *state, weir_block *in,
                          weir_emit *out);
int weir__collect_finish(weir_op *op, void *state, weir_emit *out);
int weir__collect_init(weir_op *op, void **state);
void weir__collect_destroy(void *state);

#endif /* WEIR_EXEC_INTERNAL_H */
