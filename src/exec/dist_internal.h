/* The executor's side of distribution (dist.c): whether a pipeline runs
 * on MPI ranks, the numbers that name its channels, and its calls into
 * the MPI runtime (exec/dist_backend.h). */
#ifndef WEIR_EXEC_DIST_INTERNAL_H
#define WEIR_EXEC_DIST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "exec/dist_backend.h"
#include "weir/pipeline.h"

/* `opt` is the pipeline's `dist` option. Sets *dist to 1 when the pipeline
 * runs on MPI ranks, starting the runtime the first time (loading
 * libweir_mpi, MPI_Init_thread on its thread). On failure the reason is
 * the thread's last error. */
int weir__dist_setup(int opt, int *dist);
/* The runtime, or NULL before one started. */
const weir__dist_backend *weir__dist_backend_get(void);
/* A new run's number: runs count alike on every rank, since every rank
 * runs the same pipelines in the same order. */
uint64_t weir__dist_new_run(void);
/* The channel of `op` in its pipeline's current run. */
uint64_t weir__dist_chan(const weir_pipeline *p, const weir_op *op);
/* The next read tasks of source `op` from the coordinator (blocks; call
 * without p->mu). */
int weir__dist_tasks(weir_op *op, uint64_t *first, uint64_t *count, char *err, size_t n);
/* Up to `want` rows of global limit `op`'s count from the coordinator
 * (blocks; call without p->mu). */
int weir__dist_take(weir_op *op, uint64_t want, uint64_t *got, char *err, size_t n);
/* At the end of a run on several ranks: every rank but 0 sends `mine` to
 * rank 0 and gets *all NULL; rank 0 waits for them all and gets every
 * rank's text, (*all)[r] for rank r (NULL for a rank whose text did not
 * come; free with weir__dist_free_texts()). Blocks rank 0 until each
 * rank's run has ended, or one failed. */
int weir__dist_gather_text(weir_pipeline *p, const char *mine, char ***all);
void weir__dist_free_texts(char **texts);
/* The `summary` option on ranks (dist_summary.c): what a rank sends
 * rank 0 (its counters and its `table`, malloc'ed in *out), and on rank 0
 * the text to log from every rank's payload (payloads[r] NULL for a rank
 * that sent none): each rank's table, then one of all ranks. */
int weir__dist_summary_payload(const weir_pipeline *p, const char *table, char **out);
int weir__dist_summary_render(char *const *payloads, int size, char **out);
/* Tells the other ranks that this one's run failed with `msg`. */
void weir__dist_tell_failure(const char *msg);

#endif
