/* Reads a spec file into a node tree with libyaml's event parser (no
 * recursion, so depth is checked, not blown). */
#include "cli/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

const char *node_type_name(int type) {
  return type == NODE_MAP ? "a mapping" : type == NODE_LIST ? "a list" : "a scalar";
}

static void free_kids(node *n) {
  for (size_t i = 0; i < n->nkids; i++) {
    free_kids(&n->kids[i]);
    free(n->kids[i].text);
    free(n->kids[i].key);
  }
  free(n->kids);
}

void node_free(node *n) {
  if (!n) return;
  free_kids(n);
  free(n->text);
  free(n->key);
  free(n);
}

const node *node_get(const node *n, const char *key) {
  if (!n || n->type != NODE_MAP) return NULL;
  for (size_t i = 0; i < n->nkids; i++)
    if (strcmp(n->kids[i].key, key) == 0) return &n->kids[i];
  return NULL;
}

/* The builder's stack: each open map or list, and for a map the key read
 * but not yet given a value. */
typedef struct frame {
  node *n;
  char *pending_key;
  int   key_line, key_col;
} frame;

typedef struct loader {
  const char *name;
  char *err;
  size_t errlen;
  frame stack[SPEC_MAX_DEPTH + 1];
  int depth;
  node *root;
} loader;

static int failf(loader *L, int line, int col, const char *msg) {
  snprintf(L->err, L->errlen, "%s:%d:%d: %s", L->name, line, col, msg);
  return -1;
}

/* Adds `tmpl` as the next value of the open container; returns the stored
 * node (which moves when a later sibling grows the array, so it is only
 * used at once). */
static node *add_value(loader *L, node *tmpl) {
  if (L->depth == 0) {
    node *root = malloc(sizeof *root);
    if (!root) return NULL;
    *root = *tmpl;
    L->root = root;
    return root;
  }
  frame *f = &L->stack[L->depth - 1];
  node *parent = f->n;
  if (parent->type == NODE_MAP && !f->pending_key) {
    /* a key: must be a scalar */
    return NULL;
  }
  if (parent->nkids == parent->cap) {
    size_t cap = parent->cap ? 2 * parent->cap : 4;
    node *k = realloc(parent->kids, cap * sizeof *k);
    if (!k) return NULL;
    parent->kids = k;
    parent->cap = cap;
  }
  node *slot = &parent->kids[parent->nkids++];
  *slot = *tmpl;
  if (parent->type == NODE_MAP) {
    slot->key = f->pending_key;
    slot->key_line = f->key_line;
    slot->key_col = f->key_col;
    f->pending_key = NULL;
  }
  return slot;
}

static int on_scalar(loader *L, yaml_event_t *e) {
  int line = (int)e->start_mark.line + 1, col = (int)e->start_mark.column + 1;
  const char *v = (const char *)e->data.scalar.value;
  if (L->depth > 0) {
    frame *f = &L->stack[L->depth - 1];
    if (f->n->type == NODE_MAP && !f->pending_key) {
      for (size_t i = 0; i < f->n->nkids; i++)
        if (strcmp(f->n->kids[i].key, v) == 0) {
          char msg[300];
          snprintf(msg, sizeof msg, "key '%.200s' appears twice in this mapping (first at line %d)",
                   v, f->n->kids[i].key_line);
          return failf(L, line, col, msg);
        }
      f->pending_key = strdup(v);
      f->key_line = line;
      f->key_col = col;
      return f->pending_key ? 0 : failf(L, line, col, "out of memory");
    }
  }
  node t = {0};
  t.type = NODE_SCALAR;
  t.line = line;
  t.col = col;
  t.quoted = e->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
             e->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  t.text = strdup(v);
  if (!t.text || !add_value(L, &t)) {
    free(t.text);
    return failf(L, line, col, "out of memory");
  }
  return 0;
}

static int on_open(loader *L, yaml_event_t *e, int type) {
  int line = (int)e->start_mark.line + 1, col = (int)e->start_mark.column + 1;
  if (L->depth >= SPEC_MAX_DEPTH) {
    char msg[120];
    snprintf(msg, sizeof msg, "nesting deeper than %d levels", SPEC_MAX_DEPTH);
    return failf(L, line, col, msg);
  }
  if (L->depth > 0) {
    frame *f = &L->stack[L->depth - 1];
    if (f->n->type == NODE_MAP && !f->pending_key)
      return failf(L, line, col, "a mapping key must be a plain value, not a mapping or list");
  }
  node t = {0};
  t.type = type;
  t.line = line;
  t.col = col;
  node *n = add_value(L, &t);
  if (!n) return failf(L, line, col, "out of memory");
  L->stack[L->depth].n = n;
  L->stack[L->depth].pending_key = NULL;
  L->depth++;
  return 0;
}

/* Children were stored in the parent's growing array, so pointers to open
 * containers stay valid only because a container is closed before its
 * parent gets another child: the stack holds a pointer into the parent's
 * array, and nothing is appended to that array while the child is open. */
static void on_close(loader *L) {
  L->depth--;
  free(L->stack[L->depth].pending_key);
}

static node *load(loader *L, yaml_parser_t *parser) {
  yaml_event_t e;
  int docs = 0;
  for (;;) {
    if (!yaml_parser_parse(parser, &e)) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s%s%s", parser->problem ? parser->problem : "malformed",
               parser->context ? " " : "", parser->context ? parser->context : "");
      failf(L, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1, msg);
      goto fail;
    }
    int rc = 0, line = (int)e.start_mark.line + 1, col = (int)e.start_mark.column + 1;
    switch (e.type) {
    case YAML_STREAM_END_EVENT:
      yaml_event_delete(&e);
      if (!L->root) {
        failf(L, 1, 1, "the file is empty");
        goto fail;
      }
      return L->root;
    case YAML_DOCUMENT_START_EVENT:
      if (++docs > 1) rc = failf(L, line, col, "more than one YAML document in a spec");
      break;
    case YAML_ALIAS_EVENT:
      rc = failf(L, line, col, "YAML aliases (*name) are not allowed in a spec");
      break;
    case YAML_SCALAR_EVENT:
      if (e.data.scalar.anchor)
        rc = failf(L, line, col, "YAML anchors (&name) are not allowed in a spec");
      else
        rc = on_scalar(L, &e);
      break;
    case YAML_SEQUENCE_START_EVENT:
      if (e.data.sequence_start.anchor)
        rc = failf(L, line, col, "YAML anchors (&name) are not allowed in a spec");
      else
        rc = on_open(L, &e, NODE_LIST);
      break;
    case YAML_MAPPING_START_EVENT:
      if (e.data.mapping_start.anchor)
        rc = failf(L, line, col, "YAML anchors (&name) are not allowed in a spec");
      else
        rc = on_open(L, &e, NODE_MAP);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      on_close(L);
      break;
    default:
      break;
    }
    yaml_event_delete(&e);
    if (rc) goto fail;
  }
fail:
  while (L->depth > 0) on_close(L);
  node_free(L->root);
  L->root = NULL;
  return NULL;
}

node *node_load_string(const char *name, const char *text, size_t len, char *err,
                       size_t errlen) {
  loader L = {.name = name, .err = err, .errlen = errlen};
  if (len > SPEC_MAX_BYTES) {
    snprintf(err, errlen, "%s: %zu bytes is larger than a spec may be (%u MiB)", name, len,
             SPEC_MAX_BYTES >> 20);
    return NULL;
  }
  if (memchr(text, '\0', len)) {
    snprintf(err, errlen, "%s: contains a NUL byte; a spec is text", name);
    return NULL;
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, errlen, "%s: out of memory", name);
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  node *root = load(&L, &parser);
  yaml_parser_delete(&parser);
  return root;
}

node *node_load_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %m", path);
    return NULL;
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len == cap) {
      if (cap > SPEC_MAX_BYTES) break;
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf) {
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  if (bad) {
    free(buf);
    snprintf(err, errlen, "%s: read error", path);
    return NULL;
  }
  node *root = node_load_string(path, buf, len, err, errlen);
  free(buf);
  return root;
}
