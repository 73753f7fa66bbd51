/* weir_dedup_minhash: a parallel signature stage followed by one ordered
 * barrier worker that numbers the rows, records their band keys, holds
 * them (in memory, then in a spill file), and at the end of its input
 * groups equal band keys band by band, joins them by union-find and emits
 * the rows each cluster keeps, in input order. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/block_internal.h"
#include "core/scratch_file.h"
#include "core/utf8.h"
#include "exec/exec_internal.h"
#include "io/spill.h"
#include "text/minhash.h"
#include "text/held.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* Columns the signature stage appends for the barrier (a leading \x01
 * keeps them apart from user names). */
#define COL_KEYS "\x01weir_minhash_keys"
#define COL_NSH "\x01weir_minhash_shingles"
#define COL_SET "\x01weir_minhash_set"
#define MANIFEST "minhash.pass1"

typedef struct mh_cfg {
  weir_minhash_options o;
  char *column, *name, *signame, *id_column, *work_dir;
  weir__mh_params pm;
  size_t key_limit;
  const char *spill_dir;            /* the pipeline's, borrowed */
  int resume;                       /* pass 1 is on disk (work_dir) */
  uint64_t resume_rows;
  char *resume_state;               /* the manifest's run list */
  /* The barrier's run state. */
  weir__mh_store *store;
  weir__held held;                  /* the rows, counted in the budget */
  uint64_t n, nosig;
  int64_t *score;
  size_t score_cap;
  int vfd;                          /* shingle sets (verification) */
  uint64_t voff, *voffs;
  size_t voffs_cap;
  uint32_t *parent, *size, *best;
  uint64_t pairs, verified, rejected;
  uint64_t *va, *vb;                /* verification read buffers */
  size_t va_cap, vb_cap;
  int pass;
  weir_ctx *ctx;
  char err[600];
} mh_cfg;

static void run_reset(mh_cfg *c) {
  weir__mh_store_destroy(c->store);
  c->store = NULL;
  weir__held_clear(&c->held);
  c->n = c->nosig = 0;
  free(c->score);
  c->score = NULL;
  c->score_cap = 0;
  if (c->vfd >= 0)
    close(c->vfd);
  c->vfd = -1;
  c->voff = 0;
  free(c->voffs);
  c->voffs = NULL;
  c->voffs_cap = 0;
  free(c->parent);
  free(c->size);
  free(c->best);
  c->parent = c->size = c->best = NULL;
  c->pairs = c->verified = c->rejected = 0;
  free(c->va);
  free(c->vb);
  c->va = c->vb = NULL;
  c->va_cap = c->vb_cap = 0;
  c->pass = 0;
}

static void cfg_free(void *arg) {
  mh_cfg *c = arg;
  if (!c)
    return;
  run_reset(c);
  weir__mh_params_free(&c->pm);
  free(c->column);
  free(c->name);
  free(c->signame);
  free(c->id_column);
  free(c->work_dir);
  free(c->resume_state);
  free(c);
}

/* ---- Pass 1a: the signature stage (a pool of workers) --------------------- */
typedef struct sig_state {
  mh_cfg *c;
  weir__mh_worker *w;
  uint64_t *sig, *keys;
} sig_state;

static int sig_init(void *user, int worker, void **state) {
  (void)worker;
  mh_cfg *c = user;
  sig_state *s = calloc(1, sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  s->c = c;
  size_t nh = (size_t)c->pm.bands * (size_t)c->pm.rows;
  s->sig = malloc(nh * sizeof *s->sig);
  s->keys = malloc((size_t)c->pm.bands * sizeof *s->keys);
  int rc = s->sig && s->keys ? weir__mh_worker_create(&c->pm, &s->w) : WEIR_ENOMEM;
  if (rc) {
    free(s->sig);
    free(s->keys);
    free(s);
    weir_set_last_errmsg("cannot start a MinHash signature worker");
    return rc;
  }
  *state = s;
  return WEIR_OK;
}

static void sig_destroy(void *state) {
  sig_state *s = state;
  if (!s)
    return;
  weir__mh_worker_destroy(s->w);
  free(s->sig);
  free(s->keys);
  free(s);
}

static int text_column(mh_cfg *c, weir_block *in, weir_ctx *ctx, weir_column *t) {
  int ci = weir_block_column_index(in, c->column);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input (set the text column in the options)",
                        c->column);
    return WEIR_ENOTFOUND;
  }
  weir_block_column(in, (size_t)ci, t);
  if (t->type != WEIR_TYPE_STRING) {
    weir_ctx_set_errmsg(ctx, "column '%s' is %s, not string", c->column,
                        weir_type_name(t->type));
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

static int sig_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  sig_state *s = state;
  mh_cfg *c = s->c;
  size_t n = weir_block_num_rows(in);
  weir_column t;
  int rc = text_column(c, in, ctx, &t);
  if (rc)
    return rc;
  uint8_t *keep = malloc(n ? n : 1);
  if (!keep)
    return WEIR_ENOMEM;
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    keep[i] = 1;
    const char *why = NULL;
    size_t at = 0;
    if (t.validity && !weir__bit_get(t.validity, i)) {
      why = "the text is null";
    } else {
      const char *p = (const char *)t.data + t.offsets[i];
      size_t len = (size_t)(t.offsets[i + 1] - t.offsets[i]);
      at = weir__utf8_invalid_at(p, len);
      if (at < len)
        why = "the text is not valid UTF-8";
    }
    if (!why)
      continue;
    if (c->o.common.on_error != WEIR_ON_ERROR_SKIP) {
      weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s%s", c->column, i, n,
                          why, at ? " (at a byte past the start)" : "");
      free(keep);
      return WEIR_EFORMAT;
    }
    keep[i] = 0;
    bad++;
  }
  weir_block *rows = NULL, *extra = NULL, *out = NULL;
  rc = weir__block_keep(in, keep, n - bad, &rows);
  free(keep);
  if (rc)
    return rc;
  if (bad) {
    weir_ctx_count_skipped(ctx, bad);
    weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %zu malformed rows (null or invalid UTF-8)", bad);
  }
  if (c->resume) /* pass 1 is on disk: the rows only */
    return weir_emit_block(emit, rows);
  n -= bad;
  text_column(c, rows, ctx, &t);
  weir_builder *bld = NULL;
  rc = weir_builder_create(&bld);
  if (!rc)
    rc = weir_builder_add_column(bld, COL_KEYS, WEIR_TYPE_BINARY);
  if (!rc)
    rc = weir_builder_add_column(bld, COL_NSH, WEIR_TYPE_INT64);
  if (!rc && c->o.verify)
    rc = weir_builder_add_column(bld, COL_SET, WEIR_TYPE_BINARY);
  if (!rc)
    rc = weir_builder_reserve(bld, n);
  size_t kb = (size_t)c->pm.bands * sizeof(uint64_t);
  for (size_t i = 0; i < n && !rc; i++) {
    const char *p = (const char *)t.data + t.offsets[i];
    size_t len = (size_t)(t.offsets[i + 1] - t.offsets[i]), ns = 0, nset = 0;
    const uint64_t *set = NULL;
    rc = weir__mh_signature(s->w, p, len, s->sig, &ns, c->o.verify ? &set : NULL, &nset);
    if (rc)
      break;
    unsigned char kbuf[8 * 256];
    if (ns) {
      weir__mh_band_keys(&c->pm, s->sig, s->keys);
      for (int b = 0; b < c->pm.bands; b++)
        for (int y = 0; y < 8; y++)
          kbuf[8 * b + y] = (unsigned char)(s->keys[b] >> (8 * y));
    }
    rc = weir_builder_append_string(bld, 0, (const char *)kbuf, ns ? kb : 0);
    if (!rc)
      rc = weir_builder_append_int64(bld, 1, (int64_t)ns);
    if (!rc && c->o.verify)
      rc = weir_builder_append_string(bld, 2, (const char *)set, nset * sizeof *set);
    if ((i & 1023) == 1023 && weir_ctx_cancelled(ctx))
      rc = WEIR_ECANCELED;
  }
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  weir_builder_destroy(bld);
  if (!rc)
    rc = weir_block_add_columns(rows, extra, &out);
  weir_block_unref(&rows);
  weir_block_unref(&extra);
  if (rc) {
    if (rc == WEIR_ENOMEM)
      weir_ctx_set_errmsg(ctx, "out of memory computing signatures");
    return rc;
  }
  return weir_emit_block(emit, out);
}

/* ---- Pass 1b: the barrier records keys and holds rows ---------------------- */
static int path_in(const mh_cfg *c, const char *leaf, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/%s", c->work_dir, leaf);
  return n > 0 && (size_t)n < cap ? WEIR_OK : WEIR_EINVAL;
}

static int bar_init(void *user, int worker, void **state) {
  (void)worker;
  mh_cfg *c = user;
  run_reset(c);
  char path[4096];
  int rc = WEIR_OK;
  if (c->work_dir && !c->resume) {
    if (mkdir(c->work_dir, 0755) != 0 && errno != EEXIST) {
      weir_set_last_errmsg("cannot make the work folder %s: %s", c->work_dir, strerror(errno));
      return WEIR_EIO;
    }
    path_in(c, MANIFEST, path, sizeof path);
    unlink(path); /* from here on, pass 1 on disk is incomplete */
  }
  if (c->resume) {
    FILE *f = fmemopen(c->resume_state, strlen(c->resume_state), "r");
    rc = f ? weir__mh_store_load(c->pm.bands, c->work_dir, f, &c->store) : WEIR_ENOMEM;
    if (f)
      fclose(f);
    if (rc) {
      weir_set_last_errmsg("the band keys of %s do not match its %s (delete the folder to "
                           "start over)", c->work_dir, MANIFEST);
      return rc;
    }
  } else {
    rc = weir__mh_store_create(c->pm.bands, c->key_limit, c->work_dir, c->spill_dir, &c->store);
    if (rc) {
      weir_set_last_errmsg("out of memory for the band-key store");
      return rc;
    }
  }
  if (c->o.verify) {
    if (c->work_dir) {
      path_in(c, "shingles.bin", path, sizeof path);
      c->vfd = open(path, c->resume ? O_RDONLY | O_CLOEXEC
                                    : O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } else {
      c->vfd = weir__scratch_file(c->spill_dir, "weir-minhash-shingles", path, sizeof path);
    }
    if (c->vfd < 0) {
      weir_set_last_errmsg("cannot open the shingle file %s: %s", path, strerror(errno));
      return WEIR_EIO;
    }
    if (c->resume) {
      path_in(c, "shingles.idx", path, sizeof path);
      FILE *f = fopen(path, "rb");
      c->voffs = malloc((c->resume_rows + 1) * sizeof *c->voffs);
      size_t got = f && c->voffs ? fread(c->voffs, sizeof *c->voffs, c->resume_rows + 1, f) : 0;
      if (f)
        fclose(f);
      if (got != c->resume_rows + 1) {
        weir_set_last_errmsg("%s is missing or short (delete %s to start over)", path,
                             c->work_dir);
        return WEIR_EFORMAT;
      }
      c->voffs_cap = c->resume_rows + 1;
    }
  }
  *state = c;
  return WEIR_OK;
}

static int grow_u64(uint64_t **p, size_t *cap, size_t need) {
  if (*cap >= need)
    return WEIR_OK;
  size_t nc = *cap ? *cap : 1024;
  while (nc < need)
    nc *= 2;
  uint64_t *np = realloc(*p, nc * sizeof *np);
  if (!np)
    return WEIR_ENOMEM;
  *p = np;
  *cap = nc;
  return WEIR_OK;
}

static int write_at(int fd, const void *p, size_t n, uint64_t off) {
  const char *s = p;
  while (n) {
    ssize_t k = pwrite(fd, s, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return WEIR_EIO;
    s += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return WEIR_OK;
}

static void count_spill(mh_cfg *c, weir_ctx *ctx, uint64_t bytes, uint64_t runs) {
  if (!bytes)
    return;
  weir_op *op = ctx->op;
  pthread_mutex_lock(&op->p->mu);
  op->st.spilled_bytes += bytes;
  op->st.spilled_blocks += runs;
  pthread_mutex_unlock(&op->p->mu);
  (void)c;
}

/* Rows are held in memory while both the operator's half of memory_limit
 * and the executor's budget allow (weir__held), then on disk. */
static int hold(mh_cfg *c, weir_block *b, weir_ctx *ctx) {
  uint64_t spilled = c->held.rows_spilled;
  int rc = weir__held_push(&c->held, b, ctx);
  if (!rc && c->held.rows_spilled > spilled)
    weir_ctx_count(ctx, "held_rows_spilled", c->held.rows_spilled - spilled);
  return rc;
}

/* The value KEEP_LONGEST / KEEP_SMALLEST_ID compare (higher wins). */
static int row_scores(mh_cfg *c, weir_block *in, weir_ctx *ctx, uint64_t base, size_t n) {
  if (c->o.keep == WEIR_MINHASH_KEEP_FIRST)
    return WEIR_OK;
  size_t cap = c->score_cap;
  if (grow_u64((uint64_t **)&c->score, &cap, base + n))
    return WEIR_ENOMEM;
  c->score_cap = cap;
  weir_column col;
  const char *name = c->o.keep == WEIR_MINHASH_KEEP_LONGEST ? c->column : c->id_column;
  int ci = weir_block_column_index(in, name);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input (keep %s)", name,
                        c->o.keep == WEIR_MINHASH_KEEP_LONGEST ? "longest" : "smallest id");
    return WEIR_ENOTFOUND;
  }
  weir_block_column(in, (size_t)ci, &col);
  if (c->o.keep == WEIR_MINHASH_KEEP_SMALLEST_ID && col.type != WEIR_TYPE_INT64 &&
      col.type != WEIR_TYPE_INT32) {
    weir_ctx_set_errmsg(ctx, "id column '%s' is %s, not int64 or int32", name,
                        weir_type_name(col.type));
    return WEIR_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    int64_t v;
    if (c->o.keep == WEIR_MINHASH_KEEP_LONGEST) {
      v = col.offsets[i + 1] - col.offsets[i];
    } else if (col.validity && !weir__bit_get(col.validity, i)) {
      v = INT64_MIN; /* a null id never wins */
    } else {
      int64_t id = col.type == WEIR_TYPE_INT64 ? ((const int64_t *)col.data)[i]
                                               : ((const int32_t *)col.data)[i];
      v = id == INT64_MIN ? INT64_MAX : -id;
    }
    c->score[base + i] = v;
  }
  return WEIR_OK;
}

static int bar_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  (void)emit;
  mh_cfg *c = state;
  if (!c->pass) {
    c->pass = 1;
    weir_ctx_count(ctx, "pass", 1);
    weir_ctx_log(ctx, WEIR_LOG_INFO, "pass 1 of 2: %s (a barrier: rows come out when the "
                 "input ends)", c->resume ? "reading rows; signatures and band keys from "
                 "the work folder" : "signatures and band keys");
  }
  size_t n = weir_block_num_rows(in), ncol = weir_block_num_columns(in);
  uint64_t base = c->n;
  if (base + n > UINT32_MAX) {
    weir_ctx_set_errmsg(ctx, "more than %u rows: union-find numbers rows in 32 bits",
                        UINT32_MAX);
    return WEIR_EINVAL;
  }
  int rc = row_scores(c, in, ctx, base, n);
  if (rc)
    return rc;
  size_t nint = 0;
  if (!c->resume) {
    nint = c->o.verify ? 3 : 2;
    int ki = weir_block_column_index(in, COL_KEYS);
    int si = weir_block_column_index(in, COL_NSH);
    if (ki < 0 || si < 0 || ncol < nint) {
      weir_ctx_set_errmsg(ctx, "the input did not come from the signature stage");
      return WEIR_EINVAL;
    }
    weir_column kc, sc, vc;
    weir_block_column(in, (size_t)ki, &kc);
    weir_block_column(in, (size_t)si, &sc);
    if (c->o.verify)
      weir_block_column(in, ncol - 1, &vc);
    uint64_t keys[256];
    uint64_t s0 = weir__mh_store_spilled_bytes(c->store), r0 = weir__mh_store_runs(c->store);
    size_t nosig = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      uint64_t ord = base + i;
      int64_t ns = ((const int64_t *)sc.data)[i];
      if (ns > 0) {
        const unsigned char *k = (const unsigned char *)kc.data + kc.offsets[i];
        for (int b = 0; b < c->pm.bands; b++) {
          uint64_t v = 0;
          for (int y = 0; y < 8; y++)
            v |= (uint64_t)k[8 * b + y] << (8 * y);
          keys[b] = v;
        }
        rc = weir__mh_store_add(c->store, keys, ord);
        if (rc) {
          weir_ctx_set_errmsg(ctx, "%s", rc == WEIR_ENOMEM ? "out of memory for band keys"
                                                           : weir__mh_store_errmsg(c->store));
          break;
        }
      } else {
        nosig++;
      }
      if (c->o.verify) {
        if ((rc = grow_u64(&c->voffs, &c->voffs_cap, ord + 2)))
          break;
        size_t len = (size_t)(vc.offsets[i + 1] - vc.offsets[i]);
        c->voffs[ord] = c->voff;
        if (len && (rc = write_at(c->vfd, (const char *)vc.data + vc.offsets[i], len, c->voff))) {
          weir_ctx_set_errmsg(ctx, "writing shingle sets: %s", strerror(errno));
          break;
        }
        c->voff += len;
        c->voffs[ord + 1] = c->voff;
      }
    }
    uint64_t ds = weir__mh_store_spilled_bytes(c->store) - s0;
    uint64_t dr = weir__mh_store_runs(c->store) - r0;
    count_spill(c, ctx, ds, dr);
    if (dr)
      weir_ctx_count(ctx, "spilled_runs", dr);
    if (rc)
      return rc;
    c->nosig += nosig;
    weir_ctx_count(ctx, "no_signature", nosig);
    weir_ctx_count(ctx, "band_keys", (n - nosig) * (uint64_t)c->pm.bands);
  }
  c->n += n;
  weir_ctx_count(ctx, "pass1_docs", n);
  /* Hold the rows without the signature stage's columns. */
  weir_block *rows = NULL;
  if (nint) {
    size_t idx[256], k = 0;
    for (size_t j = 0; j < ncol && k < 256; j++) {
      weir_column col;
      weir_block_column(in, j, &col);
      if (col.name[0] != '\x01')
        idx[k++] = j;
    }
    rc = weir_block_select(in, idx, k, &rows);
  } else {
    rows = weir_block_ref(in);
  }
  if (!rc && n)
    rc = hold(c, rows, ctx);
  weir_block_unref(&rows);
  return rc;
}

/* ---- Pass 2: union-find and the kept rows --------------------------------- */
static uint32_t find(uint32_t *parent, uint32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

static void unite(mh_cfg *c, uint32_t a, uint32_t b) {
  a = find(c->parent, a);
  b = find(c->parent, b);
  if (a == b)
    return;
  if (c->size[a] < c->size[b]) {
    uint32_t t = a;
    a = b;
    b = t;
  }
  c->parent[b] = a;
  c->size[a] += c->size[b];
}

static int read_set(mh_cfg *c, uint64_t ord, uint64_t **buf, size_t *cap, size_t *n) {
  uint64_t off = c->voffs[ord], bytes = c->voffs[ord + 1] - off;
  *n = (size_t)(bytes / 8);
  if (grow_u64(buf, cap, *n + 1))
    return WEIR_ENOMEM;
  size_t got = 0;
  while (got < bytes) {
    ssize_t k = pread(c->vfd, (char *)*buf + got, (size_t)bytes - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      snprintf(c->err, sizeof c->err, "reading the shingle set of row %llu: %s",
               (unsigned long long)ord, k ? strerror(errno) : "the file is short");
      return WEIR_EIO;
    }
    got += (size_t)k;
  }
  return WEIR_OK;
}

static double jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
  size_t i = 0, j = 0, inter = 0;
  while (i < na && j < nb) {
    if (a[i] == b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i] < b[j]) {
      i++;
    } else {
      j++;
    }
  }
  size_t uni = na + nb - inter;
  return uni ? (double)inter / (double)uni : 1.0;
}

static int on_group(void *user, const uint64_t *ords, size_t n) {
  mh_cfg *c = user;
  if (weir_ctx_cancelled(c->ctx))
    return WEIR_ECANCELED;
  c->pairs += n - 1;
  size_t na = 0;
  if (c->o.verify) {
    int rc = read_set(c, ords[0], &c->va, &c->va_cap, &na);
    if (rc)
      return rc;
  }
  for (size_t k = 1; k < n; k++) {
    if (c->o.verify) {
      size_t nb;
      int rc = read_set(c, ords[k], &c->vb, &c->vb_cap, &nb);
      if (rc)
        return rc;
      if (jaccard(c->va, na, c->vb, nb) < c->o.threshold) {
        c->rejected++;
        continue;
      }
      c->verified++;
    }
    unite(c, (uint32_t)ords[0], (uint32_t)ords[k]);
  }
  return WEIR_OK;
}

static int save_pass1(mh_cfg *c, weir_ctx *ctx) {
  char path[4096], tmp[4200];
  int rc = weir__mh_store_flush(c->store);
  if (rc) {
    weir_ctx_set_errmsg(ctx, "%s", weir__mh_store_errmsg(c->store));
    return rc;
  }
  if (c->o.verify) {
    path_in(c, "shingles.idx", path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (c->n == 0 && grow_u64(&c->voffs, &c->voffs_cap, 1) == WEIR_OK)
      c->voffs[0] = 0;
    int ok = f && fwrite(c->voffs, sizeof *c->voffs, c->n + 1, f) == c->n + 1;
    if (f)
      ok &= fclose(f) == 0;
    if (!ok || fsync(c->vfd) != 0) {
      weir_ctx_set_errmsg(ctx, "cannot write %s: %s", path, strerror(errno));
      return WEIR_EIO;
    }
  }
  path_in(c, MANIFEST, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f != NULL;
  if (ok) {
    ok = fprintf(f, "weir-minhash-pass1 1\nparams %d %d %d %d %d %llu %d\nrows %llu\n",
                 c->pm.words, c->pm.ngram, c->pm.bands, c->pm.rows, c->pm.normalize,
                 (unsigned long long)c->pm.seed, c->o.verify,
                 (unsigned long long)c->n) > 0;
    ok &= weir__mh_store_save(c->store, f) == WEIR_OK;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
  }
  if (!ok || rename(tmp, path) != 0) {
    weir_ctx_set_errmsg(ctx, "cannot write %s: %s", path, strerror(errno));
    return WEIR_EIO;
  }
  weir_ctx_log(ctx, WEIR_LOG_INFO, "pass 1 saved in %s: a later run resumes from it",
               c->work_dir);
  return WEIR_OK;
}

/* Emits the rows of one held block, which starts at ordinal `base`. */
static int emit_rows(mh_cfg *c, weir_block *b, uint64_t base, weir_emit *emit, weir_ctx *ctx,
                     uint64_t *dups) {
  size_t n = weir_block_num_rows(b), kept = 0;
  uint8_t *keep = malloc(n ? n : 1);
  if (!keep)
    return WEIR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uint32_t o = (uint32_t)(base + i), r = find(c->parent, o);
    keep[i] = c->best[r] == o;
    kept += keep[i];
  }
  size_t nd = n - kept;
  *dups += nd;
  int rc = WEIR_OK;
  weir_block *out = NULL;
  if (c->o.common.mode == WEIR_TEXT_ANNOTATE) {
    weir_builder *bld = NULL;
    weir_block *extra = NULL;
    rc = weir_builder_create(&bld);
    if (!rc)
      rc = weir_builder_add_column(bld, "cluster_id", WEIR_TYPE_INT64);
    if (!rc)
      rc = weir_builder_add_column(bld, "cluster_size", WEIR_TYPE_INT64);
    if (!rc)
      rc = weir_builder_add_column(bld, "near_duplicate", WEIR_TYPE_BOOL);
    if (!rc)
      rc = weir_builder_reserve(bld, n);
    for (size_t i = 0; i < n && !rc; i++) {
      uint32_t r = find(c->parent, (uint32_t)(base + i));
      rc = weir_builder_append_int64(bld, 0, c->best[r]);
      if (!rc)
        rc = weir_builder_append_int64(bld, 1, c->size[r]);
      if (!rc)
        rc = weir_builder_append_bool(bld, 2, !keep[i]);
    }
    if (!rc)
      rc = weir_builder_finish(bld, &extra);
    weir_builder_destroy(bld);
    if (!rc)
      rc = weir_block_add_columns(b, extra, &out);
    weir_block_unref(&extra);
  } else {
    if (nd) {
      weir_ctx_count_dropped(ctx, "near_duplicate", nd);
      if (c->o.common.rejected)
        rc = weir__text_send_rejected(&c->o.common, b, keep, "near_duplicate", NULL);
    }
    if (!rc)
      rc = weir__block_keep(b, keep, kept, &out);
  }
  free(keep);
  if (rc)
    return rc;
  if (weir_block_num_rows(out) == 0) {
    weir_block_unref(&out);
    return WEIR_OK;
  }
  return weir_emit_block(emit, out);
}

static int bar_finish(void *state, weir_emit *emit, weir_ctx *ctx) {
  mh_cfg *c = state;
  c->ctx = ctx;
  weir_ctx_count(ctx, "pass", c->pass ? 1 : 2);
  c->pass = 2;
  int rc;
  if (c->resume && c->n != c->resume_rows) {
    weir_ctx_set_errmsg(ctx, "the work folder %s holds pass 1 of %llu rows, but the input had "
                        "%llu: it is another input (delete the folder to start over)",
                        c->work_dir, (unsigned long long)c->resume_rows,
                        (unsigned long long)c->n);
    return WEIR_EINVAL;
  }
  if (c->work_dir && !c->resume && (rc = save_pass1(c, ctx)))
    return rc;
  weir_ctx_log(ctx, WEIR_LOG_INFO, "pass 2 of 2: grouping %llu band keys of %llu rows, band by "
               "band (%llu runs on disk)", (unsigned long long)weir__mh_store_records(c->store),
               (unsigned long long)c->n, (unsigned long long)weir__mh_store_runs(c->store));
  size_t n = (size_t)c->n;
  c->parent = malloc((n ? n : 1) * sizeof *c->parent);
  c->size = malloc((n ? n : 1) * sizeof *c->size);
  c->best = malloc((n ? n : 1) * sizeof *c->best);
  if (!c->parent || !c->size || !c->best) {
    weir_ctx_set_errmsg(ctx, "out of memory for union-find over %zu rows", n);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    c->parent[i] = (uint32_t)i;
    c->size[i] = 1;
  }
  for (int b = 0; b < c->pm.bands; b++) {
    rc = weir__mh_store_groups(c->store, b, on_group, c);
    if (rc) {
      if (rc != WEIR_ECANCELED)
        weir_ctx_set_errmsg(ctx, "band %d: %s", b,
                            c->err[0] ? c->err : rc == WEIR_ENOMEM ? "out of memory"
                                                                   : weir__mh_store_errmsg(c->store));
      return rc;
    }
  }
  /* The row each cluster keeps: ordinals ascend, so the first seen wins
   * ties. */
  uint64_t clusters = 0;
  for (size_t i = 0; i < n; i++)
    c->best[i] = UINT32_MAX;
  for (size_t i = 0; i < n; i++) {
    uint32_t r = find(c->parent, (uint32_t)i);
    if (c->best[r] == UINT32_MAX) {
      c->best[r] = (uint32_t)i;
      clusters += c->size[r] > 1;
    } else if (c->o.keep != WEIR_MINHASH_KEEP_FIRST && c->score[i] > c->score[c->best[r]]) {
      c->best[r] = (uint32_t)i;
    }
  }
  weir_ctx_count(ctx, "candidate_pairs", c->pairs);
  if (c->o.verify) {
    weir_ctx_count(ctx, "verified_pairs", c->verified);
    weir_ctx_count(ctx, "rejected_pairs", c->rejected);
  }
  weir_ctx_count(ctx, "clusters", clusters);
  weir_ctx_log(ctx, WEIR_LOG_INFO, "pass 2 of 2: %llu candidate pairs, %llu clusters; emitting "
               "rows", (unsigned long long)c->pairs, (unsigned long long)clusters);
  uint64_t base = 0, dups = 0;
  for (;;) {
    weir_block *b = NULL;
    rc = weir__held_pop(&c->held, ctx, &b);
    if (rc == WEIR_EOF)
      break;
    if (rc)
      return rc;
    size_t r = weir_block_num_rows(b);
    rc = emit_rows(c, b, base, emit, ctx, &dups);
    weir_block_unref(&b);
    if (rc)
      return rc;
    base += r;
  }
  weir_ctx_count(ctx, "duplicates", dups);
  weir_ctx_count(ctx, "unique", c->n - dups);
  weir_ctx_log(ctx, WEIR_LOG_INFO, "done: %llu of %llu rows are near-duplicates",
               (unsigned long long)dups, (unsigned long long)c->n);
  return WEIR_OK;
}

/* ---- Construction ------------------------------------------------------------ */

/* Reads work_dir/minhash.pass1: 1 = a complete pass 1 with these
 * parameters, 0 = none, <0 = one with other parameters (an error). */
static int check_resume(mh_cfg *c, char *why, size_t whylen) {
  char path[4096];
  if (path_in(c, MANIFEST, path, sizeof path))
    return 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  int v = 0, words, ngram, bands, rows, norm, verify;
  unsigned long long seed, nrows;
  int ok = fscanf(f, "weir-minhash-pass1 %d params %d %d %d %d %d %llu %d rows %llu", &v,
                  &words, &ngram, &bands, &rows, &norm, &seed, &verify, &nrows) == 9 && v == 1;
  if (!ok) {
    fclose(f);
    snprintf(why, whylen, "%s is not a pass-1 manifest weir can read", path);
    return -1;
  }
  if (words != c->pm.words || ngram != c->pm.ngram || bands != c->pm.bands ||
      rows != c->pm.rows || norm != c->pm.normalize || seed != c->pm.seed ||
      (c->o.verify && !verify)) {
    fclose(f);
    snprintf(why, whylen, "%s was made with other parameters (shingles %s %d, %d x %d, "
             "normalize %d, seed %llu%s): delete the folder or give another", path,
             words ? "words" : "chars", ngram, bands, rows, norm, seed,
             verify ? ", verify" : "");
    return -1;
  }
  long at = ftell(f);
  fseek(f, 0, SEEK_END);
  long end = ftell(f);
  fseek(f, at, SEEK_SET);
  c->resume_state = calloc((size_t)(end - at) + 1, 1);
  size_t got = c->resume_state ? fread(c->resume_state, 1, (size_t)(end - at), f) : 0;
  fclose(f);
  if (got != (size_t)(end - at)) {
    snprintf(why, whylen, "cannot read %s", path);
    return -1;
  }
  c->resume_rows = nrows;
  return 1;
}

weir_op *weir_dedup_minhash(weir_pipeline *p, weir_op *in, const weir_minhash_options *o) {
  if (!p)
    return NULL;
  weir_minhash_options d = WEIR_MINHASH_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_dedup_minhash", o->version,
                                 WEIR_MINHASH_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_minhash: NULL input operator");
#ifndef WEIR_HAVE_XXHASH
  return weir__text_fail(p, WEIR_ENOTSUP, "weir_dedup_minhash: its XXH64 shingle hash needs "
                         "libxxhash, which this build does not have (install libxxhash-dev)");
#endif
  const char *F = "weir_dedup_minhash";
  if (d.common.mode != WEIR_TEXT_FILTER && d.common.mode != WEIR_TEXT_ANNOTATE)
    return weir__text_fail(p, WEIR_EINVAL, "%s: mode %d is neither WEIR_TEXT_FILTER nor "
                           "WEIR_TEXT_ANNOTATE", F, d.common.mode);
  if (d.common.on_error != WEIR_ON_ERROR_FAIL && d.common.on_error != WEIR_ON_ERROR_SKIP)
    return weir__text_fail(p, WEIR_EINVAL, "%s: on_error %d is not a WEIR_ON_ERROR_* value", F,
                           d.common.on_error);
  if (d.shingle != WEIR_MINHASH_WORDS && d.shingle != WEIR_MINHASH_CHARS)
    return weir__text_fail(p, WEIR_EINVAL, "%s: shingle %d is neither WEIR_MINHASH_WORDS nor "
                           "WEIR_MINHASH_CHARS", F, d.shingle);
  if (d.normalize != WEIR_MINHASH_NORM_DATATROVE && d.normalize != WEIR_MINHASH_NORM_NONE)
    return weir__text_fail(p, WEIR_EINVAL, "%s: normalize %d is not a WEIR_MINHASH_NORM_* "
                           "value", F, d.normalize);
  if (d.keep < WEIR_MINHASH_KEEP_FIRST || d.keep > WEIR_MINHASH_KEEP_SMALLEST_ID)
    return weir__text_fail(p, WEIR_EINVAL, "%s: keep %d is not a WEIR_MINHASH_KEEP_* value", F,
                           d.keep);
  if (d.keep == WEIR_MINHASH_KEEP_SMALLEST_ID && (!d.id_column || !*d.id_column))
    return weir__text_fail(p, WEIR_EINVAL, "%s: keep smallest id needs id_column", F);
  if (d.ngram < 0 || d.ngram > 1000 || d.bands < 0 || d.bands > 256 || d.rows < 0 ||
      d.rows > 64)
    return weir__text_fail(p, WEIR_EINVAL, "%s: ngram %d (1 to 1000), bands %d (1 to 256), "
                           "rows %d (1 to 64) out of range", F, d.ngram, d.bands, d.rows);
  if (d.seed > UINT32_MAX)
    return weir__text_fail(p, WEIR_EINVAL, "%s: seed %llu is over 2^32-1 (numpy's "
                           "RandomState takes 32-bit seeds)", F, (unsigned long long)d.seed);
  if (d.threshold < 0 || d.threshold > 1)
    return weir__text_fail(p, WEIR_EINVAL, "%s: threshold %g is not in [0, 1]", F, d.threshold);
  if (d.threshold == 0)
    d.threshold = 0.8;
  mh_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "%s: out of memory", F);
  c->vfd = -1;
  c->o = d;
  c->column = strdup(d.common.column && *d.common.column ? d.common.column : "text");
  c->name = strdup(d.common.name && *d.common.name ? d.common.name : "dedup_minhash");
  size_t nl = c->name ? strlen(c->name) + 16 : 0;
  c->signame = c->name ? malloc(nl) : NULL;
  if (c->signame)
    snprintf(c->signame, nl, "%s:signatures", c->name);
  c->id_column = d.id_column ? strdup(d.id_column) : NULL;
  c->work_dir = d.work_dir && *d.work_dir ? strdup(d.work_dir) : NULL;
  if (!c->column || !c->name || !c->signame || (d.id_column && !c->id_column) ||
      (d.work_dir && *d.work_dir && !c->work_dir) || weir__mh_params_init(&c->pm, &d)) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "%s: out of memory", F);
  }
  c->o.common.column = c->column;
  c->o.common.name = c->name;
  c->o.id_column = c->id_column;
  c->o.work_dir = c->work_dir;
  size_t limit = d.memory_limit ? d.memory_limit : p->budget / 4;
  c->key_limit = limit / 2;
  c->held.limit = limit - limit / 2;
  c->spill_dir = p->opts.spill_dir;
  c->held.spill_dir = c->spill_dir;
  if (c->work_dir) {
    char why[4600];
    int r = check_resume(c, why, sizeof why);
    if (r < 0) {
      cfg_free(c);
      return weir__text_fail(p, WEIR_EINVAL, "%s: %s", F, why);
    }
    c->resume = r;
  }
  weir_op_def sdef = {WEIR_OP_DEF_VERSION, c->signame, sig_init, sig_process, NULL, sig_destroy};
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.preserve_order = 1;
  so.max_workers = d.common.max_workers;
  weir_op *sig = weir_add_op(p, in, &sdef, c, &so);
  if (!sig) {
    cfg_free(c);
    return NULL;
  }
  /* The signature stage owns the configuration: it exists whether or not
   * the barrier could be made. */
  weir__op_set_cleanup(sig, cfg_free, c);
  weir_op_def bdef = {WEIR_OP_DEF_VERSION, c->name, bar_init, bar_process, bar_finish, NULL};
  weir_op_options bo = WEIR_OP_OPTIONS_INIT;
  /* One ordered worker: ordinals are input order, so the rows kept do not
   * depend on timing; a call is never retried (its keys are recorded). */
  bo.min_workers = bo.max_workers = 1;
  bo.preserve_order = 1;
  bo.max_retries = WEIR_RETRIES_NONE;
  return weir_add_op(p, sig, &bdef, c, &bo);
}

int weir_minhash_signature(const weir_minhash_options *o, const char *text, size_t len,
                           uint64_t *sig, size_t *nshingles, char **simplified) {
#ifndef WEIR_HAVE_XXHASH
  (void)o, (void)text, (void)len, (void)sig, (void)nshingles, (void)simplified;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_minhash_signature: this build has no "
                              "libxxhash (install libxxhash-dev and rebuild)");
#else
  weir_minhash_options d = WEIR_MINHASH_OPTIONS_INIT;
  if (o)
    d = *o;
  if ((!text && len) || !sig || !nshingles)
    return weir__set_last_error(WEIR_EINVAL, "weir_minhash_signature: NULL argument");
  if (d.bands < 0 || d.bands > 256 || d.rows < 0 || d.rows > 64 || d.ngram < 0 ||
      d.seed > UINT32_MAX || (d.shingle != WEIR_MINHASH_WORDS && d.shingle != WEIR_MINHASH_CHARS) ||
      (d.normalize != WEIR_MINHASH_NORM_DATATROVE && d.normalize != WEIR_MINHASH_NORM_NONE))
    return weir__set_last_error(WEIR_EINVAL, "weir_minhash_signature: bad options");
  if (!text)
    text = "";
  size_t at = weir__utf8_invalid_at(text, len);
  if (at < len)
    return weir__set_last_error(WEIR_EFORMAT, "weir_minhash_signature: invalid UTF-8 at byte %zu",
                                at);
  weir__mh_params pm;
  weir__mh_worker *w = NULL;
  int rc = weir__mh_params_init(&pm, &d);
  if (!rc)
    rc = weir__mh_worker_create(&pm, &w);
  if (!rc)
    rc = weir__mh_signature(w, text, len, sig, nshingles, NULL, NULL);
  if (!rc && simplified) {
    char *buf = NULL;
    size_t cap = 0, n = 0;
    rc = weir__mh_simplify(text, len, &buf, &cap, &n);
    if (!rc) {
      char *s = malloc(n + 1);
      if (!s)
        rc = WEIR_ENOMEM;
      else {
        memcpy(s, buf, n);
        s[n] = 0;
        *simplified = s;
      }
    }
    free(buf);
  }
  weir__mh_worker_destroy(w);
  weir__mh_params_free(&pm);
  if (rc)
    return weir__set_last_error(rc, "weir_minhash_signature: %s", weir_strerror(rc));
  return WEIR_OK;
#endif
}
