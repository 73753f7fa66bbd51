/* S3 through the network engine against moto's S3 server (PyPI) with its
 * authentication on: put, get with ranges, ListObjectsV2 paging, prefixes
 * and exact keys, XML entities in keys, missing keys, aborted uploads,
 * multipart uploads, the AWS_* environment, and wrong credentials (unknown
 * key, wrong secret) that fail clearly without showing the secret. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net.h"
#include "io/vfs.h"
#include "servers/need_curl.h"
#include "servers/servers.h"

static srv_proc s3;
static weir__net_options opt;

static void s3_up(void) {
  char why[512];
  srv_need_curl();
  if (srv_moto_start(&s3, why, sizeof why) != 0) srv_missing(why);
  memset(&opt, 0, sizeof opt);
  opt.s3_endpoint = s3.url;
  opt.s3_region = "us-east-1";
  opt.s3_access_key = s3.access_key;
  opt.s3_secret_key = s3.secret_key;
  opt.retry_base_delay = 0.01;
}

static void s3_down(void) {
  weir__net_shutdown();
  srv_proc_stop(&s3);
}

TestSuite(s3, .init = s3_up, .fini = s3_down, .timeout = 60);

static void put(const char *uri, const void *data, size_t len,
                const weir__net_options *o) {
  weir__net_writer *w;
  char err[512];
  cr_assert_eq(weir__net_writer_open(uri, o, &w, err, sizeof err), WEIR_OK,
               "%s", err);
  /* In pieces, as a format writer would. */
  for (size_t off = 0; off < len; off += 70000) {
    size_t k = len - off < 70000 ? len - off : 70000;
    cr_assert_eq(weir__net_writer_write(w, (const char *)data + off, k, err,
                                        sizeof err), WEIR_OK);
  }
  cr_assert_eq(weir__net_writer_commit(w, err, sizeof err), WEIR_OK, "%s",
               err);
}

static unsigned char *get(const char *uri, uint64_t off, uint64_t len,
                          size_t *n, long *rc, const weir__net_options *o) {
  weir__net_reader *r;
  char err[512];
  cr_assert_eq(weir__net_reader_open(uri, o, off, len, &r, err, sizeof err),
               WEIR_OK, "%s", err);
  size_t cap = 1 << 20;
  unsigned char *buf = malloc(cap);
  *n = 0;
  long k;
  for (;;) {
    if (*n + 65536 > cap) buf = realloc(buf, cap *= 2);
    k = weir__net_reader_read(r, buf + *n, 65536);
    if (k <= 0) break;
    *n += (size_t)k;
  }
  *rc = k;
  if (k < 0) cr_log_info("%s", weir__net_reader_errmsg(r));
  weir__net_reader_close(r);
  return buf;
}

Test(s3, put_then_get_whole_and_ranges) {
  size_t size = 3 * 1024 * 1024 + 11;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 31);
  put("s3://test/dir/blob.bin", data, size, &opt);
  put("s3://test/dir/empty.bin", "", 0, &opt);

  size_t n;
  long rc;
  unsigned char *got = get("s3://test/dir/blob.bin", 0, UINT64_MAX, &n, &rc,
                           &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(n, size);
  cr_assert(memcmp(got, data, size) == 0);
  free(got);

  got = get("s3://test/dir/blob.bin", 1000000, 123456, &n, &rc, &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(n, 123456);
  cr_assert(memcmp(got, data + 1000000, n) == 0);
  free(got);

  got = get("s3://test/dir/blob.bin", size - 5, UINT64_MAX, &n, &rc, &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(n, 5);
  cr_assert(memcmp(got, data + size - 5, 5) == 0);
  free(got);

  got = get("s3://test/dir/empty.bin", 0, UINT64_MAX, &n, &rc, &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(n, 0);
  free(got);

  uint64_t st;
  char err[512];
  cr_assert_eq(weir__net_stat("s3://test/dir/blob.bin", &opt, &st, err,
                              sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(st, size);
  free(data);
}

Test(s3, listing_follows_pages_and_decodes_keys) {
  enum { N = 23 };
  char uri[256];
  for (int i = 0; i < N; i++) {
    char body[64];
    snprintf(uri, sizeof uri, "s3://test/many/k%02d.jsonl", i);
    int len = snprintf(body, sizeof body, "{\"i\": %d}\n", i * 1000);
    put(uri, body, (size_t)len, &opt);
  }
  put("s3://test/many/a&b <c> 'd'.txt", "xyz", 3, &opt);
  put("s3://test/many/", "", 0, &opt);      /* a folder marker */
  put("s3://test/many-not/x.jsonl", "no", 2, &opt);
  put("s3://test/manyfile", "no", 2, &opt);

  weir__net_options o = opt;
  o.list_page_size = 4;                  /* 24 keys: six pages and more */
  const char *forms[] = { "s3://test/many", "s3://test/many/" };
  for (int f = 0; f < 2; f++) {
    weir__object *objs;
    size_t n;
    char err[512];
    cr_assert_eq(weir__net_list_opts(forms[f], &o, &objs, &n, err,
                                     sizeof err), WEIR_OK, "%s", err);
    cr_assert_eq(n, N + 1, "%s: %zu objects", forms[f], n);
    cr_assert_str_eq(objs[0].uri, "s3://test/many/a&b <c> 'd'.txt");
    cr_assert_eq(objs[0].size, 3);
    for (int i = 0; i < N; i++) {
      char want[64], body[64];
      snprintf(want, sizeof want, "s3://test/many/k%02d.jsonl", i);
      cr_assert_str_eq(objs[i + 1].uri, want);
      cr_assert_eq(objs[i + 1].size,
                   (uint64_t)snprintf(body, sizeof body, "{\"i\": %d}\n",
                                      i * 1000));
    }
    for (size_t i = 0; i < n; i++) free(objs[i].uri);
    free(objs);
  }

  /* An exact key is that one object; its bytes come back through the
   * listed uri, special characters and all. */
  weir__object *objs;
  size_t n;
  char err[512];
  cr_assert_eq(weir__net_list_opts("s3://test/many/a&b <c> 'd'.txt", &o,
                                   &objs, &n, err, sizeof err), WEIR_OK);
  cr_assert_eq(n, 1);
  long rc;
  size_t got_n;
  unsigned char *got = get(objs[0].uri, 0, UINT64_MAX, &got_n, &rc, &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(got_n, 3);
  cr_assert(memcmp(got, "xyz", 3) == 0);
  free(got);
  free(objs[0].uri);
  free(objs);

  /* A prefix with nothing under it is an empty listing, not an error. */
  cr_assert_eq(weir__net_list_opts("s3://test/nothing/here", &o, &objs, &n,
                                   err, sizeof err), WEIR_OK);
  cr_assert_eq(n, 0);
}

Test(s3, globs_match_like_local_paths) {
  const char *keys[] = { "g/x.jsonl", "g/w.txt", "g/b/y.jsonl",
                         "g/b/c/z.jsonl", "g/b/c/z.jsonl.zst", "g/bz.jsonl",
                         "gx/q.jsonl" };
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    char uri[128];
    snprintf(uri, sizeof uri, "s3://test/%s", keys[i]);
    put(uri, "{}\n", 3, &opt);
  }
  struct { const char *glob; const char *want; } cases[] = {
    { "s3://test/g/*.jsonl", "g/bz.jsonl g/x.jsonl" },
    { "s3://test/g/**/*.jsonl",
      "g/b/c/z.jsonl g/b/y.jsonl g/bz.jsonl g/x.jsonl" },
    { "s3://test/g/b/?.jsonl", "g/b/y.jsonl" },
    { "s3://test/g/[a-x].*", "g/w.txt g/x.jsonl" },
    { "s3://test/g/**/z.jsonl*", "g/b/c/z.jsonl g/b/c/z.jsonl.zst" },
    { "s3://test/g*/q.jsonl", "gx/q.jsonl" },
    { "s3://test/g/*.parquet", "" },
  };
  weir__net_options o = opt;
  o.list_page_size = 3;
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    weir__object *objs;
    size_t n;
    char err[512], got[512] = "";
    cr_assert_eq(weir__net_list_opts(cases[c].glob, &o, &objs, &n, err,
                                     sizeof err), WEIR_OK, "%s", err);
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(got);
      snprintf(got + l, sizeof got - l, "%s%s", l ? " " : "",
               objs[i].uri + strlen("s3://test/"));
      free(objs[i].uri);
    }
    free(objs);
    cr_assert_str_eq(got, cases[c].want, "%s", cases[c].glob);
  }
}

Test(s3, missing_key_and_bucket_are_not_found) {
  size_t n;
  long rc;
  unsigned char *got = get("s3://test/no/such/key", 0, UINT64_MAX, &n, &rc,
                           &opt);
  cr_assert_eq(rc, WEIR_ENOTFOUND);
  free(got);

  weir__net_reader *r;
  char err[512];
  cr_assert_eq(weir__net_reader_open("s3://test/no/such/key", &opt, 0,
                                     UINT64_MAX, &r, err, sizeof err),
               WEIR_OK);
  char buf[8];
  cr_assert_eq(weir__net_reader_read(r, buf, sizeof buf), WEIR_ENOTFOUND);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, "s3://test/no/such/key") && strstr(msg, "404") &&
            strstr(msg, "NoSuchKey"), "%s", msg);
  weir__net_reader_close(r);

  weir__object *objs;
  cr_assert_eq(weir__net_list_opts("s3://nobucket/x", &opt, &objs, &n, err,
                                   sizeof err), WEIR_ENOTFOUND);
  cr_assert(strstr(err, "NoSuchBucket"), "%s", err);
  cr_assert_eq(weir__net_exists("s3://test/no/such/key", NULL, err,
                                sizeof err) <= 0, 1);
}

Test(s3, aborted_upload_leaves_nothing) {
  weir__net_writer *w;
  char err[512];
  cr_assert_eq(weir__net_writer_open("s3://test/aborted.bin", &opt, &w, err,
                                     sizeof err), WEIR_OK);
  cr_assert_eq(weir__net_writer_write(w, "partial", 7, err, sizeof err),
               WEIR_OK);
  weir__net_writer_abort(w);
  uint64_t size;
  cr_assert_eq(weir__net_stat("s3://test/aborted.bin", &opt, &size, err,
                              sizeof err), WEIR_ENOTFOUND, "%s", err);
}

Test(s3, stream_interface_and_environment) {
  setenv("AWS_ENDPOINT_URL", s3.url, 1);
  setenv("AWS_REGION", "us-east-1", 1);
  setenv("AWS_ACCESS_KEY_ID", s3.access_key, 1);
  setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key, 1);
  weir__io_config cfg = { 0 };
  weir__wstream *w;
  char err[512];
  cr_assert_eq(weir__net_wstream_open("s3://test/env/one.txt", &cfg, &w, err,
                                      sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(w->vt->write(w, "hello ", 6), WEIR_OK);
  cr_assert_eq(w->vt->write(w, "world\n", 6), WEIR_OK);
  cr_assert_eq(w->vt->commit(w, err, sizeof err), WEIR_OK, "%s", err);

  weir__rstream *r;
  cr_assert_eq(weir__net_rstream_open("s3://test/env/one.txt", &cfg, 6, 5,
                                      &r, err, sizeof err), WEIR_OK);
  char buf[32];
  long k = r->vt->read(r, buf, sizeof buf);
  cr_assert_eq(k, 5);
  cr_assert(memcmp(buf, "world", 5) == 0);
  cr_assert_eq(r->vt->read(r, buf, sizeof buf), 0);
  r->vt->close(r);

  weir__object *objs;
  size_t n;
  cr_assert_eq(weir__net_list("s3://test/env", &cfg, &objs, &n, err,
                              sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(objs[0].uri, "s3://test/env/one.txt");
  cr_assert_eq(objs[0].size, 12);
  free(objs[0].uri);
  free(objs);
  cr_assert_eq(weir__net_exists("s3://test/env/one.txt", &cfg, err,
                                sizeof err), 1);
  cr_assert_eq(weir__net_exists("s3://test/env/two.txt", &cfg, err,
                                sizeof err), 0);
}

Test(s3, big_objects_go_up_in_parts) {
  size_t size = 11 * 1024 * 1024 + 333;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 64);
  weir__net_options o = opt;
  o.part_size = 5 * 1024 * 1024;          /* three parts */
  o.max_requests = 2;
  put("s3://test/big/parts.bin", data, size, &o);
  size_t n;
  long rc;
  unsigned char *got = get("s3://test/big/parts.bin", 0, UINT64_MAX, &n, &rc,
                           &opt);
  cr_assert_eq(rc, 0);
  cr_assert_eq(n, size);
  cr_assert(memcmp(got, data, size) == 0, "the parts came back in the "
            "wrong order or incomplete");
  free(got);
  /* It went up as three parts and one completion: the server's request
   * log (werkzeug's, one line per request) says so. */
  char logpath[1024], line[4096];
  snprintf(logpath, sizeof logpath, "%s/moto.log", s3.dir);
  FILE *log = fopen(logpath, "r");
  cr_assert(log);
  int parts = 0, completes = 0;
  while (fgets(line, sizeof line, log)) {
    if (strstr(line, "PUT /test/big/parts.bin?") &&
        strstr(line, "partNumber=")) parts++;
    if (strstr(line, "POST /test/big/parts.bin?uploadId=")) completes++;
  }
  fclose(log);
  cr_assert_eq(parts, 3, "%d part uploads logged", parts);
  cr_assert_eq(completes, 1, "%d completions logged", completes);
  /* The listing sees one object of the whole size. */
  weir__object *objs;
  char err[512];
  cr_assert_eq(weir__net_list_opts("s3://test/big/", &opt, &objs, &n, err,
                                   sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_eq(objs[0].size, size);
  free(objs[0].uri);
  free(objs);
  free(data);
}

/* moto checks keys and SigV4 signatures once its authentication is on:
 * an unknown key and a known key with the wrong secret are both refused
 * with a 403 that is not retried, named, and never shows the secret. */
Test(s3, wrong_credentials_fail_clearly_without_the_secret) {
  struct { const char *key, *secret, *code; } cases[] = {
    { "AKIDWRONGKEY", "wJalrXUtnFEMI/K7MDENG/sup3rs3cret",
      "InvalidAccessKeyId" },
    { s3.access_key, "wJalrXUtnFEMI/K7MDENG/sup3rs3cret",
      "SignatureDoesNotMatch" },
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    weir__net_options o = opt;
    o.s3_access_key = cases[c].key;
    o.s3_secret_key = cases[c].secret;
    o.max_retries = 3;
    weir__object *objs;
    size_t n;
    char err[512];
    cr_assert_eq(weir__net_list_opts("s3://test/", &o, &objs, &n, err,
                                     sizeof err), WEIR_EIO);
    cr_assert(strstr(err, "403") && strstr(err, cases[c].code) &&
              strstr(err, "s3://test/"), "%s", err);
    cr_assert_null(strstr(err, "sup3rs3cret"), "%s", err);
    cr_assert_null(strstr(err, "(after"), "a 403 was retried: %s", err);

    size_t got_n;
    long rc;
    free(get("s3://test/whatever", 0, UINT64_MAX, &got_n, &rc, &o));
    cr_assert_eq(rc, WEIR_EIO);

    weir__net_writer *w;
    cr_assert_eq(weir__net_writer_open("s3://test/denied.txt", &o, &w, err,
                                       sizeof err), WEIR_OK);
    cr_assert_eq(weir__net_writer_write(w, "x", 1, err, sizeof err), WEIR_OK);
    cr_assert_eq(weir__net_writer_commit(w, err, sizeof err), WEIR_EIO);
    cr_assert(strstr(err, "PUT s3://test/denied.txt: HTTP 403") &&
              strstr(err, cases[c].code), "%s", err);
    cr_assert_null(strstr(err, "sup3rs3cret"), "%s", err);
  }
  /* Nothing was stored by the refused writes. */
  uint64_t size;
  char err[512];
  cr_assert_eq(weir__net_stat("s3://test/denied.txt", &opt, &size, err,
                              sizeof err), WEIR_ENOTFOUND, "%s", err);
}
