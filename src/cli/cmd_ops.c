/* `weir ops`: the operator kinds and their options, printed from the same
 * registry the spec loader checks against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/spec.h"

static const char *type_name(int t) {
  switch (t) {
  case WEIR_OPT_BOOL: return "bool";
  case WEIR_OPT_INT: return "int";
  case WEIR_OPT_FLOAT: return "float";
  case WEIR_OPT_SIZE: return "size";
  case WEIR_OPT_STRING: return "string";
  case WEIR_OPT_ENUM: return "enum";
  case WEIR_OPT_FLOAT_LIST: return "float list";
  }
  return "?";
}

static const char *role_name(int r) {
  return r == WEIR_KIND_SOURCE ? "source" : r == WEIR_KIND_SINK ? "writer" : "transform";
}

static void json_str(const char *s) {
  if (!s) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static void json_opts(const weir_opt_def *o, size_t n) {
  putchar('[');
  for (size_t i = 0; i < n; i++) {
    printf("%s{\"name\": ", i ? ", " : "");
    json_str(o[i].name);
    printf(", \"type\": \"%s\", \"default\": ", type_name(o[i].type));
    json_str(o[i].default_value);
    printf(", \"required\": %s, \"choices\": ", (o[i].flags & WEIR_OPT_REQUIRED) ? "true" : "false");
    json_str(o[i].choices);
    printf(", \"doc\": ");
    json_str(o[i].doc);
    putchar('}');
  }
  putchar(']');
}

static void json_kind(const weir_op_kind *k) {
  printf("{\"name\": ");
  json_str(k->name);
  printf(", \"role\": \"%s\", \"min_inputs\": %d, \"max_inputs\": %d, \"doc\": ", role_name(k->role),
         k->min_inputs, k->max_inputs);
  json_str(k->doc);
  printf(", \"options\": ");
  json_opts(k->options, k->num_options);
  putchar('}');
}

static void text_opts(const weir_opt_def *o, size_t n) {
  size_t w = 4;
  for (size_t i = 0; i < n; i++)
    if (strlen(o[i].name) > w) w = strlen(o[i].name);
  for (size_t i = 0; i < n; i++) {
    char type[96];
    if (o[i].type == WEIR_OPT_ENUM) snprintf(type, sizeof type, "%s", o[i].choices);
    else snprintf(type, sizeof type, "%s", type_name(o[i].type));
    const char *def = (o[i].flags & WEIR_OPT_REQUIRED) ? "(required)"
                      : o[i].default_value          ? o[i].default_value
                                                    : "(unset)";
    printf("    %-*s  %-10s  %-12s  %s\n", (int)w, o[i].name, type, def, o[i].doc ? o[i].doc : "");
  }
}

int cmd_ops(int argc, char **argv) {
  int json = 0;
  const char *name = NULL;
  weir_op_kinds *k = cli_kinds();
  if (!k) return EXIT_RUN_FAILED;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "--plugin")) {
      if (i + 1 >= argc || weir_op_kinds_load_plugin(k, argv[i + 1]) != WEIR_OK) {
        fprintf(stderr, "weir ops: %s\n", i + 1 >= argc ? "--plugin needs a path" : weir_last_errmsg());
        weir_op_kinds_destroy(k);
        return EXIT_BAD_SPEC;
      }
      i++;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "weir ops: unknown option '%s'\n", argv[i]);
      weir_op_kinds_destroy(k);
      return EXIT_BAD_SPEC;
    } else if (!name) {
      name = argv[i];
    } else {
      fprintf(stderr, "weir ops: one NAME at a time\n");
      weir_op_kinds_destroy(k);
      return EXIT_BAD_SPEC;
    }
  }
  int rc = EXIT_OK;
  size_t n = weir_op_kinds_count(k);
  if (name && !strcmp(name, "pipeline")) {
    if (json) {
      json_opts(spec_pipeline_opts, spec_num_pipeline_opts);
      putchar('\n');
    } else {
      printf("pipeline: options of the whole pipeline (the `pipeline:` mapping of a spec)\n\n  options:\n");
      text_opts(spec_pipeline_opts, spec_num_pipeline_opts);
    }
  } else if (name) {
    const weir_op_kind *kind = weir_op_kinds_find(k, name);
    if (!kind) {
      const char **cands = calloc(n ? n : 1, sizeof *cands);
      char close[256] = "";
      if (cands) {
        for (size_t i = 0; i < n; i++) cands[i] = weir_op_kinds_get(k, i)->name;
        closest_names(name, cands, n, close, sizeof close);
        free(cands);
      }
      fprintf(stderr, "weir ops: no operator kind '%s'%s%s%s\n", name,
              close[0] ? " (closest: " : "", close, close[0] ? ")" : "");
      rc = EXIT_BAD_SPEC;
    } else if (json) {
      json_kind(kind);
      putchar('\n');
    } else {
      printf("%s: %s\n\n  role: %s; inputs: ", kind->name, kind->doc ? kind->doc : "",
             role_name(kind->role));
      if (kind->max_inputs < 0) printf("%d or more\n", kind->min_inputs);
      else if (kind->min_inputs == kind->max_inputs) printf("%d\n", kind->min_inputs);
      else printf("%d to %d\n", kind->min_inputs, kind->max_inputs);
      if (kind->num_options) {
        printf("  options:\n");
        text_opts(kind->options, kind->num_options);
      } else {
        printf("  options: none\n");
      }
    }
  } else if (json) {
    printf("{\"kinds\": [");
    for (size_t i = 0; i < n; i++) {
      if (i) fputs(", ", stdout);
      json_kind(weir_op_kinds_get(k, i));
    }
    printf("], \"pipeline\": ");
    json_opts(spec_pipeline_opts, spec_num_pipeline_opts);
    printf("}\n");
  } else {
    size_t w = 8;
    for (size_t i = 0; i < n; i++)
      if (strlen(weir_op_kinds_get(k, i)->name) > w) w = strlen(weir_op_kinds_get(k, i)->name);
    for (size_t i = 0; i < n; i++) {
      const weir_op_kind *kind = weir_op_kinds_get(k, i);
      printf("%-*s  %-9s  %s\n", (int)w, kind->name, role_name(kind->role), kind->doc ? kind->doc : "");
    }
    printf("\n`weir ops NAME` lists a kind's options; `weir ops pipeline` the pipeline's.\n");
  }
  weir_op_kinds_destroy(k);
  return rc;
}
