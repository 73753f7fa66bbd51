/* The manifest of a writer's local output (see write_manifest.h): a few
 * "key value" lines, read back and compared on resume. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weir/error.h"
#include "io/write_manifest.h"

#define MAGIC "weir write manifest 1"

char *weir__write_manifest_path(const char *base, int folder, const char *suffix) {
  if (strncmp(base, "file://", 7) == 0)
    base += 7;
  size_t n = strlen(base) + strlen(suffix) + 64;
  char *p = malloc(n);
  if (!p)
    return NULL;
  if (folder) {
    snprintf(p, n, "%s/.weir-write-manifest", base);
  } else {
    const char *slash = strrchr(base, '/');
    int dl = slash ? (int)(slash - base) + 1 : 0;
    snprintf(p, n, "%.*s.%s%s.weir-write-manifest", dl, base, slash ? slash + 1 : base, suffix);
  }
  return p;
}

static void put_shape(FILE *f, const weir__write_shape *s) {
  fprintf(f, "%s\nformat %s\nfiles %s\nlayout %s\nshard_rows %" PRIu64 "\nshard_bytes %" PRIu64
             "\n",
          MAGIC, s->format, s->suffix, s->layout, s->shard_rows, s->shard_bytes);
}

/* The value of `key` in the manifest text, into `out`; 0 when absent. */
static int value_of(const char *text, const char *key, char *out, size_t n) {
  size_t kl = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
      const char *v = l + kl + 1;
      size_t len = strcspn(v, "\n");
      snprintf(out, n, "%.*s", (int)len, v);
      return 1;
    }
  }
  return 0;
}

int weir__write_manifest_check(const char *path, const weir__write_shape *want,
                               const char *output, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f)
    return WEIR_OK; /* none: an output weir wrote before manifests, or none yet */
  char text[2048];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  if (strncmp(text, MAGIC "\n", strlen(MAGIC) + 1) != 0) {
    snprintf(err, errlen, "resume: %s: its manifest %s is not one weir wrote; remove it, or "
             "write the output again without resume", output, path);
    return WEIR_EINVAL;
  }
  char rows[32], bytes[32];
  snprintf(rows, sizeof rows, "%" PRIu64, want->shard_rows);
  snprintf(bytes, sizeof bytes, "%" PRIu64, want->shard_bytes);
  const char *keys[] = {"format", "files", "layout", "shard_rows", "shard_bytes"};
  const char *vals[] = {want->format, want->suffix, want->layout, rows, bytes};
  size_t len = 0;
  err[0] = '\0';
  for (int i = 0; i < 5; i++) {
    char had[256];
    if (!value_of(text, keys[i], had, sizeof had) || strcmp(had, vals[i]) == 0)
      continue;
    int k = snprintf(err + len, errlen - len, "%s%s %s (this run asks for %s)",
                     len ? ", " : "", keys[i], had, vals[i]);
    if (k < 0 || (size_t)k >= errlen - len)
      break;
    len += (size_t)k;
  }
  if (!err[0])
    return WEIR_OK;
  char diff[1024];
  snprintf(diff, sizeof diff, "%s", err);
  snprintf(err, errlen, "resume: %s was written with %s: resuming with other options would "
           "cut its rows another way; resume with the same options, or write it again "
           "without resume", output, diff);
  return WEIR_EINVAL;
}

static int mkdirs(char *path) {
  for (char *s = path + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    int rc = mkdir(path, 0777);
    *s = '/';
    if (rc != 0 && errno != EEXIST)
      return -1;
  }
  return 0;
}

int weir__write_manifest_save(const char *path, const weir__write_shape *shape,
                              char *err, size_t errlen) {
  size_t n = strlen(path) + 32;
  char *tmp = malloc(n);
  if (!tmp)
    return WEIR_ENOMEM;
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = mkdirs(tmp) == 0 ? fopen(tmp, "w") : NULL;
  int ok = f != NULL;
  if (f) {
    put_shape(f, shape);
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
  }
  if (ok && rename(tmp, path) != 0)
    ok = 0;
  if (!ok) {
    snprintf(err, errlen, "cannot write the output's manifest %s: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? WEIR_OK : WEIR_EIO;
}
