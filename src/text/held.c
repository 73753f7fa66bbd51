/* Rows held by a barrier, counted in the executor's memory budget: each
 * block held in memory adds its bytes to the bytes in flight as parked
 * bytes (exec/budget.h), so sources slow down for them and the executor's
 * spill rule (weir__spill_due) decides when they go to disk instead. */
#include <stdlib.h>

#include "exec/exec_internal.h"
#include "text/held.h"
#include "weir/error.h"

static void count_spill(weir_ctx *ctx, uint64_t bytes) {
  weir_op *op = ctx->op;
  pthread_mutex_lock(&op->p->mu);
  op->st.spilled_bytes += bytes;
  op->st.spilled_blocks++;
  pthread_mutex_unlock(&op->p->mu);
}

int weir__held_push(weir__held *h, weir_block *b, weir_ctx *ctx) {
  size_t nb = weir_block_nbytes(b);
  if (!h->spill && (!h->limit || h->bytes + nb <= h->limit)) {
    if (h->n == h->cap) {
      size_t nc = h->cap ? 2 * h->cap : 64;
      weir_block **nm = realloc(h->mem, nc * sizeof *nm);
      if (!nm) {
        weir_ctx_set_errmsg(ctx, "out of memory holding rows");
        return WEIR_ENOMEM;
      }
      h->mem = nm;
      h->cap = nc;
    }
    weir_pipeline *p = ctx->op->p;
    pthread_mutex_lock(&p->mu);
    int due = weir__spill_due(p, nb, 0);
    if (!due) {
      weir__flight_add(p, nb);
      weir__park(p, nb, 0);
    }
    pthread_mutex_unlock(&p->mu);
    if (!due) {
      h->mem[h->n++] = weir_block_ref(b);
      h->bytes += nb;
      return WEIR_OK;
    }
  }
  char err[512] = "";
  if (!h->spill && weir__spill_create(&h->spill, h->spill_dir, err, sizeof err)) {
    weir_ctx_set_errmsg(ctx, "cannot hold rows on disk: %s", err);
    return WEIR_EIO;
  }
  uint64_t d0 = weir__spill_disk_bytes(h->spill);
  if (weir__spill_push(h->spill, b)) {
    weir_ctx_set_errmsg(ctx, "holding rows on disk: %s", weir__spill_errmsg(h->spill));
    return WEIR_EIO;
  }
  uint64_t d1 = weir__spill_disk_bytes(h->spill);
  count_spill(ctx, d1 > d0 ? d1 - d0 : 0);
  h->rows_spilled += weir_block_num_rows(b);
  return WEIR_OK;
}

int weir__held_pop(weir__held *h, weir_ctx *ctx, weir_block **out) {
  *out = NULL;
  if (h->head < h->n) {
    weir_block *b = h->mem[h->head];
    h->mem[h->head++] = NULL;
    size_t nb = weir_block_nbytes(b);
    weir_pipeline *p = ctx->op->p;
    pthread_mutex_lock(&p->mu);
    weir__park(p, 0, nb);
    weir__flight_sub(p, nb);
    pthread_mutex_unlock(&p->mu);
    h->bytes -= nb;
    *out = b;
    return WEIR_OK;
  }
  if (!h->spill)
    return WEIR_EOF;
  int rc = weir__spill_pop(h->spill, out);
  if (rc && rc != WEIR_EOF)
    weir_ctx_set_errmsg(ctx, "reading held rows back: %s", weir__spill_errmsg(h->spill));
  return rc;
}

void weir__held_clear(weir__held *h) {
  for (size_t i = h->head; i < h->n; i++)
    weir_block_unref(&h->mem[i]);
  free(h->mem);
  h->mem = NULL;
  h->n = h->head = h->cap = h->bytes = 0;
  weir__spill_destroy(h->spill);
  h->spill = NULL;
  h->rows_spilled = 0;
}
