/* weir_streaming_split in one process: one run, one plain iterator over
 * its output, and n consumer handles that take from it under one lock.
 *
 * By demand, a consumer that asks takes the next batch itself. In equal
 * mode the rows are dealt out in equal shares: whenever at least n rows
 * wait undealt, each consumer's queue gets floor(waiting / n) of them (a
 * slice of the batches, no copy), and fewer than n rows left at the end
 * are dropped and counted. A consumer's queue holds what it has not taken
 * yet, so in equal mode a consumer that lags keeps its shares in memory
 * (documented in weir/dist.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "exec/iter_split.h"
#include "weir/dist.h"
#include "weir/error.h"

/* A FIFO of blocks. */
typedef struct block_queue {
  weir_block **items;
  size_t head, len, cap;
  uint64_t rows;
} block_queue;

static int queue_push(block_queue *q, weir_block *b) {
  if (q->head + q->len == q->cap) {
    if (q->head) { /* reuse the room taken blocks left at the front */
      memmove(q->items, q->items + q->head, q->len * sizeof *q->items);
      q->head = 0;
    } else {
      size_t cap = q->cap ? 2 * q->cap : 8;
      weir_block **items = realloc(q->items, cap * sizeof *items);
      if (!items) return WEIR_ENOMEM;
      q->items = items;
      q->cap = cap;
    }
  }
  q->items[q->head + q->len++] = b;
  q->rows += weir_block_num_rows(b);
  return WEIR_OK;
}

static weir_block *queue_pop(block_queue *q) {
  if (!q->len) return NULL;
  weir_block *b = q->items[q->head++];
  q->len--;
  q->rows -= weir_block_num_rows(b);
  return b;
}

static void queue_free(block_queue *q) {
  weir_block *b;
  while ((b = queue_pop(q))) weir_block_unref(&b);
  free(q->items);
}

struct weir__split {
  pthread_mutex_t mu;
  weir_iter *base;      /* the run's plain iterator */
  int n, live;          /* consumers made, and not yet destroyed */
  int equal;
  int end_rc;           /* WEIR_OK until the base iterator ended, then how */
  block_queue undealt;  /* equal mode: rows not yet shared out */
  size_t undealt_at;    /* rows of undealt's first block already dealt */
  block_queue *shares;  /* equal mode: per consumer */
  uint8_t *gone;        /* per consumer: destroyed */
  uint64_t dropped;
};

/* Moves `k` rows from the front of `s->undealt` into `q` (dropped when
 * `q` is NULL), as slices. */
static int deal_rows(weir__split *s, block_queue *q, uint64_t k) {
  block_queue *u = &s->undealt;
  while (k) {
    weir_block *b = u->items[u->head];
    size_t rows = weir_block_num_rows(b) - s->undealt_at;
    size_t take = rows < k ? rows : (size_t)k;
    if (q) {
      weir_block *piece = weir__block_slice(b, s->undealt_at, take);
      if (!piece) return WEIR_ENOMEM;
      int rc = queue_push(q, piece);
      if (rc != WEIR_OK) {
        weir_block_unref(&piece);
        return rc;
      }
    }
    s->undealt_at += take;
    u->rows -= take;
    k -= take;
    if (s->undealt_at == weir_block_num_rows(b)) { /* all of it dealt */
      u->head++;
      u->len--;
      s->undealt_at = 0;
      weir_block_unref(&b);
    }
  }
  return WEIR_OK;
}

/* Equal mode: shares out what can be shared equally. A destroyed
 * consumer's share is dealt and dropped like anyone else's, so the others
 * keep equal counts. */
static int deal(weir__split *s) {
  uint64_t each = s->undealt.rows / (uint64_t)s->n;
  for (int i = 0; each && i < s->n; i++) {
    int rc = deal_rows(s, s->gone[i] ? NULL : &s->shares[i], each);
    if (rc != WEIR_OK) return rc;
  }
  return WEIR_OK;
}

/* Pulls one batch from the run into the equal mode's undealt rows; at the
 * end, drops what cannot be shared. Called with s->mu held. */
static int refill(weir__split *s) {
  weir_block *b = NULL;
  int rc = weir_iter_next(s->base, &b);
  if (rc == WEIR_OK) {
    if (weir_block_num_rows(b) == 0) {
      weir_block_unref(&b);
      return WEIR_OK;
    }
    rc = queue_push(&s->undealt, b);
    if (rc != WEIR_OK) {
      weir_block_unref(&b);
      return rc;
    }
    return deal(s);
  }
  s->end_rc = rc;
  if (rc == WEIR_EOF && s->undealt.rows) {
    s->dropped = s->undealt.rows;
    weir__log(s->base->p, WEIR_LOG_INFO,
              "streaming_split: %llu rows at the end could not be shared equally among "
              "%d consumers and were dropped", (unsigned long long)s->dropped, s->n);
    deal_rows(s, NULL, s->undealt.rows);
  }
  return rc;
}

int weir__split_next(weir_iter *it, weir_block **out) {
  if (!out) return weir__set_last_error(WEIR_EINVAL, "weir_iter_next: NULL out (where the batch goes)");
  weir__split *s = it->split;
  pthread_mutex_lock(&s->mu);
  int rc;
  if (!s->equal) {
    rc = s->end_rc ? s->end_rc : weir_iter_next(s->base, out);
    if (rc != WEIR_OK) s->end_rc = rc;
  } else {
    block_queue *mine = &s->shares[it->index];
    rc = WEIR_OK;
    while (!mine->len && !s->end_rc && rc == WEIR_OK) rc = refill(s);
    if (mine->len) {
      *out = queue_pop(mine);
      rc = WEIR_OK;
    } else if (rc == WEIR_OK) {
      rc = s->end_rc;
    }
  }
  if (rc != WEIR_OK) it->ended = 1;
  pthread_mutex_unlock(&s->mu);
  return rc;
}

void weir__split_destroy(weir_iter *it) {
  weir__split *s = it->split;
  pthread_mutex_lock(&s->mu);
  s->gone[it->index] = 1;
  if (s->equal) queue_free(&s->shares[it->index]);
  int last = --s->live == 0;
  pthread_mutex_unlock(&s->mu);
  free(it);
  if (!last) return;
  weir_iter_destroy(s->base);
  queue_free(&s->undealt);
  free(s->shares);
  free(s->gone);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

uint64_t weir_split_dropped_rows(const weir_iter *it) {
  if (!it || !it->split) return 0;
  weir__split *s = it->split;
  pthread_mutex_lock(&s->mu);
  uint64_t d = s->dropped;
  pthread_mutex_unlock(&s->mu);
  return d;
}

int weir_streaming_split(weir_pipeline *p, weir_op *in, int n, const weir_split_options *o,
                         weir_iter **iters) {
  if (!p) return weir__set_last_error(WEIR_EINVAL, "weir_streaming_split: NULL pipeline");
  if (!iters || n < 1)
    return weir__call_fail(p, WEIR_EINVAL, "weir_streaming_split: %s",
                           !iters ? "NULL iters" : "n must be at least 1");
  for (int i = 0; i < n; i++) iters[i] = NULL;
  weir_split_options def = WEIR_SPLIT_OPTIONS_INIT;
  if (!o) o = &def;
  if (o->version != WEIR_SPLIT_OPTIONS_VERSION)
    return weir__call_fail(p, WEIR_EINVAL, "weir_streaming_split: unknown options version %u",
                           o->version);
  weir__split *s = calloc(1, sizeof *s);
  if (!s) return WEIR_ENOMEM;
  s->n = s->live = n;
  s->equal = o->equal != 0;
  s->gone = calloc((size_t)n, 1);
  s->shares = s->equal ? calloc((size_t)n, sizeof *s->shares) : NULL;
  weir_iter **made = calloc((size_t)n, sizeof *made);
  int rc = s->gone && (!s->equal || s->shares) && made ? WEIR_OK : WEIR_ENOMEM;
  for (int i = 0; rc == WEIR_OK && i < n; i++) {
    made[i] = calloc(1, sizeof **made);
    if (!made[i]) rc = WEIR_ENOMEM;
  }
  if (rc == WEIR_OK) rc = weir_pipeline_iter(p, in, &o->iter, &s->base);
  if (rc != WEIR_OK) {
    for (int i = 0; made && i < n; i++) free(made[i]);
    free(made);
    free(s->gone);
    free(s->shares);
    free(s);
    return rc;
  }
  pthread_mutex_init(&s->mu, NULL);
  for (int i = 0; i < n; i++) {
    made[i]->split = s;
    made[i]->index = i;
    iters[i] = made[i];
  }
  free(made);
  return WEIR_OK;
}
