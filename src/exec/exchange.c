/* weir_repartition_by_key across MPI ranks: partition q belongs to rank
 * q % size. Each rank's splitter keeps the pieces of its own partitions
 * and sends the others' (the block's bytes, one message a piece) through
 * the runtime, which holds a few messages in flight per pair of ranks and
 * gets a credit back as the receiver takes one: a slow receiver slows its
 * senders, and memory stays bounded. A receiver on each rank (a source of
 * one task that every rank runs itself) turns the messages into blocks
 * and emits them, waiting for room downstream like any source; it ends
 * once every other rank has said it sends nothing more, which each says
 * when its splitter finishes. The splitter's and the receiver's outputs
 * meet in a union, the operator the call returns. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/block_codec.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "exec/repartition.h"
#include "weir/dist.h"
#include "weir/error.h"

typedef struct exch {
  weir__by_key *k;
  void (*k_free)(void *);
  weir_op *split;  /* its index names the channel, on every rank alike */
  int rank, size;
} exch;

static void exch_free(void *arg) {
  exch *x = arg;
  x->k_free(x->k);
  free(x);
}

typedef struct piece_ctx {
  exch *x;
  weir_emit *out;
  weir_ctx *ctx;
  uint64_t chan;
} piece_ctx;

static void release_payload(void *opaque, void *data, size_t size) {
  (void)size;
  ((const weir__dist_backend *)opaque)->release(data);
}

/* A piece of partition `q`: emitted here when this rank owns it, else
 * sent to its owner. Takes `piece`. */
static int route(void *arg, weir_block *piece, int q) {
  piece_ctx *pc = arg;
  int dest = q % pc->x->size;
  if (dest == pc->x->rank) return weir_emit_block(pc->out, piece);
  if (weir_block_num_rows(piece) == 0) {
    weir_block_unref(&piece);
    return WEIR_OK;
  }
  const weir__dist_backend *be = weir__dist_backend_get();
  const weir__block_codec *codec = weir__block_codec_get();
  size_t raw = 0;
  int rc = codec->size(piece, &raw);
  void *buf = rc == WEIR_OK ? be->alloc(raw) : NULL;
  if (rc == WEIR_OK && !buf) rc = WEIR_ENOMEM;
  if (rc == WEIR_OK) rc = codec->write(piece, buf, raw);
  size_t rows = weir_block_num_rows(piece);
  weir_block_unref(&piece);
  if (rc != WEIR_OK) {
    be->release(buf);
    weir_ctx_set_errmsg(pc->ctx, "encoding %zu rows for rank %d: %s", rows, dest,
                        weir_strerror(rc));
    return rc;
  }
  char err[768] = "";
  /* Waits for a credit: the receiver's pace sets this rank's. A run that
   * ends meanwhile stops the wait. */
  rc = be->send(pc->chan, dest, buf, raw, (const int *)&pc->x->split->p->ending, err,
                sizeof err);
  if (rc != WEIR_OK && rc != WEIR_ECANCELED)
    weir_ctx_set_errmsg(pc->ctx, "sending %zu rows to rank %d: %s", rows, dest, err);
  return rc;
}

static int split_fn(void *user, weir_block *in, weir_emit *out) {
  exch *x = user;
  piece_ctx pc = {x, out, weir_emit_ctx(out), weir__dist_chan(x->split->p, x->split)};
  return weir__split_by_key(x->k, in, out, route, &pc);
}

/* The splitter finished (its input ended, or the run is ending): every
 * other rank learns that this one sends nothing more. Queued, never
 * blocking; after a failure the runtime refuses, and the others already
 * know. */
static void split_finished(void *arg, weir_op *op) {
  exch *x = arg;
  const weir__dist_backend *be = weir__dist_backend_get();
  uint64_t chan = weir__dist_chan(op->p, op);
  char err[256];
  for (int r = 0; r < x->size; r++)
    if (r != x->rank) be->send_end(chan, r, err, sizeof err);
}

/* The run ended on this rank: its channel's state goes. */
static void split_run_end(void *arg, weir_op *op) {
  (void)arg;
  weir__dist_backend_get()->close(weir__dist_chan(op->p, op));
}

static int recv_task(void *user, size_t task, weir_emit *out) {
  (void)task;
  exch *x = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const weir__dist_backend *be = weir__dist_backend_get();
  const weir__block_codec *codec = weir__block_codec_get();
  uint64_t chan = weir__dist_chan(x->split->p, x->split);
  for (;;) {
    void *payload = NULL;
    size_t len = 0;
    int from = -1;
    char err[768] = "";
    int rc = be->recv(chan, 200, &payload, &len, &from, err, sizeof err);
    if (rc == 0) return WEIR_OK; /* every other rank has sent all */
    if (rc == 2) {
      if (weir_ctx_cancelled(ctx)) return WEIR_ECANCELED;
      continue;
    }
    if (rc < 0) {
      weir_ctx_set_errmsg(ctx, "%s", err);
      return rc;
    }
    weir_block *b = NULL;
    rc = codec->read(payload, len, release_payload, (void *)be, &b, err, sizeof err);
    if (rc != WEIR_OK) {
      weir_ctx_set_errmsg(ctx, "a block from rank %d: %s", from, err);
      return rc;
    }
    rc = weir_emit_block(out, b);
    if (rc != WEIR_OK) return rc;
  }
}

weir_op *weir__exchange_by_key(weir_pipeline *p, weir_op *in, weir__by_key *k,
                               void (*k_free)(void *)) {
  exch *x = calloc(1, sizeof *x);
  if (!x) {
    k_free(k);
    return weir__op_fail(p, WEIR_ENOMEM, "weir_repartition_by_key: out of memory");
  }
  x->k = k;
  x->k_free = k_free;
  x->rank = weir_dist_rank();
  x->size = weir_dist_size();
  x->split = weir_map_batches(p, in, "repartition_by_key", split_fn, x, NULL);
  if (!x->split) {
    exch_free(x);
    return NULL;
  }
  weir__op_set_cleanup(x->split, exch_free, x);
  weir__op_set_finished(x->split, split_finished, x);
  weir__op_set_run_end(x->split, split_run_end, x);
  /* One worker: it only waits on the network and emits. */
  weir_op_options ro = WEIR_OP_OPTIONS_INIT;
  ro.max_workers = 1;
  weir_op *recv = weir_source(p, "repartition_by_key.recv", 1, recv_task, x, &ro);
  if (!recv) return NULL;
  recv->dist_local = 1;
  weir_op *both[2] = {x->split, recv};
  return weir_union(p, both, 2);
}
