/* Every failing call says why: a message naming the function and the bad
 * argument, once (no doubled prefixes), and options are checked as
 * strictly on pipelines as on operators. */
#include <criterion/criterion.h>
#include <string.h>

#include <weir.h>

#include "test_exec_util.h"

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *q = hay; (q = strstr(q, needle)); q++)
    n++;
  return n;
}

Test(errmsg, pipeline_create_says_which_option_is_wrong) {
  weir_pipeline *p = NULL;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.version = 99;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_EINVAL);
  cr_assert_null(p);
  cr_assert(strstr(weir_last_errmsg(), "weir_pipeline_create") &&
                strstr(weir_last_errmsg(), "version 99"), "%s", weir_last_errmsg());

  weir_pipeline_options a = WEIR_PIPELINE_OPTIONS_INIT;
  a.log_level = 17;
  cr_assert_eq(weir_pipeline_create(&p, &a), WEIR_EINVAL);
  cr_assert_null(p);
  cr_assert(strstr(weir_last_errmsg(), "log_level 17"), "%s", weir_last_errmsg());

  weir_pipeline_options b = WEIR_PIPELINE_OPTIONS_INIT;
  b.num_cpus = -3;
  cr_assert_eq(weir_pipeline_create(&p, &b), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "num_cpus -3"), "%s", weir_last_errmsg());

  weir_pipeline_options c = WEIR_PIPELINE_OPTIONS_INIT;
  c.num_gpus = -1;
  cr_assert_eq(weir_pipeline_create(&p, &c), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "num_gpus -1"), "%s", weir_last_errmsg());

  weir_pipeline_options d = WEIR_PIPELINE_OPTIONS_INIT;
  d.log_level = WEIR_LOG_DEBUG;
  d.num_cpus = 2;
  cr_assert_eq(weir_pipeline_create(&p, &d), WEIR_OK);
  weir_pipeline_destroy(p);
}

Test(errmsg, iter_with_a_null_iterator_pointer) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "weir_pipeline_iter") &&
                strstr(weir_pipeline_errmsg(p), "NULL it"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(errmsg, builder_finish_and_block_column) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  weir_builder_add_column(bld, "x", WEIR_TYPE_INT64);
  weir_builder_append_int64(bld, 0, 1);
  cr_assert_eq(weir_builder_finish(bld, NULL), WEIR_EINVAL);
  cr_assert(strstr(weir_builder_errmsg(bld), "weir_builder_finish") &&
                strstr(weir_builder_errmsg(bld), "NULL out"), "%s", weir_builder_errmsg(bld));
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_column col;
  cr_assert_eq(weir_block_column(b, 5, &col), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "weir_block_column") &&
                strstr(weir_last_errmsg(), "index 5") && strstr(weir_last_errmsg(), "1 column"),
            "%s", weir_last_errmsg());
  weir_block_unref(&b);
  weir_builder_destroy(bld);
}

static int bad_column(void *user, weir_block *in, weir_emit *out) {
  (void)user, (void)out;
  weir_column c;
  return weir_block_column(in, 7, &c);
}

Test(errmsg, a_weir_call_failing_in_an_operator_names_itself) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 3};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "picker", bad_column, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EINVAL);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "'picker'") && strstr(msg, "weir_block_column") &&
                strstr(msg, "index 7"), "%s", msg);
  weir_pipeline_destroy(p);
}

Test(errmsg, stats_calls_with_bad_arguments) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_OK);
  cr_assert_eq(weir_pipeline_stats_json(p, NULL), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "weir_pipeline_stats_json") &&
                strstr(weir_pipeline_errmsg(p), "NULL json"), "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 42, &st), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "weir_pipeline_op_stats") &&
                strstr(weir_pipeline_errmsg(p), "index 42"), "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}

typedef struct model { int unused; } model;

static int init_fails(void *user, int worker, void **state) {
  (void)user, (void)worker, (void)state;
  weir_set_last_errmsg("cannot load weights from %s", "/models/missing.bin");
  return WEIR_ENOMEM;
}
static int pass(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  (void)state, (void)ctx;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(errmsg, an_init_can_say_why_it_failed) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "embed", init_fails, pass, NULL, NULL};
  weir_op *op = weir_add_op(p, src, &def, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, op), WEIR_ENOMEM);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "'embed'") && strstr(msg, "init") &&
                strstr(msg, "cannot load weights from /models/missing.bin"), "%s", msg);
  weir_pipeline_destroy(p);
}

Test(errmsg, reader_messages_have_one_prefix) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  cr_assert_null(weir_read_jsonl(p, "/nonexistent-weir-dir/*.jsonl", NULL));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert_eq(count(msg, "read_jsonl"), 1, "%s", msg);
  cr_assert(strstr(msg, "no input matches"), "%s", msg);

  cr_assert_null(weir_read_text(p, "/nonexistent-weir-dir/*.txt", NULL));
  cr_assert_eq(count(weir_pipeline_errmsg(p), "read_text"), 1, "%s", weir_pipeline_errmsg(p));

  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.on_error = 7;
  cr_assert_null(weir_read_jsonl(p, WEIR_TEST_SOURCE_DIR "/README.md", &ro));
  msg = weir_pipeline_errmsg(p);
  cr_assert_eq(count(msg, "read_jsonl"), 1, "%s", msg);
  cr_assert(strstr(msg, "unknown on_error 7"), "%s", msg);
  weir_pipeline_destroy(p);
}

/* Task t emits 3 "frames" of side 4 (t = 0) or 8 (t = 1) with their path,
 * as a video reader over files of two sizes would. */
static int frames(void *user, size_t task, weir_emit *out) {
  (void)user;
  int64_t side = task ? 8 : 4, shape[3] = {side, side, 3};
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  weir_builder_add_tensor_column(bld, "frame", WEIR_DTYPE_UINT8, 3, shape);
  weir_builder_add_column(bld, "path", WEIR_TYPE_STRING);
  static uint8_t pixels[8 * 8 * 3];
  const char *path = task ? "/videos/big.mp4" : "/videos/small.mp4";
  for (int r = 0; r < 3; r++) {
    weir_builder_append_tensor(bld, 0, pixels);
    weir_builder_append_string(bld, 1, path, strlen(path));
  }
  weir_block *b = NULL;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

Test(errmsg, batches_of_two_shapes_name_shapes_files_and_the_fix) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.preserve_order = 1;
  weir_op *src = weir_source(p, "read_video", 2, frames, NULL, &so);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 4;
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, &io, &it), WEIR_OK);
  weir_block *b = NULL;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK)
    weir_block_unref(&b);
  cr_assert_eq(rc, WEIR_EINVAL);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "[4, 4, 3]") && strstr(msg, "[8, 8, 3]") && strstr(msg, "'frame'"),
            "%s", msg);
  cr_assert(strstr(msg, "/videos/small.mp4") && strstr(msg, "/videos/big.mp4"), "%s", msg);
  cr_assert(strstr(msg, "resize"), "%s", msg);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}
