/* weir_read_video: a source with one read task per video file, or per time
 * segment of each file, decoding, sampling and converting frames into
 * blocks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "weir/error.h"
#include "weir/io.h"
#include "media/media_source.h"

static const char *const video_suffixes[] = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts",
    ".m2ts", ".flv", ".wmv", ".ogv", ".3gp", ".y4m", ".h264", ".hevc", NULL};

/* One read task: a file, or the part [t0, t1) of it. */
typedef struct video_task {
  size_t file;
  double t0, t1;       /* t1 <= t0: the whole file */
} video_task;

typedef struct video_source {
  weir__media_source base;   /* first, so the source frees as one */
  video_task *tasks;
  size_t ntasks;
} video_source;

static int read_part(weir__media_source *s, const char *path, double t0,
                     double t1, weir_emit *out, weir_ctx *ctx, char *err,
                     size_t errlen) {
  weir__video_decoder *d = NULL;
  int rc = weir__video_decoder_open_part(&d, path, &s->video, t0, t1,
                                         weir__media_cancelled, ctx, err,
                                         errlen);
  int eof = 0;
  while (rc == WEIR_OK && !eof) {
    weir_block *b = NULL;
    rc = weir__video_decoder_read(d, s->video.rows_per_block, &b, &eof, err,
                                  errlen);
    if (rc == WEIR_OK && b)
      rc = weir_emit_block(out, b);
  }
  /* Its frames are out; the file still fails, or is counted as skipped:
   * a cut file must not pass for a whole one. */
  if (rc == WEIR_OK && weir__video_decoder_truncated(d, err, errlen))
    rc = WEIR_EFORMAT;
  if (d && weir__video_decoder_corrupt(d) > 0)
    weir_ctx_log(ctx, WEIR_LOG_WARN,
                 "%s: passed over %llu damaged packets or frames", path,
                 (unsigned long long)weir__video_decoder_corrupt(d));
  weir__video_decoder_close(d);
  return rc;
}

static int read_video_task(void *user, size_t task, weir_emit *out) {
  video_source *vs = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const video_task *t = &vs->tasks[task];
  const char *path = vs->base.paths[t->file];
  char err[WEIR__MEDIA_ERRLEN] = "";
  int rc = read_part(&vs->base, path, t->t0, t->t1, out, ctx, err, sizeof err);
  return weir__media_file_failed(ctx, vs->base.on_error, path, rc, err);
}

static void video_source_free(weir__media_source *s) {
  free(((video_source *)s)->tasks);
}

/* Splits each file into segments; a file whose length is unknown, or that
 * cannot be probed now, stays one task (its failure, if any, surfaces when
 * it is read, under the error policy). */
static int plan_tasks(weir__media_source *s, size_t *ntasks) {
  video_source *vs = (video_source *)s;
  const weir_video_options *o = &vs->base.video;
  size_t cap = vs->base.n;
  vs->tasks = malloc(cap * sizeof *vs->tasks);
  if (!vs->tasks)
    return WEIR_ENOMEM;
  double len = o->segment_seconds;
  if (len > 0 && o->fps > 0) {
    double slots = round(len * o->fps);
    len = (slots < 1 ? 1 : slots) / o->fps;
  }
  for (size_t f = 0; f < vs->base.n; f++) {
    size_t parts = 1;
    double a = 0, b = 0;
    if (len > 0 && o->clips <= 0) {
      char err[WEIR__MEDIA_ERRLEN];
      double origin = 0, duration = 0;
      if (weir__video_probe(vs->base.paths[f], &origin, &duration, NULL, NULL,
                            err, sizeof err) == WEIR_OK && duration > 0) {
        a = o->start > origin ? o->start : origin;
        b = o->end > 0 ? o->end : origin + duration;
        if (b > a)
          parts = (size_t)ceil((b - a) / len - 1e-9);
        if (parts < 1)
          parts = 1;
      }
    }
    if (vs->ntasks + parts > cap) {
      while (vs->ntasks + parts > cap)
        cap *= 2;
      video_task *t = realloc(vs->tasks, cap * sizeof *t);
      if (!t)
        return WEIR_ENOMEM;
      vs->tasks = t;
    }
    for (size_t i = 0; i < parts; i++) {
      video_task *t = &vs->tasks[vs->ntasks++];
      t->file = f;
      t->t0 = parts > 1 ? a + (double)i * len : 0;
      /* The last part runs to the end: the stream may outlast its stated
       * duration. */
      t->t1 = parts > 1 ? (i + 1 < parts ? a + (double)(i + 1) * len : INFINITY)
                        : 0;
    }
  }
  *ntasks = vs->ntasks;
  return WEIR_OK;
}

weir_op *weir_read_video(weir_pipeline *p, const char *uri,
                         const weir_video_options *o) {
  if (!p)
    return NULL;
  if (o && o->version != WEIR_VIDEO_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_video: unknown weir_video_options version %u",
                         o->version);
  video_source *vs = calloc(1, sizeof *vs);
  if (!vs)
    return weir__op_fail(p, WEIR_ENOMEM, "read_video: out of memory");
  weir__media_source *s = &vs->base;
  s->free_extra = video_source_free;
  s->plan = plan_tasks;
  weir__video_options_fill(&s->video, o);
  const weir_video_options *v = &s->video;
  /* Sizes the decoder refuses for every file (see video_decoder.c) are
   * refused here: under WEIR_ON_ERROR_SKIP they would skip every file. */
  if (v->width < 0 || v->height < 0 || v->width > 16384 ||
      v->height > 16384 || v->fps < 0 || v->start < 0 ||
      v->end < 0 || (v->end > 0 && v->end <= v->start) || v->max_frames < 0 ||
      v->clips < 0 || v->segment_seconds < 0 || v->workers < 0 ||
      v->pixel_format < WEIR_PIXEL_RGB24 ||
      v->pixel_format > WEIR_PIXEL_YUV444P) {
    weir__media_source_free(s);
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_video %s: invalid weir_video_options (negative "
                         "size, rate or time, a side over 16384, end before "
                         "start, or unknown pixel_format)", uri ? uri : "(null)");
  }
  s->on_error = v->on_error;
  s->min_workers = v->workers;
  return weir__media_make_source(p, "read_video", uri, video_suffixes, NULL,
                                 read_video_task, s);
}
