/* A per-file audio decoder: decode, resample with libswresample to float32
 * at a chosen rate and channel count, and cut into fixed windows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "weir/error.h"
#include "media/media_ffmpeg.h"

struct weir__audio_decoder {
  weir__media_input in;
  weir_audio_options o;
  char *path;
  AVPacket *pkt;
  AVFrame *frame;
  SwrContext *swr;
  int swr_rate, swr_format;         /* input the resampler was made for */
  AVChannelLayout swr_layout;
  int rate, channels;
  int64_t win;                      /* samples per window */
  float *window;                    /* [channels][win], `fill` filled */
  int64_t fill;
  int64_t windows;                  /* windows handed out */
  float *conv;                      /* resampler output, [channels][cap] */
  int conv_cap;
  int conv_n, conv_used;            /* samples in conv, and those taken; the
                                       rest waits for the next block */
  int draining, flushed, done;
  uint64_t corrupt;
  uint64_t frames;                  /* frames the decoder gave */
  double decoded_seconds;           /* of input, summed over frames */
  int truncated;                    /* ended short of its header's length */
  char trunc_err[512];
};

int weir__audio_decoder_open(weir__audio_decoder **out, const char *path,
                             const weir_audio_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen) {
  *out = NULL;
  if (o->channels > 64 || o->sample_rate > 1000000 ||
      o->window_seconds * o->sample_rate > 1e8 ||
      llround(o->window_seconds * o->sample_rate) < 1) {
    snprintf(err, errlen, "%s: bad audio options (%d channels, %d Hz, "
             "%.3f s windows)", path, o->channels, o->sample_rate,
             o->window_seconds);
    return WEIR_EINVAL;
  }
  weir__audio_decoder *d = calloc(1, sizeof *d);
  if (!d || !(d->path = strdup(path))) {
    free(d);
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  d->o = *o;
  d->rate = o->sample_rate;
  d->channels = o->channels;
  d->win = llround(o->window_seconds * o->sample_rate);
  int rc = weir__media_open(&d->in, path, AVMEDIA_TYPE_AUDIO, 1, cancel,
                            cancel_user, err, errlen);
  if (rc != WEIR_OK) {
    free(d->path);
    free(d);
    return rc;
  }
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
  d->window = calloc((size_t)d->channels * (size_t)d->win, sizeof(float));
  if (!d->pkt || !d->frame || !d->window) {
    snprintf(err, errlen, "%s: out of memory", path);
    weir__audio_decoder_close(d);
    return WEIR_ENOMEM;
  }
  *out = d;
  return WEIR_OK;
}

int weir__audio_decoder_truncated(const weir__audio_decoder *d, char *err, size_t errlen) {
  if (!d || !d->truncated)
    return 0;
  snprintf(err, errlen, "%s", d->trunc_err);
  return 1;
}

void weir__audio_decoder_close(weir__audio_decoder *d) {
  if (!d)
    return;
  swr_free(&d->swr);
  av_channel_layout_uninit(&d->swr_layout);
  av_frame_free(&d->frame);
  av_packet_free(&d->pkt);
  weir__media_close(&d->in);
  free(d->window);
  free(d->conv);
  free(d->path);
  free(d);
}

/* (Re)makes the resampler for the input format of `f`. */
static int setup_swr(weir__audio_decoder *d, const AVFrame *f, char *err,
                     size_t errlen) {
  AVChannelLayout in_layout = {0};
  if (f->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC &&
      f->ch_layout.nb_channels > 0)
    av_channel_layout_copy(&in_layout, &f->ch_layout);
  else
    av_channel_layout_default(&in_layout, f->ch_layout.nb_channels > 0
                                              ? f->ch_layout.nb_channels
                                              : d->in.dec->ch_layout.nb_channels);
  if (d->swr && d->swr_rate == f->sample_rate && d->swr_format == f->format &&
      av_channel_layout_compare(&d->swr_layout, &in_layout) == 0) {
    av_channel_layout_uninit(&in_layout);
    return WEIR_OK;
  }
  swr_free(&d->swr);
  AVChannelLayout out_layout = {0};
  av_channel_layout_default(&out_layout, d->channels);
  int ret = swr_alloc_set_opts2(&d->swr, &out_layout, AV_SAMPLE_FMT_FLTP,
                                d->rate, &in_layout, f->format, f->sample_rate,
                                0, NULL);
  if (ret >= 0)
    ret = swr_init(d->swr);
  av_channel_layout_uninit(&out_layout);
  av_channel_layout_uninit(&d->swr_layout);
  d->swr_layout = in_layout;
  d->swr_rate = f->sample_rate;
  d->swr_format = f->format;
  if (ret < 0) {
    swr_free(&d->swr);
    snprintf(err, errlen, "%s: cannot resample %d Hz %s audio: %s", d->path,
             f->sample_rate, av_get_sample_fmt_name(f->format) ?
             av_get_sample_fmt_name(f->format) : "?", av_err2str(ret));
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

enum { COL_AUDIO, COL_PATH, COL_START, COL_VALID };

static int add_columns(weir__audio_decoder *d, weir_builder *bld) {
  int64_t shape[2] = {d->channels, d->win};
  int rc = weir_builder_add_tensor_column(bld, "audio", WEIR_DTYPE_FLOAT32, 2,
                                          shape);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "path", WEIR_TYPE_STRING);
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "start", WEIR_TYPE_FLOAT64);
  /* The samples of a window that came from the file: all of them but in
   * a zero-padded last window, so a writer can leave the padding out. */
  if (rc == WEIR_OK) rc = weir_builder_add_column(bld, "valid_samples", WEIR_TYPE_INT64);
  return rc;
}

static int append_window(weir__audio_decoder *d, weir_builder *bld) {
  int rc = weir_builder_append_tensor(bld, COL_AUDIO, d->window);
  if (rc == WEIR_OK)
    rc = weir_builder_append_string(bld, COL_PATH, d->path, strlen(d->path));
  if (rc == WEIR_OK)
    rc = weir_builder_append_float64(bld, COL_START,
                                     (double)d->windows * d->win / d->rate);
  if (rc == WEIR_OK)
    rc = weir_builder_append_int64(bld, COL_VALID, d->fill);
  d->windows++;
  d->fill = 0;
  return rc;
}

/* Moves `n` resampled samples into windows, appending every full one.
 * `*rows` counts the rows appended; the caller stops at max_rows, so the
 * rest of `conv` waits at `*used`. */
static int take_samples(weir__audio_decoder *d, int n, int *used,
                        weir_builder *bld, size_t *rows, size_t max_rows) {
  while (*used < n && *rows < max_rows) {
    int64_t k = d->win - d->fill;
    if (k > n - *used)
      k = n - *used;
    for (int c = 0; c < d->channels; c++)
      memcpy(d->window + (size_t)c * d->win + d->fill,
             d->conv + (size_t)c * d->conv_cap + *used, (size_t)k * sizeof(float));
    d->fill += k;
    *used += (int)k;
    if (d->fill == d->win) {
      int rc = append_window(d, bld);
      if (rc != WEIR_OK)
        return rc;
      (*rows)++;
    }
  }
  return WEIR_OK;
}

static int grow_conv(weir__audio_decoder *d, int need) {
  if (need <= d->conv_cap)
    return WEIR_OK;
  float *c = malloc((size_t)need * d->channels * sizeof(float));
  if (!c)
    return WEIR_ENOMEM;
  free(d->conv);
  d->conv = c;
  d->conv_cap = need;
  return WEIR_OK;
}

/* Resamples `f` (NULL: drains the resampler) into conv; `*n` samples. */
static int convert(weir__audio_decoder *d, const AVFrame *f, int *n,
                   char *err, size_t errlen) {
  int in_n = f ? f->nb_samples : 0;
  int need = swr_get_out_samples(d->swr, in_n);
  if (need < 0)
    need = 0;
  if (grow_conv(d, need + 32) != WEIR_OK) {
    snprintf(err, errlen, "%s: out of memory", d->path);
    return WEIR_ENOMEM;
  }
  uint8_t *planes[64];
  for (int c = 0; c < d->channels; c++)
    planes[c] = (uint8_t *)(d->conv + (size_t)c * d->conv_cap);
  int got = swr_convert(d->swr, planes, d->conv_cap,
                        f ? (const uint8_t **)f->extended_data : NULL, in_n);
  if (got < 0) {
    snprintf(err, errlen, "%s: resampling failed: %s", d->path,
             av_err2str(got));
    return WEIR_EFORMAT;
  }
  *n = got;
  return WEIR_OK;
}

int weir__audio_decoder_read(weir__audio_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen) {
  *out = NULL;
  *eof = 0;
  max_rows = weir__rows_for_bytes(max_rows,
                                  (size_t)d->channels * (size_t)d->win * sizeof(float),
                                  d->o.target_block_bytes);
  weir_builder *bld = NULL;
  int rc = weir_builder_create(&bld);
  if (rc == WEIR_OK)
    rc = add_columns(d, bld);
  if (rc == WEIR_OK)
    rc = weir_builder_reserve(bld, max_rows);
  size_t rows = 0;
  while (rc == WEIR_OK && !d->done && rows < max_rows) {
    if (d->conv_used < d->conv_n) {
      rc = take_samples(d, d->conv_n, &d->conv_used, bld, &rows, max_rows);
      continue;
    }
    if (d->flushed) {
      /* The end: a partial window is padded with zeros or dropped. Audio
       * shorter than the resampler's delay gives it no sample at all; it
       * is still a (very) partial window, not nothing. */
      if ((d->fill > 0 || d->windows == 0) && !d->o.drop_partial) {
        for (int c = 0; c < d->channels; c++)
          memset(d->window + (size_t)c * d->win + d->fill, 0,
                 (size_t)(d->win - d->fill) * sizeof(float));
        rc = append_window(d, bld);
        if (rc == WEIR_OK)
          rows++;
      }
      d->done = 1;
      break;
    }
    int got = weir__media_next_frame(&d->in, d->pkt, d->frame, &d->draining,
                                     &d->corrupt, d->path, err, errlen);
    if (got < 0) {
      rc = got;
      break;
    }
    d->conv_used = d->conv_n = 0;
    if (got == 0 && d->frames == 0) {
      /* Cut short after the header, or every packet damaged. */
      rc = weir__media_nothing_decoded(d->path, "audio", "audio", d->corrupt, err, errlen);
      break;
    }
    if (got == 0) {
      /* Drain what the resampler holds back for its filter. */
      if (d->swr) {
        rc = convert(d, NULL, &d->conv_n, err, errlen);
        if (rc == WEIR_OK && d->conv_n > 0)
          continue;
      }
      d->flushed = 1;
      /* Everything is decoded: the windows so far still go out, and the
       * reader then fails the file (or skips it) as truncated. */
      d->truncated = weir__media_short_of_declared(&d->in, d->decoded_seconds, d->path,
                                                   d->trunc_err, sizeof d->trunc_err);
      continue;
    }
    d->frames++;
    if (d->frame->sample_rate > 0)
      d->decoded_seconds += (double)d->frame->nb_samples / d->frame->sample_rate;
    rc = setup_swr(d, d->frame, err, errlen);
    if (rc == WEIR_OK)
      rc = convert(d, d->frame, &d->conv_n, err, errlen);
    av_frame_unref(d->frame);
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
