/* Parsing Parquet's FileMetaData and PageHeader from Thrift, checking every
 * count and offset before it is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "parquet/meta.h"
#include "parquet/thrift.h"

static char *dup_bin(weir__tr *t) {
  size_t n;
  const uint8_t *s = weir__tr_binary(t, &n);
  char *c = malloc(n + 1);
  if (!c) {
    weir__tr_fail(t, "out of memory");
    return NULL;
  }
  if (n) memcpy(c, s, n);
  c[n] = 0;
  return c;
}

/* Reads a struct, calling `fn` per field; unknown fields are skipped. */
#define STRUCT_LOOP(t, body)                                              \
  do {                                                                    \
    int16_t last_ = 0, id;                                                \
    int ft;                                                               \
    weir__tr_enter(t);                                                    \
    while (!(t)->bad && weir__tr_field(t, &last_, &ft, &id)) {            \
      body                                                                \
    }                                                                     \
    weir__tr_leave(t);                                                    \
  } while (0)

static int unit_of(weir__tr *t) {
  int unit = 0;
  STRUCT_LOOP(t, {
    if (ft == WEIR__T_STRUCT) unit = id - 1;
    weir__tr_skip(t, ft);
  });
  return unit;
}

static void parse_logical(weir__tr *t, pq_schema_el *e) {
  STRUCT_LOOP(t, {
    if (ft != WEIR__T_STRUCT) {
      weir__tr_skip(t, ft);
      continue;
    }
    switch (id) {
    case 1: e->logical = PQL_STRING; weir__tr_skip(t, ft); break;
    case 2: e->logical = PQL_MAP; weir__tr_skip(t, ft); break;
    case 3: e->logical = PQL_LIST; weir__tr_skip(t, ft); break;
    case 4: e->logical = PQL_ENUM; weir__tr_skip(t, ft); break;
    case 5:
      e->logical = PQL_DECIMAL;
      STRUCT_LOOP(t, {
        if (id == 1 && ft == WEIR__T_I32) e->scale = weir__tr_i32(t);
        else if (id == 2 && ft == WEIR__T_I32) e->precision = weir__tr_i32(t);
        else weir__tr_skip(t, ft);
      });
      break;
    case 6: e->logical = PQL_DATE; weir__tr_skip(t, ft); break;
    case 7:
    case 8:
      e->logical = id == 7 ? PQL_TIME : PQL_TIMESTAMP;
      STRUCT_LOOP(t, {
        if (id == 2 && ft == WEIR__T_STRUCT) e->unit = unit_of(t);
        else weir__tr_skip(t, ft);
      });
      break;
    case 10:
      e->logical = PQL_INT;
      STRUCT_LOOP(t, {
        if (id == 1 && ft == WEIR__T_BYTE) {
          if (t->p < t->end) e->int_bits = (int8_t)*t->p++;
          else weir__tr_fail(t, "metadata ends inside a byte");
        } else if (id == 2 && (ft == WEIR__T_TRUE || ft == WEIR__T_FALSE)) {
          e->int_signed = ft == WEIR__T_TRUE;
        } else {
          weir__tr_skip(t, ft);
        }
      });
      break;
    case 12: e->logical = PQL_JSON; weir__tr_skip(t, ft); break;
    case 13: e->logical = PQL_BSON; weir__tr_skip(t, ft); break;
    case 14: e->logical = PQL_UUID; weir__tr_skip(t, ft); break;
    case 15: e->logical = PQL_FLOAT16; weir__tr_skip(t, ft); break;
    default: weir__tr_skip(t, ft);
    }
  });
}

/* The older converted types, used when no logical type was given. */
static void apply_converted(pq_schema_el *e, int ct) {
  if (e->logical) return;
  switch (ct) {
  case 0: e->logical = PQL_STRING; break;
  case 1: e->logical = PQL_MAP; break;
  case 2: e->logical = PQL_MAP_KEY_VALUE; break;
  case 3: e->logical = PQL_LIST; break;
  case 4: e->logical = PQL_ENUM; break;
  case 5: e->logical = PQL_DECIMAL; break;
  case 6: e->logical = PQL_DATE; break;
  case 7: case 8: e->logical = PQL_TIME; e->unit = ct - 7; break;
  case 9: case 10: e->logical = PQL_TIMESTAMP; e->unit = ct - 9; break;
  case 11: case 12: case 13: case 14:
    e->logical = PQL_INT; e->int_signed = 0; e->int_bits = 8 << (ct - 11); break;
  case 15: case 16: case 17: case 18:
    e->logical = PQL_INT; e->int_signed = 1; e->int_bits = 8 << (ct - 15); break;
  case 19: e->logical = PQL_JSON; break;
  case 20: e->logical = PQL_BSON; break;
  default: break;
  }
}

static void parse_schema_el(weir__tr *t, pq_schema_el *e) {
  int converted = -1;
  STRUCT_LOOP(t, {
    switch (id) {
    case 1: e->type = weir__tr_i32(t); e->has_type = 1; break;
    case 2: e->type_length = weir__tr_i32(t); break;
    case 3: e->repetition = weir__tr_i32(t); break;
    case 4: free(e->name); e->name = dup_bin(t); break;
    case 5: e->num_children = weir__tr_i32(t); break;
    case 6: converted = weir__tr_i32(t); break;
    case 7: e->scale = weir__tr_i32(t); break;
    case 8: e->precision = weir__tr_i32(t); break;
    case 10:
      if (ft == WEIR__T_STRUCT) parse_logical(t, e);
      else weir__tr_skip(t, ft);
      break;
    default: weir__tr_skip(t, ft);
    }
    if (id >= 1 && id <= 8 && id != 4 && ft != WEIR__T_I32) weir__tr_fail(t, "a schema field of the wrong type");
  });
  if (converted >= 0) apply_converted(e, converted);
  if (!e->name) e->name = strdup("");
  if (e->has_type && (e->type < PQ_BOOLEAN || e->type > PQ_FIXED))
    weir__tr_fail(t, "an unknown physical type");
  if (e->repetition < 0 || e->repetition > 2) weir__tr_fail(t, "an unknown repetition");
  if (e->num_children < 0) weir__tr_fail(t, "a negative number of children");
}

static void parse_stats(weir__tr *t, pq_stats *s) {
  const uint8_t *omin = NULL, *omax = NULL;
  size_t omin_len = 0, omax_len = 0;
  STRUCT_LOOP(t, {
    if (ft == WEIR__T_BINARY && (id == 1 || id == 2 || id == 5 || id == 6)) {
      size_t n;
      const uint8_t *v = weir__tr_binary(t, &n);
      if (id == 1) { omax = v; omax_len = n; }
      if (id == 2) { omin = v; omin_len = n; }
      if (id == 5) { s->max = v; s->max_len = n; }
      if (id == 6) { s->min = v; s->min_len = n; }
    } else if (id == 3 && ft == WEIR__T_I64) {
      s->null_count = weir__tr_i64(t);
    } else {
      weir__tr_skip(t, ft);
    }
  });
  /* min/max (fields 1, 2) are the deprecated signed-order statistics; use
   * them only without min_value/max_value, and the caller only trusts
   * them for numbers. */
  if (!s->min && !s->max) {
    s->min = omin; s->min_len = omin_len;
    s->max = omax; s->max_len = omax_len;
  }
}

static void parse_col_meta(weir__tr *t, pq_chunk *c) {
  STRUCT_LOOP(t, {
    switch (id) {
    case 1: c->type = weir__tr_i32(t); break;
    case 2: {
      /* Kept for `weir inspect` (weir_parquet_describe); readers look at
       * each page's own encoding. */
      if (ft != WEIR__T_LIST) { weir__tr_skip(t, ft); break; }
      int et;
      size_t n = weir__tr_list(t, &et);
      for (size_t i = 0; i < n && !t->bad; i++) {
        if (et != WEIR__T_I32) { weir__tr_skip(t, et); continue; }
        int32_t e = weir__tr_i32(t);
        if (e >= 0 && e < 32) c->encodings |= 1u << e;
      }
      break;
    }
    case 3: {
      int et;
      size_t n = weir__tr_list(t, &et);
      if (et != WEIR__T_BINARY) weir__tr_fail(t, "a column path that is not strings");
      if (t->bad) break;
      for (size_t i = 0; i < c->path_len; i++) free(c->path[i]);
      free(c->path);
      c->path = calloc(n ? n : 1, sizeof *c->path);
      if (!c->path) { weir__tr_fail(t, "out of memory"); break; }
      c->path_len = n;
      for (size_t i = 0; i < n && !t->bad; i++) c->path[i] = dup_bin(t);
      break;
    }
    case 4: c->codec = weir__tr_i32(t); break;
    case 5: c->num_values = weir__tr_i64(t); break;
    case 6: c->total_uncompressed = weir__tr_i64(t); break;
    case 7: c->total_compressed = weir__tr_i64(t); break;
    case 9: c->data_page_offset = weir__tr_i64(t); break;
    case 11: c->dict_page_offset = weir__tr_i64(t); break;
    case 12:
      if (ft == WEIR__T_STRUCT) parse_stats(t, &c->stats);
      else weir__tr_skip(t, ft);
      break;
    default: weir__tr_skip(t, ft);
    }
  });
}

static void parse_chunk(weir__tr *t, pq_chunk *c) {
  c->dict_page_offset = -1;
  c->stats.null_count = -1;
  int have = 0;
  STRUCT_LOOP(t, {
    if (id == 1 && ft == WEIR__T_BINARY) {
      weir__tr_fail(t, "a column chunk in another file (file_path) is not supported");
    } else if (id == 3 && ft == WEIR__T_STRUCT) {
      parse_col_meta(t, c);
      have = 1;
    } else {
      weir__tr_skip(t, ft);
    }
  });
  if (!have) weir__tr_fail(t, "a column chunk without its metadata");
}

static void parse_row_group(weir__tr *t, pq_row_group *rg) {
  STRUCT_LOOP(t, {
    if (id == 1 && ft == WEIR__T_LIST) {
      int et;
      size_t n = weir__tr_list(t, &et);
      if (et != WEIR__T_STRUCT) { weir__tr_fail(t, "column chunks that are not structs"); break; }
      rg->chunks = calloc(n ? n : 1, sizeof *rg->chunks);
      if (!rg->chunks) { weir__tr_fail(t, "out of memory"); break; }
      rg->nchunks = n;
      for (size_t i = 0; i < n && !t->bad; i++) parse_chunk(t, &rg->chunks[i]);
    } else if (id == 3 && ft == WEIR__T_I64) {
      rg->num_rows = weir__tr_i64(t);
    } else {
      weir__tr_skip(t, ft);
    }
  });
}

void weir__pq_meta_free(pq_file_meta *m) {
  for (size_t i = 0; i < m->nschema; i++) free(m->schema[i].name);
  free(m->schema);
  for (size_t r = 0; r < m->nrgs; r++) {
    for (size_t c = 0; c < m->rgs[r].nchunks; c++) {
      pq_chunk *ch = &m->rgs[r].chunks[c];
      for (size_t k = 0; k < ch->path_len; k++) free(ch->path[k]);
      free(ch->path);
    }
    free(m->rgs[r].chunks);
  }
  free(m->rgs);
  for (size_t i = 0; i < m->nkv; i++) {
    free(m->kv[i].key);
    free(m->kv[i].value);
  }
  free(m->kv);
  free(m->created_by);
  free(m->raw);
  memset(m, 0, sizeof *m);
}

int weir__pq_meta_parse(uint8_t *buf, size_t n, uint64_t file_size,
                        pq_file_meta *m, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->raw = buf;
  weir__tr t;
  weir__tr_init(&t, buf, n);
  int have_schema = 0;
  STRUCT_LOOP(&t, {
    int et;
    if (id == 2 && ft == WEIR__T_LIST) {
      size_t k = weir__tr_list(&t, &et);
      if (et != WEIR__T_STRUCT) { weir__tr_fail(&t, "schema elements that are not structs"); break; }
      m->schema = calloc(k ? k : 1, sizeof *m->schema);
      if (!m->schema) { weir__tr_fail(&t, "out of memory"); break; }
      m->nschema = k;
      for (size_t i = 0; i < k && !t.bad; i++) parse_schema_el(&t, &m->schema[i]);
      have_schema = 1;
    } else if (id == 3 && ft == WEIR__T_I64) {
      m->num_rows = weir__tr_i64(&t);
    } else if (id == 4 && ft == WEIR__T_LIST) {
      size_t k = weir__tr_list(&t, &et);
      if (et != WEIR__T_STRUCT) { weir__tr_fail(&t, "row groups that are not structs"); break; }
      m->rgs = calloc(k ? k : 1, sizeof *m->rgs);
      if (!m->rgs) { weir__tr_fail(&t, "out of memory"); break; }
      m->nrgs = k;
      for (size_t i = 0; i < k && !t.bad; i++) parse_row_group(&t, &m->rgs[i]);
    } else if (id == 6 && ft == WEIR__T_BINARY) {
      free(m->created_by);
      m->created_by = dup_bin(&t);
    } else if (id == 5 && ft == WEIR__T_LIST) {
      size_t k = weir__tr_list(&t, &et);
      if (et != WEIR__T_STRUCT) { weir__tr_fail(&t, "key-value metadata that is not structs"); break; }
      m->kv = calloc(k ? k : 1, sizeof *m->kv);
      if (!m->kv) { weir__tr_fail(&t, "out of memory"); break; }
      m->nkv = k;
      for (size_t i = 0; i < k && !t.bad; i++) {
        pq_kv *kv = &m->kv[i];
        STRUCT_LOOP(&t, {
          if (id == 1 && ft == WEIR__T_BINARY) { free(kv->key); kv->key = dup_bin(&t); }
          else if (id == 2 && ft == WEIR__T_BINARY) { free(kv->value); kv->value = dup_bin(&t); }
          else weir__tr_skip(&t, ft);
        });
        if (!kv->key) kv->key = strdup("");
        if (!kv->value) kv->value = strdup("");
      }
    } else {
      weir__tr_skip(&t, ft);
    }
  });
  const char *why = t.bad ? t.why : NULL;
  if (!why && (!have_schema || m->nschema == 0)) why = "no schema";
  if (!why && m->num_rows < 0) why = "a negative row count";
  /* Every chunk must lie inside the file, before the footer. */
  for (size_t r = 0; !why && r < m->nrgs; r++) {
    pq_row_group *rg = &m->rgs[r];
    if (rg->num_rows < 0) why = "a row group with a negative row count";
    for (size_t c = 0; !why && c < rg->nchunks; c++) {
      pq_chunk *ch = &rg->chunks[c];
      int64_t start = ch->dict_page_offset >= 0 && ch->dict_page_offset < ch->data_page_offset
                          ? ch->dict_page_offset : ch->data_page_offset;
      if (start < 4 || ch->total_compressed < 0 || (uint64_t)start > file_size ||
          (uint64_t)ch->total_compressed > file_size - (uint64_t)start)
        why = "a column chunk outside the file";
      if (ch->num_values < 0) why = "a negative value count";
      if (ch->type < PQ_BOOLEAN || ch->type > PQ_FIXED) why = "a column chunk of unknown type";
    }
  }
  if (why) {
    snprintf(err, errlen, "corrupt footer: %s", why);
    weir__pq_meta_free(m);
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

int weir__pq_page_header(const uint8_t *p, size_t n, pq_page_header *h,
                         size_t *used, char *err, size_t errlen) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->is_compressed = 1;
  weir__tr t;
  weir__tr_init(&t, p, n);
  STRUCT_LOOP(&t, {
    switch (id) {
    case 1: h->type = weir__tr_i32(&t); break;
    case 2: h->uncompressed_size = weir__tr_i32(&t); break;
    case 3: h->compressed_size = weir__tr_i32(&t); break;
    case 5: case 7: case 8:
      if (ft != WEIR__T_STRUCT) { weir__tr_skip(&t, ft); break; }
      {
        int sub = id;
        STRUCT_LOOP(&t, {
          if (ft == WEIR__T_I32) {
            int32_t v = weir__tr_i32(&t);
            if (id == 1) h->num_values = v;
            else if (sub == 8) {
              if (id == 2) h->num_nulls = v;
              else if (id == 3) h->num_rows = v;
              else if (id == 4) h->encoding = v;
              else if (id == 5) h->def_len = v;
              else if (id == 6) h->rep_len = v;
            } else if (id == 2) {
              h->encoding = v;
            }
          } else if (sub == 8 && id == 7 && (ft == WEIR__T_TRUE || ft == WEIR__T_FALSE)) {
            h->is_compressed = ft == WEIR__T_TRUE;
          } else {
            weir__tr_skip(&t, ft);
          }
        });
      }
      break;
    default: weir__tr_skip(&t, ft);
    }
  });
  const char *why = t.bad ? t.why : NULL;
  if (!why && (h->type < 0 || h->type > 3)) why = "an unknown page type";
  if (!why && (h->compressed_size < 0 || h->uncompressed_size < 0 || h->num_values < 0 ||
               h->def_len < 0 || h->rep_len < 0 || h->num_nulls < 0 || h->num_rows < 0))
    why = "a negative size or count";
  if (why) {
    snprintf(err, errlen, "corrupt page header: %s", why);
    return WEIR_EFORMAT;
  }
  *used = (size_t)(t.p - p);
  return WEIR_OK;
}
