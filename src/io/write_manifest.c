/* The manifest of a writer's output (see write_manifest.h): "key value"
 * lines, read back and compared on resume, through io's URI layer so that
 * S3 and HTTP outputs have one like local ones. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    size_t bl = strlen(base);
    snprintf(p, n, "%s%s.weir-write-manifest", base, bl && base[bl - 1] == '/' ? "" : "/");
  } else {
    const char *slash = strrchr(base, '/');
    int dl = slash ? (int)(slash - base) + 1 : 0;
    snprintf(p, n, "%.*s.%s%s.weir-write-manifest", dl, base, slash ? slash + 1 : base, suffix);
  }
  return p;
}

int weir__write_manifest_load(const char *path, const weir__io_config *cfg, char **text,
                              char *err, size_t errlen) {
  *text = NULL;
  int e = weir__vfs_exists(path, cfg);
  if (e == 0)
    return WEIR_OK; /* none: an output weir wrote before manifests, or none yet */
  if (e < 0) {
    snprintf(err, errlen, "cannot check for the output's manifest %s: %s", path,
             weir_strerror(e));
    return e;
  }
  weir__rstream *s;
  char why[512] = "";
  int rc = weir__rstream_open(path, cfg, 0, UINT64_MAX, &s, why, sizeof why);
  if (rc != WEIR_OK) {
    snprintf(err, errlen, "cannot read the output's manifest: %s", why);
    return rc;
  }
  size_t len = 0, cap = 4096;
  char *buf = malloc(cap);
  rc = buf ? WEIR_OK : WEIR_ENOMEM;
  while (rc == WEIR_OK) {
    if (cap - len < 4096) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        rc = WEIR_ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    long got = weir__rstream_read(s, buf + len, cap - len - 1);
    if (got < 0) {
      snprintf(err, errlen, "cannot read the output's manifest %s: %s", path,
               weir__rstream_errmsg(s));
      rc = (int)got;
    } else if (got == 0) {
      break;
    } else {
      len += (size_t)got;
    }
  }
  weir__rstream_close(s);
  if (rc != WEIR_OK) {
    free(buf);
    return rc;
  }
  buf[len] = '\0';
  *text = buf;
  return WEIR_OK;
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

/* 1 for a line of the listing. */
static int listing_line(const char *l) {
  return strncmp(l, "source ", 7) == 0 || strncmp(l, "input ", 6) == 0;
}

/* The next listing line of `*at` (moved past it), its length in `*len`;
 * NULL when there are no more. */
static const char *next_listing(const char **at, size_t *len) {
  const char *l = *at;
  while (l && *l) {
    const char *nl = strchr(l, '\n');
    const char *next = nl ? nl + 1 : l + strlen(l);
    if (listing_line(l)) {
      *len = (size_t)(next - l) - (nl ? 1 : 0);
      *at = next;
      return l;
    }
    l = next;
  }
  *at = l;
  return NULL;
}

/* Says how listing `had` (the manifest's) and `want` differ, or nothing
 * when they agree: the first line that differs, each side's. */
static void listing_diff(const char *had, const char *want, char *out, size_t n) {
  out[0] = '\0';
  const char *a = had, *b = want;
  for (;;) {
    size_t la = 0, lb = 0;
    const char *x = next_listing(&a, &la), *y = next_listing(&b, &lb);
    if (!x && !y)
      return;
    if (x && y && la == lb && memcmp(x, y, la) == 0)
      continue;
    if (!y)
      snprintf(out, n, "the input listing: it had \"%.*s\", which this run's inputs lack",
               (int)(la > 300 ? 300 : la), x);
    else if (!x)
      snprintf(out, n, "the input listing: this run's inputs add \"%.*s\"",
               (int)(lb > 300 ? 300 : lb), y);
    else
      snprintf(out, n, "the input listing: \"%.*s\" (this run has \"%.*s\")",
               (int)(la > 300 ? 300 : la), x, (int)(lb > 300 ? 300 : lb), y);
    return;
  }
}

int weir__write_manifest_check(const char *text, const char *path,
                               const weir__write_shape *want, const char *output, char *err,
                               size_t errlen) {
  if (!text)
    return WEIR_OK;
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
  char diff[1400];
  size_t len = 0;
  diff[0] = '\0';
  for (int i = 0; i < 5; i++) {
    char had[256];
    if (!value_of(text, keys[i], had, sizeof had) || strcmp(had, vals[i]) == 0)
      continue;
    int k = snprintf(diff + len, sizeof diff - len, "%s%s %s (this run asks for %s)",
                     len ? ", " : "", keys[i], had, vals[i]);
    if (k < 0 || (size_t)k >= sizeof diff - len)
      break;
    len += (size_t)k;
  }
  /* A manifest without a listing predates it: nothing to compare. */
  const char *at = text;
  size_t l0;
  if (want->listing && next_listing(&at, &l0) && len < sizeof diff - 2) {
    char ld[900];
    listing_diff(text, want->listing, ld, sizeof ld);
    if (ld[0])
      snprintf(diff + len, sizeof diff - len, "%s%s", len ? ", and " : "", ld);
  }
  if (!diff[0])
    return WEIR_OK;
  snprintf(err, errlen, "resume: %s was written with %s: resuming with other options or "
           "inputs would cut its rows another way; resume with the same ones, or write it "
           "again without resume", output, diff);
  return WEIR_EINVAL;
}

void weir__write_manifest_tasks(const char *text, size_t ntasks, uint64_t *first,
                                uint64_t *rows) {
  for (size_t i = 0; i < ntasks; i++)
    first[i] = rows[i] = UINT64_MAX;
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    unsigned long long t, f, r;
    if (strncmp(l, "task ", 5) == 0 && sscanf(l + 5, "%llu %llu %llu", &t, &f, &r) == 3 &&
        t < ntasks) {
      first[t] = f;
      rows[t] = r;
    }
  }
}

int weir__write_manifest_save(const char *path, const weir__io_config *cfg,
                              const weir__write_shape *s, const char *tasks, char *err,
                              size_t errlen) {
  char head[1024];
  int hn = snprintf(head, sizeof head,
                    "%s\nformat %s\nfiles %s\nlayout %s\nshard_rows %" PRIu64
                    "\nshard_bytes %" PRIu64 "\n",
                    MAGIC, s->format, s->suffix, s->layout, s->shard_rows, s->shard_bytes);
  if (hn < 0 || (size_t)hn >= sizeof head)
    return WEIR_EINVAL;
  weir__wstream *ws;
  char why[512] = "";
  int rc = weir__wstream_open(path, cfg, &ws, why, sizeof why);
  if (rc == WEIR_OK) {
    rc = weir__wstream_write(ws, head, (size_t)hn);
    if (rc == WEIR_OK && s->listing)
      rc = weir__wstream_write(ws, s->listing, strlen(s->listing));
    if (rc == WEIR_OK && tasks)
      rc = weir__wstream_write(ws, tasks, strlen(tasks));
    if (rc != WEIR_OK) {
      snprintf(why, sizeof why, "%s", weir__wstream_errmsg(ws));
      weir__wstream_abort(ws);
    } else {
      rc = weir__wstream_commit(ws, why, sizeof why);
    }
  }
  if (rc != WEIR_OK)
    snprintf(err, errlen, "cannot write the output's manifest %s: %s", path, why);
  return rc;
}
