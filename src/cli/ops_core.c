/* Operator kinds of the executor itself: repartition, limit, union, and
 * the key repartition of weir/dist.h. */
#include "cli/ops.h"

static weir_op *build_repartition(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  return weir_repartition(p, arg_in(a), (size_t)arg_i(a, "rows_per_block"));
}
static weir_op *build_repartition_by_key(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  return weir_repartition_by_key(p, arg_in(a), arg_s(a, "column"), (int)arg_i(a, "partitions"));
}
static weir_op *build_limit(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  return weir_limit(p, arg_in(a), (uint64_t)arg_i(a, "rows"));
}
static weir_op *build_union(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  return weir_union(p, a->inputs, a->num_inputs);
}
/* Keeps the blocks as they are; with preserve_order it orders everything
 * upstream, which is how a spec asks for ordered output. */
static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}
static weir_op *build_identity(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  return weir_map_batches(p, arg_in(a), a->name, pass, NULL, &o);
}

static const weir_opt_def repartition_opts[] = {
  OPT_REQ("rows_per_block", WEIR_OPT_INT, "rows in each output block (the last may be shorter)"),
};
static const weir_opt_def by_key_opts[] = {
  OPT_REQ("column", WEIR_OPT_STRING, "the key column: equal keys end in the same partition"),
  OPT("partitions", WEIR_OPT_INT, "0", "partitions; 0 = one per rank (one in a single process)"),
};
static const weir_opt_def limit_opts[] = {
  OPT_REQ("rows", WEIR_OPT_INT, "rows to pass; upstream stops once they have"),
};
static const weir_opt_def identity_opts[] = {CLI_OP_OPTION_ROWS};

static const weir_op_kind kinds[] = {
  KIND("repartition", "re-block the stream into blocks of exactly rows_per_block rows, in order",
       WEIR_KIND_TRANSFORM, 1, 1, repartition_opts, build_repartition),
  KIND("repartition_by_key", "send each row to the partition owning its key's hash",
       WEIR_KIND_TRANSFORM, 1, 1, by_key_opts, build_repartition_by_key),
  KIND("limit", "pass the first `rows` rows and stop upstream work", WEIR_KIND_TRANSFORM, 1, 1,
       limit_opts, build_limit),
  {WEIR_OP_KIND_VERSION, "union", "merge the streams of all inputs, in no particular order", WEIR_KIND_TRANSFORM, 2,
       -1, NULL, 0, build_union, NULL},
  KIND("identity", "pass blocks through unchanged (with preserve_order: order the stream)",
       WEIR_KIND_TRANSFORM, 1, 1, identity_opts, build_identity),
};

const cli_op_table cli_ops_core = {kinds, sizeof kinds / sizeof kinds[0]};
