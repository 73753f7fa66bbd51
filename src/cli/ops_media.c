/* Operator kinds of weir/media.h and weir/cuda.h: video, audio and image
 * readers and writers, and the image transforms (CPU and CUDA). */
#include "cli/ops.h"

#define COLUMN_ROW(def) OPT("column", WEIR_OPT_STRING, def, "the image column")

static const weir_opt_def video_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder, glob, http(s):// or s3:// URI of videos"),
  OPT("width", WEIR_OPT_INT, "0", "resize while decoding; 0 = source size (one of them 0 keeps the aspect)"),
  OPT("height", WEIR_OPT_INT, "0", "resize while decoding; 0 = source size"),
  OPT("every_k", WEIR_OPT_INT, "1", "keep every k-th frame"),
  OPT("fps", WEIR_OPT_FLOAT, "0", "keep at most this many frames per second; 0 = source rate"),
  OPT("start", WEIR_OPT_FLOAT, "0", "seconds of stream time to start at"),
  OPT("end", WEIR_OPT_FLOAT, "0", "seconds of stream time to stop at; 0 = the end"),
  OPT("max_frames", WEIR_OPT_INT, "0", "frames per file; 0 = no limit"),
  OPT_ENUM("on_error", "fail|skip", "fail", "an undecodable file: end the run, or skip and count it"),
  OPT("decoder_threads", WEIR_OPT_INT, "1", "decoder threads per file"),
  OPT("rows_per_block", WEIR_OPT_INT, "16", "frames per block"),
  OPT("clips", WEIR_OPT_INT, "0", "clips per file (clip sampling); 0 = off"),
  OPT("clip_frames", WEIR_OPT_INT, "16", "frames per clip"),
  OPT_ENUM("pixel_format", "rgb24|bgr24|gray8|yuv420p|yuv444p", "rgb24", "layout of `frame`"),
  OPT("segment_seconds", WEIR_OPT_FLOAT, "0", "split files into read tasks of about this many seconds; 0 = one per file"),
  OPT("workers", WEIR_OPT_INT, "0", "read tasks decoded at once from the start; 0 = the scheduler's choice"),
};
static weir_op *build_read_video(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = (int)arg_i(a, "width");
  o.height = (int)arg_i(a, "height");
  o.every_k = (int)arg_i(a, "every_k");
  o.fps = arg_f(a, "fps");
  o.start = arg_f(a, "start");
  o.end = arg_f(a, "end");
  o.max_frames = arg_i(a, "max_frames");
  o.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.decoder_threads = (int)arg_i(a, "decoder_threads");
  o.rows_per_block = (size_t)arg_i(a, "rows_per_block");
  o.clips = (int)arg_i(a, "clips");
  o.clip_frames = (int)arg_i(a, "clip_frames");
  static const int fmts[] = {WEIR_PIXEL_RGB24, WEIR_PIXEL_BGR24, WEIR_PIXEL_GRAY8,
                             WEIR_PIXEL_YUV420P, WEIR_PIXEL_YUV444P};
  o.pixel_format = fmts[arg_i(a, "pixel_format")];
  o.segment_seconds = arg_f(a, "segment_seconds");
  o.workers = (int)arg_i(a, "workers");
  return weir_read_video(p, arg_s(a, "uri"), &o);
}

static const weir_opt_def audio_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder, glob, http(s):// or s3:// URI of audio files"),
  OPT("sample_rate", WEIR_OPT_INT, "16000", "resample to this rate"),
  OPT("channels", WEIR_OPT_INT, "1", "mix to this many channels"),
  OPT("window_seconds", WEIR_OPT_FLOAT, "1.0", "seconds of audio per row"),
  OPT_ENUM("on_error", "fail|skip", "fail", "an undecodable file: end the run, or skip and count it"),
  OPT("rows_per_block", WEIR_OPT_INT, "64", "windows per block"),
  OPT("drop_partial", WEIR_OPT_BOOL, "false", "drop the last, short window instead of padding it"),
};
static weir_op *build_read_audio(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.sample_rate = (int)arg_i(a, "sample_rate");
  o.channels = (int)arg_i(a, "channels");
  o.window_seconds = arg_f(a, "window_seconds");
  o.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.rows_per_block = (size_t)arg_i(a, "rows_per_block");
  o.drop_partial = (int)arg_i(a, "drop_partial");
  return weir_read_audio(p, arg_s(a, "uri"), &o);
}

static const weir_opt_def images_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder, glob, http(s):// or s3:// URI of images"),
  OPT("width", WEIR_OPT_INT, "0", "resize to this; 0 = keep each image's size"),
  OPT("height", WEIR_OPT_INT, "0", "resize to this; 0 = keep each image's size"),
  OPT_ENUM("on_error", "fail|skip", "fail", "an undecodable file: end the run, or skip and count it"),
  OPT("rows_per_block", WEIR_OPT_INT, "32", "images per block when resized"),
};
static weir_op *build_read_images(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_image_options o = WEIR_IMAGE_OPTIONS_INIT;
  o.width = (int)arg_i(a, "width");
  o.height = (int)arg_i(a, "height");
  o.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.rows_per_block = (size_t)arg_i(a, "rows_per_block");
  return weir_read_images(p, arg_s(a, "uri"), &o);
}

static const weir_opt_def resize_opts[] = {
  COLUMN_ROW("image"),
  OPT_REQ("width", WEIR_OPT_INT, "output width"),
  OPT_REQ("height", WEIR_OPT_INT, "output height"),
  CLI_OP_OPTION_ROWS,
};
static weir_op *build_image_resize(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  return weir_image_resize(p, arg_in(a), arg_s(a, "column"), (int)arg_i(a, "width"),
                           (int)arg_i(a, "height"), &o);
}
static weir_op *build_gpu_resize(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  o.num_gpus = arg_f(a, "num_gpus");
  return weir_gpu_resize(p, arg_in(a), arg_s(a, "column"), (int)arg_i(a, "width"),
                         (int)arg_i(a, "height"), &o);
}

static const weir_opt_def crop_opts[] = {
  COLUMN_ROW("image"),
  OPT_REQ("x", WEIR_OPT_INT, "left edge"),
  OPT_REQ("y", WEIR_OPT_INT, "top edge"),
  OPT_REQ("width", WEIR_OPT_INT, "width of the rectangle"),
  OPT_REQ("height", WEIR_OPT_INT, "height of the rectangle"),
  CLI_OP_OPTION_ROWS,
};
static weir_op *build_image_crop(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  return weir_image_crop(p, arg_in(a), arg_s(a, "column"), (int)arg_i(a, "x"), (int)arg_i(a, "y"),
                         (int)arg_i(a, "width"), (int)arg_i(a, "height"), &o);
}

static const weir_opt_def center_crop_opts[] = {
  COLUMN_ROW("image"),
  OPT_REQ("width", WEIR_OPT_INT, "width of the centred rectangle"),
  OPT_REQ("height", WEIR_OPT_INT, "height of the centred rectangle"),
  CLI_OP_OPTION_ROWS,
};
static weir_op *build_image_center_crop(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  return weir_image_center_crop(p, arg_in(a), arg_s(a, "column"), (int)arg_i(a, "width"),
                                (int)arg_i(a, "height"), &o);
}

#define COLORS "rgb|bgr|gray|yuv|rgba"
static const weir_opt_def convert_opts[] = {
  COLUMN_ROW("image"),
  OPT_ENUM("from", COLORS, "rgb", "colour layout of the input"),
  {"to", WEIR_OPT_ENUM, NULL, "colour layout of the output", COLORS, WEIR_OPT_REQUIRED},
  CLI_OP_OPTION_ROWS,
};
static weir_op *build_image_convert(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  static const int c[] = {WEIR_COLOR_RGB, WEIR_COLOR_BGR, WEIR_COLOR_GRAY, WEIR_COLOR_YUV,
                          WEIR_COLOR_RGBA};
  return weir_image_convert(p, arg_in(a), arg_s(a, "column"), c[arg_i(a, "from")],
                            c[arg_i(a, "to")], &o);
}

static const weir_opt_def normalize_opts[] = {
  COLUMN_ROW("image"),
  OPT("mean", WEIR_OPT_FLOAT_LIST, "[0.485, 0.456, 0.406]", "per-channel mean, on the 0..1 scale"),
  OPT("std", WEIR_OPT_FLOAT_LIST, "[0.229, 0.224, 0.225]", "per-channel standard deviation"),
  OPT("chw", WEIR_OPT_BOOL, "false", "output [C, H, W] instead of [H, W, C]"),
  OPT("scale", WEIR_OPT_FLOAT, "0", "input is multiplied by this first; 0 = 1/255 for uint8, 1 for float32"),
  CLI_OP_OPTION_ROWS,
};
static int fill_mean_std(const weir_op_args *a, float *mean, float *std, int max, int *channels) {
  const weir_opt_value *m = weir_op_args_get(a, "mean"), *s = weir_op_args_get(a, "std");
  if (!m || !s || m->list_len != s->list_len || m->list_len < 1 || (int)m->list_len > max) {
    weir_set_last_errmsg("%s: mean and std must be lists of the same length, 1 to %d", a->name,
                         max);
    return WEIR_EINVAL;
  }
  for (size_t i = 0; i < m->list_len; i++) {
    mean[i] = (float)m->list[i];
    std[i] = (float)s->list[i];
  }
  *channels = (int)m->list_len;
  return WEIR_OK;
}
static weir_op *build_image_normalize(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  if (fill_mean_std(a, n.mean, n.std, 4, &n.channels) != WEIR_OK) return NULL;
  n.chw = (int)arg_i(a, "chw");
  n.scale = (float)arg_f(a, "scale");
  return weir_image_normalize(p, arg_in(a), arg_s(a, "column"), &n, &o);
}

static const weir_opt_def gpu_resize_opts[] = {
  COLUMN_ROW("image"),
  OPT_REQ("width", WEIR_OPT_INT, "output width"),
  OPT_REQ("height", WEIR_OPT_INT, "output height"),
  OPT("num_gpus", WEIR_OPT_FLOAT, "1", "GPU share one worker (CUDA stream) holds"),
  CLI_OP_OPTION_ROWS,
};
static const weir_opt_def gpu_normalize_opts[] = {
  COLUMN_ROW("image"),
  OPT("mean", WEIR_OPT_FLOAT_LIST, "[0.485, 0.456, 0.406]", "per-channel mean, on the 0..1 scale"),
  OPT("std", WEIR_OPT_FLOAT_LIST, "[0.229, 0.224, 0.225]", "per-channel standard deviation"),
  OPT("scale", WEIR_OPT_FLOAT, "0", "input is multiplied by this first; 0 = 1/255"),
  OPT("num_gpus", WEIR_OPT_FLOAT, "1", "GPU share one worker (CUDA stream) holds"),
  CLI_OP_OPTION_ROWS,
};
static weir_op *build_gpu_normalize(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_op_options o;
  cli_op_options(a, &o);
  o.num_gpus = arg_f(a, "num_gpus");
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  if (fill_mean_std(a, n.mean, n.std, 4, &n.channels) != WEIR_OK) return NULL;
  n.chw = 1; /* the only layout the GPU operator writes */
  n.scale = (float)arg_f(a, "scale");
  return weir_gpu_normalize(p, arg_in(a), arg_s(a, "column"), &n, &o);
}

static const weir_opt_def write_video_opts[] = {
  OPT_REQ("path", WEIR_OPT_STRING, "output file; the container follows its suffix (.mp4, .mkv...)"),
  OPT("fps", WEIR_OPT_FLOAT, "30", "frame rate of the file"),
  OPT("codec", WEIR_OPT_STRING, NULL, "FFmpeg encoder; unset = libx264 when present, else mpeg4"),
  OPT("bit_rate", WEIR_OPT_INT, "0", "bits per second; 0 = the encoder's default"),
  OPT("column", WEIR_OPT_STRING, "frame", "the RGB24 [H, W, 3] column"),
};
static weir_op *build_write_video(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_video_write_options o = WEIR_VIDEO_WRITE_OPTIONS_INIT;
  o.fps = arg_f(a, "fps");
  o.codec = arg_s(a, "codec");
  o.bit_rate = arg_i(a, "bit_rate");
  o.column = arg_s(a, "column");
  return weir_write_video(p, arg_in(a), arg_s(a, "path"), &o);
}

static const weir_opt_def write_images_opts[] = {
  OPT_REQ("dir", WEIR_OPT_STRING, "folder of the PNG files 00000000.png..."),
  COLUMN_ROW("image"),
};
static weir_op *build_write_images(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_image_write_options o = WEIR_IMAGE_WRITE_OPTIONS_INIT;
  o.column = arg_s(a, "column");
  return weir_write_images(p, arg_in(a), arg_s(a, "dir"), &o);
}

static const weir_opt_def write_audio_opts[] = {
  OPT_REQ("path", WEIR_OPT_STRING, "output file: .wav (16-bit PCM) or .flac"),
  OPT("sample_rate", WEIR_OPT_INT, "16000", "rate of the samples in the column"),
  OPT("column", WEIR_OPT_STRING, "audio", "the float32 [channels, samples] column"),
};
static weir_op *build_write_audio(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_audio_write_options o = WEIR_AUDIO_WRITE_OPTIONS_INIT;
  o.sample_rate = (int)arg_i(a, "sample_rate");
  o.column = arg_s(a, "column");
  return weir_write_audio(p, arg_in(a), arg_s(a, "path"), &o);
}

static const weir_op_kind kinds[] = {
  KIND("read_video", "decode video frames (FFmpeg): frame, path, stream_index, frame_index, pts",
       WEIR_KIND_SOURCE, 0, 0, video_opts, build_read_video),
  KIND("read_audio", "decode audio into float32 windows: audio, path, start", WEIR_KIND_SOURCE, 0, 0,
       audio_opts, build_read_audio),
  KIND("read_images", "decode images (PNG, JPEG, WebP...): image, path", WEIR_KIND_SOURCE, 0, 0,
       images_opts, build_read_images),
  KIND("image_resize", "bilinear resize of an image column (CPU)", WEIR_KIND_TRANSFORM, 1, 1,
       resize_opts, build_image_resize),
  KIND("image_crop", "cut a rectangle out of every image", WEIR_KIND_TRANSFORM, 1, 1, crop_opts,
       build_image_crop),
  KIND("image_center_crop", "the centred rectangle of every image", WEIR_KIND_TRANSFORM, 1, 1,
       center_crop_opts, build_image_center_crop),
  KIND("image_convert", "convert uint8 images between colour layouts", WEIR_KIND_TRANSFORM, 1, 1,
       convert_opts, build_image_convert),
  KIND("image_normalize", "(x * scale - mean) / std as float32, optionally to CHW",
       WEIR_KIND_TRANSFORM, 1, 1, normalize_opts, build_image_normalize),
  KIND("gpu_resize", "bilinear resize on CUDA stream workers", WEIR_KIND_TRANSFORM, 1, 1,
       gpu_resize_opts, build_gpu_resize),
  KIND("gpu_normalize", "uint8 HWC RGB to normalised float32 CHW on CUDA stream workers",
       WEIR_KIND_TRANSFORM, 1, 1, gpu_normalize_opts, build_gpu_normalize),
  KIND("write_video", "encode an RGB frame column into one video file", WEIR_KIND_SINK, 1, 1,
       write_video_opts, build_write_video),
  KIND("write_images", "write every image as a PNG file, in input order", WEIR_KIND_SINK, 1, 1,
       write_images_opts, build_write_images),
  KIND("write_audio", "write an audio column as one WAV or FLAC file", WEIR_KIND_SINK, 1, 1,
       write_audio_opts, build_write_audio),
};

const cli_op_table cli_ops_media = {kinds, sizeof kinds / sizeof kinds[0]};
