/* Zero-copy export of blocks as Arrow C Data Interface struct arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/arrow_internal.h"

/* ---- Arrays ------------------------------------------------------------
 * Every ArrowArray node (the struct, each column, each tensor's values)
 * has its own private data holding its own buffer references, because the
 * spec lets a consumer move a child out and release it long after (or
 * before) its parent. The child structs themselves live in the parent's
 * allocation: a consumer that moves a child copies the struct out first. */

typedef struct array_private {
  weir__buffer *bufs[3];
  const void *buffers[3];
  struct ArrowArray **child_ptrs;
  int64_t n_children;
} array_private;

static void release_array(struct ArrowArray *a) {
  if (!a || !a->release) return;
  array_private *p = a->private_data;
  for (int64_t i = 0; i < p->n_children; i++) {
    struct ArrowArray *child = p->child_ptrs[i];
    /* A moved child has release == NULL here; its new owner releases it. */
    if (child->release) child->release(child);
  }
  for (int i = 0; i < 3; i++) weir__buffer_unref(p->bufs[i]);
  free(p);
  a->release = NULL;
  a->private_data = NULL;
}

/* A node with `n_children` children, all zeroed (release == NULL), so
 * release_array() can run on a half-built tree. */
static array_private *array_node(struct ArrowArray *a, int64_t length,
                                 int64_t null_count, int64_t n_buffers,
                                 int64_t n_children) {
  size_t size = sizeof(array_private) +
                (size_t)n_children * (sizeof(struct ArrowArray) + sizeof(void *));
  array_private *p = calloc(1, size);
  if (!p) return NULL;
  struct ArrowArray *kids = (struct ArrowArray *)(p + 1);
  p->child_ptrs = (struct ArrowArray **)(kids + n_children);
  for (int64_t i = 0; i < n_children; i++) p->child_ptrs[i] = &kids[i];
  p->n_children = n_children;
  memset(a, 0, sizeof *a);
  a->length = length;
  a->null_count = null_count;
  a->offset = 0;
  a->n_buffers = n_buffers;
  a->n_children = n_children;
  a->buffers = p->buffers;
  a->children = n_children ? p->child_ptrs : NULL;
  a->release = release_array;
  a->private_data = p;
  return p;
}

static void hold(array_private *p, int i, weir__buffer *buf, const void *ptr) {
  p->bufs[i] = weir__buffer_ref(buf);
  p->buffers[i] = ptr;
}

/* Number of elements in one tensor row, or -1 if it does not fit the int32
 * list size that Arrow's FixedSizeList carries. */
static int64_t tensor_row_elems(const weir__column *col) {
  int64_t n = 1;
  for (int d = 0; d < col->ndim; d++) {
    if (col->shape[d] != 0 && n > INT32_MAX / col->shape[d]) return -1;
    n *= col->shape[d];
  }
  return n;
}

static int export_column_array(const weir__column *col, struct ArrowArray *a) {
  int64_t len = (int64_t)col->length;
  int64_t nulls = (int64_t)col->null_count;
  const uint8_t *validity = nulls ? col->validity : NULL;
  weir__buffer *validity_buf = nulls ? col->validity_buf : NULL;
  array_private *p;

  switch (col->type) {
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
    /* offsets[0] of a slice is not 0; Arrow allows that, and the data
     * pointer stays the base the offsets count from. */
    if (!(p = array_node(a, len, nulls, 3, 0))) return WEIR_ENOMEM;
    hold(p, 0, validity_buf, validity);
    hold(p, 1, col->offsets_buf, col->offsets);
    hold(p, 2, col->data_buf, col->data);
    return WEIR_OK;
  case WEIR_TYPE_LIST: {
    /* A large_list whose child is every element up to the last row's end:
     * the offsets count from the data pointer, as a slice's do. */
    if (!(p = array_node(a, len, nulls, 2, 1))) return WEIR_ENOMEM;
    hold(p, 0, validity_buf, validity);
    hold(p, 1, col->offsets_buf, col->offsets);
    array_private *cp = array_node(p->child_ptrs[0], col->offsets[col->length], 0, 2, 0);
    if (!cp) {
      release_array(a);
      return WEIR_ENOMEM;
    }
    hold(cp, 1, col->data_buf, col->data);
    return WEIR_OK;
  }
  case WEIR_TYPE_TENSOR: {
    int64_t per_row = tensor_row_elems(col);
    if (!(p = array_node(a, len, nulls, 1, 1))) return WEIR_ENOMEM;
    hold(p, 0, validity_buf, validity);
    array_private *cp = array_node(p->child_ptrs[0], len * per_row, 0, 2, 0);
    if (!cp) {
      release_array(a);
      return WEIR_ENOMEM;
    }
    hold(cp, 1, col->data_buf, col->data);
    return WEIR_OK;
  }
  default:
    /* BOOL and the fixed-width numbers: validity and values. weir keeps
     * every bitmap starting at bit 0, so the offset is always 0. */
    if (!(p = array_node(a, len, nulls, 2, 0))) return WEIR_ENOMEM;
    hold(p, 0, validity_buf, validity);
    hold(p, 1, col->data_buf, col->data);
    return WEIR_OK;
  }
}

static int export_array(const weir_block *b, struct ArrowArray *out) {
  struct ArrowArray root;
  array_private *p = array_node(&root, (int64_t)b->num_rows, 0, 1,
                                (int64_t)b->num_columns);
  if (!p) return WEIR_ENOMEM;
  for (size_t i = 0; i < b->num_columns; i++) {
    if (export_column_array(&b->cols[i], p->child_ptrs[i]) != WEIR_OK) {
      release_array(&root);
      return WEIR_ENOMEM;
    }
  }
  *out = root;
  return WEIR_OK;
}

/* ---- Schemas ----------------------------------------------------------- */

typedef struct schema_private {
  char format[24];
  char *name;
  char *metadata;
  struct ArrowSchema **child_ptrs;
  int64_t n_children;
} schema_private;

static void release_schema(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  schema_private *p = s->private_data;
  for (int64_t i = 0; i < p->n_children; i++) {
    struct ArrowSchema *child = p->child_ptrs[i];
    if (child->release) child->release(child);
  }
  free(p->name);
  free(p->metadata);
  free(p);
  s->release = NULL;
  s->private_data = NULL;
}

static schema_private *schema_node(struct ArrowSchema *s, const char *format,
                                   const char *name, int64_t n_children) {
  size_t size = sizeof(schema_private) +
                (size_t)n_children * (sizeof(struct ArrowSchema) + sizeof(void *));
  schema_private *p = calloc(1, size);
  if (!p) return NULL;
  struct ArrowSchema *kids = (struct ArrowSchema *)(p + 1);
  p->child_ptrs = (struct ArrowSchema **)(kids + n_children);
  for (int64_t i = 0; i < n_children; i++) p->child_ptrs[i] = &kids[i];
  p->n_children = n_children;
  /* Formats are short literals or "+w:N"; memcpy beats snprintf here,
   * and export is meant to cost next to nothing per column. */
  size_t flen = strlen(format);
  if (flen >= sizeof p->format) flen = sizeof p->format - 1;
  memcpy(p->format, format, flen);
  p->name = strdup(name);
  if (!p->name) {
    free(p);
    return NULL;
  }
  memset(s, 0, sizeof *s);
  s->format = p->format;
  s->name = p->name;
  s->flags = ARROW_FLAG_NULLABLE;
  s->n_children = n_children;
  s->children = n_children ? p->child_ptrs : NULL;
  s->release = release_schema;
  s->private_data = p;
  return p;
}

static int export_column_schema(const weir__column *col, struct ArrowSchema *s) {
  if (col->type == WEIR_TYPE_LIST) {
    schema_private *p = schema_node(s, "+L", col->name, 1);
    if (!p) return WEIR_ENOMEM;
    if (!schema_node(p->child_ptrs[0], weir__arrow_format_of_dtype(col->dtype), "item", 0)) {
      release_schema(s);
      return WEIR_ENOMEM;
    }
    p->child_ptrs[0]->flags = 0; /* elements are never null */
    if (col->dtype == WEIR_DTYPE_BFLOAT16) {
      /* Arrow has no bfloat16: uint16 elements, named on the field. */
      const char *key = WEIR__DTYPE_KEY, *value = "bfloat16";
      p->metadata = weir__arrow_metadata_encode(&key, &value, 1);
      if (!p->metadata) {
        release_schema(s);
        return WEIR_ENOMEM;
      }
      s->metadata = p->metadata;
    }
    return WEIR_OK;
  }
  if (col->type != WEIR_TYPE_TENSOR)
    return schema_node(s, weir__arrow_format_of_type(col->type), col->name, 0)
               ? WEIR_OK : WEIR_ENOMEM;

  char format[24];
  snprintf(format, sizeof format, "+w:%lld", (long long)tensor_row_elems(col));
  schema_private *p = schema_node(s, format, col->name, 1);
  if (!p) return WEIR_ENOMEM;
  if (!schema_node(p->child_ptrs[0], weir__arrow_format_of_dtype(col->dtype),
                   "item", 0))
    goto oom;
  char json[256];
  if (weir__tensor_meta_json(col->shape, col->ndim, col->dtype, json,
                             sizeof json) < 0)
    goto oom; /* cannot happen: 8 dimensions of 20 digits fit */
  const char *keys[3] = {WEIR__EXT_NAME_KEY, WEIR__EXT_META_KEY,
                         WEIR__DTYPE_KEY};
  const char *values[3] = {WEIR__TENSOR_EXT_NAME, json, "bfloat16"};
  p->metadata = weir__arrow_metadata_encode(
      keys, values, col->dtype == WEIR_DTYPE_BFLOAT16 ? 3 : 2);
  if (!p->metadata) goto oom;
  s->metadata = p->metadata;
  return WEIR_OK;
oom:
  release_schema(s);
  return WEIR_ENOMEM;
}

static int export_schema(const weir_block *b, struct ArrowSchema *out) {
  struct ArrowSchema root;
  schema_private *p = schema_node(&root, "+s", "", (int64_t)b->num_columns);
  if (!p) return WEIR_ENOMEM;
  root.flags = 0; /* the top-level struct of a record batch has no nulls */
  for (size_t i = 0; i < b->num_columns; i++) {
    if (export_column_schema(&b->cols[i], p->child_ptrs[i]) != WEIR_OK) {
      release_schema(&root);
      return WEIR_ENOMEM;
    }
  }
  *out = root;
  return WEIR_OK;
}

/* ---- The public entry --------------------------------------------------- */

/* Checks what would make an export wrong rather than just costly: device
 * memory the consumer could not read, and tensors too big for a
 * FixedSizeList. */
int weir__block_check_exportable(const weir_block *b) {
  for (size_t i = 0; i < b->num_columns; i++) {
    const weir__column *col = &b->cols[i];
    if (col->device != WEIR_DEVICE_CPU)
      return weir__set_last_error(WEIR_EINVAL,
          "arrow export: column '%s' lives on a CUDA device; copy it to the host first",
          col->name);
    if (col->type == WEIR_TYPE_TENSOR && tensor_row_elems(col) < 0)
      return weir__set_last_error(WEIR_EINVAL,
          "arrow export: column '%s': a tensor row has more elements than a "
          "FixedSizeList can hold (2^31 - 1)", col->name);
    if (col->type == WEIR_TYPE_LIST && !weir__arrow_format_of_dtype(col->dtype))
      return weir__set_last_error(WEIR_EINVAL,
          "arrow export: list column '%s' has unknown element dtype %d", col->name,
          col->dtype);
    if (col->type != WEIR_TYPE_TENSOR && col->type != WEIR_TYPE_LIST &&
        !weir__arrow_format_of_type(col->type))
      return weir__set_last_error(WEIR_EINVAL,
          "arrow export: column '%s' has unknown type %d", col->name, col->type);
  }
  return WEIR_OK;
}

int weir__block_export_array(const weir_block *b, struct ArrowArray *array) {
  int rc = weir__block_check_exportable(b);
  if (rc) return rc;
  if (export_array(b, array) != WEIR_OK)
    return weir__set_last_error(WEIR_ENOMEM, "arrow export: out of memory");
  return WEIR_OK;
}

int weir__block_export_schema(const weir_block *b, struct ArrowSchema *schema) {
  int rc = weir__block_check_exportable(b);
  if (rc) return rc;
  if (export_schema(b, schema) != WEIR_OK)
    return weir__set_last_error(WEIR_ENOMEM, "arrow export: out of memory");
  return WEIR_OK;
}

int weir_block_to_arrow(const weir_block *b, struct ArrowArray *array,
                        struct ArrowSchema *schema) {
  if (!b || !array)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_block_to_arrow: the block and the array must not be NULL");
  int rc = weir__block_check_exportable(b);
  if (rc) return rc;
  struct ArrowArray a;
  if (export_array(b, &a) != WEIR_OK)
    return weir__set_last_error(WEIR_ENOMEM, "arrow export: out of memory");
  if (schema) {
    struct ArrowSchema s;
    if (export_schema(b, &s) != WEIR_OK) {
      a.release(&a);
      return weir__set_last_error(WEIR_ENOMEM, "arrow export: out of memory");
    }
    *schema = s;
  }
  *array = a;
  return WEIR_OK;
}
