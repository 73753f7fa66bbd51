/* weir_read_images: a source whose tasks each decode a block's worth of
 * image files, resized to one shape or each kept at its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/io.h"
#include "media/media_source.h"

static const char *const image_suffixes[] = {
    ".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif",
    ".ppm", ".pgm", ".pnm", ".tga", NULL};

/* A block of images of one shape: `image` [h, w, 3] and `path`. */
static int start_block(weir_builder *bld, int w, int h) {
  int64_t shape[3] = {h, w, 3};
  int rc = weir_builder_add_tensor_column(bld, "image", WEIR_DTYPE_UINT8, 3,
                                          shape);
  if (rc == WEIR_OK)
    rc = weir_builder_add_column(bld, "path", WEIR_TYPE_STRING);
  return rc;
}

static int emit(weir_builder *bld, weir_emit *out) {
  if (weir_builder_num_columns(bld) == 0 || weir_builder_num_rows(bld, 0) == 0)
    return WEIR_OK;
  weir_block *b = NULL;
  int rc = weir_builder_finish(bld, &b);
  if (rc == WEIR_OK)
    rc = weir_emit_block(out, b);
  return rc;
}

static int read_images_task(void *user, size_t task, weir_emit *out) {
  weir__media_source *s = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const weir_image_options *o = &s->image;
  int fixed = o->width > 0 && o->height > 0;
  size_t first = task * s->files_per_task;
  size_t last = first + s->files_per_task;
  if (last > s->n)
    last = s->n;
  weir_builder *bld = NULL;
  int rc = weir_builder_create(&bld);
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "read_images: out of memory");
    return rc;
  }
  if (fixed)
    rc = start_block(bld, o->width, o->height);
  for (size_t i = first; rc == WEIR_OK && i < last; i++) {
    if (weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
    const char *path = s->paths[i];
    char err[WEIR__MEDIA_ERRLEN] = "";
    uint8_t *px = NULL;
    int w = 0, h = 0;
    int drc = weir__image_decode(path, o->width, o->height, &px, &w, &h,
                                 weir__media_cancelled, ctx, err, sizeof err);
    if (drc != WEIR_OK) {
      rc = weir__media_file_failed(ctx, s->on_error, path, drc, err);
      continue;
    }
    if (!fixed)
      rc = start_block(bld, w, h);
    if (rc == WEIR_OK)
      rc = weir_builder_append_tensor(bld, 0, px);
    if (rc == WEIR_OK)
      rc = weir_builder_append_string(bld, 1, path, strlen(path));
    free(px);
    /* Images of their own size are a block each. */
    if (rc == WEIR_OK && !fixed)
      rc = emit(bld, out);
    if (rc != WEIR_OK && rc != WEIR_ECANCELED)
      weir_ctx_set_errmsg(ctx, "%s: cannot build a block: %s", path,
                          weir_builder_errmsg(bld));
  }
  if (rc == WEIR_OK && fixed)
    rc = emit(bld, out);
  weir_builder_destroy(bld);
  return rc;
}

weir_op *weir_read_images(weir_pipeline *p, const char *uri,
                          const weir_image_options *o) {
  if (!p)
    return NULL;
  if (o && o->version != WEIR_IMAGE_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_images: unknown weir_image_options version %u",
                         o->version);
  weir__media_source *s = calloc(1, sizeof *s);
  if (!s)
    return weir__op_fail(p, WEIR_ENOMEM, "read_images: out of memory");
  weir_image_options d = WEIR_IMAGE_OPTIONS_INIT;
  s->image = o ? *o : d;
  s->image.version = WEIR_IMAGE_OPTIONS_VERSION;
  if (s->image.rows_per_block == 0)
    s->image.rows_per_block = 32;
  /* A size the decoder refuses for every image (see image_decoder.c) is
   * refused here: under WEIR_ON_ERROR_SKIP it would skip every file. */
  if (s->image.width < 0 || s->image.height < 0 ||
      s->image.width > 32768 || s->image.height > 32768 ||
      (s->image.width > 0) != (s->image.height > 0)) {
    weir__media_source_free(s);
    return weir__op_fail(p, WEIR_EINVAL,
                         "read_images %s: width and height are both set (up "
                         "to 32768) or both 0", uri ? uri : "(null)");
  }
  s->on_error = s->image.on_error;
  s->files_per_task = s->image.rows_per_block;
  if (s->image.width > 0) {
    /* Resized images have a known size: a block of them stays near the
     * block size in bytes. */
    size_t target = s->image.target_block_bytes ? s->image.target_block_bytes
                                                : weir_pipeline_block_bytes(p);
    size_t fit = target / ((size_t)s->image.width * (size_t)s->image.height * 3);
    if (fit < 1)
      fit = 1;
    if (fit < s->files_per_task)
      s->files_per_task = fit;
  }
  return weir__media_make_source(p, "read_images", uri, image_suffixes, NULL,
                            read_images_task, s);
}
