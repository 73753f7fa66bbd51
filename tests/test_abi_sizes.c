/* Structs weir fills for the caller grow only at their end, and each call
 * carries the size of the caller's struct (weir/block.h): a program built
 * against an older header gets the fields it knows, one built against a
 * newer header gets the fields this library lacks zeroed, and the plain
 * symbols that bindings call by name fill the first layouts. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>
#include <weir.h>

#include "test_exec_util.h"

TestSuite(abi);

/* A caller from a future header: the struct of today, then fields this
 * library does not know. */
typedef struct {
  weir_column now;
  uint64_t later[4];
} column_later;

Test(abi, weir_column_is_filled_to_the_callers_size) {
  weir_block *b = eu_ids(10, 5, 0);
  column_later big;
  memset(&big, 0xAB, sizeof big);
  cr_assert_eq(weir_block_column_sized(b, 0, &big.now, sizeof big), WEIR_OK);
  cr_assert_eq(big.now.length, 5);
  for (int i = 0; i < 4; i++) cr_assert_eq(big.later[i], 0, "unknown fields are zeroed");

  /* The plain symbol, as a binding calls it: the first layout, the same
   * values, nothing written past it. */
  int (*by_name)(const weir_block *, size_t, weir_column *) = weir_block_column;
  weir_column c;
  memset(&c, 0xCD, sizeof c);
  cr_assert_eq(by_name(b, 0, &c), WEIR_OK);
  cr_assert_eq(c.length, 5);
  cr_assert_eq(c.data, big.now.data);
  cr_assert_eq(c.ready_event, NULL);

  /* A struct smaller than any layout weir ever had is refused. */
  cr_assert_eq(weir_block_column_sized(b, 0, &c, offsetof(weir_column, device)), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "smaller than any layout"), "%s", weir_last_errmsg());
  weir_block_unref(&b);
}

typedef struct {
  weir_op_stats now;
  uint64_t later[3];
} op_stats_later;

typedef struct {
  weir_pipeline_stats now;
  double later[2];
} pipeline_stats_later;

Test(abi, stats_are_filled_to_the_callers_size) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  eu_src cfg = {.tasks = 3, .blocks_per_task = 4, .rows = 25};
  weir_op *src = weir_source(p, "src", cfg.tasks, eu_read, &cfg, NULL);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_OK, "%s", weir_pipeline_errmsg(p));

  op_stats_later big;
  memset(&big, 0xAB, sizeof big);
  cr_assert_eq(weir_pipeline_op_stats_sized(p, 0, &big.now, sizeof big), WEIR_OK);
  cr_assert_eq(big.now.rows_out, 300);
  for (int i = 0; i < 3; i++) cr_assert_eq(big.later[i], 0);

  weir_op_stats s;
  int (*op_by_name)(const weir_pipeline *, int, weir_op_stats *) = weir_pipeline_op_stats;
  cr_assert_eq(op_by_name(p, 0, &s), WEIR_OK);
  cr_assert_eq(s.rows_out, 300);
  cr_assert_eq(weir_pipeline_op_stats_sized(p, 0, &s, sizeof(void *)), WEIR_EINVAL);

  pipeline_stats_later pbig;
  memset(&pbig, 0xAB, sizeof pbig);
  cr_assert_eq(weir_pipeline_get_stats_sized(p, &pbig.now, sizeof pbig), WEIR_OK);
  cr_assert_gt(pbig.now.memory_budget, 0);
  cr_assert_eq(pbig.later[0], 0.0);
  cr_assert_eq(pbig.later[1], 0.0);
  weir_pipeline_stats ps;
  int (*pipe_by_name)(const weir_pipeline *, weir_pipeline_stats *) = weir_pipeline_get_stats;
  cr_assert_eq(pipe_by_name(p, &ps), WEIR_OK);
  cr_assert_eq(ps.memory_budget, pbig.now.memory_budget);
  weir_pipeline_destroy(p);
}
