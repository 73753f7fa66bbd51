/* Damaged media through the public readers: valid videos, sounds and
 * images made by the ffmpeg command line, cut short, with bytes flipped, with
 * impossible sizes written into their headers, or replaced by noise. Every
 * file must end its run in time with WEIR_OK or an error naming it, be
 * counted as skipped under WEIR_ON_ERROR_SKIP, and give rows that hold the
 * bytes their shape claims. The image transforms must refuse degenerate
 * arguments with WEIR_EINVAL and a message.
 *
 * Mutations come from fixed seeds; a failure names the case (its file name
 * says base, mutation and seed). WEIR_MF_VERBOSE=1 prints every case. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <weir.h>

#include "test_media_fixtures.h"

/* ---- the case under way, named if the test hangs ----------------------- */

static char mf_current[2048];

static void mf_on_alarm(int sig) {
  (void)sig;
  static const char pre[] = "\ntest_media_malformed: still running after the "
                            "alarm, stuck on: ";
  ssize_t r = write(2, pre, sizeof pre - 1);
  r = write(2, mf_current, strnlen(mf_current, sizeof mf_current));
  r = write(2, "\n", 1);
  (void)r;
  _exit(3);
}

/* Arms an alarm a little before Criterion's timeout, so a hang names its
 * case instead of only the test. */
static void mf_watch(unsigned seconds) {
  signal(SIGALRM, mf_on_alarm);
  alarm(seconds);
}

static void mf_case(const char *fmt, const char *arg) {
  snprintf(mf_current, sizeof mf_current, fmt, arg);
  if (getenv("WEIR_MF_VERBOSE"))
    fprintf(stderr, "case %s\n", mf_current);
}

/* ---- seeded mutations --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
  /* xorshift64*: small, and the same on every machine. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static char mf_dir[1200];

/* Writes `n` bytes of `data` as `name` in the case folder `sub`. */
static void put(const char *sub, const char *name, const void *data,
                size_t n) {
  char path[1800];
  snprintf(path, sizeof path, "%s/%s/%s", mf_dir, sub, name);
  FILE *f = fopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

static size_t find(const unsigned char *buf, size_t n, const char *tag,
                   size_t from) {
  size_t k = strlen(tag);
  for (size_t i = from; i + k <= n; i++)
    if (!memcmp(buf + i, tag, k))
      return i;
  return (size_t)-1;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static void put_le32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static void put_le16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

/* The mutations every base file gets: cuts at fixed and seeded offsets
 * (inside the header, the index, the data), bytes flipped in the header
 * region [h0, h1) and in the payload. */
static void mutate(const char *sub, const char *base, const char *ext,
                   size_t h0, size_t h1, uint64_t seed) {
  size_t n;
  unsigned char *src = media_read(base, &n);
  unsigned char *buf = malloc(n);
  cr_assert(buf);
  char name[256];
  size_t cuts[] = {1, 7, 12, 33, 100, 300, 1000, n / 8, n / 4, n / 2,
                   3 * n / 4, n - 100, n - 1, h0 + (h1 - h0) / 3,
                   h0 + (h1 - h0) / 2, h0 + 9};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    if (cuts[i] == 0 || cuts[i] >= n)
      continue;
    snprintf(name, sizeof name, "%s-cut%zu%s", base, cuts[i], ext);
    put(sub, name, src, cuts[i]);
  }
  uint64_t s = seed;
  for (int v = 0; v < 4; v++) {
    /* A few bytes of the header, then more of the payload. */
    memcpy(buf, src, n);
    size_t span = h1 > h0 ? h1 - h0 : 1;
    int flips = 1 + (int)(rng_next(&s) % 8);
    for (int k = 0; k < flips; k++)
      buf[h0 + rng_next(&s) % span] ^= (unsigned char)(1 + rng_next(&s) % 255);
    snprintf(name, sizeof name, "%s-hdr%d-s%llx%s", base, v,
             (unsigned long long)seed, ext);
    put(sub, name, buf, n);
    memcpy(buf, src, n);
    for (int k = 0; k < 24; k++)
      buf[n / 4 + rng_next(&s) % (n / 2)] = (unsigned char)rng_next(&s);
    snprintf(name, sizeof name, "%s-data%d-s%llx%s", base, v,
             (unsigned long long)seed, ext);
    put(sub, name, buf, n);
  }
  free(buf);
  free(src);
}

/* Files that are not media at all, under a media suffix. */
static void garbage(const char *sub, const char *ext, uint64_t seed) {
  char name[128];
  snprintf(name, sizeof name, "zero%s", ext);
  put(sub, name, "", 0);
  const char *t = "this is a text file, not media\n";
  snprintf(name, sizeof name, "text%s", ext);
  put(sub, name, t, strlen(t));
  uint64_t s = seed;
  for (int v = 0; v < 2; v++) {
    unsigned char noise[3000];
    size_t n = 16 + rng_next(&s) % (sizeof noise - 16);
    for (size_t i = 0; i < n; i++)
      noise[i] = (unsigned char)rng_next(&s);
    snprintf(name, sizeof name, "noise%d-s%llx%s", v, (unsigned long long)seed,
             ext);
    put(sub, name, noise, n);
  }
}

static void make_dir(const char *sub) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "rm -rf '%s/%s' && mkdir -p '%s/%s'", mf_dir, sub,
           mf_dir, sub);
  cr_assert_eq(system(cmd), 0);
}

static void remove_dir(void) {
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", mf_dir);
  system(cmd);
}

/* Runs ffmpeg to make a fixture with an explicit container format (the
 * shared helper picks it from the suffix, and knows no .webm/.mp3/.ogg). */
static void make_fixture(const char *name, const char *fmt, const char *args) {
  struct stat st;
  if (stat(media_path(name), &st) == 0)
    return;
  char tmp[1300], cmd[4096];
  snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%s", media_dir, (int)getpid(), name);
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -y %s -f %s '%s' </dev/null",
           args, fmt, tmp);
  cr_assert_eq(system(cmd), 0, "ffmpeg failed: %s", cmd);
  cr_assert_eq(rename(tmp, media_path(name)), 0);
}

static void setup(void) {
  media_setup();
  snprintf(mf_dir, sizeof mf_dir, "%s/malformed-%d", media_dir, (int)getpid());
  char args[1024];
  /* The same ramp with its index at the front, so that cuts in the data
   * leave an index pointing past the end. */
  snprintf(args, sizeof args, "-i '%s' -c copy -movflags +faststart",
           media_path("ramp.mp4"));
  media_make("mf-fast.mp4", args);
  if (media_have_encoder("libvpx"))
    make_fixture("mf-vp8.webm", "webm",
                 "-f lavfi -i testsrc=s=48x32:r=10:d=1 -c:v libvpx -b:v 200k "
                 "-g 4");
  if (media_have_encoder("libmp3lame"))
    make_fixture("mf.mp3", "mp3", "-f lavfi -i sine=frequency=440:"
                 "sample_rate=16000:duration=1 -c:a libmp3lame");
  if (media_have_encoder("libvorbis"))
    make_fixture("mf.ogg", "ogg", "-f lavfi -i sine=frequency=440:"
                 "sample_rate=16000:duration=1 -c:a libvorbis");
}

TestSuite(media_malformed, .init = setup, .fini = remove_dir, .timeout = 60);

/* ---- running a reader and checking what it gives ------------------------ */

typedef weir_op *(*reader_fn)(weir_pipeline *p, const char *uri, int on_error);

static weir_op *video_reader(weir_pipeline *p, const char *uri, int on_error) {
  weir_video_options o = WEIR_VIDEO_OPTIONS_INIT;
  o.on_error = on_error;
  o.rows_per_block = 8;
  return weir_read_video(p, uri, &o);
}

static weir_op *audio_reader(weir_pipeline *p, const char *uri, int on_error) {
  weir_audio_options o = WEIR_AUDIO_OPTIONS_INIT;
  o.on_error = on_error;
  o.window_seconds = 0.25;
  return weir_read_audio(p, uri, &o);
}

static weir_op *image_reader(weir_pipeline *p, const char *uri, int on_error) {
  weir_image_options o = WEIR_IMAGE_OPTIONS_INIT;
  o.on_error = on_error;
  return weir_read_images(p, uri, &o);
}

typedef struct outcome {
  int rc;
  uint64_t rows, skipped_rows, skipped_inputs;
  char errmsg[1024];
} outcome;

static volatile unsigned mf_sink; /* every byte read lands here */

/* Reads every byte of every row's tensor and checks the shape against the
 * data and the path column against the files read. */
static void check_block(const weir_block *b, const char *tensor, int dtype,
                        const char *case_name) {
  size_t rows = weir_block_num_rows(b);
  cr_assert(rows > 0, "%s: an empty block", case_name);
  int ti = weir_block_column_index(b, tensor);
  int pi = weir_block_column_index(b, "path");
  cr_assert(ti >= 0 && pi >= 0, "%s: no %s or path column", case_name, tensor);
  weir_column t, p;
  cr_assert_eq(weir_block_column(b, (size_t)ti, &t), WEIR_OK);
  cr_assert_eq(weir_block_column(b, (size_t)pi, &p), WEIR_OK);
  cr_assert_eq(t.type, WEIR_TYPE_TENSOR, "%s", case_name);
  cr_assert_eq(t.dtype, dtype, "%s", case_name);
  cr_assert_eq(t.length, rows, "%s", case_name);
  cr_assert(t.ndim >= 2 && t.ndim <= 3, "%s: ndim %d", case_name, t.ndim);
  size_t per = weir_dtype_size(t.dtype);
  for (int d = 0; d < t.ndim; d++) {
    cr_assert(t.shape[d] > 0 && t.shape[d] <= 1 << 20, "%s: shape[%d] %lld",
              case_name, d, (long long)t.shape[d]);
    per *= (size_t)t.shape[d];
  }
  cr_assert(weir_block_nbytes(b) >= per * rows, "%s: %zu bytes for %zu rows "
            "of %zu", case_name, weir_block_nbytes(b), rows, per);
  const unsigned char *data = t.data;
  unsigned sum = 0;
  for (size_t i = 0; i < per * rows; i++)
    sum += data[i];
  mf_sink += sum;
  for (size_t r = 0; r < rows; r++) {
    const char *s = (const char *)p.data + p.offsets[r];
    size_t len = (size_t)(p.offsets[r + 1] - p.offsets[r]);
    cr_assert(len > 0 && len < 1400, "%s: path of %zu bytes", case_name, len);
    cr_assert(!memcmp(s, mf_dir, strlen(mf_dir)), "%s: row from %.*s",
              case_name, (int)len, s);
  }
}

/* Hundreds of expected failures: their log lines only with the cases. */
static void quiet_log(void *user, int level, const char *msg) {
  (void)user;
  (void)level;
  if (getenv("WEIR_MF_VERBOSE"))
    fprintf(stderr, "    log: %s\n", msg);
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 2;
  po.log_fn = quiet_log;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  return p;
}

static outcome run_reader(reader_fn fn, const char *uri, int on_error,
                          const char *tensor, int dtype,
                          const char *case_name) {
  outcome r = {0};
  weir_pipeline *p = new_pipeline();
  weir_op *op = fn(p, uri, on_error);
  cr_assert_not_null(op, "%s: the reader was refused: %s", case_name,
                     weir_pipeline_errmsg(p));
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK, "%s: %s",
               case_name, weir_pipeline_errmsg(p));
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    check_block(b, tensor, dtype, case_name);
    r.rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  r.rc = rc == WEIR_EOF ? WEIR_OK : rc;
  snprintf(r.errmsg, sizeof r.errmsg, "%s", weir_pipeline_errmsg(p));
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats s;
    if (weir_pipeline_op_stats(p, i, &s) == WEIR_OK) {
      r.skipped_rows += s.skipped_rows;
      r.skipped_inputs += s.skipped_inputs;
    }
  }
  weir_pipeline_destroy(p);
  return r;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file of folder `sub`, one run each under both policies, then the
 * whole folder at once under SKIP: the same rows, and every failure
 * counted. Returns how many files failed. */
static size_t run_folder(const char *sub, reader_fn fn, const char *tensor,
                         int dtype, size_t *nfiles) {
  char dir[1400];
  snprintf(dir, sizeof dir, "%s/%s", mf_dir, sub);
  DIR *dp = opendir(dir);
  cr_assert(dp);
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(dp)))
    if (e->d_name[0] != '.') {
      cr_assert(n < 512);
      names[n++] = strdup(e->d_name);
    }
  closedir(dp);
  qsort(names, n, sizeof *names, by_name);

  size_t failed = 0, silent = 0;
  uint64_t rows_skip = 0;
  int verbose = getenv("WEIR_MF_VERBOSE") != NULL;
  for (size_t i = 0; i < n; i++) {
    char path[1700];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    mf_case("%s (on_error FAIL)", path);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    outcome f = run_reader(fn, path, WEIR_ON_ERROR_FAIL, tensor, dtype,
                           mf_current);
    mf_case("%s (on_error SKIP)", path);
    outcome s = run_reader(fn, path, WEIR_ON_ERROR_SKIP, tensor, dtype,
                           mf_current);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (verbose)
      fprintf(stderr, "  %-40s %-10s rows %llu/%llu  %.0f ms  %s\n", names[i],
              weir_err_name(f.rc), (unsigned long long)f.rows,
              (unsigned long long)s.rows,
              (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
              f.rc ? f.errmsg : "");
    cr_assert(f.rc <= 0, "%s: rc %d", path, f.rc);
    cr_assert_eq(s.rc, WEIR_OK, "%s: under SKIP the run failed: %s (%s)",
                 path, weir_err_name(s.rc), s.errmsg);
    if (f.rc != WEIR_OK) {
      failed++;
      cr_assert(strstr(f.errmsg, names[i]), "%s: %s does not name the file: "
                "%s", path, weir_err_name(f.rc), f.errmsg);
      cr_assert_eq(s.skipped_rows, 1, "%s failed (%s) but SKIP counted %llu "
                   "skipped rows", path, f.errmsg,
                   (unsigned long long)s.skipped_rows);
      cr_assert_eq(s.skipped_inputs, 1, "%s failed (%s) but SKIP counted %llu "
                   "skipped inputs", path, f.errmsg,
                   (unsigned long long)s.skipped_inputs);
      /* Rows given before the failure stay under SKIP. */
      cr_assert(s.rows >= f.rows, "%s: %llu rows under FAIL, %llu under SKIP",
                path, (unsigned long long)f.rows,
                (unsigned long long)s.rows);
    } else {
      cr_assert_eq(f.skipped_rows + s.skipped_rows, 0, "%s", path);
      cr_assert_eq(s.rows, f.rows, "%s: %llu rows under FAIL, %llu under "
                   "SKIP", path, (unsigned long long)f.rows,
                   (unsigned long long)s.rows);
      /* A file that opens but gives nothing must say why. */
      if (f.rows == 0) {
        fprintf(stderr, "%s: no rows and no error\n", path);
        silent++;
      }
    }
    rows_skip += s.rows;
  }
  cr_assert_eq(silent, 0, "%zu files gave no rows and no error", silent);
  /* All at once, side by side on the workers. */
  mf_case("%s (whole folder, SKIP)", dir);
  outcome all = run_reader(fn, dir, WEIR_ON_ERROR_SKIP, tensor, dtype,
                           mf_current);
  cr_assert_eq(all.rc, WEIR_OK, "%s: %s", dir, all.errmsg);
  cr_assert_eq(all.rows, rows_skip, "%s: %llu rows together, %llu one by one",
               dir, (unsigned long long)all.rows,
               (unsigned long long)rows_skip);
  cr_assert_eq(all.skipped_rows, failed, "%s: %llu skipped, %zu failed", dir,
               (unsigned long long)all.skipped_rows, failed);
  cr_assert_eq(all.skipped_inputs, failed, "%s", dir);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  *nfiles = n;
  return failed;
}

/* ---- video -------------------------------------------------------------- */

Test(media_malformed, damaged_videos) {
  mf_watch(55);
  make_dir("video");
  /* ramp.mp4 keeps its index (moov) at the end; the header region to flip
   * is the index. */
  size_t n;
  unsigned char *mp4 = media_read("ramp.mp4", &n);
  size_t moov = find(mp4, n, "moov", 0);
  cr_assert(moov != (size_t)-1 && moov >= 4);
  mutate("video", "ramp.mp4", ".mp4", moov - 4, n, 0x5eed0001);
  /* An mp4 without its index: the moov box renamed to free space. */
  unsigned char *copy = malloc(n);
  memcpy(copy, mp4, n);
  memcpy(copy + moov, "free", 4);
  put("video", "nomoov-free.mp4", copy, n);
  memcpy(copy + moov, "junk", 4);
  put("video", "nomoov-junk.mp4", copy, n);
  put("video", "nomoov-cut.mp4", copy, moov - 4);
  /* Impossible frame sizes in the sample description: 65535x65535, 0x0. */
  size_t avc1 = find(mp4, n, "avc1", moov);
  if (avc1 != (size_t)-1 && avc1 + 32 <= n) {
    memcpy(copy, mp4, n);
    copy[avc1 + 28] = copy[avc1 + 29] = copy[avc1 + 30] = copy[avc1 + 31] = 0xff;
    put("video", "huge-dims.mp4", copy, n);
    memcpy(copy, mp4, n);
    memset(copy + avc1 + 28, 0, 4);
    put("video", "zero-dims.mp4", copy, n);
  }
  free(copy);
  free(mp4);
  /* The index first: cuts in the data leave it pointing past the end. */
  unsigned char *fast = media_read("mf-fast.mp4", &n);
  size_t fmoov = find(fast, n, "moov", 0);
  cr_assert(fmoov != (size_t)-1 && fmoov >= 4);
  size_t fend = fmoov - 4 + be32(fast + fmoov - 4);
  free(fast);
  mutate("video", "mf-fast.mp4", ".mp4", fmoov - 4, fend < n ? fend : n,
         0x5eed0002);
  mutate("video", "ramp.mkv", ".mkv", 0, 400, 0x5eed0003);
  mutate("video", "fmp4.avi", ".avi", 0, 600, 0x5eed0004);
  struct stat st;
  if (stat(media_path("mf-vp8.webm"), &st) == 0)
    mutate("video", "mf-vp8.webm", ".webm", 0, 300, 0x5eed0005);
  garbage("video", ".mp4", 0x5eed0006);
  garbage("video", ".webm", 0x5eed0007);

  size_t files, failed = run_folder("video", video_reader, "frame",
                                    WEIR_DTYPE_UINT8, &files);
  cr_log_info("damaged videos: %zu files, %zu failed\n", files, failed);
  cr_assert(failed > 10 && failed < files, "%zu of %zu failed", failed, files);
}

/* ---- audio -------------------------------------------------------------- */

/* A WAV header with chosen fields over seeded noise samples. */
static void craft_wav(const char *name, unsigned fmt_len, unsigned tag,
                      unsigned channels, uint32_t rate, unsigned bits,
                      uint32_t data_len, uint64_t seed) {
  unsigned char w[44 + 3200];
  memcpy(w, "RIFF", 4);
  put_le32(w + 4, (uint32_t)sizeof w - 8);
  memcpy(w + 8, "WAVEfmt ", 8);
  put_le32(w + 16, fmt_len);
  put_le16(w + 20, tag);
  put_le16(w + 22, channels);
  put_le32(w + 24, rate);
  put_le32(w + 28, rate * channels * (bits / 8));
  put_le16(w + 32, channels * (bits / 8));
  put_le16(w + 34, bits);
  memcpy(w + 36, "data", 4);
  put_le32(w + 40, data_len);
  uint64_t s = seed;
  for (size_t i = 44; i < sizeof w; i++)
    w[i] = (unsigned char)rng_next(&s);
  put("audio", name, w, sizeof w);
}

Test(media_malformed, damaged_audio) {
  mf_watch(55);
  make_dir("audio");
  mutate("audio", "tone.wav", ".wav", 0, 44, 0x5eed0011);
  mutate("audio", "tone.flac", ".flac", 0, 120, 0x5eed0012);
  struct stat st;
  if (stat(media_path("mf.mp3"), &st) == 0)
    mutate("audio", "mf.mp3", ".mp3", 0, 400, 0x5eed0013);
  if (stat(media_path("mf.ogg"), &st) == 0)
    mutate("audio", "mf.ogg", ".ogg", 0, 400, 0x5eed0014);
  garbage("audio", ".wav", 0x5eed0015);
  garbage("audio", ".mp3", 0x5eed0016);
  garbage("audio", ".ogg", 0x5eed0017);
  /* Headers that declare nonsense. */
  craft_wav("wav-0ch.wav", 16, 1, 0, 16000, 16, 3200, 1);
  craft_wav("wav-0hz.wav", 16, 1, 1, 0, 16, 3200, 2);
  craft_wav("wav-0bits.wav", 16, 1, 1, 16000, 0, 3200, 3);
  craft_wav("wav-65535ch.wav", 16, 1, 65535, 16000, 16, 3200, 4);
  craft_wav("wav-maxhz.wav", 16, 1, 1, 0xFFFFFFFFu, 16, 3200, 5);
  craft_wav("wav-1hz.wav", 16, 1, 1, 1, 16, 3200, 6);
  craft_wav("wav-tag.wav", 16, 0x1234, 1, 16000, 16, 3200, 7);
  craft_wav("wav-float3.wav", 16, 3, 2, 16000, 24, 3200, 8);
  craft_wav("wav-longdata.wav", 16, 1, 1, 16000, 16, 0xFFFFFFFFu, 9);
  craft_wav("wav-longfmt.wav", 0xFFFFFFF0u, 1, 1, 16000, 16, 3200, 10);
  craft_wav("wav-ok.wav", 16, 1, 2, 8000, 16, 3200, 11);

  size_t files, failed = run_folder("audio", audio_reader, "audio",
                                    WEIR_DTYPE_FLOAT32, &files);
  cr_log_info("damaged audio: %zu files, %zu failed\n", files, failed);
  cr_assert(failed > 10 && failed < files, "%zu of %zu failed", failed, files);
}

/* ---- images ------------------------------------------------------------- */

/* known.png with its IHDR size replaced and the chunk's CRC made right, so
 * the decoder believes it. */
static void craft_png(const char *name, uint32_t w, uint32_t h) {
  size_t n;
  unsigned char *png = media_read("known.png", &n);
  size_t ihdr = find(png, n, "IHDR", 0);
  cr_assert(ihdr != (size_t)-1 && ihdr + 21 <= n);
  put_be32(png + ihdr + 4, w);
  put_be32(png + ihdr + 8, h);
  put_be32(png + ihdr + 17, crc32_of(png + ihdr, 17));
  put("image", name, png, n);
  free(png);
}

/* color.jpg with the frame size in its SOF marker replaced. */
static void craft_jpeg(const char *name, unsigned w, unsigned h) {
  size_t n;
  unsigned char *jpg = media_read("color.jpg", &n);
  for (size_t i = 2; i + 9 <= n; i++)
    if (jpg[i] == 0xFF && (jpg[i + 1] == 0xC0 || jpg[i + 1] == 0xC2)) {
      jpg[i + 5] = (unsigned char)(h >> 8);
      jpg[i + 6] = (unsigned char)h;
      jpg[i + 7] = (unsigned char)(w >> 8);
      jpg[i + 8] = (unsigned char)w;
      break;
    }
  put("image", name, jpg, n);
  free(jpg);
}

Test(media_malformed, damaged_images) {
  mf_watch(55);
  make_dir("image");
  mutate("image", "known.png", ".png", 8, 33, 0x5eed0021);
  mutate("image", "color.jpg", ".jpg", 0, 200, 0x5eed0022);
  garbage("image", ".png", 0x5eed0023);
  garbage("image", ".jpg", 0x5eed0024);
  craft_png("png-65535x65535.png", 65535, 65535);
  craft_png("png-0x0.png", 0, 0);
  craft_png("png-30000x30000.png", 30000, 30000);
  craft_png("png-1x100000.png", 1, 100000);
  craft_png("png-2g.png", 0x7FFFFFFF, 0x7FFFFFFF);
  craft_png("png-4000x4000.png", 4000, 4000);
  craft_jpeg("jpeg-65500x65500.jpg", 65500, 65500);
  craft_jpeg("jpeg-0x0.jpg", 0, 0);
  craft_jpeg("jpeg-3000x3000.jpg", 3000, 3000);

  size_t files, failed = run_folder("image", image_reader, "image",
                                    WEIR_DTYPE_UINT8, &files);
  cr_log_info("damaged images: %zu files, %zu failed\n", files, failed);
  cr_assert(failed > 10 && failed < files, "%zu of %zu failed", failed, files);
}

/* ---- reader options that no file could satisfy -------------------------- */

Test(media_malformed, impossible_reader_sizes_are_refused_at_creation) {
  weir_pipeline *p = new_pipeline();
  weir_video_options v = WEIR_VIDEO_OPTIONS_INIT;
  v.width = 100000;
  cr_assert_null(weir_read_video(p, media_path("ramp.mp4"), &v));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "ramp.mp4"), "%s",
            weir_pipeline_errmsg(p));
  weir_image_options im = WEIR_IMAGE_OPTIONS_INIT;
  im.width = im.height = 40000;
  cr_assert_null(weir_read_images(p, media_path("known.png"), &im));
  cr_assert(strstr(weir_pipeline_errmsg(p), "known.png"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* ---- image transforms with degenerate arguments ------------------------- */

/* `rows` images [h, w, c] of `dtype` (0 rows allowed) and a path column. */
static weir_block *image_block(int64_t h, int64_t w, int64_t c, int dtype,
                               size_t rows) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  int64_t shape[3] = {h, w, c};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "image", dtype, 3, shape),
               WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "path", WEIR_TYPE_STRING),
               WEIR_OK);
  size_t n = (size_t)(h * w * c) * weir_dtype_size(dtype);
  unsigned char *px = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++)
    px[i] = (unsigned char)(i * 7);
  if (dtype == WEIR_DTYPE_FLOAT32)
    for (size_t i = 0; i < n / 4; i++)
      ((float *)px)[i] = (float)i;
  for (size_t r = 0; r < rows; r++) {
    cr_assert_eq(weir_builder_append_tensor(bld, 0, px), WEIR_OK);
    cr_assert_eq(weir_builder_append_string(bld, 1, "x", 1), WEIR_OK);
  }
  free(px);
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

/* The call gave WEIR_EINVAL (or `want`), no block, and a message naming
 * `what`. */
#define REFUSED(call, want, what)                                             \
  do {                                                                        \
    weir_block *o_ = NULL;                                                    \
    int rc_ = call(&o_);                                                      \
    cr_assert_eq(rc_, want, "%s: %s, want %s", #call, weir_err_name(rc_),     \
                 weir_err_name(want));                                        \
    cr_assert_null(o_, "%s gave a block", #call);                             \
    cr_assert(strstr(weir_last_errmsg(), what), "%s: message '%s'", #call,    \
              weir_last_errmsg());                                            \
  } while (0)

/* The call succeeded with a block whose image column has `h` x `w` and
 * every byte readable. */
static void accepted(int rc, weir_block *o, int64_t h, int64_t w) {
  cr_assert_eq(rc, WEIR_OK, "%s", weir_last_errmsg());
  weir_column c;
  cr_assert_eq(weir_block_column(o, 0, &c), WEIR_OK);
  cr_assert_eq(c.shape[0], h);
  cr_assert_eq(c.shape[1], w);
  size_t n = weir_block_num_rows(o) * (size_t)(c.shape[0] * c.shape[1] *
             c.shape[2]) * weir_dtype_size(c.dtype);
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += ((const unsigned char *)c.data)[i];
  mf_sink += sum;
  weir_block_unref(&o);
}

/* Makes the call (which fills `o`) before looking at `o`. */
#define ACCEPTED(call, h, w)                                                  \
  do {                                                                        \
    int rc_ = (call);                                                         \
    accepted(rc_, o, h, w);                                                   \
  } while (0)

static weir_block *g_in;

static int resize_0x5(weir_block **o) { return weir_image_resize_block(g_in, NULL, 0, 5, o); }
static int resize_5x0(weir_block **o) { return weir_image_resize_block(g_in, NULL, 5, 0, o); }
static int resize_neg(weir_block **o) { return weir_image_resize_block(g_in, NULL, -3, -3, o); }
static int resize_wide(weir_block **o) { return weir_image_resize_block(g_in, NULL, 65537, 1, o); }
static int resize_max(weir_block **o) { return weir_image_resize_block(g_in, NULL, INT32_MAX, INT32_MAX, o); }
static int resize_huge(weir_block **o) { return weir_image_resize_block(g_in, NULL, 65536, 65536, o); }
static int resize_nocol(weir_block **o) { return weir_image_resize_block(g_in, "nope", 4, 4, o); }
static int resize_path(weir_block **o) { return weir_image_resize_block(g_in, "path", 4, 4, o); }
static int resize_null(weir_block **o) { return weir_image_resize_block(NULL, NULL, 4, 4, o); }
static int crop_negx(weir_block **o) { return weir_image_crop_block(g_in, NULL, -1, 0, 2, 2, o); }
static int crop_zero(weir_block **o) { return weir_image_crop_block(g_in, NULL, 0, 0, 0, 2, o); }
static int crop_out(weir_block **o) { return weir_image_crop_block(g_in, NULL, 4, 0, 2, 2, o); }
static int crop_below(weir_block **o) { return weir_image_crop_block(g_in, NULL, 0, 3, 2, 2, o); }
static int crop_far(weir_block **o) { return weir_image_crop_block(g_in, NULL, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, o); }
static int crop_big(weir_block **o) { return weir_image_crop_block(g_in, NULL, 0, 0, 6, 4, o); }
static int ccrop_big(weir_block **o) { return weir_image_center_crop_block(g_in, NULL, 6, 4, o); }
static int ccrop_zero(weir_block **o) { return weir_image_center_crop_block(g_in, NULL, 0, 0, o); }
static int ccrop_neg(weir_block **o) { return weir_image_center_crop_block(g_in, NULL, -2, 2, o); }
static int conv_from(weir_block **o) { return weir_image_convert_block(g_in, NULL, -1, WEIR_COLOR_RGB, o); }
static int conv_to(weir_block **o) { return weir_image_convert_block(g_in, NULL, WEIR_COLOR_RGB, 99, o); }
static int conv_chan(weir_block **o) { return weir_image_convert_block(g_in, NULL, WEIR_COLOR_RGBA, WEIR_COLOR_RGB, o); }

static weir_normalize_options g_norm;
static int norm(weir_block **o) { return weir_image_normalize_block(g_in, NULL, &g_norm, o); }

Test(media_malformed, transforms_refuse_degenerate_arguments) {
  g_in = image_block(4, 5, 3, WEIR_DTYPE_UINT8, 2);
  REFUSED(resize_0x5, WEIR_EINVAL, "image_resize");
  REFUSED(resize_5x0, WEIR_EINVAL, "image_resize");
  REFUSED(resize_neg, WEIR_EINVAL, "image_resize");
  REFUSED(resize_wide, WEIR_EINVAL, "image_resize");
  REFUSED(resize_max, WEIR_EINVAL, "image_resize");
  /* Each side allowed, 12 GiB together: refused, not written. */
  REFUSED(resize_huge, WEIR_EINVAL, "image_resize");
  REFUSED(resize_nocol, WEIR_ENOTFOUND, "nope");
  REFUSED(resize_path, WEIR_EINVAL, "path");
  REFUSED(resize_null, WEIR_EINVAL, "no block");
  REFUSED(crop_negx, WEIR_EINVAL, "image_crop");
  REFUSED(crop_zero, WEIR_EINVAL, "image_crop");
  REFUSED(crop_out, WEIR_EINVAL, "image_crop");
  REFUSED(crop_below, WEIR_EINVAL, "image_crop");
  REFUSED(crop_far, WEIR_EINVAL, "image_crop");
  REFUSED(crop_big, WEIR_EINVAL, "image_crop");
  REFUSED(ccrop_big, WEIR_EINVAL, "image_center_crop");
  REFUSED(ccrop_zero, WEIR_EINVAL, "image_center_crop");
  REFUSED(ccrop_neg, WEIR_EINVAL, "image_center_crop");
  REFUSED(conv_from, WEIR_EINVAL, "image_convert");
  REFUSED(conv_to, WEIR_EINVAL, "image_convert");
  REFUSED(conv_chan, WEIR_EINVAL, "image_convert");
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  n.version = 0;
  g_norm = n;
  REFUSED(norm, WEIR_EINVAL, "image_normalize");
  n.version = WEIR_NORMALIZE_OPTIONS_VERSION;
  n.channels = 4;
  g_norm = n;
  REFUSED(norm, WEIR_EINVAL, "image_normalize");
  n.channels = -1;
  g_norm = n;
  REFUSED(norm, WEIR_EINVAL, "image_normalize");
  weir_block *o = NULL;
  /* The edges that are allowed: the whole image, one pixel, upscaling. */
  ACCEPTED(weir_image_crop_block(g_in, NULL, 0, 0, 5, 4, &o), 4, 5);
  ACCEPTED(weir_image_crop_block(g_in, NULL, 4, 3, 1, 1, &o), 1, 1);
  ACCEPTED(weir_image_center_crop_block(g_in, NULL, 5, 4, &o), 4, 5);
  ACCEPTED(weir_image_resize_block(g_in, NULL, 1, 1, &o), 1, 1);
  ACCEPTED(weir_image_resize_block(g_in, NULL, 300, 7, &o), 7, 300);
  weir_block_unref(&g_in);

  /* Five channels: not an image any transform knows. */
  g_in = image_block(4, 5, 5, WEIR_DTYPE_UINT8, 1);
  n = (weir_normalize_options)WEIR_NORMALIZE_OPTIONS_INIT;
  g_norm = n;
  REFUSED(norm, WEIR_EINVAL, "image_normalize");
  REFUSED(conv_chan, WEIR_EINVAL, "image_convert");
  ACCEPTED(weir_image_resize_block(g_in, NULL, 2, 2, &o), 2, 2);
  weir_block_unref(&g_in);

  /* Images of no pixels, and blocks of no rows. */
  g_in = image_block(0, 5, 3, WEIR_DTYPE_UINT8, 2);
  REFUSED(crop_zero, WEIR_EINVAL, "image_crop");
  REFUSED(ccrop_big, WEIR_EINVAL, "image_center_crop");
  ACCEPTED(weir_image_resize_block(g_in, NULL, 3, 3, &o), 3, 3);
  weir_block_unref(&g_in);
  g_in = image_block(4, 5, 3, WEIR_DTYPE_FLOAT32, 0);
  ACCEPTED(weir_image_resize_block(g_in, NULL, 3, 3, &o), 3, 3);
  REFUSED(crop_out, WEIR_EINVAL, "image_crop");
  weir_block_unref(&g_in);
}

/* A source that gives one block of `g_in` images. */
static int one_block(void *user, size_t task, weir_emit *out) {
  (void)user;
  (void)task;
  return weir_emit_block(out, image_block(4, 5, 3, WEIR_DTYPE_UINT8, 3));
}

Test(media_malformed, transform_operators_fail_naming_themselves) {
  weir_pipeline *p = new_pipeline();
  weir_op *src = weir_source(p, "images", 1, one_block, NULL, NULL);
  cr_assert_not_null(src);
  /* Arguments no image could take are refused when the graph is built. */
  cr_assert_null(weir_image_resize(p, src, NULL, 0, 4, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_resize"));
  cr_assert_null(weir_image_resize(p, src, NULL, 65536, 65536, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_resize"));
  cr_assert_null(weir_image_crop(p, src, NULL, -1, 0, 2, 2, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_crop"));
  cr_assert_null(weir_image_center_crop(p, src, NULL, 0, 2, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_center_crop"));
  cr_assert_null(weir_image_convert(p, src, NULL, 7, 0, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_convert"));
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  n.channels = 9;
  cr_assert_null(weir_image_normalize(p, src, NULL, &n, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_normalize"));
  /* A crop that fits no image of the stream fails the run, naming the
   * operator and what did not fit. */
  weir_op *crop = weir_image_crop(p, src, NULL, 3, 0, 4, 4, NULL);
  cr_assert_not_null(crop, "%s", weir_pipeline_errmsg(p));
  int rc = weir_pipeline_run(p, crop);
  cr_assert_eq(rc, WEIR_EINVAL, "%s", weir_err_name(rc));
  cr_assert(strstr(weir_pipeline_errmsg(p), "image_crop"), "%s",
            weir_pipeline_errmsg(p));
  cr_assert(strstr(weir_pipeline_errmsg(p), "does not fit"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}
