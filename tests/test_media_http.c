/* Media read over HTTP from nginx through the custom AVIOContext: an mp4
 * whose index sits at the end (so the demuxer seeks by reopening ranges),
 * a time range that seeks to a key frame, audio and images, and a missing
 * URL. */
#include <weir.h>

#include "servers/servers.h"
#include "test_media_fixtures.h"

static srv_proc ngx;
static char *www;

static void http_up(void) {
  media_setup();
  char why[512];
  www = srv_tmpdir("media-www");
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0) srv_missing(why);
  const char *names[] = {"ramp.mp4", "tone.flac", "known.png"};
  for (int i = 0; i < 3; i++) {
    size_t n;
    void *data = media_read(names[i], &n);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", www, names[i]);
    cr_assert_eq(srv_write_file(path, data, n), 0);
    free(data);
  }
}

static void http_down(void) {
  srv_proc_stop(&ngx);
  if (www) {
    srv_rm_rf(www);
    free(www);
  }
}

TestSuite(media_http, .init = http_up, .fini = http_down, .timeout = 240);

static int collect(weir_pipeline *p, weir_op *op, weir_block **all) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block *bs[64], *b;
  size_t n = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK)
    bs[n++] = b;
  weir_iter_destroy(it);
  *all = NULL;
  if (rc == WEIR_EOF) {
    rc = WEIR_OK;
    if (n)
      cr_assert_eq(weir_block_concat(bs, n, all), WEIR_OK);
  }
  for (size_t i = 0; i < n; i++)
    weir_block_unref(&bs[i]);
  return rc;
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = WEIR_PIPELINE_OPTIONS_INIT;
  o.num_cpus = 2;
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

static weir_column column(const weir_block *b, const char *name) {
  weir_column c;
  int i = weir_block_column_index(b, name);
  cr_assert(i >= 0);
  cr_assert_eq(weir_block_column(b, (size_t)i, &c), WEIR_OK);
  return c;
}

Test(media_http, video_over_http_with_a_seek) {
  char url[256];
  snprintf(url, sizeof url, "%s/ramp.mp4", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.start = 1.5;
  o.width = 32;
  o.height = 24;
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, url, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 15);
  weir_column idx = column(b, "frame_index"), f = column(b, "frame"),
              path = column(b, "path");
  for (size_t i = 0; i < 15; i++) {
    cr_assert_eq(((const int64_t *)idx.data)[i], (int64_t)(15 + i));
    int v = ((const uint8_t *)f.data)[i * 32 * 24 * 3 + (12 * 32 + 16) * 3];
    cr_assert(abs(v - (int)(8 * (15 + i))) <= 4);
  }
  cr_assert(strncmp((const char *)path.data + path.offsets[0], "http://", 7) == 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(media_http, audio_and_image_over_http) {
  char url[256];
  snprintf(url, sizeof url, "%s/tone.flac", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_audio(p, url, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  snprintf(url, sizeof url, "%s/known.png", ngx.url);
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_images(p, url, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  weir_column im = column(b, "image");
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 8; x++)
      cr_assert_eq(((const uint8_t *)im.data)[(y * 8 + x) * 3 + 1],
                   (37 * x + 11 * y + 91) % 256);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(media_http, missing_url_is_an_error_naming_it) {
  char url[256];
  snprintf(url, sizeof url, "%s/absent.mp4", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_op *op = weir_read_video(p, url, NULL);
  if (op) {
    weir_block *b;
    cr_assert_neq(collect(p, op, &b), WEIR_OK);
  }
  cr_assert(strstr(weir_pipeline_errmsg(p), "absent.mp4"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* ---- S3 (moto's server, authentication on) ---- */

static srv_proc s3;

static void s3_up(void) {
  media_setup();
  char why[512];
  if (srv_moto_start(&s3, why, sizeof why) != 0) srv_missing(why);
  /* The media readers and writers take S3 settings from the environment. */
  setenv("AWS_ENDPOINT_URL", s3.url, 1);
  setenv("AWS_ACCESS_KEY_ID", s3.access_key, 1);
  setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key, 1);
  setenv("AWS_REGION", "us-east-1", 1);
}

static void s3_down(void) { srv_proc_stop(&s3); }

TestSuite(media_s3, .init = s3_up, .fini = s3_down, .timeout = 240);

Test(media_s3, video_and_images_written_to_s3_and_read_back) {
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 32;
  o.height = 24;
  weir_video_write_options w = WEIR_VIDEO_WRITE_OPTIONS_INIT;
  w.fps = 10;
  weir_op *sink = weir_write_video(
      p, weir_read_video(p, media_path("ramp.mp4"), &o), "s3://test/out/ramp.mp4", &w);
  cr_assert_not_null(sink, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, sink), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, "s3://test/out/ramp.mp4", NULL), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 30);
  weir_column f = column(b, "frame");
  int v = ((const uint8_t *)f.data)[20 * 32 * 24 * 3 + (12 * 32 + 16) * 3];
  cr_assert(abs(v - 160) <= 6, "%d", v);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  p = new_pipeline();
  o.max_frames = 3;
  weir_op *wi = weir_write_images(p, weir_read_video(p, media_path("ramp.mp4"), &o),
                                  "s3://test/pngs", NULL);
  cr_assert_not_null(wi, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, wi), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_images(p, "s3://test/pngs/", NULL), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}
