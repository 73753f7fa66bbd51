/* weir_repartition_by_key: rows grouped by the partition that owns the
 * hash of their key. In one process a partition is a group of output
 * blocks; the hash is fixed (FNV-1a 64 and a final mix) so that the same
 * key lands in the same partition on every rank and every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "exec/repartition.h"
#include "weir/dist.h"
#include "weir/error.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
/* A null hashes as no bytes from another start, so it differs from "". */
#define NULL_SEED 0x84222325cbf29ce4ull

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV_PRIME;
  }
  return h;
}

/* FNV's low bits mix poorly; this finaliser (MurmurHash3's) spreads them
 * before the modulo. */
static uint64_t avalanche(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static void le64(uint64_t v, unsigned char out[8]) {
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
}

/* The hash of row `r` of `c`; 0 with *ok = 0 for a type without keys. */
static uint64_t key_hash(const weir__column *c, size_t r, int *ok) {
  *ok = 1;
  if (c->validity && !weir__bit_get(c->validity, r)) return avalanche(NULL_SEED);
  unsigned char b[8];
  switch (c->type) {
  case WEIR_TYPE_BOOL:
    le64((uint64_t)weir__bit_get(c->data, r), b);
    break;
  case WEIR_TYPE_INT32:
    le64((uint64_t)(int64_t)((const int32_t *)c->data)[r], b);
    break;
  case WEIR_TYPE_INT64:
    le64((uint64_t)((const int64_t *)c->data)[r], b);
    break;
  case WEIR_TYPE_FLOAT32:
  case WEIR_TYPE_FLOAT64: {
    double v = c->type == WEIR_TYPE_FLOAT32 ? (double)((const float *)c->data)[r]
                                            : ((const double *)c->data)[r];
    if (v == 0.0) v = 0.0;         /* -0.0 and 0.0 are one key */
    if (isnan(v)) v = (double)NAN; /* and every NaN one other */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    le64(bits, b);
    break;
  }
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
    return avalanche(fnv1a(FNV_OFFSET, (const char *)c->data + c->offsets[r],
                           (size_t)(c->offsets[r + 1] - c->offsets[r])));
  default:
    *ok = 0;
    return 0;
  }
  return avalanche(fnv1a(FNV_OFFSET, b, sizeof b));
}

int weir_partition_of(const weir_block *b, size_t index, size_t row, int partitions) {
  if (!b || partitions < 1 || index >= b->num_columns || row >= b->num_rows) return -1;
  int ok;
  uint64_t h = key_hash(&b->cols[index], row, &ok);
  return ok ? (int)(h % (uint64_t)partitions) : -1;
}

static void by_key_free(void *arg) {
  weir__by_key *k = arg;
  free(k->column);
  free(k);
}

static int emit_piece(void *arg, weir_block *piece, int partition) {
  (void)partition;
  return weir_emit_block(arg, piece);
}

static int split_block(void *user, weir_block *in, weir_emit *out) {
  return weir__split_by_key(user, in, out, emit_piece, out);
}

int weir__split_by_key(const weir__by_key *k, weir_block *in, weir_emit *out,
                       int (*piece_fn)(void *, weir_block *, int), void *arg) {
  weir_ctx *ctx = weir_emit_ctx(out);
  int idx = weir_block_column_index(in, k->column);
  if (idx < 0) {
    weir_ctx_set_errmsg(ctx, "no key column '%s' in the input", k->column);
    return WEIR_ENOTFOUND;
  }
  size_t n = in->num_rows, parts = (size_t)k->partitions;
  const weir__column *c = &in->cols[idx];
  int ok = 1;
  if (n) key_hash(c, 0, &ok);
  if (!ok) {
    weir_ctx_set_errmsg(ctx, "key column '%s' is %s: keys are booleans, numbers, strings "
                        "or bytes", k->column, weir_type_name(c->type));
    return WEIR_EINVAL;
  }
  if (parts == 1 || n == 0) return piece_fn(arg, weir_block_ref(in), 0);
  /* A counting sort of the row indices by partition keeps each
   * partition's rows in their input order. */
  uint32_t *part = malloc(n * sizeof *part), *order = malloc(n * sizeof *order);
  size_t *start = calloc(parts + 1, sizeof *start);
  int rc = part && order && start ? WEIR_OK : WEIR_ENOMEM;
  for (size_t r = 0; rc == WEIR_OK && r < n; r++) {
    part[r] = (uint32_t)(key_hash(c, r, &ok) % parts);
    start[part[r] + 1]++;
  }
  for (size_t q = 0; rc == WEIR_OK && q < parts; q++) start[q + 1] += start[q];
  for (size_t r = 0; rc == WEIR_OK && r < n; r++) order[start[part[r]]++] = (uint32_t)r;
  /* start[q] is now the end of partition q. */
  for (size_t q = 0, from = 0; rc == WEIR_OK && q < parts; from = start[q++]) {
    if (start[q] == from) continue;
    weir_block *piece = NULL;
    rc = weir_block_take(in, order + from, start[q] - from, &piece);
    if (rc == WEIR_OK) rc = piece_fn(arg, piece, (int)q);
  }
  if (rc == WEIR_ENOMEM) weir_ctx_set_errmsg(ctx, "out of memory splitting %zu rows", n);
  free(part);
  free(order);
  free(start);
  return rc;
}

weir_op *weir_repartition_by_key(weir_pipeline *p, weir_op *in, const char *column,
                                 int partitions) {
  if (!p) return NULL;
  if (!column || partitions < 0)
    return weir__op_fail(p, WEIR_EINVAL,
                         "weir_repartition_by_key: %s", !column ? "NULL column"
                                                                : "negative partitions");
  weir__by_key *k = calloc(1, sizeof *k);
  if (!k || !(k->column = strdup(column))) {
    free(k);
    return weir__op_fail(p, WEIR_ENOMEM, "weir_repartition_by_key: out of memory");
  }
  k->partitions = partitions ? partitions : weir_dist_size();
  if (p->dist && weir_dist_size() > 1)
    return weir__exchange_by_key(p, in, k, by_key_free);
  weir_op *op = weir_map_batches(p, in, "repartition_by_key", split_block, k, NULL);
  if (!op) {
    by_key_free(k);
    return NULL;
  }
  weir__op_set_cleanup(op, by_key_free, k);
  return op;
}
