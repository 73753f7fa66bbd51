/* The network back end's vfs.h entry points: listing (one object per HTTP
 * URL, ListObjectsV2 for S3 prefixes), existence and size (HEAD). */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

typedef struct headreq {
  weir__net_req rq;
} headreq;

static void head_destroy(weir__net_req *rq) {
  weir__net_req_clear(rq);
  free(rq);
}

/* HEAD `uri`: WEIR_OK with *size (UINT64_MAX if unknown), or an error;
 * *status gets the HTTP status of the answer. */
static int head(const char *uri, const weir__net_options *o, uint64_t *size,
                long *status, char *err, size_t errlen) {
  headreq *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  weir__net_req_init(&h->rq, WEIR__NET_HEAD, o);
  h->rq.destroy = head_destroy;
  int rc = weir__net_req_for_uri(&h->rq, uri, o, err, errlen);
  if (rc == WEIR_OK) {
    rc = weir__net_perform(&h->rq);
    if (rc != WEIR_OK) weir__net_copy_err(&h->rq, err, errlen);
  }
  *status = h->rq.status;
  *size = h->rq.content_length >= 0 ? (uint64_t)h->rq.content_length
                                    : UINT64_MAX;
  weir__net_req_release(&h->rq);
  return rc;
}

int weir__net_stat(const char *uri, const weir__net_options *o,
                   uint64_t *size, char *err, size_t errlen) {
  long status = 0; /* head() fails before any request when out of memory */
  int rc = head(uri, o, size, &status, err, errlen);
  /* Servers that refuse HEAD still serve GET: the size is just unknown. */
  if (rc != WEIR_OK && (status == 405 || status == 501) &&
      strncmp(uri, "s3://", 5) != 0) {
    *size = UINT64_MAX;
    return WEIR_OK;
  }
  return rc;
}

static int one_object(const char *uri, uint64_t size, weir__object **objs,
                      size_t *n, char *err, size_t errlen) {
  weir__object *v = malloc(sizeof *v);
  char *u = strdup(uri);
  if (!v || !u) {
    free(v);
    free(u);
    snprintf(err, errlen, "out of memory");
    return WEIR_ENOMEM;
  }
  v->uri = u;
  v->size = size;
  *objs = v;
  *n = 1;
  return WEIR_OK;
}

/* One bracket expression at p ("[a-z]", "[!x]", "[^x]") against c; moves
 * *pp past it. -1 when the bracket is not closed (then '[' is literal). */
static int class_match(const char **pp, char c) {
  const char *p = *pp + 1;
  int neg = *p == '!' || *p == '^';
  if (neg) p++;
  int hit = 0;
  const char *start = p;
  while (*p && (*p != ']' || p == start)) {
    if (p[1] == '-' && p[2] && p[2] != ']') {
      if ((unsigned char)c >= (unsigned char)p[0] &&
          (unsigned char)c <= (unsigned char)p[2])
        hit = 1;
      p += 3;
    } else {
      if (*p == c) hit = 1;
      p++;
    }
  }
  if (*p != ']') return -1;
  *pp = p + 1;
  return hit != neg;
}

/* Glob match of an S3 key, like local paths: '*', '?' and [...] stay
 * within one '/'-separated part; "**" spans parts, and "**" followed by '/'
 * also matches no part at all. */
static int glob_match(const char *p, const char *s) {
  while (*p) {
    if (p[0] == '*' && p[1] == '*') {
      p += 2;
      if (*p == '/') {
        p++;
        for (const char *t = s;; t++) {
          if ((t == s || t[-1] == '/') && glob_match(p, t)) return 1;
          if (!*t) return 0;
        }
      }
      for (const char *t = s;; t++) {
        if (glob_match(p, t)) return 1;
        if (!*t) return 0;
      }
    }
    if (*p == '*') {
      p++;
      for (const char *t = s;; t++) {
        if (glob_match(p, t)) return 1;
        if (!*t || *t == '/') return 0;
      }
    }
    if (!*s) return 0;
    if (*p == '?') {
      if (*s == '/') return 0;
      p++;
      s++;
      continue;
    }
    if (*p == '[' && *s != '/') {
      const char *q = p;
      int m = class_match(&q, *s);
      if (m >= 0) {
        if (!m) return 0;
        p = q;
        s++;
        continue;
      }
    }
    if (*p != *s) return 0;
    p++;
    s++;
  }
  return !*s;
}

int weir__net_list_opts(const char *uri, const weir__net_options *o,
                        weir__object **objs, size_t *n, char *err,
                        size_t errlen) {
  *objs = NULL;
  *n = 0;
  if (strncmp(uri, "s3://", 5) != 0) {
    /* HTTP has no listing: a glob or a folder URL would be fetched as one
     * file (a 404, or an index page parsed as data). */
    const char *path = strstr(uri, "://");
    path = path ? path + 3 + strcspn(path + 3, "/?#") : uri;
    size_t plen = strcspn(path, "?#");
    if (memchr(path, '*', plen) || memchr(path, '[', plen) || plen == 0 ||
        path[plen - 1] == '/') {
      char *shown = weir__net_redact(uri);
      snprintf(err, errlen, "%s: http(s) cannot be listed (no globs, no folders): name each "
               "URL, or give a list of inputs, a file ending in .urls with one URL a line",
               shown ? shown : "the URL");
      free(shown);
      return WEIR_EINVAL;
    }
    uint64_t size;
    int rc = weir__net_stat(uri, o, &size, err, errlen);
    if (rc != WEIR_OK) return rc;
    return one_object(uri, size, objs, n, err, errlen);
  }
  weir__s3_target t;
  int rc = weir__s3_target_parse(&t, uri, o, err, errlen);
  if (rc != WEIR_OK) return rc;
  weir__object *all = NULL;
  size_t nall = 0;
  size_t wild = strcspn(t.key, "*?[");
  if (t.key[wild]) {
    /* A glob: list the literal part before the first wildcard, keep the
     * keys that match. */
    char *lit = strndup(t.key, wild);
    rc = lit ? weir__s3_list(&t, lit, o, &all, &nall, err, errlen)
             : WEIR_ENOMEM;
    free(lit);
    if (rc == WEIR_OK) {
      size_t pre = strlen("s3://") + strlen(t.bucket) + 1, keep = 0;
      for (size_t i = 0; i < nall; i++) {
        if (glob_match(t.key, all[i].uri + pre)) all[keep++] = all[i];
        else free(all[i].uri);
      }
      nall = keep;
      if (nall == 0) {
        free(all);
        all = NULL;
      }
      *objs = all;
      *n = nall;
    } else if (rc == WEIR_ENOMEM) {
      snprintf(err, errlen, "out of memory");
    }
    weir__s3_target_clear(&t);
    return rc;
  }
  rc = weir__s3_list(&t, t.key, o, &all, &nall, err, errlen);
  if (rc == WEIR_OK) {
    /* The key itself when it names an object; otherwise it is a folder:
     * "data" lists data/..., never "database.txt". */
    size_t kl = strlen(t.key), keep = 0;
    size_t pre = strlen("s3://") + strlen(t.bucket) + 1;
    int exact = -1;
    for (size_t i = 0; i < nall; i++)
      if (kl > 0 && t.key[kl - 1] != '/' && !strcmp(all[i].uri + pre, t.key))
        exact = (int)i;
    for (size_t i = 0; i < nall; i++) {
      const char *key = all[i].uri + pre;
      int want = exact >= 0 ? (int)i == exact
               : kl == 0 || t.key[kl - 1] == '/' || key[kl] == '/';
      /* Keys ending in '/' are folder markers some tools create. */
      if (want && key[strlen(key) - 1] == '/' && all[i].size == 0) want = 0;
      /* Under a prefix, hidden names (a part starting with '.': a
       * writer's manifest, temporaries) are skipped, as in a local folder. */
      if (want && exact < 0) {
        const char *rest = key + kl + (key[kl] == '/');
        if (rest[0] == '.' || strstr(rest, "/.")) want = 0;
      }
      if (want) all[keep++] = all[i];
      else free(all[i].uri);
    }
    nall = keep;
    if (nall == 0) {
      free(all);
      all = NULL;
    }
    *objs = all;
    *n = nall;
  }
  weir__s3_target_clear(&t);
  return rc;
}

int weir__net_list(const char *uri, const weir__io_config *cfg,
                   weir__object **objs, size_t *n, char *err, size_t errlen) {
  weir__net_options o;
  weir__net_options_from_config(&o, cfg);
  return weir__net_list_opts(uri, &o, objs, n, err, errlen);
}

int weir__net_exists(const char *uri, const weir__io_config *cfg, char *err,
                     size_t errlen) {
  weir__net_options o;
  weir__net_options_from_config(&o, cfg);
  uint64_t size;
  long status = 0; /* head() fails before any request when out of memory */
  int rc = head(uri, &o, &size, &status, err, errlen);
  if (rc == WEIR_OK) return 1;
  if (rc == WEIR_ENOTFOUND) return 0;
  return rc;
}
