/* Damaged Parquet files never crash or hang weir_read_parquet: truncated
 * files, a wrong magic, corrupt Thrift, page sizes beyond the chunk,
 * impossible declared sizes, dictionary indices out of range and a
 * decompressed size unlike the header's are WEIR_EFORMAT naming the file,
 * row group, column and page (or skipped and counted under on_error =
 * skip); then a seeded mutation loop over pyarrow-written files. */
#include "parquet_util.h"
#include "test_tmpdir.h"

#include "parquet/meta.h"
#include "parquet/thrift.h"

static void make_tmp(void) { tmpdir_make("pq-bad"); }

TestSuite(parquet_malformed, .init = make_tmp, .fini = tmpdir_remove, .timeout = 300);

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *p = malloc(*n + 1);
  cr_assert_eq(fread(p, 1, *n, f), *n);
  fclose(f);
  return p;
}

/* Reads `path` with the given policy; the run's code, its message in msg. */
static int read_it(const char *path, int on_error, char *msg, size_t len, size_t *rows) {
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.on_error = on_error;
  weir_block *b = NULL;
  weir_op *op = weir_read_parquet(p, path, &o);
  /* A schema weir cannot hold is refused when the op is made. */
  int rc = op ? pq_collect(p, op, &b) : weir_pipeline_errcode(p);
  snprintf(msg, len, "%s", weir_pipeline_errmsg(p));
  if (rows) *rows = weir_block_num_rows(b);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  return rc;
}

static void expect_eformat(const char *path, const char *const *words) {
  char msg[2000];
  int rc = read_it(path, WEIR_ON_ERROR_FAIL, msg, sizeof msg, NULL);
  cr_assert_eq(rc, WEIR_EFORMAT, "%s: rc %d (%s)", path, rc, msg);
  cr_assert(strstr(msg, path), "no file name in: %s", msg);
  for (; words && *words; words++) cr_assert(strstr(msg, *words), "no '%s' in: %s", *words, msg);
  /* Skipped and counted under on_error = skip. */
  rc = read_it(path, WEIR_ON_ERROR_SKIP, msg, sizeof msg, NULL);
  cr_assert_eq(rc, WEIR_OK, "skip: %s", msg);
}

Test(parquet_malformed, truncated_magic_and_footer) {
  size_t n;
  unsigned char *f = slurp(pq_fixture("c_zstd_v1_dict.parquet"), &n);
  const size_t cuts[] = {0, 3, 11, n / 2, n - 9, n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    write_file(path_of("t.parquet"), f, cuts[i]);
    expect_eformat(path_of("t.parquet"), NULL);
  }
  unsigned char *g = malloc(n);
  memcpy(g, f, n);
  memcpy(g + n - 4, "PAR2", 4);
  write_file(path_of("m.parquet"), g, n);
  const char *magic[] = {"magic", NULL};
  expect_eformat(path_of("m.parquet"), magic);
  /* Corrupt Thrift: garbage over the footer. */
  memcpy(g, f, n);
  uint32_t flen;
  memcpy(&flen, f + n - 8, 4);
  for (uint32_t k = 0; k < flen; k++) g[n - 8 - flen + k] = (unsigned char)(k * 37 + 0xc5);
  write_file(path_of("c.parquet"), g, n);
  const char *footer[] = {"footer", NULL};
  expect_eformat(path_of("c.parquet"), footer);
  /* A footer length beyond the file: a terabyte would not be allocated. */
  memcpy(g, f, n);
  uint32_t huge = 0xfffffff0u;
  memcpy(g + n - 8, &huge, 4);
  write_file(path_of("h.parquet"), g, n);
  expect_eformat(path_of("h.parquet"), footer);
  free(g);
  free(f);
}

/* The parsed footer of `f`. */
static void footer_of(const unsigned char *f, size_t n, pq_file_meta *m) {
  uint32_t flen;
  memcpy(&flen, f + n - 8, 4);
  uint8_t *buf = malloc(flen);
  memcpy(buf, f + n - 8 - flen, flen);
  char err[300];
  cr_assert_eq(weir__pq_meta_parse(buf, flen, n - 8 - flen, m, err, sizeof err), WEIR_OK, "%s", err);
}

/* Re-encodes the page header at `at` of `f` with `edit` applied and
 * writes the file (the header may change length; the rest follows). */
static void write_edited(const char *path, const unsigned char *f, size_t n, size_t at,
                         void (*edit)(pq_page_header *)) {
  pq_page_header h;
  size_t hl;
  char err[300];
  cr_assert_eq(weir__pq_page_header(f + at, n - at, &h, &hl, err, sizeof err), WEIR_OK, "%s", err);
  edit(&h);
  weir__tw w;
  weir__tw_init(&w);
  weir__tw_struct_begin(&w, 0);
  weir__tw_i32(&w, 1, h.type);
  weir__tw_i32(&w, 2, h.uncompressed_size);
  weir__tw_i32(&w, 3, h.compressed_size);
  weir__tw_struct_begin(&w, h.type == PQ_DICTIONARY_PAGE ? 7 : h.type == PQ_DATA_PAGE_V2 ? 8 : 5);
  weir__tw_i32(&w, 1, h.num_values);
  if (h.type == PQ_DATA_PAGE_V2) {
    weir__tw_i32(&w, 2, h.num_nulls);
    weir__tw_i32(&w, 3, h.num_rows);
    weir__tw_i32(&w, 4, h.encoding);
    weir__tw_i32(&w, 5, h.def_len);
    weir__tw_i32(&w, 6, h.rep_len);
  } else {
    weir__tw_i32(&w, 2, h.encoding);
    if (h.type == PQ_DATA_PAGE) {
      weir__tw_i32(&w, 3, PQ_RLE);
      weir__tw_i32(&w, 4, PQ_RLE);
    }
  }
  weir__tw_struct_end(&w);
  weir__tw_struct_end(&w);
  size_t nn = n - hl + w.len;
  unsigned char *g = malloc(nn);
  memcpy(g, f, at);
  memcpy(g + at, w.p, w.len);
  memcpy(g + at + w.len, f + at + hl, n - at - hl);
  write_file(path, g, nn);
  free(g);
  weir__tw_free(&w);
}

static void huge_compressed(pq_page_header *h) { h->compressed_size = 0x7ffffff0; }
static void huge_uncompressed(pq_page_header *h) { h->uncompressed_size = 0x7ffffff0; }
static void one_more_byte(pq_page_header *h) { h->uncompressed_size += 1; }
static void one_entry_dict(pq_page_header *h) { h->num_values = 1; }

static size_t chunk_start(const pq_chunk *c) {
  return (size_t)(c->dict_page_offset >= 0 ? c->dict_page_offset : c->data_page_offset);
}

Test(parquet_malformed, page_sizes_dictionaries_and_decompression) {
  size_t n;
  unsigned char *f = slurp(pq_fixture("c_zstd_v1_dict.parquet"), &n);
  pq_file_meta m;
  footer_of(f, n, &m);
  /* Column 1 ("i8") of row group 0: its first page. */
  const pq_chunk *c = &m.rgs[0].chunks[1];
  const char *page_words[] = {"row group 0", "'i8'", "page 0", NULL};
  write_edited(path_of("p1.parquet"), f, n, chunk_start(c), huge_compressed);
  expect_eformat(path_of("p1.parquet"), page_words);
  write_edited(path_of("p2.parquet"), f, n, chunk_start(c), huge_uncompressed);
  expect_eformat(path_of("p2.parquet"), page_words);
  write_edited(path_of("p3.parquet"), f, n, chunk_start(c), one_more_byte);
  const char *size_words[] = {"row group 0", "'i8'", "page 0", "decompress", NULL};
  expect_eformat(path_of("p3.parquet"), size_words);
  /* "cat" (column 12) holds three values: a dictionary cut to one entry
   * leaves indices 1 and 2 out of range. */
  const pq_chunk *cat = &m.rgs[0].chunks[12];
  cr_assert_geq(cat->dict_page_offset, 4);
  write_edited(path_of("d.parquet"), f, n, (size_t)cat->dict_page_offset, one_entry_dict);
  const char *dict_words[] = {"row group 0", "'cat'", "dictionary index", NULL};
  expect_eformat(path_of("d.parquet"), dict_words);
  weir__pq_meta_free(&m);
  free(f);
}

Test(parquet_malformed, skip_keeps_the_good_files) {
  size_t n;
  unsigned char *f = slurp(pq_fixture("ds/a.parquet"), &n);
  write_file(path_of("ds/a.parquet"), f, n);
  write_file(path_of("ds/b.parquet"), f, n / 2);
  free(f);
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.on_error = WEIR_ON_ERROR_SKIP;
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, path_of("ds"), &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 100);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 0, &st);
  cr_assert_eq(st.skipped_inputs, 1);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

/* A small deterministic generator, so a failure names its seed. */
static uint64_t rnd_state;
static uint64_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}

Test(parquet_malformed, seeded_mutations_never_crash) {
  const char *files[] = {"rg1.parquet", "c_snappy_v2_dict.parquet", "enc_v2.parquet",
                         "c_gzip_v1_plain.parquet"};
  for (int fi = 0; fi < 4; fi++) {
    size_t n;
    unsigned char *f = slurp(pq_fixture(files[fi]), &n);
    unsigned char *g = malloc(n);
    for (uint64_t seed = 1; seed <= 60; seed++) {
      rnd_state = seed * 0x9e3779b97f4a7c15ull + (uint64_t)fi;
      memcpy(g, f, n);
      size_t len = n;
      int kind = (int)(rnd() % 3);
      int flips = 1 + (int)(rnd() % 8);
      for (int k = 0; k < flips; k++) {
        size_t at = (size_t)(rnd() % n);
        /* Half the time aim at the footer, where sizes and offsets live. */
        if (kind == 1) {
          uint32_t flen;
          memcpy(&flen, f + n - 8, 4);
          at = n - 8 - flen + (size_t)(rnd() % flen);
        }
        g[at] = (unsigned char)rnd();
      }
      if (kind == 2) len = (size_t)(rnd() % n);
      write_file(path_of("x.parquet"), g, len);
      char msg[2000];
      int rc = read_it(path_of("x.parquet"), WEIR_ON_ERROR_FAIL, msg, sizeof msg, NULL);
      cr_assert(rc == WEIR_OK || rc == WEIR_EFORMAT || rc == WEIR_ENOTSUP || rc == WEIR_EINVAL,
                "%s seed %llu: rc %d (%s)", files[fi], (unsigned long long)seed, rc, msg);
      if (rc == WEIR_EFORMAT)
        cr_assert(strstr(msg, "x.parquet"), "seed %llu: %s", (unsigned long long)seed, msg);
      rc = read_it(path_of("x.parquet"), WEIR_ON_ERROR_SKIP, msg, sizeof msg, NULL);
      cr_assert(rc == WEIR_OK || rc == WEIR_ENOTSUP || rc == WEIR_EINVAL,
                "%s seed %llu skip: rc %d (%s)", files[fi], (unsigned long long)seed, rc, msg);
    }
    free(g);
    free(f);
  }
}
