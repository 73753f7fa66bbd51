/* Helpers shared by the image transforms: finding the image column of a
 * block and making an output block that replaces it. */
#ifndef WEIR_MEDIA_IMAGE_OPS_H
#define WEIR_MEDIA_IMAGE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/block_internal.h"

/* The most pixels an image transform makes per image: what FFmpeg's
 * av_image_check_size() allows. Each side may reach 65536, but not both:
 * 65536 x 65536 x 3 bytes is 12 GiB per row, which a typo asks for and no
 * machine should be made to write. */
#define WEIR__IMAGE_MAX_PIXELS ((int64_t)1 << 28)

typedef struct weir__image_geom {
  size_t index;              /* of the column in the block */
  const weir__column *col;
  size_t rows;
  int64_t h, w, c;           /* c = 1 for [H, W] */
  int ndim;
  size_t esize;              /* bytes per element */
} weir__image_geom;

/* Finds `column` (NULL: `image`, else `frame`) and checks it is a host
 * image tensor of uint8 or float32. Sets weir_last_errmsg() on failure. */
int weir__image_find(const weir_block *in, const char *column,
                     weir__image_geom *g);
/* A block like `in` whose image column is a new uninitialised tensor of
 * `dtype` and `shape`; `*data` is where its rows go. */
int weir__image_output(const weir_block *in, const weir__image_geom *g,
                       int dtype, int ndim, const int64_t *shape,
                       weir_block **out, void **data);

#endif /* WEIR_MEDIA_IMAGE_OPS_H */
