/* The parsed spec file: a tree of maps, lists and scalars, each node with
 * the line and column it starts at, so that every error can name them. */
#ifndef WEIR_CLI_NODE_H
#define WEIR_CLI_NODE_H

#include <stddef.h>

enum { NODE_SCALAR = 1, NODE_MAP, NODE_LIST };

typedef struct node node;
struct node {
  int    type;
  int    line, col;          /* 1-based */
  int    quoted;             /* scalar written in quotes */
  char  *text;               /* scalar text; map key of a map entry */
  node  *kids;               /* map entries / list items, in order */
  size_t nkids, cap;
  char  *key;                /* set on a map's child: its key */
  int    key_line, key_col;
};

/* Limits that keep a hostile spec from exhausting memory or the stack. */
#define SPEC_MAX_BYTES (16u << 20)
#define SPEC_MAX_DEPTH 64

/* Parses `path` (YAML, or JSON, which libyaml reads as flow YAML). On
 * failure returns NULL and writes "file:line:col: message" to err. */
node *node_load_file(const char *path, char *err, size_t errlen);
node *node_load_string(const char *name, const char *text, size_t len, char *err,
                       size_t errlen);
void  node_free(node *n);
/* The child of map `n` with key `key`, or NULL. */
const node *node_get(const node *n, const char *key);
const char *node_type_name(int type);

#endif
