/* The CPU image transforms on blocks: resize against a direct evaluation
 * of the bilinear formula, crops, colour conversions and normalisation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

/* A block with `rows` images [h, w, c] of pseudo-random bytes, plus an
 * int64 `id` column that must pass through untouched. */
static weir_block *make_images(size_t rows, int h, int w, int c,
                               unsigned seed) {
  weir_builder *b;
  cr_assert_eq(weir_builder_create(&b), WEIR_OK);
  int64_t shape[3] = {h, w, c};
  cr_assert_eq(weir_builder_add_column(b, "id", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_tensor_column(b, "image", WEIR_DTYPE_UINT8, 3,
                                              shape), WEIR_OK);
  uint8_t *px = malloc((size_t)h * w * c);
  for (size_t r = 0; r < rows; r++) {
    for (int i = 0; i < h * w * c; i++) {
      seed = seed * 1103515245u + 12345u;
      px[i] = (uint8_t)(seed >> 16);
    }
    cr_assert_eq(weir_builder_append_int64(b, 0, (int64_t)r * 7), WEIR_OK);
    cr_assert_eq(weir_builder_append_tensor(b, 1, px), WEIR_OK);
  }
  free(px);
  weir_block *blk;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  return blk;
}

static void col(const weir_block *b, const char *name, weir_column *c) {
  int i = weir_block_column_index(b, name);
  cr_assert(i >= 0, "no column %s", name);
  cr_assert_eq(weir_block_column(b, (size_t)i, c), WEIR_OK);
}

/* Bilinear with half-pixel centres, in double precision. */
static double bilinear(const uint8_t *img, int h, int w, int c, int ch,
                       double sy, double sx) {
  if (sy < 0) sy = 0;
  if (sx < 0) sx = 0;
  int y0 = (int)sy, x0 = (int)sx;
  if (y0 > h - 1) y0 = h - 1;
  if (x0 > w - 1) x0 = w - 1;
  int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
  double fy = sy - y0, fx = sx - x0;
#define P(y, x) ((double)img[((size_t)(y) * w + (x)) * c + ch])
  double top = P(y0, x0) + fx * (P(y0, x1) - P(y0, x0));
  double bot = P(y1, x0) + fx * (P(y1, x1) - P(y1, x0));
#undef P
  return top + fy * (bot - top);
}

static void check_resize(int h, int w, int oh, int ow) {
  weir_block *in = make_images(3, h, w, 3, (unsigned)(h * 131 + w));
  weir_block *out = NULL;
  cr_assert_eq(weir_image_resize_block(in, NULL, ow, oh, &out), WEIR_OK, "%s",
               weir_last_errmsg());
  weir_column ci, co, id;
  col(in, "image", &ci);
  col(out, "image", &co);
  cr_assert_eq(co.shape[0], oh);
  cr_assert_eq(co.shape[1], ow);
  cr_assert_eq(co.shape[2], 3);
  cr_assert_eq(weir_block_num_rows(out), 3);
  col(out, "id", &id);
  cr_assert_eq(((const int64_t *)id.data)[2], 14);
  for (size_t r = 0; r < 3; r++) {
    const uint8_t *src = (const uint8_t *)ci.data + r * (size_t)(h * w * 3);
    const uint8_t *dst = (const uint8_t *)co.data + r * (size_t)(oh * ow * 3);
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        for (int c = 0; c < 3; c++) {
          double want = bilinear(src, h, w, 3, c, (y + 0.5) * h / oh - 0.5,
                                 (x + 0.5) * w / ow - 0.5);
          int got = dst[((size_t)y * ow + x) * 3 + c];
          cr_assert(fabs(got - want) <= 0.51, "%dx%d->%dx%d (%d,%d,%d): %d vs %f",
                    h, w, oh, ow, y, x, c, got, want);
        }
  }
  weir_block_unref(&in);
  weir_block_unref(&out);
}

Test(media_ops, resize_matches_the_bilinear_formula) {
  check_resize(17, 23, 8, 11);   /* down */
  check_resize(5, 7, 13, 19);    /* up */
  check_resize(9, 9, 9, 9);      /* same size: exact copy */
  check_resize(1, 6, 4, 3);
}

Test(media_ops, resize_same_size_is_identity) {
  weir_block *in = make_images(2, 6, 5, 3, 7), *out = NULL;
  cr_assert_eq(weir_image_resize_block(in, "image", 5, 6, &out), WEIR_OK);
  weir_column a, b;
  col(in, "image", &a);
  col(out, "image", &b);
  cr_assert_eq(memcmp(a.data, b.data, 2 * 6 * 5 * 3), 0);
  weir_block_unref(&in);
  weir_block_unref(&out);
}

Test(media_ops, crop_and_center_crop_copy_the_right_pixels) {
  weir_block *in = make_images(2, 10, 12, 3, 3), *out = NULL;
  weir_column a, b;
  col(in, "image", &a);
  cr_assert_eq(weir_image_crop_block(in, NULL, 3, 2, 5, 4, &out), WEIR_OK);
  col(out, "image", &b);
  cr_assert_eq(b.shape[0], 4);
  cr_assert_eq(b.shape[1], 5);
  for (int r = 0; r < 2; r++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 5; x++)
        for (int c = 0; c < 3; c++)
          cr_assert_eq(((const uint8_t *)b.data)[r * 60 + (y * 5 + x) * 3 + c],
                       ((const uint8_t *)a.data)[r * 360 + ((y + 2) * 12 + x + 3) * 3 + c]);
  weir_block_unref(&out);
  cr_assert_eq(weir_image_center_crop_block(in, NULL, 6, 5, &out), WEIR_OK);
  col(out, "image", &b);
  /* offsets (12-6)/2 = 3, (10-5)/2 = 2 */
  cr_assert_eq(((const uint8_t *)b.data)[0], ((const uint8_t *)a.data)[(2 * 12 + 3) * 3]);
  weir_block_unref(&out);
  cr_assert_eq(weir_image_crop_block(in, NULL, 8, 0, 5, 4, &out), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "does not fit"));
  cr_assert_eq(weir_image_center_crop_block(in, NULL, 13, 4, &out), WEIR_EINVAL);
  weir_block_unref(&in);
}

Test(media_ops, colour_conversions) {
  weir_block *in = make_images(1, 4, 4, 3, 11), *bgr = NULL, *back = NULL,
             *gray = NULL, *yuv = NULL, *rgb2 = NULL;
  weir_column a, b, c;
  col(in, "image", &a);
  const uint8_t *p = a.data;
  cr_assert_eq(weir_image_convert_block(in, NULL, WEIR_COLOR_RGB, WEIR_COLOR_BGR, &bgr), WEIR_OK);
  col(bgr, "image", &b);
  for (int i = 0; i < 16; i++)
    cr_assert(((const uint8_t *)b.data)[i * 3] == p[i * 3 + 2] &&
              ((const uint8_t *)b.data)[i * 3 + 2] == p[i * 3]);
  cr_assert_eq(weir_image_convert_block(bgr, NULL, WEIR_COLOR_BGR, WEIR_COLOR_RGB, &back), WEIR_OK);
  col(back, "image", &c);
  cr_assert_eq(memcmp(c.data, p, 48), 0);
  cr_assert_eq(weir_image_convert_block(in, NULL, WEIR_COLOR_RGB, WEIR_COLOR_GRAY, &gray), WEIR_OK);
  col(gray, "image", &c);
  cr_assert_eq(c.shape[2], 1);
  for (int i = 0; i < 16; i++) {
    double want = 0.299 * p[i * 3] + 0.587 * p[i * 3 + 1] + 0.114 * p[i * 3 + 2];
    cr_assert(fabs(((const uint8_t *)c.data)[i] - want) <= 0.51);
  }
  /* RGB -> YUV -> RGB comes back within rounding. */
  cr_assert_eq(weir_image_convert_block(in, NULL, WEIR_COLOR_RGB, WEIR_COLOR_YUV, &yuv), WEIR_OK);
  cr_assert_eq(weir_image_convert_block(yuv, NULL, WEIR_COLOR_YUV, WEIR_COLOR_RGB, &rgb2), WEIR_OK);
  col(rgb2, "image", &c);
  for (int i = 0; i < 48; i++)
    cr_assert(abs(((const uint8_t *)c.data)[i] - p[i]) <= 2, "%d: %d vs %d", i,
              ((const uint8_t *)c.data)[i], p[i]);
  /* Wrong channel count for the layout. */
  weir_block *bad = NULL;
  cr_assert_eq(weir_image_convert_block(gray, NULL, WEIR_COLOR_RGB, WEIR_COLOR_BGR, &bad), WEIR_EINVAL);
  weir_block_unref(&in);
  weir_block_unref(&bgr);
  weir_block_unref(&back);
  weir_block_unref(&gray);
  weir_block_unref(&yuv);
  weir_block_unref(&rgb2);
}

Test(media_ops, normalize_to_float_hwc_and_chw) {
  weir_block *in = make_images(2, 3, 4, 3, 5), *hwc = NULL, *chw = NULL;
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  n.channels = 3;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  memcpy(n.mean, mean, sizeof mean);
  memcpy(n.std, sd, sizeof sd);
  cr_assert_eq(weir_image_normalize_block(in, NULL, &n, &hwc), WEIR_OK, "%s", weir_last_errmsg());
  n.chw = 1;
  cr_assert_eq(weir_image_normalize_block(in, NULL, &n, &chw), WEIR_OK);
  weir_column a, h, c;
  col(in, "image", &a);
  col(hwc, "image", &h);
  col(chw, "image", &c);
  cr_assert_eq(h.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(c.shape[0], 3);
  cr_assert_eq(c.shape[1], 3);
  cr_assert_eq(c.shape[2], 4);
  const uint8_t *p = a.data;
  for (int r = 0; r < 2; r++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 4; x++)
        for (int k = 0; k < 3; k++) {
          double want = (p[r * 36 + (y * 4 + x) * 3 + k] / 255.0 - mean[k]) / sd[k];
          float gh = ((const float *)h.data)[r * 36 + (y * 4 + x) * 3 + k];
          float gc = ((const float *)c.data)[r * 36 + k * 12 + y * 4 + x];
          cr_assert(fabs(gh - want) < 1e-5 * (1 + fabs(want)));
          cr_assert_eq(gh, gc);
        }
  n.channels = 1;
  weir_block *bad = NULL;
  cr_assert_eq(weir_image_normalize_block(in, NULL, &n, &bad), WEIR_EINVAL);
  weir_block_unref(&in);
  weir_block_unref(&hwc);
  weir_block_unref(&chw);
}

Test(media_ops, missing_or_wrong_column_is_an_error) {
  weir_block *in = make_images(1, 2, 2, 3, 1), *out = NULL;
  cr_assert_eq(weir_image_resize_block(in, "nope", 4, 4, &out), WEIR_ENOTFOUND);
  cr_assert(strstr(weir_last_errmsg(), "nope"));
  cr_assert_eq(weir_image_resize_block(in, "id", 4, 4, &out), WEIR_EINVAL);
  cr_assert_eq(weir_image_resize_block(in, NULL, 0, 4, &out), WEIR_EINVAL);
  cr_assert_null(out);
  weir_block_unref(&in);
}

Test(media_ops, readers_without_ffmpeg_say_so) {
  if (weir_media_built())
    cr_skip_test("this build has FFmpeg; test_media_pipeline covers it");
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  cr_assert_null(weir_read_video(p, "x.mp4", NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "FFmpeg"), "%s",
            weir_pipeline_errmsg(p));
  cr_assert_null(weir_read_images(p, "x.png", NULL));
  cr_assert_null(weir_write_audio(p, NULL, "x.wav", NULL));
  weir_pipeline_destroy(p);
}
