/* Video, audio and images through FFmpeg: readers, transforms, writers. */
#ifndef WEIR_MEDIA_H
#define WEIR_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

#define WEIR_VIDEO_OPTIONS_VERSION 1

typedef struct weir_video_options {
  unsigned version;          /* WEIR_VIDEO_OPTIONS_VERSION */
  int      width, height;    /* resize in the decode path; 0 = source size */
  int      every_k;          /* keep every k-th frame; 0 = 1 */
  double   fps;              /* resample to this rate; 0 = source rate */
  double   start, end;       /* seconds; end 0 = to the end of the file */
  int64_t  max_frames;       /* per file; 0 = no limit */
  int      on_error;         /* WEIR_ON_ERROR_* (see weir/io.h) */
  int      decoder_threads;  /* per file; 0 = 1 */
  size_t   rows_per_block;   /* frames per block; 0 = 16 */
} weir_video_options;
#define WEIR_VIDEO_OPTIONS_INIT { WEIR_VIDEO_OPTIONS_VERSION, 0, 0, 0, 0.0 }

#define WEIR_AUDIO_OPTIONS_VERSION 1

typedef struct weir_audio_options {
  unsigned version;          /* WEIR_AUDIO_OPTIONS_VERSION */
  int      sample_rate;      /* 0 = 16000 */
  int      channels;         /* 0 = 1 */
  double   window_seconds;   /* 0 = 1.0 */
  int      on_error;
  size_t   rows_per_block;   /* windows per block; 0 = 64 */
} weir_audio_options;
#define WEIR_AUDIO_OPTIONS_INIT { WEIR_AUDIO_OPTIONS_VERSION, 0, 0, 0.0 }

#define WEIR_IMAGE_OPTIONS_VERSION 1

typedef struct weir_image_options {
  unsigned version;          /* WEIR_IMAGE_OPTIONS_VERSION */
  int      width, height;    /* resize to this; 0 = keep each image's size
                                (then every image is a block of its own) */
  int      on_error;
  size_t   rows_per_block;   /* images per block when resized; 0 = 32 */
} weir_image_options;
#define WEIR_IMAGE_OPTIONS_INIT { WEIR_IMAGE_OPTIONS_VERSION, 0, 0 }

WEIR_EXTERN weir_op *weir_read_video (weir_pipeline *p, const char *uri, const weir_video_options *o);
WEIR_EXTERN weir_op *weir_read_audio (weir_pipeline *p, const char *uri, const weir_audio_options *o);
WEIR_EXTERN weir_op *weir_read_images(weir_pipeline *p, const char *uri, const weir_image_options *o);

WEIR_END_DECLS

#endif /* WEIR_MEDIA_H */
