/* The media readers and writers in a build without FFmpeg: each fails with
 * WEIR_ENOTSUP and says why. */
#include "weir/error.h"
#include "weir/media.h"
#include "exec/exec_internal.h"

static weir_op *absent(weir_pipeline *p, const char *what) {
  if (!p)
    return NULL;
  return weir__op_fail(p, WEIR_ENOTSUP,
                       "%s: this build of weir has no FFmpeg (libavformat, "
                       "libavcodec, libswscale, libswresample were not found "
                       "when it was built)", what);
}

weir_op *weir_read_video(weir_pipeline *p, const char *uri,
                         const weir_video_options *o) {
  (void)uri, (void)o;
  return absent(p, "read_video");
}

weir_op *weir_read_audio(weir_pipeline *p, const char *uri,
                         const weir_audio_options *o) {
  (void)uri, (void)o;
  return absent(p, "read_audio");
}

weir_op *weir_read_images(weir_pipeline *p, const char *uri,
                          const weir_image_options *o) {
  (void)uri, (void)o;
  return absent(p, "read_images");
}

weir_op *weir_write_video(weir_pipeline *p, weir_op *in, const char *path,
                          const weir_video_write_options *o) {
  (void)in, (void)path, (void)o;
  return absent(p, "write_video");
}

weir_op *weir_write_audio(weir_pipeline *p, weir_op *in, const char *path,
                          const weir_audio_write_options *o) {
  (void)in, (void)path, (void)o;
  return absent(p, "write_audio");
}

weir_op *weir_write_images(weir_pipeline *p, weir_op *in, const char *dir,
                           const weir_image_write_options *o) {
  (void)in, (void)dir, (void)o;
  return absent(p, "write_images");
}
