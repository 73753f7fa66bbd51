/* CUDA stream workers against plain CUDA on the same machine, same run:
 * host-to-device bandwidth of weir's pinned staging path (ordinary host
 * blocks) and of pinned host blocks (weir_cuda_host_tensor_block) against
 * cudaMemcpy from pinned memory (goal: at least 90%) and from pageable
 * memory; images per second through resize + normalise with 1, 2 and 4
 * streams; GPU busy fraction (weir_cuda_device_utilization: NVML's kernel
 * utilisation, sampled every 100 ms) of that pipeline. Without a CUDA device it says so and exits with status 0.
 *
 * Last, a video pipeline: weir_read_video over a folder of clips (made with
 * the ffmpeg CLI when no folder is given) -> resize -> normalise on the GPU,
 * with its frames per second and GPU busy fraction.
 *
 *   bench_cuda [images_per_run [video_folder]]
 */
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

#include "exec/gpu_backend.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK_CUDA(call)                                                     \
  do {                                                                       \
    cudaError_t e_ = (call);                                                 \
    if (e_ != cudaSuccess) {                                                 \
      fprintf(stderr, "bench_cuda: %s: %s\n", #call, cudaGetErrorString(e_)); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* ---- Bandwidth ----------------------------------------------------------- */

#define BLOCK_MIB 64
#define REPS 8

static weir_block *pinned_block(size_t mib) {
  int64_t shape[1] = {1 << 20};
  weir_block *b;
  void *data;
  if (weir_cuda_host_tensor_block("x", WEIR_DTYPE_UINT8, 1, shape, mib, &b, &data) != WEIR_OK) {
    fprintf(stderr, "bench_cuda: %s\n", weir_last_errmsg());
    exit(1);
  }
  for (size_t i = 0; i < (mib << 20); i++) ((unsigned char *)data)[i] = (unsigned char)(i * 31);
  return b;
}

static weir_block *big_block(size_t mib) {
  weir_builder *bld;
  weir_builder_create(&bld);
  int64_t shape[1] = {1 << 20};
  weir_builder_add_tensor_column(bld, "x", WEIR_DTYPE_UINT8, 1, shape);
  unsigned char *row = malloc((size_t)1 << 20);
  for (size_t i = 0; i < ((size_t)1 << 20); i++) row[i] = (unsigned char)(i * 31);
  for (size_t r = 0; r < mib; r++) weir_builder_append_tensor(bld, 0, row);
  free(row);
  weir_block *b;
  if (weir_builder_finish(bld, &b) != WEIR_OK) exit(1);
  weir_builder_destroy(bld);
  return b;
}

typedef struct stage_arg {
  weir_block *b;
  double gbps;
  pthread_barrier_t *start;
} stage_arg;

/* One stream worker uploading the block REPS times; GB/s. */
static void *stage_run(void *arg) {
  stage_arg *a = arg;
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  if (g->worker_init(0, &w) != WEIR_OK) {
    fprintf(stderr, "bench_cuda: %s\n", weir_last_errmsg());
    exit(1);
  }
  weir_block *d;
  g->to_device(w, a->b, &d); /* warm the pools */
  g->sync(w);
  weir_block_unref(&d);
  if (a->start) pthread_barrier_wait(a->start);
  double t0 = now();
  for (int i = 0; i < REPS; i++) {
    if (g->to_device(w, a->b, &d) != WEIR_OK) exit(1);
    weir_block_unref(&d);
  }
  g->sync(w);
  double t = now() - t0;
  a->gbps = (double)REPS * weir_block_nbytes(a->b) / t / 1e9;
  g->worker_destroy(w);
  return NULL;
}

static double staging_gbps(weir_block *b, int streams) {
  pthread_t t[4];
  stage_arg a[4];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)streams);
  for (int i = 0; i < streams; i++) {
    a[i] = (stage_arg){b, 0, &start};
    pthread_create(&t[i], NULL, stage_run, &a[i]);
  }
  double sum = 0;
  for (int i = 0; i < streams; i++) {
    pthread_join(t[i], NULL);
    sum += a[i].gbps;
  }
  pthread_barrier_destroy(&start);
  return sum;
}

static double memcpy_gbps(int pinned) {
  size_t bytes = (size_t)BLOCK_MIB << 20;
  void *h, *d;
  if (pinned) CHECK_CUDA(cudaHostAlloc(&h, bytes, cudaHostAllocDefault));
  else if (!(h = malloc(bytes))) exit(1);
  memset(h, 7, bytes);
  CHECK_CUDA(cudaMalloc(&d, bytes));
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK_CUDA(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaStreamSynchronize(s));
  double t0 = now();
  for (int i = 0; i < REPS; i++) CHECK_CUDA(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaStreamSynchronize(s));
  double t = now() - t0;
  cudaStreamDestroy(s);
  cudaFree(d);
  if (pinned) cudaFreeHost(h);
  else free(h);
  return (double)REPS * bytes / t / 1e9;
}

/* ---- GPU busy fraction (weir_cuda_device_utilization, sampled) -------- */

typedef struct sampler {
  atomic_int stop;
  double sum;
  int count;
} sampler;

static void *sample(void *arg) {
  sampler *s = arg;
  while (!atomic_load(&s->stop)) {
    double u;
    if (weir_cuda_device_utilization(0, &u) == WEIR_OK) {
      s->sum += u;
      s->count++;
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* ---- Streams ------------------------------------------------------------- */

static weir_block *frames;

static int read_frames(void *user, size_t task, weir_emit *out) {
  (void)user;
  (void)task;
  return weir_emit_block(out, weir_block_ref(frames));
}

typedef struct run_result {
  double images_per_s, busy_fraction_stats;
} run_result;

static run_result run_pipeline(int streams, size_t tasks, size_t per_block) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.fixed_pools = 1;
  weir_pipeline *p;
  weir_pipeline_create(&p, &po);
  weir_op_options src_o = WEIR_OP_OPTIONS_INIT, g = WEIR_OP_OPTIONS_INIT;
  src_o.min_workers = src_o.max_workers = 2;
  /* Two GPU operators run at once: each gets half the device, split
   * between its streams. */
  g.num_gpus = 0.5 / streams;
  g.min_workers = g.max_workers = streams;
  const weir_normalize_options norm = {WEIR_NORMALIZE_OPTIONS_VERSION, 3,
                                       {0.485f, 0.456f, 0.406f, 0.0f},
                                       {0.229f, 0.224f, 0.225f, 1.0f}, 1, 0.0f};
  weir_op *src = weir_source(p, "frames", tasks, read_frames, NULL, &src_o);
  weir_op *rs = weir_gpu_resize(p, src, "frame", 224, 224, &g);
  weir_op *nm = weir_gpu_normalize(p, rs, "frame", &norm, &g);
  if (!nm) {
    fprintf(stderr, "bench_cuda: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  double t0 = now();
  int rc = weir_pipeline_run(p, nm);
  double t = now() - t0;
  if (rc != WEIR_OK) {
    fprintf(stderr, "bench_cuda: %s\n", weir_pipeline_errmsg(p));
    exit(1);
  }
  weir_op_stats a, b;
  weir_pipeline_op_stats(p, weir_op_index(rs), &a);
  weir_pipeline_op_stats(p, weir_op_index(nm), &b);
  run_result r;
  r.images_per_s = (double)(tasks * per_block) / t;
  /* Share of the wall time some GPU worker had a task in flight (copies,
   * kernels and the wait for them), capped at 1. */
  r.busy_fraction_stats = (a.busy_seconds + b.busy_seconds) / t / streams;
  if (r.busy_fraction_stats > 1) r.busy_fraction_stats = 1;
  weir_pipeline_destroy(p);
  return r;
}

/* Frames per second and GPU busy fraction of read_video -> resize ->
 * normalise over `uri`; prints a skip line when video cannot be read. */
static void video_pipeline(const char *uri, int have_nvml) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_video_options vo = WEIR_VIDEO_OPTIONS_INIT;
  vo.rows_per_block = 32;
  weir_op_options g = WEIR_OP_OPTIONS_INIT;
  g.num_gpus = 0.25;
  g.max_workers = 4;
  const weir_normalize_options norm = {WEIR_NORMALIZE_OPTIONS_VERSION, 3,
                                       {0.485f, 0.456f, 0.406f, 0.0f},
                                       {0.229f, 0.224f, 0.225f, 1.0f}, 1, 0.0f};
  weir_op *src = weir_read_video(p, uri, &vo);
  weir_op *rs = weir_gpu_resize(p, src, "frame", 224, 224, &g);
  weir_op *nm = weir_gpu_normalize(p, rs, "frame", &norm, &g);
  if (!nm) {
    printf("video pipeline: skipped: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return;
  }
  sampler sm = {0, 0, 0};
  pthread_t th;
  if (have_nvml) pthread_create(&th, NULL, sample, &sm);
  double t0 = now();
  int rc = weir_pipeline_run(p, nm);
  double t = now() - t0;
  if (have_nvml) {
    atomic_store(&sm.stop, 1);
    pthread_join(th, NULL);
  }
  if (rc != WEIR_OK) {
    printf("video pipeline: failed: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return;
  }
  weir_op_stats a, b, r;
  weir_pipeline_op_stats(p, weir_op_index(src), &r);
  weir_pipeline_op_stats(p, weir_op_index(rs), &a);
  weir_pipeline_op_stats(p, weir_op_index(nm), &b);
  printf("video pipeline (read_video -> resize 224 -> normalize): %.0f frames/s over %.2f s; "
         "decode workers peak %d; GPU workers busy %.0f%% of the run; GPU busy (NVML) ",
         (double)b.rows_out / t, t, r.workers_peak,
         100 * (a.busy_seconds + b.busy_seconds) / t);
  if (have_nvml && sm.count) printf("%.0f%%\n", 100 * sm.sum / sm.count);
  else printf("n/a\n");
  weir_pipeline_destroy(p);
}

int main(int argc, char **argv) {
  size_t images = argc > 1 ? strtoull(argv[1], NULL, 10) : 8192;
  if (!weir_cuda_built() || weir_cuda_device_count() == 0) {
    printf("bench_cuda: skipped: %s\n",
           weir_cuda_built() ? "no CUDA device is visible" : "weir was built without CUDA");
    return 0;
  }
  struct cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  printf("bench_cuda: device 0: %s\n", prop.name);

  weir_block *big = big_block(BLOCK_MIB);
  double pinned = memcpy_gbps(1), pageable = memcpy_gbps(0);
  double st1 = staging_gbps(big, 1), st2 = staging_gbps(big, 2), st4 = staging_gbps(big, 4);
  weir_block_unref(&big);
  weir_block *pin = pinned_block(BLOCK_MIB);
  double pn1 = staging_gbps(pin, 1);
  weir_block_unref(&pin);
  printf("H2D %d MiB blocks: cudaMemcpy pinned %.2f GB/s, pageable %.2f GB/s\n", BLOCK_MIB,
         pinned, pageable);
  printf("H2D weir staging: 1 stream %.2f GB/s (%.0f%% of pinned), 2 streams %.2f GB/s "
         "(%.0f%%), 4 streams %.2f GB/s (%.0f%%); goal >= 90%%\n",
         st1, 100 * st1 / pinned, st2, 100 * st2 / pinned, st4, 100 * st4 / pinned);
  printf("H2D weir pinned host blocks (direct DMA): 1 stream %.2f GB/s (%.0f%% of pinned)\n",
         pn1, 100 * pn1 / pinned);

  /* Frames 480x640 RGB, 32 a block: resize to 224x224, normalise. */
  const size_t per_block = 32;
  weir_builder *bld;
  weir_builder_create(&bld);
  int64_t shape[3] = {480, 640, 3};
  weir_builder_add_tensor_column(bld, "frame", WEIR_DTYPE_UINT8, 3, shape);
  unsigned char *img = malloc(480 * 640 * 3);
  for (size_t r = 0; r < per_block; r++) {
    for (size_t i = 0; i < 480 * 640 * 3; i++) img[i] = (unsigned char)(i * 7 + r);
    weir_builder_append_tensor(bld, 0, img);
  }
  free(img);
  weir_builder_finish(bld, &frames);
  weir_builder_destroy(bld);
  size_t tasks = (images + per_block - 1) / per_block;

  run_pipeline(1, tasks / 8 + 1, per_block); /* warm-up */
  double base = 0, probe;
  int have_nvml = weir_cuda_device_utilization(0, &probe) == WEIR_OK;
  for (int s = 1; s <= 4; s *= 2) {
    sampler sm = {0, 0, 0};
    pthread_t th;
    if (have_nvml) pthread_create(&th, NULL, sample, &sm);
    run_result r = run_pipeline(s, tasks, per_block);
    if (have_nvml) {
      atomic_store(&sm.stop, 1);
      pthread_join(th, NULL);
    }
    if (s == 1) base = r.images_per_s;
    printf("resize 480x640 -> 224x224 + normalize, %d stream%s: %.0f images/s (%.2fx of 1 "
           "stream); workers busy %.0f%%; GPU busy (NVML) %s",
           s, s == 1 ? "" : "s", r.images_per_s, r.images_per_s / base,
           100 * r.busy_fraction_stats, have_nvml && sm.count ? "" : "n/a\n");
    if (have_nvml && sm.count) printf("%.0f%%\n", 100 * sm.sum / sm.count);
  }
  weir_block_unref(&frames);

  /* Video: four 720p clips of 10 s made by the ffmpeg CLI unless a folder
   * is given. */
  const char *folder = argc > 2 ? argv[2] : NULL;
  char made[] = "/tmp/weir-bench-cuda-XXXXXX";
  if (!folder && mkdtemp(made)) {
    char cmd[512];
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++) {
      snprintf(cmd, sizeof cmd,
               "ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 "
               "-c:v libx264 -pix_fmt yuv420p %s/clip%d.mp4", made, i);
      ok = system(cmd) == 0;
    }
    if (ok) folder = made;
    else printf("video pipeline: skipped: the ffmpeg CLI could not make test clips\n");
  }
  if (folder) video_pipeline(folder, have_nvml);
  if (folder == made) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", made);
    if (system(cmd) != 0) fprintf(stderr, "bench_cuda: could not remove %s\n", made);
  }
  return 0;
}
