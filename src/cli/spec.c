/* Checks a spec tree against the operator registry and turns it into typed
 * values and edges; builds the pipeline from them. */
#include "cli/spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------ */

static void add_err(spec *s, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_err(spec *s, int line, int col, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char **e = realloc(s->errors, (s->nerrors + 1) * sizeof *e);
  if (!e) return;
  s->errors = e;
  size_t len = strlen(s->path) + strlen(msg) + 32;
  char *text = malloc(len);
  if (!text) return;
  if (line > 0)
    snprintf(text, len, "%s:%d:%d: %s", s->path, line, col, msg);
  else
    snprintf(text, len, "%s: %s", s->path, msg);
  s->errors[s->nerrors++] = text;
}

/* ---- closest names ------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 1000;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t sub = prev + (a[i - 1] != b[j - 1]);
      size_t del = row[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      prev = cur;
    }
  }
  return row[lb];
}

void closest_names(const char *name, const char *const *cands, size_t n, char *buf, size_t len) {
  buf[0] = '\0';
  size_t best[3] = {0}, bestd[3] = {1000, 1000, 1000}, nb = 0;
  size_t limit = strlen(name) / 3 + 1;
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(name, cands[i]);
    /* A candidate that contains the name, or the reverse, is close too. */
    if (strstr(cands[i], name) || strstr(name, cands[i])) d = d < 2 ? d : 2;
    if (d > limit) continue;
    for (size_t k = 0; k < 3; k++)
      if (d < bestd[k]) {
        for (size_t m = 2; m > k; m--) {
          bestd[m] = bestd[m - 1];
          best[m] = best[m - 1];
        }
        bestd[k] = d;
        best[k] = i;
        if (nb < 3) nb++;
        break;
      }
  }
  size_t off = 0;
  for (size_t k = 0; k < nb && off < len; k++)
    off += (size_t)snprintf(buf + off, len - off, "%s'%s'", k ? ", " : "", cands[best[k]]);
}

/* ---- variables ---------------------------------------------------------- */

typedef struct ctx {
  spec *s;
  const spec_sets *sets;
  const node *vars;          /* the spec's `vars:` mapping */
  unsigned char *used;       /* per --set item */
} ctx;

static const char *lookup_var(ctx *c, const char *name, size_t n) {
  for (size_t i = 0; i < c->sets->n; i++) {
    const char *it = c->sets->items[i], *eq = strchr(it, '=');
    if (eq && (size_t)(eq - it) == n && strncmp(it, name, n) == 0 && !memchr(it, '.', n)) {
      c->used[i] = 1;
      return eq + 1;
    }
  }
  char key[256];
  if (n >= sizeof key) return NULL;
  memcpy(key, name, n);
  key[n] = '\0';
  const char *env = getenv(key);
  if (env) return env;
  const node *v = node_get(c->vars, key);
  if (v && v->type == NODE_SCALAR) return v->text;
  return NULL;
}

/* Expands ${NAME} and ${NAME:-default}; $$ is a dollar. Returns a new
 * string, or NULL after adding an error at the node. */
static char *subst(ctx *c, const char *text, int line, int col) {
  size_t cap = strlen(text) + 64, len = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  for (const char *p = text; *p;) {
    const char *piece = p;
    size_t plen = 1;
    char *owned = NULL;
    if (p[0] == '$' && p[1] == '$') {
      p += 2;
    } else if (p[0] == '$' && p[1] == '{') {
      const char *close = strchr(p + 2, '}');
      if (!close) {
        add_err(c->s, line, col, "unterminated ${ in '%s'", text);
        free(out);
        return NULL;
      }
      const char *name = p + 2, *dflt = NULL;
      size_t nlen = (size_t)(close - name);
      const char *colon = memchr(name, ':', nlen);
      if (colon && colon[1] == '-') {
        dflt = colon + 2;
        nlen = (size_t)(colon - name);
      }
      for (size_t i = 0; i < nlen; i++) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
          add_err(c->s, line, col, "'%.*s' is not a variable name (letters, digits, _)", (int)nlen, name);
          free(out);
          return NULL;
        }
      }
      if (nlen == 0) {
        add_err(c->s, line, col, "empty variable name in '%s'", text);
        free(out);
        return NULL;
      }
      const char *val = lookup_var(c, name, nlen);
      if (!val && dflt) {
        owned = strndup(dflt, (size_t)(close - dflt));
        val = owned;
      }
      if (!val) {
        add_err(c->s, line, col,
                "variable ${%.*s} is not set (set it in the environment, with --set %.*s=..., "
                "under vars:, or write ${%.*s:-default})",
                (int)nlen, name, (int)nlen, name, (int)nlen, name);
        free(out);
        return NULL;
      }
      piece = val;
      plen = strlen(val);
      p = close + 1;
    } else {
      p++;
    }
    if (len + plen + 1 > cap) {
      cap = (len + plen + 1) * 2;
      char *no = realloc(out, cap);
      if (!no) {
        free(out);
        free(owned);
        return NULL;
      }
      out = no;
    }
    memcpy(out + len, piece, plen);
    len += plen;
    free(owned);
  }
  out[len] = '\0';
  return out;
}

/* ---- option values ------------------------------------------------------- */

/* The text of an option's value node: a scalar, or for a list option a
 * list of scalars joined by commas. */
static char *value_text(ctx *c, const char *label, const weir_opt_def *d, const node *v) {
  if (v->type == NODE_SCALAR) {
    if (d->type != WEIR_OPT_STRING && v->quoted && d->type == WEIR_OPT_BOOL) {
      /* "true" in quotes is text, not a boolean: say so rather than guess. */
      add_err(c->s, v->line, v->col,
              "%s: option '%s' is a boolean; write true or false without quotes", label, d->name);
      return NULL;
    }
    return subst(c, v->text, v->line, v->col);
  }
  if (v->type == NODE_LIST && d->type == WEIR_OPT_FLOAT_LIST) {
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < v->nkids; i++) {
      const node *k = &v->kids[i];
      if (k->type != NODE_SCALAR) {
        add_err(c->s, k->line, k->col, "%s: option '%s': list items must be numbers", label, d->name);
        free(out);
        return NULL;
      }
      char *t = subst(c, k->text, k->line, k->col);
      if (!t) {
        free(out);
        return NULL;
      }
      size_t need = len + strlen(t) + 3;
      if (need > cap) {
        cap = need * 2;
        char *no = realloc(out, cap);
        if (!no) {
          free(out);
          free(t);
          return NULL;
        }
        out = no;
      }
      len += (size_t)sprintf(out + len, "%s%s", i ? "," : "", t);
      free(t);
    }
    return out;
  }
  add_err(c->s, v->line, v->col, "%s: option '%s' takes %s, not %s", label, d->name,
          d->type == WEIR_OPT_FLOAT_LIST ? "a list of numbers" : "a single value",
          node_type_name(v->type));
  return NULL;
}

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

/* The --set override for `owner.option`, if any. */
static const char *find_override(ctx *c, const char *owner, const char *opt, size_t *which) {
  size_t ol = strlen(owner), pl = strlen(opt);
  const char *found = NULL;
  for (size_t i = 0; i < c->sets->n; i++) {
    const char *it = c->sets->items[i];
    if (strncmp(it, owner, ol) == 0 && it[ol] == '.' && strncmp(it + ol + 1, opt, pl) == 0 &&
        it[ol + 1 + pl] == '=') {
      found = it + ol + 1 + pl + 1; /* the last one wins, as on any command line */
      *which = i;
    }
  }
  return found;
}

/* Resolves every option of a table for one owner (an op or `pipeline`):
 * the node's value, a --set override, or the default. */
static int resolve(ctx *c, const char *owner, const char *label, const weir_opt_def *defs, size_t n, const node *map,
                   const char *const *reserved, size_t nreserved, weir_opt_value *vals,
                   void **storage, int line, int col) {
  int ok = 1;
  /* Keys that are not options. */
  for (size_t i = 0; map && i < map->nkids; i++) {
    const node *k = &map->kids[i];
    int known = 0;
    for (size_t r = 0; r < nreserved; r++) known |= strcmp(k->key, reserved[r]) == 0;
    for (size_t d = 0; d < n; d++) known |= strcmp(k->key, defs[d].name) == 0;
    if (!known) {
      const char *cands[256];
      size_t nc = 0;
      for (size_t d = 0; d < n && nc < 256; d++) cands[nc++] = defs[d].name;
      char close[256];
      closest_names(k->key, cands, nc, close, sizeof close);
      add_err(c->s, k->key_line, k->key_col, "%s: unknown option '%s'%s%s%s", label, k->key,
              close[0] ? " (did you mean " : "", close, close[0] ? "?)" : "");
      ok = 0;
    }
  }
  for (size_t d = 0; d < n; d++) {
    const weir_opt_def *def = &defs[d];
    const node *v = node_get(map, def->name);
    size_t which = 0;
    const char *over = find_override(c, owner, def->name, &which);
    char *text = NULL;
    int el = v ? v->line : line, ec = v ? v->col : col;
    char where[320] = "";
    if (over) {
      c->used[which] = 1;
      text = subst(c, over, 0, 0);
      snprintf(where, sizeof where, " (from --set %s.%s)", owner, def->name);
    } else if (v) {
      text = value_text(c, label, def, v);
      if (!text) {
        ok = 0;
        continue;
      }
    } else if (def->default_value) {
      text = strdup(def->default_value);
    } else {
      if (def->flags & WEIR_OPT_REQUIRED) {
        add_err(c->s, line, col, "%s: option '%s' (%s) is required: %s", label, def->name,
                type_name(def->type), def->doc ? def->doc : "");
        ok = 0;
      }
      vals[d].name = def->name;
      vals[d].type = def->type;
      continue;
    }
    if (!text) {
      ok = 0;
      continue;
    }
    int rc = weir_opt_parse(def, text, &vals[d], &storage[d]);
    if (rc != WEIR_OK) {
      add_err(c->s, el, ec, "%s: option '%s' (%s)%s: %s", label, def->name, type_name(def->type),
              where, weir_last_errmsg());
      ok = 0;
    }
    free(text);
  }
  return ok;
}

/* ---- pipeline options ------------------------------------------------------ */

const weir_opt_def spec_pipeline_opts[] = {
  {"num_cpus", WEIR_OPT_INT, "0", "CPU slots for all pools; 0 = all cores", NULL, 0},
  {"num_gpus", WEIR_OPT_INT, "0", "0 = all visible CUDA devices", NULL, 0},
  {"memory_budget", WEIR_OPT_SIZE, "0", "bytes of blocks in flight; 0 = a quarter of memory, at most 4 GiB", NULL, 0},
  {"progress", WEIR_OPT_BOOL, "true", "progress on stderr: redrawn lines on a terminal, a line every few seconds otherwise", NULL, 0},
  {"summary", WEIR_OPT_BOOL, "true", "print the statistics table at the end", NULL, 0},
  {"max_errored_blocks", WEIR_OPT_INT, "0", "failed operator calls skipped and counted before the run fails; 0 = none", NULL, 0},
  {"stall_seconds", WEIR_OPT_FLOAT, "30", "no progress this long is reported as a stall; < 0 = never", NULL, 0},
  {"stall_is_error", WEIR_OPT_BOOL, "false", "a stall ends the run", NULL, 0},
  {"queue_max_bytes", WEIR_OPT_SIZE, "0", "default bound of each input queue; 0 = a share of the budget", NULL, 0},
  {"queue_max_blocks", WEIR_OPT_INT, "64", "default bound of each input queue, in blocks", NULL, 0},
  {"log_level", WEIR_OPT_ENUM, "warn", "messages shown on stderr", "error|warn|info|debug", 0},
  {"progress_interval", WEIR_OPT_FLOAT, "5", "seconds between plain progress lines", NULL, 0},
  {"fixed_pools", WEIR_OPT_BOOL, "false", "the scheduler does not resize pools", NULL, 0},
  {"spill_dir", WEIR_OPT_STRING, NULL, "folder of spill files; unset = $WEIR_SPILL_DIR, $TMPDIR or /tmp", NULL, 0},
  {"no_spill", WEIR_OPT_BOOL, "false", "never spill held blocks to disk", NULL, 0},
  {"target_block_bytes", WEIR_OPT_SIZE, "0", "readers cut blocks at about this many bytes; 0 = a sixteenth of the budget", NULL, 0},
};
const size_t spec_num_pipeline_opts = sizeof spec_pipeline_opts / sizeof spec_pipeline_opts[0];

static void apply_pipeline(spec *s, const weir_opt_value *v) {
  weir_pipeline_options *o = &s->popts;
  for (size_t i = 0; i < spec_num_pipeline_opts; i++) {
    const char *n = spec_pipeline_opts[i].name;
    const weir_opt_value *x = &v[i];
    if (!x->set) continue;
    if (!strcmp(n, "num_cpus")) o->num_cpus = (int)x->i;
    else if (!strcmp(n, "num_gpus")) o->num_gpus = (int)x->i;
    else if (!strcmp(n, "memory_budget")) o->memory_budget = (size_t)x->i;
    else if (!strcmp(n, "progress")) o->progress = (int)x->i;
    else if (!strcmp(n, "summary")) o->summary = (int)x->i;
    else if (!strcmp(n, "max_errored_blocks")) o->max_errored_blocks = (uint64_t)x->i;
    else if (!strcmp(n, "stall_seconds")) o->stall_seconds = x->f;
    else if (!strcmp(n, "stall_is_error")) o->stall_is_error = (int)x->i;
    else if (!strcmp(n, "queue_max_bytes")) o->queue_max_bytes = (size_t)x->i;
    else if (!strcmp(n, "queue_max_blocks")) o->queue_max_blocks = (size_t)x->i;
    else if (!strcmp(n, "log_level")) s->log_level = (int)x->i;
    else if (!strcmp(n, "progress_interval")) o->progress_interval = x->f;
    else if (!strcmp(n, "fixed_pools")) o->fixed_pools = (int)x->i;
    else if (!strcmp(n, "spill_dir")) {
      free(s->spill_dir);
      s->spill_dir = strdup(x->s);
      o->spill_dir = s->spill_dir;
    } else if (!strcmp(n, "no_spill")) o->no_spill = (int)x->i;
    else if (!strcmp(n, "target_block_bytes")) o->target_block_bytes = (size_t)x->i;
  }
}

/* ---- plugins -------------------------------------------------------------- */

static void load_plugin(ctx *c, const node *v) {
  spec *s = c->s;
  if (v->type != NODE_SCALAR) {
    add_err(s, v->line, v->col, "plugin: expected a path to a shared library, not %s",
            node_type_name(v->type));
    return;
  }
  char *path = subst(c, v->text, v->line, v->col);
  if (!path) return;
  /* A relative path is relative to the spec file, so a spec and its
   * plugin can move together. */
  char full[4096];
  if (path[0] != '/') {
    const char *slash = strrchr(s->path, '/');
    if (slash)
      snprintf(full, sizeof full, "%.*s/%s", (int)(slash - s->path), s->path, path);
    else
      snprintf(full, sizeof full, "./%s", path);
  } else {
    snprintf(full, sizeof full, "%s", path);
  }
  free(path);
  if (weir_op_kinds_load_plugin(s->kinds, full) != WEIR_OK)
    add_err(s, v->line, v->col, "%s", weir_last_errmsg());
}

/* ---- edges ------------------------------------------------------------------- */

static int find_op(const spec *s, const char *name) {
  for (size_t i = 0; i < s->nops; i++)
    if (s->ops[i].name && strcmp(s->ops[i].name, name) == 0) return (int)i;
  return -1;
}

static void dangling(spec *s, const node *ref) {
  const char *cands[1024];
  size_t nc = 0;
  for (size_t i = 0; i < s->nops && nc < 1024; i++)
    if (s->ops[i].name) cands[nc++] = s->ops[i].name;
  char close[256];
  closest_names(ref->text, cands, nc, close, sizeof close);
  add_err(s, ref->line, ref->col, "dangling edge: no operator named '%s' in this spec%s%s%s",
          ref->text, close[0] ? " (did you mean " : "", close, close[0] ? "?)" : "");
}

static void read_inputs(spec *s, spec_op *o) {
  const node *in = node_get(o->n, "input"), *ins = node_get(o->n, "inputs");
  if (in && ins) {
    add_err(s, ins->key_line, ins->key_col, "operator '%s': give `input` or `inputs`, not both",
            o->name);
    return;
  }
  const node *refs = NULL;
  size_t n = 0;
  if (in) {
    if (in->type == NODE_SCALAR) {
      refs = in;
      n = 1;
    } else if (in->type == NODE_LIST) {
      refs = in->kids;
      n = in->nkids;
    } else {
      add_err(s, in->line, in->col, "operator '%s': input must be an operator name", o->name);
      return;
    }
  } else if (ins) {
    if (ins->type == NODE_SCALAR) {
      refs = ins;
      n = 1;
    } else if (ins->type != NODE_LIST) {
      add_err(s, ins->line, ins->col, "operator '%s': inputs must be a list of operator names",
              o->name);
      return;
    } else {
      refs = ins->kids;
      n = ins->nkids;
    }
  }
  o->inputs = calloc(n ? n : 1, sizeof *o->inputs);
  if (!o->inputs) return;
  int bad_refs = 0;
  for (size_t i = 0; i < n; i++) {
    const node *r = &refs[i];
    if (r->type != NODE_SCALAR) {
      add_err(s, r->line, r->col, "operator '%s': an input must be an operator name, not %s",
              o->name, node_type_name(r->type));
      continue;
    }
    int idx = find_op(s, r->text);
    if (idx < 0) {
      dangling(s, r);
      bad_refs++;
      continue;
    }
    if (s->ops[idx].kind && s->ops[idx].kind->role == WEIR_KIND_SINK) {
      add_err(s, r->line, r->col,
              "operator '%s' cannot read from '%s': it is a writer (%s) and emits nothing",
              o->name, r->text, s->ops[idx].kind->name);
      bad_refs++;
      continue;
    }
    o->inputs[o->ninputs++] = idx;
  }
  if (o->kind && !bad_refs) {
    int mn = o->kind->min_inputs, mx = o->kind->max_inputs;
    int have = (int)o->ninputs;
    if (have < mn || (mx >= 0 && have > mx)) {
      char want[64];
      if (mx == 0) snprintf(want, sizeof want, "no inputs (it is a source)");
      else if (mx < 0) snprintf(want, sizeof want, "at least %d input%s", mn, mn == 1 ? "" : "s");
      else if (mn == mx) snprintf(want, sizeof want, "%d input%s", mn, mn == 1 ? "" : "s");
      else snprintf(want, sizeof want, "%d to %d inputs", mn, mx);
      add_err(s, o->line, o->col, "operator '%s' (%s) takes %s, but has %d", o->name,
              o->kind->name, want, have);
    }
  }
}

/* Depth-first search; a grey node met again closes a cycle. */
static int visit(spec *s, int i, int *color, int *stack, int depth, int *order, size_t *norder) {
  if (color[i] == 2) return 0;
  stack[depth] = i;
  if (color[i] == 1) {
    int start = depth - 1;
    while (start >= 0 && stack[start] != i) start--;
    char path[1024];
    size_t off = 0;
    for (int k = start < 0 ? 0 : start; k <= depth && off < sizeof path; k++)
      off += (size_t)snprintf(path + off, sizeof path - off, "%s%s", k > start ? " -> " : "",
                              s->ops[stack[k]].name);
    add_err(s, s->ops[i].line, s->ops[i].col, "cycle: %s", path);
    return -1;
  }
  color[i] = 1;
  for (size_t k = 0; k < s->ops[i].ninputs; k++)
    if (visit(s, s->ops[i].inputs[k], color, stack, depth + 1, order, norder)) return -1;
  color[i] = 2;
  order[(*norder)++] = i;
  return 0;
}

/* ---- the spec --------------------------------------------------------------- */

static const char *const op_reserved[] = {"name", "op", "input", "inputs"};

static void load_op(ctx *c, spec_op *o, size_t i) {
  spec *s = c->s;
  const node *n = o->n;
  o->line = n->line;
  o->col = n->col;
  if (n->type != NODE_MAP) {
    add_err(s, n->line, n->col, "ops[%zu]: expected a mapping with name: and op:, not %s", i,
            node_type_name(n->type));
    return;
  }
  const node *name = node_get(n, "name"), *kind = node_get(n, "op");
  if (!name || name->type != NODE_SCALAR || !name->text[0]) {
    add_err(s, n->line, n->col, "ops[%zu]: every operator needs a name: (a unique text)", i);
  } else {
    o->name = name->text;
    for (size_t j = 0; j < i; j++)
      if (s->ops[j].name && strcmp(s->ops[j].name, o->name) == 0)
        add_err(s, name->line, name->col, "operator name '%s' is used twice (first at line %d)",
                o->name, s->ops[j].line);
    if (strchr(o->name, '.') || strchr(o->name, '='))
      add_err(s, name->line, name->col,
              "operator name '%s' may not contain '.' or '=' (they separate --set overrides)", o->name);
  }
  const char *label = o->name ? o->name : "?";
  if (!kind || kind->type != NODE_SCALAR) {
    add_err(s, n->line, n->col, "operator '%s' needs op: (an operator kind; see `weir ops`)", label);
    return;
  }
  o->kind = weir_op_kinds_find(s->kinds, kind->text);
  if (!o->kind) {
    size_t nk = weir_op_kinds_count(s->kinds);
    const char **cands = malloc((nk ? nk : 1) * sizeof *cands);
    char close[256] = "";
    if (cands) {
      for (size_t k = 0; k < nk; k++) cands[k] = weir_op_kinds_get(s->kinds, k)->name;
      closest_names(kind->text, cands, nk, close, sizeof close);
      free(cands);
    }
    add_err(s, kind->line, kind->col, "operator '%s': unknown operator kind '%s'%s%s%s", label,
            kind->text, close[0] ? " (closest: " : " (see `weir ops`)", close, close[0] ? ")" : "");
    return;
  }
  size_t no = o->kind->num_options;
  o->values = calloc(no ? no : 1, sizeof *o->values);
  o->storage = calloc(no ? no : 1, sizeof *o->storage);
  if (!o->values || !o->storage) return;
  char owner[300];
  snprintf(owner, sizeof owner, "operator '%s'", label);
  resolve(c, label, owner, o->kind->options, no, n, op_reserved, 4, o->values, o->storage, o->line,
          o->col);
  if (s->resume)
    for (size_t k = 0; k < no; k++)
      if (!strcmp(o->kind->options[k].name, "resume") && o->kind->options[k].type == WEIR_OPT_BOOL) {
        o->values[k].set = 1;
        o->values[k].i = 1;
      }
}

/* Errors in file order (line, then column); file-wide ones last. */
static void err_pos(const char *e, size_t plen, long *line, long *col) {
  *line = 1L << 30;
  *col = 0;
  if (strlen(e) > plen && e[plen] == ':') {
    char *end;
    long l = strtol(e + plen + 1, &end, 10);
    if (end != e + plen + 1 && *end == ':') {
      *line = l;
      *col = strtol(end + 1, NULL, 10);
    }
  }
}

static void sort_errors(spec *s) {
  size_t plen = strlen(s->path);
  for (size_t i = 1; i < s->nerrors; i++) {
    char *e = s->errors[i];
    long l, c;
    err_pos(e, plen, &l, &c);
    size_t j = i;
    while (j > 0) {
      long pl, pc;
      err_pos(s->errors[j - 1], plen, &pl, &pc);
      if (pl < l || (pl == l && pc <= c)) break;
      s->errors[j] = s->errors[j - 1];
      j--;
    }
    s->errors[j] = e;
  }
}

int spec_load(spec *s, const char *path, weir_op_kinds *kinds, const spec_sets *sets, int resume) {
  weir_pipeline_options d = WEIR_PIPELINE_OPTIONS_INIT;
  memset(s, 0, sizeof *s);
  s->path = path;
  s->kinds = kinds;
  s->popts = d;
  s->output = -1;
  s->resume = resume;
  s->log_level = WEIR_LOG_WARN;
  char err[1024];
  s->root = node_load_file(path, err, sizeof err);
  if (!s->root) {
    char **e = malloc(sizeof *e);
    if (e) {
      e[0] = strdup(err);
      s->errors = e;
      s->nerrors = 1;
    }
    return -1;
  }
  const node *root = s->root;
  ctx c = {.s = s, .sets = sets, .used = calloc(sets->n + 1, 1)};
  if (!c.used) return -1;
  if (root->type != NODE_MAP) {
    add_err(s, root->line, root->col, "a spec is a mapping with ops: (and pipeline:, output:...), not %s",
            node_type_name(root->type));
    goto out;
  }
  static const char *const top[] = {"pipeline", "ops", "output", "plugin", "plugins", "vars"};
  for (size_t i = 0; i < root->nkids; i++) {
    int known = 0;
    for (size_t k = 0; k < 6; k++) known |= !strcmp(root->kids[i].key, top[k]);
    if (!known) {
      char close[256];
      closest_names(root->kids[i].key, top, 6, close, sizeof close);
      add_err(s, root->kids[i].key_line, root->kids[i].key_col, "unknown top-level key '%s'%s%s%s",
              root->kids[i].key, close[0] ? " (did you mean " : " (expected pipeline, ops, output, plugin, vars)",
              close, close[0] ? "?)" : "");
    }
  }
  c.vars = node_get(root, "vars");
  if (c.vars && c.vars->type != NODE_MAP) {
    add_err(s, c.vars->line, c.vars->col, "vars: expected a mapping NAME: value");
    c.vars = NULL;
  }
  /* Plugins first: the operators may name their kinds. */
  static const char *const pk[] = {"plugin", "plugins"};
  for (size_t k = 0; k < 2; k++) {
    const node *pl = node_get(root, pk[k]);
    if (!pl) continue;
    if (pl->type == NODE_LIST)
      for (size_t i = 0; i < pl->nkids; i++) load_plugin(&c, &pl->kids[i]);
    else
      load_plugin(&c, pl);
  }
  /* Pipeline options. */
  const node *pipe = node_get(root, "pipeline");
  if (pipe && pipe->type != NODE_MAP) {
    add_err(s, pipe->line, pipe->col, "pipeline: expected a mapping of pipeline options");
    pipe = NULL;
  }
  {
    weir_opt_value pv[32] = {{0}};
    void *ps[32] = {0};
    resolve(&c, "pipeline", "pipeline", spec_pipeline_opts, spec_num_pipeline_opts, pipe, NULL, 0, pv, ps,
            pipe ? pipe->line : 1, pipe ? pipe->col : 1);
    apply_pipeline(s, pv);
    for (size_t i = 0; i < spec_num_pipeline_opts; i++) free(ps[i]);
  }
  /* Operators. */
  const node *ops = node_get(root, "ops");
  if (!ops) {
    add_err(s, root->line, root->col, "the spec has no ops: list");
    goto out;
  }
  if (ops->type != NODE_LIST || ops->nkids == 0) {
    add_err(s, ops->line, ops->col, "ops: expected a non-empty list of operators");
    goto out;
  }
  s->nops = ops->nkids;
  s->ops = calloc(s->nops, sizeof *s->ops);
  s->order = calloc(s->nops, sizeof *s->order);
  if (!s->ops || !s->order) goto out;
  for (size_t i = 0; i < s->nops; i++) {
    s->ops[i].n = &ops->kids[i];
    s->ops[i].first_index = s->ops[i].last_index = -1;
    load_op(&c, &s->ops[i], i);
  }
  for (size_t i = 0; i < s->nops; i++)
    if (s->ops[i].n->type == NODE_MAP) read_inputs(s, &s->ops[i]);
  {
    int *color = calloc(s->nops, sizeof *color), *stack = calloc(s->nops + 1, sizeof *stack);
    size_t norder = 0;
    int cyc = 0;
    if (color && stack)
      for (size_t i = 0; i < s->nops && !cyc; i++)
        cyc = visit(s, (int)i, color, stack, 0, s->order, &norder) != 0;
    free(color);
    free(stack);
  }
  const node *out = node_get(root, "output");
  if (out) {
    if (out->type != NODE_SCALAR) {
      add_err(s, out->line, out->col, "output: expected an operator name");
    } else if ((s->output = find_op(s, out->text)) < 0) {
      dangling(s, out);
    }
  }
  /* --set items that matched nothing are mistakes, not silence. */
  for (size_t i = 0; i < sets->n; i++) {
    const char *it = sets->items[i], *eq = strchr(it, '=');
    if (c.used[i] || !eq) continue;
    const char *dot = memchr(it, '.', (size_t)(eq - it));
    if (!dot) continue; /* a variable the spec does not use: harmless */
    char owner[256];
    snprintf(owner, sizeof owner, "%.*s", (int)(dot - it), it);
    if (strcmp(owner, "pipeline") && find_op(s, owner) < 0)
      add_err(s, 0, 0, "--set %s: no operator named '%s' in the spec", it, owner);
    else
      add_err(s, 0, 0, "--set %s: '%s' has no option '%.*s' (see `weir ops`)", it, owner,
              (int)(eq - dot - 1), dot + 1);
  }
out:
  free(c.used);
  sort_errors(s);
  return s->nerrors ? -1 : 0;
}

void spec_free(spec *s) {
  for (size_t i = 0; i < s->nops; i++) {
    spec_op *o = &s->ops[i];
    if (o->storage && o->kind)
      for (size_t k = 0; k < o->kind->num_options; k++) free(o->storage[k]);
    free(o->storage);
    free(o->values);
    free(o->inputs);
  }
  free(s->ops);
  free(s->order);
  for (size_t i = 0; i < s->nerrors; i++) free(s->errors[i]);
  free(s->errors);
  free(s->spill_dir);
  node_free(s->root);
  memset(s, 0, sizeof *s);
}

int spec_build(spec *s, weir_pipeline **out, char *err, size_t errlen) {
  weir_pipeline *p = NULL;
  int rc = weir_pipeline_create(&p, &s->popts);
  if (rc != WEIR_OK) {
    snprintf(err, errlen, "%s: pipeline options: %s", s->path, weir_last_errmsg());
    return rc;
  }
  for (size_t k = 0; k < s->nops; k++) {
    spec_op *o = &s->ops[s->order[k]];
    weir_op *ins[256];
    if (o->ninputs > 256) {
      snprintf(err, errlen, "%s:%d:%d: operator '%s' has more than 256 inputs", s->path, o->line,
               o->col, o->name);
      weir_pipeline_destroy(p);
      return WEIR_EINVAL;
    }
    for (size_t i = 0; i < o->ninputs; i++) ins[i] = s->ops[o->inputs[i]].op;
    weir_op_args a = {o->name, ins, o->ninputs, o->values, o->kind->num_options};
    int before = weir_pipeline_num_ops(p);
    weir_set_last_errmsg(NULL);
    o->op = o->kind->build(p, &a, o->kind->user);
    if (!o->op) {
      const char *why = weir_pipeline_errmsg(p);
      rc = weir_pipeline_errcode(p);
      if (!why || !why[0]) why = weir_last_errmsg();
      if (rc == WEIR_OK) rc = WEIR_EINVAL;
      snprintf(err, errlen, "%s:%d:%d: operator '%s' (%s): %s", s->path, o->line, o->col,
               o->name, o->kind->name, why && why[0] ? why : weir_strerror(rc));
      weir_pipeline_destroy(p);
      return rc;
    }
    o->first_index = before;
    o->last_index = weir_pipeline_num_ops(p) - 1;
  }
  *out = p;
  return WEIR_OK;
}
