/* Internal interfaces of the media component: per-file decoders that fill
 * block builders, and the list of files behind a reader's uri. Free of
 * FFmpeg's headers, so tests compile in every build; without FFmpeg the
 * functions answer WEIR_ENOTSUP (absent/). */
#ifndef WEIR_MEDIA_INTERNAL_H
#define WEIR_MEDIA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "weir/media.h"

/* Every decoder reports failures into a buffer of this size; the readers
 * pass it on to weir_ctx_set_errmsg(). */
#define WEIR__MEDIA_ERRLEN 512

/* Asked between packets; nonzero stops the work with WEIR_ECANCELED. */
typedef int (*weir__media_cancel_fn)(void *user);

/* ---- Files behind a uri ------------------------------------------------ */

/* Lists the files of `uri` (a file, a folder searched recursively for
 * names ending in one of `suffixes`, NULL-terminated, or a glob), sorted.
 * `*paths` is one malloc'd array of malloc'd strings, freed with
 * weir__media_list_free(). A uri that names nothing is WEIR_ENOTFOUND. */
int weir__media_list(const char *uri, const char *const *suffixes,
                     char ***paths, size_t *n, char *err, size_t errlen);
void weir__media_list_free(char **paths, size_t n);

/* ---- Video ------------------------------------------------------------- */

typedef struct weir__video_decoder weir__video_decoder;

/* Opens one file for reading frames under the sampling of `o` (already
 * filled with defaults: see weir__video_options_fill). */
int weir__video_decoder_open(weir__video_decoder **out, const char *path,
                             const weir_video_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen);
/* The same for the part [t0, t1) of the file (seconds of stream time),
 * sampled as the whole file would be there. */
int weir__video_decoder_open_part(weir__video_decoder **out, const char *path,
                                  const weir_video_options *o, double t0,
                                  double t1, weir__media_cancel_fn cancel,
                                  void *cancel_user, char *err, size_t errlen);
/* Start time and duration in seconds of the best video stream (duration 0
 * when the file does not say). */
int weir__video_probe(const char *path, double *start, double *duration,
                      weir__media_cancel_fn cancel, void *cancel_user,
                      char *err, size_t errlen);
/* Decodes frames until `max_rows` more rows are in a block or the file
 * ends; `*out` is the block (NULL when no frame was left), `*eof` is set
 * once the file is done. */
int weir__video_decoder_read(weir__video_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen);
/* Output shape of a frame row, once open. */
void weir__video_decoder_shape(const weir__video_decoder *d, int *ndim,
                               int64_t shape[3]);
uint64_t weir__video_decoder_corrupt(const weir__video_decoder *d);
/* 1 when the decoder reached the end of a file that is shorter than its
 * header declares (frames missing at the end); `err` then says so. */
int weir__video_decoder_truncated(const weir__video_decoder *d, char *err, size_t errlen);
/* Frames the decoder gave so far: fewer than the stream holds when frames
 * that every_k drops went undecoded. */
int64_t weir__video_decoder_decoded(const weir__video_decoder *d);
void weir__video_decoder_close(weir__video_decoder *d);
void weir__video_options_fill(weir_video_options *dst,
                              const weir_video_options *src);

/* ---- Audio ------------------------------------------------------------- */

typedef struct weir__audio_decoder weir__audio_decoder;
int weir__audio_decoder_open(weir__audio_decoder **out, const char *path,
                             const weir_audio_options *o,
                             weir__media_cancel_fn cancel, void *cancel_user,
                             char *err, size_t errlen);
int weir__audio_decoder_read(weir__audio_decoder *d, size_t max_rows,
                             weir_block **out, int *eof, char *err,
                             size_t errlen);
/* 1 when the file, decoded to its end, was shorter than its header
 * declares; `err` then says so. */
int weir__audio_decoder_truncated(const weir__audio_decoder *d, char *err, size_t errlen);
void weir__audio_decoder_close(weir__audio_decoder *d);
void weir__audio_options_fill(weir_audio_options *dst,
                              const weir_audio_options *src);

/* ---- Images ------------------------------------------------------------ */

/* Where weir__image_decode_to puts an image, so the pixels are written
 * once, into the block that carries them. */
typedef struct weir__image_sink {
  /* Optional: the bytes decoding holds (the decoded picture and the RGB
   * result). Called once the file is open, before the picture is decoded,
   * with `decoded` 0 and the size the file declares (0 when it declares
   * none), then with `decoded` 1 and the real size. Anything but WEIR_OK
   * stops the decoding with that code. */
  int (*sizing)(void *user, size_t bytes, int decoded);
  /* Where the [h, w, 3] RGB24 result goes; NULL: out of memory. */
  uint8_t *(*place)(void *user, int w, int h);
  void *user;
} weir__image_sink;

/* Decodes the first frame of the image at `path` to RGB24 into the place
 * `sink` gives, resized to width × height when both are > 0. */
int weir__image_decode_to(const char *path, int width, int height,
                          const weir__image_sink *sink,
                          weir__media_cancel_fn cancel, void *cancel_user,
                          char *err, size_t errlen);

/* Decodes the first frame of the image at `path` to RGB24, resized to
 * width × height when both are > 0. `*pixels` is malloc'd, [h, w, 3]. */
int weir__image_decode(const char *path, int width, int height,
                       uint8_t **pixels, int *w, int *h,
                       weir__media_cancel_fn cancel, void *cancel_user,
                       char *err, size_t errlen);

/* Rows of `row_bytes` each that fit a block of `target` bytes: at least
 * one, at most `max_rows` (target 0: max_rows). */
size_t weir__rows_for_bytes(size_t max_rows, size_t row_bytes, size_t target);

#endif /* WEIR_MEDIA_INTERNAL_H */
