/* Opening media through FFmpeg: the demuxer over a custom AVIOContext on
 * weir's byte streams, the decoder of the best stream, and the frame loop
 * and pixel conversion the decoders share. */
#ifndef WEIR_MEDIA_FFMPEG_H
#define WEIR_MEDIA_FFMPEG_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>

#include "media/media_internal.h"

/* An open media file: the demuxer over a custom AVIOContext, and the
 * decoder of its best stream of `type`. */
typedef struct weir__media_input {
  AVFormatContext *fmt;
  AVIOContext *avio;
  void *reader;               /* the byte reader behind `avio` */
  AVCodecContext *dec;
  int stream;                 /* index of the decoded stream */
  weir__media_cancel_fn cancel;
  void *cancel_user;
  int bad_reads;              /* damaged packets in a row */
  /* Optional: asked before each packet of the stream goes to the decoder;
   * 0 when the frame it holds will be dropped anyway, so the decoder may
   * skip decoding it if no other frame refers to it (AVDISCARD_NONREF). */
  int (*wanted)(void *user, const AVPacket *pkt);
  void *wanted_user;
  /* Seconds of the decoded stream its header declares, or -1 when it
   * declares none it can be held to (a length guessed from the bit rate
   * and the file's size); see weir__media_short_of_declared. */
  double declared_seconds;
} weir__media_input;

/* 1 when a stream that was decoded to its end ran `got` seconds while its
 * header declares clearly more: the file was cut short. Then `err` says so,
 * naming the file and both lengths. */
int weir__media_short_of_declared(const weir__media_input *in, double got,
                                  const char *path, char *err, size_t errlen);

/* Opens `path` and the decoder of its best stream of `type`
 * (AVMEDIA_TYPE_VIDEO or _AUDIO) with `threads` decoder threads. Returns
 * WEIR_OK, or WEIR_EIO (cannot read), WEIR_EFORMAT (not media, no such
 * stream, damaged), WEIR_ENOTSUP (no decoder for the codec), with a message
 * naming the file in `err`. */
int weir__media_open(weir__media_input *in, const char *path, int type,
                     int threads, weir__media_cancel_fn cancel,
                     void *cancel_user, char *err, size_t errlen);
/* The same for a still image: no probing decode when the demuxer names
 * the codec (the decoder learns the size from the picture itself). */
int weir__media_open_still(weir__media_input *in, const char *path,
                           weir__media_cancel_fn cancel, void *cancel_user,
                           char *err, size_t errlen);
void weir__media_close(weir__media_input *in);

/* For a stream that ended before its decoder gave anything: WEIR_EFORMAT,
 * with a message naming `path` that says "no `what` could be decoded" and
 * why (damaged packets, or a stream empty or cut short). A file like that
 * must fail the run or be counted as skipped, not succeed without rows. */
int weir__media_nothing_decoded(const char *path, const char *what, const char *kind,
                                uint64_t corrupt, char *err, size_t errlen);

/* Reads the next decoded frame of the stream into `frame`: 1 for a frame,
 * 0 at the end, or a negative weir error with `err` set. Packets that the
 * decoder rejects as corrupt are passed over (counted in *corrupt). */
int weir__media_next_frame(weir__media_input *in, AVPacket *pkt,
                           AVFrame *frame, int *draining, uint64_t *corrupt,
                           const char *path, char *err, size_t errlen);

/* Converts `src` with `sws` to `w` x `h` pixels of `fmt` in `dst`, packed
 * (rows and planes back to back, as av_image_copy_to_buffer() lays them
 * out with alignment 1). `tmp` is a scratch frame kept by the caller. */
struct SwsContext;
int weir__media_scale(struct SwsContext *sws, const AVFrame *src, AVFrame *tmp,
                      uint8_t *dst, int w, int h, int fmt);

/* Maps an FFmpeg error to a weir code. */
int weir__media_averror(int averr);

/* Turns FFmpeg's own logging down once (see weir/media.h). */
void weir__media_quiet_logs(void);

#endif /* WEIR_MEDIA_FFMPEG_H */
