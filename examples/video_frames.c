/* Video frames for a model: read every video under a folder (or one file or
 * URL), keep 2 frames a second resized in the decoder, centre-crop them to
 * 224x224 and normalise them to float32 [3, 224, 224] as torchvision's
 * ImageNet transforms do, then pull batches of 32 the way a training loop
 * would.
 *
 *   video_frames VIDEO_OR_FOLDER
 */
#include <stdio.h>
#include <stdlib.h>

#include <weir.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s VIDEO_OR_FOLDER\n", argv[0]);
    return 2;
  }
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, NULL) != WEIR_OK)
    return 1;

  /* Sampling and the first resize happen while decoding, so full-size
   * frames never pile up in memory. */
  weir_video_options vo = WEIR_VIDEO_OPTIONS_INIT;
  vo.fps = 2;
  vo.height = 256;           /* width follows the aspect ratio */
  vo.decoder_threads = 2;
  vo.on_error = WEIR_ON_ERROR_SKIP;
  weir_op *frames = weir_read_video(p, argv[1], &vo);
  weir_op *crop = weir_image_center_crop(p, frames, "frame", 224, 224, NULL);
  weir_normalize_options no = WEIR_NORMALIZE_OPTIONS_INIT;
  no.channels = 3;
  no.mean[0] = 0.485f, no.mean[1] = 0.456f, no.mean[2] = 0.406f;
  no.std[0] = 0.229f, no.std[1] = 0.224f, no.std[2] = 0.225f;
  no.chw = 1;
  weir_op *norm = weir_image_normalize(p, crop, "frame", &no, NULL);

  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 32;
  weir_iter *it = NULL;
  if (!norm || weir_pipeline_iter(p, norm, &io, &it) != WEIR_OK) {
    fprintf(stderr, "%s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  weir_block *b;
  int rc;
  size_t batches = 0, rows = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column f, pts;
    weir_block_column(b, (size_t)weir_block_column_index(b, "frame"), &f);
    weir_block_column(b, (size_t)weir_block_column_index(b, "pts"), &pts);
    /* Here a training step would take f.data: float32 [rows, 3, 224, 224]. */
    printf("batch %zu: %zu frames [%lld, %lld, %lld], pts %.2f..%.2f s\n",
           batches++, weir_block_num_rows(b), (long long)f.shape[0],
           (long long)f.shape[1], (long long)f.shape[2],
           ((const double *)pts.data)[0],
           ((const double *)pts.data)[f.length - 1]);
    rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  if (rc != WEIR_EOF)
    fprintf(stderr, "error: %s\n", weir_pipeline_errmsg(p));
  else
    printf("%zu frames in %zu batches\n", rows, batches);
  weir_pipeline_destroy(p);
  return rc == WEIR_EOF ? 0 : 1;
}
