/* HTTP reading through the network engine, against a real nginx over a
 * temporary folder and a fault-injecting server: whole files, byte ranges,
 * many files at once, 404s, resets mid-body, 500/429 with retries, and
 * messages that never carry credentials. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weir/error.h"
#include "io/net/net.h"
#include "io/vfs.h"
#include "servers/fault_server.h"
#include "servers/need_curl.h"
#include "servers/servers.h"

static srv_proc ngx;
static char *www;

/* Reads a reader to the end into a malloc'd buffer; returns the last read
 * result (0 at a clean end, < 0 on error). */
static long read_all(weir__net_reader *r, unsigned char **out, size_t *len,
                     size_t chunk) {
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  long k;
  for (;;) {
    if (n + chunk > cap) {
      while (n + chunk > cap) cap *= 2;
      buf = realloc(buf, cap);
    }
    k = weir__net_reader_read(r, buf + n, chunk);
    if (k <= 0) break;
    n += (size_t)k;
  }
  *out = buf;
  *len = n;
  return k;
}

static unsigned char *make_file(const char *name, size_t size, uint64_t seed) {
  unsigned char *d = malloc(size ? size : 1);
  srv_fill(d, size, seed);
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", www, name);
  cr_assert_eq(srv_write_file(path, d, size), 0);
  return d;
}

static void nginx_up(void) {
  char why[512];
  srv_need_curl();
  www = srv_tmpdir("www");
  cr_assert(www);
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0) srv_missing(why);
}

static void nginx_down(void) {
  srv_proc_stop(&ngx);
  srv_rm_rf(www);
  free(www);
  weir__net_shutdown();
}

TestSuite(http_nginx, .init = nginx_up, .fini = nginx_down, .timeout = 60);

Test(http_nginx, whole_files_are_byte_exact) {
  size_t sizes[] = { 0, 1, 1000, 5 * 1024 * 1024 + 17 };
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    char name[64], url[256], err[512];
    snprintf(name, sizeof name, "f%zu.bin", i);
    unsigned char *want = make_file(name, sizes[i], i + 1);
    snprintf(url, sizeof url, "%s/%s", ngx.url, name);
    weir__net_reader *r;
    cr_assert_eq(weir__net_reader_open(url, NULL, 0, UINT64_MAX, &r, err,
                                       sizeof err), WEIR_OK, "%s", err);
    unsigned char *got;
    size_t n;
    long rc = read_all(r, &got, &n, 100000);
    cr_assert_eq(rc, 0, "%s", weir__net_reader_errmsg(r));
    cr_assert_eq(n, sizes[i], "size %zu, got %zu", sizes[i], n);
    cr_assert(memcmp(got, want, n) == 0, "bytes differ for %s", name);
    weir__net_reader_close(r);
    free(got);
    free(want);
  }
}

Test(http_nginx, byte_ranges) {
  size_t size = 3 * 1024 * 1024;
  unsigned char *want = make_file("r.bin", size, 42);
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/r.bin", ngx.url);
  struct { uint64_t off, len, expect; } cases[] = {
    { 0, 1, 1 }, { 5, 100, 100 }, { size - 10, 10, 10 },
    { size - 10, 1000, 10 },              /* past the end: what is there */
    { 1000000, UINT64_MAX, size - 1000000 },
    { 123, 0, 0 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    weir__net_reader *r;
    cr_assert_eq(weir__net_reader_open(url, NULL, cases[i].off, cases[i].len,
                                       &r, err, sizeof err), WEIR_OK);
    unsigned char *got;
    size_t n;
    long rc = read_all(r, &got, &n, 7777);
    cr_assert_eq(rc, 0, "case %zu: %s", i, weir__net_reader_errmsg(r));
    cr_assert_eq(n, cases[i].expect, "case %zu: %zu bytes", i, n);
    cr_assert(n == 0 || memcmp(got, want + cases[i].off, n) == 0,
              "case %zu: wrong bytes", i);
    weir__net_reader_close(r);
    free(got);
  }
  free(want);
}

Test(http_nginx, missing_file_names_url_and_status) {
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/no/such.jsonl", ngx.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, NULL, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  char buf[64];
  long rc = weir__net_reader_read(r, buf, sizeof buf);
  cr_assert_eq(rc, WEIR_ENOTFOUND, "rc %ld", rc);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, url), "message lacks the URL: %s", msg);
  cr_assert(strstr(msg, "404"), "message lacks the status: %s", msg);
  weir__net_reader_close(r);

  /* Listing says the same, and exists() says no. */
  weir__object *objs;
  size_t n;
  cr_assert_eq(weir__net_list_opts(url, NULL, &objs, &n, err, sizeof err),
               WEIR_ENOTFOUND);
  cr_assert(strstr(err, "404") && strstr(err, "/no/such.jsonl"), "%s", err);
  cr_assert_eq(weir__net_exists(url, NULL, err, sizeof err), 0);
}

Test(http_nginx, listing_a_url_gives_its_size) {
  unsigned char *d = make_file("sized.bin", 123457, 3);
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/sized.bin", ngx.url);
  weir__object *objs;
  size_t n;
  cr_assert_eq(weir__net_list(url, NULL, &objs, &n, err, sizeof err), WEIR_OK,
               "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(objs[0].uri, url);
  cr_assert_eq(objs[0].size, 123457);
  free(objs[0].uri);
  free(objs);
  cr_assert_eq(weir__net_exists(url, NULL, err, sizeof err), 1);
  free(d);
}

/* nginx without WebDAV refuses uploads: a clear error, at once. */
Test(http_nginx, a_refused_upload_says_so) {
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/up/load.jsonl", ngx.url);
  weir__net_writer *w;
  cr_assert_eq(weir__net_writer_open(url, NULL, &w, err, sizeof err),
               WEIR_OK);
  cr_assert_eq(weir__net_writer_write(w, "{}\n", 3, err, sizeof err),
               WEIR_OK);
  cr_assert_eq(weir__net_writer_commit(w, err, sizeof err), WEIR_EIO);
  cr_assert(strstr(err, "PUT ") && strstr(err, "/up/load.jsonl") &&
            strstr(err, "HTTP 405"), "%s", err);
  cr_assert_null(strstr(err, "attempts"), "a 405 was retried: %s", err);
}

/* One thread opens every reader first, then reads them in turn, slowly:
 * transfers must pause (their rings fill) and the bound on requests must
 * not leave the queued ones waiting forever. */
Test(http_nginx, many_files_round_robin_under_a_small_bound) {
  enum { N = 12 };
  size_t size = 6 * 1024 * 1024 + 3;
  unsigned char *want[N];
  weir__net_reader *r[N];
  unsigned char *got[N];
  size_t n[N];
  int done[N];
  weir__net_options o = { 0 };
  o.max_requests = 3;
  weir__net_counters c0, c1;
  weir__net_get_counters(&c0);
  for (int i = 0; i < N; i++) {
    char name[64], url[256], err[512];
    snprintf(name, sizeof name, "m%d.bin", i);
    want[i] = make_file(name, size, 100 + (uint64_t)i);
    snprintf(url, sizeof url, "%s/%s", ngx.url, name);
    cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r[i], err,
                                       sizeof err), WEIR_OK);
    got[i] = malloc(size);
    n[i] = 0;
    done[i] = 0;
  }
  int left = N;
  while (left > 0) {
    for (int i = 0; i < N; i++) {
      if (done[i]) continue;
      long k = weir__net_reader_read(r[i], got[i] + n[i],
                                     size - n[i] < 65536 ? size - n[i] + 1
                                                         : 65536);
      cr_assert_geq(k, 0, "%s", weir__net_reader_errmsg(r[i]));
      if (k == 0) {
        done[i] = 1;
        left--;
      }
      n[i] += (size_t)k;
    }
  }
  /* Backpressure really happened: the rings filled and transfers paused
   * rather than buffering whole files. */
  weir__net_get_counters(&c1);
  cr_assert_gt(c1.pauses, c0.pauses);
  cr_assert_geq(c1.bytes_in - c0.bytes_in, (uint64_t)N * size);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(n[i], size);
    cr_assert(memcmp(got[i], want[i], size) == 0, "file %d differs", i);
    weir__net_reader_close(r[i]);
    free(got[i]);
    free(want[i]);
  }
}

typedef struct fetch_job {
  const char *base;
  int index;
  int ok;
} fetch_job;

static void *fetch_thread(void *arg) {
  fetch_job *j = arg;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/t%d.bin", j->base, j->index);
  weir__rstream *s;
  if (weir__net_rstream_open(url, NULL, 0, UINT64_MAX, &s, err, sizeof err))
    return NULL;
  size_t size = 1024 * 1024 + (size_t)j->index * 1000;
  unsigned char *want = malloc(size), *buf = malloc(size + 1);
  srv_fill(want, size, 500 + (uint64_t)j->index);
  size_t n = 0;
  long k;
  while ((k = s->vt->read(s, buf + n, size + 1 - n)) > 0) n += (size_t)k;
  j->ok = k == 0 && n == size && memcmp(buf, want, size) == 0;
  s->vt->close(s);
  free(want);
  free(buf);
  return NULL;
}

Test(http_nginx, many_threads_through_the_stream_interface) {
  enum { N = 16 };
  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "t%d.bin", i);
    free(make_file(name, 1024 * 1024 + (size_t)i * 1000, 500 + (uint64_t)i));
  }
  pthread_t t[N];
  fetch_job j[N];
  for (int i = 0; i < N; i++) {
    j[i] = (fetch_job){ ngx.url, i, 0 };
    pthread_create(&t[i], NULL, fetch_thread, &j[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    cr_assert(j[i].ok, "thread %d got wrong bytes", i);
  }
}

Test(http_nginx, closing_early_stops_the_transfer) {
  unsigned char *d = make_file("big.bin", 20 * 1024 * 1024, 9);
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/big.bin", ngx.url);
  for (int i = 0; i < 20; i++) {
    weir__net_reader *r;
    cr_assert_eq(weir__net_reader_open(url, NULL, 0, UINT64_MAX, &r, err,
                                       sizeof err), WEIR_OK);
    char buf[1000];
    if (i % 2) cr_assert_gt(weir__net_reader_read(r, buf, sizeof buf), 0);
    weir__net_reader_close(r);
  }
  free(d);
}

/* ---- HTTPS ------------------------------------------------------------ */

Test(https, trusted_certificate_reads_and_untrusted_fails_at_once,
     .init = srv_need_curl, .fini = weir__net_shutdown, .timeout = 60) {
  char why[512];
  char *dir = srv_tmpdir("tls");
  if (srv_make_cert(dir, why, sizeof why) != 0) {
    srv_rm_rf(dir);
    free(dir);
    srv_missing(why);
  }
  size_t size = 700000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 44);
  char path[1024], cert[1024], key[1024];
  snprintf(path, sizeof path, "%s/secure.bin", dir);
  cr_assert_eq(srv_write_file(path, data, size), 0);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  srv_proc tls;
  if (srv_nginx_start_ex(&tls, dir, cert, key, why, sizeof why) != 0) {
    srv_rm_rf(dir);
    free(dir);
    srv_missing(why);
  }
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/secure.bin", tls.url);
  cr_assert(strncmp(url, "https://", 8) == 0);

  weir__net_options o = { 0 };
  o.ca_file = cert;
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 1000, 300000, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 32768), 0, "%s",
               weir__net_reader_errmsg(r));
  cr_assert_eq(n, 300000);
  cr_assert(memcmp(got, data + 1000, n) == 0);
  free(got);
  weir__net_reader_close(r);

  /* Without the CA the peer is not trusted: a clear error, no retries. */
  unsetenv("CURL_CA_BUNDLE");
  weir__net_options untrusted = { 0 };
  untrusted.max_retries = 3;
  uint64_t st;
  cr_assert_eq(weir__net_stat(url, &untrusted, &st, err, sizeof err),
               WEIR_EIO);
  cr_assert(strstr(err, url) && strstr(err, "1 attempt") &&
            strstr(err, "certificate"), "%s", err);
  cr_log_info("untrusted: %s", err);

  srv_proc_stop(&tls);
  srv_rm_rf(dir);
  free(dir);
  free(data);
}

Test(http_nginx, shutdown_ends_open_readers) {
  /* Bigger than the ring and the socket buffers together. */
  unsigned char *d = make_file("long.bin", 40 * 1024 * 1024, 10);
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/long.bin", ngx.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, NULL, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  char buf[1000];
  cr_assert_gt(weir__net_reader_read(r, buf, sizeof buf), 0);
  weir__net_shutdown();           /* the ring is full: the transfer waits */
  long k;
  size_t total = 0;
  while ((k = weir__net_reader_read(r, buf, sizeof buf)) > 0) total += (size_t)k;
  cr_assert_eq(k, WEIR_ECANCELED, "%ld after %zu bytes", k, total);
  cr_assert_lt(total, 40 * 1024 * 1024);
  weir__net_reader_close(r);
  free(d);
}

/* ---- The fault-injecting server -------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TestSuite(http_faults, .init = srv_need_curl, .fini = weir__net_shutdown,
          .timeout = 60);

Test(http_faults, resets_500_and_429_still_give_exact_bytes) {
  size_t size = 2 * 1024 * 1024 + 5;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 77);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_RANDOM, 1), 0);
  weir__net_options o = { 0 };
  o.max_retries = 60;
  o.retry_base_delay = 0.002;
  struct { uint64_t off, len; } cases[] = {
    { 0, UINT64_MAX }, { 0, UINT64_MAX }, { 1000, 1500000 },
    { size - 300000, UINT64_MAX },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char url[256], err[512];
    snprintf(url, sizeof url, "%s/obj%zu", fs.url, i);
    weir__net_reader *r;
    cr_assert_eq(weir__net_reader_open(url, &o, cases[i].off, cases[i].len,
                                       &r, err, sizeof err), WEIR_OK);
    unsigned char *got;
    size_t n;
    long rc = read_all(r, &got, &n, 50000);
    cr_assert_eq(rc, 0, "case %zu: %s", i, weir__net_reader_errmsg(r));
    size_t expect = cases[i].len == UINT64_MAX ? size - cases[i].off
                                               : cases[i].len;
    cr_assert_eq(n, expect, "case %zu: %zu bytes, want %zu", i, n, expect);
    cr_assert(memcmp(got, data + cases[i].off, n) == 0,
              "case %zu: bytes differ", i);
    weir__net_reader_close(r);
    free(got);
  }
  weir__net_counters c;
  weir__net_get_counters(&c);
  cr_assert_gt(c.retries, 0);
  /* The faults really happened, of every kind. */
  cr_assert_gt(atomic_load(&fs.resets), 0);
  cr_assert_gt(atomic_load(&fs.s500), 0);
  cr_assert_gt(atomic_load(&fs.s429), 0);
  fault_stop(&fs);
  free(data);
}

Test(http_faults, a_server_ignoring_ranges_still_gives_the_range) {
  size_t size = 300000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 5);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_IGNORE_RANGE, 2), 0);
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/x", fs.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, NULL, 1234, 5000, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 999), 0, "%s",
               weir__net_reader_errmsg(r));
  cr_assert_eq(n, 5000);
  cr_assert(memcmp(got, data + 1234, 5000) == 0);
  weir__net_reader_close(r);
  free(got);
  fault_stop(&fs);
  free(data);
}

/* Each answer starts over from byte 0 (Range ignored) and is cut at the
 * same place: after the first, no attempt brings a new byte, so the
 * retries run out instead of going on for ever. */
Test(http_faults, retries_without_progress_run_out) {
  size_t size = 200000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 15);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_IGNORE_RANGE, 8), 0);
  fs.cut_at = 1000;
  weir__net_options o = { 0 };
  o.max_retries = 2;
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/stuck", fs.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 65536), WEIR_EIO);
  cr_assert_eq(n, 1000);
  cr_assert(memcmp(got, data, n) == 0);
  cr_assert(strstr(weir__net_reader_errmsg(r), "3 attempts"), "%s",
            weir__net_reader_errmsg(r));
  /* The attempt that brought bytes, then max_retries that did not. */
  cr_assert_eq(atomic_load(&fs.requests), 3);
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
  free(data);
}

Test(http_faults, partial_answers_are_placed_by_their_content_range) {
  size_t size = 100000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 16);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_RESET_ONCE, 9), 0);
  fs.requests = 1;                     /* no reset: serve whole answers */
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/shift", fs.url);
  weir__net_reader *r;
  unsigned char *got;
  size_t n;

  /* Starting earlier than asked: the extra bytes are dropped. */
  fs.range_shift = -10;
  cr_assert_eq(weir__net_reader_open(url, NULL, 1000, 5000, &r, err,
                                     sizeof err), WEIR_OK);
  cr_assert_eq(read_all(r, &got, &n, 4096), 0, "%s",
               weir__net_reader_errmsg(r));
  cr_assert_eq(n, 5000);
  cr_assert(memcmp(got, data + 1000, n) == 0);
  free(got);
  weir__net_reader_close(r);

  /* Starting later would leave a hole: an error, not shifted data. */
  fs.range_shift = 10;
  cr_assert_eq(weir__net_reader_open(url, NULL, 1000, 5000, &r, err,
                                     sizeof err), WEIR_OK);
  cr_assert_eq(read_all(r, &got, &n, 4096), WEIR_EIO);
  cr_assert_eq(n, 0);
  cr_assert(strstr(weir__net_reader_errmsg(r), "from 1010 when 1000"), "%s",
            weir__net_reader_errmsg(r));
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
  free(data);
}

Test(http_faults, retry_after_is_honoured) {
  unsigned char data[5000];
  srv_fill(data, sizeof data, 17);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, sizeof data, FAULT_429_ONCE, 10), 0);
  weir__net_options o = { 0 };
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/busy", fs.url);
  double t0 = now();
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 4096), 0, "%s",
               weir__net_reader_errmsg(r));
  double dt = now() - t0;
  cr_assert_eq(n, sizeof data);
  cr_assert(memcmp(got, data, n) == 0);
  cr_assert_eq(atomic_load(&fs.requests), 2);
  cr_assert(dt >= 0.95 && dt < 5, "Retry-After: 1 but retried after %.2f s",
            dt);
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
}

typedef struct bound_job {
  const char *url;
  const weir__net_options *o;
  size_t size;
  int ok;
} bound_job;

static void *bound_thread(void *arg) {
  bound_job *j = arg;
  char err[512];
  weir__net_reader *r;
  if (weir__net_reader_open(j->url, j->o, 0, UINT64_MAX, &r, err, sizeof err))
    return NULL;
  unsigned char *got;
  size_t n;
  j->ok = read_all(r, &got, &n, 1 << 20) == 0 && n == j->size;
  free(got);
  weir__net_reader_close(r);
  return NULL;
}

/* Eight readers at once, a bound of two: the server never sees more than
 * two answers in flight. */
Test(http_faults, max_requests_bounds_concurrent_transfers) {
  size_t size = 3 * 1024 * 1024;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 18);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_RESET_ONCE, 11), 0);
  fs.requests = 1;                     /* no faults */
  weir__net_options o = { 0 };
  o.max_requests = 2;
  char url[256];
  snprintf(url, sizeof url, "%s/bounded", fs.url);
  enum { N = 8 };
  pthread_t t[N];
  bound_job j[N];
  for (int i = 0; i < N; i++) {
    j[i] = (bound_job){ url, &o, size, 0 };
    pthread_create(&t[i], NULL, bound_thread, &j[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    cr_assert(j[i].ok, "reader %d failed", i);
  }
  cr_assert_eq(atomic_load(&fs.requests), 1 + N);
  cr_assert_leq(atomic_load(&fs.peak), 2, "peak %d", atomic_load(&fs.peak));
  fault_stop(&fs);
  free(data);
}

Test(http_faults, always_500_fails_after_max_retries) {
  char data[100] = "x";
  fault_server fs;
  cr_assert_eq(fault_start(&fs, (unsigned char *)data, sizeof data,
                           FAULT_ALWAYS_500, 3), 0);
  weir__net_options o = { 0 };
  o.max_retries = 3;
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/always", fs.url);
  double t0 = now();
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  char buf[64];
  long rc = weir__net_reader_read(r, buf, sizeof buf);
  cr_assert_eq(rc, WEIR_EIO);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, url) && strstr(msg, "500") &&
            strstr(msg, "4 attempts"), "%s", msg);
  cr_assert_eq(atomic_load(&fs.requests), 4);
  cr_assert_lt(now() - t0, 5.0);
  weir__net_reader_close(r);
  fault_stop(&fs);
}

Test(http_faults, always_reset_fails_with_the_transport_error) {
  unsigned char data[100000];
  srv_fill(data, sizeof data, 1);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, sizeof data, FAULT_ALWAYS_RESET, 4), 0);
  weir__net_options o = { 0 };
  o.max_retries = 2;
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/reset", fs.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  long rc = read_all(r, &got, &n, 4096);
  cr_assert_eq(rc, WEIR_EIO);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, url) && strstr(msg, "3 attempts"), "%s", msg);
  cr_assert(strstr(msg, "reset") || strstr(msg, "Recv failure") ||
            strstr(msg, "partial"), "%s", msg);
  cr_assert_eq(n, 0);
  cr_assert_eq(atomic_load(&fs.requests), 3);
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
}

Test(http_faults, client_errors_fail_at_once_without_credentials) {
  char data[10] = "x";
  fault_server fs;
  cr_assert_eq(fault_start(&fs, (unsigned char *)data, sizeof data,
                           FAULT_ALWAYS_403, 5), 0);
  weir__net_options o = { 0 };
  o.max_retries = 5;
  char url[256], err[512];
  snprintf(url, sizeof url,
           "http://alice:hunter2secret@127.0.0.1:%d/private.bin"
           "?X-Amz-Signature=deadbeefsig&token=tok123", fs.port);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  char buf[16];
  cr_assert_eq(weir__net_reader_read(r, buf, sizeof buf), WEIR_EIO);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, "403"), "%s", msg);
  cr_assert(strstr(msg, "127.0.0.1") && strstr(msg, "/private.bin"), "%s",
            msg);
  cr_assert(strstr(msg, "AccessDenied"), "%s", msg);
  cr_assert_null(strstr(msg, "hunter2secret"), "%s", msg);
  cr_assert_null(strstr(msg, "alice"), "%s", msg);
  cr_assert_null(strstr(msg, "deadbeefsig"), "%s", msg);
  cr_assert_null(strstr(msg, "tok123"), "%s", msg);
  cr_assert_eq(atomic_load(&fs.requests), 1, "a 403 must not be retried");
  weir__net_reader_close(r);
  fault_stop(&fs);
}

Test(http_faults, nothing_listening_is_a_clear_error) {
  int port = srv_free_port();
  char url[256], err[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
  weir__net_options o = { 0 };
  o.max_retries = 1;
  o.retry_base_delay = 0.01;
  uint64_t size;
  cr_assert_eq(weir__net_stat(url, &o, &size, err, sizeof err), WEIR_EIO);
  cr_assert(strstr(err, url) && strstr(err, "2 attempts"), "%s", err);
}

Test(http_faults, a_stalled_transfer_times_out_and_resumes) {
  size_t size = 1500000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 12);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_STALL_ONCE, 6), 0);
  weir__net_options o = { 0 };
  o.stall_seconds = 1;
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/stall", fs.url);
  double t0 = now();
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 65536), 0, "%s",
               weir__net_reader_errmsg(r));
  double dt = now() - t0;
  cr_assert_eq(n, size);
  cr_assert(memcmp(got, data, size) == 0);
  cr_assert_eq(atomic_load(&fs.requests), 2);
  cr_assert(dt >= 0.9 && dt < 10, "took %.2f s", dt);
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
  free(data);
}

Test(http_faults, resume_refuses_a_changed_object) {
  size_t size = 800000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 13);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_RESET_ONCE, 7), 0);
  fs.etag = "v1";
  fs.etag_later = "v2";
  weir__net_options o = { 0 };
  o.retry_base_delay = 0.01;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/changing", fs.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 65536), WEIR_EIO);
  const char *msg = weir__net_reader_errmsg(r);
  cr_assert(strstr(msg, "412") && strstr(msg, "changed"), "%s", msg);
  cr_assert(memcmp(got, data, n) == 0);
  free(got);
  weir__net_reader_close(r);

  /* The same object, unchanged, resumes fine. */
  atomic_store(&fs.requests, 0);
  fs.etag_later = "v1";
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err,
                                     sizeof err), WEIR_OK);
  cr_assert_eq(read_all(r, &got, &n, 65536), 0, "%s",
               weir__net_reader_errmsg(r));
  cr_assert_eq(n, size);
  cr_assert(memcmp(got, data, size) == 0);
  cr_assert_eq(atomic_load(&fs.requests), 2);
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
  free(data);
}

/* Builds without libcurl still answer, naming the scheme they lack. */
Test(net_build, every_scheme_gets_an_answer) {
  const char *uris[] = { "http://127.0.0.1:1/a", "https://127.0.0.1:1/a",
                         "s3://bucket/key" };
  for (int i = 0; i < 3; i++) {
    weir__io_config cfg = { 0 };
    cfg.max_retries = -1;
    cfg.s3_endpoint = "http://127.0.0.1:1";   /* never the real AWS */
    weir__rstream *s = NULL;
    char err[512] = "";
    int rc = weir__net_rstream_open(uris[i], &cfg, 0, UINT64_MAX, &s, err,
                                    sizeof err);
    if (rc == WEIR_ENOTSUP) {
      char scheme[16];
      snprintf(scheme, sizeof scheme, "%.*s://",
               (int)(strstr(uris[i], "://") - uris[i]), uris[i]);
      cr_assert(strstr(err, scheme) && strstr(err, "libcurl"), "%s", err);
      cr_assert_null(s);
    } else {
      /* With libcurl the stream opens; nothing listens on port 1 and the
       * bucket is nowhere, so the first read fails with a message. */
      cr_assert_eq(rc, WEIR_OK, "%s: %s", uris[i], err);
      char buf[8];
      cr_assert_eq(s->vt->read(s, buf, sizeof buf), WEIR_EIO);
      cr_assert(strstr(s->errmsg, i < 2 ? "127.0.0.1:1/a" : "s3://bucket/key"),
                "%s", s->errmsg);
      s->vt->close(s);
    }
  }
  weir__net_shutdown();
}

Test(http_redact, userinfo_and_query_are_removed) {
  char *s = weir__net_redact("https://u:p@host:8080/a/b?sig=1#frag");
  cr_assert_str_eq(s, "https://host:8080/a/b?...");
  free(s);
  s = weir__net_redact("http://host/a@b");
  cr_assert_str_eq(s, "http://host/a@b");
  free(s);
  s = weir__net_redact("http://x:y@z@host");
  cr_assert_str_eq(s, "http://host");
  free(s);
}

/* Every answer is cut after 10000 bytes, and a Range resume picks up where
 * it stopped, so every attempt makes progress: max_retries still caps the
 * attempts of the request, resumes included (issue 21: 20 GETs for
 * max_retries = 1 before). */
static void cut_every(int max_retries, int want_requests) {
  size_t size = 200000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 21);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_CUT_EVERY, 21), 0);
  fs.cut_at = 10000;
  weir__net_options o = { 0 };
  o.max_retries = max_retries;
  o.retry_base_delay = 0.005;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/cut", fs.url);
  weir__net_reader *r;
  cr_assert_eq(weir__net_reader_open(url, &o, 0, UINT64_MAX, &r, err, sizeof err), WEIR_OK);
  unsigned char *got;
  size_t n;
  cr_assert_eq(read_all(r, &got, &n, 65536), WEIR_EIO);
  cr_assert_eq(atomic_load(&fs.requests), want_requests, "max_retries %d: %d requests",
               max_retries, atomic_load(&fs.requests));
  cr_assert_eq(n, (size_t)want_requests * 10000, "every attempt kept its bytes");
  cr_assert(memcmp(got, data, n) == 0);
  char want[64];
  snprintf(want, sizeof want, "%d attempts", want_requests);
  cr_assert(strstr(weir__net_reader_errmsg(r), want), "%s", weir__net_reader_errmsg(r));
  free(got);
  weir__net_reader_close(r);
  fault_stop(&fs);
  free(data);
}

Test(http_faults, max_retries_caps_attempts_resumes_included) { cut_every(1, 2); }
Test(http_faults, the_default_caps_attempts_at_six) { cut_every(0, 6); }

/* 501 says the server does not implement the method: permanent, like 405. */
Test(http_faults, a_501_on_put_is_not_retried) {
  char data[10] = "x";
  fault_server fs;
  cr_assert_eq(fault_start(&fs, (unsigned char *)data, sizeof data, FAULT_ALWAYS_501, 22), 0);
  weir__net_options o = { 0 };
  o.max_retries = 5;
  o.retry_base_delay = 0.005;
  char url[256], err[512];
  snprintf(url, sizeof url, "%s/up/load.jsonl", fs.url);
  weir__net_writer *w;
  cr_assert_eq(weir__net_writer_open(url, &o, &w, err, sizeof err), WEIR_OK);
  cr_assert_eq(weir__net_writer_write(w, "{}\n", 3, err, sizeof err), WEIR_OK);
  cr_assert_eq(weir__net_writer_commit(w, err, sizeof err), WEIR_EIO);
  cr_assert(strstr(err, "PUT ") && strstr(err, "HTTP 501"), "%s", err);
  cr_assert_eq(atomic_load(&fs.requests), 1, "a 501 was retried: %s", err);
  fault_stop(&fs);
}
