/* weir_text_doc_id: a content hash column (SHA-256 as Data Prep Kit's
 * doc_id, or XXH64 / XXH3-128) and consecutive 64-bit integer ids in input
 * order. Also weir_free, for memory the text API hands out. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WEIR_HAVE_XXHASH
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif

#include "exec/exec_internal.h"
#include "core/block_internal.h"
#include "text/sha256.h"
#include "text/text_internal.h"
#include "weir/error.h"

void weir_free(void *ptr) { free(ptr); }

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[b[i] >> 4];
    out[2 * i + 1] = d[b[i] & 15];
  }
  out[2 * n] = 0;
}

int weir_text_hash_hex(int hash, const void *data, size_t len, char *out) {
  if ((!data && len) || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_text_hash_hex: NULL %s",
                                     out ? "data" : "hex");
  switch (hash) {
  case WEIR_DOC_HASH_SHA256: {
    uint8_t d[32];
    weir__sha256(data ? data : "", len, d);
    hex(d, 32, out);
    return WEIR_OK;
  }
#ifdef WEIR_HAVE_XXHASH
  case WEIR_DOC_HASH_XXH64: {
    XXH64_canonical_t c;
    XXH64_canonicalFromHash(&c, XXH64(data ? data : "", len, 0));
    hex(c.digest, 8, out);
    return WEIR_OK;
  }
  case WEIR_DOC_HASH_XXH128: {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(data ? data : "", len));
    hex(c.digest, 16, out);
    return WEIR_OK;
  }
#else
  case WEIR_DOC_HASH_XXH64:
  case WEIR_DOC_HASH_XXH128:
    return weir__set_last_error(WEIR_ENOTSUP, "weir_text_hash_hex: this build has no "
                                     "libxxhash (install libxxhash-dev and rebuild)");
#endif
  default:
    return weir__set_last_error(WEIR_EINVAL, "weir_text_hash_hex: unknown hash %d", hash);
  }
}

typedef struct doc_id_cfg {
  weir_doc_id_options o;
  char *column, *hash_column, *int_column, *name;
  atomic_uint_fast64_t next_id;
} doc_id_cfg;

static void cfg_free(void *arg) {
  doc_id_cfg *c = arg;
  free(c->column);
  free(c->hash_column);
  free(c->int_column);
  free(c->name);
  free(c);
}

static int did_init(void *user, int worker, void **state) {
  (void)worker;
  *state = user;
  return WEIR_OK;
}

static int did_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  doc_id_cfg *c = state;
  int ci = weir_block_column_index(in, c->column);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input", c->column);
    return WEIR_ENOTFOUND;
  }
  weir_column col;
  weir_block_column(in, (size_t)ci, &col);
  if (col.type != WEIR_TYPE_STRING && col.type != WEIR_TYPE_BINARY) {
    weir_ctx_set_errmsg(ctx, "column '%s' is %s, not string or binary", c->column,
                        weir_type_name(col.type));
    return WEIR_EINVAL;
  }
  size_t n = col.length;
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc)
    return rc;
  size_t hc = 0, ic = 0, nc = 0;
  if (c->o.hash != WEIR_DOC_HASH_NONE) {
    rc = weir_builder_add_column(bld, c->hash_column, WEIR_TYPE_STRING);
    hc = nc++;
  }
  if (!rc && *c->int_column) {
    rc = weir_builder_add_column(bld, c->int_column, WEIR_TYPE_INT64);
    ic = nc++;
  }
  if (!rc)
    rc = weir_builder_reserve(bld, n);
  /* The operator has one worker and ordered input: ids follow input order. */
  uint64_t id = atomic_fetch_add(&c->next_id, n);
  for (size_t i = 0; i < n && !rc; i++) {
    if (c->o.hash != WEIR_DOC_HASH_NONE) {
      char h[65];
      int valid = !col.validity || ((col.validity[i >> 3] >> (i & 7)) & 1);
      const char *s = (const char *)col.data + col.offsets[i];
      size_t len = valid ? (size_t)(col.offsets[i + 1] - col.offsets[i]) : 0;
      rc = weir_text_hash_hex(c->o.hash, s, len, h);
      if (!rc)
        rc = weir_builder_append_string(bld, hc, h, strlen(h));
    }
    if (!rc && *c->int_column)
      rc = weir_builder_append_int64(bld, ic, (int64_t)(id + i));
  }
  weir_block *extra = NULL, *out = NULL;
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  weir_builder_destroy(bld);
  if (!rc)
    rc = weir_block_add_columns(in, extra, &out);
  weir_block_unref(&extra);
  if (rc)
    return rc;
  return weir_emit_block(emit, out);
}

weir_op *weir_text_doc_id(weir_pipeline *p, weir_op *in, const weir_doc_id_options *o) {
  if (!p)
    return NULL;
  weir_doc_id_options d = WEIR_DOC_ID_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_doc_id", o->version, WEIR_DOC_ID_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_doc_id: NULL input operator");
  if (d.hash < WEIR_DOC_HASH_SHA256 || d.hash > WEIR_DOC_HASH_NONE)
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_doc_id: unknown hash %d", d.hash);
#ifndef WEIR_HAVE_XXHASH
  if (d.hash == WEIR_DOC_HASH_XXH64 || d.hash == WEIR_DOC_HASH_XXH128)
    return weir__text_fail(p, WEIR_ENOTSUP, "weir_text_doc_id: XXH64/XXH128 need libxxhash, "
                           "which this build does not have");
#endif
  const char *ic = d.int_column ? d.int_column : "doc_id";
  if (d.hash == WEIR_DOC_HASH_NONE && !*ic)
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_doc_id: neither a hash nor an integer "
                           "column asked for");
  doc_id_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_text_doc_id: out of memory");
  c->o = d;
  c->column = strdup(d.common.column && *d.common.column ? d.common.column : "text");
  c->hash_column = strdup(d.hash_column ? d.hash_column : "doc_hash");
  c->int_column = strdup(ic);
  c->name = strdup(d.common.name && *d.common.name ? d.common.name : "doc_id");
  atomic_init(&c->next_id, d.start_id);
  if (!c->column || !c->hash_column || !c->int_column || !c->name) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_text_doc_id: out of memory");
  }
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, did_init, did_process, NULL, NULL};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = oo.max_workers = 1;
  oo.preserve_order = 1;
  weir_op *op = weir_add_op(p, in, &def, c, &oo);
  if (!op) {
    cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, cfg_free, c);
  weir__op_set_per_block(op, -1); /* ids count on across read tasks */
  return op;
}
