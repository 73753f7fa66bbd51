/* CUDA versions of the built-in image kernels (uint8 HWC -> normalised
 * float32 CHW, bilinear resize), matching the CPU versions in
 * src/cuda/host/image_cpu.c operation for operation. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

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

/* v * scale + bias with a rounding after each operation (no FMA), like
 * the CPU version. */
__device__ __forceinline__ float norm1(uint32_t v, float scale, float bias) {
  return __fadd_rn(__fmul_rn((float)v, scale), bias);
}

/* One thread per pixel, for any layout: the channel count is a template
 * parameter so that scale and bias live in registers (indexing the
 * parameter struct by a run-time channel spilled it to a stack frame). */
template <int CH>
__global__ void normalize_kernel(const uint8_t *__restrict__ in,
                                 float *__restrict__ out, size_t pixels,
                                 size_t plane, weir__normalize_params p) {
  float scale[CH], bias[CH];
#pragma unroll
  for (int c = 0; c < CH; c++) scale[c] = p.scale[c], bias[c] = p.bias[c];
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pixels;
       i += (size_t)gridDim.x * blockDim.x) {
    size_t img = i / plane, px = i - img * plane;
    const uint8_t *src = in + i * (size_t)CH;
    float *dst = out + img * plane * (size_t)CH + px;
#pragma unroll
    for (int c = 0; c < CH; c++) dst[(size_t)c * plane] = norm1(src[c], scale[c], bias[c]);
  }
}

/* Four pixels per thread: their 4*CH bytes come in as CH aligned 32-bit
 * loads (instead of 4*CH byte loads CH bytes apart) and each plane gets
 * one 16-byte store. Needs `in` 4-byte and `out` 16-byte aligned and a
 * plane of a multiple of 4 pixels, so that no quad straddles two images. */
template <int CH>
__global__ void normalize_quad_kernel(const uint32_t *__restrict__ in,
                                      float *__restrict__ out, size_t quads,
                                      size_t plane, weir__normalize_params p) {
  float scale[CH], bias[CH];
#pragma unroll
  for (int c = 0; c < CH; c++) scale[c] = p.scale[c], bias[c] = p.bias[c];
  for (size_t q = blockIdx.x * (size_t)blockDim.x + threadIdx.x; q < quads;
       q += (size_t)gridDim.x * blockDim.x) {
    uint32_t word[CH];
#pragma unroll
    for (int k = 0; k < CH; k++) word[k] = in[q * CH + k];
    size_t i = q * 4, img = i / plane, px = i - img * plane;
    float *dst = out + img * plane * (size_t)CH + px;
#pragma unroll
    for (int c = 0; c < CH; c++) {
      /* Byte b of the quad (little-endian words): pixel b / CH, channel
       * b % CH; all indices are compile-time constants. */
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int b = j * CH + c;
        v[j] = norm1((word[b / 4] >> (8 * (b % 4))) & 0xffu, scale[c], bias[c]);
      }
      *reinterpret_cast<float4 *>(dst + (size_t)c * plane) =
          make_float4(v[0], v[1], v[2], v[3]);
    }
  }
}

template <int CH>
void launch_normalize(const uint8_t *in, float *out, size_t pixels,
                      size_t plane, const weir__normalize_params &p,
                      cudaStream_t stream) {
  if (plane % 4 == 0 && (uintptr_t)in % 4 == 0 && (uintptr_t)out % 16 == 0) {
    size_t quads = pixels / 4;
    normalize_quad_kernel<CH><<<grid_for(quads), kThreads, 0, stream>>>(
        reinterpret_cast<const uint32_t *>(in), out, quads, plane, p);
  } else {
    normalize_kernel<CH><<<grid_for(pixels), kThreads, 0, stream>>>(
        in, out, pixels, plane, p);
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
    /* 64-bit offsets throughout: x * c and y * w * c overflow int for
     * wide images with many channels. */
    const uint8_t *r0 = src + (size_t)y0 * (size_t)w * (size_t)c;
    const uint8_t *r1 = src + (size_t)y1 * (size_t)w * (size_t)c;
    const size_t o0 = (size_t)x0 * (size_t)c, o1 = (size_t)x1 * (size_t)c;
    uint8_t *dst = out + i * (size_t)c;
    for (int k = 0; k < c; k++) {
      float a = r0[o0 + k], b = r0[o1 + k];
      float d = r1[o0 + k], e = r1[o1 + k];
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
  cudaStream_t st = (cudaStream_t)stream;
  switch (p->channels) {
  case 1: launch_normalize<1>(in, out, pixels, plane, *p, st); break;
  case 2: launch_normalize<2>(in, out, pixels, plane, *p, st); break;
  case 3: launch_normalize<3>(in, out, pixels, plane, *p, st); break;
  case 4: launch_normalize<4>(in, out, pixels, plane, *p, st); break;
  default:
    return weir__set_last_error(WEIR_EINVAL,
        "normalize kernel: %d channels (1 to %d)", p->channels,
        WEIR__NORMALIZE_MAX_CHANNELS);
  }
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
