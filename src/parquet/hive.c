/* Hive partition keys from `key=value` folders (see hive.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/colacc.h"
#include "parquet/hive.h"

#define HIVE_NULL "__HIVE_DEFAULT_PARTITION__"

void weir__pq_hive_free(pq_hive *h) {
  if (!h) return;
  for (size_t i = 0; i < h->nfiles * h->nkeys; i++) free(h->vals[i]);
  for (size_t k = 0; k < h->nkeys; k++) free(h->keys[k].name);
  free(h->vals);
  free(h->ivals);
  free(h->keys);
  memset(h, 0, sizeof *h);
}

int weir__pq_hive_index(const pq_hive *h, const char *name) {
  for (size_t k = 0; k < h->nkeys; k++)
    if (!strcmp(h->keys[k].name, name)) return (int)k;
  return -1;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* `s[0..n)` with %XX decoded (as pyarrow's segment_encoding="uri"). */
static char *pct_decode(const char *s, size_t n) {
  char *o = malloc(n + 1);
  if (!o) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    int a, b;
    if (s[i] == '%' && i + 2 < n && (a = hexval(s[i + 1])) >= 0 &&
        (b = hexval(s[i + 2])) >= 0) {
      o[j++] = (char)(a * 16 + b);
      i += 2;
    } else {
      o[j++] = s[i];
    }
  }
  o[j] = 0;
  return o;
}

static int parse_i64(const char *s, int64_t *out) {
  if (!*s) return 0;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s || s[0] == ' ' || s[0] == '+') return 0;
  *out = v;
  return 1;
}

/* The part of `uri` that `root` names: the folder or prefix before the
 * first glob character, or all of it. */
static size_t root_len(const char *root) {
  size_t g = strcspn(root, "*?[");
  if (!root[g]) return g;
  while (g && root[g - 1] != '/') g--;
  return g;
}

static int add_key(pq_hive *h, const char *name, size_t n) {
  for (size_t k = 0; k < h->nkeys; k++)
    if (strlen(h->keys[k].name) == n && !memcmp(h->keys[k].name, name, n)) return (int)k;
  pq_hive_key *nk = realloc(h->keys, (h->nkeys + 1) * sizeof *nk);
  if (!nk) return -1;
  h->keys = nk;
  if (!(nk[h->nkeys].name = strndup(name, n))) return -1;
  nk[h->nkeys].is_int = 1;
  return (int)h->nkeys++;
}

/* Calls fn for each `k=v` folder of file `uri` below the root. */
typedef int (*seg_fn)(pq_hive *h, size_t file, const char *k, size_t kn, const char *v,
                      size_t vn);

static int each_segment(pq_hive *h, const char *root, size_t rl, const char *uri, size_t file,
                        seg_fn fn) {
  const char *p = uri;
  if (!strncmp(uri, root, rl)) p = uri + rl;
  else if (strstr(uri, "://")) p = strstr(uri, "://") + 3;
  const char *last = strrchr(p, '/');
  while (last && p < last) {
    while (*p == '/') p++;
    const char *e = strchr(p, '/');
    if (!e || e > last) break;
    const char *eq = memchr(p, '=', (size_t)(e - p));
    /* One '=' with a name before it: a partition folder. */
    if (eq && eq > p && !memchr(eq + 1, '=', (size_t)(e - eq - 1))) {
      int rc = fn(h, file, p, (size_t)(eq - p), eq + 1, (size_t)(e - eq - 1));
      if (rc) return rc;
    }
    p = e;
  }
  return 0;
}

static int seg_key(pq_hive *h, size_t file, const char *k, size_t kn, const char *v, size_t vn) {
  (void)file;
  (void)v;
  (void)vn;
  return add_key(h, k, kn) < 0 ? WEIR_ENOMEM : 0;
}

static int seg_val(pq_hive *h, size_t file, const char *k, size_t kn, const char *v, size_t vn) {
  int key = add_key(h, k, kn); /* found: every key was added before */
  if (key < 0) return WEIR_ENOMEM;
  char **slot = &h->vals[file * h->nkeys + (size_t)key];
  free(*slot);
  *slot = NULL;
  if (vn == strlen(HIVE_NULL) && !memcmp(v, HIVE_NULL, vn)) return 0;
  if (!(*slot = pct_decode(v, vn))) return WEIR_ENOMEM;
  if (!parse_i64(*slot, &h->ivals[file * h->nkeys + (size_t)key])) h->keys[key].is_int = 0;
  return 0;
}

int weir__pq_hive_discover(const char *root, const char *const *uris, size_t n, pq_hive *h,
                           char *err, size_t errlen) {
  memset(h, 0, sizeof *h);
  size_t rl = root_len(root);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = each_segment(h, root, rl, uris[i], i, seg_key);
  if (!rc && h->nkeys) {
    h->nfiles = n;
    h->vals = calloc(n * h->nkeys, sizeof *h->vals);
    h->ivals = calloc(n * h->nkeys, sizeof *h->ivals);
    if (!h->vals || !h->ivals) rc = WEIR_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) rc = each_segment(h, root, rl, uris[i], i, seg_val);
  }
  if (rc) {
    snprintf(err, errlen, "out of memory listing partition folders");
    weir__pq_hive_free(h);
  }
  return rc;
}

int weir__pq_hive_add(const pq_hive *h, size_t file, int (*want)(const char *, void *),
                      void *arg, weir_block **bp) {
  size_t rows = weir_block_num_rows(*bp), ncols = 0;
  weir__colacc *acc = calloc(h->nkeys ? h->nkeys : 1, sizeof *acc);
  int rc = acc ? WEIR_OK : WEIR_ENOMEM;
  for (size_t k = 0; k < h->nkeys && !rc; k++) {
    if (!want(h->keys[k].name, arg)) continue;
    const pq_hive_key *key = &h->keys[k];
    weir__colacc *c = &acc[ncols];
    if (weir__colacc_init(c, key->name, key->is_int ? WEIR_TYPE_INT64 : WEIR_TYPE_STRING)) {
      rc = WEIR_ENOMEM;
      break;
    }
    ncols++;
    const char *v = h->vals[file * h->nkeys + k];
    int64_t iv = h->ivals[file * h->nkeys + k];
    size_t vn = v ? strlen(v) : 0;
    if (!key->is_int && v && weir__colacc_reserve_data(c, vn * rows)) rc = WEIR_ENOMEM;
    for (size_t r = 0; r < rows && !rc; r++) {
      if (weir__colacc_grow(c)) rc = WEIR_ENOMEM;
      else if (!v) rc = weir__colacc_null(c) ? WEIR_ENOMEM : WEIR_OK;
      else if (key->is_int) weir__colacc_push_i64(c, iv);
      else if (weir__colacc_push_string(c, v, vn)) rc = WEIR_ENOMEM;
    }
  }
  if (!rc && ncols) {
    weir_block *pb = NULL, *nb = NULL;
    rc = weir__colacc_finish(acc, ncols, &pb);
    if (!rc) rc = weir_block_add_columns(*bp, pb, &nb);
    weir_block_unref(&pb);
    if (!rc) {
      weir_block_unref(bp);
      *bp = nb;
    }
  }
  for (size_t k = 0; k < ncols; k++) weir__colacc_free(&acc[k]);
  free(acc);
  return rc;
}
