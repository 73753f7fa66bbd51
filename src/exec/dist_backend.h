/* The seam between the executor and the MPI runtime, libweir_mpi, which
 * libweir loads with dlopen() when a pipeline asks for MPI ranks
 * (WEIR_DIST=mpi or the `dist` pipeline option): programs that never do
 * are not linked with MPI. libweir_mpi exports one symbol,
 * weir_mpi_backend_v1, returning this table; it uses nothing of libweir
 * (only this header and the error codes of weir/error.h), so it works
 * with the shared and the static library alike.
 *
 * Every MPI call is made on the runtime's one communication thread, which
 * initialises MPI (MPI_THREAD_FUNNELED is all it needs), feeds it from
 * queues, and finalises it; or, when the program initialised MPI itself
 * at MPI_THREAD_MULTIPLE, uses it beside the program and stops in the
 * program's MPI_Finalize. The calls below are made by libweir's threads
 * (workers, the scheduler, the application's): they queue messages for
 * the communication thread and wait on its answers, never calling MPI.
 *
 * A channel is one stream of messages between the ranks' copies of one
 * operator in one run: (the run's number, the operator's index), which
 * every rank computes alike because every rank builds and runs the same
 * pipelines in the same order. */
#ifndef WEIR_EXEC_DIST_BACKEND_H
#define WEIR_EXEC_DIST_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define WEIR__DIST_ABI 2

typedef struct weir__dist_backend {
  int abi; /* WEIR__DIST_ABI */
  /* Starts the communication thread, which initialises MPI; waits until
   * it has. WEIR_OK, or a code with `err` saying why. Called once. */
  int (*start)(char *err, size_t errlen);
  int (*rank)(void);
  int (*size)(void);
  /* Read tasks for channel `chan` of a source with `ntasks` tasks, from
   * the coordinator on rank 0: [*first, *first + *count), *count 0 when
   * every task has been handed out. Blocks for one round trip. WEIR_OK,
   * or the failure of a rank (`err`). */
  int (*tasks)(uint64_t chan, uint64_t ntasks, uint64_t *first, uint64_t *count,
               char *err, size_t errlen);
  /* Takes up to `want` of a count of `total` shared by every rank (a
   * global weir_limit's rows) from the coordinator on rank 0: *got is what
   * is granted, 0 once the count is used up. One round trip. */
  int (*take)(uint64_t chan, uint64_t total, uint64_t want, uint64_t *got, char *err,
              size_t errlen);
  /* A buffer for a message of `len` payload bytes; NULL when out of
   * memory. Given to send(), or released with release(). */
  void *(*alloc)(size_t len);
  void (*release)(void *payload);
  /* Sends `payload` (from alloc(), taken) on `chan` to rank `dest`,
   * waiting for a credit first: each (channel, sender, receiver) has a
   * few messages in flight at most, and the receiver returns a credit as
   * it takes one (recv()), so a slow receiver slows its senders. `stop`,
   * when not NULL, is polled while waiting: non-zero gives
   * WEIR_ECANCELED. */
  int (*send)(uint64_t chan, int dest, void *payload, size_t len, const int *stop,
              char *err, size_t errlen);
  /* This rank sends nothing more on `chan` to `dest` (after its data). */
  int (*send_end)(uint64_t chan, int dest, char *err, size_t errlen);
  /* The next message on `chan` from any rank: 1 with *payload (release()
   * it), *len and *from; 0 when every other rank has sent its end and
   * nothing is left; 2 after `timeout_ms` without either (the caller
   * checks whether its run is ending); < 0 a failure (`err`). */
  int (*recv)(uint64_t chan, int timeout_ms, void **payload, size_t *len, int *from,
              char *err, size_t errlen);
  /* Forgets the channel's state here (the run ended). */
  void (*close)(uint64_t chan);
  /* Tells every other rank this one failed (its run's error, `msg`): their
   * waits end with an error naming this rank. */
  void (*fail)(const char *msg);
  /* Non-zero once a rank failed, died or stopped answering: `err` says
   * which and how. Every wait above returns that failure from then on. */
  int (*failed)(char *err, size_t errlen);
  /* At exit: waits for every rank to get there (serving the coordinator
   * meanwhile), then finalises MPI and ends the thread. After a failure
   * it ends without finalising, so it never waits on a dead rank. */
  void (*stop)(void);
  /* Progress: report() keeps `len` bytes as this rank's latest progress
   * of run `run` (copied), sent to rank 0 with the next heartbeat, so at
   * most every half second. On rank 0, reports() calls `each` with every
   * other rank's latest report of run `run` (under the runtime's lock: it
   * must only copy) and returns how many it had. */
  void (*report)(uint64_t run, const void *data, size_t len);
  int (*reports)(uint64_t run, void (*each)(void *user, int rank, const void *data, size_t len),
                 void *user);
} weir__dist_backend;

typedef const weir__dist_backend *(*weir__dist_backend_fn)(void);

#endif /* WEIR_EXEC_DIST_BACKEND_H */
