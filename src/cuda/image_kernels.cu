/* CUDA versions of the built-in image kernels (uint8 HWC -> normalised
 * float32 CHW, bilinear resize), matching the CPU versions in
 * src/cuda/host/image_cpu.c operation for operation. */
#include <cuda_runtime.h>
#include <math.h>

extern "C" {
#include "weir/error.h"
#include "cuda/cuda_internal.h"
/* From core/block_internal.h, which is C-only (<stdatomic.h>). */
int weir__set_last_error(int err, const char *fmt, ...);
}

namespace {

/* Grid-stride loops: a grid sized for the device, not the data, so any
 * size works without overflowing grid limits. */
constexpr int kThreads = 256;

unsigned grid_for(size_t items) {
  size_t blocks = (items + kThreads - 1) / kThreads;
  const size_t cap = 65535u * 8u;
  if (blocks > cap) blocks = cap;
  if (blocks == 0) blocks = 1;
  return (unsigned)blocks;
}

/* One thread per pixel: reads its C bytes, writes one float per plane, so
 * the writes of a warp are contiguous in each plane. */
__global__ void normalize_kernel(const uint8_t *__restrict__ in,
                                 float *__restrict__ out, size_t pixels,
                                 size_t plane, weir__normalize_params p) {
  const int ch = p.channels;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pixels;
       i += (size_t)gridDim.x * blockDim.x) {
    size_t img = i / plane, px = i - img * plane;
    const uint8_t *src = in + i * (size_t)ch;
    float *dst = out + img * plane * (size_t)ch + px;
    for (int c = 0; c < ch; c++) {
      /* Rounded product, then rounded sum: no FMA contraction, like the
       * CPU version. */
      float t = __fmul_rn((float)src[c], p.scale[c]);
      dst[(size_t)c * plane] = __fadd_rn(t, p.bias[c]);
    }
  }
}

__device__ void source_coord(int o, float scale, int size, int *i0, int *i1,
                             float *frac) {
  float s = __fmul_rn(__fadd_rn((float)o, 0.5f), scale);
  s = __fsub_rn(s, 0.5f);
  if (s < 0.0f) s = 0.0f;
  int i = (int)floorf(s);
  if (i > size - 1) i = size - 1;
  *i0 = i;
  *i1 = i + 1 < size ? i + 1 : size - 1;
  *frac = __fsub_rn(s, (float)i);
}

__global__ void resize_kernel(const uint8_t *__restrict__ in,
                              uint8_t *__restrict__ out, size_t n, int h,
                              int w, int c, int oh, int ow, float sy,
                              float sx) {
  const size_t pixels = n * (size_t)oh * (size_t)ow;
  const size_t in_img = (size_t)h * w * c;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pixels;
       i += (size_t)gridDim.x * blockDim.x) {
    size_t img = i / ((size_t)oh * ow);
    size_t rem = i - img * (size_t)oh * ow;
    int y = (int)(rem / ow), x = (int)(rem - (size_t)y * ow);
    int y0, y1, x0, x1;
    float fy, fx;
    source_coord(y, sy, h, &y0, &y1, &fy);
    source_coord(x, sx, w, &x0, &x1, &fx);
    const uint8_t *src = in + img * in_img;
    const uint8_t *r0 = src + (size_t)y0 * w * c;
    const uint8_t *r1 = src + (size_t)y1 * w * c;
    uint8_t *dst = out + i * (size_t)c;
    for (int k = 0; k < c; k++) {
      float a = r0[x0 * c + k], b = r0[x1 * c + k];
      float d = r1[x0 * c + k], e = r1[x1 * c + k];
      float top = __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), fx));
      float bot = __fadd_rn(d, __fmul_rn(__fsub_rn(e, d), fx));
      float v = __fadd_rn(top, __fmul_rn(__fsub_rn(bot, top), fy));
      v = __fadd_rn(v, 0.5f);
      v = fminf(fmaxf(v, 0.0f), 255.0f);
      dst[k] = (uint8_t)v;
    }
  }
}

int launch_result(const char *what) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return WEIR_OK;
  int code = e == cudaErrorNoKernelImageForDevice ? WEIR_ENODEV : WEIR_EOPERATOR;
  return weir__set_last_error(code, "%s kernel launch: %s (%s)", what,
                              cudaGetErrorName(e), cudaGetErrorString(e));
}

}  // namespace

extern "C" int weir__normalize_cuda(const uint8_t *in, float *out, size_t n,
                                    int h, int w,
                                    const weir__normalize_params *p,
                                    void *stream) {
  size_t plane = (size_t)h * (size_t)w, pixels = n * plane;
  if (pixels == 0) return WEIR_OK;
  normalize_kernel<<<grid_for(pixels), kThreads, 0, (cudaStream_t)stream>>>(
      in, out, pixels, plane, *p);
  return launch_result("normalize");
}

extern "C" int weir__resize_cuda(const uint8_t *in, uint8_t *out, size_t n,
                                 int h, int w, int c, int oh, int ow,
                                 void *stream) {
  size_t pixels = n * (size_t)oh * (size_t)ow;
  if (pixels == 0) return WEIR_OK;
  /* The scales are computed on the host, in the same way as the CPU
   * version, so both see the same floats. */
  float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
  resize_kernel<<<grid_for(pixels), kThreads, 0, (cudaStream_t)stream>>>(
      in, out, n, h, w, c, oh, ow, sy, sx);
  return launch_result("resize");
}
