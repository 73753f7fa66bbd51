/* Video decode benchmark: decode a 720p H.264 video, keep every second
 * frame, resize to 224x224 RGB, on 2 cores; weir against the ffmpeg
 * command line with the same filters and threads, and against PyTorch's
 * DataLoader with two workers decoding with PyAV (bench_media_torch.py).
 * The contenders take turns, WEIR_BENCH_ROUNDS times (default 3), and
 * each keeps its best round, since CI machines are shared; prints frames
 * per second and the ratios.
 *
 * Usage: bench_media_video [VIDEO]   (default: made once by ffmpeg in
 * $TMPDIR/weir-bench-media/video.mp4, testsrc2 1280x720, 30 fps, 20 s).
 * WEIR_BENCH_PYTHON names the Python that has torch and av
 * (default /usr/bin/python3). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int have_encoder(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' %s '", name);
  return system(cmd) == 0;
}

/* Frames per second of the ffmpeg command line, counting the frames it
 * writes to a pipe. */
static double run_ffmpeg(const char *video, long *frames) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -threads 2 -i '%s' "
           "-vf 'select=not(mod(n\\,2)),scale=224:224:flags=bilinear' "
           "-fps_mode passthrough -pix_fmt rgb24 -f rawvideo -threads 2 pipe:",
           video);
  static char buf[1 << 20];
  double t0 = now();
  FILE *f = popen(cmd, "r");
  if (!f)
    return 0;
  size_t bytes = 0, n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    bytes += n;
  int rc = pclose(f);
  double dt = now() - t0;
  *frames = (long)(bytes / (224 * 224 * 3));
  return rc == 0 && dt > 0 ? *frames / dt : 0;
}

/* Frames per second of weir: read_video with the sampling and resize in
 * the decode path, pulled through an iterator. */
static double run_weir(const char *video, int threads, double segment,
                       long *frames) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, &po) != WEIR_OK)
    return 0;
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.width = 224;
  o.height = 224;
  o.every_k = 2;
  o.decoder_threads = threads;
  o.segment_seconds = segment;
  o.workers = segment > 0 ? 2 : 0;
  double t0 = now();
  weir_op *src = weir_read_video(p, video, &o);
  weir_iter *it = NULL;
  if (!src || weir_pipeline_iter(p, src, NULL, &it) != WEIR_OK) {
    fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 0;
  }
  weir_block *b;
  int rc;
  long n = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    n += (long)weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  double dt = now() - t0;
  if (rc != WEIR_EOF)
    fprintf(stderr, "weir: %s\n", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  *frames = n;
  return rc == WEIR_EOF ? n / dt : 0;
}

/* Frames per second of the PyTorch DataLoader peer, from its JSON line. */
static double run_torch(const char *video, long *frames) {
  char here[4096];
  snprintf(here, sizeof here, "%s", __FILE__);
  const char *py = getenv("WEIR_BENCH_PYTHON");
  if (!py)
    py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' '%s/bench_media_torch.py' '%s' 2", py,
           dirname(here), video);
  FILE *f = popen(cmd, "r");
  if (!f)
    return 0;
  char line[512] = "";
  double fps = 0;
  while (fgets(line, sizeof line, f)) {
    const char *q = strstr(line, "\"fps\":");
    const char *r = strstr(line, "\"frames\":");
    if (q)
      fps = atof(q + 6);
    if (r)
      *frames = atol(r + 9);
  }
  return pclose(f) == 0 ? fps : 0;
}

int main(int argc, char **argv) {
  if (system("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0) {
    printf("bench_media_video: skipped, the ffmpeg command line is missing\n");
    return 0;
  }
  /* Paths of up to 1 KiB: the command below quotes this one three times. */
  char video[1024];
  if (argc > 1) {
    snprintf(video, sizeof video, "%s", argv[1]);
  } else {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[sizeof video - 16];
    snprintf(dir, sizeof dir, "%s/weir-bench-media", tmp);
    mkdir(dir, 0777);
    snprintf(video, sizeof video, "%s/video.mp4", dir);
    struct stat st;
    if (stat(video, &st) != 0) {
      char cmd[8192];
      snprintf(cmd, sizeof cmd,
               "ffmpeg -v error -y -f lavfi -i testsrc2=s=1280x720:r=30:d=20 "
               "%s -pix_fmt yuv420p '%s.tmp.mp4' && mv '%s.tmp.mp4' '%s'",
               have_encoder("libx264") ? "-c:v libx264" : "-c:v mpeg4 -q:v 3",
               video, video, video);
      printf("making %s (testsrc2 1280x720, 30 fps, 20 s)...\n", video);
      if (system(cmd) != 0) {
        fprintf(stderr, "bench_media_video: cannot make the test video\n");
        return 1;
      }
    }
  }
  /* The machine may be shared: the contenders run in turns, `rounds`
   * times, and each keeps its best round. */
  int rounds = getenv("WEIR_BENCH_ROUNDS") ? atoi(getenv("WEIR_BENCH_ROUNDS")) : 3;
  if (rounds < 1)
    rounds = 1;
  printf("decode, keep every 2nd frame, resize to 224x224 RGB, 2 cores: %s\n"
         "(best of %d interleaved rounds)\n", video, rounds);
  long nf = 0, nw = 0, nw2 = 0, nt = 0;
  double ff = 0, w = 0, w2 = 0, tt = 0;
  for (int r = 0; r < rounds; r++) {
    double a = run_ffmpeg(video, &nf), b = run_weir(video, 2, 0, &nw),
           c = run_weir(video, 1, 10, &nw2), d = run_torch(video, &nt);
    printf("  round %d: ffmpeg %.1f, weir %.1f, weir segments %.1f, "
           "torch %.1f frames/s\n", r + 1, a, b, c, d);
    ff = a > ff ? a : ff;
    w = b > w ? b : w;
    w2 = c > w2 ? c : w2;
    tt = d > tt ? d : tt;
  }
  printf("  ffmpeg CLI (-threads 2)         %7.1f frames/s  (%ld frames)\n",
         ff, nf);
  printf("  weir, 1 task, 2 decoder threads %7.1f frames/s  (%ld frames)\n",
         w, nw);
  printf("  weir, 10 s segments, 2 workers  %7.1f frames/s  (%ld frames)\n",
         w2, nw2);
  if (tt > 0)
    printf("  PyTorch DataLoader + PyAV (2w)  %7.1f frames/s  (%ld frames)\n",
           tt, nt);
  else
    printf("  PyTorch DataLoader + PyAV: skipped (needs python3 with torch "
           "and av; set WEIR_BENCH_PYTHON)\n");
  if (ff > 0 && w > 0)
    printf("ratio weir / ffmpeg CLI:          %.2fx (1 task), %.2fx (segments)"
           "  (goal >= 0.95x)\n", w / ff, w2 / ff);
  if (tt > 0 && w > 0)
    printf("ratio weir / PyTorch DataLoader:  %.2fx (1 task), %.2fx (segments)"
           "  (goal >= 1.5x)\n", w / tt, w2 / tt);
  return 0;
}
