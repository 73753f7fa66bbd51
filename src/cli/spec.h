/* A spec file checked against the operator registry: its pipeline options,
 * operators with typed option values, edges in topological order, and every
 * error found, each naming file:line:column. */
#ifndef WEIR_CLI_SPEC_H
#define WEIR_CLI_SPEC_H

#include <weir.h>

#include "cli/node.h"

typedef struct spec_op {
  const char         *name;
  int                 line, col;
  const node         *n;
  const weir_op_kind *kind;
  int                *inputs;      /* indices into spec.ops */
  size_t              ninputs;
  weir_opt_value     *values;      /* one per kind option */
  void              **storage;
  /* after spec_build */
  weir_op            *op;
  int                 first_index, last_index; /* weir ops it created */
} spec_op;

typedef struct spec {
  const char            *path;
  node                  *root;
  weir_op_kinds         *kinds;
  weir_pipeline_options  popts;
  spec_op               *ops;
  size_t                 nops;
  int                   *order;    /* topological order of ops */
  int                    output;   /* index, or -1 = every op without consumers */
  char                 **errors;
  size_t                 nerrors;
  int                    resume;   /* --resume: writers keep complete shards */
  int                    log_level; /* WEIR_LOG_* the user asked for */
  char                  *spill_dir; /* owned: popts.spill_dir points here */
} spec;

/* --set arguments: NAME=value (a variable) or op.option=value. */
typedef struct spec_sets {
  const char **items;
  size_t n;
} spec_sets;

/* Loads and checks `path`. Returns 0 with an empty error list when it is
 * valid; otherwise the errors are in s->errors. Plugins the spec names are
 * loaded into `kinds` (the loader needs their tables). */
int  spec_load(spec *s, const char *path, weir_op_kinds *kinds, const spec_sets *sets,
               int resume);
void spec_free(spec *s);
/* Builds the pipeline; on failure returns the weir error and writes the
 * message (naming the spec operator) to err. */
int  spec_build(spec *s, weir_pipeline **out, char *err, size_t errlen);
/* The pipeline option table (spec `pipeline:` keys), for `weir ops`. */
extern const weir_opt_def spec_pipeline_opts[];
extern const size_t spec_num_pipeline_opts;
/* The closest names to `name` among `cands` (edit distance), as
 * "'a', 'b'" in buf; "" when none is close. */
void closest_names(const char *name, const char *const *cands, size_t n, char *buf, size_t len);

#endif
