/* weir_pipeline_set_tick_fn: the scheduler calls it once per control tick
 * while a run goes on, with no lock held (the function may read the
 * statistics), and it cannot be changed during a run. The source holds the
 * run until the function has been called three times, so the test does
 * not depend on how fast the machine is. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

#include "test_exec_util.h"

static atomic_int ticks;
static atomic_int stats_ok;
static weir_pipeline *g_p;

static void on_tick(void *user) {
  weir_pipeline *p = user;
  /* Reading the statistics from the tick takes the pipeline's lock: it
   * would deadlock if the scheduler held it here. */
  char *json = NULL;
  if (weir_pipeline_stats_json(p, &json) == WEIR_OK && json && strstr(json, "\"operators\""))
    atomic_fetch_add(&stats_ok, 1);
  free(json);
  atomic_fetch_add(&ticks, 1);
}

static int slow_source(void *user, size_t task, weir_emit *out) {
  (void)user, (void)task;
  /* While running, the function cannot be swapped. */
  if (weir_pipeline_set_tick_fn(g_p, NULL, NULL) != WEIR_EINVAL)
    return WEIR_EOPERATOR;
  /* Wait for three ticks, at most two minutes (then fail clearly). */
  for (int i = 0; i < 120000 && atomic_load(&ticks) < 3; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return weir_emit_block(out, eu_ids(0, 10, 0));
}

Test(exec_tick, called_each_tick_without_the_lock, .timeout = 300) {
  cr_assert_eq(weir_pipeline_set_tick_fn(NULL, on_tick, NULL), WEIR_EINVAL);
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  g_p = p;
  cr_assert_eq(weir_pipeline_set_tick_fn(p, on_tick, p), WEIR_OK);
  weir_op *src = weir_source(p, "slow", 1, slow_source, NULL, NULL);
  cr_assert_not_null(src);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_geq(atomic_load(&ticks), 3, "the tick function ran %d times", atomic_load(&ticks));
  cr_assert_eq(atomic_load(&stats_ok), atomic_load(&ticks));
  /* After the run it may be changed again. */
  cr_assert_eq(weir_pipeline_set_tick_fn(p, NULL, NULL), WEIR_OK);
  weir_pipeline_destroy(p);
}
