/* The media writers as sinks: one worker that feeds blocks in input order
 * to a video, audio or PNG encoder, and commits the file at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "weir/error.h"
#include "io/vfs.h"
#include "media/encoders.h"
#include "media/media_source.h"

enum { W_VIDEO, W_AUDIO, W_IMAGES };

typedef struct writer {
  int kind;
  char *path;                /* file, or folder for images */
  char *column;              /* NULL = the kind's default */
  char *codec;
  double fps;
  int64_t bit_rate;
  int sample_rate;
} writer;

typedef struct writer_state {
  const writer *w;
  weir__video_encoder *video;
  weir__audio_encoder *audio;
  int64_t shape[3];
  int ndim;
  uint64_t rows;
} writer_state;

static void writer_free(void *p) {
  writer *w = p;
  if (!w)
    return;
  free(w->path);
  free(w->column);
  free(w->codec);
  free(w);
}

static int writer_init(void *user, int worker, void **state) {
  (void)worker;
  writer_state *s = calloc(1, sizeof *s);
  if (!s)
    return WEIR_ENOMEM;
  s->w = user;
  *state = s;
  return WEIR_OK;
}

static void writer_destroy(void *state) {
  writer_state *s = state;
  if (!s)
    return;
  /* Without a finish the temporary file is removed: nothing half-written
   * stays behind. */
  weir__video_encoder_close(s->video);
  weir__audio_encoder_close(s->audio);
  free(s);
}

/* The column to write and its checks. */
static int find_column(const writer *w, weir_block *in, weir_column *c,
                       weir_ctx *ctx) {
  const char *name = w->column;
  int idx;
  if (name)
    idx = weir_block_column_index(in, name);
  else if (w->kind == W_AUDIO)
    idx = weir_block_column_index(in, name = "audio");
  else if ((idx = weir_block_column_index(in, name = (w->kind == W_VIDEO ? "frame" : "image"))) < 0)
    idx = weir_block_column_index(in, name = (w->kind == W_VIDEO ? "image" : "frame"));
  if (idx < 0) {
    weir_ctx_set_errmsg(ctx, "%s: no column '%s' to write", w->path, name);
    return WEIR_ENOTFOUND;
  }
  weir_block_column(in, (size_t)idx, c);
  int ok = c->type == WEIR_TYPE_TENSOR && c->device == WEIR_DEVICE_CPU;
  if (w->kind == W_AUDIO)
    ok = ok && c->dtype == WEIR_DTYPE_FLOAT32 && c->ndim == 2;
  else if (w->kind == W_VIDEO)
    ok = ok && c->dtype == WEIR_DTYPE_UINT8 && c->ndim == 3 && c->shape[2] == 3;
  else
    ok = ok && c->dtype == WEIR_DTYPE_UINT8 &&
         ((c->ndim == 3 && (c->shape[2] == 1 || c->shape[2] == 3 ||
                            c->shape[2] == 4)) || c->ndim == 2);
  if (!ok) {
    weir_ctx_set_errmsg(ctx, "%s: column '%s' is not %s", w->path, c->name,
                        w->kind == W_AUDIO ? "float32 [channels, samples] on "
                                             "the host"
                        : w->kind == W_VIDEO ? "uint8 RGB [H, W, 3] on the host"
                                             : "a uint8 image [H, W, C] on "
                                               "the host");
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

/* The name of row r's source file, without its folder, query or
 * extension, with characters unsafe in a file name replaced; "" without a
 * path column. */
static void image_stem(const weir_column *pc, size_t r, char *out, size_t n) {
  out[0] = '\0';
  if (!pc || n < 2)
    return;
  /* The value is not NUL-terminated (string values lie end to end), so
   * every scan stops at its length. */
  const char *s = (const char *)pc->data + pc->offsets[r];
  size_t len = (size_t)(pc->offsets[r + 1] - pc->offsets[r]);
  size_t end = 0;
  while (end < len && s[end] != '?' && s[end] != '#')
    end++;
  if (end < len && memmem(s, len, "://", 3))
    len = end;
  size_t start = len;
  while (start > 0 && s[start - 1] != '/')
    start--;
  size_t stop = len;
  for (size_t i = len; i > start; i--)
    if (s[i - 1] == '.') {
      stop = i - 1;
      break;
    }
  if (stop == start)
    stop = len;
  size_t k = 0;
  for (size_t i = start; i < stop && k + 1 < n; i++) {
    char ch = s[i];
    out[k++] = (ch == '/' || ch == '\\' || (unsigned char)ch < 0x20) ? '_' : ch;
  }
  out[k] = '\0';
}

static int writer_process(void *state, weir_block *in, weir_emit *out,
                          weir_ctx *ctx) {
  (void)out;
  writer_state *s = state;
  const writer *w = s->w;
  size_t n = weir_block_num_rows(in);
  if (n == 0)
    return WEIR_OK;
  weir_column c;
  int rc = find_column(w, in, &c, ctx);
  if (rc != WEIR_OK)
    return rc;
  char err[WEIR__MEDIA_ERRLEN] = "";
  size_t per = weir_dtype_size(c.dtype);
  for (int d = 0; d < c.ndim; d++)
    per *= (size_t)c.shape[d];
  if (s->rows > 0 && w->kind != W_IMAGES &&
      (c.ndim != s->ndim || memcmp(c.shape, s->shape, sizeof s->shape[0] * (size_t)c.ndim))) {
    weir_ctx_set_errmsg(ctx, "%s: row %llu has another shape than the first",
                        w->path, (unsigned long long)s->rows);
    return WEIR_EINVAL;
  }
  if (s->rows == 0) {
    s->ndim = c.ndim;
    memcpy(s->shape, c.shape, sizeof s->shape[0] * (size_t)c.ndim);
    if (w->kind == W_VIDEO)
      rc = weir__video_encoder_open(&s->video, w->path, (int)c.shape[1],
                                    (int)c.shape[0], w->fps, w->codec,
                                    w->bit_rate, err, sizeof err);
    else if (w->kind == W_AUDIO)
      rc = weir__audio_encoder_open(&s->audio, w->path, w->sample_rate,
                                    (int)c.shape[0], err, sizeof err);
  }
  /* Audio read by weir_read_audio says how much of each window came from
   * the file: the zero padding of the last one is not written. */
  const int64_t *valid = NULL;
  int vi = w->kind == W_AUDIO ? weir_block_column_index(in, "valid_samples") : -1;
  weir_column vc;
  if (vi >= 0 && weir_block_column(in, (size_t)vi, &vc) == WEIR_OK &&
      vc.type == WEIR_TYPE_INT64 && !vc.validity)
    valid = vc.data;
  /* Images read from files are named after their source and frame. */
  const weir_column *pc = NULL, *fc = NULL;
  weir_column pcol, fcol;
  int pi = w->kind == W_IMAGES ? weir_block_column_index(in, "path") : -1;
  int fi = w->kind == W_IMAGES ? weir_block_column_index(in, "frame_index") : -1;
  if (pi >= 0 && weir_block_column(in, (size_t)pi, &pcol) == WEIR_OK &&
      pcol.type == WEIR_TYPE_STRING && !pcol.validity)
    pc = &pcol;
  if (fi >= 0 && weir_block_column(in, (size_t)fi, &fcol) == WEIR_OK &&
      fcol.type == WEIR_TYPE_INT64 && !fcol.validity)
    fc = &fcol;
  for (size_t r = 0; rc == WEIR_OK && r < n; r++) {
    if (c.validity && !weir_block_is_valid(in, (size_t)weir_block_column_index(in, c.name), r))
      continue;
    const uint8_t *row = (const uint8_t *)c.data + r * per;
    if (w->kind == W_VIDEO) {
      rc = weir__video_encoder_write(s->video, row, err, sizeof err);
    } else if (w->kind == W_AUDIO) {
      int64_t k = c.shape[1];
      if (valid && valid[r] >= 0 && valid[r] < k)
        k = valid[r];
      rc = weir__audio_encoder_write(s->audio, (const float *)row, k, c.shape[1],
                                     err, sizeof err);
    } else {
      char stem[256];
      image_stem(pc, r, stem, sizeof stem);
      size_t cap = strlen(w->path) + strlen(stem) + 48;
      char *p = malloc(cap);
      if (!p)
        return WEIR_ENOMEM;
      if (stem[0] && fc)
        snprintf(p, cap, "%s/%s-%06lld.png", w->path, stem,
                 (long long)((const int64_t *)fc->data)[r]);
      else if (stem[0])
        snprintf(p, cap, "%s/%s-%08llu.png", w->path, stem, (unsigned long long)s->rows);
      else
        snprintf(p, cap, "%s/%08llu.png", w->path, (unsigned long long)s->rows);
      rc = weir__png_write(p, row, (int)c.shape[1], (int)c.shape[0],
                           c.ndim == 3 ? (int)c.shape[2] : 1, err, sizeof err);
      free(p);
    }
    s->rows++;
  }
  if (rc != WEIR_OK)
    weir_ctx_set_errmsg(ctx, "%s", err[0] ? err : weir_strerror(rc));
  return rc;
}

static int writer_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  (void)out;
  writer_state *s = state;
  char err[WEIR__MEDIA_ERRLEN] = "";
  int rc = WEIR_OK;
  if (s->video)
    rc = weir__video_encoder_finish(s->video, err, sizeof err);
  else if (s->audio)
    rc = weir__audio_encoder_finish(s->audio, err, sizeof err);
  else if (s->w->kind != W_IMAGES)
    weir_ctx_log(ctx, WEIR_LOG_WARN, "%s: no rows, so no file was written",
                 s->w->path);
  if (rc != WEIR_OK)
    weir_ctx_set_errmsg(ctx, "%s", err);
  return rc;
}

static const weir_op_def writer_defs[3] = {
    {WEIR_OP_DEF_VERSION, "write_video", writer_init, writer_process,
     writer_finish, writer_destroy},
    {WEIR_OP_DEF_VERSION, "write_audio", writer_init, writer_process,
     writer_finish, writer_destroy},
    {WEIR_OP_DEF_VERSION, "write_images", writer_init, writer_process,
     writer_finish, writer_destroy},
};

static weir_op *make_writer(weir_pipeline *p, weir_op *in, writer *w,
                            const char *path, const char *column,
                            const char *codec, const weir_op_options *user) {
  const char *name = writer_defs[w ? w->kind : 0].name;
  if (!w)
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  if (!path || !*path) {
    writer_free(w);
    return weir__op_fail(p, WEIR_EINVAL, "%s: no path given", name);
  }
  w->path = strdup(path);
  w->column = column ? strdup(column) : NULL;
  w->codec = codec ? strdup(codec) : NULL;
  if (!w->path || (column && !w->column) || (codec && !w->codec)) {
    writer_free(w);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  }
  /* One worker, in input order: a file is written front to back. */
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  if (user)
    o = *user;
  o.min_workers = o.max_workers = 1;
  o.preserve_order = 1;
  weir_op *op = weir_add_op(p, in, &writer_defs[w->kind], w, &o);
  if (!op) {
    writer_free(w);
    return NULL;
  }
  weir__op_set_cleanup(op, writer_free, w);
  return op;
}

weir_op *weir_write_video(weir_pipeline *p, weir_op *in, const char *path,
                          const weir_video_write_options *o) {
  if (!p)
    return NULL;
  weir_video_write_options d = WEIR_VIDEO_WRITE_OPTIONS_INIT;
  if (!o)
    o = &d;
  if (o->version != WEIR_VIDEO_WRITE_OPTIONS_VERSION || o->fps < 0 ||
      o->fps > 1000 || o->bit_rate < 0)
    return weir__op_fail(p, WEIR_EINVAL,
                         "write_video %s: bad options (version %u, %g fps)",
                         path ? path : "(null)", o->version, o->fps);
  writer *w = calloc(1, sizeof *w);
  if (w) {
    w->kind = W_VIDEO;
    w->fps = o->fps > 0 ? o->fps : 30;
    w->bit_rate = o->bit_rate;
  }
  return make_writer(p, in, w, path, o->column, o->codec, NULL);
}

weir_op *weir_write_audio(weir_pipeline *p, weir_op *in, const char *path,
                          const weir_audio_write_options *o) {
  if (!p)
    return NULL;
  weir_audio_write_options d = WEIR_AUDIO_WRITE_OPTIONS_INIT;
  if (!o)
    o = &d;
  if (o->version != WEIR_AUDIO_WRITE_OPTIONS_VERSION || o->sample_rate < 0)
    return weir__op_fail(p, WEIR_EINVAL, "write_audio %s: bad options",
                         path ? path : "(null)");
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (!dot || (strcasecmp(dot, ".wav") && strcasecmp(dot, ".flac")))
    return weir__op_fail(p, WEIR_EINVAL,
                         "write_audio %s: the file name must end in .wav or "
                         ".flac", path ? path : "(null)");
  writer *w = calloc(1, sizeof *w);
  if (w) {
    w->kind = W_AUDIO;
    w->sample_rate = o->sample_rate > 0 ? o->sample_rate : 16000;
  }
  return make_writer(p, in, w, path, o->column, NULL, NULL);
}

weir_op *weir_write_images(weir_pipeline *p, weir_op *in, const char *dir,
                           const weir_image_write_options *o) {
  if (!p)
    return NULL;
  weir_image_write_options d = WEIR_IMAGE_WRITE_OPTIONS_INIT;
  if (!o)
    o = &d;
  if (o->version != WEIR_IMAGE_WRITE_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL, "write_images %s: unknown options version %u",
                         dir ? dir : "(null)", o->version);
  if (dir && *dir && !weir__vfs_is_remote(dir) && mkdir(dir, 0777) != 0 &&
      errno != EEXIST)
    return weir__op_fail(p, WEIR_EIO, "write_images: cannot create %s: %s",
                         dir, strerror(errno));
  writer *w = calloc(1, sizeof *w);
  if (w)
    w->kind = W_IMAGES;
  return make_writer(p, in, w, dir, o->column, NULL, NULL);
}
