/* The CPU reference image transforms on TENSOR columns: bilinear resize,
 * crop, centre crop, colour conversion and normalisation to float32. Plain
 * C, so builds without FFmpeg compile this same file (CMake's
 * weir_component_sources lists it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/media.h"
#include "core/block_internal.h"
#include "media/image_ops.h"

/* ---- finding the column and making the output block ------------------- */

int weir__image_find(const weir_block *in, const char *column,
                     weir__image_geom *g) {
  if (!in)
    return weir__set_last_error(WEIR_EINVAL, "image transform: no block");
  int idx = column ? weir_block_column_index(in, column)
                   : weir_block_column_index(in, "image");
  if (!column && idx < 0)
    idx = weir_block_column_index(in, "frame");
  if (idx < 0)
    return weir__set_last_error(WEIR_ENOTFOUND,
                                "image transform: no column '%s'",
                                column ? column : "image' or 'frame");
  const weir__column *c = &in->cols[idx];
  if (c->type != WEIR_TYPE_TENSOR || (c->ndim != 2 && c->ndim != 3))
    return weir__set_last_error(WEIR_EINVAL,
                                "image transform: column '%s' is not an image "
                                "tensor ([H, W, C] or [H, W])", c->name);
  if (c->device != WEIR_DEVICE_CPU)
    return weir__set_last_error(WEIR_EINVAL,
                                "image transform: column '%s' is on a CUDA "
                                "device; use the CUDA operators", c->name);
  if (c->dtype != WEIR_DTYPE_UINT8 && c->dtype != WEIR_DTYPE_FLOAT32)
    return weir__set_last_error(WEIR_EINVAL,
                                "image transform: column '%s' is %s, not "
                                "uint8 or float32", c->name,
                                weir_dtype_name(c->dtype));
  g->index = (size_t)idx;
  g->col = c;
  g->rows = in->num_rows;
  g->h = c->shape[0];
  g->w = c->shape[1];
  g->c = c->ndim == 3 ? c->shape[2] : 1;
  g->ndim = c->ndim;
  g->esize = weir_dtype_size(c->dtype);
  return WEIR_OK;
}

int weir__image_output(const weir_block *in, const weir__image_geom *g,
                       int dtype, int ndim, const int64_t *shape,
                       weir_block **out, void **data) {
  size_t row = weir_dtype_size(dtype);
  for (int d = 0; d < ndim; d++)
    row *= (size_t)shape[d];
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  weir__buffer *buf = weir__buffer_alloc(row * (g->rows ? g->rows : 1));
  if (!b || !buf) {
    free(b);
    weir__buffer_unref(buf);
    return weir__set_last_error(WEIR_ENOMEM, "image transform: out of memory");
  }
  for (size_t i = 0; i < in->num_columns; i++) {
    int rc;
    if (i != g->index) {
      rc = weir__column_share(&b->cols[i], &in->cols[i]);
    } else {
      weir__column *c = &b->cols[i];
      rc = weir__column_copy_meta(c, &in->cols[i]);
      if (rc == WEIR_OK) {
        c->dtype = dtype;
        c->ndim = ndim;
        memset(c->shape, 0, sizeof c->shape);
        memcpy(c->shape, shape, (size_t)ndim * sizeof *shape);
        c->length = in->cols[i].length;
        c->null_count = in->cols[i].null_count;
        c->validity_buf = weir__buffer_ref(in->cols[i].validity_buf);
        c->validity = in->cols[i].validity;
        c->data_buf = weir__buffer_ref(buf);
        c->data = buf->data;
      }
    }
    if (rc != WEIR_OK) {
      weir__buffer_unref(buf);
      weir_block_unref(&b);
      return weir__set_last_error(rc, "image transform: out of memory");
    }
  }
  *data = buf->data;
  weir__buffer_unref(buf);
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

/* ---- resize ------------------------------------------------------------ */

/* Source coordinate of output pixel i with half-pixel centres, split into
 * the two neighbours and the weight of the second. */
typedef struct tap {
  int64_t i0, i1;
  float f;
} tap;

static tap *taps(int64_t in, int64_t out) {
  tap *t = malloc((size_t)out * sizeof *t);
  if (!t)
    return NULL;
  double scale = (double)in / (double)out;
  for (int64_t i = 0; i < out; i++) {
    double s = (i + 0.5) * scale - 0.5;
    if (s < 0)
      s = 0;
    int64_t i0 = (int64_t)s;
    if (i0 > in - 1)
      i0 = in - 1;
    t[i].i0 = i0;
    t[i].i1 = i0 + 1 < in ? i0 + 1 : in - 1;
    t[i].f = (float)(s - (double)i0);
  }
  return t;
}

int weir_image_resize_block(const weir_block *in, const char *column,
                            int width, int height, weir_block **out) {
  weir__image_geom g;
  int rc = weir__image_find(in, column, &g);
  if (rc != WEIR_OK)
    return rc;
  if (width < 1 || height < 1 || width > 65536 || height > 65536 ||
      (int64_t)width * height > WEIR__IMAGE_MAX_PIXELS)
    return weir__set_last_error(WEIR_EINVAL, "image_resize: bad size %dx%d "
                                "(each side 1..65536, at most 2^28 pixels)",
                                width, height);
  int64_t shape[3] = {height, width, g.c};
  void *dst;
  rc = weir__image_output(in, &g, g.col->dtype, g.ndim, shape, out, &dst);
  if (rc != WEIR_OK)
    return rc;
  if (g.h == 0 || g.w == 0 || g.rows == 0)
    return WEIR_OK;
  tap *tx = taps(g.w, width), *ty = taps(g.h, height);
  float *line = malloc((size_t)width * (size_t)g.c * 2 * sizeof(float));
  if (!tx || !ty || !line) {
    free(tx);
    free(ty);
    free(line);
    weir_block_unref(out);
    return weir__set_last_error(WEIR_ENOMEM, "image_resize: out of memory");
  }
  const int64_t C = g.c;
  const size_t in_row = (size_t)(g.h * g.w * C), out_row = (size_t)height * width * C;
  for (size_t r = 0; r < g.rows; r++) {
    for (int y = 0; y < height; y++) {
      /* Horizontal pass on the two source lines, then the vertical blend. */
      int64_t ys[2] = {ty[y].i0, ty[y].i1};
      for (int k = 0; k < 2; k++) {
        float *l = line + (size_t)k * width * C;
        if (g.col->dtype == WEIR_DTYPE_UINT8) {
          const uint8_t *src = g.col->data + r * in_row + (size_t)(ys[k] * g.w * C);
          for (int x = 0; x < width; x++) {
            const uint8_t *a = src + tx[x].i0 * C, *b = src + tx[x].i1 * C;
            float f = tx[x].f;
            for (int64_t c = 0; c < C; c++)
              l[x * C + c] = a[c] + f * (float)(b[c] - a[c]);
          }
        } else {
          const float *src = (const float *)g.col->data + r * in_row +
                             (size_t)(ys[k] * g.w * C);
          for (int x = 0; x < width; x++) {
            const float *a = src + tx[x].i0 * C, *b = src + tx[x].i1 * C;
            float f = tx[x].f;
            for (int64_t c = 0; c < C; c++)
              l[x * C + c] = a[c] + f * (b[c] - a[c]);
          }
        }
      }
      float f = ty[y].f;
      const float *l0 = line, *l1 = line + (size_t)width * C;
      size_t n = (size_t)width * C;
      if (g.col->dtype == WEIR_DTYPE_UINT8) {
        uint8_t *o = (uint8_t *)dst + r * out_row + (size_t)y * n;
        for (size_t i = 0; i < n; i++) {
          float v = l0[i] + f * (l1[i] - l0[i]);
          o[i] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
        }
      } else {
        float *o = (float *)dst + r * out_row + (size_t)y * n;
        for (size_t i = 0; i < n; i++)
          o[i] = l0[i] + f * (l1[i] - l0[i]);
      }
    }
  }
  free(tx);
  free(ty);
  free(line);
  return WEIR_OK;
}

/* ---- crop -------------------------------------------------------------- */

int weir_image_crop_block(const weir_block *in, const char *column, int x,
                          int y, int width, int height, weir_block **out) {
  weir__image_geom g;
  int rc = weir__image_find(in, column, &g);
  if (rc != WEIR_OK)
    return rc;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + (int64_t)width > g.w ||
      y + (int64_t)height > g.h)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_crop: %dx%d at (%d, %d) does not fit in "
                                "%lldx%lld images of column '%s'", width,
                                height, x, y, (long long)g.w, (long long)g.h,
                                g.col->name);
  int64_t shape[3] = {height, width, g.c};
  void *dst;
  rc = weir__image_output(in, &g, g.col->dtype, g.ndim, shape, out, &dst);
  if (rc != WEIR_OK)
    return rc;
  size_t px = (size_t)g.c * g.esize;
  size_t in_row = (size_t)(g.h * g.w) * px, out_row = (size_t)height * width * px;
  for (size_t r = 0; r < g.rows; r++)
    for (int yy = 0; yy < height; yy++)
      memcpy((uint8_t *)dst + r * out_row + (size_t)yy * width * px,
             g.col->data + r * in_row + ((size_t)(y + yy) * g.w + x) * px,
             (size_t)width * px);
  return WEIR_OK;
}

int weir_image_center_crop_block(const weir_block *in, const char *column,
                                 int width, int height, weir_block **out) {
  weir__image_geom g;
  int rc = weir__image_find(in, column, &g);
  if (rc != WEIR_OK)
    return rc;
  if (width < 1 || height < 1 || width > g.w || height > g.h)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_center_crop: %dx%d is larger than the "
                                "%lldx%lld images of column '%s'", width,
                                height, (long long)g.w, (long long)g.h,
                                g.col->name);
  return weir_image_crop_block(in, column, (int)((g.w - width) / 2),
                               (int)((g.h - height) / 2), width, height, out);
}

/* ---- colour conversion --------------------------------------------------- */

static int color_channels(int color) {
  switch (color) {
  case WEIR_COLOR_GRAY: return 1;
  case WEIR_COLOR_RGBA: return 4;
  case WEIR_COLOR_RGB:
  case WEIR_COLOR_BGR:
  case WEIR_COLOR_YUV: return 3;
  default: return 0;
  }
}

static uint8_t clamp8(float v) {
  return (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
}

/* One pixel from `from` to RGBA. */
static void to_rgba(int from, const uint8_t *s, uint8_t *p) {
  switch (from) {
  case WEIR_COLOR_RGB: p[0] = s[0]; p[1] = s[1]; p[2] = s[2]; p[3] = 255; break;
  case WEIR_COLOR_BGR: p[0] = s[2]; p[1] = s[1]; p[2] = s[0]; p[3] = 255; break;
  case WEIR_COLOR_GRAY: p[0] = p[1] = p[2] = s[0]; p[3] = 255; break;
  case WEIR_COLOR_RGBA: memcpy(p, s, 4); break;
  case WEIR_COLOR_YUV: {
    float y = s[0], cb = s[1] - 128.0f, cr = s[2] - 128.0f;
    p[0] = clamp8(y + 1.402f * cr);
    p[1] = clamp8(y - 0.344136f * cb - 0.714136f * cr);
    p[2] = clamp8(y + 1.772f * cb);
    p[3] = 255;
    break;
  }
  }
}

static void from_rgba(int to, const uint8_t *p, uint8_t *d) {
  switch (to) {
  case WEIR_COLOR_RGB: d[0] = p[0]; d[1] = p[1]; d[2] = p[2]; break;
  case WEIR_COLOR_BGR: d[0] = p[2]; d[1] = p[1]; d[2] = p[0]; break;
  case WEIR_COLOR_GRAY:
    d[0] = clamp8(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
    break;
  case WEIR_COLOR_RGBA: memcpy(d, p, 4); break;
  case WEIR_COLOR_YUV:
    d[0] = clamp8(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
    d[1] = clamp8(128.0f - 0.168736f * p[0] - 0.331264f * p[1] + 0.5f * p[2]);
    d[2] = clamp8(128.0f + 0.5f * p[0] - 0.418688f * p[1] - 0.081312f * p[2]);
    break;
  }
}

int weir_image_convert_block(const weir_block *in, const char *column,
                             int from, int to, weir_block **out) {
  weir__image_geom g;
  int rc = weir__image_find(in, column, &g);
  if (rc != WEIR_OK)
    return rc;
  int cf = color_channels(from), ct = color_channels(to);
  if (!cf || !ct)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_convert: unknown colour layout %d",
                                cf ? to : from);
  if (g.col->dtype != WEIR_DTYPE_UINT8 || g.c != cf)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_convert: column '%s' has %lld channels "
                                "of %s; converting from this layout needs %d "
                                "of uint8", g.col->name, (long long)g.c,
                                weir_dtype_name(g.col->dtype), cf);
  int64_t shape[3] = {g.h, g.w, ct};
  void *dst;
  rc = weir__image_output(in, &g, WEIR_DTYPE_UINT8, 3, shape, out, &dst);
  if (rc != WEIR_OK)
    return rc;
  size_t n = g.rows * (size_t)(g.h * g.w);
  const uint8_t *s = g.col->data;
  uint8_t *d = dst;
  uint8_t p[4];
  for (size_t i = 0; i < n; i++, s += cf, d += ct) {
    to_rgba(from, s, p);
    from_rgba(to, p, d);
  }
  return WEIR_OK;
}

/* ---- normalisation ------------------------------------------------------- */

int weir_image_normalize_block(const weir_block *in, const char *column,
                               const weir_normalize_options *n,
                               weir_block **out) {
  weir__image_geom g;
  int rc = weir__image_find(in, column, &g);
  if (rc != WEIR_OK)
    return rc;
  weir_normalize_options def = WEIR_NORMALIZE_OPTIONS_INIT;
  if (!n)
    n = &def;
  if (n->version != WEIR_NORMALIZE_OPTIONS_VERSION)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_normalize: unknown options version %u",
                                n->version);
  int C = (int)g.c;
  if (n->channels != 0 && n->channels != C)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_normalize: %d means and deviations for "
                                "images of %d channels in column '%s'",
                                n->channels, C, g.col->name);
  if (C > 4)
    return weir__set_last_error(WEIR_EINVAL,
                                "image_normalize: %d channels; at most 4", C);
  float scale = n->scale != 0 ? n->scale
                : g.col->dtype == WEIR_DTYPE_UINT8 ? 1.0f / 255.0f : 1.0f;
  float mul[4], add[4];
  for (int c = 0; c < C; c++) {
    float mean = n->channels ? n->mean[c] : 0.0f;
    float sd = n->channels && n->std[c] != 0 ? n->std[c] : 1.0f;
    /* (x * scale - mean) / sd as one multiply-add per element. */
    mul[c] = scale / sd;
    add[c] = -mean / sd;
  }
  int64_t hwc[3] = {g.h, g.w, C}, chw[3] = {C, g.h, g.w};
  void *dstv;
  rc = weir__image_output(in, &g, WEIR_DTYPE_FLOAT32, n->chw ? 3 : g.ndim,
                          n->chw ? chw : hwc, out, &dstv);
  if (rc != WEIR_OK)
    return rc;
  float *dst = dstv;
  size_t plane = (size_t)(g.h * g.w), per = plane * (size_t)C;
  for (size_t r = 0; r < g.rows; r++) {
    float *o = dst + r * per;
    if (g.col->dtype == WEIR_DTYPE_UINT8) {
      const uint8_t *s = g.col->data + r * per;
      for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < C; c++) {
          float v = s[p * C + c] * mul[c] + add[c];
          if (n->chw)
            o[c * plane + p] = v;
          else
            o[p * C + c] = v;
        }
    } else {
      const float *s = (const float *)g.col->data + r * per;
      for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < C; c++) {
          float v = s[p * C + c] * mul[c] + add[c];
          if (n->chw)
            o[c * plane + p] = v;
          else
            o[p * C + c] = v;
        }
    }
  }
  return WEIR_OK;
}
