/* The internal decoders and encoders in a build without FFmpeg: each
 * answers WEIR_ENOTSUP with a message, as the public readers do. */
#include <stdio.h>

#include "weir/error.h"
#include "media/encoders.h"
#include "media/media_internal.h"

int weir_media_built(void) { return 0; }

static int absent(const char *path, char *err, size_t errlen) {
  snprintf(err, errlen, "%s: this build of weir has no FFmpeg", path);
  return WEIR_ENOTSUP;
}

int weir__media_list(const char *uri, const char *const *suffixes,
                     char ***paths, size_t *n, char *err, size_t errlen) {
  (void)suffixes;
  *paths = NULL;
  *n = 0;
  return absent(uri, err, errlen);
}

void weir__media_list_free(char **paths, size_t n) {
  (void)paths, (void)n;
}

int weir__video_decoder_open(weir__video_decoder **out, const char *path,
                             const weir_video_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen) {
  (void)o, (void)cancel, (void)cancel_user;
  *out = NULL;
  return absent(path, err, errlen);
}

int weir__video_decoder_read(weir__video_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen) {
  (void)d, (void)max_rows;
  *out = NULL;
  *eof = 1;
  return absent("video", err, errlen);
}

void weir__video_decoder_shape(const weir__video_decoder *d, int *ndim,
                               int64_t shape[3]) {
  (void)d, (void)shape;
  *ndim = 0;
}

uint64_t weir__video_decoder_corrupt(const weir__video_decoder *d) {
  (void)d;
  return 0;
}

void weir__video_decoder_close(weir__video_decoder *d) { (void)d; }

int weir__audio_decoder_open(weir__audio_decoder **out, const char *path,
                             const weir_audio_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen) {
  (void)o, (void)cancel, (void)cancel_user;
  *out = NULL;
  return absent(path, err, errlen);
}

int weir__audio_decoder_read(weir__audio_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen) {
  (void)d, (void)max_rows;
  *out = NULL;
  *eof = 1;
  return absent("audio", err, errlen);
}

void weir__audio_decoder_close(weir__audio_decoder *d) { (void)d; }

int weir__image_decode_to(const char *path, int width, int height,
                          const weir__image_sink *sink,
                          weir__media_cancel_fn cancel, void *cancel_user,
                          char *err, size_t errlen) {
  (void)width, (void)height, (void)sink, (void)cancel, (void)cancel_user;
  return absent(path, err, errlen);
}

int weir__image_decode(const char *path, int width, int height,
                       uint8_t **pixels, int *w, int *h,
                       weir__media_cancel_fn cancel, void *cancel_user,
                       char *err, size_t errlen) {
  (void)width, (void)height, (void)w, (void)h, (void)cancel, (void)cancel_user;
  *pixels = NULL;
  return absent(path, err, errlen);
}

int weir__video_encoder_open(weir__video_encoder **out, const char *path,
                             int width, int height, double fps,
                             const char *codec_name, int64_t bit_rate,
                             char *err, size_t errlen) {
  (void)width, (void)height, (void)fps, (void)codec_name, (void)bit_rate;
  *out = NULL;
  return absent(path, err, errlen);
}

int weir__video_encoder_write(weir__video_encoder *e, const uint8_t *rgb,
                              char *err, size_t errlen) {
  (void)e, (void)rgb;
  return absent("video", err, errlen);
}

int weir__video_encoder_finish(weir__video_encoder *e, char *err,
                               size_t errlen) {
  (void)e;
  return absent("video", err, errlen);
}

void weir__video_encoder_close(weir__video_encoder *e) { (void)e; }

int weir__audio_encoder_open(weir__audio_encoder **out, const char *path,
                             int sample_rate, int channels, char *err,
                             size_t errlen) {
  (void)sample_rate, (void)channels;
  *out = NULL;
  return absent(path, err, errlen);
}

int weir__audio_encoder_write(weir__audio_encoder *e, const float *planar,
                              int64_t samples, int64_t stride, char *err, size_t errlen) {
  (void)e, (void)planar, (void)samples, (void)stride;
  return absent("audio", err, errlen);
}

int weir__audio_encoder_finish(weir__audio_encoder *e, char *err,
                               size_t errlen) {
  (void)e;
  return absent("audio", err, errlen);
}

void weir__audio_encoder_close(weir__audio_encoder *e) { (void)e; }

int weir__png_write(const char *path, const uint8_t *pixels, int width,
                    int height, int channels, char *err, size_t errlen) {
  (void)pixels, (void)width, (void)height, (void)channels;
  return absent(path, err, errlen);
}
