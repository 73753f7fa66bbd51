/* The files behind a media reader's uri, through weir's data access layer:
 * one file, a folder or prefix (kept to the reader's suffixes), or a glob. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weir/error.h"
#include "io/vfs.h"
#include "media/media_internal.h"

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

int weir__media_list(const char *uri, const char *const *suffixes,
                     char ***paths, size_t *n, char *err, size_t errlen) {
  *paths = NULL;
  *n = 0;
  if (!uri || !*uri) {
    snprintf(err, errlen, "no input given");
    return WEIR_EINVAL;
  }
  weir__object *objs = NULL;
  size_t nobj = 0;
  int rc = weir__vfs_list(uri, NULL, &objs, &nobj, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  /* A file named on its own is read whatever its name; the files of a
   * folder or prefix only when their suffix fits the reader; a glob says
   * itself which files it wants. */
  const char *base = strrchr(uri, '/');
  int glob = strpbrk(base ? base : uri, "*?[") != NULL ||
             strpbrk(uri, "*?[") != NULL;
  const char *plain = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
  int single = nobj == 1 && (strcmp(objs[0].uri, uri) == 0 ||
                             strcmp(objs[0].uri, plain) == 0);
  char **v = calloc(nobj ? nobj : 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; v && i < nobj; i++) {
    if (!single && !glob && !has_suffix(objs[i].uri, suffixes))
      continue;
    if (!(v[k] = strdup(objs[i].uri))) {
      weir__media_list_free(v, k);
      v = NULL;
      break;
    }
    k++;
  }
  weir__vfs_list_free(objs, nobj);
  if (!v) {
    snprintf(err, errlen, "%s: out of memory", uri);
    return WEIR_ENOMEM;
  }
  if (k == 0) {
    free(v);
    snprintf(err, errlen, "%s: no matching files", uri);
    return WEIR_ENOTFOUND;
  }
  *paths = v;
  *n = k;
  return WEIR_OK;
}

void weir__media_list_free(char **paths, size_t n) {
  if (!paths)
    return;
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}
