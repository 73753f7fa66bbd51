/* Spilling for operators that hold blocks they cannot release yet: when
 * to spill, and moving blocks to and from a spill store through the
 * backend (exec/spill_backend.h), with the run ended on an I/O error. */
#include <stdio.h>
#include <stdlib.h>

#include "core/scratch_file.h"
#include "exec/budget.h"
#include "exec/exec_internal.h"
#include "exec/spill_backend.h"
#include "weir/error.h"

/* Held bytes may take up to weir__budget_park_limit (exec/budget.h): the
 * rest stays for the blocks that move, so the pipeline keeps flowing while
 * one call lags. */
int weir__spill_due(const weir_pipeline *p, size_t nb, int counted) {
  if (p->opts.no_spill)
    return 0;
  size_t flight = p->in_flight + (counted ? 0 : nb);
  return flight > p->budget || p->parked + nb > weir__budget_park_limit(p->budget);
}

/* The folder spill files go to, as the store picks it, for messages. */
static const char *spill_folder(const weir_pipeline *p) {
  return weir__scratch_dir(p->opts.spill_dir);
}

static void spill_fail(weir_op *op, int rc, const char *detail) {
  weir_pipeline *p = op->p;
  weir__run_fail(p, rc, "operator '%s': spilling to folder %s: %s (%s)", op->name,
                 spill_folder(p), detail, weir_err_name(rc));
}

/* Encoding, compressing and writing take a while: with `unlock` the
 * pipeline's mutex is released meanwhile, so other workers go on; the
 * caller then makes sure nobody else uses `*store` until it returns. */
int weir__spill_put(weir_op *op, void **store, const weir_block *b, int unlock) {
  const weir__spill_backend *sb = weir__spill_ops();
  weir_pipeline *p = op->p;
  int rc = WEIR_OK, created = 0;
  char err[512] = "";
  if (unlock)
    pthread_mutex_unlock(&p->mu);
  if (!*store) {
    void *s = NULL;
    rc = sb->create(&s, p->opts.spill_dir, err, sizeof err);
    *store = rc == WEIR_OK ? s : NULL;
    created = rc == WEIR_OK;
    if (rc != WEIR_OK && !err[0])
      snprintf(err, sizeof err, "%s", weir_strerror(rc));
  }
  if (rc == WEIR_OK) {
    rc = sb->push(*store, b);
    if (rc != WEIR_OK)
      snprintf(err, sizeof err, "%s", sb->errmsg(*store));
  }
  if (unlock)
    pthread_mutex_lock(&p->mu);
  if (created)
    weir__log(p, WEIR_LOG_DEBUG,
              "operator '%s': holding more than the memory budget allows; spilling to %s",
              op->name, spill_folder(p));
  if (rc != WEIR_OK) {
    spill_fail(op, rc, err);
    return rc;
  }
  op->st.spilled_bytes += weir_block_nbytes(b);
  op->st.spilled_blocks++;
  return WEIR_OK;
}

int weir__spill_get(weir_op *op, void *store, weir_block **out, int unlock) {
  const weir__spill_backend *sb = weir__spill_ops();
  char err[512] = "";
  *out = NULL;
  if (unlock)
    pthread_mutex_unlock(&op->p->mu);
  int rc = store ? sb->pop(store, out) : WEIR_EOF;
  if (rc != WEIR_OK && rc != WEIR_EOF)
    snprintf(err, sizeof err, "%s", sb->errmsg(store));
  if (unlock)
    pthread_mutex_lock(&op->p->mu);
  if (rc == WEIR_EOF) {
    /* A block the queue promised is missing: never lose rows silently. */
    rc = WEIR_EIO;
    spill_fail(op, rc, "reading back: the spill file ended early");
  } else if (rc != WEIR_OK) {
    spill_fail(op, rc, err);
  }
  return rc;
}

/* One file per op rather than per call: calls finish about in order, so
 * most spill to one store, and few stores keep few encode buffers. A call
 * whose outputs may be dropped (retries, skips) gets its own, since a
 * shared store can only drop from its head. A store being written to is
 * busy: the write runs unlocked, and pushes to one store must keep the
 * order of calls. */
int weir__spill_hold(weir_op *op, weir__call *c, const weir_block *b, void **store) {
  const weir__spill_backend *sb = weir__spill_ops();
  void **slot = &c->spill;
  int best = -1;
  for (int i = 0; i < op->nheld_spill && !c->hold_all; i++) {
    if (op->held_busy[i])
      continue;
    if (op->held_last[i] && sb->count(op->held_spill[i]) == 0)
      op->held_last[i] = 0; /* drained: open to any call again */
    if (op->held_last[i] <= c->seq + 1 && (best < 0 || op->held_last[i] > op->held_last[best]))
      best = i;
  }
  if (best < 0 && !c->hold_all && op->nheld_spill < 8)
    best = op->nheld_spill++;
  if (best >= 0) {
    slot = &op->held_spill[best];
    op->held_busy[best] = 1;
  }
  int rc = weir__spill_put(op, slot, b, 1);
  if (best >= 0) {
    op->held_busy[best] = 0;
    if (rc == WEIR_OK)
      op->held_last[best] = c->seq + 1;
  }
  if (rc == WEIR_OK)
    op->held_spilled++;
  *store = *slot;
  return rc;
}

void weir__spill_free(void **store) {
  if (*store)
    weir__spill_ops()->destroy(*store);
  *store = NULL;
}
