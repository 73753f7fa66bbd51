/* Encoding and decoding of weir's block file frames (see blockfile.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "core/mem.h"
#include "exec/gpu_backend.h"
#include "io/blockfile.h"
#include "exec/block_codec.h"

#define DESC_SIZE 144
#define ALIGN 64

int weir__bytes_reserve(weir__bytes *b, size_t more) {
  if (b->len + more <= b->cap) return WEIR_OK;
  size_t cap = b->cap ? b->cap * 2 : 65536;
  while (cap < b->len + more) cap *= 2;
  unsigned char *p = realloc(b->p, cap);
  if (!p) return WEIR_ENOMEM;
  b->p = p;
  b->cap = cap;
  return WEIR_OK;
}

int weir__bytes_put(weir__bytes *b, const void *p, size_t n) {
  if (weir__bytes_reserve(b, n)) return WEIR_ENOMEM;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return WEIR_OK;
}

void weir__bytes_free(weir__bytes *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

int weir__bf_header(weir__bytes *out) {
  unsigned char h[WEIR__BF_HEADER_SIZE];
  memcpy(h, WEIR__BF_MAGIC, 8);
  put32(h + 8, WEIR__BF_VERSION);
  put32(h + 12, 0x01020304u);
  return weir__bytes_put(out, h, sizeof h);
}

int weir__bf_check_header(const unsigned char *h, char *err, size_t errlen) {
  if (memcmp(h, WEIR__BF_MAGIC, 8) != 0) {
    snprintf(err, errlen, "not a weir block file (bad magic)");
    return WEIR_EFORMAT;
  }
  if (get32(h + 12) != 0x01020304u) {
    snprintf(err, errlen, "block file written with another byte order");
    return WEIR_EFORMAT;
  }
  if (get32(h + 8) != WEIR__BF_VERSION) {
    snprintf(err, errlen, "block file version %u is not supported (this is %d)",
             get32(h + 8), WEIR__BF_VERSION);
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

void weir__bf_frame_header(const unsigned char *h, uint32_t *tag,
                           uint64_t *comp, uint64_t *raw, uint64_t *rows) {
  *tag = get32(h);
  *comp = get64(h + 8);
  *raw = get64(h + 16);
  *rows = get64(h + 24);
}

static size_t align_up(size_t v) { return (v + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

/* The bytes of one column as stored: validity, values, offsets. */
typedef struct piece {
  const void *p;
  size_t len;
  size_t off;      /* in the payload */
} piece;

typedef struct col_plan {
  piece validity, data, offsets;
  int64_t *rebased;   /* offsets rebased to 0, when they did not start there */
} col_plan;

static size_t fixed_bytes(const weir__column *c) {
  if (c->type == WEIR_TYPE_BOOL) return (c->length + 7) / 8;
  return weir__column_row_bytes(c) * c->length;
}

/* Lays out the frame's payload of `b` in `plan` (one entry a column) and
 * returns its raw size in `*raw`: the head, the descriptors with their
 * names, then each column's validity, offsets and data, 8-byte aligned.
 * Offsets of a slice are rebased to 0 into plan[i].rebased. */
static int plan_layout(const weir_block *b, col_plan *plan, size_t *raw) {
  size_t nc = b->num_columns;
  size_t off = 16;
  for (size_t i = 0; i < nc; i++)
    off += DESC_SIZE + ((strlen(b->cols[i].name) + 7) & ~(size_t)7);
  for (size_t i = 0; i < nc; i++) {
    const weir__column *c = &b->cols[i];
    col_plan *pl = &plan[i];
    if (c->validity && c->null_count) {
      pl->validity.p = c->validity;
      pl->validity.len = (c->length + 7) / 8;
      off = align_up(off);
      pl->validity.off = off;
      off += pl->validity.len;
    }
    if (weir__type_has_offsets(c->type)) {
      /* LIST offsets count elements of `unit` bytes. */
      size_t unit = weir__column_value_unit(c);
      int64_t base = c->offsets[0];
      pl->data.p = c->data + (size_t)base * unit;
      pl->data.len = (size_t)(c->offsets[c->length] - base) * unit;
      pl->offsets.len = (c->length + 1) * sizeof(int64_t);
      if (base != 0) {
        pl->rebased = malloc(pl->offsets.len);
        if (!pl->rebased) return WEIR_ENOMEM;
        for (size_t r = 0; r <= c->length; r++)
          pl->rebased[r] = c->offsets[r] - base;
        pl->offsets.p = pl->rebased;
      } else {
        pl->offsets.p = c->offsets;
      }
      off = align_up(off);
      pl->offsets.off = off;
      off += pl->offsets.len;
    } else {
      pl->data.p = c->data;
      pl->data.len = fixed_bytes(c);
    }
    off = align_up(off);
    pl->data.off = off;
    off += pl->data.len;
  }
  *raw = off;
  return WEIR_OK;
}

/* Appends the head and the column descriptors (with their names) of `b`
 * to `meta`. */
static int put_meta(const weir_block *b, const col_plan *plan,
                    weir__bytes *meta) {
  static const unsigned char zeros[8] = {0};
  size_t nc = b->num_columns;
  unsigned char head[16];
  put64(head, nc);
  put64(head + 8, b->num_rows);
  int rc = weir__bytes_put(meta, head, 16);
  for (size_t i = 0; i < nc && rc == WEIR_OK; i++) {
    const weir__column *c = &b->cols[i];
    unsigned char d[DESC_SIZE] = {0};
    size_t nl = strlen(c->name);
    put32(d, (uint32_t)c->type);
    put32(d + 4, (uint32_t)c->dtype);
    put32(d + 8, (uint32_t)c->ndim);
    put32(d + 12, (uint32_t)nl);
    for (int k = 0; k < WEIR_TENSOR_MAX_DIMS; k++) put64(d + 16 + 8 * k, (uint64_t)c->shape[k]);
    put64(d + 80, c->length);
    put64(d + 88, plan[i].validity.len ? c->null_count : 0);
    put64(d + 96, plan[i].validity.off);
    put64(d + 104, plan[i].validity.len);
    put64(d + 112, plan[i].data.off);
    put64(d + 120, plan[i].data.len);
    put64(d + 128, plan[i].offsets.off);
    put64(d + 136, plan[i].offsets.len);
    rc = weir__bytes_put(meta, d, DESC_SIZE);
    if (rc == WEIR_OK) rc = weir__bytes_put(meta, c->name, nl);
    if (rc == WEIR_OK) rc = weir__bytes_put(meta, zeros, ((nl + 7) & ~(size_t)7) - nl);
  }
  return rc;
}

/* Compresses `n` bytes at `p` into `ob` and advances the payload position
 * `*pos` past them. */
static int feed(ZSTD_CCtx *cc, ZSTD_outBuffer *ob, const void *p, size_t n,
                size_t *pos) {
  ZSTD_inBuffer ib = {p, n, 0};
  *pos += n;
  while (ib.pos < ib.size)
    if (ZSTD_isError(ZSTD_compressStream2(cc, ob, &ib, ZSTD_e_continue)))
      return WEIR_EIO;
  return WEIR_OK;
}

/* Streams the payload (`meta`, then every piece of `plan` with the zero
 * padding between) through `cc` into `ob`, and ends the zstd frame; the
 * block's bytes are never copied into one raw buffer. `raw` is the size
 * plan_layout() found, checked against what was fed. */
static int compress_payload(ZSTD_CCtx *cc, ZSTD_outBuffer *ob,
                            const weir__bytes *meta, const col_plan *plan,
                            size_t nc, size_t raw) {
  static const unsigned char zpad[ALIGN] = {0};
  size_t pos = 0;
  int rc = feed(cc, ob, meta->p, meta->len, &pos);
  for (size_t i = 0; i < nc && rc == WEIR_OK; i++) {
    /* In payload order: validity, offsets, data (as laid out above). */
    const piece *ps[3] = {&plan[i].validity, &plan[i].offsets, &plan[i].data};
    for (int k = 0; k < 3 && rc == WEIR_OK; k++) {
      const piece *pc = ps[k];
      int is_data = k == 2; /* always placed, even when empty */
      if (!pc->len && !is_data) continue;
      if (pc->off > pos) rc = feed(cc, ob, zpad, pc->off - pos, &pos);
      if (rc == WEIR_OK && pc->len) rc = feed(cc, ob, pc->p, pc->len, &pos);
    }
  }
  if (rc != WEIR_OK) return rc;
  ZSTD_inBuffer ib = {NULL, 0, 0};
  size_t zr;
  do {
    zr = ZSTD_compressStream2(cc, ob, &ib, ZSTD_e_end);
    if (ZSTD_isError(zr)) return WEIR_EIO;
  } while (zr != 0);
  return pos == raw ? WEIR_OK : WEIR_EIO; /* a layout bug, not bad input */
}

int weir__bf_frame(const weir_block *in, void *cctx, int level,
                   weir__bytes *out, uint64_t *raw_out) {
  weir_block *host = NULL;
  const weir_block *b = in;
  if (weir__block_on_device(in)) {
    int rc = weir__gpu_backend_get()->to_host((weir_block *)in, &host);
    if (rc != WEIR_OK) return rc;
    b = host;
  }
  size_t nc = b->num_columns;
  col_plan *plan = calloc(nc ? nc : 1, sizeof *plan);
  if (!plan) {
    weir_block_unref(&host);
    return WEIR_ENOMEM;
  }
  size_t raw = 0;
  weir__bytes meta = {0};
  int rc = plan_layout(b, plan, &raw);
  if (rc == WEIR_OK) rc = weir__bytes_reserve(out, WEIR__BF_FRAME_HEADER +
                                                   ZSTD_compressBound(raw));
  if (rc == WEIR_OK) rc = put_meta(b, plan, &meta);
  if (rc == WEIR_OK) {
    ZSTD_CCtx *cc = cctx;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setPledgedSrcSize(cc, raw);
    unsigned char *fh = out->p + out->len;
    ZSTD_outBuffer ob = {fh + WEIR__BF_FRAME_HEADER,
                         out->cap - out->len - WEIR__BF_FRAME_HEADER, 0};
    rc = compress_payload(cc, &ob, &meta, plan, nc, raw);
    if (rc == WEIR_OK) {
      put32(fh, WEIR__BF_TAG_FRAME);
      put32(fh + 4, 0);
      put64(fh + 8, ob.pos);
      put64(fh + 16, raw);
      put64(fh + 24, b->num_rows);
      out->len += WEIR__BF_FRAME_HEADER + ob.pos;
      if (raw_out) *raw_out = raw;
    }
  }
  weir__bytes_free(&meta);
  for (size_t i = 0; i < nc; i++) free(plan[i].rebased);
  free(plan);
  weir_block_unref(&host);
  return rc;
}

int weir__bf_footer(const uint64_t *offsets, const uint64_t *rows, size_t n,
                    uint64_t footer_offset, weir__bytes *out) {
  size_t size = 32 + 16 * n + 24;
  if (weir__bytes_reserve(out, size)) return WEIR_ENOMEM;
  unsigned char *p = out->p + out->len;
  memset(p, 0, 32);
  put32(p, WEIR__BF_TAG_INDEX);
  put64(p + 8, n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    put64(p + 32 + 16 * i, offsets[i]);
    put64(p + 40 + 16 * i, rows[i]);
    total += rows[i];
  }
  unsigned char *t = p + 32 + 16 * n;
  put64(t, footer_offset);
  put64(t + 8, total);
  memcpy(t + 16, WEIR__BF_END, 8);
  out->len += size;
  return WEIR_OK;
}

static int valid_type(uint32_t t) {
  return t >= WEIR_TYPE_BOOL && t <= WEIR_TYPE_LIST;
}

static uint64_t bitmap_len(uint64_t bits) { return bits / 8 + (bits % 8 != 0); }

/* The value bytes a decoded column of fixed width needs, in `*n`; 0 when
 * that size does not fit in 64 bits. Row counts come from the file, so a
 * product that wraps must not pass for a small buffer. (A tensor's shape
 * was checked before: its row size does not wrap.) */
static int stored_bytes(const weir__column *c, uint64_t *n) {
  if (c->type == WEIR_TYPE_BOOL) {
    *n = bitmap_len(c->length);
    return 1;
  }
  uint64_t row = weir__column_row_bytes(c);
  if (row && c->length > UINT64_MAX / row) return 0;
  *n = row * c->length;
  return 1;
}

static int parse_payload(weir__buffer *buf, const void *mem, uint64_t raw, uint64_t rows,
                         weir_block **out, char *err, size_t errlen);

int weir__bf_decode(const void *comp, size_t comp_len, uint64_t raw,
                    uint64_t rows, void *dctx, weir_block **out, char *err,
                    size_t errlen) {
  *out = NULL;
  if (raw < 16 || raw > ((uint64_t)1 << 40)) {
    snprintf(err, errlen, "corrupt frame: bad size %llu", (unsigned long long)raw);
    return WEIR_EFORMAT;
  }
  /* The frame says its own content size (the writer pledges it): a raw
   * size that disagrees is a damaged header, refused before it becomes an
   * allocation of up to a terabyte that would then fail as WEIR_ENOMEM. */
  unsigned long long fcs = ZSTD_getFrameContentSize(comp, comp_len);
  if (fcs == ZSTD_CONTENTSIZE_ERROR ||
      (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != raw)) {
    snprintf(err, errlen, "corrupt frame: its header says %llu bytes, the "
             "zstd frame %s", (unsigned long long)raw,
             fcs == ZSTD_CONTENTSIZE_ERROR ? "is not one" : "holds another size");
    return WEIR_EFORMAT;
  }
  void *mem = weir__mem_alloc((size_t)raw, 0);
  if (!mem) return WEIR_ENOMEM;
  size_t got = ZSTD_decompressDCtx(dctx, mem, (size_t)raw, comp, comp_len);
  if (ZSTD_isError(got) || got != raw) {
    snprintf(err, errlen, "corrupt frame: %s",
             ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
    weir__mem_free(mem);
    return WEIR_EFORMAT;
  }
  weir__buffer *buf = weir__buffer_wrap(mem, (size_t)raw, weir__buffer_release_mem, NULL);
  if (!buf) {
    weir__mem_free(mem);
    return WEIR_ENOMEM;
  }
  return parse_payload(buf, mem, raw, rows, out, err, errlen);
}

/* Points the columns of a new block into the payload `mem` (`raw` bytes,
 * held by `buf`, whose reference this takes), checking every size and
 * offset against `raw`. */
static int parse_payload(weir__buffer *buf, const void *mem, uint64_t raw, uint64_t rows,
                         weir_block **out, char *err, size_t errlen) {
  const unsigned char *p = mem;
  uint64_t nc = get64(p), nrows = get64(p + 8);
  int rc = WEIR_OK;
  weir_block *b = NULL;
  /* With a column, every row takes at least a bit of the payload, so a
   * row count above raw * 8 is corrupt; bounding it also keeps the size
   * arithmetic below ((length + 7) / 8, (length + 1) * 8, row bytes *
   * length) from wrapping around into a size that happens to match. A
   * block without columns (rows of "{}") has only its row count. */
  if (nrows != rows || nc > 100000 || (nc > 0 && nrows > raw * 8)) {
    snprintf(err, errlen, "corrupt frame: bad header");
    rc = WEIR_EFORMAT;
    goto fail;
  }
  b = weir__block_alloc((size_t)nc, (size_t)nrows);
  if (!b) {
    rc = WEIR_ENOMEM;
    goto fail;
  }
  size_t off = 16;
#define CHECK(cond, what)                                                   \
  if (!(cond)) {                                                            \
    snprintf(err, errlen, "corrupt frame: %s", what);                       \
    rc = WEIR_EFORMAT;                                                      \
    goto fail;                                                              \
  }
  for (uint64_t i = 0; i < nc; i++) {
    CHECK(off + DESC_SIZE <= raw, "descriptor out of bounds");
    const unsigned char *d = p + off;
    weir__column *c = &b->cols[i];
    uint32_t type = get32(d), dtype = get32(d + 4), ndim = get32(d + 8),
             nl = get32(d + 12);
    CHECK(valid_type(type), "bad column type");
    CHECK(ndim <= WEIR_TENSOR_MAX_DIMS, "bad tensor rank");
    off += DESC_SIZE;
    CHECK(off + nl <= raw, "name out of bounds");
    c->name = strndup((const char *)p + off, nl);
    if (!c->name) {
      rc = WEIR_ENOMEM;
      goto fail;
    }
    off += (nl + 7) & ~(size_t)7;
    c->type = (int)type;
    c->dtype = (int)dtype;
    c->ndim = (int)ndim;
    for (int k = 0; k < WEIR_TENSOR_MAX_DIMS; k++) c->shape[k] = (int64_t)get64(d + 16 + 8 * k);
    c->length = (size_t)get64(d + 80);
    c->null_count = (size_t)get64(d + 88);
    c->device = WEIR_DEVICE_CPU;
    uint64_t voff = get64(d + 96), vlen = get64(d + 104), doff = get64(d + 112),
             dlen = get64(d + 120), ooff = get64(d + 128), olen = get64(d + 136);
    CHECK(c->length == nrows, "column length differs from the block's rows");
    CHECK(voff <= raw && vlen <= raw - voff && doff <= raw &&
              dlen <= raw - doff && ooff <= raw && olen <= raw - ooff,
          "buffer out of bounds");
    if (type == WEIR_TYPE_TENSOR) {
      size_t es = weir_dtype_size((int)dtype);
      CHECK(es != 0 && ndim >= 1, "bad tensor type");
      /* Dimensions are sizes: a negative one (or two, whose product is
       * positive) or a product that wraps would make the row size lie. */
      uint64_t bytes = es;
      for (uint32_t k = 0; k < ndim; k++) {
        CHECK(c->shape[k] >= 0 &&
                  !__builtin_mul_overflow(bytes, (uint64_t)c->shape[k], &bytes),
              "bad tensor shape");
      }
      CHECK(nrows == 0 || bytes <= raw, "bad tensor shape");
    }
    if (type == WEIR_TYPE_LIST) CHECK(weir_dtype_size((int)dtype) != 0, "bad list dtype");
    if (vlen) {
      CHECK(vlen == bitmap_len(c->length) && c->null_count <= c->length,
            "bad validity size");
      c->validity_buf = weir__buffer_ref(buf);
      c->validity = p + voff;
      /* Consumers trust null_count (0 = no need to look at the bitmap; the
       * Arrow export hands it on), so it must be the bitmap's count. */
      size_t nulls = 0;
      for (size_t r = 0; r < c->length; r++) nulls += !((c->validity[r / 8] >> (r % 8)) & 1);
      CHECK(nulls == c->null_count, "null count disagrees with the validity bitmap");
    } else {
      c->null_count = 0;
    }
    /* Values are read as the type's words; the writer aligns every buffer
     * to 64 bytes, so a misaligned one is corrupt. */
    CHECK(doff % 8 == 0, "misaligned values");
    c->data_buf = weir__buffer_ref(buf);
    c->data = p + doff;
    if (weir__type_has_offsets((int)type)) {
      /* olen <= raw, so this cannot wrap the way (length + 1) * 8 can. */
      CHECK(olen % 8 == 0 && olen / 8 == (uint64_t)c->length + 1 &&
                c->length < UINT64_MAX && ooff % 8 == 0,
            "bad offsets size");
      const int64_t *o = (const int64_t *)(p + ooff);
      uint64_t unit = weir__column_value_unit(c);
      CHECK(o[0] == 0 && dlen % unit == 0 && (uint64_t)o[c->length] == dlen / unit,
            "bad offsets");
      for (size_t r = 0; r < c->length; r++)
        CHECK(o[r] <= o[r + 1], "offsets go backwards");
      c->offsets_buf = weir__buffer_ref(buf);
      c->offsets = o;
    } else {
      uint64_t want;
      CHECK(stored_bytes(c, &want) && dlen == want, "bad value buffer size");
    }
  }
#undef CHECK
  weir__buffer_unref(buf);
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
fail:
  weir_block_unref(&b);
  weir__buffer_unref(buf);
  return rc;
}

/* ---- Raw payloads: blocks between MPI ranks (exec/block_codec.h) ------- */

/* The payload of `b`, uncompressed: the frame's layout without zstd, so a
 * block crosses between processes with one copy on each side. */
static int raw_size(const weir_block *b, size_t *raw) {
  size_t nc = b->num_columns;
  col_plan *plan = calloc(nc ? nc : 1, sizeof *plan);
  if (!plan) return WEIR_ENOMEM;
  int rc = plan_layout(b, plan, raw);
  for (size_t i = 0; i < nc; i++) free(plan[i].rebased);
  free(plan);
  return rc;
}

static int raw_write(const weir_block *b, void *dst, size_t raw) {
  size_t nc = b->num_columns, got = 0;
  col_plan *plan = calloc(nc ? nc : 1, sizeof *plan);
  if (!plan) return WEIR_ENOMEM;
  weir__bytes meta = {0};
  int rc = plan_layout(b, plan, &got);
  if (rc == WEIR_OK && got != raw) rc = WEIR_EINVAL;
  if (rc == WEIR_OK) rc = put_meta(b, plan, &meta);
  if (rc == WEIR_OK) {
    unsigned char *d = dst;
    memcpy(d, meta.p, meta.len);
    size_t pos = meta.len;
    /* In payload order, zeroing only the padding before each buffer. */
    for (size_t i = 0; i < nc; i++) {
      const piece *ps[3] = {&plan[i].validity, &plan[i].offsets, &plan[i].data};
      for (int k = 0; k < 3; k++) {
        if (!ps[k]->len) continue;
        if (ps[k]->off > pos) memset(d + pos, 0, ps[k]->off - pos);
        memcpy(d + ps[k]->off, ps[k]->p, ps[k]->len);
        pos = ps[k]->off + ps[k]->len;
      }
    }
    if (raw > pos) memset(d + pos, 0, raw - pos);
  }
  weir__bytes_free(&meta);
  for (size_t i = 0; i < nc; i++) free(plan[i].rebased);
  free(plan);
  return rc;
}

static int raw_read(void *mem, size_t raw, weir__buffer_release_fn release, void *opaque,
                    weir_block **out, char *err, size_t errlen) {
  *out = NULL;
  if (raw < 16) {
    snprintf(err, errlen, "a block of %zu bytes is shorter than its head", raw);
    if (release) release(opaque, mem, raw);
    return WEIR_EFORMAT;
  }
  weir__buffer *buf = weir__buffer_wrap(mem, raw, release, opaque);
  if (!buf) {
    if (release) release(opaque, mem, raw);
    return WEIR_ENOMEM;
  }
  uint64_t rows;
  memcpy(&rows, (const unsigned char *)mem + 8, 8);
  return parse_payload(buf, mem, raw, rows, out, err, errlen);
}

static const weir__block_codec codec = {raw_size, raw_write, raw_read};

const weir__block_codec *weir__block_codec_get(void) { return &codec; }
