/* Decoding one image file (PNG, JPEG, WebP... through FFmpeg's image
 * demuxers and decoders) to RGB24, resized with libswscale on request. */
#include <stdio.h>
#include <stdlib.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "weir/error.h"
#include "media/media_ffmpeg.h"

/* The bytes decoding holds beside the result: the decoded picture, in the
 * decoder's pixel format when the file declares one (4 bytes a pixel
 * when it does not). */
static size_t picture_bytes(const AVCodecContext *dec) {
  if (!dec || dec->width < 1 || dec->height < 1)
    return 0;
  int n = dec->pix_fmt != AV_PIX_FMT_NONE
              ? av_image_get_buffer_size(dec->pix_fmt, dec->width, dec->height, 1)
              : -1;
  return n > 0 ? (size_t)n : (size_t)dec->width * (size_t)dec->height * 4;
}

/* Rows converted at a time when the size is kept: a multiple of every
 * chroma subsampling (at most 4 rows). */
#define BAND_ROWS 64

/* Converts `f` to packed RGB24 at `px` without resizing, in bands of
 * BAND_ROWS rows: libswscale writes into a padded frame (weir__media_scale),
 * and a padded copy of a whole 4K picture was 25 MB more held at once. */
static int convert_banded(const AVFrame *f, uint8_t *px) {
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
  if (!desc)
    return WEIR_EFORMAT;
  AVFrame *band = av_frame_alloc(), *tmp = av_frame_alloc();
  struct SwsContext *sws = NULL;
  int rc = band && tmp ? WEIR_OK : WEIR_ENOMEM;
  for (int y = 0; rc == WEIR_OK && y < f->height; y += BAND_ROWS) {
    int bh = f->height - y < BAND_ROWS ? f->height - y : BAND_ROWS;
    sws = sws_getCachedContext(sws, f->width, bh, f->format, f->width, bh,
                               AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!sws) {
      rc = WEIR_EFORMAT;
      break;
    }
    band->format = f->format;
    band->width = f->width;
    band->height = bh;
    band->color_range = f->color_range;
    band->colorspace = f->colorspace;
    for (int i = 0; i < AV_NUM_DATA_POINTERS; i++) {
      band->data[i] = f->data[i];
      band->linesize[i] = f->linesize[i];
      if (!f->data[i] || ((desc->flags & AV_PIX_FMT_FLAG_PAL) && i == 1))
        continue; /* a palette is not rows */
      int chroma = (i == 1 || i == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
      int row = chroma ? y >> desc->log2_chroma_h : y;
      band->data[i] = f->data[i] + (ptrdiff_t)row * f->linesize[i];
    }
    rc = weir__media_scale(sws, band, tmp, px + (size_t)y * (size_t)f->width * 3,
                           f->width, bh, AV_PIX_FMT_RGB24);
  }
  sws_freeContext(sws);
  av_frame_free(&tmp);
  /* Its pointers are borrowed from `f`; it owns no buffer. */
  av_frame_free(&band);
  return rc;
}

int weir__image_decode_to(const char *path, int width, int height,
                          const weir__image_sink *sink,
                          weir__media_cancel_fn cancel, void *cancel_user,
                          char *err, size_t errlen) {
  weir__media_input in;
  int rc = weir__media_open_still(&in, path, cancel, cancel_user, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  struct SwsContext *sws = NULL;
  int draining = 0;
  uint64_t corrupt = 0;
  if (!pkt || !frame) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = WEIR_ENOMEM;
    goto done;
  }
  if (sink->sizing) {
    /* The size the file declares, before anything big is allocated: the
     * caller may wait for room for it. */
    int dw = width > 0 && height > 0 ? width : in.dec->width;
    int dh = width > 0 && height > 0 ? height : in.dec->height;
    size_t out = dw > 0 && dh > 0 ? (size_t)dw * (size_t)dh * 3 : 0;
    rc = sink->sizing(sink->user, out ? picture_bytes(in.dec) + out : 0, 0);
    if (rc != WEIR_OK)
      goto done;
  }
  int got = weir__media_next_frame(&in, pkt, frame, &draining, &corrupt, path,
                                   err, errlen);
  if (got < 0) {
    rc = got;
    goto done;
  }
  if (got == 0) {
    snprintf(err, errlen, "%s: no image could be decoded", path);
    rc = WEIR_EFORMAT;
    goto done;
  }
  /* The file is read: its packet goes before the result is made. */
  av_packet_unref(pkt);
  int ow = width > 0 && height > 0 ? width : frame->width;
  int oh = width > 0 && height > 0 ? height : frame->height;
  if (ow < 1 || oh < 1 || ow > 32768 || oh > 32768) {
    snprintf(err, errlen, "%s: bad image size %dx%d", path, ow, oh);
    rc = WEIR_EFORMAT;
    goto done;
  }
  if (sink->sizing) {
    int n = av_image_get_buffer_size(frame->format, frame->width, frame->height, 1);
    size_t pic = n > 0 ? (size_t)n : (size_t)frame->width * (size_t)frame->height * 4;
    rc = sink->sizing(sink->user, pic + (size_t)ow * (size_t)oh * 3, 1);
    if (rc != WEIR_OK)
      goto done;
  }
  int same = ow == frame->width && oh == frame->height;
  if (!same)
    sws = sws_getContext(frame->width, frame->height, frame->format, ow, oh,
                         AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
  if (!same && !sws) {
    snprintf(err, errlen, "%s: cannot convert a %dx%d %s image", path,
             frame->width, frame->height,
             av_get_pix_fmt_name(frame->format) ?
             av_get_pix_fmt_name(frame->format) : "?");
    rc = WEIR_EFORMAT;
    goto done;
  }
  uint8_t *px = sink->place(sink->user, ow, oh);
  if (!px) {
    snprintf(err, errlen, "%s: out of memory for a %dx%d image", path, ow, oh);
    rc = WEIR_ENOMEM;
    goto done;
  }
  if (same) {
    rc = convert_banded(frame, px);
  } else {
    AVFrame *tmp = av_frame_alloc();
    rc = tmp ? weir__media_scale(sws, frame, tmp, px, ow, oh, AV_PIX_FMT_RGB24)
             : WEIR_ENOMEM;
    av_frame_free(&tmp);
  }
  if (rc != WEIR_OK)
    snprintf(err, errlen, "%s: cannot convert the image", path);
done:
  sws_freeContext(sws);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  weir__media_close(&in);
  return rc;
}

/* The result of weir__image_decode: one malloc'd picture. */
typedef struct malloc_sink {
  uint8_t *px;
  int w, h;
} malloc_sink;

static uint8_t *malloc_place(void *user, int w, int h) {
  malloc_sink *m = user;
  m->px = malloc((size_t)w * (size_t)h * 3);
  m->w = w;
  m->h = h;
  return m->px;
}

int weir__image_decode(const char *path, int width, int height,
                       uint8_t **pixels, int *w, int *h,
                       weir__media_cancel_fn cancel, void *cancel_user,
                       char *err, size_t errlen) {
  malloc_sink m = {NULL, 0, 0};
  weir__image_sink sink = {NULL, malloc_place, &m};
  int rc = weir__image_decode_to(path, width, height, &sink, cancel,
                                 cancel_user, err, errlen);
  if (rc != WEIR_OK) {
    free(m.px);
    m.px = NULL;
  }
  *pixels = m.px;
  if (m.px) {
    *w = m.w;
    *h = m.h;
  }
  return rc;
}
