/* weir_read_video: a source with one read task per video file, each
 * decoding, sampling and converting its frames into blocks. */
#include <stdio.h>
#include <stdlib.h>

#include "weir/error.h"
#include "weir/io.h"
#include "media/media_source.h"

static const char *const video_suffixes[] = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts",
    ".m2ts", ".flv", ".wmv", ".ogv", ".3gp", ".y4m", ".h264", ".hevc", NULL};

static int read_video_file(weir__media_source *s, const char *path,
                           weir_emit *out, weir__media_cancel_fn cancel,
                           void *cancel_user, char *err, size_t errlen) {
  weir__video_decoder *d = NULL;
  int rc = weir__video_decoder_open(&d, path, &s->video, cancel, cancel_user,
                                    err, errlen);
  int eof = 0;
  while (rc == WEIR_OK && !eof) {
    weir_block *b = NULL;
    rc = weir__video_decoder_read(d, s->video.rows_per_block, &b, &eof, err,
                                  errlen);
    if (rc == WEIR_OK && b)
      rc = weir_emit_block(out, b);
  }
  if (d && weir__video_decoder_corrupt(d) > 0)
    weir_ctx_log(cancel_user, WEIR_LOG_WARN,
                 "%s: passed over %llu damaged packets or frames", path,
                 (unsigned long long)weir__video_decoder_corrupt(d));
  weir__video_decoder_close(d);
  return rc;
}

weir_op *weir_read_video(weir_pipeline *p, const char *uri,
                         const weir_video_options *o) {
  if (!p)
    return NULL;
  if (o && o->version != WEIR_VIDEO_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_video: unknown weir_video_options version %u",
                         o->version);
  weir__media_source *s = calloc(1, sizeof *s);
  if (!s)
    return weir__op_fail(p, WEIR_ENOMEM, "read_video: out of memory");
  weir__video_options_fill(&s->video, o);
  const weir_video_options *v = &s->video;
  if (v->width < 0 || v->height < 0 || v->fps < 0 || v->start < 0 ||
      v->end < 0 || (v->end > 0 && v->end <= v->start) || v->max_frames < 0 ||
      v->clips < 0 || v->pixel_format < WEIR_PIXEL_RGB24 ||
      v->pixel_format > WEIR_PIXEL_YUV444P) {
    weir__media_source_free(s);
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_video %s: invalid weir_video_options (negative "
                         "size, rate or time, end before start, or unknown "
                         "pixel_format)", uri ? uri : "(null)");
  }
  s->on_error = v->on_error;
  return weir__media_make_source(p, "read_video", uri, video_suffixes,
                            read_video_file, NULL, s);
}
