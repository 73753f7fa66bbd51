/* The Arrow C Data and C Stream Interfaces, as the Arrow project defines
 * them (https://arrow.apache.org/docs/format/CDataInterface.html), plus
 * weir's conversions between blocks and Arrow arrays. */
#ifndef WEIR_ARROW_ABI_H
#define WEIR_ARROW_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema *);
  /* Opaque producer-specific data */
  void *private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  /* Callbacks providing stream functionality */
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);

  /* Release callback */
  void (*release)(struct ArrowArrayStream *);

  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

#ifdef __cplusplus
}
#endif

WEIR_BEGIN_DECLS

struct weir_block;

/* Exports `b` as an Arrow struct array without copying: the array holds a
 * reference to the block's buffers, so it stays valid after the caller
 * drops its own reference to `b`, until the consumer calls the release
 * callbacks (each exactly once). TENSOR columns become FixedSizeList arrays
 * with the canonical extension type `arrow.fixed_shape_tensor`. Only host
 * columns can be exported this way (WEIR_EINVAL for device columns). On
 * error neither output is touched. Borrows `b`. */
WEIR_EXTERN int weir_block_to_arrow(const struct weir_block *b,
                                    struct ArrowArray *array,
                                    struct ArrowSchema *schema);

/* Imports an Arrow struct array (or a record batch) as a block, without
 * copying: the block's buffers keep the array alive and release it when
 * the last of them goes. Moves both in: on success and on failure the
 * inputs are released (their `release` set to NULL), so the caller never
 * releases them. WEIR_EFORMAT for malformed input: a bad format string, a
 * wrong number of buffers or children, negative or inconsistent lengths,
 * offsets out of range; WEIR_ENOTSUP for a valid Arrow type weir does not
 * hold. */
WEIR_EXTERN int weir_block_from_arrow(struct ArrowArray *array,
                                      struct ArrowSchema *schema,
                                      struct weir_block **out);

/* Exports blocks[0..n) (all with the same schema) as an Arrow stream; the
 * stream holds its own references. Borrows the blocks. */
WEIR_EXTERN int weir_blocks_to_arrow_stream(struct weir_block *const *blocks,
                                            size_t n,
                                            struct ArrowArrayStream *out);

/* Reads the next batch of an Arrow stream as a block; WEIR_EOF at the end.
 * The stream stays owned by the caller. */
WEIR_EXTERN int weir_arrow_stream_next(struct ArrowArrayStream *stream,
                                       struct weir_block **out);

WEIR_END_DECLS

#endif /* WEIR_ARROW_ABI_H */
