/* A per-file video decoder: demux, decode, sample (time range, rate, every
 * k-th, clips) and convert with libswscale straight into block rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "weir/error.h"
#include "media/media_ffmpeg.h"

/* One stretch of the file to sample: the whole [start, end) range, or one
 * clip. `budget` counts the frames it may still give (-1 = no limit). */
typedef struct time_range {
  double t0, t1;       /* t1 <= t0 means open-ended */
  int64_t budget;
  int clip;            /* sampling counts from t0, not from `anchor` */
} time_range;

struct weir__video_decoder {
  weir__media_input in;
  weir_video_options o;
  char *path;
  AVPacket *pkt;
  AVFrame *frame;
  AVFrame *scaled;     /* padded output of libswscale */
  struct SwsContext *sws;
  enum AVColorSpace sws_space; /* colour space and range it was set up for */
  enum AVColorRange sws_range;
  enum AVPixelFormat out_fmt;
  int out_w, out_h;
  int ndim;
  int64_t shape[3];
  double tb;           /* seconds per time-base tick */
  double rate;         /* frames per second of the stream */
  double origin;       /* stream time of its first frame, seconds */
  double anchor;       /* where every_k and fps slots count from: the
                          start option, so that the segments of a file
                          sample as the whole file would */
  int64_t anchor_index;
  double seg_t0, seg_t1; /* the part of the file this decoder reads */
  time_range *ranges;
  int nranges, range;  /* range: the one being sampled */
  int range_started;
  int draining;
  int seeked;          /* frame indices come from time stamps after a seek */
  int skipping;        /* frames every_k drops may go undecoded (then
                          indices always come from time stamps) */
  int done;
  int64_t counter;     /* frames decoded since the start, without seeking */
  int64_t passed;      /* frames of this range that passed range and rate */
  int64_t last_slot;   /* last 1/fps slot that gave a frame */
  int64_t emitted;
  double last_t;       /* stream time of the last decoded frame */
  uint64_t corrupt;
  int truncated;       /* the file ended short of its header's length */
  char trunc_err[512];
};

static enum AVPixelFormat av_format_of(int pixel_format) {
  switch (pixel_format) {
  case WEIR_PIXEL_BGR24: return AV_PIX_FMT_BGR24;
  case WEIR_PIXEL_GRAY8: return AV_PIX_FMT_GRAY8;
  case WEIR_PIXEL_YUV420P: return AV_PIX_FMT_YUV420P;
  case WEIR_PIXEL_YUV444P: return AV_PIX_FMT_YUV444P;
  default: return AV_PIX_FMT_RGB24;
  }
}

/* Places the clips over [a, b): evenly spaced start times, the first at a,
 * the last ending at b. Without a known duration they follow each other
 * from a. */
static int plan_ranges(weir__video_decoder *d, double duration) {
  const weir_video_options *o = &d->o;
  double a = o->start > d->origin ? o->start : d->origin;
  double b = o->end > 0 ? o->end : (duration > 0 ? d->origin + duration : 0);
  d->anchor = a;
  d->anchor_index = (int64_t)ceil((a - d->origin) * d->rate - 1e-3);
  if (o->clips <= 0) {
    d->ranges = calloc(1, sizeof *d->ranges);
    if (!d->ranges)
      return WEIR_ENOMEM;
    d->nranges = 1;
    double t0 = a, t1 = o->end > 0 ? o->end : 0;
    if (d->seg_t1 > d->seg_t0) {
      if (d->seg_t0 > t0)
        t0 = d->seg_t0;
      if (t1 <= 0 || d->seg_t1 < t1)
        t1 = d->seg_t1;
    }
    d->ranges[0] = (time_range){t0, t1, o->max_frames > 0 ? o->max_frames : -1,
                                0};
    return WEIR_OK;
  }
  d->ranges = calloc((size_t)o->clips, sizeof *d->ranges);
  if (!d->ranges)
    return WEIR_ENOMEM;
  d->nranges = o->clips;
  double eff = o->fps > 0 && o->fps < d->rate ? o->fps : d->rate;
  double clip_len = eff > 0 ? (double)o->clip_frames * o->every_k / eff : 0;
  double room = b > a ? b - a - clip_len : 0;
  if (room < 0)
    room = 0;
  for (int c = 0; c < o->clips; c++) {
    double t0 = a;
    if (b > a && o->clips > 1)
      t0 = a + room * c / (o->clips - 1);
    /* Unknown duration: t0 < 0 marks "right after the previous clip". */
    if (b <= a && c > 0)
      t0 = -1;
    d->ranges[c] = (time_range){t0, 0, o->clip_frames, 1};
  }
  return WEIR_OK;
}

/* The stream index of the frame at stream time `t`. */
static int64_t index_at(const weir__video_decoder *d, double t) {
  return llround((t - d->origin) * d->rate);
}

/* For weir__media_input.wanted: whether the frame in `pkt` can be kept by
 * every_k. Only asked when frames are sampled by index alone (see
 * can_skip), so this is keep_frame's last test, on the packet's time. */
static int packet_wanted(void *user, const AVPacket *pkt) {
  const weir__video_decoder *d = user;
  if (pkt->pts == AV_NOPTS_VALUE)
    return 1;
  return (index_at(d, pkt->pts * d->tb) - d->anchor_index) % d->o.every_k == 0;
}

/* Frames every_k drops need not be decoded when nothing else refers to
 * them (the B-frames most encoders make): with every_k = 2 that is a large
 * part of the decoding. Only where a frame's index can be told from its
 * time stamp alone: every_k > 1 without fps slots or clips (which count
 * the frames that reach them), a constant frame rate, and time stamps. */
static int can_skip(const weir__video_decoder *d, const AVStream *st) {
  return d->o.every_k > 1 && d->o.fps <= 0 && d->o.clips <= 0 &&
         st->avg_frame_rate.num > 0 && st->r_frame_rate.num > 0 &&
         av_cmp_q(st->avg_frame_rate, st->r_frame_rate) == 0 &&
         st->start_time != AV_NOPTS_VALUE && !getenv("WEIR_MEDIA_DECODE_ALL");
}

int weir__video_decoder_open(weir__video_decoder **out, const char *path,
                             const weir_video_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen) {
  return weir__video_decoder_open_part(out, path, o, 0, 0, cancel,
                                       cancel_user, err, errlen);
}

int weir__video_decoder_open_part(weir__video_decoder **out, const char *path,
                                  const weir_video_options *o, double t0,
                                  double t1, weir__media_cancel_fn cancel,
                                  void *cancel_user, char *err,
                                  size_t errlen) {
  *out = NULL;
  weir__video_decoder *d = calloc(1, sizeof *d);
  if (!d || !(d->path = strdup(path))) {
    free(d);
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  d->o = *o;
  d->seg_t0 = t0;
  d->seg_t1 = t1;
  int rc = weir__media_open(&d->in, path, AVMEDIA_TYPE_VIDEO,
                            o->decoder_threads, cancel, cancel_user, err,
                            errlen);
  if (rc != WEIR_OK) {
    free(d->path);
    free(d);
    return rc;
  }
  AVStream *st = d->in.fmt->streams[d->in.stream];
  AVCodecContext *dec = d->in.dec;
  d->tb = av_q2d(st->time_base);
  AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate
                                             : st->r_frame_rate;
  d->rate = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 25.0;
  d->origin = st->start_time != AV_NOPTS_VALUE ? st->start_time * d->tb : 0;
  double duration = st->duration != AV_NOPTS_VALUE ? st->duration * d->tb
                    : d->in.fmt->duration > 0
                        ? (double)d->in.fmt->duration / AV_TIME_BASE
                        : 0;

  int sw = dec->width, sh = dec->height;
  if (sw <= 0 || sh <= 0) {
    snprintf(err, errlen, "%s: video stream has no frame size", path);
    weir__video_decoder_close(d);
    return WEIR_EFORMAT;
  }
  int w = o->width, h = o->height;
  if (w <= 0 && h <= 0) {
    w = sw;
    h = sh;
  } else if (w <= 0) {
    w = (int)lround((double)h * sw / sh);
  } else if (h <= 0) {
    h = (int)lround((double)w * sh / sw);
  }
  d->out_fmt = av_format_of(o->pixel_format);
  if (d->out_fmt == AV_PIX_FMT_YUV420P) {
    w &= ~1;
    h &= ~1;
  }
  if (w < 1 || h < 1 || w > 16384 || h > 16384) {
    snprintf(err, errlen, "%s: bad output size %dx%d", path, w, h);
    weir__video_decoder_close(d);
    return WEIR_EINVAL;
  }
  d->out_w = w;
  d->out_h = h;
  switch (d->out_fmt) {
  case AV_PIX_FMT_YUV420P:
    d->ndim = 2;
    d->shape[0] = (int64_t)h * 3 / 2;
    d->shape[1] = w;
    break;
  case AV_PIX_FMT_YUV444P:
    d->ndim = 3;
    d->shape[0] = 3;
    d->shape[1] = h;
    d->shape[2] = w;
    break;
  default:
    d->ndim = 3;
    d->shape[0] = h;
    d->shape[1] = w;
    d->shape[2] = d->out_fmt == AV_PIX_FMT_GRAY8 ? 1 : 3;
  }
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
  d->scaled = av_frame_alloc();
  if (!d->pkt || !d->frame || !d->scaled || plan_ranges(d, duration) != WEIR_OK) {
    snprintf(err, errlen, "%s: out of memory", path);
    weir__video_decoder_close(d);
    return WEIR_ENOMEM;
  }
  d->last_t = -INFINITY;
  d->last_slot = INT64_MIN;
  if (can_skip(d, st)) {
    d->skipping = 1;
    d->in.wanted = packet_wanted;
    d->in.wanted_user = d;
  }
  *out = d;
  return WEIR_OK;
}

void weir__video_decoder_shape(const weir__video_decoder *d, int *ndim,
                               int64_t shape[3]) {
  *ndim = d->ndim;
  memcpy(shape, d->shape, sizeof d->shape);
}

int weir__video_decoder_truncated(const weir__video_decoder *d, char *err, size_t errlen) {
  if (!d || !d->truncated)
    return 0;
  snprintf(err, errlen, "%s", d->trunc_err);
  return 1;
}

uint64_t weir__video_decoder_corrupt(const weir__video_decoder *d) {
  return d->corrupt;
}

int64_t weir__video_decoder_decoded(const weir__video_decoder *d) {
  return d->counter;
}

void weir__video_decoder_close(weir__video_decoder *d) {
  if (!d)
    return;
  sws_freeContext(d->sws);
  av_frame_free(&d->frame);
  av_frame_free(&d->scaled);
  av_packet_free(&d->pkt);
  weir__media_close(&d->in);
  free(d->ranges);
  free(d->path);
  free(d);
}

/* Positions the decoder for range `r`: a seek to the key frame before its
 * start when that skips work (or when the start lies behind us). */
static int start_range(weir__video_decoder *d, char *err, size_t errlen) {
  time_range *r = &d->ranges[d->range];
  d->passed = 0;
  d->last_slot = INT64_MIN;
  d->range_started = 1;
  if (r->t0 < 0) {
    r->t0 = d->last_t > -INFINITY ? d->last_t + 0.5 / d->rate : d->origin;
    return WEIR_OK;
  }
  /* Decoding on is cheaper than a seek when the start is near ahead. */
  int behind = r->t0 <= d->last_t;
  int far = d->last_t == -INFINITY ? r->t0 > d->origin + 1.0 / d->rate
                                   : r->t0 > d->last_t + 1.0;
  if (!behind && !far)
    return WEIR_OK;
  AVStream *st = d->in.fmt->streams[d->in.stream];
  int64_t ts = (int64_t)floor(r->t0 / d->tb);
  int ret = av_seek_frame(d->in.fmt, d->in.stream, ts, AVSEEK_FLAG_BACKWARD);
  if (ret < 0 && behind) {
    /* Some demuxers cannot seek by stream time; a byte seek to the start
     * still lets us decode forward from the beginning. */
    ret = av_seek_frame(d->in.fmt, -1, st->start_time != AV_NOPTS_VALUE
                        ? av_rescale_q(st->start_time, st->time_base,
                                       AV_TIME_BASE_Q) : 0,
                        AVSEEK_FLAG_BACKWARD);
  }
  if (ret < 0 && behind) {
    snprintf(err, errlen, "%s: cannot seek to %.3f s: %s", d->path, r->t0,
             av_err2str(ret));
    return WEIR_EFORMAT;
  }
  if (ret >= 0) {
    avcodec_flush_buffers(d->in.dec);
    d->draining = 0;
    d->seeked = 1;
    d->last_t = -INFINITY;
  }
  return WEIR_OK;
}

/* Moves to the next range; sets `done` after the last. */
static int next_range(weir__video_decoder *d, char *err, size_t errlen) {
  d->range++;
  d->range_started = 0;
  if (d->range >= d->nranges) {
    d->done = 1;
    return WEIR_OK;
  }
  return start_range(d, err, errlen);
}

/* Builder columns of a video block. */
enum { COL_FRAME, COL_PATH, COL_STREAM, COL_INDEX, COL_PTS, COL_CLIP };

/* Bytes of one output frame. */
static size_t frame_bytes(const weir__video_decoder *d) {
  size_t n = 1;
  for (int i = 0; i < d->ndim; i++)
    n *= (size_t)d->shape[i];
  return n;
}

static int add_columns(weir__video_decoder *d, weir_builder *bld) {
  int rc = weir_builder_add_tensor_column(bld, "frame", WEIR_DTYPE_UINT8,
                                          d->ndim, d->shape);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "path", WEIR_TYPE_STRING);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "stream_index", WEIR_TYPE_INT64);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "frame_index", WEIR_TYPE_INT64);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "pts", WEIR_TYPE_FLOAT64);
  if (rc == WEIR_OK && d->o.clips > 0)
    rc = weir_builder_add_column(bld, "clip", WEIR_TYPE_INT64);
  return rc;
}

static int convert(weir__video_decoder *d, const AVFrame *f, uint8_t *dst) {
  struct SwsContext *was = d->sws;
  d->sws = sws_getCachedContext(d->sws, f->width, f->height, f->format,
                                d->out_w, d->out_h, d->out_fmt, SWS_BILINEAR,
                                NULL, NULL, NULL);
  if (!d->sws)
    return WEIR_EFORMAT;
  /* libswscale assumes BT.601 whatever the stream says; HD video is mostly
   * BT.709, so RGB output follows the frame's own colour space and range.
   * YUV output keeps the stream's values as they are. */
  int rgb = d->out_fmt == AV_PIX_FMT_RGB24 || d->out_fmt == AV_PIX_FMT_BGR24 ||
            d->out_fmt == AV_PIX_FMT_GRAY8;
  if (rgb && (d->sws != was || f->colorspace != d->sws_space ||
              f->color_range != d->sws_range)) {
    int space = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709
                : f->colorspace == AVCOL_SPC_BT2020_NCL ||
                          f->colorspace == AVCOL_SPC_BT2020_CL
                    ? SWS_CS_BT2020
                    : SWS_CS_DEFAULT;
    int full = f->color_range == AVCOL_RANGE_JPEG ||
               f->format == AV_PIX_FMT_YUVJ420P ||
               f->format == AV_PIX_FMT_YUVJ422P ||
               f->format == AV_PIX_FMT_YUVJ444P;
    const int *coef = sws_getCoefficients(space);
    sws_setColorspaceDetails(d->sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
    d->sws_space = f->colorspace;
    d->sws_range = f->color_range;
  }
  return weir__media_scale(d->sws, f, d->scaled, dst, d->out_w, d->out_h,
                           d->out_fmt);
}

/* Decides whether the decoded frame at stream time `t` is kept; may end
 * the range (0 with *range_done set). */
static int keep_frame(weir__video_decoder *d, double t, int64_t index,
                      int *range_done) {
  time_range *r = &d->ranges[d->range];
  /* A frame is in the range when its time reaches the start, allowing for
   * time stamps rounded to the time base. */
  double eps = 1e-3 / d->rate;
  *range_done = 0;
  if (t < r->t0 - eps)
    return 0;
  if (r->t1 > r->t0 && t >= r->t1 - eps) {
    *range_done = 1;
    return 0;
  }
  int k = d->o.every_k;
  if (r->clip) {
    /* Within a clip, slots and every k-th frame count from its start. */
    if (d->o.fps > 0) {
      int64_t slot = (int64_t)floor((t - r->t0) * d->o.fps + 1e-6);
      if (slot <= d->last_slot)
        return 0;
      d->last_slot = slot;
    }
    return d->passed++ % k == 0;
  }
  /* Otherwise from the anchor, the same for every segment of a file:
   * every k-th slot of 1/fps, or every k-th frame. */
  if (d->o.fps > 0) {
    int64_t slot = (int64_t)floor((t - d->anchor) * d->o.fps + 1e-6);
    if (slot <= d->last_slot)
      return 0;
    d->last_slot = slot;
    return slot % k == 0;
  }
  return (index - d->anchor_index) % k == 0;
}


int weir__video_decoder_read(weir__video_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen) {
  *out = NULL;
  *eof = 0;
  max_rows = weir__rows_for_bytes(max_rows, frame_bytes(d), d->o.target_block_bytes);
  weir_builder *bld = NULL;
  int rc = weir_builder_create(&bld);
  if (rc == WEIR_OK)
    rc = add_columns(d, bld);
  if (rc == WEIR_OK)
    rc = weir_builder_reserve(bld, max_rows);
  if (rc != WEIR_OK) {
    weir_builder_destroy(bld);
    snprintf(err, errlen, "%s: cannot build a block: %s", d->path,
             weir_strerror(rc));
    return rc;
  }
  size_t rows = 0;
  if (!d->done && !d->range_started)
    rc = start_range(d, err, errlen);
  size_t plen = strlen(d->path);
  while (rc == WEIR_OK && !d->done && rows < max_rows) {
    int got = weir__media_next_frame(&d->in, d->pkt, d->frame, &d->draining,
                                     &d->corrupt, d->path, err, errlen);
    if (got < 0) {
      rc = got;
      break;
    }
    if (got == 0) {
      /* Cut short after the header, or every packet damaged. */
      if (d->counter == 0) {
        rc = weir__media_nothing_decoded(d->path, "frame", "video", d->corrupt, err, errlen);
        break;
      }
      /* The end of the file: its last frame should end where the header
       * says the stream does. */
      if (!d->truncated && d->last_t > -INFINITY)
        d->truncated = weir__media_short_of_declared(&d->in, d->last_t - d->origin + 1.0 / d->rate,
                                                     d->path, d->trunc_err,
                                                     sizeof d->trunc_err);
      /* End of the file: no range after this one can be reached without a
       * seek backwards, which start_range() does. */
      rc = next_range(d, err, errlen);
      if (!d->done && d->ranges[d->range].t0 <= d->last_t)
        continue;
      d->done = 1;
      break;
    }
    int64_t pts = d->frame->best_effort_timestamp;
    double t = pts != AV_NOPTS_VALUE ? pts * d->tb
               : d->last_t > -INFINITY ? d->last_t + 1.0 / d->rate
                                       : d->origin;
    int64_t index = d->seeked || d->skipping ? index_at(d, t) : d->counter;
    d->counter++;
    d->last_t = t;
    int range_done = 0;
    int keep = keep_frame(d, t, index, &range_done);
    if (keep) {
      void *slot = NULL;
      rc = weir_builder_append_tensor_slot(bld, COL_FRAME, &slot);
      if (rc == WEIR_OK && convert(d, d->frame, slot) != WEIR_OK) {
        snprintf(err, errlen, "%s: cannot convert a %dx%d %s frame", d->path,
                 d->frame->width, d->frame->height,
                 av_get_pix_fmt_name(d->frame->format));
        rc = WEIR_EFORMAT;
      }
      if (rc == WEIR_OK)
        rc = weir_builder_append_string(bld, COL_PATH, d->path, plen);
      if (rc == WEIR_OK)
        rc = weir_builder_append_int64(bld, COL_STREAM, d->in.stream);
      if (rc == WEIR_OK)
        rc = weir_builder_append_int64(bld, COL_INDEX, index);
      if (rc == WEIR_OK)
        rc = weir_builder_append_float64(bld, COL_PTS, t);
      if (rc == WEIR_OK && d->o.clips > 0)
        rc = weir_builder_append_int64(bld, COL_CLIP, d->range);
      if (rc != WEIR_OK)
        break;
      rows++;
      d->emitted++;
      time_range *r = &d->ranges[d->range];
      if (r->budget > 0 && --r->budget == 0)
        range_done = 1;
      if (d->o.max_frames > 0 && d->emitted >= d->o.max_frames)
        d->done = 1;
    }
    av_frame_unref(d->frame);
    if (range_done && !d->done)
      rc = next_range(d, err, errlen);
  }
  if (rc == WEIR_OK && rows > 0) {
    rc = weir_builder_finish(bld, out);
    if (rc != WEIR_OK)
      snprintf(err, errlen, "%s: cannot finish a block: %s", d->path,
               weir_builder_errmsg(bld));
  }
  if (rc != WEIR_OK && err[0] == '\0')
    snprintf(err, errlen, "%s: %s", d->path, weir_strerror(rc));
  weir_builder_destroy(bld);
  *eof = d->done;
  return rc;
}

int weir__video_probe(const char *path, double *start, double *duration,
                      weir__media_cancel_fn cancel, void *cancel_user,
                      char *err, size_t errlen) {
  weir__media_input in;
  int rc = weir__media_open(&in, path, AVMEDIA_TYPE_VIDEO, 1, cancel,
                            cancel_user, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  AVStream *st = in.fmt->streams[in.stream];
  double tb = av_q2d(st->time_base);
  *start = st->start_time != AV_NOPTS_VALUE ? st->start_time * tb : 0;
  *duration = st->duration != AV_NOPTS_VALUE ? st->duration * tb
              : in.fmt->duration > 0 ? (double)in.fmt->duration / AV_TIME_BASE
                                     : 0;
  weir__media_close(&in);
  return WEIR_OK;
}
