/* The files behind a media reader's uri: one file, a folder searched
 * recursively by suffix, or a glob in which `**` crosses folders. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "weir/error.h"
#include "media/media_internal.h"

typedef struct path_list {
  char **v;
  size_t n, cap;
} path_list;

static int push(path_list *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return WEIR_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(s)))
    return WEIR_ENOMEM;
  l->n++;
  return WEIR_OK;
}

static int has_suffix(const char *name, const char *const *suffixes) {
  if (!suffixes)
    return 1;
  size_t n = strlen(name);
  for (; *suffixes; suffixes++) {
    size_t k = strlen(*suffixes);
    if (n > k && strcasecmp(name + n - k, *suffixes) == 0)
      return 1;
  }
  return 0;
}

/* Walks `dir` recursively; keeps regular files that pass `suffixes`, or,
 * with `pattern`, whose path matches it (`*` crossing '/'). */
static int walk(path_list *l, const char *dir, const char *const *suffixes,
                const char *pattern, int depth) {
  if (depth > 64)
    return WEIR_OK;
  DIR *d = opendir(dir);
  if (!d)
    return WEIR_OK;
  int rc = WEIR_OK;
  struct dirent *e;
  while (rc == WEIR_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    char *p = malloc(len);
    if (!p) {
      rc = WEIR_ENOMEM;
      break;
    }
    snprintf(p, len, "%s%s%s", dir,
             dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
    struct stat st;
    if (stat(p, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = walk(l, p, suffixes, pattern, depth + 1);
      else if (S_ISREG(st.st_mode) &&
               (pattern ? fnmatch(pattern, p, 0) == 0
                        : has_suffix(e->d_name, suffixes)))
        rc = push(l, p);
    }
    free(p);
  }
  closedir(d);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int weir__media_list(const char *uri, const char *const *suffixes,
                     char ***paths, size_t *n, char *err, size_t errlen) {
  path_list l = {0};
  int rc = WEIR_OK;
  *paths = NULL;
  *n = 0;
  if (!uri || !*uri) {
    snprintf(err, errlen, "no input given");
    return WEIR_EINVAL;
  }
  if (strstr(uri, "://")) {
    snprintf(err, errlen, "%s: only local files are read by this build's "
             "media readers", uri);
    return WEIR_ENOTSUP;
  }
  struct stat st;
  if (stat(uri, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      rc = walk(&l, uri, suffixes, NULL, 0);
    else
      rc = push(&l, uri);
  } else if (strstr(uri, "**")) {
    /* Walk from the folder before the first wildcard; fnmatch without
     * FNM_PATHNAME lets `*` cross '/', which is what `**` means. */
    const char *wild = strpbrk(uri, "*?[");
    const char *slash = wild;
    while (slash > uri && slash[-1] != '/')
      slash--;
    char *root = slash > uri ? strndup(uri, (size_t)(slash - uri))
                             : strdup(".");
    if (!root)
      return WEIR_ENOMEM;
    rc = walk(&l, root, NULL, uri, 0);
    free(root);
  } else if (strpbrk(uri, "*?[")) {
    glob_t g;
    int gr = glob(uri, GLOB_NOSORT, NULL, &g);
    if (gr == 0) {
      for (size_t i = 0; i < g.gl_pathc && rc == WEIR_OK; i++)
        if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
          rc = push(&l, g.gl_pathv[i]);
      globfree(&g);
    } else if (gr != GLOB_NOMATCH) {
      rc = WEIR_EIO;
    }
  } else {
    snprintf(err, errlen, "%s: %s", uri, strerror(errno));
    return WEIR_ENOTFOUND;
  }
  if (rc != WEIR_OK) {
    weir__media_list_free(l.v, l.n);
    snprintf(err, errlen, "%s: listing failed: %s", uri, weir_strerror(rc));
    return rc;
  }
  if (l.n == 0) {
    free(l.v);
    snprintf(err, errlen, "%s: no matching files", uri);
    return WEIR_ENOTFOUND;
  }
  qsort(l.v, l.n, sizeof *l.v, cmp_str);
  *paths = l.v;
  *n = l.n;
  return WEIR_OK;
}

void weir__media_list_free(char **paths, size_t n) {
  if (!paths)
    return;
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}
