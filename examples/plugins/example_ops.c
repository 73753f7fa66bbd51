/* A plugin: a team's own C operators made usable from `weir run` spec
 * files. Build it as a shared library that links libweir, name it in a
 * spec (`plugin: ./libweir_example_ops.so`), and its kinds appear beside
 * the built-in ones, in `weir ops --plugin ...` too:
 *
 *   make_rows   a source of `tasks` blocks of 1000 rows: id, value = id % 7
 *   add_square  adds square = value * value       (pipeline_basics.c)
 *   keep_long   keeps rows whose `text` has at least min_chars bytes
 *                                                   (jsonl_pipeline.c)
 *
 * Everything a kind needs is in <weir.h> (weir/plugin.h): a table of
 * options with types, defaults and docs, and a build function that gets
 * the checked values and adds the operator to the pipeline. */
#include <stdlib.h>
#include <string.h>

#include <weir.h>

static int make_rows(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  if (weir_builder_create(&bld) != WEIR_OK) return WEIR_ENOMEM;
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "value", WEIR_TYPE_INT64);
  for (int64_t i = 0; i < 1000; i++) {
    int64_t id = (int64_t)task * 1000 + i;
    weir_builder_append_int64(bld, 0, id);
    weir_builder_append_int64(bld, 1, id % 7);
  }
  weir_block *b;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

static weir_op *build_make_rows(weir_pipeline *p, const weir_op_args *a, void *user) {
  (void)user;
  int64_t tasks = weir_op_args_get(a, "tasks")->i;
  if (tasks < 0) {
    weir_set_last_errmsg("%s: tasks must be >= 0", a->name);
    return NULL;
  }
  return weir_source(p, a->name, (size_t)tasks, make_rows, NULL, NULL);
}

static int add_square(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  int ci = weir_block_column_index(in, "value");
  if (ci < 0) return ci;
  weir_column v;
  weir_block_column(in, (size_t)ci, &v);
  weir_builder *bld;
  if (weir_builder_create(&bld) != WEIR_OK) return WEIR_ENOMEM;
  size_t nc = weir_block_num_columns(in);
  /* Copies the columns (a real operator would pass them through with
   * weir_block_add_column; this one stays short). */
  for (size_t c = 0; c < nc; c++) {
    weir_column col;
    weir_block_column(in, c, &col);
    weir_builder_add_column(bld, col.name, WEIR_TYPE_INT64);
    for (size_t r = 0; r < col.length; r++)
      weir_builder_append_int64(bld, c, ((const int64_t *)col.data)[r]);
  }
  weir_builder_add_column(bld, "square", WEIR_TYPE_INT64);
  for (size_t r = 0; r < v.length; r++) {
    int64_t x = ((const int64_t *)v.data)[r];
    weir_builder_append_int64(bld, nc, x * x);
  }
  weir_block *b;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

static weir_op *build_add_square(weir_pipeline *p, const weir_op_args *a, void *user) {
  (void)user;
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = (int)weir_op_args_get(a, "min_workers")->i;
  return weir_map_batches(p, a->inputs[0], a->name, add_square, NULL, &o);
}

typedef struct keep {
  size_t min_chars;
} keep;

static int keep_long(void *user, weir_block *in, weir_emit *out) {
  const keep *k = user;
  int ci = weir_block_column_index(in, "text");
  if (ci < 0) return ci;
  weir_column text;
  weir_block_column(in, (size_t)ci, &text);
  uint32_t *rows = malloc(text.length * sizeof *rows + 1);
  if (!rows) return WEIR_ENOMEM;
  size_t n = 0;
  for (size_t r = 0; r < text.length; r++)
    if ((size_t)(text.offsets[r + 1] - text.offsets[r]) >= k->min_chars) rows[n++] = (uint32_t)r;
  int rc = WEIR_OK;
  if (n == text.length) {
    rc = weir_emit_block(out, weir_block_ref(in));
  } else if (n > 0) {
    weir_block *kept;
    rc = weir_block_take(in, rows, n, &kept);
    if (rc == WEIR_OK) rc = weir_emit_block(out, kept);
  }
  free(rows);
  return rc;
}

static weir_op *build_keep_long(weir_pipeline *p, const weir_op_args *a, void *user) {
  (void)user;
  /* The state lives as long as the pipeline: it is freed with the
   * process, as a plugin's kinds live as long as the command. */
  static keep k[64];
  static int used;
  if (used == 64) {
    weir_set_last_errmsg("%s: at most 64 keep_long operators", a->name);
    return NULL;
  }
  keep *mine = &k[used++];
  mine->min_chars = (size_t)weir_op_args_get(a, "min_chars")->i;
  return weir_map_batches(p, a->inputs[0], a->name, keep_long, mine, NULL);
}

static const weir_opt_def make_rows_opts[] = {
  {"tasks", WEIR_OPT_INT, "50", "blocks of 1000 rows to make", NULL, 0},
};
static const weir_opt_def add_square_opts[] = {
  {"min_workers", WEIR_OPT_INT, "1", "workers the pool starts with", NULL, 0},
};
static const weir_opt_def keep_long_opts[] = {
  {"min_chars", WEIR_OPT_INT, NULL, "shortest `text` kept, in bytes", NULL, WEIR_OPT_REQUIRED},
};

static const weir_op_kind kinds[] = {
  {WEIR_OP_KIND_VERSION, "make_rows", "blocks of 1000 rows: id, value = id % 7", WEIR_KIND_SOURCE,
   0, 0, make_rows_opts, 1, build_make_rows, NULL},
  {WEIR_OP_KIND_VERSION, "add_square", "adds square = value * value", WEIR_KIND_TRANSFORM, 1, 1,
   add_square_opts, 1, build_add_square, NULL},
  {WEIR_OP_KIND_VERSION, "keep_long", "keeps rows whose text has at least min_chars bytes",
   WEIR_KIND_TRANSFORM, 1, 1, keep_long_opts, 1, build_keep_long, NULL},
};

/* The registration function weir looks up (WEIR_PLUGIN_INIT_SYMBOL). */
WEIR_EXTERN int weir_plugin_init(weir_op_kinds *k);
int weir_plugin_init(weir_op_kinds *k) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    int rc = weir_op_kinds_add(k, &kinds[i]);
    if (rc != WEIR_OK) return rc;
  }
  return WEIR_OK;
}
