/* A custom CUDA operator written against weir's public header: it inverts
 * the pixels of synthetic images on the GPU with a kernel launched from
 * plain C (PTX loaded through the CUDA runtime's library API), then hands
 * them, still on the device, to weir's built-in GPU normalisation, and
 * checks the result against a CPU computation.
 *
 *   cuda_custom_op [num_images]
 *
 * Without a CUDA device it says so and exits with status 0. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <weir.h>

#define H 120
#define W 160
#define PER_TASK 16

/* out[i] = 255 - in[i], a grid-stride loop over n bytes. Generated with
 * `nvcc -ptx -arch=compute_80` from
 *   extern "C" __global__ void invert(const unsigned char *in,
 *                                     unsigned char *out,
 *                                     unsigned long long n)
 * and marked PTX ISA 7.0 so that any driver since CUDA 11 can JIT it for
 * the device it runs on (sm_80, sm_90, ...). */
static const char INVERT_PTX[] =
    ".version 7.0\n"
    ".target sm_80\n"
    ".address_size 64\n"
    ".visible .entry invert(.param .u64 p_in, .param .u64 p_out, .param .u64 p_n)\n"
    "{\n"
    "  .reg .pred %p<3>;\n"
    "  .reg .b16 %rs<3>;\n"
    "  .reg .b32 %r<5>;\n"
    "  .reg .b64 %rd<17>;\n"
    "  ld.param.u64 %rd8, [p_in];\n"
    "  ld.param.u64 %rd9, [p_out];\n"
    "  ld.param.u64 %rd10, [p_n];\n"
    "  mov.u32 %r1, %ctaid.x;\n"
    "  mov.u32 %r2, %ntid.x;\n"
    "  cvt.u64.u32 %rd1, %r2;\n"
    "  mul.wide.u32 %rd11, %r1, %r2;\n"
    "  mov.u32 %r3, %tid.x;\n"
    "  cvt.u64.u32 %rd12, %r3;\n"
    "  add.s64 %rd16, %rd11, %rd12;\n"
    "  setp.ge.u64 %p1, %rd16, %rd10;\n"
    "  @%p1 bra DONE;\n"
    "  mov.u32 %r4, %nctaid.x;\n"
    "  cvt.u64.u32 %rd13, %r4;\n"
    "  mul.lo.s64 %rd3, %rd13, %rd1;\n"
    "  cvta.to.global.u64 %rd4, %rd8;\n"
    "  cvta.to.global.u64 %rd5, %rd9;\n"
    "LOOP:\n"
    "  add.s64 %rd14, %rd4, %rd16;\n"
    "  ld.global.u8 %rs1, [%rd14];\n"
    "  not.b16 %rs2, %rs1;\n"
    "  add.s64 %rd15, %rd5, %rd16;\n"
    "  st.global.u8 [%rd15], %rs2;\n"
    "  add.s64 %rd16, %rd16, %rd3;\n"
    "  setp.lt.u64 %p2, %rd16, %rd10;\n"
    "  @%p2 bra LOOP;\n"
    "DONE:\n"
    "  ret;\n"
    "}\n";

static unsigned char pixel(int64_t id, size_t i) {
  return (unsigned char)((id * 131 + (int64_t)i * 7) & 0xff);
}

/* Source: task t makes PER_TASK images [H, W, 3] with ids. */
static int make_images(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc) return rc;
  int64_t shape[3] = {H, W, 3};
  weir_builder_add_tensor_column(bld, "image", WEIR_DTYPE_UINT8, 3, shape);
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  for (int r = 0; r < PER_TASK && rc == WEIR_OK; r++) {
    int64_t id = (int64_t)task * PER_TASK + r;
    void *slot;
    rc = weir_builder_append_tensor_slot(bld, 0, &slot);
    if (rc) break;
    for (size_t i = 0; i < (size_t)H * W * 3; i++) ((unsigned char *)slot)[i] = pixel(id, i);
    rc = weir_builder_append_int64(bld, 1, id);
  }
  weir_block *b = NULL;
  if (rc == WEIR_OK) rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

/* Per-worker state: the kernel, loaded on the worker's own thread (and so
 * in its device's context). */
typedef struct invert_state {
  cudaLibrary_t lib;
  cudaKernel_t kernel;
} invert_state;

static int invert_init(void *user, int worker, void **state) {
  (void)user;
  (void)worker;
  invert_state *s = calloc(1, sizeof *s);
  if (!s) return WEIR_ENOMEM;
  cudaError_t e = cudaLibraryLoadData(&s->lib, INVERT_PTX, NULL, NULL, 0, NULL, NULL, 0);
  if (e == cudaSuccess) e = cudaLibraryGetKernel(&s->kernel, s->lib, "invert");
  if (e != cudaSuccess) {
    fprintf(stderr, "loading the kernel: %s\n", cudaGetErrorString(e));
    free(s);
    return WEIR_EOPERATOR;
  }
  *state = s;
  return WEIR_OK;
}

static void invert_destroy(void *state) {
  invert_state *s = state;
  cudaLibraryUnload(s->lib);
  free(s);
}

/* The input's "image" column is already on this worker's device (weir
 * copied it there on the worker's stream). The kernel goes on the same
 * stream; weir waits for it without spinning, and downstream operators
 * wait for it through the output column's ready event. */
static int invert_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  invert_state *s = state;
  int idx = weir_block_column_index(in, "image");
  weir_column col;
  if (idx < 0 || weir_block_column(in, (size_t)idx, &col) != WEIR_OK ||
      col.device != WEIR_DEVICE_CUDA) {
    weir_ctx_set_errmsg(ctx, "expected a device column 'image'");
    return WEIR_EINVAL;
  }
  weir_block *img;
  void *dst;
  int rc = weir_cuda_tensor_block(ctx, "image", col.dtype, col.ndim, col.shape, col.length,
                                  &img, &dst);
  if (rc) return rc;
  const void *src = col.data;
  unsigned long long n = (unsigned long long)col.length * H * W * 3;
  unsigned blocks = (unsigned)((n + 255) / 256);
  if (blocks > 4096) blocks = 4096; /* the kernel loops over the rest */
  if (blocks == 0) blocks = 1;
  dim3 grid = {blocks, 1, 1}, block = {256, 1, 1};
  void *args[] = {&src, &dst, &n};
  cudaError_t e = cudaLaunchKernel((const void *)s->kernel, grid, block, args, 0,
                                   (cudaStream_t)weir_ctx_cuda_stream(ctx));
  if (e != cudaSuccess) {
    weir_ctx_set_errmsg(ctx, "launching invert: %s", cudaGetErrorString(e));
    weir_block_unref(&img);
    return WEIR_EOPERATOR;
  }
  /* The output: every other input column, then the new image column. */
  size_t ncols = weir_block_num_columns(in), keep[16], nkeep = 0;
  for (size_t i = 0; i < ncols && nkeep < 16; i++)
    if ((int)i != idx) keep[nkeep++] = i;
  weir_block *rest, *res;
  rc = weir_block_select(in, keep, nkeep, &rest);
  if (rc == WEIR_OK) {
    rc = weir_block_add_columns(rest, img, &res);
    weir_block_unref(&rest);
  }
  weir_block_unref(&img);
  return rc ? rc : weir_emit_block(out, res);
}

int main(int argc, char **argv) {
  size_t num_images = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
  size_t tasks = (num_images + PER_TASK - 1) / PER_TASK;
  if (weir_cuda_device_count() == 0) {
    printf("cuda_custom_op: %s; nothing to run\n",
           weir_cuda_built() ? "no CUDA device is visible" : "weir was built without CUDA");
    return 0;
  }
  weir_pipeline *p;
  if (weir_pipeline_create(&p, NULL) != WEIR_OK) return 1;
  weir_op_options gpu = WEIR_OP_OPTIONS_INIT;
  gpu.num_gpus = 0.5; /* two streams can share a device */
  gpu.max_workers = 2;
  weir_op_def def = {WEIR_OP_DEF_VERSION, "invert", invert_init, invert_process, NULL,
                     invert_destroy};
  weir_normalize_options n = WEIR_NORMALIZE_OPTIONS_INIT;
  n.channels = 3;
  n.chw = 1; /* [3, H, W], the layout models take */
  for (int c = 0; c < 3; c++) n.mean[c] = 0.5f, n.std[c] = 0.25f;
  weir_op *src = weir_source(p, "images", tasks, make_images, NULL, NULL);
  weir_op *inv = weir_add_op(p, src, &def, NULL, &gpu);
  weir_op *norm = weir_gpu_normalize(p, inv, "image", &n, &gpu);
  weir_iter *it;
  if (!norm || weir_pipeline_iter(p, norm, NULL, &it) != WEIR_OK) {
    fprintf(stderr, "cuda_custom_op: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  /* The iterator brings the batches back to the host; check them. */
  size_t rows = 0, bad = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column img, ids;
    weir_block_column(b, (size_t)weir_block_column_index(b, "image"), &img);
    weir_block_column(b, (size_t)weir_block_column_index(b, "id"), &ids);
    const float *v = img.data;
    for (size_t r = 0; r < img.length; r++, rows++) {
      int64_t id = ((const int64_t *)ids.data)[r];
      for (int c = 0; c < 3; c++)
        for (size_t px = 0; px < (size_t)H * W; px++) {
          double inv_v = 255 - pixel(id, px * 3 + (size_t)c);
          double want = (inv_v / 255.0 - n.mean[c]) / n.std[c];
          double got = v[(r * 3 + (size_t)c) * H * W + px];
          if (fabs(got - want) > 1e-5 * (1 + fabs(want))) bad++;
        }
    }
    weir_block_unref(&b);
  }
  if (rc != WEIR_EOF) fprintf(stderr, "cuda_custom_op: %s\n", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(inv), &st);
  printf("cuda_custom_op: %zu images inverted and normalised on the GPU, %zu wrong values; "
         "invert busy %.3f s over %d worker(s)\n", rows, bad, st.busy_seconds, st.workers_peak);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  return rc == WEIR_EOF && bad == 0 && rows == tasks * PER_TASK ? 0 : 1;
}
