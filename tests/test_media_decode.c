/* The per-file media decoders, without a pipeline: frame counts, time
 * stamps and pixel values after sampling and resizing, audio windows,
 * image pixels, and damaged inputs. */
#include <math.h>

#include <weir.h>

#include "media/media_internal.h"
#include "test_media_fixtures.h"

TestSuite(media_decode, .init = media_setup, .timeout = 60);

/* Decodes every frame of `name` under `o` into one list of rows. */
typedef struct frames {
  weir_block *blocks[256];
  size_t nblocks;
  size_t rows;
} frames;

static int decode_all(const char *name, weir_video_options *user, frames *f,
                      char *err) {
  weir_video_options o;
  weir__video_options_fill(&o, user);
  memset(f, 0, sizeof *f);
  weir__video_decoder *d = NULL;
  err[0] = '\0';
  int rc = weir__video_decoder_open(&d, media_path(name), &o, NULL, NULL, err,
                                    WEIR__MEDIA_ERRLEN);
  int eof = 0;
  while (rc == WEIR_OK && !eof) {
    weir_block *b = NULL;
    rc = weir__video_decoder_read(d, o.rows_per_block, &b, &eof, err,
                                  WEIR__MEDIA_ERRLEN);
    if (b) {
      cr_assert(weir_block_num_rows(b) <= o.rows_per_block);
      cr_assert(f->nblocks < 256);
      f->rows += weir_block_num_rows(b);
      f->blocks[f->nblocks++] = b;
    }
  }
  weir__video_decoder_close(d);
  return rc;
}

static void frames_free(frames *f) {
  for (size_t i = 0; i < f->nblocks; i++)
    weir_block_unref(&f->blocks[i]);
}

/* Row `i` over all blocks: its column `name`. */
static void row_col(frames *f, size_t i, const char *name, weir_column *c,
                    size_t *r) {
  for (size_t k = 0; k < f->nblocks; k++) {
    size_t n = weir_block_num_rows(f->blocks[k]);
    if (i < n) {
      int idx = weir_block_column_index(f->blocks[k], name);
      cr_assert(idx >= 0, "no column %s", name);
      cr_assert_eq(weir_block_column(f->blocks[k], (size_t)idx, c), WEIR_OK);
      *r = i;
      return;
    }
    i -= n;
  }
  cr_assert_fail("row out of range");
}

static int64_t row_int(frames *f, size_t i, const char *name) {
  weir_column c;
  size_t r;
  row_col(f, i, name, &c, &r);
  return ((const int64_t *)c.data)[r];
}

static double row_f64(frames *f, size_t i, const char *name) {
  weir_column c;
  size_t r;
  row_col(f, i, name, &c, &r);
  return ((const double *)c.data)[r];
}

static const uint8_t *row_pixels(frames *f, size_t i, weir_column *c) {
  size_t r;
  row_col(f, i, "frame", c, &r);
  size_t per = 1;
  for (int d = 0; d < c->ndim; d++)
    per *= (size_t)c->shape[d];
  return (const uint8_t *)c->data + r * per;
}

/* The grey level of frame n of ramp.mp4 is 8 n; check a frame's centre. */
static void assert_ramp_frame(frames *f, size_t i, int64_t n) {
  weir_column c;
  const uint8_t *px = row_pixels(f, i, &c);
  size_t h = (size_t)c.shape[0], w = (size_t)c.shape[1];
  const uint8_t *mid = px + ((h / 2) * w + w / 2) * 3;
  for (int k = 0; k < 3; k++)
    cr_assert(abs((int)mid[k] - (int)(8 * n)) <= 4,
              "row %zu: pixel %d, expected about %d (frame %lld)", i, mid[k],
              (int)(8 * n), (long long)n);
}

Test(media_decode, every_frame_with_index_and_time) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.rows_per_block = 7;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 30);
  cr_assert_eq(f.nblocks, 5); /* 7+7+7+7+2 */
  weir_column c;
  row_pixels(&f, 0, &c);
  cr_assert_eq(c.dtype, WEIR_DTYPE_UINT8);
  cr_assert_eq(c.ndim, 3);
  cr_assert_eq(c.shape[0], 48);
  cr_assert_eq(c.shape[1], 64);
  cr_assert_eq(c.shape[2], 3);
  for (size_t i = 0; i < 30; i++) {
    cr_assert_eq(row_int(&f, i, "frame_index"), (int64_t)i);
    cr_assert_float_eq(row_f64(&f, i, "pts"), i / 10.0, 1e-6);
    cr_assert_eq(row_int(&f, i, "stream_index"), 0);
    assert_ramp_frame(&f, i, (int64_t)i);
  }
  frames_free(&f);
}

Test(media_decode, solid_colour_keeps_its_rgb_values_after_resize) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 32;
  o.height = 20;
  cr_assert_eq(decode_all("color.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 20);
  weir_column c;
  const uint8_t *px = row_pixels(&f, 5, &c);
  cr_assert_eq(c.shape[0], 20);
  cr_assert_eq(c.shape[1], 32);
  const int want[3] = {200, 100, 50};
  for (size_t p = 0; p < 20 * 32; p++)
    for (int k = 0; k < 3; k++)
      cr_assert(abs(px[p * 3 + k] - want[k]) <= 4, "pixel %zu.%d = %d", p, k,
                px[p * 3 + k]);
  frames_free(&f);
}

Test(media_decode, bt709_video_is_converted_with_its_own_matrix) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.max_frames = 1;
  cr_assert_eq(decode_all("color709.mp4", &o, &f, err), WEIR_OK, "%s", err);
  weir_column c;
  const uint8_t *px = row_pixels(&f, 0, &c);
  const int want[3] = {200, 100, 50};
  for (int k = 0; k < 3; k++)
    cr_assert(abs(px[(24 * 64 + 32) * 3 + k] - want[k]) <= 4, "channel %d: %d",
              k, px[(24 * 64 + 32) * 3 + k]);
  frames_free(&f);
}

Test(media_decode, every_kth_frame_and_max_frames) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.every_k = 3;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 10);
  for (size_t i = 0; i < f.rows; i++) {
    cr_assert_eq(row_int(&f, i, "frame_index"), (int64_t)(3 * i));
    assert_ramp_frame(&f, i, (int64_t)(3 * i));
  }
  frames_free(&f);
  o.max_frames = 4;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 4);
  cr_assert_eq(row_int(&f, 3, "frame_index"), 9);
  frames_free(&f);
}

/* Decodes ramp_b.mp4 (30 frames, B-frames) with every_k = k, and says how
 * many frames the decoder gave. */
static int64_t decode_ramp_b(int k, frames *f) {
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options user = WEIR_VIDEO_OPTIONS_INIT, o;
  user.every_k = k;
  weir__video_options_fill(&o, &user);
  weir__video_decoder *d = NULL;
  cr_assert_eq(weir__video_decoder_open(&d, media_path("ramp_b.mp4"), &o, NULL, NULL, err,
                                        sizeof err),
               WEIR_OK, "%s", err);
  memset(f, 0, sizeof *f);
  int eof = 0;
  while (!eof) {
    weir_block *b = NULL;
    cr_assert_eq(weir__video_decoder_read(d, o.rows_per_block, &b, &eof, err, sizeof err),
                 WEIR_OK, "%s", err);
    if (b) {
      f->rows += weir_block_num_rows(b);
      f->blocks[f->nblocks++] = b;
    }
  }
  int64_t decoded = weir__video_decoder_decoded(d);
  weir__video_decoder_close(d);
  return decoded;
}

Test(media_decode, frames_every_k_drops_go_undecoded_and_the_kept_ones_are_the_same) {
  for (int k = 2; k <= 3; k++) {
    frames skip, all;
    int64_t decoded = decode_ramp_b(k, &skip);
    setenv("WEIR_MEDIA_DECODE_ALL", "1", 1);
    int64_t decoded_all = decode_ramp_b(k, &all);
    unsetenv("WEIR_MEDIA_DECODE_ALL");
    cr_assert_eq(decoded_all, 30, "k %d", k);
    cr_assert_lt(decoded, 30, "k %d: the non-reference frames k drops are skipped", k);
    cr_assert_eq(skip.rows, (size_t)(30 + k - 1) / (size_t)k, "k %d", k);
    cr_assert_eq(all.rows, skip.rows, "k %d", k);
    for (size_t i = 0; i < skip.rows; i++) {
      cr_assert_eq(row_int(&skip, i, "frame_index"), (int64_t)(k * (int)i), "k %d row %zu", k, i);
      cr_assert_eq(row_int(&all, i, "frame_index"), (int64_t)(k * (int)i));
      weir_column a, b;
      const uint8_t *pa = row_pixels(&skip, i, &a), *pb = row_pixels(&all, i, &b);
      cr_assert_eq(memcmp(pa, pb, (size_t)(a.shape[0] * a.shape[1] * a.shape[2])), 0,
                   "k %d row %zu: the same pixels either way", k, i);
      assert_ramp_frame(&skip, i, (int64_t)(k * (int)i));
    }
    frames_free(&skip);
    frames_free(&all);
  }
}

Test(media_decode, target_fps_keeps_the_first_frame_of_each_slot) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.fps = 4; /* from 10 fps: slots of 0.25 s start at 0, 0.3, 0.5, 0.8 ... */
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 12, "got %zu rows", f.rows);
  for (size_t i = 0; i < f.rows; i++) {
    double t = row_f64(&f, i, "pts");
    int64_t n = row_int(&f, i, "frame_index");
    /* The kept frame is the first at or after the slot's start. */
    int64_t want = (int64_t)ceil(i * 10.0 / 4.0 - 1e-9);
    cr_assert_eq(n, want, "row %zu: frame %lld, want %lld", i, (long long)n,
                 (long long)want);
    cr_assert_float_eq(t, want / 10.0, 1e-6);
    assert_ramp_frame(&f, i, n);
  }
  frames_free(&f);
}

Test(media_decode, time_range_seeks_and_counts_from_time_stamps) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.start = 1.2;
  o.end = 2.05;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 9, "got %zu rows", f.rows); /* frames 12..20 */
  for (size_t i = 0; i < f.rows; i++) {
    cr_assert_eq(row_int(&f, i, "frame_index"), (int64_t)(12 + i));
    cr_assert_float_eq(row_f64(&f, i, "pts"), (12 + i) / 10.0, 1e-6);
    assert_ramp_frame(&f, i, (int64_t)(12 + i));
  }
  frames_free(&f);
}

Test(media_decode, clips_of_consecutive_frames_spread_over_the_file) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.clips = 3;
  o.clip_frames = 4;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 12);
  /* 3 s of video, clips 0.4 s long: starts 0, 1.3, 2.6 s. */
  const int64_t first[3] = {0, 13, 26};
  for (size_t i = 0; i < 12; i++) {
    int64_t n = first[i / 4] + (int64_t)(i % 4);
    cr_assert_eq(row_int(&f, i, "clip"), (int64_t)(i / 4));
    cr_assert_eq(row_int(&f, i, "frame_index"), n, "row %zu", i);
    assert_ramp_frame(&f, i, n);
  }
  frames_free(&f);
}

Test(media_decode, clips_with_stride_and_yuv_output) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.clips = 2;
  o.clip_frames = 3;
  o.every_k = 2;
  o.pixel_format = WEIR_PIXEL_YUV420P;
  o.width = 32;
  o.height = 24;
  cr_assert_eq(decode_all("ramp.mkv", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert_eq(f.rows, 6);
  /* Clips 0.6 s long over 3 s: starts 0 and 2.4 s; every second frame. */
  const int64_t want[6] = {0, 2, 4, 24, 26, 28};
  weir_column c;
  for (size_t i = 0; i < 6; i++) {
    cr_assert_eq(row_int(&f, i, "frame_index"), want[i], "row %zu", i);
    const uint8_t *px = row_pixels(&f, i, &c);
    cr_assert_eq(c.ndim, 2);
    cr_assert_eq(c.shape[0], 36);
    cr_assert_eq(c.shape[1], 32);
    /* Grey: limited-range luma 16 + 219 v / 255, chroma 128. */
    int y = px[12 * 32 + 16], u = px[24 * 32 + 6 * 16 + 8];
    int luma = (int)lround(16 + 219.0 * 8 * want[i] / 255);
    cr_assert(abs(y - luma) <= 3, "row %zu luma %d want %d", i, y, luma);
    cr_assert(abs(u - 128) <= 2, "row %zu chroma %d", i, u);
  }
  frames_free(&f);
}

Test(media_decode, aspect_ratio_kept_with_one_side_given) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 32;
  o.max_frames = 1;
  cr_assert_eq(decode_all("ramp.mp4", &o, &f, err), WEIR_OK, "%s", err);
  weir_column c;
  row_pixels(&f, 0, &c);
  cr_assert_eq(c.shape[0], 24);
  cr_assert_eq(c.shape[1], 32);
  frames_free(&f);
}

/* ---- damaged input ---- */

static void assert_fails(const char *name, int want) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  int rc = decode_all(name, &o, &f, err);
  cr_assert_eq(rc, want, "%s: got %s (%s)", name, weir_err_name(rc), err);
  cr_assert(strstr(err, name) != NULL, "message does not name the file: %s",
            err);
  frames_free(&f);
}

Test(media_decode, empty_file_is_an_error_naming_it) {
  assert_fails("empty.mp4", WEIR_EFORMAT);
}

Test(media_decode, text_file_named_mp4_is_an_error_naming_it) {
  assert_fails("text.mp4", WEIR_EFORMAT);
}

Test(media_decode, truncated_mp4_without_index_is_an_error) {
  assert_fails("truncated.mp4", WEIR_EFORMAT);
}

Test(media_decode, file_uri_reads_the_same_file) {
  char uri[1300], err[WEIR__MEDIA_ERRLEN] = "";
  snprintf(uri, sizeof uri, "file://%s", media_path("ramp.mp4"));
  if (uri[7] != '/')
    cr_skip_test("the fixtures are under a relative path");
  weir_video_options o;
  weir__video_options_fill(&o, NULL);
  weir__video_decoder *d = NULL;
  cr_assert_eq(weir__video_decoder_open(&d, uri, &o, NULL, NULL, err,
                                        sizeof err), WEIR_OK, "%s", err);
  weir__video_decoder_close(d);
}

Test(media_decode, missing_file_is_not_found) {
  assert_fails("no-such-file.mp4", WEIR_ENOTFOUND);
}

Test(media_decode, audio_only_file_has_no_video_stream) {
  assert_fails("tone.wav", WEIR_EFORMAT);
}

Test(media_decode, unknown_codec_is_not_supported_naming_the_file) {
  assert_fails("unknown.avi", WEIR_ENOTSUP);
}

Test(media_decode, truncated_matroska_gives_the_frames_before_the_cut) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  cr_assert_eq(decode_all("truncated.mkv", &o, &f, err), WEIR_OK, "%s", err);
  cr_assert(f.rows > 3 && f.rows < 30, "rows %zu", f.rows);
  for (size_t i = 0; i + 1 < f.rows; i++)
    assert_ramp_frame(&f, i, (int64_t)i);
  frames_free(&f);
}

Test(media_decode, flipped_bytes_do_not_stop_the_decoder) {
  frames f;
  char err[WEIR__MEDIA_ERRLEN];
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  int rc = decode_all("flipped.mkv", &o, &f, err);
  cr_assert_eq(rc, WEIR_OK, "%s", err);
  /* Frames after the damage still arrive, with the right index. */
  cr_assert(f.rows >= 20, "rows %zu", f.rows);
  int64_t last = row_int(&f, f.rows - 1, "frame_index");
  cr_assert_eq(last, 29);
  frames_free(&f);
}

/* ---- audio ---- */

typedef struct windows {
  weir_block *blocks[64];
  size_t nblocks, rows;
} windows;

static int audio_all(const char *name, weir_audio_options *user, windows *w,
                     char *err) {
  weir_audio_options o;
  weir__audio_options_fill(&o, user);
  memset(w, 0, sizeof *w);
  err[0] = '\0';
  weir__audio_decoder *d = NULL;
  int rc = weir__audio_decoder_open(&d, media_path(name), &o, NULL, NULL, err,
                                    WEIR__MEDIA_ERRLEN);
  int eof = 0;
  while (rc == WEIR_OK && !eof) {
    weir_block *b = NULL;
    rc = weir__audio_decoder_read(d, o.rows_per_block, &b, &eof, err,
                                  WEIR__MEDIA_ERRLEN);
    if (b) {
      w->rows += weir_block_num_rows(b);
      w->blocks[w->nblocks++] = b;
    }
  }
  weir__audio_decoder_close(d);
  return rc;
}

/* Sample s of channel ch of window i (all windows in one block here). */
static float sample(windows *w, size_t i, int ch, size_t s, weir_column *c) {
  size_t r = i;
  for (size_t k = 0; k < w->nblocks; k++) {
    size_t n = weir_block_num_rows(w->blocks[k]);
    if (r < n) {
      cr_assert_eq(weir_block_column(w->blocks[k],
                                     (size_t)weir_block_column_index(w->blocks[k], "audio"),
                                     c), WEIR_OK);
      size_t per = (size_t)(c->shape[0] * c->shape[1]);
      return ((const float *)c->data)[r * per + (size_t)ch * c->shape[1] + s];
    }
    r -= n;
  }
  cr_assert_fail("window out of range");
  return 0;
}

static void windows_free(windows *w) {
  for (size_t i = 0; i < w->nblocks; i++)
    weir_block_unref(&w->blocks[i]);
}

static void assert_tone(const char *name) {
  windows w;
  char err[WEIR__MEDIA_ERRLEN];
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT; /* 16 kHz mono, 1 s */
  o.rows_per_block = 2;
  cr_assert_eq(audio_all(name, &o, &w, err), WEIR_OK, "%s", err);
  cr_assert_eq(w.rows, 3); /* 2.5 s: the last window padded */
  weir_column c;
  sample(&w, 0, 0, 0, &c);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(c.shape[0], 1);
  cr_assert_eq(c.shape[1], 16000);
  /* Samples follow 1/8 sin(2 pi 440 t), away from the file's edges where
   * the resampler's filter has no neighbours. */
  for (size_t win = 0; win < 3; win++)
    for (size_t s = 100; s < 7900; s += 37) {
      double t = (double)(win * 16000 + s) / 16000.0;
      double want = 0.125 * sin(2 * M_PI * 440 * t);
      float got = sample(&w, win, 0, s, &c);
      cr_assert(fabs(got - want) < 0.01, "window %zu sample %zu: %f vs %f",
                win, s, got, want);
    }
  /* The padding after 2.5 s is silence. */
  for (size_t s = 8200; s < 16000; s += 101)
    cr_assert_eq(sample(&w, 2, 0, s, &c), 0.0f);
  /* start column */
  int sc = weir_block_column_index(w.blocks[1], "start");
  cr_assert(sc >= 0);
  cr_assert_eq(weir_block_column(w.blocks[1], (size_t)sc, &c), WEIR_OK);
  cr_assert_float_eq(((const double *)c.data)[0], 2.0, 1e-9);
  windows_free(&w);
}

Test(media_decode, audio_windows_of_a_wav_tone) { assert_tone("tone.wav"); }
Test(media_decode, audio_windows_of_a_flac_tone) { assert_tone("tone.flac"); }

Test(media_decode, audio_last_window_dropped_on_request) {
  windows w;
  char err[WEIR__MEDIA_ERRLEN];
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.drop_partial = 1;
  o.window_seconds = 0.5;
  cr_assert_eq(audio_all("tone.wav", &o, &w, err), WEIR_OK, "%s", err);
  cr_assert_eq(w.rows, 5);
  windows_free(&w);
}

Test(media_decode, audio_stereo_keeps_each_channel) {
  windows w;
  char err[WEIR__MEDIA_ERRLEN];
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.channels = 2;
  o.sample_rate = 8000;
  cr_assert_eq(audio_all("stereo.wav", &o, &w, err), WEIR_OK, "%s", err);
  cr_assert_eq(w.rows, 2);
  weir_column c;
  for (size_t s = 200; s < 7800; s += 53) {
    double t = s / 8000.0;
    cr_assert(fabs(sample(&w, 0, 0, s, &c) - 0.125 * sin(2 * M_PI * 440 * t)) < 0.01);
    cr_assert(fabs(sample(&w, 0, 1, s, &c) - 0.125 * sin(2 * M_PI * 880 * t)) < 0.01);
  }
  windows_free(&w);
}

Test(media_decode, audio_from_a_text_file_is_an_error) {
  windows w;
  char err[WEIR__MEDIA_ERRLEN];
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  cr_assert_eq(audio_all("text.mp4", &o, &w, err), WEIR_EFORMAT);
  cr_assert(strstr(err, "text.mp4"));
  windows_free(&w);
}

/* ---- images ---- */

Test(media_decode, png_pixels_are_exact) {
  uint8_t *px = NULL;
  int w = 0, h = 0;
  char err[WEIR__MEDIA_ERRLEN] = "";
  cr_assert_eq(weir__image_decode(media_path("known.png"), 0, 0, &px, &w, &h,
                                  NULL, NULL, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(w, 8);
  cr_assert_eq(h, 6);
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 8; x++)
      for (int c = 0; c < 3; c++)
        cr_assert_eq(px[(y * 8 + x) * 3 + c], (37 * x + 11 * y + 91 * c) % 256);
  free(px);
}

Test(media_decode, jpeg_and_webp_decode_and_resize) {
  const char *names[] = {"color.jpg", "color.webp"};
  for (int i = 0; i < 2; i++) {
    if (i == 1 && !media_have_encoder("libwebp"))
      continue;
    uint8_t *px = NULL;
    int w = 0, h = 0;
    char err[WEIR__MEDIA_ERRLEN] = "";
    cr_assert_eq(weir__image_decode(media_path(names[i]), 20, 10, &px, &w, &h,
                                    NULL, NULL, err, sizeof err), WEIR_OK,
                 "%s", err);
    cr_assert_eq(w, 20);
    cr_assert_eq(h, 10);
    const int want[3] = {200, 100, 50};
    for (int p = 0; p < 200; p++)
      for (int c = 0; c < 3; c++)
        cr_assert(abs(px[p * 3 + c] - want[c]) <= 6, "%s pixel %d.%d = %d",
                  names[i], p, c, px[p * 3 + c]);
    free(px);
  }
}

Test(media_decode, image_from_an_empty_file_is_an_error) {
  uint8_t *px = NULL;
  int w, h;
  char err[WEIR__MEDIA_ERRLEN] = "";
  cr_assert_eq(weir__image_decode(media_path("empty.mp4"), 0, 0, &px, &w, &h,
                                  NULL, NULL, err, sizeof err), WEIR_EFORMAT);
  cr_assert(strstr(err, "empty.mp4"));
  cr_assert_null(px);
}
