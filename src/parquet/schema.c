/* The Parquet schema tree as weir columns: each top-level field becomes
 * one column (a primitive, or a LIST of numbers), with its levels and the
 * conversion of its physical values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "parquet/parquet_internal.h"

/* Leaves under element `i` (itself when a leaf); `*next` the element after
 * its subtree. -1 when the tree is malformed. */
static long subtree(const pq_file_meta *m, size_t i, size_t *next, int depth) {
  if (i >= m->nschema || depth > 64) return -1;
  const pq_schema_el *e = &m->schema[i];
  if (e->has_type && e->num_children == 0) {
    *next = i + 1;
    return 1;
  }
  if (e->num_children <= 0) return -1;
  size_t j = i + 1;
  long leaves = 0;
  for (int c = 0; c < e->num_children; c++) {
    long n = subtree(m, j, &j, depth + 1);
    if (n < 0) return -1;
    leaves += n;
  }
  *next = j;
  return leaves;
}

/* The weir column of a flat (non-list) leaf. */
static int map_flat(const pq_schema_el *e, pq_leaf *l) {
  l->conv = PQC_COPY;
  switch (e->type) {
  case PQ_BOOLEAN: l->type = WEIR_TYPE_BOOL; l->conv = PQC_BOOL; return 0;
  case PQ_INT32:
    if (e->logical == PQL_DECIMAL) { l->type = WEIR_TYPE_FLOAT64; l->conv = PQC_DEC_I32; return 0; }
    if (e->logical == PQL_INT && !e->int_signed && e->int_bits == 32) {
      l->type = WEIR_TYPE_INT64;
      l->conv = PQC_U32_I64;
      return 0;
    }
    l->type = WEIR_TYPE_INT32;
    return 0;
  case PQ_INT64:
    if (e->logical == PQL_DECIMAL) { l->type = WEIR_TYPE_FLOAT64; l->conv = PQC_DEC_I64; return 0; }
    l->type = WEIR_TYPE_INT64;
    return 0;
  case PQ_INT96: l->type = WEIR_TYPE_INT64; l->conv = PQC_INT96_NS; return 0;
  case PQ_FLOAT: l->type = WEIR_TYPE_FLOAT32; return 0;
  case PQ_DOUBLE: l->type = WEIR_TYPE_FLOAT64; return 0;
  case PQ_BYTE_ARRAY:
    if (e->logical == PQL_DECIMAL) { l->type = WEIR_TYPE_FLOAT64; l->conv = PQC_DEC_BYTES; return 0; }
    l->type = e->logical == PQL_STRING || e->logical == PQL_ENUM || e->logical == PQL_JSON
                  ? WEIR_TYPE_STRING : WEIR_TYPE_BINARY;
    l->conv = PQC_BYTES;
    return 0;
  case PQ_FIXED:
    if (e->logical == PQL_DECIMAL) { l->type = WEIR_TYPE_FLOAT64; l->conv = PQC_DEC_BYTES; return 0; }
    if (e->logical == PQL_FLOAT16 && e->type_length == 2) {
      l->type = WEIR_TYPE_FLOAT32;
      l->conv = PQC_F16_F32;
      return 0;
    }
    l->type = WEIR_TYPE_BINARY;
    l->conv = PQC_BYTES;
    return 0;
  default: return -1;
  }
}

/* The element dtype of a list leaf, 0 when weir's lists cannot hold it. */
static int map_elem(const pq_schema_el *e) {
  int isint = e->logical == PQL_INT;
  switch (e->type) {
  case PQ_INT32:
    if (e->logical == PQL_DECIMAL) return 0;
    if (isint && e->int_bits == 8) return e->int_signed ? WEIR_DTYPE_INT8 : WEIR_DTYPE_UINT8;
    if (isint && e->int_bits == 16) return e->int_signed ? WEIR_DTYPE_INT16 : WEIR_DTYPE_UINT16;
    if (isint && !e->int_signed) return WEIR_DTYPE_UINT32;
    return WEIR_DTYPE_INT32;
  case PQ_INT64:
    if (e->logical == PQL_DECIMAL) return 0;
    return isint && !e->int_signed ? WEIR_DTYPE_UINT64 : WEIR_DTYPE_INT64;
  case PQ_FLOAT: return WEIR_DTYPE_FLOAT32;
  case PQ_DOUBLE: return WEIR_DTYPE_FLOAT64;
  case PQ_FIXED:
    return e->logical == PQL_FLOAT16 && e->type_length == 2 ? WEIR_DTYPE_FLOAT16 : 0;
  default: return 0;
  }
}

static int wanted(const char *name, const char *const *keep, size_t nkeep) {
  if (!keep) return 1;
  for (size_t i = 0; i < nkeep; i++)
    if (strcmp(keep[i], name) == 0) return 1;
  return 0;
}

static int leaf_check(const pq_schema_el *e, char *err, size_t errlen, const char *name) {
  if (e->type == PQ_FIXED && (e->type_length <= 0 || e->type_length > (1 << 20))) {
    snprintf(err, errlen, "column '%s': FIXED_LEN_BYTE_ARRAY of length %d", name,
             e->type_length);
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

int weir__pq_leaves(const pq_file_meta *m, const char *const *keep, size_t nkeep,
                    pq_leaf **out, size_t *n, char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  const pq_schema_el *root = &m->schema[0];
  pq_leaf *ls = calloc((size_t)(root->num_children > 0 ? root->num_children : 1), sizeof *ls);
  if (!ls) return WEIR_ENOMEM;
  size_t i = 1, chunk = 0, nl = 0;
  int rc = WEIR_OK;
  for (int f = 0; f < root->num_children && rc == WEIR_OK; f++) {
    size_t next;
    long leaves = subtree(m, i, &next, 0);
    if (leaves < 0) {
      snprintf(err, errlen, "corrupt footer: the schema tree is malformed");
      rc = WEIR_EFORMAT;
      break;
    }
    const pq_schema_el *e = &m->schema[i];
    if (!wanted(e->name, keep, nkeep)) {
      chunk += (size_t)leaves;
      i = next;
      continue;
    }
    pq_leaf *l = &ls[nl];
    l->name = e->name;
    int d = e->repetition != PQ_REQUIRED;
    if (e->has_type && e->num_children == 0) {
      /* A primitive; a repeated one is a legacy list of it. */
      rc = leaf_check(e, err, errlen, e->name);
      if (rc) break;
      l->schema_idx = i;
      l->phys = e->type;
      l->flba = e->type_length;
      if (e->repetition == PQ_REPEATED) {
        l->is_list = 1;
        l->def_list = 0;
        l->def_rep = 1;
        l->max_def = 1;
        l->max_rep = 1;
      } else {
        l->max_def = d;
        if (map_flat(e, l)) rc = WEIR_EFORMAT;
      }
    } else if (e->logical == PQL_LIST && e->num_children == 1 && leaves == 1 &&
               m->schema[i + 1].repetition == PQ_REPEATED) {
      const pq_schema_el *rep = &m->schema[i + 1];
      size_t leaf_at = i + 1;
      int max_def = d + 1;
      if (!(rep->has_type && rep->num_children == 0)) {
        /* Three levels: the repeated group holds the element. */
        if (rep->num_children != 1 || !m->schema[i + 2].has_type ||
            m->schema[i + 2].num_children != 0) {
          snprintf(err, errlen, "column '%s' is a list of structs, which weir does not "
                   "read (choose other columns with `columns`)", e->name);
          rc = WEIR_ENOTSUP;
          break;
        }
        leaf_at = i + 2;
        if (m->schema[leaf_at].repetition == PQ_OPTIONAL) max_def++;
        if (m->schema[leaf_at].repetition == PQ_REPEATED) {
          snprintf(err, errlen, "column '%s' is a list of lists, which weir does not read",
                   e->name);
          rc = WEIR_ENOTSUP;
          break;
        }
      }
      rc = leaf_check(&m->schema[leaf_at], err, errlen, e->name);
      if (rc) break;
      l->schema_idx = leaf_at;
      l->phys = m->schema[leaf_at].type;
      l->flba = m->schema[leaf_at].type_length;
      l->is_list = 1;
      l->def_list = d;
      l->def_rep = d + 1;
      l->max_def = max_def;
      l->max_rep = 1;
    } else {
      snprintf(err, errlen, "column '%s' is a %s, which weir does not read (it holds "
               "lists of numbers and flat columns; choose other columns with `columns`)",
               e->name, e->logical == PQL_MAP || e->logical == PQL_MAP_KEY_VALUE ? "map"
                        : e->logical == PQL_LIST ? "nested list" : "struct");
      rc = WEIR_ENOTSUP;
      break;
    }
    if (l->is_list) {
      l->type = WEIR_TYPE_LIST;
      l->dtype = map_elem(&m->schema[l->schema_idx]);
      l->conv = PQC_COPY;
      const pq_schema_el *el = &m->schema[l->schema_idx];
      if (!l->dtype && (el->type == PQ_BOOLEAN ||
                        (el->type == PQ_BYTE_ARRAY && (el->logical == PQL_STRING ||
                                                       el->logical == PQL_ENUM ||
                                                       el->logical == PQL_JSON)))) {
        /* Not a weir list (its elements are numbers): the JSON text of the
         * array, as the JSONL reader keeps arrays; null elements are null. */
        l->type = WEIR_TYPE_STRING;
        l->conv = PQC_LIST_JSON;
      } else if (!l->dtype) {
        snprintf(err, errlen, "column '%s' is a list of %s; weir reads lists of numbers, strings "
                 "and booleans only",
                 e->name, m->schema[l->schema_idx].type == PQ_BYTE_ARRAY ? "bytes"
                                                                         : "that type");
        rc = WEIR_ENOTSUP;
        break;
      }
    }
    l->scale = m->schema[l->schema_idx].scale;
    l->chunk_idx = chunk;
    chunk += (size_t)leaves;
    i = next;
    nl++;
  }
  if (rc == WEIR_OK) {
    /* Every row group must have a chunk for each leaf, of its type. */
    for (size_t r = 0; r < m->nrgs && rc == WEIR_OK; r++) {
      if (m->rgs[r].nchunks != chunk) {
        snprintf(err, errlen, "corrupt footer: row group %zu has %zu column chunks, the "
                 "schema %zu", r, m->rgs[r].nchunks, chunk);
        rc = WEIR_EFORMAT;
      }
      for (size_t k = 0; k < nl && rc == WEIR_OK; k++)
        if (m->rgs[r].chunks[ls[k].chunk_idx].type != ls[k].phys) {
          snprintf(err, errlen, "corrupt footer: row group %zu, column '%s': the chunk's "
                   "type differs from the schema's", r, ls[k].name);
          rc = WEIR_EFORMAT;
        }
    }
  }
  if (rc) {
    free(ls);
    return rc;
  }
  *out = ls;
  *n = nl;
  return WEIR_OK;
}
