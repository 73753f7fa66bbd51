/* CPU versions of the built-in image kernels: the fallback without a GPU and
 * the reference the CUDA kernels are tested against. */
#include <math.h>

#include "weir/error.h"
#include "cuda/cuda_internal.h"

int weir__normalize_params_init(weir__normalize_params *p, int channels,
                                const float *mean, const float *std,
                                float scale) {
  if (!p || !mean || !std || channels < 0 ||
      channels > WEIR__NORMALIZE_MAX_CHANNELS || !isfinite(scale))
    return WEIR_EINVAL;
  p->channels = channels;
  for (int c = 0; c < WEIR__NORMALIZE_MAX_CHANNELS; c++) {
    /* Without means and deviations every channel is only scaled. */
    p->scale[c] = scale != 0.0f ? scale : 1.0f / 255.0f;
    p->bias[c] = 0.0f;
  }
  for (int c = 0; c < channels; c++) {
    if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] < 0.0f)
      return WEIR_EINVAL;
    const float sd = std[c] != 0.0f ? std[c] : 1.0f;
    /* 1 / (255 sd) in one division for the default scale: the figure the
     * kernel and this CPU version have always shared. */
    p->scale[c] = scale != 0.0f ? scale / sd : 1.0f / (255.0f * sd);
    p->bias[c] = -mean[c] / sd;
  }
  return WEIR_OK;
}

void weir__normalize_cpu(const uint8_t *in, float *out, size_t n, int h,
                         int w, const weir__normalize_params *p) {
  const int ch = p->channels;
  const size_t plane = (size_t)h * (size_t)w;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *src = in + i * plane * (size_t)ch;
    float *dst = out + i * plane * (size_t)ch;
    for (int c = 0; c < ch; c++) {
      const float scale = p->scale[c], bias = p->bias[c];
      float *plane_out = dst + (size_t)c * plane;
      /* Separate statements keep the product rounded before the sum, as
       * the CUDA kernel's __fmul_rn/__fadd_rn do. */
      for (size_t px = 0; px < plane; px++) {
        float t = (float)src[px * (size_t)ch + (size_t)c] * scale;
        plane_out[px] = t + bias;
      }
    }
  }
}

/* Source coordinate of output index `o` with half-pixel centres, and the
 * two neighbours and weight it blends. */
static void source_coord(int o, float scale, int size, int *i0, int *i1,
                         float *frac) {
  float s = ((float)o + 0.5f) * scale;
  s = s - 0.5f;
  if (s < 0.0f) s = 0.0f;
  int i = (int)floorf(s);
  if (i > size - 1) i = size - 1;
  *i0 = i;
  *i1 = i + 1 < size ? i + 1 : size - 1;
  *frac = s - (float)i;
}

void weir__resize_cpu(const uint8_t *in, uint8_t *out, size_t n, int h, int w,
                      int c, int oh, int ow) {
  const float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
  const size_t in_img = (size_t)h * (size_t)w * (size_t)c;
  const size_t out_img = (size_t)oh * (size_t)ow * (size_t)c;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *src = in + i * in_img;
    uint8_t *dst = out + i * out_img;
    for (int y = 0; y < oh; y++) {
      int y0, y1;
      float fy;
      source_coord(y, sy, h, &y0, &y1, &fy);
      const uint8_t *r0 = src + (size_t)y0 * (size_t)w * (size_t)c;
      const uint8_t *r1 = src + (size_t)y1 * (size_t)w * (size_t)c;
      for (int x = 0; x < ow; x++) {
        int x0, x1;
        float fx;
        source_coord(x, sx, w, &x0, &x1, &fx);
        /* 64-bit offsets: x * c overflows int for wide images with many
         * channels. */
        const size_t o0 = (size_t)x0 * (size_t)c, o1 = (size_t)x1 * (size_t)c;
        for (int k = 0; k < c; k++) {
          float a = r0[o0 + (size_t)k], b = r0[o1 + (size_t)k];
          float d = r1[o0 + (size_t)k], e = r1[o1 + (size_t)k];
          /* top + fx (b - a), then the same down the rows, one rounding
           * per operation as in the CUDA kernel. */
          float t0 = b - a;
          t0 = t0 * fx;
          float top = a + t0;
          float t1 = e - d;
          t1 = t1 * fx;
          float bot = d + t1;
          float t2 = bot - top;
          t2 = t2 * fy;
          float v = top + t2;
          v = v + 0.5f;
          if (v < 0.0f) v = 0.0f;
          if (v > 255.0f) v = 255.0f;
          dst[((size_t)y * (size_t)ow + (size_t)x) * (size_t)c + (size_t)k] =
              (uint8_t)v;
        }
      }
    }
  }
}
