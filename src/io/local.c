/* The local-disk backend of the vfs: listing of paths, folders and globs,
 * ranged readers, and writers that publish by renaming a temporary file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "weir/error.h"
#include "io/vfs.h"

/* Listings follow symbolic links; a depth bound keeps a link cycle from
 * recursing forever. */
#define MAX_DEPTH 64

static const char *strip_file_scheme(const char *uri) {
  return strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
}

typedef struct objlist {
  weir__object *v;
  size_t n, cap;
} objlist;

static int objlist_add(objlist *l, const char *path, uint64_t size) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    weir__object *v = realloc(l->v, cap * sizeof *v);
    if (!v) return WEIR_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  char *u = strdup(path);
  if (!u) return WEIR_ENOMEM;
  l->v[l->n].uri = u;
  l->v[l->n].size = size;
  l->n++;
  return WEIR_OK;
}

static int cmp_obj(const void *a, const void *b) {
  return strcmp(((const weir__object *)a)->uri, ((const weir__object *)b)->uri);
}

static int has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Hidden names (temporary shards of a writer, editor files) are never part
 * of a dataset. */
static int hidden(const char *name) { return name[0] == '.'; }

/* Every regular file under `dir`, recursively. */
static int walk_all(const char *dir, int depth, objlist *l, char *err,
                    size_t errlen) {
  if (depth > MAX_DEPTH) return WEIR_OK;
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "%s: cannot open folder: %s", dir, strerror(errno));
    return WEIR_EIO;
  }
  int rc = WEIR_OK;
  struct dirent *e;
  while (rc == WEIR_OK && (e = readdir(d)) != NULL) {
    if (hidden(e->d_name)) continue;
    char *p = weir__vfs_join(dir, e->d_name);
    if (!p) { rc = WEIR_ENOMEM; break; }
    struct stat st;
    if (stat(p, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = walk_all(p, depth + 1, l, err, errlen);
      else if (S_ISREG(st.st_mode))
        rc = objlist_add(l, p, (uint64_t)st.st_size);
    }
    free(p);
  }
  closedir(d);
  return rc;
}

/* Matches path components comps[0..nc) against pattern components
 * pat[0..np); a "**" component matches any number of folders. */
static int match_comps(char **pat, size_t np, char **comps, size_t nc) {
  if (np == 0) return nc == 0;
  if (strcmp(pat[0], "**") == 0) {
    for (size_t k = 0; k <= nc; k++)
      if (match_comps(pat + 1, np - 1, comps + k, nc - k)) return 1;
    return 0;
  }
  if (nc == 0) return 0;
  if (fnmatch(pat[0], comps[0], FNM_PERIOD) != 0) return 0;
  return match_comps(pat + 1, np - 1, comps + 1, nc - 1);
}

/* strtok_r, not strtok: pipelines may be built on several threads. */
static size_t split_comps(char *s, char **out, size_t max) {
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(s, "/", &save); tok && n < max;
       tok = strtok_r(NULL, "/", &save))
    out[n++] = tok;
  return n;
}

static int list_glob(const char *path, objlist *l, char *err, size_t errlen) {
  /* The base folder is the part before the first component with a glob
   * character; only it is walked. */
  const char *g = strpbrk(path, "*?[");
  const char *slash = g;
  while (slash > path && *slash != '/') slash--;
  char *base;
  const char *pattern;
  if (*slash == '/') {
    base = strndup(path, (size_t)(slash - path) + (slash == path ? 1 : 0));
    pattern = slash + 1;
  } else {
    base = strdup(".");
    pattern = path;
  }
  if (!base) return WEIR_ENOMEM;
  objlist all = {0};
  struct stat st;
  int rc = WEIR_OK;
  if (stat(base, &st) == 0 && S_ISDIR(st.st_mode))
    rc = walk_all(base, 0, &all, err, errlen);
  size_t baselen = strlen(base);
  char *pat = strdup(pattern);
  char *pcomps[128];
  size_t np = pat ? split_comps(pat, pcomps, 128) : 0;
  if (!pat) rc = WEIR_ENOMEM;
  for (size_t i = 0; rc == WEIR_OK && i < all.n; i++) {
    const char *rel = all.v[i].uri;
    if (strcmp(base, ".") == 0 && strncmp(rel, "./", 2) == 0) rel += 2;
    else {
      rel += baselen;
      while (*rel == '/') rel++;
    }
    char *r = strdup(rel);
    if (!r) { rc = WEIR_ENOMEM; break; }
    char *comps[256];
    size_t nc = split_comps(r, comps, 256);
    if (match_comps(pcomps, np, comps, nc)) {
      /* A pattern without a folder part names files relative to the
       * working folder, so keep them as the user wrote them. */
      const char *name = all.v[i].uri;
      if (strcmp(base, ".") == 0 && strncmp(name, "./", 2) == 0) name += 2;
      rc = objlist_add(l, name, all.v[i].size);
    }
    free(r);
  }
  free(pat);
  weir__vfs_list_free(all.v, all.n);
  free(base);
  return rc;
}

int weir__local_list(const char *uri, const weir__io_config *cfg,
                     weir__object **objs, size_t *n, char *err,
                     size_t errlen) {
  (void)cfg;
  const char *path = strip_file_scheme(uri);
  objlist l = {0};
  int rc;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      rc = walk_all(path, 0, &l, err, errlen);
    else
      rc = objlist_add(&l, path, (uint64_t)st.st_size);
  } else if (has_glob(path)) {
    rc = list_glob(path, &l, err, errlen);
  } else {
    snprintf(err, errlen, "%s: no such file or folder", uri);
    return WEIR_ENOTFOUND;
  }
  if (rc != WEIR_OK) {
    weir__vfs_list_free(l.v, l.n);
    return rc;
  }
  if (l.n > 1) qsort(l.v, l.n, sizeof *l.v, cmp_obj);
  *objs = l.v;
  *n = l.n;
  return WEIR_OK;
}

int weir__local_exists(const char *uri, const weir__io_config *cfg,
                       char *err, size_t errlen) {
  (void)cfg;
  struct stat st;
  if (stat(strip_file_scheme(uri), &st) == 0) return 1;
  if (errno == ENOENT || errno == ENOTDIR) return 0;
  snprintf(err, errlen, "%s: %s", uri, strerror(errno));
  return WEIR_EIO;
}

/* ---- Reading ------------------------------------------------------------ */

typedef struct local_rstream {
  weir__rstream base;
  int fd;
  uint64_t left;    /* bytes of the range still to read */
  char *path;
} local_rstream;

static long local_read(weir__rstream *s, void *buf, size_t len) {
  local_rstream *ls = (local_rstream *)s;
  if (ls->left == 0 || len == 0) return 0;
  if (len > ls->left) len = (size_t)ls->left;
  if (len > (1u << 30)) len = 1u << 30;
  for (;;) {
    ssize_t r = read(ls->fd, buf, len);
    if (r >= 0) {
      ls->left -= (uint64_t)r;
      return (long)r;
    }
    if (errno == EINTR) continue;
    snprintf(s->errmsg, sizeof s->errmsg, "%s: read failed: %s", ls->path,
             strerror(errno));
    return WEIR_EIO;
  }
}

static void local_rclose(weir__rstream *s) {
  local_rstream *ls = (local_rstream *)s;
  close(ls->fd);
  free(ls->path);
  free(ls);
}

static const weir__rstream_vtable local_rvt = {local_read, local_rclose};

int weir__local_rstream_open(const char *uri, const weir__io_config *cfg,
                             uint64_t offset, uint64_t length,
                             weir__rstream **out, char *err, size_t errlen) {
  (void)cfg;
  const char *path = strip_file_scheme(uri);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: cannot open: %s", uri, strerror(e));
    return e == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO;
  }
  if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
    snprintf(err, errlen, "%s: cannot seek to %llu: %s", uri,
             (unsigned long long)offset, strerror(errno));
    close(fd);
    return WEIR_EIO;
  }
  posix_fadvise(fd, (off_t)offset, 0, POSIX_FADV_SEQUENTIAL);
  local_rstream *ls = calloc(1, sizeof *ls);
  char *p = strdup(uri);
  if (!ls || !p) {
    free(ls);
    free(p);
    close(fd);
    return WEIR_ENOMEM;
  }
  ls->base.vt = &local_rvt;
  ls->fd = fd;
  ls->left = length;
  ls->path = p;
  *out = &ls->base;
  return WEIR_OK;
}

/* ---- Writing ------------------------------------------------------------ */

#define WBUF_SIZE (1u << 20)

typedef struct local_wstream {
  weir__wstream base;
  int fd;
  char *path;      /* final name */
  char *tmp;       /* where the bytes go until commit */
  unsigned char *buf;
  size_t used;
} local_wstream;

static int mkdirs(char *path) {
  /* Creates every folder of `path` up to (not including) its last part. */
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int r = mkdir(path, 0777);
    int e = errno;
    *p = '/';
    if (r != 0 && e != EEXIST) return -1;
  }
  return 0;
}

static int flush_buf(local_wstream *ws) {
  size_t off = 0;
  while (off < ws->used) {
    ssize_t w = write(ws->fd, ws->buf + off, ws->used - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      snprintf(ws->base.errmsg, sizeof ws->base.errmsg,
               "%s: write failed: %s", ws->path, strerror(errno));
      return WEIR_EIO;
    }
    off += (size_t)w;
  }
  ws->used = 0;
  return WEIR_OK;
}

static int local_write(weir__wstream *s, const void *data, size_t len) {
  local_wstream *ws = (local_wstream *)s;
  const unsigned char *p = data;
  if (ws->used + len > WBUF_SIZE) {
    int rc = flush_buf(ws);
    if (rc) return rc;
  }
  if (len >= WBUF_SIZE) {
    /* Large writes go straight to the file. */
    unsigned char *save = ws->buf;
    ws->buf = (unsigned char *)p;
    ws->used = len;
    int rc = flush_buf(ws);
    ws->buf = save;
    ws->used = 0;
    return rc;
  }
  memcpy(ws->buf + ws->used, p, len);
  ws->used += len;
  return WEIR_OK;
}

static void local_free(local_wstream *ws) {
  free(ws->path);
  free(ws->tmp);
  free(ws->buf);
  free(ws);
}

static int local_commit(weir__wstream *s, char *err, size_t errlen) {
  local_wstream *ws = (local_wstream *)s;
  int rc = flush_buf(ws);
  /* fsync before rename: a shard that looks complete after a crash must
   * really hold its bytes. */
  if (rc == WEIR_OK && fsync(ws->fd) != 0) {
    snprintf(s->errmsg, sizeof s->errmsg, "%s: fsync failed: %s", ws->path,
             strerror(errno));
    rc = WEIR_EIO;
  }
  if (close(ws->fd) != 0 && rc == WEIR_OK) {
    snprintf(s->errmsg, sizeof s->errmsg, "%s: close failed: %s", ws->path,
             strerror(errno));
    rc = WEIR_EIO;
  }
  if (rc == WEIR_OK && rename(ws->tmp, ws->path) != 0) {
    snprintf(s->errmsg, sizeof s->errmsg, "%s: rename from %s failed: %s",
             ws->path, ws->tmp, strerror(errno));
    rc = WEIR_EIO;
  }
  if (rc != WEIR_OK) {
    unlink(ws->tmp);
    if (err && errlen) snprintf(err, errlen, "%s", s->errmsg);
  }
  local_free(ws);
  return rc;
}

static void local_abort(weir__wstream *s) {
  local_wstream *ws = (local_wstream *)s;
  close(ws->fd);
  unlink(ws->tmp);
  local_free(ws);
}

static const weir__wstream_vtable local_wvt = {local_write, local_commit,
                                               local_abort};

static atomic_uint tmp_counter;

int weir__local_wstream_open(const char *uri, const weir__io_config *cfg,
                             weir__wstream **out, char *err, size_t errlen) {
  (void)cfg;
  const char *path = strip_file_scheme(uri);
  local_wstream *ws = calloc(1, sizeof *ws);
  if (!ws) return WEIR_ENOMEM;
  ws->fd = -1;
  ws->path = strdup(path);
  ws->buf = malloc(WBUF_SIZE);
  /* The temporary name is hidden (a leading dot) and in the same folder, so
   * the rename is atomic and readers of the folder never see it. */
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  size_t tl = strlen(path) + 64;
  ws->tmp = malloc(tl);
  if (!ws->path || !ws->buf || !ws->tmp) {
    local_free(ws);
    return WEIR_ENOMEM;
  }
  snprintf(ws->tmp, tl, "%.*s.%s.tmp.%ld.%u", (int)dirlen, path, base,
           (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
  if (mkdirs(ws->tmp) != 0) {
    snprintf(err, errlen, "%s: cannot create its folder: %s", uri,
             strerror(errno));
    local_free(ws);
    return WEIR_EIO;
  }
  ws->fd = open(ws->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (ws->fd < 0) {
    snprintf(err, errlen, "%s: cannot create %s: %s", uri, ws->tmp,
             strerror(errno));
    local_free(ws);
    return WEIR_EIO;
  }
  ws->base.vt = &local_wvt;
  *out = &ws->base;
  return WEIR_OK;
}
