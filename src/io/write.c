/* The sharded, crash-safe writer behind weir_write_jsonl, weir_write_csv
 * and weir_write_blocks: a single-worker, order-preserving sink that cuts
 * its input into shards deterministically, writes each under a temporary
 * name, renames it when complete, and on resume skips the rows of shards
 * that already exist, and the read tasks whose rows are all in them.
 *
 * Skipping read tasks (see weir_write_options.resume in weir/io.h): where
 * every operator between the one source and the writer keeps a block's
 * rows with their read task (weir__op_mixes_tasks), each block reaching
 * the writer comes from one read task (weir__ctx_origin), in task order.
 * The writer then knows which rows each task gave, and records a task in
 * the manifest once all its rows are in complete shards. A resumed run
 * tells the source not to run the recorded tasks whose shards all still
 * exist, and moves its row count past their rows, so every other row
 * lands in the shard it would have in a clean run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "weir/error.h"
#include "weir/io.h"
#include "weir/dist.h"
#include "core/block_internal.h"
#include "io/codec.h"
#include "io/reader.h"
#include "io/stale_shards.h"
#include "io/vfs.h"
#include "io/blockfile.h"
#include "io/writefmt.h"
#include "io/write_manifest.h"
#include "exec/exec_internal.h"

typedef struct sink_cfg {
  const weir__fmt *fmt;
  weir_write_options o;
  weir__io_config cfg;
  char *base;          /* folder, or file name without its suffix */
  char *suffix;        /* ".jsonl.zst"... */
  int single;          /* one file, no shards */
  int prefix;          /* shards are <base>-00000<suffix> */
  char part[32];       /* a folder's shards are <part>00000<suffix>: "part-",
                          or "part-r00003-" on MPI rank 3 of several */
  int codec;
  char *manifest;      /* the manifest's path */
  char *listing;       /* the inputs' listing for the manifest, or NULL */
  weir_op *source;     /* the source whose read tasks map to rows, or NULL */
  char why_not[320];   /* when NULL: why (for the log line) */
  char *uri;           /* as given, for messages */
  /* Run state: plan_resume() and run_begin(). */
  size_t ntasks;
  uint64_t *rec_first, *rec_rows; /* the manifest's task records */
  uint64_t *first, *rows;         /* this run's: where each task's rows went */
  unsigned char *skip;            /* tasks this run does not read */
  size_t nskip;
  int tracking;                   /* this run maps rows to tasks */
  uint64_t done_rows;             /* resume by bytes, single file: rows */
  size_t done_shards;             /* [0, done_rows) in shards [0, done_shards) */
  int counted;                    /* done_rows counted already */
  int planned;                    /* plan_resume ran for the next run */
  int ranked;                     /* on MPI ranks: others write beside it */
  void *arg;           /* fmt->open_arg's */
  void (*free_arg)(void *);
  weir_op_def enc_def, sink_def;
} sink_cfg;

typedef struct sink {
  sink_cfg *c;
  weir__cstream *cur;  /* the open shard, or NULL */
  char *cur_uri;
  char *header;        /* text that started the open shard (CSV header) */
  size_t shard;        /* index of the next (or open) shard */
  uint64_t row;        /* rows of the input seen so far */
  uint64_t in_shard;   /* rows in the open shard */
  int begun;           /* resume state computed */
  /* Resume with shard_bytes: rows [0, done_rows) are in shards
   * [0, done_shards) from an earlier run. */
  uint64_t done_rows;
  size_t done_shards;
  /* Resume with shard_rows: whether shard `known_shard` exists. */
  size_t known_shard;
  int known_exists;
  /* Block files: the frames of the open shard, for its footer; and the
   * codec state to split a frame that crosses a shard boundary. */
  uint64_t *frame_off, *frame_rows;
  unsigned char **frame_meta; /* framed formats: each frame's description */
  size_t *frame_meta_len;
  size_t nframes, frames_cap;
  void *cctx, *dctx;
  weir_block *decoded;  /* the current frame's block, once split */
  weir__bytes buf;
  /* Read tasks (c->tracking): the open one, tasks [0, closed) whose rows
   * are all known, and [0, recorded) recorded as complete. */
  uint64_t cur_task;
  int has_cur;
  size_t closed, recorded;
  uint64_t pos_end;     /* the global row after the last one written */
  uint64_t front;       /* by bytes: rows [0, front) are in complete shards */
  int single_done;
  unsigned char *shard_state; /* by rows: 0 unknown, 1 complete, 2 not */
  size_t nshard_state;
  double saved_at;      /* when the manifest was last written */
  int unsaved;          /* records not written yet */
  char err[768];
} sink;

static void sink_cfg_free(void *p) {
  sink_cfg *c = p;
  if (!c) return;
  free(c->base);
  free(c->suffix);
  free(c->manifest);
  free(c->listing);
  free(c->uri);
  free(c->rec_first);
  free(c->rec_rows);
  free(c->first);
  free(c->rows);
  free(c->skip);
  weir__io_config_free_s3(&c->cfg); /* c->o's S3 strings point at these */
  if (c->free_arg) c->free_arg(c->arg);
  free(c);
}

static char *shard_uri(const sink_cfg *c, size_t k) {
  if (c->single) {
    size_t n = strlen(c->base) + strlen(c->suffix) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", c->base, c->suffix);
    return s;
  }
  char name[64];
  if (c->prefix) {
    size_t n = strlen(c->base) + strlen(c->suffix) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s-%05zu%s", c->base, k, c->suffix);
    return s;
  }
  snprintf(name, sizeof name, "%s%05zu%s", c->part, k, c->suffix);
  return weir__vfs_join(c->base, name);
}

static int exists(sink *s, size_t k, int *yes) {
  char *u = shard_uri(s->c, k);
  if (!u) return WEIR_ENOMEM;
  int e = weir__vfs_exists(u, &s->c->cfg);
  free(u);
  if (e < 0) {
    snprintf(s->err, sizeof s->err, "cannot check for shard %zu", k);
    return e;
  }
  *yes = e;
  return WEIR_OK;
}

/* 1 when `name` is ".<middle>.tmp.<pid>.<n>", the temporary name
 * local.c gives a file while it is written; `*mlen` is middle's length. */
static int temp_name(const char *name, size_t *mlen) {
  if (name[0] != '.') return 0;
  const char *t = strstr(name + 1, ".tmp.");
  if (!t) return 0;
  for (const char *q; (q = strstr(t + 1, ".tmp.")) != NULL;) t = q;
  const char *c = t + 5;
  size_t d1 = strspn(c, "0123456789");
  if (d1 == 0 || c[d1] != '.') return 0;
  size_t d2 = strspn(c + d1 + 1, "0123456789");
  if (d2 == 0 || c[d1 + 1 + d2] != '\0') return 0;
  *mlen = (size_t)(t - name - 1);
  return 1;
}

/* 1 when `middle` (`n` bytes) names a shard of this output: "part-N..."
 * in a folder, "<stem><suffix>" for a single file, "<stem>-NNNNN<suffix>"
 * for named shards. */
static int own_shard_name(const sink_cfg *c, const char *stem, const char *m, size_t n) {
  if (!c->single && !c->prefix) {
    /* This rank's own only: the other ranks write theirs meanwhile. */
    size_t pl = strlen(c->part);
    return n > pl && strncmp(m, c->part, pl) == 0 &&
           (strcmp(c->part, "part-") || (m[pl] >= '0' && m[pl] <= '9'));
  }
  size_t sl = strlen(stem), xl = strlen(c->suffix);
  if (n < sl + xl || strncmp(m, stem, sl) != 0 || strncmp(m + n - xl, c->suffix, xl) != 0)
    return 0;
  if (c->single) return n == sl + xl;
  size_t mid = n - sl - xl;
  return mid >= 6 && m[sl] == '-' && strspn(m + sl + 1, "0123456789") >= mid - 1;
}

/* Removes hidden temporary shards a killed run left in the local folder of
 * the output: of a folder output, a single file or named shards. */
static void clean_temporaries(const sink_cfg *c) {
  if (weir__vfs_is_remote(c->base)) return;
  const char *base = strncmp(c->base, "file://", 7) == 0 ? c->base + 7 : c->base;
  char *dir = NULL;
  const char *stem = "";
  if (c->single || c->prefix) {
    const char *slash = strrchr(base, '/');
    dir = slash ? strndup(base, (size_t)(slash - base) + (slash == base)) : strdup(".");
    stem = slash ? slash + 1 : base;
  } else {
    dir = strdup(base);
  }
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) {
    free(dir);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t mlen;
    const char *mf = strrchr(c->manifest, '/');
    mf = mf ? mf + 1 : c->manifest;
    /* The manifest's own, unless other ranks write theirs meanwhile. */
    if (temp_name(e->d_name, &mlen) &&
        (own_shard_name(c, stem, e->d_name + 1, mlen) ||
         (!c->ranked && strlen(mf) == mlen && strncmp(e->d_name + 1, mf, mlen) == 0))) {
      char *p = weir__vfs_join(dir, e->d_name);
      if (p) unlink(p);
      free(p);
    }
  }
  closedir(d);
  free(dir);
}

static weir__write_shape shape_of(const sink_cfg *c) {
  weir__write_shape w = {c->fmt->name, c->suffix,
                         c->single ? "file" : c->prefix ? "named shards" : "folder",
                         c->o.shard_rows, c->o.shard_bytes, c->listing};
  return w;
}

/* ---- Read tasks and the manifest ------------------------------------- */

/* The "task" lines of the manifest: tasks [0, recorded) as this run found
 * them, and beyond, the ones it skipped (their shards exist, as recorded). */
static char *task_lines(const sink_cfg *c, size_t recorded) {
  size_t cap = 64 + (c->ntasks ? c->ntasks : 1) * 8, len = 0;
  char *t = malloc(cap);
  if (!t) return NULL;
  t[0] = '\0';
  for (size_t i = 0; c->tracking && i < c->ntasks; i++) {
    uint64_t f, r;
    if (i < recorded) f = c->first[i], r = c->rows[i];
    else if (c->skip && c->skip[i]) f = c->rec_first[i], r = c->rec_rows[i];
    else continue;
    if (cap - len < 80) {
      char *n = realloc(t, cap * 2);
      if (!n) {
        free(t);
        return NULL;
      }
      t = n;
      cap *= 2;
    }
    len += (size_t)snprintf(t + len, cap - len, "task %zu %llu %llu\n", i,
                            (unsigned long long)f, (unsigned long long)r);
  }
  return t;
}

static int save_manifest(const sink_cfg *c, size_t recorded, char *err, size_t errlen) {
  char *tasks = task_lines(c, recorded);
  if (!tasks) return WEIR_ENOMEM;
  weir__write_shape w = shape_of(c);
  int rc = weir__write_manifest_save(c->manifest, &c->cfg, &w, tasks, err, errlen);
  free(tasks);
  return rc;
}

/* Shard k exists (an earlier run's, on resume). */
static int shard_exists(const sink_cfg *c, size_t k, int *yes, char *err, size_t errlen) {
  char *u = shard_uri(c, k);
  if (!u) return WEIR_ENOMEM;
  int e = weir__vfs_exists(u, &c->cfg);
  free(u);
  if (e < 0) {
    snprintf(err, errlen, "cannot check for shard %zu", k);
    return e;
  }
  *yes = e;
  return WEIR_OK;
}

/* Resume by bytes or into one file: the rows of the complete shards at the
 * head of the output (they are counted: a shard's rows are known only by
 * reading it). */
static int count_done(sink_cfg *c, char *err, size_t errlen) {
  c->done_rows = 0;
  c->done_shards = 0;
  if (!c->o.resume || (!c->single && c->o.shard_rows)) return WEIR_OK;
  if (c->single) {
    int yes;
    int rc = shard_exists(c, 0, &yes, err, errlen);
    if (rc) return rc;
    if (yes) c->done_rows = UINT64_MAX, c->done_shards = 1;
    return WEIR_OK;
  }
  for (;;) {
    int yes;
    int rc = shard_exists(c, c->done_shards, &yes, err, errlen);
    if (rc) return rc;
    if (!yes) break;
    char *u = shard_uri(c, c->done_shards);
    uint64_t rows = 0;
    char why[512] = "";
    rc = u ? c->fmt->count_rows(u, &c->cfg, &rows, why, sizeof why) : WEIR_ENOMEM;
    free(u);
    if (rc) {
      snprintf(err, errlen, "resume: cannot count the rows of shard %zu: %s", c->done_shards,
               why);
      return rc;
    }
    c->done_rows += rows;
    c->done_shards++;
  }
  return WEIR_OK;
}

/* 1 when rows [a, b) of an earlier run are all in shards that exist.
 * `last`/`last_yes` remember the last shard asked about: consecutive
 * tasks often share one, and on S3 each question is a request. */
static int rows_kept(sink_cfg *c, uint64_t a, uint64_t b, int *yes, uint64_t *last,
                     int *last_yes, char *err, size_t errlen) {
  *yes = 1;
  if (a >= b) return WEIR_OK;
  if (c->single || !c->o.shard_rows) {
    *yes = b <= c->done_rows;
    return WEIR_OK;
  }
  for (uint64_t k = a / c->o.shard_rows; k <= (b - 1) / c->o.shard_rows && *yes; k++) {
    if (k != *last) {
      int rc = shard_exists(c, (size_t)k, last_yes, err, errlen);
      if (rc) return rc;
      *last = k;
    }
    *yes = *last_yes;
  }
  return WEIR_OK;
}

static void plan_free(sink_cfg *c) {
  free(c->rec_first);
  free(c->rec_rows);
  free(c->first);
  free(c->rows);
  free(c->skip);
  c->rec_first = c->rec_rows = c->first = c->rows = NULL;
  c->skip = NULL;
  c->nskip = 0;
  c->tracking = 0;
}

/* Allocates the run's task arrays (records unknown, nothing skipped). */
static int plan_alloc(sink_cfg *c) {
  c->ntasks = c->source->num_tasks;
  size_t n = c->ntasks ? c->ntasks : 1;
  c->rec_first = malloc(n * sizeof *c->rec_first);
  c->rec_rows = malloc(n * sizeof *c->rec_rows);
  c->first = calloc(n, sizeof *c->first);
  c->rows = calloc(n, sizeof *c->rows);
  c->skip = calloc(n, 1);
  if (!c->rec_first || !c->rec_rows || !c->first || !c->rows || !c->skip) {
    plan_free(c);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) c->rec_first[i] = c->rec_rows[i] = UINT64_MAX;
  c->tracking = 1;
  return WEIR_OK;
}

/* A resume, when the writer is made (on the caller's thread, like the
 * readers' listings: a run's own requests go through its loop): checks
 * the manifest, counts what an earlier run left, and picks the read tasks
 * not to run. WEIR_EINVAL with `err` when the manifest refuses. */
static int plan_resume(sink_cfg *c, char *err, size_t errlen) {
  char *text = NULL;
  int rc = weir__write_manifest_load(c->manifest, &c->cfg, &text, err, errlen);
  weir__write_shape w = shape_of(c);
  if (rc == WEIR_OK) rc = weir__write_manifest_check(text, c->manifest, &w, c->uri, err, errlen);
  if (rc == WEIR_OK) rc = count_done(c, err, errlen);
  if (rc == WEIR_OK) c->counted = 1;
  if (rc == WEIR_OK && c->source) rc = plan_alloc(c);
  if (rc == WEIR_OK && c->tracking) {
    weir__write_manifest_tasks(text, c->ntasks, c->rec_first, c->rec_rows);
    uint64_t last = UINT64_MAX;
    int last_yes = 0;
    for (size_t i = 0; i < c->ntasks && rc == WEIR_OK; i++) {
      if (c->rec_rows[i] == UINT64_MAX) continue;
      int yes;
      rc = rows_kept(c, c->rec_first[i], c->rec_first[i] + c->rec_rows[i], &yes, &last,
                     &last_yes, err, errlen);
      if (rc == WEIR_OK && yes) {
        c->skip[i] = 1;
        c->nskip++;
      }
    }
  }
  free(text);
  if (rc != WEIR_OK) plan_free(c);
  c->planned = rc == WEIR_OK;
  return rc;
}

/* As a run begins, before any worker (no I/O here): hands the source the
 * read tasks the plan skips, or for a run without one (no resume, or a
 * second run of the pipeline) starts mapping rows to tasks afresh. */
static int run_begin(void *arg, weir_op *op, char *err, size_t errlen) {
  (void)err, (void)errlen;
  sink_cfg *c = arg;
  weir_pipeline *p = op->p;
  if (!c->planned) {
    plan_free(c);
    c->counted = 0;
    if (c->source && c->source->active && plan_alloc(c) != WEIR_OK) return WEIR_ENOMEM;
  }
  c->planned = 0; /* used once: a later run checks the output again */
  if (c->o.resume && !c->tracking)
    weir__log(p, WEIR_LOG_INFO, "%s: resume: every read task is read again, because %s; "
              "rows already in complete shards are not written again", op->name,
              c->why_not[0] ? c->why_not : "no source's read tasks map to its rows");
  if (c->nskip) {
    /* The source owns the list now; it is freed with its run state. */
    unsigned char *give = malloc(c->ntasks);
    if (!give) return WEIR_ENOMEM;
    memcpy(give, c->skip, c->ntasks);
    free(c->source->skip_tasks);
    c->source->skip_tasks = give;
    weir__op_count(c->source, "resume_skipped_tasks", c->nskip);
  }
  if (c->o.resume && c->tracking)
    weir__log(p, WEIR_LOG_INFO, "%s: resume: %zu of %zu read tasks of '%s' have all their "
              "rows in complete shards and are not read again", op->name, c->nskip,
              c->ntasks, c->source->name);
  return WEIR_OK;
}

/* Whether shard k is complete: written by this run, or on resume there
 * from an earlier one. */
static int shard_complete(sink *s, size_t k, int *yes) {
  if (k >= s->nshard_state) {
    size_t n = s->nshard_state ? s->nshard_state : 64;
    while (n <= k) n *= 2;
    unsigned char *st = realloc(s->shard_state, n);
    if (!st) return WEIR_ENOMEM;
    memset(st + s->nshard_state, 0, n - s->nshard_state);
    s->shard_state = st;
    s->nshard_state = n;
  }
  if (s->shard_state[k] == 0) {
    int e = 0;
    if (s->c->o.resume) {
      int rc = shard_exists(s->c, k, &e, s->err, sizeof s->err);
      if (rc) return rc;
    }
    s->shard_state[k] = e ? 1 : 2;
  }
  *yes = s->shard_state[k] == 1;
  return WEIR_OK;
}

/* 1 in *yes when rows [a, b) are all in complete shards now. */
static int rows_complete(sink *s, uint64_t a, uint64_t b, int *yes) {
  const sink_cfg *c = s->c;
  *yes = 1;
  if (a >= b) return WEIR_OK;
  if (c->single) {
    *yes = s->single_done || c->done_rows == UINT64_MAX;
    return WEIR_OK;
  }
  if (!c->o.shard_rows) {
    *yes = b <= s->front;
    return WEIR_OK;
  }
  /* From the last: while a task is being written, its last shard is the
   * one not complete yet, so the answer comes at once. */
  for (uint64_t k = (b - 1) / c->o.shard_rows + 1; k-- > a / c->o.shard_rows && *yes;) {
    int rc = shard_complete(s, (size_t)k, yes);
    if (rc) return rc;
  }
  return WEIR_OK;
}

/* Records the closed tasks whose rows are all in complete shards, in task
 * order; writes the manifest when there are new ones. */
static int record_ready(sink *s, int force) {
  sink_cfg *c = s->c;
  size_t before = s->recorded;
  while (s->recorded < s->closed) {
    size_t i = s->recorded;
    int yes;
    int rc = rows_complete(s, c->first[i], c->first[i] + c->rows[i], &yes);
    if (rc) return rc;
    if (!yes) break;
    s->recorded++;
  }
  if (s->recorded == before && !(force && s->unsaved)) return WEIR_OK;
  /* Each write holds every record: with many tasks, at most one a second
   * (what a crash loses meanwhile is read again, never wrong). */
  double now = weir__now();
  if (!force && c->ntasks > 4096 && now - s->saved_at < 1.0) {
    s->unsaved = 1;
    return WEIR_OK;
  }
  s->saved_at = now;
  s->unsaved = 0;
  return save_manifest(c, s->recorded, s->err, sizeof s->err);
}

/* A task's rows differ from the earlier run's record: the rows already in
 * shards would not be the ones this run would put there. */
static int differs(sink *s, size_t i, const char *what, uint64_t now, uint64_t then) {
  snprintf(s->err, sizeof s->err,
           "resume: read task %zu of '%s' %s %llu now but %llu in the run that wrote "
           "the output: the pipeline does not give the rows it gave then (resume needs "
           "the same input, options and operators); write the output again without resume",
           i, s->c->source->name, what, (unsigned long long)now, (unsigned long long)then);
  return WEIR_EINVAL;
}

/* The open task (if any) and tasks [closed, upto) are done: a skipped
 * task's rows are the earlier run's; one not skipped that sent no block
 * gave none. */
static int close_tasks(sink *s, size_t upto) {
  sink_cfg *c = s->c;
  if (s->has_cur) {
    size_t i = (size_t)s->cur_task;
    c->rows[i] = s->row - c->first[i];
    if (c->rec_rows[i] != UINT64_MAX && c->rows[i] != c->rec_rows[i])
      return differs(s, i, "gives rows:", c->rows[i], c->rec_rows[i]);
    s->closed = i + 1;
    s->has_cur = 0;
  }
  for (size_t i = s->closed; i < upto; i++) {
    c->first[i] = s->row;
    if (c->skip[i]) {
      c->rows[i] = c->rec_rows[i];
      s->row += c->rec_rows[i];
    } else {
      c->rows[i] = 0;
      if (c->rec_rows[i] != UINT64_MAX && c->rec_rows[i] != 0)
        return differs(s, i, "gives rows:", 0, c->rec_rows[i]);
    }
  }
  if (upto > s->closed) s->closed = upto;
  return WEIR_OK;
}

/* A block of read task `o` reaches the writer. */
static int on_origin(sink *s, uint64_t o) {
  sink_cfg *c = s->c;
  if (s->has_cur && o == s->cur_task) return WEIR_OK;
  if (o == WEIR__ORIGIN_MIXED || o >= c->ntasks || o < s->closed ||
      (s->has_cur && o < s->cur_task)) {
    if (c->nskip) {
      snprintf(s->err, sizeof s->err, "internal: resume skips read tasks, but a block of %s "
               "reached the writer", o == WEIR__ORIGIN_MIXED ? "no one read task"
               : "a read task out of order");
      return WEIR_EINVAL;
    }
    c->tracking = 0; /* nothing skipped: the rows are still right */
    return WEIR_OK;
  }
  int rc = close_tasks(s, (size_t)o);
  if (rc) return rc;
  c->first[o] = s->row;
  if (c->rec_first[o] != UINT64_MAX && c->rec_first[o] != s->row)
    return differs(s, (size_t)o, "starts at row", s->row, c->rec_first[o]);
  s->cur_task = o;
  s->has_cur = 1;
  return WEIR_OK;
}

static int begin_run(sink *s) {
  s->begun = 1;
  clean_temporaries(s->c);
  /* Before the first shard: every shard on disk was cut as it says. */
  int rc = save_manifest(s->c, 0, s->err, sizeof s->err);
  if (rc == WEIR_OK && !s->c->counted) rc = count_done(s->c, s->err, sizeof s->err);
  if (rc) return rc;
  s->known_shard = SIZE_MAX;
  s->done_rows = s->c->done_rows;
  s->done_shards = s->c->done_shards;
  s->front = s->c->o.resume && !s->c->single ? s->c->done_rows : 0;
  return WEIR_OK;
}

static int put(sink *s, const void *p, size_t n) {
  int rc = weir__cstream_write(s->cur, p, n);
  if (rc) snprintf(s->err, sizeof s->err, "%s", weir__cstream_errmsg(s->cur));
  return rc;
}

/* The frame descriptions of the open shard (framed formats). */
static void free_metas(sink *s) {
  for (size_t i = 0; s->frame_meta && i < s->nframes; i++) {
    free(s->frame_meta[i]);
    s->frame_meta[i] = NULL;
  }
}

static uint64_t shard_pos(const sink *s) {
  return weir__cstream_bytes_in(s->cur);
}

/* Opens the next shard; `head` is the text that starts it (CSV). */
static int open_shard(sink *s, const char *head) {
  s->cur_uri = shard_uri(s->c, s->shard);
  if (!s->cur_uri) return WEIR_ENOMEM;
  weir__wstream *ws;
  char err[512] = "";
  int rc = weir__wstream_open(s->cur_uri, &s->c->cfg, &ws, err, sizeof err);
  if (rc == WEIR_OK)
    rc = weir__cstream_open(ws, s->c->codec, s->c->o.compression_level, &s->cur);
  else
    snprintf(s->err, sizeof s->err, "%s", err);
  if (rc) {
    free(s->cur_uri);
    s->cur_uri = NULL;
    return rc;
  }
  s->in_shard = 0;
  s->nframes = 0;
  free(s->header);
  s->header = strdup(head ? head : "");
  if (!s->header) return WEIR_ENOMEM;
  if (!s->c->fmt->text) {
    s->buf.len = 0;
    rc = s->c->fmt->shard_head ? s->c->fmt->shard_head(&s->buf) : weir__bf_header(&s->buf);
    if (rc == WEIR_OK) rc = put(s, s->buf.p, s->buf.len);
    return rc;
  }
  return put(s, s->header, strlen(s->header));
}

static int shard_complete(sink *s, size_t k, int *yes);
static int record_ready(sink *s, int force);

static int close_shard(sink *s) {
  int rc = WEIR_OK;
  if (!s->c->fmt->text) {
    s->buf.len = 0;
    char err[512] = "";
    rc = s->c->fmt->shard_foot
             ? s->c->fmt->shard_foot(s->frame_off, (const unsigned char *const *)s->frame_meta,
                                     s->frame_meta_len, s->nframes, &s->buf, err, sizeof err)
             : weir__bf_footer(s->frame_off, s->frame_rows, s->nframes, shard_pos(s),
                               &s->buf);
    if (rc && err[0]) snprintf(s->err, sizeof s->err, "%s", err);
    if (rc == WEIR_OK) rc = put(s, s->buf.p, s->buf.len);
    free_metas(s);
  }
  if (rc == WEIR_OK) {
    char err[512] = "";
    rc = weir__cstream_commit(s->cur, err, sizeof err);
    if (rc) snprintf(s->err, sizeof s->err, "%s", err);
  } else {
    weir__cstream_abort(s->cur);
  }
  s->cur = NULL;
  free(s->cur_uri);
  s->cur_uri = NULL;
  if (rc == WEIR_OK && s->c->tracking) {
    /* Complete now: the tasks whose rows it ends may be recorded. */
    if (s->c->single) {
      s->single_done = 1;
    } else if (s->c->o.shard_rows) {
      int yes;
      rc = shard_complete(s, s->shard, &yes);
      if (rc == WEIR_OK) s->shard_state[s->shard] = 1;
    } else {
      s->front = s->pos_end;
    }
  }
  s->shard++;
  if (rc == WEIR_OK && s->c->tracking) rc = record_ready(s, 0);
  return rc;
}

static void abort_shard(sink *s) {
  free_metas(s);
  weir__cstream_abort(s->cur);
  s->cur = NULL;
  free(s->cur_uri);
  s->cur_uri = NULL;
}

static int sink_init(void *user, int worker, void **state) {
  (void)worker;
  sink *s = calloc(1, sizeof *s);
  if (!s) return WEIR_ENOMEM;
  s->c = user;
  if (!s->c->fmt->text) {
    s->cctx = ZSTD_createCCtx();
    s->dctx = ZSTD_createDCtx();
    if (!s->cctx || !s->dctx) {
      ZSTD_freeCCtx(s->cctx);
      ZSTD_freeDCtx(s->dctx);
      free(s);
      return WEIR_ENOMEM;
    }
  }
  *state = s;
  return WEIR_OK;
}

static void sink_destroy(void *state) {
  sink *s = state;
  if (!s) return;
  /* Reached without finish: an error or a cancel. The open shard is not
   * complete, so it must not appear. */
  if (s->cur) abort_shard(s);
  weir__bytes_free(&s->buf);
  weir_block_unref(&s->decoded);
  free(s->header);
  free(s->frame_off);
  free(s->frame_rows);
  free(s->frame_meta);
  free(s->frame_meta_len);
  free(s->shard_state);
  ZSTD_freeCCtx(s->cctx);
  ZSTD_freeDCtx(s->dctx);
  free(s);
}

static int fail(sink *s, weir_ctx *ctx, int rc) {
  if (s->err[0]) weir_ctx_set_errmsg(ctx, "%s", s->err);
  if (s->cur) abort_shard(s);
  return rc;
}

/* Appends one frame (its bytes, `rows` rows, and for framed formats its
 * description `meta`) to the open shard. */
static int put_frame(sink *s, const void *p, size_t n, uint64_t rows,
                     const void *meta, size_t meta_len) {
  if (s->nframes == s->frames_cap) {
    size_t cap = s->frames_cap ? s->frames_cap * 2 : 64;
    uint64_t *o = realloc(s->frame_off, cap * sizeof *o);
    if (!o) return WEIR_ENOMEM;
    s->frame_off = o;
    uint64_t *r = realloc(s->frame_rows, cap * sizeof *r);
    if (!r) return WEIR_ENOMEM;
    s->frame_rows = r;
    unsigned char **m = realloc(s->frame_meta, cap * sizeof *m);
    if (!m) return WEIR_ENOMEM;
    s->frame_meta = m;
    size_t *ml = realloc(s->frame_meta_len, cap * sizeof *ml);
    if (!ml) return WEIR_ENOMEM;
    s->frame_meta_len = ml;
    s->frames_cap = cap;
  }
  s->frame_meta[s->nframes] = NULL;
  s->frame_meta_len[s->nframes] = meta_len;
  if (meta) {
    s->frame_meta[s->nframes] = malloc(meta_len ? meta_len : 1);
    if (!s->frame_meta[s->nframes]) return WEIR_ENOMEM;
    memcpy(s->frame_meta[s->nframes], meta, meta_len);
  }
  s->frame_off[s->nframes] = shard_pos(s);
  s->frame_rows[s->nframes] = rows;
  s->nframes++;
  return put(s, p, n);
}

/* Writes rows [r, r + m) of the encoded block `e` into the open shard. */
static int put_rows(sink *s, const weir_block *e, size_t r, size_t m) {
  const weir__column *c = &e->cols[0];
  if (s->c->fmt->text)
    return put(s, c->data + c->offsets[r], (size_t)(c->offsets[r + m] - c->offsets[r]));
  uint64_t rows = (uint64_t)((const int64_t *)e->cols[1].data)[0];
  const weir__column *mc = e->num_columns > 2 ? &e->cols[2] : NULL;
  if (r == 0 && m == rows)
    return put_frame(s, c->data + c->offsets[0],
                     (size_t)(c->offsets[1] - c->offsets[0]), rows,
                     mc ? mc->data + mc->offsets[0] : NULL,
                     mc ? (size_t)(mc->offsets[1] - mc->offsets[0]) : 0);
  if (s->c->fmt->shard_foot) {
    /* Framed formats are cut at shard boundaries before encoding. */
    snprintf(s->err, sizeof s->err, "internal: a %s frame crosses a shard boundary",
             s->c->fmt->name);
    return WEIR_EINVAL;
  }
  /* A shard boundary inside the frame: decode it once, and write the
   * part that belongs here as a frame of its own. */
  char err[256];
  int rc = WEIR_OK;
  if (!s->decoded) {
    uint32_t tag;
    uint64_t comp, raw, frows;
    const unsigned char *f = c->data + c->offsets[0];
    weir__bf_frame_header(f, &tag, &comp, &raw, &frows);
    rc = weir__bf_decode(f + WEIR__BF_FRAME_HEADER, (size_t)comp, raw, frows,
                         s->dctx, &s->decoded, err, sizeof err);
    if (rc) {
      snprintf(s->err, sizeof s->err, "cannot split a block: %s", err);
      return rc;
    }
  }
  weir_block *part = weir__block_slice(s->decoded, r, m);
  if (!part) return WEIR_ENOMEM;
  s->buf.len = 0;
  int level = s->c->o.compression_level ? s->c->o.compression_level : 3;
  rc = weir__bf_frame(part, s->cctx, level, &s->buf, NULL);
  weir_block_unref(&part);
  if (rc == WEIR_OK) rc = put_frame(s, s->buf.p, s->buf.len, m, NULL, 0);
  return rc;
}

/* Rows in the encoded block `e`. */
static size_t rows_of(const sink *s, const weir_block *e) {
  return s->c->fmt->text ? e->num_rows
                         : (size_t)((const int64_t *)e->cols[1].data)[0];
}

/* How many of rows [r, n) of `e` go into the open shard now: up to the
 * shard's row limit, and with shard_bytes for text, the rows written
 * while the shard is still under the limit. */
static size_t rows_now(const sink *s, const weir_block *e, size_t r, size_t n) {
  uint64_t lim = s->c->o.shard_rows;
  size_t m = n - r;
  if (lim && s->in_shard + m > lim) m = (size_t)(lim - s->in_shard);
  if (s->c->o.shard_bytes && s->c->fmt->text) {
    const int64_t *o = e->cols[0].offsets;
    uint64_t pos = shard_pos(s);
    size_t k = 0;
    while (k < m && pos + (uint64_t)(o[r + k] - o[r]) < s->c->o.shard_bytes) k++;
    m = k;
  }
  return m;
}

static int sink_process(void *state, weir_block *e, weir_emit *out,
                        weir_ctx *ctx) {
  (void)out;
  sink *s = state;
  const sink_cfg *c = s->c;
  int rc = WEIR_OK;
  s->err[0] = 0;
  weir_block_unref(&s->decoded);
  if (!s->begun && (rc = begin_run(s)) != WEIR_OK) return fail(s, ctx, rc);
  if (c->tracking) {
    size_t closed = s->closed;
    rc = on_origin(s, weir__ctx_origin(ctx));
    if (rc == WEIR_OK && c->tracking && s->closed > closed) rc = record_ready(s, 0);
    if (rc != WEIR_OK) return fail(s, ctx, rc);
  }
  const char *head = c->fmt->text ? e->cols[0].name : "";
  size_t n = rows_of(s, e), r = 0;
  while (r < n) {
    uint64_t g = s->row + r;
    /* Rows an earlier run already wrote into a complete shard. */
    if (c->o.resume && !s->cur) {
      if (c->single || !c->o.shard_rows) {
        if (g < s->done_rows) {
          uint64_t skip = s->done_rows - g;
          r += skip < n - r ? (size_t)skip : n - r;
          continue;
        }
        if (s->shard < s->done_shards) s->shard = s->done_shards;
      } else {
        size_t k = (size_t)(g / c->o.shard_rows);
        if (k != s->known_shard) {
          rc = exists(s, k, &s->known_exists);
          if (rc) return fail(s, ctx, rc);
          s->known_shard = k;
        }
        s->shard = k;
        if (s->known_exists) {
          uint64_t end = (uint64_t)(k + 1) * c->o.shard_rows;
          uint64_t skip = end - g;
          r += skip < n - r ? (size_t)skip : n - r;
          if (s->row + r == end) s->shard = k + 1;
          continue;
        }
      }
    }
    if (!s->cur && (rc = open_shard(s, head)) != WEIR_OK) return fail(s, ctx, rc);
    if (strcmp(s->header, head) != 0) {
      snprintf(s->err, sizeof s->err,
               "a block's columns differ from the CSV header \"%.*s\"; CSV "
               "needs one set of columns",
               (int)strcspn(s->header, "\n"), s->header);
      return fail(s, ctx, WEIR_EINVAL);
    }
    size_t m = rows_now(s, e, r, n);
    if (m == 0) m = 1; /* an open shard always takes its first row */
    if ((rc = put_rows(s, e, r, m)) != WEIR_OK) return fail(s, ctx, rc);
    r += m;
    s->in_shard += m;
    s->pos_end = s->row + r;
    int full = !c->single &&
               ((c->o.shard_rows && s->in_shard >= c->o.shard_rows) ||
                (c->o.shard_bytes && shard_pos(s) >= c->o.shard_bytes));
    if (full && (rc = close_shard(s)) != WEIR_OK) return fail(s, ctx, rc);
  }
  s->row += n;
  weir_block_unref(&s->decoded);
  return WEIR_OK;
}

static int sink_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  (void)out;
  sink *s = state;
  const sink_cfg *c = s->c;
  int rc = WEIR_OK;
  s->err[0] = 0;
  if (!s->begun && (rc = begin_run(s)) != WEIR_OK) return fail(s, ctx, rc);
  /* Every task has sent its rows: the ones after the last block gave none
   * (or were skipped). */
  if (c->tracking && (rc = close_tasks(s, c->ntasks)) != WEIR_OK) return fail(s, ctx, rc);
  if (!s->cur && c->single && !(c->o.resume && s->done_shards)) {
    /* A single-file output exists even without rows. */
    if ((rc = open_shard(s, "")) != WEIR_OK) return fail(s, ctx, rc);
  }
  if (s->cur && (rc = close_shard(s)) != WEIR_OK) return fail(s, ctx, rc);
  if (c->tracking && (rc = record_ready(s, 1)) != WEIR_OK) return fail(s, ctx, rc);
  if (!c->o.resume && !weir__vfs_is_remote(c->base)) {
    /* Shards of an earlier run (longer, of another compression, or of the
     * other layout) are not part of this output. */
    if (c->single || c->prefix) {
      char *dir = strdup(c->base);
      if (!dir) return WEIR_ENOMEM;
      char *slash = strrchr(dir, '/');
      const char *stem = slash ? slash + 1 : dir;
      if (slash) *slash = 0;
      weir__stale_shards_remove(slash ? (dir[0] ? dir : "/") : ".", stem, 0, c->fmt->ext,
                                c->suffix, c->single, s->shard);
      free(dir);
    } else {
      weir__stale_shards_remove(c->base, "part", 1, c->fmt->ext, c->suffix, 0, s->shard);
    }
  }
  return WEIR_OK;
}

/* ---- The encoding op: serialises blocks on parallel workers ---------- */

typedef struct enc_state {
  const sink_cfg *c;
  void *st;
} enc_state;

static int enc_init(void *user, int worker, void **state) {
  (void)worker;
  enc_state *e = calloc(1, sizeof *e);
  if (!e) return WEIR_ENOMEM;
  e->c = user;
  if (e->c->fmt->open_arg || e->c->fmt->open) {
    e->st = e->c->fmt->open_arg ? e->c->fmt->open_arg(e->c->arg)
                                : e->c->fmt->open(e->c->o.compression_level);
    if (!e->st) {
      free(e);
      return WEIR_ENOMEM;
    }
  }
  *state = e;
  return WEIR_OK;
}

static void enc_destroy(void *state) {
  enc_state *e = state;
  if (!e) return;
  if (e->c->fmt->close) e->c->fmt->close(e->st);
  free(e);
}

static int enc_process(void *state, weir_block *in, weir_emit *out,
                       weir_ctx *ctx) {
  enc_state *e = state;
  if (weir_block_num_rows(in) == 0) return WEIR_OK;
  weir_block *enc;
  char err[512] = "";
  int rc = e->c->fmt->encode(e->st, in, &enc, err, sizeof err);
  if (rc != WEIR_OK) {
    if (err[0]) weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  return weir_emit_block(out, enc);
}

static const weir_op_def enc_def_jsonl = {WEIR_OP_DEF_VERSION, "encode_jsonl",
                                          enc_init, enc_process, NULL,
                                          enc_destroy};
static const weir_op_def enc_def_csv = {WEIR_OP_DEF_VERSION, "encode_csv",
                                        enc_init, enc_process, NULL,
                                        enc_destroy};
static const weir_op_def enc_def_blocks = {WEIR_OP_DEF_VERSION,
                                           "encode_blocks", enc_init,
                                           enc_process, NULL, enc_destroy};

static const weir_op_def sink_def_jsonl = {WEIR_OP_DEF_VERSION, "write_jsonl",
                                           sink_init, sink_process,
                                           sink_finish, sink_destroy};
static const weir_op_def sink_def_csv = {WEIR_OP_DEF_VERSION, "write_csv",
                                         sink_init, sink_process, sink_finish,
                                         sink_destroy};
static const weir_op_def sink_def_blocks = {WEIR_OP_DEF_VERSION,
                                            "write_blocks", sink_init,
                                            sink_process, sink_finish,
                                            sink_destroy};

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Why a uri and options cannot mean what the caller wants, or NULL. A
 * name with another format's suffix would silently become a folder of
 * that name, and a compression the file name contradicts would silently
 * be ignored: both are refused. The text is static or in a buffer that
 * lives until the next call on this thread. */
static const char *refusal(const char *uri, const char *stem, const weir__fmt *fmt, int is_file,
                           int codec, int compression) {
  static _Thread_local char why[700];
  if (!stem) return "out of memory";
  if (is_file) {
    int wanted = compression == WEIR_COMPRESS_ZSTD ? WEIR__CODEC_ZSTD
                 : compression == WEIR_COMPRESS_GZIP ? WEIR__CODEC_GZIP : WEIR__CODEC_NONE;
    if (fmt->text && compression != WEIR_COMPRESS_NONE && wanted != codec) {
      snprintf(why, sizeof why,
               "%s: compression %s contradicts the file name; name the file %s%s%s, or "
               "leave compression 0 (a file's suffix names its codec)",
               uri, compression == WEIR_COMPRESS_ZSTD ? "ZSTD" : "GZIP", stem,
               weir__codec_suffix(wanted), "");
      return why;
    }
    return NULL;
  }
  /* The last part of the name, without a compression suffix. */
  const char *base = strrchr(stem, '/');
  base = base ? base + 1 : stem;
  static const char *const data_ext[] = {".jsonl", ".json", ".ndjson", ".csv", ".tsv",
                                         ".txt",   ".weir", ".parquet", ".arrow"};
  for (size_t i = 0; i < sizeof data_ext / sizeof *data_ext; i++)
    if (ends_with(base, data_ext[i]) && strlen(base) > strlen(data_ext[i])) {
      if (!fmt->text && strcmp(data_ext[i], fmt->ext) == 0)
        snprintf(why, sizeof why, "%s: block files are compressed inside; name the file "
                 "without a compression suffix (%s)", uri, stem);
      else
        snprintf(why, sizeof why, "%s names a %s file, not %s: give a name ending in %s%s, "
                 "or a folder", uri, data_ext[i], fmt->name, fmt->ext,
                 fmt->text ? " (.zst/.gz)" : "");
      return why;
    }
  return NULL;
}

/* Appends the listing of source `op` to `*buf`: its task count, and each
 * task's description when it has one. */
static int list_source(const weir_op *op, char **buf, size_t *len, size_t *cap) {
  char line[2400];
  for (size_t i = 0; i <= op->num_tasks; i++) {
    int k;
    if (i == 0) {
      k = snprintf(line, sizeof line, "source %s tasks %zu\n", op->name, op->num_tasks);
    } else {
      if (!op->describe) break;
      char d[2200];
      if (op->describe(op->describe_arg, i - 1, d, sizeof d) != WEIR_OK) d[0] = '\0';
      k = snprintf(line, sizeof line, "input %zu %s\n", i - 1, d);
    }
    if (k < 0) return WEIR_EINVAL;
    size_t n = strlen(line);
    if (*cap - *len <= n) {
      size_t nc = (*cap + n) * 2;
      char *nb = realloc(*buf, nc);
      if (!nb) return WEIR_ENOMEM;
      *buf = nb;
      *cap = nc;
    }
    memcpy(*buf + *len, line, n + 1);
    *len += n;
  }
  return WEIR_OK;
}

/* What lies upstream of the writer: the listing of every source (in the
 * order they are met from the writer), and the one source whose read
 * tasks a resume may skip, when every operator on the way keeps rows with
 * their read task (else why not, in c->why_not). */
static int upstream(sink_cfg *c, weir_op *in) {
  weir_op *stack[64], *seen[64];
  size_t ns = 0, nseen = 0, len = 0, cap = 256;
  char *buf = malloc(cap);
  if (!buf) return WEIR_ENOMEM;
  buf[0] = '\0';
  stack[ns++] = in;
  int rc = WEIR_OK, too_many = 0;
  while (ns > 0 && rc == WEIR_OK) {
    weir_op *op = stack[--ns];
    int dup = 0;
    for (size_t i = 0; i < nseen; i++) dup |= seen[i] == op;
    if (dup) continue;
    if (nseen == 64) {
      too_many = 1;
      break;
    }
    seen[nseen++] = op;
    if (op->kind == WEIR__OP_SOURCE) rc = list_source(op, &buf, &len, &cap);
    for (size_t i = 0; i < op->nins && !too_many; i++) {
      if (ns == 64) too_many = 1;
      else stack[ns++] = op->ins[i];
    }
  }
  if (rc != WEIR_OK || too_many) {
    free(buf);
    if (rc != WEIR_OK) return rc;
    buf = NULL; /* a graph too large to list: not recorded, not compared */
  }
  c->listing = buf;
  /* The chain from the writer up to its source. */
  c->source = NULL;
  c->why_not[0] = '\0';
  for (weir_op *op = in; op;) {
    if (op->kind == WEIR__OP_SOURCE) {
      if (op->arrow)
        snprintf(c->why_not, sizeof c->why_not, "source '%s' reads an Arrow stream, which "
                 "has no read tasks to skip", op->name);
      else if (op->dist_local)
        snprintf(c->why_not, sizeof c->why_not, "source '%s' receives an exchange", op->name);
      else
        c->source = op;
      break;
    }
    if (weir__op_mixes_tasks(op, c->why_not, sizeof c->why_not)) break;
    op = op->ins[0];
  }
  return WEIR_OK;
}

/* Frees a writer's format argument on a path that fails before the
 * writer owns it. */
static weir_op *drop_arg(void *arg, void (*free_arg)(void *), weir_op *r) {
  if (free_arg) free_arg(arg);
  return r;
}

static weir_op *make_writer_arg(weir_pipeline *p, weir_op *in, const char *uri,
                                const weir_write_options *o, const weir__fmt *fmt,
                                const weir_op_def *enc_def, const weir_op_def *def,
                                void *arg, void (*free_arg)(void *)) {
  if (!p) return drop_arg(arg, free_arg, weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", def->name));
  /* A NULL `in` is usually an earlier constructor's failure: keep its code
   * and reason (API.md: a chain of calls is checked once at the end). */
  if (!in) {
    const char *earlier = weir_pipeline_errmsg(p);
    int code = weir_pipeline_errcode(p);
    return drop_arg(arg, free_arg, weir__op_fail(p, code ? code : WEIR_EINVAL,
                         "%s: no input operator%s%s%s", def->name,
                         earlier[0] ? " (an earlier call failed: " : "", earlier,
                         earlier[0] ? ")" : ""));
  }
  if (!uri || !*uri)
    return drop_arg(arg, free_arg, weir__op_fail(p, WEIR_EINVAL, "%s: empty uri", def->name));
  weir_write_options d = {.version = WEIR_WRITE_OPTIONS_VERSION};
  if (!o) o = &d;
  /* Like every other options struct: a version this library does not
   * know is refused, not read as if it were this one. */
  if (o->version != WEIR_WRITE_OPTIONS_VERSION)
    return drop_arg(arg, free_arg, weir__op_fail(p, WEIR_EINVAL, "%s: unknown options version %u",
                             def->name, o->version));
  if (o->compression < WEIR_COMPRESS_NONE || o->compression > WEIR_COMPRESS_GZIP)
    return drop_arg(arg, free_arg, weir__op_fail(p, WEIR_EINVAL, "%s: unknown compression %d",
                             def->name, o->compression));
  if (o->max_retries < WEIR_RETRIES_NONE)
    return drop_arg(arg, free_arg, weir__op_fail(p, WEIR_EINVAL,
                         "%s: max_retries %d: use a count, 0 for the default (5) or "
                         "WEIR_RETRIES_NONE (-1)", def->name, o->max_retries));
  sink_cfg *c = calloc(1, sizeof *c);
  if (!c) {
    if (free_arg) free_arg(arg);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  }
  c->fmt = fmt;
  c->arg = arg;
  c->free_arg = free_arg;
  c->o = *o;
  int rc = weir__io_config_copy_s3(&c->cfg, o->s3_endpoint, o->s3_region,
                                   o->s3_access_key, o->s3_secret_key);
  c->o.s3_endpoint = c->cfg.s3_endpoint;
  c->o.s3_region = c->cfg.s3_region;
  c->o.s3_access_key = c->cfg.s3_access_key;
  c->o.s3_secret_key = c->cfg.s3_secret_key;
  c->cfg.max_retries = o->max_retries;
  if (rc != WEIR_OK) {
    sink_cfg_free(c);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  }
  char terr[256];
  if (weir__io_config_timeouts(&c->cfg, o->connect_timeout, o->first_byte_timeout,
                               o->low_speed_seconds, o->low_speed_bytes, terr,
                               sizeof terr) != WEIR_OK) {
    sink_cfg_free(c);
    return weir__op_fail(p, WEIR_EINVAL, "%s: %s", def->name, terr);
  }
  /* A uri ending in the format's suffix (with .zst or .gz for text) names
   * a file; anything else is a folder or prefix. */
  int codec = weir__codec_from_name(uri);
  size_t ul = strlen(uri), cl = strlen(weir__codec_suffix(codec));
  char *stem = strndup(uri, ul - cl);
  int is_file = stem && ends_with(stem, fmt->ext) && (fmt->text || codec == WEIR__CODEC_NONE);
  const char *why = refusal(uri, stem, fmt, is_file, codec, o->compression);
  if (why) {
    free(stem);
    sink_cfg_free(c);
    return weir__op_fail(p, WEIR_EINVAL, "%s: %s", def->name, why);
  }
  if (is_file) {
    c->codec = codec;
    stem[strlen(stem) - strlen(fmt->ext)] = 0;
    c->base = stem;
    c->single = !o->shard_rows && !o->shard_bytes;
    c->prefix = !c->single;
    size_t sl = strlen(fmt->ext) + cl + 1;
    c->suffix = malloc(sl);
    if (c->suffix) snprintf(c->suffix, sl, "%s%s", fmt->ext, weir__codec_suffix(codec));
  } else {
    free(stem);
    c->codec = !fmt->text ? WEIR__CODEC_NONE
               : o->compression == WEIR_COMPRESS_ZSTD ? WEIR__CODEC_ZSTD
               : o->compression == WEIR_COMPRESS_GZIP ? WEIR__CODEC_GZIP
                                                      : WEIR__CODEC_NONE;
    c->base = strdup(uri);
    size_t sl = strlen(fmt->ext) + 8;
    c->suffix = malloc(sl);
    if (c->suffix) snprintf(c->suffix, sl, "%s%s", fmt->ext, weir__codec_suffix(c->codec));
  }
  if (!c->base || !c->suffix) {
    sink_cfg_free(c);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  }
  snprintf(c->part, sizeof c->part, "part-");
  if (p->dist && weir_dist_size() > 1) {
    /* Each rank writes its own shards, named after it, so ranks never
     * write the same name and a rerun gives each rank the same names. */
    if (o->resume) {
      sink_cfg_free(c);
      return weir__op_fail(p, WEIR_ENOTSUP, "%s: resume on %d MPI ranks: which rows a rank "
                           "writes depends on the read tasks it was handed, so a rank's "
                           "earlier shards cannot be matched with its rows again; write to "
                           "a new output", def->name, weir_dist_size());
    }
    int r = weir_dist_rank();
    if (c->single || c->prefix) {
      size_t bl = strlen(c->base) + 16;
      char *b = malloc(bl);
      if (!b) {
        sink_cfg_free(c);
        return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
      }
      snprintf(b, bl, "%s-r%05d", c->base, r);
      free(c->base);
      c->base = b;
    } else {
      snprintf(c->part, sizeof c->part, "part-r%05d-", r);
    }
  }
  c->manifest = weir__write_manifest_path(c->base, !c->single && !c->prefix, c->suffix);
  c->uri = strdup(uri);
  if (!c->manifest || !c->uri || upstream(c, in) != WEIR_OK) {
    sink_cfg_free(c);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  }
  if (p->dist && weir_dist_size() > 1) {
    c->ranked = 1;
    c->source = NULL; /* a rank sees the tasks the coordinator hands it */
    snprintf(c->why_not, sizeof c->why_not, "it runs on MPI ranks");
  }
  if (c->o.resume) {
    /* Refused here, before anything runs. */
    char merr[1536] = "";
    int mrc = plan_resume(c, merr, sizeof merr);
    if (mrc != WEIR_OK) {
      sink_cfg_free(c);
      return weir__op_fail(p, mrc, "%s: %s", def->name, merr);
    }
  }
  /* Serialising runs on parallel workers, in order; then one worker
   * writes, in input order: shard k must always hold the same rows. */
  weir_op_options eo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0,
                        .preserve_order = 1};
  weir_op *enc = weir_add_op(p, in, enc_def, c, &eo);
  if (!enc) {
    sink_cfg_free(c);
    return NULL;
  }
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .min_workers = 1,
                        .max_workers = 1, .num_cpus = 1.0,
                        .preserve_order = 1};
  weir_op *op = weir_add_op(p, enc, def, c, &so);
  if (!op) {
    /* The encoding op is the pipeline's now; it must not outlive `c`. */
    weir__op_set_cleanup(enc, sink_cfg_free, c);
    return NULL;
  }
  weir__op_set_cleanup(op, sink_cfg_free, c);
  weir__op_set_per_block(enc, 1); /* a block's bytes, whatever its pool */
  weir__op_set_run_begin(op, run_begin, c);
  return op;
}

static weir_op *make_writer(weir_pipeline *p, weir_op *in, const char *uri,
                            const weir_write_options *o, const weir__fmt *fmt,
                            const weir_op_def *enc_def, const weir_op_def *def) {
  return make_writer_arg(p, in, uri, o, fmt, enc_def, def, NULL, NULL);
}

weir_op *weir__writer_make(weir_pipeline *p, weir_op *in, const char *uri,
                           const weir_write_options *o, const weir__fmt *fmt, void *arg,
                           void (*free_arg)(void *), const char *enc_name,
                           const char *sink_name) {
  weir_op_def enc = {WEIR_OP_DEF_VERSION, enc_name, enc_init, enc_process, NULL, enc_destroy};
  weir_op_def snk = {WEIR_OP_DEF_VERSION, sink_name, sink_init, sink_process, sink_finish,
                     sink_destroy};
  return make_writer_arg(p, in, uri, o, fmt, &enc, &snk, arg, free_arg);
}

weir_op *weir_write_jsonl(weir_pipeline *p, weir_op *in, const char *uri,
                          const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_jsonl, &enc_def_jsonl, &sink_def_jsonl);
}

weir_op *weir_write_csv(weir_pipeline *p, weir_op *in, const char *uri,
                        const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_csv, &enc_def_csv, &sink_def_csv);
}

weir_op *weir_write_blocks(weir_pipeline *p, weir_op *in, const char *uri,
                           const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_blocks, &enc_def_blocks, &sink_def_blocks);
}
