/* weir's demo: a text-preparation pipeline over documents it generates
 * itself (read tasks -> clean and count words -> quality filter -> exact
 * 1000-row blocks -> a deduplicating stateful operator), feeding a training
 * loop through a shuffling iterator, with progress on stderr and the final
 * statistics. Runs in a few seconds with no arguments. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

#define DOCS_PER_TASK 2000
#define TASKS 96

static const char *words[] = {"the", "stream", "of", "blocks", "flows", "through", "bounded",
                              "queues", "while", "workers", "clean", "text", "for", "models",
                              "and", "memory", "stays", "inside", "its", "budget"};

static uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A read task: 2000 synthetic documents of 5..120 words, some repeated. */
static int generate(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "doc_id", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  char text[2048];
  for (int i = 0; i < DOCS_PER_TASK; i++) {
    uint64_t id = (uint64_t)task * DOCS_PER_TASK + (uint64_t)i;
    /* One document in eight is a copy of an earlier one. */
    uint64_t seed = (mix(id) % 8 == 0 && id > 10) ? mix(id) % id : id;
    uint64_t r = mix(seed * 31 + 7);
    int n = 5 + (int)(r % 116);
    size_t len = 0;
    for (int w = 0; w < n; w++) {
      r = mix(r);
      const char *word = words[r % 20];
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", w ? "  " : "", word);
    }
    weir_builder_append_int64(b, 0, (int64_t)id);
    weir_builder_append_string(b, 1, text, len);
  }
  weir_block *blk;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

/* Collapses runs of spaces and counts words: adds "clean" and "words". */
static int clean(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column t;
  weir_block_column(in, (size_t)weir_block_column_index(in, "text"), &t);
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "clean", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "words", WEIR_TYPE_INT64);
  char buf[2048];
  for (size_t i = 0; i < t.length; i++) {
    const char *s = (const char *)t.data + t.offsets[i];
    size_t n = (size_t)(t.offsets[i + 1] - t.offsets[i]), k = 0;
    int64_t nw = 0;
    for (size_t j = 0; j < n && k < sizeof buf; j++) {
      if (s[j] == ' ' && (k == 0 || buf[k - 1] == ' '))
        continue;
      if (s[j] != ' ' && (k == 0 || buf[k - 1] == ' '))
        nw++;
      buf[k++] = s[j];
    }
    weir_builder_append_string(b, 0, buf, k);
    weir_builder_append_int64(b, 1, nw);
  }
  weir_block *extra, *both;
  int rc = weir_builder_finish(b, &extra);
  weir_builder_destroy(b);
  if (rc)
    return rc;
  rc = weir_block_add_columns(in, extra, &both);
  weir_block_unref(&extra);
  return rc ? rc : weir_emit_block(out, both);
}

/* Keeps documents of at least 20 words (a quality filter). */
static int quality(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column w;
  weir_block_column(in, (size_t)weir_block_column_index(in, "words"), &w);
  uint32_t *keep = malloc(w.length * sizeof *keep);
  size_t n = 0;
  for (size_t i = 0; i < w.length; i++)
    if (((const int64_t *)w.data)[i] >= 20)
      keep[n++] = (uint32_t)i;
  weir_block *kept = NULL;
  int rc = weir_block_take(in, keep, n, &kept);
  free(keep);
  if (rc)
    return rc;
  weir_ctx_count_skipped(weir_emit_ctx(out), w.length - n);
  return weir_emit_block(out, kept);
}

/* Exact deduplication by a hash of the cleaned text. One worker holds the
 * table of hashes seen: per-worker state made by init on its thread. */
typedef struct dedup {
  uint64_t *slots;
  size_t cap;
} dedup;

static int dedup_init(void *user, int worker, void **state) {
  (void)user, (void)worker;
  dedup *d = calloc(1, sizeof *d);
  if (!d)
    return WEIR_ENOMEM;
  d->cap = (size_t)1 << 19;
  d->slots = calloc(d->cap, sizeof *d->slots);
  if (!d->slots) {
    free(d);
    return WEIR_ENOMEM;
  }
  *state = d;
  return WEIR_OK;
}

static int dedup_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  dedup *d = state;
  weir_column t;
  weir_block_column(in, (size_t)weir_block_column_index(in, "clean"), &t);
  uint32_t *keep = malloc(t.length * sizeof *keep);
  size_t n = 0;
  for (size_t i = 0; i < t.length; i++) {
    const unsigned char *s = (const unsigned char *)t.data + t.offsets[i];
    size_t len = (size_t)(t.offsets[i + 1] - t.offsets[i]);
    uint64_t h = 1469598103934665603ull;
    for (size_t j = 0; j < len; j++)
      h = (h ^ s[j]) * 1099511628211ull;
    h |= 1;
    size_t k = h & (d->cap - 1);
    while (d->slots[k] && d->slots[k] != h)
      k = (k + 1) & (d->cap - 1);
    if (!d->slots[k]) {
      d->slots[k] = h;
      keep[n++] = (uint32_t)i;
    }
  }
  weir_block *kept = NULL;
  int rc = weir_block_take(in, keep, n, &kept);
  free(keep);
  if (rc)
    return rc;
  weir_ctx_count_skipped(ctx, t.length - n);
  return weir_emit_block(out, kept);
}

static void dedup_destroy(void *state) {
  dedup *d = state;
  free(d->slots);
  free(d);
}

int main(void) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 32 << 20;
  po.progress = 1;
  po.progress_interval = 1;
  po.summary = 1;
  weir_pipeline *p;
  if (weir_pipeline_create(&p, &po) != WEIR_OK)
    return 1;
  weir_op_options two = WEIR_OP_OPTIONS_INIT;
  two.min_workers = 2;
  weir_op_options one = WEIR_OP_OPTIONS_INIT;
  one.min_workers = one.max_workers = 1;
  weir_op_def dd = {WEIR_OP_DEF_VERSION, "dedup", dedup_init, dedup_process, NULL, dedup_destroy};

  weir_op *src = weir_source(p, "generate", TASKS, generate, NULL, &two);
  weir_op *cl = weir_map_batches(p, src, "clean", clean, NULL, &two);
  weir_op *q = weir_map_batches(p, cl, "quality", quality, NULL, NULL);
  weir_op *rb = weir_repartition(p, q, 1000);
  weir_op *d = weir_add_op(p, rb, &dd, NULL, &one);

  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 256;
  io.shuffle_buffer_rows = 4096;
  io.seed = 42;
  weir_iter *it;
  if (!d || weir_pipeline_iter(p, d, &io, &it) != WEIR_OK) {
    fprintf(stderr, "demo: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  /* The "training loop": a little work per batch. */
  weir_block *batch;
  int rc;
  size_t batches = 0, rows = 0;
  int64_t words_seen = 0;
  while ((rc = weir_iter_next(it, &batch)) == WEIR_OK) {
    weir_column w;
    weir_block_column(batch, (size_t)weir_block_column_index(batch, "words"), &w);
    for (size_t i = 0; i < w.length; i++)
      words_seen += ((const int64_t *)w.data)[i];
    rows += weir_block_num_rows(batch);
    batches++;
    weir_block_unref(&batch);
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "demo: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  printf("trained on %zu batches: %zu unique documents of %d generated, %lld words\n", batches,
         rows, TASKS * DOCS_PER_TASK, (long long)words_seen);
  weir_op_stats st;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++)
    if (weir_pipeline_op_stats(p, i, &st) == WEIR_OK && st.skipped_rows)
      printf("  %s dropped %llu rows\n", st.name, (unsigned long long)st.skipped_rows);
  weir_pipeline_destroy(p);
  return 0;
}
