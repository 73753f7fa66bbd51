/* The pieces under the readers and writers, tested directly: JSON lexing
 * and decoding, JSONL parsing and inference, zstd/gzip streams made by the
 * real CLIs (whole, truncated, corrupt), line chunking of byte ranges, and
 * local listings with globs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <weir.h>

#include "io/chunker.h"
#include "io/codec.h"
#include "io/json.h"
#include "io/jsonl_parse.h"
#include "io/vfs.h"
#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-units"); }

static int have_cli(const char *name) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static int run(const char *fmt, const char *a, const char *b) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

TestSuite(io_units, .init = make_tmp, .fini = tmpdir_remove);

/* A padded, newline-terminated copy of `s`, as the chunker hands lines. */
static const char *line_of(const char *s) {
  static char buf[8192];
  size_t n = strlen(s);
  memcpy(buf, s, n);
  buf[n] = '\n';
  memset(buf + n + 1, 0, 64);
  return buf;
}

/* ---- JSON ------------------------------------------------------------------ */

static char *decode(const char *lit) {
  static char out[1024];
  weir__jval v;
  const char *why = NULL;
  const char *end = weir__json_value(line_of(lit), &v, &why);
  cr_assert_not_null(end, "%s: %s", lit, why);
  cr_assert_eq(v.kind, WEIR__J_STRING);
  size_t n = v.escaped ? weir__json_unescape(v.start + 1, v.end - 1, out)
                       : (size_t)(v.end - v.start - 2);
  if (!v.escaped) memcpy(out, v.start + 1, n);
  out[n] = 0;
  return out;
}

Test(io_units, json_string_escapes_decode_to_utf8) {
  cr_assert_str_eq(decode("\"plain\""), "plain");
  cr_assert_str_eq(decode("\"a\\\"b\\\\c\\/d\""), "a\"b\\c/d");
  cr_assert_str_eq(decode("\"\\b\\f\\n\\r\\t\""), "\b\f\n\r\t");
  cr_assert_str_eq(decode("\"\\u00e9t\\u00E9\""), "été");
  cr_assert_str_eq(decode("\"\\u20ac\""), "€");
  /* A surrogate pair is one code point (U+1F600), four UTF-8 bytes. */
  cr_assert_str_eq(decode("\"\\ud83d\\ude00!\""), "\xf0\x9f\x98\x80!");
  /* A lone surrogate cannot be UTF-8: it becomes U+FFFD. */
  cr_assert_str_eq(decode("\"x\\ud83dy\""), "x\xef\xbf\xbdy");
  cr_assert_str_eq(decode("\"\\ude00\""), "\xef\xbf\xbd");
  /* Raw UTF-8 passes through, long strings cross the 16-byte scan. */
  cr_assert_str_eq(decode("\"日本語のテキスト, long enough to cross several vector loads\""),
                   "日本語のテキスト, long enough to cross several vector loads");
}

static const char *bad(const char *lit) {
  weir__jval v;
  const char *why = NULL;
  const char *end = weir__json_value(line_of(lit), &v, &why);
  cr_assert_null(end, "%s should be rejected", lit);
  cr_assert_not_null(why);
  return why;
}

Test(io_units, json_rejects_malformed_values) {
  bad("\"unterminated");
  bad("\"bad \\x escape\"");
  bad("\"bad \\u12 escape\"");
  bad("\"ctrl \x01 char\"");
  bad("\"bad utf8 \xc3\x28\"");
  bad("\"overlong \xc0\xaf\"");
  bad("\"surrogate in utf8 \xed\xa0\x80\"");
  bad("tru");
  bad("nul");
  bad("-");
  bad("1.");
  bad("1e");
  bad("[1, 2");
  bad("{\"a\" 1}");
  bad("{\"a\": }");
  bad("[1 2]");
}

Test(io_units, json_numbers) {
  weir__jval v;
  const char *why;
  cr_assert_not_null(weir__json_value(line_of("-9223372036854775808"), &v, &why));
  cr_assert_eq(v.kind, WEIR__J_INT);
  cr_assert_eq(v.i, INT64_MIN);
  cr_assert_not_null(weir__json_value(line_of("9223372036854775808"), &v, &why));
  cr_assert_eq(v.kind, WEIR__J_FLOAT, "too big for int64: a float");
  cr_assert_float_eq(v.f, 9223372036854775808.0, 1);
  const char *floats[] = {"0.1", "-2.5e-3", "1E22", "123456789.123456789",
                          "0.000001", "1e-320", "2.2250738585072014e-308",
                          "17976931348623157e292"};
  for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
    cr_assert_not_null(weir__json_value(line_of(floats[i]), &v, &why), "%s", floats[i]);
    cr_assert_eq(v.kind, WEIR__J_FLOAT, "%s", floats[i]);
    cr_assert_eq(v.f, strtod(floats[i], NULL), "%s: %.17g", floats[i], v.f);
  }
  char out[32];
  double vals[] = {0.1, 1.0 / 3, 1e300, -5.0, 123.25, 5e-324};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    size_t n = weir__json_double(vals[i], out);
    cr_assert_eq(strlen(out), n);
    cr_assert_eq(strtod(out, NULL), vals[i], "%s", out);
  }
}

Test(io_units, json_escape_round_trips) {
  const char *s = "q\"b\\n\nt\tc\x01 é €";
  char enc[256];
  size_t n = weir__json_escape(s, strlen(s), enc);
  enc[n] = 0;
  cr_assert_str_eq(enc, "\"q\\\"b\\\\n\\nt\\tc\\u0001 é €\"");
  cr_assert_str_eq(decode(enc), s);
}

/* ---- JSONL parsing and inference ---------------------------------------- */

Test(io_units, jsonl_infer_widens_and_keeps_nested_as_text) {
  const char *lines[] = {
      "{\"id\": 1, \"x\": 1, \"flag\": true, \"tags\": [1, 2], \"s\": \"a\", \"n\": null}",
      "",
      "{\"id\": 2, \"x\": 2.5, \"flag\": false, \"tags\": {\"k\": \"v\"}, \"s\": 7, \"late\": 3}",
      "not json at all",
  };
  weir__jsonl_infer in;
  weir__jsonl_infer_init(&in);
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(weir__jsonl_infer_line(&in, line_of(lines[i])), WEIR_OK);
  weir__schema s;
  weir__jsonl_infer_finish(&in, &s);
  weir__jsonl_infer_free(&in);
  const char *names[] = {"id", "x", "flag", "tags", "s", "n", "late"};
  int types[] = {WEIR_TYPE_INT64, WEIR_TYPE_FLOAT64, WEIR_TYPE_BOOL,
                 WEIR_TYPE_STRING, WEIR_TYPE_STRING, WEIR_TYPE_STRING,
                 WEIR_TYPE_INT64};
  cr_assert_eq(s.n, 7);
  for (size_t i = 0; i < 7; i++) {
    cr_assert_str_eq(s.names[i], names[i]);
    cr_assert_eq(s.types[i], types[i], "%s: %d", names[i], s.types[i]);
  }

  weir__jsonl_parser ps;
  cr_assert_eq(weir__jsonl_parser_init(&ps, &s, s.n, 1, 1000), WEIR_OK);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of(lines[0])), 1);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("   ")), 0, "blank line");
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of(lines[2])), 1);
  /* Keys in another order, a missing key, a repeated key (the last wins). */
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"late\": 9, \"id\": 3, \"id\": 4}")), 1);
  /* Malformed lines append nothing. */
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 5, \"x\": }")), WEIR_EFORMAT);
  cr_assert(strstr(ps.why, "column"), "%s", ps.why);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 5} trailing")), WEIR_EFORMAT);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("[1, 2]")), WEIR_EFORMAT);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 01}")), WEIR_EFORMAT);
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 1,}")), WEIR_EFORMAT);
  /* A NUL byte is not the end of a line: what follows it counts. */
  static const char nul_line[] = "{\"id\": 7}\0 junk\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
  cr_assert_eq(weir__jsonl_parse_line(&ps, nul_line), WEIR_EFORMAT);
  static const char nul_blank[] = "\0{\"id\": 7}\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
  cr_assert_eq(weir__jsonl_parse_line(&ps, nul_blank), WEIR_EFORMAT);
  /* A float where int64 was inferred is a type error naming the column. */
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 1.5}")), WEIR_EFORMAT);
  cr_assert(strstr(ps.why, "\"id\"") && strstr(ps.why, "int64"), "%s", ps.why);
  /* ...but 6.0 is an integer. */
  cr_assert_eq(weir__jsonl_parse_line(&ps, line_of("{\"id\": 6.0, \"flag\": null}")), 1);
  weir_block *b;
  cr_assert_eq(weir__jsonl_parser_block(&ps, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), 4);
  weir_column c;
  weir_block_column(b, 0, &c);
  const int64_t *ids = c.data;
  cr_assert_eq(ids[0], 1);
  cr_assert_eq(ids[1], 2);
  cr_assert_eq(ids[2], 4);
  cr_assert_eq(ids[3], 6);
  weir_block_column(b, 1, &c);
  cr_assert_eq(((const double *)c.data)[0], 1.0);
  cr_assert_eq(((const double *)c.data)[1], 2.5);
  cr_assert(!weir_block_is_valid(b, 1, 2));
  weir_block_column(b, 3, &c);
  cr_assert_eq(c.offsets[1] - c.offsets[0], 6);
  cr_assert(memcmp((const char *)c.data + c.offsets[0], "[1, 2]", 6) == 0);
  cr_assert(memcmp((const char *)c.data + c.offsets[1], "{\"k\": \"v\"}", 10) == 0);
  weir_block_column(b, 4, &c);
  cr_assert(memcmp((const char *)c.data + c.offsets[1], "7", 1) == 0,
            "a number in a string column keeps its text");
  cr_assert(!weir_block_is_valid(b, 5, 0));
  cr_assert(!weir_block_is_valid(b, 6, 0));
  cr_assert_eq(((const int64_t *)(weir_block_column(b, 6, &c), c.data))[2], 9);
  cr_assert(!weir_block_is_valid(b, 2, 3));
  weir_block_unref(&b);
  weir__jsonl_parser_free(&ps);
  weir__schema_free(&s);
}

/* ---- Compressed streams ---------------------------------------------------- */

static char *read_all(const char *uri, int *rc_out, char *msg, size_t msglen,
                      size_t *len) {
  weir__dstream *d;
  char err[512] = "";
  int rc = weir__dstream_open(uri, NULL, weir__codec_from_name(uri), 0,
                              UINT64_MAX, &d, err, sizeof err);
  cr_assert_eq(rc, WEIR_OK, "%s", err);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n + 4096 > cap) buf = realloc(buf, cap *= 2);
    long r = weir__dstream_read(d, buf + n, 4096);
    if (r < 0) {
      *rc_out = (int)r;
      snprintf(msg, msglen, "%s", weir__dstream_errmsg(d));
      break;
    }
    if (r == 0) {
      *rc_out = WEIR_OK;
      break;
    }
    n += (size_t)r;
  }
  weir__dstream_close(d);
  *len = n;
  return buf;
}

static char *make_text(size_t lines, size_t *len) {
  size_t cap = lines * 64 + 1, n = 0;
  char *s = malloc(cap);
  for (size_t i = 0; i < lines; i++)
    n += (size_t)snprintf(s + n, cap - n, "{\"i\": %zu, \"t\": \"line %zu of text\"}\n", i, i * 7919 % 1000);
  *len = n;
  return s;
}

static void codec_case(const char *tool, const char *ext) {
  if (!have_cli(tool)) {
    char why[128];
    snprintf(why, sizeof why, "the %s CLI is not installed", tool);
    srv_missing(why);
  }
  size_t len;
  char *text = make_text(50000, &len);
  char *plain = path_of("data.jsonl");
  write_file(plain, text, len);
  char comp[700];
  snprintf(comp, sizeof comp, "%s%s", plain, ext);
  cr_assert_eq(run(strcmp(tool, "zstd") == 0 ? "zstd -q -f -k '%s' -o '%s'"
                                             : "gzip -c '%s' > '%s'",
                   plain, comp), 0);
  int rc;
  char msg[512];
  size_t got;
  char *back = read_all(comp, &rc, msg, sizeof msg, &got);
  cr_assert_eq(rc, WEIR_OK, "%s", msg);
  cr_assert_eq(got, len);
  cr_assert(memcmp(back, text, len) == 0);
  free(back);

  /* Truncated: an error naming the file, never a short read. */
  struct stat st;
  stat(comp, &st);
  cr_assert_eq(truncate(comp, st.st_size - 9), 0);
  back = read_all(comp, &rc, msg, sizeof msg, &got);
  cr_assert_eq(rc, WEIR_EFORMAT, "truncated %s gave %d after %zu bytes", ext, rc, got);
  cr_assert(strstr(msg, comp) && strstr(msg, "truncated"), "%s", msg);
  free(back);
  cr_assert_eq(truncate(comp, 0), 0);
  back = read_all(comp, &rc, msg, sizeof msg, &got);
  cr_assert_eq(rc, WEIR_EFORMAT, "an empty %s file is not a stream", ext);
  free(back);

  /* Corrupt: bytes flipped in the middle. */
  cr_assert_eq(run(strcmp(tool, "zstd") == 0 ? "zstd -q -f -k '%s' -o '%s'"
                                             : "gzip -c '%s' > '%s'",
                   plain, comp), 0);
  stat(comp, &st);
  FILE *f = fopen(comp, "r+b");
  fseek(f, st.st_size / 2, SEEK_SET);
  char junk[64];
  memset(junk, 0xa5, sizeof junk);
  fwrite(junk, 1, sizeof junk, f);
  fclose(f);
  back = read_all(comp, &rc, msg, sizeof msg, &got);
  cr_assert_eq(rc, WEIR_EFORMAT, "corrupt %s gave %d", ext, rc);
  cr_assert(strstr(msg, comp), "%s", msg);
  free(back);
  free(text);
}

Test(io_units, zstd_whole_truncated_and_corrupt) { codec_case("zstd", ".zst"); }
Test(io_units, gzip_whole_truncated_and_corrupt) { codec_case("gzip", ".gz"); }

Test(io_units, gzip_concatenated_members_and_compress_round_trip) {
  if (!have_cli("gzip")) srv_missing("the gzip CLI is not installed");
  write_file(path_of("a"), "first\n", 6);
  write_file(path_of("b"), "second\n", 7);
  char both[700];
  snprintf(both, sizeof both, "%s.gz", path_of("ab"));
  cr_assert_eq(run("gzip -c '%s' > ab.tmp && mv ab.tmp '%s'", path_of("a"), both) , 0);
  cr_assert_eq(run("gzip -c '%s' >> '%s'", path_of("b"), both), 0);
  int rc;
  char msg[512];
  size_t got;
  char *back = read_all(both, &rc, msg, sizeof msg, &got);
  cr_assert_eq(rc, WEIR_OK, "%s", msg);
  cr_assert_eq(got, 13);
  cr_assert(memcmp(back, "first\nsecond\n", 13) == 0);
  free(back);

  /* Our compressors write what the CLIs read. */
  const char *codecs[] = {".zst", ".gz"};
  for (int k = 0; k < 2; k++) {
    char out[700];
    snprintf(out, sizeof out, "%s%s", path_of("w"), codecs[k]);
    weir__wstream *ws;
    char err[256];
    cr_assert_eq(weir__wstream_open(out, NULL, &ws, err, sizeof err), WEIR_OK, "%s", err);
    weir__cstream *cs;
    cr_assert_eq(weir__cstream_open(ws, weir__codec_from_name(out), 0, &cs), WEIR_OK);
    size_t len;
    char *text = make_text(20000, &len);
    cr_assert_eq(weir__cstream_write(cs, text, len), WEIR_OK);
    cr_assert_eq(access(out, F_OK), -1, "not visible before commit");
    cr_assert_eq(weir__cstream_commit(cs, err, sizeof err), WEIR_OK, "%s", err);
    write_file(path_of("expect"), text, len);
    const char *tool = k == 0 ? "zstd -q -d -c '%s' | cmp - '%s'" : "gzip -d -c '%s' | cmp - '%s'";
    if (!have_cli(k == 0 ? "zstd" : "gzip"))
      srv_missing(k == 0 ? "the zstd CLI is not installed" : "the gzip CLI is not installed");
    cr_assert_eq(run(tool, out, path_of("expect")), 0, "%s", out);
    free(text);
  }
}

/* ---- Chunks of byte ranges ------------------------------------------------- */

Test(io_units, byte_ranges_yield_every_line_once) {
  /* Lines of varied length, one longer than a range. */
  size_t cap = 1 << 20, n = 0;
  char *s = malloc(cap);
  size_t lines = 0;
  for (size_t i = 0; i < 3000; i++, lines++) {
    size_t w = i == 1500 ? 9000 : (i * 37) % 200;
    n += (size_t)snprintf(s + n, cap - n, "%zu:", i);
    memset(s + n, 'a' + (char)(i % 26), w);
    n += w;
    s[n++] = '\n';
  }
  write_file(path_of("r.txt"), s, n - 1); /* the last line has no newline */
  uint64_t ranges[] = {1, 777, 4096, 100000, n};
  for (size_t k = 0; k < sizeof ranges / sizeof *ranges; k++) {
    size_t seen = 0, expect_next = 0;
    for (uint64_t off = 0; off < n - 1; off += ranges[k]) {
      uint64_t len = off + ranges[k] > n - 1 ? n - 1 - off : ranges[k];
      weir__chunker *ch;
      char err[256];
      cr_assert_eq(weir__chunker_open(path_of("r.txt"), NULL, WEIR__CODEC_NONE,
                                      off, len, 100, 1 << 16, 0, NULL, &ch, err, sizeof err),
                   WEIR_OK, "%s", err);
      weir__chunk c;
      int rc;
      while ((rc = weir__chunker_next(ch, &c)) == 1) {
        cr_assert_eq(((const char *)c.buf->data)[c.len - 1], '\n');
        cr_assert_leq(c.records, 100);
        const char *p = c.buf->data, *e = p + c.len;
        while (p < e) {
          size_t idx = strtoul(p, NULL, 10);
          cr_assert_eq(idx, expect_next, "range %llu: line %zu after %zu",
                       (unsigned long long)ranges[k], idx, expect_next);
          expect_next++;
          seen++;
          p = memchr(p, '\n', (size_t)(e - p)) + 1;
        }
        if (off == 0) cr_assert_gt(c.first_line, 0);
        weir__buffer_unref(c.buf);
      }
      cr_assert_eq(rc, 0, "%s", weir__chunker_errmsg(ch));
      weir__chunker_close(ch);
    }
    cr_assert_eq(seen, lines, "range size %llu", (unsigned long long)ranges[k]);
  }
  free(s);
}

/* ---- Listings -------------------------------------------------------------- */

static void touch(const char *rel) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
  for (char *q = p + strlen(tmpdir) + 1; *q; q++)
    if (*q == '/') {
      *q = 0;
      mkdir(p, 0777);
      *q = '/';
    }
  write_file(p, "x\n", 2);
}

static size_t list(const char *pattern, weir__object **o) {
  char uri[700];
  snprintf(uri, sizeof uri, "%s/%s", tmpdir, pattern);
  size_t n;
  char err[256];
  cr_assert_eq(weir__vfs_list(uri, NULL, o, &n, err, sizeof err), WEIR_OK, "%s", err);
  return n;
}

Test(io_units, local_listing_folders_and_globs) {
  touch("d/a.jsonl");
  touch("d/b.jsonl.zst");
  touch("d/sub/c.jsonl");
  touch("d/sub/deeper/e.jsonl");
  touch("d/sub/deeper/f.csv");
  touch("d/.hidden.jsonl");
  touch("d/.part-00001.jsonl.tmp.1.0");
  weir__object *o;
  size_t n = list("d", &o);
  cr_assert_eq(n, 5, "a folder lists its files recursively, hidden ones not");
  for (size_t i = 1; i < n; i++) cr_assert_lt(strcmp(o[i - 1].uri, o[i].uri), 0, "sorted");
  cr_assert_eq(o[0].size, 2);
  weir__vfs_list_free(o, n);
  n = list("d/*.jsonl", &o);
  cr_assert_eq(n, 1);
  cr_assert(strstr(o[0].uri, "/d/a.jsonl"));
  weir__vfs_list_free(o, n);
  n = list("d/**/*.jsonl", &o);
  cr_assert_eq(n, 3, "** matches zero or more folders");
  weir__vfs_list_free(o, n);
  n = list("d/sub/**", &o);
  cr_assert_eq(n, 3);
  weir__vfs_list_free(o, n);
  n = list("d/s?b/*/[ef].*", &o);
  cr_assert_eq(n, 2);
  weir__vfs_list_free(o, n);
  n = list("d/*.parquet", &o);
  cr_assert_eq(n, 0, "a glob that matches nothing is empty, not an error");
  char uri[700], err[256];
  snprintf(uri, sizeof uri, "%s/missing.jsonl", tmpdir);
  cr_assert_eq(weir__vfs_list(uri, NULL, &o, &n, err, sizeof err), WEIR_ENOTFOUND);
  cr_assert(strstr(err, "missing.jsonl"), "%s", err);
  cr_assert_eq(weir__vfs_exists(uri, NULL), 0);
  snprintf(uri, sizeof uri, "%s/d/a.jsonl", tmpdir);
  cr_assert_eq(weir__vfs_exists(uri, NULL), 1);
  cr_assert_eq(weir__vfs_list("http://127.0.0.1:1/x", NULL, &o, &n, err, sizeof err) < 0, 1);
}

Test(io_units, ranged_local_read_and_atomic_write) {
  write_file(path_of("r.bin"), "0123456789", 10);
  weir__rstream *s;
  char err[256], buf[16];
  cr_assert_eq(weir__rstream_open(path_of("r.bin"), NULL, 3, 4, &s, err, sizeof err), WEIR_OK);
  long r = weir__rstream_read(s, buf, sizeof buf);
  cr_assert_eq(r, 4);
  cr_assert(memcmp(buf, "3456", 4) == 0);
  cr_assert_eq(weir__rstream_read(s, buf, sizeof buf), 0);
  weir__rstream_close(s);
  weir__wstream *w;
  cr_assert_eq(weir__wstream_open(path_of("new/dir/out.txt"), NULL, &w, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(weir__wstream_write(w, "abc", 3), WEIR_OK);
  cr_assert_eq(access(path_of("new/dir/out.txt"), F_OK), -1);
  weir__wstream_abort(w);
  cr_assert_eq(access(path_of("new/dir/out.txt"), F_OK), -1, "aborted: nothing left");
  weir__object *o;
  size_t n = list("new", &o);
  cr_assert_eq(n, 0, "no temporary left behind");
  cr_assert_eq(weir__wstream_open(path_of("new/dir/out.txt"), NULL, &w, err, sizeof err), WEIR_OK);
  cr_assert_eq(weir__wstream_write(w, "abc", 3), WEIR_OK);
  cr_assert_eq(weir__wstream_commit(w, err, sizeof err), WEIR_OK);
  cr_assert_eq(access(path_of("new/dir/out.txt"), F_OK), 0);
}
