/* Decoding one image file (PNG, JPEG, WebP... through FFmpeg's image
 * demuxers and decoders) to RGB24, resized with libswscale on request. */
#include <stdio.h>
#include <stdlib.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "weir/error.h"
#include "media/media_ffmpeg.h"

int weir__image_decode(const char *path, int width, int height,
                       uint8_t **pixels, int *w, int *h,
                       weir__media_cancel_fn cancel, void *cancel_user,
                       char *err, size_t errlen) {
  *pixels = NULL;
  weir__media_input in;
  int rc = weir__media_open(&in, path, AVMEDIA_TYPE_VIDEO, 1, cancel,
                            cancel_user, err, errlen);
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
  int ow = width > 0 && height > 0 ? width : frame->width;
  int oh = width > 0 && height > 0 ? height : frame->height;
  if (ow < 1 || oh < 1 || ow > 32768 || oh > 32768) {
    snprintf(err, errlen, "%s: bad image size %dx%d", path, ow, oh);
    rc = WEIR_EFORMAT;
    goto done;
  }
  sws = sws_getContext(frame->width, frame->height, frame->format, ow, oh,
                       AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
  uint8_t *px = malloc((size_t)ow * oh * 3);
  if (!sws || !px) {
    free(px);
    snprintf(err, errlen, "%s: cannot convert a %dx%d %s image", path,
             frame->width, frame->height,
             av_get_pix_fmt_name(frame->format) ?
             av_get_pix_fmt_name(frame->format) : "?");
    rc = sws ? WEIR_ENOMEM : WEIR_EFORMAT;
    goto done;
  }
  AVFrame *tmp = av_frame_alloc();
  rc = tmp ? weir__media_scale(sws, frame, tmp, px, ow, oh, AV_PIX_FMT_RGB24)
           : WEIR_ENOMEM;
  av_frame_free(&tmp);
  if (rc != WEIR_OK) {
    free(px);
    snprintf(err, errlen, "%s: cannot convert the image", path);
    goto done;
  }
  *pixels = px;
  *w = ow;
  *h = oh;
done:
  sws_freeContext(sws);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  weir__media_close(&in);
  return rc;
}
