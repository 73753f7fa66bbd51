/* Test media made by the ffmpeg command line, once per build tree, shared
 * by the media tests: tiny videos whose frames carry their own number in
 * their brightness, tones of known frequency, images of known pixels, and
 * damaged files. */
#ifndef WEIR_TESTS_MEDIA_FIXTURES_H
#define WEIR_TESTS_MEDIA_FIXTURES_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weir.h>

#include "servers/servers.h"

static char media_dir[1024];

static int media_have_ffmpeg(void) {
  return system("ffmpeg -hide_banner -version >/dev/null 2>&1") == 0;
}

static int media_have_encoder(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' %s '", name);
  return system(cmd) == 0;
}

static const char *media_path(const char *name) {
  static char buf[8][1200];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", media_dir, name);
  return p;
}

/* Runs an ffmpeg command writing `name`: to a temporary name first, then
 * renamed, so tests running side by side never see half a file. */
static void media_make(const char *name, const char *args) {
  const char *path = media_path(name);
  struct stat st;
  if (stat(path, &st) == 0)
    return;
  char tmp[1300], cmd[4096];
  const char *dot = strrchr(name, '.');
  snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%s", media_dir, (int)getpid(), name);
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -y %s -f %s '%s' </dev/null",
           args,
           !strcmp(dot, ".mp4") ? "mp4" : !strcmp(dot, ".mkv") ? "matroska"
           : !strcmp(dot, ".wav") ? "wav" : !strcmp(dot, ".flac") ? "flac"
           : !strcmp(dot, ".png") ? "image2" : !strcmp(dot, ".jpg") ? "image2"
           : !strcmp(dot, ".webp") ? "image2" : !strcmp(dot, ".avi") ? "avi"
           : "mp4", tmp);
  cr_assert_eq(system(cmd), 0, "ffmpeg failed: %s", cmd);
  cr_assert_eq(rename(tmp, path), 0);
}

static void media_write(const char *name, const void *data, size_t n) {
  const char *path = media_path(name);
  char tmp[1300];
  snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%s", media_dir, (int)getpid(), name);
  FILE *f = fopen(tmp, "wb");
  cr_assert(f);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  fclose(f);
  cr_assert_eq(rename(tmp, path), 0);
}

static void *media_read(const char *name, size_t *n) {
  FILE *f = fopen(media_path(name), "rb");
  cr_assert(f, "cannot open %s", name);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc((size_t)len + 1);
  cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

/* The video codec arguments: lossless H.264 when libx264 exists, else
 * MPEG-4 part 2 at its best quality. */
static const char *media_vcodec(void) {
  return media_have_encoder("libx264")
             ? "-c:v libx264 -qp 0 -preset ultrafast -pix_fmt yuv420p"
             : "-c:v mpeg4 -q:v 1 -pix_fmt yuv420p";
}

/* Makes every fixture. A build without FFmpeg skips the test; a missing
 * ffmpeg command line fails it (srv_missing). */
static void media_setup(void) {
  if (!weir_media_built())
    cr_skip_test("weir was built without FFmpeg");
  if (!media_have_ffmpeg())
    srv_missing("the ffmpeg command line is not installed (apt-get install ffmpeg)");
  const char *base = getenv("WEIR_TEST_TMP");
  snprintf(media_dir, sizeof media_dir, "%s/media-fixtures",
           base && *base ? base : "/tmp/weir-test-tmp");
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", media_dir);
  cr_assert_eq(system(cmd), 0);

  char args[1024];
  /* 30 frames at 10 fps, 64x48, frame n has grey level 8n; a key frame
   * every 5 frames so seeks have somewhere to land. */
  snprintf(args, sizeof args,
           "-f lavfi -i \"color=black:s=64x48:r=10:d=3,format=rgb24,"
           "geq=r='N*8':g='N*8':b='N*8'\" %s -g 5 -keyint_min 5 "
           "-sc_threshold 0 -bf 0", media_vcodec());
  media_make("ramp.mp4", args);
  /* The same ramp with B-frames, most of which no other frame refers to
   * (lossless H.264 has none: near-lossless, B-frames forced). */
  snprintf(args, sizeof args,
           "-f lavfi -i \"color=black:s=64x48:r=10:d=3,format=rgb24,"
           "geq=r='N*8':g='N*8':b='N*8'\" %s -g 10 -sc_threshold 0 -bf 3",
           media_have_encoder("libx264")
               ? "-c:v libx264 -crf 4 -preset veryfast -x264-params b-adapt=0 "
                 "-pix_fmt yuv420p"
               : "-c:v mpeg4 -q:v 1 -pix_fmt yuv420p");
  media_make("ramp_b.mp4", args);
  /* The same in Matroska, which keeps its index at the front. */
  snprintf(args, sizeof args, "-i '%s' -c copy", media_path("ramp.mp4"));
  media_make("ramp.mkv", args);
  /* A solid colour (R, G, B) = (200, 100, 50), 20 frames. */
  snprintf(args, sizeof args,
           "-f lavfi -i \"color=c=0xC86432:s=64x48:r=10:d=2\" %s",
           media_vcodec());
  media_make("color.mp4", args);
  /* The same colour in BT.709 (as HD video is), tagged so. */
  snprintf(args, sizeof args,
           "-f lavfi -i \"color=c=0xC86432:s=64x48:r=10:d=1\" "
           "-vf scale=out_color_matrix=bt709:out_range=tv -colorspace bt709 "
           "-color_primaries bt709 -color_trc bt709 %s", media_vcodec());
  media_make("color709.mp4", args);
  /* Tones: 440 Hz at amplitude 1/8 (the sine source's), 2.5 s at 48 kHz,
   * mono and stereo (the right channel at 880 Hz). */
  media_make("tone.wav", "-f lavfi -i sine=frequency=440:sample_rate=48000:"
             "duration=2.5 -c:a pcm_s16le");
  media_make("tone.flac", "-f lavfi -i sine=frequency=440:sample_rate=48000:"
             "duration=2.5 -c:a flac");
  media_make("stereo.wav",
             "-f lavfi -i sine=frequency=440:sample_rate=16000:duration=2 "
             "-f lavfi -i sine=frequency=880:sample_rate=16000:duration=2 "
             "-filter_complex amerge=inputs=2 -c:a pcm_s16le");

  /* An 8x6 image whose pixel (x, y) channel c is (37 x + 11 y + 91 c) mod
   * 256: a PPM we write, turned into PNG by ffmpeg. */
  struct stat st;
  if (stat(media_path("known.png"), &st) != 0) {
    char ppm[64 + 8 * 6 * 3];
    int hl = snprintf(ppm, 64, "P6\n8 6\n255\n");
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 8; x++)
        for (int c = 0; c < 3; c++)
          ppm[hl + (y * 8 + x) * 3 + c] = (char)((37 * x + 11 * y + 91 * c) % 256);
    media_write("known.ppm", ppm, (size_t)hl + 8 * 6 * 3);
    snprintf(args, sizeof args, "-i '%s' -pix_fmt rgb24",
             media_path("known.ppm"));
    media_make("known.png", args);
  }
  media_make("color.jpg", "-f lavfi -i color=c=0xC86432:s=40x30:d=1 "
             "-frames:v 1 -q:v 1");
  if (media_have_encoder("libwebp"))
    media_make("color.webp", "-f lavfi -i color=c=0xC86432:s=40x30:d=1 "
               "-frames:v 1 -c:v libwebp -lossless 1");

  /* Damaged files. */
  if (stat(media_path("empty.mp4"), &st) != 0)
    media_write("empty.mp4", "", 0);
  if (stat(media_path("text.mp4"), &st) != 0) {
    const char *t = "this is not a video, only a text file named .mp4\n";
    media_write("text.mp4", t, strlen(t));
  }
  if (stat(media_path("truncated.mp4"), &st) != 0) {
    /* An mp4 keeps its index at the end: cut in half, it has none. */
    size_t n;
    char *buf = media_read("ramp.mp4", &n);
    media_write("truncated.mp4", buf, n / 2);
    free(buf);
  }
  if (stat(media_path("truncated.mkv"), &st) != 0) {
    size_t n;
    char *buf = media_read("ramp.mkv", &n);
    media_write("truncated.mkv", buf, n / 2);
    free(buf);
  }
  /* An AVI whose codec tag no decoder knows: MPEG-4 relabelled "ZZZZ". */
  media_make("fmp4.avi", "-f lavfi -i color=red:s=64x48:r=10:d=1 -c:v mpeg4");
  if (stat(media_path("unknown.avi"), &st) != 0) {
    size_t n;
    char *buf = media_read("fmp4.avi", &n);
    for (size_t i = 0; i + 4 <= n; i++)
      if (!memcmp(buf + i, "FMP4", 4))
        memcpy(buf + i, "ZZZZ", 4);
    media_write("unknown.avi", buf, n);
    free(buf);
  }
  if (stat(media_path("flipped.mkv"), &st) != 0) {
    /* Flip bytes in the middle of the frame data, past the header. */
    size_t n;
    unsigned char *buf = media_read("ramp.mkv", &n);
    for (size_t i = n / 3; i < n / 3 + 64 && i < n; i++)
      buf[i] ^= 0x5a;
    for (size_t i = 2 * n / 3; i < 2 * n / 3 + 64 && i < n; i++)
      buf[i] ^= 0xff;
    media_write("flipped.mkv", buf, n);
    free(buf);
  }
}

#endif /* WEIR_TESTS_MEDIA_FIXTURES_H */
