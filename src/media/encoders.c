/* The encoders behind the media writers: RGB frames to a video file,
 * float32 samples to WAV or FLAC, and single images to PNG; each writes a
 * temporary file and renames it into place only when complete. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "weir/error.h"
#include "media/encoders.h"
#include "io/vfs.h"
#include "media/media_ffmpeg.h"

/* A file being written: the muxer writes `tmp`, renamed to `path` at the
 * end. */
typedef struct out_file {
  AVFormatContext *oc;
  AVCodecContext *enc;
  AVStream *st;
  AVPacket *pkt;
  AVFrame *frame;
  char *path, *tmp;
  int header_written;
} out_file;

static int out_open(out_file *f, const char *path, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  weir__media_quiet_logs();
  size_t n = strlen(path) + 32;
  f->path = strdup(path);
  f->tmp = malloc(n);
  if (!f->path || !f->tmp) {
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  /* The suffix of the real name picks the container; the temporary name
   * keeps the folder so the rename stays within one file system. A remote
   * target (http, s3) is written to a local temporary file first, since
   * muxers seek back (the mp4 index), and uploaded when complete. */
  const char *slash = strrchr(path, '/');
  size_t dir = slash ? (size_t)(slash - path + 1) : 0;
  if (weir__vfs_is_remote(path)) {
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    free(f->tmp);
    n = strlen(tmpdir) + strlen(path + dir) + 48;
    if (!(f->tmp = malloc(n))) {
      snprintf(err, errlen, "%s: out of memory", path);
      return WEIR_ENOMEM;
    }
    static atomic_uint seq;
    snprintf(f->tmp, n, "%s/weir-upload-%d-%u-%s", tmpdir, (int)getpid(),
             atomic_fetch_add(&seq, 1), path + dir);
  } else {
    snprintf(f->tmp, n, "%.*s.tmp-%d-%s", (int)dir, path, (int)getpid(),
             path + dir);
  }
  int ret = avformat_alloc_output_context2(&f->oc, NULL, NULL, path);
  if (ret < 0 || !f->oc) {
    snprintf(err, errlen, "%s: no container format for this file name",
             path);
    return WEIR_EINVAL;
  }
  f->pkt = av_packet_alloc();
  f->frame = av_frame_alloc();
  if (!f->pkt || !f->frame) {
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

/* Opens the encoder and writes the header, once the stream is set. */
static int out_start(out_file *f, const AVCodec *codec, AVDictionary **opts,
                     char *err, size_t errlen) {
  if (f->oc->oformat->flags & AVFMT_GLOBALHEADER)
    f->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ret = avcodec_open2(f->enc, codec, opts);
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot open encoder %s: %s", f->path,
             codec->name, av_err2str(ret));
    return WEIR_EINVAL;
  }
  ret = avcodec_parameters_from_context(f->st->codecpar, f->enc);
  f->st->time_base = f->enc->time_base;
  if (ret >= 0)
    ret = avio_open(&f->oc->pb, f->tmp, AVIO_FLAG_WRITE);
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot create: %s", f->tmp, av_err2str(ret));
    return WEIR_EIO;
  }
  ret = avformat_write_header(f->oc, NULL);
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot write the header: %s", f->path,
             av_err2str(ret));
    return WEIR_EIO;
  }
  f->header_written = 1;
  return WEIR_OK;
}

/* Sends one frame (NULL: flush) and writes the packets that come out. */
static int out_send(out_file *f, AVFrame *frame, char *err, size_t errlen) {
  int ret = avcodec_send_frame(f->enc, frame);
  if (ret < 0) {
    snprintf(err, errlen, "%s: encoding failed: %s", f->path, av_err2str(ret));
    return WEIR_EFORMAT;
  }
  for (;;) {
    ret = avcodec_receive_packet(f->enc, f->pkt);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
      return WEIR_OK;
    if (ret < 0) {
      snprintf(err, errlen, "%s: encoding failed: %s", f->path,
               av_err2str(ret));
      return WEIR_EFORMAT;
    }
    /* Encoders with delay leave the duration of packets 0; the mp4 muxer
     * would then cut the last frame off with its edit list. */
    if (f->pkt->duration <= 0 && f->enc->codec_type == AVMEDIA_TYPE_VIDEO &&
        f->enc->framerate.num > 0)
      f->pkt->duration = av_rescale_q(1, av_inv_q(f->enc->framerate),
                                      f->enc->time_base);
    av_packet_rescale_ts(f->pkt, f->enc->time_base, f->st->time_base);
    f->pkt->stream_index = f->st->index;
    ret = av_interleaved_write_frame(f->oc, f->pkt);
    if (ret < 0) {
      snprintf(err, errlen, "%s: write failed: %s", f->tmp, av_err2str(ret));
      return WEIR_EIO;
    }
  }
}

/* Copies the finished local file `tmp` to the remote `uri`; the upload
 * becomes visible only when complete (weir__wstream_commit). */
static int upload(const char *tmp, const char *uri, char *err, size_t errlen) {
  FILE *in = fopen(tmp, "rb");
  if (!in) {
    snprintf(err, errlen, "%s: cannot reopen: %s", tmp, strerror(errno));
    return WEIR_EIO;
  }
  enum { CHUNK = 1 << 20 };
  char *buf = malloc(CHUNK);
  weir__wstream *w = NULL;
  int rc = buf ? weir__wstream_open(uri, NULL, &w, err, errlen) : WEIR_ENOMEM;
  if (!buf)
    snprintf(err, errlen, "%s: out of memory", uri);
  size_t n;
  while (rc == WEIR_OK && (n = fread(buf, 1, CHUNK, in)) > 0) {
    rc = weir__wstream_write(w, buf, n);
    if (rc != WEIR_OK)
      snprintf(err, errlen, "%s: upload failed: %s", uri,
               weir__wstream_errmsg(w));
  }
  if (rc == WEIR_OK && ferror(in)) {
    snprintf(err, errlen, "%s: cannot read: %s", tmp, strerror(errno));
    rc = WEIR_EIO;
  }
  fclose(in);
  free(buf);
  if (rc == WEIR_OK)
    return weir__wstream_commit(w, err, errlen);
  weir__wstream_abort(w);
  return rc;
}

static int out_finish(out_file *f, char *err, size_t errlen) {
  int rc = out_send(f, NULL, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  int ret = av_write_trailer(f->oc);
  if (ret >= 0)
    ret = avio_closep(&f->oc->pb);
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot finish the file: %s", f->tmp,
             av_err2str(ret));
    return WEIR_EIO;
  }
  if (weir__vfs_is_remote(f->path))
    return upload(f->tmp, f->path, err, errlen);
  if (rename(f->tmp, f->path) != 0) {
    snprintf(err, errlen, "%s: cannot rename into place: %s", f->path,
             strerror(errno));
    return WEIR_EIO;
  }
  free(f->tmp);
  f->tmp = NULL; /* nothing left to remove */
  return WEIR_OK;
}

static void out_close(out_file *f) {
  if (f->oc) {
    if (f->oc->pb)
      avio_closep(&f->oc->pb);
    avformat_free_context(f->oc);
  }
  if (f->tmp)
    unlink(f->tmp);
  avcodec_free_context(&f->enc);
  av_packet_free(&f->pkt);
  av_frame_free(&f->frame);
  free(f->path);
  free(f->tmp);
  memset(f, 0, sizeof *f);
}

/* ---- video ---------------------------------------------------------------- */

struct weir__video_encoder {
  out_file f;
  struct SwsContext *sws;
  AVFrame *rgb;               /* padded copy of the input frame */
  int w, h;
  int64_t next_pts;
};

int weir__video_encoder_open(weir__video_encoder **out, const char *path,
                             int width, int height, double fps,
                             const char *codec_name, int64_t bit_rate,
                             char *err, size_t errlen) {
  *out = NULL;
  if (width < 1 || height < 1 || fps <= 0 || fps > 1000) {
    snprintf(err, errlen, "%s: bad video size %dx%d or rate %g", path, width,
             height, fps);
    return WEIR_EINVAL;
  }
  const AVCodec *codec = codec_name ? avcodec_find_encoder_by_name(codec_name)
                                    : avcodec_find_encoder_by_name("libx264");
  if (!codec && !codec_name)
    codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (!codec || codec->type != AVMEDIA_TYPE_VIDEO) {
    snprintf(err, errlen, "%s: no video encoder '%s' in this FFmpeg", path,
             codec_name ? codec_name : "libx264 or mpeg4");
    return WEIR_ENOTSUP;
  }
  weir__video_encoder *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  int rc = out_open(&e->f, path, err, errlen);
  if (rc != WEIR_OK)
    goto fail;
  enum AVPixelFormat pix = AV_PIX_FMT_YUV420P;
  if (codec->pix_fmts) {
    pix = codec->pix_fmts[0];
    for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
      if (*p == AV_PIX_FMT_YUV420P)
        pix = *p;
  }
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(pix);
  if (desc && ((width & ((1 << desc->log2_chroma_w) - 1)) ||
               (height & ((1 << desc->log2_chroma_h) - 1)))) {
    snprintf(err, errlen, "%s: %s in %s needs even frame sizes, not %dx%d",
             path, codec->name, av_get_pix_fmt_name(pix), width, height);
    rc = WEIR_EINVAL;
    goto fail;
  }
  e->f.st = avformat_new_stream(e->f.oc, NULL);
  e->f.enc = avcodec_alloc_context3(codec);
  if (!e->f.st || !e->f.enc) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = WEIR_ENOMEM;
    goto fail;
  }
  AVRational rate = av_d2q(fps, 100000);
  e->f.enc->width = width;
  e->f.enc->height = height;
  e->f.enc->pix_fmt = pix;
  e->f.enc->time_base = av_inv_q(rate);
  e->f.enc->framerate = rate;
  e->f.enc->gop_size = 12;
  e->f.enc->thread_count = 1;
  if (bit_rate > 0)
    e->f.enc->bit_rate = bit_rate;
  else if (codec->id == AV_CODEC_ID_MPEG4)
    e->f.enc->global_quality = FF_QP2LAMBDA * 3, e->f.enc->flags |= AV_CODEC_FLAG_QSCALE;
  rc = out_start(&e->f, codec, NULL, err, errlen);
  if (rc != WEIR_OK)
    goto fail;
  e->sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, pix,
                          SWS_BILINEAR, NULL, NULL, NULL);
  e->f.frame->format = pix;
  e->f.frame->width = width;
  e->f.frame->height = height;
  e->rgb = av_frame_alloc();
  if (e->rgb) {
    e->rgb->format = AV_PIX_FMT_RGB24;
    e->rgb->width = width;
    e->rgb->height = height;
  }
  if (!e->sws || !e->rgb || av_frame_get_buffer(e->f.frame, 0) < 0 ||
      av_frame_get_buffer(e->rgb, 0) < 0) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = WEIR_ENOMEM;
    goto fail;
  }
  e->w = width;
  e->h = height;
  *out = e;
  return WEIR_OK;
fail:
  weir__video_encoder_close(e);
  return rc;
}

int weir__video_encoder_write(weir__video_encoder *e, const uint8_t *rgb,
                              char *err, size_t errlen) {
  int ret = av_frame_make_writable(e->f.frame);
  if (ret < 0) {
    snprintf(err, errlen, "%s: out of memory", e->f.path);
    return WEIR_ENOMEM;
  }
  /* libswscale's vector code may read past the end of its input lines, so
   * the rows go through a padded frame first. */
  for (int y = 0; y < e->h; y++)
    memcpy(e->rgb->data[0] + (size_t)y * e->rgb->linesize[0],
           rgb + (size_t)y * e->w * 3, (size_t)e->w * 3);
  sws_scale(e->sws, (const uint8_t *const *)e->rgb->data, e->rgb->linesize, 0,
            e->h, e->f.frame->data, e->f.frame->linesize);
  e->f.frame->pts = e->next_pts++;
  return out_send(&e->f, e->f.frame, err, errlen);
}

int weir__video_encoder_finish(weir__video_encoder *e, char *err,
                               size_t errlen) {
  return out_finish(&e->f, err, errlen);
}

void weir__video_encoder_close(weir__video_encoder *e) {
  if (!e)
    return;
  out_close(&e->f);
  sws_freeContext(e->sws);
  av_frame_free(&e->rgb);
  free(e);
}

/* ---- audio ---------------------------------------------------------------- */

struct weir__audio_encoder {
  out_file f;
  int channels, frame_size;
  int16_t *pending;           /* interleaved samples not yet in a frame */
  int npending;
  int64_t next_pts;
};

int weir__audio_encoder_open(weir__audio_encoder **out, const char *path,
                             int sample_rate, int channels, char *err,
                             size_t errlen) {
  *out = NULL;
  const char *dot = strrchr(path, '.');
  enum AVCodecID id = dot && !strcasecmp(dot, ".flac") ? AV_CODEC_ID_FLAC
                      : dot && !strcasecmp(dot, ".wav") ? AV_CODEC_ID_PCM_S16LE
                                                        : AV_CODEC_ID_NONE;
  if (id == AV_CODEC_ID_NONE) {
    snprintf(err, errlen, "%s: audio is written to .wav or .flac files", path);
    return WEIR_EINVAL;
  }
  if (sample_rate < 1 || sample_rate > 768000 || channels < 1 || channels > 8) {
    snprintf(err, errlen, "%s: bad audio format: %d Hz, %d channels", path,
             sample_rate, channels);
    return WEIR_EINVAL;
  }
  const AVCodec *codec = avcodec_find_encoder(id);
  if (!codec) {
    snprintf(err, errlen, "%s: no %s encoder in this FFmpeg", path,
             avcodec_get_name(id));
    return WEIR_ENOTSUP;
  }
  weir__audio_encoder *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, errlen, "%s: out of memory", path);
    return WEIR_ENOMEM;
  }
  int rc = out_open(&e->f, path, err, errlen);
  if (rc != WEIR_OK)
    goto fail;
  e->f.st = avformat_new_stream(e->f.oc, NULL);
  e->f.enc = avcodec_alloc_context3(codec);
  if (!e->f.st || !e->f.enc) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = WEIR_ENOMEM;
    goto fail;
  }
  e->f.enc->sample_fmt = AV_SAMPLE_FMT_S16;
  e->f.enc->sample_rate = sample_rate;
  e->f.enc->time_base = (AVRational){1, sample_rate};
  av_channel_layout_default(&e->f.enc->ch_layout, channels);
  rc = out_start(&e->f, codec, NULL, err, errlen);
  if (rc != WEIR_OK)
    goto fail;
  e->channels = channels;
  e->frame_size = e->f.enc->frame_size > 0 ? e->f.enc->frame_size : 4096;
  e->pending = malloc((size_t)e->frame_size * channels * sizeof(int16_t));
  if (!e->pending) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = WEIR_ENOMEM;
    goto fail;
  }
  *out = e;
  return WEIR_OK;
fail:
  weir__audio_encoder_close(e);
  return rc;
}

static int audio_flush_frame(weir__audio_encoder *e, char *err, size_t errlen) {
  AVFrame *fr = e->f.frame;
  av_frame_unref(fr);
  fr->format = AV_SAMPLE_FMT_S16;
  fr->nb_samples = e->npending;
  fr->sample_rate = e->f.enc->sample_rate;
  if (av_channel_layout_copy(&fr->ch_layout, &e->f.enc->ch_layout) < 0 ||
      av_frame_get_buffer(fr, 0) < 0) {
    snprintf(err, errlen, "%s: out of memory", e->f.path);
    return WEIR_ENOMEM;
  }
  memcpy(fr->data[0], e->pending,
         (size_t)e->npending * e->channels * sizeof(int16_t));
  fr->pts = e->next_pts;
  e->next_pts += e->npending;
  e->npending = 0;
  return out_send(&e->f, fr, err, errlen);
}

int weir__audio_encoder_write(weir__audio_encoder *e, const float *planar,
                              int64_t samples, int64_t stride, char *err, size_t errlen) {
  for (int64_t s = 0; s < samples; s++) {
    for (int c = 0; c < e->channels; c++) {
      float v = planar[(size_t)c * (size_t)stride + (size_t)s] * 32767.0f;
      v = v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v;
      e->pending[(size_t)e->npending * e->channels + c] =
          (int16_t)(v < 0 ? v - 0.5f : v + 0.5f);
    }
    if (++e->npending == e->frame_size) {
      int rc = audio_flush_frame(e, err, errlen);
      if (rc != WEIR_OK)
        return rc;
    }
  }
  return WEIR_OK;
}

int weir__audio_encoder_finish(weir__audio_encoder *e, char *err,
                               size_t errlen) {
  if (e->npending > 0) {
    int rc = audio_flush_frame(e, err, errlen);
    if (rc != WEIR_OK)
      return rc;
  }
  return out_finish(&e->f, err, errlen);
}

void weir__audio_encoder_close(weir__audio_encoder *e) {
  if (!e)
    return;
  out_close(&e->f);
  free(e->pending);
  free(e);
}

/* ---- PNG -------------------------------------------------------------------- */

int weir__png_write(const char *path, const uint8_t *pixels, int width,
                    int height, int channels, char *err, size_t errlen) {
  enum AVPixelFormat pix = channels == 1 ? AV_PIX_FMT_GRAY8
                           : channels == 3 ? AV_PIX_FMT_RGB24
                           : channels == 4 ? AV_PIX_FMT_RGBA
                                           : AV_PIX_FMT_NONE;
  if (pix == AV_PIX_FMT_NONE || width < 1 || height < 1) {
    snprintf(err, errlen, "%s: cannot write a %dx%d image of %d channels as "
             "PNG", path, width, height, channels);
    return WEIR_EINVAL;
  }
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (!codec) {
    snprintf(err, errlen, "%s: no PNG encoder in this FFmpeg", path);
    return WEIR_ENOTSUP;
  }
  weir__media_quiet_logs();
  AVCodecContext *enc = avcodec_alloc_context3(codec);
  AVFrame *fr = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  int rc = WEIR_ENOMEM;
  if (!enc || !fr || !pkt)
    goto done;
  enc->width = width;
  enc->height = height;
  enc->pix_fmt = pix;
  enc->time_base = (AVRational){1, 1};
  if (avcodec_open2(enc, codec, NULL) < 0) {
    snprintf(err, errlen, "%s: cannot open the PNG encoder", path);
    rc = WEIR_EINVAL;
    goto done;
  }
  fr->format = pix;
  fr->width = width;
  fr->height = height;
  if (av_frame_get_buffer(fr, 0) < 0)
    goto done;
  for (int y = 0; y < height; y++)
    memcpy(fr->data[0] + (size_t)y * fr->linesize[0],
           pixels + (size_t)y * width * channels, (size_t)width * channels);
  int ret = avcodec_send_frame(enc, fr);
  if (ret >= 0)
    ret = avcodec_receive_packet(enc, pkt);
  if (ret < 0) {
    snprintf(err, errlen, "%s: PNG encoding failed: %s", path,
             av_err2str(ret));
    rc = WEIR_EFORMAT;
    goto done;
  }
  /* weir's writer streams publish atomically, locally and remotely. */
  weir__wstream *w = NULL;
  rc = weir__wstream_open(path, NULL, &w, err, errlen);
  if (rc != WEIR_OK)
    goto done;
  rc = weir__wstream_write(w, pkt->data, (size_t)pkt->size);
  if (rc != WEIR_OK) {
    snprintf(err, errlen, "%s: cannot write: %s", path,
             weir__wstream_errmsg(w));
    weir__wstream_abort(w);
    goto done;
  }
  rc = weir__wstream_commit(w, err, errlen);
  if (rc != WEIR_OK)
    goto done;
  rc = WEIR_OK;
done:
  if (rc == WEIR_ENOMEM && !err[0])
    snprintf(err, errlen, "%s: out of memory", path);
  av_packet_free(&pkt);
  av_frame_free(&fr);
  avcodec_free_context(&enc);
  return rc;
}
