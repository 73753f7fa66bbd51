/* Video, audio and images through FFmpeg: readers, transforms, writers.
 *
 * Everything here is built when FFmpeg (libavformat, libavcodec, libavutil,
 * libswscale, libswresample) was found at build time. Without it every
 * reader and writer fails with WEIR_ENOTSUP and a message saying so; the
 * image transforms (resize, crop, colour conversion, normalise) are plain C
 * and work in every build.
 *
 * FFmpeg's own log output is turned down to AV_LOG_FATAL the first time weir
 * opens a media file, unless the application changed the level from
 * FFmpeg's default before, or WEIR_FFMPEG_LOG is set in the environment:
 * weir reports every failure itself, naming the file. */
#ifndef WEIR_MEDIA_H
#define WEIR_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* 1 when this build of weir has FFmpeg, 0 when its readers and writers
 * answer WEIR_ENOTSUP. */
WEIR_EXTERN int weir_media_built(void);

/* Pixel layouts a reader can hand out (weir_video_options.pixel_format). */
enum {
  WEIR_PIXEL_RGB24 = 0,  /* [H, W, 3] uint8, R G B                          */
  WEIR_PIXEL_BGR24,      /* [H, W, 3] uint8, B G R                          */
  WEIR_PIXEL_GRAY8,      /* [H, W, 1] uint8, BT.601 luma                    */
  WEIR_PIXEL_YUV420P,    /* [H * 3 / 2, W] uint8: the Y plane, then U and V
                            at half width and height (I420); W, H even      */
  WEIR_PIXEL_YUV444P     /* [3, H, W] uint8: Y, U, V planes                 */
};

#define WEIR_VIDEO_OPTIONS_VERSION 1

/* Options of weir_read_video(). Sampling steps apply in this order: the
 * time range (start, end), the target rate (fps), every k-th frame of what
 * is left, then max_frames. With clips > 0 the reader takes `clips` clips
 * of `clip_frames` consecutive sampled frames each, their start times
 * spread evenly over the time range, and seeks to the key frame before each
 * clip instead of decoding the frames in between. */
typedef struct weir_video_options {
  unsigned version;          /* WEIR_VIDEO_OPTIONS_VERSION */
  int      width, height;    /* resize in the decode path (libswscale,
                                bilinear); 0 = source size; one of them 0 =
                                keep the aspect ratio; at most 16384        */
  int      every_k;          /* keep every k-th frame; 0 = 1. Counted on the
                                source frame index (frame_index % k == 0),
                                or from the first frame of each clip.
                                Without fps or clips, in a constant-rate
                                stream, the frames it drops that no other
                                frame refers to are not decoded at all
                                (WEIR_MEDIA_DECODE_ALL=1 in the environment
                                decodes them, for comparison)              */
  double   fps;              /* keep at most this many frames per second of
                                video: the first frame of each 1/fps slot;
                                0 = source rate                             */
  double   start, end;       /* seconds of stream time; end 0 = to the end */
  int64_t  max_frames;       /* per file; 0 = no limit */
  int      on_error;         /* WEIR_ON_ERROR_* (see weir/io.h) */
  int      decoder_threads;  /* per file; 0 = 1 */
  size_t   rows_per_block;   /* frames per block; 0 = 16 */
  int      clips;            /* clip sampling: number of clips per file;
                                0 = off                                     */
  int      clip_frames;      /* frames per clip; 0 = 16                     */
  int      pixel_format;     /* WEIR_PIXEL_*; 0 = RGB24                     */
  double   segment_seconds;  /* > 0: split each file into read tasks of about
                                this many seconds (rounded to whole 1/fps
                                slots), decoded in parallel, each seeking to
                                the key frame before its start; they sample
                                as one task would, except that max_frames
                                then counts per task. Ignored with clips.
                                0 = one task per file                       */
  int      workers;          /* read tasks decoded at once from the start
                                (the source's min_workers): a few long
                                tasks finish sooner when they all start at
                                once; 0 = the scheduler's choice            */
  size_t   target_block_bytes; /* a block holds at most this many bytes of
                                frames (at least one frame), and at most
                                rows_per_block frames: under a small budget
                                a 4K video gives blocks of one or two
                                frames. 0 = the pipeline's
                                (weir_pipeline_block_bytes())               */
} weir_video_options;
#define WEIR_VIDEO_OPTIONS_INIT { WEIR_VIDEO_OPTIONS_VERSION, 0, 0, 0, 0.0, \
    0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0 }

#define WEIR_AUDIO_OPTIONS_VERSION 1

/* Options of weir_read_audio(). Audio is decoded, resampled with
 * libswresample to `sample_rate` and `channels` as float32, and cut into
 * windows of window_seconds: one row per window, `audio` shaped
 * [channels, window_samples]. The last, partial window of a file is padded
 * with zeros (drop_partial = 0) or dropped (drop_partial = 1). */
typedef struct weir_audio_options {
  unsigned version;          /* WEIR_AUDIO_OPTIONS_VERSION */
  int      sample_rate;      /* 0 = 16000 */
  int      channels;         /* 0 = 1 */
  double   window_seconds;   /* 0 = 1.0 */
  int      on_error;
  size_t   rows_per_block;   /* windows per block; 0 = 64 */
  int      drop_partial;     /* 1 = drop the last window when it is short  */
  size_t   target_block_bytes; /* bytes of windows per block, at least one
                                window; 0 = the pipeline's                  */
} weir_audio_options;
#define WEIR_AUDIO_OPTIONS_INIT { WEIR_AUDIO_OPTIONS_VERSION, 0, 0, 0.0, 0, 0, 0, 0 }

#define WEIR_IMAGE_OPTIONS_VERSION 1

/* Options of weir_read_images(): PNG, JPEG, WebP, BMP, TIFF... whatever
 * libavcodec decodes; the first frame of an animated image. */
typedef struct weir_image_options {
  unsigned version;          /* WEIR_IMAGE_OPTIONS_VERSION */
  int      width, height;    /* resize to this (at most 32768); 0 = keep
                                each image's size (then every image is a
                                block of its own). The resize is
                                libswscale's SWS_BILINEAR, as ffmpeg's
                                scale filter does it by default: on a
                                downscale it averages over the source
                                pixels each output covers (an area-like
                                filter). weir_image_resize() is the plain
                                2x2 bilinear of OpenCV and PyTorch, which
                                samples without averaging: on a large
                                downscale the two differ by up to ~200
                                levels on fine detail. Use the reader's
                                for ffmpeg-identical pixels, the operator
                                for OpenCV/PyTorch-identical ones */
  int      on_error;
  size_t   rows_per_block;   /* images per block when resized; 0 = 32 */
  size_t   target_block_bytes; /* when resized, bytes of images per block,
                                at least one image; 0 = the pipeline's      */
} weir_image_options;
#define WEIR_IMAGE_OPTIONS_INIT { WEIR_IMAGE_OPTIONS_VERSION, 0, 0, 0, 0, 0 }

/* Readers. `uri` is a file, a folder or an s3:// prefix (searched
 * recursively for files whose suffix fits the reader), a glob (`*`, `?`,
 * `[...]` within one path component, `**` for any number of folders), or an
 * http(s):// or s3:// object: files are read through weir's data access
 * layer, so remote media streams without a local copy (S3 credentials from
 * the AWS_* environment variables). One read task per file, run in
 * parallel on the source's workers.
 *
 * weir_read_video() gives the columns `frame` (TENSOR uint8, RGB [H, W, 3]
 * by default, see pixel_format), `path` (STRING), `stream_index` (INT64:
 * the video stream decoded, FFmpeg's best one), `frame_index` (INT64: index
 * of the frame in its stream, counted from 0, or from the time stamp after
 * a seek) and `pts` (FLOAT64: presentation time in seconds of stream time);
 * with clips > 0 also `clip` (INT64: clip number within the file).
 * weir_read_audio() gives `audio` (TENSOR float32 [channels, samples]),
 * `path`, `start` (FLOAT64 seconds from the first sample) and
 * `valid_samples` (INT64: the samples of the window that came from the
 * file; fewer than the window only in a zero-padded last window, which
 * weir_write_audio() then writes without its padding).
 * weir_read_images() gives `image` (TENSOR uint8 [H, W, 3] RGB) and `path`.
 *
 * A file that cannot be opened or decoded (empty, truncated, not media, an
 * unsupported codec) ends the run with an error naming the file, or under
 * on_error = WEIR_ON_ERROR_SKIP is logged and counted as one skipped row;
 * frames already emitted from it stay. Truncated includes a file that
 * decodes to its end but is shorter than its header declares (a WAV's data
 * chunk, a FLAC's sample count, an MP3's LAME header, an MP4's index): its
 * frames or windows are emitted, then it fails, or is counted as skipped
 * (skipped_inputs) under on_error = WEIR_ON_ERROR_SKIP. A corrupt packet
 * inside a file is passed over when the decoder can carry on. Returns NULL on failure, with
 * the reason in weir_pipeline_errmsg(). */
WEIR_EXTERN weir_op *weir_read_video (weir_pipeline *p, const char *uri, const weir_video_options *o);
WEIR_EXTERN weir_op *weir_read_audio (weir_pipeline *p, const char *uri, const weir_audio_options *o);
WEIR_EXTERN weir_op *weir_read_images(weir_pipeline *p, const char *uri, const weir_image_options *o);

/* ---- Image transforms --------------------------------------------------
 *
 * Operators on an image TENSOR column: rows shaped [H, W, C] (C = 1, 3 or
 * 4) or [H, W] (one channel). `column` names it; NULL means `image`, else
 * `frame`. The result replaces the column under the same name; every other
 * column passes through without a copy. These are the CPU reference
 * implementations (the CUDA operators in weir/cuda.h match them). The
 * *_block functions do the same work on one block, borrowing `in` and
 * giving a new block in `*out`; they are safe from any thread. */

/* Bilinear resize to [height, width, C] with half-pixel centres (OpenCV's
 * INTER_LINEAR, PyTorch's interpolate(bilinear, align_corners=False)),
 * no antialiasing; uint8 results are rounded to nearest. uint8 or float32
 * input, same dtype out. Each side 1..65536 and width * height at most
 * 2^28 pixels, else WEIR_EINVAL. */
WEIR_EXTERN int weir_image_resize_block(const weir_block *in, const char *column,
                                        int width, int height, weir_block **out);
WEIR_EXTERN weir_op *weir_image_resize(weir_pipeline *p, weir_op *in,
                                       const char *column, int width, int height,
                                       const weir_op_options *o);

/* Cuts the rectangle at (x, y) of width × height out of every image; it
 * must lie inside the image (WEIR_EINVAL otherwise). */
WEIR_EXTERN int weir_image_crop_block(const weir_block *in, const char *column,
                                      int x, int y, int width, int height,
                                      weir_block **out);
WEIR_EXTERN weir_op *weir_image_crop(weir_pipeline *p, weir_op *in,
                                     const char *column, int x, int y,
                                     int width, int height,
                                     const weir_op_options *o);
/* The centred width × height rectangle (offsets rounded down), as
 * torchvision's CenterCrop for images at least that large. */
WEIR_EXTERN int weir_image_center_crop_block(const weir_block *in,
                                             const char *column, int width,
                                             int height, weir_block **out);
WEIR_EXTERN weir_op *weir_image_center_crop(weir_pipeline *p, weir_op *in,
                                            const char *column, int width,
                                            int height,
                                            const weir_op_options *o);

/* Colour layouts of uint8 images for weir_image_convert(). */
enum {
  WEIR_COLOR_RGB = 0,   /* [H, W, 3] */
  WEIR_COLOR_BGR,       /* [H, W, 3] */
  WEIR_COLOR_GRAY,      /* [H, W, 1]; from colour: BT.601 luma
                           (0.299 R + 0.587 G + 0.114 B, rounded)          */
  WEIR_COLOR_YUV,       /* [H, W, 3] full-range BT.601 Y Cb Cr (JPEG's)    */
  WEIR_COLOR_RGBA       /* [H, W, 4]; alpha 255 when added                 */
};
/* Converts uint8 images from colour layout `from` to `to`. */
WEIR_EXTERN int weir_image_convert_block(const weir_block *in, const char *column,
                                         int from, int to, weir_block **out);
WEIR_EXTERN weir_op *weir_image_convert(weir_pipeline *p, weir_op *in,
                                        const char *column, int from, int to,
                                        const weir_op_options *o);

/* Options of weir_image_normalize(). */
#define WEIR_NORMALIZE_OPTIONS_VERSION 1
typedef struct weir_normalize_options {
  unsigned version;          /* WEIR_NORMALIZE_OPTIONS_VERSION */
  int      channels;         /* entries used in mean and std (1..4); must
                                equal the images' C                         */
  float    mean[4];          /* per channel, on the 0..1 scale for uint8   */
  float    std[4];           /* per channel; 0 is taken as 1               */
  int      chw;              /* 1 = output [C, H, W] (as models take it),
                                0 = keep [H, W, C]                          */
  float    scale;            /* uint8 input is multiplied by this first;
                                0 = 1/255                                   */
} weir_normalize_options;
#define WEIR_NORMALIZE_OPTIONS_INIT { WEIR_NORMALIZE_OPTIONS_VERSION, 0, \
    {0, 0, 0, 0}, {1, 1, 1, 1}, 0, 0.0f }
/* out = (in * scale - mean[c]) / std[c] as float32, for uint8 input (scale
 * as above) or float32 input (scale 1 unless set). */
WEIR_EXTERN int weir_image_normalize_block(const weir_block *in,
                                           const char *column,
                                           const weir_normalize_options *n,
                                           weir_block **out);
WEIR_EXTERN weir_op *weir_image_normalize(weir_pipeline *p, weir_op *in,
                                          const char *column,
                                          const weir_normalize_options *n,
                                          const weir_op_options *o);

/* ---- Writers (sinks) ---------------------------------------------------
 *
 * Run the pipeline on the op they return. Each writes to a temporary name
 * beside the target and renames it when complete, so a failed run never
 * leaves a file that looks whole. They take one worker and keep the input
 * order. */

#define WEIR_VIDEO_WRITE_OPTIONS_VERSION 1
typedef struct weir_video_write_options {
  unsigned    version;       /* WEIR_VIDEO_WRITE_OPTIONS_VERSION */
  double      fps;           /* frame rate of the file; 0 = 30 */
  const char *codec;         /* FFmpeg encoder name; NULL = libx264 when
                                present, else mpeg4                         */
  int64_t     bit_rate;      /* bits per second; 0 = the encoder's default
                                (libx264: crf 23)                           */
  const char *column;        /* NULL = `frame`, else `image` */
} weir_video_write_options;
#define WEIR_VIDEO_WRITE_OPTIONS_INIT { WEIR_VIDEO_WRITE_OPTIONS_VERSION, 0.0, NULL, 0, NULL }
/* Encodes the rows of an RGB24 [H, W, 3] uint8 column into one video file
 * at `path` (the container follows its suffix: .mp4, .mkv, .avi...). All
 * frames must have the shape of the first. */
WEIR_EXTERN weir_op *weir_write_video(weir_pipeline *p, weir_op *in,
                                      const char *path,
                                      const weir_video_write_options *o);

/* Writes every row of an image column ([H, W, 3] RGB, [H, W, 4] RGBA or
 * [H, W, 1] gray, uint8) to a PNG file in the folder `dir` (created if
 * missing). Rows with a `path` column are named after their source:
 * "<name>-<frame_index>.png" (six digits) with a `frame_index` column
 * (video frames), else "<name>-<row>.png" (eight digits, the row's place
 * in the output), <name> being the source's file name without folder,
 * query or extension; rows without one are named 00000000.png,
 * 00000001.png... in input order. */
#define WEIR_IMAGE_WRITE_OPTIONS_VERSION 1
typedef struct weir_image_write_options {
  unsigned    version;       /* WEIR_IMAGE_WRITE_OPTIONS_VERSION */
  const char *column;        /* NULL = `image`, else `frame` */
} weir_image_write_options;
#define WEIR_IMAGE_WRITE_OPTIONS_INIT { WEIR_IMAGE_WRITE_OPTIONS_VERSION, NULL }
WEIR_EXTERN weir_op *weir_write_images(weir_pipeline *p, weir_op *in,
                                       const char *dir,
                                       const weir_image_write_options *o);

#define WEIR_AUDIO_WRITE_OPTIONS_VERSION 1
typedef struct weir_audio_write_options {
  unsigned    version;       /* WEIR_AUDIO_WRITE_OPTIONS_VERSION */
  int         sample_rate;   /* of the samples in the column; 0 = 16000 */
  const char *column;        /* NULL = `audio` */
} weir_audio_write_options;
#define WEIR_AUDIO_WRITE_OPTIONS_INIT { WEIR_AUDIO_WRITE_OPTIONS_VERSION, 0, NULL }
/* Writes the rows of a float32 [channels, samples] column one after
 * another as one audio file: 16-bit PCM WAV for a .wav path, FLAC for
 * .flac. */
WEIR_EXTERN weir_op *weir_write_audio(weir_pipeline *p, weir_op *in,
                                      const char *path,
                                      const weir_audio_write_options *o);

WEIR_END_DECLS

#endif /* WEIR_MEDIA_H */
