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

/* One read task's state: its builder, and the images in it. */
typedef struct image_task {
  weir_builder *bld;
  weir_emit *out;
  int fixed;            /* every image resized to one shape */
  size_t built;         /* bytes of the images in the builder */
  size_t last;          /* what decoding the last image held */
} image_task;

static int emit(image_task *t) {
  weir_builder *bld = t->bld;
  if (weir_builder_num_columns(bld) == 0 || weir_builder_num_rows(bld, 0) == 0)
    return WEIR_OK;
  weir_block *b = NULL;
  int rc = weir_builder_finish(bld, &b);
  t->built = 0;
  if (rc == WEIR_OK)
    rc = weir_emit_block(t->out, b);
  return rc;
}

/* The block built so far and what decoding an image holds are counted
 * (working bytes): a 4K picture is 25 MB, and left uncounted each one
 * decoded while the budget was full of others came on top of it. Before
 * decoding, the task waits for room as the emit would, for the size the
 * file declares or else the last image's (a folder's images tend to be
 * alike); once decoded, the real size is counted. */
static int sizing(void *user, size_t bytes, int decoded) {
  image_task *t = user;
  if (decoded) {
    t->last = bytes;
    return weir__emit_hold_to(t->out, t->built + bytes, 0);
  }
  return weir__emit_hold_to(t->out, t->built + (bytes ? bytes : t->last), 1);
}

/* The decoder writes the picture straight into the block's row. */
static uint8_t *place(void *user, int w, int h) {
  image_task *t = user;
  if (!t->fixed && start_block(t->bld, w, h) != WEIR_OK)
    return NULL;
  void *slot = NULL;
  if (weir_builder_append_tensor_slot(t->bld, 0, &slot) != WEIR_OK)
    return NULL;
  t->built += (size_t)w * (size_t)h * 3;
  return slot;
}

/* The conversion failed after the decoder was given a row: the rows
 * before it go out as they are, and the builder starts afresh. */
static int drop_last_row(image_task *t, const weir_image_options *o, size_t rows) {
  weir_block *b = NULL, *keep = NULL;
  int rc = weir_builder_finish(t->bld, &b);
  t->built = 0;
  if (rc == WEIR_OK && rows > 0) {
    rc = weir_block_slice(b, 0, rows, &keep);
    if (rc == WEIR_OK)
      rc = weir_emit_block(t->out, keep);
  }
  weir_block_unref(&b);
  if (rc == WEIR_OK && t->fixed)
    rc = start_block(t->bld, o->width, o->height);
  return rc;
}

static int read_images_task(void *user, size_t task, weir_emit *out) {
  weir__media_source *s = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const weir_image_options *o = &s->image;
  size_t first = task * s->files_per_task;
  size_t last = first + s->files_per_task;
  if (last > s->n)
    last = s->n;
  image_task t = {NULL, out, o->width > 0 && o->height > 0, 0, 0};
  int rc = weir_builder_create(&t.bld);
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "read_images: out of memory");
    return rc;
  }
  if (t.fixed)
    rc = start_block(t.bld, o->width, o->height);
  if (rc == WEIR_OK && t.fixed)
    rc = weir_builder_reserve(t.bld, last - first);
  weir__image_sink sink = {sizing, place, &t};
  for (size_t i = first; rc == WEIR_OK && i < last; i++) {
    if (weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
    const char *path = s->paths[i];
    char err[WEIR__MEDIA_ERRLEN] = "";
    size_t rows = weir_builder_num_columns(t.bld) ? weir_builder_num_rows(t.bld, 0) : 0;
    int drc = weir__image_decode_to(path, o->width, o->height, &sink,
                                    weir__media_cancelled, ctx, err, sizeof err);
    /* The decoder's own memory is gone; the block's stays counted. */
    weir__emit_hold_to(out, t.built, 0);
    if (drc != WEIR_OK) {
      /* A row the decoder was given but could not fill is taken back. */
      if (weir_builder_num_columns(t.bld) && weir_builder_num_rows(t.bld, 0) > rows)
        rc = drop_last_row(&t, o, rows);
      if (rc == WEIR_OK)
        rc = weir__media_file_failed(ctx, s->on_error, path, drc, err);
      continue;
    }
    rc = weir_builder_append_string(t.bld, 1, path, strlen(path));
    /* Images of their own size are a block each. */
    if (rc == WEIR_OK && !t.fixed)
      rc = emit(&t);
    if (rc != WEIR_OK && rc != WEIR_ECANCELED)
      weir_ctx_set_errmsg(ctx, "%s: cannot build a block: %s", path,
                          t.bld ? weir_builder_errmsg(t.bld) : weir_strerror(rc));
  }
  if (rc == WEIR_OK && t.fixed)
    rc = emit(&t);
  weir_builder_destroy(t.bld);
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
