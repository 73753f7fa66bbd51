/* Opening media files through a custom AVIOContext over weir's byte
 * readers, and the packet-to-frame loop shared by the decoders. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

#include "weir/error.h"
#include "io/vfs.h"
#include "media/media_ffmpeg.h"

/* The byte reader behind the AVIOContext: weir's sequential streams (local
 * files, http(s), s3). FFmpeg reads mostly in order and seeks now and then
 * (the mp4 index at the end of a file, a key frame); a seek only moves
 * `pos`, and the next read reopens the stream there when it is elsewhere. */
typedef struct byte_reader {
  char *uri;
  weir__rstream *s;
  int64_t spos;          /* where `s` will read next */
  int64_t pos;           /* where FFmpeg wants to read next */
  int64_t size;
  char err[WEIR__STREAM_ERRLEN];
} byte_reader;

static int reader_open(byte_reader **out, const char *uri, char *err,
                       size_t errlen) {
  weir__object *objs = NULL;
  size_t n = 0;
  int rc = weir__vfs_list(uri, NULL, &objs, &n, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  /* A file:// uri lists as its plain path. */
  const char *plain = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
  if (n != 1 || (strcmp(objs[0].uri, uri) != 0 &&
                 strcmp(objs[0].uri, plain) != 0)) {
    /* A folder or a prefix: not one file. */
    weir__vfs_list_free(objs, n);
    snprintf(err, errlen, "%s: not a file", uri);
    return n == 0 ? WEIR_ENOTFOUND : WEIR_EIO;
  }
  byte_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->uri = strdup(uri))) {
    free(r);
    weir__vfs_list_free(objs, n);
    snprintf(err, errlen, "%s: out of memory", uri);
    return WEIR_ENOMEM;
  }
  r->size = (int64_t)objs[0].size;
  weir__vfs_list_free(objs, n);
  *out = r;
  return WEIR_OK;
}

static void reader_close(byte_reader *r) {
  if (!r)
    return;
  weir__rstream_close(r->s);
  free(r->uri);
  free(r);
}

static int reader_avio_read(void *opaque, uint8_t *buf, int size) {
  byte_reader *r = opaque;
  if (r->pos >= r->size)
    return AVERROR_EOF;
  if (r->s && r->spos != r->pos) {
    weir__rstream_close(r->s);
    r->s = NULL;
  }
  if (!r->s) {
    int rc = weir__rstream_open(r->uri, NULL, (uint64_t)r->pos, UINT64_MAX,
                                &r->s, r->err, sizeof r->err);
    if (rc != WEIR_OK)
      return AVERROR(EIO);
    r->spos = r->pos;
  }
  long n = weir__rstream_read(r->s, buf, (size_t)size);
  if (n < 0) {
    snprintf(r->err, sizeof r->err, "%s", weir__rstream_errmsg(r->s));
    weir__rstream_close(r->s);
    r->s = NULL;
    return AVERROR(EIO);
  }
  if (n == 0)
    return AVERROR_EOF;
  r->pos += n;
  r->spos = r->pos;
  return (int)n;
}

static int64_t reader_avio_seek(void *opaque, int64_t offset, int whence) {
  byte_reader *r = opaque;
  int64_t base;
  switch (whence & ~AVSEEK_FORCE) {
  case AVSEEK_SIZE: return r->size;
  case SEEK_SET: base = 0; break;
  case SEEK_CUR: base = r->pos; break;
  case SEEK_END: base = r->size; break;
  default: return AVERROR(EINVAL);
  }
  if (base + offset < 0)
    return AVERROR(EINVAL);
  r->pos = base + offset;
  return r->pos;
}

static int interrupt_cb(void *opaque) {
  weir__media_input *in = opaque;
  return in->cancel ? in->cancel(in->cancel_user) : 0;
}

int weir__media_averror(int averr) {
  if (averr == AVERROR(ENOMEM))
    return WEIR_ENOMEM;
  if (averr == AVERROR_EXIT)
    return WEIR_ECANCELED;
  if (averr == AVERROR_DECODER_NOT_FOUND || averr == AVERROR_PATCHWELCOME)
    return WEIR_ENOTSUP;
  if (averr == AVERROR(EIO) || averr == AVERROR(ENOENT) ||
      averr == AVERROR(EACCES))
    return WEIR_EIO;
  return WEIR_EFORMAT;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_logs_once(void) {
  /* Only when nobody chose a level: FFmpeg prints every corrupt packet at
   * ERROR level, and weir reports failures itself, naming the file. */
  if (!getenv("WEIR_FFMPEG_LOG") && av_log_get_level() == AV_LOG_INFO)
    av_log_set_level(AV_LOG_FATAL);
}

void weir__media_quiet_logs(void) { pthread_once(&quiet_once, quiet_logs_once); }

static double declared_seconds(weir__media_input *in, const AVStream *st);

static int open_input(weir__media_input *in, const char *path, int type,
                      int threads, int probe, weir__media_cancel_fn cancel,
                      void *cancel_user, char *err, size_t errlen);

int weir__media_open(weir__media_input *in, const char *path, int type,
                     int threads, weir__media_cancel_fn cancel,
                     void *cancel_user, char *err, size_t errlen) {
  return open_input(in, path, type, threads, 1, cancel, cancel_user, err, errlen);
}

int weir__media_open_still(weir__media_input *in, const char *path,
                           weir__media_cancel_fn cancel, void *cancel_user,
                           char *err, size_t errlen) {
  return open_input(in, path, AVMEDIA_TYPE_VIDEO, 1, 0, cancel, cancel_user, err, errlen);
}

static int open_input(weir__media_input *in, const char *path, int type,
                      int threads, int probe, weir__media_cancel_fn cancel,
                      void *cancel_user, char *err, size_t errlen) {
  const char *kind = type == AVMEDIA_TYPE_AUDIO ? "audio" : "video";
  memset(in, 0, sizeof *in);
  in->stream = -1;
  in->cancel = cancel;
  in->cancel_user = cancel_user;
  weir__media_quiet_logs();

  byte_reader *r = NULL;
  int rc = reader_open(&r, path, err, errlen);
  if (rc != WEIR_OK)
    return rc;
  in->reader = r;
  if (r->size == 0) {
    snprintf(err, errlen, "%s: empty file", path);
    weir__media_close(in);
    return WEIR_EFORMAT;
  }

  enum { AVIO_BUF = 64 * 1024 };
  uint8_t *buf = av_malloc(AVIO_BUF);
  in->fmt = avformat_alloc_context();
  if (buf)
    in->avio = avio_alloc_context(buf, AVIO_BUF, 0, r, reader_avio_read, NULL,
                                  reader_avio_seek);
  if (!buf || !in->fmt || !in->avio) {
    if (!in->avio)
      av_free(buf);
    snprintf(err, errlen, "%s: out of memory", path);
    weir__media_close(in);
    return WEIR_ENOMEM;
  }
  in->fmt->pb = in->avio;
  in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  in->fmt->interrupt_callback.callback = interrupt_cb;
  in->fmt->interrupt_callback.opaque = in;

  int ret = avformat_open_input(&in->fmt, path, NULL, NULL);
  if (ret < 0) {
    /* avformat_open_input frees the context on failure. */
    in->fmt = NULL;
    if (ret == AVERROR(EIO) && r->err[0]) {
      snprintf(err, errlen, "%s", r->err);
      weir__media_close(in);
      return WEIR_EIO;
    }
    snprintf(err, errlen, "%s: not a readable media file: %s", path,
             av_err2str(ret));
    weir__media_close(in);
    return ret == AVERROR_EXIT ? WEIR_ECANCELED : WEIR_EFORMAT;
  }
  /* Probing decodes a picture to learn its size, and that picture stays
   * in the probing decoder's pool until the input is closed: for a still
   * image whose codec the demuxer already named, a second copy of the
   * whole image for nothing. */
  int named = in->fmt->nb_streams > 0;
  for (unsigned i = 0; i < in->fmt->nb_streams; i++)
    if (in->fmt->streams[i]->codecpar->codec_id == AV_CODEC_ID_NONE)
      named = 0;
  ret = probe || !named ? avformat_find_stream_info(in->fmt, NULL) : 0;
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot read stream information: %s", path,
             av_err2str(ret));
    weir__media_close(in);
    return ret == AVERROR_EXIT ? WEIR_ECANCELED : WEIR_EFORMAT;
  }

  const AVCodec *codec = NULL;
  ret = av_find_best_stream(in->fmt, type, -1, -1, &codec, 0);
  if (ret == AVERROR_DECODER_NOT_FOUND || (ret >= 0 && !codec)) {
    int s = av_find_best_stream(in->fmt, type, -1, -1, NULL, 0);
    const AVCodecParameters *par = s >= 0 ? in->fmt->streams[s]->codecpar
                                          : NULL;
    if (par && par->codec_id == AV_CODEC_ID_NONE)
      snprintf(err, errlen, "%s: unknown %s codec (tag '%s'): no decoder in "
               "this FFmpeg", path, kind, av_fourcc2str(par->codec_tag));
    else
      snprintf(err, errlen, "%s: no decoder for %s codec '%s' in this FFmpeg",
               path, kind, par ? avcodec_get_name(par->codec_id) : "?");
    weir__media_close(in);
    return WEIR_ENOTSUP;
  }
  if (ret < 0) {
    snprintf(err, errlen, "%s: no %s stream", path, kind);
    weir__media_close(in);
    return WEIR_EFORMAT;
  }
  in->stream = ret;
  AVStream *st = in->fmt->streams[ret];
  /* Packets of the other streams are dropped by the demuxer, not read and
   * thrown away by us. */
  for (unsigned i = 0; i < in->fmt->nb_streams; i++)
    if ((int)i != ret)
      in->fmt->streams[i]->discard = AVDISCARD_ALL;

  in->dec = avcodec_alloc_context3(codec);
  if (!in->dec) {
    snprintf(err, errlen, "%s: out of memory", path);
    weir__media_close(in);
    return WEIR_ENOMEM;
  }
  ret = avcodec_parameters_to_context(in->dec, st->codecpar);
  if (ret >= 0) {
    in->dec->thread_count = threads > 0 ? threads : 1;
    in->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    in->dec->pkt_timebase = st->time_base;
    ret = avcodec_open2(in->dec, codec, NULL);
  }
  if (ret < 0) {
    snprintf(err, errlen, "%s: cannot open the %s decoder '%s': %s", path,
             kind, codec->name, av_err2str(ret));
    weir__media_close(in);
    return weir__media_averror(ret) == WEIR_ENOMEM ? WEIR_ENOMEM
                                                    : WEIR_ENOTSUP;
  }
  in->declared_seconds = declared_seconds(in, st);
  return WEIR_OK;
}

/* A WAV file's own length: libavformat trusts the file's size over the
 * data chunk's, so a cut file looks whole to it. The chunk size read from
 * the header says how much there should be; -1 when the file holds it all
 * or the header cannot be read. */
static double wav_declared(weir__media_input *in, const AVStream *st) {
  AVIOContext *pb = in->fmt->pb;
  int64_t size = avio_size(pb), pos = avio_tell(pb);
  const AVCodecParameters *par = st->codecpar;
  if (size <= 0 || pos < 0 || par->block_align <= 0 || par->sample_rate <= 0)
    return -1;
  unsigned char h[1024];
  if (avio_seek(pb, 0, SEEK_SET) < 0)
    return -1;
  int n = avio_read(pb, h, sizeof h);
  avio_seek(pb, pos, SEEK_SET);
  if (n < 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
    return -1;
  for (int off = 12; off + 8 <= n;) {
    uint32_t len = (uint32_t)h[off + 4] | (uint32_t)h[off + 5] << 8 |
                   (uint32_t)h[off + 6] << 16 | (uint32_t)h[off + 7] << 24;
    if (memcmp(h + off, "data", 4) == 0) {
      /* 0 and 0xFFFFFFFF mean "unknown" (a stream written live). */
      if (len == 0 || len == 0xFFFFFFFFu || (int64_t)off + 8 + len <= size)
        return -1;
      return (double)len / par->block_align / par->sample_rate;
    }
    if (len > (uint32_t)n)
      return -1;
    off += 8 + (int)len + (int)(len & 1);
  }
  return -1;
}

static double declared_seconds(weir__media_input *in, const AVStream *st) {
  if (in->fmt->iformat && strcmp(in->fmt->iformat->name, "wav") == 0)
    return wav_declared(in, st);
  if (in->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
    return -1;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    return (double)st->duration * av_q2d(st->time_base);
  if (in->fmt->duration > 0)
    return (double)in->fmt->duration / AV_TIME_BASE;
  return -1;
}

int weir__media_short_of_declared(const weir__media_input *in, double got,
                                  const char *path, char *err, size_t errlen) {
  double want = in->declared_seconds;
  /* Codec delay and padding make a whole file differ from its header by
   * a few packets at most. */
  double slack = 0.06 + want * 0.002;
  if (want <= 0 || got + slack >= want)
    return 0;
  snprintf(err, errlen, "%s: truncated: decoded %.3f s of the %.3f s its header declares",
           path, got, want);
  return 1;
}

void weir__media_close(weir__media_input *in) {
  if (!in)
    return;
  avcodec_free_context(&in->dec);
  if (in->fmt)
    avformat_close_input(&in->fmt);
  if (in->avio) {
    av_freep(&in->avio->buffer);
    avio_context_free(&in->avio);
  }
  reader_close(in->reader);
  in->reader = NULL;
}

int weir__media_nothing_decoded(const char *path, const char *what, const char *kind,
                                uint64_t corrupt, char *err, size_t errlen) {
  if (corrupt > 0)
    snprintf(err, errlen, "%s: no %s could be decoded (%llu damaged packets or frames)",
             path, what, (unsigned long long)corrupt);
  else
    snprintf(err, errlen, "%s: no %s could be decoded (the %s stream is empty or cut short)",
             path, what, kind);
  return WEIR_EFORMAT;
}

int weir__media_next_frame(weir__media_input *in, AVPacket *pkt,
                           AVFrame *frame, int *draining, uint64_t *corrupt,
                           const char *path, char *err, size_t errlen) {
  for (;;) {
    int ret = avcodec_receive_frame(in->dec, frame);
    if (ret >= 0)
      return 1;
    if (ret == AVERROR_EOF)
      return 0;
    if (ret != AVERROR(EAGAIN)) {
      /* A frame the decoder could not rebuild: FFmpeg's own tools go on
       * with the next one, and so do we. */
      if (ret == AVERROR_INVALIDDATA) {
        (*corrupt)++;
        continue;
      }
      snprintf(err, errlen, "%s: decoding failed: %s", path, av_err2str(ret));
      return weir__media_averror(ret);
    }
    if (*draining)
      return 0;
    if (in->cancel && in->cancel(in->cancel_user))
      return WEIR_ECANCELED;
    ret = av_read_frame(in->fmt, pkt);
    if (ret == AVERROR_EOF || (ret < 0 && avio_feof(in->fmt->pb))) {
      /* The end of the file, also a truncated one: decode what is left. */
      *draining = 1;
      avcodec_send_packet(in->dec, NULL);
      continue;
    }
    if (ret == AVERROR_EXIT)
      return WEIR_ECANCELED;
    if (ret < 0) {
      /* A damaged packet: skip it, but a demuxer that makes no progress
       * must not keep us here for ever. */
      if (ret == AVERROR_INVALIDDATA && ++in->bad_reads < 256) {
        (*corrupt)++;
        continue;
      }
      const byte_reader *r = in->reader;
      if (ret == AVERROR(EIO) && r && r->err[0])
        snprintf(err, errlen, "%s: reading failed: %s", path, r->err);
      else
        snprintf(err, errlen, "%s: reading failed: %s", path, av_err2str(ret));
      return weir__media_averror(ret);
    }
    in->bad_reads = 0;
    if (pkt->stream_index != in->stream) {
      av_packet_unref(pkt);
      continue;
    }
    if (in->wanted)
      in->dec->skip_frame = in->wanted(in->wanted_user, pkt) ? AVDISCARD_DEFAULT
                                                             : AVDISCARD_NONREF;
    ret = avcodec_send_packet(in->dec, pkt);
    av_packet_unref(pkt);
    if (ret == AVERROR_INVALIDDATA) {
      (*corrupt)++;
      continue;
    }
    if (ret < 0 && ret != AVERROR(EAGAIN)) {
      snprintf(err, errlen, "%s: decoding failed: %s", path, av_err2str(ret));
      return weir__media_averror(ret);
    }
  }
}

int weir__media_scale(struct SwsContext *sws, const AVFrame *src, AVFrame *tmp,
                      uint8_t *dst, int w, int h, int fmt) {
  /* libswscale's vector code may write a little past the end of each output
   * line, so it writes into a padded frame, and rows are copied out packed. */
  if (!tmp->data[0] || tmp->width != w || tmp->height != h ||
      tmp->format != fmt) {
    av_frame_unref(tmp);
    tmp->width = w;
    tmp->height = h;
    tmp->format = fmt;
    if (av_frame_get_buffer(tmp, 0) < 0)
      return WEIR_ENOMEM;
  }
  int out = sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0,
                      src->height, tmp->data, tmp->linesize);
  if (out <= 0)
    return WEIR_EFORMAT;
  int size = av_image_get_buffer_size(fmt, w, h, 1);
  if (size < 0 || av_image_copy_to_buffer(dst, size,
                                          (const uint8_t *const *)tmp->data,
                                          tmp->linesize, fmt, w, h, 1) < 0)
    return WEIR_EFORMAT;
  return WEIR_OK;
}
