/* Defaults of the media readers' options, shared by builds with and
 * without FFmpeg (CMake's weir_component_sources lists it for both). */
#include "media/media_internal.h"

void weir__video_options_fill(weir_video_options *dst,
                              const weir_video_options *src) {
  weir_video_options d = WEIR_VIDEO_OPTIONS_INIT;
  if (src) {
    /* Version 1 is the only layout so far, so the whole struct is the
     * caller's; a later version would copy the fields of the older. */
    d = *src;
    d.version = WEIR_VIDEO_OPTIONS_VERSION;
  }
  if (d.every_k <= 0)
    d.every_k = 1;
  if (d.decoder_threads <= 0)
    d.decoder_threads = 1;
  if (d.rows_per_block == 0)
    d.rows_per_block = 16;
  if (d.clips > 0 && d.clip_frames <= 0)
    d.clip_frames = 16;
  *dst = d;
}

void weir__audio_options_fill(weir_audio_options *dst,
                              const weir_audio_options *src) {
  weir_audio_options d = WEIR_AUDIO_OPTIONS_INIT;
  if (src) {
    d = *src;
    d.version = WEIR_AUDIO_OPTIONS_VERSION;
  }
  if (d.sample_rate <= 0)
    d.sample_rate = 16000;
  if (d.channels <= 0)
    d.channels = 1;
  if (d.window_seconds <= 0)
    d.window_seconds = 1.0;
  if (d.rows_per_block == 0)
    d.rows_per_block = 64;
  *dst = d;
}

size_t weir__rows_for_bytes(size_t max_rows, size_t row_bytes, size_t target) {
  if (!target || !row_bytes)
    return max_rows;
  size_t fit = target / row_bytes;
  if (fit < 1)
    fit = 1;
  return fit < max_rows ? fit : max_rows;
}
