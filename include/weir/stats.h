/* Statistics of a pipeline run, per operator and for the whole pipeline. */
#ifndef WEIR_STATS_H
#define WEIR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* Bins of weir_op_stats.block_bytes_hist. */
#define WEIR_BLOCK_BYTES_BINS 9

/* A snapshot of one operator's counters. May be taken while the pipeline
 * runs (from any thread) and after it ended. */
typedef struct weir_op_stats {
  const char *name;          /* valid while the pipeline lives */
  uint64_t rows_in, rows_out, blocks_in, blocks_out, bytes_in, bytes_out;
  uint64_t tasks, errors, retries, skipped_blocks;
  double   busy_seconds;     /* summed over workers */
  int      workers, workers_peak;
  size_t   queue_bytes_peak;
  uint64_t skipped_rows;     /* rows skipped under an error policy */
  size_t   queue_bytes;      /* bytes in the input queue now */
  size_t   queue_blocks;     /* blocks in the input queue now */
  size_t   queue_blocks_peak;
  double   blocked_seconds;  /* summed over workers: waiting on a full
                                output queue */
  double   cpu_seconds;      /* thread CPU time used by the workers */
  double   wall_seconds;     /* from the first task started to the last
                                ended */
  uint64_t resizes;          /* pool size changes by the scheduler */
  int      workers_min, workers_max;
  uint64_t spilled_bytes;    /* block bytes this operator held on local disk
                                instead of memory (see pipeline options) */
  uint64_t spilled_blocks;
  uint64_t skipped_inputs;   /* input files or objects given up, whole or
                                from a corrupt point on, under an error
                                policy (see weir_ctx_count_skipped_input) */
  uint64_t dropped_rows;     /* rows an operator dropped on purpose (a
                                filter), each with a reason: the counters
                                "dropped:<reason>" (weir_ctx_count_dropped) */
  uint64_t num_counters;     /* named counters the operator keeps */
  /* The sizes of the blocks this operator emitted (weir_block_nbytes):
   * the smallest, the largest, and how many fell in each bin of
   * powers of four: bin 0 under 64 KiB, bin i (1..7) in
   * [16 KiB << 2i, 16 KiB << 2(i+1)) (bin 1 from 64 KiB, bin 3 from
   * 1 MiB, bin 5 from 16 MiB, bin 7 from 256 MiB), bin 8 1 GiB and more. */
  uint64_t block_bytes_min, block_bytes_max;
  uint64_t block_bytes_hist[WEIR_BLOCK_BYTES_BINS];
  size_t   queue_max_bytes;  /* the input queue's bounds, so that queue_bytes
                                and queue_blocks read as a fill fraction */
  size_t   queue_max_blocks;
} weir_op_stats;

/* Named counters of operator `index` (weir_ctx_count): the value of
 * `name` (WEIR_ENOTFOUND when the operator never counted it), and the
 * i-th counter in order of first use (WEIR_ENOTFOUND past the last). The
 * name stays valid while the pipeline lives. Any thread, during or after
 * a run. */
WEIR_EXTERN int weir_pipeline_op_counter(const weir_pipeline *p, int index,
                                         const char *name, uint64_t *value);
WEIR_EXTERN int weir_pipeline_op_counter_at(const weir_pipeline *p, int index,
                                            size_t i, const char **name,
                                            uint64_t *value);

/* Whole-pipeline counters. */
typedef struct weir_pipeline_stats {
  double   wall_seconds;         /* of the run so far */
  size_t   bytes_in_flight;      /* now */
  size_t   bytes_in_flight_peak;
  size_t   memory_budget;
  double   iter_blocked_seconds; /* consumer time spent waiting inside
                                    weir_iter_next() */
  uint64_t iter_batches;
  int      stalls;               /* stalls reported */
  uint64_t resizes;              /* pool size changes, all operators */
} weir_pipeline_stats;

WEIR_EXTERN int weir_pipeline_num_ops(const weir_pipeline *p);
/* Counters of operator `index` (creation order). WEIR_EINVAL for a bad
 * index. */
WEIR_EXTERN int weir_pipeline_op_stats(const weir_pipeline *p, int index,
                                       weir_op_stats *out);
/* The whole pipeline's counters. */
WEIR_EXTERN int weir_pipeline_get_stats(const weir_pipeline *p,
                                        weir_pipeline_stats *out);
/* Both calls carry the size of the caller's struct, as weir_block_column()
 * does (see weir/block.h): the macros pass sizeof as the program's header
 * defines it; the plain symbols fill the first layouts (weir_op_stats up
 * to queue_max_blocks, weir_pipeline_stats up to resizes). */
WEIR_EXTERN int weir_pipeline_op_stats_sized(const weir_pipeline *p, int index,
                                             weir_op_stats *out, size_t out_size);
WEIR_EXTERN int weir_pipeline_get_stats_sized(const weir_pipeline *p,
                                              weir_pipeline_stats *out,
                                              size_t out_size);
#define weir_pipeline_op_stats(p, index, out) \
  weir_pipeline_op_stats_sized((p), (index), (out), sizeof(weir_op_stats))
#define weir_pipeline_get_stats(p, out) \
  weir_pipeline_get_stats_sized((p), (out), sizeof(weir_pipeline_stats))
/* Every counter as a JSON object {"pipeline": {...}, "operators": [...]};
 * "pipeline" has the run's "status" (WEIR_OK, WEIR_EFORMAT...) and
 * "message", the text of the error that ended it ("" after a success).
 * The caller frees `*json` with free(). */
WEIR_EXTERN int weir_pipeline_stats_json(const weir_pipeline *p, char **json);
/* The end-of-run table (one row per operator, with the rows each
 * skipped; a line for each operator that skipped failed blocks or inputs;
 * a last line that ends with the outcome: "success", "success, N rows
 * skipped", or the error), as text; free() it. */
WEIR_EXTERN int weir_pipeline_stats_table(const weir_pipeline *p, char **text);

/* A function the scheduler calls once per control tick (every 50 ms) while
 * a run goes on, on the scheduler's thread, with no lock of weir held:
 * the moment a monitor takes its snapshot of the statistics, so that its
 * readers (a dashboard's clients, say) never take the pipeline's lock
 * themselves. It must be quick and must not block; handing the work to
 * another thread (uv_async_send) is the usual body. Set it before the run
 * starts (NULL clears it); WEIR_EINVAL for a NULL pipeline, and
 * during a run. */
typedef void (*weir_tick_fn)(void *user);
WEIR_EXTERN int weir_pipeline_set_tick_fn(weir_pipeline *p, weir_tick_fn fn, void *user);

WEIR_END_DECLS

#endif /* WEIR_STATS_H */
