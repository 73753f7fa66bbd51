/* A small JSON document reader for tokenizer.json and tokenizer_config.json:
 * the whole text parsed into one array of nodes, strings unescaped. */
#ifndef WEIR_TEXT_TOKENIZER_JSON_H
#define WEIR_TEXT_TOKENIZER_JSON_H

#include <stddef.h>
#include <stdint.h>

enum { TJ_NULL, TJ_FALSE, TJ_TRUE, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

typedef struct tj_node {
  int type;
  uint32_t n;          /* ARR/OBJ: children */
  uint32_t first;      /* index of the first child (0 = none) */
  uint32_t next;       /* index of the next sibling (0 = none) */
  const char *key;     /* member of an object: its key (NUL-terminated) */
  uint32_t key_len;
  const char *s;       /* STR: the unescaped bytes (NUL-terminated) */
  size_t len;
  double num;          /* NUM */
} tj_node;

typedef struct tj_doc {
  tj_node *nodes;      /* nodes[0] is unused; the root is nodes[1] */
  size_t n, cap;
  char *strs;          /* unescaped strings and keys */
  size_t strs_len;
  char err[160];       /* why parsing failed, with the byte offset */
} tj_doc;

/* Parses text[0..len). Returns 0, -1 on malformed input (doc->err says
 * where), -2 when out of memory. */
int  weir__tj_parse(tj_doc *doc, const char *text, size_t len);
void weir__tj_free(tj_doc *doc);

static inline const tj_node *weir__tj_root(const tj_doc *d) { return d->n > 1 ? &d->nodes[1] : NULL; }
/* The member `key` of an object, or NULL (also when `o` is no object). */
const tj_node *weir__tj_get(const tj_doc *d, const tj_node *o, const char *key);
static inline const tj_node *weir__tj_child(const tj_doc *d, const tj_node *n) {
  return n && n->first ? &d->nodes[n->first] : NULL;
}
static inline const tj_node *weir__tj_next(const tj_doc *d, const tj_node *n) {
  return n->next ? &d->nodes[n->next] : NULL;
}
/* Typed reads of a member, with a default when it is missing or null. */
const char *weir__tj_str(const tj_doc *d, const tj_node *o, const char *key, size_t *len);
int  weir__tj_bool(const tj_doc *d, const tj_node *o, const char *key, int dflt);
int  weir__tj_is_null(const tj_node *n);

#endif
