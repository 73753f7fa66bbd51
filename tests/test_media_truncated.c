/* Cut media files through the public readers: a WAV, FLAC or MP3 file cut
 * short of the length its header declares ends the run with an error that
 * names it (or, under on_error = skip, is counted as a skipped input with
 * its windows kept), and so does an MP4 whose index promises frames the
 * file no longer holds, while the whole files read without a complaint. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <weir.h>

#include "test_media_fixtures.h"

static void make_tones(void) {
  media_setup();
  media_make("tone4.wav", "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 "
                          "-c:a pcm_s16le");
  media_make("tone4.flac", "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 "
                           "-c:a flac");
  cr_assert(media_have_encoder("libmp3lame"), "ffmpeg has no MP3 encoder (libmp3lame)");
  /* media_make names the muxer by suffix; an MP3 goes through the mp3
   * muxer with its LAME header (the length a player trusts). */
  char cmd[2400];
  struct stat st;
  if (stat(media_path("tone4.mp3"), &st) != 0) {
    snprintf(cmd, sizeof cmd,
             "ffmpeg -hide_banner -loglevel error -y -f lavfi -i "
             "sine=frequency=440:sample_rate=48000:duration=4 -c:a libmp3lame "
             "-f mp3 '%s.tmp%d' && mv '%s.tmp%d' '%s'", media_path("tone4.mp3"), (int)getpid(),
             media_path("tone4.mp3"), (int)getpid(), media_path("tone4.mp3"));
    cr_assert_eq(system(cmd), 0, "%s", cmd);
  }
  /* The ramp video with its index in front, as streamed MP4s have it: cut,
   * its index still promises every frame. */
  char args[1400];
  snprintf(args, sizeof args, "-i '%s' -c copy -movflags +faststart", media_path("ramp.mp4"));
  media_make("ramp-fs.mp4", args);
  const char *names[] = {"tone4.wav", "tone4.flac", "tone4.mp3", "ramp-fs.mp4"};
  for (int i = 0; i < 4; i++) {
    char cut[64];
    snprintf(cut, sizeof cut, "cut-%s", names[i]);
    if (stat(media_path(cut), &st) == 0)
      continue;
    size_t n;
    char *buf = media_read(names[i], &n);
    media_write(cut, buf, n * 8 / 10);
    free(buf);
  }
}

TestSuite(media_truncated, .init = make_tones, .timeout = 60);

typedef struct result {
  int rc;
  char msg[1024];
  uint64_t rows, skipped_inputs;
} result;

static void quiet(void *user, int level, const char *msg) { (void)user, (void)level, (void)msg; }

static result read_audio(const char *name, int on_error) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.log_fn = quiet;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.window_seconds = 0.5;
  o.on_error = on_error;
  weir_op *r = weir_read_audio(p, media_path(name), &o);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  result res = {0};
  res.rc = weir_pipeline_run(p, r);
  snprintf(res.msg, sizeof res.msg, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  res.rows = st.rows_out;
  res.skipped_inputs = st.skipped_inputs;
  weir_pipeline_destroy(p);
  return res;
}

static void check_cut(const char *name) {
  char cut[64];
  snprintf(cut, sizeof cut, "cut-%s", name);
  result whole = read_audio(name, WEIR_ON_ERROR_FAIL);
  cr_assert_eq(whole.rc, WEIR_OK, "%s: %s", name, whole.msg);
  cr_assert_eq(whole.rows, 8, "%s: 4 s in 0.5 s windows", name);
  cr_assert_eq(whole.skipped_inputs, 0);

  result r = read_audio(cut, WEIR_ON_ERROR_FAIL);
  cr_assert_eq(r.rc, WEIR_EFORMAT, "%s read as whole (%llu windows): %s", cut,
               (unsigned long long)r.rows, r.msg);
  cr_assert(strstr(r.msg, cut) && strstr(r.msg, "truncated"), "%s", r.msg);

  r = read_audio(cut, WEIR_ON_ERROR_SKIP);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.skipped_inputs, 1, "%s: counted as skipped", cut);
  cr_assert(r.rows >= 6 && r.rows < 8, "%s: the windows before the cut stay (%llu)", cut,
            (unsigned long long)r.rows);
}

Test(media_truncated, wav) { check_cut("tone4.wav"); }
Test(media_truncated, flac) { check_cut("tone4.flac"); }
Test(media_truncated, mp3) { check_cut("tone4.mp3"); }

static result read_video(const char *name, int on_error) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.log_fn = quiet;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.on_error = on_error;
  weir_op *r = weir_read_video(p, media_path(name), &o);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  result res = {0};
  res.rc = weir_pipeline_run(p, r);
  snprintf(res.msg, sizeof res.msg, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  res.rows = st.rows_out;
  res.skipped_inputs = st.skipped_inputs;
  weir_pipeline_destroy(p);
  return res;
}

Test(media_truncated, mp4_with_its_index_in_front) {
  result whole = read_video("ramp-fs.mp4", WEIR_ON_ERROR_FAIL);
  cr_assert_eq(whole.rc, WEIR_OK, "%s", whole.msg);
  cr_assert_eq(whole.rows, 30);
  cr_assert_eq(whole.skipped_inputs, 0);
  result r = read_video("cut-ramp-fs.mp4", WEIR_ON_ERROR_FAIL);
  cr_assert_eq(r.rc, WEIR_EFORMAT, "read as whole (%llu frames): %s",
               (unsigned long long)r.rows, r.msg);
  cr_assert(strstr(r.msg, "cut-ramp-fs.mp4") && strstr(r.msg, "truncated"), "%s", r.msg);
  r = read_video("cut-ramp-fs.mp4", WEIR_ON_ERROR_SKIP);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.msg);
  cr_assert_eq(r.skipped_inputs, 1, "counted as skipped");
  cr_assert(r.rows > 5 && r.rows < 30, "the frames before the cut stay (%llu)",
            (unsigned long long)r.rows);
}
