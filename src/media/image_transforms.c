/* The image transforms as pipeline operators: map_batches calls of the
 * *_block functions, with the error detail passed on to the pipeline. Plain
 * C like the transforms, so builds without FFmpeg compile this file too
 * (CMake's weir_component_sources lists it). */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/media.h"
#include "exec/exec_internal.h"
#include "media/image_ops.h"

enum { T_RESIZE, T_CROP, T_CENTER_CROP, T_CONVERT, T_NORMALIZE };

typedef struct transform {
  int kind;
  char *column;              /* NULL: image, else frame */
  int a, b, c, d;            /* sizes, offsets or colour layouts */
  weir_normalize_options norm;
} transform;

static void transform_free(void *t) {
  if (!t)
    return;
  free(((transform *)t)->column);
  free(t);
}

static int transform_run(void *user, weir_block *in, weir_emit *out) {
  const transform *t = user;
  weir_block *b = NULL;
  int rc;
  switch (t->kind) {
  case T_RESIZE:
    rc = weir_image_resize_block(in, t->column, t->a, t->b, &b);
    break;
  case T_CROP:
    rc = weir_image_crop_block(in, t->column, t->a, t->b, t->c, t->d, &b);
    break;
  case T_CENTER_CROP:
    rc = weir_image_center_crop_block(in, t->column, t->a, t->b, &b);
    break;
  case T_CONVERT:
    rc = weir_image_convert_block(in, t->column, t->a, t->b, &b);
    break;
  default:
    rc = weir_image_normalize_block(in, t->column, &t->norm, &b);
  }
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(weir_emit_ctx(out), "%s", weir_last_errmsg());
    return rc;
  }
  return weir_emit_block(out, b);
}

static weir_op *make(weir_pipeline *p, weir_op *in, const char *name,
                     transform *t, const char *column,
                     const weir_op_options *o) {
  if (!p) {
    free(t);
    return NULL;
  }
  if (!t)
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  if (column && !(t->column = strdup(column))) {
    free(t);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  }
  weir_op *op = weir_map_batches(p, in, name, transform_run, t, o);
  if (!op) {
    transform_free(t);
    return NULL;
  }
  weir__op_set_cleanup(op, transform_free, t);
  return op;
}

weir_op *weir_image_resize(weir_pipeline *p, weir_op *in, const char *column,
                           int width, int height, const weir_op_options *o) {
  if (p && (width < 1 || height < 1 || width > 65536 || height > 65536 ||
            (int64_t)width * height > WEIR__IMAGE_MAX_PIXELS))
    return weir__op_fail(p, WEIR_EINVAL, "image_resize: bad size %dx%d "
                         "(each side 1..65536, at most 2^28 pixels)", width,
                         height);
  transform *t = calloc(1, sizeof *t);
  if (t)
    *t = (transform){.kind = T_RESIZE, .a = width, .b = height};
  return make(p, in, "image_resize", t, column, o);
}

weir_op *weir_image_crop(weir_pipeline *p, weir_op *in, const char *column,
                         int x, int y, int width, int height,
                         const weir_op_options *o) {
  if (p && (x < 0 || y < 0 || width < 1 || height < 1))
    return weir__op_fail(p, WEIR_EINVAL,
                         "image_crop: bad rectangle %dx%d at (%d, %d)", width,
                         height, x, y);
  transform *t = calloc(1, sizeof *t);
  if (t)
    *t = (transform){.kind = T_CROP, .a = x, .b = y, .c = width, .d = height};
  return make(p, in, "image_crop", t, column, o);
}

weir_op *weir_image_center_crop(weir_pipeline *p, weir_op *in,
                                const char *column, int width, int height,
                                const weir_op_options *o) {
  if (p && (width < 1 || height < 1))
    return weir__op_fail(p, WEIR_EINVAL, "image_center_crop: bad size %dx%d",
                         width, height);
  transform *t = calloc(1, sizeof *t);
  if (t)
    *t = (transform){.kind = T_CENTER_CROP, .a = width, .b = height};
  return make(p, in, "image_center_crop", t, column, o);
}

weir_op *weir_image_convert(weir_pipeline *p, weir_op *in, const char *column,
                            int from, int to, const weir_op_options *o) {
  if (p && (from < WEIR_COLOR_RGB || from > WEIR_COLOR_RGBA ||
            to < WEIR_COLOR_RGB || to > WEIR_COLOR_RGBA))
    return weir__op_fail(p, WEIR_EINVAL,
                         "image_convert: unknown colour layout (%d to %d)",
                         from, to);
  transform *t = calloc(1, sizeof *t);
  if (t)
    *t = (transform){.kind = T_CONVERT, .a = from, .b = to};
  return make(p, in, "image_convert", t, column, o);
}

weir_op *weir_image_normalize(weir_pipeline *p, weir_op *in,
                              const char *column,
                              const weir_normalize_options *n,
                              const weir_op_options *o) {
  weir_normalize_options def = WEIR_NORMALIZE_OPTIONS_INIT;
  if (!n)
    n = &def;
  if (p && (n->version != WEIR_NORMALIZE_OPTIONS_VERSION || n->channels < 0 ||
            n->channels > 4))
    return weir__op_fail(p, WEIR_EINVAL,
                         "image_normalize: bad options (version %u, %d "
                         "channels)", n->version, n->channels);
  transform *t = calloc(1, sizeof *t);
  if (t) {
    t->kind = T_NORMALIZE;
    t->norm = *n;
  }
  return make(p, in, "image_normalize", t, column, o);
}
