/* Reference counting of blocks, buffers and Arrow exports from many
 * threads at once: 8 threads share blocks, slice, export, import, hand
 * arrays to each other and drop references in any order. Built with
 * -DWEIR_SANITIZE=thread this is the data-race check of the block core. */
#include <pthread.h>

#include "test_arrow_util.h"

enum { NTHREADS = 8, ROUNDS = 150, ROWS = 200 };

/* A one-slot mailbox per thread: thread t posts exported arrays to thread
 * (t + 1) % NTHREADS, which imports and releases them. */
typedef struct mailbox {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct ArrowArray array;
  struct ArrowSchema schema;
  int full;
  size_t first_row;
} mailbox;

static mailbox boxes[NTHREADS];
static weir_block *thread_refs[NTHREADS]; /* one reference per worker */
static weir_block *expected;   /* an independent copy to compare against */

static void post(mailbox *m, struct ArrowArray *a, struct ArrowSchema *s, size_t first) {
  pthread_mutex_lock(&m->mu);
  while (m->full) pthread_cond_wait(&m->cv, &m->mu);
  m->array = *a;
  m->schema = *s;
  a->release = NULL;
  s->release = NULL;
  m->first_row = first;
  m->full = 1;
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

static void take(mailbox *m, struct ArrowArray *a, struct ArrowSchema *s, size_t *first) {
  pthread_mutex_lock(&m->mu);
  while (!m->full) pthread_cond_wait(&m->cv, &m->mu);
  *a = m->array;
  *s = m->schema;
  *first = m->first_row;
  m->full = 0;
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

/* Checks a few columns of `b` against rows [first, ...) of `expected`. */
static int check_rows(const weir_block *b, size_t first) {
  weir_column want, got;
  for (size_t c = 2; c <= 5; c += 3) { /* i64 and s */
    weir_block_column(expected, c, &want);
    weir_block_column(b, c, &got);
    for (size_t i = 0; i < got.length; i++) {
      size_t r = first + i;
      if (weir_block_is_valid(b, c, i) != weir_block_is_valid(expected, c, r)) return 0;
      if (!weir_block_is_valid(b, c, i)) continue;
      if (c == 2 && ((const int64_t *)got.data)[i] != ((const int64_t *)want.data)[r]) return 0;
      if (c == 5) {
        int64_t gl = got.offsets[i + 1] - got.offsets[i];
        if (gl != want.offsets[r + 1] - want.offsets[r]) return 0;
        if (memcmp((const char *)got.data + got.offsets[i],
                   (const char *)want.data + want.offsets[r], (size_t)gl))
          return 0;
      }
    }
  }
  return 1;
}

/* A worker that cannot go on would leave its neighbours waiting on their
 * mailboxes forever: end the test process loudly instead of hanging. */
static void fail_thread(size_t t) {
  fprintf(stderr, "thread %zu: %s\n", t, weir_last_errmsg());
  abort();
}

static void *worker(void *arg) {
  size_t t = (size_t)arg;
  weir_block *mine = thread_refs[t];
  unsigned seed = (unsigned)t * 7919u + 1;
  long bad = 0;
  for (int r = 0; r < ROUNDS; r++) {
    seed = seed * 1103515245u + 12345u;
    size_t off = (seed >> 8) % ROWS;
    size_t len = (seed >> 16) % (ROWS - off + 1);
    weir_block *sl = NULL;
    cr_assert_eq(weir_block_slice(mine, off, len, &sl), WEIR_OK);
    if (!sl) fail_thread(t);
    struct ArrowArray a;
    struct ArrowSchema s;
    if (weir_block_to_arrow(sl, &a, &s) != WEIR_OK) fail_thread(t);
    /* Drop the slice before the export is consumed elsewhere. */
    weir_block_unref(&sl);
    post(&boxes[(t + 1) % NTHREADS], &a, &s, off);

    struct ArrowArray in;
    struct ArrowSchema ins;
    size_t first;
    take(&boxes[t], &in, &ins, &first);
    weir_block *got = NULL;
    if (weir_block_from_arrow(&in, &ins, &got) != WEIR_OK) fail_thread(t);
    if (!check_rows(got, first)) bad++;
    /* Share the import further: a selection outlives the import. */
    size_t idx = 5;
    weir_block *sel = NULL;
    if (weir_block_select(got, &idx, 1, &sel) != WEIR_OK) fail_thread(t);
    weir_block_unref(&got);
    weir_block_unref(&sel);
  }
  weir_block_unref(&mine);
  return (void *)bad;
}

Test(arrow_threads, share_slice_export_import_across_8_threads) {
  weir_block *shared_block = make_all_types(ROWS);
  expected = make_all_types(ROWS);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_mutex_init(&boxes[i].mu, NULL);
    pthread_cond_init(&boxes[i].cv, NULL);
  }
  pthread_t th[NTHREADS];
  for (size_t i = 0; i < NTHREADS; i++) thread_refs[i] = weir_block_ref(shared_block);
  for (size_t i = 0; i < NTHREADS; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)i), 0);
  /* The creator's reference goes while the workers run. */
  weir_block_unref(&shared_block);
  for (int i = 0; i < NTHREADS; i++) {
    void *ret;
    pthread_join(th[i], &ret);
    cr_assert_eq((long)ret, 0, "thread %d saw %ld wrong batches (or failed)", i, (long)ret);
  }
  for (int i = 0; i < NTHREADS; i++) cr_assert_eq(boxes[i].full, 0);
  weir_block_unref(&expected);
}

/* Children of one export, moved to different threads, released there
 * while the parent is released on the main thread. */
static void *read_and_release_child(void *arg) {
  struct ArrowArray *child = arg;
  long sum = 0;
  if (child->n_buffers >= 2 && child->buffers[1] && child->length)
    sum = ((const uint8_t *)child->buffers[1])[0];
  child->release(child);
  return (void *)(sum >= 0 ? 0L : 1L);
}

Test(arrow_threads, moved_children_released_on_many_threads) {
  weir_block *b = make_all_types(64);
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  weir_block_unref(&b);
  struct ArrowArray moved[NTHREADS];
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    moved[i] = *a.children[i];
    a.children[i]->release = NULL;
    cr_assert_eq(pthread_create(&th[i], NULL, read_and_release_child, &moved[i]), 0);
  }
  a.release(&a);
  s.release(&s);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    cr_assert_null(moved[i].release);
  }
}

/* An imported foreign array is released exactly once, by whichever of
 * many threads drops the last block that uses it. */
static void *drop_column_block(void *arg) {
  weir_block *b = arg;
  for (int k = 0; k < 200; k++) {
    weir_block *s = NULL;
    cr_assert_eq(weir_block_slice(b, (size_t)k % 6, 1, &s), WEIR_OK);
    weir_block_unref(&s);
  }
  weir_block_unref(&b);
  return NULL;
}

Test(arrow_threads, last_of_many_threads_releases_the_import) {
  static const int64_t xs[6] = {1, 2, 3, 4, 5, 6};
  struct ArrowArray a;
  struct ArrowSchema s;
  fnode *n = fa_new(&a, 6, 1, 1, 1);
  fsnode *sn = fs_new(&s, "+s", "", 1, 1);
  fa_buf(fa_new(&n->kids[0], 6, 2, 0, 0), 1, xs, sizeof xs);
  fs_new(&sn->kids[0], "l", "x", 0, 0);
  weir_block *imported = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &imported), WEIR_OK);
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, drop_column_block, weir_block_ref(imported)), 0);
  weir_block_unref(&imported);
  for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
  cr_assert_eq(atomic_load(&fa_releases), 1);
}
