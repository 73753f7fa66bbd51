/* Seeded mutation testing of the file readers and their parsers: valid
 * inputs written by weir (or by hand) are damaged in fixed, reproducible
 * ways (flipped, inserted, duplicated and deleted bytes, truncation at
 * every Nth offset, invalid UTF-8, NUL bytes, huge numbers, deep nesting,
 * very long lines, and for block files corrupted descriptors inside valid
 * compressed frames), and every run must end with WEIR_OK or a clean
 * error that names the file (and the line for line formats), never a
 * crash, a hang or a silent loss: under on_error = skip each row read is
 * either in the output or counted in skipped_rows, or its input is counted
 * in skipped_inputs. Every failure message carries the seed and case, so a
 * single case can be replayed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <weir.h>
#include "test_tmpdir.h"
#include "test_arrow_util.h"
#include "io/blockfile.h"
#include "io/json.h"
#include "io/jsonl_parse.h"

static void make_tmp(void) { tmpdir_make("io-malformed"); }

TestSuite(io_malformed, .init = make_tmp, .fini = tmpdir_remove, .timeout = 120);

/* ---- Deterministic randomness and mutations ------------------------------ */

static uint64_t rnd(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static size_t below(uint64_t *s, size_t n) { return n ? (size_t)(rnd(s) % n) : 0; }

typedef struct bytes {
  unsigned char *p;
  size_t n, cap;
} bytes;

static void b_reserve(bytes *b, size_t more) {
  if (b->p && b->n + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->n + more) cap *= 2;
  b->p = realloc(b->p, cap);
  cr_assert_not_null(b->p);
  b->cap = cap;
}
static void b_put(bytes *b, const void *p, size_t n) {
  b_reserve(b, n);
  memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void b_str(bytes *b, const char *s) { b_put(b, s, strlen(s)); }
/* Inserts `n` bytes at `at`. */
static void b_insert(bytes *b, size_t at, const void *p, size_t n) {
  b_reserve(b, n);
  memmove(b->p + at + n, b->p + at, b->n - at);
  memcpy(b->p + at, p, n);
  b->n += n;
}

enum {
  M_FLIP, M_INSERT, M_DUP, M_DELETE, M_UTF8, M_NUL, M_HUGE_NUM, M_DEEP,
  M_LONG, M_STRUCT, M_NEWLINE, M_KINDS
};
static const char *const m_names[] = {
  "flip", "insert", "duplicate", "delete", "bad-utf8", "nul", "huge-number",
  "deep-nesting", "long-line", "structural", "newline"};

/* Applies one mutation of kind `k` to `b`; `noquote` replaces any '"' it
 * would add (for the quote-free CSV check). */
static void mutate(bytes *b, int k, uint64_t *s, int noquote) {
  size_t at = below(s, b->n + 1);
  unsigned char tmp[64];
  switch (k) {
  case M_FLIP:
    for (size_t i = 0, n = 1 + below(s, 4); i < n && b->n; i++)
      b->p[below(s, b->n)] ^= (unsigned char)(1 + below(s, 255));
    break;
  case M_INSERT: {
    size_t n = 1 + below(s, 16);
    for (size_t i = 0; i < n; i++) tmp[i] = (unsigned char)rnd(s);
    b_insert(b, at, tmp, n);
    break;
  }
  case M_DUP: {
    if (!b->n) break;
    size_t from = below(s, b->n), n = 1 + below(s, 64);
    if (from + n > b->n) n = b->n - from;
    unsigned char *copy = malloc(n);
    memcpy(copy, b->p + from, n);
    b_insert(b, at, copy, n);
    free(copy);
    break;
  }
  case M_DELETE: {
    if (at >= b->n) break;
    size_t n = 1 + below(s, 32);
    if (at + n > b->n) n = b->n - at;
    memmove(b->p + at, b->p + at + n, b->n - at - n);
    b->n -= n;
    break;
  }
  case M_UTF8: {
    static const char *const bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xe2\x82", "\x80", "\xf0\x9f\x98", "\xfe\xfe\xff"};
    const char *x = bad[below(s, 8)];
    b_insert(b, at, x, strlen(x));
    break;
  }
  case M_NUL: {
    size_t n = 1 + below(s, 3);
    memset(tmp, 0, n);
    if (below(s, 2) && b->n) b->p[below(s, b->n)] = 0;
    else b_insert(b, at, tmp, n);
    break;
  }
  case M_HUGE_NUM: {
    static const char *const huge[] = {
        "1e999999", "-99999999999999999999999999999", "18446744073709551616",
        "9223372036854775808", "-9223372036854775809", "1e-400", "-0.0e-0",
        "0.00000000000000000000000000000000000000000000000000001",
        "123456789012345678901234567890.123456789e-300", "1E+2147483648"};
    const char *x = huge[below(s, 10)];
    b_insert(b, at, x, strlen(x));
    break;
  }
  case M_DEEP: {
    bytes d = {0};
    int obj = (int)below(s, 2);
    size_t depth = 400 + below(s, 400);
    for (size_t i = 0; i < depth; i++) b_str(&d, obj ? "{\"a\":" : "[");
    if (below(s, 2)) /* closed, or left open */
      for (size_t i = 0; i < depth; i++) b_str(&d, obj ? "}" : "]");
    b_insert(b, at, d.p, d.n);
    free(d.p);
    break;
  }
  case M_LONG: {
    size_t n = 100000 + below(s, 100000);
    unsigned char *x = malloc(n);
    memset(x, below(s, 2) ? 'x' : '7', n);
    b_insert(b, at, x, n);
    free(x);
    break;
  }
  case M_STRUCT: {
    static const char st[] = "{}[]\",:\n\r\\ \t";
    for (size_t i = 0, n = 1 + below(s, 3); i < n && b->n; i++)
      b->p[below(s, b->n)] = (unsigned char)st[below(s, sizeof st - 1)];
    break;
  }
  case M_NEWLINE:
    b_insert(b, at, "\n", 1);
    break;
  }
  if (noquote)
    for (size_t i = 0; i < b->n; i++)
      if (b->p[i] == '"') b->p[i] = '\'';
}

static bytes read_bytes(const char *path) {
  bytes b = {0};
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  unsigned char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) b_put(&b, buf, got);
  fclose(f);
  return b;
}

/* ---- Running a reader and checking what came out ------------------------- */

enum { R_JSONL, R_CSV, R_TEXT, R_BLOCKS };

typedef struct result {
  int rc;
  uint64_t rows, skipped_rows, skipped_inputs;
  char msg[2048];
} result;

/* 1 when `s[0..n)` is valid UTF-8 (what text readers promise). */
static int utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n) return 0;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

/* Reads every byte a block claims to hold (ASan sees any that is not
 * there) and checks the invariants its consumers rely on. Returns a
 * checksum so the reads are not optimised away. */
static uint64_t touch_block(const weir_block *b, int text, const char *where) {
  uint64_t sum = 0;
  size_t rows = weir_block_num_rows(b);
  for (size_t c = 0; c < weir_block_num_columns(b); c++) {
    weir_column v;
    cr_assert_eq(weir_block_column(b, c, &v), WEIR_OK);
    cr_assert_eq(v.length, rows, "%s: column %s length", where, v.name);
    cr_assert_leq(v.null_count, rows, "%s: column %s null_count", where, v.name);
    if (v.validity)
      for (size_t i = 0; i < (rows + 7) / 8; i++) sum += v.validity[i];
    size_t width = 0;
    switch (v.type) {
    case WEIR_TYPE_BOOL: width = 0; for (size_t i = 0; i < (rows + 7) / 8; i++) sum += ((const uint8_t *)v.data)[i]; break;
    case WEIR_TYPE_INT32: case WEIR_TYPE_FLOAT32: width = 4; break;
    case WEIR_TYPE_INT64: case WEIR_TYPE_FLOAT64: width = 8; break;
    case WEIR_TYPE_STRING: case WEIR_TYPE_BINARY:
      cr_assert_geq(v.offsets[0], 0, "%s: column %s offsets", where, v.name);
      for (size_t r = 0; r < rows; r++) {
        cr_assert_leq(v.offsets[r], v.offsets[r + 1], "%s: column %s offsets", where, v.name);
        const unsigned char *s = (const unsigned char *)v.data + v.offsets[r];
        size_t n = (size_t)(v.offsets[r + 1] - v.offsets[r]);
        for (size_t k = 0; k < n; k++) sum += s[k];
        if (text && v.type == WEIR_TYPE_STRING && weir_block_is_valid(b, c, r))
          cr_assert(utf8_ok(s, n), "%s: column %s row %zu is not UTF-8", where, v.name, r);
      }
      break;
    case WEIR_TYPE_TENSOR: {
      cr_assert(v.ndim >= 1 && v.ndim <= WEIR_TENSOR_MAX_DIMS, "%s: ndim %d", where, v.ndim);
      width = weir_dtype_size(v.dtype);
      cr_assert_gt(width, 0, "%s: dtype %d", where, v.dtype);
      for (int d = 0; d < v.ndim; d++) {
        cr_assert_geq(v.shape[d], 0, "%s: shape[%d] = %lld", where, d, (long long)v.shape[d]);
        width *= (size_t)v.shape[d];
      }
      break;
    }
    default:
      cr_assert_fail("%s: column %s has type %d", where, v.name, v.type);
    }
    if (width) {
      cr_assert_eq((uintptr_t)v.data % (width % 8 == 0 ? 8 : width % 4 == 0 ? 4 : 1), 0,
                   "%s: column %s data misaligned", where, v.name);
      const unsigned char *d = v.data;
      for (size_t k = 0; k < rows * width; k += 7) sum += d[k];
      if (rows) sum += d[rows * width - 1];
    }
  }
  return sum;
}

/* Thousands of expected warnings and errors would bury a real failure. */
static void quiet(void *user, int level, const char *msg) {
  (void)user;
  (void)level;
  (void)msg;
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2,
                             .log_fn = quiet};
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

static volatile uint64_t sink_sum;

static void run_reader(int kind, const char *uri, const weir_read_options *o, result *res,
                       const char *where) {
  memset(res, 0, sizeof *res);
  weir_pipeline *p = new_pipeline();
  weir_op *op = kind == R_JSONL ? weir_read_jsonl(p, uri, o)
                : kind == R_CSV ? weir_read_csv(p, uri, o)
                : kind == R_TEXT ? weir_read_text(p, uri, o)
                                 : weir_read_blocks(p, uri, o);
  cr_assert_not_null(op, "%s: %s", where, weir_pipeline_errmsg(p));
  weir_iter *it;
  int rc = weir_pipeline_iter(p, op, NULL, &it);
  cr_assert_eq(rc, WEIR_OK, "%s: %s", where, weir_pipeline_errmsg(p));
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    res->rows += weir_block_num_rows(b);
    sink_sum += touch_block(b, kind != R_BLOCKS, where);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  res->rc = rc == WEIR_EOF ? WEIR_OK : rc;
  snprintf(res->msg, sizeof res->msg, "%s", res->rc ? weir_pipeline_errmsg(p) : "");
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, i, &st), WEIR_OK);
    res->skipped_rows += st.skipped_rows;
    res->skipped_inputs += st.skipped_inputs;
  }
  weir_pipeline_destroy(p);
}

/* A failed run ends with WEIR_EFORMAT and a message naming the file; for
 * a malformed row of a line format, file:line (or its byte offset). */
static void check_error(const result *r, const char *path, int lines, const char *where) {
  cr_assert_eq(r->rc, WEIR_EFORMAT, "%s: rc %s (%s)", where, weir_err_name(r->rc), r->msg);
  const char *at = strstr(r->msg, path);
  cr_assert_not_null(at, "%s: message does not name %s: %s", where, path, r->msg);
  if (lines && !strstr(r->msg, "zstd") && !strstr(r->msg, "gzip") &&
      !strstr(r->msg, "quoted field") && !strstr(r->msg, "bad header")) {
    const char *after = at + strlen(path);
    cr_assert((after[0] == ':' && after[1] >= '1' && after[1] <= '9') ||
              strncmp(after, " (line at byte offset", 21) == 0,
              "%s: message has no line: %s", where, r->msg);
  }
}

/* Rows of a JSONL text: lines that hold more than blanks (a leading BOM
 * and spaces, tabs and CRs are blank, as the reader has it). */
static uint64_t jsonl_rows(const bytes *b) {
  uint64_t rows = 0;
  const unsigned char *p = b->p, *end = b->p + b->n;
  while (p < end) {
    const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
    const unsigned char *e = nl ? nl : end;
    const unsigned char *q = p;
    if (e - q >= 3 && memcmp(q, "\xef\xbb\xbf", 3) == 0) q += 3;
    while (q < e && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    rows += q < e;
    p = nl ? nl + 1 : end;
  }
  return rows;
}

/* Lines of a text file: every line is a row, empty ones too. */
static uint64_t text_lines(const bytes *b) {
  uint64_t n = 0;
  for (size_t i = 0; i < b->n; i++) n += b->p[i] == '\n';
  return n + (b->n && b->p[b->n - 1] != '\n');
}

/* Records of a CSV text without quotes: lines after the header that are
 * not empty (a lone CR or BOM is empty too). */
static uint64_t csv_rows_noquote(const bytes *b) {
  uint64_t rows = 0;
  int header = 1;
  const unsigned char *p = b->p, *end = b->p + b->n;
  while (p < end) {
    const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
    const unsigned char *e = nl ? nl : end;
    const unsigned char *q = p;
    if (e - q >= 3 && memcmp(q, "\xef\xbb\xbf", 3) == 0) q += 3;
    int blank = q == e || (e - q == 1 && *q == '\r');
    if (header) header = 0;
    else rows += !blank;
    p = nl ? nl + 1 : end;
  }
  return rows;
}

/* Writes `in` to `path` and reads it twice, failing then skipping: the
 * failing run gives all `want_rows` or a clean error naming the file (and
 * the line when `lines`); the skipping run succeeds. */
static void run_fail_and_skip(int kind, const char *path, const bytes *in,
                              const weir_read_options *base, uint64_t want_rows, int lines,
                              const char *where, result *fail, result *skip) {
  write_file(path, in->p, in->n);
  weir_read_options o = *base;
  o.on_error = WEIR_ON_ERROR_FAIL;
  run_reader(kind, path, &o, fail, where);
  if (fail->rc == WEIR_OK)
    cr_assert_eq(fail->rows, want_rows, "%s: ok but %llu rows of %llu", where,
                 (unsigned long long)fail->rows, (unsigned long long)want_rows);
  else
    check_error(fail, path, lines, where);
  o.on_error = WEIR_ON_ERROR_SKIP;
  run_reader(kind, path, &o, skip, where);
  cr_assert_eq(skip->rc, WEIR_OK, "%s: skip run: %s (%s)", where, weir_err_name(skip->rc),
               skip->msg);
}

/* One mutated input through a line reader twice, failing and skipping:
 *  - the failing run gives every row or a clean error naming file:line;
 *  - the skipping run succeeds and accounts for every row exactly. */
static void check_lines_case(int kind, const char *path, const bytes *in, uint64_t want_rows,
                             const weir_read_options *base, const char *where) {
  result fail, skip;
  run_fail_and_skip(kind, path, in, base, want_rows, 1, where, &fail, &skip);
  cr_assert_eq(skip.skipped_inputs, 0, "%s: a plain file given up", where);
  cr_assert_eq(skip.rows + skip.skipped_rows, want_rows,
               "%s: %llu rows out + %llu skipped != %llu rows in", where,
               (unsigned long long)skip.rows, (unsigned long long)skip.skipped_rows,
               (unsigned long long)want_rows);
  if (fail.rc == WEIR_OK)
    cr_assert(skip.rows == fail.rows && skip.skipped_rows == 0, "%s: skip differs", where);
  else
    cr_assert_gt(skip.skipped_rows, 0, "%s: failed, but nothing skipped", where);
}

/* ---- JSONL ----------------------------------------------------------------- */

static bytes jsonl_seed(size_t rows) {
  bytes b = {0};
  char line[512];
  for (size_t i = 0; i < rows; i++) {
    snprintf(line, sizeof line,
             "{\"id\": %zu, \"text\": \"row %zu \\u00e9\\ud83d\\ude00 \\\"q\\\"\", \"score\": %zu.25, "
             "\"ok\": %s, \"tags\": [\"a\", {\"b\": null}], \"n\": null}\n",
             i, i, i, i % 2 ? "true" : "false");
    b_str(&b, line);
  }
  return b;
}

/* A line format under test: its reader, a name for messages, the file
 * the cases are written to, and the rows a (damaged) file holds. */
typedef struct line_format {
  int kind;
  const char *label, *file;
  uint64_t (*rows)(const bytes *b);
  int noquote;               /* mutations add no '"' */
} line_format;

/* `cases` seeded mutations of `seedb` (every fifth mutated twice when
 * `twice`), then the file cut every `step` bytes (0 = not cut), each read
 * and checked by check_lines_case. */
static void line_mutations(const line_format *f, const bytes *seedb, uint64_t seed, int cases,
                           int twice, size_t step, const weir_read_options *o) {
  const char *path = path_of(f->file);
  for (int c = 0; c < cases; c++) {
    uint64_t s = seed * 1000003u + (uint64_t)c;
    bytes m = {0};
    b_put(&m, seedb->p, seedb->n);
    int k = (int)(c % M_KINDS);
    mutate(&m, k, &s, f->noquote);
    if (twice && c % 5 == 4) mutate(&m, (int)below(&s, M_KINDS), &s, f->noquote);
    char where[160];
    snprintf(where, sizeof where, "%s seed %llu case %d (%s)", f->label,
             (unsigned long long)seed, c, m_names[k]);
    check_lines_case(f->kind, path, &m, f->rows(&m), o, where);
    free(m.p);
  }
  for (size_t at = 0; step && at < seedb->n; at += step) {
    bytes m = {0};
    b_put(&m, seedb->p, at);
    char where[160];
    snprintf(where, sizeof where, "%s truncated at %zu", f->label, at);
    check_lines_case(f->kind, path, &m, f->rows(&m), o, where);
    free(m.p);
  }
}

#define JSONL_CASES 330

static void jsonl_mutations(const char *columns, uint64_t seed, int cases) {
  bytes seedb = jsonl_seed(24);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .columns = columns,
                         .rows_per_block = 7};
  line_format f = {R_JSONL, columns ? "jsonl columns" : "jsonl", "m.jsonl", jsonl_rows, 0};
  line_mutations(&f, &seedb, seed, cases, 1, 37, &o);
  free(seedb.p);
}

Test(io_malformed, jsonl_inferred_columns) { jsonl_mutations(NULL, 1, JSONL_CASES); }

Test(io_malformed, jsonl_given_columns) {
  jsonl_mutations("id:int64, text:string, score:float64, ok:bool, tags:string", 2, 220);
}

/* Writes `plain` with weir's own JSONL writer to `out` (.zst or .gz). */
static void write_compressed(const char *plain, const char *out) {
  weir_pipeline *p = new_pipeline();
  weir_op *w = weir_write_jsonl(p, weir_read_jsonl(p, plain, NULL), out, NULL);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* A compressed input: if it decompresses, every row arrives (the frames
 * carry checksums); if not, the run fails naming it, and under skip the
 * input is counted as given up. */
static void check_compressed_case(const char *path, const bytes *in, uint64_t rows,
                                  const char *where) {
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .rows_per_block = 5};
  result fail, skip;
  run_fail_and_skip(R_JSONL, path, in, &o, rows, 0, where, &fail, &skip);
  if (fail.rc == WEIR_OK) {
    cr_assert(skip.rows == rows && skip.skipped_rows == 0 && skip.skipped_inputs == 0,
              "%s: skip run differs", where);
  } else if (strstr(fail.msg, "zstd") || strstr(fail.msg, "gzip")) {
    cr_assert_eq(skip.skipped_inputs, 1, "%s: corrupt input not counted (%s)", where, fail.msg);
    cr_assert_leq(skip.rows, rows, "%s (damage in a trailer comes after every row)", where);
  } else {
    /* It decompressed to text that does not parse. */
    cr_assert_gt(skip.skipped_rows + skip.skipped_inputs, 0, "%s: nothing counted", where);
  }
}

static void compressed_mutations(const char *suffix, uint64_t seed) {
  bytes plain = jsonl_seed(60);
  write_file(path_of("plain.jsonl"), plain.p, plain.n);
  char name[64];
  snprintf(name, sizeof name, "good.jsonl%s", suffix);
  write_compressed(path_of("plain.jsonl"), path_of(name));
  bytes z = read_bytes(path_of(name));
  snprintf(name, sizeof name, "m.jsonl%s", suffix);
  const char *path = path_of(name);
  for (int c = 0; c < 120; c++) {
    uint64_t s = seed * 1000003u + (uint64_t)c;
    bytes m = {0};
    b_put(&m, z.p, z.n);
    int k = c % 4 == 3 ? M_DUP : c % 4 == 2 ? M_INSERT : c % 4 == 1 ? M_DELETE : M_FLIP;
    mutate(&m, k, &s, 0);
    char where[160];
    snprintf(where, sizeof where, "%s seed %llu case %d (%s)", suffix, (unsigned long long)seed, c,
             m_names[k]);
    check_compressed_case(path, &m, 60, where);
    free(m.p);
  }
  /* Truncated at every Nth offset: always an error, never fewer rows. */
  size_t step = z.n / 40 ? z.n / 40 : 1;
  for (size_t at = 0; at < z.n; at += step) {
    char where[160];
    snprintf(where, sizeof where, "%s truncated at %zu of %zu", suffix, at, z.n);
    write_file(path, z.p, at);
    weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION};
    result r;
    run_reader(R_JSONL, path, &o, &r, where);
    check_error(&r, path, 0, where);
    cr_assert(strstr(r.msg, "truncated") || strstr(r.msg, "corrupt"), "%s: %s", where, r.msg);
    o.on_error = WEIR_ON_ERROR_SKIP;
    run_reader(R_JSONL, path, &o, &r, where);
    cr_assert_eq(r.rc, WEIR_OK, "%s: %s", where, r.msg);
    cr_assert_eq(r.skipped_inputs, 1, "%s", where);
    cr_assert_lt(r.rows, 60, "%s", where);
  }
  free(z.p);
  free(plain.p);
}

Test(io_malformed, jsonl_zst) { compressed_mutations(".zst", 3); }
Test(io_malformed, jsonl_gz) { compressed_mutations(".gz", 4); }

/* ---- CSV and text ---------------------------------------------------------- */

static bytes csv_seed(int quotes) {
  bytes b = {0};
  b_str(&b, "id,name,score,ok,note\n");
  char line[256];
  for (int i = 0; i < 30; i++) {
    if (quotes && i % 3 == 0)
      snprintf(line, sizeof line, "%d,\"n, %d \"\"q\"\"\",%d.5,%s,\"two\nlines é\"\r\n", i, i, i,
               i % 2 ? "true" : "FALSE");
    else
      snprintf(line, sizeof line, "%d,name %d é,%d.5,%s,%s\n", i, i, i, i % 2 ? "true" : "false",
               i % 4 ? "x" : "");
    b_str(&b, line);
  }
  return b;
}

Test(io_malformed, csv_without_quotes_accounts_for_every_row) {
  bytes seedb = csv_seed(0);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .rows_per_block = 4};
  line_format f = {R_CSV, "csv", "m.csv", csv_rows_noquote, 1};
  line_mutations(&f, &seedb, 5, 260, 0, 29, &o);
  free(seedb.p);
}

/* With quotes a damaged file has no one right reading, so the check is
 * weaker: a clean answer either way, the skipping run agrees with a
 * successful failing run, and a failed run's damage is counted. */
Test(io_malformed, csv_with_quotes) {
  bytes seedb = csv_seed(1);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .rows_per_block = 4};
  const char *path = path_of("q.csv");
  for (int c = 0; c < 260; c++) {
    uint64_t s = 6 * 1000003u + (uint64_t)c;
    bytes m = {0};
    if (c % 10 == 9) {
      b_put(&m, seedb.p, below(&s, seedb.n)); /* truncated, perhaps inside quotes */
    } else {
      b_put(&m, seedb.p, seedb.n);
      mutate(&m, (int)(c % M_KINDS), &s, 0);
    }
    char where[160];
    snprintf(where, sizeof where, "csv quoted seed 6 case %d (%s)", c,
             c % 10 == 9 ? "truncate" : m_names[c % M_KINDS]);
    write_file(path, m.p, m.n);
    result fail, skip;
    o.on_error = WEIR_ON_ERROR_FAIL;
    run_reader(R_CSV, path, &o, &fail, where);
    if (fail.rc != WEIR_OK) check_error(&fail, path, 1, where);
    o.on_error = WEIR_ON_ERROR_SKIP;
    run_reader(R_CSV, path, &o, &skip, where);
    cr_assert_eq(skip.rc, WEIR_OK, "%s: skip run: %s (%s)", where, weir_err_name(skip.rc), skip.msg);
    if (fail.rc == WEIR_OK)
      cr_assert(skip.rows == fail.rows && skip.skipped_rows == 0 && skip.skipped_inputs == 0,
                "%s: skip run differs", where);
    else
      cr_assert_gt(skip.skipped_rows + skip.skipped_inputs, 0, "%s: nothing counted", where);
    free(m.p);
  }
  free(seedb.p);
}

Test(io_malformed, text_lines) {
  bytes seedb = {0};
  for (int i = 0; i < 40; i++) {
    char line[96];
    snprintf(line, sizeof line, i % 7 == 3 ? "\r\n" : "line %d: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac %s\n",
             i, i % 2 ? "\xf0\x9f\x98\x80" : "");
    b_str(&seedb, line);
  }
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .rows_per_block = 6};
  line_format f = {R_TEXT, "text", "m.txt", text_lines, 0};
  line_mutations(&f, &seedb, 7, 220, 0, 0, &o);
  free(seedb.p);
}

/* ---- Block files ----------------------------------------------------------- */

static weir_block *blocks_src[3];

static int emit_src(void *user, size_t task, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(blocks_src[task]));
}

static void write_block_file(const char *path) {
  for (int i = 0; i < 3; i++) blocks_src[i] = make_all_types((size_t)(5 + 4 * i));
  weir_pipeline *p = new_pipeline();
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "blocks", 3, emit_src, NULL, &so);
  weir_op *w = weir_write_blocks(p, src, path, NULL);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  for (int i = 0; i < 3; i++) weir_block_unref(&blocks_src[i]);
}

#define BLOCK_ROWS (5 + 9 + 13)

/* A damaged block file: all of its rows, or an error naming it (or,
 * under skip, the input counted as given up). */
static void check_blocks_case(const char *path, const bytes *in, const char *where) {
  write_file(path, in->p, in->n);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION};
  result fail, skip;
  run_reader(R_BLOCKS, path, &o, &fail, where);
  if (fail.rc == WEIR_OK)
    cr_assert_eq(fail.rows, BLOCK_ROWS, "%s: ok with %llu rows", where, (unsigned long long)fail.rows);
  else
    check_error(&fail, path, 0, where);
  o.on_error = WEIR_ON_ERROR_SKIP;
  run_reader(R_BLOCKS, path, &o, &skip, where);
  cr_assert_eq(skip.rc, WEIR_OK, "%s: skip run: %s (%s)", where, weir_err_name(skip.rc), skip.msg);
  if (fail.rc == WEIR_OK)
    cr_assert(skip.rows == BLOCK_ROWS && skip.skipped_inputs == 0, "%s: skip differs", where);
  else
    /* Damage in the footer comes after every block went out. */
    cr_assert(skip.skipped_inputs == 1 && skip.rows <= BLOCK_ROWS, "%s: %llu rows, %llu inputs skipped",
              where, (unsigned long long)skip.rows, (unsigned long long)skip.skipped_inputs);
}

Test(io_malformed, block_files) {
  write_block_file(path_of("good.weir"));
  bytes good = read_bytes(path_of("good.weir"));
  const char *path = path_of("m.weir");
  for (int c = 0; c < 200; c++) {
    uint64_t s = 8 * 1000003u + (uint64_t)c;
    bytes m = {0};
    b_put(&m, good.p, good.n);
    int k = c % 4 == 3 ? M_DUP : c % 4 == 2 ? M_INSERT : c % 4 == 1 ? M_DELETE : M_FLIP;
    if (c % 8 == 5) {
      /* A length in a frame header (or the footer's count) changed. */
      size_t off = WEIR__BF_HEADER_SIZE;
      int frame = (int)below(&s, 4);
      for (int f = 0; f < frame && off + WEIR__BF_FRAME_HEADER <= m.n; f++) {
        uint64_t clen;
        memcpy(&clen, m.p + off + 8, 8);
        off += WEIR__BF_FRAME_HEADER + clen;
      }
      size_t field = 8 + 8 * below(&s, 3);
      uint64_t v;
      memcpy(&v, m.p + off + field, 8);
      static const uint64_t vals[] = {0, 1, 7, 1u << 20, (uint64_t)1 << 39, (uint64_t)1 << 40,
                                      UINT64_MAX, UINT64_MAX / 2};
      v = below(&s, 3) ? vals[below(&s, 8)] : v + (uint64_t)below(&s, 64) - 32;
      memcpy(m.p + off + field, &v, 8);
      k = M_KINDS;
    } else {
      mutate(&m, k, &s, 0);
    }
    char where[160];
    snprintf(where, sizeof where, "blocks seed 8 case %d (%s)", c, k < M_KINDS ? m_names[k] : "header length");
    check_blocks_case(path, &m, where);
    free(m.p);
  }
  size_t step = good.n / 60 ? good.n / 60 : 1;
  for (size_t at = 0; at < good.n; at += step) {
    bytes m = {0};
    b_put(&m, good.p, at);
    char where[160];
    snprintf(where, sizeof where, "blocks truncated at %zu of %zu", at, good.n);
    check_blocks_case(path, &m, where);
    free(m.p);
  }
  free(good.p);
}

/* Damage inside a frame's payload, recompressed so the checksum holds:
 * what a buggy or hostile writer could produce. Decoding must refuse it
 * or give a block whose every claimed byte is there. */
Test(io_malformed, block_frame_payloads) {
  weir_block *b = make_all_types(11);
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_DCtx *dc = ZSTD_createDCtx();
  weir__bytes frame = {0};
  uint64_t raw;
  cr_assert_eq(weir__bf_frame(b, cc, 1, &frame, &raw), WEIR_OK);
  uint32_t tag;
  uint64_t clen, raw2, rows;
  weir__bf_frame_header(frame.p, &tag, &clen, &raw2, &rows);
  unsigned char *payload = malloc(raw);
  cr_assert_eq(ZSTD_decompress(payload, raw, frame.p + WEIR__BF_FRAME_HEADER, clen), raw);
  /* Where the descriptors are: after the 16-byte head, each 144 bytes
   * and its name padded to 8. */
  size_t ncols = weir_block_num_columns(b), desc[32];
  size_t off = 16;
  for (size_t c = 0; c < ncols; c++) {
    desc[c] = off;
    uint32_t nl;
    memcpy(&nl, payload + off + 12, 4);
    off += 144 + ((nl + 7) & ~(size_t)7);
  }
  int ok = 0, bad = 0;
  unsigned char *m = malloc(raw);
  size_t zcap = ZSTD_compressBound(raw);
  unsigned char *z = malloc(zcap);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  for (int c = 0; c < 600; c++) {
    uint64_t s = 9 * 1000003u + (uint64_t)c;
    memcpy(m, payload, raw);
    uint64_t frows = rows;
    const char *what;
    size_t col = below(&s, ncols);
    unsigned char *d = m + desc[col];
    static const uint64_t vals[] = {0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 1000, (uint64_t)1 << 32,
                                    (uint64_t)1 << 61, ((uint64_t)1 << 61) - 1, UINT64_MAX,
                                    UINT64_MAX - 6, (uint64_t)INT64_MAX};
    uint64_t v = below(&s, 2) ? vals[below(&s, 17)] : rnd(&s) % 4096;
    switch (c % 8) {
    case 0: { /* any descriptor field */
      size_t field = 16 + 8 * below(&s, 16);
      memcpy(d + field, &v, 8);
      what = "descriptor field";
      break;
    }
    case 1: /* type, dtype, ndim or name length */
      memcpy(d + 4 * below(&s, 4), &v, 4);
      what = "descriptor word";
      break;
    case 2: /* the row count, everywhere it is said */
      for (size_t k = 0; k < ncols; k++) memcpy(m + desc[k] + 80, &v, 8);
      memcpy(m + 8, &v, 8);
      frows = v;
      what = "row count";
      break;
    case 3: { /* a buffer offset moved a little */
      size_t field = 96 + 16 * below(&s, 3);
      uint64_t o;
      memcpy(&o, d + field, 8);
      o += below(&s, 17) - 8;
      memcpy(d + field, &o, 8);
      what = "buffer offset";
      break;
    }
    case 4: { /* a string offset or a value changed */
      uint64_t ooff;
      memcpy(&ooff, d + 128, 8);
      size_t at = ooff ? (size_t)ooff + 8 * below(&s, 12) : desc[col] + 144 + below(&s, 64);
      if (at + 8 <= raw) memcpy(m + at, &v, 8);
      what = "offset value";
      break;
    }
    case 5: /* a tensor shape: anything, or negative */
      if (below(&s, 2)) v = (uint64_t)(-(int64_t)below(&s, 4) - 1);
      memcpy(d + 16 + 8 * below(&s, 8), &v, 8);
      what = "shape";
      break;
    case 6: /* the null count */
      memcpy(d + 88, &v, 8);
      what = "null count";
      break;
    default: /* random bytes anywhere */
      for (int k = 0; k < 4; k++) m[below(&s, raw)] ^= (unsigned char)(1 + below(&s, 255));
      what = "payload bytes";
      break;
    }
    size_t zn = ZSTD_compress2(cc, z, zcap, m, raw);
    cr_assert(!ZSTD_isError(zn));
    weir_block *out = NULL;
    char err[256] = "";
    int rc = weir__bf_decode(z, zn, raw, frows, dc, &out, err, sizeof err);
    char where[160];
    snprintf(where, sizeof where, "payload seed 9 case %d (%s, column %zu)", c, what, col);
    cr_assert(rc == WEIR_OK || rc == WEIR_EFORMAT, "%s: rc %s", where, weir_err_name(rc));
    if (rc == WEIR_OK) {
      ok++;
      sink_sum += touch_block(out, 0, where);
      weir_block_unref(&out);
    } else {
      bad++;
      cr_assert(strlen(err) > 10, "%s: no message", where);
    }
  }
  cr_assert_gt(bad, 100, "most damage is caught (%d ok)", ok);
  free(z);
  free(m);
  free(payload);
  weir__bytes_free(&frame);
  ZSTD_freeCCtx(cc);
  ZSTD_freeDCtx(dc);
  weir_block_unref(&b);
}

/* ---- The JSON lexer on its own --------------------------------------------- */

/* Lines given to the lexer end with '\n' and 64 bytes of padding, as the
 * chunker makes them; ASan sees any read past that. */
Test(io_malformed, json_lexer_and_line_parser) {
  bytes seedb = jsonl_seed(1);
  weir__schema sch = {0};
  cr_assert_eq(weir__schema_parse("id:int64,text:string,score:float64,ok:bool,tags:string,n:string",
                                   &sch, NULL, 0), WEIR_OK);
  weir__jsonl_parser ps;
  cr_assert_eq(weir__jsonl_parser_init(&ps, &sch, sch.n, 0, 0), WEIR_OK);
  int good = 0, badn = 0;
  for (int c = 0; c < 3000; c++) {
    uint64_t s = 10 * 1000003u + (uint64_t)c;
    bytes m = {0};
    b_put(&m, seedb.p, seedb.n - 1); /* without its newline */
    mutate(&m, (int)(c % M_KINDS), &s, 0);
    /* One line: cut at the first newline, as the chunker would. */
    unsigned char *nl = memchr(m.p, '\n', m.n);
    size_t n = nl ? (size_t)(nl - m.p) : m.n;
    char *line = malloc(n + 1 + 64);
    memcpy(line, m.p, n);
    line[n] = '\n';
    memset(line + n + 1, 0, 64);
    weir__jval v;
    const char *why = NULL;
    const char *end = weir__json_value(line, &v, &why);
    cr_assert(end ? end <= line + n : why != NULL, "case %d: lexer", c);
    weir__jsonl_infer in;
    weir__jsonl_infer_init(&in);
    cr_assert_eq(weir__jsonl_infer_line(&in, line), WEIR_OK, "case %d", c);
    weir__jsonl_infer_free(&in);
    int got = weir__jsonl_parse_line(&ps, line);
    cr_assert(got == 0 || got == 1 || got == WEIR_EFORMAT, "case %d: %d", c, got);
    if (got == 1) good++;
    if (got == WEIR_EFORMAT) {
      badn++;
      cr_assert(ps.why[0], "case %d: no reason", c);
    }
    if (weir__jsonl_parser_rows(&ps) >= 64) {
      weir_block *blk;
      cr_assert_eq(weir__jsonl_parser_block(&ps, &blk), WEIR_OK);
      sink_sum += touch_block(blk, 1, "parser");
      weir_block_unref(&blk);
    }
    free(line);
    free(m.p);
  }
  weir_block *blk;
  cr_assert_eq(weir__jsonl_parser_block(&ps, &blk), WEIR_OK);
  if (blk) sink_sum += touch_block(blk, 1, "parser");
  weir_block_unref(&blk);
  weir__jsonl_parser_free(&ps);
  weir__schema_free(&sch);
  free(seedb.p);
  cr_assert(good > 100 && badn > 100, "%d good, %d bad", good, badn);
}

/* ---- Regressions found by the cases above, kept as plain tests ------------- */

/* A key holding an escaped NUL ("a\u0000b") decodes to bytes that a C
 * string column name cannot hold. */
Test(io_malformed, jsonl_key_with_escaped_nul) {
  const char *path = path_of("nul.jsonl");
  write_str(path, "{\"a\": 1, \"b\": \"x\"}\n{\"a\\u0000b\": 2, \"a\": 3, \"b\": \"y\"}\n"
                  "{\"a\\u0000\": 4, \"b\\u0000\": \"z\"}\n");
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION};
  result r;
  run_reader(R_JSONL, path, &o, &r, "nul key, inferred");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows, 3);
  o.columns = "a:int64,b:string";
  run_reader(R_JSONL, path, &o, &r, "nul key, given");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows, 3);
  /* Only such keys in the inferred rows. */
  write_str(path, "{\"k\\u0000\": 1}\n{\"k\\u0000\": 2, \"k\": 5}\n");
  o.columns = NULL;
  run_reader(R_JSONL, path, &o, &r, "nul key only");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows, 2);
}

/* Rows with no key that is a column still are rows. */
Test(io_malformed, jsonl_rows_without_columns) {
  const char *path = path_of("empty-objects.jsonl");
  write_str(path, "{}\n{ }\n\n{}\n");
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .on_error = WEIR_ON_ERROR_SKIP};
  result r;
  run_reader(R_JSONL, path, &o, &r, "empty objects");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows + r.skipped_rows, 3, "%llu rows, %llu skipped", (unsigned long long)r.rows,
               (unsigned long long)r.skipped_rows);
}

/* A record that cannot be parsed in the middle of a chunk costs that
 * record, not the rest of the chunk. */
Test(io_malformed, csv_bad_record_mid_chunk) {
  const char *path = path_of("mid.csv");
  write_str(path, "a,b\n1,2\n\"x\"y,3\n4,5\n6,7\n\"x\"\"\"z,8\n9,10\n");
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .on_error = WEIR_ON_ERROR_SKIP};
  result r;
  run_reader(R_CSV, path, &o, &r, "mid-chunk");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows + r.skipped_rows, 6, "%llu rows, %llu skipped", (unsigned long long)r.rows,
               (unsigned long long)r.skipped_rows);
  cr_assert_eq(r.rows, 4, "1,2 4,5 6,7 and 9,10 come out");
  cr_assert_eq(r.skipped_rows, 2);
  /* Failing, the first damaged record is named by its line. */
  o.on_error = WEIR_ON_ERROR_FAIL;
  run_reader(R_CSV, path, &o, &r, "mid-chunk, failing");
  check_error(&r, path, 1, "mid-chunk, failing");
  cr_assert(strstr(r.msg, "mid.csv:3"), "%s", r.msg);
}

/* A header that does not parse gives the file up: an error naming it, or
 * under skip one skipped input, and the other files still read. */
Test(io_malformed, csv_bad_header) {
  write_str(path_of("h/a.csv"), "\"a\"x,b\n1,2\n3,4\n");
  write_str(path_of("h/b.csv"), "\"a\"x,b\n5,6\n");
  write_str(path_of("h/c.csv"), "a,b\n7,8\n");
  char dir[700];
  snprintf(dir, sizeof dir, "%s/h", tmpdir);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .columns = "a:int64,b:int64"};
  result r;
  run_reader(R_CSV, dir, &o, &r, "bad header, failing");
  check_error(&r, path_of("h/a.csv"), 0, "bad header, failing");
  o.on_error = WEIR_ON_ERROR_SKIP;
  run_reader(R_CSV, dir, &o, &r, "bad header, skipping");
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.rows, 1);
  cr_assert_eq(r.skipped_inputs, 2);
}
