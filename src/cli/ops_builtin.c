/* The list of the components' operator tables (see ops.h). */
#include "cli/ops.h"

static const cli_op_table *const tables[] = {
  &cli_ops_core,
  &cli_ops_io,
  &cli_ops_media,
  &cli_ops_parquet,
  &cli_ops_text,
};

void cli_op_options(const weir_op_args *a, weir_op_options *o) {
  weir_op_options d = WEIR_OP_OPTIONS_INIT;
  *o = d;
  o->min_workers = (int)arg_i(a, "min_workers");
  o->max_workers = (int)arg_i(a, "max_workers");
  o->num_cpus = arg_f(a, "num_cpus");
  o->batch_rows = (size_t)arg_i(a, "batch_rows");
  o->max_retries = (int)arg_i(a, "max_retries");
  o->preserve_order = (int)arg_i(a, "preserve_order");
  o->queue_max_bytes = (size_t)arg_i(a, "queue_max_bytes");
  o->queue_max_blocks = (size_t)arg_i(a, "queue_max_blocks");
}

int cli_ops_register_builtin(weir_op_kinds *k) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (size_t i = 0; i < tables[t]->n; i++) {
      int rc = weir_op_kinds_add(k, &tables[t]->kinds[i]);
      if (rc != WEIR_OK) return rc;
    }
  return WEIR_OK;
}
