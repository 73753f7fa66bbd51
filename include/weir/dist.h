/* Distribution: the operators whose meaning spans processes, and the
 * rank and size a program runs as.
 *
 * A program runs on N MPI ranks, unchanged, when it is started with
 * `mpirun -np N prog` (or mpiexec, or srun) and WEIR_DIST=mpi is in its
 * environment, or when its pipelines set the `dist` option to
 * WEIR_DIST_MPI (weir/pipeline.h). Every rank builds and runs the same
 * pipelines in the same order; weir decides who does what:
 *  - read tasks (files, byte ranges, Parquet row groups, the tasks of
 *    weir_source) are handed out by a coordinator on rank 0 as ranks ask
 *    for them, in shares that shrink as the tasks run out, so a slow rank
 *    takes fewer; a source whose tasks are few may leave a rank none;
 *  - each rank writes its own shards, named after it: a folder output's
 *    shards are part-rRRRRR-NNNNN<suffix> on rank RRRRR, a file or named
 *    shards get -rRRRRR after their stem; resume is refused (which rows a
 *    rank writes depends on the tasks it was handed);
 *  - the operators after a source run on the rank that read the rows;
 *    those below say what they do across ranks. weir_limit is global
 *    (the ranks together pass its count). The dedup operators,
 *    weir_streaming_split and weir_pipeline_iter act on the rank's own
 *    rows, and the statistics are the rank's own; the `summary` option's
 *    tables are gathered to rank 0, which logs each rank's, then one
 *    table of all ranks (see weir_pipeline_options.summary); the
 *    `progress` option's display is rank 0's alone, with every rank's
 *    counts.
 * A rank that fails tells the others, whose runs end with an error naming
 * it; a rank that dies or stops answering is noticed by the others within
 * WEIR_DIST_TIMEOUT seconds (default 10) of silence on the heartbeats, and
 * their runs end naming it. A process whose rank saw a failure ends with
 * exit status 1 at exit, after printing the reason, rather than wait for
 * a dead rank in MPI_Finalize. Each rank's stall detector (the
 * `stall_seconds` option) watches its own run, and its report starts with
 * "rank R of N stalled", so a rank that stops making progress while alive
 * is named too.
 *
 * The MPI runtime is a library of its own, libweir_mpi.so.0, loaded with
 * dlopen() the first time a pipeline asks for MPI (from $WEIR_MPI_LIBRARY,
 * else libweir's own folder, else the install folder), so programs that
 * do not use MPI are not linked with it. It makes every MPI call on one
 * communication thread of its own (MPI_THREAD_FUNNELED), which
 * initialises MPI and finalises it at exit. A program that initialised
 * MPI itself keeps it: weir joins that MPI, on its own duplicate of
 * MPI_COMM_WORLD (whose error handler it leaves alone), and stops at the
 * start of the program's MPI_Finalize. Because weir's thread then calls
 * MPI beside the program's, the program must have asked MPI_Init_thread
 * for MPI_THREAD_MULTIPLE; a lower level makes weir_pipeline_create()
 * fail with WEIR_ENOTSUP saying so. Asking for MPI in a process
 * mpirun did not start, or in a build without MPI, makes
 * weir_pipeline_create() fail with WEIR_ENOTSUP saying which; a value of
 * WEIR_DIST other than mpi, local or none with WEIR_EINVAL.
 *
 * In one process each call has its local meaning, stated with it: rank 0
 * of 1, a hash repartition inside the process, n iterators over one run. */
#ifndef WEIR_DIST_H
#define WEIR_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* This process's rank and the number of ranks: 0 and 1 in one process.
 * With WEIR_DIST=mpi the first call starts MPI (as weir_pipeline_create()
 * would), and answers 0 and 1 if that fails. Any thread. */
WEIR_EXTERN int weir_dist_rank(void);
WEIR_EXTERN int weir_dist_size(void);

/* Sends each row to the partition that owns the hash of its value in
 * `column`, streaming: rows with equal keys end in the same partition.
 * `partitions` 0 means one per rank (one in a single process). On MPI
 * ranks partition q belongs to rank q % size: a rank keeps the rows of
 * its partitions and sends the others' to their rank as they come (one
 * message per block piece, sent without blocking its computation; a few
 * in flight per pair of ranks, each receiver returning a credit as it
 * takes one, so a slow receiver slows its senders and memory stays
 * bounded), and the returned operator emits the rank's own rows with
 * those received, which count in its memory budget like a source's. Each block
 * out holds the rows of one partition, in their input order; blocks pass
 * unchanged when there is one partition. Keys: BOOL, INT32, INT64,
 * FLOAT32, FLOAT64 (by value: 1 and 1.0 differ, -0.0 and 0.0 do not; all
 * NaNs are one key), STRING and BINARY (by bytes); a null is a key of its
 * own. The partition of a key is hash % partitions, the hash being 64-bit
 * FNV-1a over the key's bytes (numbers as 8 little-endian bytes of their
 * int64 or float64 value, a null as no bytes with a distinct seed),
 * finished by a 64-bit avalanche mix: the same on every machine and every
 * run. A column missing from a block, or of another type (a tensor or a
 * list), ends the run naming it. NULL (reason in weir_pipeline_errmsg())
 * for a NULL column or negative `partitions`. */
WEIR_EXTERN weir_op *weir_repartition_by_key(weir_pipeline *p, weir_op *in,
                                             const char *column,
                                             int partitions);

/* The partition weir_repartition_by_key() gives row `row` of column
 * `index` of `b` among `partitions` (>= 1): for tests and tools. -1 for a
 * bad argument or an unsupported column type. */
WEIR_EXTERN int weir_partition_of(const weir_block *b, size_t index, size_t row,
                                  int partitions);

#define WEIR_SPLIT_OPTIONS_VERSION 1
typedef struct weir_split_options {
  unsigned version;          /* WEIR_SPLIT_OPTIONS_VERSION */
  int      equal;            /* 1 = every consumer gets the same number of
                                rows: rows are dealt out in equal shares as
                                they come, and at the end fewer than n rows
                                that cannot be shared equally are dropped
                                (counted in weir_split_dropped_rows() and
                                logged). 0 = by demand: each block goes to
                                the consumer that asks next, so a faster
                                consumer gets more                          */
  weir_iter_options iter;    /* the run's batching and prefetch, as for
                                weir_pipeline_iter()                        */
} weir_split_options;
#define WEIR_SPLIT_OPTIONS_INIT { WEIR_SPLIT_OPTIONS_VERSION, 0, WEIR_ITER_OPTIONS_INIT }

/* Runs the pipeline once and hands its output to `n` consumers:
 * iters[0..n) each receive a part of the rows and together every row once
 * (less the equal mode's remainder). In one process the iterators share
 * one run; each may be used from its own thread (one thread per iterator
 * at a time), and each is destroyed with weir_iter_destroy(), in any
 * order; the run ends when the last is destroyed. In equal mode a
 * consumer's shares wait for it in memory while it lags behind the
 * others, so lockstep consumers keep that small. WEIR_EINVAL for n < 1,
 * a NULL argument or a bad options version; the errors of
 * weir_pipeline_iter() otherwise. */
WEIR_EXTERN int weir_streaming_split(weir_pipeline *p, weir_op *in, int n,
                                     const weir_split_options *o,
                                     weir_iter **iters);
/* Rows the equal mode dropped at the end of the run `it` belongs to (0 in
 * the demand mode or before the end). */
WEIR_EXTERN uint64_t weir_split_dropped_rows(const weir_iter *it);

WEIR_END_DECLS

#endif /* WEIR_DIST_H */
