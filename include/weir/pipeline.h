/* Pipelines: graphs of operators that stream blocks through bounded queues
 * between per-operator worker pools. */
#ifndef WEIR_PIPELINE_H
#define WEIR_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/block.h"
#include "weir/arrow_abi.h"

WEIR_BEGIN_DECLS

typedef struct weir_pipeline weir_pipeline;
typedef struct weir_op       weir_op;   /* a node; owned by its pipeline   */
typedef struct weir_emit     weir_emit; /* where an operator puts output    */
typedef struct weir_ctx      weir_ctx;  /* per-call context of an operator  */

/* Log levels, most severe first. */
enum {
  WEIR_LOG_ERROR = 0,
  WEIR_LOG_WARN,
  WEIR_LOG_INFO,
  WEIR_LOG_DEBUG
};

/* Receives one log line (no trailing newline), on any thread. Everything
 * weir reports about a run goes through it: warnings, the summary table,
 * debug traces. An error that ends a run is returned to the caller
 * (weir_pipeline_errmsg()) and is not logged too, except at
 * WEIR_LOG_DEBUG. */
typedef void (*weir_log_fn)(void *user, int level, const char *msg);

#define WEIR_PIPELINE_OPTIONS_VERSION 1

/* Options of a pipeline. A zero in any field after `progress` means its
 * default. */
typedef struct weir_pipeline_options {
  unsigned version;          /* WEIR_PIPELINE_OPTIONS_VERSION */
  int      num_cpus;         /* CPU slots for all pools; 0 = all cores     */
  int      num_gpus;         /* 0 = all visible CUDA devices               */
  size_t   memory_budget;    /* bytes of blocks in flight; 0 = default
                                (a quarter of physical memory, at most
                                4 GiB)                                      */
  int      progress;         /* 1 = progress: on a terminal, a block of
                                one line per operator (rows, smoothed
                                rows/s, read tasks done of all and an ETA
                                for sources, input queue, workers busy of
                                those running) redrawn in place, cut to the
                                terminal's width ($COLUMNS when it reports
                                none), with log lines scrolling above it
                                and its final state left on screen; a plain
                                "weir progress" line every
                                progress_interval otherwise, and always
                                through log_fn (at WEIR_LOG_INFO) when one
                                is set. On MPI ranks (weir/dist.h) rank 0
                                alone shows it, counting every rank's rows
                                and read tasks as last reported (each rank
                                reports with its heartbeat, every half
                                second; the summary has the exact final
                                counts)                                     */
  int      summary;          /* 1 = the statistics table at the end of a
                                run, one log line per table line, through
                                log_fn (at WEIR_LOG_INFO, whatever
                                log_level) or on stderr; on a terminal its
                                least useful columns are left out to fit
                                the width. It ends with "success" or
                                "failed: <error> in operator '<name>'". On
                                MPI ranks (weir/dist.h) rank 0 logs every
                                rank's table, each under a "weir summary
                                of rank R of N" heading, once all ranks'
                                runs ended, then "weir summary of all N
                                ranks": per operator the rows in, rows
                                out, dropped, skipped and CPU seconds of
                                all ranks together, and the rows out of
                                each rank side by side (past 8 ranks, the
                                least and the most, with their ranks);
                                the other ranks log none                   */
  uint64_t max_errored_blocks; /* input blocks whose operator call may fail
                                (after retries) and be skipped, counted in
                                `skipped_blocks`; 0 = none: the first
                                failure ends the run                        */
  double   stall_seconds;    /* no progress for this long is reported as a
                                stall; 0 = 30 s, < 0 = never               */
  int      stall_is_error;   /* 1 = a stall ends the run with WEIR_ESTALL  */
  size_t   queue_max_bytes;  /* default bound of each input queue, bytes;
                                0 = a share of the memory budget           */
  size_t   queue_max_blocks; /* default bound of each input queue, blocks;
                                0 = 64                                     */
  int      log_level;        /* WEIR_LOG_*; 0 (ERROR) upwards. Messages at
                                WARN are always logged; 0 = WARN           */
  weir_log_fn log_fn;        /* NULL = stderr                               */
  void    *log_user;
  double   progress_interval; /* seconds between plain progress lines when
                                stderr is not a terminal; 0 = 5           */
  int      fixed_pools;      /* 1 = the adaptive scheduler does not resize
                                pools: each runs min_workers workers        */
  /* Spilling: an operator that must hold blocks it cannot release yet (the
   * outputs of later calls held behind a slow one for preserve_order, rows
   * gathered for an exact batch_rows) writes those beyond the memory budget
   * to an unlinked file on local disk and reads them back, in order, when
   * they are released. Spilled bytes do not count as in flight; they show
   * in weir_op_stats.spilled_bytes. A failing spill write ends the run with
   * a message naming the operator and the folder. */
  const char *spill_dir;     /* folder of spill files; NULL = $WEIR_SPILL_DIR,
                                else $TMPDIR, else /tmp. Borrowed: it must
                                stay valid while the pipeline lives         */
  int      no_spill;         /* 1 = never spill: held blocks stay in memory
                                and may pass the budget (sources still wait
                                while other blocks are in flight)           */
  /* Blocks sized by bytes: the built-in readers cut their output blocks at
   * about this many bytes as well as at their rows_per_block (which stays
   * a maximum), so a block of large rows (4K frames, long documents) stays
   * a small share of the budget; a reader's own option overrides it.
   * 0 = a sixteenth of the memory budget, at least 1 MiB and at most
   * 128 MiB (see weir_pipeline_block_bytes()). A single row larger than
   * the memory budget is allowed: the run logs one warning naming the
   * operator, the row and its size, and goes on. */
  size_t   target_block_bytes;
  /* Where the pipeline runs (weir/dist.h): WEIR_DIST_DEFAULT (0) = as the
   * WEIR_DIST environment variable says (unset: one process),
   * WEIR_DIST_LOCAL = one process whatever the environment says,
   * WEIR_DIST_MPI = on the MPI ranks mpirun started, loading weir's MPI
   * runtime (libweir_mpi) the first time. */
  int      dist;
} weir_pipeline_options;
#define WEIR_PIPELINE_OPTIONS_INIT                                             \
  { WEIR_PIPELINE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL,      \
    NULL, 0, 0, NULL, 0, 0, 0 }

/* Values of weir_pipeline_options.dist. */
#define WEIR_DIST_DEFAULT 0
#define WEIR_DIST_LOCAL   1
#define WEIR_DIST_MPI     2

/* Creates an empty pipeline. `opts` may be NULL for the defaults; it is
 * copied. WEIR_EINVAL, with weir_last_errmsg() naming the field, for an
 * unknown version, a negative num_cpus or num_gpus, a log_level that is
 * not a WEIR_LOG_* level, a NaN stall_seconds or a negative
 * progress_interval. */
WEIR_EXTERN int  weir_pipeline_create(weir_pipeline **out,
                                      const weir_pipeline_options *opts);
/* Cancels a run in progress (one whose output has already received
 * everything, a limit reached say, is not cancelled: it stays a success),
 * waits for every worker, and frees the pipeline with all its operators.
 * Accepts NULL. An iterator of `p` may still exist and be destroyed after
 * it, in either order, on the same thread: the iterator keeps what it
 * needs alive, its weir_iter_next() then returns WEIR_ECANCELED, and
 * weir_iter_destroy() frees it. Must not be called while another thread is
 * inside weir_pipeline_run() on `p` or inside a call on an iterator of
 * `p`. */
WEIR_EXTERN void weir_pipeline_destroy(weir_pipeline *p);
/* The target size of a block in bytes for `p`: target_block_bytes, or its
 * default from the memory budget. User sources and operators that emit
 * large rows may use it to size their blocks. 0 for a NULL `p`. */
WEIR_EXTERN size_t weir_pipeline_block_bytes(const weir_pipeline *p);
/* The text of the last error: which operator failed, and why, or which
 * call on `p` got a bad argument (it names the function and the argument;
 * the error that ended a run is kept over later bad calls). Valid until
 * the next call on `p`; "" when there was none. weir_pipeline_create()
 * has no pipeline to say why it failed: see weir_last_errmsg(). */
WEIR_EXTERN const char *weir_pipeline_errmsg(const weir_pipeline *p);

#define WEIR_OP_DEF_VERSION 1

/* A user operator. Each worker has its own state, so `process` needs no
 * locking. `in` is borrowed for the call: take a reference to keep it.
 * `init` runs on the worker's own thread before its first block; `destroy`
 * runs once for every `init` that succeeded; `finish` runs once per worker
 * at the end of the input (not after an error or a cancel) and may emit the
 * blocks it kept back. Callbacks return WEIR_OK or a negative code; any
 * other failure code is reported as WEIR_EOPERATOR. The run's message
 * names the operator and the detail the callback gave: with
 * weir_ctx_set_errmsg(), or, from `init` (which has no ctx), with
 * weir_set_last_errmsg(); a weir call that failed inside the callback
 * leaves its own message, which is used when the callback gave none. */
typedef struct weir_op_def {
  unsigned    version;       /* WEIR_OP_DEF_VERSION */
  const char *name;
  int  (*init)(void *user, int worker, void **state);      /* may be NULL */
  int  (*process)(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx);
  int  (*finish)(void *state, weir_emit *out, weir_ctx *ctx); /* may be NULL */
  void (*destroy)(void *state);                             /* may be NULL */
} weir_op_def;

/* Sends `b` downstream. Takes `b`, also on error. May block while the
 * output queue is full (that is backpressure); returns WEIR_ECANCELED when
 * the run is ending, and the caller should then return. */
WEIR_EXTERN int weir_emit_block(weir_emit *out, weir_block *b);

/* The context of the call in progress, from any callback that has an emit. */
WEIR_EXTERN weir_ctx *weir_emit_ctx(weir_emit *out);
/* The worker's index in its pool: the smallest index no other live worker
 * of the pool has, so it stays below max_workers (and below min_workers in
 * a fixed pool) while the pool grows and shrinks. The same index is given
 * to `init`. */
WEIR_EXTERN int       weir_ctx_worker(const weir_ctx *ctx);
/* 1 once the run is ending (cancel, error, limit reached): long calls poll
 * it and return early. */
WEIR_EXTERN int       weir_ctx_cancelled(const weir_ctx *ctx);
/* The operator's name, for messages. */
WEIR_EXTERN const char *weir_ctx_op_name(const weir_ctx *ctx);
/* Sets the detail of the error the callback is about to return; it appears
 * in weir_pipeline_errmsg() after the operator's name. printf-style. */
WEIR_EXTERN void weir_ctx_set_errmsg(weir_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Records that `rows` input rows were skipped on purpose under an error
 * policy (a malformed line, a corrupt file), so they are accounted for. */
WEIR_EXTERN void weir_ctx_count_skipped(weir_ctx *ctx, uint64_t rows);
/* Records that an input (a file, an object) was given up under an error
 * policy: unreadable, or corrupt from some point on, so that its rows from
 * there cannot be counted. Counted in `skipped_inputs`. */
WEIR_EXTERN void weir_ctx_count_skipped_input(weir_ctx *ctx);
/* Adds `n` to the operator's counter `name` (made at 0 on first use; the
 * name is copied). Counters show in weir_pipeline_op_counter(), in the
 * statistics JSON ("counters") and in the summary table. For what an
 * operator measured: documents redacted, entities found per type. */
WEIR_EXTERN void weir_ctx_count(weir_ctx *ctx, const char *name, uint64_t n);
/* Records that `rows` input rows were dropped on purpose (a filter's
 * decision), for `reason`: adds to `dropped_rows` and to the counter
 * "dropped:<reason>", so that every row that does not come out is
 * accounted for. */
WEIR_EXTERN void weir_ctx_count_dropped(weir_ctx *ctx, const char *reason,
                                        uint64_t rows);
/* Logs through the pipeline's logger, prefixed with the operator's name. */
WEIR_EXTERN void weir_ctx_log(weir_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* CUDA operators: the worker's stream (a cudaStream_t) and device index.
 * NULL and -1 in a CPU operator. */
WEIR_EXTERN void *weir_ctx_cuda_stream(const weir_ctx *ctx);
WEIR_EXTERN int   weir_ctx_device(const weir_ctx *ctx);

#define WEIR_OP_OPTIONS_VERSION 1

/* Pools. An operator starts with min_workers workers; unless the pipeline
 * has fixed_pools or min_workers == max_workers, the adaptive scheduler then
 * moves its pool one worker at a time within [min_workers, max_workers]
 * (64 when max_workers is 0) and the CPU, GPU and named-resource budgets.
 * A worker that leaves a shrinking pool runs `finish` and `destroy` first.
 *
 * Order. preserve_order on an operator also orders every operator upstream
 * of it, so its output follows the order of the read tasks that made it;
 * several workers still run at once, and outputs wait in a reorder buffer
 * (counted in the memory budget).
 *
 * Retries and skips. With retries (see max_retries below), or a pipeline
 * max_errored_blocks > 0, the blocks a call emits are held back until the
 * call succeeds, so a failed attempt never leaks partial output: such a
 * call's output counts in the memory budget until it returns.
 *
 * max_retries, in every options struct of weir (weir_op_options,
 * weir_read_options, weir_write_options), means one thing: how many more
 * attempts a failed call (an operator call; a network request of a reader
 * or writer) gets after the first. n > 0 = n retries; 0 = the struct's
 * default: none for an operator (API.md), 5 for a network request;
 * WEIR_RETRIES_NONE (-1) = none. Other negative values are refused with
 * WEIR_EINVAL.
 *
 * num_gpus is the share of one device a worker holds (a worker runs on one
 * device, so at most the number visible). The operators of a pipeline
 * stream blocks to each other and so run at the same time, each with at
 * least min_workers workers: a run whose GPU operators' starting workers
 * hold more than the GPU budget (weir_pipeline_options.num_gpus, or the
 * devices visible) is refused when it starts, with WEIR_EINVAL, rather
 * than run one operator after the other (that would mean holding the whole
 * intermediate data set). Two GPU operators on one device: 0.5 each. A GPU
 * operator's calls queue work on their worker's stream and return; a
 * worker keeps up to two calls in flight (one when max_retries or
 * max_errored_blocks is set, so a failure is the call's own), and its
 * work's errors fail the call or, for work finish queued, the run. A
 * sticky CUDA error (illegal address, launch failure) ends the run at once
 * with WEIR_ENODEV: the device is lost to the process, so no retry or skip
 * is tried. */
#define WEIR_RETRIES_NONE (-1)

typedef struct weir_op_options {
  unsigned version;          /* WEIR_OP_OPTIONS_VERSION */
  int      min_workers;      /* 0 = 1 */
  int      max_workers;      /* 0 = as many as the scheduler likes */
  double   num_cpus;         /* CPU slots one worker holds; default 1; 0 =
                                a worker that waits (I/O) and holds none   */
  double   num_gpus;         /* > 0 makes it a CUDA operator */
  size_t   batch_rows;       /* re-block input to exactly this; 0 = as is */
  int      max_retries;      /* re-run a failed call this often; 0 = the
                                default (none), -1 = none (see above)      */
  int      preserve_order;   /* 1 = output in input order */
  size_t   queue_max_bytes;  /* bound of the input queue in bytes; 0 = the
                                pipeline's default                         */
  size_t   queue_max_blocks; /* bound of the input queue in blocks; 0 = the
                                pipeline's default                         */
} weir_op_options;
#define WEIR_OP_OPTIONS_INIT { WEIR_OP_OPTIONS_VERSION, 0, 0, 1.0, 0.0, 0, 0, 0, 0, 0 }

/* Functions that return `weir_op *` return NULL on failure and leave the
 * reason in weir_pipeline_errmsg(); a NULL `in` makes them fail too, so a
 * chain of calls can be checked once at the end. `name` is copied; `opts`
 * may be NULL and is copied. Operators are owned by the pipeline. */

/* A source made of independent read tasks (a file each, say), run in
 * parallel. `fn` is called once per task, on a worker thread, and emits
 * the task's blocks; it returns WEIR_OK or an error. Tasks start in index
 * order. */
typedef int (*weir_read_fn)(void *user, size_t task, weir_emit *out);
WEIR_EXTERN weir_op *weir_source(weir_pipeline *p, const char *name,
                                 size_t num_tasks, weir_read_fn fn, void *user,
                                 const weir_op_options *opts);
/* A source reading the batches of an Arrow stream, which it moves in and
 * releases when the run ends or the pipeline is destroyed. */
WEIR_EXTERN weir_op *weir_source_arrow_stream(weir_pipeline *p,
                                              const char *name,
                                              struct ArrowArrayStream *stream);

/* Transforms. A map_batches fn may emit 0..n blocks per input block; `in`
 * is borrowed for the call. */
typedef int (*weir_batch_fn)(void *user, weir_block *in, weir_emit *out);
WEIR_EXTERN weir_op *weir_map_batches(weir_pipeline *p, weir_op *in,
                                      const char *name, weir_batch_fn fn,
                                      void *user, const weir_op_options *opts);
/* An operator with per-worker state. `def` is copied (not the strings it
 * points to, which must outlive the pipeline). */
WEIR_EXTERN weir_op *weir_add_op(weir_pipeline *p, weir_op *in,
                                 const weir_op_def *def, void *user,
                                 const weir_op_options *opts);
/* Re-blocks the stream into blocks of exactly `rows_per_block` rows (the
 * last may be shorter), streaming: rows are sliced and concatenated, never
 * all gathered. Keeps the input order. */
WEIR_EXTERN weir_op *weir_repartition(weir_pipeline *p, weir_op *in,
                                      size_t rows_per_block);
/* Passes the first `rows` rows. Once satisfied no new source task starts,
 * and running ones see weir_ctx_cancelled() become true. On MPI ranks
 * (weir/dist.h) the count is global: the ranks together pass `rows` rows
 * (fewer if the input has fewer), each block's share taken from rank 0 in
 * one round trip. */
WEIR_EXTERN weir_op *weir_limit(weir_pipeline *p, weir_op *in, uint64_t rows);
/* Merges the streams of ins[0..n), in no particular order. */
WEIR_EXTERN weir_op *weir_union(weir_pipeline *p, weir_op *const *ins,
                                size_t n);

/* An operator may feed several consumers (a fan-out): each gets every block
 * by reference, without a copy. */

WEIR_EXTERN const char *weir_op_name(const weir_op *op);
/* Index of the operator in creation order, as weir_pipeline_op_stats()
 * counts. */
WEIR_EXTERN int         weir_op_index(const weir_op *op);

/* Runs the pipeline to completion on this thread, dropping the blocks that
 * `out` produces. Every operator upstream of `out` runs; with `out` NULL,
 * every operator runs and each one without consumers is a sink. Returns
 * WEIR_OK or the error that ended the run.
 *
 * weir_pipeline_run() runs a pipeline once (WEIR_EINVAL after that).
 *
 * Running again. Once a run has ended (weir_pipeline_run() returned, or
 * the run's iterator was destroyed), weir_pipeline_iter() runs the same
 * graph again from fresh state: every read task again, every operator's
 * workers made anew (init again), and
 * the statistics and weir_pipeline_errmsg() of the new run only. That is
 * how a training loop takes epochs: a new iterator per epoch, with its own
 * seed (seed + epoch) for a new shuffle, or the same seed for the same
 * order. WEIR_EINVAL while the previous run's iterator is alive, and for a
 * pipeline with a weir_source_arrow_stream() (a stream is read once). The
 * graph cannot grow between runs. */
WEIR_EXTERN int weir_pipeline_run(weir_pipeline *p, weir_op *out);

#define WEIR_ITER_OPTIONS_VERSION 1

typedef struct weir_iter weir_iter;
typedef struct weir_iter_options {
  unsigned version;          /* WEIR_ITER_OPTIONS_VERSION */
  size_t   batch_rows;       /* exact rows per batch; 0 = blocks as they come */
  int      drop_last;        /* 1 = drop a last batch shorter than batch_rows */
  size_t   prefetch_batches; /* batches made ready in the background; 0 = 2 */
  size_t   shuffle_buffer_rows; /* local shuffle; 0 = off. The buffer holds
                                at most a quarter of the memory budget: a
                                larger value is capped to the rows that
                                fit, with one warning saying by how much
                                (not spilled: that would read a random row
                                back from disk for each row out)          */
  uint64_t seed;             /* shuffle seed: same seed, same data, same
                                order, whatever the thread timing (below) */
  int      shuffle_any_order; /* 1 = shuffle blocks in the order they
                                arrive: faster, but the order then depends
                                on thread timing; 0 = reproducible         */
} weir_iter_options;
/* A seeded shuffle is reproducible: with shuffle_buffer_rows > 0 the
 * iterator asks for order upstream (as preserve_order does), so blocks
 * enter the shuffle buffer in read-task order and the same seed gives the
 * same batches on every run. The cost is that of preserve_order: outputs
 * finished early wait in a reorder buffer (in the memory budget, spilled
 * past it) behind a slow read task or call, so a straggler delays the
 * batches behind it instead of being overtaken. Streams merged by
 * weir_union() keep no order and make the order timing-dependent again.
 * shuffle_any_order = 1 gives the ordering up. */
#define WEIR_ITER_OPTIONS_INIT { WEIR_ITER_OPTIONS_VERSION, 0, 0, 2, 0, 0, 0 }

/* Starts running the pipeline in the background and returns an iterator
 * over the blocks of `out`. `opts` may be NULL. Called again after the
 * previous iterator was destroyed, it runs the pipeline again (an epoch;
 * see "Running again" above). */
WEIR_EXTERN int  weir_pipeline_iter(weir_pipeline *p, weir_op *out,
                                    const weir_iter_options *opts,
                                    weir_iter **it);
/* Hands the next batch to `*out` (the caller owns it). WEIR_OK, WEIR_EOF at
 * the end, or the error that ended the run. One thread at a time. */
WEIR_EXTERN int  weir_iter_next(weir_iter *it, weir_block **out);
/* Cancels the run if unfinished (a run whose last batch was delivered is
 * finished, even while sources stopped by a limit are still ending), waits
 * for it, and frees the iterator. Accepts NULL. May come before or after
 * weir_pipeline_destroy() of its pipeline. */
WEIR_EXTERN void weir_iter_destroy(weir_iter *it);
/* Hands the iterator's output to another Arrow consumer (DuckDB, pyarrow,
 * nanoarrow...) as an ArrowArrayStream. Takes `it`, also on error: the
 * stream's release destroys it. get_schema gives the schema of the first
 * batch (pulling it early, and handing it out first from get_next), or a
 * struct of no columns when the output is empty; get_next gives each
 * batch as it comes, zero-copy, and release NULL at the end. A failed run
 * makes get_next (or get_schema) return EIO (ENOMEM when out of memory),
 * and get_last_error the run's message. Like every ArrowArrayStream it is
 * for one thread at a time. */
WEIR_EXTERN int weir_iter_to_arrow_stream(weir_iter *it, struct ArrowArrayStream *out);

/* Ends a run in progress with WEIR_ECANCELED, within 100 ms. From any
 * thread, also a signal handler's; harmless when nothing runs. */
WEIR_EXTERN int  weir_pipeline_cancel(weir_pipeline *p);

/* Named resources (as Ray's custom resources): the pipeline declares how
 * much of `name` there is (e.g. "accel", 2), and an operator says how much
 * one of its workers holds; the adaptive scheduler never gives pools more
 * workers than the resources allow, so a pipeline with accelerators can be
 * scheduled and tested on a machine without them. Call before running;
 * WEIR_EINVAL after, for a negative amount or a ninth name. A run fails
 * with WEIR_EINVAL when an operator names a resource the pipeline does not
 * declare, or when the starting pools (min_workers) already exceed one. */
WEIR_EXTERN int  weir_pipeline_set_resource(weir_pipeline *p, const char *name,
                                            double amount);
WEIR_EXTERN int  weir_op_set_resource(weir_op *op, const char *name, double amount);

/* The code of the last error, matching weir_pipeline_errmsg(): the reason
 * an operator constructor returned NULL (WEIR_ENOTSUP for a GPU operator
 * in a build without CUDA, say), the error that ended the run, or the
 * code a later call on `p` failed with for a bad argument (unless a run's
 * error is there to keep); WEIR_OK when there was none. */
WEIR_EXTERN int  weir_pipeline_errcode(const weir_pipeline *p);

WEIR_END_DECLS

#endif /* WEIR_PIPELINE_H */
