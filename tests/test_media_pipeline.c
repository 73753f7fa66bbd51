/* The media readers, transforms and writers in running pipelines: what
 * comes out of weir_read_video/audio/images, skip and fail policies on
 * damaged files, transforms as operators, and files written by the sinks. */
#include <math.h>

#include <weir.h>

#include "test_media_fixtures.h"

TestSuite(media_pipeline, .init = media_setup, .timeout = 60);

static weir_pipeline *new_pipeline(void) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  return p;
}

/* Runs `out` to the end and concatenates its blocks (NULL when none). */
static int collect(weir_pipeline *p, weir_op *out, weir_block **all) {
  *all = NULL;
  cr_assert_not_null(out, "%s", weir_pipeline_errmsg(p));
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, out, NULL, &it), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  weir_block *bs[512];
  size_t n = 0;
  int rc;
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    cr_assert(n < 512);
    bs[n++] = b;
  }
  weir_iter_destroy(it);
  if (rc == WEIR_EOF) {
    rc = WEIR_OK;
    if (n)
      cr_assert_eq(weir_block_concat(bs, n, all), WEIR_OK);
  }
  for (size_t i = 0; i < n; i++)
    weir_block_unref(&bs[i]);
  return rc;
}

static weir_column column(const weir_block *b, const char *name) {
  weir_column c;
  int i = weir_block_column_index(b, name);
  cr_assert(i >= 0, "no column %s", name);
  cr_assert_eq(weir_block_column(b, (size_t)i, &c), WEIR_OK);
  return c;
}

static uint64_t skipped(weir_pipeline *p) {
  uint64_t n = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats s;
    if (weir_pipeline_op_stats(p, i, &s) == WEIR_OK)
      n += s.skipped_rows;
  }
  return n;
}

Test(media_pipeline, read_video_gives_the_api_columns) {
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.every_k = 2;
  o.width = 32;
  o.height = 24;
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, media_path("ramp.mp4"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 15);
  weir_column f = column(b, "frame"), idx = column(b, "frame_index"),
              pts = column(b, "pts"), path = column(b, "path"),
              st = column(b, "stream_index");
  cr_assert_eq(f.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(f.dtype, WEIR_DTYPE_UINT8);
  cr_assert_eq(f.shape[0], 24);
  cr_assert_eq(f.shape[1], 32);
  cr_assert_eq(f.shape[2], 3);
  cr_assert_eq(idx.type, WEIR_TYPE_INT64);
  cr_assert_eq(pts.type, WEIR_TYPE_FLOAT64);
  cr_assert_eq(path.type, WEIR_TYPE_STRING);
  cr_assert_eq(st.type, WEIR_TYPE_INT64);
  for (size_t i = 0; i < 15; i++) {
    cr_assert_eq(((const int64_t *)idx.data)[i], (int64_t)(2 * i));
    cr_assert_float_eq(((const double *)pts.data)[i], 0.2 * i, 1e-6);
    int v = ((const uint8_t *)f.data)[i * 32 * 24 * 3 + (12 * 32 + 16) * 3];
    cr_assert(abs(v - (int)(16 * i)) <= 4, "frame %zu: %d", i, v);
  }
  const char *s = (const char *)path.data + path.offsets[0];
  cr_assert(strstr(s, "ramp.mp4"));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(media_pipeline, read_video_folder_reads_each_file_once) {
  /* A folder of three copies: one task each. */
  char dir[1200], cmd[8192];
  snprintf(dir, sizeof dir, "%s/folder-%d", media_dir, (int)getpid());
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub' && cp '%s' '%s/a.mp4' && "
           "cp '%s' '%s/sub/b.mkv' && cp '%s' '%s/c.mp4' && "
           "echo text > '%s/notes.txt'", dir, media_path("ramp.mp4"), dir,
           media_path("ramp.mkv"), dir, media_path("color.mp4"), dir, dir);
  cr_assert_eq(system(cmd), 0);
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.max_frames = 5;
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, dir, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 15);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  /* A recursive glob finds only the Matroska file. */
  p = new_pipeline();
  char glob[1300];
  snprintf(glob, sizeof glob, "%s/**/*.mkv", dir);
  cr_assert_eq(collect(p, weir_read_video(p, glob, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 5);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  system(cmd);
}

Test(media_pipeline, damaged_file_fails_the_run_naming_it) {
  const char *bad[] = {"empty.mp4", "text.mp4", "truncated.mp4"};
  for (int i = 0; i < 3; i++) {
    weir_pipeline *p = new_pipeline();
    weir_block *b;
    int rc = collect(p, weir_read_video(p, media_path(bad[i]), NULL), &b);
    cr_assert_eq(rc, WEIR_EFORMAT, "%s: %s", bad[i], weir_err_name(rc));
    cr_assert(strstr(weir_pipeline_errmsg(p), bad[i]), "%s",
              weir_pipeline_errmsg(p));
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}

Test(media_pipeline, damaged_files_are_skipped_and_counted) {
  char dir[1200], cmd[8192];
  snprintf(dir, sizeof dir, "%s/mixed-%d", media_dir, (int)getpid());
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/1.mp4' && "
           "cp '%s' '%s/2.mp4' && cp '%s' '%s/3.mp4' && cp '%s' '%s/4.mp4'",
           dir, media_path("ramp.mp4"), dir, media_path("empty.mp4"), dir,
           media_path("text.mp4"), dir, media_path("truncated.mp4"), dir);
  cr_assert_eq(system(cmd), 0);
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.on_error = WEIR_ON_ERROR_SKIP;
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, dir, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 30);
  cr_assert_eq(skipped(p), 3);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  system(cmd);
}

Test(media_pipeline, missing_input_fails_at_creation) {
  weir_pipeline *p = new_pipeline();
  cr_assert_null(weir_read_video(p, media_path("nothing-here.mp4"), NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "nothing-here.mp4"), "%s",
            weir_pipeline_errmsg(p));
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.start = 2;
  o.end = 1;
  cr_assert_null(weir_read_video(p, media_path("ramp.mp4"), &o));
  weir_pipeline_destroy(p);
}

Test(media_pipeline, read_audio_windows) {
  weir_pipeline *p = new_pipeline();
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.window_seconds = 0.5;
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_audio(p, media_path("tone.flac"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 5);
  weir_column a = column(b, "audio"), st = column(b, "start");
  cr_assert_eq(a.shape[0], 1);
  cr_assert_eq(a.shape[1], 8000);
  for (size_t w = 0; w < 5; w++) {
    cr_assert_float_eq(((const double *)st.data)[w], 0.5 * w, 1e-9);
    for (size_t s = 500; s < 7500; s += 101) {
      double t = (w * 8000 + s) / 16000.0;
      float got = ((const float *)a.data)[w * 8000 + s];
      cr_assert(fabs(got - 0.125 * sin(2 * M_PI * 440 * t)) < 0.01);
    }
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(media_pipeline, read_images_fixed_and_own_size) {
  char dir[1200], cmd[8192];
  snprintf(dir, sizeof dir, "%s/images-%d", media_dir, (int)getpid());
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/a.png' && "
           "cp '%s' '%s/b.jpg' && cp '%s' '%s/c.png'", dir,
           media_path("known.png"), dir, media_path("color.jpg"), dir,
           media_path("text.mp4"), dir);
  cr_assert_eq(system(cmd), 0);
  /* c.png is text: it fails the run, naming it... */
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_images(p, dir, NULL), &b), WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "c.png"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  /* ...or is skipped; the others come out at 16x12 in one block. */
  p = new_pipeline();
  weir_image_options o = WEIR_IMAGE_OPTIONS_INIT;
  o.width = 16;
  o.height = 12;
  o.on_error = WEIR_ON_ERROR_SKIP;
  cr_assert_eq(collect(p, weir_read_images(p, dir, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 2);
  cr_assert_eq(skipped(p), 1);
  weir_column im = column(b, "image");
  cr_assert_eq(im.shape[0], 12);
  cr_assert_eq(im.shape[1], 16);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  /* Own size: the PNG is exact. */
  p = new_pipeline();
  o.width = o.height = 0;
  char png[1300];
  snprintf(png, sizeof png, "%s/a.png", dir);
  cr_assert_eq(collect(p, weir_read_images(p, png, &o), &b), WEIR_OK);
  im = column(b, "image");
  cr_assert_eq(im.shape[0], 6);
  cr_assert_eq(im.shape[1], 8);
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 8; x++)
      for (int c = 0; c < 3; c++)
        cr_assert_eq(((const uint8_t *)im.data)[(y * 8 + x) * 3 + c],
                     (37 * x + 11 * y + 91 * c) % 256);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  system(cmd);
}

Test(media_pipeline, transforms_as_operators) {
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.max_frames = 4;
  weir_op *src = weir_read_video(p, media_path("color.mp4"), &o);
  weir_op *r = weir_image_resize(p, src, "frame", 40, 30, NULL);
  weir_op *cc = weir_image_center_crop(p, r, "frame", 20, 10, NULL);
  weir_op *bgr = weir_image_convert(p, cc, "frame", WEIR_COLOR_RGB,
                                    WEIR_COLOR_BGR, NULL);
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  n.channels = 3;
  n.mean[0] = n.mean[1] = n.mean[2] = 0.5f;
  n.std[0] = n.std[1] = n.std[2] = 0.5f;
  n.chw = 1;
  weir_op *norm = weir_image_normalize(p, bgr, "frame", &n, NULL);
  weir_block *b;
  cr_assert_eq(collect(p, norm, &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 4);
  weir_column f = column(b, "frame");
  cr_assert_eq(f.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(f.shape[0], 3);
  cr_assert_eq(f.shape[1], 10);
  cr_assert_eq(f.shape[2], 20);
  /* BGR of (200, 100, 50), normalised: (v / 255 - 0.5) / 0.5. */
  const double want[3] = {50, 100, 200};
  for (int c = 0; c < 3; c++) {
    float v = ((const float *)f.data)[c * 200 + 5 * 20 + 10];
    cr_assert(fabs(v - (want[c] / 255 - 0.5) / 0.5) < 0.04, "channel %d: %f",
              c, v);
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(media_pipeline, transform_on_a_missing_column_fails_naming_it) {
  weir_pipeline *p = new_pipeline();
  weir_op *src = weir_read_video(p, media_path("color.mp4"), NULL);
  weir_op *r = weir_image_resize(p, src, "pixels", 8, 8, NULL);
  weir_block *b;
  cr_assert_eq(collect(p, r, &b), WEIR_ENOTFOUND);
  cr_assert(strstr(weir_pipeline_errmsg(p), "pixels"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(media_pipeline, write_video_then_read_it_back) {
  char out[1300];
  snprintf(out, sizeof out, "%s/written-%d.mp4", media_dir, (int)getpid());
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 32;
  o.height = 24;
  weir_video_write_options w = WEIR_VIDEO_WRITE_OPTIONS_INIT;
  w.fps = 10;
  weir_op *sink = weir_write_video(p, weir_read_video(p, media_path("ramp.mp4"), &o), out, &w);
  cr_assert_not_null(sink, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, sink), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, out, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 30);
  weir_column f = column(b, "frame");
  cr_assert_eq(f.shape[0], 24);
  for (size_t i = 0; i < 30; i += 7) {
    int v = ((const uint8_t *)f.data)[i * 32 * 24 * 3 + (12 * 32 + 16) * 3];
    cr_assert(abs(v - (int)(8 * i)) <= 6, "frame %zu: %d", i, v);
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  unlink(out);
}

Test(media_pipeline, write_audio_and_images) {
  char wav[1300], dir[1300];
  snprintf(wav, sizeof wav, "%s/written-%d.wav", media_dir, (int)getpid());
  snprintf(dir, sizeof dir, "%s/pngs-%d", media_dir, (int)getpid());
  weir_pipeline *p = new_pipeline();
  weir_op *a = weir_write_audio(p, weir_read_audio(p, media_path("tone.wav"), NULL), wav, NULL);
  cr_assert_not_null(a, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, a), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  /* 2.5 s in, 2.5 s out: the last window's padding is not written (its
   * valid_samples say where the file ended); read back, 3 windows of 1 s
   * at 16 kHz, the last one half padding again. */
  p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_audio(p, wav, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_column vs = column(b, "valid_samples");
  cr_assert_eq(vs.type, WEIR_TYPE_INT64);
  cr_assert_eq(((const int64_t *)vs.data)[0], 16000);
  cr_assert_eq(((const int64_t *)vs.data)[2], 8000, "written %lld samples past 2 s",
               (long long)((const int64_t *)vs.data)[2]);
  weir_column c = column(b, "audio");
  for (size_t s = 100; s < 16000; s += 97) {
    double t = s / 16000.0;
    cr_assert(fabs(((const float *)c.data)[s] - 0.125 * sin(2 * M_PI * 440 * t)) < 0.01);
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.max_frames = 3;
  weir_op *w = weir_write_images(p, weir_read_video(p, media_path("ramp.mp4"), &o), dir, NULL);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_images(p, dir, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_column path = column(b, "path");
  /* Named after their source and frame index. */
  cr_assert(strstr((const char *)path.data + path.offsets[2], "/ramp-000002.png"), "%.*s",
            (int)(path.offsets[3] - path.offsets[2]), (const char *)path.data + path.offsets[2]);
  weir_column im = column(b, "image");
  int v = ((const uint8_t *)im.data)[2 * 64 * 48 * 3 + (24 * 64 + 32) * 3];
  cr_assert(abs(v - 16) <= 4, "%d", v);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, wav);
  system(cmd);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* frame_index of every row, sorted (segments finish in any order). */
static size_t sorted_indices(weir_video_options *o, int64_t *out) {
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_video(p, media_path("ramp.mp4"), o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_column idx = column(b, "frame_index"), f = column(b, "frame");
  size_t n = weir_block_num_rows(b);
  for (size_t i = 0; i < n; i++) {
    out[i] = ((const int64_t *)idx.data)[i];
    /* Each row's pixels are its own frame's, whichever task made it. */
    int v = ((const uint8_t *)f.data)[i * 64 * 48 * 3 + (24 * 64 + 32) * 3];
    cr_assert(abs(v - (int)(8 * out[i])) <= 4);
  }
  qsort(out, n, sizeof *out, cmp_i64);
  /* 3 s in segments of 0.7 s (0.75 s on a 4 fps grid) are 5 or 4 tasks. */
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  if (o->segment_seconds > 0)
    cr_assert(st.tasks >= 4, "%llu tasks", (unsigned long long)st.tasks);
  if (o->workers > 0)
    cr_assert(st.workers_peak >= o->workers, "%d workers",
              st.workers_peak);
  else
    cr_assert_eq(st.tasks, 1);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  return n;
}

Test(media_pipeline, segments_sample_as_the_whole_file_does) {
  const double fps[3] = {0, 4, 0};
  const int k[3] = {3, 2, 1};
  const double start[3] = {0, 0, 0.4};
  for (int c = 0; c < 3; c++) {
    weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
    o.every_k = k[c];
    o.fps = fps[c];
    o.start = start[c];
    int64_t whole[64], parts[64];
    size_t n = sorted_indices(&o, whole);
    o.segment_seconds = 0.7;
    o.workers = 2;
    size_t m = sorted_indices(&o, parts);
    cr_assert_eq(m, n, "case %d: %zu rows in segments, %zu whole", c, m, n);
    for (size_t i = 0; i < n; i++)
      cr_assert_eq(parts[i], whole[i], "case %d row %zu", c, i);
  }
}

Test(media_pipeline, limit_stops_the_decoder_early) {
  weir_pipeline *p = new_pipeline();
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.rows_per_block = 2;
  weir_block *b;
  weir_op *l = weir_limit(p, weir_read_video(p, media_path("ramp.mp4"), &o), 5);
  cr_assert_eq(collect(p, l, &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 5);
  weir_column idx = column(b, "frame_index");
  for (size_t i = 0; i < 5; i++)
    cr_assert_eq(((const int64_t *)idx.data)[i], (int64_t)i);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}
