/* The registry of operator kinds, and the loading of plugins that add to
 * it (weir/plugin.h). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/plugin.h"

struct weir_op_kinds {
  weir_op_kind *kinds;
  size_t n, cap;
  void **libs;               /* dlopen handles, closed on destroy */
  size_t nlibs;
};

int weir_op_kinds_create(weir_op_kinds **out) {
  if (!out) {
    weir_set_last_errmsg("weir_op_kinds_create: out is NULL");
    return WEIR_EINVAL;
  }
  *out = calloc(1, sizeof **out);
  return *out ? WEIR_OK : WEIR_ENOMEM;
}

void weir_op_kinds_destroy(weir_op_kinds *k) {
  if (!k) return;
  free(k->kinds);
  /* Kinds point into the libraries' data: close them last. */
  for (size_t i = k->nlibs; i-- > 0;) dlclose(k->libs[i]);
  free(k->libs);
  free(k);
}

static int valid_name(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
      return 0;
  return 1;
}

static int check_kind(const weir_op_kind *kind) {
  if (!valid_name(kind->name)) {
    weir_set_last_errmsg("operator kind name '%s' is not made of [a-z0-9_.]",
                         kind->name ? kind->name : "(null)");
    return WEIR_EINVAL;
  }
  if (!kind->build) {
    weir_set_last_errmsg("operator kind '%s' has no build function", kind->name);
    return WEIR_EINVAL;
  }
  if (kind->min_inputs < 0 || (kind->max_inputs >= 0 && kind->max_inputs < kind->min_inputs)) {
    weir_set_last_errmsg("operator kind '%s': inputs %d..%d make no sense", kind->name,
                         kind->min_inputs, kind->max_inputs);
    return WEIR_EINVAL;
  }
  if (kind->num_options && !kind->options) {
    weir_set_last_errmsg("operator kind '%s': %zu options but no table", kind->name,
                         kind->num_options);
    return WEIR_EINVAL;
  }
  for (size_t i = 0; i < kind->num_options; i++) {
    const weir_opt_def *d = &kind->options[i];
    if (!valid_name(d->name)) {
      weir_set_last_errmsg("operator kind '%s': option %zu has no valid name", kind->name, i);
      return WEIR_EINVAL;
    }
    if (d->type < WEIR_OPT_BOOL || d->type > WEIR_OPT_FLOAT_LIST) {
      weir_set_last_errmsg("operator kind '%s': option '%s' has an unknown type %d",
                           kind->name, d->name, d->type);
      return WEIR_EINVAL;
    }
    if (d->type == WEIR_OPT_ENUM && (!d->choices || !*d->choices)) {
      weir_set_last_errmsg("operator kind '%s': enum option '%s' has no choices",
                           kind->name, d->name);
      return WEIR_EINVAL;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(kind->options[j].name, d->name) == 0) {
        weir_set_last_errmsg("operator kind '%s': option '%s' twice", kind->name, d->name);
        return WEIR_EINVAL;
      }
    if (d->default_value) {
      weir_opt_value v;
      void *storage;
      int rc = weir_opt_parse(d, d->default_value, &v, &storage);
      free(storage);
      if (rc != WEIR_OK) {
        char why[256];
        strncpy(why, weir_last_errmsg(), sizeof why - 1);
        why[sizeof why - 1] = '\0';
        weir_set_last_errmsg("operator kind '%s': default of option '%s': %s", kind->name,
                             d->name, why);
        return rc;
      }
    }
  }
  return WEIR_OK;
}

int weir_op_kinds_add(weir_op_kinds *k, const weir_op_kind *kind) {
  if (!k || !kind) {
    weir_set_last_errmsg("weir_op_kinds_add: NULL argument");
    return WEIR_EINVAL;
  }
  if (kind->version != WEIR_OP_KIND_VERSION) {
    weir_set_last_errmsg("operator kind '%s': version %u, expected %d",
                         kind->name ? kind->name : "(null)", kind->version, WEIR_OP_KIND_VERSION);
    return WEIR_EINVAL;
  }
  int rc = check_kind(kind);
  if (rc != WEIR_OK) return rc;
  if (weir_op_kinds_find(k, kind->name)) {
    weir_set_last_errmsg("operator kind '%s' is already defined", kind->name);
    return WEIR_EINVAL;
  }
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 64;
    weir_op_kind *nk = realloc(k->kinds, cap * sizeof *nk);
    if (!nk) return WEIR_ENOMEM;
    k->kinds = nk;
    k->cap = cap;
  }
  k->kinds[k->n++] = *kind;
  return WEIR_OK;
}

size_t weir_op_kinds_count(const weir_op_kinds *k) { return k ? k->n : 0; }

const weir_op_kind *weir_op_kinds_get(const weir_op_kinds *k, size_t i) {
  return k && i < k->n ? &k->kinds[i] : NULL;
}

const weir_op_kind *weir_op_kinds_find(const weir_op_kinds *k, const char *name) {
  if (!k || !name) return NULL;
  for (size_t i = 0; i < k->n; i++)
    if (strcmp(k->kinds[i].name, name) == 0) return &k->kinds[i];
  return NULL;
}

int weir_op_kinds_load_plugin(weir_op_kinds *k, const char *path) {
  if (!k || !path) {
    weir_set_last_errmsg("weir_op_kinds_load_plugin: NULL argument");
    return WEIR_EINVAL;
  }
  void **libs = realloc(k->libs, (k->nlibs + 1) * sizeof *libs);
  if (!libs) return WEIR_ENOMEM;
  k->libs = libs;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    weir_set_last_errmsg("plugin '%s': %s", path, dlerror());
    return WEIR_ENOTFOUND;
  }
  weir_plugin_init_fn init;
  /* The standard way to turn dlsym's object pointer into a function one. */
  *(void **)&init = dlsym(h, WEIR_PLUGIN_INIT_SYMBOL);
  if (!init) {
    weir_set_last_errmsg("plugin '%s' has no %s function", path, WEIR_PLUGIN_INIT_SYMBOL);
    dlclose(h);
    return WEIR_ENOTFOUND;
  }
  /* Kept before init runs: kinds it adds point into it even if it fails. */
  k->libs[k->nlibs++] = h;
  weir_set_last_errmsg(NULL);
  int rc = init(k);
  if (rc != WEIR_OK) {
    char why[512];
    strncpy(why, weir_last_errmsg(), sizeof why - 1);
    why[sizeof why - 1] = '\0';
    weir_set_last_errmsg("plugin '%s': %s failed: %s", path, WEIR_PLUGIN_INIT_SYMBOL,
                         why[0] ? why : weir_strerror(rc));
    return rc < 0 ? rc : WEIR_EINVAL;
  }
  return WEIR_OK;
}
