/* The pull iterator: a hidden stage that re-blocks to exact batches and
 * shuffles locally with a seed, a ready queue of prefetched batches, and
 * weir_iter_next / weir_iter_destroy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/budget.h"
#include "exec/exec_internal.h"
#include "exec/iter_split.h"
#include "weir/error.h"

/* ---- Shuffle buffer ---------------------------------------------------- */

typedef struct shuf_ent {
  uint32_t block, row;
} shuf_ent;

typedef struct collect_state {
  size_t batch, buffer;
  int drop_last;
  uint64_t rng;
  weir_block **blocks;   /* blocks with rows still in the buffer */
  size_t *left;          /* rows of each block still in the buffer */
  size_t *lbytes;        /* bytes of each block's rows still in the buffer
                            (their share of every column) */
  size_t bytes;          /* bytes of the blocks the buffer holds */
  size_t nblocks, blocks_cap;
  shuf_ent *ents;
  size_t nents, ents_cap;
  size_t last_rows;      /* rows of the last input block (batch 0) */
  size_t cap_bytes;      /* the buffer holds at most this much memory */
  int capped;            /* the cap was met before shuffle_buffer_rows */
} collect_state;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void park(weir_pipeline *p, size_t add, size_t sub) {
  pthread_mutex_lock(&p->mu);
  /* Down before up: the peak must not count what moves as two. */
  weir__flight_sub(p, sub);
  weir__park(p, add, sub);
  weir__flight_add(p, add);
  pthread_mutex_unlock(&p->mu);
}

/* The call's input stays in the shuffle buffer: its bytes, in flight
 * already as the call's input, become parked rather than counted twice. */
static void keep_input(weir_op *op, weir_emit *out, size_t nb) {
  weir_pipeline *p = op->p;
  pthread_mutex_lock(&p->mu);
  size_t moved = out->in_left ? (nb < *out->in_left ? nb : *out->in_left) : 0;
  if (out->in_left)
    *out->in_left -= moved;
  weir__park(p, nb, 0);
  weir__flight_add(p, nb - moved);
  pthread_mutex_unlock(&p->mu);
}

int weir__collect_init(weir_op *op, void **state) {
  collect_state *s = calloc(1, sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  s->batch = op->iter_opts.batch_rows;
  s->buffer = op->iter_opts.shuffle_buffer_rows;
  s->drop_last = op->iter_opts.drop_last;
  s->rng = op->iter_opts.seed;
  /* The buffer lives inside the budget (exec/budget.h), so sources,
   * operators and the batches drawn from it keep the rest (its bytes
   * count as in flight). */
  s->cap_bytes = weir__budget_shuffle_cap(op->p->budget);
  *state = s;
  return WEIR_OK;
}

void weir__collect_destroy(void *state) {
  collect_state *s = state;
  if (!s)
    return;
  for (size_t i = 0; i < s->nblocks; i++)
    weir_block_unref(&s->blocks[i]);
  free(s->blocks);
  free(s->left);
  free(s->lbytes);
  free(s->ents);
  free(s);
}

/* Bytes the rows still in the buffer would take in blocks of their own:
 * measured per row drawn, not a share by row count (one long document
 * among short rows is nearly all of its block). */
static size_t useful_bytes(const collect_state *s) {
  double u = 0;
  for (size_t i = 0; i < s->nblocks; i++)
    if (s->blocks[i])
      u += (double)s->lbytes[i];
  return (size_t)u;
}

/* Replaces every block of the buffer by a copy of its rows still there,
 * keeping the entries' order (so a seed still gives one order). */
static int compact(collect_state *s) {
  size_t nb = s->nblocks, live = 0;
  size_t *start = calloc(nb + 1, sizeof *start);
  uint32_t *rows = malloc(s->nents * sizeof *rows);
  uint32_t *newrow = malloc(s->nents * sizeof *newrow);
  size_t *fill = calloc(nb, sizeof *fill);
  if (!start || !rows || !newrow || !fill) {
    free(start), free(rows), free(newrow), free(fill);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < nb; i++)
    start[i + 1] = start[i] + (s->blocks[i] ? s->left[i] : 0);
  for (size_t j = 0; j < s->nents; j++) {
    shuf_ent e = s->ents[j];
    newrow[j] = (uint32_t)fill[e.block];
    rows[start[e.block] + fill[e.block]++] = e.row;
  }
  int rc = WEIR_OK;
  size_t *map = fill; /* reused: old block -> new block index */
  size_t bytes = 0;
  for (size_t i = 0; i < nb; i++) {
    if (!s->blocks[i])
      continue;
    weir_block *c = NULL;
    if (rc == WEIR_OK)
      rc = weir_block_take(s->blocks[i], rows + start[i], s->left[i], &c);
    weir_block_unref(&s->blocks[i]);
    if (rc != WEIR_OK)
      continue;
    s->blocks[live] = c;
    s->left[live] = weir_block_num_rows(c);
    s->lbytes[live] = weir_block_nbytes(c);
    bytes += weir_block_nbytes(c);
    map[i] = live++;
  }
  if (rc == WEIR_OK)
    for (size_t j = 0; j < s->nents; j++)
      s->ents[j] = (shuf_ent){(uint32_t)map[s->ents[j].block], newrow[j]};
  else
    s->nents = 0, live = 0;
  s->nblocks = live;
  s->bytes = bytes;
  free(start), free(rows), free(newrow), free(fill);
  return rc;
}

/* Emits one batch of `k` rows drawn at random from the buffer. Without
 * exact batches (batch_rows 0) it stops early at the pipeline's block
 * size: k is then the rows of the last input block, and rows of a
 * sixteenth of the budget each would make a batch of several times the
 * block size, a copy outside the buffer. */
static int draw(weir_op *op, collect_state *s, size_t k, weir_emit *out) {
  weir_block **rows = malloc(k * sizeof *rows);
  if (!rows)
    return WEIR_ENOMEM;
  size_t freed = 0, n = 0, drawn_bytes = 0;
  size_t enough = s->batch ? SIZE_MAX : op->p->block_bytes;
  int rc = WEIR_OK;
  for (; n < k && drawn_bytes < enough; n++) {
    size_t j = (size_t)(splitmix(&s->rng) % s->nents);
    shuf_ent e = s->ents[j];
    s->ents[j] = s->ents[--s->nents];
    rows[n] = weir__block_slice(s->blocks[e.block], e.row, 1);
    if (!rows[n]) {
      rc = WEIR_ENOMEM;
      break;
    }
    size_t rb = weir_block_nbytes(rows[n]);
    drawn_bytes += rb;
    s->lbytes[e.block] -= rb < s->lbytes[e.block] ? rb : s->lbytes[e.block];
    if (--s->left[e.block] == 0) {
      freed += weir_block_nbytes(s->blocks[e.block]);
      weir_block_unref(&s->blocks[e.block]);
    }
  }
  s->bytes -= freed;
  size_t useful = s->nents > 0 ? useful_bytes(s) : 0;
  if (rc == WEIR_OK && s->nents > 0 && s->bytes > 2 * useful + 65536) {
    /* Partly drawn blocks pin far more memory than the rows left in them:
     * copy what remains into compact blocks. The copies are counted
     * (working bytes, never waiting) while they are made beside the
     * blocks they replace. */
    size_t before = s->bytes;
    weir__emit_hold(out, useful, 0);
    rc = compact(s);
    weir__emit_unhold(out, out->held);
    if (before > s->bytes)
      freed += before - s->bytes;
    else
      park(op->p, s->bytes - before, 0);
  }
  weir_block *b = NULL;
  /* The batch is a copy of the drawn rows, made while they are still in
   * the buffer: counted until the batch carries its own count. */
  if (rc == WEIR_OK)
    weir__emit_hold(out, drawn_bytes, 0);
  if (rc == WEIR_OK)
    rc = weir_block_concat(rows, n, &b);
  for (size_t i = 0; i < n; i++)
    weir_block_unref(&rows[i]);
  free(rows);
  if (s->nents == 0)
    s->nblocks = 0;
  park(op->p, 0, freed);
  if (rc != WEIR_OK)
    return rc;
  return weir_emit_block(out, b);
}

/* shuffle_buffer_rows larger than the budget can hold is capped, not
 * spilled: a spilled buffer would read a random row back from disk for
 * every row out. Said once, with by how much. */
static void warn_capped(weir_op *op, collect_state *s) {
  s->capped = 1;
  double row = (double)s->bytes / (double)s->nents;
  weir__log(op->p, WEIR_LOG_WARN,
            "iterator: shuffle_buffer_rows %zu would hold about %.1f MiB "
            "(%.0f bytes a row), more than a quarter of the memory budget of %.1f "
            "MiB; the buffer is capped at about %zu rows (%.1fx fewer), so "
            "rows mix over a shorter window",
            s->buffer, row * (double)s->buffer / 1048576.0, row,
            (double)op->p->budget / 1048576.0, s->nents,
            (double)s->buffer / (double)s->nents);
}

int weir__collect_process(weir_op *op, void *state, weir_block *in, weir_emit *out) {
  collect_state *s = state;
  size_t rows = weir_block_num_rows(in);
  if (s->buffer == 0) {
    if (s->drop_last && s->batch && rows < s->batch)
      return WEIR_OK; /* the short last batch */
    size_t nb = weir_block_nbytes(in), target = op->p->block_bytes;
    if (s->batch || rows < 2 || nb <= 2 * target)
      return weir_emit_block(out, weir_block_ref(in));
    /* Blocks as they come, but a user operator's huge block is handed out
     * in slices of about the block size, so a training step never gets
     * more than it can take (exact batches are already cut to size). */
    size_t step = (size_t)((double)rows * (double)target / (double)nb);
    if (step < 1)
      step = 1;
    for (size_t at = 0; at < rows; at += step) {
      weir_block *piece = weir__block_slice(in, at, at + step < rows ? step : rows - at);
      if (!piece)
        return WEIR_ENOMEM;
      int rc = weir_emit_block(out, piece);
      if (rc != WEIR_OK)
        return rc;
    }
    return WEIR_OK;
  }
  if (rows == 0)
    return WEIR_OK;
  if (rows > UINT32_MAX || s->nblocks >= UINT32_MAX)
    return WEIR_EINVAL;
  if (s->nblocks == s->blocks_cap) {
    size_t cap = s->blocks_cap ? s->blocks_cap * 2 : 64;
    weir_block **nb = realloc(s->blocks, cap * sizeof *nb);
    if (!nb)
      return WEIR_ENOMEM;
    s->blocks = nb;
    size_t *nl = realloc(s->left, cap * sizeof *nl);
    if (!nl)
      return WEIR_ENOMEM;
    s->left = nl;
    size_t *nr = realloc(s->lbytes, cap * sizeof *nr);
    if (!nr)
      return WEIR_ENOMEM;
    s->lbytes = nr;
    s->blocks_cap = cap;
  }
  if (s->nents + rows > s->ents_cap) {
    size_t cap = s->ents_cap ? s->ents_cap : 1024;
    while (cap < s->nents + rows)
      cap *= 2;
    shuf_ent *ne = realloc(s->ents, cap * sizeof *ne);
    if (!ne)
      return WEIR_ENOMEM;
    s->ents = ne;
    s->ents_cap = cap;
  }
  uint32_t bi = (uint32_t)s->nblocks++;
  s->blocks[bi] = weir_block_ref(in);
  s->left[bi] = rows;
  s->lbytes[bi] = weir_block_nbytes(in);
  s->bytes += weir_block_nbytes(in);
  for (size_t r = 0; r < rows; r++)
    s->ents[s->nents++] = (shuf_ent){bi, (uint32_t)r};
  keep_input(op, out, weir_block_nbytes(in));
  s->last_rows = rows;
  size_t k = s->batch ? s->batch : rows;
  size_t want = s->buffer > k ? s->buffer : k;
  if (s->nents < want && s->bytes > s->cap_bytes && s->nents >= k && !s->capped)
    warn_capped(op, s);
  while (s->nents >= want || (s->bytes > s->cap_bytes && s->nents >= k)) {
    int rc = draw(op, s, k, out);
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

int weir__collect_finish(weir_op *op, void *state, weir_emit *out) {
  collect_state *s = state;
  if (s->buffer == 0)
    return WEIR_OK;
  size_t k = s->batch ? s->batch : (s->last_rows ? s->last_rows : 1);
  while (s->nents > 0) {
    if (s->nents < k && s->drop_last && s->batch)
      break;
    int rc = draw(op, s, s->nents < k ? s->nents : k, out);
    if (rc != WEIR_OK)
      return rc;
  }
  /* Rows dropped by drop_last leave the buffer now. */
  size_t left = 0;
  for (size_t i = 0; i < s->nblocks; i++)
    if (s->blocks[i]) {
      left += weir_block_nbytes(s->blocks[i]);
      weir_block_unref(&s->blocks[i]);
    }
  s->nblocks = s->nents = 0;
  park(op->p, 0, left);
  return WEIR_OK;
}

/* ---- Iterator ------------------------------------------------------------ */

int weir_pipeline_iter(weir_pipeline *p, weir_op *out, const weir_iter_options *opts,
                       weir_iter **it) {
  if (it)
    *it = NULL;
  if (!p)
    return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_iter: NULL pipeline");
  if (!it)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_iter: NULL it (where the iterator goes)");
  if (!out) {
    weir__op_fail(p, p->errcode ? p->errcode : WEIR_EINVAL,
                  "iterator: no output operator (an earlier call failed: %s)", weir_pipeline_errmsg(p));
    return WEIR_EINVAL;
  }
  weir_iter_options def = WEIR_ITER_OPTIONS_INIT;
  if (opts && opts->version != WEIR_ITER_OPTIONS_VERSION) {
    weir__op_fail(p, WEIR_EINVAL, "iterator: unknown weir_iter_options version %u",
                  opts->version);
    return WEIR_EINVAL;
  }
  weir_iter_options o = opts ? *opts : def;
  if (o.prefetch_batches == 0)
    o.prefetch_batches = 2;
  /* Each epoch asks for a new iterator: the pipeline runs again. */
  int prc = weir__run_prepare_again(p, "weir_pipeline_iter");
  if (prc != WEIR_OK)
    return prc;
  weir_iter *i = calloc(1, sizeof *i);
  if (!i)
    return WEIR_ENOMEM;
  weir_op_options co = WEIR_OP_OPTIONS_INIT;
  co.min_workers = co.max_workers = 1;
  co.num_cpus = 0;
  co.batch_rows = o.shuffle_buffer_rows ? 0 : o.batch_rows;
  /* A seeded shuffle gives one order only if its input comes in one order
   * (the pool of one worker then keeps it). */
  co.preserve_order = o.shuffle_buffer_rows && !o.shuffle_any_order;
  weir_op *c = weir__op_new(p, WEIR__OP_COLLECT, "iterator", &out, 1, &co, 1);
  if (!c) {
    free(i);
    return p->errcode ? p->errcode : WEIR_ENOMEM;
  }
  c->iter_opts = o;
  p->collect = c;
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.queue_max_blocks = o.prefetch_batches;
  weir_op *sink = weir__op_new(p, WEIR__OP_ITERSINK, "iterator_ready", &c, 1, &so, 1);
  if (!sink) {
    free(i);
    return p->errcode ? p->errcode : WEIR_ENOMEM;
  }
  p->itersink = sink;
  int rc = weir__run_start(p, out);
  if (rc == WEIR_OK)
    rc = weir__run_spawn_scheduler(p);
  if (rc != WEIR_OK && !p->sched_thread_started && !p->loop_live) {
    free(i);
    return rc;
  }
  i->p = p;
  pthread_mutex_lock(&p->mu);
  p->iters++;
  pthread_mutex_unlock(&p->mu);
  *it = i;
  return WEIR_OK;
}

int weir_iter_next(weir_iter *it, weir_block **out) {
  if (out)
    *out = NULL;
  if (!it)
    return weir__set_last_error(WEIR_EINVAL, "weir_iter_next: NULL iterator");
  if (it->split)
    return weir__split_next(it, out);
  weir_pipeline *p = it->p;
  pthread_mutex_lock(&p->mu);
  if (p->destroyed) {
    /* The pipeline is gone; only this shell of it is left. */
    pthread_mutex_unlock(&p->mu);
    return weir__set_last_error(WEIR_ECANCELED,
                                "weir_iter_next: the pipeline was destroyed");
  }
  if (!out) {
    pthread_mutex_unlock(&p->mu);
    return weir__call_fail(p, WEIR_EINVAL, "weir_iter_next: NULL out (where the batch goes)");
  }
  weir_op *sink = p->itersink;
  double t0 = weir__now();
  int rc;
  for (;;) {
    if (p->status != WEIR_OK) {
      rc = p->status;
      break;
    }
    if (sink->q.head) {
      weir_block *b = weir__dequeue(sink);
      weir__flight_sub(p, weir_block_nbytes(b));
      *out = b;
      rc = WEIR_OK;
      break;
    }
    if (sink->finished || atomic_load(&p->ending)) {
      rc = p->status != WEIR_OK ? p->status : WEIR_EOF;
      break;
    }
    sink->work_waiters++;
    pthread_cond_wait(&sink->cv_work, &p->mu);
    sink->work_waiters--;
  }
  p->iter_blocked += weir__now() - t0;
  if (rc == WEIR_OK)
    p->iter_batches++;
  else
    it->ended = 1;
  pthread_mutex_unlock(&p->mu);
  return rc;
}

void weir_iter_destroy(weir_iter *it) {
  if (!it)
    return;
  if (it->split) {
    weir__split_destroy(it);
    return;
  }
  weir_pipeline *p = it->p;
  pthread_mutex_lock(&p->mu);
  if (p->destroyed) {
    /* weir_pipeline_destroy() came first and stopped the run; the last
     * iterator frees what it left. */
    int last = --p->iters == 0;
    pthread_mutex_unlock(&p->mu);
    if (last)
      weir__pipeline_free_shell(p);
    free(it);
    return;
  }
  /* An output that got everything (a limit reached, say) is a finished
   * run, even while upstream work is still stopping: no cancel. */
  int unfinished = !p->done && !atomic_load(&p->ending) && !weir__output_complete(p);
  pthread_mutex_unlock(&p->mu);
  if (unfinished)
    weir_pipeline_cancel(p);
  weir__run_teardown(p);
  /* Batches nobody will pull leave the budget now. */
  pthread_mutex_lock(&p->mu);
  while (p->itersink->q.head) {
    weir_block *b = weir__dequeue(p->itersink);
    weir__flight_sub(p, weir_block_nbytes(b));
    weir_block_unref(&b);
  }
  p->iters--;
  pthread_mutex_unlock(&p->mu);
  weir__print_summary(p);
  free(it);
}

/* ---- The iterator as an Arrow stream --------------------------------- */

typedef struct iter_stream {
  weir_iter *it;
  weir_block *pending;       /* pulled by get_schema, not handed out yet */
  int eof;
  char err[1024];
} iter_stream;

static int iter_stream_fail(iter_stream *s, int rc) {
  const char *m = s->it && s->it->p ? weir_pipeline_errmsg(s->it->p) : "";
  snprintf(s->err, sizeof s->err, "%s", m && m[0] ? m : weir_strerror(rc));
  return rc == WEIR_ENOMEM ? ENOMEM : EIO;
}

/* The next block, the one get_schema pulled first; NULL at the end. */
static int iter_stream_pull(iter_stream *s, weir_block **b) {
  *b = NULL;
  if (s->pending) {
    *b = s->pending;
    s->pending = NULL;
    return WEIR_OK;
  }
  if (s->eof)
    return WEIR_OK;
  int rc = weir_iter_next(s->it, b);
  if (rc == WEIR_EOF) {
    s->eof = 1;
    return WEIR_OK;
  }
  return rc;
}

static int iter_stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  iter_stream *s = st->private_data;
  if (!s->pending && !s->eof) {
    int rc = iter_stream_pull(s, &s->pending);
    if (rc != WEIR_OK)
      return iter_stream_fail(s, rc);
  }
  /* The schema of the first block: a stream has one. Without any block,
   * a struct of no columns, as weir_blocks_to_arrow_stream gives. */
  struct ArrowArrayStream tmp;
  weir_block *one = s->pending;
  int rc = weir_blocks_to_arrow_stream(&one, one ? 1 : 0, &tmp);
  if (rc != WEIR_OK)
    return iter_stream_fail(s, rc);
  int err = tmp.get_schema(&tmp, out);
  tmp.release(&tmp);
  return err;
}

static int iter_stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  iter_stream *s = st->private_data;
  weir_block *b = NULL;
  int rc = iter_stream_pull(s, &b);
  if (rc != WEIR_OK)
    return iter_stream_fail(s, rc);
  if (!b) {
    memset(out, 0, sizeof *out); /* release NULL: the end */
    return 0;
  }
  struct ArrowSchema schema;
  rc = weir_block_to_arrow(b, out, &schema);
  weir_block_unref(&b);
  if (rc != WEIR_OK)
    return iter_stream_fail(s, rc);
  schema.release(&schema);
  return 0;
}

static const char *iter_stream_last_error(struct ArrowArrayStream *st) {
  iter_stream *s = st->private_data;
  return s->err[0] ? s->err : NULL;
}

static void iter_stream_release(struct ArrowArrayStream *st) {
  iter_stream *s = st->private_data;
  weir_block_unref(&s->pending);
  weir_iter_destroy(s->it);
  free(s);
  st->release = NULL;
}

int weir_iter_to_arrow_stream(weir_iter *it, struct ArrowArrayStream *out) {
  if (!it || !out) {
    if (it)
      weir_iter_destroy(it);
    return weir__set_last_error(WEIR_EINVAL, "weir_iter_to_arrow_stream: NULL %s",
                                it ? "output stream" : "iterator");
  }
  iter_stream *s = calloc(1, sizeof *s);
  if (!s) {
    weir_iter_destroy(it);
    return weir__set_last_error(WEIR_ENOMEM, "weir_iter_to_arrow_stream: out of memory");
  }
  s->it = it;
  out->get_schema = iter_stream_get_schema;
  out->get_next = iter_stream_get_next;
  out->get_last_error = iter_stream_last_error;
  out->release = iter_stream_release;
  out->private_data = s;
  return WEIR_OK;
}
