/* Operator kinds: operators described by name, documented options and a
 * build function, so that a pipeline can be assembled from a description
 * (the `weir` command's spec files) instead of C code, and so that a team's
 * own C operators, in a shared library ("plugin"), can be used the same way.
 *
 * A kind lists its options with their types, defaults and one-line docs;
 * whoever assembles the pipeline (the `weir` command) checks and converts
 * the values it was given against that list, fills in the defaults, and
 * calls `build` with one typed value per option. The same list is what
 * `weir ops` prints, so the documentation cannot drift from what is
 * accepted.
 *
 * A plugin is a shared library that exports
 *
 *     int weir_plugin_init(weir_op_kinds *kinds);
 *
 * which calls weir_op_kinds_add() once per kind it offers and returns
 * WEIR_OK (or a negative code, reported as the load's failure). The library
 * stays loaded until its registry is destroyed, so the strings and tables a
 * kind points to may be static data of the plugin. */
#ifndef WEIR_PLUGIN_H
#define WEIR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* Option types, and how a value is written in a spec. */
enum {
  WEIR_OPT_BOOL = 1,   /* true/false (also yes/no, on/off, 1/0)             -> i */
  WEIR_OPT_INT,        /* a decimal integer                                 -> i */
  WEIR_OPT_FLOAT,      /* a number                                          -> f */
  WEIR_OPT_SIZE,       /* bytes: 123, 64KiB, 64MiB, 2GiB, 1TiB (also KB, MB,
                          GB, TB as powers of 1000)                          -> i */
  WEIR_OPT_STRING,     /* text                                              -> s */
  WEIR_OPT_ENUM,       /* one of `choices` ("a|b|c")          -> i (index), s */
  WEIR_OPT_FLOAT_LIST  /* a list of numbers, [0.5, 0.5, 0.5]       -> list, n */
};

/* Option flags. */
enum {
  WEIR_OPT_REQUIRED = 1  /* the spec must give it; there is no default */
};

/* One option of a kind. A NULL `default_value` means the option is unset
 * unless given (or required, with WEIR_OPT_REQUIRED). Defaults are written
 * as a spec would write them, and are parsed by the same rules. */
typedef struct weir_opt_def {
  const char *name;
  int         type;          /* WEIR_OPT_* */
  const char *default_value; /* spec syntax; NULL = none */
  const char *doc;           /* one line */
  const char *choices;       /* WEIR_OPT_ENUM: "a|b|c"; else NULL */
  unsigned    flags;         /* WEIR_OPT_REQUIRED... */
} weir_opt_def;

/* A checked value, given to `build` for every option (set or not). Strings
 * and lists are borrowed for the call. */
typedef struct weir_opt_value {
  const char   *name;        /* the option's name */
  int           type;        /* WEIR_OPT_* */
  int           set;         /* 1 = given or defaulted; 0 = unset */
  int64_t       i;           /* BOOL (0/1), INT, SIZE, ENUM (index) */
  double        f;           /* FLOAT (also INT and SIZE, converted) */
  const char   *s;           /* STRING, ENUM (the choice); NULL when unset */
  const double *list;        /* FLOAT_LIST */
  size_t        list_len;
} weir_opt_value;

/* What `build` receives. */
typedef struct weir_op_args {
  const char           *name;        /* the operator's name in the spec */
  weir_op *const       *inputs;      /* its inputs, in the spec's order */
  size_t                num_inputs;
  const weir_opt_value *values;      /* one per option of the kind, in the
                                        kind's order */
  size_t                num_values;
} weir_op_args;

/* Adds the operator to `p` and returns the op downstream operators connect
 * to (for a writer, the sink); NULL on failure, with the reason in
 * weir_pipeline_errmsg(p) (or, before anything reached the pipeline, in
 * weir_set_last_errmsg()). Called on the assembling thread. */
typedef weir_op *(*weir_op_build_fn)(weir_pipeline *p, const weir_op_args *a,
                                     void *user);

#define WEIR_OP_KIND_VERSION 1

/* Kinds of operator. */
enum {
  WEIR_KIND_SOURCE = 1,      /* no inputs (a reader) */
  WEIR_KIND_TRANSFORM,       /* inputs in, rows out */
  WEIR_KIND_SINK             /* a writer: emits nothing */
};

typedef struct weir_op_kind {
  unsigned            version;     /* WEIR_OP_KIND_VERSION */
  const char         *name;        /* as specs name it: [a-z0-9_.]+ */
  const char         *doc;         /* one line */
  int                 role;        /* WEIR_KIND_* */
  int                 min_inputs;  /* 0 for a source */
  int                 max_inputs;  /* -1 = any number */
  const weir_opt_def *options;
  size_t              num_options;
  weir_op_build_fn    build;
  void               *user;        /* given to build */
} weir_op_kind;

typedef struct weir_op_kinds weir_op_kinds;

/* An empty registry. */
WEIR_EXTERN int  weir_op_kinds_create(weir_op_kinds **out);
/* Frees the registry and unloads the plugins it loaded. Accepts NULL. */
WEIR_EXTERN void weir_op_kinds_destroy(weir_op_kinds *k);
/* Adds a kind. The struct is copied; the strings and the option table it
 * points to are borrowed and must outlive the registry. WEIR_EINVAL for a
 * missing name or build function, a name outside [a-z0-9_.], an option
 * without a name, an unknown type, an enum without choices, or a default
 * that does not parse as its type; WEIR_EINVAL also when a kind of that
 * name is already there (a plugin cannot replace a built-in). The reason is
 * in weir_last_errmsg(). */
WEIR_EXTERN int  weir_op_kinds_add(weir_op_kinds *k, const weir_op_kind *kind);
WEIR_EXTERN size_t weir_op_kinds_count(const weir_op_kinds *k);
/* The i-th kind in the order added; NULL past the end. */
WEIR_EXTERN const weir_op_kind *weir_op_kinds_get(const weir_op_kinds *k, size_t i);
/* The kind called `name`, or NULL. */
WEIR_EXTERN const weir_op_kind *weir_op_kinds_find(const weir_op_kinds *k,
                                                   const char *name);
/* Loads the shared library at `path` (dlopen, RTLD_NOW | RTLD_LOCAL) and
 * calls its weir_plugin_init(k). WEIR_ENOTFOUND when it cannot be loaded or
 * has no weir_plugin_init, else what weir_plugin_init returned; the reason
 * is in weir_last_errmsg(). Kinds it added before failing stay. */
WEIR_EXTERN int  weir_op_kinds_load_plugin(weir_op_kinds *k, const char *path);

/* Parses `text` as a value of option `def` into `*out` (whose strings and
 * list then point into `*storage`, which the caller frees with free()).
 * WEIR_EINVAL with a message in weir_last_errmsg() when it does not parse. */
WEIR_EXTERN int  weir_opt_parse(const weir_opt_def *def, const char *text,
                                weir_opt_value *out, void **storage);

/* The value of option `name` in `a`, or NULL when the kind has none. */
WEIR_EXTERN const weir_opt_value *weir_op_args_get(const weir_op_args *a,
                                                   const char *name);

/* The name a plugin's registration function must have. */
#define WEIR_PLUGIN_INIT_SYMBOL "weir_plugin_init"
typedef int (*weir_plugin_init_fn)(weir_op_kinds *kinds);

WEIR_END_DECLS

#endif /* WEIR_PLUGIN_H */
