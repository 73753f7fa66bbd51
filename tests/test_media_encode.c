/* The encoders behind the writers: frames, samples and images written and
 * read back through the decoders (and the ffmpeg command line's probe). */
#include <math.h>

#include <weir.h>

#include "media/encoders.h"
#include "media/media_internal.h"
#include "test_media_fixtures.h"

TestSuite(media_encode, .init = media_setup, .timeout = 60);

static char out_path[1400];

static const char *out_file(const char *name) {
  snprintf(out_path, sizeof out_path, "%s/out-%d-%s", media_dir, (int)getpid(),
           name);
  return out_path;
}

static void write_ramp(const char *path, const char *codec, int nframes) {
  char err[WEIR__MEDIA_ERRLEN] = "";
  weir__video_encoder *e = NULL;
  cr_assert_eq(weir__video_encoder_open(&e, path, 32, 24, 10, codec, 0, err,
                                        sizeof err), WEIR_OK, "%s", err);
  uint8_t rgb[32 * 24 * 3];
  for (int n = 0; n < nframes; n++) {
    memset(rgb, 10 * n, sizeof rgb);
    cr_assert_eq(weir__video_encoder_write(e, rgb, err, sizeof err), WEIR_OK,
                 "%s", err);
  }
  /* Not visible before finish. */
  cr_assert_neq(access(path, F_OK), 0);
  cr_assert_eq(weir__video_encoder_finish(e, err, sizeof err), WEIR_OK, "%s",
               err);
  weir__video_encoder_close(e);
}

static void check_ramp(const char *path, int nframes) {
  weir_video_options o;
  weir__video_options_fill(&o, NULL);
  o.rows_per_block = 64;
  char err[WEIR__MEDIA_ERRLEN] = "";
  weir__video_decoder *d = NULL;
  cr_assert_eq(weir__video_decoder_open(&d, path, &o, NULL, NULL, err,
                                        sizeof err), WEIR_OK, "%s", err);
  weir_block *b = NULL;
  int eof = 0;
  cr_assert_eq(weir__video_decoder_read(d, 64, &b, &eof, err, sizeof err),
               WEIR_OK, "%s", err);
  cr_assert_eq(weir_block_num_rows(b), (size_t)nframes, "rows %zu", weir_block_num_rows(b));
  weir_column c, pts;
  cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
  cr_assert_eq(c.shape[0], 24);
  cr_assert_eq(c.shape[1], 32);
  cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "pts"),
                                 &pts), WEIR_OK);
  for (int n = 0; n < nframes; n++) {
    const uint8_t *px = (const uint8_t *)c.data + (size_t)n * 32 * 24 * 3;
    int mid = px[(12 * 32 + 16) * 3];
    cr_assert(abs(mid - 10 * n) <= 4, "frame %d: %d", n, mid);
    cr_assert_float_eq(((const double *)pts.data)[n], n / 10.0, 1e-3);
  }
  weir_block_unref(&b);
  weir__video_decoder_close(d);
}

Test(media_encode, video_round_trip_default_codec) {
  const char *p = out_file("ramp.mp4");
  write_ramp(p, NULL, 15);
  check_ramp(p, 15);
  unlink(p);
}

Test(media_encode, video_round_trip_mpeg4_in_avi) {
  const char *p = out_file("ramp.avi");
  write_ramp(p, "mpeg4", 12);
  check_ramp(p, 12);
  unlink(p);
}

Test(media_encode, video_bad_sizes_and_codecs_fail_cleanly) {
  char err[WEIR__MEDIA_ERRLEN] = "";
  weir__video_encoder *e = NULL;
  cr_assert_eq(weir__video_encoder_open(&e, out_file("x.mp4"), 31, 24, 10,
                                        "mpeg4", 0, err, sizeof err), WEIR_EINVAL);
  cr_assert(strstr(err, "even"), "%s", err);
  cr_assert_eq(weir__video_encoder_open(&e, out_file("x.mp4"), 32, 24, 10,
                                        "no-such-codec", 0, err, sizeof err),
               WEIR_ENOTSUP);
  cr_assert_eq(weir__video_encoder_open(&e, out_file("x.nosuchformat"), 32, 24,
                                        10, NULL, 0, err, sizeof err), WEIR_EINVAL);
  /* An abandoned file leaves nothing behind. */
  cr_assert_eq(weir__video_encoder_open(&e, out_file("gone.mp4"), 32, 24, 10,
                                        NULL, 0, err, sizeof err), WEIR_OK, "%s", err);
  uint8_t rgb[32 * 24 * 3] = {0};
  cr_assert_eq(weir__video_encoder_write(e, rgb, err, sizeof err), WEIR_OK);
  weir__video_encoder_close(e);
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'gone.mp4'", media_dir);
  cr_assert_neq(system(cmd), 0, "a temporary file was left behind");
}

static void audio_round_trip(const char *name) {
  const char *p = out_file(name);
  char err[WEIR__MEDIA_ERRLEN] = "";
  weir__audio_encoder *e = NULL;
  cr_assert_eq(weir__audio_encoder_open(&e, p, 8000, 2, err, sizeof err),
               WEIR_OK, "%s", err);
  /* 1.5 s in three rows of 4000 samples: 300 Hz left, 1000 Hz right. */
  float row[2 * 4000];
  for (int r = 0; r < 3; r++) {
    for (int s = 0; s < 4000; s++) {
      double t = (r * 4000 + s) / 8000.0;
      row[s] = (float)(0.5 * sin(2 * M_PI * 300 * t));
      row[4000 + s] = (float)(0.25 * sin(2 * M_PI * 1000 * t));
    }
    cr_assert_eq(weir__audio_encoder_write(e, row, 4000, 4000, err, sizeof err),
                 WEIR_OK, "%s", err);
  }
  cr_assert_eq(weir__audio_encoder_finish(e, err, sizeof err), WEIR_OK, "%s",
               err);
  weir__audio_encoder_close(e);

  weir_audio_options o;
  weir__audio_options_fill(&o, NULL);
  o.sample_rate = 8000;
  o.channels = 2;
  o.window_seconds = 0.5;
  weir__audio_decoder *d = NULL;
  cr_assert_eq(weir__audio_decoder_open(&d, p, &o, NULL, NULL, err, sizeof err),
               WEIR_OK, "%s", err);
  weir_block *b = NULL;
  int eof = 0;
  cr_assert_eq(weir__audio_decoder_read(d, 64, &b, &eof, err, sizeof err),
               WEIR_OK, "%s", err);
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_column c;
  cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
  const float *a = c.data;
  for (int w = 0; w < 3; w++)
    for (int s = 0; s < 4000; s += 13) {
      double t = (w * 4000 + s) / 8000.0;
      cr_assert(fabs(a[(size_t)w * 8000 + s] - 0.5 * sin(2 * M_PI * 300 * t)) < 1e-3);
      cr_assert(fabs(a[(size_t)w * 8000 + 4000 + s] - 0.25 * sin(2 * M_PI * 1000 * t)) < 1e-3);
    }
  weir_block_unref(&b);
  weir__audio_decoder_close(d);
  unlink(p);
}

Test(media_encode, audio_round_trip_wav) { audio_round_trip("tone.wav"); }
Test(media_encode, audio_round_trip_flac) { audio_round_trip("tone.flac"); }

Test(media_encode, audio_needs_wav_or_flac) {
  char err[WEIR__MEDIA_ERRLEN] = "";
  weir__audio_encoder *e = NULL;
  cr_assert_eq(weir__audio_encoder_open(&e, out_file("x.ogg"), 8000, 1, err,
                                        sizeof err), WEIR_EINVAL);
  cr_assert(strstr(err, "x.ogg"));
}

Test(media_encode, png_round_trip_is_exact) {
  uint8_t px[7 * 5 * 4];
  for (size_t i = 0; i < sizeof px; i++)
    px[i] = (uint8_t)(i * 37 + 5);
  for (int ch = 3; ch <= 4; ch++) {
    const char *p = out_file(ch == 3 ? "rgb.png" : "rgba.png");
    char err[WEIR__MEDIA_ERRLEN] = "";
    cr_assert_eq(weir__png_write(p, px, 7, 5, ch, err, sizeof err), WEIR_OK,
                 "%s", err);
    uint8_t *back = NULL;
    int w, h;
    cr_assert_eq(weir__image_decode(p, 0, 0, &back, &w, &h, NULL, NULL, err,
                                    sizeof err), WEIR_OK, "%s", err);
    cr_assert_eq(w, 7);
    cr_assert_eq(h, 5);
    for (int i = 0; i < 35; i++)
      for (int c = 0; c < 3; c++)
        cr_assert_eq(back[i * 3 + c], px[i * ch + c]);
    free(back);
    unlink(p);
  }
}
