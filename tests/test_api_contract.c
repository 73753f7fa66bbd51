/* The names, signatures and values fixed by shared/API.md, checked at
 * compile time (each function assigned to a pointer of exactly the type
 * API.md gives) and at run time (enum values, defaults, INIT macros). A
 * rename or a changed argument breaks this file before it breaks a user. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

Test(api, error_codes_and_version) {
  cr_assert_eq(WEIR_OK, 0);
  cr_assert_eq(WEIR_EOF, -1);
  cr_assert_eq(WEIR_EINVAL, -2);
  cr_assert_eq(WEIR_ENOMEM, -3);
  cr_assert_eq(WEIR_EIO, -4);
  cr_assert_eq(WEIR_EFORMAT, -5);
  cr_assert_eq(WEIR_ECANCELED, -6);
  cr_assert_eq(WEIR_EOPERATOR, -7);
  cr_assert_eq(WEIR_ENOTSUP, -8);
  cr_assert_eq(WEIR_ENODEV, -9);
  cr_assert_eq(WEIR_ENOTFOUND, -10);
  const char *(*strerror_fn)(int) = weir_strerror;
  const char *(*version_fn)(void) = weir_version_string;
  cr_assert_not_null(strerror_fn(WEIR_EIO));
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", WEIR_VERSION_MAJOR, WEIR_VERSION_MINOR,
           WEIR_VERSION_PATCH);
  cr_assert_str_eq(version_fn(), want);
}

Test(api, block_and_builder_signatures) {
  weir_block *(*ref)(weir_block *) = weir_block_ref;
  void (*unref)(weir_block **) = weir_block_unref;
  size_t (*rows)(const weir_block *) = weir_block_num_rows;
  size_t (*cols)(const weir_block *) = weir_block_num_columns;
  size_t (*nbytes)(const weir_block *) = weir_block_nbytes;
  int (*colidx)(const weir_block *, const char *) = weir_block_column_index;
  int (*col)(const weir_block *, size_t, weir_column *) = weir_block_column;
  int (*bcreate)(weir_builder **) = weir_builder_create;
  int (*addcol)(weir_builder *, const char *, int) = weir_builder_add_column;
  int (*addt)(weir_builder *, const char *, int, int, const int64_t *) =
      weir_builder_add_tensor_column;
  int (*ai64)(weir_builder *, size_t, int64_t) = weir_builder_append_int64;
  int (*af64)(weir_builder *, size_t, double) = weir_builder_append_float64;
  int (*astr)(weir_builder *, size_t, const char *, size_t) = weir_builder_append_string;
  int (*aten)(weir_builder *, size_t, const void *) = weir_builder_append_tensor;
  int (*anull)(weir_builder *, size_t) = weir_builder_append_null;
  int (*fin)(weir_builder *, weir_block **) = weir_builder_finish;
  void (*bdestroy)(weir_builder *) = weir_builder_destroy;
  int (*to_arrow)(const weir_block *, struct ArrowArray *, struct ArrowSchema *) =
      weir_block_to_arrow;
  int (*from_arrow)(struct ArrowArray *, struct ArrowSchema *, weir_block **) =
      weir_block_from_arrow;
  (void)to_arrow;
  (void)from_arrow;

  /* Every column type and dtype API.md names exists and is distinct. */
  int types[] = {WEIR_TYPE_BOOL, WEIR_TYPE_INT32, WEIR_TYPE_INT64, WEIR_TYPE_FLOAT32,
                 WEIR_TYPE_FLOAT64, WEIR_TYPE_STRING, WEIR_TYPE_BINARY, WEIR_TYPE_TENSOR};
  int dtypes[] = {WEIR_DTYPE_UINT8, WEIR_DTYPE_INT8, WEIR_DTYPE_INT16, WEIR_DTYPE_INT32,
                  WEIR_DTYPE_INT64, WEIR_DTYPE_FLOAT16, WEIR_DTYPE_BFLOAT16,
                  WEIR_DTYPE_FLOAT32, WEIR_DTYPE_FLOAT64};
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < i; j++) cr_assert_neq(types[i], types[j]);
  for (int i = 0; i < 9; i++)
    for (int j = 0; j < i; j++) cr_assert_neq(dtypes[i], dtypes[j]);
  cr_assert_neq(WEIR_DEVICE_CPU, WEIR_DEVICE_CUDA);

  weir_builder *bld = NULL;
  cr_assert_eq(bcreate(&bld), WEIR_OK);
  int64_t shape[2] = {2, 2};
  cr_assert_eq(addcol(bld, "i", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(addcol(bld, "f", WEIR_TYPE_FLOAT64), WEIR_OK);
  cr_assert_eq(addcol(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(addt(bld, "t", WEIR_DTYPE_INT16, 2, shape), WEIR_OK);
  int16_t t[4] = {1, 2, 3, 4};
  cr_assert_eq(ai64(bld, 0, 5), WEIR_OK);
  cr_assert_eq(af64(bld, 1, 2.5), WEIR_OK);
  cr_assert_eq(astr(bld, 2, "abc", 3), WEIR_OK);
  cr_assert_eq(aten(bld, 3, t), WEIR_OK);
  cr_assert_eq(anull(bld, 0), WEIR_OK);
  cr_assert_eq(anull(bld, 1), WEIR_OK);
  cr_assert_eq(anull(bld, 2), WEIR_OK);
  cr_assert_eq(anull(bld, 3), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(fin(bld, &b), WEIR_OK);
  bdestroy(bld);
  weir_block *extra = ref(b);
  cr_assert_eq(extra, b);
  unref(&extra);
  cr_assert_null(extra, "unref clears the pointer it is given");
  cr_assert_eq(rows(b), 2);
  cr_assert_eq(cols(b), 4);
  cr_assert_gt(nbytes(b), 0);
  cr_assert_eq(colidx(b, "t"), 3);
  weir_column c;
  cr_assert_eq(col(b, 3, &c), WEIR_OK);
  cr_assert_eq(c.ndim, 2);
  cr_assert_eq(((const int16_t *)c.data)[3], 4);
  unref(&b);
  cr_assert_null(b);
}

static int nop_read(void *user, size_t task, weir_emit *out) {
  (void)user, (void)task, (void)out;
  return WEIR_OK;
}

Test(api, pipeline_signatures_and_defaults) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  cr_assert_eq(po.version, WEIR_PIPELINE_OPTIONS_VERSION);
  cr_assert_eq(po.num_cpus, 0);
  cr_assert_eq(po.memory_budget, 0);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  cr_assert_eq(oo.version, WEIR_OP_OPTIONS_VERSION);
  cr_assert_eq(oo.num_cpus, 1.0);
  cr_assert_eq(oo.num_gpus, 0.0);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  cr_assert_eq(io.version, WEIR_ITER_OPTIONS_VERSION);

  int (*create)(weir_pipeline **, const weir_pipeline_options *) = weir_pipeline_create;
  void (*destroy)(weir_pipeline *) = weir_pipeline_destroy;
  const char *(*errmsg)(const weir_pipeline *) = weir_pipeline_errmsg;
  int (*emit)(weir_emit *, weir_block *) = weir_emit_block;
  weir_ctx *(*emit_ctx)(weir_emit *) = weir_emit_ctx;
  int (*ctx_worker)(const weir_ctx *) = weir_ctx_worker;
  int (*ctx_cancelled)(const weir_ctx *) = weir_ctx_cancelled;
  void *(*ctx_stream)(const weir_ctx *) = weir_ctx_cuda_stream;
  int (*ctx_device)(const weir_ctx *) = weir_ctx_device;
  weir_op *(*source)(weir_pipeline *, const char *, size_t, weir_read_fn, void *,
                     const weir_op_options *) = weir_source;
  weir_op *(*source_arrow)(weir_pipeline *, const char *, struct ArrowArrayStream *) =
      weir_source_arrow_stream;
  weir_op *(*map)(weir_pipeline *, weir_op *, const char *, weir_batch_fn, void *,
                  const weir_op_options *) = weir_map_batches;
  weir_op *(*add_op)(weir_pipeline *, weir_op *, const weir_op_def *, void *,
                     const weir_op_options *) = weir_add_op;
  weir_op *(*repart)(weir_pipeline *, weir_op *, size_t) = weir_repartition;
  weir_op *(*limit)(weir_pipeline *, weir_op *, uint64_t) = weir_limit;
  weir_op *(*unite)(weir_pipeline *, weir_op *const *, size_t) = weir_union;
  int (*run)(weir_pipeline *, weir_op *) = weir_pipeline_run;
  int (*iter)(weir_pipeline *, weir_op *, const weir_iter_options *, weir_iter **) =
      weir_pipeline_iter;
  int (*next)(weir_iter *, weir_block **) = weir_iter_next;
  void (*idestroy)(weir_iter *) = weir_iter_destroy;
  int (*cancel)(weir_pipeline *) = weir_pipeline_cancel;
  int (*nops)(const weir_pipeline *) = weir_pipeline_num_ops;
  int (*op_stats)(const weir_pipeline *, int, weir_op_stats *) = weir_pipeline_op_stats;
  int (*json)(const weir_pipeline *, char **) = weir_pipeline_stats_json;
  (void)emit, (void)emit_ctx, (void)ctx_worker, (void)ctx_cancelled, (void)ctx_stream;
  (void)ctx_device, (void)source_arrow, (void)map, (void)add_op, (void)iter, (void)next;
  (void)idestroy, (void)unite;

  /* The op_def layout API.md gives. */
  weir_op_def def = {WEIR_OP_DEF_VERSION, "x", NULL, NULL, NULL, NULL};
  cr_assert_str_eq(def.name, "x");

  weir_pipeline *p = NULL;
  cr_assert_eq(create(&p, NULL), WEIR_OK);
  weir_op *src = source(p, "src", 3, nop_read, NULL, NULL);
  cr_assert_not_null(src);
  cr_assert_null(repart(p, NULL, 10), "a NULL input fails");
  cr_assert_str_neq(errmsg(p), "");
  weir_op *lim = limit(p, src, 5);
  cr_assert_not_null(lim);
  cr_assert_eq(run(p, lim), WEIR_OK);
  cr_assert_eq(cancel(p), WEIR_OK);
  cr_assert_geq(nops(p), 2);
  weir_op_stats st;
  cr_assert_eq(op_stats(p, 0, &st), WEIR_OK);
  cr_assert_str_eq(st.name, "src");
  cr_assert_eq(st.tasks, 3);
  char *text = NULL;
  cr_assert_eq(json(p, &text), WEIR_OK);
  cr_assert(strstr(text, "\"src\"") != NULL);
  free(text);
  destroy(p);
  destroy(NULL);
}

Test(api, readers_and_writers_exist) {
  weir_op *(*rj)(weir_pipeline *, const char *, const weir_read_options *) = weir_read_jsonl;
  weir_op *(*rc)(weir_pipeline *, const char *, const weir_read_options *) = weir_read_csv;
  weir_op *(*rt)(weir_pipeline *, const char *, const weir_read_options *) = weir_read_text;
  weir_op *(*rb)(weir_pipeline *, const char *, const weir_read_options *) = weir_read_binary;
  weir_op *(*rbl)(weir_pipeline *, const char *, const weir_read_options *) = weir_read_blocks;
  weir_op *(*rv)(weir_pipeline *, const char *, const weir_video_options *) = weir_read_video;
  weir_op *(*ra)(weir_pipeline *, const char *, const weir_audio_options *) = weir_read_audio;
  weir_op *(*ri)(weir_pipeline *, const char *, const weir_image_options *) = weir_read_images;
  weir_op *(*wj)(weir_pipeline *, weir_op *, const char *, const weir_write_options *) =
      weir_write_jsonl;
  weir_op *(*wc)(weir_pipeline *, weir_op *, const char *, const weir_write_options *) =
      weir_write_csv;
  weir_op *(*wb)(weir_pipeline *, weir_op *, const char *, const weir_write_options *) =
      weir_write_blocks;
  (void)rc, (void)rt, (void)rb, (void)rbl, (void)rv, (void)ra, (void)ri, (void)wc, (void)wb;
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  weir_video_options vo = WEIR_VIDEO_OPTIONS_INIT;
  weir_audio_options ao = WEIR_AUDIO_OPTIONS_INIT;
  weir_image_options imo = WEIR_IMAGE_OPTIONS_INIT;
  cr_assert_eq(ro.version, WEIR_READ_OPTIONS_VERSION);
  cr_assert_eq(wo.version, WEIR_WRITE_OPTIONS_VERSION);
  cr_assert_eq(vo.version, WEIR_VIDEO_OPTIONS_VERSION);
  cr_assert_eq(ao.version, WEIR_AUDIO_OPTIONS_VERSION);
  cr_assert_eq(imo.version, WEIR_IMAGE_OPTIONS_VERSION);
  /* A missing input is a NULL op with a message naming it. */
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *op = rj(p, "/nonexistent/weir-api-test/*.jsonl", NULL);
  cr_assert_null(op, "a pattern that matches nothing is an error");
  cr_assert(strstr(weir_pipeline_errmsg(p), "/nonexistent/weir-api-test") != NULL, "%s",
            weir_pipeline_errmsg(p));
  cr_assert_null(wj(p, op, "/tmp/weir-api-contract-out", NULL), "a NULL input fails");
  weir_pipeline_destroy(p);
}
