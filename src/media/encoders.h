/* Encoders behind the media writers. Each writes a temporary file in the
 * target's folder and renames it into place in *_finish(); *_close()
 * without a successful finish removes the temporary file. */
#ifndef WEIR_MEDIA_ENCODERS_H
#define WEIR_MEDIA_ENCODERS_H

#include <stdint.h>

#include "media/media_internal.h"

typedef struct weir__video_encoder weir__video_encoder;
/* `codec_name` NULL: libx264 when present, else mpeg4. */
int weir__video_encoder_open(weir__video_encoder **out, const char *path,
                             int width, int height, double fps,
                             const char *codec_name, int64_t bit_rate,
                             char *err, size_t errlen);
/* One RGB24 frame of the opened size. */
int weir__video_encoder_write(weir__video_encoder *e, const uint8_t *rgb,
                              char *err, size_t errlen);
int weir__video_encoder_finish(weir__video_encoder *e, char *err,
                               size_t errlen);
void weir__video_encoder_close(weir__video_encoder *e);

typedef struct weir__audio_encoder weir__audio_encoder;
/* 16-bit PCM in a .wav file, or FLAC in a .flac file. */
int weir__audio_encoder_open(weir__audio_encoder **out, const char *path,
                             int sample_rate, int channels, char *err,
                             size_t errlen);
/* `samples` samples per channel, planar float32 [channels][stride] (the
 * first `samples` of each channel's `stride` are written). */
int weir__audio_encoder_write(weir__audio_encoder *e, const float *planar,
                              int64_t samples, int64_t stride, char *err, size_t errlen);
int weir__audio_encoder_finish(weir__audio_encoder *e, char *err,
                               size_t errlen);
void weir__audio_encoder_close(weir__audio_encoder *e);

/* One image, [height, width, channels] uint8 (1 gray, 3 RGB, 4 RGBA). */
int weir__png_write(const char *path, const uint8_t *pixels, int width,
                    int height, int channels, char *err, size_t errlen);

#endif /* WEIR_MEDIA_ENCODERS_H */
