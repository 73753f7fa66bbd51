/* Lists of inputs: a file whose name ends in ".urls" holds one input a
 * line (an http(s):// URL, an s3:// key or prefix, or a path), '#' starting
 * a comment. HTTP has no listing, so this is how many URLs become one
 * reader's input; each entry is resolved (a HEAD for a URL) on several
 * threads at once, and the objects keep the list's order. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "weir/error.h"
#include "io/vfs.h"

#define LIST_MAX_BYTES (64u << 20)
#define RESOLVERS 16

int weir__vfs_is_url_list(const char *uri) {
  size_t n = weir__uri_path_len(uri);
  return n > 5 && strncmp(uri + n - 5, ".urls", 5) == 0;
}

typedef struct entry {
  char *uri;
  size_t line;
  weir__object *objs;
  size_t n;
  int rc;
  char err[512];
} entry;

typedef struct resolver {
  entry *e;
  size_t n;
  atomic_size_t next;
  const weir__io_config *cfg;
} resolver;

static void *resolve_main(void *arg) {
  resolver *r = arg;
  for (size_t i; (i = atomic_fetch_add(&r->next, 1)) < r->n;) {
    entry *e = &r->e[i];
    e->rc = weir__vfs_list(e->uri, r->cfg, &e->objs, &e->n, e->err, sizeof e->err);
    if (e->rc == WEIR_OK && e->n == 0) {
      e->rc = WEIR_ENOTFOUND;
      snprintf(e->err, sizeof e->err, "%s: no input matches", e->uri);
    }
  }
  return NULL;
}

/* Reads the whole list into a NUL-terminated buffer. */
static int read_list(const char *uri, const weir__io_config *cfg, char **out, char *err,
                     size_t errlen) {
  weir__rstream *s;
  int rc = weir__rstream_open(uri, cfg, 0, UINT64_MAX, &s, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) {
      weir__rstream_close(s);
      snprintf(err, errlen, "%s: out of memory", uri);
      return WEIR_ENOMEM;
    }
    if (len + 1 == cap) {
      if (cap >= LIST_MAX_BYTES) {
        free(buf);
        weir__rstream_close(s);
        snprintf(err, errlen, "%s: a list of inputs over %u MiB", uri, LIST_MAX_BYTES >> 20);
        return WEIR_EINVAL;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb)
        free(buf);
      buf = nb;
      cap *= 2;
      continue;
    }
    long k = weir__rstream_read(s, buf + len, cap - 1 - len);
    if (k < 0) {
      snprintf(err, errlen, "%s", weir__rstream_errmsg(s));
      free(buf);
      weir__rstream_close(s);
      return (int)k;
    }
    if (k == 0)
      break;
    len += (size_t)k;
  }
  weir__rstream_close(s);
  buf[len] = '\0';
  *out = buf;
  return WEIR_OK;
}

int weir__vfs_list_urls(const char *uri, const weir__io_config *cfg, weir__object **objs,
                        size_t *n, char *err, size_t errlen) {
  *objs = NULL;
  *n = 0;
  char *text = NULL;
  int rc = read_list(uri, cfg, &text, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  /* Entries: trimmed lines, comments and blank lines left out. */
  size_t ne = 0, cap = 0, line = 0;
  entry *e = NULL;
  for (char *l = text; l && *l; line++) {
    char *nl = strchr(l, '\n');
    if (nl)
      *nl = '\0';
    char *hash = strchr(l, '#');
    /* '#' starts a comment only at the start or after white space: a URL's
     * fragment stays part of it. */
    if (hash && (hash == l || hash[-1] == ' ' || hash[-1] == '\t'))
      *hash = '\0';
    while (*l == ' ' || *l == '\t')
      l++;
    size_t k = strlen(l);
    while (k > 0 && (l[k - 1] == ' ' || l[k - 1] == '\t' || l[k - 1] == '\r'))
      l[--k] = '\0';
    if (k > 0) {
      if (ne == cap) {
        cap = cap ? cap * 2 : 64;
        entry *ne2 = realloc(e, cap * sizeof *e);
        if (!ne2) {
          rc = WEIR_ENOMEM;
          break;
        }
        e = ne2;
      }
      memset(&e[ne], 0, sizeof e[ne]);
      e[ne].uri = l;
      e[ne].line = line + 1;
      ne++;
    }
    l = nl ? nl + 1 : NULL;
  }
  if (rc == WEIR_OK && ne == 0) {
    snprintf(err, errlen, "%s: the list names no input", uri);
    rc = WEIR_ENOTFOUND;
  }
  for (size_t i = 0; rc == WEIR_OK && i < ne; i++)
    if (weir__vfs_is_url_list(e[i].uri)) {
      snprintf(err, errlen, "%s:%zu: a list inside a list is not read", uri, e[i].line);
      rc = WEIR_EINVAL;
    }
  if (rc == WEIR_OK) {
    resolver r = {e, ne, 0, cfg};
    pthread_t th[RESOLVERS];
    int started = 0;
    for (int i = 0; i < RESOLVERS && (size_t)i < ne; i++)
      if (pthread_create(&th[started], NULL, resolve_main, &r) == 0)
        started++;
    if (started == 0)
      resolve_main(&r);
    for (int i = 0; i < started; i++)
      pthread_join(th[i], NULL);
    size_t total = 0;
    for (size_t i = 0; i < ne && rc == WEIR_OK; i++) {
      if (e[i].rc != WEIR_OK) {
        rc = e[i].rc;
        snprintf(err, errlen, "%s:%zu: %s", uri, e[i].line, e[i].err);
      }
      total += e[i].n;
    }
    weir__object *all = rc == WEIR_OK ? malloc((total ? total : 1) * sizeof *all) : NULL;
    if (rc == WEIR_OK && !all) {
      rc = WEIR_ENOMEM;
      snprintf(err, errlen, "%s: out of memory", uri);
    }
    if (rc == WEIR_OK) {
      size_t k = 0;
      for (size_t i = 0; i < ne; i++) {
        memcpy(all + k, e[i].objs, e[i].n * sizeof *all);
        k += e[i].n;
        free(e[i].objs);
        e[i].objs = NULL;
      }
      *objs = all;
      *n = total;
    }
    for (size_t i = 0; i < ne; i++)
      weir__vfs_list_free(e[i].objs, e[i].n);
  } else if (rc == WEIR_ENOMEM) {
    snprintf(err, errlen, "%s: out of memory", uri);
  }
  free(e);
  free(text);
  return rc;
}
