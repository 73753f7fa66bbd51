/* Helpers shared by the executor's tests: blocks of row ids, sources that
 * emit them, and checks that every id arrived exactly once. */
#ifndef WEIR_TESTS_TEST_EXEC_UTIL_H
#define WEIR_TESTS_TEST_EXEC_UTIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

/* A block with column "id" holding start, start+1, ... start+n-1, and
 * optionally a "pad" binary column of `pad` bytes per row (to make bytes). */
static inline weir_block *eu_ids(int64_t start, size_t n, size_t pad) {
  weir_builder *b = NULL;
  weir_block *blk = NULL;
  if (weir_builder_create(&b) != WEIR_OK)
    return NULL;
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  if (pad)
    weir_builder_add_column(b, "pad", WEIR_TYPE_BINARY);
  char *buf = pad ? calloc(1, pad) : NULL;
  for (size_t i = 0; i < n; i++) {
    weir_builder_append_int64(b, 0, start + (int64_t)i);
    if (pad)
      weir_builder_append_string(b, 1, buf, pad);
  }
  free(buf);
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return blk;
}

static inline const int64_t *eu_id_col(const weir_block *b) {
  weir_column c;
  int idx = weir_block_column_index(b, "id");
  if (idx < 0 || weir_block_column(b, (size_t)idx, &c) != WEIR_OK)
    return NULL;
  return (const int64_t *)c.data;
}

static inline void eu_sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static inline double eu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A source whose task t emits `blocks_per_task` blocks of `rows` ids,
 * numbered so every row of the run has a distinct id. */
typedef struct eu_src {
  size_t tasks, blocks_per_task, rows;
  size_t pad;
  long delay_us;          /* per block */
  int64_t base;           /* first id */
  atomic_long tasks_run;
  atomic_long cancelled_seen;
} eu_src;

static inline int eu_read(void *user, size_t task, weir_emit *out) {
  eu_src *s = user;
  atomic_fetch_add(&s->tasks_run, 1);
  for (size_t k = 0; k < s->blocks_per_task; k++) {
    if (weir_ctx_cancelled(weir_emit_ctx(out))) {
      atomic_fetch_add(&s->cancelled_seen, 1);
      return WEIR_ECANCELED;
    }
    if (s->delay_us)
      eu_sleep_us(s->delay_us);
    int64_t start = s->base + (int64_t)((task * s->blocks_per_task + k) * s->rows);
    weir_block *b = eu_ids(start, s->rows, s->pad);
    if (!b)
      return WEIR_ENOMEM;
    int rc = weir_emit_block(out, b);
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

static inline size_t eu_total_rows(const eu_src *s) {
  return s->tasks * s->blocks_per_task * s->rows;
}

/* Counts ids seen; checks every id in [0, n) was seen exactly `times`. */
typedef struct eu_seen {
  size_t n;
  unsigned char *count;
  size_t out_of_range;
} eu_seen;

static inline void eu_seen_init(eu_seen *s, size_t n) {
  s->n = n;
  s->count = calloc(n ? n : 1, 1);
  s->out_of_range = 0;
}
static inline void eu_seen_add(eu_seen *s, const weir_block *b) {
  const int64_t *ids = eu_id_col(b);
  size_t rows = weir_block_num_rows(b);
  for (size_t i = 0; i < rows; i++) {
    if (!ids || ids[i] < 0 || (size_t)ids[i] >= s->n)
      s->out_of_range++;
    else if (s->count[ids[i]] < 255)
      s->count[ids[i]]++;
  }
}
/* Number of ids not seen exactly `times` times. */
static inline size_t eu_seen_bad(const eu_seen *s, unsigned times) {
  size_t bad = s->out_of_range;
  for (size_t i = 0; i < s->n; i++)
    if (s->count[i] != times)
      bad++;
  return bad;
}
static inline void eu_seen_free(eu_seen *s) { free(s->count); }

#endif /* WEIR_TESTS_TEST_EXEC_UTIL_H */
