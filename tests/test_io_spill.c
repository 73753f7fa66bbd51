/* Block file frames and the spill store: every column type, nulls, tensors
 * and slices come back identical, in order, and corruption is detected. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <weir.h>
#include <zstd.h>

#include "io/blockfile.h"
#include "io/spill.h"

/* A block with one column of every type; row i's values derive from
 * i + seed, and every 5th row is null. */
static weir_block *every_type(size_t rows, int seed) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  const char *names[] = {"b", "i32", "i64", "f32", "f64", "s", "bin"};
  int types[] = {WEIR_TYPE_BOOL, WEIR_TYPE_INT32, WEIR_TYPE_INT64,
                 WEIR_TYPE_FLOAT32, WEIR_TYPE_FLOAT64, WEIR_TYPE_STRING,
                 WEIR_TYPE_BINARY};
  for (int c = 0; c < 7; c++)
    cr_assert_eq(weir_builder_add_column(bld, names[c], types[c]), WEIR_OK);
  int64_t shape[3] = {2, 3, 2};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 3, shape), WEIR_OK);
  int64_t shape2[1] = {5};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "u8", WEIR_DTYPE_UINT8, 1, shape2), WEIR_OK);
  for (size_t r = 0; r < rows; r++) {
    size_t v = r + (size_t)seed;
    int null = v % 5 == 0;
    char s[64];
    int len = snprintf(s, sizeof s, "row %zu é %.*s", v, (int)(v % 17), "xxxxxxxxxxxxxxxxx");
    for (int c = 0; c < 9; c++) {
      if (null && c != 8) {
        cr_assert_eq(weir_builder_append_null(bld, (size_t)c), WEIR_OK);
        continue;
      }
      switch (c) {
      case 0: weir_builder_append_bool(bld, 0, v % 3 == 0); break;
      case 1: weir_builder_append_int64(bld, 1, (int64_t)v * 3 - 100); break;
      case 2: weir_builder_append_int64(bld, 2, (int64_t)v * 1000003); break;
      case 3: weir_builder_append_float64(bld, 3, (double)v / 8); break;
      case 4: weir_builder_append_float64(bld, 4, (double)v / 3); break;
      case 5: weir_builder_append_string(bld, 5, s, (size_t)len); break;
      case 6: weir_builder_append_string(bld, 6, s, (size_t)(v % 7)); break;
      case 7: {
        float t[12];
        for (int k = 0; k < 12; k++) t[k] = (float)v + (float)k / 16;
        weir_builder_append_tensor(bld, 7, t);
        break;
      }
      case 8: {
        uint8_t u[5];
        for (int k = 0; k < 5; k++) u[k] = (uint8_t)(v + (size_t)k);
        weir_builder_append_tensor(bld, 8, u);
        break;
      }
      }
    }
  }
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK, "%s", weir_builder_errmsg(bld));
  weir_builder_destroy(bld);
  return b;
}

/* Two blocks hold the same values, nulls and column descriptions. */
static void assert_same(const weir_block *a, const weir_block *b) {
  cr_assert_eq(weir_block_num_rows(a), weir_block_num_rows(b));
  cr_assert_eq(weir_block_num_columns(a), weir_block_num_columns(b));
  size_t rows = weir_block_num_rows(a);
  for (size_t c = 0; c < weir_block_num_columns(a); c++) {
    weir_column x, y;
    weir_block_column(a, c, &x);
    weir_block_column(b, c, &y);
    cr_assert_str_eq(x.name, y.name);
    cr_assert_eq(x.type, y.type);
    cr_assert_eq(x.dtype, y.dtype);
    cr_assert_eq(x.ndim, y.ndim);
    for (int k = 0; k < x.ndim; k++) cr_assert_eq(x.shape[k], y.shape[k]);
    for (size_t r = 0; r < rows; r++) {
      int va = weir_block_is_valid(a, c, r), vb = weir_block_is_valid(b, c, r);
      cr_assert_eq(va, vb, "%s row %zu validity", x.name, r);
      if (!va) continue;
      if (x.type == WEIR_TYPE_BOOL) {
        cr_assert_eq((((const uint8_t *)x.data)[r / 8] >> (r % 8)) & 1,
                     (((const uint8_t *)y.data)[r / 8] >> (r % 8)) & 1, "%s row %zu", x.name, r);
      } else if (x.type == WEIR_TYPE_STRING || x.type == WEIR_TYPE_BINARY) {
        size_t la = (size_t)(x.offsets[r + 1] - x.offsets[r]);
        size_t lb = (size_t)(y.offsets[r + 1] - y.offsets[r]);
        cr_assert_eq(la, lb, "%s row %zu", x.name, r);
        cr_assert(memcmp((const char *)x.data + x.offsets[r],
                         (const char *)y.data + y.offsets[r], la) == 0);
      } else {
        size_t w = x.type == WEIR_TYPE_INT32 || x.type == WEIR_TYPE_FLOAT32 ? 4 : 8;
        if (x.type == WEIR_TYPE_TENSOR) {
          w = weir_dtype_size(x.dtype);
          for (int k = 0; k < x.ndim; k++) w *= (size_t)x.shape[k];
        }
        cr_assert(memcmp((const char *)x.data + r * w, (const char *)y.data + r * w, w) == 0,
                  "%s row %zu", x.name, r);
      }
    }
  }
}

static weir_block *round_trip(const weir_block *b) {
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_DCtx *dc = ZSTD_createDCtx();
  weir__bytes out = {0};
  uint64_t raw;
  cr_assert_eq(weir__bf_frame(b, cc, 3, &out, &raw), WEIR_OK);
  uint32_t tag;
  uint64_t comp, raw2, rows;
  weir__bf_frame_header(out.p, &tag, &comp, &raw2, &rows);
  cr_assert_eq(tag, WEIR__BF_TAG_FRAME);
  cr_assert_eq(raw2, raw);
  cr_assert_eq(rows, weir_block_num_rows(b));
  cr_assert_eq(comp + WEIR__BF_FRAME_HEADER, out.len);
  weir_block *back;
  char err[256];
  cr_assert_eq(weir__bf_decode(out.p + WEIR__BF_FRAME_HEADER, comp, raw, rows, dc, &back,
                               err, sizeof err), WEIR_OK, "%s", err);
  /* Flipped bytes in the compressed frame are caught (zstd checksum). */
  out.p[WEIR__BF_FRAME_HEADER + comp / 2] ^= 0x5a;
  weir_block *bad = NULL;
  int rc = weir__bf_decode(out.p + WEIR__BF_FRAME_HEADER, comp, raw, rows, dc, &bad, err, sizeof err);
  cr_assert_eq(rc, WEIR_EFORMAT, "corruption must not decode (rc %d)", rc);
  cr_assert_null(bad);
  weir__bytes_free(&out);
  ZSTD_freeCCtx(cc);
  ZSTD_freeDCtx(dc);
  return back;
}

Test(blockfile, every_type_round_trips) {
  weir_block *b = every_type(1000, 0);
  weir_block *back = round_trip(b);
  assert_same(b, back);
  /* Buffers of a decoded block are aligned for SIMD readers. */
  weir_column c;
  weir_block_column(back, 2, &c);
  cr_assert_eq((uintptr_t)c.data % 64, 0);
  weir_block_unref(&back);
  /* A slice that starts mid-byte and mid-string. */
  weir_block *s = NULL;
  cr_assert_eq(weir_block_slice(b, 13, 501, &s), WEIR_OK);
  back = round_trip(s);
  assert_same(s, back);
  weir_block_unref(&back);
  weir_block_unref(&s);
  /* No rows at all. */
  cr_assert_eq(weir_block_slice(b, 0, 0, &s), WEIR_OK);
  back = round_trip(s);
  assert_same(s, back);
  weir_block_unref(&back);
  weir_block_unref(&s);
  weir_block_unref(&b);
}

Test(spill, blocks_come_back_in_order) {
  weir__spill *sp;
  char err[256];
  cr_assert_eq(weir__spill_create(&sp, getenv("WEIR_TEST_TMP"), err, sizeof err), WEIR_OK, "%s", err);
  weir_block *out;
  cr_assert_eq(weir__spill_pop(sp, &out), WEIR_EOF);
  /* Interleave pushes and pops: a FIFO. */
  int pushed = 0, popped = 0;
  for (int round = 0; round < 4; round++) {
    for (int k = 0; k < 5; k++) {
      weir_block *b = every_type(200 + (size_t)pushed, pushed);
      cr_assert_eq(weir__spill_push(sp, b), WEIR_OK, "%s", weir__spill_errmsg(sp));
      weir_block_unref(&b);
      pushed++;
    }
    cr_assert_gt(weir__spill_disk_bytes(sp), 0);
    cr_assert_gt(weir__spill_mem_bytes(sp), 0);
    for (int k = 0; k < 3; k++) {
      cr_assert_eq(weir__spill_pop(sp, &out), WEIR_OK, "%s", weir__spill_errmsg(sp));
      weir_block *expect = every_type(200 + (size_t)popped, popped);
      assert_same(expect, out);
      weir_block_unref(&expect);
      weir_block_unref(&out);
      popped++;
    }
  }
  cr_assert_eq(weir__spill_count(sp), (size_t)(pushed - popped));
  while (weir__spill_pop(sp, &out) == WEIR_OK) {
    weir_block *expect = every_type(200 + (size_t)popped, popped);
    assert_same(expect, out);
    weir_block_unref(&expect);
    weir_block_unref(&out);
    popped++;
  }
  cr_assert_eq(popped, pushed);
  cr_assert_eq(weir__spill_disk_bytes(sp), 0, "space is reclaimed when empty");
  cr_assert_eq(weir__spill_mem_bytes(sp), 0);
  weir__spill_destroy(sp);
}

/* A one-column frame payload written by hand (the layout of blockfile.c:
 * head, one 144-byte descriptor, the name "x", then 64 zero bytes for the
 * buffers at offset 192), compressed and decoded with `rows` rows. */
typedef struct crafted {
  uint32_t type, dtype, ndim;
  int64_t shape[2];
  uint64_t length, nulls, voff, vlen, doff, dlen, ooff, olen;
} crafted;

static int decode_crafted(const crafted *c, weir_block **out) {
  unsigned char raw[256] = {0};
  uint64_t head[2] = {1, c->length};
  memcpy(raw, head, 16);
  unsigned char *d = raw + 16;
  uint32_t d32[4] = {c->type, c->dtype, c->ndim, 1};
  memcpy(d, d32, 16);
  memcpy(d + 16, c->shape, sizeof c->shape);
  uint64_t d64[8] = {c->length, c->nulls, c->voff, c->vlen, c->doff, c->dlen, c->ooff, c->olen};
  memcpy(d + 80, d64, sizeof d64);
  raw[160] = 'x';
  unsigned char comp[512];
  size_t clen = ZSTD_compress(comp, sizeof comp, raw, sizeof raw, 1);
  cr_assert(!ZSTD_isError(clen));
  ZSTD_DCtx *dc = ZSTD_createDCtx();
  char err[256] = "";
  *out = NULL;
  int rc = weir__bf_decode(comp, clen, sizeof raw, c->length, dc, out, err, sizeof err);
  ZSTD_freeDCtx(dc);
  return rc;
}

/* Row counts and shapes from a file whose byte sizes wrap around 64 bits
 * must not pass for the small buffers actually there (they did: a string
 * column then read its offsets far out of bounds). */
Test(blockfile, sizes_that_wrap_are_corrupt) {
  weir_block *b;
  /* The hand-made layout is right: two int64 rows decode. */
  crafted ok = {.type = WEIR_TYPE_INT64, .length = 2, .doff = 192, .dlen = 16};
  cr_assert_eq(decode_crafted(&ok, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), 2);
  weir_block_unref(&b);
  crafted bad[] = {
    /* 2^61 int64 rows: 8 * 2^61 bytes is 0 in 64 bits. */
    {.type = WEIR_TYPE_INT64, .length = (uint64_t)1 << 61, .doff = 192},
    /* (2^61 - 1 + 1) * 8 offset bytes is 0 too. */
    {.type = WEIR_TYPE_STRING, .length = ((uint64_t)1 << 61) - 1, .doff = 192, .ooff = 192},
    /* (length + 7) / 8 bitmap bytes wraps to 0. */
    {.type = WEIR_TYPE_BOOL, .length = UINT64_MAX - 3, .doff = 192},
    /* A [2^31, 2^31] float32 tensor is 2^64 bytes a row. */
    {.type = WEIR_TYPE_TENSOR, .dtype = WEIR_DTYPE_FLOAT32, .ndim = 2,
     .shape = {(int64_t)1 << 31, (int64_t)1 << 31}, .length = 1, .doff = 192},
    /* Negative dimensions whose product wraps to 1. */
    {.type = WEIR_TYPE_TENSOR, .dtype = WEIR_DTYPE_FLOAT32, .ndim = 2,
     .shape = {-1, -1}, .length = 1, .doff = 192, .dlen = 4},
    /* More nulls than rows. */
    {.type = WEIR_TYPE_INT64, .length = 2, .nulls = 3, .doff = 192, .dlen = 16,
     .voff = 208, .vlen = 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(decode_crafted(&bad[i], &b), WEIR_EFORMAT, "case %zu", i);
    cr_assert_null(b, "case %zu", i);
  }
}

Test(spill, bad_folder_is_a_clear_error) {
  weir__spill *sp = NULL;
  char err[256] = "";
  cr_assert_eq(weir__spill_create(&sp, "/nonexistent/folder", err, sizeof err), WEIR_EIO);
  cr_assert_null(sp);
  cr_assert(strstr(err, "/nonexistent/folder"), "%s", err);
}

/* One thread pushes while another pops: every block arrives once, in
 * order (run under TSan in CI). */
static void *pusher(void *arg) {
  weir__spill *sp = arg;
  for (int i = 0; i < 40; i++) {
    weir_block *b = every_type(50 + (size_t)i, i);
    cr_assert_eq(weir__spill_push(sp, b), WEIR_OK, "%s", weir__spill_errmsg(sp));
    weir_block_unref(&b);
  }
  return NULL;
}

Test(spill, concurrent_push_and_pop) {
  weir__spill *sp;
  char err[256];
  cr_assert_eq(weir__spill_create(&sp, getenv("WEIR_TEST_TMP"), err, sizeof err), WEIR_OK, "%s", err);
  pthread_t t;
  pthread_create(&t, NULL, pusher, sp);
  int got = 0;
  for (int spins = 0; got < 40 && spins < 2000000; spins++) {
    weir_block *out;
    int rc = weir__spill_pop(sp, &out);
    if (rc == WEIR_EOF) {
      sched_yield();
      continue;
    }
    cr_assert_eq(rc, WEIR_OK, "%s", weir__spill_errmsg(sp));
    weir_block *expect = every_type(50 + (size_t)got, got);
    assert_same(expect, out);
    weir_block_unref(&expect);
    weir_block_unref(&out);
    got++;
  }
  pthread_join(t, NULL);
  cr_assert_eq(got, 40);
  weir__spill_destroy(sp);
}
