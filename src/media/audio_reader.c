/* weir_read_audio: a source with one read task per audio (or video) file,
 * each decoding, resampling and cutting its samples into windows. */
#include <stdio.h>
#include <stdlib.h>

#include "weir/error.h"
#include "weir/io.h"
#include "media/media_source.h"

static const char *const audio_suffixes[] = {
    ".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma",
    ".aiff", ".aif", ".mka", ".mp4", ".mkv", ".webm", ".mov", NULL};

static int read_audio_file(weir__media_source *s, const char *path,
                           weir_emit *out, weir__media_cancel_fn cancel,
                           void *cancel_user, char *err, size_t errlen) {
  weir__audio_decoder *d = NULL;
  int rc = weir__audio_decoder_open(&d, path, &s->audio, cancel, cancel_user,
                                    err, errlen);
  int eof = 0;
  while (rc == WEIR_OK && !eof) {
    weir_block *b = NULL;
    rc = weir__audio_decoder_read(d, s->audio.rows_per_block, &b, &eof, err,
                                  errlen);
    if (rc == WEIR_OK && b)
      rc = weir_emit_block(out, b);
  }
  /* Its windows are out; the file still fails, or is counted as skipped:
   * a cut file must not pass for a whole one. */
  if (rc == WEIR_OK && weir__audio_decoder_truncated(d, err, errlen))
    rc = WEIR_EFORMAT;
  weir__audio_decoder_close(d);
  return rc;
}

weir_op *weir_read_audio(weir_pipeline *p, const char *uri,
                         const weir_audio_options *o) {
  if (!p)
    return NULL;
  if (o && o->version != WEIR_AUDIO_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_audio: unknown weir_audio_options version %u",
                         o->version);
  weir__media_source *s = calloc(1, sizeof *s);
  if (!s)
    return weir__op_fail(p, WEIR_ENOMEM, "read_audio: out of memory");
  weir__audio_options_fill(&s->audio, o);
  const weir_audio_options *a = &s->audio;
  if (a->channels > 64 || a->sample_rate > 1000000 ||
      a->window_seconds * a->sample_rate < 1 ||
      a->window_seconds * a->sample_rate > 1e8) {
    weir__media_source_free(s);
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_audio %s: invalid weir_audio_options (%d "
                         "channels, %d Hz, %.3f s windows)",
                         uri ? uri : "(null)", a->channels, a->sample_rate,
                         a->window_seconds);
  }
  s->on_error = a->on_error;
  return weir__media_make_source(p, "read_audio", uri, audio_suffixes,
                            read_audio_file, NULL, s);
}
