/* The built-in operator kinds of the `weir` command: one table per
 * component (ops_core.c, ops_io.c, ops_media.c...), each a list of
 * weir_op_kind rows. The spec loader and `weir ops` read the same registry,
 * so what is documented is what is accepted.
 *
 * To add a component's operators: write src/cli/ops_<component>.c with a
 * `const cli_op_table cli_ops_<component>` and name it in ops_builtin.c. */
#ifndef WEIR_CLI_OPS_H
#define WEIR_CLI_OPS_H

#include <weir.h>

typedef struct cli_op_table {
  const weir_op_kind *kinds;
  size_t n;
} cli_op_table;

/* Adds every built-in kind to `k`. */
int cli_ops_register_builtin(weir_op_kinds *k);

/* Rows of an option table. */
#define OPT(n, t, def, doc) {n, t, def, doc, NULL, 0}
#define OPT_REQ(n, t, doc) {n, t, NULL, doc, NULL, WEIR_OPT_REQUIRED}
#define OPT_ENUM(n, choices, def, doc) {n, WEIR_OPT_ENUM, def, doc, choices, 0}

/* The options of weir_op_options, for kinds whose constructor takes them. */
#define CLI_OP_OPTION_ROWS                                                      \
  OPT("min_workers", WEIR_OPT_INT, "1", "workers the pool starts with"),        \
  OPT("max_workers", WEIR_OPT_INT, "0", "most workers; 0 = the scheduler's choice (64)"), \
  OPT("num_cpus", WEIR_OPT_FLOAT, "1", "CPU slots one worker holds"),           \
  OPT("batch_rows", WEIR_OPT_INT, "0", "re-block the input to exactly this many rows; 0 = as it comes"), \
  OPT("max_retries", WEIR_OPT_INT, "0", "re-run a failed call this often"),     \
  OPT("preserve_order", WEIR_OPT_BOOL, "false", "output in input order"),       \
  OPT("queue_max_bytes", WEIR_OPT_SIZE, "0", "bound of the input queue; 0 = the pipeline's default"), \
  OPT("queue_max_blocks", WEIR_OPT_INT, "0", "bound of the input queue in blocks; 0 = the pipeline's default")

#define KIND(name, doc, role, mn, mx, opts, build)                              \
  {WEIR_OP_KIND_VERSION, name, doc, role, mn, mx, opts,                         \
   sizeof(opts) / sizeof((opts)[0]), build, NULL}

/* Typed access to a build function's values (the loader has checked the
 * types; an unset option reads as 0 / NULL). */
static inline int64_t arg_i(const weir_op_args *a, const char *name) {
  const weir_opt_value *v = weir_op_args_get(a, name);
  return v && v->set ? v->i : 0;
}
static inline double arg_f(const weir_op_args *a, const char *name) {
  const weir_opt_value *v = weir_op_args_get(a, name);
  return v && v->set ? v->f : 0.0;
}
static inline const char *arg_s(const weir_op_args *a, const char *name) {
  const weir_opt_value *v = weir_op_args_get(a, name);
  return v && v->set ? v->s : NULL;
}
static inline weir_op *arg_in(const weir_op_args *a) {
  return a->num_inputs ? a->inputs[0] : NULL;
}
/* Fills a weir_op_options from CLI_OP_OPTION_ROWS values. */
void cli_op_options(const weir_op_args *a, weir_op_options *o);

/* A tokenizer loaded from `path` (tokenizer.json, .tiktoken, .model; a
 * tiktoken `pattern` or NULL) and held until cli_tokenizers_release(), so
 * it outlives the pipeline that borrows it (tokenizers.c). NULL with the
 * reason in weir_last_errmsg(). */
const weir_tokenizer *cli_tokenizer(const char *path, const char *pattern);
/* Frees every tokenizer cli_tokenizer() loaded; call after the pipeline is
 * destroyed. */
void cli_tokenizers_release(void);

extern const cli_op_table cli_ops_core, cli_ops_io, cli_ops_media, cli_ops_parquet, cli_ops_text;

#endif
